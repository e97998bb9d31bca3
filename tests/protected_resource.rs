//! Protected Resource Metadata (RFC 9728) and resource audiences (RFC 8707): the metadata
//! document and its routes, `resource_metadata` in every challenge, the verifier's audience
//! defaulting to the resource URI, and the configuration errors, driven with `oneshot`.

#[path = "support/reply.rs"]
mod reply;
mod support;

use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;
use jwks_auth::axum::{require_scope, AuthLayer};
use jwks_auth::dpop::DpopMode;
use jwks_auth::testing::{DpopProof, MockProvider, TestKey, TestKeys};
use jwks_auth::{Algorithm, AuthUser, ErrorKind, KeyFamily, ProtectedResource, Provider, Verifier};
use reply::{request, send, Reply};
use serde_json::json;

const RESOURCE: &str = "https://mcp.example.test/mcp";
const METADATA_URL: &str = "https://mcp.example.test/.well-known/oauth-protected-resource/mcp";
const METADATA: &str =
    r#"resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp""#;

fn resource() -> ProtectedResource {
    ProtectedResource::builder(RESOURCE)
        .authorization_server("https://auth.example.test")
        .scopes_supported(["notes:read", "notes:write"])
        .bearer_methods_supported(["header"])
        .resource_signing_alg_values_supported(["RS256", "ES256"])
        .resource_name("Notes MCP server")
        .resource_documentation("https://docs.example.test/mcp")
        .build()
        .unwrap()
}

/// `/mcp` (any user) and `/admin` (scope `admin`), the metadata routes, behind the layer.
fn app(verifier: Verifier, resource: &ProtectedResource) -> Router {
    Router::new()
        .route("/mcp", get(|user: AuthUser| async move { user.id }))
        .route(
            "/admin",
            get(|| async { "admin" }).route_layer(require_scope("admin")),
        )
        .merge(resource.router())
        .layer(AuthLayer::new(verifier).protected_resource(resource))
}

/// A Better Auth mock and a verifier for [`RESOURCE`] over it.
async fn mock_app() -> (MockProvider, Router) {
    let mock = MockProvider::better_auth().await;
    let resource = resource();
    let verifier = Verifier::builder(mock.provider())
        .protected_resource(&resource)
        .build()
        .unwrap();
    (mock, app(verifier, &resource))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn get_with(app: &Router, path: &str, token: &str) -> Reply {
    send(app, request(path, &[("authorization", &bearer(token))])).await
}

#[test]
fn metadata_document_has_exactly_the_rfc_9728_members() {
    assert_eq!(
        resource().metadata(),
        json!({
            "resource": RESOURCE,
            "authorization_servers": ["https://auth.example.test"],
            "scopes_supported": ["notes:read", "notes:write"],
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported": ["RS256", "ES256"],
            "resource_name": "Notes MCP server",
            "resource_documentation": "https://docs.example.test/mcp",
        })
    );
}

#[test]
fn metadata_document_leaves_out_empty_members() {
    let bare = ProtectedResource::builder(RESOURCE).build().unwrap();
    assert_eq!(bare.metadata(), json!({ "resource": RESOURCE }));
    let more = ProtectedResource::builder(RESOURCE)
        .dpop_signing_alg_values_supported(["ES256"])
        .dpop_bound_access_tokens_required(false)
        .tls_client_certificate_bound_access_tokens(false)
        .resource_policy_uri("https://docs.example.test/policy")
        .resource_tos_uri("https://docs.example.test/tos")
        .jwks_uri("https://mcp.example.test/jwks")
        .authorization_details_types_supported(["payment"])
        .build()
        .unwrap();
    assert_eq!(
        more.metadata(),
        json!({
            "resource": RESOURCE,
            "jwks_uri": "https://mcp.example.test/jwks",
            "resource_policy_uri": "https://docs.example.test/policy",
            "resource_tos_uri": "https://docs.example.test/tos",
            "tls_client_certificate_bound_access_tokens": false,
            "authorization_details_types_supported": ["payment"],
            "dpop_signing_alg_values_supported": ["ES256"],
            "dpop_bound_access_tokens_required": false,
        })
    );
}

#[test]
fn metadata_url_is_the_path_suffixed_well_known_url() {
    let resource = resource();
    assert_eq!(resource.metadata_url(), METADATA_URL);
    assert_eq!(
        resource.metadata_path(),
        "/.well-known/oauth-protected-resource/mcp"
    );
    let root = ProtectedResource::builder("http://127.0.0.1:8080")
        .build()
        .unwrap();
    assert_eq!(
        root.metadata_url(),
        "http://127.0.0.1:8080/.well-known/oauth-protected-resource"
    );
}

#[tokio::test]
async fn path_suffixed_route_serves_the_document_as_cacheable_json() {
    let app: Router = resource().router();
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let reply = send(&app, request(path, &[])).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(reply.headers[header::CACHE_CONTROL], "public, max-age=3600");
        assert_eq!(reply.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(reply.json(), resource().metadata());
    }
    let other = send(
        &app,
        request("/.well-known/oauth-protected-resource/x", &[]),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cache_max_age_sets_cache_control() {
    let resource = ProtectedResource::builder(RESOURCE)
        .cache_max_age(Duration::from_secs(60))
        .build()
        .unwrap();
    let app: Router = resource.router();
    let reply = send(&app, request(resource.metadata_path(), &[])).await;
    assert_eq!(reply.headers[header::CACHE_CONTROL], "public, max-age=60");
}

#[tokio::test]
async fn metadata_routes_are_public_behind_the_layer() {
    let (_mock, app) = mock_app().await;
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let reply = send(&app, request(path, &[])).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        assert_eq!(reply.json()["resource"], RESOURCE);
    }
    // Anything else stays protected.
    let reply = send(
        &app,
        request("/.well-known/oauth-protected-resource/x", &[]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn missing_token_challenge_carries_resource_metadata() {
    let (_mock, app) = mock_app().await;
    let reply = send(&app, request("/mcp", &[])).await;
    reply.assert_rejected(
        401,
        Some(&format!(r#"Bearer realm="api", {METADATA}"#)),
        json!({"error": "missing_token"}),
        "",
    );
}

#[tokio::test]
async fn invalid_token_challenge_carries_resource_metadata() {
    let (mock, app) = mock_app().await;
    let token = mock.token().audience(RESOURCE).sign_with_wrong_key();
    let reply = get_with(&app, "/mcp", &token).await;
    reply.assert_rejected(
        401,
        Some(&format!(
            r#"Bearer realm="api", error="invalid_token", {METADATA}"#
        )),
        json!({"error": "invalid_token"}),
        &token,
    );
}

#[tokio::test]
async fn expired_token_challenge_carries_resource_metadata() {
    let (mock, app) = mock_app().await;
    let token = mock.token().audience(RESOURCE).expired().sign();
    let reply = get_with(&app, "/mcp", &token).await;
    reply.assert_rejected(
        401,
        Some(&format!(
            r#"Bearer realm="api", error="invalid_token", {METADATA}"#
        )),
        json!({"error": "invalid_token"}),
        &token,
    );
}

#[tokio::test]
async fn insufficient_scope_carries_scope_and_resource_metadata() {
    let (mock, app) = mock_app().await;
    let token = mock.token().audience(RESOURCE).scope("notes:read").sign();
    let reply = get_with(&app, "/admin", &token).await;
    reply.assert_rejected(
        403,
        Some(&format!(
            r#"Bearer realm="api", error="insufficient_scope", scope="admin", {METADATA}"#
        )),
        json!({"error": "insufficient_scope", "scope": "admin"}),
        &token,
    );
}

#[tokio::test]
async fn dpop_challenge_carries_resource_metadata() {
    let keys = TestKeys::new();
    let client = TestKey::fixture(KeyFamily::P256, 1).unwrap();
    let resource = resource();
    let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
        .dpop(DpopMode::Allowed)
        .protected_resource(&resource)
        .build()
        .unwrap();
    let app = app(verifier, &resource);
    let challenges = |reply: &Reply| -> Vec<String> {
        reply
            .headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect()
    };
    let algs = r#"DPoP algs="ES256 ES384 ES512 EdDSA RS256 PS256""#;

    let reply = send(&app, request("/mcp", &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&reply),
        [
            format!(r#"Bearer realm="api", {METADATA}"#),
            format!("{algs}, {METADATA}"),
        ]
    );

    // A DPoP-bound token for this resource, with a proof for another URL.
    let token = keys
        .token(Algorithm::RS256)
        .sub("u1")
        .audience(RESOURCE)
        .dpop_bound(&client)
        .sign();
    let proof = DpopProof::new(&client)
        .method("GET")
        .url("https://elsewhere.example.test/mcp")
        .token(&token)
        .sign();
    let auth = format!("DPoP {token}");
    let reply = send(
        &app,
        request(
            "/mcp",
            &[("authorization", &auth), ("dpop", &proof), ("host", "x")],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(
        challenges(&reply),
        [
            format!(r#"Bearer realm="api", {METADATA}"#),
            format!(r#"{algs}, error="invalid_dpop_proof", {METADATA}"#),
        ]
    );
}

#[tokio::test]
async fn verifier_audience_defaults_to_the_resource_uri() {
    let (mock, app) = mock_app().await;
    let token = mock.token().sub("user_1").audience(RESOURCE).sign();
    let reply = get_with(&app, "/mcp", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, "user_1");
}

#[tokio::test]
async fn token_for_another_resource_is_refused() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider())
        .protected_resource(&resource())
        .build()
        .unwrap();
    let other = mock
        .token()
        .audience("https://other.example.test/mcp")
        .sign();
    let err = verifier.verify(&other).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAudience);
    // The preset's own audience (the issuer) is no longer accepted either.
    let issuer_audience = mock.token().sign();
    let err = verifier.verify(&issuer_audience).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAudience);
    // Without the resource, the preset accepts its issuer audience.
    let plain = Verifier::builder(mock.provider()).build().unwrap();
    assert!(plain.verify(&issuer_audience).await.is_ok());
}

#[tokio::test]
async fn an_explicit_audience_wins_over_the_resource_uri() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider())
        .audience("https://api.example.test/")
        .protected_resource(&resource())
        .build()
        .unwrap();
    let token = mock.token().audience("https://api.example.test/").sign();
    assert!(verifier.verify(&token).await.is_ok());
    let for_resource = mock.token().audience(RESOURCE).sign();
    assert_eq!(
        verifier.verify(&for_resource).await.unwrap_err().kind(),
        ErrorKind::InvalidAudience
    );
}

#[tokio::test]
async fn resource_uri_makes_an_audience_required_provider_buildable() {
    // `Provider::oidc` needs an audience; the resource URI is one.
    let verifier = Verifier::builder(Provider::oidc("https://auth.example.test").unwrap())
        .protected_resource(&resource())
        .build();
    assert!(verifier.is_ok(), "{:?}", verifier.err());
}

#[test]
fn invalid_resource_uris_are_config_errors() {
    for resource in [
        "not a url",
        "/mcp",
        "http://mcp.example.test/mcp",
        "ftp://mcp.example.test/mcp",
        "https://mcp.example.test/mcp#frag",
        "https://mcp.example.test/mcp?x=1",
        "https://user:pw@mcp.example.test/mcp",
        "https://mcp.example.test//mcp",
        "https://mcp.example.test/:id",
        "https://mcp.example.test/*rest",
        "",
    ] {
        let err = ProtectedResource::builder(resource).build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{resource:?}");
    }
    for loopback in [
        "http://127.0.0.1:3000/mcp",
        "http://localhost/mcp",
        "http://[::1]:1/",
    ] {
        assert!(
            ProtectedResource::builder(loopback).build().is_ok(),
            "{loopback}"
        );
    }
}

#[test]
fn invalid_metadata_urls_are_config_errors() {
    let builders = [
        ProtectedResource::builder(RESOURCE).authorization_server("http://auth.example.test"),
        ProtectedResource::builder(RESOURCE).authorization_server("auth.example.test"),
        ProtectedResource::builder(RESOURCE).authorization_server("https://a.example.test/?q=1"),
        ProtectedResource::builder(RESOURCE).resource_documentation("docs/mcp"),
        ProtectedResource::builder(RESOURCE).resource_policy_uri(""),
        ProtectedResource::builder(RESOURCE).resource_tos_uri("tos"),
        ProtectedResource::builder(RESOURCE).jwks_uri("jwks.json"),
    ];
    for builder in builders {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().is_empty());
    }
}

/// RFC 3986 §6.2.2.1: scheme and host are case-insensitive; the path is not.
#[tokio::test]
async fn a_resource_uri_matches_up_to_the_case_of_its_scheme_and_host_only() {
    let mock = MockProvider::auth0().await;
    let resource = ProtectedResource::builder("HTTPS://API.Example.com/mcp")
        .authorization_server(mock.issuer())
        .scopes_supported(["notes:read", "offline_access"])
        .build()
        .unwrap();
    assert_eq!(resource.resource(), "https://api.example.com/mcp");
    assert_eq!(resource.scopes_supported(), ["notes:read"]);
    assert_eq!(
        resource.metadata()["resource"],
        json!("https://api.example.com/mcp")
    );
    // The audience as configured by hand, in capitals (the mock's preset has an audience of
    // its own, so the resource does not replace it here).
    let verifier = Verifier::builder(mock.provider())
        .protected_resource(&resource)
        .audience("HTTPS://API.Example.com/mcp")
        .build()
        .unwrap();
    for aud in [
        "https://api.example.com/mcp",
        "HTTPS://API.EXAMPLE.COM/mcp",
        "https://Api.Example.Com/mcp",
    ] {
        let token = mock.token().audience(aud).sign();
        assert!(verifier.verify(&token).await.is_ok(), "{aud}");
    }
    for aud in [
        "https://api.example.com/MCP",
        "https://api.example.com/mcp/",
        "https://api.example.com:443/mcp",
        "https://api.example.com.evil/mcp",
        "http://api.example.com/mcp",
    ] {
        let token = mock.token().audience(aud).sign();
        let error = verifier.verify(&token).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidAudience, "{aud}");
    }
}
