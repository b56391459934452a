//! `supplyrisk-ingest`: see the crate docs of `supplyrisk_ingest`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    supplyrisk_service::main::<supplyrisk_ingest::startup::Ingest>()
}
