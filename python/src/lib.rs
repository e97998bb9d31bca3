//! `jwks_auth._jwks_auth`: the PyO3 extension module behind the `jwks_auth` Python package.
//!
//! The Python-facing API (`Provider`, `Verifier`, `MultiVerifier`, `AuthUser`, the
//! revocation stores and `Revocations`, the exceptions) is typed in
//! `python/jwks_auth/_jwks_auth.pyi`; this module binds [`jwks_auth`] one to one. Every
//! verification and revocation runs on the tokio runtime of `pyo3-async-runtimes` (so does
//! a Redis store's background sync): the `_sync` methods block on it with the GIL released,
//! the others return an awaitable (see [`awaitable`]).
//!
//! Metrics: the library's `metrics` feature records into a Prometheus recorder installed
//! when the module is imported (see [`metrics`]), read through `jwks_auth.metrics`.
//!
//! Error messages come from [`jwks_auth::AuthError`]'s `Display`, which never contains the
//! token, a secret or an expected value; the exceptions are the Python classes of
//! `jwks_auth/_errors.py`, built by its `_from_rust`.
#![forbid(unsafe_code)]

use std::future::Future;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use jwks_auth::{AuthError, AuthUser, Provider, Verifier};
use pyo3::exceptions::{PyStopIteration, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};
use pyo3::IntoPyObjectExt;

mod edge;
mod metrics;
mod multi;
mod protected_resource;
mod revocation;
mod tenants;
#[cfg(feature = "testing")]
mod testing;

/// The Python exception for `err`: `jwks_auth._errors._from_rust(kind, status, message,
/// claim)` picks the subclass (`InvalidToken`, `Forbidden`, `KeysUnavailable`, ...).
pub(crate) fn to_py_err(err: &AuthError) -> PyErr {
    Python::attach(|py| {
        static FROM_RUST: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let made = FROM_RUST
            .get_or_try_init(py, || {
                py.import("jwks_auth._errors")
                    .and_then(|m| m.getattr("_from_rust"))
                    .map(Bound::unbind)
            })
            .and_then(|from_rust| {
                from_rust.bind(py).call1((
                    err.kind().as_str(),
                    err.status(),
                    err.to_string(),
                    err.claim(),
                ))
            });
        match made {
            Ok(exception) => PyErr::from_value(exception),
            Err(import_error) => import_error,
        }
    })
}

pub(crate) fn map_err<T>(result: Result<T, AuthError>) -> PyResult<T> {
    result.map_err(|err| to_py_err(&err))
}

/// JSON text to a Python object (`json.loads`).
pub(crate) fn json_to_py<'py>(py: Python<'py>, json: &str) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    LOADS
        .get_or_try_init(py, || {
            py.import("json")
                .and_then(|m| m.getattr("loads"))
                .map(Bound::unbind)
        })?
        .bind(py)
        .call1((json,))
}

/// A JSON-serializable Python object to a `serde_json::Value` (`json.dumps`).
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) fn py_to_json(value: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = value.py();
    let text: String = DUMPS
        .get_or_try_init(py, || {
            py.import("json")
                .and_then(|m| m.getattr("dumps"))
                .map(Bound::unbind)
        })?
        .bind(py)
        .call1((value,))?
        .extract()?;
    serde_json::from_str(&text).map_err(|e| PyValueError::new_err(format!("not JSON: {e}")))
}

/// The shared tokio runtime (multi-threaded, owned by `pyo3-async-runtimes`).
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `future` on the runtime with the GIL released.
pub(crate) fn block_on<F: Future + Send>(py: Python<'_>, future: F) -> F::Output
where
    F::Output: Send,
{
    py.detach(|| runtime().block_on(future))
}

/// Where a verifier gets its keys and which tokens it accepts: a preset pointed at your
/// tenant, an OIDC issuer, or a networkless key.
#[pyclass(name = "Provider", module = "jwks_auth", frozen)]
#[derive(Debug, Clone)]
pub struct PyProvider {
    pub(crate) inner: Provider,
}

#[pymethods]
impl PyProvider {
    /// Better Auth (JWT plugin) at `base_url`.
    #[staticmethod]
    fn better_auth(base_url: &str) -> PyResult<Self> {
        map_err(Provider::better_auth(base_url)).map(Self::from)
    }

    /// Auth0 tenant `domain` and API identifier `audience`.
    #[staticmethod]
    fn auth0(domain: &str, audience: &str) -> PyResult<Self> {
        map_err(Provider::auth0(domain, audience)).map(Self::from)
    }

    /// Clerk instance by its Frontend API host.
    #[staticmethod]
    fn clerk(frontend_api: &str) -> PyResult<Self> {
        map_err(Provider::clerk(frontend_api)).map(Self::from)
    }

    /// A built-in preset by name, its `{placeholders}` as keyword arguments.
    #[staticmethod]
    #[pyo3(signature = (name, **params))]
    fn preset(name: &str, params: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut owned: Vec<(String, String)> = Vec::new();
        if let Some(params) = params {
            for (key, value) in params.iter() {
                let key: String = key.extract()?;
                let value: String = value.extract().map_err(|_| {
                    PyTypeError::new_err(format!("preset parameter `{key}` must be a str"))
                })?;
                owned.push((key, value));
            }
        }
        let borrowed: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        map_err(Provider::preset(name, &borrowed)).map(Self::from)
    }

    /// Any OpenID Connect issuer: keys from its discovery document.
    #[staticmethod]
    fn oidc(issuer: &str) -> PyResult<Self> {
        map_err(Provider::oidc(issuer)).map(Self::from)
    }

    /// HS256 with a shared secret (at least 32 bytes), e.g. `BETTER_AUTH_SECRET`.
    #[staticmethod]
    fn shared_secret(secret: &Bound<'_, PyAny>) -> PyResult<Self> {
        let bytes: Vec<u8> = if secret.is_instance_of::<PyString>() {
            secret.extract::<String>()?.into_bytes()
        } else if let Ok(bytes) = secret.cast::<PyBytes>() {
            bytes.as_bytes().to_vec()
        } else {
            return Err(PyTypeError::new_err("secret must be str or bytes"));
        };
        map_err(Provider::shared_secret(bytes)).map(Self::from)
    }

    /// A fixed JWK set (JSON text): no network.
    #[staticmethod]
    fn static_jwks(json: &str) -> PyResult<Self> {
        map_err(Provider::static_jwks(json)).map(Self::from)
    }

    /// One PEM public key (e.g. Clerk's JWT public key): no network.
    #[staticmethod]
    fn public_key_pem(pem: &str) -> PyResult<Self> {
        map_err(Provider::public_key_pem(pem)).map(Self::from)
    }

    /// The names of the built-in presets.
    #[staticmethod]
    fn builtin_names() -> Vec<&'static str> {
        Provider::builtin_names().collect()
    }

    /// The preset's name, e.g. `better-auth`.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The issuer tokens must carry, when fixed.
    #[getter]
    fn issuer(&self) -> Option<&str> {
        self.inner.issuer()
    }

    /// The JWKS URL, when known without discovery.
    #[getter]
    fn jwks_url(&self) -> Option<&str> {
        self.inner.jwks_url()
    }

    fn __repr__(&self) -> String {
        format!("Provider(name={:?})", self.inner.name())
    }
}

impl From<Provider> for PyProvider {
    fn from(inner: Provider) -> Self {
        PyProvider { inner }
    }
}

/// Entries of the verified-token cache for `cache_verified=True`.
const DEFAULT_VERIFIED_CACHE: u64 = 10_000;

/// One per process: verifies tokens of one provider, sharing its key cache.
#[pyclass(name = "Verifier", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyVerifier {
    pub(crate) inner: Verifier,
}

#[pymethods]
impl PyVerifier {
    #[new]
    #[pyo3(signature = (
        provider, *, audience=None, issuer=None, leeway=None, cache_verified=None,
        algorithms=None, authorized_parties=None, user_id_claim=None, token_type=None,
        token_classes=None, revocation=None, revocation_failure="closed", dpop="off",
        dpop_nonces=false, protected_resource=None, scope_hierarchy=None, scopes=None,
        introspection=None,
    ))]
    #[allow(clippy::too_many_arguments)] // keyword arguments of the Python constructor
    fn new(
        provider: &PyProvider,
        audience: Option<&Bound<'_, PyAny>>,
        issuer: Option<String>,
        leeway: Option<f64>,
        cache_verified: Option<&Bound<'_, PyAny>>,
        algorithms: Option<Vec<String>>,
        authorized_parties: Option<Vec<String>>,
        user_id_claim: Option<String>,
        token_type: Option<&Bound<'_, PyAny>>,
        token_classes: Option<Vec<String>>,
        revocation: Option<&Bound<'_, PyAny>>,
        revocation_failure: &str,
        dpop: &str,
        dpop_nonces: bool,
        protected_resource: Option<PyRef<'_, protected_resource::PyProtectedResource>>,
        scope_hierarchy: Option<std::collections::BTreeMap<String, Vec<String>>>,
        scopes: Option<Vec<String>>,
        introspection: Option<PyRef<'_, tenants::PyIntrospection>>,
    ) -> PyResult<Self> {
        let mut builder = Verifier::builder(provider.inner.clone());
        if let Some(audience) = audience {
            if let Ok(one) = audience.extract::<String>() {
                builder = builder.audience(one);
            } else {
                let many: Vec<String> = audience
                    .extract()
                    .map_err(|_| PyTypeError::new_err("audience must be a str or a list of str"))?;
                builder = builder.audiences(many);
            }
        }
        if let Some(issuer) = issuer {
            builder = builder.issuer(issuer);
        }
        if let Some(leeway) = leeway {
            let leeway = Duration::try_from_secs_f64(leeway)
                .map_err(|_| PyValueError::new_err("leeway must be a non-negative number"))?;
            builder = builder.leeway(leeway);
        }
        if let Some(cache) = cache_verified {
            // `True` (a bool is also an int: test it first), `False`, or a number of entries.
            let entries = if let Ok(flag) = cache.extract::<bool>() {
                flag.then_some(DEFAULT_VERIFIED_CACHE)
            } else {
                let n: u64 = cache.extract().map_err(|_| {
                    PyTypeError::new_err("cache_verified must be a bool or a positive int")
                })?;
                (n > 0).then_some(n)
            };
            if let Some(entries) = entries {
                builder = builder.cache_verified(entries);
            }
        }
        if let Some(algorithms) = algorithms {
            let parsed = algorithms
                .iter()
                .map(|name| name.parse())
                .collect::<Result<Vec<jwks_auth::Algorithm>, _>>()
                .map_err(|_| PyValueError::new_err("unknown algorithm name"))?;
            builder = builder.algorithms(parsed);
        }
        if let Some(parties) = authorized_parties {
            builder = builder.authorized_parties(parties);
        }
        if let Some(claim) = user_id_claim {
            builder = builder.user_id_claim(claim);
        }
        if let Some(token_type) = token_type {
            builder = builder.token_type(token_type_arg(token_type)?);
        }
        if let Some(classes) = token_classes {
            builder = builder.token_classes(classes);
        }
        builder = revocation::configure(builder, revocation, revocation_failure)?;
        builder = builder.dpop(match dpop {
            "off" => jwks_auth::dpop::DpopMode::Off,
            "allowed" => jwks_auth::dpop::DpopMode::Allowed,
            "required" => jwks_auth::dpop::DpopMode::Required,
            _ => {
                return Err(PyValueError::new_err(
                    "dpop must be \"off\", \"allowed\" or \"required\"",
                ))
            }
        });
        if let Some(resource) = protected_resource {
            // Tokens must name this resource in `aud` (unless an audience is set).
            builder = builder.protected_resource(&resource.inner);
        }
        if let Some(introspection) = introspection {
            builder = builder.introspection(introspection.inner.clone());
        }
        if scope_hierarchy.is_some() || scopes.is_some() {
            // `{"files:write": ["files:read"], "admin": ["admin:*"]}`; checked at build.
            let mut hierarchy = jwks_auth::ScopeHierarchy::new().scopes(scopes.unwrap_or_default());
            for (scope, implied) in scope_hierarchy.unwrap_or_default() {
                hierarchy = hierarchy.implies(scope, implied);
            }
            builder = builder.scope_hierarchy(hierarchy);
        }
        if dpop_nonces {
            // Server nonces (RFC 9449 §8), rotating every 5 minutes, valid on this process.
            let issuer =
                jwks_auth::dpop::NonceIssuer::new(jwks_auth::dpop::NonceIssuer::DEFAULT_ROTATION);
            builder = builder.dpop_nonces(map_err(issuer.map_err(jwks_auth::AuthError::from))?);
        }
        map_err(builder.build()).map(|inner| PyVerifier { inner })
    }

    /// `await verifier.verify(token)`: the verification runs on the Rust runtime, never
    /// blocking the event loop (see [`awaitable`]: with the keys cached it completes at once).
    fn verify<'py>(&self, py: Python<'py>, token: String) -> PyResult<Bound<'py, PyAny>> {
        let verifier = self.inner.clone();
        awaitable(py, async move {
            verifier.verify(&token).await.map(PyAuthUser::from)
        })
    }

    /// Verifies `token` on the calling thread (GIL released while it runs).
    fn verify_sync(&self, py: Python<'_>, token: &str) -> PyResult<PyAuthUser> {
        let verifier = &self.inner;
        let result = block_on(py, verifier.verify(token));
        map_err(result).map(PyAuthUser::from)
    }

    /// `await verifier.warm_up()`: fetches the keys now instead of on the first verify.
    fn warm_up<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let verifier = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            verifier.warm_up().await.map_err(|err| to_py_err(&err))
        })
    }

    /// Fetches the keys now, blocking (GIL released).
    fn warm_up_sync(&self, py: Python<'_>) -> PyResult<()> {
        map_err(block_on(py, self.inner.warm_up()))
    }

    /// The key cache's counters: `fetches`, `fetch_failures`, `unknown_kid_refreshes`, ...
    fn key_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.inner.key_stats();
        let dict = PyDict::new(py);
        dict.set_item("fetches", stats.fetches)?;
        dict.set_item("fetch_failures", stats.fetch_failures)?;
        dict.set_item("unknown_kid_refreshes", stats.unknown_kid_refreshes)?;
        dict.set_item("unknown_kid_rejections", stats.unknown_kid_rejections)?;
        dict.set_item("negative_cache_hits", stats.negative_cache_hits)?;
        dict.set_item("stale_serves", stats.stale_serves)?;
        dict.set_item("negative_cache_entries", stats.negative_cache_entries)?;
        dict.set_item("keys", stats.keys)?;
        Ok(dict)
    }

    /// The provider's name, e.g. `clerk`.
    #[getter]
    fn provider_name(&self) -> &str {
        self.inner.provider_name()
    }

    /// The issuer tokens must carry, when fixed.
    #[getter]
    fn issuer(&self) -> Option<&str> {
        self.inner.issuer()
    }

    /// Where requests carry tokens, in order: `"bearer"`, `"cookie:<name>"` (a cookie only
    /// with `authorized_parties` set).
    #[getter]
    fn token_sources(&self) -> Vec<String> {
        self.inner
            .token_sources()
            .iter()
            .map(|source| match source {
                jwks_auth::TokenSource::Cookie(name) => format!("cookie:{name}"),
                _ => "bearer".to_owned(),
            })
            .collect()
    }

    /// The handle to revoke tokens through (a logout), or `None` when the verifier was
    /// built without `revocation=`.
    #[getter]
    fn revocations(&self) -> Option<revocation::PyRevocations> {
        self.inner.revocations().map(Into::into)
    }

    fn __repr__(&self) -> String {
        format!("Verifier(provider={:?})", self.inner.provider_name())
    }
}

/// `token_type=`: `"at+jwt"`, `"any"`, another `typ` value, or a list of them.
fn token_type_arg(value: &Bound<'_, PyAny>) -> PyResult<jwks_auth::TokenType> {
    let values: Vec<String> = if let Ok(one) = value.extract::<String>() {
        vec![one]
    } else {
        value
            .extract()
            .map_err(|_| PyTypeError::new_err("token_type must be a str or a list of str"))?
    };
    if values.is_empty() {
        return Err(PyValueError::new_err(
            "token_type must name at least one type",
        ));
    }
    Ok(jwks_auth::TokenType::from_values(values))
}

/// An awaitable for `future`, which runs on the Rust runtime, never blocking the event loop.
///
/// Fast path: `future` is polled once (GIL released, inside the runtime). When it is done
/// then (a verify with the keys cached is a signature check, microseconds; an in-memory
/// revocation is a map insert) the returned awaitable completes at once, with no event-loop
/// round trip. Otherwise (a key fetch, a Redis command) the same future is handed to the
/// runtime and awaited through an asyncio future.
pub(crate) fn awaitable<'py, T, F>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, AuthError>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let mut future = Box::pin(future);
    let first = py.detach(|| {
        let _entered = runtime().enter();
        let mut cx = Context::from_waker(Waker::noop());
        future.as_mut().poll(&mut cx)
    });
    match first {
        Poll::Ready(result) => {
            let outcome = match result {
                Ok(value) => value.into_py_any(py),
                Err(err) => Err(to_py_err(&err)),
            };
            let ready = Ready {
                outcome: Mutex::new(Some(outcome)),
            };
            Ok(Bound::new(py, ready)?.into_any())
        }
        Poll::Pending => pyo3_async_runtimes::tokio::future_into_py(py, async move {
            future.await.map_err(|err| to_py_err(&err))
        }),
    }
}

/// An awaitable that is already done: `await` gives its value or raises its error.
#[pyclass(module = "jwks_auth._jwks_auth", frozen)]
struct Ready {
    outcome: Mutex<Option<PyResult<Py<PyAny>>>>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self) -> PyResult<()> {
        let outcome = self
            .outcome
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        match outcome {
            Some(Ok(value)) => Err(PyStopIteration::new_err((value,))),
            Some(Err(err)) => Err(err),
            None => Err(PyStopIteration::new_err(())),
        }
    }
}

/// The authenticated user of a verified token.
#[pyclass(name = "AuthUser", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyAuthUser {
    pub(crate) inner: AuthUser,
}

impl From<AuthUser> for PyAuthUser {
    fn from(inner: AuthUser) -> Self {
        PyAuthUser { inner }
    }
}

#[pymethods]
impl PyAuthUser {
    /// The user id (`sub`, or the preset's user-id claim).
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// The email claim, when present (check `email_verified` before trusting it).
    #[getter]
    fn email(&self) -> Option<&str> {
        self.inner.email.as_deref()
    }

    /// Whether the provider verified `email`; `None` when the token does not say.
    #[getter]
    fn email_verified(&self) -> Option<bool> {
        self.inner.email_verified
    }

    /// Scopes and permissions, in token order, without duplicates.
    #[getter]
    fn scopes(&self) -> Vec<String> {
        self.inner.scopes.clone()
    }

    /// The OAuth client the token was issued to (`client_id`), when present.
    #[getter]
    fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// `"user"` or `"machine"` (client credentials, Clerk M2M).
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.as_str()
    }

    /// Every claim of the token, as a new dict.
    #[getter]
    fn claims<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = serde_json::to_string(&self.inner.claims)
            .map_err(|e| PyValueError::new_err(format!("claims: {e}")))?;
        json_to_py(py, &json)
    }

    /// The token's issuer.
    #[getter]
    fn issuer(&self) -> Option<&str> {
        self.inner.issuer()
    }

    /// The token's expiry, in seconds since the epoch.
    #[getter]
    fn expires_at(&self) -> Option<i64> {
        self.inner.expires_at()
    }

    /// True when the token grants `scope`.
    fn has_scope(&self, scope: &str) -> bool {
        self.inner.has_scope(scope)
    }

    fn __repr__(&self) -> String {
        // The id is an identifier, not a credential; no claim values beyond it.
        format!(
            "AuthUser(id={:?}, kind={:?})",
            self.inner.id,
            self.inner.kind.as_str()
        )
    }
}

/// The extension module.
#[pymodule]
fn _jwks_auth(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // First the metrics recorder: verifiers register their metric handles when built.
    metrics::register(m)?;
    m.add_class::<PyProvider>()?;
    m.add_class::<PyVerifier>()?;
    m.add_class::<PyAuthUser>()?;
    m.add_class::<Ready>()?;
    edge::register(m)?;
    m.add_class::<protected_resource::PyProtectedResource>()?;
    revocation::register(m)?;
    m.add_class::<multi::PyMultiVerifier>()?;
    m.add_class::<tenants::PyTenantVerifier>()?;
    m.add_class::<tenants::PyIntrospection>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("HAS_TESTING", cfg!(feature = "testing"))?;
    #[cfg(feature = "testing")]
    testing::register(m)?;
    Ok(())
}
