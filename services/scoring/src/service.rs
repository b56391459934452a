//! gRPC handlers of `ScoringService`.

use std::borrow::Cow;
use std::sync::Arc;

use supplyrisk_api::convert::{self, stage_from_pb};
use supplyrisk_api::encoded::PreEncoded;
use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_api::scoring::v1::preencoded::scoring_service_server::ScoringService;
use supplyrisk_domain::catalog::MineralError;
use supplyrisk_domain::{Catalog, Date, MineralId, Stage, Violations, records};
use supplyrisk_engine::{Importer, Methodology, Scenario, Shock};
use supplyrisk_grpc::{OffsetPage, PageSizes, ServiceError, ServiceResult};
use supplyrisk_store::Store;
use tonic::{Request, Response, Status};

use crate::importers::{ImporterError, Importers};
use crate::present;
use crate::scorer::{CachedScore, Scorer};

/// Default and largest page sizes of list calls (AIP-158).
const PAGE_SIZES: PageSizes = PageSizes { default: 50, max: 500 };
const MAX_BATCH: usize = 100;
const MAX_SCENARIO_IMPORTERS: usize = 20;
const MAX_SCENARIO_SHOCKS: usize = 64;
const MAX_SCENARIO_MINERALS: usize = 16;
/// Most supply snapshots one scenario reads: members of every importer
/// times minerals shocked.
const MAX_SCENARIO_SNAPSHOTS: usize = 500;

/// A count as a `total_size` field.
fn total_size(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Implements `ScoringService`.
#[derive(Clone)]
pub struct ScoringHandler {
    scorer: Scorer,
    store: Store,
    importers: Arc<Importers>,
}

/// A validated score request.
struct Target {
    mineral: MineralId,
    importer: Importer,
    year: u16,
    method: Methodology,
    /// One stage of the chain instead of the chain's score.
    stage: Option<Stage>,
    /// The day to answer for, when not today.
    as_of: Option<Date>,
}

fn method_of(value: i32) -> Option<Methodology> {
    match pb::Methodology::try_from(value).ok()? {
        pb::Methodology::Unspecified | pb::Methodology::EuCrm => Some(Methodology::EuCrm),
        pb::Methodology::Geopolrisk => Some(Methodology::GeoPolRisk),
    }
}

impl ScoringHandler {
    /// A handler computing through `scorer`.
    pub fn new(scorer: Scorer, store: Store, importers: Arc<Importers>) -> Self {
        Self {
            scorer,
            store,
            importers,
        }
    }

    fn mineral(&self, v: &mut Violations, field: &str, input: &str) -> ServiceResult<Option<MineralId>> {
        match MineralId::parse(input) {
            Ok(m) => Ok(Some(m)),
            Err(MineralError::Unknown { input, suggestions }) => Err(ServiceError::NotFound {
                resource_type: "mineral",
                name: input,
                suggestions,
            }),
            Err(e) => {
                v.push(field, e.to_string());
                Ok(None)
            }
        }
    }

    fn importer(&self, v: &mut Violations, field: &str, input: &str) -> ServiceResult<Option<Importer>> {
        match self.importers.resolve(input) {
            Ok(i) => Ok(Some(i)),
            Err(ImporterError::Unknown { input, suggestions }) => Err(ServiceError::NotFound {
                resource_type: "importer",
                name: input,
                suggestions,
            }),
            Err(e) => {
                v.push(field, e.to_string());
                Ok(None)
            }
        }
    }

    fn year(v: &mut Violations, field: &str, year: u32) -> u16 {
        if year != 0 && !(records::MIN_YEAR..=records::MAX_YEAR).contains(&year) {
            v.push(
                field,
                format!(
                    "must be 0 (latest) or within {}..={}",
                    records::MIN_YEAR,
                    records::MAX_YEAR
                ),
            );
        }
        u16::try_from(year).unwrap_or(0)
    }

    fn method(v: &mut Violations, field: &str, value: i32) -> Methodology {
        method_of(value).unwrap_or_else(|| {
            v.push(field, "unknown methodology");
            Methodology::EuCrm
        })
    }

    fn target(&self, req: &pb::GetRiskScoreRequest, prefix: &str) -> ServiceResult<Result<Target, Violations>> {
        let mut v = Violations::new();
        // Field names are only allocated for batch entries: this is the cached hot path.
        let field = |name: &'static str| -> Cow<'static, str> {
            if prefix.is_empty() {
                Cow::Borrowed(name)
            } else {
                Cow::Owned(format!("{prefix}{name}"))
            }
        };
        let mineral = self.mineral(&mut v, &field("mineral"), &req.mineral)?;
        let importer = self.importer(&mut v, &field("importer"), &req.importer)?;
        let year = Self::year(&mut v, &field("year"), req.year);
        let method = Self::method(&mut v, &field("methodology"), req.methodology);
        let stage = if req.stage == 0 {
            None
        } else {
            Self::stage(&mut v, &field("stage"), req.stage, mineral.as_ref())
        };
        let as_of = req.as_of.as_ref().and_then(|d| match convert::date(d) {
            Ok(d) => Some(d),
            Err(e) => {
                v.push(field("as_of"), e);
                None
            }
        });
        Ok(match (mineral, importer) {
            (Some(mineral), Some(importer)) if v.is_empty() => Ok(Target {
                mineral,
                importer,
                year,
                method,
                stage,
                as_of,
            }),
            _ => Err(v),
        })
    }

    /// A stage of `mineral`'s value chain; a stage the chain lacks is a violation.
    fn stage(v: &mut Violations, field: &str, value: i32, mineral: Option<&MineralId>) -> Option<Stage> {
        let Some(stage) = stage_from_pb(value) else {
            v.push(field, "is not a known supply stage");
            return None;
        };
        let chain = mineral
            .map(|m| Catalog::builtin().chain(m.mineral()))
            .unwrap_or_default();
        if !chain.is_empty() && !chain.iter().any(|c| c.stage == stage) {
            let names: Vec<&str> = chain.iter().map(|c| c.stage.as_str()).collect();
            v.push(
                field,
                format!(
                    "{} is not a stage of this mineral's chain ({})",
                    stage.as_str(),
                    names.join(" → ")
                ),
            );
            return None;
        }
        Some(stage)
    }

    async fn get(&self, t: &Target) -> ServiceResult<Arc<CachedScore>> {
        if t.stage.is_none() && t.as_of.is_none() {
            return self
                .scorer
                .score(t.mineral.as_str(), &t.importer, t.year, t.method)
                .await;
        }
        self.scorer
            .score_uncached(t.mineral.as_str(), &t.importer, t.year, t.method, t.stage, t.as_of)
            .await
    }

    async fn list(&self, req: pb::ListRiskScoresRequest) -> ServiceResult<pb::ListRiskScoresResponse> {
        let mut v = Violations::new();
        let mineral = if req.mineral.is_empty() {
            None
        } else {
            self.mineral(&mut v, "mineral", &req.mineral)?
        };
        let importer = if req.importer.is_empty() {
            None
        } else {
            self.importer(&mut v, "importer", &req.importer)?
        };
        if req.importer.is_empty() && req.mineral.is_empty() {
            v.push("importer", "importer or mineral is required");
        }
        let catalog = Catalog::builtin();
        if !req.application.is_empty() && !catalog.applications().contains(&req.application.as_str()) {
            v.push(
                "application",
                format!("unknown application; one of {}", catalog.applications().join(", ")),
            );
        }
        let method = Self::method(&mut v, "methodology", req.methodology);
        let descending = match req.order_by.trim() {
            "" | "score desc" => true,
            "score asc" | "score" => false,
            _ => {
                v.push("order_by", "must be \"score desc\" or \"score asc\"");
                true
            }
        };
        let methodology = req.methodology.to_string();
        let query = [
            req.importer.as_str(),
            req.mineral.as_str(),
            req.application.as_str(),
            methodology.as_str(),
            req.order_by.as_str(),
        ];
        let page = OffsetPage::parse(&mut v, PAGE_SIZES, req.page_size, &req.page_token, &query);
        if !v.is_empty() {
            return Err(v.into());
        }
        let minerals: Vec<&str> = catalog
            .minerals()
            .iter()
            .filter(|m| mineral.as_ref().is_none_or(|x| x.as_str() == m.id))
            .filter(|m| req.application.is_empty() || m.applications.contains(&req.application))
            .map(|m| m.id.as_str())
            .collect();
        let importers: Vec<Importer> = match importer {
            Some(i) => vec![i],
            None => self
                .importers
                .tracked()
                .iter()
                .filter_map(|t| self.importers.resolve(t).ok())
                .collect(),
        };
        let mut scores = Vec::new();
        for imp in &importers {
            for m in &minerals {
                match self.scorer.score(m, imp, 0, method).await {
                    Ok(s) => scores.push(s),
                    // A mineral without data has no score; it is not ranked as zero.
                    Err(ServiceError::FailedPrecondition(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        scores.sort_by(|a, b| {
            let o = a.score.total_cmp(&b.score).then_with(|| b.mineral.cmp(&a.mineral));
            if descending { o.reverse() } else { o }
        });
        Ok(pb::ListRiskScoresResponse {
            scores: page.of(&scores).iter().map(|s| pb::RiskScore::clone(s)).collect(),
            next_page_token: page.next_token(scores.len()),
            total_size: total_size(scores.len()),
        })
    }

    async fn suppliers(&self, req: pb::ListScoreSuppliersRequest) -> ServiceResult<pb::ListScoreSuppliersResponse> {
        let (year, methodology) = (req.year.to_string(), req.methodology.to_string());
        let query = [
            req.mineral.as_str(),
            req.importer.as_str(),
            year.as_str(),
            methodology.as_str(),
        ];
        let mut v = Violations::new();
        let page = OffsetPage::parse(&mut v, PAGE_SIZES, req.page_size, &req.page_token, &query);
        let score = pb::GetRiskScoreRequest {
            mineral: req.mineral,
            importer: req.importer,
            year: req.year,
            methodology: req.methodology,
            ..Default::default()
        };
        let target = match self.target(&score, "")? {
            Ok(t) => Some(t),
            Err(e) => {
                v.0.extend(e.0);
                None
            }
        };
        let Some(t) = target.filter(|_| v.is_empty()) else {
            return Err(v.into());
        };
        let (score, version) = self
            .scorer
            .with_every_supplier(t.mineral.as_str(), &t.importer, t.year, t.method)
            .await?;
        let suppliers = &score.top_suppliers;
        Ok(pb::ListScoreSuppliersResponse {
            suppliers: page.of(suppliers).iter().map(present::supplier).collect(),
            next_page_token: page.next_token(suppliers.len()),
            total_size: total_size(suppliers.len()),
            stage: supplyrisk_api::convert::stage_to_pb(score.stage) as i32,
            data_version: version,
        })
    }

    async fn history(&self, req: pb::GetScoreHistoryRequest) -> ServiceResult<pb::GetScoreHistoryResponse> {
        let target = self
            .target(
                &pb::GetRiskScoreRequest {
                    mineral: req.mineral,
                    importer: req.importer,
                    year: 0,
                    methodology: req.methodology,
                    ..Default::default()
                },
                "",
            )?
            .map_err(ServiceError::from)?;
        let snaps = self
            .scorer
            .snapshots(target.mineral.as_str(), 0, &target.importer, None)
            .await?;
        let years: Vec<u32> = snaps.first().map(|s| s.available_years.clone()).unwrap_or_default();
        let mut points = Vec::new();
        for year in years {
            let y = u16::try_from(year).unwrap_or(0);
            match self
                .scorer
                .score(target.mineral.as_str(), &target.importer, y, target.method)
                .await
            {
                Ok(s) => points.push(pb::HistoryPoint {
                    data_year: s.data_year,
                    score: s.score,
                    confidence: s.confidence,
                    data_version: s.data_version.clone(),
                    computed_at: s.computed_at,
                    kind: "data_year".into(),
                    as_of: s.as_of,
                }),
                Err(ServiceError::FailedPrecondition(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let stored = self
            .store
            .score_history(target.mineral.as_str(), target.method.id(), target.importer.label())
            .await?;
        let mut recomputations: Vec<pb::HistoryPoint> = stored.iter().map(present::history_point).collect();
        recomputations.reverse();
        points.extend(recomputations);
        Ok(pb::GetScoreHistoryResponse { points })
    }

    async fn simulate(&self, req: pb::SimulateScenarioRequest) -> ServiceResult<pb::SimulateScenarioResponse> {
        let mut v = Violations::new();
        if req.shocks.is_empty() {
            v.push("shocks", "at least one shock is required");
        }
        if req.shocks.len() > MAX_SCENARIO_SHOCKS {
            // Refused before any shock is read: their number alone is the problem.
            v.push(
                "shocks",
                format!(
                    "at most {MAX_SCENARIO_SHOCKS} shocks per scenario, got {}",
                    req.shocks.len()
                ),
            );
            return Err(v.into());
        }
        let mut by_mineral: std::collections::BTreeMap<String, Vec<Shock>> = Default::default();
        for (i, s) in req.shocks.iter().enumerate() {
            let supplier = v.check(
                &format!("shocks[{i}].supplier"),
                supplyrisk_domain::Iso3::parse(&s.supplier),
            );
            let mineral = self.mineral(&mut v, &format!("shocks[{i}].mineral"), &s.mineral)?;
            if !(s.cut.is_finite() && s.cut > 0.0 && s.cut <= 1.0) {
                v.push(
                    format!("shocks[{i}].cut"),
                    format!("must be within (0, 1], got {}", s.cut),
                );
            }
            if let (Some(c), Some(m)) = (supplier, mineral) {
                by_mineral
                    .entry(m.to_string())
                    .or_default()
                    .push(Shock::export_cut(c.as_str(), s.cut));
            }
        }
        if by_mineral.len() > MAX_SCENARIO_MINERALS {
            v.push(
                "shocks",
                format!(
                    "shocks name {} minerals; at most {MAX_SCENARIO_MINERALS} per scenario",
                    by_mineral.len()
                ),
            );
        }
        if req.importers.is_empty() || req.importers.len() > MAX_SCENARIO_IMPORTERS {
            v.push(
                "importers",
                format!("between 1 and {MAX_SCENARIO_IMPORTERS} importers are required"),
            );
        }
        let mut importers = Vec::new();
        for (i, imp) in req.importers.iter().take(MAX_SCENARIO_IMPORTERS).enumerate() {
            if let Some(x) = self.importer(&mut v, &format!("importers[{i}]"), imp)? {
                importers.push(x);
            }
        }
        let snapshots = importers.iter().map(|i| i.members().len()).sum::<usize>() * by_mineral.len();
        if snapshots > MAX_SCENARIO_SNAPSHOTS {
            v.push(
                "importers",
                format!(
                    "this scenario reads {snapshots} supply snapshots (importer members × minerals); \
                     at most {MAX_SCENARIO_SNAPSHOTS} per request"
                ),
            );
        }
        let year = Self::year(&mut v, "year", req.year);
        let method = Self::method(&mut v, "methodology", req.methodology);
        let headroom = req.rerouting_headroom;
        if !(headroom.is_finite() && (0.0..=1.0).contains(&headroom)) {
            v.push("rerouting_headroom", "must be within 0..=1");
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        // Inputs are read concurrently (the scorer bounds the calls in
        // flight); the simulations then run off the async workers, so a
        // large scenario never stalls health checks or other calls.
        let pairs = importers.iter().flat_map(|importer| {
            by_mineral
                .iter()
                .map(move |(mineral, shocks)| (importer, mineral, shocks))
        });
        let work = futures::future::try_join_all(pairs.map(|(importer, mineral, shocks)| async move {
            let (inputs, version) = self.scorer.inputs(mineral, year, importer, method).await?;
            Ok::<_, ServiceError>((
                importer.label().to_string(),
                mineral.clone(),
                shocks.clone(),
                inputs,
                version,
            ))
        }))
        .await?;
        let params = Scorer::method_params(method);
        let results = tokio::task::spawn_blocking(move || {
            work.into_iter()
                .map(|(importer, mineral, shocks, inputs, version)| {
                    let scenario = Scenario::new("request", shocks).with_headroom(headroom);
                    let outcome = supplyrisk_engine::simulate(&inputs, &scenario, &params)
                        .map_err(|e| ServiceError::FailedPrecondition(format!("cannot simulate: {e}")))?;
                    Ok(present::scenario_result(
                        &importer,
                        &mineral,
                        &outcome,
                        &version,
                        headroom,
                        std::time::SystemTime::now(),
                    ))
                })
                .collect::<ServiceResult<Vec<_>>>()
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("scenario task ended: {e}")))??;
        Ok(pb::SimulateScenarioResponse { results })
    }
}

#[tonic::async_trait]
impl ScoringService for ScoringHandler {
    async fn get_risk_score(&self, request: Request<pb::GetRiskScoreRequest>) -> Result<Response<PreEncoded>, Status> {
        // Repeats are answered from memory before this runs (see `startup`).
        let req = request.get_ref();
        let target = self.target(req, "")?.map_err(ServiceError::from)?;
        let score = self.get(&target).await?;
        self.scorer.cache_answer(req, &score);
        Ok(Response::new(score.encoded().clone()))
    }

    async fn batch_get_risk_scores(
        &self,
        request: Request<pb::BatchGetRiskScoresRequest>,
    ) -> Result<Response<pb::BatchGetRiskScoresResponse>, Status> {
        let req = request.into_inner();
        let mut v = Violations::new();
        if req.requests.is_empty() || req.requests.len() > MAX_BATCH {
            v.push("requests", format!("between 1 and {MAX_BATCH} requests are required"));
        }
        let mut targets = Vec::new();
        for (i, r) in req.requests.iter().enumerate() {
            match self.target(r, &format!("requests[{i}]."))? {
                Ok(t) => targets.push(t),
                Err(e) => v.0.extend(e.0),
            }
        }
        if !v.is_empty() {
            return Err(ServiceError::from(v).into());
        }
        let mut scores = Vec::with_capacity(targets.len());
        for t in &targets {
            scores.push(pb::RiskScore::clone(&*self.get(t).await?));
        }
        Ok(Response::new(pb::BatchGetRiskScoresResponse { scores }))
    }

    async fn list_risk_scores(
        &self,
        request: Request<pb::ListRiskScoresRequest>,
    ) -> Result<Response<pb::ListRiskScoresResponse>, Status> {
        Ok(Response::new(self.list(request.into_inner()).await?))
    }

    async fn get_score_history(
        &self,
        request: Request<pb::GetScoreHistoryRequest>,
    ) -> Result<Response<pb::GetScoreHistoryResponse>, Status> {
        Ok(Response::new(self.history(request.into_inner()).await?))
    }

    async fn simulate_scenario(
        &self,
        request: Request<pb::SimulateScenarioRequest>,
    ) -> Result<Response<pb::SimulateScenarioResponse>, Status> {
        Ok(Response::new(self.simulate(request.into_inner()).await?))
    }

    async fn list_blocs(
        &self,
        _request: Request<pb::ListBlocsRequest>,
    ) -> Result<Response<pb::ListBlocsResponse>, Status> {
        let blocs = self
            .importers
            .blocs()
            .iter()
            .map(|(id, members)| pb::Bloc {
                id: id.clone(),
                members: members.clone(),
            })
            .collect();
        Ok(Response::new(pb::ListBlocsResponse { blocs }))
    }

    async fn list_score_suppliers(
        &self,
        request: Request<pb::ListScoreSuppliersRequest>,
    ) -> Result<Response<pb::ListScoreSuppliersResponse>, Status> {
        Ok(Response::new(self.suppliers(request.into_inner()).await?))
    }
}
