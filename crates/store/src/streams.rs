//! Consumer-group reads of the event streams.
//!
//! Delivery is at-least-once: a consumer acknowledges an entry only after
//! its effects are stored, and entries a crashed consumer left pending are
//! claimed by the next one (`XAUTOCLAIM`). Consumers must be idempotent.

use std::sync::LazyLock;

use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamInfoConsumersReply, StreamReadOptions, StreamReadReply,
};
use redis::{AsyncCommands, Value};

use crate::{Store, StoreResult};

/// One stream entry: its id and protobuf payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// Entry id (`ms-seq`).
    pub id: String,
    /// The `payload` field.
    pub payload: Vec<u8>,
}

/// A stream entry id, `<ms>-<seq>`, as its two numbers; `None` for
/// anything else. Ids that come from callers (page tokens, resume points)
/// are checked with this before they reach Redis, so a forged one is an
/// invalid argument rather than a Redis error.
pub fn entry_id(text: &str) -> Option<(u64, u64)> {
    let (millis, sequence) = text.split_once('-')?;
    let number = |part: &str| {
        (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u64>().ok())
            .flatten()
    };
    Some((number(millis)?, number(sequence)?))
}

fn payload_of(map: &std::collections::HashMap<String, Value>) -> Vec<u8> {
    match map.get("payload") {
        Some(Value::BulkString(b)) => b.clone(),
        _ => Vec::new(),
    }
}

fn entries(reply: StreamReadReply) -> Vec<StreamEntry> {
    reply
        .keys
        .into_iter()
        .flat_map(|k| k.ids)
        .map(|e| StreamEntry {
            payload: payload_of(&e.map),
            id: e.id,
        })
        .collect()
}

/// Deletes a consumer only when nothing is pending for it, in one step, so
/// no entry it was handed is lost from the group's pending list.
static LEAVE_GROUP: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #pending > 0 then
  return 0
end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
",
    )
});

impl Store {
    /// Creates consumer group `group` on `stream` (and the stream) if missing;
    /// a new group starts at the beginning so nothing already appended is missed.
    pub async fn ensure_group(&self, stream: &str, group: &str) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let r: Result<(), redis::RedisError> = conn.xgroup_create_mkstream(stream, group, "0").await;
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// New entries for `consumer`, waiting up to `block_ms` for the first.
    /// Use a store from [`Store::dedicated`]: a blocked read holds its connection.
    pub async fn read_group(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block_ms: usize,
    ) -> StoreResult<Vec<StreamEntry>> {
        let mut conn = self.conn().await?;
        let opts = StreamReadOptions::default()
            .group(group, consumer)
            .count(count)
            .block(block_ms);
        let reply: Option<StreamReadReply> = conn.xread_options(&[stream], &[">"], &opts).await?;
        Ok(reply.map(entries).unwrap_or_default())
    }

    /// Claims entries pending longer than `min_idle_ms` (left by a consumer
    /// that died) for `consumer`.
    pub async fn claim_stale(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle_ms: usize,
        count: usize,
    ) -> StoreResult<Vec<StreamEntry>> {
        let mut conn = self.conn().await?;
        let opts = StreamAutoClaimOptions::default().count(count);
        let reply: StreamAutoClaimReply = conn
            .xautoclaim_options(stream, group, consumer, min_idle_ms, "0-0", opts)
            .await?;
        Ok(reply
            .claimed
            .into_iter()
            .map(|e| StreamEntry {
                payload: payload_of(&e.map),
                id: e.id,
            })
            .collect())
    }

    /// Removes `consumer` from `group` if it holds no pending entry (a
    /// consumer with pending entries stays until another claims them).
    /// True when it was removed.
    pub async fn leave_group(&self, stream: &str, group: &str, consumer: &str) -> StoreResult<bool> {
        let mut conn = self.conn().await?;
        let removed: i64 = LEAVE_GROUP
            .key(stream)
            .arg(group)
            .arg(consumer)
            .invoke_async(&mut conn)
            .await?;
        Ok(removed == 1)
    }

    /// Removes every consumer of `group` idle for longer than `idle_ms` with
    /// nothing pending: those of processes that stopped without leaving
    /// (killed, or their pending entries since claimed by others). Returns
    /// the names removed.
    pub async fn forget_idle_consumers(&self, stream: &str, group: &str, idle_ms: u64) -> StoreResult<Vec<String>> {
        let mut conn = self.conn().await?;
        let reply: StreamInfoConsumersReply = conn.xinfo_consumers(stream, group).await?;
        let mut removed = Vec::new();
        for c in reply.consumers {
            if c.pending == 0 && c.idle as u64 > idle_ms && self.leave_group(stream, group, &c.name).await? {
                removed.push(c.name);
            }
        }
        Ok(removed)
    }

    /// Entries after `after` (plain `XREAD`, no group), waiting up to
    /// `block_ms`; every reader sees every entry. Use a dedicated store.
    pub async fn read_after(
        &self,
        stream: &str,
        after: &str,
        count: usize,
        block_ms: usize,
    ) -> StoreResult<Vec<StreamEntry>> {
        let mut conn = self.conn().await?;
        let opts = StreamReadOptions::default().count(count).block(block_ms);
        let reply: Option<StreamReadReply> = conn.xread_options(&[stream], &[after], &opts).await?;
        Ok(reply.map(entries).unwrap_or_default())
    }

    /// Id of the newest entry of `stream` (`0-0` when empty).
    pub async fn last_id(&self, stream: &str) -> StoreResult<String> {
        let mut conn = self.conn().await?;
        let v: Value = redis::cmd("XREVRANGE")
            .arg(stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await?;
        if let Value::Array(items) = v
            && let Some(Value::Array(entry)) = items.first()
            && let Some(Value::BulkString(id)) = entry.first()
        {
            return Ok(String::from_utf8_lossy(id).to_string());
        }
        Ok("0-0".to_string())
    }

    /// Acknowledges processed entries.
    pub async fn ack(&self, stream: &str, group: &str, ids: &[String]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn().await?;
        let _: i64 = conn.xack(stream, group, ids).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::entry_id;

    #[test]
    fn entry_ids_are_two_plain_numbers() {
        assert_eq!(entry_id("1700000000000-5"), Some((1_700_000_000_000, 5)));
        for forged in [
            "",
            "-",
            "17-",
            "-0",
            "garbage",
            "1-2-3",
            "+1-0",
            "1-0 ",
            "99999999999999999999-0",
        ] {
            assert_eq!(entry_id(forged), None, "{forged:?}");
        }
        assert!(entry_id("9-10") > entry_id("9-9"), "ordered as numbers, not text");
    }
}
