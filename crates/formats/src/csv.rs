//! A push CSV record splitter: bytes in (any chunking), whole records out.
//!
//! It follows RFC 4180 leniently, like the `csv` crate: a quote opens a
//! quoted field only at the start of a field, `""` inside one is a quote,
//! and anything after a closing quote is kept literally. `\n` and `\r\n` end
//! a record; empty lines are ignored. A UTF-8 byte-order mark at the start
//! of the stream is dropped even when it is split across chunks. Memory is
//! bounded by the longest record, capped at `max_record_bytes`.

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// Most fields one record may have; beyond it the record is refused.
pub(crate) const MAX_FIELDS: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// Why a record could not be kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Damage {
    /// Longer than the byte cap or with too many fields.
    TooLong,
    /// The stream ended inside a quoted field.
    Unterminated,
}

/// One record as split from the stream: unescaped bytes and field ends.
pub(crate) struct RawRecord<'a> {
    /// 1-based line the record starts on.
    pub line: u64,
    /// Field contents, concatenated.
    pub bytes: &'a [u8],
    /// End offset of each field in `bytes`.
    pub ends: &'a [usize],
    /// Set when the record was cut or never closed.
    pub damage: Option<Damage>,
}

/// The splitter state carried between chunks.
pub(crate) struct Splitter {
    state: State,
    buf: Vec<u8>,
    ends: Vec<usize>,
    /// Line of the next byte.
    line: u64,
    record_line: u64,
    in_record: bool,
    pending_cr: bool,
    too_long: bool,
    max_record_bytes: usize,
    bom_seen: usize,
    bom_done: bool,
}

impl Splitter {
    pub(crate) fn new(max_record_bytes: usize) -> Self {
        Splitter {
            state: State::FieldStart,
            buf: Vec::new(),
            ends: Vec::new(),
            line: 1,
            record_line: 1,
            in_record: false,
            pending_cr: false,
            too_long: false,
            max_record_bytes,
            bom_seen: 0,
            bom_done: false,
        }
    }

    /// Splits `chunk`, calling `sink` for every record it completes.
    pub(crate) fn feed(&mut self, chunk: &[u8], sink: &mut dyn FnMut(RawRecord<'_>)) {
        let mut rest = chunk;
        if !self.bom_done {
            while let Some((&b, tail)) = rest.split_first() {
                if b == BOM[self.bom_seen] {
                    self.bom_seen += 1;
                    rest = tail;
                    if self.bom_seen == BOM.len() {
                        self.bom_done = true;
                        break;
                    }
                } else {
                    self.replay_bom(sink);
                    break;
                }
            }
            if !self.bom_done {
                return;
            }
        }
        for &b in rest {
            self.byte(b, sink);
        }
    }

    /// A partial BOM was ordinary data after all: process it as such.
    fn replay_bom(&mut self, sink: &mut dyn FnMut(RawRecord<'_>)) {
        self.bom_done = true;
        let seen = self.bom_seen;
        self.bom_seen = 0;
        for &b in &BOM[..seen] {
            self.byte(b, sink);
        }
    }

    /// Ends the stream, emitting a last record without a newline.
    pub(crate) fn finish(&mut self, sink: &mut dyn FnMut(RawRecord<'_>)) {
        if !self.bom_done {
            self.replay_bom(sink);
        }
        if self.pending_cr {
            self.pending_cr = false;
            self.start_record();
        }
        if self.in_record {
            let damage = (self.state == State::Quoted).then_some(Damage::Unterminated);
            self.end_record(damage, sink);
        }
    }

    fn start_record(&mut self) {
        if !self.in_record {
            self.in_record = true;
            self.record_line = self.line;
        }
    }

    fn push(&mut self, b: u8) {
        if self.buf.len() < self.max_record_bytes {
            self.buf.push(b);
        } else {
            self.too_long = true;
        }
    }

    fn end_field(&mut self) {
        if self.ends.len() < MAX_FIELDS {
            self.ends.push(self.buf.len());
        } else {
            self.too_long = true;
        }
    }

    fn end_record(&mut self, damage: Option<Damage>, sink: &mut dyn FnMut(RawRecord<'_>)) {
        self.end_field();
        let damage = if self.too_long { Some(Damage::TooLong) } else { damage };
        sink(RawRecord {
            line: self.record_line,
            bytes: &self.buf,
            ends: &self.ends,
            damage,
        });
        self.buf.clear();
        self.ends.clear();
        self.in_record = false;
        self.too_long = false;
        self.state = State::FieldStart;
    }

    fn byte(&mut self, b: u8, sink: &mut dyn FnMut(RawRecord<'_>)) {
        if self.pending_cr {
            self.pending_cr = false;
            if b == b'\n' {
                self.line += 1;
                if self.in_record {
                    self.end_record(None, sink);
                }
                return;
            }
            // A lone CR is data.
            self.start_record();
            self.push(b'\r');
            if self.state == State::FieldStart || self.state == State::QuoteInQuoted {
                self.state = State::Unquoted;
            }
        }
        match self.state {
            State::FieldStart => match b {
                b'\n' => {
                    self.line += 1;
                    if self.in_record {
                        self.end_record(None, sink);
                    }
                }
                b'\r' => self.pending_cr = true,
                b',' => {
                    self.start_record();
                    self.end_field();
                }
                b'"' => {
                    self.start_record();
                    self.state = State::Quoted;
                }
                _ => {
                    self.start_record();
                    self.push(b);
                    self.state = State::Unquoted;
                }
            },
            State::Unquoted => match b {
                b'\n' => {
                    self.line += 1;
                    self.end_record(None, sink);
                }
                b'\r' => self.pending_cr = true,
                b',' => {
                    self.end_field();
                    self.state = State::FieldStart;
                }
                _ => self.push(b),
            },
            State::Quoted => {
                if b == b'\n' {
                    self.line += 1;
                }
                if b == b'"' {
                    self.state = State::QuoteInQuoted;
                } else {
                    self.push(b);
                }
            }
            State::QuoteInQuoted => match b {
                b'"' => {
                    self.push(b'"');
                    self.state = State::Quoted;
                }
                b',' => {
                    self.end_field();
                    self.state = State::FieldStart;
                }
                b'\n' => {
                    self.line += 1;
                    self.end_record(None, sink);
                }
                b'\r' => self.pending_cr = true,
                _ => {
                    self.push(b);
                    self.state = State::Unquoted;
                }
            },
        }
    }
}

/// A decoded record: its text and the end offset of each field.
#[derive(Debug, Default, Clone)]
pub(crate) struct Row {
    /// 1-based line the record starts on.
    pub line: u64,
    text: String,
    ends: Vec<usize>,
}

impl Row {
    /// Decodes `raw`: UTF-8, or Windows Latin-1 byte by byte when the
    /// record is not valid UTF-8 (older statistical exports are).
    pub(crate) fn fill(&mut self, raw: &RawRecord<'_>) {
        self.line = raw.line;
        self.text.clear();
        self.ends.clear();
        match std::str::from_utf8(raw.bytes) {
            Ok(s) => {
                self.text.push_str(s);
                self.ends.extend_from_slice(raw.ends);
            }
            Err(_) => {
                let mut start = 0;
                for &end in raw.ends {
                    let field = raw.bytes.get(start..end).unwrap_or_default();
                    self.text.extend(field.iter().map(|&b| char::from(b)));
                    self.ends.push(self.text.len());
                    start = end;
                }
            }
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `i`, or `""` when the row is shorter.
    pub fn get(&self, i: usize) -> &str {
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(0)
        };
        self.text.get(start..end).unwrap_or_default()
    }

    /// Field at an optional index, `""` when absent.
    pub fn opt(&self, i: Option<usize>) -> &str {
        i.map_or("", |i| self.get(i))
    }

    /// True when every field is empty or whitespace.
    pub fn is_blank(&self) -> bool {
        (0..self.len()).all(|i| self.get(i).trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<(u64, Vec<String>, Option<Damage>)> {
        let mut s = Splitter::new(1 << 20);
        let mut out = Vec::new();
        let mut row = Row::default();
        let mut sink = |r: RawRecord<'_>| {
            row.fill(&r);
            out.push((
                r.line,
                (0..row.len()).map(|i| row.get(i).to_string()).collect(),
                r.damage,
            ));
        };
        for c in chunks {
            s.feed(c, &mut sink);
        }
        s.finish(&mut sink);
        out
    }

    #[test]
    fn quotes_crlf_bom_and_lines() {
        let data = b"\xEF\xBB\xBFa,b\r\n\r\n\"x,\"\"y\"\"\nz\",2\n3,\n4";
        let whole = split(&[data]);
        assert_eq!(
            whole,
            vec![
                (1, vec!["a".into(), "b".into()], None),
                (3, vec!["x,\"y\"\nz".into(), "2".into()], None),
                (5, vec!["3".into(), "".into()], None),
                (6, vec!["4".into()], None),
            ]
        );
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(split(&bytes), whole);
    }

    #[test]
    fn partial_bom_is_data_and_unterminated_quote_is_flagged() {
        let split_bom = split(&[b"\xEF\xBB", b"x"]);
        assert_eq!(split_bom, split(&[b"\xEF\xBBx"]));
        assert_eq!(split_bom[0].1, vec!["\u{EF}\u{BB}x".to_string()]);
        let r = split(&[b"a,\"open\nmore"]);
        assert_eq!(r[0].2, Some(Damage::Unterminated));
    }

    #[test]
    fn latin1_fallback() {
        let r = split(&[b"C\xF4te d'Ivoire,1\n"]);
        assert_eq!(r[0].1[0], "Côte d'Ivoire");
    }

    #[test]
    fn long_records_are_cut_not_kept() {
        let mut s = Splitter::new(8);
        let mut seen = Vec::new();
        s.feed(b"0123456789abc,1\nok\n", &mut |r| {
            seen.push((r.line, r.damage, r.bytes.len()))
        });
        assert_eq!(seen, vec![(1, Some(Damage::TooLong), 8), (2, None, 2)]);
    }
}
