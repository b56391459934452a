//! A stream is trimmed only below what every consumer group has read.

use supplyrisk_store::StoreOptions;
use supplyrisk_testkit::RedisServer;

use crate::store;

const STREAM: &str = "test:stream";

/// Reads up to `count` new entries as `group`, returning their ids.
fn read(redis: &RedisServer, group: &str, count: usize) -> Vec<String> {
    let out = redis.cli(&[
        "XREADGROUP",
        "GROUP",
        group,
        "c",
        "COUNT",
        &count.to_string(),
        "STREAMS",
        STREAM,
        ">",
    ]);
    out.lines()
        .filter(|l| l.contains('-') && l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

fn entries(redis: &RedisServer) -> u64 {
    redis.cli(&["XLEN", STREAM]).trim().parse().expect("XLEN")
}

#[tokio::test]
async fn a_stream_keeps_what_its_slowest_group_has_not_finished() {
    let redis = RedisServer::start();
    let store = store(&redis, StoreOptions::default());
    assert_eq!(
        store.trim_read_entries(STREAM).await.expect("trim").removed,
        0,
        "no stream"
    );
    let ids: Vec<String> = (1..=5)
        .map(|i| {
            redis
                .cli(&["XADD", STREAM, &format!("{i}-1"), "n", &i.to_string()])
                .trim()
                .to_string()
        })
        .collect();
    assert_eq!(
        store.trim_read_entries(STREAM).await.expect("trim").removed,
        0,
        "no group yet"
    );

    for group in ["fast", "slow"] {
        redis.cli(&["XGROUP", "CREATE", STREAM, group, "0"]);
    }
    let fast = read(&redis, "fast", 10);
    assert_eq!(fast, ids);
    let mut ack = vec!["XACK", STREAM, "fast"];
    ack.extend(fast.iter().map(String::as_str));
    redis.cli(&ack);
    // The slow group read two and acknowledged only the first.
    let slow = read(&redis, "slow", 2);
    assert_eq!(slow, ids[..2]);
    redis.cli(&["XACK", STREAM, "slow", &ids[0]]);

    let t = store.trim_read_entries(STREAM).await.expect("trim");
    assert_eq!(
        t.kept_from.as_deref(),
        Some(ids[1].as_str()),
        "the slow group's pending entry"
    );
    assert_eq!((t.removed, entries(&redis)), (1, 4));

    redis.cli(&["XACK", STREAM, "slow", &ids[1]]);
    let rest = read(&redis, "slow", 10);
    let mut ack = vec!["XACK", STREAM, "slow"];
    ack.extend(rest.iter().map(String::as_str));
    redis.cli(&ack);
    let t = store.trim_read_entries(STREAM).await.expect("trim");
    assert_eq!(
        t.kept_from.as_deref(),
        Some(ids[4].as_str()),
        "the last entry delivered"
    );
    assert_eq!(entries(&redis), 1);
}
