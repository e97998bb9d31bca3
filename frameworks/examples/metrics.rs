//! An axum service protected by jwks-auth that exports the verifier's metrics on `/metrics`
//! in the Prometheus text format, against an embedded mock Better Auth provider.
//!
//! Run: `cargo run -p jwks-auth-frameworks --example metrics` (port from `$PORT`,
//! default 3000), then
//!
//! ```text
//! curl -i localhost:3000/api/me -H "authorization: Bearer $TOKEN"
//! curl -i localhost:3000/api/me -H "authorization: Bearer nonsense"
//! curl -s localhost:3000/metrics | grep jwks_auth_
//! ```
//!
//! The recorder must be installed before the verifier is built: the verifier registers its
//! counters once, at build time. Printing a token is fine here only because it is minted by
//! a throwaway mock for a demo user; never print real tokens.

use axum::routing::get;
use axum::{Json, Router};
use jwks_auth::axum::AuthLayer;
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, Verifier};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{json, Value};

async fn me(user: AuthUser) -> Json<Value> {
    Json(json!({ "id": user.id }))
}

/// The service: `/api/me` behind the verifier, `/metrics` public.
pub fn app(verifier: Verifier, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(move || async move { metrics.render() }))
        .route("/api/me", get(me))
        .layer(AuthLayer::new(verifier).public_path("/metrics"))
}

#[allow(dead_code)] // The test includes this file for `app` only.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // First the recorder, then the verifier.
    let metrics = PrometheusBuilder::new().install_recorder()?;
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider())
        .cache_verified(10_000)
        .build()?;
    verifier.warm_up().await?;

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("mock Better Auth provider: {}", mock.uri());
    println!("listening on http://{}", listener.local_addr()?);
    println!("token: {}", mock.token().sub("user_demo").sign());
    axum::serve(listener, app(verifier, metrics)).await?;
    Ok(())
}
