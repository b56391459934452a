//! Integration tests of the ingest service against real processes, as one
//! test binary: one build and link instead of one per file.

mod common;
mod deploy_config;
mod import;
mod ingest_api;
mod limits;
mod platform;
mod resilience;
mod upload_ids;
