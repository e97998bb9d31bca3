//! actix-web extractors, a middleware and route guards (feature `actix`, actix-web 4).
//!
//! | piece | what it does | refuses with |
//! |---|---|---|
//! | [`AuthUser`](crate::AuthUser) extractor | the verified user | 401 missing or invalid token |
//! | [`OptionalAuthUser`] | `None` only when no token was sent | 401 present but invalid token |
//! | [`TypedClaims<T>`] | all claims as your own `T` | 401, also when the claims do not fit `T` |
//! | [`AuthLayer`] (middleware) | guards an app, scope or resource, allow-lists public paths | 401 |
//! | [`require_scope`], [`require_scopes`], [`require_same_user`], [`require_claim`], [`require_user`], [`require_user_token`] | per-resource guard middleware | 403 |
//!
//! Everything is a thin adapter over the framework-neutral [request edge](crate::edge):
//! statuses, `WWW-Authenticate` challenges (RFC 6750, RFC 9449 `DPoP`, RFC 9728
//! `resource_metadata`) and JSON bodies are the axum integration's: see [`RejectionKind`].
//! The token comes from the verifier's token sources (`Authorization: Bearer` and, for
//! Clerk, the `__session` cookie) or, when the verifier takes DPoP proofs,
//! `Authorization: DPoP` with its `DPoP` proof header (see [`AuthLayer`] for the URL it
//! is checked against and `DPoP-Nonce`).
//!
//! # Where the verifier comes from
//! The [`AuthLayer`] holds it and puts it (and the verified user) into the request
//! extensions. Without the middleware, the extractors and guards take a
//! `web::Data<RequestEdge>` the app registered (a [`RequestEdge`](crate::edge::RequestEdge)
//! set up as the middleware would be: external origin for DPoP, protected resource for
//! `resource_metadata` challenges), else `web::Data<Verifier>`
//! (`App::app_data(web::Data::new(verifier))`). A user the middleware already verified is
//! reused, never verified twice. Only the middleware can add `DPoP-Nonce` to *accepted*
//! answers (an extractor cannot touch the response): use it when the verifier sends server
//! nonces.
//!
//! # `Option<AuthUser>`
//! actix-web's own `Option<T>` extractor answers `None` whenever `T` fails, so
//! `Option<AuthUser>` cannot tell a forged token from no token. Use [`OptionalAuthUser`].
//!
//! # Example
//! ```
//! use actix_web::{test, web, App};
//! use jwks_auth::actix::{require_scope, AuthLayer};
//! use jwks_auth::{testing::MockProvider, AuthUser, Verifier};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # actix_web::rt::System::new().block_on(async {
//! let mock = MockProvider::better_auth().await; // stands in for your Better Auth server
//! let verifier = Verifier::builder(mock.provider()).build()?;
//! let app = test::init_service(
//!     App::new()
//!         .route("/health", web::get().to(|| async { "ok" }))
//!         .route("/api/me", web::get().to(|user: AuthUser| async move { user.id }))
//!         .service(
//!             web::resource("/api/admin")
//!                 .wrap(require_scope("admin"))
//!                 .route(web::get().to(|| async { "admin" })),
//!         )
//!         .wrap(AuthLayer::new(verifier).public_path("/health")),
//! )
//! .await;
//!
//! let token = mock.token().sub("user_1").scope("read").sign();
//! let get = |uri: &str| {
//!     test::TestRequest::get()
//!         .uri(uri)
//!         .insert_header(("authorization", format!("Bearer {token}")))
//!         .to_request()
//! };
//! assert_eq!(test::call_service(&app, get("/api/me")).await.status(), 200);
//! assert_eq!(test::call_service(&app, get("/api/admin")).await.status(), 403);
//! let anonymous = test::TestRequest::get().uri("/api/me").to_request();
//! let response = test::call_service(&app, anonymous).await;
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.headers().get("www-authenticate").unwrap(), r#"Bearer realm="api""#);
//! # Ok::<(), Box<dyn std::error::Error>>(()) }) }
//! ```

mod extract;
mod guard;
mod middleware;
mod response;

pub use extract::{OptionalAuthUser, TypedClaims};
pub use guard::{
    require_acr, require_auth_age, require_claim, require_same_user, require_scope, require_scopes,
    require_step_up, require_user, require_user_token, GuardLayer, GuardService,
};
pub use middleware::{AuthLayer, AuthService};

/// The old name of [`AuthLayer`] (the same name in the axum, actix-web and tonic
/// integrations since 0.2).
#[deprecated(
    since = "0.2.0",
    note = "renamed `AuthLayer`, as in the axum and tonic integrations"
)]
pub type AuthMiddleware = AuthLayer;

/// The old name of [`AuthService`].
#[deprecated(
    since = "0.2.0",
    note = "renamed `AuthService`, as in the axum and tonic integrations"
)]
pub type AuthMiddlewareService<S> = AuthService<S>;

/// The old name of [`GuardLayer`].
#[deprecated(
    since = "0.2.0",
    note = "renamed `GuardLayer`, as in the axum integration"
)]
pub type GuardMiddleware = GuardLayer;
pub use response::{AuthConfig, AuthRejection, RejectionKind};
