//! Engine scores → wire messages.

use supplyrisk_api::convert::stage_to_pb;
use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_engine::{ScenarioOutcome, Score, SupplierContribution};

/// One sentence naming the largest contributor to a score. A supplier can
/// weigh through the importer's own sourcing or only through its share of
/// world supply (the global term); the sentence says which.
pub fn top_reason(score: &Score) -> String {
    match score.top_suppliers.first() {
        Some(s) if score.value > 0.0 => {
            let world = s.global_share.filter(|g| *g > 0.0);
            let position = match (s.share > 0.0, world) {
                (true, Some(g)) if g > s.share => format!(
                    "supplies {:.0}% of the sourcing and {:.0}% of world supply",
                    s.share * 100.0,
                    g * 100.0
                ),
                (true, _) => format!("supplies {:.0}%", s.share * 100.0),
                (false, Some(g)) => format!("supplies none of the sourcing but {:.0}% of world supply", g * 100.0),
                (false, None) => "supplies 0%".to_string(),
            };
            format!(
                "{} {position} (governance {:.2}{}) and contributes {:.0}% of the score",
                s.country,
                s.governance,
                match (s.governance_defaulted, s.governance_traced) {
                    (true, _) => ", defaulted",
                    (false, true) => ", traced to the producers it buys from",
                    (false, false) => "",
                },
                100.0 * s.contribution / score.value
            )
        }
        _ => "no supplier contributes to the score".to_string(),
    }
}

/// The wire form of an engine score.
pub fn risk_score(score: &Score, data_version: &str, computed_at: std::time::SystemTime) -> pb::RiskScore {
    pb::RiskScore {
        mineral: score.mineral.clone(),
        importer: score.importer.clone(),
        score: score.value,
        methodology: Some(pb::MethodologyId {
            id: score.method_id().to_string(),
            version: score.method.version().to_string(),
        }),
        components: score
            .components
            .iter()
            .map(|c| pb::Component {
                name: c.name.to_string(),
                value: c.value,
                meaning: c.meaning.to_string(),
            })
            .collect(),
        top_suppliers: score.top_suppliers.iter().map(supplier).collect(),
        stage: stage_to_pb(score.stage) as i32,
        stages: score
            .stages
            .iter()
            .map(|s| {
                let source = s.source.as_ref();
                pb::StageScore {
                    stage: stage_to_pb(s.stage) as i32,
                    value: s.value,
                    skipped_reason: s.skipped.clone().unwrap_or_default(),
                    bottleneck: s.bottleneck,
                    label: s.label.clone().unwrap_or_default(),
                    production_source: source.map(|p| p.name.clone()).unwrap_or_default(),
                    production_year: source.map_or(0, |p| u32::from(p.year)),
                    production_first_year: source.and_then(|p| p.first_year).map_or(0, u32::from),
                    source_reason: source.map(|p| p.why.clone()).unwrap_or_default(),
                }
            })
            .collect(),
        data_year: u32::from(score.data_year),
        data_version: data_version.to_string(),
        confidence: score.confidence.value,
        confidence_reasons: score
            .confidence
            .reasons
            .iter()
            .map(|r| pb::ConfidenceReason {
                input: r.input.to_string(),
                coverage: r.coverage,
                detail: r.detail.clone(),
            })
            .collect(),
        defaulted: score
            .defaulted
            .iter()
            .map(|d| pb::DefaultedTerm {
                term: d.term.clone(),
                value: d.value,
                reason: d.reason.clone(),
            })
            .collect(),
        notes: score.notes.clone(),
        top_reason: top_reason(score),
        computed_at: Some(prost_types::Timestamp::from(computed_at)),
        ..Default::default()
    }
}

/// The wire form of one supplier's part in a score.
pub fn supplier(s: &SupplierContribution) -> pb::SupplierContribution {
    pb::SupplierContribution {
        country: s.country.clone(),
        share: s.share,
        global_share: s.global_share,
        governance: s.governance,
        governance_defaulted: s.governance_defaulted,
        contribution: s.contribution,
        governance_traced: s.governance_traced,
    }
}

/// The wire form of one scenario outcome, with the assumptions it rests on.
pub fn scenario_result(
    importer: &str,
    mineral: &str,
    outcome: &ScenarioOutcome,
    data_version: &str,
    rerouting_headroom: f64,
    now: std::time::SystemTime,
) -> pb::ScenarioResult {
    let mut assumptions = vec![format!(
        "other suppliers replace {:.0}% of the lost imports (rerouting_headroom)",
        rerouting_headroom * 100.0
    )];
    assumptions.extend(outcome.cover.missing.iter().map(|m| format!("missing: {m}")));
    pb::ScenarioResult {
        importer: importer.to_string(),
        mineral: mineral.to_string(),
        before: Some(risk_score(&outcome.before, data_version, now)),
        after: Some(risk_score(&outcome.after, data_version, now)),
        shortfall_tonnes: outcome.headline.as_ref().map(|s| s.shortfall_tonnes),
        days_of_cover: outcome.cover.days_of_shortfall,
        assumptions,
        shortfall_stage: outcome.headline.as_ref().map_or(0, |s| stage_to_pb(s.stage) as i32),
        stage_shortfalls: outcome
            .shortfalls
            .iter()
            .map(|s| pb::StageShortfall {
                stage: stage_to_pb(s.stage) as i32,
                lost_tonnes: s.lost_tonnes,
                rerouted_tonnes: s.rerouted_tonnes,
                shortfall_tonnes: s.shortfall_tonnes,
                consumption_tonnes: s.consumption_tonnes,
            })
            .collect(),
    }
}

/// A recorded score as a history point.
pub fn history_point(p: &supplyrisk_store::ScorePoint) -> pb::HistoryPoint {
    pb::HistoryPoint {
        data_year: u32::from(p.data_year),
        score: p.score,
        confidence: p.confidence,
        data_version: p.data_version.clone(),
        computed_at: p.computed_at.map(prost_types::Timestamp::from),
        kind: p.kind.clone(),
        as_of: p.as_of.map(supplyrisk_api::convert::date_to_pb),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use supplyrisk_engine::{Confidence, Methodology, Stage, SupplierContribution};

    fn score_with(top: SupplierContribution) -> Score {
        Score {
            method: Methodology::EuCrm,
            extended: false,
            mineral: "W".into(),
            importer: "JPN".into(),
            value: 2.0,
            components: Vec::new(),
            top_suppliers: vec![top],
            stage: Stage::Processing,
            stages: Vec::new(),
            data_year: 2024,
            confidence: Confidence {
                value: 1.0,
                reasons: Vec::new(),
            },
            defaulted: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn supplier(share: f64, global: Option<f64>) -> SupplierContribution {
        SupplierContribution {
            country: "CHN".into(),
            share,
            global_share: global,
            governance: 5.57,
            governance_defaulted: false,
            contribution: 1.5,
            ..Default::default()
        }
    }

    #[test]
    fn the_top_reason_says_whether_the_supplier_weighs_through_sourcing_or_world_supply() {
        assert_eq!(
            top_reason(&score_with(supplier(0.0, Some(0.8)))),
            "CHN supplies none of the sourcing but 80% of world supply (governance 5.57) and contributes 75% of the score"
        );
        assert_eq!(
            top_reason(&score_with(supplier(0.3, Some(0.8)))),
            "CHN supplies 30% of the sourcing and 80% of world supply (governance 5.57) and contributes 75% of the score"
        );
        assert_eq!(
            top_reason(&score_with(supplier(0.9, Some(0.8)))),
            "CHN supplies 90% (governance 5.57) and contributes 75% of the score"
        );
    }
}
