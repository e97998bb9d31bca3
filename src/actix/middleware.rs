//! [`AuthLayer`]: authenticates every request of an app, scope or resource.

use std::fmt;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage, ResponseError};

use super::extract::edge_request;
use super::response::{AuthConfig, AuthRejection};
use crate::edge::RequestEdge;
use crate::{AuthUser, ProtectedResource, Verifier};

/// Authenticates every request that reaches the wrapped service, except allow-listed public
/// paths, and puts the [`AuthUser`] into the request extensions (where the extractors and
/// guards find it without verifying again).
///
/// It also puts the [`Verifier`], the [`AuthConfig`] and its
/// [`RequestEdge`](crate::edge::RequestEdge) into the extensions, so extractors and guards
/// behind it need no app data and answer with its settings, and
/// [`OptionalAuthUser`](super::OptionalAuthUser) works on public paths.
///
/// An actix-web middleware (`App::wrap`), named `AuthLayer` like the axum and tonic layers
/// so one name means one thing in every integration (it was `AuthMiddleware`, still there
/// as a deprecated alias).
///
/// ```
/// use actix_web::{web, App};
/// use jwks_auth::actix::AuthLayer;
/// use jwks_auth::{AuthUser, Provider, Verifier};
/// # fn run() -> Result<(), jwks_auth::AuthError> {
/// let verifier = Verifier::builder(Provider::better_auth("https://auth.example.com")?).build()?;
/// let app = App::new()
///     .route("/health", web::get().to(|| async { "ok" }))
///     .route("/api/me", web::get().to(|user: AuthUser| async move { user.id }))
///     .wrap(AuthLayer::new(verifier).public_path("/health").realm("notes"));
/// # Ok(()) }
/// ```
///
/// # Public paths
/// The allow-list compares the request's path (the whole path, also inside a
/// `web::scope`) without decoding or normalizing it: anything that does not match exactly
/// stays protected.
///
/// # DPoP
/// With a verifier built with [`dpop`](crate::VerifierBuilder::dpop), requests with
/// `Authorization: DPoP <token>` and a `DPoP` proof header are verified against the URL the
/// client used (see [`external_origin`](Self::external_origin)), every 401 offers the `DPoP`
/// challenge, and with server nonces every answer carries `DPoP-Nonce`.
#[derive(Clone)]
#[must_use]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

#[derive(Clone)]
struct Shared {
    /// Put in the extensions, where the extractors found it before the edge.
    verifier: Verifier,
    config: AuthConfig,
    edge: RequestEdge,
}

impl AuthLayer {
    /// A middleware verifying with `verifier`, everything protected, default [`AuthConfig`].
    pub fn new(verifier: Verifier) -> Self {
        let config = AuthConfig::default();
        AuthLayer {
            shared: Arc::new(Shared {
                edge: config.edge(verifier.clone()),
                verifier,
                config,
            }),
        }
    }

    /// Changes the edge (a builder call on a cloned middleware copies the settings first).
    fn edge(mut self, change: impl FnOnce(RequestEdge) -> RequestEdge) -> Self {
        let shared = Arc::make_mut(&mut self.shared);
        shared.edge = change(shared.edge.clone());
        self
    }

    /// A path served without a token (exact match, e.g. `/health`). Default: none.
    ///
    /// An empty path is a configuration error: the middleware then answers every request
    /// with 500 (and logs why) rather than open anything.
    pub fn public_path(self, path: impl Into<String>) -> Self {
        self.edge(|edge| edge.public_path(path))
    }

    /// A prefix served without a token, matched on whole segments: `/docs` opens `/docs` and
    /// `/docs/...` but not `/docsearch`. Default: none.
    ///
    /// An empty prefix (which would open every path) is a configuration error: the
    /// middleware then answers every request with 500 (and logs why).
    pub fn public_prefix(self, prefix: impl Into<String>) -> Self {
        self.edge(|edge| edge.public_prefix(prefix))
    }

    /// All response settings at once. Default: [`AuthConfig::default`].
    pub fn config(mut self, config: AuthConfig) -> Self {
        let settings = config.settings();
        Arc::make_mut(&mut self.shared).config = config;
        self.edge(|edge| edge.realm(settings.realm).retry_after(settings.retry_after))
    }

    /// The realm of the `WWW-Authenticate` challenge. Default: `api`.
    pub fn realm(self, realm: impl Into<String>) -> Self {
        let config = self.shared.config.clone().realm(realm);
        self.config(config)
    }

    /// The origin clients reach this service at (`https://api.example.com`, optionally
    /// with a path prefix a proxy strips), for the URL a DPoP proof's `htu` must match.
    /// Default: none; the URL is then built from the request's own absolute URI or its
    /// `Host` header with `http`. An origin that is not an absolute `http(s)` URL makes
    /// every DPoP request a 500.
    ///
    /// The middleware sees the whole path, also inside a `web::scope`: give the origin
    /// without the scope's prefix.
    pub fn external_origin(self, origin: impl Into<String>) -> Self {
        self.edge(|edge| edge.external_origin(origin))
    }

    /// What each MCP operation needs (scopes, step-up), from the `Mcp-Method` and `Mcp-Name`
    /// headers: see [`McpOperations`](crate::edge::McpOperations). Default: none.
    pub fn mcp_operations(self, operations: crate::edge::McpOperations) -> Self {
        self.edge(|edge| edge.mcp_operations(operations))
    }

    /// Build the DPoP request URL from `Forwarded` (RFC 7239) or `X-Forwarded-Proto` +
    /// `X-Forwarded-Host` when no [`external_origin`](Self::external_origin) is set. Only
    /// behind a proxy that sets these headers itself: a client can send them too. Default:
    /// off (and actix-web's `connection_info()`, which always reads them, is not used).
    ///
    /// The value used is the one the nearest proxy added (the last), and a malformed host or
    /// forwarded value is refused with 400: the rules are
    /// [`RequestEdge::trust_forwarded_headers`](crate::edge::RequestEdge::trust_forwarded_headers)'s.
    pub fn trust_forwarded_headers(self, trust: bool) -> Self {
        self.edge(|edge| edge.trust_forwarded_headers(trust))
    }

    /// Serves as `resource` (RFC 9728): every challenge carries
    /// `resource_metadata="<metadata url>"`, here and in the extractors and guards behind
    /// the middleware, and the metadata paths (`/.well-known/oauth-protected-resource` and
    /// its path-suffixed form) are public, so the app can serve
    /// [`ProtectedResource::metadata`](crate::ProtectedResource::metadata) there
    /// inside the middleware. Build the verifier with
    /// [`VerifierBuilder::protected_resource`](crate::VerifierBuilder::protected_resource)
    /// so that tokens for other resources are refused. Default: none.
    ///
    /// ```
    /// use actix_web::{web, App};
    /// use jwks_auth::actix::AuthLayer;
    /// use jwks_auth::{AuthUser, ProtectedResource, Provider, Verifier};
    /// # fn run() -> Result<(), jwks_auth::AuthError> {
    /// let resource = ProtectedResource::builder("https://mcp.example.com/mcp")
    ///     .authorization_server("https://auth.example.com")
    ///     .build()?;
    /// let verifier = Verifier::builder(Provider::oidc("https://auth.example.com")?)
    ///     .protected_resource(&resource)
    ///     .build()?;
    /// let app = App::new()
    ///     .route("/mcp", web::post().to(|user: AuthUser| async move { user.id }))
    ///     .wrap(AuthLayer::new(verifier).protected_resource(&resource));
    /// # Ok(()) }
    /// ```
    pub fn protected_resource(self, resource: &ProtectedResource) -> Self {
        self.edge(|edge| edge.protected_resource(resource))
    }
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("config", &self.shared.config)
            .field("edge", &self.shared.edge)
            .finish()
    }
}

impl<S, B> Transform<S, ServiceRequest> for AuthLayer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = AuthService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthService {
            service: Rc::new(service),
            shared: self.shared.clone(),
        }))
    }
}

/// The service made by [`AuthLayer`].
pub struct AuthService<S> {
    service: Rc<S>,
    shared: Arc<Shared>,
}

impl<S> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B> Service<ServiceRequest> for AuthService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let shared = self.shared.clone();
        Box::pin(async move {
            {
                let mut extensions = request.extensions_mut();
                extensions.insert(shared.verifier.clone());
                extensions.insert(shared.config.clone());
                extensions.insert(shared.edge.clone());
            }
            let guarded = shared.edge.guard(&edge_request(request.request())).await;
            match guarded {
                Ok(Some(user)) => {
                    request.extensions_mut().insert::<AuthUser>(user);
                }
                Ok(None) => {}
                Err(rejection) => {
                    let response = AuthRejection::new(rejection, &shared.config).error_response();
                    return Ok(request.into_response(response).map_into_right_body());
                }
            }
            let mut response = service.call(request).await?;
            // RFC 9449 §8: with server nonces, every answer carries the current one.
            if let Some(nonce) = shared.edge.dpop_nonce() {
                if let Ok(value) = HeaderValue::try_from(nonce) {
                    let name = HeaderName::from_static("dpop-nonce");
                    response.headers_mut().insert(name, value);
                }
            }
            Ok(response.map_into_left_body())
        })
    }
}
