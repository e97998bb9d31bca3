//! The whole job on an embedded default: a mock Better Auth provider on loopback (no account,
//! no network), a token for a demo user, verification through the Better Auth preset, then a
//! key rotation and a token from the new key (one JWKS refetch).
//!
//! Run: `cargo run --example quickstart`

use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthError, Verifier};

#[tokio::main]
async fn main() -> Result<(), AuthError> {
    let mock = MockProvider::better_auth().await;
    println!("1. mock Better Auth provider at {}", mock.uri());
    println!("   JWKS: {}", mock.jwks_url());

    let verifier = Verifier::builder(mock.provider()).build()?;
    verifier.warm_up().await?;
    println!(
        "2. verifier built from the better-auth preset; keys fetched: {}",
        verifier.key_stats().keys
    );

    let token = mock
        .token()
        .sub("user_demo")
        .email("demo@example.com")
        .sign();
    println!(
        "3. minted an EdDSA token for user_demo (kid {})",
        mock.current_kid()
    );

    let user = verifier.verify(&token).await?;
    println!(
        "4. verified: id={} email={}",
        user.id,
        user.email.as_deref().unwrap_or("-")
    );

    let new_kid = mock.rotate();
    println!("5. provider rotated its key: new kid {new_kid}");

    let token = mock.token().sub("user_demo").sign();
    let user = verifier.verify(&token).await?;
    let stats = verifier.key_stats();
    println!(
        "6. verified a token from the new key: id={} (JWKS fetches: {}, of which after an unknown kid: {})",
        user.id, stats.fetches, stats.unknown_kid_refreshes
    );

    let forged = mock.token().sub("user_demo").sign_with_wrong_key();
    let err = verifier.verify(&forged).await.unwrap_err();
    println!(
        "7. a token signed by another key is rejected: {err} (HTTP {})",
        err.status()
    );
    Ok(())
}
