//! Trimming a stream by its slowest consumer group.
//!
//! Trimming to a fixed length on every append drops the oldest entries
//! whether or not every group has read them, so a consumer down for long
//! enough would come back to find unread events gone. Here a stream is
//! trimmed only below what every group is done with: the oldest entry a
//! group still holds pending, or the last it was delivered. The stream's
//! fixed length (`StoreOptions::stream_maxlen`, applied on append) is left
//! as the ceiling of a long outage only.

use redis::AsyncCommands;
use redis::streams::{StreamInfoGroupsReply, StreamPendingReply};

use crate::{Store, StoreResult};

/// What one trim found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// The oldest id some group still needs; `None` when the stream has no
    /// group yet (nothing is trimmed then).
    pub kept_from: Option<String>,
    /// Entries removed.
    pub removed: u64,
}

/// A stream id as (milliseconds, sequence), for ordering; ids come from Redis.
fn id_order(id: &str) -> (u64, u64) {
    crate::entry_id(id).unwrap_or_default()
}

impl Store {
    /// Removes the entries of `stream` that every consumer group has read
    /// and acknowledged.
    pub async fn trim_read_entries(&self, stream: &str) -> StoreResult<Trimmed> {
        let mut conn = self.conn().await?;
        let exists: bool = conn.exists(stream).await?;
        if !exists {
            return Ok(Trimmed::default());
        }
        let groups: StreamInfoGroupsReply = conn.xinfo_groups(stream).await?;
        let mut oldest: Option<String> = None;
        for group in &groups.groups {
            let mut needed = group.last_delivered_id.clone();
            if group.pending > 0 {
                let pending: StreamPendingReply = conn.xpending(stream, &group.name).await?;
                if let StreamPendingReply::Data(data) = pending
                    && id_order(&data.start_id) < id_order(&needed)
                {
                    needed = data.start_id;
                }
            }
            if oldest.as_ref().is_none_or(|o| id_order(&needed) < id_order(o)) {
                oldest = Some(needed);
            }
        }
        let Some(kept_from) = oldest else {
            return Ok(Trimmed::default());
        };
        let removed: u64 = redis::cmd("XTRIM")
            .arg(stream)
            .arg("MINID")
            .arg(&kept_from)
            .query_async(&mut conn)
            .await?;
        Ok(Trimmed {
            kept_from: Some(kept_from),
            removed,
        })
    }
}
