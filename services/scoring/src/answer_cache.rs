//! The answer cache: whole `GetRiskScore` answers cached by the exact request.
//!
//! Most `GetRiskScore` calls repeat a request that was answered moments ago.
//! Parsing the mineral, resolving the importer, building the keyed cache's
//! owned key and taking its locks cost over a microsecond per call (see
//! `docs/performance.md`), so an answer is also cached under the
//! request message's encoded bytes and looked up without a lock or an
//! allocation, before the gRPC framework decodes anything
//! (`supplyrisk_grpc::cached_answers`). Only requests that passed validation are
//! cached, so a hit needs no validation; a request encoded any other
//! way (unknown fields, another field order) misses and is answered in
//! full. Each answer carries a stamp of the data it was looked up at; the
//! caller decides whether the stamp is still current, and a stale answer
//! is simply not served.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use arc_swap::ArcSwapOption;

/// One cached answer with the request it answers.
#[derive(Debug)]
struct Entry<S, V> {
    request: Box<[u8]>,
    stamp: S,
    answer: V,
}

/// A fixed table of slots, one answer each, chosen by the request's hash: a
/// newer answer whose request lands on a taken slot replaces the older one.
/// Reads take no lock, so callers on every worker thread look up at once.
#[derive(Debug)]
pub struct AnswerCache<S, V> {
    slots: Box<[ArcSwapOption<Entry<S, V>>]>,
    hasher: RandomState,
}

/// Most slots a table has: the table is allocated whole, and each answer it
/// holds keeps its bytes alive after the keyed cache lets go of them.
pub const MAX_SLOTS: usize = 16 * 1024;

impl<S, V: Clone> AnswerCache<S, V> {
    /// Room for about `capacity` answers (rounded up to a power of two, at
    /// most [`MAX_SLOTS`]).
    pub fn new(capacity: usize) -> Self {
        let slots = capacity.clamp(1, MAX_SLOTS).next_power_of_two();
        Self {
            slots: (0..slots).map(|_| ArcSwapOption::empty()).collect(),
            hasher: RandomState::new(),
        }
    }

    fn slot(&self, request: &[u8]) -> &ArcSwapOption<Entry<S, V>> {
        let hash = self.hasher.hash_one(request);
        // Only the low bits pick the slot, so truncating the hash is harmless.
        &self.slots[(hash as usize) & (self.slots.len() - 1)]
    }

    /// The answer cached for `request`, if `is_current` accepts its stamp.
    pub fn get(&self, request: &[u8], is_current: impl FnOnce(&S) -> bool) -> Option<V> {
        let slot = self.slot(request).load();
        slot.as_ref()
            .filter(|r| *r.request == *request && is_current(&r.stamp))
            .map(|r| r.answer.clone())
    }

    /// Caches `answer` for `request`; `stamp` must have been taken before
    /// the answer was looked up, so a change in between leaves it unused.
    pub fn insert(&self, request: &[u8], stamp: S, answer: V) {
        self.slot(request).store(Some(Arc::new(Entry {
            request: request.into(),
            stamp,
            answer,
        })));
    }

    /// How many slots hold an answer (current or not).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.load().is_some()).count()
    }

    /// Whether no slot holds an answer.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(mineral: &str, importer: &str) -> Vec<u8> {
        format!("{mineral}/{importer}").into_bytes()
    }

    #[test]
    fn serves_the_same_request_with_a_current_stamp_only() {
        let cache = AnswerCache::new(8);
        cache.insert(&request("REE", "JPN"), 3, "ree-jpn");
        assert_eq!(cache.get(&request("REE", "JPN"), |s| *s == 3), Some("ree-jpn"));
        assert_eq!(
            cache.get(&request("REE", "JPN"), |s| *s == 4),
            None,
            "a stale stamp ends it"
        );
        assert_eq!(cache.get(&request("REE", "USA"), |s| *s == 3), None);
        assert_eq!(
            cache.get(&request("ree", "JPN"), |s| *s == 3),
            None,
            "requests as sent, not normalised"
        );
        assert_eq!(cache.get(b"REE/JPN/", |s| *s == 3), None, "every byte counts");
    }

    #[test]
    fn an_answer_cached_with_an_old_stamp_is_never_served() {
        // A change between taking the stamp and caching leaves the answer unused.
        let cache = AnswerCache::new(8);
        cache.insert(&request("CO", "USA"), 1, "old");
        assert_eq!(cache.get(&request("CO", "USA"), |s| *s == 2), None);
        cache.insert(&request("CO", "USA"), 2, "new");
        assert_eq!(cache.get(&request("CO", "USA"), |s| *s == 2), Some("new"));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_large_capacity_is_capped() {
        let cache: AnswerCache<u64, u8> = AnswerCache::new(10_000_000);
        assert_eq!(cache.slots.len(), MAX_SLOTS);
    }

    #[test]
    fn stays_within_its_slots_and_keeps_the_newest_answer() {
        let cache = AnswerCache::new(3);
        assert!(cache.is_empty());
        let minerals = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"];
        for (i, m) in minerals.iter().enumerate() {
            cache.insert(&request(m, "JPN"), 0, i);
        }
        assert!(cache.len() <= 4, "three entries round up to four slots");
        assert_eq!(
            cache.get(&request("J", "JPN"), |s| *s == 0),
            Some(9),
            "the newest answer is kept"
        );
        for (i, m) in minerals.iter().enumerate() {
            // Older answers are either still there, intact, or gone.
            if let Some(v) = cache.get(&request(m, "JPN"), |s| *s == 0) {
                assert_eq!(v, i);
            }
        }
    }
}
