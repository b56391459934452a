//! `supplyrisk import bundled`: every dataset listed in `data/manifest.toml`
//! ([`Manifest`]), imported in the manifest's order through the same
//! streaming import as `supplyrisk import FORMAT FILE`.

use std::time::Instant;

use super::manifest::Manifest;
use crate::cli::{BundledArgs, Cli, Output};
use crate::connect::{self, IngestClient};
use crate::error::CliError;

/// Checks the manifest `args` name, then imports every file it lists.
pub async fn run(cli: &Cli, args: &BundledArgs) -> Result<(), CliError> {
    // The manifest is checked before connecting, so its errors show without a cluster.
    let manifest = Manifest::load_for(args)?;
    let mut client = connect::ingest(cli).await?;
    import_all(&mut client, &manifest, args.chunk_bytes, cli.output).await
}

/// Row counts summed over files.
#[derive(Default)]
struct Totals {
    rows_read: u64,
    accepted: u64,
    unchanged: u64,
    rejected: u64,
    skipped: u64,
}

impl Totals {
    fn add(&mut self, summary: &supplyrisk_api::ingest::v1::ImportSummary) {
        let t = summary.totals.unwrap_or_default();
        self.rows_read += t.rows_read;
        self.accepted += t.accepted;
        self.unchanged += t.unchanged;
        self.rejected += t.rejected;
        self.skipped += t.skipped;
    }
}

/// Imports every dataset of `manifest` in order, printing progress per
/// file and the totals. Rejected rows are reported, not fatal; a file whose
/// import fails stops the run.
async fn import_all(
    client: &mut IngestClient,
    manifest: &Manifest,
    chunk_bytes: usize,
    output: Output,
) -> Result<(), CliError> {
    let started = Instant::now();
    let count = manifest.imports.len();
    let mut totals = Totals::default();
    let mut files = Vec::new();
    let header = format!(
        "{}: {count} files to import, {} listed as not imported",
        manifest.location.display(),
        manifest.unimported.len()
    );
    // JSON keeps stdout for the one document.
    if output == Output::Json {
        eprintln!("{header}");
    } else {
        println!("{header}");
    }
    for (i, d) in manifest.imports.iter().enumerate() {
        let progress = format!("[{}/{count}] {} {}", i + 1, d.format.name(), d.path);
        if output == Output::Json {
            eprintln!("{progress}");
        } else {
            println!("{progress}");
        }
        let imported = super::upload(client, d.format.name(), &d.file, None, None, chunk_bytes)
            .await
            .map_err(|e| {
                CliError::Failed(format!(
                    "[{}/{count}] {} {}: {e} (stopped; the files before it were imported)",
                    i + 1,
                    d.format.name(),
                    d.file.display()
                ))
            })?;
        totals.add(&imported.summary);
        if output == Output::Json {
            let mut summary = crate::json::import_summary(&imported.name, imported.seconds, &imported.summary);
            summary["path"] = d.path.clone().into();
            files.push(summary);
        } else {
            super::print_summary(&imported, output);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if output == Output::Json {
        println!(
            "{}",
            serde_json::json!({
                "manifest": manifest.location.display().to_string(),
                "files": files,
                "totals": {
                    "files": count,
                    "rows_read": totals.rows_read,
                    "accepted": totals.accepted,
                    "unchanged": totals.unchanged,
                    "rejected": totals.rejected,
                    "skipped": totals.skipped,
                    "seconds": seconds,
                },
            })
        );
    } else {
        println!(
            "total: {count} files, {} rows in {seconds:.1}s: {} accepted, {} unchanged, {} rejected, {} skipped",
            totals.rows_read, totals.accepted, totals.unchanged, totals.rejected, totals.skipped
        );
    }
    Ok(())
}
