//! What the criterion benches and `examples/bench_compare.rs` share: the tokens, the
//! verifiers under test and the "floor" (the bare aws-lc-rs check with a pre-parsed key).
//! Included by both with `mod common` / `#[path]`.

#![allow(dead_code)] // each includer uses a different subset

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaPublicKeyComponents};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwks_auth::testing::TestKeys;
use jwks_auth::{Algorithm, Provider, Verifier};
use serde_json::Value;
use tokio::runtime::{Builder, Runtime};

pub const ISSUER: &str = "https://bench.example";
pub const AUDIENCE: &str = "jwks-auth-bench";
pub const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::EdDSA,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::HS256,
];

/// The bare signature check a verify cannot avoid.
pub enum FloorKey {
    Public(ParsedPublicKey),
    Hmac(Box<hmac::Key>),
}

impl FloorKey {
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            FloorKey::Public(key) => key.verify_sig(message, signature).is_ok(),
            FloorKey::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
        }
    }
}

pub fn member(jwk: &Value, name: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(jwk[name].as_str().expect("JWK member"))
        .expect("base64url JWK member")
}

pub fn floor_key(keys: &TestKeys, alg: Algorithm) -> FloorKey {
    if alg.is_symmetric() {
        return FloorKey::Hmac(Box::new(hmac::Key::new(
            hmac::HMAC_SHA256,
            keys.secret().as_bytes(),
        )));
    }
    let jwk = keys.key(alg).public_jwk().expect("public key");
    let parsed = match alg {
        Algorithm::RS256 | Algorithm::PS256 => {
            let params = if alg == Algorithm::RS256 {
                &sig::RSA_PKCS1_2048_8192_SHA256
            } else {
                &sig::RSA_PSS_2048_8192_SHA256
            };
            RsaPublicKeyComponents {
                n: member(&jwk, "n"),
                e: member(&jwk, "e"),
            }
            .to_parsed_public_key(params)
        }
        Algorithm::EdDSA => ParsedPublicKey::new(&sig::ED25519, member(&jwk, "x")),
        _ => {
            let mut point = vec![0x04];
            point.extend(member(&jwk, "x"));
            point.extend(member(&jwk, "y"));
            let curve: &'static dyn sig::VerificationAlgorithm = if alg == Algorithm::ES256 {
                &sig::ECDSA_P256_SHA256_FIXED
            } else {
                &sig::ECDSA_P384_SHA384_FIXED
            };
            ParsedPublicKey::new(curve, point)
        }
    };
    FloorKey::Public(parsed.expect("fixture key parses"))
}

pub fn token(keys: &TestKeys, alg: Algorithm) -> String {
    let builder = keys
        .token(alg)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .expires_in(24 * 3600);
    builder.sign()
}

pub fn verifier(keys: &TestKeys, alg: Algorithm, cache_verified: bool) -> Verifier {
    let provider = if alg.is_symmetric() {
        Provider::shared_secret(keys.secret())
    } else {
        Provider::static_jwks(&keys.jwks_json())
    }
    .expect("provider");
    let builder = Verifier::builder(provider)
        .issuer(ISSUER)
        .audience(AUDIENCE);
    let builder = if cache_verified {
        builder.cache_verified(10_000)
    } else {
        builder
    };
    builder.build().expect("verifier")
}

/// A current-thread runtime, as a request handler would run verify on.
pub fn current_thread() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
