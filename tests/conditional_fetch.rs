//! Conditional JWKS requests: the fetcher sends back the set's `ETag`, a `304` renews the
//! cached keys without a body, and servers that ignore validators still work. Time only
//! moves through a `ManualClock`.

mod support;

use std::time::Duration;

use jwks_auth::testing::MockProvider;
use jwks_auth::{ErrorKind, ManualClock, Verifier};
use support::clock;

const MINUTE: Duration = Duration::from_secs(60);

fn verifier(mock: &MockProvider, clock: &ManualClock) -> Verifier {
    Verifier::builder(mock.provider())
        .clock(clock.clone())
        .build()
        .expect("verifier builds")
}

fn token(mock: &MockProvider, clock: &ManualClock) -> String {
    mock.token().at(clock.now_secs()).sign()
}

#[tokio::test]
async fn a_refresh_of_an_unchanged_key_set_gets_304_and_no_body() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    verifier.warm_up().await.unwrap();
    assert_eq!(mock.jwks_requests(), 2);
    assert_eq!(mock.jwks_full_responses(), 1);
    assert_eq!(mock.jwks_not_modified_responses(), 1);
    // The keys kept working through the renewal.
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(verifier.key_stats().keys, 1);
    assert_eq!(verifier.key_stats().fetch_failures, 0);
}

#[tokio::test]
async fn a_304_renews_freshness_with_its_own_cache_control() {
    let mock = MockProvider::better_auth().await;
    mock.max_age(Some(120));
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    // Expired: the next verify revalidates and gets a 304 that asks for 10 minutes.
    clock.advance(Duration::from_secs(121));
    mock.max_age(Some(600));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_not_modified_responses(), 1);
    // Fresh for the 304's 10 minutes, not the first response's 2.
    clock.advance(Duration::from_secs(599));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(
        mock.jwks_requests(),
        2,
        "still fresh after the 304's max-age"
    );
    clock.advance(Duration::from_secs(2));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 3);
    assert_eq!(mock.jwks_full_responses(), 1);
}

#[tokio::test]
async fn a_304_without_cache_control_keeps_the_stored_max_age() {
    let mock = MockProvider::better_auth().await;
    mock.max_age(Some(300));
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    mock.max_age(None);
    clock.advance(Duration::from_secs(301));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_not_modified_responses(), 1);
    // Not the 10-minute default: the stored response's 5 minutes.
    clock.advance(Duration::from_secs(301));
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 3);
}

#[tokio::test]
async fn a_changed_key_set_is_fetched_in_full() {
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    mock.rotate();
    // The new kid is unknown: the refresh's validators no longer match, the body comes back.
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_full_responses(), 2);
    assert_eq!(mock.jwks_not_modified_responses(), 0);
    assert_eq!(verifier.key_stats().keys, 2);
}

#[tokio::test]
async fn a_server_without_etag_gets_unconditional_requests_and_works() {
    let mock = MockProvider::better_auth().await;
    mock.conditional_requests(false);
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    clock.advance(11 * MINUTE);
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(mock.jwks_requests(), 2);
    assert_eq!(mock.jwks_full_responses(), 2);
    assert_eq!(mock.jwks_not_modified_responses(), 0);
}

#[tokio::test]
async fn a_removed_key_is_noticed_through_a_full_fetch() {
    // A rotation that removes the old key changes the set, so its ETag changes and the
    // smaller set replaces the cached one (the unknown-kid retry after it gets a 304).
    let mock = MockProvider::better_auth().await;
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    let old = mock.current_kid();
    let old_token = token(&mock, &clock);
    mock.rotate();
    mock.remove_key(&old);
    clock.advance(11 * MINUTE);
    let err = verifier.verify(&old_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(mock.jwks_full_responses(), 2);
    assert_eq!(verifier.key_stats().keys, 1);
}

#[tokio::test]
async fn last_modified_is_sent_back_as_if_modified_since() {
    use jwks_auth::testing::TestKey;
    use jwks_auth::Algorithm;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};

    const DATE: &str = "Tue, 01 Dec 2026 10:00:00 GMT";
    let mock = MockProvider::better_auth().await;
    let jwks_path = url::Url::parse(&mock.jwks_url()).unwrap().path().to_owned();
    // A server with Last-Modified and no ETag, in front of the mock's own route.
    Mock::given(method("GET"))
        .and(path(jwks_path.as_str()))
        // A closure, not `header()`: that matcher splits the date at its comma.
        .and(|request: &wiremock::Request| {
            request
                .headers
                .get("if-modified-since")
                .is_some_and(|v| v.as_bytes() == DATE.as_bytes())
        })
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .expect(1)
        .mount(mock.server())
        .await;
    let jwk = TestKey::for_algorithm(Algorithm::EdDSA)
        .public_jwk()
        .unwrap();
    Mock::given(method("GET"))
        .and(path(jwks_path.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(
                    serde_json::json!({ "keys": [jwk] }).to_string(),
                    "application/json",
                )
                .insert_header("last-modified", DATE),
        )
        .with_priority(2)
        .expect(1)
        .mount(mock.server())
        .await;
    let clock = clock();
    let verifier = verifier(&mock, &clock);
    verifier.warm_up().await.unwrap();
    verifier.warm_up().await.unwrap();
    verifier.verify(&token(&mock, &clock)).await.unwrap();
    assert_eq!(verifier.key_stats().fetch_failures, 0);
    // One full response, then one 304 to `If-Modified-Since`.
    mock.server().verify().await;
}
