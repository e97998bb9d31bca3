//! One axum server for the HTTP benchmark (`bench/http/run.sh`): `GET /me` answering a small
//! JSON body, with the variant named by the first argument:
//!
//! - `none`: no authentication;
//! - `jwks-auth`: jwks-auth's `AuthLayer`, every request's signature checked;
//! - `jwks-auth-cached`: the same with the verified-token cache on (`cache_verified`);
//! - `jwt-authorizer`: jwt-authorizer's layer (axum 0.7, which that crate is built on);
//! - `extension` (not in `run.sh`'s default list): no verification, an `Extension` layer
//!   handing every request the same `AuthUser`: what any layer plus extractor costs.
//!
//! All variants take the same RS256 token, signed by a mock Auth0 provider whose JWKS is
//! served on loopback; the authenticated ones check issuer, audience and expiry. The server
//! writes that token to the file named by the third argument, then listens on
//! `127.0.0.1:<second argument>`.
//!
//! The token is a throwaway mock's; never write real tokens to files.

use std::net::SocketAddr;

use jwks_auth::testing::{MockProvider, MOCK_AUDIENCE};
use jwks_auth::{AuthUser, Verifier};
use serde_json::{json, Value};

const TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: jwks-auth-http-bench <none|jwks-auth|jwks-auth-cached|jwt-authorizer> <port> <token-file>";
    let variant = args.next().ok_or(usage)?;
    let port: u16 = args.next().ok_or(usage)?.parse()?;
    let token_file = args.next().ok_or(usage)?;

    let mock = MockProvider::auth0().await;
    let token = mock
        .token()
        .sub("user_bench")
        .expires_in(TOKEN_LIFETIME_SECS)
        .sign();
    std::fs::write(&token_file, &token)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("{variant} listening on http://{addr}");

    match variant.as_str() {
        "none" => {
            let app = axum::Router::new().route(
                "/me",
                axum::routing::get(|| async { axum::Json(json!({ "id": "user_bench" })) }),
            );
            axum::serve(listener, app).await?;
        }
        "extension" => {
            let app = axum::Router::new()
                .route(
                    "/me",
                    axum::routing::get(
                        |axum::Extension(user): axum::Extension<AuthUser>| async move {
                            axum::Json(json!({ "id": user.id }))
                        },
                    ),
                )
                .layer(axum::Extension(AuthUser::new("user_bench")));
            axum::serve(listener, app).await?;
        }
        "jwks-auth" | "jwks-auth-cached" => {
            let mut builder = Verifier::builder(mock.provider());
            if variant == "jwks-auth-cached" {
                builder = builder.cache_verified(10_000);
            }
            let verifier = builder.build()?;
            verifier.warm_up().await?;
            let app = axum::Router::new()
                .route(
                    "/me",
                    axum::routing::get(|user: AuthUser| async move {
                        axum::Json(json!({ "id": user.id }))
                    }),
                )
                .layer(jwks_auth::axum::AuthLayer::new(verifier));
            axum::serve(listener, app).await?;
        }
        "jwt-authorizer" => {
            use jwt_authorizer::{
                IntoLayer, JwtAuthorizer, JwtClaims, RegisteredClaims, Validation,
            };
            let validation = Validation::new()
                .iss(&[mock.issuer()])
                .aud(&[MOCK_AUDIENCE]);
            let authorizer = JwtAuthorizer::<RegisteredClaims>::from_jwks_url(&mock.jwks_url())
                .validation(validation)
                .build()
                .await?;
            let app = axum07::Router::new()
                .route(
                    "/me",
                    axum07::routing::get(
                        |JwtClaims(claims): JwtClaims<RegisteredClaims>| async move {
                            let id: Value = claims.sub.map_or(Value::Null, Value::from);
                            axum07::Json(json!({ "id": id }))
                        },
                    ),
                )
                .layer(vec![authorizer].into_layer());
            axum07::serve(listener, app).await?;
        }
        other => return Err(format!("unknown variant `{other}`; {usage}").into()),
    }
    Ok(())
}
