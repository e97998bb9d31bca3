//! Curve 4: revocation entries. An `InMemoryRevocationStore` (capacity 10⁶ per map, the same
//! at every size) filled with `n` revocations, half tokens (`jti`, a UUID) and half sessions
//! (`sid`, a UUID), through `Verifier::revocations()`; then the verify of a token that is not
//! revoked (it has a `jti`, a `sid`, a `sub` and an `iat`: all three maps are looked up):
//! * `full`: signature checked (EdDSA, keys in memory);
//! * `cached`: with `cache_verified` too: the signature is skipped, the store still asked.
use std::hint::black_box;

use jwks_auth::revocation::InMemoryRevocationStore;
use jwks_auth::testing::TestKeys;
use jwks_auth::{Algorithm, Provider, Verifier};

use crate::alloc;
use crate::common::{now, runtime, AUDIENCE, ISSUER};
use crate::harness::{Harness, Plan};

const FULL: Plan = Plan::new(200, 2_000, 20, 100);
const CACHED: Plan = Plan::new(1_000, 20_000, 200, 1_000);
pub const CAPACITY: u64 = 1_000_000;

pub fn uuid(tag: u32, i: u64) -> String {
    format!(
        "{tag:08x}-{:04x}-4{:03x}-8000-{:012x}",
        i >> 48,
        (i >> 36) & 0xfff,
        i & 0xffff_ffff_ffff
    )
}

pub fn run(n: u64) {
    let mut h = Harness::new("revocation", n);
    let rt = runtime();
    let keys = TestKeys::new();
    let store = InMemoryRevocationStore::new(CAPACITY);
    let builder = || {
        Verifier::builder(Provider::static_jwks(&keys.jwks_json()).expect("jwks"))
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .revocation(store.clone())
    };
    let full = builder().build().expect("verifier");
    let cached = builder().cache_verified(1_024).build().expect("verifier");
    let revocations = full.revocations().expect("revocation on");
    let (iat, exp) = (now(), now() + 24 * 3600);

    let before = alloc::snapshot();
    rt.block_on(async {
        for i in 0..n {
            if i % 2 == 0 {
                revocations.revoke_token(&uuid(1, i), exp).await
            } else {
                revocations.revoke_session(&uuid(2, i), iat).await
            }
            .expect("revoke");
        }
    });
    h.memory("filled", &before, n);

    let token = keys
        .token(Algorithm::EdDSA)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .sub("user-live")
        .sid(&uuid(2, u64::MAX >> 1))
        .claim("jti", uuid(1, u64::MAX >> 1))
        .expires_in(24 * 3600)
        .sign();
    for (case, verifier, plan) in [("full", &full, &FULL), ("cached", &cached, &CACHED)] {
        rt.block_on(verifier.verify(&token)).expect("not revoked");
        h.case(case, plan, |range| {
            rt.block_on(async {
                for _ in range {
                    black_box(verifier.verify(black_box(&token)).await.unwrap());
                }
            })
        });
    }
    // The store does answer: a revoked one of the fill is refused.
    if n > 0 {
        let revoked = keys
            .token(Algorithm::EdDSA)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .claim("jti", uuid(1, 0))
            .expires_in(3600)
            .sign();
        assert!(
            rt.block_on(full.verify(&revoked)).is_err(),
            "revoked jti refused"
        );
    }
}
