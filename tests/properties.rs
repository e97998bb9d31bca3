//! Property tests: arbitrary input never panics and is never accepted; no single-byte change
//! to a genuine token is accepted.

use std::sync::LazyLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwks_auth::testing::TestKeys;
use jwks_auth::{dangerous, Algorithm, AuthUser, ManualClock, Provider, Result, Verifier};
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
