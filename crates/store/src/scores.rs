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
    /// The day its policy events were taken as of (`None` for scores
    /// recorded before the day was kept).
    pub as_of: Option<Date>,
    /// Its bytes as stored: a write succeeds only while they are unchanged.
    encoded: Vec<u8>,
}

impl LatestScore {
    /// True when this score was computed from strictly newer inputs than
    /// `data_version` on `as_of`: every part of the data version at least as
    /// new and one newer, or the same data on a later day. A version either
    /// side cannot read is never called older, so a change of format
    /// cannot freeze a series.
    pub fn is_newer_than(&self, data_version: &str, as_of: Option<Date>) -> bool {
        let (Some(mine), Some(theirs)) = (version_parts(&self.data_version), version_parts(data_version)) else {
            return false;
        };
        let parts: std::collections::BTreeSet<&str> = mine.keys().chain(theirs.keys()).copied().collect();
        let (mut newer, mut older) = (false, false);
        for part in parts {
            let (a, b) = (
                mine.get(part).copied().unwrap_or_default(),
                theirs.get(part).copied().unwrap_or_default(),
            );
            newer |= a > b;
            older |= a < b;
        }
        match (newer, older) {
            (true, false) => true,
            (false, false) => self.as_of > as_of,
            _ => false,
        }
    }
}

/// The parts of a data version (`REE@<entry id>;gov@<entry id>;trade-years@<n>`,
/// see `reads::read_versions`), each as a comparable (ms, seq); `None` when
/// any part is unreadable.
fn version_parts(version: &str) -> Option<std::collections::BTreeMap<&str, (u64, u64)>> {
    version
        .split(';')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('@')?;
            let at = crate::entry_id(value).or_else(|| value.parse().ok().map(|n| (n, 0)))?;
            Some((name, at))
        })
        .collect()
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
    /// The latest score the caller compared against (`None`: it read none).
    pub replaces: Option<&'a LatestScore>,
}

/// What became of a [`ScoreRecord`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoreWrite {
    /// Recorded; with the `ScoreChanged` entry id when an event was given.
    Recorded(Option<String>),
    /// Nothing written: the latest score changed since the caller read it
    /// (another replica recorded one). Read it again and decide anew.
    Conflict,
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
        Ok(raw.and_then(|encoded| {
            let s = StoredLatestScore::decode(encoded.as_slice()).ok()?;
            Some(LatestScore {
                score: s.score,
                data_version: s.data_version,
                as_of: s.as_of.and_then(|d| Date::new(d.year, d.month, d.day).ok()),
                encoded,
            })
        }))
    }

    /// Records a recomputed score atomically (latest, ranking, history and,
    /// when it moved, the `ScoreChanged` event), provided the latest score
    /// is still [`ScoreRecord::replaces`].
    pub async fn record_score(&self, r: &ScoreRecord<'_>, stream_maxlen: u64) -> StoreResult<ScoreWrite> {
        let latest = StoredLatestScore {
            score: r.point.score,
            data_version: r.point.data_version.clone(),
            as_of: r.point.as_of.map(Into::into),
        }
        .encode_to_vec();
        let point = StoredScorePoint::from(r.point).encode_to_vec();
        let mut conn = self.conn().await?;
        let mut inv = self.inner.record_score.prepare_invoke();
        inv.key(keys::latest_scores(r.mineral, r.method))
            .key(keys::ranking(r.method, r.importer))
            .key(keys::score_history(r.mineral, r.method, r.importer))
            .key(keys::SCORE_STREAM);
        inv.arg(r.importer);
        match r.replaces {
            Some(old) => inv.arg("1").arg(old.encoded.as_slice()),
            None => inv.arg("0").arg(""),
        };
        inv.arg(latest)
            .arg(r.mineral)
            .arg(r.point.score)
            .arg(point)
            .arg(HISTORY_LIMIT)
            .arg(stream_maxlen)
            .arg(r.changed_event.unwrap_or_default());
        let reply: Option<(i64, String)> = inv.invoke_async(&mut conn).await?;
        Ok(match reply {
            None => ScoreWrite::Conflict,
            Some((_, id)) => ScoreWrite::Recorded((!id.is_empty()).then_some(id)),
        })
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
