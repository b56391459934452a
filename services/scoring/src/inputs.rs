//! Supply snapshots → engine inputs.
//!
//! One snapshot per member of the importer (a country has one member): the
//! production, governance and policy parts are global and taken from the
//! first; trade is each member's own. Which production source each method
//! uses: eu-crm prefers USGS MCS (the source the JRC assessments cite for
//! most materials), falling back to World Mining Data; geopolrisk uses World
//! Mining Data, as its reference implementation does, falling back to USGS.

use supplyrisk_api::convert;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_domain::{Catalog, TradeFlow};
use supplyrisk_engine::{
    ExportRestriction, Governance, Importer, Methodology, PolicyMeasure, Stage, StageData, StageSource, SupplyInputs,
};

/// The method's own production source, preferred among equally recent ones.
fn prefers(method: Methodology, source: &str) -> bool {
    match method {
        Methodology::EuCrm => source.starts_with("USGS"),
        Methodology::GeoPolRisk => source == "WMD",
    }
}

/// Converts a quantity in `unit` to tonnes; `None` for units that are not mass.
pub fn to_tonnes(quantity: f64, unit: &str) -> Option<f64> {
    let u = unit.to_ascii_lowercase();
    let factor = if u.contains("carat") || u.contains("m3") || u.contains("cubic") {
        return None;
    } else if u.starts_with("million") {
        1e6
    } else if u.starts_with("thousand") {
        1e3
    } else if u.starts_with("kilogram") || u == "kg" {
        1e-3
    } else {
        1.0
    };
    Some(quantity * factor)
}

fn stage_of(value: i32) -> Option<Stage> {
    convert::stage_from_pb(value)
}

fn measure_of(value: i32) -> PolicyMeasure {
    match pb::PolicyMeasure::try_from(value).unwrap_or(pb::PolicyMeasure::Other) {
        pb::PolicyMeasure::Licensing => PolicyMeasure::Licensing,
        pb::PolicyMeasure::Quota => PolicyMeasure::Quota,
        pb::PolicyMeasure::Tax => PolicyMeasure::Tax,
        pb::PolicyMeasure::Ban => PolicyMeasure::Ban,
        pb::PolicyMeasure::Other | pb::PolicyMeasure::Unspecified => PolicyMeasure::Other,
    }
}

/// The governance `method` reads for one country, or `None` when it has
/// nothing the method uses.
///
/// GeoPolRisk takes only the PV series of the data year itself and never a
/// stand-in country's: its rule gives an exporter without a value for that
/// year the 0.5 default. eu-crm takes the six WGI dimensions (a territory
/// may borrow its sovereign's), with the PV series standing in for PV when
/// it is the newer of the two.
fn governance_of(g: &pb::CountryGovernance, method: Methodology, year: u16) -> Option<Governance> {
    let indicator = |d: pb::GovernanceDimension| {
        g.indicators
            .iter()
            .find(|i| i.dimension == d as i32)
            .map(|i| (i.year, i.estimate))
    };
    if method == Methodology::GeoPolRisk {
        if !g.fallback_from.is_empty() {
            return None;
        }
        let (_, pv) = indicator(pb::GovernanceDimension::PvSeries).filter(|(y, _)| *y == u32::from(year))?;
        return Some(Governance {
            pv_series: Some(pv),
            ..Default::default()
        });
    }
    use pb::GovernanceDimension as D;
    let pv = match (indicator(D::Pv), indicator(D::PvSeries)) {
        (Some((wgi_year, _)), Some(series)) if series.0 > wgi_year => Some(series),
        (Some(pv), _) => Some(pv),
        (None, series) => series,
    };
    let [cc, ge, rq, rl, va] = [D::Cc, D::Ge, D::Rq, D::Rl, D::Va].map(indicator);
    let used = [cc, ge, pv, rq, rl, va];
    // The oldest estimate used, so a score says when governance is older
    // than its data year.
    let oldest = used.iter().flatten().map(|(y, _)| *y).min()?;
    let [cc, ge, pv, rq, rl, va] = used.map(|x| x.map(|(_, e)| e));
    Some(Governance {
        cc,
        ge,
        pv,
        rq,
        rl,
        va,
        wgi_year: u16::try_from(oldest).ok(),
        fallback_from: (!g.fallback_from.is_empty()).then(|| g.fallback_from.clone()),
        ..Default::default()
    })
}

/// The source a method takes a stage's production from: one with a usable
/// figure, the newest first (a multi-year average ranks below a single year
/// of the same end year), then the method's own source.
///
/// GeoPolRisk reads World Mining Data only, as its reference
/// implementation does, whenever WMD has a usable figure for the mineral:
/// stage-supply studies would change which stage it takes its concentration
/// from.
fn chosen_source(method: Methodology, snap: &pb::SupplySnapshot, stage: Stage) -> Option<&pb::ProductionBySource> {
    let own_only = method == Methodology::GeoPolRisk
        && snap
            .production
            .iter()
            .any(|p| prefers(method, &p.source) && p.hhi.is_some());
    snap.production
        .iter()
        .filter(|p| stage_of(p.stage) == Some(stage) && (!own_only || prefers(method, &p.source)))
        .max_by_key(|p| (p.hhi.is_some(), p.year, p.first_year == 0, prefers(method, &p.source)))
}

/// Why [`chosen_source`] took `chosen`, in words.
fn source_reason(
    method: Methodology,
    snap: &pb::SupplySnapshot,
    stage: Stage,
    chosen: &pb::ProductionBySource,
) -> String {
    let others: Vec<String> = snap
        .production
        .iter()
        .filter(|p| stage_of(p.stage) == Some(stage) && p.source != chosen.source)
        .map(|p| {
            if p.first_year > 0 {
                format!("{} {}–{}", p.source, p.first_year, p.year)
            } else {
                format!("{} {}", p.source, p.year)
            }
        })
        .collect();
    if others.is_empty() {
        return "the only source for this stage".into();
    }
    let rank = |p: &pb::ProductionBySource| (p.hhi.is_some(), p.year, p.first_year == 0);
    let newer = snap
        .production
        .iter()
        .filter(|p| stage_of(p.stage) == Some(stage) && p.source != chosen.source)
        .all(|p| rank(p) < rank(chosen));
    if newer {
        format!("newest figures (also: {})", others.join(", "))
    } else if prefers(method, &chosen.source) {
        format!(
            "the {} method's own source among equally recent ones (also: {})",
            method.id(),
            others.join(", ")
        )
    } else {
        format!("equally recent sources (also: {})", others.join(", "))
    }
}

/// The members' trade rows as domain flows, each reported by its member.
///
/// Ingest checked every row before storing it, so a refusal here means the
/// two services disagree (a catalog or registry one has and the other has
/// not yet); such rows are left out and logged rather than scored unchecked.
fn recorded_flows(importer: &Importer, snapshots: &[pb::SupplySnapshot]) -> Vec<TradeFlow> {
    let mut flows = Vec::new();
    for (member, snap) in importer.members().iter().zip(snapshots) {
        for row in &snap.trade {
            match convert::partner_trade(row, member, snap.year) {
                Ok(flow) => flows.push(flow),
                Err(violations) => tracing::warn!(
                    mineral = %snap.mineral,
                    reporter = %member,
                    partner = %row.partner,
                    hs_code = %row.hs_code,
                    %violations,
                    "snapshot trade row refused; left out of the score"
                ),
            }
        }
    }
    flows
}

/// Builds engine inputs from one snapshot per member of `importer`.
pub fn build(
    method: Methodology,
    importer: &Importer,
    snapshots: &[pb::SupplySnapshot],
    agreements: &[String],
) -> Option<SupplyInputs> {
    let first = snapshots.first()?;
    let year = u16::try_from(first.year).ok().filter(|y| *y > 0)?;
    let mut inputs = SupplyInputs::new(&first.mineral, year, importer.clone());
    let catalog = Catalog::builtin();
    let mineral = catalog.get(&first.mineral);
    let chain = mineral.map(|m| catalog.chain(m)).unwrap_or_default();
    let mut stages: Vec<Stage> = chain.iter().map(|s| s.stage).collect();
    stages.extend(first.production.iter().filter_map(|p| stage_of(p.stage)));
    stages.sort();
    stages.dedup();
    // GeoPolRisk sums whatever flows the trade data hold, as its reference
    // implementation does: once a trade dataset covering the year is loaded,
    // a mineral without flows had no recorded imports. eu-crm keeps such a
    // mineral's trade unknown.
    let trade_known = first.trade_flow_count > 0 || (method == Methodology::GeoPolRisk && first.trade_year_loaded);
    if trade_known && first.trade_flow_count == 0 {
        inputs = inputs.no_flows_recorded();
    }
    let flows = recorded_flows(importer, snapshots);
    // Shares-only studies are turned into tonnes with a world total of the
    // same stage from another source, else the mine-stage world total.
    let mine_total = chosen_source(method, first, Stage::Mining)
        .filter(|p| !p.shares_only && p.world_total > 0.0)
        .and_then(|p| to_tonnes(p.world_total, &p.unit));
    for stage in stages {
        let link = chain.iter().find(|c| c.stage == stage);
        let mut data = StageData::new(stage);
        if let Some(label) = link.and_then(|c| c.label.clone()) {
            data = data.labelled(label);
        }
        if let Some(p) = chosen_source(method, first, stage) {
            let (why, scale) = if p.shares_only {
                let same_stage = first
                    .production
                    .iter()
                    .filter(|o| stage_of(o.stage) == Some(stage) && !o.shares_only && o.world_total > 0.0)
                    .find_map(|o| to_tonnes(o.world_total, &o.unit).map(|t| (t, o.source.clone())));
                match (same_stage, mine_total) {
                    (Some((t, from)), _) => (
                        format!("; shares scaled to tonnes with the {from} world total"),
                        Some(t),
                    ),
                    (None, Some(t)) => (
                        "; shares scaled to tonnes with the mine-stage world total (no tonnage for this stage)".into(),
                        Some(t),
                    ),
                    (None, None) => (
                        "; shares only: the importer's own output at this stage is unknown".into(),
                        None,
                    ),
                }
            } else {
                (String::new(), None)
            };
            for producer in &p.producers {
                let tonnes = match (p.shares_only, scale) {
                    (true, Some(total)) => producer.quantity.map(|s| s * total),
                    (true, None) => producer.quantity.filter(|_| !importer.contains(&producer.country)),
                    (false, _) => producer.quantity.and_then(|q| to_tonnes(q, &p.unit)),
                };
                data = data.producer(&producer.country, tonnes);
            }
            match (p.shares_only, scale) {
                (true, Some(total)) => data = data.world_total(total),
                (true, None) => data = data.world_total(1.0),
                (false, _) => {
                    if p.world_total_published
                        && let Some(t) = to_tonnes(p.world_total, &p.unit)
                    {
                        data = data.world_total(t);
                    }
                }
            }
            data = data.sourced(StageSource {
                name: p.source.clone(),
                year: u16::try_from(p.year).unwrap_or(year),
                first_year: u16::try_from(p.first_year).ok().filter(|y| *y > 0),
                why: format!("{}{why}", source_reason(method, first, stage, p)),
            });
        }
        // A stage has trade only where the catalog gives it HS codes: the
        // mine stage of a mineral traded as oxide is unknown, not empty.
        let traded = link.is_some_and(|c| !c.hs_codes.is_empty());
        if trade_known && traded {
            data = data.trade_reported();
            for flow in flows.iter().filter(|f| f.stage == stage) {
                data = data.recorded(flow);
            }
        }
        inputs = inputs.stage(data);
    }
    let mut seen = std::collections::BTreeSet::new();
    for snap in snapshots {
        for g in &snap.governance {
            if seen.insert(g.country.clone())
                && let Some(gov) = governance_of(g, method, year)
            {
                inputs = inputs.governance(&g.country, gov);
            }
        }
    }
    for e in &first.policy_events {
        let mut r = ExportRestriction::new(&e.id, &e.country, measure_of(e.measure), e.severity);
        r.targets = e.target_countries.clone();
        inputs = inputs.restriction(r);
    }
    for partner in agreements {
        inputs = inputs.trade_agreement(partner);
    }
    if let Some(eol) = mineral.and_then(|m| m.eol_rir.as_ref()) {
        inputs = inputs.eol_rir(eol.value);
    }
    if let Some(si) = mineral.and_then(|m| m.substitution_index.as_ref()) {
        inputs = inputs.substitution_index(si.value);
    }
    let stock: f64 = snapshots
        .iter()
        .flat_map(|s| s.stockpiles.iter())
        .filter(|s| importer.contains(&s.country))
        .map(|s| s.quantity_tonnes)
        .sum();
    if stock > 0.0 {
        inputs = inputs.stockpile_tonnes(stock);
    }
    Some(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert_to_tonnes() {
        assert_eq!(to_tonnes(2.0, "thousand metric tons"), Some(2000.0));
        assert_eq!(to_tonnes(500.0, "kilograms"), Some(0.5));
        assert_eq!(to_tonnes(7.0, "metric tons"), Some(7.0));
        assert_eq!(to_tonnes(1.0, "million carats"), None);
    }

    fn snapshot(mineral: &str) -> pb::SupplySnapshot {
        pb::SupplySnapshot {
            mineral: mineral.into(),
            year: 2024,
            importer: "JPN".into(),
            ..Default::default()
        }
    }

    fn source(name: &str, stage: Stage, year: u32, first_year: u32) -> pb::ProductionBySource {
        pb::ProductionBySource {
            source: name.into(),
            stage: convert::stage_to_pb(stage) as i32,
            unit: "t".into(),
            world_total: 100.0,
            world_total_published: true,
            producers: vec![pb::ProducerShare {
                country: "CHN".into(),
                quantity: Some(90.0),
                share: Some(0.9),
            }],
            hhi: Some(8100.0),
            year,
            first_year,
            ..Default::default()
        }
    }

    #[test]
    fn newest_figures_win_and_geopolrisk_keeps_to_world_mining_data() {
        let mut snap = snapshot("REE");
        snap.production = vec![
            source("USGS_MCS_2025", Stage::Mining, 2024, 0),
            source("WMD", Stage::Mining, 2024, 0),
            source("EU_CRM_2023", Stage::Processing, 2020, 2016),
            source("IEA_CMDE_2025", Stage::Processing, 2024, 0),
        ];
        let jpn = Importer::country("JPN");
        let eu = build(Methodology::EuCrm, &jpn, std::slice::from_ref(&snap), &[]).expect("inputs");
        let named =
            |i: &SupplyInputs, s: Stage| i.stage_data(s).and_then(|d| d.source.as_ref()).map(|x| x.name.clone());
        assert_eq!(named(&eu, Stage::Mining).as_deref(), Some("USGS_MCS_2025"));
        assert_eq!(
            named(&eu, Stage::Processing).as_deref(),
            Some("IEA_CMDE_2025"),
            "2024 before a 2016–2020 average"
        );
        let gpr = build(Methodology::GeoPolRisk, &jpn, &[snap], &[]).expect("inputs");
        assert_eq!(named(&gpr, Stage::Mining).as_deref(), Some("WMD"));
        assert_eq!(named(&gpr, Stage::Processing), None, "no WMD figures for separation");
    }

    #[test]
    fn catalog_terms_reach_the_engine_and_unknown_ones_stay_unknown() {
        let jpn = Importer::country("JPN");
        let cobalt = build(Methodology::EuCrm, &jpn, &[snapshot("CO")], &[]).expect("inputs");
        assert_eq!(cobalt.substitution_index, Some(0.98));
        assert_eq!(cobalt.eol_rir, Some(0.22));
        let rare_earths = build(Methodology::EuCrm, &jpn, &[snapshot("REE")], &[]).expect("inputs");
        assert_eq!(rare_earths.substitution_index, None, "no group value is published");
    }

    fn indicator(dimension: pb::GovernanceDimension, year: u32, estimate: f64) -> pb::GovernanceIndicator {
        pb::GovernanceIndicator {
            country: String::new(),
            year,
            dimension: dimension as i32,
            estimate,
        }
    }

    #[test]
    fn each_method_reads_its_own_governance() {
        use pb::GovernanceDimension as D;
        let mut snap = snapshot("CO");
        snap.production = vec![source("WMD", Stage::Mining, 2024, 0)];
        let mut six: Vec<pb::GovernanceIndicator> = [D::Cc, D::Ge, D::Rq, D::Rl, D::Va]
            .into_iter()
            .map(|d| indicator(d, 2022, 0.2))
            .collect();
        six.push(indicator(D::Pv, 2022, 0.4));
        let country = |iso: &str, indicators: Vec<pb::GovernanceIndicator>, fallback: &str| pb::CountryGovernance {
            country: iso.into(),
            year: 2024,
            indicators,
            fallback_from: fallback.into(),
        };
        let mut chn = six.clone();
        chn.push(indicator(D::PvSeries, 2024, -0.3));
        let mut cod = six.clone();
        cod.push(indicator(D::PvSeries, 2023, -1.5));
        snap.governance = vec![
            // The WGI and the series, the series two years newer.
            country("CHN", chn, ""),
            // Scored by the WGI, absent from the series (Taiwan's case).
            country("TWN", six.clone(), ""),
            // The series, but not for the data year.
            country("COD", cod, ""),
            // A territory scored with its sovereign's estimates.
            country("GIB", six.clone(), "GBR"),
        ];
        let jpn = Importer::country("JPN");
        let gpr = build(Methodology::GeoPolRisk, &jpn, std::slice::from_ref(&snap), &[]).expect("inputs");
        assert_eq!(gpr.governance["CHN"].pv_for_geopolrisk(), Some(-0.3));
        assert_eq!(gpr.governance["CHN"].estimates(), [None; 6], "nothing but the series");
        for absent in ["TWN", "COD", "GIB"] {
            assert!(
                !gpr.governance.contains_key(absent),
                "{absent}: GeoPolRisk's 0.5 default, not another value"
            );
        }
        let eu = build(Methodology::EuCrm, &jpn, &[snap], &[]).expect("inputs");
        assert_eq!(eu.governance["CHN"].pv, Some(-0.3), "the newer series stands in for PV");
        assert_eq!(eu.governance["CHN"].cc, Some(0.2));
        assert_eq!(eu.governance["CHN"].wgi_year, Some(2022), "the oldest estimate used");
        assert_eq!(eu.governance["TWN"].pv, Some(0.4));
        assert_eq!(eu.governance["GIB"].fallback_from.as_deref(), Some("GBR"));
    }
}
