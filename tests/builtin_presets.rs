//! Every built-in preset against its mock, and the facts each one encodes beyond the three
//! core presets (`tests/presets.rs`): URLs, issuers, claim mappings, per-token issuers.

use jwks_auth::testing::MockProvider;
use jwks_auth::{Algorithm, ErrorKind, Provider, Verifier};
use serde_json::json;

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
        let mut wrong_audience = mock.token().audience("someone-else");
        if wrong_audience.claims().contains_key("client_id") {
            // Cognito access tokens name their audience in `client_id`.
            wrong_audience = wrong_audience.claim("client_id", "someone-else");
        }
        let wrong_audience = wrong_audience.sign();
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
            "entra-id-v1",
            vec![("tenant", "tid-1"), ("client_id", "client")],
            "https://login.microsoftonline.com/tid-1/discovery/keys",
            "https://sts.windows.net/tid-1/",
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
async fn cognito_accepts_access_tokens_by_client_id_and_id_tokens_only_when_asked() {
    let mock = mock_for("cognito").await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let access = mock
        .token()
        .without_claim("aud")
        .claim("client_id", "mock-client-id")
        .claim("token_use", "access")
        .sign();
    assert!(verifier.verify(&access).await.is_ok());
    let id_token = mock
        .token()
        .without_claim("client_id")
        .audience("mock-client-id")
        .claim("token_use", "id")
        .sign();
    assert_eq!(
        verifier.verify(&id_token).await.unwrap_err().kind(),
        ErrorKind::InvalidTokenType
    );
    let ids = Verifier::builder(mock.provider())
        .token_classes(["id"])
        .build()
        .unwrap();
    assert!(ids.verify(&id_token).await.is_ok());
    assert_eq!(
        ids.verify(&access).await.unwrap_err().kind(),
        ErrorKind::InvalidTokenType
    );
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

#[tokio::test]
async fn entra_v1_takes_the_app_id_uri_or_the_client_id_and_names_the_client_by_appid() {
    let mock = mock_for("entra-id-v1").await;
    assert!(
        mock.issuer().ends_with('/'),
        "v1.0 issuers end with a slash"
    );
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let client = mock
        .params()
        .iter()
        .find(|(name, _)| name == "client_id")
        .map(|(_, value)| value.clone())
        .unwrap();
    for audience in [format!("api://{client}"), client.clone()] {
        let token = mock
            .token()
            .audience(&audience)
            .claim("oid", "user-object-id")
            .claim("appid", "caller-app")
            .claim("ver", "1.0")
            .sign();
        let user = verifier.verify(&token).await.unwrap();
        assert_eq!(user.id, "user-object-id");
        assert_eq!(user.client_id.as_deref(), Some("caller-app"));
    }
    let other = mock.token().audience("api://someone-else").sign();
    assert!(verifier.verify(&other).await.is_err());
}
