//! The caching key fetcher: fetches a provider's JWK set, keeps it in memory, and refreshes
//! it on expiry or when a token names an unknown `kid`, without letting a flood of forged
//! kids hammer the provider.
//!
//! # Policy
//!
//! * **Lazy or eager**: keys are fetched on the first verify, or up front with
//!   [`Verifier::warm_up`](crate::Verifier::warm_up).
//! * **Freshness**: a set stays fresh for [`CachePolicy::ttl`] (10 min), or for the
//!   response's `Cache-Control: max-age` clamped to [`CachePolicy::min_ttl`] (1 min) ..
//!   [`CachePolicy::max_ttl`] (24 h).
//! * **Unknown `kid`**: triggers a refetch at most once per [`CachePolicy::refresh_cooldown`]
//!   (30 s). Concurrent callers share one in-flight fetch. A kid still unknown afterwards is
//!   remembered in a bounded negative cache and rejected without a fetch until the cooldown
//!   passes.
//! * **Failures**: while keys are cached, a failed refresh keeps serving them (stale-if-error)
//!   for up to [`CachePolicy::max_stale`] (24 h) and emits a warning; with nothing cached the
//!   verifier answers [`ErrorKind::KeysUnavailable`](crate::ErrorKind::KeysUnavailable) (503).
//!   After a failure, the next attempt waits for the cooldown. While one caller refreshes
//!   expired keys, the others answer from the cached keys instead of waiting for it.
//! * **Tokens without `kid`**: only keys whose type fits the header's `alg` are tried, at most
//!   [`CachePolicy::max_kidless_candidates`] of them, and such tokens never trigger a refetch.
//! * **HTTP**: HTTPS only (loopback excepted), 5 s timeout, 1 MiB body cap, no redirect to
//!   another host, `User-Agent: jwks-auth/<version>`. A `jwks_uri` found by discovery may
//!   be plain http on loopback only when the issuer itself is loopback.

mod fetch;
mod inspect;
pub(crate) mod jwk;
mod roca;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use fetch::FetchError;
pub(crate) use fetch::{check_url, default_client};
pub use inspect::{fetch_jwks, FetchedJwks};

use jwk::{KeyId, VerifyingKey};
use url::Url;

use crate::algorithm::Algorithm;
use crate::clock::Clock;
use crate::error::AuthError;

/// How keys are cached and refreshed. Start from [`CachePolicy::default`].
///
/// [`VerifierBuilder::build`](crate::VerifierBuilder::build) checks the policy and answers
/// [`ErrorKind::Config`](crate::ErrorKind::Config) when `min_ttl` exceeds `max_ttl`, when
/// `ttl`, `min_ttl`, `refresh_cooldown`, `fetch_timeout` or `max_body_bytes` is zero, or when
/// any duration exceeds [`CachePolicy::MAX_DURATION`] (365 days).
///
/// ```
/// use jwks_auth::CachePolicy;
/// use std::time::Duration;
/// let policy = CachePolicy::default().refresh_cooldown(Duration::from_secs(10));
/// assert_eq!(policy.ttl, Duration::from_secs(600));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CachePolicy {
    /// Freshness when the response has no `max-age`. Default: 10 minutes.
    pub ttl: Duration,
    /// Lower clamp for `max-age`. Default: 1 minute.
    pub min_ttl: Duration,
    /// Upper clamp for `max-age`. Default: 24 hours.
    pub max_ttl: Duration,
    /// Minimum time between unknown-`kid` refetches, and between a failed fetch and the next
    /// attempt. Default: 30 seconds.
    pub refresh_cooldown: Duration,
    /// How long stale keys may keep serving while the provider fails. Default: 24 hours.
    pub max_stale: Duration,
    /// Bound on remembered unknown kids. Default: 1024.
    pub negative_cache_capacity: u64,
    /// Per-request timeout. Default: 5 seconds.
    pub fetch_timeout: Duration,
    /// Body size cap. Default: 1 MiB.
    pub max_body_bytes: usize,
    /// Keys tried for a token without `kid`. Default: 4.
    pub max_kidless_candidates: usize,
    /// Opt-in refresh-ahead: when a verify sees less than this much freshness left, it starts
    /// a background refresh so no request waits for a fetch. Each key set picks a random
    /// point in the first half of the window, so many instances do not refresh in lockstep.
    /// Default: off.
    pub refresh_ahead: Option<Duration>,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            ttl: Duration::from_secs(600),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            refresh_cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(24 * 3600),
            negative_cache_capacity: 1024,
            fetch_timeout: Duration::from_secs(5),
            max_body_bytes: 1 << 20,
            max_kidless_candidates: 4,
            refresh_ahead: None,
        }
    }
}

impl CachePolicy {
    /// The longest duration any field accepts: 365 days. Longer values are refused by
    /// [`VerifierBuilder::build`](crate::VerifierBuilder::build) (they mean "never" in
    /// practice, and past moka's and the clock's limits they would panic).
    pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

    /// Refuses values that would panic the key cache or defeat its protections.
    pub(crate) fn validate(&self) -> Result<(), AuthError> {
        let durations = [
            ("ttl", Some(self.ttl)),
            ("min_ttl", Some(self.min_ttl)),
            ("max_ttl", Some(self.max_ttl)),
            ("refresh_cooldown", Some(self.refresh_cooldown)),
            ("max_stale", Some(self.max_stale)),
            ("fetch_timeout", Some(self.fetch_timeout)),
            ("refresh_ahead", self.refresh_ahead),
        ];
        for (name, value) in durations {
            if value.is_some_and(|value| value > Self::MAX_DURATION) {
                return Err(AuthError::config(format!(
                    "cache policy: `{name}` exceeds 365 days"
                )));
            }
        }
        // Zero freshness or cooldown would fetch on every verify (or every unknown kid); a
        // zero timeout or body cap would fail every fetch.
        let zero = [
            ("ttl", self.ttl.is_zero()),
            ("min_ttl", self.min_ttl.is_zero()),
            ("refresh_cooldown", self.refresh_cooldown.is_zero()),
            ("fetch_timeout", self.fetch_timeout.is_zero()),
            ("max_body_bytes", self.max_body_bytes == 0),
        ];
        if let Some((name, _)) = zero.iter().find(|(_, is_zero)| *is_zero) {
            return Err(AuthError::config(format!(
                "cache policy: `{name}` must not be zero"
            )));
        }
        if self.min_ttl > self.max_ttl {
            return Err(AuthError::config(
                "cache policy: `min_ttl` exceeds `max_ttl`",
            ));
        }
        Ok(())
    }
}

macro_rules! policy_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl CachePolicy {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

policy_setters! {
    /// Sets [`CachePolicy::ttl`].
    ttl: Duration;
    /// Sets [`CachePolicy::min_ttl`].
    min_ttl: Duration;
    /// Sets [`CachePolicy::max_ttl`].
    max_ttl: Duration;
    /// Sets [`CachePolicy::refresh_cooldown`].
    refresh_cooldown: Duration;
    /// Sets [`CachePolicy::max_stale`].
    max_stale: Duration;
    /// Sets [`CachePolicy::negative_cache_capacity`].
    negative_cache_capacity: u64;
    /// Sets [`CachePolicy::fetch_timeout`].
    fetch_timeout: Duration;
    /// Sets [`CachePolicy::max_body_bytes`].
    max_body_bytes: usize;
    /// Sets [`CachePolicy::max_kidless_candidates`].
    max_kidless_candidates: usize;
    /// Sets [`CachePolicy::refresh_ahead`].
    refresh_ahead: Option<Duration>;
}

/// Counters of the key fetcher, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyStats {
    /// JWKS fetches attempted.
    pub fetches: u64,
    /// Fetches that failed (HTTP, timeout, size, unusable document).
    pub fetch_failures: u64,
    /// Fetches triggered by an unknown `kid`.
    pub unknown_kid_refreshes: u64,
    /// Tokens rejected because their `kid` stayed unknown.
    pub unknown_kid_rejections: u64,
    /// Rejections answered from the negative cache, without a fetch.
    pub negative_cache_hits: u64,
    /// Verifications served from stale keys after a failed refresh.
    pub stale_serves: u64,
    /// Unknown kids currently remembered.
    pub negative_cache_entries: u64,
    /// Usable keys in the current set.
    pub keys: usize,
}

#[derive(Default)]
struct Counters {
    fetches: AtomicU64,
    fetch_failures: AtomicU64,
    unknown_kid_refreshes: AtomicU64,
    unknown_kid_rejections: AtomicU64,
    negative_cache_hits: AtomicU64,
    stale_serves: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A parsed key set and when it stops being fresh.
#[derive(Debug)]
pub(crate) struct KeySet {
    keys: Vec<VerifyingKey>,
    by_kid: HashMap<Box<str>, usize>,
    ids: HashSet<KeyId>,
    fetched_at: Duration,
    fresh_until: Duration,
    /// When refresh-ahead should start (jittered); `Duration::MAX` when off.
    refresh_at: Duration,
}

impl KeySet {
    fn new(keys: Vec<VerifyingKey>, fetched_at: Duration, fresh_until: Duration) -> Self {
        let by_kid = keys
            .iter()
            .enumerate()
            .filter_map(|(i, key)| key.kid.clone().map(|kid| (kid, i)))
            .collect();
        let ids = keys.iter().map(|key| key.id).collect();
        KeySet {
            keys,
            by_kid,
            ids,
            fetched_at,
            fresh_until,
            refresh_at: Duration::MAX,
        }
    }

    /// The key named `kid`, for the hot path.
    pub(crate) fn by_kid(&self, kid: &str) -> Option<&VerifyingKey> {
        self.by_kid.get(kid).map(|&i| &self.keys[i])
    }

    /// Whether this set can answer for (`kid`, `alg`) without a refresh: the kid exists
    /// (even if its key does not fit `alg`), or, for a kid-less token or a set without kids,
    /// some key fits `alg`.
    pub(crate) fn knows(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        match kid {
            Some(kid) if !self.by_kid.is_empty() => self.by_kid.contains_key(kid),
            // A set without any kid (a PEM key, a shared secret) cannot be matched by kid:
            // a token naming one is treated as if it named none.
            _ => self.keys.iter().any(|key| key.supports(alg)),
        }
    }

    /// Verifies `signature` over `message` with the key for (`kid`, `alg`) and returns that
    /// key. A kid-less token tries at most `max_kidless` keys that fit `alg`. No allocation.
    pub(crate) fn verify(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
        max_kidless: usize,
    ) -> Result<&VerifyingKey, AuthError> {
        if let Some(kid) = kid.filter(|_| !self.by_kid.is_empty()) {
            let key = self.by_kid(kid).ok_or_else(AuthError::unknown_key)?;
            return key.verify(alg, message, signature).map(|()| key);
        }
        let mut candidates = self
            .keys
            .iter()
            .filter(|key| key.supports(alg))
            .take(max_kidless)
            .peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::unknown_key());
        }
        candidates
            .find(|key| key.verify(alg, message, signature).is_ok())
            .ok_or_else(AuthError::invalid_signature)
    }

    /// Whether this exact key (kid, algorithms and material) is in the set. No allocation.
    pub(crate) fn holds(&self, id: KeyId) -> bool {
        self.ids.contains(&id)
    }
}

#[derive(Debug)]
enum Source {
    Remote {
        location: JwksLocation,
        client: reqwest::Client,
    },
    Static,
}

/// Where the JWK set is: a known URL, or found through OpenID Connect discovery.
#[derive(Debug)]
pub(crate) enum JwksLocation {
    /// A fixed JWKS URL.
    Fixed(Url),
    /// `{issuer}/.well-known/openid-configuration`; its `jwks_uri` is remembered until a
    /// JWKS fetch fails.
    Discovery {
        issuer: String,
        allow_insecure_http: bool,
        discovered: std::sync::Mutex<Option<Url>>,
    },
}

impl JwksLocation {
    /// Discovery for `issuer`, checked against the same URL rules as a JWKS URL.
    pub(crate) fn discovery(issuer: &str, allow_insecure_http: bool) -> Result<Self, AuthError> {
        check_url(&discovery_url(issuer), allow_insecure_http)?;
        Ok(JwksLocation::Discovery {
            issuer: issuer.to_owned(),
            allow_insecure_http,
            discovered: std::sync::Mutex::new(None),
        })
    }
}

fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Checks a `jwks_uri` found through discovery of `issuer`: the JWKS URL rules, and plain
/// http only for a loopback issuer (or with `allow_insecure_http`). A remote issuer's
/// document must not point its keys at http, not even on loopback: that would let whoever
/// listens there on the verifying machine supply the keys.
fn check_jwks_uri(
    issuer: &str,
    jwks_uri: &str,
    allow_insecure_http: bool,
) -> Result<Url, AuthError> {
    let url = check_url(jwks_uri, allow_insecure_http)?;
    let issuer_is_loopback = Url::parse(issuer).is_ok_and(|issuer| fetch::is_loopback(&issuer));
    if url.scheme() != "https" && !allow_insecure_http && !issuer_is_loopback {
        return Err(AuthError::config(
            "must use https when the issuer is not loopback",
        ));
    }
    Ok(url)
}

#[derive(serde::Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    jwks_uri: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Cold,
    Expired,
    UnknownKid,
    Forced,
    Ahead,
}

type Outcome = Result<Arc<KeySet>, Arc<FetchError>>;

#[derive(Default)]
struct GateState {
    last_outcome: Option<Outcome>,
    last_miss_refresh: Option<Duration>,
    last_failure: Option<Duration>,
}

/// The key cache behind a [`Verifier`](crate::Verifier).
pub(crate) struct KeyStore {
    source: Source,
    allowed: Vec<Algorithm>,
    policy: CachePolicy,
    clock: Arc<dyn Clock>,
    current: RwLock<Option<Arc<KeySet>>>,
    gate: tokio::sync::Mutex<GateState>,
    attempts: AtomicU64,
    negative: moka::sync::Cache<Box<str>, Duration>,
    counters: Counters,
    ahead_in_flight: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("source", &self.source)
            .field("allowed", &self.allowed)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl KeyStore {
    fn with_source(
        source: Source,
        initial: Option<Vec<VerifyingKey>>,
        allowed: Vec<Algorithm>,
        policy: CachePolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let current = initial.map(|keys| Arc::new(KeySet::new(keys, clock.now(), Duration::MAX)));
        let negative = moka::sync::Cache::builder()
            .max_capacity(policy.negative_cache_capacity)
            .time_to_live(policy.refresh_cooldown.max(Duration::from_millis(1)))
            .build();
        KeyStore {
            source,
            allowed,
            policy,
            clock,
            current: RwLock::new(current),
            gate: tokio::sync::Mutex::new(GateState::default()),
            attempts: AtomicU64::new(0),
            negative,
            counters: Counters::default(),
            ahead_in_flight: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A store that fetches `url`.
    pub(crate) fn remote(
        location: JwksLocation,
        client: reqwest::Client,
        allowed: Vec<Algorithm>,
        policy: CachePolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::with_source(
            Source::Remote { location, client },
            None,
            allowed,
            policy,
            clock,
        )
    }

    /// A store over fixed keys that never fetches.
    pub(crate) fn fixed(
        keys: Vec<VerifyingKey>,
        allowed: Vec<Algorithm>,
        policy: CachePolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::with_source(Source::Static, Some(keys), allowed, policy, clock)
    }

    /// Whether the current key set (fresh or stale) holds the key `id`: the verified-token
    /// cache's check on every hit. A read lock and a hash lookup: no await, no allocation.
    pub(crate) fn holds_key(&self, id: KeyId) -> bool {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_deref()
            .is_some_and(|set| set.holds(id))
    }

    pub(crate) fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Runs `f` on the current key set if it is fresh: the hot path, no await.
    pub(crate) fn with_fresh_set<R>(
        &self,
        now: Duration,
        f: impl FnOnce(&KeySet) -> Option<R>,
    ) -> Option<R> {
        // The guard is held only for this synchronous call, never across an await.
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let set = current.as_deref().filter(|set| now < set.fresh_until)?;
        f(set)
    }

    /// True (once per key set) when refresh-ahead is due; the caller then runs
    /// [`refresh_ahead`](Self::refresh_ahead) in the background.
    pub(crate) fn claim_refresh_ahead(&self, set: &KeySet, now: Duration) -> bool {
        now >= set.refresh_at && !self.ahead_in_flight.swap(true, Ordering::AcqRel)
    }

    /// The background refresh started by [`claim_refresh_ahead`](Self::claim_refresh_ahead).
    pub(crate) async fn refresh_ahead(&self) {
        let _ = self.refresh(Trigger::Ahead).await;
        self.ahead_in_flight.store(false, Ordering::Release);
    }

    /// A key set that can answer for (`kid`, `alg`), fetching or refreshing as the policy allows.
    pub(crate) async fn resolve(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<KeySet>, AuthError> {
        let Some(mut set) = self.snapshot() else {
            let set = self.refresh(Trigger::Cold).await.map_err(unavailable)?;
            return self.after_refresh(set, kid, alg);
        };
        let now = self.clock.now();
        if now >= set.fresh_until {
            let within_max_stale = now <= set.fetched_at.saturating_add(self.policy.max_stale);
            // Stale-while-revalidate: while another caller is already refreshing, answer from
            // the cached keys instead of queueing behind a possibly slow provider.
            if within_max_stale && set.knows(kid, alg) && self.gate.try_lock().is_err() {
                bump(&self.counters.stale_serves);
                tracing::debug!(target: "jwks_auth::keys", "refresh in flight; serving cached keys");
                return Ok(set);
            }
            match self.refresh(Trigger::Expired).await {
                Ok(fresh) => set = fresh,
                Err(err) => {
                    if !within_max_stale {
                        return Err(unavailable(err));
                    }
                    bump(&self.counters.stale_serves);
                    tracing::warn!(target: "jwks_auth::keys", error = %err, "refresh failed; serving stale keys");
                }
            }
        }
        if set.knows(kid, alg) {
            return Ok(set);
        }
        let (Some(kid), Source::Remote { .. }) = (kid, &self.source) else {
            return self.reject_unknown(None);
        };
        if let Some(seen) = self.negative.get(kid) {
            if now < seen.saturating_add(self.policy.refresh_cooldown) {
                bump(&self.counters.negative_cache_hits);
                return self.reject_unknown(None);
            }
        }
        tracing::debug!(target: "jwks_auth::keys", "unknown kid; refresh requested");
        match self.refresh(Trigger::UnknownKid).await {
            Ok(fresh) => self.after_refresh(fresh, Some(kid), alg),
            // Another caller's refresh may have installed the kid between our look and our
            // (cooled-down) attempt: look again before rejecting and remembering it.
            Err(_) => match self.snapshot() {
                Some(latest) if latest.knows(Some(kid), alg) => Ok(latest),
                _ => self.reject_unknown(Some(kid)),
            },
        }
    }

    fn after_refresh(
        &self,
        set: Arc<KeySet>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<KeySet>, AuthError> {
        if set.knows(kid, alg) {
            Ok(set)
        } else {
            self.reject_unknown(kid)
        }
    }

    fn reject_unknown(&self, remember: Option<&str>) -> Result<Arc<KeySet>, AuthError> {
        if let Some(kid) = remember {
            self.negative.insert(kid.into(), self.clock.now());
        }
        bump(&self.counters.unknown_kid_rejections);
        Err(AuthError::unknown_key())
    }

    /// Fetches now, ignoring freshness and cooldown (used by `warm_up`).
    pub(crate) async fn force_refresh(&self) -> Result<(), AuthError> {
        match self.source {
            Source::Static => Ok(()),
            Source::Remote { .. } => self
                .refresh(Trigger::Forced)
                .await
                .map(drop)
                .map_err(unavailable),
        }
    }

    /// Single-flight refresh: one caller fetches, callers that queued meanwhile share its outcome.
    async fn refresh(&self, trigger: Trigger) -> Outcome {
        let Source::Remote { location, client } = &self.source else {
            return self
                .snapshot()
                .ok_or_else(|| Arc::new(FetchError::Invalid("no keys".into())));
        };
        let seen = self.attempts.load(Ordering::Acquire);
        let mut gate = self.gate.lock().await;
        if self.attempts.load(Ordering::Acquire) != seen {
            if let Some(outcome) = &gate.last_outcome {
                return outcome.clone();
            }
        }
        let now = self.clock.now();
        let cooldown = self.policy.refresh_cooldown;
        let cooling =
            |since: Option<Duration>| since.is_some_and(|t| now < t.saturating_add(cooldown));
        if trigger != Trigger::Forced {
            if trigger == Trigger::UnknownKid && cooling(gate.last_miss_refresh) {
                return Err(Arc::new(FetchError::Invalid("refresh cooldown".into())));
            }
            if cooling(gate.last_failure) {
                if let Some(Err(err)) = &gate.last_outcome {
                    return Err(err.clone());
                }
            }
        }
        if trigger == Trigger::UnknownKid {
            gate.last_miss_refresh = Some(now);
            bump(&self.counters.unknown_kid_refreshes);
        }
        bump(&self.counters.fetches);
        tracing::debug!(target: "jwks_auth::keys", ?trigger, "fetching JWKS");
        let outcome = self.fetch_set(location, client).await.map_err(Arc::new);
        match &outcome {
            Ok(set) => {
                gate.last_failure = None;
                self.install(set.clone());
            }
            Err(err) => {
                gate.last_failure = Some(now);
                bump(&self.counters.fetch_failures);
                tracing::warn!(target: "jwks_auth::keys", error = %err, "JWKS fetch failed");
            }
        }
        gate.last_outcome = Some(outcome.clone());
        self.attempts.fetch_add(1, Ordering::Release);
        outcome
    }

    /// The JWKS URL, running OIDC discovery first when needed.
    async fn jwks_url(
        &self,
        location: &JwksLocation,
        client: &reqwest::Client,
    ) -> Result<Url, FetchError> {
        let (issuer, allow_insecure_http, discovered) = match location {
            JwksLocation::Fixed(url) => return Ok(url.clone()),
            JwksLocation::Discovery {
                issuer,
                allow_insecure_http,
                discovered,
            } => (issuer, *allow_insecure_http, discovered),
        };
        if let Some(url) = discovered.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(url);
        }
        let config_url = check_url(&discovery_url(issuer), allow_insecure_http)
            .map_err(|e| FetchError::Invalid(e.to_string()))?;
        let fetched = fetch::fetch(
            client,
            &config_url,
            self.policy.fetch_timeout,
            self.policy.max_body_bytes,
        )
        .await?;
        let document: DiscoveryDocument = serde_json::from_slice(&fetched.body)
            .map_err(|_| FetchError::Invalid("not an OpenID configuration document".into()))?;
        // OIDC Discovery §4.3: the document must be for exactly the issuer we asked about.
        if document.issuer != *issuer {
            return Err(FetchError::Invalid(
                "discovery document names another issuer".into(),
            ));
        }
        let url = check_jwks_uri(issuer, &document.jwks_uri, allow_insecure_http)
            .map_err(|e| FetchError::Invalid(format!("jwks_uri: {e}")))?;
        tracing::debug!(target: "jwks_auth::keys", "OIDC discovery found the JWKS URL");
        *discovered.lock().unwrap_or_else(|p| p.into_inner()) = Some(url.clone());
        Ok(url)
    }

    async fn fetch_set(
        &self,
        location: &JwksLocation,
        client: &reqwest::Client,
    ) -> Result<Arc<KeySet>, FetchError> {
        let url = self.jwks_url(location, client).await?;
        let fetched = fetch::fetch(
            client,
            &url,
            self.policy.fetch_timeout,
            self.policy.max_body_bytes,
        )
        .await;
        if fetched.is_err() {
            if let JwksLocation::Discovery { discovered, .. } = location {
                // The provider may have moved its keys: discover again next time.
                *discovered.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
        }
        let fetched = fetched?;
        let parsed =
            jwk::parse_jwk_set(&fetched.body, &self.allowed).map_err(FetchError::Invalid)?;
        for reason in &parsed.skipped {
            tracing::warn!(target: "jwks_auth::keys", "skipped {reason}");
        }
        if parsed.keys.is_empty() {
            return Err(FetchError::Invalid("no usable signing key".into()));
        }
        let ttl = fetched
            .max_age
            // Not `clamp`: it panics when min > max (refused by `validate`, never trusted here).
            .map(|age| age.max(self.policy.min_ttl).min(self.policy.max_ttl))
            .unwrap_or(self.policy.ttl);
        let now = self.clock.now();
        tracing::info!(target: "jwks_auth::keys", keys = parsed.keys.len(), ttl_secs = ttl.as_secs(), "JWKS refreshed");
        let mut set = KeySet::new(parsed.keys, now, now.saturating_add(ttl));
        if let Some(ahead) = self.policy.refresh_ahead {
            let ahead = ahead.min(ttl);
            set.refresh_at = set.fresh_until.saturating_sub(ahead) + jitter(ahead / 2);
        }
        Ok(Arc::new(set))
    }

    fn install(&self, set: Arc<KeySet>) {
        let previous = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .replace(set);
        // The old set is dropped outside the lock.
        drop(previous);
    }

    pub(crate) fn stats(&self) -> KeyStats {
        self.negative.run_pending_tasks();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        KeyStats {
            fetches: load(&self.counters.fetches),
            fetch_failures: load(&self.counters.fetch_failures),
            unknown_kid_refreshes: load(&self.counters.unknown_kid_refreshes),
            unknown_kid_rejections: load(&self.counters.unknown_kid_rejections),
            negative_cache_hits: load(&self.counters.negative_cache_hits),
            stale_serves: load(&self.counters.stale_serves),
            negative_cache_entries: self.negative.entry_count(),
            keys: self.snapshot().map_or(0, |set| set.keys.len()),
        }
    }
}

/// A random duration in `[0, max)`, so instances sharing a provider spread their refreshes.
fn jitter(max: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    if max.is_zero() || aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return Duration::ZERO;
    }
    let millis = max.as_millis().max(1) as u64;
    Duration::from_millis(u64::from_le_bytes(bytes) % millis)
}

fn unavailable(err: Arc<FetchError>) -> AuthError {
    AuthError::keys_unavailable(err.to_string(), Some(Box::new((*err).clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_https_issuer_may_not_send_its_keys_over_http_even_to_loopback() {
        for jwks_uri in [
            "http://127.0.0.1:8080/jwks",
            "http://localhost/jwks",
            "http://[::1]/jwks",
            "http://keys.example.com/jwks",
        ] {
            let err = check_jwks_uri("https://idp.example.com", jwks_uri, false).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{jwks_uri}");
        }
        assert!(check_jwks_uri(
            "https://idp.example.com",
            "https://keys.example.net/jwks",
            false
        )
        .is_ok());
    }

    #[test]
    fn a_loopback_issuer_may_use_loopback_http_keys() {
        for issuer in ["http://127.0.0.1:9000", "https://localhost:9443"] {
            assert!(check_jwks_uri(issuer, "http://127.0.0.1:9000/jwks", false).is_ok());
            assert!(check_jwks_uri(issuer, "http://keys.example.com/jwks", false).is_err());
        }
    }

    #[test]
    fn allow_insecure_http_keeps_allowing_http_jwks_uris() {
        assert!(check_jwks_uri(
            "https://idp.example.com",
            "http://keys.example.com/jwks",
            true
        )
        .is_ok());
        assert!(check_jwks_uri(
            "https://idp.example.com",
            "ftp://keys.example.com/jwks",
            true
        )
        .is_err());
    }
}
