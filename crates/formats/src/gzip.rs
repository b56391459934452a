//! Incremental gzip decoding with magic-byte detection.
//!
//! Input is pushed in pieces of at most 1 KiB so one small but
//! highly compressed chunk cannot expand into an unbounded buffer: deflate
//! expands at most about 1,032:1, so each piece yields at most ~1 MiB.

use std::io::Write;

use flate2::write::MultiGzDecoder;

/// Gzip magic bytes.
pub const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];
const PIECE: usize = 1024;

/// A decoding failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("gzip stream is corrupt: {0}")]
pub struct GzipError(pub String);

enum Mode {
    /// Fewer than two bytes seen yet.
    Detect(Vec<u8>),
    Plain,
    Gzip(Box<MultiGzDecoder<Vec<u8>>>),
    Failed,
}

/// Passes plain bytes through and inflates gzip (one or more members),
/// deciding which from the first two bytes of the stream.
pub struct Decompressor {
    mode: Mode,
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl Decompressor {
    /// A decompressor that detects gzip from the magic bytes.
    pub fn new() -> Self {
        Decompressor {
            mode: Mode::Detect(Vec::with_capacity(2)),
        }
    }

    /// True once the stream was recognised as gzip.
    pub fn is_gzip(&self) -> bool {
        matches!(self.mode, Mode::Gzip(_))
    }

    /// Feeds `chunk`, handing decoded bytes to `sink` as they come.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), GzipError> {
        let mut chunk = chunk;
        let mut held = Vec::new();
        if let Mode::Detect(seen) = &mut self.mode {
            let need = 2 - seen.len();
            let take = need.min(chunk.len());
            seen.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if seen.len() < 2 {
                return Ok(());
            }
            held = std::mem::take(seen);
            self.mode = if held == GZIP_MAGIC {
                Mode::Gzip(Box::new(MultiGzDecoder::new(Vec::new())))
            } else {
                Mode::Plain
            };
        }
        match &mut self.mode {
            Mode::Plain => {
                if !held.is_empty() {
                    sink(&held);
                }
                if !chunk.is_empty() {
                    sink(chunk);
                }
                Ok(())
            }
            Mode::Gzip(dec) => {
                let result = inflate(dec, &held, sink).and_then(|()| inflate(dec, chunk, sink));
                if result.is_err() {
                    self.mode = Mode::Failed;
                }
                result
            }
            Mode::Failed => Err(GzipError("the stream already failed".into())),
            Mode::Detect(_) => Ok(()),
        }
    }

    /// Ends the stream: flushes what is buffered and checks the gzip trailer.
    pub fn finish(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<(), GzipError> {
        match std::mem::replace(&mut self.mode, Mode::Plain) {
            Mode::Detect(seen) => {
                if !seen.is_empty() {
                    sink(&seen);
                }
                Ok(())
            }
            Mode::Plain => Ok(()),
            Mode::Gzip(mut dec) => {
                let res = dec.try_finish().map_err(|e| GzipError(e.to_string()));
                drain(&mut dec, sink);
                res
            }
            Mode::Failed => {
                self.mode = Mode::Failed;
                Err(GzipError("the stream already failed".into()))
            }
        }
    }
}

fn drain(dec: &mut MultiGzDecoder<Vec<u8>>, sink: &mut dyn FnMut(&[u8])) {
    let out = dec.get_mut();
    if !out.is_empty() {
        sink(out);
        out.clear();
    }
}

fn inflate(dec: &mut MultiGzDecoder<Vec<u8>>, input: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), GzipError> {
    for piece in input.chunks(PIECE) {
        dec.write_all(piece).map_err(|e| GzipError(e.to_string()))?;
        drain(dec, sink);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    fn run(input: &[u8], step: usize) -> Result<Vec<u8>, GzipError> {
        let mut d = Decompressor::new();
        let mut out = Vec::new();
        for c in input.chunks(step.max(1)) {
            d.feed(c, &mut |b| out.extend_from_slice(b))?;
        }
        d.finish(&mut |b| out.extend_from_slice(b))?;
        Ok(out)
    }

    #[test]
    fn plain_and_gzip_in_any_chunking() {
        let text = b"t,i,j\n2018,4,508\n".repeat(500);
        let packed = gz(&text);
        for step in [1, 2, 7, 4096, usize::MAX] {
            assert_eq!(run(&text, step).expect("plain"), text);
            assert_eq!(run(&packed, step).expect("gzip"), text);
        }
        assert_eq!(run(b"x", 1).expect("one byte"), b"x");
        assert_eq!(run(b"", 1).expect("empty"), b"");
    }

    #[test]
    fn concatenated_members_and_corruption() {
        let mut two = gz(b"a\n");
        two.extend(gz(b"b\n"));
        assert_eq!(run(&two, 3).expect("two members"), b"a\nb\n");
        let mut bad = gz(b"hello world, hello world");
        let n = bad.len();
        bad[n / 2] ^= 0xFF;
        bad.truncate(n - 3);
        assert!(run(&bad, 5).is_err());
    }
}
