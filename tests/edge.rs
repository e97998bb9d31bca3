//! The framework-neutral request edge (`jwks_auth::edge`): from method, target and headers to
//! a verified user or one rejection value carrying status, challenges, body and headers.

use std::time::Duration;

use jwks_auth::dpop::{DpopMode, NonceIssuer};
use jwks_auth::edge::{EdgeRequest, Rejection, RejectionKind, RequestEdge};
use jwks_auth::revocation::InMemoryRevocationStore;
use jwks_auth::testing::{DpopProof, MockProvider, TestKey};
use jwks_auth::{KeyFamily, ProtectedResource, Verifier};
use serde_json::json;

type Headers = Vec<(&'static str, String)>;

fn bearer(token: &str) -> Headers {
    vec![("authorization", format!("Bearer {token}"))]
}

async fn guard(
    edge: &RequestEdge,
    target: &str,
    headers: &Headers,
) -> Result<Option<String>, Rejection> {
    let request = EdgeRequest::new("GET", target, &headers[..]);
    edge.guard(&request)
        .await
        .map(|user| user.map(|user| user.id))
}

fn assert_refused(
    rejection: &Rejection,
    status: u16,
    headers: &[(&str, &str)],
    body: serde_json::Value,
) {
    assert_eq!(rejection.status(), status, "{rejection:?}");
    let expected: Vec<(&str, String)> = headers
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    assert_eq!(rejection.headers(), expected, "{rejection:?}");
    assert_eq!(rejection.body_json(), body);
}

async fn edge_for(mock: &MockProvider) -> RequestEdge {
    RequestEdge::new(Verifier::builder(mock.provider()).build().unwrap())
}

#[tokio::test]
async fn bearer_tokens_are_verified_and_every_refusal_is_a_ready_answer() {
    let mock = MockProvider::auth0().await;
    let edge = edge_for(&mock).await.realm("notes");
    let token = mock.token().sub("user_1").sign();
    assert_eq!(
        guard(&edge, "/notes?page=2", &bearer(&token))
            .await
            .unwrap(),
        Some("user_1".to_owned())
    );

    let missing = guard(&edge, "/notes", &vec![]).await.unwrap_err();
    assert_eq!(missing.kind(), RejectionKind::MissingToken);
    assert_refused(
        &missing,
        401,
        &[("www-authenticate", r#"Bearer realm="notes""#)],
        json!({"error": "missing_token"}),
    );
    let expired = mock.token().expired().sign();
    let refused = guard(&edge, "/notes", &bearer(&expired)).await.unwrap_err();
    assert_refused(
        &refused,
        401,
        &[(
            "www-authenticate",
            r#"Bearer realm="notes", error="invalid_token""#,
        )],
        json!({"error": "invalid_token"}),
    );
    for text in [refused.to_string(), format!("{:?}", refused.headers())] {
        assert!(!text.contains(&expired), "token echoed");
    }
    let basic = vec![("authorization", "Basic Zm9vOmJhcg==".to_owned())];
    assert_refused(
        &guard(&edge, "/notes", &basic).await.unwrap_err(),
        401,
        &[("www-authenticate", r#"Bearer realm="notes""#)],
        json!({"error": "invalid_request"}),
    );
    let mut twice = bearer(&token);
    twice.extend(bearer(&token));
    assert_refused(
        &guard(&edge, "/notes", &twice).await.unwrap_err(),
        400,
        &[(
            "www-authenticate",
            r#"Bearer realm="notes", error="invalid_request""#,
        )],
        json!({"error": "invalid_request"}),
    );
}

#[tokio::test]
async fn header_names_match_in_any_case_and_cookies_follow_the_presets_sources() {
    let mock = MockProvider::clerk().await;
    let verifier = Verifier::builder(mock.provider())
        .authorized_parties(["https://app.example.com"])
        .build()
        .unwrap();
    let edge = RequestEdge::new(verifier);
    let token = mock
        .token()
        .sub("user_2")
        .azp("https://app.example.com")
        .sign();
    let cookie = vec![("Cookie", format!("theme=dark; __session={token}"))];
    assert_eq!(
        guard(&edge, "/", &cookie).await.unwrap(),
        Some("user_2".to_owned())
    );
    let upper = vec![("AUTHORIZATION", format!("bearer {token}"))];
    assert_eq!(
        guard(&edge, "/", &upper).await.unwrap(),
        Some("user_2".to_owned())
    );
}

#[tokio::test]
async fn public_paths_skip_the_credentials_and_an_empty_one_is_a_500() {
    let mock = MockProvider::auth0().await;
    let edge = edge_for(&mock)
        .await
        .public_path("/health")
        .public_prefix("/docs");
    let garbage = bearer("not-a-token");
    assert_eq!(guard(&edge, "/health", &garbage).await.unwrap(), None);
    assert_eq!(
        guard(&edge, "/docs/intro?x=1", &vec![]).await.unwrap(),
        None
    );
    assert!(guard(&edge, "/docsearch", &vec![]).await.is_err());
    // `authenticate` is the extractor's question: the path does not matter.
    let request = EdgeRequest::new("GET", "/health", &garbage[..]);
    assert_eq!(
        edge.authenticate(&request).await.unwrap_err().kind(),
        RejectionKind::InvalidToken
    );
    let none: Headers = vec![];
    let request = EdgeRequest::new("GET", "/health", &none[..]);
    assert!(edge
        .authenticate_optional(&request)
        .await
        .unwrap()
        .is_none());

    let broken = edge_for(&mock).await.public_prefix("");
    assert_refused(
        &guard(&broken, "/anything", &vec![]).await.unwrap_err(),
        500,
        &[],
        json!({"error": "server_error"}),
    );
}

#[tokio::test]
async fn unreachable_keys_are_503_with_retry_after_and_no_challenge() {
    let mock = MockProvider::auth0().await;
    mock.fail_next(100, 500);
    let edge = edge_for(&mock).await.retry_after(Duration::from_secs(7));
    let token = mock.token().sign();
    assert_refused(
        &guard(&edge, "/", &bearer(&token)).await.unwrap_err(),
        503,
        &[("retry-after", "7")],
        json!({"error": "temporarily_unavailable"}),
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused_as_invalid() {
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider())
        .revocation(InMemoryRevocationStore::default())
        .build()
        .unwrap();
    let revocations = verifier.revocations().unwrap();
    let edge = RequestEdge::new(verifier);
    let token = mock.token().sid("s1").at(revocations.now() - 5).sign();
    guard(&edge, "/", &bearer(&token)).await.unwrap();
    revocations
        .revoke_session("s1", revocations.now())
        .await
        .unwrap();
    let refused = guard(&edge, "/", &bearer(&token)).await.unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::InvalidToken);
    assert_eq!(refused.auth_error().kind(), jwks_auth::ErrorKind::Revoked);
}

#[tokio::test]
async fn challenges_carry_resource_metadata_and_scope_refusals_name_every_scope() {
    let mock = MockProvider::auth0().await;
    let resource = ProtectedResource::builder("https://mcp.example.com/mcp")
        .authorization_server(mock.issuer())
        .build()
        .unwrap();
    let edge = edge_for(&mock).await.protected_resource(&resource);
    let metadata = resource.metadata_url();
    let missing = guard(&edge, "/mcp", &vec![]).await.unwrap_err();
    let challenge = format!(r#"Bearer realm="api", resource_metadata="{metadata}""#);
    assert_refused(
        &missing,
        401,
        &[("www-authenticate", &challenge)],
        json!({"error": "missing_token"}),
    );
    assert_eq!(
        guard(&edge, jwks_auth::WELL_KNOWN_PATH, &vec![])
            .await
            .unwrap(),
        None
    );
    let forbidden = edge.insufficient_scope(Some("files:read files:write"));
    let challenge = format!(
        r#"Bearer realm="api", error="insufficient_scope", scope="files:read files:write", resource_metadata="{metadata}""#
    );
    assert_refused(
        &forbidden,
        403,
        &[("www-authenticate", &challenge)],
        json!({"error": "insufficient_scope", "scope": "files:read files:write"}),
    );
}

fn dpop_edge(
    mock: &MockProvider,
    configure: impl FnOnce(RequestEdge) -> RequestEdge,
) -> RequestEdge {
    let verifier = Verifier::builder(mock.provider())
        .dpop(DpopMode::Allowed)
        .build()
        .unwrap();
    configure(RequestEdge::new(verifier))
}

struct DpopClient {
    key: TestKey,
    token: String,
}

impl DpopClient {
    fn new(mock: &MockProvider) -> Self {
        let key = TestKey::fixture(KeyFamily::P256, 1).unwrap();
        let token = mock.token().sub("dpop_user").dpop_bound(&key).sign();
        DpopClient { key, token }
    }

    fn headers(&self, method: &str, url: &str, extra: &[(&'static str, &str)]) -> Headers {
        let proof = DpopProof::new(&self.key)
            .method(method)
            .url(url)
            .token(&self.token)
            .sign();
        let mut headers = vec![
            ("authorization", format!("DPoP {}", self.token)),
            ("dpop", proof),
        ];
        headers.extend(
            extra
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned())),
        );
        headers
    }
}

#[tokio::test]
async fn dpop_proofs_are_checked_against_the_url_the_client_used() {
    let mock = MockProvider::auth0().await;
    let client = DpopClient::new(&mock);
    let edge = dpop_edge(&mock, |edge| edge);

    // The request's own origin (an ASGI scope's scheme with its Host).
    let headers = client.headers("POST", "https://api.example.com/notes", &[]);
    let request =
        EdgeRequest::new("POST", "/notes", &headers[..]).origin("https", "api.example.com");
    assert_eq!(edge.authenticate(&request).await.unwrap().id, "dpop_user");

    // Without an origin: http + Host; a proof for https does not match.
    let headers = client.headers(
        "POST",
        "https://api.example.com/notes",
        &[("host", "api.example.com")],
    );
    let refused = edge
        .authenticate(&EdgeRequest::new("POST", "/notes", &headers[..]))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::InvalidDpopProof);
    assert_eq!(
        refused.headers(),
        [
            ("www-authenticate", r#"Bearer realm="api""#.to_owned()),
            (
                "www-authenticate",
                r#"DPoP algs="ES256 ES384 ES512 EdDSA RS256 PS256", error="invalid_dpop_proof""#
                    .to_owned()
            ),
        ]
    );

    // The bound token as Bearer: refused, and the DPoP challenge offered.
    let refused = edge
        .authenticate(&EdgeRequest::new(
            "GET",
            "/notes",
            &bearer(&client.token)[..],
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 401);
    assert!(refused.dpop_challenge().is_some());

    // A malformed Host is a 400, never a different origin.
    let headers = client.headers("GET", "http://evil/x", &[("host", "evil/x?")]);
    let refused = edge
        .authenticate(&EdgeRequest::new("GET", "/notes", &headers[..]))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::MalformedRequest);
}

#[tokio::test]
async fn an_external_origin_or_the_nearest_trusted_proxy_names_the_url() {
    let mock = MockProvider::auth0().await;
    let client = DpopClient::new(&mock);
    let url = "https://api.example.com/v1/notes";

    let external = dpop_edge(&mock, |edge| {
        edge.external_origin("https://api.example.com/v1/")
    });
    let headers = client.headers("GET", url, &[("host", "internal:8080")]);
    let request = EdgeRequest::new("GET", "/notes", &headers[..]);
    external.authenticate(&request).await.unwrap();

    let proxied = dpop_edge(&mock, |edge| edge.trust_forwarded_headers(true));
    let forwarded = [
        ("host", "internal:8080"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "evil.example, api.example.com"),
    ];
    let headers = client.headers("GET", "https://api.example.com/notes", &forwarded);
    let request = EdgeRequest::new("GET", "/notes", &headers[..]);
    proxied.authenticate(&request).await.unwrap();
    // The client's own (first) value is not the origin.
    let headers = client.headers("GET", "https://evil.example/notes", &forwarded);
    let request = EdgeRequest::new("GET", "/notes", &headers[..]);
    assert_eq!(
        proxied.authenticate(&request).await.unwrap_err().kind(),
        RejectionKind::InvalidDpopProof
    );
    // Untrusted: the forwarded headers are ignored.
    let plain = dpop_edge(&mock, |edge| edge);
    let headers = client.headers("GET", "http://internal:8080/notes", &forwarded);
    plain
        .authenticate(&EdgeRequest::new("GET", "/notes", &headers[..]))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_missing_nonce_is_answered_with_a_fresh_one() {
    let mock = MockProvider::auth0().await;
    let client = DpopClient::new(&mock);
    let verifier = Verifier::builder(mock.provider())
        .dpop(DpopMode::Allowed)
        .dpop_nonces(NonceIssuer::new(Duration::from_secs(300)).unwrap())
        .build()
        .unwrap();
    let edge = RequestEdge::new(verifier);
    let headers = client.headers("GET", "https://api.example.com/notes", &[]);
    let request =
        EdgeRequest::new("GET", "/notes", &headers[..]).origin("https", "api.example.com");
    let refused = edge.authenticate(&request).await.unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::UseDpopNonce);
    let nonce = edge.dpop_nonce().expect("nonces are on");
    assert_eq!(refused.dpop_nonce(), Some(nonce.as_str()));
    assert!(refused.headers().contains(&("dpop-nonce", nonce.clone())));

    let proof = DpopProof::new(&client.key)
        .method("GET")
        .url("https://api.example.com/notes")
        .token(&client.token)
        .nonce(&nonce)
        .sign();
    let headers = [
        ("authorization", format!("DPoP {}", client.token)),
        ("dpop", proof),
    ];
    let request =
        EdgeRequest::new("GET", "/notes", &headers[..]).origin("https", "api.example.com");
    edge.authenticate(&request).await.unwrap();
}
