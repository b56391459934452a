//! Health, shutdown, crash durability and volume, with real processes.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_testkit::{INGESTER_TOKEN, ServiceProcess, eventually, health, ingest_client};

const SERVING: i32 = 1;
const NOT_SERVING: i32 = 2;

#[tokio::test]
async fn health_follows_redis_down_and_back() {
    let mut c = start();
    let e = c.ingest.endpoint();
    assert!(
        eventually(Duration::from_secs(5), || async {
            health(&e, "").await.ok() == Some(SERVING)
        })
        .await
    );
    assert_eq!(health(&e, "supplyrisk.ingest.v1.IngestService").await.unwrap(), SERVING);
    c.redis.kill9();
    assert!(
        eventually(Duration::from_secs(5), || async {
            health(&e, "").await.ok() == Some(NOT_SERVING)
        })
        .await,
        "NOT_SERVING within 5 s of losing Redis"
    );
    let mut client = ingest_client(&e, Some(INGESTER_TOKEN)).await;
    let err = client
        .upsert_production(pb::UpsertProductionRequest {
            stats: vec![production("LI", "AUS", 2024, Some(1.0))],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    c.redis.restart();
    assert!(
        eventually(Duration::from_secs(10), || async {
            health(&e, "").await.ok() == Some(SERVING)
        })
        .await
    );
    assert!(
        client
            .upsert_production(pb::UpsertProductionRequest {
                stats: vec![production("LI", "AUS", 2024, Some(1.0))]
            })
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn not_serving_until_redis_answers() {
    let port = supplyrisk_testkit::free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let ingest = ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-ingest"),
        &[("SUPPLYRISK__REDIS__URL", &url)],
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(health(&ingest.endpoint(), "").await.unwrap(), NOT_SERVING);
}

#[tokio::test]
async fn sigterm_drains_and_exits_zero() {
    let mut c = start();
    let status = c.ingest.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(c.ingest.logs().contains("stopped"), "{}", c.ingest.logs());
}

#[tokio::test]
async fn acknowledged_upload_survives_kill9_of_the_service() {
    let mut c = start();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    // 500 distinct natural keys: 25 years x 20 partners.
    let partners: Vec<String> = supplyrisk_domain::Countries::builtin()
        .iter()
        .filter(|x| x.kind == supplyrisk_domain::CountryKind::Country && x.iso3 != "JPN")
        .map(|x| x.iso3.clone())
        .take(20)
        .collect();
    let flows: Vec<_> = (0..500u32)
        .map(|i| {
            flow(
                "JPN",
                &partners[(i % 20) as usize],
                "284690",
                2000 + i / 20,
                1.0 + f64::from(i),
                None,
            )
        })
        .collect();
    let resp = client
        .ingest_trade_flows(tokio_stream::iter(vec![request("k9", flows.clone())]))
        .await
        .unwrap()
        .into_inner();
    let acked = resp.accepted;
    assert!(acked > 0);
    c.ingest.kill9();
    c.ingest.restart();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let replay = client
        .ingest_trade_flows(tokio_stream::iter(vec![request("k9", flows)]))
        .await
        .unwrap()
        .into_inner();
    assert!(replay.replayed);
    assert_eq!(replay.accepted, acked);
    let mut stored = 0;
    for year in 2000..2025 {
        let snap = client
            .get_supply_snapshot(pb::GetSupplySnapshotRequest {
                mineral: "REE".into(),
                year,
                importer: "JPN".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        stored += snap.trade.len() as u64;
    }
    assert_eq!(stored, acked);
}

#[tokio::test]
async fn acknowledged_writes_survive_kill9_of_redis() {
    let mut c = start();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let resp = client
        .upsert_production(pb::UpsertProductionRequest {
            stats: vec![
                production("CO", "COD", 2024, Some(220_000.0)),
                production("CO", "IDN", 2024, Some(28_000.0)),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.accepted, 2);
    let upload = client
        .ingest_trade_flows(tokio_stream::iter(vec![request(
            "r9",
            vec![flow("JPN", "COD", "282200", 2024, 5.0, None)],
        )]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(upload.accepted, 1);
    c.redis.kill9();
    c.redis.restart();
    let e = c.ingest.endpoint();
    assert!(
        eventually(Duration::from_secs(10), || async {
            health(&e, "").await.ok() == Some(SERVING)
        })
        .await
    );
    let snap = client
        .get_supply_snapshot(pb::GetSupplySnapshotRequest {
            mineral: "CO".into(),
            year: 2024,
            importer: "JPN".into(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", c.ingest.logs()))
        .into_inner();
    assert_eq!(snap.production[0].producers.len(), 2);
    assert_eq!(snap.trade.len(), 1);
    assert_eq!(
        c.redis.cli(&["XLEN", "sr:v1:events:data"]),
        "2",
        "events survived with their data"
    );
}

#[tokio::test]
async fn streams_one_hundred_thousand_flows() {
    let c = start();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let reporters: Vec<String> = supplyrisk_domain::Countries::builtin()
        .iter()
        .filter(|x| x.kind == supplyrisk_domain::CountryKind::Country)
        .map(|x| x.iso3.clone())
        .take(100)
        .collect();
    let hs = ["284690", "282520", "260400", "810510", "261100"];
    let mut msgs = Vec::new();
    let mut batch = Vec::new();
    let mut n = 0u32;
    'outer: for r in &reporters {
        for p in &reporters {
            if r == p {
                continue;
            }
            for (k, code) in hs.iter().enumerate() {
                for year in [2022, 2023, 2024] {
                    if n == 100_000 {
                        break 'outer;
                    }
                    let _ = k;
                    batch.push(flow(r, p, code, year, f64::from(n), Some(1.0)));
                    n += 1;
                    if batch.len() == 2000 {
                        msgs.push(request("big", std::mem::take(&mut batch)));
                    }
                }
            }
        }
    }
    msgs.push(request("big", batch));
    let resp = client
        .ingest_trade_flows(tokio_stream::iter(msgs))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.accepted, 100_000);
    assert_eq!(resp.rejected_count, 0);
    let snap = client
        .get_supply_snapshot(pb::GetSupplySnapshotRequest {
            mineral: "REE".into(),
            year: 2024,
            importer: reporters[0].clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(snap.trade.len(), 99);
}

#[test]
fn invalid_config_stops_start_up_naming_the_key() {
    let out = std::process::Command::new(supplyrisk_testkit::binary("supplyrisk-ingest"))
        .env("SUPPLYRISK__GRPC__LISTEN", "not-an-address")
        .env("SUPPLYRISK__AUTH__TOKENS", supplyrisk_testkit::auth_tokens())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SUPPLYRISK__GRPC__LISTEN"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    let out = std::process::Command::new(supplyrisk_testkit::binary("supplyrisk-ingest"))
        .env("SUPPLYRISK__AUTH__TOKENS", "superuser=abcdefghij")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SUPPLYRISK__AUTH__TOKENS") && !err.contains("abcdefghij"),
        "{err}"
    );
}

#[tokio::test]
async fn the_first_upload_after_redis_returns_succeeds_once_health_says_serving() {
    let mut c = start();
    let e = c.ingest.endpoint();
    let mut client = ingest_client(&e, Some(INGESTER_TOKEN)).await;
    // Round 0 lets health see Redis gone; later rounds restart it at once,
    // faster than the health probe looks.
    for round in 0..4 {
        c.redis.kill9();
        if round == 0 {
            assert!(
                eventually(Duration::from_secs(5), || async {
                    health(&e, "").await.ok() == Some(NOT_SERVING)
                })
                .await,
                "NOT_SERVING once Redis is gone"
            );
        }
        c.redis.restart();
        assert!(
            eventually(Duration::from_secs(10), || async {
                health(&e, "").await.ok() == Some(SERVING)
            })
            .await,
            "round {round}: SERVING again"
        );
        // A client that waited for SERVING writes at once, and it works.
        let flows = vec![supplyrisk_testkit::fixtures::ree_import(
            "JPN",
            "CHN",
            f64::from(round) + 1.0,
        )];
        let resp = client
            .ingest_trade_flows(tokio_stream::iter(vec![request(
                &format!("after-restart-{round}"),
                flows,
            )]))
            .await
            .unwrap_or_else(|s| panic!("round {round}: {s:?}"))
            .into_inner();
        assert_eq!(resp.accepted, 1, "round {round}");
    }
}
