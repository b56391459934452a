//! Golden-file tests: every parser on a small file with good and bad rows.
//!
//! Each `golden/<name>` input has a `golden/<name>.expected` rendering of
//! the items it yields, one per line. Run with `UPDATE_GOLDEN=1` to rewrite
//! the expectations after a deliberate change, then review the diff.

use std::path::PathBuf;

use supplyrisk_domain::FlowDirection;
use supplyrisk_formats::{Format, Item, Options, Record, SkipReason, parse_all, parser};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn cases() -> Vec<(&'static str, Format, Options)> {
    let extract = Options {
        reporter: Some("CHN".into()),
        flow: Some(FlowDirection::Export),
        ..Options::default()
    };
    vec![
        ("baci.csv", Format::Baci, Options::default()),
        ("baci_countries.csv", Format::BaciCountryCodes, Options::default()),
        ("comtrade.csv", Format::Comtrade, Options::default()),
        ("comtrade_extract.csv", Format::Comtrade, extract),
        ("usgs_world.csv", Format::UsgsMcsWorld, Options::default()),
        ("usgs_salient.csv", Format::UsgsMcsSalient, Options::default()),
        ("usgs_nir.csv", Format::UsgsImportReliance, Options::default()),
        ("wmd.csv", Format::WorldMiningData, Options::default()),
        ("wmd_map.csv", Format::WmdHsCodeMap, Options::default()),
        ("wgi.csv", Format::Wgi, Options::default()),
        ("wgi_pv.csv", Format::WgiPv, Options::default()),
        ("policy.csv", Format::PolicyEvents, Options::default()),
    ]
}

fn chunked(format: Format, options: &Options, bytes: &[u8], step: usize) -> Vec<Item> {
    let mut p = parser(format, options.clone());
    let mut items = Vec::new();
    for c in bytes.chunks(step) {
        p.feed_into(c, &mut items);
    }
    items.extend(p.finish().items);
    items
}

fn render(items: &[Item]) -> String {
    items.iter().map(|i| format!("{i:?}\n")).collect()
}

#[test]
fn golden_files_match_and_chunking_does_not_matter() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (name, format, options) in cases() {
        let bytes = std::fs::read(golden(name)).expect("golden input");
        let whole = parse_all(format, options.clone(), &bytes).items;
        for step in [1, 7] {
            assert_eq!(
                chunked(format, &options, &bytes, step),
                whole,
                "{name}: {step}-byte chunks differ"
            );
        }
        let got = render(&whole);
        let expected_path = golden(&format!("{name}.expected"));
        if update {
            std::fs::write(&expected_path, &got).expect("write expectation");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!("{name}:\n--- expected\n{expected}--- got\n{got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatch (UPDATE_GOLDEN=1 to accept):\n{}",
        failures.join("\n")
    );
}

fn rejected(items: &[Item]) -> Vec<(u64, String)> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Rejected { line, column, .. } => Some((*line, column.clone())),
            _ => None,
        })
        .collect()
}

fn parse_golden(name: &str, format: Format, options: Options) -> Vec<Item> {
    parse_all(format, options, &std::fs::read(golden(name)).expect("golden input")).items
}

#[test]
fn bad_rows_name_line_and_column() {
    let r = |name, format| rejected(&parse_golden(name, format, Options::default()));
    assert_eq!(
        r("baci.csv", Format::Baci),
        [(4, "i".into()), (5, "i".into()), (6, "v".into()), (9, "t".into())]
    );
    assert_eq!(
        r("baci_countries.csv", Format::BaciCountryCodes),
        [(6, "code".into()), (7, "code".into())]
    );
    assert_eq!(
        r("comtrade.csv", Format::Comtrade),
        [
            (8, "partnerISO".into()),
            (11, "primaryValue".into()),
            (14, "refMonth".into())
        ]
    );
    assert_eq!(
        r("usgs_world.csv", Format::UsgsMcsWorld),
        [(5, "COUNTRY".into()), (6, "PROD_2023".into()), (23, "COUNTRY".into())]
    );
    assert_eq!(
        r("usgs_salient.csv", Format::UsgsMcsSalient),
        [(3, "Imports_Metal_kg".into()), (4, "Year".into())]
    );
    assert_eq!(
        r("usgs_nir.csv", Format::UsgsImportReliance),
        [
            (6, "Major_Import_Sources_2020_2023".into()),
            (7, "Net_Import_Reliance_pct_2024".into())
        ]
    );
    assert_eq!(
        r("wmd.csv", Format::WorldMiningData),
        [(6, "country".into()), (7, "value".into()), (8, "data_source".into())]
    );
    assert_eq!(
        r("wmd_map.csv", Format::WmdHsCodeMap),
        [(5, "EoL-RIR (2023)".into()), (6, "HS Code".into())]
    );
    assert_eq!(
        r("wgi.csv", Format::Wgi),
        [
            (6, "Country Code".into()),
            (7, "2022 [YR2022]".into()),
            (9, "2021".into())
        ]
    );
    assert_eq!(
        r("wgi_pv.csv", Format::WgiPv),
        [
            (10, "iso3".into()),
            (11, "pv_estimate".into()),
            (12, "pv_estimate".into())
        ]
    );
    assert_eq!(
        r("policy.csv", Format::PolicyEvents),
        [
            (4, "minerals".into()),
            (5, "effective_from".into()),
            (6, "effective_until".into()),
            (7, "measure".into()),
            (8, "severity".into()),
            (10, "source_reference".into()),
        ]
    );
}

#[test]
fn unknown_country_names_are_rejected_by_name() {
    let items = parse_golden("usgs_world.csv", Format::UsgsMcsWorld, Options::default());
    let reason = items.iter().find_map(|i| match i {
        Item::Rejected { line: 5, reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(reason.expect("line 5 rejected").contains("'Atlantis'"));
    let extract = Options {
        reporter: Some("CHN".into()),
        flow: Some(FlowDirection::Export),
        ..Options::default()
    };
    let items = parse_golden("comtrade_extract.csv", Format::Comtrade, extract);
    assert!(
        items
            .iter()
            .any(|i| matches!(i, Item::Rejected { line: 5, column, reason }
        if column == "partner_name" && reason.contains("Narnia")))
    );
}

#[test]
fn skips_are_counted_not_errors() {
    let done = parse_all(
        Format::Comtrade,
        Options::default(),
        &std::fs::read(golden("comtrade.csv")).expect("golden input"),
    );
    let kinds = &done.summary.skipped_by_kind;
    assert_eq!(kinds.get("aggregate"), Some(&2), "{kinds:?}");
    assert_eq!(kinds.get("not_used"), Some(&3), "{kinds:?}");
    assert_eq!(kinds.get("outside_catalog"), Some(&2), "{kinds:?}");
    assert!(
        done.items
            .iter()
            .any(|i| matches!(i, Item::Skipped { line: 4, reason: SkipReason::Aggregate(w) } if w == "World"))
    );
}

#[test]
fn baci_row_is_an_import_and_an_export() {
    let items = parse_golden("baci.csv", Format::Baci, Options::default());
    let flows: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record {
                line: 2,
                record: Record::Trade(f),
            } => Some(f.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(flows.len(), 2);
    assert_eq!((flows[0].reporter.as_str(), flows[0].partner.as_str()), ("JPN", "CHN"));
    assert_eq!(flows[0].flow, Some(FlowDirection::Import));
    assert_eq!((flows[1].reporter.as_str(), flows[1].partner.as_str()), ("CHN", "JPN"));
    assert_eq!(flows[1].flow, Some(FlowDirection::Export));
    assert_eq!(flows[0].value_usd, 12_500.0);
    assert_eq!(flows[0].net_weight_kg, Some(3_000.0));
}

#[test]
fn a_bad_header_is_one_rejection_and_rows_are_counted() {
    let done = parse_all(Format::Baci, Options::default(), b"year,exporter\n2023,156\n2024,392\n");
    assert!(matches!(&done.items[0], Item::Rejected { line: 1, column, reason }
        if column == "t" && reason.contains("year, exporter")));
    assert_eq!(done.summary.skipped_by_kind.get("after_bad_header"), Some(&2));
    let empty = parse_all(Format::Wgi, Options::default(), b"");
    assert!(matches!(&empty.items[..], [Item::Rejected { line: 1, .. }]));
}

#[test]
fn a_long_stream_is_parsed_chunk_by_chunk() {
    // 200,000 rows fed in 64 KiB chunks, items taken per chunk: the parser
    // keeps no per-row state, so this is what a 1 GB upload looks like.
    let mut p = parser(Format::Baci, Options::default());
    let mut buf = b"t,i,j,k,v,q\n".to_vec();
    let mut records = 0u64;
    for n in 0..200_000u32 {
        buf.extend_from_slice(format!("2023,156,392,284690,{}.5,NA\n", n % 1000).as_bytes());
        if buf.len() >= 64 * 1024 {
            records += p.feed(&buf).len() as u64;
            buf.clear();
        }
    }
    records += p.feed(&buf).len() as u64;
    let done = p.finish();
    records += done.items.len() as u64;
    assert_eq!(records, 400_000);
    assert_eq!((done.summary.rows, done.summary.records), (200_000, 400_000));
}
