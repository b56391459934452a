//! Keeping scores fresh from the data stream.
//!
//! Two kinds of loop. The follower reads every `DataChanged` event (plain
//! `XREAD`, so every replica sees every event) and bumps data generations,
//! which invalidates this replica's cached scores. The recomputers (a few
//! per replica) share a consumer group, so one of them handles each event,
//! and a per-mineral lock keeps two from recomputing one mineral at once. A
//! recomputer recomputes every
//! affected mineral × tracked importer × method, records the latest score,
//! its history and ranking, publishes `ScoreChanged` when a score moved, and
//! only then acknowledges. Entries a crashed replica left pending are
//! reclaimed after `reclaim_idle_ms`; recomputing is idempotent.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use prost::Message;
use supplyrisk_api::common::v1::TraceContext;
use supplyrisk_api::convert;
use supplyrisk_api::events::v1::{DataChanged, DataKind, ScoreChanged};
use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_domain::{Catalog, Date, PolicyEvent};
use supplyrisk_engine::Methodology;
use supplyrisk_grpc::ServiceError;
use supplyrisk_service::{Shutdown, StreamProcessor, Worker};
use supplyrisk_store::consumer::ConsumerConfig;
use supplyrisk_store::{ScorePoint, ScoreRecord, ScoreWrite, Store, StreamEntry, keys};
use supplyrisk_telemetry::propagation::{self, TraceCarrier};
use tracing::Instrument;

use crate::importers::Importers;
use crate::scorer::{Generations, Scorer};
use crate::settings::ScoringSection;

/// Minerals recomputed at once within one batch of events.
const PARALLEL_MINERALS: usize = 4;

/// Cause of a recomputation by the policy clock, followed by the day.
const POLICY_DAY_CAUSE: &str = "policy-day:";

/// The history kind of a recomputation with `cause`: the policy clock's
/// (an event started, ended or was suspended that day) or new data's.
fn history_kind(cause: &str) -> &'static str {
    if cause.starts_with(POLICY_DAY_CAUSE) {
        "policy_day"
    } else {
        "recomputation"
    }
}

fn decode(entry: &StreamEntry) -> Option<DataChanged> {
    DataChanged::decode(entry.payload.as_slice()).ok()
}

/// Minerals an event affects: those it names, then their group members
/// (named ones first: their score changes are what subscribers wait for);
/// every mineral for governance changes. No mineral appears twice.
pub fn affected_minerals(events: &[DataChanged]) -> Vec<String> {
    let catalog = Catalog::builtin();
    if events
        .iter()
        .any(|e| e.kind == DataKind::Governance as i32 || e.minerals.is_empty())
    {
        return catalog.minerals().iter().map(|m| m.id.clone()).collect();
    }
    let named: BTreeSet<&String> = events.iter().flat_map(|e| &e.minerals).collect();
    let members: BTreeSet<&String> = catalog
        .minerals()
        .iter()
        .filter(|x| x.parent.as_ref().is_some_and(|p| named.contains(p)))
        .map(|x| &x.id)
        .filter(|id| !named.contains(id))
        .collect();
    named.into_iter().chain(members).cloned().collect()
}

/// Follows the data stream and bumps generations, so this replica's
/// cached scores are dropped as soon as their data changes.
pub struct Follower {
    store: Store,
    generations: Arc<Generations>,
}

impl Follower {
    /// A follower reading with `store` (best a dedicated connection: it
    /// blocks on the stream) and bumping `generations`.
    pub fn new(store: Store, generations: Arc<Generations>) -> Self {
        Self { store, generations }
    }
}

impl Worker for Follower {
    const NAME: &'static str = "data-stream-follower";

    fn drain(&self) -> Duration {
        // It holds no work: nothing to finish.
        Duration::ZERO
    }

    async fn run(self, mut shutdown: Shutdown) {
        let Self { store, generations } = self;
        let mut last = loop {
            match store.last_id(keys::DATA_STREAM).await {
                Ok(id) => break id,
                Err(_) => {
                    tokio::select! { _ = tokio::time::sleep(Duration::from_secs(1)) => {}, _ = shutdown.recv() => return }
                }
            }
        };
        while !shutdown.is_shutdown() {
            match store.read_after(keys::DATA_STREAM, &last, 1000, 500).await {
                Ok(entries) => {
                    if let Some(e) = entries.last() {
                        last = e.id.clone();
                    }
                    let events: Vec<DataChanged> = entries.iter().filter_map(decode).collect();
                    for e in &events {
                        generations.bump(&e.minerals, e.kind == DataKind::Governance as i32);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "data stream follower: retrying");
                    tokio::select! { _ = tokio::time::sleep(Duration::from_secs(1)) => {}, _ = shutdown.recv() => return }
                }
            }
        }
    }
}

/// How often the policy clock looks at the date.
const POLICY_CLOCK_INTERVAL: Duration = Duration::from_secs(60);

/// The minerals whose policy events start, end, or are suspended or resumed
/// on a day after `after` up to `today`: their scores as of today move
/// without any data changing.
pub fn minerals_with_boundaries(events: &[PolicyEvent], after: Date, today: Date) -> Vec<String> {
    let mut minerals: BTreeSet<String> = BTreeSet::new();
    for e in events {
        if e.boundaries().iter().any(|d| after < *d && *d <= today) {
            minerals.extend(e.minerals.iter().map(ToString::to_string));
        }
    }
    minerals.into_iter().collect()
}

/// Recomputes scores for data-changed events, and on the days policy
/// events start or end.
pub struct Recomputer {
    store: Store,
    scorer: Scorer,
    importers: Arc<Importers>,
    settings: ScoringSection,
    /// One lock per mineral, so concurrent batches never recompute the same
    /// mineral at once: each recompute reads the data current when it runs,
    /// so serialised runs store scores in data order.
    mineral_locks: MineralLocks,
}

/// Per-mineral locks (a few dozen minerals: entries are never removed).
#[derive(Default)]
pub struct MineralLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl MineralLocks {
    fn of(&self, mineral: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(mineral.to_string()).or_default().clone()
    }
}

impl Recomputer {
    /// A recomputer scoring with `scorer` for `importers`, tuned by `settings`.
    pub fn new(store: Store, scorer: Scorer, importers: Arc<Importers>, settings: ScoringSection) -> Self {
        Self {
            store,
            scorer,
            importers,
            settings,
            mineral_locks: MineralLocks::default(),
        }
    }

    /// The places of this process's `recompute_workers` consumers in the
    /// data stream's consumer group: while one works through a batch,
    /// another takes the next. Each runs as its own worker, so batches
    /// score on all cores; one stopped mid-batch leaves the batch pending.
    pub fn consumers(settings: &ScoringSection) -> Vec<ConsumerConfig> {
        let base = if settings.consumer_name.is_empty() {
            supplyrisk_store::consumer::default_consumer_name()
        } else {
            settings.consumer_name.clone()
        };
        (0..settings.recompute_workers.max(1))
            .map(|i| {
                ConsumerConfig::new(
                    keys::DATA_STREAM,
                    &settings.consumer_group,
                    &format!("{base}-{i}"),
                    settings.reclaim_idle_ms,
                    100,
                )
                .with_max_deliveries(settings.max_deliveries)
            })
            .collect()
    }
}

impl StreamProcessor for Recomputer {
    const NAME: &'static str = "recomputer";
    type Error = ServiceError;

    fn transient(error: &ServiceError) -> bool {
        matches!(error, ServiceError::Unavailable(_))
    }

    async fn process(&self, entries: Vec<StreamEntry>) -> Result<(), ServiceError> {
        self.recompute(&entries).await
    }
}

/// Recomputes, once a day begins, the minerals whose policy events start,
/// end or are suspended or resumed that day, so a subscription fires on the
/// day a restriction takes effect or lapses. The last day done is kept in
/// Redis: a day missed while no replica ran is caught up.
pub struct PolicyClock(Arc<Recomputer>);

impl PolicyClock {
    /// A clock recomputing with `recomputer`.
    pub fn new(recomputer: Arc<Recomputer>) -> Self {
        Self(recomputer)
    }
}

impl Worker for PolicyClock {
    const NAME: &'static str = "policy-clock";

    async fn run(self, mut shutdown: Shutdown) {
        loop {
            if let Err(e) = self.0.policy_day().await {
                tracing::warn!(error = %e, "policy clock: will retry");
            }
            tokio::select! {
                _ = tokio::time::sleep(POLICY_CLOCK_INTERVAL) => {}
                _ = shutdown.recv() => return,
            }
        }
    }
}

impl Recomputer {
    /// One look at the date: recomputes for the days since the last one done.
    async fn policy_day(&self) -> Result<(), ServiceError> {
        let today = crate::scorer::today();
        let done = self.store.policy_clock_day().await?;
        let Some(after) = done.as_deref().and_then(|d| Date::parse(d).ok()) else {
            // First run: scores computed from now on are already as of today.
            return Ok(self.store.set_policy_clock_day(&today.to_string()).await?);
        };
        if after >= today {
            return Ok(());
        }
        let events: Vec<PolicyEvent> = self
            .scorer
            .policy_events()
            .await?
            .iter()
            .filter_map(|e| convert::policy_event(e).ok())
            .collect();
        let minerals = minerals_with_boundaries(&events, after, today);
        if !minerals.is_empty() {
            self.scorer.generations().bump(&minerals, false);
        }
        let cause = format!("{POLICY_DAY_CAUSE}{today}");
        for mineral in &minerals {
            self.recompute_mineral(mineral, &cause).await?;
        }
        tracing::info!(day = %today, minerals = minerals.len(), "policy clock: recomputed");
        Ok(self.store.set_policy_clock_day(&today.to_string()).await?)
    }

    /// Recomputes everything `entries` affect; idempotent.
    pub async fn recompute(&self, entries: &[StreamEntry]) -> Result<(), ServiceError> {
        let events: Vec<DataChanged> = entries.iter().filter_map(decode).collect();
        let span = tracing::info_span!("recompute", otel.name = "scoring.recompute", events = events.len());
        for e in &events {
            if let Some(t) = &e.trace {
                let carrier = TraceCarrier {
                    traceparent: t.traceparent.clone(),
                    tracestate: t.tracestate.clone(),
                };
                propagation::link_from_carrier(&span, &carrier);
            }
        }
        let cause = entries.last().map(|e| e.id.clone()).unwrap_or_default();
        let started = std::time::Instant::now();
        async {
            let minerals = affected_minerals(&events);
            let generations = self.scorer.generations();
            for e in &events {
                generations.bump(&e.minerals, e.kind == DataKind::Governance as i32);
            }
            // Minerals are independent, so a few run at once: a mineral with
            // heavy trade data does not hold up the others. Batches stay
            // sequential, so one mineral is never recomputed twice at once.
            let work: Vec<_> = minerals.iter().map(|m| self.recompute_mineral(m, &cause)).collect();
            let moved: Vec<usize> = futures::stream::iter(work)
                .buffered(PARALLEL_MINERALS)
                .try_collect()
                .await?;
            let moved: usize = moved.iter().sum();
            tracing::info!(
                minerals = minerals.len(),
                moved,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "scores recomputed"
            );
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// Recomputes `mineral` for every tracked importer and method; returns how many moved.
    async fn recompute_mineral(&self, mineral: &str, cause: &str) -> Result<usize, ServiceError> {
        let lock = self.mineral_locks.of(mineral);
        let _only_one = lock.lock().await;
        let mut moved = 0;
        for importer_id in self.importers.tracked() {
            let Ok(importer) = self.importers.resolve(importer_id) else {
                continue;
            };
            let snaps = self.scorer.snapshots(mineral, 0, &importer, None).await?;
            for method in Methodology::ALL {
                let new = match self.scorer.compute_from(mineral, &importer, 0, method, &snaps) {
                    Ok(score) => score,
                    // No data for this mineral (yet): nothing to score.
                    Err(ServiceError::FailedPrecondition(_)) => continue,
                    Err(e) => return Err(e),
                };
                if self.recompute_one(mineral, &importer, method, new, cause).await? {
                    moved += 1;
                }
            }
        }
        Ok(moved)
    }

    /// Records `new` as the latest score and publishes `ScoreChanged` when it
    /// moved. Replicas may recompute one series at once: the write only
    /// lands on the latest score it compared against, so a change is
    /// published once, and a score from older data or an earlier policy day
    /// never replaces a newer one.
    async fn recompute_one(
        &self,
        mineral: &str,
        importer: &supplyrisk_engine::Importer,
        method: Methodology,
        new: pb::RiskScore,
        cause: &str,
    ) -> Result<bool, ServiceError> {
        let label = importer.label();
        let as_of = new.as_of.as_ref().and_then(|d| convert::date(d).ok());
        let point = ScorePoint {
            data_year: u16::try_from(new.data_year).unwrap_or(0),
            score: new.score,
            confidence: new.confidence,
            data_version: new.data_version.clone(),
            computed_at: new.computed_at.and_then(|t| std::time::SystemTime::try_from(t).ok()),
            kind: history_kind(cause).into(),
            as_of,
        };
        for _ in 0..MAX_RECORD_ATTEMPTS {
            let old = self.store.latest_score(mineral, method.id(), label).await?;
            if let Some(o) = &old {
                let unchanged = o.data_version == new.data_version && o.score == new.score;
                if unchanged || o.is_newer_than(&new.data_version, as_of) {
                    return Ok(false);
                }
            }
            let moved = old.as_ref().is_none_or(|o| (o.score - new.score).abs() > 1e-12);
            let event =
                moved.then(|| score_changed(mineral, label, method, old.as_ref().map(|o| o.score), &new, cause));
            let write = self
                .store
                .record_score(
                    &ScoreRecord {
                        mineral,
                        method: method.id(),
                        importer: label,
                        point: &point,
                        changed_event: event.as_deref(),
                        replaces: old.as_ref(),
                    },
                    self.settings.stream_maxlen,
                )
                .await?;
            if write != ScoreWrite::Conflict {
                return Ok(moved);
            }
        }
        Err(ServiceError::Unavailable(format!(
            "the latest {mineral} {label} {} score kept changing under this recomputation",
            method.id()
        )))
    }
}

/// Attempts to record one recomputed score while other replicas record the
/// same series; past them the batch is retried through the consumer group.
const MAX_RECORD_ATTEMPTS: usize = 4;

/// The encoded `ScoreChanged` event of a score that moved from `old`.
fn score_changed(
    mineral: &str,
    importer: &str,
    method: Methodology,
    old: Option<f64>,
    new: &pb::RiskScore,
    cause: &str,
) -> Vec<u8> {
    let carrier = propagation::current_carrier();
    let mut reasons = vec![new.top_reason.clone()];
    reasons.extend(new.notes.iter().take(2).cloned());
    ScoreChanged {
        mineral: mineral.to_string(),
        importer: importer.to_string(),
        methodology: method.id().to_string(),
        old_score: old,
        new_score: new.score,
        delta: new.score - old.unwrap_or(0.0),
        reasons,
        data_year: new.data_year,
        data_version: new.data_version.clone(),
        cause_event_id: cause.to_string(),
        trace: (!carrier.traceparent.is_empty()).then_some(TraceContext {
            traceparent: carrier.traceparent,
            tracestate: carrier.tracestate,
        }),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        Date::parse(s).expect("date")
    }

    #[test]
    fn history_tells_policy_days_from_new_data() {
        assert_eq!(history_kind(&format!("{POLICY_DAY_CAUSE}2026-11-10")), "policy_day");
        assert_eq!(history_kind("1764000000000-0"), "recomputation");
    }

    #[test]
    fn the_policy_clock_recomputes_minerals_whose_events_turn_on_or_off() {
        let event = |minerals: &[&str], from: (i32, i32, i32), suspended: Option<supplyrisk_domain::RawSuspension>| {
            PolicyEvent::validate(&supplyrisk_domain::RawPolicyEvent {
                country: "CHN".into(),
                minerals: minerals.iter().map(ToString::to_string).collect(),
                measure: Some(supplyrisk_domain::PolicyMeasure::Ban),
                effective_from: Some(from),
                suspensions: suspended.into_iter().collect(),
                severity: 1.0,
                source_reference: "test".into(),
                ..Default::default()
            })
            .expect("valid")
        };
        let events = [
            event(&["GA"], (2026, 12, 3), None),
            event(
                &["GRAPHITE"],
                (2024, 12, 3),
                Some(((2025, 11, 9), Some((2026, 11, 27)))),
            ),
            event(&["LI"], (2020, 1, 1), None),
        ];
        // The gallium ban starts on the 3rd.
        assert_eq!(
            minerals_with_boundaries(&events, day("2026-12-02"), day("2026-12-03")),
            ["GA"]
        );
        // The graphite measure resumes the day after its suspension ends.
        assert_eq!(
            minerals_with_boundaries(&events, day("2026-11-27"), day("2026-11-28")),
            ["GRAPHITE"]
        );
        // A catch-up over several days takes every boundary in between.
        assert_eq!(
            minerals_with_boundaries(&events, day("2025-11-01"), day("2026-12-03")),
            ["GA", "GRAPHITE"]
        );
        assert!(minerals_with_boundaries(&events, day("2026-12-03"), day("2026-12-03")).is_empty());
    }

    #[tokio::test]
    async fn one_lock_per_mineral() {
        let locks = MineralLocks::default();
        let ree = locks.of("REE");
        let _held = ree.lock().await;
        assert!(locks.of("REE").try_lock().is_err(), "the same mineral waits");
        assert!(locks.of("LI").try_lock().is_ok(), "another mineral does not");
    }
}
