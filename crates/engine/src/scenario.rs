//! What-if scenarios: shocks applied to [`SupplyInputs`], scores before and
//! after, the importer's shortfall in tonnes and the days its stockpile
//! covers.
//!
//! Re-routing assumption (see `docs/methodology.md`, "Scenarios"): the
//! imports a shock removes are partly replaced by the importer's unaffected
//! suppliers (its other partners and its own producers), each able to raise
//! its deliveries by at most `headroom` × its current deliveries, filled pro
//! rata to current deliveries. `headroom = 0` (the default) is the worst
//! case: nothing is re-routed.

use crate::error::EngineError;
use crate::eu_crm::{EuCrmParams, eu_crm};
use crate::geopolrisk::{GprParams, geopolrisk};
use crate::model::{ExportRestriction, FlowDirection, PolicyMeasure, Stage, SupplyInputs};
use crate::result::{Methodology, Score};
use crate::supply::{Domestic, ImporterTrade, Members};

/// Days in a year, for daily consumption.
pub const DAYS_PER_YEAR: f64 = 365.0;

/// A disruption applied to the inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Shock {
    /// `exporter` cuts its exports by `fraction` (1 = stops exporting).
    ExportCut {
        /// Country cutting exports (ISO3).
        exporter: String,
        /// Share of exports withheld, 0–1.
        fraction: f64,
        /// Stage hit; `None` = every stage.
        stage: Option<Stage>,
        /// Destinations hit; empty = every destination.
        targets: Vec<String>,
        /// Measure recorded for the EU CRM `t` factor; `None` = a ban when
        /// `fraction` is 1, a quota otherwise.
        measure: Option<PolicyMeasure>,
    },
    /// `country` loses `fraction` of its production (mine closure, disaster).
    ProductionCut {
        /// Producing country (ISO3).
        country: String,
        /// Share of production lost, 0–1.
        fraction: f64,
        /// Stage hit; `None` = every stage.
        stage: Option<Stage>,
    },
}

impl Shock {
    /// "`exporter` cuts exports by `fraction`", every stage and destination.
    pub fn export_cut(exporter: &str, fraction: f64) -> Self {
        Shock::ExportCut {
            exporter: exporter.to_string(),
            fraction,
            stage: None,
            targets: Vec::new(),
            measure: None,
        }
    }

    /// "`exporter` stops exporting".
    pub fn export_ban(exporter: &str) -> Self {
        Self::export_cut(exporter, 1.0)
    }

    fn validate(&self) -> Result<(), EngineError> {
        let f = match self {
            Shock::ExportCut { fraction, .. } | Shock::ProductionCut { fraction, .. } => *fraction,
        };
        if f.is_finite() && (0.0..=1.0).contains(&f) {
            Ok(())
        } else {
            Err(EngineError::invalid(
                "shock.fraction",
                format!("must be within 0..=1, got {f}"),
            ))
        }
    }
}

/// A method with its parameters: what a score or scenario is computed with
/// ([`Methodology`] names the method alone).
#[derive(Debug, Clone, PartialEq)]
pub enum MethodParams {
    /// EU CRM supply risk.
    EuCrm(EuCrmParams),
    /// GeoPolRisk.
    GeoPolRisk(GprParams),
}

impl MethodParams {
    /// Which method this is.
    pub fn methodology(&self) -> Methodology {
        match self {
            MethodParams::EuCrm(_) => Methodology::EuCrm,
            MethodParams::GeoPolRisk(_) => Methodology::GeoPolRisk,
        }
    }

    /// Scores `inputs` with this method.
    pub fn score(&self, inputs: &SupplyInputs) -> Result<Score, EngineError> {
        match self {
            MethodParams::EuCrm(p) => eu_crm(inputs, p),
            MethodParams::GeoPolRisk(p) => geopolrisk(inputs, p),
        }
    }
}

/// A named set of shocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name, e.g. "CHN halves REE exports".
    pub name: String,
    /// Shocks, applied in order.
    pub shocks: Vec<Shock>,
    /// Re-routing headroom of unaffected suppliers (0 = none, the worst case).
    pub headroom: f64,
}

impl Scenario {
    /// A scenario with no re-routing.
    pub fn new(name: &str, shocks: Vec<Shock>) -> Self {
        Scenario {
            name: name.to_string(),
            shocks,
            headroom: 0.0,
        }
    }

    /// Sets the re-routing headroom.
    pub fn with_headroom(mut self, headroom: f64) -> Self {
        self.headroom = headroom;
        self
    }
}

/// The importer's supply loss at one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    /// Stage.
    pub stage: Stage,
    /// Imports lost before re-routing, tonnes per year.
    pub lost_tonnes: f64,
    /// Lost tonnes replaced by unaffected suppliers.
    pub rerouted_tonnes: f64,
    /// What remains missing: lost − re-routed, tonnes per year.
    pub shortfall_tonnes: f64,
    /// Lost tonnes per affected supplier, largest first.
    pub lost_by_supplier: Vec<(String, f64)>,
    /// Apparent consumption before the shock (domestic + imports − exports), t/yr.
    pub consumption_tonnes: f64,
}

/// How long the stockpile lasts.
#[derive(Debug, Clone, PartialEq)]
pub struct StockCover {
    /// Stockpile, tonnes (`None` = unknown).
    pub stockpile_tonnes: Option<f64>,
    /// Daily apparent consumption, tonnes (`None` = unknown).
    pub daily_consumption_tonnes: Option<f64>,
    /// Stockpile ÷ daily consumption (`None` when either is unknown or the
    /// consumption is zero).
    pub days_of_consumption: Option<f64>,
    /// Stockpile ÷ daily shortfall: how long the stockpile bridges the
    /// shock (`None` when unknown; infinite cover is reported as `None`
    /// with a note when there is no shortfall).
    pub days_of_shortfall: Option<f64>,
    /// What was missing, or why a figure is absent.
    pub missing: Vec<String>,
}

/// Scores before and after a scenario, with the physical consequences.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioOutcome {
    /// Scenario name.
    pub scenario: String,
    /// Score of the unshocked inputs.
    pub before: Score,
    /// Score of the shocked inputs.
    pub after: Score,
    /// Shortfall at every stage with trade data.
    pub shortfalls: Vec<Shortfall>,
    /// The shortfall at the stage of the `before` score, if it has trade data,
    /// else the first stage with trade data.
    pub headline: Option<Shortfall>,
    /// Stockpile cover for the headline stage.
    pub cover: StockCover,
    /// The shocked inputs (for inspection or further scoring).
    pub shocked: SupplyInputs,
}

fn stage_hit(stage: Option<Stage>, s: Stage) -> bool {
    stage.is_none_or(|x| x == s)
}

/// Applies `shocks` to `inputs` and returns the shocked inputs with the lost
/// and re-routed tonnes per stage. Pure: `inputs` is not changed.
pub fn apply_shocks(
    inputs: &SupplyInputs,
    shocks: &[Shock],
    headroom: f64,
) -> Result<(SupplyInputs, Vec<Shortfall>), EngineError> {
    if !(headroom.is_finite() && headroom >= 0.0) {
        return Err(EngineError::invalid(
            "headroom",
            format!("must be a finite number >= 0, got {headroom}"),
        ));
    }
    for s in shocks {
        s.validate()?;
    }
    let mut out = inputs.clone();
    let members = Members::of(&inputs.importer);
    let mut shortfalls = Vec::new();
    for (si, stage) in out.stages.iter_mut().enumerate() {
        let before = &inputs.stages[si];
        // Domestic production and unaffected deliveries before the shock.
        let domestic_before = Domestic::of(before, &members);
        let trade_before = before.trade.as_deref().map(|f| ImporterTrade::of(f, &members));

        for shock in shocks {
            match shock {
                Shock::ProductionCut {
                    country,
                    fraction,
                    stage: st,
                } if stage_hit(*st, stage.stage) => {
                    for p in stage.production.iter_mut().filter(|p| &p.country == country) {
                        p.tonnes = p.tonnes.map(|t| t * (1.0 - fraction));
                    }
                    if let Some(total) = stage.world_total.as_mut() {
                        let lost: f64 = before
                            .production
                            .iter()
                            .filter(|p| &p.country == country)
                            .filter_map(|p| p.tonnes)
                            .sum::<f64>()
                            * fraction;
                        *total = (*total - lost).max(0.0);
                    }
                }
                Shock::ExportCut {
                    exporter,
                    fraction,
                    stage: st,
                    targets,
                    ..
                } if stage_hit(*st, stage.stage) => {
                    let hits = targets.is_empty() || targets.iter().any(|t| inputs.importer.contains(t));
                    if !hits || inputs.importer.contains(exporter) {
                        continue;
                    }
                    if let Some(flows) = stage.trade.as_mut() {
                        for f in flows
                            .iter_mut()
                            .filter(|f| f.direction == FlowDirection::Import && &f.partner == exporter)
                        {
                            f.value_usd *= 1.0 - fraction;
                            f.tonnes = f.tonnes.map(|t| t * (1.0 - fraction));
                        }
                    }
                }
                _ => {}
            }
        }

        // Lost imports per supplier, from the importer's own aggregation.
        let Some(tb) = trade_before else { continue };
        let trade_after = stage.trade.as_deref().map(|f| ImporterTrade::of(f, &members));
        let mut lost_by_supplier: Vec<(String, f64)> = Vec::new();
        let mut unaffected_tonnes = 0.0;
        let mut shocked_partners: Vec<&str> = Vec::new();
        for p in &tb.imports {
            let after = trade_after
                .as_ref()
                .and_then(|t| t.imports.iter().find(|a| a.partner == p.partner))
                .map_or(0.0, |a| a.tonnes);
            let lost = (p.tonnes - after).max(0.0);
            if lost > 0.0 {
                lost_by_supplier.push((p.partner.to_string(), lost));
                shocked_partners.push(p.partner);
            } else {
                unaffected_tonnes += p.tonnes;
            }
        }
        let lost: f64 = lost_by_supplier.iter().map(|(_, t)| t).sum();
        // Production cuts at home reduce supply directly; unaffected domestic
        // producers can help re-route.
        let mut domestic_lost = 0.0;
        let mut domestic_capacity = 0.0;
        for (c, t) in &domestic_before.by_member {
            let f = lost_of_domestic(shocks, c, stage.stage);
            if f > 0.0 {
                domestic_lost += t * f;
                lost_by_supplier.push((c.to_string(), t * f));
            } else {
                domestic_capacity += t;
            }
        }
        let capacity = headroom * (unaffected_tonnes + domestic_capacity);
        let rerouted = (lost + domestic_lost).min(capacity);
        lost_by_supplier.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let total_lost = lost + domestic_lost;
        shortfalls.push(Shortfall {
            stage: stage.stage,
            lost_tonnes: total_lost,
            rerouted_tonnes: rerouted,
            shortfall_tonnes: (total_lost - rerouted).max(0.0),
            lost_by_supplier,
            consumption_tonnes: domestic_before.tonnes + tb.imports_tonnes - tb.exports_tonnes,
        });
        // Re-routed tonnes reach the importer through its unaffected partners.
        if rerouted > 0.0 {
            // Only the partners' share of the re-routed tonnes shows in trade;
            // the domestic share raises production.
            let base = unaffected_tonnes + domestic_capacity;
            if base > 0.0 {
                let scale = 1.0 + rerouted / base;
                if let Some(flows) = stage.trade.as_mut() {
                    for f in flows.iter_mut().filter(|f| {
                        f.direction == FlowDirection::Import
                            && inputs.importer.contains(&f.reporter)
                            && !inputs.importer.contains(&f.partner)
                            && !shocked_partners.contains(&f.partner.as_str())
                    }) {
                        f.value_usd *= scale;
                        f.tonnes = f.tonnes.map(|t| t * scale);
                    }
                }
                for p in stage.production.iter_mut().filter(|p| {
                    inputs.importer.contains(&p.country) && lost_of_domestic(shocks, &p.country, stage.stage) == 0.0
                }) {
                    p.tonnes = p.tonnes.map(|t| t * scale);
                }
            }
        }
    }
    // Export cuts also count as export restrictions for the EU CRM t factor.
    for shock in shocks {
        if let Shock::ExportCut {
            exporter,
            fraction,
            stage,
            targets,
            measure,
        } = shock
        {
            if *fraction <= 0.0 {
                continue;
            }
            let measure = measure.unwrap_or(if *fraction >= 1.0 {
                PolicyMeasure::Ban
            } else {
                PolicyMeasure::Quota
            });
            out.restrictions.push(ExportRestriction {
                id: format!("scenario:{exporter}"),
                country: exporter.clone(),
                measure,
                severity: *fraction,
                targets: targets.clone(),
                stage: *stage,
            });
        }
    }
    Ok((out, shortfalls))
}

fn lost_of_domestic(shocks: &[Shock], country: &str, stage: Stage) -> f64 {
    shocks
        .iter()
        .filter_map(|s| match s {
            Shock::ProductionCut {
                country: c,
                fraction,
                stage: st,
            } if c == country && stage_hit(*st, stage) => Some(*fraction),
            _ => None,
        })
        .fold(0.0, f64::max)
}

fn stock_cover(inputs: &SupplyInputs, headline: Option<&Shortfall>) -> StockCover {
    let mut missing = Vec::new();
    let stockpile = inputs.stockpile_tonnes;
    if stockpile.is_none() {
        missing.push("stockpile unknown".to_string());
    }
    let daily = match headline {
        Some(s) if s.consumption_tonnes > 0.0 => Some(s.consumption_tonnes / DAYS_PER_YEAR),
        Some(_) => {
            missing.push("apparent consumption is zero or negative".to_string());
            None
        }
        None => {
            missing.push("no trade data: apparent consumption unknown".to_string());
            None
        }
    };
    let days_of_consumption = match (stockpile, daily) {
        (Some(s), Some(d)) if d > 0.0 => Some(s / d),
        _ => None,
    };
    let days_of_shortfall = match (stockpile, headline) {
        (Some(s), Some(h)) if h.shortfall_tonnes > 0.0 => Some(s / (h.shortfall_tonnes / DAYS_PER_YEAR)),
        (Some(_), Some(_)) => {
            missing.push("no shortfall: the stockpile is not drawn".to_string());
            None
        }
        _ => None,
    };
    StockCover {
        stockpile_tonnes: stockpile,
        daily_consumption_tonnes: daily,
        days_of_consumption,
        days_of_shortfall,
        missing,
    }
}

/// Runs `scenario` on `inputs` with `method`.
pub fn simulate(
    inputs: &SupplyInputs,
    scenario: &Scenario,
    method: &MethodParams,
) -> Result<ScenarioOutcome, EngineError> {
    let before = method.score(inputs)?;
    let (shocked, shortfalls) = apply_shocks(inputs, &scenario.shocks, scenario.headroom)?;
    let after = method.score(&shocked)?;
    let headline = shortfalls
        .iter()
        .find(|s| s.stage == before.stage)
        .or_else(|| shortfalls.first())
        .cloned();
    let cover = stock_cover(inputs, headline.as_ref());
    Ok(ScenarioOutcome {
        scenario: scenario.name.clone(),
        before,
        after,
        shortfalls,
        headline,
        cover,
        shocked,
    })
}
