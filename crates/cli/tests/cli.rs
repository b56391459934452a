//! The real `supplyrisk` binary against a real ingest service and Redis.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use supplyrisk_testkit::{INGESTER_TOKEN, READER_TOKEN, RedisServer, ServiceProcess};

fn cli(endpoint: &str, token: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(supplyrisk_testkit::binary("supplyrisk"))
        .env("SUPPLYRISK_INGEST_ENDPOINT", endpoint)
        .env("SUPPLYRISK_TOKEN", token)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn data(path: &str) -> String {
    format!("{}/../../data/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn imports_files_with_plain_progress_and_reports_rejections() {
    let redis = RedisServer::start();
    let url = redis.url();
    let ingest = ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-ingest"),
        &[("SUPPLYRISK__REDIS__URL", &url)],
    );
    let e = ingest.endpoint();

    let (ok, out, err) = cli(
        &e,
        INGESTER_TOKEN,
        &[
            "import",
            "wgi",
            &data("worldbank-wgi/WGIData.csv"),
            "--chunk-bytes",
            "65536",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("0 rejected"), "{out}");
    assert!(
        err.lines().any(|l| l.contains("rows/s")),
        "plain progress lines when stderr is not a terminal: {err}"
    );

    let (ok, out, _) = cli(
        &e,
        INGESTER_TOKEN,
        &["import", "POLICY_EVENTS", &data("policy_events.csv")],
    );
    assert!(ok);
    let again = cli(
        &e,
        INGESTER_TOKEN,
        &["import", "POLICY_EVENTS", &data("policy_events.csv")],
    )
    .1;
    assert!(again.contains("already imported"), "same file, same upload id: {again}");
    assert!(out.contains("accepted"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "t,i,j,k,v,q\n2022,156,392,284690,1,1\n2022,156,392,284690,x,1\n").unwrap();
    let (ok, out, _) = cli(&e, INGESTER_TOKEN, &["import", "BACI", bad.to_str().unwrap()]);
    assert!(ok);
    assert!(out.contains("1 rejected") && out.contains("line 3: v:"), "{out}");

    let (ok, _, err) = cli(&e, INGESTER_TOKEN, &["import", "NOPE", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("unknown format 'NOPE'") && err.contains("BACI"), "{err}");

    let (ok, out, _) = cli(&e, READER_TOKEN, &["policy", "list", "--mineral", "gallium"]);
    assert!(ok);
    assert!(out.contains("chn-licensing-2023-08-01"), "{out}");

    let (ok, _, err) = cli(&e, READER_TOKEN, &["import", "BACI", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("permission denied"), "{err}");

    let (ok, _, err) = cli("http://127.0.0.1:1", READER_TOKEN, &["minerals"]);
    assert!(!ok);
    assert!(err.contains("cannot reach the ingest service"), "{err}");
}

#[test]
fn scores_scenarios_history_and_a_watched_alert() {
    use std::io::{BufRead, BufReader};
    use supplyrisk_api::common::v1 as cpb;
    use supplyrisk_api::ingest::v1 as ipb;

    let cluster = supplyrisk_testkit::Cluster::start();
    let (ie, scoring, alerting) = (cluster.ingest.endpoint(), &cluster.scoring, &cluster.alerting);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let write = |chn: f64| {
        rt.block_on(async {
            let mut c = supplyrisk_testkit::ingest_client(&ie, Some(INGESTER_TOKEN)).await;
            let mut indicators = Vec::new();
            for (country, est) in [("CHN", -0.5), ("AUS", 1.5)] {
                for d in 1..=6 {
                    indicators.push(ipb::GovernanceIndicator {
                        country: country.into(),
                        year: 2023,
                        dimension: d,
                        estimate: est,
                    });
                }
            }
            c.upsert_governance(ipb::UpsertGovernanceRequest { indicators })
                .await
                .unwrap();
            let stat = |country: &str, q: f64| ipb::ProductionStat {
                mineral: "REE".into(),
                stage: cpb::SupplyStage::Processing as i32,
                country: country.into(),
                year: 2023,
                quantity: Some(q),
                unit: "t".into(),
                source: "TEST".into(),
            };
            c.upsert_production(ipb::UpsertProductionRequest {
                stats: vec![stat("CHN", chn), stat("AUS", 100.0 - chn)],
            })
            .await
            .unwrap();
        })
    };
    write(50.0);
    let run = |token: &str, args: &[&str]| {
        let out = Command::new(supplyrisk_testkit::binary("supplyrisk"))
            .env("SUPPLYRISK_INGEST_ENDPOINT", &ie)
            .env("SUPPLYRISK_SCORING_ENDPOINT", scoring.endpoint())
            .env("SUPPLYRISK_ALERTING_ENDPOINT", alerting.endpoint())
            .env("SUPPLYRISK_TOKEN", token)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, out, err) = run(READER_TOKEN, &["score", "rare earths", "JPN"]);
    assert!(ok && out.starts_with("REE for JPN:"), "{out}{err}");
    let (ok, out, _) = run(READER_TOKEN, &["score", "REE", "JPN", "--output", "json"]);
    assert!(ok, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("--output json prints JSON");
    assert_eq!(json["mineral"], "REE");
    assert_eq!(json["methodology"]["id"], "eu-crm");
    assert!(json["top_suppliers"].as_array().is_some_and(|a| !a.is_empty()));
    let (ok, out, _) = run(READER_TOKEN, &["top", "--importer", "JPN", "--output", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert!(ok && json["total_size"] == 1, "{out}");
    let (ok, out, _) = run(READER_TOKEN, &["completions", "bash"]);
    assert!(ok && out.contains("_supplyrisk()"));
    let (ok, out, _) = run(READER_TOKEN, &["scenario", "--cut", "CHN:REE:0.5", "--importer", "JPN"]);
    assert!(
        ok && out.contains("shortfall") && out.contains("no stockpile data"),
        "{out}"
    );
    let (ok, _, err) = run(READER_TOKEN, &["scenario", "--cut", "CHN-REE", "--importer", "JPN"]);
    assert!(!ok && err.contains("SUPPLIER:MINERAL:CUT"), "{err}");
    let (ok, out, _) = run(READER_TOKEN, &["history", "REE", "JPN"]);
    assert!(ok && out.contains("data_year"), "{out}");
    let (ok, _, err) = run(READER_TOKEN, &["score", "lithum", "JPN"]);
    assert!(!ok && err.contains("LI"), "the closest mineral is suggested: {err}");

    let (ok, sub, err) = run(
        INGESTER_TOKEN,
        &[
            "subscribe",
            "--mineral",
            "REE",
            "--importer",
            "JPN",
            "--delta",
            "0.0001",
        ],
    );
    assert!(ok, "{err}");
    let sub = sub.trim().to_string();
    let mut watch = Command::new(supplyrisk_testkit::binary("supplyrisk"))
        .env("SUPPLYRISK_ALERTING_ENDPOINT", alerting.endpoint())
        .env("SUPPLYRISK_TOKEN", READER_TOKEN)
        .args(["watch", &sub])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Let the first score settle, then move it.
    std::thread::sleep(std::time::Duration::from_secs(2));
    write(90.0);
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("watch prints the alert");
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(line.contains("REE JPN eu-crm") && line.contains("delta"), "{line}");
}
