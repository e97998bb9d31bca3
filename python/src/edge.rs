//! `RequestEdge` and `Refusal`: the library's request edge (`jwks_auth::edge`) for Python
//! adapters. The edge finds the credential (Bearer, DPoP with its proof, the provider's
//! cookie), verifies it and answers with the user or a `Refusal` that carries the status,
//! every response header and the JSON body: `jwks_auth.fastapi` only turns that into a
//! Starlette response.
//!
//! A refusal is returned, not raised: an exception raised here would be chained to whatever
//! the caller was handling and its traceback would hold the caller's frame, whose locals hold
//! the request's headers (and so the token).

use std::time::Duration;

use jwks_auth::edge::{EdgeRequest, McpOperations, Rejection, RejectionKind, RequestEdge};
use jwks_auth::step_up::{Reverification, ReverificationFactor, StepUp};
use jwks_auth::{AuthUser, ProtectedResource};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::multi::PyMultiVerifier;
use crate::protected_resource::PyProtectedResource;
use crate::{json_to_py, map_err, PyAuthUser, PyVerifier};

/// One request header, copied out of Python: (name, value bytes).
type Header = (String, Vec<u8>);

/// What a request comes to: a user, no credential (optional), or a refusal.
type Outcome = Result<Option<AuthUser>, Rejection>;

#[pyclass(name = "RequestEdge", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyRequestEdge {
    inner: RequestEdge,
    /// The `Verifier` or `MultiVerifier` given.
    verifier: Py<PyAny>,
}

#[pymethods]
impl PyRequestEdge {
    #[new]
    #[pyo3(signature = (
        verifier, *, realm="api", retry_after=30.0, external_origin=None,
        trust_forwarded_headers=false, public_paths=Vec::new(), public_prefixes=Vec::new(),
        resource=None, authorization_servers=Vec::new(), protected_resource=None,
        mcp_operations=None,
    ))]
    #[allow(clippy::too_many_arguments)] // keyword arguments of the Python constructor
    fn new(
        verifier: Bound<'_, PyAny>,
        realm: &str,
        retry_after: f64,
        external_origin: Option<String>,
        trust_forwarded_headers: bool,
        public_paths: Vec<String>,
        public_prefixes: Vec<String>,
        resource: Option<String>,
        authorization_servers: Vec<String>,
        protected_resource: Option<PyRef<'_, PyProtectedResource>>,
        mcp_operations: Option<PyRef<'_, PyMcpOperations>>,
    ) -> PyResult<Self> {
        let retry_after = Duration::try_from_secs_f64(retry_after)
            .map_err(|_| PyValueError::new_err("retry_after must be a non-negative number"))?;
        let edge = if let Ok(one) = verifier.cast::<PyVerifier>() {
            RequestEdge::new(one.get().inner.clone())
        } else if let Ok(many) = verifier.cast::<PyMultiVerifier>() {
            RequestEdge::multi(many.get().inner.clone())
        } else if let Ok(tenants) = verifier.cast::<crate::tenants::PyTenantVerifier>() {
            RequestEdge::tenants(tenants.get().inner.clone())
        } else {
            return Err(PyTypeError::new_err(
                "RequestEdge needs a Verifier, a MultiVerifier or a TenantVerifier",
            ));
        };
        let mut edge = edge
            .realm(realm)
            .retry_after(retry_after)
            .trust_forwarded_headers(trust_forwarded_headers);
        if let Some(origin) = external_origin {
            edge = edge.external_origin(origin);
        }
        for path in public_paths {
            edge = edge.public_path(path);
        }
        for prefix in public_prefixes {
            edge = edge.public_prefix(prefix);
        }
        if let Some(resource) = resource {
            let mut builder = ProtectedResource::builder(resource);
            for server in authorization_servers {
                builder = builder.authorization_server(server);
            }
            let resource = map_err(builder.build())?;
            edge = edge.protected_resource(&resource);
        }
        if let Some(resource) = protected_resource {
            edge = edge.protected_resource(&resource.inner);
        }
        if let Some(operations) = mcp_operations {
            edge = edge.mcp_operations(operations.inner.clone());
        }
        Ok(PyRequestEdge {
            inner: edge,
            verifier: verifier.unbind(),
        })
    }

    /// The `Verifier` (or `MultiVerifier`) this edge verifies with.
    #[getter]
    fn verifier(&self, py: Python<'_>) -> Py<PyAny> {
        self.verifier.clone_ref(py)
    }

    /// `await edge.authenticate(method, target, headers, scheme=..., host=...)`: the
    /// verified `AuthUser`, `None` (no credential, with `required=False`; or a public path
    /// with `guard=True`), or a `Refusal` (returned, never raised).
    ///
    /// `target` is the path and query the client sent; `headers` the raw `(name, value)`
    /// pairs (an ASGI scope's `headers`); `scheme` and `host` the request's own origin, for
    /// the DPoP `htu` when no external origin is set.
    #[pyo3(signature = (method, target, headers, *, scheme=None, host=None, required=true, guard=false))]
    #[allow(clippy::too_many_arguments)] // keyword arguments of the Python method
    fn authenticate<'py>(
        &self,
        py: Python<'py>,
        method: String,
        target: String,
        headers: &Bound<'py, PyAny>,
        scheme: Option<String>,
        host: Option<String>,
        required: bool,
        guard: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let headers = copy_headers(headers)?;
        let edge = self.inner.clone();
        // With the keys cached the verification is done at the first poll: no event-loop
        // round trip (as `Verifier.verify`).
        crate::awaitable(py, async move {
            let origin = scheme.as_deref().zip(host.as_deref());
            let outcome = run(&edge, &method, &target, &headers, origin, required, guard).await;
            Ok::<_, jwks_auth::AuthError>(Answer(outcome))
        })
    }

    /// `authenticate`, blocking (GIL released while it runs).
    #[pyo3(signature = (method, target, headers, *, scheme=None, host=None, required=true, guard=false))]
    #[allow(clippy::too_many_arguments)] // keyword arguments of the Python method
    fn authenticate_sync(
        &self,
        py: Python<'_>,
        method: String,
        target: String,
        headers: &Bound<'_, PyAny>,
        scheme: Option<String>,
        host: Option<String>,
        required: bool,
        guard: bool,
    ) -> PyResult<Py<PyAny>> {
        let headers = copy_headers(headers)?;
        let edge = &self.inner;
        let origin = scheme.as_deref().zip(host.as_deref());
        let outcome = crate::block_on(
            py,
            run(edge, &method, &target, &headers, origin, required, guard),
        );
        to_python(py, outcome)
    }

    /// Whether `path` is served without a token (`public_paths`, `public_prefixes`, the
    /// RFC 9728 metadata paths). Raises `ConfigError` when one of them is empty.
    fn is_public(&self, path: &str) -> PyResult<bool> {
        self.inner
            .is_public(path)
            .map_err(|refusal| crate::to_py_err(refusal.auth_error()))
    }

    /// The refusal of a guard: 403 `insufficient_scope`, naming `scope` (every scope the
    /// operation needs, space-separated) when given.
    #[pyo3(signature = (scope=None))]
    fn insufficient_scope(&self, scope: Option<&str>) -> PyRefusal {
        PyRefusal::from(self.inner.insufficient_scope(scope))
    }

    /// The refusal for an `AuthError` raised outside the edge (its `kind` and `status`):
    /// the answer the edge gives for the same failure.
    fn refusal_for(&self, kind: &str, status: u16) -> PyRefusal {
        let kind = match (kind, status) {
            ("missing-token", _) => RejectionKind::MissingToken,
            (_, 503) => RejectionKind::KeysUnavailable,
            (_, 403) => RejectionKind::InsufficientScope,
            (_, 400) => RejectionKind::MalformedRequest,
            (_, 500) => RejectionKind::Misconfigured,
            ("invalid-dpop-proof" | "dpop-replayed", _) => RejectionKind::InvalidDpopProof,
            ("use-dpop-nonce", _) => RejectionKind::UseDpopNonce,
            _ => RejectionKind::InvalidToken,
        };
        PyRefusal::from(self.inner.refusal(kind))
    }

    /// The refusal of a step-up `rule` for `user` (401 `insufficient_user_authentication`
    /// with `acr_values`/`max_age`, or Clerk's 403 reverification answer); `None` when the
    /// user's authentication meets it.
    fn step_up(&self, user: &PyAuthUser, rule: &PyStepUp) -> Option<PyRefusal> {
        self.inner
            .step_up(&user.inner, &rule.inner)
            .err()
            .map(PyRefusal::from)
    }

    /// The current DPoP nonce, to send as `DPoP-Nonce` on every answer (nonces on).
    fn dpop_nonce(&self) -> Option<String> {
        self.inner.dpop_nonce()
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// The request's answer.
async fn run(
    edge: &RequestEdge,
    method: &str,
    target: &str,
    headers: &[Header],
    origin: Option<(&str, &str)>,
    required: bool,
    guard: bool,
) -> Outcome {
    let mut request = EdgeRequest::new(method, target, headers);
    if let Some((scheme, host)) = origin {
        request = request.origin(scheme, host);
    }
    if guard && edge.is_public(request.path())? {
        return Ok(None);
    }
    if required {
        edge.authenticate(&request).await.map(Some)
    } else {
        edge.authenticate_optional(&request).await
    }
}

/// `(name, value)` pairs of `bytes` or `str` (ASGI headers, Starlette's `headers.raw`, a
/// list of tuples).
fn copy_headers(headers: &Bound<'_, PyAny>) -> PyResult<Vec<Header>> {
    let mut copied = Vec::new();
    for item in headers.try_iter()? {
        let item = item?;
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item
            .extract()
            .map_err(|_| PyTypeError::new_err("headers must be (name, value) pairs"))?;
        copied.push((text_of(&name)?, bytes_of(&value)?));
    }
    Ok(copied)
}

fn bytes_of(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if value.is_instance_of::<PyString>() {
        return Ok(value.extract::<String>()?.into_bytes());
    }
    Err(PyTypeError::new_err(
        "a header name or value must be bytes or str",
    ))
}

fn text_of(name: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(String::from_utf8_lossy(&bytes_of(name)?).into_owned())
}

fn to_python(py: Python<'_>, outcome: Outcome) -> PyResult<Py<PyAny>> {
    match outcome {
        Ok(Some(user)) => Ok(Py::new(py, PyAuthUser { inner: user })?.into_any()),
        Ok(None) => Ok(py.None()),
        Err(rejection) => Ok(Py::new(py, PyRefusal::from(rejection))?.into_any()),
    }
}

/// A refused request, ready to send: `status`, `headers` (a list of `(name, value)`; two
/// `www-authenticate` lines when both `Bearer` and `DPoP` are offered) and `body` (a dict).
/// Never contains the token.
#[pyclass(name = "Refusal", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyRefusal {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    error_code: &'static str,
    kind: &'static str,
    message: String,
}

impl From<Rejection> for PyRefusal {
    fn from(rejection: Rejection) -> Self {
        PyRefusal {
            status: rejection.status(),
            headers: rejection.headers(),
            body: rejection.body_json().to_string(),
            error_code: rejection.kind().error_code(),
            kind: rejection.auth_error().kind().as_str(),
            message: rejection.auth_error().to_string(),
        }
    }
}

#[pymethods]
impl PyRefusal {
    /// The HTTP status: 400, 401, 403, 500 or 503.
    #[getter]
    fn status(&self) -> u16 {
        self.status
    }

    /// Every response header, in order, names in lowercase.
    #[getter]
    fn headers(&self) -> Vec<(&'static str, String)> {
        self.headers.clone()
    }

    /// The JSON body, e.g. `{"error": "invalid_token"}`.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.body)
    }

    /// The body's `error` code (`missing_token`, `invalid_token`, `invalid_dpop_proof`, ...).
    #[getter]
    fn error(&self) -> &'static str {
        self.error_code
    }

    /// The verifier's error kind (`expired`, `invalid-signature`, ...), for logs.
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// Why, for logs: the check that failed, never the token or an expected value.
    #[getter]
    fn message(&self) -> &str {
        &self.message
    }

    fn __repr__(&self) -> String {
        format!(
            "Refusal(status={}, error={:?})",
            self.status, self.error_code
        )
    }
}

/// An outcome on its way to Python: the user, `None` or a `Refusal`.
struct Answer(Outcome);

impl<'py> IntoPyObject<'py> for Answer {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, self.0).map(|value| value.into_bound(py))
    }
}

/// A step-up rule (`jwks_auth::step_up::StepUp`): what a user's authentication must be for
/// an operation. Made by the static methods; judged by `RequestEdge.step_up`.
#[pyclass(name = "StepUp", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyStepUp {
    inner: StepUp,
}

#[pymethods]
impl PyStepUp {
    /// The `acr` claim must be one of `values` (RFC 9470 `acr_values`).
    #[staticmethod]
    fn acr(values: Vec<String>) -> PyResult<Self> {
        if values.is_empty() || values.iter().any(|value| value.trim().is_empty()) {
            return Err(PyValueError::new_err(
                "acr needs at least one non-empty value",
            ));
        }
        Ok(PyStepUp {
            inner: StepUp::acr(values),
        })
    }

    /// `auth_time` must be at most `max_age` seconds old (RFC 9470 `max_age`).
    #[staticmethod]
    fn auth_age(max_age: f64) -> PyResult<Self> {
        Ok(PyStepUp {
            inner: StepUp::auth_age(seconds(max_age, "max_age")?),
        })
    }

    /// Auth0 multi-factor: `amr` contains `mfa`, and `auth_time` is at most `max_age`
    /// seconds old when given.
    #[staticmethod]
    #[pyo3(signature = (max_age=None))]
    fn mfa(max_age: Option<f64>) -> PyResult<Self> {
        let max_age = max_age.map(|age| seconds(age, "max_age")).transpose()?;
        Ok(PyStepUp {
            inner: StepUp::mfa(max_age),
        })
    }

    /// Clerk reverification: `level` is `"strict"`, `"strict_mfa"`, `"moderate"` or
    /// `"lax"`, or `factor` (`"first_factor"`, `"second_factor"`, `"multi_factor"`) with
    /// `after_minutes`.
    #[staticmethod]
    #[pyo3(signature = (level=None, *, factor=None, after_minutes=None))]
    fn reverification(
        level: Option<&str>,
        factor: Option<&str>,
        after_minutes: Option<u32>,
    ) -> PyResult<Self> {
        let level = match (level, factor, after_minutes) {
            (Some(name), None, None) => Reverification::from_name(name).ok_or_else(|| {
                PyValueError::new_err("level must be strict, strict_mfa, moderate or lax")
            })?,
            (None, Some(factor), Some(after_minutes)) => Reverification::Custom {
                factor: match factor {
                    "first_factor" => ReverificationFactor::First,
                    "second_factor" => ReverificationFactor::Second,
                    "multi_factor" => ReverificationFactor::Multi,
                    _ => {
                        return Err(PyValueError::new_err(
                            "factor must be first_factor, second_factor or multi_factor",
                        ))
                    }
                },
                after_minutes,
            },
            _ => {
                return Err(PyValueError::new_err(
                    "give a level name, or factor and after_minutes",
                ))
            }
        };
        Ok(PyStepUp {
            inner: StepUp::Reverification(level),
        })
    }

    fn __repr__(&self) -> String {
        format!("StepUp({:?})", self.inner)
    }
}

/// What each MCP operation needs (`jwks_auth::edge::McpOperations`): scopes per method,
/// tool, resource and prompt, and step-up rules per tool, read from the `Mcp-Method` and
/// `Mcp-Name` headers by the request edge.
#[pyclass(name = "McpOperations", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyMcpOperations {
    inner: McpOperations,
}

type Scopes = std::collections::BTreeMap<String, Vec<String>>;

#[pymethods]
impl PyMcpOperations {
    #[new]
    #[pyo3(signature = (
        *, every_operation=Vec::new(), methods=Scopes::new(), tools=Scopes::new(),
        resources=Scopes::new(), prompts=Scopes::new(), tool_step_up=None,
    ))]
    fn new(
        every_operation: Vec<String>,
        methods: Scopes,
        tools: Scopes,
        resources: Scopes,
        prompts: Scopes,
        tool_step_up: Option<std::collections::BTreeMap<String, PyRef<'_, PyStepUp>>>,
    ) -> Self {
        let mut inner = McpOperations::new().every_operation(every_operation);
        for (method, scopes) in methods {
            inner = inner.method(method, scopes);
        }
        for (tool, scopes) in tools {
            inner = inner.tool(tool, scopes);
        }
        for (uri, scopes) in resources {
            inner = inner.resource(uri, scopes);
        }
        for (prompt, scopes) in prompts {
            inner = inner.prompt(prompt, scopes);
        }
        for (tool, rule) in tool_step_up.unwrap_or_default() {
            inner = inner.tool_step_up(tool, rule.inner.clone());
        }
        PyMcpOperations { inner }
    }

    /// Every scope the operation (`Mcp-Method`, `Mcp-Name`) needs, in order.
    #[pyo3(signature = (method=None, name=None))]
    fn required(&self, method: Option<&str>, name: Option<&str>) -> Vec<String> {
        self.inner
            .required(method, name)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("McpOperations({:?})", self.inner)
    }
}

/// A non-negative, finite number of seconds.
fn seconds(value: f64, name: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        PyValueError::new_err(format!("{name} must be a non-negative number of seconds"))
    })
}

/// Adds the classes to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStepUp>()?;
    m.add_class::<PyMcpOperations>()?;
    m.add_class::<PyRequestEdge>()?;
    m.add_class::<PyRefusal>()?;
    Ok(())
}
