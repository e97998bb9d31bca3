//! Interop with a real OAuth 2.0 authorization server, panva's `oidc-provider`
//! (`tests/interop/oidc-provider/server.mjs`, version pinned in its `package.json`): a
//! client-credentials grant with a resource indicator (RFC 8707) yields a JWT access token
//! (RFC 9068, `typ: at+jwt`), verified with `Provider::oidc(issuer)` through discovery.
//!
//! One server per test binary. Needs Node.js (>= 20) and npm on `PATH`; the first test
//! installs the pinned dependencies with `npm ci` when `node_modules` is missing. Without
//! node the tests fail with a message saying so: they are never skipped.

mod support;

use std::sync::OnceLock;

use aws_lc_rs::digest::{digest, SHA256};
use jwks_auth::{dangerous, ErrorKind, Provider, TokenKind, TokenType, Verifier};
use serde_json::Value;
use support::node::{json_body, oidc_provider_dpop_token, NodeProject, NodeServer};
use support::{b64, b64_json, header_of, unb64, with_payload};

const PROJECT: NodeProject = NodeProject {
    name: "oidc-provider",
    dir: "tests/interop/oidc-provider",
    min_node: (20, 0),
};

/// The resource servers `server.mjs` knows (its `RESOURCE_SERVERS`).
const API: &str = "https://api.example.test/";
const OTHER: &str = "https://other.example.test/";
/// The client registered by `server.mjs` (`client.mjs`): client_secret_basic.
const CLIENT_ID: &str = "interop-client";
const CLIENT_SECRET: &str = "jwks-auth-interop-client-secret-not-for-production";

/// The shared server. A `static` is never dropped: the server exits when this process
/// does, since that closes its stdin.
fn server() -> &'static NodeServer {
    static SERVER: OnceLock<NodeServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        PROJECT.start("server.mjs", |command| {
            // Development mode: an http issuer on loopback, in-memory storage.
            command.env_remove("NODE_ENV");
            // The test-only `/debug/sign-jwt` endpoint (see server.mjs).
            command.env("DEBUG_SIGN_JWT", "1");
        })
    })
}

fn issuer() -> &'static str {
    server().url()
}

/// A client per call: each `#[tokio::test]` has its own runtime, and a client's pooled
/// connections belong to the runtime that made them.
fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn discovery() -> Value {
    let url = format!("{}/.well-known/openid-configuration", issuer());
    json_body(
        http().get(url).send().await.expect("discovery"),
        "discovery",
    )
    .await
}

/// The token endpoint response of a client-credentials grant for `resource`.
async fn client_credentials(resource: &str, scope: &str) -> Value {
    let endpoint = discovery().await["token_endpoint"]
        .as_str()
        .expect("discovery lists token_endpoint")
        .to_owned();
    let response = http()
        .post(endpoint)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", resource),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("token request");
    json_body(response, "token").await
}

async fn access_token(resource: &str, scope: &str) -> String {
    let body = client_credentials(resource, scope).await;
    assert_eq!(body["token_type"], "Bearer", "{body}");
    body["access_token"]
        .as_str()
        .expect("token response has access_token")
        .to_owned()
}

fn verifier(audience: &str) -> Verifier {
    Verifier::builder(Provider::oidc(issuer()).expect("issuer is a URL"))
        .audience(audience)
        .build()
        .expect("verifier")
}

/// The same header and signature over a payload with `scope` widened.
fn with_wider_scope(token: &str) -> String {
    with_payload(token, |claims| {
        claims["scope"] = "read:notes write:notes admin".into()
    })
}

/// RFC 7638 thumbprint of an EC or OKP public JWK.
fn thumbprint(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str() {
        Some("EC") => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            jwk["crv"], jwk["x"], jwk["y"]
        ),
        Some("OKP") => format!(r#"{{"crv":{},"kty":"OKP","x":{}}}"#, jwk["crv"], jwk["x"]),
        other => panic!("unexpected kty {other:?}"),
    };
    b64(digest(&SHA256, canonical.as_bytes()))
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn discovery_names_the_issuer_and_its_jwks_uri() {
    let doc = discovery().await;
    assert_eq!(doc["issuer"], issuer());
    assert_eq!(doc["jwks_uri"], format!("{}/jwks", issuer()));
    let jwks = json_body(
        http()
            .get(doc["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .expect("jwks"),
        "jwks",
    )
    .await;
    let mut kinds: Vec<(String, String)> = jwks["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .map(|key| {
            assert!(key.get("d").is_none(), "public keys only: {key}");
            (key["kty"].to_string(), key["alg"].to_string())
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            (r#""EC""#.into(), r#""ES256""#.into()),
            (r#""RSA""#.into(), r#""RS256""#.into())
        ]
    );
}

/// RFC 9068 token for the API: `typ: at+jwt`, RS256, subject and `client_id` are the
/// client, and only the requested scope comes through.
#[tokio::test]
async fn client_credentials_access_token_verifies_for_its_resource() {
    let token = access_token(API, "read:notes").await;
    let header = dangerous::decode_unverified(&token)
        .expect("a JWS with JSON header and payload")
        .header;
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");

    let verifier = verifier(API);
    let user = verifier
        .verify(&token)
        .await
        .expect("access token verifies");
    assert_eq!(
        user.id, CLIENT_ID,
        "client-credentials tokens name the client"
    );
    assert_eq!(user.claims.get_str("client_id"), Some(CLIENT_ID));
    assert_eq!(user.issuer(), Some(issuer()));
    assert_eq!(user.claims.get_str("aud"), Some(API));
    assert!(user.has_scope("read:notes"), "{:?}", user.scopes);
    assert!(!user.has_scope("write:notes"), "not requested");
    assert_eq!(user.scopes, ["read:notes"]);
    assert_eq!(verifier.key_stats().fetches, 1);
}

/// The other resource's token (ES256, the provider's second key) verifies for that
/// resource: the scope not defined for it (`read:notes`) is dropped by the server.
#[tokio::test]
async fn es256_access_token_verifies_for_the_other_resource() {
    let token = access_token(OTHER, "read:reports read:notes").await;
    let header = header_of(&token);
    assert_eq!(
        (&header["typ"], &header["alg"]),
        (&"at+jwt".into(), &"ES256".into())
    );

    let user = verifier(OTHER).verify(&token).await.expect("verifies");
    assert_eq!(user.claims.get_str("client_id"), Some(CLIENT_ID));
    assert_eq!(user.scopes, ["read:reports"]);
}

#[tokio::test]
async fn access_token_for_another_resource_is_invalid_audience() {
    let token = access_token(OTHER, "read:reports").await;
    let err = verifier(API).verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAudience, "{err}");
}

#[tokio::test]
async fn tampered_access_token_is_refused() {
    let token = access_token(API, "read:notes").await;
    let verifier = verifier(API);
    verifier
        .verify(&token)
        .await
        .expect("the original verifies");

    let widened = with_wider_scope(&token);
    let err = verifier.verify(&widened).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{err}");

    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = unb64(signature);
    bytes[0] ^= 1;
    let flipped = format!("{signed}.{}", b64(bytes));
    let err = verifier.verify(&flipped).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{err}");
}

/// The DPoP helper scripts work against this server: `token.mjs` gets a DPoP-bound token
/// whose `cnf.jkt` is the thumbprint of the key it prints, and `proof.mjs --key` signs
/// proofs with that same key, `ath` being the token's hash (RFC 9449 §4.2, §6.1).
#[tokio::test]
async fn dpop_helper_scripts_bind_the_token_to_the_proof_key() {
    for (alg, kty) in [("ES256", "EC"), ("EdDSA", "OKP")] {
        let out = oidc_provider_dpop_token(&PROJECT, issuer(), API, alg);
        let token = out["access_token"].as_str().expect("access_token");
        let jkt = out["jkt"].as_str().expect("jkt");
        assert_eq!(out["jwk"]["kty"], kty, "{alg}");
        assert_eq!(thumbprint(&out["jwk"]), jkt, "{alg}");
        let claims = dangerous::decode_unverified(token).unwrap().claims;
        assert_eq!(
            claims["cnf"]["jkt"], jkt,
            "{alg}: the token is bound to the key"
        );
        assert_eq!(claims["aud"], API);

        let key = out["key"].to_string();
        let htu = "https://api.example.test/notes";
        let proof = PROJECT.run(
            "proof.mjs",
            &[
                "--alg", alg, "--htm", "GET", "--htu", htu, "--ath", token, "--key", &key,
            ],
        );
        let proof: Value = serde_json::from_str(&proof).expect("proof.mjs prints JSON");
        assert_eq!(proof["jkt"], jkt, "{alg}: same key");
        let parts: Vec<&str> = proof["proof"].as_str().unwrap().split('.').collect();
        assert_eq!(parts.len(), 3);
        let (header, claims) = (b64_json(parts[0]), b64_json(parts[1]));
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], alg);
        assert_eq!(thumbprint(&header["jwk"]), jkt, "{alg}");
        assert_eq!(
            (&claims["htm"], &claims["htu"]),
            (&"GET".into(), &htu.into())
        );
        let ath = b64(digest(&SHA256, token.as_bytes()));
        assert_eq!(claims["ath"], ath, "{alg}");
    }
}

// ---------------------------------------------------------------------------------------
// Token kinds: `token_type(AccessToken)` (RFC 9068, RFC 8725 §3.11)

fn access_token_verifier(audience: &str) -> Verifier {
    Verifier::builder(Provider::oidc(issuer()).expect("issuer is a URL"))
        .audience(audience)
        .token_type(TokenType::AccessToken)
        .build()
        .expect("verifier")
}

/// A JWT with `typ: JWT` over `payload`, signed by the server's RSA key (the one behind
/// `kid`), through the test-only `/debug/sign-jwt` endpoint of server.mjs.
async fn same_key_jwt(kid: &Value, payload: &Value) -> String {
    let response = http()
        .post(format!("{}/debug/sign-jwt", issuer()))
        .json(&serde_json::json!({ "kid": kid, "payload": payload }))
        .send()
        .await
        .expect("debug sign request");
    assert!(response.status().is_success(), "{}", response.status());
    response.text().await.expect("debug sign body")
}

#[tokio::test]
async fn access_token_type_verifies_the_at_jwt_token_with_client_id_and_scope() {
    let token = access_token(API, "read:notes").await;
    let user = access_token_verifier(API)
        .verify(&token)
        .await
        .expect("the RFC 9068 access token verifies");
    assert_eq!(user.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(user.scopes, ["read:notes"]);
    assert_eq!(user.kind, TokenKind::Machine, "a client-credentials grant");
}

#[tokio::test]
async fn access_token_type_refuses_the_token_for_another_resource() {
    let token = access_token(OTHER, "read:reports").await;
    let err = access_token_verifier(API).verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAudience, "{err}");
}

#[tokio::test]
async fn access_token_type_refuses_a_jwt_of_another_typ_signed_by_the_same_key() {
    let token = access_token(API, "read:notes").await;
    let decoded = dangerous::decode_unverified(&token).expect("a JWS");
    let forged = same_key_jwt(&decoded.header["kid"], &Value::Object(decoded.claims)).await;
    assert_eq!(header_of(&forged)["typ"], "JWT");
    // Same key, same claims: only the type tells them apart.
    assert!(verifier(API).verify(&forged).await.is_ok());
    let err = access_token_verifier(API)
        .verify(&forged)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTokenType, "{err}");
}

/// A resource server of `server.mjs` whose access tokens are opaque.
const OPAQUE_API: &str = "https://opaque.example.test/";

#[tokio::test]
async fn an_opaque_token_is_verified_by_introspection_and_refused_once_revoked() {
    use jwks_auth::introspection::Introspection;
    let discovery = discovery().await;
    let endpoint = |name: &str| {
        discovery[name]
            .as_str()
            .unwrap_or_else(|| panic!("discovery lists {name}"))
            .to_owned()
    };
    let token = access_token(OPAQUE_API, "read:things").await;
    assert_ne!(token.matches('.').count(), 2, "an opaque token, not a JWS");
    let verifier = Verifier::builder(Provider::oidc(issuer()).expect("issuer is a URL"))
        .audience(OPAQUE_API)
        .introspection(
            Introspection::new(endpoint("introspection_endpoint"))
                .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
                // Every request asks again: a revocation shows at once.
                .cache_ttl(std::time::Duration::ZERO),
        )
        .build()
        .expect("verifier");
    let user = verifier.verify(&token).await.expect("an active token");
    assert_eq!(
        user.id, CLIENT_ID,
        "a client-credentials token names its client"
    );
    assert_eq!(user.kind, TokenKind::Machine);
    assert!(user.has_scope("read:things"));
    // The JWT access tokens of the same server are still verified with its keys.
    let jwt = access_token(API, "read:notes").await;
    assert!(self::verifier(API).verify(&jwt).await.is_ok());

    // RFC 7009 revocation at the authorization server: the next introspection says so.
    let revoked = http()
        .post(endpoint("revocation_endpoint"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("revocation");
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let error = verifier.verify(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Inactive);
    // A token for another resource, introspected: its audience is not ours.
    let other = Verifier::builder(Provider::oidc(issuer()).expect("issuer is a URL"))
        .audience("https://api.example.test/")
        .introspection(
            Introspection::new(endpoint("introspection_endpoint"))
                .client_secret_basic(CLIENT_ID, CLIENT_SECRET),
        )
        .build()
        .expect("verifier");
    let fresh = access_token(OPAQUE_API, "read:things").await;
    assert_eq!(
        other.verify(&fresh).await.unwrap_err().kind(),
        ErrorKind::InvalidAudience
    );
}
