//! The shared gRPC kit: every supplyrisk service serves and calls the same
//! way — health tied to Redis, reflection, bearer-token roles, limits,
//! deadlines, one error mapping and graceful shutdown.
#![forbid(unsafe_code)]

pub mod cached_answers;
mod call_span;
pub mod client;
mod client_stream;
pub mod echo;
pub mod edge;
pub mod error;
pub mod health;
pub mod page;
pub mod server;
pub mod small_frames;

pub use client_stream::ClientStream;
pub use edge::{EdgeLayer, MethodPolicy, Permission, caller};
pub use error::{ServiceError, ServiceResult, never_processed, retry_read};
pub use health::HealthMonitor;
pub use page::{CursorPage, OffsetPage, Page, PageSizes, Position};
pub use server::{HealthOnly, ServeError, bind, serve, serve_health_only, shutdown_signal, with_standard_services};
