//! Cell values: numbers, missing markers and USGS qualifiers.

use std::fmt;

/// True for the markers sources use for "no value": empty, `NA`, `N/A`,
/// `nan`, `None`, `null` and the World Bank DataBank's `..`.
pub fn is_missing(cell: &str) -> bool {
    let t = cell.trim();
    t.is_empty()
        || ["..", "na", "n/a", "nan", "none", "null"]
            .iter()
            .any(|m| t.eq_ignore_ascii_case(m))
}

/// Parses a finite decimal number. Accepts a leading `-`, `+` or the
/// Unicode minus sign (USGS writes `−88`), and thousands separators in
/// groups of three (`100,000`). Refuses `inf`, `NaN` and anything else.
pub fn parse_number(cell: &str) -> Option<f64> {
    let t = cell.trim();
    let (negative, body) = if let Some(rest) = t.strip_prefix('\u{2212}') {
        (true, rest)
    } else if let Some(rest) = t.strip_prefix('-') {
        (true, rest)
    } else if let Some(rest) = t.strip_prefix('+') {
        (false, rest)
    } else {
        (false, t)
    };
    let plain = strip_thousands(body)?;
    let valid = !plain.is_empty()
        && plain
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && plain.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if !valid {
        return None;
    }
    let v: f64 = plain.parse().ok()?;
    v.is_finite().then_some(if negative { -v } else { v })
}

/// `12,345.5` → `12345.5`; `None` when commas are not thousands groups.
fn strip_thousands(s: &str) -> Option<String> {
    if !s.contains(',') {
        return Some(s.to_string());
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let groups: Vec<&str> = int.split(',').collect();
    let first_ok = groups.first().is_some_and(|g| (1..=3).contains(&g.len()));
    let rest_ok = groups.iter().skip(1).all(|g| g.len() == 3);
    if !(first_ok && rest_ok && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()))) {
        return None;
    }
    let mut out = groups.concat();
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

/// A value as USGS publishes it in salient statistics and net import
/// reliance tables. Qualified values stay qualified: `>50` is never 50.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UsgsValue {
    /// An exact figure.
    Number(f64),
    /// More than the bound (`>50`, `>75`, `>95`).
    GreaterThan(f64),
    /// Less than the bound (`<50`, `<25`, `<100,000`).
    LessThan(f64),
    /// "Less than ½ unit." — positive but below half the unit shown.
    LessThanHalfUnit,
    /// `E`: net exporter (net import reliance only).
    NetExporter,
    /// `W`: withheld to avoid disclosing company proprietary data.
    Withheld,
    /// `NA`: not available.
    NotAvailable,
    /// Empty cell.
    Missing,
}

impl UsgsValue {
    /// Parses a cell; `Err` describes what could not be read.
    pub fn parse(cell: &str) -> Result<UsgsValue, String> {
        let t = cell.trim();
        if t.is_empty() {
            return Ok(UsgsValue::Missing);
        }
        match t {
            "W" => return Ok(UsgsValue::Withheld),
            "E" => return Ok(UsgsValue::NetExporter),
            "NA" => return Ok(UsgsValue::NotAvailable),
            _ => {}
        }
        if t.to_lowercase().starts_with("less than ½ unit") {
            return Ok(UsgsValue::LessThanHalfUnit);
        }
        if let Some(rest) = t.strip_prefix('>') {
            return parse_number(rest).map(UsgsValue::GreaterThan).ok_or_else(|| bad(t));
        }
        if let Some(rest) = t.strip_prefix('<') {
            return parse_number(rest).map(UsgsValue::LessThan).ok_or_else(|| bad(t));
        }
        parse_number(t).map(UsgsValue::Number).ok_or_else(|| bad(t))
    }

    /// The figure when it is exact; qualified and missing values have none.
    pub fn exact(self) -> Option<f64> {
        match self {
            UsgsValue::Number(v) => Some(v),
            _ => None,
        }
    }
}

fn bad(t: &str) -> String {
    format!("'{t}' is not a number, a qualified number (>50, <25), E, W, NA or blank")
}

impl fmt::Display for UsgsValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsgsValue::Number(v) => write!(f, "{v}"),
            UsgsValue::GreaterThan(v) => write!(f, ">{v}"),
            UsgsValue::LessThan(v) => write!(f, "<{v}"),
            UsgsValue::LessThanHalfUnit => f.write_str("Less than ½ unit."),
            UsgsValue::NetExporter => f.write_str("E"),
            UsgsValue::Withheld => f.write_str("W"),
            UsgsValue::NotAvailable => f.write_str("NA"),
            UsgsValue::Missing => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number(" 1,234.5 "), Some(1234.5));
        assert_eq!(parse_number("\u{2212}88"), Some(-88.0));
        assert_eq!(parse_number("5787400.000000001"), Some(5_787_400.000_000_001));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        for bad in ["", "inf", "NaN", "1,23", "12,3456", "abc", "1.2.3", "--1", "e5", "0x10"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn qualifiers_stay_qualified() {
        assert_eq!(UsgsValue::parse(">50"), Ok(UsgsValue::GreaterThan(50.0)));
        assert_eq!(UsgsValue::parse("<100,000"), Ok(UsgsValue::LessThan(100_000.0)));
        assert_eq!(UsgsValue::parse("E"), Ok(UsgsValue::NetExporter));
        assert_eq!(UsgsValue::parse("W"), Ok(UsgsValue::Withheld));
        assert_eq!(UsgsValue::parse("    NA"), Ok(UsgsValue::NotAvailable));
        assert_eq!(UsgsValue::parse("Less than ½ unit."), Ok(UsgsValue::LessThanHalfUnit));
        assert_eq!(UsgsValue::parse("100"), Ok(UsgsValue::Number(100.0)));
        assert_eq!(UsgsValue::parse(">50").map(UsgsValue::exact), Ok(None));
        assert!(UsgsValue::parse(">x").is_err());
        assert_eq!(UsgsValue::GreaterThan(75.0).to_string(), ">75");
    }

    #[test]
    fn missing_markers() {
        for m in ["", " ", "NA", "nan", "None", "..", "n/a"] {
            assert!(is_missing(m), "{m}");
        }
        assert!(!is_missing("0"));
    }
}
