//! What every score returns: the value and everything needed to explain it.

use crate::model::{Stage, StageData, StageSource};

/// A published scoring method: the one name for "which method" from the
/// engine up (the wire has its own enum; [`crate::Method`] is a method with
/// its parameters, ready to score).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Methodology {
    /// The EU Critical Raw Materials supply risk.
    EuCrm,
    /// GeoPolRisk.
    GeoPolRisk,
}

impl Methodology {
    /// Every method, in the order they are recomputed.
    pub const ALL: [Methodology; 2] = [Methodology::EuCrm, Methodology::GeoPolRisk];

    /// Stable id used in keys, events and answers.
    pub fn id(self) -> &'static str {
        match self {
            Methodology::EuCrm => "eu-crm",
            Methodology::GeoPolRisk => "geopolrisk",
        }
    }

    /// Version of our implementation of the method.
    pub fn version(self) -> &'static str {
        "1.0.0"
    }
}

/// One named term of a score.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Short name, e.g. `hhi_wgi_global`.
    pub name: &'static str,
    /// Value.
    pub value: f64,
    /// What the term means, in one sentence.
    pub meaning: &'static str,
}

/// A supplier's part in a score.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupplierContribution {
    /// Supplier (ISO3 for scores over [`crate::SupplyInputs`]).
    pub country: String,
    /// Share of the importer's sourcing (EU CRM) or of its imports
    /// (GeoPolRisk), 0–1.
    pub share: f64,
    /// Share of global supply, when the method uses it.
    pub global_share: Option<f64>,
    /// Governance figure used: scaled WGI 0–10 (EU CRM) or normalized PV 0–1
    /// (GeoPolRisk), after defaults.
    pub governance: f64,
    /// True when `governance` is a default, not the country's data.
    pub governance_defaulted: bool,
    /// True when `governance` is traced through the stage's producers (the
    /// supplier produces nothing at the stage: traced origin).
    pub governance_traced: bool,
    /// Part of the score due to this supplier; contributions add up to the
    /// score.
    pub contribution: f64,
}

/// One input the score lacked in part, and how much of it was there.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidenceReason {
    /// The input, e.g. `governance`, `eol_rir`.
    pub input: &'static str,
    /// How much of it was observed, 0–1.
    pub coverage: f64,
    /// What was missing.
    pub detail: String,
}

/// How complete the data behind a score were.
#[derive(Debug, Clone, PartialEq)]
pub struct Confidence {
    /// 0–1: the mean coverage of the inputs the method needs (1 = nothing
    /// missing).
    pub value: f64,
    /// Every input with coverage below 1, with the reason.
    pub reasons: Vec<ConfidenceReason>,
}

impl Confidence {
    /// Builds the figure from the coverage of each input the method needs.
    pub(crate) fn from_items(items: Vec<(ConfidenceReason, bool)>) -> Self {
        let n = items.len().max(1) as f64;
        let value = items.iter().map(|(r, _)| r.coverage.clamp(0.0, 1.0)).sum::<f64>() / n;
        let reasons = items
            .into_iter()
            .filter(|(r, always)| *always || r.coverage < 1.0)
            .map(|(r, _)| r)
            .collect();
        Confidence { value, reasons }
    }
}

/// A term the method needed that was not in the data, and what stood in.
#[derive(Debug, Clone, PartialEq)]
pub struct DefaultedTerm {
    /// The term, e.g. `eol_rir` or `governance:TWN`.
    pub term: String,
    /// Value used instead.
    pub value: f64,
    /// Why, and why this value.
    pub reason: String,
}

/// The score of one stage, when a method computes several.
#[derive(Debug, Clone, PartialEq)]
pub struct StageScore {
    /// The stage.
    pub stage: Stage,
    /// What the stage is for this mineral, e.g. "separation (oxides and compounds)".
    pub label: Option<String>,
    /// Score at that stage, `None` when it could not be computed.
    pub value: Option<f64>,
    /// Why it could not be computed, when it could not.
    pub skipped: Option<String>,
    /// True for the stage the score is taken at.
    pub bottleneck: bool,
    /// Where the stage's production figures came from and why that source.
    pub source: Option<StageSource>,
}

impl StageScore {
    /// A scored stage.
    pub fn scored(stage: &StageData, value: Option<f64>) -> Self {
        StageScore {
            stage: stage.stage,
            label: stage.label.clone(),
            value,
            skipped: None,
            bottleneck: false,
            source: stage.source.clone(),
        }
    }

    /// A stage that could not be scored, and why.
    pub fn skipped(stage: &StageData, why: impl Into<String>) -> Self {
        StageScore {
            skipped: Some(why.into()),
            ..Self::scored(stage, None)
        }
    }

    /// `stage: why` for a skipped stage, `stage: value` for a scored one.
    pub fn describe(&self) -> String {
        match (&self.skipped, self.value) {
            (Some(why), _) => format!("{} skipped: {why}", self.stage.as_str()),
            (None, Some(v)) => format!("{} {v:.2}", self.stage.as_str()),
            (None, None) => self.stage.as_str().to_string(),
        }
    }
}

/// Id of GeoPolRisk with our extensions, used where the published
/// computation has no answer from the data: no trade data (imports assumed
/// to follow world supply), production of another year than the trade, or
/// several stages with production (the most concentrated one taken).
pub const GEOPOLRISK_EXTENDED_ID: &str = "geopolrisk-extended";

/// A supply-risk score with its explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The method.
    pub method: Methodology,
    /// True when the published computation had no answer from the data and
    /// our documented extensions were used (GeoPolRisk only; the notes name
    /// each one).
    pub extended: bool,
    /// Mineral id.
    pub mineral: String,
    /// Importer label (ISO3 or bloc name).
    pub importer: String,
    /// The score.
    pub value: f64,
    /// The named terms the score is made of.
    pub components: Vec<Component>,
    /// Largest contributors first.
    pub top_suppliers: Vec<SupplierContribution>,
    /// Stage the score describes.
    pub stage: Stage,
    /// Per-stage scores (EU CRM computes every stage with data).
    pub stages: Vec<StageScore>,
    /// Year of the data.
    pub data_year: u16,
    /// Completeness of the data behind the score.
    pub confidence: Confidence,
    /// Terms that were not in the data, with the value used instead.
    pub defaulted: Vec<DefaultedTerm>,
    /// Other remarks (e.g. governance older than the data year).
    pub notes: Vec<String>,
}

impl Score {
    /// The id the score answers under: the method's, or
    /// [`GEOPOLRISK_EXTENDED_ID`] when extensions were used.
    pub fn method_id(&self) -> &'static str {
        if self.extended {
            GEOPOLRISK_EXTENDED_ID
        } else {
            self.method.id()
        }
    }

    /// The component named `name`.
    pub fn component(&self, name: &str) -> Option<f64> {
        self.components.iter().find(|c| c.name == name).map(|c| c.value)
    }

    /// True when a defaulted term starts with `prefix`.
    pub fn is_defaulted(&self, prefix: &str) -> bool {
        self.defaulted.iter().any(|d| d.term.starts_with(prefix))
    }
}
