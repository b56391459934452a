//! The EU Critical Raw Materials supply-risk method (JRC; Blengini et al.
//! 2017, EUR 28654), extended to any importer or bloc.
//!
//! ```text
//! SR = [HHI_WGI,t(GS) × IR/2 + HHI_WGI,t(sourcing) × (1 − IR/2)] × (1 − EoL_RIR) × SI_SR
//! HHI_WGI,t = Σ_c s_c² × WGI_c × t_c        (s_c as fractions, WGI_c scaled 0–10)
//! IR = (imports − exports) / (domestic production + imports − exports), within [0, 1]
//! ```
//! computed at every stage with production data; the highest stage score is
//! the result (bottleneck rule). See `docs/methodology.md`.

mod explain;
mod relief;
mod stage;
mod terms;

use crate::error::EngineError;
use crate::model::{StageData, SupplyInputs};
use crate::result::{Component, Confidence, Methodology, Score, StageScore};
use explain::bottleneck_note;
pub(crate) use explain::mark_bottleneck;
use stage::{StageResult, stage_result};

/// Parameters of the EU CRM method.
#[derive(Debug, Clone, PartialEq)]
pub struct EuCrmParams {
    /// `t` of a country applying an export tax (JRC method).
    pub t_export_tax: f64,
    /// `t` of a country applying an export quota (JRC method).
    pub t_export_quota: f64,
    /// `t` of a country applying an export prohibition (JRC method).
    pub t_export_prohibition: f64,
    /// `t` for export licensing (our extension; the JRC method has no
    /// licensing category).
    pub t_licensing: f64,
    /// `t` for any other restriction (our extension).
    pub t_other: f64,
    /// `t` of an unrestricted partner with which the importer has a trade
    /// agreement; `None` disables the adjustment.
    pub t_trade_agreement: Option<f64>,
    /// EoL-RIR used when unknown (no recycling credit).
    pub default_eol_rir: f64,
    /// SI_SR used when unknown (no substitution relief).
    pub default_substitution_index: f64,
    /// How many suppliers to list.
    pub top_suppliers: usize,
    /// Traced origin (our extension, off in the published method): a
    /// partner that produces nothing at the stage passes on world supply, so
    /// its governance in the sourcing term is the path-wise worse of its own
    /// and each producer's, weighted by world shares.
    pub trace_traders: bool,
}

impl Default for EuCrmParams {
    /// Values documented in `docs/methodology.md` (section "Trade
    /// adjustment t"): 1.1 / 1.2 / 1.3 for tax / quota / prohibition, 0.8 for
    /// a trade agreement, conservative defaults for EoL-RIR (0) and SI_SR (1).
    fn default() -> Self {
        EuCrmParams {
            t_export_tax: 1.1,
            t_export_quota: 1.2,
            t_export_prohibition: 1.3,
            t_licensing: 1.1,
            t_other: 1.1,
            t_trade_agreement: Some(0.8),
            default_eol_rir: 0.0,
            default_substitution_index: 1.0,
            top_suppliers: 10,
            trace_traders: false,
        }
    }
}

fn validate(inputs: &SupplyInputs) -> Result<(), EngineError> {
    if inputs.importer.members().is_empty() {
        return Err(EngineError::invalid(
            "importer.members",
            "a bloc needs at least one member",
        ));
    }
    for (field, v) in [
        ("eol_rir", inputs.eol_rir),
        ("substitution_index", inputs.substitution_index),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && (0.0..=1.0).contains(&v))
        {
            return Err(EngineError::invalid(field, format!("must be within 0..=1, got {v}")));
        }
    }
    if let Some(s) = inputs.stockpile_tonnes
        && !(s.is_finite() && s >= 0.0)
    {
        return Err(EngineError::invalid(
            "stockpile_tonnes",
            format!("must be a finite number >= 0, got {s}"),
        ));
    }
    Ok(())
}

/// Scores `inputs` with the EU CRM supply-risk method.
///
/// Every stage with production data is scored; the highest stage score is
/// returned (bottleneck rule) with the per-stage scores in `stages`.
pub fn eu_crm(inputs: &SupplyInputs, params: &EuCrmParams) -> Result<Score, EngineError> {
    validate(inputs)?;
    let eol = relief::given_or(inputs.eol_rir, params.default_eol_rir);
    let si = relief::given_or(inputs.substitution_index, params.default_substitution_index);
    let mut stage_list: Vec<&StageData> = inputs.stages.iter().collect();
    stage_list.sort_by_key(|s| s.stage);
    let mut stages = Vec::with_capacity(stage_list.len());
    let mut best: Option<StageResult> = None;
    for s in stage_list {
        match stage_result(inputs, params, s, eol, si) {
            Ok(r) => {
                stages.push(StageScore::scored(s, Some(r.sr)));
                if best.as_ref().is_none_or(|b| r.sr > b.sr) {
                    best = Some(r);
                }
            }
            Err(why) => stages.push(StageScore::skipped(s, why)),
        }
    }
    let Some(mut r) = best else {
        return Err(EngineError::NoUsableStage {
            mineral: inputs.mineral.clone(),
            year: inputs.year,
            reasons: stages.iter().map(StageScore::describe).collect(),
        });
    };
    mark_bottleneck(&mut stages, r.stage);
    let mut defaulted = std::mem::take(&mut r.defaulted);
    defaulted.extend(relief::defaulted_terms(eol, si));
    let mut notes = std::mem::take(&mut r.notes);
    notes.extend(bottleneck_note(&stages));
    let consumption = r.domestic_tonnes + r.imports_tonnes - r.exports_tonnes;
    let components = vec![
        Component {
            name: "hhi_wgi_t_global",
            value: r.hhi_wgi_global,
            meaning: "governance- and trade-weighted concentration of global supply",
        },
        Component {
            name: "hhi_wgi_t_sourcing",
            value: r.hhi_wgi_sourcing,
            meaning: "governance- and trade-weighted concentration of the importer's sourcing (domestic + imports)",
        },
        Component {
            name: "import_reliance",
            value: r.ir,
            meaning: "(imports − exports) / (domestic production + imports − exports), within 0–1",
        },
        Component {
            name: "eol_rir",
            value: r.eol,
            meaning: "end-of-life recycling input rate used",
        },
        Component {
            name: "substitution_index",
            value: r.si,
            meaning: "substitution index SI_SR used",
        },
        Component {
            name: "hhi_global",
            value: r.hhi_global,
            meaning: "plain concentration of global supply (0–1)",
        },
        Component {
            name: "domestic_production_t",
            value: r.domestic_tonnes,
            meaning: "importer's own production at the stage, tonnes",
        },
        Component {
            name: "imports_t",
            value: r.imports_tonnes,
            meaning: "imports from outside the importer, tonnes",
        },
        Component {
            name: "exports_t",
            value: r.exports_tonnes,
            meaning: "exports to outside the importer, tonnes",
        },
        Component {
            name: "apparent_consumption_t",
            value: consumption,
            meaning: "domestic production + imports − exports, tonnes",
        },
    ];
    let top = std::mem::take(&mut r.contributions);
    Ok(Score {
        method: Methodology::EuCrm,
        extended: false,
        mineral: inputs.mineral.clone(),
        importer: inputs.importer.label().to_string(),
        value: r.sr,
        components,
        top_suppliers: top,
        stage: r.stage,
        stages,
        data_year: inputs.year,
        confidence: Confidence::from_items(std::mem::take(&mut r.items)),
        defaulted,
        notes,
    })
}
