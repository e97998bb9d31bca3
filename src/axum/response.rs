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
use serde_json::{json, Value};

use crate::{AuthError, ErrorKind};

/// Why a request was refused; decides the status, the challenge and the body's error code.
///
/// | kind | status | `WWW-Authenticate` | body `error` |
/// |---|---|---|---|
/// | `MissingToken` | 401 | `Bearer realm="api"` | `missing_token` |
/// | `UnsupportedScheme` | 401 | `Bearer realm="api"` | `invalid_request` |
/// | `MalformedRequest` | 400 | `Bearer realm="api", error="invalid_request"` | `invalid_request` |
/// | `InvalidToken` | 401 | `Bearer realm="api", error="invalid_token"` | `invalid_token` |
/// | `InsufficientScope` | 403 | `Bearer realm="api", error="insufficient_scope"[, scope="…"]` | `insufficient_scope` |
/// | `KeysUnavailable` | 503 + `Retry-After` | none | `temporarily_unavailable` |
/// | `Misconfigured` | 500 | none | `server_error` |
/// | `InvalidDpopProof` | 401 | `DPoP algs="…", error="invalid_dpop_proof"` | `invalid_dpop_proof` |
/// | `UseDpopNonce` | 401 + `DPoP-Nonce` | `DPoP algs="…", error="use_dpop_nonce"` | `use_dpop_nonce` |
///
/// When the verifier takes DPoP proofs, every 401 also carries a `DPoP algs="…"` challenge
/// (RFC 9449 §7.1), with the error code for a request that used the `DPoP` scheme; in
/// [`DpopMode::Required`](crate::dpop::DpopMode::Required) the `Bearer` challenge is left
/// out. A failed replay or revocation store answers like `KeysUnavailable` (503 +
/// `Retry-After`); a revoked token is `InvalidToken`.
///
/// With a [`ProtectedResource`](crate::ProtectedResource) configured
/// ([`AuthConfig::protected_resource`]), every challenge ends with
/// `resource_metadata="<metadata url>"` (RFC 9728 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The request carried no token at all.
    MissingToken,
    /// `Authorization` names a scheme other than `Bearer`. RFC 6750 §3.1: a client that used
    /// another method gets a challenge without an error code.
    UnsupportedScheme,
    /// A `Bearer` header without exactly one token, an empty or blank `Authorization` header,
    /// several `Authorization` headers, or a path parameter a guard compares that is not
    /// UTF-8 (RFC 6750 `invalid_request`, answered with 400 as §3.1 says).
    MalformedRequest,
    /// A token was sent and failed verification (bad signature, expired, wrong audience, …).
    InvalidToken,
    /// The token is valid but a guard refused it (scope, same user, claim predicate).
    InsufficientScope,
    /// The provider's signing keys could not be fetched and none are cached.
    KeysUnavailable,
    /// The server is misconfigured (no verifier reachable, a guard naming a missing path
    /// parameter, an invalid verifier setup).
    Misconfigured,
    /// A DPoP proof is missing, invalid or replayed (RFC 9449 `invalid_dpop_proof`).
    InvalidDpopProof,
    /// The DPoP proof lacks the server's current nonce (RFC 9449 `use_dpop_nonce`); the
    /// response carries a fresh `DPoP-Nonce`.
    UseDpopNonce,
}

impl RejectionKind {
    /// The HTTP status answered for this kind.
    pub const fn status(self) -> StatusCode {
        match self {
            RejectionKind::MissingToken
            | RejectionKind::UnsupportedScheme
            | RejectionKind::InvalidToken
            | RejectionKind::InvalidDpopProof
            | RejectionKind::UseDpopNonce => StatusCode::UNAUTHORIZED,
            RejectionKind::MalformedRequest => StatusCode::BAD_REQUEST,
            RejectionKind::InsufficientScope => StatusCode::FORBIDDEN,
            RejectionKind::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            RejectionKind::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` code of the default JSON body, e.g. `invalid_token`.
    pub const fn error_code(self) -> &'static str {
        match self {
            RejectionKind::MissingToken => "missing_token",
            RejectionKind::UnsupportedScheme | RejectionKind::MalformedRequest => "invalid_request",
            RejectionKind::InvalidToken => "invalid_token",
            RejectionKind::InsufficientScope => "insufficient_scope",
            RejectionKind::KeysUnavailable => "temporarily_unavailable",
            RejectionKind::Misconfigured => "server_error",
            RejectionKind::InvalidDpopProof => "invalid_dpop_proof",
            RejectionKind::UseDpopNonce => "use_dpop_nonce",
        }
    }

    /// The RFC 6750 `error` attribute of the challenge, if this kind carries one.
    const fn challenge_error(self) -> Option<&'static str> {
        match self {
            RejectionKind::MalformedRequest => Some("invalid_request"),
            RejectionKind::InvalidToken => Some("invalid_token"),
            RejectionKind::InsufficientScope => Some("insufficient_scope"),
            RejectionKind::InvalidDpopProof => Some("invalid_dpop_proof"),
            RejectionKind::UseDpopNonce => Some("use_dpop_nonce"),
            _ => None,
        }
    }

    const fn description(self) -> &'static str {
        match self {
            RejectionKind::MissingToken => "no bearer token in the request",
            RejectionKind::UnsupportedScheme => "authorization scheme is not Bearer",
            RejectionKind::MalformedRequest => "malformed authorization header",
            RejectionKind::InvalidToken => "invalid bearer token",
            RejectionKind::InsufficientScope => "insufficient scope",
            RejectionKind::KeysUnavailable => "signing keys unavailable",
            RejectionKind::Misconfigured => "authentication is misconfigured",
            RejectionKind::InvalidDpopProof => "invalid dpop proof",
            RejectionKind::UseDpopNonce => "dpop nonce required",
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
}

/// What a verifier taking DPoP proofs adds to a rejection: the `DPoP` challenge.
#[derive(Debug, Clone)]
pub(crate) struct DpopChallenge {
    /// Space-separated proof algorithms.
    pub(crate) algs: String,
    /// The current server nonce, when nonces are on.
    pub(crate) nonce: Option<String>,
    /// The request used the `DPoP` scheme (its errors go into the DPoP challenge).
    pub(crate) used_dpop: bool,
    /// DPoP is required: no `Bearer` challenge.
    pub(crate) required: bool,
}

impl AuthRejection {
    pub(crate) fn new(kind: RejectionKind, error: AuthError, config: &AuthConfig) -> Self {
        AuthRejection {
            kind,
            error,
            scope: None,
            config: config.clone(),
            dpop: None,
        }
    }

    /// Whether the `DPoP` challenge is set.
    pub(crate) fn has_dpop(&self) -> bool {
        self.dpop.is_some()
    }

    /// Adds the `DPoP` challenge of a verifier that takes proofs.
    pub(crate) fn with_dpop(mut self, challenge: DpopChallenge) -> Self {
        self.dpop = Some(challenge);
        self
    }

    /// The `DPoP` challenge (RFC 9449 §7.1), when the verifier takes DPoP proofs and this
    /// is a 401, e.g. `DPoP algs="ES256 EdDSA", error="invalid_dpop_proof"`.
    pub fn dpop_challenge(&self) -> Option<HeaderValue> {
        let dpop = self.dpop.as_ref()?;
        if self.status() != StatusCode::UNAUTHORIZED {
            return None;
        }
        let mut value = format!("DPoP algs=\"{}\"", quoted(&dpop.algs));
        let error = match self.kind {
            RejectionKind::InvalidDpopProof | RejectionKind::UseDpopNonce => {
                self.kind.challenge_error()
            }
            RejectionKind::InvalidToken if dpop.used_dpop || dpop.required => Some("invalid_token"),
            _ => None,
        };
        if let Some(error) = error {
            value.push_str(&format!(", error=\"{error}\""));
        }
        self.push_resource_metadata(&mut value);
        HeaderValue::from_str(&value).ok()
    }

    /// The rejection for a failed [`Verifier::verify`](crate::Verifier::verify), logged
    /// without the token.
    pub(crate) fn from_verify_error(error: AuthError, config: &AuthConfig) -> Self {
        let kind = match error.kind() {
            ErrorKind::KeysUnavailable => RejectionKind::KeysUnavailable,
            ErrorKind::Config => RejectionKind::Misconfigured,
            ErrorKind::Forbidden => RejectionKind::InsufficientScope,
            ErrorKind::MissingToken => RejectionKind::MissingToken,
            ErrorKind::InvalidDpopProof | ErrorKind::DpopReplayed => {
                RejectionKind::InvalidDpopProof
            }
            ErrorKind::UseDpopNonce => RejectionKind::UseDpopNonce,
            ErrorKind::ReplayStoreUnavailable | ErrorKind::RevocationStoreUnavailable => {
                RejectionKind::KeysUnavailable
            }
            // A revoked token is an invalid token (RFC 6750 `invalid_token`).
            ErrorKind::Revoked => RejectionKind::InvalidToken,
            _ => RejectionKind::InvalidToken,
        };
        match kind {
            RejectionKind::KeysUnavailable | RejectionKind::Misconfigured => {
                tracing::warn!(kind = %error.kind(), error = %error, "request refused");
            }
            _ => tracing::debug!(kind = %error.kind(), error = %error, "bearer token rejected"),
        }
        AuthRejection::new(kind, error, config)
    }

    pub(crate) fn with_scope(mut self, scope: String) -> Self {
        self.scope = Some(scope);
        self
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
        if matches!(
            self.kind,
            RejectionKind::KeysUnavailable | RejectionKind::Misconfigured
        ) {
            return None;
        }
        if let Some(dpop) = &self.dpop {
            if dpop.required {
                return None;
            }
            if matches!(
                self.kind,
                RejectionKind::InvalidDpopProof | RejectionKind::UseDpopNonce
            ) || (dpop.used_dpop && self.kind == RejectionKind::InvalidToken)
            {
                // The error belongs to the DPoP challenge; Bearer is offered without one.
                let mut value = format!("Bearer realm=\"{}\"", quoted(self.realm()));
                self.push_resource_metadata(&mut value);
                return HeaderValue::from_str(&value).ok();
            }
        }
        let mut value = format!("Bearer realm=\"{}\"", quoted(self.realm()));
        if let Some(error) = self.kind.challenge_error() {
            value.push_str(&format!(", error=\"{error}\""));
        }
        if let (RejectionKind::InsufficientScope, Some(scope)) = (self.kind, &self.scope) {
            value.push_str(&format!(", scope=\"{}\"", quoted(scope)));
        }
        self.push_resource_metadata(&mut value);
        // Only visible ASCII survives `quoted`, so this cannot fail; fall back regardless.
        Some(HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("Bearer")))
    }

    /// Appends `resource_metadata="<url>"` (RFC 9728 §5.1) when a protected resource is
    /// configured.
    fn push_resource_metadata(&self, value: &mut String) {
        if let Some(url) = self.config.resource_metadata_url() {
            value.push_str(&format!(", resource_metadata=\"{}\"", quoted(url)));
        }
    }

    /// Seconds for `Retry-After` (only for `KeysUnavailable`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        (self.kind == RejectionKind::KeysUnavailable)
            .then(|| self.config.retry_after_duration().as_secs().max(1))
    }

    /// The default body: `{"error": "<code>"}`, plus `"scope"` when a scope guard refused.
    pub fn body_json(&self) -> Value {
        match (&self.scope, self.kind) {
            (Some(scope), RejectionKind::InsufficientScope) => {
                json!({ "error": self.kind.error_code(), "scope": scope })
            }
            _ => json!({ "error": self.kind.error_code() }),
        }
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

/// Escapes a quoted-string (RFC 9110 §5.6.4) and drops characters a header cannot carry.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|c| c.is_ascii_graphic() || *c == ' ') {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
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

/// Default `Retry-After` for 503 answers: the key fetcher's default refresh cooldown.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

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
pub struct AuthConfig {
    realm: Arc<str>,
    retry_after: Duration,
    responder: Arc<dyn RejectionResponse>,
    resource_metadata: Option<Arc<str>>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            realm: Arc::from("api"),
            retry_after: DEFAULT_RETRY_AFTER,
            responder: Arc::new(JsonRejection),
            resource_metadata: None,
        }
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
    /// Default: [`JsonRejection`].
    pub fn rejection_response(mut self, responder: impl RejectionResponse) -> Self {
        self.responder = Arc::new(responder);
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
        self.resource_metadata = Some(Arc::from(resource.metadata_url()));
        self
    }

    pub(crate) fn resource_metadata_url(&self) -> Option<&str> {
        self.resource_metadata.as_deref()
    }

    pub(crate) fn realm_name(&self) -> &str {
        &self.realm
    }

    pub(crate) fn retry_after_duration(&self) -> Duration {
        self.retry_after
    }

    pub(crate) fn responder(&self) -> &dyn RejectionResponse {
        &*self.responder
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("realm", &self.realm)
            .field("retry_after", &self.retry_after)
            .field("resource_metadata", &self.resource_metadata)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_escapes_quotes_and_drops_control_characters() {
        assert_eq!(quoted(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(quoted("x\r\ny"), "xy");
    }

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
