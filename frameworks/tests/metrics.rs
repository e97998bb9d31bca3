//! The metrics of `examples/metrics.rs` (feature `metrics`), scraped from its own router.
//!
//! One global Prometheus recorder serves the whole binary, so each test uses its own
//! provider preset: the `provider` label keeps their series apart.

#[path = "../examples/metrics.rs"]
#[allow(dead_code)]
mod example;

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use jwks_auth::testing::MockProvider;
use jwks_auth::{ErrorKind, Verifier};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower::ServiceExt;

/// The recorder, installed before any verifier is built (they register their handles then).
fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().unwrap())
        .clone()
}

/// The value of the series `name` whose labels include every `labels` pair, if scraped.
fn value(scrape: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let rest = series.strip_prefix(name)?;
        if !(rest.is_empty() || rest.starts_with('{')) {
            return None;
        }
        labels
            .iter()
            .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.parse().ok())?
    })
}

async fn get(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn the_example_exports_verifications_fetches_and_cache_hits() {
    let handle = recorder();
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider())
        .cache_verified(100)
        .build()
        .unwrap();
    let provider = verifier.provider_name().to_owned();
    let p = ("provider", provider.as_str());
    let app = example::app(verifier, handle);

    let token = mock.token().sign();
    assert_eq!(get(&app, "/api/me", Some(&token)).await.0, StatusCode::OK);
    assert_eq!(get(&app, "/api/me", Some(&token)).await.0, StatusCode::OK);
    let expired = mock.token().expired().sign();
    assert_eq!(
        get(&app, "/api/me", Some(&expired)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&app, "/api/me", Some("not-a-jwt")).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, scrape) = get(&app, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let total = "jwks_auth_verifications_total";
    assert_eq!(value(&scrape, total, &[p, ("outcome", "ok")]), Some(2.0));
    let expired = ErrorKind::Expired.as_str();
    assert_eq!(value(&scrape, total, &[p, ("outcome", expired)]), Some(1.0));
    let malformed = ErrorKind::Malformed.as_str();
    assert_eq!(
        value(&scrape, total, &[p, ("outcome", malformed)]),
        Some(1.0)
    );
    let fetches = "jwks_auth_jwks_fetches_total";
    assert_eq!(value(&scrape, fetches, &[p, ("outcome", "ok")]), Some(1.0));
    assert_eq!(
        value(&scrape, fetches, &[p, ("outcome", "error")]),
        Some(0.0)
    );
    assert_eq!(
        value(&scrape, "jwks_auth_jwks_fetch_duration_seconds_count", &[p]),
        Some(1.0)
    );
    // The second verify of the same token was a hit; the three others missed.
    assert_eq!(
        value(&scrape, "jwks_auth_verified_cache_hits_total", &[p]),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "jwks_auth_verified_cache_misses_total", &[p]),
        Some(3.0)
    );
    assert_eq!(value(&scrape, "jwks_auth_keys", &[p]), Some(1.0));
    let last = value(
        &scrape,
        "jwks_auth_jwks_last_success_timestamp_seconds",
        &[p],
    );
    assert!(last.is_some_and(|t| t > 1.7e9), "{last:?}");
    assert_eq!(value(&scrape, "jwks_auth_key_set_info", &[p]), Some(1.0));
    assert!(!scrape.contains(&token), "no token in the scrape");
}

#[tokio::test]
async fn refreshes_304s_and_the_fingerprint_show_in_the_scrape() {
    let handle = recorder();
    let mock = MockProvider::clerk().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let p = ("provider", verifier.provider_name().to_owned());
    let p = (p.0, p.1.as_str());
    verifier.warm_up().await.unwrap();
    let info = "jwks_auth_key_set_info";
    let first = fingerprint(&handle.render(), p.1).expect("a fingerprint series");

    // Unchanged set: a 304, the fingerprint stays.
    verifier.warm_up().await.unwrap();
    let scrape = handle.render();
    let fetches = "jwks_auth_jwks_fetches_total";
    assert_eq!(
        value(&scrape, fetches, &[p, ("outcome", "not-modified")]),
        Some(1.0)
    );
    assert_eq!(fingerprint(&scrape, p.1).as_deref(), Some(first.as_str()));

    // A new key behind an unknown kid: one refresh, a new fingerprint, the old one at 0.
    mock.rotate();
    verifier.verify(&mock.token().sign()).await.unwrap();
    // A second unknown kid within the cooldown: the refresh is suppressed.
    let forged = mock.token().kid("never-published").sign();
    assert!(verifier.verify(&forged).await.is_err());
    let scrape = handle.render();
    assert_eq!(
        value(&scrape, "jwks_auth_unknown_kid_refreshes_total", &[p]),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "jwks_auth_refreshes_suppressed_total", &[p]),
        Some(1.0)
    );
    assert_eq!(value(&scrape, "jwks_auth_keys", &[p]), Some(2.0));
    let second = fingerprint(&scrape, p.1).expect("a current fingerprint");
    assert_ne!(second, first);
    assert_eq!(
        value(&scrape, info, &[p, ("fingerprint", &first)]),
        Some(0.0)
    );
    assert_eq!(
        value(&scrape, info, &[p, ("fingerprint", &second)]),
        Some(1.0)
    );
}

/// The fingerprint label of `provider`'s key-set info series whose value is 1.
fn fingerprint(scrape: &str, provider: &str) -> Option<String> {
    scrape.lines().find_map(|line| {
        let rest = line.strip_prefix("jwks_auth_key_set_info{")?;
        if !line.ends_with(" 1") || !rest.contains(&format!("provider=\"{provider}\"")) {
            return None;
        }
        let start = rest.find("fingerprint=\"")? + "fingerprint=\"".len();
        let len = rest[start..].find('"')?;
        Some(rest[start..start + len].to_owned())
    })
}

#[tokio::test]
async fn a_refused_token_type_is_counted_as_its_own_outcome() {
    let handle = recorder();
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider())
        .token_type(jwks_auth::TokenType::AccessToken)
        .build()
        .unwrap();
    let provider = verifier.provider_name().to_owned();
    let p = ("provider", provider.as_str());
    let app = example::app(verifier, handle);

    // A plain `JWT` where only `at+jwt` is accepted.
    let token = mock.token().sign();
    assert_eq!(
        get(&app, "/api/me", Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, scrape) = get(&app, "/metrics", None).await;
    let total = "jwks_auth_verifications_total";
    let kind = ErrorKind::InvalidTokenType.as_str();
    assert_eq!(value(&scrape, total, &[p, ("outcome", kind)]), Some(1.0));
}

#[tokio::test]
async fn introspection_calls_and_cache_hits_are_counted() {
    use jwks_auth::introspection::Introspection;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let handle = recorder();
    // A preset no other test of this binary uses: its series are this test's alone.
    let mock = MockProvider::start("okta", jwks_auth::Algorithm::RS256).await;
    let server = MockServer::start().await;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "active": true, "iss": mock.issuer(), "aud": jwks_auth::testing::MOCK_AUDIENCE,
            "sub": "user_1", "exp": exp,
        })))
        .mount(&server)
        .await;
    let verifier = Verifier::builder(mock.provider())
        .introspection(Introspection::new(format!("{}/introspect", server.uri())))
        .build()
        .unwrap();
    for _ in 0..3 {
        verifier.verify("opaque-metrics").await.unwrap();
    }
    let scrape = handle.render();
    let p = ("provider", "okta");
    assert_eq!(
        value(
            &scrape,
            "jwks_auth_introspections_total",
            &[p, ("outcome", "active")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "jwks_auth_introspection_cache_hits_total", &[p]),
        Some(2.0)
    );
    assert!(!scrape.contains("opaque-metrics"), "no token in the scrape");
}
