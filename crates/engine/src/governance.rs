//! Governance transformations shared by the methods.

/// Lower end of the published WGI estimate range.
pub const WGI_RANGE_MIN: f64 = -2.5;
/// Upper end of the published WGI estimate range.
pub const WGI_RANGE_MAX: f64 = 2.5;

/// Scaled WGI used by the EU CRM method: the mean of the available WGI
/// estimates mapped linearly from the published range −2.5 … +2.5 onto
/// 10 … 0 (10 = worst governance), clamped to 0 … 10.
///
/// `scaled = clamp((2.5 − mean) × 2, 0, 10)`. See `docs/methodology.md`.
pub fn wgi_scaled(mean_estimate: f64) -> f64 {
    ((WGI_RANGE_MAX - mean_estimate) * 2.0).clamp(0.0, 10.0)
}

/// GeoPolRisk's normalized political-stability score:
/// `clamp((2.5 − PV) / 5, 0, 1)`, 0 = most stable, 1 = least stable.
pub fn pv_normalized(pv_estimate: f64) -> f64 {
    ((WGI_RANGE_MAX - pv_estimate) / 5.0).clamp(0.0, 1.0)
}

/// Scaled WGI standing in for a country with no governance data: the middle
/// of the 0–10 scale (our extension, mirroring GeoPolRisk's 0.5 default).
pub const WGI_SCALED_DEFAULT: f64 = 5.0;

/// GeoPolRisk's normalized score for an exporter with no WGI entry
/// (geopolrisk-py 2.0.1 behaviour).
pub const PV_NORMALIZED_DEFAULT: f64 = 0.5;

/// Mean of the available estimates and how many there were, or `None` when
/// none of the six is known.
pub(crate) fn mean_estimate(estimates: &[Option<f64>; 6]) -> Option<(f64, usize)> {
    let mut sum = 0.0;
    let mut n = 0usize;
    for v in estimates.iter().flatten() {
        if v.is_finite() {
            sum += v;
            n += 1;
        }
    }
    (n > 0).then(|| (sum / n as f64, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_end_points() {
        assert_eq!(wgi_scaled(2.5), 0.0);
        assert_eq!(wgi_scaled(-2.5), 10.0);
        assert_eq!(wgi_scaled(0.0), 5.0);
        assert_eq!(wgi_scaled(-3.0), 10.0);
        assert_eq!(pv_normalized(2.5), 0.0);
        assert_eq!(pv_normalized(-2.7), 1.0);
        assert!((pv_normalized(0.5) - 0.4).abs() < 1e-15);
    }

    #[test]
    fn partial_estimates_average_what_is_there() {
        let e = [Some(1.0), None, Some(0.0), None, None, Some(f64::NAN)];
        assert_eq!(mean_estimate(&e), Some((0.5, 2)));
        assert_eq!(mean_estimate(&[None; 6]), None);
    }
}
