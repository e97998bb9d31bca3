//! The one error type, [`AuthError`], and its [`ErrorKind`]; and the errors it carries as
//! its source: [`FetchError`] (keys) and [`StoreError`] (replay and revocation stores).
//!
//! Messages name the check that failed; they never contain the token, a secret, or the
//! value the verifier expected (an issuer or audience would tell an attacker what to forge).

use std::error::Error as StdError;
use std::fmt;

/// Everything that can go wrong while configuring a verifier or verifying a token.
///
/// Opaque, like `reqwest::Error`: match on [`AuthError::kind`] to decide what to do, and use
/// [`AuthError::status`] to map it to HTTP: bad token → 401, forbidden → 403, keys
/// unreachable → 503, configuration → 500. Accessors give the detail a service may need
/// ([`claim`](AuthError::claim), [`time_context`](AuthError::time_context),
/// [`fetch_error`](AuthError::fetch_error)); [`source`](StdError::source) keeps the chain.
///
/// ```
/// use jwks_auth::{AuthError, ErrorKind};
/// let err = AuthError::missing_token();
/// assert_eq!(err.kind(), ErrorKind::MissingToken);
/// assert_eq!(err.status(), 401);
/// assert_eq!(err.to_string(), "no bearer token in the request");
/// ```
pub struct AuthError {
    // One pointer wide, so `Result<AuthUser, AuthError>` stays small on the hot path.
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    detail: Detail,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

enum Detail {
    None,
    Static(&'static str),
    Owned(String),
    Time(TimeContext),
}

/// The times behind an [`ErrorKind::Expired`] or [`ErrorKind::NotYetValid`] error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimeContext {
    /// The token's `exp` (expired) or `nbf`/`iat` (not valid yet), in seconds since the epoch.
    pub bound: i64,
    /// The verifier's clock, in seconds since the epoch.
    pub now: i64,
}

/// Why a fetch of a provider's keys failed. Carried as the `source` of a
/// [`KeysUnavailable`](ErrorKind::KeysUnavailable) error ([`AuthError::fetch_error`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The server answered with a non-success status.
    #[error("key server answered HTTP {status}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// `Retry-After` in seconds, when the server sent one.
        retry_after: Option<u64>,
    },
    /// The body exceeded the size cap.
    #[error("key server response exceeds {limit} bytes")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// A redirect pointed at another origin (scheme, host or port), or there were too many.
    #[error("key server redirected to another origin")]
    Redirect,
    /// The request did not complete in time.
    #[error("key server timed out")]
    Timeout,
    /// Transport error (connect, TLS, protocol). The source is the HTTP client's error, kept
    /// for its message and chain; its type is not part of this crate's API.
    #[error("key server unreachable")]
    Transport(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync>),
    /// The document is not what was expected.
    #[error("key server sent an invalid document: {0}")]
    Invalid(String),
}

/// A DPoP replay store or a revocation store that could not answer (e.g. a database that is
/// down). Carried as the `source` of a `ReplayStoreUnavailable` or
/// `RevocationStoreUnavailable` error.
///
/// Its message comes from the store; the checker never puts a proof or `jti` into it.
#[derive(Debug)]
pub struct StoreError {
    message: Box<str>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl StoreError {
    /// An error with a short message.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into().into_boxed_str(),
            source: None,
        }
    }

    /// An error with a short message and its cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            message: message.into().into_boxed_str(),
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// What kind of failure an [`AuthError`] is: stable, matchable, and mapped to HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No token was presented (401).
    MissingToken,
    /// The token is not a well-formed JWS (401).
    Malformed,
    /// The algorithm is unknown, not allowed, or does not fit the key (401).
    UnsupportedAlgorithm,
    /// No key matches the token's `kid` (401).
    UnknownKey,
    /// The signature does not verify (401).
    InvalidSignature,
    /// `exp` is in the past (401).
    Expired,
    /// `nbf` or `iat` is in the future (401).
    NotYetValid,
    /// `iss` mismatch (401).
    InvalidIssuer,
    /// `aud` mismatch (401).
    InvalidAudience,
    /// `azp` mismatch (401).
    InvalidAuthorizedParty,
    /// The token is of a kind this verifier does not accept: its `typ` header, or its class
    /// (Clerk's `cat` header, Cognito's `token_use` claim) (401).
    InvalidTokenType,
    /// A required claim is absent (401).
    MissingClaim,
    /// A claim has the wrong type (401).
    InvalidClaim,
    /// Authenticated but not allowed (403).
    Forbidden,
    /// Keys could not be fetched (503).
    KeysUnavailable,
    /// Misconfiguration (500).
    Config,
    /// The DPoP proof is missing or fails a check of RFC 9449 §4.3 (401,
    /// `error="invalid_dpop_proof"`).
    InvalidDpopProof,
    /// The DPoP proof was presented before (401, `error="invalid_dpop_proof"`).
    DpopReplayed,
    /// Server nonces are on and the proof lacks the current one (401,
    /// `error="use_dpop_nonce"`: retry with the `DPoP-Nonce` sent back).
    UseDpopNonce,
    /// The DPoP replay store could not answer (503).
    ReplayStoreUnavailable,
    /// The token is bound (`cnf`) to a key or certificate the request does not prove, e.g.
    /// a DPoP-bound token sent as a bearer token (401, `error="invalid_token"`).
    BindingMismatch,
    /// The token was revoked before its `exp`: its `jti` is on the denylist, or it was issued
    /// at or before a "revoked before" instant of its session, user or issuer (401,
    /// `error="invalid_token"`). See [`revocation`](crate::revocation).
    Revoked,
    /// The revocation store could not answer (or has not synced within its bound) and the
    /// failure policy is closed (503).
    RevocationStoreUnavailable,
    /// The authorization server's introspection endpoint says the token is not active
    /// (RFC 7662: revoked, expired, unknown, or an answer without `"active": true`) (401,
    /// `error="invalid_token"`). See [`introspection`](crate::introspection).
    Inactive,
}

impl ErrorKind {
    /// The HTTP status a service should answer with.
    pub const fn status(self) -> u16 {
        match self {
            ErrorKind::Forbidden => 403,
            ErrorKind::KeysUnavailable
            | ErrorKind::ReplayStoreUnavailable
            | ErrorKind::RevocationStoreUnavailable => 503,
            ErrorKind::Config => 500,
            _ => 401,
        }
    }

    /// The kind's stable kebab-case name, e.g. `invalid-signature` (used by the CLI).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::MissingToken => "missing-token",
            ErrorKind::Malformed => "malformed",
            ErrorKind::UnsupportedAlgorithm => "unsupported-algorithm",
            ErrorKind::UnknownKey => "unknown-key",
            ErrorKind::InvalidSignature => "invalid-signature",
            ErrorKind::Expired => "expired",
            ErrorKind::NotYetValid => "not-yet-valid",
            ErrorKind::InvalidIssuer => "invalid-issuer",
            ErrorKind::InvalidAudience => "invalid-audience",
            ErrorKind::InvalidAuthorizedParty => "invalid-authorized-party",
            ErrorKind::InvalidTokenType => "invalid-token-type",
            ErrorKind::MissingClaim => "missing-claim",
            ErrorKind::InvalidClaim => "invalid-claim",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::KeysUnavailable => "keys-unavailable",
            ErrorKind::Config => "config",
            ErrorKind::InvalidDpopProof => "invalid-dpop-proof",
            ErrorKind::DpopReplayed => "dpop-replayed",
            ErrorKind::UseDpopNonce => "use-dpop-nonce",
            ErrorKind::ReplayStoreUnavailable => "replay-store-unavailable",
            ErrorKind::BindingMismatch => "binding-mismatch",
            ErrorKind::Revoked => "revoked",
            ErrorKind::RevocationStoreUnavailable => "revocation-store-unavailable",
            ErrorKind::Inactive => "inactive",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AuthError {
    fn new(kind: ErrorKind, detail: Detail) -> Self {
        AuthError {
            inner: Box::new(Inner {
                kind,
                detail,
                source: None,
            }),
        }
    }

    fn with_source(mut self, source: Option<Box<dyn StdError + Send + Sync>>) -> Self {
        self.inner.source = source;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status for this error: 401, 403, 503, or 500 for configuration errors.
    pub fn status(&self) -> u16 {
        self.kind().status()
    }

    /// True when the token itself was rejected (status 401).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == 401
    }

    /// The claim a [`MissingClaim`](ErrorKind::MissingClaim) or
    /// [`InvalidClaim`](ErrorKind::InvalidClaim) error is about.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), jwks_auth::AuthError> {
    /// use jwks_auth::{testing::MockProvider, ErrorKind, Verifier};
    /// let mock = MockProvider::auth0().await;
    /// let verifier = Verifier::builder(mock.provider()).build()?;
    /// let err = verifier.verify(&mock.token().without_claim("exp").sign()).await.unwrap_err();
    /// assert_eq!((err.kind(), err.claim()), (ErrorKind::MissingClaim, Some("exp")));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))]
    /// # fn main() {}
    /// ```
    pub fn claim(&self) -> Option<&str> {
        match (&self.inner.kind, &self.inner.detail) {
            (ErrorKind::MissingClaim | ErrorKind::InvalidClaim, Detail::Owned(name)) => Some(name),
            (ErrorKind::MissingClaim | ErrorKind::InvalidClaim, Detail::Static(name)) => Some(name),
            _ => None,
        }
    }

    /// The token's time bound and the verifier's clock, for an expired or not-yet-valid token.
    pub fn time_context(&self) -> Option<TimeContext> {
        match self.inner.detail {
            Detail::Time(context) => Some(context),
            _ => None,
        }
    }

    /// Why the keys could not be fetched, for a [`KeysUnavailable`](ErrorKind::KeysUnavailable)
    /// error caused by a fetch.
    pub fn fetch_error(&self) -> Option<&FetchError> {
        self.inner.source.as_deref()?.downcast_ref::<FetchError>()
    }

    /// The short detail after the kind's phrase (e.g. `"token too large"` for a malformed
    /// token, the reason of a configuration error); never a token, secret or expected value.
    pub fn detail(&self) -> Option<&str> {
        match &self.inner.detail {
            Detail::Static(text) => Some(text),
            Detail::Owned(text) => Some(text),
            Detail::None | Detail::Time(_) => None,
        }
    }

    /// The error for a request without a token.
    pub fn missing_token() -> Self {
        Self::new(ErrorKind::MissingToken, Detail::None)
    }

    /// A configuration error ([`ErrorKind::Config`], answered with 500), e.g. from a
    /// [`TenantVerifier`](crate::TenantVerifier) factory that cannot build a verifier;
    /// `reason` is shown in the message, so never put a secret in it.
    pub fn misconfigured(reason: impl Into<String>) -> Self {
        Self::config(reason)
    }

    /// A 403 for a valid token that does not grant what is required; `reason` is shown in
    /// the message, so name the requirement, not a secret.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, Detail::Owned(reason.into()))
    }

    pub(crate) fn malformed(what: &'static str) -> Self {
        Self::new(ErrorKind::Malformed, Detail::Static(what))
    }

    pub(crate) fn unsupported_algorithm(what: &'static str) -> Self {
        Self::new(ErrorKind::UnsupportedAlgorithm, Detail::Static(what))
    }

    pub(crate) fn unknown_key() -> Self {
        Self::new(ErrorKind::UnknownKey, Detail::None)
    }

    pub(crate) fn invalid_signature() -> Self {
        Self::new(ErrorKind::InvalidSignature, Detail::None)
    }

    pub(crate) fn expired(exp: i64, now: i64) -> Self {
        Self::new(
            ErrorKind::Expired,
            Detail::Time(TimeContext { bound: exp, now }),
        )
    }

    pub(crate) fn not_yet_valid(not_before: i64, now: i64) -> Self {
        Self::new(
            ErrorKind::NotYetValid,
            Detail::Time(TimeContext {
                bound: not_before,
                now,
            }),
        )
    }

    pub(crate) fn invalid_issuer() -> Self {
        Self::new(ErrorKind::InvalidIssuer, Detail::None)
    }

    pub(crate) fn invalid_audience() -> Self {
        Self::new(ErrorKind::InvalidAudience, Detail::None)
    }

    pub(crate) fn invalid_authorized_party() -> Self {
        Self::new(ErrorKind::InvalidAuthorizedParty, Detail::None)
    }

    /// `what` names the failing check (`typ`, or the class header or claim), never a value.
    pub(crate) fn invalid_token_type(what: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidTokenType, Detail::Owned(what.into()))
    }

    pub(crate) fn missing_claim(name: impl Into<String>) -> Self {
        Self::new(ErrorKind::MissingClaim, Detail::Owned(name.into()))
    }

    pub(crate) fn invalid_claim(name: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidClaim, Detail::Owned(name.into()))
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, Detail::Owned(message.into()))
    }

    /// An introspection answer that is not `"active": true`.
    pub(crate) fn inactive() -> Self {
        Self::new(ErrorKind::Inactive, Detail::None)
    }

    /// The same kind and message without the source: what every request waiting on one
    /// shared (single-flight) operation gets.
    pub(crate) fn clone_for_waiters(&self) -> Self {
        let detail = match &self.inner.detail {
            Detail::None => Detail::None,
            Detail::Static(text) => Detail::Static(text),
            Detail::Owned(text) => Detail::Owned(text.clone()),
            Detail::Time(time) => Detail::Time(*time),
        };
        Self::new(self.inner.kind, detail)
    }

    pub(crate) fn keys_unavailable(
        reason: impl Into<String>,
        source: Option<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self::new(ErrorKind::KeysUnavailable, Detail::Owned(reason.into())).with_source(source)
    }

    pub(crate) fn revoked() -> Self {
        Self::new(ErrorKind::Revoked, Detail::None)
    }

    pub(crate) fn revocation_store_unavailable(source: StoreError) -> Self {
        Self::new(ErrorKind::RevocationStoreUnavailable, Detail::None)
            .with_source(Some(Box::new(source)))
    }

    // The DPoP kinds; `reason` is the failed check's static phrase, never the proof or a
    // value. `From<DpopError>` (in `dpop`) picks among them.

    pub(crate) fn invalid_dpop_proof(reason: &'static str) -> Self {
        Self::new(ErrorKind::InvalidDpopProof, Detail::Static(reason))
    }

    pub(crate) fn dpop_replayed() -> Self {
        Self::new(ErrorKind::DpopReplayed, Detail::None)
    }

    pub(crate) fn use_dpop_nonce(reason: &'static str) -> Self {
        Self::new(ErrorKind::UseDpopNonce, Detail::Static(reason))
    }

    pub(crate) fn replay_store_unavailable(source: StoreError) -> Self {
        Self::new(ErrorKind::ReplayStoreUnavailable, Detail::None)
            .with_source(Some(Box::new(source)))
    }

    pub(crate) fn binding_mismatch(reason: &'static str) -> Self {
        Self::new(ErrorKind::BindingMismatch, Detail::Static(reason))
    }

    /// A [`config`](Self::config) error whose reason is a fixed phrase.
    pub(crate) fn config_phrase(reason: &'static str) -> Self {
        Self::new(ErrorKind::Config, Detail::Static(reason))
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = self.detail().unwrap_or_default();
        match self.inner.kind {
            ErrorKind::MissingToken => f.write_str("no bearer token in the request"),
            ErrorKind::Malformed => write!(f, "malformed token: {detail}"),
            ErrorKind::UnsupportedAlgorithm => write!(f, "unsupported algorithm: {detail}"),
            ErrorKind::UnknownKey => f.write_str("unknown signing key"),
            ErrorKind::InvalidSignature => f.write_str("invalid signature"),
            ErrorKind::Expired => f.write_str("token expired"),
            ErrorKind::NotYetValid => f.write_str("token not valid yet"),
            ErrorKind::InvalidIssuer => f.write_str("invalid issuer"),
            ErrorKind::InvalidAudience => f.write_str("invalid audience"),
            ErrorKind::InvalidAuthorizedParty => f.write_str("invalid authorized party"),
            ErrorKind::InvalidTokenType => write!(f, "token type not accepted: {detail}"),
            ErrorKind::MissingClaim => write!(f, "missing claim `{detail}`"),
            ErrorKind::InvalidClaim => write!(f, "invalid claim `{detail}`"),
            ErrorKind::Forbidden => write!(f, "forbidden: {detail}"),
            ErrorKind::KeysUnavailable => write!(f, "signing keys unavailable: {detail}"),
            ErrorKind::Config => write!(f, "configuration error: {detail}"),
            ErrorKind::InvalidDpopProof => write!(f, "invalid dpop proof: {detail}"),
            ErrorKind::DpopReplayed => f.write_str("dpop proof replayed"),
            ErrorKind::UseDpopNonce => write!(f, "use dpop nonce: {detail}"),
            ErrorKind::ReplayStoreUnavailable => f.write_str("dpop replay store unavailable"),
            ErrorKind::BindingMismatch => write!(f, "token binding mismatch: {detail}"),
            ErrorKind::Revoked => f.write_str("token revoked"),
            ErrorKind::RevocationStoreUnavailable => f.write_str("revocation store unavailable"),
            ErrorKind::Inactive => f.write_str("token is not active"),
        }
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("AuthError");
        debug.field("kind", &self.inner.kind);
        if let Some(detail) = self.detail() {
            debug.field("detail", &detail);
        }
        if let Some(time) = self.time_context() {
            debug.field("time", &time);
        }
        if let Some(source) = &self.inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl StdError for AuthError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

/// A `Result` whose error is [`AuthError`].
pub type Result<T, E = AuthError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_http_mapping() {
        assert_eq!(AuthError::invalid_signature().status(), 401);
        assert_eq!(AuthError::forbidden("scope").status(), 403);
        assert_eq!(AuthError::keys_unavailable("down", None).status(), 503);
        assert_eq!(AuthError::config("bad").status(), 500);
    }

    #[test]
    fn display_names_the_check_without_values() {
        let err = AuthError::expired(10, 20);
        assert_eq!(err.to_string(), "token expired");
        assert_eq!(AuthError::invalid_issuer().to_string(), "invalid issuer");
        assert_eq!(ErrorKind::InvalidSignature.to_string(), "invalid-signature");
    }

    #[test]
    fn store_error_display_is_its_message_and_keeps_the_source() {
        let error = StoreError::with_source("redis down", std::io::Error::other("refused"));
        assert_eq!(error.to_string(), "redis down");
        assert!(StdError::source(&error).is_some());
    }
}
