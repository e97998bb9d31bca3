//! Extractors: [`AuthUser`], [`OptionalAuthUser`] and [`TypedClaims`], and the token search
//! they share with the middleware.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION, COOKIE};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use super::response::{AuthConfig, AuthRejection, RejectionKind};
use crate::token_source::{self, RequestError, RequestHeaders};
use crate::{AuthError, AuthUser, Verifier};

/// The boxed future of the extractors (actix-web runs them on one thread).
type LocalFuture<T> = Pin<Box<dyn Future<Output = Result<T, AuthRejection>>>>;

impl RequestHeaders for HeaderMap {
    fn authorization(&self) -> impl Iterator<Item = &[u8]> {
        self.get_all(AUTHORIZATION).map(|value| value.as_bytes())
    }

    fn cookies(&self) -> impl Iterator<Item = &str> {
        self.get_all(COOKIE).filter_map(|value| value.to_str().ok())
    }
}

/// Verifies the request's token from the verifier's token sources: `Ok(None)` when it
/// carries none.
pub(crate) async fn verify_request(
    headers: &HeaderMap,
    verifier: &Verifier,
    config: &AuthConfig,
) -> Result<Option<AuthUser>, AuthRejection> {
    let token = match token_source::find_token(headers, verifier.token_sources()) {
        Ok(Some(token)) => token,
        Ok(None) => return Ok(None),
        Err((error, detail)) => {
            tracing::debug!(error = %detail, "authorization header rejected");
            let kind = match error {
                RequestError::Malformed => RejectionKind::MalformedRequest,
                RequestError::UnsupportedScheme => RejectionKind::UnsupportedScheme,
            };
            return Err(AuthRejection::new(kind, detail, config));
        }
    };
    match verifier.verify(token).await {
        Ok(user) => Ok(Some(user)),
        Err(error) => Err(AuthRejection::from_verify_error(error, config)),
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

/// The verifier the middleware put in the extensions, else `web::Data<Verifier>` (or a
/// plain `Verifier` app data).
fn verifier_of(request: &HttpRequest) -> Option<Verifier> {
    if let Some(verifier) = request.extensions().get::<Verifier>() {
        return Some(verifier.clone());
    }
    request
        .app_data::<web::Data<Verifier>>()
        .map(|data| data.get_ref().clone())
        .or_else(|| request.app_data::<Verifier>().cloned())
}

/// The request's user: the one the middleware verified, else a fresh verification
/// (remembered in the extensions for later extractors). `Ok(None)` when no token was sent.
pub(crate) async fn user_of(request: &HttpRequest) -> Result<Option<AuthUser>, AuthRejection> {
    if let Some(user) = request.extensions().get::<AuthUser>() {
        return Ok(Some(user.clone()));
    }
    let config = config_of(request);
    let Some(verifier) = verifier_of(request) else {
        tracing::warn!("no Verifier reachable: register web::Data<Verifier> or use AuthMiddleware");
        return Err(AuthRejection::new(
            RejectionKind::Misconfigured,
            AuthError::config("no Verifier in the app data or request extensions"),
            &config,
        ));
    };
    let user = verify_request(request.headers(), &verifier, &config).await?;
    if let Some(user) = &user {
        request.extensions_mut().insert(user.clone());
    }
    Ok(user)
}

/// The verified user; rejects with 401 when the token is missing or invalid.
///
/// Uses the user the [`AuthMiddleware`](super::AuthMiddleware) verified when there is one,
/// else verifies with the `web::Data<Verifier>` of the app.
impl FromRequest for AuthUser {
    type Error = AuthRejection;
    type Future = LocalFuture<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            match user_of(&request).await? {
                Some(user) => Ok(user),
                None => Err(AuthRejection::missing_token(&config_of(&request))),
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
        Box::pin(async move { user_of(&request).await.map(OptionalAuthUser) })
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
            user.claims
                .deserialize_into::<T>()
                .map(TypedClaims)
                .map_err(|_| {
                    AuthRejection::from_verify_error(
                        AuthError::invalid_claim("claims do not match the requested type"),
                        &config_of(&request),
                    )
                })
        })
    }
}
