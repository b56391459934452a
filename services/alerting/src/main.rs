//! `supplyrisk-alerting`: see the crate docs of `supplyrisk_alerting`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match supplyrisk_alerting::startup::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("supplyrisk-alerting: {e}");
            ExitCode::FAILURE
        }
    }
}
