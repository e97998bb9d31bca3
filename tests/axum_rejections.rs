//! The axum extractors and the `AuthLayer`, driven with real requests (`oneshot`) and real
//! tokens from a mock provider: every failure kind, with exact status, challenge and body.

#[path = "support/reply.rs"]
mod reply;
mod support;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Json, Router};
use jwks_auth::axum::{AuthConfig, AuthLayer, AuthRejection, OptionalAuthUser, TypedClaims};
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, Verifier};
use reply::{request, send};
use serde_json::json;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[derive(serde::Deserialize)]
struct DemoClaims {
    sub: String,
    tenant: String,
}

/// Extractors only, the verifier in the router state.
fn extractor_app(verifier: Verifier) -> Router {
    Router::new()
        .route("/me", get(|user: AuthUser| async move { user.id }))
        .route(
            "/maybe",
            get(|user: Option<AuthUser>| async move {
                user.map_or_else(|| "anonymous".to_owned(), |u| u.id)
            }),
        )
        .route(
            "/maybe-named",
            get(|OptionalAuthUser(user): OptionalAuthUser| async move {
                user.map_or_else(|| "anonymous".to_owned(), |u| u.id)
            }),
        )
        .route(
            "/claims",
            get(|TypedClaims(claims): TypedClaims<DemoClaims>| async move {
                format!("{}@{}", claims.sub, claims.tenant)
            }),
        )
        .with_state(verifier)
}

async fn better_auth() -> (MockProvider, Router) {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app(Verifier::builder(mock.provider()).build().unwrap());
    (mock, app)
}

const INVALID_TOKEN: &str = r#"Bearer realm="api", error="invalid_token""#;

/// `GET /me` with `token` is refused as 401 `invalid_token`, without echoing the token.
async fn assert_invalid_token(app: &Router, token: &str) {
    let reply = send(app, request("/me", &[("authorization", &bearer(token))])).await;
    reply.assert_rejected(
        401,
        Some(INVALID_TOKEN),
        json!({"error": "invalid_token"}),
        token,
    );
}

#[tokio::test]
async fn valid_token_reaches_the_handler() {
    let (mock, app) = better_auth().await;
    let token = mock.token().sub("user_1").sign();
    let reply = send(&app, request("/me", &[("authorization", &bearer(&token))])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "user_1");
}

#[tokio::test]
async fn scheme_is_case_insensitive() {
    let (mock, app) = better_auth().await;
    let token = mock.token().sub("user_1").sign();
    let header = format!("bearer {token}");
    let reply = send(&app, request("/me", &[("authorization", &header)])).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn missing_token_is_401_without_error_code() {
    let (_mock, app) = better_auth().await;
    let reply = send(&app, request("/me", &[])).await;
    reply.assert_rejected(
        401,
        Some(r#"Bearer realm="api""#),
        json!({"error": "missing_token"}),
        "",
    );
}

#[tokio::test]
async fn basic_scheme_is_401_without_error_code() {
    let (_mock, app) = better_auth().await;
    let reply = send(
        &app,
        request("/me", &[("authorization", "Basic dXNlcjpwYXNz")]),
    )
    .await;
    reply.assert_rejected(
        401,
        Some(r#"Bearer realm="api""#),
        json!({"error": "invalid_request"}),
        "dXNlcjpwYXNz",
    );
}

#[tokio::test]
async fn two_tokens_are_an_invalid_request() {
    let (mock, app) = better_auth().await;
    let token = mock.token().sign();
    let header = format!("Bearer {token} {token}");
    let reply = send(&app, request("/me", &[("authorization", &header)])).await;
    reply.assert_rejected(
        400,
        Some(r#"Bearer realm="api", error="invalid_request""#),
        json!({"error": "invalid_request"}),
        &token,
    );
}

#[tokio::test]
async fn two_authorization_headers_are_an_invalid_request() {
    let (mock, app) = better_auth().await;
    let token = mock.token().sign();
    let value = bearer(&token);
    let reply = send(
        &app,
        request(
            "/me",
            &[("authorization", &value), ("authorization", &value)],
        ),
    )
    .await;
    reply.assert_rejected(
        400,
        Some(r#"Bearer realm="api", error="invalid_request""#),
        json!({"error": "invalid_request"}),
        &token,
    );
}

#[tokio::test]
async fn invalid_signature_is_invalid_token() {
    let (mock, app) = better_auth().await;
    let token = mock.token().sign_with_wrong_key();
    assert_invalid_token(&app, &token).await;
}

#[tokio::test]
async fn expired_token_is_invalid_token() {
    let (mock, app) = better_auth().await;
    let token = mock.token().expired().sign();
    assert_invalid_token(&app, &token).await;
}

#[tokio::test]
async fn wrong_audience_is_invalid_token() {
    let (mock, app) = better_auth().await;
    let token = mock.token().audience("https://other.example").sign();
    assert_invalid_token(&app, &token).await;
}

#[tokio::test]
async fn unknown_kid_is_invalid_token() {
    let (mock, app) = better_auth().await;
    let token = mock.token().kid("no-such-key").sign();
    assert_invalid_token(&app, &token).await;
}

#[tokio::test]
async fn optional_user_is_none_only_without_a_token() {
    let (mock, app) = better_auth().await;
    // `Option<AuthUser>` and `OptionalAuthUser` (the actix-web integration's name) agree.
    for path in ["/maybe", "/maybe-named"] {
        let reply = send(&app, request(path, &[])).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, "anonymous");

        let token = mock.token().sub("user_1").sign();
        let reply = send(&app, request(path, &[("authorization", &bearer(&token))])).await;
        assert_eq!(reply.body, "user_1");

        let bad = mock.token().expired().sign();
        let reply = send(&app, request(path, &[("authorization", &bearer(&bad))])).await;
        reply.assert_rejected(
            401,
            Some(INVALID_TOKEN),
            json!({"error": "invalid_token"}),
            &bad,
        );

        let reply = send(&app, request(path, &[("authorization", "Bearer a b")])).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn typed_claims_deserialize_or_reject() {
    let (mock, app) = better_auth().await;
    let token = mock.token().sub("user_1").claim("tenant", "acme").sign();
    let reply = send(
        &app,
        request("/claims", &[("authorization", &bearer(&token))]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "user_1@acme");

    let without_tenant = mock.token().sub("user_1").sign();
    let reply = send(
        &app,
        request("/claims", &[("authorization", &bearer(&without_tenant))]),
    )
    .await;
    reply.assert_rejected(
        401,
        Some(INVALID_TOKEN),
        json!({"error": "invalid_token"}),
        &without_tenant,
    );
}

/// The origin of the app whose pages send Clerk's `__session` cookie (the tokens' `azp`).
const CLERK_APP: &str = "https://app.example.com";

/// A Clerk verifier that reads the `__session` cookie: it checks `azp` against the app.
fn clerk_cookie_verifier(mock: &MockProvider) -> Verifier {
    Verifier::builder(mock.provider())
        .authorized_parties([CLERK_APP])
        .build()
        .unwrap()
}

#[tokio::test]
async fn clerk_session_cookie_is_a_token_source() {
    let mock = MockProvider::clerk().await;
    let app = extractor_app(clerk_cookie_verifier(&mock));
    let token = mock.token().sub("user_clerk").azp(CLERK_APP).sign();
    let cookie = format!("theme=dark; __session={token}");
    let reply = send(&app, request("/me", &[("cookie", &cookie)])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "user_clerk");

    let bad = mock.token().azp(CLERK_APP).sign_with_wrong_key();
    let other_site = mock.token().azp("https://evil.example.com").sign();
    for bad in [bad, other_site] {
        let cookie = format!("__session={bad}");
        let reply = send(&app, request("/me", &[("cookie", &cookie)])).await;
        reply.assert_rejected(
            401,
            Some(INVALID_TOKEN),
            json!({"error": "invalid_token"}),
            &bad,
        );
    }
}

/// Clerk's backend SDK: a session token from a cookie must have its `azp` checked, else
/// another site (or a subdomain) that gets the cookie sent can act as the user. Without
/// authorized parties the cookie is not read; bearer tokens still are.
#[tokio::test]
async fn the_session_cookie_is_not_read_without_authorized_parties() {
    let mock = MockProvider::clerk().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    assert_eq!(verifier.token_sources(), [jwks_auth::TokenSource::Bearer]);
    let app = extractor_app(verifier);
    let token = mock.token().sub("user_clerk").azp(CLERK_APP).sign();
    let cookie = format!("__session={token}");
    let reply = send(&app, request("/me", &[("cookie", &cookie)])).await;
    reply.assert_rejected(
        401,
        Some(r#"Bearer realm="api""#),
        json!({"error": "missing_token"}),
        &token,
    );
    let reply = send(&app, request("/me", &[("authorization", &bearer(&token))])).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "user_clerk")
    );
}

/// RFC 6750 §3.1: a present but unusable `Authorization` header is `invalid_request` (400).
const INVALID_REQUEST: &str = r#"Bearer realm="api", error="invalid_request""#;

#[tokio::test]
async fn an_empty_authorization_header_is_an_invalid_request_not_a_missing_token() {
    let (_mock, app) = better_auth().await;
    for value in ["", "   ", "\t"] {
        for path in ["/me", "/maybe"] {
            let reply = send(&app, request(path, &[("authorization", value)])).await;
            reply.assert_rejected(
                400,
                Some(INVALID_REQUEST),
                json!({"error": "invalid_request"}),
                "",
            );
        }
    }
}

#[tokio::test]
async fn an_empty_authorization_header_does_not_fall_back_to_the_session_cookie() {
    let mock = MockProvider::clerk().await;
    let app = extractor_app(clerk_cookie_verifier(&mock));
    let token = mock.token().sub("user_clerk").azp(CLERK_APP).sign();
    let cookie = format!("__session={token}");
    for value in ["", " "] {
        let reply = send(
            &app,
            request("/me", &[("authorization", value), ("cookie", &cookie)]),
        )
        .await;
        reply.assert_rejected(
            400,
            Some(INVALID_REQUEST),
            json!({"error": "invalid_request"}),
            &token,
        );
    }
}

#[tokio::test]
async fn cookie_is_ignored_for_bearer_only_presets() {
    let (mock, app) = better_auth().await;
    let token = mock.token().sign();
    let cookie = format!("__session={token}");
    let reply = send(&app, request("/me", &[("cookie", &cookie)])).await;
    reply.assert_rejected(
        401,
        Some(r#"Bearer realm="api""#),
        json!({"error": "missing_token"}),
        &token,
    );
}

#[tokio::test]
async fn keys_unavailable_is_503_with_retry_after() {
    let mock = MockProvider::better_auth().await;
    // Cold verifier: no keys cached, and every fetch fails.
    let app = extractor_app(Verifier::builder(mock.provider()).build().unwrap());
    mock.fail_next(10, 500);
    let token = mock.token().sign();
    let reply = send(&app, request("/me", &[("authorization", &bearer(&token))])).await;
    reply.assert_rejected(
        503,
        None,
        json!({"error": "temporarily_unavailable"}),
        &token,
    );
    assert_eq!(reply.headers[header::RETRY_AFTER], "30");
    assert!(!reply.body.contains("provider error"), "no internal detail");
}

#[tokio::test]
async fn verifier_from_an_extension() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let app: Router = Router::new()
        .route("/me", get(|user: AuthUser| async move { user.id }))
        .layer(Extension(verifier));
    let token = mock.token().sub("user_ext").sign();
    let reply = send(&app, request("/me", &[("authorization", &bearer(&token))])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "user_ext");
}

#[tokio::test]
async fn no_verifier_anywhere_is_500() {
    let app: Router = Router::new().route("/me", get(|user: AuthUser| async move { user.id }));
    let reply = send(&app, request("/me", &[("authorization", "Bearer a.b.c")])).await;
    reply.assert_rejected(500, None, json!({"error": "server_error"}), "a.b.c");
}

#[tokio::test]
async fn extractor_uses_a_user_already_in_the_extensions() {
    // No verifier and no token: only a user put there beforehand can satisfy the extractor.
    let app: Router = Router::new()
        .route("/me", get(|user: AuthUser| async move { user.id }))
        .layer(Extension(AuthUser::new("user_injected")));
    let reply = send(&app, request("/me", &[])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "user_injected");
}

/// The layer on `/api`, `/health` and `/docs/...` public.
fn layered_app(verifier: Verifier) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/docs/intro", get(|| async { "docs" }))
        .route("/docsearch", get(|| async { "should be protected" }))
        .route(
            "/whoami",
            get(|user: Option<AuthUser>| async move {
                user.map_or_else(|| "anonymous".to_owned(), |u| u.id)
            }),
        )
        .route(
            "/api/me",
            get(|Extension(user): Extension<AuthUser>| async move {
                Json(json!({"id": user.id, "email": user.email}))
            }),
        )
        .layer(
            AuthLayer::new(verifier)
                .public_path("/health")
                .public_path("/whoami")
                .public_prefix("/docs"),
        )
}

#[tokio::test]
async fn layer_allow_list_and_protection() {
    let mock = MockProvider::better_auth().await;
    let app = layered_app(Verifier::builder(mock.provider()).build().unwrap());

    assert_eq!(send(&app, request("/health", &[])).await.body, "ok");
    assert_eq!(send(&app, request("/docs/intro", &[])).await.body, "docs");
    send(&app, request("/docsearch", &[]))
        .await
        .assert_rejected(
            401,
            Some(r#"Bearer realm="api""#),
            json!({"error": "missing_token"}),
            "",
        );
    send(&app, request("/api/me", &[])).await.assert_rejected(
        401,
        Some(r#"Bearer realm="api""#),
        json!({"error": "missing_token"}),
        "",
    );

    let token = mock
        .token()
        .sub("user_demo")
        .email("demo@example.com")
        .sign();
    let reply = send(
        &app,
        request("/api/me", &[("authorization", &bearer(&token))]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({"id": "user_demo", "email": "demo@example.com"})
    );

    let bad = mock.token().sign_with_wrong_key();
    send(
        &app,
        request("/api/me", &[("authorization", &bearer(&bad))]),
    )
    .await
    .assert_rejected(
        401,
        Some(INVALID_TOKEN),
        json!({"error": "invalid_token"}),
        &bad,
    );
}

#[tokio::test]
async fn public_path_still_verifies_an_optional_token() {
    let mock = MockProvider::better_auth().await;
    let app = layered_app(Verifier::builder(mock.provider()).build().unwrap());
    assert_eq!(send(&app, request("/whoami", &[])).await.body, "anonymous");
    let token = mock.token().sub("user_1").sign();
    let reply = send(
        &app,
        request("/whoami", &[("authorization", &bearer(&token))]),
    )
    .await;
    assert_eq!(reply.body, "user_1");
    let bad = mock.token().expired().sign();
    let reply = send(
        &app,
        request("/whoami", &[("authorization", &bearer(&bad))]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_empty_public_prefix_or_path_is_a_configuration_error_not_an_open_door() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let token = mock.token().sub("user_1").sign();
    for layer in [
        AuthLayer::new(verifier.clone()).public_prefix(""),
        AuthLayer::new(verifier.clone())
            .public_path("/health")
            .public_path(""),
    ] {
        let app: Router = Router::new()
            .route("/api/me", get(|| async { "served without a token" }))
            .route("/health", get(|| async { "ok" }))
            .layer(layer);
        for path in ["/api/me", "/health"] {
            send(&app, request(path, &[])).await.assert_rejected(
                500,
                None,
                json!({"error": "server_error"}),
                "",
            );
        }
        let reply = send(
            &app,
            request("/api/me", &[("authorization", &bearer(&token))]),
        )
        .await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}

#[tokio::test]
async fn layer_realm_is_configurable() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let app: Router = Router::new()
        .route("/me", get(|user: AuthUser| async move { user.id }))
        .layer(AuthLayer::new(verifier).realm("notes"));
    let token = mock.token().expired().sign();
    let reply = send(&app, request("/me", &[("authorization", &bearer(&token))])).await;
    reply.assert_rejected(
        401,
        Some(r#"Bearer realm="notes", error="invalid_token""#),
        json!({"error": "invalid_token"}),
        &token,
    );
}

fn custom_body(rejection: &AuthRejection) -> axum::response::Response {
    (
        [(header::CONTENT_TYPE, "application/problem+json")],
        Json(json!({
            "type": "about:blank",
            "title": rejection.to_string(),
            "code": rejection.kind().error_code(),
        })),
    )
        .into_response()
}

#[tokio::test]
async fn custom_rejection_body_keeps_status_and_challenge() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let app: Router = Router::new()
        .route("/me", get(|user: AuthUser| async move { user.id }))
        .layer(AuthLayer::new(verifier).rejection_response(custom_body));
    let token = mock.token().sign_with_wrong_key();
    let reply = send(&app, request("/me", &[("authorization", &bearer(&token))])).await;
    reply.assert_rejected(
        401,
        Some(INVALID_TOKEN),
        json!({"type": "about:blank", "title": "invalid bearer token", "code": "invalid_token"}),
        &token,
    );
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
}

#[tokio::test]
async fn custom_rejection_body_for_extractors_through_an_extension() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let app = Router::new()
        .route("/me", get(|user: AuthUser| async move { user.id }))
        .layer(Extension(
            AuthConfig::new()
                .realm("notes")
                .rejection_response(custom_body),
        ))
        .with_state(verifier);
    let reply = send(&app, request("/me", &[])).await;
    reply.assert_rejected(
        401,
        Some(r#"Bearer realm="notes""#),
        json!({"type": "about:blank", "title": "no bearer token in the request", "code": "missing_token"}),
        "",
    );
}
