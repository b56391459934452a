//! Integration tests of the parsers, as one test binary: one link instead
//! of one per file.

use std::path::PathBuf;

mod fuzz;
mod golden;
mod real_data;
mod reconciliation;

/// A file shipped in the repository's `data/`.
fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data").join(path)
}
