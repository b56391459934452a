//! Properties of both methods, checked on generated inputs.

use proptest::prelude::*;
use supplyrisk_engine::{
    EuCrmParams, Governance, GprParams, Importer, Score, Stage, StageData, SupplyInputs, eu_crm, geopolrisk,
};

const COUNTRIES: [&str; 8] = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"];

#[derive(Debug, Clone)]
struct Case {
    /// (country index, tonnes) producers.
    production: Vec<(usize, f64)>,
    /// (partner index, tonnes, value) imports of the importer.
    imports: Vec<(usize, f64, f64)>,
    /// (partner index, tonnes) exports of the importer.
    exports: Vec<(usize, f64)>,
    /// WGI estimate of every country.
    wgi: Vec<f64>,
    /// The importer's own production.
    domestic: f64,
    /// Import the importer as a two-member bloc.
    as_bloc: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((0usize..8, 1.0f64..1000.0), 1..10),
        prop::collection::vec((0usize..8, 0.5f64..500.0, 1.0f64..1e6), 0..12),
        prop::collection::vec((0usize..8, 0.5f64..300.0), 0..4),
        prop::collection::vec(-2.5f64..2.5, 8),
        prop_oneof![Just(0.0), 1.0f64..400.0],
        any::<bool>(),
    )
        .prop_map(|(production, imports, exports, wgi, domestic, as_bloc)| Case {
            production,
            imports,
            exports,
            wgi,
            domestic,
            as_bloc,
        })
}

fn importer(bloc: bool) -> Importer {
    if bloc {
        Importer::bloc("ZZ", ["ZZA", "ZZB"])
    } else {
        Importer::country("ZZA")
    }
}

/// Builds the inputs, with rows in the order given by `perm` (a rotation).
fn build(c: &Case, rotate: usize) -> SupplyInputs {
    build_weighing(c, rotate, true)
}

/// [`build`], with the weight of the first flow withheld unless
/// `first_weighed`.
fn build_weighing(c: &Case, rotate: usize, first_weighed: bool) -> SupplyInputs {
    let mut weighed = std::iter::once(first_weighed).chain(std::iter::repeat(true));
    let mut stage = StageData::new(Stage::Processing).trade_reported();
    let mut prod: Vec<(String, f64)> = c
        .production
        .iter()
        .map(|(i, t)| (COUNTRIES[*i].to_string(), *t))
        .collect();
    if c.domestic > 0.0 {
        prod.push(("ZZA".into(), c.domestic));
    }
    let mut imports: Vec<(String, f64, f64)> = c
        .imports
        .iter()
        .map(|(i, t, v)| (COUNTRIES[*i].to_string(), *t, *v))
        .collect();
    let n = prod.len().max(1);
    prod.rotate_left(rotate % n);
    prod.reverse();
    if !imports.is_empty() {
        let n = imports.len();
        imports.rotate_left(rotate % n);
    }
    for (country, t) in &prod {
        stage = stage.producer(country, Some(*t));
    }
    for (k, (country, t, v)) in imports.iter().enumerate() {
        let reporter = if c.as_bloc && k % 2 == 1 { "ZZB" } else { "ZZA" };
        let tonnes = Some(*t).filter(|_| weighed.next() == Some(true));
        stage = stage.import(reporter, country, *v, tonnes);
    }
    for (i, t) in &c.exports {
        let tonnes = Some(*t).filter(|_| weighed.next() == Some(true));
        stage = stage.export("ZZA", COUNTRIES[*i], 10.0 * t, tonnes);
    }
    let mut inputs = SupplyInputs::new("X", 2023, importer(c.as_bloc))
        .stage(stage)
        .eol_rir(0.1)
        .substitution_index(0.95);
    let mut order: Vec<usize> = (0..8).collect();
    order.rotate_left(rotate % 8);
    for i in order {
        inputs = inputs.governance(COUNTRIES[i], Governance::uniform(c.wgi[i]));
    }
    inputs
        .governance("ZZA", Governance::uniform(1.0))
        .governance("ZZB", Governance::uniform(1.2))
}

fn both(inputs: &SupplyInputs) -> (Score, Score) {
    (
        eu_crm(inputs, &EuCrmParams::default()).expect("eu-crm"),
        geopolrisk(inputs, &GprParams::default()).expect("geopolrisk"),
    )
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn scores_do_not_depend_on_country_order(c in case(), rotate in 1usize..7) {
        let (a_eu, a_gpr) = both(&build(&c, 0));
        let (b_eu, b_gpr) = both(&build(&c, rotate));
        prop_assert!(rel(a_eu.value, b_eu.value) < 1e-12, "{} vs {}", a_eu.value, b_eu.value);
        prop_assert!(rel(a_gpr.value, b_gpr.value) < 1e-12, "{} vs {}", a_gpr.value, b_gpr.value);
        prop_assert_eq!(a_eu.confidence.value, b_eu.confidence.value);
    }

    #[test]
    fn import_reliance_stays_within_0_1(c in case()) {
        let (eu, gpr) = both(&build(&c, 0));
        let ir = eu.component("import_reliance").expect("ir");
        prop_assert!((0.0..=1.0).contains(&ir), "eu-crm IR {}", ir);
        let ir = gpr.component("import_risk").expect("ir");
        prop_assert!((0.0..=1.0).contains(&ir), "geopolrisk IR {}", ir);
        prop_assert!(eu.value >= 0.0 && gpr.value >= 0.0 && gpr.value <= 1.0);
    }

    /// GeoPolRisk: moving import tonnes from a better- to a worse-governed
    /// partner never lowers the score (IR is linear in the tonnes, HHI fixed).
    #[test]
    fn geopolrisk_moving_imports_to_worse_governance_never_lowers(
        c in case(), k in 0usize..12, other in 0usize..8, moved in 0.0f64..1.0,
    ) {
        if c.imports.is_empty() {
            return Ok(());
        }
        let mut c = c;
        let good = c.imports[k % c.imports.len()].0;
        let bad = other;
        prop_assume!(good != bad && c.wgi[good] != c.wgi[bad]);
        if c.wgi[good] < c.wgi[bad] {
            c.wgi.swap(good, bad);
        }
        let before = geopolrisk(&build(&c, 0), &GprParams::default()).expect("score").value;
        let mut shifted = c.clone();
        let mut shift = 0.0;
        for imp in shifted.imports.iter_mut().filter(|(i, _, _)| *i == good) {
            shift += imp.1 * moved;
            imp.1 *= 1.0 - moved;
        }
        shifted.imports.push((bad, shift, 1.0));
        let after = geopolrisk(&build(&shifted, 0), &GprParams::default()).expect("score").value;
        prop_assert!(after >= before * (1.0 - 1e-12), "{} < {}", after, before);
    }

    /// EU CRM: moving share from a better- to a worse-governed supplier never
    /// lowers the score when the worse-governed one already holds at least
    /// as much (the derivative of s² × WGI is then non-negative); checked on
    /// global production and on imports.
    #[test]
    fn eu_crm_moving_share_to_worse_governance_never_lowers(
        c in case(), good in 0usize..8, bad in 0usize..8, moved in 0.0f64..1.0,
    ) {
        prop_assume!(c.wgi[good] > c.wgi[bad]);
        let base = build(&c, 0);
        let before = eu_crm(&base, &EuCrmParams::default()).expect("score").value;
        // Production: good and bad as producers, bad holding at least as much.
        let total = |v: &Vec<(usize, f64)>, k: usize| v.iter().filter(|(i, _)| *i == k).map(|(_, t)| t).sum::<f64>();
        let (pg, pb) = (total(&c.production, good), total(&c.production, bad));
        if pg > 0.0 && pb >= pg {
            let mut shifted = c.clone();
            for p in shifted.production.iter_mut().filter(|(i, _)| *i == good) {
                p.1 *= 1.0 - moved;
            }
            shifted.production.push((bad, pg * moved));
            let after = eu_crm(&build(&shifted, 0), &EuCrmParams::default()).expect("score").value;
            prop_assert!(after >= before * (1.0 - 1e-12), "production: {} < {}", after, before);
        }
        let imp = |k: usize| c.imports.iter().filter(|(i, _, _)| *i == k).map(|(_, t, _)| t).sum::<f64>();
        let (ig, ib) = (imp(good), imp(bad));
        if ig > 0.0 && ib >= ig {
            let mut shifted = c.clone();
            for p in shifted.imports.iter_mut().filter(|(i, _, _)| *i == good) {
                p.1 *= 1.0 - moved;
            }
            shifted.imports.push((bad, ig * moved, 1.0));
            let after = eu_crm(&build(&shifted, 0), &EuCrmParams::default()).expect("score").value;
            prop_assert!(after >= before * (1.0 - 1e-12), "imports: {} < {}", after, before);
        }
    }

    /// Missing data lowers confidence and is reported; it is never read as 0.
    #[test]
    fn missing_data_lowers_confidence_instead_of_becoming_zero(c in case(), which in 0usize..8) {
        let full = build(&c, 0);
        let (eu_full, gpr_full) = both(&full);
        prop_assert_eq!(eu_full.confidence.value, 1.0);
        prop_assert_eq!(gpr_full.confidence.value, 1.0);
        if c.domestic > 0.0 || !c.imports.is_empty() {
            prop_assert!(eu_full.defaulted.is_empty(), "{:?}", eu_full.defaulted);
        }

        // Governance removed: confidence drops when the country matters, the
        // default is listed, and the value differs from "best governance" (a zero weight).
        let country = COUNTRIES[which];
        let gov_term = format!("governance:{country}");
        let involved = c.production.iter().any(|(i, _)| *i == which) || c.imports.iter().any(|(i, _, _)| *i == which);
        let mut missing = full.clone();
        missing.governance.remove(country);
        let mut zero = full.clone();
        zero.governance.insert(country.to_string(), Governance::uniform(2.5));
        let (eu_m, gpr_m) = both(&missing);
        let (eu_z, gpr_z) = both(&zero);
        if involved {
            prop_assert!(eu_m.confidence.value < 1.0);
            prop_assert!(eu_m.is_defaulted(&gov_term));
            // The default (mid-scale) weighs more than the best governance (a zero
            // weight) wherever the country's term carries weight.
            prop_assert!(eu_m.value >= eu_z.value);
            let ir = eu_full.component("import_reliance").expect("ir");
            let imported = c.imports.iter().any(|(i, _, _)| *i == which);
            if imported || ir > 0.0 {
                prop_assert!(eu_m.value > eu_z.value, "{} vs {}", eu_m.value, eu_z.value);
            }
        }
        if c.imports.iter().any(|(i, t, _)| *i == which && *t > 0.0) {
            prop_assert!(gpr_m.confidence.value < 1.0);
            prop_assert!(gpr_m.is_defaulted(&gov_term));
            prop_assert!(gpr_m.value > gpr_z.value);
        }

        // A producer's figure withheld: reported, confidence drops.
        let mut withheld = full.clone();
        let stage = &mut withheld.stages[0];
        if stage.production.len() > 1 {
            stage.production[0].tonnes = None;
            let (eu_w, gpr_w) = both(&withheld);
            prop_assert!(eu_w.confidence.value < 1.0);
            prop_assert!(gpr_w.confidence.value < 1.0);
            prop_assert!(eu_w.confidence.reasons.iter().any(|r| r.input == "production"));
        }

        // EoL-RIR and SI unknown: defaulted, reported, confidence 2/5 lower.
        let mut unknown = full.clone();
        unknown.eol_rir = None;
        unknown.substitution_index = None;
        let s = eu_crm(&unknown, &EuCrmParams::default()).expect("score");
        prop_assert!((s.confidence.value - 0.6).abs() < 1e-12);
        prop_assert!(s.is_defaulted("eol_rir") && s.is_defaulted("substitution_index"));

        // Trade weights missing: imputed or flagged, confidence drops.
        if !c.imports.is_empty() || !c.exports.is_empty() {
            let unweighed = build_weighing(&c, 0, false);
            let (eu_u, gpr_u) = both(&unweighed);
            prop_assert!(eu_u.confidence.value < 1.0);
            if !c.imports.is_empty() {
                prop_assert!(gpr_u.confidence.value < 1.0);
            }
        }
    }
}
