//! Upload ids: each caller's own, bound to what was sent under them.
//!
//! An upload id makes a retry safe: the same id again answers what the
//! first call answered. Ids are kept per principal (the token's name), so
//! one caller can neither replay nor pre-claim another's; and each kept
//! answer carries a digest of its request, so the same id sent again with
//! other content is refused instead of answered with a stale summary.

use prost::Message;
use sha2::{Digest as _, Sha256};
use supplyrisk_grpc::ServiceError;

/// How a kept answer's request is recognised: SHA-256 over the content, a
/// length-delimited piece at a time (so pieces cannot run into each other).
pub struct RequestDigest(Sha256);

impl RequestDigest {
    /// A digest for a call of `kind` (`upload`, `import`).
    pub fn new(kind: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(kind.as_bytes());
        Self(hasher)
    }

    /// Adds one piece of the request.
    pub fn update(&mut self, piece: &[u8]) {
        self.0.update((piece.len() as u64).to_le_bytes());
        self.0.update(piece);
    }

    /// Adds bytes of a stream whose cut into pieces does not matter (an
    /// import's file, however the client chunked it).
    pub fn update_stream(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Adds one message, encoded.
    pub fn update_message(&mut self, message: &impl Message, scratch: &mut Vec<u8>) {
        scratch.clear();
        message.encode(scratch).expect("a Vec grows as needed");
        self.update(scratch);
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        self.0.finalize().to_vec()
    }
}

/// The refusal of an upload id kept for other content.
pub fn conflict(kind: &'static str, upload_id: &str) -> ServiceError {
    ServiceError::AlreadyExists {
        resource_type: kind,
        name: upload_id.to_string(),
        description:
            "this caller used the id for other content within the last 7 days; send new content under a new upload id"
                .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(kind: &str, pieces: &[&[u8]]) -> Vec<u8> {
        let mut d = RequestDigest::new(kind);
        for p in pieces {
            d.update(p);
        }
        d.finish()
    }

    #[test]
    fn content_and_its_cut_both_count() {
        assert_eq!(digest("upload", &[b"ab", b"c"]), digest("upload", &[b"ab", b"c"]));
        assert_ne!(digest("upload", &[b"ab", b"c"]), digest("upload", &[b"a", b"bc"]));
        assert_ne!(digest("upload", &[b"abc"]), digest("import", &[b"abc"]));
        let stream = |cuts: &[&[u8]]| {
            let mut d = RequestDigest::new("import");
            cuts.iter().for_each(|c| d.update_stream(c));
            d.finish()
        };
        assert_eq!(stream(&[b"ab", b"c"]), stream(&[b"a", b"bc"]), "a file however chunked");
    }
}
