//! Aggregation shared by the methods: world production shares, the
//! importer's trade (with intra-bloc netting and weight imputation), domestic
//! production and governance lookups.
//!
//! Everything is merged per country and sorted by country code, so results
//! never depend on the order of the input rows.

use std::collections::BTreeMap;
use std::iter::Peekable;

use crate::model::{FlowDirection, Governance, Importer, StageData, TradeFlow};

/// The importer's members, sorted for fast membership tests.
#[derive(Debug, Clone)]
pub(crate) struct Members<'a> {
    sorted: Vec<&'a str>,
}

impl<'a> Members<'a> {
    /// The members of `importer`.
    pub fn of(importer: &'a Importer) -> Self {
        let mut sorted: Vec<&str> = importer.members().iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        Members { sorted }
    }

    /// True when `country` is a member.
    #[inline]
    pub fn contains(&self, country: &str) -> bool {
        match self.sorted.as_slice() {
            [one] => *one == country,
            all => all.binary_search(&country).is_ok(),
        }
    }
}

/// Governance lookups for countries asked in ascending order: one ordered
/// walk of the map instead of a tree search per country.
pub(crate) struct GovCursor<'a> {
    iter: Peekable<std::collections::btree_map::Iter<'a, String, Governance>>,
}

impl<'a> GovCursor<'a> {
    /// A cursor at the start of `map`.
    pub fn new(map: &'a BTreeMap<String, Governance>) -> Self {
        GovCursor {
            iter: map.iter().peekable(),
        }
    }

    /// The governance of `country`; countries must be asked in ascending order.
    pub fn get(&mut self, country: &str) -> Option<&'a Governance> {
        while let Some((k, _)) = self.iter.peek() {
            if k.as_str() < country {
                self.iter.next();
            } else {
                break;
            }
        }
        match self.iter.peek() {
            Some((k, g)) if k.as_str() == country => Some(*g),
            _ => None,
        }
    }
}

/// World production at one stage, merged per country.
#[derive(Debug, Clone)]
pub(crate) struct GlobalSupply<'a> {
    /// Producers with a known quantity, sorted by country, merged.
    pub producers: Vec<(&'a str, f64)>,
    /// Denominator of shares: the published world total, or the sum of the
    /// known quantities when larger or when no total is published.
    pub total: f64,
    /// Producers with a withheld figure (in at least one row), sorted, unique.
    pub withheld: Vec<&'a str>,
    /// Share of the world total that is attributed to named producers with
    /// a known figure (1 when nothing is withheld).
    pub coverage: f64,
}

impl<'a> GlobalSupply<'a> {
    /// Merges the production rows of `stage`; `None` when no producer has a
    /// positive known quantity.
    pub fn of(stage: &'a StageData) -> Option<Self> {
        let mut producers: Vec<(&str, f64)> = Vec::with_capacity(stage.production.len());
        let mut withheld: Vec<&str> = Vec::new();
        for p in &stage.production {
            match p.tonnes {
                Some(t) if t.is_finite() && t >= 0.0 => producers.push((p.country.as_str(), t)),
                _ => withheld.push(p.country.as_str()),
            }
        }
        let (known_rows, withheld_rows) = (producers.len(), withheld.len());
        let producers = merge_sorted(producers);
        withheld.sort_unstable();
        withheld.dedup();
        let known: f64 = producers.iter().map(|(_, t)| t).sum();
        let published = stage.world_total.filter(|t| t.is_finite() && *t > 0.0);
        let total = published.map_or(known, |t| t.max(known));
        if total.is_nan() || total <= 0.0 || known <= 0.0 {
            return None;
        }
        let coverage = if withheld_rows == 0 {
            1.0
        } else if published.is_some() {
            known / total
        } else {
            known_rows as f64 / (known_rows + withheld_rows) as f64
        };
        Some(GlobalSupply {
            producers,
            total,
            withheld,
            coverage,
        })
    }

    /// Share of `country` in world supply (0 when not a known producer).
    pub fn share(&self, country: &str) -> f64 {
        self.producers
            .binary_search_by(|(c, _)| c.cmp(&country))
            .map_or(0.0, |i| self.producers[i].1 / self.total)
    }
}

/// Sorts by country and adds up duplicates.
pub(crate) fn merge_sorted(mut rows: Vec<(&str, f64)>) -> Vec<(&str, f64)> {
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<(&str, f64)> = Vec::with_capacity(rows.len());
    for (c, t) in rows {
        match out.last_mut() {
            Some((lc, lt)) if *lc == c => *lt += t,
            _ => out.push((c, t)),
        }
    }
    out
}

/// The importer's domestic production at a stage.
#[derive(Debug, Clone, Default)]
pub(crate) struct Domestic<'a> {
    /// Known production per member, sorted.
    pub by_member: Vec<(&'a str, f64)>,
    /// Sum of the known figures.
    pub tonnes: f64,
    /// Members whose figure is withheld.
    pub withheld: Vec<&'a str>,
}

impl<'a> Domestic<'a> {
    /// Domestic production of `importer` from the world production rows.
    /// A member with no row produces nothing (sources list every producer);
    /// a member with a withheld figure is reported in `withheld`.
    pub fn of(stage: &'a StageData, importer: &Members) -> Self {
        let mut by_member = Vec::new();
        let mut withheld = Vec::new();
        for p in &stage.production {
            if importer.contains(&p.country) {
                match p.tonnes {
                    Some(t) if t.is_finite() && t >= 0.0 => by_member.push((p.country.as_str(), t)),
                    _ => withheld.push(p.country.as_str()),
                }
            }
        }
        let by_member = merge_sorted(by_member);
        withheld.sort_unstable();
        withheld.dedup();
        withheld.retain(|w| by_member.binary_search_by(|(c, _)| c.cmp(w)).is_err());
        let tonnes = by_member.iter().map(|(_, t)| t).sum();
        Domestic {
            by_member,
            tonnes,
            withheld,
        }
    }
}

/// One partner's imports into the importer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PartnerImports<'a> {
    /// Partner (origin).
    pub partner: &'a str,
    /// Tonnes, measured plus imputed.
    pub tonnes: f64,
    /// Tonnes as reported (missing weights count 0 here).
    pub tonnes_reported: f64,
    /// Value in USD.
    pub value: f64,
}

/// The importer's trade at one stage, as the EU CRM method needs it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ImporterTrade<'a> {
    /// Imports from partners outside the importer, merged per partner, sorted.
    pub imports: Vec<PartnerImports<'a>>,
    /// Total imports in tonnes (measured plus imputed).
    pub imports_tonnes: f64,
    /// Total exports to partners outside the importer, tonnes.
    pub exports_tonnes: f64,
    /// Value of the flows used (imports and exports), USD.
    pub value_total: f64,
    /// Value of the flows whose weight was reported, USD.
    pub value_weighed: f64,
    /// Unit value used to impute missing weights (USD per tonne).
    pub unit_value: Option<f64>,
    /// Flows whose weight was imputed.
    pub imputed_flows: usize,
    /// Flows with neither weight nor a unit value to impute one (dropped).
    pub unweighable_flows: usize,
    /// Flows between two members of a bloc (netted out).
    pub intra_bloc_flows: usize,
    /// Flows whose reporter is not the importer or a member (ignored).
    pub foreign_flows: usize,
}

impl<'a> ImporterTrade<'a> {
    /// Aggregates the importer's flows. Flows between members of a bloc are
    /// dropped (netting); missing weights are imputed with the importer's
    /// own unit value at this stage (value-weighted over the flows that
    /// report both value and weight).
    pub fn of(flows: &'a [TradeFlow], importer: &Members) -> Self {
        let mut t = ImporterTrade::default();
        let mut used: Vec<&TradeFlow> = Vec::with_capacity(flows.len());
        let (mut uv_value, mut uv_tonnes) = (0.0, 0.0);
        for f in flows {
            if !importer.contains(&f.reporter) {
                t.foreign_flows += 1;
                continue;
            }
            if importer.contains(&f.partner) {
                if f.partner != f.reporter {
                    t.intra_bloc_flows += 1;
                }
                continue;
            }
            let value = if f.value_usd.is_finite() && f.value_usd > 0.0 {
                f.value_usd
            } else {
                0.0
            };
            if let Some(q) = f.tonnes.filter(|q| q.is_finite() && *q > 0.0)
                && value > 0.0
            {
                uv_value += value;
                uv_tonnes += q;
            }
            used.push(f);
        }
        t.unit_value = (uv_tonnes > 0.0 && uv_value > 0.0).then(|| uv_value / uv_tonnes);
        let mut imports: Vec<PartnerImports> = Vec::with_capacity(used.len());
        for f in used {
            let value = if f.value_usd.is_finite() && f.value_usd > 0.0 {
                f.value_usd
            } else {
                0.0
            };
            let reported = f.tonnes.filter(|q| q.is_finite() && *q >= 0.0);
            let tonnes = match (reported, t.unit_value) {
                (Some(q), _) => Some(q),
                (None, Some(uv)) => {
                    t.imputed_flows += 1;
                    Some(value / uv)
                }
                (None, None) => {
                    t.unweighable_flows += 1;
                    None
                }
            };
            t.value_total += value;
            if reported.is_some() {
                t.value_weighed += value;
            }
            let Some(q) = tonnes else { continue };
            match f.direction {
                FlowDirection::Import => imports.push(PartnerImports {
                    partner: f.partner.as_str(),
                    tonnes: q,
                    tonnes_reported: reported.unwrap_or(0.0),
                    value,
                }),
                FlowDirection::Export => t.exports_tonnes += q,
                // Re-imports and re-exports are not supply: inputs carry none.
                FlowDirection::ReImport | FlowDirection::ReExport => {}
            }
        }
        imports.sort_unstable_by(|a, b| {
            a.partner
                .cmp(b.partner)
                .then(a.tonnes.total_cmp(&b.tonnes))
                .then(a.value.total_cmp(&b.value))
        });
        for p in imports {
            match t.imports.last_mut() {
                Some(last) if last.partner == p.partner => {
                    last.tonnes += p.tonnes;
                    last.tonnes_reported += p.tonnes_reported;
                    last.value += p.value;
                }
                _ => t.imports.push(p),
            }
        }
        t.imports_tonnes = t.imports.iter().map(|p| p.tonnes).sum();
        t
    }

    /// Share of the trade value whose weight was reported (1 with no trade).
    pub fn weight_coverage(&self) -> f64 {
        if self.value_total > 0.0 {
            self.value_weighed / self.value_total
        } else {
            1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Stage;

    #[test]
    fn bloc_trade_nets_out_members_and_imputes_weights() {
        let bloc = Importer::bloc("B", ["AAA", "BBB"]);
        let stage = StageData::new(Stage::Mining)
            .import("AAA", "CHN", 100.0, Some(10.0))
            .import("BBB", "CHN", 50.0, None)
            .import("AAA", "BBB", 999.0, Some(99.0))
            .export("BBB", "USA", 20.0, Some(2.0))
            .import("ZZZ", "CHN", 1.0, Some(1.0));
        let flows = stage.trade.expect("reported");
        let t = ImporterTrade::of(&flows, &Members::of(&bloc));
        assert_eq!(t.intra_bloc_flows, 1);
        assert_eq!(t.foreign_flows, 1);
        assert_eq!(t.imputed_flows, 1);
        // unit value = (100 + 20) / (10 + 2) = 10 USD/t → 50 USD = 5 t.
        assert_eq!(t.imports.len(), 1);
        assert!((t.imports[0].tonnes - 15.0).abs() < 1e-12);
        assert!((t.exports_tonnes - 2.0).abs() < 1e-12);
        assert!((t.weight_coverage() - 120.0 / 170.0).abs() < 1e-12);
    }

    #[test]
    fn global_supply_merges_and_reports_withheld() {
        let s = StageData::new(Stage::Mining)
            .producer("CHN", Some(60.0))
            .producer("USA", None)
            .producer("AUS", Some(20.0))
            .producer("CHN", Some(10.0))
            .world_total(100.0);
        let g = GlobalSupply::of(&s).expect("usable");
        assert_eq!(g.producers, vec![("AUS", 20.0), ("CHN", 70.0)]);
        assert_eq!(g.withheld, vec!["USA"]);
        assert!((g.coverage - 0.9).abs() < 1e-12);
        assert!((g.share("CHN") - 0.7).abs() < 1e-12);
    }
}
