//! Integration tests of the alerting service against real processes, as one
//! test binary: one build and link instead of one per file.

mod alerting;
mod common;
mod deploy_config;
mod isolation;
mod ownership;
mod replicas;
mod streams;
mod webhooks;
