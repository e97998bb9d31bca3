//! Extractors: [`AuthUser`], `Option<AuthUser>` and [`TypedClaims`].

use ::axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use ::axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::response::{AuthConfig, AuthRejection, RejectionKind};
use super::token::verify_request;
use crate::{AuthError, AuthUser, Verifier};

/// How an axum state hands the extractors a [`Verifier`], or says it holds none.
///
/// Implemented for every state with `Verifier: FromRef<S>` (a `Verifier` itself, or your
/// `AppState` with `impl FromRef<AppState> for Verifier`), and for `()`, whose requests must
/// carry the verifier in their extensions (`.layer(Extension(verifier))` or the
/// [`AuthLayer`](super::AuthLayer)). A state that holds no verifier implements it with
/// `None`:
///
/// ```
/// # use jwks_auth::{axum::AuthState, Verifier};
/// #[derive(Clone)]
/// struct AppState { db_url: String }
/// impl AuthState for AppState {
///     fn verifier(&self) -> Option<Verifier> { None } // the AuthLayer provides it
/// }
/// ```
pub trait AuthState {
    /// The verifier held by this state, if any.
    fn verifier(&self) -> Option<Verifier>;
}

impl AuthState for () {
    fn verifier(&self) -> Option<Verifier> {
        None
    }
}

impl<S> AuthState for S
where
    Verifier: FromRef<S>,
{
    fn verifier(&self) -> Option<Verifier> {
        Some(Verifier::from_ref(self))
    }
}

/// The settings put in the extensions by the layer or an `Extension`, else the defaults.
pub(crate) fn config_of(parts: &Parts) -> AuthConfig {
    parts
        .extensions
        .get::<AuthConfig>()
        .cloned()
        .unwrap_or_default()
}

/// The request's user: the one the layer verified, else a fresh verification (remembered in
/// the extensions for later extractors). `Ok(None)` when no token was sent.
pub(crate) async fn user_from_parts<S: AuthState>(
    parts: &mut Parts,
    state: &S,
) -> Result<Option<AuthUser>, AuthRejection> {
    if let Some(user) = parts.extensions.get::<AuthUser>() {
        return Ok(Some(user.clone()));
    }
    // Boxed: a verification's future is large (near 1 KiB), and every handler future taking a
    // user would carry that size, moved with it, even when the layer has verified already.
    Box::pin(verify_from_parts(parts, state)).await
}

/// [`user_from_parts`] without a user in the extensions: verifies the request's token.
async fn verify_from_parts<S: AuthState>(
    parts: &mut Parts,
    state: &S,
) -> Result<Option<AuthUser>, AuthRejection> {
    let config = config_of(parts);
    let Some(verifier) = parts
        .extensions
        .get::<Verifier>()
        .cloned()
        .or_else(|| state.verifier())
    else {
        tracing::warn!(
            "no Verifier reachable: put it in the router state, an Extension, or use AuthLayer"
        );
        return Err(AuthRejection::new(
            RejectionKind::Misconfigured,
            AuthError::config("no Verifier in the router state or request extensions"),
            &config,
        ));
    };
    let user = verify_request(&parts.headers, &verifier, &config).await?;
    if let Some(user) = &user {
        parts.extensions.insert(user.clone());
    }
    Ok(user)
}

/// The verified user; rejects with 401 when the token is missing or invalid.
///
/// Uses the user the [`AuthLayer`](super::AuthLayer) verified when there is one, else verifies
/// with the [`Verifier`] of the request extensions or the router state (see [`AuthState`]).
impl<S> FromRequestParts<S> for AuthUser
where
    S: AuthState + Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match user_from_parts(parts, state).await? {
            Some(user) => Ok(user),
            None => Err(AuthRejection::missing_token(&config_of(parts))),
        }
    }
}

/// `Option<AuthUser>`: `None` only when the request carries no token at all; a token that is
/// present but invalid (or a malformed `Authorization` header) still rejects.
impl<S> OptionalFromRequestParts<S> for AuthUser
where
    S: AuthState + Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        user_from_parts(parts, state).await
    }
}

/// The verified user, or `None` when the request carries no token at all: the same as
/// `Option<AuthUser>`, under the name the actix-web integration uses (where `Option<T>`
/// cannot be used: actix-web's own `Option` extractor swallows every rejection). A token that
/// is present but invalid still rejects.
///
/// ```
/// use jwks_auth::axum::OptionalAuthUser;
/// async fn whoami(OptionalAuthUser(user): OptionalAuthUser) -> String {
///     user.map_or_else(|| "anonymous".to_owned(), |user| user.id)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct OptionalAuthUser(pub Option<AuthUser>);

impl<S> FromRequestParts<S> for OptionalAuthUser
where
    S: AuthState + Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        user_from_parts(parts, state).await.map(OptionalAuthUser)
    }
}

/// All claims of the verified token, deserialized into your type `T` (as
/// [`Verifier::verify_as`] does). Rejects like [`AuthUser`], and with 401 `invalid_token`
/// when the claims do not fit `T`.
///
/// ```
/// use jwks_auth::axum::TypedClaims;
/// #[derive(serde::Deserialize)]
/// struct SessionClaims { sub: String, org_id: Option<String> }
///
/// async fn handler(TypedClaims(claims): TypedClaims<SessionClaims>) -> String {
///     format!("{} in {:?}", claims.sub, claims.org_id)
/// }
/// let app: axum::Router<jwks_auth::Verifier> =
///     axum::Router::new().route("/session", axum::routing::get(handler));
/// ```
#[derive(Debug, Clone)]
pub struct TypedClaims<T>(pub T);

impl<S, T> FromRequestParts<S> for TypedClaims<T>
where
    S: AuthState + Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <AuthUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        user.claims
            .deserialize_into::<T>()
            .map(TypedClaims)
            .map_err(|_| {
                AuthRejection::from_verify_error(
                    AuthError::invalid_claim("claims do not match the requested type"),
                    &config_of(parts),
                )
            })
    }
}
