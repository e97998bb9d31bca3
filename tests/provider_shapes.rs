//! Auth0 and Clerk as they really look: JWK sets with `x5c`/`x5t`/`use`/`alg` and Clerk's
//! `ins_…` kids, and tokens with each provider's extra header members and claims
//! (`fixtures/shapes/`), verified through the `auth0` and `clerk` presets.

mod support;

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jwks_auth::testing::{MockProvider, TestKey, TokenBuilder, MOCK_AUDIENCE};
use jwks_auth::{cookie_value, ErrorKind, KeyFamily, ManualClock, Verifier};
use serde_json::{Map, Value};

/// The Clerk app origin that requests session tokens (their `azp`).
const CLERK_APP: &str = "https://app.example.com";
/// A fixed "now" for the Clerk expiry tests.
const NOW: u64 = 1_750_000_000;

fn shape_text(name: &str) -> String {
    support::fixture_text(&format!("shapes/{name}"))
}

fn json_file(name: &str) -> Value {
    support::fixture_json(&format!("shapes/{name}"))
}

fn fixture_key_jwk(name: &str) -> Value {
    support::fixture_json(&format!("keys/{name}.jwk.json"))
}

/// A token shape with its `{placeholders}` filled: (extra header members, claims).
fn token_shape(name: &str, values: &[(&str, &str)]) -> (Map<String, Value>, Map<String, Value>) {
    let mut text = shape_text(name);
    for (placeholder, value) in values {
        text = text.replace(&format!("{{{placeholder}}}"), value);
    }
    let shape: Value = serde_json::from_str(&text).unwrap();
    let object = |member: &str| shape[member].as_object().expect(member).clone();
    (object("header"), object("claims"))
}

fn apply_shape(
    mut builder: TokenBuilder,
    (header, claims): &(Map<String, Value>, Map<String, Value>),
) -> TokenBuilder {
    for (name, value) in header {
        builder = builder.header(name, value.clone());
    }
    for (name, value) in claims {
        builder = builder.claim(name, value.clone());
    }
    builder
}

/// The kid of key `index` in a fixture JWK set.
fn kid_at(jwks: &Value, index: usize) -> String {
    jwks["keys"][index]["kid"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------
// The fixture documents themselves
// ---------------------------------------------------------------------------------------

#[test]
fn auth0_jwks_fixture_has_auth0s_shape_and_the_fixture_keys() {
    let jwks = json_file("auth0-jwks.json");
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "current and next signing key");
    for (key, fixture) in keys.iter().zip(["rsa-2048-a", "rsa-2048-b"]) {
        let fixture = fixture_key_jwk(fixture);
        assert_eq!((&key["n"], &key["e"]), (&fixture["n"], &fixture["e"]));
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "RS256");
        assert!(key["kid"].as_str().is_some_and(|kid| !kid.is_empty()));
        // x5t is the SHA-1 thumbprint of the first x5c certificate (RFC 7517 §4.8).
        let der = STANDARD.decode(key["x5c"][0].as_str().unwrap()).unwrap();
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        assert_eq!(key["x5t"], URL_SAFE_NO_PAD.encode(sha1.as_ref()));
    }
}

#[test]
fn clerk_jwks_fixture_has_clerks_shape_and_the_fixture_key() {
    let jwks = json_file("clerk-jwks.json");
    let key = &jwks["keys"][0];
    let fixture = fixture_key_jwk("rsa-2048-a");
    assert_eq!((&key["n"], &key["e"]), (&fixture["n"], &fixture["e"]));
    assert!(key["kid"].as_str().unwrap().starts_with("ins_"));
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
}

// ---------------------------------------------------------------------------------------
// Auth0
// ---------------------------------------------------------------------------------------

/// A mock Auth0 tenant serving the fixture JWKS byte for byte, and a token shape for it.
async fn auth0() -> (
    MockProvider,
    Value,
    (Map<String, Value>, Map<String, Value>),
) {
    let mock = MockProvider::auth0().await;
    let jwks_text = shape_text("auth0-jwks.json");
    mock.serve_raw(Some(jwks_text.clone()));
    let shape = token_shape(
        "auth0-access-token.json",
        &[("origin", &mock.uri()), ("audience", MOCK_AUDIENCE)],
    );
    (mock, serde_json::from_str(&jwks_text).unwrap(), shape)
}

fn auth0_token(mock: &MockProvider, jwks: &Value, key_index: usize) -> TokenBuilder {
    let key = TestKey::fixture(KeyFamily::Rsa, key_index)
        .unwrap()
        .with_kid(&kid_at(jwks, key_index));
    mock.token().key(key)
}

#[tokio::test]
async fn auth0_access_token_verifies_with_user_and_merged_scopes() {
    let (mock, jwks, shape) = auth0().await;
    let token = apply_shape(auth0_token(&mock, &jwks, 0), &shape).sign();
    let header = jwks_auth::dangerous::decode_unverified(&token)
        .unwrap()
        .header;
    assert_eq!(
        header["gty"],
        serde_json::json!(["password", "refresh_token"])
    );
    assert!(
        mock.issuer().ends_with('/'),
        "Auth0 issuers end with a slash"
    );

    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let user = verifier.verify(&token).await.expect("Auth0-shaped token");
    assert_eq!(user.id, "auth0|64f1c2a9e3b7d5a1c8e4f209");
    assert_eq!(user.issuer(), Some(mock.issuer().as_str()));
    assert_eq!(
        user.scopes,
        [
            "openid",
            "profile",
            "email",
            "read:messages",
            "write:messages"
        ],
        "`scope` words, then `permissions`, without duplicates"
    );
    assert!(user.has_scope("write:messages"));
    assert_eq!(user.email, None, "Auth0 access tokens carry no email");
    assert_eq!(mock.jwks_requests(), 1);
    assert_eq!(verifier.key_stats().keys, 2, "x5c/x5t keys are usable");
}

#[tokio::test]
async fn auth0_second_published_key_verifies_and_kids_are_bound_to_keys() {
    let (mock, jwks, shape) = auth0().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let next_key = apply_shape(auth0_token(&mock, &jwks, 1), &shape).sign();
    assert_eq!(
        verifier.verify(&next_key).await.unwrap().id,
        "auth0|64f1c2a9e3b7d5a1c8e4f209"
    );
    // Key A's signature under key B's kid.
    let swapped = apply_shape(auth0_token(&mock, &jwks, 0), &shape)
        .kid(&kid_at(&jwks, 1))
        .sign();
    let err = verifier.verify(&swapped).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{err}");
}

#[tokio::test]
async fn auth0_audience_array_must_name_the_api() {
    let (mock, jwks, shape) = auth0().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let userinfo_only = apply_shape(auth0_token(&mock, &jwks, 0), &shape)
        .audiences([format!("{}/userinfo", mock.uri())])
        .sign();
    let err = verifier.verify(&userinfo_only).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAudience, "{err}");

    let no_slash = apply_shape(auth0_token(&mock, &jwks, 0), &shape)
        .issuer(&mock.uri())
        .sign();
    let err = verifier.verify(&no_slash).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidIssuer,
        "the trailing slash is part of Auth0's issuer: {err}"
    );
}

#[tokio::test]
async fn auth0_authorized_parties_check_azp() {
    let (mock, jwks, shape) = auth0().await;
    let azp = shape.1["azp"].as_str().unwrap().to_owned();
    let token = apply_shape(auth0_token(&mock, &jwks, 0), &shape).sign();

    let right = Verifier::builder(mock.provider())
        .authorized_parties([azp.clone(), "another-client".into()])
        .build()
        .unwrap();
    assert!(right.verify(&token).await.is_ok());

    let wrong = Verifier::builder(mock.provider())
        .authorized_parties(["another-client"])
        .build()
        .unwrap();
    let err = wrong.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAuthorizedParty, "{err}");
    assert_eq!(err.status(), 401);
}

// ---------------------------------------------------------------------------------------
// Clerk
// ---------------------------------------------------------------------------------------

/// A mock Clerk Frontend API serving the fixture JWKS, and a session token issued at `NOW`.
async fn clerk() -> (
    MockProvider,
    (Map<String, Value>, Map<String, Value>),
    TokenBuilder,
) {
    let mock = MockProvider::clerk().await;
    let jwks_text = shape_text("clerk-jwks.json");
    mock.serve_raw(Some(jwks_text.clone()));
    let jwks: Value = serde_json::from_str(&jwks_text).unwrap();
    let shape = token_shape(
        "clerk-session-token.json",
        &[("origin", &mock.uri()), ("app", CLERK_APP)],
    );
    let key = TestKey::fixture(KeyFamily::Rsa, 0)
        .unwrap()
        .with_kid(&kid_at(&jwks, 0));
    let builder =
        apply_shape(mock.token().key(key).at(NOW as i64), &shape).claim("nbf", NOW as i64 - 10);
    (mock, shape, builder)
}

fn clerk_verifier(mock: &MockProvider, clock: &ManualClock) -> Verifier {
    Verifier::builder(mock.provider())
        .authorized_parties([CLERK_APP])
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn clerk_session_token_verifies_with_its_claims() {
    let (mock, _, builder) = clerk().await;
    let token = builder.sign();
    let decoded = jwks_auth::dangerous::decode_unverified(&token).unwrap();
    assert!(decoded.header["oiat"].is_number());
    assert!(decoded.header["kid"].as_str().unwrap().starts_with("ins_"));
    assert!(
        decoded.claims.get("aud").is_none(),
        "Clerk tokens have no aud"
    );
    assert_eq!(
        decoded.claims["exp"].as_i64().unwrap() - decoded.claims["iat"].as_i64().unwrap(),
        60
    );

    let clock = ManualClock::at_unix(NOW);
    let verifier = clerk_verifier(&mock, &clock);
    let user = verifier.verify(&token).await.expect("Clerk-shaped token");
    assert_eq!(user.id, "user_2abcDEFghiJKLmnoPQRstuVW");
    assert_eq!(
        user.claims.get_str("sid"),
        Some("sess_2abcDEFghiJKLmnoPQRstuVW")
    );
    assert_eq!(user.claims.get_str("o.rol"), Some("admin"));
    assert_eq!(user.claims.get("v"), Some(&Value::from(2)));
    assert!(user.scopes.is_empty());

    // The same token from the `__session` cookie, as the preset's token sources say.
    let cookie = format!("theme=dark; __session={token}");
    let from_cookie = cookie_value(&cookie, "__session").unwrap();
    assert_eq!(verifier.verify(from_cookie).await.unwrap().id, user.id);
}

#[tokio::test]
async fn clerk_authorized_parties_reject_other_origins() {
    let (mock, _, builder) = clerk().await;
    let clock = ManualClock::at_unix(NOW);
    let verifier = clerk_verifier(&mock, &clock);
    for token in [
        builder.clone().azp("https://evil.example.com").sign(),
        builder
            .clone()
            .azp("https://app.example.com.evil.example")
            .sign(),
        builder.clone().without_claim("azp").sign(),
    ] {
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidAuthorizedParty, "{err}");
    }
    assert!(verifier.verify(&builder.sign()).await.is_ok());
}

#[tokio::test]
async fn clerk_token_expires_after_60_seconds() {
    let (mock, _, builder) = clerk().await;
    let token = builder.sign();
    let expiry = NOW as i64 + 60;

    // The preset allows 10 s of clock skew; now must be before exp + leeway (RFC 7519 §4.1.4).
    let clock = ManualClock::at_unix(NOW);
    let verifier = clerk_verifier(&mock, &clock);
    clock.advance(Duration::from_secs(59));
    assert!(verifier.verify(&token).await.is_ok());
    clock.advance(Duration::from_secs(10)); // exp + leeway - 1
    assert!(verifier.verify(&token).await.is_ok());
    clock.advance(Duration::from_secs(1)); // exp + leeway
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(
        err.time_context()
            .is_some_and(|t| t.bound == expiry && t.now == expiry + 10),
        "{err:?}"
    );

    // Without leeway the 60 s lifetime is exact.
    let strict_clock = ManualClock::at_unix(NOW + 59);
    let strict = Verifier::builder(mock.provider())
        .leeway(Duration::ZERO)
        .clock(strict_clock.clone())
        .build()
        .unwrap();
    assert!(strict.verify(&token).await.is_ok());
    strict_clock.advance(Duration::from_secs(1)); // exp
    let err = strict.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired, "{err}");
}

/// Clerk's networkless option: the dashboard's "JWT public key" (PEM) instead of the JWKS.
/// Clerk tokens still name their `ins_…` kid, which a PEM key cannot carry.
#[tokio::test]
async fn clerk_token_verifies_with_the_dashboard_pem_key() {
    let (mock, _, builder) = clerk().await;
    let token = builder.sign();
    let pem = support::fixture_bytes("keys/rsa-2048-a.pub.pem");
    let verifier = Verifier::builder(jwks_auth::Provider::public_key_pem(pem).unwrap())
        .issuer(mock.uri())
        .authorized_parties([CLERK_APP])
        .clock(ManualClock::at_unix(NOW))
        .build()
        .unwrap();
    let user = verifier
        .verify(&token)
        .await
        .expect("PEM-verified Clerk token");
    assert_eq!(user.id, "user_2abcDEFghiJKLmnoPQRstuVW");
    assert_eq!(mock.jwks_requests(), 0, "nothing is fetched");

    let forged = builder
        .clone()
        .key(
            TestKey::fixture(KeyFamily::Rsa, 1)
                .unwrap()
                .with_kid("ins_2abcDEFghiJKLmnoPQRstuVWXyz"),
        )
        .sign();
    let err = verifier.verify(&forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{err}");
}
