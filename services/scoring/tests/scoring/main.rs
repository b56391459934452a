//! Integration tests of the scoring service against real processes, as one
//! test binary: one build and link instead of one per file.

mod deploy_config;
mod echo_limits;
mod foreign_paths;
mod geopolrisk_reference;
mod limits;
mod scoring;
mod tls;
mod value_chain;
