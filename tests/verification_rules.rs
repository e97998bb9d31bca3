//! Every verification rule: algorithms, time claims, issuer, audience, authorized
//! party, header handling, claim mapping and error hygiene.

mod support;

use std::time::Duration;

use jwks_auth::testing::{MockProvider, TestKey, TestKeys, MOCK_AUDIENCE};
use jwks_auth::{
    Algorithm, AuthError, ClaimMap, ErrorKind, KeyFamily, ManualClock, Provider, Verifier,
};
use serde::Deserialize;
use serde_json::json;
use support::{b64, clock, kind_of, static_verifier, START};

fn secret_verifier(keys: &TestKeys, alg: Algorithm) -> Verifier {
    Verifier::builder(Provider::shared_secret(keys.secret()).unwrap())
        .algorithms([alg])
        .clock(clock())
        .build()
        .unwrap()
}

fn mock_verifier(mock: &MockProvider) -> Verifier {
    Verifier::builder(mock.provider()).build().unwrap()
}

/// A token whose header and payload are exactly the given JSON texts.
fn raw_token(key: &TestKey, alg: Algorithm, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.sign(alg, input.as_bytes());
    format!("{input}.{}", b64(signature))
}

// Algorithms.

macro_rules! asymmetric_algorithm_verifies {
    ($($name:ident => $alg:ident,)*) => {$(
        #[tokio::test]
        async fn $name() {
            let keys = TestKeys::new();
            let token = keys.token(Algorithm::$alg).at(START).sign();
            let user = static_verifier(&keys).verify(&token).await.unwrap();
            assert_eq!(user.id, "user_test");
        }
    )*};
}

asymmetric_algorithm_verifies! {
    eddsa_verifies => EdDSA,
    es256_verifies => ES256,
    es384_verifies => ES384,
    es512_verifies => ES512,
    rs256_verifies => RS256,
    rs384_verifies => RS384,
    rs512_verifies => RS512,
    ps256_verifies => PS256,
    ps384_verifies => PS384,
    ps512_verifies => PS512,
}

macro_rules! preset_algorithm_verifies {
    ($($name:ident => $alg:ident,)*) => {$(
        #[tokio::test]
        async fn $name() {
            let mock = MockProvider::start("better-auth", Algorithm::$alg).await;
            let user = mock_verifier(&mock).verify(&mock.token().sign()).await.unwrap();
            assert_eq!(user.id, "user_test");
        }
    )*};
}

preset_algorithm_verifies! {
    better_auth_preset_verifies_eddsa => EdDSA,
    better_auth_preset_verifies_es256 => ES256,
    better_auth_preset_verifies_es512 => ES512,
    better_auth_preset_verifies_rs256 => RS256,
    better_auth_preset_verifies_ps256 => PS256,
}

macro_rules! hmac_algorithm_verifies_with_a_shared_secret {
    ($($name:ident => $alg:ident,)*) => {$(
        #[tokio::test]
        async fn $name() {
            let keys = TestKeys::new();
            let token = keys.token(Algorithm::$alg).at(START).no_kid().sign();
            let user = secret_verifier(&keys, Algorithm::$alg).verify(&token).await.unwrap();
            assert_eq!(user.id, "user_test");
        }
    )*};
}

hmac_algorithm_verifies_with_a_shared_secret! {
    hs256_verifies_with_a_shared_secret => HS256,
    hs384_verifies_with_a_shared_secret => HS384,
    hs512_verifies_with_a_shared_secret => HS512,
}

#[tokio::test]
async fn shared_secret_mode_defaults_to_hs256_only() {
    let keys = TestKeys::new();
    let verifier = Verifier::builder(Provider::shared_secret(keys.secret()).unwrap())
        .clock(clock())
        .build()
        .unwrap();
    verifier
        .verify(&keys.token(Algorithm::HS256).at(START).no_kid().sign())
        .await
        .unwrap();
    let hs512 = keys.token(Algorithm::HS512).at(START).no_kid().sign();
    assert_eq!(
        kind_of(&verifier, &hs512).await,
        ErrorKind::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn a_shared_secret_verifies_a_token_that_names_a_kid() {
    let keys = TestKeys::new();
    let token = keys.token(Algorithm::HS256).at(START).sign();
    secret_verifier(&keys, Algorithm::HS256)
        .verify(&token)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_pem_key_verifies_a_token_without_kid() {
    let pem = std::fs::read("fixtures/keys/rsa-2048-a.pub.pem").unwrap();
    let verifier = Verifier::builder(Provider::public_key_pem(pem).unwrap())
        .clock(clock())
        .build()
        .unwrap();
    let token = TestKeys::new()
        .token(Algorithm::RS256)
        .at(START)
        .no_kid()
        .sign();
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_pem_key_verifies_a_clerk_token_that_names_a_kid() {
    let pem = std::fs::read("fixtures/keys/rsa-2048-a.pub.pem").unwrap();
    let verifier = Verifier::builder(Provider::public_key_pem(pem).unwrap())
        .clock(clock())
        .build()
        .unwrap();
    let token = TestKeys::new()
        .token(Algorithm::RS256)
        .at(START)
        .kid("ins_2abcdefghijklmnop")
        .sign();
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn an_algorithm_the_verifier_does_not_allow_is_unsupported() {
    let keys = TestKeys::new();
    let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .algorithms([Algorithm::ES256])
        .clock(clock())
        .build()
        .unwrap();
    let token = keys.token(Algorithm::EdDSA).at(START).sign();
    assert_eq!(
        kind_of(&verifier, &token).await,
        ErrorKind::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn an_algorithm_the_preset_does_not_allow_is_unsupported() {
    let mock = MockProvider::better_auth().await; // no ES384 in the preset
    let token = mock.token().alg(Algorithm::ES384).sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn an_algorithm_that_does_not_fit_the_named_key_is_unsupported() {
    let keys = TestKeys::new();
    let rsa_kid = keys.key(Algorithm::RS256).kid().to_owned();
    let token = keys.token(Algorithm::ES256).at(START).kid(&rsa_kid).sign();
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn alg_none_is_unsupported() {
    let keys = TestKeys::new();
    let token = keys.token(Algorithm::ES256).at(START).sign_none();
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn hs256_against_an_asymmetric_provider_is_unsupported() {
    let keys = TestKeys::new();
    let token = keys.token(Algorithm::HS256).at(START).sign();
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_as_secret_is_unsupported() {
    let mock = MockProvider::auth0().await;
    let public_pem = std::fs::read("fixtures/keys/rsa-2048-a.pub.pem").unwrap();
    let confused = TestKey::secret(&mock.current_kid(), &public_pem);
    let token = mock.token().key(confused).alg(Algorithm::HS256).sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn hmac_algorithms_on_a_jwks_provider_fail_at_build() {
    let provider = Provider::better_auth("https://auth.example.com").unwrap();
    let err = Verifier::builder(provider)
        .algorithms([Algorithm::HS256])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn asymmetric_algorithms_in_shared_secret_mode_fail_at_build() {
    let provider = Provider::shared_secret(TestKeys::new().secret()).unwrap();
    let err = Verifier::builder(provider)
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn an_empty_algorithm_list_fails_at_build() {
    let provider = Provider::static_jwks(&TestKeys::new().jwks_json()).unwrap();
    let err = Verifier::builder(provider)
        .algorithms([])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn a_secret_shorter_than_32_bytes_is_a_config_error() {
    let err = Provider::shared_secret([7u8; 31]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    Provider::shared_secret([7u8; 32]).unwrap();
}

// Time claims.

/// [`static_verifier`] with another leeway.
fn static_verifier_with_leeway(keys: &TestKeys, secs: u64) -> Verifier {
    Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .leeway(Duration::from_secs(secs))
        .clock(clock())
        .build()
        .unwrap()
}

#[tokio::test]
async fn exp_equal_to_now_is_expired() {
    // RFC 7519 §4.1.4: the current time must be before `exp`.
    let keys = TestKeys::new();
    let token = keys.token(Algorithm::ES256).at(START).expires_in(0).sign();
    let err = static_verifier_with_leeway(&keys, 0)
        .verify(&token)
        .await
        .unwrap_err();
    assert!(
        err.time_context()
            .is_some_and(|t| t.bound == START && t.now == START),
        "{err:?}"
    );
}

#[tokio::test]
async fn exp_equal_to_now_minus_the_leeway_is_expired() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .expires_in(-60)
        .sign();
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::Expired
    );
    let token = keys.token(Algorithm::ES256).at(START).expires_in(-5).sign();
    assert_eq!(
        kind_of(&static_verifier_with_leeway(&keys, 5), &token).await,
        ErrorKind::Expired
    );
}

#[tokio::test]
async fn exp_one_second_after_now_is_accepted_without_leeway() {
    let keys = TestKeys::new();
    let token = keys.token(Algorithm::ES256).at(START).expires_in(1).sign();
    static_verifier_with_leeway(&keys, 0)
        .verify(&token)
        .await
        .unwrap();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .expires_in(-59)
        .sign();
    static_verifier(&keys).verify(&token).await.unwrap();
}

#[tokio::test]
async fn nbf_equal_to_now_is_accepted() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .not_before_in(0)
        .sign();
    static_verifier_with_leeway(&keys, 0)
        .verify(&token)
        .await
        .unwrap();
}

#[tokio::test]
async fn exp_is_required() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .without_claim("exp")
        .sign();
    let err = static_verifier(&keys).verify(&token).await.unwrap_err();
    assert!(
        err.kind() == ErrorKind::MissingClaim && err.claim() == Some("exp"),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .expires_in(-61)
        .sign();
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::Expired
    );
}

#[tokio::test]
async fn a_token_expired_within_the_leeway_is_accepted() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .expires_in(-59)
        .sign();
    static_verifier(&keys).verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_configured_leeway_replaces_the_default() {
    let keys = TestKeys::new();
    let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .leeway(Duration::from_secs(5))
        .clock(clock())
        .build()
        .unwrap();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .expires_in(-10)
        .sign();
    assert_eq!(kind_of(&verifier, &token).await, ErrorKind::Expired);
}

#[tokio::test]
async fn a_future_nbf_beyond_the_leeway_is_not_yet_valid() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .not_before_in(61)
        .sign();
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::NotYetValid
    );
}

#[tokio::test]
async fn a_future_nbf_within_the_leeway_is_accepted() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .not_before_in(59)
        .sign();
    static_verifier(&keys).verify(&token).await.unwrap();
}

#[tokio::test]
async fn an_iat_in_the_future_is_not_yet_valid() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .claim("iat", START + 120)
        .sign();
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::NotYetValid
    );
}

#[tokio::test]
async fn a_float_numeric_date_is_accepted() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .claim("exp", START as f64 + 300.5)
        .claim("iat", START as f64 - 0.25)
        .sign();
    let user = static_verifier(&keys).verify(&token).await.unwrap();
    assert_eq!(user.expires_at(), Some(START + 300));
}

#[tokio::test]
async fn a_float_exp_in_the_past_is_still_expired() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .claim("exp", START as f64 - 100.5)
        .sign();
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::Expired
    );
}

#[tokio::test]
async fn a_string_exp_is_an_invalid_claim() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .claim("exp", (START + 300).to_string())
        .sign();
    let err = static_verifier(&keys).verify(&token).await.unwrap_err();
    assert!(
        err.kind() == ErrorKind::InvalidClaim && err.claim() == Some("exp"),
        "{err:?}"
    );
}

// Issuer.

#[tokio::test]
async fn the_exact_issuer_is_accepted() {
    let mock = MockProvider::auth0().await;
    let token = mock.token().issuer(&mock.issuer()).sign();
    mock_verifier(&mock).verify(&token).await.unwrap();
}

#[tokio::test]
async fn an_issuer_with_an_extra_trailing_slash_is_rejected() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().issuer(&format!("{}/", mock.issuer())).sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::InvalidIssuer
    );
}

#[tokio::test]
async fn an_auth0_issuer_without_its_trailing_slash_is_rejected() {
    let mock = MockProvider::auth0().await;
    let issuer = mock.issuer();
    let token = mock.token().issuer(issuer.trim_end_matches('/')).sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::InvalidIssuer
    );
}

#[tokio::test]
async fn an_issuer_differing_in_case_is_rejected() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().issuer(&mock.issuer().to_uppercase()).sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::InvalidIssuer
    );
}

#[tokio::test]
async fn a_missing_issuer_is_rejected() {
    let mock = MockProvider::clerk().await;
    let token = mock.token().without_claim("iss").sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::InvalidIssuer
    );
}

#[tokio::test]
async fn a_configured_issuer_replaces_the_presets() {
    let mock = MockProvider::clerk().await;
    let verifier = Verifier::builder(mock.provider())
        .issuer("https://other.example.com")
        .build()
        .unwrap();
    assert_eq!(
        kind_of(&verifier, &mock.token().sign()).await,
        ErrorKind::InvalidIssuer
    );
    let token = mock.token().issuer("https://other.example.com").sign();
    verifier.verify(&token).await.unwrap();
}

// Audience.

#[tokio::test]
async fn an_audience_string_naming_ours_is_accepted() {
    let mock = MockProvider::auth0().await;
    let token = mock.token().audience(MOCK_AUDIENCE).sign();
    mock_verifier(&mock).verify(&token).await.unwrap();
}

#[tokio::test]
async fn an_audience_array_containing_ours_is_accepted() {
    let mock = MockProvider::auth0().await;
    let userinfo = format!("{}userinfo", mock.issuer());
    let token = mock
        .token()
        .audiences([userinfo.as_str(), MOCK_AUDIENCE])
        .sign();
    mock_verifier(&mock).verify(&token).await.unwrap();
}

#[tokio::test]
async fn an_audience_array_without_ours_is_rejected() {
    let mock = MockProvider::auth0().await;
    let token = mock
        .token()
        .audiences(["https://other.example.test", "https://third.example.test"])
        .sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::InvalidAudience
    );
}

#[tokio::test]
async fn another_audience_string_is_rejected() {
    let mock = MockProvider::auth0().await;
    let token = mock.token().audience("https://other.example.test").sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::InvalidAudience
    );
}

#[tokio::test]
async fn a_missing_audience_is_rejected() {
    let mock = MockProvider::auth0().await;
    let token = mock.token().without_claim("aud").sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::InvalidAudience
    );
}

#[tokio::test]
async fn better_auth_requires_the_audience_to_be_the_issuer() {
    let mock = MockProvider::better_auth().await;
    let verifier = mock_verifier(&mock);
    let token = mock.token().audience(&mock.issuer()).sign();
    verifier.verify(&token).await.unwrap();
    let other = mock.token().audience("https://api.example.test").sign();
    assert_eq!(kind_of(&verifier, &other).await, ErrorKind::InvalidAudience);
}

#[tokio::test]
async fn clerk_needs_no_audience() {
    let mock = MockProvider::clerk().await;
    let token = mock.token().sign();
    assert!(!mock.token().claims().contains_key("aud"));
    mock_verifier(&mock).verify(&token).await.unwrap();
}

#[tokio::test]
async fn configured_audiences_are_checked_even_for_clerk() {
    let mock = MockProvider::clerk().await;
    let verifier = Verifier::builder(mock.provider())
        .audience("my-api")
        .build()
        .unwrap();
    assert_eq!(
        kind_of(&verifier, &mock.token().sign()).await,
        ErrorKind::InvalidAudience
    );
    verifier
        .verify(&mock.token().audience("my-api").sign())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_token_with_an_audience_is_rejected_when_none_is_configured() {
    // RFC 7519 §4.1.3: a token for some audience is not for a verifier that expects none.
    let keys = TestKeys::new();
    let verifier = static_verifier(&keys);
    for aud in [
        json!("api://other"),
        json!(["a", "b"]),
        json!([]),
        json!(null),
    ] {
        let token = keys
            .token(Algorithm::ES256)
            .at(START)
            .claim("aud", aud.clone())
            .sign();
        assert_eq!(
            kind_of(&verifier, &token).await,
            ErrorKind::InvalidAudience,
            "{aud}"
        );
    }
    let token = keys.token(Algorithm::ES256).at(START).sign();
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn shared_secret_and_pem_verifiers_reject_an_unexpected_audience() {
    let keys = TestKeys::new();
    let secret = secret_verifier(&keys, Algorithm::HS256);
    let token = keys
        .token(Algorithm::HS256)
        .at(START)
        .no_kid()
        .audience("api://other")
        .sign();
    assert_eq!(kind_of(&secret, &token).await, ErrorKind::InvalidAudience);
    let pem = std::fs::read_to_string("fixtures/keys/ec-p256-a.pub.pem").unwrap();
    let pem = Verifier::builder(Provider::public_key_pem(pem).unwrap())
        .clock(clock())
        .build()
        .unwrap();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .no_kid()
        .audience("api://other")
        .sign();
    assert_eq!(kind_of(&pem, &token).await, ErrorKind::InvalidAudience);
}

#[tokio::test]
async fn any_audience_accepts_whatever_audience_the_token_names() {
    let keys = TestKeys::new();
    let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .any_audience()
        .clock(clock())
        .build()
        .unwrap();
    for token in [
        keys.token(Algorithm::ES256)
            .at(START)
            .audience("api://x")
            .sign(),
        keys.token(Algorithm::ES256).at(START).sign(),
    ] {
        verifier.verify(&token).await.unwrap();
    }
}

#[tokio::test]
async fn any_audience_replaces_a_presets_audience_and_a_later_audience_replaces_it() {
    let mock = MockProvider::auth0().await;
    let any = Verifier::builder(mock.provider())
        .any_audience()
        .build()
        .unwrap();
    any.verify(&mock.token().audience("https://elsewhere.test").sign())
        .await
        .unwrap();
    let again = Verifier::builder(mock.provider())
        .any_audience()
        .audience("my-api")
        .build()
        .unwrap();
    let token = mock.token().audience("https://elsewhere.test").sign();
    assert_eq!(kind_of(&again, &token).await, ErrorKind::InvalidAudience);
}

#[tokio::test]
async fn clerk_rejects_a_token_with_an_audience_unless_configured() {
    let mock = MockProvider::clerk().await;
    let token = mock.token().audience("https://other-api.test").sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::InvalidAudience
    );
    let any = Verifier::builder(mock.provider())
        .any_audience()
        .build()
        .unwrap();
    any.verify(&token).await.unwrap();
}

// Authorized party.

const APP: &str = "https://app.example.test";

fn clerk_with_parties(mock: &MockProvider) -> Verifier {
    Verifier::builder(mock.provider())
        .authorized_parties([APP])
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_authorized_party_in_the_list_is_accepted() {
    let mock = MockProvider::clerk().await;
    let token = mock.token().azp(APP).sign();
    clerk_with_parties(&mock).verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_wrong_authorized_party_is_rejected() {
    let mock = MockProvider::clerk().await;
    let token = mock.token().azp("https://evil.example.test").sign();
    assert_eq!(
        kind_of(&clerk_with_parties(&mock), &token).await,
        ErrorKind::InvalidAuthorizedParty
    );
}

#[tokio::test]
async fn a_missing_authorized_party_is_rejected_when_parties_are_set() {
    let mock = MockProvider::clerk().await;
    assert_eq!(
        kind_of(&clerk_with_parties(&mock), &mock.token().sign()).await,
        ErrorKind::InvalidAuthorizedParty
    );
}

#[tokio::test]
async fn azp_is_not_checked_without_authorized_parties() {
    let mock = MockProvider::clerk().await;
    let token = mock.token().azp("https://anything.example.test").sign();
    mock_verifier(&mock).verify(&token).await.unwrap();
}

// Header handling.

#[tokio::test]
async fn a_crit_header_is_rejected_whatever_it_names() {
    let keys = TestKeys::new();
    let verifier = static_verifier(&keys);
    for crit in [
        json!(["b64"]),
        json!(["exp"]),
        json!(["x-custom"]),
        json!([]),
    ] {
        let token = keys
            .token(Algorithm::ES256)
            .at(START)
            .header("crit", crit.clone())
            .sign();
        assert_eq!(
            kind_of(&verifier, &token).await,
            ErrorKind::Malformed,
            "{crit}"
        );
    }
}

#[tokio::test]
async fn a_null_crit_header_is_malformed() {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .header("crit", json!(null))
        .sign();
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::Malformed
    );
}

#[tokio::test]
async fn a_crit_header_that_is_not_an_array_is_malformed() {
    let keys = TestKeys::new();
    let verifier = static_verifier(&keys);
    for crit in [json!("b64"), json!({}), json!(0), json!(false)] {
        let token = keys
            .token(Algorithm::ES256)
            .at(START)
            .header("crit", crit.clone())
            .sign();
        assert_eq!(
            kind_of(&verifier, &token).await,
            ErrorKind::Malformed,
            "{crit}"
        );
    }
}

#[tokio::test]
async fn a_jku_header_pointing_elsewhere_is_never_fetched() {
    let mock = MockProvider::better_auth().await;
    let attacker = MockProvider::better_auth().await;
    attacker.add_key(KeyFamily::Ed25519); // ed25519-b, which `mock` does not publish
    let token = attacker.token().header("jku", attacker.jwks_url()).sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::UnknownKey
    );
    assert_eq!(attacker.jwks_requests(), 0);
}

#[tokio::test]
async fn an_x5u_header_pointing_elsewhere_is_never_fetched() {
    let mock = MockProvider::better_auth().await;
    let attacker = MockProvider::better_auth().await;
    attacker.add_key(KeyFamily::Ed25519);
    let token = attacker.token().header("x5u", attacker.jwks_url()).sign();
    assert_eq!(
        kind_of(&mock_verifier(&mock), &token).await,
        ErrorKind::UnknownKey
    );
    assert_eq!(attacker.jwks_requests(), 0);
}

#[tokio::test]
async fn an_embedded_jwk_header_is_never_trusted() {
    let mock = MockProvider::better_auth().await;
    let verifier = mock_verifier(&mock);
    let unpublished = TestKey::fixture(KeyFamily::Ed25519, 1).unwrap();
    let embedded = unpublished.public_jwk().unwrap();
    let under_published_kid = mock
        .token()
        .key(unpublished.clone())
        .kid(&mock.current_kid())
        .header("jwk", embedded.clone())
        .sign();
    assert_eq!(
        kind_of(&verifier, &under_published_kid).await,
        ErrorKind::InvalidSignature
    );
    let without_kid = mock
        .token()
        .key(unpublished)
        .no_kid()
        .header("jwk", embedded)
        .sign();
    assert_eq!(
        kind_of(&verifier, &without_kid).await,
        ErrorKind::InvalidSignature
    );
}

#[tokio::test]
async fn extra_header_members_of_any_type_are_ignored() {
    let mock = MockProvider::better_auth().await;
    let token = mock
        .token()
        .header("oiat", START)
        .header("list", json!([1, "two", null]))
        .header("object", json!({"nested": {"deep": true}}))
        .header("flag", false)
        .sign();
    mock_verifier(&mock).verify(&token).await.unwrap();
}

#[tokio::test]
async fn duplicate_claim_names_are_malformed() {
    let keys = TestKeys::new();
    let exp = START + 300;
    let payload = format!(r#"{{"sub":"user_a","exp":{exp},"sub":"admin"}}"#);
    let token = raw_token(
        keys.key(Algorithm::ES256),
        Algorithm::ES256,
        r#"{"alg":"ES256","kid":"ec-p256-a"}"#,
        &payload,
    );
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::Malformed
    );
}

#[tokio::test]
async fn duplicate_header_names_are_malformed() {
    let keys = TestKeys::new();
    let payload = format!(r#"{{"sub":"user_a","exp":{}}}"#, START + 300);
    let token = raw_token(
        keys.key(Algorithm::ES256),
        Algorithm::ES256,
        r#"{"alg":"ES256","kid":"ec-p256-a","kid":"rsa-2048-a"}"#,
        &payload,
    );
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::Malformed
    );
}

#[tokio::test]
async fn a_payload_that_is_not_an_object_is_malformed() {
    let keys = TestKeys::new();
    let token = raw_token(
        keys.key(Algorithm::ES256),
        Algorithm::ES256,
        r#"{"alg":"ES256","kid":"ec-p256-a"}"#,
        r#"["sub","exp"]"#,
    );
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::Malformed
    );
}

#[tokio::test]
async fn tokens_that_are_not_three_parts_are_malformed() {
    let keys = TestKeys::new();
    let verifier = static_verifier(&keys);
    let token = keys.token(Algorithm::ES256).at(START).sign();
    for bad in [
        "abc".to_owned(),
        format!("{token}.extra"),
        token.split('.').next().unwrap().to_owned(),
    ] {
        assert_eq!(kind_of(&verifier, &bad).await, ErrorKind::Malformed);
    }
    assert_eq!(kind_of(&verifier, "").await, ErrorKind::MissingToken);
}

/// The RSA-8192 fixture's private key, for signing with aws-lc-rs directly (the testing kit
/// compiles in only the fast fixtures).
fn rsa_8192_signer() -> aws_lc_rs::signature::RsaKeyPair {
    use base64::Engine as _;
    let pem = std::fs::read_to_string(support::fixture_path("keys/rsa-8192-a.pem")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der).unwrap()
}

#[tokio::test]
async fn an_rsa_8192_token_with_its_1024_byte_signature_verifies() {
    let pem = std::fs::read_to_string("fixtures/keys/rsa-8192-a.pub.pem").unwrap();
    let verifier = Verifier::builder(Provider::public_key_pem(pem).unwrap())
        .clock(clock())
        .build()
        .unwrap();
    let signer = rsa_8192_signer();
    for (alg, padding) in [
        (
            "RS256",
            &aws_lc_rs::signature::RSA_PKCS1_SHA256 as &dyn aws_lc_rs::signature::RsaEncoding,
        ),
        ("PS512", &aws_lc_rs::signature::RSA_PSS_SHA512),
    ] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let payload = format!(r#"{{"sub":"big_rsa","exp":{}}}"#, START + 300);
        let input = format!("{}.{}", b64(header), b64(payload));
        let mut signature = vec![0u8; signer.public_modulus_len()];
        signer
            .sign(
                padding,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        assert_eq!(signature.len(), 1024);
        let token = format!("{input}.{}", b64(&signature));
        assert_eq!(token.rsplit('.').next().unwrap().len(), 1366);
        let user = verifier
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(user.id, "big_rsa");
        // One byte more than any accepted key's signature is refused before any key is tried.
        let mut longer = signature.clone();
        longer.push(0);
        let token = format!("{input}.{}", b64(&longer));
        assert_eq!(
            kind_of(&verifier, &token).await,
            ErrorKind::InvalidSignature
        );
    }
}

#[tokio::test]
async fn an_oversized_token_is_malformed() {
    let keys = TestKeys::new();
    let padding = "x".repeat(jwks_auth::MAX_TOKEN_BYTES);
    let token = keys
        .token(Algorithm::ES256)
        .at(START)
        .claim("padding", padding)
        .sign();
    assert_eq!(
        kind_of(&static_verifier(&keys), &token).await,
        ErrorKind::Malformed
    );
}

// Claim mapping.

#[tokio::test]
async fn better_auth_reads_the_user_id_from_sub_first() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().sub("from_sub").claim("id", "from_id").sign();
    let user = mock_verifier(&mock).verify(&token).await.unwrap();
    assert_eq!(user.id, "from_sub");
}

#[tokio::test]
async fn better_auth_falls_back_to_the_id_claim() {
    let mock = MockProvider::better_auth().await;
    let token = mock
        .token()
        .without_claim("sub")
        .claim("id", "from_id")
        .sign();
    let user = mock_verifier(&mock).verify(&token).await.unwrap();
    assert_eq!(user.id, "from_id");
}

#[tokio::test]
async fn a_token_without_any_user_id_claim_is_missing_a_claim() {
    let mock = MockProvider::auth0().await;
    let token = mock.token().without_claim("sub").sign();
    let err = mock_verifier(&mock).verify(&token).await.unwrap_err();
    assert!(
        err.kind() == ErrorKind::MissingClaim && err.claim() == Some("sub"),
        "{err:?}"
    );
}

#[tokio::test]
async fn auth0_scope_and_permissions_are_merged() {
    let mock = MockProvider::auth0().await;
    let token = mock
        .token()
        .scope("read:posts write:posts")
        .permissions(["read:posts", "admin:all"])
        .sign();
    let user = mock_verifier(&mock).verify(&token).await.unwrap();
    assert_eq!(user.scopes, ["read:posts", "write:posts", "admin:all"]);
    assert!(user.has_scope("admin:all"));
}

#[tokio::test]
async fn better_auth_ignores_permissions() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().permissions(["admin:all"]).sign();
    let user = mock_verifier(&mock).verify(&token).await.unwrap();
    assert!(!user.has_scope("admin:all"));
}

#[tokio::test]
async fn the_email_claim_is_mapped() {
    let mock = MockProvider::clerk().await;
    let token = mock.token().email("ada@example.test").sign();
    let user = mock_verifier(&mock).verify(&token).await.unwrap();
    assert_eq!(user.email.as_deref(), Some("ada@example.test"));
    assert_eq!(user.issuer(), Some(mock.issuer().as_str()));
}

#[tokio::test]
async fn a_custom_user_id_claim_may_be_a_dotted_path() {
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider())
        .user_id_claim("app_metadata.user.id")
        .build()
        .unwrap();
    let token = mock
        .token()
        .claim("app_metadata", json!({"user": {"id": "nested_1"}}))
        .sign();
    assert_eq!(verifier.verify(&token).await.unwrap().id, "nested_1");
}

/// A claim `deep` holding `levels` nested arrays around `true`, next to `is_anonymous`.
fn deeply_nested_token(keys: &TestKeys, levels: usize) -> String {
    let deep = format!("{}true{}", "[".repeat(levels), "]".repeat(levels));
    let payload = format!(
        r#"{{"sub":"deep_user","exp":{},"is_anonymous":false,"deep":{deep}}}"#,
        START + 300
    );
    raw_token(
        keys.key(Algorithm::ES256),
        Algorithm::ES256,
        r#"{"alg":"ES256","kid":"ec-p256-a"}"#,
        &payload,
    )
}

#[tokio::test]
async fn claims_nested_beyond_the_depth_limit_are_malformed() {
    // Before: verified, and then `claims.get("is_anonymous")` read None (an empty map).
    let keys = TestKeys::new();
    let verifier = static_verifier(&keys);
    for levels in [jwks_auth::MAX_PAYLOAD_DEPTH, 200, 5000] {
        let err = verifier
            .verify(&deeply_nested_token(&keys, levels))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{levels}");
        assert_eq!(
            err.to_string(),
            "malformed token: payload nests too deeply",
            "{levels}"
        );
    }
}

#[tokio::test]
async fn claims_nested_to_the_depth_limit_are_all_readable() {
    let keys = TestKeys::new();
    // The payload object is level 1, so a claim may nest one level less than the limit.
    let token = deeply_nested_token(&keys, jwks_auth::MAX_PAYLOAD_DEPTH - 1);
    let user = static_verifier(&keys).verify(&token).await.unwrap();
    assert_eq!(user.claims.get("is_anonymous"), Some(&json!(false)));
    assert!(user.claims.get("deep").is_some());
    // Brackets inside strings do not count.
    let text = format!(
        r#"{{"sub":"u","exp":{},"s":"{}"}}"#,
        START + 300,
        "[".repeat(300)
    );
    let token = raw_token(
        keys.key(Algorithm::ES256),
        Algorithm::ES256,
        r#"{"alg":"ES256","kid":"ec-p256-a"}"#,
        &text,
    );
    let user = static_verifier(&keys).verify(&token).await.unwrap();
    assert_eq!(user.claims.get_str("s").map(str::len), Some(300));
}

#[tokio::test]
async fn an_array_scope_item_with_a_space_is_one_scope() {
    let mock = MockProvider::start("keycloak", Algorithm::RS256).await;
    let token = mock
        .token()
        .scope("openid profile")
        .claim("realm_access", json!({"roles": ["tenant admin", "viewer"]}))
        .sign();
    let user = mock_verifier(&mock).verify(&token).await.unwrap();
    assert!(!user.has_scope("admin"), "{:?}", user.scopes);
    assert!(!user.has_scope("tenant"), "{:?}", user.scopes);
    assert!(user.has_scope("tenant admin"));
    assert_eq!(user.scopes, ["openid", "profile", "tenant admin", "viewer"]);
}

#[tokio::test]
async fn auth0_permissions_items_are_not_split() {
    let mock = MockProvider::auth0().await;
    let token = mock
        .token()
        .scope("read:notes")
        .permissions(["write:notes admin"])
        .sign();
    let user = mock_verifier(&mock).verify(&token).await.unwrap();
    assert_eq!(user.scopes, ["read:notes", "write:notes admin"]);
    assert!(!user.has_scope("admin"));
}

#[tokio::test]
async fn a_custom_claim_map_is_used() {
    let mock = MockProvider::auth0().await;
    let claims = ClaimMap {
        user_id: vec!["uid".into()],
        email: Some("mail".into()),
        email_verified: Some("mail_ok".into()),
        scopes: vec!["roles".into()],
    };
    let verifier = Verifier::builder(mock.provider())
        .claims(claims)
        .build()
        .unwrap();
    let token = mock
        .token()
        .claim("uid", "u_7")
        .claim("mail", "m@example.test")
        .claim("roles", json!(["editor"]))
        .claim("mail_ok", true)
        .sign();
    let user = verifier.verify(&token).await.unwrap();
    assert_eq!(user.id, "u_7");
    assert_eq!(user.email.as_deref(), Some("m@example.test"));
    assert_eq!(user.email_verified, Some(true));
    assert_eq!(user.scopes, ["editor"]);
}

#[derive(Debug, Deserialize, PartialEq)]
struct SessionClaims {
    sub: String,
    email: String,
    org_id: String,
    exp: i64,
}

#[tokio::test]
async fn verify_as_deserializes_all_claims_into_your_type() {
    let mock = MockProvider::better_auth().await;
    let token = mock
        .token()
        .email("a@b.test")
        .claim("org_id", "org_1")
        .expires_in(600);
    let expected_exp = token.claims()["exp"].as_i64().unwrap();
    let claims: SessionClaims = mock_verifier(&mock).verify_as(&token.sign()).await.unwrap();
    assert_eq!(
        claims,
        SessionClaims {
            sub: "user_test".into(),
            email: "a@b.test".into(),
            org_id: "org_1".into(),
            exp: expected_exp,
        }
    );
}

#[tokio::test]
async fn verify_as_with_a_mismatched_type_is_an_invalid_claim() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().email("a@b.test").claim("org_id", 42).sign();
    let err = mock_verifier(&mock)
        .verify_as::<SessionClaims>(&token)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidClaim);
}

#[tokio::test]
async fn verify_as_still_runs_every_check() {
    let mock = MockProvider::better_auth().await;
    let token = mock
        .token()
        .email("a@b.test")
        .claim("org_id", "o")
        .expired();
    let err = mock_verifier(&mock)
        .verify_as::<SessionClaims>(&token.sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
}

// Error hygiene.

/// Errors from as many failed checks as possible, with the token that caused each.
async fn errors_with_tokens(mock: &MockProvider, verifier: &Verifier) -> Vec<(AuthError, String)> {
    let unpublished = TestKey::fixture(KeyFamily::Rsa, 1).unwrap();
    let tokens = [
        mock.token().issuer("https://evil.example.test").sign(),
        mock.token().audience("https://evil.example.test").sign(),
        mock.token().without_claim("aud").sign(),
        mock.token().azp("https://evil.example.test").sign(),
        mock.token().expired().sign(),
        mock.token().not_before_in(3600).sign(),
        mock.token().without_claim("exp").sign(),
        mock.token().claim("exp", "soon").sign(),
        mock.token().without_claim("sub").sign(),
        mock.token().sign_with_wrong_key(),
        mock.token().sign_tampered("sub", "admin"),
        mock.token().sign_none(),
        mock.token().alg(Algorithm::ES256).sign(),
        mock.token().kid("not-published").sign(),
        mock.token().key(unpublished).no_kid().sign(),
        mock.token().header("crit", json!(["exp"])).sign(),
        format!("{}.extra", mock.token().sign()),
    ];
    let mut errors = Vec::new();
    for token in tokens {
        let err = verifier.verify(&token).await.unwrap_err();
        errors.push((err, token));
    }
    errors
}

fn assert_hygienic(err: &AuthError, token: &str, secrets: &[&str]) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(token), "token in {text}");
        let signature = token.rsplit('.').next().unwrap();
        if signature.len() > 8 {
            assert!(!text.contains(signature), "signature in {text}");
        }
        for secret in secrets {
            assert!(!text.contains(secret), "`{secret}` in {text}");
        }
    }
}

#[tokio::test]
async fn errors_never_show_the_token_issuer_or_audience() {
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider())
        .authorized_parties([APP])
        .build()
        .unwrap();
    let errors = errors_with_tokens(&mock, &verifier).await;
    let kinds: std::collections::HashSet<_> = errors.iter().map(|(e, _)| e.kind()).collect();
    assert!(kinds.len() >= 10, "{kinds:?}");
    for (err, token) in &errors {
        assert_hygienic(err, token, &[&mock.issuer(), MOCK_AUDIENCE, APP]);
    }
}

#[tokio::test]
async fn keys_unavailable_errors_never_show_the_issuer() {
    let mock = MockProvider::better_auth().await;
    mock.fail_next(1, 500);
    let token = mock.token().sign();
    let err = mock_verifier(&mock).verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_hygienic(&err, &token, &[&mock.issuer(), &mock.jwks_url()]);
}

#[tokio::test]
async fn unreachable_key_server_errors_never_show_the_url() {
    let origin = "http://127.0.0.1:9";
    let verifier = Verifier::builder(Provider::better_auth(origin).unwrap())
        .build()
        .unwrap();
    let keys = TestKeys::new();
    let token = keys.token(Algorithm::EdDSA).sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_hygienic(&err, &token, &["http://127.0.0.1:9", "/api/auth/jwks"]);
}

#[tokio::test]
async fn a_shared_secret_never_shows_in_debug() {
    let secret = TestKeys::new().secret();
    let as_bytes = format!("{:?}", secret.as_bytes());
    let byte_list = as_bytes.trim_start_matches('[').trim_end_matches(']');
    let provider = Provider::shared_secret(secret).unwrap();
    let builder = Verifier::builder(provider.clone());
    let builder_debug = format!("{builder:?}");
    let verifier = builder.build().unwrap();
    for text in [
        format!("{provider:?}"),
        builder_debug,
        format!("{verifier:?}"),
    ] {
        assert!(!text.contains(secret), "secret in {text}");
        assert!(
            !text.contains(&secret[..16]),
            "part of the secret in {text}"
        );
        assert!(!text.contains(byte_list), "secret bytes in {text}");
    }
}

#[tokio::test]
async fn token_errors_are_401() {
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider())
        .authorized_parties([APP])
        .build()
        .unwrap();
    for (err, _) in errors_with_tokens(&mock, &verifier).await {
        assert_eq!(err.status(), 401, "{err:?}");
        assert_eq!(err.kind().status(), 401);
        assert!(err.is_unauthorized());
    }
}

#[test]
fn forbidden_is_403() {
    let err = AuthError::forbidden("needs scope");
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert_eq!(err.status(), 403);
}

#[tokio::test]
async fn keys_unavailable_is_503() {
    let mock = MockProvider::clerk().await;
    mock.fail_next(1, 503);
    let err = mock_verifier(&mock)
        .verify(&mock.token().sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind().status(), 503);
}

#[test]
fn configuration_errors_are_500() {
    let err = Provider::shared_secret("short").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(err.status(), 500);
}

#[tokio::test]
async fn the_committed_fixture_jwks_verifies_every_asymmetric_algorithm() {
    let jwks = std::fs::read_to_string("fixtures/jwks/all.json").unwrap();
    let verifier = Verifier::builder(Provider::static_jwks(&jwks).unwrap())
        .clock(ManualClock::at_unix(START as u64))
        .build()
        .unwrap();
    let keys = TestKeys::new();
    for alg in Algorithm::ALL.into_iter().filter(|alg| !alg.is_symmetric()) {
        let token = keys.token(alg).at(START).sub("fixture-user").sign();
        let user = verifier
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(user.id, "fixture-user", "{alg}");
    }
}
