//! Domain types for supplyrisk.
//!
//! Everything here is pure: no network, no Redis, no gRPC. Services convert
//! wire messages into these types at the edge, so every rule about what a
//! valid country, HS code or production figure is lives in one place and can
//! be tested without a running system.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod country;
pub mod importer;
pub mod records;
pub mod reported;
pub mod snapshot;
pub mod suggest;
pub mod validate;

pub use catalog::{Catalog, Mineral, MineralId, Stage};
pub use country::{Countries, Country, CountryKind, Iso3};
pub use importer::{ImporterError, ImporterId};
pub use records::*;
pub use reported::ReportedStatistic;
pub use validate::{FieldViolation, Violations};
