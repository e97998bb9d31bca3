//! The caching key fetcher, observed through a real `Verifier` talking to a
//! `MockProvider` on loopback. Time only moves through a `ManualClock`.

mod support;

use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use jwks_auth::testing::{MockProvider, TestKey};
use jwks_auth::{
    Algorithm, AuthError, CachePolicy, ErrorKind, FetchError, KeyFamily, ManualClock, Provider,
    Verifier,
};
use serde_json::json;
use support::clock;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn verifier(mock: &MockProvider, clock: &ManualClock) -> Verifier {
    verifier_with(mock, clock, CachePolicy::default())
}

fn verifier_with(mock: &MockProvider, clock: &ManualClock, policy: CachePolicy) -> Verifier {
    Verifier::builder(mock.provider())
        .clock(clock.clone())
        .cache_policy(policy)
        .build()
        .expect("verifier builds")
}

/// A token from the mock's current key, issued at the clock's time.
/// A Better Auth mock, a manual clock, and a verifier that already fetched the keys once.
async fn warmed() -> (MockProvider, ManualClock, Verifier) {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    (mock, clock, verifier)
}

fn token(mock: &MockProvider, clock: &ManualClock) -> String {
    mock.token().at(clock.now_secs()).sign()
}

/// A token signed by the current key but naming a kid the provider does not publish.
fn token_with_kid(mock: &MockProvider, clock: &ManualClock, kid: &str) -> String {
    mock.token().at(clock.now_secs()).kid(kid).sign()
}

/// The fetch failure behind a `KeysUnavailable` error.
/// Collects the `tracing` output of the current thread (tests run on a current-thread
/// runtime). One global subscriber writes into the buffer the current thread registered:
/// per-thread scoped subscribers lose events when other threads cache a callsite's interest.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURING: RefCell<Option<LogBuffer>> = const { RefCell::new(None) };
}

/// Writes to the current thread's `LogBuffer`, if any.
struct ThreadWriter;

impl io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        CAPTURING.with(|capturing| {
            if let Some(logs) = &*capturing.borrow() {
                logs.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Stops capturing on drop.
struct Capture;

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURING.with(|capturing| *capturing.borrow_mut() = None);
    }
}

impl LogBuffer {
    fn capture(&self) -> Capture {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            use tracing_subscriber::util::SubscriberInitExt as _;
            tracing_subscriber::fmt()
                .with_writer(|| ThreadWriter)
                .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
                .with_ansi(false)
                .finish()
                .try_init()
                .expect("no other global subscriber");
        });
        CAPTURING.with(|capturing| *capturing.borrow_mut() = Some(self.clone()));
        Capture
    }

    fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn lines_with(&self, text: &str) -> Vec<String> {
        self.contents()
            .lines()
            .filter(|line| line.contains(text))
            .map(str::to_owned)
            .collect()
    }
}

// 1. Lazy or eager.

#[tokio::test]
async fn building_a_verifier_fetches_nothing() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let _verifier = verifier(&mock, &clock);
    assert_eq!(mock.jwks_requests(), 0);
}

#[tokio::test]
async fn first_verify_fetches_the_keys_once() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 1);
}

#[tokio::test]
async fn warm_up_fetches_before_any_verify_and_verify_reuses_the_keys() {
    let (mock, clock, verifier) = warmed().await;
    assert_eq!(mock.jwks_requests(), 1);
    assert_eq!(verifier.key_stats().keys, 1);
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 1);
}

#[tokio::test]
async fn warm_up_reports_keys_unavailable_when_the_provider_fails() {
    let mock = MockProvider::better_auth().await;
    mock.fail_next(1, 500);
    let verifier = verifier(&mock, &clock());
    let err = verifier.warm_up().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
}

// 2. Freshness.

#[tokio::test]
async fn keys_stay_fresh_for_the_default_ten_minutes() {
    let (mock, clock, verifier) = warmed().await;
    clock.advance(9 * MINUTE);
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 1);
}

#[tokio::test]
async fn keys_are_refetched_on_the_next_verify_after_ten_minutes() {
    let (mock, clock, verifier) = warmed().await;
    clock.advance(10 * MINUTE + Duration::from_secs(1));
    assert_eq!(
        mock.jwks_requests(),
        1,
        "nothing refreshes in the background"
    );
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 2);
}

#[tokio::test]
async fn cache_control_max_age_sets_the_freshness() {
    let mock = MockProvider::better_auth().await;
    mock.max_age(Some(120));
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    clock.advance(Duration::from_secs(119));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 1, "still fresh at 119 s");
    clock.advance(Duration::from_secs(2));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 2, "stale after 120 s");
}

#[tokio::test]
async fn a_tiny_max_age_is_raised_to_one_minute() {
    let mock = MockProvider::better_auth().await;
    mock.max_age(Some(5));
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    clock.advance(Duration::from_secs(59));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 1, "max-age=5 must be treated as 60 s");
    clock.advance(Duration::from_secs(2));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 2);
}

#[tokio::test]
async fn a_huge_max_age_is_capped_at_twenty_four_hours() {
    let mock = MockProvider::better_auth().await;
    mock.max_age(Some(10 * 24 * 3600));
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    clock.advance(23 * HOUR);
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 1, "fresh within 24 h");
    clock.advance(HOUR + Duration::from_secs(1));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(
        mock.jwks_requests(),
        2,
        "max-age=10 days must be capped at 24 h"
    );
}

// 3. Unknown kid, cooldown, single flight, negative cache.

#[tokio::test]
async fn a_rotated_key_is_picked_up_with_one_refetch() {
    let (mock, clock, verifier) = warmed().await;
    mock.rotate();
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 2);
    assert_eq!(verifier.key_stats().unknown_kid_refreshes, 1);
}

#[tokio::test]
async fn an_unknown_kid_causes_one_refetch_then_unknown_key() {
    let (mock, clock, verifier) = warmed().await;
    let err = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost-1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(mock.jwks_requests(), 2);
}

#[tokio::test]
async fn a_second_unknown_kid_within_the_cooldown_does_not_fetch() {
    let (mock, clock, verifier) = warmed().await;
    let _ = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost-1"))
        .await;
    clock.advance(Duration::from_secs(29));
    let err = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost-2"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(mock.jwks_requests(), 2);
}

#[tokio::test]
async fn an_unknown_kid_after_the_cooldown_may_fetch_again() {
    let (mock, clock, verifier) = warmed().await;
    let _ = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost-1"))
        .await;
    clock.advance(Duration::from_secs(31));
    let _ = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost-2"))
        .await;
    assert_eq!(mock.jwks_requests(), 3);
}

#[tokio::test]
async fn a_configured_cooldown_replaces_the_thirty_second_default() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let policy = CachePolicy::default().refresh_cooldown(Duration::from_secs(120));
    let verifier = verifier_with(&mock, &clock, policy);
    verifier.warm_up().await.unwrap();
    let _ = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost-1"))
        .await;
    clock.advance(Duration::from_secs(60));
    let _ = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost-2"))
        .await;
    assert_eq!(mock.jwks_requests(), 2, "still cooling down after 60 s");
}

#[tokio::test]
async fn a_rotation_within_the_cooldown_is_seen_only_after_it() {
    let (mock, clock, verifier) = warmed().await;
    let _ = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost-1"))
        .await;
    mock.rotate();
    let new_key_token = token(&mock, &clock);
    let err = verifier.verify(&new_key_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey, "cooldown holds");
    clock.advance(Duration::from_secs(31));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_in_flight_fetch() {
    let (mock, clock, verifier) = warmed().await;
    mock.rotate();
    mock.delay(Some(Duration::from_millis(200)));
    let token = token(&mock, &clock);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let verifier = verifier.clone();
            let token = token.clone();
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        task.await
            .unwrap()
            .expect("every concurrent verify succeeds");
    }
    assert_eq!(mock.jwks_requests(), 2, "exactly one extra fetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_verifies_share_one_fetch() {
    let mock = MockProvider::better_auth().await;
    mock.delay(Some(Duration::from_millis(200)));
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    let token = token(&mock, &clock);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let verifier = verifier.clone();
            let token = token.clone();
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        task.await
            .unwrap()
            .expect("every concurrent verify succeeds");
    }
    assert_eq!(mock.jwks_requests(), 1);
}

#[tokio::test]
async fn a_kid_still_unknown_is_answered_from_the_negative_cache() {
    let (mock, clock, verifier) = warmed().await;
    let ghost = token_with_kid(&mock, &clock, "ghost");
    let _ = verifier.verify(&ghost).await;
    assert_eq!(verifier.key_stats().negative_cache_hits, 0);
    let err = verifier.verify(&ghost).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    let stats = verifier.key_stats();
    assert_eq!(stats.negative_cache_hits, 1);
    assert_eq!(stats.negative_cache_entries, 1);
    assert_eq!(mock.jwks_requests(), 2);
}

#[tokio::test]
async fn a_remembered_unknown_kid_may_fetch_again_after_the_cooldown() {
    let (mock, clock, verifier) = warmed().await;
    let _ = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost"))
        .await;
    clock.advance(Duration::from_secs(31));
    let _ = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost"))
        .await;
    assert_eq!(mock.jwks_requests(), 3);
    assert_eq!(verifier.key_stats().negative_cache_hits, 0);
}

#[tokio::test]
async fn the_negative_cache_is_bounded_by_its_capacity() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let policy = CachePolicy::default().negative_cache_capacity(8);
    let verifier = verifier_with(&mock, &clock, policy);
    verifier.warm_up().await.unwrap();
    for n in 0..100 {
        if n % 10 == 0 {
            clock.advance(Duration::from_secs(31));
        }
        let err = verifier
            .verify(&token_with_kid(&mock, &clock, &format!("ghost-{n}")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey);
    }
    let stats = verifier.key_stats();
    assert!(
        stats.negative_cache_entries <= 8,
        "{} entries remembered",
        stats.negative_cache_entries
    );
    assert!(stats.negative_cache_entries > 0);
    assert_eq!(stats.unknown_kid_rejections, 100);
    assert_eq!(mock.jwks_requests(), 11, "one refetch per cooldown window");
}

// 4. Stale-if-error.

#[tokio::test]
async fn cached_keys_keep_serving_when_the_refresh_fails() {
    let (mock, clock, verifier) = warmed().await;
    mock.fail_next(100, 500);
    clock.advance(11 * MINUTE);
    let user = verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(user.id, "user_test");
    let stats = verifier.key_stats();
    assert_eq!(stats.stale_serves, 1);
    assert_eq!(stats.fetch_failures, 1);
    assert_eq!(mock.jwks_requests(), 2);
}

#[tokio::test]
async fn stale_serves_grow_with_each_verify_during_the_outage() {
    let (mock, clock, verifier) = warmed().await;
    mock.fail_next(100, 500);
    clock.advance(11 * MINUTE);
    for _ in 0..3 {
        verifier.verify(&token(&mock, &clock)).await.unwrap();
    }
    assert_eq!(verifier.key_stats().stale_serves, 3);
    assert_eq!(
        mock.jwks_requests(),
        2,
        "failures also wait for the cooldown"
    );
}

#[tokio::test]
async fn stale_keys_stop_serving_after_max_stale() {
    let (mock, clock, verifier) = warmed().await;
    mock.fail_next(1000, 500);
    clock.advance(23 * HOUR);
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    clock.advance(HOUR + MINUTE);
    let err = verifier.verify(&token(&mock, &clock)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(err.status(), 503);
}

#[tokio::test]
async fn a_configured_max_stale_limits_serving() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let policy = CachePolicy::default().max_stale(HOUR);
    let verifier = verifier_with(&mock, &clock, policy);
    verifier.warm_up().await.unwrap();
    mock.fail_next(1000, 500);
    clock.advance(HOUR + MINUTE);
    let err = verifier.verify(&token(&mock, &clock)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
}

#[tokio::test]
async fn a_cold_verifier_with_a_failing_provider_answers_503_not_401() {
    let mock = MockProvider::better_auth().await;
    mock.fail_next(1, 500);
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    let err = verifier.verify(&token(&mock, &clock)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(err.status(), 503);
    assert!(!err.is_unauthorized());
    assert!(matches!(
        err.fetch_error().unwrap(),
        FetchError::Status { status: 500, .. }
    ));
}

#[tokio::test]
async fn a_cold_failure_is_not_retried_within_the_cooldown() {
    let mock = MockProvider::better_auth().await;
    mock.fail_next(1, 500);
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    let _ = verifier.verify(&token(&mock, &clock)).await;
    let err = verifier.verify(&token(&mock, &clock)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(mock.jwks_requests(), 1);
    clock.advance(Duration::from_secs(31));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 2);
}

#[tokio::test]
async fn serving_stale_keys_emits_a_warning() {
    let logs = LogBuffer::default();
    let _guard = logs.capture();
    let (mock, clock, verifier) = warmed().await;
    mock.fail_next(100, 500);
    clock.advance(11 * MINUTE);
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    let warnings = logs.lines_with("serving stale keys");
    assert_eq!(warnings.len(), 1, "{}", logs.contents());
    assert!(warnings[0].contains("WARN"), "{}", warnings[0]);
}

// 5. Tokens without kid.

#[tokio::test]
async fn a_token_without_kid_verifies_against_a_key_of_its_type() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    let user = verifier
        .verify(&mock.token().at(clock.now_secs()).no_kid().sign())
        .await
        .unwrap();
    assert_eq!(user.id, "user_test");
}

#[tokio::test]
async fn kidless_candidates_are_filtered_by_key_type_before_the_limit() {
    let mock = MockProvider::start("better-auth", Algorithm::EdDSA).await;
    mock.add_key(KeyFamily::Rsa);
    mock.add_key(KeyFamily::P256); // signing key from now on, published last
    let clock = clock();
    let policy = CachePolicy::default().max_kidless_candidates(1);
    let verifier = verifier_with(&mock, &clock, policy);
    let token = mock
        .token()
        .at(clock.now_secs())
        .alg(Algorithm::ES256)
        .no_kid()
        .sign();
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_kidless_token_signed_by_an_unpublished_key_is_rejected() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    let other = TestKey::fixture(KeyFamily::Ed25519, 1).unwrap();
    let token = mock.token().at(clock.now_secs()).key(other).no_kid().sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

async fn three_p256_keys_signing_with_the_third() -> MockProvider {
    let mock = MockProvider::start("better-auth", Algorithm::ES256).await;
    mock.add_key(KeyFamily::P256);
    mock.add_key(KeyFamily::P256);
    assert_eq!(mock.kids().len(), 3);
    assert_eq!(mock.kids()[2], mock.current_kid());
    mock
}

#[tokio::test]
async fn max_kidless_candidates_bounds_the_keys_tried() {
    let mock = three_p256_keys_signing_with_the_third().await;
    let clock = clock();
    let policy = CachePolicy::default().max_kidless_candidates(2);
    let verifier = verifier_with(&mock, &clock, policy);
    let token = mock.token().at(clock.now_secs()).no_kid().sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[tokio::test]
async fn a_kidless_token_within_the_candidate_limit_verifies() {
    let mock = three_p256_keys_signing_with_the_third().await;
    let clock = clock();
    let policy = CachePolicy::default().max_kidless_candidates(3);
    let verifier = verifier_with(&mock, &clock, policy);
    let token = mock.token().at(clock.now_secs()).no_kid().sign();
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn kidless_tokens_never_trigger_a_refetch() {
    let mock = MockProvider::start("better-auth", Algorithm::EdDSA).await;
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    let unpublished = TestKey::fixture(KeyFamily::Ed25519, 1).unwrap();
    let wrong_key = mock.token().at(clock.now_secs()).key(unpublished).no_kid();
    let _ = verifier.verify(&wrong_key.sign()).await;
    let no_such_type = mock
        .token()
        .at(clock.now_secs())
        .alg(Algorithm::ES256)
        .no_kid()
        .sign();
    let err = verifier.verify(&no_such_type).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(mock.jwks_requests(), 1);
    assert_eq!(verifier.key_stats().unknown_kid_refreshes, 0);
}

// 6. JWKS parsing.

fn jwk_of(key: &TestKey) -> serde_json::Value {
    key.public_jwk().expect("asymmetric key")
}

#[tokio::test]
async fn better_auth_style_keys_without_use_or_alg_verify() {
    let mock = MockProvider::better_auth().await;
    let jwk = jwk_of(&TestKey::fixture(KeyFamily::Ed25519, 0).unwrap());
    assert!(jwk.get("use").is_none() && jwk.get("alg").is_none());
    mock.serve_raw(Some(json!({ "keys": [jwk] }).to_string()));
    let clock = clock();
    verifier(&mock, &clock)
        .verify(&token(&mock, &clock))
        .await
        .unwrap();
}

/// A set with one good key (the mock's `ed25519-a`) and one key of each unusable kind, each
/// under its own kid, plus the private keys that match the bad entries.
struct MixedSet {
    mock: MockProvider,
    clock: ManualClock,
    verifier: Verifier,
}

impl MixedSet {
    async fn new() -> Self {
        let mock = MockProvider::better_auth().await;
        let good = jwk_of(&TestKey::fixture(KeyFamily::Ed25519, 0).unwrap());
        let mut enc = jwk_of(&TestKey::fixture(KeyFamily::Ed25519, 1).unwrap());
        enc["use"] = "enc".into();
        enc["kid"] = "enc-key".into();
        let mut rsa_wrong_alg = jwk_of(&TestKey::fixture(KeyFamily::Rsa, 0).unwrap());
        rsa_wrong_alg["alg"] = "RS384".into(); // better-auth allows RS256, not RS384
        rsa_wrong_alg["kid"] = "rsa-rs384".into();
        let mut numeric_kid = jwk_of(&TestKey::fixture(KeyFamily::P256, 0).unwrap());
        numeric_kid["kid"] = json!(42);
        let weak: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string("fixtures/keys/rsa-1024-weak.jwk.json").unwrap(),
        )
        .unwrap();
        let body = json!({ "keys": [
            enc,
            {"kty": "XYZ", "kid": "odd-kty", "x": "AAAA"},
            {"kty": "OKP", "crv": "X448", "kid": "odd-crv", "x": "AAAA"},
            {"kty": "EC", "crv": "P-192", "kid": "odd-ec-crv", "x": "AAAA", "y": "AAAA"},
            weak,
            rsa_wrong_alg,
            numeric_kid,
            {"kty": "oct", "kid": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},
            good,
        ]});
        mock.serve_raw(Some(body.to_string()));
        let clock = clock();
        let verifier = verifier(&mock, &clock);
        MixedSet {
            mock,
            clock,
            verifier,
        }
    }

    async fn verify_signed_by(&self, key: TestKey, alg: Algorithm, kid: &str) -> ErrorKind {
        let token = self
            .mock
            .token()
            .at(self.clock.now_secs())
            .key(key)
            .alg(alg)
            .kid(kid)
            .sign();
        self.verifier.verify(&token).await.unwrap_err().kind()
    }
}

#[tokio::test]
async fn the_good_key_of_a_mixed_set_verifies_and_only_it_is_kept() {
    let set = MixedSet::new().await;
    set.verifier
        .verify(&token(&set.mock, &set.clock))
        .await
        .unwrap();
    assert_eq!(set.verifier.key_stats().keys, 1);
}

#[tokio::test]
async fn an_encryption_key_never_verifies() {
    let set = MixedSet::new().await;
    let key = TestKey::fixture(KeyFamily::Ed25519, 1).unwrap();
    let kind = set.verify_signed_by(key, Algorithm::EdDSA, "enc-key").await;
    assert_eq!(kind, ErrorKind::UnknownKey);
}

#[tokio::test]
async fn a_key_whose_alg_is_not_allowed_never_verifies() {
    let set = MixedSet::new().await;
    let key = TestKey::fixture(KeyFamily::Rsa, 0).unwrap();
    let kind = set
        .verify_signed_by(key, Algorithm::RS256, "rsa-rs384")
        .await;
    assert_eq!(kind, ErrorKind::UnknownKey);
}

#[tokio::test]
async fn a_key_with_a_non_string_kid_never_verifies() {
    let set = MixedSet::new().await;
    let key = TestKey::fixture(KeyFamily::P256, 0).unwrap();
    assert_eq!(
        set.verify_signed_by(key.clone(), Algorithm::ES256, "42")
            .await,
        ErrorKind::UnknownKey
    );
    let kidless = set
        .mock
        .token()
        .at(set.clock.now_secs())
        .key(key)
        .alg(Algorithm::ES256)
        .no_kid()
        .sign();
    let err = set.verifier.verify(&kidless).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
}

#[tokio::test]
async fn unknown_key_types_and_curves_and_weak_rsa_are_not_usable_keys() {
    let set = MixedSet::new().await;
    for kid in ["odd-kty", "odd-crv", "odd-ec-crv", "rsa-1024-weak", "oct"] {
        let key = TestKey::fixture(KeyFamily::Rsa, 0).unwrap();
        assert_eq!(
            set.verify_signed_by(key, Algorithm::RS256, kid).await,
            ErrorKind::UnknownKey,
            "{kid}"
        );
    }
}

#[tokio::test]
async fn skipped_keys_are_reported_as_warnings() {
    let logs = LogBuffer::default();
    let _guard = logs.capture();
    let set = MixedSet::new().await;
    set.verifier.warm_up().await.unwrap();
    let skipped = logs.lines_with("skipped");
    assert_eq!(skipped.len(), 8, "{}", logs.contents());
    assert!(skipped.iter().all(|line| line.contains("WARN")));
    assert!(logs.contents().contains("1024 bits"));
}

#[tokio::test]
async fn a_set_with_no_usable_key_is_a_fetch_failure() {
    let mock = MockProvider::better_auth().await;
    mock.serve_raw(Some(
        json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string(),
    ));
    let clock = clock();
    let err = verifier(&mock, &clock)
        .verify(&token(&mock, &clock))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert!(matches!(err.fetch_error().unwrap(), FetchError::Invalid(_)));
}

// 7. HTTP.

#[test]
fn plain_http_to_a_remote_host_is_refused_at_build() {
    let provider = Provider::better_auth("http://auth.example.com").unwrap();
    let err = Verifier::builder(provider).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn plain_http_to_a_remote_host_builds_when_explicitly_allowed() {
    let provider = Provider::better_auth("http://auth.example.com").unwrap();
    Verifier::builder(provider)
        .allow_insecure_http(true)
        .build()
        .unwrap();
}

#[test]
fn plain_http_to_loopback_is_allowed() {
    for origin in ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"] {
        let provider = Provider::better_auth(origin).unwrap();
        Verifier::builder(provider).build().expect(origin);
    }
}

#[tokio::test]
async fn a_slow_key_server_times_out_as_keys_unavailable() {
    let mock = MockProvider::better_auth().await;
    mock.delay(Some(Duration::from_secs(5)));
    let clock = clock();
    let policy = CachePolicy::default().fetch_timeout(Duration::from_millis(100));
    let err = verifier_with(&mock, &clock, policy)
        .verify(&token(&mock, &clock))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert!(
        matches!(err.fetch_error().unwrap(), FetchError::Timeout),
        "{:?}",
        err.fetch_error().unwrap()
    );
}

#[tokio::test]
async fn a_body_over_the_cap_is_keys_unavailable() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let policy = CachePolicy::default().max_body_bytes(64);
    let err = verifier_with(&mock, &clock, policy)
        .verify(&token(&mock, &clock))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert!(matches!(
        err.fetch_error().unwrap(),
        FetchError::TooLarge { limit: 64 }
    ));
}

#[tokio::test]
async fn a_redirect_to_another_host_is_refused() {
    let mock = MockProvider::better_auth().await;
    let elsewhere = MockProvider::better_auth().await;
    let other_host = elsewhere.jwks_url().replace("127.0.0.1", "localhost");
    mock.redirect_to(Some(other_host));
    let clock = clock();
    let err = verifier(&mock, &clock)
        .verify(&token(&mock, &clock))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert!(matches!(err.fetch_error().unwrap(), FetchError::Redirect));
    assert_eq!(
        elsewhere.jwks_requests(),
        0,
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn a_redirect_to_another_port_of_the_same_host_is_refused() {
    let mock = MockProvider::better_auth().await;
    let other_port = MockProvider::better_auth().await; // publishes the same fixture key
    mock.redirect_to(Some(other_port.jwks_url()));
    let clock = clock();
    let err = verifier(&mock, &clock)
        .verify(&token(&mock, &clock))
        .await
        .unwrap_err();
    assert!(matches!(err.fetch_error().unwrap(), FetchError::Redirect));
    assert_eq!(other_port.jwks_requests(), 0);
}

#[tokio::test]
async fn a_redirect_within_the_same_origin_is_followed() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let mock = MockProvider::better_auth().await;
    let jwks =
        serde_json::json!({ "keys": [TestKey::for_algorithm(Algorithm::EdDSA).public_jwk()] });
    Mock::given(method("GET"))
        .and(path("/keys-moved"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
        .mount(mock.server())
        .await;
    mock.redirect_to(Some(format!("{}/keys-moved", mock.uri())));
    let clock = clock();
    verifier(&mock, &clock)
        .verify(&token(&mock, &clock))
        .await
        .unwrap();
    assert_eq!(mock.jwks_requests(), 1);
}

#[tokio::test]
async fn an_injected_client_that_follows_redirects_still_cannot_change_host() {
    let mock = MockProvider::better_auth().await;
    let elsewhere = MockProvider::better_auth().await;
    mock.redirect_to(Some(elsewhere.jwks_url().replace("127.0.0.1", "localhost")));
    let clock = clock();
    let verifier = Verifier::builder(mock.provider())
        .clock(clock.clone())
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let err = verifier.verify(&token(&mock, &clock)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert!(matches!(err.fetch_error().unwrap(), FetchError::Redirect));
}

#[tokio::test]
async fn fetches_send_the_jwks_auth_user_agent() {
    let mock = MockProvider::better_auth().await;
    verifier(&mock, &clock()).warm_up().await.unwrap();
    let requests = mock.server().received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let agent = requests[0].headers.get("user-agent").unwrap();
    assert_eq!(
        agent.to_str().unwrap(),
        concat!("jwks-auth/", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn fetches_ask_for_json() {
    let mock = MockProvider::better_auth().await;
    verifier(&mock, &clock()).warm_up().await.unwrap();
    let requests = mock.server().received_requests().await.unwrap();
    let accept = requests[0].headers.get("accept").unwrap();
    assert_eq!(accept.to_str().unwrap(), "application/json");
}

// 8. Events and counters.

#[tokio::test]
async fn a_fetch_emits_fetching_and_refreshed_events() {
    let logs = LogBuffer::default();
    let _guard = logs.capture();
    let mock = MockProvider::better_auth().await;
    verifier(&mock, &clock()).warm_up().await.unwrap();
    assert_eq!(
        logs.lines_with("fetching JWKS").len(),
        1,
        "{}",
        logs.contents()
    );
    let refreshed = logs.lines_with("JWKS refreshed");
    assert_eq!(refreshed.len(), 1, "{}", logs.contents());
    assert!(refreshed[0].contains("keys=1"), "{}", refreshed[0]);
    assert!(refreshed[0].contains("ttl_secs=600"), "{}", refreshed[0]);
}

#[tokio::test]
async fn an_unknown_kid_emits_a_refresh_requested_event() {
    let logs = LogBuffer::default();
    let _guard = logs.capture();
    let (mock, clock, verifier) = warmed().await;
    assert!(logs.lines_with("unknown kid").is_empty());
    let _ = verifier
        .verify(&token_with_kid(&mock, &clock, "ghost"))
        .await;
    assert_eq!(
        logs.lines_with("unknown kid").len(),
        1,
        "{}",
        logs.contents()
    );
}

#[tokio::test]
async fn a_failed_fetch_emits_a_warning() {
    let logs = LogBuffer::default();
    let _guard = logs.capture();
    let mock = MockProvider::better_auth().await;
    mock.fail_next(1, 502);
    let _ = verifier(&mock, &clock()).warm_up().await;
    let failed = logs.lines_with("JWKS fetch failed");
    assert_eq!(failed.len(), 1, "{}", logs.contents());
    assert!(failed[0].contains("WARN") && failed[0].contains("502"));
}

#[tokio::test]
async fn events_never_contain_the_token() {
    let logs = LogBuffer::default();
    let _guard = logs.capture();
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    let good = token(&mock, &clock);
    let ghost = token_with_kid(&mock, &clock, "ghost");
    verifier.verify(&good).await.unwrap();
    let _ = verifier.verify(&ghost).await;
    mock.fail_next(10, 500);
    clock.advance(11 * MINUTE);
    let late = token(&mock, &clock);
    verifier.verify(&late).await.unwrap();
    let text = logs.contents();
    assert!(!text.is_empty());
    for token in [&good, &ghost, &late] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!text.contains(signature), "a token leaked into the logs");
    }
}

#[tokio::test]
async fn key_stats_count_fetches_failures_and_keys() {
    let mock = MockProvider::better_auth().await;
    mock.add_key(KeyFamily::P256);
    mock.fail_next(1, 500);
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    assert_eq!(verifier.key_stats(), Default::default());
    let _ = verifier.warm_up().await;
    verifier.warm_up().await.unwrap();
    let stats = verifier.key_stats();
    assert_eq!(stats.fetches, 2);
    assert_eq!(stats.fetch_failures, 1);
    assert_eq!(stats.keys, 2);
}

#[tokio::test]
async fn key_stats_count_unknown_kid_refreshes_and_rejections() {
    let (mock, clock, verifier) = warmed().await;
    let _ = verifier.verify(&token_with_kid(&mock, &clock, "a")).await;
    let _ = verifier.verify(&token_with_kid(&mock, &clock, "b")).await;
    let _ = verifier.verify(&token_with_kid(&mock, &clock, "a")).await;
    let stats = verifier.key_stats();
    assert_eq!(stats.unknown_kid_refreshes, 1);
    assert_eq!(stats.unknown_kid_rejections, 3);
    assert_eq!(stats.negative_cache_hits, 1);
    assert_eq!(stats.negative_cache_entries, 2);
    assert_eq!(stats.fetches, 2);
}

#[tokio::test]
async fn keys_unavailable_source_downcasts_to_fetch_error() {
    let mock = MockProvider::better_auth().await;
    mock.fail_next(1, 500);
    let err = verifier(&mock, &clock()).warm_up().await.unwrap_err();
    let source = std::error::Error::source(&err).unwrap();
    assert!(source.downcast_ref::<FetchError>().is_some());
}

#[tokio::test]
async fn while_one_caller_refreshes_expired_keys_others_answer_from_the_cache() {
    let (mock, clock, verifier) = warmed().await;
    clock.advance(Duration::from_secs(601));
    // Long enough that the first refresh is surely still in flight for the second verify.
    mock.delay(Some(Duration::from_secs(2)));
    let first = {
        let (verifier, token) = (verifier.clone(), token(&mock, &clock));
        tokio::spawn(async move { verifier.verify(&token).await })
    };
    // Wait until the first caller's refresh has reached the (slow) provider.
    while mock.jwks_requests() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    // Had it queued behind the refresh, it would have shared the fresh keys instead.
    assert_eq!(verifier.key_stats().stale_serves, 1);
    first.await.unwrap().unwrap();
    assert_eq!(mock.jwks_requests(), 2);
}

// 9. Configuration is checked at build.

fn build_with(policy: CachePolicy) -> Result<Verifier, AuthError> {
    let provider = Provider::better_auth("https://auth.example.com").unwrap();
    Verifier::builder(provider).cache_policy(policy).build()
}

#[test]
fn max_ttl_below_min_ttl_is_a_config_error() {
    // The reported case: the default min_ttl is 60 s.
    let err = build_with(CachePolicy::default().max_ttl(Duration::from_secs(30))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("min_ttl"), "{err}");
}

#[test]
fn cache_policy_values_that_would_panic_or_defeat_the_cache_are_config_errors() {
    const THOUSAND_YEARS: Duration = Duration::from_secs(1000 * 365 * 24 * 3600 + 1);
    let base = CachePolicy::default;
    for (name, policy) in [
        ("refresh_cooldown", base().refresh_cooldown(THOUSAND_YEARS)),
        ("refresh_cooldown", base().refresh_cooldown(Duration::ZERO)),
        ("max_body_bytes", base().max_body_bytes(0)),
        ("fetch_timeout", base().fetch_timeout(Duration::ZERO)),
        ("fetch_timeout", base().fetch_timeout(Duration::MAX)),
        ("ttl", base().ttl(Duration::ZERO)),
        ("ttl", base().ttl(Duration::MAX)),
        ("min_ttl", base().min_ttl(Duration::ZERO)),
        ("max_ttl", base().max_ttl(Duration::MAX)),
        ("max_stale", base().max_stale(Duration::MAX)),
        ("refresh_ahead", base().refresh_ahead(Some(Duration::MAX))),
    ] {
        let err = build_with(policy).expect_err(name);
        assert_eq!(err.kind(), ErrorKind::Config, "{name}");
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
}

#[test]
fn cache_policy_limits_are_inclusive() {
    let year = CachePolicy::MAX_DURATION;
    let policy = CachePolicy::default()
        .ttl(year)
        .max_ttl(year)
        .min_ttl(year)
        .refresh_cooldown(year)
        .max_stale(year)
        .fetch_timeout(year)
        .refresh_ahead(Some(year));
    build_with(policy).unwrap();
}

#[test]
fn a_32_byte_secret_with_hs512_is_a_config_error() {
    let provider = Provider::shared_secret([7u8; 32]).unwrap();
    let err = Verifier::builder(provider)
        .algorithms([Algorithm::HS512])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("HS512"), "{err}");
    let provider = Provider::shared_secret([7u8; 64]).unwrap();
    Verifier::builder(provider)
        .algorithms([Algorithm::HS256, Algorithm::HS384, Algorithm::HS512])
        .build()
        .unwrap();
}

#[tokio::test]
async fn refresh_ahead_refreshes_in_the_background_before_expiry() {
    let mock = MockProvider::clerk().await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(mock.provider())
        .clock(clock.clone())
        .cache_policy(
            CachePolicy::default()
                .ttl(Duration::from_secs(600))
                .refresh_ahead(Some(Duration::from_secs(60))),
        )
        .build()
        .unwrap();
    let now = clock.now_secs();
    verifier.verify(&mock.token().at(now).sign()).await.unwrap();
    assert_eq!(mock.jwks_requests(), 1);

    // Before the refresh-ahead window: nothing happens.
    clock.advance(Duration::from_secs(530));
    verifier
        .verify(&mock.token().at(now + 530).sign())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(mock.jwks_requests(), 1);

    // Inside the window (at most 30 s of jitter after 540 s): the verify answers from the
    // cached keys and a background task refreshes them.
    clock.advance(Duration::from_secs(45));
    verifier
        .verify(&mock.token().at(now + 575).sign())
        .await
        .unwrap();
    for _ in 0..100 {
        if mock.jwks_requests() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(mock.jwks_requests(), 2);
    assert_eq!(verifier.key_stats().stale_serves, 0);
}
