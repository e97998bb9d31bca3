//! [`Verifier`] and its builder. A token goes through the stages in order:
//!
//! ```text
//! jws (split, decode, header) -> keys (select + signature) -> rules (iss, aud, azp, time, ...) -> cache -> AuthUser
//! ```
//!
//! [`crate::jws`], [`crate::keys`], [`crate::rules`] and [`crate::verified_cache`] each hold
//! one stage; this file builds them from a [`Provider`] and runs them.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::algorithm::Algorithm;
use crate::claims::{AuthUser, ClaimMap, Claims};
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, Result};
use crate::jws::{self, Buf};
use crate::keys::jwk::{KeyId, VerifyingKey};
use crate::keys::{self, CachePolicy, KeySet, KeyStats, KeyStore};
use crate::kinds::{ClerkToken, TokenType};
use crate::provider::{AudienceRule, Issuer, KeySpec, Provider};
use crate::rules::{HeaderClass, Rules, Validity};
use crate::token_source::TokenSource;
use crate::verified_cache::VerifiedCache;

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
struct Inner {
    provider_name: String,
    algorithms: Vec<Algorithm>,
    rules: Rules,
    token_sources: Vec<TokenSource>,
    clock: Arc<dyn Clock>,
    store: KeyStore,
    verified: Option<VerifiedCache>,
}

/// Configures a [`Verifier`]; anything the provider preset sets can be overridden.
///
/// ```
/// use jwks_auth::{Algorithm, CachePolicy, Provider, Verifier};
/// use std::time::Duration;
/// let verifier = Verifier::builder(Provider::auth0("tenant.auth0.com", "https://api.example.com")?)
///     .audiences(["https://api.example.com", "https://tenant.auth0.com/userinfo"])
///     .leeway(Duration::from_secs(30))
///     .cache_policy(CachePolicy::default().refresh_cooldown(Duration::from_secs(60)))
///     .build()?;
/// # Ok::<_, jwks_auth::AuthError>(())
/// ```
#[must_use]
#[derive(Debug)]
pub struct VerifierBuilder {
    provider: Provider,
    policy: CachePolicy,
    client: Option<reqwest::Client>,
    clock: Arc<dyn Clock>,
    allow_insecure_http: bool,
    verified_cache: Option<u64>,
    any_audience: bool,
    token_classes: Option<Vec<String>>,
}

impl Verifier {
    /// Starts configuring a verifier for `provider`.
    pub fn builder(provider: Provider) -> VerifierBuilder {
        VerifierBuilder {
            provider,
            policy: CachePolicy::default(),
            client: None,
            clock: Arc::new(SystemClock),
            allow_insecure_http: false,
            verified_cache: None,
            any_audience: false,
            token_classes: None,
        }
    }
}

impl VerifierBuilder {
    /// The expected `iss`. Default: the preset's.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.provider.issuer = Some(Issuer::from_text(issuer));
        self
    }

    /// Accept any issuer. **Weakens verification**: use only with keys that belong to a single
    /// issuer (a shared secret, a static key). Default: the preset's issuer is required.
    pub fn any_issuer(mut self) -> Self {
        self.provider.issuer = None;
        self
    }

    /// The one accepted audience (replaces the preset's, and makes `aud` required).
    pub fn audience(self, audience: impl Into<String>) -> Self {
        self.audiences([audience.into()])
    }

    /// The accepted audiences: `aud` must contain at least one. Default: the preset's rule;
    /// with no audience configured (Clerk, bare keys), a token that carries `aud` is refused
    /// (RFC 7519 §4.1.3) unless [`any_audience`](Self::any_audience).
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.provider.audiences = audiences.into_iter().map(Into::into).collect();
        self.provider.audience_rule = AudienceRule::Required;
        self.any_audience = false;
        self
    }

    /// Accept any `aud`, or none. **Weakens verification**: a token minted for another
    /// service of the same issuer is then accepted here; use only with keys that sign tokens
    /// for this service alone. Replaces the preset's audiences (a later
    /// [`audience`](Self::audience) makes `aud` required again). Default: the preset's rule,
    /// and a token carrying `aud` is refused when no audience is configured.
    pub fn any_audience(mut self) -> Self {
        self.provider.audiences.clear();
        self.provider.audience_rule = AudienceRule::None;
        self.any_audience = true;
        self
    }

    /// The allowed algorithms. Default: the preset's. HS* only with a shared secret.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.provider.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock-skew leeway for `exp`, `nbf`, `iat`. Default: the preset's (60 s unless it says
    /// less).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.provider.leeway = leeway;
        self
    }

    /// The claim holding the user id (replaces the preset's list). Default: the preset's.
    pub fn user_id_claim(mut self, claim: impl Into<String>) -> Self {
        self.provider.claims.user_id = vec![claim.into()];
        self
    }

    /// The claim map (user id, email, scopes). Default: the preset's.
    pub fn claims(mut self, claims: ClaimMap) -> Self {
        self.provider.claims = claims;
        self
    }

    /// Accepted `azp` values (Clerk: your app's origins). When set, `azp` is required.
    /// Default: none, `azp` not checked.
    pub fn authorized_parties<I, S>(mut self, parties: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.provider.authorized_parties = parties.into_iter().map(Into::into).collect();
        self
    }

    /// The accepted `typ` header values. Default: the preset's (`[token] typ`), else
    /// [`TokenType::Any`]. [`TokenType::AccessToken`] also requires the RFC 9068 claims.
    ///
    /// ```
    /// use jwks_auth::{Provider, TokenType, Verifier};
    /// let verifier = Verifier::builder(Provider::oidc("https://as.example.com")?)
    ///     .audience("https://api.example.com")
    ///     .token_type(TokenType::AccessToken)
    ///     .build()?;
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    pub fn token_type(mut self, token_type: TokenType) -> Self {
        self.provider.token.typ = token_type;
        self
    }

    /// The accepted token classes, by the names the preset's `[token.classes]` gives them
    /// (replaces its `accept` list). Default: the preset's.
    ///
    /// ```
    /// use jwks_auth::{Provider, Verifier};
    /// let cognito = Provider::preset(
    ///     "cognito",
    ///     &[("origin", "https://cognito-idp.eu-west-1.amazonaws.com"),
    ///       ("pool", "eu-west-1_abc"), ("client_id", "app-client")],
    /// )?;
    /// let id_tokens = Verifier::builder(cognito).token_classes(["id"]).build()?;
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    ///
    /// [`build`](Self::build) fails with [`ErrorKind::Config`](crate::ErrorKind::Config)
    /// for a name the preset does not define.
    pub fn token_classes<I, S>(mut self, classes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.token_classes = Some(classes.into_iter().map(Into::into).collect());
        self
    }

    /// The accepted Clerk token kinds (the Clerk preset's classes). Default: session tokens.
    ///
    /// ```
    /// use jwks_auth::{ClerkToken, Provider, Verifier};
    /// let clerk = Provider::preset("clerk", &[("origin", "https://clerk.example.com")])?;
    /// let verifier = Verifier::builder(clerk)
    ///     .clerk_token_kinds([ClerkToken::Session, ClerkToken::Template])
    ///     .build()?;
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    pub fn clerk_token_kinds(self, kinds: impl IntoIterator<Item = ClerkToken>) -> Self {
        self.token_classes(kinds.into_iter().map(ClerkToken::class_name))
    }

    /// Cache and refresh policy for the provider's keys. Default: [`CachePolicy::default`].
    pub fn cache_policy(mut self, policy: CachePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The HTTP client for JWKS fetches. Timeouts and body caps still apply per request, and
    /// a response from another host is refused, whatever the client's redirect policy.
    /// Default: a rustls client with same-host redirects only.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The time source. Default: the system clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Allow a plain-`http` JWKS URL on a non-loopback host. **Insecure**: anyone on the path
    /// can substitute keys. Default: false (loopback hosts are always allowed).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Remember up to `max_entries` verified tokens so that repeated verifies of the same
    /// token skip the signature check. Default: off.
    ///
    /// A hit still re-checks `exp`/`nbf` against the clock; entries expire no later than the
    /// token and are served only while the exact key that verified them (same kid, same key
    /// material) is in the current key set. The trade-off: a revoked key is noticed only at
    /// the next key refresh, the same as for uncached tokens.
    pub fn cache_verified(mut self, max_entries: u64) -> Self {
        self.verified_cache = Some(max_entries);
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for contradictory settings: no
    /// algorithms, HS* without a shared secret, a shared secret shorter than an allowed
    /// algorithm's hash (HS256 32 bytes, HS384 48, HS512 64), a required audience that is
    /// missing, a plain http JWKS URL on a remote host, a [`CachePolicy`] out of range (see
    /// its docs).
    pub fn build(self) -> Result<Verifier> {
        self.policy.validate()?;
        let provider = self.provider;
        let algorithms = provider.algorithms.clone();
        if algorithms.is_empty() {
            return Err(AuthError::config("no algorithms allowed"));
        }
        let secret_mode = matches!(provider.keys, KeySpec::Secret(_));
        if algorithms.iter().any(|a| a.is_symmetric() != secret_mode) {
            return Err(AuthError::config(if secret_mode {
                "shared-secret mode allows only HS256, HS384, HS512"
            } else {
                "HS256/384/512 need Provider::shared_secret; asymmetric keys never verify HMAC"
            }));
        }
        let rules =
            Rules::compile_with(&provider, self.any_audience, self.token_classes.as_deref())?;
        let store = match &provider.keys {
            KeySpec::Jwks(url) => {
                let location =
                    keys::JwksLocation::Fixed(keys::check_url(url, self.allow_insecure_http)?);
                remote_store(
                    location,
                    self.client.clone(),
                    &self.policy,
                    &self.clock,
                    &algorithms,
                )?
            }
            KeySpec::Discovery => {
                let issuer = provider
                    .issuer
                    .as_ref()
                    .map(Issuer::as_str)
                    .ok_or_else(|| AuthError::config("OIDC discovery needs an issuer"))?;
                let location = keys::JwksLocation::discovery(issuer, self.allow_insecure_http)?;
                remote_store(
                    location,
                    self.client.clone(),
                    &self.policy,
                    &self.clock,
                    &algorithms,
                )?
            }
            KeySpec::StaticJwks(json) => {
                let parsed = keys::jwk::parse_jwk_set(json.as_bytes(), &algorithms)
                    .map_err(AuthError::config)?;
                if parsed.keys.is_empty() {
                    return Err(AuthError::config(
                        "no key in the JWK set fits the allowed algorithms",
                    ));
                }
                KeyStore::fixed(
                    parsed.keys,
                    algorithms.clone(),
                    self.policy,
                    self.clock.clone(),
                )
            }
            KeySpec::Pem(pem) => {
                let key = VerifyingKey::from_pem(pem, &algorithms)
                    .map_err(|e| AuthError::config(format!("PEM key: {e}")))?;
                KeyStore::fixed(
                    vec![key],
                    algorithms.clone(),
                    self.policy,
                    self.clock.clone(),
                )
            }
            KeySpec::Secret(secret) => {
                let key = VerifyingKey::from_secret(&secret.0, &algorithms)?;
                KeyStore::fixed(
                    vec![key],
                    algorithms.clone(),
                    self.policy,
                    self.clock.clone(),
                )
            }
        };
        let verified = self
            .verified_cache
            .map(|max| VerifiedCache::new(max, self.clock.clone()));
        Ok(Verifier {
            inner: Arc::new(Inner {
                provider_name: provider.name,
                algorithms,
                rules,
                token_sources: provider.token_sources,
                clock: self.clock,
                store,
                verified,
            }),
        })
    }
}

/// A key store fetching from `location` with the injected client, or a default one.
fn remote_store(
    location: keys::JwksLocation,
    client: Option<reqwest::Client>,
    policy: &CachePolicy,
    clock: &Arc<dyn Clock>,
    algorithms: &[Algorithm],
) -> Result<KeyStore> {
    let client = match client {
        Some(client) => client,
        None => keys::default_client(policy.fetch_timeout)?,
    };
    Ok(KeyStore::remote(
        location,
        client,
        algorithms.to_vec(),
        policy.clone(),
        clock.clone(),
    ))
}

impl Verifier {
    /// Verifies `token` and returns the user it names.
    ///
    /// Checks, in order: size and shape, header (`alg` allowed and fitting the key, no `crit`,
    /// `typ` and a header-named token class accepted), signature, `exp` (required), `nbf`,
    /// `iat`, `iss`, a claim-named token class, `aud`, `azp`, the RFC 9068 claims when
    /// [`TokenType::AccessToken`] is required, user-id claim.
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
        let inner = &*self.inner;
        // One clock read serves the key cache and the claim checks.
        let clock_now = inner.clock.now();
        let now = i64::try_from(clock_now.as_secs()).unwrap_or(i64::MAX);
        // A token verified before, with its key still published, skips the signature.
        let digest = match &inner.verified {
            Some(cache) => {
                let digest = VerifiedCache::digest(token);
                let leeway = inner.rules.leeway();
                let hit = cache.get(&digest, now, leeway, |id| inner.store.holds_key(id))?;
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
            cache.insert(digest, &user, validity, key);
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

    /// Where tokens are read from in a request.
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
        let parts = jws::split(token)?;
        let mut header_buf = Buf::new();
        let header = jws::decode_header(parts.header, &mut header_buf)?;
        let alg = header.alg;
        if !self.inner.algorithms.contains(&alg) {
            return Err(AuthError::unsupported_algorithm("algorithm not allowed"));
        }
        let mut signature_buf = Buf::new();
        let signature = jws::decode_signature(parts.signature, &mut signature_buf)?;
        let kid = header.kid.as_deref();
        let class = self
            .inner
            .rules
            .check_header(header.typ.as_deref(), header.cat.as_deref())?;

        let store = &self.inner.store;
        let max_kidless = store.policy().max_kidless_candidates;
        // Only the verified-token cache needs to know which key signed (a `Copy` id: no
        // allocation).
        let verify_with = |set: &KeySet| {
            let key = set.verify(kid, alg, parts.signing_input, signature, max_kidless)?;
            Ok(self.inner.verified.as_ref().map(|_| key.id))
        };
        // Hot path: verify under the current set's read lock (no await, no allocation, no
        // reference-count traffic between cores).
        let hot = store.with_fresh_set(now, |set| {
            if !set.knows(kid, alg) {
                return None;
            }
            if store.claim_refresh_ahead(set, now) {
                self.spawn_refresh_ahead();
            }
            Some(verify_with(set))
        });
        let key = match hot {
            Some(result) => result?,
            None => verify_with(&*store.resolve(kid, alg).await?)?,
        };
        Ok(Signed {
            payload: parts.payload,
            key,
            class,
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
