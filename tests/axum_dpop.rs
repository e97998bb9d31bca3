//! DPoP through the `AuthLayer` (RFC 9449 §7): `Authorization: DPoP` + `DPoP` proof, the
//! `htu` built from the request and the configured origin, the `DPoP` challenge and
//! `DPoP-Nonce`, with proofs from the testing kit's `DpopProof`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt as _;
use jwks_auth::axum::AuthLayer;
use jwks_auth::dpop::{DpopMode, NonceIssuer};
use jwks_auth::testing::{DpopProof, TestKey, TestKeys};
use jwks_auth::{Algorithm, AuthUser, KeyFamily, Provider, Verifier, VerifierBuilder};
use tower::ServiceExt as _;

const ORIGIN: &str = "https://api.example.com";

fn client_key() -> TestKey {
    TestKey::fixture(KeyFamily::P256, 1).unwrap()
}

fn builder(keys: &TestKeys) -> VerifierBuilder {
    Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
}

fn app(verifier: Verifier, layer: impl FnOnce(AuthLayer) -> AuthLayer) -> Router {
    Router::new()
        .route("/notes", get(|user: AuthUser| async move { user.id }))
        .layer(layer(AuthLayer::new(verifier)))
}

fn with_origin(layer: AuthLayer) -> AuthLayer {
    layer.external_origin(ORIGIN)
}

async fn send(app: &Router, headers: &[(&str, &str)]) -> Response<Body> {
    send_with_host(app, "internal:8080", headers).await
}

async fn send_with_host(app: &Router, host: &str, headers: &[(&str, &str)]) -> Response<Body> {
    let mut request = Request::get("/notes?page=2").header("host", host);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn challenges(response: &Response<Body>) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

struct Fixture {
    keys: TestKeys,
    token: String,
}

fn fixture() -> Fixture {
    let keys = TestKeys::new();
    let token = keys
        .token(Algorithm::RS256)
        .sub("u1")
        .dpop_bound(&client_key())
        .sign();
    Fixture { keys, token }
}

fn proof(token: &str, url: &str) -> DpopProof {
    DpopProof::new(&client_key())
        .method("GET")
        .url(url)
        .token(token)
}

#[tokio::test]
async fn a_dpop_request_through_the_layer_is_accepted() {
    let f = fixture();
    let app = app(
        builder(&f.keys).dpop(DpopMode::Allowed).build().unwrap(),
        with_origin,
    );
    let proof = proof(&f.token, "https://api.example.com/notes").sign();
    let auth = format!("DPoP {}", f.token);
    let response = send(&app, &[("authorization", &auth), ("dpop", &proof)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "u1");
    // The same proof again is a replay.
    let response = send(&app, &[("authorization", &auth), ("dpop", &proof)]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&response),
        [
            r#"Bearer realm="api""#.to_owned(),
            r#"DPoP algs="ES256 ES384 ES512 EdDSA RS256 PS256", error="invalid_dpop_proof""#
                .to_owned(),
        ]
    );
    let text = body(response).await;
    assert_eq!(text, r#"{"error":"invalid_dpop_proof"}"#);
    assert!(!text.contains(&proof));
}

#[tokio::test]
async fn a_proof_for_the_internal_url_is_refused_behind_an_external_origin() {
    let f = fixture();
    let app = app(
        builder(&f.keys).dpop(DpopMode::Allowed).build().unwrap(),
        with_origin,
    );
    let proof = proof(&f.token, "http://internal:8080/notes").sign();
    let auth = format!("DPoP {}", f.token);
    let response = send(&app, &[("authorization", &auth), ("dpop", &proof)]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_an_origin_the_host_header_builds_the_url() {
    let f = fixture();
    let app = app(
        builder(&f.keys).dpop(DpopMode::Allowed).build().unwrap(),
        |l| l,
    );
    let proof = proof(&f.token, "http://internal:8080/notes").sign();
    let auth = format!("DPoP {}", f.token);
    let response = send(&app, &[("authorization", &auth), ("dpop", &proof)]).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn forwarded_headers_count_only_when_trusted() {
    let f = fixture();
    let forwarded = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "api.example.com"),
    ];
    let auth = format!("DPoP {}", f.token);
    for (trust, status) in [(false, StatusCode::UNAUTHORIZED), (true, StatusCode::OK)] {
        let verifier = builder(&f.keys).dpop(DpopMode::Allowed).build().unwrap();
        let app = app(verifier, |l| l.trust_forwarded_headers(trust));
        let proof = proof(&f.token, "https://api.example.com/notes").sign();
        let mut headers = vec![("authorization", auth.as_str()), ("dpop", proof.as_str())];
        headers.extend(forwarded);
        let response = send(&app, &headers).await;
        assert_eq!(response.status(), status, "trust {trust}");
    }
}

#[tokio::test]
async fn a_bound_token_sent_as_bearer_is_refused_by_the_layer() {
    let f = fixture();
    let app = app(
        builder(&f.keys).dpop(DpopMode::Allowed).build().unwrap(),
        with_origin,
    );
    let auth = format!("Bearer {}", f.token);
    let response = send(&app, &[("authorization", &auth)]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&response),
        [
            r#"Bearer realm="api", error="invalid_token""#,
            r#"DPoP algs="ES256 ES384 ES512 EdDSA RS256 PS256""#,
        ]
    );
    // A bearer token without cnf still passes in allowed mode.
    let plain = f.keys.token(Algorithm::RS256).sub("u2").sign();
    let response = send(&app, &[("authorization", &format!("Bearer {plain}"))]).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn required_mode_answers_only_a_dpop_challenge() {
    let f = fixture();
    let verifier = builder(&f.keys)
        .dpop(DpopMode::Required)
        .dpop_algorithms([Algorithm::ES256, Algorithm::EdDSA])
        .build()
        .unwrap();
    let app = app(verifier, with_origin);
    let response = send(&app, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&response), [r#"DPoP algs="ES256 EdDSA""#]);
    let plain = f.keys.token(Algorithm::RS256).sign();
    let response = send(&app, &[("authorization", &format!("Bearer {plain}"))]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&response),
        [r#"DPoP algs="ES256 EdDSA", error="invalid_dpop_proof""#]
    );
}

#[tokio::test]
async fn a_dpop_token_without_a_proof_is_an_invalid_dpop_proof() {
    let f = fixture();
    let app = app(
        builder(&f.keys).dpop(DpopMode::Allowed).build().unwrap(),
        with_origin,
    );
    let response = send(&app, &[("authorization", &format!("DPoP {}", f.token))]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(response).await, r#"{"error":"invalid_dpop_proof"}"#);
}

#[tokio::test]
async fn with_nonces_the_layer_asks_for_one_and_sends_it() {
    let f = fixture();
    let issuer = NonceIssuer::new(Duration::from_secs(60)).unwrap();
    let verifier = builder(&f.keys)
        .dpop(DpopMode::Allowed)
        .dpop_nonces(issuer)
        .build()
        .unwrap();
    let app = app(verifier, with_origin);
    let auth = format!("DPoP {}", f.token);
    let first = proof(&f.token, "https://api.example.com/notes").sign();
    let response = send(&app, &[("authorization", &auth), ("dpop", &first)]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenges(&response)[1].ends_with(r#"error="use_dpop_nonce""#));
    let nonce = response.headers()["dpop-nonce"]
        .to_str()
        .unwrap()
        .to_owned();
    let second = proof(&f.token, "https://api.example.com/notes")
        .nonce(&nonce)
        .sign();
    let response = send(&app, &[("authorization", &auth), ("dpop", &second)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("dpop-nonce"));
}

#[tokio::test]
async fn dpop_off_refuses_the_dpop_scheme() {
    let f = fixture();
    let app = app(builder(&f.keys).build().unwrap(), with_origin);
    let proof = proof(&f.token, "https://api.example.com/notes").sign();
    let auth = format!("DPoP {}", f.token);
    let response = send(&app, &[("authorization", &auth), ("dpop", &proof)]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&response), [r#"Bearer realm="api""#]);
}

// --- The origin behind proxies: the nearest proxy's forwarded value; malformed hosts. ---

/// The status of a DPoP request whose proof names `htu`, through a layer trusting forwarded
/// headers (when `trust`), with `headers` added and `Host: internal:8080`.
async fn status_behind_proxy(trust: bool, htu: &str, headers: &[(&str, &str)]) -> StatusCode {
    let f = fixture();
    let verifier = builder(&f.keys).dpop(DpopMode::Allowed).build().unwrap();
    let app = app(verifier, |l| l.trust_forwarded_headers(trust));
    let auth = format!("DPoP {}", f.token);
    let proof = proof(&f.token, htu).sign();
    let mut all = vec![("authorization", auth.as_str()), ("dpop", proof.as_str())];
    all.extend_from_slice(headers);
    send(&app, &all).await.status()
}

#[tokio::test]
async fn the_nearest_proxys_x_forwarded_host_names_the_origin() {
    // The client sent `evil.example`; the proxy appended what it saw.
    let two_hops = [
        ("x-forwarded-proto", "http, https"),
        ("x-forwarded-host", "evil.example, api.example.com"),
    ];
    let ok = status_behind_proxy(true, "https://api.example.com/notes", &two_hops).await;
    assert_eq!(ok, StatusCode::OK);
    let evil = status_behind_proxy(true, "http://evil.example/notes", &two_hops).await;
    assert_eq!(evil, StatusCode::UNAUTHORIZED);
    // Values on separate lines: the last line's.
    let lines = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-host", "api.example.com"),
    ];
    let ok = status_behind_proxy(true, "https://api.example.com/notes", &lines).await;
    assert_eq!(ok, StatusCode::OK);
}

#[tokio::test]
async fn the_nearest_proxys_forwarded_element_names_the_origin() {
    let api = "https://api.example.com/notes";
    let evil = "https://evil.example/notes";
    let two_lines = [
        ("forwarded", "proto=https;host=evil.example"),
        (
            "forwarded",
            "for=192.0.2.1;proto=https;host=api.example.com",
        ),
    ];
    let one_line = [(
        "forwarded",
        r#"proto=https;host="evil.example", for="[2001:db8::1]";proto=https;host="api.example.com""#,
    )];
    for headers in [&two_lines[..], &one_line[..]] {
        assert_eq!(
            status_behind_proxy(true, api, headers).await,
            StatusCode::OK,
            "{headers:?}"
        );
        assert_eq!(
            status_behind_proxy(true, evil, headers).await,
            StatusCode::UNAUTHORIZED,
            "{headers:?}"
        );
    }
}

async fn assert_invalid_request(response: Response<Body>, what: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
    assert_eq!(
        challenges(&response),
        [r#"Bearer realm="api", error="invalid_request""#],
        "{what}"
    );
    assert_eq!(
        body(response).await,
        r#"{"error":"invalid_request"}"#,
        "{what}"
    );
}

const MALFORMED_HOSTS: [&str; 9] = [
    "api.example.com/notes",
    "api.example.com?x",
    "user@api.example.com",
    "api.example.com:99999",
    "api.example.com:",
    "api.example.com:80:80",
    "[::1",
    "api example.com",
    "api.example.com%2f",
];

#[tokio::test]
async fn a_malformed_host_header_is_a_bad_request() {
    let f = fixture();
    let verifier = builder(&f.keys).dpop(DpopMode::Allowed).build().unwrap();
    let app = app(verifier, |l| l);
    let auth = format!("DPoP {}", f.token);
    for host in MALFORMED_HOSTS.into_iter().chain([""]) {
        let proof = proof(&f.token, &format!("http://{host}/notes")).sign();
        let headers = [("authorization", auth.as_str()), ("dpop", proof.as_str())];
        let response = send_with_host(&app, host, &headers).await;
        assert_invalid_request(response, host).await;
    }
    // Two Host headers (RFC 9112 §3.2).
    let proof = proof(&f.token, "http://internal:8080/notes").sign();
    let headers = [
        ("authorization", auth.as_str()),
        ("dpop", proof.as_str()),
        ("host", "api.example.com"),
    ];
    assert_invalid_request(send(&app, &headers).await, "two hosts").await;
}

#[tokio::test]
async fn a_malformed_forwarded_host_is_a_bad_request() {
    let f = fixture();
    let verifier = builder(&f.keys).dpop(DpopMode::Allowed).build().unwrap();
    let app = app(verifier, |l| l.trust_forwarded_headers(true));
    let auth = format!("DPoP {}", f.token);
    // A proof for the `Host` the request falls back to, were the malformed value skipped.
    let proof = proof(&f.token, "http://internal:8080/notes").sign();
    for host in MALFORMED_HOSTS {
        let quoted = format!("proto=https;host=\"{host}\"");
        let cases = [
            vec![("x-forwarded-proto", "https"), ("x-forwarded-host", host)],
            vec![
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "api.example.com"),
                ("x-forwarded-host", host),
            ],
            vec![("forwarded", quoted.as_str())],
        ];
        for forwarded in cases {
            let mut headers = vec![("authorization", auth.as_str()), ("dpop", proof.as_str())];
            headers.extend(forwarded.iter().copied());
            let response = send(&app, &headers).await;
            assert_invalid_request(response, &format!("{forwarded:?}")).await;
        }
    }
    // The nearest value empty, a proto that is not http(s), a Forwarded line that does not
    // parse, a parameter twice in the nearest element.
    for forwarded in [
        vec![
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com,"),
        ],
        vec![
            ("x-forwarded-proto", "ftp"),
            ("x-forwarded-host", "api.example.com"),
        ],
        vec![("forwarded", "proto=https;host=\"api.example.com")],
        vec![("forwarded", "proto=https;host")],
        vec![(
            "forwarded",
            "proto=https;host=api.example.com;host=evil.example",
        )],
    ] {
        let mut headers = vec![("authorization", auth.as_str()), ("dpop", proof.as_str())];
        headers.extend(forwarded.iter().copied());
        let response = send(&app, &headers).await;
        assert_invalid_request(response, &format!("{forwarded:?}")).await;
    }
}

#[tokio::test]
async fn untrusted_forwarded_headers_are_ignored_even_malformed() {
    let host_htu = "http://internal:8080/notes";
    for forwarded in [
        [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com/x"),
        ],
        [
            ("forwarded", "proto=https;host=\"a b\""),
            ("x-forwarded-host", "evil"),
        ],
        [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com"),
        ],
    ] {
        let status = status_behind_proxy(false, host_htu, &forwarded).await;
        assert_eq!(status, StatusCode::OK, "{forwarded:?}");
    }
}
