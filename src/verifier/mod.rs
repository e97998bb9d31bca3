//! [`Verifier`] and its builder. A token goes through the stages in order:
//!
//! ```text
//! jws (split, decode, header) -> keys (select + signature) -> rules (iss, aud, azp, time, ...) -> cache -> AuthUser
//! ```
//!
//! [`crate::jws`], [`crate::keys`], [`crate::rules`] and [`crate::verified_cache`] each hold
//! one stage; [`VerifierBuilder`] compiles them from a [`Provider`](crate::Provider), and
//! [`Verifier::verify`] runs them.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::algorithm::Algorithm;
use crate::claims::{AuthUser, Claims};
use crate::clock::Clock;
use crate::dpop::{DpopChecker, DpopMode, DpopRequest};
use crate::error::{AuthError, Result};
use crate::jws::{self, Buf};
use crate::keys::jwk::KeyId;
use crate::keys::{CachePolicy, KeySet, KeyStats, KeyStore};
use crate::revocation::{RevocationStage, Revocations};
use crate::rules::{HeaderClass, Rules, Validity};
use crate::token_source::TokenSource;
use crate::verified_cache::{Digest, VerifiedCache};

mod builder;

pub use builder::VerifierBuilder;

/// Verifies tokens for one provider. Cheap to clone: clones share keys and caches, so build
/// one per process and hand clones to every request handler.
///
/// ```no_run
/// use jwks_auth::{Provider, Verifier};
/// # async fn run(token: &str) -> Result<(), jwks_auth::AuthError> {
/// let verifier = Verifier::builder(Provider::better_auth("https://auth.example.com")?).build()?;
/// let user = verifier.verify(token).await?;
/// println!("hello {}", user.id);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Verifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
// Its own cache lines, apart from the `Arc`'s counts: every request clones the `Arc` on
// some core while other cores read these fields.
#[repr(align(128))]
struct Inner {
    provider_name: String,
    algorithms: Vec<Algorithm>,
    rules: Rules,
    token_sources: Vec<TokenSource>,
    clock: Arc<dyn Clock>,
    store: KeyStore,
    verified: Option<VerifiedCache>,
    dpop_mode: DpopMode,
    dpop: Option<DpopChecker>,
    revocation: Option<RevocationStage>,
    /// Opaque tokens, through the authorization server's introspection endpoint.
    introspector: Option<crate::introspection::Introspector>,
}

impl Verifier {
    /// Verifies `token` and returns the user it names.
    ///
    /// Checks, in order: size and shape, header (`alg` allowed and fitting the key, no `crit`,
    /// `typ` and a header-named token class accepted), signature, `exp` (required), `nbf`,
    /// `iat`, `iss`, a claim-named token class, `aud`, `azp`, the RFC 9068 claims when
    /// [`TokenType::AccessToken`](crate::TokenType::AccessToken) is required, user-id claim.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), jwks_auth::AuthError> {
    /// use jwks_auth::testing::MockProvider;
    /// use jwks_auth::{ErrorKind, Verifier};
    ///
    /// let mock = MockProvider::auth0().await;
    /// let verifier = Verifier::builder(mock.provider()).build()?;
    ///
    /// let token = mock.token().sub("auth0|42").scope("read:notes").sign();
    /// let user = verifier.verify(&token).await?;
    /// assert_eq!(user.id, "auth0|42");
    /// assert!(user.has_scope("read:notes"));
    ///
    /// let expired = mock.token().expired().sign();
    /// let err = verifier.verify(&expired).await.unwrap_err();
    /// assert_eq!((err.kind(), err.status()), (ErrorKind::Expired, 401));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    /// An [`AuthError`] whose [`kind`](AuthError::kind) names the failed check;
    /// [`ErrorKind::KeysUnavailable`](crate::ErrorKind::KeysUnavailable) when the provider's
    /// keys cannot be fetched and none are cached.
    pub async fn verify(&self, token: &str) -> Result<AuthUser> {
        match self.cached_answer(token.as_bytes()) {
            Ok(user) => Ok(user),
            Err(digest) => self.verify_after_lookup(token, digest).await,
        }
    }

    /// [`verify`](Self::verify) past its [`cached_answer`](Self::cached_answer), which gave
    /// the token's `digest` if it looked.
    pub(crate) async fn verify_after_lookup(
        &self,
        token: &str,
        digest: Option<Digest>,
    ) -> Result<AuthUser> {
        use tracing::Instrument;
        let span = self.verify_span();
        // A disabled span (no subscriber wants it) still costs an enter, an exit and a
        // record: skipped.
        let result = if span.is_disabled() {
            self.verify_bearer(token, digest).await
        } else {
            self.verify_bearer(token, digest)
                .instrument(span.clone())
                .await
        };
        let kind = result.as_ref().err().map(AuthError::kind);
        if !span.is_disabled() {
            span.record("outcome", kind.map_or("ok", |kind| kind.as_str()));
        }
        self.inner.store.metrics().verification(kind);
        result
    }

    /// The span of one verification. Fields are filled as they become known; the token
    /// itself is never recorded.
    fn verify_span(&self) -> tracing::Span {
        tracing::debug_span!(
            target: "jwks_auth::verify",
            "verify",
            provider = %self.inner.provider_name,
            kid = tracing::field::Empty,
            outcome = tracing::field::Empty,
        )
    }

    /// The user of a repeated, unbound bearer token from the verified-token cache, when no
    /// revocation stage needs asking and no span recording. Otherwise the token's digest, if
    /// the cache was looked at, for [`verify_after_lookup`](Self::verify_after_lookup) to
    /// reuse: it gives the same answer (a failure included) the long way. A framework
    /// integration calls it before any async work: a hit then costs no future and no clone
    /// of shared state.
    pub(crate) fn cached_answer(
        &self,
        token: &[u8],
    ) -> std::result::Result<AuthUser, Option<Digest>> {
        let inner = &*self.inner;
        let Some(cache) = inner.verified.as_ref() else {
            return Err(None);
        };
        if inner.revocation.is_some()
            || inner.dpop_mode == DpopMode::Required
            // (Any subscriber that could want the span settles the quick global check.)
            || (tracing::level_enabled!(tracing::Level::DEBUG) && !self.verify_span().is_disabled())
        {
            return Err(None);
        }
        let now = i64::try_from(inner.clock.now().as_secs()).unwrap_or(i64::MAX);
        let digest = VerifiedCache::digest(token);
        let leeway = inner.rules.leeway();
        let Some(hit) =
            cache.get_unbound(token, &digest, now, leeway, |id| inner.store.holds_key(id))
        else {
            return Err(Some(digest));
        };
        let metrics = inner.store.metrics();
        metrics.verified_cache(true);
        metrics.verification(None);
        Ok(hit)
    }

    /// [`verify`](Self::verify) without the span: a token with a `cnf` is never a bearer token.
    async fn verify_bearer(&self, token: &str, digest: Option<Digest>) -> Result<AuthUser> {
        if self.inner.dpop_mode == DpopMode::Required {
            return Err(crate::dpop::DpopError::MissingProof.into());
        }
        let user = self.verify_token(token, digest).await?;
        match user.claims.confirmation()? {
            None => Ok(user),
            // Bound to a key or certificate: never a bearer token (RFC 9449 §7.2).
            Some(cnf) => Err(cnf.check(None, None).map_or_else(AuthError::from, |()| {
                AuthError::from(crate::dpop::DpopError::BindingMismatch(
                    "token is sender-constrained",
                ))
            })),
        }
    }
    /// Verifies a DPoP-bound `token` (sent as `Authorization: DPoP <token>`) with its proof:
    /// `proof_headers` are every `DPoP` header value of the request, `request` the method and
    /// external URL (and the client certificate when the token is also certificate-bound).
    ///
    /// The token is verified as by [`verify`](Self::verify), except that its `cnf` claim is
    /// required and checked: `cnf.jkt` must be the thumbprint of the proof key, a
    /// `cnf["x5t#S256"]` must match the request's client certificate. The proof must pass
    /// every check of RFC 9449 §4.3 (see [`DpopChecker::check`]), `ath` included.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), jwks_auth::AuthError> {
    /// use jwks_auth::dpop::{DpopMode, DpopRequest};
    /// use jwks_auth::testing::{DpopProof, MockProvider, TestKey};
    /// use jwks_auth::{ErrorKind, KeyFamily, Verifier};
    ///
    /// let mock = MockProvider::auth0().await;
    /// let verifier = Verifier::builder(mock.provider()).dpop(DpopMode::Allowed).build()?;
    /// let client_key = TestKey::fixture(KeyFamily::P256, 1).unwrap();
    /// let token = mock.token().dpop_bound(&client_key).sign();
    ///
    /// let url = "https://api.example.com/notes";
    /// let proof = DpopProof::new(&client_key).method("GET").url(url).token(&token).sign();
    /// let request = DpopRequest::new("GET", url);
    /// verifier.verify_dpop(&token, &[&proof], &request).await?;
    ///
    /// // The same proof again is a replay; the bound token alone is no bearer token.
    /// let err = verifier.verify_dpop(&token, &[&proof], &request).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::DpopReplayed);
    /// let err = verifier.verify(&token).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::BindingMismatch);
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    /// As [`verify`](Self::verify); [`ErrorKind::Config`](crate::ErrorKind::Config) when
    /// DPoP is off or the request URL is not absolute;
    /// [`InvalidDpopProof`](crate::ErrorKind::InvalidDpopProof),
    /// [`DpopReplayed`](crate::ErrorKind::DpopReplayed),
    /// [`UseDpopNonce`](crate::ErrorKind::UseDpopNonce),
    /// [`ReplayStoreUnavailable`](crate::ErrorKind::ReplayStoreUnavailable) or
    /// [`BindingMismatch`](crate::ErrorKind::BindingMismatch) (token not DPoP-bound, other
    /// key, certificate missing or different).
    pub async fn verify_dpop(
        &self,
        token: &str,
        proof_headers: &[&str],
        request: &DpopRequest<'_>,
    ) -> Result<AuthUser> {
        let checker = self
            .inner
            .dpop
            .as_ref()
            .ok_or_else(|| AuthError::config("dpop is off for this verifier"))?;
        let user = self.verify_token(token, None).await?;
        let cnf = user
            .claims
            .confirmation()?
            .ok_or(crate::dpop::DpopError::BindingMismatch(
                "access token is not dpop-bound",
            ))?;
        let jkt = cnf.jkt().ok_or(crate::dpop::DpopError::BindingMismatch(
            "access token is not dpop-bound",
        ))?;
        // Every other binding (a certificate) before the proof, so a refused request does
        // not use up the proof's jti.
        cnf.check(Some(jkt), request.certificate())?;
        let request = request.access_token(token).cnf_jkt(jkt);
        checker.check(proof_headers, &request).await?;
        Ok(user)
    }

    /// Verifies a certificate-bound `token` (RFC 8705 §3) presented over mutual TLS with the
    /// client certificate `cert_der` (DER): `cnf["x5t#S256"]` must be its SHA-256
    /// thumbprint. A token that is also DPoP-bound is refused here (use
    /// [`verify_dpop`](Self::verify_dpop) with
    /// [`DpopRequest::client_certificate`]); an unbound token is accepted as by
    /// [`verify`](Self::verify).
    ///
    /// # Errors
    /// As [`verify`](Self::verify), and
    /// [`BindingMismatch`](crate::ErrorKind::BindingMismatch) when the certificate does not
    /// match.
    pub async fn verify_with_certificate(&self, token: &str, cert_der: &[u8]) -> Result<AuthUser> {
        if self.inner.dpop_mode == DpopMode::Required {
            return Err(crate::dpop::DpopError::MissingProof.into());
        }
        let user = self.verify_token(token, None).await?;
        if let Some(cnf) = user.claims.confirmation()? {
            cnf.check(None, Some(cert_der))?;
        }
        Ok(user)
    }

    /// The DPoP mode ([`VerifierBuilder::dpop`]).
    pub fn dpop_mode(&self) -> DpopMode {
        self.inner.dpop_mode
    }

    /// The DPoP proof checker, unless DPoP is off (its algorithms and current nonce feed the
    /// `WWW-Authenticate` and `DPoP-Nonce` headers).
    pub fn dpop_checker(&self) -> Option<&DpopChecker> {
        self.inner.dpop.as_ref()
    }

    /// A handle to revoke tokens ([`VerifierBuilder::revocation`]), sharing this verifier's
    /// store and clock; `None` when revocation is off.
    pub fn revocations(&self) -> Option<Revocations> {
        let stage = self.inner.revocation.as_ref()?;
        let leeway = Duration::from_secs(u64::try_from(self.inner.rules.leeway()).unwrap_or(0));
        Some(Revocations::from_parts(
            stage.store.clone(),
            self.inner.clock.clone(),
            leeway,
        ))
    }

    /// The token checks alone, whatever its `cnf`, then the revocation stage. `digest`: the
    /// token's cache key, when already computed.
    async fn verify_token(&self, token: &str, digest: Option<Digest>) -> Result<AuthUser> {
        let inner = &*self.inner;
        // One clock read serves the key cache, the claim checks and revocation.
        let clock_now = inner.clock.now();
        let now = i64::try_from(clock_now.as_secs()).unwrap_or(i64::MAX);
        let user = match &inner.introspector {
            // Boxed: the introspection future is large and rarely the path taken.
            Some(introspector) if introspector.handles(token) => {
                let metrics = inner.store.metrics();
                Box::pin(introspector.verify(token, &inner.rules, now, metrics)).await?
            }
            _ => self.check_token(token, clock_now, now, digest).await?,
        };
        if let Some(stage) = &inner.revocation {
            stage.check(&user, now).await?;
        }
        Ok(user)
    }

    /// Signature and claim rules (through the verified-token cache when on).
    async fn check_token(
        &self,
        token: &str,
        clock_now: Duration,
        now: i64,
        digest: Option<Digest>,
    ) -> Result<AuthUser> {
        let inner = &*self.inner;
        // A token verified before, with its key still published, skips the signature.
        let digest = match &inner.verified {
            Some(cache) => {
                let digest = digest.unwrap_or_else(|| VerifiedCache::digest(token.as_bytes()));
                let leeway = inner.rules.leeway();
                let hit = cache.get(token.as_bytes(), &digest, now, leeway, |id| {
                    inner.store.holds_key(id)
                })?;
                inner.store.metrics().verified_cache(hit.is_some());
                if let Some(user) = hit {
                    return Ok(user);
                }
                Some(digest)
            }
            None => None,
        };
        let signed = self.verify_signature(token, clock_now).await?;
        let (user, validity) = self.check_claims(&signed, now)?;
        if let (Some(cache), Some(digest), Some(key)) = (&inner.verified, digest, signed.key) {
            cache.insert(token.as_bytes(), digest, &user, validity, key);
        }
        Ok(user)
    }

    /// Verifies `token` like [`verify`](Self::verify), then deserializes all its claims into
    /// your own type.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), jwks_auth::AuthError> {
    /// use jwks_auth::testing::MockProvider;
    /// use jwks_auth::Verifier;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct ClerkClaims {
    ///     sub: String,
    ///     sid: String,
    /// }
    ///
    /// let mock = MockProvider::clerk().await;
    /// let verifier = Verifier::builder(mock.provider()).build()?;
    /// let token = mock.token().sub("user_1").sid("sess_9").sign();
    /// let claims: ClerkClaims = verifier.verify_as(&token).await?;
    /// assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("user_1", "sess_9"));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    /// As [`verify`](Self::verify), plus
    /// [`ErrorKind::InvalidClaim`](crate::ErrorKind::InvalidClaim) if the claims do not fit `T`.
    pub async fn verify_as<T: DeserializeOwned>(&self, token: &str) -> Result<T> {
        let user = self.verify(token).await?;
        user.claims
            .deserialize_into()
            .map_err(|_| AuthError::invalid_claim("claims do not match the requested type"))
    }

    /// Fetches the provider's keys now, so the first request does not wait.
    ///
    /// # Errors
    /// [`ErrorKind::KeysUnavailable`](crate::ErrorKind::KeysUnavailable) if the fetch fails.
    pub async fn warm_up(&self) -> Result<()> {
        self.inner.store.force_refresh().await
    }

    /// Counters of the key fetcher.
    pub fn key_stats(&self) -> KeyStats {
        self.inner.store.stats()
    }

    /// The cache policy in force.
    pub fn cache_policy(&self) -> &CachePolicy {
        self.inner.store.policy()
    }

    /// The issuer this verifier requires, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.rules.issuer()
    }

    /// The provider preset's name.
    pub fn provider_name(&self) -> &str {
        &self.inner.provider_name
    }

    /// Where tokens are read from in a request: the preset's sources, or the builder's, with
    /// no cookie unless authorized parties are set
    /// ([`VerifierBuilder::token_sources`](crate::VerifierBuilder::token_sources)).
    pub fn token_sources(&self) -> &[TokenSource] {
        &self.inner.token_sources
    }

    fn spawn_refresh_ahead(&self) {
        let verifier = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { verifier.inner.store.refresh_ahead().await });
            }
            // No runtime to run it on: the refresh happens on expiry instead.
            Err(_) => drop(verifier),
        }
    }

    /// Stages jws and keys: shape, header, signature.
    pub(crate) async fn check_signature<'t>(&self, token: &'t str) -> Result<Signed<'t>> {
        self.verify_signature(token, self.inner.clock.now()).await
    }

    async fn verify_signature<'t>(&self, token: &'t str, now: Duration) -> Result<Signed<'t>> {
        match self.signature_with_current_keys(token, now)? {
            Some(signed) => Ok(signed),
            // Boxed: the fetch future is kilobytes, and every verify future would otherwise
            // carry (and move) it on the hot path too.
            None => Box::pin(self.signature_with_resolved_keys(token)).await,
        }
    }

    /// Hot path: the signature checked under the current key set's read lock (no await, no
    /// allocation, no reference-count traffic between cores). `None` when that set cannot
    /// answer (no keys yet, stale, unknown `kid`): the keys must be resolved first.
    fn signature_with_current_keys<'t>(
        &self,
        token: &'t str,
        now: Duration,
    ) -> Result<Option<Signed<'t>>> {
        let mut signature_buf = Buf::new();
        let token = self.parse_signed(token, &mut signature_buf)?;
        let store = &self.inner.store;
        let checked = store.with_fresh_set(now, |set| {
            if !set.knows(token.kid(), token.alg) {
                return None;
            }
            if store.claim_refresh_ahead(set, now) {
                self.spawn_refresh_ahead();
            }
            Some(self.verify_with(set, &token))
        });
        checked.transpose()
    }

    /// The signature checked after fetching or refreshing the keys as the policy allows.
    async fn signature_with_resolved_keys<'t>(&self, token: &'t str) -> Result<Signed<'t>> {
        let mut signature_buf = Buf::new();
        let token = self.parse_signed(token, &mut signature_buf)?;
        let set = self.inner.store.resolve(token.kid(), token.alg).await?;
        self.verify_with(&set, &token)
    }

    /// Shape and header checks; the signature decoded into `signature_buf`.
    fn parse_signed<'t, 'b>(
        &self,
        token: &'t str,
        signature_buf: &'b mut Buf,
    ) -> Result<ParsedToken<'t, 'b>> {
        let parts = jws::split(token)?;
        let header = jws::decode_header(parts.header)?;
        if !self.inner.algorithms.contains(&header.alg) {
            return Err(AuthError::unsupported_algorithm("algorithm not allowed"));
        }
        let signature = jws::decode_signature(parts.signature, signature_buf)?;
        let class = self
            .inner
            .rules
            .check_header(header.typ.as_deref(), header.cat.as_deref())?;
        if let Some(kid) = header.kid.as_deref() {
            // Debug-formatted: an attacker's kid cannot forge log lines.
            tracing::Span::current().record("kid", tracing::field::debug(kid));
        }
        Ok(ParsedToken {
            parts,
            alg: header.alg,
            kid: header.kid,
            signature,
            class,
        })
    }

    /// The signature of `token` checked with `set`.
    fn verify_with<'t>(&self, set: &KeySet, token: &ParsedToken<'t, '_>) -> Result<Signed<'t>> {
        let max_kidless = self.inner.store.policy().max_kidless_candidates;
        let key = set.verify(
            token.kid(),
            token.alg,
            token.parts.signing_input,
            token.signature,
            max_kidless,
        )?;
        Ok(Signed {
            payload: token.parts.payload,
            // Only the verified-token cache needs to know which key signed (a `Copy` id:
            // no allocation).
            key: self.inner.verified.as_ref().map(|_| key.id),
            class: token.class,
        })
    }

    /// Stage rules: decodes the signed payload, checks it, and names its user. Returns the
    /// user and the token's validity window.
    pub(crate) fn check_claims(
        &self,
        signed: &Signed<'_>,
        now: i64,
    ) -> Result<(AuthUser, Validity)> {
        let rules = &self.inner.rules;
        let json = jws::decode_payload(signed.payload)?;
        let payload = rules.read(&json)?;
        let checked = rules.check_token(&payload, now, signed.class)?;
        let mut user = rules.identify(&payload, checked.kind)?;
        drop(payload);
        user.claims = Claims::from_json(json);
        Ok((user, checked.validity))
    }

    /// The compiled claim rules.
    pub(crate) fn rules(&self) -> &Rules {
        &self.inner.rules
    }

    /// The verified-token cache, when on.
    #[cfg(test)]
    pub(crate) fn verified_cache(&self) -> Option<&VerifiedCache> {
        self.inner.verified.as_ref()
    }
}

/// A token whose shape and header passed, its signature not yet checked.
struct ParsedToken<'t, 'b> {
    parts: jws::Compact<'t>,
    alg: Algorithm,
    kid: Option<Arc<str>>,
    signature: &'b [u8],
    class: HeaderClass,
}

impl ParsedToken<'_, '_> {
    fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
}

/// A token whose signature verified: its (still encoded) payload and, when the
/// verified-token cache is on, the identity of the verifying key.
#[derive(Debug)]
pub(crate) struct Signed<'t> {
    pub(crate) payload: &'t str,
    pub(crate) key: Option<KeyId>,
    /// The token class its header names, when the provider reads one there.
    pub(crate) class: HeaderClass,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_can_be_shared_across_tasks_and_threads() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<Verifier>();
        shareable::<AuthUser>();
    }
}
