//! The preset file format: its TOML tables, read and checked into a [`PresetInfo`] (the
//! preset with its `{placeholders}` unfilled), which [`PresetInfo::fill`] turns into a
//! [`Provider`]. The format is documented on [`Provider`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::template::{fill_template, placeholders, Issuer, TemplateError};
use super::{AudienceRule, KeySpec, Provider, TokenSpec};
use crate::algorithm::Algorithm;
use crate::claims::ClaimMap;
use crate::error::{AuthError, Result};
use crate::kinds::{
    ClaimTest, ClassSource, ClassSpec, MachineRule, TokenClass, TokenType, DEFAULT_SUB_EQUALS_CLAIM,
};
use crate::token_source::TokenSource;

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

pub(super) fn default_audience_claims() -> Vec<String> {
    vec!["aud".into()]
}
pub(super) fn default_client_id_claims() -> Vec<String> {
    vec!["client_id".into()]
}
fn default_leeway_secs() -> u64 {
    60
}
fn default_token_sources() -> Vec<String> {
    vec!["bearer".into()]
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
        let fill =
            |field: &str, template: &str| fill_field(field, template, false).map(Issuer::into_text);
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
}
