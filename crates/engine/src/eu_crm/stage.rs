//! One stage's score: world and sourcing shares, import reliance, the
//! governance of every country involved and the two weighted concentrations.

use super::EuCrmParams;
use super::explain::{confidence_items, trade_notes};
use super::relief::Relief;
use super::terms::{t_global, t_sourcing};
use crate::governance::{WGI_SCALED_DEFAULT, mean_estimate, wgi_scaled};
use crate::model::{Stage, StageData, SupplyInputs};
use crate::result::{ConfidenceReason, DefaultedTerm, SupplierContribution};
use crate::supply::{Domestic, GlobalSupply, GovCursor, ImporterTrade, Members};

/// Governance of one country as the method uses it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScaledGovernance {
    pub scaled: f64,
    /// Fraction of the six dimensions observed (0 = defaulted).
    pub coverage: f64,
}

/// The intermediate results of one stage.
#[derive(Debug, Clone)]
pub(super) struct StageResult {
    pub(super) stage: Stage,
    pub(super) sr: f64,
    pub(super) hhi_global: f64,
    pub(super) hhi_wgi_global: f64,
    pub(super) hhi_wgi_sourcing: f64,
    pub(super) ir: f64,
    pub(super) eol: f64,
    pub(super) si: f64,
    pub(super) domestic_tonnes: f64,
    pub(super) imports_tonnes: f64,
    pub(super) exports_tonnes: f64,
    pub(super) contributions: Vec<SupplierContribution>,
    pub(super) defaulted: Vec<DefaultedTerm>,
    pub(super) items: Vec<(ConfidenceReason, bool)>,
    pub(super) notes: Vec<String>,
}

/// Scores one stage, or says why it cannot be scored.
pub(super) fn stage_result(
    inputs: &SupplyInputs,
    params: &EuCrmParams,
    stage: &StageData,
    eol: Relief,
    si: Relief,
) -> Result<StageResult, String> {
    let gs = GlobalSupply::of(stage).ok_or_else(|| {
        if stage.production.is_empty() {
            "no production data for this stage".to_string()
        } else {
            "no producer with a known positive quantity".to_string()
        }
    })?;
    let importer = &inputs.importer;
    let mut defaulted = Vec::new();
    let mut notes = Vec::new();

    let members = Members::of(importer);

    // One row per country involved (producers, domestic producers, import
    // partners), sorted by country so sums never depend on input order.
    struct Row<'a> {
        country: &'a str,
        s_gs: f64,
        s_src: f64,
        w: ScaledGovernance,
        wgi_year: Option<u16>,
        t_gs: f64,
        t_src: f64,
        traced: bool,
    }
    let blank = |country| Row {
        country,
        s_gs: 0.0,
        s_src: 0.0,
        w: ScaledGovernance {
            scaled: WGI_SCALED_DEFAULT,
            coverage: 0.0,
        },
        wgi_year: None,
        t_gs: 1.0,
        t_src: 1.0,
        traced: false,
    };
    let mut rows: Vec<Row> = Vec::with_capacity(gs.producers.len() + 16);
    for &(c, q) in &gs.producers {
        rows.push(Row {
            s_gs: q / gs.total,
            ..blank(c)
        });
    }

    // Importer's sourcing and import reliance.
    let domestic = Domestic::of(stage, &members);
    let trade = stage.trade.as_deref().map(|flows| ImporterTrade::of(flows, &members));
    let (imports_tonnes, exports_tonnes) = trade
        .as_ref()
        .map_or((0.0, 0.0), |t| (t.imports_tonnes, t.exports_tonnes));
    let sourcing_total = domestic.tonnes + imports_tonnes;
    let proxy_reason = match &trade {
        None => Some("no trade data for this stage"),
        Some(_) if sourcing_total <= 0.0 => Some("no domestic production and no measurable imports"),
        Some(_) => None,
    };
    let ir;
    if let Some(reason) = proxy_reason {
        ir = 1.0;
        defaulted.push(DefaultedTerm {
            term: format!("import_reliance:{}", stage.stage.as_str()),
            value: 1.0,
            reason: format!("{reason}: the importer is taken as fully import-reliant"),
        });
        defaulted.push(DefaultedTerm {
            term: format!("sourcing:{}", stage.stage.as_str()),
            value: 0.0,
            reason: format!("{reason}: the importer's sourcing is taken to follow global supply shares"),
        });
        for r in rows.iter_mut() {
            r.s_src = r.s_gs;
        }
    } else {
        let net = imports_tonnes - exports_tonnes;
        ir = if net <= 0.0 {
            0.0
        } else {
            (net / (domestic.tonnes + net)).clamp(0.0, 1.0)
        };
        // rows[..n_prod] are the producers, sorted by country; members and
        // partners are disjoint, each list sorted and merged.
        let n_prod = rows.len();
        for &(c, q) in &domestic.by_member {
            let s = q / sourcing_total;
            match rows[..n_prod].binary_search_by(|r| r.country.cmp(c)) {
                Ok(i) => rows[i].s_src = s,
                Err(_) => rows.push(Row { s_src: s, ..blank(c) }),
            }
        }
        if let Some(t) = &trade {
            for p in &t.imports {
                let s = p.tonnes / sourcing_total;
                match rows[..n_prod].binary_search_by(|r| r.country.cmp(p.partner)) {
                    Ok(i) => rows[i].s_src += s,
                    Err(_) => rows.push(Row {
                        s_src: s,
                        ..blank(p.partner)
                    }),
                }
            }
        }
        rows.sort_unstable_by(|a, b| a.country.cmp(b.country));
    }

    // Governance (one ordered walk of the map), t factors and the two HHIs.
    let mut cursor = GovCursor::new(&inputs.governance);
    for r in rows.iter_mut() {
        if let Some(g) = cursor.get(r.country) {
            if let Some((mean, n)) = mean_estimate(&g.estimates()) {
                r.w = ScaledGovernance {
                    scaled: wgi_scaled(mean),
                    coverage: n as f64 / 6.0,
                };
            }
            r.wgi_year = g.wgi_year;
        }
    }
    if params.trace_traders && proxy_reason.is_none() {
        let producers: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.s_gs > 0.0)
            .map(|r| (r.s_gs, r.w.scaled))
            .collect();
        let attributed: f64 = producers.iter().map(|(s, _)| s).sum::<f64>().min(1.0);
        let mut traced: Vec<(f64, String)> = Vec::new();
        for r in rows
            .iter_mut()
            .filter(|r| r.s_gs == 0.0 && r.s_src > 0.0 && !importer.contains(r.country))
        {
            let own = r.w.scaled;
            let via: f64 = producers.iter().map(|(s, g)| s * own.max(*g)).sum();
            r.w.scaled = via + (1.0 - attributed) * own;
            r.traced = true;
            traced.push((r.s_src, format!("{} {own:.2}→{:.2}", r.country, r.w.scaled)));
        }
        if !traced.is_empty() {
            // Largest shares first; the rest counted, not listed.
            traced.sort_by(|a, b| b.0.total_cmp(&a.0));
            let shown: Vec<&str> = traced.iter().take(TRACED_LISTED).map(|(_, t)| t.as_str()).collect();
            let more = traced.len().saturating_sub(TRACED_LISTED);
            notes.push(format!(
                "{}: partners that produce nothing at this stage pass on world supply; their governance is traced through the stage's producers: {}{}",
                stage.stage.as_str(),
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ));
        }
    }
    let (mut hhi_global, mut hhi_wgi_global, mut hhi_wgi_sourcing) = (0.0, 0.0, 0.0);
    let (mut gov_cov_global, mut gs_share, mut gov_cov_src, mut src_share) = (0.0, 0.0, 0.0, 0.0);
    for r in rows.iter_mut() {
        if r.s_gs > 0.0 {
            r.t_gs = t_global(inputs, params, stage.stage, r.country);
            hhi_global += r.s_gs * r.s_gs;
            hhi_wgi_global += r.s_gs * r.s_gs * r.w.scaled * r.t_gs;
            gov_cov_global += r.s_gs * r.w.coverage;
            gs_share += r.s_gs;
        }
        if r.s_src > 0.0 {
            r.t_src = t_sourcing(inputs, params, &members, stage.stage, r.country);
            hhi_wgi_sourcing += r.s_src * r.s_src * r.w.scaled * r.t_src;
            gov_cov_src += r.s_src * r.w.coverage;
            src_share += r.s_src;
        }
    }
    let gov_cov_global = if gs_share > 0.0 { gov_cov_global / gs_share } else { 0.0 };
    let gov_cov_src = if src_share > 0.0 {
        gov_cov_src / src_share
    } else {
        gov_cov_global
    };
    if proxy_reason.is_some()
        && let Some(d) = defaulted.last_mut()
    {
        d.value = hhi_wgi_sourcing;
    }

    let (eol_v, _) = eol;
    let (si_v, _) = si;
    let half = ir / 2.0;
    let factor = (1.0 - eol_v) * si_v;
    let sr = (hhi_wgi_global * half + hhi_wgi_sourcing * (1.0 - half)) * factor;

    // Contributions and defaults per supplier.
    // Top contributions: rank first, allocate only the ones listed.
    let contribution = |r: &Row| {
        (r.s_gs * r.s_gs * r.w.scaled * r.t_gs * half + r.s_src * r.s_src * r.w.scaled * r.t_src * (1.0 - half))
            * factor
    };
    let mut ranked: Vec<(f64, usize)> = rows.iter().enumerate().map(|(i, r)| (contribution(r), i)).collect();
    ranked.sort_unstable_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| rows[a.1].country.cmp(rows[b.1].country))
    });
    ranked.truncate(params.top_suppliers);
    let contributions: Vec<SupplierContribution> = ranked
        .iter()
        .map(|&(value, i)| {
            let r = &rows[i];
            SupplierContribution {
                country: r.country.to_string(),
                share: r.s_src,
                global_share: Some(r.s_gs),
                governance: r.w.scaled,
                governance_defaulted: r.w.coverage == 0.0,
                governance_traced: r.traced,
                contribution: value,
            }
        })
        .collect();
    let mut missing_gov: Vec<&str> = rows.iter().filter(|r| r.w.coverage == 0.0).map(|r| r.country).collect();
    missing_gov.sort_unstable();
    for c in &missing_gov {
        defaulted.push(DefaultedTerm {
            term: format!("governance:{c}"),
            value: WGI_SCALED_DEFAULT,
            reason: "no WGI estimate: the middle of the 0–10 scale stands in".to_string(),
        });
    }
    let mut partial_gov: Vec<&str> = rows
        .iter()
        .filter(|r| r.w.coverage > 0.0 && r.w.coverage < 1.0)
        .map(|r| r.country)
        .collect();
    partial_gov.sort_unstable();
    if let Some(t) = &trade {
        trade_notes(stage.stage, t, &mut defaulted, &mut notes);
    }
    let mut old_wgi: Vec<u16> = rows
        .iter()
        .filter_map(|r| r.wgi_year)
        .filter(|y| *y < inputs.year)
        .collect();
    old_wgi.sort_unstable();
    old_wgi.dedup();
    if !old_wgi.is_empty() {
        notes.push(format!(
            "governance estimates from {:?} used for data year {}",
            old_wgi, inputs.year
        ));
    }
    if !domestic.withheld.is_empty() {
        notes.push(format!(
            "the importer's own production is withheld ({}); counted as 0 in import reliance",
            domestic.withheld.join(", ")
        ));
    }

    // Confidence items.
    let gov_cov = (gov_cov_global + gov_cov_src) / 2.0;
    let items = confidence_items(&gs, trade.as_ref(), gov_cov, &missing_gov, &partial_gov, eol, si);

    Ok(StageResult {
        stage: stage.stage,
        sr,
        hhi_global,
        hhi_wgi_global,
        hhi_wgi_sourcing,
        ir,
        eol: eol_v,
        si: si_v,
        domestic_tonnes: domestic.tonnes,
        imports_tonnes,
        exports_tonnes,
        contributions,
        defaulted,
        items,
        notes,
    })
}

/// Traced partners a note names by name.
const TRACED_LISTED: usize = 6;
