//! `supplyrisk-scoring`: see the crate docs of `supplyrisk_scoring`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match supplyrisk_scoring::startup::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("supplyrisk-scoring: {e}");
            ExitCode::FAILURE
        }
    }
}
