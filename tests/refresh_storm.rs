//! Refresh-storm bounds: floods of forged kids cost at most one JWKS fetch per cooldown
//! window and a bounded negative cache; a burst of tokens with one genuinely new kid costs
//! exactly one fetch.

use std::time::Duration;

use jwks_auth::testing::MockProvider;
use jwks_auth::{CachePolicy, ErrorKind, ManualClock, Verifier};

const FLOOD: usize = 10_000;
const NEGATIVE_CAPACITY: u64 = 256;

/// Deterministic pseudo-random kids (xorshift64*), distinct from any real kid.
fn random_kids(seed: u64, count: usize) -> Vec<String> {
    let mut state = seed | 1;
    (0..count)
        .map(|i| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            format!(
                "forged-{i}-{:016x}",
                state.wrapping_mul(0x2545_F491_4F6C_DD1D)
            )
        })
        .collect()
}

struct Storm {
    mock: MockProvider,
    verifier: Verifier,
    clock: ManualClock,
}

async fn storm_setup() -> Storm {
    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(mock.provider())
        .cache_policy(CachePolicy::default().negative_cache_capacity(NEGATIVE_CAPACITY))
        .clock(clock.clone())
        .build()
        .unwrap();
    Storm {
        mock,
        verifier,
        clock,
    }
}

/// Tokens signed by the mock's current key, each under one of `kids`.
fn tokens_with_kids(storm: &Storm, kids: &[String]) -> Vec<String> {
    let template = storm.mock.token().at(storm.clock.now_secs());
    kids.iter()
        .map(|kid| template.clone().kid(kid).sign())
        .collect()
}

/// Verifies every token in its own task, all at once; returns the outcomes.
async fn verify_concurrently(
    verifier: &Verifier,
    tokens: Vec<String>,
) -> Vec<Result<(), ErrorKind>> {
    let handles: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let verifier = verifier.clone();
            tokio::spawn(async move {
                verifier
                    .verify(&token)
                    .await
                    .map(drop)
                    .map_err(|e| e.kind())
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(handles.len());
    for handle in handles {
        outcomes.push(handle.await.expect("task"));
    }
    outcomes
}

fn assert_all_unknown(outcomes: &[Result<(), ErrorKind>]) {
    let wrong: Vec<_> = outcomes
        .iter()
        .filter(|o| **o != Err(ErrorKind::UnknownKey))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} not UnknownKey: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_flood_costs_at_most_one_fetch_per_cooldown_window() {
    let storm = storm_setup().await;
    storm.verifier.warm_up().await.unwrap();
    assert_eq!(storm.mock.jwks_requests(), 1);

    let tokens = tokens_with_kids(&storm, &random_kids(1, FLOOD));
    let outcomes = verify_concurrently(&storm.verifier, tokens).await;
    assert_all_unknown(&outcomes);
    let first_window = storm.mock.jwks_requests() - 1;
    let stats = storm.verifier.key_stats();
    eprintln!("flood 1 ({FLOOD} forged kids, warm): {first_window} JWKS fetch(es), {stats:?}");
    assert_eq!(
        first_window, 1,
        "one unknown-kid refresh per cooldown window"
    );
    assert!(
        stats.negative_cache_entries <= NEGATIVE_CAPACITY,
        "{stats:?}"
    );
    assert_eq!(stats.unknown_kid_rejections, FLOOD as u64);

    // The next window allows exactly one more refresh, however large the flood.
    storm
        .clock
        .advance(CachePolicy::default().refresh_cooldown + Duration::from_secs(1));
    let tokens = tokens_with_kids(&storm, &random_kids(2, FLOOD));
    let outcomes = verify_concurrently(&storm.verifier, tokens).await;
    assert_all_unknown(&outcomes);
    let second_window = storm.mock.jwks_requests() - 1 - first_window;
    let stats = storm.verifier.key_stats();
    eprintln!("flood 2 (next window): {second_window} JWKS fetch(es), {stats:?}");
    assert_eq!(second_window, 1);
    assert!(
        stats.negative_cache_entries <= NEGATIVE_CAPACITY,
        "{stats:?}"
    );

    // Genuine tokens are unaffected.
    let genuine = storm.mock.token().at(storm.clock.now_secs()).sign();
    storm.verifier.verify(&genuine).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_flood_on_a_cold_verifier_costs_at_most_two_fetches() {
    let storm = storm_setup().await;
    let tokens = tokens_with_kids(&storm, &random_kids(3, FLOOD));
    let outcomes = verify_concurrently(&storm.verifier, tokens).await;
    assert_all_unknown(&outcomes);
    let fetches = storm.mock.jwks_requests();
    eprintln!("cold flood ({FLOOD} forged kids): {fetches} JWKS fetch(es)");
    // The cold fetch, plus at most one unknown-kid refresh in the window.
    assert!((1..=2).contains(&fetches), "{fetches} fetches");
    assert!(storm.verifier.key_stats().negative_cache_entries <= NEGATIVE_CAPACITY);
}

async fn new_kid_burst(size: usize) {
    let storm = storm_setup().await;
    storm.verifier.warm_up().await.unwrap();
    let new_kid = storm.mock.rotate();
    let kids = vec![new_kid; size];
    let tokens = tokens_with_kids(&storm, &kids);
    let outcomes = verify_concurrently(&storm.verifier, tokens).await;
    let rejected: Vec<_> = outcomes.iter().filter(|o| o.is_err()).collect();
    let extra = storm.mock.jwks_requests() - 1;
    eprintln!(
        "burst of {size} tokens with one new kid: {extra} extra JWKS fetch(es), {} rejected",
        rejected.len()
    );
    assert!(
        rejected.is_empty(),
        "{} rejected: {:?}",
        rejected.len(),
        &rejected[..rejected.len().min(5)]
    );
    assert_eq!(extra, 1, "exactly one refresh for the new kid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_1000_tokens_with_a_new_kid_costs_exactly_one_fetch() {
    new_kid_burst(1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_10000_tokens_with_a_new_kid_costs_exactly_one_fetch() {
    new_kid_burst(10_000).await;
}

/// The documented trade-off: right after a flood the cooldown also delays a genuinely new
/// kid, for at most one cooldown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_kid_right_after_a_flood_waits_at_most_one_cooldown() {
    let storm = storm_setup().await;
    storm.verifier.warm_up().await.unwrap();
    let tokens = tokens_with_kids(&storm, &random_kids(4, 1_000));
    assert_all_unknown(&verify_concurrently(&storm.verifier, tokens).await);
    assert_eq!(storm.mock.jwks_requests(), 2);

    storm.mock.rotate();
    let fresh = storm.mock.token().at(storm.clock.now_secs()).sign();
    let err = storm.verifier.verify(&fresh).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(storm.mock.jwks_requests(), 2);

    storm
        .clock
        .advance(CachePolicy::default().refresh_cooldown + Duration::from_secs(1));
    storm.verifier.verify(&fresh).await.unwrap();
    assert_eq!(storm.mock.jwks_requests(), 3);
}
