//! A tower layer for tonic gRPC servers (feature `tonic`): [`AuthLayer`], per-service guards
//! ([`require_scope`], [`require_scopes`], [`require_claim`], [`require_user`],
//! [`require_user_token`]) and per-call checks in a method ([`RequestExt`]).
//!
//! The names are the axum and actix-web integrations': [`AuthLayer`] authenticates,
//! `require_*` are layers guarding what they wrap (here a tonic service), and the user is
//! an [`AuthUser`](crate::AuthUser) (here read with [`RequestExt::auth_user`], or
//! [`RequestExt::optional_auth_user`] on a public method).
//!
//! The layer is a thin adapter over the [request edge](crate::edge): it reads the
//! `authorization` metadata (`Bearer <token>`, scheme in any case, one value), verifies the
//! token, and puts the [`AuthUser`](crate::AuthUser) into the request extensions, where a
//! method finds it with [`RequestExt::auth_user`]. Per
//! method or service (keyed by the gRPC path `/package.Service/Method`) it can let calls
//! through without a token or require scopes. Cookies are never read over gRPC, so tokens
//! come from `authorization` when the verifier's token sources include `Bearer` (every
//! preset's do).
//!
//! | refusal (the kinds of the HTTP integrations) | gRPC status |
//! |---|---|
//! | no token, another scheme, invalid token, invalid DPoP proof, DPoP nonce needed | `UNAUTHENTICATED` |
//! | malformed `authorization` (several values, not one token, not ASCII), malformed forwarded origin | `INVALID_ARGUMENT` |
//! | a scope rule or helper refused | `PERMISSION_DENIED` |
//! | the provider's keys are unavailable | `UNAVAILABLE` + `grpc-retry-pushback-ms` |
//! | misconfigured (a verifier that cannot verify, an empty public method) | `INTERNAL` |
//!
//! The `grpc-message` names the failing check (`invalid bearer token: token expired`,
//! `insufficient scope: admin`), never the token; for `UNAVAILABLE` and `INTERNAL` it says
//! only what failed, the detail is logged with `tracing`.
//!
//! # Challenges in metadata
//! gRPC has no standard for HTTP authentication challenges. The layer sends the HTTP
//! answer's headers as response metadata: one `www-authenticate` value per challenge
//! (`Bearer realm="api", error="invalid_token"`; `DPoP algs="..."` when the verifier takes
//! proofs; with `resource_metadata="<url>"` when a
//! [protected resource](AuthLayer::protected_resource) is set, RFC 9728) and
//! `dpop-nonce`. Clients that know the HTTP conventions (an MCP client, a DPoP client) can
//! read them; others just see the status.
//!
//! # DPoP (RFC 9449)
//! With a verifier built with [`dpop`](crate::VerifierBuilder::dpop), a call with
//! `authorization: DPoP <token>` and the proof in `dpop` metadata is verified as an HTTP
//! request would be: `htm` is `POST` (every gRPC call is one) and `htu` the URL of the call,
//! the call's own `:scheme` and `:authority` with the method path
//! (`https://api.example.com/notes.Notes/List`), or the configured
//! [external origin](AuthLayer::external_origin) with that path behind a proxy. With
//! server nonces, every answer (accepted ones too) carries `dpop-nonce` metadata.
//!
//! # Example
//! ```no_run
//! use jwks_auth::tonic::AuthLayer;
//! use jwks_auth::{Provider, Verifier};
//! # fn run() -> Result<(), jwks_auth::AuthError> {
//! let verifier = Verifier::builder(Provider::better_auth("https://auth.example.com")?).build()?;
//! let layer = AuthLayer::new(verifier)
//!     .public_service("grpc.health.v1.Health")
//!     .method_scope("/notes.Notes/Delete", "notes:delete");
//! // tonic::transport::Server::builder().layer(layer).add_service(...)
//! # Ok(()) }
//! ```

mod guard;
mod layer;

#[allow(deprecated)]
pub use guard::auth_user;
pub use guard::{
    require_acr, require_auth_age, require_claim, require_scope, require_scopes, require_step_up,
    require_user, require_user_token, GuardLayer, GuardService, RequestExt,
};
pub use layer::{AuthLayer, AuthService, ResponseFuture};

/// The old name of [`AuthLayer`] (the same name in the axum, actix-web and tonic
/// integrations since 0.2).
#[deprecated(
    since = "0.2.0",
    note = "renamed `AuthLayer`, as in the axum and actix-web integrations"
)]
pub type GrpcAuthLayer = AuthLayer;

/// The old name of [`AuthService`].
#[deprecated(
    since = "0.2.0",
    note = "renamed `AuthService`, as in the axum and actix-web integrations"
)]
pub type GrpcAuthService<S> = AuthService<S>;
