//! The in-process revocation store, and the state the Redis store keeps in memory.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::notification::RemovalCause;
use moka::ops::compute::Op;
use moka::policy::EvictionPolicy;

use super::{Revocation, RevocationFuture, RevocationStore, TokenFacts};
use crate::clock::{Clock, SystemClock};

/// One entry: its value (a `jti` entry's forget time, an instant) and when it is forgotten.
#[derive(Debug, Clone, Copy)]
struct Entry {
    value: i64,
    forget_at: i64,
}

/// Each entry lives until its `forget_at` as read from the store's clock.
struct ForgetAt(Arc<dyn Clock>);

impl moka::Expiry<Box<str>, Entry> for ForgetAt {
    fn expire_after_create(
        &self,
        _key: &Box<str>,
        entry: &Entry,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        let now = self.0.now().as_secs();
        let forget_at = u64::try_from(entry.forget_at).unwrap_or(0);
        // Capped, so an absurd `exp` stays far from the cache clock's limits.
        Some(Duration::from_secs(forget_at.saturating_sub(now)).min(super::MAX_RETENTION))
    }

    fn expire_after_update(
        &self,
        key: &Box<str>,
        entry: &Entry,
        updated_at: std::time::Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, entry, updated_at)
    }
}

/// No "revoke all" instant.
const NONE: i64 = i64::MIN;

/// The denylist and the instants: bounded maps whose entries expire, and the issuer-wide
/// instant.
pub(crate) struct State {
    jti: moka::sync::Cache<Box<str>, Entry>,
    sid: moka::sync::Cache<Box<str>, Entry>,
    sub: moka::sync::Cache<Box<str>, Entry>,
    all: AtomicI64,
    clock: Arc<dyn Clock>,
    max_lifetime: i64,
    capacity: u64,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("jti", &self.jti.entry_count())
            .field("sid", &self.sid.entry_count())
            .field("sub", &self.sub.entry_count())
            .field("capacity", &self.capacity)
            .field("max_token_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn new(capacity: u64, max_lifetime: Duration, clock: Arc<dyn Clock>) -> Self {
        let map = |name: &'static str| {
            moka::sync::Cache::builder()
                .max_capacity(capacity)
                // The newest revocations are always admitted; the oldest go first when full.
                .eviction_policy(EvictionPolicy::lru())
                .expire_after(ForgetAt(clock.clone()))
                .eviction_listener(move |_key, _entry, cause| {
                    if cause == RemovalCause::Size {
                        tracing::warn!(
                            target: "jwks_auth::revocation",
                            rule = name,
                            "revocation entry evicted: store full"
                        );
                    }
                })
                .build()
        };
        State {
            jti: map("jti"),
            sid: map("sid"),
            sub: map("sub"),
            all: AtomicI64::new(NONE),
            clock,
            max_lifetime: i64::try_from(max_lifetime.as_secs()).unwrap_or(i64::MAX),
            capacity,
        }
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now().as_secs()).unwrap_or(i64::MAX)
    }

    /// How long after an instant it is kept (Unix seconds).
    pub(crate) fn instant_forget_at(&self, at: i64) -> i64 {
        at.saturating_add(self.max_lifetime)
    }

    /// Records `revocation`, keeping the later value of an entry already there.
    pub(crate) fn apply(&self, revocation: &Revocation) {
        let now = self.now();
        let (map, key, entry) = match revocation {
            Revocation::Token { jti, until } => (
                &self.jti,
                jti,
                Entry {
                    value: *until,
                    forget_at: *until,
                },
            ),
            Revocation::Session { sid, at } => (&self.sid, sid, self.instant(*at)),
            Revocation::User { sub, at } => (&self.sub, sub, self.instant(*at)),
            Revocation::All { at } => {
                if self.instant_forget_at(*at) > now {
                    self.all.fetch_max(*at, Ordering::AcqRel);
                }
                return;
            }
        };
        if entry.forget_at <= now {
            return;
        }
        map.entry(Box::from(key.as_str()))
            .and_compute_with(|existing| match existing {
                Some(old) if old.value().value >= entry.value && old.value().forget_at > now => {
                    Op::Nop
                }
                _ => Op::Put(entry),
            });
    }

    fn instant(&self, at: i64) -> Entry {
        Entry {
            value: at,
            forget_at: self.instant_forget_at(at),
        }
    }

    /// Whether a rule matches `token`.
    pub(crate) fn is_revoked(&self, token: &TokenFacts<'_>) -> bool {
        let now = token.now;
        let live = |map: &moka::sync::Cache<Box<str>, Entry>, key: Option<&str>| {
            key.and_then(|key| map.get(key))
                .filter(|entry| entry.forget_at > now)
        };
        if live(&self.jti, token.jti).is_some() {
            return true;
        }
        let Some(issued) = token.issued_at else {
            return false;
        };
        let all = self.all.load(Ordering::Acquire);
        if all != NONE && issued <= all && self.instant_forget_at(all) > now {
            return true;
        }
        let before = |entry: Entry| issued <= entry.value;
        live(&self.sid, token.sid).is_some_and(before)
            || live(&self.sub, token.sub).is_some_and(before)
    }
}

/// The default revocation store: in process memory, bounded, each entry forgotten when it
/// can no longer match (a `jti` entry after its token's expiry, an instant after the maximum
/// token lifetime). Right for one instance; a fleet needs the Redis store (feature `redis`),
/// or a revocation made on one instance is not seen by the others.
///
/// Each of the three maps (`jti`, `sid`, `sub`) holds at most `capacity` entries; when one is
/// full its least recently used entry is evicted, with a `WARN` event: size it for the
/// revocations of one token lifetime.
///
/// ```
/// use jwks_auth::revocation::{InMemoryRevocationStore, Revocation, RevocationStore, TokenFacts};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = InMemoryRevocationStore::new(10_000);
/// # use jwks_auth::Clock as _;
/// let now = jwks_auth::SystemClock.now().as_secs() as i64;
/// store.revoke(&Revocation::User { sub: "u1".into(), at: now }).await?;
/// let token = TokenFacts::new(None, None, Some("u1"), Some(now - 10), now);
/// assert!(store.is_revoked(&token).await?);
/// # Ok::<_, jwks_auth::revocation::StoreError>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct InMemoryRevocationStore {
    state: Arc<State>,
}

impl fmt::Debug for InMemoryRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryRevocationStore")
            .field("state", &self.state)
            .finish()
    }
}

impl Default for InMemoryRevocationStore {
    /// [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) entries per map, on the system clock.
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl InMemoryRevocationStore {
    /// Default capacity of each map.
    pub const DEFAULT_CAPACITY: u64 = 100_000;
    /// Default maximum token lifetime: how long an instant is kept (24 hours).
    pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

    /// A store of at most `capacity` entries per map, on the system clock.
    pub fn new(capacity: u64) -> Self {
        InMemoryRevocationStore {
            state: Arc::new(State::new(
                capacity,
                Self::DEFAULT_MAX_TOKEN_LIFETIME,
                Arc::new(SystemClock),
            )),
        }
    }

    /// An empty store of the same settings reading time from `clock` (e.g. the verifier's
    /// [`ManualClock`](crate::ManualClock) in tests). Default: the system clock.
    #[must_use]
    pub fn clock(self, clock: impl Clock) -> Self {
        let state = &self.state;
        let lifetime = Duration::from_secs(u64::try_from(state.max_lifetime).unwrap_or(0));
        InMemoryRevocationStore {
            state: Arc::new(State::new(state.capacity, lifetime, Arc::new(clock))),
        }
    }

    /// An empty store of the same settings keeping each "revoked before" instant for
    /// `lifetime` after it: the longest lifetime (`exp - iat`) of the tokens it guards.
    /// Default: [`DEFAULT_MAX_TOKEN_LIFETIME`](Self::DEFAULT_MAX_TOKEN_LIFETIME).
    #[must_use]
    pub fn max_token_lifetime(self, lifetime: Duration) -> Self {
        let state = &self.state;
        InMemoryRevocationStore {
            state: Arc::new(State::new(state.capacity, lifetime, state.clock.clone())),
        }
    }
}

impl RevocationStore for InMemoryRevocationStore {
    fn is_revoked<'a>(&'a self, token: &'a TokenFacts<'a>) -> RevocationFuture<'a, bool> {
        let revoked = self.state.is_revoked(token);
        Box::pin(std::future::ready(Ok(revoked)))
    }

    fn revoke<'a>(&'a self, revocation: &'a Revocation) -> RevocationFuture<'a, ()> {
        self.state.apply(revocation);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn a_full_store_admits_the_newest_revocation_and_evicts_the_oldest() {
        let clock = ManualClock::at_unix(1_000);
        let state = State::new(2, Duration::from_secs(3600), Arc::new(clock));
        let user = |sub: &str| Revocation::User {
            sub: sub.into(),
            at: 1_000,
        };
        let revoked =
            |sub: &str| state.is_revoked(&TokenFacts::new(None, None, Some(sub), Some(900), 1_000));
        for sub in ["a", "b", "c", "d"] {
            state.apply(&user(sub));
            state.sub.run_pending_tasks();
            assert!(revoked(sub), "{sub} not admitted");
        }
        assert!(!revoked("a"));
    }
}
