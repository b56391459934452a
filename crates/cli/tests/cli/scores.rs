//! Scores, scenarios, history and a watched alert, from the command line.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use supplyrisk_testkit::{INGESTER_TOKEN, READER_TOKEN};

use crate::parse_json;

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
    let (ingest_endpoint, scoring_endpoint, alerting_endpoint) =
        (ie.to_string(), scoring.endpoint(), alerting.endpoint());
    let env = crate::endpoints(&ingest_endpoint, &scoring_endpoint, &alerting_endpoint);
    let run = |token: &str, args: &[&str]| crate::cli_with(&env, token, args);
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
