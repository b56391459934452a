//! Per-request limits: one caller cannot fan a request out into thousands
//! of upstream calls; each limit is refused with the field and the limit.

use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient;
use supplyrisk_domain::{Catalog, Countries, CountryKind};
use supplyrisk_testkit::{Bearer, Cluster, ClusterOptions, READER_TOKEN, field_violations};
use tonic::Code;

/// `n` distinct country codes joined as an ad-hoc bloc.
fn ad_hoc_bloc(n: usize) -> String {
    let codes: Vec<&str> = Countries::builtin()
        .iter()
        .filter(|c| c.kind == CountryKind::Country)
        .map(|c| c.iso3.as_str())
        .take(n)
        .collect();
    assert_eq!(codes.len(), n, "the registry has {n} countries");
    codes.join("+")
}

fn shock(supplier: &str, mineral: &str) -> pb::Shock {
    pb::Shock {
        supplier: supplier.into(),
        mineral: mineral.into(),
        cut: 0.5,
    }
}

/// The single violation of an `INVALID_ARGUMENT` status.
fn only_violation(status: &tonic::Status) -> (String, String) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let violations = field_violations(status);
    assert_eq!(violations.len(), 1, "{violations:?}");
    violations.into_iter().next().expect("one")
}

#[tokio::test]
async fn oversized_blocs_and_scenarios_are_refused_with_their_limit() {
    let c = Cluster::start_with(ClusterOptions::default());
    let mut client = ScoringServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&c.scoring.endpoint()).await,
        Bearer(Some(READER_TOKEN.into())),
    );

    // An ad-hoc bloc of 51 members: refused before a single snapshot call.
    let err = client
        .get_risk_score(pb::GetRiskScoreRequest {
            mineral: "REE".into(),
            importer: ad_hoc_bloc(51),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let (field, description) = only_violation(&err);
    assert_eq!(field, "importer");
    assert!(description.contains("at most 50 members, got 51"), "{description}");
    // Fifty is allowed: the answer is about the (missing) data, not the size.
    let err = client
        .get_risk_score(pb::GetRiskScoreRequest {
            mineral: "REE".into(),
            importer: ad_hoc_bloc(50),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");

    // Too many shocks.
    let err = client
        .simulate_scenario(pb::SimulateScenarioRequest {
            shocks: (0..65).map(|_| shock("CHN", "REE")).collect(),
            importers: vec!["JPN".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    let (field, description) = only_violation(&err);
    assert_eq!(field, "shocks");
    assert!(description.contains("at most 64 shocks"), "{description}");

    // Too many minerals.
    let minerals: Vec<String> = Catalog::builtin()
        .minerals()
        .iter()
        .map(|m| m.id.clone())
        .take(17)
        .collect();
    let err = client
        .simulate_scenario(pb::SimulateScenarioRequest {
            shocks: minerals.iter().map(|m| shock("CHN", m)).collect(),
            importers: vec!["JPN".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    let (field, description) = only_violation(&err);
    assert_eq!(field, "shocks");
    assert!(description.contains("at most 16 per scenario"), "{description}");

    // Within each limit, but too many snapshots in all: 27 + 7 members × 16 minerals.
    let err = client
        .simulate_scenario(pb::SimulateScenarioRequest {
            shocks: minerals.iter().take(16).map(|m| shock("CHN", m)).collect(),
            importers: vec!["EU27".into(), "G7".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    let (field, description) = only_violation(&err);
    assert_eq!(field, "importers");
    assert!(
        description.contains("reads 544 supply snapshots") && description.contains("at most 500"),
        "{description}"
    );
}
