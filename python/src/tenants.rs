//! Verifiers beyond one issuer's JWTs: `TenantVerifier` (many issuers, one per tenant,
//! trusted by list, template or callback, each issuer's verifier built on first use by a
//! Python factory) and `Introspection` (opaque tokens, RFC 7662).

use std::sync::Arc;

use jwks_auth::{AuthError, TenantIssuer, TenantVerifier};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{awaitable, block_on, map_err, PyAuthUser, PyVerifier};

/// Verifies tokens from thousands of tenants without building them up front: `factory(issuer,
/// params)` returns the `Verifier` of a trusted issuer the first time one of its tokens
/// arrives (`params`: what the matching template captured); an issuer no rule trusts is
/// refused without a network call; at most `max_issuers` verifiers (with their key sets) are
/// kept, least recently used evicted first.
#[pyclass(name = "TenantVerifier", module = "jwks_auth", frozen)]
pub struct PyTenantVerifier {
    pub(crate) inner: TenantVerifier,
}

impl std::fmt::Debug for PyTenantVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// The factory's outcome as the library wants it; a Python exception becomes a
/// configuration error naming its type (never its message, which could hold anything).
fn call_factory(
    factory: &Py<PyAny>,
    tenant: &TenantIssuer<'_>,
) -> Result<jwks_auth::Verifier, AuthError> {
    Python::attach(|py| {
        let params = PyDict::new(py);
        for (name, value) in tenant.params() {
            params.set_item(name, value).ok();
        }
        let made = factory
            .call1(py, (tenant.issuer(), params))
            .and_then(|verifier| {
                verifier
                    .extract::<PyRef<'_, PyVerifier>>(py)
                    .map(|v| v.inner.clone())
                    .map_err(PyErr::from)
            });
        made.map_err(|error| {
            let kind = error
                .get_type(py)
                .name()
                .map(|name| name.to_string())
                .unwrap_or_default();
            AuthError::misconfigured(format!(
                "the tenant factory raised {kind} or returned no Verifier"
            ))
        })
    })
}

#[pymethods]
impl PyTenantVerifier {
    #[new]
    #[pyo3(signature = (
        factory, *, trust_issuers=Vec::new(), trust_templates=Vec::new(), trust_if=None,
        max_issuers=jwks_auth::DEFAULT_MAX_ISSUERS,
    ))]
    fn new(
        factory: Py<PyAny>,
        trust_issuers: Vec<String>,
        trust_templates: Vec<String>,
        trust_if: Option<Py<PyAny>>,
        max_issuers: u64,
    ) -> PyResult<Self> {
        let factory = Arc::new(factory);
        let mut builder = TenantVerifier::builder(move |tenant| call_factory(&factory, tenant))
            .trust_issuers(trust_issuers)
            .max_issuers(max_issuers);
        for template in trust_templates {
            builder = map_err(builder.trust_template(&template))?;
        }
        if let Some(trust) = trust_if {
            builder = builder.trust_if(move |issuer| {
                Python::attach(|py| {
                    trust
                        .call1(py, (issuer,))
                        .and_then(|answer| answer.is_truthy(py))
                        .unwrap_or(false)
                })
            });
        }
        Ok(PyTenantVerifier {
            inner: map_err(builder.build())?,
        })
    }

    /// `await tenants.verify(token)`: verified by the verifier of the token's issuer.
    fn verify<'py>(&self, py: Python<'py>, token: String) -> PyResult<Bound<'py, PyAny>> {
        let tenants = self.inner.clone();
        awaitable(py, async move {
            tenants.verify(&token).await.map(PyAuthUser::from)
        })
    }

    /// `verify`, blocking (the GIL is released, and taken again only to call the factory).
    fn verify_sync(&self, py: Python<'_>, token: &str) -> PyResult<PyAuthUser> {
        map_err(block_on(py, self.inner.verify(token))).map(PyAuthUser::from)
    }

    /// How many issuers have a live verifier.
    #[getter]
    fn live_issuers(&self) -> u64 {
        self.inner.live_issuers()
    }

    /// Where requests carry tokens: `Authorization: Bearer`.
    #[getter]
    fn token_sources(&self) -> Vec<String> {
        vec!["bearer".to_owned()]
    }

    fn __repr__(&self) -> String {
        format!("TenantVerifier(live_issuers={})", self.inner.live_issuers())
    }
}

/// Opaque tokens through the authorization server's RFC 7662 introspection endpoint, for
/// `Verifier(..., introspection=Introspection(...))`.
#[pyclass(name = "Introspection", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyIntrospection {
    pub(crate) inner: jwks_auth::introspection::Introspection,
}

#[pymethods]
impl PyIntrospection {
    #[new]
    #[pyo3(signature = (
        endpoint, *, client_id=None, client_secret=None, auth="client_secret_basic",
        bearer_credential=None, introspect_all=false, cache_ttl=60.0, negative_cache_ttl=5.0,
        max_entries=100_000, timeout=5.0,
    ))]
    #[allow(clippy::too_many_arguments)] // keyword arguments of the Python constructor
    fn new(
        endpoint: String,
        client_id: Option<String>,
        client_secret: Option<String>,
        auth: &str,
        bearer_credential: Option<String>,
        introspect_all: bool,
        cache_ttl: f64,
        negative_cache_ttl: f64,
        max_entries: u64,
        timeout: f64,
    ) -> PyResult<Self> {
        use jwks_auth::introspection::{Introspection, TokenFormat};
        use pyo3::exceptions::PyValueError;
        let seconds = |value: f64, name: &str| {
            std::time::Duration::try_from_secs_f64(value).map_err(|_| {
                PyValueError::new_err(format!("{name} must be a non-negative number of seconds"))
            })
        };
        let mut inner = Introspection::new(endpoint)
            .cache_ttl(seconds(cache_ttl, "cache_ttl")?)
            .negative_cache_ttl(seconds(negative_cache_ttl, "negative_cache_ttl")?)
            .max_entries(max_entries)
            .timeout(seconds(timeout, "timeout")?);
        if introspect_all {
            inner = inner.format(TokenFormat::Introspect);
        }
        inner = match (client_id, client_secret, bearer_credential) {
            (Some(id), Some(secret), None) => match auth {
                "client_secret_basic" => inner.client_secret_basic(id, secret),
                "client_secret_post" => inner.client_secret_post(id, secret),
                _ => {
                    return Err(PyValueError::new_err(
                        "auth must be \"client_secret_basic\" or \"client_secret_post\"",
                    ))
                }
            },
            (None, None, Some(credential)) => inner.bearer_credential(credential),
            (None, None, None) => inner,
            _ => {
                return Err(PyValueError::new_err(
                    "give client_id with client_secret, or bearer_credential",
                ))
            }
        };
        Ok(PyIntrospection { inner })
    }

    fn __repr__(&self) -> String {
        // Never the secret.
        "Introspection(..)".to_owned()
    }
}
