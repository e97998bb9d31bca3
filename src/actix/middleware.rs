//! [`AuthMiddleware`]: authenticates every request of an app, scope or resource.

use std::fmt;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, HttpMessage, ResponseError};

use super::extract::verify_request;
use super::response::{AuthConfig, AuthRejection};
use crate::rejection::{PublicRoutes, RejectionKind};
use crate::{AuthUser, Verifier};

/// Authenticates every request that reaches the wrapped service, except allow-listed public
/// paths, and puts the [`AuthUser`] into the request extensions (where the extractors and
/// guards find it without verifying again).
///
/// It also puts the [`Verifier`] and the [`AuthConfig`] into the extensions, so extractors
/// and guards behind it need no app data, and [`OptionalAuthUser`](super::OptionalAuthUser)
/// works on public paths.
///
/// ```
/// use actix_web::{web, App};
/// use jwks_auth::actix::AuthMiddleware;
/// use jwks_auth::{AuthUser, Provider, Verifier};
/// # fn run() -> Result<(), jwks_auth::AuthError> {
/// let verifier = Verifier::builder(Provider::better_auth("https://auth.example.com")?).build()?;
/// let app = App::new()
///     .route("/health", web::get().to(|| async { "ok" }))
///     .route("/api/me", web::get().to(|user: AuthUser| async move { user.id }))
///     .wrap(AuthMiddleware::new(verifier).public_path("/health").realm("notes"));
/// # Ok(()) }
/// ```
///
/// # Public paths
/// The allow-list compares the request's path (the whole path, also inside a
/// `web::scope`) without decoding or normalizing it: anything that does not match exactly
/// stays protected.
#[derive(Clone)]
#[must_use]
pub struct AuthMiddleware {
    shared: Arc<Shared>,
}

#[derive(Clone)]
struct Shared {
    verifier: Verifier,
    config: AuthConfig,
    public: PublicRoutes,
}

impl AuthMiddleware {
    /// A middleware verifying with `verifier`, everything protected, default [`AuthConfig`].
    pub fn new(verifier: Verifier) -> Self {
        AuthMiddleware {
            shared: Arc::new(Shared {
                verifier,
                config: AuthConfig::default(),
                public: PublicRoutes::default(),
            }),
        }
    }

    /// A path served without a token (exact match, e.g. `/health`). Default: none.
    ///
    /// An empty path is a configuration error: the middleware then answers every request
    /// with 500 (and logs why) rather than open anything.
    pub fn public_path(mut self, path: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.shared).public.add_path(path.into());
        self
    }

    /// A prefix served without a token, matched on whole segments: `/docs` opens `/docs` and
    /// `/docs/...` but not `/docsearch`. Default: none.
    ///
    /// An empty prefix (which would open every path) is a configuration error: the
    /// middleware then answers every request with 500 (and logs why).
    pub fn public_prefix(mut self, prefix: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.shared)
            .public
            .add_prefix(prefix.into());
        self
    }

    /// All response settings at once. Default: [`AuthConfig::default`].
    pub fn config(mut self, config: AuthConfig) -> Self {
        Arc::make_mut(&mut self.shared).config = config;
        self
    }

    /// The realm of the `WWW-Authenticate` challenge. Default: `api`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        let shared = Arc::make_mut(&mut self.shared);
        shared.config = shared.config.clone().realm(realm);
        self
    }
}

impl fmt::Debug for AuthMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddleware")
            .field("provider", &self.shared.verifier.provider_name())
            .field("config", &self.shared.config)
            .field("public", &self.shared.public)
            .finish()
    }
}

impl<S, B> Transform<S, ServiceRequest> for AuthMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = AuthMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthMiddlewareService {
            service: Rc::new(service),
            shared: self.shared.clone(),
        }))
    }
}

/// The service made by [`AuthMiddleware`].
pub struct AuthMiddlewareService<S> {
    service: Rc<S>,
    shared: Arc<Shared>,
}

impl<S> fmt::Debug for AuthMiddlewareService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddlewareService")
            .finish_non_exhaustive()
    }
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B> Service<ServiceRequest> for AuthMiddlewareService<S>
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
            request.extensions_mut().insert(shared.verifier.clone());
            request.extensions_mut().insert(shared.config.clone());
            let public = match shared.public.is_public(request.path()) {
                Ok(public) => public,
                Err(empty) => {
                    let kind = RejectionKind::Misconfigured;
                    let rejection = AuthRejection::new(kind, empty.error(), &shared.config);
                    let response = rejection.error_response();
                    return Ok(request.into_response(response).map_into_right_body());
                }
            };
            if !public {
                let verified =
                    verify_request(request.headers(), &shared.verifier, &shared.config).await;
                let refused = match verified {
                    Ok(Some(user)) => {
                        request.extensions_mut().insert::<AuthUser>(user);
                        None
                    }
                    Ok(None) => Some(AuthRejection::missing_token(&shared.config)),
                    Err(rejection) => Some(rejection),
                };
                if let Some(rejection) = refused {
                    let response = rejection.error_response();
                    return Ok(request.into_response(response).map_into_right_body());
                }
            }
            let response = service.call(request).await?;
            Ok(response.map_into_left_body())
        })
    }
}
