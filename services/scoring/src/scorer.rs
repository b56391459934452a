//! Computing scores: snapshots over gRPC, the engine, and a cache.
//!
//! The in-process cache is keyed by (mineral, importer, year, method) and
//! each entry remembers the data generations of its mineral and of
//! governance when it was computed; the stream follower bumps a generation
//! for every `DataChanged` event, so a stale entry simply stops matching —
//! invalidation by version, never by scan. Concurrent misses for the same key
//! wait on one computation (single flight).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use supplyrisk_api::encoded::PreEncoded;
use supplyrisk_api::ingest::v1 as ipb;
use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_domain::Catalog;
use supplyrisk_engine::{EngineError, EuCrmParams, GprParams, Importer, Method, Score, SupplyInputs};
use supplyrisk_grpc::client::Channel;
use supplyrisk_grpc::client::ClientInterceptor;
use supplyrisk_grpc::{ServiceError, ServiceResult};
use tokio::sync::OnceCell;
use tonic::service::interceptor::InterceptedService;

use crate::inputs::{self, MethodKind};
use crate::present;
use crate::recent::{RecentAnswers, RequestRef};

/// Suppliers listed with each score (the rest are summed into the components).
pub const TOP_SUPPLIERS: usize = 5;

/// Client of the ingest service.
pub type IngestClient = IngestServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// Cache key: mineral, importer label, requested year (0 = latest), method.
type Key = (String, String, u16, MethodKind);

#[derive(Clone)]
struct Entry {
    score: Arc<CachedScore>,
    generations: (u64, u64),
}

/// A computed score with its wire encoding, made once when it is cached.
#[derive(Debug)]
pub struct CachedScore {
    message: pb::RiskScore,
    encoded: PreEncoded,
}

impl CachedScore {
    fn new(message: pb::RiskScore) -> Self {
        let encoded = PreEncoded::new(&message);
        Self { message, encoded }
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

/// Data generations, bumped by the stream follower on every change.
///
/// Per-mineral generations keep cached scores of other minerals valid; the
/// epoch counts every change and guards the answers remembered by request.
#[derive(Debug, Default)]
pub struct Generations {
    counts: Mutex<GenerationCounts>,
    epoch: AtomicU64,
}

#[derive(Debug, Default)]
struct GenerationCounts {
    minerals: HashMap<String, u64>,
    governance: u64,
}

impl Generations {
    /// The generations of `mineral` and of governance.
    fn of(&self, mineral: &str) -> (u64, u64) {
        self.counts.lock().map_or((u64::MAX, u64::MAX), |c| {
            (c.minerals.get(mineral).copied().unwrap_or(0), c.governance)
        })
    }

    /// How many changes were recorded so far.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Records a change of `minerals` (empty = every mineral, e.g. governance).
    pub fn bump(&self, minerals: &[String], governance: bool) {
        if let Ok(mut counts) = self.counts.lock() {
            if governance || minerals.is_empty() {
                counts.governance += 1;
            }
            let catalog = Catalog::builtin();
            for m in minerals {
                *counts.minerals.entry(m.clone()).or_default() += 1;
                // Members of a group (DY in REE) use the group's trade data.
                for member in catalog
                    .minerals()
                    .iter()
                    .filter(|x| x.parent.as_deref() == Some(m.as_str()))
                {
                    *counts.minerals.entry(member.id.clone()).or_default() += 1;
                }
            }
        }
        // After the counts, so whoever sees the new epoch sees them too.
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

type Flight = Arc<OnceCell<Result<Arc<CachedScore>, ServiceError>>>;

/// Computes and caches scores.
#[derive(Clone)]
pub struct Scorer {
    ingest: IngestClient,
    importers: Arc<crate::importers::Importers>,
    cache: Arc<Mutex<HashMap<Key, Entry>>>,
    flights: Arc<Mutex<HashMap<Key, Flight>>>,
    generations: Arc<Generations>,
    recent: Arc<RecentAnswers<PreEncoded>>,
    capacity: usize,
}

fn engine_error(e: EngineError) -> ServiceError {
    ServiceError::FailedPrecondition(format!("cannot score: {e}"))
}

impl Scorer {
    /// A scorer reading snapshots through `ingest`.
    pub fn new(ingest: IngestClient, importers: Arc<crate::importers::Importers>, capacity: usize) -> Self {
        Self {
            ingest,
            importers,
            cache: Arc::new(Mutex::new(HashMap::new())),
            flights: Arc::new(Mutex::new(HashMap::new())),
            generations: Arc::new(Generations::default()),
            recent: Arc::new(RecentAnswers::new(capacity)),
            capacity,
        }
    }

    /// The data generations, for the stream follower.
    pub fn generations(&self) -> Arc<Generations> {
        self.generations.clone()
    }

    fn current(&self, mineral: &str) -> (u64, u64) {
        self.generations.of(mineral)
    }

    /// The data epoch; read it before looking up an answer to [`Self::remember`].
    pub fn epoch(&self) -> u64 {
        self.generations.epoch()
    }

    /// The answer remembered for this exact request, while no data changed.
    pub fn recall(&self, request: &RequestRef<'_>) -> Option<PreEncoded> {
        self.recent.recall(request, self.epoch())
    }

    /// Remembers `score` as the answer to a validated `request`, looked up
    /// after reading `epoch`.
    pub fn remember(&self, request: &RequestRef<'_>, epoch: u64, score: &CachedScore) {
        self.recent.remember(request, epoch, score.encoded().clone());
    }

    /// One snapshot per member of `importer`, in member order.
    pub async fn snapshots(
        &self,
        mineral: &str,
        year: u16,
        importer: &Importer,
    ) -> ServiceResult<Vec<ipb::SupplySnapshot>> {
        let calls = importer.members().iter().map(|member| {
            let mut client = self.ingest.clone();
            let req = ipb::GetSupplySnapshotRequest {
                mineral: mineral.to_string(),
                year: u32::from(year),
                importer: member.clone(),
            };
            async move { client.get_supply_snapshot(req).await.map(tonic::Response::into_inner) }
        });
        let mut out = Vec::new();
        for r in futures::future::join_all(calls).await {
            out.push(r.map_err(ServiceError::from)?);
        }
        Ok(out)
    }

    /// Engine inputs for a score.
    pub async fn inputs(
        &self,
        mineral: &str,
        year: u16,
        importer: &Importer,
        method: MethodKind,
    ) -> ServiceResult<(SupplyInputs, String)> {
        let snaps = self.snapshots(mineral, year, importer).await?;
        self.inputs_from(mineral, year, importer, method, &snaps)
    }

    /// Engine inputs from snapshots already fetched.
    fn inputs_from(
        &self,
        mineral: &str,
        year: u16,
        importer: &Importer,
        method: MethodKind,
        snaps: &[ipb::SupplySnapshot],
    ) -> ServiceResult<(SupplyInputs, String)> {
        let version = snaps.first().map(|s| s.data_version.clone()).unwrap_or_default();
        let agreements = self.importers.agreements(importer.label());
        let inputs = inputs::build(method, importer, snaps, agreements).ok_or_else(|| {
            ServiceError::FailedPrecondition(format!(
                "no data for {mineral}{}: import production or trade data first",
                if year == 0 {
                    String::new()
                } else {
                    format!(" in {year}")
                }
            ))
        })?;
        Ok((inputs, version))
    }

    /// The engine method, with the parameters every answer of `method` uses
    /// (scores, rankings and both sides of a scenario).
    pub fn engine_method(method: MethodKind) -> Method {
        match method {
            MethodKind::EuCrm => Method::EuCrm(EuCrmParams {
                top_suppliers: TOP_SUPPLIERS,
                ..Default::default()
            }),
            MethodKind::GeoPolRisk => Method::GeoPolRisk(GprParams {
                top_suppliers: TOP_SUPPLIERS,
            }),
        }
    }

    /// Scores `inputs` with `method`.
    pub fn evaluate(inputs: &SupplyInputs, method: MethodKind) -> ServiceResult<Score> {
        Self::engine_method(method).score(inputs).map_err(engine_error)
    }

    /// Computes a score now, bypassing the cache.
    pub async fn compute(
        &self,
        mineral: &str,
        importer: &Importer,
        year: u16,
        method: MethodKind,
    ) -> ServiceResult<pb::RiskScore> {
        let snaps = self.snapshots(mineral, year, importer).await?;
        self.compute_from(mineral, importer, year, method, &snaps)
    }

    /// Computes a score from snapshots already fetched (one fetch serves both methods).
    pub fn compute_from(
        &self,
        mineral: &str,
        importer: &Importer,
        year: u16,
        method: MethodKind,
        snaps: &[ipb::SupplySnapshot],
    ) -> ServiceResult<pb::RiskScore> {
        let (inputs, version) = self.inputs_from(mineral, year, importer, method, snaps)?;
        let score = Self::evaluate(&inputs, method)?;
        Ok(present::risk_score(&score, &version, SystemTime::now()))
    }

    /// The score, from the cache when its data is unchanged.
    pub async fn score(
        &self,
        mineral: &str,
        importer: &Importer,
        year: u16,
        method: MethodKind,
    ) -> ServiceResult<Arc<CachedScore>> {
        let key: Key = (mineral.to_string(), importer.label().to_string(), year, method);
        let now = self.current(mineral);
        if let Some(e) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned())
            && e.generations == now
        {
            supplyrisk_telemetry::metrics::score_cache_hit();
            return Ok(e.score);
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
                let generations = self.current(mineral);
                let r = self
                    .compute(mineral, importer, year, method)
                    .await
                    .map(|score| Arc::new(CachedScore::new(score)));
                if let Ok(score) = &r
                    && let Ok(mut cache) = self.cache.lock()
                {
                    if cache.len() >= self.capacity {
                        cache.clear();
                    }
                    cache.insert(
                        key.clone(),
                        Entry {
                            score: score.clone(),
                            generations,
                        },
                    );
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
    fn every_answer_lists_the_same_number_of_suppliers() {
        for kind in [MethodKind::EuCrm, MethodKind::GeoPolRisk] {
            let listed = match Scorer::engine_method(kind) {
                Method::EuCrm(p) => p.top_suppliers,
                Method::GeoPolRisk(p) => p.top_suppliers,
            };
            assert_eq!(listed, TOP_SUPPLIERS, "{kind:?}");
        }
    }
}
