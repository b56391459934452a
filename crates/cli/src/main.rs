//! `supplyrisk`: the command-line client for analysts and operators.
//!
//! The command line is defined in [`cli`], each area's commands live in
//! [`commands`], and every failure is an [`error::CliError`] printed as one line.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod connect;
mod error;
mod json;

use std::process::ExitCode;

use clap::Parser;

use crate::error::one_line;

#[tokio::main]
async fn main() -> ExitCode {
    match commands::run(cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("supplyrisk: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}
