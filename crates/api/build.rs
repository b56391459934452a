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
        "supplyrisk/admin/v1/admin.proto",
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
    scoring_server_with_preencoded_scores();
    Ok(())
}

/// A second `ScoringService` server whose `GetRiskScore` answers with bytes
/// encoded once when the score was cached: the cached path is then a map
/// lookup and a reference-count bump, not a deep clone and an encode of a
/// few kilobytes of explanation per call. Same routes and wire format as the
/// prost-generated server; only the Rust type of that one answer differs.
fn scoring_server_with_preencoded_scores() {
    use tonic_build::manual::{Builder, Method, Service};
    const CODEC: &str = "tonic_prost::ProstCodec";
    let unary = |name: &str, route: &str, input: &str, output: &str| {
        Method::builder()
            .name(name)
            .route_name(route)
            .input_type(format!("crate::scoring::v1::{input}"))
            .output_type(output)
            .codec_path(CODEC)
            .build()
    };
    let pb = |t: &str| format!("crate::scoring::v1::{t}");
    let service = Service::builder()
        .name("ScoringService")
        .package("supplyrisk.scoring.v1")
        .method(unary(
            "get_risk_score",
            "GetRiskScore",
            "GetRiskScoreRequest",
            "crate::encoded::PreEncoded",
        ))
        .method(unary(
            "batch_get_risk_scores",
            "BatchGetRiskScores",
            "BatchGetRiskScoresRequest",
            &pb("BatchGetRiskScoresResponse"),
        ))
        .method(unary(
            "list_risk_scores",
            "ListRiskScores",
            "ListRiskScoresRequest",
            &pb("ListRiskScoresResponse"),
        ))
        .method(unary(
            "get_score_history",
            "GetScoreHistory",
            "GetScoreHistoryRequest",
            &pb("GetScoreHistoryResponse"),
        ))
        .method(unary(
            "simulate_scenario",
            "SimulateScenario",
            "SimulateScenarioRequest",
            &pb("SimulateScenarioResponse"),
        ))
        .method(unary(
            "list_blocs",
            "ListBlocs",
            "ListBlocsRequest",
            &pb("ListBlocsResponse"),
        ))
        .method(unary(
            "list_score_suppliers",
            "ListScoreSuppliers",
            "ListScoreSuppliersRequest",
            &pb("ListScoreSuppliersResponse"),
        ))
        .build();
    Builder::new().build_client(false).compile(&[service]);
}
