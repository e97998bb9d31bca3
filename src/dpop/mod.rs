//! Sender-constrained tokens: DPoP proofs (RFC 9449) and certificate-bound tokens (RFC
//! 8705).
//!
//! A stolen bearer token works for anyone. A **DPoP-bound** token (`cnf.jkt`) works only
//! together with a fresh proof, a small JWT the client signs for every request with the
//! key the token is bound to; a **certificate-bound** token (`cnf["x5t#S256"]`) only over
//! a mutual-TLS connection with the client's certificate.
//!
//! * [`DpopChecker::check`] checks one proof against a [`DpopRequest`]: every check of RFC
//!   9449 §4.3 and the token binding of §7.1, `jti` replay through a [`ReplayStore`]
//!   (in-memory by default: [`InMemoryReplayStore`]), and optional server nonces
//!   ([`NonceIssuer`], §8/§9).
//! * [`Confirmation`] reads a token's `cnf` claim and checks every binding it names;
//!   [`check_certificate_binding`] is the RFC 8705 check alone.
//!
//! These are the building blocks; the access token itself is verified as usual with a
//! [`Verifier`](crate::Verifier) first, and its `cnf.jkt` passed to
//! [`DpopRequest::cnf_jkt`].
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use jwks_auth::dpop::{DpopChecker, DpopError, DpopRequest};
//! use jwks_auth::testing::{DpopProof, TestKey};
//! use jwks_auth::KeyFamily;
//!
//! let checker = DpopChecker::builder().build()?;
//! // The client's proof key; the authorization server bound the token to it.
//! let client_key = TestKey::fixture(KeyFamily::P256, 1).unwrap();
//! let (token, jkt) = ("eyJ...access-token", client_key.jkt());
//!
//! let url = "https://api.example.com/notes?page=2";
//! let proof = DpopProof::new(&client_key).method("GET").url(url).token(token).sign();
//! let request = DpopRequest::new("GET", url).access_token(token).cnf_jkt(&jkt);
//! let verified = checker.check(&[&proof], &request).await?;
//! assert_eq!(verified.jkt(), jkt);
//!
//! // The same proof again is a replay.
//! let err = checker.check(&[&proof], &request).await.unwrap_err();
//! assert!(matches!(err, DpopError::Replayed));
//! # Ok(()) }
//! # #[cfg(not(feature = "testing"))]
//! # fn main() {}
//! ```
//!
//! # Choices
//!
//! * **Algorithms**: asymmetric only; by default ES256, ES384, ES512, EdDSA (also under its
//!   RFC 9864 name `Ed25519`), RS256 and PS256 — what Auth0, Okta, Keycloak and panva's
//!   `dpop` sign with. RSA proof keys need at least 2048 bits.
//! * **`typ`** is a media type (RFC 7515 §4.1.9): `dpop+jwt` matches ASCII
//!   case-insensitively, with or without `application/`.
//! * **`htm`** is compared exactly (HTTP methods are case-sensitive); **`htu`** after RFC
//!   3986 normalisation (scheme and host case, default port, empty path, dot segments,
//!   percent-encoding case and unreserved characters), without query and fragment.
//! * **`iat`** within ±60 s of now by default ([`DpopCheckerBuilder::iat_window`]); there is
//!   no separate `exp` rule.
//! * **Replay** ids are SHA-256 of (`jkt`, `jti`), not `jti` alone: a replay always comes
//!   with the same key (the signature binds it), so nothing is lost, while one client
//!   cannot burn another's `jti`, and the store only ever holds fixed-size ASCII ids. RFC
//!   9449 §11.1 asks for ids to be remembered "in the context of the target URI"; a proof
//!   is bound to one `htu` anyway, so one store serves every URI.
//! * **Never trusted**: `jku`, `x5u`, `x5c` and `kid` in a proof header are ignored (the
//!   key is the embedded `jwk`, nothing is fetched); `crit` is refused; a `jwk` with any
//!   private or symmetric member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`) is refused.
//! * **Errors** never contain the proof, the token, or an expected value.

use std::sync::Arc;

use crate::clock::Clock;
use crate::error::AuthError;

mod htu;
mod nonce;
mod proof;
#[cfg(feature = "redis")]
mod redis;
mod replay;
mod thumbprint;

pub use crate::error::StoreError;
pub use nonce::NonceIssuer;
pub use proof::{
    DpopChecker, DpopCheckerBuilder, DpopRequest, VerifiedProof, DEFAULT_ALGORITHMS, MAX_JTI_BYTES,
    MAX_PROOF_BYTES,
};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisReplayStore;
pub use replay::{InMemoryReplayStore, ReplayStore, StoreFuture};
pub use thumbprint::{
    certificate_thumbprint, check_certificate_binding, jwk_thumbprint, Confirmation,
};

/// Whether a [`Verifier`](crate::Verifier) takes DPoP proofs
/// ([`VerifierBuilder::dpop`](crate::VerifierBuilder::dpop)).
///
/// In every mode, a token carrying a `cnf` claim is refused by
/// [`Verifier::verify`](crate::Verifier::verify): a bound token is never a bearer token (RFC
/// 9449 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DpopMode {
    /// No DPoP: [`Verifier::verify_dpop`](crate::Verifier::verify_dpop) refuses to work
    /// (a configuration error). The default.
    #[default]
    Off,
    /// Bearer tokens through `verify`, DPoP-bound tokens with their proof through
    /// `verify_dpop`.
    Allowed,
    /// Only DPoP-bound tokens with a proof: `verify` refuses every token.
    Required,
}

/// The DPoP settings a [`VerifierBuilder`](crate::VerifierBuilder) collects: its mode, and
/// the [`DpopCheckerBuilder`] its `dpop_*` setters forward to, so the checker's defaults and
/// checks are the only ones.
#[derive(Debug)]
pub(crate) struct DpopSettings {
    pub(crate) mode: DpopMode,
    pub(crate) checker: DpopCheckerBuilder,
}

impl Default for DpopSettings {
    fn default() -> Self {
        DpopSettings {
            mode: DpopMode::Off,
            checker: DpopChecker::builder(),
        }
    }
}

impl DpopSettings {
    /// The checker for the mode, on the verifier's clock; `None` when DPoP is off (its
    /// settings are then not checked).
    pub(crate) fn build(self, clock: Arc<dyn Clock>) -> Result<Option<DpopChecker>, DpopError> {
        if self.mode == DpopMode::Off {
            return Ok(None);
        }
        self.checker.clock_arc(clock).build().map(Some)
    }
}

/// Why a proof or a binding was refused.
///
/// `Display` is a short lowercase phrase naming the failed check; it never contains the
/// proof, the token or an expected value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// No `DPoP` header on a request that needs one.
    #[error("missing dpop proof")]
    MissingProof,
    /// The proof failed a check (RFC 9449 `invalid_dpop_proof`); the reason names it.
    #[error("invalid dpop proof: {0}")]
    InvalidProof(&'static str),
    /// The proof was accepted before (its `jti` under its key is remembered).
    #[error("dpop proof replayed")]
    Replayed,
    /// Nonces are on and the proof's `nonce` is missing, stale or unknown (RFC 9449
    /// `use_dpop_nonce`: answer with a fresh `DPoP-Nonce`).
    #[error("use dpop nonce: {0}")]
    UseNonce(&'static str),
    /// The replay store could not answer; the proof cannot be judged (a 503).
    #[error("dpop replay store unavailable")]
    StoreUnavailable(#[source] StoreError),
    /// The token is bound (`cnf`) to something the request does not prove: another proof
    /// key, no proof, another or no client certificate, an unsupported method.
    #[error("token binding mismatch: {0}")]
    BindingMismatch(&'static str),
    /// The request description itself is unusable (e.g. its URL is not absolute): a
    /// server-side bug or misconfiguration, not the client's fault.
    #[error("invalid dpop request: {0}")]
    InvalidRequest(&'static str),
    /// A configuration value was refused.
    #[error("invalid dpop configuration: {0}")]
    Config(&'static str),
}

impl From<DpopError> for AuthError {
    /// Maps a DPoP failure onto its kind; the detail is the check's static phrase, never the
    /// proof or a value.
    fn from(error: DpopError) -> Self {
        match error {
            DpopError::MissingProof => AuthError::invalid_dpop_proof("missing dpop proof"),
            DpopError::InvalidProof(reason) => AuthError::invalid_dpop_proof(reason),
            DpopError::Replayed => AuthError::dpop_replayed(),
            DpopError::UseNonce(reason) => AuthError::use_dpop_nonce(reason),
            DpopError::StoreUnavailable(source) => AuthError::replay_store_unavailable(source),
            DpopError::BindingMismatch(reason) => AuthError::binding_mismatch(reason),
            DpopError::InvalidRequest(reason) | DpopError::Config(reason) => {
                AuthError::config_phrase(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_short_phrases_naming_the_check() {
        assert_eq!(DpopError::MissingProof.to_string(), "missing dpop proof");
        assert_eq!(
            DpopError::InvalidProof("htm does not match the request method").to_string(),
            "invalid dpop proof: htm does not match the request method"
        );
        assert_eq!(DpopError::Replayed.to_string(), "dpop proof replayed");
        assert_eq!(
            DpopError::UseNonce("dpop nonce required").to_string(),
            "use dpop nonce: dpop nonce required"
        );
        assert_eq!(
            DpopError::StoreUnavailable(StoreError::new("connection refused")).to_string(),
            "dpop replay store unavailable"
        );
        assert_eq!(
            DpopError::BindingMismatch("proof key does not match cnf jkt").to_string(),
            "token binding mismatch: proof key does not match cnf jkt"
        );
    }

    #[test]
    fn store_unavailable_keeps_the_store_error_as_source() {
        let error = DpopError::StoreUnavailable(StoreError::new("connection refused"));
        let source = std::error::Error::source(&error).expect("a source");
        assert_eq!(source.to_string(), "connection refused");
    }
}
