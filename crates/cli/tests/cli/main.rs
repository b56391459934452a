//! The real `supplyrisk` binary against real services and Redis, as one
//! test binary: one build and link instead of one per file.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use supplyrisk_testkit::{RedisServer, ServiceProcess};

mod admin;
mod imports;
mod report;
mod scores;
mod tls;

fn cli(endpoint: &str, token: &str, args: &[&str]) -> (bool, String, String) {
    cli_with(&[("SUPPLYRISK_INGEST_ENDPOINT", endpoint)], token, args)
}

/// The three services' endpoints, as the CLI's variables name them.
fn endpoints<'a>(ingest: &'a str, scoring: &'a str, alerting: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("SUPPLYRISK_INGEST_ENDPOINT", ingest),
        ("SUPPLYRISK_SCORING_ENDPOINT", scoring),
        ("SUPPLYRISK_ALERTING_ENDPOINT", alerting),
    ]
}

/// Runs the CLI with `env` and `token`: (success, stdout, stderr).
fn cli_with(env: &[(&str, &str)], token: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(supplyrisk_testkit::binary("supplyrisk"))
        .envs(env.iter().copied())
        .env("SUPPLYRISK_TOKEN", token)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Parses one JSON document printed on stdout.
fn parse_json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("--output json prints one JSON document ({e}): {out}"))
}

fn data(path: &str) -> String {
    format!("{}/../../data/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Redis and an ingest service on free ports, nothing else.
fn ingest_alone() -> (RedisServer, ServiceProcess) {
    let redis = RedisServer::start();
    let ingest = ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-ingest"),
        &[("SUPPLYRISK__REDIS__URL", &redis.url())],
    );
    (redis, ingest)
}
