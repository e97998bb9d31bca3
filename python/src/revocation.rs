//! Revocation from Python: the two stores (`InMemoryRevocationStore`,
//! `RedisRevocationStore`) a `Verifier(revocation=...)` takes, and the `Revocations` handle
//! (`verifier.revocations`) a logout handler revokes through.
//!
//! A Redis URL may hold a password: it is never kept here, nor put in a `repr` or an error
//! message (the Rust errors name the failure, not the URL).

use std::time::Duration;

use jwks_auth::revocation::{
    FailurePolicy, InMemoryRevocationStore, RedisRevocationBuilder, RedisRevocationStore,
    Revocations,
};
use jwks_auth::{AuthError, VerifierBuilder};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::{awaitable, block_on, map_err};

/// A duration argument: seconds (an int or a float) or a `datetime.timedelta`.
fn duration_arg(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Duration> {
    let seconds: f64 = if value.hasattr("total_seconds")? {
        value.call_method0("total_seconds")?.extract()?
    } else {
        value.extract().map_err(|_| {
            PyTypeError::new_err(format!("{name} must be seconds or a datetime.timedelta"))
        })?
    };
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| PyValueError::new_err(format!("{name} must not be negative")))
}

/// A `capacity` argument: at least one entry.
fn capacity_arg(capacity: u64) -> PyResult<u64> {
    if capacity == 0 {
        return Err(PyValueError::new_err("capacity must be at least 1"));
    }
    Ok(capacity)
}

/// Revocations kept in this process's memory: for one process (a fleet shares a
/// `RedisRevocationStore`). At most `capacity` entries per kind (token ids, sessions,
/// users); a revocation that does not fit is refused (503), never one that can still match
/// a token evicted. A "revoked before" instant is kept for `max_token_lifetime` after it.
#[pyclass(name = "InMemoryRevocationStore", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyInMemoryRevocationStore {
    inner: InMemoryRevocationStore,
    capacity: u64,
    max_token_lifetime: Duration,
}

#[pymethods]
impl PyInMemoryRevocationStore {
    #[new]
    #[pyo3(signature = (capacity = InMemoryRevocationStore::DEFAULT_CAPACITY, max_token_lifetime = None))]
    fn new(capacity: u64, max_token_lifetime: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let capacity = capacity_arg(capacity)?;
        let max_token_lifetime = match max_token_lifetime {
            Some(value) => duration_arg(value, "max_token_lifetime")?,
            None => InMemoryRevocationStore::DEFAULT_MAX_TOKEN_LIFETIME,
        };
        let inner = InMemoryRevocationStore::new(capacity).max_token_lifetime(max_token_lifetime);
        Ok(PyInMemoryRevocationStore {
            inner,
            capacity,
            max_token_lifetime,
        })
    }

    /// Entries kept per kind.
    #[getter]
    fn capacity(&self) -> u64 {
        self.capacity
    }

    /// How long a "revoked before" instant is kept, in seconds.
    #[getter]
    fn max_token_lifetime(&self) -> f64 {
        self.max_token_lifetime.as_secs_f64()
    }

    fn __repr__(&self) -> String {
        format!(
            "InMemoryRevocationStore(capacity={}, max_token_lifetime={})",
            self.capacity,
            self.max_token_lifetime.as_secs_f64()
        )
    }
}

/// Revocations shared by a fleet through Redis, answered from an in-memory copy kept in sync
/// (no Redis round trip per verify). Built by `await RedisRevocationStore.connect(url)` or
/// `RedisRevocationStore.connect_sync(url)`; its background sync runs on the Rust runtime
/// until the store (and every verifier using it) is gone. A copy not synced within
/// `max_staleness` answers "unavailable": verifies then fail with 503 (or pass, with
/// `revocation_failure="open"`).
#[pyclass(name = "RedisRevocationStore", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyRedisRevocationStore {
    inner: RedisRevocationStore,
    prefix: String,
}

/// `RedisRevocationStore.connect`'s keyword arguments, as a builder (the URL inside it is
/// only ever shown redacted, by its `Debug`).
#[allow(clippy::too_many_arguments)] // the keyword arguments of `connect`
fn redis_builder(
    url: String,
    prefix: &str,
    max_token_lifetime: Option<&Bound<'_, PyAny>>,
    capacity: u64,
    sync_interval: Option<&Bound<'_, PyAny>>,
    max_staleness: Option<&Bound<'_, PyAny>>,
    response_timeout: Option<&Bound<'_, PyAny>>,
) -> PyResult<RedisRevocationBuilder> {
    let mut builder = RedisRevocationStore::builder(url)
        .prefix(prefix)
        .capacity(capacity_arg(capacity)?);
    if let Some(value) = max_token_lifetime {
        builder = builder.max_token_lifetime(duration_arg(value, "max_token_lifetime")?);
    }
    if let Some(value) = sync_interval {
        builder = builder.sync_interval(duration_arg(value, "sync_interval")?);
    }
    if let Some(value) = max_staleness {
        builder = builder.max_staleness(duration_arg(value, "max_staleness")?);
    }
    if let Some(value) = response_timeout {
        builder = builder.response_timeout(duration_arg(value, "response_timeout")?);
    }
    Ok(builder)
}

#[pymethods]
impl PyRedisRevocationStore {
    /// `await RedisRevocationStore.connect("redis://host:6379/0")`: connects, reads the
    /// current revocations and starts following changes. Raises `ConfigError` for an invalid
    /// URL or setting, `RevocationStoreUnavailable` when Redis cannot be read now.
    #[staticmethod]
    #[pyo3(signature = (
        url, *, prefix = "jwks-auth:", max_token_lifetime = None,
        capacity = InMemoryRevocationStore::DEFAULT_CAPACITY, sync_interval = None,
        max_staleness = None, response_timeout = None,
    ))]
    #[allow(clippy::too_many_arguments)] // keyword arguments of the Python method
    fn connect<'py>(
        py: Python<'py>,
        url: String,
        prefix: &str,
        max_token_lifetime: Option<&Bound<'_, PyAny>>,
        capacity: u64,
        sync_interval: Option<&Bound<'_, PyAny>>,
        max_staleness: Option<&Bound<'_, PyAny>>,
        response_timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let builder = redis_builder(
            url,
            prefix,
            max_token_lifetime,
            capacity,
            sync_interval,
            max_staleness,
            response_timeout,
        )?;
        let prefix = prefix.to_owned();
        // Polled on the runtime (`awaitable`), so the sync task is spawned on it.
        awaitable(py, async move {
            builder
                .connect()
                .await
                .map(|inner| PyRedisRevocationStore { inner, prefix })
        })
    }

    /// `connect`, blocking (the GIL is released); the sync task runs on the Rust runtime.
    #[staticmethod]
    #[pyo3(signature = (
        url, *, prefix = "jwks-auth:", max_token_lifetime = None,
        capacity = InMemoryRevocationStore::DEFAULT_CAPACITY, sync_interval = None,
        max_staleness = None, response_timeout = None,
    ))]
    #[allow(clippy::too_many_arguments)] // keyword arguments of the Python method
    fn connect_sync(
        py: Python<'_>,
        url: String,
        prefix: &str,
        max_token_lifetime: Option<&Bound<'_, PyAny>>,
        capacity: u64,
        sync_interval: Option<&Bound<'_, PyAny>>,
        max_staleness: Option<&Bound<'_, PyAny>>,
        response_timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let builder = redis_builder(
            url,
            prefix,
            max_token_lifetime,
            capacity,
            sync_interval,
            max_staleness,
            response_timeout,
        )?;
        let inner = map_err(block_on(py, builder.connect()))?;
        Ok(PyRedisRevocationStore {
            inner,
            prefix: prefix.to_owned(),
        })
    }

    /// Whether the in-memory copy was synced from Redis within `max_staleness`.
    #[getter]
    fn is_fresh(&self) -> bool {
        self.inner.is_fresh()
    }

    /// The prefix of every key and of the channel.
    #[getter]
    fn prefix(&self) -> &str {
        &self.prefix
    }

    fn __repr__(&self) -> String {
        // No URL: it may hold a password.
        format!(
            "RedisRevocationStore(prefix={:?}, fresh={})",
            self.prefix,
            if self.inner.is_fresh() {
                "True"
            } else {
                "False"
            }
        )
    }
}

/// Turns revocation on in `builder` when `store` is given (one of the two store classes).
pub(crate) fn configure(
    mut builder: VerifierBuilder,
    store: Option<&Bound<'_, PyAny>>,
    failure: &str,
) -> PyResult<VerifierBuilder> {
    let policy = match failure {
        "closed" => FailurePolicy::Closed,
        "open" => FailurePolicy::Open,
        _ => {
            return Err(PyValueError::new_err(
                "revocation_failure must be \"closed\" or \"open\"",
            ))
        }
    };
    let Some(store) = store else {
        return Ok(builder);
    };
    if let Ok(memory) = store.cast::<PyInMemoryRevocationStore>() {
        builder = builder.revocation(memory.get().inner.clone());
    } else if let Ok(redis) = store.cast::<PyRedisRevocationStore>() {
        builder = builder.revocation(redis.get().inner.clone());
    } else {
        return Err(PyTypeError::new_err(
            "revocation must be an InMemoryRevocationStore or a RedisRevocationStore",
        ));
    }
    Ok(builder.revocation_failure(policy))
}

/// Revokes tokens before they expire: `verifier.revocations` (present when the verifier
/// was built with `revocation=`). Every method has an awaitable form and a `_sync` one;
/// `at` is Unix seconds and defaults to `now()` (revoke what was issued until now).
#[pyclass(name = "Revocations", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyRevocations {
    inner: Revocations,
}

impl From<Revocations> for PyRevocations {
    fn from(inner: Revocations) -> Self {
        PyRevocations { inner }
    }
}

/// One revocation, owned, so it can run on the runtime after the call returns. An `at` of
/// `None` is the handle's `now()`.
enum Revoke {
    Token { jti: String, exp: i64 },
    Session { sid: String, at: Option<i64> },
    User { user_id: String, at: Option<i64> },
    All { at: Option<i64> },
}

impl Revoke {
    async fn run(self, revocations: Revocations) -> Result<(), AuthError> {
        let now = || revocations.now();
        match self {
            Revoke::Token { jti, exp } => revocations.revoke_token(&jti, exp).await,
            Revoke::Session { sid, at } => {
                let at = at.unwrap_or_else(now);
                revocations.revoke_session(&sid, at).await
            }
            Revoke::User { user_id, at } => {
                let at = at.unwrap_or_else(now);
                revocations.revoke_user(&user_id, at).await
            }
            Revoke::All { at } => revocations.revoke_all(at.unwrap_or_else(now)).await,
        }
    }
}

impl PyRevocations {
    fn start<'py>(&self, py: Python<'py>, revoke: Revoke) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, revoke.run(self.inner.clone()))
    }

    fn run_sync(&self, py: Python<'_>, revoke: Revoke) -> PyResult<()> {
        map_err(block_on(py, revoke.run(self.inner.clone())))
    }
}

#[pymethods]
impl PyRevocations {
    /// The verifier's clock, in Unix seconds.
    fn now(&self) -> i64 {
        self.inner.now()
    }

    /// `await revocations.revoke_token(jti, exp)`: refuses the token whose `jti` is `jti`
    /// until it expires (`exp`, Unix seconds: `user.expires_at`).
    fn revoke_token<'py>(
        &self,
        py: Python<'py>,
        jti: String,
        exp: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.start(py, Revoke::Token { jti, exp })
    }

    /// `revoke_token`, blocking (the GIL is released).
    fn revoke_token_sync(&self, py: Python<'_>, jti: String, exp: i64) -> PyResult<()> {
        self.run_sync(py, Revoke::Token { jti, exp })
    }

    /// `await revocations.revoke_session(sid)`: refuses every token of session `sid` (the
    /// `sid` claim) issued at or before `at` (default: now). A logout.
    #[pyo3(signature = (sid, at = None))]
    fn revoke_session<'py>(
        &self,
        py: Python<'py>,
        sid: String,
        at: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.start(py, Revoke::Session { sid, at })
    }

    /// `revoke_session`, blocking (the GIL is released).
    #[pyo3(signature = (sid, at = None))]
    fn revoke_session_sync(&self, py: Python<'_>, sid: String, at: Option<i64>) -> PyResult<()> {
        self.run_sync(py, Revoke::Session { sid, at })
    }

    /// `await revocations.revoke_user(user.id)`: refuses every token of the user issued at
    /// or before `at` (default: now). `user_id` is `AuthUser.id` (the preset's user-id
    /// claim). "Sign out everywhere" for one user.
    #[pyo3(signature = (user_id, at = None))]
    fn revoke_user<'py>(
        &self,
        py: Python<'py>,
        user_id: String,
        at: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.start(py, Revoke::User { user_id, at })
    }

    /// `revoke_user`, blocking (the GIL is released).
    #[pyo3(signature = (user_id, at = None))]
    fn revoke_user_sync(&self, py: Python<'_>, user_id: String, at: Option<i64>) -> PyResult<()> {
        self.run_sync(py, Revoke::User { user_id, at })
    }

    /// `await revocations.revoke_all()`: refuses every token issued at or before `at`
    /// (default: now), e.g. after a key compromise.
    #[pyo3(signature = (at = None))]
    fn revoke_all<'py>(&self, py: Python<'py>, at: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
        self.start(py, Revoke::All { at })
    }

    /// `revoke_all`, blocking (the GIL is released).
    #[pyo3(signature = (at = None))]
    fn revoke_all_sync(&self, py: Python<'_>, at: Option<i64>) -> PyResult<()> {
        self.run_sync(py, Revoke::All { at })
    }

    fn __repr__(&self) -> &'static str {
        "Revocations()"
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyInMemoryRevocationStore>()?;
    m.add_class::<PyRedisRevocationStore>()?;
    m.add_class::<PyRevocations>()?;
    Ok(())
}
