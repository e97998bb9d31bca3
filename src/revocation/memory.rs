//! The in-process revocation store, and the state the Redis store keeps in memory.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{Revocation, RevocationFuture, RevocationStore, StoreError, TokenFacts};
use crate::clock::{Clock, SystemClock};
use crate::expiring_map::{ExpiringMap, Full, MAX_RETENTION};

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
        Some(Duration::from_secs(forget_at.saturating_sub(now)).min(MAX_RETENTION))
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

/// How long an instant outlives the tokens it can match: a token issued at the instant
/// expires at most `max_token_lifetime` later, and is still accepted for the verifier's
/// leeway after that. The same margin as a `jti` entry's
/// ([`Revocations::MIN_RETENTION_MARGIN`](super::Revocations::MIN_RETENTION_MARGIN)); a
/// verifier with a revocation store refuses a larger leeway.
const INSTANT_MARGIN: i64 = super::Revocations::MIN_RETENTION_MARGIN.as_secs() as i64;

/// The store refused a new entry: it is full of entries that can still match a token.
pub(crate) fn store_full() -> StoreError {
    StoreError::new("revocation store full")
}

/// The denylist and the instants: bounded maps whose entries expire (and are never evicted
/// while they can still match a token), and the issuer-wide instant.
pub(crate) struct State {
    jti: ExpiringMap<Entry>,
    sid: ExpiringMap<Entry>,
    sub: ExpiringMap<Entry>,
    all: AtomicI64,
    clock: Arc<dyn Clock>,
    max_lifetime: i64,
    capacity: u64,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("jti", &self.jti.len())
            .field("sid", &self.sid.len())
            .field("sub", &self.sub.len())
            .field("capacity", &self.capacity)
            .field("max_token_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn new(capacity: u64, max_lifetime: Duration, clock: Arc<dyn Clock>) -> Self {
        let map = || ExpiringMap::new(capacity, "revocation", ForgetAt(clock.clone()));
        State {
            jti: map(),
            sid: map(),
            sub: map(),
            all: AtomicI64::new(NONE),
            clock: clock.clone(),
            max_lifetime: i64::try_from(max_lifetime.as_secs()).unwrap_or(i64::MAX),
            capacity,
        }
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now().as_secs()).unwrap_or(i64::MAX)
    }

    /// When an instant is forgotten (Unix seconds): after the last token it can match has
    /// expired, leeway included.
    pub(crate) fn instant_forget_at(&self, at: i64) -> i64 {
        at.saturating_add(self.max_lifetime)
            .saturating_add(INSTANT_MARGIN)
    }

    /// Records `revocation`, keeping the later value of an entry already there.
    ///
    /// # Errors
    /// [`Full`] when its map is full of live entries (nothing live is evicted for it).
    pub(crate) fn apply(&self, revocation: &Revocation) -> Result<(), Full> {
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
                return Ok(());
            }
        };
        if entry.forget_at <= now {
            return Ok(());
        }
        map.upsert(key, |existing| match existing {
            Some(old) if old.value >= entry.value && old.forget_at > now => None,
            _ => Some(entry),
        })
        .map(drop)
    }

    /// Whether [`apply`](Self::apply) would find room for `revocation` now.
    #[cfg(feature = "redis")]
    pub(crate) fn has_room_for(&self, revocation: &Revocation) -> bool {
        match revocation {
            Revocation::Token { jti, .. } => self.jti.has_room_for(jti),
            Revocation::Session { sid, .. } => self.sid.has_room_for(sid),
            Revocation::User { sub, .. } => self.sub.has_room_for(sub),
            Revocation::All { .. } => true,
        }
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
        let live = |map: &ExpiringMap<Entry>, key: Option<&str>| {
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
/// Each of the three maps (`jti`, `sid`, `sub`) holds at most `capacity` entries. An entry is
/// never evicted while it can still match a token: when a map is full of such entries a new
/// revocation for it is refused with
/// [`RevocationStoreUnavailable`](crate::ErrorKind::RevocationStoreUnavailable), a `WARN`
/// event and the `jwks_auth_store_full_total{store="revocation"}` counter (feature
/// `metrics`), until entries expire. Size it for the revocations of one token lifetime
/// (an entry is about 100 bytes plus its id).
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
        let recorded = self.state.apply(revocation).map_err(|Full| store_full());
        Box::pin(std::future::ready(recorded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn user(sub: &str, at: i64) -> Revocation {
        Revocation::User {
            sub: sub.into(),
            at,
        }
    }

    #[test]
    fn a_full_store_refuses_a_new_revocation_and_keeps_every_live_one() {
        let clock = ManualClock::at_unix(1_000);
        let state = State::new(2, Duration::from_secs(3600), Arc::new(clock));
        let revoked =
            |sub: &str| state.is_revoked(&TokenFacts::new(None, None, Some(sub), Some(900), 1_000));
        for sub in ["victim", "b"] {
            state.apply(&user(sub, 1_000)).unwrap();
        }
        for sub in ["c", "d", "e"] {
            assert_eq!(state.apply(&user(sub, 1_000)), Err(Full), "{sub} admitted");
        }
        assert!(revoked("victim") && revoked("b"));
        assert!(!revoked("c"));
        // A later instant for a user already held still widens its revocation.
        state.apply(&user("victim", 1_100)).unwrap();
    }

    #[test]
    fn a_full_store_answers_the_revoke_call_with_an_error() {
        let store = InMemoryRevocationStore::new(1).clock(ManualClock::at_unix(1_000));
        block_on(store.revoke(&user("a", 1_000))).unwrap();
        let error = block_on(store.revoke(&user("b", 1_000))).unwrap_err();
        assert_eq!(error.to_string(), "revocation store full");
    }

    #[test]
    fn an_instant_outlives_the_leeway_after_the_longest_token() {
        let clock = ManualClock::at_unix(1_000);
        let state = State::new(8, Duration::from_secs(3600), Arc::new(clock));
        // A token issued at the instant expires at 4_600 and passes until 4_600 + leeway.
        state.apply(&user("u", 1_000)).unwrap();
        let at =
            |now: i64| state.is_revoked(&TokenFacts::new(None, None, Some("u"), Some(1_000), now));
        assert!(at(4_600));
        assert!(at(4_600 + 299), "forgotten inside the leeway");
        assert!(!at(4_600 + 300));
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }
}
