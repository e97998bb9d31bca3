//! `TenantVerifier` against a mock serving 1,000 tenants (one issuer and JWKS path each):
//! each key set is fetched once, untrusted issuers are never fetched, live verifiers stay
//! bounded, and the request edge answers through it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jwks_auth::edge::{EdgeRequest, RequestEdge};
use jwks_auth::testing::MockProvider;
use jwks_auth::{ErrorKind, Provider, TenantIssuer, TenantVerifier, Verifier};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

const TENANTS: usize = 1_000;

/// A tenant's provider: its own issuer and JWKS path on the mock.
const TENANT_PRESET: &str = r#"
name = "tenant"
jwks_url = "{origin}/tenant-{id}/jwks"
issuer = "{origin}/tenant-{id}"
audience = "none"
algorithms = ["EdDSA", "ES256", "RS256"]
"#;

/// The mock, serving its key set at `/tenant-<n>/jwks` for every `n`.
async fn mock() -> MockProvider {
    let mock = MockProvider::better_auth().await;
    let jwks = reqwest::get(mock.jwks_url())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Mock::given(method("GET"))
        .and(path_regex(r"^/tenant-[0-9]+/jwks$"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(jwks),
        )
        .mount(mock.server())
        .await;
    mock
}

/// Requests the mock received since [`mock`] read its key set, by path.
async fn requests_by_path(mock: &MockProvider) -> HashMap<String, usize> {
    let setup = url::Url::parse(&mock.jwks_url()).unwrap().path().to_owned();
    let mut counts = HashMap::new();
    for request in mock.server().received_requests().await.unwrap_or_default() {
        *counts.entry(request.url.path().to_owned()).or_default() += 1;
    }
    if let Some(count) = counts.get_mut(&setup) {
        *count -= 1;
        if *count == 0 {
            counts.remove(&setup);
        }
    }
    counts
}

/// Tenants `{origin}/tenant-{id}`, verifiers built by the factory (counted).
fn tenants(mock: &MockProvider, max_issuers: u64, builds: Arc<AtomicUsize>) -> TenantVerifier {
    let origin = mock.uri();
    let factory_origin = origin.clone();
    TenantVerifier::builder(move |tenant: &TenantIssuer<'_>| {
        builds.fetch_add(1, Ordering::SeqCst);
        let id = tenant.param("id").unwrap_or_default();
        let provider = Provider::from_toml_str_with(
            TENANT_PRESET,
            "tenant.toml",
            &[("origin", &factory_origin), ("id", id)],
        )?;
        Verifier::builder(provider).any_audience().build()
    })
    .trust_template(&format!("{origin}/tenant-{{id}}"))
    .unwrap()
    .max_issuers(max_issuers)
    .build()
    .unwrap()
}

fn issuer(mock: &MockProvider, n: usize) -> String {
    format!("{}/tenant-{n}", mock.uri())
}

#[tokio::test]
async fn a_thousand_tenants_each_fetch_their_keys_once() {
    let mock = mock().await;
    let builds = Arc::new(AtomicUsize::new(0));
    let tenants = tenants(&mock, 2_000, builds.clone());
    assert_eq!(tenants.live_issuers(), 0);
    let tokens: Vec<String> = (0..TENANTS)
        .map(|n| {
            mock.token()
                .sub(&format!("user-{n}"))
                .issuer(&issuer(&mock, n))
                .sign()
        })
        .collect();
    for round in 0..2 {
        for (n, token) in tokens.iter().enumerate() {
            let user = tenants
                .verify(token)
                .await
                .unwrap_or_else(|e| panic!("tenant {n}: {e}"));
            assert_eq!(user.id, format!("user-{n}"), "round {round}");
        }
    }
    assert_eq!(
        builds.load(Ordering::SeqCst),
        TENANTS,
        "one verifier per tenant"
    );
    assert_eq!(tenants.live_issuers(), TENANTS as u64);
    let requests = requests_by_path(&mock).await;
    for n in 0..TENANTS {
        assert_eq!(
            requests.get(&format!("/tenant-{n}/jwks")),
            Some(&1),
            "tenant {n}: one JWKS fetch over two rounds"
        );
    }
}

#[tokio::test]
async fn untrusted_issuers_cost_no_network_call_and_no_verifier() {
    let mock = mock().await;
    let builds = Arc::new(AtomicUsize::new(0));
    let tenants = tenants(&mock, 100, builds.clone());
    let origin = mock.uri();
    for forged in [
        format!("{origin}/other-1"),
        format!("{origin}/tenant-1.evil"),
        format!("{origin}/tenant-1/x"),
        format!("{origin}/tenant-"),
        "https://evil.example/tenant-1".to_owned(),
    ] {
        let token = mock.token().issuer(&forged).sign();
        let error = tenants.verify(&token).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidIssuer, "{forged}");
    }
    let no_issuer = mock.token().claim("iss", serde_json::Value::Null).sign();
    assert_eq!(
        tenants.verify(&no_issuer).await.unwrap_err().kind(),
        ErrorKind::InvalidIssuer
    );
    assert_eq!(builds.load(Ordering::SeqCst), 0);
    assert!(
        requests_by_path(&mock).await.is_empty(),
        "no request at all"
    );
    // A trusted tenant's token signed by another key is refused by that tenant's verifier.
    let forged_key = mock.token().issuer(&issuer(&mock, 7)).sign_with_wrong_key();
    assert_eq!(
        tenants.verify(&forged_key).await.unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
}

#[tokio::test]
async fn live_verifiers_are_bounded_and_an_evicted_tenant_is_rebuilt() {
    let mock = mock().await;
    let builds = Arc::new(AtomicUsize::new(0));
    let tenants = tenants(&mock, 10, builds.clone());
    for n in 0..50 {
        let token = mock.token().issuer(&issuer(&mock, n)).sign();
        tenants.verify(&token).await.unwrap();
    }
    assert!(tenants.live_issuers() <= 10, "{}", tenants.live_issuers());
    let before = builds.load(Ordering::SeqCst);
    assert_eq!(before, 50);
    // Tenant 0 was evicted long ago: its next token builds it again.
    let token = mock.token().issuer(&issuer(&mock, 0)).sign();
    tenants.verify(&token).await.unwrap();
    assert_eq!(builds.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn a_factory_verifier_for_another_issuer_is_refused() {
    let mock = mock().await;
    let origin = mock.uri();
    let provider = mock.provider();
    let tenants = TenantVerifier::builder(move |_: &TenantIssuer<'_>| {
        // Wrong: the mock's own issuer, whatever the tenant.
        Verifier::builder(provider.clone()).build()
    })
    .trust_template(&format!("{origin}/tenant-{{id}}"))
    .unwrap()
    .build()
    .unwrap();
    let token = mock.token().issuer(&issuer(&mock, 1)).sign();
    assert_eq!(
        tenants.verify(&token).await.unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[tokio::test]
async fn the_request_edge_verifies_through_the_tenants() {
    let mock = mock().await;
    let edge = RequestEdge::tenants(tenants(&mock, 100, Arc::new(AtomicUsize::new(0))));
    let token = mock.token().sub("u1").issuer(&issuer(&mock, 3)).sign();
    let headers = [("authorization", format!("Bearer {token}"))];
    let user = edge
        .authenticate(&EdgeRequest::new("GET", "/me", &headers[..]))
        .await
        .unwrap();
    assert_eq!(user.id, "u1");
    let forged = mock.token().issuer("https://evil.example/").sign();
    let headers = [("authorization", format!("Bearer {forged}"))];
    let refusal = edge
        .authenticate(&EdgeRequest::new("GET", "/me", &headers[..]))
        .await
        .unwrap_err();
    assert_eq!(refusal.status(), 401);
    assert_eq!(
        refusal.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="invalid_token""#
    );
}

#[test]
fn a_tenant_verifier_needs_a_trust_rule() {
    let builder = TenantVerifier::builder(|_: &TenantIssuer<'_>| {
        Verifier::builder(Provider::oidc("https://idp.example")?)
            .audience("api")
            .build()
    });
    assert_eq!(builder.build().unwrap_err().kind(), ErrorKind::Config);
}
