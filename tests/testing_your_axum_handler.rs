//! What a user's own test of an axum handler looks like with the testing kit: a real mock
//! provider, real signed tokens, the real verification path (no auth override).
//! Referenced from docs/testing.md ("Testing your service").

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use http_body_util::BodyExt;
use jwks_auth::axum::{require_scope, AuthLayer};
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, Verifier};
use serde_json::{json, Value};
use tower::ServiceExt;

/// The application under test, as the user's `main` would build it.
fn app(verifier: Verifier) -> Router {
    Router::new()
        .route(
            "/api/me",
            get(|user: AuthUser| async move { Json(json!({"id": user.id, "email": user.email})) }),
        )
        .route(
            "/api/admin",
            get(|| async { "welcome" }).route_layer(require_scope("admin")),
        )
        .layer(AuthLayer::new(verifier))
}

async fn get_with(app: Router, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let request = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, body)
}

#[tokio::test]
async fn me_returns_the_signed_in_user() {
    let mock = MockProvider::better_auth().await;
    let app = app(Verifier::builder(mock.provider()).build().unwrap());
    let token = mock.token().sub("user_1").email("a@b.c").sign();

    let (status, body) = get_with(app, "/api/me", &token).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body, json!({"id": "user_1", "email": "a@b.c"}));
}

#[tokio::test]
async fn admin_needs_the_admin_scope() {
    let mock = MockProvider::better_auth().await;
    let app = app(Verifier::builder(mock.provider()).build().unwrap());

    let reader = mock.token().scope("read").sign();
    assert_eq!(
        get_with(app.clone(), "/api/admin", &reader).await.0,
        StatusCode::FORBIDDEN
    );
    let admin = mock.token().scope("read admin").sign();
    assert_eq!(get_with(app, "/api/admin", &admin).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_or_forged_token_is_401() {
    let mock = MockProvider::better_auth().await;
    let app = app(Verifier::builder(mock.provider()).build().unwrap());
    for token in [
        mock.token().expired().sign(),
        mock.token().sign_with_wrong_key(),
    ] {
        assert_eq!(
            get_with(app.clone(), "/api/me", &token).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
}
