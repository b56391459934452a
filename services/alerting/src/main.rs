//! `supplyrisk-alerting`: see the crate docs of `supplyrisk_alerting`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    supplyrisk_service::main::<supplyrisk_alerting::startup::Alerting>()
}
