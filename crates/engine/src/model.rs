//! The engine's input model: one mineral, one year, one importer.
//!
//! The service fills a [`SupplyInputs`] from its supply snapshot; tests and
//! callers build one by hand with the small builder methods below. Every
//! quantity that a source may not report is an `Option`: `None` means
//! *unknown*, never zero, and the scoring functions report what they had to
//! assume instead.

use std::collections::BTreeMap;

pub use supplyrisk_domain::{FlowDirection, PolicyMeasure, Stage};

/// The economy whose exposure is scored: one country, or a bloc of allies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Importer {
    /// A single country (ISO 3166-1 alpha-3).
    Country(String),
    /// A bloc of countries scored as one economy. Trade between members is
    /// netted out (see `docs/methodology.md`, "Blocs").
    Bloc {
        /// Display name, e.g. `EU27` or `US+JP`.
        name: String,
        /// ISO3 codes of the members.
        members: Vec<String>,
    },
}

impl Importer {
    /// A single-country importer.
    pub fn country(iso3: impl Into<String>) -> Self {
        Importer::Country(iso3.into())
    }

    /// A bloc importer.
    pub fn bloc(name: impl Into<String>, members: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Importer::Bloc {
            name: name.into(),
            members: members.into_iter().map(Into::into).collect(),
        }
    }

    /// The label used in results: the ISO3 code or the bloc name.
    pub fn label(&self) -> &str {
        match self {
            Importer::Country(c) => c,
            Importer::Bloc { name, .. } => name,
        }
    }

    /// The member countries (one for a single country).
    pub fn members(&self) -> &[String] {
        match self {
            Importer::Country(c) => std::slice::from_ref(c),
            Importer::Bloc { members, .. } => members,
        }
    }

    /// True when `iso3` is the importer or one of its members.
    pub fn contains(&self, iso3: &str) -> bool {
        self.members().iter().any(|m| m == iso3)
    }
}

/// Production of one country at one stage, in tonnes.
#[derive(Debug, Clone, PartialEq)]
pub struct Production {
    /// Producing country (ISO3).
    pub country: String,
    /// Tonnes produced; `None` = withheld or unknown.
    pub tonnes: Option<f64>,
}

/// One bilateral trade flow as the methods read it: who reported it, with
/// whom, which way, its value and its weight in tonnes.
///
/// Private to the engine: callers hand over recorded flows
/// ([`StageData::recorded`], the domain's `TradeFlow`) or, for datasets
/// outside our catalog such as the GeoPolRisk reference, plain codes
/// ([`StageData::import`], [`StageData::export`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TradeFlow {
    /// Reporting country: the importer, or a member of the bloc.
    pub reporter: String,
    /// Partner country: origin of an import, destination of an export.
    pub partner: String,
    /// Import or export.
    pub direction: FlowDirection,
    /// Value in USD.
    pub value_usd: f64,
    /// Weight in tonnes; `None` when the source did not report it.
    pub tonnes: Option<f64>,
}

impl TradeFlow {
    fn new(direction: FlowDirection, reporter: &str, partner: &str, value_usd: f64, tonnes: Option<f64>) -> Self {
        TradeFlow {
            reporter: reporter.to_string(),
            partner: partner.to_string(),
            direction,
            value_usd,
            tonnes,
        }
    }
}

/// Where a stage's production figures come from, and why that source.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSource {
    /// Source label, e.g. `IEA_CMDE_2025`.
    pub name: String,
    /// Year of the figures (the last year of a multi-year average).
    pub year: u16,
    /// First year of a multi-year average.
    pub first_year: Option<u16>,
    /// Why this source was chosen over the others that cover the stage.
    pub why: String,
}

/// Production and trade at one supply stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageData {
    /// The stage.
    pub stage: Stage,
    /// What the stage is for this mineral, e.g. "separation (oxides and compounds)".
    pub label: Option<String>,
    /// Where the production figures come from.
    pub source: Option<StageSource>,
    /// World production by country (every producer the source lists).
    pub production: Vec<Production>,
    /// The source's published world total, when it gives one (tonnes).
    pub world_total: Option<f64>,
    /// The importer's trade at this stage. `None` = no trade data at all
    /// (unknown); `Some(vec![])` = the source reports no trade.
    pub(crate) trade: Option<Vec<TradeFlow>>,
}

impl StageData {
    /// An empty stage: no production rows, trade unknown.
    pub fn new(stage: Stage) -> Self {
        StageData {
            stage,
            label: None,
            source: None,
            production: Vec::new(),
            world_total: None,
            trade: None,
        }
    }

    /// Names the stage for this mineral.
    pub fn labelled(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Records where the production figures come from.
    pub fn sourced(mut self, source: StageSource) -> Self {
        self.source = Some(source);
        self
    }

    /// Adds a producer (`None` = withheld).
    pub fn producer(mut self, iso3: &str, tonnes: Option<f64>) -> Self {
        self.production.push(Production {
            country: iso3.to_string(),
            tonnes,
        });
        self
    }

    /// Sets the published world total.
    pub fn world_total(mut self, tonnes: f64) -> Self {
        self.world_total = Some(tonnes);
        self
    }

    /// Declares the trade as reported (possibly with no flow).
    pub fn trade_reported(mut self) -> Self {
        self.trade.get_or_insert_with(Vec::new);
        self
    }

    /// Forgets every flow: the stage's trade is unknown again.
    pub fn trade_unknown(mut self) -> Self {
        self.trade = None;
        self
    }

    /// True when the stage's trade is known (possibly with no flow).
    pub fn has_trade(&self) -> bool {
        self.trade.is_some()
    }

    /// Adds a recorded flow of the importer (or of a bloc member) and marks
    /// the trade as reported. Re-imports and re-exports are not supply: the
    /// trade is marked reported but the flow is not counted.
    pub fn recorded(mut self, flow: &supplyrisk_domain::TradeFlow) -> Self {
        let trade = self.trade.get_or_insert_with(Vec::new);
        if matches!(flow.flow, FlowDirection::Import | FlowDirection::Export) {
            trade.push(TradeFlow::new(
                flow.flow,
                flow.reporter.as_str(),
                flow.partner.as_str(),
                flow.value_usd,
                flow.net_weight_kg.map(|kg| kg / 1000.0),
            ));
        }
        self
    }

    /// Adds an import of `reporter` from `partner` (plain codes, tonnes).
    pub fn import(mut self, reporter: &str, partner: &str, value_usd: f64, tonnes: Option<f64>) -> Self {
        let flow = TradeFlow::new(FlowDirection::Import, reporter, partner, value_usd, tonnes);
        self.trade.get_or_insert_with(Vec::new).push(flow);
        self
    }

    /// Adds an export of `reporter` to `partner` (plain codes, tonnes).
    pub fn export(mut self, reporter: &str, partner: &str, value_usd: f64, tonnes: Option<f64>) -> Self {
        let flow = TradeFlow::new(FlowDirection::Export, reporter, partner, value_usd, tonnes);
        self.trade.get_or_insert_with(Vec::new).push(flow);
        self
    }
}

/// Worldwide Governance Indicators of one country for the data year.
///
/// Estimates are on the published WGI scale (about −2.5 … +2.5, higher =
/// better governance). The six dimensions feed the EU CRM method; `pv`
/// (Political Stability, from the PV series paired with the data year) feeds
/// GeoPolRisk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Governance {
    /// Control of Corruption estimate.
    pub cc: Option<f64>,
    /// Government Effectiveness estimate.
    pub ge: Option<f64>,
    /// Political Stability and Absence of Violence/Terrorism estimate.
    pub pv: Option<f64>,
    /// Regulatory Quality estimate.
    pub rq: Option<f64>,
    /// Rule of Law estimate.
    pub rl: Option<f64>,
    /// Voice and Accountability estimate.
    pub va: Option<f64>,
    /// PV estimate for the data year from the PV series used by GeoPolRisk,
    /// when it differs from (or extends) `pv`. `None` = use `pv`.
    pub pv_series: Option<f64>,
    /// Year of the six-dimension estimates, when older than the data year.
    pub wgi_year: Option<u16>,
    /// ISO3 of the country whose governance stands in for this one (e.g. a
    /// territory scored with its sovereign's); `None` = the country's own.
    pub fallback_from: Option<String>,
}

impl Governance {
    /// All six estimates, in WGI order CC, GE, PV, RQ, RL, VA.
    pub fn six(cc: f64, ge: f64, pv: f64, rq: f64, rl: f64, va: f64) -> Self {
        Governance {
            cc: Some(cc),
            ge: Some(ge),
            pv: Some(pv),
            rq: Some(rq),
            rl: Some(rl),
            va: Some(va),
            ..Default::default()
        }
    }

    /// The same estimate on all six dimensions (handy in tests).
    pub fn uniform(estimate: f64) -> Self {
        Self::six(estimate, estimate, estimate, estimate, estimate, estimate)
    }

    /// Only the PV estimate (what GeoPolRisk needs).
    pub fn pv_only(pv: f64) -> Self {
        Governance {
            pv: Some(pv),
            ..Default::default()
        }
    }

    /// The six estimates in WGI order.
    pub fn estimates(&self) -> [Option<f64>; 6] {
        [self.cc, self.ge, self.pv, self.rq, self.rl, self.va]
    }

    /// The PV estimate GeoPolRisk uses: `pv_series`, else `pv`.
    pub fn pv_for_geopolrisk(&self) -> Option<f64> {
        self.pv_series.or(self.pv).filter(|v| v.is_finite())
    }
}

/// An export restriction in force in the data year.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRestriction {
    /// Policy event id (for explanations).
    pub id: String,
    /// Restricting country (ISO3).
    pub country: String,
    /// Kind of measure.
    pub measure: PolicyMeasure,
    /// 0 (symbolic) … 1 (total stop). Used by scenarios; the EU CRM `t`
    /// factor depends on the measure only, as in the JRC method.
    pub severity: f64,
    /// Targeted destinations (ISO3); empty = every destination.
    pub targets: Vec<String>,
    /// Stage the measure covers; `None` = every stage.
    pub stage: Option<Stage>,
}

impl ExportRestriction {
    /// A restriction on every destination and stage.
    pub fn new(id: &str, country: &str, measure: PolicyMeasure, severity: f64) -> Self {
        ExportRestriction {
            id: id.to_string(),
            country: country.to_string(),
            measure,
            severity,
            targets: Vec::new(),
            stage: None,
        }
    }

    /// True when the measure covers `stage`.
    pub fn covers_stage(&self, stage: Stage) -> bool {
        self.stage.is_none_or(|s| s == stage)
    }

    /// True when the measure hits every destination.
    pub fn is_global(&self) -> bool {
        self.targets.is_empty()
    }

    /// True when the measure hits at least one member of `importer`.
    pub fn hits(&self, importer: &Importer) -> bool {
        self.is_global() || self.targets.iter().any(|t| importer.contains(t))
    }
}

/// Everything the engine needs to score one mineral for one importer and year.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplyInputs {
    /// Mineral id (catalog id, e.g. `REE`).
    pub mineral: String,
    /// Data year.
    pub year: u16,
    /// The importer (country or bloc).
    pub importer: Importer,
    /// Production and trade per supply stage.
    pub stages: Vec<StageData>,
    /// Governance per country (ISO3).
    pub governance: BTreeMap<String, Governance>,
    /// Export restrictions in force.
    pub restrictions: Vec<ExportRestriction>,
    /// Partners (ISO3) with which the importer has a trade agreement in
    /// force covering the mineral.
    pub trade_agreements: Vec<String>,
    /// End-of-life recycling input rate (0–1), when known.
    pub eol_rir: Option<f64>,
    /// Substitution index for supply risk, SI_SR (0–1), when known.
    pub substitution_index: Option<f64>,
    /// Stockpile held by the importer (tonnes), when known.
    pub stockpile_tonnes: Option<f64>,
    /// True when the trade data of the year hold no flow of the mineral for
    /// any importer, yet trade counts as reported (GeoPolRisk's reading:
    /// zero imports). The answer then says its imports rest on no record.
    pub no_flows_recorded: bool,
}

impl SupplyInputs {
    /// Inputs with no stage, governance or policy yet.
    pub fn new(mineral: &str, year: u16, importer: Importer) -> Self {
        SupplyInputs {
            mineral: mineral.to_string(),
            year,
            importer,
            stages: Vec::new(),
            governance: BTreeMap::new(),
            restrictions: Vec::new(),
            trade_agreements: Vec::new(),
            eol_rir: None,
            substitution_index: None,
            stockpile_tonnes: None,
            no_flows_recorded: false,
        }
    }

    /// Marks that the year's trade data hold no flow of the mineral at all
    /// (see [`SupplyInputs::no_flows_recorded`]).
    pub fn no_flows_recorded(mut self) -> Self {
        self.no_flows_recorded = true;
        self
    }

    /// Adds a stage.
    pub fn stage(mut self, stage: StageData) -> Self {
        self.stages.push(stage);
        self
    }

    /// Sets a country's governance.
    pub fn governance(mut self, iso3: &str, governance: Governance) -> Self {
        self.governance.insert(iso3.to_string(), governance);
        self
    }

    /// Adds an export restriction in force.
    pub fn restriction(mut self, restriction: ExportRestriction) -> Self {
        self.restrictions.push(restriction);
        self
    }

    /// Declares a trade agreement with `partner`.
    pub fn trade_agreement(mut self, partner: &str) -> Self {
        self.trade_agreements.push(partner.to_string());
        self
    }

    /// Sets the end-of-life recycling input rate.
    pub fn eol_rir(mut self, rate: f64) -> Self {
        self.eol_rir = Some(rate);
        self
    }

    /// Sets the substitution index SI_SR.
    pub fn substitution_index(mut self, si: f64) -> Self {
        self.substitution_index = Some(si);
        self
    }

    /// Sets the importer's stockpile in tonnes.
    pub fn stockpile_tonnes(mut self, tonnes: f64) -> Self {
        self.stockpile_tonnes = Some(tonnes);
        self
    }

    /// The data of `stage`, if present.
    pub fn stage_data(&self, stage: Stage) -> Option<&StageData> {
        self.stages.iter().find(|s| s.stage == stage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use supplyrisk_domain::{RawTradeFlow, TradeFlow as RecordedFlow};

    fn recorded(flow: FlowDirection, weight_kg: Option<f64>) -> RecordedFlow {
        RecordedFlow::validate(&RawTradeFlow {
            reporter: "JPN".into(),
            partner: "CHN".into(),
            hs_code: "284690".into(),
            year: 2023,
            month: 0,
            flow: Some(flow),
            value_usd: 9_000.0,
            net_weight_kg: weight_kg,
            source: "BACI".into(),
        })
        .expect("valid")
    }

    #[test]
    fn recorded_flows_count_imports_and_exports_in_tonnes() {
        let stage = StageData::new(Stage::Processing)
            .recorded(&recorded(FlowDirection::Import, Some(2_500.0)))
            .recorded(&recorded(FlowDirection::Export, None));
        assert_eq!(
            stage.trade,
            Some(vec![
                TradeFlow::new(FlowDirection::Import, "JPN", "CHN", 9_000.0, Some(2.5)),
                TradeFlow::new(FlowDirection::Export, "JPN", "CHN", 9_000.0, None),
            ])
        );
    }

    #[test]
    fn re_flows_mark_trade_known_but_are_not_supply() {
        let stage = StageData::new(Stage::Processing)
            .recorded(&recorded(FlowDirection::ReImport, Some(1.0)))
            .recorded(&recorded(FlowDirection::ReExport, Some(1.0)));
        assert!(stage.has_trade());
        assert_eq!(stage.trade, Some(vec![]));
        assert!(!stage.trade_unknown().has_trade());
    }
}
