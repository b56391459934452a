//! Engine scores → wire messages.

use supplyrisk_api::convert::stage_to_pb;
use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_engine::Score;

/// One sentence naming the largest contributor to a score.
pub fn top_reason(score: &Score) -> String {
    match score.top_suppliers.first() {
        Some(s) if score.value > 0.0 => format!(
            "{} supplies {:.0}% (governance {:.2}{}) and contributes {:.0}% of the score",
            s.country,
            s.share * 100.0,
            s.governance,
            if s.governance_defaulted { ", defaulted" } else { "" },
            100.0 * s.contribution / score.value
        ),
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
            id: score.method.id.to_string(),
            version: score.method.version.to_string(),
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
        top_suppliers: score
            .top_suppliers
            .iter()
            .map(|s| pb::SupplierContribution {
                country: s.country.clone(),
                share: s.share,
                global_share: s.global_share,
                governance: s.governance,
                governance_defaulted: s.governance_defaulted,
                contribution: s.contribution,
            })
            .collect(),
        stage: stage_to_pb(score.stage) as i32,
        stages: score
            .stages
            .iter()
            .map(|s| pb::StageScore {
                stage: stage_to_pb(s.stage) as i32,
                value: s.value,
                skipped_reason: s.skipped.clone().unwrap_or_default(),
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
    }
}
