//! Arbitrary input as a token against a networkless verifier (and the unverified decoder and
//! bearer parser): must never panic. Seeds are genuine tokens, so mutations reach the
//! signature and claim checks.
#![no_main]

use std::sync::OnceLock;

use jwks_auth::testing::TestKeys;
use jwks_auth::{ManualClock, Provider, Verifier};
use libfuzzer_sys::fuzz_target;

/// Matches the seeds' `iat` (fixtures/interop/tokens.json and the minted seeds).
const NOW: u64 = 1_700_000_000;

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let provider = Provider::static_jwks(&TestKeys::new().jwks_json()).expect("JWKS");
        Verifier::builder(provider)
            .any_issuer()
            .clock(ManualClock::at_unix(NOW))
            .build()
            .expect("verifier")
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let _ = runtime().block_on(verifier().verify(&token));
    let _ = jwks_auth::dangerous::decode_unverified(&token);
    let _ = jwks_auth::bearer_token(&token);
});
