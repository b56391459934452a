//! Recording a score is a compare-and-set on the latest score, so replicas
//! recomputing one series at once cannot publish a change twice or let an
//! older score win.

use supplyrisk_domain::Date;
use supplyrisk_store::{ScorePoint, ScoreRecord, ScoreWrite, Store, StoreOptions, keys};
use supplyrisk_testkit::RedisServer;

fn point(score: f64, data_version: &str, day: &str) -> ScorePoint {
    ScorePoint {
        data_year: 2024,
        score,
        confidence: 1.0,
        data_version: data_version.into(),
        computed_at: None,
        kind: "recomputation".into(),
        as_of: Some(Date::parse(day).expect("day")),
    }
}

async fn write(store: &Store, point: &ScorePoint, replaces: Option<&supplyrisk_store::LatestScore>) -> ScoreWrite {
    let record = ScoreRecord {
        mineral: "REE",
        method: "eu-crm",
        importer: "JPN",
        point,
        changed_event: Some(b"changed"),
        replaces,
    };
    store.record_score(&record, 1000).await.expect("record")
}

async fn latest(store: &Store) -> Option<supplyrisk_store::LatestScore> {
    store.latest_score("REE", "eu-crm", "JPN").await.expect("latest")
}

#[tokio::test]
async fn only_the_writer_that_saw_the_latest_score_records() {
    let redis = RedisServer::start();
    let store = crate::store(&redis, StoreOptions::default());
    let first = point(4.0, "REE@1-0;gov@1-0;trade-years@1", "2026-12-01");
    assert!(matches!(
        write(&store, &first, None).await,
        ScoreWrite::Recorded(Some(_))
    ));
    // A second replica that also read "no score yet" loses, and writes nothing.
    assert_eq!(write(&store, &first, None).await, ScoreWrite::Conflict);

    // Two replicas read the same latest score; the first to write wins.
    let seen = latest(&store).await.expect("recorded");
    assert_eq!(seen.as_of, Some(Date::parse("2026-12-01").expect("day")));
    let newer = point(4.5, "REE@2-0;gov@1-0;trade-years@1", "2026-12-01");
    assert!(matches!(
        write(&store, &newer, Some(&seen)).await,
        ScoreWrite::Recorded(Some(_))
    ));
    let racing = point(4.5, "REE@2-0;gov@1-0;trade-years@1", "2026-12-01");
    assert_eq!(write(&store, &racing, Some(&seen)).await, ScoreWrite::Conflict);

    let events: u64 = redis.cli(&["XLEN", keys::SCORE_STREAM]).trim().parse().expect("xlen");
    assert_eq!(events, 2, "one ScoreChanged per change, not per replica");
    let history: u64 = redis
        .cli(&["LLEN", &keys::score_history("REE", "eu-crm", "JPN")])
        .trim()
        .parse()
        .expect("llen");
    assert_eq!(history, 2);
    assert_eq!(latest(&store).await.map(|l| l.score), Some(4.5));
}

#[tokio::test]
async fn a_latest_score_knows_when_it_is_newer() {
    let redis = RedisServer::start();
    let store = crate::store(&redis, StoreOptions::default());
    let recorded = point(4.5, "REE@20-0;gov@3-0;trade-years@2", "2026-12-02");
    write(&store, &recorded, None).await;
    let latest = latest(&store).await.expect("recorded");
    let day = |d: &str| Some(Date::parse(d).expect("day"));
    // Older data, or the same data on an earlier policy day.
    assert!(latest.is_newer_than("REE@19-5;gov@3-0;trade-years@2", day("2026-12-02")));
    assert!(latest.is_newer_than("REE@20-0;gov@3-0;trade-years@1", day("2026-12-03")));
    assert!(latest.is_newer_than("REE@20-0;gov@3-0;trade-years@2", day("2026-12-01")));
    // Newer data, the same inputs, or inputs newer in one part and older in
    // another (never seen from monotone versions, and never refused).
    assert!(!latest.is_newer_than("REE@21-0;gov@3-0;trade-years@2", day("2026-12-01")));
    assert!(!latest.is_newer_than("REE@20-0;gov@3-0;trade-years@2", day("2026-12-02")));
    assert!(!latest.is_newer_than("REE@21-0;gov@2-0;trade-years@2", day("2026-12-02")));
    // A version that cannot be read is never called older.
    assert!(!latest.is_newer_than("something else", day("2026-12-01")));
}
