//! `ImportDataset`: whole files in standard formats, streamed.
//!
//! Bytes are parsed as they arrive (the parsers are push-based and hold at
//! most one record, or one commodity block for the USGS world file), valid
//! records are buffered up to a bound and written in atomic chunks, and
//! progress flows back on the response stream. Memory stays flat in the
//! file size: a BACI year file of a gigabyte needs no more than a small one.

use std::collections::BTreeMap;

use prost::Message;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_api::ingest::v1::{import_dataset_request, import_dataset_response};
use supplyrisk_domain::{
    GovernanceIndicator, Iso3, ProductionStat, ReportedStatistic, TradeFlow, Violations, WorldTotal,
};
use supplyrisk_formats::{Format, Item, Options, Record, SalientCategory, TotalScope, UsgsValue};
use supplyrisk_grpc::{ClientStream, ServiceError, ServiceResult};
use supplyrisk_store::{Replay, ReplayKind, Store, WriteOutcome};

use crate::replay::{self, RequestDigest};
use supplyrisk_telemetry::metrics;
use tokio::sync::mpsc;
use tonic::Status;

use crate::settings::IngestSection;
use crate::writes::{OrderedWrites, accepted_and_unchanged};

/// Records buffered per kind before a write.
const FLUSH_RECORDS: usize = 5000;
/// Bytes of a message parsed between flushes: whatever a message holds
/// (16 MiB of empty rows, or gzip inflating 200:1), the records and
/// rejections waiting for a write stay bounded by this much input.
const FEED_PIECE: usize = 8 * 1024;
/// Progress is reported at least every this many bytes or rows.
const PROGRESS_BYTES: u64 = 1 << 20;
const PROGRESS_ROWS: u64 = 10_000;

/// Wire format → parser format.
pub fn format_from_pb(value: i32) -> Option<Format> {
    use pb::DatasetFormat as D;
    Some(match D::try_from(value).ok()? {
        D::Baci => Format::Baci,
        D::BaciCountryCodes => Format::BaciCountryCodes,
        D::Comtrade => Format::Comtrade,
        D::UsgsMcsWorld => Format::UsgsMcsWorld,
        D::UsgsMcsSalient => Format::UsgsMcsSalient,
        D::UsgsImportReliance => Format::UsgsImportReliance,
        D::WorldMiningData => Format::WorldMiningData,
        D::WmdHsCodeMap => Format::WmdHsCodeMap,
        D::WgiPv => Format::WgiPv,
        D::Wgi => Format::Wgi,
        D::PolicyEvents => Format::PolicyEvents,
        D::StageSupply => Format::StageSupply,
        D::EuCrmSupplyShares => Format::EuCrmSupplyShares,
        D::IeaCmdeSupply => Format::IeaCmdeSupply,
        D::Unspecified => return None,
    })
}

/// A published value → (exact value, qualifier, bound). A qualified value
/// keeps its qualifier and is never turned into a number it is not.
pub fn reported_value(v: &UsgsValue) -> (Option<f64>, &'static str, Option<f64>) {
    match v {
        UsgsValue::Number(x) => (Some(*x), "", None),
        UsgsValue::GreaterThan(x) => (None, ">", Some(*x)),
        UsgsValue::LessThan(x) => (None, "<", Some(*x)),
        UsgsValue::LessThanHalfUnit => (None, "<0.5 unit", None),
        UsgsValue::NetExporter => (None, "net exporter", None),
        UsgsValue::Withheld => (None, "withheld", None),
        UsgsValue::NotAvailable => (None, "not available", None),
        UsgsValue::Missing => (None, "missing", None),
    }
}

fn category_name(c: SalientCategory) -> &'static str {
    match c {
        SalientCategory::Production => "production",
        SalientCategory::Imports => "imports",
        SalientCategory::Exports => "exports",
        SalientCategory::Consumption => "consumption",
        SalientCategory::Price => "price",
        SalientCategory::Stocks => "stocks",
        SalientCategory::NetImportReliance => "net_import_reliance",
        SalientCategory::Employment => "employment",
        SalientCategory::Shipments => "shipments",
        SalientCategory::Other => "other",
    }
}

/// The country USGS statistics describe.
fn usgs_country() -> Iso3 {
    Iso3::parse("USA").expect("USA is in the country registry")
}

/// Routes parsed items into buffers and writes them in chunks.
struct Sink {
    store: Store,
    trade: Vec<TradeFlow>,
    trade_writes: OrderedWrites,
    production: Vec<ProductionStat>,
    totals: Vec<WorldTotal>,
    governance: Vec<GovernanceIndicator>,
    reported: Vec<ReportedStatistic>,
    policies: Vec<supplyrisk_domain::PolicyEvent>,
    progress: pb::ImportProgress,
    rejected_rows: Vec<pb::RejectedRow>,
    skipped_by_kind: BTreeMap<String, u64>,
    max_listed: usize,
}

impl Sink {
    fn reject(&mut self, line: u64, column: String, reason: String) {
        self.progress.rejected += 1;
        if self.rejected_rows.len() < self.max_listed {
            self.rejected_rows.push(pb::RejectedRow { line, column, reason });
        }
    }

    fn reject_violations(&mut self, line: u64, v: Violations) {
        let column = v.0.first().map(|f| f.field.clone()).unwrap_or_default();
        self.reject(line, column, v.to_string());
    }

    fn skip(&mut self, kind: &str) {
        self.progress.skipped += 1;
        *self.skipped_by_kind.entry(kind.to_string()).or_default() += 1;
    }

    fn take(&mut self, item: Item) {
        match item {
            Item::Rejected { line, column, reason } => self.reject(line, column, reason),
            Item::Skipped { reason, .. } => self.skip(reason.kind()),
            Item::Record { line, record } => self.take_record(line, record),
        }
    }

    fn take_record(&mut self, line: u64, record: Record) {
        match record {
            Record::Trade(raw) => match TradeFlow::validate(&raw) {
                Ok(f) => self.trade.push(f),
                Err(v) => self.reject_violations(line, v),
            },
            Record::Production(p) => match ProductionStat::validate(&p.stat) {
                Ok(s) => self.production.push(s),
                Err(v) => self.reject_violations(line, v),
            },
            Record::Total(t) if t.scope == TotalScope::World => self.totals.push(WorldTotal {
                mineral: t.mineral,
                stage: t.stage,
                year: t.year,
                quantity: t.quantity,
                unit: t.unit,
                source: t.source,
            }),
            // The unattributed share follows from the world total; the row itself is not stored.
            Record::Total(_) => self.skip("other_countries"),
            Record::Governance(raw) => match GovernanceIndicator::validate(&raw) {
                Ok(g) => self.governance.push(g),
                Err(v) => self.reject_violations(line, v),
            },
            Record::Policy(raw) => match supplyrisk_domain::PolicyEvent::validate(&raw) {
                Ok(e) => self.policies.push(e),
                Err(v) => self.reject_violations(line, v),
            },
            Record::Salient(s) => {
                let (value, qualifier, bound) = reported_value(&s.value);
                self.reported.push(ReportedStatistic {
                    mineral: s.mineral,
                    country: usgs_country(),
                    category: category_name(s.category).into(),
                    statistic: s.statistic,
                    year: s.year,
                    unit: s.unit,
                    value,
                    qualifier: qualifier.into(),
                    bound,
                    major_sources: Vec::new(),
                    source: s.source,
                });
            }
            Record::ImportReliance(r) => {
                let (value, qualifier, bound) = reported_value(&r.percent);
                self.reported.push(ReportedStatistic {
                    mineral: r.mineral,
                    country: usgs_country(),
                    category: "net_import_reliance".into(),
                    statistic: "Net import reliance, percent of apparent consumption".into(),
                    year: r.year,
                    unit: "percent".into(),
                    value,
                    qualifier: qualifier.into(),
                    bound,
                    major_sources: r.major_sources,
                    source: r.source,
                });
            }
            // Reference tables are checked by the parser; the catalog and the
            // country registry already carry what they say.
            Record::SheetMap(_) | Record::BaciCountry(_) => self.skip("reference_table"),
        }
    }

    fn count(&mut self, records: usize, out: WriteOutcome) {
        self.count_changed(records, out.changed);
    }

    fn count_changed(&mut self, records: usize, changed: u64) {
        let (accepted, unchanged) = accepted_and_unchanged(records, changed);
        self.progress.accepted += accepted;
        self.progress.unchanged += unchanged;
    }

    /// Writes every buffer holding at least `min` records; `min = 0` also
    /// waits for every trade write still in Redis.
    async fn flush(&mut self, min: usize) -> ServiceResult<()> {
        if self.trade.len() >= min.max(1) {
            let batch = std::mem::take(&mut self.trade);
            for (n, changed) in self.trade_writes.send(batch).await? {
                self.count_changed(n, changed);
            }
        }
        if min == 0 {
            for (n, changed) in self.trade_writes.finish().await? {
                self.count_changed(n, changed);
            }
        }
        if self.production.len() >= min.max(1) {
            let batch = std::mem::take(&mut self.production);
            let out = self.store.write_production(&batch).await?;
            self.count(batch.len(), out);
        }
        if self.totals.len() >= min.max(1) {
            let batch = std::mem::take(&mut self.totals);
            let out = self.store.write_world_totals(&batch).await?;
            self.count(batch.len(), out);
        }
        if self.governance.len() >= min.max(1) {
            let batch = std::mem::take(&mut self.governance);
            let out = self.store.write_governance(&batch).await?;
            self.count(batch.len(), out);
        }
        if self.reported.len() >= min.max(1) {
            let batch = std::mem::take(&mut self.reported);
            let out = self.store.write_reported(&batch).await?;
            self.count(batch.len(), out);
        }
        for event in std::mem::take(&mut self.policies) {
            let out = self.store.write_policy_event(&event).await?;
            let changed = u64::from(out.changed > 0);
            self.progress.accepted += changed;
            self.progress.unchanged += 1 - changed;
        }
        Ok(())
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> ServiceError {
    let mut v = Violations::new();
    v.push(field, reason);
    v.into()
}

/// Runs one import, sending progress and the summary (or the error) to `tx`.
pub async fn run(
    store: Store,
    settings: std::sync::Arc<IngestSection>,
    principal: String,
    inbound: ClientStream<pb::ImportDatasetRequest>,
    tx: mpsc::Sender<Result<pb::ImportDatasetResponse, Status>>,
) {
    if let Err(e) = import(store, settings, &principal, inbound, &tx).await {
        let _ = tx.send(Err(e.into())).await;
    }
}

async fn import(
    store: Store,
    settings: std::sync::Arc<IngestSection>,
    principal: &str,
    mut inbound: ClientStream<pb::ImportDatasetRequest>,
    tx: &mpsc::Sender<Result<pb::ImportDatasetResponse, Status>>,
) -> ServiceResult<()> {
    let header = match inbound.next().await?.and_then(|m| m.item) {
        Some(import_dataset_request::Item::Header(h)) => h,
        _ => {
            return Err(invalid(
                "header",
                "the first message must be the header (format, upload_id)",
            ));
        }
    };
    let mut v = Violations::new();
    let format = format_from_pb(header.format);
    if format.is_none() {
        v.push("header.format", "is required (BACI, COMTRADE, USGS_MCS_WORLD, …)");
    }
    if let Err(e) = crate::service::check_upload_id(&header.upload_id) {
        v.0.extend(e.nested("header").0);
    }
    let source = header.source_name.trim().to_string();
    if source.len() > supplyrisk_domain::records::MAX_SOURCE_LEN || source.contains('|') {
        v.push("header.source_name", "must be at most 64 characters without '|'");
    }
    if !v.is_empty() {
        return Err(v.into());
    }
    let format = format.ok_or_else(|| ServiceError::Internal("format checked".into()))?;
    // The file's bytes are digested as one stream: a retry may chunk it otherwise.
    let mut digest = RequestDigest::new("import");
    digest.update(format.name().as_bytes());
    digest.update(source.as_bytes());
    if let Some(kept) = store.replay(ReplayKind::Import, principal, &header.upload_id).await? {
        while let Some(msg) = inbound.next().await? {
            if let Some(import_dataset_request::Item::Chunk(bytes)) = msg.item {
                digest.update_stream(&bytes);
            }
        }
        if digest.finish() != kept.digest {
            return Err(replay::conflict("import", &header.upload_id));
        }
        let mut summary = pb::ImportSummary::decode(kept.answer.as_slice())
            .map_err(|e| ServiceError::Internal(format!("stored import summary: {e}")))?;
        summary.replayed = true;
        let _ = tx
            .send(Ok(pb::ImportDatasetResponse {
                item: Some(import_dataset_response::Item::Summary(summary)),
            }))
            .await;
        return Ok(());
    }
    let options = Options {
        source: (!source.is_empty()).then(|| source.clone()),
        max_record_bytes: supplyrisk_formats::DEFAULT_MAX_RECORD_BYTES,
        inflate: supplyrisk_formats::InflateLimits {
            max_bytes: settings.max_inflated_bytes,
            max_ratio: settings.max_inflate_ratio,
        },
        ..Default::default()
    };
    let mut parser = supplyrisk_formats::parser(format, options);
    let mut sink = Sink {
        trade_writes: OrderedWrites::new(store.clone(), String::new()),
        store,
        trade: Vec::new(),
        production: Vec::new(),
        totals: Vec::new(),
        governance: Vec::new(),
        reported: Vec::new(),
        policies: Vec::new(),
        progress: pb::ImportProgress::default(),
        rejected_rows: Vec::new(),
        skipped_by_kind: BTreeMap::new(),
        max_listed: settings.max_rejected_listed,
    };
    let (mut next_bytes, mut next_rows) = (PROGRESS_BYTES, PROGRESS_ROWS);
    while let Some(msg) = inbound.next().await? {
        match msg.item {
            Some(import_dataset_request::Item::Chunk(bytes)) => {
                digest.update_stream(&bytes);
                sink.progress.bytes_read += bytes.len() as u64;
                for piece in bytes.chunks(FEED_PIECE) {
                    parser.feed_with(piece, &mut |item| sink.take(item));
                    sink.flush(FLUSH_RECORDS).await?;
                }
            }
            Some(import_dataset_request::Item::Header(_)) => {
                return Err(invalid("header", "only the first message may be a header"));
            }
            None => {}
        }
        sink.progress.rows_read = parser.summary().rows;
        if sink.progress.bytes_read >= next_bytes || sink.progress.rows_read >= next_rows {
            next_bytes = sink.progress.bytes_read + PROGRESS_BYTES;
            next_rows = sink.progress.rows_read + PROGRESS_ROWS;
            let progress = import_dataset_response::Item::Progress(sink.progress);
            if tx
                .send(Ok(pb::ImportDatasetResponse { item: Some(progress) }))
                .await
                .is_err()
            {
                return Ok(());
            }
        }
    }
    let finished = parser.finish();
    for item in finished.items {
        sink.take(item);
    }
    sink.flush(0).await?;
    sink.progress.rows_read = finished.summary.rows;
    let summary = pb::ImportSummary {
        upload_id: header.upload_id.clone(),
        format: header.format,
        source_name: if source.is_empty() {
            format.default_source().to_string()
        } else {
            source
        },
        totals: Some(sink.progress),
        rejected_rows: sink.rejected_rows,
        skipped_by_kind: sink.skipped_by_kind.into_iter().collect(),
        replayed: false,
    };
    let kept = Replay {
        digest: digest.finish(),
        answer: summary.encode_to_vec(),
    };
    sink.store
        .put_replay(ReplayKind::Import, principal, &header.upload_id, &kept)
        .await?;
    let totals = &sink.progress;
    metrics::ingest_records(format.name(), totals.accepted, totals.unchanged, totals.rejected);
    tracing::info!(
        upload_id = header.upload_id,
        format = %format,
        accepted = sink.progress.accepted,
        unchanged = sink.progress.unchanged,
        rejected = sink.progress.rejected,
        skipped = sink.progress.skipped,
        "import finished"
    );
    let _ = tx
        .send(Ok(pb::ImportDatasetResponse {
            item: Some(import_dataset_response::Item::Summary(summary)),
        }))
        .await;
    Ok(())
}
