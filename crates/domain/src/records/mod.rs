//! The records supplyrisk stores, with the rules that make them valid.
//!
//! Each record has a `Raw…` twin holding unchecked input (from a gRPC
//! message or a file row) and a `validate` that returns the record or every
//! violation at once, so a caller fixes all of a record's problems in one go.

mod calendar;
mod check;
mod governance;
mod policy;
mod production;
mod stockpile;
mod trade;

pub use calendar::{Date, Period};
pub use check::{MAX_SOURCE_LEN, MAX_YEAR, MIN_YEAR};
pub use governance::{GovernanceDimension, GovernanceIndicator, RawGovernanceIndicator, WGI_MAX, WGI_MIN};
pub use policy::{
    MAX_POLICY_ID_LEN, MAX_SUSPENSIONS, PolicyEvent, PolicyMeasure, RawPolicyEvent, RawSuspension, Suspension,
};
pub use production::{ProductionStat, RawProductionStat, SHARE_UNIT, WorldTotal};
pub use stockpile::{RawStockpile, Stockpile};
pub use trade::{FlowDirection, HsCode, RawTradeFlow, TradeFlow};
