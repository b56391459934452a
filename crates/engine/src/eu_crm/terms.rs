//! The trade adjustment `t`: how a supplier's export restrictions, or a
//! trade agreement with it, weigh its share in the two concentration terms
//! (`docs/methodology.md`, section "Trade adjustment t").

use super::EuCrmParams;
use crate::model::{PolicyMeasure, Stage, SupplyInputs};
use crate::supply::Members;

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

/// `t` of a producer in the global-supply term: its strongest restriction
/// on every destination, 1 when it has none.
pub(super) fn t_global(inputs: &SupplyInputs, params: &EuCrmParams, stage: Stage, country: &str) -> f64 {
    inputs
        .restrictions
        .iter()
        .filter(|r| r.country == country && r.covers_stage(stage) && r.is_global())
        .map(|r| params.t_of(r.measure))
        .fold(1.0, f64::max)
}

/// `t` of a supplier in the importer's sourcing term: 1 for a member; else
/// its strongest restriction hitting the importer, or the trade-agreement
/// `t` when it has none and an agreement applies.
pub(super) fn t_sourcing(
    inputs: &SupplyInputs,
    params: &EuCrmParams,
    members: &Members,
    stage: Stage,
    country: &str,
) -> f64 {
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
