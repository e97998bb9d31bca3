//! DPoP proofs for tests (RFC 9449), valid by default, with a knob to break each field.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::token::signing_input;
use super::{TestKey, TokenBuilder};
use crate::algorithm::Algorithm;

impl TestKey {
    /// The RFC 7638 SHA-256 thumbprint of the public key, the `cnf.jkt` of a token bound
    /// to it.
    ///
    /// # Panics
    /// For a shared secret, which has no public key.
    pub fn jkt(&self) -> String {
        let jwk = self.public_jwk().expect("a shared secret has no jkt");
        crate::dpop::jwk_thumbprint(jwk.as_object().expect("a JWK is an object"))
            .expect("test keys have thumbprints")
    }
}

impl TokenBuilder {
    /// Binds the token to `key` for DPoP: `cnf` = `{"jkt": key.jkt()}`.
    pub fn dpop_bound(self, key: &TestKey) -> Self {
        self.claim("cnf", json!({ "jkt": key.jkt() }))
    }
}

/// Builds and signs a DPoP proof JWT. Every default makes a valid proof; every setter
/// overrides one field, and nothing is validated, so broken proofs are as easy to make as
/// valid ones.
///
/// Defaults: header `typ` = `dpop+jwt`, `alg` = the key's default algorithm, `jwk` = the
/// public key; claims `htm` = `GET`, `htu` = `https://api.example.test/`, `iat` = now,
/// `jti` = 16 random bytes, base64url; no `ath`, no `nonce`.
///
/// ```
/// use jwks_auth::testing::{DpopProof, TestKey};
/// use jwks_auth::KeyFamily;
/// let key = TestKey::fixture(KeyFamily::P256, 0).unwrap();
/// let proof = DpopProof::new(&key)
///     .method("POST")
///     .url("https://api.example.test/notes")
///     .token("the-access-token")
///     .sign();
/// assert_eq!(proof.split('.').count(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct DpopProof {
    key: TestKey,
    alg: Algorithm,
    alg_label: Option<String>,
    typ: Option<String>,
    jwk: Option<Value>,
    private_jwk: bool,
    header: Map<String, Value>,
    method: String,
    url: String,
    ath: Option<String>,
    nonce: Option<String>,
    iat: Option<i64>,
    jti: Option<String>,
    claims: Map<String, Value>,
    removed: Vec<String>,
}

fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).expect("randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl DpopProof {
    /// A valid proof signed by `key` (which must not be a shared secret).
    pub fn new(key: &TestKey) -> Self {
        DpopProof {
            key: key.clone(),
            alg: key.default_algorithm(),
            alg_label: None,
            typ: Some("dpop+jwt".into()),
            jwk: None,
            private_jwk: false,
            header: Map::new(),
            method: "GET".into(),
            url: "https://api.example.test/".into(),
            ath: None,
            nonce: None,
            iat: None,
            jti: None,
            claims: Map::new(),
            removed: Vec::new(),
        }
    }

    /// `htm`.
    pub fn method(mut self, method: &str) -> Self {
        self.method = method.into();
        self
    }

    /// `htu`, written as given.
    pub fn url(mut self, url: &str) -> Self {
        self.url = url.into();
        self
    }

    /// `ath` = base64url(SHA-256(`access_token`)).
    pub fn token(mut self, access_token: &str) -> Self {
        self.ath = Some(crate::dpop::certificate_thumbprint(access_token.as_bytes()));
        self
    }

    /// `ath` verbatim (e.g. a wrong hash).
    pub fn ath(mut self, ath: &str) -> Self {
        self.ath = Some(ath.into());
        self
    }

    /// `nonce`.
    pub fn nonce(mut self, nonce: &str) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// `iat` in seconds since the Unix epoch (default: now).
    pub fn iat(mut self, unix_secs: i64) -> Self {
        self.iat = Some(unix_secs);
        self
    }

    /// `jti` (default: random).
    pub fn jti(mut self, jti: &str) -> Self {
        self.jti = Some(jti.into());
        self
    }

    /// Signs with `alg` (which must fit the key, e.g. PS256 for an RSA key) and names it in
    /// the header.
    pub fn alg(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// Only the header's `alg` says `name` (`"none"`, `"HS256"`, `"Ed25519"`, ...); the
    /// signature is still made with the key's algorithm.
    pub fn alg_label(mut self, name: &str) -> Self {
        self.alg_label = Some(name.into());
        self
    }

    /// The header's `typ` (default `dpop+jwt`).
    pub fn typ(mut self, typ: &str) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// No `typ` in the header.
    pub fn no_typ(mut self) -> Self {
        self.typ = None;
        self
    }

    /// The header's `jwk` replaced by `jwk` (e.g. another key's, or a symmetric one).
    pub fn jwk(mut self, jwk: Value) -> Self {
        self.jwk = Some(jwk);
        self
    }

    /// No `jwk` in the header.
    pub fn no_jwk(mut self) -> Self {
        self.jwk = Some(Value::Null);
        self
    }

    /// Adds a private-key member `d` to the header's `jwk` (a placeholder value: a checker
    /// must refuse the member's presence alone).
    pub fn private_jwk(mut self) -> Self {
        self.private_jwk = true;
        self
    }

    /// Any extra header member (`crit`, `jku`, `x5c`, ...), or an override.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.into(), value.into());
        self
    }

    /// Any extra claim, or an override (e.g. `iat` as a string).
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Leaves out a claim (`htm`, `htu`, `iat`, `jti`, `ath`, `nonce` or an extra one).
    pub fn without_claim(mut self, name: &str) -> Self {
        self.removed.push(name.into());
        self
    }

    /// The header this proof would carry.
    pub fn header_json(&self) -> Map<String, Value> {
        let mut header = Map::new();
        header.insert(
            "alg".into(),
            self.alg_label
                .clone()
                .unwrap_or_else(|| self.alg.as_str().into())
                .into(),
        );
        if let Some(typ) = &self.typ {
            header.insert("typ".into(), typ.clone().into());
        }
        let jwk = match &self.jwk {
            Some(Value::Null) => None,
            Some(jwk) => Some(jwk.clone()),
            None => self.key.public_jwk().map(|mut jwk| {
                if let Some(object) = jwk.as_object_mut() {
                    object.remove("kid");
                }
                jwk
            }),
        };
        if let Some(mut jwk) = jwk {
            if self.private_jwk {
                jwk["d"] = URL_SAFE_NO_PAD.encode([1u8; 32]).into();
            }
            header.insert("jwk".into(), jwk);
        }
        for (name, value) in &self.header {
            header.insert(name.clone(), value.clone());
        }
        header
    }

    /// The claims this proof would carry.
    pub fn claims_json(&self) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("htm".into(), self.method.clone().into());
        claims.insert("htu".into(), self.url.clone().into());
        claims.insert("iat".into(), self.iat.unwrap_or_else(unix_now).into());
        claims.insert(
            "jti".into(),
            self.jti.clone().unwrap_or_else(random_jti).into(),
        );
        if let Some(ath) = &self.ath {
            claims.insert("ath".into(), ath.clone().into());
        }
        if let Some(nonce) = &self.nonce {
            claims.insert("nonce".into(), nonce.clone().into());
        }
        for (name, value) in &self.claims {
            claims.insert(name.clone(), value.clone());
        }
        for name in &self.removed {
            claims.remove(name);
        }
        claims
    }

    /// The signed compact proof (a new random `jti` each call unless [`jti`](Self::jti) is
    /// set).
    ///
    /// # Panics
    /// When the algorithm does not fit the key (e.g. a shared-secret key).
    pub fn sign(&self) -> String {
        self.sign_over(&self.header_json(), &self.claims_json())
    }

    /// A valid signature over this proof, then the payload swapped for the same claims with
    /// `claim` = `value`: what an attacker who edits a captured proof (say, its `htu`) sends.
    /// The signature no longer verifies.
    ///
    /// # Panics
    /// As [`sign`](Self::sign).
    pub fn sign_tampered(&self, claim: &str, value: impl Into<Value>) -> String {
        let header = self.header_json();
        let mut claims = self.claims_json();
        let signed = self.sign_over(&header, &claims);
        let signature = signed.rsplit('.').next().expect("three parts");
        claims.insert(claim.into(), value.into());
        format!("{}.{signature}", signing_input(&header, &claims))
    }

    /// The proof with header `alg` = `none` and an empty signature (an unsigned JWS).
    pub fn sign_none(&self) -> String {
        let mut header = self.header_json();
        header.insert("alg".into(), "none".into());
        format!("{}.", signing_input(&header, &self.claims_json()))
    }

    fn sign_over(&self, header: &Map<String, Value>, claims: &Map<String, Value>) -> String {
        let input = signing_input(header, claims);
        let signature = self.key.sign(self.alg, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}
