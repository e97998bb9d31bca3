//! In-process requests through the same router as the `none` and `jwks-auth-cached`
//! variants, without sockets: `probe <none|cached> <n>` sends n + 1 requests with
//! `oneshot`. Under callgrind, (I(2n) - I(n)) / n is the instructions per request
//! (BENCHMARKS.md, "What auth costs per HTTP request").
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, Verifier};
use serde_json::json;
use tower::ServiceExt;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap();
    let n: usize = args.next().unwrap().parse().unwrap();
    let mock = MockProvider::auth0().await;
    let token = mock.token().sub("user_bench").expires_in(86400).sign();
    let app = if variant == "none" {
        axum::Router::new().route(
            "/me",
            axum::routing::get(|| async { axum::Json(json!({ "id": "user_bench" })) }),
        )
    } else {
        let verifier = Verifier::builder(mock.provider())
            .cache_verified(10_000)
            .build()
            .unwrap();
        verifier.warm_up().await.unwrap();
        axum::Router::new()
            .route(
                "/me",
                axum::routing::get(
                    |user: AuthUser| async move { axum::Json(json!({ "id": user.id })) },
                ),
            )
            .layer(jwks_auth::axum::AuthLayer::new(verifier))
    };
    let auth = format!("Bearer {token}");
    for _ in 0..=n {
        let request = axum::http::Request::get("/me")
            .header("authorization", &auth)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        std::hint::black_box(response);
    }
}
