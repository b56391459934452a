//! Scores: a versioned cache, the latest score per importer, history and
//! rankings, and the score-changed stream.

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
    /// A cached value (snapshot, score) by its versioned key.
    pub async fn cache_get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let mut conn = self.conn().await?;
        Ok(conn.get(key).await?)
    }

    /// Caches a value under its versioned key for the snapshot TTL.
    pub async fn cache_put(&self, key: &str, bytes: &[u8]) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let ttl = self.options().snapshot_ttl.as_secs().max(1);
        let _: () = conn.set_ex(key, bytes, ttl).await?;
        Ok(())
    }

    /// The latest recorded score of `mineral` for `importer`.
    pub async fn latest_score(&self, mineral: &str, method: &str, importer: &str) -> StoreResult<Option<Vec<u8>>> {
        let mut conn = self.conn().await?;
        Ok(conn.hget(keys::latest_scores(mineral, method), importer).await?)
    }

    /// Latest scores of several minerals for `importer`, in order.
    pub async fn latest_scores(
        &self,
        minerals: &[&str],
        method: &str,
        importer: &str,
    ) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        for m in minerals {
            pipe.hget(keys::latest_scores(m, method), importer);
        }
        Ok(pipe.query_async(&mut conn).await?)
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

    /// Minerals ranked for `importer` by `method`, highest first.
    pub async fn ranking(&self, method: &str, importer: &str) -> StoreResult<Vec<(String, f64)>> {
        let mut conn = self.conn().await?;
        Ok(conn
            .zrevrange_withscores(keys::ranking(method, importer), 0, -1)
            .await?)
    }

    /// History points, newest first (encoded `HistoryPoint`s).
    pub async fn score_history(&self, mineral: &str, method: &str, importer: &str) -> StoreResult<Vec<Vec<u8>>> {
        let mut conn = self.conn().await?;
        Ok(conn
            .lrange(keys::score_history(mineral, method, importer), 0, HISTORY_LIMIT - 1)
            .await?)
    }
}
