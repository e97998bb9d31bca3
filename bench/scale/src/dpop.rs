//! Curve 5: DPoP replay entries. A verifier with `dpop(Allowed)` and an
//! `InMemoryReplayStore` of capacity 1.1 × 10⁶ (the same at every size); the store is filled
//! with `n` proof ids (what the checker stores: 43 characters, base64url of a SHA-256),
//! remembered for an hour; then one `verify_dpop` of an EdDSA token bound to an Ed25519
//! proof key, with a fresh proof each time (signed before the measured loop), which checks
//! the id against the store and inserts it.
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwks_auth::dpop::{DpopMode, DpopRequest, InMemoryReplayStore, ReplayStore};
use jwks_auth::testing::{DpopProof, TestKey, TestKeys};
use jwks_auth::{Algorithm, KeyFamily, Provider, Verifier};

use crate::alloc;
use crate::common::{now, runtime, AUDIENCE, ISSUER};
use crate::harness::{Harness, Plan};

const PLAN: Plan = Plan::new(100, 1_000, 10, 100);
pub const CAPACITY: u64 = 1_100_000;
const URL: &str = "https://api.example.com/notes";

pub fn run(n: u64) {
    let mut h = Harness::new("dpop", n);
    let rt = runtime();
    let keys = TestKeys::new();
    let store = Arc::new(InMemoryReplayStore::new(CAPACITY));
    let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).expect("jwks"))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .dpop(DpopMode::Allowed)
        .dpop_replay_store(store.clone())
        // Proofs are signed before the measured loop, which is slow under callgrind.
        .dpop_iat_window(Duration::from_secs(600))
        .build()
        .expect("verifier");

    let until = Duration::from_secs(now() as u64 + 3600);
    let before = alloc::snapshot();
    rt.block_on(async {
        for i in 0..n {
            let id = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &i.to_le_bytes()));
            assert!(store.check_and_remember(&id, until).await.expect("room"));
        }
    });
    h.memory("filled", &before, n);

    let client = TestKey::fixture(KeyFamily::Ed25519, 1).expect("fixture key");
    let token = keys
        .token(Algorithm::EdDSA)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .expires_in(24 * 3600)
        .dpop_bound(&client)
        .sign();
    let proofs: Vec<String> = (0..h.ops(&PLAN) + 1)
        .map(|_| {
            DpopProof::new(&client)
                .method("GET")
                .url(URL)
                .token(&token)
                .sign()
        })
        .collect();
    let request = DpopRequest::new("GET", URL);
    rt.block_on(verifier.verify_dpop(&token, &[&proofs[0]], &request))
        .expect("dpop verifies");
    h.case("verify_dpop", &PLAN, |range| {
        rt.block_on(async {
            for i in range {
                let proof = proofs[i as usize + 1].as_str();
                black_box(
                    verifier
                        .verify_dpop(black_box(&token), &[proof], &request)
                        .await
                        .unwrap(),
                );
            }
        })
    });
}
