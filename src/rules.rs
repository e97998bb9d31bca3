//! The claim stage: [`Rules`], compiled once from a [`Provider`] when the verifier is built,
//! check a signed payload's time window, issuer, audience and authorized party, and name its
//! user. Pure and synchronous: a payload and a clock reading in, a verdict out.

use crate::claims::{AuthUser, ClaimReader};
use crate::error::{AuthError, Result};
use crate::kinds::{ClassSource, ClassSpec, MachineRule, TokenKind, TokenType};
use crate::payload::{Field, Fields, Payload, PayloadError};
use crate::protected_resource::canonical_uri;
use crate::provider::{AudienceRule, Issuer, Provider};

/// RFC 9068 §2.2: the claims an access token must carry.
const ACCESS_TOKEN_CLAIMS: [&str; 7] = ["exp", "iss", "aud", "sub", "client_id", "iat", "jti"];

/// The compiled claim rules of one verifier.
#[derive(Debug)]
pub(crate) struct Rules {
    issuer: Option<IssuerRule>,
    /// Accepted audiences; empty when none is expected.
    audiences: Vec<String>,
    /// The `http(s)` audiences with scheme and host lowercased, for a token whose `aud`
    /// differs from them only in that case (RFC 3986 §6.2.2.1).
    canonical_audiences: Vec<String>,
    /// The claims that may carry the audience (usually just `aud`).
    audience_claims: Vec<Field>,
    /// Accept any `aud`, or none ([`VerifierBuilder::any_audience`](crate::VerifierBuilder::any_audience)).
    any_audience: bool,
    /// Accepted `azp` values; when non-empty, `azp` is required.
    authorized_parties: Vec<String>,
    /// The registered claims the checks read.
    exp: Field,
    nbf: Field,
    iat: Field,
    aud: Field,
    azp: Field,
    /// Clock-skew leeway for `exp`, `nbf` and `iat`, in seconds.
    leeway: i64,
    claims: ClaimReader,
    /// `sub`, and what marks a machine token besides its class.
    sub: Field,
    machine: MachineRule<Field>,
    /// The claims naming the OAuth client, tried in order ([`AuthUser::client_id`]).
    client_id: Vec<Field>,
    /// The accepted `typ` header values.
    token_type: TokenType,
    /// The RFC 9068 claims, when [`TokenType::AccessToken`] is required.
    access_token_claims: Option<[Field; ACCESS_TOKEN_CLAIMS.len()]>,
    /// The token classes, when the provider tells them apart.
    classes: Option<ClassRule>,
    /// Every member the rules and the claim map read.
    fields: Fields,
    /// What granted scopes imply ([`ScopeHierarchy`](crate::ScopeHierarchy)).
    pub(crate) implied_scopes: Option<crate::scope_hierarchy::ImpliedScopes>,
}

/// A provider's token classes, compiled: which are accepted.
#[derive(Debug)]
struct ClassRule {
    spec: ClassSpec,
    /// Per class of `spec`: accepted.
    accepted: Vec<bool>,
    /// The claim naming the class, when the class is read from a claim.
    claim: Option<Field>,
    /// Per class of `spec`: its audience claims, when it has its own.
    audience_claims: Vec<Option<Vec<Field>>>,
}

/// The class a token's header names, found while its header is at hand (the header is not
/// kept past the signature stage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum HeaderClass {
    /// The provider reads no class from the header.
    #[default]
    NotRead,
    /// The index of the accepted class the header names.
    Class(usize),
}

/// When a verified token stops (and starts) being valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) exp: i64,
    pub(crate) nbf: Option<i64>,
}

impl Validity {
    /// RFC 7519 §4.1.4/§4.1.5: valid from `nbf` and before `exp`, give or take `leeway`.
    pub(crate) fn check(&self, now: i64, leeway: i64) -> Result<()> {
        not_expired(self.exp, now, leeway)?;
        match self.nbf {
            Some(nbf) => not_in_future(nbf, now, leeway),
            None => Ok(()),
        }
    }
}

/// RFC 7519 §4.1.4: the current time must be before `exp` (plus the leeway).
fn not_expired(exp: i64, now: i64, leeway: i64) -> Result<()> {
    if now >= exp.saturating_add(leeway) {
        return Err(AuthError::expired(exp, now));
    }
    Ok(())
}

fn not_in_future(not_before: i64, now: i64, leeway: i64) -> Result<()> {
    if not_before > now.saturating_add(leeway) {
        return Err(AuthError::not_yet_valid(not_before, now));
    }
    Ok(())
}

impl Rules {
    /// Compiles `provider`'s claim rules; `any_audience` as set on the builder.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a malformed issuer template, the
    /// audience rule `issuer` without a fixed issuer, or a required audience that is missing.
    #[cfg(test)]
    pub(crate) fn compile(provider: &Provider, any_audience: bool) -> Result<Rules> {
        Self::compile_with(provider, any_audience, None)
    }

    /// As [`compile`](Self::compile), with the accepted token classes replaced by `accept`
    /// (names of the provider's classes).
    ///
    /// # Errors
    /// Also [`ErrorKind::Config`](crate::ErrorKind::Config) for a class name the provider
    /// does not define, or classes asked of a provider that has none.
    pub(crate) fn compile_with(
        provider: &Provider,
        any_audience: bool,
        accept: Option<&[String]>,
    ) -> Result<Rules> {
        let issuer = provider
            .issuer
            .as_ref()
            .map(IssuerRule::parse)
            .transpose()?;
        let audiences = match provider.audience_rule {
            AudienceRule::Issuer => match &issuer {
                Some(IssuerRule::Exact { issuer, .. }) => vec![issuer.clone()],
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
        let mut fields = Fields::default();
        let [exp, nbf, iat, aud, azp] =
            ["exp", "nbf", "iat", "aud", "azp"].map(|name| fields.add_path(name));
        let issuer = issuer.map(|issuer| issuer.resolve(&mut fields));
        let audience_claims = provider
            .audience_claims
            .iter()
            .map(|name| fields.add_path(name))
            .collect();
        let claims = provider.claims.reader(&mut fields);
        // `AuthUser::client_id` and `kind`.
        let sub = fields.add_path("sub");
        let machine = provider.token.machine.map(|name| fields.add_path(name));
        let client_id = provider
            .client_id_claims
            .iter()
            .map(|name| fields.add_path(name))
            .collect();
        let token_type = provider.token.typ.clone();
        let access_token_claims = (token_type == TokenType::AccessToken)
            .then(|| ACCESS_TOKEN_CLAIMS.map(|name| fields.add_path(name)));
        let classes = match (&provider.token.classes, accept) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(AuthError::config(format!(
                    "provider `{}` defines no token classes",
                    provider.name
                )))
            }
            (Some(spec), accept) => {
                let accept = accept.unwrap_or(&spec.accept);
                if let Some(name) = accept
                    .iter()
                    .find(|name| !spec.classes.iter().any(|c| c.name == **name))
                {
                    return Err(AuthError::config(format!(
                        "unknown token class `{name}` (provider `{}` has: {})",
                        provider.name,
                        spec.names()
                    )));
                }
                let claim = match &spec.source {
                    ClassSource::Claim(claim) => Some(fields.add_path(claim)),
                    ClassSource::HeaderCat => None,
                };
                let audience_claims = spec
                    .classes
                    .iter()
                    .map(|class| {
                        let claims = class.audience_claims.as_ref()?;
                        Some(claims.iter().map(|name| fields.add_path(name)).collect())
                    })
                    .collect();
                Some(ClassRule {
                    accepted: spec
                        .classes
                        .iter()
                        .map(|class| accept.contains(&class.name))
                        .collect(),
                    claim,
                    audience_claims,
                    spec: spec.clone(),
                })
            }
        };
        Ok(Rules {
            token_type,
            classes,
            issuer,
            canonical_audiences: audiences
                .iter()
                .filter(|audience| audience.contains("://"))
                .map(|audience| canonical_uri(audience).into_owned())
                .collect(),
            audiences,
            audience_claims,
            any_audience,
            authorized_parties: provider.authorized_parties.clone(),
            exp,
            nbf,
            iat,
            aud,
            azp,
            leeway: i64::try_from(provider.leeway.as_secs()).unwrap_or(i64::MAX),
            claims,
            sub,
            machine,
            client_id,
            access_token_claims,
            fields,
            implied_scopes: None,
        })
    }

    /// The issuer required, as configured (a per-token template included); `None` when any
    /// issuer is accepted.
    pub(crate) fn issuer(&self) -> Option<&str> {
        self.issuer.as_ref().map(IssuerRule::as_str)
    }

    /// True when the expected issuer is filled from the token itself (`{token.<claim>}`), so
    /// it names no single issuer.
    pub(crate) fn issuer_is_per_token(&self) -> bool {
        matches!(self.issuer, Some(IssuerRule::PerToken { .. }))
    }

    /// The clock-skew leeway in seconds.
    pub(crate) fn leeway(&self) -> i64 {
        self.leeway
    }

    /// Reads payload text: the members these rules need, with every payload-wide check
    /// (unique names, bounded depth).
    pub(crate) fn read<'a>(&self, json: &'a str) -> Result<Payload<'a, '_>> {
        Payload::parse(json, &self.fields).map_err(|e| {
            AuthError::malformed(match e {
                PayloadError::Invalid => "payload is not a JSON object with unique names",
                PayloadError::TooDeep => "payload nests too deeply",
            })
        })
    }

    /// The header stage of the token-kind rules: `typ`, and the class when the header names
    /// it (Clerk's `cat`).
    pub(crate) fn check_header(&self, typ: Option<&str>, cat: Option<&str>) -> Result<HeaderClass> {
        if !self.token_type.accepts(typ) {
            return Err(AuthError::invalid_token_type("typ"));
        }
        match &self.classes {
            Some(rule) if rule.spec.source == ClassSource::HeaderCat => {
                rule.accepted_class(cat, "cat").map(HeaderClass::Class)
            }
            _ => Ok(HeaderClass::NotRead),
        }
    }

    /// The accepted class of a checked token: from the header stage, or from its claim.
    fn class(&self, payload: &Payload<'_, '_>, header: HeaderClass) -> Result<Option<usize>> {
        let Some(rule) = &self.classes else {
            return Ok(None);
        };
        match (&rule.spec.source, header) {
            (ClassSource::HeaderCat, HeaderClass::Class(index)) => Ok(Some(index)),
            // Fail closed: the header stage did not run.
            (ClassSource::HeaderCat, HeaderClass::NotRead) => {
                Err(AuthError::invalid_token_type("cat"))
            }
            (ClassSource::Claim(claim), _) => {
                // Compiled together with the source: a claim source always has its field.
                let Some(field) = rule.claim else {
                    return Err(AuthError::invalid_token_type(claim.as_str()));
                };
                let value = match payload.str(field) {
                    Some(value) => Some(value),
                    None if payload.has(field) => {
                        return Err(AuthError::invalid_claim(claim.as_str()))
                    }
                    None => None,
                };
                rule.accepted_class(value.as_deref(), claim).map(Some)
            }
        }
    }

    /// Checks, in order: `exp` (required), `nbf`, `iat`, `iss`, `aud`, `azp`. Returns the
    /// token's validity window. For a provider that reads the token class from the header,
    /// use [`check_token`](Self::check_token).
    #[cfg(test)]
    pub(crate) fn check(&self, payload: &Payload<'_, '_>, now: i64) -> Result<Validity> {
        self.check_token(payload, now, HeaderClass::NotRead)
            .map(|checked| checked.validity)
    }

    /// Checks, in order: `exp` (required), `nbf`, `iat`, `iss`, the token class (its
    /// claim, or `header` from [`check_header`](Self::check_header)), `aud` (in the class's
    /// audience claims), `azp`, and for RFC 9068 access tokens the required claims.
    pub(crate) fn check_token(
        &self,
        payload: &Payload<'_, '_>,
        now: i64,
        header: HeaderClass,
    ) -> Result<Checked> {
        let date = |field: Field, name: &'static str| {
            payload
                .date(field)
                .map_err(|_| AuthError::invalid_claim(name))
        };
        let exp = date(self.exp, "exp")?.ok_or_else(|| AuthError::missing_claim("exp"))?;
        not_expired(exp, now, self.leeway)?;
        let nbf = date(self.nbf, "nbf")?;
        for not_before in [nbf, date(self.iat, "iat")?].into_iter().flatten() {
            not_in_future(not_before, now, self.leeway)?;
        }
        if let Some(issuer) = &self.issuer {
            issuer.check(payload)?;
        }
        let class = self.class(payload, header)?;
        let audience_claims = class
            .and_then(|index| {
                self.classes
                    .as_ref()?
                    .audience_claims
                    .get(index)?
                    .as_deref()
            })
            .unwrap_or(&self.audience_claims);
        self.check_audience(payload, audience_claims)?;
        if !self.authorized_parties.is_empty() {
            let azp = payload.str(self.azp);
            if !azp.is_some_and(|azp| self.authorized_parties.iter().any(|p| *p == azp)) {
                return Err(AuthError::invalid_authorized_party());
            }
        }
        if let Some(fields) = &self.access_token_claims {
            if let Some((name, _)) = ACCESS_TOKEN_CLAIMS
                .iter()
                .zip(fields)
                .find(|(_, &field)| !payload.has(field))
            {
                return Err(AuthError::missing_claim(*name));
            }
        }
        let machine_class = class
            .and_then(|index| Some(self.classes.as_ref()?.spec.classes[index].machine))
            .unwrap_or(false);
        let kind = if machine_class || self.is_machine(payload) {
            TokenKind::Machine
        } else {
            TokenKind::User
        };
        Ok(Checked {
            validity: Validity { exp, nbf },
            kind,
        })
    }

    /// Whether the payload bears a sign of a machine (client-credentials) token: `sub` equal
    /// to a client claim (RFC 9068 §2.2), or a claim the preset names.
    fn is_machine(&self, payload: &Payload<'_, '_>) -> bool {
        let rule = &self.machine;
        let sub_is_a_client = !rule.sub_equals.is_empty()
            && payload.str(self.sub).is_some_and(|sub| {
                !sub.is_empty()
                    && rule
                        .sub_equals
                        .iter()
                        .any(|&client| payload.str(client).is_some_and(|c| c == sub))
            });
        sub_is_a_client
            || rule
                .claim_tests
                .iter()
                .any(|(field, test)| payload.holds(*field, |value| test.accepts(value)))
    }

    /// `aud` is an accepted audience, exactly or, for a URI, up to the case of its scheme
    /// and host.
    fn accepts_audience(&self, aud: &str) -> bool {
        self.audiences.iter().any(|a| a == aud)
            || (!self.canonical_audiences.is_empty()
                && aud.contains("://")
                && self
                    .canonical_audiences
                    .iter()
                    .any(|a| *a == canonical_uri(aud)))
    }

    fn check_audience(&self, payload: &Payload<'_, '_>, audience_claims: &[Field]) -> Result<()> {
        let ok = if !self.audiences.is_empty() {
            // Usually just `aud`; Cognito access tokens name their client in `client_id`.
            audience_claims
                .iter()
                .any(|&field| payload.holds(field, |aud| self.accepts_audience(aud)))
        } else {
            // RFC 7519 §4.1.3: a token meant for some audience is not meant for us.
            self.any_audience || !payload.has(self.aud)
        };
        if ok {
            Ok(())
        } else {
            Err(AuthError::invalid_audience())
        }
    }

    /// The user a checked payload names (without its claims yet: the caller attaches the
    /// payload text once the borrow ends).
    ///
    /// # Errors
    /// [`ErrorKind::MissingClaim`](crate::ErrorKind::MissingClaim) when no user-id claim is a
    /// non-empty string.
    pub(crate) fn identify(&self, payload: &Payload<'_, '_>, kind: TokenKind) -> Result<AuthUser> {
        let mut user = self
            .claims
            .identify(payload)
            .ok_or_else(|| AuthError::missing_claim(self.claims.user_id_claim()))?;
        user.client_id = self
            .client_id
            .iter()
            .find_map(|&field| payload.str(field).filter(|id| !id.is_empty()))
            .map(Into::into);
        user.kind = kind;
        if let Some(implied) = &self.implied_scopes {
            implied.extend(&mut user.scopes);
        }
        Ok(user)
    }
}

/// What the claim checks found: the validity window and the token's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checked {
    pub(crate) validity: Validity,
    pub(crate) kind: TokenKind,
}

impl ClassRule {
    /// The index of the accepted class `value` names (`None`: member absent); `member`
    /// names the header member or claim in the error.
    fn accepted_class(&self, value: Option<&str>, member: &str) -> Result<usize> {
        match self.spec.class_of(value) {
            Some(index) if self.accepted[index] => Ok(index),
            _ => Err(AuthError::invalid_token_type(member.to_owned())),
        }
    }
}

/// The expected `iss`: a fixed string, or a template with one `{token.<claim>}` filled from
/// the token itself (multi-tenant issuers). `C` names a claim: its name while compiling, then
/// its [`Field`].
#[derive(Debug)]
enum IssuerRule<C = Field> {
    Exact {
        issuer: String,
        iss: C,
    },
    PerToken {
        template: String,
        prefix: String,
        suffix: String,
        iss: C,
        /// The claim filling the template.
        claim: C,
    },
}

impl IssuerRule<String> {
    fn parse(issuer: &Issuer) -> Result<Self> {
        let iss = "iss".to_owned();
        let Some((prefix, claim, suffix)) = issuer.split()? else {
            return Ok(IssuerRule::Exact {
                issuer: issuer.as_str().to_owned(),
                iss,
            });
        };
        Ok(IssuerRule::PerToken {
            template: issuer.as_str().to_owned(),
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            iss,
            claim: claim.to_owned(),
        })
    }

    /// The rule reading its claims through `fields`.
    fn resolve(self, fields: &mut Fields) -> IssuerRule {
        match self {
            IssuerRule::Exact { issuer, iss } => IssuerRule::Exact {
                issuer,
                iss: fields.add_path(&iss),
            },
            IssuerRule::PerToken {
                template,
                prefix,
                suffix,
                iss,
                claim,
            } => IssuerRule::PerToken {
                template,
                prefix,
                suffix,
                iss: fields.add_path(&iss),
                claim: fields.add_path(&claim),
            },
        }
    }
}

impl IssuerRule {
    fn as_str(&self) -> &str {
        match self {
            IssuerRule::Exact { issuer, .. } => issuer,
            IssuerRule::PerToken { template, .. } => template,
        }
    }

    fn check(&self, payload: &Payload<'_, '_>) -> Result<()> {
        let ok = match self {
            IssuerRule::Exact { issuer, iss } => payload.str(*iss).as_deref() == Some(issuer),
            IssuerRule::PerToken {
                prefix,
                suffix,
                iss,
                claim,
                ..
            } => {
                // Only a plain identifier may be spliced into the issuer (no `/`, no `..`).
                let value = payload
                    .str(*claim)
                    .filter(|value| is_plain_identifier(value));
                match (payload.str(*iss).as_deref(), value.as_deref()) {
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

fn is_plain_identifier(value: &str) -> bool {
    !value.is_empty()
        && value != ".."
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, TimeContext};
    use serde_json::{json, Value};

    const NOW: i64 = 1_700_000_000;
    const LEEWAY: i64 = 60;

    /// A provider with no issuer and no audience (the shared-secret preset), changed by `edit`.
    fn provider(edit: impl FnOnce(&mut Provider)) -> Provider {
        let mut provider = Provider::shared_secret("0123456789abcdef0123456789abcdef").unwrap();
        edit(&mut provider);
        provider
    }

    fn rules(edit: impl FnOnce(&mut Provider)) -> Rules {
        Rules::compile(&provider(edit), false).unwrap()
    }

    /// Runs `check`, then `identify`, on the claims `value`, at `NOW`.
    fn run(rules: &Rules, value: Value) -> Result<Validity> {
        let json = value.to_string();
        let payload = rules.read(&json)?;
        let checked = rules.check_token(&payload, NOW, HeaderClass::NotRead)?;
        rules.identify(&payload, checked.kind)?;
        Ok(checked.validity)
    }

    /// `claims` plus a valid `sub` and `exp` unless they are given (`null` removes one).
    fn claims(extra: Value) -> Value {
        let mut claims = json!({"sub": "u1", "exp": NOW + 600});
        for (name, value) in extra.as_object().unwrap() {
            match value {
                Value::Null => claims.as_object_mut().unwrap().remove(name),
                value => claims
                    .as_object_mut()
                    .unwrap()
                    .insert(name.clone(), value.clone()),
            };
        }
        claims
    }

    fn kind(result: Result<Validity>) -> ErrorKind {
        result.unwrap_err().kind()
    }

    fn plain() -> Rules {
        rules(|_| {})
    }

    fn with_issuer(issuer: &str) -> Rules {
        rules(|p| p.issuer = Some(Issuer::from_text(issuer)))
    }

    fn with_audience(audience: &str) -> Rules {
        rules(|p| {
            p.audiences = vec![audience.into()];
            p.audience_rule = AudienceRule::Required;
        })
    }

    #[test]
    fn exp_in_future_ok() {
        let validity = run(&plain(), claims(json!({"nbf": NOW - 5}))).unwrap();
        assert_eq!(
            validity,
            Validity {
                exp: NOW + 600,
                nbf: Some(NOW - 5)
            }
        );
    }

    #[test]
    fn exp_in_past_fails() {
        let err = run(&plain(), claims(json!({"exp": NOW - LEEWAY - 1}))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Expired);
        let context = err.time_context().unwrap();
        assert_eq!((context.bound, context.now), (NOW - LEEWAY - 1, NOW));
    }

    #[test]
    fn exp_in_past_but_in_leeway_ok() {
        assert!(run(&plain(), claims(json!({"exp": NOW - LEEWAY + 1}))).is_ok());
    }

    #[test]
    fn exp_plus_leeway_equal_to_now_fails() {
        let result = run(&plain(), claims(json!({"exp": NOW - LEEWAY})));
        assert_eq!(kind(result), ErrorKind::Expired);
    }

    #[test]
    fn exp_without_leeway_equal_to_now_fails() {
        let rules = rules(|p| p.leeway = std::time::Duration::ZERO);
        assert_eq!(
            kind(run(&rules, claims(json!({"exp": NOW})))),
            ErrorKind::Expired
        );
        assert!(run(&rules, claims(json!({"exp": NOW + 1}))).is_ok());
    }

    #[test]
    fn missing_exp_fails() {
        let err = run(&plain(), claims(json!({"exp": null}))).unwrap_err();
        assert_eq!(
            (err.kind(), err.claim()),
            (ErrorKind::MissingClaim, Some("exp"))
        );
    }

    #[test]
    fn exp_of_the_wrong_type_fails() {
        for exp in [
            json!("1700000600"),
            json!(true),
            json!([NOW + 600]),
            json!(1e30),
        ] {
            let err = run(&plain(), claims(json!({ "exp": exp }))).unwrap_err();
            assert_eq!(
                (err.kind(), err.claim()),
                (ErrorKind::InvalidClaim, Some("exp"))
            );
        }
    }

    #[test]
    fn exp_as_a_float_is_truncated() {
        let validity = run(&plain(), claims(json!({"exp": (NOW + 10) as f64 + 0.9}))).unwrap();
        assert_eq!(validity.exp, NOW + 10);
    }

    #[test]
    fn extreme_exp_and_leeway_do_not_overflow() {
        let rules = rules(|p| p.leeway = std::time::Duration::from_secs(u64::MAX));
        assert!(run(&rules, claims(json!({"exp": i64::MAX, "nbf": i64::MAX}))).is_ok());
        let oldest = claims(json!({"exp": i64::MIN}));
        assert_eq!(kind(run(&rules, oldest)), ErrorKind::Expired);
    }

    #[test]
    fn nbf_in_future_fails() {
        let err = run(&plain(), claims(json!({"nbf": NOW + LEEWAY + 1}))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotYetValid);
        assert_eq!(
            err.time_context(),
            Some(TimeContext {
                bound: NOW + LEEWAY + 1,
                now: NOW
            })
        );
    }

    #[test]
    fn nbf_in_future_but_in_leeway_ok() {
        assert!(run(&plain(), claims(json!({"nbf": NOW + LEEWAY}))).is_ok());
    }

    #[test]
    fn nbf_of_the_wrong_type_fails() {
        let err = run(&plain(), claims(json!({"nbf": "now"}))).unwrap_err();
        assert_eq!(
            (err.kind(), err.claim()),
            (ErrorKind::InvalidClaim, Some("nbf"))
        );
    }

    #[test]
    fn iat_in_future_fails() {
        let result = run(&plain(), claims(json!({"iat": NOW + LEEWAY + 1})));
        assert_eq!(kind(result), ErrorKind::NotYetValid);
    }

    #[test]
    fn iat_in_future_but_in_leeway_ok() {
        assert!(run(&plain(), claims(json!({"iat": NOW + LEEWAY}))).is_ok());
    }

    #[test]
    fn iat_of_the_wrong_type_fails() {
        let err = run(&plain(), claims(json!({"iat": null}))).map(drop);
        assert!(err.is_ok(), "a null given to `claims` removes the claim");
        let err = run(&plain(), claims(json!({"iat": {}}))).unwrap_err();
        assert_eq!(
            (err.kind(), err.claim()),
            (ErrorKind::InvalidClaim, Some("iat"))
        );
    }

    #[test]
    fn expiry_is_judged_before_the_other_dates() {
        let late = claims(json!({"exp": NOW - 3600, "nbf": "bad", "iat": NOW + 3600}));
        assert_eq!(kind(run(&plain(), late)), ErrorKind::Expired);
    }

    #[test]
    fn cached_validity_uses_the_same_boundaries() {
        let validity = Validity {
            exp: NOW,
            nbf: Some(NOW + LEEWAY),
        };
        assert!(validity.check(NOW, LEEWAY).is_ok());
        assert_eq!(
            validity.check(NOW + LEEWAY, LEEWAY).unwrap_err().kind(),
            ErrorKind::Expired
        );
        assert_eq!(
            validity.check(NOW - 1, LEEWAY).unwrap_err().kind(),
            ErrorKind::NotYetValid
        );
    }

    #[test]
    fn iss_equal_ok() {
        let rules = with_issuer("https://idp.example");
        assert!(run(&rules, claims(json!({"iss": "https://idp.example"}))).is_ok());
        // An escaped slash is the same string.
        let json = format!(
            r#"{{"sub":"u","exp":{},"iss":"https:\/\/idp.example"}}"#,
            NOW + 9
        );
        let payload = rules.read(&json).unwrap();
        assert!(rules.check(&payload, NOW).is_ok());
    }

    #[test]
    fn iss_mismatch_fails() {
        let rules = with_issuer("https://idp.example");
        for iss in [
            json!("https://idp.example/"),
            json!("https://evil.example"),
            json!(["https://idp.example"]),
        ] {
            assert_eq!(
                kind(run(&rules, claims(json!({ "iss": iss })))),
                ErrorKind::InvalidIssuer
            );
        }
    }

    #[test]
    fn missing_iss_fails_when_an_issuer_is_required() {
        let rules = with_issuer("https://idp.example");
        assert_eq!(
            kind(run(&rules, claims(json!({})))),
            ErrorKind::InvalidIssuer
        );
    }

    #[test]
    fn any_issuer_accepts_any_or_no_iss() {
        assert!(run(&plain(), claims(json!({"iss": "https://whoever.example"}))).is_ok());
        assert!(run(&plain(), claims(json!({}))).is_ok());
    }

    #[test]
    fn per_token_issuer_fills_in_a_plain_identifier_from_the_token() {
        let rules = with_issuer("https://login.example/{token.tid}/v2.0");
        assert!(rules.issuer_is_per_token());
        let ok = claims(json!({"tid": "t-1", "iss": "https://login.example/t-1/v2.0"}));
        assert!(run(&rules, ok).is_ok());
        for (tid, iss) in [
            (json!("t-2"), "https://login.example/t-1/v2.0"),
            (json!("a/b"), "https://login.example/a/b/v2.0"),
            (json!(".."), "https://login.example/../v2.0"),
            (json!(""), "https://login.example//v2.0"),
            (json!(7), "https://login.example/7/v2.0"),
            (Value::Null, "https://login.example/t-1/v2.0"),
        ] {
            let token = claims(json!({"tid": tid, "iss": iss}));
            assert_eq!(
                kind(run(&rules, token)),
                ErrorKind::InvalidIssuer,
                "{tid} {iss}"
            );
        }
    }

    #[test]
    fn a_fixed_issuer_is_not_per_token() {
        assert!(!with_issuer("https://idp.example").issuer_is_per_token());
        assert!(!plain().issuer_is_per_token());
        assert_eq!(plain().issuer(), None);
        assert_eq!(
            with_issuer("https://a.example/{token.x}").issuer(),
            Some("https://a.example/{token.x}")
        );
    }

    #[test]
    fn aud_string_or_array_member_ok() {
        let rules = with_audience("api");
        assert!(run(&rules, claims(json!({"aud": "api"}))).is_ok());
        assert!(run(&rules, claims(json!({"aud": ["other", "api"]}))).is_ok());
    }

    #[test]
    fn aud_mismatch_fails() {
        let rules = with_audience("api");
        for aud in [
            json!("apis"),
            json!(["other"]),
            json!([]),
            json!(["API"]),
            json!(1),
        ] {
            assert_eq!(
                kind(run(&rules, claims(json!({ "aud": aud })))),
                ErrorKind::InvalidAudience
            );
        }
    }

    #[test]
    fn missing_aud_fails_when_an_audience_is_required() {
        let rules = with_audience("api");
        assert_eq!(
            kind(run(&rules, claims(json!({})))),
            ErrorKind::InvalidAudience
        );
    }

    #[test]
    fn aud_is_refused_when_no_audience_is_configured() {
        for aud in [json!("api"), json!([]), json!({})] {
            assert_eq!(
                kind(run(&plain(), claims(json!({ "aud": aud })))),
                ErrorKind::InvalidAudience
            );
        }
        assert!(run(&plain(), claims(json!({}))).is_ok());
    }

    #[test]
    fn any_audience_accepts_any_or_no_aud() {
        let rules = Rules::compile(&provider(|_| {}), true).unwrap();
        assert!(run(&rules, claims(json!({"aud": "whatever"}))).is_ok());
        assert!(run(&rules, claims(json!({}))).is_ok());
    }

    #[test]
    fn the_audience_may_be_read_from_another_claim() {
        let rules = rules(|p| {
            p.audiences = vec!["client-1".into()];
            p.audience_rule = AudienceRule::Required;
            p.audience_claims = vec!["aud".into(), "client_id".into()];
        });
        assert!(run(&rules, claims(json!({"client_id": "client-1"}))).is_ok());
        assert!(run(&rules, claims(json!({"aud": "client-1"}))).is_ok());
        let wrong = claims(json!({"client_id": "client-2"}));
        assert_eq!(kind(run(&rules, wrong)), ErrorKind::InvalidAudience);
    }

    #[test]
    fn audience_rule_issuer_expects_the_issuer_as_audience() {
        let rules = rules(|p| {
            p.issuer = Some(Issuer::from_text("https://auth.example"));
            p.audience_rule = AudienceRule::Issuer;
        });
        let ok = claims(json!({"iss": "https://auth.example", "aud": "https://auth.example"}));
        assert!(run(&rules, ok).is_ok());
        let other = claims(json!({"iss": "https://auth.example", "aud": "api"}));
        assert_eq!(kind(run(&rules, other)), ErrorKind::InvalidAudience);
    }

    #[test]
    fn contradictory_audience_settings_do_not_compile() {
        let per_token = provider(|p| {
            p.issuer = Some(Issuer::from_text("https://a.example/{token.t}"));
            p.audience_rule = AudienceRule::Issuer;
        });
        let no_issuer = provider(|p| p.audience_rule = AudienceRule::Issuer);
        let no_audience = provider(|p| {
            p.audience_rule = AudienceRule::Required;
            p.audiences = vec![String::new()];
        });
        for provider in [per_token, no_issuer, no_audience] {
            let err = Rules::compile(&provider, false).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
        }
    }

    #[test]
    fn azp_is_required_and_checked_when_parties_are_configured() {
        let rules = rules(|p| p.authorized_parties = vec!["https://app.example".into()]);
        assert!(run(&rules, claims(json!({"azp": "https://app.example"}))).is_ok());
        for azp in [
            json!("https://evil.example"),
            json!(["https://app.example"]),
            Value::Null,
        ] {
            let token = claims(json!({ "azp": azp }));
            assert_eq!(kind(run(&rules, token)), ErrorKind::InvalidAuthorizedParty);
        }
    }

    #[test]
    fn azp_is_ignored_when_no_parties_are_configured() {
        assert!(run(&plain(), claims(json!({"azp": "anyone"}))).is_ok());
    }

    #[test]
    fn a_token_without_a_user_id_names_the_missing_claim() {
        let err = run(&plain(), claims(json!({"sub": null}))).unwrap_err();
        assert_eq!(
            (err.kind(), err.claim()),
            (ErrorKind::MissingClaim, Some("sub"))
        );
        let err = run(&plain(), claims(json!({"sub": ""}))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingClaim);
    }

    #[test]
    fn duplicate_or_deep_claims_are_malformed() {
        let rules = plain();
        let duplicate = format!(r#"{{"sub":"u","exp":{},"exp":{}}}"#, NOW + 9, NOW + 9);
        assert_eq!(
            rules.read(&duplicate).unwrap_err().kind(),
            ErrorKind::Malformed
        );
        let deep = format!(r#"{{"x":{}{}}}"#, "[".repeat(80), "]".repeat(80));
        let err = rules.read(&deep).unwrap_err();
        assert_eq!(err.detail(), Some("payload nests too deeply"));
    }

    fn classes(source: ClassSource) -> crate::kinds::ClassSpec {
        use crate::kinds::TokenClass;
        let class = |name: &str, value: &str, machine: bool, aud: &str| TokenClass {
            name: name.into(),
            values: vec![value.into()],
            machine,
            audience_claims: Some(vec![aud.into()]),
        };
        crate::kinds::ClassSpec {
            source,
            classes: vec![
                class("access", "access", false, "client_id"),
                class("m2m", "m2m", true, "aud"),
            ],
            accept: vec!["access".into()],
        }
    }

    #[test]
    fn access_token_type_refuses_another_typ_in_the_header() {
        let rules = rules(|p| p.token.typ = TokenType::AccessToken);
        assert_eq!(
            rules
                .check_header(Some("application/at+jwt"), None)
                .unwrap(),
            HeaderClass::NotRead
        );
        let err = rules.check_header(Some("JWT"), None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTokenType);
        assert!(rules.check_header(None, None).is_err());
    }

    #[test]
    fn access_token_type_requires_jti_and_client_id() {
        let rules = rules(|p| {
            p.token.typ = TokenType::AccessToken;
            p.issuer = Some(Issuer::from_text("https://as"));
            p.audiences = vec!["api".into()];
            p.audience_rule = AudienceRule::Required;
        });
        let full =
            json!({"iss": "https://as", "aud": "api", "client_id": "c", "iat": NOW, "jti": "j"});
        assert!(run(&rules, claims(full.clone())).is_ok());
        for name in ["jti", "client_id", "iat"] {
            let mut token = full.clone();
            token[name] = Value::Null;
            let err = run(&rules, claims(token)).unwrap_err();
            assert_eq!(
                (err.kind(), err.claim()),
                (ErrorKind::MissingClaim, Some(name))
            );
        }
    }

    #[test]
    fn a_claim_class_is_checked_and_picks_its_audience_claims() {
        let rules = rules(|p| {
            p.token.classes = Some(classes(ClassSource::Claim("token_use".into())));
            p.audiences = vec!["app".into()];
            p.audience_rule = AudienceRule::Required;
        });
        assert!(run(
            &rules,
            claims(json!({"token_use": "access", "client_id": "app"}))
        )
        .is_ok());
        assert_eq!(
            kind(run(
                &rules,
                claims(json!({"token_use": "access", "aud": "app"}))
            )),
            ErrorKind::InvalidAudience
        );
        for token_use in [json!("m2m"), json!("id"), Value::Null] {
            let token = claims(json!({"token_use": token_use, "client_id": "app", "aud": "app"}));
            assert_eq!(kind(run(&rules, token)), ErrorKind::InvalidTokenType);
        }
        assert_eq!(
            kind(run(
                &rules,
                claims(json!({"token_use": 5, "client_id": "app"}))
            )),
            ErrorKind::InvalidClaim
        );
    }

    #[test]
    fn a_header_class_fails_closed_when_the_header_stage_did_not_run() {
        let rules = rules(|p| p.token.classes = Some(classes(ClassSource::HeaderCat)));
        assert_eq!(
            kind(run(&rules, claims(json!({})))),
            ErrorKind::InvalidTokenType
        );
        assert_eq!(
            rules.check_header(None, Some("access")).unwrap(),
            HeaderClass::Class(0)
        );
        assert!(rules.check_header(None, Some("m2m")).is_err());
        assert!(rules.check_header(None, None).is_err());
    }

    #[test]
    fn a_machine_class_or_client_credentials_make_a_machine_token() {
        let provider = provider(|p| p.token.classes = Some(classes(ClassSource::HeaderCat)));
        let rules = Rules::compile_with(&provider, false, Some(&["m2m".into()])).unwrap();
        let json = claims(json!({})).to_string();
        let payload = rules.read(&json).unwrap();
        let checked = rules
            .check_token(&payload, NOW, HeaderClass::Class(1))
            .unwrap();
        assert_eq!(checked.kind, TokenKind::Machine);
        let plain = plain();
        let json = claims(json!({"sub": "c", "client_id": "c"})).to_string();
        let payload = plain.read(&json).unwrap();
        let checked = plain
            .check_token(&payload, NOW, HeaderClass::NotRead)
            .unwrap();
        assert_eq!(checked.kind, TokenKind::Machine);
        let err = Rules::compile_with(&provider, false, Some(&["nope".into()])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    /// The kind of a token with `claims`, under `machine`.
    fn kind_under(machine: &MachineRule, claims: Value) -> TokenKind {
        let rules = rules(|p| p.token.machine = machine.clone());
        let json = claims.to_string();
        let payload = rules.read(&json).unwrap();
        rules
            .check_token(&payload, NOW, HeaderClass::NotRead)
            .unwrap()
            .kind
    }

    #[test]
    fn the_default_machine_sign_is_sub_equal_to_client_id() {
        let default = MachineRule::default();
        let machine = |c: Value| kind_under(&default, claims(c));
        assert_eq!(
            machine(json!({"sub": "c", "client_id": "c"})),
            TokenKind::Machine
        );
        assert_eq!(
            machine(json!({"sub": "u", "client_id": "c"})),
            TokenKind::User
        );
        assert_eq!(
            machine(json!({"sub": "", "client_id": ""})),
            TokenKind::User
        );
        assert_eq!(machine(json!({"sub": null})), TokenKind::User);
        let off = MachineRule {
            sub_equals: Vec::new(),
            ..MachineRule::default()
        };
        let token = claims(json!({"sub": "c", "client_id": "c"}));
        assert_eq!(kind_under(&off, token), TokenKind::User);
    }

    #[test]
    fn any_sign_of_a_machine_rule_makes_a_machine_token() {
        use crate::kinds::ClaimTest;
        let rule = MachineRule {
            sub_equals: vec!["cid".into()],
            claim_tests: vec![
                ("gty".into(), ClaimTest::Equals("client_credentials".into())),
                ("sub".into(), ClaimTest::Suffix("@clients".into())),
                (
                    "user.name".into(),
                    ClaimTest::Prefix("service-account-".into()),
                ),
                ("clientId".into(), ClaimTest::Present),
            ],
        };
        let kind = |c: Value| kind_under(&rule, claims(c));
        for machine in [
            json!({"sub": "c1", "cid": "c1"}),
            json!({"gty": "client_credentials"}),
            json!({"gty": ["refresh_token", "client_credentials"]}),
            json!({"sub": "c1@clients"}),
            json!({"user": {"name": "service-account-job"}}),
            json!({"clientId": "job"}),
        ] {
            assert_eq!(kind(machine.clone()), TokenKind::Machine, "{machine}");
        }
        for user in [
            json!({"sub": "u1", "cid": "c1"}),
            json!({"sub": "c1", "client_id": "c1"}),
            json!({"gty": "client_credentials_x"}),
            json!({"gty": 1}),
            json!({"sub": "@clients-not-a-suffix"}),
            json!({"user": {"name": "alice-service-account-"}}),
            json!({"clientId": ""}),
            json!({"clientId": 7}),
        ] {
            assert_eq!(kind(user.clone()), TokenKind::User, "{user}");
        }
    }
}
