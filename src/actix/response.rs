//! Responses to refused requests: [`AuthRejection`] (an actix-web [`ResponseError`]) and
//! [`AuthConfig`], the response settings shared by the middleware, the extractors and the
//! guards. Status, challenge and body come from the same mapping as the axum integration.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

pub use crate::rejection::RejectionKind;
use crate::rejection::{self, Challenge, DEFAULT_RETRY_AFTER};
use crate::AuthError;

/// A refused request: the error of the [`AuthUser`](crate::AuthUser),
/// [`OptionalAuthUser`](super::OptionalAuthUser) and [`TypedClaims`](super::TypedClaims)
/// extractors, the [`AuthMiddleware`](super::AuthMiddleware) and the guards.
///
/// Its response (as [`ResponseError`]) has the status of [`kind`](Self::kind), the RFC 6750
/// `WWW-Authenticate` challenge, `Retry-After` for 503, and a small JSON body such as
/// `{"error":"invalid_token"}` (replaceable with [`AuthConfig::rejection_response`]).
/// Neither the body nor [`Display`](fmt::Display) contains the token or internal detail;
/// the underlying [`AuthError`] is kept as [`source`](StdError::source) for your logs.
pub struct AuthRejection {
    kind: RejectionKind,
    error: AuthError,
    scope: Option<String>,
    config: AuthConfig,
}

impl AuthRejection {
    pub(crate) fn new(kind: RejectionKind, error: AuthError, config: &AuthConfig) -> Self {
        AuthRejection {
            kind,
            error,
            scope: None,
            config: config.clone(),
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
        let (kind, error, scope) = refusal.into_parts();
        let rejection = AuthRejection::new(kind, error, config);
        match scope {
            Some(scope) => rejection.with_scope(scope),
            None => rejection,
        }
    }

    pub(crate) fn with_scope(mut self, scope: String) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The rejection for a request without a token, under `config`'s realm.
    pub fn missing_token(config: &AuthConfig) -> Self {
        AuthRejection::new(
            RejectionKind::MissingToken,
            AuthError::missing_token(),
            config,
        )
    }

    fn challenge(&self) -> Challenge<'_> {
        Challenge {
            kind: self.kind,
            realm: &self.config.realm,
            scope: self.scope.as_deref(),
            dpop: None,
            resource_metadata: None,
        }
    }

    /// What kind of refusal this is.
    pub fn kind(&self) -> RejectionKind {
        self.kind
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

    /// The `WWW-Authenticate` value: `None` for 500 and 503.
    ///
    /// ```
    /// # use jwks_auth::actix::{AuthConfig, AuthRejection};
    /// let rejection = AuthRejection::missing_token(&AuthConfig::new().realm("notes"));
    /// assert_eq!(rejection.www_authenticate().unwrap(), r#"Bearer realm="notes""#);
    /// ```
    pub fn www_authenticate(&self) -> Option<String> {
        self.challenge().www_authenticate()
    }

    /// Seconds for `Retry-After` (only for `KeysUnavailable`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        rejection::retry_after_secs(self.kind, self.config.retry_after)
    }

    /// The default body: `{"error": "<code>"}`, plus `"scope"` when a scope guard refused.
    pub fn body_json(&self) -> serde_json::Value {
        self.challenge().body_json()
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

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.kind.status_code()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = (self.config.responder)(self);
        // Status and challenge are the protocol, whatever body the application chose.
        *response.status_mut() = self.status_code();
        let headers = response.headers_mut();
        if let Some(challenge) = self.www_authenticate() {
            // Only visible ASCII survives the challenge builder; fall back regardless.
            let value =
                HeaderValue::from_str(&challenge).unwrap_or(HeaderValue::from_static("Bearer"));
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(secs) = self.retry_after_secs() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

type Responder = dyn Fn(&AuthRejection) -> HttpResponse + Send + Sync;

/// How rejections are answered: the challenge realm, `Retry-After`, and the body.
///
/// The [`AuthMiddleware`](super::AuthMiddleware) carries one and hands it to the extractors
/// and guards behind it (through request extensions). Without the middleware, register it
/// with `App::app_data(config)`; otherwise the defaults apply.
///
/// ```
/// use std::time::Duration;
/// use jwks_auth::actix::AuthConfig;
/// let config = AuthConfig::new().realm("notes").retry_after(Duration::from_secs(10));
/// ```
#[derive(Clone)]
#[must_use]
pub struct AuthConfig {
    realm: Arc<str>,
    retry_after: Duration,
    responder: Arc<Responder>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            realm: Arc::from("api"),
            retry_after: DEFAULT_RETRY_AFTER,
            responder: Arc::new(json_body),
        }
    }
}

/// The default body: [`AuthRejection::body_json`] as `application/json`.
fn json_body(rejection: &AuthRejection) -> HttpResponse {
    HttpResponse::build(rejection.status_code()).json(rejection.body_json())
}

impl AuthConfig {
    /// The defaults: realm `api`, `Retry-After: 30`, JSON bodies.
    pub fn new() -> Self {
        AuthConfig::default()
    }

    /// The `realm` of the `WWW-Authenticate` challenge (quotes and backslashes are escaped,
    /// control characters dropped). Default: `api`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Arc::from(realm.into());
        self
    }

    /// `Retry-After` when the provider's keys are unavailable (whole seconds, at least 1).
    /// Default: 30 seconds.
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Replaces the rejection body (status and challenge headers stay the crate's).
    /// Default: `{"error": "<code>"}` as JSON.
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use jwks_auth::actix::{AuthConfig, AuthRejection};
    /// let config = AuthConfig::new().rejection_response(|rejection: &AuthRejection| {
    ///     HttpResponse::Unauthorized()
    ///         .json(serde_json::json!({ "code": rejection.kind().error_code() }))
    /// });
    /// ```
    pub fn rejection_response<F>(mut self, responder: F) -> Self
    where
        F: Fn(&AuthRejection) -> HttpResponse + Send + Sync + 'static,
    {
        self.responder = Arc::new(responder);
        self
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("realm", &self.realm)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}
