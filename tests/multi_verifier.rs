//! `MultiVerifier`: one verifier over several providers, routed by the token's `iss`.

use jwks_auth::testing::MockProvider;
use jwks_auth::{ErrorKind, MultiVerifier, Provider, Verifier};

#[tokio::test]
async fn multi_issuer_routes_by_iss_and_rejects_unknown_issuers_without_fetching() {
    let clerk = MockProvider::clerk().await;
    let auth0 = MockProvider::auth0().await;
    let verifier = MultiVerifier::new([
        Verifier::builder(clerk.provider()).build().unwrap(),
        Verifier::builder(auth0.provider()).build().unwrap(),
    ])
    .unwrap();
    let web = clerk.token().sub("user_web").sign();
    let m2m = auth0.token().sub("client@clients").sign();
    assert_eq!(verifier.verify(&web).await.unwrap().id, "user_web");
    assert_eq!(verifier.verify(&m2m).await.unwrap().id, "client@clients");

    let (clerk_before, auth0_before) = (clerk.jwks_requests(), auth0.jwks_requests());
    let stranger = clerk.token().issuer("https://unknown.example.com").sign();
    assert_eq!(
        verifier.verify(&stranger).await.unwrap_err().kind(),
        ErrorKind::InvalidIssuer
    );
    assert_eq!(clerk.jwks_requests(), clerk_before);
    assert_eq!(auth0.jwks_requests(), auth0_before);
}

#[tokio::test]
async fn multi_issuer_still_checks_the_signature_of_the_chosen_provider() {
    let clerk = MockProvider::clerk().await;
    let auth0 = MockProvider::auth0().await;
    let verifier = MultiVerifier::new([
        Verifier::builder(clerk.provider()).build().unwrap(),
        Verifier::builder(auth0.provider()).build().unwrap(),
    ])
    .unwrap();
    // Claims Auth0's issuer but is signed by a key Auth0 never published.
    let forged = auth0.token().sign_with_wrong_key();
    assert!(verifier.verify(&forged).await.is_err());
}

#[test]
fn multi_issuer_refuses_providers_without_an_issuer() {
    let secret = Provider::shared_secret("0123456789abcdef0123456789abcdef").unwrap();
    let verifier = Verifier::builder(secret).build().unwrap();
    assert_eq!(
        MultiVerifier::new([verifier]).unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[test]
fn a_per_token_issuer_cannot_be_routed_by_a_multi_verifier() {
    let provider = Provider::preset("entra-id-multitenant", &[("audience", "client")]).unwrap();
    assert_eq!(
        provider.issuer(),
        Some("https://login.microsoftonline.com/{token.tid}/v2.0")
    );
    let verifier = Verifier::builder(provider).build().unwrap();
    assert_eq!(
        MultiVerifier::new([verifier]).unwrap_err().kind(),
        ErrorKind::Config
    );
}
