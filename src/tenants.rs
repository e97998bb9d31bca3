//! [`TenantVerifier`]: tokens from many issuers (one per tenant), with the set of trusted
//! issuers given as a rule and each issuer's verifier built on first use.

use std::fmt;
use std::sync::Arc;

use crate::claims::AuthUser;
use crate::error::{AuthError, Result};
use crate::multi::unverified_issuer;
use crate::token_source::TokenSource;
use crate::verifier::Verifier;

/// The issuer of a token a [`TenantVerifier`] trusts, as its factory sees it: the issuer
/// and the values the matching [template](TenantVerifierBuilder::trust_template) captured
/// (`{tenant}` → `acme`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantIssuer<'a> {
    issuer: &'a str,
    captured: Vec<(&'a str, &'a str)>,
}

impl<'a> TenantIssuer<'a> {
    /// The issuer (`iss`), exactly as the token names it.
    pub fn issuer(&self) -> &'a str {
        self.issuer
    }

    /// Every placeholder's name and captured value, in template order (none when the issuer
    /// was trusted by a list or a callback).
    pub fn params(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.captured.iter().copied()
    }

    /// The value a template placeholder captured: `param("tenant")` for
    /// `https://{tenant}.example.com/`. `None` when the issuer was trusted by a list or a
    /// callback.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.captured
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    }
}

type Factory = dyn Fn(&TenantIssuer<'_>) -> Result<Verifier> + Send + Sync;
type Predicate = dyn Fn(&str) -> bool + Send + Sync;

/// Verifies tokens from thousands of tenants, each with its own issuer (Auth0 custom
/// domains, Entra ID tenants, a Keycloak realm or Cognito pool per customer) without building
/// them all up front: which issuers are trusted is a rule (an explicit list, templates such
/// as `https://login.microsoftonline.com/{tid}/v2.0`, or your callback), and the verifier of
/// an issuer is built by your factory the first time one of its tokens arrives.
///
/// - A token's `iss` is read before verification only to choose the verifier; that verifier
///   then checks everything, `iss` included, with the keys of that issuer.
/// - An issuer no rule trusts is refused (`invalid-issuer`) without any network call and
///   without building anything.
/// - Live verifiers (each with its key cache) are kept in a bounded cache
///   ([`max_issuers`](TenantVerifierBuilder::max_issuers), least recently used evicted
///   first); an evicted issuer is rebuilt, and refetches its keys, on its next token.
///   Each verifier's own key cache limits its fetches (refresh cooldown, unknown-`kid`
///   budget), so one tenant's forged tokens cannot make the others' providers be called.
///
/// Give the verifiers your factory builds one shared HTTP client
/// ([`VerifierBuilder::http_client`](crate::VerifierBuilder::http_client)): with the default,
/// each live issuer keeps a client and an open connection of its own (92 KB instead of 36 KB
/// per issuer in `bench/scale`, and one file descriptor each).
///
/// A template trusts every issuer it matches: `{name}` matches 1 to 64 characters among
/// letters, digits, `-` and `_` (a DNS label, a tenant GUID), never a `.` or `/`. When only
/// your customers' tenants may call, list them or check them in
/// [`trust_if`](TenantVerifierBuilder::trust_if).
///
/// ```
/// use jwks_auth::{Provider, TenantVerifier, Verifier};
/// # fn main() -> Result<(), jwks_auth::AuthError> {
/// let tenants = TenantVerifier::builder(|tenant| {
///     let tid = tenant.param("tid").unwrap_or_default();
///     let provider = Provider::preset("entra-id", &[("tenant", tid), ("audience", "my-client-id")])?;
///     Verifier::builder(provider).build()
/// })
/// .trust_template("https://login.microsoftonline.com/{tid}/v2.0")?
/// .max_issuers(10_000)
/// .build()?;
/// assert_eq!(tenants.live_issuers(), 0); // nothing built before the first token
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TenantVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<String>,
    templates: Vec<Template>,
    predicate: Option<Box<Predicate>>,
    factory: Box<Factory>,
    verifiers: moka::sync::Cache<Box<str>, Verifier>,
    token_sources: Vec<TokenSource>,
}

impl fmt::Debug for TenantVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantVerifier")
            .field("issuers", &self.inner.issuers)
            .field("templates", &self.inner.templates)
            .field("callback", &self.inner.predicate.is_some())
            .field("live_issuers", &self.inner.verifiers.entry_count())
            .finish()
    }
}

/// Configures a [`TenantVerifier`].
#[must_use]
pub struct TenantVerifierBuilder {
    issuers: Vec<String>,
    templates: Vec<Template>,
    predicate: Option<Box<Predicate>>,
    factory: Box<Factory>,
    max_issuers: u64,
}

impl fmt::Debug for TenantVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantVerifierBuilder")
            .field("issuers", &self.issuers)
            .field("templates", &self.templates)
            .field("max_issuers", &self.max_issuers)
            .finish_non_exhaustive()
    }
}

/// Default [`max_issuers`](TenantVerifierBuilder::max_issuers).
pub const DEFAULT_MAX_ISSUERS: u64 = 1_000;

impl TenantVerifier {
    /// Starts a tenant verifier whose `factory` builds the verifier of a trusted issuer. The
    /// verifier it returns must require that very issuer (checked: else the token is refused
    /// as misconfigured).
    pub fn builder<F>(factory: F) -> TenantVerifierBuilder
    where
        F: Fn(&TenantIssuer<'_>) -> Result<Verifier> + Send + Sync + 'static,
    {
        TenantVerifierBuilder {
            issuers: Vec::new(),
            templates: Vec::new(),
            predicate: None,
            factory: Box::new(factory),
            max_issuers: DEFAULT_MAX_ISSUERS,
        }
    }

    /// Verifies `token` with the verifier of its issuer, built on first use.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidIssuer`](crate::ErrorKind::InvalidIssuer) for a missing or
    /// untrusted issuer (no network call); the factory's error; otherwise as
    /// [`Verifier::verify`].
    pub async fn verify(&self, token: &str) -> Result<AuthUser> {
        self.route(token)?.verify(token).await
    }

    /// The verifier for `token`'s (unverified) issuer, built if needed.
    pub(crate) fn route(&self, token: &str) -> Result<Verifier> {
        let issuer = unverified_issuer(token)?.ok_or_else(AuthError::invalid_issuer)?;
        self.verifier_for(&issuer)
    }

    /// The verifier of `issuer` if a rule trusts it (built on first use); else
    /// `invalid-issuer`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidIssuer`](crate::ErrorKind::InvalidIssuer), or the factory's error.
    pub fn verifier_for(&self, issuer: &str) -> Result<Verifier> {
        if let Some(verifier) = self.inner.verifiers.get(issuer) {
            return Ok(verifier);
        }
        let tenant = self.trusted(issuer).ok_or_else(|| {
            tracing::debug!("token from an untrusted issuer refused");
            AuthError::invalid_issuer()
        })?;
        let verifier = (self.inner.factory)(&tenant)?;
        if verifier.issuer() != Some(issuer) || verifier.rules().issuer_is_per_token() {
            return Err(AuthError::config(
                "the tenant factory built a verifier for another issuer",
            ));
        }
        // Building fetches nothing; when two first tokens race, one verifier is kept.
        Ok(self.inner.verifiers.get_with(issuer.into(), || verifier))
    }

    /// How the issuer is trusted, with what its template captured; `None` if untrusted.
    fn trusted<'a>(&'a self, issuer: &'a str) -> Option<TenantIssuer<'a>> {
        let inner = &self.inner;
        if inner.issuers.iter().any(|trusted| trusted == issuer) {
            return Some(TenantIssuer {
                issuer,
                captured: Vec::new(),
            });
        }
        for template in &inner.templates {
            if let Some(captured) = template.capture(issuer) {
                return Some(TenantIssuer { issuer, captured });
            }
        }
        match &inner.predicate {
            Some(trust) if trust(issuer) => Some(TenantIssuer {
                issuer,
                captured: Vec::new(),
            }),
            _ => None,
        }
    }

    /// How many issuers have a live verifier (approximate while builds are in flight).
    pub fn live_issuers(&self) -> u64 {
        self.inner.verifiers.run_pending_tasks();
        self.inner.verifiers.entry_count()
    }

    /// Where tokens are looked for by the request edge: `Authorization: Bearer`.
    pub(crate) fn token_sources(&self) -> &[TokenSource] {
        &self.inner.token_sources
    }
}

impl TenantVerifierBuilder {
    /// Trusts exactly these issuers.
    pub fn trust_issuers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.issuers.extend(issuers.into_iter().map(Into::into));
        self
    }

    /// Trusts every issuer matching `template`: literal text with `{name}` placeholders
    /// (`https://{tenant}.eu.auth0.com/`), each matching 1 to 64 letters, digits, `-` or `_`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a template without a placeholder,
    /// with an unclosed or empty one, or two placeholders side by side.
    pub fn trust_template(mut self, template: &str) -> Result<Self> {
        self.templates.push(Template::parse(template)?);
        Ok(self)
    }

    /// Trusts issuers your callback accepts (a lookup of your customers' issuers). It is
    /// called only for issuers no list or template trusts, with the token's unverified `iss`:
    /// answer from memory, not from a network call.
    pub fn trust_if<F>(mut self, trust: F) -> Self
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
    {
        self.predicate = Some(Box::new(trust));
        self
    }

    /// The most issuers kept with a live verifier (each holding its key set); the least
    /// recently used go first. Default: [`DEFAULT_MAX_ISSUERS`]. At least 1.
    pub fn max_issuers(mut self, max: u64) -> Self {
        self.max_issuers = max.max(1);
        self
    }

    /// The tenant verifier.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when no rule trusts any issuer.
    pub fn build(self) -> Result<TenantVerifier> {
        if self.issuers.is_empty() && self.templates.is_empty() && self.predicate.is_none() {
            return Err(AuthError::config(
                "no trusted issuers: give a list, a template or a callback",
            ));
        }
        let verifiers = moka::sync::Cache::builder()
            .max_capacity(self.max_issuers)
            .build();
        Ok(TenantVerifier {
            inner: Arc::new(Inner {
                issuers: self.issuers,
                templates: self.templates,
                predicate: self.predicate,
                factory: self.factory,
                verifiers,
                token_sources: vec![TokenSource::Bearer],
            }),
        })
    }
}

/// An issuer template: literal parts and `{name}` placeholders, alternating.
#[derive(Debug, Clone)]
struct Template {
    /// `literals[0] {names[0]} literals[1] {names[1]} ... literals[n]`.
    literals: Vec<String>,
    names: Vec<String>,
}

/// The most characters a placeholder matches.
const MAX_CAPTURE: usize = 64;

impl Template {
    fn parse(template: &str) -> Result<Self> {
        let bad = |why: &str| Err(AuthError::config(format!("issuer template: {why}")));
        let mut literals = Vec::new();
        let mut names = Vec::new();
        let mut rest = template;
        loop {
            match rest.find('{') {
                None => {
                    literals.push(rest.to_owned());
                    break;
                }
                Some(open) => {
                    let Some(close) = rest[open..].find('}') else {
                        return bad("an unclosed `{`");
                    };
                    let name = &rest[open + 1..open + close];
                    if name.is_empty()
                        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    {
                        return bad("a placeholder needs a name of letters, digits or `_`");
                    }
                    if open == 0 && !names.is_empty() {
                        return bad("two placeholders side by side");
                    }
                    literals.push(rest[..open].to_owned());
                    names.push(name.to_owned());
                    rest = &rest[open + close + 1..];
                }
            }
        }
        if names.is_empty() {
            return bad("no `{placeholder}`: list a fixed issuer with trust_issuers");
        }
        Ok(Template { literals, names })
    }

    /// The placeholders' values if `issuer` matches.
    fn capture<'a>(&'a self, issuer: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
        let mut rest = issuer.strip_prefix(self.literals[0].as_str())?;
        let mut captured = Vec::with_capacity(self.names.len());
        for (name, literal) in self.names.iter().zip(&self.literals[1..]) {
            // The value: the longest run of allowed characters, then the literal must follow.
            let end = rest
                .bytes()
                .take(MAX_CAPTURE + 1)
                .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
                .unwrap_or(rest.len().min(MAX_CAPTURE + 1));
            if end == 0 || end > MAX_CAPTURE {
                return None;
            }
            captured.push((name.as_str(), &rest[..end]));
            rest = rest[end..].strip_prefix(literal.as_str())?;
        }
        rest.is_empty().then_some(captured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captures(template: &str, issuer: &str) -> Option<Vec<(String, String)>> {
        let template = Template::parse(template).unwrap();
        template.capture(issuer).map(|captured| {
            captured
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
    }

    #[test]
    fn a_template_captures_one_label_or_segment_and_nothing_looser() {
        let auth0 = "https://{tenant}.eu.auth0.com/";
        assert_eq!(
            captures(auth0, "https://acme.eu.auth0.com/"),
            Some(vec![("tenant".into(), "acme".into())])
        );
        for issuer in [
            "https://evil.com/.eu.auth0.com/",
            "https://a.b.eu.auth0.com/",
            "https://.eu.auth0.com/",
            "https://acme.eu.auth0.com",
            "https://acme.eu.auth0.com/x",
            "http://acme.eu.auth0.com/",
        ] {
            assert_eq!(captures(auth0, issuer), None, "{issuer}");
        }
        let entra = "https://login.microsoftonline.com/{tid}/v2.0";
        let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
        assert_eq!(
            captures(
                entra,
                &format!("https://login.microsoftonline.com/{tid}/v2.0")
            ),
            Some(vec![("tid".into(), tid.into())])
        );
        let long = "a".repeat(65);
        assert_eq!(
            captures(
                entra,
                &format!("https://login.microsoftonline.com/{long}/v2.0")
            ),
            None
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        for template in [
            "https://fixed.example/",
            "https://{tenant.example/",
            "https://{}.example/",
            "https://{a}{b}.example/",
            "https://{a b}.example/",
        ] {
            assert!(Template::parse(template).is_err(), "{template}");
        }
    }
}
