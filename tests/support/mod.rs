//! Helpers shared by integration-test binaries (`mod support;` in a `tests/*.rs` file, or
//! `#[path = "../../tests/support/mod.rs"] mod support;` in a workspace member's test, e.g.
//! `frameworks/tests/interop_mcp.rs`). Each binary uses only part of them, hence the
//! `dead_code` allowance. The helpers that need a framework are separate files included with
//! `#[path]` by the tests that use them: `reply.rs` (axum), `dpop_client.rs` (actix-web,
//! tonic) and `greeter.rs` (tonic).
#![allow(dead_code)]

pub mod logs;
pub mod node;
pub mod redis;

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwks_auth::dangerous::decode_unverified;
use jwks_auth::testing::TestKeys;
use jwks_auth::{ErrorKind, ManualClock, Provider, Verifier};
use serde_json::{Map, Value};

/// The Unix time the tests' manual clocks start at (2023-11-14T22:13:20Z).
pub const START: i64 = 1_700_000_000;

/// A manual clock at [`START`].
pub fn clock() -> ManualClock {
    ManualClock::at_unix(START as u64)
}

/// A verifier over `keys`' public JWK set (no network), on [`clock`].
pub fn static_verifier(keys: &TestKeys) -> Verifier {
    Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .clock(clock())
        .build()
        .unwrap()
}

/// The kind of the error `verifier` answers `token` with; panics if it verifies.
pub async fn kind_of(verifier: &Verifier, token: &str) -> ErrorKind {
    verifier.verify(token).await.unwrap_err().kind()
}

/// Unpadded base64url, as in a compact JWS.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Unpadded base64url, decoded; panics on anything else.
pub fn unb64(text: impl AsRef<[u8]>) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("unpadded base64url")
}

/// One base64url segment of a JWS, decoded as JSON.
pub fn b64_json(segment: &str) -> Value {
    serde_json::from_slice(&unb64(segment)).expect("JSON")
}

/// The JOSE header of `token`, unverified.
pub fn header_of(token: &str) -> Map<String, Value> {
    decode_unverified(token)
        .expect("a JWS with JSON header and payload")
        .header
}

/// `token` with the same header and signature over a payload changed by `edit`: a forgery
/// that must not verify.
pub fn with_payload(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = b64_json(parts[1]);
    edit(&mut claims);
    let payload = b64(serde_json::to_vec(&claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// A path below the repository root: the library's package folder, also for the
/// workspace members (`frameworks/`) whose tests include this file with `#[path]`.
pub fn repo_path(relative: &str) -> PathBuf {
    let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .find(|dir| dir.join("tests/support/mod.rs").is_file())
        .unwrap_or(manifest_dir)
        .join(relative)
}

/// A path below `fixtures/`, e.g. `fixture_path("keys/ed25519-a.jwk.json")`.
pub fn fixture_path(relative: &str) -> PathBuf {
    repo_path("fixtures").join(relative)
}

/// The bytes of a file below `fixtures/`; panics naming the path.
pub fn fixture_bytes(relative: &str) -> Vec<u8> {
    let path = fixture_path(relative);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The text of a file below `fixtures/`; panics naming the path.
pub fn fixture_text(relative: &str) -> String {
    let path = fixture_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A JSON file below `fixtures/`, parsed; panics naming the path.
pub fn fixture_json(relative: &str) -> Value {
    serde_json::from_str(&fixture_text(relative))
        .unwrap_or_else(|err| panic!("fixtures/{relative}: {err}"))
}

/// A token valid for four hours from `clock`'s time, for `sub`.
pub fn long_token(
    mock: &jwks_auth::testing::MockProvider,
    clock: &ManualClock,
    sub: &str,
) -> String {
    mock.token()
        .at(clock.now_secs())
        .expires_in(4 * 3600)
        .sub(sub)
        .sign()
}

/// Provider down and cached keys older than TTL + an hour of `max_stale`: a full
/// verification is then impossible, so only a verified-token cache hit can succeed.
pub fn break_key_path(mock: &jwks_auth::testing::MockProvider, clock: &ManualClock) {
    mock.fail_next(10_000, 500);
    clock.advance(std::time::Duration::from_secs(2 * 3600));
}
