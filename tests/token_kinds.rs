//! Token kinds (RFC 8725 §3.11): each preset's `[token]` rule with a right-kind and a
//! wrong-kind token, the `typ` rule, RFC 9068 access tokens, and `AuthUser::kind`.

use jwks_auth::testing::{MockProvider, TokenBuilder};
use jwks_auth::{Algorithm, ClerkToken, ErrorKind, Provider, TokenKind, TokenType, Verifier};
use serde_json::json;

const SESSION: &str = "cl_B7d4PD111AAA";
const TEMPLATE: &str = "cl_B7d4PD222AAA";
const M2M: &str = "cl_B7d4PD333AAA";
const OPTED_OUT: &str = "cl_I7d4PD111III";

async fn mock_for(preset: &str) -> MockProvider {
    let first_alg: Algorithm = Provider::preset_info(preset).unwrap().algorithms[0];
    MockProvider::start(preset, first_alg).await
}

fn kind_of(result: jwks_auth::Result<jwks_auth::AuthUser>) -> ErrorKind {
    result.unwrap_err().kind()
}

#[tokio::test]
async fn clerk_accepts_session_tokens_with_the_session_cat_the_opt_out_cat_or_none() {
    let mock = MockProvider::clerk().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    for cat in [SESSION, OPTED_OUT] {
        let token = mock.token().header("cat", cat).sign();
        let user = verifier.verify(&token).await.unwrap();
        assert_eq!(user.kind, TokenKind::User, "{cat}");
    }
    assert!(verifier.verify(&mock.token().sign()).await.is_ok());
}

#[tokio::test]
async fn clerk_refuses_template_m2m_and_unknown_cat_tokens_by_default() {
    let mock = MockProvider::clerk().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    for cat in [TEMPLATE, M2M, "cl_unknown"] {
        let token = mock.token().header("cat", cat).sign();
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTokenType, "{cat}");
        assert!(!err.to_string().contains(cat), "{err}");
    }
}

#[tokio::test]
async fn clerk_token_kinds_opt_in_to_templates_and_m2m_as_machines() {
    let mock = MockProvider::clerk().await;
    let verifier = Verifier::builder(mock.provider())
        .clerk_token_kinds([ClerkToken::Template, ClerkToken::Machine])
        .build()
        .unwrap();
    let template = mock.token().header("cat", TEMPLATE).sign();
    assert_eq!(
        verifier.verify(&template).await.unwrap().kind,
        TokenKind::User
    );
    let m2m = mock.token().header("cat", M2M).sign();
    assert_eq!(
        verifier.verify(&m2m).await.unwrap().kind,
        TokenKind::Machine
    );
    let session = mock.token().header("cat", SESSION).sign();
    assert_eq!(
        kind_of(verifier.verify(&session).await),
        ErrorKind::InvalidTokenType
    );
}

#[tokio::test]
async fn an_unknown_token_class_is_a_config_error() {
    let mock = MockProvider::clerk().await;
    let err = Verifier::builder(mock.provider())
        .token_classes(["sessions"])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let auth0 = MockProvider::auth0().await;
    let err = Verifier::builder(auth0.provider())
        .token_classes(["session"])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn cognito_refuses_a_token_without_token_use() {
    let mock = mock_for("cognito").await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let right = mock.token().sign();
    assert!(verifier.verify(&right).await.is_ok());
    let untyped = mock.token().without_claim("token_use").sign();
    assert_eq!(
        kind_of(verifier.verify(&untyped).await),
        ErrorKind::InvalidTokenType
    );
}

#[tokio::test]
async fn cognito_id_tokens_take_their_audience_from_aud_only() {
    let mock = mock_for("cognito").await;
    let ids = Verifier::builder(mock.provider())
        .token_classes(["id"])
        .build()
        .unwrap();
    // An ID token naming the client only in `client_id` is not for us.
    let id_by_client_id = mock.token().claim("token_use", "id").sign();
    assert_eq!(
        kind_of(ids.verify(&id_by_client_id).await),
        ErrorKind::InvalidAudience
    );
    let id_token = mock
        .token()
        .without_claim("client_id")
        .audience("mock-client-id")
        .claim("token_use", "id")
        .sign();
    assert!(ids.verify(&id_token).await.is_ok());
}

#[tokio::test]
async fn every_builtin_preset_accepts_any_typ_by_default() {
    for preset in Provider::builtin_names() {
        let mock = mock_for(preset).await;
        let verifier = Verifier::builder(mock.provider()).build().unwrap();
        let token = mock.token().header("typ", "at+jwt").sign();
        assert!(verifier.verify(&token).await.is_ok(), "{preset}");
    }
}

/// An RFC 9068 access token as the mock issues it for `auth0`.
fn access_token(mock: &MockProvider) -> jwks_auth::testing::TokenBuilder {
    mock.token()
        .header("typ", "at+jwt")
        .claim("client_id", "client-1")
        .claim("jti", "jti-1")
}

#[tokio::test]
async fn access_token_type_accepts_at_jwt_and_refuses_jwt() {
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider())
        .token_type(TokenType::AccessToken)
        .build()
        .unwrap();
    let user = verifier.verify(&access_token(&mock).sign()).await.unwrap();
    assert_eq!(user.client_id.as_deref(), Some("client-1"));
    assert_eq!(user.kind, TokenKind::User);
    let media_type = access_token(&mock)
        .header("typ", "application/AT+JWT")
        .sign();
    assert!(verifier.verify(&media_type).await.is_ok());
    for typ in ["JWT", "at+jwt+x", "text/at+jwt"] {
        let token = access_token(&mock).header("typ", typ).sign();
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTokenType, "{typ}");
    }
}

#[tokio::test]
async fn access_token_type_requires_every_rfc_9068_claim() {
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider())
        .token_type(TokenType::AccessToken)
        .any_issuer()
        .any_audience()
        .build()
        .unwrap();
    for claim in ["iss", "aud", "sub", "client_id", "iat", "jti"] {
        let token = access_token(&mock).without_claim(claim).sign();
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.claim()),
            (ErrorKind::MissingClaim, Some(claim)),
            "{claim}"
        );
    }
}

#[tokio::test]
async fn an_explicit_typ_list_refuses_other_types() {
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider())
        .token_type(TokenType::OneOf(vec!["JWT".into()]))
        .build()
        .unwrap();
    assert!(verifier.verify(&mock.token().sign()).await.is_ok());
    let other = mock.token().header("typ", "at+jwt").sign();
    assert_eq!(
        kind_of(verifier.verify(&other).await),
        ErrorKind::InvalidTokenType
    );
}

#[tokio::test]
async fn a_client_credentials_token_is_a_machine_token() {
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let machine = mock
        .token()
        .sub("client-1")
        .claim("client_id", "client-1")
        .sign();
    let user = verifier.verify(&machine).await.unwrap();
    assert_eq!(
        (user.kind, user.client_id.as_deref()),
        (TokenKind::Machine, Some("client-1"))
    );
    let user_token = mock.token().claim("client_id", "client-1").sign();
    assert_eq!(
        verifier.verify(&user_token).await.unwrap().kind,
        TokenKind::User
    );
}

/// The machine (client-credentials) tokens of a preset as its provider documents them (the
/// sources are in the preset's `[machine]` comment), each named by the sign it carries, and
/// that preset's ordinary user token. Built on the mock's own token (issuer, audience).
fn machine_and_user_tokens(
    mock: &MockProvider,
) -> (Vec<(&'static str, TokenBuilder)>, TokenBuilder) {
    let token = || mock.token();
    match mock.preset() {
        "auth0" => (
            vec![
                (
                    "gty and @clients",
                    token()
                        .sub("client-1@clients")
                        .claim("gty", "client-credentials")
                        .azp("client-1"),
                ),
                (
                    "gty alone",
                    token().sub("client-1").claim("gty", "client-credentials"),
                ),
                ("@clients alone", token().sub("client-1@clients")),
            ],
            token()
                .sub("auth0|123")
                .azp("client-1")
                .scope("openid read:notes"),
        ),
        "okta" => (
            vec![(
                "sub == cid",
                token().sub("client-1").claim("cid", "client-1"),
            )],
            token()
                .sub("alice@example.com")
                .claim("cid", "client-1")
                .claim("uid", "00u1"),
        ),
        "keycloak" => (
            vec![
                (
                    "service-account user",
                    token()
                        .sub("0c5f4a6e-service-account-user")
                        .azp("orders-job")
                        .claim("client_id", "orders-job")
                        .claim("preferred_username", "service-account-orders-job"),
                ),
                (
                    "clientId claim (older Keycloak)",
                    token()
                        .sub("0c5f4a6e-service-account-user")
                        .azp("orders-job")
                        .claim("clientId", "orders-job"),
                ),
            ],
            token()
                .sub("7d1b-user")
                .azp("frontend")
                .claim("preferred_username", "alice"),
        ),
        "entra-id" | "entra-id-multitenant" | "entra-id-v1" => (
            vec![
                (
                    "idtyp app",
                    token()
                        .sub("sp-object-id")
                        .claim("oid", "sp-object-id")
                        .claim("idtyp", "app")
                        .claim("azp", "client-1")
                        .claim("roles", json!(["Notes.Read.All"])),
                ),
                (
                    "oid == sub",
                    token()
                        .sub("sp-object-id")
                        .claim("oid", "sp-object-id")
                        .claim("roles", json!(["Notes.Read.All"])),
                ),
            ],
            // A user's `sub` is pairwise per app, unlike the object id.
            token()
                .sub("pairwise-sub")
                .claim("oid", "user-object-id")
                .claim("azp", "client-1")
                .claim("scp", "Notes.Read"),
        ),
        "cognito" => {
            let client = cognito_client_id(mock);
            (
                vec![("sub == client_id", token().sub(&client))],
                token().sub("5b1f-user").claim("username", "alice"),
            )
        }
        "stytch" => (
            vec![(
                "m2m client subject",
                token()
                    .sub("m2m-client-test-d731954d-dab3-4a2b-bdee-07f3ad1be885")
                    .scope("read:users"),
            )],
            token().sub("user-test-16d9ba61-97a1-4ba4-9720-b03761dc50c6"),
        ),
        other => panic!("no machine token shape for `{other}`"),
    }
}

/// The app client id a Cognito mock's access tokens carry in `client_id`.
fn cognito_client_id(mock: &MockProvider) -> String {
    mock.token().claims()["client_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const PRESETS_WITH_MACHINE_RULES: [&str; 8] = [
    "auth0",
    "okta",
    "keycloak",
    "entra-id",
    "entra-id-multitenant",
    "entra-id-v1",
    "cognito",
    "stytch",
];

#[tokio::test]
async fn each_presets_machine_tokens_are_machine_and_its_user_tokens_users() {
    for preset in PRESETS_WITH_MACHINE_RULES {
        let mock = mock_for(preset).await;
        let verifier = Verifier::builder(mock.provider()).build().unwrap();
        let (machines, user) = machine_and_user_tokens(&mock);
        for (shape, token) in machines {
            let verified = verifier.verify(&token.sign()).await;
            let machine = verified.unwrap_or_else(|e| panic!("{preset} {shape}: {e}"));
            assert_eq!(machine.kind, TokenKind::Machine, "{preset}: {shape}");
        }
        let user = verifier.verify(&user.sign()).await.unwrap();
        assert_eq!(user.kind, TokenKind::User, "{preset}");
    }
}

#[tokio::test]
async fn machine_tokens_name_their_client() {
    let auth0 = MockProvider::auth0().await;
    let verifier = Verifier::builder(auth0.provider()).build().unwrap();
    let (machines, _) = machine_and_user_tokens(&auth0);
    let machine = verifier.verify(&machines[0].1.sign()).await.unwrap();
    assert_eq!(
        (machine.id.as_str(), machine.client_id.as_deref()),
        ("client-1@clients", Some("client-1"))
    );
    let okta = mock_for("okta").await;
    let verifier = Verifier::builder(okta.provider()).build().unwrap();
    let (machines, user) = machine_and_user_tokens(&okta);
    let machine = verifier.verify(&machines[0].1.sign()).await.unwrap();
    assert_eq!(machine.client_id.as_deref(), Some("client-1"));
    let user = verifier.verify(&user.sign()).await.unwrap();
    assert_eq!(user.client_id.as_deref(), Some("client-1"));
}

#[tokio::test]
async fn require_user_token_refuses_each_presets_machine_tokens() {
    use axum::routing::get;
    use jwks_auth::axum::{require_user_token, AuthLayer};
    use tower::ServiceExt;

    for preset in PRESETS_WITH_MACHINE_RULES {
        let mock = mock_for(preset).await;
        let verifier = Verifier::builder(mock.provider()).build().unwrap();
        let app = axum::Router::new()
            .route(
                "/me",
                get(|| async { "me" }).route_layer(require_user_token()),
            )
            .layer(AuthLayer::new(verifier));
        let status = |token: String| {
            let app = app.clone();
            async move {
                let request = axum::http::Request::get("/me")
                    .header("authorization", format!("Bearer {token}"))
                    .body(axum::body::Body::empty())
                    .unwrap();
                app.oneshot(request).await.unwrap().status().as_u16()
            }
        };
        let (machines, user) = machine_and_user_tokens(&mock);
        for (shape, token) in machines {
            assert_eq!(status(token.sign()).await, 403, "{preset}: {shape}");
        }
        assert_eq!(status(user.sign()).await, 200, "{preset}");
    }
}

/// Kinde's client-credentials tokens (docs.kinde.com, "Token structure and claims for M2M
/// applications"): `gty` = `["client_credentials"]`, the client in `azp`, and no `sub`.
fn kinde_machine_token(mock: &MockProvider) -> TokenBuilder {
    mock.token()
        .without_claim("sub")
        .azp("d4d3c5b74e064badb9625a4aa6241bcc")
        .claim("gty", json!(["client_credentials"]))
        .scope("read:users")
}

#[tokio::test]
async fn kinde_machine_tokens_have_no_user_and_are_machines_when_mapped_to_their_client() {
    let mock = mock_for("kinde").await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let err = verifier
        .verify(&kinde_machine_token(&mock).sign())
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.claim()),
        (ErrorKind::MissingClaim, Some("sub"))
    );
    // An app that accepts them names the machine by its client.
    let mut claims = mock.provider().claims().clone();
    claims.user_id = vec!["sub".into(), "azp".into()];
    let verifier = Verifier::builder(mock.provider())
        .claims(claims)
        .build()
        .unwrap();
    let machine = verifier
        .verify(&kinde_machine_token(&mock).sign())
        .await
        .unwrap();
    assert_eq!(
        (machine.kind, machine.id.as_str()),
        (TokenKind::Machine, "d4d3c5b74e064badb9625a4aa6241bcc")
    );
    let user = mock
        .token()
        .sub("kp_1234")
        .azp("d4d3c5b74e064badb9625a4aa6241bcc");
    assert_eq!(
        verifier.verify(&user.sign()).await.unwrap().kind,
        TokenKind::User
    );
}
