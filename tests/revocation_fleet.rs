//! A mixed fleet: an axum service (`AuthLayer`) and a FastAPI service (the Python wheel, in
//! its own process) share one Redis for revocation. A session revoked through either is
//! refused by both within the propagation bound (1 s).
//!
//! Needs the venv `python/ci.sh` builds (`target/python-venv`, with the wheel installed; CI
//! runs it first) and a real `redis-server` (installed by the test support when missing).

mod support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use jwks_auth::axum::AuthLayer;
use jwks_auth::revocation::RedisRevocationStore;
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, Verifier};
use support::redis::RedisServer;
use tower::ServiceExt as _;

/// The propagation bound the Redis store promises.
const BOUND: Duration = Duration::from_secs(1);
/// How long the Python service may take to start (imports, Redis sync, uvicorn).
const STARTUP: Duration = Duration::from_secs(60);

/// The FastAPI instance: a child process, stopped when dropped.
struct PythonService {
    child: Child,
    url: String,
}

impl Drop for PythonService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        })
        .unwrap_or_else(|| root.join("target"));
    let python = target.join("python-venv/bin/python");
    python.is_file().then_some(python)
}

fn start_python(python: &std::path::Path, settings: serde_json::Value) -> PythonService {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/python/revocation_app.py"
    );
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the venv's python starts");
    let mut stdin = child.stdin.take().unwrap();
    // The settings, then stdin stays open (the service runs until it closes).
    writeln!(stdin, "{settings}").unwrap();
    std::mem::forget(stdin);
    // Read on a thread, so a service that never starts fails the test instead of hanging it.
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = receiver.recv_timeout(STARTUP).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("the Python service did not start within {STARTUP:?}")
    });
    let port = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("the Python service did not start: {line:?}"));
    PythonService {
        url: format!("http://127.0.0.1:{port}"),
        child,
    }
}

/// Polls `status` until it answers `want`, for at most [`BOUND`].
async fn within_bound<F, Fut>(want: StatusCode, mut status: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StatusCode>,
{
    let started = Instant::now();
    loop {
        if status().await == want {
            return true;
        }
        if started.elapsed() > BOUND {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_revoked_through_axum_or_fastapi_is_refused_by_both() {
    let Some(python) = python() else {
        eprintln!("SKIP: no target/python-venv (run python/ci.sh first); CI runs it");
        return;
    };
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockProvider::auth0().await;
    let prefix = "fleet:";
    let store = RedisRevocationStore::builder(redis.url())
        .prefix(prefix)
        .connect()
        .await
        .unwrap();
    let verifier = Verifier::builder(mock.provider())
        .revocation(store)
        .build()
        .unwrap();
    let revocations = verifier.revocations().unwrap();
    let axum_app = Router::new()
        .route("/api/me", get(|user: AuthUser| async move { user.id }))
        .layer(AuthLayer::new(verifier));
    let params: serde_json::Map<String, serde_json::Value> = mock
        .params()
        .iter()
        .map(|(name, value)| (name.clone(), value.clone().into()))
        .collect();
    let service = start_python(
        &python,
        serde_json::json!({
            "preset": mock.preset(),
            "params": params,
            "redis_url": redis.url(),
            "prefix": prefix,
        }),
    );
    let http = reqwest::Client::new();
    let now = revocations.now();
    let token = |sid: &str| mock.token().sub("user_1").sid(sid).at(now - 5).sign();
    let via_python = |token: String| {
        let request = http
            .get(format!("{}/api/me", service.url))
            .bearer_auth(token)
            .send();
        async move { StatusCode::from_u16(request.await.unwrap().status().as_u16()).unwrap() }
    };
    let via_axum = |token: String| {
        let request = Request::get("/api/me")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let app = axum_app.clone();
        async move { app.oneshot(request).await.unwrap().status() }
    };

    // Revoked through the axum instance: the Python one refuses it too.
    let first = token("sess_1");
    assert_eq!(via_python(first.clone()).await, StatusCode::OK);
    assert_eq!(via_axum(first.clone()).await, StatusCode::OK);
    revocations
        .revoke_session("sess_1", revocations.now())
        .await
        .unwrap();
    assert_eq!(via_axum(first.clone()).await, StatusCode::UNAUTHORIZED);
    assert!(
        within_bound(StatusCode::UNAUTHORIZED, || via_python(first.clone())).await,
        "a revocation made through axum was not enforced by FastAPI within 1 s"
    );

    // Logged out through the FastAPI instance: the axum one refuses it too.
    let second = token("sess_2");
    assert_eq!(via_axum(second.clone()).await, StatusCode::OK);
    let logout = http
        .post(format!("{}/api/logout", service.url))
        .bearer_auth(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status().as_u16(), 204);
    assert!(
        within_bound(StatusCode::UNAUTHORIZED, || via_axum(second.clone())).await,
        "a logout through FastAPI was not enforced by axum within 1 s"
    );
    assert_eq!(via_python(second).await, StatusCode::UNAUTHORIZED);
    // Another session of the same user is untouched on both.
    let third = token("sess_3");
    assert_eq!(via_python(third.clone()).await, StatusCode::OK);
    assert_eq!(via_axum(third).await, StatusCode::OK);
}
