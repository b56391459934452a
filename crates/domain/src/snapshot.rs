//! Concentration figures for a supply snapshot.
//!
//! The rules (documented in `docs/data.md`): shares are taken against the
//! published world total where the source gives one, else against the sum of
//! the rows; the HHI (0–10,000) sums named countries only; what no named
//! country accounts for is reported as the unattributed share; withheld
//! figures are listed as withheld, never counted as zero; and a source with
//! no usable figure has no HHI at all rather than an HHI of 0.

/// One producer row: country and quantity (`None` = withheld or unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerRow {
    /// ISO3 of the producer.
    pub country: String,
    /// Quantity, `None` = withheld.
    pub quantity: Option<f64>,
}

/// A producer with its share of the world total.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerShare {
    /// ISO3 of the producer.
    pub country: String,
    /// Quantity, `None` = withheld.
    pub quantity: Option<f64>,
    /// Share of the world total (0–1); `None` when the quantity is withheld
    /// or the world total is zero.
    pub share: Option<f64>,
}

/// Concentration of one source's production figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Concentration {
    /// Producers, largest share first; withheld ones last, by country.
    pub producers: Vec<ProducerShare>,
    /// World total used for shares.
    pub world_total: f64,
    /// True when `world_total` is the source's published figure.
    pub world_total_published: bool,
    /// HHI over named countries (0–10,000); `None` when nothing is usable.
    pub hhi: Option<f64>,
    /// Share not attributed to a named country (0–1).
    pub unattributed_share: f64,
    /// Countries whose figure is withheld.
    pub withheld: Vec<String>,
}

/// Computes shares and HHI for `rows` against `published_world_total`.
pub fn concentration(rows: &[ProducerRow], published_world_total: Option<f64>) -> Concentration {
    let named_sum: f64 = rows.iter().filter_map(|r| r.quantity).sum();
    let (world_total, published) = match published_world_total {
        // A rounded published total can be below the sum of its rows; shares
        // still use it, as the source does, and the unattributed share is 0.
        Some(t) if t.is_finite() && t > 0.0 => (t, true),
        _ => (named_sum, false),
    };
    let mut producers: Vec<ProducerShare> = rows
        .iter()
        .map(|r| ProducerShare {
            country: r.country.clone(),
            quantity: r.quantity,
            share: r.quantity.filter(|_| world_total > 0.0).map(|q| q / world_total),
        })
        .collect();
    producers.sort_by(|a, b| {
        b.share
            .unwrap_or(-1.0)
            .total_cmp(&a.share.unwrap_or(-1.0))
            .then_with(|| a.country.cmp(&b.country))
    });
    let usable = producers.iter().any(|p| p.share.is_some());
    let hhi = usable.then(|| {
        producers
            .iter()
            .filter_map(|p| p.share)
            .map(|s| (s * 100.0).powi(2))
            .sum()
    });
    let attributed: f64 = producers.iter().filter_map(|p| p.share).sum();
    let unattributed_share = if world_total > 0.0 {
        (1.0 - attributed).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut withheld: Vec<String> = producers
        .iter()
        .filter(|p| p.quantity.is_none())
        .map(|p| p.country.clone())
        .collect();
    withheld.sort();
    Concentration {
        producers,
        world_total,
        world_total_published: published,
        hhi,
        unattributed_share,
        withheld,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(c: &str, q: Option<f64>) -> ProducerRow {
        ProducerRow {
            country: c.into(),
            quantity: q,
        }
    }

    #[test]
    fn shares_against_published_total_leave_unattributed_share() {
        let c = concentration(&[row("CHN", Some(60.0)), row("USA", Some(20.0))], Some(100.0));
        assert_eq!(c.hhi, Some(3600.0 + 400.0));
        assert!((c.unattributed_share - 0.2).abs() < 1e-12);
        assert!(c.world_total_published);
        assert_eq!(c.producers[0].country, "CHN");
    }

    #[test]
    fn without_total_shares_use_the_row_sum() {
        let c = concentration(&[row("A", Some(1.0)), row("B", Some(1.0))], None);
        assert_eq!(c.hhi, Some(5000.0));
        assert_eq!(c.unattributed_share, 0.0);
    }

    #[test]
    fn withheld_is_missing_not_zero() {
        let c = concentration(&[row("USA", None), row("CHN", Some(10.0))], Some(10.0));
        assert_eq!(c.withheld, vec!["USA"]);
        assert_eq!(
            c.producers.iter().find(|p| p.country == "USA").and_then(|p| p.share),
            None
        );
    }

    #[test]
    fn nothing_usable_means_no_hhi() {
        let c = concentration(&[row("USA", None)], None);
        assert_eq!(c.hhi, None);
    }
}
