//! Route guards answering 403: [`require_scope`], [`require_scopes`], [`require_same_user`],
//! [`require_claim`], [`require_user`] and [`require_user_token`].

use std::sync::Arc;
use std::task::{Context, Poll};

use ::axum::extract::rejection::RawPathParamsRejection;
use ::axum::extract::{FromRequestParts, RawPathParams, Request};
use ::axum::http::request::Parts;
use ::axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::extract::{config_of, user_from_parts};
use super::future::ResponseFuture;
use super::response::{AuthConfig, AuthRejection};
use crate::guard_rule::{PathParam, Rule};
use crate::AuthUser;

/// Requires the token to grant `scope` (in `scope` or a permissions claim). Refused: 403
/// `insufficient_scope` with `scope="<scope>"`.
///
/// ```
/// use axum::{routing::get, Router};
/// use jwks_auth::axum::require_scope;
/// let app: Router<jwks_auth::Verifier> = Router::new()
///     .route("/admin", get(|| async { "hi" }).route_layer(require_scope("admin")));
/// ```
pub fn require_scope(scope: impl Into<String>) -> GuardLayer {
    require_scopes([scope])
}

/// Requires the path parameter `param` (e.g. `user_id` in `/users/{user_id}/notes`) to equal
/// the user's id, compared after percent-decoding. Use it with `route_layer`, so the path
/// parameters are known; a route without that parameter is a configuration error (500), and
/// a parameter that does not decode to UTF-8 (`/users/%FF/notes`) is 400 `invalid_request`.
///
/// ```
/// use axum::{routing::get, Router};
/// use jwks_auth::axum::require_same_user;
/// let app: Router<jwks_auth::Verifier> = Router::new()
///     .route("/users/{user_id}/notes", get(|| async { "[]" }))
///     .route_layer(require_same_user("user_id"));
/// ```
pub fn require_same_user(param: impl Into<String>) -> GuardLayer {
    GuardLayer::new(Rule::SameUser(param.into()))
}

crate::guard_rule::rule_guards!(GuardLayer);

/// The rule's verdict, as this framework's rejection; reads the path parameter a
/// same-user rule compares.
async fn check(
    rule: &Rule,
    user: &AuthUser,
    parts: &mut Parts,
    config: &AuthConfig,
) -> Result<(), AuthRejection> {
    let param = match rule.path_param() {
        None => None,
        Some(name) => Some(match RawPathParams::from_request_parts(parts, &()).await {
            Ok(params) => params
                .iter()
                .find(|(key, _)| *key == name)
                .map_or(PathParam::Missing, |(_, value)| {
                    PathParam::Value(value.to_owned())
                }),
            // The client sent a path that does not decode to text: its request is
            // malformed, the route is not misconfigured.
            Err(RawPathParamsRejection::InvalidUtf8InPathParam(_)) => PathParam::NotUtf8,
            Err(_) => PathParam::Missing,
        }),
    };
    rule.judge(user, param)
        .map_err(|refusal| AuthRejection::from_refusal(refusal, config))
}

/// A tower layer refusing requests whose user breaks a rule, with 403 `insufficient_scope`.
/// Made by [`require_scope`], [`require_scopes`], [`require_same_user`], [`require_claim`],
/// [`require_user`], [`require_user_token`].
///
/// Put it on routes with `route_layer` (on a `Router` or a single `MethodRouter`) behind an
/// [`AuthLayer`](super::AuthLayer), whose verified user it reuses. Without the layer it
/// authenticates by itself with the `Verifier` of the request extensions (an `Extension`), so
/// a missing or bad token still gets 401, not 403.
#[derive(Clone, Debug)]
#[must_use]
pub struct GuardLayer {
    rule: Arc<Rule>,
}

impl GuardLayer {
    fn new(rule: Rule) -> Self {
        GuardLayer {
            rule: Arc::new(rule),
        }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService {
            inner,
            rule: self.rule.clone(),
        }
    }
}

/// The service made by [`GuardLayer`].
#[derive(Clone, Debug)]
pub struct GuardService<S> {
    inner: S,
    rule: Arc<Rule>,
}

impl<S> Service<Request> for GuardService<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let rule = self.rule.clone();
        ResponseFuture::new(async move {
            let (mut parts, body) = request.into_parts();
            let config = config_of(&parts);
            let user = match user_from_parts(&mut parts, &()).await {
                Ok(Some(user)) => user,
                Ok(None) => return Ok(AuthRejection::missing_token(&config).into_response()),
                Err(rejection) => return Ok(rejection.into_response()),
            };
            if let Err(rejection) = check(&rule, &user, &mut parts, &config).await {
                return Ok(rejection.into_response());
            }
            let response = inner.call(Request::from_parts(parts, body)).await?;
            Ok(response.into_response())
        })
    }
}
