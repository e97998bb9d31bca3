//! Extractors: [`AuthUser`], [`OptionalAuthUser`] and [`TypedClaims`], and what they share
//! with the middleware and the guards: the request as the edge sees it, and the edge that
//! answers it.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use super::response::{AuthConfig, AuthRejection, RejectionKind};
use crate::edge::{EdgeRequest, Headers, Rejection, RequestEdge};
use crate::{AuthError, AuthUser, Verifier};

/// The boxed future of the extractors (actix-web runs them on one thread).
type LocalFuture<T> = Pin<Box<dyn Future<Output = Result<T, AuthRejection>>>>;

/// actix-web's header map, for the [`RequestEdge`].
impl Headers for HeaderMap {
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's {
        self.get_all(name).map(|value| value.as_bytes())
    }
}

/// `request` as the edge sees it: method, path and query, headers, and the scheme and
/// authority its URI names (an absolute-form request line, HTTP/2). Not
/// `connection_info()`: it reads `Forwarded` and `X-Forwarded-*` whatever the edge was told
/// to trust; the edge reads them itself when
/// [`trust_forwarded_headers`](super::AuthLayer::trust_forwarded_headers) is on.
pub(crate) fn edge_request(request: &HttpRequest) -> EdgeRequest<'_, HeaderMap> {
    let uri = request.uri();
    let target = uri
        .path_and_query()
        .map_or(uri.path(), |target| target.as_str());
    let edge_request = EdgeRequest::new(request.method().as_str(), target, request.headers());
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => edge_request.origin(scheme, authority.as_str()),
        _ => edge_request,
    }
}

/// The settings the middleware put in the extensions, else `App::app_data`, else defaults.
pub(crate) fn config_of(request: &HttpRequest) -> AuthConfig {
    if let Some(config) = request.extensions().get::<AuthConfig>() {
        return config.clone();
    }
    request
        .app_data::<AuthConfig>()
        .cloned()
        .or_else(|| {
            request
                .app_data::<web::Data<AuthConfig>>()
                .map(|data| data.get_ref().clone())
        })
        .unwrap_or_default()
}

/// A verifier put in the extensions, else `web::Data<Verifier>` (or a plain `Verifier` app
/// data).
fn verifier_of(request: &HttpRequest) -> Option<Verifier> {
    if let Some(verifier) = request.extensions().get::<Verifier>() {
        return Some(verifier.clone());
    }
    request
        .app_data::<web::Data<Verifier>>()
        .map(|data| data.get_ref().clone())
        .or_else(|| request.app_data::<Verifier>().cloned())
}

/// The user the middleware (or an earlier extractor) verified for this request.
pub(crate) fn known_user(request: &HttpRequest) -> Option<AuthUser> {
    request.extensions().get::<AuthUser>().cloned()
}

/// What answers a request: the middleware's edge, else the app's `web::Data<RequestEdge>`,
/// else one built from the app's `Verifier` and [`AuthConfig`]; and the config, for the
/// rejections' body.
pub(crate) struct Auth {
    pub(crate) edge: RequestEdge,
    pub(crate) config: AuthConfig,
}

impl Auth {
    /// The edge and config of `request`; 500 when no verifier is reachable.
    pub(crate) fn of(request: &HttpRequest) -> Result<Self, AuthRejection> {
        let config = config_of(request);
        // The middleware's edge, else one the app registered (an edge set up with an
        // external origin, a protected resource: what the middleware would have done).
        let edge = request
            .extensions()
            .get::<RequestEdge>()
            .cloned()
            .or_else(|| {
                request
                    .app_data::<web::Data<RequestEdge>>()
                    .map(|data| data.get_ref().clone())
                    .or_else(|| request.app_data::<RequestEdge>().cloned())
            });
        if let Some(edge) = edge {
            return Ok(Auth { edge, config });
        }
        let Some(verifier) = verifier_of(request) else {
            tracing::warn!("no Verifier reachable: register web::Data<Verifier> or use AuthLayer");
            let error = AuthError::config("no Verifier in the app data or request extensions");
            let kind = RejectionKind::Misconfigured;
            return Err(AuthRejection::without_edge(kind, error, &config));
        };
        let edge = config.edge(verifier);
        Ok(Auth { edge, config })
    }

    /// The verified user of `request`, remembered in the extensions for later extractors;
    /// refused without a credential.
    pub(crate) async fn user(&self, request: &HttpRequest) -> Result<AuthUser, AuthRejection> {
        let verified = self.edge.authenticate(&edge_request(request)).await;
        let user = verified.map_err(|rejection| self.reject(rejection))?;
        request.extensions_mut().insert(user.clone());
        Ok(user)
    }

    /// As [`user`](Self::user), but `Ok(None)` when the request carries no credential.
    async fn optional_user(
        &self,
        request: &HttpRequest,
    ) -> Result<Option<AuthUser>, AuthRejection> {
        let verified = self
            .edge
            .authenticate_optional(&edge_request(request))
            .await;
        let user = verified.map_err(|rejection| self.reject(rejection))?;
        if let Some(user) = &user {
            request.extensions_mut().insert(user.clone());
        }
        Ok(user)
    }

    /// The edge's `rejection`, answered with this config's body.
    pub(crate) fn reject(&self, rejection: Rejection) -> AuthRejection {
        AuthRejection::new(rejection, &self.config)
    }
}

/// The verified user; rejects with 401 when the token is missing or invalid.
///
/// Uses the user the [`AuthLayer`](super::AuthLayer) verified when there is one,
/// else verifies with the `web::Data<Verifier>` of the app.
impl FromRequest for AuthUser {
    type Error = AuthRejection;
    type Future = LocalFuture<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            match known_user(&request) {
                Some(user) => Ok(user),
                None => Auth::of(&request)?.user(&request).await,
            }
        })
    }
}

/// The verified user if the request carries a token: `None` only when it carries none; a
/// token that is present but invalid (or a malformed `Authorization` header) still rejects.
///
/// Use it instead of `Option<AuthUser>`: actix-web answers `None` for `Option<T>` whenever
/// `T` fails, so `Option<AuthUser>` would treat a forged or expired token like no token.
///
/// ```
/// use jwks_auth::actix::OptionalAuthUser;
/// async fn whoami(OptionalAuthUser(user): OptionalAuthUser) -> String {
///     user.map_or_else(|| "anonymous".to_owned(), |user| user.id)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct OptionalAuthUser(pub Option<AuthUser>);

impl FromRequest for OptionalAuthUser {
    type Error = AuthRejection;
    type Future = LocalFuture<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let user = match known_user(&request) {
                Some(user) => Some(user),
                None => Auth::of(&request)?.optional_user(&request).await?,
            };
            Ok(OptionalAuthUser(user))
        })
    }
}

/// All claims of the verified token, deserialized into your type `T` (as
/// [`Verifier::verify_as`] does). Rejects like [`AuthUser`], and with 401 `invalid_token`
/// when the claims do not fit `T`.
///
/// ```
/// use jwks_auth::actix::TypedClaims;
/// #[derive(serde::Deserialize)]
/// struct SessionClaims { sub: String, org_id: Option<String> }
///
/// async fn handler(TypedClaims(claims): TypedClaims<SessionClaims>) -> String {
///     format!("{} in {:?}", claims.sub, claims.org_id)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct TypedClaims<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for TypedClaims<T> {
    type Error = AuthRejection;
    type Future = LocalFuture<Self>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(request, payload);
        let request = request.clone();
        Box::pin(async move {
            let user = user.await?;
            match user.claims.deserialize_into::<T>() {
                Ok(claims) => Ok(TypedClaims(claims)),
                Err(_) => {
                    let auth = Auth::of(&request)?;
                    let error = AuthError::invalid_claim("claims do not match the requested type");
                    let kind = RejectionKind::InvalidToken;
                    Err(auth.reject(auth.edge.refusal_for(kind, error)))
                }
            }
        })
    }
}
