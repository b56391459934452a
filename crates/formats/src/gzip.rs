//! Incremental gzip decoding with magic-byte detection.
//!
//! Input is pushed in pieces of at most 1 KiB so one small but
//! highly compressed chunk cannot expand into an unbounded buffer: deflate
//! expands at most about 1,032:1, so each piece yields at most ~1 MiB.
//! Across the stream, [`InflateLimits`] bound the total inflated and the
//! ratio to what was read, so a small upload cannot make the service parse
//! gigabytes (a compression bomb) before anything else would stop it.

use std::io::Write;

use flate2::write::MultiGzDecoder;

/// Gzip magic bytes.
pub const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];
const PIECE: usize = 1024;

/// Bounds on what a gzip stream may inflate to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflateLimits {
    /// Most bytes the whole stream may inflate to.
    pub max_bytes: u64,
    /// Most inflated bytes per compressed byte read, over the stream so far
    /// (beyond a first [`RATIO_ALLOWANCE`] bytes: a short file's header
    /// compresses far better than its rows).
    pub max_ratio: u64,
}

/// Inflated bytes allowed before the ratio applies.
pub const RATIO_ALLOWANCE: u64 = 1 << 20;

impl Default for InflateLimits {
    /// 4 GiB and 200:1: CSV data files inflate 3–20:1, and the whole
    /// shipped BACI extract to a few hundred MB.
    fn default() -> Self {
        Self {
            max_bytes: 4 << 30,
            max_ratio: 200,
        }
    }
}

/// A decoding failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GzipError {
    /// Not valid gzip.
    #[error("gzip stream is corrupt: {0}")]
    Corrupt(String),
    /// Valid so far, but past an [`InflateLimits`] bound.
    #[error("gzip stream refused: {0}")]
    Refused(String),
}

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
    limits: InflateLimits,
    read: u64,
    inflated: u64,
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl Decompressor {
    /// A decompressor that detects gzip from the magic bytes, with the
    /// default [`InflateLimits`].
    pub fn new() -> Self {
        Self::with_limits(InflateLimits::default())
    }

    /// A decompressor bounded by `limits`.
    pub fn with_limits(limits: InflateLimits) -> Self {
        Decompressor {
            mode: Mode::Detect(Vec::with_capacity(2)),
            limits,
            read: 0,
            inflated: 0,
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
                let mut budget = Budget {
                    limits: self.limits,
                    read: &mut self.read,
                    inflated: &mut self.inflated,
                };
                let result =
                    inflate(dec, &held, sink, &mut budget).and_then(|()| inflate(dec, chunk, sink, &mut budget));
                if result.is_err() {
                    self.mode = Mode::Failed;
                }
                result
            }
            Mode::Failed => Err(GzipError::Corrupt("the stream already failed".into())),
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
                let res = dec.try_finish().map_err(|e| GzipError::Corrupt(e.to_string()));
                drain(&mut dec, sink);
                res
            }
            Mode::Failed => {
                self.mode = Mode::Failed;
                Err(GzipError::Corrupt("the stream already failed".into()))
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

/// The stream's running totals against its limits.
struct Budget<'a> {
    limits: InflateLimits,
    read: &'a mut u64,
    inflated: &'a mut u64,
}

impl Budget<'_> {
    /// Counts one piece in and what it inflated to; refuses past a limit.
    fn count(&mut self, read: usize, inflated: usize) -> Result<(), GzipError> {
        *self.read += read as u64;
        *self.inflated += inflated as u64;
        let InflateLimits { max_bytes, max_ratio } = self.limits;
        if *self.inflated > max_bytes {
            return Err(GzipError::Refused(format!(
                "it inflates past the limit of {max_bytes} bytes"
            )));
        }
        if *self.inflated > RATIO_ALLOWANCE && *self.inflated > self.read.saturating_mul(max_ratio) {
            return Err(GzipError::Refused(format!(
                "it inflates more than {max_ratio}:1 ({} bytes from {}): a compression bomb?",
                self.inflated, self.read
            )));
        }
        Ok(())
    }
}

fn inflate(
    dec: &mut MultiGzDecoder<Vec<u8>>,
    input: &[u8],
    sink: &mut dyn FnMut(&[u8]),
    budget: &mut Budget<'_>,
) -> Result<(), GzipError> {
    for piece in input.chunks(PIECE) {
        dec.write_all(piece).map_err(|e| GzipError::Corrupt(e.to_string()))?;
        // Checked before the bytes are passed on: nothing past a limit is parsed.
        budget.count(piece.len(), dec.get_ref().len())?;
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

    fn run_limited(input: &[u8], limits: InflateLimits) -> (usize, Result<(), GzipError>) {
        let mut d = Decompressor::with_limits(limits);
        let mut out = 0;
        let result = d
            .feed(input, &mut |b| out += b.len())
            .and_then(|()| d.finish(&mut |b| out += b.len()));
        (out, result)
    }

    #[test]
    fn a_compression_bomb_is_refused_before_it_is_parsed() {
        let bomb = gz(&vec![b'0'; 64 << 20]);
        assert!(bomb.len() < 128 << 10, "64 MiB of zeros pack small: {}", bomb.len());
        let (out, result) = run_limited(&bomb, InflateLimits::default());
        let message = result.expect_err("refused").to_string();
        assert!(
            message.starts_with("gzip stream refused: it inflates more than 200:1"),
            "{message}"
        );
        assert!(
            out <= (RATIO_ALLOWANCE as usize) + (2 << 20),
            "stopped early: {out} bytes passed on"
        );
    }

    #[test]
    fn the_total_inflated_is_capped() {
        let rows: String = (0..100_000)
            .map(|i| format!("2018,{},{},284690,{i}.5,{}\n", i % 250, (i * 7) % 250, i % 13))
            .collect();
        let text = format!("t,i,j,k,v,q\n{rows}").into_bytes();
        let packed = gz(&text);
        let limits = InflateLimits {
            max_bytes: 1 << 20,
            max_ratio: u64::MAX,
        };
        let (out, result) = run_limited(&packed, limits);
        let message = result.expect_err("refused").to_string();
        assert!(message.contains("past the limit of 1048576 bytes"), "{message}");
        assert!(out <= 1 << 20, "nothing past the limit is passed on: {out}");
        // Within the limits, the same data passes whole.
        let (out, result) = run_limited(&packed, InflateLimits::default());
        result.expect("ordinary data");
        assert_eq!(out, text.len());
    }
}
