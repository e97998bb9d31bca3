//! [`RedisReplayStore`]: DPoP proof ids remembered in Redis (feature `redis`), so a proof
//! accepted by one instance of a fleet is a replay on every other.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::Client;

use super::{ReplayStore, StoreFuture};
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, Result};
use crate::expiring_map::MAX_RETENTION;
use crate::redis_conn::{manager, within, DEFAULT_PREFIX};

/// A DPoP [`ReplayStore`] on Redis: one `SET {prefix}dpop:<id> 1 NX PX <ms>` per proof (a
/// round trip per DPoP request is inherent: the proof must be claimed atomically fleet-wide).
/// A proof accepted by one instance is refused as a replay by every other.
///
/// ```no_run
/// # async fn run() -> Result<(), jwks_auth::AuthError> {
/// use jwks_auth::dpop::{DpopMode, RedisReplayStore};
/// use jwks_auth::{Provider, Verifier};
/// use std::sync::Arc;
///
/// let replay = RedisReplayStore::connect("redis://127.0.0.1:6379/")?;
/// let verifier = Verifier::builder(Provider::oidc("https://as.example.com")?)
///     .audience("https://api.example.com")
///     .dpop(DpopMode::Required)
///     .dpop_replay_store(Arc::new(replay))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisReplayStore {
    manager: ConnectionManager,
    prefix: String,
    timeout: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisReplayStore {
    /// A store on the Redis at `url`; the connection is made on first use and re-made after
    /// a failure (a proof checked while Redis is down is refused with
    /// [`ReplayStoreUnavailable`](crate::ErrorKind::ReplayStoreUnavailable)). Prefix
    /// `jwks-auth:`, 500 ms per command.
    ///
    /// # Errors
    /// [`Config`](crate::ErrorKind::Config) for an invalid URL.
    pub fn connect(url: &str) -> Result<Self> {
        let client = Client::open(url).map_err(|_| AuthError::config("invalid redis url"))?;
        let timeout = Duration::from_millis(500);
        let manager =
            manager(&client, timeout).map_err(|_| AuthError::config("invalid redis settings"))?;
        Ok(RedisReplayStore {
            manager,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout,
            clock: Arc::new(SystemClock),
        })
    }

    /// The key prefix. Default: `jwks-auth:`.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The time source `until` is measured against (the verifier's). Default: the system
    /// clock.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

/// A `PX` value that keeps the key at least `ttl` (at least 1 ms, as `PX` requires): rounded
/// down, a proof could pass again in the last sub-millisecond of its window.
fn ttl_millis_rounded_up(ttl: Duration) -> u64 {
    let millis = ttl.as_nanos().div_ceil(1_000_000);
    u64::try_from(millis).unwrap_or(u64::MAX).max(1)
}

impl ReplayStore for RedisReplayStore {
    fn check_and_remember(&self, id: &str, until: Duration) -> StoreFuture<'_> {
        let ttl = until.saturating_sub(self.clock.now()).min(MAX_RETENTION);
        let ttl_ms = ttl_millis_rounded_up(ttl);
        let key = format!("{}dpop:{id}", self.prefix);
        let mut conn = self.manager.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let reply: Option<String> = within(
                timeout,
                ::redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async(&mut conn),
            )
            .await
            .map_err(|e| e.into_store("redis replay check failed"))?;
            Ok(reply.is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_ttl_is_rounded_up_to_the_millisecond() {
        assert_eq!(
            ttl_millis_rounded_up(Duration::from_micros(1_000_001)),
            1_001
        );
        assert_eq!(ttl_millis_rounded_up(Duration::from_millis(1_000)), 1_000);
        assert_eq!(ttl_millis_rounded_up(Duration::ZERO), 1);
        assert_eq!(ttl_millis_rounded_up(Duration::MAX), u64::MAX);
    }
}
