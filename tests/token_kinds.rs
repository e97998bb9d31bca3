//! Token kinds (RFC 8725 §3.11): each preset's `[token]` rule with a right-kind and a
//! wrong-kind token, the `typ` rule, RFC 9068 access tokens, and `AuthUser::kind`.

use jwks_auth::testing::MockProvider;
use jwks_auth::{Algorithm, ClerkToken, ErrorKind, Provider, TokenKind, TokenType, Verifier};

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
