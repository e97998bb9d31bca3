//! [`KeyStore`]: the cache in front of a key source: single-flight refresh, cooldown,
//! stale-if-error, refresh-ahead, the negative cache of unknown kids, and the counters.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use std::time::Duration;

use super::discovery::JwksLocation;
use super::fetch::{self, Conditional};
use super::jwk::{self, KeyId, VerifyingKey};
use super::key_set::KeySet;
use super::CachePolicy;
use crate::algorithm::Algorithm;
use crate::clock::Clock;
use crate::error::{AuthError, FetchError};
use crate::metrics::{FetchOutcome, Metrics};

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

#[derive(Debug)]
enum Source {
    Remote {
        location: JwksLocation,
        client: reqwest::Client,
    },
    Static,
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
    /// Read on every verification (and every verified-token cache hit) on every core: a
    /// load writes nothing other cores share, unlike a lock's reader count.
    current: ArcSwapOption<KeySet>,
    gate: tokio::sync::Mutex<GateState>,
    attempts: AtomicU64,
    negative: moka::sync::Cache<Box<str>, Duration>,
    counters: Counters,
    ahead_in_flight: AtomicBool,
    metrics: Metrics,
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
            current: ArcSwapOption::new(current),
            gate: tokio::sync::Mutex::new(GateState::default()),
            attempts: AtomicU64::new(0),
            negative,
            counters: Counters::default(),
            ahead_in_flight: AtomicBool::new(false),
            metrics: Metrics::noop(),
        }
    }

    /// Registers this store's metrics (feature `metrics`) under `provider`, and reports the
    /// fixed keys of a store that never fetches.
    pub(crate) fn labelled(mut self, provider: &str) -> Self {
        self.metrics = Metrics::new(provider);
        if let Some(set) = self.snapshot() {
            self.metrics
                .key_set(set.len(), set.fingerprint(), set.fetched_at);
        }
        self
    }

    /// The metric handles (empty without the `metrics` feature).
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
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
    /// cache's check on every hit. A load and a binary search: no await, no allocation.
    pub(crate) fn holds_key(&self, id: KeyId) -> bool {
        self.current
            .load()
            .as_deref()
            .is_some_and(|set| set.holds(id))
    }

    pub(crate) fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.current.load_full()
    }

    /// Runs `f` on the current key set if it is fresh: the hot path, no await.
    pub(crate) fn with_fresh_set<R>(
        &self,
        now: Duration,
        f: impl FnOnce(&KeySet) -> Option<R>,
    ) -> Option<R> {
        // The guard is held only for this synchronous call, never across an await.
        let current = self.current.load();
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
                self.metrics.stale_serve();
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
                    self.metrics.stale_serve();
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
                self.metrics.refresh_suppressed();
                return Err(Arc::new(FetchError::Invalid("refresh cooldown".into())));
            }
            if cooling(gate.last_failure) {
                if let Some(Err(err)) = &gate.last_outcome {
                    self.metrics.refresh_suppressed();
                    return Err(err.clone());
                }
            }
        }
        if trigger == Trigger::UnknownKid {
            gate.last_miss_refresh = Some(now);
            bump(&self.counters.unknown_kid_refreshes);
            self.metrics.unknown_kid_refresh();
        }
        bump(&self.counters.fetches);
        tracing::debug!(target: "jwks_auth::keys", ?trigger, "fetching JWKS");
        let started = std::time::Instant::now();
        let outcome = self.fetch_set(location, client).await;
        let elapsed = started.elapsed();
        let outcome = match outcome {
            Ok((set, renewed)) => {
                gate.last_failure = None;
                if renewed {
                    self.metrics.fetch(FetchOutcome::NotModified, elapsed);
                    self.metrics.renewed(set.fetched_at);
                } else {
                    self.metrics.fetch(FetchOutcome::Ok, elapsed);
                    self.metrics
                        .key_set(set.len(), set.fingerprint(), set.fetched_at);
                }
                self.install(set.clone());
                Ok(set)
            }
            Err(err) => {
                self.metrics.fetch(FetchOutcome::Error, elapsed);
                gate.last_failure = Some(now);
                bump(&self.counters.fetch_failures);
                tracing::warn!(target: "jwks_auth::keys", error = %err, "JWKS fetch failed");
                Err(Arc::new(err))
            }
        };
        gate.last_outcome = Some(outcome.clone());
        self.attempts.fetch_add(1, Ordering::Release);
        outcome
    }

    /// Fetches the key set, conditionally when the current set has validators. Returns the
    /// set to install and whether it is the current one renewed by a `304`.
    async fn fetch_set(
        &self,
        location: &JwksLocation,
        client: &reqwest::Client,
    ) -> Result<(Arc<KeySet>, bool), FetchError> {
        let url = location.url(client, &self.policy).await?;
        let current = self.snapshot();
        let validators = current
            .as_ref()
            .map(|set| set.validators.clone())
            .unwrap_or_default();
        let fetched = fetch::fetch_conditional(
            client,
            &url,
            self.policy.fetch_timeout,
            self.policy.max_body_bytes,
            &validators,
        )
        .await;
        if fetched.is_err() {
            // The provider may have moved its keys: discover again next time.
            location.forget_discovered();
        }
        let fetched = match fetched? {
            Conditional::Full(fetched) => fetched,
            Conditional::NotModified { max_age } => {
                // Validators were sent, so there is a current set; without one, refuse.
                let current = current.ok_or(FetchError::Status {
                    status: 304,
                    retry_after: None,
                })?;
                // RFC 9111 §4.3.4: a 304's headers update the stored ones; without a
                // Cache-Control of its own, the stored response's applies.
                let ttl = self.ttl(max_age.or(current.max_age));
                let now = self.clock.now();
                tracing::debug!(target: "jwks_auth::keys", ttl_secs = ttl.as_secs(), "JWKS not modified");
                let set = self.schedule(current.renewed(now, now.saturating_add(ttl)), ttl);
                return Ok((Arc::new(set), true));
            }
        };
        let parsed =
            jwk::parse_jwk_set(&fetched.body, &self.allowed).map_err(FetchError::Invalid)?;
        for reason in &parsed.skipped {
            tracing::warn!(target: "jwks_auth::keys", "skipped {reason}");
        }
        if parsed.keys.is_empty() {
            return Err(FetchError::Invalid("no usable signing key".into()));
        }
        let ttl = self.ttl(fetched.max_age);
        let now = self.clock.now();
        tracing::info!(target: "jwks_auth::keys", keys = parsed.keys.len(), ttl_secs = ttl.as_secs(), "JWKS refreshed");
        let mut set = KeySet::new(parsed.keys, now, now.saturating_add(ttl));
        set.validators = fetched.validators;
        set.max_age = fetched.max_age;
        Ok((Arc::new(self.schedule(set, ttl)), false))
    }

    /// The freshness lifetime for a response's `max-age`, within the policy's bounds.
    fn ttl(&self, max_age: Option<Duration>) -> Duration {
        max_age
            // Not `clamp`: it panics when min > max (refused by `validate`, never trusted here).
            .map(|age| age.max(self.policy.min_ttl).min(self.policy.max_ttl))
            .unwrap_or(self.policy.ttl)
    }

    /// Sets the jittered refresh-ahead point of a set fresh for `ttl`.
    fn schedule(&self, mut set: KeySet, ttl: Duration) -> KeySet {
        if let Some(ahead) = self.policy.refresh_ahead {
            let ahead = ahead.min(ttl);
            set.refresh_at = set.fresh_until.saturating_sub(ahead) + jitter(ahead / 2);
        }
        set
    }

    fn install(&self, set: Arc<KeySet>) {
        self.current.store(Some(set));
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
            keys: self.snapshot().map_or(0, |set| set.len()),
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
