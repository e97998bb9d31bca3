//! The 403 guards (`route_layer`) behind the `AuthLayer`, driven with real requests, plus one
//! test over a real loopback socket.

#[path = "support/reply.rs"]
mod reply;
mod support;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use jwks_auth::axum::{
    require_claim, require_same_user, require_scope, require_scopes, require_user,
    require_user_token, AuthLayer,
};
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, Verifier};
use reply::{request, send, Reply};
use serde_json::{json, Value};

impl Reply {
    fn assert_forbidden(&self, challenge: &str, body: Value, token: &str) {
        self.assert_rejected(403, Some(challenge), body, token);
    }
}

async fn get_as(app: &Router, uri: &str, token: Option<&str>) -> Reply {
    let bearer = token.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("authorization", b.as_str()))
        .collect();
    send(app, request(uri, &headers)).await
}

const NOT_ALLOWED: &str = r#"Bearer realm="api", error="insufficient_scope""#;

fn guarded_app(verifier: Verifier) -> Router {
    Router::new()
        .route(
            "/admin",
            get(|| async { "admin area" }).route_layer(require_scope("admin")),
        )
        .route(
            "/reports",
            get(|| async { "reports" }).route_layer(require_scopes(["read", "reports"])),
        )
        .route(
            "/users/{user_id}/notes",
            get(|user: AuthUser| async move { format!("notes of {}", user.id) })
                .route_layer(require_same_user("user_id")),
        )
        .route(
            "/misconfigured",
            get(|| async { "unreachable" }).route_layer(require_same_user("user_id")),
        )
        .route(
            "/editors",
            get(|| async { "editors" }).route_layer(require_claim("roles", "editor")),
        )
        .route(
            "/org-admin",
            get(|| async { "org admin" }).route_layer(require_claim("org.role", "admin")),
        )
        .route(
            "/staff",
            get(|| async { "staff" }).route_layer(require_user(|user| {
                user.email
                    .as_deref()
                    .is_some_and(|email| email.ends_with("@example.com"))
            })),
        )
        .route(
            "/me",
            get(|| async { "me" }).route_layer(require_user_token()),
        )
        .layer(AuthLayer::new(verifier))
}

async fn setup() -> (MockProvider, Router) {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app(Verifier::builder(mock.provider()).build().unwrap());
    (mock, app)
}

#[tokio::test]
async fn scope_guard_refuses_with_the_required_scope() {
    let (mock, app) = setup().await;
    let reader = mock.token().scope("read").sign();
    get_as(&app, "/admin", Some(&reader))
        .await
        .assert_forbidden(
            r#"Bearer realm="api", error="insufficient_scope", scope="admin""#,
            json!({"error": "insufficient_scope", "scope": "admin"}),
            &reader,
        );
    let admin = mock.token().scope("read admin").sign();
    let reply = get_as(&app, "/admin", Some(&admin)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "admin area");
}

#[tokio::test]
async fn scope_guard_needs_every_scope() {
    let (mock, app) = setup().await;
    let partial = mock.token().scope("read").sign();
    get_as(&app, "/reports", Some(&partial))
        .await
        .assert_forbidden(
            r#"Bearer realm="api", error="insufficient_scope", scope="read reports""#,
            json!({"error": "insufficient_scope", "scope": "read reports"}),
            &partial,
        );
    let both = mock.token().scope("reports read").sign();
    assert_eq!(
        get_as(&app, "/reports", Some(&both)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn guarded_route_without_token_is_401_not_403() {
    let (_mock, app) = setup().await;
    let reply = get_as(&app, "/admin", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some(r#"Bearer realm="api""#));
}

#[tokio::test]
async fn same_user_guard_allows_the_owner() {
    let (mock, app) = setup().await;
    let token = mock.token().sub("user_1").sign();
    let reply = get_as(&app, "/users/user_1/notes", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "notes of user_1");
}

#[tokio::test]
async fn same_user_guard_compares_the_percent_decoded_parameter() {
    let (mock, app) = setup().await;
    let token = mock.token().sub("auth0|42").sign();
    let reply = get_as(&app, "/users/auth0%7C42/notes", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn same_user_guard_refuses_another_user() {
    let (mock, app) = setup().await;
    let token = mock.token().sub("user_1").sign();
    get_as(&app, "/users/user_2/notes", Some(&token))
        .await
        .assert_forbidden(NOT_ALLOWED, json!({"error": "insufficient_scope"}), &token);
}

#[tokio::test]
async fn same_user_guard_on_a_parameter_that_is_not_utf8_is_400_invalid_request() {
    let (mock, app) = setup().await;
    let token = mock.token().sub("user_1").sign();
    for uri in ["/users/%FF/notes", "/users/user_1%C3/notes"] {
        let reply = get_as(&app, uri, Some(&token)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            reply.body
        );
        assert_eq!(reply.json(), json!({"error": "invalid_request"}));
        assert_eq!(
            reply.challenge(),
            Some(r#"Bearer realm="api", error="invalid_request""#)
        );
        assert!(!reply.body.contains(&token));
    }
}

#[tokio::test]
async fn same_user_guard_on_a_route_without_the_parameter_is_500() {
    let (mock, app) = setup().await;
    let token = mock.token().sub("user_1").sign();
    let reply = get_as(&app, "/misconfigured", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.json(), json!({"error": "server_error"}));
    assert_eq!(reply.challenge(), None);
}

#[tokio::test]
async fn claim_guard_matches_values_and_array_members() {
    let (mock, app) = setup().await;
    let editor = mock
        .token()
        .claim("roles", json!(["viewer", "editor"]))
        .sign();
    assert_eq!(
        get_as(&app, "/editors", Some(&editor)).await.status,
        StatusCode::OK
    );
    let viewer = mock.token().claim("roles", json!(["viewer"])).sign();
    get_as(&app, "/editors", Some(&viewer))
        .await
        .assert_forbidden(NOT_ALLOWED, json!({"error": "insufficient_scope"}), &viewer);

    let org_admin = mock.token().claim("org", json!({"role": "admin"})).sign();
    assert_eq!(
        get_as(&app, "/org-admin", Some(&org_admin)).await.status,
        StatusCode::OK
    );
    let no_org = mock.token().sign();
    get_as(&app, "/org-admin", Some(&no_org))
        .await
        .assert_forbidden(NOT_ALLOWED, json!({"error": "insufficient_scope"}), &no_org);
}

#[tokio::test]
async fn predicate_guard() {
    let (mock, app) = setup().await;
    let staff = mock.token().email("ann@example.com").sign();
    assert_eq!(
        get_as(&app, "/staff", Some(&staff)).await.status,
        StatusCode::OK
    );
    let outsider = mock.token().email("bob@elsewhere.test").sign();
    get_as(&app, "/staff", Some(&outsider))
        .await
        .assert_forbidden(
            NOT_ALLOWED,
            json!({"error": "insufficient_scope"}),
            &outsider,
        );
}

#[tokio::test]
async fn guard_without_the_layer_authenticates_by_itself() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let app: Router = Router::new()
        .route(
            "/admin",
            get(|| async { "admin area" }).route_layer(require_scope("admin")),
        )
        .layer(Extension(verifier));
    assert_eq!(
        get_as(&app, "/admin", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let bad = mock.token().scope("admin").sign_with_wrong_key();
    assert_eq!(
        get_as(&app, "/admin", Some(&bad)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let reader = mock.token().scope("read").sign();
    assert_eq!(
        get_as(&app, "/admin", Some(&reader)).await.status,
        StatusCode::FORBIDDEN
    );
    let admin = mock.token().scope("admin").sign();
    assert_eq!(
        get_as(&app, "/admin", Some(&admin)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn real_socket_round_trip() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/api/me",
            get(|user: AuthUser| async move { Json(json!({"id": user.id, "email": user.email})) }),
        )
        .layer(AuthLayer::new(verifier).public_path("/health"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let anonymous = client.get(format!("{base}/api/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        r#"Bearer realm="api""#
    );
    assert_eq!(
        anonymous.json::<Value>().await.unwrap(),
        json!({"error": "missing_token"})
    );

    let token = mock
        .token()
        .sub("user_demo")
        .email("demo@example.com")
        .sign();
    let me = client
        .get(format!("{base}/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap(),
        json!({"id": "user_demo", "email": "demo@example.com"})
    );
    server.abort();
}

#[tokio::test]
async fn user_token_guard_refuses_client_credentials_tokens_with_403() {
    let (mock, app) = setup().await;
    let user = mock.token().claim("client_id", "app-1").sign();
    let reply = get_as(&app, "/me", Some(&user)).await;
    assert_eq!((reply.status.as_u16(), reply.body.as_str()), (200, "me"));
    let machine = mock.token().sub("app-1").claim("client_id", "app-1").sign();
    let reply = get_as(&app, "/me", Some(&machine)).await;
    assert_eq!(reply.status.as_u16(), 403, "body: {}", reply.body);
    assert!(!reply.body.contains(&machine));
}
