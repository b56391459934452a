//! Compiles `proto/` with protox (pure Rust, no system protoc) and embeds the
//! descriptor set so every service can serve reflection from the same bytes.
use prost::Message;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files: Vec<PathBuf> = [
        "supplyrisk/common/v1/common.proto",
        "supplyrisk/events/v1/events.proto",
        "supplyrisk/ingest/v1/ingest.proto",
        "supplyrisk/scoring/v1/scoring.proto",
        "supplyrisk/alerting/v1/alerting.proto",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let fds = protox::compile(&files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("supplyrisk_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
