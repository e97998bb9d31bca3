//! A small tonic gRPC service protected by jwks-auth's `AuthLayer`, against an embedded
//! mock Better Auth provider (no account, no network). The service is the hand-written
//! `greeter.Greeter` of `tests/support/greeter.rs` (no `protoc` needed). It prints demo
//! tokens, then calls itself with a tonic client to show each answer.
//!
//! Run: `cargo run -p jwks-auth-frameworks --example grpc_service` (port from `$PORT`,
//! default 50051). With `grpcurl` (which needs the proto, printed in that file's docs):
//!
//! ```text
//! grpcurl -plaintext -proto greeter.proto -H "authorization: Bearer $TOKEN" \
//!     -d '{"name":"me"}' localhost:50051 greeter.Greeter/Hello
//! ```
//!
//! Methods: `Hello` (any signed-in user), `Admin` (scope `admin`, a layer rule), `Notes`
//! (scope `notes`, checked in the method with `require_scope`), `Status` (public).
//!
//! Printing tokens is fine here only because they are minted by a throwaway mock for a demo
//! user; never print real tokens.

#[path = "../../tests/support/greeter.rs"]
mod greeter;

use greeter::{Greeter, GreeterClient, GreeterServer, HelloReply, HelloRequest};
use jwks_auth::testing::MockProvider;
use jwks_auth::tonic::{AuthLayer, RequestExt};
use jwks_auth::Verifier;
use tonic::{Request, Response, Status};

const TOKEN_LIFETIME_SECS: i64 = 3600;

struct Service;

#[tonic::async_trait]
impl Greeter for Service {
    async fn call(
        &self,
        method: &'static str,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let message = match method {
            // Public: the user is there only when a valid token was sent.
            "Status" => match request.optional_auth_user() {
                Some(user) => format!("up (you are {})", user.id),
                None => "up".to_owned(),
            },
            "Notes" => format!("notes of {}", request.require_scope("notes")?.id),
            _ => {
                let user = request.auth_user()?;
                format!("{method}: hello {}, {}", user.id, request.get_ref().name)
            }
        };
        Ok(Response::new(HelloReply { message }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build()?;
    verifier.warm_up().await?;
    let layer = AuthLayer::new(verifier)
        .public_method("/greeter.Greeter/Status")
        .method_scope("/greeter.Greeter/Admin", "admin");

    let port = std::env::var("PORT").unwrap_or_else(|_| "50051".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(layer)
            .add_service(GreeterServer::new(Service))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let mint = |sub: &str, scope: &str| {
        mock.token()
            .sub(sub)
            .scope(scope)
            .expires_in(TOKEN_LIFETIME_SECS)
            .sign()
    };
    let token = mint("user_demo", "read notes");
    let admin_token = mint("user_admin", "read admin");
    println!("mock Better Auth provider: {}", mock.uri());
    println!("listening on http://{addr} (gRPC, plaintext)");
    println!("token: {token}");
    println!("admin-token: {admin_token}");

    let mut client = GreeterClient::connect(format!("http://{addr}")).await?;
    for (method, token) in [
        ("Status", None),
        ("Hello", None),
        ("Hello", Some(&token)),
        ("Admin", Some(&token)),
        ("Admin", Some(&admin_token)),
        ("Notes", Some(&token)),
        ("Notes", Some(&admin_token)),
    ] {
        let mut request = Request::new(HelloRequest {
            name: "demo".into(),
        });
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse()?);
        }
        let who = if token.is_some() {
            "with a token"
        } else {
            "anonymous"
        };
        match client.call(method, request).await {
            Ok(reply) => println!("{method} ({who}): OK {}", reply.into_inner().message),
            Err(status) => println!("{method} ({who}): {:?} {}", status.code(), status.message()),
        }
    }
    println!("serving until interrupted");
    server.await??;
    Ok(())
}
