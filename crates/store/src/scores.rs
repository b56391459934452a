//! Scores: the latest score per importer, history, rankings and the
//! score-changed stream.

use redis::AsyncCommands;

use crate::{Store, StoreResult, keys};

/// How many history points are kept per mineral, importer and method.
pub const HISTORY_LIMIT: isize = 1000;

/// A recomputed score to record.
#[derive(Debug, Clone)]
pub struct ScoreRecord<'a> {
    /// Catalog mineral id.
    pub mineral: &'a str,
    /// Methodology id.
    pub method: &'a str,
    /// Importer id.
    pub importer: &'a str,
    /// Score value (for the ranking).
    pub value: f64,
    /// Encoded `RiskScore`.
    pub score: &'a [u8],
    /// Encoded `HistoryPoint`.
    pub history_point: &'a [u8],
    /// Encoded `ScoreChanged`, when the score moved.
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
    pub async fn latest_score(&self, mineral: &str, method: &str, importer: &str) -> StoreResult<Option<Vec<u8>>> {
        let mut conn = self.conn().await?;
        Ok(conn.hget(keys::latest_scores(mineral, method), importer).await?)
    }

    /// Records a recomputed score atomically: latest, ranking, history and,
    /// when it moved, the `ScoreChanged` event.
    pub async fn record_score(&self, r: &ScoreRecord<'_>, stream_maxlen: u64) -> StoreResult<Option<String>> {
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(keys::latest_scores(r.mineral, r.method), r.importer, r.score)
            .ignore()
            .zadd(keys::ranking(r.method, r.importer), r.mineral, r.value)
            .ignore()
            .lpush(keys::score_history(r.mineral, r.method, r.importer), r.history_point)
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

    /// History points, newest first (encoded `HistoryPoint`s).
    pub async fn score_history(&self, mineral: &str, method: &str, importer: &str) -> StoreResult<Vec<Vec<u8>>> {
        let mut conn = self.conn().await?;
        Ok(conn
            .lrange(keys::score_history(mineral, method, importer), 0, HISTORY_LIMIT - 1)
            .await?)
    }
}
