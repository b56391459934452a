//! gRPC handlers of `IngestService`.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use supplyrisk_api::convert;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_api::ingest::v1::ingest_service_server::IngestService;
use supplyrisk_domain::{Catalog, Date, Iso3, MineralId, TradeFlow, Violations};
use supplyrisk_grpc::{ClientStream, CursorPage, PageSizes, ServiceError, ServiceResult};
use supplyrisk_store::{Replay, ReplayKind, Store};
use supplyrisk_telemetry::metrics;
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use crate::bulk::BulkRuntime;
use crate::replay::{self, RequestDigest};
use crate::settings::IngestSection;
use crate::snapshot::SnapshotService;
use crate::writes::{OrderedWrites, accepted_and_unchanged};

/// Longest accepted upload id.
const MAX_UPLOAD_ID_LEN: usize = 128;
/// Default and largest page sizes of list calls (AIP-158).
const PAGE_SIZES: PageSizes = PageSizes { default: 50, max: 500 };

/// Implements `IngestService` over the store.
#[derive(Clone)]
pub struct IngestHandler {
    store: Store,
    settings: Arc<IngestSection>,
    snapshots: SnapshotService,
    bulk: BulkRuntime,
    /// One permit per import allowed to run at once.
    imports: Arc<Semaphore>,
    /// How long an upload or import stream may stay silent.
    stream_idle: Duration,
}

/// When a refused import may try again: imports of the shipped files take
/// seconds, so sooner would mostly be refused again.
const IMPORT_RETRY_AFTER: Duration = Duration::from_secs(5);

impl IngestHandler {
    /// A handler over `store`; uploads and imports run on `bulk`, and
    /// their streams end after `stream_idle` without a message.
    pub fn new(store: Store, settings: IngestSection, bulk: BulkRuntime, stream_idle: Duration) -> Self {
        let snapshots = SnapshotService::new(store.clone(), settings.snapshot_cache_entries);
        let imports = Arc::new(Semaphore::new(settings.max_concurrent_imports));
        Self {
            store,
            settings: Arc::new(settings),
            snapshots,
            bulk,
            imports,
            stream_idle,
        }
    }
}

/// Checks an upload id (idempotency key).
pub fn check_upload_id(id: &str) -> Result<(), Violations> {
    let ok = !id.is_empty()
        && id.len() <= MAX_UPLOAD_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        let mut v = Violations::new();
        v.push(
            "upload_id",
            format!("is required on the first message: 1-{MAX_UPLOAD_ID_LEN} characters of A-Z a-z 0-9 - _ . :"),
        );
        Err(v)
    }
}

/// Accumulates per-record outcomes of a batch.
struct Tally {
    accepted: u64,
    unchanged: u64,
    rejected: Vec<pb::RejectedRecord>,
    rejected_count: u64,
    listed: usize,
}

impl Tally {
    fn new(listed: usize) -> Self {
        Self {
            accepted: 0,
            unchanged: 0,
            rejected: Vec::new(),
            rejected_count: 0,
            listed,
        }
    }

    fn reject(&mut self, index: u64, violations: Violations) {
        self.rejected_count += 1;
        for v in violations.0 {
            if self.rejected.len() < self.listed {
                self.rejected.push(pb::RejectedRecord {
                    index,
                    field: v.field,
                    reason: v.description,
                });
            }
        }
    }

    fn written(&mut self, valid: usize, changed: u64) {
        let (accepted, unchanged) = accepted_and_unchanged(valid, changed);
        self.accepted += accepted;
        self.unchanged += unchanged;
    }

    fn response(self) -> pb::UpsertResponse {
        pb::UpsertResponse {
            accepted: self.accepted,
            unchanged: self.unchanged,
            rejected: self.rejected,
            rejected_count: self.rejected_count,
        }
    }
}

fn batch_size_check(len: usize, max: usize, field: &str) -> ServiceResult<()> {
    let mut v = Violations::new();
    if len == 0 {
        v.push(field, "at least one record is required");
    } else if len > max {
        v.push(field, format!("{len} records exceed the limit of {max} per call"));
    }
    if v.is_empty() { Ok(()) } else { Err(v.into()) }
}

/// Validates every record of a batch, returning the valid ones and tallying the rest.
fn validate_all<P, D>(items: &[P], tally: &mut Tally, validate: impl Fn(&P) -> Result<D, Violations>) -> Vec<D> {
    let mut valid = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match validate(item) {
            Ok(d) => valid.push(d),
            Err(v) => tally.reject(i as u64, v),
        }
    }
    valid
}

impl IngestHandler {
    /// Validates a batch, writes the valid records in one atomic write, and
    /// tallies accepted, unchanged and rejected records.
    async fn upsert_batch<P, D, W, Fut>(
        &self,
        kind: &str,
        items: &[P],
        field: &str,
        validate: impl Fn(&P) -> Result<D, Violations>,
        write: W,
    ) -> ServiceResult<pb::UpsertResponse>
    where
        W: FnOnce(Vec<D>) -> Fut,
        Fut: std::future::Future<Output = Result<supplyrisk_store::WriteOutcome, supplyrisk_store::StoreError>>,
    {
        batch_size_check(items.len(), self.settings.max_batch_records, field)?;
        let mut tally = Tally::new(self.settings.max_rejected_listed);
        let valid = validate_all(items, &mut tally, validate);
        if !valid.is_empty() {
            let n = valid.len();
            let out = write(valid).await?;
            tally.written(n, out.changed);
        }
        let resp = tally.response();
        metrics::ingest_records(kind, resp.accepted, resp.unchanged, resp.rejected_count);
        Ok(resp)
    }

    async fn ingest_trade_flows_inner(
        &self,
        principal: &str,
        stream: Streaming<pb::IngestTradeFlowsRequest>,
    ) -> ServiceResult<pb::IngestTradeFlowsResponse> {
        let mut stream = ClientStream::new(stream, self.stream_idle, "upload");
        let first = stream.next().await?;
        let Some(first) = first else {
            let mut v = Violations::new();
            v.push("upload_id", "the stream was empty; send upload_id and flows");
            return Err(v.into());
        };
        check_upload_id(&first.upload_id)?;
        let upload_id = first.upload_id.clone();
        // Flows are digested one by one: a retry may cut them into other messages.
        let mut digest = RequestDigest::new("upload");
        let mut scratch = Vec::new();
        if let Some(kept) = self.store.replay(ReplayKind::Upload, principal, &upload_id).await? {
            let mut next = Some(first);
            while let Some(msg) = match next.take() {
                Some(m) => Some(m),
                None => stream.next().await?,
            } {
                msg.flows.iter().for_each(|f| digest.update_message(f, &mut scratch));
            }
            if digest.finish() != kept.digest {
                return Err(replay::conflict("upload", &upload_id));
            }
            let mut resp = pb::IngestTradeFlowsResponse::decode(kept.answer.as_slice())
                .map_err(|e| ServiceError::Internal(format!("stored upload response: {e}")))?;
            resp.replayed = true;
            tracing::info!(upload_id, "upload already finished; replaying its response");
            return Ok(resp);
        }
        let mut tally = Tally::new(self.settings.max_rejected_listed);
        let chunk_size = self.settings.write_chunk_records;
        let mut chunk: Vec<TradeFlow> = Vec::with_capacity(chunk_size);
        let mut index: u64 = 0;
        // Chunks go to Redis two at a time, in order wherever their keys
        // meet, while the next chunk is decoded and validated (writes.rs).
        let mut writes = OrderedWrites::new(self.store.clone(), upload_id.clone());
        let mut next = Some(first);
        loop {
            let msg = match next.take() {
                Some(m) => Some(m),
                None => stream.next().await?,
            };
            let done = msg.is_none();
            if let Some(msg) = msg {
                for flow in &msg.flows {
                    digest.update_message(flow, &mut scratch);
                    match convert::trade_flow(flow) {
                        Ok(f) => chunk.push(f),
                        Err(v) => tally.reject(index, v),
                    }
                    index += 1;
                    // A full chunk goes out at once: one large message
                    // becomes many bounded writes, never one long script.
                    if chunk.len() >= chunk_size {
                        let batch = std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
                        for (n, changed) in writes.send(batch).await? {
                            tally.written(n, changed);
                        }
                    }
                }
            }
            if done && !chunk.is_empty() {
                let batch = std::mem::take(&mut chunk);
                for (n, changed) in writes.send(batch).await? {
                    tally.written(n, changed);
                }
            }
            if done {
                break;
            }
        }
        for (n, changed) in writes.finish().await? {
            tally.written(n, changed);
        }
        let summary = tally.response();
        let resp = pb::IngestTradeFlowsResponse {
            upload_id: upload_id.clone(),
            accepted: summary.accepted,
            unchanged: summary.unchanged,
            rejected: summary.rejected,
            rejected_count: summary.rejected_count,
            replayed: false,
        };
        let kept = Replay {
            digest: digest.finish(),
            answer: resp.encode_to_vec(),
        };
        self.store
            .put_replay(ReplayKind::Upload, principal, &upload_id, &kept)
            .await?;
        metrics::ingest_records("trade_flows", resp.accepted, resp.unchanged, resp.rejected_count);
        tracing::info!(
            upload_id,
            accepted = resp.accepted,
            unchanged = resp.unchanged,
            rejected = resp.rejected_count,
            "upload finished"
        );
        Ok(resp)
    }

    async fn list_policy_events_inner(
        &self,
        req: pb::ListPolicyEventsRequest,
    ) -> ServiceResult<pb::ListPolicyEventsResponse> {
        let mut v = Violations::new();
        let mineral = if req.mineral.is_empty() {
            None
        } else {
            v.check("mineral", MineralId::parse(&req.mineral))
        };
        let country = if req.country.is_empty() {
            None
        } else {
            v.check("country", Iso3::parse(&req.country))
        };
        let active_at = match &req.active_at {
            Some(d) => v.check("active_at", convert::date(d)),
            None => None,
        };
        let active_at_filter = req
            .active_at
            .as_ref()
            .map(|d| format!("{}-{}-{}", d.year, d.month, d.day))
            .unwrap_or_default();
        let filters = [req.mineral.as_str(), req.country.as_str(), active_at_filter.as_str()];
        let page = CursorPage::parse(&mut v, PAGE_SIZES, req.page_size, &req.page_token, &filters);
        if !v.is_empty() {
            return Err(v.into());
        }
        let page_size = page.size();
        let mut after = page.cursor().map(str::to_string);
        let mut events = Vec::new();
        let mut next_token = String::new();
        loop {
            let stored = self.store.list_policy_events(after.as_deref(), page_size).await?;
            for e in &stored.events {
                after = Some(e.id.clone());
                let keep = mineral.as_ref().is_none_or(|m| e.minerals.contains(m))
                    && country.as_ref().is_none_or(|c| &e.country == c)
                    && active_at.is_none_or(|d: Date| e.active_on(d));
                if keep {
                    events.push(convert::policy_event_to_pb(e));
                    if events.len() == page_size {
                        break;
                    }
                }
            }
            if events.len() == page_size {
                if let Some(last) = &after {
                    next_token = page.token_at(last);
                }
                break;
            }
            if stored.next_after.is_none() {
                break;
            }
        }
        Ok(pb::ListPolicyEventsResponse {
            events,
            next_page_token: next_token,
        })
    }
}

#[tonic::async_trait]
impl IngestService for IngestHandler {
    async fn ingest_trade_flows(
        &self,
        request: Request<Streaming<pb::IngestTradeFlowsRequest>>,
    ) -> Result<Response<pb::IngestTradeFlowsResponse>, Status> {
        let this = self.clone();
        let principal = supplyrisk_grpc::caller(&request)?.name;
        let stream = request.into_inner();
        let work = async move { this.ingest_trade_flows_inner(&principal, stream).await }.in_current_span();
        Ok(Response::new(self.bulk.run(work).await?))
    }

    async fn upsert_production(
        &self,
        request: Request<pb::UpsertProductionRequest>,
    ) -> Result<Response<pb::UpsertResponse>, Status> {
        let stats = request.into_inner().stats;
        let store = &self.store;
        let resp = self
            .upsert_batch(
                "production",
                &stats,
                "stats",
                convert::production_stat,
                |valid| async move { store.write_production(&valid).await },
            )
            .await?;
        Ok(Response::new(resp))
    }

    async fn upsert_governance(
        &self,
        request: Request<pb::UpsertGovernanceRequest>,
    ) -> Result<Response<pb::UpsertResponse>, Status> {
        let indicators = request.into_inner().indicators;
        let store = &self.store;
        let resp = self
            .upsert_batch(
                "governance",
                &indicators,
                "indicators",
                convert::governance,
                |valid| async move { store.write_governance(&valid).await },
            )
            .await?;
        Ok(Response::new(resp))
    }

    async fn record_policy_event(
        &self,
        request: Request<pb::RecordPolicyEventRequest>,
    ) -> Result<Response<pb::RecordPolicyEventResponse>, Status> {
        let Some(event) = request.into_inner().event else {
            let mut v = Violations::new();
            v.push("event", "is required");
            return Err(ServiceError::from(v).into());
        };
        let event = convert::policy_event(&event).map_err(|v| ServiceError::from(v.nested("event")))?;
        let out = self
            .store
            .write_policy_event(&event)
            .await
            .map_err(ServiceError::from)?;
        let changed = u64::from(out.changed > 0);
        metrics::ingest_records("policy_events", changed, 1 - changed, 0);
        tracing::info!(id = %event.id, changed = out.changed > 0, "policy event recorded");
        Ok(Response::new(pb::RecordPolicyEventResponse {
            event: Some(convert::policy_event_to_pb(&event)),
            changed: out.changed > 0,
        }))
    }

    async fn list_policy_events(
        &self,
        request: Request<pb::ListPolicyEventsRequest>,
    ) -> Result<Response<pb::ListPolicyEventsResponse>, Status> {
        let req = request.into_inner();
        Ok(Response::new(
            supplyrisk_grpc::retry_read(|| self.list_policy_events_inner(req.clone())).await?,
        ))
    }

    async fn upsert_stockpile(
        &self,
        request: Request<pb::UpsertStockpileRequest>,
    ) -> Result<Response<pb::UpsertStockpileResponse>, Status> {
        let Some(s) = request.into_inner().stockpile else {
            let mut v = Violations::new();
            v.push("stockpile", "is required");
            return Err(ServiceError::from(v).into());
        };
        let s = convert::stockpile(&s).map_err(|v| ServiceError::from(v.nested("stockpile")))?;
        let out = self.store.write_stockpile(&s).await.map_err(ServiceError::from)?;
        let changed = u64::from(out.changed > 0);
        metrics::ingest_records("stockpiles", changed, 1 - changed, 0);
        Ok(Response::new(pb::UpsertStockpileResponse {
            stockpile: Some(convert::stockpile_to_pb(&s)),
            changed: out.changed > 0,
        }))
    }

    async fn list_minerals(
        &self,
        _request: Request<pb::ListMineralsRequest>,
    ) -> Result<Response<pb::ListMineralsResponse>, Status> {
        let minerals = Catalog::builtin()
            .minerals()
            .iter()
            .map(convert::mineral_to_pb)
            .collect();
        Ok(Response::new(pb::ListMineralsResponse { minerals }))
    }

    type ImportDatasetStream = tokio_stream::wrappers::ReceiverStream<Result<pb::ImportDatasetResponse, Status>>;

    async fn import_dataset(
        &self,
        request: Request<Streaming<pb::ImportDatasetRequest>>,
    ) -> Result<Response<Self::ImportDatasetStream>, Status> {
        let permit = self
            .imports
            .clone()
            .try_acquire_owned()
            .map_err(|_| ServiceError::ResourceExhausted {
                what: format!(
                    "{} imports are already running on this replica; retry later",
                    self.settings.max_concurrent_imports
                ),
                retry_after: IMPORT_RETRY_AFTER,
            })?;
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let (store, settings) = (self.store.clone(), self.settings.clone());
        let principal = supplyrisk_grpc::caller(&request)?.name;
        let inbound = ClientStream::new(request.into_inner(), self.stream_idle, "import");
        let import = crate::import::run(store, settings, principal, inbound, tx);
        self.bulk.spawn(
            async move {
                import.await;
                drop(permit);
            }
            .in_current_span(),
        );
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    async fn get_supply_snapshot(
        &self,
        request: Request<pb::GetSupplySnapshotRequest>,
    ) -> Result<Response<pb::SupplySnapshot>, Status> {
        let req = request.into_inner();
        Ok(Response::new(
            supplyrisk_grpc::retry_read(|| self.snapshots.get(req.clone())).await?,
        ))
    }
}
