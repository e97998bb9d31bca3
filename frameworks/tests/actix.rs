//! The actix-web extractors, `AuthLayer` and guards, driven with `actix_web::test` and
//! real tokens from a mock provider: every failure kind the axum tests cover, with exact
//! status, challenge and body (the same mapping), plus one test over a real loopback socket.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::{test, web, App, HttpMessage, HttpResponse};
use jwks_auth::actix::{
    require_claim, require_same_user, require_scope, require_scopes, require_user,
    require_user_token, AuthConfig, AuthLayer, AuthRejection, OptionalAuthUser, TypedClaims,
};
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, Verifier};
use serde_json::{json, Value};

#[path = "../../tests/support/dpop_client.rs"]
mod dpop_client;

/// A response taken apart for assertions.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: header::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    fn challenge(&self) -> Option<&str> {
        self.headers
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap())
    }

    /// Status, exact challenge and exact JSON body of a rejection, which must not echo
    /// `token`.
    fn assert_rejected(&self, status: u16, challenge: Option<&str>, body: Value, token: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.challenge(), challenge);
        assert_eq!(self.json(), body);
        if !token.is_empty() {
            assert!(!self.body.contains(token), "the body echoes the token");
        }
    }
}

/// `GET uri` with these headers (appended, so a name may repeat), answered by `app`.
async fn send<S, B>(app: &S, uri: &str, headers: &[(&str, &str)]) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut request = test::TestRequest::get().uri(uri);
    for (name, value) in headers {
        request = request.append_header((*name, *value));
    }
    let response = test::call_service(app, request.to_request()).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = test::read_body(response).await;
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[derive(serde::Deserialize)]
struct DemoClaims {
    sub: String,
    tenant: String,
}

/// Extractors only; the verifier comes from `web::Data`.
fn extractor_routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/me",
            web::get().to(|user: AuthUser| async move { user.id }),
        )
        .route(
            "/maybe",
            web::get().to(|OptionalAuthUser(user): OptionalAuthUser| async move {
                user.map_or_else(|| "anonymous".to_owned(), |u| u.id)
            }),
        )
        .route(
            "/claims",
            web::get().to(|TypedClaims(claims): TypedClaims<DemoClaims>| async move {
                format!("{}@{}", claims.sub, claims.tenant)
            }),
        );
}

fn data(mock: &MockProvider) -> web::Data<Verifier> {
    web::Data::new(Verifier::builder(mock.provider()).build().unwrap())
}

/// The origin of the app whose pages send Clerk's `__session` cookie (the tokens' `azp`).
const CLERK_APP: &str = "https://app.example.com";

/// A Clerk verifier that reads the `__session` cookie: it checks `azp` against the app.
fn clerk_cookie_data(mock: &MockProvider) -> web::Data<Verifier> {
    let verifier = Verifier::builder(mock.provider()).authorized_parties([CLERK_APP]);
    web::Data::new(verifier.build().unwrap())
}

macro_rules! extractor_app {
    ($mock:expr) => {
        extractor_app!(@data data(&$mock))
    };
    (@data $data:expr) => {
        test::init_service(App::new().app_data($data).configure(extractor_routes)).await
    };
}

const INVALID_TOKEN: &str = r#"Bearer realm="api", error="invalid_token""#;
const INVALID_REQUEST: &str = r#"Bearer realm="api", error="invalid_request""#;

/// `GET /me` with `token` is refused as 401 `invalid_token`, without echoing the token.
async fn assert_invalid_token(token: String, mock: MockProvider) {
    let app = extractor_app!(mock);
    send(&app, "/me", &[("authorization", &bearer(&token))])
        .await
        .assert_rejected(
            401,
            Some(INVALID_TOKEN),
            json!({"error": "invalid_token"}),
            &token,
        );
}

#[actix_web::test]
async fn valid_token_reaches_the_handler() {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app!(mock);
    let token = mock.token().sub("user_1").sign();
    let reply = send(&app, "/me", &[("authorization", &bearer(&token))]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "user_1"));
}

#[actix_web::test]
async fn scheme_is_case_insensitive() {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app!(mock);
    let token = mock.token().sub("user_1").sign();
    let header = format!("bearer {token}");
    assert_eq!(
        send(&app, "/me", &[("authorization", &header)])
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn missing_token_is_401_without_error_code() {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app!(mock);
    send(&app, "/me", &[]).await.assert_rejected(
        401,
        Some(r#"Bearer realm="api""#),
        json!({"error": "missing_token"}),
        "",
    );
}

#[actix_web::test]
async fn basic_scheme_is_401_without_error_code() {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app!(mock);
    send(&app, "/me", &[("authorization", "Basic dXNlcjpwYXNz")])
        .await
        .assert_rejected(
            401,
            Some(r#"Bearer realm="api""#),
            json!({"error": "invalid_request"}),
            "dXNlcjpwYXNz",
        );
}

#[actix_web::test]
async fn two_tokens_are_an_invalid_request() {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app!(mock);
    let token = mock.token().sign();
    let header = format!("Bearer {token} {token}");
    send(&app, "/me", &[("authorization", &header)])
        .await
        .assert_rejected(
            400,
            Some(INVALID_REQUEST),
            json!({"error": "invalid_request"}),
            &token,
        );
}

#[actix_web::test]
async fn two_authorization_headers_are_an_invalid_request() {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app!(mock);
    let token = mock.token().sign();
    let value = bearer(&token);
    send(
        &app,
        "/me",
        &[("authorization", &value), ("authorization", &value)],
    )
    .await
    .assert_rejected(
        400,
        Some(INVALID_REQUEST),
        json!({"error": "invalid_request"}),
        &token,
    );
}

#[actix_web::test]
async fn invalid_signature_is_invalid_token() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().sign_with_wrong_key();
    assert_invalid_token(token, mock).await;
}

#[actix_web::test]
async fn expired_token_is_invalid_token() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().expired().sign();
    assert_invalid_token(token, mock).await;
}

#[actix_web::test]
async fn wrong_audience_is_invalid_token() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().audience("https://other.example").sign();
    assert_invalid_token(token, mock).await;
}

#[actix_web::test]
async fn unknown_kid_is_invalid_token() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().kid("no-such-key").sign();
    assert_invalid_token(token, mock).await;
}

#[actix_web::test]
async fn optional_user_is_none_only_without_a_token() {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app!(mock);
    let reply = send(&app, "/maybe", &[]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "anonymous"));

    let token = mock.token().sub("user_1").sign();
    let reply = send(&app, "/maybe", &[("authorization", &bearer(&token))]).await;
    assert_eq!(reply.body, "user_1");

    let bad = mock.token().expired().sign();
    send(&app, "/maybe", &[("authorization", &bearer(&bad))])
        .await
        .assert_rejected(
            401,
            Some(INVALID_TOKEN),
            json!({"error": "invalid_token"}),
            &bad,
        );
    let reply = send(&app, "/maybe", &[("authorization", "Bearer a b")]).await;
    assert_eq!(reply.status, 400);
}

#[actix_web::test]
async fn typed_claims_deserialize_or_reject() {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app!(mock);
    let token = mock.token().sub("user_1").claim("tenant", "acme").sign();
    let reply = send(&app, "/claims", &[("authorization", &bearer(&token))]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "user_1@acme"));

    let without_tenant = mock.token().sub("user_1").sign();
    send(
        &app,
        "/claims",
        &[("authorization", &bearer(&without_tenant))],
    )
    .await
    .assert_rejected(
        401,
        Some(INVALID_TOKEN),
        json!({"error": "invalid_token"}),
        &without_tenant,
    );
}

#[actix_web::test]
async fn clerk_session_cookie_is_a_token_source() {
    let mock = MockProvider::clerk().await;
    let app = extractor_app!(@data clerk_cookie_data(&mock));
    let token = mock.token().sub("user_clerk").azp(CLERK_APP).sign();
    let cookie = format!("theme=dark; __session={token}");
    let reply = send(&app, "/me", &[("cookie", &cookie)]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "user_clerk"));

    let bad = mock.token().azp(CLERK_APP).sign_with_wrong_key();
    let other_site = mock.token().azp("https://evil.example.com").sign();
    for bad in [bad, other_site] {
        let cookie = format!("__session={bad}");
        send(&app, "/me", &[("cookie", &cookie)])
            .await
            .assert_rejected(
                401,
                Some(INVALID_TOKEN),
                json!({"error": "invalid_token"}),
                &bad,
            );
    }
}

#[actix_web::test]
async fn the_session_cookie_is_not_read_without_authorized_parties() {
    let mock = MockProvider::clerk().await;
    let app = extractor_app!(mock);
    let token = mock.token().sub("user_clerk").azp(CLERK_APP).sign();
    let cookie = format!("__session={token}");
    send(&app, "/me", &[("cookie", &cookie)])
        .await
        .assert_rejected(
            401,
            Some(r#"Bearer realm="api""#),
            json!({"error": "missing_token"}),
            &token,
        );
}

#[actix_web::test]
async fn an_empty_authorization_header_is_an_invalid_request_not_a_missing_token() {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app!(mock);
    for value in ["", "   ", "\t"] {
        for path in ["/me", "/maybe"] {
            send(&app, path, &[("authorization", value)])
                .await
                .assert_rejected(
                    400,
                    Some(INVALID_REQUEST),
                    json!({"error": "invalid_request"}),
                    "",
                );
        }
    }
}

#[actix_web::test]
async fn an_empty_authorization_header_does_not_fall_back_to_the_session_cookie() {
    let mock = MockProvider::clerk().await;
    let app = extractor_app!(@data clerk_cookie_data(&mock));
    let token = mock.token().sub("user_clerk").azp(CLERK_APP).sign();
    let cookie = format!("__session={token}");
    for value in ["", " "] {
        send(
            &app,
            "/me",
            &[("authorization", value), ("cookie", &cookie)],
        )
        .await
        .assert_rejected(
            400,
            Some(INVALID_REQUEST),
            json!({"error": "invalid_request"}),
            &token,
        );
    }
}

#[actix_web::test]
async fn cookie_is_ignored_for_bearer_only_presets() {
    let mock = MockProvider::better_auth().await;
    let app = extractor_app!(mock);
    let token = mock.token().sign();
    let cookie = format!("__session={token}");
    send(&app, "/me", &[("cookie", &cookie)])
        .await
        .assert_rejected(
            401,
            Some(r#"Bearer realm="api""#),
            json!({"error": "missing_token"}),
            &token,
        );
}

#[actix_web::test]
async fn keys_unavailable_is_503_with_retry_after() {
    let mock = MockProvider::better_auth().await;
    // Cold verifier: no keys cached, and every fetch fails.
    let app = extractor_app!(mock);
    mock.fail_next(10, 500);
    let token = mock.token().sign();
    let reply = send(&app, "/me", &[("authorization", &bearer(&token))]).await;
    reply.assert_rejected(
        503,
        None,
        json!({"error": "temporarily_unavailable"}),
        &token,
    );
    assert_eq!(reply.headers.get(header::RETRY_AFTER).unwrap(), "30");
    assert!(!reply.body.contains("provider error"), "no internal detail");
}

#[actix_web::test]
async fn no_verifier_anywhere_is_500() {
    let app = test::init_service(App::new().configure(extractor_routes)).await;
    send(&app, "/me", &[("authorization", "Bearer a.b.c")])
        .await
        .assert_rejected(500, None, json!({"error": "server_error"}), "a.b.c");
}

#[actix_web::test]
async fn extractor_uses_a_user_already_in_the_extensions() {
    // No verifier and no token: only a user put there beforehand can satisfy the extractor.
    let app = test::init_service(App::new().configure(extractor_routes).wrap_fn(
        |request, service| {
            request
                .extensions_mut()
                .insert(AuthUser::new("user_injected"));
            service.call(request)
        },
    ))
    .await;
    let reply = send(&app, "/me", &[]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "user_injected"));
}

/// The middleware on everything, `/health`, `/whoami` and `/docs/...` public.
macro_rules! middleware_app {
    ($verifier:expr) => {
        test::init_service(
            App::new()
                .route("/health", web::get().to(|| async { "ok" }))
                .route("/docs/intro", web::get().to(|| async { "docs" }))
                .route(
                    "/docsearch",
                    web::get().to(|| async { "should be protected" }),
                )
                .route(
                    "/whoami",
                    web::get().to(|OptionalAuthUser(user): OptionalAuthUser| async move {
                        user.map_or_else(|| "anonymous".to_owned(), |u| u.id)
                    }),
                )
                .route(
                    "/api/me",
                    web::get().to(|request: actix_web::HttpRequest| async move {
                        // The middleware's user, straight from the extensions.
                        let user = request.extensions().get::<AuthUser>().cloned().unwrap();
                        HttpResponse::Ok().json(json!({"id": user.id, "email": user.email}))
                    }),
                )
                .wrap(
                    AuthLayer::new($verifier)
                        .public_path("/health")
                        .public_path("/whoami")
                        .public_prefix("/docs"),
                ),
        )
        .await
    };
}

#[actix_web::test]
async fn middleware_allow_list_and_protection() {
    let mock = MockProvider::better_auth().await;
    let app = middleware_app!(Verifier::builder(mock.provider()).build().unwrap());
    assert_eq!(send(&app, "/health", &[]).await.body, "ok");
    assert_eq!(send(&app, "/docs/intro", &[]).await.body, "docs");
    for path in ["/docsearch", "/api/me"] {
        send(&app, path, &[]).await.assert_rejected(
            401,
            Some(r#"Bearer realm="api""#),
            json!({"error": "missing_token"}),
            "",
        );
    }
    let token = mock
        .token()
        .sub("user_demo")
        .email("demo@example.com")
        .sign();
    let reply = send(&app, "/api/me", &[("authorization", &bearer(&token))]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"id": "user_demo", "email": "demo@example.com"})
    );
    let bad = mock.token().sign_with_wrong_key();
    send(&app, "/api/me", &[("authorization", &bearer(&bad))])
        .await
        .assert_rejected(
            401,
            Some(INVALID_TOKEN),
            json!({"error": "invalid_token"}),
            &bad,
        );
}

#[actix_web::test]
async fn an_empty_public_prefix_is_a_configuration_error_not_an_open_door() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let app = test::init_service(
        App::new()
            .route(
                "/api/me",
                web::get().to(|| async { "served without a token" }),
            )
            .wrap(AuthLayer::new(verifier).public_prefix("")),
    )
    .await;
    send(&app, "/api/me", &[]).await.assert_rejected(
        500,
        None,
        json!({"error": "server_error"}),
        "",
    );
}

#[actix_web::test]
async fn public_path_still_verifies_an_optional_token() {
    let mock = MockProvider::better_auth().await;
    let app = middleware_app!(Verifier::builder(mock.provider()).build().unwrap());
    assert_eq!(send(&app, "/whoami", &[]).await.body, "anonymous");
    let token = mock.token().sub("user_1").sign();
    let reply = send(&app, "/whoami", &[("authorization", &bearer(&token))]).await;
    assert_eq!(reply.body, "user_1");
    let bad = mock.token().expired().sign();
    let reply = send(&app, "/whoami", &[("authorization", &bearer(&bad))]).await;
    assert_eq!(reply.status, 401);
}

#[actix_web::test]
async fn middleware_realm_is_configurable() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let app = test::init_service(
        App::new()
            .route(
                "/me",
                web::get().to(|user: AuthUser| async move { user.id }),
            )
            .wrap(AuthLayer::new(verifier).realm("notes")),
    )
    .await;
    let token = mock.token().expired().sign();
    send(&app, "/me", &[("authorization", &bearer(&token))])
        .await
        .assert_rejected(
            401,
            Some(r#"Bearer realm="notes", error="invalid_token""#),
            json!({"error": "invalid_token"}),
            &token,
        );
}

fn custom_body(rejection: &AuthRejection) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/problem+json")
        .json(json!({
            "type": "about:blank",
            "title": rejection.to_string(),
            "code": rejection.kind().error_code(),
        }))
}

#[actix_web::test]
async fn custom_rejection_body_keeps_status_and_challenge() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let config = AuthConfig::new().rejection_response(custom_body);
    let app = test::init_service(
        App::new()
            .route(
                "/me",
                web::get().to(|user: AuthUser| async move { user.id }),
            )
            .wrap(AuthLayer::new(verifier).config(config)),
    )
    .await;
    let token = mock.token().sign_with_wrong_key();
    let reply = send(&app, "/me", &[("authorization", &bearer(&token))]).await;
    reply.assert_rejected(
        401,
        Some(INVALID_TOKEN),
        json!({"type": "about:blank", "title": "invalid bearer token", "code": "invalid_token"}),
        &token,
    );
    assert_eq!(
        reply.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
}

#[actix_web::test]
async fn custom_rejection_body_for_extractors_through_app_data() {
    let mock = MockProvider::better_auth().await;
    let config = AuthConfig::new()
        .realm("notes")
        .rejection_response(custom_body);
    let app = test::init_service(
        App::new()
            .app_data(data(&mock))
            .app_data(config)
            .configure(extractor_routes),
    )
    .await;
    send(&app, "/me", &[]).await.assert_rejected(
        401,
        Some(r#"Bearer realm="notes""#),
        json!({"type": "about:blank", "title": "no bearer token in the request", "code": "missing_token"}),
        "",
    );
}

const NOT_ALLOWED: &str = r#"Bearer realm="api", error="insufficient_scope""#;

fn guarded_routes(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/admin")
                .wrap(require_scope("admin"))
                .route(web::get().to(|| async { "admin area" })),
        )
        .service(
            web::resource("/reports")
                .wrap(require_scopes(["read", "reports"]))
                .route(web::get().to(|| async { "reports" })),
        )
        .service(
            web::resource("/users/{user_id}/notes")
                .wrap(require_same_user("user_id"))
                .route(
                    web::get().to(|user: AuthUser| async move { format!("notes of {}", user.id) }),
                ),
        )
        .service(
            web::resource("/misconfigured")
                .wrap(require_same_user("user_id"))
                .route(web::get().to(|| async { "unreachable" })),
        )
        .service(
            web::resource("/editors")
                .wrap(require_claim("roles", "editor"))
                .route(web::get().to(|| async { "editors" })),
        )
        .service(
            web::resource("/org-admin")
                .wrap(require_claim("org.role", "admin"))
                .route(web::get().to(|| async { "org admin" })),
        )
        .service(
            web::resource("/staff")
                .wrap(require_user(|user| {
                    user.email
                        .as_deref()
                        .is_some_and(|email| email.ends_with("@example.com"))
                }))
                .route(web::get().to(|| async { "staff" })),
        )
        .service(
            web::resource("/me")
                .wrap(require_user_token())
                .route(web::get().to(|| async { "me" })),
        );
}

macro_rules! guarded_app {
    ($mock:expr) => {
        test::init_service(App::new().configure(guarded_routes).wrap(AuthLayer::new(
            Verifier::builder($mock.provider()).build().unwrap(),
        )))
        .await
    };
}

async fn get_as<S, B>(app: &S, uri: &str, token: &str) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(app, uri, &[("authorization", &bearer(token))]).await
}

#[actix_web::test]
async fn scope_guard_refuses_with_the_required_scope() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    let reader = mock.token().scope("read").sign();
    get_as(&app, "/admin", &reader).await.assert_rejected(
        403,
        Some(r#"Bearer realm="api", error="insufficient_scope", scope="admin""#),
        json!({"error": "insufficient_scope", "scope": "admin"}),
        &reader,
    );
    let admin = mock.token().scope("read admin").sign();
    let reply = get_as(&app, "/admin", &admin).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "admin area"));
}

#[actix_web::test]
async fn scope_guard_needs_every_scope() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    let partial = mock.token().scope("read").sign();
    get_as(&app, "/reports", &partial).await.assert_rejected(
        403,
        Some(r#"Bearer realm="api", error="insufficient_scope", scope="read reports""#),
        json!({"error": "insufficient_scope", "scope": "read reports"}),
        &partial,
    );
    let both = mock.token().scope("reports read").sign();
    assert_eq!(get_as(&app, "/reports", &both).await.status, 200);
}

#[actix_web::test]
async fn guarded_route_without_token_is_401_not_403() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    let reply = send(&app, "/admin", &[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.challenge(), Some(r#"Bearer realm="api""#));
}

#[actix_web::test]
async fn same_user_guard_allows_the_owner() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    let token = mock.token().sub("user_1").sign();
    let reply = get_as(&app, "/users/user_1/notes", &token).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "notes of user_1")
    );
}

#[actix_web::test]
async fn same_user_guard_compares_the_percent_decoded_parameter() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    for (sub, uri) in [
        ("auth0|42", "/users/auth0%7C42/notes"),
        ("a/b", "/users/a%2Fb/notes"),
        ("a+b%", "/users/a%2Bb%25/notes"),
    ] {
        let token = mock.token().sub(sub).sign();
        let reply = get_as(&app, uri, &token).await;
        assert_eq!(reply.status, 200, "{uri}: {}", reply.body);
    }
    let token = mock.token().sub("a%2Fb").sign();
    assert_eq!(
        get_as(&app, "/users/a%2Fb/notes", &token).await.status,
        403,
        "compared decoded, not as sent"
    );
}

#[actix_web::test]
async fn same_user_guard_refuses_another_user() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    let token = mock.token().sub("user_1").sign();
    get_as(&app, "/users/user_2/notes", &token)
        .await
        .assert_rejected(
            403,
            Some(NOT_ALLOWED),
            json!({"error": "insufficient_scope"}),
            &token,
        );
}

#[actix_web::test]
async fn same_user_guard_on_a_parameter_that_is_not_utf8_is_400_invalid_request() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    let token = mock.token().sub("user_1").sign();
    for uri in ["/users/%FF/notes", "/users/user_1%C3/notes"] {
        get_as(&app, uri, &token).await.assert_rejected(
            400,
            Some(INVALID_REQUEST),
            json!({"error": "invalid_request"}),
            &token,
        );
    }
}

#[actix_web::test]
async fn same_user_guard_on_a_resource_without_the_parameter_is_500() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    let token = mock.token().sub("user_1").sign();
    get_as(&app, "/misconfigured", &token)
        .await
        .assert_rejected(500, None, json!({"error": "server_error"}), &token);
}

#[actix_web::test]
async fn claim_guard_matches_values_and_array_members() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    let editor = mock
        .token()
        .claim("roles", json!(["viewer", "editor"]))
        .sign();
    assert_eq!(get_as(&app, "/editors", &editor).await.status, 200);
    let viewer = mock.token().claim("roles", json!(["viewer"])).sign();
    get_as(&app, "/editors", &viewer).await.assert_rejected(
        403,
        Some(NOT_ALLOWED),
        json!({"error": "insufficient_scope"}),
        &viewer,
    );
    let org_admin = mock.token().claim("org", json!({"role": "admin"})).sign();
    assert_eq!(get_as(&app, "/org-admin", &org_admin).await.status, 200);
    let no_org = mock.token().sign();
    get_as(&app, "/org-admin", &no_org).await.assert_rejected(
        403,
        Some(NOT_ALLOWED),
        json!({"error": "insufficient_scope"}),
        &no_org,
    );
}

#[actix_web::test]
async fn predicate_guard() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    let staff = mock.token().email("ann@example.com").sign();
    assert_eq!(get_as(&app, "/staff", &staff).await.status, 200);
    let outsider = mock.token().email("bob@elsewhere.test").sign();
    get_as(&app, "/staff", &outsider).await.assert_rejected(
        403,
        Some(NOT_ALLOWED),
        json!({"error": "insufficient_scope"}),
        &outsider,
    );
}

#[actix_web::test]
async fn user_token_guard_refuses_client_credentials_tokens_with_403() {
    let mock = MockProvider::better_auth().await;
    let app = guarded_app!(mock);
    let user = mock.token().claim("client_id", "app-1").sign();
    let reply = get_as(&app, "/me", &user).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "me"));
    let machine = mock.token().sub("app-1").claim("client_id", "app-1").sign();
    let reply = get_as(&app, "/me", &machine).await;
    assert_eq!(reply.status, 403, "body: {}", reply.body);
    assert!(!reply.body.contains(&machine));
}

#[actix_web::test]
async fn guard_without_the_middleware_authenticates_by_itself() {
    let mock = MockProvider::better_auth().await;
    let app = test::init_service(App::new().app_data(data(&mock)).configure(guarded_routes)).await;
    assert_eq!(send(&app, "/admin", &[]).await.status, 401);
    let bad = mock.token().scope("admin").sign_with_wrong_key();
    assert_eq!(get_as(&app, "/admin", &bad).await.status, 401);
    let reader = mock.token().scope("read").sign();
    assert_eq!(get_as(&app, "/admin", &reader).await.status, 403);
    let admin = mock.token().scope("admin").sign();
    assert_eq!(get_as(&app, "/admin", &admin).await.status, 200);
}

#[actix_web::test]
async fn real_socket_round_trip() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let server = actix_web::HttpServer::new(move || {
        App::new()
            .route("/health", web::get().to(|| async { "ok" }))
            .route(
                "/api/me",
                web::get().to(|user: AuthUser| async move {
                    HttpResponse::Ok().json(json!({"id": user.id, "email": user.email}))
                }),
            )
            .wrap(AuthLayer::new(verifier.clone()).public_path("/health"))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let base = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let client = reqwest::Client::new();
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let anonymous = client.get(format!("{base}/api/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        r#"Bearer realm="api""#
    );
    assert_eq!(
        anonymous.json::<Value>().await.unwrap(),
        json!({"error": "missing_token"})
    );
    let token = mock
        .token()
        .sub("user_demo")
        .email("demo@example.com")
        .sign();
    let me = client
        .get(format!("{base}/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap(),
        json!({"id": "user_demo", "email": "demo@example.com"})
    );
    handle.stop(false).await;
}

// --- DPoP, RFC 9728 and forwarded headers through the middleware (the request edge). ---

mod dpop {
    use super::*;
    use crate::dpop_client::{dpop_verifier, DpopClient, ALGS};
    use jwks_auth::edge::RequestEdge;
    use jwks_auth::ProtectedResource;

    macro_rules! notes_app {
        ($middleware:expr) => {
            test::init_service(
                App::new()
                    .route(
                        "/notes",
                        web::get().to(|user: AuthUser| async move { user.id }),
                    )
                    .wrap($middleware),
            )
            .await
        };
    }

    fn pairs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
        headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
    }

    fn challenges(reply: &Reply) -> Vec<&str> {
        reply
            .headers
            .get_all(header::WWW_AUTHENTICATE)
            .map(|value| value.to_str().unwrap())
            .collect()
    }

    #[actix_web::test]
    async fn a_dpop_bound_token_with_its_proof_is_accepted_and_as_bearer_refused() {
        let mock = MockProvider::auth0().await;
        let client = DpopClient::new(&mock);
        let middleware =
            AuthLayer::new(dpop_verifier(&mock, false)).external_origin("https://api.example.com");
        let app = notes_app!(middleware);

        let headers = client.credentials("GET", "https://api.example.com/notes", None);
        let mut sent = pairs(&headers);
        sent.push(("host", "internal:8080"));
        let reply = send(&app, "/notes?page=2", &sent).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "dpop_user"));
        // The same proof again is a replay.
        let reply = send(&app, "/notes?page=2", &sent).await;
        assert_eq!(reply.status, 401);
        assert_eq!(
            challenges(&reply),
            [
                r#"Bearer realm="api""#.to_owned(),
                format!(r#"{ALGS}, error="invalid_dpop_proof""#)
            ]
        );
        assert_eq!(reply.json(), json!({"error": "invalid_dpop_proof"}));
        assert!(!reply.body.contains(&client.token));

        // The bound token with the Bearer scheme: refused, both challenges offered.
        let reply = send(&app, "/notes", &[("authorization", &bearer(&client.token))]).await;
        assert_eq!(reply.status, 401);
        assert_eq!(
            challenges(&reply),
            [INVALID_TOKEN.to_owned(), ALGS.to_owned()]
        );
        // No token at all: both challenges, neither with an error.
        let reply = send(&app, "/notes", &[]).await;
        assert_eq!(
            challenges(&reply),
            [r#"Bearer realm="api""#.to_owned(), ALGS.to_owned()]
        );
    }

    #[actix_web::test]
    async fn extractors_without_the_middleware_take_dpop_proofs_against_the_host() {
        let mock = MockProvider::auth0().await;
        let client = DpopClient::new(&mock);
        let app = extractor_app!(@data web::Data::new(dpop_verifier(&mock, false)));
        // No external origin: `http://` + `Host`.
        let headers = client.credentials("GET", "http://notes.local/me", None);
        let mut sent = pairs(&headers);
        sent.push(("host", "notes.local"));
        let reply = send(&app, "/me", &sent).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "dpop_user"));
    }

    #[actix_web::test]
    async fn extractors_without_the_middleware_answer_with_an_edge_from_the_app_data() {
        let mock = MockProvider::auth0().await;
        let client = DpopClient::new(&mock);
        let resource = ProtectedResource::builder("https://api.example.com")
            .authorization_server(mock.issuer())
            .build()
            .unwrap();
        let metadata = resource.metadata_url().to_owned();
        let edge = RequestEdge::new(dpop_verifier(&mock, false))
            .external_origin("https://api.example.com")
            .protected_resource(&resource);
        let app = extractor_app!(@data web::Data::new(edge));
        // The proof is checked against the configured origin, not the `Host`.
        let headers = client.credentials("GET", "https://api.example.com/me", None);
        let mut sent = pairs(&headers);
        sent.push(("host", "internal:8080"));
        let reply = send(&app, "/me", &sent).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "dpop_user"));
        // Refusals carry the RFC 9728 pointer.
        let reply = send(&app, "/me", &[]).await;
        assert_eq!(reply.status, 401);
        assert_eq!(
            challenges(&reply)[0],
            format!(r#"Bearer realm="api", resource_metadata="{metadata}""#)
        );
    }

    #[actix_web::test]
    async fn with_nonces_every_answer_carries_dpop_nonce() {
        let mock = MockProvider::auth0().await;
        let client = DpopClient::new(&mock);
        let middleware =
            AuthLayer::new(dpop_verifier(&mock, true)).external_origin("https://api.example.com");
        let app = notes_app!(middleware);
        let url = "https://api.example.com/notes";

        let headers = client.credentials("GET", url, None);
        let reply = send(&app, "/notes", &pairs(&headers)).await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json(), json!({"error": "use_dpop_nonce"}));
        assert_eq!(
            challenges(&reply)[1],
            format!(r#"{ALGS}, error="use_dpop_nonce""#)
        );
        let nonce = reply.headers.get("dpop-nonce").expect("a nonce");
        let nonce = nonce.to_str().unwrap().to_owned();

        let headers = client.credentials("GET", url, Some(&nonce));
        let reply = send(&app, "/notes", &pairs(&headers)).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "dpop_user"));
        assert_eq!(reply.headers.get("dpop-nonce").unwrap(), nonce.as_str());
    }

    #[actix_web::test]
    async fn every_challenge_names_the_resource_metadata() {
        let mock = MockProvider::auth0().await;
        let resource = ProtectedResource::builder("https://mcp.example.com/mcp")
            .authorization_server(mock.issuer())
            .build()
            .unwrap();
        let metadata = resource.metadata_url().to_owned();
        let document = resource.metadata();
        let verifier = Verifier::builder(mock.provider()).build().unwrap();
        let app = test::init_service(
            App::new()
                .route(
                    resource.metadata_path(),
                    web::get().to(move || {
                        let document = document.clone();
                        async move { HttpResponse::Ok().json(document) }
                    }),
                )
                .configure(guarded_routes)
                .wrap(AuthLayer::new(verifier).protected_resource(&resource)),
        )
        .await;
        send(&app, "/admin", &[]).await.assert_rejected(
            401,
            Some(&format!(
                r#"Bearer realm="api", resource_metadata="{metadata}""#
            )),
            json!({"error": "missing_token"}),
            "",
        );
        // The guards behind the middleware answer with its settings.
        let reader = mock.token().scope("read").sign();
        get_as(&app, "/admin", &reader).await.assert_rejected(
            403,
            Some(&format!(
                r#"Bearer realm="api", error="insufficient_scope", scope="admin", resource_metadata="{metadata}""#
            )),
            json!({"error": "insufficient_scope", "scope": "admin"}),
            &reader,
        );
        // The metadata document is served without a token.
        let reply = send(&app, resource.metadata_path(), &[]).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["resource"], "https://mcp.example.com/mcp");
    }

    #[actix_web::test]
    async fn forwarded_headers_name_the_url_only_when_trusted() {
        let mock = MockProvider::auth0().await;
        let client = DpopClient::new(&mock);
        let forwarded = [
            ("host", "internal:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com"),
        ];
        for (trust, url, accepted) in [
            (false, "https://api.example.com/notes", false),
            (false, "http://internal:8080/notes", true),
            (true, "https://api.example.com/notes", true),
            (true, "http://internal:8080/notes", false),
        ] {
            let middleware =
                AuthLayer::new(dpop_verifier(&mock, false)).trust_forwarded_headers(trust);
            let app = notes_app!(middleware);
            let headers = client.credentials("GET", url, None);
            let mut sent = pairs(&headers);
            sent.extend(forwarded);
            let reply = send(&app, "/notes", &sent).await;
            let expected = if accepted { 200 } else { 401 };
            assert_eq!(reply.status, expected, "trust {trust}, proof for {url}");
        }
    }
}

/// The names before 0.2 still build the same middleware (deprecated aliases).
#[actix_web::test]
#[allow(deprecated)]
async fn the_old_names_still_work() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let middleware: jwks_auth::actix::AuthMiddleware =
        jwks_auth::actix::AuthMiddleware::new(verifier);
    let guard: jwks_auth::actix::GuardMiddleware = jwks_auth::actix::require_scope("admin");
    let app = test::init_service(
        App::new()
            .service(
                web::resource("/admin")
                    .wrap(guard)
                    .route(web::get().to(|| async { "admin" })),
            )
            .wrap(middleware),
    )
    .await;
    let token = mock.token().scope("admin").sign();
    assert_eq!(send(&app, "/admin", &[]).await.status, 401);
    assert_eq!(
        send(&app, "/admin", &[("authorization", &bearer(&token))])
            .await
            .status,
        200
    );
}
