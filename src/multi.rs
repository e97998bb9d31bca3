//! One verifier over several providers, routing each token by its `iss`.

use std::collections::HashMap;

use serde::Deserialize;

use crate::claims::AuthUser;
use crate::error::{AuthError, Result};
use crate::verifier::{decode_payload, split_compact, Verifier};

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
            if issuer.contains("{token.") {
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

    fn route(&self, token: &str) -> Result<&Verifier> {
        let [_, payload, _] = split_compact(token)?;
        let payload = decode_payload(payload)?;
        let claims: IssuerOnly<'_> = serde_json::from_slice(&payload)
            .map_err(|_| AuthError::malformed("payload is not a JSON object"))?;
        claims
            .iss
            .and_then(|iss| self.by_issuer.get(&*iss))
            .ok_or_else(AuthError::invalid_issuer)
    }
}
