//! Writes: each public function validates nothing (callers pass domain
//! records, already valid) and turns records into one atomic upsert.

use std::collections::BTreeSet;

use prost::Message;
use redis::AsyncCommands;
use supplyrisk_api::common::v1::TraceContext;
use supplyrisk_api::events::v1::{DataChanged, DataKind};
use supplyrisk_domain::{
    GovernanceIndicator, PolicyEvent, ProductionStat, ReportedStatistic, Stockpile, TradeFlow, WorldTotal,
};
use supplyrisk_telemetry::propagation::current_carrier;

use crate::stored::{ProductionValue, StoredPolicyEvent, StoredReplay, StoredReported, StoredStockpile, TradeValue};
use crate::upsert::UpsertBatch;
use crate::{Store, StoreError, StoreResult, keys};

/// Country code under which a published world total is stored beside the
/// countries of the same source.
pub(crate) const WORLD_TOTAL_CODE: &str = "WLD";

/// What a write changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Stored fields that were new or different (deletions included).
    pub changed: u64,
    /// Id of the `DataChanged` event appended, i.e. the new data version;
    /// `None` when nothing changed.
    pub version: Option<String>,
}

fn trace() -> Option<TraceContext> {
    let c = current_carrier();
    (!c.traceparent.is_empty()).then_some(TraceContext {
        traceparent: c.traceparent,
        tracestate: c.tracestate,
    })
}

fn event(kind: DataKind) -> DataChanged {
    DataChanged {
        kind: kind as i32,
        trace: trace(),
        ..Default::default()
    }
}

/// Which kind of call an upload id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayKind {
    /// `IngestTradeFlows`.
    Upload,
    /// `ImportDataset`.
    Import,
}

impl ReplayKind {
    fn as_str(self) -> &'static str {
        match self {
            ReplayKind::Upload => "upload",
            ReplayKind::Import => "import",
        }
    }
}

/// The answer of a finished upload or import and the digest of its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Digest of the request's content: the same id with other content is
    /// not a retry.
    pub digest: Vec<u8>,
    /// The encoded answer.
    pub answer: Vec<u8>,
}

/// An upsert ready to send: its whole command is built, so a caller can
/// prepare the next write while this one runs in Redis.
#[derive(Debug, Default)]
pub struct PreparedWrite {
    command: Option<redis::Cmd>,
}

impl Store {
    /// Builds one atomic upsert (CPU only); the script appends the changed
    /// minerals and the change count to `event` before adding it to the
    /// data stream.
    pub fn prepare(&self, batch: UpsertBatch, event: &DataChanged) -> PreparedWrite {
        if batch.is_empty() {
            return PreparedWrite::default();
        }
        let payload = event.encode_to_vec();
        let command = batch.into_command(self.inner.upsert.get_hash(), self.options().stream_maxlen, &payload);
        PreparedWrite { command: Some(command) }
    }

    /// Runs a prepared upsert. A Redis that does not hold the script (fresh,
    /// restarted or flushed) answers `NOSCRIPT`: the script is loaded and
    /// the command sent once more.
    pub async fn apply_prepared(&self, write: PreparedWrite) -> StoreResult<WriteOutcome> {
        let Some(command) = write.command else {
            return Ok(WriteOutcome::default());
        };
        let mut conn = self.conn().await?;
        let reply: redis::RedisResult<(u64, Option<String>)> = command.query_async(&mut conn).await;
        let (changed, version) = match reply {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                self.inner.upsert.load_async(&mut conn).await?;
                command.query_async(&mut conn).await?
            }
            other => other?,
        };
        tracing::debug!(
            db.system = "redis",
            db.operation.name = "EVALSHA",
            changed,
            "upsert applied"
        );
        Ok(WriteOutcome { changed, version })
    }

    /// Runs one atomic upsert (see [`Store::prepare`]).
    pub async fn apply(&self, batch: UpsertBatch, event: &DataChanged) -> StoreResult<WriteOutcome> {
        self.apply_prepared(self.prepare(batch, event)).await
    }

    /// Builds the upsert of trade flows keyed by their natural key, to run
    /// with [`Store::apply_prepared`]. Flows with the same key in `flows`
    /// are applied in order, the last one winning.
    pub fn prepare_trade_flows(&self, flows: &[TradeFlow], upload_id: &str) -> PreparedWrite {
        let mut batch = UpsertBatch::new();
        let mut ev = event(DataKind::TradeFlows);
        ev.upload_id = upload_id.to_string();
        let mut years = BTreeSet::new();
        let mut reporters = BTreeSet::new();
        for f in flows {
            let m = f.mineral.as_str();
            let year = f.period.year;
            let field = format!(
                "{}|{}|{}|{}|{}",
                f.partner,
                f.hs_code,
                f.period.month,
                f.flow.code(),
                f.source
            );
            let value = TradeValue {
                value_usd: f.value_usd,
                net_weight_kg: f.net_weight_kg,
            }
            .encode_to_vec();
            let counter = (keys::counts(m), format!("trade:{year}"));
            batch.hset_counted(
                keys::trade(m, year, f.reporter.as_str()),
                field,
                value,
                Some(m),
                Some(counter),
            );
            batch.sadd(keys::trade_years(m), year.to_string());
            batch.sadd(keys::trade_reporters(m, year), f.reporter.to_string());
            if years.insert(u32::from(year)) {
                batch.sadd(keys::trade_years_any(), year.to_string());
            }
            reporters.insert(f.reporter.to_string());
        }
        ev.years = years.into_iter().collect();
        ev.importers = reporters.into_iter().collect();
        self.prepare(batch, &ev)
    }

    /// Applies `items` as writes of at most [`StoreOptions::max_write_records`]
    /// each, so no single script holds Redis for long: each is atomic on its
    /// own, and every write is an idempotent upsert, so a caller that saw a
    /// failure retries the whole call safely.
    ///
    /// [`StoreOptions::max_write_records`]: crate::StoreOptions::max_write_records
    async fn apply_in_chunks<T>(
        &self,
        items: &[T],
        build: fn(&[T]) -> (UpsertBatch, DataChanged),
    ) -> StoreResult<WriteOutcome> {
        let mut total = WriteOutcome::default();
        for chunk in items.chunks(self.options().max_write_records.max(1)) {
            let (batch, ev) = build(chunk);
            let out = self.apply(batch, &ev).await?;
            total.changed += out.changed;
            total.version = out.version.or(total.version);
        }
        Ok(total)
    }

    /// Upserts production statistics keyed by (mineral, stage, country, year, source).
    pub async fn write_production(&self, stats: &[ProductionStat]) -> StoreResult<WriteOutcome> {
        self.apply_in_chunks(stats, production_batch).await
    }

    /// Upserts published world totals, stored beside the countries of the
    /// same (mineral, stage, year, source) under [`WORLD_TOTAL_CODE`].
    pub async fn write_world_totals(&self, totals: &[WorldTotal]) -> StoreResult<WriteOutcome> {
        self.apply_in_chunks(totals, world_totals_batch).await
    }

    /// Upserts statistics reported by national sources, keyed by (mineral,
    /// country, category, statistic, year, source).
    pub async fn write_reported(&self, stats: &[ReportedStatistic]) -> StoreResult<WriteOutcome> {
        self.apply_in_chunks(stats, reported_batch).await
    }

    /// Upserts governance estimates keyed by (country, year, dimension).
    pub async fn write_governance(&self, indicators: &[GovernanceIndicator]) -> StoreResult<WriteOutcome> {
        self.apply_in_chunks(indicators, governance_batch).await
    }

    /// Keeps the answer of a finished upload or import of `principal` for
    /// [`StoreOptions::upload_ttl`](crate::StoreOptions::upload_ttl), for
    /// idempotent replays.
    pub async fn put_replay(
        &self,
        kind: ReplayKind,
        principal: &str,
        upload_id: &str,
        replay: &Replay,
    ) -> StoreResult<()> {
        let value = StoredReplay {
            digest: replay.digest.clone(),
            answer: replay.answer.clone(),
        }
        .encode_to_vec();
        let mut conn = self.conn().await?;
        let ttl = self.options().upload_ttl.as_secs().max(1);
        let _: () = conn
            .set_ex(keys::replay(kind.as_str(), principal, upload_id), value, ttl)
            .await?;
        Ok(())
    }

    /// The kept answer of `principal`'s upload or import `upload_id`, if any.
    pub async fn replay(&self, kind: ReplayKind, principal: &str, upload_id: &str) -> StoreResult<Option<Replay>> {
        let mut conn = self.conn().await?;
        let value: Option<Vec<u8>> = conn.get(keys::replay(kind.as_str(), principal, upload_id)).await?;
        value
            .map(|v| {
                let stored = StoredReplay::decode(v.as_slice())?;
                Ok(Replay {
                    digest: stored.digest,
                    answer: stored.answer,
                })
            })
            .transpose()
    }

    /// Records a policy event, replacing an earlier one with the same id
    /// (and removing it from minerals it no longer touches).
    ///
    /// A mineral the event newly touches must have room for one more
    /// ([`crate::StoreOptions::max_policy_events_per_mineral`]); the count
    /// is read before the write, so concurrent writers may pass it by a few.
    pub async fn write_policy_event(&self, e: &PolicyEvent) -> StoreResult<WriteOutcome> {
        let previous = self.policy_event(&e.id).await?;
        let added: Vec<&str> = e
            .minerals
            .iter()
            .filter(|m| previous.as_ref().is_none_or(|p| !p.minerals.contains(m)))
            .map(|m| m.as_str())
            .collect();
        if !added.is_empty() {
            let mut pipe = redis::pipe();
            for m in &added {
                pipe.hlen(keys::mineral_policies(m));
            }
            let counts: Vec<u64> = pipe.query_async(&mut self.conn().await?).await?;
            let max = self.options().max_policy_events_per_mineral;
            if let Some((m, n)) = added.iter().zip(counts).find(|(_, n)| *n >= max) {
                return Err(StoreError::LimitReached(format!(
                    "{m} already has {n} policy events, the most one mineral keeps ({max})"
                )));
            }
        }
        let value = StoredPolicyEvent::from(e).encode_to_vec();
        let mut batch = UpsertBatch::new();
        batch.hset(keys::policy_events(), e.id.clone(), value.clone(), None);
        batch.zadd(keys::policy_index(), e.id.clone());
        for m in &e.minerals {
            batch.hset(
                keys::mineral_policies(m.as_str()),
                e.id.clone(),
                value.clone(),
                Some(m.as_str()),
            );
        }
        if let Some(prev) = previous {
            for m in prev.minerals.iter().filter(|m| !e.minerals.contains(m)) {
                batch.hdel(keys::mineral_policies(m.as_str()), e.id.clone(), m.as_str());
            }
        }
        let mut ev = event(DataKind::PolicyEvents);
        ev.policy_event_ids = vec![e.id.clone()];
        ev.years = (u32::from(e.effective_from.year)..=u32::from(e.effective_from.year)).collect();
        self.apply(batch, &ev).await
    }

    /// Upserts a country's stockpile of a mineral.
    pub async fn write_stockpile(&self, s: &Stockpile) -> StoreResult<WriteOutcome> {
        let mut batch = UpsertBatch::new();
        let m = s.mineral.as_str();
        batch.hset(
            keys::stockpiles(m),
            s.country.to_string(),
            StoredStockpile::from(s).encode_to_vec(),
            Some(m),
        );
        self.apply(batch, &event(DataKind::Stockpiles)).await
    }
}

fn production_batch(stats: &[ProductionStat]) -> (UpsertBatch, DataChanged) {
    let mut batch = UpsertBatch::new();
    let mut ev = event(DataKind::Production);
    let mut years = BTreeSet::new();
    for s in stats {
        let m = s.mineral.as_str();
        let field = format!("{}|{}|{}", s.stage.as_str(), s.country, s.source);
        let value = ProductionValue {
            quantity: s.quantity,
            unit: s.unit.clone(),
            first_year: s.first_year.map(u32::from),
        }
        .encode_to_vec();
        batch.hset(keys::production(m, s.year), field, value, Some(m));
        batch.sadd(keys::production_years(m), s.year.to_string());
        years.insert(u32::from(s.year));
    }
    ev.years = years.into_iter().collect();
    (batch, ev)
}

fn world_totals_batch(totals: &[WorldTotal]) -> (UpsertBatch, DataChanged) {
    let mut batch = UpsertBatch::new();
    let mut ev = event(DataKind::Production);
    let mut years = BTreeSet::new();
    for t in totals {
        let m = t.mineral.as_str();
        let field = format!("{}|{WORLD_TOTAL_CODE}|{}", t.stage.as_str(), t.source);
        let value = ProductionValue {
            quantity: t.quantity,
            unit: t.unit.clone(),
            first_year: None,
        }
        .encode_to_vec();
        batch.hset(keys::production(m, t.year), field, value, Some(m));
        batch.sadd(keys::production_years(m), t.year.to_string());
        years.insert(u32::from(t.year));
    }
    ev.years = years.into_iter().collect();
    (batch, ev)
}

fn reported_batch(stats: &[ReportedStatistic]) -> (UpsertBatch, DataChanged) {
    let mut batch = UpsertBatch::new();
    let mut ev = event(DataKind::Production);
    let mut years = BTreeSet::new();
    for s in stats {
        let mineral = s.mineral.as_str();
        let field = format!("{}|{}|{}|{}|{}", s.country, s.category, s.statistic, s.year, s.source);
        let value = StoredReported::from(s).encode_to_vec();
        batch.hset(keys::reported(mineral), field, value, Some(mineral));
        years.insert(u32::from(s.year));
    }
    ev.years = years.into_iter().collect();
    (batch, ev)
}

fn governance_batch(indicators: &[GovernanceIndicator]) -> (UpsertBatch, DataChanged) {
    let mut batch = UpsertBatch::new();
    let mut ev = event(DataKind::Governance);
    let mut years = BTreeSet::new();
    for g in indicators {
        let field = format!("{}|{}", g.country, g.dimension.code());
        batch.hset(
            keys::governance(g.year),
            field,
            g.estimate.to_string().into_bytes(),
            None,
        );
        batch.sadd(keys::governance_years(), g.year.to_string());
        years.insert(u32::from(g.year));
    }
    ev.years = years.into_iter().collect();
    (batch, ev)
}
