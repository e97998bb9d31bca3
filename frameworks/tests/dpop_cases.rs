//! One table of server-side DPoP cases (RFC 9449 §4.3, §7, §8, §11.1) with their expected
//! verdicts, run through every adapter that accepts DPoP proofs.
//!
//! The table holds the server-side DPoP cases of the MCP conformance suite (SEP-1932) and
//! what that suite leaves out: the replay of a proof in its last second, `htu` variants,
//! stale and rotated nonces. Each case is a few steps on a [`ManualClock`]; a step is a
//! request built from the testing kit's `DpopProof` and the verdict expected for it, stated
//! once as the verifier's [`ErrorKind`] and reason. Each [`Runner`] asserts that verdict on
//! its own surface: [`VerifierRunner`] the kind and reason of `Verifier::verify_dpop`,
//! [`AxumRunner`] the status, the `WWW-Authenticate` error code and the `DPoP-Nonce` header
//! of the `AuthLayer` over a real request (`tower::ServiceExt::oneshot`). Another adapter
//! (actix-web, tonic) is one more `Runner` and one more test calling [`run_table`].
//!
//! The table is Rust rather than a data file: a case is a chain of `DpopProof` knobs, and
//! the steps of a case read what earlier ones produced (the nonce the server sent, the proof
//! to replay), which a data file could only express through a small language of its own.

use std::collections::HashSet;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt as _;
use jwks_auth::axum::AuthLayer;
use jwks_auth::dpop::{DpopMode, DpopRequest, NonceIssuer};
use jwks_auth::edge::{EdgeRequest, RequestEdge};
use jwks_auth::testing::{DpopProof, TestKey, TestKeys};
use jwks_auth::{Algorithm, AuthUser, ErrorKind, KeyFamily, ManualClock, Provider, Verifier};
use tower::ServiceExt as _;

/// The clock's start: a multiple of [`ROTATION`], so a nonce epoch starts with each case.
const NOW: u64 = 1_800_000_000;
/// Where clients reach the service, and the request they send.
const ORIGIN: &str = "https://api.example.com";
const PATH_AND_QUERY: &str = "/notes?page=2";
/// The `htu` of a valid proof for that request.
const HTU: &str = "https://api.example.com/notes";
/// The verifier's `iat` window, in seconds.
const WINDOW: i64 = 60;
/// The nonce rotation of servers with [`Server::Nonces`].
const ROTATION: Duration = Duration::from_secs(60);
/// The `sub` of every token, answered by the handler behind the layer.
const USER: &str = "u1";

fn client_key() -> TestKey {
    TestKey::fixture(KeyFamily::P256, 1).unwrap()
}

/// How the server under test is set up (always `DpopMode::Allowed`, ±60 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// No server nonces.
    Plain,
    /// Nonces required, rotating every [`ROTATION`].
    Nonces,
}

/// One request as a client sends it, whatever the framework: `GET` [`PATH_AND_QUERY`] at
/// [`ORIGIN`].
#[derive(Debug, Clone)]
struct Attempt {
    /// The `Authorization` header.
    authorization: String,
    /// Every `DPoP` header line, in order.
    dpop: Vec<String>,
}

/// The verdict of a step: accepted, or refused with the verifier's kind and reason
/// (`AuthError::detail`, `None` for kinds without one).
#[derive(Debug, Clone, Copy)]
enum Expect {
    Accepted,
    Refused(ErrorKind, Option<&'static str>),
}

fn refused(kind: ErrorKind, reason: &'static str) -> Expect {
    Expect::Refused(kind, Some(reason))
}

fn invalid_proof(reason: &'static str) -> Expect {
    refused(ErrorKind::InvalidDpopProof, reason)
}

const REPLAYED: Expect = Expect::Refused(ErrorKind::DpopReplayed, None);

#[derive(Clone, Copy)]
struct Step {
    /// When the step is sent, in milliseconds after the case starts.
    at_ms: u64,
    send: fn(&Ctx) -> Attempt,
    expect: Expect,
}

fn at(at_ms: u64, send: fn(&Ctx) -> Attempt, expect: Expect) -> Step {
    Step {
        at_ms,
        send,
        expect,
    }
}

struct Case {
    name: &'static str,
    server: Server,
    steps: Vec<Step>,
}

/// A case of one request at the start.
fn once(name: &'static str, send: fn(&Ctx) -> Attempt, expect: Expect) -> Case {
    Case {
        name,
        server: Server::Plain,
        steps: vec![at(0, send, expect)],
    }
}

fn steps(name: &'static str, server: Server, steps: Vec<Step>) -> Case {
    Case {
        name,
        server,
        steps,
    }
}

/// What a step's request is built from.
struct Ctx<'e> {
    env: &'e Env,
    clock: ManualClock,
    /// Every distinct `DPoP-Nonce` the server sent so far, oldest first.
    nonces: Vec<String>,
    /// The previous step's request.
    previous: Option<Attempt>,
}

impl Ctx<'_> {
    fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    /// A valid proof for the request with the bound token, made now.
    fn proof(&self) -> DpopProof {
        DpopProof::new(&client_key())
            .url(HTU)
            .token(&self.env.token)
            .iat(self.now())
    }

    /// `Authorization: DPoP <bound token>` with these `DPoP` header lines.
    fn dpop_lines(&self, lines: Vec<String>) -> Attempt {
        Attempt {
            authorization: format!("DPoP {}", self.env.token),
            dpop: lines,
        }
    }

    fn dpop(&self, proof: String) -> Attempt {
        self.dpop_lines(vec![proof])
    }

    fn send(&self, proof: DpopProof) -> Attempt {
        self.dpop(proof.sign())
    }

    /// The previous step's request, byte for byte.
    fn again(&self) -> Attempt {
        self.previous.clone().expect("a previous step")
    }

    fn latest_nonce(&self) -> &str {
        self.nonces.last().expect("the server sent a nonce")
    }
}

/// RFC 9449 §8: a proof without a nonce is answered with `use_dpop_nonce` and a
/// `DPoP-Nonce`; the same request with that nonce is accepted.
fn nonce_handshake() -> Vec<Step> {
    vec![
        at(
            0,
            |c| c.send(c.proof()),
            refused(ErrorKind::UseDpopNonce, "dpop nonce required"),
        ),
        at(
            0,
            |c| c.send(c.proof().nonce(c.latest_nonce())),
            Expect::Accepted,
        ),
    ]
}

/// The table.
fn cases() -> Vec<Case> {
    use ErrorKind::{BindingMismatch, UseDpopNonce};
    vec![
        // --- The server-side cases of the MCP conformance suite (SEP-1932). ---
        once("a valid proof", |c| c.send(c.proof()), Expect::Accepted),
        once(
            "a tampered signature",
            |c| c.dpop(c.proof().sign_tampered("jti", "another-jti")),
            invalid_proof("proof signature does not verify"),
        ),
        once(
            "no jti",
            |c| c.send(c.proof().without_claim("jti")),
            invalid_proof("proof has no jti"),
        ),
        once(
            "typ jwt",
            |c| c.send(c.proof().typ("jwt")),
            invalid_proof("proof typ is not dpop+jwt"),
        ),
        once(
            "iat a second before the window",
            |c| c.send(c.proof().iat(c.now() - WINDOW - 1)),
            invalid_proof("proof iat is too old"),
        ),
        once(
            "iat a second after the window",
            |c| c.send(c.proof().iat(c.now() + WINDOW + 1)),
            invalid_proof("proof iat is in the future"),
        ),
        once(
            "alg none, unsigned",
            |c| c.dpop(c.proof().sign_none()),
            invalid_proof("unsupported proof algorithm"),
        ),
        once(
            "alg HS256",
            |c| c.send(c.proof().alg_label("HS256")),
            invalid_proof("proof algorithm is symmetric"),
        ),
        once(
            "a private member d in the header jwk",
            |c| c.send(c.proof().private_jwk()),
            invalid_proof("proof jwk contains private key members"),
        ),
        once(
            "htu of another endpoint",
            |c| c.send(c.proof().url("https://api.example.com/admin")),
            invalid_proof("htu does not match the request url"),
        ),
        once(
            "htm POST for a GET",
            |c| c.send(c.proof().method("POST")),
            invalid_proof("htm does not match the request method"),
        ),
        once(
            "no ath",
            |c| c.send(c.proof().without_claim("ath")),
            invalid_proof("proof has no ath"),
        ),
        once(
            "ath of another token",
            |c| c.send(c.proof().token("another.access.token")),
            invalid_proof("ath does not match the access token"),
        ),
        once(
            "two DPoP header lines",
            |c| c.dpop_lines(vec![c.proof().sign(), c.proof().sign()]),
            invalid_proof("more than one dpop proof"),
        ),
        once(
            "two proofs in one DPoP line",
            |c| c.dpop(format!("{}, {}", c.proof().sign(), c.proof().sign())),
            invalid_proof("more than one dpop proof"),
        ),
        once(
            "no htm",
            |c| c.send(c.proof().without_claim("htm")),
            invalid_proof("proof has no htm"),
        ),
        once(
            "no htu",
            |c| c.send(c.proof().without_claim("htu")),
            invalid_proof("proof has no htu"),
        ),
        once(
            "no iat",
            |c| c.send(c.proof().without_claim("iat")),
            invalid_proof("proof has no iat"),
        ),
        once(
            "no jwk",
            |c| c.send(c.proof().no_jwk()),
            invalid_proof("proof has no jwk"),
        ),
        once(
            "a bound token with the Bearer scheme",
            |c| Attempt {
                authorization: format!("Bearer {}", c.env.token),
                dpop: vec![],
            },
            refused(BindingMismatch, "token requires a dpop proof"),
        ),
        once(
            "a bound token with the Bearer scheme and a valid proof",
            |c| Attempt {
                authorization: format!("Bearer {}", c.env.token),
                dpop: vec![c.proof().sign()],
            },
            refused(BindingMismatch, "token requires a dpop proof"),
        ),
        once(
            "a token bound to another key (cnf.jkt mismatch)",
            |c| Attempt {
                authorization: format!("DPoP {}", c.env.foreign_token),
                dpop: vec![c.proof().token(&c.env.foreign_token).sign()],
            },
            refused(BindingMismatch, "proof key does not match cnf jkt"),
        ),
        steps(
            "the nonce flow: asked for one, then accepted with it",
            Server::Nonces,
            nonce_handshake(),
        ),
        // --- Beyond that suite: time edges and replays. ---
        once(
            "iat at the start of the window",
            |c| c.send(c.proof().iat(c.now() - WINDOW)),
            Expect::Accepted,
        ),
        once(
            "iat at the end of the window",
            |c| c.send(c.proof().iat(c.now() + WINDOW)),
            Expect::Accepted,
        ),
        steps(
            "a plain replay",
            Server::Plain,
            vec![
                at(0, |c| c.send(c.proof()), Expect::Accepted),
                at(0, |c| c.again(), REPLAYED),
                at(30_000, |c| c.again(), REPLAYED),
            ],
        ),
        steps(
            "a replay in the proof's last second",
            Server::Plain,
            vec![
                // iat = now - window: valid until the end of this second.
                at(
                    0,
                    |c| c.send(c.proof().iat(c.now() - WINDOW)),
                    Expect::Accepted,
                ),
                at(500, |c| c.again(), REPLAYED),
                at(999, |c| c.again(), REPLAYED),
                // Then the window closes over it.
                at(1_000, |c| c.again(), invalid_proof("proof iat is too old")),
            ],
        ),
        steps(
            "a replay with a new signature over the same jti",
            Server::Plain,
            vec![
                at(0, |c| c.send(c.proof().jti("one-jti")), Expect::Accepted),
                at(0, |c| c.send(c.proof().jti("one-jti")), REPLAYED),
            ],
        ),
        // --- htu comparison (RFC 9449 §4.3 check 9, RFC 3986 §6.2.2). ---
        once(
            "htu with a query",
            |c| c.send(c.proof().url("https://api.example.com/notes?page=3")),
            Expect::Accepted,
        ),
        once(
            "htu with a fragment",
            |c| c.send(c.proof().url("https://api.example.com/notes#top")),
            Expect::Accepted,
        ),
        once(
            "htu with scheme and host in upper case",
            |c| c.send(c.proof().url("HTTPS://API.Example.COM/notes")),
            Expect::Accepted,
        ),
        once(
            "htu with the default port",
            |c| c.send(c.proof().url("https://api.example.com:443/notes")),
            Expect::Accepted,
        ),
        // A trailing slash names another resource: no normalisation drops it.
        once(
            "htu with a trailing slash",
            |c| c.send(c.proof().url("https://api.example.com/notes/")),
            invalid_proof("htu does not match the request url"),
        ),
        once(
            "htu with the path in another case",
            |c| c.send(c.proof().url("https://api.example.com/Notes")),
            invalid_proof("htu does not match the request url"),
        ),
        once(
            "htu over http",
            |c| c.send(c.proof().url("http://api.example.com/notes")),
            invalid_proof("htu does not match the request url"),
        ),
        // --- Nonces (RFC 9449 §8): the previous one overlaps one rotation. ---
        steps(
            "a nonce from before a rotation, then a stale one",
            Server::Nonces,
            [
                nonce_handshake(),
                vec![
                    // One rotation later the first nonce is the previous one: still good.
                    at(
                        60_000,
                        |c| c.send(c.proof().nonce(&c.nonces[0])),
                        Expect::Accepted,
                    ),
                    // Two rotations later it is stale; the answer carries the current one.
                    at(
                        120_000,
                        |c| c.send(c.proof().nonce(&c.nonces[0])),
                        refused(UseDpopNonce, "dpop nonce is stale or unknown"),
                    ),
                    at(
                        120_000,
                        |c| c.send(c.proof().nonce(c.latest_nonce())),
                        Expect::Accepted,
                    ),
                ],
            ]
            .concat(),
        ),
        steps(
            "a nonce the server never sent",
            Server::Nonces,
            vec![at(
                0,
                |c| c.send(c.proof().nonce("AAAAAAAAAAAAAAAAAAAAAA")),
                refused(UseDpopNonce, "dpop nonce is stale or unknown"),
            )],
        ),
    ]
}

/// What every case shares: the issuer's keys and the tokens.
struct Env {
    keys: TestKeys,
    /// Bound to [`client_key`].
    token: String,
    /// Bound to another key.
    foreign_token: String,
}

impl Env {
    fn new() -> Self {
        let keys = TestKeys::new();
        let bound_to = |key: &TestKey| {
            keys.token(Algorithm::RS256)
                .sub(USER)
                .at(NOW as i64)
                .dpop_bound(key)
                .sign()
        };
        let token = bound_to(&client_key());
        let foreign_token = bound_to(&TestKey::fixture(KeyFamily::P256, 0).unwrap());
        Env {
            token,
            foreign_token,
            keys,
        }
    }

    /// A fresh verifier (its own replay store) on `clock`.
    fn verifier(&self, server: Server, clock: &ManualClock) -> Verifier {
        let mut builder = Verifier::builder(Provider::static_jwks(&self.keys.jwks_json()).unwrap())
            .clock(clock.clone())
            .dpop(DpopMode::Allowed)
            .dpop_iat_window(Duration::from_secs(WINDOW as u64));
        if server == Server::Nonces {
            builder = builder.dpop_nonces(NonceIssuer::with_secret(&[7; 32], ROTATION).unwrap());
        }
        builder.build().unwrap()
    }
}

/// An adapter that accepts DPoP, driven with the table's requests.
trait Runner: Sized {
    /// The adapter in front of `verifier`, serving [`ORIGIN`].
    fn new(verifier: Verifier) -> Self;

    /// Sends `attempt` and checks the answer against `expect`. `Ok` with the `DPoP-Nonce`
    /// the adapter sends back, if any; `Err` says what differs.
    async fn check(
        &self,
        attempt: &Attempt,
        expect: Expect,
        server: Server,
    ) -> Result<Option<String>, String>;
}

/// Runs every case through `R`, each with a fresh clock and verifier, and fails listing
/// every step whose answer differs (a case stops at its first).
async fn run_table<R: Runner>() {
    let env = Env::new();
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let clock = ManualClock::at_unix(NOW);
        let runner = R::new(env.verifier(case.server, &clock));
        let mut ctx = Ctx {
            env: &env,
            clock,
            nonces: Vec::new(),
            previous: None,
        };
        for (number, step) in case.steps.iter().enumerate() {
            ctx.clock
                .set(Duration::from_secs(NOW) + Duration::from_millis(step.at_ms));
            let attempt = (step.send)(&ctx);
            match runner.check(&attempt, step.expect, case.server).await {
                Ok(nonce) => {
                    if let Some(nonce) = nonce.filter(|n| ctx.nonces.last() != Some(n)) {
                        ctx.nonces.push(nonce);
                    }
                }
                Err(message) => {
                    failures.push(format!(
                        "{} (step {} at +{} ms): {message}",
                        case.name,
                        number + 1,
                        step.at_ms
                    ));
                    break;
                }
            }
            ctx.previous = Some(attempt);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn case_names_are_unique_and_steps_move_forward() {
    let cases = cases();
    let names: HashSet<_> = cases.iter().map(|case| case.name).collect();
    assert_eq!(names.len(), cases.len());
    for case in &cases {
        // The clock is set, never turned back, between steps.
        let times: Vec<u64> = case.steps.iter().map(|step| step.at_ms).collect();
        assert!(times.is_sorted(), "{}: {times:?}", case.name);
    }
}

// --- Runner: `Verifier::verify_dpop` (and `verify` for the Bearer scheme). ---

struct VerifierRunner(Verifier);

impl Runner for VerifierRunner {
    fn new(verifier: Verifier) -> Self {
        VerifierRunner(verifier)
    }

    async fn check(
        &self,
        attempt: &Attempt,
        expect: Expect,
        _server: Server,
    ) -> Result<Option<String>, String> {
        let verifier = &self.0;
        let url = format!("{ORIGIN}{PATH_AND_QUERY}");
        let proofs: Vec<&str> = attempt.dpop.iter().map(String::as_str).collect();
        let result = match attempt.authorization.split_once(' ') {
            Some(("DPoP", token)) => {
                let request = DpopRequest::new("GET", &url);
                verifier.verify_dpop(token, &proofs, &request).await
            }
            Some(("Bearer", token)) => verifier.verify(token).await,
            _ => panic!("the table sends DPoP or Bearer"),
        };
        match (result, expect) {
            (Ok(user), Expect::Accepted) if user.id == USER => {}
            (Err(error), Expect::Refused(kind, reason))
                if error.kind() == kind && error.detail() == reason => {}
            (Ok(user), _) => {
                return Err(format!("accepted (user {}), expected {expect:?}", user.id))
            }
            (Err(error), _) => {
                return Err(format!(
                    "refused with {:?} ({:?}), expected {expect:?}",
                    error.kind(),
                    error.detail()
                ))
            }
        }
        // What an adapter sends in `DPoP-Nonce`.
        Ok(verifier.dpop_checker().and_then(|c| c.current_nonce()))
    }
}

#[tokio::test]
async fn the_table_through_verify_dpop() {
    run_table::<VerifierRunner>().await;
}

// --- Runner: the axum `AuthLayer`, over `oneshot` requests. ---

struct AxumRunner(Router);

impl Runner for AxumRunner {
    fn new(verifier: Verifier) -> Self {
        AxumRunner(
            Router::new()
                .route("/notes", get(|user: AuthUser| async move { user.id }))
                .layer(AuthLayer::new(verifier).external_origin(ORIGIN)),
        )
    }

    async fn check(
        &self,
        attempt: &Attempt,
        expect: Expect,
        server: Server,
    ) -> Result<Option<String>, String> {
        let mut request = Request::get(PATH_AND_QUERY)
            .header("host", "internal:8080")
            .header("authorization", &attempt.authorization);
        for line in &attempt.dpop {
            request = request.header("dpop", line);
        }
        let response = self
            .0
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let nonce = header(&response, "dpop-nonce");
        let errors = challenge_errors(&response);
        let status = response.status();
        let body = body(response).await;

        let (want_status, want_errors, want_body) = match expect {
            Expect::Accepted => (StatusCode::OK, vec![], USER.to_owned()),
            Expect::Refused(kind, _) => {
                let code = error_code(kind);
                // A DPoP request's errors, and any proof error, go in the DPoP challenge.
                let scheme =
                    if attempt.authorization.starts_with("DPoP ") || code != "invalid_token" {
                        "DPoP"
                    } else {
                        "Bearer"
                    };
                (
                    StatusCode::UNAUTHORIZED,
                    vec![format!("{scheme} {code}")],
                    format!(r#"{{"error":"{code}"}}"#),
                )
            }
        };
        let mut differences = Vec::new();
        if status != want_status {
            differences.push(format!("status {status}, expected {want_status}"));
        }
        if errors != want_errors {
            differences.push(format!(
                "challenge errors {errors:?}, expected {want_errors:?}"
            ));
        }
        if body != want_body {
            differences.push(format!("body {body:?}, expected {want_body:?}"));
        }
        let secrets = std::iter::once(attempt.authorization.as_str())
            .chain(attempt.dpop.iter().map(String::as_str))
            .filter_map(|secret| secret.split('.').nth(1));
        if secrets.into_iter().any(|payload| body.contains(payload)) {
            differences.push("the body echoes the token or a proof".to_owned());
        }
        // With nonces on, every answer carries the current one (RFC 9449 §8, §9).
        if nonce.is_some() != (server == Server::Nonces) {
            differences.push(format!("DPoP-Nonce {nonce:?} with {server:?}"));
        }
        if differences.is_empty() {
            Ok(nonce)
        } else {
            Err(differences.join("; "))
        }
    }
}

// --- Runner: the framework-neutral request edge (what Python/FastAPI runs over). ---

struct EdgeRunner(RequestEdge);

impl Runner for EdgeRunner {
    fn new(verifier: Verifier) -> Self {
        EdgeRunner(RequestEdge::new(verifier).external_origin(ORIGIN))
    }

    async fn check(
        &self,
        attempt: &Attempt,
        expect: Expect,
        server: Server,
    ) -> Result<Option<String>, String> {
        let mut headers = vec![
            ("host", "internal:8080".to_owned()),
            ("authorization", attempt.authorization.clone()),
        ];
        headers.extend(attempt.dpop.iter().map(|line| ("dpop", line.clone())));
        let request = EdgeRequest::new("GET", PATH_AND_QUERY, &headers[..]);
        let (nonce, differences) = match (self.0.authenticate(&request).await, expect) {
            (Ok(user), Expect::Accepted) => {
                let wrong_user = (user.id != USER).then(|| format!("user {}", user.id));
                (self.0.dpop_nonce(), wrong_user.into_iter().collect())
            }
            (Ok(_), Expect::Refused(kind, _)) => {
                (None, vec![format!("accepted, expected {kind:?}")])
            }
            (Err(refused), Expect::Accepted) => (None, vec![format!("refused: {refused:?}")]),
            (Err(refused), Expect::Refused(kind, _)) => {
                let code = error_code(kind);
                let scheme =
                    if attempt.authorization.starts_with("DPoP ") || code != "invalid_token" {
                        "DPoP"
                    } else {
                        "Bearer"
                    };
                let errors: Vec<String> = refused
                    .headers()
                    .iter()
                    .filter(|(name, _)| *name == "www-authenticate")
                    .filter_map(|(_, value)| {
                        let scheme = value.split(' ').next()?;
                        let code = value.split_once("error=\"")?.1.split('"').next()?;
                        Some(format!("{scheme} {code}"))
                    })
                    .collect();
                let mut differences = Vec::new();
                if refused.status() != 401 {
                    differences.push(format!("status {}", refused.status()));
                }
                if errors != [format!("{scheme} {code}")] {
                    differences.push(format!("challenge errors {errors:?}"));
                }
                if refused.body_json() != serde_json::json!({ "error": code }) {
                    differences.push(format!("body {}", refused.body_json()));
                }
                (refused.dpop_nonce().map(str::to_owned), differences)
            }
        };
        let mut differences = differences;
        if nonce.is_some() != (server == Server::Nonces) {
            differences.push(format!("DPoP-Nonce {nonce:?} with {server:?}"));
        }
        if differences.is_empty() {
            Ok(nonce)
        } else {
            Err(differences.join("; "))
        }
    }
}

#[tokio::test]
async fn the_table_through_the_request_edge() {
    run_table::<EdgeRunner>().await;
}

/// The wire code of a verifier error kind (RFC 6750 §3.1, RFC 9449 §7.1, §12.2).
fn error_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidDpopProof | ErrorKind::DpopReplayed => "invalid_dpop_proof",
        ErrorKind::UseDpopNonce => "use_dpop_nonce",
        ErrorKind::BindingMismatch => "invalid_token",
        other => panic!("no case of the table expects {other:?}"),
    }
}

fn header(response: &Response<Body>, name: &str) -> Option<String> {
    let value = response.headers().get(name)?;
    Some(value.to_str().unwrap().to_owned())
}

/// `<scheme> <error>` for every `WWW-Authenticate` challenge that has an `error`.
fn challenge_errors(response: &Response<Body>) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|value| {
            let value = value.to_str().unwrap();
            let scheme = value.split(' ').next().unwrap();
            let (_, rest) = value.split_once("error=\"")?;
            let code = rest.split('"').next().unwrap();
            Some(format!("{scheme} {code}"))
        })
        .collect()
}

async fn body(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn the_table_through_the_axum_layer() {
    run_table::<AxumRunner>().await;
}

// --- Runners: the actix-web `AuthLayer` and the tonic `AuthLayer`. ---

/// What the table checks of an adapter's answer, whatever its framework.
#[derive(Debug, PartialEq)]
struct Answer {
    /// The HTTP status, or the gRPC code's name.
    status: String,
    /// `<scheme> <error>` of every challenge that has an `error`, in order.
    errors: Vec<String>,
    /// The body, or the check a `grpc-message` names (the text before `:`).
    text: String,
    /// Whether `DPoP-Nonce` was sent.
    nonce: bool,
}

impl Answer {
    /// `<scheme> <error>` of a `WWW-Authenticate` value that has an `error`.
    fn error_of(challenge: &str) -> Option<String> {
        let scheme = challenge.split(' ').next()?;
        let (_, rest) = challenge.split_once("error=\"")?;
        Some(format!("{scheme} {}", rest.split('"').next()?))
    }

    /// The answer expected for `attempt`: `accepted` (status and text), or a refusal with
    /// `refused` as status and `text` of its error code and kind. Every refusal is the
    /// axum layer's: a DPoP request's errors, and any proof error, in the DPoP challenge.
    fn expected(
        attempt: &Attempt,
        expect: Expect,
        server: Server,
        accepted: (&str, &str),
        refused: &str,
        text: fn(&'static str, ErrorKind) -> String,
    ) -> Self {
        let (status, errors, text) = match expect {
            Expect::Accepted => (accepted.0, vec![], accepted.1.to_owned()),
            Expect::Refused(kind, _) => {
                let code = error_code(kind);
                let dpop = attempt.authorization.starts_with("DPoP ") || code != "invalid_token";
                let scheme = if dpop { "DPoP" } else { "Bearer" };
                (refused, vec![format!("{scheme} {code}")], text(code, kind))
            }
        };
        Answer {
            status: status.to_owned(),
            errors,
            text,
            nonce: server == Server::Nonces,
        }
    }

    /// `Ok` when this is `expected` and `raw_text` (the whole body or message) echoes
    /// neither the token nor a proof.
    fn judge(self, expected: Answer, attempt: &Attempt, raw_text: &str) -> Result<(), String> {
        let secrets = std::iter::once(attempt.authorization.as_str())
            .chain(attempt.dpop.iter().map(String::as_str))
            .filter_map(|secret| secret.split('.').nth(1));
        if secrets
            .into_iter()
            .any(|payload| raw_text.contains(payload))
        {
            return Err("the answer echoes the token or a proof".to_owned());
        }
        if self == expected {
            Ok(())
        } else {
            Err(format!("answered {self:?}, expected {expected:?}"))
        }
    }
}

mod actix_runner {
    use super::*;
    use actix_web::{test, web, App};
    use jwks_auth::actix::AuthLayer;

    struct ActixRunner(AuthLayer);

    impl Runner for ActixRunner {
        fn new(verifier: Verifier) -> Self {
            ActixRunner(AuthLayer::new(verifier).external_origin(ORIGIN))
        }

        async fn check(
            &self,
            attempt: &Attempt,
            expect: Expect,
            server: Server,
        ) -> Result<Option<String>, String> {
            let app = test::init_service(
                App::new()
                    .route(
                        "/notes",
                        web::get().to(|user: AuthUser| async move { user.id }),
                    )
                    .wrap(self.0.clone()),
            )
            .await;
            let mut request = test::TestRequest::get()
                .uri(PATH_AND_QUERY)
                .insert_header(("host", "internal:8080"))
                .insert_header(("authorization", attempt.authorization.as_str()));
            for line in &attempt.dpop {
                request = request.append_header(("dpop", line.as_str()));
            }
            let response = test::call_service(&app, request.to_request()).await;
            let headers = response.headers().clone();
            let text = |name| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
            let nonce = text("dpop-nonce");
            let status = response.status().as_u16().to_string();
            let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
            let answer = Answer {
                status,
                errors: headers
                    .get_all("www-authenticate")
                    .filter_map(|value| Answer::error_of(value.to_str().unwrap()))
                    .collect(),
                text: body.clone(),
                nonce: nonce.is_some(),
            };
            let body_of = |code, _| format!(r#"{{"error":"{code}"}}"#);
            let expected = Answer::expected(attempt, expect, server, ("200", USER), "401", body_of);
            answer.judge(expected, attempt, &body).map(|()| nonce)
        }
    }

    #[actix_web::test]
    async fn the_table_through_the_actix_middleware() {
        run_table::<ActixRunner>().await;
    }
}

/// The table's request (`GET /notes?page=2`) goes to the layer as is, not as a gRPC call
/// (always `POST /package.Service/Method`): the layer takes `htm` and the `htu` path from the
/// request it is given, so the table's proofs keep their meaning. tests/tonic.rs (beside this
/// file) sends real DPoP calls over loopback.
mod tonic_runner {
    use std::convert::Infallible;

    use super::*;
    use jwks_auth::tonic::AuthLayer;
    use tower::Layer as _;

    struct TonicRunner(AuthLayer);

    impl Runner for TonicRunner {
        fn new(verifier: Verifier) -> Self {
            TonicRunner(AuthLayer::new(verifier).external_origin(ORIGIN))
        }

        async fn check(
            &self,
            attempt: &Attempt,
            expect: Expect,
            server: Server,
        ) -> Result<Option<String>, String> {
            // A method answering OK with the verified user's id in `x-user`.
            let method = tower::service_fn(|request: Request<Body>| async move {
                let user = request.extensions().get::<AuthUser>().unwrap().id.clone();
                let response = Response::builder()
                    .header("grpc-status", "0")
                    .header("x-user", user);
                Ok::<_, Infallible>(response.body(Body::empty()).unwrap())
            });
            let mut request = Request::get(PATH_AND_QUERY)
                .header("host", "internal:8080")
                .header("authorization", &attempt.authorization);
            for line in &attempt.dpop {
                request = request.header("dpop", line);
            }
            let response = self
                .0
                .layer(method)
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = tonic::Status::from_header_map(response.headers()).unwrap();
            let text = match status.code() {
                tonic::Code::Ok => header(&response, "x-user").unwrap(),
                _ => status.message().to_owned(),
            };
            let nonce = header(&response, "dpop-nonce");
            let answer = Answer {
                status: format!("{:?}", status.code()),
                errors: challenge_errors(&response),
                text: text.split(':').next().unwrap().to_owned(),
                nonce: nonce.is_some(),
            };
            // gRPC: `UNAUTHENTICATED`, and a message naming the check the kind stands for.
            let check = |_, kind| {
                match kind {
                    ErrorKind::UseDpopNonce => "dpop nonce required",
                    ErrorKind::BindingMismatch => "invalid bearer token",
                    _ => "invalid dpop proof",
                }
                .to_owned()
            };
            let expected = Answer::expected(
                attempt,
                expect,
                server,
                ("Ok", USER),
                "Unauthenticated",
                check,
            );
            answer.judge(expected, attempt, &text).map(|()| nonce)
        }
    }

    #[tokio::test]
    async fn the_table_through_the_tonic_layer() {
        run_table::<TonicRunner>().await;
    }
}
