//! Interop: DPoP proofs made by panva's `dpop` npm package (pinned in
//! `tests/interop/oidc-provider/package-lock.json`, driven by `proof.mjs`) checked by
//! `DpopChecker`, for ES256 and EdDSA keys (under both names dpop-era clients use: RFC
//! 8037 `EdDSA` and RFC 9864 `Ed25519`) and RSA.
//!
//! The last test adds the authorization server: `oidc-provider` (`server.mjs`, its `dPoP`
//! feature) issues a DPoP-bound access token through a client-credentials grant
//! (`token.mjs`), verified by a `Verifier` through discovery, then checked with proofs by
//! the same key.
//!
//! Needs Node.js (>= 20) and npm on `PATH`; the first run installs the pinned dependencies
//! with `npm ci`. Without node the tests fail with a message saying so: never skipped.

mod support;

use std::sync::OnceLock;

use jwks_auth::dpop::{
    jwk_thumbprint, Confirmation, DpopChecker, DpopError, DpopMode, DpopRequest,
};
use jwks_auth::{AuthError, AuthUser, ErrorKind, ManualClock, Provider, Verifier};
use serde_json::Value;
use support::node::{oidc_provider_dpop_token, NodeProject, NodeServer};

const PROJECT: NodeProject = NodeProject {
    name: "oidc-provider",
    dir: "tests/interop/oidc-provider",
    min_node: (20, 0),
};

const HTU: &str = "https://api.example.test/notes";
const TOKEN: &str = "an-access-token-the-proof-is-bound-to";

struct Proof {
    proof: String,
    jkt: String,
    header: Value,
}

fn node_proof(alg: &str, htm: &str, extra: &[&str]) -> Proof {
    let mut args = vec!["--alg", alg, "--htm", htm, "--htu", HTU];
    args.extend_from_slice(extra);
    let out: Value =
        serde_json::from_str(&PROJECT.run("proof.mjs", &args)).expect("proof.mjs prints JSON");
    let proof = out["proof"].as_str().expect("proof").to_owned();
    let header_b64 = proof.split('.').next().unwrap();
    use base64::Engine as _;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header_b64)
        .unwrap();
    Proof {
        jkt: out["jkt"].as_str().expect("jkt").to_owned(),
        header: serde_json::from_slice(&header).unwrap(),
        proof,
    }
}

async fn check(checker: &DpopChecker, proof: &Proof, method: &str) -> Result<(), DpopError> {
    let request = DpopRequest::new(method, HTU)
        .access_token(TOKEN)
        .cnf_jkt(&proof.jkt);
    checker.check(&[&proof.proof], &request).await.map(drop)
}

#[tokio::test]
async fn proofs_by_the_dpop_package_are_accepted() {
    let checker = DpopChecker::builder().build().unwrap();
    for (alg, header_alg) in [
        ("ES256", "ES256"),
        ("EdDSA", "EdDSA"),
        ("Ed25519", "Ed25519"),
        ("RS256", "RS256"),
        ("PS256", "PS256"),
    ] {
        let proof = node_proof(alg, "GET", &["--ath", TOKEN]);
        assert_eq!(proof.header["alg"], header_alg, "{alg}");
        let verified = checker
            .check(
                &[&proof.proof],
                &DpopRequest::new("GET", HTU)
                    .access_token(TOKEN)
                    .cnf_jkt(&proof.jkt),
            )
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.jkt(), proof.jkt, "{alg}");
    }
}

#[tokio::test]
async fn our_thumbprint_of_their_jwk_is_their_jkt() {
    for alg in ["ES256", "EdDSA", "RS256"] {
        let proof = node_proof(alg, "GET", &[]);
        let jwk = proof.header["jwk"].as_object().expect("a jwk header");
        assert_eq!(jwk_thumbprint(jwk).unwrap(), proof.jkt, "{alg}");
    }
}

#[tokio::test]
async fn a_replayed_proof_by_the_dpop_package_is_refused() {
    let checker = DpopChecker::builder().build().unwrap();
    for alg in ["ES256", "EdDSA"] {
        let proof = node_proof(alg, "GET", &["--ath", TOKEN]);
        check(&checker, &proof, "GET").await.unwrap();
        assert!(
            matches!(
                check(&checker, &proof, "GET").await,
                Err(DpopError::Replayed)
            ),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn a_proof_by_the_dpop_package_for_another_method_is_refused() {
    let checker = DpopChecker::builder().build().unwrap();
    for alg in ["ES256", "EdDSA"] {
        let proof = node_proof(alg, "POST", &["--ath", TOKEN]);
        assert!(
            matches!(
                check(&checker, &proof, "GET").await,
                Err(DpopError::InvalidProof(
                    "htm does not match the request method"
                ))
            ),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn a_proof_by_the_dpop_package_for_another_token_is_refused() {
    let checker = DpopChecker::builder().build().unwrap();
    for alg in ["ES256", "EdDSA"] {
        let proof = node_proof(alg, "GET", &["--ath", "some-other-token"]);
        assert!(
            matches!(
                check(&checker, &proof, "GET").await,
                Err(DpopError::InvalidProof(
                    "ath does not match the access token"
                ))
            ),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn a_nonce_from_our_issuer_in_a_dpop_package_proof_is_accepted() {
    let issuer = jwks_auth::dpop::NonceIssuer::new(std::time::Duration::from_secs(300)).unwrap();
    let checker = DpopChecker::builder().nonces(issuer).build().unwrap();
    let nonce = checker.current_nonce().unwrap();
    for alg in ["ES256", "EdDSA"] {
        let without = node_proof(alg, "GET", &["--ath", TOKEN]);
        assert!(
            matches!(
                check(&checker, &without, "GET").await,
                Err(DpopError::UseNonce(_))
            ),
            "{alg}"
        );
        let with = node_proof(alg, "GET", &["--ath", TOKEN, "--nonce", &nonce]);
        check(&checker, &with, "GET")
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}

/// The resource server `server.mjs` issues JWT access tokens for.
const API: &str = "https://api.example.test/";

/// One server per test binary; it exits with this process (its stdin closes).
fn server() -> &'static NodeServer {
    static SERVER: OnceLock<NodeServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        PROJECT.start("server.mjs", |command| {
            command.env_remove("NODE_ENV");
        })
    })
}

#[tokio::test]
async fn a_dpop_bound_token_from_oidc_provider_is_accepted_only_with_its_proof() {
    let issuer = server().url();
    let build = |clock: Option<ManualClock>| {
        let mut builder = Verifier::builder(Provider::oidc(issuer).expect("issuer is a URL"))
            .audience(API)
            .dpop(DpopMode::Allowed);
        if let Some(clock) = clock {
            builder = builder.clock(clock);
        }
        builder.build().expect("verifier")
    };
    let verifier = build(None);
    // Two minutes ahead: a fresh proof's iat is outside the ±60 s window.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let later = build(Some(ManualClock::at_unix(now + 120)));
    for alg in ["ES256", "EdDSA"] {
        let out = oidc_provider_dpop_token(&PROJECT, issuer, API, alg);
        let token = out["access_token"].as_str().expect("access_token");
        let key = out["key"].to_string();

        // Sent as a plain bearer token (no proof), the bound token is refused.
        let err = verifier.verify(token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BindingMismatch, "{alg}: {err}");

        let proof = |htm: &str, htu: &str, ath: &str, key: Option<&str>| {
            let mut args = vec!["--alg", alg, "--htm", htm, "--htu", htu, "--ath", ath];
            if let Some(key) = key {
                args.extend(["--key", key]);
            }
            let out: Value = serde_json::from_str(&PROJECT.run("proof.mjs", &args)).unwrap();
            out["proof"].as_str().unwrap().to_owned()
        };
        let request = DpopRequest::new("GET", HTU);
        let kind = |result: Result<AuthUser, AuthError>| result.map(|_| ()).map_err(|e| e.kind());

        let fresh = proof("GET", HTU, token, Some(&key));
        let user = verifier
            .verify_dpop(token, &[&fresh], &request)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        let cnf = Confirmation::from_claim(user.claims.get("cnf").expect("cnf")).unwrap();
        assert!(cnf.jkt().is_some(), "{alg}");
        assert_eq!(
            kind(verifier.verify_dpop(token, &[&fresh], &request).await),
            Err(ErrorKind::DpopReplayed),
            "{alg}: replay"
        );

        let wrong_htm = proof("POST", HTU, token, Some(&key));
        let err = verifier
            .verify_dpop(token, &[&wrong_htm], &request)
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.detail()),
            (
                ErrorKind::InvalidDpopProof,
                Some("htm does not match the request method")
            ),
            "{alg}"
        );
        let wrong_htu = proof("GET", "https://api.example.test/other", token, Some(&key));
        let err = verifier
            .verify_dpop(token, &[&wrong_htu], &request)
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.detail()),
            (
                ErrorKind::InvalidDpopProof,
                Some("htu does not match the request url")
            ),
            "{alg}"
        );
        let wrong_ath = proof("GET", HTU, "another-access-token", Some(&key));
        let err = verifier
            .verify_dpop(token, &[&wrong_ath], &request)
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.detail()),
            (
                ErrorKind::InvalidDpopProof,
                Some("ath does not match the access token")
            ),
            "{alg}"
        );
        let stale = proof("GET", HTU, token, Some(&key));
        let err = later
            .verify_dpop(token, &[&stale], &request)
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.detail()),
            (ErrorKind::InvalidDpopProof, Some("proof iat is too old")),
            "{alg}"
        );
        let other_key = proof("GET", HTU, token, None);
        let err = verifier
            .verify_dpop(token, &[&other_key], &request)
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.detail()),
            (
                ErrorKind::BindingMismatch,
                Some("proof key does not match cnf jkt")
            ),
            "{alg}"
        );
    }
}

/// The Python venv `python/ci.sh` builds (with the `jwks_auth` wheel installed), if any.
#[cfg(feature = "actix")]
fn python_venv() -> Option<std::path::PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(target)
    };
    let python = target.join("python-venv/bin/python");
    python.is_file().then_some(python)
}

/// The same oidc-provider token and `dpop`-package proofs through the actix-web middleware
/// and the FastAPI adapter: accepted once, the replay and a proof for another URL refused,
/// the token without a proof refused.
#[cfg(feature = "actix")]
#[test]
fn an_oidc_provider_dpop_token_passes_through_actix_and_fastapi() {
    // On actix-web's runtime as `#[actix_web::test]` would, without its `macros` feature
    // (not a dependency of this package's tests: see frameworks/).
    actix_web::rt::System::new().block_on(through_actix_and_fastapi());
}

#[cfg(feature = "actix")]
async fn through_actix_and_fastapi() {
    use actix_web::{test, web, App, HttpResponse};
    use jwks_auth::actix::AuthLayer;

    let issuer = server().url();
    let out = oidc_provider_dpop_token(&PROJECT, issuer, API, "ES256");
    let token = out["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let key = out["key"].to_string();
    let proof = |htu: &str| {
        let args = [
            "--alg", "ES256", "--htm", "GET", "--htu", htu, "--ath", &token, "--key", &key,
        ];
        let out: Value = serde_json::from_str(&PROJECT.run("proof.mjs", &args)).unwrap();
        out["proof"].as_str().unwrap().to_owned()
    };
    let origin = "https://api.example.test";
    // Each adapter gets its own proofs: one adapter's accepted proof is not the other's.
    let proofs = || {
        let fresh = proof(HTU);
        vec![
            Some(fresh.clone()),
            Some(fresh),
            Some(proof("https://api.example.test/other")),
            None,
        ]
    };
    let expected = [200, 401, 401, 401];

    let verifier = Verifier::builder(Provider::oidc(issuer).expect("issuer is a URL"))
        .audience(API)
        .dpop(DpopMode::Allowed)
        .build()
        .expect("verifier");
    let app = test::init_service(
        App::new()
            .route(
                "/notes",
                web::get().to(|user: AuthUser| async move { HttpResponse::Ok().body(user.id) }),
            )
            .wrap(AuthLayer::new(verifier).external_origin(origin)),
    )
    .await;
    let mut statuses = Vec::new();
    for proof in proofs() {
        let mut request = test::TestRequest::get()
            .uri("/notes")
            .insert_header(("authorization", format!("DPoP {token}")));
        if let Some(proof) = proof {
            request = request.insert_header(("dpop", proof));
        }
        let response = test::call_service(&app, request.to_request()).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, expected, "actix-web");

    let Some(python) = python_venv() else {
        // `cargo test` before `python/ci.sh` on a fresh checkout; CI runs that first.
        eprintln!("SKIP the FastAPI half: no target/python-venv (run python/ci.sh first)");
        return;
    };
    let input = serde_json::json!({
        "issuer": issuer,
        "audience": API,
        "origin": origin,
        "token": token,
        "proofs": proofs(),
    });
    let mut child = std::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/oidc-provider/fastapi_check.py"
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the venv's python starts");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "fastapi_check.py failed");
    let answers: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let statuses: Vec<u16> = answers
        .iter()
        .map(|a| u16::try_from(a["status"].as_u64().unwrap()).unwrap())
        .collect();
    assert_eq!(statuses, expected, "FastAPI: {answers:?}");
    assert!(answers[0]["body"]["sub"]
        .as_str()
        .is_some_and(|sub| !sub.is_empty()));
    assert_eq!(
        answers[1]["body"]["error"], "invalid_dpop_proof",
        "FastAPI replay"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains(&token));
}
