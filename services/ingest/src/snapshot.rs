//! `GetSupplySnapshot`: everything a scorer needs for one mineral and year,
//! cached by data version in Redis and in process.
//!
//! The cache key carries the data version (the id of the last event that
//! changed the mineral or governance), so a write invalidates by making a
//! new key; nothing ever scans for stale entries.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use prost::Message;
use supplyrisk_api::convert;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_domain::country::CountryError;
use supplyrisk_domain::snapshot::{ProducerRow, concentration};
use supplyrisk_domain::{Catalog, Iso3, MineralId, ProductionStat, Stage, Violations, WorldTotal, records};
use supplyrisk_grpc::{ServiceError, ServiceResult};
use supplyrisk_store::{SnapshotData, Store, keys};

use supplyrisk_domain::records::SHARE_UNIT;

/// One source's figures for one stage: its producers and its published total.
#[derive(Default)]
struct SourceFigures<'a> {
    rows: Vec<&'a ProductionStat>,
    total: Option<&'a WorldTotal>,
}

/// Serves snapshots with a bounded in-process cache in front of Redis.
#[derive(Clone)]
pub struct SnapshotService {
    store: Store,
    /// Least recently used snapshots go first when full.
    local: Arc<Mutex<LruCache<String, Arc<pb::SupplySnapshot>>>>,
}

impl SnapshotService {
    /// A service over `store` keeping up to `capacity` snapshots in memory.
    pub fn new(store: Store, capacity: usize) -> Self {
        let entries = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            store,
            local: Arc::new(Mutex::new(LruCache::new(entries))),
        }
    }

    /// The snapshot for a request, validated.
    pub async fn get(&self, req: pb::GetSupplySnapshotRequest) -> ServiceResult<pb::SupplySnapshot> {
        let mut v = Violations::new();
        let mineral = match MineralId::parse(&req.mineral) {
            Ok(m) => Some(m),
            Err(supplyrisk_domain::catalog::MineralError::Unknown { input, suggestions }) => {
                return Err(ServiceError::NotFound {
                    resource_type: "mineral",
                    name: input,
                    suggestions,
                });
            }
            Err(e) => {
                v.push("mineral", e.to_string());
                None
            }
        };
        if req.year != 0 && !(records::MIN_YEAR..=records::MAX_YEAR).contains(&req.year) {
            v.push(
                "year",
                format!(
                    "must be 0 (latest) or within {}..={}",
                    records::MIN_YEAR,
                    records::MAX_YEAR
                ),
            );
        }
        let importer = if req.importer.is_empty() {
            None
        } else {
            match Iso3::parse(&req.importer) {
                Ok(c) => Some(c),
                Err(CountryError::Unknown { code, suggestions }) => {
                    return Err(ServiceError::NotFound {
                        resource_type: "country",
                        name: code,
                        suggestions,
                    });
                }
                Err(e) => {
                    v.push("importer", e.to_string());
                    None
                }
            }
        };
        let stage = convert::stage_from_pb(req.stage);
        if req.stage != 0 && stage.is_none() {
            v.push("stage", "is not a known supply stage");
        }
        let as_of = match &req.as_of {
            Some(d) => match convert::date(d) {
                Ok(d) => Some(d),
                Err(e) => {
                    v.push("as_of", e);
                    None
                }
            },
            None => None,
        };
        if !v.is_empty() {
            return Err(v.into());
        }
        let mineral = mineral.ok_or_else(|| ServiceError::Internal("mineral checked".into()))?;
        let entry = mineral.mineral();
        let home = Catalog::builtin().trade_home(entry).id.clone();
        let year = (req.year != 0).then_some(req.year as u16);
        let importer_code = importer.as_ref().map(Iso3::as_str);

        let mut minerals = vec![mineral.as_str()];
        if home != mineral.as_str() {
            minerals.push(home.as_str());
        }
        let version = self.store.data_version(&minerals).await?;
        let key = keys::snapshot_cache(
            mineral.as_str(),
            year.unwrap_or(0),
            importer_code.unwrap_or("-"),
            &format!(
                "{}:{}",
                stage.map_or("all", |s| s.as_str()),
                as_of.map_or_else(|| "year".to_string(), |d| d.to_string())
            ),
            &version,
        );
        if let Some(hit) = self.recalled(&key) {
            return Ok((*hit).clone());
        }
        if let Some(bytes) = self.store.cached_snapshot(&key).await?
            && let Ok(snap) = pb::SupplySnapshot::decode(bytes.as_slice())
        {
            self.remember(key, &snap);
            return Ok(snap);
        }
        let data = self
            .store
            .snapshot_data(mineral.as_str(), &home, year, importer.as_ref())
            .await?;
        let mut snap = assemble(mineral.as_str(), importer_code.unwrap_or(""), stage, as_of, data);
        snap.data_version = version;
        // Sharing with other replicas is not worth a round trip on the
        // caller's path (a data change makes every reader miss at once).
        let (store, shared_key, bytes) = (self.store.clone(), key.clone(), snap.encode_to_vec());
        tokio::spawn(async move {
            if let Err(e) = store.cache_snapshot(&shared_key, &bytes).await {
                tracing::debug!(error = %e, "snapshot not cached in Redis");
            }
        });
        self.remember(key, &snap);
        Ok(snap)
    }

    /// The snapshot kept under `key`; a hit makes it the most recently used.
    fn recalled(&self, key: &str) -> Option<Arc<pb::SupplySnapshot>> {
        self.local.lock().ok().and_then(|mut m| m.get(key).cloned())
    }

    fn remember(&self, key: String, snap: &pb::SupplySnapshot) {
        // Keys embed the data version, so entries of old versions are never
        // used again and are the first to go.
        if let Ok(mut map) = self.local.lock() {
            map.put(key, Arc::new(snap.clone()));
        }
    }
}

/// Builds the wire snapshot from stored inputs (pure); `stage` keeps only
/// that stage's production and trade; `as_of` keeps the policy events in
/// force that day (else those in force at any time in the year).
pub fn assemble(
    mineral: &str,
    importer: &str,
    stage: Option<supplyrisk_domain::Stage>,
    as_of: Option<supplyrisk_domain::Date>,
    mut data: SnapshotData,
) -> pb::SupplySnapshot {
    if let Some(only) = stage {
        data.production.retain(|p| p.stage == only);
        data.world_totals.retain(|t| t.stage == only);
        data.trade.retain(|t| t.stage == only);
    }
    let mut gaps = Vec::new();
    let Some(year) = data.year else {
        gaps.push(format!("no production or trade data for {mineral}"));
        return pb::SupplySnapshot {
            mineral: mineral.to_string(),
            importer: importer.to_string(),
            gaps,
            ..Default::default()
        };
    };
    let mut by_source: BTreeMap<(String, Stage), SourceFigures> = BTreeMap::new();
    for p in &data.production {
        by_source.entry((p.source.clone(), p.stage)).or_default().rows.push(p);
    }
    for t in &data.world_totals {
        by_source.entry((t.source.clone(), t.stage)).or_default().total = Some(t);
    }
    let mut production = Vec::new();
    for ((source, stage), SourceFigures { rows, total }) in by_source {
        let published = total.and_then(|t| t.quantity);
        let named: Vec<ProducerRow> = rows
            .iter()
            .map(|r| ProducerRow {
                country: r.country.to_string(),
                quantity: r.quantity,
            })
            .collect();
        let mut units: Vec<&str> = rows
            .iter()
            .map(|r| r.unit.as_str())
            .chain(total.map(|t| t.unit.as_str()))
            .collect();
        units.sort_unstable();
        units.dedup();
        if units.len() > 1 {
            gaps.push(format!(
                "{source} {} rows mix units {}; shares may be wrong",
                stage.as_str(),
                units.join(", ")
            ));
        }
        let c = concentration(&named, published);
        let figures_year = rows.first().map(|r| r.year).or(total.map(|t| t.year)).unwrap_or(year);
        let first_year = rows.iter().find_map(|r| r.first_year);
        if let Some(first) = first_year {
            gaps.push(format!(
                "{source} {}: a {first}–{figures_year} average, not {year} figures",
                stage.as_str()
            ));
        } else if figures_year != year {
            gaps.push(format!(
                "{source} {}: latest figures are for {figures_year}, not {year}",
                stage.as_str()
            ));
        }
        if c.hhi.is_none() {
            gaps.push(format!(
                "{source} {}: no usable production figure in {year}",
                stage.as_str()
            ));
        }
        if !c.withheld.is_empty() {
            gaps.push(format!(
                "{source} {}: withheld for {}",
                stage.as_str(),
                c.withheld.join(", ")
            ));
        }
        production.push(pb::ProductionBySource {
            source,
            stage: convert::stage_to_pb(stage) as i32,
            unit: units.first().map(|u| u.to_string()).unwrap_or_default(),
            world_total: c.world_total,
            world_total_published: c.world_total_published,
            producers: c
                .producers
                .iter()
                .map(|p| pb::ProducerShare {
                    country: p.country.clone(),
                    quantity: p.quantity,
                    share: p.share,
                })
                .collect(),
            hhi: c.hhi,
            unattributed_share: c.unattributed_share,
            withheld_countries: c.withheld,
            year: u32::from(figures_year),
            first_year: first_year.map(u32::from).unwrap_or(0),
            shares_only: units.len() == 1 && units[0] == SHARE_UNIT,
        });
    }
    if production.is_empty() {
        gaps.push(format!("no production data for {mineral} in {year}"));
    }
    let trade: Vec<pb::PartnerTrade> = data.trade.iter().map(convert::partner_trade_to_pb).collect();
    if !importer.is_empty() && trade.is_empty() {
        gaps.push(format!("no trade data for {importer} in {year}"));
    }
    let governance: Vec<pb::CountryGovernance> = data
        .governance
        .iter()
        .map(|g| pb::CountryGovernance {
            country: g.country.to_string(),
            year: u32::from(g.year),
            indicators: g
                .estimates
                .iter()
                .map(|(d, year, e)| pb::GovernanceIndicator {
                    country: g.country.to_string(),
                    year: u32::from(*year),
                    dimension: convert::dimension_to_pb(*d) as i32,
                    estimate: *e,
                })
                .collect(),
            fallback_from: g.fallback_from.as_ref().map(Iso3::to_string).unwrap_or_default(),
        })
        .collect();
    let mut without: Vec<String> = data
        .production
        .iter()
        .map(|p| &p.country)
        .chain(data.trade.iter().map(|t| &t.partner))
        .filter(|c| !data.governance.iter().any(|g| &g.country == *c))
        .map(Iso3::to_string)
        .collect();
    without.sort();
    without.dedup();
    if !without.is_empty() {
        gaps.push(format!("no governance estimates for {}", without.join(", ")));
    }
    pb::SupplySnapshot {
        mineral: mineral.to_string(),
        year: u32::from(year),
        importer: importer.to_string(),
        data_version: data.version,
        production,
        trade,
        governance,
        policy_events: data
            .policies
            .iter()
            .filter(|p| as_of.map_or_else(|| p.active_in_year(year), |d| p.active_on(d)))
            .map(convert::policy_event_to_pb)
            .collect(),
        as_of: as_of.map(convert::date_to_pb),
        stockpiles: data.stockpiles.iter().map(convert::stockpile_to_pb).collect(),
        gaps,
        available_years: data.available_years.iter().map(|y| u32::from(*y)).collect(),
        reported_statistics: data.reported.iter().map(convert::reported_statistic_to_pb).collect(),
        trade_flow_count: data.trade_flow_count,
        trade_year_loaded: data.trade_year_loaded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(stage: Stage, quantity: f64) -> WorldTotal {
        WorldTotal {
            mineral: MineralId::parse("REE").unwrap(),
            stage,
            year: 2024,
            quantity: Some(quantity),
            unit: "t".into(),
            source: "S".into(),
        }
    }

    fn producer(stage: Stage, country: &str, quantity: f64) -> ProductionStat {
        ProductionStat {
            mineral: MineralId::parse("REE").unwrap(),
            stage,
            country: Iso3::parse(country).unwrap(),
            year: 2024,
            first_year: None,
            quantity: Some(quantity),
            unit: "t".into(),
            source: "S".into(),
        }
    }

    #[test]
    fn a_full_cache_lets_go_of_the_least_recently_used_snapshot_only() {
        // The store connects on first use; this test never uses it.
        let settings = supplyrisk_config::RedisSettings {
            connect_timeout_ms: 100,
            response_timeout_ms: 100,
            ..supplyrisk_config::RedisSettings::at("redis://127.0.0.1:9")
        };
        let store = Store::new(&settings, Default::default()).expect("a lazy store");
        let service = SnapshotService::new(store, 2);
        let snap = |m: &str| pb::SupplySnapshot {
            mineral: m.into(),
            ..Default::default()
        };
        service.remember("REE".into(), &snap("REE"));
        service.remember("CO".into(), &snap("CO"));
        assert!(service.recalled("REE").is_some(), "REE is now the most recently used");
        service.remember("LI".into(), &snap("LI"));
        assert!(service.recalled("REE").is_some() && service.recalled("LI").is_some());
        assert!(service.recalled("CO").is_none(), "only the least recently used went");
    }

    #[test]
    fn a_world_total_is_no_producer_and_stays_with_its_stage() {
        let data = SnapshotData {
            year: Some(2024),
            production: vec![
                producer(Stage::Mining, "CHN", 60.0),
                producer(Stage::Processing, "CHN", 90.0),
            ],
            world_totals: vec![total(Stage::Mining, 100.0), total(Stage::Processing, 100.0)],
            ..Default::default()
        };
        let all = assemble("REE", "", None, None, data.clone());
        assert_eq!(all.production.len(), 2);
        for p in &all.production {
            assert!(p.world_total_published);
            assert_eq!(p.producers.len(), 1, "the total is not a producer: {p:?}");
        }
        let mining = assemble("REE", "", Some(Stage::Mining), None, data);
        assert_eq!(mining.production.len(), 1);
        let m = &mining.production[0];
        assert_eq!(m.world_total, 100.0);
        assert!((m.producers[0].share.unwrap() - 0.6).abs() < 1e-12);
        assert!((m.unattributed_share - 0.4).abs() < 1e-12);
    }

    #[test]
    fn a_source_with_only_a_world_total_still_shows() {
        let data = SnapshotData {
            year: Some(2024),
            world_totals: vec![total(Stage::Mining, 100.0)],
            ..Default::default()
        };
        let snap = assemble("REE", "", None, None, data);
        assert_eq!(snap.production.len(), 1);
        assert_eq!(snap.production[0].world_total, 100.0);
        assert!(snap.production[0].producers.is_empty());
    }
}
