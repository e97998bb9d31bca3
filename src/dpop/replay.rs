//! Remembering proof ids (`jti`) so a proof is accepted once (RFC 9449 §11.1).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::StoreError;
use crate::expiring_map::ExpiringMap;

/// The future a [`ReplayStore`] returns.
pub type StoreFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'a>>;

/// Where accepted proof ids are remembered; shared by every verifier of a fleet when it is
/// backed by a shared database.
///
/// [`DpopChecker`](super::DpopChecker) calls [`check_and_remember`](Self::check_and_remember)
/// once per otherwise valid proof with `id` = base64url(SHA-256(`jkt` ‖ 0 ‖ `jti`)), a
/// 43-character ASCII string: keyed per proof key, one client cannot block another's `jti`,
/// and the store never holds attacker-chosen strings of attacker-chosen length. `until` is
/// the Unix time (as [`Clock`] reads it) after which the proof's `iat` is out of the window
/// anyway, so the entry may be forgotten then.
///
/// An implementation must be atomic: of two concurrent calls with the same id, exactly one
/// may answer `true`.
///
/// ```
/// use jwks_auth::dpop::{ReplayStore, StoreError, StoreFuture};
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::Duration;
///
/// /// Never forgets (fine for a test, unbounded in production).
/// #[derive(Debug, Default)]
/// struct Forever(Mutex<HashMap<String, Duration>>);
///
/// impl ReplayStore for Forever {
///     fn check_and_remember(&self, id: &str, until: Duration) -> StoreFuture<'_> {
///         let fresh = self.0.lock().unwrap().insert(id.to_owned(), until).is_none();
///         Box::pin(async move { Ok::<_, StoreError>(fresh) })
///     }
/// }
/// ```
pub trait ReplayStore: Send + Sync + fmt::Debug + 'static {
    /// Remembers `id` until `until` (Unix time) and answers `true`, or answers `false` when
    /// `id` is already remembered (a replay). An error means the store could not answer;
    /// the proof is then refused with [`DpopError::StoreUnavailable`](super::DpopError).
    fn check_and_remember(&self, id: &str, until: Duration) -> StoreFuture<'_>;
}

/// The default replay store: in process memory, bounded, entries expiring at their
/// `until`. Right for one instance; a fleet behind a load balancer needs a shared store,
/// or a proof replayed to another instance is accepted there.
///
/// It holds at most `capacity` proofs and never forgets one before its `until`: when full of
/// live entries, a new proof is refused with [`StoreUnavailable`](super::DpopError) (503), a
/// `WARN` event and the `jwks_auth_store_full_total{store="dpop-replay"}` counter (feature
/// `metrics`), rather than evicting an entry and letting its replay through. Size it for the
/// proofs of one iat window (two windows plus a second of traffic).
///
/// ```
/// use jwks_auth::dpop::{InMemoryReplayStore, ReplayStore};
/// use std::time::Duration;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = InMemoryReplayStore::new(10_000);
/// let until = Duration::from_secs(u32::MAX as u64);
/// assert!(store.check_and_remember("id-1", until).await?);
/// assert!(!store.check_and_remember("id-1", until).await?);
/// # Ok::<_, jwks_auth::dpop::StoreError>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct InMemoryReplayStore {
    entries: Arc<ExpiringMap<Duration>>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for InMemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryReplayStore")
            .field("entries", &self.entries.len())
            .field("capacity", &self.entries.capacity())
            .finish_non_exhaustive()
    }
}

/// Each entry lives until its `until` as read from the store's clock.
struct UntilExpiry(Arc<dyn Clock>);

impl moka::Expiry<Box<str>, Duration> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &Box<str>,
        until: &Duration,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(until.saturating_sub(self.0.now()))
    }

    fn expire_after_update(
        &self,
        key: &Box<str>,
        until: &Duration,
        updated_at: std::time::Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, until, updated_at)
    }
}

impl InMemoryReplayStore {
    /// Default capacity of the store a [`DpopChecker`](super::DpopChecker) makes itself.
    pub const DEFAULT_CAPACITY: u64 = 100_000;

    /// A store remembering at most `capacity` proofs, on the system clock.
    pub fn new(capacity: u64) -> Self {
        Self::with_clock(capacity, Arc::new(SystemClock))
    }

    pub(crate) fn with_clock(capacity: u64, clock: Arc<dyn Clock>) -> Self {
        InMemoryReplayStore {
            entries: Arc::new(ExpiringMap::new(
                capacity,
                "dpop-replay",
                UntilExpiry(clock.clone()),
            )),
            clock,
        }
    }

    /// An empty store of the same capacity reading time from `clock` (e.g. the checker's
    /// [`ManualClock`](crate::ManualClock) in tests). Default: the system clock.
    #[must_use]
    pub fn clock(self, clock: impl Clock) -> Self {
        Self::with_clock(self.entries.capacity(), Arc::new(clock))
    }

    fn remember(&self, id: &str, until: Duration) -> Result<bool, StoreError> {
        let now = self.clock.now();
        // One atomic step per key: an entry that is still live means a replay; an expired
        // one (the clock moved past it before moka removed it) is replaced.
        self.entries
            .upsert(id, |existing| match existing {
                Some(entry) if *entry > now => None,
                _ => Some(until),
            })
            .map_err(|_| StoreError::new("dpop replay store full"))
    }
}

impl ReplayStore for InMemoryReplayStore {
    fn check_and_remember(&self, id: &str, until: Duration) -> StoreFuture<'_> {
        Box::pin(std::future::ready(self.remember(id, until)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn first_sighting_is_fresh_and_the_second_a_replay() {
        let clock = ManualClock::at_unix(1_000);
        let store = InMemoryReplayStore::new(16).clock(clock);
        let until = Duration::from_secs(1_060);
        assert!(block_on(store.check_and_remember("a", until)).unwrap());
        assert!(!block_on(store.check_and_remember("a", until)).unwrap());
        assert!(block_on(store.check_and_remember("b", until)).unwrap());
    }

    #[test]
    fn an_entry_is_forgotten_after_its_until() {
        let clock = ManualClock::at_unix(1_000);
        let store = InMemoryReplayStore::new(16).clock(clock.clone());
        let until = Duration::from_secs(1_060);
        assert!(block_on(store.check_and_remember("a", until)).unwrap());
        clock.advance(Duration::from_secs(61));
        assert!(block_on(store.check_and_remember("a", Duration::from_secs(1_200))).unwrap());
    }

    #[test]
    fn an_entry_is_kept_until_its_until() {
        let clock = ManualClock::at_unix(1_000);
        let store = InMemoryReplayStore::new(16).clock(clock.clone());
        assert!(block_on(store.check_and_remember("a", Duration::from_secs(1_060))).unwrap());
        clock.advance(Duration::from_secs(59));
        assert!(!block_on(store.check_and_remember("a", Duration::from_secs(1_200))).unwrap());
    }

    #[test]
    fn concurrent_sightings_of_one_id_are_fresh_exactly_once() {
        let store = Arc::new(InMemoryReplayStore::new(1_000));
        let until = SystemClock.now() + Duration::from_secs(60);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || store.remember("same", until).unwrap())
            })
            .collect();
        let fresh = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|&fresh| fresh)
            .count();
        assert_eq!(fresh, 1);
    }

    #[test]
    fn a_full_store_refuses_a_new_proof_and_still_catches_every_replay() {
        let clock = ManualClock::at_unix(1_000);
        let store = InMemoryReplayStore::new(2).clock(clock);
        let until = Duration::from_secs(1_061);
        for id in ["victim", "b"] {
            assert!(block_on(store.check_and_remember(id, until)).unwrap());
        }
        for id in ["c", "d", "e", "f"] {
            let error = block_on(store.check_and_remember(id, until)).unwrap_err();
            assert_eq!(error.to_string(), "dpop replay store full");
        }
        assert!(!block_on(store.check_and_remember("victim", until)).unwrap());
    }
}
