//! Thumbprints: RFC 7638 JWK thumbprints (`cnf.jkt`), RFC 8705 certificate thumbprints
//! (`cnf["x5t#S256"]`) and the `ath` hash of an access token, plus the `cnf` claim itself.

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::DpopError;

/// base64url(SHA-256(bytes)), the form of `jkt`, `x5t#S256` and `ath`.
pub(crate) fn sha256_b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, bytes).as_ref())
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url: the hash of the canonical
/// JSON of the key type's required members in lexicographic order (EC `crv,kty,x,y`; RSA
/// `e,kty,n`; OKP `crv,kty,x`), the form `cnf.jkt` carries (RFC 9449 §6.1).
///
/// # Errors
/// [`DpopError::InvalidProof`] when `kty` is not `EC`, `RSA` or `OKP`, or a required member
/// is missing or not a string.
///
/// ```
/// use serde_json::json;
/// // RFC 7638 §3.1's example key.
/// let jwk = json!({
///     "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
///     "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
/// });
/// let jkt = jwks_auth::dpop::jwk_thumbprint(jwk.as_object().unwrap())?;
/// assert_eq!(jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
/// # Ok::<_, jwks_auth::dpop::DpopError>(())
/// ```
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Result<String, DpopError> {
    let kty = jwk.get("kty").and_then(Value::as_str);
    thumbprint_of(kty, |name| jwk.get(name).and_then(Value::as_str))
}

/// The RFC 7638 thumbprint of a key of type `kty` whose string members `member` reads.
pub(crate) fn thumbprint_of<'m>(
    kty: Option<&str>,
    member: impl Fn(&str) -> Option<&'m str>,
) -> Result<String, DpopError> {
    let members: &[&str] = match kty {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("RSA") => &["e", "kty", "n"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => return Err(DpopError::InvalidProof("unsupported jwk key type")),
    };
    // Written by hand rather than through a `Map`, whose order depends on serde_json's
    // `preserve_order` feature (which any crate in a build may switch on).
    let mut json = Vec::with_capacity(1024);
    json.push(b'{');
    for (i, &name) in members.iter().enumerate() {
        let value = member(name).ok_or(DpopError::InvalidProof("jwk lacks a required member"))?;
        if i > 0 {
            json.push(b',');
        }
        json.push(b'"');
        json.extend_from_slice(name.as_bytes());
        json.extend_from_slice(b"\":");
        // serde_json escapes the string as RFC 7638 §3.3 requires (RFC 8259 escaping).
        serde_json::to_writer(&mut json, value)
            .map_err(|_| DpopError::InvalidProof("jwk lacks a required member"))?;
    }
    json.push(b'}');
    Ok(sha256_b64(&json))
}

/// The RFC 8705 §3.1 thumbprint of a DER client certificate: base64url(SHA-256(DER)), the
/// form `cnf["x5t#S256"]` carries.
///
/// ```
/// let thumbprint = jwks_auth::dpop::certificate_thumbprint(b"not really DER");
/// assert_eq!(thumbprint.len(), 43);
/// ```
pub fn certificate_thumbprint(cert_der: &[u8]) -> String {
    sha256_b64(cert_der)
}

/// Checks a certificate-bound token (RFC 8705 §3): `x5t_s256`, the token's
/// `cnf["x5t#S256"]`, must equal the thumbprint of the client certificate the TLS layer
/// authenticated (`cert_der`, DER).
///
/// # Errors
/// [`DpopError::BindingMismatch`] when they differ.
///
/// ```
/// use jwks_auth::dpop::{certificate_thumbprint, check_certificate_binding};
/// let cert = b"...DER bytes of the client certificate...";
/// let cnf_x5t = certificate_thumbprint(cert);
/// assert!(check_certificate_binding(&cnf_x5t, cert).is_ok());
/// assert!(check_certificate_binding(&cnf_x5t, b"another certificate").is_err());
/// ```
pub fn check_certificate_binding(x5t_s256: &str, cert_der: &[u8]) -> Result<(), DpopError> {
    if certificate_thumbprint(cert_der) == x5t_s256 {
        Ok(())
    } else {
        Err(DpopError::BindingMismatch(
            "client certificate does not match cnf x5t#S256",
        ))
    }
}

/// A token's confirmation claim (`cnf`, RFC 7800), with the methods this crate can check:
/// `jkt` (DPoP, RFC 9449) and `x5t#S256` (mutual TLS, RFC 8705).
///
/// A `cnf` with any other member (`jwk`, `kid`, `jku`, ...) is refused by
/// [`from_claim`](Self::from_claim): a token bound to something the request cannot prove
/// must never pass as a bearer token.
///
/// ```
/// use jwks_auth::dpop::Confirmation;
/// use serde_json::json;
/// let cnf = Confirmation::from_claim(&json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}))?;
/// assert_eq!(cnf.jkt(), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
/// assert!(cnf.check(None, None).is_err()); // bound, but no proof presented
/// # Ok::<_, jwks_auth::dpop::DpopError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Confirmation {
    jkt: Option<String>,
    x5t_s256: Option<String>,
}

impl Confirmation {
    /// Reads the value of a `cnf` claim.
    ///
    /// # Errors
    /// [`DpopError::BindingMismatch`] when it is not an object, is empty, has a member that
    /// is not a string, or names a confirmation method other than `jkt` and `x5t#S256`.
    pub fn from_claim(cnf: &Value) -> Result<Self, DpopError> {
        let object = cnf
            .as_object()
            .ok_or(DpopError::BindingMismatch("cnf is not an object"))?;
        if object.is_empty() {
            return Err(DpopError::BindingMismatch(
                "cnf names no confirmation method",
            ));
        }
        let mut confirmation = Confirmation::default();
        for (name, value) in object {
            let slot = match name.as_str() {
                "jkt" => &mut confirmation.jkt,
                "x5t#S256" => &mut confirmation.x5t_s256,
                _ => {
                    return Err(DpopError::BindingMismatch(
                        "unsupported cnf confirmation method",
                    ))
                }
            };
            let text = value
                .as_str()
                .ok_or(DpopError::BindingMismatch("cnf member is not a string"))?;
            *slot = Some(text.to_owned());
        }
        Ok(confirmation)
    }

    /// The DPoP key thumbprint the token is bound to (`cnf.jkt`).
    pub fn jkt(&self) -> Option<&str> {
        self.jkt.as_deref()
    }

    /// The client certificate thumbprint the token is bound to (`cnf["x5t#S256"]`).
    pub fn x5t_s256(&self) -> Option<&str> {
        self.x5t_s256.as_deref()
    }

    /// Checks every binding against what the request proved: `proof_jkt`, the thumbprint of
    /// a DPoP proof key that [`DpopChecker::check`](super::DpopChecker::check) accepted, and
    /// `cert_der`, the client certificate of the TLS connection. Every method the token
    /// names must be satisfied.
    ///
    /// # Errors
    /// [`DpopError::BindingMismatch`] naming the first binding that is missing or differs.
    pub fn check(&self, proof_jkt: Option<&str>, cert_der: Option<&[u8]>) -> Result<(), DpopError> {
        if let Some(expected) = &self.jkt {
            match proof_jkt {
                None => return Err(DpopError::BindingMismatch("token requires a dpop proof")),
                Some(jkt) if jkt != expected => {
                    return Err(DpopError::BindingMismatch(
                        "proof key does not match cnf jkt",
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(expected) = &self.x5t_s256 {
            let cert = cert_der.ok_or(DpopError::BindingMismatch(
                "token requires a client certificate",
            ))?;
            check_certificate_binding(expected, cert)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn rfc_7638_example_thumbprint() {
        let jwk = object(json!({
            "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        }));
        assert_eq!(
            jwk_thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rfc_9449_example_ec_thumbprint() {
        // RFC 9449 §4.1's proof key and §6.1's `jkt` for it.
        let jwk = object(json!({
            "kty": "EC", "crv": "P-256",
            "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        }));
        assert_eq!(
            jwk_thumbprint(&jwk).unwrap(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn thumbprint_ignores_optional_members_and_order() {
        let a = object(json!({"kty": "OKP", "crv": "Ed25519", "x": "abc"}));
        let b =
            object(json!({"x": "abc", "kid": "k", "use": "sig", "crv": "Ed25519", "kty": "OKP"}));
        assert_eq!(jwk_thumbprint(&a).unwrap(), jwk_thumbprint(&b).unwrap());
    }

    #[test]
    fn thumbprint_needs_the_required_members() {
        let jwk = object(json!({"kty": "EC", "crv": "P-256", "x": "abc"}));
        assert!(jwk_thumbprint(&jwk).is_err());
        let jwk = object(json!({"kty": "oct", "k": "abc"}));
        assert!(jwk_thumbprint(&jwk).is_err());
        let jwk = object(json!({"kty": "OKP", "crv": "Ed25519", "x": 7}));
        assert!(jwk_thumbprint(&jwk).is_err());
    }

    #[test]
    fn certificate_binding_matches_only_the_same_certificate() {
        let thumbprint = certificate_thumbprint(b"cert-a");
        assert!(check_certificate_binding(&thumbprint, b"cert-a").is_ok());
        assert!(matches!(
            check_certificate_binding(&thumbprint, b"cert-b"),
            Err(DpopError::BindingMismatch(_))
        ));
    }

    #[test]
    fn cnf_with_an_unknown_method_is_refused() {
        for cnf in [
            json!({"jwk": {"kty": "OKP"}}),
            json!({"jku": "https://a.example/jwks"}),
            json!({"jkt": "a", "kid": "b"}),
            json!({}),
            json!("jkt"),
            json!({"jkt": 7}),
        ] {
            assert!(Confirmation::from_claim(&cnf).is_err(), "{cnf}");
        }
    }

    #[test]
    fn cnf_with_an_object_valued_unknown_method_names_the_method() {
        let result = Confirmation::from_claim(&json!({"jwk": {"kty": "OKP", "x": "a"}}));
        assert!(matches!(
            result,
            Err(DpopError::BindingMismatch(
                "unsupported cnf confirmation method"
            ))
        ));
    }

    #[test]
    fn cnf_jkt_needs_a_matching_proof_key() {
        let cnf = Confirmation::from_claim(&json!({"jkt": "abc"})).unwrap();
        assert!(cnf.check(Some("abc"), None).is_ok());
        assert!(cnf.check(Some("abd"), None).is_err());
        assert!(cnf.check(None, Some(b"cert")).is_err());
    }

    #[test]
    fn cnf_x5t_needs_the_matching_certificate() {
        let cnf =
            Confirmation::from_claim(&json!({"x5t#S256": certificate_thumbprint(b"c")})).unwrap();
        assert!(cnf.check(None, Some(b"c")).is_ok());
        assert!(cnf.check(None, Some(b"d")).is_err());
        assert!(cnf.check(Some("jkt"), None).is_err());
    }

    #[test]
    fn cnf_with_both_methods_needs_both() {
        let cnf = Confirmation::from_claim(
            &json!({"jkt": "abc", "x5t#S256": certificate_thumbprint(b"c")}),
        )
        .unwrap();
        assert!(cnf.check(Some("abc"), Some(b"c")).is_ok());
        assert!(cnf.check(Some("abc"), None).is_err());
        assert!(cnf.check(None, Some(b"c")).is_err());
    }

    #[test]
    fn ath_is_base64url_sha256() {
        // RFC 9449 §7.1's example access token and its `ath`.
        assert_eq!(
            sha256_b64(b"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
