//! Field checks shared by every record, and the limits they enforce, so a
//! year or a source label means the same thing in each record.

use crate::catalog::MineralId;
use crate::country::Iso3;
use crate::validate::Violations;

/// Earliest year accepted for any record.
pub const MIN_YEAR: u32 = 1950;
/// Latest year accepted for any record.
pub const MAX_YEAR: u32 = 2100;
/// Longest accepted source label.
pub const MAX_SOURCE_LEN: usize = 64;

pub(super) fn check_year(v: &mut Violations, field: &str, year: u32) -> Option<u16> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Some(year as u16)
    } else {
        v.push(field, format!("{year} is outside {MIN_YEAR}..={MAX_YEAR}"));
        None
    }
}

pub(super) fn check_source(v: &mut Violations, field: &str, source: &str) -> Option<String> {
    let s = source.trim();
    if s.is_empty() {
        v.push(field, "is required (e.g. BACI, COMTRADE, USGS_MCS_2025)");
        None
    } else if s.len() > MAX_SOURCE_LEN || s.contains('|') || s.chars().any(char::is_control) {
        v.push(
            field,
            format!("must be at most {MAX_SOURCE_LEN} printable characters without '|'"),
        );
        None
    } else {
        Some(s.to_string())
    }
}

pub(super) fn check_non_negative(v: &mut Violations, field: &str, value: f64) -> Option<f64> {
    if value.is_finite() && value >= 0.0 {
        Some(value)
    } else {
        v.push(field, format!("must be a finite number >= 0, got {value}"));
        None
    }
}

pub(super) fn check_country(v: &mut Violations, field: &str, code: &str) -> Option<Iso3> {
    v.check(field, Iso3::parse(code))
}

pub(super) fn check_mineral(v: &mut Violations, field: &str, id: &str) -> Option<MineralId> {
    v.check(field, MineralId::parse(id))
}
