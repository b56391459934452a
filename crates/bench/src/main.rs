//! `supplyrisk-bench`: load benchmarks against real processes.
//!
//! Each benchmark measures its own baseline in the same run (the machine is
//! shared and noisy, so only ratios measured together mean anything) and
//! prints both figures and their ratio against the target.
//!
//! `supplyrisk-bench ingest [N]` streams N (default 1,000,000) valid trade
//! flows through `IngestTradeFlows` into a release build backed by its own
//! redis-server, next to `redis-benchmark -P 16 -t set` on that server.
//!
//! `supplyrisk-bench score` drives cached `GetRiskScore` with h2load and, in
//! the same run, `grpc.health.v1.Health/Check` on the same server as the
//! ceiling, printing req/s, p99 and their ratios.
//!
//! `supplyrisk-bench alert [N]` measures, with an ingest load running, the
//! time from an ingest acknowledgement to the alert it causes arriving on
//! `StreamAlerts`, and prints p50 and p99.
//!
//! `supplyrisk-bench recompute [N]` loads the bundled data the scores read,
//! then N times changes one country's governance (which touches every
//! mineral) and prints how long scoring takes to recompute every mineral ×
//! tracked importer × method, from its own log line.
//!
//! `supplyrisk-bench import` imports the shipped BACI file (gzip) through
//! `ImportDataset`, then a generated BACI stream ten times its size, and
//! prints rows/s next to the `ingest` baseline measured in the same run, plus
//! the service's peak resident memory after each, to show memory stays flat
//! in the file size.
#![forbid(unsafe_code)]

mod alert;
mod ingest;
mod measure;
mod recompute;
mod report;
mod score;
mod workload;

use alert::bench_alert;
use ingest::{bench_import, bench_ingest};
use recompute::bench_recompute;
use score::bench_score;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ingest") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
            bench_ingest(n).await;
        }
        Some("import") => bench_import().await,
        Some("alert") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200);
            bench_alert(n).await;
        }
        Some("score") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
            bench_score(n).await;
        }
        Some("recompute") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
            bench_recompute(n).await;
        }
        _ => {
            eprintln!(
                "usage: supplyrisk-bench ingest [FLOWS] | import | score [REQUESTS] | alert [ROUNDS] | recompute [ROUNDS]"
            );
            std::process::exit(2);
        }
    }
}
