//! In-process requests through the same router as the `none` and `jwks-auth-cached`
//! variants, without sockets: `probe <none|cached> <n> [tasks]` sends n + 1 requests with
//! `oneshot` from each of `tasks` tasks (default 1) on a runtime with that many worker
//! threads, and prints the CPU time per request. Under callgrind (one task),
//! (I(2n) - I(n)) / n is the instructions per request; with two tasks the two workers
//! share the cache entry and the verifier, as the HTTP benchmark's do (BENCHMARKS.md,
//! "What auth costs per HTTP request").
use std::time::Instant;

use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, Verifier};
use serde_json::json;
use tower::ServiceExt;

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap();
    let n: usize = args.next().unwrap().parse().unwrap();
    let tasks: usize = args.next().map_or(1, |t| t.parse().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(tasks)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(variant, n, tasks));
}

async fn run(variant: String, n: usize, tasks: usize) {
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
    let start = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let app = app.clone();
            let auth = auth.clone();
            tokio::spawn(async move {
                for _ in 0..=n {
                    let request = axum::http::Request::get("/me")
                        .header("authorization", &auth)
                        .body(axum::body::Body::empty())
                        .unwrap();
                    let response = app.clone().oneshot(request).await.unwrap();
                    assert_eq!(response.status(), 200);
                    std::hint::black_box(response);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let per_request = start.elapsed() * tasks as u32 / (n as u32 * tasks as u32);
    eprintln!("{variant} x{tasks}: {per_request:?} per request (cpu)");
}
