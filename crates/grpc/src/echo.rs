//! Bounds on what an error echoes back.
//!
//! A refusal quotes what the caller sent, so the caller sees what was
//! wrong. Unbounded, a 5,000-character value (or a thousand bad rows) would
//! make the status trailers larger than the 16 KiB header list most gRPC
//! clients accept, and the client would report `RESOURCE_EXHAUSTED` from
//! its own transport instead of the server's answer. So every quoted value
//! is cut to a short prefix, and the whole error to a few KiB.

/// Characters of a quoted caller value an error repeats.
pub const MAX_ECHO_CHARS: usize = 64;
/// Bytes of a status message.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Bytes of one field name in `BadRequest`.
pub const MAX_FIELD_BYTES: usize = 128;
/// Bytes of one violation's description in `BadRequest`.
pub const MAX_DESCRIPTION_BYTES: usize = 256;
/// Violations listed in `BadRequest`; the message counts the rest.
pub const MAX_VIOLATIONS: usize = 10;

/// `text` cut to at most `max` bytes at a character boundary, ending in
/// "…" when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A value as an error may repeat it: at most [`MAX_ECHO_CHARS`] characters.
pub fn echo(value: &str) -> String {
    match value.char_indices().nth(MAX_ECHO_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

/// `text` with every `'quoted'` value shortened by [`echo`]: errors quote
/// what the caller sent.
pub fn clip_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_MESSAGE_BYTES));
    let mut rest = text;
    while let Some(open) = rest.find('\'') {
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        match after.find('\'') {
            Some(close) => {
                out.push_str(&echo(&after[..close]));
                out.push('\'');
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&echo(after));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A message as sent: quoted values shortened, the whole bounded.
pub fn message(text: &str) -> String {
    clip(&clip_quoted(text), MAX_MESSAGE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_keep_a_prefix_and_the_explanation() {
        let long = "X".repeat(5000);
        let m = clip_quoted(&format!(
            "'{long}' is not an ISO 3166-1 alpha-3 code (three letters, e.g. JPN)"
        ));
        assert_eq!(
            m,
            format!(
                "'{}…' is not an ISO 3166-1 alpha-3 code (three letters, e.g. JPN)",
                "X".repeat(64)
            )
        );
        assert_eq!(clip_quoted("unknown mineral 'LI'"), "unknown mineral 'LI'");
        assert_eq!(clip_quoted("it's"), "it's", "an unclosed quote keeps a short tail");
    }

    #[test]
    fn clipping_respects_characters_and_the_bound() {
        let s = "é".repeat(1000);
        let c = clip(&s, 101);
        assert!(c.len() <= 101 && c.ends_with('…'), "{} bytes", c.len());
        assert_eq!(clip("short", 10), "short");
        assert_eq!(echo(&"ü".repeat(70)).chars().count(), 65);
    }
}
