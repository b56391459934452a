//! `supplyrisk-scoring`: see the crate docs of `supplyrisk_scoring`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    supplyrisk_service::main::<supplyrisk_scoring::startup::Scoring>()
}
