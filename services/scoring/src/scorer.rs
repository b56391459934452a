//! Computing scores: snapshots over gRPC, the engine, and a cache.
//!
//! The in-process cache is keyed by (mineral, importer, year, method) and
//! each score carries the stamp of the data generations of its mineral and of
//! governance when it was computed; the stream follower bumps a generation
//! for every `DataChanged` event, so a stale entry simply stops matching —
//! invalidation by version, never by scan. Concurrent misses for the same key
//! wait on one computation (single flight).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use lru::LruCache;
use prost::Message;
use supplyrisk_api::convert;
use supplyrisk_api::encoded::PreEncoded;
use supplyrisk_api::ingest::v1 as ipb;
use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_domain::{Catalog, Date};
use supplyrisk_engine::{
    EngineError, EuCrmParams, GprParams, Importer, MethodParams, Methodology, Score, Stage, SupplyInputs,
};
use supplyrisk_grpc::client::Channel;
use supplyrisk_grpc::client::ClientInterceptor;
use supplyrisk_grpc::{ServiceError, ServiceResult};
use tokio::sync::OnceCell;
use tonic::service::interceptor::InterceptedService;

use crate::answer_cache::AnswerCache;
use crate::fanout::Fanout;
use crate::inputs;
use crate::present;

/// Suppliers listed with each score (the rest are summed into the components).
pub const TOP_SUPPLIERS: usize = 5;

/// Client of the ingest service.
pub type IngestClient = IngestServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// Cache key: mineral, importer label, requested year (0 = latest), method.
type Key = (String, String, u16, Methodology);

/// A computed score with its wire encoding, made once when it is cached,
/// and the data generations it was computed at.
#[derive(Debug)]
pub struct CachedScore {
    message: pb::RiskScore,
    encoded: PreEncoded,
    stamp: Option<Stamp>,
}

impl CachedScore {
    fn new(message: pb::RiskScore, stamp: Option<Stamp>) -> Self {
        let encoded = PreEncoded::new(&message);
        Self {
            message,
            encoded,
            stamp,
        }
    }

    /// The score as sent by `GetRiskScore`, already encoded.
    pub fn encoded(&self) -> &PreEncoded {
        &self.encoded
    }
}

impl std::ops::Deref for CachedScore {
    type Target = pb::RiskScore;

    fn deref(&self) -> &pb::RiskScore {
        &self.message
    }
}

/// Days since 1970-01-01, UTC.
fn epoch_day() -> i64 {
    let secs = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(0)
}

/// Today's date, UTC: the day scores answer for by default.
pub fn today() -> Date {
    Date::today()
}

/// Data generations, bumped by the stream follower on every change: one per
/// catalog mineral and one for governance, read without a lock.
///
/// A cached score carries the stamp of the generations it was computed at; a change of
/// another mineral leaves it valid.
#[derive(Debug)]
pub struct Generations {
    minerals: Box<[AtomicU64]>,
    governance: AtomicU64,
}

/// The generations a score was computed at: its mineral's position in
/// the catalog, that mineral's generation and governance's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    mineral: usize,
    generations: (u64, u64),
    /// The UTC day it was taken: scores answer as of today, so a new day
    /// may bring policy events into or out of force.
    day: i64,
}

impl Default for Generations {
    fn default() -> Self {
        Self {
            minerals: Catalog::builtin()
                .minerals()
                .iter()
                .map(|_| AtomicU64::new(0))
                .collect(),
            governance: AtomicU64::new(0),
        }
    }
}

impl Generations {
    fn at(&self, index: usize) -> (u64, u64) {
        let mineral = self.minerals.get(index).map_or(0, |g| g.load(Ordering::Acquire));
        (mineral, self.governance.load(Ordering::Acquire))
    }

    /// The stamp of `mineral` now, or `None` outside the catalog.
    pub fn stamp(&self, mineral: &str) -> Option<Stamp> {
        let index = Catalog::builtin().index_of(mineral)?;
        Some(Stamp {
            mineral: index,
            generations: self.at(index),
            day: epoch_day(),
        })
    }

    /// Whether nothing `stamp` depends on changed since it was taken.
    pub fn is_current(&self, stamp: &Stamp) -> bool {
        self.at(stamp.mineral) == stamp.generations && stamp.day == epoch_day()
    }

    /// Records a change of `minerals` (empty = every mineral, e.g. governance).
    pub fn bump(&self, minerals: &[String], governance: bool) {
        let catalog = Catalog::builtin();
        let mut everything = governance || minerals.is_empty();
        for m in minerals {
            let Some(i) = catalog.index_of(m) else {
                // An id the catalog does not know: invalidate everything.
                everything = true;
                continue;
            };
            self.minerals[i].fetch_add(1, Ordering::AcqRel);
            // Members of a group (DY in REE) use the group's trade data.
            for (j, member) in catalog.minerals().iter().enumerate() {
                if member.parent.as_deref() == Some(m.as_str()) {
                    self.minerals[j].fetch_add(1, Ordering::AcqRel);
                }
            }
        }
        if everything {
            self.governance.fetch_add(1, Ordering::AcqRel);
        }
    }
}

type Flight = Arc<OnceCell<Result<Arc<CachedScore>, ServiceError>>>;

/// Computes and caches scores.
#[derive(Clone)]
pub struct Scorer {
    ingest: IngestClient,
    importers: Arc<crate::importers::Importers>,
    /// Least recently used scores go first when full.
    cache: Arc<Mutex<LruCache<Key, Arc<CachedScore>>>>,
    flights: Arc<Mutex<HashMap<Key, Flight>>>,
    generations: Arc<Generations>,
    answers: Arc<AnswerCache<Stamp, PreEncoded>>,
    fanout: Fanout,
}

/// What a mineral without any data lacks, stage by stage, and how to load it.
fn missing_data(mineral: &str, year: u16) -> String {
    let when = if year == 0 {
        String::new()
    } else {
        format!(" in {year}")
    };
    let catalog = Catalog::builtin();
    let chain = catalog.get(mineral).map(|m| catalog.chain(m)).unwrap_or_default();
    if chain.is_empty() {
        return format!("no data for {mineral}{when}: import production or trade data first");
    }
    let stages: Vec<String> = chain
        .iter()
        .map(|c| {
            let name = c.label.clone().unwrap_or_else(|| c.stage.as_str().to_string());
            match &c.trade_note {
                Some(note) => format!("{name}: no production data; no trade data ({note})"),
                None => format!("{name}: no production or trade data"),
            }
        })
        .collect();
    format!(
        "no data for {mineral}{when} at any stage of its chain — {}; load supply by stage with the STAGE_SUPPLY format (docs/data.md)",
        stages.join("; ")
    )
}

fn engine_error(e: EngineError) -> ServiceError {
    ServiceError::FailedPrecondition(format!("cannot score: {e}"))
}

impl Scorer {
    /// A scorer reading snapshots through `ingest`, keeping up to
    /// `capacity` scores, with at most `fanout`'s permits of snapshot calls
    /// in flight.
    pub fn new(
        ingest: IngestClient,
        importers: Arc<crate::importers::Importers>,
        capacity: usize,
        fanout: Fanout,
    ) -> Self {
        let entries = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            ingest,
            importers,
            cache: Arc::new(Mutex::new(LruCache::new(entries))),
            flights: Arc::new(Mutex::new(HashMap::new())),
            generations: Arc::new(Generations::default()),
            answers: Arc::new(AnswerCache::new(capacity)),
            fanout,
        }
    }

    /// The data generations, for the stream follower.
    pub fn generations(&self) -> Arc<Generations> {
        self.generations.clone()
    }

    /// Whether `score` was computed from the data as it is now.
    fn is_current(&self, score: &CachedScore) -> bool {
        score.stamp.is_some_and(|s| self.generations.is_current(&s))
    }

    /// The answer cached for a `GetRiskScore` request message's exact
    /// bytes, as one gRPC message frame, while its data is unchanged.
    pub fn cached_answer(&self, request: &[u8]) -> Option<Bytes> {
        let answer = self.answers.get(request, |stamp| self.generations.is_current(stamp))?;
        supplyrisk_telemetry::metrics::score_answer_cache_hit();
        Some(answer.into_frame())
    }

    /// Caches `score` as the answer to a validated `request`, valid
    /// while the data it was computed from is unchanged.
    pub fn cache_answer(&self, request: &pb::GetRiskScoreRequest, score: &CachedScore) {
        if let Some(stamp) = score.stamp {
            self.answers
                .insert(&request.encode_to_vec(), stamp, score.encoded().clone());
        }
    }

    /// One snapshot per member of `importer`, in member order.
    /// Policy events are those in force on `as_of`, today (UTC) by default.
    pub async fn snapshots(
        &self,
        mineral: &str,
        year: u16,
        importer: &Importer,
        as_of: Option<Date>,
    ) -> ServiceResult<Vec<ipb::SupplySnapshot>> {
        let as_of = Some(convert::date_to_pb(as_of.unwrap_or_else(today)));
        let calls = importer.members().iter().map(|member| {
            let req = ipb::GetSupplySnapshotRequest {
                mineral: mineral.to_string(),
                year: u32::from(year),
                importer: member.clone(),
                as_of,
                ..Default::default()
            };
            self.fanout.run(supplyrisk_grpc::retry_read(move || {
                let mut client = self.ingest.clone();
                let req = req.clone();
                async move {
                    client
                        .get_supply_snapshot(req)
                        .await
                        .map(tonic::Response::into_inner)
                        .map_err(ServiceError::from)
                }
            }))
        });
        futures::future::join_all(calls).await.into_iter().collect()
    }

    /// Engine inputs for a score.
    pub async fn inputs(
        &self,
        mineral: &str,
        year: u16,
        importer: &Importer,
        method: Methodology,
    ) -> ServiceResult<(SupplyInputs, String)> {
        let snaps = self.snapshots(mineral, year, importer, None).await?;
        self.inputs_from(mineral, year, importer, method, &snaps)
    }

    /// Engine inputs from snapshots already fetched.
    fn inputs_from(
        &self,
        mineral: &str,
        year: u16,
        importer: &Importer,
        method: Methodology,
        snaps: &[ipb::SupplySnapshot],
    ) -> ServiceResult<(SupplyInputs, String)> {
        let version = snaps.first().map(|s| s.data_version.clone()).unwrap_or_default();
        let agreements = self.importers.agreements(importer.label());
        let inputs = inputs::build(method, importer, snaps, agreements)
            .ok_or_else(|| ServiceError::FailedPrecondition(missing_data(mineral, year)))?;
        Ok((inputs, version))
    }

    /// The engine method, with the parameters every answer of `method` uses
    /// (scores, rankings and both sides of a scenario).
    pub fn method_params(method: Methodology) -> MethodParams {
        Self::method_params_listing(method, TOP_SUPPLIERS)
    }

    /// [`Self::method_params`] listing up to `suppliers` suppliers.
    fn method_params_listing(method: Methodology, suppliers: usize) -> MethodParams {
        match method {
            Methodology::EuCrm => MethodParams::EuCrm(EuCrmParams {
                top_suppliers: suppliers,
                trace_traders: true,
                ..Default::default()
            }),
            Methodology::GeoPolRisk => MethodParams::GeoPolRisk(GprParams {
                top_suppliers: suppliers,
            }),
        }
    }

    /// The score with every supplier listed, computed now (not cached), and
    /// the data version it was computed from.
    pub async fn with_every_supplier(
        &self,
        mineral: &str,
        importer: &Importer,
        year: u16,
        method: Methodology,
    ) -> ServiceResult<(Score, String)> {
        let (inputs, version) = self.inputs(mineral, year, importer, method).await?;
        let score = Self::method_params_listing(method, usize::MAX)
            .score(&inputs)
            .map_err(engine_error)?;
        Ok((score, version))
    }

    /// Scores `inputs` with `method`.
    pub fn evaluate(inputs: &SupplyInputs, method: Methodology) -> ServiceResult<Score> {
        Self::method_params(method).score(inputs).map_err(engine_error)
    }

    /// Computes a score now, bypassing the cache.
    pub async fn compute(
        &self,
        mineral: &str,
        importer: &Importer,
        year: u16,
        method: Methodology,
    ) -> ServiceResult<pb::RiskScore> {
        let snaps = self.snapshots(mineral, year, importer, None).await?;
        self.compute_from(mineral, importer, year, method, &snaps)
    }

    /// Computes a score from snapshots already fetched (one fetch serves both methods).
    pub fn compute_from(
        &self,
        mineral: &str,
        importer: &Importer,
        year: u16,
        method: Methodology,
        snaps: &[ipb::SupplySnapshot],
    ) -> ServiceResult<pb::RiskScore> {
        let (inputs, version) = self.inputs_from(mineral, year, importer, method, snaps)?;
        let score = Self::evaluate(&inputs, method)?;
        Ok(Self::present(&score, &version, snaps))
    }

    /// Every recorded policy event, all pages.
    pub async fn policy_events(&self) -> ServiceResult<Vec<ipb::PolicyEvent>> {
        let client = self.ingest.clone();
        let events = supplyrisk_grpc::client::all_pages(|page_token| {
            let mut client = client.clone();
            async move {
                let page = client
                    .list_policy_events(ipb::ListPolicyEventsRequest {
                        page_size: 500,
                        page_token,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                Ok((page.events, page.next_page_token))
            }
        })
        .await?;
        Ok(events)
    }

    /// The wire score, with the day its policy events were taken as of.
    fn present(score: &Score, version: &str, snaps: &[ipb::SupplySnapshot]) -> pb::RiskScore {
        let mut message = present::risk_score(score, version, SystemTime::now());
        message.as_of = snaps.first().and_then(|s| s.as_of);
        message
    }

    /// A score narrowed to one stage of the chain or answered as of a given
    /// day, computed now: the keyed cache holds today's chain scores only
    /// (repeats are still answered from memory).
    pub async fn score_uncached(
        &self,
        mineral: &str,
        importer: &Importer,
        year: u16,
        method: Methodology,
        stage: Option<Stage>,
        as_of: Option<Date>,
    ) -> ServiceResult<Arc<CachedScore>> {
        let stamp = self.generations.stamp(mineral);
        let snaps = self.snapshots(mineral, year, importer, as_of).await?;
        let (mut inputs, version) = self.inputs_from(mineral, year, importer, method, &snaps)?;
        if let Some(stage) = stage {
            inputs.stages.retain(|s| s.stage == stage);
            if inputs.stages.is_empty() {
                return Err(ServiceError::FailedPrecondition(format!(
                    "{mineral} has no data at the {} stage",
                    stage.as_str()
                )));
            }
        }
        let score = Self::evaluate(&inputs, method)?;
        Ok(Arc::new(CachedScore::new(
            Self::present(&score, &version, &snaps),
            stamp,
        )))
    }

    /// The cached score of `key`, current or not; a hit makes it the most recently used.
    fn cached(&self, key: &Key) -> Option<Arc<CachedScore>> {
        self.cache.lock().ok().and_then(|mut c| c.get(key).cloned())
    }

    /// Caches `score`; a full cache lets go of its least recently used score only.
    fn remember(&self, key: Key, score: Arc<CachedScore>) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(key, score);
        }
    }

    /// The score, from the cache when its data is unchanged.
    pub async fn score(
        &self,
        mineral: &str,
        importer: &Importer,
        year: u16,
        method: Methodology,
    ) -> ServiceResult<Arc<CachedScore>> {
        let key: Key = (mineral.to_string(), importer.label().to_string(), year, method);
        if let Some(score) = self.cached(&key)
            && self.is_current(&score)
        {
            supplyrisk_telemetry::metrics::score_cache_hit();
            return Ok(score);
        }
        supplyrisk_telemetry::metrics::score_cache_miss();
        let flight = {
            let mut flights = self
                .flights
                .lock()
                .map_err(|_| ServiceError::Internal("poisoned".into()))?;
            flights
                .entry(key.clone())
                .or_insert_with(|| Arc::new(OnceCell::new()))
                .clone()
        };
        let result = flight
            .get_or_init(|| async {
                // Taken before the inputs are read: a change meanwhile leaves
                // the result stale at once instead of current for too long.
                let stamp = self.generations.stamp(mineral);
                let r = self
                    .compute(mineral, importer, year, method)
                    .await
                    .map(|score| Arc::new(CachedScore::new(score, stamp)));
                if let Ok(score) = &r {
                    self.remember(key.clone(), score.clone());
                }
                r
            })
            .await
            .clone();
        if let Ok(mut flights) = self.flights.lock()
            && flights.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight))
        {
            flights.remove(&key);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_moves_its_minerals_group_members_and_nothing_else() {
        let g = Generations::default();
        let (ree, dy, co) = (
            g.stamp("REE").expect("REE"),
            g.stamp("DY").expect("DY"),
            g.stamp("CO").expect("CO"),
        );
        g.bump(&["REE".to_string()], false);
        assert!(!g.is_current(&ree) && !g.is_current(&dy), "the group and its members");
        assert!(g.is_current(&co), "another mineral's answers stay valid");
        assert_eq!(g.stamp("CO"), Some(co));
        g.bump(&[], true);
        assert!(!g.is_current(&co), "governance moves every mineral");
        let co = g.stamp("CO").expect("CO");
        g.bump(&["NOT_A_MINERAL".to_string()], false);
        assert!(!g.is_current(&co), "an unknown id invalidates everything");
        assert!(g.stamp("NOT_A_MINERAL").is_none());
    }

    fn scorer(capacity: usize) -> Scorer {
        let upstream = supplyrisk_config::EndpointSettings::plain("http://127.0.0.1:9", "t", 100);
        let (channel, auth) = supplyrisk_service::Upstream::ingest(&upstream)
            .connect()
            .expect("a lazy channel");
        let importers =
            crate::importers::Importers::from_settings(&crate::importers::tests::section()).expect("importers");
        Scorer::new(
            IngestServiceClient::with_interceptor(channel, auth),
            Arc::new(importers),
            capacity,
            Fanout::new(1),
        )
    }

    #[tokio::test]
    async fn a_full_cache_lets_go_of_the_least_recently_used_score_only() {
        let scorer = scorer(2);
        let key = |m: &str| (m.to_string(), "JPN".to_string(), 2024, Methodology::EuCrm);
        let score = || Arc::new(CachedScore::new(pb::RiskScore::default(), None));
        scorer.remember(key("REE"), score());
        scorer.remember(key("CO"), score());
        assert!(
            scorer.cached(&key("REE")).is_some(),
            "REE is now the most recently used"
        );
        scorer.remember(key("LI"), score());
        assert!(scorer.cached(&key("REE")).is_some(), "kept: used last");
        assert!(scorer.cached(&key("LI")).is_some(), "kept: just added");
        assert!(scorer.cached(&key("CO")).is_none(), "evicted: least recently used");
    }

    #[test]
    fn every_answer_lists_the_same_number_of_suppliers() {
        for kind in [Methodology::EuCrm, Methodology::GeoPolRisk] {
            let listed = match Scorer::method_params(kind) {
                MethodParams::EuCrm(p) => p.top_suppliers,
                MethodParams::GeoPolRisk(p) => p.top_suppliers,
            };
            assert_eq!(listed, TOP_SUPPLIERS, "{kind:?}");
        }
    }
}
