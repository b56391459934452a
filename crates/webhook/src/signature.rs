//! Standard Webhooks signatures.
//!
//! The signed content is `"{webhook-id}.{webhook-timestamp}.{body}"`, the
//! MAC is HMAC-SHA256 keyed with the secret's decoded bytes, and the header
//! is `v1,<base64 MAC>`. Secrets are written `whsec_<base64>` so they can be
//! pasted into any Standard Webhooks verifier unchanged.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Prefix of an encoded secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Fewest random bytes a secret may have.
pub const MIN_SECRET_BYTES: usize = 24;
/// Most random bytes a secret may have.
pub const MAX_SECRET_BYTES: usize = 64;

/// Header names, lower case as sent.
pub mod headers {
    /// Unique message id (the alert id: the same on every retry).
    pub const ID: &str = "webhook-id";
    /// Seconds since the Unix epoch when the attempt was signed.
    pub const TIMESTAMP: &str = "webhook-timestamp";
    /// Space-separated `v1,<base64>` signatures.
    pub const SIGNATURE: &str = "webhook-signature";
}

/// A secret that does not have the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Missing the `whsec_` prefix.
    #[error("must start with \"whsec_\" followed by base64")]
    Prefix,
    /// The part after the prefix is not base64.
    #[error("the part after \"whsec_\" is not valid base64")]
    Base64,
    /// Too few or too many bytes.
    #[error("must decode to {MIN_SECRET_BYTES}..={MAX_SECRET_BYTES} bytes, got {0}")]
    Length(usize),
}

/// A signing secret. Its `Debug` form never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    key: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// Parses `whsec_<base64>`.
    pub fn parse(encoded: &str) -> Result<Self, SecretError> {
        let b64 = encoded.strip_prefix(SECRET_PREFIX).ok_or(SecretError::Prefix)?;
        let key = STANDARD.decode(b64.trim()).map_err(|_| SecretError::Base64)?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Self { key })
    }

    /// A new random 32-byte secret, encoded.
    pub fn generate() -> String {
        let key: [u8; 32] = rand::random();
        format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }

    /// HMAC-SHA256 over `{id}.{timestamp}.{body}`, ready to finalize or verify.
    fn mac_of(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` value for one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!(
            "v1,{}",
            STANDARD.encode(self.mac_of(id, timestamp, body).finalize().into_bytes())
        )
    }

    /// True when any `v1` signature in `header` matches (constant time).
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        header.split(' ').any(|candidate| {
            let Some(sig) = candidate.strip_prefix("v1,") else {
                return false;
            };
            let Ok(sig) = STANDARD.decode(sig) else {
                return false;
            };
            self.mac_of(id, timestamp, body).verify_slice(&sig).is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example from the Standard Webhooks specification's test vectors.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_specification_example() {
        let secret = Secret::parse(SPEC_SECRET).expect("spec secret parses");
        assert_eq!(secret.sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY), SPEC_SIGNATURE);
        assert!(secret.verify(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, SPEC_SIGNATURE));
    }

    #[test]
    fn rejects_tampering_and_accepts_one_of_several_signatures() {
        let secret = Secret::parse(SPEC_SECRET).expect("parses");
        assert!(!secret.verify(SPEC_ID, SPEC_TIMESTAMP + 1, SPEC_BODY, SPEC_SIGNATURE));
        assert!(!secret.verify(SPEC_ID, SPEC_TIMESTAMP, b"{}", SPEC_SIGNATURE));
        let both = format!("v1,AAAA {SPEC_SIGNATURE}");
        assert!(secret.verify(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, &both));
    }

    #[test]
    fn secrets_must_be_prefixed_base64_of_sensible_length() {
        assert_eq!(
            Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::Prefix)
        );
        assert_eq!(Secret::parse("whsec_***"), Err(SecretError::Base64));
        assert_eq!(Secret::parse("whsec_AAAA"), Err(SecretError::Length(3)));
        assert!(Secret::parse(&Secret::generate()).is_ok());
        assert_eq!(
            format!("{:?}", Secret::parse(SPEC_SECRET).expect("parses")),
            "Secret(..)"
        );
    }
}
