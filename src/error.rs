//! The one error type, [`AuthError`], and its [`ErrorKind`].
//!
//! Messages name the check that failed; they never contain the token, a secret, or the
//! value the verifier expected (an issuer or audience would tell an attacker what to forge).

use std::error::Error as StdError;
use std::fmt;

/// Everything that can go wrong while configuring a verifier or verifying a token.
///
/// Match on [`AuthError::kind`] to decide what to do, and use [`AuthError::status`] to map
/// it to HTTP: bad token → 401, forbidden → 403, keys unreachable → 503, configuration → 500.
///
/// ```
/// use jwks_auth::{AuthError, ErrorKind};
/// let err = AuthError::missing_token();
/// assert_eq!(err.kind(), ErrorKind::MissingToken);
/// assert_eq!(err.status(), 401);
/// assert_eq!(err.to_string(), "no bearer token in the request");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The request carried no token.
    #[error("no bearer token in the request")]
    MissingToken,
    /// The token is not a well-formed compact JWS, or a header field is unacceptable.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm that is unknown, not allowed, or does not fit the key.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(&'static str),
    /// No key in the provider's key set matches the token.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// The token expired (`exp` plus leeway is in the past).
    #[error("token expired")]
    Expired {
        /// The token's `exp`, in seconds since the epoch.
        exp: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// The token is not valid yet (`nbf`, or `iat` in the future beyond the leeway).
    #[error("token not valid yet")]
    NotYetValid {
        /// The token's `nbf` or `iat`.
        not_before: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// The `iss` claim is missing or differs from the provider's issuer.
    #[error("invalid issuer")]
    InvalidIssuer,
    /// The `aud` claim is missing or names none of the accepted audiences.
    #[error("invalid audience")]
    InvalidAudience,
    /// The `azp` claim is missing or not one of the authorized parties.
    #[error("invalid authorized party")]
    InvalidAuthorizedParty,
    /// A required claim is absent.
    #[error("missing claim `{0}`")]
    MissingClaim(String),
    /// A claim has the wrong type or an impossible value.
    #[error("invalid claim `{0}`")]
    InvalidClaim(String),
    /// The token is valid but does not grant what the route requires.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The provider's keys could not be fetched and none are cached.
    #[error("signing keys unavailable: {reason}")]
    KeysUnavailable {
        /// What failed (no secrets, no URL query).
        reason: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// The verifier or provider is misconfigured.
    #[error("configuration error: {0}")]
    Config(String),
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
}

impl ErrorKind {
    /// The HTTP status a service should answer with.
    pub const fn status(self) -> u16 {
        match self {
            ErrorKind::Forbidden => 403,
            ErrorKind::KeysUnavailable => 503,
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
            ErrorKind::MissingClaim => "missing-claim",
            ErrorKind::InvalidClaim => "invalid-claim",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::KeysUnavailable => "keys-unavailable",
            ErrorKind::Config => "config",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AuthError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::MissingToken => ErrorKind::MissingToken,
            AuthError::Malformed(_) => ErrorKind::Malformed,
            AuthError::UnsupportedAlgorithm(_) => ErrorKind::UnsupportedAlgorithm,
            AuthError::UnknownKey => ErrorKind::UnknownKey,
            AuthError::InvalidSignature => ErrorKind::InvalidSignature,
            AuthError::Expired { .. } => ErrorKind::Expired,
            AuthError::NotYetValid { .. } => ErrorKind::NotYetValid,
            AuthError::InvalidIssuer => ErrorKind::InvalidIssuer,
            AuthError::InvalidAudience => ErrorKind::InvalidAudience,
            AuthError::InvalidAuthorizedParty => ErrorKind::InvalidAuthorizedParty,
            AuthError::MissingClaim(_) => ErrorKind::MissingClaim,
            AuthError::InvalidClaim(_) => ErrorKind::InvalidClaim,
            AuthError::Forbidden(_) => ErrorKind::Forbidden,
            AuthError::KeysUnavailable { .. } => ErrorKind::KeysUnavailable,
            AuthError::Config(_) => ErrorKind::Config,
        }
    }

    /// The HTTP status for this error: 401, 403, 503, or 500 for configuration errors.
    pub fn status(&self) -> u16 {
        self.kind().status()
    }

    /// True when the token itself was rejected (status 401).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == 401
    }

    /// The error for a request without a token.
    pub fn missing_token() -> Self {
        AuthError::MissingToken
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        AuthError::Config(message.into())
    }

    pub(crate) fn keys_unavailable(
        reason: impl Into<String>,
        source: Option<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        AuthError::KeysUnavailable {
            reason: reason.into(),
            source,
        }
    }
}

/// A `Result` whose error is [`AuthError`].
pub type Result<T, E = AuthError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_http_mapping() {
        assert_eq!(AuthError::InvalidSignature.status(), 401);
        assert_eq!(AuthError::Forbidden("scope".into()).status(), 403);
        assert_eq!(AuthError::keys_unavailable("down", None).status(), 503);
        assert_eq!(AuthError::config("bad").status(), 500);
    }

    #[test]
    fn display_names_the_check_without_values() {
        let err = AuthError::Expired { exp: 10, now: 20 };
        assert_eq!(err.to_string(), "token expired");
        assert_eq!(AuthError::InvalidIssuer.to_string(), "invalid issuer");
        assert_eq!(ErrorKind::InvalidSignature.to_string(), "invalid-signature");
    }
}
