//! The scoring service: explained supply-risk scores per mineral and
//! importer (country or bloc), their history and rankings, and what-if
//! scenarios.
//!
//! Inputs come only from `IngestService.GetSupplySnapshot`; the maths is the
//! pure `supplyrisk-engine`. This crate is wiring: it resolves importers and
//! blocs, maps snapshots to engine inputs, caches scores by data version,
//! and keeps them fresh from the data-changed stream.
#![forbid(unsafe_code)]

mod answer_cache;
mod fanout;
mod importers;
mod inputs;
mod present;
mod scorer;
mod service;
pub mod settings;
pub mod startup;
mod worker;
