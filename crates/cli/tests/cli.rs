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

/// Parses one JSON document printed on stdout.
fn parse_json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("--output json prints one JSON document ({e}): {out}"))
}

fn data(path: &str) -> String {
    format!("{}/../../data/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Redis and an ingest service on free ports, nothing else.
fn ingest_alone() -> (RedisServer, ServiceProcess) {
    let redis = RedisServer::start();
    let ingest = ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-ingest"),
        &[("SUPPLYRISK__REDIS__URL", &redis.url())],
    );
    (redis, ingest)
}

#[test]
fn imports_files_with_plain_progress_and_reports_rejections() {
    let (_redis, ingest) = ingest_alone();
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

    // The same import and listings as JSON for scripts.
    let (ok, out, err) = cli(
        &e,
        INGESTER_TOKEN,
        &[
            "import",
            "BACI",
            bad.to_str().unwrap(),
            "--upload-id",
            "bad-json",
            "--output",
            "json",
        ],
    );
    assert!(ok, "{err}");
    let summary = parse_json(&out);
    assert_eq!(summary["format"], "BACI");
    assert_eq!(summary["upload_id"], "bad-json");
    assert_eq!(
        (summary["rows_read"].as_u64(), summary["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(summary["rejected_rows"][0]["line"], 3);
    assert_eq!(summary["rejected_rows"][0]["column"], "v");
    assert_eq!(summary["replayed"], false);

    let (ok, out, _) = cli(
        &e,
        READER_TOKEN,
        &["policy", "list", "--mineral", "gallium", "--output", "json"],
    );
    assert!(ok);
    let list = parse_json(&out);
    assert_eq!(list["mineral"], "gallium");
    let events = list["events"].as_array().unwrap();
    let licensing = events
        .iter()
        .find(|ev| {
            ev["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("chn-licensing-2023-08-01"))
        })
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(licensing["country"], "CHN");
    assert_eq!(licensing["measure"], "licensing");
    assert_eq!(licensing["effective_from"], "2023-08-01");
    assert!(
        licensing["effective_until"].is_null(),
        "open-ended is null, not a date: {licensing}"
    );
    assert_eq!(licensing["severity"], 0.5);
    assert_eq!(licensing["minerals"], serde_json::json!(["GA", "GE"]));
    let ban = events.iter().find(|ev| ev["measure"] == "ban").unwrap();
    assert!(ban["effective_until"].is_null(), "suspended, not ended: {ban}");
    assert_eq!(
        ban["suspensions"],
        serde_json::json!([{ "from": "2025-11-09", "until": "2026-11-27" }])
    );
    assert_eq!(ban["target_countries"], serde_json::json!(["USA"]));

    let policies = dir.path().join("policies.csv");
    std::fs::write(
        &policies,
        "id,country,measure,minerals,hs_codes,target_countries,effective_from,effective_until,severity,summary,source_reference\n\
         test-li-quota,CHL,quota,LI,,,2024-01-01,,0.3,A test quota,test\n\
         test-bad,CHL,quota,LI,,,not-a-date,,0.3,Broken,test\n",
    )
    .unwrap();
    let (ok, out, err) = cli(
        &e,
        INGESTER_TOKEN,
        &["policy", "import", policies.to_str().unwrap(), "--output", "json"],
    );
    assert!(!ok, "a rejected row fails the command");
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
    assert!(err.contains("1 rows rejected"), "{err}");
    let recorded = parse_json(&out);
    assert_eq!(
        (recorded["recorded"].as_u64(), recorded["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(recorded["rejected_rows"][0]["line"], 3);
    assert!(
        recorded["rejected_rows"][0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );

    // One event from flags, checked like a file row; recording it again changes nothing.
    let add = [
        "policy",
        "add",
        "--country",
        "CHN",
        "--measure",
        "ban",
        "--minerals",
        "gallium,GE",
        "--from",
        "2025-12-01",
        "--summary",
        "Test ban on gallium and germanium",
        "--source",
        "test",
        "--output",
        "json",
    ];
    let (ok, out, err) = cli(&e, INGESTER_TOKEN, &add);
    assert!(ok, "{err}");
    let first = parse_json(&out);
    assert_eq!(first["changed"], true);
    let id = first["id"].as_str().unwrap().to_string();
    let (ok, out, _) = cli(&e, INGESTER_TOKEN, &add);
    assert!(ok);
    assert_eq!(parse_json(&out), serde_json::json!({ "id": id, "changed": false }));
    let (ok, out, _) = cli(
        &e,
        READER_TOKEN,
        &["policy", "list", "--mineral", "GE", "--output", "json"],
    );
    assert!(ok);
    assert!(
        parse_json(&out)["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ev| ev["id"] == id.as_str()),
        "{out}"
    );
    let mut bad_date = add;
    bad_date[9] = "2025-13-01";
    let (ok, out, err) = cli(&e, INGESTER_TOKEN, &bad_date);
    assert!(!ok && out.is_empty() && err.lines().count() == 1, "{out}{err}");
    assert!(err.contains("--from"), "{err}");

    let (ok, _, err) = cli(&e, READER_TOKEN, &["import", "BACI", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("permission denied"), "{err}");

    let (ok, _, err) = cli("http://127.0.0.1:1", READER_TOKEN, &["minerals"]);
    assert!(!ok);
    assert!(err.contains("cannot reach the ingest service"), "{err}");
}

/// `import bundled` over a small data folder of real files: the manifest's
/// order, per-file and total counts, and the records visible afterwards.
#[test]
fn imports_every_file_of_a_manifest_in_order() {
    let (_redis, ingest) = ingest_alone();
    let e = ingest.endpoint();

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("wgi")).unwrap();
    std::fs::create_dir_all(root.join("salient")).unwrap();
    std::fs::copy(data("policy_events.csv"), root.join("policy_events.csv")).unwrap();
    // The header and Afghanistan's first 12 series: CC.EST and GE.EST are read, the rest skipped.
    let wgi = std::fs::read_to_string(data("worldbank-wgi/WGIData.csv")).unwrap();
    let head: Vec<&str> = wgi.lines().take(13).collect();
    std::fs::write(root.join("wgi/WGIData.csv"), head.join("\n") + "\n").unwrap();
    for code in ["galli", "germa"] {
        let name = format!("mcs2025-{code}_salient.csv");
        std::fs::copy(
            data(&format!("usgs-mcs2025/salient_commodity/{name}")),
            root.join("salient").join(name),
        )
        .unwrap();
    }
    std::fs::write(root.join("notes.txt"), "not data\n").unwrap();
    std::fs::write(
        root.join("manifest.toml"),
        r#"
[[import]]
path = "policy_events.csv"
format = "POLICY_EVENTS"
source = "announcements"
section = "policy events"

[[import]]
path = "wgi/WGIData.csv"
format = "wgi"
source = "World Bank"
section = "WGI"

[[import]]
path = "salient/*_salient.csv"
format = "USGS_MCS_SALIENT"
source = "USGS"
section = "USGS"

[[unimported]]
path = "notes.txt"
reason = "for people"
"#,
    )
    .unwrap();
    let data_dir = root.to_str().unwrap();

    // Without a manifest: one clear line, nothing imported.
    let empty = tempfile::tempdir().unwrap();
    let (ok, out, err) = cli(
        &e,
        INGESTER_TOKEN,
        &["import", "bundled", "--data-dir", empty.path().to_str().unwrap()],
    );
    assert!(!ok && out.is_empty(), "{out}");
    assert!(err.contains("no manifest at") && err.contains("--data-dir"), "{err}");

    // A file that fails stops the run, naming it.
    let (ok, out, err) = cli(&e, READER_TOKEN, &["import", "bundled", "--data-dir", data_dir]);
    assert!(!ok);
    assert!(out.contains("[1/4] POLICY_EVENTS policy_events.csv"), "{out}");
    assert!(!out.contains("[2/4]"), "the run stops at the first failure: {out}");
    assert!(
        err.contains("policy_events.csv") && err.contains("permission denied"),
        "{err}"
    );

    let (ok, out, err) = cli(
        &e,
        INGESTER_TOKEN,
        &["import", "bundled", "--data-dir", data_dir, "--output", "json"],
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("[4/4] USGS_MCS_SALIENT salient/mcs2025-germa_salient.csv"),
        "{err}"
    );
    let report = parse_json(&out);
    let files = report["files"].as_array().unwrap();
    let listed: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["format"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("policy_events.csv", "POLICY_EVENTS"),
            ("wgi/WGIData.csv", "WGI"),
            ("salient/mcs2025-galli_salient.csv", "USGS_MCS_SALIENT"),
            ("salient/mcs2025-germa_salient.csv", "USGS_MCS_SALIENT"),
        ]
    );
    let counts = |f: &serde_json::Value| {
        ["rows_read", "accepted", "unchanged", "rejected", "skipped"].map(|k| f[k].as_u64().unwrap())
    };
    assert_eq!(counts(&files[0]), [7, 7, 0, 0, 0], "{}", files[0]);
    assert_eq!(counts(&files[1]), [12, 48, 0, 0, 10], "{}", files[1]);
    assert_eq!(files[0]["file"], "policy_events.csv");
    assert_eq!(files[2]["replayed"], false);
    let totals = &report["totals"];
    assert_eq!(totals["files"], 4);
    let summed = files.iter().map(counts).fold([0; 5], |mut acc, c| {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
        acc
    });
    assert_eq!(counts(totals), summed, "{totals}");
    assert!(totals["seconds"].as_f64().is_some_and(|s| s > 0.0));

    // The records are there.
    let (ok, out, _) = cli(&e, READER_TOKEN, &["policy", "list", "--output", "json"]);
    assert!(ok);
    assert_eq!(parse_json(&out)["events"].as_array().unwrap().len(), 7, "{out}");

    // Again, as a table: each file's stored summary, then the totals.
    let (ok, out, err) = cli(&e, INGESTER_TOKEN, &["import", "bundled", "--data-dir", data_dir]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].ends_with("manifest.toml: 4 files to import, 1 listed as not imported"),
        "{out}"
    );
    assert_eq!(lines[1], "[1/4] POLICY_EVENTS policy_events.csv");
    assert!(lines[2].starts_with("policy_events.csv: 7 rows in "), "{out}");
    assert_eq!(lines[3], "[2/4] WGI wgi/WGIData.csv");
    assert_eq!(out.matches("(already imported; stored summary)").count(), 4, "{out}");
    let [rows, accepted, unchanged, rejected, skipped] = summed;
    let total = lines.last().unwrap();
    assert!(total.starts_with(&format!("total: 4 files, {rows} rows in ")), "{out}");
    assert!(
        total.ends_with(&format!(
            "{accepted} accepted, {unchanged} unchanged, {rejected} rejected, {skipped} skipped"
        )),
        "{out}"
    );
}

#[test]
fn scores_scenarios_history_and_a_watched_alert() {
    use std::io::{BufRead, BufReader};

    let cluster = supplyrisk_testkit::Cluster::start();
    let (ie, scoring, alerting) = (cluster.ingest.endpoint(), &cluster.scoring, &cluster.alerting);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let write = |chn: f64| {
        rt.block_on(async {
            use supplyrisk_testkit::fixtures::{governance, ree_production};
            let mut c = supplyrisk_testkit::ingest_client(&ie, Some(INGESTER_TOKEN)).await;
            c.upsert_governance(governance(&[("CHN", -0.5), ("AUS", 1.5)], 2023))
                .await
                .unwrap();
            c.upsert_production(ree_production(chn)).await.unwrap();
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
    let (ok, out, err) = run(READER_TOKEN, &["suppliers", "REE", "JPN"]);
    assert!(ok && out.starts_with("2 suppliers behind REE for JPN"), "{out}{err}");
    let (ok, out, _) = run(READER_TOKEN, &["suppliers", "REE", "JPN", "--output", "json"]);
    assert!(ok, "{out}");
    let json = parse_json(&out);
    let listed: Vec<&str> = json["suppliers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["country"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["CHN", "AUS"], "equal shares, China less well governed: {out}");
    assert_eq!(json["stage"], "processing");
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

    // Every data command as JSON, with the values the data implies.
    let (ok, out, _) = run(READER_TOKEN, &["score", "REE", "JPN", "--output", "json"]);
    assert!(ok);
    let score = parse_json(&out)["score"].as_f64().unwrap();
    let (ok, out, _) = run(READER_TOKEN, &["history", "REE", "JPN", "--output", "json"]);
    assert!(ok, "{out}");
    let history = parse_json(&out);
    assert_eq!(history["methodology"], "eu-crm");
    let year_2023 = history["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "data_year" && p["data_year"] == 2023)
        .unwrap_or_else(|| panic!("a 2023 point: {out}"));
    assert!((year_2023["score"].as_f64().unwrap() - score).abs() < 1e-9, "{out}");
    assert!(year_2023["computed_at"].as_str().is_some_and(|t| t.ends_with('Z')));

    let (ok, out, _) = run(
        READER_TOKEN,
        &[
            "scenario",
            "--cut",
            "CHN:REE:0.5",
            "--importer",
            "JPN",
            "--output",
            "json",
        ],
    );
    assert!(ok, "{out}");
    let scenario = parse_json(&out);
    assert_eq!(scenario["shocks"][0]["supplier"], "CHN");
    assert_eq!(scenario["shocks"][0]["cut"], 0.5);
    let result = &scenario["results"][0];
    assert_eq!(
        (&result["importer"], &result["mineral"]),
        (&"JPN".into(), &"REE".into())
    );
    let (before, after) = (
        result["score_before"].as_f64().unwrap(),
        result["score_after"].as_f64().unwrap(),
    );
    assert!((before - score).abs() < 1e-9, "before is today's score: {result}");
    assert!((result["change"].as_f64().unwrap() - (after - before)).abs() < 1e-9);
    assert!(
        result["days_of_cover"].is_null(),
        "no stockpile data is null, not 0: {result}"
    );
    assert_eq!(result["after"]["mineral"], "REE");

    let (ok, out, _) = run(READER_TOKEN, &["snapshot", "REE", "--output", "json"]);
    assert!(ok, "{out}");
    let snapshot = parse_json(&out);
    assert_eq!((&snapshot["mineral"], &snapshot["year"]), (&"REE".into(), &2023.into()));
    let test_source = snapshot["production"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["source"] == "TEST")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(test_source["stage"], "processing");
    assert!(
        (test_source["hhi"].as_f64().unwrap() - 5000.0).abs() < 1e-6,
        "{test_source}"
    );
    let chn = test_source["producers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["country"] == "CHN");
    assert_eq!(chn.unwrap()["share"], 0.5);

    let (ok, out, _) = run(READER_TOKEN, &["summary", "--output", "json"]);
    assert!(ok);
    let summary = parse_json(&out);
    let minerals = summary["minerals"].as_array().unwrap();
    let ree = minerals.iter().find(|m| m["mineral"] == "REE").unwrap();
    assert_eq!(ree["year"], 2023);
    assert_eq!(ree["source"], "TEST");
    let mut producers: Vec<&str> = ree["top_producers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["country"].as_str().unwrap())
        .collect();
    producers.sort_unstable();
    assert_eq!(producers, ["AUS", "CHN"]);
    let li = minerals.iter().find(|m| m["mineral"] == "LI").unwrap();
    assert!(
        li["year"].is_null() && li["hhi"].is_null(),
        "no data is null, never 0: {li}"
    );

    let (ok, out, err) = run(READER_TOKEN, &["score", "lithum", "JPN", "--output", "json"]);
    assert!(!ok && out.is_empty(), "errors print no JSON: {out}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let (ok, out, err) = run(
        READER_TOKEN,
        &[
            "report",
            "--importer",
            "JPN",
            "--out",
            page.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    assert!(ok, "{err}");
    let written = parse_json(&out);
    assert_eq!(written["charts"], 3, "concentration, history and scenario: {written}");
    assert_eq!(written["importers"][0]["scores"], 1, "only REE has data: {written}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<b>REE</b> Rare earths") && html.contains("CHN −50%"));
    let (ok, out, err) = run(READER_TOKEN, &["report", "--importer", "ZZZ", "--out", "never.html"]);
    assert!(!ok && out.is_empty() && err.lines().count() == 1, "{out}{err}");
    assert!(!std::path::Path::new("never.html").exists());
    let (ok, _, err) = run(
        READER_TOKEN,
        &["report", "--importer", "JPN", "--out", "never.html", "--charted", "0"],
    );
    assert!(!ok && err.contains("--charted"), "{err}");
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
    let (ok, out, err) = run(
        INGESTER_TOKEN,
        &[
            "subscribe",
            "--mineral",
            "REE",
            "--importer",
            "JPN",
            "--threshold",
            "9",
            "--output",
            "json",
        ],
    );
    assert!(ok, "{err}");
    let created = parse_json(&out);
    assert!(created["id"].as_str().is_some_and(|id| !id.is_empty() && id != sub));
    assert_eq!(created["filter"]["minerals"], serde_json::json!(["REE"]));
    assert_eq!(created["filter"]["importers"], serde_json::json!(["JPN"]));
    assert_eq!(created["rules"][0]["kind"], "threshold");
    assert_eq!(created["rules"][0]["value"], 9.0);
    // A webhook without a secret gets a generated one, shown once.
    let webhook_args = |url: &'static str| {
        [
            "subscribe",
            "--mineral",
            "REE",
            "--importer",
            "JPN",
            "--delta",
            "0.5",
            "--webhook",
            url,
            "--output",
            "json",
        ]
    };
    let (ok, out, err) = run(INGESTER_TOKEN, &webhook_args("https://hooks.example.com/supplyrisk"));
    assert!(ok, "{err}");
    let hooked = parse_json(&out);
    assert_eq!(hooked["webhook"]["url"], "https://hooks.example.com/supplyrisk");
    assert_eq!(hooked["webhook"]["disabled"], false);
    assert!(
        hooked["webhook_secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_")),
        "{out}"
    );
    let (ok, out, err) = run(INGESTER_TOKEN, &webhook_args("http://10.0.0.1/hook"));
    assert!(!ok && out.is_empty() && err.lines().count() == 1, "{out}{err}");
    assert!(
        err.contains("subscription.webhook.url") && err.contains("private"),
        "{err}"
    );
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

    let (ok, out, _) = run(READER_TOKEN, &["alerts", "list", &sub, "--output", "json"]);
    assert!(ok, "{out}");
    let listed = parse_json(&out);
    assert_eq!(listed["subscription_id"], sub.as_str());
    let alert = &listed["alerts"][0];
    assert_eq!((&alert["mineral"], &alert["importer"]), (&"REE".into(), &"JPN".into()));
    let (old, new) = (
        alert["old_score"].as_f64().unwrap(),
        alert["new_score"].as_f64().unwrap(),
    );
    assert!((alert["delta"].as_f64().unwrap() - (new - old)).abs() < 1e-9, "{alert}");
    assert!(
        line.starts_with(alert["id"].as_str().unwrap()),
        "the watched alert: {line}"
    );
    assert_eq!(
        alert["webhook_delivery"],
        serde_json::Value::Null,
        "no webhook, no delivery"
    );
    assert_eq!(alert["acknowledged"], false);
    let alert_id = alert["id"].as_str().unwrap().to_string();
    let (ok, out, err) = run(INGESTER_TOKEN, &["alerts", "ack", &sub, &alert_id, "--output", "json"]);
    assert!(ok, "{err}");
    assert_eq!(parse_json(&out)["acknowledged"], true);
    let (ok, out, _) = run(
        READER_TOKEN,
        &[
            "alerts",
            "list",
            &sub,
            "--delivery",
            "dead-lettered",
            "--output",
            "json",
        ],
    );
    assert!(ok);
    assert_eq!(
        parse_json(&out)["alerts"],
        serde_json::json!([]),
        "no webhook: nothing dead-lettered"
    );
    let (ok, _, err) = run(READER_TOKEN, &["alerts", "list", &sub, "--delivery", "lost"]);
    assert!(!ok && err.contains("--delivery"), "{err}");

    // watch --output json replays the stream as one JSON object per line.
    let mut watch = Command::new(supplyrisk_testkit::binary("supplyrisk"))
        .env("SUPPLYRISK_ALERTING_ENDPOINT", alerting.endpoint())
        .env("SUPPLYRISK_TOKEN", READER_TOKEN)
        .args(["watch", &sub, "--output", "json"])
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
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the alert as JSON");
    let _ = watch.kill();
    let _ = watch.wait();
    let watched = parse_json(&line);
    assert_eq!(watched["id"], alert["id"]);
    assert_eq!(watched["rule"], alert["rule"]);
}
