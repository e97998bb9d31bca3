//! In-process requests through the same router as the `none` and `jwks-auth-cached`
//! variants, without sockets: `probe <none|cached> <n> [tasks] [count]` sends n + 1 requests
//! with `oneshot` from each of `tasks` tasks (default 1) on a runtime with that many worker
//! threads, and prints the CPU time per request (and, with `count`, the allocations per
//! request). `probe verify <n>` times n verified-token cache hits through `Verifier::verify`
//! alone. Under callgrind (one task),
//! (I(2n) - I(n)) / n is the instructions per request; with two tasks the two workers
//! share the cache entry and the verifier, as the HTTP benchmark's do (BENCHMARKS.md,
//! "What auth costs per HTTP request").
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, Verifier};
use serde_json::json;
use tower::ServiceExt;

/// Counts allocations, to print how many a request makes.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
/// Off by default: two workers incrementing one counter would slow both.
static COUNTING: AtomicBool = AtomicBool::new(false);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap();
    let n: usize = args.next().unwrap().parse().unwrap();
    let tasks: usize = args.next().map_or(1, |t| t.parse().unwrap());
    COUNTING.store(args.next().as_deref() == Some("count"), Ordering::Relaxed);
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
    let cached_verifier = || {
        Verifier::builder(mock.provider())
            .cache_verified(10_000)
            .build()
            .unwrap()
    };
    if variant == "verify" {
        // A verified-token cache hit through `Verifier::verify` alone, no router.
        let verifier = cached_verifier();
        verifier.verify(&token).await.unwrap();
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(verifier.verify(std::hint::black_box(&token)).await.unwrap());
        }
        eprintln!("verify: {:?} per cache hit", start.elapsed() / n as u32);
        return;
    }
    let app = if variant == "none" {
        axum::Router::new().route(
            "/me",
            axum::routing::get(|| async { axum::Json(json!({ "id": "user_bench" })) }),
        )
    } else {
        let verifier = cached_verifier();
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
    // As `axum::serve` does: handlers become routes (and layers are applied) once, not per
    // request.
    let app: axum::Router = app.with_state(());
    let auth = format!("Bearer {token}");
    let start = Instant::now();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
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
    if COUNTING.load(Ordering::Relaxed) {
        let allocated = (ALLOCATIONS.load(Ordering::Relaxed) - allocations) as f64;
        let requests = ((n + 1) * tasks) as f64;
        eprintln!("{:.1} allocations per request", allocated / requests);
    }
}
