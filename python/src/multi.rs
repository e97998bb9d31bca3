//! `MultiVerifier`: one verifier over several providers, routing each token by its `iss`.

use jwks_auth::MultiVerifier;
use pyo3::prelude::*;

use crate::{awaitable, block_on, map_err, PyAuthUser, PyVerifier};

/// Verifies tokens of several issuers (e.g. Clerk for the web app and Auth0 machine tokens
/// in one API): each token goes to the verifier of its `iss`, which then checks everything,
/// `iss` included. A token of another issuer is refused (401 `invalid-issuer`) without any
/// network call. Each verifier must require a fixed issuer, and no two may share one.
#[pyclass(name = "MultiVerifier", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyMultiVerifier {
    pub(crate) inner: MultiVerifier,
    /// The verifiers' token sources, in the order they were given, without duplicates.
    token_sources: Vec<String>,
    /// The issuers, in the order the verifiers were given.
    issuers: Vec<String>,
}

#[pymethods]
impl PyMultiVerifier {
    #[new]
    fn new(verifiers: Vec<PyRef<'_, PyVerifier>>) -> PyResult<Self> {
        let mut token_sources: Vec<String> = Vec::new();
        for verifier in &verifiers {
            for source in verifier.token_sources() {
                if !token_sources.contains(&source) {
                    token_sources.push(source);
                }
            }
        }
        let issuers = verifiers
            .iter()
            .filter_map(|verifier| verifier.inner.issuer().map(str::to_owned))
            .collect();
        let inner = map_err(MultiVerifier::new(
            verifiers.iter().map(|verifier| verifier.inner.clone()),
        ))?;
        Ok(PyMultiVerifier {
            inner,
            token_sources,
            issuers,
        })
    }

    /// `await multi.verify(token)`: verified by the verifier of the token's issuer.
    fn verify<'py>(&self, py: Python<'py>, token: String) -> PyResult<Bound<'py, PyAny>> {
        let multi = self.inner.clone();
        awaitable(py, async move {
            multi.verify(&token).await.map(PyAuthUser::from)
        })
    }

    /// `verify`, blocking (the GIL is released).
    fn verify_sync(&self, py: Python<'_>, token: &str) -> PyResult<PyAuthUser> {
        map_err(block_on(py, self.inner.verify(token))).map(PyAuthUser::from)
    }

    /// The issuers served, in the order the verifiers were given.
    #[getter]
    fn issuers(&self) -> Vec<String> {
        self.issuers.clone()
    }

    /// The verifier for `issuer`, or `None` (e.g. to reach its `revocations`).
    fn verifier_for(&self, issuer: &str) -> Option<PyVerifier> {
        self.inner.verifier_for(issuer).map(|verifier| PyVerifier {
            inner: verifier.clone(),
        })
    }

    /// Where requests carry tokens: every verifier's sources, in order (so
    /// `jwks_auth.fastapi.configure(app, multi)` works as with one verifier).
    #[getter]
    fn token_sources(&self) -> Vec<String> {
        self.token_sources.clone()
    }

    fn __repr__(&self) -> String {
        format!("MultiVerifier(issuers={:?})", self.issuers)
    }
}
