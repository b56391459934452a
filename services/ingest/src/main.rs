//! `supplyrisk-ingest`: see the crate docs of `supplyrisk_ingest`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match supplyrisk_ingest::startup::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("supplyrisk-ingest: {e}");
            ExitCode::FAILURE
        }
    }
}
