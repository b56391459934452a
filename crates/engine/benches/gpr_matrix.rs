//! Whole GeoPolRisk matrix from the shipped files, loading included: every
//! material × every country and the EU-27 × 2018–2024. Prints the elapsed
//! time and the number of scores, and the CPU time of the first (cold)
//! score of each method in this process.

#[path = "../tests/engine/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use supplyrisk_engine::{EuCrmParams, GprParams, Importer, eu_crm, geopolrisk};

/// CPU time of the current thread (Linux `schedstat`), or wall time elsewhere.
fn cpu_now() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace()
        .next()?
        .parse::<u64>()
        .ok()
        .map(Duration::from_nanos)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let (c0, t0) = (cpu_now(), Instant::now());
    let out = f();
    let wall = t0.elapsed();
    let cpu = match (c0, cpu_now()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    (out, wall, cpu)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let (files, wall_read, _) = timed(common::GprFiles::read);
    let Some(files) = files else {
        println!("gpr_matrix: shipped data not found, skipped");
        return;
    };
    let (dataset, wall_index, _) = timed(|| files.dataset());
    let (rows, wall_matrix, cpu_matrix) = timed(|| dataset.matrix());
    let scored = rows.iter().filter(|r| r.values.is_some()).count();
    let total = wall_read + wall_index + wall_matrix;
    println!(
        "gpr_matrix: {} cells ({} scores, {} without world production) in {:.3} s \
         (read+gunzip {:.3} s, parse+index {:.3} s, matrix {:.3} s, matrix CPU {:?})",
        rows.len(),
        scored,
        rows.len() - scored,
        total.as_secs_f64(),
        wall_read.as_secs_f64(),
        wall_index.as_secs_f64(),
        wall_matrix.as_secs_f64(),
        cpu_matrix,
    );

    // Cold single scores: the first call of each method in this process
    // (wall time: the thread CPU clock read here is too coarse for one call).
    if let Some(snap) = common::Snapshot::load() {
        let inputs = snap.inputs("Cobalt", 2022, Importer::country("USA")).expect("inputs");
        let (s, wall, _) = timed(|| eu_crm(&inputs, &EuCrmParams::default()));
        println!(
            "first eu-crm score in process (cobalt, USA, 2022) = {:.4}: wall {wall:?}",
            s.map(|s| s.value).unwrap_or(f64::NAN)
        );
        let (s, wall, _) = timed(|| geopolrisk(&inputs, &GprParams::default()));
        println!(
            "first geopolrisk score in process (cobalt, USA, 2022) = {:.4}: wall {wall:?}",
            s.map(|s| s.value).unwrap_or(f64::NAN)
        );
        // Every material × importer for 2022, each scored once: inputs that
        // are not in cache, no memoization in the engine.
        let mut all = Vec::new();
        for m in &snap.materials {
            for c in snap.countries() {
                if let Some(i) = snap.inputs(&m.reference_id, 2022, Importer::country(c)) {
                    all.push(i);
                }
            }
        }
        let n = all.len() as u32;
        let (ok, wall, cpu) = timed(|| {
            all.iter()
                .filter(|i| eu_crm(i, &EuCrmParams::default()).is_ok())
                .count()
        });
        println!(
            "eu-crm, {n} cold scores (every material × importer, 2022; {ok} scored): wall {wall:?}, CPU {cpu:?}, \
             CPU per score {:?}",
            cpu.map(|c| c / n)
        );
        let (ok, wall, cpu) = timed(|| {
            all.iter()
                .filter(|i| geopolrisk(i, &GprParams::default()).is_ok())
                .count()
        });
        println!(
            "geopolrisk, {n} cold scores ({ok} scored): wall {wall:?}, CPU {cpu:?}, CPU per score {:?}",
            cpu.map(|c| c / n)
        );
        // The same input over and over (warm caches).
        let reps = 10_000u32;
        let (_, wall, cpu) = timed(|| {
            for _ in 0..reps {
                std::hint::black_box(eu_crm(std::hint::black_box(&inputs), &EuCrmParams::default()).is_ok());
            }
        });
        println!(
            "eu-crm cobalt/USA repeated {reps}×: wall {:?}, CPU {:?} per score",
            wall / reps,
            cpu.map(|c| c / reps)
        );
        let (_, wall, cpu) = timed(|| {
            for _ in 0..reps {
                std::hint::black_box(geopolrisk(std::hint::black_box(&inputs), &GprParams::default()).is_ok());
            }
        });
        println!(
            "geopolrisk cobalt/USA repeated {reps}×: wall {:?}, CPU {:?} per score",
            wall / reps,
            cpu.map(|c| c / reps)
        );
    }
}
