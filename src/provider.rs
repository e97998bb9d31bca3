//! Provider presets: where a provider's keys live and what its tokens look like. The preset
//! file format is documented on [`Provider`].

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::algorithm::Algorithm;
use crate::claims::ClaimMap;
use crate::error::{AuthError, Result};
use crate::keys::jwk::{self, VerifyingKey};
use crate::kinds::{
    ClaimTest, ClassSource, ClassSpec, MachineRule, TokenClass, TokenType, DEFAULT_SUB_EQUALS_CLAIM,
};
use crate::token_source::TokenSource;

/// The built-in presets, `(name, TOML source)`: every file in `providers/`, compiled in.
pub(crate) const BUILTIN_PRESETS: &[(&str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/presets.rs"));

/// The TOML source of the built-in preset `name`.
pub(crate) fn builtin_preset_source(name: &str) -> Result<&'static str> {
    BUILTIN_PRESETS
        .iter()
        .find(|(preset, _)| *preset == name)
        .map(|(_, source)| *source)
        .ok_or_else(|| {
            let names: Vec<_> = BUILTIN_PRESETS.iter().map(|(n, _)| *n).collect();
            AuthError::config(format!(
                "unknown preset `{name}` (built-in: {})",
                names.join(", ")
            ))
        })
}

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

/// The `[token]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSection {
    /// `"any"`, `"access-token"`, or a list of accepted `typ` values (`""` = absent).
    #[serde(default)]
    typ: Option<TypSetting>,
    /// The header naming the class (only `"cat"`).
    #[serde(default)]
    class_header: Option<String>,
    /// The claim naming the class.
    #[serde(default)]
    class_claim: Option<String>,
    /// Class name -> the values that name it (`""` = header or claim absent).
    #[serde(default)]
    classes: BTreeMap<String, Vec<String>>,
    /// The classes accepted by default.
    #[serde(default)]
    accept: Vec<String>,
    /// The classes whose tokens are machine tokens.
    #[serde(default)]
    machine: Vec<String>,
    /// Class name -> the claims carrying its audience.
    #[serde(default)]
    audience_claims: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TypSetting {
    Name(String),
    List(Vec<String>),
}

impl TokenSection {
    /// The token rules, with `machine` from the `[machine]` table.
    fn compile(self, machine: MachineRule) -> std::result::Result<TokenSpec, String> {
        let typ = match self.typ {
            None => TokenType::Any,
            Some(TypSetting::Name(name)) if name == "any" => TokenType::Any,
            Some(TypSetting::Name(name)) if name == "access-token" => TokenType::AccessToken,
            Some(TypSetting::Name(name)) => {
                return Err(format!(
                    "field `token.typ`: `{name}` is not a type rule (expected \"any\", \"access-token\" or a list of values)"
                ))
            }
            Some(TypSetting::List(values)) if values.is_empty() => {
                return Err("field `token.typ`: expected at least one value".into())
            }
            Some(TypSetting::List(values)) => TokenType::OneOf(values),
        };
        let source = match (self.class_header, self.class_claim) {
            (None, None) => {
                if !self.classes.is_empty()
                    || !self.accept.is_empty()
                    || !self.machine.is_empty()
                    || !self.audience_claims.is_empty()
                {
                    return Err(
                        "field `token.classes`: needs `class_header` or `class_claim`".into(),
                    );
                }
                return Ok(TokenSpec {
                    typ,
                    classes: None,
                    machine,
                });
            }
            (Some(header), None) if header == "cat" => ClassSource::HeaderCat,
            (Some(header), None) => {
                return Err(format!(
                    "field `token.class_header`: `{header}` is not supported (expected \"cat\")"
                ))
            }
            (None, Some(claim)) if !claim.is_empty() => ClassSource::Claim(claim),
            (None, Some(_)) => return Err("field `token.class_claim`: empty claim name".into()),
            (Some(_), Some(_)) => {
                return Err(
                    "field `token.class_claim`: expected class_header or class_claim, not both"
                        .into(),
                )
            }
        };
        if self.classes.is_empty() {
            return Err("field `token.classes`: expected at least one class".into());
        }
        for (field, names) in [
            ("accept", self.accept.iter().collect::<Vec<_>>()),
            ("machine", self.machine.iter().collect()),
            ("audience_claims", self.audience_claims.keys().collect()),
        ] {
            if let Some(name) = names
                .iter()
                .find(|n| !self.classes.contains_key(n.as_str()))
            {
                return Err(format!("field `token.{field}`: `{name}` is not a class"));
            }
        }
        let mut audience_claims = self.audience_claims;
        let classes = self
            .classes
            .into_iter()
            .map(|(name, values)| TokenClass {
                machine: self.machine.contains(&name),
                audience_claims: audience_claims.remove(&name),
                values,
                name,
            })
            .collect();
        Ok(TokenSpec {
            typ,
            classes: Some(ClassSpec {
                source,
                classes,
                accept: self.accept,
            }),
            machine,
        })
    }
}

/// The `[machine]` table: the signs of a machine (client-credentials) token, any of which
/// makes one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MachineSection {
    /// `sub` equals one of these claims.
    #[serde(default = "default_sub_equals_claim")]
    sub_equals_claim: Vec<String>,
    /// Claim -> the value that marks a machine token.
    #[serde(default)]
    claim_equals: BTreeMap<String, String>,
    /// Claim -> a prefix that marks a machine token.
    #[serde(default)]
    claim_prefix: BTreeMap<String, String>,
    /// Claim -> a suffix that marks a machine token.
    #[serde(default)]
    claim_suffix: BTreeMap<String, String>,
    /// Claims whose presence marks a machine token.
    #[serde(default)]
    claim_present: Vec<String>,
}

fn default_sub_equals_claim() -> Vec<String> {
    vec![DEFAULT_SUB_EQUALS_CLAIM.to_owned()]
}

impl Default for MachineSection {
    fn default() -> Self {
        MachineSection {
            sub_equals_claim: default_sub_equals_claim(),
            claim_equals: BTreeMap::new(),
            claim_prefix: BTreeMap::new(),
            claim_suffix: BTreeMap::new(),
            claim_present: Vec::new(),
        }
    }
}

impl MachineSection {
    fn compile(self) -> std::result::Result<MachineRule, String> {
        if let Some(claim) = self
            .sub_equals_claim
            .iter()
            .find(|c| c.is_empty() || *c == "sub")
        {
            return Err(format!(
                "field `machine.sub_equals_claim`: `{claim}` is not a claim to compare `sub` with"
            ));
        }
        let tests = [
            (
                "claim_equals",
                self.claim_equals,
                ClaimTest::Equals as fn(String) -> ClaimTest,
            ),
            ("claim_prefix", self.claim_prefix, ClaimTest::Prefix),
            ("claim_suffix", self.claim_suffix, ClaimTest::Suffix),
        ];
        let mut claim_tests = Vec::new();
        for (field, entries, test) in tests {
            for (claim, value) in entries {
                if claim.is_empty() || value.is_empty() {
                    return Err(format!(
                        "field `machine.{field}`: expected a claim name and a non-empty value"
                    ));
                }
                claim_tests.push((claim, test(value)));
            }
        }
        for claim in self.claim_present {
            if claim.is_empty() {
                return Err("field `machine.claim_present`: empty claim name".into());
            }
            claim_tests.push((claim, ClaimTest::Present));
        }
        Ok(MachineRule {
            sub_equals: self.sub_equals_claim,
            claim_tests,
        })
    }
}

/// The TOML shape of a preset file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    jwks_url: Option<String>,
    #[serde(default)]
    discovery: bool,
    #[serde(default)]
    issuer: Option<String>,
    audience: AudienceRule,
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default = "default_audience_claims")]
    audience_claims: Vec<String>,
    #[serde(default = "default_client_id_claims")]
    client_id_claims: Vec<String>,
    algorithms: Vec<String>,
    #[serde(default = "default_leeway_secs")]
    leeway_secs: u64,
    #[serde(default = "default_token_sources")]
    token_sources: Vec<String>,
    #[serde(default)]
    claims: ClaimMap,
    #[serde(default)]
    authorized_parties: Vec<String>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default)]
    mock: MockSection,
    #[serde(default)]
    token: TokenSection,
    #[serde(default)]
    machine: MachineSection,
}

/// The `[mock]` table: how [`MockProvider`](crate::testing::MockProvider) imitates the
/// provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MockSection {
    #[serde(default = "default_mock_lifetime_secs")]
    token_lifetime_secs: u64,
}

impl Default for MockSection {
    fn default() -> Self {
        MockSection {
            token_lifetime_secs: default_mock_lifetime_secs(),
        }
    }
}

fn default_mock_lifetime_secs() -> u64 {
    3600
}

/// A preset as its file describes it, `{placeholders}` unfilled: what a tool shows about a
/// preset before it has the values ([`Provider::preset_info`]).
///
/// ```
/// let info = jwks_auth::Provider::preset_info("keycloak")?;
/// assert_eq!(info.issuer.as_deref(), Some("{origin}/realms/{realm}"));
/// let names: Vec<_> = info.params.iter().map(|p| p.name.as_str()).collect();
/// assert_eq!(names, ["origin", "realm", "audience"]);
/// # Ok::<_, jwks_auth::AuthError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PresetInfo {
    /// The preset's name.
    pub name: String,
    /// One line on what the preset is for.
    pub description: Option<String>,
    /// The `jwks_url` template; `None` for a preset that uses OIDC discovery.
    pub jwks_url: Option<String>,
    /// The `issuer` template.
    pub issuer: Option<String>,
    /// How `aud` is checked.
    pub audience_rule: AudienceRule,
    /// The `audiences` templates.
    pub audiences: Vec<String>,
    /// The allowed algorithms.
    pub algorithms: Vec<Algorithm>,
    /// The clock-skew leeway.
    pub leeway: Duration,
    /// Where the user id, email and scopes are read from.
    pub claims: ClaimMap,
    /// Where tokens are read from in a request.
    pub token_sources: Vec<TokenSource>,
    /// Every `{placeholder}` of the templates, in order of appearance, without the
    /// `{token.<claim>}` ones that each token fills itself.
    pub params: Vec<PresetParam>,
    /// How long the mock provider's tokens live (`[mock] token_lifetime_secs`, default 1 h).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))] // read by the testing kit only
    pub(crate) mock_token_lifetime: Duration,
    label: String,
    audience_claims: Vec<String>,
    client_id_claims: Vec<String>,
    authorized_parties: Vec<String>,
    defaults: BTreeMap<String, String>,
    token: TokenSpec,
}

/// One `{placeholder}` of a preset.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresetParam {
    /// Its name, as in `{name}`.
    pub name: String,
    /// The value the file's `[params]` table gives it, if any.
    pub default: Option<String>,
}

fn default_audience_claims() -> Vec<String> {
    vec!["aud".into()]
}
fn default_client_id_claims() -> Vec<String> {
    vec!["client_id".into()]
}
fn default_leeway_secs() -> u64 {
    60
}
fn default_token_sources() -> Vec<String> {
    vec!["bearer".into()]
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

    /// The names of the built-in presets (the files in `providers/`): `better-auth`,
    /// `auth0`, `clerk` first, then the others alphabetically.
    ///
    /// ```
    /// let names: Vec<_> = jwks_auth::Provider::builtin_names().collect();
    /// assert_eq!(names[..3], ["better-auth", "auth0", "clerk"]);
    /// ```
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN_PRESETS.iter().map(|(name, _)| *name)
    }

    /// What the built-in preset `name` says, placeholders unfilled: its description,
    /// templates and `{placeholders}`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an unknown name.
    pub fn preset_info(name: &str) -> Result<PresetInfo> {
        PresetInfo::parse(
            builtin_preset_source(name)?,
            &format!("providers/{name}.toml"),
        )
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

impl PresetInfo {
    /// Parses and checks preset TOML without filling its placeholders; `label` names it in
    /// errors.
    pub(crate) fn parse(source: &str, label: &str) -> Result<Self> {
        let bad = |message: String| AuthError::config(format!("{label}: {message}"));
        let file: PresetFile = toml::from_str(source)
            .map_err(|e| bad(e.message().to_owned() + &span_hint(source, e.span())))?;
        match (&file.jwks_url, file.discovery) {
            (Some(_), false) => {}
            (None, true) if file.issuer.is_some() => {}
            (None, true) => {
                return Err(bad(
                    "field `issuer`: discovery = true needs the issuer URL".into()
                ))
            }
            (Some(_), true) => {
                return Err(bad(
                    "field `jwks_url`: expected either jwks_url or discovery = true, not both"
                        .into(),
                ))
            }
            (None, false) => {
                return Err(bad(
                    "field `jwks_url`: missing (or set discovery = true)".into()
                ))
            }
        }
        let algorithms = file
            .algorithms
            .iter()
            .map(|name| {
                name.parse::<Algorithm>().map_err(|_| {
                    bad(format!(
                        "field `algorithms`: `{name}` is not a supported algorithm (expected one of EdDSA, ES256, ES384, ES512, RS256..PS512)"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if algorithms.is_empty() || algorithms.iter().any(|a| a.is_symmetric()) {
            return Err(bad(
                "field `algorithms`: expected a non-empty list of asymmetric algorithms".into(),
            ));
        }
        let token_sources = file
            .token_sources
            .iter()
            .map(|s| TokenSource::parse(s).map_err(|e| bad(format!("field `token_sources`: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        if file.claims.user_id.is_empty() {
            return Err(bad(
                "field `claims.user_id`: expected at least one claim name".into(),
            ));
        }
        let machine = file.machine.compile().map_err(bad)?;
        let token = file.token.compile(machine).map_err(bad)?;
        let templates = file
            .jwks_url
            .iter()
            .chain(&file.issuer)
            .chain(&file.audiences);
        let params = placeholders(templates)
            .map(|name| PresetParam {
                default: file.params.get(&name).cloned(),
                name,
            })
            .collect();
        Ok(PresetInfo {
            name: file.name,
            description: file.description,
            jwks_url: file.jwks_url,
            issuer: file.issuer,
            audience_rule: file.audience,
            audiences: file.audiences,
            algorithms,
            leeway: Duration::from_secs(file.leeway_secs),
            claims: file.claims,
            token_sources,
            params,
            mock_token_lifetime: Duration::from_secs(file.mock.token_lifetime_secs),
            label: label.to_owned(),
            audience_claims: file.audience_claims,
            client_id_claims: file.client_id_claims,
            authorized_parties: file.authorized_parties,
            defaults: file.params,
            token,
        })
    }

    /// The provider with the placeholders filled from `params`, which win over the file's
    /// `[params]`.
    pub(crate) fn fill(self, params: &[(&str, &str)]) -> Result<Provider> {
        let label = &self.label;
        let bad = |message: String| AuthError::config(format!("{label}: {message}"));
        let mut values = self.defaults.clone();
        for (key, value) in params {
            values.insert((*key).to_owned(), (*value).to_owned());
        }
        let fill_field = |field: &str, template: &str, allow_token: bool| {
            fill_template(template, &values, allow_token).map_err(|error| {
                bad(match error {
                    TemplateError::Missing(name) => format!(
                        "field `{field}`: placeholder `{{{name}}}` has no value (set it in [params])"
                    ),
                    TemplateError::Unclosed => {
                        format!("field `{field}`: unclosed `{{` (expected `{{name}}`)")
                    }
                    TemplateError::TokenPlaceholder => format!(
                        "field `{field}`: `{{token.<claim>}}` is allowed only in `issuer`"
                    ),
                    TemplateError::BadTokenPlaceholder(why) => format!("field `{field}`: {why}"),
                })
            })
        };
        let fill = |field: &str, template: &str| {
            fill_field(field, template, false).map(|filled| filled.text)
        };
        let keys = match &self.jwks_url {
            Some(template) => {
                let jwks_url = fill("jwks_url", template)?;
                Url::parse(&jwks_url)
                    .map_err(|e| bad(format!("field `jwks_url`: expected a URL ({e})")))?;
                KeySpec::Jwks(jwks_url)
            }
            None => KeySpec::Discovery,
        };
        Ok(Provider {
            keys,
            issuer: self
                .issuer
                .as_deref()
                .map(|t| fill_field("issuer", t, true))
                .transpose()?,
            audience_rule: self.audience_rule,
            audiences: self
                .audiences
                .iter()
                .map(|t| fill("audiences", t))
                .collect::<Result<_>>()?,
            name: self.name,
            audience_claims: self.audience_claims,
            client_id_claims: self.client_id_claims,
            algorithms: self.algorithms,
            leeway: self.leeway,
            claims: self.claims,
            token_sources: self.token_sources,
            authorized_parties: self.authorized_parties,
            token: self.token,
        })
    }
}

/// The distinct `{placeholder}` names in `templates`, in order of appearance, without the
/// `{token.<claim>}` ones. An unclosed `{` ends the scan (filling reports it).
fn placeholders<'a>(templates: impl Iterator<Item = &'a String>) -> impl Iterator<Item = String> {
    let mut names: Vec<String> = Vec::new();
    for template in templates {
        let mut rest = template.as_str();
        while let Some((_, after)) = rest.split_once('{') {
            let Some((name, tail)) = after.split_once('}') else {
                break;
            };
            if !name.starts_with("token.") && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
            rest = tail;
        }
    }
    names.into_iter()
}

fn asymmetric_algorithms() -> Vec<Algorithm> {
    Algorithm::ALL
        .into_iter()
        .filter(|alg| !alg.is_symmetric())
        .collect()
}

/// The value a preset's `{origin}` placeholder takes for a host or URL:
/// `scheme://host[:port]` of a URL, or `https://host` for a bare host name.
fn origin_of(input: &str) -> Result<String> {
    let input = input.trim().trim_end_matches('/');
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("https://{input}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| AuthError::config(format!("`{input}` is not a host or URL: {e}")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(AuthError::config(format!("`{input}` has no host")));
    }
    Ok(url.origin().ascii_serialization())
}

/// An expected issuer: its text, and where in it the one `{token.<claim>}` placeholder sits.
///
/// The position is kept apart from the text so that a preset parameter value is compared
/// literally: `{token.tid}` coming from `[params]` is text, not a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issuer {
    text: String,
    /// The byte range of `{token.<claim>}` in `text`, or why the text is not a usable issuer.
    placeholder: std::result::Result<Option<Range<usize>>, &'static str>,
}

impl Issuer {
    /// An issuer given as one string (the builder, [`Provider::oidc`]): a `{token.<claim>}`
    /// in it is the per-token placeholder.
    pub(crate) fn from_text(text: impl Into<String>) -> Self {
        let text = text.into();
        let placeholder = match text.find(TOKEN_PREFIX) {
            None => Ok(None),
            Some(start) => match text[start..].find('}') {
                None => Err("unclosed `{token.` in the issuer"),
                Some(len) if text[start + len..].contains('{') => Err(AT_MOST_ONE),
                Some(len) if len == TOKEN_PREFIX.len() => Err(EMPTY_CLAIM),
                Some(len) => Ok(Some(start..start + len + 1)),
            },
        };
        Issuer { text, placeholder }
    }

    /// The issuer as configured, placeholder included.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// `(prefix, claim, suffix)` around the `{token.<claim>}` placeholder, `None` for a fixed
    /// issuer.
    pub(crate) fn split(&self) -> Result<Option<(&str, &str, &str)>> {
        let range = self.placeholder.clone().map_err(AuthError::config)?;
        Ok(range.map(|range| {
            (
                &self.text[..range.start],
                &self.text[range.start + TOKEN_PREFIX.len()..range.end - 1],
                &self.text[range.end..],
            )
        }))
    }
}

const TOKEN_PREFIX: &str = "{token.";
const AT_MOST_ONE: &str = "the issuer may hold at most one `{token.<claim>}` placeholder";
const EMPTY_CLAIM: &str = "`{token.}` names no claim (expected `{token.<claim>}`)";

/// Why a template could not be filled.
#[derive(Debug)]
enum TemplateError {
    /// `{name}` has no value.
    Missing(String),
    /// A `{` without its `}`.
    Unclosed,
    /// `{token.<claim>}` outside `issuer`.
    TokenPlaceholder,
    /// Two `{token.<claim>}`, or one without a claim name.
    BadTokenPlaceholder(&'static str),
}

/// Replaces `{name}` placeholders with `values`, inserted literally (a value is never
/// expanded again). With `allow_token`, one `{token.<claim>}` is kept for the verifier.
fn fill_template(
    template: &str,
    values: &BTreeMap<String, String>,
    allow_token: bool,
) -> std::result::Result<Issuer, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut placeholder = None;
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let len = rest[start..].find('}').ok_or(TemplateError::Unclosed)?;
        let name = &rest[start + 1..start + len];
        if let Some(claim) = name.strip_prefix("token.") {
            // Filled per token at verification time (e.g. Entra's `{token.tid}`).
            if !allow_token {
                return Err(TemplateError::TokenPlaceholder);
            }
            if placeholder.is_some() {
                return Err(TemplateError::BadTokenPlaceholder(AT_MOST_ONE));
            }
            if claim.is_empty() {
                return Err(TemplateError::BadTokenPlaceholder(EMPTY_CLAIM));
            }
            placeholder = Some(out.len()..out.len() + len + 1);
            out.push_str(&rest[start..=start + len]);
        } else {
            let value = values
                .get(name)
                .ok_or_else(|| TemplateError::Missing(name.to_owned()))?;
            out.push_str(value);
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(Issuer {
        text: out,
        placeholder: Ok(placeholder),
    })
}

fn span_hint(source: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|span| {
        let start = span.start.min(source.len());
        let line = source[..start].matches('\n').count() + 1;
        // The offending line names the field, e.g. `leeway_secs = "thirty"`.
        let text = source.lines().nth(line - 1).unwrap_or_default().trim();
        format!(" (line {line}: `{text}`)")
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_presets_all_parse_with_their_own_placeholders() {
        assert!(Provider::builtin_names().count() >= 10);
        for name in Provider::builtin_names() {
            let info = Provider::preset_info(name).unwrap();
            let values: Vec<(&str, &str)> = info
                .params
                .iter()
                .map(|param| match param.name.as_str() {
                    "origin" => ("origin", "https://idp.example.com"),
                    other => (other, "value"),
                })
                .collect();
            let provider = Provider::preset(name, &values).unwrap();
            assert_eq!(provider.name(), name);
            assert!(provider.jwks_url().is_some(), "{name}");
        }
    }

    #[test]
    fn builtin_names_are_the_files_in_providers() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/providers");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".toml").map(str::to_owned)
            })
            .collect();
        files.sort();
        let mut names: Vec<_> = Provider::builtin_names().collect();
        assert_eq!(names[..3], ["better-auth", "auth0", "clerk"]);
        names.sort_unstable();
        assert_eq!(names, files);
        assert!(Provider::preset_info("no-such-idp").is_err());
    }

    #[test]
    fn preset_info_lists_placeholders_in_order_with_file_defaults() {
        let info = Provider::preset_info("entra-id").unwrap();
        assert_eq!(
            info.description.as_deref(),
            Some("Microsoft Entra ID v2.0 access and ID tokens")
        );
        assert_eq!(
            info.jwks_url.as_deref(),
            Some("{origin}/{tenant}/discovery/v2.0/keys")
        );
        let params: Vec<_> = info
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.default.as_deref()))
            .collect();
        assert_eq!(
            params,
            [
                ("origin", Some("https://login.microsoftonline.com")),
                ("tenant", None),
                ("audience", None),
            ]
        );
        // A per-token placeholder is not a parameter.
        let info = Provider::preset_info("entra-id-multitenant").unwrap();
        assert!(info.params.iter().all(|p| !p.name.starts_with("token.")));
    }

    #[test]
    fn mock_token_lifetime_comes_from_the_mock_table() {
        let lifetime = |name| Provider::preset_info(name).unwrap().mock_token_lifetime;
        assert_eq!(lifetime("better-auth"), Duration::from_secs(900));
        assert_eq!(lifetime("clerk"), Duration::from_secs(60));
        assert_eq!(lifetime("auth0"), Duration::from_secs(3600));
        let base = "name = \"x\"\njwks_url = \"https://x\"\naudience = \"none\"\nalgorithms = [\"RS256\"]\n";
        let info = PresetInfo::parse(base, "x.toml").unwrap();
        assert_eq!(info.mock_token_lifetime, Duration::from_secs(3600));
        let custom = format!("{base}[mock]\ntoken_lifetime_secs = 120\n");
        let info = PresetInfo::parse(&custom, "x.toml").unwrap();
        assert_eq!(info.mock_token_lifetime, Duration::from_secs(120));
        let typo = format!("{base}[mock]\ntoken_lifetime = 120\n");
        let err = PresetInfo::parse(&typo, "x.toml").unwrap_err().to_string();
        assert!(err.contains("token_lifetime"), "{err}");
    }

    #[test]
    fn machine_tables_are_checked_at_load() {
        let base = "name = \"x\"\njwks_url = \"https://x\"\naudience = \"none\"\nalgorithms = [\"RS256\"]\n";
        let machine = |table: &str| {
            PresetInfo::parse(&format!("{base}[machine]\n{table}\n"), "x.toml")
                .map(|info| info.token.machine)
        };
        let default = PresetInfo::parse(base, "x.toml").unwrap().token.machine;
        assert_eq!(default, MachineRule::default());
        assert_eq!(machine("").unwrap(), default);
        let rule = machine("sub_equals_claim = []\nclaim_suffix = { sub = \"@clients\" }").unwrap();
        assert_eq!(
            rule,
            MachineRule {
                sub_equals: Vec::new(),
                claim_tests: vec![("sub".into(), ClaimTest::Suffix("@clients".into()))],
            }
        );
        for (table, named) in [
            ("gty = \"client-credentials\"", "gty"),
            ("claim_equals = { gty = 1 }", "claim_equals"),
            ("claim_equals = { gty = \"\" }", "machine.claim_equals"),
            ("claim_prefix = { sub = \"\" }", "machine.claim_prefix"),
            ("sub_equals_claim = [\"sub\"]", "machine.sub_equals_claim"),
            ("claim_present = [\"\"]", "machine.claim_present"),
        ] {
            let err = machine(table).unwrap_err();
            let message = err.to_string();
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{table}");
            assert!(
                message.contains("x.toml") && message.contains(named),
                "{table}: {message}"
            );
        }
    }

    #[test]
    fn origin_of_accepts_hosts_and_urls() {
        assert_eq!(
            origin_of("tenant.auth0.com").unwrap(),
            "https://tenant.auth0.com"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/some/path/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(origin_of("").is_err());
        assert!(origin_of("not a host").is_err());
    }

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

    /// The error for a preset whose `jwks_url`, `audience` and `algorithms` lines are given,
    /// plus `extra` lines.
    fn preset_error(jwks_url: &str, audience: &str, algorithms: &str, extra: &str) -> String {
        let source = format!(
            "name = \"x\"\njwks_url = \"{jwks_url}\"\naudience = \"{audience}\"\nalgorithms = [{algorithms}]\n{extra}"
        );
        Provider::from_toml_str_with(&source, "custom.toml", &[])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_preset_files_name_the_file_and_field() {
        let err = preset_error("https://x", "none", "\"HS999\"", "");
        assert!(
            err.contains("custom.toml") && err.contains("algorithms"),
            "{err}"
        );
        let err = preset_error("https://x", "sometimes", "\"RS256\"", "");
        assert!(
            err.contains("custom.toml") && err.contains("sometimes"),
            "{err}"
        );
        let err = preset_error("{origin}/keys", "none", "\"RS256\"", "");
        assert!(
            err.contains("jwks_url") && err.contains("{origin}"),
            "{err}"
        );
        let err = preset_error("https://x", "none", "\"RS256\"", "colour = 1\n");
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn hmac_is_refused_in_presets() {
        let err = preset_error("https://x", "none", "\"HS256\"", "");
        assert!(err.contains("asymmetric"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let provider = Provider::shared_secret("super-secret-value-that-is-32-bytes!").unwrap();
        let debug = format!("{provider:?}");
        assert!(!debug.contains("super-secret"), "{debug}");
        assert!(debug.contains("redacted"));
    }
}
