//! Attack suite: forged, confused and malformed tokens must be rejected with the right
//! [`ErrorKind`]. Most cases are data in `fixtures/attacks/cases.json`; the rest need code
//! (a live mock provider, every algorithm, huge inputs).

mod support;

use jwks_auth::testing::{MockProvider, TestKey, TestKeys};
use jwks_auth::{
    dangerous, Algorithm, AuthError, CachePolicy, ErrorKind, KeyFamily, Provider, Verifier,
    MAX_TOKEN_BYTES,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use support::{b64, clock, fixture_bytes, fixture_text, unb64};

/// The verifier's clock in the data-driven cases (claims in the JSON file are relative to it).
const NOW: i64 = support::START;
const ISSUER: &str = "https://issuer.example.test";
const AUDIENCE: &str = "api://attacks";

fn key_file(name: &str) -> Vec<u8> {
    fixture_bytes(&format!("keys/{name}"))
}

/// A networkless verifier trusting the [`TestKeys`] public keys (every asymmetric family),
/// with a fixed issuer, audience and clock.
fn static_verifier() -> Verifier {
    verifier_named("default")
}

/// The verifier a case names: `default` ([`static_verifier`]), `no-audience` (no audience
/// configured) or `any-audience` (`.any_audience()`).
fn verifier_named(name: &str) -> Verifier {
    let provider = Provider::static_jwks(&TestKeys::new().jwks_json()).expect("static JWKS");
    let builder = Verifier::builder(provider).issuer(ISSUER).clock(clock());
    let builder = match name {
        "default" => builder.audience(AUDIENCE),
        "no-audience" => builder,
        "any-audience" => builder.any_audience(),
        other => panic!("unknown verifier `{other}`"),
    };
    builder.build().expect("verifier")
}

/// A fixture key by its kid (both trusted and attacker keys).
fn fixture_key(kid: &str) -> Option<TestKey> {
    [
        KeyFamily::Ed25519,
        KeyFamily::P256,
        KeyFamily::P384,
        KeyFamily::P521,
        KeyFamily::Rsa,
    ]
    .into_iter()
    .flat_map(|family| (0..2).filter_map(move |n| TestKey::fixture(family, n)))
    .find(|key| key.kid() == kid)
}

fn default_claims() -> Map<String, Value> {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user_attack",
        "iat": NOW,
        "exp": NOW + 3600,
    })
    .as_object()
    .expect("object")
    .clone()
}

/// One data-driven case; see the `about` text in `fixtures/attacks/cases.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    expect: String,
    token: Option<String>,
    header: Option<Value>,
    header_json: Option<String>,
    payload_json: Option<String>,
    #[serde(default)]
    claims: Map<String, Value>,
    #[serde(default)]
    remove_claims: Vec<String>,
    #[serde(default)]
    tamper_claims: Map<String, Value>,
    #[serde(default)]
    header_prefix: String,
    #[serde(default)]
    header_suffix: String,
    #[serde(default)]
    header_trailing_bits: bool,
    #[serde(default)]
    payload_prefix: String,
    #[serde(default)]
    payload_suffix: String,
    signer: Option<String>,
    sign_alg: Option<String>,
    signature: Option<String>,
    #[serde(default)]
    signature_suffix: String,
    #[serde(default)]
    append: String,
    #[serde(default = "default_verifier")]
    verifier: String,
}

fn default_verifier() -> String {
    "default".into()
}

#[derive(Debug, Deserialize)]
struct CaseFile {
    cases: Vec<Case>,
}

fn load_cases() -> Vec<Case> {
    let text = fixture_text("attacks/cases.json");
    serde_json::from_str::<CaseFile>(&text)
        .expect("cases.json parses")
        .cases
}

/// Replaces `$jwk:<fixture>` and `$repeat:<n>:<c>` string values, recursively.
fn expand_placeholders(value: Value) -> Value {
    match value {
        Value::String(text) => {
            if let Some(name) = text.strip_prefix("$jwk:") {
                let jwk = key_file(&format!("{name}.jwk.json"));
                serde_json::from_slice(&jwk).expect("fixture JWK")
            } else if let Some(spec) = text.strip_prefix("$repeat:") {
                let (count, unit) = spec.split_once(':').expect("$repeat:<n>:<c>");
                Value::String(unit.repeat(count.parse().expect("repeat count")))
            } else {
                Value::String(text)
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(expand_placeholders).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, expand_placeholders(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Sets an unused low bit in the last character of a base64url segment whose byte length is
/// not a multiple of 3 (a non-canonical encoding of the same bytes).
fn set_trailing_bit(segment: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_ne!(segment.len() % 4, 0, "segment has no unused bits");
    let (head, last) = segment.split_at(segment.len() - 1);
    let index = ALPHABET
        .iter()
        .position(|&c| c == last.as_bytes()[0])
        .expect("base64url character");
    format!("{head}{}", ALPHABET[index ^ 1] as char)
}

fn sign_with(signer: &str, alg: Algorithm, input: &[u8]) -> Vec<u8> {
    if let Some(file) = signer.strip_prefix("hmac:") {
        return TestKey::secret("hmac", &key_file(file)).sign(alg, input);
    }
    fixture_key(signer)
        .unwrap_or_else(|| panic!("no fixture key `{signer}`"))
        .sign(alg, input)
}

fn parse_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn build_token(case: &Case) -> String {
    if let Some(token) = &case.token {
        return token.clone();
    }
    let header = case
        .header
        .clone()
        .map(expand_placeholders)
        .unwrap_or_else(|| json!({"alg": "ES256", "typ": "JWT", "kid": "ec-p256-a"}));
    let header_text = case
        .header_json
        .clone()
        .unwrap_or_else(|| serde_json::to_string(&header).expect("header json"));
    let mut claims = default_claims();
    claims.extend(case.claims.clone());
    for name in &case.remove_claims {
        claims.remove(name);
    }
    let payload_text = case
        .payload_json
        .clone()
        .unwrap_or_else(|| Value::Object(claims.clone()).to_string());

    let mut header_segment = format!(
        "{}{}{}",
        case.header_prefix,
        b64(header_text.as_bytes()),
        case.header_suffix
    );
    if case.header_trailing_bits {
        header_segment = set_trailing_bit(&header_segment);
    }
    let payload_segment = format!(
        "{}{}{}",
        case.payload_prefix,
        b64(payload_text.as_bytes()),
        case.payload_suffix
    );
    let input = format!("{header_segment}.{payload_segment}");

    let header_alg = serde_json::from_str::<Value>(&header_text)
        .ok()
        .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned));
    let sign_alg = case.sign_alg.clone().or(header_alg);
    let header_kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    let valid_signature = || -> Vec<u8> {
        let alg: Algorithm = sign_alg
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("case `{}` needs sign_alg or a signature", case.name));
        let signer = case
            .signer
            .clone()
            .or_else(|| header_kid.clone().filter(|kid| fixture_key(kid).is_some()))
            .unwrap_or_else(|| TestKey::for_algorithm(alg).kid().to_owned());
        sign_with(&signer, alg, input.as_bytes())
    };
    let spec = case.signature.as_deref().unwrap_or("valid");
    let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
    let signature_segment = match kind {
        "valid" => b64(valid_signature()),
        "empty" => String::new(),
        "zeros" => b64(vec![0; arg.parse().expect("zeros:<n>")]),
        "hex" => b64(parse_hex(arg)),
        "segment" => arg.to_owned(),
        "truncate" => {
            let sig = valid_signature();
            b64(&sig[..sig.len() - arg.parse::<usize>().expect("truncate:<n>")])
        }
        "extend" => {
            let mut sig = valid_signature();
            sig.extend(std::iter::repeat_n(0u8, arg.parse().expect("extend:<n>")));
            b64(&sig)
        }
        "flip" => {
            let mut sig = valid_signature();
            sig[arg.parse::<usize>().expect("flip:<index>")] ^= 0x01;
            b64(&sig)
        }
        other => panic!("case `{}`: unknown signature spec `{other}`", case.name),
    };
    let payload_segment = if case.tamper_claims.is_empty() {
        payload_segment
    } else {
        let mut tampered = claims;
        tampered.extend(case.tamper_claims.clone());
        b64(Value::Object(tampered).to_string().as_bytes())
    };
    format!(
        "{header_segment}.{payload_segment}.{signature_segment}{}{}",
        case.signature_suffix, case.append
    )
}

fn outcome(result: &Result<jwks_auth::AuthUser, AuthError>) -> &'static str {
    match result {
        Ok(_) => "accept",
        Err(err) => err.kind().as_str(),
    }
}

/// Runs `cases` and returns one line per case whose outcome differs from its expectation.
async fn mismatches<'c>(cases: impl IntoIterator<Item = &'c Case>) -> Vec<String> {
    let verifiers: Vec<(&str, Verifier)> = ["default", "no-audience", "any-audience"]
        .into_iter()
        .map(|name| (name, verifier_named(name)))
        .collect();
    let mut failures = Vec::new();
    for case in cases {
        let token = build_token(case);
        let Some((_, verifier)) = verifiers.iter().find(|(name, _)| *name == case.verifier) else {
            panic!("{}: unknown verifier `{}`", case.name, case.verifier);
        };
        let result = verifier.verify(&token).await;
        let got = outcome(&result);
        if got != case.expect {
            let detail = result
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default();
            failures.push(format!(
                "{}: expected {}, got {got} ({detail})",
                case.name, case.expect
            ));
        } else if let Ok(user) = &result {
            assert_eq!(user.id, "user_attack", "{}", case.name);
        }
    }
    failures
}

#[tokio::test]
async fn data_driven_attack_cases_get_the_expected_outcome() {
    let cases = load_cases();
    let checked: Vec<&Case> = cases.iter().collect();
    assert!(checked.len() >= 50, "only {} cases", checked.len());
    let failures = mismatches(checked.iter().copied()).await;
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        checked.len(),
        failures.join("\n")
    );
}

#[test]
fn attack_case_names_are_unique() {
    let cases = load_cases();
    let mut names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate case names");
}

const ASYMMETRIC: [Algorithm; 10] = [
    Algorithm::EdDSA,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// A token for `alg` from [`TestKeys`], valid for [`static_verifier`].
fn genuine_token(alg: Algorithm) -> String {
    TestKeys::new()
        .token(alg)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .sub("user_attack")
        .at(NOW)
        .expires_in(3600)
        .sign()
}

fn replace_signature(token: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let (input, signature) = token.rsplit_once('.').expect("three parts");
    let mut bytes = unb64(signature);
    edit(&mut bytes);
    format!("{input}.{}", b64(&bytes))
}

#[tokio::test]
async fn truncated_extended_and_bit_flipped_signatures_fail_for_every_algorithm() {
    let verifier = static_verifier();
    type Edit = fn(&mut Vec<u8>);
    let edits: [(&str, Edit); 6] = [
        ("truncated by one byte", |s| {
            s.pop();
        }),
        ("truncated to half", |s| s.truncate(s.len() / 2)),
        ("extended by one zero byte", |s| s.push(0)),
        ("doubled", |s| s.extend(s.clone())),
        ("first bit flipped", |s| s[0] ^= 0x80),
        ("last bit flipped", |s| {
            let last = s.len() - 1;
            s[last] ^= 0x01;
        }),
    ];
    for alg in ASYMMETRIC {
        let token = genuine_token(alg);
        assert!(verifier.verify(&token).await.is_ok(), "{alg} baseline");
        for (what, edit) in edits {
            let forged = replace_signature(&token, edit);
            let err = verifier.verify(&forged).await.expect_err(what);
            assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{alg}: {what}");
        }
    }
}

#[tokio::test]
async fn signature_by_the_wrong_key_under_each_known_kid_fails() {
    let verifier = static_verifier();
    for alg in [
        Algorithm::EdDSA,
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::PS512,
    ] {
        let forged = TestKeys::new()
            .token(alg)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .at(NOW)
            .sign_with_wrong_key();
        let err = verifier.verify(&forged).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{alg}");
    }
}

#[tokio::test]
async fn hs256_keyed_with_the_providers_rsa_public_key_is_refused_without_a_fetch() {
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let kid = mock.current_kid();
    let served_jwk = serde_json::to_vec(&json!({"keys": [serde_json::from_slice::<Value>(
        &key_file(&format!("{kid}.jwk.json"))
    )
    .unwrap()]}))
    .unwrap();
    let jwk: Value = serde_json::from_slice(&key_file(&format!("{kid}.jwk.json"))).unwrap();
    let modulus = unb64(jwk["n"].as_str().unwrap());
    let secrets: [(&str, Vec<u8>); 4] = [
        ("public key PEM", key_file(&format!("{kid}.pub.pem"))),
        ("public JWK JSON", key_file(&format!("{kid}.jwk.json"))),
        ("JWK set JSON", served_jwk),
        ("raw modulus bytes", modulus),
    ];
    for (what, secret) in secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let forged = mock
                .token()
                .key(TestKey::secret(&kid, &secret))
                .alg(alg)
                .kid(&kid)
                .sign();
            let err = verifier.verify(&forged).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm, "{alg}: {what}");
            assert_eq!(err.status(), 401);
        }
    }
    assert_eq!(
        mock.jwks_requests(),
        0,
        "a refused algorithm must not trigger a key fetch"
    );
    // The genuine RS256 token still works.
    assert!(verifier.verify(&mock.token().sign()).await.is_ok());
}

#[tokio::test]
async fn hmac_cannot_be_enabled_next_to_public_keys() {
    let mock = MockProvider::auth0().await;
    for algs in [
        vec![Algorithm::RS256, Algorithm::HS256],
        vec![Algorithm::HS256],
    ] {
        let err = Verifier::builder(mock.provider())
            .algorithms(algs)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
    let static_provider = Provider::static_jwks(&TestKeys::new().jwks_json()).unwrap();
    let err = Verifier::builder(static_provider)
        .algorithms([Algorithm::HS256])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn alg_none_is_refused_by_every_entry_point() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let unsigned = mock.token().sign_none();
    let err = verifier.verify(&unsigned).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm);
    let err = dangerous::verify_signature_only(&verifier, &unsigned)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm);
    let err = verifier
        .verify_as::<Map<String, Value>>(&unsigned)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm);
    assert_eq!(mock.jwks_requests(), 0);
}

/// A JWK set document holding the given fixture JWK files.
fn jwks_of(names: &[&str]) -> String {
    let keys: Vec<Value> = names
        .iter()
        .map(|name| serde_json::from_slice(&key_file(&format!("{name}.jwk.json"))).unwrap())
        .collect();
    json!({ "keys": keys }).to_string()
}

#[tokio::test]
async fn weak_rsa_1024_key_alone_leaves_no_usable_key() {
    let mock = MockProvider::auth0().await;
    mock.serve_raw(Some(jwks_of(&["rsa-1024-weak"])));
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    // Signed by a 2048-bit key under the weak kid: no 1024-bit signer exists in the test
    // helpers, and the token must be refused before any signature check anyway.
    let token = mock.token().kid("rsa-1024-weak").sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(err.status(), 503);
    assert_eq!(verifier.key_stats().keys, 0);
}

#[tokio::test]
async fn weak_rsa_1024_key_next_to_a_strong_one_is_skipped() {
    let mock = MockProvider::auth0().await;
    mock.serve_raw(Some(jwks_of(&["rsa-1024-weak", "rsa-2048-a"])));
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let err = verifier
        .verify(&mock.token().kid("rsa-1024-weak").sign())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(verifier.key_stats().keys, 1);
    // The strong key (the mock's signing key, rsa-2048-a) still verifies.
    assert_eq!(mock.current_kid(), "rsa-2048-a");
    assert!(verifier.verify(&mock.token().sign()).await.is_ok());
}

#[test]
fn weak_rsa_1024_key_is_refused_as_static_configuration() {
    let err = Provider::static_jwks(&jwks_of(&["rsa-1024-weak"])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = Provider::public_key_pem(key_file("rsa-1024-weak.pub.pem")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn oversized_tokens_are_malformed_before_parsing() {
    let verifier = static_verifier();
    let genuine = genuine_token(Algorithm::ES256);
    let (head, signature) = genuine.rsplit_once('.').unwrap();
    let megabyte_payload = format!("{head}{}.{signature}", "A".repeat(1 << 20));
    let one_too_many = "A".repeat(MAX_TOKEN_BYTES + 1);
    let megabyte_of_dots = ".".repeat(1 << 20);
    for (what, token) in [
        ("1 MiB payload", megabyte_payload),
        ("limit + 1", one_too_many),
        ("1 MiB of dots", megabyte_of_dots),
    ] {
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{what}");
        assert!(err.to_string().contains("too large"), "{what}: {err}");
    }
    // At the limit the token is parsed (and fails for another reason).
    let at_limit = "A".repeat(MAX_TOKEN_BYTES);
    let err = verifier.verify(&at_limit).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(!err.to_string().contains("too large"));
}

#[tokio::test]
async fn hostile_kids_against_a_live_provider_cost_one_refresh_then_hit_the_negative_cache() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    verifier.warm_up().await.unwrap();
    assert_eq!(mock.jwks_requests(), 1);
    let hostile = [
        "../../../../etc/passwd",
        "' OR 1=1 --",
        "%00",
        "http://attacker.example/jwks.json",
    ];
    for kid in hostile {
        let err = verifier
            .verify(&mock.token().kid(kid).sign())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey, "{kid}");
    }
    // The first unknown kid refetched once; the others fell within the cooldown.
    assert_eq!(mock.jwks_requests(), 2);
    for kid in hostile {
        let err = verifier
            .verify(&mock.token().kid(kid).sign())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey, "{kid}");
    }
    assert_eq!(mock.jwks_requests(), 2);
    assert!(verifier.key_stats().negative_cache_hits >= hostile.len() as u64);
}

#[tokio::test]
async fn embedded_attacker_keys_are_never_used_against_a_live_provider() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let attacker = TestKey::fixture(KeyFamily::Ed25519, 1).unwrap();
    assert_ne!(attacker.kid(), mock.current_kid());
    let jwk = attacker.public_jwk().unwrap();
    let cases = [
        (
            "jwk, attacker kid",
            mock.token()
                .key(attacker.clone())
                .header("jwk", jwk.clone()),
            ErrorKind::UnknownKey,
        ),
        (
            "jwk, known kid",
            mock.token()
                .key(attacker.clone())
                .kid(&mock.current_kid())
                .header("jwk", jwk.clone()),
            ErrorKind::InvalidSignature,
        ),
        (
            "jwk, no kid",
            mock.token()
                .key(attacker.clone())
                .no_kid()
                .header("jwk", jwk),
            ErrorKind::InvalidSignature,
        ),
        (
            "jku",
            mock.token()
                .key(attacker.clone())
                .header("jku", format!("{}/attacker-jwks", mock.uri())),
            ErrorKind::UnknownKey,
        ),
        (
            "x5u",
            mock.token()
                .key(attacker.clone())
                .header("x5u", "https://attacker.example/cert.pem"),
            ErrorKind::UnknownKey,
        ),
        (
            "x5c",
            mock.token()
                .key(attacker)
                .no_kid()
                .header("x5c", json!(["MIIBattacker"])),
            ErrorKind::InvalidSignature,
        ),
    ];
    for (what, builder, expected) in cases {
        let err = verifier.verify(&builder.sign()).await.unwrap_err();
        assert_eq!(err.kind(), expected, "{what}");
    }
    // Only the provider's own JWKS URL was ever fetched, once: the cold fetch answered the
    // attacker kid, which then sat in the negative cache.
    assert_eq!(mock.jwks_requests(), 1);
    let requests = mock.server().received_requests().await.unwrap_or_default();
    assert!(requests.iter().all(|r| r.url.path() == "/api/auth/jwks"));
}

#[tokio::test]
async fn verified_cache_does_not_accept_a_tampered_copy_of_a_cached_token() {
    let provider = Provider::static_jwks(&TestKeys::new().jwks_json()).unwrap();
    let verifier = Verifier::builder(provider)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(clock())
        .cache_verified(100)
        .build()
        .unwrap();
    let token = genuine_token(Algorithm::EdDSA);
    verifier.verify(&token).await.unwrap();
    verifier.verify(&token).await.unwrap();
    let forged = replace_signature(&token, |s| s[10] ^= 0x04);
    let err = verifier.verify(&forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[tokio::test]
async fn kidless_tokens_try_a_bounded_number_of_keys() {
    // Ten P-256 keys: a kid-less token is tried against at most `max_kidless_candidates` of
    // them, so a forgery costs a bounded number of checks, and even a genuine kid-less token
    // from a key past the bound is rejected.
    let signers: Vec<TestKey> = (0..10)
        .map(|i| TestKey::generate(KeyFamily::P256, &format!("p256-{i}")))
        .collect();
    let keys: Vec<Value> = signers.iter().filter_map(TestKey::public_jwk).collect();
    let provider = Provider::static_jwks(&json!({ "keys": keys }).to_string()).unwrap();
    let verifier = Verifier::builder(provider)
        .any_issuer()
        .cache_policy(CachePolicy::default().max_kidless_candidates(2))
        .clock(clock())
        .build()
        .unwrap();
    let kidless = |key: &TestKey| {
        jwks_auth::testing::TokenBuilder::new(key.clone(), Algorithm::ES256)
            .no_kid()
            .at(NOW)
            .sign()
    };
    assert!(verifier.verify(&kidless(&signers[0])).await.is_ok());
    assert!(verifier.verify(&kidless(&signers[1])).await.is_ok());
    let err = verifier.verify(&kidless(&signers[9])).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    let attacker = TestKey::fixture(KeyFamily::P256, 1).unwrap();
    let err = verifier.verify(&kidless(&attacker)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}
