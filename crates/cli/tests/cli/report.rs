//! `supplyrisk report` from a real cluster loaded with the bundled public
//! data: the file is parsed as HTML and checked, and rendered in headless
//! Chromium.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use scraper::{ElementRef, Html, Selector};
use supplyrisk_testkit::{Cluster, INGESTER_TOKEN, READER_TOKEN};

const IMPORTERS: [&str; 2] = ["JPN", "USA+JPN"];
const CHARTS_PER_IMPORTER: usize = 3;

/// The bundled files the report needs, loaded as `scripts/run` loads them.
const BUNDLED: [(&str, &str); 7] = [
    ("POLICY_EVENTS", "policy_events.csv"),
    ("WGI", "worldbank-wgi/WGIData.csv"),
    ("WGI_PV", "wgi-pv/wgi_pv_estimate_and_normalized_long.csv"),
    ("USGS_MCS_WORLD", "usgs-mcs2025/world_data/MCS2025_World_Data.csv"),
    (
        "USGS_IMPORT_RELIANCE",
        "usgs-mcs2025/industry_trends/MCS2025_Fig2_Net_Import_Reliance.csv",
    ),
    (
        "WORLD_MINING_DATA",
        "world-mining-data/wmd_production_2018-2024_long.csv",
    ),
    ("BACI", "baci/baci_hs92_V202401b_critical_2018-2024.csv.gz"),
];

/// A report written once per test run and shared by the tests.
struct Written {
    path: PathBuf,
    html: String,
    /// What `report --output json` printed.
    summary: serde_json::Value,
    /// `top --output json` of each importer: every score the service has.
    scores: BTreeMap<String, Vec<serde_json::Value>>,
}

static REPORT: OnceLock<Written> = OnceLock::new();

fn report() -> &'static Written {
    REPORT.get_or_init(write_report)
}

fn run(cluster: &Cluster, token: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(supplyrisk_testkit::binary("supplyrisk"))
        .env("SUPPLYRISK_INGEST_ENDPOINT", cluster.ingest.endpoint())
        .env("SUPPLYRISK_SCORING_ENDPOINT", cluster.scoring.endpoint())
        .env("SUPPLYRISK_ALERTING_ENDPOINT", cluster.alerting.endpoint())
        .env("SUPPLYRISK_TOKEN", token)
        .args(["--timeout", "600"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn write_report() -> Written {
    let cluster = Cluster::start();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    for (format, file) in BUNDLED {
        let path = data.join(file);
        let (ok, out, err) = run(
            &cluster,
            INGESTER_TOKEN,
            &["import", format, path.to_str().unwrap(), "--output", "json"],
        );
        assert!(ok, "import {format}: {err}");
        let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(summary["rejected"], 0, "{format}: {out}");
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("supplyrisk-report");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.html");
    let _ = std::fs::remove_file(&path);
    let mut args = vec!["report"];
    for importer in IMPORTERS {
        args.extend(["--importer", importer]);
    }
    args.extend(["--out", path.to_str().unwrap(), "--output", "json"]);
    let (ok, out, err) = run(&cluster, READER_TOKEN, &args);
    assert!(ok, "report: {err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut scores = BTreeMap::new();
    for importer in IMPORTERS {
        let (ok, out, err) = run(
            &cluster,
            READER_TOKEN,
            &["top", "--importer", importer, "--limit", "500", "--output", "json"],
        );
        assert!(ok, "{err}");
        let top: serde_json::Value = serde_json::from_str(&out).unwrap();
        scores.insert(importer.to_string(), top["scores"].as_array().unwrap().clone());
    }
    Written {
        html: std::fs::read_to_string(&path).unwrap(),
        path,
        summary,
        scores,
    }
}

fn select(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

fn text(element: ElementRef<'_>) -> String {
    element
        .text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_report_is_one_well_formed_self_contained_html_file() {
    let r = report();
    let doc = Html::parse_document(&r.html);
    assert!(doc.errors.is_empty(), "HTML parse errors: {:?}", doc.errors);
    assert!(r.html.starts_with("<!DOCTYPE html>"));
    assert_eq!(doc.select(&select("html[lang]")).count(), 1);
    assert_eq!(doc.select(&select("head > meta[charset]")).count(), 1);
    let viewport = doc
        .select(&select("meta[name=viewport]"))
        .next()
        .expect("a viewport meta");
    assert!(viewport.value().attr("content").unwrap().contains("width=device-width"));
    let style: String = doc.select(&select("head > style")).map(text).collect();
    assert!(
        style.contains("@media print") && style.contains("@media (max-width"),
        "print and phone styles"
    );

    // Nothing is fetched: no scripts, stylesheets, images or frames, no URL
    // in any attribute, no @import or url() in the CSS, no URL at all.
    for tag in [
        "script", "link", "img", "iframe", "object", "embed", "image", "use", "video", "audio",
    ] {
        assert_eq!(doc.select(&select(tag)).count(), 0, "no <{tag}>");
    }
    for element in doc.root_element().descendants().filter_map(ElementRef::wrap) {
        for (name, value) in element.value().attrs() {
            let value = value.trim().to_ascii_lowercase();
            assert!(
                !(value.starts_with("http:") || value.starts_with("https:") || value.starts_with("//")),
                "<{} {name}=\"{value}\"> points outside the file",
                element.value().name()
            );
            if name == "href" || name.ends_with(":href") || name == "src" {
                assert!(value.starts_with('#'), "only links within the page: {name}={value}");
            }
        }
    }
    let lower = r.html.to_ascii_lowercase();
    for needle in ["@import", "url(", "http://", "https://"] {
        assert!(!lower.contains(needle), "the file contains {needle}");
    }
    assert!(r.html.len() < 2_000_000, "{} bytes", r.html.len());
}

#[test]
fn the_report_charts_each_importer_and_lists_every_score() {
    let r = report();
    let doc = Html::parse_document(&r.html);
    assert_eq!(
        r.summary["charts"],
        IMPORTERS.len() * CHARTS_PER_IMPORTER,
        "{}",
        r.summary
    );
    assert_eq!(
        doc.select(&select("svg")).count(),
        IMPORTERS.len() * CHARTS_PER_IMPORTER
    );
    let sections: Vec<ElementRef<'_>> = doc.select(&select("section.importer")).collect();
    assert_eq!(sections.len(), IMPORTERS.len());
    for (importer, section) in IMPORTERS.iter().zip(&sections) {
        let scores = &r.scores[*importer];
        assert!(
            scores.len() > 20,
            "the bundled data scores most minerals for {importer}"
        );
        assert!(text(section.select(&select("h2")).next().unwrap()).contains(importer));

        let charts: Vec<ElementRef<'_>> = section.select(&select("figure > svg.chart")).collect();
        assert_eq!(charts.len(), CHARTS_PER_IMPORTER, "{importer}");
        for svg in &charts {
            let a = svg.value();
            assert!(
                a.attr("viewBox").is_some_and(|v| v.starts_with("0 0 ")),
                "responsive viewBox"
            );
            assert_eq!(a.attr("width"), Some("100%"));
            assert!(a.attr("height").is_none(), "the height follows the width");
            assert!(
                svg.select(&select("title")).next().is_some(),
                "named for screen readers"
            );
            assert!(svg.select(&select("rect")).count() > 5, "drawn, not empty");
        }
        // Concentration: the top mineral and its largest supplier are drawn.
        let top = &scores[0];
        // The first of the largest shares, as the report picks it.
        let suppliers = top["top_suppliers"].as_array().unwrap();
        let share = |t: &serde_json::Value| t["share"].as_f64().unwrap();
        let most = suppliers.iter().map(share).fold(0.0, f64::max);
        let largest = suppliers.iter().find(|t| share(t) == most).unwrap();
        let concentration = text(charts[0]);
        let (mineral, supplier) = (top["mineral"].as_str().unwrap(), largest["country"].as_str().unwrap());
        assert!(
            concentration.contains(mineral) && concentration.contains(supplier),
            "{mineral} and {supplier} in: {concentration}"
        );
        // History: one line per charted mineral with a point per data year.
        assert!(
            charts[1].select(&select("polyline")).count() >= 5,
            "{importer} history lines"
        );
        // Scenario: the top mineral's largest supplier cuts 50%.
        let scenario = text(charts[2]);
        assert!(scenario.contains(&format!("{mineral}: {supplier} −50%")), "{scenario}");
        assert!(
            scenario.contains(&format!("{:.3}", top["score"].as_f64().unwrap())),
            "{scenario}"
        );

        // One row per score, in rank order, with the service's values.
        let rows: Vec<ElementRef<'_>> = section.select(&select("table.scores > tbody > tr")).collect();
        assert_eq!(rows.len(), scores.len(), "{importer}: one row per score");
        for (row, score) in rows.iter().zip(scores) {
            let cells: Vec<String> = row.select(&select("td")).map(text).collect();
            assert_eq!(cells.len(), 7);
            assert!(cells[1].starts_with(score["mineral"].as_str().unwrap()), "{cells:?}");
            assert_eq!(cells[2], format!("{:.3}", score["score"].as_f64().unwrap()));
            assert_eq!(cells[3], format!("{:.2}", score["confidence"].as_f64().unwrap()));
            let reason = score["top_reason"].as_str().unwrap();
            let expected = if reason.is_empty() { "missing" } else { reason };
            assert_eq!(cells[6], expected);
            assert_ne!(cells[4], "0", "a missing data year is shown as missing");
        }
        let missing: Vec<String> = section.select(&select(".missing")).map(text).collect();
        assert!(missing.iter().all(|m| m == "missing"), "{missing:?}");
    }
    let importers = r.summary["importers"].as_array().unwrap();
    for (entry, importer) in importers.iter().zip(IMPORTERS) {
        assert_eq!(entry["importer"], importer);
        assert_eq!(entry["scores"].as_u64(), Some(r.scores[importer].len() as u64));
    }
}

/// `chromium` on PATH, if any.
fn chromium() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        println!("SKIPPED the_report_renders_in_headless_chromium: chromium is not on PATH (scripts/test installs it)");
        return;
    };
    let r = report();
    let png = r.path.with_file_name("report.png");
    let _ = std::fs::remove_file(&png);
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,2000")
        .arg(format!("file://{}", r.path.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish the screenshot within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium exited with {status}");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 2000));
    // A blank page compresses to a few kilobytes; charts and tables do not.
    assert!(bytes.len() > 50_000, "{} bytes: the page looks empty", bytes.len());
    println!("screenshot: {}", png.display());
}
