//! Subscriptions, rule states and alert streams for the alerting service.

use std::sync::LazyLock;

use prost::Message;
use redis::AsyncCommands;
use supplyrisk_api::alerting::v1 as pb;

use crate::deliveries::{NewDelivery, delivery_member};
use crate::stored_alerting::{StoredAlert, StoredDelivery, StoredSubscription, StoredSubscriptionError};
use crate::streams::StreamEntry;
use crate::{Store, StoreResult, keys};

/// Alerts kept per subscription: recording one more drops the oldest with
/// its acknowledgement and delivery state.
pub const ALERTS_PER_SUBSCRIPTION: u64 = 100_000;

/// `text` with the glob characters of `SCAN … MATCH` escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn parse_range(v: redis::Value) -> Vec<StreamEntry> {
    let mut out = Vec::new();
    if let redis::Value::Array(items) = v {
        for item in items {
            if let redis::Value::Array(parts) = item {
                let id = match parts.first() {
                    Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).to_string(),
                    _ => continue,
                };
                let mut payload = Vec::new();
                if let Some(redis::Value::Array(fields)) = parts.get(1) {
                    let mut it = fields.iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        if let (redis::Value::BulkString(k), redis::Value::BulkString(v)) = (k, v)
                            && k == b"payload"
                        {
                            payload = v.clone();
                        }
                    }
                }
                out.push(StreamEntry { id, payload });
            }
        }
    }
    out
}

/// An alert and its entry in the subscription's alert stream (the
/// position alert streams resume after).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedAlert {
    /// Stream entry id.
    pub entry: String,
    /// The alert, not yet joined with acknowledgement and delivery state.
    pub alert: pb::Alert,
}

/// One read of a subscription's alert stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertRange {
    /// The alerts read, in the order asked for.
    pub alerts: Vec<RecordedAlert>,
    /// Entries read, including any that no longer decode (skipped, logged):
    /// fewer than asked means the stream holds no more.
    pub read: usize,
    /// The last entry read, where the next read continues.
    pub last_entry: Option<String>,
}

impl AlertRange {
    fn of(subscription: &str, entries: Vec<StreamEntry>) -> AlertRange {
        let read = entries.len();
        let last_entry = entries.last().map(|e| e.id.clone());
        let alerts = entries
            .into_iter()
            .filter_map(|e| match StoredAlert::decode(e.payload.as_slice()) {
                Ok(alert) => Some(RecordedAlert {
                    entry: e.id,
                    alert: alert.into(),
                }),
                Err(err) => {
                    tracing::error!(subscription, entry = e.id, error = %err, "stored alert does not decode; skipped");
                    None
                }
            })
            .collect();
        AlertRange {
            alerts,
            read,
            last_entry,
        }
    }
}

/// A page of subscriptions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriptionPage {
    /// Subscriptions in id order (any that no longer decode skipped, logged).
    pub subscriptions: Vec<pb::Subscription>,
    /// Id to continue after, when more may follow.
    pub next_after: Option<String>,
}

fn decode_subscription(bytes: &[u8]) -> StoreResult<pb::Subscription> {
    Ok(StoredSubscription::decode(bytes)?.into())
}

/// Subscription `id`, or `None` (logged) when it no longer decodes: one
/// damaged record must not stop every other subscription's alerts.
fn readable_subscription(id: &str, bytes: &[u8]) -> Option<pb::Subscription> {
    decode_subscription(bytes)
        .inspect_err(|e| tracing::error!(subscription = id, error = %e, "stored subscription does not decode; skipped"))
        .ok()
}

/// Records a subscription's error only while the subscription exists, so a
/// deletion racing an evaluation leaves nothing behind.
static RECORD_ERROR: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  return 1
end
return 0
",
    )
});

/// Sets rule states only while each still holds what its writer read.
static SET_RULE_STATES: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
for i = 1, #ARGV, 3 do
  if (redis.call('HGET', KEYS[1], ARGV[i]) or '') ~= ARGV[i + 1] then
    return 0
  end
end
for i = 1, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
end
return 1
",
    )
});

/// A rule state to set, on condition that it still holds what was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleStateChange {
    /// The state's field (see `rules::state_field` in alerting).
    pub field: String,
    /// What the writer read; `None` when the rule had no state yet.
    pub expected: Option<String>,
    /// The new state.
    pub value: String,
}

impl RuleStateChange {
    /// Adds the (field, expected, value) triple the scripts read.
    fn push_args(&self, inv: &mut redis::ScriptInvocation<'_>) {
        inv.arg(&self.field)
            .arg(self.expected.as_deref().unwrap_or_default())
            .arg(&self.value);
    }
}

/// Adds the stored last error (if any) of each subscription to it.
fn with_errors(subscriptions: &mut [pb::Subscription], errors: Vec<Option<Vec<u8>>>) {
    for (sub, raw) in subscriptions.iter_mut().zip(errors) {
        let Some(error) = raw.and_then(|b| StoredSubscriptionError::decode(b.as_slice()).ok()) else {
            continue;
        };
        sub.last_error = error.message;
        sub.last_error_time = error.time;
    }
}

impl Store {
    /// Stores a subscription (new or replaced) under its id. Its last error
    /// is cleared: it described the subscription as it was.
    pub async fn put_subscription(&self, subscription: &pb::Subscription) -> StoreResult<()> {
        let id = subscription.id.as_str();
        let bytes = StoredSubscription::from(subscription).encode_to_vec();
        let mut conn = self.conn().await?;
        let _: () = redis::pipe()
            .atomic()
            .hset(keys::subscriptions(), id, bytes)
            .ignore()
            .zadd(keys::subscription_index(), id, 0)
            .ignore()
            .sadd(keys::owned_subscriptions(&subscription.owner), id)
            .ignore()
            .hdel(keys::subscription_errors(), id)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// How many subscriptions `owner` has created and not deleted.
    pub async fn owned_subscription_count(&self, owner: &str) -> StoreResult<u64> {
        let mut conn = self.conn().await?;
        Ok(conn.scard(keys::owned_subscriptions(owner)).await?)
    }

    /// Records why subscription `id` could not be evaluated (visible as its
    /// `last_error` until it is saved again); nothing when it no longer exists.
    pub async fn record_subscription_error(&self, id: &str, message: &str) -> StoreResult<()> {
        let stored = StoredSubscriptionError {
            message: message.to_string(),
            time: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        };
        let mut conn = self.conn().await?;
        let _: i64 = RECORD_ERROR
            .key(keys::subscriptions())
            .key(keys::subscription_errors())
            .arg(id)
            .arg(stored.encode_to_vec())
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    /// The stored last errors of `ids`, in order.
    async fn subscription_errors(&self, ids: &[&str]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        Ok(redis::cmd("HMGET")
            .arg(keys::subscription_errors())
            .arg(ids)
            .query_async(&mut conn)
            .await?)
    }

    /// A subscription by id, with its last error.
    pub async fn subscription(&self, id: &str) -> StoreResult<Option<pb::Subscription>> {
        let mut conn = self.conn().await?;
        let raw: Option<Vec<u8>> = conn.hget(keys::subscriptions(), id).await?;
        let Some(mut sub) = raw.map(|b| decode_subscription(&b)).transpose()? else {
            return Ok(None);
        };
        let errors = self.subscription_errors(&[id]).await?;
        with_errors(std::slice::from_mut(&mut sub), errors);
        Ok(Some(sub))
    }

    /// Up to `limit` subscriptions with ids after `after`, in id order.
    pub async fn list_subscriptions(&self, after: Option<&str>, limit: usize) -> StoreResult<SubscriptionPage> {
        let page = self
            .lex_page(&keys::subscription_index(), &keys::subscriptions(), after, limit)
            .await?;
        let next_after = (page.len() == limit)
            .then(|| page.last().map(|(id, _)| id.clone()))
            .flatten();
        let mut subscriptions: Vec<pb::Subscription> =
            page.iter().filter_map(|(id, b)| readable_subscription(id, b)).collect();
        let ids: Vec<&str> = subscriptions.iter().map(|s| s.id.as_str()).collect();
        let errors = self.subscription_errors(&ids).await?;
        with_errors(&mut subscriptions, errors);
        Ok(SubscriptionPage {
            subscriptions,
            next_after,
        })
    }

    /// Every subscription (the matchers read them all for each batch).
    pub async fn all_subscriptions(&self) -> StoreResult<Vec<pb::Subscription>> {
        let mut conn = self.conn().await?;
        let raw: Vec<(String, Vec<u8>)> = conn.hgetall(keys::subscriptions()).await?;
        Ok(raw.iter().filter_map(|(id, b)| readable_subscription(id, b)).collect())
    }

    /// Deletes a subscription with everything kept for it: its alerts, their
    /// index, acknowledgements and deliveries (queued ones included), its
    /// rule states, webhook secret and last error. False when it did not exist.
    pub async fn delete_subscription(&self, id: &str) -> StoreResult<bool> {
        let owner = self.subscription(id).await?.map(|s| s.owner);
        let mut conn = self.conn().await?;
        // Rule states and queued deliveries live in shared keys, under
        // fields that start with the subscription id.
        let prefix = format!("{id}|");
        let pattern = format!("{}*", glob_escape(&prefix));
        let mut states: Vec<String> = Vec::new();
        let mut fields: redis::AsyncIter<'_, (String, String)> =
            conn.hscan_match(keys::rule_states(), &pattern).await?;
        while let Some(item) = fields.next_item().await {
            states.push(item?.0);
        }
        drop(fields);
        let mut queued: Vec<String> = Vec::new();
        let mut members: redis::AsyncIter<'_, (String, f64)> =
            conn.zscan_match(keys::deliveries_due(), &pattern).await?;
        while let Some(item) = members.next_item().await {
            queued.push(item?.0);
        }
        drop(members);
        let mut pipe = redis::pipe();
        pipe.atomic();
        if !states.is_empty() {
            pipe.hdel(keys::rule_states(), &states).ignore();
        }
        if !queued.is_empty() {
            pipe.zrem(keys::deliveries_due(), &queued).ignore();
        }
        if let Some(owner) = owner {
            pipe.srem(keys::owned_subscriptions(&owner), id).ignore();
        }
        let (removed,): (i64,) = pipe
            .hdel(keys::subscriptions(), id)
            .zrem(keys::subscription_index(), id)
            .ignore()
            .del(keys::alerts(id))
            .ignore()
            .del(keys::alert_index(id))
            .ignore()
            .del(keys::acknowledged(id))
            .ignore()
            .del(keys::deliveries(id))
            .ignore()
            .hdel(keys::webhook_secrets(), id)
            .ignore()
            .hdel(keys::subscription_errors(), id)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(removed > 0)
    }

    /// Rule states for `fields` (`None` = never set).
    pub async fn rule_states(&self, fields: &[String]) -> StoreResult<Vec<Option<String>>> {
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        Ok(redis::cmd("HMGET")
            .arg(keys::rule_states())
            .arg(fields)
            .query_async(&mut conn)
            .await?)
    }

    /// Sets rule states without an alert (e.g. re-arming), all or none:
    /// false, with nothing written, when any state changed since it was read.
    pub async fn set_rule_states(&self, states: &[RuleStateChange]) -> StoreResult<bool> {
        if states.is_empty() {
            return Ok(true);
        }
        let mut conn = self.conn().await?;
        let mut inv = SET_RULE_STATES.prepare_invoke();
        inv.key(keys::rule_states());
        for change in states {
            change.push_args(&mut inv);
        }
        let set: i64 = inv.invoke_async(&mut conn).await?;
        Ok(set == 1)
    }

    /// Records an alert once (a repeat with the same id changes nothing),
    /// atomically with `states` and, when `delivery` is given, with its
    /// webhook delivery queued. Returns the alert's stream entry id, or
    /// `None`, with nothing written, when a state changed since it was read.
    pub async fn record_alert(
        &self,
        alert: &pb::Alert,
        states: &[RuleStateChange],
        delivery: Option<NewDelivery<'_>>,
    ) -> StoreResult<Option<String>> {
        let subscription = alert.subscription_id.as_str();
        let alert_id = alert.id.as_str();
        let encoded = StoredAlert::from(alert).encode_to_vec();
        let mut conn = self.conn().await?;
        let mut inv = self.inner.record_alert.prepare_invoke();
        inv.key(keys::alert_index(subscription))
            .key(keys::alerts(subscription))
            .key(keys::rule_states())
            .key(keys::deliveries_due())
            .key(keys::deliveries(subscription))
            .key(keys::acknowledged(subscription));
        inv.arg(alert_id).arg(encoded).arg(self.alerts_kept());
        match delivery {
            Some(d) => inv
                .arg(delivery_member(subscription, alert_id))
                .arg(d.due_ms)
                .arg(StoredDelivery::from(d.state).encode_to_vec()),
            None => inv.arg("").arg(0).arg(""),
        };
        inv.arg(delivery_member(subscription, ""))
            .arg(keys::ALERTS_RECORDED_CHANNEL);
        for change in states {
            change.push_args(&mut inv);
        }
        Ok(inv.invoke_async(&mut conn).await?)
    }

    /// The ids of subscriptions as alerts are recorded for them, by any
    /// replica, from now on (Redis pub/sub: an announcement sent while this
    /// process was not listening is not replayed, so readers still look now
    /// and then on their own).
    pub async fn recorded_alerts(&self) -> StoreResult<impl tokio_stream::Stream<Item = String> + Send + 'static> {
        let mut pubsub = self.inner.client.get_async_pubsub().await?;
        pubsub.subscribe(keys::ALERTS_RECORDED_CHANNEL).await?;
        Ok(tokio_stream::StreamExt::filter_map(pubsub.into_on_message(), |msg| {
            msg.get_payload::<String>().ok()
        }))
    }

    /// Alerts a subscription keeps (at least one).
    fn alerts_kept(&self) -> u64 {
        self.options().alerts_per_subscription.max(1)
    }

    /// Stream entry id of an alert.
    pub async fn alert_entry(&self, subscription: &str, alert_id: &str) -> StoreResult<Option<String>> {
        let mut conn = self.conn().await?;
        Ok(conn.hget(keys::alert_index(subscription), alert_id).await?)
    }

    /// Up to `count` alerts after stream entry `after` (exclusive; `None` = from the start).
    pub async fn alerts_after(&self, subscription: &str, after: Option<&str>, count: usize) -> StoreResult<AlertRange> {
        let start = after.map(|a| format!("({a}")).unwrap_or_else(|| "-".into());
        let entries = self
            .alert_range("XRANGE", subscription, &start, "+", Some(count))
            .await?;
        Ok(AlertRange::of(subscription, entries))
    }

    /// Up to `count` alerts before stream entry `before` (exclusive), newest first.
    pub async fn alerts_before(
        &self,
        subscription: &str,
        before: Option<&str>,
        count: usize,
    ) -> StoreResult<AlertRange> {
        let end = before.map(|b| format!("({b}")).unwrap_or_else(|| "+".into());
        let entries = self
            .alert_range("XREVRANGE", subscription, &end, "-", Some(count))
            .await?;
        Ok(AlertRange::of(subscription, entries))
    }

    /// The alert stored at stream entry `entry` (empty when trimmed away).
    pub(crate) async fn alert_at(&self, subscription: &str, entry: &str) -> StoreResult<Vec<StreamEntry>> {
        self.alert_range("XRANGE", subscription, entry, entry, None).await
    }

    /// `command` (`XRANGE` or `XREVRANGE`) over a subscription's alerts.
    async fn alert_range(
        &self,
        command: &str,
        subscription: &str,
        from: &str,
        to: &str,
        count: Option<usize>,
    ) -> StoreResult<Vec<StreamEntry>> {
        let mut conn = self.conn().await?;
        let mut cmd = redis::cmd(command);
        cmd.arg(keys::alerts(subscription)).arg(from).arg(to);
        if let Some(count) = count {
            cmd.arg("COUNT").arg(count);
        }
        let v: redis::Value = cmd.query_async(&mut conn).await?;
        Ok(parse_range(v))
    }

    /// Marks an alert acknowledged.
    pub async fn acknowledge_alert(&self, subscription: &str, alert_id: &str) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let _: i64 = conn.sadd(keys::acknowledged(subscription), alert_id).await?;
        Ok(())
    }

    /// Which of `alert_ids` are acknowledged.
    pub async fn acknowledged(&self, subscription: &str, alert_ids: &[String]) -> StoreResult<Vec<bool>> {
        if alert_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let v: Vec<i64> = redis::cmd("SMISMEMBER")
            .arg(keys::acknowledged(subscription))
            .arg(alert_ids)
            .query_async(&mut conn)
            .await?;
        Ok(v.into_iter().map(|x| x == 1).collect())
    }
}
