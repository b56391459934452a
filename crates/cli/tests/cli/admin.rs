//! `supplyrisk admin dead-letters`: an operator sees what a consumer group
//! gave up on and sends it back.

use std::time::{Duration, Instant};

use supplyrisk_testkit::{ADMIN_TOKEN, Cluster, ClusterOptions, READER_TOKEN};

use crate::parse_json;

#[test]
fn dead_letters_are_listed_and_redriven_by_an_admin_only() {
    let cluster = Cluster::start_with(ClusterOptions {
        env: vec![
            ("SUPPLYRISK__SCORING__RECLAIM_IDLE_MS".into(), "1000".into()),
            ("SUPPLYRISK__ALERTING__RECLAIM_IDLE_MS".into(), "1000".into()),
            ("SUPPLYRISK__ALERTING__MAX_DELIVERIES".into(), "1".into()),
        ],
        ..Default::default()
    });
    let (ingest_endpoint, scoring_endpoint, alerting_endpoint) = (
        cluster.ingest.endpoint(),
        cluster.scoring.endpoint(),
        cluster.alerting.endpoint(),
    );
    let env = crate::endpoints(&ingest_endpoint, &scoring_endpoint, &alerting_endpoint);
    let run = |token: &str, args: &[&str]| crate::cli_with(&env, token, args);
    // A policy write whose event no ingest call can read: the policy
    // watcher fails on it for a reason of its own (field 1: kind 4, policy
    // events; field 2: the mineral; field 7: the event id).
    let poison = "\u{8}\u{4}\u{12}\u{d}NOT-A-MINERAL\u{3a}\u{8}p-poison";
    let source_id = cluster
        .redis
        .cli(&["XADD", "sr:v1:events:data", "*", "payload", poison]);

    let list = |token: &str| {
        run(
            token,
            &[
                "admin",
                "dead-letters",
                "list",
                "--group",
                "alerting-policy",
                "--output",
                "json",
            ],
        )
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let letters = loop {
        let (ok, out, err) = list(ADMIN_TOKEN);
        assert!(ok, "{err}");
        let letters = parse_json(&out)["dead_letters"].as_array().unwrap().clone();
        if !letters.is_empty() || Instant::now() > deadline {
            break letters;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(letters.len(), 1, "alerting logs:\n{}", cluster.alerting.logs());
    assert_eq!(letters[0]["service"], "alerting");
    assert_eq!(letters[0]["source_id"], source_id.as_str());
    let id = letters[0]["id"].as_str().unwrap().to_string();

    let (ok, _, err) = run(
        ADMIN_TOKEN,
        &["admin", "dead-letters", "list", "--group", "no-such-group"],
    );
    assert!(!ok && err.contains("is not a consumer group"), "{err}");

    let (ok, _, err) = list(READER_TOKEN);
    assert!(!ok && err.contains("permission denied"), "{err}");

    let (ok, out, err) = run(ADMIN_TOKEN, &["admin", "dead-letters", "redrive", &id, "9-9"]);
    assert!(!ok, "an id that is no dead letter is reported: {out}");
    assert!(
        out.contains(&format!("{id} alerting-policy redriven as")),
        "{out}\n{err}"
    );
    assert!(out.contains("9-9 not found"), "{out}");
    // Redriven: appended again, it fails once more and is dead-lettered anew.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, out, _) = list(ADMIN_TOKEN);
        let letters = parse_json(&out)["dead_letters"].as_array().unwrap().clone();
        if letters.len() == 1 && letters[0]["id"] != id.as_str() {
            assert_ne!(letters[0]["source_id"], source_id.as_str(), "a new entry");
            break;
        }
        assert!(Instant::now() < deadline, "not dead-lettered again: {out}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let (ok, out, err) = run(
        ADMIN_TOKEN,
        &[
            "admin",
            "dead-letters",
            "redrive",
            "--all",
            "--service",
            "alerting",
            "--group",
            "alerting-policy",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("1 redriven"), "{out}");
}
