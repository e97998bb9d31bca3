//! axum extractors, a tower layer and route guards (feature `axum`).
//!
//! | piece | what it does | refuses with |
//! |---|---|---|
//! | [`AuthUser`](crate::AuthUser) extractor | the verified user | 401 missing or invalid token |
//! | [`OptionalAuthUser`] or `Option<AuthUser>` | `None` only when no token was sent | 401 present but invalid token |
//! | [`TypedClaims<T>`] | all claims as your own `T` | 401, also when the claims do not fit `T` |
//! | [`AuthLayer`] | guards a router subtree, allow-lists public paths | 401 |
//! | [`require_scope`], [`require_scopes`], [`require_same_user`], [`require_claim`], [`require_user`], [`require_user_token`] | per-route `route_layer` guards | 403 |
//!
//! # Where the verifier comes from
//! The [`AuthLayer`] holds it and puts it (and the verified user) into the request
//! extensions. Without the layer, the extractors take it from the request extensions
//! (`.layer(Extension(verifier))`) or from the router state: a `Verifier` state, or your own
//! state with `impl FromRef<AppState> for Verifier` (see [`AuthState`]). A user the layer
//! already verified is reused, never verified twice.
//!
//! # Tokens
//! Read from the verifier's [`token_sources`](crate::Verifier::token_sources) in order:
//! `Authorization: Bearer <token>` (scheme in any case, exactly one token, one header) and,
//! for presets that list it (Clerk), the `__session` cookie. An `Authorization` header that
//! is present but unusable is refused rather than skipped in favour of a cookie.
//!
//! # Responses (RFC 6750)
//! See [`RejectionKind`] for the full table. Bodies are small JSON such as
//! `{"error":"invalid_token"}` and never contain the token or the reason it failed; the
//! reason is logged with `tracing` (`debug` for token problems, `warn` for 500 and 503) and
//! kept as the rejection's [`source`](std::error::Error::source). Replace the body with
//! [`AuthConfig::rejection_response`] or [`AuthLayer::rejection_response`].
//!
//! # Security notes
//! - Public paths are compared to the path as the layer sees it, undecoded and unnormalized;
//!   a near miss stays protected.
//! - Guards must run after authentication: put the [`AuthLayer`] outside (`.layer` after
//!   `.route_layer`), or let the guard authenticate by itself.
//!
//! # Example
//! ```
//! use axum::{body::Body, http::{Request, StatusCode}, routing::get, Json, Router};
//! use jwks_auth::axum::{require_same_user, require_scope, AuthLayer};
//! use jwks_auth::{testing::MockProvider, AuthUser, Verifier};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mock = MockProvider::better_auth().await; // stands in for your Better Auth server
//! let verifier = Verifier::builder(mock.provider()).build()?;
//!
//! let app = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .route("/api/me", get(|user: AuthUser| async move { Json(user.id) }))
//!     .route(
//!         "/api/admin",
//!         get(|| async { "admin" }).route_layer(require_scope("admin")),
//!     )
//!     .route(
//!         "/api/users/{user_id}/notes",
//!         get(|| async { "[]" }).route_layer(require_same_user("user_id")),
//!     )
//!     .layer(AuthLayer::new(verifier).public_path("/health"));
//!
//! let token = mock.token().sub("user_1").scope("read").sign();
//! let get = |uri: &str| {
//!     Request::get(uri)
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(Body::empty())
//! };
//! let status = |response: axum::response::Response| response.status();
//!
//! assert_eq!(status(app.clone().oneshot(get("/api/me")?).await?), StatusCode::OK);
//! assert_eq!(status(app.clone().oneshot(get("/api/admin")?).await?), StatusCode::FORBIDDEN);
//! assert_eq!(status(app.clone().oneshot(get("/api/users/user_1/notes")?).await?), StatusCode::OK);
//! assert_eq!(status(app.clone().oneshot(get("/api/users/user_2/notes")?).await?), StatusCode::FORBIDDEN);
//! let anonymous = Request::get("/api/me").body(Body::empty())?;
//! let response = app.clone().oneshot(anonymous).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="api""#);
//! # Ok(()) }
//! ```

mod extract;
mod future;
mod guard;
mod layer;
mod protected_resource;
mod response;
mod token;

pub use extract::{AuthState, OptionalAuthUser, TypedClaims};
pub use future::ResponseFuture;
pub use guard::{
    require_acr, require_auth_age, require_claim, require_same_user, require_scope, require_scopes,
    require_step_up, require_user, require_user_token, GuardLayer, GuardService,
};
pub use layer::{AuthLayer, AuthService};
pub use response::{
    AuthConfig, AuthRejection, JsonRejection, RejectionKind, RejectionResponse, DEFAULT_RETRY_AFTER,
};
