//! How figures are printed: percentiles of a sorted sample and the verdict
//! against a target.

/// The `p`th percentile of `sorted` (ascending, not empty), nearest rank below.
pub(crate) fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// `MET` or `NOT MET`.
pub(crate) fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "NOT MET" }
}

/// Prints p50 and p99 of `latencies` (ms) against a p99 target.
pub(crate) fn report_latency(what: &str, latencies: &mut [f64], target_p99: f64) {
    latencies.sort_by(f64::total_cmp);
    let pct = |p: usize| percentile(latencies, p);
    println!("{what}");
    println!(
        "  p50 {:>8.1} ms   p90 {:.1} ms   max {:.1} ms",
        pct(50),
        pct(90),
        latencies[latencies.len() - 1]
    );
    println!(
        "  p99 {:>8.1} ms   target <= {target_p99} ms -> {}",
        pct(99),
        verdict(pct(99) <= target_p99)
    );
}
