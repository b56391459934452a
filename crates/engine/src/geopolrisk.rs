//! The GeoPolRisk method (Gemechu et al. 2016; Cimprich et al. 2019;
//! Koyamparambath et al., geopolrisk-py) over [`SupplyInputs`].
//!
//! ```text
//! HHI   = Σ_c P_c² / (Σ_c P_c)²                       (world production, 0–1)
//! IR    = Σ_p q_p · w'_p / (Σ_p q_p + D)               (imports by partner, D = domestic production)
//! Score = HHI × IR
//! Price = Σ v / Σ q  (USD per kg)      CF = Score × Price / 0.409412948
//! w_p   = clamp((2.5 − PV_p) / 5, 0, 1); 0.5 when unknown; 0 for partners inside a bloc
//! ```
//! The bit-exact reproduction of the reference implementation over its own
//! data lives in [`crate::gpr_dataset`]; this module applies the same
//! formulas to the service's snapshot and reports what was missing.

use crate::error::EngineError;
use crate::governance::{PV_NORMALIZED_DEFAULT, pv_normalized};
use crate::model::{FlowDirection, StageData, SupplyInputs};
use crate::result::{
    Component, Confidence, ConfidenceReason, DefaultedTerm, Methodology, Score, StageScore, SupplierContribution,
};
use crate::supply::{Domestic, GlobalSupply, GovCursor, Members};

/// Copper's average characterization factor for OECD countries 2017–2021,
/// the normalizer of GeoPolRisk CFs (kg Cu-eq per kg), as hard-coded in
/// geopolrisk-py 2.0.1.
pub const CF_COPPER_NORMALIZER: f64 = 0.409412948;

/// Parameters of the GeoPolRisk score over [`SupplyInputs`].
#[derive(Debug, Clone, PartialEq)]
pub struct GprParams {
    /// How many suppliers to list.
    pub top_suppliers: usize,
}

impl Default for GprParams {
    fn default() -> Self {
        GprParams { top_suppliers: 10 }
    }
}

/// The four numbers of the method, plus the sums behind them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GprValues {
    /// Production concentration, 0–1.
    pub hhi: f64,
    /// Import risk, 0–1.
    pub import_risk: f64,
    /// Import unit value, USD per kg.
    pub price: f64,
    /// HHI × import risk.
    pub score: f64,
    /// Characterization factor, kg Cu-eq per kg.
    pub cf: f64,
    /// Σ q · w' (tonnes).
    pub numerator: f64,
    /// Σ q (tonnes).
    pub total_trade: f64,
    /// Domestic production (tonnes, after unit conversion).
    pub domestic: f64,
}

impl GprValues {
    /// Completes the values from the sums, with the method's zero rules.
    pub fn from_sums(hhi: f64, numerator: f64, total_trade: f64, value_sum: f64, domestic: f64) -> Self {
        let denom = total_trade + domestic;
        let import_risk = if denom == 0.0 { 0.0 } else { numerator / denom };
        let price = if total_trade == 0.0 {
            0.0
        } else {
            value_sum / total_trade
        };
        let score = hhi * import_risk;
        let cf = score * price / CF_COPPER_NORMALIZER;
        GprValues {
            hhi,
            import_risk,
            price,
            score,
            cf,
            numerator,
            total_trade,
            domestic,
        }
    }
}

fn plain_hhi(gs: &GlobalSupply) -> f64 {
    let sum: f64 = gs.producers.iter().map(|(_, q)| q).sum();
    if sum <= 0.0 {
        return 0.0;
    }
    gs.producers.iter().map(|(_, q)| q * q).sum::<f64>() / (sum * sum)
}

/// Scores `inputs` with GeoPolRisk.
///
/// Production concentration comes from the stage with production data
/// (the most concentrated one when several have data); imports are pooled
/// over every stage, as the method sums all HS codes of a material.
pub fn geopolrisk(inputs: &SupplyInputs, params: &GprParams) -> Result<Score, EngineError> {
    if inputs.importer.members().is_empty() {
        return Err(EngineError::invalid(
            "importer.members",
            "a bloc needs at least one member",
        ));
    }
    let mut stage_list: Vec<&StageData> = inputs.stages.iter().collect();
    stage_list.sort_by_key(|s| s.stage);
    let mut stages = Vec::new();
    let mut best: Option<(&StageData, GlobalSupply, f64)> = None;
    for s in &stage_list {
        match GlobalSupply::of(s) {
            Some(gs) => {
                let hhi = plain_hhi(&gs);
                stages.push(StageScore::scored(s, None));
                if best.as_ref().is_none_or(|(_, _, h)| hhi > *h) {
                    best = Some((s, gs, hhi));
                }
            }
            None => stages.push(StageScore::skipped(s, "no producer with a known positive quantity")),
        }
    }
    let Some((prod_stage, gs, hhi)) = best else {
        return Err(EngineError::NoUsableStage {
            mineral: inputs.mineral.clone(),
            year: inputs.year,
            reasons: stages.iter().map(StageScore::describe).collect(),
        });
    };
    crate::eu_crm::mark_bottleneck(&mut stages, prod_stage.stage);
    let mut extensions: Vec<String> = Vec::new();
    let producing_stages = stages.iter().filter(|s| s.skipped.is_none()).count();
    if producing_stages > 1 {
        extensions.push(format!(
            "production concentration from the most concentrated of {producing_stages} stages with production data"
        ));
    }
    if let Some(src) = &prod_stage.source
        && (src.year != inputs.year || src.first_year.is_some())
    {
        let period = match src.first_year {
            Some(first) => format!("{first}–{}", src.year),
            None => src.year.to_string(),
        };
        extensions.push(format!(
            "production of {period} with trade of {} (the method pairs both with one year)",
            inputs.year
        ));
    }
    let importer = &inputs.importer;
    let members = Members::of(importer);
    let domestic = Domestic::of(prod_stage, &members);
    let mut defaulted = Vec::new();
    let mut notes = Vec::new();

    // Imports pooled over every stage, per partner.
    struct Partner<'a> {
        partner: &'a str,
        q: f64,
        v: f64,
        q_missing_value: f64,
    }
    let mut rows: Vec<Partner> = Vec::new();
    let mut any_trade = false;
    let (mut value_all, mut value_weighed) = (0.0, 0.0);
    for s in &stage_list {
        let Some(flows) = &s.trade else { continue };
        any_trade = true;
        for f in flows {
            if f.direction != FlowDirection::Import || !members.contains(&f.reporter) || f.partner == f.reporter {
                continue;
            }
            let v = if f.value_usd.is_finite() && f.value_usd > 0.0 {
                f.value_usd
            } else {
                0.0
            };
            let q = f.tonnes.filter(|q| q.is_finite() && *q >= 0.0);
            value_all += v;
            if q.is_some() {
                value_weighed += v;
            }
            rows.push(Partner {
                partner: f.partner.as_str(),
                q: q.unwrap_or(0.0),
                v,
                q_missing_value: if q.is_none() { v } else { 0.0 },
            });
        }
    }
    rows.sort_unstable_by(|a, b| {
        a.partner
            .cmp(b.partner)
            .then(a.q.total_cmp(&b.q))
            .then(a.v.total_cmp(&b.v))
    });
    let mut merged: Vec<Partner> = Vec::with_capacity(rows.len());
    for r in rows {
        match merged.last_mut() {
            Some(m) if m.partner == r.partner => {
                m.q += r.q;
                m.v += r.v;
                m.q_missing_value += r.q_missing_value;
            }
            _ => merged.push(r),
        }
    }

    // Countries are asked in ascending order (partners and producers are
    // sorted), so one ordered walk of the governance map serves them all.
    let mut cursor = GovCursor::new(&inputs.governance);
    let mut w_of = |c: &str| -> (f64, bool) {
        if members.contains(c) {
            return (0.0, false);
        }
        match cursor.get(c).and_then(|g| g.pv_for_geopolrisk()) {
            Some(pv) => (pv_normalized(pv), false),
            None => (PV_NORMALIZED_DEFAULT, true),
        }
    };

    // (contribution, supplier, share, global share, w, defaulted); strings
    // are allocated only for the suppliers listed.
    let mut contributions: Vec<(f64, &str, f64, f64, f64, bool)> = Vec::new();
    let values;
    let mut missing_pv: Vec<&str> = Vec::new();
    let mut pv_weighed = 0.0;
    let trade_cov;
    if any_trade {
        let (mut n, mut q, mut v) = (0.0, 0.0, 0.0);
        let mut ws = Vec::with_capacity(merged.len());
        for p in &merged {
            let (w, dflt) = w_of(p.partner);
            if dflt {
                missing_pv.push(p.partner);
            } else {
                pv_weighed += p.q;
            }
            n += p.q * w;
            q += p.q;
            v += p.v;
            ws.push((w, dflt));
        }
        // Value in USD, quantity in tonnes: USD/t ÷ 1000 = USD/kg.
        values = GprValues::from_sums(hhi, n, q, v / 1000.0, domestic.tonnes);
        let denom = q + domestic.tonnes;
        for (p, (w, dflt)) in merged.iter().zip(ws) {
            contributions.push((
                if denom > 0.0 { hhi * p.q * w / denom } else { 0.0 },
                p.partner,
                if q > 0.0 { p.q / q } else { 0.0 },
                f64::NAN,
                w,
                dflt,
            ));
        }
        // A mineral nobody is recorded trading: its zero imports rest on no
        // record at all, whatever the method counts.
        trade_cov = if inputs.no_flows_recorded {
            0.0
        } else if value_all > 0.0 {
            value_weighed / value_all
        } else {
            1.0
        };
        let missing_q: f64 = merged.iter().map(|p| p.q_missing_value).sum();
        if missing_q > 0.0 {
            defaulted.push(DefaultedTerm {
                term: "trade_weight".into(),
                value: 0.0,
                reason: format!(
                    "imports worth {missing_q:.0} USD have no reported weight: the method counts them as 0 t \
                     (their value still enters the price)"
                ),
            });
        }
        if q == 0.0 && missing_q == 0.0 {
            let whose = if inputs.no_flows_recorded {
                "any importer".to_string()
            } else {
                importer.label().to_string()
            };
            defaulted.push(DefaultedTerm {
                term: "imports".into(),
                value: 0.0,
                reason: format!(
                    "no import flows recorded for {whose} in {}: the method counts missing flows as 0 t",
                    inputs.year
                ),
            });
        }
        if denom == 0.0 {
            notes.push("no imports and no domestic production: import risk is 0 by the method's rule".into());
        }
    } else {
        // No trade data at all: imports are assumed to follow global supply
        // shares and to cover all consumption (D is ignored).
        let mut ir = 0.0;
        for &(c, qty) in &gs.producers {
            let s = qty / gs.total;
            let (w, dflt) = w_of(c);
            if dflt {
                missing_pv.push(c);
            } else {
                pv_weighed += s;
            }
            ir += s * w;
            contributions.push((hhi * s * w, c, s, s, w, dflt));
        }
        values = GprValues {
            hhi,
            import_risk: ir,
            score: hhi * ir,
            domestic: domestic.tonnes,
            ..GprValues::default()
        };
        trade_cov = 0.0;
        extensions.push("no trade data: imports assumed to follow world supply shares".into());
        defaulted.push(DefaultedTerm {
            term: "import_risk".into(),
            value: ir,
            reason: "no trade data: imports assumed to follow global supply shares, with no domestic production".into(),
        });
        notes.push("no trade data: price and CF are not computed (0)".into());
    }
    missing_pv.sort_unstable();
    missing_pv.dedup();
    for c in &missing_pv {
        defaulted.push(DefaultedTerm {
            term: format!("governance:{c}"),
            value: PV_NORMALIZED_DEFAULT,
            reason: format!(
                "no political-stability estimate for {} in the PV series the method reads: its 0.5 default",
                inputs.year
            ),
        });
    }
    contributions.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    contributions.truncate(params.top_suppliers);
    let top_suppliers: Vec<SupplierContribution> = contributions
        .iter()
        .map(
            |&(contribution, country, share, global, w, dflt)| SupplierContribution {
                country: country.to_string(),
                share,
                global_share: Some(if global.is_nan() { gs.share(country) } else { global }),
                governance: w,
                governance_defaulted: dflt,
                governance_traced: false,
                contribution,
            },
        )
        .collect();
    if !domestic.withheld.is_empty() {
        notes.push(format!(
            "the importer's own production is withheld ({})",
            domestic.withheld.join(", ")
        ));
    }
    for s in stages.iter_mut() {
        if s.stage == prod_stage.stage {
            s.value = Some(values.score);
        } else if s.skipped.is_none() {
            s.skipped = Some("less concentrated production stage".into());
        }
    }

    let total_weight = if any_trade {
        merged.iter().map(|p| p.q).sum::<f64>()
    } else {
        1.0
    };
    let gov_cov = if total_weight > 0.0 {
        pv_weighed / total_weight
    } else {
        1.0
    };
    let prod_detail = if gs.withheld.is_empty() {
        String::new()
    } else {
        format!("withheld production: {}", gs.withheld.join(", "))
    };
    let items = vec![
        (
            ConfidenceReason {
                input: "production",
                coverage: gs.coverage,
                detail: prod_detail,
            },
            false,
        ),
        (
            ConfidenceReason {
                input: "governance",
                coverage: gov_cov,
                detail: if missing_pv.is_empty() {
                    String::new()
                } else {
                    format!("no PV estimate for {}", missing_pv.join(", "))
                },
            },
            false,
        ),
        (
            ConfidenceReason {
                input: "trade",
                coverage: trade_cov,
                detail: if !any_trade {
                    "no trade data".into()
                } else if inputs.no_flows_recorded {
                    format!(
                        "no flow of the mineral's HS codes recorded for any importer in {}",
                        inputs.year
                    )
                } else if trade_cov < 1.0 {
                    format!(
                        "{:.1}% of the import value has no reported weight",
                        (1.0 - trade_cov) * 100.0
                    )
                } else {
                    String::new()
                },
            },
            false,
        ),
    ];
    let components = vec![
        Component {
            name: "hhi",
            value: values.hhi,
            meaning: "concentration of world production (0–1)",
        },
        Component {
            name: "import_risk",
            value: values.import_risk,
            meaning: "political-stability-weighted imports over imports plus domestic production",
        },
        Component {
            name: "price_usd_per_kg",
            value: values.price,
            meaning: "import unit value, USD per kg",
        },
        Component {
            name: "characterization_factor",
            value: values.cf,
            meaning: "score × price / 0.409412948, kg Cu-eq per kg",
        },
        Component {
            name: "numerator_t",
            value: values.numerator,
            meaning: "Σ imports × political-stability weight",
        },
        Component {
            name: "imports_t",
            value: values.total_trade,
            meaning: "total imports, tonnes",
        },
        Component {
            name: "domestic_production_t",
            value: values.domestic,
            meaning: "importer's own production, tonnes",
        },
    ];
    let extended = !extensions.is_empty();
    if extended {
        notes.insert(
            0,
            format!(
                "extended GeoPolRisk, not the published computation: {}",
                extensions.join("; ")
            ),
        );
    }
    Ok(Score {
        method: Methodology::GeoPolRisk,
        extended,
        mineral: inputs.mineral.clone(),
        importer: importer.label().to_string(),
        value: values.score,
        components,
        top_suppliers,
        stage: prod_stage.stage,
        stages,
        data_year: inputs.year,
        confidence: Confidence::from_items(items),
        defaulted,
        notes,
    })
}
