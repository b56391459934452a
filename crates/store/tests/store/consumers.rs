//! Consumers leave their group when they stop, and consumers of processes
//! gone without leaving are removed once idle, never with entries pending.

use supplyrisk_store::StoreOptions;
use supplyrisk_testkit::RedisServer;

use crate::store;

const STREAM: &str = "test:consumers";
const GROUP: &str = "g";

/// Reads one new entry as `consumer`, leaving it pending.
fn take_one(redis: &RedisServer, consumer: &str) {
    redis.cli(&[
        "XREADGROUP",
        "GROUP",
        GROUP,
        consumer,
        "COUNT",
        "1",
        "STREAMS",
        STREAM,
        ">",
    ]);
}

/// Adds `consumer` to the group with nothing pending.
fn join(redis: &RedisServer, consumer: &str) {
    redis.cli(&["XGROUP", "CREATECONSUMER", STREAM, GROUP, consumer]);
}

fn consumers(redis: &RedisServer) -> Vec<String> {
    let out = redis.cli(&["XINFO", "CONSUMERS", STREAM, GROUP]);
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|w| w[0] == "name")
        .map(|w| w[1].to_string())
        .collect()
}

#[tokio::test]
async fn a_consumer_leaves_only_with_nothing_pending() {
    let redis = RedisServer::start();
    let store = store(&redis, StoreOptions::default());
    store.ensure_group(STREAM, GROUP).await.expect("group");
    redis.cli(&["XADD", STREAM, "*", "n", "1"]);
    take_one(&redis, "busy");
    join(&redis, "idle");
    assert_eq!(consumers(&redis), ["busy", "idle"]);

    assert!(
        !store.leave_group(STREAM, GROUP, "busy").await.expect("leave"),
        "its entry is pending"
    );
    assert!(store.leave_group(STREAM, GROUP, "idle").await.expect("leave"));
    assert_eq!(consumers(&redis), ["busy"]);
}

#[tokio::test]
async fn consumers_gone_without_leaving_are_forgotten_once_idle() {
    let redis = RedisServer::start();
    let store = store(&redis, StoreOptions::default());
    store.ensure_group(STREAM, GROUP).await.expect("group");
    redis.cli(&["XADD", STREAM, "*", "n", "1"]);
    take_one(&redis, "killed-with-work");
    join(&redis, "killed-idle");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    join(&redis, "alive");

    let removed = store.forget_idle_consumers(STREAM, GROUP, 30).await.expect("forget");
    assert_eq!(
        removed,
        ["killed-idle"],
        "the live one is not idle, the other holds an entry"
    );
    assert_eq!(consumers(&redis), ["alive", "killed-with-work"]);
}
