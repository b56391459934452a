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
