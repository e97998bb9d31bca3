//! Revocation before `exp`: a stage run after the claim rules, on every verify path
//! ([`Verifier::verify`](crate::Verifier::verify), `verify_dpop`, `verify_with_certificate`,
//! verified-cache hits included).
//!
//! The built-in rules, all answered by a [`RevocationStore`]:
//!
//! * **`jti` denylist** ([`Revocations::revoke_token`]): the token with that `jti` is refused;
//!   the entry is forgotten once the token has expired (its `exp` plus the verifier's
//!   leeway, at least [`Revocations::MIN_RETENTION_MARGIN`]).
//! * **"revoked before" instants** per session (`sid`, [`Revocations::revoke_session`]), per
//!   user (the preset's user-id claim, as [`AuthUser::id`](crate::AuthUser::id) reads it:
//!   `sub` for most, `oid` for Entra ID; [`Revocations::revoke_user`]) and issuer-wide
//!   ([`Revocations::revoke_all`]):
//!   a token is refused when the time it was issued, its `auth_time` when present, else its
//!   `iat`, is **at or before** the instant. The boundary is inclusive because NumericDates
//!   have second resolution: a token issued in the same second as a logout may have been
//!   issued before it, so it is refused (a fresh login in that second has to retry a second
//!   later). An instant is kept for the store's maximum token lifetime after it, plus
//!   [`Revocations::MIN_RETENTION_MARGIN`] for the leeway (a verifier with revocation on
//!   refuses a larger leeway).
//!
//! A token without the claim a rule needs is not matched by that rule (a token without `sid`
//! is not refused by session revocations, one without `iat` and `auth_time` by no instant).
//! A revoked token is [`ErrorKind::Revoked`](crate::ErrorKind::Revoked) (401
//! `invalid_token`).
//!
//! **Failure policy**: when the store cannot answer (a Redis store that has not synced within
//! its bound), the verify fails with
//! [`ErrorKind::RevocationStoreUnavailable`](crate::ErrorKind::RevocationStoreUnavailable)
//! (503) by default ([`FailurePolicy::Closed`]); with [`FailurePolicy::Open`] the token is
//! accepted and a `WARN` event (target `jwks_auth::revocation`, without token content) is
//! emitted for each such verify.
//!
//! Stores: [`InMemoryRevocationStore`] (one process, bounded) and, with the `redis` feature,
//! `RedisRevocationStore` (a fleet; zero round trips per verify, see its docs).
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), jwks_auth::AuthError> {
//! use jwks_auth::revocation::InMemoryRevocationStore;
//! use jwks_auth::testing::MockProvider;
//! use jwks_auth::{ErrorKind, Verifier};
//!
//! let mock = MockProvider::clerk().await;
//! let verifier = Verifier::builder(mock.provider())
//!     .revocation(InMemoryRevocationStore::default())
//!     .build()?;
//! let token = mock.token().sub("user_1").sid("sess_9").sign();
//! verifier.verify(&token).await?;
//!
//! // Logout: every token of the session issued until now is refused.
//! let revocations = verifier.revocations().expect("revocation is on");
//! revocations.revoke_session("sess_9", revocations.now()).await?;
//! let err = verifier.verify(&token).await.unwrap_err();
//! assert_eq!((err.kind(), err.status()), (ErrorKind::Revoked, 401));
//! # Ok(()) }
//! # #[cfg(not(feature = "testing"))]
//! # fn main() {}
//! ```

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::claims::{AuthUser, Claims};
use crate::clock::Clock;
use crate::error::{AuthError, Result};

mod memory;
#[cfg(feature = "redis")]
mod redis;

/// Moved to [`dpop`](crate::dpop); kept here so existing imports compile.
#[cfg(feature = "redis")]
#[doc(hidden)]
pub use crate::dpop::RedisReplayStore;
pub use crate::error::StoreError;
pub use memory::InMemoryRevocationStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisRevocationBuilder, RedisRevocationStore};

/// The future a [`RevocationStore`] returns.
pub type RevocationFuture<'a, T> =
    Pin<Box<dyn Future<Output = std::result::Result<T, StoreError>> + Send + 'a>>;

/// The claims of a verified token that the revocation rules read. A claim that is absent or
/// of the wrong type is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenFacts<'a> {
    /// `jti`.
    pub jti: Option<&'a str>,
    /// `sid`.
    pub sid: Option<&'a str>,
    /// The user id: the preset's user-id claim, as [`AuthUser::id`](crate::AuthUser::id)
    /// reads it (`sub` for most presets, `oid` for Entra ID).
    pub sub: Option<&'a str>,
    /// When the token was issued for the rules' purpose: `auth_time` when present, else
    /// `iat` (Unix seconds).
    pub issued_at: Option<i64>,
    /// The verifier's clock (Unix seconds).
    pub now: i64,
}

impl<'a> TokenFacts<'a> {
    /// Facts for a store test or a custom rule.
    pub fn new(
        jti: Option<&'a str>,
        sid: Option<&'a str>,
        sub: Option<&'a str>,
        issued_at: Option<i64>,
        now: i64,
    ) -> Self {
        TokenFacts {
            jti,
            sid,
            sub,
            issued_at,
            now,
        }
    }
}

/// One revocation, as a store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// Refuse the token with this `jti`; forget the entry after `until` (Unix seconds).
    Token {
        /// The token's `jti`.
        jti: String,
        /// When the entry may be forgotten: the token's `exp` plus a margin for leeway.
        until: i64,
    },
    /// Refuse tokens of session `sid` issued at or before `at` (Unix seconds).
    Session {
        /// The session id (`sid` claim).
        sid: String,
        /// The instant.
        at: i64,
    },
    /// Refuse tokens of user `sub` issued at or before `at` (Unix seconds).
    User {
        /// The user id ([`AuthUser::id`](crate::AuthUser::id): the preset's user-id claim).
        sub: String,
        /// The instant.
        at: i64,
    },
    /// Refuse every token issued at or before `at` (Unix seconds).
    All {
        /// The instant.
        at: i64,
    },
}

/// Where revocations are kept and looked up; share one store (or one Redis) across a fleet.
///
/// Object safe, with boxed futures like [`ReplayStore`](crate::dpop::ReplayStore).
/// [`is_revoked`](Self::is_revoked) is called once per verify that passed every other check:
/// keep it cheap (the built-in stores answer from memory without awaiting).
///
/// ```
/// use jwks_auth::revocation::{Revocation, RevocationFuture, RevocationStore, TokenFacts};
///
/// /// Refuses every token of one banned user, whatever `revoke` is told.
/// #[derive(Debug)]
/// struct Banned(&'static str);
///
/// impl RevocationStore for Banned {
///     fn is_revoked<'a>(&'a self, token: &'a TokenFacts<'a>) -> RevocationFuture<'a, bool> {
///         let banned = token.sub == Some(self.0);
///         Box::pin(async move { Ok(banned) })
///     }
///     fn revoke<'a>(&'a self, _revocation: &'a Revocation) -> RevocationFuture<'a, ()> {
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// Whether a rule matches `token`. An error means the store could not answer; the
    /// verifier then applies its [`FailurePolicy`].
    fn is_revoked<'a>(&'a self, token: &'a TokenFacts<'a>) -> RevocationFuture<'a, bool>;

    /// Records `revocation`. For an instant, a later instant already recorded for the same
    /// scope is kept (revocations only ever widen).
    fn revoke<'a>(&'a self, revocation: &'a Revocation) -> RevocationFuture<'a, ()>;
}

/// What a verify does when the revocation store cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Refuse the token with
    /// [`RevocationStoreUnavailable`](crate::ErrorKind::RevocationStoreUnavailable) (503).
    /// The default: a revoked token is never accepted because the store is down.
    #[default]
    Closed,
    /// Accept the token (it passed every other check) and emit a `WARN` event each time.
    /// Availability over revocation: a revoked token is accepted while the store is down.
    Open,
}

/// A cloneable handle to revoke tokens from the service itself (a logout handler, an admin
/// endpoint): from [`Verifier::revocations`](crate::Verifier::revocations), or
/// [`Revocations::new`] over a store shared with the verifiers.
#[derive(Clone, Debug)]
pub struct Revocations {
    store: Arc<dyn RevocationStore>,
    clock: Arc<dyn Clock>,
    /// Added to a token's `exp` for how long its `jti` entry is kept (≥ the leeway).
    margin: i64,
}

/// Longest id accepted by the `revoke_*` methods (bytes).
const MAX_ID_BYTES: usize = 1024;

impl Revocations {
    /// The least time a `jti` entry outlives its token's `exp` (5 minutes), so a token still
    /// accepted within the leeway stays refused.
    pub const MIN_RETENTION_MARGIN: Duration = Duration::from_secs(300);

    /// A handle over `store`, on the system clock.
    pub fn new(store: impl RevocationStore) -> Self {
        Self::from_parts(
            Arc::new(store),
            Arc::new(crate::clock::SystemClock),
            Duration::ZERO,
        )
    }

    pub(crate) fn from_parts(
        store: Arc<dyn RevocationStore>,
        clock: Arc<dyn Clock>,
        leeway: Duration,
    ) -> Self {
        let margin = leeway.max(Self::MIN_RETENTION_MARGIN).as_secs();
        Revocations {
            store,
            clock,
            margin: i64::try_from(margin).unwrap_or(i64::MAX),
        }
    }

    /// The handle's clock, in Unix seconds (the verifier's clock for
    /// [`Verifier::revocations`](crate::Verifier::revocations)): the `at` of "revoke
    /// everything issued until now".
    pub fn now(&self) -> i64 {
        i64::try_from(self.clock.now().as_secs()).unwrap_or(i64::MAX)
    }

    /// Refuses the token whose `jti` is `jti` until it expires (`exp`, Unix seconds).
    ///
    /// # Errors
    /// [`Config`](crate::ErrorKind::Config) for an empty or over-long `jti`;
    /// [`RevocationStoreUnavailable`](crate::ErrorKind::RevocationStoreUnavailable) when the
    /// store cannot record it.
    pub async fn revoke_token(&self, jti: &str, exp: i64) -> Result<()> {
        check_id(jti)?;
        let until = exp.saturating_add(self.margin);
        self.record(Revocation::Token {
            jti: jti.to_owned(),
            until,
        })
        .await
    }

    /// Refuses every token of session `sid` issued at or before `at` (Unix seconds; use
    /// [`now`](Self::now) at logout).
    ///
    /// # Errors
    /// As [`revoke_token`](Self::revoke_token).
    pub async fn revoke_session(&self, sid: &str, at: i64) -> Result<()> {
        check_id(sid)?;
        self.record(Revocation::Session {
            sid: sid.to_owned(),
            at,
        })
        .await
    }

    /// Refuses every token of user `sub` issued at or before `at`. `sub` is the user's id as
    /// [`AuthUser::id`](crate::AuthUser::id) reads it: the preset's user-id claim (`sub` for
    /// most presets, `oid` for Entra ID), so pass `user.id`.
    ///
    /// # Errors
    /// As [`revoke_token`](Self::revoke_token).
    pub async fn revoke_user(&self, sub: &str, at: i64) -> Result<()> {
        check_id(sub)?;
        self.record(Revocation::User {
            sub: sub.to_owned(),
            at,
        })
        .await
    }

    /// Refuses every token issued at or before `at` ("sign out everywhere", e.g. after a
    /// key compromise).
    ///
    /// # Errors
    /// [`RevocationStoreUnavailable`](crate::ErrorKind::RevocationStoreUnavailable) when the
    /// store cannot record it.
    pub async fn revoke_all(&self, at: i64) -> Result<()> {
        self.record(Revocation::All { at }).await
    }

    async fn record(&self, revocation: Revocation) -> Result<()> {
        self.store
            .revoke(&revocation)
            .await
            .map_err(AuthError::revocation_store_unavailable)
    }
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(AuthError::config("revocation id is empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(AuthError::config("revocation id is too long"));
    }
    Ok(())
}

/// The revocation stage of a verifier: its store and failure policy.
#[derive(Debug)]
pub(crate) struct RevocationStage {
    pub(crate) store: Arc<dyn RevocationStore>,
    pub(crate) policy: FailurePolicy,
}

impl RevocationStage {
    /// Refuses `user` when a rule matches; applies the failure policy when the store
    /// cannot answer.
    pub(crate) async fn check(&self, user: &AuthUser, now: i64) -> Result<()> {
        let owned = OwnedFacts::read(&user.claims);
        // A user revocation names the id the preset reads (`oid` for Entra ID), not `sub`.
        let facts = owned.facts(&user.id, now);
        match self.store.is_revoked(&facts).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(AuthError::revoked()),
            Err(error) => match self.policy {
                FailurePolicy::Closed => Err(AuthError::revocation_store_unavailable(error)),
                FailurePolicy::Open => {
                    tracing::warn!(
                        target: "jwks_auth::revocation",
                        error = %error,
                        "revocation store unavailable: token accepted (fail-open)"
                    );
                    Ok(())
                }
            },
        }
    }
}

/// The claims the rules read, borrowed from the payload text where it has no escapes.
struct OwnedFacts<'c> {
    jti: Option<Cow<'c, str>>,
    sid: Option<Cow<'c, str>>,
    issued_at: Option<i64>,
}

#[derive(Deserialize)]
struct RawFacts<'c> {
    #[serde(borrow, default)]
    jti: Option<&'c RawValue>,
    #[serde(borrow, default)]
    sid: Option<&'c RawValue>,
    #[serde(borrow, default)]
    iat: Option<&'c RawValue>,
    #[serde(borrow, default)]
    auth_time: Option<&'c RawValue>,
}

impl<'c> OwnedFacts<'c> {
    fn read(claims: &'c Claims) -> Self {
        if let Some(raw) = claims
            .json_text()
            .and_then(|text| serde_json::from_str::<RawFacts<'c>>(text).ok())
        {
            let string = |raw: Option<&'c RawValue>| {
                let raw = raw?.get();
                match serde_json::from_str::<&'c str>(raw) {
                    Ok(text) => Some(Cow::Borrowed(text)),
                    Err(_) => serde_json::from_str::<String>(raw).ok().map(Cow::Owned),
                }
            };
            let date = |raw: Option<&'c RawValue>| {
                serde_json::from_str::<serde_json::Value>(raw?.get())
                    .ok()
                    .as_ref()
                    .and_then(crate::claims::numeric_date)
            };
            return OwnedFacts {
                jti: string(raw.jti),
                sid: string(raw.sid),
                issued_at: date(raw.auth_time).or_else(|| date(raw.iat)),
            };
        }
        // Claims built from a map (or text that is not an object): read the map.
        let string = |name| claims.get_str(name).map(Cow::Borrowed);
        let date = |name| {
            claims
                .as_map()
                .get(name)
                .and_then(crate::claims::numeric_date)
        };
        OwnedFacts {
            jti: string("jti"),
            sid: string("sid"),
            issued_at: date("auth_time").or_else(|| date("iat")),
        }
    }

    fn facts<'s>(&'s self, user_id: &'s str, now: i64) -> TokenFacts<'s> {
        TokenFacts {
            jti: self.jti.as_deref(),
            sid: self.sid.as_deref(),
            sub: Some(user_id),
            issued_at: self.issued_at,
            now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts_of(json: &str) -> (Option<String>, Option<String>, Option<i64>) {
        let claims = Claims::from_json(json.to_owned());
        let owned = OwnedFacts::read(&claims);
        let facts = owned.facts("user", 0);
        (
            facts.jti.map(str::to_owned),
            facts.sid.map(str::to_owned),
            facts.issued_at,
        )
    }

    #[test]
    fn facts_prefer_auth_time_over_iat_and_skip_wrong_types() {
        let (jti, sid, issued) =
            facts_of(r#"{"jti":"a\u0062","sid":7,"sub":"u","iat":20,"auth_time":10.5}"#);
        assert_eq!(jti.as_deref(), Some("ab"));
        assert_eq!(sid, None);
        assert_eq!(issued, Some(10));
        assert_eq!(facts_of(r#"{"iat":20}"#).2, Some(20));
        assert_eq!(facts_of(r#"{"iat":"20"}"#).2, None);
    }
}
