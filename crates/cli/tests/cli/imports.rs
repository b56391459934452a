//! Imports of single files and manifests, with progress and every rejection.
#![allow(clippy::unwrap_used)]

use supplyrisk_testkit::{INGESTER_TOKEN, READER_TOKEN};

use crate::{cli, data, ingest_alone, parse_json};

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
