//! Streams a data file through `ImportDataset`, as the CLI does, so tests
//! load the shipped public data through the real ingest path.

use std::path::PathBuf;

use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_api::ingest::v1::{import_dataset_request, import_dataset_response};

use crate::{INGESTER_TOKEN, ingest_client};

/// The bytes of a file under the repository's `data/`.
pub fn data(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data").join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The request stream of one import: the header, then `bytes` in chunks of
/// `chunk` bytes.
pub fn messages(
    format: pb::DatasetFormat,
    upload_id: &str,
    bytes: &[u8],
    chunk: usize,
) -> Vec<pb::ImportDatasetRequest> {
    let header = pb::ImportHeader {
        format: format as i32,
        source_name: String::new(),
        upload_id: upload_id.into(),
    };
    let mut msgs = vec![pb::ImportDatasetRequest {
        item: Some(import_dataset_request::Item::Header(header)),
    }];
    msgs.extend(bytes.chunks(chunk).map(|c| pb::ImportDatasetRequest {
        item: Some(import_dataset_request::Item::Chunk(c.to_vec())),
    }));
    msgs
}

/// Streams `bytes` as one import and returns the progress messages and the
/// summary.
pub async fn import(
    endpoint: &str,
    format: pb::DatasetFormat,
    upload_id: &str,
    bytes: &[u8],
    chunk: usize,
) -> Result<(Vec<pb::ImportProgress>, pb::ImportSummary), tonic::Status> {
    import_as(endpoint, INGESTER_TOKEN, format, upload_id, bytes, chunk).await
}

/// As [`import`], calling with `token`.
pub async fn import_as(
    endpoint: &str,
    token: &str,
    format: pb::DatasetFormat,
    upload_id: &str,
    bytes: &[u8],
    chunk: usize,
) -> Result<(Vec<pb::ImportProgress>, pb::ImportSummary), tonic::Status> {
    let mut client = ingest_client(endpoint, Some(token)).await;
    let mut stream = client
        .import_dataset(tokio_stream::iter(messages(format, upload_id, bytes, chunk)))
        .await?
        .into_inner();
    let mut progress = Vec::new();
    while let Some(msg) = stream.message().await? {
        match msg.item {
            Some(import_dataset_response::Item::Progress(p)) => progress.push(p),
            Some(import_dataset_response::Item::Summary(s)) => return Ok((progress, s)),
            None => {}
        }
    }
    panic!("the stream ended without a summary");
}

/// Imports the shipped file `data/<path>` in 1 MiB chunks, asserting that no
/// row was rejected, and returns the summary.
pub async fn import_shipped(endpoint: &str, format: pb::DatasetFormat, path: &str) -> pb::ImportSummary {
    let upload_id: String = path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect();
    let (_, summary) = import(endpoint, format, &upload_id, &data(path), 1 << 20)
        .await
        .unwrap_or_else(|s| panic!("{path}: {s}"));
    let rejected = summary.totals.as_ref().map_or(0, |t| t.rejected);
    assert_eq!(rejected, 0, "{path}: {:?}", summary.rejected_rows);
    summary
}
