//! [`VerifierBuilder`]: a [`Provider`] and the verifier's own settings, compiled by
//! [`build`](VerifierBuilder::build) into the stages a [`Verifier`] runs.

use std::sync::Arc;
use std::time::Duration;

use super::{Inner, Verifier};
use crate::algorithm::Algorithm;
use crate::claims::ClaimMap;
use crate::clock::{Clock, SystemClock};
use crate::dpop::{DpopMode, DpopSettings, NonceIssuer, ReplayStore};
use crate::error::{AuthError, Result};
use crate::introspection::Introspection;
use crate::keys::jwk::VerifyingKey;
use crate::keys::{self, CachePolicy, JwksLocation, KeyStore};
use crate::kinds::{ClerkToken, TokenType};
use crate::provider::{AudienceRule, Issuer, KeySpec, Provider};
use crate::revocation::{FailurePolicy, RevocationStage, RevocationStore, Revocations};
use crate::rules::Rules;
use crate::scope_hierarchy::ScopeHierarchy;
use crate::token_source::TokenSource;
use crate::verified_cache::VerifiedCache;

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
    dpop: DpopSettings,
    audience_set: bool,
    resource: Option<String>,
    /// The protected resource's `scopes_supported`, for the scope hierarchy's prefix rules.
    resource_scopes: Vec<String>,
    scope_hierarchy: ScopeHierarchy,
    introspection: Option<Introspection>,
    revocation: Option<Arc<dyn RevocationStore>>,
    revocation_failure: FailurePolicy,
    /// [`token_sources`](VerifierBuilder::token_sources) was called.
    token_sources_set: bool,
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
            dpop: DpopSettings::default(),
            audience_set: false,
            resource: None,
            resource_scopes: Vec::new(),
            scope_hierarchy: ScopeHierarchy::new(),
            introspection: None,
            revocation: None,
            revocation_failure: FailurePolicy::Closed,
            token_sources_set: false,
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
        self.audience_set = true;
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

    /// This verifier guards `resource` (RFC 8707, RFC 9728): unless an audience was set
    /// here ([`audience`](Self::audience), [`audiences`](Self::audiences),
    /// [`any_audience`](Self::any_audience)) or the provider names its own (e.g. the Auth0
    /// API identifier), the audience is the resource URI, required: a token minted for
    /// another resource is refused. A preset whose audience is its issuer (Better Auth)
    /// takes the resource URI instead. Default: none.
    ///
    /// ```
    /// use jwks_auth::{Provider, ProtectedResource, Verifier};
    /// let resource = ProtectedResource::builder("https://mcp.example.com/mcp")
    ///     .authorization_server("https://auth.example.com")
    ///     .build()?;
    /// let verifier = Verifier::builder(Provider::oidc("https://auth.example.com")?)
    ///     .protected_resource(&resource)
    ///     .build()?;
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    pub fn protected_resource(mut self, resource: &crate::ProtectedResource) -> Self {
        self.resource = Some(resource.resource().to_owned());
        self.resource_scopes = resource.scopes_supported().to_vec();
        self
    }

    /// Opaque tokens: verified through the authorization server's RFC 7662 introspection
    /// endpoint, their answers cached (see [`introspection`](crate::introspection)). By
    /// default only tokens that are not a compact JWS go there. Default: none, an opaque
    /// token is malformed.
    pub fn introspection(mut self, introspection: Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }

    /// Scopes that imply others, honoured by every scope guard: see [`ScopeHierarchy`].
    /// Checked by [`build`](Self::build) (cycles, prefix rules matching nothing). Default:
    /// none, a scope grants only itself.
    pub fn scope_hierarchy(mut self, hierarchy: ScopeHierarchy) -> Self {
        self.scope_hierarchy = hierarchy;
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
    /// Default: none, `azp` not checked, and no token is read from a cookie (see
    /// [`token_sources`](Self::token_sources)).
    pub fn authorized_parties<I, S>(mut self, parties: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.provider.authorized_parties = parties.into_iter().map(Into::into).collect();
        self
    }

    /// Where the framework integrations read a request's token, in order (replaces the
    /// preset's `token_sources`). Default: the preset's, Clerk's `__session` cookie included.
    ///
    /// A browser sends a cookie with every request to its site, whichever page starts it, so
    /// a token from a cookie is only as good as its `azp` check (Clerk's backend SDK warns of
    /// CSRF and subdomain attacks): cookie sources need
    /// [`authorized_parties`](Self::authorized_parties). Without them, the preset's cookie
    /// sources are left out (with a `WARN` event when the verifier is built), and cookie
    /// sources given here are a configuration error.
    ///
    /// ```
    /// use jwks_auth::{Provider, TokenSource, Verifier};
    /// // An API called with bearer tokens only.
    /// let api = Verifier::builder(Provider::clerk("clerk.example.com")?)
    ///     .token_sources([TokenSource::Bearer])
    ///     .build()?;
    /// assert_eq!(api.token_sources(), [TokenSource::Bearer]);
    /// // A site whose pages send the `__session` cookie.
    /// let site = Verifier::builder(Provider::clerk("clerk.example.com")?)
    ///     .authorized_parties(["https://app.example.com"])
    ///     .build()?;
    /// assert_eq!(site.token_sources().len(), 2);
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    pub fn token_sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.provider.token_sources = sources.into_iter().collect();
        self.token_sources_set = true;
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
    /// A hit still re-checks `exp`/`nbf` against the clock (an expired entry is never
    /// served, and is dropped when asked for; one never asked for again leaves with the
    /// eviction of cold entries) and is served only while the exact key that verified it
    /// (same kid, same key material) is in the current key set. The trade-off: a revoked
    /// key is noticed only at the next key refresh, the same as for uncached tokens. Keyed
    /// by SHA-256 of the token's signature and by its signed part (`header.payload`, which
    /// without the signature is no credential): the token itself is not kept. Each entry
    /// holds that signed part and the claims, so memory grows with `max_entries` times the
    /// token size. `0` turns the cache off.
    pub fn cache_verified(mut self, max_entries: u64) -> Self {
        self.verified_cache = Some(max_entries);
        self
    }

    /// Whether DPoP proofs (RFC 9449) are taken: [`DpopMode::Off`], [`DpopMode::Allowed`]
    /// (bearer tokens through [`Verifier::verify`], DPoP-bound ones through
    /// [`Verifier::verify_dpop`]) or [`DpopMode::Required`]. Default: off. A token with a
    /// `cnf` claim is never accepted by `verify`, whatever the mode.
    pub fn dpop(mut self, mode: DpopMode) -> Self {
        self.dpop.mode = mode;
        self
    }

    /// Where DPoP proof ids are remembered (share one store across a fleet). Default: an
    /// in-memory store of 100 000 entries per verifier.
    /// Forwards to the DPoP checker builder's
    /// [`shared_replay_store`](crate::dpop::DpopCheckerBuilder::shared_replay_store).
    pub fn dpop_replay_store(mut self, store: std::sync::Arc<dyn ReplayStore>) -> Self {
        self.dpop.checker = self.dpop.checker.shared_replay_store(store);
        self
    }

    /// How far a proof's `iat` may lie from now, either way (1 s to 1 h). Default: 60 s.
    /// Forwards to the DPoP checker builder's
    /// [`iat_window`](crate::dpop::DpopCheckerBuilder::iat_window).
    pub fn dpop_iat_window(mut self, window: Duration) -> Self {
        self.dpop.checker = self.dpop.checker.iat_window(window);
        self
    }

    /// Require server nonces from `issuer` in every proof (RFC 9449 §8/§9). Default: off.
    /// Forwards to the DPoP checker builder's
    /// [`nonces`](crate::dpop::DpopCheckerBuilder::nonces).
    pub fn dpop_nonces(mut self, issuer: NonceIssuer) -> Self {
        self.dpop.checker = self.dpop.checker.nonces(issuer);
        self
    }

    /// The proof algorithms accepted; asymmetric only. Default:
    /// [`dpop::DEFAULT_ALGORITHMS`](crate::dpop::DEFAULT_ALGORITHMS).
    /// Forwards to the DPoP checker builder's
    /// [`algorithms`](crate::dpop::DpopCheckerBuilder::algorithms).
    pub fn dpop_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.dpop.checker = self.dpop.checker.algorithms(algorithms);
        self
    }

    /// Turn revocation on: after the claim rules, every verify asks `store` whether the
    /// token was revoked (`jti` denylist, "revoked before" instants per `sid`, `sub` and
    /// issuer; see [`revocation`](crate::revocation)). Revoke through
    /// [`Verifier::revocations`]. Default: off; the in-memory store
    /// ([`InMemoryRevocationStore::default()`](crate::revocation::InMemoryRevocationStore))
    /// is the one to start with, the Redis store (feature `redis`) the one for a fleet. An
    /// in-memory store forgets entries by its own clock: give it the verifier's
    /// (`InMemoryRevocationStore::clock`) when that is not the system clock.
    ///
    /// ```
    /// use jwks_auth::revocation::{FailurePolicy, InMemoryRevocationStore};
    /// use jwks_auth::{Provider, Verifier};
    /// let verifier = Verifier::builder(Provider::oidc("https://as.example.com")?)
    ///     .audience("https://api.example.com")
    ///     .revocation(InMemoryRevocationStore::default())
    ///     .revocation_failure(FailurePolicy::Closed)
    ///     .build()?;
    /// assert!(verifier.revocations().is_some());
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    pub fn revocation(mut self, store: impl RevocationStore) -> Self {
        self.revocation = Some(Arc::new(store));
        self
    }

    /// What a verify does when the revocation store cannot answer:
    /// [`FailurePolicy::Closed`] (503, the default) or [`FailurePolicy::Open`] (accept, with
    /// a `WARN` event each time).
    pub fn revocation_failure(mut self, policy: FailurePolicy) -> Self {
        self.revocation_failure = policy;
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for contradictory settings: no
    /// algorithms, HS* without a shared secret, a shared secret shorter than an allowed
    /// algorithm's hash (HS256 32 bytes, HS384 48, HS512 64), a required audience that is
    /// missing, a plain http JWKS URL on a remote host, a [`CachePolicy`] out of range (see
    /// its docs), cookie [`token_sources`](Self::token_sources) without authorized parties,
    /// a leeway above [`Revocations::MIN_RETENTION_MARGIN`] (5 minutes) with revocation on.
    pub fn build(mut self) -> Result<Verifier> {
        self.policy.validate()?;
        if let Some(resource) = self.resource.take() {
            let unset = !self.audience_set
                && !self.any_audience
                && self.provider.audiences.iter().all(String::is_empty);
            if unset {
                self.provider.audiences = vec![resource];
                self.provider.audience_rule = AudienceRule::Required;
            }
        }
        let provider = &self.provider;
        if self.revocation.is_some() && provider.leeway > Revocations::MIN_RETENTION_MARGIN {
            // Stores keep "revoked before" instants for the longest token lifetime plus this
            // margin: with a larger leeway a revoked token would come back after its `exp`.
            return Err(AuthError::config(
                "leeway above 5 minutes with revocation on: revoked tokens would come back",
            ));
        }
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
        let token_sources = checked_token_sources(provider, self.token_sources_set)?;
        let mut rules =
            Rules::compile_with(provider, self.any_audience, self.token_classes.as_deref())?;
        if !self.scope_hierarchy.is_empty() {
            rules.implied_scopes = Some(self.scope_hierarchy.compile(&self.resource_scopes)?);
        }
        let store = key_store(&algorithms, &self)?;
        let store = store.labelled(&provider.name);
        let dpop_mode = self.dpop.mode;
        let dpop = self.dpop.build(self.clock.clone())?;
        let introspector = self
            .introspection
            .map(|settings| settings.build(self.allow_insecure_http))
            .transpose()?;
        let verified = self
            .verified_cache
            // Room for nothing is no cache.
            .filter(|&max| max > 0)
            .map(VerifiedCache::new);
        Ok(Verifier {
            inner: Arc::new(Inner {
                provider_name: self.provider.name,
                algorithms,
                rules,
                token_sources,
                clock: self.clock,
                store,
                verified,
                dpop_mode,
                dpop,
                revocation: self.revocation.map(|store| RevocationStage {
                    store,
                    policy: self.revocation_failure,
                }),
                introspector,
            }),
        })
    }
}

/// The token sources a verifier reads: a cookie only when `azp` is checked, since a browser
/// sends it with requests that other sites start too. The preset's cookie sources are left
/// out without authorized parties; cookie sources the builder was given (`explicit`) are an
/// error.
fn checked_token_sources(provider: &Provider, explicit: bool) -> Result<Vec<TokenSource>> {
    let is_cookie = |source: &TokenSource| matches!(source, TokenSource::Cookie(_));
    let sources = &provider.token_sources;
    if !provider.authorized_parties.is_empty() || !sources.iter().any(is_cookie) {
        return Ok(sources.clone());
    }
    if explicit {
        return Err(AuthError::config(
            "a cookie token source needs authorized parties: call .authorized_parties([..]) \
             with your app's origins, or read bearer tokens only (.token_sources([TokenSource::Bearer]))",
        ));
    }
    tracing::warn!(
        provider = %provider.name,
        "cookie token sources are off: no authorized parties to check `azp` against; call \
         .authorized_parties([..]) with your app's origins to read the cookie, or \
         .token_sources([TokenSource::Bearer]) to say bearer tokens only"
    );
    Ok(sources.iter().filter(|s| !is_cookie(s)).cloned().collect())
}

/// The keys stage as configured: a store fetching the provider's JWKS, or fixed keys.
fn key_store(algorithms: &[Algorithm], builder: &VerifierBuilder) -> Result<KeyStore> {
    let (provider, policy, clock) = (&builder.provider, &builder.policy, &builder.clock);
    let fixed = |keys| KeyStore::fixed(keys, algorithms.to_vec(), policy.clone(), clock.clone());
    let remote = |location| -> Result<KeyStore> {
        let client = match &builder.client {
            Some(client) => client.clone(),
            None => keys::default_client(policy.fetch_timeout)?,
        };
        let (algorithms, policy) = (algorithms.to_vec(), policy.clone());
        Ok(KeyStore::remote(
            location,
            client,
            algorithms,
            policy,
            clock.clone(),
        ))
    };
    let insecure = builder.allow_insecure_http;
    Ok(match &provider.keys {
        KeySpec::Jwks(url) => remote(JwksLocation::Fixed(keys::check_url(url, insecure)?))?,
        KeySpec::Discovery => {
            let issuer = provider.issuer.as_ref().map(Issuer::as_str);
            let issuer =
                issuer.ok_or_else(|| AuthError::config("OIDC discovery needs an issuer"))?;
            remote(JwksLocation::discovery(issuer, insecure)?)?
        }
        KeySpec::StaticJwks(json) => {
            let parsed =
                keys::jwk::parse_jwk_set(json.as_bytes(), algorithms).map_err(AuthError::config)?;
            if parsed.keys.is_empty() {
                return Err(AuthError::config(
                    "no key in the JWK set fits the allowed algorithms",
                ));
            }
            fixed(parsed.keys)
        }
        KeySpec::Pem(pem) => fixed(vec![VerifyingKey::from_pem(pem, algorithms)
            .map_err(|e| AuthError::config(format!("PEM key: {e}")))?]),
        KeySpec::Secret(secret) => fixed(vec![VerifyingKey::from_secret(&secret.0, algorithms)?]),
    })
}
