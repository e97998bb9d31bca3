//! Per-service guards ([`require_scope`], [`require_scopes`], [`require_claim`],
//! [`require_user`], [`require_user_token`]) and per-call checks ([`RequestExt`]).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tonic::Status;
use http::{Request, Response};
use tower::{Layer, Service};

use super::layer::{status_of, ResponseFuture};
use crate::edge::RequestEdge;
use crate::guard_rule::{Refusal, Rule};
use crate::rejection::RejectionKind;
use crate::step_up::StepUp;
use crate::AuthUser;

/// Requires the token to grant `scope` (in `scope` or a permissions claim) for every call
/// of the wrapped service. Refused: `PERMISSION_DENIED`, `insufficient scope: <scope>`.
///
/// The same guard as axum's and actix-web's `require_scope`, as a tower layer around one
/// tonic service (behind an [`AuthLayer`](super::AuthLayer)); the guarded service keeps its
/// name, so it goes straight into `add_service`. For one method, use
/// [`AuthLayer::method_scope`](super::AuthLayer::method_scope) or
/// [`RequestExt::require_scope`] in the method.
///
/// ```
/// use jwks_auth::tonic::{require_scope, GuardLayer};
/// use tower::Layer;
/// # #[derive(Clone)] struct NotesServer;
/// let guarded = require_scope("notes:read").layer(NotesServer);
/// // Server::builder().layer(AuthLayer::new(verifier)).add_service(guarded)
/// # let _ = guarded;
/// ```
pub fn require_scope(scope: impl Into<String>) -> GuardLayer {
    require_scopes([scope])
}

crate::guard_rule::rule_guards!(GuardLayer);

/// A tower layer refusing calls whose user breaks a rule, with `PERMISSION_DENIED` (and
/// `UNAUTHENTICATED` when the call has no verified user: a public method called without a
/// token, or no [`AuthLayer`](super::AuthLayer) in front). Made by [`require_scope`],
/// [`require_scopes`], [`require_claim`], [`require_user`], [`require_user_token`].
#[derive(Clone)]
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

impl fmt::Debug for GuardLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardLayer")
            .field("rule", &self.rule)
            .finish()
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

/// The service made by [`GuardLayer`]; keeps the wrapped service's gRPC name.
#[derive(Clone)]
pub struct GuardService<S> {
    inner: S,
    rule: Arc<Rule>,
}

impl<S: fmt::Debug> fmt::Debug for GuardService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardService")
            .field("inner", &self.inner)
            .field("rule", &self.rule)
            .finish()
    }
}

impl<S: ::tonic::server::NamedService> ::tonic::server::NamedService for GuardService<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GuardService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<Response<ResBody>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let extensions = request.extensions();
        let verdict = judge(&self.rule, extensions.get(), extensions.get()).map(|_| ());
        // The ready service goes into the future; its fresh clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(async move {
            match verdict {
                Ok(()) => inner.call(request).await,
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

/// The rule's verdict on the call's user, as a status with the edge's challenges when an
/// [`AuthLayer`](super::AuthLayer) put its edge into the extensions.
#[allow(clippy::result_large_err)] // tonic's own methods return `Status` errors
fn judge<'u>(
    rule: &Rule,
    user: Option<&'u AuthUser>,
    edge: Option<&RequestEdge>,
) -> Result<&'u AuthUser, Status> {
    let Some(user) = user else {
        return Err(match edge {
            Some(edge) => status_of(&edge.refusal(RejectionKind::MissingToken)),
            None => Status::unauthenticated(RejectionKind::MissingToken.description()),
        });
    };
    match rule.judge(user, None) {
        Ok(()) => Ok(user),
        Err(refusal) => Err(match edge {
            Some(edge) => status_of(&edge.guard_refusal(refusal)),
            None => status_without_edge(refusal),
        }),
    }
}

/// A guard's refusal as a bare status (no layer in front to give challenges).
fn status_without_edge(refusal: Refusal) -> Status {
    let (kind, error, scope, step_up) = refusal.into_parts();
    let message = match (scope, step_up) {
        (Some(scope), _) => format!("{}: {scope}", kind.description()),
        (None, Some(_)) => kind.description().to_owned(),
        (None, None) => format!("{}: {error}", kind.description()),
    };
    Status::new(super::layer::code_of(kind), message)
}

/// Checks inside a method, on the [`tonic::Request`](::tonic::Request) the
/// [`AuthLayer`](super::AuthLayer) verified: the same rules as the guards, answered with
/// the same statuses.
///
/// ```
/// use jwks_auth::tonic::RequestExt;
/// async fn delete(request: tonic::Request<()>) -> Result<tonic::Response<()>, tonic::Status> {
///     let user = request.require_scope("notes:delete")?;
///     # let _ = user;
///     Ok(tonic::Response::new(()))
/// }
/// ```
pub trait RequestExt {
    /// The verified user; `UNAUTHENTICATED` when there is none (a public method called
    /// without a token, or no layer).
    ///
    /// ```
    /// use jwks_auth::{tonic::RequestExt, AuthUser};
    /// let mut request = tonic::Request::new(());
    /// assert_eq!(request.auth_user().unwrap_err().code(), tonic::Code::Unauthenticated);
    /// request.extensions_mut().insert(AuthUser::new("user_1"));
    /// assert_eq!(request.auth_user().unwrap().id, "user_1");
    /// ```
    #[allow(clippy::result_large_err)] // tonic's own methods return `Status` errors
    fn auth_user(&self) -> Result<&AuthUser, Status>;

    /// The verified user if there is one: `None` on a public method called without a token.
    /// (A token that was sent and failed never reaches the method.)
    fn optional_auth_user(&self) -> Option<&AuthUser>;

    /// The verified user, if their token grants `scope`; else `PERMISSION_DENIED`.
    #[allow(clippy::result_large_err)]
    fn require_scope(&self, scope: &str) -> Result<&AuthUser, Status> {
        self.require_scopes([scope])
    }

    /// The verified user, if their token grants every one of `scopes`.
    #[allow(clippy::result_large_err)]
    fn require_scopes<'s>(
        &self,
        scopes: impl IntoIterator<Item = &'s str>,
    ) -> Result<&AuthUser, Status>;

    /// The verified user, if theirs is a user's token, not a machine token.
    #[allow(clippy::result_large_err)]
    fn require_user_token(&self) -> Result<&AuthUser, Status>;

    /// The verified user, if their authentication meets a [step-up](crate::step_up) `rule`;
    /// else `UNAUTHENTICATED` (`insufficient user authentication`, with the RFC 9470
    /// challenge in `www-authenticate` metadata) or, for Clerk reverification,
    /// `PERMISSION_DENIED`.
    #[allow(clippy::result_large_err)]
    fn require_step_up(&self, rule: &StepUp) -> Result<&AuthUser, Status>;
}

impl<T> RequestExt for ::tonic::Request<T> {
    fn auth_user(&self) -> Result<&AuthUser, Status> {
        self.extensions()
            .get::<AuthUser>()
            .ok_or_else(|| Status::unauthenticated(RejectionKind::MissingToken.description()))
    }

    fn optional_auth_user(&self) -> Option<&AuthUser> {
        self.extensions().get::<AuthUser>()
    }

    fn require_scopes<'s>(
        &self,
        scopes: impl IntoIterator<Item = &'s str>,
    ) -> Result<&AuthUser, Status> {
        let rule = Rule::Scopes(scopes.into_iter().map(str::to_owned).collect());
        check(self, &rule)
    }

    fn require_user_token(&self) -> Result<&AuthUser, Status> {
        check(self, &Rule::UserToken)
    }

    fn require_step_up(&self, rule: &StepUp) -> Result<&AuthUser, Status> {
        check(self, &Rule::StepUp(rule.clone()))
    }
}

#[allow(clippy::result_large_err)]
fn check<'r, T>(request: &'r ::tonic::Request<T>, rule: &Rule) -> Result<&'r AuthUser, Status> {
    let extensions = request.extensions();
    judge(rule, extensions.get(), extensions.get())
}

/// The user the [`AuthLayer`](super::AuthLayer) verified for this call.
#[deprecated(
    since = "0.2.0",
    note = "use `request.auth_user()` (trait `jwks_auth::tonic::RequestExt`)"
)]
#[allow(clippy::result_large_err)]
pub fn auth_user<T>(request: &::tonic::Request<T>) -> Result<&AuthUser, Status> {
    request.auth_user()
}
