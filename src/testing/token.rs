//! [`TokenBuilder`]: builds and signs test tokens, valid or deliberately broken.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::keys::TestKey;
use super::served::{lock, State};
use crate::algorithm::Algorithm;

/// Builds and signs a test token. Every setter overrides the default; nothing is validated,
/// so invalid tokens are as easy to make as valid ones.
#[derive(Debug, Clone)]
pub struct TokenBuilder {
    key: TestKey,
    alg: Algorithm,
    header: Map<String, Value>,
    /// `without_claim("iat")` was asked for.
    omit_iat: bool,
    claims: Map<String, Value>,
    lifetime: i64,
    not_before: Option<i64>,
    now: Option<i64>,
    kid: Option<String>,
    include_kid: bool,
    published: Option<Arc<Mutex<State>>>,
    pub(super) email_verified_claim: String,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// `base64url(header).base64url(claims)`, the JWS signing input (shared with
/// [`DpopProof`](super::DpopProof)).
pub(super) fn signing_input(header: &Map<String, Value>, claims: &Map<String, Value>) -> String {
    let encode = |value: &Map<String, Value>| {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
    };
    format!("{}.{}", encode(header), encode(claims))
}

impl TokenBuilder {
    /// A builder signing with `key` and `alg`; `sub` = `user_test`, valid for 15 minutes.
    pub fn new(key: TestKey, alg: Algorithm) -> Self {
        let mut claims = Map::new();
        claims.insert("sub".into(), "user_test".into());
        TokenBuilder {
            key,
            alg,
            header: Map::new(),
            omit_iat: false,
            claims,
            lifetime: 900,
            not_before: None,
            now: None,
            kid: None,
            include_kid: true,
            published: None,
            email_verified_claim: "email_verified".into(),
        }
    }

    pub(super) fn with_published(mut self, state: Arc<Mutex<State>>) -> Self {
        self.published = Some(state);
        self
    }

    pub(super) fn fresh_times(mut self) -> Self {
        self.now = None;
        self
    }

    /// Sets any claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Removes a claim (including defaults such as `exp`, `iat` or `sub`).
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        if name == "exp" {
            self.lifetime = i64::MIN;
        }
        if name == "iat" {
            self.omit_iat = true;
        }
        self
    }

    /// `sub`.
    #[allow(clippy::should_implement_trait)] // `sub` is the claim's name
    pub fn sub(self, sub: &str) -> Self {
        self.claim("sub", sub)
    }

    /// `email`.
    pub fn email(self, email: &str) -> Self {
        self.claim("email", email)
    }

    /// Whether the email is verified, under the preset's claim name (`emailVerified` for
    /// Better Auth; `email_verified` otherwise, and for [`TestKeys`](super::TestKeys) tokens).
    pub fn email_verified(self, verified: bool) -> Self {
        let name = self.email_verified_claim.clone();
        self.claim(&name, verified)
    }

    /// `scope`, space separated.
    pub fn scope(self, scope: &str) -> Self {
        self.claim("scope", scope)
    }

    /// `permissions` array (Auth0 RBAC).
    pub fn permissions<I: IntoIterator<Item = S>, S: Into<String>>(self, permissions: I) -> Self {
        let list: Vec<Value> = permissions
            .into_iter()
            .map(|p| Value::String(p.into()))
            .collect();
        self.claim("permissions", list)
    }

    /// `azp` (Clerk's authorized party).
    pub fn azp(self, azp: &str) -> Self {
        self.claim("azp", azp)
    }

    /// `sid` (session id).
    pub fn sid(self, sid: &str) -> Self {
        self.claim("sid", sid)
    }

    /// `iss`.
    pub fn issuer(self, issuer: &str) -> Self {
        self.claim("iss", issuer)
    }

    /// `aud` as a string.
    pub fn audience(self, audience: &str) -> Self {
        self.claim("aud", audience)
    }

    /// `aud` as an array.
    pub fn audiences<I: IntoIterator<Item = S>, S: Into<String>>(self, audiences: I) -> Self {
        let list: Vec<Value> = audiences
            .into_iter()
            .map(|a| Value::String(a.into()))
            .collect();
        self.claim("aud", list)
    }

    /// `exp` = now + `secs` (negative for an already expired token).
    pub fn expires_in(mut self, secs: i64) -> Self {
        self.lifetime = secs;
        self
    }

    /// `exp` an hour in the past.
    pub fn expired(self) -> Self {
        self.expires_in(-3600)
    }

    /// `nbf` = now + `secs`.
    pub fn not_before_in(mut self, secs: i64) -> Self {
        self.not_before = Some(secs);
        self.claims.remove("nbf");
        self
    }

    /// Pretend "now" is `unix_secs` for `iat`/`exp`/`nbf` (to match a `ManualClock`).
    pub fn at(mut self, unix_secs: i64) -> Self {
        self.now = Some(unix_secs);
        self
    }

    /// The header's `alg`; the key must fit it.
    pub fn alg(mut self, alg: Algorithm) -> Self {
        if alg.key_family() != self.key.family() {
            if let Some(state) = &self.published {
                if let Some(key) = lock(state)
                    .published
                    .iter()
                    .rev()
                    .find(|k| k.family() == alg.key_family())
                {
                    self.key = key.clone();
                }
            }
            if alg.key_family() != self.key.family() {
                self.key = TestKey::for_algorithm(alg);
            }
        }
        self.alg = alg;
        self
    }

    /// Sign with this key instead.
    pub fn key(mut self, key: TestKey) -> Self {
        self.key = key;
        self
    }

    /// The header's `kid` (default: the key's).
    pub fn kid(mut self, kid: &str) -> Self {
        self.kid = Some(kid.into());
        self.include_kid = true;
        self
    }

    /// No `kid` in the header.
    pub fn no_kid(mut self) -> Self {
        self.include_kid = false;
        self
    }

    /// Any extra header member (numbers, arrays, objects allowed).
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.into(), value.into());
        self
    }

    fn now(&self) -> i64 {
        self.now.unwrap_or_else(unix_now)
    }

    fn header_json(&self, alg: &str) -> Map<String, Value> {
        let mut header = Map::new();
        header.insert("alg".into(), alg.into());
        header.insert("typ".into(), "JWT".into());
        if self.include_kid {
            let kid = self
                .kid
                .clone()
                .unwrap_or_else(|| self.key.kid().to_owned());
            header.insert("kid".into(), kid.into());
        }
        for (name, value) in &self.header {
            header.insert(name.clone(), value.clone());
        }
        header
    }

    fn claims_json(&self) -> Map<String, Value> {
        let now = self.now();
        let mut claims = Map::new();
        if !self.omit_iat {
            claims.insert("iat".into(), now.into());
        }
        if self.lifetime != i64::MIN {
            claims.insert("exp".into(), (now + self.lifetime).into());
        }
        if let Some(offset) = self.not_before {
            claims.insert("nbf".into(), (now + offset).into());
        }
        for (name, value) in &self.claims {
            claims.insert(name.clone(), value.clone());
        }
        claims
    }

    /// The signed compact token.
    pub fn sign(&self) -> String {
        let input = signing_input(&self.header_json(self.alg.as_str()), &self.claims_json());
        let signature = self.key.sign(self.alg, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Signed by a key that is not published, under the same kid (for negative tests).
    pub fn sign_with_wrong_key(&self) -> String {
        let kid = self
            .kid
            .clone()
            .unwrap_or_else(|| self.key.kid().to_owned());
        let family = self.key.family();
        let other = (0..2)
            .filter_map(|n| TestKey::fixture(family, n))
            .find(|k| k.kid() != self.key.kid())
            .unwrap_or_else(|| TestKey::generate(family, "other"));
        self.clone().key(other).kid(&kid).sign()
    }

    /// A valid signature over these claims, then the payload swapped for `claim` = `value`.
    pub fn sign_tampered(&self, claim: &str, value: impl Into<Value>) -> String {
        let token = self.sign();
        let signature = token.rsplit('.').next().expect("three parts").to_owned();
        let mut claims = self.claims_json();
        claims.insert(claim.into(), value.into());
        let input = signing_input(&self.header_json(self.alg.as_str()), &claims);
        format!("{input}.{signature}")
    }

    /// `alg: none` with an empty signature.
    pub fn sign_none(&self) -> String {
        let input = signing_input(&self.header_json("none"), &self.claims_json());
        format!("{input}.")
    }

    /// The claims this builder would sign.
    pub fn claims(&self) -> Map<String, Value> {
        self.claims_json()
    }

    /// The extra header members set so far.
    pub fn extra_header(&self) -> BTreeMap<String, Value> {
        self.header.clone().into_iter().collect()
    }
}
