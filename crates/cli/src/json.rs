//! JSON forms of the API messages for `--output json`: every field a person
//! sees in the table, by name; absent values are `null`, never 0.

use serde_json::{Value, json};
use supplyrisk_api::alerting::v1 as apb;
use supplyrisk_api::common::v1 as common;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_api::scoring::v1 as spb;

/// An optional number: `null` when absent.
pub fn opt(value: Option<f64>) -> Value {
    value.map_or(Value::Null, Value::from)
}

/// A timestamp as RFC 3339 text, `null` when absent.
pub fn timestamp(t: &Option<prost_types::Timestamp>) -> Value {
    t.as_ref().map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// A date as `YYYY-MM-DD`, `null` when absent.
pub fn date(d: &Option<common::Date>) -> Value {
    d.map_or(Value::Null, |d| {
        Value::String(format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
    })
}

/// `SUPPLY_STAGE_PROCESSING` → `processing`.
pub fn stage_name(stage: i32) -> String {
    common::SupplyStage::try_from(stage)
        .map(|s| s.as_str_name().trim_start_matches("SUPPLY_STAGE_").to_lowercase())
        .unwrap_or_default()
}

/// `POLICY_MEASURE_BAN` → `ban`.
pub fn measure_name(measure: i32) -> String {
    pb::PolicyMeasure::try_from(measure)
        .map(|m| m.as_str_name().trim_start_matches("POLICY_MEASURE_").to_lowercase())
        .unwrap_or_default()
}

/// `FLOW_DIRECTION_IMPORT` → `import`.
fn flow_name(flow: i32) -> String {
    pb::FlowDirection::try_from(flow)
        .map(|f| f.as_str_name().trim_start_matches("FLOW_DIRECTION_").to_lowercase())
        .unwrap_or_default()
}

/// `GOVERNANCE_DIMENSION_PV` → `PV` (the WGI abbreviations).
fn dimension_name(dimension: i32) -> String {
    pb::GovernanceDimension::try_from(dimension)
        .map(|d| d.as_str_name().trim_start_matches("GOVERNANCE_DIMENSION_").to_string())
        .unwrap_or_default()
}

/// `DATASET_FORMAT_BACI` → `BACI`.
fn format_name(format: i32) -> String {
    pb::DatasetFormat::try_from(format)
        .map(|f| f.as_str_name().trim_start_matches("DATASET_FORMAT_").to_string())
        .unwrap_or_default()
}

/// An explained score.
pub fn score(s: &spb::RiskScore) -> Value {
    let m = s.methodology.clone().unwrap_or_default();
    json!({
        "mineral": s.mineral,
        "importer": s.importer,
        "score": s.score,
        "methodology": { "id": m.id, "version": m.version },
        "stage": stage_name(s.stage),
        "stages": s.stages.iter().map(|st| json!({
            "stage": stage_name(st.stage),
            "value": opt(st.value),
            "skipped_reason": st.skipped_reason,
            "bottleneck": st.bottleneck,
            "label": st.label,
            "production_source": st.production_source,
            "production_year": st.production_year,
            "production_first_year": st.production_first_year,
            "source_reason": st.source_reason,
        })).collect::<Vec<_>>(),
        "data_year": s.data_year,
        "as_of": date(&s.as_of),
        "data_version": s.data_version,
        "confidence": s.confidence,
        "top_reason": s.top_reason,
        "components": s.components.iter().map(|c| json!({
            "name": c.name, "value": c.value, "meaning": c.meaning,
        })).collect::<Vec<_>>(),
        "top_suppliers": s.top_suppliers.iter().map(supplier).collect::<Vec<_>>(),
        "confidence_reasons": s.confidence_reasons.iter().map(|r| json!({
            "input": r.input, "coverage": r.coverage, "detail": r.detail,
        })).collect::<Vec<_>>(),
        "defaulted": s.defaulted.iter().map(|d| json!({
            "term": d.term, "value": d.value, "reason": d.reason,
        })).collect::<Vec<_>>(),
        "notes": s.notes,
        "computed_at": timestamp(&s.computed_at),
    })
}

/// A supplier's part in a score.
pub fn supplier(t: &spb::SupplierContribution) -> Value {
    json!({
        "country": t.country, "share": t.share, "global_share": opt(t.global_share),
        "governance": t.governance, "governance_defaulted": t.governance_defaulted,
        "contribution": t.contribution,
    })
}

/// One point of a score history.
pub fn history_point(p: &spb::HistoryPoint) -> Value {
    json!({
        "kind": p.kind,
        "data_year": p.data_year,
        "score": p.score,
        "confidence": p.confidence,
        "data_version": p.data_version,
        "computed_at": timestamp(&p.computed_at),
        "as_of": date(&p.as_of),
    })
}

/// One importer × mineral outcome of a scenario.
pub fn scenario_result(r: &spb::ScenarioResult) -> Value {
    let before = r.before.as_ref().map(|s| s.score);
    let after = r.after.as_ref().map(|s| s.score);
    json!({
        "importer": r.importer,
        "mineral": r.mineral,
        "score_before": opt(before),
        "score_after": opt(after),
        "change": opt(before.zip(after).map(|(b, a)| a - b)),
        "shortfall_tonnes": opt(r.shortfall_tonnes),
        "shortfall_stage": r.shortfall_tonnes.map(|_| stage_name(r.shortfall_stage)),
        "stage_shortfalls": r.stage_shortfalls.iter().map(|s| json!({
            "stage": stage_name(s.stage),
            "lost_tonnes": s.lost_tonnes,
            "rerouted_tonnes": s.rerouted_tonnes,
            "shortfall_tonnes": s.shortfall_tonnes,
            "consumption_tonnes": s.consumption_tonnes,
        })).collect::<Vec<_>>(),
        "days_of_cover": opt(r.days_of_cover),
        "assumptions": r.assumptions,
        "before": r.before.as_ref().map_or(Value::Null, score),
        "after": r.after.as_ref().map_or(Value::Null, score),
    })
}

/// A policy event (export restriction).
pub fn policy_event(e: &pb::PolicyEvent) -> Value {
    json!({
        "id": e.id,
        "country": e.country,
        "measure": measure_name(e.measure),
        "minerals": e.minerals,
        "hs_codes": e.hs_codes,
        "target_countries": e.target_countries,
        "effective_from": date(&e.effective_from),
        "effective_until": date(&e.effective_until),
        "suspensions": suspensions(e),
        "severity": e.severity,
        "summary": e.summary,
        "source_reference": e.source_reference,
    })
}

/// A policy event's suspensions as `{from, until}` (until `null` = open).
pub fn suspensions(e: &pb::PolicyEvent) -> Vec<Value> {
    e.suspensions
        .iter()
        .map(|s| json!({ "from": date(&s.from), "until": date(&s.until) }))
        .collect()
}

/// The production of a mineral as one source reports it.
pub fn production(p: &pb::ProductionBySource) -> Value {
    json!({
        "source": p.source,
        "stage": stage_name(p.stage),
        "unit": p.unit,
        "world_total": p.world_total,
        "world_total_published": p.world_total_published,
        "hhi": opt(p.hhi),
        "unattributed_share": p.unattributed_share,
        "withheld_countries": p.withheld_countries,
        "producers": p.producers.iter().map(|x| json!({
            "country": x.country, "quantity": opt(x.quantity), "share": opt(x.share),
        })).collect::<Vec<_>>(),
    })
}

/// A supply snapshot.
pub fn snapshot(s: &pb::SupplySnapshot) -> Value {
    json!({
        "mineral": s.mineral,
        "year": s.year,
        "importer": s.importer,
        "data_version": s.data_version,
        "available_years": s.available_years,
        "production": s.production.iter().map(production).collect::<Vec<_>>(),
        "trade_flow_count": s.trade_flow_count,
        "trade": s.trade.iter().map(|t| json!({
            "partner": t.partner, "hs_code": t.hs_code, "stage": stage_name(t.stage),
            "flow": flow_name(t.flow), "value_usd": t.value_usd,
            "net_weight_kg": opt(t.net_weight_kg), "source": t.source,
        })).collect::<Vec<_>>(),
        "governance": s.governance.iter().map(|g| json!({
            "country": g.country, "year": g.year, "fallback_from": g.fallback_from,
            "indicators": g.indicators.iter().map(|i| json!({
                "dimension": dimension_name(i.dimension), "estimate": i.estimate,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "policy_events": s.policy_events.iter().map(policy_event).collect::<Vec<_>>(),
        "stockpiles": s.stockpiles.iter().map(|x| json!({
            "country": x.country, "mineral": x.mineral,
            "quantity_tonnes": x.quantity_tonnes, "as_of": date(&x.as_of),
        })).collect::<Vec<_>>(),
        "reported_statistics": s.reported_statistics.iter().map(|r| json!({
            "country": r.country, "category": r.category, "statistic": r.statistic,
            "year": r.year, "unit": r.unit, "value": opt(r.value),
            "qualifier": r.qualifier, "bound": opt(r.bound),
            "major_sources": r.major_sources, "source": r.source,
        })).collect::<Vec<_>>(),
        "gaps": s.gaps,
    })
}

/// The final summary of an import.
pub fn import_summary(file: &str, seconds: f64, s: &pb::ImportSummary) -> Value {
    let t = s.totals.unwrap_or_default();
    json!({
        "file": file,
        "upload_id": s.upload_id,
        "format": format_name(s.format),
        "source_name": s.source_name,
        "rows_read": t.rows_read,
        "accepted": t.accepted,
        "unchanged": t.unchanged,
        "rejected": t.rejected,
        "skipped": t.skipped,
        "skipped_by_kind": s.skipped_by_kind,
        "replayed": s.replayed,
        "seconds": seconds,
        "rejected_rows": s.rejected_rows.iter().map(|r| json!({
            "line": r.line, "column": r.column, "reason": r.reason,
        })).collect::<Vec<_>>(),
    })
}

/// An alert.
pub fn alert(a: &apb::Alert) -> Value {
    json!({
        "id": a.id,
        "subscription_id": a.subscription_id,
        "rule": a.rule,
        "mineral": a.mineral,
        "importer": a.importer,
        "methodology": a.methodology,
        "old_score": opt(a.old_score),
        "new_score": a.new_score,
        "delta": a.delta,
        "top_reason": a.top_reason,
        "create_time": timestamp(&a.create_time),
        "acknowledged": a.acknowledged,
        "cause_event_id": a.cause_event_id,
        "policy_event_id": a.policy_event_id,
        "policy_summary": a.policy_summary,
        "webhook_delivery": a.webhook_delivery.as_ref().map(|d| json!({
            "status": delivery_status_name(d.status),
            "attempt_count": d.attempt_count,
            "next_attempt_time": timestamp(&d.next_attempt_time),
            "attempts": d.attempts.iter().map(|t| json!({
                "time": timestamp(&t.time),
                "http_status": (t.http_status != 0).then_some(t.http_status),
                "error": (!t.error.is_empty()).then_some(t.error.as_str()),
                "duration_ms": t.duration_ms,
            })).collect::<Vec<_>>(),
        })),
    })
}

/// `DELIVERY_STATUS_DEAD_LETTERED` → `dead-lettered`.
pub fn delivery_status_name(status: i32) -> String {
    apb::DeliveryStatus::try_from(status)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("DELIVERY_STATUS_")
                .to_lowercase()
                .replace('_', "-")
        })
        .unwrap_or_default()
}

/// One alert rule.
fn rule(r: &apb::Rule) -> Value {
    match &r.kind {
        Some(apb::rule::Kind::Threshold(t)) => {
            json!({ "kind": "threshold", "value": t.value, "hysteresis": t.hysteresis })
        }
        Some(apb::rule::Kind::Delta(d)) => json!({ "kind": "delta", "min_delta": d.min_delta }),
        Some(apb::rule::Kind::Policy(p)) => {
            json!({ "kind": "policy", "min_supplier_share": p.min_supplier_share })
        }
        None => Value::Null,
    }
}

/// A subscription.
pub fn subscription(s: &apb::Subscription) -> Value {
    let f = s.filter.clone().unwrap_or_default();
    json!({
        "id": s.id,
        "name": s.name,
        "filter": {
            "minerals": f.minerals,
            "importers": f.importers,
            "applications": f.applications,
            "methodology": f.methodology,
        },
        "rules": s.rules.iter().map(rule).collect::<Vec<_>>(),
        "webhook": s.webhook.as_ref().map(|w| json!({
            "url": w.url,
            "disabled": w.disabled,
            "disabled_reason": w.disabled_reason,
        })),
        "create_time": timestamp(&s.create_time),
        "update_time": timestamp(&s.update_time),
        "last_error": (!s.last_error.is_empty()).then(|| s.last_error.clone()),
        "last_error_time": timestamp(&s.last_error_time),
    })
}
