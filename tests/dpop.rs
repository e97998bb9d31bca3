//! DPoP (RFC 9449) and certificate-bound tokens (RFC 8705) end to end with the testing kit:
//! a bound access token minted by `TokenBuilder::dpop_bound`, verified by a `Verifier`, its
//! `cnf` read with `Confirmation`, and a `DpopProof` checked by `DpopChecker`.

use std::time::Duration;

use jwks_auth::dpop::{
    certificate_thumbprint, Confirmation, DpopChecker, DpopError, DpopRequest, NonceIssuer,
    VerifiedProof,
};
use jwks_auth::testing::{DpopProof, TestKey, TestKeys};
use jwks_auth::{Algorithm, KeyFamily, ManualClock, Provider, Verifier};
use serde_json::json;

const URL: &str = "https://api.example.com/x";

fn client_key() -> TestKey {
    TestKey::fixture(KeyFamily::P256, 1).unwrap()
}

struct Setup {
    keys: TestKeys,
    verifier: Verifier,
    checker: DpopChecker,
}

fn setup() -> Setup {
    setup_with(DpopChecker::builder())
}

fn setup_with(builder: jwks_auth::dpop::DpopCheckerBuilder) -> Setup {
    let keys = TestKeys::new();
    let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .build()
        .unwrap();
    Setup {
        keys,
        verifier,
        checker: builder.build().unwrap(),
    }
}

impl Setup {
    fn bound_token(&self) -> String {
        self.keys
            .token(Algorithm::RS256)
            .dpop_bound(&client_key())
            .sign()
    }

    /// What a resource server does: verify the token, read its binding, check the proof.
    async fn access(
        &self,
        token: &str,
        proof: &str,
        method: &str,
        url: &str,
    ) -> Result<VerifiedProof, DpopError> {
        let user = self
            .verifier
            .verify(token)
            .await
            .expect("the token verifies");
        let cnf = Confirmation::from_claim(user.claims.get("cnf").expect("a bound token"))?;
        let mut request = DpopRequest::new(method, url).access_token(token);
        if let Some(jkt) = cnf.jkt() {
            request = request.cnf_jkt(jkt);
        }
        let verified = self.checker.check(&[proof], &request).await?;
        cnf.check(Some(verified.jkt()), None)?;
        Ok(verified)
    }

    async fn get(&self, token: &str, proof: &str) -> Result<VerifiedProof, DpopError> {
        self.access(token, proof, "GET", URL).await
    }
}

fn proof_for(token: &str) -> DpopProof {
    DpopProof::new(&client_key())
        .method("GET")
        .url(URL)
        .token(token)
}

fn reason(result: Result<VerifiedProof, DpopError>) -> &'static str {
    match result {
        Err(DpopError::InvalidProof(reason)) => reason,
        other => panic!("expected an invalid proof, got {other:?}"),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn a_valid_proof_for_a_bound_token_is_accepted() {
    let s = setup();
    let token = s.bound_token();
    let verified = s.get(&token, &proof_for(&token).sign()).await.unwrap();
    assert_eq!(verified.jkt(), client_key().jkt());
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let proof = proof_for(&token).sign();
    s.get(&token, &proof).await.unwrap();
    assert!(matches!(
        s.get(&token, &proof).await,
        Err(DpopError::Replayed)
    ));
}

#[tokio::test]
async fn a_replay_is_refused_by_a_clone_of_the_checker() {
    let s = setup();
    let token = s.bound_token();
    let proof = proof_for(&token).sign();
    s.get(&token, &proof).await.unwrap();
    let jkt = client_key().jkt();
    let request = DpopRequest::new("GET", URL)
        .access_token(&token)
        .cnf_jkt(&jkt);
    let clone = s.checker.clone();
    assert!(matches!(
        clone.check(&[&proof], &request).await,
        Err(DpopError::Replayed)
    ));
}

#[tokio::test]
async fn a_wrong_htm_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let proof = proof_for(&token).method("POST").sign();
    assert_eq!(
        reason(s.get(&token, &proof).await),
        "htm does not match the request method"
    );
}

#[tokio::test]
async fn a_wrong_htu_is_refused() {
    let s = setup();
    let token = s.bound_token();
    for htu in [
        "https://api.example.com/y",
        "https://api.example.com:8443/x",
        "http://api.example.com/x",
        "https://other.example.com/x",
        "https://api.example.com/X",
    ] {
        let proof = proof_for(&token).url(htu).sign();
        assert_eq!(
            reason(s.get(&token, &proof).await),
            "htu does not match the request url",
            "{htu}"
        );
    }
}

#[tokio::test]
async fn htu_normalisation_cases_match() {
    let s = setup();
    let token = s.bound_token();
    for (htu, request_url) in [
        ("HTTPS://API.example.com:443/x", "https://api.example.com/x"),
        ("https://api.example.com/x", "HTTPS://API.example.com:443/x"),
        (
            "https://api.example.com/x?a=1#frag",
            "https://api.example.com/x",
        ),
        (
            "https://api.example.com/x",
            "https://api.example.com/x?page=2",
        ),
        ("https://api.example.com", "https://api.example.com/"),
        ("https://api.example.com/%7Ex", "https://api.example.com/~x"),
    ] {
        let proof = proof_for(&token).url(htu).sign();
        s.access(&token, &proof, "GET", request_url)
            .await
            .unwrap_or_else(|e| panic!("{htu} vs {request_url}: {e}"));
    }
}

#[tokio::test]
async fn a_stale_iat_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let proof = proof_for(&token).iat(unix_now() - 120).sign();
    assert_eq!(reason(s.get(&token, &proof).await), "proof iat is too old");
}

#[tokio::test]
async fn a_future_iat_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let proof = proof_for(&token).iat(unix_now() + 120).sign();
    assert_eq!(
        reason(s.get(&token, &proof).await),
        "proof iat is in the future"
    );
}

#[tokio::test]
async fn a_wrong_ath_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let other = s.bound_token().replace("a", "b");
    let proof = proof_for(&other).sign();
    assert_eq!(
        reason(s.get(&token, &proof).await),
        "ath does not match the access token"
    );
}

#[tokio::test]
async fn another_keys_proof_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let thief = TestKey::fixture(KeyFamily::P256, 0).unwrap();
    let proof = DpopProof::new(&thief).url(URL).token(&token).sign();
    assert!(matches!(
        s.get(&token, &proof).await,
        Err(DpopError::BindingMismatch(
            "proof key does not match cnf jkt"
        ))
    ));
}

#[tokio::test]
async fn a_proof_with_a_private_jwk_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let proof = proof_for(&token).private_jwk().sign();
    assert_eq!(
        reason(s.get(&token, &proof).await),
        "proof jwk contains private key members"
    );
}

#[tokio::test]
async fn a_proof_with_a_wrong_typ_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let proof = proof_for(&token).typ("JWT").sign();
    assert_eq!(
        reason(s.get(&token, &proof).await),
        "proof typ is not dpop+jwt"
    );
}

#[tokio::test]
async fn a_proof_with_alg_none_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let proof = proof_for(&token).alg_label("none").sign();
    assert_eq!(
        reason(s.get(&token, &proof).await),
        "unsupported proof algorithm"
    );
}

#[tokio::test]
async fn a_proof_with_alg_hs256_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let proof = proof_for(&token).alg_label("HS256").sign();
    assert_eq!(
        reason(s.get(&token, &proof).await),
        "proof algorithm is symmetric"
    );
}

#[tokio::test]
async fn a_proof_without_jti_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let proof = proof_for(&token).without_claim("jti").sign();
    assert_eq!(reason(s.get(&token, &proof).await), "proof has no jti");
}

#[tokio::test]
async fn a_bound_token_without_a_proof_is_refused() {
    let s = setup();
    let token = s.bound_token();
    let user = s.verifier.verify(&token).await.unwrap();
    let cnf = Confirmation::from_claim(user.claims.get("cnf").unwrap()).unwrap();
    assert!(matches!(
        cnf.check(None, None),
        Err(DpopError::BindingMismatch("token requires a dpop proof"))
    ));
}

#[tokio::test]
async fn a_proof_with_a_bearer_token_is_refused() {
    let s = setup();
    let token = s.keys.token(Algorithm::RS256).sign();
    let request = DpopRequest::new("GET", URL).access_token(&token);
    let proof = proof_for(&token).sign();
    assert!(matches!(
        s.checker.check(&[&proof], &request).await,
        Err(DpopError::BindingMismatch("access token is not dpop-bound"))
    ));
}

fn nonce_setup(clock: &ManualClock) -> Setup {
    let issuer = NonceIssuer::with_secret(&[5; 32], Duration::from_secs(60)).unwrap();
    setup_with(DpopChecker::builder().nonces(issuer).clock(clock.clone()))
}

#[tokio::test]
async fn a_proof_without_nonce_is_asked_for_one() {
    let clock = ManualClock::starting_now();
    let s = nonce_setup(&clock);
    let token = s.bound_token();
    let proof = proof_for(&token).iat(clock.now_secs()).sign();
    assert!(matches!(
        s.get(&token, &proof).await,
        Err(DpopError::UseNonce("dpop nonce required"))
    ));
}

#[tokio::test]
async fn a_proof_with_the_current_nonce_is_accepted() {
    let clock = ManualClock::starting_now();
    let s = nonce_setup(&clock);
    let token = s.bound_token();
    let nonce = s.checker.current_nonce().unwrap();
    let proof = proof_for(&token).iat(clock.now_secs()).nonce(&nonce).sign();
    s.get(&token, &proof).await.unwrap();
}

#[tokio::test]
async fn a_proof_with_the_previous_nonce_is_accepted() {
    let clock = ManualClock::at_unix(unix_now() as u64 / 60 * 60);
    let s = nonce_setup(&clock);
    let token = s.bound_token();
    let nonce = s.checker.current_nonce().unwrap();
    clock.advance(Duration::from_secs(90));
    assert_ne!(s.checker.current_nonce().unwrap(), nonce, "rotated");
    let proof = proof_for(&token).iat(clock.now_secs()).nonce(&nonce).sign();
    s.get(&token, &proof).await.unwrap();
}

#[tokio::test]
async fn a_proof_with_a_stale_nonce_is_asked_for_a_new_one() {
    let clock = ManualClock::at_unix(unix_now() as u64 / 60 * 60);
    let s = nonce_setup(&clock);
    let token = s.bound_token();
    let nonce = s.checker.current_nonce().unwrap();
    clock.advance(Duration::from_secs(150));
    let proof = proof_for(&token).iat(clock.now_secs()).nonce(&nonce).sign();
    assert!(matches!(
        s.get(&token, &proof).await,
        Err(DpopError::UseNonce("dpop nonce is stale or unknown"))
    ));
}

#[tokio::test]
async fn a_certificate_bound_token_needs_the_same_certificate() {
    let s = setup();
    let cert = b"0\x82\x01\x0a fake DER client certificate";
    let token = s
        .keys
        .token(Algorithm::ES256)
        .claim("cnf", json!({ "x5t#S256": certificate_thumbprint(cert) }))
        .sign();
    let user = s.verifier.verify(&token).await.unwrap();
    let cnf = Confirmation::from_claim(user.claims.get("cnf").unwrap()).unwrap();
    cnf.check(None, Some(cert)).unwrap();
    assert!(matches!(
        cnf.check(None, Some(b"another certificate")),
        Err(DpopError::BindingMismatch(
            "client certificate does not match cnf x5t#S256"
        ))
    ));
    assert!(matches!(
        cnf.check(None, None),
        Err(DpopError::BindingMismatch(
            "token requires a client certificate"
        ))
    ));
}

#[tokio::test]
async fn a_token_bound_by_an_unsupported_cnf_method_is_refused() {
    let s = setup();
    let token = s
        .keys
        .token(Algorithm::ES256)
        .claim("cnf", json!({ "jwk": client_key().public_jwk() }))
        .sign();
    let user = s.verifier.verify(&token).await.unwrap();
    assert!(matches!(
        Confirmation::from_claim(user.claims.get("cnf").unwrap()),
        Err(DpopError::BindingMismatch(
            "unsupported cnf confirmation method"
        ))
    ));
}

#[test]
fn test_key_jkt_is_the_rfc_7638_thumbprint_of_its_public_jwk() {
    let key = client_key();
    let jwk = key.public_jwk().unwrap();
    assert_eq!(
        key.jkt(),
        jwks_auth::dpop::jwk_thumbprint(jwk.as_object().unwrap()).unwrap()
    );
    assert_ne!(
        key.jkt(),
        TestKey::fixture(KeyFamily::P256, 0).unwrap().jkt()
    );
}
