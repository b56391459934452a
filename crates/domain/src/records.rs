//! The records supplyrisk stores, with the rules that make them valid.
//!
//! Each record has a `Raw…` twin holding unchecked input (from a gRPC
//! message or a file row) and a `validate` that returns the record or every
//! violation at once, so a caller fixes all of a record's problems in one go.

use std::fmt;

use crate::catalog::{Catalog, MineralId, Stage};
use crate::country::Iso3;
use crate::validate::Violations;

/// Earliest year accepted for any record.
pub const MIN_YEAR: u32 = 1950;
/// Latest year accepted for any record.
pub const MAX_YEAR: u32 = 2100;
/// Longest accepted source label.
pub const MAX_SOURCE_LEN: usize = 64;

fn check_year(v: &mut Violations, field: &str, year: u32) -> Option<u16> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Some(year as u16)
    } else {
        v.push(field, format!("{year} is outside {MIN_YEAR}..={MAX_YEAR}"));
        None
    }
}

fn check_source(v: &mut Violations, field: &str, source: &str) -> Option<String> {
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

fn check_non_negative(v: &mut Violations, field: &str, value: f64) -> Option<f64> {
    if value.is_finite() && value >= 0.0 {
        Some(value)
    } else {
        v.push(field, format!("must be a finite number >= 0, got {value}"));
        None
    }
}

fn check_country(v: &mut Violations, field: &str, code: &str) -> Option<Iso3> {
    v.check(field, Iso3::parse(code))
}

fn check_mineral(v: &mut Violations, field: &str, id: &str) -> Option<MineralId> {
    v.check(field, MineralId::parse(id))
}

/// A reporting period; month 0 = the whole year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    /// Calendar year.
    pub year: u16,
    /// 1–12, or 0 for annual.
    pub month: u8,
}

/// Direction of a trade flow as seen by its reporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowDirection {
    /// Imports.
    Import,
    /// Exports.
    Export,
    /// Re-imports.
    ReImport,
    /// Re-exports.
    ReExport,
}

impl FlowDirection {
    /// Short code used in keys and files (M, X, RM, RX as in UN Comtrade).
    pub fn code(self) -> &'static str {
        match self {
            FlowDirection::Import => "M",
            FlowDirection::Export => "X",
            FlowDirection::ReImport => "RM",
            FlowDirection::ReExport => "RX",
        }
    }

    /// Parses a UN Comtrade flow code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim() {
            "M" => Some(FlowDirection::Import),
            "X" => Some(FlowDirection::Export),
            "RM" => Some(FlowDirection::ReImport),
            "RX" => Some(FlowDirection::ReExport),
            _ => None,
        }
    }
}

/// A validated HS code of a catalog mineral.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HsCode(String);

impl HsCode {
    /// Checks that `code` is 6 digits and carries a catalog mineral.
    pub fn parse(code: &str) -> Result<(Self, MineralId, Stage), String> {
        let code = code.trim();
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("'{code}' is not a 6-digit HS code"));
        }
        match Catalog::builtin().by_hs_code(code) {
            Some((mineral, stage)) => Ok((
                HsCode(code.to_string()),
                MineralId::parse(&mineral.id).map_err(|e| e.to_string())?,
                stage,
            )),
            None => Err(format!("HS code {code} carries no catalog mineral (see ListMinerals)")),
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Unchecked trade-flow input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawTradeFlow {
    /// Reporter ISO3.
    pub reporter: String,
    /// Partner ISO3.
    pub partner: String,
    /// HS code.
    pub hs_code: String,
    /// Year.
    pub year: u32,
    /// Month, 0 = annual.
    pub month: u32,
    /// Direction; `None` when missing or unrecognised.
    pub flow: Option<FlowDirection>,
    /// Value in USD.
    pub value_usd: f64,
    /// Net weight in kg, `None` = unknown.
    pub net_weight_kg: Option<f64>,
    /// Source label.
    pub source: String,
}

/// A validated bilateral trade flow.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeFlow {
    /// Reporting country.
    pub reporter: Iso3,
    /// Partner country.
    pub partner: Iso3,
    /// HS code.
    pub hs_code: HsCode,
    /// Mineral the HS code carries.
    pub mineral: MineralId,
    /// Stage the HS code belongs to.
    pub stage: Stage,
    /// Period.
    pub period: Period,
    /// Direction.
    pub flow: FlowDirection,
    /// Value in USD.
    pub value_usd: f64,
    /// Net weight in kg, `None` = unknown.
    pub net_weight_kg: Option<f64>,
    /// Source label.
    pub source: String,
}

impl TradeFlow {
    /// Validates every field of `raw`.
    pub fn validate(raw: &RawTradeFlow) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let reporter = check_country(&mut v, "reporter", &raw.reporter);
        let partner = check_country(&mut v, "partner", &raw.partner);
        if let (Some(r), Some(p)) = (&reporter, &partner)
            && r == p
        {
            v.push("partner", "must differ from reporter");
        }
        let hs = v.check("hs_code", HsCode::parse(&raw.hs_code));
        let year = check_year(&mut v, "period.year", raw.year);
        if raw.month > 12 {
            v.push("period.month", format!("{} is not 0 (annual) or 1..=12", raw.month));
        }
        if raw.flow.is_none() {
            v.push("flow", "is required (import, export, re-import or re-export)");
        }
        let value_usd = check_non_negative(&mut v, "value_usd", raw.value_usd);
        let weight = match raw.net_weight_kg {
            Some(w) => check_non_negative(&mut v, "net_weight_kg", w).map(Some),
            None => Some(None),
        };
        let source = check_source(&mut v, "source", &raw.source);
        if !v.is_empty() {
            return Err(v);
        }
        let (hs_code, mineral, stage) = hs.expect("checked");
        Ok(TradeFlow {
            reporter: reporter.expect("checked"),
            partner: partner.expect("checked"),
            hs_code,
            mineral,
            stage,
            period: Period {
                year: year.expect("checked"),
                month: raw.month as u8,
            },
            flow: raw.flow.expect("checked"),
            value_usd: value_usd.expect("checked"),
            net_weight_kg: weight.expect("checked"),
            source: source.expect("checked"),
        })
    }

    /// Feeds the natural key's fields to `state`, without building the key.
    pub fn hash_natural_key<H: std::hash::Hasher>(&self, state: &mut H) {
        use std::hash::Hash;
        (
            &self.reporter,
            &self.partner,
            &self.hs_code,
            self.period,
            self.flow,
            &self.source,
        )
            .hash(state);
    }

    /// The natural key: two flows with the same key describe the same fact.
    pub fn natural_key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.reporter,
            self.partner,
            self.hs_code,
            self.period.year,
            self.period.month,
            self.flow.code(),
            self.source
        )
    }
}

/// Unit of a production figure published as a share of world supply
/// (0–1) instead of a quantity.
pub const SHARE_UNIT: &str = "share";

/// Unchecked production input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawProductionStat {
    /// Mineral id or alias.
    pub mineral: String,
    /// Stage; `None` when missing.
    pub stage: Option<Stage>,
    /// Country ISO3.
    pub country: String,
    /// Year; the last year of the period for a multi-year figure.
    pub year: u32,
    /// First year of a multi-year average (e.g. 2016 for 2016–2020);
    /// `None` for a single year.
    pub first_year: Option<u32>,
    /// Quantity, `None` = withheld or unknown.
    pub quantity: Option<f64>,
    /// Unit.
    pub unit: String,
    /// Source label.
    pub source: String,
}

/// A validated production statistic.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductionStat {
    /// Mineral.
    pub mineral: MineralId,
    /// Stage.
    pub stage: Stage,
    /// Producing country.
    pub country: Iso3,
    /// Year; the last year of the period for a multi-year figure.
    pub year: u16,
    /// First year of a multi-year average; `None` for a single year.
    pub first_year: Option<u16>,
    /// Quantity, `None` = withheld or unknown (never 0 for unknown).
    pub quantity: Option<f64>,
    /// Unit of the quantity.
    pub unit: String,
    /// Source label.
    pub source: String,
}

impl ProductionStat {
    /// Validates every field of `raw`.
    pub fn validate(raw: &RawProductionStat) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let mineral = check_mineral(&mut v, "mineral", &raw.mineral);
        if raw.stage.is_none() {
            v.push("stage", "is required (mining or processing)");
        }
        let country = check_country(&mut v, "country", &raw.country);
        let year = check_year(&mut v, "year", raw.year);
        let first_year = match raw.first_year {
            Some(f) if f > raw.year => {
                v.push("first_year", "must not be after year (the period's last year)");
                None
            }
            Some(f) => check_year(&mut v, "first_year", f).map(Some),
            None => Some(None),
        };
        let quantity = match raw.quantity {
            Some(q) => check_non_negative(&mut v, "quantity", q).map(Some),
            None => Some(None),
        };
        let unit = raw.unit.trim();
        if unit.is_empty() || unit.len() > 32 || unit.contains('|') {
            v.push(
                "unit",
                "is required (at most 32 characters without '|', e.g. t, kg, t REO)",
            );
        }
        let source = check_source(&mut v, "source", &raw.source);
        if !v.is_empty() {
            return Err(v);
        }
        Ok(ProductionStat {
            mineral: mineral.expect("checked"),
            stage: raw.stage.expect("checked"),
            country: country.expect("checked"),
            year: year.expect("checked"),
            first_year: first_year.expect("checked"),
            quantity: quantity.expect("checked"),
            unit: unit.to_string(),
            source: source.expect("checked"),
        })
    }
}

/// A Worldwide Governance Indicators dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GovernanceDimension {
    /// Control of Corruption.
    Cc,
    /// Government Effectiveness.
    Ge,
    /// Political Stability and Absence of Violence/Terrorism.
    Pv,
    /// Regulatory Quality.
    Rq,
    /// Rule of Law.
    Rl,
    /// Voice and Accountability.
    Va,
    /// Political Stability estimate from the series the GeoPolRisk method
    /// reads (the `WGI_PV` table, as its reference implementation bundles
    /// it). Kept apart from [`GovernanceDimension::Pv`] so that method sees
    /// exactly its own series: a country missing there (Taiwan, several
    /// territories) takes the method's default, not another release's value.
    PvSeries,
}

impl GovernanceDimension {
    /// Every dimension stored: the six WGI dimensions and the PV series.
    pub const STORED: [GovernanceDimension; 7] = {
        let [cc, ge, pv, rq, rl, va] = Self::ALL;
        [cc, ge, pv, rq, rl, va, GovernanceDimension::PvSeries]
    };

    /// The six WGI dimensions, in WGI order.
    pub const ALL: [GovernanceDimension; 6] = [
        GovernanceDimension::Cc,
        GovernanceDimension::Ge,
        GovernanceDimension::Pv,
        GovernanceDimension::Rq,
        GovernanceDimension::Rl,
        GovernanceDimension::Va,
    ];

    /// The code (the WGI's CC, GE, PV, RQ, RL, VA, and PV_SERIES).
    pub fn code(self) -> &'static str {
        match self {
            GovernanceDimension::Cc => "CC",
            GovernanceDimension::Ge => "GE",
            GovernanceDimension::Pv => "PV",
            GovernanceDimension::Rq => "RQ",
            GovernanceDimension::Rl => "RL",
            GovernanceDimension::Va => "VA",
            GovernanceDimension::PvSeries => "PV_SERIES",
        }
    }

    /// Parses a code of [`GovernanceDimension::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::STORED
            .into_iter()
            .find(|d| d.code().eq_ignore_ascii_case(code.trim()))
    }
}

/// Lowest plausible WGI estimate accepted (the published range is about ±2.5).
pub const WGI_MIN: f64 = -5.0;
/// Highest plausible WGI estimate accepted.
pub const WGI_MAX: f64 = 5.0;

/// Unchecked governance input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawGovernanceIndicator {
    /// Country ISO3.
    pub country: String,
    /// Year.
    pub year: u32,
    /// Dimension; `None` when missing.
    pub dimension: Option<GovernanceDimension>,
    /// Estimate.
    pub estimate: f64,
}

/// A validated WGI estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct GovernanceIndicator {
    /// Country.
    pub country: Iso3,
    /// Year.
    pub year: u16,
    /// Dimension.
    pub dimension: GovernanceDimension,
    /// Estimate, higher = better governance.
    pub estimate: f64,
}

impl GovernanceIndicator {
    /// Validates every field of `raw`.
    pub fn validate(raw: &RawGovernanceIndicator) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let country = check_country(&mut v, "country", &raw.country);
        let year = check_year(&mut v, "year", raw.year);
        if raw.dimension.is_none() {
            v.push("dimension", "is required (CC, GE, PV, RQ, RL or VA)");
        }
        if !(raw.estimate.is_finite() && (WGI_MIN..=WGI_MAX).contains(&raw.estimate)) {
            v.push(
                "estimate",
                format!(
                    "must be a WGI estimate within {WGI_MIN}..={WGI_MAX}, got {}",
                    raw.estimate
                ),
            );
        }
        if !v.is_empty() {
            return Err(v);
        }
        Ok(GovernanceIndicator {
            country: country.expect("checked"),
            year: year.expect("checked"),
            dimension: raw.dimension.expect("checked"),
            estimate: raw.estimate,
        })
    }
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
}

impl Date {
    /// Validates a year-month-day triple.
    pub fn new(year: i32, month: i32, day: i32) -> Result<Date, String> {
        if !(MIN_YEAR as i32..=MAX_YEAR as i32).contains(&year) {
            return Err(format!("year {year} is outside {MIN_YEAR}..={MAX_YEAR}"));
        }
        if !(1..=12).contains(&month) {
            return Err(format!("month {month} is not 1..=12"));
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if !(1..=days).contains(&day) {
            return Err(format!("day {day} is not in 1..={days} for {year}-{month:02}"));
        }
        Ok(Date {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        })
    }

    /// The civil date `days` days after 1970-01-01 (proleptic Gregorian),
    /// `None` outside the accepted years.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(i32::try_from(year).ok()?, month as i32, day as i32).ok()
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        Date::from_days_since_epoch(i64::try_from(days).unwrap_or(0)).unwrap_or(Date {
            year: MAX_YEAR as u16,
            month: 12,
            day: 31,
        })
    }

    /// The day after, `None` past the last accepted year.
    pub fn next_day(self) -> Option<Date> {
        let (y, m, d) = (i32::from(self.year), i32::from(self.month), i32::from(self.day));
        Date::new(y, m, d + 1)
            .or_else(|_| Date::new(y, m + 1, 1))
            .or_else(|_| Date::new(y + 1, 1, 1))
            .ok()
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Date, String> {
        let parts: Vec<&str> = s.trim().split('-').collect();
        let nums: Option<Vec<i32>> = parts.iter().map(|p| p.parse().ok()).collect();
        match nums.as_deref() {
            Some([y, m, d]) if parts[0].len() == 4 => Date::new(*y, *m, *d),
            _ => Err(format!("'{s}' is not a date in YYYY-MM-DD form")),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

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

impl PolicyEvent {
    /// Validates every field of `raw`; derives the id when `raw.id` is empty.
    pub fn validate(raw: &RawPolicyEvent) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let country = check_country(&mut v, "country", &raw.country);
        let mut minerals: Vec<MineralId> = Vec::new();
        for (i, m) in raw.minerals.iter().enumerate() {
            if let Some(id) = check_mineral(&mut v, &format!("minerals[{i}]"), m) {
                minerals.push(id);
            }
        }
        let mut hs_codes = Vec::new();
        for (i, code) in raw.hs_codes.iter().enumerate() {
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
        for (i, t) in raw.target_countries.iter().enumerate() {
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
        if raw.summary.len() > 2000 {
            v.push("summary", "must be at most 2000 characters");
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

/// Unchecked stockpile input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawStockpile {
    /// Country ISO3.
    pub country: String,
    /// Mineral id or alias.
    pub mineral: String,
    /// Tonnes held.
    pub quantity_tonnes: f64,
    /// Date of the figure, as (y, m, d).
    pub as_of: Option<(i32, i32, i32)>,
}

/// A validated stockpile figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Stockpile {
    /// Holder.
    pub country: Iso3,
    /// Mineral.
    pub mineral: MineralId,
    /// Tonnes held.
    pub quantity_tonnes: f64,
    /// Date of the figure.
    pub as_of: Date,
}

impl Stockpile {
    /// Validates every field of `raw`.
    pub fn validate(raw: &RawStockpile) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let country = check_country(&mut v, "country", &raw.country);
        let mineral = check_mineral(&mut v, "mineral", &raw.mineral);
        let qty = check_non_negative(&mut v, "quantity_tonnes", raw.quantity_tonnes);
        let as_of = match raw.as_of {
            Some((y, m, d)) => v.check("as_of", Date::new(y, m, d)),
            None => {
                v.push("as_of", "is required");
                None
            }
        };
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Stockpile {
            country: country.expect("checked"),
            mineral: mineral.expect("checked"),
            quantity_tonnes: qty.expect("checked"),
            as_of: as_of.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> RawTradeFlow {
        RawTradeFlow {
            reporter: "JPN".into(),
            partner: "CHN".into(),
            hs_code: "284690".into(),
            year: 2023,
            month: 0,
            flow: Some(FlowDirection::Import),
            value_usd: 1000.0,
            net_weight_kg: Some(20.0),
            source: "BACI".into(),
        }
    }

    #[test]
    fn valid_flow_gets_mineral_and_key() {
        let f = TradeFlow::validate(&flow()).expect("valid");
        assert_eq!(f.mineral.as_str(), "REE");
        assert_eq!(f.natural_key(), "JPN|CHN|284690|2023|0|M|BACI");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let raw = RawTradeFlow {
            reporter: "XXQ".into(),
            partner: "".into(),
            hs_code: "12".into(),
            year: 1800,
            month: 13,
            flow: None,
            value_usd: -1.0,
            net_weight_kg: Some(f64::NAN),
            source: "".into(),
        };
        let err = TradeFlow::validate(&raw).expect_err("invalid");
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "reporter",
                "partner",
                "hs_code",
                "period.year",
                "period.month",
                "flow",
                "value_usd",
                "net_weight_kg",
                "source"
            ]
        );
    }

    #[test]
    fn same_reporter_and_partner_is_refused() {
        let mut raw = flow();
        raw.partner = "JPN".into();
        let err = TradeFlow::validate(&raw).expect_err("invalid");
        assert_eq!(err.0[0].field, "partner");
    }

    #[test]
    fn withheld_production_stays_unknown() {
        let raw = RawProductionStat {
            mineral: "GE".into(),
            stage: Some(Stage::Processing),
            country: "USA".into(),
            year: 2023,
            first_year: None,
            quantity: None,
            unit: "kg".into(),
            source: "USGS_MCS_2025".into(),
        };
        assert_eq!(ProductionStat::validate(&raw).expect("valid").quantity, None);
        let average = RawProductionStat {
            year: 2020,
            first_year: Some(2016),
            ..raw.clone()
        };
        assert_eq!(
            ProductionStat::validate(&average).expect("valid").first_year,
            Some(2016)
        );
        let reversed = RawProductionStat {
            first_year: Some(2021),
            ..average
        };
        assert!(ProductionStat::validate(&reversed).is_err_and(|v| v.to_string().contains("first_year")));
    }

    #[test]
    fn dates_from_the_clock_and_the_next_day() {
        assert_eq!(
            Date::from_days_since_epoch(0).map(|d| d.to_string()),
            Some("1970-01-01".into())
        );
        assert_eq!(
            Date::from_days_since_epoch(20_790).map(|d| d.to_string()),
            Some("2026-12-03".into())
        );
        assert_eq!(
            Date::from_days_since_epoch(19_782).map(|d| d.to_string()),
            Some("2024-02-29".into())
        );
        let next = |s: &str| Date::parse(s).ok().and_then(Date::next_day).map(|d| d.to_string());
        assert_eq!(next("2024-02-28"), Some("2024-02-29".into()));
        assert_eq!(next("2024-02-29"), Some("2024-03-01".into()));
        assert_eq!(next("2025-12-31"), Some("2026-01-01".into()));
    }

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
    fn dates_are_checked() {
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(2023, 2, 29).is_err());
        assert_eq!(
            Date::parse("2025-04-04").map(|d| d.to_string()),
            Ok("2025-04-04".into())
        );
        assert!(Date::parse("2025-4").is_err());
    }
}
