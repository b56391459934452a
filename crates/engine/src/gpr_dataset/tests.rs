//! The method on a dataset small enough to compute by hand.

use super::*;

fn tiny() -> GprDataset {
    let mut b = GprBuilder::new();
    b.country(1, "A").country(2, "B").country(3, "C");
    b.material("X", "Sheet X", &[100, 200]);
    b.production("Sheet X", 1, 2020, Some(30.9), "metr. t");
    b.production("Sheet X", 2, 2020, Some(10.0), "metr. t");
    b.production("Sheet X", 3, 2020, None, "metr. t");
    b.trade(2020, 2, 1, 100, 5.0, Some(2.0));
    b.trade(2020, 2, 1, 200, 1.0, None);
    b.trade(2020, 3, 1, 100, 4.0, Some(2.0));
    b.pv(1, 2, 2020, Some(0.0));
    b.pv(2, 3, 2020, None);
    b.build().expect("valid")
}

#[test]
fn hand_computed_cell() {
    // HHI = (30² + 10²) / 40² = 1000 / 1600 = 0.625 (30.9 truncates to 30).
    // Importer A (code 1): from B q = 2 + 0 (NA), v = 5 + 1, w_B = (2.5 − 0)/5 = 0.5;
    // from C q = 2, v = 4, no PV → 0.5. N = 2·0.5 + 2·0.5 = 2, Q = 4,
    // D = 30.9 (untruncated). IR = 2 / 34.9; price = 10 / 4 = 2.5.
    let d = tiny();
    let v = d.score("X", &GprImporter::Country(1), 2020).expect("score");
    assert!((v.hhi - 0.625).abs() < 1e-15);
    assert!((v.import_risk - 2.0 / 34.9).abs() < 1e-15);
    assert!((v.price - 2.5).abs() < 1e-15);
    assert!((v.score - 0.625 * 2.0 / 34.9).abs() < 1e-15);
    assert!((v.cf - v.score * 2.5 / 0.409412948).abs() < 1e-15);
}

#[test]
fn region_partners_weigh_zero_but_stay_in_trade() {
    let d = tiny();
    let r = GprImporter::Region {
        name: "AB".into(),
        members: vec![1, 2],
    };
    let v = d.score("X", &r, 2020).expect("score");
    // B is inside: N = 0 + 2·0.5 (C) = 1; Q = 4; D = 30.9 + 10.
    assert!((v.numerator - 1.0).abs() < 1e-15);
    assert!((v.import_risk - 1.0 / 44.9).abs() < 1e-15);
}

#[test]
fn no_imports_scores_zero_and_unknown_year_fails() {
    let d = tiny();
    let v = d.score("X", &GprImporter::Country(3), 2020).expect("score");
    assert_eq!((v.import_risk, v.price, v.score, v.cf), (0.0, 0.0, 0.0, 0.0));
    assert!(d.score("X", &GprImporter::Country(1), 2019).is_err());
    assert!(d.score("Y", &GprImporter::Country(1), 2020).is_err());
    assert_eq!(d.matrix().len(), 4);
}
