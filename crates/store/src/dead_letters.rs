//! Dead letters: stream entries a consumer group gave up on, one stream per
//! (stream, group) (`keys::dead_letters`), kept until an operator redrives
//! them into their source stream.

use std::collections::HashMap;
use std::sync::LazyLock;

use redis::Value;

use crate::streams::StreamEntry;
use crate::{Store, StoreResult, keys};

/// Moves one entry: appends it to the dead letters and acknowledges it in
/// the group, together, so an entry is never both pending and dead.
static DEAD_LETTER: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local id = redis.call('XADD', KEYS[2], '*', 'payload', ARGV[3], 'source_id', ARGV[2],
  'reason', ARGV[4], 'attempts', ARGV[5], 'consumer', ARGV[6])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return id
",
    )
});

/// Appends a dead letter's payload to its source stream again and removes
/// it from the dead letters, together; `false` when there is no such letter.
static REDRIVE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local found = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #found == 0 then return false end
local fields = found[1][2]
local payload = ''
for i = 1, #fields, 2 do
  if fields[i] == 'payload' then payload = fields[i + 1] end
end
local id = redis.call('XADD', KEYS[1], '*', 'payload', payload)
redis.call('XDEL', KEYS[2], ARGV[1])
return id
",
    )
});

/// What the consumer loop records about an entry it gives up on.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetterInput<'a> {
    /// The entry.
    pub entry: &'a StreamEntry,
    /// The last processing error.
    pub reason: &'a str,
    /// Deliveries so far.
    pub attempts: u64,
    /// The consumer that gave up.
    pub consumer: &'a str,
}

/// A dead letter as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id in the dead-letter stream (`<ms>-<seq>`: when it was dead-lettered).
    pub id: String,
    /// Its id in the source stream.
    pub source_id: String,
    /// The source entry's payload.
    pub payload: Vec<u8>,
    /// The last processing error.
    pub reason: String,
    /// Deliveries before it was given up.
    pub attempts: u64,
    /// The consumer that gave up.
    pub consumer: String,
}

/// A redriven dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redriven {
    /// Its former id in the dead-letter stream.
    pub dead_letter_id: String,
    /// Its new id in the source stream.
    pub source_id: String,
}

fn text(fields: &HashMap<String, Value>, name: &str) -> String {
    match fields.get(name) {
        Some(Value::BulkString(b)) => String::from_utf8_lossy(b).to_string(),
        _ => String::new(),
    }
}

impl Store {
    /// How many times `id` has been delivered to `group`; `None` when it is
    /// not pending there.
    pub async fn delivery_count(&self, stream: &str, group: &str, id: &str) -> StoreResult<Option<u64>> {
        let mut conn = self.conn().await?;
        let reply: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(stream)
            .arg(group)
            .arg(id)
            .arg(id)
            .arg(1)
            .query_async(&mut conn)
            .await?;
        Ok(reply.into_iter().next().map(|(_, _, _, deliveries)| deliveries))
    }

    /// Moves `letter`'s entry to the dead letters of `group` on `stream` and
    /// acknowledges it there; the dead letter's id.
    pub async fn dead_letter(&self, stream: &str, group: &str, letter: DeadLetterInput<'_>) -> StoreResult<String> {
        let mut conn = self.conn().await?;
        Ok(DEAD_LETTER
            .key(stream)
            .key(keys::dead_letters(stream, group))
            .arg(group)
            .arg(&letter.entry.id)
            .arg(letter.entry.payload.as_slice())
            .arg(letter.reason)
            .arg(letter.attempts)
            .arg(letter.consumer)
            .invoke_async(&mut conn)
            .await?)
    }

    /// Up to `limit` dead letters of `group` on `stream` after `after`
    /// (exclusive; `None` = from the oldest), oldest first.
    pub async fn dead_letters(
        &self,
        stream: &str,
        group: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<DeadLetter>> {
        let mut conn = self.conn().await?;
        let start = after.map(|a| format!("({a}")).unwrap_or_else(|| "-".into());
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(keys::dead_letters(stream, group))
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut conn)
            .await?;
        Ok(reply
            .ids
            .into_iter()
            .map(|e| DeadLetter {
                payload: match e.map.get("payload") {
                    Some(Value::BulkString(b)) => b.clone(),
                    _ => Vec::new(),
                },
                source_id: text(&e.map, "source_id"),
                reason: text(&e.map, "reason"),
                attempts: text(&e.map, "attempts").parse().unwrap_or_default(),
                consumer: text(&e.map, "consumer"),
                id: e.id,
            })
            .collect())
    }

    /// Redrives dead letter `id` of `group` on `stream`: appended to
    /// `stream` again (every group of the stream sees it anew) and removed
    /// from the dead letters. `None` when there is no such dead letter.
    pub async fn redrive_dead_letter(&self, stream: &str, group: &str, id: &str) -> StoreResult<Option<Redriven>> {
        let mut conn = self.conn().await?;
        let new_id: Option<String> = REDRIVE
            .key(stream)
            .key(keys::dead_letters(stream, group))
            .arg(id)
            .invoke_async(&mut conn)
            .await?;
        Ok(new_id.map(|source_id| Redriven {
            dead_letter_id: id.to_string(),
            source_id,
        }))
    }
}
