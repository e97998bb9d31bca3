//! Interop with a real Better Auth server (`tests/interop/better-auth/server.mjs`, the JWT
//! plugin of `better-auth` pinned in its `package.json`): sign up over HTTP, fetch a JWT from
//! `/api/auth/token`, and verify it with `Provider::better_auth(base_url)`.
//!
//! Needs Node.js (>= 20.19) and npm on `PATH`; the first test installs the pinned
//! dependencies with `npm ci` when `node_modules` is missing. Without node the tests fail
//! with a message saying so: they are never skipped.

mod support;

use std::time::Duration;

use jwks_auth::{ErrorKind, Provider, Verifier};
use serde_json::Value;
use support::node::{json_body, NodeProject, NodeServer};
use support::{b64, header_of, with_payload};

/// `server.mjs`'s lowest supported Node.js version is 20.19 (`@noble/*` needs it).
const PROJECT: NodeProject = NodeProject {
    name: "Better Auth",
    dir: "tests/interop/better-auth",
    min_node: (20, 19),
};
const PASSWORD: &str = "password1234";

/// A running `server.mjs` (killed on drop, see [`NodeServer`]) and a client for its API.
struct BetterAuthServer {
    _server: NodeServer,
    base_url: String,
    http: reqwest::Client,
}

impl BetterAuthServer {
    /// Starts a server signing with `alg`, plus extra environment variables.
    fn start(alg: &str, env: &[(&str, &str)]) -> Self {
        let server = PROJECT.start("server.mjs", |command| {
            command
                .env("JWT_ALG", alg)
                // Belt and braces: the server also sets telemetry off; nothing may leave
                // loopback.
                .env("BETTER_AUTH_TELEMETRY", "0")
                .env_remove("ROTATION_INTERVAL")
                .env_remove("GRACE_PERIOD")
                .envs(env.iter().copied());
        });
        BetterAuthServer {
            base_url: server.url().to_owned(),
            _server: server,
            http: reqwest::Client::new(),
        }
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/auth{path}", self.base_url)
    }

    /// `POST /sign-up/email`; returns the user id and the session token.
    async fn sign_up(&self, email: &str, name: &str) -> (String, String) {
        let response = self
            .http
            .post(self.api("/sign-up/email"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD, "name": name}))
            .send()
            .await
            .expect("sign-up request");
        let body = json_body(response, "sign-up").await;
        let id = body["user"]["id"].as_str().expect("sign-up .user.id");
        let session = body["token"].as_str().expect("sign-up .token");
        (id.to_owned(), session.to_owned())
    }

    /// `GET /token` with the session as a bearer token; returns the JWT.
    async fn jwt(&self, session: &str) -> String {
        let response = self
            .http
            .get(self.api("/token"))
            .bearer_auth(session)
            .send()
            .await
            .expect("token request");
        let body = json_body(response, "token").await;
        body["token"].as_str().expect("token .token").to_owned()
    }

    /// `GET /jwks`, the document as served.
    async fn jwks(&self) -> Value {
        let response = self
            .http
            .get(self.api("/jwks"))
            .send()
            .await
            .expect("jwks request");
        json_body(response, "jwks").await
    }

    fn verifier(&self) -> Verifier {
        Verifier::builder(Provider::better_auth(&self.base_url).expect("preset"))
            .build()
            .expect("verifier")
    }
}

fn kid_of(token: &str) -> String {
    header_of(token)["kid"]
        .as_str()
        .expect("Better Auth tokens carry a kid")
        .to_owned()
}

fn jwks_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .map(|key| key["kid"].as_str().expect("every key has a kid").to_owned())
        .collect()
}

/// The same header and signature over a payload whose `sub` and `id` name another user.
fn with_other_subject(token: &str) -> String {
    with_payload(token, |claims| {
        claims["sub"] = "someone-else".into();
        claims["id"] = "someone-else".into();
    })
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// One server per algorithm: a real token verifies to the signed-up user, the JWKS is the
/// shape Better Auth documents (no `use`), and a re-addressed payload does not verify.
async fn real_token_verifies(alg: &str) {
    let server = BetterAuthServer::start(alg, &[]);
    let email = format!("alice.{}@example.com", alg.to_ascii_lowercase());
    let (user_id, session) = server.sign_up(&email, "Alice").await;
    let token = server.jwt(&session).await;

    let header = header_of(&token);
    assert_eq!(header["alg"], alg, "the server signs with JWT_ALG");
    let kid = kid_of(&token);

    let jwks = server.jwks().await;
    let keys = jwks["keys"].as_array().expect("keys array");
    assert!(!keys.is_empty());
    for key in keys {
        assert!(
            key.get("use").is_none(),
            "Better Auth keys carry no `use`: {key}"
        );
        assert_eq!(key["alg"], alg, "{key}");
    }
    assert!(
        jwks_kids(&jwks).contains(&kid),
        "the token's kid is published"
    );

    let verifier = server.verifier();
    let user = verifier.verify(&token).await.expect("real token verifies");
    assert_eq!(user.id, user_id, "user id is the sign-up .user.id");
    assert_eq!(user.email.as_deref(), Some(email.as_str()));
    // A fresh email sign-up is unverified: Better Auth says so in `emailVerified`.
    assert_eq!(user.email_verified, Some(false));
    assert_eq!(user.issuer(), Some(server.base_url.as_str()));
    assert_eq!(verifier.key_stats().fetches, 1);

    let forged = with_other_subject(&token);
    let err = verifier.verify(&forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{alg}: {err}");
}

#[tokio::test]
async fn eddsa_token_from_better_auth_verifies() {
    real_token_verifies("EdDSA").await;
}

#[tokio::test]
async fn es256_token_from_better_auth_verifies() {
    real_token_verifies("ES256").await;
}

#[tokio::test]
async fn es512_token_from_better_auth_verifies() {
    real_token_verifies("ES512").await;
}

#[tokio::test]
async fn rs256_token_from_better_auth_verifies() {
    real_token_verifies("RS256").await;
}

#[tokio::test]
async fn ps256_token_from_better_auth_verifies() {
    real_token_verifies("PS256").await;
}

/// Better Auth rotates lazily: after `ROTATION_INTERVAL` the next signing mints a new key.
/// The verifier meets the new kid with exactly one refetch (the cold fetch was not an
/// unknown-kid refresh, so the refresh cooldown does not hold it back), and the old key,
/// still within `GRACE_PERIOD`, keeps verifying without another fetch.
#[tokio::test]
async fn rotated_key_is_picked_up_with_one_refetch() {
    const ROTATION_SECS: u64 = 2;
    let server = BetterAuthServer::start(
        "EdDSA",
        &[("ROTATION_INTERVAL", "2"), ("GRACE_PERIOD", "600")],
    );
    let (user_id, session) = server.sign_up("rotate@example.com", "Rotate").await;
    let verifier = server.verifier();

    let first = server.jwt(&session).await;
    assert_eq!(verifier.verify(&first).await.unwrap().id, user_id);
    let stats = verifier.key_stats();
    assert_eq!((stats.fetches, stats.unknown_kid_refreshes), (1, 0));

    // The first key was minted no later than `first` was returned.
    tokio::time::sleep(Duration::from_millis(ROTATION_SECS * 1000 + 500)).await;
    let second = server.jwt(&session).await;
    assert_ne!(
        kid_of(&first),
        kid_of(&second),
        "Better Auth rotated its key"
    );
    let published = jwks_kids(&server.jwks().await);
    assert!(published.contains(&kid_of(&first)) && published.contains(&kid_of(&second)));

    assert_eq!(verifier.verify(&second).await.unwrap().id, user_id);
    let stats = verifier.key_stats();
    assert_eq!(stats.fetches, 2, "exactly one extra fetch for the new kid");
    assert_eq!(stats.unknown_kid_refreshes, 1);
    assert_eq!(stats.keys, 2);

    assert_eq!(verifier.verify(&first).await.unwrap().id, user_id);
    assert_eq!(
        verifier.key_stats().fetches,
        2,
        "the old key is still cached"
    );
}

/// A token from another Better Auth instance is rejected. Its kid (random per instance) is
/// not in this instance's JWKS, so the answer is `UnknownKey`. Putting one of this
/// instance's kids in the header does not help: the signature is over another key
/// (`InvalidSignature`). And a verifier holding the other instance's keys still refuses
/// it for its issuer (`InvalidIssuer`), since every instance's origin is its `iss`.
#[tokio::test]
async fn token_from_another_instance_is_rejected() {
    let ours = BetterAuthServer::start("EdDSA", &[]);
    let theirs = BetterAuthServer::start("EdDSA", &[]);
    let (_, session) = theirs.sign_up("mallory@example.com", "Mallory").await;
    let foreign = theirs.jwt(&session).await;

    let verifier = ours.verifier();
    let err = verifier.verify(&foreign).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey, "{err}");
    assert_eq!(verifier.key_stats().unknown_kid_rejections, 1);

    let our_kid = jwks_kids(&ours.jwks().await).remove(0);
    assert_ne!(our_kid, kid_of(&foreign));
    let header =
        b64(serde_json::to_vec(&serde_json::json!({"alg": "EdDSA", "kid": our_kid})).unwrap());
    let relabelled = format!("{header}.{}", foreign.split_once('.').unwrap().1);
    let err = verifier.verify(&relabelled).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{err}");

    let their_keys_our_issuer = Verifier::builder(Provider::better_auth(&theirs.base_url).unwrap())
        .issuer(ours.base_url.clone())
        .audience(ours.base_url.clone())
        .build()
        .unwrap();
    let err = their_keys_our_issuer.verify(&foreign).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidIssuer, "{err}");
}
