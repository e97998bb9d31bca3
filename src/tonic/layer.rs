//! [`GrpcAuthLayer`] and the per-method helpers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tonic::metadata::MetadataValue;
use ::tonic::{Code, Status};
use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, Request, Response};
use tower::{Layer, Service};

use crate::rejection::{self, PublicRoutes, RejectionKind, DEFAULT_RETRY_AFTER};
use crate::token_source::{self, RequestError, RequestHeaders};
use crate::{AuthError, AuthUser, TokenKind, TokenSource, Verifier};

/// The metadata of a gRPC request, as far as finding a token goes: `authorization` only.
struct Metadata<'a>(&'a HeaderMap);

impl RequestHeaders for Metadata<'_> {
    fn authorization(&self) -> impl Iterator<Item = &[u8]> {
        self.0
            .get_all(AUTHORIZATION)
            .iter()
            .map(|value| value.as_bytes())
    }

    fn cookies(&self) -> impl Iterator<Item = &str> {
        // Never read: the layer asks for the bearer source only.
        self.0
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
    }
}

/// The gRPC code of a refusal.
fn code_of(kind: RejectionKind) -> Code {
    match kind {
        RejectionKind::MalformedRequest => Code::InvalidArgument,
        RejectionKind::InsufficientScope => Code::PermissionDenied,
        RejectionKind::KeysUnavailable => Code::Unavailable,
        RejectionKind::Misconfigured => Code::Internal,
        _ => Code::Unauthenticated,
    }
}

/// The status of a refusal: the code, a message naming the failing check (server-side
/// failures only say what failed), and the retry pushback for `UNAVAILABLE`.
fn status_of(kind: RejectionKind, error: &AuthError, retry_after: Duration) -> Status {
    let message = match kind {
        // The detail of a server-side failure (an address, a reason) stays in the logs.
        RejectionKind::KeysUnavailable
        | RejectionKind::Misconfigured
        | RejectionKind::MissingToken
        | RejectionKind::UnsupportedScheme => kind.description().to_owned(),
        // Which part of the header is wrong (several values, not exactly one token).
        RejectionKind::MalformedRequest => match error.detail() {
            Some(detail) => format!("{}: {detail}", kind.description()),
            None => kind.description().to_owned(),
        },
        // Which check the token failed (`token expired`, `invalid signature`, ...).
        _ => format!("{}: {error}", kind.description()),
    };
    let mut status = Status::new(code_of(kind), message);
    if let Some(secs) = rejection::retry_after_secs(kind, retry_after) {
        let millis = secs.saturating_mul(1000);
        if let Ok(value) = MetadataValue::try_from(millis.to_string()) {
            status
                .metadata_mut()
                .insert("grpc-retry-pushback-ms", value);
        }
    }
    status
}

fn forbidden(what: &str, scope: Option<&str>) -> Status {
    let message = match scope {
        Some(scope) => format!("{what}: {scope}"),
        None => what.to_owned(),
    };
    Status::permission_denied(message)
}

/// The user the [`GrpcAuthLayer`] verified for this call; `UNAUTHENTICATED` when there is
/// none (a public method called without a token, or no layer).
///
/// ```
/// use jwks_auth::{tonic::auth_user, AuthUser};
/// let mut request = tonic::Request::new(());
/// assert_eq!(auth_user(&request).unwrap_err().code(), tonic::Code::Unauthenticated);
/// request.extensions_mut().insert(AuthUser::new("user_1"));
/// assert_eq!(auth_user(&request).unwrap().id, "user_1");
/// ```
#[allow(clippy::result_large_err)] // tonic's own methods return `Status` errors
pub fn auth_user<T>(request: &::tonic::Request<T>) -> Result<&AuthUser, Status> {
    request
        .extensions()
        .get::<AuthUser>()
        .ok_or_else(|| Status::unauthenticated("no bearer token in the request"))
}

/// The verified user, if their token grants `scope` (in `scope` or a permissions claim);
/// else `PERMISSION_DENIED` (`UNAUTHENTICATED` without a user).
///
/// ```
/// use jwks_auth::tonic::require_scope;
/// async fn delete(request: tonic::Request<()>) -> Result<tonic::Response<()>, tonic::Status> {
///     let user = require_scope(&request, "notes:delete")?;
///     # let _ = user;
///     Ok(tonic::Response::new(()))
/// }
/// ```
#[allow(clippy::result_large_err)] // tonic's own methods return `Status` errors
pub fn require_scope<'r, T>(
    request: &'r ::tonic::Request<T>,
    scope: &str,
) -> Result<&'r AuthUser, Status> {
    require_scopes(request, [scope])
}

/// The verified user, if their token grants every one of `scopes`; else `PERMISSION_DENIED`.
#[allow(clippy::result_large_err)] // tonic's own methods return `Status` errors
pub fn require_scopes<'r, 's, T>(
    request: &'r ::tonic::Request<T>,
    scopes: impl IntoIterator<Item = &'s str>,
) -> Result<&'r AuthUser, Status> {
    let user = auth_user(request)?;
    let scopes: Vec<&str> = scopes.into_iter().collect();
    if scopes.iter().all(|scope| user.has_scope(scope)) {
        Ok(user)
    } else {
        tracing::debug!(user = %user.id, rule = "missing scope", "guard refused the call");
        Err(forbidden("insufficient scope", Some(&scopes.join(" "))))
    }
}

/// The verified user, if theirs is a user's token, not a machine token
/// ([`TokenKind::Machine`]); else `PERMISSION_DENIED`.
#[allow(clippy::result_large_err)] // tonic's own methods return `Status` errors
pub fn require_user_token<T>(request: &::tonic::Request<T>) -> Result<&AuthUser, Status> {
    let user = auth_user(request)?;
    match user.kind {
        TokenKind::User => Ok(user),
        _ => Err(forbidden("machine token on a user method", None)),
    }
}

/// Authenticates every gRPC call that reaches the wrapped service (a tonic `Router` through
/// `Server::builder().layer(..)`, or one service), except public methods and services, and
/// puts the [`AuthUser`] into the request extensions. Refusals are gRPC statuses (see the
/// [module docs](crate::tonic)).
///
/// Paths are the gRPC paths `/package.Service/Method`, compared exactly.
#[derive(Clone)]
#[must_use]
pub struct GrpcAuthLayer {
    shared: Arc<Shared>,
}

#[derive(Clone)]
struct Shared {
    verifier: Verifier,
    retry_after: Duration,
    public: PublicRoutes,
    /// (path or `/package.Service/` prefix, scopes every call there needs).
    scopes: Vec<(String, Vec<String>)>,
}

/// `/package.Service/`, the prefix of a service's method paths.
fn service_prefix(service: &str) -> String {
    format!("/{}/", service.trim_matches('/'))
}

impl GrpcAuthLayer {
    /// A layer verifying with `verifier`, every method protected, no scope rules.
    pub fn new(verifier: Verifier) -> Self {
        GrpcAuthLayer {
            shared: Arc::new(Shared {
                verifier,
                retry_after: DEFAULT_RETRY_AFTER,
                public: PublicRoutes::default(),
                scopes: Vec::new(),
            }),
        }
    }

    /// A method called without a token, by path: `/grpc.health.v1.Health/Check`. A token
    /// sent anyway is still verified (and refused if invalid). Default: none.
    ///
    /// An empty path is a configuration error: every call is then refused with `INTERNAL`
    /// (and the reason logged) rather than anything opened.
    pub fn public_method(mut self, path: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.shared).public.add_path(path.into());
        self
    }

    /// Every method of a service called without a token, by its full name:
    /// `grpc.health.v1.Health`. Default: none.
    ///
    /// An empty name is a configuration error, as for [`public_method`](Self::public_method).
    pub fn public_service(mut self, service: impl AsRef<str>) -> Self {
        let service = service.as_ref();
        let prefix = if service.trim_matches('/').is_empty() {
            String::new()
        } else {
            service_prefix(service)
        };
        Arc::make_mut(&mut self.shared).public.add_prefix(prefix);
        self
    }

    /// Calls of the method at `path` (`/notes.Notes/Delete`) need `scope`
    /// (`PERMISSION_DENIED` otherwise). Repeat for several scopes. Default: none.
    pub fn method_scope(mut self, path: impl Into<String>, scope: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.shared)
            .scopes
            .push((path.into(), vec![scope.into()]));
        self
    }

    /// Calls of every method of `service` (`notes.Notes`) need `scope`. Default: none.
    pub fn service_scope(mut self, service: impl AsRef<str>, scope: impl Into<String>) -> Self {
        let prefix = service_prefix(service.as_ref());
        Arc::make_mut(&mut self.shared)
            .scopes
            .push((prefix, vec![scope.into()]));
        self
    }

    /// The pushback sent with `UNAVAILABLE` when the provider's keys are unavailable
    /// (`grpc-retry-pushback-ms`, whole seconds, at least 1). Default: 30 seconds.
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        Arc::make_mut(&mut self.shared).retry_after = retry_after;
        self
    }
}

impl Shared {
    /// The scopes a call to `path` needs, space-separated for the message.
    fn required_scopes(&self, path: &str) -> Vec<&str> {
        self.scopes
            .iter()
            .filter(|(key, _)| key == path || (key.ends_with('/') && path.starts_with(key)))
            .flat_map(|(_, scopes)| scopes.iter().map(String::as_str))
            .collect()
    }

    /// The verified user of a call: `Ok(None)` for a public method without a token.
    async fn authenticate(
        &self,
        headers: &HeaderMap,
        path: &str,
    ) -> Result<Option<AuthUser>, Status> {
        let refuse = |kind, error: &AuthError| status_of(kind, error, self.retry_after);
        let public = self
            .public
            .is_public(path)
            .map_err(|empty| refuse(RejectionKind::Misconfigured, &empty.error()))?;
        let metadata = Metadata(headers);
        let token = match token_source::find_token(&metadata, &[TokenSource::Bearer]) {
            Ok(Some(token)) => token,
            Ok(None) if public => return Ok(None),
            Ok(None) => {
                return Err(refuse(
                    RejectionKind::MissingToken,
                    &AuthError::missing_token(),
                ))
            }
            Err((error, detail)) => {
                tracing::debug!(error = %detail, "authorization metadata rejected");
                let kind = match error {
                    RequestError::Malformed => RejectionKind::MalformedRequest,
                    RequestError::UnsupportedScheme => RejectionKind::UnsupportedScheme,
                };
                return Err(refuse(kind, &detail));
            }
        };
        let user = match self.verifier.verify(token).await {
            Ok(user) => user,
            Err(error) => return Err(refuse(RejectionKind::of_verify_error(&error), &error)),
        };
        let scopes = self.required_scopes(path);
        if !scopes.iter().all(|scope| user.has_scope(scope)) {
            tracing::debug!(user = %user.id, rule = "missing scope", "guard refused the call");
            return Err(forbidden("insufficient scope", Some(&scopes.join(" "))));
        }
        Ok(Some(user))
    }
}

impl fmt::Debug for GrpcAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcAuthLayer")
            .field("provider", &self.shared.verifier.provider_name())
            .field("public", &self.shared.public)
            .field("scopes", &self.shared.scopes)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for GrpcAuthLayer {
    type Service = GrpcAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcAuthService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service made by [`GrpcAuthLayer`].
#[derive(Clone)]
pub struct GrpcAuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: fmt::Debug> fmt::Debug for GrpcAuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcAuthService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S: ::tonic::server::NamedService> ::tonic::server::NamedService for GrpcAuthService<S> {
    const NAME: &'static str = S::NAME;
}

/// The response future of [`GrpcAuthService`].
pub struct ResponseFuture<T, E> {
    inner: Pin<Box<dyn Future<Output = Result<T, E>> + Send>>,
}

impl<T, E> Future for ResponseFuture<T, E> {
    type Output = Result<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T, E> fmt::Debug for ResponseFuture<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcAuthService<S>
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

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The ready service goes into the future; its fresh clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        ResponseFuture {
            inner: Box::pin(async move {
                let path = request.uri().path();
                match shared.authenticate(request.headers(), path).await {
                    Ok(Some(user)) => {
                        request.extensions_mut().insert(user);
                    }
                    Ok(None) => {}
                    Err(status) => return Ok(status.into_http()),
                }
                inner.call(request).await
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Provider;

    fn layer() -> GrpcAuthLayer {
        let verifier = Verifier::builder(Provider::shared_secret([7u8; 32].as_slice()).unwrap())
            .any_issuer()
            .build()
            .unwrap();
        GrpcAuthLayer::new(verifier)
    }

    #[test]
    fn scopes_apply_to_the_method_and_to_every_method_of_the_service() {
        let layer = layer()
            .method_scope("/notes.Notes/Delete", "delete")
            .service_scope("notes.Notes", "read");
        let shared = &layer.shared;
        assert_eq!(shared.required_scopes("/notes.Notes/List"), ["read"]);
        assert_eq!(
            shared.required_scopes("/notes.Notes/Delete"),
            ["delete", "read"]
        );
        assert!(shared.required_scopes("/notes.NotesAdmin/List").is_empty());
        assert!(shared.required_scopes("/other.Svc/Delete").is_empty());
    }

    #[test]
    fn each_refusal_has_its_grpc_code() {
        for (kind, code) in [
            (RejectionKind::MissingToken, Code::Unauthenticated),
            (RejectionKind::UnsupportedScheme, Code::Unauthenticated),
            (RejectionKind::InvalidToken, Code::Unauthenticated),
            (RejectionKind::MalformedRequest, Code::InvalidArgument),
            (RejectionKind::InsufficientScope, Code::PermissionDenied),
            (RejectionKind::KeysUnavailable, Code::Unavailable),
            (RejectionKind::Misconfigured, Code::Internal),
        ] {
            assert_eq!(code_of(kind), code, "{kind:?}");
        }
    }

    #[test]
    fn server_side_failures_keep_their_detail_out_of_the_message() {
        let error = AuthError::keys_unavailable("down at https://idp.internal", None);
        let status = status_of(
            RejectionKind::KeysUnavailable,
            &error,
            Duration::from_secs(7),
        );
        assert_eq!(status.message(), "signing keys unavailable");
        assert_eq!(
            status.metadata().get("grpc-retry-pushback-ms").unwrap(),
            "7000"
        );
    }
}
