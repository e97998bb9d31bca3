//! Curve 1: keys in the JWK set. `n` Ed25519 keys served by the key server; tokens signed by
//! the first, the middle and the last key of the set; a verify with the keys cached.
//! Memory: the verifier after its first fetch, and a static-JWKS verifier of the same set
//! (the parsed keys alone), so that the slope between sizes is the bytes per key.
use std::hint::black_box;

use jwks_auth::testing::{TestKey, TokenBuilder};
use jwks_auth::{Algorithm, KeyFamily, Provider, Verifier};
use serde_json::json;

use crate::alloc;
use crate::common::{runtime, TENANT_PRESET};
use crate::harness::{Harness, Plan};
use crate::server::KeyServer;

const PLAN: Plan = Plan::new(200, 2_000, 20, 100);

pub fn run(n: u64) {
    let mut h = Harness::new("keys", n);
    let keys: Vec<TestKey> = (0..n)
        .map(|i| TestKey::generate(KeyFamily::Ed25519, &format!("key-{i:03}")))
        .collect();
    let jwks = json!({ "keys": keys.iter().filter_map(TestKey::public_jwk).collect::<Vec<_>>() })
        .to_string();
    let server = KeyServer::start(&jwks);
    let rt = runtime();
    let provider = Provider::from_toml_str_with(
        TENANT_PRESET,
        "tenant.toml",
        &[("origin", &server.origin), ("id", "0")],
    )
    .expect("provider");
    let issuer = format!("{}/tenant-0", server.origin);

    let before = alloc::snapshot();
    let verifier = Verifier::builder(provider).build().expect("verifier");
    let token = |key: &TestKey| {
        TokenBuilder::new(key.clone(), Algorithm::EdDSA)
            .issuer(&issuer)
            .sub("user-1")
            .expires_in(24 * 3600)
            .sign()
    };
    rt.block_on(verifier.verify(&token(&keys[0])))
        .expect("first verify fetches the keys");
    assert_eq!(verifier.key_stats().keys as u64, n);
    h.memory("verifier", &before, n);

    let before = alloc::snapshot();
    let fixed = Verifier::builder(Provider::static_jwks(&jwks).expect("static jwks"))
        .build()
        .expect("static verifier");
    h.memory("static-verifier", &before, n);
    drop(fixed);

    let positions = [("first", 0), ("middle", n / 2), ("last", n - 1)];
    for (case, position) in positions {
        let token = token(&keys[position as usize]);
        rt.block_on(verifier.verify(&token)).expect("verifies");
        h.case(case, &PLAN, |range| {
            rt.block_on(async {
                for _ in range {
                    black_box(verifier.verify(black_box(&token)).await.unwrap());
                }
            })
        });
    }
    assert_eq!(
        verifier.key_stats().fetches,
        1,
        "one fetch for every verify"
    );
    drop(server);
}
