//! Worldwide Governance Indicators estimates, the governance side of every
//! supply-risk method.

use super::check::{check_country, check_year};
use crate::country::Iso3;
use crate::validate::Violations;

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
