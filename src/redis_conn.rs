//! The Redis plumbing both Redis stores share (feature `redis`): the default key prefix, a
//! quick-failing connection manager, and a time limit on each command.
//! [`RedisRevocationStore`](crate::revocation::RedisRevocationStore) and
//! [`RedisReplayStore`](crate::dpop::RedisReplayStore) build on it.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError};

use crate::error::StoreError;

/// The default prefix of every key and channel.
pub(crate) const DEFAULT_PREFIX: &str = "jwks-auth:";

/// A connection manager that gives up quickly: the revocation sync loop retries on its own,
/// and a replay check that cannot answer refuses the proof rather than wait.
pub(crate) fn manager(
    client: &Client,
    timeout: Duration,
) -> std::result::Result<ConnectionManager, RedisError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(20))
        .set_max_delay(Duration::from_millis(100));
    ConnectionManager::new_lazy_with_config(client.clone(), config)
}

/// A Redis failure, a timeout, or (revocation sync) a closed subscription.
pub(crate) enum SyncError {
    Redis(RedisError),
    Timeout,
    Closed,
}

impl SyncError {
    pub(crate) fn into_store(self, message: &str) -> StoreError {
        match self {
            SyncError::Redis(error) => StoreError::with_source(message, error),
            SyncError::Timeout => StoreError::new(format!("{message}: timed out")),
            SyncError::Closed => StoreError::new(format!("{message}: subscription closed")),
        }
    }
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Redis(error) => write!(f, "{error}"),
            SyncError::Timeout => f.write_str("timed out"),
            SyncError::Closed => f.write_str("subscription closed"),
        }
    }
}

impl From<RedisError> for SyncError {
    fn from(error: RedisError) -> Self {
        SyncError::Redis(error)
    }
}

/// `future`, or [`SyncError::Timeout`] after `timeout`.
pub(crate) async fn within<T>(
    timeout: Duration,
    future: impl Future<Output = std::result::Result<T, RedisError>>,
) -> std::result::Result<T, SyncError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(SyncError::Timeout),
    }
}
