//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`).
//!
//! Every handle is registered once, when the verifier is built, with the provider's name as
//! a label: the hot path only bumps an atomic. Without the feature this module is empty
//! functions that compile to nothing.

#[cfg(feature = "metrics")]
pub(crate) use on::Metrics;

#[cfg(not(feature = "metrics"))]
pub(crate) use off::Metrics;

/// What one introspection of a token came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Introspected {
    /// The endpoint said active (and the answer was cached).
    Active,
    /// The endpoint said inactive.
    Inactive,
    /// The endpoint failed (timeout, status, body).
    Error,
    /// A cached answer served it.
    CacheHit,
}

/// Why a refresh ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FetchOutcome {
    /// A full key set was fetched and installed.
    Ok,
    /// The server answered `304 Not Modified`: the cached set was renewed.
    NotModified,
    /// The fetch failed.
    Error,
}

#[cfg(not(feature = "metrics"))]
mod off {
    use std::time::Duration;

    use super::{FetchOutcome, Introspected};
    use crate::error::ErrorKind;

    /// No metrics: every method is empty.
    #[derive(Debug, Default)]
    pub(crate) struct Metrics;

    #[allow(clippy::unused_self)]
    impl Metrics {
        pub(crate) fn new(_provider: &str) -> Self {
            Metrics
        }
        pub(crate) fn noop() -> Self {
            Metrics
        }
        #[inline(always)]
        pub(crate) fn verification(&self, _outcome: Option<ErrorKind>) {}
        #[inline(always)]
        pub(crate) fn verified_cache(&self, _hit: bool) {}
        #[inline(always)]
        pub(crate) fn fetch(&self, _outcome: FetchOutcome, _elapsed: Duration) {}
        #[inline(always)]
        pub(crate) fn introspection(&self, _outcome: Introspected) {}
        #[inline(always)]
        pub(crate) fn unknown_kid_refresh(&self) {}
        #[inline(always)]
        pub(crate) fn refresh_suppressed(&self) {}
        #[inline(always)]
        pub(crate) fn stale_serve(&self) {}
        #[inline(always)]
        pub(crate) fn key_set(&self, _keys: usize, _fingerprint: &str, _fetched_at: Duration) {}
        #[inline(always)]
        pub(crate) fn renewed(&self, _fetched_at: Duration) {}
    }
}

#[cfg(feature = "metrics")]
mod on {
    use std::sync::Mutex;
    use std::time::Duration;

    use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};

    use super::{FetchOutcome, Introspected};
    use crate::error::ErrorKind;

    /// Every `ErrorKind`, in declaration order (`kind as usize` indexes it).
    const KINDS: [ErrorKind; 24] = [
        ErrorKind::MissingToken,
        ErrorKind::Malformed,
        ErrorKind::UnsupportedAlgorithm,
        ErrorKind::UnknownKey,
        ErrorKind::InvalidSignature,
        ErrorKind::Expired,
        ErrorKind::NotYetValid,
        ErrorKind::InvalidIssuer,
        ErrorKind::InvalidAudience,
        ErrorKind::InvalidAuthorizedParty,
        ErrorKind::InvalidTokenType,
        ErrorKind::MissingClaim,
        ErrorKind::InvalidClaim,
        ErrorKind::Forbidden,
        ErrorKind::KeysUnavailable,
        ErrorKind::Config,
        ErrorKind::InvalidDpopProof,
        ErrorKind::DpopReplayed,
        ErrorKind::UseDpopNonce,
        ErrorKind::ReplayStoreUnavailable,
        ErrorKind::BindingMismatch,
        ErrorKind::Revoked,
        ErrorKind::RevocationStoreUnavailable,
        ErrorKind::Inactive,
    ];

    /// The handles of one verifier, labelled with its provider.
    pub(crate) struct Metrics {
        provider: String,
        verified: Counter,
        rejected: Vec<Counter>,
        fetch_ok: Counter,
        fetch_not_modified: Counter,
        fetch_error: Counter,
        fetch_seconds: Histogram,
        unknown_kid_refreshes: Counter,
        refreshes_suppressed: Counter,
        stale_serves: Counter,
        introspections: [Counter; 3],
        introspection_hits: Counter,
        cache_hits: Counter,
        cache_misses: Counter,
        keys: Gauge,
        last_success: Gauge,
        fingerprint: Mutex<Option<String>>,
    }

    impl std::fmt::Debug for Metrics {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Metrics")
                .field("provider", &self.provider)
                .finish_non_exhaustive()
        }
    }

    impl Metrics {
        /// Registers every handle with the recorder installed now.
        pub(crate) fn new(provider: &str) -> Self {
            let p = provider.to_owned();
            let outcome = |outcome: &'static str| counter!("jwks_auth_verifications_total", "provider" => p.clone(), "outcome" => outcome);
            let fetch = |outcome: &'static str| counter!("jwks_auth_jwks_fetches_total", "provider" => p.clone(), "outcome" => outcome);
            debug_assert!(KINDS.iter().enumerate().all(|(i, k)| *k as usize == i));
            Metrics {
                verified: outcome("ok"),
                rejected: KINDS.iter().map(|kind| outcome(kind.as_str())).collect(),
                fetch_ok: fetch("ok"),
                fetch_not_modified: fetch("not-modified"),
                fetch_error: fetch("error"),
                fetch_seconds: histogram!("jwks_auth_jwks_fetch_duration_seconds", "provider" => p.clone()),
                unknown_kid_refreshes: counter!("jwks_auth_unknown_kid_refreshes_total", "provider" => p.clone()),
                refreshes_suppressed: counter!("jwks_auth_refreshes_suppressed_total", "provider" => p.clone()),
                stale_serves: counter!("jwks_auth_stale_serves_total", "provider" => p.clone()),
                introspections: ["active", "inactive", "error"].map(|outcome| {
                    counter!("jwks_auth_introspections_total", "provider" => p.clone(), "outcome" => outcome)
                }),
                introspection_hits: counter!("jwks_auth_introspection_cache_hits_total", "provider" => p.clone()),
                cache_hits: counter!("jwks_auth_verified_cache_hits_total", "provider" => p.clone()),
                cache_misses: counter!("jwks_auth_verified_cache_misses_total", "provider" => p.clone()),
                keys: gauge!("jwks_auth_keys", "provider" => p.clone()),
                last_success: gauge!("jwks_auth_jwks_last_success_timestamp_seconds", "provider" => p.clone()),
                fingerprint: Mutex::new(None),
                provider: p,
            }
        }

        /// Handles that record nothing (until [`new`](Self::new) replaces them).
        pub(crate) fn noop() -> Self {
            Metrics {
                provider: String::new(),
                verified: Counter::noop(),
                rejected: Vec::new(),
                fetch_ok: Counter::noop(),
                fetch_not_modified: Counter::noop(),
                fetch_error: Counter::noop(),
                fetch_seconds: Histogram::noop(),
                unknown_kid_refreshes: Counter::noop(),
                refreshes_suppressed: Counter::noop(),
                stale_serves: Counter::noop(),
                introspections: [Counter::noop(), Counter::noop(), Counter::noop()],
                introspection_hits: Counter::noop(),
                cache_hits: Counter::noop(),
                cache_misses: Counter::noop(),
                keys: Gauge::noop(),
                last_success: Gauge::noop(),
                fingerprint: Mutex::new(None),
            }
        }

        /// One finished verification: `None` when it succeeded.
        #[inline]
        pub(crate) fn verification(&self, outcome: Option<ErrorKind>) {
            match outcome {
                None => self.verified.increment(1),
                Some(kind) => {
                    if let Some(counter) = self.rejected.get(kind as usize) {
                        counter.increment(1);
                    }
                }
            }
        }

        #[inline]
        pub(crate) fn verified_cache(&self, hit: bool) {
            if hit {
                self.cache_hits.increment(1);
            } else {
                self.cache_misses.increment(1);
            }
        }

        pub(crate) fn fetch(&self, outcome: FetchOutcome, elapsed: Duration) {
            match outcome {
                FetchOutcome::Ok => self.fetch_ok.increment(1),
                FetchOutcome::NotModified => self.fetch_not_modified.increment(1),
                FetchOutcome::Error => self.fetch_error.increment(1),
            }
            self.fetch_seconds.record(elapsed.as_secs_f64());
        }

        pub(crate) fn introspection(&self, outcome: Introspected) {
            match outcome {
                Introspected::Active => self.introspections[0].increment(1),
                Introspected::Inactive => self.introspections[1].increment(1),
                Introspected::Error => self.introspections[2].increment(1),
                Introspected::CacheHit => self.introspection_hits.increment(1),
            }
        }

        pub(crate) fn unknown_kid_refresh(&self) {
            self.unknown_kid_refreshes.increment(1);
        }

        pub(crate) fn refresh_suppressed(&self) {
            self.refreshes_suppressed.increment(1);
        }

        pub(crate) fn stale_serve(&self) {
            self.stale_serves.increment(1);
        }

        /// A key set was installed: keys held, last success, and the fingerprint info metric
        /// (the previous fingerprint's series drops to 0).
        pub(crate) fn key_set(&self, keys: usize, fingerprint: &str, fetched_at: Duration) {
            self.keys.set(keys as f64);
            self.renewed(fetched_at);
            let mut current = self
                .fingerprint
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if current.as_deref() == Some(fingerprint) {
                return;
            }
            if let Some(previous) = current.take() {
                gauge!("jwks_auth_key_set_info", "provider" => self.provider.clone(), "fingerprint" => previous).set(0.0);
            }
            gauge!("jwks_auth_key_set_info", "provider" => self.provider.clone(), "fingerprint" => fingerprint.to_owned()).set(1.0);
            *current = Some(fingerprint.to_owned());
        }

        /// The current set was confirmed (a full fetch or a `304`) at `fetched_at`.
        pub(crate) fn renewed(&self, fetched_at: Duration) {
            self.last_success.set(fetched_at.as_secs_f64());
        }
    }
}
