//! [`AuthLayer`]: authentication of every call, per-method public and scope rules.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tonic::metadata::MetadataValue;
use ::tonic::{Code, Status};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Request, Response};
use tower::{Layer, Service};

use crate::edge::{EdgeRequest, Headers, Rejection, RequestEdge};
use crate::rejection::RejectionKind;
use crate::{AuthUser, ProtectedResource, Verifier};

/// A call's metadata as the edge reads it: every header but `cookie`. A cookie never
/// authenticates a gRPC call, whatever token sources the verifier lists.
struct Metadata<'a>(&'a HeaderMap);

impl Headers for Metadata<'_> {
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's {
        let headers = (name != "cookie").then_some(self.0);
        headers
            .into_iter()
            .flat_map(move |headers| headers.get_all(name).iter().map(|value| value.as_bytes()))
    }
}

/// The gRPC code of a refusal.
pub(super) fn code_of(kind: RejectionKind) -> Code {
    match kind {
        RejectionKind::MalformedRequest => Code::InvalidArgument,
        RejectionKind::InsufficientScope | RejectionKind::ReverificationRequired => {
            Code::PermissionDenied
        }
        RejectionKind::KeysUnavailable => Code::Unavailable,
        RejectionKind::Misconfigured => Code::Internal,
        _ => Code::Unauthenticated,
    }
}

/// The status of a refusal: the code, a message naming the failing check (server-side
/// failures only say what failed), the retry pushback for `UNAVAILABLE`, and the HTTP
/// answer's `www-authenticate` challenges and `dpop-nonce` as metadata.
pub(super) fn status_of(rejection: &Rejection) -> Status {
    let kind = rejection.kind();
    let error = rejection.auth_error();
    let message = match kind {
        // The detail of a server-side failure (an address, a reason) stays in the logs.
        RejectionKind::KeysUnavailable
        | RejectionKind::Misconfigured
        | RejectionKind::MissingToken
        | RejectionKind::UnsupportedScheme
        | RejectionKind::InsufficientUserAuthentication
        | RejectionKind::ReverificationRequired => kind.description().to_owned(),
        // Which part of the header is wrong (several values, not exactly one token).
        RejectionKind::MalformedRequest => match error.detail() {
            Some(detail) => format!("{}: {detail}", kind.description()),
            None => kind.description().to_owned(),
        },
        // Which scopes a scope rule wanted.
        RejectionKind::InsufficientScope if rejection.required_scope().is_some() => {
            let scope = rejection.required_scope().unwrap_or_default();
            format!("{}: {scope}", kind.description())
        }
        // Which check the token failed (`token expired`, `invalid signature`, ...).
        _ => format!("{}: {error}", kind.description()),
    };
    let mut status = Status::new(code_of(kind), message);
    let metadata = status.metadata_mut();
    if let Some(secs) = rejection.retry_after_secs() {
        let millis = secs.saturating_mul(1000);
        if let Ok(value) = MetadataValue::try_from(millis.to_string()) {
            metadata.insert("grpc-retry-pushback-ms", value);
        }
    }
    for (name, value) in rejection.headers() {
        // gRPC's own pushback stands for `Retry-After`.
        if name == "retry-after" {
            continue;
        }
        if let Ok(value) = MetadataValue::try_from(value) {
            metadata.append(name, value);
        }
    }
    status
}

/// Authenticates every gRPC call that reaches the wrapped service (a tonic `Router` through
/// `Server::builder().layer(..)`, or one service), except public methods and services, and
/// puts the [`AuthUser`] into the request extensions. Refusals are gRPC statuses (see the
/// [module docs](crate::tonic)).
///
/// Paths are the gRPC paths `/package.Service/Method`, compared exactly.
#[derive(Clone)]
#[must_use]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

#[derive(Clone)]
struct Shared {
    edge: RequestEdge,
    /// (path or `/package.Service/` prefix, scopes every call there needs).
    scopes: Vec<(String, Vec<String>)>,
}

/// `/package.Service/`, the prefix of a service's method paths.
fn service_prefix(service: &str) -> String {
    format!("/{}/", service.trim_matches('/'))
}

impl AuthLayer {
    /// A layer verifying with `verifier`, every method protected, no scope rules.
    pub fn new(verifier: Verifier) -> Self {
        AuthLayer {
            shared: Arc::new(Shared {
                edge: RequestEdge::new(verifier),
                scopes: Vec::new(),
            }),
        }
    }

    /// Changes the edge (a builder call on a cloned layer copies the settings first).
    fn edge(mut self, change: impl FnOnce(RequestEdge) -> RequestEdge) -> Self {
        let shared = Arc::make_mut(&mut self.shared);
        shared.edge = change(shared.edge.clone());
        self
    }

    /// A method called without a token, by path: `/grpc.health.v1.Health/Check`. A token
    /// sent anyway is still verified (and refused if invalid). Default: none.
    ///
    /// An empty path is a configuration error: every call is then refused with `INTERNAL`
    /// (and the reason logged) rather than anything opened.
    pub fn public_method(self, path: impl Into<String>) -> Self {
        self.edge(|edge| edge.public_path(path))
    }

    /// Every method of a service called without a token, by its full name:
    /// `grpc.health.v1.Health`. Default: none.
    ///
    /// An empty name is a configuration error, as for [`public_method`](Self::public_method).
    pub fn public_service(self, service: impl AsRef<str>) -> Self {
        let service = service.as_ref();
        let prefix = if service.trim_matches('/').is_empty() {
            String::new()
        } else {
            service_prefix(service)
        };
        self.edge(|edge| edge.public_prefix(prefix))
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
    pub fn retry_after(self, retry_after: Duration) -> Self {
        self.edge(|edge| edge.retry_after(retry_after))
    }

    /// The origin clients call this server at (`https://api.example.com`), for the URL a
    /// DPoP proof's `htu` must match: the origin followed by the gRPC path
    /// (`https://api.example.com/notes.Notes/List`). Default: none; the URL is then the
    /// call's own `:scheme` and `:authority` (HTTP/2) with its path, which is what a client
    /// calling the server directly signs. Set it behind a proxy or load balancer that
    /// terminates TLS or rewrites the authority. An origin that is not an absolute `http(s)`
    /// URL refuses every DPoP call with `INTERNAL`.
    pub fn external_origin(self, origin: impl Into<String>) -> Self {
        self.edge(|edge| edge.external_origin(origin))
    }

    /// Build the DPoP request URL from `Forwarded` (RFC 7239) or `X-Forwarded-Proto` +
    /// `X-Forwarded-Host` metadata when no [`external_origin`](Self::external_origin) is
    /// set, using the value the nearest proxy added (the last one). Only behind a proxy that
    /// sets these itself: a client can send them too. A malformed value is refused with
    /// `INVALID_ARGUMENT`. Default: off.
    pub fn trust_forwarded_headers(self, trust: bool) -> Self {
        self.edge(|edge| edge.trust_forwarded_headers(trust))
    }

    /// Serves as `resource` (RFC 9728): every refusal's `www-authenticate` metadata carries
    /// `resource_metadata="<metadata url>"`, which an MCP or OAuth client follows to find
    /// the authorization server. Build the verifier with
    /// [`VerifierBuilder::protected_resource`](crate::VerifierBuilder::protected_resource)
    /// so that tokens for other resources are refused. Default: none.
    pub fn protected_resource(self, resource: &ProtectedResource) -> Self {
        self.edge(|edge| edge.protected_resource(resource))
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
        request: &EdgeRequest<'_, Metadata<'_>>,
    ) -> Result<Option<AuthUser>, Rejection> {
        let path = request.path();
        // A public method still verifies a token that is sent.
        let scopes = self.required_scopes(path);
        let user = if self.edge.is_public(path)? {
            self.edge.authenticate_optional(request).await?
        } else {
            let user = self.edge.authenticate(request).await;
            // A call without a token is told the scopes the method needs (RFC 6750 §3).
            Some(user.map_err(|rejection| match rejection.kind() {
                RejectionKind::MissingToken if !scopes.is_empty() => {
                    rejection.with_scope(scopes.join(" "))
                }
                _ => rejection,
            })?)
        };
        let Some(user) = user else {
            return Ok(None);
        };
        if !scopes.iter().all(|scope| user.has_scope(scope)) {
            tracing::debug!(user = %user.id, rule = "missing scope", "guard refused the call");
            return Err(self.edge.insufficient_scope(Some(&scopes.join(" "))));
        }
        Ok(Some(user))
    }
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("edge", &self.shared.edge)
            .field("scopes", &self.shared.scopes)
            .finish()
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: fmt::Debug> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S: ::tonic::server::NamedService> ::tonic::server::NamedService for AuthService<S> {
    const NAME: &'static str = S::NAME;
}

/// The response future of [`AuthService`].
pub struct ResponseFuture<T, E> {
    inner: Pin<Box<dyn Future<Output = Result<T, E>> + Send>>,
}

impl<T, E> ResponseFuture<T, E> {
    pub(super) fn new(future: impl Future<Output = Result<T, E>> + Send + 'static) -> Self {
        ResponseFuture {
            inner: Box::pin(future),
        }
    }
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
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
                let metadata = Metadata(request.headers());
                let verified = shared
                    .authenticate(&edge_request(&request, &metadata))
                    .await;
                match verified {
                    Ok(Some(user)) => {
                        request.extensions_mut().insert(user);
                    }
                    Ok(None) => {}
                    Err(rejection) => return Ok(status_of(&rejection).into_http()),
                }
                // Guards behind the layer answer with its challenges.
                request.extensions_mut().insert(shared.edge.clone());
                let mut response = inner.call(request).await?;
                // RFC 9449 §8: with server nonces, every answer carries the current one.
                if let Some(nonce) = shared.edge.dpop_nonce() {
                    if let Ok(value) = HeaderValue::try_from(nonce) {
                        let name = HeaderName::from_static("dpop-nonce");
                        response.headers_mut().insert(name, value);
                    }
                }
                Ok(response)
            }),
        }
    }
}

/// A call as the edge sees it: `POST` (every gRPC call), the path `/package.Service/Method`,
/// its `metadata`, and the `:scheme` and `:authority` of an HTTP/2 request.
fn edge_request<'r, B>(
    request: &'r Request<B>,
    metadata: &'r Metadata<'r>,
) -> EdgeRequest<'r, Metadata<'r>> {
    let uri = request.uri();
    let target = uri
        .path_and_query()
        .map_or(uri.path(), |target| target.as_str());
    let edge_request = EdgeRequest::new(request.method().as_str(), target, metadata);
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => edge_request.origin(scheme, authority.as_str()),
        _ => edge_request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Provider;

    fn layer() -> AuthLayer {
        let verifier = Verifier::builder(Provider::shared_secret([7u8; 32].as_slice()).unwrap())
            .any_issuer()
            .build()
            .unwrap();
        AuthLayer::new(verifier)
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
        let layer = layer().retry_after(Duration::from_secs(7));
        let error = crate::AuthError::keys_unavailable("down at https://idp.internal", None);
        let rejection = layer
            .shared
            .edge
            .refusal_for(RejectionKind::KeysUnavailable, error);
        let status = status_of(&rejection);
        assert_eq!(status.message(), "signing keys unavailable");
        assert_eq!(
            status.metadata().get("grpc-retry-pushback-ms").unwrap(),
            "7000"
        );
        assert!(status.metadata().get("retry-after").is_none());
    }

    #[test]
    fn cookies_are_not_metadata_the_edge_reads() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", HeaderValue::from_static("__session=a.b.c"));
        headers.insert("authorization", HeaderValue::from_static("Bearer a.b.c"));
        let metadata = Metadata(&headers);
        assert_eq!(metadata.values("cookie").count(), 0);
        assert_eq!(metadata.values("authorization").count(), 1);
    }
}
