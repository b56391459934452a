//! Signed webhook delivery.
//!
//! Alerts leave the cluster as HTTP POSTs to addresses that subscribers
//! choose, which makes this the one place where supplyrisk talks to the
//! outside world on someone else's behalf. Hence the three parts:
//! [`signature`] lets receivers prove an alert came from us and was not
//! replayed (the Standard Webhooks convention, so existing verifier
//! libraries work); [`guard`] keeps a subscriber from pointing us at
//! internal services or cloud metadata (SSRF); [`retry`] decides when to try
//! again and when to give up. [`client`] puts them together for one attempt.
//! Nothing here knows about Redis or gRPC: the alerting service keeps the
//! delivery state.
#![forbid(unsafe_code)]

pub mod client;
pub mod guard;
pub mod retry;
pub mod sealed;
pub mod signature;

pub use client::{AttemptError, Delivery, ExtraRoots, WebhookClient};
pub use guard::{AllowList, Refusal};
pub use retry::RetryPolicy;
pub use sealed::{SealError, SecretKeys};
pub use signature::{Secret, SecretError};
