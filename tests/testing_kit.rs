//! The testing kit: every `TokenBuilder` option and every `MockProvider` knob,
//! each asserted through a real `Verifier`.

mod support;

use std::time::Duration;

use jwks_auth::dangerous::decode_unverified;
use jwks_auth::testing::{MockProvider, TestKey, TestKeys, TokenBuilder, TEST_SECRET};
use jwks_auth::{
    Algorithm, CachePolicy, ErrorKind, FetchError, KeyFamily, ManualClock, Provider, Verifier,
};
use serde_json::{json, Value};
use support::{clock, header_of, kind_of, static_verifier, START};

fn verifier(mock: &MockProvider) -> Verifier {
    Verifier::builder(mock.provider()).build().unwrap()
}

fn clocked(mock: &MockProvider, clock: &ManualClock) -> Verifier {
    Verifier::builder(mock.provider())
        .clock(clock.clone())
        .build()
        .unwrap()
}

// The first example of docs/testing.md, verbatim.

#[tokio::test]
async fn readme_testing_example() -> Result<(), jwks_auth::AuthError> {
    use jwks_auth::testing::MockProvider;
    use jwks_auth::Verifier;

    let mock = MockProvider::better_auth().await; // also ::auth0(), ::clerk(), ::custom(path)
    let verifier = Verifier::builder(mock.provider()).build()?;
    let token = mock
        .token()
        .sub("user_1")
        .email("a@b.c")
        .expires_in(60)
        .sign();
    assert_eq!(verifier.verify(&token).await?.id, "user_1");
    mock.rotate(); // new key published, the old one kept
    Ok(())
}

#[tokio::test]
async fn testing_module_example() -> Result<(), jwks_auth::AuthError> {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build()?;
    let token = mock
        .token()
        .sub("user_1")
        .email("a@b.c")
        .expires_in(60)
        .sign();
    assert_eq!(verifier.verify(&token).await?.id, "user_1");

    mock.rotate(); // a new key signs from now on; the old one stays published
    let token = mock.token().sub("user_1").sign();
    assert_eq!(verifier.verify(&token).await?.id, "user_1");
    assert_eq!(mock.jwks_requests(), 2); // the unknown kid caused exactly one refetch
    Ok(())
}

// TokenBuilder options.

#[tokio::test]
async fn default_mock_tokens_verify_as_user_test() {
    let mock = MockProvider::auth0().await;
    let user = verifier(&mock).verify(&mock.token().sign()).await.unwrap();
    assert_eq!(user.id, "user_test");
}

#[tokio::test]
async fn claim_adds_any_claim() {
    let mock = MockProvider::better_auth().await;
    let token = mock
        .token()
        .claim("org", json!({"id": "org_1", "role": "admin"}))
        .sign();
    let user = verifier(&mock).verify(&token).await.unwrap();
    assert_eq!(user.claims.get_str("org.role"), Some("admin"));
}

#[tokio::test]
async fn without_claim_removes_a_default_claim() {
    let mock = MockProvider::auth0().await;
    let err = verifier(&mock)
        .verify(&mock.token().without_claim("sub").sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingClaim);
}

#[tokio::test]
async fn without_claim_exp_removes_the_expiry() {
    let mock = MockProvider::auth0().await;
    let token = mock.token().expires_in(60).without_claim("exp");
    assert!(!token.claims().contains_key("exp"));
    let err = verifier(&mock).verify(&token.sign()).await.unwrap_err();
    assert!(
        err.kind() == ErrorKind::MissingClaim && err.claim() == Some("exp"),
        "{err:?}"
    );
}

#[tokio::test]
async fn sub_sets_the_user_id() {
    let mock = MockProvider::clerk().await;
    let user = verifier(&mock)
        .verify(&mock.token().sub("user_2xyz").sign())
        .await
        .unwrap();
    assert_eq!(user.id, "user_2xyz");
}

#[tokio::test]
async fn email_sets_the_email() {
    let mock = MockProvider::better_auth().await;
    let user = verifier(&mock)
        .verify(&mock.token().email("ada@example.test").sign())
        .await
        .unwrap();
    assert_eq!(user.email.as_deref(), Some("ada@example.test"));
}

#[tokio::test]
async fn scope_sets_space_separated_scopes() {
    let mock = MockProvider::better_auth().await;
    let user = verifier(&mock)
        .verify(&mock.token().scope("read write").sign())
        .await
        .unwrap();
    assert_eq!(user.scopes, ["read", "write"]);
}

#[tokio::test]
async fn permissions_set_auth0_permissions() {
    let mock = MockProvider::auth0().await;
    let user = verifier(&mock)
        .verify(
            &mock
                .token()
                .permissions(["read:posts", "delete:posts"])
                .sign(),
        )
        .await
        .unwrap();
    assert_eq!(user.scopes, ["read:posts", "delete:posts"]);
}

#[tokio::test]
async fn azp_sets_the_authorized_party() {
    let mock = MockProvider::clerk().await;
    let verifier = Verifier::builder(mock.provider())
        .authorized_parties(["https://app.example.test"])
        .build()
        .unwrap();
    verifier
        .verify(&mock.token().azp("https://app.example.test").sign())
        .await
        .unwrap();
    assert_eq!(
        kind_of(&verifier, &mock.token().azp("https://evil.test").sign()).await,
        ErrorKind::InvalidAuthorizedParty
    );
}

#[tokio::test]
async fn sid_sets_the_session_id() {
    let mock = MockProvider::clerk().await;
    let user = verifier(&mock)
        .verify(&mock.token().sid("sess_42").sign())
        .await
        .unwrap();
    assert_eq!(user.claims.get_str("sid"), Some("sess_42"));
}

#[tokio::test]
async fn expires_in_sets_exp_relative_to_now() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = clocked(&mock, &clock);
    let token = mock.token().at(START).expires_in(100).sign();
    let user = verifier.verify(&token).await.unwrap();
    assert_eq!(user.expires_at(), Some(START + 100));
    clock.advance(Duration::from_secs(100 + 61)); // past exp and the 60 s leeway
    assert_eq!(kind_of(&verifier, &token).await, ErrorKind::Expired);
}

#[tokio::test]
async fn expired_makes_an_expired_token() {
    let mock = MockProvider::better_auth().await;
    assert_eq!(
        kind_of(&verifier(&mock), &mock.token().expired().sign()).await,
        ErrorKind::Expired
    );
}

#[tokio::test]
async fn not_before_in_makes_a_token_not_yet_valid() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = clocked(&mock, &clock);
    let token = mock.token().at(START).not_before_in(300).sign();
    assert_eq!(kind_of(&verifier, &token).await, ErrorKind::NotYetValid);
    clock.advance(Duration::from_secs(300));
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn not_before_in_is_relative_to_at_whatever_the_call_order() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().not_before_in(300).at(START);
    assert_eq!(token.claims()["nbf"], json!(START + 300));
}

#[tokio::test]
async fn at_sets_iat_and_exp_for_a_manual_clock() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().at(START).expires_in(60);
    assert_eq!(token.claims()["iat"], json!(START));
    assert_eq!(token.claims()["exp"], json!(START + 60));
    clocked(&mock, &clock())
        .verify(&token.sign())
        .await
        .unwrap();
    // The same token is long expired on the system clock.
    assert_eq!(
        kind_of(&verifier(&mock), &token.sign()).await,
        ErrorKind::Expired
    );
}

macro_rules! alg_signs_with {
    ($($name:ident => $alg:ident,)*) => {$(
        #[tokio::test]
        async fn $name() {
            let keys = TestKeys::new();
            // Start from another family: alg() must switch to a key that fits.
            let token = keys.token(Algorithm::EdDSA).alg(Algorithm::$alg).at(START).sign();
            assert_eq!(header_of(&token)["alg"], json!(Algorithm::$alg.to_string()));
            static_verifier(&keys).verify(&token).await.unwrap();
        }
    )*};
}

alg_signs_with! {
    alg_signs_eddsa => EdDSA,
    alg_signs_es256 => ES256,
    alg_signs_es384 => ES384,
    alg_signs_es512 => ES512,
    alg_signs_rs256 => RS256,
    alg_signs_rs384 => RS384,
    alg_signs_rs512 => RS512,
    alg_signs_ps256 => PS256,
    alg_signs_ps384 => PS384,
    alg_signs_ps512 => PS512,
}

macro_rules! alg_signs_hmac_with {
    ($($name:ident => $alg:ident,)*) => {$(
        #[tokio::test]
        async fn $name() {
            let keys = TestKeys::new();
            let token = keys.token(Algorithm::ES256).alg(Algorithm::$alg).at(START).no_kid().sign();
            assert_eq!(header_of(&token)["alg"], json!(Algorithm::$alg.to_string()));
            let verifier = Verifier::builder(Provider::shared_secret(keys.secret()).unwrap())
                .algorithms([Algorithm::$alg])
                .clock(clock())
                .build()
                .unwrap();
            verifier.verify(&token).await.unwrap();
        }
    )*};
}

alg_signs_hmac_with! {
    alg_signs_hs256 => HS256,
    alg_signs_hs384 => HS384,
    alg_signs_hs512 => HS512,
}

#[tokio::test]
async fn alg_on_a_mock_token_picks_the_published_key_of_that_family() {
    let mock = MockProvider::better_auth().await;
    mock.add_key(KeyFamily::P256); // now the signing key
    let token = mock.token().alg(Algorithm::EdDSA).sign();
    assert_eq!(header_of(&token)["kid"], json!("ed25519-a"));
    verifier(&mock).verify(&token).await.unwrap();
}

#[tokio::test]
async fn key_signs_with_the_given_key() {
    let mock = MockProvider::better_auth().await;
    let unpublished = TestKey::fixture(KeyFamily::Ed25519, 1).unwrap();
    let token = mock.token().key(unpublished).sign();
    assert_eq!(header_of(&token)["kid"], json!("ed25519-b"));
    assert_eq!(
        kind_of(&verifier(&mock), &token).await,
        ErrorKind::UnknownKey
    );
}

#[tokio::test]
async fn kid_overrides_the_header_kid() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().kid("someone-else").sign();
    assert_eq!(header_of(&token)["kid"], json!("someone-else"));
    assert_eq!(
        kind_of(&verifier(&mock), &token).await,
        ErrorKind::UnknownKey
    );
}

#[tokio::test]
async fn no_kid_leaves_the_kid_out() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().no_kid().sign();
    assert!(!header_of(&token).contains_key("kid"));
    verifier(&mock).verify(&token).await.unwrap();
}

#[tokio::test]
async fn header_adds_any_header_member() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().header("oiat", START).sign();
    assert_eq!(header_of(&token)["oiat"], json!(START));
    verifier(&mock).verify(&token).await.unwrap();
    let crit = mock.token().header("crit", json!(["oiat"])).sign();
    assert_eq!(kind_of(&verifier(&mock), &crit).await, ErrorKind::Malformed);
}

#[tokio::test]
async fn sign_with_wrong_key_keeps_the_kid_but_fails_the_signature() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().sign_with_wrong_key();
    assert_eq!(header_of(&token)["kid"], json!(mock.current_kid()));
    assert_eq!(
        kind_of(&verifier(&mock), &token).await,
        ErrorKind::InvalidSignature
    );
}

#[tokio::test]
async fn sign_with_wrong_key_fails_for_every_family() {
    let keys = TestKeys::new();
    let verifier = static_verifier(&keys);
    for alg in [
        Algorithm::EdDSA,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::RS256,
    ] {
        let token = keys.token(alg).at(START).sign_with_wrong_key();
        assert_eq!(
            kind_of(&verifier, &token).await,
            ErrorKind::InvalidSignature,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn sign_tampered_changes_the_claim_and_breaks_the_signature() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().sign_tampered("sub", "admin");
    assert_eq!(decode_unverified(&token).unwrap().claims["sub"], "admin");
    assert_eq!(
        kind_of(&verifier(&mock), &token).await,
        ErrorKind::InvalidSignature
    );
}

#[tokio::test]
async fn sign_none_makes_an_unsigned_token() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().sign_none();
    assert_eq!(header_of(&token)["alg"], json!("none"));
    assert!(token.ends_with('.'));
    assert_eq!(
        kind_of(&verifier(&mock), &token).await,
        ErrorKind::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn claims_shows_what_would_be_signed() {
    let mock = MockProvider::auth0().await;
    let builder = mock.token().sub("u").at(START).expires_in(30);
    let claims = builder.claims();
    let signed = decode_unverified(&builder.sign()).unwrap().claims;
    assert_eq!(claims, signed);
    assert_eq!(claims["iss"], json!(mock.issuer()));
}

#[tokio::test]
async fn token_builder_new_signs_with_any_key() {
    let keys = TestKeys::new();
    let token = TokenBuilder::new(keys.key(Algorithm::ES384).clone(), Algorithm::ES384)
        .at(START)
        .sign();
    let user = static_verifier(&keys).verify(&token).await.unwrap();
    assert_eq!(user.id, "user_test");
}

// MockProvider knobs.

#[tokio::test]
async fn fail_next_fails_that_many_fetches() {
    let mock = MockProvider::better_auth().await;
    mock.fail_next(2, 503);
    let clock = clock();
    let verifier = clocked(&mock, &clock);
    let token = mock.token().at(START).sign();
    for _ in 0..2 {
        let err = verifier.verify(&token).await.unwrap_err();
        assert!(matches!(
            err.fetch_error().unwrap(),
            FetchError::Status { status: 503, .. }
        ));
        clock.advance(Duration::from_secs(31)); // past the retry cooldown
    }
    verifier
        .verify(&mock.token().at(START + 62).sign())
        .await
        .unwrap();
    assert_eq!(mock.jwks_requests(), 3);
}

#[tokio::test]
async fn retry_after_is_sent_with_failures() {
    let mock = MockProvider::better_auth().await;
    mock.retry_after(Some(7));
    mock.fail_next(1, 429);
    let err = verifier(&mock)
        .verify(&mock.token().sign())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.fetch_error().unwrap(),
            FetchError::Status {
                status: 429,
                retry_after: Some(7)
            }
        ),
        "{:?}",
        err.fetch_error().unwrap()
    );
}

#[tokio::test]
async fn malformed_next_serves_truncated_json() {
    let mock = MockProvider::better_auth().await;
    mock.malformed_next(1);
    let clock = clock();
    let verifier = clocked(&mock, &clock);
    let err = verifier.warm_up().await.unwrap_err();
    assert!(matches!(err.fetch_error().unwrap(), FetchError::Invalid(_)));
    verifier.warm_up().await.unwrap();
}

#[tokio::test]
async fn delay_slows_responses_past_a_timeout() {
    let mock = MockProvider::better_auth().await;
    mock.delay(Some(Duration::from_secs(2)));
    let verifier = Verifier::builder(mock.provider())
        .cache_policy(CachePolicy::default().fetch_timeout(Duration::from_millis(50)))
        .build()
        .unwrap();
    let err = verifier.warm_up().await.unwrap_err();
    assert!(matches!(err.fetch_error().unwrap(), FetchError::Timeout));
    mock.delay(None);
    verifier.warm_up().await.unwrap();
}

#[tokio::test]
async fn max_age_sets_cache_control() {
    let mock = MockProvider::better_auth().await;
    mock.max_age(Some(90));
    let clock = clock();
    let verifier = clocked(&mock, &clock);
    verifier.warm_up().await.unwrap();
    clock.advance(Duration::from_secs(91));
    verifier
        .verify(&mock.token().at(START + 91).sign())
        .await
        .unwrap();
    assert_eq!(mock.jwks_requests(), 2, "refetched after 90 s, not 10 min");
}

#[tokio::test]
async fn serve_raw_replaces_the_key_set_until_reset() {
    let mock = MockProvider::better_auth().await;
    mock.serve_raw(Some("not json".into()));
    let verifier = verifier(&mock);
    let err = verifier.warm_up().await.unwrap_err();
    assert!(matches!(err.fetch_error().unwrap(), FetchError::Invalid(_)));
    mock.serve_raw(None);
    verifier.warm_up().await.unwrap();
    assert_eq!(verifier.key_stats().keys, 1);
}

#[tokio::test]
async fn redirect_to_answers_with_a_redirect() {
    let mock = MockProvider::better_auth().await;
    let target = MockProvider::better_auth().await;
    mock.redirect_to(Some(target.jwks_url()));
    let verifier = verifier(&mock);
    // The 302 points at another origin (another port), which the fetcher refuses.
    let err = verifier.warm_up().await.unwrap_err();
    assert!(matches!(err.fetch_error().unwrap(), FetchError::Redirect));
    assert_eq!(target.jwks_requests(), 0);
    mock.redirect_to(None);
    verifier.warm_up().await.unwrap();
    assert_eq!(mock.jwks_requests(), 2);
}

#[tokio::test]
async fn jwks_requests_counts_every_answer() {
    let mock = MockProvider::better_auth().await;
    assert_eq!(mock.jwks_requests(), 0);
    mock.fail_next(1, 500);
    let verifier = verifier(&mock);
    let _ = verifier.warm_up().await;
    verifier.warm_up().await.unwrap();
    assert_eq!(mock.jwks_requests(), 2);
}

#[tokio::test]
async fn rotate_publishes_a_new_signing_key_and_keeps_the_old() {
    let mock = MockProvider::better_auth().await;
    let verifier = verifier(&mock);
    let old_kid = mock.current_kid();
    let old_token = mock.token().sign();
    verifier.verify(&old_token).await.unwrap();
    let new_kid = mock.rotate();
    assert_ne!(new_kid, old_kid);
    assert_eq!(mock.current_kid(), new_kid);
    assert_eq!(mock.kids(), [old_kid, new_kid.clone()]);
    let new_token = mock.token().sign();
    assert_eq!(header_of(&new_token)["kid"], json!(new_kid));
    verifier.verify(&new_token).await.unwrap();
    verifier.verify(&old_token).await.unwrap();
}

#[tokio::test]
async fn rotate_keeps_working_past_the_fixture_keys() {
    let mock = MockProvider::better_auth().await;
    let verifier = verifier(&mock);
    for _ in 0..3 {
        mock.rotate();
    }
    let kids = mock.kids();
    assert_eq!(kids.len(), 4);
    let unique: std::collections::HashSet<_> = kids.iter().collect();
    assert_eq!(unique.len(), 4, "{kids:?}");
    verifier.verify(&mock.token().sign()).await.unwrap();
}

#[tokio::test]
async fn add_key_publishes_a_key_of_another_family() {
    let mock = MockProvider::better_auth().await;
    let kid = mock.add_key(KeyFamily::Rsa);
    assert_eq!(mock.current_kid(), kid);
    assert!(mock.kids().contains(&kid));
    let token = mock.token().sign();
    assert_eq!(header_of(&token)["alg"], json!("RS256"));
    verifier(&mock).verify(&token).await.unwrap();
}

#[tokio::test]
async fn remove_key_unpublishes_a_kid() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = clocked(&mock, &clock);
    let old_kid = mock.current_kid();
    let old_token = mock.token().at(START).expires_in(3600).sign();
    verifier.verify(&old_token).await.unwrap();
    mock.rotate();
    mock.remove_key(&old_kid);
    assert!(!mock.kids().contains(&old_kid));
    clock.advance(Duration::from_secs(601)); // the cached set expires
    assert_eq!(kind_of(&verifier, &old_token).await, ErrorKind::UnknownKey);
}

#[tokio::test]
async fn kids_and_current_kid_describe_the_published_set() {
    let mock = MockProvider::clerk().await;
    assert_eq!(mock.kids(), ["rsa-2048-a"]);
    assert_eq!(mock.current_kid(), "rsa-2048-a");
    let verifier = verifier(&mock);
    verifier.warm_up().await.unwrap();
    assert_eq!(verifier.key_stats().keys, mock.kids().len());
}

#[tokio::test]
async fn serve_token_endpoint_mints_verifiable_tokens() {
    let mock = MockProvider::better_auth().await;
    mock.serve_token_endpoint().await;
    let response: Value = reqwest::Client::new()
        .post(format!("{}/token", mock.uri()))
        .json(&json!({"sub": "user_9", "email": "nine@example.test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = response["token"].as_str().unwrap();
    let user = verifier(&mock).verify(token).await.unwrap();
    assert_eq!(user.id, "user_9");
    assert_eq!(user.email.as_deref(), Some("nine@example.test"));
}

#[tokio::test]
async fn serve_token_endpoint_refuses_a_body_that_is_not_claims() {
    let mock = MockProvider::better_auth().await;
    mock.serve_token_endpoint().await;
    let response = reqwest::Client::new()
        .post(format!("{}/token", mock.uri()))
        .body("[1, 2]")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn serve_token_endpoint_signs_with_the_rotated_key() {
    let mock = MockProvider::better_auth().await;
    mock.serve_token_endpoint().await;
    let new_kid = mock.rotate();
    let response: Value = reqwest::Client::new()
        .post(format!("{}/token", mock.uri()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = response["token"].as_str().unwrap();
    assert_eq!(header_of(token)["kid"], json!(new_kid));
    verifier(&mock).verify(token).await.unwrap();
}

#[tokio::test]
async fn custom_starts_a_mock_from_a_preset_file() {
    let mock = MockProvider::custom("fixtures/custom-provider.toml").await;
    assert_eq!(mock.preset(), "acme-idp");
    assert_eq!(mock.provider().algorithms()[0], Algorithm::ES256);
    let token = mock.token().sign();
    assert_eq!(header_of(&token)["alg"], json!("ES256"));
    verifier(&mock).verify(&token).await.unwrap();
}

#[tokio::test]
async fn start_signs_with_the_requested_algorithm() {
    let mock = MockProvider::start("better-auth", Algorithm::ES512).await;
    let token = mock.token().sign();
    assert_eq!(header_of(&token)["alg"], json!("ES512"));
    verifier(&mock).verify(&token).await.unwrap();
}

// TestKeys and TestKey.

#[tokio::test]
async fn test_keys_back_a_static_jwks_verifier() {
    let keys = TestKeys::new();
    let verifier = static_verifier(&keys);
    let token = keys.token(Algorithm::ES256).sub("user_1").at(START).sign();
    assert_eq!(verifier.verify(&token).await.unwrap().id, "user_1");
}

#[tokio::test]
async fn test_keys_publish_one_key_per_asymmetric_family() {
    let keys = TestKeys::new();
    let jwks: Value = serde_json::from_str(&keys.jwks_json()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 5);
    let verifier = static_verifier(&keys);
    assert_eq!(verifier.key_stats().keys, 5);
}

/// A shared-secret verifier over the kit's HMAC secret, on the test clock.
fn shared_secret_verifier(keys: &TestKeys) -> Verifier {
    Verifier::builder(Provider::shared_secret(keys.secret()).unwrap())
        .clock(clock())
        .build()
        .unwrap()
}

#[tokio::test]
async fn test_keys_secret_backs_a_shared_secret_verifier_for_kidless_tokens() {
    let keys = TestKeys::new();
    assert_eq!(keys.secret(), TEST_SECRET.trim());
    let verifier = shared_secret_verifier(&keys);
    let token = keys.token(Algorithm::HS256).at(START).no_kid().sign();
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn test_keys_hs256_tokens_verify_in_shared_secret_mode() {
    let keys = TestKeys::new();
    let verifier = shared_secret_verifier(&keys);
    let token = keys.token(Algorithm::HS256).at(START).sign();
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_shared_secret_verifier_rejects_another_secret() {
    let keys = TestKeys::new();
    let verifier = shared_secret_verifier(&keys);
    let other = TestKey::secret("other", &[9u8; 48]);
    let token = keys
        .token(Algorithm::HS256)
        .key(other)
        .at(START)
        .no_kid()
        .sign();
    assert_eq!(
        kind_of(&verifier, &token).await,
        ErrorKind::InvalidSignature
    );
}

#[tokio::test]
async fn with_kid_renames_a_key_without_changing_it() {
    let key = TestKey::fixture(KeyFamily::P256, 0)
        .unwrap()
        .with_kid("renamed");
    assert_eq!(key.kid(), "renamed");
    let jwks = json!({ "keys": [key.public_jwk().unwrap()] }).to_string();
    let verifier = Verifier::builder(Provider::static_jwks(&jwks).unwrap())
        .clock(clock())
        .build()
        .unwrap();
    let token = TokenBuilder::new(key, Algorithm::ES256).at(START).sign();
    assert_eq!(header_of(&token)["kid"], json!("renamed"));
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn generated_keys_verify_through_their_public_jwk() {
    for family in [KeyFamily::Ed25519, KeyFamily::P384, KeyFamily::P521] {
        let key = TestKey::generate(family, "fresh");
        assert_eq!(key.family(), family);
        let jwks = json!({ "keys": [key.public_jwk().unwrap()] }).to_string();
        let verifier = Verifier::builder(Provider::static_jwks(&jwks).unwrap())
            .clock(clock())
            .build()
            .unwrap();
        let alg = key.default_algorithm();
        let token = TokenBuilder::new(key, alg).at(START).sign();
        verifier
            .verify(&token)
            .await
            .expect("generated key verifies");
    }
}

#[test]
fn public_jwks_carry_no_use_or_alg_and_secrets_have_none() {
    let jwk = TestKey::for_algorithm(Algorithm::RS256)
        .public_jwk()
        .unwrap();
    assert_eq!(jwk["kty"], "RSA");
    assert!(jwk.get("use").is_none() && jwk.get("alg").is_none());
    assert!(TestKey::for_algorithm(Algorithm::HS256)
        .public_jwk()
        .is_none());
}

#[test]
fn fixture_keys_exist_per_family() {
    assert!(TestKey::fixture(KeyFamily::Ed25519, 1).is_some());
    assert!(TestKey::fixture(KeyFamily::P256, 1).is_some());
    assert!(TestKey::fixture(KeyFamily::Rsa, 1).is_some());
    assert!(TestKey::fixture(KeyFamily::P384, 1).is_none());
    assert_eq!(TestKey::for_algorithm(Algorithm::PS384).kid(), "rsa-2048-a");
}

#[tokio::test]
async fn test_key_sign_produces_a_verifiable_jws_signature() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let keys = TestKeys::new();
    let key = keys.key(Algorithm::EdDSA);
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":"ed25519-a"}"#);
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"raw","exp":{}}}"#, START + 60));
    let input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(key.sign(Algorithm::EdDSA, input.as_bytes()));
    let user = static_verifier(&keys)
        .verify(&format!("{input}.{signature}"))
        .await
        .unwrap();
    assert_eq!(user.id, "raw");
}
