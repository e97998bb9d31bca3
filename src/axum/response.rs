//! Responses to refused requests: [`AuthRejection`] (why, answered as RFC 6750 describes),
//! [`RejectionKind`], the body hook [`RejectionResponse`] with its default [`JsonRejection`],
//! and [`AuthConfig`], the response settings (realm, `Retry-After`, body) shared by the layer,
//! the extractors and the guards.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::axum::http::{header, HeaderValue, StatusCode};
use ::axum::response::{IntoResponse, Json, Response};
use serde_json::Value;

use crate::AuthError;

pub(crate) use crate::rejection::DpopChallenge;
pub use crate::rejection::RejectionKind;
use crate::rejection::{self, Challenge};
use crate::step_up::StepUpChallenge;

impl RejectionKind {
    /// The HTTP status answered for this kind.
    pub const fn status(self) -> StatusCode {
        match self.status_code() {
            400 => StatusCode::BAD_REQUEST,
            403 => StatusCode::FORBIDDEN,
            500 => StatusCode::INTERNAL_SERVER_ERROR,
            503 => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// A refused request: the rejection of [`AuthUser`](crate::AuthUser),
/// [`TypedClaims`](super::TypedClaims), the [`AuthLayer`](super::AuthLayer) and the guards.
///
/// Its response has the status of [`kind`](Self::kind), the RFC 6750 `WWW-Authenticate`
/// challenge, `Retry-After` for 503, and a small JSON body such as `{"error":"invalid_token"}`
/// (replaceable with [`AuthConfig::rejection_response`]). Neither the body nor
/// [`Display`](fmt::Display) contains the token or internal detail; the underlying
/// [`AuthError`] is kept as [`source`](StdError::source) for your logs.
pub struct AuthRejection {
    kind: RejectionKind,
    error: AuthError,
    scope: Option<String>,
    config: AuthConfig,
    dpop: Option<DpopChallenge>,
    step_up: Option<StepUpChallenge>,
}

impl AuthRejection {
    pub(crate) fn new(kind: RejectionKind, error: AuthError, config: &AuthConfig) -> Self {
        AuthRejection {
            kind,
            error,
            scope: None,
            config: config.clone(),
            dpop: None,
            step_up: None,
        }
    }

    /// The request edge's refusal, answered with `config`'s realm, `Retry-After`, body and
    /// resource metadata.
    pub(crate) fn from_edge(rejection: crate::edge::Rejection, config: &AuthConfig) -> Self {
        let (kind, error, scope, dpop, step_up) = rejection.into_parts();
        AuthRejection {
            kind,
            error,
            scope,
            config: config.clone(),
            dpop,
            step_up,
        }
    }

    /// The `DPoP` challenge (RFC 9449 §7.1), when the verifier takes DPoP proofs and this
    /// is a 401, e.g. `DPoP algs="ES256 EdDSA", error="invalid_dpop_proof"`.
    pub fn dpop_challenge(&self) -> Option<HeaderValue> {
        let value = self.challenge().dpop_challenge()?;
        HeaderValue::from_str(&value).ok()
    }

    /// The framework-neutral parts of the response.
    fn challenge(&self) -> Challenge<'_> {
        Challenge {
            kind: self.kind,
            realm: self.realm(),
            scope: self.scope.as_deref(),
            dpop: self.dpop.as_ref(),
            resource_metadata: self.config.resource_metadata_url(),
            step_up: self.step_up.as_ref(),
        }
    }

    /// The rejection for a failed [`Verifier::verify`](crate::Verifier::verify), logged
    /// without the token.
    pub(crate) fn from_verify_error(error: AuthError, config: &AuthConfig) -> Self {
        let kind = RejectionKind::of_verify_error(&error);
        AuthRejection::new(kind, error, config)
    }

    /// The rejection for a guard's refusal.
    pub(crate) fn from_refusal(refusal: crate::guard_rule::Refusal, config: &AuthConfig) -> Self {
        let (kind, error, scope, step_up) = refusal.into_parts();
        let mut rejection = AuthRejection::new(kind, error, config);
        rejection.scope = scope;
        rejection.step_up = step_up;
        rejection
    }

    /// What kind of refusal this is.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The underlying error (also the [`source`](StdError::source)); never put it in a
    /// response body.
    pub fn auth_error(&self) -> &AuthError {
        &self.error
    }

    /// The scope(s) a scope guard required, space-separated, for `InsufficientScope`.
    pub fn required_scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The realm of the challenge (default `api`).
    pub fn realm(&self) -> &str {
        self.config.realm_name()
    }

    /// The `WWW-Authenticate` value: `None` for 500 and 503.
    ///
    /// ```
    /// # use jwks_auth::axum::{AuthConfig, AuthRejection};
    /// let rejection = AuthRejection::missing_token(&AuthConfig::new().realm("notes"));
    /// assert_eq!(rejection.www_authenticate().unwrap(), r#"Bearer realm="notes""#);
    /// ```
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        let value = self.challenge().www_authenticate()?;
        // Only visible ASCII survives `quoted`, so this cannot fail; fall back regardless.
        Some(HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("Bearer")))
    }

    /// Seconds for `Retry-After` (only for `KeysUnavailable`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        rejection::retry_after_secs(self.kind, self.config.retry_after_duration())
    }

    /// The default body: `{"error": "<code>"}`, plus `"scope"` when a scope guard refused.
    pub fn body_json(&self) -> Value {
        self.challenge().body_json()
    }

    /// The rejection for a request without a token, under `config`'s realm.
    pub fn missing_token(config: &AuthConfig) -> Self {
        AuthRejection::new(
            RejectionKind::MissingToken,
            AuthError::missing_token(),
            config,
        )
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("kind", &self.kind)
            .field("error", &self.error)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.description())
    }
}

impl StdError for AuthRejection {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.error)
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let mut response = self.config.responder().response(&self);
        // Status and challenge are the protocol, whatever body the application chose.
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        if let Some(challenge) = self.www_authenticate() {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(challenge) = self.dpop_challenge() {
            headers.append(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(nonce) = self.dpop.as_ref().and_then(|dpop| dpop.nonce.as_deref()) {
            if let Ok(value) = HeaderValue::from_str(nonce) {
                headers.insert("dpop-nonce", value);
            }
        }
        if let Some(secs) = self.retry_after_secs() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Builds the body of a rejection response; the crate then sets its status,
/// `WWW-Authenticate` and `Retry-After`, so a custom body cannot break the protocol.
///
/// Implemented for closures `Fn(&AuthRejection) -> Response`:
///
/// ```
/// use axum::response::IntoResponse;
/// use jwks_auth::axum::{AuthConfig, AuthRejection};
/// let config = AuthConfig::new().rejection_response(|rejection: &AuthRejection| {
///     axum::Json(serde_json::json!({ "code": rejection.kind().error_code(), "docs": "/help" }))
///         .into_response()
/// });
/// ```
pub trait RejectionResponse: Send + Sync + 'static {
    /// The response for `rejection` (its status and challenge headers are overwritten).
    fn response(&self, rejection: &AuthRejection) -> Response;
}

impl<F> RejectionResponse for F
where
    F: Fn(&AuthRejection) -> Response + Send + Sync + 'static,
{
    fn response(&self, rejection: &AuthRejection) -> Response {
        self(rejection)
    }
}

/// The default body: [`AuthRejection::body_json`] as `application/json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRejection;

impl RejectionResponse for JsonRejection {
    fn response(&self, rejection: &AuthRejection) -> Response {
        Json(rejection.body_json()).into_response()
    }
}

pub use crate::rejection::DEFAULT_RETRY_AFTER;

/// How rejections are answered: the challenge realm, `Retry-After`, and the body.
///
/// The [`AuthLayer`](super::AuthLayer) carries one and hands it to the extractors and guards
/// behind it (through request extensions). Without the layer, add it yourself with
/// `.layer(Extension(config))`; otherwise the defaults apply.
///
/// ```
/// use std::time::Duration;
/// use jwks_auth::axum::AuthConfig;
/// let config = AuthConfig::new().realm("notes").retry_after(Duration::from_secs(10));
/// ```
#[derive(Clone)]
#[must_use]
pub struct AuthConfig(Arc<Settings>);

/// Behind one `Arc`: the layer clones the config into every request's extensions, and each
/// reference count is a write other cores contend for.
#[derive(Clone)]
// Its own cache lines, apart from the `Arc`'s counts: every request clones the `Arc` on
// some core while other cores read these fields.
#[repr(align(128))]
struct Settings {
    realm: Arc<str>,
    retry_after: Duration,
    responder: Arc<dyn RejectionResponse>,
    resource_metadata: Option<Arc<str>>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig(Arc::new(Settings {
            realm: Arc::from("api"),
            retry_after: DEFAULT_RETRY_AFTER,
            responder: Arc::new(JsonRejection),
            resource_metadata: None,
        }))
    }
}

impl AuthConfig {
    /// The defaults: realm `api`, `Retry-After: 30`, JSON bodies.
    pub fn new() -> Self {
        AuthConfig::default()
    }

    /// The `realm` of the `WWW-Authenticate` challenge (quotes and backslashes are escaped,
    /// control characters dropped). Default: `api`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.0).realm = Arc::from(realm.into());
        self
    }

    /// `Retry-After` when the provider's keys are unavailable (whole seconds, at least 1).
    /// Default: 30 seconds.
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        Arc::make_mut(&mut self.0).retry_after = retry_after;
        self
    }

    /// Replaces the rejection body (status and challenge headers stay the crate's).
    /// Default: [`JsonRejection`].
    pub fn rejection_response(mut self, responder: impl RejectionResponse) -> Self {
        Arc::make_mut(&mut self.0).responder = Arc::new(responder);
        self
    }

    /// Points every challenge at `resource`'s metadata: 401s (and 403 `insufficient_scope`,
    /// as the MCP authorization spec shows) carry
    /// `resource_metadata="<`[`metadata_url`](crate::ProtectedResource::metadata_url)`>"`
    /// (RFC 9728 §5.1), so a client finds where to get a token. Default: none.
    ///
    /// ```
    /// use jwks_auth::axum::{AuthConfig, AuthRejection};
    /// use jwks_auth::ProtectedResource;
    /// let resource = ProtectedResource::builder("https://mcp.example.com/mcp").build()?;
    /// let config = AuthConfig::new().protected_resource(&resource);
    /// assert_eq!(
    ///     AuthRejection::missing_token(&config).www_authenticate().unwrap(),
    ///     r#"Bearer realm="api", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#
    /// );
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    pub fn protected_resource(mut self, resource: &crate::ProtectedResource) -> Self {
        Arc::make_mut(&mut self.0).resource_metadata = Some(Arc::from(resource.metadata_url()));
        self
    }

    pub(crate) fn resource_metadata_url(&self) -> Option<&str> {
        self.0.resource_metadata.as_deref()
    }

    pub(crate) fn realm_name(&self) -> &str {
        &self.0.realm
    }

    pub(crate) fn retry_after_duration(&self) -> Duration {
        self.0.retry_after
    }

    pub(crate) fn responder(&self) -> &dyn RejectionResponse {
        &*self.0.responder
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("realm", &self.0.realm)
            .field("retry_after", &self.0.retry_after)
            .field("resource_metadata", &self.0.resource_metadata)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_a_short_phrase_without_detail() {
        let config = AuthConfig::new();
        let rejection = AuthRejection::from_verify_error(AuthError::invalid_signature(), &config);
        assert_eq!(rejection.to_string(), "invalid bearer token");
        assert_eq!(rejection.source().unwrap().to_string(), "invalid signature");
    }

    #[test]
    fn keys_unavailable_has_no_challenge_but_retry_after() {
        let config = AuthConfig::new();
        let rejection =
            AuthRejection::from_verify_error(AuthError::keys_unavailable("down", None), &config);
        assert_eq!(rejection.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(rejection.www_authenticate().is_none());
        assert_eq!(rejection.retry_after_secs(), Some(30));
    }
}
