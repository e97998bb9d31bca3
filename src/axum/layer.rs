//! [`AuthLayer`]: a tower layer that authenticates every request of a router subtree.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::axum::extract::Request;
use ::axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::extract::user_from_parts;
use super::future::ResponseFuture;
use super::response::{AuthConfig, AuthRejection, RejectionResponse};
use crate::Verifier;

/// Authenticates every request that reaches the wrapped service, except allow-listed public
/// paths, and puts the [`AuthUser`](crate::AuthUser) into the request extensions (where the
/// extractors and guards find it without verifying again).
///
/// It also puts the [`Verifier`] and the [`AuthConfig`] into the extensions, so extractors
/// and guards behind it need nothing in the router state, and `Option<AuthUser>` works on
/// public paths.
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
    public_paths: Vec<String>,
    public_prefixes: Vec<String>,
}

impl AuthLayer {
    /// A layer verifying with `verifier`, everything protected, default [`AuthConfig`].
    pub fn new(verifier: Verifier) -> Self {
        AuthLayer {
            shared: Arc::new(Shared {
                verifier,
                config: AuthConfig::default(),
                public_paths: Vec::new(),
                public_prefixes: Vec::new(),
            }),
        }
    }

    fn shared_mut(&mut self) -> &mut Shared {
        // A builder call on a layer that was already cloned copies the settings first.
        if Arc::get_mut(&mut self.shared).is_none() {
            self.shared = Arc::new(Shared {
                verifier: self.shared.verifier.clone(),
                config: self.shared.config.clone(),
                public_paths: self.shared.public_paths.clone(),
                public_prefixes: self.shared.public_prefixes.clone(),
            });
        }
        Arc::get_mut(&mut self.shared).expect("unique after the copy")
    }

    /// A path served without a token (exact match, e.g. `/health`). Default: none.
    pub fn public_path(mut self, path: impl Into<String>) -> Self {
        self.shared_mut().public_paths.push(path.into());
        self
    }

    /// A prefix served without a token, matched on whole segments: `/docs` opens `/docs` and
    /// `/docs/...` but not `/docsearch`. Default: none.
    pub fn public_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.shared_mut().public_prefixes.push(prefix.into());
        self
    }

    /// All response settings at once. Default: [`AuthConfig::default`].
    pub fn config(mut self, config: AuthConfig) -> Self {
        self.shared_mut().config = config;
        self
    }

    /// The realm of the `WWW-Authenticate` challenge. Default: `api`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        let shared = self.shared_mut();
        shared.config = shared.config.clone().realm(realm);
        self
    }

    /// Replaces the rejection body here and in the extractors and guards behind the layer.
    /// Default: [`JsonRejection`](super::JsonRejection).
    pub fn rejection_response(mut self, responder: impl RejectionResponse) -> Self {
        let shared = self.shared_mut();
        shared.config = shared.config.clone().rejection_response(responder);
        self
    }
}

impl Shared {
    fn is_public(&self, path: &str) -> bool {
        self.public_paths.iter().any(|p| p == path)
            || self.public_prefixes.iter().any(|prefix| {
                path.strip_prefix(prefix.as_str()).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/')
                })
            })
    }
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("provider", &self.shared.verifier.provider_name())
            .field("config", &self.shared.config)
            .field("public_paths", &self.shared.public_paths)
            .field("public_prefixes", &self.shared.public_prefixes)
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
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The ready service goes into the future; its fresh clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        ResponseFuture::new(async move {
            let public = shared.is_public(request.uri().path());
            let (mut parts, body) = request.into_parts();
            parts.extensions.insert(shared.verifier.clone());
            parts.extensions.insert(shared.config.clone());
            if !public {
                match user_from_parts(&mut parts, &()).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Ok(AuthRejection::missing_token(&shared.config).into_response())
                    }
                    Err(rejection) => return Ok(rejection.into_response()),
                }
            }
            let response = inner.call(Request::from_parts(parts, body)).await?;
            Ok(response.into_response())
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
    fn prefixes_match_whole_segments() {
        let layer = layer().public_prefix("/docs").public_path("/health");
        let shared = &layer.shared;
        assert!(shared.is_public("/docs"));
        assert!(shared.is_public("/docs/intro"));
        assert!(!shared.is_public("/docsearch"));
        assert!(shared.is_public("/health"));
        assert!(!shared.is_public("/health/deep"));
        assert!(!shared.is_public("/api/me"));
    }

    #[test]
    fn builder_on_a_cloned_layer_leaves_the_clone_alone() {
        let first = layer().public_path("/a");
        let second = first.clone().public_path("/b");
        assert!(!first.shared.is_public("/b"));
        assert!(second.shared.is_public("/a") && second.shared.is_public("/b"));
    }
}
