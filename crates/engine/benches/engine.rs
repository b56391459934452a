//! Criterion benches: one cold score per method, every mineral × importer
//! recomputed from the shipped data, and the indexed GeoPolRisk matrix.
//!
//! The engine keeps no cache, so every iteration computes the score from
//! its inputs from scratch.

#[path = "../tests/engine/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use supplyrisk_engine::{EuCrmParams, GprImporter, GprParams, Importer, SupplyInputs, eu_crm, geopolrisk};

/// Every covered material × every BACI country for one year.
fn all_inputs(snap: &common::Snapshot, year: u16) -> Vec<SupplyInputs> {
    let materials: Vec<String> = snap.materials.iter().map(|m| m.reference_id.clone()).collect();
    let mut out = Vec::new();
    for m in &materials {
        for c in snap.countries() {
            if let Some(i) = snap.inputs(m, year, Importer::country(c)) {
                out.push(i);
            }
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let Some(snap) = common::Snapshot::load() else {
        return;
    };
    let one = snap.inputs("Cobalt", 2022, Importer::country("USA")).expect("inputs");
    let eu = EuCrmParams::default();
    let gp = GprParams::default();
    c.bench_function("cold score eu-crm (cobalt, USA, 2022)", |b| {
        b.iter(|| eu_crm(black_box(&one), &eu))
    });
    c.bench_function("cold score geopolrisk (cobalt, USA, 2022)", |b| {
        b.iter(|| geopolrisk(black_box(&one), &gp))
    });
    let bloc = snap
        .inputs("Rare earth", 2022, Importer::bloc("EU", common::EU27_ISO3))
        .expect("inputs");
    c.bench_function("cold score eu-crm (rare earths, EU-27 bloc, 2022)", |b| {
        b.iter(|| eu_crm(black_box(&bloc), &eu))
    });

    let all = all_inputs(&snap, 2022);
    println!("every mineral × importer, 2022: {} inputs", all.len());
    let mut group = c.benchmark_group("every mineral x importer 2022");
    group.sample_size(10);
    group.bench_function("eu-crm", |b| {
        b.iter(|| all.iter().filter(|i| eu_crm(i, &eu).is_ok()).count())
    });
    group.bench_function("geopolrisk", |b| {
        b.iter(|| all.iter().filter(|i| geopolrisk(i, &gp).is_ok()).count())
    });
    group.finish();

    if let Some(d) = common::gpr_dataset() {
        let mut group = c.benchmark_group("geopolrisk dataset");
        group.sample_size(10);
        group.bench_function("one score (cobalt, USA, 2022)", |b| {
            b.iter(|| d.score(black_box("Cobalt"), &GprImporter::Country(842), 2022))
        });
        group.bench_function("whole matrix (indexed)", |b| b.iter(|| d.matrix().len()));
        group.finish();
    }
}

criterion_group!(engine, benches);
criterion_main!(engine);
