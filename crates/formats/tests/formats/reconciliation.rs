//! Reconciliation against the shipped files: every country name and code
//! resolves, aggregates are recognised, every catalog mapping finds rows,
//! and every country or territory has governance data or a fallback.

use std::collections::{BTreeMap, BTreeSet};

use std::path::PathBuf;

use crate::data;
use supplyrisk_domain::{Catalog, Countries, CountryKind, GovernanceDimension};
use supplyrisk_formats::reconcile::{AggregateKind, NameMatch, resolve_country_name};
use supplyrisk_formats::{Finished, Format, Item, Options, Record, parse_all};

fn rows(path: &str) -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_path(data(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let headers: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    rdr.records()
        .map(|r| {
            let r = r.expect("record");
            headers.iter().cloned().zip(r.iter().map(str::to_string)).collect()
        })
        .collect()
}

fn parse(format: Format, path: &str) -> Finished {
    parse_all(format, Options::default(), &std::fs::read(data(path)).expect("file"))
}

fn records(done: &Finished) -> impl Iterator<Item = &Record> {
    done.items.iter().filter_map(|i| match i {
        Item::Record { record, .. } => Some(record),
        _ => None,
    })
}

fn resolves(name: &str) -> bool {
    !matches!(resolve_country_name(name), NameMatch::Unknown)
}

#[test]
fn every_country_name_and_code_in_the_shipped_files_resolves() {
    let registry = Countries::builtin();
    let mut unknown = BTreeSet::new();
    let mut check = |file: &str, name: &str| {
        if !resolves(name) {
            unknown.insert(format!("{file}: '{name}'"));
        }
    };
    for r in rows("baci/country_codes_V202401b.csv") {
        check("baci codes", &r["name"]);
        check("baci codes iso3", &r["iso3"]);
        let code: u16 = r["code"].parse().expect("code");
        assert!(registry.by_baci_code(code).is_some(), "BACI code {code}");
    }
    for r in rows("world-mining-data/country_iso.csv") {
        check("wmd country_iso", &r["country"]);
        let code: u16 = r["code"].parse().expect("code");
        assert!(registry.by_baci_code(code).is_some(), "WMD code {code}");
    }
    for r in rows("world-mining-data/wmd_production_2018-2024_long.csv") {
        check("wmd", &r["country"]);
    }
    for r in rows("usgs-mcs2025/world_data/MCS2025_World_Data.csv") {
        check("usgs world", &r["COUNTRY"]);
    }
    for r in rows("usgs-mcs2025/industry_trends/MCS2025_Fig2_Net_Import_Reliance.csv") {
        for name in r["Major_Import_Sources_2020_2023"]
            .split(',')
            .filter(|s| !s.trim().is_empty())
        {
            check("usgs nir", name);
        }
    }
    for r in rows("worldbank-wgi/WGIData.csv") {
        check("wgi name", &r["Country Name"]);
        check("wgi code", &r["Country Code"]);
    }
    for r in rows("wgi-pv/wgi_pv_estimate_and_normalized_long.csv") {
        check("wgi pv name", &r["country"]);
        check("wgi pv code", &r["iso3"]);
    }
    assert!(unknown.is_empty(), "unresolved names: {unknown:#?}");
}

#[test]
fn usgs_aggregate_labels_are_recognised() {
    let mut labels: BTreeMap<String, AggregateKind> = BTreeMap::new();
    for r in rows("usgs-mcs2025/world_data/MCS2025_World_Data.csv") {
        if let NameMatch::Aggregate { label, kind } = resolve_country_name(&r["COUNTRY"]) {
            labels.insert(label, kind);
        }
    }
    for (label, kind) in [
        ("World total (rounded)", AggregateKind::World),
        ("World total (rounded) 10", AggregateKind::World),
        ("World total", AggregateKind::World),
        ("World total (ilmenite and rutile, rounded)", AggregateKind::World),
        ("Other Countries", AggregateKind::OtherCountries),
        ("Other countries (rounded)", AggregateKind::OtherCountries),
        ("United\u{a0}States and Canada", AggregateKind::Group),
    ] {
        assert_eq!(labels.get(label), Some(&kind), "{label}: {labels:?}");
    }
    // A qualified country is a country, with the qualifier set aside.
    match resolve_country_name("Brazil (beneficiated)") {
        NameMatch::Country { country, qualifier } => {
            assert_eq!(
                (country.iso3.as_str(), qualifier.as_deref()),
                ("BRA", Some("beneficiated"))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_catalog_mapping_finds_rows_in_the_shipped_files() {
    let catalog = Catalog::builtin();
    let usgs = parse(Format::UsgsMcsWorld, "usgs-mcs2025/world_data/MCS2025_World_Data.csv");
    let wmd = parse(
        Format::WorldMiningData,
        "world-mining-data/wmd_production_2018-2024_long.csv",
    );
    let nir = parse(
        Format::UsgsImportReliance,
        "usgs-mcs2025/industry_trends/MCS2025_Fig2_Net_Import_Reliance.csv",
    );
    let map = parse(Format::WmdHsCodeMap, "world-mining-data/hs_code_map.csv");
    let produced = |done: &Finished| -> BTreeSet<String> {
        records(done)
            .filter_map(|r| match r {
                Record::Production(p) => Some(p.stat.mineral.clone()),
                _ => None,
            })
            .collect()
    };
    let (usgs_ids, wmd_ids) = (produced(&usgs), produced(&wmd));
    let nir_ids: BTreeSet<String> = records(&nir)
        .filter_map(|r| match r {
            Record::ImportReliance(n) => Some(n.mineral.to_string()),
            _ => None,
        })
        .collect();
    let salient_commodities: BTreeSet<String> = std::fs::read_dir(data("usgs-mcs2025/salient_commodity"))
        .expect("dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with("_salient.csv"))
        .flat_map(|n| rows(&format!("usgs-mcs2025/salient_commodity/{n}")))
        .map(|r| r["Commodity"].trim().to_string())
        .collect();
    let mut missing = Vec::new();
    for m in catalog.minerals() {
        if !m.usgs_world.is_empty() && !usgs_ids.contains(&m.id) {
            missing.push(format!("{}: usgs_world finds no rows", m.id));
        }
        if m.wmd_sheet.is_some() && !wmd_ids.contains(&m.id) {
            missing.push(format!("{}: wmd_sheet finds no rows", m.id));
        }
        if !m.usgs_nir.is_empty() && !nir_ids.contains(&m.id) {
            missing.push(format!("{}: usgs_nir finds no row", m.id));
        }
        if let Some(c) = &m.usgs_salient_commodity
            && !salient_commodities.contains(c)
        {
            missing.push(format!("{}: no salient file has Commodity '{c}'", m.id));
        }
        if m.usgs_salient.is_some() != m.usgs_salient_commodity.is_some() {
            missing.push(format!("{}: usgs_salient and usgs_salient_commodity go together", m.id));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
    // The HS-code map agrees with the catalog: its codes belong to the
    // mineral, and its EoL-RIR is the catalog's.
    for r in records(&map) {
        let Record::SheetMap(s) = r else { continue };
        let m = catalog.get(s.mineral.as_str()).expect("catalog mineral");
        for code in &s.hs_codes {
            let home = catalog.by_hs_code(code).map(|(h, _)| h.id.as_str());
            assert_eq!(home, Some(m.id.as_str()), "{}: HS {code}", s.sheet);
        }
        let catalog_rir = m.eol_rir.as_ref().map(|e| e.value);
        assert_eq!(catalog_rir, s.eol_rir.as_ref().map(|e| e.value), "{}: EoL-RIR", m.id);
    }
}

#[test]
fn every_country_has_governance_data_or_a_fallback() {
    let wgi = parse(Format::Wgi, "worldbank-wgi/WGIData.csv");
    let pv = parse(Format::WgiPv, "wgi-pv/wgi_pv_estimate_and_normalized_long.csv");
    let mut covered: BTreeSet<String> = BTreeSet::new();
    for r in records(&wgi).chain(records(&pv)) {
        if let Record::Governance(g) = r
            && matches!(
                g.dimension,
                Some(GovernanceDimension::Pv | GovernanceDimension::PvSeries)
            )
        {
            covered.insert(g.country.clone());
        }
    }
    let registry = Countries::builtin();
    let mut uncovered = Vec::new();
    for c in registry
        .iter()
        .filter(|c| matches!(c.kind, CountryKind::Country | CountryKind::Territory))
    {
        if covered.contains(&c.iso3) {
            continue;
        }
        match c.governance_fallback.as_deref() {
            Some(f) if covered.contains(f) => {}
            other => uncovered.push(format!("{} ({}) fallback {other:?}", c.iso3, c.name)),
        }
    }
    assert!(
        uncovered.is_empty(),
        "no governance data and no usable fallback: {uncovered:#?}"
    );
}

#[test]
fn comtrade_extract_from_shared_data_when_present() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/comtrade-china-exports-qennis/deep_dive_hs6_monthly.csv");
    let Ok(bytes) = std::fs::read(&path) else {
        println!(
            "skipped: {} not present (not shipped: redistribution terms unclear)",
            path.display()
        );
        return;
    };
    let options = Options {
        reporter: Some("CHN".into()),
        flow: Some(supplyrisk_domain::FlowDirection::Export),
        ..Options::default()
    };
    let done = parse_all(Format::Comtrade, options, &bytes);
    // 6,442 rows: graphite (250410, 380110) are flows; 811292 is not an HS92 code in the catalog.
    assert_eq!(
        done.summary.rejected,
        0,
        "{:?}",
        done.items.iter().find(|i| matches!(i, Item::Rejected { .. }))
    );
    assert_eq!(done.summary.rows, 6_442);
    assert_eq!(done.summary.skipped_by_kind.get("outside_catalog"), Some(&1_181));
    assert_eq!(done.summary.records, 6_442 - 1_181);
}
