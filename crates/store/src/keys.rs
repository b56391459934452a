//! Every Redis key supplyrisk uses, and nothing else builds one.
//!
//! Keys carry a version prefix (`sr:v1:`) so a future layout can live beside
//! this one during a migration, and a hash tag per mineral (`{REE}`) so that
//! everything one write touches for a mineral lands in one Redis Cluster
//! slot. Governance (`{gov}`) and the policy-event index (`{policy}`) have
//! their own tags because they are not per mineral.

/// Prefix of every key.
pub const PREFIX: &str = "sr:v1";
/// Stream of `DataChanged` events.
pub const DATA_STREAM: &str = "sr:v1:events:data";
/// Stream of `ScoreChanged` events.
pub const SCORE_STREAM: &str = "sr:v1:events:scores";

/// Dead letters of consumer group `group` on `stream`: a stream of the
/// entries the group gave up on, each with its source id, payload, reason
/// and delivery count, kept until redriven.
pub fn dead_letters(stream: &str, group: &str) -> String {
    format!("{stream}:dead-letters:{group}")
}

/// Data version of a mineral: the id of the last event that changed it.
pub fn mineral_version(mineral: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:version")
}

/// Trade flows of `mineral` reported by `reporter` in `year`:
/// hash `partner|hs|month|flow|source` → value.
pub fn trade(mineral: &str, year: u16, reporter: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:trade:{year}:{reporter}")
}

/// Set of reporters with trade data for `mineral` in `year`.
pub fn trade_reporters(mineral: &str, year: u16) -> String {
    format!("{PREFIX}:{{{mineral}}}:trade-reporters:{year}")
}

/// Counts of stored records of `mineral`: hash `trade:<year>` → flows.
pub fn counts(mineral: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:counts")
}

/// Set of years with trade data for `mineral`.
pub fn trade_years(mineral: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:trade-years")
}

/// Set of years with trade data for any mineral: a trade dataset covering
/// the year was loaded.
pub fn trade_years_any() -> String {
    format!("{PREFIX}:{{trade}}:trade-years")
}

/// Production of `mineral` in `year`: hash `stage|country|source` → value.
pub fn production(mineral: &str, year: u16) -> String {
    format!("{PREFIX}:{{{mineral}}}:production:{year}")
}

/// Set of years with production data for `mineral`.
pub fn production_years(mineral: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:production-years")
}

/// Stockpiles of `mineral`: hash country → stockpile.
pub fn stockpiles(mineral: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:stockpiles")
}

/// Policy events touching `mineral`: hash id → event.
pub fn mineral_policies(mineral: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:policies")
}

/// The last UTC day (`YYYY-MM-DD`) whose policy-event starts, ends and
/// suspensions scoring has recomputed for.
pub fn policy_clock() -> String {
    format!("{PREFIX}:{{policy}}:scoring-clock")
}

/// Cached snapshot of `mineral`, `year`, `importer` and `view` (the stage
/// and as-of day the request narrows to) at data `version`.
pub fn snapshot_cache(mineral: &str, year: u16, importer: &str, view: &str, version: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:snapshot:{year}:{importer}:{view}:{version}")
}

/// Governance estimates of `year`: hash `ISO3|DIM` → estimate.
pub fn governance(year: u16) -> String {
    format!("{PREFIX}:{{gov}}:wgi:{year}")
}

/// Set of years with governance data.
pub fn governance_years() -> String {
    format!("{PREFIX}:{{gov}}:years")
}

/// Governance data version.
pub fn governance_version() -> String {
    format!("{PREFIX}:{{gov}}:version")
}

/// Every policy event: hash id → event.
pub fn policy_events() -> String {
    format!("{PREFIX}:{{policy}}:events")
}

/// Policy event ids in lexical order (sorted set, score 0) for paging.
pub fn policy_index() -> String {
    format!("{PREFIX}:{{policy}}:index")
}

/// Statistics reported for `mineral` by national sources: hash
/// `country|category|statistic|year|source` → statistic.
pub fn reported(mineral: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:reported")
}

/// The stored answer of a finished upload (`kind` `upload`) or import
/// (`import`) of `principal` under `upload_id`. A principal name holds no
/// `:`, so the key is unambiguous even though an upload id may.
pub fn replay(kind: &str, principal: &str, upload_id: &str) -> String {
    format!("{PREFIX}:{kind}:{principal}:{upload_id}")
}

/// Latest score of `mineral` by `method`: hash importer → score.
pub fn latest_scores(mineral: &str, method: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:latest:{method}")
}

/// Score history of `mineral` for `importer` by `method`: list, newest first.
pub fn score_history(mineral: &str, method: &str, importer: &str) -> String {
    format!("{PREFIX}:{{{mineral}}}:history:{method}:{importer}")
}

/// Ranking of minerals for `importer` by `method`: sorted set mineral → score.
pub fn ranking(method: &str, importer: &str) -> String {
    format!("{PREFIX}:{{ranking}}:{method}:{importer}")
}

/// Subscriptions: hash id → subscription. Alerting keys share the
/// `{alerts}` tag, so recording an alert with its rule state is atomic.
pub fn subscriptions() -> String {
    format!("{PREFIX}:{{alerts}}:subscriptions")
}

/// Why each subscription last failed to be evaluated: hash id → error.
/// Apart from the subscription, so recording one never races an update.
pub fn subscription_errors() -> String {
    format!("{PREFIX}:{{alerts}}:subscription-errors")
}

/// Subscription ids in lexical order (sorted set, score 0) for paging.
pub fn subscription_index() -> String {
    format!("{PREFIX}:{{alerts}}:subscription-index")
}

/// Ids of the subscriptions `owner` created (a set), to count them.
pub fn owned_subscriptions(owner: &str) -> String {
    format!("{PREFIX}:{{alerts}}:owned:{owner}")
}

/// Pub/sub channel on which recording an alert publishes its subscription id.
pub const ALERTS_RECORDED_CHANNEL: &str = "sr:v1:alerts-recorded";

/// Rule states (armed or not): hash `subscription|rule|mineral|importer|method` → 0/1.
pub fn rule_states() -> String {
    format!("{PREFIX}:{{alerts}}:rule-states")
}

/// Alerts of a subscription: stream of encoded alerts, oldest first.
pub fn alerts(subscription: &str) -> String {
    format!("{PREFIX}:{{alerts}}:alerts:{subscription}")
}

/// Alert id → stream entry id of a subscription (deduplication and resume).
pub fn alert_index(subscription: &str) -> String {
    format!("{PREFIX}:{{alerts}}:alert-index:{subscription}")
}

/// Acknowledged alert ids of a subscription.
pub fn acknowledged(subscription: &str) -> String {
    format!("{PREFIX}:{{alerts}}:acknowledged:{subscription}")
}

/// Webhook signing secrets: hash subscription id → secret. Kept apart from
/// the subscription so that reading a subscription can never reveal one.
pub fn webhook_secrets() -> String {
    format!("{PREFIX}:{{alerts}}:webhook-secrets")
}

/// Webhook deliveries waiting for an attempt: sorted set
/// `subscription|alert` → due time (Unix ms). An attempt in flight is
/// pushed into the future by its lease, so a crashed process's attempts
/// come due again.
pub fn deliveries_due() -> String {
    format!("{PREFIX}:{{alerts}}:deliveries-due")
}

/// Webhook delivery state of each alert of a subscription: hash alert id → state.
pub fn deliveries(subscription: &str) -> String {
    format!("{PREFIX}:{{alerts}}:deliveries:{subscription}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_mineral_keys_share_a_hash_tag() {
        for key in [
            mineral_version("REE"),
            trade("REE", 2024, "JPN"),
            production("REE", 2024),
            stockpiles("REE"),
            mineral_policies("REE"),
            snapshot_cache("REE", 2024, "JPN", "all:year", "1-0"),
        ] {
            assert!(key.starts_with("sr:v1:{REE}:"), "{key}");
        }
    }
}
