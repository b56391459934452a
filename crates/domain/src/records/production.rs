//! Production statistics: how much of a mineral a country mines or processes.

use super::check::{check_country, check_mineral, check_non_negative, check_source, check_year};
use crate::catalog::{MineralId, Stage};
use crate::country::Iso3;
use crate::validate::Violations;

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

/// A source's published world total for a mineral, stage and year: not a
/// country's production, so it has no [`Iso3`].
#[derive(Debug, Clone, PartialEq)]
pub struct WorldTotal {
    /// Mineral.
    pub mineral: MineralId,
    /// Stage.
    pub stage: Stage,
    /// Year; the last year of the period for a multi-year figure.
    pub year: u16,
    /// Quantity, `None` = withheld.
    pub quantity: Option<f64>,
    /// Unit.
    pub unit: String,
    /// Source label.
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
