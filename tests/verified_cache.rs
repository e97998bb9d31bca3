//! The verified-token cache (`VerifierBuilder::cache_verified`). To tell a cache hit
//! from a full verification, the tests make the full path fail: the provider errors and the
//! clock passes TTL + `max_stale`, so an uncached verify answers `KeysUnavailable`.

mod support;

use std::time::Duration;

use jwks_auth::testing::{MockProvider, TestKey};
use jwks_auth::{CachePolicy, Clock, ErrorKind, KeyFamily, ManualClock, Verifier};
use support::{break_key_path, long_token};

const HOUR: Duration = Duration::from_secs(3600);

/// Starts at the real time: the cache bounds entry lifetimes by the system clock.
fn real_time_clock() -> ManualClock {
    ManualClock::starting_now()
}

fn caching_verifier(mock: &MockProvider, clock: &ManualClock, entries: u64) -> Verifier {
    Verifier::builder(mock.provider())
        .clock(clock.clone())
        .cache_policy(CachePolicy::default().max_stale(HOUR))
        .cache_verified(entries)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_cached_token_verifies_without_the_keys() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let token = long_token(&mock, &clock, "cached_user");
    verifier.verify(&token).await.unwrap();
    break_key_path(&mock, &clock);
    let user = verifier.verify(&token).await.unwrap();
    assert_eq!(user.id, "cached_user");
}

#[tokio::test]
async fn an_uncached_token_needs_the_keys() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    verifier
        .verify(&long_token(&mock, &clock, "cached_user"))
        .await
        .unwrap();
    let other = long_token(&mock, &clock, "other_user");
    break_key_path(&mock, &clock);
    let err = verifier.verify(&other).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
}

#[tokio::test]
async fn without_cache_verified_every_verify_needs_the_keys() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = Verifier::builder(mock.provider())
        .clock(clock.clone())
        .cache_policy(CachePolicy::default().max_stale(HOUR))
        .build()
        .unwrap();
    let token = long_token(&mock, &clock, "u");
    verifier.verify(&token).await.unwrap();
    break_key_path(&mock, &clock);
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
}

#[tokio::test]
async fn a_cache_hit_fetches_nothing() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let token = long_token(&mock, &clock, "u");
    verifier.verify(&token).await.unwrap();
    clock.advance(Duration::from_secs(11 * 60)); // keys expired: a full verify would refetch
    verifier.verify(&token).await.unwrap();
    assert_eq!(mock.jwks_requests(), 1);
}

#[tokio::test]
async fn a_tampered_token_never_hits_the_cache() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let builder = mock.token().at(clock.now_secs()).expires_in(3600);
    verifier.verify(&builder.sign()).await.unwrap();
    let err = verifier
        .verify(&builder.sign_tampered("sub", "admin"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[tokio::test]
async fn a_token_with_a_changed_signature_never_hits_the_cache() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let token = long_token(&mock, &clock, "u");
    verifier.verify(&token).await.unwrap();
    let forged = mock
        .token()
        .at(clock.now_secs())
        .expires_in(4 * 3600)
        .sub("u")
        .sign_with_wrong_key();
    let err = verifier.verify(&forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

/// The cache keys on the signature's digest and the signed part: both halves may be cached,
/// in two entries, and still the pair is no hit.
#[tokio::test]
async fn the_signed_part_of_one_cached_token_with_the_signature_of_another_is_no_hit() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let first = long_token(&mock, &clock, "first");
    let second = long_token(&mock, &clock, "second");
    verifier.verify(&first).await.unwrap();
    verifier.verify(&second).await.unwrap();
    let (signed, _) = first.rsplit_once('.').unwrap();
    let (_, signature) = second.rsplit_once('.').unwrap();
    let err = verifier
        .verify(&format!("{signed}.{signature}"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    // The cached tokens themselves are still hits.
    assert_eq!(verifier.verify(&first).await.unwrap().id, "first");
    assert_eq!(verifier.verify(&second).await.unwrap().id, "second");
}

#[tokio::test]
async fn a_cached_token_is_rejected_once_expired() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let token = mock.token().at(clock.now_secs()).expires_in(3600).sign();
    verifier.verify(&token).await.unwrap();
    // Past exp + leeway, and past TTL + max_stale: only the cache path can answer `Expired`.
    break_key_path(&mock, &clock);
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
}

#[tokio::test]
async fn a_cached_token_is_accepted_within_the_leeway_after_exp() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let token = mock.token().at(clock.now_secs()).expires_in(120).sign();
    verifier.verify(&token).await.unwrap();
    clock.advance(Duration::from_secs(150));
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_cached_token_is_expired_exactly_at_exp_plus_leeway() {
    // RFC 7519 §4.1.4: now must be before exp (+ leeway); the cache applies the same boundary.
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let token = mock.token().at(clock.now_secs()).expires_in(120).sign();
    verifier.verify(&token).await.unwrap();
    clock.advance(Duration::from_secs(120 + 60)); // Better Auth's leeway is 60 s
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
}

#[tokio::test]
async fn a_cached_token_is_not_yet_valid_when_the_clock_goes_back() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let token = mock
        .token()
        .at(clock.now_secs())
        .not_before_in(0)
        .expires_in(3600)
        .sign();
    verifier.verify(&token).await.unwrap();
    clock.set(clock.now() - Duration::from_secs(120));
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotYetValid);
}

#[tokio::test]
async fn entries_of_a_removed_kid_are_dropped_at_the_next_refresh() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let old_kid = mock.current_kid();
    let old_token = long_token(&mock, &clock, "old");
    verifier.verify(&old_token).await.unwrap();
    mock.rotate();
    mock.remove_key(&old_kid);
    // A token from the new key triggers the refresh that learns the old kid is gone.
    verifier
        .verify(&long_token(&mock, &clock, "new"))
        .await
        .unwrap();
    let err = verifier.verify(&old_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
}

#[tokio::test]
async fn entries_of_a_kid_still_published_survive_a_refresh() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let old_token = long_token(&mock, &clock, "old");
    verifier.verify(&old_token).await.unwrap();
    mock.rotate(); // the old key stays published
    verifier
        .verify(&long_token(&mock, &clock, "new"))
        .await
        .unwrap();
    break_key_path(&mock, &clock);
    verifier.verify(&old_token).await.unwrap();
}

#[tokio::test]
async fn the_cache_holds_at_most_its_capacity() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 2);
    let tokens: Vec<_> = (0..10)
        .map(|n| long_token(&mock, &clock, &format!("user_{n}")))
        .collect();
    for token in &tokens {
        verifier.verify(token).await.unwrap();
    }
    break_key_path(&mock, &clock);
    // Reads past moka's read-log flush point (64) run its pending evictions; while the keys
    // are unavailable nothing new is inserted, so the last round sees the settled cache.
    let mut hits_in_last_round = 0;
    for _ in 0..20 {
        hits_in_last_round = 0;
        for token in &tokens {
            if verifier.verify(token).await.is_ok() {
                hits_in_last_round += 1;
            }
        }
    }
    assert!(
        (1..=2).contains(&hits_in_last_round),
        "{hits_in_last_round} of 10 tokens still cached with capacity 2"
    );
}

#[tokio::test]
async fn the_cache_works_with_a_manual_clock_in_the_past() {
    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::at_unix(1_700_000_000);
    let verifier = caching_verifier(&mock, &clock, 100);
    let token = long_token(&mock, &clock, "u");
    verifier.verify(&token).await.unwrap();
    break_key_path(&mock, &clock);
    verifier.verify(&token).await.unwrap();
}

/// The mock serves exactly these keys (as JWKs; `kid: None` drops the kid).
fn publish(mock: &MockProvider, keys: &[(&TestKey, Option<&str>)]) {
    let keys: Vec<_> = keys
        .iter()
        .map(|(key, kid)| {
            let mut jwk = key.public_jwk().expect("a public key");
            match kid {
                Some(kid) => jwk["kid"] = (*kid).into(),
                None => drop(jwk.as_object_mut().unwrap().remove("kid")),
            }
            jwk
        })
        .collect();
    mock.serve_raw(Some(serde_json::json!({ "keys": keys }).to_string()));
}

fn ed25519(n: usize) -> TestKey {
    TestKey::fixture(KeyFamily::Ed25519, n).unwrap()
}

#[tokio::test]
async fn entries_of_a_kidless_key_are_not_served_once_the_key_is_gone() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let (old, new) = (ed25519(0), ed25519(1));
    publish(&mock, &[(&old, None)]);
    let token = mock
        .token()
        .key(old)
        .no_kid()
        .at(clock.now_secs())
        .expires_in(4 * 3600)
        .sign();
    verifier.verify(&token).await.unwrap();
    publish(&mock, &[(&new, None)]);
    verifier.warm_up().await.unwrap();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[tokio::test]
async fn entries_are_not_served_once_their_kid_names_other_key_material() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let (old, new) = (ed25519(0), ed25519(1));
    publish(&mock, &[(&old, Some("reused"))]);
    let token = mock
        .token()
        .key(old.with_kid("reused"))
        .at(clock.now_secs())
        .expires_in(4 * 3600)
        .sign();
    verifier.verify(&token).await.unwrap();
    publish(&mock, &[(&new, Some("reused"))]);
    verifier.warm_up().await.unwrap();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[tokio::test]
async fn entries_survive_a_refresh_that_republishes_the_same_key() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let key = ed25519(0);
    publish(&mock, &[(&key, None)]);
    let token = mock
        .token()
        .key(key.clone())
        .no_kid()
        .at(clock.now_secs())
        .expires_in(4 * 3600)
        .sign();
    verifier.verify(&token).await.unwrap();
    publish(&mock, &[(&ed25519(1), None), (&key, None)]);
    verifier.warm_up().await.unwrap();
    break_key_path(&mock, &clock);
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_cache_hit_has_the_same_user_and_every_claim_of_the_token() {
    let mock = MockProvider::better_auth().await;
    let clock = real_time_clock();
    let verifier = caching_verifier(&mock, &clock, 100);
    let token = mock
        .token()
        .at(clock.now_secs())
        .expires_in(4 * 3600)
        .sub("claims_user")
        .claim(
            "org",
            serde_json::json!({ "id": "org_1", "roles": ["admin"] }),
        )
        .sign();
    let first = verifier.verify(&token).await.unwrap();
    break_key_path(&mock, &clock);
    for _ in 0..2 {
        let hit = verifier.verify(&token).await.unwrap();
        assert_eq!(hit, first);
        assert_eq!(
            hit.claims.get("org.roles"),
            Some(&serde_json::json!(["admin"]))
        );
        assert_eq!(
            hit.claims.get("sub"),
            Some(&serde_json::json!("claims_user"))
        );
    }
}
