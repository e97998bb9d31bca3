//! [`AuthLayer`]: a tower layer that authenticates every request of a router subtree.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::axum::extract::Request;
use ::axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::future::ResponseFuture;
use super::response::{AuthConfig, AuthRejection, RejectionResponse};
use crate::edge::{EdgeRequest, RequestEdge};
use crate::verified_cache::Digest;
use crate::{AuthUser, Verifier};

/// Authenticates every request that reaches the wrapped service, except allow-listed public
/// paths, and puts the [`AuthUser`](crate::AuthUser) into the request extensions (where the
/// extractors and guards find it without verifying again).
///
/// It also puts the [`Verifier`] and a set [`AuthConfig`] into the extensions (the default
/// is left out: extractors and guards fall back to it), so extractors and guards behind it
/// need nothing in the router state, and `Option<AuthUser>` works on public paths.
///
/// ```
/// use axum::{routing::get, Router};
/// use jwks_auth::axum::AuthLayer;
/// use jwks_auth::{AuthUser, Provider, Verifier};
/// # fn run() -> Result<(), jwks_auth::AuthError> {
/// let verifier = Verifier::builder(Provider::better_auth("https://auth.example.com")?).build()?;
/// let app: Router = Router::new()
///     .route("/health", get(|| async { "ok" }))
///     .route("/api/me", get(|user: AuthUser| async move { user.id }))
///     .layer(AuthLayer::new(verifier).public_path("/health").realm("notes"));
/// # Ok(()) }
/// ```
///
/// # Public paths
/// The allow-list compares the request path as the layer sees it (inside `Router::nest` that
/// is the path below the nesting prefix), without decoding or normalizing it: anything that
/// does not match exactly stays protected.
#[derive(Clone)]
#[must_use]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

struct Shared {
    verifier: Verifier,
    config: AuthConfig,
    /// The config was set (`config`, `realm`, ...): requests carry it. The default is left
    /// out, as the extractors fall back to it: one extension fewer per request.
    configured: bool,
    /// Public paths, the origin DPoP proofs name, finding and verifying the credential.
    edge: RequestEdge,
}

impl AuthLayer {
    /// A layer verifying with `verifier`, everything protected, default [`AuthConfig`].
    pub fn new(verifier: Verifier) -> Self {
        AuthLayer {
            shared: Arc::new(Shared {
                edge: RequestEdge::new(verifier.clone()),
                verifier,
                config: AuthConfig::default(),
                configured: false,
            }),
        }
    }

    fn shared_mut(&mut self) -> &mut Shared {
        // A builder call on a layer that was already cloned copies the settings first.
        if Arc::get_mut(&mut self.shared).is_none() {
            self.shared = Arc::new(Shared {
                verifier: self.shared.verifier.clone(),
                config: self.shared.config.clone(),
                configured: self.shared.configured,
                edge: self.shared.edge.clone(),
            });
        }
        Arc::get_mut(&mut self.shared).expect("unique after the copy")
    }

    /// A path served without a token (exact match, e.g. `/health`). Default: none.
    ///
    /// An empty path is a configuration error: the layer then answers every request with
    /// 500 (and logs why) rather than open anything.
    pub fn public_path(mut self, path: impl Into<String>) -> Self {
        self.shared_mut().change_edge(|edge| edge.public_path(path));
        self
    }

    /// A prefix served without a token, matched on whole segments: `/docs` opens `/docs` and
    /// `/docs/...` but not `/docsearch`. Default: none.
    ///
    /// An empty prefix (which would open every path) is a configuration error: the layer
    /// then answers every request with 500 (and logs why).
    pub fn public_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.shared_mut()
            .change_edge(|edge| edge.public_prefix(prefix));
        self
    }

    /// All response settings at once. Default: [`AuthConfig::default`].
    pub fn config(mut self, config: AuthConfig) -> Self {
        self.shared_mut().set_config(|_| config);
        self
    }

    /// The realm of the `WWW-Authenticate` challenge. Default: `api`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.shared_mut().set_config(|config| config.realm(realm));
        self
    }

    /// The origin clients reach this service at (`https://api.example.com`, optionally
    /// with a path prefix a proxy strips), for the URL a DPoP proof's `htu` must match.
    /// Default: none; the URL is then built from the request's own absolute URI or its
    /// `Host` header with `http`. An origin that is not an absolute `http(s)` URL makes
    /// every DPoP request a 500.
    ///
    /// The layer sees the path below any `Router::nest` prefix: apply it to the outer
    /// router (or include the prefix here).
    pub fn external_origin(mut self, origin: impl Into<String>) -> Self {
        self.shared_mut()
            .change_edge(|edge| edge.external_origin(origin));
        self
    }

    /// What each MCP operation needs (scopes, step-up), from the `Mcp-Method` and `Mcp-Name`
    /// headers: see [`McpOperations`](crate::edge::McpOperations). Default: none.
    pub fn mcp_operations(mut self, operations: crate::edge::McpOperations) -> Self {
        self.shared_mut()
            .change_edge(|edge| edge.mcp_operations(operations));
        self
    }

    /// Build the DPoP request URL from `Forwarded` (RFC 7239) or `X-Forwarded-Proto` +
    /// `X-Forwarded-Host` when no [`external_origin`](Self::external_origin) is set. Only
    /// behind a proxy that sets these headers itself: a client can send them too. Default:
    /// off.
    ///
    /// The value used is the one the nearest proxy added (the last), and a malformed host or
    /// forwarded value is refused with 400: the rules are
    /// [`RequestEdge::trust_forwarded_headers`](crate::edge::RequestEdge::trust_forwarded_headers)'s.
    pub fn trust_forwarded_headers(mut self, trust: bool) -> Self {
        self.shared_mut()
            .change_edge(|edge| edge.trust_forwarded_headers(trust));
        self
    }

    /// Serves as `resource` (RFC 9728): every challenge carries
    /// `resource_metadata="<metadata url>"` (see [`AuthConfig::protected_resource`]), and the
    /// metadata paths (`/.well-known/oauth-protected-resource` and its path-suffixed form)
    /// are public, so [`ProtectedResource::router`](crate::ProtectedResource::router) can be
    /// merged inside the layer. Build the verifier with
    /// [`VerifierBuilder::protected_resource`](crate::VerifierBuilder::protected_resource)
    /// so that tokens for other resources are refused. Call it after
    /// [`config`](Self::config), which replaces every response setting. Default: none.
    ///
    /// ```
    /// use axum::{routing::post, Router};
    /// use jwks_auth::axum::AuthLayer;
    /// use jwks_auth::{AuthUser, ProtectedResource, Provider, Verifier};
    /// # fn run() -> Result<(), jwks_auth::AuthError> {
    /// let resource = ProtectedResource::builder("https://mcp.example.com/mcp")
    ///     .authorization_server("https://auth.example.com")
    ///     .build()?;
    /// let verifier = Verifier::builder(Provider::oidc("https://auth.example.com")?)
    ///     .protected_resource(&resource)
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     .route("/mcp", post(|user: AuthUser| async move { user.id }))
    ///     .merge(resource.router())
    ///     .layer(AuthLayer::new(verifier).protected_resource(&resource));
    /// # Ok(()) }
    /// ```
    pub fn protected_resource(mut self, resource: &crate::ProtectedResource) -> Self {
        let shared = self.shared_mut();
        shared.set_config(|config| config.protected_resource(resource));
        for path in [crate::WELL_KNOWN_PATH, resource.metadata_path()] {
            shared.change_edge(|edge| edge.public_path(path));
        }
        self
    }

    /// Replaces the rejection body here and in the extractors and guards behind the layer.
    /// Default: [`JsonRejection`](super::JsonRejection).
    pub fn rejection_response(mut self, responder: impl RejectionResponse) -> Self {
        self.shared_mut()
            .set_config(|config| config.rejection_response(responder));
        self
    }
}

impl Shared {
    /// Replaces the response settings with `change` of the current ones; requests then carry
    /// them in their extensions.
    fn set_config(&mut self, change: impl FnOnce(AuthConfig) -> AuthConfig) {
        self.config = change(self.config.clone());
        self.configured = true;
    }

    /// Applies `change` to the edge (a builder call on the layer).
    fn change_edge(&mut self, change: impl FnOnce(RequestEdge) -> RequestEdge) {
        self.edge = change(self.edge.clone());
    }

    /// The user of a request on a protected path, through the request edge (Bearer, DPoP,
    /// the preset's cookie); `digest`: the bearer token's cache key when a lookup computed it.
    async fn authenticate(
        &self,
        parts: &::axum::http::request::Parts,
        digest: Option<Digest>,
    ) -> Result<AuthUser, AuthRejection> {
        let target = parts
            .uri
            .path_and_query()
            .map_or("/", |path_and_query| path_and_query.as_str());
        let mut request = EdgeRequest::new(parts.method.as_str(), target, &parts.headers);
        // An absolute-form request line (or HTTP/2 `:scheme` + `:authority`) names its origin.
        if let (Some(scheme), Some(authority)) = (parts.uri.scheme_str(), parts.uri.authority()) {
            request = request.origin(scheme, authority.as_str());
        }
        match self.edge.authenticate_after_lookup(&request, digest).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(self.refuse(self.edge.missing_token(&request))),
            Err(rejection) => Err(self.refuse(rejection)),
        }
    }

    fn refuse(&self, rejection: crate::edge::Rejection) -> AuthRejection {
        AuthRejection::from_edge(rejection, &self.config)
    }

    /// The user of a request whose bearer token the verified-token cache answers at once
    /// (see `Verifier::cached_answer`), on a protected path with no DPoP in play. Otherwise
    /// the token's digest, if computed, for the full path, which answers every other case.
    fn cached_user(&self, request: &Request) -> Result<crate::AuthUser, Option<Digest>> {
        if self.verifier.dpop_checker().is_some()
            || self.edge.has_operation_rules()
            || !matches!(self.edge.is_public(request.uri().path()), Ok(false))
        {
            return Err(None);
        }
        let sources = self.verifier.token_sources();
        // The usual request: a hit needs no check of the bytes (see `bearer_bytes`), and a
        // miss passes its digest on only if the full path will look up the same token.
        let headers = crate::edge::TokenHeaders(request.headers());
        if let Some(token) = crate::token_source::bearer_bytes(&headers, sources) {
            return self.verifier.cached_answer(token).map_err(|digest| {
                digest.filter(|_| crate::token_source::is_plain_bearer_token(token))
            });
        }
        match crate::token_source::find_token(&headers, sources) {
            Ok(Some(token)) => self.verifier.cached_answer(token.as_bytes()),
            _ => Err(None),
        }
    }
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("provider", &self.shared.verifier.provider_name())
            .field("config", &self.shared.config)
            .field("edge", &self.shared.edge)
            .finish()
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: fmt::Debug> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> Service<Request> for AuthService<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let digest = match self.shared.cached_user(&request) {
            Ok(user) => {
                let extensions = request.extensions_mut();
                extensions.insert(self.shared.verifier.clone());
                if self.shared.configured {
                    extensions.insert(self.shared.config.clone());
                }
                extensions.insert(user);
                // Nothing to await first: the ready service is called here, and its future
                // is the response future (no clone of the service, no box).
                return ResponseFuture::inner(self.inner.call(request));
            }
            Err(digest) => digest,
        };
        // The ready service goes into the future; its fresh clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        ResponseFuture::new(async move {
            let public = match shared.edge.is_public(request.uri().path()) {
                Ok(public) => public,
                Err(rejection) => return Ok(shared.refuse(rejection).into_response()),
            };
            let (mut parts, body) = request.into_parts();
            parts.extensions.insert(shared.verifier.clone());
            if shared.configured {
                parts.extensions.insert(shared.config.clone());
            }
            if !public {
                match shared.authenticate(&parts, digest).await {
                    // Verified here and moved into the extensions (the extractors' copy).
                    Ok(user) => {
                        parts.extensions.insert(user);
                    }
                    Err(rejection) => return Ok(rejection.into_response()),
                }
            }
            let mut response = inner
                .call(Request::from_parts(parts, body))
                .await?
                .into_response();
            if let Some(nonce) = shared.edge.dpop_nonce() {
                if let Ok(value) = ::axum::http::HeaderValue::from_str(&nonce) {
                    response.headers_mut().insert("dpop-nonce", value);
                }
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Provider;

    fn layer() -> AuthLayer {
        let verifier = Verifier::builder(Provider::shared_secret([7u8; 32].as_slice()).unwrap())
            .any_issuer()
            .build()
            .unwrap();
        AuthLayer::new(verifier)
    }

    #[test]
    fn builder_on_a_cloned_layer_leaves_the_clone_alone() {
        let first = layer().public_path("/a");
        let second = first.clone().public_path("/b");
        let public = |layer: &AuthLayer, path| layer.shared.edge.is_public(path).unwrap();
        assert!(!public(&first, "/b"));
        assert!(public(&second, "/a"));
        assert!(public(&second, "/b"));
    }
}
