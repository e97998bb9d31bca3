//! [`Verifier`]: checks a token against a provider's keys and rules, and returns the user.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{DeserializeOwned, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::claims::{AuthUser, ClaimMap, Claims, Payload, PayloadError};
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, Result};
use crate::keys::jwk::{KeyId, VerifyingKey};
use crate::keys::{self, CachePolicy, KeySet, KeyStats, KeyStore};
use crate::provider::{AudienceRule, Issuer, KeySpec, Provider, TokenSource};

/// Tokens longer than this are rejected before any parsing (bounded work per request).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Exactly an RSA-8192 signature (the largest accepted key).
const MAX_SIGNATURE_BYTES: usize = 1024;
const MAX_HEADER_BYTES: usize = 2048;

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
    issuer: Option<IssuerRule>,
    audiences: Vec<String>,
    audience_claims: Vec<String>,
    any_audience: bool,
    algorithms: Vec<Algorithm>,
    leeway: i64,
    claims: ClaimMap,
    authorized_parties: Vec<String>,
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
        let issuer = provider
            .issuer
            .as_ref()
            .map(IssuerRule::parse)
            .transpose()?;
        let audiences = match provider.audience_rule {
            AudienceRule::Issuer => match &issuer {
                Some(IssuerRule::Exact(issuer)) => vec![issuer.clone()],
                _ => {
                    return Err(AuthError::config(
                        "audience rule `issuer` needs a fixed issuer",
                    ))
                }
            },
            AudienceRule::Required if provider.audiences.iter().all(String::is_empty) => {
                return Err(AuthError::config(format!(
                    "provider `{}` requires an audience (your API identifier)",
                    provider.name
                )));
            }
            _ => provider.audiences.clone(),
        };
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
                issuer,
                audiences,
                audience_claims: provider.audience_claims,
                any_audience: self.any_audience,
                algorithms,
                leeway: i64::try_from(provider.leeway.as_secs()).unwrap_or(i64::MAX),
                claims: provider.claims,
                authorized_parties: provider.authorized_parties,
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

/// The JOSE header members we act on. Unknown members (of any JSON type) are ignored;
/// `jku`, `x5u`, `x5c` and `jwk` are never read, so never followed.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    /// `Some` whenever the member is present; `null` or any other non-array fails the parse
    /// (a plain `Option` would read `null` as absent).
    #[serde(default, deserialize_with = "present_crit")]
    crit: Option<Crit>,
}

/// A `crit` header member: an array (RFC 7515 §4.1.11). No extension is supported, so any
/// `crit` is refused; one that is not even an array makes the header malformed.
struct Crit;

fn present_crit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Crit>, D::Error> {
    struct CritVisitor;
    impl<'de> Visitor<'de> for CritVisitor {
        type Value = Crit;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Crit, A::Error> {
            while items.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Crit)
        }
    }
    deserializer.deserialize_seq(CritVisitor).map(Some)
}

impl Verifier {
    /// Verifies `token` and returns the user it names.
    ///
    /// Checks, in order: size and shape, header (`alg` allowed and fitting the key, no `crit`),
    /// signature, `exp` (required), `nbf`, `iat`, `iss`, `aud`, `azp`, user-id claim.
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
        // One clock read serves the key cache and the claim checks.
        let clock_now = self.inner.clock.now();
        let now = i64::try_from(clock_now.as_secs()).unwrap_or(i64::MAX);
        let digest = match &self.inner.verified {
            Some(cache) => {
                let digest = VerifiedCache::digest(token);
                let store = &self.inner.store;
                let hit = cache.get(&digest, now, self.inner.leeway, |id| store.holds_key(id))?;
                if let Some(user) = hit {
                    return Ok(user);
                }
                Some(digest)
            }
            None => None,
        };
        let (payload, key) = self.verify_signed(token, clock_now).await?;
        let (user, validity) = self.check_claims(payload, now)?;
        if let (Some(cache), Some(digest), Some(key)) = (&self.inner.verified, digest, key) {
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
        self.inner.issuer.as_ref().map(IssuerRule::as_str)
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

    /// Shape, header and signature. Returns the payload text and, when the verified-token
    /// cache is on, the identity of the key that verified it.
    async fn verify_signed(&self, token: &str, now: Duration) -> Result<(String, Option<KeyId>)> {
        let (payload_b64, key) = self.verify_signature(token, now).await?;
        let payload = String::from_utf8(decode_payload(payload_b64)?)
            .map_err(|_| AuthError::malformed("payload is not UTF-8"))?;
        Ok((payload, key))
    }

    /// Shape, header and signature. Returns the (still encoded) payload and, when the
    /// verified-token cache is on, the identity of the verifying key.
    async fn verify_signature<'t>(
        &self,
        token: &'t str,
        now: Duration,
    ) -> Result<(&'t str, Option<KeyId>)> {
        let [header_b64, payload_b64, signature_b64] = split_compact(token)?;
        let mut header_buf = [0u8; MAX_HEADER_BYTES];
        let header_len = decode_into(
            header_b64,
            &mut header_buf,
            "header too large",
            "header is not base64url",
        )?;
        let header_json = &header_buf[..header_len];
        // serde would also read a struct from a JSON array; a JOSE header is an object.
        if header_json.trim_ascii_start().first() != Some(&b'{') {
            return Err(AuthError::malformed("header is not a JSON object"));
        }
        let header: Header<'_> = serde_json::from_slice(header_json)
            .map_err(|_| AuthError::malformed("header is not a valid JOSE header"))?;
        if header.crit.is_some() {
            return Err(AuthError::malformed(
                "unsupported critical header parameter",
            ));
        }
        let alg: Algorithm = header
            .alg
            .parse()
            .map_err(|_| AuthError::unsupported_algorithm("unknown algorithm"))?;
        if !self.inner.algorithms.contains(&alg) {
            return Err(AuthError::unsupported_algorithm("algorithm not allowed"));
        }
        let mut signature_buf = [0u8; MAX_SIGNATURE_BYTES];
        let signature_len = decode_into(
            signature_b64,
            &mut signature_buf,
            "signature too large",
            "signature is not base64url",
        )
        .map_err(|_| AuthError::invalid_signature())?;
        let signature = &signature_buf[..signature_len];
        let signed = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        let kid = header.kid.as_deref();

        let store = &self.inner.store;
        let max_kidless = store.policy().max_kidless_candidates;
        // Only the verified-token cache needs to know which key signed (a `Copy` id: no
        // allocation).
        let verify_with = |set: &KeySet| {
            let key = set.verify(kid, alg, signed, signature, max_kidless)?;
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
        let verified_by = match hot {
            Some(result) => result?,
            None => verify_with(&*store.resolve(kid, alg).await?)?,
        };
        Ok((payload_b64, verified_by))
    }

    /// Time, issuer, audience, authorized party and user id, read from a borrowed view of
    /// the payload (no claim map is built). Returns the user and the token's validity window.
    fn check_claims(&self, json: String, now: i64) -> Result<(AuthUser, Validity)> {
        let inner = &*self.inner;
        let leeway = inner.leeway;
        let payload = Payload::parse(&json).map_err(|e| {
            AuthError::malformed(match e {
                PayloadError::Invalid => "payload is not a JSON object with unique names",
                PayloadError::TooDeep => "payload nests too deeply",
            })
        })?;
        let date = |name: &str| {
            payload
                .date(name)
                .map_err(|_| AuthError::invalid_claim(name))
        };
        let exp = date("exp")?.ok_or_else(|| AuthError::missing_claim("exp"))?;
        // RFC 7519 §4.1.4: the current time must be before `exp` (plus the leeway).
        if now >= exp.saturating_add(leeway) {
            return Err(AuthError::expired(exp, now));
        }
        let nbf = date("nbf")?;
        for not_before in [nbf, date("iat")?].into_iter().flatten() {
            if not_before > now.saturating_add(leeway) {
                return Err(AuthError::not_yet_valid(not_before, now));
            }
        }
        if let Some(issuer) = &inner.issuer {
            issuer.check(&payload)?;
        }
        if !inner.audiences.is_empty() {
            // Usually just `aud`; Cognito access tokens name their client in `client_id`.
            let ok = inner.audience_claims.iter().any(|name| {
                payload
                    .strings(name)
                    .iter()
                    .any(|aud| inner.audiences.iter().any(|a| a == aud))
            });
            if !ok {
                return Err(AuthError::invalid_audience());
            }
        } else if !inner.any_audience && payload.has("aud") {
            // RFC 7519 §4.1.3: a token meant for some audience is not meant for us.
            return Err(AuthError::invalid_audience());
        }
        if !inner.authorized_parties.is_empty() {
            let azp = payload.str("azp");
            if !azp.is_some_and(|azp| inner.authorized_parties.iter().any(|p| *p == azp)) {
                return Err(AuthError::invalid_authorized_party());
            }
        }
        let mut user = inner.claims.identify(&payload).ok_or_else(|| {
            AuthError::missing_claim(inner.claims.user_id.first().cloned().unwrap_or_default())
        })?;
        drop(payload);
        user.claims = Claims::from_json(json);
        Ok((user, Validity { exp, nbf }))
    }
}

/// The expected `iss`: a fixed string, or a template with one `{token.<claim>}` filled from
/// the token itself (multi-tenant issuers).
#[derive(Debug)]
enum IssuerRule {
    Exact(String),
    PerToken {
        template: String,
        prefix: String,
        claim: String,
        suffix: String,
    },
}

impl IssuerRule {
    fn parse(issuer: &Issuer) -> Result<Self> {
        let Some((prefix, claim, suffix)) = issuer.split()? else {
            return Ok(IssuerRule::Exact(issuer.as_str().to_owned()));
        };
        Ok(IssuerRule::PerToken {
            template: issuer.as_str().to_owned(),
            prefix: prefix.to_owned(),
            claim: claim.to_owned(),
            suffix: suffix.to_owned(),
        })
    }

    fn as_str(&self) -> &str {
        match self {
            IssuerRule::Exact(issuer) => issuer,
            IssuerRule::PerToken { template, .. } => template,
        }
    }

    fn check(&self, payload: &Payload<'_>) -> Result<()> {
        let iss = payload.str("iss");
        let ok = match self {
            IssuerRule::Exact(issuer) => iss.as_deref() == Some(issuer.as_str()),
            IssuerRule::PerToken {
                prefix,
                claim,
                suffix,
                ..
            } => {
                // Only a plain identifier may be spliced into the issuer (no `/`, no `..`).
                let value = payload.str(claim).filter(|value| {
                    !value.is_empty()
                        && value != ".."
                        && value
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                });
                match (iss.as_deref(), value.as_deref()) {
                    (Some(iss), Some(value)) => iss
                        .strip_prefix(prefix.as_str())
                        .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                        .is_some_and(|middle| middle == value),
                    _ => false,
                }
            }
        };
        if ok {
            Ok(())
        } else {
            Err(AuthError::invalid_issuer())
        }
    }
}

/// When a verified token stops (and starts) being valid.
#[derive(Debug, Clone, Copy)]
struct Validity {
    exp: i64,
    nbf: Option<i64>,
}

/// The three parts of a compact JWS, after the size bound. JWE (five parts) is refused here.
pub(crate) fn split_compact(token: &str) -> Result<[&str; 3]> {
    if token.is_empty() {
        return Err(AuthError::missing_token());
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::malformed("token too large"));
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None) => Ok([header, payload, signature]),
        _ => Err(AuthError::malformed("expected three dot-separated parts")),
    }
}

/// Decodes base64url without padding into `buf`, refusing anything that does not fit.
fn decode_into(
    text: &str,
    buf: &mut [u8],
    too_large: &'static str,
    not_base64: &'static str,
) -> Result<usize> {
    // The exact decoded length of unpadded base64url (a rounding-up estimate would refuse
    // an RSA-8192 signature: 1366 characters, 1024 bytes).
    let decoded_len = match text.len() % 4 {
        0 => text.len() / 4 * 3,
        2 => text.len() / 4 * 3 + 1,
        3 => text.len() / 4 * 3 + 2,
        _ => return Err(AuthError::malformed(not_base64)),
    };
    if decoded_len > buf.len() {
        return Err(AuthError::malformed(too_large));
    }
    URL_SAFE_NO_PAD
        .decode_slice(text, &mut buf[..decoded_len])
        .map_err(|_| AuthError::malformed(not_base64))
}

/// The payload part of a compact JWS, base64url-decoded.
pub(crate) fn decode_payload(payload_b64: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| AuthError::malformed("payload is not base64url"))
}

/// Successful verifications, keyed by SHA-256 of the token (the token itself is not kept).
#[derive(Debug)]
struct VerifiedCache {
    entries: moka::sync::Cache<[u8; 32], Arc<CachedUser>>,
}

#[derive(Debug)]
struct CachedUser {
    user: AuthUser,
    validity: Validity,
    /// The key that verified the token: the entry is served only while it is published.
    key: KeyId,
}

/// Entries live no longer than their token, measured on the verifier's clock.
struct ExpireWithToken(Arc<dyn Clock>);

impl moka::Expiry<[u8; 32], Arc<CachedUser>> for ExpireWithToken {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<CachedUser>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        let now = i64::try_from(self.0.now().as_secs()).unwrap_or(i64::MAX);
        Some(Duration::from_secs(
            value.validity.exp.saturating_sub(now).max(0) as u64,
        ))
    }
}

impl VerifiedCache {
    fn new(max_entries: u64, clock: Arc<dyn Clock>) -> Self {
        VerifiedCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(ExpireWithToken(clock))
                .build(),
        }
    }

    fn digest(token: &str) -> [u8; 32] {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }

    /// The cached user for `digest`, if its entry is still valid and `published` says its
    /// key is still in the current key set. An entry whose key is gone is dropped, and the
    /// token goes through full verification (which then fails for want of the key).
    fn get(
        &self,
        digest: &[u8; 32],
        now: i64,
        leeway: i64,
        published: impl FnOnce(KeyId) -> bool,
    ) -> Result<Option<AuthUser>> {
        let Some(entry) = self.entries.get(digest) else {
            return Ok(None);
        };
        if !published(entry.key) {
            self.entries.invalidate(digest);
            return Ok(None);
        }
        let Validity { exp, nbf } = entry.validity;
        if now >= exp.saturating_add(leeway) {
            self.entries.invalidate(digest);
            return Err(AuthError::expired(exp, now));
        }
        if let Some(not_before) = nbf.filter(|nbf| *nbf > now.saturating_add(leeway)) {
            return Err(AuthError::not_yet_valid(not_before, now));
        }
        Ok(Some(entry.user.clone()))
    }

    fn insert(&self, digest: [u8; 32], user: &AuthUser, validity: Validity, key: KeyId) {
        self.entries.insert(
            digest,
            Arc::new(CachedUser {
                user: user.clone(),
                validity,
                key,
            }),
        );
    }
}

#[cfg(all(test, feature = "testing"))]
mod verified_cache_tests {
    use super::*;
    use crate::testing::MockProvider;
    use crate::ErrorKind;

    /// The race of issue 14 item 8, step by step: a verify checks the signature with a key,
    /// a refresh removes that key, and only then does the verify insert its entry.
    #[tokio::test]
    async fn an_entry_inserted_after_its_key_was_removed_is_not_served() {
        let mock = MockProvider::better_auth().await;
        let verifier = Verifier::builder(mock.provider())
            .cache_verified(100)
            .build()
            .unwrap();
        let old_kid = mock.current_kid();
        let token = mock.token().sub("raced").sign();
        let cache = verifier.inner.verified.as_ref().unwrap();
        let digest = VerifiedCache::digest(&token);
        let clock_now = verifier.inner.clock.now();
        let now = i64::try_from(clock_now.as_secs()).unwrap();

        // The verify, up to its insert.
        let (payload, verified_by) = verifier.verify_signed(&token, clock_now).await.unwrap();
        let (user, validity) = verifier.check_claims(payload, now).unwrap();
        // Meanwhile a refresh drops the key.
        mock.rotate();
        mock.remove_key(&old_kid);
        verifier.warm_up().await.unwrap();
        // The verify goes on and inserts.
        cache.insert(digest, &user, validity, verified_by.unwrap());

        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey);
    }
}

/// The token in an `Authorization` header value: scheme `Bearer` (any case), exactly one
/// token after it.
///
/// ```
/// use jwks_auth::{bearer_token, ErrorKind};
/// assert_eq!(bearer_token("bearer abc.def.ghi").unwrap(), "abc.def.ghi");
/// assert_eq!(bearer_token("Basic Zm9v").unwrap_err().kind(), ErrorKind::Malformed);
/// assert_eq!(bearer_token("Bearer a b").unwrap_err().kind(), ErrorKind::Malformed);
/// ```
///
/// # Errors
/// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed) for another scheme or not exactly one
/// token; [`ErrorKind::MissingToken`](crate::ErrorKind::MissingToken) for an empty value.
pub fn bearer_token(header_value: &str) -> Result<&str> {
    let value = header_value.trim();
    if value.is_empty() {
        return Err(AuthError::missing_token());
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::malformed("authorization scheme is not Bearer"));
    }
    let token = rest.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AuthError::malformed("expected exactly one bearer token"));
    }
    Ok(token)
}

/// The value of cookie `name` in a `Cookie` header value.
///
/// ```
/// assert_eq!(jwks_auth::cookie_value("a=1; __session=tok", "__session"), Some("tok"));
/// ```
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name && !value.is_empty()).then_some(value)
    })
}

/// Operations that skip checks. **Never use them to authenticate a request.**
pub mod dangerous {
    use super::*;

    /// A token's header and claims, decoded WITHOUT any verification.
    #[derive(Debug, Clone)]
    #[non_exhaustive]
    pub struct UnverifiedToken {
        /// The JOSE header.
        pub header: Map<String, Value>,
        /// The claims.
        pub claims: Map<String, Value>,
    }

    /// Decodes a compact JWS without verifying its signature or claims (for debugging
    /// tools such as `jwks-auth inspect`, and for reading `iss` to pick a provider).
    ///
    /// ```
    /// let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
    /// let decoded = jwks_auth::dangerous::decode_unverified(token).unwrap();
    /// assert_eq!(decoded.claims["sub"], "x");
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed) if it is not a compact JWS with
    /// JSON object header and payload.
    pub fn decode_unverified(token: &str) -> Result<UnverifiedToken> {
        let [header, payload, _] = split_compact(token)?;
        let object = |part: &str, what: &'static str| -> Result<Map<String, Value>> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| AuthError::malformed(what))?;
            let json = std::str::from_utf8(&bytes).map_err(|_| AuthError::malformed(what))?;
            Payload::parse(json)
                .ok()
                .and_then(|payload| payload.into_map().ok())
                .ok_or_else(|| AuthError::malformed(what))
        };
        Ok(UnverifiedToken {
            header: object(header, "header is not a base64url JSON object")?,
            claims: object(payload, "payload is not a base64url JSON object")?,
        })
    }

    /// Checks only the header and signature with `verifier`'s keys and algorithms, and
    /// returns the decoded payload bytes WITHOUT checking that they are claims, nor `exp`,
    /// `iss`, `aud` or anything else. Meant for published test vectors (RFC 7515 A.2/A.3,
    /// RFC 8037 A.4) that carry no `exp` or no JSON payload at all.
    ///
    /// # Errors
    /// As [`Verifier::verify`] for format, algorithm, key and signature failures.
    pub async fn verify_signature_only(verifier: &Verifier, token: &str) -> Result<Vec<u8>> {
        let (payload, _) = verifier
            .verify_signature(token, verifier.inner.clock.now())
            .await?;
        decode_payload(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn a_verifier_can_be_shared_across_tasks_and_threads() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<Verifier>();
        shareable::<AuthUser>();
    }

    #[test]
    fn bearer_token_needs_the_bearer_scheme_and_exactly_one_token() {
        assert_eq!(bearer_token("BEARER a.b.c").unwrap(), "a.b.c");
        assert_eq!(
            bearer_token("  ").unwrap_err().kind(),
            ErrorKind::MissingToken
        );
        for bad in ["Bearer", "Bearer  ", "Token a.b.c", "Bearer a.b.c extra"] {
            assert_eq!(
                bearer_token(bad).unwrap_err().kind(),
                ErrorKind::Malformed,
                "{bad}"
            );
        }
    }

    #[test]
    fn compact_tokens_have_exactly_three_parts() {
        assert!(split_compact("a.b.c").is_ok());
        for bad in ["a.b", "a.b.c.d", "a.b.c.d.e"] {
            assert!(split_compact(bad).is_err(), "{bad}");
        }
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            split_compact(&huge).unwrap_err().to_string(),
            "malformed token: token too large"
        );
    }
}
