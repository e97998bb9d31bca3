//! Turning JWK sets and PEM files into pre-parsed verification keys.
//!
//! Keys are parsed once, when the set is fetched, so the hot path only runs the signature
//! check. A key the verifier cannot use is skipped with a warning; one bad key never fails
//! the whole set.

use std::collections::HashMap;
use std::fmt;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use aws_lc_rs::{hmac, rsa};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

use super::roca;
use crate::algorithm::{Algorithm, KeyFamily};
use crate::error::AuthError;

/// RSA keys below this size are refused (RFC 8725 §3.5, NIST SP 800-131A).
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// HMAC secrets below this size are refused for HS256; HS384 and HS512 need their own hash
/// size (see [`min_secret_bytes`]).
pub(crate) const MIN_SECRET_BYTES: usize = 32;

/// RFC 7518 §3.2: a key of the same size as the hash output (or larger) MUST be used.
pub(crate) fn min_secret_bytes(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => MIN_SECRET_BYTES,
    }
}

/// One key, parsed for every algorithm it may verify.
pub(crate) struct VerifyingKey {
    pub(crate) kid: Option<Box<str>>,
    pub(crate) family: KeyFamily,
    /// Who this key is: kid, family, algorithms and key material (see [`KeyId`]).
    pub(crate) id: KeyId,
    verifiers: Vec<(Algorithm, KeyMaterial)>,
}

/// A key's identity: the first 8 bytes of SHA-256 over its kid, family, algorithms and key
/// material. Two parses of the same published key share it; a kid reused for new material,
/// or the same material narrowed to other algorithms, gets another. The verified-token cache
/// stores it to serve an entry only while that exact key is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct KeyId(u64);

impl KeyId {
    /// The identity's bytes (for the key-set fingerprint).
    pub(crate) fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    fn of(
        kid: Option<&str>,
        family: KeyFamily,
        algorithms: impl Iterator<Item = Algorithm>,
        material: &[&[u8]],
    ) -> Self {
        use aws_lc_rs::digest;
        let mut ctx = digest::Context::new(&digest::SHA256);
        // Length-prefixed fields, so no two different keys hash the same bytes.
        let mut field = |bytes: &[u8]| {
            ctx.update(&(bytes.len() as u64).to_be_bytes());
            ctx.update(bytes);
        };
        field(kid.map_or(&[0xff][..], |kid| kid.as_bytes()));
        field(format!("{family:?}").as_bytes());
        for alg in algorithms {
            field(alg.to_string().as_bytes());
        }
        for part in material {
            field(part);
        }
        let hash = ctx.finish();
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash.as_ref()[..8]);
        KeyId(u64::from_be_bytes(first))
    }
}

enum KeyMaterial {
    Public(ParsedPublicKey),
    Hmac(Box<hmac::Key>),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .field("algorithms", &self.algorithms().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// The algorithms this key accepts.
    pub(crate) fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.verifiers.iter().map(|(alg, _)| *alg)
    }

    pub(crate) fn supports(&self, alg: Algorithm) -> bool {
        self.verifiers.iter().any(|(a, _)| *a == alg)
    }

    /// Checks `signature` over `message` with `alg`, which must be one this key accepts.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), AuthError> {
        let (_, material) = self
            .verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .ok_or_else(|| AuthError::unsupported_algorithm("algorithm does not fit the key"))?;
        let ok = match material {
            KeyMaterial::Public(key) => key.verify_sig(message, signature).is_ok(),
            KeyMaterial::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
        };
        if ok {
            Ok(())
        } else {
            Err(AuthError::invalid_signature())
        }
    }

    /// A shared-secret key for the given HMAC algorithms: the secret must be at least as long
    /// as the hash of every one of them.
    pub(crate) fn from_secret(secret: &[u8], allowed: &[Algorithm]) -> Result<Self, AuthError> {
        // The longest unmet requirement is named, so the message says what to fix.
        if let Some((alg, min)) = allowed
            .iter()
            .filter(|alg| alg.is_symmetric())
            .map(|&alg| (alg, min_secret_bytes(alg)))
            .filter(|&(_, min)| secret.len() < min)
            .max_by_key(|&(_, min)| min)
        {
            return Err(AuthError::config(format!(
                "shared secret must be at least {min} bytes for {alg}"
            )));
        }
        let verifiers: Vec<_> = allowed
            .iter()
            .filter_map(|&alg| {
                let hmac_alg = match alg {
                    Algorithm::HS256 => hmac::HMAC_SHA256,
                    Algorithm::HS384 => hmac::HMAC_SHA384,
                    Algorithm::HS512 => hmac::HMAC_SHA512,
                    _ => return None,
                };
                Some((
                    alg,
                    KeyMaterial::Hmac(Box::new(hmac::Key::new(hmac_alg, secret))),
                ))
            })
            .collect();
        if verifiers.is_empty() {
            return Err(AuthError::config(
                "shared-secret mode needs at least one of HS256, HS384, HS512",
            ));
        }
        Ok(VerifyingKey {
            kid: None,
            family: KeyFamily::Secret,
            id: KeyId::of(
                None,
                KeyFamily::Secret,
                verifiers.iter().map(|(alg, _)| *alg),
                &[secret],
            ),
            verifiers,
        })
    }

    /// A public key from a PEM file (SPKI or PKCS#1 RSA, SPKI EC or Ed25519).
    pub(crate) fn from_pem(pem: &[u8], allowed: &[Algorithm]) -> Result<Self, String> {
        use jsonwebtoken::DecodingKey;
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            let der = key.try_get_as_bytes().map_err(|e| e.to_string())?;
            let public = rsa::PublicKey::from_der(der).map_err(|e| e.to_string())?;
            return Self::rsa(
                None,
                None,
                public.modulus().big_endian_without_leading_zero(),
                public.exponent().big_endian_without_leading_zero(),
                allowed,
            );
        }
        if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            let point = key.try_get_as_bytes().map_err(|e| e.to_string())?;
            for family in [KeyFamily::P256, KeyFamily::P384, KeyFamily::P521] {
                if let Ok(parsed) = Self::public(None, None, family, point, allowed) {
                    return Ok(parsed);
                }
            }
            return Err("EC key on an unsupported curve".into());
        }
        if let Ok(key) = DecodingKey::from_ed_pem(pem) {
            let raw = key.try_get_as_bytes().map_err(|e| e.to_string())?;
            return Self::public(None, None, KeyFamily::Ed25519, raw, allowed);
        }
        Err("not a PEM public key (RSA, EC or Ed25519)".into())
    }

    fn rsa(
        kid: Option<Box<str>>,
        jwk_alg: Option<Algorithm>,
        n: &[u8],
        e: &[u8],
        allowed: &[Algorithm],
    ) -> Result<Self, String> {
        let n = strip_leading_zeros(n);
        let bits = rsa_bits(n);
        if bits < MIN_RSA_BITS {
            return Err(format!(
                "RSA key of {bits} bits is below the {MIN_RSA_BITS}-bit minimum"
            ));
        }
        let e = strip_leading_zeros(e);
        // RFC 8017 §3.1: 3 <= e and e odd (an even e has no inverse mod lambda(n); e = 1 is
        // no encryption at all).
        let odd = e.last().is_some_and(|low| low & 1 == 1);
        if !odd || (e.len() == 1 && e[0] < 3) {
            return Err("RSA public exponent must be odd and at least 3".into());
        }
        if roca::has_fingerprint(n) {
            return Err("RSA modulus has the ROCA fingerprint (CVE-2017-15361)".into());
        }
        let components = rsa::PublicKeyComponents { n, e };
        let mut verifiers = Vec::new();
        for alg in usable_algorithms(KeyFamily::Rsa, jwk_alg, allowed)? {
            let parsed = components
                .to_parsed_public_key(rsa_params(alg))
                .map_err(|e| format!("invalid RSA key: {e}"))?;
            verifiers.push((alg, KeyMaterial::Public(parsed)));
        }
        Ok(VerifyingKey {
            id: KeyId::of(
                kid.as_deref(),
                KeyFamily::Rsa,
                verifiers.iter().map(|(alg, _)| *alg),
                &[n, e],
            ),
            kid,
            family: KeyFamily::Rsa,
            verifiers,
        })
    }

    fn public(
        kid: Option<Box<str>>,
        jwk_alg: Option<Algorithm>,
        family: KeyFamily,
        bytes: &[u8],
        allowed: &[Algorithm],
    ) -> Result<Self, String> {
        let mut verifiers = Vec::new();
        for alg in usable_algorithms(family, jwk_alg, allowed)? {
            let parsed = ParsedPublicKey::new(curve_algorithm(alg), bytes)
                .map_err(|e| format!("invalid {family:?} key: {e}"))?;
            verifiers.push((alg, KeyMaterial::Public(parsed)));
        }
        Ok(VerifyingKey {
            id: KeyId::of(
                kid.as_deref(),
                family,
                verifiers.iter().map(|(alg, _)| *alg),
                &[bytes],
            ),
            kid,
            family,
            verifiers,
        })
    }
}

/// The algorithms a key may verify: those of its family, narrowed by its own `alg` when
/// present, and by what the provider allows.
fn usable_algorithms(
    family: KeyFamily,
    jwk_alg: Option<Algorithm>,
    allowed: &[Algorithm],
) -> Result<Vec<Algorithm>, String> {
    if let Some(alg) = jwk_alg {
        if alg.key_family() != family {
            return Err(format!("`alg` {alg} does not fit a {family:?} key"));
        }
    }
    let algs: Vec<_> = family
        .algorithms()
        .filter(|alg| jwk_alg.is_none_or(|only| only == *alg) && allowed.contains(alg))
        .collect();
    if algs.is_empty() {
        return Err(format!(
            "{family:?} key fits no algorithm the provider allows"
        ));
    }
    Ok(algs)
}

fn rsa_params(alg: Algorithm) -> &'static sig::RsaParameters {
    match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        _ => &sig::RSA_PSS_2048_8192_SHA512,
    }
}

fn curve_algorithm(alg: Algorithm) -> &'static dyn VerificationAlgorithm {
    match alg {
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::ES512 => &sig::ECDSA_P521_SHA512_FIXED,
        _ => &sig::ED25519,
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The significant bits of a JWK's RSA modulus `n`, when it is present and base64url.
pub(crate) fn rsa_modulus_bits(key: &serde_json::Value) -> Option<usize> {
    let n = URL_SAFE_NO_PAD.decode(key.get("n")?.as_str()?).ok()?;
    let significant = strip_leading_zeros(&n);
    (!significant.is_empty()).then(|| rsa_bits(significant))
}

fn rsa_bits(n: &[u8]) -> usize {
    match n.first() {
        Some(&top) => (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    }
}

/// One entry of a JWK set, with only the members we read.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

/// A parsed key set: the usable keys and a note for each skipped one.
#[derive(Debug, Default)]
pub(crate) struct ParsedKeySet {
    pub(crate) keys: Vec<VerifyingKey>,
    pub(crate) skipped: Vec<String>,
}

/// Parses a JWK set document. Fails only when the document itself is not a JWK set.
pub(crate) fn parse_jwk_set(body: &[u8], allowed: &[Algorithm]) -> Result<ParsedKeySet, String> {
    let set: RawJwkSet = serde_json::from_slice(body).map_err(|e| format!("not a JWK set: {e}"))?;
    let mut parsed = ParsedKeySet::default();
    let mut seen_kids: HashMap<String, ()> = HashMap::new();
    for (index, value) in set.keys.into_iter().enumerate() {
        let label = value
            .get("kid")
            .and_then(|k| k.as_str())
            .map(|k| format!("key `{}`", truncate(k)))
            .unwrap_or_else(|| format!("key #{index}"));
        match parse_jwk(value, allowed) {
            Ok(key) => {
                if let Some(kid) = &key.kid {
                    if seen_kids.insert(kid.to_string(), ()).is_some() {
                        parsed
                            .skipped
                            .push(format!("{label}: duplicate kid, first one kept"));
                        continue;
                    }
                }
                parsed.keys.push(key);
            }
            Err(reason) => parsed.skipped.push(format!("{label}: {reason}")),
        }
    }
    Ok(parsed)
}

/// `use` (RFC 7517 §4.2) and `key_ops` (§4.3): the key must be meant for signatures, and when
/// both are present they must agree (§4.3: they SHOULD NOT both be used, and if they are,
/// the information they convey MUST be consistent).
fn check_intended_use(key_use: Option<&str>, key_ops: Option<&[String]>) -> Result<(), String> {
    const SIGNATURE_OPS: [&str; 2] = ["sign", "verify"];
    if let Some(ops) = key_ops {
        if ops.iter().enumerate().any(|(i, op)| ops[..i].contains(op)) {
            return Err("`key_ops` repeats a value".into());
        }
        if let Some(key_use) = key_use {
            let agree = match key_use {
                "sig" => ops.iter().all(|op| SIGNATURE_OPS.contains(&op.as_str())),
                // `enc` (or any other use) never agrees with verification.
                _ => !ops.iter().any(|op| op == "verify"),
            };
            if !agree {
                return Err("`use` and `key_ops` disagree".into());
            }
        }
        if !ops.iter().any(|op| op == "verify") {
            return Err("`key_ops` does not include \"verify\"".into());
        }
    }
    match key_use {
        Some(key_use) if key_use != "sig" => Err(format!("`use` is {key_use:?}, not \"sig\"")),
        _ => Ok(()),
    }
}

fn truncate(kid: &str) -> &str {
    match kid.char_indices().nth(64) {
        Some((at, _)) => &kid[..at],
        None => kid,
    }
}

pub(crate) fn parse_jwk(
    value: serde_json::Value,
    allowed: &[Algorithm],
) -> Result<VerifyingKey, String> {
    let jwk: RawJwk = serde_json::from_value(value).map_err(|e| format!("unreadable: {e}"))?;
    check_intended_use(jwk.key_use.as_deref(), jwk.key_ops.as_deref())?;
    let jwk_alg = match jwk.alg.as_deref() {
        None => None,
        Some(name) => Some(
            name.parse::<Algorithm>()
                .map_err(|_| format!("unsupported `alg` {name:?}"))?,
        ),
    };
    let kid = jwk.kid.map(String::into_boxed_str);
    let member = |name: &str, value: &Option<String>| -> Result<Vec<u8>, String> {
        let text = value.as_deref().ok_or(format!("missing `{name}`"))?;
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| format!("`{name}` is not base64url"))
    };
    match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => VerifyingKey::rsa(
            kid,
            jwk_alg,
            &member("n", &jwk.n)?,
            &member("e", &jwk.e)?,
            allowed,
        ),
        ("EC", Some(crv @ ("P-256" | "P-384" | "P-521"))) => {
            let (family, size) = match crv {
                "P-256" => (KeyFamily::P256, 32),
                "P-384" => (KeyFamily::P384, 48),
                _ => (KeyFamily::P521, 66),
            };
            let (x, y) = (member("x", &jwk.x)?, member("y", &jwk.y)?);
            if x.len() != size || y.len() != size {
                return Err(format!("{crv} coordinates must be {size} bytes"));
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04); // uncompressed SEC1 point
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            VerifyingKey::public(kid, jwk_alg, family, &point, allowed)
        }
        ("OKP", Some("Ed25519")) => {
            let x = member("x", &jwk.x)?;
            if x.len() != 32 {
                return Err("Ed25519 `x` must be 32 bytes".into());
            }
            VerifyingKey::public(kid, jwk_alg, KeyFamily::Ed25519, &x, allowed)
        }
        ("oct", _) => Err("symmetric key in a public key set ignored".into()),
        (kty, crv) => Err(format!(
            "unsupported key type {kty:?}{}",
            crv.map(|c| format!(" curve {c:?}")).unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Algorithm] = &Algorithm::ALL;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/fixtures/keys/{name}.jwk.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn set(keys: Vec<serde_json::Value>) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "keys": keys })).unwrap()
    }

    #[test]
    fn keys_without_alg_or_use_get_every_algorithm_of_their_family() {
        let parsed = parse_jwk_set(&set(vec![fixture("rsa-2048-a")]), ALL).unwrap();
        let algs: Vec<_> = parsed.keys[0].algorithms().collect();
        assert_eq!(algs.len(), 6);
        assert!(!algs.iter().any(|a| a.is_symmetric()));
    }

    #[test]
    fn jwk_alg_narrows_the_key_to_that_algorithm() {
        let mut jwk = fixture("rsa-2048-a");
        jwk["alg"] = "PS256".into();
        let parsed = parse_jwk_set(&set(vec![jwk]), ALL).unwrap();
        assert_eq!(
            parsed.keys[0].algorithms().collect::<Vec<_>>(),
            [Algorithm::PS256]
        );
    }

    #[test]
    fn unusable_keys_are_skipped_without_failing_the_set() {
        let mut enc = fixture("ec-p256-a");
        enc["use"] = "enc".into();
        enc["kid"] = "enc".into();
        let mut wrong_alg = fixture("ed25519-a");
        wrong_alg["alg"] = "RS256".into();
        let keys = vec![
            fixture("rsa-1024-weak"),
            enc,
            wrong_alg,
            serde_json::json!({"kty": "OKP", "crv": "X25519", "x": "AAAA", "kid": "x"}),
            serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "oct"}),
            serde_json::json!({"kty": "RSA", "kid": 7}),
            fixture("ec-p384-a"),
        ];
        let parsed = parse_jwk_set(&set(keys), ALL).unwrap();
        assert_eq!(parsed.keys.len(), 1, "{:?}", parsed.skipped);
        assert_eq!(parsed.keys[0].kid.as_deref(), Some("ec-p384-a"));
        assert_eq!(parsed.skipped.len(), 6);
        assert!(
            parsed.skipped[0].contains("1024 bits"),
            "{}",
            parsed.skipped[0]
        );
    }

    #[test]
    fn provider_allow_list_limits_key_algorithms() {
        let parsed = parse_jwk_set(&set(vec![fixture("ec-p256-a")]), &[Algorithm::RS256]).unwrap();
        assert!(parsed.keys.is_empty());
    }

    #[test]
    fn duplicate_kids_keep_the_first_key() {
        let mut second = fixture("ec-p256-b");
        second["kid"] = "ec-p256-a".into();
        let parsed = parse_jwk_set(&set(vec![fixture("ec-p256-a"), second]), ALL).unwrap();
        assert_eq!(parsed.keys.len(), 1);
        assert!(parsed.skipped[0].contains("duplicate"));
    }

    #[test]
    fn a_document_that_is_not_a_key_set_fails() {
        assert!(parse_jwk_set(b"{}", ALL).is_err());
        assert!(parse_jwk_set(b"[1,2]", ALL).is_err());
        assert!(parse_jwk_set(b"not json", ALL).is_err());
    }

    #[test]
    fn pem_public_keys_of_each_type_parse() {
        for (name, family) in [
            ("rsa-2048-a", KeyFamily::Rsa),
            ("ec-p256-a", KeyFamily::P256),
            ("ec-p384-a", KeyFamily::P384),
            ("ec-p521-a", KeyFamily::P521),
            ("ed25519-a", KeyFamily::Ed25519),
        ] {
            let path = format!(
                "{}/fixtures/keys/{name}.pub.pem",
                env!("CARGO_MANIFEST_DIR")
            );
            let key = VerifyingKey::from_pem(&std::fs::read(path).unwrap(), ALL).unwrap();
            assert_eq!(key.family, family, "{name}");
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(VerifyingKey::from_secret(&[7; 31], &[Algorithm::HS256]).is_err());
        assert!(VerifyingKey::from_secret(&[7; 32], &[Algorithm::HS256]).is_ok());
    }

    fn skipped_reason(jwk: serde_json::Value) -> String {
        let parsed = parse_jwk_set(&set(vec![jwk]), ALL).unwrap();
        assert!(parsed.keys.is_empty(), "the key was used");
        parsed.skipped.join("; ")
    }

    #[test]
    fn a_key_whose_key_ops_lack_verify_is_never_used() {
        for ops in [
            serde_json::json!(["sign"]),
            serde_json::json!(["encrypt"]),
            serde_json::json!([]),
        ] {
            let mut jwk = fixture("ec-p256-a");
            jwk["key_ops"] = ops.clone();
            let reason = skipped_reason(jwk);
            assert!(reason.contains("key_ops"), "{ops}: {reason}");
        }
    }

    #[test]
    fn a_key_whose_key_ops_include_verify_is_used() {
        for ops in [
            serde_json::json!(["verify"]),
            serde_json::json!(["sign", "verify"]),
        ] {
            let mut jwk = fixture("ec-p256-a");
            jwk["key_ops"] = ops;
            jwk["use"] = "sig".into();
            let parsed = parse_jwk_set(&set(vec![jwk]), ALL).unwrap();
            assert_eq!(parsed.keys.len(), 1, "{:?}", parsed.skipped);
        }
    }

    #[test]
    fn use_and_key_ops_that_disagree_are_skipped_with_a_reason() {
        for (key_use, ops) in [
            ("sig", serde_json::json!(["encrypt"])),
            ("sig", serde_json::json!(["verify", "decrypt"])),
            ("enc", serde_json::json!(["verify"])),
        ] {
            let mut jwk = fixture("rsa-2048-a");
            jwk["use"] = key_use.into();
            jwk["key_ops"] = ops.clone();
            let reason = skipped_reason(jwk);
            assert!(
                reason.contains("`use` and `key_ops` disagree"),
                "{key_use} {ops}: {reason}"
            );
        }
    }

    #[test]
    fn key_ops_that_is_not_an_array_of_strings_is_skipped() {
        for ops in [serde_json::json!("verify"), serde_json::json!([1])] {
            let mut jwk = fixture("ec-p256-a");
            jwk["key_ops"] = ops;
            skipped_reason(jwk);
        }
    }

    #[test]
    fn repeated_key_ops_values_are_skipped() {
        let mut jwk = fixture("ec-p256-a");
        jwk["key_ops"] = serde_json::json!(["verify", "verify"]);
        assert!(skipped_reason(jwk).contains("key_ops"));
    }

    fn with_exponent(e: &[u8]) -> serde_json::Value {
        let mut jwk = fixture("rsa-2048-a");
        jwk["e"] = URL_SAFE_NO_PAD.encode(e).into();
        jwk
    }

    #[test]
    fn rsa_keys_with_an_even_or_tiny_public_exponent_are_refused() {
        for e in [&[1u8][..], &[2], &[0, 1], &[1, 0, 0], &[1, 0, 2], &[0]] {
            let reason = skipped_reason(with_exponent(e));
            assert!(reason.contains("exponent"), "{e:?}: {reason}");
        }
    }

    #[test]
    fn rsa_keys_with_exponent_65537_are_accepted() {
        let parsed = parse_jwk_set(&set(vec![with_exponent(&[1, 0, 1])]), ALL).unwrap();
        assert_eq!(parsed.keys.len(), 1, "{:?}", parsed.skipped);
    }

    #[test]
    fn a_roca_vulnerable_modulus_is_refused() {
        let reason = skipped_reason(fixture("rsa-2048-roca"));
        assert!(reason.contains("ROCA"), "{reason}");
    }

    #[test]
    fn no_fixture_rsa_key_is_flagged_by_the_roca_test() {
        let path = format!("{}/fixtures/jwks/all.json", env!("CARGO_MANIFEST_DIR"));
        let parsed = parse_jwk_set(&std::fs::read(path).unwrap(), ALL).unwrap();
        assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
        let rsa = parsed
            .keys
            .iter()
            .filter(|k| k.family == KeyFamily::Rsa)
            .count();
        assert_eq!(rsa, 2);
        for name in ["rsa-2048-a", "rsa-2048-b", "rsa-1024-weak"] {
            let jwk = fixture(name);
            let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
            assert!(!roca::has_fingerprint(&n), "{name}");
        }
    }

    #[test]
    fn hmac_secrets_must_be_as_long_as_the_hash_of_each_allowed_algorithm() {
        for (alg, min) in [
            (Algorithm::HS256, 32),
            (Algorithm::HS384, 48),
            (Algorithm::HS512, 64),
        ] {
            let err = VerifyingKey::from_secret(&vec![7; min - 1], &[alg]).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config);
            assert!(err.to_string().contains(&alg.to_string()), "{err}");
            assert!(
                VerifyingKey::from_secret(&vec![7; min], &[alg]).is_ok(),
                "{alg}"
            );
        }
        let all = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
        let err = VerifyingKey::from_secret(&[7; 48], &all).unwrap_err();
        assert!(err.to_string().contains("HS512"), "{err}");
    }

    #[test]
    fn a_key_parsed_twice_has_one_identity_and_other_keys_another() {
        let id = |jwk: serde_json::Value| parse_jwk_set(&set(vec![jwk]), ALL).unwrap().keys[0].id;
        assert_eq!(id(fixture("ec-p256-a")), id(fixture("ec-p256-a")));
        let mut renamed = fixture("ec-p256-a");
        renamed["kid"] = "other".into();
        let mut new_material = fixture("ec-p256-b");
        new_material["kid"] = "ec-p256-a".into();
        let mut narrowed = fixture("ec-p256-a");
        narrowed["alg"] = "ES256".into();
        let mut no_kid = fixture("ec-p256-a");
        no_kid.as_object_mut().unwrap().remove("kid");
        let original = id(fixture("ec-p256-a"));
        for other in [renamed, new_material, no_kid] {
            assert_ne!(id(other), original);
        }
        // ES256 is a P-256 key's only algorithm: narrowing to it changes nothing.
        assert_eq!(id(narrowed), original);
        let mut rsa_narrowed = fixture("rsa-2048-a");
        rsa_narrowed["alg"] = "PS256".into();
        assert_ne!(id(rsa_narrowed), id(fixture("rsa-2048-a")));
    }
}
