//! `ProtectedResource`: RFC 9728 Protected Resource Metadata for Python services (the
//! library's [`jwks_auth::ProtectedResource`]): the document, the paths it is served at,
//! and the `resource_metadata` URL challenges point to.

use jwks_auth::ProtectedResource;
use pyo3::prelude::*;

use crate::{json_to_py, map_err};

#[pyclass(name = "ProtectedResource", module = "jwks_auth", frozen)]
#[derive(Debug)]
pub struct PyProtectedResource {
    pub(crate) inner: ProtectedResource,
}

#[pymethods]
impl PyProtectedResource {
    /// The resource `resource` (its canonical URI: https, or loopback http) protected by
    /// `authorization_servers`; the other arguments are the RFC 9728 §2 members of the same
    /// names. Raises `ConfigError` for an invalid URL.
    #[new]
    #[pyo3(signature = (
        resource, *, authorization_servers=Vec::new(), scopes_supported=Vec::new(),
        resource_name=None, resource_documentation=None, dpop_bound_access_tokens_required=None,
        dpop_signing_alg_values_supported=Vec::new(),
    ))]
    #[allow(clippy::too_many_arguments)] // keyword arguments of the Python constructor
    fn new(
        resource: String,
        authorization_servers: Vec<String>,
        scopes_supported: Vec<String>,
        resource_name: Option<String>,
        resource_documentation: Option<String>,
        dpop_bound_access_tokens_required: Option<bool>,
        dpop_signing_alg_values_supported: Vec<String>,
    ) -> PyResult<Self> {
        let mut builder = ProtectedResource::builder(resource)
            .authorization_servers(authorization_servers)
            .scopes_supported(scopes_supported)
            .dpop_signing_alg_values_supported(dpop_signing_alg_values_supported);
        if let Some(name) = resource_name {
            builder = builder.resource_name(name);
        }
        if let Some(url) = resource_documentation {
            builder = builder.resource_documentation(url);
        }
        if let Some(required) = dpop_bound_access_tokens_required {
            builder = builder.dpop_bound_access_tokens_required(required);
        }
        map_err(builder.build()).map(|inner| PyProtectedResource { inner })
    }

    /// The resource identifier.
    #[getter]
    fn resource(&self) -> &str {
        self.inner.resource()
    }

    /// The document's URL (RFC 9728 §3.1), what challenges' `resource_metadata` names.
    #[getter]
    fn metadata_url(&self) -> &str {
        self.inner.metadata_url()
    }

    /// The path the document is served at (`/.well-known/oauth-protected-resource[/path]`).
    #[getter]
    fn metadata_path(&self) -> &str {
        self.inner.metadata_path()
    }

    /// How long clients may cache the document, in seconds (`Cache-Control: max-age`).
    #[getter]
    fn cache_max_age(&self) -> u64 {
        self.inner.cache_max_age().as_secs()
    }

    /// The metadata document, a dict without empty members.
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.metadata().to_string())
    }

    fn __repr__(&self) -> String {
        format!("ProtectedResource(resource={:?})", self.inner.resource())
    }
}
