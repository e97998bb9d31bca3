//! [`MockProvider`]: a loopback identity provider serving a preset's JWK set.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::keys::TestKey;
use super::served::{lock, IntrospectionResponder, JwksResponder, State};
use super::token::TokenBuilder;
use crate::algorithm::{Algorithm, KeyFamily};
use crate::provider::{builtin_preset_source, PresetInfo, Provider};

/// The audience a mock's tokens carry, for every preset whose audience is configured: it
/// fills the `{audience}` placeholder (Auth0, Okta, Keycloak, Google, ...).
pub const MOCK_AUDIENCE: &str = "https://api.example.test";

/// The former name of [`MOCK_AUDIENCE`], which every preset's mock uses, not only Auth0's.
#[deprecated(note = "renamed to `MOCK_AUDIENCE`: it is the audience of every preset's mock")]
pub const MOCK_AUTH0_AUDIENCE: &str = MOCK_AUDIENCE;

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
    /// [`MOCK_AUDIENCE`], 1-hour tokens.
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
    /// with [`MOCK_AUDIENCE`]. Signs with the file's first algorithm.
    ///
    /// # Panics
    /// If the file cannot be read or parsed.
    pub async fn custom(path: impl AsRef<std::path::Path>) -> Self {
        let source = std::fs::read_to_string(path.as_ref()).expect("read preset file");
        let label = path.as_ref().display().to_string();
        let alg = PresetInfo::parse(&source, &label)
            .expect("parse preset file")
            .algorithms[0];
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
        let info = PresetInfo::parse(source, label).expect("preset parses");
        let lifetime = info.mock_token_lifetime;
        // `{origin}` is the mock, `{audience}` is MOCK_AUDIENCE, and every other placeholder
        // without a default in the file is `mock-<name>`.
        let mut params = vec![
            ("origin".to_owned(), server.uri()),
            ("audience".to_owned(), MOCK_AUDIENCE.to_owned()),
        ];
        for param in &info.params {
            if param.default.is_none() && !params.iter().any(|(name, _)| *name == param.name) {
                let value = format!("mock-{}", param.name.replace('_', "-"));
                params.push((param.name.clone(), value));
            }
        }
        let borrowed: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let provider = info.fill(&borrowed).expect("preset parses");
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
        let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
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
        // A token of the preset's first accepted class (Cognito: `token_use` = "access",
        // audience in `client_id`).
        let kind = self.provider.token.default_class_claim();
        if let Some((claim, value, _)) = &kind {
            builder = builder.claim(claim, value.as_str());
        }
        match (audience, kind.and_then(|(_, _, aud)| aud)) {
            (Some(audience), Some(claim)) if claim != "aud" => {
                builder = builder.claim(&claim, audience);
            }
            (Some(audience), _) => builder = builder.audience(&audience),
            (None, _) => {}
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

    /// How many JWKS requests got the full key set (a `200` with a body).
    pub fn jwks_full_responses(&self) -> u64 {
        lock(&self.state).full_responses
    }

    /// How many JWKS requests got `304 Not Modified` (their `If-None-Match` named the
    /// current set's `ETag`).
    pub fn jwks_not_modified_responses(&self) -> u64 {
        lock(&self.state).not_modified_responses
    }

    /// Whether the key set is served with an `ETag` and conditional requests are answered
    /// with `304` (the default). `false` plays a server that ignores them: no `ETag`, every
    /// request gets the full set.
    pub fn conditional_requests(&self, on: bool) {
        lock(&self.state).no_etag = !on;
    }

    /// Mounts `POST /introspect`, an RFC 7662 introspection endpoint answering for the
    /// opaque tokens [`opaque`](Self::opaque) mints (`{"active": false}` for any other or a
    /// revoked one), and returns its URL. No client authentication is checked.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), jwks_auth::AuthError> {
    /// use jwks_auth::introspection::Introspection;
    /// use jwks_auth::testing::MockProvider;
    /// use jwks_auth::Verifier;
    ///
    /// let mock = MockProvider::auth0().await;
    /// let endpoint = mock.serve_introspection().await;
    /// let verifier = Verifier::builder(mock.provider())
    ///     .introspection(Introspection::new(endpoint))
    ///     .build()?;
    /// let token = mock.opaque(&mock.token().sub("user_1"));
    /// assert_eq!(verifier.verify(&token).await?.id, "user_1");
    /// assert_eq!(verifier.verify(&token).await?.id, "user_1"); // cached
    /// mock.revoke_opaque(&token);
    /// let fresh = mock.opaque(&mock.token());
    /// assert!(verifier.verify(&fresh).await.is_ok());
    /// assert_eq!(mock.introspection_requests(), 2);
    /// # Ok(()) }
    /// ```
    pub async fn serve_introspection(&self) -> String {
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .respond_with(IntrospectionResponder(self.state.clone()))
            .mount(self.server())
            .await;
        format!("{}/introspect", self.uri())
    }

    /// An opaque token whose introspection answers `builder`'s claims (see
    /// [`serve_introspection`](Self::serve_introspection)).
    pub fn opaque(&self, builder: &TokenBuilder) -> String {
        let mut state = lock(&self.state);
        let token = format!("mock_opaque_{}", state.opaque.len() + 1);
        state.opaque.insert(token.clone(), Some(builder.claims()));
        token
    }

    /// Revokes an opaque token at the mock: its introspection now answers inactive.
    pub fn revoke_opaque(&self, token: &str) {
        if let Some(claims) = lock(&self.state).opaque.get_mut(token) {
            *claims = None;
        }
    }

    /// How many introspection requests the mock answered.
    pub fn introspection_requests(&self) -> u64 {
        lock(&self.state).introspections
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_custom_preset_s_token_lifetime_comes_from_its_mock_table() {
        let path = std::env::temp_dir().join(format!(
            "jwks-auth-mock-lifetime-{}.toml",
            std::process::id()
        ));
        std::fs::write(
            &path,
            "name = \"idp\"\njwks_url = \"{origin}/keys\"\nissuer = \"{origin}\"\n\
             audience = \"none\"\nalgorithms = [\"ES256\"]\n[mock]\ntoken_lifetime_secs = 120\n",
        )
        .unwrap();
        let mock = MockProvider::custom(&path).await;
        std::fs::remove_file(&path).unwrap();
        let claims = mock.token().claims();
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(lifetime, 120);
    }

    #[tokio::test]
    async fn every_placeholder_without_a_default_gets_a_mock_value() {
        let mock = MockProvider::start("cognito", Algorithm::RS256).await;
        let params: Vec<_> = mock.params().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(params, ["origin", "audience", "pool", "client_id"]);
        assert_eq!(mock.issuer(), format!("{}/mock-pool", mock.uri()));
    }
}
