//! The alerting service: subscriptions with threshold (with hysteresis) and
//! delta rules, matched against `ScoreChanged` events from a consumer group,
//! recorded once per triggering event, and delivered over a resumable gRPC
//! stream.
#![forbid(unsafe_code)]

mod delivery;
mod feed;
mod input;
mod isolation;
mod policy;
mod reseal;
mod rules;
mod service;
pub mod settings;
pub mod startup;
mod worker;
