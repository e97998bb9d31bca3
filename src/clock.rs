//! Time source for token checks and cache policy, replaceable in tests.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of "now" as time since the Unix epoch.
///
/// The verifier reads it for `exp`/`nbf`/`iat` and for every cache decision (TTL, refresh
/// cooldown, staleness), so a test that moves a [`ManualClock`] moves all of them.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current time since the Unix epoch.
    fn now(&self) -> Duration;
}

/// The system wall clock (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use jwks_auth::{Clock, ManualClock};
/// use std::time::Duration;
/// let clock = ManualClock::at_unix(1_700_000_000);
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now().as_secs(), 1_700_000_090);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at `secs` seconds after the epoch.
    pub fn at_unix(secs: u64) -> Self {
        let clock = Self::default();
        clock.set(Duration::from_secs(secs));
        clock
    }

    /// A clock starting at the current system time.
    pub fn starting_now() -> Self {
        let clock = Self::default();
        clock.set(SystemClock.now());
        clock
    }

    /// Sets the time.
    pub fn set(&self, since_epoch: Duration) {
        self.millis
            .store(since_epoch.as_millis() as u64, Ordering::SeqCst);
    }

    /// The current time in whole seconds since the epoch (handy for token timestamps).
    pub fn now_secs(&self) -> i64 {
        (self.millis.load(Ordering::SeqCst) / 1000) as i64
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        self.millis
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }
}
