//! Arbitrary text as a static JWK set, then a verifier built from it: must never panic.
#![no_main]

use jwks_auth::{Provider, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(provider) = Provider::static_jwks(text) {
        let _ = Verifier::builder(provider).any_issuer().build();
    }
});
