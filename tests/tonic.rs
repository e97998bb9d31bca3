//! The tonic layer over a real loopback socket: a tonic server with `GrpcAuthLayer` in front
//! of a small hand-written service, called with a tonic client and real tokens from a mock
//! provider. Every refusal's gRPC code and message, and the user in the extensions.

#[path = "support/greeter.rs"]
mod greeter;

use greeter::{Greeter, GreeterClient, HelloReply, HelloRequest};
use jwks_auth::testing::MockProvider;
use jwks_auth::tonic::{auth_user, require_scope, GrpcAuthLayer};
use jwks_auth::{AuthUser, Verifier};
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
                    .extensions()
                    .get::<AuthUser>()
                    .map_or("anonymous", |user| user.id.as_str());
                format!("up, {who}")
            }
            "Notes" => format!("notes of {}", require_scope(&request, "notes")?.id),
            _ => format!("{method} {}", auth_user(&request)?.id),
        };
        Ok(Response::new(HelloReply { message }))
    }
}

/// A server on a loopback port with `layer`, and a client connected to it.
async fn serve(layer: GrpcAuthLayer) -> GreeterClient<Channel> {
    greeter::serve(layer, Hello).await
}

fn layer(mock: &MockProvider) -> GrpcAuthLayer {
    GrpcAuthLayer::new(Verifier::builder(mock.provider()).build().unwrap())
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
        serve(GrpcAuthLayer::new(verifier).service_scope("greeter.Greeter", "greet")).await;
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
