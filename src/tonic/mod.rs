//! A tower layer for tonic gRPC servers (feature `tonic`): [`GrpcAuthLayer`], and per-method
//! helpers ([`auth_user`], [`require_scope`], [`require_scopes`], [`require_user_token`]).
//!
//! The layer reads the `authorization` metadata (`Bearer <token>`, scheme in any case, one
//! value), verifies the token, and puts the [`AuthUser`](crate::AuthUser) into the request extensions, where
//! a method finds it with `request.extensions().get::<AuthUser>()` (or [`auth_user`]). Per
//! method or service (keyed by the gRPC path `/package.Service/Method`) it can let calls
//! through without a token or require scopes.
//!
//! | refusal (the kinds of the HTTP integrations) | gRPC status |
//! |---|---|
//! | no token, another scheme, invalid token | `UNAUTHENTICATED` |
//! | malformed `authorization` (several values, not one token, not ASCII) | `INVALID_ARGUMENT` |
//! | a scope rule or helper refused | `PERMISSION_DENIED` |
//! | the provider's keys are unavailable | `UNAVAILABLE` + `grpc-retry-pushback-ms` |
//! | misconfigured (a verifier that cannot verify) | `INTERNAL` |
//!
//! The `grpc-message` names the failing check (`invalid bearer token: token expired`,
//! `insufficient scope: admin`), never the token; for `UNAVAILABLE` and `INTERNAL` it says
//! only what failed, the detail is logged with `tracing`. DPoP proofs and cookies are not
//! read over gRPC.
//!
//! # Example
//! ```no_run
//! use jwks_auth::tonic::GrpcAuthLayer;
//! use jwks_auth::{Provider, Verifier};
//! # fn run() -> Result<(), jwks_auth::AuthError> {
//! let verifier = Verifier::builder(Provider::better_auth("https://auth.example.com")?).build()?;
//! let layer = GrpcAuthLayer::new(verifier)
//!     .public_service("grpc.health.v1.Health")
//!     .method_scope("/notes.Notes/Delete", "notes:delete");
//! // tonic::transport::Server::builder().layer(layer).add_service(...)
//! # Ok(()) }
//! ```

mod layer;

pub use layer::{auth_user, require_scope, require_scopes, require_user_token};
pub use layer::{GrpcAuthLayer, GrpcAuthService, ResponseFuture};
