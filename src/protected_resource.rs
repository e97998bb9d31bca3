//! [`ProtectedResource`]: this API as an OAuth 2.0 protected resource, described by its
//! Protected Resource Metadata (RFC 9728) and identified by its resource URI (RFC 8707).
//!
//! One value serves three purposes:
//! - the metadata document clients discover (with the `axum` feature,
//!   [`ProtectedResource::router`] answers `GET /.well-known/oauth-protected-resource...`);
//! - the `resource_metadata` parameter of every `401` challenge
//!   ([`AuthLayer::protected_resource`](crate::axum::AuthLayer::protected_resource), RFC 9728 §5.1);
//! - the verifier's default audience
//!   ([`VerifierBuilder::protected_resource`](crate::VerifierBuilder::protected_resource)):
//!   a token minted for another resource is refused.
//!
//! This is what the MCP authorization specification asks of every remote MCP server.

use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::error::{AuthError, Result};

/// The well-known path of RFC 9728 §3.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// How long clients may cache the metadata by default (`Cache-Control: max-age`).
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);

/// An OAuth 2.0 protected resource: its resource URI and its metadata (RFC 9728 §2).
///
/// ```
/// use jwks_auth::ProtectedResource;
/// let resource = ProtectedResource::builder("https://mcp.example.com/mcp")
///     .authorization_server("https://auth.example.com")
///     .scopes_supported(["notes:read", "notes:write"])
///     .resource_name("Notes MCP server")
///     .build()?;
/// assert_eq!(
///     resource.metadata_url(),
///     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// assert_eq!(resource.metadata()["authorization_servers"][0], "https://auth.example.com");
/// # Ok::<_, jwks_auth::AuthError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ProtectedResource {
    metadata: Metadata,
    metadata_url: String,
    metadata_path: String,
    max_age: Duration,
}

/// The members of RFC 9728 §2; empty ones are left out of the document.
#[derive(Debug, Clone, Default, Serialize)]
struct Metadata {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bearer_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resource_signing_alg_values_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_tos_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_client_certificate_bound_access_tokens: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_details_types_supported: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dpop_signing_alg_values_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_bound_access_tokens_required: Option<bool>,
}

/// `uri` with its scheme and host lowercased when it is an `http(s)` URI (RFC 3986
/// §6.2.2.1, case normalisation of the parts that are case-insensitive), else as is. The
/// path, query, port and user info are untouched: nothing looser than RFC 3986 says.
pub(crate) fn canonical_uri(uri: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.into();
    };
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return uri.into();
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // The host follows any user info; a port keeps its digits.
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let (user_info, host) = authority.split_at(host_start);
    if !scheme.bytes().any(|b| b.is_ascii_uppercase())
        && !host.bytes().any(|b| b.is_ascii_uppercase())
    {
        return uri.into();
    }
    format!(
        "{}://{user_info}{}{tail}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    )
    .into()
}

impl ProtectedResource {
    /// Starts describing the resource identified by `resource` (RFC 8707 / RFC 9728 §1.2):
    /// an `https` URL (plain `http` only on a loopback host), without fragment, query or
    /// credentials, e.g. `https://mcp.example.com/mcp`. Its scheme and host are lowercased
    /// (RFC 3986 §6.2.2.1: `HTTPS://API.Example.com/mcp` is `https://api.example.com/mcp`),
    /// the rest kept as given: it is the `resource` member, the audience tokens must carry
    /// (compared with the same normalisation of scheme and host, and nothing looser), and
    /// the resource indicator clients ask for.
    pub fn builder(resource: impl Into<String>) -> ProtectedResourceBuilder {
        ProtectedResourceBuilder {
            metadata: Metadata {
                resource: canonical_uri(&resource.into()).into_owned(),
                ..Metadata::default()
            },
            max_age: DEFAULT_MAX_AGE,
        }
    }

    /// The resource URI as given to [`builder`](Self::builder), scheme and host lowercased.
    pub fn resource(&self) -> &str {
        &self.metadata.resource
    }

    /// Where clients fetch the metadata (RFC 9728 §3.1): the well-known path inserted
    /// between the host and the resource's path, e.g. `https://h/mcp` →
    /// `https://h/.well-known/oauth-protected-resource/mcp`.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The path of [`metadata_url`](Self::metadata_url), e.g.
    /// `/.well-known/oauth-protected-resource/mcp`.
    pub fn metadata_path(&self) -> &str {
        &self.metadata_path
    }

    /// The scopes listed in `scopes_supported`.
    pub fn scopes_supported(&self) -> &[String] {
        &self.metadata.scopes_supported
    }

    /// The metadata document (RFC 9728 §2), without empty members.
    pub fn metadata(&self) -> serde_json::Value {
        serde_json::to_value(&self.metadata).unwrap_or_default()
    }

    /// The document as served: the members in RFC 9728 §2 order, `resource` first.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn metadata_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.metadata).unwrap_or_default()
    }

    /// How long clients may cache the document (`Cache-Control: public, max-age=…`).
    pub fn cache_max_age(&self) -> Duration {
        self.max_age
    }
}

/// Configures a [`ProtectedResource`]; [`build`](Self::build) checks the URLs.
#[derive(Debug)]
#[must_use]
pub struct ProtectedResourceBuilder {
    metadata: Metadata,
    max_age: Duration,
}

impl ProtectedResourceBuilder {
    /// Adds an authorization server (its issuer identifier, RFC 8414) whose tokens this
    /// resource accepts (`authorization_servers`). Default: none.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.metadata.authorization_servers.push(issuer.into());
        self
    }

    /// The authorization servers (`authorization_servers`), replacing earlier ones.
    /// Default: none.
    pub fn authorization_servers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.metadata.authorization_servers = issuers.into_iter().map(Into::into).collect();
        self
    }

    /// The resource's own JWK set URL (`jwks_uri`), for signed responses. Default: none.
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.metadata.jwks_uri = Some(url.into());
        self
    }

    /// The scopes clients may request for this resource (`scopes_supported`). Default: none.
    ///
    /// `offline_access` is left out: it asks the authorization server for a refresh token,
    /// it is no permission of this resource, and the MCP authorization spec says a resource
    /// does not advertise it.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.metadata.scopes_supported = scopes
            .into_iter()
            .map(Into::into)
            .filter(|scope| scope != "offline_access")
            .collect();
        self
    }

    /// How tokens may be sent (`bearer_methods_supported`: `header`, `body`, `query`).
    /// Default: none listed. The [`AuthLayer`](crate::axum::AuthLayer) reads `header`.
    pub fn bearer_methods_supported<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.metadata.bearer_methods_supported = methods.into_iter().map(Into::into).collect();
        self
    }

    /// The algorithms the resource signs responses with
    /// (`resource_signing_alg_values_supported`). Default: none.
    pub fn resource_signing_alg_values_supported<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.metadata.resource_signing_alg_values_supported =
            algs.into_iter().map(Into::into).collect();
        self
    }

    /// A human-readable name (`resource_name`). Default: none.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.metadata.resource_name = Some(name.into());
        self
    }

    /// A URL of developer documentation (`resource_documentation`). Default: none.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.metadata.resource_documentation = Some(url.into());
        self
    }

    /// A URL of the data-use policy (`resource_policy_uri`). Default: none.
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.metadata.resource_policy_uri = Some(url.into());
        self
    }

    /// A URL of the terms of service (`resource_tos_uri`). Default: none.
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.metadata.resource_tos_uri = Some(url.into());
        self
    }

    /// Whether mTLS certificate-bound tokens are supported
    /// (`tls_client_certificate_bound_access_tokens`). Default: not listed.
    pub fn tls_client_certificate_bound_access_tokens(mut self, supported: bool) -> Self {
        self.metadata.tls_client_certificate_bound_access_tokens = Some(supported);
        self
    }

    /// RAR types accepted (`authorization_details_types_supported`). Default: none.
    pub fn authorization_details_types_supported<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.metadata.authorization_details_types_supported =
            types.into_iter().map(Into::into).collect();
        self
    }

    /// DPoP proof algorithms accepted (`dpop_signing_alg_values_supported`). Default: none.
    pub fn dpop_signing_alg_values_supported<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.metadata.dpop_signing_alg_values_supported =
            algs.into_iter().map(Into::into).collect();
        self
    }

    /// Whether only DPoP-bound tokens are accepted (`dpop_bound_access_tokens_required`).
    /// Default: not listed.
    pub fn dpop_bound_access_tokens_required(mut self, required: bool) -> Self {
        self.metadata.dpop_bound_access_tokens_required = Some(required);
        self
    }

    /// How long clients may cache the document (whole seconds). Default: 1 hour.
    pub fn cache_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Checks the URLs and builds the resource.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the resource URI is not an
    /// absolute `https` URL (plain `http` only on loopback), has a fragment, a query or
    /// credentials, or a path the well-known route cannot carry (empty segments, `:` or
    /// `*` at a segment start); when an authorization server is not such a URL (a query is
    /// refused there too, RFC 8414 §2); when a documentation, policy, terms or `jwks_uri`
    /// value is not an absolute URL.
    pub fn build(self) -> Result<ProtectedResource> {
        let metadata = self.metadata;
        let url = checked_url(&metadata.resource, "resource")?;
        let path = url.path();
        if path.contains("//")
            || path
                .split('/')
                .any(|segment| segment.starts_with(':') || segment.starts_with('*'))
        {
            return Err(AuthError::config(
                "resource path has an empty segment or a segment starting with `:` or `*`",
            ));
        }
        for issuer in &metadata.authorization_servers {
            checked_url(issuer, "authorization server")?;
        }
        let documents = [
            (&metadata.jwks_uri, "jwks_uri"),
            (&metadata.resource_documentation, "resource_documentation"),
            (&metadata.resource_policy_uri, "resource_policy_uri"),
            (&metadata.resource_tos_uri, "resource_tos_uri"),
        ];
        for (value, name) in documents {
            if let Some(value) = value {
                Url::parse(value)
                    .map_err(|_| AuthError::config(format!("{name} is not an absolute URL")))?;
            }
        }
        // RFC 9728 §3.1: the well-known path goes between the host and the resource's path;
        // a lone `/` path adds nothing.
        let metadata_path = match path {
            "/" | "" => WELL_KNOWN_PATH.to_owned(),
            path => format!("{WELL_KNOWN_PATH}{path}"),
        };
        let metadata_url = format!("{}{metadata_path}", url.origin().ascii_serialization());
        Ok(ProtectedResource {
            metadata,
            metadata_url,
            metadata_path,
            max_age: self.max_age,
        })
    }
}

/// `value` as an `https` URL (or `http` on loopback) without fragment, query or userinfo.
fn checked_url(value: &str, what: &str) -> Result<Url> {
    let url = Url::parse(value).map_err(|_| AuthError::config(format!("{what} is not a URL")))?;
    match url.scheme() {
        "https" => {}
        "http" if crate::keys::is_loopback(&url) => {}
        "http" => {
            return Err(AuthError::config(format!(
                "{what} must use https (plain http only on a loopback host)"
            )))
        }
        _ => return Err(AuthError::config(format!("{what} must be an https URL"))),
    }
    if url.host().is_none() {
        return Err(AuthError::config(format!("{what} has no host")));
    }
    if url.fragment().is_some() {
        return Err(AuthError::config(format!(
            "{what} must not have a fragment"
        )));
    }
    if url.query().is_some() {
        return Err(AuthError::config(format!("{what} must not have a query")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AuthError::config(format!(
            "{what} must not carry credentials"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uri_lowercases_scheme_and_host_only() {
        assert_eq!(
            canonical_uri("HTTPS://API.Example.com:8443/MCP?Q=A"),
            "https://api.example.com:8443/MCP?Q=A"
        );
        assert_eq!(
            canonical_uri("https://User@Host.Example/x"),
            "https://User@host.example/x"
        );
        assert_eq!(
            canonical_uri("https://api.example.com"),
            "https://api.example.com"
        );
        assert_eq!(canonical_uri("URN:Example:API"), "URN:Example:API");
        assert_eq!(canonical_uri("api://My-App"), "api://My-App");
    }

    fn url_of(resource: &str) -> String {
        ProtectedResource::builder(resource)
            .build()
            .unwrap()
            .metadata_url()
            .to_owned()
    }

    #[test]
    fn metadata_url_inserts_the_well_known_path_before_the_resource_path() {
        assert_eq!(
            url_of("https://h.example/mcp"),
            "https://h.example/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            url_of("https://h.example"),
            "https://h.example/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            url_of("https://h.example/"),
            "https://h.example/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            url_of("http://127.0.0.1:8080/a/b/"),
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/a/b/"
        );
    }
}
