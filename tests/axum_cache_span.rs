//! The `AuthLayer`'s verified-token cache shortcut with a subscriber that wants the `verify`
//! span: in a binary of its own, as the subscriber's interest turns the shortcut off for
//! every thread of the process (`axum_verified_cache.rs` tests the shortcut itself).

#[path = "support/reply.rs"]
mod reply;
mod support;

use axum::routing::get;
use axum::Router;
use jwks_auth::axum::AuthLayer;
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, ManualClock, Verifier};
use reply::{request, send};
use support::long_token;
use tracing_subscriber::filter::LevelFilter;

/// With a subscriber that wants the `verify` span, a cache hit behind the layer still has
/// one (the shortcut is only taken when no span would be recorded).
#[tokio::test(flavor = "current_thread")]
async fn a_cache_hit_behind_the_layer_still_closes_a_verify_span_when_one_is_wanted() {
    let (subscriber, buffer) = support::logs::capture(LevelFilter::DEBUG, true);
    // This thread's default (the runtime is this thread): other tests are not affected.
    let _guard = tracing::subscriber::set_default(subscriber);

    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(mock.provider())
        .clock(clock.clone())
        .cache_verified(100)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/me", get(|user: AuthUser| async move { user.id }))
        .layer(AuthLayer::new(verifier));
    let token = long_token(&mock, &clock, "traced");
    for _ in 0..3 {
        let auth = format!("Bearer {token}");
        let reply = send(&app, request("/me", &[("authorization", &auth)])).await;
        assert_eq!(reply.status.as_u16(), 200);
    }
    let logs = buffer.text();
    let closes = logs
        .lines()
        .filter(|line| line.contains("verify{") && line.contains("close"))
        .filter(|line| line.contains("outcome=\"ok\""))
        .count();
    assert_eq!(closes, 3, "{logs}");
    assert!(!logs.contains(&token), "a token was logged");
}
