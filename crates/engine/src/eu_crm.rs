//! The EU Critical Raw Materials supply-risk method (JRC; Blengini et al.
//! 2017, EUR 28654), extended to any importer or bloc.
//!
//! ```text
//! SR = [HHI_WGI,t(GS) × IR/2 + HHI_WGI,t(sourcing) × (1 − IR/2)] × (1 − EoL_RIR) × SI_SR
//! HHI_WGI,t = Σ_c s_c² × WGI_c × t_c        (s_c as fractions, WGI_c scaled 0–10)
//! IR = (imports − exports) / (domestic production + imports − exports), within [0, 1]
//! ```
//! computed at every stage with production data; the highest stage score is
//! the result (bottleneck rule). See `docs/methodology.md`.

use crate::error::EngineError;
use crate::governance::{WGI_SCALED_DEFAULT, mean_estimate, wgi_scaled};
use crate::model::{PolicyMeasure, Stage, StageData, SupplyInputs};
use crate::result::{
    Component, Confidence, ConfidenceReason, DefaultedTerm, MethodId, Score, StageScore, SupplierContribution,
};
use crate::supply::{Domestic, GlobalSupply, GovCursor, ImporterTrade, Members};

/// Method id of the EU CRM supply risk.
pub const EU_CRM: MethodId = MethodId {
    id: "eu-crm",
    version: "1.0.0",
};

/// Parameters of the EU CRM method.
#[derive(Debug, Clone, PartialEq)]
pub struct EuCrmParams {
    /// `t` of a country applying an export tax (JRC method).
    pub t_export_tax: f64,
    /// `t` of a country applying an export quota (JRC method).
    pub t_export_quota: f64,
    /// `t` of a country applying an export prohibition (JRC method).
    pub t_export_prohibition: f64,
    /// `t` for export licensing (our extension; the JRC method has no
    /// licensing category).
    pub t_licensing: f64,
    /// `t` for any other restriction (our extension).
    pub t_other: f64,
    /// `t` of an unrestricted partner with which the importer has a trade
    /// agreement; `None` disables the adjustment.
    pub t_trade_agreement: Option<f64>,
    /// EoL-RIR used when unknown (no recycling credit).
    pub default_eol_rir: f64,
    /// SI_SR used when unknown (no substitution relief).
    pub default_substitution_index: f64,
    /// How many suppliers to list.
    pub top_suppliers: usize,
    /// Traced origin (our extension, off in the published method): a
    /// partner that produces nothing at the stage passes on world supply, so
    /// its governance in the sourcing term is the path-wise worse of its own
    /// and each producer's, weighted by world shares.
    pub trace_traders: bool,
}

impl Default for EuCrmParams {
    /// Values documented in `docs/methodology.md` (section "Trade
    /// adjustment t"): 1.1 / 1.2 / 1.3 for tax / quota / prohibition, 0.8 for
    /// a trade agreement, conservative defaults for EoL-RIR (0) and SI_SR (1).
    fn default() -> Self {
        EuCrmParams {
            t_export_tax: 1.1,
            t_export_quota: 1.2,
            t_export_prohibition: 1.3,
            t_licensing: 1.1,
            t_other: 1.1,
            t_trade_agreement: Some(0.8),
            default_eol_rir: 0.0,
            default_substitution_index: 1.0,
            top_suppliers: 10,
            trace_traders: false,
        }
    }
}

impl EuCrmParams {
    /// `t` of one measure.
    pub fn t_of(&self, measure: PolicyMeasure) -> f64 {
        match measure {
            PolicyMeasure::Tax => self.t_export_tax,
            PolicyMeasure::Quota => self.t_export_quota,
            PolicyMeasure::Ban => self.t_export_prohibition,
            PolicyMeasure::Licensing => self.t_licensing,
            PolicyMeasure::Other => self.t_other,
        }
    }
}

/// Governance of one country as the method uses it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScaledGovernance {
    pub scaled: f64,
    /// Fraction of the six dimensions observed (0 = defaulted).
    pub coverage: f64,
}

/// The intermediate results of one stage.
#[derive(Debug, Clone)]
struct StageResult {
    stage: Stage,
    sr: f64,
    hhi_global: f64,
    hhi_wgi_global: f64,
    hhi_wgi_sourcing: f64,
    ir: f64,
    eol: f64,
    si: f64,
    domestic_tonnes: f64,
    imports_tonnes: f64,
    exports_tonnes: f64,
    contributions: Vec<SupplierContribution>,
    defaulted: Vec<DefaultedTerm>,
    items: Vec<(ConfidenceReason, bool)>,
    notes: Vec<String>,
}

fn t_global(inputs: &SupplyInputs, params: &EuCrmParams, stage: Stage, country: &str) -> f64 {
    inputs
        .restrictions
        .iter()
        .filter(|r| r.country == country && r.covers_stage(stage) && r.is_global())
        .map(|r| params.t_of(r.measure))
        .fold(1.0, f64::max)
}

fn t_sourcing(inputs: &SupplyInputs, params: &EuCrmParams, members: &Members, stage: Stage, country: &str) -> f64 {
    if members.contains(country) {
        return 1.0;
    }
    let restricted = inputs
        .restrictions
        .iter()
        .filter(|r| r.country == country && r.covers_stage(stage) && r.hits(&inputs.importer))
        .map(|r| params.t_of(r.measure))
        .reduce(f64::max);
    match (restricted, params.t_trade_agreement) {
        (Some(t), _) => t,
        (None, Some(a)) if inputs.trade_agreements.iter().any(|p| p == country) => a,
        _ => 1.0,
    }
}

fn validate(inputs: &SupplyInputs) -> Result<(), EngineError> {
    if inputs.importer.members().is_empty() {
        return Err(EngineError::invalid(
            "importer.members",
            "a bloc needs at least one member",
        ));
    }
    for (field, v) in [
        ("eol_rir", inputs.eol_rir),
        ("substitution_index", inputs.substitution_index),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && (0.0..=1.0).contains(&v))
        {
            return Err(EngineError::invalid(field, format!("must be within 0..=1, got {v}")));
        }
    }
    if let Some(s) = inputs.stockpile_tonnes
        && !(s.is_finite() && s >= 0.0)
    {
        return Err(EngineError::invalid(
            "stockpile_tonnes",
            format!("must be a finite number >= 0, got {s}"),
        ));
    }
    Ok(())
}

fn stage_result(
    inputs: &SupplyInputs,
    params: &EuCrmParams,
    stage: &StageData,
    eol: (f64, bool),
    si: (f64, bool),
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
        if t.imputed_flows > 0 {
            defaulted.push(DefaultedTerm {
                term: format!("trade_weight:{}", stage.stage.as_str()),
                value: t.unit_value.unwrap_or(0.0),
                reason: format!(
                    "{} flow(s) without weight: tonnes imputed from the importer's unit value (USD/t) at this stage",
                    t.imputed_flows
                ),
            });
        }
        if t.unweighable_flows > 0 {
            notes.push(format!(
                "{}: {} flow(s) without weight and no unit value to impute one were left out",
                stage.stage.as_str(),
                t.unweighable_flows
            ));
        }
        if t.intra_bloc_flows > 0 {
            notes.push(format!(
                "{}: {} flow(s) between bloc members netted out",
                stage.stage.as_str(),
                t.intra_bloc_flows
            ));
        }
        if t.foreign_flows > 0 {
            notes.push(format!(
                "{}: {} flow(s) reported by countries outside the importer ignored",
                stage.stage.as_str(),
                t.foreign_flows
            ));
        }
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

    // Confidence items.
    let mut items = Vec::with_capacity(5);
    let mut prod_detail = String::new();
    if !gs.withheld.is_empty() {
        prod_detail = format!("withheld production: {}", gs.withheld.join(", "));
    }
    if !domestic.withheld.is_empty() {
        notes.push(format!(
            "the importer's own production is withheld ({}); counted as 0 in import reliance",
            domestic.withheld.join(", ")
        ));
    }
    items.push((
        ConfidenceReason {
            input: "production",
            coverage: gs.coverage,
            detail: prod_detail,
        },
        false,
    ));
    let gov_cov = (gov_cov_global + gov_cov_src) / 2.0;
    let mut gov_detail = Vec::new();
    if !missing_gov.is_empty() {
        gov_detail.push(format!("no WGI for {}", missing_gov.join(", ")));
    }
    if !partial_gov.is_empty() {
        gov_detail.push(format!("partial WGI for {}", partial_gov.join(", ")));
    }
    items.push((
        ConfidenceReason {
            input: "governance",
            coverage: gov_cov,
            detail: gov_detail.join("; "),
        },
        false,
    ));
    let (trade_cov, trade_detail) = match &trade {
        None => (0.0, "no trade data".to_string()),
        Some(t) => {
            let cov = t.weight_coverage();
            let detail = if cov < 1.0 {
                format!("{:.1}% of the trade value has no reported weight", (1.0 - cov) * 100.0)
            } else {
                String::new()
            };
            (cov, detail)
        }
    };
    items.push((
        ConfidenceReason {
            input: "trade",
            coverage: trade_cov,
            detail: trade_detail,
        },
        false,
    ));
    items.push((
        ConfidenceReason {
            input: "eol_rir",
            coverage: if eol.1 { 1.0 } else { 0.0 },
            detail: if eol.1 {
                String::new()
            } else {
                format!("unknown; {} used", eol.0)
            },
        },
        false,
    ));
    items.push((
        ConfidenceReason {
            input: "substitution_index",
            coverage: if si.1 { 1.0 } else { 0.0 },
            detail: if si.1 {
                String::new()
            } else {
                format!("unknown; {} used", si.0)
            },
        },
        false,
    ));

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

/// Marks the stage the score is taken at.
pub(crate) fn mark_bottleneck(stages: &mut [StageScore], at: Stage) {
    for s in stages.iter_mut() {
        s.bottleneck = s.stage == at && s.skipped.is_none();
    }
}

/// Which stage bounds the score, and which stages could not compete for it.
/// A skipped stage is named as skipped: the bottleneck is only the highest
/// of the stages that could be scored.
pub(crate) fn bottleneck_note(stages: &[StageScore]) -> Option<String> {
    let at = stages.iter().find(|s| s.bottleneck)?;
    let scored = stages.iter().filter(|s| s.skipped.is_none()).count();
    let skipped: Vec<String> = stages
        .iter()
        .filter(|s| s.skipped.is_some())
        .map(StageScore::describe)
        .collect();
    if scored <= 1 && skipped.is_empty() {
        return None;
    }
    let mut note = if scored > 1 {
        format!(
            "bottleneck stage: {} (highest of {scored} scored stages)",
            at.stage.as_str()
        )
    } else {
        format!("scored at the {} stage, the only stage with data", at.stage.as_str())
    };
    if !skipped.is_empty() {
        note.push_str(&format!(
            "; not the whole chain: {} — a skipped stage may bound the risk",
            skipped.join("; ")
        ));
    }
    Some(note)
}

/// Scores `inputs` with the EU CRM supply-risk method.
///
/// Every stage with production data is scored; the highest stage score is
/// returned (bottleneck rule) with the per-stage scores in `stages`.
pub fn eu_crm(inputs: &SupplyInputs, params: &EuCrmParams) -> Result<Score, EngineError> {
    validate(inputs)?;
    let eol = match inputs.eol_rir {
        Some(v) => (v, true),
        None => (params.default_eol_rir, false),
    };
    let si = match inputs.substitution_index {
        Some(v) => (v, true),
        None => (params.default_substitution_index, false),
    };
    let mut stage_list: Vec<&StageData> = inputs.stages.iter().collect();
    stage_list.sort_by_key(|s| s.stage);
    let mut stages = Vec::with_capacity(stage_list.len());
    let mut best: Option<StageResult> = None;
    for s in stage_list {
        match stage_result(inputs, params, s, eol, si) {
            Ok(r) => {
                stages.push(StageScore::scored(s, Some(r.sr)));
                if best.as_ref().is_none_or(|b| r.sr > b.sr) {
                    best = Some(r);
                }
            }
            Err(why) => stages.push(StageScore::skipped(s, why)),
        }
    }
    let Some(mut r) = best else {
        return Err(EngineError::NoUsableStage {
            mineral: inputs.mineral.clone(),
            year: inputs.year,
            reasons: stages.iter().map(StageScore::describe).collect(),
        });
    };
    mark_bottleneck(&mut stages, r.stage);
    let mut defaulted = std::mem::take(&mut r.defaulted);
    if !eol.1 {
        defaulted.push(DefaultedTerm {
            term: "eol_rir".into(),
            value: eol.0,
            reason: "unknown end-of-life recycling input rate: no recycling credit".into(),
        });
    }
    if !si.1 {
        defaulted.push(DefaultedTerm {
            term: "substitution_index".into(),
            value: si.0,
            reason: "unknown substitution index: no substitution relief".into(),
        });
    }
    let mut notes = std::mem::take(&mut r.notes);
    notes.extend(bottleneck_note(&stages));
    let consumption = r.domestic_tonnes + r.imports_tonnes - r.exports_tonnes;
    let components = vec![
        Component {
            name: "hhi_wgi_t_global",
            value: r.hhi_wgi_global,
            meaning: "governance- and trade-weighted concentration of global supply",
        },
        Component {
            name: "hhi_wgi_t_sourcing",
            value: r.hhi_wgi_sourcing,
            meaning: "governance- and trade-weighted concentration of the importer's sourcing (domestic + imports)",
        },
        Component {
            name: "import_reliance",
            value: r.ir,
            meaning: "(imports − exports) / (domestic production + imports − exports), within 0–1",
        },
        Component {
            name: "eol_rir",
            value: r.eol,
            meaning: "end-of-life recycling input rate used",
        },
        Component {
            name: "substitution_index",
            value: r.si,
            meaning: "substitution index SI_SR used",
        },
        Component {
            name: "hhi_global",
            value: r.hhi_global,
            meaning: "plain concentration of global supply (0–1)",
        },
        Component {
            name: "domestic_production_t",
            value: r.domestic_tonnes,
            meaning: "importer's own production at the stage, tonnes",
        },
        Component {
            name: "imports_t",
            value: r.imports_tonnes,
            meaning: "imports from outside the importer, tonnes",
        },
        Component {
            name: "exports_t",
            value: r.exports_tonnes,
            meaning: "exports to outside the importer, tonnes",
        },
        Component {
            name: "apparent_consumption_t",
            value: consumption,
            meaning: "domestic production + imports − exports, tonnes",
        },
    ];
    let top = std::mem::take(&mut r.contributions);
    Ok(Score {
        method: EU_CRM,
        mineral: inputs.mineral.clone(),
        importer: inputs.importer.label().to_string(),
        value: r.sr,
        components,
        top_suppliers: top,
        stage: r.stage,
        stages,
        data_year: inputs.year,
        confidence: Confidence::from_items(std::mem::take(&mut r.items)),
        defaulted,
        notes,
    })
}
