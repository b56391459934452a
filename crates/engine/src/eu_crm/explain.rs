//! What a score says about itself: notes on the trade data behind a stage,
//! the confidence items, and which stage bounds the score.

use super::relief::{self, Relief};
use crate::model::Stage;
use crate::result::{ConfidenceReason, DefaultedTerm, StageScore};
use crate::supply::{GlobalSupply, ImporterTrade};

/// Records, for one stage, the trade flows the importer's figures could not
/// use as reported: imputed weights as a defaulted term, the rest as notes.
pub(super) fn trade_notes(
    stage: Stage,
    t: &ImporterTrade<'_>,
    defaulted: &mut Vec<DefaultedTerm>,
    notes: &mut Vec<String>,
) {
    if t.imputed_flows > 0 {
        defaulted.push(DefaultedTerm {
            term: format!("trade_weight:{}", stage.as_str()),
            value: t.unit_value.unwrap_or(0.0),
            reason: format!(
                "{} flow(s) without weight: tonnes imputed from the importer's unit value (USD/t) at this stage",
                t.imputed_flows
            ),
        });
    }
    if t.unweighable_flows > 0 {
        notes.push(format!(
            "{}: {} flow(s) without weight and no unit value to impute one were left out",
            stage.as_str(),
            t.unweighable_flows
        ));
    }
    if t.intra_bloc_flows > 0 {
        notes.push(format!(
            "{}: {} flow(s) between bloc members netted out",
            stage.as_str(),
            t.intra_bloc_flows
        ));
    }
    if t.foreign_flows > 0 {
        notes.push(format!(
            "{}: {} flow(s) reported by countries outside the importer ignored",
            stage.as_str(),
            t.foreign_flows
        ));
    }
}

/// The confidence items of one stage: production, governance, trade, and
/// the two relief factors.
pub(super) fn confidence_items(
    gs: &GlobalSupply<'_>,
    trade: Option<&ImporterTrade<'_>>,
    gov_cov: f64,
    missing_gov: &[&str],
    partial_gov: &[&str],
    eol: Relief,
    si: Relief,
) -> Vec<(ConfidenceReason, bool)> {
    let mut items = Vec::with_capacity(5);
    let mut prod_detail = String::new();
    if !gs.withheld.is_empty() {
        prod_detail = format!("withheld production: {}", gs.withheld.join(", "));
    }
    items.push((
        ConfidenceReason {
            input: "production",
            coverage: gs.coverage,
            detail: prod_detail,
        },
        false,
    ));
    let mut gov_detail = Vec::new();
    if !missing_gov.is_empty() {
        gov_detail.push(format!("no WGI for {}", missing_gov.join(", ")));
    }
    if !partial_gov.is_empty() {
        gov_detail.push(format!("partial WGI for {}", partial_gov.join(", ")));
    }
    items.push((
        ConfidenceReason {
            input: "governance",
            coverage: gov_cov,
            detail: gov_detail.join("; "),
        },
        false,
    ));
    let (trade_cov, trade_detail) = match trade {
        None => (0.0, "no trade data".to_string()),
        Some(t) => {
            let cov = t.weight_coverage();
            let detail = if cov < 1.0 {
                format!("{:.1}% of the trade value has no reported weight", (1.0 - cov) * 100.0)
            } else {
                String::new()
            };
            (cov, detail)
        }
    };
    items.push((
        ConfidenceReason {
            input: "trade",
            coverage: trade_cov,
            detail: trade_detail,
        },
        false,
    ));
    items.push(relief::confidence_item("eol_rir", eol));
    items.push(relief::confidence_item("substitution_index", si));
    items
}

/// Marks the stage the score is taken at.
pub(crate) fn mark_bottleneck(stages: &mut [StageScore], at: Stage) {
    for s in stages.iter_mut() {
        s.bottleneck = s.stage == at && s.skipped.is_none();
    }
}

/// Which stage bounds the score, and which stages could not compete for it.
/// A skipped stage is named as skipped: the bottleneck is only the highest
/// of the stages that could be scored.
pub(super) fn bottleneck_note(stages: &[StageScore]) -> Option<String> {
    let at = stages.iter().find(|s| s.bottleneck)?;
    let scored = stages.iter().filter(|s| s.skipped.is_none()).count();
    let skipped: Vec<String> = stages
        .iter()
        .filter(|s| s.skipped.is_some())
        .map(StageScore::describe)
        .collect();
    if scored <= 1 && skipped.is_empty() {
        return None;
    }
    let mut note = if scored > 1 {
        format!(
            "bottleneck stage: {} (highest of {scored} scored stages)",
            at.stage.as_str()
        )
    } else {
        format!("scored at the {} stage, the only stage with data", at.stage.as_str())
    };
    if !skipped.is_empty() {
        note.push_str(&format!(
            "; not the whole chain: {} — a skipped stage may bound the risk",
            skipped.join("; ")
        ));
    }
    Some(note)
}
