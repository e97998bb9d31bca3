//! Interop with a real Better Auth server (`tests/interop/better-auth/server.mjs`, the JWT
//! plugin of `better-auth` pinned in its `package.json`): sign up over HTTP, fetch a JWT from
//! `/api/auth/token`, and verify it with `Provider::better_auth(base_url)`.
//!
//! Needs Node.js (>= 20.19) and npm on `PATH`; the first test installs the pinned
//! dependencies with `npm ci` when `node_modules` is missing. Without node the tests fail
//! with a message saying so: they are never skipped.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwks_auth::{dangerous, ErrorKind, Provider, Verifier};
use serde_json::Value;

/// How long a server may take to print its `listening` line (a cold CI machine is slow).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `npm ci` may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// A lock older than this was left by a crashed install and is taken over.
const STALE_LOCK: Duration = Duration::from_secs(900);
/// `server.mjs`'s lowest supported Node.js version (`@noble/*` needs 20.19).
const MIN_NODE: (u32, u32) = (20, 19);
const PASSWORD: &str = "password1234";

fn project_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/better-auth")
}

// ---------------------------------------------------------------------------------------
// Node.js dependencies
// ---------------------------------------------------------------------------------------

static NODE_READY: OnceLock<Result<(), String>> = OnceLock::new();

/// Checks node and installs the npm dependencies once per process; panics (never skips)
/// when that is impossible.
fn ensure_node() {
    if let Err(message) = NODE_READY.get_or_init(prepare_node) {
        panic!("{message}");
    }
}

fn prepare_node() -> Result<(), String> {
    check_node_version()?;
    let dir = project_dir();
    // npm writes its hidden lockfile last, so it marks a complete install.
    let installed = || dir.join("node_modules/.package-lock.json").is_file();
    if installed() {
        return Ok(());
    }
    // Other test processes (e.g. under cargo-nextest) may install at the same time;
    // creating a directory is atomic, so it serves as a cross-process lock.
    let lock = dir.join(".npm-ci.lock");
    let waited_since = Instant::now();
    loop {
        match std::fs::create_dir(&lock) {
            Ok(()) => break,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                if installed() {
                    return Ok(());
                }
                let age = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok());
                if age.is_some_and(|age| age > STALE_LOCK) {
                    let _ = std::fs::remove_dir(&lock);
                    continue;
                }
                if waited_since.elapsed() > INSTALL_TIMEOUT {
                    return Err(format!(
                        "timed out waiting for another `npm ci` in {} (lock {})",
                        dir.display(),
                        lock.display()
                    ));
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(err) => return Err(format!("cannot create {}: {err}", lock.display())),
        }
    }
    let result = if installed() {
        Ok(())
    } else {
        run_npm_ci(&dir)
    };
    let _ = std::fs::remove_dir(&lock);
    result
}

fn check_node_version() -> Result<(), String> {
    let output = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|err| {
            format!(
            "`node` is not runnable ({err}): the Better Auth interop tests need Node.js >= {}.{} \
             and npm on PATH (see tests/interop/better-auth/README.md)",
            MIN_NODE.0, MIN_NODE.1
        )
        })?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let mut parts = version.trim_start_matches('v').split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if !output.status.success() || (major, minor) < MIN_NODE {
        return Err(format!(
            "Node.js {version:?} found, but the Better Auth interop tests need >= {}.{}",
            MIN_NODE.0, MIN_NODE.1
        ));
    }
    Ok(())
}

fn run_npm_ci(dir: &Path) -> Result<(), String> {
    eprintln!(
        "installing Better Auth interop dependencies: npm ci in {}",
        dir.display()
    );
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| {
            format!(
                "`npm` is not runnable ({err}): the Better Auth interop tests need npm on PATH \
                 to install tests/interop/better-auth's dependencies"
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "`npm ci` in {} failed ({}):\n{}\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------

/// A running `server.mjs`. Killed on drop; it also exits by itself when its stdin (held
/// here) closes, so a crashed test process leaves no server behind.
struct BetterAuthServer {
    child: Child,
    _stdin: ChildStdin,
    stderr: Option<JoinHandle<String>>,
    base_url: String,
    http: reqwest::Client,
}

impl BetterAuthServer {
    /// Starts a server signing with `alg`, plus extra environment variables.
    fn start(alg: &str, env: &[(&str, &str)]) -> Self {
        ensure_node();
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(project_dir())
            .env("JWT_ALG", alg)
            .env("PORT", "0")
            // Belt and braces: the server also sets telemetry off; nothing may leave loopback.
            .env("BETTER_AUTH_TELEMETRY", "0")
            .env_remove("IGNORE_STDIN")
            .env_remove("ROTATION_INTERVAL")
            .env_remove("GRACE_PERIOD")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot spawn `node server.mjs`: {err}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        // Better Auth logs to stderr; keep it for failure messages, and keep draining it
        // so the server never blocks on a full pipe.
        let stderr = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = line_tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut server = BetterAuthServer {
            child,
            _stdin: stdin,
            stderr: Some(stderr),
            base_url: String::new(),
            http: reqwest::Client::new(),
        };
        match line_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) if line.starts_with("listening http://") => {
                server.base_url = line["listening ".len()..].trim().to_owned();
                server
            }
            outcome => {
                let _ = server.child.kill();
                let status = server.child.wait();
                let log = server.stderr.take().and_then(|h| h.join().ok());
                panic!(
                    "server.mjs (JWT_ALG={alg}) did not start: first stdout line {outcome:?}, \
                     exit {status:?}, stderr:\n{}",
                    log.unwrap_or_default()
                );
            }
        }
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/auth{path}", self.base_url)
    }

    /// `POST /sign-up/email`; returns the user id and the session token.
    async fn sign_up(&self, email: &str, name: &str) -> (String, String) {
        let response = self
            .http
            .post(self.api("/sign-up/email"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD, "name": name}))
            .send()
            .await
            .expect("sign-up request");
        let body = json_body(response, "sign-up").await;
        let id = body["user"]["id"].as_str().expect("sign-up .user.id");
        let session = body["token"].as_str().expect("sign-up .token");
        (id.to_owned(), session.to_owned())
    }

    /// `GET /token` with the session as a bearer token; returns the JWT.
    async fn jwt(&self, session: &str) -> String {
        let response = self
            .http
            .get(self.api("/token"))
            .bearer_auth(session)
            .send()
            .await
            .expect("token request");
        let body = json_body(response, "token").await;
        body["token"].as_str().expect("token .token").to_owned()
    }

    /// `GET /jwks`, the document as served.
    async fn jwks(&self) -> Value {
        let response = self
            .http
            .get(self.api("/jwks"))
            .send()
            .await
            .expect("jwks request");
        json_body(response, "jwks").await
    }

    fn verifier(&self) -> Verifier {
        Verifier::builder(Provider::better_auth(&self.base_url).expect("preset"))
            .build()
            .expect("verifier")
    }
}

impl Drop for BetterAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn json_body(response: reqwest::Response, what: &str) -> Value {
    let status = response.status();
    let text = response.text().await.expect("response body");
    assert!(status.is_success(), "{what}: HTTP {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{what}: not JSON ({err}): {text}"))
}

fn header_of(token: &str) -> serde_json::Map<String, Value> {
    dangerous::decode_unverified(token)
        .expect("a JWS with JSON header and payload")
        .header
}

fn kid_of(token: &str) -> String {
    header_of(token)["kid"]
        .as_str()
        .expect("Better Auth tokens carry a kid")
        .to_owned()
}

fn jwks_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .map(|key| key["kid"].as_str().expect("every key has a kid").to_owned())
        .collect()
}

/// The same header and signature over a payload whose `sub` and `id` name another user.
fn with_other_subject(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = "someone-else".into();
    claims["id"] = "someone-else".into();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// One server per algorithm: a real token verifies to the signed-up user, the JWKS is the
/// shape Better Auth documents (no `use`), and a re-addressed payload does not verify.
async fn real_token_verifies(alg: &str) {
    let server = BetterAuthServer::start(alg, &[]);
    let email = format!("alice.{}@example.com", alg.to_ascii_lowercase());
    let (user_id, session) = server.sign_up(&email, "Alice").await;
    let token = server.jwt(&session).await;

    let header = header_of(&token);
    assert_eq!(header["alg"], alg, "the server signs with JWT_ALG");
    let kid = kid_of(&token);

    let jwks = server.jwks().await;
    let keys = jwks["keys"].as_array().expect("keys array");
    assert!(!keys.is_empty());
    for key in keys {
        assert!(
            key.get("use").is_none(),
            "Better Auth keys carry no `use`: {key}"
        );
        assert_eq!(key["alg"], alg, "{key}");
    }
    assert!(
        jwks_kids(&jwks).contains(&kid),
        "the token's kid is published"
    );

    let verifier = server.verifier();
    let user = verifier.verify(&token).await.expect("real token verifies");
    assert_eq!(user.id, user_id, "user id is the sign-up .user.id");
    assert_eq!(user.email.as_deref(), Some(email.as_str()));
    // A fresh email sign-up is unverified: Better Auth says so in `emailVerified`.
    assert_eq!(user.email_verified, Some(false));
    assert_eq!(user.issuer(), Some(server.base_url.as_str()));
    assert_eq!(verifier.key_stats().fetches, 1);

    let forged = with_other_subject(&token);
    let err = verifier.verify(&forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{alg}: {err}");
}

#[tokio::test]
async fn eddsa_token_from_better_auth_verifies() {
    real_token_verifies("EdDSA").await;
}

#[tokio::test]
async fn es256_token_from_better_auth_verifies() {
    real_token_verifies("ES256").await;
}

#[tokio::test]
async fn es512_token_from_better_auth_verifies() {
    real_token_verifies("ES512").await;
}

#[tokio::test]
async fn rs256_token_from_better_auth_verifies() {
    real_token_verifies("RS256").await;
}

#[tokio::test]
async fn ps256_token_from_better_auth_verifies() {
    real_token_verifies("PS256").await;
}

/// Better Auth rotates lazily: after `ROTATION_INTERVAL` the next signing mints a new key.
/// The verifier meets the new kid with exactly one refetch (the cold fetch was not an
/// unknown-kid refresh, so the refresh cooldown does not hold it back), and the old key,
/// still within `GRACE_PERIOD`, keeps verifying without another fetch.
#[tokio::test]
async fn rotated_key_is_picked_up_with_one_refetch() {
    const ROTATION_SECS: u64 = 2;
    let server = BetterAuthServer::start(
        "EdDSA",
        &[("ROTATION_INTERVAL", "2"), ("GRACE_PERIOD", "600")],
    );
    let (user_id, session) = server.sign_up("rotate@example.com", "Rotate").await;
    let verifier = server.verifier();

    let first = server.jwt(&session).await;
    assert_eq!(verifier.verify(&first).await.unwrap().id, user_id);
    let stats = verifier.key_stats();
    assert_eq!((stats.fetches, stats.unknown_kid_refreshes), (1, 0));

    // The first key was minted no later than `first` was returned.
    tokio::time::sleep(Duration::from_millis(ROTATION_SECS * 1000 + 500)).await;
    let second = server.jwt(&session).await;
    assert_ne!(
        kid_of(&first),
        kid_of(&second),
        "Better Auth rotated its key"
    );
    let published = jwks_kids(&server.jwks().await);
    assert!(published.contains(&kid_of(&first)) && published.contains(&kid_of(&second)));

    assert_eq!(verifier.verify(&second).await.unwrap().id, user_id);
    let stats = verifier.key_stats();
    assert_eq!(stats.fetches, 2, "exactly one extra fetch for the new kid");
    assert_eq!(stats.unknown_kid_refreshes, 1);
    assert_eq!(stats.keys, 2);

    assert_eq!(verifier.verify(&first).await.unwrap().id, user_id);
    assert_eq!(
        verifier.key_stats().fetches,
        2,
        "the old key is still cached"
    );
}

/// A token from another Better Auth instance is rejected. Its kid (random per instance) is
/// not in this instance's JWKS, so the answer is `UnknownKey`. Putting one of this
/// instance's kids in the header does not help: the signature is over another key
/// (`InvalidSignature`). And a verifier holding the other instance's keys still refuses
/// it for its issuer (`InvalidIssuer`), since every instance's origin is its `iss`.
#[tokio::test]
async fn token_from_another_instance_is_rejected() {
    let ours = BetterAuthServer::start("EdDSA", &[]);
    let theirs = BetterAuthServer::start("EdDSA", &[]);
    let (_, session) = theirs.sign_up("mallory@example.com", "Mallory").await;
    let foreign = theirs.jwt(&session).await;

    let verifier = ours.verifier();
    let err = verifier.verify(&foreign).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey, "{err}");
    assert_eq!(verifier.key_stats().unknown_kid_rejections, 1);

    let our_kid = jwks_kids(&ours.jwks().await).remove(0);
    assert_ne!(our_kid, kid_of(&foreign));
    let header = URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&serde_json::json!({"alg": "EdDSA", "kid": our_kid})).unwrap());
    let relabelled = format!("{header}.{}", foreign.split_once('.').unwrap().1);
    let err = verifier.verify(&relabelled).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{err}");

    let their_keys_our_issuer = Verifier::builder(Provider::better_auth(&theirs.base_url).unwrap())
        .issuer(ours.base_url.clone())
        .audience(ours.base_url.clone())
        .build()
        .unwrap();
    let err = their_keys_our_issuer.verify(&foreign).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidIssuer, "{err}");
}
