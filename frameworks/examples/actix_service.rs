//! A small actix-web service protected by jwks-auth, against an embedded mock Better Auth
//! provider (no account, no network): the routes of `../examples/axum_service.rs` (without the
//! DPoP one, which only the axum layer takes). It prints demo tokens to try with curl.
//!
//! Run: `cargo run -p jwks-auth-frameworks --example actix_service` (port from `$PORT`,
//! default 3000), then
//!
//! ```text
//! curl -i localhost:3000/health
//! curl -i localhost:3000/api/me -H "authorization: Bearer $TOKEN"
//! curl -i localhost:3000/api/users/user_demo/notes -H "authorization: Bearer $TOKEN"
//! curl -i localhost:3000/api/admin -H "authorization: Bearer $ADMIN_TOKEN"
//! ```
//!
//! Printing tokens is fine here only because they are minted by a throwaway mock for a demo
//! user; never print real tokens.

use actix_web::{web, App, HttpResponse, HttpServer};
use jwks_auth::actix::{require_same_user, require_scope, AuthLayer};
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, Verifier};
use serde_json::json;

const TOKEN_LIFETIME_SECS: i64 = 3600;

async fn me(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "id": user.id, "email": user.email }))
}

async fn notes(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "owner": user.id, "notes": ["buy milk", "ship jwks-auth"] }))
}

async fn admin(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "admin": user.id }))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build()?;
    verifier.warm_up().await?;

    let mint = |sub: &str, email: &str, scope: &str| {
        mock.token()
            .sub(sub)
            .email(email)
            .scope(scope)
            .expires_in(TOKEN_LIFETIME_SECS)
            .sign()
    };
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(3000);
    let server = HttpServer::new(move || {
        App::new()
            .route("/health", web::get().to(|| async { "ok" }))
            .service(
                web::scope("/api")
                    .route("/me", web::get().to(me))
                    .service(
                        web::resource("/users/{user_id}/notes")
                            .wrap(require_same_user("user_id"))
                            .route(web::get().to(notes)),
                    )
                    .service(
                        web::resource("/admin")
                            .wrap(require_scope("admin"))
                            .route(web::get().to(admin)),
                    ),
            )
            .wrap(AuthLayer::new(verifier.clone()).public_path("/health"))
    })
    .bind(("127.0.0.1", port))?;
    println!("mock Better Auth provider: {}", mock.uri());
    println!("listening on http://{}", server.addrs()[0]);
    println!("token: {}", mint("user_demo", "demo@example.com", "read"));
    println!(
        "other-token: {}",
        mint("user_other", "other@example.com", "read")
    );
    println!(
        "admin-token: {}",
        mint("user_admin", "admin@example.com", "read admin")
    );
    server.run().await?;
    Ok(())
}
