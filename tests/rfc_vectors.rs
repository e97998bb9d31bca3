//! Published JWS test vectors verify byte for byte: RFC 7515 Appendix A.2 (RS256) and A.3
//! (ES256), and RFC 8037 Appendix A.4 (Ed25519). Keys and compact serializations are copied
//! from the RFC text into `fixtures/rfc/`; nothing is re-signed.
//!
//! The vectors carry no `kid` (the verifier tries the kid-less candidates of the right key
//! type) and no valid claims (A.2/A.3 expired in 2011; A.4's payload is not JSON), so they
//! go through `dangerous::verify_signature_only`.

mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwks_auth::{dangerous, Algorithm, ErrorKind, Provider, Verifier};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Vector {
    source: String,
    alg: String,
    protected_header: String,
    payload: String,
    jwk: Value,
    jws: String,
}

fn vector(name: &str) -> Vector {
    serde_json::from_value(support::fixture_json(&format!("rfc/{name}")))
        .unwrap_or_else(|err| panic!("fixtures/rfc/{name}: {err}"))
}

fn verifier(vector: &Vector) -> Verifier {
    assert!(vector.jwk.get("kid").is_none(), "RFC keys have no kid");
    let jwks = serde_json::json!({ "keys": [vector.jwk] }).to_string();
    let alg: Algorithm = vector.alg.parse().unwrap();
    Verifier::builder(Provider::static_jwks(&jwks).expect("RFC key parses"))
        .algorithms([alg])
        .build()
        .expect("verifier")
}

/// `token` with one bit of decoded byte `index` of part `part` (1 payload, 2 signature)
/// flipped, re-encoded.
fn with_byte_changed(token: &str, part: usize, index: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut bytes = URL_SAFE_NO_PAD.decode(&parts[part]).unwrap();
    bytes[index] ^= 0x01;
    parts[part] = URL_SAFE_NO_PAD.encode(bytes);
    parts.join(".")
}

/// Verifies the vector, checks the payload bytes, then checks that changing any single
/// byte of the payload or of the signature makes it fail.
async fn check(name: &str, expected_signature_bytes: usize) {
    let vector = vector(name);
    let verifier = verifier(&vector);
    let header_b64 = vector.jws.split('.').next().unwrap();
    let header_bytes = URL_SAFE_NO_PAD.decode(header_b64).unwrap();
    assert_eq!(
        header_bytes,
        vector.protected_header.as_bytes(),
        "{}",
        vector.source
    );
    let header: Value = serde_json::from_slice(&header_bytes).unwrap();
    assert!(header.get("typ").is_none() && header.get("kid").is_none());

    let payload = dangerous::verify_signature_only(&verifier, &vector.jws)
        .await
        .unwrap_or_else(|err| panic!("{}: {err}", vector.source));
    assert_eq!(payload, vector.payload.as_bytes(), "{}", vector.source);

    let parts: Vec<Vec<u8>> = vector
        .jws
        .split('.')
        .map(|p| URL_SAFE_NO_PAD.decode(p).unwrap())
        .collect();
    assert_eq!(
        parts[2].len(),
        expected_signature_bytes,
        "{}",
        vector.source
    );
    for (part, what) in [(1, "payload"), (2, "signature")] {
        for index in 0..parts[part].len() {
            let changed = with_byte_changed(&vector.jws, part, index);
            let err = dangerous::verify_signature_only(&verifier, &changed)
                .await
                .unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidSignature,
                "{}: {what} byte {index} changed: {err}",
                vector.source
            );
        }
    }
}

#[tokio::test]
async fn rfc7515_a2_rs256_verifies() {
    check("rfc7515-a2-rs256.json", 256).await;
}

#[tokio::test]
async fn rfc7515_a3_es256_verifies() {
    check("rfc7515-a3-es256.json", 64).await;
}

#[tokio::test]
async fn rfc8037_a4_ed25519_verifies() {
    check("rfc8037-a4-ed25519.json", 64).await;
}

/// The RFC 7515 key is exactly 2048 bits, the verifier's minimum: it must be accepted.
#[test]
fn rfc7515_rsa_key_is_2048_bits() {
    let vector = vector("rfc7515-a2-rs256.json");
    let n = URL_SAFE_NO_PAD
        .decode(vector.jwk["n"].as_str().unwrap())
        .unwrap();
    assert_eq!(n.len(), 256);
    assert!(n[0] >= 0x80, "top bit set: a full 2048-bit modulus");
}

/// Full verification refuses the same vectors for their claims, which is why they go
/// through `verify_signature_only`: A.2/A.3 expired in 2011, A.4's payload is not JSON.
#[tokio::test]
async fn full_verification_checks_the_claims_too() {
    for name in ["rfc7515-a2-rs256.json", "rfc7515-a3-es256.json"] {
        let vector = vector(name);
        let err = verifier(&vector).verify(&vector.jws).await.unwrap_err();
        assert!(
            err.time_context().is_some_and(|t| t.bound == 1300819380),
            "{}: {err:?}",
            vector.source
        );
    }
    let vector = vector("rfc8037-a4-ed25519.json");
    let err = verifier(&vector).verify(&vector.jws).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err}");
}

/// A vector's signature does not verify under another vector's key of the same family:
/// the keys are what make them pass.
#[tokio::test]
async fn vectors_do_not_verify_under_another_key() {
    let ed = vector("rfc8037-a4-ed25519.json");
    let other_ed =
        serde_json::json!({"keys": [support::fixture_json("keys/ed25519-a.jwk.json")]}).to_string();
    let verifier = Verifier::builder(Provider::static_jwks(&other_ed).unwrap())
        .algorithms([Algorithm::EdDSA])
        .build()
        .unwrap();
    let err = dangerous::verify_signature_only(&verifier, &ed.jws)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{err}");
}
