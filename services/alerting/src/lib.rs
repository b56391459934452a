//! The alerting service: subscriptions with threshold (with hysteresis) and
//! delta rules, matched against `ScoreChanged` events from a consumer group,
//! recorded once per triggering event, and delivered over a resumable gRPC
//! stream.
#![forbid(unsafe_code)]

pub mod delivery;
pub mod policy;
pub mod rules;
pub mod service;
pub mod settings;
pub mod startup;
pub mod worker;
