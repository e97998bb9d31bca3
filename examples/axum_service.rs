//! A small axum service protected by jwks-auth, against an embedded mock Better Auth provider
//! (no account, no network). It prints demo tokens to try with curl.
//!
//! Run: `cargo run --example axum_service --features axum` (port from `$PORT`, default 3000),
//! then
//!
//! ```text
//! curl -i localhost:3000/health
//! curl -i localhost:3000/api/me -H "authorization: Bearer $TOKEN"
//! curl -i localhost:3000/api/users/user_demo/notes -H "authorization: Bearer $TOKEN"
//! curl -i localhost:3000/api/admin -H "authorization: Bearer $ADMIN_TOKEN"
//! curl -i localhost:3000/dpop/me -H "authorization: DPoP $DPOP_TOKEN" -H "dpop: $DPOP_PROOF"
//! curl -i -X POST localhost:3000/logout -H "authorization: Bearer $TOKEN"   # then /api/me: 401
//! ```
//!
//! `/logout` revokes the caller's session (its `sid`, else the token's `jti`) in the
//! verifier's in-memory revocation store: the same token is refused from then on. A fleet
//! would use the Redis store (feature `redis`) so every instance refuses it.
//!
//! `/dpop/me` takes only DPoP-bound tokens with a proof (RFC 9449); the printed proof is
//! valid once, within 60 seconds (a second try is a replay).
//!
//! Printing tokens is fine here only because they are minted by a throwaway mock for a demo
//! user; never print real tokens.

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use jwks_auth::axum::{require_same_user, require_scope, AuthLayer};
use jwks_auth::dpop::DpopMode;
use jwks_auth::revocation::{InMemoryRevocationStore, Revocations};
use jwks_auth::testing::{DpopProof, MockProvider, TestKey};
use jwks_auth::{AuthUser, KeyFamily, Verifier};
use serde_json::{json, Value};

const TOKEN_LIFETIME_SECS: i64 = 3600;

async fn me(user: AuthUser) -> Json<Value> {
    Json(json!({ "id": user.id, "email": user.email }))
}

async fn notes(user: AuthUser) -> Json<Value> {
    Json(json!({ "owner": user.id, "notes": ["buy milk", "ship jwks-auth"] }))
}

async fn admin(user: AuthUser) -> Json<Value> {
    Json(json!({ "admin": user.id }))
}

/// Revokes the caller's session: every token of its `sid` issued until now, else this
/// token's `jti` until it expires. 204, or 400 for a token with neither, 503 when the
/// revocation store cannot record it.
async fn logout(revocations: Revocations, user: AuthUser) -> StatusCode {
    let claims = &user.claims;
    let revoked = match (
        claims.get_str("sid"),
        claims.get_str("jti"),
        user.expires_at(),
    ) {
        (Some(sid), _, _) => revocations.revoke_session(sid, revocations.now()).await,
        (None, Some(jti), Some(exp)) => revocations.revoke_token(jti, exp).await,
        _ => return StatusCode::BAD_REQUEST,
    };
    match revoked {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(err) => StatusCode::from_u16(err.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
    }
}

/// The bearer-token service: `/health`, `/logout` and `/api/...`, behind `verifier`.
fn app(verifier: Verifier) -> Router {
    let revocations = verifier.revocations().expect("revocation is on");
    let api = Router::new()
        .route("/me", get(me))
        .route(
            "/users/{user_id}/notes",
            get(notes).route_layer(require_same_user("user_id")),
        )
        .route("/admin", get(admin).route_layer(require_scope("admin")));
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/logout",
            post(move |user: AuthUser| logout(revocations.clone(), user)),
        )
        .nest("/api", api)
        .layer(AuthLayer::new(verifier).public_path("/health"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider())
        .revocation(InMemoryRevocationStore::default())
        .build()?;
    verifier.warm_up().await?;

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let origin = format!("http://localhost:{port}");
    // Sender-constrained: only DPoP-bound tokens with a fresh proof for this URL. The
    // external origin is what clients call (behind a proxy: the public https origin).
    let dpop_verifier = Verifier::builder(mock.provider())
        .dpop(DpopMode::Required)
        .build()?;
    let dpop = Router::new()
        .route("/dpop/me", get(me))
        .layer(AuthLayer::new(dpop_verifier).external_origin(&origin));
    // Merged after the bearer app's `.layer`, so the bearer layer does not wrap it.
    let app = app(verifier).merge(dpop);

    let mint = |sub: &str, email: &str, scope: &str| {
        mock.token()
            .sub(sub)
            .email(email)
            .scope(scope)
            .sid(&format!("sess_{sub}"))
            .expires_in(TOKEN_LIFETIME_SECS)
            .sign()
    };
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("mock Better Auth provider: {}", mock.uri());
    println!("listening on http://{}", listener.local_addr()?);
    println!("token: {}", mint("user_demo", "demo@example.com", "read"));
    println!(
        "other-token: {}",
        mint("user_other", "other@example.com", "read")
    );
    println!(
        "admin-token: {}",
        mint("user_admin", "admin@example.com", "read admin")
    );
    // The client's proof key: the authorization server binds the token to it (cnf.jkt).
    let client_key = TestKey::fixture(KeyFamily::P256, 1).expect("fixture key");
    let dpop_token = mock
        .token()
        .sub("user_demo")
        .email("demo@example.com")
        .dpop_bound(&client_key)
        .expires_in(TOKEN_LIFETIME_SECS)
        .sign();
    let dpop_proof = DpopProof::new(&client_key)
        .method("GET")
        .url(&format!("{origin}/dpop/me"))
        .token(&dpop_token)
        .sign();
    println!("dpop-token: {dpop_token}");
    println!("dpop-proof: {dpop_proof}");
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Request};
    use tower::ServiceExt as _;

    use super::*;

    async fn call(app: &Router, method: &str, path: &str, token: &str) -> StatusCode {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        app.clone().oneshot(request).await.unwrap().status()
    }

    async fn service() -> (MockProvider, Router) {
        let mock = MockProvider::better_auth().await;
        let verifier = Verifier::builder(mock.provider())
            .revocation(InMemoryRevocationStore::default())
            .build()
            .unwrap();
        let app = app(verifier);
        (mock, app)
    }

    #[tokio::test]
    async fn after_logout_the_same_token_is_refused() {
        let (mock, app) = service().await;
        let token = mock.token().sub("user_demo").sid("sess_demo").sign();
        let other_session = mock.token().sub("user_demo").sid("sess_other").sign();
        assert_eq!(call(&app, "GET", "/api/me", &token).await, StatusCode::OK);
        assert_eq!(
            call(&app, "POST", "/logout", &token).await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            call(&app, "GET", "/api/me", &token).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&app, "POST", "/logout", &token).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&app, "GET", "/api/me", &other_session).await,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn logout_without_a_session_revokes_the_token_by_jti() {
        let (mock, app) = service().await;
        let token = mock
            .token()
            .sub("user_demo")
            .claim("jti", "jti-demo")
            .sign();
        let twin = mock
            .token()
            .sub("user_demo")
            .claim("jti", "jti-twin")
            .sign();
        assert_eq!(
            call(&app, "POST", "/logout", &token).await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            call(&app, "GET", "/api/me", &token).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(call(&app, "GET", "/api/me", &twin).await, StatusCode::OK);
    }
}
