//! Conversions between wire messages and domain records.
//!
//! Inbound conversions validate: they return the domain record or every
//! field violation, with field paths as the client sees them. Outbound
//! conversions cannot fail.

use supplyrisk_domain as domain;
use supplyrisk_domain::{Stage, Violations};

use crate::common::v1 as common;
use crate::ingest::v1 as pb;

/// Domain stage → wire stage.
pub fn stage_to_pb(stage: Stage) -> common::SupplyStage {
    match stage {
        Stage::Mining => common::SupplyStage::Mining,
        Stage::Processing => common::SupplyStage::Processing,
        Stage::Metal => common::SupplyStage::Metal,
        Stage::Manufacturing => common::SupplyStage::Manufacturing,
    }
}

/// Wire stage → domain stage (`None` for unspecified or unknown values).
pub fn stage_from_pb(value: i32) -> Option<Stage> {
    match common::SupplyStage::try_from(value).ok()? {
        common::SupplyStage::Mining => Some(Stage::Mining),
        common::SupplyStage::Processing => Some(Stage::Processing),
        common::SupplyStage::Metal => Some(Stage::Metal),
        common::SupplyStage::Manufacturing => Some(Stage::Manufacturing),
        common::SupplyStage::Unspecified => None,
    }
}

/// Wire flow direction → domain (`None` for unspecified or unknown values).
pub fn flow_from_pb(value: i32) -> Option<domain::FlowDirection> {
    match pb::FlowDirection::try_from(value).ok()? {
        pb::FlowDirection::Import => Some(domain::FlowDirection::Import),
        pb::FlowDirection::Export => Some(domain::FlowDirection::Export),
        pb::FlowDirection::ReImport => Some(domain::FlowDirection::ReImport),
        pb::FlowDirection::ReExport => Some(domain::FlowDirection::ReExport),
        pb::FlowDirection::Unspecified => None,
    }
}

/// Domain flow direction → wire.
pub fn flow_to_pb(flow: domain::FlowDirection) -> pb::FlowDirection {
    match flow {
        domain::FlowDirection::Import => pb::FlowDirection::Import,
        domain::FlowDirection::Export => pb::FlowDirection::Export,
        domain::FlowDirection::ReImport => pb::FlowDirection::ReImport,
        domain::FlowDirection::ReExport => pb::FlowDirection::ReExport,
    }
}

/// Wire trade flow → validated domain flow.
pub fn trade_flow(flow: &pb::TradeFlow) -> Result<domain::TradeFlow, Violations> {
    let period = flow.period.unwrap_or_default();
    let raw = domain::RawTradeFlow {
        reporter: flow.reporter.clone(),
        partner: flow.partner.clone(),
        hs_code: flow.hs_code.clone(),
        year: period.year,
        month: period.month,
        flow: flow_from_pb(flow.flow),
        value_usd: flow.value_usd,
        net_weight_kg: flow.net_weight_kg,
        source: flow.source.clone(),
    };
    let mut result = domain::TradeFlow::validate(&raw);
    if flow.period.is_none() {
        let mut v = result.err().unwrap_or_default();
        v.0.retain(|x| !x.field.starts_with("period"));
        v.push("period", "is required");
        result = Err(v);
    }
    result
}

/// Domain flow → the wire row of a snapshot, as its importer sees it.
pub fn partner_trade_to_pb(flow: &domain::TradeFlow) -> pb::PartnerTrade {
    pb::PartnerTrade {
        partner: flow.partner.to_string(),
        hs_code: flow.hs_code.to_string(),
        stage: stage_to_pb(flow.stage) as i32,
        flow: flow_to_pb(flow.flow) as i32,
        value_usd: flow.value_usd,
        net_weight_kg: flow.net_weight_kg,
        source: flow.source.clone(),
        period: Some(common::Period {
            year: u32::from(flow.period.year),
            month: u32::from(flow.period.month),
        }),
    }
}

/// A snapshot's trade row → the validated domain flow of `reporter` (the
/// snapshot's importer). A row without a period, from a server older than
/// the field, is read as reported for `snapshot_year`.
pub fn partner_trade(
    row: &pb::PartnerTrade,
    reporter: &str,
    snapshot_year: u32,
) -> Result<domain::TradeFlow, Violations> {
    let period = row.period.unwrap_or(common::Period {
        year: snapshot_year,
        month: 0,
    });
    domain::TradeFlow::validate(&domain::RawTradeFlow {
        reporter: reporter.to_string(),
        partner: row.partner.clone(),
        hs_code: row.hs_code.clone(),
        year: period.year,
        month: period.month,
        flow: flow_from_pb(row.flow),
        value_usd: row.value_usd,
        net_weight_kg: row.net_weight_kg,
        source: row.source.clone(),
    })
}

/// Wire production stat → validated domain stat.
pub fn production_stat(stat: &pb::ProductionStat) -> Result<domain::ProductionStat, Violations> {
    domain::ProductionStat::validate(&domain::RawProductionStat {
        mineral: stat.mineral.clone(),
        stage: stage_from_pb(stat.stage),
        country: stat.country.clone(),
        year: stat.year,
        first_year: (stat.first_year != 0).then_some(stat.first_year),
        quantity: stat.quantity,
        unit: stat.unit.clone(),
        source: stat.source.clone(),
    })
}

/// Domain production stat → wire.
pub fn production_stat_to_pb(stat: &domain::ProductionStat) -> pb::ProductionStat {
    pb::ProductionStat {
        mineral: stat.mineral.to_string(),
        stage: stage_to_pb(stat.stage) as i32,
        country: stat.country.to_string(),
        year: u32::from(stat.year),
        quantity: stat.quantity,
        unit: stat.unit.clone(),
        source: stat.source.clone(),
        first_year: stat.first_year.map(u32::from).unwrap_or(0),
    }
}

/// Wire dimension → domain (`None` for unspecified or unknown values).
pub fn dimension_from_pb(value: i32) -> Option<domain::GovernanceDimension> {
    use domain::GovernanceDimension as D;
    match pb::GovernanceDimension::try_from(value).ok()? {
        pb::GovernanceDimension::Cc => Some(D::Cc),
        pb::GovernanceDimension::Ge => Some(D::Ge),
        pb::GovernanceDimension::Pv => Some(D::Pv),
        pb::GovernanceDimension::Rq => Some(D::Rq),
        pb::GovernanceDimension::Rl => Some(D::Rl),
        pb::GovernanceDimension::Va => Some(D::Va),
        pb::GovernanceDimension::PvSeries => Some(D::PvSeries),
        pb::GovernanceDimension::Unspecified => None,
    }
}

/// Domain dimension → wire.
pub fn dimension_to_pb(d: domain::GovernanceDimension) -> pb::GovernanceDimension {
    use domain::GovernanceDimension as D;
    match d {
        D::Cc => pb::GovernanceDimension::Cc,
        D::Ge => pb::GovernanceDimension::Ge,
        D::Pv => pb::GovernanceDimension::Pv,
        D::Rq => pb::GovernanceDimension::Rq,
        D::Rl => pb::GovernanceDimension::Rl,
        D::Va => pb::GovernanceDimension::Va,
        D::PvSeries => pb::GovernanceDimension::PvSeries,
    }
}

/// Wire governance indicator → validated domain indicator.
pub fn governance(ind: &pb::GovernanceIndicator) -> Result<domain::GovernanceIndicator, Violations> {
    domain::GovernanceIndicator::validate(&domain::RawGovernanceIndicator {
        country: ind.country.clone(),
        year: ind.year,
        dimension: dimension_from_pb(ind.dimension),
        estimate: ind.estimate,
    })
}

fn date_triple(d: &Option<common::Date>) -> Option<(i32, i32, i32)> {
    d.map(|d| (d.year, d.month, d.day))
}

/// Domain date → wire.
pub fn date_to_pb(d: domain::Date) -> common::Date {
    common::Date {
        year: i32::from(d.year),
        month: i32::from(d.month),
        day: i32::from(d.day),
    }
}

/// Wire date → domain date.
pub fn date(d: &common::Date) -> Result<domain::Date, String> {
    domain::Date::new(d.year, d.month, d.day)
}

/// Wire measure → domain (`None` for unspecified or unknown values).
pub fn measure_from_pb(value: i32) -> Option<domain::PolicyMeasure> {
    use domain::PolicyMeasure as M;
    match pb::PolicyMeasure::try_from(value).ok()? {
        pb::PolicyMeasure::Licensing => Some(M::Licensing),
        pb::PolicyMeasure::Quota => Some(M::Quota),
        pb::PolicyMeasure::Tax => Some(M::Tax),
        pb::PolicyMeasure::Ban => Some(M::Ban),
        pb::PolicyMeasure::Other => Some(M::Other),
        pb::PolicyMeasure::Unspecified => None,
    }
}

/// Domain measure → wire.
pub fn measure_to_pb(m: domain::PolicyMeasure) -> pb::PolicyMeasure {
    use domain::PolicyMeasure as M;
    match m {
        M::Licensing => pb::PolicyMeasure::Licensing,
        M::Quota => pb::PolicyMeasure::Quota,
        M::Tax => pb::PolicyMeasure::Tax,
        M::Ban => pb::PolicyMeasure::Ban,
        M::Other => pb::PolicyMeasure::Other,
    }
}

/// Wire policy event → validated domain event.
pub fn policy_event(e: &pb::PolicyEvent) -> Result<domain::PolicyEvent, Violations> {
    domain::PolicyEvent::validate(&domain::RawPolicyEvent {
        id: e.id.clone(),
        country: e.country.clone(),
        minerals: e.minerals.clone(),
        hs_codes: e.hs_codes.clone(),
        measure: measure_from_pb(e.measure),
        target_countries: e.target_countries.clone(),
        effective_from: date_triple(&e.effective_from),
        effective_until: date_triple(&e.effective_until),
        suspensions: e
            .suspensions
            .iter()
            .map(|s| (date_triple(&s.from).unwrap_or((0, 0, 0)), date_triple(&s.until)))
            .collect(),
        severity: e.severity,
        source_reference: e.source_reference.clone(),
        summary: e.summary.clone(),
    })
}

/// Domain policy event → wire.
pub fn policy_event_to_pb(e: &domain::PolicyEvent) -> pb::PolicyEvent {
    pb::PolicyEvent {
        id: e.id.clone(),
        country: e.country.to_string(),
        minerals: e.minerals.iter().map(ToString::to_string).collect(),
        hs_codes: e.hs_codes.clone(),
        measure: measure_to_pb(e.measure) as i32,
        target_countries: e.target_countries.iter().map(ToString::to_string).collect(),
        effective_from: Some(date_to_pb(e.effective_from)),
        effective_until: e.effective_until.map(date_to_pb),
        severity: e.severity,
        source_reference: e.source_reference.clone(),
        summary: e.summary.clone(),
        suspensions: e
            .suspensions
            .iter()
            .map(|s| pb::Suspension {
                from: Some(date_to_pb(s.from)),
                until: s.until.map(date_to_pb),
            })
            .collect(),
    }
}

/// Wire stockpile → validated domain stockpile.
pub fn stockpile(s: &pb::Stockpile) -> Result<domain::Stockpile, Violations> {
    domain::Stockpile::validate(&domain::RawStockpile {
        country: s.country.clone(),
        mineral: s.mineral.clone(),
        quantity_tonnes: s.quantity_tonnes,
        as_of: date_triple(&s.as_of),
    })
}

/// Domain stockpile → wire.
pub fn stockpile_to_pb(s: &domain::Stockpile) -> pb::Stockpile {
    pb::Stockpile {
        country: s.country.to_string(),
        mineral: s.mineral.to_string(),
        quantity_tonnes: s.quantity_tonnes,
        as_of: Some(date_to_pb(s.as_of)),
    }
}

/// Domain reported statistic → wire.
pub fn reported_statistic_to_pb(s: &domain::ReportedStatistic) -> pb::ReportedStatistic {
    pb::ReportedStatistic {
        country: s.country.to_string(),
        category: s.category.clone(),
        statistic: s.statistic.clone(),
        year: u32::from(s.year),
        unit: s.unit.clone(),
        value: s.value,
        qualifier: s.qualifier.clone(),
        bound: s.bound,
        major_sources: s.major_sources.iter().map(ToString::to_string).collect(),
        source: s.source.clone(),
    }
}

/// Catalog mineral → wire.
pub fn mineral_to_pb(m: &domain::Mineral) -> pb::Mineral {
    pb::Mineral {
        id: m.id.clone(),
        name: m.name.clone(),
        stages: m
            .stages
            .iter()
            .map(|s| pb::StageCodes {
                stage: stage_to_pb(s.stage) as i32,
                hs_codes: s.hs_codes.clone(),
            })
            .collect(),
        applications: m.applications.clone(),
        parent: m.parent.clone().unwrap_or_default(),
        aliases: m.aliases.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(month: u8) -> domain::TradeFlow {
        domain::TradeFlow::validate(&domain::RawTradeFlow {
            reporter: "JPN".into(),
            partner: "CHN".into(),
            hs_code: "284690".into(),
            year: 2023,
            month: u32::from(month),
            flow: Some(domain::FlowDirection::Import),
            value_usd: 9_000.0,
            net_weight_kg: Some(1_000.0),
            source: "BACI".into(),
        })
        .expect("valid")
    }

    #[test]
    fn a_snapshot_row_reads_back_as_the_flow_it_came_from() {
        let flow = recorded(4);
        let row = partner_trade_to_pb(&flow);
        assert_eq!(row.period, Some(common::Period { year: 2023, month: 4 }));
        assert_eq!(partner_trade(&row, "JPN", 2023), Ok(flow));
    }

    #[test]
    fn a_row_without_a_period_is_read_as_the_snapshot_year() {
        let mut row = partner_trade_to_pb(&recorded(4));
        row.period = None;
        let flow = partner_trade(&row, "JPN", 2022).expect("valid");
        assert_eq!((flow.period.year, flow.period.month), (2022, 0));
    }

    #[test]
    fn a_row_the_registry_refuses_names_the_field() {
        let mut row = partner_trade_to_pb(&recorded(0));
        row.partner = "XXQ".into();
        let refused = partner_trade(&row, "JPN", 2023).expect_err("unknown partner");
        assert!(refused.0.iter().any(|v| v.field == "partner"), "{refused}");
    }
}
