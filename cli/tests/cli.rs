//! The `jwks-auth` command line, end to end: every subcommand, and the exit-code contract
//! (0 accepted, 1 rejected with `error: <kind>: <detail>` on stderr, 2 usage/configuration).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command;
use jwks_auth::testing::{TestKeys, TEST_SECRET};
use jwks_auth::{Algorithm, Provider};
use predicates::prelude::*;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jwks-auth");

fn jwks_auth() -> Command {
    Command::new(BIN)
}

/// A file under the target's scratch directory, named after the test that writes it.
fn scratch_file(name: &str, contents: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    std::fs::write(&path, contents).expect("write scratch file");
    path
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/keys")
        .join(name)
}

/// A JWK set file with one fixture key per family (EdDSA, ES256/384/512, RS256).
fn test_jwks_file(name: &str) -> PathBuf {
    scratch_file(name, &TestKeys::new().jwks_json())
}

fn stdout_json(output: &std::process::Output) -> Value {
    let text = String::from_utf8(output.stdout.clone()).expect("utf-8 stdout");
    assert_eq!(text.lines().count(), 1, "exactly one line: {text}");
    serde_json::from_str(&text).expect("stdout is JSON")
}

/// `stderr` after the one warning line a bare key source (`--jwks-file` without `--issuer`
/// or `--audience`, ...) prints first, if there is one.
fn after_bare_warning(stderr: &str) -> &str {
    match stderr.split_once('\n') {
        Some((first, rest)) if first.starts_with("warning: --") && first.ends_with(" accepted") => {
            rest
        }
        _ => stderr,
    }
}

/// Stderr, after any bare-source warning, starts with `prefix`.
fn error_starts_with(prefix: &'static str) -> impl predicates::Predicate<str> {
    predicate::function(move |stderr: &str| after_bare_warning(stderr).starts_with(prefix))
}

/// Asserts the rejection contract: exit 1, empty stdout, one `error: kind: detail` line
/// (after the bare-source warning, if any).
fn assert_rejected(mut cmd: Command, kind: &str, detail: &str) {
    let output = cmd.output().expect("run jwks-auth");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        after_bare_warning(&stderr),
        format!("error: {kind}: {detail}\n")
    );
}

/// Exit 1 or 2 with a one-line `error:` message; never a panic or another code.
fn assert_fails_cleanly(mut cmd: Command) {
    let output = cmd.output().expect("run jwks-auth");
    let code = output.status.code();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        matches!(code, Some(1 | 2)),
        "exit {code:?}, stderr: {stderr}"
    );
    let stderr = after_bare_warning(&stderr);
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(output.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------
// verify: accept

#[test]
fn verify_accepts_a_valid_token_and_prints_user_header_and_claims() {
    let jwks = test_jwks_file("accept.json");
    let token = TestKeys::new()
        .token(Algorithm::ES256)
        .sub("user_1")
        .email("a@example.com")
        .sign();
    let output = jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .arg(&token)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "warning: --jwks-file without --issuer or --audience: any issuer and any audience are accepted\n"
    );
    let json = stdout_json(&output);
    let object = json.as_object().unwrap();
    let members: Vec<_> = object.keys().map(String::as_str).collect();
    assert_eq!(members.len(), 3, "{json}");
    assert_eq!(json["user_id"], "user_1");
    assert_eq!(json["header"]["alg"], "ES256");
    assert_eq!(json["header"]["kid"], "ec-p256-a");
    assert_eq!(json["claims"]["email"], "a@example.com");
    assert!(json["claims"]["exp"].is_i64());
    // The documented member order, for people reading it.
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("{\"user_id\":\"user_1\",\"header\":{"),
        "{text}"
    );
}

#[test]
fn verify_reads_the_token_from_stdin_with_dash() {
    let jwks = test_jwks_file("stdin.json");
    let token = TestKeys::new().token(Algorithm::EdDSA).sub("user_2").sign();
    let output = jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .arg("-")
        .write_stdin(format!("  {token}\n"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout_json(&output)["user_id"], "user_2");
}

#[test]
fn verify_with_a_pem_file() {
    // A PEM key has no kid, and the library matches a token's kid only against key ids.
    let token = TestKeys::new()
        .token(Algorithm::ES256)
        .sub("pem_user")
        .no_kid()
        .sign();
    let output = jwks_auth()
        .args(["verify", "--pem-file"])
        .arg(fixture("ec-p256-a.pub.pem"))
        .arg(&token)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout_json(&output)["user_id"], "pem_user");

    let mut other_key = jwks_auth();
    other_key
        .args(["verify", "--pem-file"])
        .arg(fixture("ec-p256-b.pub.pem"))
        .arg(&token);
    assert_rejected(other_key, "invalid-signature", "invalid signature");
}

#[test]
fn verify_with_a_shared_secret_from_the_environment() {
    let keys = TestKeys::new();
    let token = keys.token(Algorithm::HS256).sub("hs_user").no_kid().sign();
    let output = jwks_auth()
        .env("JWKS_AUTH_TEST_SECRET", TEST_SECRET.trim())
        .args(["verify", "--secret-env", "JWKS_AUTH_TEST_SECRET", &token])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout_json(&output)["user_id"], "hs_user");

    // HS384 only when asked for.
    let token = keys.token(Algorithm::HS384).no_kid().sign();
    let mut default_hs256 = jwks_auth();
    default_hs256
        .env("JWKS_AUTH_TEST_SECRET", TEST_SECRET.trim())
        .args(["verify", "--secret-env", "JWKS_AUTH_TEST_SECRET", &token]);
    default_hs256
        .assert()
        .code(1)
        .stderr(error_starts_with("error: unsupported-algorithm: "));
    jwks_auth()
        .env("JWKS_AUTH_TEST_SECRET", TEST_SECRET.trim())
        .args(["verify", "--secret-env", "JWKS_AUTH_TEST_SECRET"])
        .args(["--alg", "HS384", &token])
        .assert()
        .code(0);
}

#[test]
fn at_makes_an_expired_token_valid_at_that_time() {
    let jwks = test_jwks_file("at.json");
    let issued = 1_600_000_000;
    let token = TestKeys::new()
        .token(Algorithm::RS256)
        .at(issued)
        .expires_in(300)
        .sign();
    let mut now = jwks_auth();
    now.args(["verify", "--jwks-file"]).arg(&jwks).arg(&token);
    assert_rejected(now, "expired", "token expired");

    let output = jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--at", &(issued + 100).to_string(), &token])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout_json(&output)["claims"]["iat"], issued);
}

#[test]
fn leeway_and_user_id_claim_are_applied() {
    let jwks = test_jwks_file("leeway.json");
    let token = TestKeys::new()
        .token(Algorithm::EdDSA)
        .claim("uid", "custom_id")
        .at(1_600_000_000)
        .expires_in(0)
        .sign();
    let at = "1600000100";
    let mut strict = jwks_auth();
    strict
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--at", at, "--leeway", "10", &token]);
    assert_rejected(strict, "expired", "token expired");
    let output = jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args([
            "--at",
            at,
            "--leeway",
            "200",
            "--user-id-claim",
            "uid",
            &token,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout_json(&output)["user_id"], "custom_id");
}

// ---------------------------------------------------------------------------------------
// verify: reject

#[test]
fn rejections_name_the_kind_and_the_error() {
    let jwks = test_jwks_file("reject.json");
    let keys = TestKeys::new();
    let es256 = || keys.token(Algorithm::ES256);
    let cases: Vec<(&str, String, Vec<&str>, &str)> = vec![
        ("expired", es256().expired().sign(), vec![], "token expired"),
        (
            "invalid-signature",
            es256().sign_with_wrong_key(),
            vec![],
            "invalid signature",
        ),
        (
            "unknown-key",
            es256().kid("no-such-kid").sign(),
            vec![],
            "unknown signing key",
        ),
        (
            "invalid-audience",
            es256().audience("someone-else").sign(),
            vec!["--audience", "my-api"],
            "invalid audience",
        ),
        (
            "invalid-issuer",
            es256().issuer("https://evil.example").sign(),
            vec!["--issuer", "https://idp.example"],
            "invalid issuer",
        ),
        (
            "not-yet-valid",
            es256().not_before_in(3600).sign(),
            vec![],
            "token not valid yet",
        ),
        (
            "missing-claim",
            es256().sign(),
            vec!["--user-id-claim", "uid"],
            "missing claim `uid`",
        ),
    ];
    for (kind, token, extra, message) in cases {
        let mut cmd = jwks_auth();
        cmd.args(["verify", "--jwks-file"])
            .arg(&jwks)
            .args(extra)
            .arg(&token);
        assert_rejected(cmd, kind, message);
    }
}

#[test]
fn audience_and_issuer_are_checked_only_when_given_for_bare_keys() {
    let jwks = test_jwks_file("aud-optional.json");
    let token = TestKeys::new()
        .token(Algorithm::ES256)
        .audience("my-api")
        .issuer("https://idp.example")
        .sign();
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .arg(&token)
        .assert()
        .code(0);
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--audience", "other", "--audience", "my-api"])
        .args(["--issuer", "https://idp.example", &token])
        .assert()
        .code(0);
}

#[test]
fn malformed_tokens_are_rejected_with_exit_1() {
    let jwks = test_jwks_file("malformed.json");
    let mut cmd = jwks_auth();
    cmd.args(["verify", "--jwks-file"])
        .arg(&jwks)
        .arg("not-a-token");
    cmd.assert()
        .code(1)
        .stdout("")
        .stderr(error_starts_with("error: malformed: malformed token: "));
}

#[test]
fn alg_restricts_the_allowed_algorithms() {
    let jwks = test_jwks_file("alg.json");
    let token = TestKeys::new().token(Algorithm::ES256).sign();
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--alg", "ES256", &token])
        .assert()
        .code(0);
    let output = jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--alg", "RS256", "--alg", "EdDSA", &token])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        after_bare_warning(&stderr)
            .starts_with("error: unsupported-algorithm: unsupported algorithm: "),
        "{stderr}"
    );
    // An HMAC algorithm never fits a public key: a configuration error.
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--alg", "HS256", &token])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with("error: config: "));
    // Not an algorithm at all: a usage error.
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--alg", "none", &token])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown algorithm"));
}

// ---------------------------------------------------------------------------------------
// verify: usage and configuration errors exit 2

#[test]
fn missing_secret_env_var_is_a_config_error() {
    jwks_auth()
        .env_remove("JWKS_AUTH_NO_SUCH_VAR")
        .args(["verify", "--secret-env", "JWKS_AUTH_NO_SUCH_VAR", "a.b.c"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with("error: config: "))
        .stderr(predicate::str::contains("JWKS_AUTH_NO_SUCH_VAR"));
    // Present but too short for HS256.
    jwks_auth()
        .env("JWKS_AUTH_SHORT_SECRET", "short")
        .args(["verify", "--secret-env", "JWKS_AUTH_SHORT_SECRET", "a.b.c"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: config: "));
}

#[test]
fn secret_env_errors_never_print_the_value() {
    use std::os::unix::ffi::OsStrExt;
    let marker = "do-not-print-this-secret";
    let not_utf8 = std::ffi::OsStr::from_bytes(b"\xff\xfedo-not-print-this-secret-0123456789");
    let output = jwks_auth()
        .env("JWKS_AUTH_NOT_UTF8_SECRET", not_utf8)
        .args([
            "verify",
            "--secret-env",
            "JWKS_AUTH_NOT_UTF8_SECRET",
            "a.b.c",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: config: "), "{stderr}");
    assert!(stderr.contains("JWKS_AUTH_NOT_UTF8_SECRET"), "{stderr}");
    assert!(stderr.contains("not valid UTF-8"), "{stderr}");
    assert!(!stderr.contains(marker), "the value was printed: {stderr}");
    assert!(
        !stderr.contains("\\xFF") && !stderr.contains('\u{fffd}'),
        "{stderr}"
    );
    // Too short: refused without the value either.
    let output = jwks_auth()
        .env("JWKS_AUTH_SHORT_SECRET", marker)
        .args(["verify", "--secret-env", "JWKS_AUTH_SHORT_SECRET", "a.b.c"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains(marker), "the value was printed: {stderr}");
}

/// The warning a bare key source prints when `flags` leave checks off.
fn bare_warning(source: &str, missing: &str, accepted: &str) -> String {
    format!("warning: {source} without {missing}: {accepted}\n")
}

#[test]
fn bare_key_sources_warn_once_about_the_checks_they_leave_off() {
    let jwks = test_jwks_file("bare-warning.json");
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .audience("my-api")
        .issuer("https://idp.example")
        .sign();
    let both = "any issuer and any audience are accepted";
    // Exit codes unchanged: accepted is still 0, with one warning line on stderr.
    let output = jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .arg(&token)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        bare_warning("--jwks-file", "--issuer or --audience", both)
    );
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--issuer", "https://idp.example", &token])
        .assert()
        .code(0)
        .stderr(bare_warning(
            "--jwks-file",
            "--audience",
            "any audience is accepted",
        ));
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--audience", "my-api", &token])
        .assert()
        .code(0)
        .stderr(bare_warning(
            "--jwks-file",
            "--issuer",
            "any issuer is accepted",
        ));
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args([
            "--audience",
            "my-api",
            "--issuer",
            "https://idp.example",
            &token,
        ])
        .assert()
        .code(0)
        .stderr("");

    // Every bare source, and a rejection still exits 1 with its one error line after it.
    let pem_token = keys.token(Algorithm::ES256).no_kid().sign_with_wrong_key();
    let closed_port = free_port();
    let jwks_url = format!("http://127.0.0.1:{closed_port}/keys");
    let sources: [(&str, std::ffi::OsString, &str); 3] = [
        (
            "--pem-file",
            fixture("ec-p256-a.pub.pem").into(),
            "invalid-signature",
        ),
        ("--jwks-url", jwks_url.into(), "keys-unavailable"),
        (
            "--secret-env",
            "JWKS_AUTH_BARE_SECRET".into(),
            "unsupported-algorithm",
        ),
    ];
    for (flag, value, kind) in sources {
        let output = jwks_auth()
            .env("JWKS_AUTH_BARE_SECRET", TEST_SECRET.trim())
            .args(["verify", flag])
            .arg(value)
            .arg(&pem_token)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{flag}: {output:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let lines: Vec<_> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{flag}: {stderr}");
        assert_eq!(
            format!("{}\n", lines[0]),
            bare_warning(flag, "--issuer or --audience", both)
        );
        assert!(
            lines[1].starts_with(&format!("error: {kind}: ")),
            "{flag}: {stderr}"
        );
    }
}

#[test]
fn presets_and_configuration_errors_print_no_bare_source_warning() {
    let jwks = test_jwks_file("bare-config-error.json");
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--alg", "HS256", "a.b.c"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: config: "))
        .stderr(predicate::str::contains("warning").not());
    let closed_port = free_port();
    jwks_auth()
        .args(["verify", "--provider", "better-auth"])
        .args([
            "--base-url",
            &format!("http://127.0.0.1:{closed_port}"),
            "a.b.c",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("warning").not());
}

#[test]
fn plain_http_off_loopback_is_refused_naming_the_flag() {
    jwks_auth()
        .args([
            "verify",
            "--jwks-url",
            "http://idp.example.com/keys",
            "a.b.c",
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with("error: config: "))
        .stderr(predicate::str::contains("--allow-http"));
    jwks_auth()
        .args(["verify", "--provider", "better-auth"])
        .args(["--base-url", "http://auth.example.com", "a.b.c"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allow-http"));
    jwks_auth()
        .args(["jwks", "http://idp.example.com/keys"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allow-http"));
}

#[test]
fn unknown_provider_is_a_usage_error_listing_the_presets() {
    jwks_auth()
        .args([
            "verify",
            "--provider",
            "no-such-idp",
            "--domain",
            "x.example",
        ])
        .arg("a.b.c")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("better-auth"));
}

#[test]
fn usage_errors_exit_2() {
    // No key source.
    jwks_auth()
        .args(["verify", "a.b.c"])
        .assert()
        .code(2)
        .stdout("");
    // Two key sources.
    jwks_auth()
        .args(["verify", "--jwks-file", "a", "--pem-file", "b", "a.b.c"])
        .assert()
        .code(2);
    // No token.
    jwks_auth()
        .args(["verify", "--jwks-file", "a"])
        .assert()
        .code(2);
    // --base-url without a preset.
    let jwks = test_jwks_file("usage.json");
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--base-url", "https://x.example", "a.b.c"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--base-url"));
    jwks_auth().assert().code(2);
    jwks_auth().arg("frobnicate").assert().code(2);
}

#[test]
fn unreadable_and_invalid_key_files_are_config_errors() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-does-not-exist.json");
    for flag in ["--jwks-file", "--pem-file", "--provider-file"] {
        jwks_auth()
            .args(["verify", flag])
            .arg(&missing)
            .arg("a.b.c")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::starts_with("error: config: "))
            .stderr(predicate::str::contains(flag));
    }
    let not_a_set = scratch_file("not-a-set.json", "{\"hello\": 1}");
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&not_a_set)
        .arg("a.b.c")
        .assert()
        .code(2);
    let bad_preset = scratch_file(
        "bad-preset.toml",
        "name = \"x\"\njwks_url = \"https://x\"\naudience = \"sometimes\"\nalgorithms = [\"RS256\"]\n",
    );
    jwks_auth()
        .args(["verify", "--provider-file"])
        .arg(&bad_preset)
        .arg("a.b.c")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad-preset.toml"));
}

#[test]
fn preset_placeholders_without_a_value_name_the_flag() {
    jwks_auth()
        .args([
            "verify",
            "--provider",
            "auth0",
            "--domain",
            "tenant.auth0.com",
        ])
        .arg("a.b.c")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--audience"));
}

#[test]
fn every_builtin_preset_name_is_accepted() {
    // A closed loopback port: the verifier is built and the token rejected, nothing leaves
    // the machine.
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let token = TestKeys::new().token(Algorithm::RS256).sign();
    for name in Provider::builtin_names() {
        let mut cmd = jwks_auth();
        cmd.args(["verify", "--provider", name])
            .args(["--base-url", &format!("http://127.0.0.1:{closed_port}")])
            .args(["--audience", "my-api"]);
        for param in Provider::preset_info(name).unwrap().params {
            if param.name != "origin" && param.name != "audience" {
                cmd.args(["--param", &format!("{}=x", param.name)]);
            }
        }
        let output = cmd.arg(&token).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
    }
}

// ---------------------------------------------------------------------------------------
// Hostile input never crashes

#[test]
fn random_empty_and_huge_tokens_fail_cleanly() {
    let jwks = test_jwks_file("fuzz.json");
    let verify = || {
        let mut cmd = jwks_auth();
        cmd.args(["verify", "--jwks-file"]).arg(&jwks);
        cmd
    };
    // A fixed pseudo-random sequence: reproducible failures.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next_byte = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 24) as u8
    };
    for length in [1, 7, 64, 700] {
        let bytes: Vec<u8> = (0..length).map(|_| next_byte()).collect();
        let mut cmd = verify();
        cmd.arg("-").write_stdin(bytes.clone());
        assert_fails_cleanly(cmd);
        let printable: String = bytes.iter().map(|b| char::from(b'!' + b % 90)).collect();
        let mut cmd = verify();
        cmd.arg(&printable);
        assert_fails_cleanly(cmd);
        let dotted = format!("{printable}.{printable}.{printable}");
        let mut cmd = verify();
        cmd.arg(&dotted);
        assert_fails_cleanly(cmd);
    }
    let mut cmd = verify();
    cmd.arg("");
    assert_fails_cleanly(cmd);
    let mut cmd = verify();
    cmd.arg("-").write_stdin("");
    assert_fails_cleanly(cmd);
    // 1 MB through stdin (a single argv string is capped at 128 KiB by the kernel) and
    // 100 kB as an argument.
    let huge = format!("{}.{}.{}", "e".repeat(500_000), "f".repeat(500_000), "g");
    let mut cmd = verify();
    cmd.arg("-").write_stdin(huge.clone());
    cmd.assert()
        .code(1)
        .stderr(error_starts_with("error: malformed: "));
    let mut cmd = verify();
    cmd.arg(&huge[..100_000]);
    assert_fails_cleanly(cmd);
    let mut cmd = jwks_auth();
    cmd.args(["inspect", "-"]).write_stdin(huge);
    cmd.assert()
        .code(1)
        .stderr(predicate::str::starts_with("error: malformed: "));
}

#[test]
fn extreme_times_and_leeways_never_crash() {
    let jwks = test_jwks_file("extremes.json");
    let keys = TestKeys::new();
    let tokens = [
        keys.token(Algorithm::ES256)
            .claim("exp", i64::MAX)
            .claim("nbf", i64::MIN)
            .claim("iat", i64::MIN)
            .sign(),
        keys.token(Algorithm::ES256)
            .claim("exp", i64::MIN)
            .claim("iat", 1e300)
            .sign(),
    ];
    let flag_sets: [&[&str]; 4] = [
        &["--at", "18446744073709551615"],
        &["--leeway", "18446744073709551615"],
        &["--at", "0", "--leeway", "18446744073709551615"],
        &[
            "--at",
            "18446744073709551615",
            "--leeway",
            "18446744073709551615",
        ],
    ];
    for token in &tokens {
        for flags in flag_sets {
            let output = jwks_auth()
                .args(["verify", "--jwks-file"])
                .arg(&jwks)
                .args(flags)
                .arg(token)
                .output()
                .unwrap();
            let code = output.status.code();
            assert!(matches!(code, Some(0 | 1)), "{flags:?}: {output:?}");
        }
        jwks_auth().args(["inspect", token]).assert().code(0);
    }
}

// ---------------------------------------------------------------------------------------
// inspect

#[test]
fn inspect_decodes_without_verifying_and_shows_dates() {
    // Signed by a key nobody trusts: inspect does not care, and says so.
    let token = TestKeys::new()
        .token(Algorithm::ES256)
        .sub("someone")
        .expires_in(250)
        .sign_with_wrong_key();
    let output = jwks_auth().args(["inspect", &token]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("UNVERIFIED: signature and claims NOT checked"),
        "{text}"
    );
    assert!(text.contains("\"alg\": \"ES256\""), "{text}");
    assert!(text.contains("\"sub\": \"someone\""), "{text}");
    let exp_line = text.lines().find(|l| l.starts_with("exp: ")).unwrap();
    assert!(exp_line.contains("Z (expires in 4m "), "{exp_line}");
    assert!(text.lines().any(|l| l.starts_with("iat: ")), "{text}");
}

#[test]
fn inspect_reads_stdin_and_reports_expiry() {
    let token = TestKeys::new()
        .token(Algorithm::EdDSA)
        .at(1_000_000_000)
        .expires_in(60)
        .sign();
    jwks_auth()
        .args(["inspect", "-"])
        .write_stdin(format!("{token}\n"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "exp: 2001-09-09T01:47:40Z (expired ",
        ))
        .stdout(predicate::str::contains(
            "iat: 2001-09-09T01:46:40Z (issued ",
        ));
}

#[test]
fn inspect_rejects_malformed_input() {
    for input in ["", "abc", "a.b.c", "e30.e30", "e30.W10.sig"] {
        jwks_auth()
            .args(["inspect", input])
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::starts_with("error: malformed: "));
    }
}

// ---------------------------------------------------------------------------------------
// jwks

#[test]
fn jwks_summarises_a_file_with_warnings() {
    let mut keys: Vec<Value> = serde_json::from_str::<Value>(&TestKeys::new().jwks_json()).unwrap()
        ["keys"]
        .as_array()
        .unwrap()
        .clone();
    let weak: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("rsa-1024-weak.jwk.json")).unwrap())
            .unwrap();
    keys.push(weak);
    let mut enc = keys[1].clone();
    enc["use"] = "enc".into();
    keys.push(enc);
    let path = scratch_file(
        "summary.json",
        &serde_json::json!({ "keys": keys }).to_string(),
    );
    let output = jwks_auth().arg("jwks").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with(&format!("JWK set: {} keys\n", keys.len())),
        "{text}"
    );
    for kid in [
        "ed25519-a",
        "ec-p256-a",
        "ec-p384-a",
        "ec-p521-a",
        "rsa-2048-a",
    ] {
        assert!(text.contains(&format!("kid {kid} ")), "{kid}: {text}");
    }
    assert!(
        text.contains("kty RSA") && text.contains("bits 2048"),
        "{text}"
    );
    assert!(text.contains("crv P-256"), "{text}");
    let warnings: Vec<_> = text
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    let has = |needle: &str| warnings.iter().any(|w| w.contains(needle));
    assert!(has("rsa-1024-weak") && has("1024 bits"), "{warnings:?}");
    assert!(has("`use` is \"enc\""), "{warnings:?}");
    assert!(has("appears 2 times"), "{warnings:?}");
    assert!(has("no alg"), "{warnings:?}");
}

/// A loopback HTTP/1.1 server: answers each request with `respond(path)` (status line,
/// headers and body, without `Connection`), and records each request head.
struct RawServer {
    port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl RawServer {
    fn start(respond: impl Fn(&str) -> String + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                seen.lock().unwrap().push(head);
                let response = respond(&path);
                let (status_and_headers, body) = response.split_once("\r\n\r\n").unwrap();
                let _ = write!(
                    stream,
                    "{status_and_headers}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        RawServer { port, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn json_200(body: &str) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{body}")
}

#[test]
fn jwks_fetches_with_the_library_user_agent() {
    let jwks = TestKeys::new().jwks_json();
    let server = RawServer::start(move |_| json_200(&jwks));
    jwks_auth()
        .args(["jwks", &server.url("/keys")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("kid ec-p256-a"));
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let head = requests[0].to_ascii_lowercase();
    assert!(head.contains("\r\nuser-agent: jwks-auth/"), "{head}");
}

#[test]
fn jwks_refuses_a_redirect_to_another_port() {
    let jwks = TestKeys::new().jwks_json();
    let elsewhere = RawServer::start(move |_| json_200(&jwks));
    let target = elsewhere.url("/keys");
    let server =
        RawServer::start(move |_| format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\n\r\n"));
    jwks_auth()
        .args(["jwks", &server.url("/keys")])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with("error: keys-unavailable: "));
    assert!(
        elsewhere.requests().is_empty(),
        "followed a cross-origin redirect"
    );
}

#[test]
fn jwks_follows_a_redirect_within_the_same_origin() {
    let jwks = TestKeys::new().jwks_json();
    let server = RawServer::start(move |path| match path {
        "/keys" => "HTTP/1.1 302 Found\r\nLocation: /moved\r\n\r\n".to_owned(),
        _ => json_200(&jwks),
    });
    jwks_auth()
        .args(["jwks", &server.url("/keys")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("kid ec-p256-a"));
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn jwks_escapes_control_characters_of_remote_strings() {
    let mut key: Value = serde_json::from_str(&TestKeys::new().jwks_json()).unwrap();
    key["keys"][0]["kid"] = "evil\u{1b}]0;owned\u{7}\u{1b}[2J\r\nwarning: fake".into();
    key["keys"][0]["alg"] = "\u{202e}652SE".into();
    let body = key.to_string();
    let server = RawServer::start(move |_| json_200(&body));
    let output = jwks_auth()
        .args(["jwks", &server.url("/keys")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        !stdout.contains(['\u{1b}', '\u{7}', '\r', '\u{202e}']),
        "{stdout:?}"
    );
    assert!(stdout.contains("kid evil\\u{1b}]0;owned\\u{7}"), "{stdout}");
    assert!(!stdout.lines().any(|l| l == "warning: fake"), "{stdout}");
    // A server's error page is never printed; a status is.
    let server = RawServer::start(|_| "HTTP/1.1 500 \u{1b}[31mOops\r\n\r\n\u{1b}[2J".to_owned());
    let output = jwks_auth()
        .args(["jwks", &server.url("/keys")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(stderr.starts_with("error: keys-unavailable: "), "{stderr}");
}

#[test]
fn jwks_refuses_what_is_not_a_set() {
    let single = fixture("ec-p256-a.jwk.json");
    jwks_auth()
        .arg("jwks")
        .arg(&single)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "error: malformed: not a JWK set",
        ));
    let garbage = scratch_file("garbage.json", "\u{0}\u{1}not json");
    jwks_auth().arg("jwks").arg(&garbage).assert().code(1);
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-missing-jwks.json");
    jwks_auth().arg("jwks").arg(&missing).assert().code(2);
}

// ---------------------------------------------------------------------------------------
// providers

#[test]
fn providers_lists_every_builtin_preset() {
    let output = jwks_auth().arg("providers").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    for name in Provider::builtin_names() {
        assert!(
            text.lines().any(|line| line == name),
            "{name} missing: {text}"
        );
        let jwks_url = Provider::preset_info(name).unwrap().jwks_url.unwrap();
        assert!(text.contains(&jwks_url), "{name}: {jwks_url}");
    }
    assert!(
        text.contains("--provider auth0 --base-url URL --audience A <TOKEN>"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// mock, end to end

/// A running `jwks-auth mock`, killed when dropped.
struct MockProcess {
    child: Child,
    banner: Vec<String>,
}

impl MockProcess {
    fn start(args: &[&str]) -> Self {
        let mut child = std::process::Command::new(BIN)
            .arg("mock")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn jwks-auth mock");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut mock = MockProcess {
            child,
            banner: Vec::new(),
        };
        // A hang guard, not a timing assertion: the banner is printed once the server listens.
        while !mock.banner.iter().any(|l| l.contains("jwks-auth verify ")) {
            match lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => mock.banner.push(line),
                Err(e) => panic!("mock printed no banner ({e}): {:?}", mock.banner),
            }
        }
        mock
    }

    fn field(&self, label: &str) -> String {
        self.banner
            .iter()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no `{label}` in {:?}", self.banner))
            .trim()
            .to_owned()
    }

    /// The printed verify command, as arguments (without the program name).
    fn verify_command(&self, token: &str) -> Vec<String> {
        let line = self
            .banner
            .iter()
            .find(|l| l.trim_start().starts_with("jwks-auth verify "))
            .unwrap();
        line.split_whitespace()
            .skip(1)
            .map(|word| {
                if word == "<TOKEN>" {
                    token.to_owned()
                } else {
                    word.to_owned()
                }
            })
            .collect()
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `POST {base}/token` with a JSON body, over a plain socket; returns the token.
fn mint_token(base: &str, body: &str) -> String {
    let authority = base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "POST /token HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (_, json) = response.split_once("\r\n\r\n").unwrap();
    let json: Value = serde_json::from_str(json.trim()).unwrap();
    json["token"].as_str().unwrap().to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn mock_then_post_token_then_verify() {
    let port = free_port();
    let mock = MockProcess::start(&["--port", &port.to_string()]);
    let base = mock.field("base URL:");
    assert_eq!(base, format!("http://127.0.0.1:{port}"));
    let token = mint_token(&base, r#"{"sub":"user_1","email":"u1@example.com"}"#);

    let output = jwks_auth()
        .args([
            "verify",
            "--provider",
            "better-auth",
            "--base-url",
            &base,
            &token,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json = stdout_json(&output);
    assert_eq!(json["user_id"], "user_1");
    assert_eq!(json["header"]["alg"], "EdDSA");
    assert_eq!(json["claims"]["email"], "u1@example.com");
    assert_eq!(json["claims"]["iss"], base.as_str());

    // The same keys through a bare JWKS URL (loopback http needs no flag).
    let jwks_url = mock.field("JWKS URL:");
    jwks_auth()
        .args(["verify", "--jwks-url", &jwks_url, &token])
        .assert()
        .code(0);
    // Wrong issuer for this mock.
    let mut wrong = jwks_auth();
    wrong.args(["verify", "--jwks-url", &jwks_url]).args([
        "--issuer",
        "https://elsewhere.example",
        &token,
    ]);
    assert_rejected(wrong, "invalid-issuer", "invalid issuer");
    // And the jwks subcommand over HTTP.
    jwks_auth()
        .args(["jwks", &jwks_url])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("kid ed25519-a"));
}

#[test]
fn the_printed_verify_command_works_for_auth0() {
    let mock = MockProcess::start(&["--preset", "auth0"]);
    let base = mock.field("base URL:");
    let token = mint_token(&base, r#"{"sub":"auth0|42"}"#);
    let args = mock.verify_command(&token);
    assert!(args.contains(&"--audience".to_owned()), "{args:?}");
    let output = jwks_auth().args(&args).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json = stdout_json(&output);
    assert_eq!(json["user_id"], "auth0|42");
    assert_eq!(json["header"]["alg"], "RS256");

    // The mock does not sign for another audience.
    let mut other = jwks_auth();
    other
        .args(["verify", "--provider", "auth0", "--base-url", &base])
        .args(["--audience", "https://other.example", &token]);
    assert_rejected(other, "invalid-audience", "invalid audience");
}

#[test]
fn mock_configuration_errors_exit_2() {
    jwks_auth()
        .args(["mock", "--preset", "clerk", "--alg", "EdDSA"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not allow EdDSA"));
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    jwks_auth()
        .args(["mock", "--port", &port.to_string()])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: config: cannot listen"));
    jwks_auth()
        .args(["mock", "--preset", "nope"])
        .assert()
        .code(2);
}

// ---------------------------------------------------------------------------------------
// token kinds

#[test]
fn typ_restricts_the_accepted_token_type() {
    let jwks = test_jwks_file("typ.json");
    let jwt = TestKeys::new().token(Algorithm::ES256).sign();
    let output = jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--typ", "at+jwt", &jwt])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        after_bare_warning(&stderr).starts_with("error: invalid-token-type: "),
        "{stderr}"
    );
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--typ", "at+jwt,JWT", &jwt])
        .assert()
        .code(0);
    jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--typ", "at+jwt", "--typ", "jwt", &jwt])
        .assert()
        .code(0);
}

#[test]
fn oidc_is_a_key_source_that_needs_an_audience() {
    let output = jwks_auth()
        .args(["verify", "--oidc", "https://as.example.com", "a.b.c"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("requires an audience"), "{stderr}");
}

#[test]
fn inspect_shows_the_token_kind() {
    let token = TestKeys::new()
        .token(Algorithm::ES256)
        .header("typ", "at+jwt")
        .claim("token_use", "access")
        .sign();
    let output = jwks_auth().args(["inspect", &token]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains(
            "kind: RFC 9068 access token (typ at+jwt); Cognito access token (token_use access)"
        ),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------------------
// verify --dpop-proof

#[test]
fn verify_with_a_dpop_proof_accepts_a_bound_token() {
    use jwks_auth::testing::{DpopProof, TestKey};
    let jwks = test_jwks_file("dpop.json");
    let client = TestKey::fixture(jwks_auth::KeyFamily::P256, 1).unwrap();
    let token = TestKeys::new()
        .token(Algorithm::ES256)
        .sub("user_1")
        .dpop_bound(&client)
        .sign();
    let url = "https://api.example.com/notes";
    let proof = DpopProof::new(&client)
        .method("GET")
        .url(url)
        .token(&token)
        .sign();
    let output = jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--dpop-proof", &proof, "--method", "GET", "--url", url])
        .arg(&token)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout_json(&output)["user_id"], "user_1");

    // Another method, the bound token without a proof: refused, the proof never printed.
    let mut cmd = jwks_auth();
    cmd.args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--dpop-proof", &proof, "--method", "POST", "--url", url])
        .arg(&token);
    assert_rejected(
        cmd,
        "invalid-dpop-proof",
        "invalid dpop proof: htm does not match the request method",
    );
    let mut cmd = jwks_auth();
    cmd.args(["verify", "--jwks-file"]).arg(&jwks).arg(&token);
    assert_rejected(
        cmd,
        "binding-mismatch",
        "token binding mismatch: token requires a dpop proof",
    );
}

#[test]
fn dpop_proof_needs_method_and_url() {
    let jwks = test_jwks_file("dpop-usage.json");
    let output = jwks_auth()
        .args(["verify", "--jwks-file"])
        .arg(&jwks)
        .args(["--dpop-proof", "a.b.c", "--method", "GET", "a.b.c"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

/// One HTTP answer on loopback: `body` as JSON to the first request; the request's head
/// and body come back on the channel.
fn answer_once(body: &'static str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (sent, received) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut form = vec![0; length];
        reader.read_exact(&mut form).unwrap();
        head.push_str(&String::from_utf8(form).unwrap());
        let _ = sent.send(head);
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    (url, received)
}

#[test]
fn verify_introspects_an_opaque_token_with_the_secret_from_the_environment() {
    let (url, request) =
        answer_once(r#"{"active":true,"sub":"svc-1","scope":"read","exp":4102444800}"#);
    let output = jwks_auth()
        .args(["verify", "--jwks-url", &format!("{url}/jwks")])
        .args(["--introspect", &format!("{url}/introspect")])
        .args([
            "--client-id",
            "api",
            "--client-secret-env",
            "INTROSPECTION_SECRET",
        ])
        .env("INTROSPECTION_SECRET", "s3cret")
        .arg("opaque-token-1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = stdout_json(&output);
    assert_eq!(printed["user_id"], "svc-1");
    assert_eq!(printed["header"], serde_json::json!({}));
    let request = request.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(request.starts_with("POST /introspect"), "{request}");
    assert!(
        request.contains("authorization: Basic YXBpOnMzY3JldA=="),
        "{request}"
    );
    assert!(request.ends_with("token=opaque-token-1"), "{request}");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("s3cret"));
}
