//! Integration tests of the scoring methods, as one test binary: one build
//! and link instead of one per file.

mod common;
mod gpr_reference;
mod methods;
mod properties;
mod shipped_data;
