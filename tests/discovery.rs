//! OIDC discovery: `Provider::oidc` and `discovery = true` in a preset file find the JWKS
//! through `/.well-known/openid-configuration`, refusing a document for another issuer.

use jwks_auth::testing::MockProvider;
use jwks_auth::{ErrorKind, Provider, Verifier};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn discovery_server(issuer_in_document: Option<&str>, jwks_uri: &str) -> MockServer {
    let server = MockServer::start().await;
    let issuer = issuer_in_document
        .map(str::to_owned)
        .unwrap_or_else(|| server.uri());
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"issuer": issuer, "jwks_uri": jwks_uri})),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn oidc_discovery_finds_the_jwks_and_verifies() {
    let mock = MockProvider::auth0().await;
    let server = discovery_server(None, &mock.jwks_url()).await;
    let verifier = Verifier::builder(Provider::oidc(&server.uri()).unwrap())
        .audience(jwks_auth::testing::MOCK_AUDIENCE)
        .build()
        .unwrap();
    let token = mock.token().issuer(&server.uri()).sub("u1").sign();
    assert_eq!(verifier.verify(&token).await.unwrap().id, "u1");
    // The discovered URL is remembered: a second verify fetches nothing more.
    verifier.verify(&token).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(mock.jwks_requests(), 1);
}

#[tokio::test]
async fn oidc_discovery_refuses_a_document_for_another_issuer() {
    let mock = MockProvider::auth0().await;
    let server = discovery_server(Some("https://evil.example.com"), &mock.jwks_url()).await;
    let verifier = Verifier::builder(Provider::oidc(&server.uri()).unwrap())
        .audience("api")
        .build()
        .unwrap();
    let token = mock.token().issuer(&server.uri()).sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(mock.jwks_requests(), 0);
}

#[tokio::test]
async fn oidc_discovery_failure_is_keys_unavailable() {
    let server = MockServer::start().await; // answers 404 to everything
    let verifier = Verifier::builder(Provider::oidc(&server.uri()).unwrap())
        .audience("api")
        .build()
        .unwrap();
    let err = verifier.warm_up().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(err.status(), 503);
}

#[tokio::test]
async fn discovery_can_be_set_in_a_preset_file() {
    let mock = MockProvider::auth0().await;
    let server = discovery_server(None, &mock.jwks_url()).await;
    let toml = format!(
        "name = \"idp\"\ndiscovery = true\nissuer = \"{}\"\naudience = \"required\"\naudiences = [\"api\"]\nalgorithms = [\"RS256\"]\n",
        server.uri()
    );
    let provider = Provider::from_toml_str_with(&toml, "idp.toml", &[]).unwrap();
    let verifier = Verifier::builder(provider).build().unwrap();
    let token = mock.token().issuer(&server.uri()).audience("api").sign();
    assert!(verifier.verify(&token).await.is_ok());
}
