//! Where a JWK set lives: a fixed URL, or OpenID Connect discovery
//! (`{issuer}/.well-known/openid-configuration`).

use url::Url;

use super::fetch::{self, check_url};
use super::CachePolicy;
use crate::error::{AuthError, FetchError};

/// Where the JWK set is: a known URL, or found through OpenID Connect discovery.
#[derive(Debug)]
pub(crate) enum JwksLocation {
    /// A fixed JWKS URL.
    Fixed(Url),
    /// `{issuer}/.well-known/openid-configuration`; its `jwks_uri` is remembered until a
    /// JWKS fetch fails.
    Discovery {
        issuer: String,
        allow_insecure_http: bool,
        discovered: std::sync::Mutex<Option<Url>>,
    },
}

impl JwksLocation {
    /// Discovery for `issuer`, checked against the same URL rules as a JWKS URL.
    pub(crate) fn discovery(issuer: &str, allow_insecure_http: bool) -> Result<Self, AuthError> {
        check_url(&discovery_url(issuer), allow_insecure_http)?;
        Ok(JwksLocation::Discovery {
            issuer: issuer.to_owned(),
            allow_insecure_http,
            discovered: std::sync::Mutex::new(None),
        })
    }
}

impl JwksLocation {
    /// The JWKS URL, running OIDC discovery first when needed.
    pub(super) async fn url(
        &self,
        client: &reqwest::Client,
        policy: &CachePolicy,
    ) -> Result<Url, FetchError> {
        let (issuer, allow_insecure_http, discovered) = match self {
            JwksLocation::Fixed(url) => return Ok(url.clone()),
            JwksLocation::Discovery {
                issuer,
                allow_insecure_http,
                discovered,
            } => (issuer, *allow_insecure_http, discovered),
        };
        if let Some(url) = discovered.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(url);
        }
        let config_url = check_url(&discovery_url(issuer), allow_insecure_http)
            .map_err(|e| FetchError::Invalid(e.to_string()))?;
        let fetched = fetch::fetch(
            client,
            &config_url,
            policy.fetch_timeout,
            policy.max_body_bytes,
        )
        .await?;
        let document: DiscoveryDocument = serde_json::from_slice(&fetched.body)
            .map_err(|_| FetchError::Invalid("not an OpenID configuration document".into()))?;
        // OIDC Discovery §4.3: the document must be for exactly the issuer we asked about.
        if document.issuer != *issuer {
            return Err(FetchError::Invalid(
                "discovery document names another issuer".into(),
            ));
        }
        let url = check_jwks_uri(issuer, &document.jwks_uri, allow_insecure_http)
            .map_err(|e| FetchError::Invalid(format!("jwks_uri: {e}")))?;
        tracing::debug!(target: "jwks_auth::keys", "OIDC discovery found the JWKS URL");
        *discovered.lock().unwrap_or_else(|p| p.into_inner()) = Some(url.clone());
        Ok(url)
    }

    /// Drops a discovered `jwks_uri`, so the next fetch runs discovery again.
    pub(super) fn forget_discovered(&self) {
        if let JwksLocation::Discovery { discovered, .. } = self {
            *discovered.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Checks a `jwks_uri` found through discovery of `issuer`: the JWKS URL rules, and plain
/// http only for a loopback issuer (or with `allow_insecure_http`). A remote issuer's
/// document must not point its keys at http, not even on loopback: that would let whoever
/// listens there on the verifying machine supply the keys.
fn check_jwks_uri(
    issuer: &str,
    jwks_uri: &str,
    allow_insecure_http: bool,
) -> Result<Url, AuthError> {
    let url = check_url(jwks_uri, allow_insecure_http)?;
    let issuer_is_loopback = Url::parse(issuer).is_ok_and(|issuer| fetch::is_loopback(&issuer));
    if url.scheme() != "https" && !allow_insecure_http && !issuer_is_loopback {
        return Err(AuthError::config(
            "must use https when the issuer is not loopback",
        ));
    }
    Ok(url)
}

#[derive(serde::Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    jwks_uri: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_https_issuer_may_not_send_its_keys_over_http_even_to_loopback() {
        for jwks_uri in [
            "http://127.0.0.1:8080/jwks",
            "http://localhost/jwks",
            "http://[::1]/jwks",
            "http://keys.example.com/jwks",
        ] {
            let err = check_jwks_uri("https://idp.example.com", jwks_uri, false).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{jwks_uri}");
        }
        assert!(check_jwks_uri(
            "https://idp.example.com",
            "https://keys.example.net/jwks",
            false
        )
        .is_ok());
    }

    #[test]
    fn a_loopback_issuer_may_use_loopback_http_keys() {
        for issuer in ["http://127.0.0.1:9000", "https://localhost:9443"] {
            assert!(check_jwks_uri(issuer, "http://127.0.0.1:9000/jwks", false).is_ok());
            assert!(check_jwks_uri(issuer, "http://keys.example.com/jwks", false).is_err());
        }
    }

    #[test]
    fn allow_insecure_http_keeps_allowing_http_jwks_uris() {
        assert!(check_jwks_uri(
            "https://idp.example.com",
            "http://keys.example.com/jwks",
            true
        )
        .is_ok());
        assert!(check_jwks_uri(
            "https://idp.example.com",
            "ftp://keys.example.com/jwks",
            true
        )
        .is_err());
    }
}
