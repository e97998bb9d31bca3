//! Tokens signed by other JWT libraries (node `jose` and PyJWT, pinned in
//! `tests/interop/peers/`) verify with jwks-auth, and tampered copies do not.
//!
//! The tokens are committed in `fixtures/interop/tokens.json` (regenerate with
//! `tests/interop/peers/generate.sh`, which needs npm and python3), so this test needs
//! neither node nor python.

mod support;

use std::collections::BTreeSet;

use jwks_auth::{Algorithm, ErrorKind, Provider, Verifier};
use serde::Deserialize;
use serde_json::Value;
use support::{fixture_json, fixture_path, fixture_text, with_payload};

const ISSUER: &str = "https://interop.example";
const AUDIENCE: &str = "jwks-auth-interop";
const LIBRARIES: [&str; 2] = ["jose", "pyjwt"];

#[derive(Debug, Deserialize)]
struct PeerToken {
    lib: String,
    alg: String,
    kid: String,
    token: String,
}

fn peer_tokens() -> Vec<PeerToken> {
    serde_json::from_value(fixture_json("interop/tokens.json"))
        .expect("tokens.json is a list of {lib, alg, kid, token}")
}

/// Every public key in `fixtures/keys/*.jwk.json` as one JWK set (the weak RSA-1024 key is
/// in it too, and is skipped by the verifier).
fn fixture_jwks() -> String {
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(fixture_path("keys")).expect("fixtures/keys") {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".jwk.json") {
            let jwk: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            keys.push(jwk);
        }
    }
    assert!(keys.len() >= 5, "fixture public keys present");
    serde_json::json!({ "keys": keys }).to_string()
}

fn hs_secret() -> String {
    // The generators use the file's text, trimmed, as the secret's ASCII bytes.
    fixture_text("keys/hs-secret.txt").trim().to_owned()
}

/// A verifier that accepts exactly `alg`, with the fixtures' issuer and audience.
fn verifier_for(alg: Algorithm, jwks: &str) -> Verifier {
    let provider = if alg.is_symmetric() {
        Provider::shared_secret(hs_secret()).expect("secret")
    } else {
        Provider::static_jwks(jwks).expect("fixture JWK set")
    };
    Verifier::builder(provider)
        .algorithms([alg])
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("verifier")
}

/// `token` with the character at `index` of part `part` (0 header, 1 payload,
/// 2 signature) replaced by another base64url character.
fn flip_char(token: &str, part: usize, index: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let original = parts[part].as_bytes()[index];
    let replacement = if original == b'A' { 'B' } else { 'A' };
    parts[part].replace_range(index..=index, &replacement.to_string());
    parts.join(".")
}

/// The same header and signature over claims naming another user.
fn with_other_subject(token: &str) -> String {
    with_payload(token, |claims| claims["sub"] = "user_attacker".into())
}

#[test]
fn fixture_covers_every_algorithm_for_both_libraries() {
    let tokens = peer_tokens();
    let covered: BTreeSet<(String, String)> = tokens
        .iter()
        .map(|t| (t.lib.clone(), t.alg.clone()))
        .collect();
    for lib in LIBRARIES {
        for alg in Algorithm::ALL {
            assert!(
                covered.contains(&(lib.to_owned(), alg.to_string())),
                "tokens.json lacks {lib} {alg}"
            );
        }
    }
    assert_eq!(tokens.len(), LIBRARIES.len() * Algorithm::ALL.len());
    let skipped = fixture_json("interop/skipped.json");
    assert_eq!(skipped, serde_json::json!([]), "no algorithm was skipped");
}

#[tokio::test]
async fn every_peer_token_verifies() {
    let jwks = fixture_jwks();
    let mut failures = Vec::new();
    for peer in peer_tokens() {
        let alg: Algorithm = peer.alg.parse().expect("known algorithm");
        let header = jwks_auth::dangerous::decode_unverified(&peer.token)
            .unwrap()
            .header;
        assert_eq!(header["alg"], peer.alg.as_str());
        assert_eq!(header["kid"], peer.kid.as_str());

        let verifier = verifier_for(alg, &jwks);
        let user = match verifier.verify(&peer.token).await {
            Ok(user) => user,
            Err(err) => {
                failures.push(format!("{} {}: {err}", peer.lib, peer.alg));
                continue;
            }
        };
        assert_eq!(user.id, format!("user_{}_{}", peer.lib, peer.alg));
        assert_eq!(
            user.email.as_deref(),
            Some(format!("{}@example.com", peer.lib).as_str())
        );
        assert_eq!(user.issuer(), Some(ISSUER));
    }
    assert!(failures.is_empty(), "peer tokens rejected: {failures:#?}");
}

#[tokio::test]
async fn tampered_peer_tokens_are_rejected() {
    let jwks = fixture_jwks();
    for peer in peer_tokens() {
        let alg: Algorithm = peer.alg.parse().unwrap();
        let verifier = verifier_for(alg, &jwks);
        let payload_len = peer.token.split('.').nth(1).unwrap().len();
        let signature_len = peer.token.rsplit('.').next().unwrap().len();
        let tampered = [
            ("payload char", flip_char(&peer.token, 1, payload_len / 2)),
            ("payload claims", with_other_subject(&peer.token)),
            (
                "signature char",
                flip_char(&peer.token, 2, signature_len / 2),
            ),
        ];
        for (what, token) in tampered {
            assert_ne!(token, peer.token);
            let err = verifier.verify(&token).await.unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidSignature,
                "{} {} with altered {what}: {err}",
                peer.lib,
                peer.alg
            );
        }
    }
}

/// The fixture keys are what make these tokens verify: the same tokens fail against the
/// other fixture keys of each family relabelled with the expected kids.
#[tokio::test]
async fn peer_tokens_do_not_verify_with_other_keys() {
    let mut keys = Vec::new();
    for (other, kid) in [
        ("ed25519-b", "ed25519-a"),
        ("ec-p256-b", "ec-p256-a"),
        ("rsa-2048-b", "rsa-2048-a"),
    ] {
        let mut jwk = fixture_json(&format!("keys/{other}.jwk.json"));
        jwk["kid"] = kid.into();
        keys.push(jwk);
    }
    let impostor_jwks = serde_json::json!({ "keys": keys }).to_string();
    let mut checked = 0;
    for peer in peer_tokens() {
        let alg: Algorithm = peer.alg.parse().unwrap();
        if !["ed25519-a", "ec-p256-a", "rsa-2048-a"].contains(&peer.kid.as_str()) {
            continue;
        }
        let err = verifier_for(alg, &impostor_jwks)
            .verify(&peer.token)
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidSignature,
            "{} {}",
            peer.lib,
            peer.alg
        );
        checked += 1;
    }
    assert_eq!(
        checked,
        2 * 8,
        "EdDSA, ES256 and six RSA algorithms per library"
    );
}
