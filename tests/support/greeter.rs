//! A tiny gRPC service for the tonic tests and `frameworks/examples/grpc_service.rs`, written
//! by hand in the shape `tonic-prost-build` generates (prost messages, a client, a server),
//! so that nothing needs `protoc` at build time. It stands for this proto:
//!
//! ```proto
//! syntax = "proto3";
//! package greeter;
//! service Greeter {
//!   rpc Hello (HelloRequest) returns (HelloReply); // any signed-in user
//!   rpc Admin (HelloRequest) returns (HelloReply); // scope "admin" (layer rule)
//!   rpc Notes (HelloRequest) returns (HelloReply); // scope "notes" (checked in the method)
//!   rpc Status (HelloRequest) returns (HelloReply); // public
//! }
//! message HelloRequest { string name = 1; }
//! message HelloReply { string message = 1; }
//! ```
#![allow(dead_code)]

use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::codegen::{http, Body, BoxFuture, Bytes, GrpcMethod, Service, StdError};

/// `greeter.HelloRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `greeter.HelloReply`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloReply {
    #[prost(string, tag = "1")]
    pub message: String,
}

/// The service's full name.
pub const SERVICE: &str = "greeter.Greeter";

/// The methods, by name.
pub const METHODS: [&str; 8] = [
    "Hello", "Admin", "Notes", "Status", "Transfer", "Recent", "Reverify", "Mfa",
];

/// A client for `greeter.Greeter`; every method is a unary call named by `method`.
#[derive(Debug, Clone)]
pub struct GreeterClient<T> {
    inner: tonic::client::Grpc<T>,
}

impl GreeterClient<tonic::transport::Channel> {
    /// Connects to `dst` (`http://127.0.0.1:50051`).
    pub async fn connect(dst: String) -> Result<Self, tonic::transport::Error> {
        let channel = tonic::transport::Endpoint::new(dst)?.connect().await?;
        Ok(Self::new(channel))
    }
}

impl<T> GreeterClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    pub fn new(inner: T) -> Self {
        Self {
            inner: tonic::client::Grpc::new(inner),
        }
    }

    /// Calls `/greeter.Greeter/<method>`.
    pub async fn call(
        &mut self,
        method: &'static str,
        request: impl tonic::IntoRequest<HelloRequest>,
    ) -> Result<tonic::Response<HelloReply>, tonic::Status> {
        self.inner
            .ready()
            .await
            .map_err(|e| tonic::Status::unknown(format!("service was not ready: {}", e.into())))?;
        let codec = tonic_prost::ProstCodec::default();
        let path = http::uri::PathAndQuery::try_from(format!("/{SERVICE}/{method}"))
            .map_err(|_| tonic::Status::internal("bad method name"))?;
        let mut request = request.into_request();
        request
            .extensions_mut()
            .insert(GrpcMethod::new(SERVICE, method));
        self.inner.unary(request, path, codec).await
    }
}

/// What a `greeter.Greeter` server implements: one handler for every method, told which.
#[tonic::async_trait]
pub trait Greeter: Send + Sync + 'static {
    async fn call(
        &self,
        method: &'static str,
        request: tonic::Request<HelloRequest>,
    ) -> Result<tonic::Response<HelloReply>, tonic::Status>;
}

/// The server side of `greeter.Greeter`, to give to `Server::add_service`.
#[derive(Debug)]
pub struct GreeterServer<T> {
    inner: Arc<T>,
}

impl<T> GreeterServer<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }
}

impl<T> Clone for GreeterServer<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Unary<T> {
    inner: Arc<T>,
    method: &'static str,
}

impl<T: Greeter> tonic::server::UnaryService<HelloRequest> for Unary<T> {
    type Response = HelloReply;
    type Future = BoxFuture<tonic::Response<HelloReply>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<HelloRequest>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        let method = self.method;
        Box::pin(async move { inner.call(method, request).await })
    }
}

impl<T, B> Service<http::Request<B>> for GreeterServer<T>
where
    T: Greeter,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request
            .uri()
            .path()
            .strip_prefix(&format!("/{SERVICE}/"))
            .and_then(|name| METHODS.iter().find(|known| **known == name))
            .copied();
        let inner = self.inner.clone();
        Box::pin(async move {
            let Some(method) = method else {
                return Ok(tonic::Status::unimplemented("no such method").into_http());
            };
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(Unary { inner, method }, request).await)
        })
    }
}

impl<T> tonic::server::NamedService for GreeterServer<T> {
    const NAME: &'static str = SERVICE;
}

/// A tonic server on a loopback port serving `greeter` behind `layer`, and a client
/// connected to it.
pub async fn serve(
    layer: jwks_auth::tonic::AuthLayer,
    greeter: impl Greeter,
) -> GreeterClient<tonic::transport::Channel> {
    serve_at(layer, greeter).await.0
}

/// As [`serve`], with the origin the client calls (`http://127.0.0.1:<port>`).
#[allow(dead_code)] // not every test binary that includes this module calls it
pub async fn serve_at(
    layer: jwks_auth::tonic::AuthLayer,
    greeter: impl Greeter,
) -> (GreeterClient<tonic::transport::Channel>, String) {
    serve_service(layer, GreeterServer::new(greeter)).await
}

/// As [`serve`], with `guard` around the whole greeter service.
#[allow(dead_code)]
pub async fn serve_guarded(
    layer: jwks_auth::tonic::AuthLayer,
    guard: jwks_auth::tonic::GuardLayer,
    greeter: impl Greeter,
) -> GreeterClient<tonic::transport::Channel> {
    use tower::Layer;
    serve_service(layer, guard.layer(GreeterServer::new(greeter)))
        .await
        .0
}

async fn serve_service<S>(
    layer: jwks_auth::tonic::AuthLayer,
    service: S,
) -> (GreeterClient<tonic::transport::Channel>, String)
where
    S: Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + tonic::server::NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(layer)
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let origin = format!("http://{addr}");
    let client = GreeterClient::connect(origin.clone()).await.unwrap();
    (client, origin)
}
