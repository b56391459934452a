//! The store against a real `redis-server`, for behaviour no service test
//! reaches directly.

mod alerts;
mod trim;
