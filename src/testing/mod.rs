//! A real mock provider for your tests: it serves a JWK set on loopback at the preset's real
//! path and mints real signed tokens, so your tests exercise the true verification path
//! (feature `testing`).
//!
//! ```
//! use jwks_auth::testing::MockProvider;
//! use jwks_auth::Verifier;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), jwks_auth::AuthError> {
//! let mock = MockProvider::better_auth().await;
//! let verifier = Verifier::builder(mock.provider()).build()?;
//! let token = mock.token().sub("user_1").email("a@b.c").expires_in(60).sign();
//! assert_eq!(verifier.verify(&token).await?.id, "user_1");
//!
//! mock.rotate(); // a new key signs from now on; the old one stays published
//! let token = mock.token().sub("user_1").sign();
//! assert_eq!(verifier.verify(&token).await?.id, "user_1");
//! assert_eq!(mock.jwks_requests(), 2); // the unknown kid caused exactly one refetch
//! # Ok(()) }
//! ```
//!
//! Fault knobs ([`MockProvider::fail_next`], [`MockProvider::delay`],
//! [`MockProvider::malformed_next`], [`MockProvider::serve_raw`]) and
//! [`MockProvider::jwks_requests`] let you assert refresh behaviour. For networkless verifiers
//! use [`TestKeys`].

mod dpop;
mod keys;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub use dpop::DpopProof;
pub use keys::{TestKey, TestKeys, TEST_SECRET};

use crate::algorithm::{Algorithm, KeyFamily};
use crate::provider::{builtin_preset_source, Provider};

/// The audience the Auth0 mock issues tokens for.
pub const MOCK_AUTH0_AUDIENCE: &str = "https://api.example.test";

/// A mock identity provider on loopback. Dropping it stops the server.
#[derive(Debug)]
pub struct MockProvider {
    /// Always `Some` until dropped (see the `Drop` impl).
    server: Option<MockServer>,
    preset: String,
    params: Vec<(String, String)>,
    provider: Provider,
    lifetime: i64,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    published: Vec<TestKey>,
    signing: Option<TestKey>,
    generated: usize,
    requests: u64,
    fail_next: Vec<u16>,
    malformed_next: u32,
    delay: Option<Duration>,
    max_age: Option<u64>,
    raw_body: Option<String>,
    redirect_to: Option<String>,
    retry_after: Option<u64>,
}

struct JwksResponder(Arc<Mutex<State>>);

impl Respond for JwksResponder {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.0);
        state.requests += 1;
        let mut response = if !state.fail_next.is_empty() {
            let status = state.fail_next.remove(0);
            let mut r = ResponseTemplate::new(status).set_body_string("provider error");
            if let Some(secs) = state.retry_after {
                r = r.insert_header("retry-after", secs.to_string().as_str());
            }
            r
        } else if let Some(location) = &state.redirect_to {
            ResponseTemplate::new(302).insert_header("location", location.as_str())
        } else if state.malformed_next > 0 {
            state.malformed_next -= 1;
            ResponseTemplate::new(200).set_body_raw("{\"keys\": [", "application/json")
        } else {
            let body = state.raw_body.clone().unwrap_or_else(|| {
                let keys: Vec<_> = state
                    .published
                    .iter()
                    .filter_map(TestKey::public_jwk)
                    .collect();
                json!({ "keys": keys }).to_string()
            });
            let mut r = ResponseTemplate::new(200).set_body_raw(body, "application/json");
            if let Some(max_age) = state.max_age {
                r = r.insert_header(
                    "cache-control",
                    format!("public, max-age={max_age}").as_str(),
                );
            }
            r
        };
        if let Some(delay) = state.delay {
            response = response.set_delay(delay);
        }
        response
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn jwks_path(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| "/".into())
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        // wiremock's own Drop blocks on a tokio lock with `futures::executor::block_on`. On a
        // tokio thread whose cooperative budget is spent (e.g. a test that just awaited
        // thousands of verifies), that lock keeps answering "yield" and the drop spins
        // forever. A plain thread has no budget, so the server is dropped there.
        if let Some(server) = self.server.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(server)).join();
            }
        }
    }
}

impl MockProvider {
    /// Better Auth: JWKS at `/api/auth/jwks`, EdDSA, `iss` = `aud` = the mock's origin,
    /// 15-minute tokens.
    pub async fn better_auth() -> Self {
        Self::start("better-auth", Algorithm::EdDSA).await
    }

    /// Auth0: JWKS at `/.well-known/jwks.json`, RS256, `iss` = origin + `/`, `aud` =
    /// [`MOCK_AUTH0_AUDIENCE`], 1-hour tokens.
    pub async fn auth0() -> Self {
        Self::start("auth0", Algorithm::RS256).await
    }

    /// Clerk: JWKS at `/.well-known/jwks.json`, RS256, no `aud`, 60-second tokens.
    pub async fn clerk() -> Self {
        Self::start("clerk", Algorithm::RS256).await
    }

    /// A built-in preset by name, signing with `alg` (which must be one the preset allows).
    ///
    /// # Panics
    /// For an unknown preset or an algorithm the preset does not allow.
    pub async fn start(preset: &str, alg: Algorithm) -> Self {
        let source = builtin_preset_source(preset).unwrap_or_else(|e| panic!("{e}"));
        Self::from_toml(source, preset, alg).await
    }

    /// A preset file of your own; `{origin}` is filled with the mock's address, `{audience}`
    /// with [`MOCK_AUTH0_AUDIENCE`]. Signs with the file's first algorithm.
    ///
    /// # Panics
    /// If the file cannot be read or parsed.
    pub async fn custom(path: impl AsRef<std::path::Path>) -> Self {
        let source = std::fs::read_to_string(path.as_ref()).expect("read preset file");
        let label = path.as_ref().display().to_string();
        let probe = Provider::from_toml_str_with(
            &source,
            &label,
            &[
                ("origin", "http://127.0.0.1"),
                ("audience", MOCK_AUTH0_AUDIENCE),
            ],
        )
        .expect("parse preset file");
        let alg = probe.algorithms()[0];
        Self::from_toml(&source, &label, alg).await
    }

    /// Like [`start`](Self::start), on a listener you bound (e.g. a fixed port).
    ///
    /// # Panics
    /// For an unknown preset or an algorithm the preset does not allow.
    pub async fn start_on(preset: &str, alg: Algorithm, listener: std::net::TcpListener) -> Self {
        let source = builtin_preset_source(preset).unwrap_or_else(|e| panic!("{e}"));
        let server = MockServer::builder().listener(listener).start().await;
        Self::on_server(server, source, preset, alg).await
    }

    async fn from_toml(source: &str, label: &str, alg: Algorithm) -> Self {
        Self::on_server(MockServer::start().await, source, label, alg).await
    }

    async fn on_server(server: MockServer, source: &str, label: &str, alg: Algorithm) -> Self {
        // Values for every placeholder the shipped presets use; unused ones are ignored.
        let mut params = vec![
            ("origin".to_owned(), server.uri()),
            ("audience".to_owned(), MOCK_AUTH0_AUDIENCE.to_owned()),
        ];
        for name in ["project", "pool", "client_id", "realm", "tenant", "region"] {
            params.push((name.to_owned(), format!("mock-{}", name.replace('_', "-"))));
        }
        let borrowed: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let provider =
            Provider::from_toml_str_with(source, label, &borrowed).expect("preset parses");
        assert!(
            provider.algorithms().contains(&alg),
            "preset `{}` does not allow {alg}",
            provider.name()
        );
        let key = TestKey::for_algorithm(alg);
        let state = Arc::new(Mutex::new(State {
            published: vec![key.clone()],
            signing: Some(key),
            ..State::default()
        }));
        let jwks_url = provider
            .jwks_url()
            .expect("preset has a JWKS URL")
            .to_owned();
        Mock::given(method("GET"))
            .and(path(jwks_path(&jwks_url)))
            .respond_with(JwksResponder(state.clone()))
            .mount(&server)
            .await;
        let lifetime = match provider.name() {
            "better-auth" => 900,
            "clerk" => 60,
            _ => 3600,
        };
        MockProvider {
            server: Some(server),
            preset: provider.name().to_owned(),
            params,
            provider,
            lifetime,
            state,
        }
    }

    /// The preset pointed at this mock, with production's issuer and audience rules.
    pub fn provider(&self) -> Provider {
        self.provider.clone()
    }

    /// The preset's name.
    pub fn preset(&self) -> &str {
        &self.preset
    }

    /// The mock's base URL, `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server().uri()
    }

    /// The `{placeholder}` values used for the preset (`origin`, `audience`).
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The issuer tokens carry.
    pub fn issuer(&self) -> String {
        self.provider.issuer().unwrap_or_default().to_owned()
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        self.provider.jwks_url().unwrap_or_default().to_owned()
    }

    /// The underlying wiremock server, to mount more routes.
    pub fn server(&self) -> &MockServer {
        self.server.as_ref().expect("present until drop")
    }

    /// A token builder pre-filled as the provider would issue it: `iss`, `aud` (by the
    /// preset's rule), `sub` = `user_test`, `iat` now, `exp` after the provider's usual
    /// lifetime, signed by the current key with its kid.
    pub fn token(&self) -> TokenBuilder {
        let key = lock(&self.state).signing.clone().expect("a signing key");
        let alg = self
            .provider
            .algorithms()
            .iter()
            .copied()
            .find(|a| a.key_family() == key.family())
            .unwrap_or_else(|| key.default_algorithm());
        let mut builder = TokenBuilder::new(key, alg).expires_in(self.lifetime);
        if let Some(template) = &self.provider.issuer {
            let (issuer, claim) = fill_token_placeholder(template);
            builder = builder.issuer(&issuer);
            if let Some((name, value)) = claim {
                builder = builder.claim(&name, value);
            }
        }
        let audience = match self.provider.audience_rule() {
            crate::AudienceRule::Issuer => self.provider.issuer().map(str::to_owned),
            _ => self.provider.audiences().first().cloned(),
        };
        if let Some(audience) = audience {
            builder = builder.audience(&audience);
        }
        if let Some(claim) = &self.provider.claims().email_verified {
            builder.email_verified_claim = claim.clone();
        }
        builder.with_published(self.state.clone())
    }

    /// Publishes a new key of the signing key's family and signs with it from now on; the
    /// old key stays published (see [`remove_key`](Self::remove_key)). Returns the new kid.
    pub fn rotate(&self) -> String {
        let family = lock(&self.state)
            .signing
            .as_ref()
            .expect("a signing key")
            .family();
        self.add_key(family)
    }

    /// Publishes a new key of `family` and makes it the signing key. Returns its kid.
    /// Fixture keys are used first; later keys are generated.
    pub fn add_key(&self, family: KeyFamily) -> String {
        let mut state = lock(&self.state);
        let next = state
            .published
            .iter()
            .filter(|k| k.family() == family)
            .count();
        let kid_base = format!("mock-{}", state.generated + 1);
        state.generated += 1;
        let fixture = (0..3)
            .filter_map(|n| TestKey::fixture(family, n))
            .find(|k| !state.published.iter().any(|p| p.kid() == k.kid()));
        let key = match fixture {
            Some(key) if next < 2 => key,
            _ => TestKey::generate(family, &kid_base),
        };
        let kid = key.kid().to_owned();
        state.published.push(key.clone());
        state.signing = Some(key);
        kid
    }

    /// Stops publishing `kid` (tokens signed by it become unverifiable after a refresh).
    pub fn remove_key(&self, kid: &str) {
        lock(&self.state).published.retain(|k| k.kid() != kid);
    }

    /// The published kids, oldest first.
    pub fn kids(&self) -> Vec<String> {
        lock(&self.state)
            .published
            .iter()
            .map(|k| k.kid().to_owned())
            .collect()
    }

    /// The kid of the current signing key.
    pub fn current_kid(&self) -> String {
        lock(&self.state)
            .signing
            .as_ref()
            .map(|k| k.kid().to_owned())
            .unwrap_or_default()
    }

    /// The next `n` JWKS responses fail with `status`.
    pub fn fail_next(&self, n: usize, status: u16) {
        lock(&self.state)
            .fail_next
            .extend(std::iter::repeat_n(status, n));
    }

    /// Failures carry `Retry-After: secs`.
    pub fn retry_after(&self, secs: Option<u64>) {
        lock(&self.state).retry_after = secs;
    }

    /// The next `n` JWKS responses are truncated JSON.
    pub fn malformed_next(&self, n: u32) {
        lock(&self.state).malformed_next = n;
    }

    /// Every JWKS response waits `delay` first (`None` to stop).
    pub fn delay(&self, delay: Option<Duration>) {
        lock(&self.state).delay = delay;
    }

    /// Responses carry `Cache-Control: public, max-age=<secs>` (`None` for no header).
    pub fn max_age(&self, secs: Option<u64>) {
        lock(&self.state).max_age = secs;
    }

    /// Serve this body instead of the key set (`None` to go back), e.g. a huge or odd document.
    pub fn serve_raw(&self, body: Option<String>) {
        lock(&self.state).raw_body = body;
    }

    /// Answer JWKS requests with a 302 to `location` (`None` to stop).
    pub fn redirect_to(&self, location: Option<String>) {
        lock(&self.state).redirect_to = location;
    }

    /// How many JWKS requests the mock has answered.
    pub fn jwks_requests(&self) -> u64 {
        lock(&self.state).requests
    }

    /// Mounts `POST /token`: a JSON object of claims, merged over [`token`](Self::token)'s
    /// defaults, answered with `{"token": "<jwt>"}` (used by `jwks-auth mock`).
    pub async fn serve_token_endpoint(&self) {
        let template = self.token();
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(TokenEndpoint {
                template,
                state: self.state.clone(),
            })
            .mount(self.server())
            .await;
    }
}

/// An issuer template's `{token.<claim>}` (multi-tenant issuers) filled with
/// `mock-<claim>`, and the claim the token must then carry.
fn fill_token_placeholder(
    template: &crate::provider::Issuer,
) -> (String, Option<(String, String)>) {
    match template.split() {
        Ok(Some((prefix, name, suffix))) => {
            let value = format!("mock-{name}");
            (
                format!("{prefix}{value}{suffix}"),
                Some((name.to_owned(), value)),
            )
        }
        _ => (template.as_str().to_owned(), None),
    }
}

struct TokenEndpoint {
    template: TokenBuilder,
    state: Arc<Mutex<State>>,
}

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let claims: Map<String, Value> = if request.body.is_empty() {
            Map::new()
        } else {
            match serde_json::from_slice(&request.body) {
                Ok(claims) => claims,
                Err(_) => {
                    return ResponseTemplate::new(400)
                        .set_body_json(json!({"error": "body must be a JSON object of claims"}))
                }
            }
        };
        let key = lock(&self.state).signing.clone().expect("a signing key");
        let mut builder = self.template.clone().key(key).fresh_times();
        for (name, value) in claims {
            builder = builder.claim(&name, value);
        }
        ResponseTemplate::new(200).set_body_json(json!({ "token": builder.sign() }))
    }
}

/// Builds and signs a test token. Every setter overrides the default; nothing is validated,
/// so invalid tokens are as easy to make as valid ones.
#[derive(Debug, Clone)]
pub struct TokenBuilder {
    key: TestKey,
    alg: Algorithm,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    lifetime: i64,
    not_before: Option<i64>,
    now: Option<i64>,
    kid: Option<String>,
    include_kid: bool,
    published: Option<Arc<Mutex<State>>>,
    email_verified_claim: String,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
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

    fn with_published(mut self, state: Arc<Mutex<State>>) -> Self {
        self.published = Some(state);
        self
    }

    fn fresh_times(mut self) -> Self {
        self.now = None;
        self
    }

    /// Sets any claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Removes a claim (including defaults such as `exp` or `sub`).
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        if name == "exp" {
            self.lifetime = i64::MIN;
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
    /// Better Auth; `email_verified` otherwise, and for [`TestKeys`] tokens).
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
        claims.insert("iat".into(), now.into());
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

    fn signing_input(header: &Map<String, Value>, claims: &Map<String, Value>) -> String {
        let encode = |value: &Map<String, Value>| {
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
        };
        format!("{}.{}", encode(header), encode(claims))
    }

    /// The signed compact token.
    pub fn sign(&self) -> String {
        let input = Self::signing_input(&self.header_json(self.alg.as_str()), &self.claims_json());
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
        let input = Self::signing_input(&self.header_json(self.alg.as_str()), &claims);
        format!("{input}.{signature}")
    }

    /// `alg: none` with an empty signature.
    pub fn sign_none(&self) -> String {
        let input = Self::signing_input(&self.header_json("none"), &self.claims_json());
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
