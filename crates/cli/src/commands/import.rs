//! `supplyrisk import FORMAT FILE`: streams one data file through the
//! ingest service's `ImportDataset`, showing progress on stderr, and
//! `supplyrisk import bundled` ([`bundled`]), every shipped file in turn.

pub mod bundled;
mod glob;
mod manifest;

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_api::ingest::v1::{import_dataset_request, import_dataset_response};

use crate::cli::Output;
use crate::connect::IngestClient;
use crate::error::CliError;
use crate::json;

/// The service's format for a name as typed, e.g. `wgi` or `USGS-MCS-WORLD`.
fn dataset_format(name: &str) -> Result<pb::DatasetFormat, CliError> {
    let wanted = format!("DATASET_FORMAT_{}", name.trim().to_ascii_uppercase().replace('-', "_"));
    pb::DatasetFormat::from_str_name(&wanted)
        .filter(|f| *f != pb::DatasetFormat::Unspecified)
        .ok_or_else(|| {
            let names: Vec<&str> = supplyrisk_formats::Format::ALL.iter().map(|f| f.name()).collect();
            CliError::Invalid(format!("unknown format '{name}'; one of {}", names.join(", ")))
        })
}

/// What the service reported for one imported file.
pub struct Imported {
    /// The file's name, without its folder.
    name: String,
    /// Wall time of the upload.
    seconds: f64,
    /// The service's final summary.
    summary: pb::ImportSummary,
}

/// Streams `file` to the service in chunks of `chunk_bytes`, printing the
/// service's progress reports, and answers with its final summary. The
/// upload id, when not given, is derived from the format and the file's
/// name and size, so importing the same file again replays its summary.
pub async fn upload(
    client: &mut IngestClient,
    format: &str,
    file: &Path,
    upload_id: Option<String>,
    source: Option<String>,
    chunk_bytes: usize,
) -> Result<Imported, CliError> {
    let format = dataset_format(format)?;
    let mut f = std::fs::File::open(file).map_err(|source| CliError::File {
        path: file.to_path_buf(),
        source,
    })?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let upload_id = upload_id.unwrap_or_else(|| {
        let clean: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' })
            .collect();
        format!(
            "{}-{clean}-{size}",
            format
                .as_str_name()
                .trim_start_matches("DATASET_FORMAT_")
                .to_lowercase()
        )
    });
    let header = pb::ImportHeader {
        format: format as i32,
        source_name: source.unwrap_or_default(),
        upload_id,
    };
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tx.send(pb::ImportDatasetRequest {
        item: Some(import_dataset_request::Item::Header(header)),
    })
    .await
    .map_err(|e| CliError::Failed(e.to_string()))?;
    // A failed read only ends the stream: the service's summary covers what was sent.
    let reader = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut buf = vec![0u8; chunk_bytes.max(1)];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            let msg = pb::ImportDatasetRequest {
                item: Some(import_dataset_request::Item::Chunk(buf[..n].to_vec())),
            };
            if tx.blocking_send(msg).is_err() {
                return Ok(());
            }
        }
    });
    let started = std::time::Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut stream = client
        .import_dataset(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    let mut summary = None;
    while let Some(msg) = stream.message().await? {
        match msg.item {
            Some(import_dataset_response::Item::Progress(p)) => {
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                let pct = if size > 0 {
                    p.bytes_read as f64 * 100.0 / size as f64
                } else {
                    0.0
                };
                let eta = if p.bytes_read > 0 {
                    (size.saturating_sub(p.bytes_read)) as f64 * secs / p.bytes_read as f64
                } else {
                    0.0
                };
                let line = format!(
                    "{name}: {pct:5.1}% {} rows ({:.0} rows/s) accepted {} rejected {} ETA {eta:.0}s",
                    p.rows_read,
                    p.rows_read as f64 / secs,
                    p.accepted,
                    p.rejected
                );
                if tty {
                    eprint!("\r{line}   ");
                    let _ = std::io::stderr().flush();
                } else {
                    eprintln!("{line}");
                }
            }
            Some(import_dataset_response::Item::Summary(s)) => summary = Some(s),
            None => {}
        }
    }
    if tty {
        eprintln!();
    }
    let _ = reader.await;
    let summary = summary.ok_or_else(|| CliError::Failed("the service ended the import without a summary".into()))?;
    Ok(Imported {
        name,
        seconds: started.elapsed().as_secs_f64(),
        summary,
    })
}

/// The summary of one import: a line and the first rejected rows, or JSON.
pub fn print_summary(imported: &Imported, output: Output) {
    let Imported {
        name,
        seconds,
        summary: s,
    } = imported;
    if output == Output::Json {
        println!("{}", json::import_summary(name, *seconds, s));
        return;
    }
    let t = s.totals.unwrap_or_default();
    println!(
        "{name}: {} rows in {seconds:.1}s: {} accepted, {} unchanged, {} rejected, {} skipped{}",
        t.rows_read,
        t.accepted,
        t.unchanged,
        t.rejected,
        t.skipped,
        if s.replayed {
            " (already imported; stored summary)"
        } else {
            ""
        }
    );
    for r in s.rejected_rows.iter().take(10) {
        println!("  line {}: {}: {}", r.line, r.column, r.reason);
    }
}
