//! Chunked trade-flow writes, two in Redis at once.
//!
//! One 5,000-flow write spends about as long outside Redis' script (packing,
//! sending, parsing the command, the reply) as inside it, so a single write
//! in flight left Redis idle for a third of an upload. Two may now be in
//! flight. Redis may run them in either order, so a later chunk goes out
//! early only when it shares no flow key with a chunk still in flight; one
//! that does waits for those writes to finish, and the later value still
//! wins. When a write fails, the failure is reported only after the other
//! write in flight has finished, so nothing of a failed upload lands after
//! the client has heard of it.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};

use supplyrisk_domain::TradeFlow;
use supplyrisk_grpc::{ServiceError, ServiceResult};
use supplyrisk_store::Store;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// Writes in Redis at once.
pub const MAX_IN_FLIGHT: usize = 2;

/// A write of `records` records reports how many it changed; the rest were
/// already stored as sent. Returns (accepted, unchanged).
pub fn accepted_and_unchanged(records: usize, changed: u64) -> (u64, u64) {
    let changed = changed.min(records as u64);
    (changed, records as u64 - changed)
}

/// Fingerprints of a chunk's natural keys. Two chunks whose fingerprints
/// meet may share a key (or, rarely, only a fingerprint): either way they
/// are kept in order.
#[derive(Debug)]
pub struct ChunkKeys(HashSet<u64>);

impl ChunkKeys {
    /// The fingerprints of `flows`.
    pub fn of(flows: &[TradeFlow], hasher: &RandomState) -> Self {
        Self(
            flows
                .iter()
                .map(|f| {
                    let mut h = hasher.build_hasher();
                    f.hash_natural_key(&mut h);
                    std::hash::Hasher::finish(&h)
                })
                .collect(),
        )
    }

    /// Whether the two chunks may share a flow key.
    pub fn meets(&self, other: &ChunkKeys) -> bool {
        let (small, large) = if self.0.len() <= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        small.0.iter().any(|k| large.0.contains(k))
    }
}

/// How many of the writes in flight (`earlier`, oldest first) must finish
/// before a chunk with `keys` may go: every one up to the newest it meets,
/// and enough to stay within [`MAX_IN_FLIGHT`].
fn writes_to_finish(earlier: &[&ChunkKeys], keys: &ChunkKeys) -> usize {
    let ordered = earlier.iter().rposition(|k| k.meets(keys)).map_or(0, |i| i + 1);
    ordered.max((earlier.len() + 1).saturating_sub(MAX_IN_FLIGHT))
}

type Write = JoinHandle<(usize, ServiceResult<u64>)>;

/// The writes of one upload, kept to [`MAX_IN_FLIGHT`] and in order
/// wherever their keys meet.
pub struct OrderedWrites {
    store: Store,
    upload_id: String,
    hasher: RandomState,
    in_flight: VecDeque<(Write, ChunkKeys)>,
}

impl OrderedWrites {
    /// Writes for upload `upload_id`.
    pub fn new(store: Store, upload_id: String) -> Self {
        Self {
            store,
            upload_id,
            hasher: RandomState::new(),
            in_flight: VecDeque::new(),
        }
    }

    /// Sends `flows` as one atomic write once the rules allow; returns the
    /// (flows, changed) of every earlier write it had to wait for, oldest
    /// first. The chunk is built into its command before waiting, so that
    /// work overlaps the writes in Redis.
    pub async fn send(&mut self, flows: Vec<TradeFlow>) -> ServiceResult<Vec<(usize, u64)>> {
        let keys = ChunkKeys::of(&flows, &self.hasher);
        let write = self.store.prepare_trade_flows(&flows, &self.upload_id);
        let mut finished = Vec::new();
        let earlier: Vec<&ChunkKeys> = self.in_flight.iter().map(|(_, k)| k).collect();
        for _ in 0..writes_to_finish(&earlier, &keys) {
            finished.push(self.finish_oldest().await?);
        }
        let store = self.store.clone();
        let n = flows.len();
        let task = tokio::spawn(
            async move {
                let changed = store
                    .apply_prepared(write)
                    .await
                    .map(|o| o.changed)
                    .map_err(ServiceError::from);
                (n, changed)
            }
            .in_current_span(),
        );
        self.in_flight.push_back((task, keys));
        Ok(finished)
    }

    /// Waits for every write still in flight, oldest first.
    pub async fn finish(&mut self) -> ServiceResult<Vec<(usize, u64)>> {
        let mut finished = Vec::new();
        while !self.in_flight.is_empty() {
            finished.push(self.finish_oldest().await?);
        }
        Ok(finished)
    }

    async fn finish_oldest(&mut self) -> ServiceResult<(usize, u64)> {
        let Some((task, _)) = self.in_flight.pop_front() else {
            return Err(ServiceError::Internal("no write in flight".into()));
        };
        let result = match task.await {
            Ok((n, changed)) => changed.map(|c| (n, c)),
            Err(e) => Err(ServiceError::Internal(e.to_string())),
        };
        if result.is_err() {
            self.settle().await;
        }
        result
    }

    /// Waits out every write still in flight, whatever its outcome, so that
    /// none of a failed upload lands after the client has been told: a
    /// retry with corrected values must not be overwritten by the old ones.
    async fn settle(&mut self) {
        while let Some((task, _)) = self.in_flight.pop_front() {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use supplyrisk_domain::{FlowDirection, RawTradeFlow};

    fn flow(partner: &str, month: u32) -> TradeFlow {
        TradeFlow::validate(&RawTradeFlow {
            reporter: "JPN".into(),
            partner: partner.into(),
            hs_code: "284690".into(),
            year: 2023,
            month,
            flow: Some(FlowDirection::Import),
            value_usd: 1.0,
            net_weight_kg: Some(1.0),
            source: "TEST".into(),
        })
        .expect("valid flow")
    }

    #[test]
    fn chunks_meet_only_when_they_share_a_natural_key() {
        let hasher = RandomState::new();
        let a = ChunkKeys::of(&[flow("CHN", 0), flow("AUS", 0)], &hasher);
        let b = ChunkKeys::of(&[flow("USA", 0), flow("CHN", 1)], &hasher);
        let c = ChunkKeys::of(&[flow("MYS", 0), flow("AUS", 0)], &hasher);
        assert!(!a.meets(&b), "same countries, other months: no shared key");
        assert!(a.meets(&c) && c.meets(&a));
    }

    #[test]
    fn a_chunk_waits_for_every_write_it_meets_and_for_room() {
        let hasher = RandomState::new();
        let chunk =
            |partners: &[&str]| ChunkKeys::of(&partners.iter().map(|p| flow(p, 0)).collect::<Vec<_>>(), &hasher);
        let (chn, aus, vnm) = (chunk(&["CHN"]), chunk(&["AUS"]), chunk(&["VNM"]));
        let mys_chn = chunk(&["MYS", "CHN"]);
        assert_eq!(writes_to_finish(&[], &chn), 0);
        assert_eq!(writes_to_finish(&[&aus], &chn), 0, "disjoint: both may be in Redis");
        assert_eq!(writes_to_finish(&[&chn], &mys_chn), 1, "a shared key keeps the order");
        assert_eq!(
            writes_to_finish(&[&aus, &chn], &mys_chn),
            2,
            "up to the newest it meets"
        );
        assert_eq!(writes_to_finish(&[&chn, &aus], &mys_chn), 1, "the older one it meets");
        assert_eq!(writes_to_finish(&[&aus, &vnm], &chn), 1, "only two at once");
    }

    #[test]
    fn changed_records_are_accepted_and_the_rest_unchanged() {
        assert_eq!(accepted_and_unchanged(10, 3), (3, 7));
        assert_eq!(accepted_and_unchanged(10, 0), (0, 10));
        assert_eq!(accepted_and_unchanged(2, 5), (2, 0), "never more changed than written");
    }

    #[tokio::test]
    async fn a_failed_write_returns_only_after_the_others_have_settled() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::Duration;

        // Never connected: the writes below are stand-ins.
        let settings = supplyrisk_config::RedisSettings {
            connect_timeout_ms: 10,
            response_timeout_ms: 10,
            ..supplyrisk_config::RedisSettings::at("redis://127.0.0.1:1")
        };
        let store = Store::new(&settings, Default::default()).expect("store");
        let mut writes = OrderedWrites::new(store, "u".into());
        let landed = Arc::new(AtomicBool::new(false));
        let failing: Write = tokio::spawn(async { (1, Err(ServiceError::Unavailable("down".into()))) });
        let slow_landed = landed.clone();
        let slow: Write = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            slow_landed.store(true, Ordering::SeqCst);
            (1, Ok(1))
        });
        let hasher = RandomState::new();
        writes
            .in_flight
            .push_back((failing, ChunkKeys::of(&[flow("CHN", 0)], &hasher)));
        writes
            .in_flight
            .push_back((slow, ChunkKeys::of(&[flow("AUS", 0)], &hasher)));
        assert!(writes.finish().await.is_err());
        assert!(
            landed.load(Ordering::SeqCst),
            "the error is reported only once the other write has finished"
        );
        assert!(writes.in_flight.is_empty());
    }
}
