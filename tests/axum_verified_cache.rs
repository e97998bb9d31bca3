//! The `AuthLayer` answering a repeated token from the verified-token cache
//! (`VerifierBuilder::cache_verified`) before entering the async path: every case the full
//! verification refuses must still be refused there, and everything it records (spans,
//! revocations) must still happen. To tell a cache hit from a full verification, tests make
//! the full path fail: provider down and keys older than TTL + `max_stale`. No test here
//! registers a subscriber: one that wants the `verify` span turns the shortcut off for every
//! thread (`axum_cache_span.rs` tests that case in a binary of its own).

#[path = "support/reply.rs"]
mod reply;
mod support;

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use jwks_auth::axum::AuthLayer;
use jwks_auth::dpop::certificate_thumbprint;
use jwks_auth::revocation::InMemoryRevocationStore;
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, CachePolicy, ManualClock, Verifier};
use reply::{request, send, Reply};
use serde_json::json;
use support::{break_key_path, long_token};

const HOUR: Duration = Duration::from_secs(3600);

fn builder(mock: &MockProvider, clock: &ManualClock) -> jwks_auth::VerifierBuilder {
    Verifier::builder(mock.provider())
        .clock(clock.clone())
        .cache_policy(CachePolicy::default().max_stale(HOUR))
        .cache_verified(100)
}

fn app(verifier: Verifier) -> Router {
    Router::new()
        .route("/me", get(|user: AuthUser| async move { user.id }))
        .layer(AuthLayer::new(verifier))
}

async fn get_me(app: &Router, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    send(app, request("/me", &[("authorization", &auth)])).await
}

#[tokio::test]
async fn a_repeated_token_is_answered_from_the_cache_behind_the_layer() {
    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::starting_now();
    let app = app(builder(&mock, &clock).build().unwrap());
    let token = long_token(&mock, &clock, "cached_user");
    assert_eq!(get_me(&app, &token).await.body, "cached_user");
    break_key_path(&mock, &clock);
    let reply = get_me(&app, &token).await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "cached_user")
    );
    // Another token needs the (broken) key path.
    let other = long_token(&mock, &clock, "other");
    assert_eq!(get_me(&app, &other).await.status.as_u16(), 503);
}

#[tokio::test]
async fn a_cached_token_is_refused_behind_the_layer_once_expired() {
    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::starting_now();
    let app = app(builder(&mock, &clock).build().unwrap());
    let token = mock.token().at(clock.now_secs()).expires_in(120).sign();
    assert_eq!(get_me(&app, &token).await.status.as_u16(), 200);
    clock.advance(Duration::from_secs(10 * 60));
    let reply = get_me(&app, &token).await;
    assert_eq!(reply.status.as_u16(), 401);
    assert!(
        reply
            .challenge()
            .unwrap()
            .contains("error=\"invalid_token\""),
        "{reply:?}"
    );
}

#[tokio::test]
async fn a_cached_token_is_refused_behind_the_layer_once_its_key_is_gone() {
    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::starting_now();
    let verifier = builder(&mock, &clock).build().unwrap();
    let app = app(verifier.clone());
    let old_kid = mock.current_kid();
    let token = long_token(&mock, &clock, "rotated_out");
    assert_eq!(get_me(&app, &token).await.status.as_u16(), 200);
    mock.rotate();
    mock.remove_key(&old_kid);
    verifier.warm_up().await.unwrap();
    assert_eq!(get_me(&app, &token).await.status.as_u16(), 401);
}

/// A certificate-bound token, verified (and cached) with its certificate, is still no
/// bearer token: the layer's cache answer must not skip the `cnf` check.
#[tokio::test]
async fn a_bound_token_in_the_cache_is_no_bearer_token_behind_the_layer() {
    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::starting_now();
    let verifier = builder(&mock, &clock).build().unwrap();
    let app = app(verifier.clone());
    let cert = b"fake DER client certificate";
    let token = mock
        .token()
        .at(clock.now_secs())
        .expires_in(4 * 3600)
        .claim("cnf", json!({ "x5t#S256": certificate_thumbprint(cert) }))
        .sign();
    verifier
        .verify_with_certificate(&token, cert)
        .await
        .unwrap();
    break_key_path(&mock, &clock);
    // Cached: the certificate path still answers without the keys...
    verifier
        .verify_with_certificate(&token, cert)
        .await
        .unwrap();
    // ...and the bearer path refuses it, twice (the refusal is not cached as a success).
    for _ in 0..2 {
        let reply = get_me(&app, &token).await;
        assert_eq!(reply.status.as_u16(), 401, "{reply:?}");
    }
}

#[tokio::test]
async fn a_cached_token_revoked_later_is_refused_behind_the_layer() {
    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::starting_now();
    let verifier = builder(&mock, &clock)
        .revocation(InMemoryRevocationStore::default())
        .build()
        .unwrap();
    let app = app(verifier.clone());
    let token = long_token(&mock, &clock, "leaving");
    assert_eq!(get_me(&app, &token).await.status.as_u16(), 200);
    assert_eq!(get_me(&app, &token).await.status.as_u16(), 200);
    let revocations = verifier.revocations().unwrap();
    revocations
        .revoke_user("leaving", revocations.now())
        .await
        .unwrap();
    let reply = get_me(&app, &token).await;
    assert_eq!(reply.status.as_u16(), 401, "{reply:?}");
}

/// A hit reads the `Authorization` header's bytes without the parser's checks: the header
/// forms the parser refuses must still be refused, whatever token they carry.
#[tokio::test]
async fn a_cached_token_in_a_header_the_parser_refuses_is_still_refused_behind_the_layer() {
    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::starting_now();
    let app = app(builder(&mock, &clock).build().unwrap());
    let token = long_token(&mock, &clock, "cached_user");
    assert_eq!(get_me(&app, &token).await.status.as_u16(), 200);
    break_key_path(&mock, &clock);

    let auth = format!("Bearer {token}");
    let twice = send(
        &app,
        request("/me", &[("authorization", &auth), ("authorization", &auth)]),
    )
    .await;
    assert_eq!(twice.status.as_u16(), 400);
    let other_scheme = format!("Basic {token}");
    let reply = send(&app, request("/me", &[("authorization", &other_scheme)])).await;
    assert_eq!(reply.status.as_u16(), 401);
    // The scheme is case-insensitive (RFC 7235 §2.1), on the cache's path as on the parser's.
    let lower = format!("bearer {token}");
    let reply = send(&app, request("/me", &[("authorization", &lower)])).await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "cached_user")
    );
}

/// Clerk's session cookie (the preset's second token source) is answered from the cache too.
#[tokio::test]
async fn a_cached_token_in_a_session_cookie_is_answered_from_the_cache_behind_the_layer() {
    const APP: &str = "https://app.example.com";
    let mock = MockProvider::clerk().await;
    let clock = ManualClock::starting_now();
    let verifier = builder(&mock, &clock).authorized_parties([APP]);
    let app = app(verifier.build().unwrap());
    let token = mock
        .token()
        .at(clock.now_secs())
        .expires_in(4 * 3600)
        .sub("cookie_user")
        .azp(APP)
        .sign();
    let cookie = format!("__session={token}");
    let by_cookie = || request("/me", &[("cookie", &cookie)]);
    assert_eq!(send(&app, by_cookie()).await.status.as_u16(), 200);
    break_key_path(&mock, &clock);
    let reply = send(&app, by_cookie()).await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "cookie_user")
    );
}

/// The layer's response settings reach the guards behind it on a cache hit too (a default
/// config is left out of the extensions; a set one must be there).
#[tokio::test]
async fn a_guard_behind_the_layer_refuses_a_cached_token_with_the_layers_realm() {
    let mock = MockProvider::better_auth().await;
    let clock = ManualClock::starting_now();
    let app = Router::new()
        .route(
            "/admin",
            get(|| async { "admin area" }).route_layer(jwks_auth::axum::require_scope("admin")),
        )
        .layer(AuthLayer::new(builder(&mock, &clock).build().unwrap()).realm("notes"));
    let token = long_token(&mock, &clock, "cached_user");
    let auth = format!("Bearer {token}");
    let admin = || request("/admin", &[("authorization", &auth)]);
    assert_eq!(send(&app, admin()).await.status.as_u16(), 403);
    break_key_path(&mock, &clock);
    let reply = send(&app, admin()).await;
    assert_eq!(reply.status.as_u16(), 403);
    assert_eq!(
        reply.challenge(),
        Some(r#"Bearer realm="notes", error="insufficient_scope", scope="admin""#)
    );
}
