//! A bounded map whose entries expire and are never evicted early: the state behind the
//! revocation and DPoP replay stores.
//!
//! A cache may forget an entry to make room; a denylist may not. Under a flood of cheap
//! writes (revocations, valid proofs) an evicting map would drop the one entry that refuses a
//! victim's token or an attacker's replay. So when this map is full a new key is refused
//! ([`Full`]) and the store above fails closed with a `WARN` event and the
//! `jwks_auth_store_full_total` counter; entries leave only when they expire.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::ops::compute::{CompResult, Op};

/// The longest any store entry is kept (10 years), whatever its `exp`, instant or `until`
/// says: revocations, and DPoP replay ids in Redis.
pub(crate) const MAX_RETENTION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The map is at its capacity and the key is not in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

/// A moka map without a size-based eviction policy, bounded by a count of its own.
pub(crate) struct ExpiringMap<V> {
    entries: moka::sync::Cache<Box<str>, V>,
    /// Entries inserted and not yet removed (expired, replaced or invalidated).
    len: Arc<AtomicU64>,
    capacity: u64,
    /// The store's name for the warning and the metric (`revocation`, `dpop-replay`).
    store: &'static str,
}

impl<V: Clone + Send + Sync + 'static> ExpiringMap<V> {
    /// A map of at most `capacity` entries, each living as `expiry` says.
    pub(crate) fn new(
        capacity: u64,
        store: &'static str,
        expiry: impl moka::Expiry<Box<str>, V> + Send + Sync + 'static,
    ) -> Self {
        let len = Arc::new(AtomicU64::new(0));
        let removed = len.clone();
        let entries = moka::sync::Cache::builder()
            .expire_after(expiry)
            // Every removal of a stored value (expired, replaced, invalidated) counts one down,
            // as each `Put` below counts one up: the count is the number of values held.
            .eviction_listener(move |_key, _value, _cause| {
                removed.fetch_sub(1, Ordering::AcqRel);
            })
            .build();
        ExpiringMap {
            entries,
            len,
            capacity,
            store,
        }
    }

    /// The value under `key`, expired or not (callers check their own expiry).
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        self.entries.get(key)
    }

    /// Whether `key` could be stored now (it is held, or there is room).
    pub(crate) fn has_room_for(&self, key: &str) -> bool {
        if self.len.load(Ordering::Acquire) < self.capacity || self.entries.contains_key(key) {
            return true;
        }
        self.entries.run_pending_tasks();
        self.len.load(Ordering::Acquire) < self.capacity
    }

    /// Runs `decide` on the value under `key` (if any) atomically for that key: `Some(v)`
    /// stores `v`, `None` keeps what is there. Answers whether a value was stored, or
    /// [`Full`] when the key is new and the map has no room even after removing what expired.
    pub(crate) fn upsert(
        &self,
        key: &str,
        decide: impl FnOnce(Option<&V>) -> Option<V>,
    ) -> Result<bool, Full> {
        // Expired entries leave on moka's housekeeping, which `has_room_for` runs when full.
        if !self.has_room_for(key) {
            self.report_full();
            return Err(Full);
        }
        let len = &self.len;
        let result = self
            .entries
            .entry(Box::from(key))
            .and_compute_with(
                |existing| match decide(existing.as_ref().map(|e| e.value())) {
                    Some(value) => {
                        len.fetch_add(1, Ordering::AcqRel);
                        Op::Put(value)
                    }
                    None => Op::Nop,
                },
            );
        Ok(!matches!(result, CompResult::Unchanged(_)))
    }

    /// Entries held (expired ones not yet removed included).
    pub(crate) fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Removes what has expired now (tests, and before a "full" verdict).
    #[cfg(test)]
    pub(crate) fn run_pending_tasks(&self) {
        self.entries.run_pending_tasks();
    }

    fn report_full(&self) {
        tracing::warn!(
            target: "jwks_auth::store",
            store = self.store,
            capacity = self.capacity,
            "store full: new entry refused (nothing live is evicted)"
        );
        #[cfg(feature = "metrics")]
        metrics::counter!("jwks_auth_store_full_total", "store" => self.store).increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Every entry lives the number of milliseconds it holds.
    struct Millis;

    impl moka::Expiry<Box<str>, u64> for Millis {
        fn expire_after_create(&self, _: &Box<str>, ms: &u64, _: Instant) -> Option<Duration> {
            Some(Duration::from_millis(*ms))
        }
        fn expire_after_update(
            &self,
            _: &Box<str>,
            ms: &u64,
            _: Instant,
            _: Option<Duration>,
        ) -> Option<Duration> {
            Some(Duration::from_millis(*ms))
        }
    }

    fn put(map: &ExpiringMap<u64>, key: &str, ms: u64) -> Result<bool, Full> {
        map.upsert(key, |_| Some(ms))
    }

    #[test]
    fn a_full_map_refuses_a_new_key_and_keeps_every_live_entry() {
        let map = ExpiringMap::new(3, "test", Millis);
        for key in ["a", "b", "c"] {
            assert_eq!(put(&map, key, 60_000), Ok(true));
        }
        for key in ["d", "e", "f", "g"] {
            assert_eq!(put(&map, key, 60_000), Err(Full), "{key} admitted");
        }
        map.run_pending_tasks();
        for key in ["a", "b", "c"] {
            assert!(map.get(key).is_some(), "{key} evicted");
        }
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn a_full_map_still_updates_a_key_it_holds() {
        let map = ExpiringMap::new(1, "test", Millis);
        assert_eq!(put(&map, "a", 60_000), Ok(true));
        assert_eq!(put(&map, "a", 120_000), Ok(true));
        assert_eq!(map.upsert("a", |_| None), Ok(false));
        map.run_pending_tasks();
        assert_eq!(map.get("a"), Some(120_000));
        assert_eq!(map.len(), 1, "a replaced value is counted once");
    }

    #[test]
    fn expired_entries_make_room() {
        let map = ExpiringMap::new(2, "test", Millis);
        assert_eq!(put(&map, "a", 1), Ok(true));
        assert_eq!(put(&map, "b", 1), Ok(true));
        // moka removes expired entries on its timer wheel, whose finest buckets are about a
        // second wide: room comes back within a couple of seconds, not at once.
        let deadline = Instant::now() + Duration::from_secs(10);
        while put(&map, "c", 60_000) == Err(Full) {
            assert!(Instant::now() < deadline, "expired entries never made room");
            std::thread::sleep(Duration::from_millis(100));
        }
        map.run_pending_tasks();
        assert_eq!(map.len(), 1);
    }
}
