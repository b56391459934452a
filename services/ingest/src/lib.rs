//! The ingest service: the front door for data.
//!
//! It validates every record, writes it idempotently and durably through the
//! store (data, version bump and `DataChanged` event in one atomic step),
//! and serves per-mineral supply snapshots to the scoring service. This
//! crate is wiring: settings, start-up, and handlers that convert between
//! wire messages and the domain and store crates.
#![forbid(unsafe_code)]

mod bulk;
mod import;
mod replay;
mod service;
pub mod settings;
mod snapshot;
pub mod startup;
mod writes;
