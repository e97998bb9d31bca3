//! Responses to refused requests: [`AuthRejection`] (an actix-web [`ResponseError`]) and
//! [`AuthConfig`], the response settings shared by the middleware, the extractors and the
//! guards. Status, challenges and body come from the request edge's [`Rejection`].

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::edge::{Rejection, RequestEdge, Settings};
pub use crate::rejection::RejectionKind;
use crate::rejection::DEFAULT_RETRY_AFTER;
use crate::{AuthError, Verifier};

/// A refused request: the error of the [`AuthUser`](crate::AuthUser),
/// [`OptionalAuthUser`](super::OptionalAuthUser) and [`TypedClaims`](super::TypedClaims)
/// extractors, the [`AuthLayer`](super::AuthLayer) and the guards.
///
/// It wraps the request edge's [`Rejection`], which decides everything but the body: its
/// response (as [`ResponseError`]) has the status of [`kind`](Self::kind), one
/// `WWW-Authenticate` line per challenge (RFC 6750 `Bearer`; RFC 9449 `DPoP` when the
/// verifier takes proofs; `resource_metadata` with a
/// [protected resource](super::AuthLayer::protected_resource)), `Retry-After` for 503,
/// `DPoP-Nonce` when nonces are on, and a small JSON body such as `{"error":"invalid_token"}`
/// (replaceable with [`AuthConfig::rejection_response`]). Neither the body nor
/// [`Display`](fmt::Display) contains the token or internal detail; the underlying
/// [`AuthError`] is kept as [`source`](StdError::source) for your logs.
pub struct AuthRejection {
    rejection: Rejection,
    config: AuthConfig,
}

impl AuthRejection {
    /// `rejection`, answered with `config`'s body.
    pub(crate) fn new(rejection: Rejection, config: &AuthConfig) -> Self {
        AuthRejection {
            rejection,
            config: config.clone(),
        }
    }

    /// A refusal of `kind` found without an edge (no verifier reachable), under `config`.
    pub(crate) fn without_edge(kind: RejectionKind, error: AuthError, config: &AuthConfig) -> Self {
        AuthRejection::new(Rejection::new(kind, error, &config.settings()), config)
    }

    /// The rejection for a request without a token, under `config`'s realm (without the
    /// `DPoP` challenge and `resource_metadata`, which only an edge knows: the extractors
    /// and the middleware add them).
    pub fn missing_token(config: &AuthConfig) -> Self {
        let error = AuthError::missing_token();
        AuthRejection::without_edge(RejectionKind::MissingToken, error, config)
    }

    /// The request edge's rejection this wraps: every header and the default body.
    pub fn rejection(&self) -> &Rejection {
        &self.rejection
    }

    /// What kind of refusal this is.
    pub fn kind(&self) -> RejectionKind {
        self.rejection.kind()
    }

    /// The underlying error (also the [`source`](StdError::source)); never put it in a
    /// response body.
    pub fn auth_error(&self) -> &AuthError {
        self.rejection.auth_error()
    }

    /// The scope(s) a scope guard required, space-separated, for `InsufficientScope`.
    pub fn required_scope(&self) -> Option<&str> {
        self.rejection.required_scope()
    }

    /// The `Bearer` challenge: `None` for 500 and 503, and when DPoP is required.
    ///
    /// ```
    /// # use jwks_auth::actix::{AuthConfig, AuthRejection};
    /// let rejection = AuthRejection::missing_token(&AuthConfig::new().realm("notes"));
    /// assert_eq!(rejection.www_authenticate().unwrap(), r#"Bearer realm="notes""#);
    /// ```
    pub fn www_authenticate(&self) -> Option<String> {
        self.rejection.www_authenticate()
    }

    /// The `DPoP` challenge (RFC 9449 §7.1) of a 401 when the verifier takes proofs.
    pub fn dpop_challenge(&self) -> Option<String> {
        self.rejection.dpop_challenge()
    }

    /// Seconds for `Retry-After` (only for `KeysUnavailable`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.rejection.retry_after_secs()
    }

    /// The default body: `{"error": "<code>"}`, plus `"scope"` when a scope guard refused.
    pub fn body_json(&self) -> serde_json::Value {
        self.rejection.body_json()
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("kind", &self.kind())
            .field("error", self.auth_error())
            .field("scope", &self.required_scope())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.rejection, f)
    }
}

impl StdError for AuthRejection {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.rejection.auth_error())
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.rejection.status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = (self.config.responder)(self);
        // Status and headers are the protocol, whatever body the application chose: each
        // header the rejection sends replaces the body's (two `WWW-Authenticate` lines when
        // `Bearer` and `DPoP` are both offered).
        *response.status_mut() = self.status_code();
        let headers = response.headers_mut();
        let mut previous = None;
        for (name, value) in self.rejection.headers() {
            let name = HeaderName::from_static(name);
            if previous.as_ref() != Some(&name) {
                headers.remove(&name);
            }
            // The edge sends only visible ASCII.
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.append(name.clone(), value);
            }
            previous = Some(name);
        }
        response
    }
}

type Responder = dyn Fn(&AuthRejection) -> HttpResponse + Send + Sync;

/// How rejections are answered: the challenge realm, `Retry-After`, and the body.
///
/// The [`AuthLayer`](super::AuthLayer) carries one and hands it to the extractors
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
    /// What the edge's rejections are built with: the realm and `Retry-After`.
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            realm: self.realm.to_string(),
            retry_after: self.retry_after,
            resource_metadata: None,
        }
    }

    /// An edge verifying with `verifier` under these settings, for extractors and guards
    /// that run without the middleware.
    pub(crate) fn edge(&self, verifier: Verifier) -> RequestEdge {
        RequestEdge::new(verifier)
            .realm(&*self.realm)
            .retry_after(self.retry_after)
    }

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
