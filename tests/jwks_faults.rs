//! JWKS endpoint faults. For each fault: cold (nothing cached) the verifier answers
//! `KeysUnavailable` (503); warm (keys cached, TTL expired) it keeps verifying known kids from
//! the stale set, counts a stale serve and logs a warning.
//!
//! The tests run on the current-thread runtime so the thread-local tracing subscriber
//! installed by [`LogCapture`] sees the verifier's events.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jwks_auth::testing::{MockProvider, TestKey};
use jwks_auth::{
    Algorithm, CachePolicy, ErrorKind, FetchError, KeyFamily, ManualClock, Provider, Verifier,
};
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TTL: Duration = Duration::from_secs(60);
const FETCH_TIMEOUT: Duration = Duration::from_millis(300);
const SMALL_BODY_CAP: usize = 2048;

/// Collects formatted tracing output of the current thread.
#[derive(Clone, Default)]
struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl LogCapture {
    /// Starts capturing WARN and above on this thread until the guard drops.
    fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = LogCapture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_max_level(tracing::Level::WARN)
            .finish();
        (
            capture.clone(),
            tracing::subscriber::set_default(subscriber),
        )
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn has_warning(&self, needle: &str) -> bool {
        self.text()
            .lines()
            .any(|line| line.contains("WARN") && line.contains(needle))
    }
}

/// The public JWK of a fixture key, under `kid`.
fn jwk(family: KeyFamily, n: usize, kid: &str) -> Value {
    let mut jwk = TestKey::fixture(family, n).unwrap().public_jwk().unwrap();
    jwk["kid"] = kid.into();
    jwk
}

/// `count` copies of the mock's Ed25519 key (ed25519-a) under distinct kids.
fn many_ed25519_keys(count: usize) -> String {
    let keys: Vec<Value> = (0..count)
        .map(|i| jwk(KeyFamily::Ed25519, 0, &format!("bulk-{i}")))
        .collect();
    json!({ "keys": keys }).to_string()
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Status(u16),
    TooManyRequests,
    SlowerThanTimeout,
    BodyOverCap,
    MalformedJson,
    HtmlPage,
    NotAKeySet,
    EmptyKeySet,
    EncryptionKeysOnly,
    UnsupportedKeysOnly,
    RedirectToAnotherHost,
    TenThousandRsaKeys,
}

impl Fault {
    fn policy(self) -> CachePolicy {
        let policy = CachePolicy::default()
            .ttl(TTL)
            .min_ttl(TTL)
            .fetch_timeout(FETCH_TIMEOUT);
        match self {
            Fault::BodyOverCap => policy.max_body_bytes(SMALL_BODY_CAP),
            _ => policy,
        }
    }

    /// Arms the fault; returns a second server that must never be contacted, if any.
    async fn apply(self, mock: &MockProvider) -> Option<MockServer> {
        match self {
            Fault::Status(status) => mock.fail_next(1, status),
            Fault::TooManyRequests => {
                mock.retry_after(Some(120));
                mock.fail_next(1, 429);
            }
            Fault::SlowerThanTimeout => mock.delay(Some(FETCH_TIMEOUT * 4)),
            Fault::BodyOverCap => {
                let body = json!({
                    "keys": [jwk(KeyFamily::Ed25519, 0, &mock.current_kid())],
                    "padding": "x".repeat(SMALL_BODY_CAP * 2),
                });
                mock.serve_raw(Some(body.to_string()));
            }
            Fault::MalformedJson => mock.malformed_next(1),
            Fault::HtmlPage => mock.serve_raw(Some("<html>maintenance</html>".into())),
            Fault::NotAKeySet => mock.serve_raw(Some(r#"{"error":"oops","keys":null}"#.into())),
            Fault::EmptyKeySet => mock.serve_raw(Some(r#"{"keys":[]}"#.into())),
            Fault::EncryptionKeysOnly => {
                let mut key = jwk(KeyFamily::Ed25519, 0, &mock.current_kid());
                key["use"] = "enc".into();
                mock.serve_raw(Some(json!({ "keys": [key] }).to_string()));
            }
            Fault::UnsupportedKeysOnly => {
                let keys = json!({"keys": [
                    {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "kid": mock.current_kid()},
                    {"kty": "OKP", "crv": "X25519", "x": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "kid": "x"},
                    {"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA", "kid": "k"},
                ]});
                mock.serve_raw(Some(keys.to_string()));
            }
            Fault::RedirectToAnotherHost => {
                // An attacker-controlled server that would hand out the attacker's key under
                // the genuine kid. `localhost` is another host than the mock's `127.0.0.1`.
                let attacker = MockServer::start().await;
                let body = json!({"keys": [jwk(KeyFamily::Ed25519, 1, &mock.current_kid())]});
                Mock::given(any())
                    .respond_with(ResponseTemplate::new(200).set_body_json(body))
                    .mount(&attacker)
                    .await;
                let port = attacker.address().port();
                mock.redirect_to(Some(format!("http://localhost:{port}/jwks")));
                return Some(attacker);
            }
            Fault::TenThousandRsaKeys => {
                let keys: Vec<Value> = (0..10_000)
                    .map(|i| jwk(KeyFamily::Rsa, 0, &format!("rsa-{i}")))
                    .collect();
                let body = json!({ "keys": keys }).to_string();
                assert!(body.len() > CachePolicy::default().max_body_bytes);
                mock.serve_raw(Some(body));
            }
        }
        None
    }

    fn clear(self, mock: &MockProvider) {
        mock.delay(None);
        mock.serve_raw(None);
        mock.redirect_to(None);
        mock.retry_after(None);
    }
}

struct Setup {
    mock: MockProvider,
    verifier: Verifier,
    clock: ManualClock,
    token: String,
}

async fn setup(fault: Fault) -> Setup {
    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(mock.provider())
        .cache_policy(fault.policy())
        .clock(clock.clone())
        .build()
        .unwrap();
    let token = mock.token().at(clock.now_secs()).expires_in(3600).sign();
    Setup {
        mock,
        verifier,
        clock,
        token,
    }
}

async fn cold(fault: Fault) {
    let Setup {
        mock,
        verifier,
        token,
        ..
    } = setup(fault).await;
    let attacker = fault.apply(&mock).await;
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable, "{fault:?}: {err}");
    assert_eq!(err.status(), 503, "{fault:?}");
    let stats = verifier.key_stats();
    assert_eq!(stats.fetches, 1, "{fault:?}");
    assert_eq!(stats.fetch_failures, 1, "{fault:?}");
    assert_eq!(stats.keys, 0, "{fault:?}");
    assert_eq!(mock.jwks_requests(), 1, "{fault:?}");
    if let Fault::TooManyRequests = fault {
        match err.fetch_error().unwrap() {
            FetchError::Status {
                status,
                retry_after,
            } => {
                assert_eq!(*status, 429);
                assert_eq!(*retry_after, Some(120));
            }
            other => panic!("expected a status error, got {other:?}"),
        }
    }
    if let Some(attacker) = attacker {
        let contacted = attacker.received_requests().await.unwrap_or_default();
        assert!(contacted.is_empty(), "followed a redirect to another host");
    }
    // Within the cooldown a second request neither fetches nor succeeds.
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(
        mock.jwks_requests(),
        1,
        "{fault:?}: no retry within the cooldown"
    );
}

async fn warm(fault: Fault) {
    let (logs, _guard) = LogCapture::start();
    let Setup {
        mock,
        verifier,
        clock,
        token,
    } = setup(fault).await;
    verifier.warm_up().await.unwrap();
    verifier.verify(&token).await.unwrap();
    assert_eq!(mock.jwks_requests(), 1);

    let attacker = fault.apply(&mock).await;
    clock.advance(TTL + Duration::from_secs(1));
    let user = verifier
        .verify(&token)
        .await
        .expect("stale keys still verify");
    assert_eq!(user.id, "user_test");
    let stats = verifier.key_stats();
    assert_eq!(stats.stale_serves, 1, "{fault:?}");
    assert_eq!(stats.fetch_failures, 1, "{fault:?}");
    assert_eq!(mock.jwks_requests(), 2, "{fault:?}");
    assert!(
        logs.has_warning("serving stale keys"),
        "{fault:?}: no stale-serve warning in:\n{}",
        logs.text()
    );
    if let Some(attacker) = &attacker {
        let contacted = attacker.received_requests().await.unwrap_or_default();
        assert!(contacted.is_empty(), "followed a redirect to another host");
    }

    // Within the cooldown: stale again, without another fetch.
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.key_stats().stale_serves, 2, "{fault:?}");
    assert_eq!(mock.jwks_requests(), 2, "{fault:?}");

    // The provider recovers: after the cooldown the next request refreshes for real.
    fault.clear(&mock);
    clock.advance(fault.policy().refresh_cooldown);
    verifier.verify(&token).await.unwrap();
    let stats = verifier.key_stats();
    assert_eq!(mock.jwks_requests(), 3, "{fault:?}");
    assert_eq!(stats.stale_serves, 2, "{fault:?}");
    assert_eq!(stats.fetch_failures, 1, "{fault:?}");
}

macro_rules! fault_tests {
    ($($name:ident: $fault:expr;)*) => {
        mod cold {
            use super::*;
            $(#[tokio::test]
            async fn $name() {
                cold($fault).await;
            })*
        }
        mod warm {
            use super::*;
            $(#[tokio::test]
            async fn $name() {
                warm($fault).await;
            })*
        }
    };
}

fault_tests! {
    status_500: Fault::Status(500);
    status_502: Fault::Status(502);
    status_404: Fault::Status(404);
    status_429_with_retry_after: Fault::TooManyRequests;
    slower_than_the_fetch_timeout: Fault::SlowerThanTimeout;
    body_over_the_cap: Fault::BodyOverCap;
    malformed_json: Fault::MalformedJson;
    html_instead_of_json: Fault::HtmlPage;
    json_that_is_not_a_key_set: Fault::NotAKeySet;
    empty_key_set: Fault::EmptyKeySet;
    only_encryption_keys: Fault::EncryptionKeysOnly;
    only_unsupported_key_types: Fault::UnsupportedKeysOnly;
    redirect_to_another_host: Fault::RedirectToAnotherHost;
    ten_thousand_rsa_keys_exceed_the_body_cap: Fault::TenThousandRsaKeys;
}

#[test]
fn plain_http_jwks_url_on_a_remote_host_is_refused_at_build() {
    // Nothing is fetched, so there is no cold/warm distinction: the verifier never exists.
    let provider =
        Provider::preset("better-auth", &[("origin", "http://auth.example.com")]).unwrap();
    let err = Verifier::builder(provider.clone()).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(err.status(), 500);
    assert!(Verifier::builder(provider)
        .allow_insecure_http(true)
        .build()
        .is_ok());
    let https = Provider::preset("better-auth", &[("origin", "https://auth.example.com")]).unwrap();
    assert!(Verifier::builder(https).build().is_ok());
    for scheme in ["ftp", "file", "gopher"] {
        let provider = Provider::preset(
            "better-auth",
            &[("origin", &format!("{scheme}://auth.example.com"))],
        );
        if let Ok(provider) = provider {
            let err = Verifier::builder(provider)
                .allow_insecure_http(true)
                .build()
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{scheme}");
        }
    }
}

/// A set where the genuine key comes first and an attacker key reuses its kid.
fn duplicate_kid_set(kid: &str) -> String {
    json!({"keys": [jwk(KeyFamily::Ed25519, 0, kid), jwk(KeyFamily::Ed25519, 1, kid)]}).to_string()
}

fn attacker_token(mock: &MockProvider, clock: &ManualClock) -> String {
    mock.token()
        .key(TestKey::fixture(KeyFamily::Ed25519, 1).unwrap())
        .kid(&mock.current_kid())
        .at(clock.now_secs())
        .expires_in(3600)
        .sign()
}

#[tokio::test]
async fn duplicate_kids_keep_the_first_key_cold() {
    let (logs, _guard) = LogCapture::start();
    let Setup {
        mock,
        verifier,
        clock,
        token,
    } = setup(Fault::Status(500)).await;
    mock.serve_raw(Some(duplicate_kid_set(&mock.current_kid())));
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.key_stats().keys, 1);
    let err = verifier
        .verify(&attacker_token(&mock, &clock))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    assert!(logs.has_warning("duplicate kid"), "{}", logs.text());
}

#[tokio::test]
async fn duplicate_kids_keep_the_first_key_warm() {
    let (logs, _guard) = LogCapture::start();
    let Setup {
        mock,
        verifier,
        clock,
        token,
    } = setup(Fault::Status(500)).await;
    verifier.warm_up().await.unwrap();
    mock.serve_raw(Some(duplicate_kid_set(&mock.current_kid())));
    clock.advance(TTL + Duration::from_secs(1));
    verifier.verify(&token).await.unwrap();
    // The refresh succeeded (the set is usable), so nothing was served stale.
    let stats = verifier.key_stats();
    assert_eq!(stats.stale_serves, 0);
    assert_eq!(stats.fetches, 2);
    assert_eq!(stats.keys, 1);
    let err = verifier
        .verify(&attacker_token(&mock, &clock))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    assert!(logs.has_warning("duplicate kid"), "{}", logs.text());
}

/// 10,000 Ed25519 keys fit in the default 1 MiB cap and must work: lookups by kid are
/// hashed, and a kid-less token still tries only `max_kidless_candidates` keys.
#[tokio::test]
async fn ten_thousand_small_keys_within_the_cap_work_cold() {
    let Setup {
        mock,
        verifier,
        clock,
        ..
    } = setup(Fault::Status(500)).await;
    let body = many_ed25519_keys(10_000);
    assert!(body.len() < CachePolicy::default().max_body_bytes);
    mock.serve_raw(Some(body));
    let token = mock
        .token()
        .kid("bulk-9999")
        .at(clock.now_secs())
        .expires_in(3600)
        .sign();
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.key_stats().keys, 10_000);
    let forged = mock
        .token()
        .key(TestKey::fixture(KeyFamily::Ed25519, 1).unwrap())
        .kid("bulk-1")
        .at(clock.now_secs())
        .expires_in(3600)
        .sign();
    let err = verifier.verify(&forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[tokio::test]
async fn ten_thousand_small_keys_within_the_cap_work_warm() {
    let Setup {
        mock,
        verifier,
        clock,
        token,
    } = setup(Fault::Status(500)).await;
    verifier.warm_up().await.unwrap();
    mock.serve_raw(Some(many_ed25519_keys(10_000)));
    clock.advance(TTL + Duration::from_secs(1));
    // The old kid is gone from the new set: the refreshed set is in force, not a stale one.
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    let bulk = mock
        .token()
        .kid("bulk-4242")
        .at(clock.now_secs())
        .expires_in(3600)
        .sign();
    verifier.verify(&bulk).await.unwrap();
    let stats = verifier.key_stats();
    assert_eq!(stats.keys, 10_000);
    assert_eq!(stats.stale_serves, 0);
}

#[tokio::test]
async fn redirect_to_another_port_on_the_same_host_is_refused() {
    let Setup {
        mock,
        verifier,
        clock,
        ..
    } = setup(Fault::Status(500)).await;
    let other_origin = MockServer::start().await;
    let attacker_kid = "attacker-kid";
    let body = json!({"keys": [jwk(KeyFamily::Ed25519, 1, attacker_kid)]});
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&other_origin)
        .await;
    mock.redirect_to(Some(format!("{}/jwks", other_origin.uri())));
    let forged = mock
        .token()
        .key(TestKey::fixture(KeyFamily::Ed25519, 1).unwrap())
        .alg(Algorithm::EdDSA)
        .kid(attacker_kid)
        .at(clock.now_secs())
        .expires_in(3600)
        .sign();
    let err = verifier.verify(&forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    let contacted = other_origin.received_requests().await.unwrap_or_default();
    assert!(contacted.is_empty(), "followed a cross-origin redirect");
}
