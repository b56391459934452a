//! The recompute benchmark: how long scoring takes to recompute every
//! mineral × tracked importer × method after one governance change, read
//! from its own log line.

use std::time::Instant;

use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_testkit::{Cluster, ClusterOptions, INGESTER_TOKEN, ingest_client};

use crate::workload::{SCORED_DATASETS, import_format, quiet_env_with};

/// Importers the recompute benchmark tracks.
const RECOMPUTE_IMPORTERS: &str = "JPN,USA,USA+JPN,DEU,KOR,CHN,IND,EU27";

/// `elapsed_ms` of every "scores recomputed" line in a scoring log.
fn recompute_times(logs: &str) -> Vec<f64> {
    logs.lines()
        .filter(|l| l.contains("scores recomputed"))
        .filter_map(|l| {
            let at = l.find("elapsed_ms")?;
            let digits: String = l[at..]
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// Loads the data the scores read, then times `rounds` recomputes of every
/// mineral after a governance change.
pub(crate) async fn bench_recompute(rounds: usize) {
    let cluster = Cluster::start_with(ClusterOptions {
        tracked_importers: RECOMPUTE_IMPORTERS.into(),
        fsync: "everysec",
        env: quiet_env_with("supplyrisk_scoring=info"),
        ..Default::default()
    });
    let endpoint = cluster.ingest.endpoint();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/");
    for (format, file) in SCORED_DATASETS {
        let bytes = std::fs::read(format!("{data}{file}")).expect("shipped file");
        let chunks: Vec<Vec<u8>> = bytes.chunks(256 * 1024).map(<[u8]>::to_vec).collect();
        let upload_id = format!("bench-{}", file.replace('/', "-"));
        match import_format(&endpoint, format, &upload_id, chunks.into_iter()).await {
            Ok((rows, _, secs)) => println!("imported {file}: {rows} rows in {secs:.1} s"),
            // A build without this format (an older release) leaves its data out.
            Err(e) if e.message().contains("header.format") => println!("skipped {file}: {}", e.message()),
            Err(e) => panic!("{file}: {e}"),
        }
    }
    // Let the recomputes the imports caused finish.
    let mut settled = recompute_times(&cluster.scoring.logs()).len();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let now = recompute_times(&cluster.scoring.logs()).len();
        if now == settled {
            break;
        }
        settled = now;
    }
    let importers = RECOMPUTE_IMPORTERS.split(',').count();
    let minerals = supplyrisk_domain::Catalog::builtin().minerals().len();
    println!(
        "recomputing every mineral ({minerals}) × {importers} tracked importers × 2 methods after a governance change, {rounds} rounds"
    );
    let mut client = ingest_client(&endpoint, Some(INGESTER_TOKEN)).await;
    let mut times = Vec::new();
    for round in 0..rounds {
        let before = recompute_times(&cluster.scoring.logs()).len();
        // A governance change touches every mineral.
        let estimate = -0.5 + 0.01 * (round as f64 + 1.0);
        let indicators = (1..=6)
            .map(|dimension| pb::GovernanceIndicator {
                country: "CHN".into(),
                year: 2024,
                dimension,
                estimate,
            })
            .collect();
        client
            .upsert_governance(pb::UpsertGovernanceRequest { indicators })
            .await
            .expect("governance");
        let deadline = Instant::now() + std::time::Duration::from_secs(600);
        let ms = loop {
            let all = recompute_times(&cluster.scoring.logs());
            if all.len() > before {
                break all[before];
            }
            assert!(Instant::now() < deadline, "no recompute within 10 minutes");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        println!("round {}: {ms:.0} ms", round + 1);
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!();
    println!(
        "recompute, every mineral x {importers} importers x 2 methods: median {median:.0} ms, min {:.0} ms, max {:.0} ms",
        times[0],
        times[times.len() - 1]
    );
}
