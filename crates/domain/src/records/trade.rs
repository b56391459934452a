//! Bilateral trade flows and the HS codes that tie them to catalog minerals.

use std::fmt;

use super::Period;
use super::check::{check_country, check_non_negative, check_source, check_year};
use crate::catalog::{Catalog, MineralId, Stage};
use crate::country::Iso3;
use crate::validate::Violations;

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
}
