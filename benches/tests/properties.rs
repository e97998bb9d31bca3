//! Property tests: arbitrary input never panics and is never accepted; no single-byte change
//! to a genuine token is accepted.

use std::sync::LazyLock;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwks_auth::testing::TestKeys;
use jwks_auth::{
    dangerous, Algorithm, AuthUser, CachePolicy, ErrorKind, ManualClock, Provider, Result, Verifier,
};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
});

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    let provider = Provider::static_jwks(&TestKeys::new().jwks_json()).expect("JWKS");
    Verifier::builder(provider)
        .any_issuer()
        .clock(ManualClock::at_unix(NOW as u64))
        .build()
        .expect("verifier")
});

/// Genuine tokens, one per algorithm under test.
static GENUINE: LazyLock<Vec<(Algorithm, String)>> = LazyLock::new(|| {
    [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256]
        .into_iter()
        .map(|alg| {
            let token = TestKeys::new()
                .token(alg)
                .sub("user_prop")
                .at(NOW)
                .expires_in(3600)
                .sign();
            (alg, token)
        })
        .collect()
});

fn verify(token: &str) -> Result<AuthUser> {
    RUNTIME.block_on(VERIFIER.verify(token))
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn genuine_tokens_verify() {
    for (alg, token) in GENUINE.iter() {
        assert_eq!(verify(token).unwrap().id, "user_prop", "{alg}");
    }
}

/// Three base64url segments of structured-but-arbitrary content: a JSON header with a real
/// alg and kid, arbitrary payload bytes, and an arbitrary signature.
fn forged_token() -> impl Strategy<Value = String> {
    let algs = prop::sample::select(vec![
        "EdDSA", "ES256", "ES384", "ES512", "RS256", "PS256", "HS256", "none",
    ]);
    let kids = prop::sample::select(vec![
        "ed25519-a",
        "ec-p256-a",
        "ec-p384-a",
        "ec-p521-a",
        "rsa-2048-a",
        "nope",
    ]);
    (
        algs,
        prop::option::of(kids),
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(|(alg, kid, payload, signature)| {
            let mut header = serde_json::json!({ "alg": alg });
            if let Some(kid) = kid {
                header["kid"] = kid.into();
            }
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(payload),
                URL_SAFE_NO_PAD.encode(signature)
            )
        })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_strings_are_rejected_without_panic(input in ".{0,512}") {
        prop_assert!(verify(&input).is_err());
        let _ = dangerous::decode_unverified(&input);
        let _ = jwks_auth::bearer_token(&input);
    }

    #[test]
    fn arbitrary_bytes_are_rejected_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let input = String::from_utf8_lossy(&bytes);
        prop_assert!(verify(&input).is_err());
    }

    #[test]
    fn token_shaped_strings_are_rejected(input in "[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,400}") {
        prop_assert!(verify(&input).is_err());
    }

    #[test]
    fn forged_tokens_with_real_headers_are_rejected(token in forged_token()) {
        prop_assert!(verify(&token).is_err());
    }

    #[test]
    fn any_single_byte_mutation_of_a_genuine_token_is_rejected(
        which in 0usize..3,
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let (alg, token) = &GENUINE[which];
        let mut bytes = token.as_bytes().to_vec();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != replacement);
        bytes[at] = replacement;
        // A non-UTF-8 mutation cannot be presented as &str; its lossy form is another
        // mutation, still worth checking.
        let mutated = String::from_utf8_lossy(&bytes);
        let result = verify(&mutated);
        prop_assert!(
            result.is_err(),
            "{alg}: byte {at} set to {replacement:#04x} was accepted"
        );
    }
}

/// Exhaustive for the base64url alphabet: every character of every genuine token replaced by
/// every other alphabet character (and `.`, `=`) is rejected. This covers the non-canonical
/// encodings of each segment's last character (same bytes, unused bits set).
#[test]
fn every_alphabet_substitution_of_a_genuine_token_is_rejected() {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=";
    for (alg, token) in GENUINE.iter() {
        let bytes = token.as_bytes();
        for at in 0..bytes.len() {
            for &c in ALPHABET {
                if bytes[at] == c {
                    continue;
                }
                let mut mutated = bytes.to_vec();
                mutated[at] = c;
                let mutated = String::from_utf8(mutated).expect("ascii");
                assert!(
                    verify(&mutated).is_err(),
                    "{alg}: position {at} set to {:?} was accepted",
                    c as char
                );
            }
        }
    }
}

/// Durations a user could put in a `CachePolicy`: zero, tiny, ordinary, and the extremes
/// where moka (1000 years), tokio and `Instant` arithmetic have limits.
fn any_duration() -> impl Strategy<Value = Duration> {
    const YEAR: u64 = 365 * 24 * 3600;
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::from_nanos(1)),
        (1u64..120_000).prop_map(Duration::from_millis),
        (1u64..=48).prop_map(|h| Duration::from_secs(h * 3600)),
        Just(Duration::from_secs(YEAR)),
        Just(Duration::from_secs(1000 * YEAR + 1)),
        Just(Duration::from_secs(u64::MAX)),
        Just(Duration::MAX),
    ]
}

/// Mostly the default, sometimes anything: about a third of the policies build, so both
/// `build`'s checks and the verify path get exercised.
fn duration_or(default: Duration) -> impl Strategy<Value = Duration> {
    prop_oneof![3 => Just(default), 1 => any_duration()]
}

fn count_or(default: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => Just(default),
        1 => prop_oneof![Just(0u64), Just(1), 2u64..4096, Just(u64::MAX)],
    ]
}

fn cache_policy() -> impl Strategy<Value = CachePolicy> {
    let base = CachePolicy::default();
    (
        (
            duration_or(base.ttl),
            duration_or(base.min_ttl),
            duration_or(base.max_ttl),
        ),
        (
            duration_or(base.refresh_cooldown),
            duration_or(base.max_stale),
            duration_or(base.fetch_timeout),
        ),
        (
            count_or(base.negative_cache_capacity),
            count_or(base.max_body_bytes as u64),
            count_or(base.max_kidless_candidates as u64),
        ),
        prop_oneof![Just(None), any_duration().prop_map(Some)],
    )
        .prop_map(
            |(
                (ttl, min_ttl, max_ttl),
                (cooldown, max_stale, timeout),
                (neg, body, kidless),
                ahead,
            )| {
                CachePolicy::default()
                    .ttl(ttl)
                    .min_ttl(min_ttl)
                    .max_ttl(max_ttl)
                    .refresh_cooldown(cooldown)
                    .max_stale(max_stale)
                    .fetch_timeout(timeout)
                    .negative_cache_capacity(neg)
                    .max_body_bytes(usize::try_from(body).unwrap_or(usize::MAX))
                    .max_kidless_candidates(usize::try_from(kidless).unwrap_or(usize::MAX))
                    .refresh_ahead(ahead)
            },
        )
}

/// Fetches need timers and I/O.
static NET_RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
});

/// One mock provider on loopback for every policy case (its server runs on its own thread).
static POLICY_MOCK: LazyLock<jwks_auth::testing::MockProvider> =
    LazyLock::new(|| NET_RUNTIME.block_on(jwks_auth::testing::MockProvider::better_auth()));

proptest! {
    #![proptest_config(config(48))]

    /// No cache policy makes `build` panic, and a verifier that builds never panics on
    /// verify, whatever `max-age` the provider sends and however far the clock moves.
    #[test]
    fn no_cache_policy_makes_build_or_verify_panic(
        policy in cache_policy(),
        max_age in prop::option::of(prop_oneof![Just(0u64), 1u64..100_000, Just(u64::MAX)]),
        later in 0u64..(20 * 365 * 24 * 3600),
    ) {
        let mock = &*POLICY_MOCK;
        mock.max_age(max_age);
        let clock = ManualClock::at_unix(NOW as u64);
        let built = Verifier::builder(mock.provider())
            .clock(clock.clone())
            .cache_policy(policy)
            .cache_verified(16)
            .build();
        let verifier = match built {
            Ok(verifier) => verifier,
            Err(err) => {
                prop_assert_eq!(err.kind(), ErrorKind::Config, "{}", err);
                return Ok(());
            }
        };
        let token = mock.token().at(NOW).expires_in(3600).sign();
        NET_RUNTIME.block_on(async {
            let _ = verifier.verify(&token).await;
            clock.advance(Duration::from_secs(later));
            let _ = verifier.verify(&token).await;
            let late = mock.token().at(NOW + later as i64).expires_in(3600).sign();
            let _ = verifier.verify(&late).await;
        });
    }
}
