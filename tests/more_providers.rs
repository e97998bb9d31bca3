//! Issue 10: presets beyond the first three, OIDC discovery, multi-issuer routing.

use jwks_auth::testing::MockProvider;
use jwks_auth::{Algorithm, ErrorKind, MultiVerifier, Provider, Verifier};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn mock_for(preset: &str) -> MockProvider {
    let first_alg: Algorithm = Provider::preset_info(preset).unwrap().algorithms[0];
    MockProvider::start(preset, first_alg).await
}

#[tokio::test]
async fn every_builtin_preset_verifies_its_own_tokens_and_rejects_foreign_ones() {
    for preset in Provider::builtin_names() {
        let mock = mock_for(preset).await;
        let verifier = Verifier::builder(mock.provider()).build().unwrap();
        let token = mock.token().sub("user_42").sign();
        let user = verifier
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{preset}: {e}"));
        assert_eq!(user.id, "user_42", "{preset}");

        let wrong_issuer = mock.token().issuer("https://evil.example.com").sign();
        assert_eq!(
            verifier.verify(&wrong_issuer).await.unwrap_err().kind(),
            ErrorKind::InvalidIssuer,
            "{preset}"
        );
        if mock.provider().audiences().is_empty() && preset != "better-auth" {
            continue; // no audience rule (Clerk)
        }
        let wrong_audience = mock.token().audience("someone-else").sign();
        assert_eq!(
            verifier.verify(&wrong_audience).await.unwrap_err().kind(),
            ErrorKind::InvalidAudience,
            "{preset}"
        );
    }
}

#[test]
fn jwks_urls_and_issuers_match_the_providers_documentation() {
    let cases = [
        (
            "supabase",
            vec![("origin", "https://abc.supabase.co")],
            "https://abc.supabase.co/auth/v1/.well-known/jwks.json",
            "https://abc.supabase.co/auth/v1",
        ),
        (
            "firebase",
            vec![("project", "my-proj")],
            "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
            "https://securetoken.google.com/my-proj",
        ),
        (
            "cognito",
            vec![
                ("origin", "https://cognito-idp.eu-west-1.amazonaws.com"),
                ("pool", "eu-west-1_AbC"),
                ("client_id", "client"),
            ],
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
        ),
        (
            "keycloak",
            vec![("origin", "https://sso.example.com"), ("realm", "acme"), ("audience", "api")],
            "https://sso.example.com/realms/acme/protocol/openid-connect/certs",
            "https://sso.example.com/realms/acme",
        ),
        (
            "okta",
            vec![("origin", "https://dev-1.okta.com")],
            "https://dev-1.okta.com/oauth2/default/v1/keys",
            "https://dev-1.okta.com/oauth2/default",
        ),
        (
            "entra-id",
            vec![("tenant", "tid-1"), ("audience", "client")],
            "https://login.microsoftonline.com/tid-1/discovery/v2.0/keys",
            "https://login.microsoftonline.com/tid-1/v2.0",
        ),
        (
            "google",
            vec![("audience", "client.apps.googleusercontent.com")],
            "https://www.googleapis.com/oauth2/v3/certs",
            "https://accounts.google.com",
        ),
        (
            "kinde",
            vec![("origin", "https://acme.kinde.com"), ("audience", "api")],
            "https://acme.kinde.com/.well-known/jwks",
            "https://acme.kinde.com",
        ),
        (
            "stytch",
            vec![("project", "project-live-1")],
            "https://api.stytch.com/v1/sessions/jwks/project-live-1",
            "stytch.com/project-live-1",
        ),
    ];
    for (preset, params, jwks, issuer) in cases {
        let provider = Provider::preset(preset, &params).unwrap();
        assert_eq!(provider.jwks_url(), Some(jwks), "{preset}");
        assert_eq!(provider.issuer(), Some(issuer), "{preset}");
    }
}

#[tokio::test]
async fn keycloak_realm_roles_come_from_a_nested_claim() {
    let mock = mock_for("keycloak").await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let token = mock
        .token()
        .scope("openid profile")
        .claim("realm_access", json!({"roles": ["admin", "user"]}))
        .azp("frontend")
        .sign();
    let user = verifier.verify(&token).await.unwrap();
    assert!(user.has_scope("admin") && user.has_scope("profile"));
}

#[tokio::test]
async fn cognito_accepts_access_tokens_by_client_id_and_id_tokens_by_aud() {
    let mock = mock_for("cognito").await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let access = mock
        .token()
        .without_claim("aud")
        .claim("client_id", "mock-client-id")
        .claim("token_use", "access")
        .sign();
    assert!(verifier.verify(&access).await.is_ok());
    let id_token = mock.token().claim("token_use", "id").sign();
    assert!(verifier.verify(&id_token).await.is_ok());
    let other_client = mock
        .token()
        .without_claim("aud")
        .claim("client_id", "another-app")
        .sign();
    assert_eq!(
        verifier.verify(&other_client).await.unwrap_err().kind(),
        ErrorKind::InvalidAudience
    );
}

#[tokio::test]
async fn entra_and_firebase_read_their_own_user_id_claims() {
    let entra = mock_for("entra-id").await;
    let verifier = Verifier::builder(entra.provider()).build().unwrap();
    let token = entra.token().claim("oid", "00000000-aaaa").sign();
    assert_eq!(verifier.verify(&token).await.unwrap().id, "00000000-aaaa");

    let firebase = mock_for("firebase").await;
    let verifier = Verifier::builder(firebase.provider()).build().unwrap();
    let token = firebase
        .token()
        .without_claim("sub")
        .claim("user_id", "fb-uid")
        .sign();
    assert_eq!(verifier.verify(&token).await.unwrap().id, "fb-uid");
}

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

#[tokio::test]
async fn multi_issuer_routes_by_iss_and_rejects_unknown_issuers_without_fetching() {
    let clerk = MockProvider::clerk().await;
    let auth0 = MockProvider::auth0().await;
    let verifier = MultiVerifier::new([
        Verifier::builder(clerk.provider()).build().unwrap(),
        Verifier::builder(auth0.provider()).build().unwrap(),
    ])
    .unwrap();
    let web = clerk.token().sub("user_web").sign();
    let m2m = auth0.token().sub("client@clients").sign();
    assert_eq!(verifier.verify(&web).await.unwrap().id, "user_web");
    assert_eq!(verifier.verify(&m2m).await.unwrap().id, "client@clients");

    let (clerk_before, auth0_before) = (clerk.jwks_requests(), auth0.jwks_requests());
    let stranger = clerk.token().issuer("https://unknown.example.com").sign();
    assert_eq!(
        verifier.verify(&stranger).await.unwrap_err().kind(),
        ErrorKind::InvalidIssuer
    );
    assert_eq!(clerk.jwks_requests(), clerk_before);
    assert_eq!(auth0.jwks_requests(), auth0_before);
}

#[tokio::test]
async fn multi_issuer_still_checks_the_signature_of_the_chosen_provider() {
    let clerk = MockProvider::clerk().await;
    let auth0 = MockProvider::auth0().await;
    let verifier = MultiVerifier::new([
        Verifier::builder(clerk.provider()).build().unwrap(),
        Verifier::builder(auth0.provider()).build().unwrap(),
    ])
    .unwrap();
    // Claims Auth0's issuer but is signed by a key Auth0 never published.
    let forged = auth0.token().sign_with_wrong_key();
    assert!(verifier.verify(&forged).await.is_err());
}

#[test]
fn multi_issuer_refuses_providers_without_an_issuer() {
    let secret = Provider::shared_secret("0123456789abcdef0123456789abcdef").unwrap();
    let verifier = Verifier::builder(secret).build().unwrap();
    assert_eq!(
        MultiVerifier::new([verifier]).unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[tokio::test]
async fn refresh_ahead_refreshes_in_the_background_before_expiry() {
    use jwks_auth::{CachePolicy, ManualClock};
    use std::time::Duration;
    let mock = MockProvider::clerk().await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(mock.provider())
        .clock(clock.clone())
        .cache_policy(
            CachePolicy::default()
                .ttl(Duration::from_secs(600))
                .refresh_ahead(Some(Duration::from_secs(60))),
        )
        .build()
        .unwrap();
    let now = clock.now_secs();
    verifier.verify(&mock.token().at(now).sign()).await.unwrap();
    assert_eq!(mock.jwks_requests(), 1);

    // Before the refresh-ahead window: nothing happens.
    clock.advance(Duration::from_secs(530));
    verifier
        .verify(&mock.token().at(now + 530).sign())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(mock.jwks_requests(), 1);

    // Inside the window (at most 30 s of jitter after 540 s): the verify answers from the
    // cached keys and a background task refreshes them.
    clock.advance(Duration::from_secs(45));
    verifier
        .verify(&mock.token().at(now + 575).sign())
        .await
        .unwrap();
    for _ in 0..100 {
        if mock.jwks_requests() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(mock.jwks_requests(), 2);
    assert_eq!(verifier.key_stats().stale_serves, 0);
}

#[tokio::test]
async fn entra_multitenant_checks_the_issuer_against_the_tokens_own_tenant() {
    let mock = mock_for("entra-id-multitenant").await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let origin = mock.uri();
    let for_tenant = |tid: &str, iss_tenant: &str| {
        mock.token()
            .claim("tid", tid)
            .issuer(&format!("{origin}/{iss_tenant}/v2.0"))
            .sign()
    };
    assert!(verifier.verify(&mock.token().sign()).await.is_ok());
    assert!(verifier
        .verify(&for_tenant("tenant-a", "tenant-a"))
        .await
        .is_ok());
    for forged in [
        for_tenant("tenant-a", "tenant-b"),
        for_tenant("a/v2.0/x", "a/v2.0/x"),
        for_tenant("..", ".."),
        mock.token().without_claim("tid").sign(),
    ] {
        assert_eq!(
            verifier.verify(&forged).await.unwrap_err().kind(),
            ErrorKind::InvalidIssuer
        );
    }
}

#[test]
fn a_per_token_issuer_cannot_be_routed_by_a_multi_verifier() {
    let provider = Provider::preset("entra-id-multitenant", &[("audience", "client")]).unwrap();
    assert_eq!(
        provider.issuer(),
        Some("https://login.microsoftonline.com/{token.tid}/v2.0")
    );
    let verifier = Verifier::builder(provider).build().unwrap();
    assert_eq!(
        MultiVerifier::new([verifier]).unwrap_err().kind(),
        ErrorKind::Config
    );
}
