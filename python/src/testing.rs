//! `jwks_auth.testing`'s Rust half: [`jwks_auth::testing::MockProvider`] (a real JWKS on
//! loopback) and [`jwks_auth::testing::TokenBuilder`] (real signed tokens).

use std::sync::Mutex;
use std::time::Duration;

use jwks_auth::testing::{DpopProof, MockProvider, TestKey, TokenBuilder};
use jwks_auth::{Algorithm, KeyFamily, Provider};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::{block_on, py_to_json, PyProvider};

/// A key family by name: `"rsa"`, `"ec-p256"` (or `"p-256"`), `"ec-p384"`, `"ec-p521"`,
/// `"ed25519"`.
fn key_family(name: &str) -> PyResult<KeyFamily> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "rsa" => KeyFamily::Rsa,
        "ec-p256" | "p-256" => KeyFamily::P256,
        "ec-p384" | "p-384" => KeyFamily::P384,
        "ec-p521" | "p-521" => KeyFamily::P521,
        "ed25519" | "okp" => KeyFamily::Ed25519,
        _ => return Err(PyValueError::new_err("unknown key family")),
    })
}

fn algorithm(name: &str) -> PyResult<Algorithm> {
    name.parse()
        .map_err(|_| PyValueError::new_err("unknown algorithm name"))
}

/// A mock identity provider on loopback serving a preset's JWK set; `close()` (or the
/// context manager) stops it.
#[pyclass(name = "MockProvider", module = "jwks_auth.testing", frozen)]
#[derive(Debug)]
pub struct PyMockProvider {
    /// `None` once closed.
    inner: Mutex<Option<MockProvider>>,
}

impl PyMockProvider {
    fn with<T>(&self, f: impl FnOnce(&MockProvider) -> T) -> PyResult<T> {
        let guard = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        guard
            .as_ref()
            .map(f)
            .ok_or_else(|| PyRuntimeError::new_err("mock provider is closed"))
    }
}

#[pymethods]
impl PyMockProvider {
    /// A mock of built-in preset `preset` (e.g. `"better-auth"`, `"auth0"`, `"clerk"`),
    /// signing with `alg` (default: the preset's usual algorithm).
    #[new]
    #[pyo3(signature = (preset = "better-auth", alg = None))]
    fn new(py: Python<'_>, preset: &str, alg: Option<&str>) -> PyResult<Self> {
        let info = Provider::preset_info(preset).map_err(|e| crate::to_py_err(&e))?;
        let alg = match alg {
            Some(name) => algorithm(name)?,
            None => match preset {
                "better-auth" => Algorithm::EdDSA,
                _ => info.algorithms[0],
            },
        };
        if !info.algorithms.contains(&alg) {
            return Err(PyValueError::new_err(
                "the preset does not allow this algorithm",
            ));
        }
        let preset = preset.to_owned();
        let mock = block_on(py, async move { MockProvider::start(&preset, alg).await });
        Ok(PyMockProvider {
            inner: Mutex::new(Some(mock)),
        })
    }

    /// The preset pointed at this mock, with production's issuer and audience rules.
    fn provider(&self) -> PyResult<PyProvider> {
        self.with(|m| PyProvider::from(m.provider()))
    }

    /// The preset's name.
    #[getter]
    fn preset(&self) -> PyResult<String> {
        self.with(|m| m.preset().to_owned())
    }

    /// The mock's base URL, `http://127.0.0.1:<port>`.
    #[getter]
    fn uri(&self) -> PyResult<String> {
        self.with(MockProvider::uri)
    }

    /// The issuer its tokens carry.
    #[getter]
    fn issuer(&self) -> PyResult<String> {
        self.with(MockProvider::issuer)
    }

    /// The JWKS URL.
    #[getter]
    fn jwks_url(&self) -> PyResult<String> {
        self.with(MockProvider::jwks_url)
    }

    /// The `{placeholder}` values used for the preset (`origin`, `audience`, ...).
    #[getter]
    fn params(&self) -> PyResult<Vec<(String, String)>> {
        self.with(|m| m.params().to_vec())
    }

    /// A token builder pre-filled as the provider issues tokens, signed by the current key.
    fn token(&self) -> PyResult<PyTokenBuilder> {
        self.with(|m| PyTokenBuilder { inner: m.token() })
    }

    /// Publishes a new key and signs with it from now on; returns the new kid.
    fn rotate(&self) -> PyResult<String> {
        self.with(MockProvider::rotate)
    }

    /// Publishes a new key of `family` (`"rsa"`, `"ec-p256"`, `"ed25519"`, ...) without
    /// signing with it; returns its kid.
    fn add_key(&self, family: &str) -> PyResult<String> {
        let family = key_family(family)?;
        self.with(|m| m.add_key(family))
    }

    /// Stops publishing the key `kid`.
    fn remove_key(&self, kid: &str) -> PyResult<()> {
        self.with(|m| m.remove_key(kid))
    }

    /// The published kids.
    #[getter]
    fn kids(&self) -> PyResult<Vec<String>> {
        self.with(MockProvider::kids)
    }

    /// The kid of the signing key.
    #[getter]
    fn current_kid(&self) -> PyResult<String> {
        self.with(MockProvider::current_kid)
    }

    /// The next `n` JWKS requests answer `status`.
    #[pyo3(signature = (n, status = 503))]
    fn fail_next(&self, n: usize, status: u16) -> PyResult<()> {
        self.with(|m| m.fail_next(n, status))
    }

    /// Delays every JWKS answer (seconds; `None` for none).
    #[pyo3(signature = (seconds = None))]
    fn delay(&self, seconds: Option<f64>) -> PyResult<()> {
        let delay = seconds
            .map(Duration::try_from_secs_f64)
            .transpose()
            .map_err(|_| PyValueError::new_err("delay must be a non-negative number"))?;
        self.with(|m| m.delay(delay))
    }

    /// JWKS requests received so far.
    #[getter]
    fn jwks_requests(&self) -> PyResult<u64> {
        self.with(MockProvider::jwks_requests)
    }

    /// Serves an RFC 7662 introspection endpoint (`POST /introspect`) for the opaque tokens
    /// `opaque` mints; returns its URL, for `Introspection(url)`.
    fn serve_introspection(&self, py: Python<'_>) -> PyResult<String> {
        self.with(|m| block_on(py, m.serve_introspection()))
    }

    /// An opaque token whose introspection answers `builder`'s claims.
    fn opaque(&self, builder: &PyTokenBuilder) -> PyResult<String> {
        self.with(|m| m.opaque(&builder.inner))
    }

    /// Revokes an opaque token at the mock: its introspection answers inactive.
    fn revoke_opaque(&self, token: &str) -> PyResult<()> {
        self.with(|m| m.revoke_opaque(token))
    }

    /// Introspection requests answered so far.
    #[getter]
    fn introspection_requests(&self) -> PyResult<u64> {
        self.with(MockProvider::introspection_requests)
    }

    /// Stops the server (idempotent).
    fn close(&self, py: Python<'_>) {
        let mock = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        py.detach(move || drop(mock));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close(py);
    }
}

/// Builds and signs a token; every method returns a new builder.
#[pyclass(name = "TokenBuilder", module = "jwks_auth.testing", frozen)]
#[derive(Debug)]
pub struct PyTokenBuilder {
    inner: TokenBuilder,
}

impl PyTokenBuilder {
    fn map(&self, f: impl FnOnce(TokenBuilder) -> TokenBuilder) -> Self {
        PyTokenBuilder {
            inner: f(self.inner.clone()),
        }
    }
}

#[pymethods]
impl PyTokenBuilder {
    /// Sets any claim (a JSON-serializable value).
    fn claim(&self, name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        let value = py_to_json(value)?;
        Ok(self.map(|b| b.claim(name, value)))
    }

    /// Removes a claim (e.g. `exp`).
    fn without_claim(&self, name: &str) -> Self {
        self.map(|b| b.without_claim(name))
    }

    /// Sets `sub`.
    fn sub(&self, sub: &str) -> Self {
        self.map(|b| b.sub(sub))
    }

    /// Sets the email claim.
    fn email(&self, email: &str) -> Self {
        self.map(|b| b.email(email))
    }

    /// Sets the provider's email-verified claim.
    fn email_verified(&self, verified: bool) -> Self {
        self.map(|b| b.email_verified(verified))
    }

    /// Sets `scope` (space separated).
    fn scope(&self, scope: &str) -> Self {
        self.map(|b| b.scope(scope))
    }

    /// Sets `permissions` (an array).
    fn permissions(&self, permissions: Vec<String>) -> Self {
        self.map(|b| b.permissions(permissions))
    }

    /// Sets `azp`.
    fn azp(&self, azp: &str) -> Self {
        self.map(|b| b.azp(azp))
    }

    /// Sets `sid` (the session id, what `Revocations.revoke_session` names).
    fn sid(&self, sid: &str) -> Self {
        self.map(|b| b.sid(sid))
    }

    /// Pretends "now" is `unix_secs` for `iat`, `exp` and `nbf` (a token issued then).
    fn at(&self, unix_secs: i64) -> Self {
        self.map(|b| b.at(unix_secs))
    }

    /// Sets `iss`.
    fn issuer(&self, issuer: &str) -> Self {
        self.map(|b| b.issuer(issuer))
    }

    /// Sets `aud` to one string.
    fn audience(&self, audience: &str) -> Self {
        self.map(|b| b.audience(audience))
    }

    /// Sets `aud` to an array.
    fn audiences(&self, audiences: Vec<String>) -> Self {
        self.map(|b| b.audiences(audiences))
    }

    /// `exp` = now + `seconds` (negative: already expired).
    fn expires_in(&self, seconds: i64) -> Self {
        self.map(|b| b.expires_in(seconds))
    }

    /// An expired token.
    fn expired(&self) -> Self {
        self.map(TokenBuilder::expired)
    }

    /// `nbf` = now + `seconds`.
    fn not_before_in(&self, seconds: i64) -> Self {
        self.map(|b| b.not_before_in(seconds))
    }

    /// Signs with another algorithm (a fitting test key is used).
    fn alg(&self, alg: &str) -> PyResult<Self> {
        let alg = algorithm(alg)?;
        Ok(self.map(|b| b.alg(alg)))
    }

    /// Sets the `kid` header.
    fn kid(&self, kid: &str) -> Self {
        self.map(|b| b.kid(kid))
    }

    /// Omits the `kid` header.
    fn no_kid(&self) -> Self {
        self.map(TokenBuilder::no_kid)
    }

    /// Sets any header (a JSON-serializable value).
    fn header(&self, name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        let value = py_to_json(value)?;
        Ok(self.map(|b| b.header(name, value)))
    }

    /// The signed compact JWS.
    fn sign(&self) -> String {
        self.inner.sign()
    }

    /// Bound to the DPoP key `key` (`cnf.jkt`, RFC 9449): accepted only with its proofs.
    fn dpop_bound(&self, key: &PyDpopKey) -> Self {
        self.map(|b| b.dpop_bound(&key.inner))
    }

    /// Signed by a key the provider does not publish, under the same kid.
    fn sign_with_wrong_key(&self) -> String {
        self.inner.sign_with_wrong_key()
    }

    /// Signed, then `claim` changed to `value` in the payload (the signature breaks).
    fn sign_tampered(&self, claim: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
        let value = py_to_json(value)?;
        Ok(self.inner.sign_tampered(claim, value))
    }

    /// An unsigned `alg: none` token.
    fn sign_none(&self) -> String {
        self.inner.sign_none()
    }
}

/// A client's DPoP key (a committed test key, so its proofs are reproducible): bind tokens to
/// it with `TokenBuilder.dpop_bound(key)` and sign proofs with `key.proof(...)`.
#[pyclass(name = "DpopKey", module = "jwks_auth.testing", frozen)]
#[derive(Debug)]
pub struct PyDpopKey {
    inner: TestKey,
}

#[pymethods]
impl PyDpopKey {
    /// Test key number `index` (0 to 2) of `family` (default P-256).
    #[new]
    #[pyo3(signature = (family = "ec-p256", index = 0))]
    fn new(family: &str, index: usize) -> PyResult<Self> {
        TestKey::fixture(key_family(family)?, index)
            .map(|inner| PyDpopKey { inner })
            .ok_or_else(|| PyValueError::new_err("no test key of that family and index"))
    }

    /// The key's RFC 7638 thumbprint (a bound token's `cnf.jkt`).
    #[getter]
    fn jkt(&self) -> String {
        self.inner.jkt()
    }

    /// A signed DPoP proof for a request: `method` and `url` (the URL the client uses; its
    /// query and fragment are ignored by the check), `token` the access token it goes with
    /// (`ath`), the server's `nonce`, and `iat` / `jti` to pin (default: now, random).
    #[pyo3(signature = (method, url, *, token = None, nonce = None, iat = None, jti = None))]
    fn proof(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        nonce: Option<&str>,
        iat: Option<i64>,
        jti: Option<&str>,
    ) -> String {
        let mut proof = DpopProof::new(&self.inner).method(method).url(url);
        if let Some(token) = token {
            proof = proof.token(token);
        }
        if let Some(nonce) = nonce {
            proof = proof.nonce(nonce);
        }
        if let Some(iat) = iat {
            proof = proof.iat(iat);
        }
        if let Some(jti) = jti {
            proof = proof.jti(jti);
        }
        proof.sign()
    }

    fn __repr__(&self) -> String {
        format!("DpopKey(jkt={:?})", self.inner.jkt())
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDpopKey>()?;
    m.add_class::<PyMockProvider>()?;
    m.add_class::<PyTokenBuilder>()?;
    Ok(())
}
