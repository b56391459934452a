//! Reads. Every read is bounded: one mineral-year hash, one importer's
//! trade hash, governance fields fetched by name; nothing scans the keyspace.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use redis::AsyncCommands;
use supplyrisk_domain::{
    Countries, FlowDirection, GovernanceDimension, HsCode, Iso3, MineralId, Period, PolicyEvent, ProductionStat,
    ReportedStatistic, Stage, Stockpile, TradeFlow, WorldTotal,
};

use crate::stored::{ProductionValue, StoredPolicyEvent, StoredReported, StoredStockpile, TradeValue};
use crate::{Store, StoreError, StoreResult, keys};

/// One governance estimate: dimension, year, estimate.
pub type DatedEstimate = (GovernanceDimension, u16, f64);

/// Governance estimates found for one country.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotGovernance {
    /// The country asked about.
    pub country: Iso3,
    /// Year of the newest estimate used.
    pub year: u16,
    /// Estimates by dimension, each with its own year (the newest of the
    /// years read that has it).
    pub estimates: Vec<DatedEstimate>,
    /// The country whose estimates stand in, when not the country's own.
    pub fallback_from: Option<Iso3>,
}

/// Raw inputs of a supply snapshot.
#[derive(Debug, Clone, Default)]
pub struct SnapshotData {
    /// Data version the inputs were read at.
    pub version: String,
    /// Year resolved; `None` when the mineral has no data at all.
    pub year: Option<u16>,
    /// Years with production data.
    pub available_years: Vec<u16>,
    /// Production figures: each (stage, source)'s newest year within the lookback.
    pub production: Vec<ProductionStat>,
    /// Published world totals beside those figures.
    pub world_totals: Vec<WorldTotal>,
    /// The importer's flows of the year.
    pub trade: Vec<TradeFlow>,
    /// Governance of producers and partners.
    pub governance: Vec<SnapshotGovernance>,
    /// Policy events touching the mineral.
    pub policies: Vec<PolicyEvent>,
    /// Stockpiles of the mineral.
    pub stockpiles: Vec<Stockpile>,
    /// Statistics national sources report for the mineral in the year.
    pub reported: Vec<ReportedStatistic>,
    /// Trade flows stored for the mineral's trade group in the year, all reporters.
    pub trade_flow_count: u64,
    /// True when trade flows of the year are stored for some mineral (a
    /// trade dataset covering the year was loaded).
    pub trade_year_loaded: bool,
}

/// A page of policy events.
#[derive(Debug, Clone, Default)]
pub struct PolicyPage {
    /// Events in id order.
    pub events: Vec<PolicyEvent>,
    /// Id to continue after, when more may follow.
    pub next_after: Option<String>,
}

fn decode_policy(bytes: &[u8]) -> StoreResult<PolicyEvent> {
    StoredPolicyEvent::decode(bytes)?.into_domain()
}

fn years_of(members: Vec<String>) -> Vec<u16> {
    let mut years: Vec<u16> = members.iter().filter_map(|y| y.parse().ok()).collect();
    years.sort_unstable();
    years
}

/// A country code as stored; one the registry no longer knows is skipped
/// with a warning rather than failing the whole read.
fn stored_country(code: &str, field: &str) -> Option<Iso3> {
    match Iso3::parse(code) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(field, error = %e, "a stored country code no longer resolves; skipped");
            None
        }
    }
}

/// How many earlier years governance may come from when the snapshot year has none.
const GOVERNANCE_LOOKBACK: usize = 5;

/// How many years back a source's production of a stage may come from when
/// it has nothing for the snapshot year (a study's multi-year average,
/// e.g. the EU 2023 assessment's 2016–2020 shares, read for 2024).
const PRODUCTION_LOOKBACK: usize = 12;

/// Queues the version reads of `minerals` and governance, and the years
/// with any trade (see [`read_versions`]).
fn queue_versions(pipe: &mut redis::Pipeline, minerals: &[&str]) {
    for m in minerals {
        pipe.get(keys::mineral_version(m));
    }
    pipe.get(keys::governance_version());
    pipe.smembers(keys::trade_years_any());
}

/// The opaque data version and the years with any trade, from the first
/// replies of [`queue_versions`] (taken off `replies`). A newly loaded trade
/// year changes the version of every mineral: a mineral without flows in
/// that year now had no recorded trade (see [`SnapshotData::trade_year_loaded`]).
fn read_versions(minerals: &[&str], replies: &mut Vec<redis::Value>) -> StoreResult<(String, Vec<u16>)> {
    let taken = (minerals.len() + 2).min(replies.len());
    let mut ours = replies.drain(..taken);
    let versions: Vec<Option<String>> = ours
        .by_ref()
        .take(minerals.len() + 1)
        .map(redis::from_redis_value)
        .collect::<Result<_, _>>()?;
    let trade_years = years_of(redis::from_redis_value(ours.next().unwrap_or(redis::Value::Nil))?);
    let version = |v: Option<&Option<String>>| v.cloned().flatten().unwrap_or_else(|| "0".into());
    let mut parts: Vec<String> = minerals
        .iter()
        .zip(&versions)
        .map(|(m, v)| format!("{m}@{}", version(Some(v))))
        .collect();
    parts.push(format!("gov@{}", version(versions.get(minerals.len()))));
    parts.push(format!("trade-years@{}", trade_years.len()));
    Ok((parts.join(";"), trade_years))
}

impl Store {
    /// The data version of `minerals` and governance, as one opaque string.
    pub async fn data_version(&self, minerals: &[&str]) -> StoreResult<String> {
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        queue_versions(&mut pipe, minerals);
        let mut replies: Vec<redis::Value> = pipe.query_async(&mut conn).await?;
        Ok(read_versions(minerals, &mut replies)?.0)
    }

    /// A stored policy event by id.
    pub async fn policy_event(&self, id: &str) -> StoreResult<Option<PolicyEvent>> {
        let mut conn = self.conn().await?;
        let raw: Option<Vec<u8>> = conn.hget(keys::policy_events(), id).await?;
        raw.map(|b| decode_policy(&b)).transpose()
    }

    /// Up to `limit` policy events with ids after `after`, in id order.
    pub async fn list_policy_events(&self, after: Option<&str>, limit: usize) -> StoreResult<PolicyPage> {
        let page = self
            .lex_page(&keys::policy_index(), &keys::policy_events(), after, limit)
            .await?;
        let next_after = (page.len() == limit)
            .then(|| page.last().map(|(id, _)| id.clone()))
            .flatten();
        let events = page
            .iter()
            .map(|(_, b)| decode_policy(b))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(PolicyPage { events, next_after })
    }

    /// Up to `limit` (id, value) pairs with ids after `after`, in id order:
    /// ids from the lexical sorted set `index`, values from the hash `values`.
    pub(crate) async fn lex_page(
        &self,
        index: &str,
        values: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let mut conn = self.conn().await?;
        let start = after.map(|a| format!("({a}")).unwrap_or_else(|| "-".into());
        let ids: Vec<String> = redis::cmd("ZRANGEBYLEX")
            .arg(index)
            .arg(start)
            .arg("+")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<Option<Vec<u8>>> = redis::cmd("HMGET").arg(values).arg(&ids).query_async(&mut conn).await?;
        Ok(ids
            .into_iter()
            .zip(found)
            .filter_map(|(id, v)| v.map(|v| (id, v)))
            .collect())
    }

    /// Reads a cached snapshot.
    pub async fn cached_snapshot(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let mut conn = self.conn().await?;
        Ok(conn.get(key).await?)
    }

    /// Caches a snapshot under its versioned key.
    pub async fn cache_snapshot(&self, key: &str, bytes: &[u8]) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let ttl = self.options().snapshot_ttl.as_secs().max(1);
        let _: () = conn.set_ex(key, bytes, ttl).await?;
        Ok(())
    }

    /// Reads everything a snapshot of `mineral` needs. `trade_home` is the
    /// mineral whose trade data applies (a group for its members); `year`
    /// `None` means the latest year with production or trade data.
    pub async fn snapshot_data(
        &self,
        mineral: &str,
        trade_home: &str,
        year: Option<u16>,
        importer: Option<&Iso3>,
    ) -> StoreResult<SnapshotData> {
        let mut minerals = vec![mineral];
        if trade_home != mineral {
            minerals.push(trade_home);
        }
        // Versions and the years with data in one round trip.
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        queue_versions(&mut pipe, &minerals);
        pipe.smembers(keys::production_years(mineral))
            .smembers(keys::trade_years(trade_home))
            .smembers(keys::governance_years());
        let mut sets: Vec<redis::Value> = pipe.query_async(&mut conn).await?;
        let (version, any_trade_years) = read_versions(&minerals, &mut sets)?;
        let [prod_years, trade_years, gov_years]: [Vec<String>; 3] = sets
            .into_iter()
            .map(redis::from_redis_value)
            .collect::<Result<Vec<Vec<String>>, _>>()?
            .try_into()
            .map_err(|_| StoreError::Internal("unexpected reply to the years pipeline".into()))?;
        let available_years = years_of(prod_years);
        let trade_years = years_of(trade_years);
        // The latest year with any data: an element whose only production
        // figures are a study's older average is still scored on its
        // group's latest trade, with those figures carried forward.
        let year = year.or_else(|| available_years.last().copied().max(trade_years.last().copied()));
        let Some(year) = year else {
            return Ok(SnapshotData {
                version,
                available_years,
                ..Default::default()
            });
        };
        let production_years: Vec<u16> = available_years
            .iter()
            .rev()
            .copied()
            .filter(|y| *y <= year)
            .take(PRODUCTION_LOOKBACK)
            .collect();
        let mut pipe = redis::pipe();
        for y in &production_years {
            pipe.hgetall(keys::production(mineral, *y));
        }
        pipe.hgetall(keys::mineral_policies(mineral));
        pipe.hgetall(keys::stockpiles(mineral));
        pipe.hgetall(keys::reported(mineral));
        pipe.hget(keys::counts(trade_home), format!("trade:{year}"));
        if let Some(imp) = importer {
            pipe.hgetall(keys::trade(trade_home, year, imp.as_str()));
        }
        type Fields = BTreeMap<String, Vec<u8>>;
        let mut values: Vec<redis::Value> = pipe.query_async(&mut conn).await?;
        let trade_raw: Fields = if importer.is_some() {
            redis::from_redis_value(values.pop().unwrap_or(redis::Value::Nil))?
        } else {
            Fields::new()
        };
        let trade_flow_count: Option<u64> = redis::from_redis_value(values.pop().unwrap_or(redis::Value::Nil))?;
        let mut results: Vec<Fields> = values
            .into_iter()
            .map(redis::from_redis_value)
            .collect::<Result<_, _>>()?;
        let reported_raw = results.pop().unwrap_or_default();
        let stock_raw = results.pop().unwrap_or_default();
        let policy_raw = results.pop().unwrap_or_default();

        // Newest year first: each (stage, source) keeps only its newest year.
        let mineral_id = MineralId::parse(mineral).map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut production = Vec::new();
        let mut world_totals = Vec::new();
        let mut newest: BTreeMap<(Stage, String), u16> = BTreeMap::new();
        for (prod_raw, &prod_year) in results.into_iter().zip(&production_years) {
            for (field, value) in prod_raw {
                let mut parts = field.splitn(3, '|');
                let (Some(stage), Some(country), Some(source)) = (parts.next(), parts.next(), parts.next()) else {
                    continue;
                };
                let Some(stage) = Stage::parse(stage) else { continue };
                let kept = *newest.entry((stage, source.to_string())).or_insert(prod_year);
                if kept != prod_year {
                    continue;
                }
                let v = ProductionValue::decode(value.as_slice())?;
                if country == crate::writes::WORLD_TOTAL_CODE {
                    world_totals.push(WorldTotal {
                        mineral: mineral_id.clone(),
                        stage,
                        year: prod_year,
                        quantity: v.quantity,
                        unit: v.unit,
                        source: source.to_string(),
                    });
                    continue;
                }
                let Some(country) = stored_country(country, &field) else {
                    continue;
                };
                production.push(ProductionStat {
                    mineral: mineral_id.clone(),
                    stage,
                    country,
                    year: prod_year,
                    first_year: v.first_year.and_then(|f| u16::try_from(f).ok()),
                    quantity: v.quantity,
                    unit: v.unit,
                    source: source.to_string(),
                });
            }
        }
        let mut trade = Vec::new();
        for (field, value) in trade_raw {
            let Some(imp) = importer else { break };
            let parts: Vec<&str> = field.splitn(5, '|').collect();
            let [partner, hs, month, flow, source] = parts.as_slice() else {
                continue;
            };
            let Some(flow) = FlowDirection::from_code(flow) else {
                continue;
            };
            let Some(partner) = stored_country(partner, &field) else {
                continue;
            };
            let Ok((hs_code, mineral, stage)) = HsCode::parse(hs) else {
                tracing::warn!(
                    field,
                    "a stored trade flow's HS code is no longer in the catalog; skipped"
                );
                continue;
            };
            let v = TradeValue::decode(value.as_slice())?;
            trade.push(TradeFlow {
                reporter: imp.clone(),
                partner,
                hs_code,
                mineral,
                stage,
                period: Period {
                    year,
                    month: month.parse().unwrap_or(0),
                },
                flow,
                value_usd: v.value_usd,
                net_weight_kg: v.net_weight_kg,
                source: source.to_string(),
            });
        }
        let policies = policy_raw
            .values()
            .map(|b| decode_policy(b))
            .collect::<StoreResult<Vec<_>>>()?;
        let stockpiles = stock_raw
            .values()
            .map(|b| StoredStockpile::decode(b.as_slice())?.into_domain())
            .collect::<StoreResult<Vec<_>>>()?;

        let mut reported = Vec::new();
        for bytes in reported_raw.values() {
            let stat = StoredReported::decode(bytes.as_slice())?;
            if stat.year == u32::from(year) {
                reported.push(stat.into_domain(mineral)?);
            }
        }
        let mut countries: BTreeSet<Iso3> = production.iter().map(|p| p.country.clone()).collect();
        countries.extend(trade.iter().map(|t| t.partner.clone()));
        if let Some(imp) = importer {
            countries.insert(imp.clone());
        }
        let gov_years: Vec<u16> = years_of(gov_years)
            .into_iter()
            .rev()
            .filter(|y| *y <= year)
            .take(GOVERNANCE_LOOKBACK)
            .collect();
        let governance = self.governance_for(&countries, &gov_years).await?;
        Ok(SnapshotData {
            version,
            year: Some(year),
            available_years,
            production,
            world_totals,
            trade,
            governance,
            policies,
            stockpiles,
            reported,
            trade_flow_count: trade_flow_count.unwrap_or(0),
            trade_year_loaded: any_trade_years.contains(&year),
        })
    }

    /// Governance of `countries`: each dimension from the newest of `years`
    /// (newest first) that has it, so a year carrying only some dimensions
    /// (the PV series runs two years past the full WGI) never hides the
    /// others; each estimate keeps its year, since GeoPolRisk reads only
    /// the data year's. A country with none uses its registry fallback.
    async fn governance_for(&self, countries: &BTreeSet<Iso3>, years: &[u16]) -> StoreResult<Vec<SnapshotGovernance>> {
        let fallback_of = |c: &Iso3| {
            Countries::builtin()
                .get(c.as_str())
                .and_then(|x| x.governance_fallback.as_deref())
                .and_then(|fb| Iso3::parse(fb).ok())
        };
        let mut lookup: BTreeSet<Iso3> = countries.clone();
        lookup.extend(countries.iter().filter_map(fallback_of));
        let mut found: BTreeMap<Iso3, (u16, Vec<DatedEstimate>)> = BTreeMap::new();
        let mut conn = self.conn().await?;
        for &year in years {
            let pending: Vec<(&Iso3, GovernanceDimension)> = lookup
                .iter()
                .flat_map(|c| GovernanceDimension::STORED.iter().map(move |d| (c, *d)))
                .filter(|(c, d)| !found.get(*c).is_some_and(|(_, e)| e.iter().any(|(x, _, _)| x == d)))
                .collect();
            if pending.is_empty() {
                break;
            }
            let fields: Vec<String> = pending.iter().map(|(c, d)| format!("{c}|{}", d.code())).collect();
            let values: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(keys::governance(year))
                .arg(&fields)
                .query_async(&mut conn)
                .await?;
            for ((c, d), v) in pending.iter().zip(values) {
                if let Some(v) = v.and_then(|v| v.parse::<f64>().ok()) {
                    let entry = found.entry((*c).clone()).or_insert((year, Vec::new()));
                    entry.0 = entry.0.max(year);
                    entry.1.push((*d, year, v));
                }
            }
        }
        for (_, estimates) in found.values_mut() {
            estimates.sort_by_key(|(d, _, _)| *d);
        }
        let mut out = Vec::new();
        for c in countries {
            if let Some((year, estimates)) = found.get(c) {
                out.push(SnapshotGovernance {
                    country: c.clone(),
                    year: *year,
                    estimates: estimates.clone(),
                    fallback_from: None,
                });
            } else if let Some(fb) = fallback_of(c)
                && let Some((year, estimates)) = found.get(&fb)
            {
                out.push(SnapshotGovernance {
                    country: c.clone(),
                    year: *year,
                    estimates: estimates.clone(),
                    fallback_from: Some(fb),
                });
            }
        }
        Ok(out)
    }
}
