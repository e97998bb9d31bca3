//! Opaque tokens through RFC 7662 introspection: the answers, the cache that never outlives
//! the token, single flight, and the endpoint's faults (against a wiremock endpoint; the
//! real authorization server is in `tests/interop_oidc_provider.rs`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jwks_auth::edge::{EdgeRequest, RequestEdge};
use jwks_auth::introspection::{Introspection, TokenFormat};
use jwks_auth::revocation::InMemoryRevocationStore;
use jwks_auth::testing::{MockProvider, MOCK_AUDIENCE};
use jwks_auth::{ErrorKind, ManualClock, Verifier};
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OPAQUE: &str = "at_opaque_7f3c9a";

fn now() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(now.as_secs()).unwrap()
}

/// An active answer for the auth0 mock's issuer and audience.
fn active(mock: &MockProvider) -> Value {
    json!({
        "active": true,
        "iss": mock.issuer(),
        "aud": MOCK_AUDIENCE,
        "sub": "user_1",
        "client_id": "web-app",
        "scope": "notes:read notes:write",
        "exp": now() + 600,
        "iat": now() - 10,
    })
}

async fn endpoint(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn settings(server: &MockServer) -> Introspection {
    Introspection::new(format!("{}/introspect", server.uri()))
        .client_secret_basic("api-server", "s3cret")
        .timeout(Duration::from_secs(1))
}

async fn calls(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn an_active_token_is_a_user_and_its_answer_is_reused() {
    let mock = MockProvider::auth0().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        // RFC 6749 §2.3.1: Basic credentials; the token form-encoded in the body.
        .and(header("authorization", "Basic YXBpLXNlcnZlcjpzM2NyZXQ="))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains(format!("token={OPAQUE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(active(&mock)))
        .mount(&server)
        .await;
    let verifier = Verifier::builder(mock.provider())
        .introspection(settings(&server))
        .build()
        .unwrap();
    let user = verifier.verify(OPAQUE).await.unwrap();
    assert_eq!(user.id, "user_1");
    assert_eq!(user.client_id.as_deref(), Some("web-app"));
    assert!(user.has_scope("notes:write"));
    assert!(
        user.claims.get("active").is_none(),
        "`active` is not a claim"
    );
    for _ in 0..5 {
        assert_eq!(verifier.verify(OPAQUE).await.unwrap().id, "user_1");
    }
    assert_eq!(calls(&server).await, 1, "one call, then the cache");
}

#[tokio::test]
async fn client_secret_post_and_bearer_credentials() {
    let mock = MockProvider::auth0().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("client_id=api-server"))
        .and(body_string_contains("client_secret=s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(active(&mock)))
        .mount(&server)
        .await;
    let verifier = Verifier::builder(mock.provider())
        .introspection(
            Introspection::new(format!("{}/introspect", server.uri()))
                .client_secret_post("api-server", "s3cret"),
        )
        .build()
        .unwrap();
    assert!(verifier.verify(OPAQUE).await.is_ok());

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer rs-credential"))
        .respond_with(ResponseTemplate::new(200).set_body_json(active(&mock)))
        .mount(&server)
        .await;
    let verifier = Verifier::builder(mock.provider())
        .introspection(
            Introspection::new(format!("{}/introspect", server.uri()))
                .bearer_credential("rs-credential"),
        )
        .build()
        .unwrap();
    assert!(verifier.verify(OPAQUE).await.is_ok());
}

#[tokio::test]
async fn a_thousand_concurrent_requests_with_one_new_token_make_one_call() {
    let mock = MockProvider::auth0().await;
    let server = endpoint(
        ResponseTemplate::new(200)
            .set_body_json(active(&mock))
            .set_delay(Duration::from_millis(200)),
    )
    .await;
    let verifier = Verifier::builder(mock.provider())
        .introspection(settings(&server))
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..1_000)
        .map(|_| {
            let verifier = verifier.clone();
            tokio::spawn(async move { verifier.verify(OPAQUE).await.map(|user| user.id) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "user_1");
    }
    assert_eq!(calls(&server).await, 1);
}

#[tokio::test]
async fn inactive_answers_are_refused_and_briefly_cached() {
    let mock = MockProvider::auth0().await;
    for answer in [
        json!({"active": false}),
        json!({"sub": "user_1"}),
        json!({"active": "true", "sub": "user_1"}),
        json!({"active": 1}),
    ] {
        let server = endpoint(ResponseTemplate::new(200).set_body_json(&answer)).await;
        let verifier = Verifier::builder(mock.provider())
            .introspection(settings(&server))
            .build()
            .unwrap();
        for _ in 0..3 {
            let error = verifier.verify(OPAQUE).await.unwrap_err();
            assert_eq!(
                (error.kind(), error.status()),
                (ErrorKind::Inactive, 401),
                "{answer}"
            );
        }
        assert_eq!(calls(&server).await, 1, "negative cache: {answer}");
    }
}

#[tokio::test]
async fn a_cached_answer_never_outlives_the_tokens_exp() {
    let mock = MockProvider::auth0().await;
    let mut answer = active(&mock);
    answer["exp"] = json!(now() + 30);
    let server = endpoint(ResponseTemplate::new(200).set_body_json(&answer)).await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(mock.provider())
        .clock(clock.clone())
        .introspection(settings(&server).cache_ttl(Duration::from_secs(3600)))
        .build()
        .unwrap();
    assert!(verifier.verify(OPAQUE).await.is_ok());
    clock.advance(Duration::from_secs(30 + 61)); // past `exp` and the leeway
    let error = verifier.verify(OPAQUE).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Expired);
}

#[tokio::test]
async fn the_claim_rules_of_a_jwt_apply() {
    let mock = MockProvider::auth0().await;
    let cases = [
        (
            "aud",
            json!("https://another-api.example"),
            ErrorKind::InvalidAudience,
        ),
        (
            "iss",
            json!("https://another-issuer.example/"),
            ErrorKind::InvalidIssuer,
        ),
        ("exp", json!(now() - 3600), ErrorKind::Expired),
    ];
    for (claim, value, kind) in cases {
        let mut answer = active(&mock);
        answer[claim] = value;
        let server = endpoint(ResponseTemplate::new(200).set_body_json(&answer)).await;
        let verifier = Verifier::builder(mock.provider())
            .introspection(settings(&server))
            .build()
            .unwrap();
        for _ in 0..3 {
            assert_eq!(
                verifier.verify(OPAQUE).await.unwrap_err().kind(),
                kind,
                "{claim}"
            );
        }
        // A refused answer is not asked for again on every request.
        assert_eq!(calls(&server).await, 1, "{claim}");
    }
}

#[tokio::test]
async fn a_failing_endpoint_is_a_503_never_an_accepted_token() {
    let mock = MockProvider::auth0().await;
    let big = "x".repeat(100 * 1024);
    for (what, answer) in [
        ("500", ResponseTemplate::new(500)),
        (
            "429",
            ResponseTemplate::new(429).insert_header("retry-after", "7"),
        ),
        (
            "not JSON",
            ResponseTemplate::new(200).set_body_string("<html>"),
        ),
        (
            "JSON array",
            ResponseTemplate::new(200).set_body_json(json!([true])),
        ),
        (
            "oversized",
            ResponseTemplate::new(200).set_body_string(big.clone()),
        ),
        (
            "slow",
            ResponseTemplate::new(200)
                .set_body_json(active(&mock))
                .set_delay(Duration::from_secs(3)),
        ),
    ] {
        let server = endpoint(answer).await;
        let verifier = Verifier::builder(mock.provider())
            .introspection(settings(&server))
            .build()
            .unwrap();
        let error = verifier.verify(OPAQUE).await.unwrap_err();
        assert_eq!(
            (error.kind(), error.status()),
            (ErrorKind::KeysUnavailable, 503),
            "{what}"
        );
        assert!(!error.to_string().contains("s3cret"), "{what}: {error}");
    }
}

#[tokio::test]
async fn a_jws_never_buys_a_network_call_unless_everything_is_introspected() {
    let mock = MockProvider::auth0().await;
    let server = endpoint(ResponseTemplate::new(200).set_body_json(active(&mock))).await;
    let verifier = Verifier::builder(mock.provider())
        .introspection(settings(&server))
        .build()
        .unwrap();
    let jwt = mock.token().sub("jwt_user").sign();
    assert_eq!(verifier.verify(&jwt).await.unwrap().id, "jwt_user");
    let forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln";
    assert!(verifier.verify(forged).await.is_err());
    assert_eq!(calls(&server).await, 0);

    let everything = Verifier::builder(mock.provider())
        .introspection(settings(&server).format(TokenFormat::Introspect))
        .build()
        .unwrap();
    assert_eq!(everything.verify(&jwt).await.unwrap().id, "user_1");
    assert_eq!(calls(&server).await, 1);
}

#[tokio::test]
async fn the_endpoint_must_be_https_except_on_loopback() {
    let mock = MockProvider::auth0().await;
    let error = Verifier::builder(mock.provider())
        .introspection(Introspection::new("http://auth.example.com/introspect"))
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn revocation_applies_to_cached_answers_and_the_edge_answers_opaque_tokens() {
    let mock = MockProvider::auth0().await;
    let server = endpoint(ResponseTemplate::new(200).set_body_json(active(&mock))).await;
    let verifier = Verifier::builder(mock.provider())
        .introspection(settings(&server))
        .revocation(InMemoryRevocationStore::default())
        .build()
        .unwrap();
    let edge = RequestEdge::new(verifier.clone());
    let headers = [("authorization", format!("Bearer {OPAQUE}"))];
    let request = EdgeRequest::new("GET", "/notes", &headers[..]);
    assert_eq!(edge.authenticate(&request).await.unwrap().id, "user_1");
    let revocations = verifier.revocations().unwrap();
    revocations.revoke_user("user_1", now()).await.unwrap();
    let refusal = edge.authenticate(&request).await.unwrap_err();
    assert_eq!(refusal.status(), 401);
    assert_eq!(refusal.body_json(), json!({"error": "invalid_token"}));
}
