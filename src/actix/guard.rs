//! Route guards answering 403, as middleware for a resource or scope: [`require_scope`],
//! [`require_scopes`], [`require_same_user`], [`require_claim`], [`require_user`] and
//! [`require_user_token`].

use std::fmt;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, ResponseError};

use super::extract::{known_user, Auth};
use super::response::AuthRejection;
use crate::guard_rule::{PathParam, Rule};
use crate::AuthUser;

/// Requires the token to grant `scope` (in `scope` or a permissions claim). Refused: 403
/// `insufficient_scope` with `scope="<scope>"`.
///
/// ```
/// use actix_web::{web, App};
/// use jwks_auth::actix::require_scope;
/// let app = App::new().service(
///     web::resource("/admin")
///         .wrap(require_scope("admin"))
///         .route(web::get().to(|| async { "hi" })),
/// );
/// ```
pub fn require_scope(scope: impl Into<String>) -> GuardLayer {
    require_scopes([scope])
}

/// Requires the path parameter `param` (e.g. `user_id` in `/users/{user_id}/notes`) to equal
/// the user's id, compared after percent-decoding. Wrap the resource that declares it; a
/// resource without that parameter is a configuration error (500), and a parameter that does
/// not decode to UTF-8 (`/users/%FF/notes`) is 400 `invalid_request`.
///
/// ```
/// use actix_web::{web, App};
/// use jwks_auth::actix::require_same_user;
/// let app = App::new().service(
///     web::resource("/users/{user_id}/notes")
///         .wrap(require_same_user("user_id"))
///         .route(web::get().to(|| async { "[]" })),
/// );
/// ```
pub fn require_same_user(param: impl Into<String>) -> GuardLayer {
    GuardLayer::new(Rule::SameUser(param.into()))
}

crate::guard_rule::rule_guards!(GuardLayer);

/// The rule's verdict, as this framework's rejection; reads the path parameter a
/// same-user rule compares.
fn check(
    rule: &Rule,
    user: &AuthUser,
    request: &ServiceRequest,
    auth: &Auth,
) -> Result<(), AuthRejection> {
    let param = rule.path_param().map(|name| {
        let Some(raw) = request.match_info().get(name) else {
            return PathParam::Missing;
        };
        // The router leaves `%`, `/` and `+` encoded: decode the rest here. It also
        // replaced bytes that are not UTF-8 with U+FFFD; the raw path tells whether
        // the client sent such bytes (a malformed request, not another user).
        match percent_encoding::percent_decode_str(raw).decode_utf8() {
            Ok(value) if !value.contains('\u{FFFD}') || raw_path_is_utf8(request) => {
                PathParam::Value(value.into_owned())
            }
            _ => PathParam::NotUtf8,
        }
    });
    rule.judge(user, param)
        .map_err(|refusal| auth.reject(auth.edge.guard_refusal(refusal)))
}

/// Whether the request path as sent percent-decodes to UTF-8.
fn raw_path_is_utf8(request: &ServiceRequest) -> bool {
    percent_encoding::percent_decode_str(request.uri().path())
        .decode_utf8()
        .is_ok()
}

/// Middleware refusing requests whose user breaks a rule, with 403 `insufficient_scope`.
/// Made by [`require_scope`], [`require_scopes`], [`require_same_user`], [`require_claim`],
/// [`require_user`], [`require_user_token`].
///
/// Wrap a resource (or scope) with it, behind an [`AuthLayer`](super::AuthLayer)
/// whose verified user it reuses. Without the middleware it authenticates by itself with
/// the app's `web::Data<Verifier>`, so a missing or bad token still gets 401, not 403.
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

impl<S, B> Transform<S, ServiceRequest> for GuardLayer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = GuardService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(GuardService {
            service: Rc::new(service),
            rule: self.rule.clone(),
        }))
    }
}

/// The service made by [`GuardLayer`].
pub struct GuardService<S> {
    service: Rc<S>,
    rule: Arc<Rule>,
}

impl<S> fmt::Debug for GuardService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardService")
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B> Service<ServiceRequest> for GuardService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let rule = self.rule.clone();
        Box::pin(async move {
            let http_request = request.request().clone();
            let checked = async {
                let auth = Auth::of(&http_request)?;
                let user = match known_user(&http_request) {
                    Some(user) => user,
                    None => auth.user(&http_request).await?,
                };
                check(&rule, &user, &request, &auth)
            }
            .await;
            drop(http_request);
            if let Err(rejection) = checked {
                let response = rejection.error_response();
                return Ok(request.into_response(response).map_into_right_body());
            }
            let response = service.call(request).await?;
            Ok(response.map_into_left_body())
        })
    }
}
