//! [`CachePolicy`]: how keys are cached and refreshed, and the limits `build` enforces.

use std::time::Duration;

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
