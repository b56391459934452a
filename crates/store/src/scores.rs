//! Scores: the latest score per importer, history, rankings and the
//! score-changed stream.

use prost::Message;
use redis::AsyncCommands;
use supplyrisk_domain::Date;

use crate::stored::{StoredLatestScore, StoredScorePoint};

use crate::{Store, StoreResult, keys};

/// How many history points are kept per mineral, importer and method.
pub const HISTORY_LIMIT: isize = 1000;

/// One recorded score of a series (mineral, method, importer).
#[derive(Debug, Clone, PartialEq)]
pub struct ScorePoint {
    /// Year of the data scored.
    pub data_year: u16,
    /// The score.
    pub score: f64,
    /// Its confidence, 0–1.
    pub confidence: f64,
    /// Data version the score was computed at.
    pub data_version: String,
    /// When it was computed.
    pub computed_at: Option<std::time::SystemTime>,
    /// Why it was recorded: `recomputation` (new data) or `policy_day`.
    pub kind: String,
    /// The day whose policy events it reflects.
    pub as_of: Option<Date>,
}

/// The latest recorded score of a series, as a recomputation compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestScore {
    /// The score.
    pub score: f64,
    /// Data version it was computed at.
    pub data_version: String,
}

/// A recomputed score to record.
#[derive(Debug, Clone)]
pub struct ScoreRecord<'a> {
    /// Catalog mineral id.
    pub mineral: &'a str,
    /// Methodology id.
    pub method: &'a str,
    /// Importer id.
    pub importer: &'a str,
    /// The score, now the latest and the newest history point.
    pub point: &'a ScorePoint,
    /// Encoded `ScoreChanged` event for the score stream, when the score moved.
    pub changed_event: Option<&'a [u8]>,
}

impl Store {
    /// The last day the policy clock recomputed for (see [`keys::policy_clock`]).
    pub async fn policy_clock_day(&self) -> StoreResult<Option<String>> {
        let mut conn = self.conn().await?;
        Ok(conn.get(keys::policy_clock()).await?)
    }

    /// Records `day` as recomputed for.
    pub async fn set_policy_clock_day(&self, day: &str) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let _: () = conn.set(keys::policy_clock(), day).await?;
        Ok(())
    }

    /// The latest recorded score of `mineral` for `importer`.
    pub async fn latest_score(&self, mineral: &str, method: &str, importer: &str) -> StoreResult<Option<LatestScore>> {
        let mut conn = self.conn().await?;
        let raw: Option<Vec<u8>> = conn.hget(keys::latest_scores(mineral, method), importer).await?;
        Ok(raw
            .and_then(|b| StoredLatestScore::decode(b.as_slice()).ok())
            .map(|s| LatestScore {
                score: s.score,
                data_version: s.data_version,
            }))
    }

    /// Records a recomputed score atomically: latest, ranking, history and,
    /// when it moved, the `ScoreChanged` event.
    pub async fn record_score(&self, r: &ScoreRecord<'_>, stream_maxlen: u64) -> StoreResult<Option<String>> {
        let latest = StoredLatestScore {
            score: r.point.score,
            data_version: r.point.data_version.clone(),
        }
        .encode_to_vec();
        let point = StoredScorePoint::from(r.point).encode_to_vec();
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(keys::latest_scores(r.mineral, r.method), r.importer, latest)
            .ignore()
            .zadd(keys::ranking(r.method, r.importer), r.mineral, r.point.score)
            .ignore()
            .lpush(keys::score_history(r.mineral, r.method, r.importer), point)
            .ignore()
            .ltrim(
                keys::score_history(r.mineral, r.method, r.importer),
                0,
                HISTORY_LIMIT - 1,
            )
            .ignore();
        if let Some(ev) = r.changed_event {
            pipe.cmd("XADD")
                .arg(keys::SCORE_STREAM)
                .arg("MAXLEN")
                .arg("~")
                .arg(stream_maxlen)
                .arg("*")
                .arg("payload")
                .arg(ev);
            let (id,): (String,) = pipe.query_async(&mut conn).await?;
            Ok(Some(id))
        } else {
            let _: () = pipe.query_async(&mut conn).await?;
            Ok(None)
        }
    }

    /// Recorded points, newest first (unreadable ones skipped).
    pub async fn score_history(&self, mineral: &str, method: &str, importer: &str) -> StoreResult<Vec<ScorePoint>> {
        let mut conn = self.conn().await?;
        let raw: Vec<Vec<u8>> = conn
            .lrange(keys::score_history(mineral, method, importer), 0, HISTORY_LIMIT - 1)
            .await?;
        Ok(raw
            .iter()
            .filter_map(|b| StoredScorePoint::decode(b.as_slice()).ok())
            .map(StoredScorePoint::into_point)
            .collect())
    }
}
