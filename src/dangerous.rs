//! Operations that skip checks. **Never use them to authenticate a request.**
//!
//! They exist for debugging tools (`jwks-auth inspect`), for reading `iss` to pick a
//! provider, and for published test vectors that are not tokens at all.

use serde_json::{Map, Value};

use crate::error::{AuthError, Result};
use crate::payload::parse_object;
use crate::{jws, Verifier};

/// A token's header and claims, decoded WITHOUT any verification.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UnverifiedToken {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
}

/// A NumericDate claim value (RFC 7519 §2) read as the verifier reads `exp`, `nbf` and
/// `iat`: whole or fractional seconds (fractions dropped); `None` for anything else, absurd
/// magnitudes included. For tools that show an [`UnverifiedToken`]'s dates.
///
/// ```
/// use serde_json::json;
/// assert_eq!(jwks_auth::dangerous::numeric_date(&json!(1700000000.9)), Some(1700000000));
/// assert_eq!(jwks_auth::dangerous::numeric_date(&json!("tomorrow")), None);
/// ```
pub fn numeric_date(value: &Value) -> Option<i64> {
    crate::claims::numeric_date(value)
}

/// Decodes a compact JWS without verifying its signature or claims (for debugging
/// tools such as `jwks-auth inspect`, and for reading `iss` to pick a provider).
///
/// ```
/// let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
/// let decoded = jwks_auth::dangerous::decode_unverified(token).unwrap();
/// assert_eq!(decoded.claims["sub"], "x");
/// ```
///
/// # Errors
/// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed) if it is not a compact JWS with
/// JSON object header and payload (unique member names, nesting bounded as for a verified
/// token).
pub fn decode_unverified(token: &str) -> Result<UnverifiedToken> {
    let parts = jws::split(token)?;
    let object = |part: &str, what: &'static str| -> Result<Map<String, Value>> {
        let bytes = jws::decode_bytes(part).ok_or_else(|| AuthError::malformed(what))?;
        let json = std::str::from_utf8(&bytes).map_err(|_| AuthError::malformed(what))?;
        parse_object(json).map_err(|_| AuthError::malformed(what))
    };
    Ok(UnverifiedToken {
        header: object(parts.header, "header is not a base64url JSON object")?,
        claims: object(parts.payload, "payload is not a base64url JSON object")?,
    })
}

/// Checks only the header and signature with `verifier`'s keys and algorithms, and
/// returns the decoded payload bytes WITHOUT checking that they are claims, nor `exp`,
/// `iss`, `aud` or anything else. Meant for published test vectors (RFC 7515 A.2/A.3,
/// RFC 8037 A.4) that carry no `exp` or no JSON payload at all.
///
/// # Errors
/// As [`Verifier::verify`] for format, algorithm, key and signature failures.
pub async fn verify_signature_only(verifier: &Verifier, token: &str) -> Result<Vec<u8>> {
    let signed = verifier.check_signature(token).await?;
    jws::decode_bytes(signed.payload)
        .ok_or_else(|| AuthError::malformed("payload is not base64url"))
}
