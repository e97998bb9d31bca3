//! One verifier over several providers, routing each token by its `iss`.

use std::collections::HashMap;

use serde::Deserialize;

use crate::claims::AuthUser;
use crate::error::{AuthError, Result};
use crate::jws;
use crate::verifier::Verifier;

/// Verifies tokens from several issuers, e.g. Clerk for the web app and Auth0
/// machine-to-machine tokens in one API.
///
/// The token's `iss` is read before verification and trusted only to choose which
/// provider's rules and keys apply; that provider then checks everything, `iss` included. A
/// token from an unknown issuer is rejected without any network call.
///
/// ```
/// use jwks_auth::{MultiVerifier, Provider, Verifier};
/// let web = Verifier::builder(Provider::clerk("clerk.example.com")?).build()?;
/// let m2m = Verifier::builder(Provider::auth0("tenant.auth0.com", "https://api.example.com")?).build()?;
/// let verifier = MultiVerifier::new([web, m2m])?;
/// assert_eq!(verifier.issuers().count(), 2);
/// # Ok::<_, jwks_auth::AuthError>(())
/// ```
#[derive(Debug, Clone)]
pub struct MultiVerifier {
    by_issuer: HashMap<String, Verifier>,
}

#[derive(Deserialize)]
struct IssuerOnly<'a> {
    #[serde(borrow, default)]
    iss: Option<std::borrow::Cow<'a, str>>,
}

impl MultiVerifier {
    /// Routes over `verifiers`, each of which must require an issuer.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if a verifier accepts any issuer or two
    /// share one.
    pub fn new(verifiers: impl IntoIterator<Item = Verifier>) -> Result<Self> {
        let mut by_issuer = HashMap::new();
        for verifier in verifiers {
            let issuer = verifier.issuer().ok_or_else(|| {
                AuthError::config(format!(
                    "provider `{}` accepts any issuer, so tokens cannot be routed to it",
                    verifier.provider_name()
                ))
            })?;
            if verifier.rules().issuer_is_per_token() {
                return Err(AuthError::config(format!(
                    "provider `{}` has a per-token issuer template, which cannot route tokens",
                    verifier.provider_name()
                )));
            }
            if by_issuer
                .insert(issuer.to_owned(), verifier.clone())
                .is_some()
            {
                return Err(AuthError::config("two providers share one issuer"));
            }
        }
        if by_issuer.is_empty() {
            return Err(AuthError::config("no providers"));
        }
        Ok(MultiVerifier { by_issuer })
    }

    /// The issuers served.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.by_issuer.keys().map(String::as_str)
    }

    /// The verifier that handles `issuer`.
    pub fn verifier_for(&self, issuer: &str) -> Option<&Verifier> {
        self.by_issuer.get(issuer)
    }

    /// Verifies `token` with the provider its `iss` names.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidIssuer`](crate::ErrorKind::InvalidIssuer) for an unknown or missing
    /// issuer; otherwise as [`Verifier::verify`].
    pub async fn verify(&self, token: &str) -> Result<AuthUser> {
        self.route(token)?.verify(token).await
    }

    /// The verifier of `token`'s (unverified) `iss`.
    pub(crate) fn route(&self, token: &str) -> Result<&Verifier> {
        unverified_issuer(token)?
            .and_then(|iss| self.by_issuer.get(&iss))
            .ok_or_else(AuthError::invalid_issuer)
    }
}

/// The `iss` of `token`'s payload, read without verifying anything: only to choose the
/// verifier that then checks it.
pub(crate) fn unverified_issuer(token: &str) -> Result<Option<String>> {
    let payload = jws::decode_payload(jws::split(token)?.payload)?;
    let claims: IssuerOnly<'_> = serde_json::from_str(&payload)
        .map_err(|_| AuthError::malformed("payload is not a JSON object"))?;
    Ok(claims.iss.map(std::borrow::Cow::into_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, Provider};

    fn verifier(issuer: &str, tenant: &str) -> Result<Verifier> {
        let toml = format!(
            "name = \"idp\"\njwks_url = \"https://idp.example/keys\"\nissuer = \"{issuer}\"\n\
             audience = \"none\"\nalgorithms = [\"ES256\"]\n"
        );
        let provider = Provider::from_toml_str_with(&toml, "idp.toml", &[("tenant", tenant)])?;
        Verifier::builder(provider).build()
    }

    #[test]
    fn a_per_token_issuer_cannot_route_tokens() {
        let per_token = verifier("https://idp.example/{token.tid}", "t")
            .unwrap()
            .clone();
        let err = MultiVerifier::new([per_token]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    /// A parameter value is inserted literally: `{token.tid}` in it is text, not a placeholder,
    /// so the issuer is fixed and routes like any other.
    #[test]
    fn a_literal_brace_text_in_a_fixed_issuer_still_routes() {
        let literal = verifier("https://idp.example/{tenant}", "{token.tid}").unwrap();
        assert_eq!(literal.issuer(), Some("https://idp.example/{token.tid}"));
        let multi = MultiVerifier::new([literal]).unwrap();
        assert!(multi
            .verifier_for("https://idp.example/{token.tid}")
            .is_some());
    }
}
