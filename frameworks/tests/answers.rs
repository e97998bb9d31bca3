//! One table of expected answers (`tests/answers.json`), run through every Rust adapter:
//! axum's `AuthLayer`, actix-web's `AuthLayer` and tonic's `AuthLayer` (the FastAPI
//! runner is `python/tests/test_answers.py`). A difference between adapters is a failing
//! row: each runner sends every row, then fails listing all the rows whose answer differs
//! from the table's (axum's answer is the reference the table was written from).
//!
//! Rows a runner cannot send are skipped by name, never silently: DPoP rows until the
//! adapter takes DPoP (`ACTIX_TAKES_DPOP`, `TONIC_TAKES_DPOP`), and rows flagged `not_grpc`
//! for tonic. A `(row, adapter)` pair in the table's `known_differences` must still differ:
//! once fixed, the runner fails until the entry is removed.

#[path = "../../tests/support/greeter.rs"]
mod greeter;

use std::fmt::Debug;
use std::time::{SystemTime, UNIX_EPOCH};

use jwks_auth::dpop::DpopMode;
use jwks_auth::revocation::InMemoryRevocationStore;
use jwks_auth::step_up::{Reverification, StepUp};
use jwks_auth::testing::{DpopProof, MockProvider, TestKey};
use jwks_auth::{AuthUser, KeyFamily, Verifier};
use serde::Deserialize;
use serde_json::json;

/// Whether the actix-web runner sends the rows marked `dpop` (flip when `AuthLayer`
/// takes `Authorization: DPoP` with its proof).
const ACTIX_TAKES_DPOP: bool = true;

/// Whether the tonic runner sends the rows marked `dpop` (flip when `AuthLayer` takes
/// DPoP-bound tokens with their proofs).
const TONIC_TAKES_DPOP: bool = true;

/// The `sub` of every minted token; the same-user route's own id.
const SUBJECT: &str = "user_1";
/// The `sid` of every minted token, revoked for `Credential::Revoked`.
const SESSION: &str = "session_1";
/// What the public route answers: it reads no user.
const ANONYMOUS: &str = "anonymous";

// ---------------------------------------------------------------------------------------
// The table.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[allow(dead_code)] // for the reader of the file
    about: String,
    #[allow(dead_code)]
    routes: serde_json::Value,
    /// The origin the DPoP-capable adapters are configured with (the proofs' `htu`).
    dpop_origin: String,
    rows: Vec<Row>,
    known_differences: Vec<KnownDifference>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    name: String,
    request: RequestSpec,
    expect: Answer,
    /// Needs an adapter that takes DPoP; the verifier is built with DPoP allowed.
    #[serde(default)]
    dpop: bool,
    /// Why the row has no gRPC counterpart (tonic skips it).
    #[serde(default)]
    not_grpc: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestSpec {
    method: String,
    path: String,
    credential: Credential,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownDifference {
    row: String,
    adapter: String,
    reason: String,
}

/// What the request carries, minted fresh by the runner for each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Credential {
    None,
    Garbage,
    Valid,
    ValidWithAdminScope,
    Expired,
    WrongAudience,
    WrongIssuer,
    NotYetValid,
    UnknownSigningKey,
    UnknownKeyId,
    Revoked,
    KeysUnreachable,
    TwoAuthorizationHeaders,
    BasicScheme,
    BearerWithTwoTokens,
    EmptyAuthorization,
    LowercaseBearer,
    DpopValid,
    DpopReplayed,
    DpopWrongHtu,
    DpopMissingProof,
    DpopBoundAsBearer,
    ValidWithMfaAcr,
    AuthenticatedLongAgo,
    AuthenticatedJustNow,
    FreshReverification,
    MfaJustNow,
}

/// An HTTP answer in the table's terms (also what the HTTP runners observe).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    status: u16,
    /// Every `WWW-Authenticate` value, in order.
    #[serde(default)]
    www_authenticate: Vec<String>,
    /// The JSON body's `error` (refusals).
    #[serde(default)]
    error: Option<String>,
    /// The JSON body's `scope` (scope refusals).
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    retry_after: bool,
    /// The body of a 200: the id of the user the handler saw, or `anonymous`.
    #[serde(default)]
    user: Option<String>,
    /// Whether the token or proof appears anywhere in the answer (never expected).
    #[serde(skip)]
    echoes_credential: bool,
}

impl Table {
    fn load() -> Table {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/answers.json");
        let text = std::fs::read_to_string(path).expect("tests/answers.json");
        let table: Table = serde_json::from_str(&text).expect("tests/answers.json parses");
        for known in &table.known_differences {
            assert!(
                table.rows.iter().any(|row| row.name == known.row),
                "known_differences names no row: {:?}",
                known.row
            );
            assert!(
                ["axum", "actix", "tonic", "fastapi"].contains(&known.adapter.as_str()),
                "known_differences names no adapter: {:?}",
                known.adapter
            );
        }
        table
    }

    fn known_difference(&self, row: &Row, adapter: &str) -> Option<&KnownDifference> {
        self.known_differences
            .iter()
            .find(|known| known.row == row.name && known.adapter == adapter)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.dpop_origin)
    }
}

/// The answer an HTTP runner saw: status, challenges, `Retry-After` and body, checked for
/// the row's secrets.
fn http_answer(
    status: u16,
    www_authenticate: Vec<String>,
    retry_after: bool,
    all_headers: &str,
    body: &str,
    secrets: &[String],
) -> Answer {
    let (error, scope, user) = if status == 200 {
        (None, None, Some(body.to_owned()))
    } else {
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        (field("error"), field("scope"), None)
    };
    Answer {
        status,
        www_authenticate,
        error,
        scope,
        retry_after,
        user,
        echoes_credential: echoes(secrets, &[body, all_headers]),
    }
}

fn echoes(secrets: &[String], texts: &[&str]) -> bool {
    secrets
        .iter()
        .any(|secret| texts.iter().any(|text| text.contains(secret.as_str())))
}

// ---------------------------------------------------------------------------------------
// Credentials, the verifier and the state a row needs.

/// A minted credential: the headers to send and what must never be echoed.
struct Minted {
    headers: Vec<(&'static str, String)>,
    /// Tokens and proofs sent.
    secrets: Vec<String>,
    credential: Credential,
}

fn client_key() -> TestKey {
    TestKey::fixture(KeyFamily::P256, 1).expect("a committed P-256 key")
}

/// The step-up rules of `/transfer`, `/recent` and `/reverify` (see the table's routes).
fn transfer() -> StepUp {
    StepUp::acr(["urn:example:mfa"])
}

fn recent() -> StepUp {
    StepUp::auth_age(std::time::Duration::from_secs(300))
}

fn reverify() -> StepUp {
    StepUp::Reverification(Reverification::Strict)
}

fn mfa() -> StepUp {
    StepUp::mfa(Some(std::time::Duration::from_secs(600)))
}

fn now() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(now.as_secs()).unwrap()
}

/// The credential of a row whose request is `method` on `path` (what a DPoP proof names).
fn mint(
    credential: Credential,
    mock: &MockProvider,
    table: &Table,
    method: &str,
    path: &str,
) -> Minted {
    let user = || mock.token().sub(SUBJECT).sid(SESSION).scope("read");
    let bound = || user().dpop_bound(&client_key()).sign();
    let proof = |token: &str, url: &str| {
        DpopProof::new(&client_key())
            .method(method)
            .url(url)
            .token(token)
            .sign()
    };
    let bearer = |token: &str| format!("Bearer {token}");
    let (headers, secrets): (Vec<(&'static str, String)>, Vec<String>) = match credential {
        Credential::None => (vec![], vec![]),
        Credential::Garbage => (vec![("authorization", bearer("not-a-jwt"))], vec![]),
        Credential::BasicScheme => (
            vec![("authorization", "Basic dXNlcjpwYXNz".to_owned())],
            vec!["dXNlcjpwYXNz".to_owned()],
        ),
        Credential::EmptyAuthorization => (vec![("authorization", String::new())], vec![]),
        Credential::DpopValid | Credential::DpopReplayed => {
            let token = bound();
            let proof = proof(&token, &table.url(path));
            dpop_headers(token, Some(proof))
        }
        Credential::DpopWrongHtu => {
            let token = bound();
            let proof = proof(&token, &table.url("/elsewhere"));
            dpop_headers(token, Some(proof))
        }
        Credential::DpopMissingProof => dpop_headers(bound(), None),
        other => {
            let token = match other {
                Credential::Valid
                | Credential::Revoked
                | Credential::KeysUnreachable
                | Credential::TwoAuthorizationHeaders
                | Credential::BearerWithTwoTokens
                | Credential::LowercaseBearer => user().sign(),
                Credential::ValidWithAdminScope => user().scope("read admin").sign(),
                Credential::Expired => user().expired().sign(),
                Credential::WrongAudience => user().audience("https://other.example").sign(),
                Credential::WrongIssuer => user().issuer("https://wrong-issuer.example/").sign(),
                Credential::NotYetValid => user().not_before_in(3600).sign(),
                Credential::UnknownSigningKey => user().sign_with_wrong_key(),
                Credential::UnknownKeyId => user().kid("no-such-key").sign(),
                Credential::DpopBoundAsBearer => bound(),
                Credential::ValidWithMfaAcr => user().claim("acr", "urn:example:mfa").sign(),
                Credential::AuthenticatedLongAgo => user().claim("auth_time", now() - 3600).sign(),
                Credential::AuthenticatedJustNow => user().claim("auth_time", now()).sign(),
                Credential::FreshReverification => user().claim("fva", json!([1, -1])).sign(),
                Credential::MfaJustNow => user()
                    .claim("amr", json!(["pwd", "mfa"]))
                    .claim("auth_time", now())
                    .sign(),
                _ => unreachable!("minted above: {other:?}"),
            };
            let headers = match other {
                Credential::TwoAuthorizationHeaders => {
                    vec![("authorization", bearer(&token)); 2]
                }
                Credential::BearerWithTwoTokens => {
                    vec![("authorization", format!("Bearer {token} {token}"))]
                }
                Credential::LowercaseBearer => vec![("authorization", format!("bearer {token}"))],
                _ => vec![("authorization", bearer(&token))],
            };
            (headers, vec![token])
        }
    };
    Minted {
        headers,
        secrets,
        credential,
    }
}

fn dpop_headers(
    token: String,
    proof: Option<String>,
) -> (Vec<(&'static str, String)>, Vec<String>) {
    let mut headers = vec![("authorization", format!("DPoP {token}"))];
    let mut secrets = vec![token];
    if let Some(proof) = proof {
        headers.push(("dpop", proof.clone()));
        secrets.push(proof);
    }
    (headers, secrets)
}

/// What a row runs against: a fresh mock provider, the row's credential, a cold verifier
/// (in-memory revocation; DPoP allowed for DPoP rows). Build the app with `verifier`, then
/// [`prepare`](Self::prepare).
struct Fixture {
    mock: MockProvider,
    minted: Minted,
    verifier: Verifier,
}

impl Fixture {
    async fn new(table: &Table, row: &Row) -> Fixture {
        Self::for_request(table, row, &row.request.method, &row.request.path).await
    }

    /// A fixture whose DPoP proofs name `method` on `path` (gRPC: `POST` and the method's
    /// path, whatever the row's HTTP request).
    async fn for_request(table: &Table, row: &Row, method: &str, path: &str) -> Fixture {
        let mock = MockProvider::auth0().await;
        let minted = mint(row.request.credential, &mock, table, method, path);
        let builder =
            Verifier::builder(mock.provider()).revocation(InMemoryRevocationStore::new(100));
        let builder = if row.dpop {
            builder.dpop(DpopMode::Allowed)
        } else {
            builder
        };
        let verifier = builder.build().expect("the row's verifier");
        Fixture {
            mock,
            minted,
            verifier,
        }
    }

    /// What must be true before the request: the session revoked, the keys unreachable.
    async fn prepare(&self) {
        match self.minted.credential {
            Credential::Revoked => {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                let revocations = self.verifier.revocations().expect("revocation is on");
                let now = i64::try_from(now.as_secs()).unwrap();
                revocations.revoke_session(SESSION, now).await.unwrap();
            }
            Credential::KeysUnreachable => self.mock.fail_next(10, 500),
            _ => {}
        }
    }

    /// How many times the request is sent; the last answer counts (a replayed proof).
    fn sends(&self) -> usize {
        if self.minted.credential == Credential::DpopReplayed {
            2
        } else {
            1
        }
    }
}

// ---------------------------------------------------------------------------------------
// Collecting differences.

/// One runner's account: every differing row, every skipped row.
struct Report<'t> {
    table: &'t Table,
    adapter: &'static str,
    ran: usize,
    skipped: Vec<String>,
    known: Vec<String>,
    differences: Vec<String>,
}

impl<'t> Report<'t> {
    fn new(table: &'t Table, adapter: &'static str) -> Self {
        Report {
            table,
            adapter,
            ran: 0,
            skipped: Vec::new(),
            known: Vec::new(),
            differences: Vec::new(),
        }
    }

    fn skip(&mut self, row: &Row, why: &str) {
        self.skipped.push(format!("{:?}: {why}", row.name));
    }

    fn compare<T: PartialEq + Debug>(&mut self, row: &Row, got: T, expected: T) {
        self.ran += 1;
        let agrees = got == expected;
        let line = format!(
            "{:?} [{}]\n    got      {got:?}\n    expected {expected:?}",
            row.name, self.adapter
        );
        match self.table.known_difference(row, self.adapter) {
            Some(known) if agrees => self.differences.push(format!(
                "{line}\n    agrees now: remove it from known_differences ({})",
                known.reason
            )),
            Some(known) => self
                .known
                .push(format!("{line}\n    known: {}", known.reason)),
            None if agrees => {}
            None => self.differences.push(line),
        }
    }

    fn finish(self) {
        eprintln!(
            "{}: {} rows run, {} skipped, {} known differences",
            self.adapter,
            self.ran,
            self.skipped.len(),
            self.known.len()
        );
        for skipped in &self.skipped {
            eprintln!("  skipped {skipped}");
        }
        for known in &self.known {
            eprintln!("  {known}");
        }
        assert!(
            self.differences.is_empty(),
            "{} of {} rows differ for {}:\n{}",
            self.differences.len(),
            self.ran,
            self.adapter,
            self.differences.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------
// axum: `AuthLayer` with route guards, driven with `oneshot`.

mod axum_runner {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use axum::Router;
    use jwks_auth::axum::{require_same_user, require_scope, require_step_up, AuthLayer};
    use tower::ServiceExt as _;

    use super::*;

    fn app(verifier: Verifier, table: &Table) -> Router {
        let user_id = || get(|user: AuthUser| async move { user.id });
        Router::new()
            .route("/me", user_id())
            .route("/admin", user_id().route_layer(require_scope("admin")))
            .route(
                "/users/{id}",
                user_id().route_layer(require_same_user("id")),
            )
            .route("/health", get(|| async { ANONYMOUS }))
            .route(
                "/transfer",
                user_id().route_layer(require_step_up(transfer())),
            )
            .route("/recent", user_id().route_layer(require_step_up(recent())))
            .route(
                "/reverify",
                user_id().route_layer(require_step_up(reverify())),
            )
            .route("/mfa", user_id().route_layer(require_step_up(mfa())))
            .layer(
                AuthLayer::new(verifier)
                    .public_path("/health")
                    .external_origin(&table.dpop_origin),
            )
    }

    async fn answer(app: &Router, row: &Row, minted: &Minted) -> Answer {
        let mut request = Request::builder()
            .method(row.request.method.as_str())
            .uri(&row.request.path);
        for (name, value) in &minted.headers {
            request = request.header(*name, value);
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let headers = response.headers().clone();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let values = |name: &str| -> Vec<String> {
            headers
                .get_all(name)
                .iter()
                .map(|value| value.to_str().unwrap().to_owned())
                .collect()
        };
        http_answer(
            status,
            values("www-authenticate"),
            headers.contains_key("retry-after"),
            &format!("{headers:?}"),
            &String::from_utf8_lossy(&body),
            &minted.secrets,
        )
    }

    #[tokio::test]
    async fn axum_gives_the_tables_answers() {
        let table = Table::load();
        let mut report = Report::new(&table, "axum");
        for row in &table.rows {
            let fixture = Fixture::new(&table, row).await;
            let app = app(fixture.verifier.clone(), &table);
            fixture.prepare().await;
            let mut got = None;
            for _ in 0..fixture.sends() {
                got = Some(answer(&app, row, &fixture.minted).await);
            }
            report.compare(row, got.unwrap(), row.expect.clone());
        }
        report.finish();
    }
}

// ---------------------------------------------------------------------------------------
// actix-web: `AuthLayer` with guard middleware, driven with `actix_web::test`.

mod actix_runner {
    use actix_web::{test, web, App};
    use jwks_auth::actix::{require_same_user, require_scope, require_step_up, AuthLayer};

    use super::*;

    #[actix_web::test]
    async fn actix_gives_the_tables_answers() {
        let table = Table::load();
        let mut report = Report::new(&table, "actix");
        for row in &table.rows {
            if row.dpop && !ACTIX_TAKES_DPOP {
                report.skip(row, "DPoP row (ACTIX_TAKES_DPOP is false)");
                continue;
            }
            let fixture = Fixture::new(&table, row).await;
            let minted = &fixture.minted;
            let user_id = || web::get().to(|user: AuthUser| async move { user.id });
            let app = test::init_service(
                App::new()
                    .route("/me", user_id())
                    .service(
                        web::resource("/admin")
                            .wrap(require_scope("admin"))
                            .route(user_id()),
                    )
                    .service(
                        web::resource("/users/{id}")
                            .wrap(require_same_user("id"))
                            .route(user_id()),
                    )
                    .route("/health", web::get().to(|| async { ANONYMOUS }))
                    .service(
                        web::resource("/transfer")
                            .wrap(require_step_up(transfer()))
                            .route(user_id()),
                    )
                    .service(
                        web::resource("/recent")
                            .wrap(require_step_up(recent()))
                            .route(user_id()),
                    )
                    .service(
                        web::resource("/reverify")
                            .wrap(require_step_up(reverify()))
                            .route(user_id()),
                    )
                    .service(
                        web::resource("/mfa")
                            .wrap(require_step_up(mfa()))
                            .route(user_id()),
                    )
                    .wrap(
                        AuthLayer::new(fixture.verifier.clone())
                            .public_path("/health")
                            .external_origin(&table.dpop_origin),
                    ),
            )
            .await;
            fixture.prepare().await;
            let mut got = None;
            for _ in 0..fixture.sends() {
                let mut request = test::TestRequest::default()
                    .method(row.request.method.parse().unwrap())
                    .uri(&row.request.path);
                for (name, value) in &minted.headers {
                    request = request.append_header((*name, value.as_str()));
                }
                let response = test::call_service(&app, request.to_request()).await;
                let headers = response.headers().clone();
                let status = response.status().as_u16();
                let body = test::read_body(response).await;
                let challenges = headers
                    .get_all("www-authenticate")
                    .map(|value| value.to_str().unwrap().to_owned())
                    .collect();
                got = Some(http_answer(
                    status,
                    challenges,
                    headers.contains_key("retry-after"),
                    &format!("{headers:?}"),
                    &String::from_utf8_lossy(&body),
                    &minted.secrets,
                ));
            }
            report.compare(row, got.unwrap(), row.expect.clone());
        }
        report.finish();
    }
}

// ---------------------------------------------------------------------------------------
// tonic: `AuthLayer` in front of the greeter service, over a loopback socket.

mod tonic_runner {
    use tonic::{Code, Request, Response, Status};

    use super::greeter::{self, Greeter, HelloReply, HelloRequest};
    use super::*;
    use jwks_auth::tonic::{AuthLayer, RequestExt};

    /// The gRPC answer for an HTTP status (`src/tonic/layer.rs` maps refusals the same way).
    fn code_for_status(status: u16) -> Code {
        match status {
            200 => Code::Ok,
            400 => Code::InvalidArgument,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            500 => Code::Internal,
            503 => Code::Unavailable,
            other => panic!("no gRPC code for HTTP {other}"),
        }
    }

    /// The greeter method standing for a route.
    fn method_for_path(row: &Row) -> &'static str {
        match row.request.path.as_str() {
            "/me" => "Hello",
            "/admin" => "Admin",
            "/health" => "Status",
            "/transfer" => "Transfer",
            "/recent" => "Recent",
            "/reverify" => "Reverify",
            "/mfa" => "Mfa",
            other => panic!(
                "row {:?}: no gRPC method for {other}; flag the row not_grpc",
                row.name
            ),
        }
    }

    /// A gRPC answer in the table's terms.
    #[derive(Debug, PartialEq, Eq)]
    struct GrpcAnswer {
        code: Code,
        /// The scope a `PERMISSION_DENIED` message names (`insufficient scope: admin`).
        scope: Option<String>,
        retry_pushback: bool,
        user: Option<String>,
        echoes_credential: bool,
    }

    fn expected(answer: &Answer) -> GrpcAnswer {
        GrpcAnswer {
            code: code_for_status(answer.status),
            scope: answer.scope.clone(),
            retry_pushback: answer.retry_after,
            user: answer.user.clone(),
            echoes_credential: false,
        }
    }

    fn observed(result: Result<Response<HelloReply>, Status>, secrets: &[String]) -> GrpcAnswer {
        match result {
            Ok(response) => GrpcAnswer {
                code: Code::Ok,
                scope: None,
                retry_pushback: false,
                user: Some(response.into_inner().message),
                echoes_credential: false,
            },
            Err(status) => GrpcAnswer {
                code: status.code(),
                scope: status
                    .message()
                    .strip_prefix("insufficient scope: ")
                    .map(str::to_owned),
                retry_pushback: status.metadata().contains_key("grpc-retry-pushback-ms"),
                user: None,
                echoes_credential: echoes(secrets, &[&format!("{status:?}")]),
            },
        }
    }

    /// Answers with the id of the user the layer verified, or `anonymous`.
    struct WhoAmI;

    #[tonic::async_trait]
    impl Greeter for WhoAmI {
        async fn call(
            &self,
            method: &'static str,
            request: Request<HelloRequest>,
        ) -> Result<Response<HelloReply>, Status> {
            let step_up = match method {
                "Transfer" => Some(transfer()),
                "Recent" => Some(recent()),
                "Reverify" => Some(reverify()),
                "Mfa" => Some(mfa()),
                _ => None,
            };
            if let Some(rule) = step_up {
                request.require_step_up(&rule)?;
            }
            let message = request
                .optional_auth_user()
                .map_or_else(|| ANONYMOUS.to_owned(), |user| user.id.clone());
            Ok(Response::new(HelloReply { message }))
        }
    }

    #[tokio::test]
    async fn tonic_gives_the_tables_answers() {
        let table = Table::load();
        let mut report = Report::new(&table, "tonic");
        for row in &table.rows {
            if row.dpop && !TONIC_TAKES_DPOP {
                report.skip(row, "DPoP row (TONIC_TAKES_DPOP is false)");
                continue;
            }
            if let Some(why) = &row.not_grpc {
                report.skip(row, &format!("not_grpc: {why}"));
                continue;
            }
            let method = method_for_path(row);
            let path = format!("/greeter.Greeter/{method}");
            let fixture = Fixture::for_request(&table, row, "POST", &path).await;
            let minted = &fixture.minted;
            let layer = AuthLayer::new(fixture.verifier.clone())
                .external_origin(&table.dpop_origin)
                .public_method("/greeter.Greeter/Status")
                .method_scope("/greeter.Greeter/Admin", "admin");
            let mut client = greeter::serve(layer, WhoAmI).await;
            fixture.prepare().await;
            let mut got = None;
            for _ in 0..fixture.sends() {
                let mut request = Request::new(HelloRequest {
                    name: "table".into(),
                });
                for (name, value) in &minted.headers {
                    request.metadata_mut().append(*name, value.parse().unwrap());
                }
                let result = client.call(method, request).await;
                got = Some(observed(result, &minted.secrets));
            }
            report.compare(row, got.unwrap(), expected(&row.expect));
        }
        report.finish();
    }
}
