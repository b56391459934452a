//! Hand-computed examples of both methods and of scenarios, with the
//! arithmetic written out.

use supplyrisk_engine::{
    EngineError, EuCrmParams, ExportRestriction, Governance, GprParams, Importer, MethodParams, PolicyMeasure,
    Scenario, Shock, Stage, StageData, StageSource, SupplyInputs, eu_crm, geopolrisk, simulate,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

/// Japan importing mineral X, mining stage.
/// Production CHN 60, AUS 30, USA 10 (t). Governance (all six WGI equal):
/// CHN −0.5 → scaled (2.5 + 0.5) × 2 = 6; AUS 1.5 → 2; USA 1.0 → 3.
/// Japan imports 40 t from CHN (400 000 USD) and 40 t from AUS (200 000 USD).
/// China applies an export tax (t = 1.1). EoL-RIR 0.1, SI_SR 0.9.
fn japan() -> SupplyInputs {
    japan_with_aus_weight(Some(40.0))
}

/// [`japan`] with the weight of the import from AUS as given.
fn japan_with_aus_weight(aus_tonnes: Option<f64>) -> SupplyInputs {
    SupplyInputs::new("X", 2022, Importer::country("JPN"))
        .stage(
            StageData::new(Stage::Mining)
                .producer("CHN", Some(60.0))
                .producer("AUS", Some(30.0))
                .producer("USA", Some(10.0))
                .import("JPN", "CHN", 400_000.0, Some(40.0))
                .import("JPN", "AUS", 200_000.0, aus_tonnes),
        )
        .governance(
            "CHN",
            Governance {
                pv_series: Some(-0.5),
                ..Governance::uniform(-0.5)
            },
        )
        .governance("AUS", Governance::uniform(1.5))
        .governance("USA", Governance::uniform(1.0))
        .governance("JPN", Governance::uniform(1.25))
        .restriction(ExportRestriction::new("chn-tax", "CHN", PolicyMeasure::Tax, 0.3))
        .eol_rir(0.1)
        .substitution_index(0.9)
}

#[test]
fn eu_crm_hand_example_country() {
    // HHI_GS  = 0.6²·6·1.1 + 0.3²·2 + 0.1²·3 = 2.376 + 0.18 + 0.03 = 2.586
    // sourcing: 80 t, CHN 0.5, AUS 0.5 → HHI_src = 0.25·6·1.1 + 0.25·2 = 1.65 + 0.5 = 2.15
    // IR = (80 − 0) / (0 + 80 − 0) = 1
    // SR = (2.586 · 0.5 + 2.15 · 0.5) · (1 − 0.1) · 0.9 = 2.368 · 0.81 = 1.91808
    let s = eu_crm(&japan(), &EuCrmParams::default()).expect("score");
    assert!(close(s.component("hhi_wgi_t_global").expect("gs"), 2.586));
    assert!(close(s.component("hhi_wgi_t_sourcing").expect("src"), 2.15));
    assert!(close(s.component("import_reliance").expect("ir"), 1.0));
    assert!(close(s.value, 1.91808), "{}", s.value);
    assert_eq!(s.method_id(), "eu-crm");
    assert_eq!((s.stage, s.data_year), (Stage::Mining, 2022));
    assert_eq!(s.confidence.value, 1.0, "{:?}", s.confidence);
    assert!(s.defaulted.is_empty());
    // Contributions add up to the score; China leads.
    let total: f64 = s.top_suppliers.iter().map(|c| c.contribution).sum();
    assert!(close(total, s.value));
    assert_eq!(s.top_suppliers[0].country, "CHN");
    assert!(close(s.top_suppliers[0].share, 0.5));
    assert!(close(s.top_suppliers[0].governance, 6.0));
}

#[test]
fn eu_crm_trade_agreement_lowers_t() {
    // With an agreement with AUS: t_AUS = 0.8 in the sourcing term only.
    // HHI_src = 1.65 + 0.25·2·0.8 = 2.05; SR = (1.293 + 1.025) · 0.81 = 1.87758
    let s = eu_crm(&japan().trade_agreement("AUS"), &EuCrmParams::default()).expect("score");
    assert!(close(s.component("hhi_wgi_t_sourcing").expect("src"), 2.05));
    assert!(close(s.value, 1.87758), "{}", s.value);
    // Disabled when not configured.
    let p = EuCrmParams {
        t_trade_agreement: None,
        ..EuCrmParams::default()
    };
    let s = eu_crm(&japan().trade_agreement("AUS"), &p).expect("score");
    assert!(close(s.value, 1.91808));
}

#[test]
fn eu_crm_targeted_restriction_hits_only_targets() {
    // A ban aimed at the USA does not touch Japan's sourcing nor global supply.
    let mut r = ExportRestriction::new("chn-ban-us", "CHN", PolicyMeasure::Ban, 1.0);
    r.targets = vec!["USA".into()];
    let s = eu_crm(&japan().restriction(r.clone()), &EuCrmParams::default()).expect("score");
    assert!(close(s.value, 1.91808));
    r.targets = vec!["JPN".into()];
    // Aimed at Japan: t_CHN = max(1.1, 1.3) = 1.3 in the sourcing term:
    // HHI_src = 0.25·6·1.3 + 0.5 = 2.45; SR = (1.293 + 1.225) · 0.81 = 2.03958
    let s = eu_crm(&japan().restriction(r), &EuCrmParams::default()).expect("score");
    assert!(close(s.value, 2.03958), "{}", s.value);
}

/// Bloc B = {AAA, BBB}. Production AAA 20, CHN 80. Governance: AAA, BBB
/// 2.0 → scaled 1; CHN −0.5 → 6; RUS −1.0 → 7.
/// AAA imports 30 t from CHN, BBB 10 t from RUS, BBB 15 t from AAA
/// (intra-bloc); AAA exports 10 t to USA and 15 t to BBB (intra-bloc).
fn bloc() -> SupplyInputs {
    SupplyInputs::new("X", 2022, Importer::bloc("B", ["AAA", "BBB"]))
        .stage(
            StageData::new(Stage::Processing)
                .producer("AAA", Some(20.0))
                .producer("CHN", Some(80.0))
                .import("AAA", "CHN", 300.0, Some(30.0))
                .import("BBB", "RUS", 100.0, Some(10.0))
                .import("BBB", "AAA", 150.0, Some(15.0))
                .export("AAA", "USA", 100.0, Some(10.0))
                .export("AAA", "BBB", 150.0, Some(15.0)),
        )
        .governance("AAA", Governance::uniform(2.0))
        .governance("BBB", Governance::uniform(2.0))
        .governance("CHN", Governance::uniform(-0.5))
        .governance("RUS", Governance::uniform(-1.0))
        .governance("USA", Governance::uniform(1.0))
        .eol_rir(0.0)
        .substitution_index(1.0)
}

#[test]
fn eu_crm_hand_example_bloc_nets_intra_bloc_trade() {
    // Intra-bloc flows (BBB←AAA, AAA→BBB) are dropped.
    // M = 30 + 10 = 40, X = 10, P = 20 → IR = 30 / (20 + 30) = 0.6
    // sourcing 60 t: AAA 1/3, CHN 1/2, RUS 1/6 → HHI_src = 1/9·1 + 1/4·6 + 1/36·7 = 65/36
    // HHI_GS = 0.2²·1 + 0.8²·6 = 3.88
    // SR = 3.88·0.3 + 65/36·0.7 = 1.164 + 1.2638… = 2.427888…
    let s = eu_crm(&bloc(), &EuCrmParams::default()).expect("score");
    assert!(close(s.component("import_reliance").expect("ir"), 0.6));
    assert!(close(s.component("hhi_wgi_t_sourcing").expect("src"), 65.0 / 36.0));
    assert!(close(s.component("hhi_wgi_t_global").expect("gs"), 3.88));
    assert!(close(s.value, 1.164 + 65.0 / 36.0 * 0.7), "{}", s.value);
    assert_eq!(s.importer, "B");
    assert!(s.notes.iter().any(|n| n.contains("netted out")), "{:?}", s.notes);
    assert!(close(s.component("apparent_consumption_t").expect("c"), 50.0));
}

#[test]
fn eu_crm_bottleneck_picks_the_riskiest_stage() {
    // Processing fully in CHN (HHI_GS = 6), imports from CHN only → SR = 6.
    let inputs = bloc().stage(
        StageData::new(Stage::Mining)
            .producer("AUS", Some(50.0))
            .producer("CAN", Some(50.0))
            .trade_reported(),
    );
    let mut inputs = inputs;
    inputs = inputs
        .governance("AUS", Governance::uniform(1.5))
        .governance("CAN", Governance::uniform(1.5));
    let s = eu_crm(&inputs, &EuCrmParams::default()).expect("score");
    assert_eq!(s.stage, Stage::Processing);
    assert_eq!(s.stages.len(), 2);
    let mining = s
        .stages
        .iter()
        .find(|x| x.stage == Stage::Mining)
        .and_then(|x| x.value)
        .expect("mining");
    assert!(mining < s.value);
    assert!(s.notes.iter().any(|n| n.contains("bottleneck")));
}

#[test]
fn eu_crm_missing_terms_are_defaulted_and_lower_confidence() {
    let mut inputs = japan();
    inputs.eol_rir = None;
    inputs.substitution_index = None;
    inputs.governance.remove("USA");
    let s = eu_crm(&inputs, &EuCrmParams::default()).expect("score");
    // USA: default scaled WGI 5 → HHI_GS = 2.376 + 0.18 + 0.01·5 = 2.606
    // SR = (2.606 + 2.15) / 2 · (1 − 0) · 1 = 2.378
    assert!(close(s.value, 2.378), "{}", s.value);
    assert!(s.is_defaulted("eol_rir") && s.is_defaulted("substitution_index") && s.is_defaulted("governance:USA"));
    // Confidence: production 1, governance (global 0.9 share-weighted, sourcing 1) → 0.95, trade 1, EoL 0, SI 0.
    assert!(
        close(s.confidence.value, (1.0 + 0.95 + 1.0) / 5.0),
        "{:?}",
        s.confidence
    );
    let inputs_reasons: Vec<&str> = s.confidence.reasons.iter().map(|r| r.input).collect();
    assert_eq!(inputs_reasons, ["governance", "eol_rir", "substitution_index"]);
}

#[test]
fn eu_crm_without_trade_data_assumes_global_sourcing() {
    let mut inputs = japan();
    inputs.stages[0] = inputs.stages[0].clone().trade_unknown();
    let s = eu_crm(&inputs, &EuCrmParams::default()).expect("score");
    // IR defaulted to 1, sourcing = global shares → SR = HHI_GS · 0.81 = 2.586 · 0.81
    assert!(close(s.value, 2.586 * 0.81), "{}", s.value);
    assert!(s.is_defaulted("import_reliance") && s.is_defaulted("sourcing"));
    assert!(close(s.confidence.value, 0.8));
}

#[test]
fn eu_crm_refuses_to_score_from_nothing() {
    let inputs = SupplyInputs::new("X", 2022, Importer::country("JPN")).stage(
        StageData::new(Stage::Mining)
            .producer("CHN", None)
            .import("JPN", "CHN", 1.0, Some(1.0)),
    );
    assert!(matches!(
        eu_crm(&inputs, &EuCrmParams::default()),
        Err(EngineError::NoUsableStage { .. })
    ));
    assert!(matches!(
        geopolrisk(&inputs, &GprParams::default()),
        Err(EngineError::NoUsableStage { .. })
    ));
    let bad = japan().eol_rir(1.5);
    assert!(matches!(
        eu_crm(&bad, &EuCrmParams::default()),
        Err(EngineError::InvalidInput { .. })
    ));
}

#[test]
fn eu_crm_imputes_missing_weights_from_unit_value() {
    // AUS flow loses its weight: unit value of the weighed flows = 400 000 / 40 = 10 000 USD/t
    // → 200 000 USD ≙ 20 t. Sourcing 60 t: CHN 2/3, AUS 1/3.
    // HHI_src = 4/9·6·1.1 + 1/9·2 = 2.9333… + 0.2222… = 3.1555…
    let inputs = japan_with_aus_weight(None);
    let s = eu_crm(&inputs, &EuCrmParams::default()).expect("score");
    assert!(close(
        s.component("hhi_wgi_t_sourcing").expect("src"),
        4.0 / 9.0 * 6.6 + 2.0 / 9.0
    ));
    assert!(s.is_defaulted("trade_weight"));
    assert!(
        close(s.confidence.value, (4.0 + 400.0 / 600.0) / 5.0),
        "{:?}",
        s.confidence
    );
}

#[test]
fn geopolrisk_hand_example() {
    // HHI = (60² + 30² + 10²) / 100² = 0.46
    // w_CHN = (2.5 + 0.5)/5 = 0.6 (PV series), w_AUS = (2.5 − 1.5)/5 = 0.2
    // N = 40·0.6 + 40·0.2 = 32, Q = 80, D = 0 → IR = 0.4; score = 0.184
    // price = 600 000 USD / 80 t = 7 500 USD/t = 7.5 USD/kg; CF = 0.184 · 7.5 / 0.409412948
    let s = geopolrisk(&japan(), &GprParams::default()).expect("score");
    assert!(close(s.component("hhi").expect("hhi"), 0.46));
    assert!(close(s.component("import_risk").expect("ir"), 0.4));
    assert!(close(s.value, 0.184), "{}", s.value);
    assert!(close(s.component("price_usd_per_kg").expect("price"), 7.5));
    assert!(close(
        s.component("characterization_factor").expect("cf"),
        0.184 * 7.5 / 0.409412948
    ));
    assert_eq!(s.method_id(), "geopolrisk");
    assert_eq!(s.confidence.value, 1.0);
    let total: f64 = s.top_suppliers.iter().map(|c| c.contribution).sum();
    assert!(close(total, s.value));
}

#[test]
fn geopolrisk_bloc_partners_weigh_zero_and_missing_pv_defaults() {
    // Bloc: imports AAA←CHN 30, BBB←RUS 10, BBB←AAA 15 (inside: w = 0). RUS has no PV → 0.5;
    // w_CHN = (2.5 + 0.5)/5 = 0.6. N = 30·0.6 + 10·0.5 + 0 = 23; Q = 55; D = 20 → IR = 23/75.
    // HHI = (20² + 80²)/100² = 0.68.
    let mut inputs = bloc();
    inputs.governance.remove("RUS");
    let s = geopolrisk(&inputs, &GprParams::default()).expect("score");
    assert!(close(s.component("import_risk").expect("ir"), 23.0 / 75.0));
    assert!(close(s.value, 0.68 * 23.0 / 75.0));
    assert!(s.is_defaulted("governance:RUS"));
    assert!(!s.is_defaulted("governance:AAA") && !s.is_defaulted("governance:CHN"));
    assert!(s.confidence.value < 1.0);
}

#[test]
fn scenario_export_cut_with_rerouting_and_stock_cover() {
    // China halves exports: Japan loses 20 of its 40 t from CHN. Headroom 25 %:
    // AUS (40 t, unaffected) can add 10 t → shortfall 10 t/yr.
    // Consumption 80 t/yr → 80/365 t/day; stockpile 8 t → 36.5 days of consumption,
    // 8 / (10/365) = 292 days of shortfall.
    let inputs = japan().stockpile_tonnes(8.0);
    let scenario = Scenario::new("CHN halves exports", vec![Shock::export_cut("CHN", 0.5)]).with_headroom(0.25);
    let out = simulate(&inputs, &scenario, &MethodParams::EuCrm(EuCrmParams::default())).expect("outcome");
    let h = out.headline.as_ref().expect("headline");
    assert!(close(h.lost_tonnes, 20.0) && close(h.rerouted_tonnes, 10.0) && close(h.shortfall_tonnes, 10.0));
    assert!(close(out.cover.days_of_consumption.expect("days"), 36.5));
    assert!(close(out.cover.days_of_shortfall.expect("days"), 292.0));
    // After: CHN 20 t, AUS 50 t; CHN now under a quota (t = max(1.1, 1.2) = 1.2).
    // HHI_GS = 0.36·6·1.2 + 0.18 + 0.03 = 2.802; HHI_src = (2/7)²·6·1.2 + (5/7)²·2 = 78.8/49
    // SR = (2.802 + 78.8/49) / 2 · 0.81
    assert!(close(out.before.value, 1.91808));
    assert!(
        close(out.after.value, (2.802 + 78.8 / 49.0) / 2.0 * 0.81),
        "{}",
        out.after.value
    );
    assert!(
        out.after.value < out.before.value,
        "diversifying to AUS lowers the sourcing term here"
    );
}

#[test]
fn scenario_total_ban_without_rerouting_and_missing_stockpile() {
    // "CHN stops exports", no re-routing: 40 t lost, 40 t shortfall; stockpile unknown.
    let scenario = Scenario::new("CHN ban", vec![Shock::export_ban("CHN")]);
    let out = simulate(&japan(), &scenario, &MethodParams::GeoPolRisk(GprParams::default())).expect("outcome");
    let h = out.headline.as_ref().expect("headline");
    assert!(close(h.lost_tonnes, 40.0) && close(h.shortfall_tonnes, 40.0));
    assert_eq!(h.lost_by_supplier, vec![("CHN".to_string(), 40.0)]);
    assert_eq!(out.cover.days_of_consumption, None);
    assert!(out.cover.missing.iter().any(|m| m.contains("stockpile")));
    // GeoPolRisk after: imports only from AUS: IR = 40·0.2/40 = 0.2 → score 0.092.
    assert!(close(out.after.value, 0.092), "{}", out.after.value);
    assert!(out.shocked.restrictions.iter().any(|r| r.measure == PolicyMeasure::Ban));
}

#[test]
fn scenario_domestic_production_cut() {
    // Bloc B loses half of AAA's 20 t: 10 t lost at home, no re-routing → shortfall 10 t.
    // Apparent consumption before = 20 + 40 − 10 = 50 t/yr.
    let scenario = Scenario::new(
        "AAA mine closure",
        vec![Shock::ProductionCut {
            country: "AAA".into(),
            fraction: 0.5,
            stage: None,
        }],
    );
    let out = simulate(
        &bloc().stockpile_tonnes(5.0),
        &scenario,
        &MethodParams::EuCrm(EuCrmParams::default()),
    )
    .expect("outcome");
    let h = out.headline.as_ref().expect("headline");
    assert!(close(h.lost_tonnes, 10.0) && close(h.shortfall_tonnes, 10.0));
    assert!(close(h.consumption_tonnes, 50.0));
    assert!(close(out.cover.days_of_shortfall.expect("days"), 5.0 / (10.0 / 365.0)));
    // After: AAA 10 t of 90 t world production; IR = 30 / (10 + 30) = 0.75.
    assert!(close(out.after.component("import_reliance").expect("ir"), 0.75));
    let bad = Scenario::new("bad", vec![Shock::export_cut("CHN", 1.5)]);
    assert!(simulate(&bloc(), &bad, &MethodParams::EuCrm(EuCrmParams::default())).is_err());
}

/// A trader (here Korea, producing nothing at the stage) passes on world
/// supply: with tracing its governance in the sourcing term is
/// Σ_k s_k · max(g_KOR, g_k) over the producers = 0.6 · max(1, 6) +
/// 0.3 · max(1, 2) + 0.1 · max(1, 3) = 4.5, instead of its own 1.
#[test]
fn traced_origin_gives_a_trader_the_governance_of_world_supply() {
    let inputs = SupplyInputs::new("X", 2022, Importer::country("JPN"))
        .stage(
            StageData::new(Stage::Processing)
                .producer("CHN", Some(60.0))
                .producer("AUS", Some(30.0))
                .producer("USA", Some(10.0))
                .import("JPN", "KOR", 100_000.0, Some(50.0))
                .import("JPN", "AUS", 100_000.0, Some(50.0)),
        )
        .governance("CHN", Governance::uniform(-0.5))
        .governance("AUS", Governance::uniform(1.5))
        .governance("USA", Governance::uniform(1.0))
        .governance("KOR", Governance::uniform(2.0))
        .eol_rir(0.0)
        .substitution_index(1.0);
    let direct = eu_crm(&inputs, &EuCrmParams::default()).expect("score");
    let traced_params = EuCrmParams {
        trace_traders: true,
        ..EuCrmParams::default()
    };
    let traced = eu_crm(&inputs, &traced_params).expect("score");
    let kor = |s: &supplyrisk_engine::Score| {
        s.top_suppliers
            .iter()
            .find(|c| c.country == "KOR")
            .map(|c| c.governance)
    };
    assert_eq!(kor(&direct), Some(1.0));
    assert!(close(kor(&traced).unwrap(), 4.5), "{:?}", kor(&traced));
    // IR = 1: SR = H_gs/2 + H_src/2, H_src = 0.25 · g_KOR + 0.25 · g_AUS.
    let h_gs = 0.36 * 6.0 + 0.09 * 2.0 + 0.01 * 3.0;
    assert!(close(direct.value, h_gs / 2.0 + (0.25 * 1.0 + 0.25 * 2.0) / 2.0));
    assert!(close(traced.value, h_gs / 2.0 + (0.25 * 4.5 + 0.25 * 2.0) / 2.0));
    assert!(
        traced.notes.iter().any(|n| n.contains("KOR 1.00→4.50")),
        "{:?}",
        traced.notes
    );
}

#[test]
fn geopolrisk_zero_imports_and_extensions_say_so() {
    // Trade reported but no flow: the method's zero, a defaulted term, and
    // when nobody is recorded trading the mineral, no trade confidence.
    let nobody = SupplyInputs::new("X", 2022, Importer::country("JPN"))
        .stage(
            StageData::new(Stage::Processing)
                .producer("CHN", Some(90.0))
                .producer("JPN", Some(10.0))
                .trade_reported(),
        )
        .no_flows_recorded();
    let s = geopolrisk(&nobody, &GprParams::default()).expect("score");
    assert_eq!((s.value, s.method_id()), (0.0, "geopolrisk"));
    let imports = s
        .defaulted
        .iter()
        .find(|d| d.term == "imports")
        .expect("imports defaulted");
    assert!(imports.reason.contains("any importer"), "{}", imports.reason);
    assert!(s.confidence.value < 1.0, "{:?}", s.confidence);
    // No trade data at all: the supply-share assumption, under its own id.
    let mut unknown = nobody.clone();
    unknown.stages[0] = unknown.stages[0].clone().trade_unknown();
    unknown.no_flows_recorded = false;
    let s = geopolrisk(&unknown, &GprParams::default()).expect("score");
    assert_eq!(s.method_id(), "geopolrisk-extended");
    assert!(
        s.notes[0].contains("imports assumed to follow world supply shares"),
        "{:?}",
        s.notes
    );
    assert!(s.value > 0.0);
    // A study's 2016–2020 average with 2022 trade: also an extension.
    let mut averaged = japan();
    averaged.stages[0] = averaged.stages[0].clone().sourced(StageSource {
        name: "EU_CRM_2023".into(),
        year: 2020,
        first_year: Some(2016),
        why: String::new(),
    });
    let s = geopolrisk(&averaged, &GprParams::default()).expect("score");
    assert_eq!(s.method_id(), "geopolrisk-extended");
    assert!(
        s.notes[0].contains("production of 2016–2020 with trade of 2022"),
        "{:?}",
        s.notes
    );
}
