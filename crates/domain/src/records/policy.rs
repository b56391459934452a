//! Export restrictions: what a country restricts, for whom, and on which
//! days the measure is in force.

use super::check::{check_country, check_mineral};
use super::{Date, HsCode};
use crate::catalog::MineralId;
use crate::country::Iso3;
use crate::validate::Violations;

/// Kind of export restriction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyMeasure {
    /// Export licensing.
    Licensing,
    /// Export quota.
    Quota,
    /// Export tax.
    Tax,
    /// Export ban or prohibition.
    Ban,
    /// Anything else.
    Other,
}

impl PolicyMeasure {
    /// Lower-case name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyMeasure::Licensing => "licensing",
            PolicyMeasure::Quota => "quota",
            PolicyMeasure::Tax => "tax",
            PolicyMeasure::Ban => "ban",
            PolicyMeasure::Other => "other",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "licensing" | "license" | "licence" => Some(PolicyMeasure::Licensing),
            "quota" => Some(PolicyMeasure::Quota),
            "tax" | "export tax" | "duty" => Some(PolicyMeasure::Tax),
            "ban" | "prohibition" => Some(PolicyMeasure::Ban),
            "other" => Some(PolicyMeasure::Other),
            _ => None,
        }
    }
}

/// An unchecked suspension: first day and last day (or open), as (y, m, d).
pub type RawSuspension = ((i32, i32, i32), Option<(i32, i32, i32)>);

/// Unchecked policy-event input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawPolicyEvent {
    /// Id, empty = derive from the natural key.
    pub id: String,
    /// Restricting country.
    pub country: String,
    /// Mineral ids or aliases.
    pub minerals: Vec<String>,
    /// HS codes.
    pub hs_codes: Vec<String>,
    /// Measure; `None` when missing.
    pub measure: Option<PolicyMeasure>,
    /// Targeted destination countries; empty = all.
    pub target_countries: Vec<String>,
    /// First day in force, as (y, m, d); `None` when missing.
    pub effective_from: Option<(i32, i32, i32)>,
    /// Last day in force; `None` = open-ended.
    pub effective_until: Option<(i32, i32, i32)>,
    /// Periods the measure is suspended, as (first day, last day or open).
    pub suspensions: Vec<RawSuspension>,
    /// 0–1.
    pub severity: f64,
    /// Citation.
    pub source_reference: String,
    /// Summary.
    pub summary: String,
}

/// A period a measure is suspended: from its first day to its last, or open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Suspension {
    /// First day suspended.
    pub from: Date,
    /// Last day suspended; `None` = until further notice.
    pub until: Option<Date>,
}

impl Suspension {
    /// True when `date` falls in the suspension.
    pub fn covers(&self, date: Date) -> bool {
        self.from <= date && self.until.is_none_or(|u| date <= u)
    }
}

/// Most suspensions one event may carry.
pub const MAX_SUSPENSIONS: usize = 16;

/// A validated export restriction.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyEvent {
    /// Stable id.
    pub id: String,
    /// Restricting country.
    pub country: Iso3,
    /// Minerals affected, including those the HS codes carry; sorted, unique.
    pub minerals: Vec<MineralId>,
    /// HS codes named by the event; sorted, unique.
    pub hs_codes: Vec<String>,
    /// Measure.
    pub measure: PolicyMeasure,
    /// Targeted destinations; empty = all. Sorted, unique.
    pub target_countries: Vec<Iso3>,
    /// First day in force.
    pub effective_from: Date,
    /// Last day in force; `None` = open-ended.
    pub effective_until: Option<Date>,
    /// Periods the measure is suspended (not in force), sorted.
    pub suspensions: Vec<Suspension>,
    /// 0 (symbolic) to 1 (total stop).
    pub severity: f64,
    /// Citation.
    pub source_reference: String,
    /// Summary.
    pub summary: String,
}

/// Longest accepted policy-event id.
pub const MAX_POLICY_ID_LEN: usize = 64;

/// Longest `source_reference` (a URL or citation), in bytes.
pub const MAX_SOURCE_REFERENCE_LEN: usize = 1000;

/// Longest `summary`, in bytes.
pub const MAX_SUMMARY_LEN: usize = 2000;

/// Most entries of each list of an event: minerals, HS codes.
pub const MAX_POLICY_LIST_ENTRIES: usize = 64;

/// Most target countries of an event (more than every country there is).
pub const MAX_TARGET_COUNTRIES: usize = 250;

/// Pushes a violation when `list` is longer than `max`; the caller reads
/// only the first `max` entries, so an oversized list costs no more.
fn check_list_len(v: &mut Violations, field: &str, len: usize, max: usize) {
    if len > max {
        v.push(field, format!("at most {max} entries, got {len}"));
    }
}

impl PolicyEvent {
    /// Validates every field of `raw`; derives the id when `raw.id` is empty.
    pub fn validate(raw: &RawPolicyEvent) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let country = check_country(&mut v, "country", &raw.country);
        check_list_len(&mut v, "minerals", raw.minerals.len(), MAX_POLICY_LIST_ENTRIES);
        check_list_len(&mut v, "hs_codes", raw.hs_codes.len(), MAX_POLICY_LIST_ENTRIES);
        check_list_len(
            &mut v,
            "target_countries",
            raw.target_countries.len(),
            MAX_TARGET_COUNTRIES,
        );
        let mut minerals: Vec<MineralId> = Vec::new();
        for (i, m) in raw.minerals.iter().take(MAX_POLICY_LIST_ENTRIES).enumerate() {
            if let Some(id) = check_mineral(&mut v, &format!("minerals[{i}]"), m) {
                minerals.push(id);
            }
        }
        let mut hs_codes = Vec::new();
        for (i, code) in raw.hs_codes.iter().take(MAX_POLICY_LIST_ENTRIES).enumerate() {
            if let Some((hs, mineral, _)) = v.check(&format!("hs_codes[{i}]"), HsCode::parse(code)) {
                hs_codes.push(hs.as_str().to_string());
                minerals.push(mineral);
            }
        }
        if raw.minerals.is_empty() && raw.hs_codes.is_empty() {
            v.push("minerals", "at least one mineral or HS code is required");
        }
        minerals.sort();
        minerals.dedup();
        hs_codes.sort();
        hs_codes.dedup();
        if raw.measure.is_none() {
            v.push("measure", "is required (licensing, quota, tax, ban or other)");
        }
        let mut targets = Vec::new();
        for (i, t) in raw.target_countries.iter().take(MAX_TARGET_COUNTRIES).enumerate() {
            if let Some(c) = check_country(&mut v, &format!("target_countries[{i}]"), t) {
                targets.push(c);
            }
        }
        targets.sort();
        targets.dedup();
        let from = match raw.effective_from {
            Some((y, m, d)) => v.check("effective_from", Date::new(y, m, d)),
            None => {
                v.push("effective_from", "is required");
                None
            }
        };
        let until = match raw.effective_until {
            Some((y, m, d)) => v.check("effective_until", Date::new(y, m, d)).map(Some),
            None => Some(None),
        };
        if let (Some(f), Some(Some(u))) = (from, until)
            && u < f
        {
            v.push("effective_until", format!("{u} is before effective_from {f}"));
        }
        if raw.suspensions.len() > MAX_SUSPENSIONS {
            v.push("suspensions", format!("at most {MAX_SUSPENSIONS} suspensions"));
        }
        let mut suspensions = Vec::new();
        for (i, ((fy, fm, fd), until)) in raw.suspensions.iter().take(MAX_SUSPENSIONS).enumerate() {
            let field = format!("suspensions[{i}]");
            let start = v.check(&format!("{field}.from"), Date::new(*fy, *fm, *fd));
            let end = match until {
                Some((y, m, d)) => v.check(&format!("{field}.until"), Date::new(*y, *m, *d)).map(Some),
                None => Some(None),
            };
            if let (Some(s), Some(e)) = (start, end) {
                if e.is_some_and(|e| e < s) {
                    v.push(format!("{field}.until"), "is before its from date");
                } else if from.is_some_and(|f| s < f) {
                    v.push(format!("{field}.from"), "is before effective_from");
                } else {
                    suspensions.push(Suspension { from: s, until: e });
                }
            }
        }
        suspensions.sort();
        if !(raw.severity.is_finite() && (0.0..=1.0).contains(&raw.severity)) {
            v.push("severity", format!("must be within 0..=1, got {}", raw.severity));
        }
        if raw.source_reference.trim().is_empty() {
            v.push("source_reference", "is required (a URL or citation for the facts)");
        }
        if raw.source_reference.len() > MAX_SOURCE_REFERENCE_LEN {
            v.push(
                "source_reference",
                format!("must be at most {MAX_SOURCE_REFERENCE_LEN} bytes"),
            );
        }
        if raw.summary.len() > MAX_SUMMARY_LEN {
            v.push("summary", format!("must be at most {MAX_SUMMARY_LEN} bytes"));
        }
        let id = raw.id.trim();
        if id.len() > MAX_POLICY_ID_LEN
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            v.push(
                "id",
                format!("must be at most {MAX_POLICY_ID_LEN} characters of A-Z, a-z, 0-9, '-', '_', '.'"),
            );
        }
        if !v.is_empty() {
            return Err(v);
        }
        let mut event = PolicyEvent {
            id: id.to_string(),
            country: country.expect("checked"),
            minerals,
            hs_codes,
            measure: raw.measure.expect("checked"),
            target_countries: targets,
            effective_from: from.expect("checked"),
            effective_until: until.expect("checked"),
            suspensions,
            severity: raw.severity,
            source_reference: raw.source_reference.trim().to_string(),
            summary: raw.summary.trim().to_string(),
        };
        if event.id.is_empty() {
            event.id = event.derived_id();
        }
        Ok(event)
    }

    /// Id derived from the natural key (country, measure, start date, minerals
    /// and HS codes): readable, and the same every time the event is recorded.
    pub fn derived_id(&self) -> String {
        let scope: Vec<&str> = self.minerals.iter().map(MineralId::as_str).collect();
        let mut key = format!(
            "{}-{}-{}-{}",
            self.country.as_str().to_ascii_lowercase(),
            self.measure.as_str(),
            self.effective_from,
            scope.join("_").to_ascii_lowercase()
        );
        if !self.hs_codes.is_empty() {
            key.push('-');
            key.push_str(&fnv_hex(&self.hs_codes.join(",")));
        }
        key.truncate(MAX_POLICY_ID_LEN);
        key
    }

    /// True when the event is in force on `date`: started, not ended, and
    /// not suspended that day.
    pub fn active_on(&self, date: Date) -> bool {
        self.effective_from <= date
            && self.effective_until.is_none_or(|u| date <= u)
            && !self.suspensions.iter().any(|s| s.covers(date))
    }

    /// The days on which the event starts or stops being in force: its
    /// start, the day after its end, and each suspension's first day and
    /// the day after its last. Sorted, unique.
    pub fn boundaries(&self) -> Vec<Date> {
        let mut days = vec![self.effective_from];
        days.extend(self.effective_until.and_then(Date::next_day));
        for s in &self.suspensions {
            days.push(s.from);
            days.extend(s.until.and_then(Date::next_day));
        }
        days.sort();
        days.dedup();
        days
    }

    /// True when the event is in force on any day of `year`.
    pub fn active_in_year(&self, year: u16) -> bool {
        self.effective_from.year <= year && self.effective_until.is_none_or(|u| u.year >= year)
    }
}

fn fnv_hex(s: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspended_measure_is_not_in_force_during_its_suspension() {
        let raw = RawPolicyEvent {
            country: "CHN".into(),
            minerals: vec!["GA".into()],
            measure: Some(PolicyMeasure::Ban),
            target_countries: vec!["USA".into()],
            effective_from: Some((2024, 12, 3)),
            suspensions: vec![((2025, 11, 9), Some((2026, 11, 27)))],
            severity: 1.0,
            source_reference: "MOFCOM Announcement No. 46 of 2024".into(),
            ..Default::default()
        };
        let e = PolicyEvent::validate(&raw).expect("valid");
        let on = |s: &str| e.active_on(Date::parse(s).expect("date"));
        assert!(on("2025-11-08"));
        assert!(!on("2025-11-09"), "suspended from its first day");
        assert!(!on("2026-11-27"));
        assert!(on("2026-11-28"), "in force again after the suspension");
        let days: Vec<String> = e.boundaries().iter().map(ToString::to_string).collect();
        assert_eq!(days, ["2024-12-03", "2025-11-09", "2026-11-28"]);
        let before_start = RawPolicyEvent {
            suspensions: vec![((2024, 1, 1), None)],
            ..raw
        };
        assert!(PolicyEvent::validate(&before_start).is_err_and(|v| v.to_string().contains("suspensions[0]")));
    }

    #[test]
    fn policy_event_id_is_derived_and_stable() {
        let raw = RawPolicyEvent {
            country: "CHN".into(),
            minerals: vec!["gallium".into(), "GE".into()],
            measure: Some(PolicyMeasure::Licensing),
            effective_from: Some((2023, 8, 1)),
            severity: 0.5,
            source_reference: "MOFCOM announcement 2023 No. 23".into(),
            ..Default::default()
        };
        let e = PolicyEvent::validate(&raw).expect("valid");
        assert_eq!(e.id, "chn-licensing-2023-08-01-ga_ge");
        assert!(e.active_on(Date::new(2024, 1, 1).expect("date")));
        assert!(!e.active_on(Date::new(2023, 7, 31).expect("date")));
        assert!(e.active_in_year(2023));
    }

    #[test]
    fn oversized_strings_and_lists_are_refused_naming_the_limit() {
        let raw = RawPolicyEvent {
            country: "CHN".into(),
            minerals: vec!["GA".into(); 65],
            hs_codes: vec!["284690".into(); 70],
            measure: Some(PolicyMeasure::Licensing),
            target_countries: vec!["USA".into(); 251],
            effective_from: Some((2023, 8, 1)),
            severity: 0.5,
            source_reference: "x".repeat(1001),
            summary: "y".repeat(2001),
            ..Default::default()
        };
        let v = PolicyEvent::validate(&raw).expect_err("refused");
        let fields: Vec<(&str, &str)> = v.0.iter().map(|f| (f.field.as_str(), f.description.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("minerals", "at most 64 entries, got 65"),
                ("hs_codes", "at most 64 entries, got 70"),
                ("target_countries", "at most 250 entries, got 251"),
                ("source_reference", "must be at most 1000 bytes"),
                ("summary", "must be at most 2000 bytes"),
            ]
        );
    }
}
