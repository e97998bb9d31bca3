//! The framework-neutral part of refusing a request, shared by the request edge and the axum,
//! actix-web and tonic integrations: which [`RejectionKind`] an error is, its HTTP status, the RFC 6750
//! `WWW-Authenticate` challenge, `Retry-After`, and the JSON body. Everything here is plain
//! values (status `u16`, header strings, `serde_json::Value`); each framework converts them
//! to its own types.

use std::time::Duration;

use serde_json::{json, Value};

use crate::step_up::StepUpChallenge;
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
/// | `InsufficientUserAuthentication` | 401 | `Bearer realm="api", error="insufficient_user_authentication"[, acr_values="…"][, max_age=…]` | `insufficient_user_authentication` (+ `acr_values`, `max_age`) |
/// | `ReverificationRequired` | 403 | none | Clerk's `{"clerk_error": {"reason": "reverification-error", …}}` |
///
/// When the verifier takes DPoP proofs, every 401 also carries a `DPoP algs="…"` challenge
/// (RFC 9449 §7.1), with the error code for a request that used the `DPoP` scheme; in
/// [`DpopMode::Required`](crate::dpop::DpopMode::Required) the `Bearer` challenge is left
/// out. A failed replay or revocation store answers like `KeysUnavailable` (503 +
/// `Retry-After`); a revoked token is `InvalidToken`.
///
/// With a [`ProtectedResource`](crate::ProtectedResource) configured (axum:
/// `AuthConfig::protected_resource`), every challenge ends with
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
    /// The token is valid but its authentication is too weak or too old for the operation
    /// (RFC 9470 step-up: a [`step_up`](crate::step_up) guard refused).
    InsufficientUserAuthentication,
    /// Clerk reverification: the session must verify its factors again (a
    /// [`Reverification`](crate::step_up::Reverification) guard refused).
    ReverificationRequired,
}

impl RejectionKind {
    /// The HTTP status code answered for this kind, as a number (401, 400, 403, 503, 500).
    pub const fn status_code(self) -> u16 {
        match self {
            RejectionKind::MissingToken
            | RejectionKind::UnsupportedScheme
            | RejectionKind::InvalidToken
            | RejectionKind::InvalidDpopProof
            | RejectionKind::UseDpopNonce
            | RejectionKind::InsufficientUserAuthentication => 401,
            RejectionKind::MalformedRequest => 400,
            RejectionKind::InsufficientScope | RejectionKind::ReverificationRequired => 403,
            RejectionKind::KeysUnavailable => 503,
            RejectionKind::Misconfigured => 500,
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
            RejectionKind::InsufficientUserAuthentication => "insufficient_user_authentication",
            RejectionKind::ReverificationRequired => "reverification_required",
        }
    }

    /// The RFC 6750 `error` attribute of the challenge, if this kind carries one.
    pub(crate) const fn challenge_error(self) -> Option<&'static str> {
        match self {
            RejectionKind::MalformedRequest => Some("invalid_request"),
            RejectionKind::InvalidToken => Some("invalid_token"),
            RejectionKind::InsufficientScope => Some("insufficient_scope"),
            RejectionKind::InvalidDpopProof => Some("invalid_dpop_proof"),
            RejectionKind::UseDpopNonce => Some("use_dpop_nonce"),
            RejectionKind::InsufficientUserAuthentication => {
                Some("insufficient_user_authentication")
            }
            _ => None,
        }
    }

    /// A short phrase naming the refusal, without detail (the rejections' `Display`).
    pub(crate) const fn description(self) -> &'static str {
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
            RejectionKind::InsufficientUserAuthentication => "insufficient user authentication",
            RejectionKind::ReverificationRequired => "reverification required",
        }
    }

    /// The kind of a failed [`Verifier::verify`](crate::Verifier::verify), logged without
    /// the token (`warn` for 500 and 503, `debug` otherwise).
    pub(crate) fn of_verify_error(error: &AuthError) -> Self {
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
        kind
    }
}

impl From<crate::token_source::RequestError> for RejectionKind {
    /// The refusal of a request whose credentials were unusable before any verification.
    fn from(error: crate::token_source::RequestError) -> Self {
        match error {
            crate::token_source::RequestError::Malformed => RejectionKind::MalformedRequest,
            crate::token_source::RequestError::UnsupportedScheme => {
                RejectionKind::UnsupportedScheme
            }
        }
    }
}

/// Default `Retry-After` for 503 answers: the key fetcher's default refresh cooldown.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

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

/// The parts of a refusal its response is built from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Challenge<'a> {
    pub(crate) kind: RejectionKind,
    /// The realm of the challenge (escaped here).
    pub(crate) realm: &'a str,
    /// The scope(s) a scope guard required, space-separated.
    pub(crate) scope: Option<&'a str>,
    pub(crate) dpop: Option<&'a DpopChallenge>,
    /// The RFC 9728 metadata URL every challenge points to, when one is configured.
    pub(crate) resource_metadata: Option<&'a str>,
    /// What a step-up guard asks for.
    pub(crate) step_up: Option<&'a StepUpChallenge>,
}

impl Challenge<'_> {
    /// The `DPoP` challenge (RFC 9449 §7.1), when the verifier takes DPoP proofs and this
    /// is a 401, e.g. `DPoP algs="ES256 EdDSA", error="invalid_dpop_proof"`.
    pub(crate) fn dpop_challenge(&self) -> Option<String> {
        let dpop = self.dpop?;
        if self.kind.status_code() != 401 {
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
        Some(value)
    }

    /// Appends `resource_metadata="<url>"` (RFC 9728 §5.1) when a protected resource is
    /// configured.
    fn push_resource_metadata(&self, value: &mut String) {
        if let Some(url) = self.resource_metadata {
            value.push_str(&format!(", resource_metadata=\"{}\"", quoted(url)));
        }
    }

    /// The `WWW-Authenticate` value: `None` for 500 and 503. Only visible ASCII and spaces.
    pub(crate) fn www_authenticate(&self) -> Option<String> {
        if matches!(
            self.kind,
            RejectionKind::KeysUnavailable
                | RejectionKind::Misconfigured
                | RejectionKind::ReverificationRequired
        ) {
            return None;
        }
        if let Some(dpop) = self.dpop {
            if dpop.required {
                return None;
            }
            if matches!(
                self.kind,
                RejectionKind::InvalidDpopProof | RejectionKind::UseDpopNonce
            ) || (dpop.used_dpop && self.kind == RejectionKind::InvalidToken)
            {
                // The error belongs to the DPoP challenge; Bearer is offered without one.
                let mut value = format!("Bearer realm=\"{}\"", quoted(self.realm));
                self.push_resource_metadata(&mut value);
                return Some(value);
            }
        }
        let mut value = format!("Bearer realm=\"{}\"", quoted(self.realm));
        if let Some(error) = self.kind.challenge_error() {
            value.push_str(&format!(", error=\"{error}\""));
        }
        // The scope an operation needs: in a 403, and in a 401 when the operation is known
        // (RFC 6750 §3, the MCP authorization spec).
        if let (RejectionKind::InsufficientScope | RejectionKind::MissingToken, Some(scope)) =
            (self.kind, self.scope)
        {
            value.push_str(&format!(", scope=\"{}\"", quoted(scope)));
        }
        if let Some(StepUpChallenge::Authentication {
            acr_values,
            max_age,
        }) = self.step_up
        {
            // RFC 9470 §3: `acr_values` quoted, `max_age` a bare number of seconds.
            if let Some(acr_values) = acr_values {
                value.push_str(&format!(", acr_values=\"{}\"", quoted(acr_values)));
            }
            if let Some(max_age) = max_age {
                value.push_str(&format!(", max_age={max_age}"));
            }
        }
        self.push_resource_metadata(&mut value);
        Some(value)
    }

    /// The default body: `{"error": "<code>"}`, plus `"scope"` when a scope guard refused.
    pub(crate) fn body_json(&self) -> Value {
        if let Some(step_up) = self.step_up {
            return step_up.body_json();
        }
        match (self.scope, self.kind) {
            (Some(scope), RejectionKind::InsufficientScope) => {
                json!({ "error": self.kind.error_code(), "scope": scope })
            }
            _ => json!({ "error": self.kind.error_code() }),
        }
    }
}

/// Seconds for `Retry-After` (only for `KeysUnavailable`), at least 1.
pub(crate) fn retry_after_secs(kind: RejectionKind, retry_after: Duration) -> Option<u64> {
    (kind == RejectionKind::KeysUnavailable).then(|| retry_after.as_secs().max(1))
}

/// Escapes a quoted-string (RFC 9110 §5.6.4) and drops characters a header cannot carry.
pub(crate) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|c| c.is_ascii_graphic() || *c == ' ') {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The paths a layer serves without a token: exact paths and whole-segment prefixes (`/docs`
/// opens `/docs` and `/docs/...`, not `/docsearch`). No decoding or normalizing: a near miss
/// stays protected.
///
/// An empty path or prefix (an unset environment variable, say) would open every path: it is
/// a configuration error, and a layer holding one answers every request with 500
/// (`Misconfigured`) rather than serving anything without a token.
#[derive(Debug, Clone, Default)]
pub(crate) struct PublicRoutes {
    paths: Vec<String>,
    prefixes: Vec<String>,
    /// An empty path or prefix was given.
    invalid: bool,
}

/// A [`PublicRoutes`] holding an empty path or prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EmptyPublicRoute;

impl EmptyPublicRoute {
    /// The rejection's error (logged, never sent).
    pub(crate) fn error(self) -> AuthError {
        AuthError::config("an empty public path or prefix is configured")
    }
}

impl PublicRoutes {
    /// Serves `path` (exactly) without a token.
    pub(crate) fn add_path(&mut self, path: String) {
        self.note_empty(&path);
        if !self.paths.contains(&path) {
            self.paths.push(path);
        }
    }

    /// Serves `prefix` and the paths under it without a token.
    pub(crate) fn add_prefix(&mut self, prefix: String) {
        self.note_empty(&prefix);
        self.prefixes.push(prefix);
    }

    fn note_empty(&mut self, value: &str) {
        if value.is_empty() {
            tracing::error!(
                "empty public path or prefix configured: every request will be answered with 500"
            );
            self.invalid = true;
        }
    }

    /// Whether `path` is served without a token; [`EmptyPublicRoute`] when the
    /// configuration holds an empty path or prefix.
    pub(crate) fn is_public(&self, path: &str) -> Result<bool, EmptyPublicRoute> {
        if self.invalid {
            return Err(EmptyPublicRoute);
        }
        Ok(self.paths.iter().any(|p| p == path)
            || self.prefixes.iter().any(|prefix| {
                path.strip_prefix(prefix.as_str()).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/')
                })
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(kind: RejectionKind, scope: Option<&str>) -> Challenge<'_> {
        Challenge {
            kind,
            realm: "api",
            scope,
            dpop: None,
            resource_metadata: None,
            step_up: None,
        }
    }

    #[test]
    fn public_prefixes_match_whole_segments() {
        let mut routes = PublicRoutes::default();
        routes.add_path("/health".to_owned());
        routes.add_prefix("/docs".to_owned());
        for (path, public) in [
            ("/health", true),
            ("/health/deep", false),
            ("/docs", true),
            ("/docs/intro", true),
            ("/docsearch", false),
            ("/api/me", false),
        ] {
            assert_eq!(routes.is_public(path), Ok(public), "{path}");
        }
    }

    #[test]
    fn an_empty_public_path_or_prefix_is_a_configuration_error() {
        for empty_prefix in [true, false] {
            let mut routes = PublicRoutes::default();
            routes.add_prefix("/docs".to_owned());
            if empty_prefix {
                routes.add_prefix(String::new());
            } else {
                routes.add_path(String::new());
            }
            for path in ["/api/me", "/docs", "/"] {
                assert_eq!(routes.is_public(path), Err(EmptyPublicRoute), "{path}");
            }
        }
    }

    #[test]
    fn quoted_escapes_quotes_and_drops_control_characters() {
        assert_eq!(quoted(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(quoted("x\r\ny"), "xy");
    }

    #[test]
    fn scope_goes_into_the_challenge_and_body_only_for_insufficient_scope() {
        let forbidden = challenge(RejectionKind::InsufficientScope, Some("admin"));
        assert_eq!(
            forbidden.www_authenticate().unwrap(),
            r#"Bearer realm="api", error="insufficient_scope", scope="admin""#
        );
        assert_eq!(
            forbidden.body_json(),
            json!({"error": "insufficient_scope", "scope": "admin"})
        );
        let invalid = challenge(RejectionKind::InvalidToken, Some("admin"));
        assert_eq!(invalid.body_json(), json!({"error": "invalid_token"}));
    }

    #[test]
    fn server_side_failures_have_no_challenge_and_only_503_has_retry_after() {
        for kind in [RejectionKind::KeysUnavailable, RejectionKind::Misconfigured] {
            assert!(challenge(kind, None).www_authenticate().is_none());
        }
        let thirty = Duration::from_secs(30);
        assert_eq!(
            retry_after_secs(RejectionKind::KeysUnavailable, thirty),
            Some(30)
        );
        assert_eq!(
            retry_after_secs(RejectionKind::KeysUnavailable, Duration::ZERO),
            Some(1)
        );
        assert_eq!(retry_after_secs(RejectionKind::Misconfigured, thirty), None);
    }
}
