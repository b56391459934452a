//! Webhook delivery state, so that a restarted alerting process (or another
//! replica) picks up every unfinished delivery.
//!
//! A queued delivery is a member of one sorted set scored by when its next
//! attempt is due. Claiming moves the due time forward by a lease instead
//! of removing the member: if the claimant dies mid-attempt, the lease runs
//! out and the delivery comes due again. Each attempt's outcome is written
//! with the next due time (or the member's removal) in one transaction.
//! The state is stored in the store's own form (`stored_alerting`).

use std::sync::LazyLock;

use prost::Message;
use redis::AsyncCommands;
use supplyrisk_api::alerting::v1 as pb;

use crate::stored_alerting::{StoredAlert, StoredDelivery};
use crate::{Store, StoreResult, keys};

/// Claims due deliveries atomically, so two replicas never claim the same one.
static CLAIM: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[3])
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return due
",
    )
});

/// Saves an attempt's outcome only while the attempt's lease still holds:
/// a replica whose lease ran out (and whose delivery another replica has
/// claimed since) cannot overwrite the newer attempt's state.
static SAVE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
end
return 1
",
    )
});

/// A delivery to queue with a new alert.
#[derive(Debug, Clone, Copy)]
pub struct NewDelivery<'a> {
    /// When the first attempt is due, Unix ms.
    pub due_ms: u64,
    /// Initial state.
    pub state: &'a pb::WebhookDelivery,
}

/// A claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    /// Subscription id.
    pub subscription: String,
    /// Alert id.
    pub alert: String,
    /// When the claim's lease runs out (Unix ms): the fence its outcome is
    /// saved under (see [`Store::save_delivery`]).
    pub lease_until_ms: u64,
}

pub(crate) fn delivery_member(subscription: &str, alert: &str) -> String {
    format!("{subscription}|{alert}")
}

impl Store {
    /// Stores a subscription's webhook signing secret.
    pub async fn put_webhook_secret(&self, subscription: &str, secret: &str) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let _: i64 = conn.hset(keys::webhook_secrets(), subscription, secret).await?;
        Ok(())
    }

    /// A subscription's webhook signing secret.
    pub async fn webhook_secret(&self, subscription: &str) -> StoreResult<Option<String>> {
        let mut conn = self.conn().await?;
        Ok(conn.hget(keys::webhook_secrets(), subscription).await?)
    }

    /// Every stored webhook secret, by subscription (for re-sealing).
    pub async fn webhook_secrets(&self) -> StoreResult<Vec<(String, String)>> {
        let mut conn = self.conn().await?;
        Ok(conn.hgetall(keys::webhook_secrets()).await?)
    }

    /// Replaces the secret of `subscription` with `new` only if it is still
    /// `old`: a concurrent update's new secret is never overwritten.
    pub async fn replace_webhook_secret(&self, subscription: &str, old: &str, new: &str) -> StoreResult<bool> {
        let mut conn = self.conn().await?;
        let replaced: i64 = redis::Script::new(
            "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then \
               redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end return 0",
        )
        .key(keys::webhook_secrets())
        .arg(subscription)
        .arg(old)
        .arg(new)
        .invoke_async(&mut conn)
        .await?;
        Ok(replaced == 1)
    }

    /// Removes a subscription's webhook signing secret.
    pub async fn delete_webhook_secret(&self, subscription: &str) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let _: i64 = conn.hdel(keys::webhook_secrets(), subscription).await?;
        Ok(())
    }

    /// Claims up to `limit` deliveries due at `now_ms`, leasing each until `lease_until_ms`.
    pub async fn claim_deliveries(
        &self,
        now_ms: u64,
        lease_until_ms: u64,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        let mut conn = self.conn().await?;
        let members: Vec<String> = CLAIM
            .key(keys::deliveries_due())
            .arg(now_ms)
            .arg(lease_until_ms)
            .arg(limit)
            .invoke_async(&mut conn)
            .await?;
        Ok(members
            .into_iter()
            .filter_map(|m| {
                let (subscription, alert) = m.split_once('|')?;
                Some(DueDelivery {
                    subscription: subscription.to_string(),
                    alert: alert.to_string(),
                    lease_until_ms,
                })
            })
            .collect())
    }

    /// When the earliest queued delivery is due (Unix ms), if any.
    pub async fn next_delivery_due(&self) -> StoreResult<Option<u64>> {
        let mut conn = self.conn().await?;
        let first: Vec<(String, f64)> = conn.zrange_withscores(keys::deliveries_due(), 0, 0).await?;
        Ok(first.first().map(|(_, due)| *due as u64))
    }

    /// Number of deliveries queued (including those in flight).
    pub async fn queued_deliveries(&self) -> StoreResult<u64> {
        let mut conn = self.conn().await?;
        Ok(conn.zcard(keys::deliveries_due()).await?)
    }

    /// Delivery states of `alerts` of a subscription (`None` = no webhook delivery).
    pub async fn delivery_states(
        &self,
        subscription: &str,
        alerts: &[String],
    ) -> StoreResult<Vec<Option<pb::WebhookDelivery>>> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let raw: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
            .arg(keys::deliveries(subscription))
            .arg(alerts)
            .query_async(&mut conn)
            .await?;
        Ok(raw
            .into_iter()
            .map(|b| {
                b.and_then(|b| StoredDelivery::decode(b.as_slice()).ok())
                    .map(Into::into)
            })
            .collect())
    }

    /// Saves an attempt's outcome: the new state and either the next due
    /// time or, when `next_due_ms` is `None`, the end of the delivery. False,
    /// with nothing written, when the claim `due` no longer holds its lease.
    pub async fn save_delivery(
        &self,
        due: &DueDelivery,
        state: &pb::WebhookDelivery,
        next_due_ms: Option<u64>,
    ) -> StoreResult<bool> {
        let state = StoredDelivery::from(state).encode_to_vec();
        let mut conn = self.conn().await?;
        let saved: i64 = SAVE
            .key(keys::deliveries_due())
            .key(keys::deliveries(&due.subscription))
            .arg(delivery_member(&due.subscription, &due.alert))
            .arg(due.lease_until_ms)
            .arg(&due.alert)
            .arg(state)
            .arg(next_due_ms.map(|d| d.to_string()).unwrap_or_default())
            .invoke_async(&mut conn)
            .await?;
        Ok(saved == 1)
    }

    /// Drops a queued delivery whose subscription or alert no longer exists.
    pub async fn drop_delivery(&self, subscription: &str, alert: &str) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let _: i64 = conn
            .zrem(keys::deliveries_due(), delivery_member(subscription, alert))
            .await?;
        Ok(())
    }

    /// Alert `alert` of a subscription, as recorded.
    pub async fn alert(&self, subscription: &str, alert: &str) -> StoreResult<Option<pb::Alert>> {
        let Some(entry) = self.alert_entry(subscription, alert).await? else {
            return Ok(None);
        };
        let found = self.alert_at(subscription, &entry).await?;
        Ok(found
            .into_iter()
            .find(|e| e.id == entry)
            .and_then(|e| StoredAlert::decode(e.payload.as_slice()).ok())
            .map(Into::into))
    }
}
