//! The tonic layer over a real loopback socket: a tonic server with `AuthLayer` in front
//! of a small hand-written service, called with a tonic client and real tokens from a mock
//! provider. Every refusal's gRPC code and message, and the user in the extensions.

#[path = "../../tests/support/dpop_client.rs"]
mod dpop_client;
#[path = "../../tests/support/greeter.rs"]
mod greeter;

use greeter::{Greeter, GreeterClient, HelloReply, HelloRequest};
use jwks_auth::testing::MockProvider;
use jwks_auth::tonic::{AuthLayer, RequestExt};
use jwks_auth::Verifier;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

/// Greets the caller by the id of the user the layer put into the extensions.
struct Hello;

#[tonic::async_trait]
impl Greeter for Hello {
    async fn call(
        &self,
        method: &'static str,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let message = match method {
            "Status" => {
                let who = request
                    .optional_auth_user()
                    .map_or("anonymous", |user| user.id.as_str());
                format!("up, {who}")
            }
            "Notes" => format!("notes of {}", request.require_scope("notes")?.id),
            _ => format!("{method} {}", request.auth_user()?.id),
        };
        Ok(Response::new(HelloReply { message }))
    }
}

/// A server on a loopback port with `layer`, and a client connected to it.
async fn serve(layer: AuthLayer) -> GreeterClient<Channel> {
    greeter::serve(layer, Hello).await
}

/// As [`serve`], with the origin the client calls (`http://127.0.0.1:<port>`).
async fn serve_at(layer: AuthLayer) -> (GreeterClient<Channel>, String) {
    greeter::serve_at(layer, Hello).await
}

fn layer(mock: &MockProvider) -> AuthLayer {
    AuthLayer::new(Verifier::builder(mock.provider()).build().unwrap())
        .public_method("/greeter.Greeter/Status")
        .method_scope("/greeter.Greeter/Admin", "admin")
}

/// A call to `method` with these `authorization` metadata values.
async fn call(
    client: &mut GreeterClient<Channel>,
    method: &'static str,
    authorization: &[&str],
) -> Result<String, Status> {
    let mut request = Request::new(HelloRequest {
        name: "test".into(),
    });
    for value in authorization {
        request
            .metadata_mut()
            .append("authorization", value.parse().unwrap());
    }
    client
        .call(method, request)
        .await
        .map(|response| response.into_inner().message)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The refusal's code and message, which must not contain `token`.
fn assert_refused(result: Result<String, Status>, code: Code, message: &str, token: &str) {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(status.message(), message);
    if !token.is_empty() {
        assert!(!format!("{status:?}").contains(token), "echoes the token");
    }
}

#[tokio::test]
async fn valid_token_reaches_the_method_with_the_user_in_the_extensions() {
    let mock = MockProvider::better_auth().await;
    let mut client = serve(layer(&mock)).await;
    let token = mock.token().sub("user_1").sign();
    let reply = call(&mut client, "Hello", &[&bearer(&token)]).await;
    assert_eq!(reply.unwrap(), "Hello user_1");
    let lower = format!("bearer {token}");
    assert_eq!(
        call(&mut client, "Hello", &[&lower]).await.unwrap(),
        "Hello user_1"
    );
}

#[tokio::test]
async fn missing_token_is_unauthenticated() {
    let mock = MockProvider::better_auth().await;
    let mut client = serve(layer(&mock)).await;
    assert_refused(
        call(&mut client, "Hello", &[]).await,
        Code::Unauthenticated,
        "no bearer token in the request",
        "",
    );
}

#[tokio::test]
async fn invalid_tokens_are_unauthenticated_naming_the_check_not_the_token() {
    let mock = MockProvider::better_auth().await;
    let mut client = serve(layer(&mock)).await;
    for token in [
        mock.token().sign_with_wrong_key(),
        mock.token().expired().sign(),
        mock.token().audience("https://other.example").sign(),
        mock.token().kid("no-such-key").sign(),
    ] {
        let status = call(&mut client, "Hello", &[&bearer(&token)])
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert!(
            status.message().starts_with("invalid bearer token: "),
            "{status:?}"
        );
        assert!(!format!("{status:?}").contains(&token), "echoes the token");
    }
    let expired = mock.token().expired().sign();
    let status = call(&mut client, "Hello", &[&bearer(&expired)])
        .await
        .unwrap_err();
    assert!(status.message().contains("expired"), "{status:?}");
}

#[tokio::test]
async fn another_scheme_is_unauthenticated() {
    let mock = MockProvider::better_auth().await;
    let mut client = serve(layer(&mock)).await;
    assert_refused(
        call(&mut client, "Hello", &["Basic dXNlcjpwYXNz"]).await,
        Code::Unauthenticated,
        "authorization scheme is not Bearer",
        "dXNlcjpwYXNz",
    );
}

#[tokio::test]
async fn malformed_authorization_metadata_is_invalid_argument() {
    let mock = MockProvider::better_auth().await;
    let mut client = serve(layer(&mock)).await;
    let token = mock.token().sign();
    let two_tokens = format!("Bearer {token} {token}");
    let once = bearer(&token);
    for (values, message) in [
        (
            vec![two_tokens.as_str()],
            "expected exactly one bearer token",
        ),
        (vec![&once, &once], "several authorization headers"),
        (vec![""], "empty authorization header"),
    ] {
        assert_refused(
            call(&mut client, "Hello", &values).await,
            Code::InvalidArgument,
            &format!("malformed authorization header: {message}"),
            &token,
        );
    }
}

#[tokio::test]
async fn public_method_needs_no_token_but_verifies_one_that_is_sent() {
    let mock = MockProvider::better_auth().await;
    let mut client = serve(layer(&mock)).await;
    assert_eq!(
        call(&mut client, "Status", &[]).await.unwrap(),
        "up, anonymous"
    );
    let token = mock.token().sub("user_1").sign();
    assert_eq!(
        call(&mut client, "Status", &[&bearer(&token)])
            .await
            .unwrap(),
        "up, user_1"
    );
    let bad = mock.token().expired().sign();
    let status = call(&mut client, "Status", &[&bearer(&bad)])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn an_empty_public_method_or_service_is_a_configuration_error_not_an_open_door() {
    let mock = MockProvider::better_auth().await;
    let token = mock.token().sub("user_1").sign();
    for layer in [
        layer(&mock).public_method(""),
        layer(&mock).public_service("/"),
    ] {
        let mut client = serve(layer).await;
        for (method, authorization) in [("Status", vec![]), ("Hello", vec![bearer(&token)])] {
            let authorization: Vec<&str> = authorization.iter().map(String::as_str).collect();
            let status = call(&mut client, method, &authorization).await.unwrap_err();
            assert_eq!(status.code(), Code::Internal, "{method}");
        }
    }
}

#[tokio::test]
async fn method_scope_in_the_layer_is_permission_denied() {
    let mock = MockProvider::better_auth().await;
    let mut client = serve(layer(&mock)).await;
    let reader = mock.token().sub("user_1").scope("read").sign();
    assert_refused(
        call(&mut client, "Admin", &[&bearer(&reader)]).await,
        Code::PermissionDenied,
        "insufficient scope: admin",
        &reader,
    );
    assert_eq!(
        call(&mut client, "Hello", &[&bearer(&reader)])
            .await
            .unwrap(),
        "Hello user_1",
        "the rule is per method"
    );
    let admin = mock.token().sub("user_2").scope("read admin").sign();
    assert_eq!(
        call(&mut client, "Admin", &[&bearer(&admin)])
            .await
            .unwrap(),
        "Admin user_2"
    );
}

#[tokio::test]
async fn service_scope_applies_to_every_method_of_the_service() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let mut client =
        serve(AuthLayer::new(verifier).service_scope("greeter.Greeter", "greet")).await;
    let reader = mock.token().scope("read").sign();
    for method in ["Hello", "Status"] {
        assert_refused(
            call(&mut client, method, &[&bearer(&reader)]).await,
            Code::PermissionDenied,
            "insufficient scope: greet",
            &reader,
        );
    }
    let greeter = mock.token().sub("user_1").scope("greet").sign();
    assert_eq!(
        call(&mut client, "Hello", &[&bearer(&greeter)])
            .await
            .unwrap(),
        "Hello user_1"
    );
}

#[tokio::test]
async fn require_scope_in_a_method_is_permission_denied() {
    let mock = MockProvider::better_auth().await;
    let mut client = serve(layer(&mock)).await;
    let reader = mock.token().scope("read").sign();
    assert_refused(
        call(&mut client, "Notes", &[&bearer(&reader)]).await,
        Code::PermissionDenied,
        "insufficient scope: notes",
        &reader,
    );
    let writer = mock.token().sub("user_1").scope("notes").sign();
    assert_eq!(
        call(&mut client, "Notes", &[&bearer(&writer)])
            .await
            .unwrap(),
        "notes of user_1"
    );
}

#[tokio::test]
async fn keys_unavailable_is_unavailable_with_a_retry_pushback() {
    let mock = MockProvider::better_auth().await;
    // Cold verifier: no keys cached, and every fetch fails.
    let mut client = serve(layer(&mock)).await;
    mock.fail_next(10, 500);
    let token = mock.token().sign();
    let status = call(&mut client, "Hello", &[&bearer(&token)])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(status.message(), "signing keys unavailable");
    assert_eq!(
        status.metadata().get("grpc-retry-pushback-ms").unwrap(),
        "30000"
    );
}

// --- DPoP, challenges in metadata, RFC 9728 and forwarded metadata (the request edge). ---

/// A guard layer around the whole service: the same `require_*` as axum's and actix-web's.
mod guards {
    use super::*;
    use jwks_auth::tonic::{require_scope, require_user_token};

    fn www_authenticate(status: &Status) -> Vec<String> {
        status
            .metadata()
            .get_all("www-authenticate")
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn require_scope_guards_every_method_of_the_service_it_wraps() {
        let mock = MockProvider::better_auth().await;
        let mut client = greeter::serve_guarded(layer(&mock), require_scope("greet"), Hello).await;
        let greeter = mock.token().sub("user_1").scope("greet").sign();
        assert_eq!(
            call(&mut client, "Hello", &[&bearer(&greeter)])
                .await
                .unwrap(),
            "Hello user_1"
        );
        let reader = mock.token().sub("user_2").scope("read").sign();
        let status = call(&mut client, "Hello", &[&bearer(&reader)])
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert_eq!(status.message(), "insufficient scope: greet");
        // The layer's challenge, as axum and actix-web send it.
        assert_eq!(
            www_authenticate(&status),
            [r#"Bearer realm="api", error="insufficient_scope", scope="greet""#]
        );
        // A public method of the layer still needs a user once guarded.
        let status = call(&mut client, "Status", &[]).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "no bearer token in the request");
    }

    #[tokio::test]
    async fn require_user_token_refuses_a_machine_token() {
        let mock = MockProvider::better_auth().await;
        let mut client = greeter::serve_guarded(layer(&mock), require_user_token(), Hello).await;
        let machine = mock.token().sub("svc").claim("client_id", "svc").sign();
        let status = call(&mut client, "Hello", &[&bearer(&machine)])
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        let person = mock.token().sub("user_1").sign();
        assert_eq!(
            call(&mut client, "Hello", &[&bearer(&person)])
                .await
                .unwrap(),
            "Hello user_1"
        );
    }

    #[tokio::test]
    async fn a_call_without_a_token_is_told_the_methods_scopes() {
        let mock = MockProvider::better_auth().await;
        let mut client = serve(layer(&mock)).await;
        let status = call(&mut client, "Admin", &[]).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(
            www_authenticate(&status),
            [r#"Bearer realm="api", scope="admin""#]
        );
        let status = call(&mut client, "Hello", &[]).await.unwrap_err();
        assert_eq!(www_authenticate(&status), [r#"Bearer realm="api""#]);
    }

    #[tokio::test]
    async fn a_check_in_the_method_answers_with_the_layers_challenge() {
        let mock = MockProvider::better_auth().await;
        let mut client = serve(layer(&mock)).await;
        let reader = mock.token().scope("read").sign();
        let status = call(&mut client, "Notes", &[&bearer(&reader)])
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert_eq!(status.message(), "insufficient scope: notes");
        assert_eq!(
            www_authenticate(&status),
            [r#"Bearer realm="api", error="insufficient_scope", scope="notes""#]
        );
    }
}

mod dpop {
    use super::*;
    use crate::dpop_client::{dpop_verifier, DpopClient, ALGS};
    use jwks_auth::ProtectedResource;
    use tonic::metadata::MetadataMap;

    /// `authorization: DPoP` and a proof for the call of `method` at `origin`: `POST
    /// <origin>/greeter.Greeter/<method>`.
    fn credentials(
        client: &DpopClient,
        origin: &str,
        method: &str,
        nonce: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        let url = format!("{origin}/greeter.Greeter/{method}");
        client.credentials("POST", &url, nonce)
    }

    fn dpop_layer(mock: &MockProvider, nonces: bool) -> AuthLayer {
        AuthLayer::new(dpop_verifier(mock, nonces))
    }

    /// A call to `method` with this metadata: the reply's message and metadata, or the status.
    async fn call_with(
        client: &mut GreeterClient<Channel>,
        method: &'static str,
        metadata: &[(&'static str, String)],
    ) -> Result<(String, MetadataMap), Status> {
        let mut request = Request::new(HelloRequest {
            name: "test".into(),
        });
        for (name, value) in metadata {
            request.metadata_mut().append(*name, value.parse().unwrap());
        }
        let response = client.call(method, request).await?;
        let metadata = response.metadata().clone();
        Ok((response.into_inner().message, metadata))
    }

    fn challenges(metadata: &MetadataMap) -> Vec<&str> {
        metadata
            .get_all("www-authenticate")
            .iter()
            .map(|value| value.to_str().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_dpop_bound_token_is_accepted_for_the_url_the_client_called() {
        let mock = MockProvider::auth0().await;
        let client = DpopClient::new(&mock);
        // No external origin: the call's own `:scheme` and `:authority`.
        let (mut grpc, origin) = serve_at(dpop_layer(&mock, false)).await;
        let metadata = credentials(&client, &origin, "Hello", None);
        let (message, _) = call_with(&mut grpc, "Hello", &metadata).await.unwrap();
        assert_eq!(message, "Hello dpop_user");

        // The same proof again is a replay; the proof's errors go in the DPoP challenge.
        let status = call_with(&mut grpc, "Hello", &metadata).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert!(
            status.message().starts_with("invalid dpop proof"),
            "{status:?}"
        );
        assert_eq!(
            challenges(status.metadata()),
            [
                r#"Bearer realm="api""#.to_owned(),
                format!(r#"{ALGS}, error="invalid_dpop_proof""#)
            ]
        );
        assert!(
            !format!("{status:?}").contains(&client.token),
            "echoes the token"
        );

        // A proof for another method is refused.
        let metadata = credentials(&client, &origin, "Admin", None);
        let status = call_with(&mut grpc, "Hello", &metadata).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);

        // The bound token as Bearer: refused, and the DPoP challenge offered.
        let bearer = vec![("authorization", bearer(&client.token))];
        let status = call_with(&mut grpc, "Hello", &bearer).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(
            challenges(status.metadata()),
            [
                r#"Bearer realm="api", error="invalid_token""#.to_owned(),
                ALGS.to_owned()
            ]
        );
    }

    #[tokio::test]
    async fn an_external_origin_names_the_url_behind_a_proxy() {
        let mock = MockProvider::auth0().await;
        let client = DpopClient::new(&mock);
        let layer = dpop_layer(&mock, false).external_origin("https://grpc.example.com");
        let (mut grpc, origin) = serve_at(layer).await;
        let metadata = credentials(&client, "https://grpc.example.com", "Hello", None);
        let (message, _) = call_with(&mut grpc, "Hello", &metadata).await.unwrap();
        assert_eq!(message, "Hello dpop_user");
        let metadata = credentials(&client, &origin, "Hello", None);
        let status = call_with(&mut grpc, "Hello", &metadata).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
    }

    #[tokio::test]
    async fn with_nonces_every_answer_carries_dpop_nonce_metadata() {
        let mock = MockProvider::auth0().await;
        let client = DpopClient::new(&mock);
        let (mut grpc, origin) = serve_at(dpop_layer(&mock, true)).await;
        let metadata = credentials(&client, &origin, "Hello", None);
        let status = call_with(&mut grpc, "Hello", &metadata).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert!(
            status.message().starts_with("dpop nonce required"),
            "{status:?}"
        );
        assert_eq!(
            challenges(status.metadata())[1],
            format!(r#"{ALGS}, error="use_dpop_nonce""#)
        );
        let nonce = status.metadata().get("dpop-nonce").expect("a nonce");
        let nonce = nonce.to_str().unwrap().to_owned();

        let metadata = credentials(&client, &origin, "Hello", Some(&nonce));
        let (message, reply) = call_with(&mut grpc, "Hello", &metadata).await.unwrap();
        assert_eq!(message, "Hello dpop_user");
        assert_eq!(reply.get("dpop-nonce").unwrap(), nonce.as_str());
    }

    #[tokio::test]
    async fn refusals_name_the_resource_metadata() {
        let mock = MockProvider::auth0().await;
        let resource = ProtectedResource::builder("https://grpc.example.com")
            .authorization_server(mock.issuer())
            .build()
            .unwrap();
        let metadata_url = resource.metadata_url().to_owned();
        let layer = layer(&mock).protected_resource(&resource);
        let mut grpc = serve(layer).await;
        let status = call_with(&mut grpc, "Hello", &[]).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "no bearer token in the request");
        assert_eq!(
            challenges(status.metadata()),
            [format!(
                r#"Bearer realm="api", resource_metadata="{metadata_url}""#
            )]
        );
        let reader = vec![("authorization", bearer(&mock.token().scope("read").sign()))];
        let status = call_with(&mut grpc, "Admin", &reader).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert_eq!(status.message(), "insufficient scope: admin");
        assert_eq!(
            challenges(status.metadata()),
            [format!(
                r#"Bearer realm="api", error="insufficient_scope", scope="admin", resource_metadata="{metadata_url}""#
            )]
        );
    }

    #[tokio::test]
    async fn forwarded_metadata_names_the_url_only_when_trusted() {
        let mock = MockProvider::auth0().await;
        let client = DpopClient::new(&mock);
        let forwarded = [
            ("x-forwarded-proto", "https".to_owned()),
            ("x-forwarded-host", "grpc.example.com".to_owned()),
        ];
        for trust in [false, true] {
            let layer = dpop_layer(&mock, false).trust_forwarded_headers(trust);
            let (mut grpc, origin) = serve_at(layer).await;
            for (url, accepted) in [("https://grpc.example.com", trust), (&origin, !trust)] {
                let mut metadata = credentials(&client, url, "Hello", None);
                metadata.extend(forwarded.clone());
                let result = call_with(&mut grpc, "Hello", &metadata).await;
                assert_eq!(
                    result.is_ok(),
                    accepted,
                    "trust {trust}, proof for {url}: {result:?}"
                );
            }
        }
    }
}

/// The names before 0.2 still build the same layer (deprecated aliases).
#[tokio::test]
#[allow(deprecated)]
async fn the_old_names_still_work() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let layer: jwks_auth::tonic::GrpcAuthLayer = jwks_auth::tonic::GrpcAuthLayer::new(verifier);
    let mut client = serve(layer).await;
    let token = mock.token().sub("user_1").sign();
    assert_eq!(
        call(&mut client, "Hello", &[&bearer(&token)])
            .await
            .unwrap(),
        "Hello user_1"
    );
    let mut request = Request::new(());
    request
        .extensions_mut()
        .insert(jwks_auth::AuthUser::new("user_2"));
    assert_eq!(jwks_auth::tonic::auth_user(&request).unwrap().id, "user_2");
}
