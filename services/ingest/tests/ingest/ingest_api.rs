//! The ingest API over a real socket against a real redis-server.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use supplyrisk_api::common::v1 as cpb;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_testkit::{INGESTER_TOKEN, READER_TOKEN, ingest_client};
use tonic::Code;

#[tokio::test]
async fn uploads_flows_and_serves_a_snapshot_with_shares_and_hhi() {
    let c = start();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let flows = vec![
        flow("JPN", "CHN", "284690", 2023, 9_000_000.0, Some(1_000_000.0)),
        flow("JPN", "VNM", "284690", 2023, 1_000_000.0, None),
        flow("USA", "CHN", "280530", 2023, 5_000.0, Some(10.0)),
    ];
    let resp = upload(&mut client, "up-1", flows).await;
    assert_eq!((resp.accepted, resp.unchanged, resp.rejected_count), (3, 0, 0));

    let prod = vec![
        production("REE", "CHN", 2023, Some(240_000.0)),
        production("REE", "USA", 2023, Some(43_000.0)),
        production("REE", "MMR", 2023, None),
    ];
    let r = client
        .upsert_production(pb::UpsertProductionRequest { stats: prod })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.accepted, 3);
    let gov = vec![
        pb::GovernanceIndicator {
            country: "CHN".into(),
            year: 2022,
            dimension: pb::GovernanceDimension::Pv as i32,
            estimate: -0.4,
        },
        pb::GovernanceIndicator {
            country: "CHN".into(),
            year: 2021,
            dimension: pb::GovernanceDimension::Cc as i32,
            estimate: -0.3,
        },
        pb::GovernanceIndicator {
            country: "USA".into(),
            year: 2023,
            dimension: pb::GovernanceDimension::Pv as i32,
            estimate: 0.1,
        },
    ];
    assert_eq!(
        client
            .upsert_governance(pb::UpsertGovernanceRequest { indicators: gov })
            .await
            .unwrap()
            .into_inner()
            .accepted,
        3
    );

    let snap = client
        .get_supply_snapshot(pb::GetSupplySnapshotRequest {
            mineral: "rare earths".into(),
            year: 0,
            importer: "JPN".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(snap.mineral, "REE");
    assert_eq!(snap.year, 2023);
    let p = &snap.production[0];
    assert!(!p.world_total_published);
    let chn = p.producers.iter().find(|x| x.country == "CHN").unwrap();
    assert!((chn.share.unwrap() - 240.0 / 283.0).abs() < 1e-12);
    let expected_hhi = (100.0 * 240.0 / 283.0_f64).powi(2) + (100.0 * 43.0 / 283.0_f64).powi(2);
    assert!((p.hhi.unwrap() - expected_hhi).abs() < 1e-9);
    assert_eq!(p.withheld_countries, vec!["MMR"], "withheld stays missing, never zero");
    assert!(p.producers.iter().find(|x| x.country == "MMR").unwrap().share.is_none());
    assert_eq!(snap.trade.len(), 2, "only JPN's flows");
    let vnm = snap.trade.iter().find(|t| t.partner == "VNM").unwrap();
    assert_eq!(vnm.net_weight_kg, None);
    assert_eq!(
        vnm.period.map(|p| (p.year, p.month)),
        Some((2023, 0)),
        "each row keeps its period"
    );
    // CHN has only a 2022 estimate: the latest year before the snapshot year is used.
    let chn_gov = snap.governance.iter().find(|g| g.country == "CHN").unwrap();
    assert_eq!(chn_gov.year, 2022);
    assert_eq!(
        chn_gov.indicators.len(),
        2,
        "each dimension from the newest year that has it"
    );
    assert!(
        snap.gaps.iter().any(|g| g.contains("VNM")),
        "VNM has no governance: {:?}",
        snap.gaps
    );
    assert!(!snap.data_version.is_empty());

    // Each write appended one DataChanged event; the trade one names REE.
    assert_eq!(c.redis.cli(&["XLEN", "sr:v1:events:data"]), "3");
}

#[tokio::test]
async fn snapshot_is_cached_by_version_and_refreshed_by_a_write() {
    let c = start();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    client
        .upsert_production(pb::UpsertProductionRequest {
            stats: vec![production("LI", "AUS", 2024, Some(88_000.0))],
        })
        .await
        .unwrap();
    let req = pb::GetSupplySnapshotRequest {
        mineral: "LI".into(),
        year: 2024,
        importer: String::new(),
        ..Default::default()
    };
    let a = client.get_supply_snapshot(req.clone()).await.unwrap().into_inner();
    let b = client.get_supply_snapshot(req.clone()).await.unwrap().into_inner();
    assert_eq!(a, b);
    assert_eq!(a.production[0].hhi, Some(10_000.0));
    client
        .upsert_production(pb::UpsertProductionRequest {
            stats: vec![production("LI", "CHL", 2024, Some(88_000.0))],
        })
        .await
        .unwrap();
    let after = client.get_supply_snapshot(req).await.unwrap().into_inner();
    assert_ne!(after.data_version, a.data_version);
    assert_eq!(after.production[0].hhi, Some(5_000.0));
}

#[tokio::test]
async fn bad_records_are_rejected_by_index_and_good_ones_kept() {
    let c = start();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let mut bad_period = flow("JPN", "CHN", "284690", 2023, 1.0, None);
    bad_period.period = None;
    let mut bad_flow = flow("JPN", "CHN", "284690", 2023, 1.0, None);
    bad_flow.flow = 0;
    let msgs = vec![
        request(
            "up-bad",
            vec![
                flow("JPN", "CHN", "284690", 2023, 1.0, None),
                flow("XXQ", "CHN", "284690", 2023, 1.0, None),
            ],
        ),
        request(
            "",
            vec![
                flow("JPN", "JPN", "284690", 2023, 1.0, None),
                flow("JPN", "CHN", "999999", 2023, 1.0, None),
                flow("JPN", "CHN", "284690", 1800, 1.0, None),
                flow("JPN", "CHN", "284690", 2023, -5.0, None),
                flow("JPN", "CHN", "284690", 2023, 1.0, Some(f64::NAN)),
                bad_period,
                bad_flow,
                flow("KOR", "CHN", "284690", 2023, 2.0, None),
            ],
        ),
    ];
    let resp = client
        .ingest_trade_flows(tokio_stream::iter(msgs))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.accepted, 2);
    assert_eq!(resp.rejected_count, 8);
    let got: Vec<(u64, &str)> = resp.rejected.iter().map(|r| (r.index, r.field.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (1, "reporter"),
            (2, "partner"),
            (3, "hs_code"),
            (4, "period.year"),
            (5, "value_usd"),
            (6, "net_weight_kg"),
            (7, "period"),
            (8, "flow")
        ]
    );
    assert!(resp.rejected[0].reason.contains("XXQ"));
}

#[tokio::test]
async fn invalid_requests_get_invalid_argument_with_field_violations() {
    let c = start();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;

    let err = client
        .ingest_trade_flows(tokio_stream::iter(vec![request("", vec![])]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violations(&err), vec!["upload_id"]);

    let err = client
        .upsert_production(pb::UpsertProductionRequest { stats: vec![] })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), violations(&err)),
        (Code::InvalidArgument, vec!["stats".to_string()])
    );

    let event = pb::PolicyEvent {
        country: "CHN".into(),
        severity: 2.0,
        ..Default::default()
    };
    let err = client
        .record_policy_event(pb::RecordPolicyEventRequest { event: Some(event) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = violations(&err);
    for f in [
        "event.minerals",
        "event.measure",
        "event.effective_from",
        "event.severity",
        "event.source_reference",
    ] {
        assert!(fields.contains(&f.to_string()), "{f} missing from {fields:?}");
    }

    let err = client
        .upsert_stockpile(pb::UpsertStockpileRequest {
            stockpile: Some(pb::Stockpile {
                country: "JPN".into(),
                mineral: "DY".into(),
                quantity_tonnes: -1.0,
                as_of: Some(cpb::Date {
                    year: 2025,
                    month: 2,
                    day: 30,
                }),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["stockpile.quantity_tonnes", "stockpile.as_of"]);

    let err = client
        .get_supply_snapshot(pb::GetSupplySnapshotRequest {
            mineral: "lithum".into(),
            year: 0,
            importer: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("LI"), "{}", err.message());

    let err = client
        .get_supply_snapshot(pb::GetSupplySnapshotRequest {
            mineral: "LI".into(),
            year: 3000,
            importer: "JP".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), violations(&err)),
        (Code::InvalidArgument, vec!["year".to_string(), "importer".to_string()])
    );

    let err = client
        .list_policy_events(pb::ListPolicyEventsRequest {
            page_size: -1,
            page_token: "zz".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["page_size", "page_token"]);
}

#[tokio::test]
async fn same_upload_id_replays_and_same_natural_keys_are_unchanged() {
    let c = start();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let flows = || {
        vec![
            flow("JPN", "CHN", "284690", 2023, 10.0, None),
            flow("JPN", "AUS", "284690", 2023, 20.0, None),
        ]
    };
    let first = upload(&mut client, "u-1", flows()).await;
    assert_eq!((first.accepted, first.replayed), (2, false));
    let events = c.redis.cli(&["XLEN", "sr:v1:events:data"]);

    let again = upload(&mut client, "u-1", flows()).await;
    assert!(again.replayed);
    assert_eq!(
        (again.accepted, again.unchanged),
        (2, 0),
        "the stored response comes back"
    );
    assert_eq!(
        c.redis.cli(&["XLEN", "sr:v1:events:data"]),
        events,
        "a replay changes nothing"
    );

    let same_keys = upload(&mut client, "u-2", flows()).await;
    assert_eq!((same_keys.accepted, same_keys.unchanged), (0, 2));
    assert_eq!(
        c.redis.cli(&["XLEN", "sr:v1:events:data"]),
        events,
        "no change, no event"
    );

    let new_value = vec![flow("JPN", "CHN", "284690", 2023, 11.0, None)];
    let replaced = upload(&mut client, "u-3", new_value).await;
    assert_eq!((replaced.accepted, replaced.unchanged), (1, 0));
    let snap = ree_snapshot_2023(&mut client, "JPN").await;
    let chn = snap.trade.iter().find(|t| t.partner == "CHN").unwrap();
    assert_eq!(chn.value_usd, 11.0, "new values replace the old");
}

#[tokio::test]
async fn a_later_flow_with_the_same_key_wins_across_chunks_written_together() {
    // One flow per write, so chunks overlap in Redis wherever keys allow.
    let c = start_with(&[("SUPPLYRISK__INGEST__WRITE_CHUNK_RECORDS", "1")]);
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let mut flows = Vec::new();
    for round in 0..20 {
        let value = f64::from(round);
        flows.push(flow("JPN", "CHN", "284690", 2023, 1000.0 + value, None));
        flows.push(flow("JPN", "AUS", "284690", 2023, 2000.0 + value, None));
        flows.push(flow("JPN", "VNM", "284690", 2023, 3000.0 + value, None));
    }
    let resp = upload(&mut client, "overlap", flows).await;
    assert_eq!((resp.accepted, resp.unchanged, resp.rejected_count), (60, 0, 0));
    let snap = ree_snapshot_2023(&mut client, "JPN").await;
    let value = |partner: &str| snap.trade.iter().find(|t| t.partner == partner).unwrap().value_usd;
    assert_eq!((value("CHN"), value("AUS"), value("VNM")), (1019.0, 2019.0, 3019.0));

    // A Redis that lost its scripts gets the upsert script again.
    c.redis.cli(&["SCRIPT", "FLUSH"]);
    let again = vec![flow("JPN", "CHN", "284690", 2023, 4000.0, None)];
    assert_eq!(upload(&mut client, "after-flush", again).await.accepted, 1);
}

#[tokio::test]
async fn policy_events_are_idempotent_paginated_and_filtered() {
    let c = start();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let ev = |minerals: &[&str], y: i32, m: i32| pb::PolicyEvent {
        country: "CHN".into(),
        minerals: minerals.iter().map(|s| s.to_string()).collect(),
        measure: pb::PolicyMeasure::Licensing as i32,
        effective_from: Some(cpb::Date {
            year: y,
            month: m,
            day: 1,
        }),
        severity: 0.5,
        source_reference: "MOFCOM announcement".into(),
        ..Default::default()
    };
    let r = client
        .record_policy_event(pb::RecordPolicyEventRequest {
            event: Some(ev(&["GA", "GE"], 2023, 8)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.changed);
    assert_eq!(r.event.unwrap().id, "chn-licensing-2023-08-01-ga_ge");
    let again = client
        .record_policy_event(pb::RecordPolicyEventRequest {
            event: Some(ev(&["GA", "GE"], 2023, 8)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!again.changed);
    client
        .record_policy_event(pb::RecordPolicyEventRequest {
            event: Some(ev(&["GRAPHITE"], 2023, 12)),
        })
        .await
        .unwrap();
    client
        .record_policy_event(pb::RecordPolicyEventRequest {
            event: Some(ev(&["SB"], 2024, 9)),
        })
        .await
        .unwrap();

    let page1 = client
        .list_policy_events(pb::ListPolicyEventsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page1.events.len(), 2);
    assert!(!page1.next_page_token.is_empty());
    let page2 = client
        .list_policy_events(pb::ListPolicyEventsRequest {
            page_size: 2,
            page_token: page1.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page2.events.len(), 1);
    let ga = client
        .list_policy_events(pb::ListPolicyEventsRequest {
            mineral: "gallium".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ga.events.len(), 1);
    let active = client
        .list_policy_events(pb::ListPolicyEventsRequest {
            active_at: Some(cpb::Date {
                year: 2023,
                month: 12,
                day: 31,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(active.events.len(), 2);
    let minerals = client
        .list_minerals(pb::ListMineralsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(minerals.minerals.iter().any(|m| m.id == "DY" && m.parent == "REE"));
}

/// The description of the `page_token` violation in a status.
fn page_token_violation(status: &tonic::Status) -> String {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let violations = supplyrisk_testkit::field_violations(status);
    let fields: Vec<&str> = violations.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["page_token"], "{status:?}");
    violations[0].1.clone()
}

#[tokio::test]
async fn a_policy_event_page_token_resumes_only_the_query_it_came_from() {
    let c = start();
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    for (minerals, year, month) in [
        (vec!["GA", "GE"], 2023, 8),
        (vec!["GRAPHITE"], 2023, 12),
        (vec!["SB"], 2024, 9),
    ] {
        let event = pb::PolicyEvent {
            country: "CHN".into(),
            minerals: minerals.iter().map(|m| m.to_string()).collect(),
            measure: pb::PolicyMeasure::Licensing as i32,
            effective_from: Some(cpb::Date { year, month, day: 1 }),
            severity: 0.5,
            source_reference: "MOFCOM announcement".into(),
            ..Default::default()
        };
        client
            .record_policy_event(pb::RecordPolicyEventRequest { event: Some(event) })
            .await
            .unwrap();
    }
    let chinese = |page_token: String| pb::ListPolicyEventsRequest {
        country: "CHN".into(),
        page_size: 1,
        page_token,
        ..Default::default()
    };
    let first = client
        .list_policy_events(chinese(String::new()))
        .await
        .unwrap()
        .into_inner();
    let token = first.next_page_token;
    assert!(!token.is_empty());
    let second = client
        .list_policy_events(chinese(token.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.events.len(), 1);
    assert_ne!(second.events[0].id, first.events[0].id);

    let other_filters = [
        pb::ListPolicyEventsRequest {
            country: "USA".into(),
            ..chinese(token.clone())
        },
        pb::ListPolicyEventsRequest {
            mineral: "SB".into(),
            ..chinese(token.clone())
        },
        pb::ListPolicyEventsRequest {
            active_at: Some(cpb::Date {
                year: 2024,
                month: 1,
                day: 1,
            }),
            ..chinese(token.clone())
        },
    ];
    for request in other_filters {
        let status = client.list_policy_events(request).await.unwrap_err();
        assert_eq!(page_token_violation(&status), "belongs to a request with other filters");
    }
    // The page size is not a filter: it may change from page to page.
    let resized = pb::ListPolicyEventsRequest {
        page_size: 5,
        ..chinese(token)
    };
    assert_eq!(
        client
            .list_policy_events(resized)
            .await
            .unwrap()
            .into_inner()
            .events
            .len(),
        2
    );

    // Not hex, and the bare event id an earlier release handed out.
    for malformed in ["not a token".to_string(), hex::encode("chn-licensing-2023-08-01-ga_ge")] {
        let status = client.list_policy_events(chinese(malformed)).await.unwrap_err();
        assert_eq!(page_token_violation(&status), "is not a token returned by this call");
    }
}

#[tokio::test]
async fn tokens_and_roles_are_enforced() {
    let c = start();
    let e = c.ingest.endpoint();
    let mut none = ingest_client(&e, None).await;
    assert_eq!(
        none.list_minerals(pb::ListMineralsRequest {}).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let mut wrong = ingest_client(&e, Some("not-a-real-token")).await;
    assert_eq!(
        wrong
            .list_minerals(pb::ListMineralsRequest {})
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    let mut reader = ingest_client(&e, Some(READER_TOKEN)).await;
    assert!(reader.list_minerals(pb::ListMineralsRequest {}).await.is_ok());
    let err = reader
        .upsert_production(pb::UpsertProductionRequest {
            stats: vec![production("LI", "AUS", 2024, Some(1.0))],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = reader
        .ingest_trade_flows(tokio_stream::iter(vec![request("x", vec![])]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Health needs no token.
    assert!(supplyrisk_testkit::health(&e, "").await.is_ok());
    assert!(!c.ingest.logs().contains(INGESTER_TOKEN), "tokens never reach the logs");
}
