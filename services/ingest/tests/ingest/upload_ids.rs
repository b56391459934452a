//! Upload ids belong to the caller that used them and to what it sent.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_testkit::fixtures::ree_import;
use supplyrisk_testkit::import::import_as;
use supplyrisk_testkit::ingest_client;
use tonic::Code;

const TEAM_A: &str = "team-a-token-for-tests";
const TEAM_B: &str = "team-b-token-for-tests";

fn start_two_teams() -> Cluster {
    let tokens = format!("ingester:team-a={TEAM_A},ingester:team-b={TEAM_B}");
    start_with(&[("SUPPLYRISK__AUTH__TOKENS", tokens.as_str())])
}

#[tokio::test]
async fn an_upload_id_is_its_callers_and_bound_to_its_content() {
    let c = start_two_teams();
    let e = c.ingest.endpoint();
    let mut a = ingest_client(&e, Some(TEAM_A)).await;
    let mut b = ingest_client(&e, Some(TEAM_B)).await;
    let flows = vec![ree_import("JPN", "CHN", 10.0), ree_import("JPN", "AUS", 5.0)];

    let first = upload(&mut a, "shared-id", flows.clone()).await;
    assert_eq!((first.accepted, first.replayed), (2, false));
    // Another team's use of the same id is its own upload, not a replay of team A's.
    let other = upload(&mut b, "shared-id", vec![ree_import("JPN", "VNM", 1.0)]).await;
    assert_eq!((other.accepted, other.replayed), (1, false));

    // Team A again, the same flows cut into two messages: a replay.
    let again = a
        .ingest_trade_flows(tokio_stream::iter(vec![
            request("shared-id", flows[..1].to_vec()),
            request("shared-id", flows[1..].to_vec()),
        ]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.accepted, again.replayed), (2, true));

    // The same id with other content is refused, and nothing of it is written.
    let err = a
        .ingest_trade_flows(tokio_stream::iter(vec![request(
            "shared-id",
            vec![ree_import("JPN", "CHN", 99.0)],
        )]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert!(
        err.message().contains("upload 'shared-id' already exists"),
        "{}",
        err.message()
    );
    let snap = ree_snapshot_2023(&mut a, "JPN").await;
    let chn = snap.trade.iter().find(|t| t.partner == "CHN").unwrap();
    assert_eq!(chn.net_weight_kg, Some(10_000.0));
}

#[tokio::test]
async fn an_import_id_is_bound_to_its_file_however_it_is_chunked() {
    let c = start_two_teams();
    let e = c.ingest.endpoint();
    let file = b"t,i,j,k,v,q\n2022,156,392,284690,1500.0,12.5\n";
    let other = b"t,i,j,k,v,q\n2022,156,392,284690,1600.0,12.5\n";
    let import = |token: &'static str, id: &'static str, bytes: &'static [u8], chunk: usize| {
        let e = e.clone();
        async move {
            import_as(&e, token, pb::DatasetFormat::Baci, id, bytes, chunk)
                .await
                .map(|(_, summary)| summary)
        }
    };
    let first = import(TEAM_A, "file-1", file, 1024).await.unwrap();
    assert!(!first.replayed);
    let again = import(TEAM_A, "file-1", file, 7).await.unwrap();
    assert!(again.replayed, "the same file in other chunks");
    let theirs = import(TEAM_B, "file-1", file, 1024).await.unwrap();
    assert!(!theirs.replayed, "team B's own import");
    let err = import(TEAM_A, "file-1", other, 1024).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
}
