//! Provider presets: where a provider's keys live and what its tokens look like. The preset
//! file format is documented on [`Provider`].
//!
//! [`Provider`] and its constructors are here; the rest, by idea:
//! * `preset_file.rs`: the preset file format (its TOML tables, parsing and checks), read
//!   into a [`PresetInfo`] and filled into a `Provider`;
//! * `builtin.rs`: the built-in presets (every `providers/*.toml`, compiled in),
//!   [`Provider::builtin_names`] and [`Provider::preset_info`];
//! * `template.rs`: `{placeholder}` filling, `{origin}` from a host or URL, and the
//!   per-token `{token.<claim>}` issuer.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::algorithm::Algorithm;
use crate::claims::ClaimMap;
use crate::error::{AuthError, Result};
use crate::keys::jwk::{self, VerifyingKey};
use crate::kinds::{ClassSource, ClassSpec, MachineRule, TokenType};
use crate::token_source::TokenSource;

mod builtin;
mod preset_file;
mod template;

pub(crate) use builtin::builtin_preset_source;
use preset_file::{default_audience_claims, default_client_id_claims};
pub use preset_file::{PresetInfo, PresetParam};
use template::origin_of;
pub(crate) use template::Issuer;

/// How a provider's `aud` claim is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AudienceRule {
    /// `aud` must contain one of the configured audiences; building fails without one.
    Required,
    /// `aud` must contain the issuer (Better Auth).
    Issuer,
    /// No audience is expected (Clerk): a token that carries `aud` is refused, unless
    /// audiences are configured or the verifier says
    /// [`any_audience`](crate::VerifierBuilder::any_audience).
    None,
}

/// Where the verification keys come from.
#[derive(Clone)]
pub(crate) enum KeySpec {
    Jwks(String),
    Discovery,
    StaticJwks(String),
    Pem(Vec<u8>),
    Secret(Secret),
}

/// A shared secret; `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Debug for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySpec::Jwks(url) => f.debug_tuple("Jwks").field(url).finish(),
            KeySpec::Discovery => f.write_str("Discovery"),
            KeySpec::StaticJwks(_) => f.write_str("StaticJwks(..)"),
            KeySpec::Pem(_) => f.write_str("Pem(..)"),
            KeySpec::Secret(secret) => secret.fmt(f),
        }
    }
}

/// An identity provider's rules: keys, algorithms, issuer, audience and claim names.
///
/// Build one from a preset, then hand it to [`Verifier::builder`](crate::Verifier::builder),
/// which can override any field.
///
/// # Presets
///
/// Presets are data. The built-in ones are the TOML files in `providers/`, compiled in and
/// read by the same code that reads a file of yours, so a provider we do not ship needs no
/// Rust:
///
/// ```toml
/// name = "my-idp"
/// jwks_url = "https://idp.example.com/keys"
/// issuer = "https://idp.example.com"
/// audience = "required"          # "required" | "issuer" | "none"
/// audiences = ["my-api"]
/// algorithms = ["ES256", "RS256"]
/// leeway_secs = 30
/// token_sources = ["bearer"]     # and/or "cookie:<name>", read only with authorized parties
/// authorized_parties = []        # accepted `azp` values (usually set on the builder)
/// client_id_claims = ["client_id"]  # the OAuth client (user.client_id), tried in order
///
/// [claims]
/// user_id = ["sub"]              # tried in order; dotted paths reach nested claims
/// email = "email"
/// email_verified = "email_verified"  # a boolean claim; unset: user.email_verified is None
/// scopes = ["scope", "permissions"]  # a string is split at spaces, an array item is one scope
///
/// [token]                        # optional: which kinds of token are accepted
/// typ = "any"                    # "any" | "access-token" (RFC 9068) | ["JWT", ""] ("" = no typ)
/// class_claim = "token_use"      # or class_header = "cat": what names the token's class
/// accept = ["access"]            # the classes accepted unless the builder says otherwise
/// machine = []                   # classes whose tokens are machine tokens
///
/// [token.classes]                # class name -> the values naming it ("" = absent)
/// access = ["access"]
/// id = ["id"]
///
/// [token.audience_claims]        # optional, per class: the claims carrying its audience
/// access = ["client_id"]
///
/// [machine]                      # optional: what marks a machine (client-credentials) token
/// sub_equals_claim = ["client_id", "cid"]          # `sub` equals one of these claims
/// claim_equals = { gty = "client-credentials" }    # the claim is this value
/// claim_prefix = { preferred_username = "service-account-" }
/// claim_suffix = { sub = "@clients" }
/// claim_present = ["clientId"]                     # the claim is a non-empty string
/// ```
///
/// A token is [`TokenKind::Machine`](crate::TokenKind::Machine) when any sign of the
/// `[machine]` table holds, or its class is listed in `token.machine`; else it is a user's.
/// A claim test holds for a string claim that passes it, or an array holding such a string
/// (Kinde's `gty = ["client_credentials"]`); claims may be dotted paths. Without the table, or
/// without `sub_equals_claim` in it, `sub_equals_claim = ["client_id"]` (RFC 9068 §2.2);
/// `sub_equals_claim = []` turns that off. Values must be non-empty (an empty prefix would
/// mark every token), and `sub` cannot be compared with itself.
///
/// `{placeholders}` in `jwks_url`, `issuer` and `audiences` are filled from a `[params]`
/// table in the file, or by the preset constructors (`{origin}`, `{audience}`). Values are
/// inserted as they are, never expanded again; an unclosed `{` is an error. One
/// `{token.<claim>}` in `issuer` (and nowhere else) is filled from each token's own claim (a
/// multi-tenant issuer such as Entra's `https://login.microsoftonline.com/{token.tid}/v2.0`);
/// that claim must be a plain identifier (letters, digits, `-`, `_`, `.`).
///
/// The built-in presets are listed by [`Provider::builtin_names`] and described by
/// [`Provider::preset_info`]. An optional `[mock]` table says how
/// `testing::MockProvider` imitates the provider: `token_lifetime_secs` (default 3600).
///
/// # Examples
///
/// ```
/// use jwks_auth::{AudienceRule, Provider};
/// let provider = Provider::auth0("tenant.eu.auth0.com", "https://api.example.com")?;
/// assert_eq!(provider.issuer(), Some("https://tenant.eu.auth0.com/"));
/// assert_eq!(provider.jwks_url(), Some("https://tenant.eu.auth0.com/.well-known/jwks.json"));
/// assert_eq!(provider.audience_rule(), AudienceRule::Required);
/// # Ok::<_, jwks_auth::AuthError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Provider {
    pub(crate) name: String,
    pub(crate) keys: KeySpec,
    pub(crate) issuer: Option<Issuer>,
    pub(crate) audience_rule: AudienceRule,
    pub(crate) audiences: Vec<String>,
    pub(crate) audience_claims: Vec<String>,
    /// The claims naming the OAuth client, tried in order.
    pub(crate) client_id_claims: Vec<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway: Duration,
    pub(crate) claims: ClaimMap,
    pub(crate) token_sources: Vec<TokenSource>,
    pub(crate) authorized_parties: Vec<String>,
    pub(crate) token: TokenSpec,
}

/// Which kinds of token a provider accepts: the `typ` rule and the token classes (the
/// preset's `[token]` table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenSpec {
    pub(crate) typ: TokenType,
    pub(crate) classes: Option<ClassSpec>,
    /// What marks a machine token besides its class (the `[machine]` table).
    pub(crate) machine: MachineRule,
}

impl TokenSpec {
    /// For a preset that reads the class from a claim: that claim, a value of the first
    /// accepted class, and that class's first audience claim (for the mock's tokens).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn default_class_claim(&self) -> Option<(String, String, Option<String>)> {
        let spec = self.classes.as_ref()?;
        let ClassSource::Claim(claim) = &spec.source else {
            return None;
        };
        let class = spec
            .classes
            .iter()
            .find(|c| spec.accept.contains(&c.name))?;
        let value = class.values.iter().find(|v| !v.is_empty())?;
        let audience = class
            .audience_claims
            .as_ref()
            .and_then(|claims| claims.first().cloned());
        Some((claim.clone(), value.clone(), audience))
    }
}

/// The default clock-skew leeway: 60 seconds.
pub(crate) const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

impl Provider {
    /// Better Auth's JWT plugin at `base_url` (its origin is the issuer and the audience).
    ///
    /// ```
    /// let provider = jwks_auth::Provider::better_auth("https://auth.example.com")?;
    /// assert_eq!(provider.jwks_url(), Some("https://auth.example.com/api/auth/jwks"));
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if `base_url` is not a URL.
    pub fn better_auth(base_url: &str) -> Result<Self> {
        Self::preset_at("better-auth", base_url, &[])
    }

    /// Auth0 tenant `domain` (a host such as `tenant.eu.auth0.com`, or a URL) and your API
    /// identifier `audience`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if `domain` is not a host or URL.
    pub fn auth0(domain: &str, audience: &str) -> Result<Self> {
        Self::preset_at("auth0", domain, &[("audience", audience)])
    }

    /// Clerk frontend API (a host such as `clerk.example.com`, or its full URL).
    ///
    /// ```
    /// let provider = jwks_auth::Provider::clerk("clerk.example.com")?;
    /// assert_eq!(provider.issuer(), Some("https://clerk.example.com"));
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if the host or URL is invalid.
    pub fn clerk(frontend_api: &str) -> Result<Self> {
        Self::preset_at("clerk", frontend_api, &[])
    }

    /// A built-in preset by name, with its `{placeholders}` filled from `params`.
    ///
    /// ```
    /// let provider = jwks_auth::Provider::preset("clerk", &[("origin", "https://clerk.example.com")])?;
    /// assert_eq!(provider.name(), "clerk");
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an unknown name or missing parameter.
    pub fn preset(name: &str, params: &[(&str, &str)]) -> Result<Self> {
        let source = builtin_preset_source(name)?;
        Self::from_toml_str_with(source, &format!("providers/{name}.toml"), params)
    }

    /// A built-in preset like [`preset`](Self::preset), with `{origin}` taken from a host
    /// (`tenant.kinde.com` becomes `https://tenant.kinde.com`) or the origin of a URL
    /// (`scheme://host[:port]`, path dropped), as the named constructors take it. It wins over
    /// an `origin` in `params`.
    ///
    /// ```
    /// let provider = jwks_auth::Provider::preset_at("kinde", "myapp.kinde.com/", &[("audience", "api")])?;
    /// assert_eq!(provider.issuer(), Some("https://myapp.kinde.com"));
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an unknown name, a missing
    /// parameter, or `host_or_url` that is neither a host nor a URL.
    pub fn preset_at(name: &str, host_or_url: &str, params: &[(&str, &str)]) -> Result<Self> {
        let source = builtin_preset_source(name)?;
        Self::from_toml_str_at(
            source,
            &format!("providers/{name}.toml"),
            host_or_url,
            params,
        )
    }

    /// Parses preset TOML like [`from_toml_str_with`](Self::from_toml_str_with), with
    /// `{origin}` taken from a host or URL as in [`preset_at`](Self::preset_at).
    ///
    /// # Errors
    /// As [`from_toml_str_with`](Self::from_toml_str_with), and
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `host_or_url` is neither a host
    /// nor a URL.
    pub fn from_toml_str_at(
        source: &str,
        label: &str,
        host_or_url: &str,
        params: &[(&str, &str)],
    ) -> Result<Self> {
        let origin = origin_of(host_or_url)?;
        let mut params = params.to_vec();
        params.push(("origin", &origin));
        Self::from_toml_str_with(source, label, &params)
    }

    /// Reads a preset file of your own; placeholders come from its `[params]` table.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the file, the field and what was
    /// expected.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path)
            .map_err(|e| AuthError::config(format!("{}: {e}", path.display())))?;
        Self::from_toml_str_with(&source, &path.display().to_string(), &[])
    }

    /// Parses preset TOML; `label` names it in errors; `params` fill `{placeholders}` (and
    /// win over the file's `[params]`).
    ///
    /// ```
    /// let toml = r#"
    ///     name = "idp"
    ///     jwks_url = "https://idp.example.com/keys"
    ///     issuer = "https://idp.example.com"
    ///     audience = "none"
    ///     algorithms = ["ES256"]
    /// "#;
    /// let provider = jwks_auth::Provider::from_toml_str_with(toml, "idp.toml", &[])?;
    /// assert_eq!(provider.name(), "idp");
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming `label`, the field and what was
    /// expected.
    pub fn from_toml_str_with(source: &str, label: &str, params: &[(&str, &str)]) -> Result<Self> {
        PresetInfo::parse(source, label)?.fill(params)
    }

    /// Any OpenID Connect provider, found through
    /// `{issuer}/.well-known/openid-configuration` (same HTTPS rules and limits as JWKS
    /// fetches; a document naming another issuer is refused, OIDC Discovery §4.3). Allows
    /// every asymmetric algorithm and requires an audience: set it with
    /// [`VerifierBuilder::audience`](crate::VerifierBuilder::audience).
    ///
    /// ```
    /// use jwks_auth::{Provider, Verifier};
    /// let verifier = Verifier::builder(Provider::oidc("https://accounts.example.com")?)
    ///     .audience("my-client-id")
    ///     .build()?;
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if `issuer` is not a URL.
    pub fn oidc(issuer: &str) -> Result<Self> {
        Url::parse(issuer).map_err(|e| AuthError::config(format!("issuer is not a URL: {e}")))?;
        let mut provider = Self::networkless("oidc", KeySpec::Discovery, asymmetric_algorithms());
        provider.issuer = Some(Issuer::from_text(issuer));
        provider.audience_rule = AudienceRule::Required;
        // OpenID Connect Core §5.1 standard claim.
        provider.claims.email_verified = Some("email_verified".into());
        Ok(provider)
    }

    /// Shared-secret mode (HS256) for apps that sign with a secret, such as older Better Auth
    /// apps using `BETTER_AUTH_SECRET`. The secret must be at least 32 bytes.
    ///
    /// ```
    /// let provider = jwks_auth::Provider::shared_secret("0123456789abcdef0123456789abcdef")?;
    /// assert!(jwks_auth::Provider::shared_secret("too short").is_err());
    /// # Ok::<_, jwks_auth::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if the secret is shorter than 32 bytes.
    pub fn shared_secret(secret: impl AsRef<[u8]>) -> Result<Self> {
        let secret = secret.as_ref().to_vec();
        VerifyingKey::from_secret(&secret, &[Algorithm::HS256])?;
        Ok(Self::networkless(
            "shared-secret",
            KeySpec::Secret(Secret(secret)),
            vec![Algorithm::HS256],
        ))
    }

    /// Fixed keys from a JWK set document; nothing is fetched.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if the document is not a JWK set or
    /// holds no usable key.
    pub fn static_jwks(json: &str) -> Result<Self> {
        let asymmetric = asymmetric_algorithms();
        let parsed = jwk::parse_jwk_set(json.as_bytes(), &asymmetric).map_err(AuthError::config)?;
        if parsed.keys.is_empty() {
            return Err(AuthError::config(format!(
                "JWK set has no usable key ({})",
                parsed.skipped.join("; ")
            )));
        }
        Ok(Self::networkless(
            "static-jwks",
            KeySpec::StaticJwks(json.to_owned()),
            asymmetric,
        ))
    }

    /// A fixed PEM public key (RSA, EC or Ed25519), such as Clerk's "JWT public key".
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if the PEM is not a usable public key.
    pub fn public_key_pem(pem: impl AsRef<[u8]>) -> Result<Self> {
        let pem = pem.as_ref().to_vec();
        let key = VerifyingKey::from_pem(&pem, &asymmetric_algorithms())
            .map_err(|e| AuthError::config(format!("PEM key: {e}")))?;
        let algorithms = key.algorithms().collect();
        Ok(Self::networkless(
            "public-key-pem",
            KeySpec::Pem(pem),
            algorithms,
        ))
    }

    fn networkless(name: &str, keys: KeySpec, algorithms: Vec<Algorithm>) -> Self {
        Provider {
            name: name.into(),
            keys,
            issuer: None,
            audience_rule: AudienceRule::None,
            audiences: Vec::new(),
            audience_claims: default_audience_claims(),
            client_id_claims: default_client_id_claims(),
            algorithms,
            leeway: DEFAULT_LEEWAY,
            claims: ClaimMap::default(),
            token_sources: vec![TokenSource::Bearer],
            authorized_parties: Vec::new(),
            token: TokenSpec::default(),
        }
    }

    /// The preset's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The JWKS URL, for providers that publish one.
    pub fn jwks_url(&self) -> Option<&str> {
        match &self.keys {
            KeySpec::Jwks(url) => Some(url),
            _ => None,
        }
    }

    /// The expected `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_ref().map(Issuer::as_str)
    }

    /// How `aud` is checked.
    pub fn audience_rule(&self) -> AudienceRule {
        self.audience_rule
    }

    /// The configured audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The allowed algorithms.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// The clock-skew leeway.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Where the user id, email and scopes are read from.
    pub fn claims(&self) -> &ClaimMap {
        &self.claims
    }

    /// Where tokens are read from in a request.
    pub fn token_sources(&self) -> &[TokenSource] {
        &self.token_sources
    }

    /// The accepted `typ` header values (the preset's `[token] typ`).
    pub fn token_type(&self) -> &TokenType {
        &self.token.typ
    }

    /// The preset's token class names (its `[token.classes]`), and the accepted ones.
    pub fn token_classes(&self) -> (Vec<&str>, Vec<&str>) {
        match &self.token.classes {
            Some(spec) => (
                spec.classes.iter().map(|c| c.name.as_str()).collect(),
                spec.accept.iter().map(String::as_str).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        }
    }
}

fn asymmetric_algorithms() -> Vec<Algorithm> {
    Algorithm::ALL
        .into_iter()
        .filter(|alg| !alg.is_symmetric())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_at_takes_a_host_or_the_origin_of_a_url_over_an_origin_param() {
        let by_host = Provider::preset_at("kinde", "myapp.kinde.com", &[("audience", "a")]);
        let by_url = Provider::preset_at(
            "kinde",
            "https://myapp.kinde.com/some/path",
            &[("audience", "a"), ("origin", "https://ignored.example")],
        );
        let (by_host, by_url) = (by_host.unwrap(), by_url.unwrap());
        assert_eq!(by_host.issuer(), Some("https://myapp.kinde.com"));
        assert_eq!(by_url.issuer(), by_host.issuer());
        assert_eq!(by_url.jwks_url(), by_host.jwks_url());
        let err = Provider::preset_at("kinde", "not a host", &[("audience", "a")]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
    }

    #[test]
    fn better_auth_uses_the_origin_for_issuer_and_audience() {
        let provider = Provider::better_auth("https://auth.example.com/some/path/").unwrap();
        assert_eq!(provider.issuer(), Some("https://auth.example.com"));
        assert_eq!(
            provider.jwks_url(),
            Some("https://auth.example.com/api/auth/jwks")
        );
        assert_eq!(provider.audience_rule(), AudienceRule::Issuer);
        assert_eq!(provider.claims().user_id, ["sub", "id"]);
        assert_eq!(provider.algorithms()[0], Algorithm::EdDSA);
    }

    #[test]
    fn auth0_issuer_has_a_trailing_slash_and_audience_is_required() {
        let provider = Provider::auth0("https://tenant.eu.auth0.com/", "https://api").unwrap();
        assert_eq!(provider.issuer(), Some("https://tenant.eu.auth0.com/"));
        assert_eq!(provider.audiences(), ["https://api"]);
        assert_eq!(provider.claims().scopes, ["scope", "permissions"]);
    }

    #[test]
    fn clerk_accepts_host_or_url_and_reads_the_session_cookie() {
        let a = Provider::clerk("clerk.example.com").unwrap();
        let b = Provider::clerk("https://clerk.example.com").unwrap();
        assert_eq!(a.issuer(), b.issuer());
        assert_eq!(a.audience_rule(), AudienceRule::None);
        assert!(a
            .token_sources()
            .contains(&TokenSource::Cookie("__session".into())));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let provider = Provider::shared_secret("super-secret-value-that-is-32-bytes!").unwrap();
        let debug = format!("{provider:?}");
        assert!(!debug.contains("super-secret"), "{debug}");
        assert!(debug.contains("redacted"));
    }
}
