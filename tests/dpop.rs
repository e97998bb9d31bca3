//! DPoP (RFC 9449) and certificate-bound tokens (RFC 8705) end to end with the testing kit:
//! a bound access token minted by `TokenBuilder::dpop_bound`, verified by a `Verifier`, its
//! `cnf` read with `Confirmation`, and a `DpopProof` checked by `DpopChecker`.

use std::sync::Arc;
use std::time::Duration;

use jwks_auth::dpop::{
    certificate_thumbprint, Confirmation, DpopChecker, DpopError, DpopMode, DpopRequest,
    NonceIssuer, ReplayStore, StoreError, StoreFuture, VerifiedProof,
};
use jwks_auth::testing::{DpopProof, TestKey, TestKeys};
use jwks_auth::{Algorithm, ErrorKind, KeyFamily, ManualClock, Provider, Verifier};
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
        let claims = signed_claims(&self.verifier, token).await;
        let cnf = Confirmation::from_claim(claims.get("cnf").expect("a bound token"))?;
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

/// The claims of a token whose signature verified. `Verifier::verify` refuses every bound
/// token (RFC 9449 §7.2), so these building-block tests read the binding themselves.
async fn signed_claims(verifier: &Verifier, token: &str) -> serde_json::Value {
    let payload = jwks_auth::dangerous::verify_signature_only(verifier, token)
        .await
        .expect("the signature verifies");
    serde_json::from_slice(&payload).unwrap()
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
    let claims = signed_claims(&s.verifier, &token).await;
    let cnf = Confirmation::from_claim(claims.get("cnf").unwrap()).unwrap();
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
    let claims = signed_claims(&s.verifier, &token).await;
    let cnf = Confirmation::from_claim(claims.get("cnf").unwrap()).unwrap();
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
    let claims = signed_claims(&s.verifier, &token).await;
    assert!(matches!(
        Confirmation::from_claim(claims.get("cnf").unwrap()),
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

// --- The verifier's DPoP modes (`Verifier::verify_dpop`, RFC 9449 §7). ---

fn dpop_verifier(keys: &TestKeys, mode: DpopMode) -> Verifier {
    Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .dpop(mode)
        .build()
        .unwrap()
}

#[tokio::test]
async fn verify_dpop_accepts_a_bound_token_with_its_proof() {
    let keys = TestKeys::new();
    let verifier = dpop_verifier(&keys, DpopMode::Allowed);
    let token = keys
        .token(Algorithm::RS256)
        .sub("u1")
        .dpop_bound(&client_key())
        .sign();
    let proof = proof_for(&token).sign();
    let request = DpopRequest::new("GET", URL);
    let user = verifier
        .verify_dpop(&token, &[&proof], &request)
        .await
        .unwrap();
    assert_eq!(user.id, "u1");
}

#[tokio::test]
async fn verify_dpop_maps_each_failure_onto_its_kind() {
    let keys = TestKeys::new();
    let verifier = dpop_verifier(&keys, DpopMode::Allowed);
    let token = keys
        .token(Algorithm::RS256)
        .dpop_bound(&client_key())
        .sign();
    let request = DpopRequest::new("GET", URL);
    let proof = proof_for(&token).sign();
    verifier
        .verify_dpop(&token, &[&proof], &request)
        .await
        .unwrap();
    let replay = verifier
        .verify_dpop(&token, &[&proof], &request)
        .await
        .unwrap_err();
    assert_eq!(
        (replay.kind(), replay.status()),
        (ErrorKind::DpopReplayed, 401)
    );

    let bad = proof_for(&token).method("POST").sign();
    let err = verifier
        .verify_dpop(&token, &[&bad], &request)
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::InvalidDpopProof, 401)
    );
    assert_eq!(
        err.to_string(),
        "invalid dpop proof: htm does not match the request method"
    );
    assert!(!format!("{err} {err:?}").contains(&bad));

    let err = verifier
        .verify_dpop(&token, &[], &request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidDpopProof);

    let other = TestKey::fixture(KeyFamily::P256, 0).unwrap();
    let foreign = DpopProof::new(&other).url(URL).token(&token).sign();
    let err = verifier
        .verify_dpop(&token, &[&foreign], &request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BindingMismatch);
}

#[tokio::test]
async fn a_dpop_bound_token_sent_as_bearer_is_refused() {
    let keys = TestKeys::new();
    for mode in [DpopMode::Off, DpopMode::Allowed] {
        let verifier = dpop_verifier(&keys, mode);
        let token = keys
            .token(Algorithm::RS256)
            .dpop_bound(&client_key())
            .sign();
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.status()),
            (ErrorKind::BindingMismatch, 401)
        );
        let err = verifier
            .verify_as::<serde_json::Value>(&token)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BindingMismatch);
    }
}

#[tokio::test]
async fn a_token_with_any_cnf_value_is_never_a_bearer_token() {
    let keys = TestKeys::new();
    let verifier = dpop_verifier(&keys, DpopMode::Allowed);
    for cnf in [json!(null), json!({}), json!("jkt"), json!([]), json!(1)] {
        let token = keys
            .token(Algorithm::RS256)
            .claim("cnf", cnf.clone())
            .sign();
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BindingMismatch, "cnf {cnf}");
    }
}

#[tokio::test]
async fn a_bound_token_verifies_with_its_proof_whatever_else_its_claims_hold() {
    let keys = TestKeys::new();
    let verifier = dpop_verifier(&keys, DpopMode::Allowed);
    // Escaped member names, nested objects and arrays around `cnf`: the binding is still read.
    let token = keys
        .token(Algorithm::RS256)
        .claim(
            "nested",
            json!({ "cnf": { "jkt": "not this one" }, "list": [1, {"a": null}] }),
        )
        .claim(
            "x\u{1}",
            json!("a control character makes the payload hold a \\u escape"),
        )
        .dpop_bound(&client_key())
        .sign();
    let proof = DpopProof::new(&client_key()).url(URL).token(&token).sign();
    let request = DpopRequest::new("GET", URL);
    verifier
        .verify_dpop(&token, &[&proof], &request)
        .await
        .expect("bound token and its proof verify");
}

#[tokio::test]
async fn a_certificate_bound_token_is_refused_by_plain_verify() {
    let keys = TestKeys::new();
    let verifier = dpop_verifier(&keys, DpopMode::Off);
    let cert = b"fake DER client certificate";
    let token = keys
        .token(Algorithm::ES256)
        .claim("cnf", json!({ "x5t#S256": certificate_thumbprint(cert) }))
        .sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BindingMismatch);
    verifier
        .verify_with_certificate(&token, cert)
        .await
        .unwrap();
    let err = verifier
        .verify_with_certificate(&token, b"another certificate")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BindingMismatch);
    // An unbound token passes with any certificate.
    let plain = keys.token(Algorithm::ES256).sign();
    verifier
        .verify_with_certificate(&plain, cert)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_token_with_an_unsupported_cnf_is_refused_by_plain_verify() {
    let keys = TestKeys::new();
    let verifier = dpop_verifier(&keys, DpopMode::Off);
    let token = keys
        .token(Algorithm::ES256)
        .claim("cnf", json!({ "kid": "k1" }))
        .sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BindingMismatch);
}

#[tokio::test]
async fn verify_dpop_checks_a_certificate_binding_too() {
    let keys = TestKeys::new();
    let verifier = dpop_verifier(&keys, DpopMode::Allowed);
    let cert = b"fake DER client certificate";
    let token = keys
        .token(Algorithm::RS256)
        .claim(
            "cnf",
            json!({ "jkt": client_key().jkt(), "x5t#S256": certificate_thumbprint(cert) }),
        )
        .sign();
    let proof = proof_for(&token).sign();
    let request = DpopRequest::new("GET", URL);
    let err = verifier
        .verify_dpop(&token, &[&proof], &request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BindingMismatch);
    // The refused request did not use up the proof.
    let with_cert = request.client_certificate(cert);
    verifier
        .verify_dpop(&token, &[&proof], &with_cert)
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_dpop_refuses_an_unbound_token() {
    let keys = TestKeys::new();
    let verifier = dpop_verifier(&keys, DpopMode::Allowed);
    let token = keys.token(Algorithm::RS256).sign();
    let proof = proof_for(&token).sign();
    let request = DpopRequest::new("GET", URL);
    let err = verifier
        .verify_dpop(&token, &[&proof], &request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BindingMismatch);
    // Allowed mode still takes it as a bearer token.
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn dpop_off_refuses_verify_dpop_as_a_configuration_error() {
    let keys = TestKeys::new();
    let verifier = dpop_verifier(&keys, DpopMode::Off);
    let token = keys
        .token(Algorithm::RS256)
        .dpop_bound(&client_key())
        .sign();
    let proof = proof_for(&token).sign();
    let err = verifier
        .verify_dpop(&token, &[&proof], &DpopRequest::new("GET", URL))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(verifier.dpop_checker().is_none());
}

#[tokio::test]
async fn dpop_required_refuses_every_bearer_token() {
    let keys = TestKeys::new();
    let verifier = dpop_verifier(&keys, DpopMode::Required);
    let err = verifier
        .verify(&keys.token(Algorithm::RS256).sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidDpopProof);
    let token = keys
        .token(Algorithm::RS256)
        .dpop_bound(&client_key())
        .sign();
    let proof = proof_for(&token).sign();
    verifier
        .verify_dpop(&token, &[&proof], &DpopRequest::new("GET", URL))
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_dpop_asks_for_a_nonce_when_nonces_are_on() {
    let keys = TestKeys::new();
    let issuer = NonceIssuer::with_secret(&[5; 32], Duration::from_secs(60)).unwrap();
    let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .dpop(DpopMode::Allowed)
        .dpop_nonces(issuer)
        .dpop_iat_window(Duration::from_secs(30))
        .dpop_algorithms([Algorithm::ES256])
        .build()
        .unwrap();
    let token = keys
        .token(Algorithm::RS256)
        .dpop_bound(&client_key())
        .sign();
    let request = DpopRequest::new("GET", URL);
    let err = verifier
        .verify_dpop(&token, &[&proof_for(&token).sign()], &request)
        .await
        .unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::UseDpopNonce, 401));
    let nonce = verifier.dpop_checker().unwrap().current_nonce().unwrap();
    let proof = proof_for(&token).nonce(&nonce).sign();
    verifier
        .verify_dpop(&token, &[&proof], &request)
        .await
        .unwrap();
    assert_eq!(
        verifier.dpop_checker().unwrap().algorithms(),
        [Algorithm::ES256]
    );
}

#[derive(Debug)]
struct DownStore;

impl ReplayStore for DownStore {
    fn check_and_remember(&self, _id: &str, _until: Duration) -> StoreFuture<'_> {
        Box::pin(std::future::ready(Err(StoreError::new(
            "connection refused",
        ))))
    }
}

#[tokio::test]
async fn an_unavailable_replay_store_is_a_503() {
    let keys = TestKeys::new();
    let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .dpop(DpopMode::Allowed)
        .dpop_replay_store(Arc::new(DownStore))
        .build()
        .unwrap();
    let token = keys
        .token(Algorithm::RS256)
        .dpop_bound(&client_key())
        .sign();
    let proof = proof_for(&token).sign();
    let err = verifier
        .verify_dpop(&token, &[&proof], &DpopRequest::new("GET", URL))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::ReplayStoreUnavailable, 503)
    );
}

#[test]
fn a_bad_dpop_setting_is_a_configuration_error() {
    let keys = TestKeys::new();
    let err = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .dpop(DpopMode::Allowed)
        .dpop_algorithms([Algorithm::HS256])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}
