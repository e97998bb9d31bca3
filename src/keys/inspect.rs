//! One JWK set fetched the way a verifier fetches it, for tools that inspect a provider's keys.

use std::time::Duration;

use super::fetch::{self, check_url, default_client};
use super::{jwk, CachePolicy};
use crate::algorithm::Algorithm;
use crate::error::{AuthError, Result};

/// A JWK set document as the key server sent it, from [`fetch_jwks`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchedJwks {
    /// The response body, unparsed (at most [`CachePolicy::max_body_bytes`]).
    pub body: Vec<u8>,
    /// The response's `Cache-Control: max-age` (zero for `no-store`/`no-cache`), unclamped.
    pub max_age: Option<Duration>,
}

/// What a verifier makes of one member of a JWK set's `keys` array, from [`inspect_jwk`]:
/// for tools that lint a provider's key set (`jwks-auth jwks`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyReport {
    /// The significant bits of an RSA key's modulus `n`, when it has a readable one.
    pub rsa_bits: Option<usize>,
    /// Why a verifier allowing every asymmetric algorithm would skip this key (weak or
    /// ROCA-flagged RSA, `use`/`key_ops` not for verifying, a shared secret, an unsupported
    /// type...); `None` when the key would be used.
    pub skipped: Option<String>,
}

/// Judges one JWK exactly as a [`Verifier`](crate::Verifier) judges the keys it fetches.
///
/// ```
/// let weak = serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
/// let report = jwks_auth::inspect_jwk(&weak);
/// assert_eq!(report.rsa_bits, Some(17));
/// assert!(report.skipped.unwrap().contains("below the 2048-bit minimum"));
/// ```
pub fn inspect_jwk(key: &serde_json::Value) -> KeyReport {
    let allowed: Vec<Algorithm> = Algorithm::ALL
        .into_iter()
        .filter(|alg| !alg.is_symmetric())
        .collect();
    KeyReport {
        rsa_bits: jwk::rsa_modulus_bits(key),
        skipped: jwk::parse_jwk(key.clone(), &allowed).err(),
    }
}

/// Fetches the document at `url` once, with the same rules as a [`Verifier`](crate::Verifier)'s
/// key fetcher: HTTPS only (plain `http` to a loopback host, or anywhere with
/// `allow_insecure_http`), redirects only within the same origin (scheme, host and port),
/// `User-Agent: jwks-auth/<version>`, and `policy`'s [`fetch_timeout`](CachePolicy::fetch_timeout)
/// and [`max_body_bytes`](CachePolicy::max_body_bytes). Nothing is cached or parsed.
///
/// ```no_run
/// use jwks_auth::CachePolicy;
/// # async fn run() -> Result<(), jwks_auth::AuthError> {
/// let fetched = jwks_auth::fetch_jwks("https://auth.example.com/api/auth/jwks", &CachePolicy::default(), false).await?;
/// println!("{} bytes", fetched.body.len());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) for a URL the fetcher refuses;
/// [`ErrorKind::KeysUnavailable`](crate::ErrorKind::KeysUnavailable) when the fetch fails, with
/// the [`FetchError`](crate::FetchError) as its source.
pub async fn fetch_jwks(
    url: &str,
    policy: &CachePolicy,
    allow_insecure_http: bool,
) -> Result<FetchedJwks> {
    let url = check_url(url, allow_insecure_http)?;
    let client = default_client(policy.fetch_timeout)?;
    let fetched = fetch::fetch(&client, &url, policy.fetch_timeout, policy.max_body_bytes)
        .await
        .map_err(|err| AuthError::keys_unavailable(err.to_string(), Some(Box::new(err))))?;
    Ok(FetchedJwks {
        body: fetched.body,
        max_age: fetched.max_age,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[tokio::test]
    async fn plain_http_off_loopback_is_refused_before_any_request() {
        let err = fetch_jwks(
            "http://idp.example.com/keys",
            &CachePolicy::default(),
            false,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[tokio::test]
    async fn a_closed_loopback_port_is_keys_unavailable_with_the_fetch_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/keys");
        let err = fetch_jwks(&url, &CachePolicy::default(), false)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
        let source = std::error::Error::source(&err).expect("a source");
        assert!(source.downcast_ref::<crate::FetchError>().is_some());
    }
}
