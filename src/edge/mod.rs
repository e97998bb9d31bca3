//! The request edge: one framework-neutral step from an HTTP request (method, target, headers,
//! optionally the peer certificate) to a verified [`AuthUser`] or one [`Rejection`] that
//! carries everything a response needs. Framework integrations are thin adapters over it: they
//! turn their request into an [`EdgeRequest`] and a [`Rejection`] into their response.
//!
//! What it does, in order:
//!
//! 1. **Public paths** ([`RequestEdge::guard`] only): a path served without a token is let
//!    through without looking at the credentials.
//! 2. **Finding the credential**: `Authorization: DPoP <token>` with its `DPoP` proof header
//!    when the verifier takes proofs; otherwise the verifier's token sources in order
//!    (`Authorization: Bearer`, a cookie such as Clerk's `__session`). Several
//!    `Authorization` headers, an empty one, or one with two tokens is 400 `invalid_request`;
//!    another scheme is 401 without an error code (RFC 6750 §3.1).
//! 3. **Verifying it**: [`Verifier::verify`] (the verified-token cache, revocation),
//!    [`Verifier::verify_dpop`] with the URL the client used (see
//!    [`RequestEdge::external_origin`]) for the proof's `htu`, or
//!    [`Verifier::verify_with_certificate`] when the adapter passes the TLS peer certificate.
//! 4. **Answering**: the user, or a [`Rejection`] with the status, the `Bearer` and `DPoP`
//!    challenges (with `resource_metadata` when a [`ProtectedResource`] is set), the JSON
//!    body, `Retry-After` and `DPoP-Nonce`.
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use jwks_auth::edge::{EdgeRequest, RequestEdge};
//! use jwks_auth::testing::MockProvider;
//! use jwks_auth::Verifier;
//!
//! let mock = MockProvider::auth0().await;
//! let edge = RequestEdge::new(Verifier::builder(mock.provider()).build().unwrap())
//!     .public_path("/health");
//! let token = mock.token().sub("user_1").sign();
//! let authorization = format!("Bearer {token}");
//! let headers = [("authorization", authorization.as_str())];
//! let request = EdgeRequest::new("GET", "/notes?page=2", &headers[..]);
//! let user = edge.guard(&request).await.unwrap().expect("a protected path");
//! assert_eq!(user.id, "user_1");
//!
//! let no_headers: [(&str, &str); 0] = [];
//! let health = EdgeRequest::new("GET", "/health", &no_headers[..]);
//! assert!(edge.guard(&health).await.unwrap().is_none());
//! let refused = edge
//!     .guard(&EdgeRequest::new("GET", "/notes", &no_headers[..]))
//!     .await
//!     .unwrap_err();
//! assert_eq!((refused.status(), refused.body_json()["error"].as_str()), (401, Some("missing_token")));
//! # }
//! # #[cfg(not(feature = "testing"))]
//! # fn main() {}
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::dpop::{DpopMode, DpopRequest};
use crate::rejection::{DpopChallenge, PublicRoutes, DEFAULT_RETRY_AFTER};
use crate::token_source::{self, RequestHeaders};
use crate::verified_cache::Digest;
use std::borrow::Cow;

use crate::{
    AuthError, AuthUser, MultiVerifier, ProtectedResource, TenantVerifier, TokenSource, Verifier,
};

mod mcp;
mod origin;
mod rejection;

pub use crate::rejection::RejectionKind;
pub use mcp::McpOperations;
pub use rejection::Rejection;

/// A request's headers, as the edge reads them. Implemented for slices of `(name, value)`
/// pairs (what a Python or other foreign adapter has) and, with the framework features, for
/// the frameworks' header maps.
pub trait Headers {
    /// Every value of the header `name` (given in lowercase; compared case-insensitively),
    /// in the order received, as sent.
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's;
}

impl<N: AsRef<str>, V: AsRef<[u8]>> Headers for [(N, V)] {
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's {
        self.iter()
            .filter(move |(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }
}

/// The `http` crate's header map (axum's and tonic's requests).
#[cfg(any(feature = "axum", feature = "tonic"))]
impl Headers for HttpHeaderMap {
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's {
        // The names every request is searched for go by their constants: a `&str` key is
        // parsed against the standard-header table on each lookup (the verified-cache hit
        // reads `authorization` on every request).
        let all = match name {
            "authorization" => self.get_all(http_header::AUTHORIZATION),
            "cookie" => self.get_all(http_header::COOKIE),
            other => self.get_all(other),
        };
        all.iter().map(|value| value.as_bytes())
    }
}

#[cfg(feature = "axum")]
use ::axum::http::{header as http_header, HeaderMap as HttpHeaderMap};
#[cfg(all(feature = "tonic", not(feature = "axum")))]
use ::http::{header as http_header, HeaderMap as HttpHeaderMap};

/// What the token search needs from any [`Headers`].
pub(crate) struct TokenHeaders<'h, H: ?Sized>(pub(crate) &'h H);

impl<H: Headers + ?Sized> RequestHeaders for TokenHeaders<'_, H> {
    fn authorization(&self) -> impl Iterator<Item = &[u8]> {
        self.0.values("authorization")
    }

    fn cookies(&self) -> impl Iterator<Item = &str> {
        self.0.values("cookie").filter_map(origin::visible_ascii)
    }
}

/// A request as the edge sees it.
#[derive(Debug, Clone, Copy)]
pub struct EdgeRequest<'a, H: ?Sized> {
    method: &'a str,
    target: &'a str,
    origin: Option<(&'a str, &'a str)>,
    headers: &'a H,
    certificate: Option<&'a [u8]>,
}

impl<'a, H: Headers + ?Sized> EdgeRequest<'a, H> {
    /// A request for `target`, the path and query as the client sent them (`/notes?page=2`).
    pub fn new(method: &'a str, target: &'a str, headers: &'a H) -> Self {
        EdgeRequest {
            method,
            target,
            origin: None,
            headers,
            certificate: None,
        }
    }

    /// The scheme and authority the request names itself (an absolute-form request line,
    /// HTTP/2 `:scheme` and `:authority`, an ASGI scope's `scheme` with its `Host`). Used for
    /// the DPoP `htu` when no [external origin](RequestEdge::external_origin) is set;
    /// without it the `Host` header is used with `http`.
    #[must_use]
    pub fn origin(mut self, scheme: &'a str, authority: &'a str) -> Self {
        self.origin = Some((scheme, authority));
        self
    }

    /// The TLS client certificate (DER) of the connection, for certificate-bound tokens
    /// (RFC 8705 `cnf.x5t#S256`).
    #[must_use]
    pub fn peer_certificate(mut self, der: &'a [u8]) -> Self {
        self.certificate = Some(der);
        self
    }

    /// The path, without the query.
    pub fn path(&self) -> &'a str {
        self.target.split(['?', '#']).next().unwrap_or("")
    }
}

/// The settings a [`Rejection`] is built with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) realm: String,
    pub(crate) retry_after: Duration,
    pub(crate) resource_metadata: Option<String>,
}

/// What verifies: one verifier, or several routed by the token's `iss`.
#[derive(Debug, Clone)]
enum Verifiers {
    One(Verifier),
    Many {
        multi: MultiVerifier,
        /// Every verifier's token sources, in issuer order, each once.
        sources: Vec<TokenSource>,
        /// The first verifier (by issuer) that takes DPoP proofs: its challenge is offered.
        dpop: Option<Verifier>,
    },
    /// Verifiers built per trusted issuer on first use.
    Tenants(TenantVerifier),
}

impl Verifiers {
    fn many(multi: MultiVerifier) -> Self {
        let mut issuers: Vec<&str> = multi.issuers().collect();
        issuers.sort_unstable();
        let verifiers: Vec<&Verifier> = issuers
            .iter()
            .filter_map(|issuer| multi.verifier_for(issuer))
            .collect();
        let mut sources = Vec::new();
        for source in verifiers.iter().flat_map(|v| v.token_sources()) {
            if !sources.contains(source) {
                sources.push(source.clone());
            }
        }
        let dpop = verifiers
            .iter()
            .find(|v| v.dpop_checker().is_some())
            .map(|v| (*v).clone());
        Verifiers::Many {
            multi,
            sources,
            dpop,
        }
    }

    fn token_sources(&self) -> &[TokenSource] {
        match self {
            Verifiers::One(verifier) => verifier.token_sources(),
            Verifiers::Many { sources, .. } => sources,
            Verifiers::Tenants(tenants) => tenants.token_sources(),
        }
    }

    /// The verifier of `token`.
    fn route(&self, token: &str) -> Result<Cow<'_, Verifier>, AuthError> {
        match self {
            Verifiers::One(verifier) => Ok(Cow::Borrowed(verifier)),
            Verifiers::Many { multi, .. } => multi.route(token).map(Cow::Borrowed),
            Verifiers::Tenants(tenants) => tenants.route(token).map(Cow::Owned),
        }
    }

    /// The verifier whose DPoP settings the challenge offers.
    fn dpop(&self) -> Option<&Verifier> {
        match self {
            Verifiers::One(verifier) => verifier.dpop_checker().map(|_| verifier),
            Verifiers::Many { dpop, .. } => dpop.as_ref(),
            // Tenants' verifiers are built per token: no DPoP challenge up front.
            Verifiers::Tenants(_) => None,
        }
    }

    fn name(&self) -> &str {
        match self {
            Verifiers::One(verifier) => verifier.provider_name(),
            Verifiers::Many { .. } => "multi",
            Verifiers::Tenants(_) => "tenants",
        }
    }
}

#[derive(Clone)]
struct Shared {
    verifiers: Verifiers,
    public: PublicRoutes,
    settings: Settings,
    origin: origin::Origin,
    /// Per-operation requirements of an MCP server.
    mcp: Option<McpOperations>,
}

/// From a request to a verified user or a [`Rejection`]: the one edge every framework adapter
/// is built on (see the [module docs](self)). Cheap to clone; build one per service.
#[derive(Clone)]
#[must_use]
pub struct RequestEdge {
    shared: Arc<Shared>,
}

impl fmt::Debug for RequestEdge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestEdge")
            .field("provider", &self.shared.verifiers.name())
            .field("public", &self.shared.public)
            .field("settings", &self.shared.settings)
            .field("origin", &self.shared.origin)
            .finish()
    }
}

impl RequestEdge {
    /// An edge verifying with `verifier`: every path protected, realm `api`, `Retry-After`
    /// 30 s, no external origin, forwarded headers not trusted.
    pub fn new(verifier: Verifier) -> Self {
        Self::with(Verifiers::One(verifier))
    }

    /// An edge over several providers: each token is verified by the verifier of its `iss`
    /// (see [`MultiVerifier`]); tokens are looked for in every provider's token sources. A
    /// request without a token, or with an untrusted issuer, is offered the `DPoP` challenge
    /// of the first provider (by issuer) that takes proofs.
    pub fn multi(verifiers: MultiVerifier) -> Self {
        Self::with(Verifiers::many(verifiers))
    }

    /// An edge over a [`TenantVerifier`]: each token is verified by the verifier of its
    /// trusted issuer, built on first use (`Authorization: Bearer` tokens).
    pub fn tenants(tenants: TenantVerifier) -> Self {
        Self::with(Verifiers::Tenants(tenants))
    }

    fn with(verifiers: Verifiers) -> Self {
        RequestEdge {
            shared: Arc::new(Shared {
                verifiers,
                public: PublicRoutes::default(),
                settings: Settings {
                    realm: "api".to_owned(),
                    retry_after: DEFAULT_RETRY_AFTER,
                    resource_metadata: None,
                },
                origin: origin::Origin::default(),
                mcp: None,
            }),
        }
    }

    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.shared)
    }

    /// A path [`guard`](Self::guard) serves without a token (exact match). An empty path
    /// is a configuration error: every guarded request is then refused with 500. Default:
    /// none.
    pub fn public_path(mut self, path: impl Into<String>) -> Self {
        self.shared_mut().public.add_path(path.into());
        self
    }

    /// A prefix [`guard`](Self::guard) serves without a token, on whole segments (`/docs`
    /// opens `/docs/...`, not `/docsearch`). An empty prefix is a configuration error, as
    /// for [`public_path`](Self::public_path). Default: none.
    pub fn public_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.shared_mut().public.add_prefix(prefix.into());
        self
    }

    /// What each MCP operation needs beyond a valid token (scopes, step-up), read from the
    /// `Mcp-Method` and `Mcp-Name` headers: see [`McpOperations`]. Default: none.
    pub fn mcp_operations(mut self, operations: McpOperations) -> Self {
        self.shared_mut().mcp = Some(operations);
        self
    }

    /// Whether per-operation rules are set (a verified-cache fast path must not skip them).
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn has_operation_rules(&self) -> bool {
        self.shared.mcp.is_some()
    }

    /// The MCP operation a request names: `Mcp-Method` and `Mcp-Name`, each at most once
    /// and text; 400 otherwise.
    fn mcp_operation<'r, H: Headers + ?Sized>(
        &self,
        request: &EdgeRequest<'r, H>,
    ) -> Result<(Option<&'r str>, Option<&'r str>), Rejection> {
        let one = |name: &'static str| -> Result<Option<&'r str>, Rejection> {
            let mut values = request.headers.values(name);
            let value = values.next();
            let malformed =
                |what| self.refuse(RejectionKind::MalformedRequest, AuthError::malformed(what));
            if values.next().is_some() {
                return Err(malformed("several MCP operation headers"));
            }
            value
                .map(|bytes| std::str::from_utf8(bytes).map(str::trim))
                .transpose()
                .map_err(|_| malformed("MCP operation header is not text"))
        };
        Ok((one("mcp-method")?, one("mcp-name")?))
    }

    /// The verified `user` against the operation's requirements: 403 naming every scope it
    /// needs, or the step-up refusal.
    fn check_operation<H: Headers + ?Sized>(
        &self,
        request: &EdgeRequest<'_, H>,
        user: &AuthUser,
    ) -> Result<(), Rejection> {
        let Some(operations) = &self.shared.mcp else {
            return Ok(());
        };
        let (method, name) = self.mcp_operation(request)?;
        let required = operations.required(method, name);
        if !required.iter().all(|scope| user.has_scope(scope)) {
            tracing::debug!(user = %user.id, method, "MCP operation refused: missing scope");
            return Err(self.insufficient_scope(Some(&required.join(" "))));
        }
        for rule in operations.step_ups(method, name) {
            self.step_up(user, rule)?;
        }
        Ok(())
    }

    /// The refusal of a request without a credential: `missing_token`, with the scopes its
    /// MCP operation needs in the challenge when they are known.
    pub(crate) fn missing_token<H: Headers + ?Sized>(
        &self,
        request: &EdgeRequest<'_, H>,
    ) -> Rejection {
        let rejection = self
            .refuse(RejectionKind::MissingToken, AuthError::missing_token())
            .or_dpop(self.dpop_challenge(false));
        let Some(operations) = &self.shared.mcp else {
            return rejection;
        };
        let required = match self.mcp_operation(request) {
            Ok((method, name)) => operations.required(method, name),
            Err(_) => return rejection,
        };
        if required.is_empty() {
            rejection
        } else {
            rejection.with_scope(required.join(" "))
        }
    }

    /// The realm of the `Bearer` challenge. Default: `api`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.shared_mut().settings.realm = realm.into();
        self
    }

    /// `Retry-After` of 503 answers (whole seconds, at least 1). Default: 30 seconds.
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.shared_mut().settings.retry_after = retry_after;
        self
    }

    /// Every challenge carries `resource_metadata="<url>"` (RFC 9728 §5.1) and the metadata
    /// paths are public. Default: none.
    pub fn protected_resource(mut self, resource: &ProtectedResource) -> Self {
        let shared = self.shared_mut();
        shared.settings.resource_metadata = Some(resource.metadata_url().to_owned());
        for path in [crate::WELL_KNOWN_PATH, resource.metadata_path()] {
            shared.public.add_path(path.to_owned());
        }
        self
    }

    /// The origin clients reach this service at (`https://api.example.com`, optionally with a
    /// path prefix a proxy strips), for the URL a DPoP proof's `htu` must match. Default:
    /// none (the request's own origin, else `http://` + `Host`). An origin that is not an
    /// absolute `http(s)` URL refuses every DPoP request with 500.
    pub fn external_origin(mut self, origin: impl Into<String>) -> Self {
        self.shared_mut().origin.external = Some(origin.into());
        self
    }

    /// Build the DPoP request URL from `Forwarded` (RFC 7239) or `X-Forwarded-Proto` +
    /// `X-Forwarded-Host` when no external origin is set. Only behind a proxy that sets these
    /// headers: a client can send them too. Default: off.
    ///
    /// The value used is the one the nearest proxy added: the last element of the last
    /// `Forwarded` line, else the last value of `X-Forwarded-Proto` and of
    /// `X-Forwarded-Host` (the last comma-separated value of the last line). A proxy that
    /// appends keeps what the client sent in front of its own value, so earlier values are
    /// never read; the proxy must therefore add or overwrite both the protocol and the host
    /// on every request. `Forwarded`, when present, is the only source; when the nearest
    /// value names no protocol or no host, the request's own origin is used. A malformed
    /// nearest value (a host with userinfo, a path, a bad port, ...; a protocol other than
    /// `http(s)`; a `Forwarded` line that does not parse) is refused with 400
    /// `invalid_request`, as is a malformed or repeated `Host` header.
    pub fn trust_forwarded_headers(mut self, trust: bool) -> Self {
        self.shared_mut().origin.trust_forwarded = trust;
        self
    }

    /// Whether `path` is served without a token.
    ///
    /// # Errors
    /// A 500 [`Rejection`] when an empty public path or prefix is configured.
    pub fn is_public(&self, path: &str) -> Result<bool, Rejection> {
        self.shared.public.is_public(path).map_err(|empty| {
            Rejection::new(
                RejectionKind::Misconfigured,
                empty.error(),
                &self.shared.settings,
            )
        })
    }

    /// What a middleware does: `Ok(None)` on a public path (credentials not read), else the
    /// verified user of [`authenticate`](Self::authenticate).
    ///
    /// # Errors
    /// The [`Rejection`] to answer with.
    pub async fn guard<H: Headers + ?Sized>(
        &self,
        request: &EdgeRequest<'_, H>,
    ) -> Result<Option<AuthUser>, Rejection> {
        if self.is_public(request.path())? {
            return Ok(None);
        }
        self.authenticate(request).await.map(Some)
    }

    /// The verified user of `request`; a request without a credential is refused
    /// (`missing_token`).
    ///
    /// # Errors
    /// The [`Rejection`] to answer with.
    pub async fn authenticate<H: Headers + ?Sized>(
        &self,
        request: &EdgeRequest<'_, H>,
    ) -> Result<AuthUser, Rejection> {
        match self.authenticate_optional(request).await? {
            Some(user) => Ok(user),
            None => Err(self.missing_token(request)),
        }
    }

    /// The verified user of `request`, or `None` when it carries no credential at all (a
    /// credential that fails is still refused: its client meant to authenticate).
    ///
    /// # Errors
    /// The [`Rejection`] to answer with.
    pub async fn authenticate_optional<H: Headers + ?Sized>(
        &self,
        request: &EdgeRequest<'_, H>,
    ) -> Result<Option<AuthUser>, Rejection> {
        self.authenticate_after_lookup(request, None).await
    }

    /// [`authenticate_optional`](Self::authenticate_optional) past a verified-cache lookup
    /// that gave the bearer token's `digest` (not computed twice).
    pub(crate) async fn authenticate_after_lookup<H: Headers + ?Sized>(
        &self,
        request: &EdgeRequest<'_, H>,
        digest: Option<Digest>,
    ) -> Result<Option<AuthUser>, Rejection> {
        let outcome = match self.dpop_token(request) {
            Some(token) => self.verify_dpop(token, request).await.map(Some),
            None => self.verify_bearer(request, digest).await,
        };
        let user = outcome.map_err(|rejection| rejection.or_dpop(self.dpop_challenge(false)))?;
        if let Some(user) = &user {
            self.check_operation(request, user)?;
        }
        Ok(user)
    }

    /// The refusal of a scope rule: 403 `insufficient_scope` naming every scope the
    /// operation needs (`scope`, space-separated), or none for a rule that is not about
    /// scopes (same user, a claim). For adapters whose guards run after the edge.
    pub fn insufficient_scope(&self, scope: Option<&str>) -> Rejection {
        let error = AuthError::forbidden(match scope {
            Some(_) => "insufficient scope",
            None => "access to this resource is refused",
        });
        let rejection = self.refuse(RejectionKind::InsufficientScope, error);
        match scope {
            Some(scope) => rejection.with_scope(scope.to_owned()),
            None => rejection,
        }
    }

    /// The refusal of `kind` for an error found outside the edge (an adapter's own check, a
    /// verification error your code let through): the same status, challenges and body as
    /// the edge's own refusals of that kind.
    pub fn refusal(&self, kind: RejectionKind) -> Rejection {
        let error = match kind {
            RejectionKind::MissingToken => AuthError::missing_token(),
            RejectionKind::InsufficientScope => AuthError::forbidden("access refused"),
            RejectionKind::Misconfigured => AuthError::config("authentication is misconfigured"),
            RejectionKind::KeysUnavailable => AuthError::keys_unavailable("unavailable", None),
            _ => AuthError::malformed(kind.description()),
        };
        self.refusal_for(kind, error)
    }

    /// The refusal of `kind` for `error`, a finding of the adapter's own (a guard's rule, claims
    /// that do not fit a type), kept as the source for logs; a 401 also offers the `DPoP`
    /// challenge, as the edge's own refusals do.
    pub(crate) fn refusal_for(&self, kind: RejectionKind, error: AuthError) -> Rejection {
        let rejection = self.refuse(kind, error);
        if kind.status_code() == 401 {
            rejection.or_dpop(self.dpop_challenge(false))
        } else {
            rejection
        }
    }

    /// Judges `user` by a [step-up](crate::step_up) `rule`, for an adapter's own guard: the
    /// refusal is 401 `insufficient_user_authentication` with `acr_values`/`max_age` in the
    /// challenge and body (RFC 9470), or Clerk's 403 reverification answer.
    ///
    /// ```
    /// use jwks_auth::edge::RequestEdge;
    /// use jwks_auth::step_up::StepUp;
    /// use jwks_auth::{AuthUser, Provider, Verifier};
    /// # fn main() -> Result<(), jwks_auth::AuthError> {
    /// let verifier = Verifier::builder(Provider::better_auth("https://auth.example.com")?).build()?;
    /// let edge = RequestEdge::new(verifier);
    /// let refusal = edge.step_up(&AuthUser::new("user_1"), &StepUp::acr(["urn:mfa"])).unwrap_err();
    /// assert_eq!(refusal.status(), 401);
    /// assert_eq!(
    ///     refusal.www_authenticate().unwrap(),
    ///     r#"Bearer realm="api", error="insufficient_user_authentication", acr_values="urn:mfa""#
    /// );
    /// # Ok(()) }
    /// ```
    pub fn step_up(&self, user: &AuthUser, rule: &crate::step_up::StepUp) -> Result<(), Rejection> {
        rule.judge(user)
            .map_err(|challenge| self.guard_refusal(crate::guard_rule::Refusal::StepUp(challenge)))
    }

    /// The refusal of a route guard (`require_scope`, `require_claim`, ...), with this
    /// edge's challenges.
    pub(crate) fn guard_refusal(&self, refusal: crate::guard_rule::Refusal) -> Rejection {
        let (kind, error, scope, step_up) = refusal.into_parts();
        let mut rejection = self.refusal_for(kind, error);
        if let Some(scope) = scope {
            rejection = rejection.with_scope(scope);
        }
        if let Some(step_up) = step_up {
            rejection = rejection.with_step_up(step_up);
        }
        rejection
    }

    /// The server's current DPoP nonce, to send as `DPoP-Nonce` on every answer (accepted
    /// ones included) when nonces are on.
    pub fn dpop_nonce(&self) -> Option<String> {
        self.shared
            .verifiers
            .dpop()?
            .dpop_checker()?
            .current_nonce()
    }

    fn refuse(&self, kind: RejectionKind, error: AuthError) -> Rejection {
        Rejection::new(kind, error, &self.shared.settings)
    }

    /// The token of a request whose only `Authorization` header uses the `DPoP` scheme (any
    /// case), when the verifier takes proofs.
    fn dpop_token<'r, H: Headers + ?Sized>(&self, request: &EdgeRequest<'r, H>) -> Option<&'r str> {
        self.shared.verifiers.dpop()?;
        let mut values = request.headers.values("authorization");
        let (Some(value), None) = (values.next(), values.next()) else {
            return None;
        };
        let value = std::str::from_utf8(value).ok()?.trim();
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("dpop").then(|| token.trim())
    }

    async fn verify_dpop<H: Headers + ?Sized>(
        &self,
        token: &str,
        request: &EdgeRequest<'_, H>,
    ) -> Result<AuthUser, Rejection> {
        let shared = &*self.shared;
        let refuse = |error: AuthError| {
            Rejection::from_verify_error(error, &shared.settings).or_dpop(self.dpop_challenge(true))
        };
        let url = match shared.origin.request_url(request) {
            Ok(url) => url,
            Err(origin::UrlError::Malformed(what)) => {
                tracing::debug!(error = what, "request origin refused");
                let error = AuthError::malformed(what);
                return Err(self
                    .refuse(RejectionKind::MalformedRequest, error)
                    .or_dpop(self.dpop_challenge(true)));
            }
            Err(origin::UrlError::BadExternalOrigin) => {
                let error = AuthError::config("external origin is not an absolute http(s) url");
                return Err(refuse(error));
            }
        };
        // A value that is not visible ASCII stands for an unusable proof (`""`, refused by
        // the checker as an empty proof, never echoed).
        let proofs: Vec<&str> = request
            .headers
            .values("dpop")
            .map(|value| {
                std::str::from_utf8(value)
                    .ok()
                    .filter(|text| text.bytes().all(|b| b.is_ascii_graphic()))
                    .unwrap_or("")
            })
            .collect();
        let dpop_request = DpopRequest::new(request.method, &url);
        let verifier = shared.verifiers.route(token).map_err(refuse)?;
        verifier
            .verify_dpop(token, &proofs, &dpop_request)
            .await
            .map_err(refuse)
    }

    async fn verify_bearer<H: Headers + ?Sized>(
        &self,
        request: &EdgeRequest<'_, H>,
        digest: Option<Digest>,
    ) -> Result<Option<AuthUser>, Rejection> {
        let verifiers = &self.shared.verifiers;
        bearer_user(verifiers, request.headers, request.certificate, digest)
            .await
            .map_err(|(kind, error)| Rejection::new(kind, error, &self.shared.settings))
    }

    /// The `DPoP` challenge of a verifier that takes proofs.
    fn dpop_challenge(&self, used_dpop: bool) -> Option<DpopChallenge> {
        let verifier = self.shared.verifiers.dpop()?;
        let checker = verifier.dpop_checker()?;
        let algs = checker
            .algorithms()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        Some(DpopChallenge {
            algs,
            nonce: checker.current_nonce(),
            used_dpop,
            required: verifier.dpop_mode() == DpopMode::Required,
        })
    }
}

/// The bearer half of the edge: the token of the verifiers' first token source present in
/// `headers` (`Bearer`, a cookie), verified (with the connection's certificate when given).
/// `Ok(None)` when there is none; a refused header or token as its kind and error.
async fn bearer_user<H: Headers + ?Sized>(
    verifiers: &Verifiers,
    headers: &H,
    certificate: Option<&[u8]>,
    digest: Option<Digest>,
) -> Result<Option<AuthUser>, (RejectionKind, AuthError)> {
    let headers = TokenHeaders(headers);
    let token = match token_source::find_token(&headers, verifiers.token_sources()) {
        Ok(Some(token)) => token,
        Ok(None) => return Ok(None),
        Err((error, detail)) => {
            tracing::debug!(error = %detail, "authorization header rejected");
            return Err((error.into(), detail));
        }
    };
    let verified = match (verifiers.route(token), certificate) {
        (Err(error), _) => Err(error),
        (Ok(verifier), Some(der)) => verifier.verify_with_certificate(token, der).await,
        (Ok(verifier), None) if digest.is_some() => {
            verifier.verify_after_lookup(token, digest).await
        }
        (Ok(verifier), None) => verifier.verify(token).await,
    };
    verified
        .map(Some)
        .map_err(|error| (RejectionKind::of_verify_error(&error), error))
}

/// [`bearer_user`] for one verifier: the credential search and verification of an
/// adapter's extractor that runs without a [`RequestEdge`] in front of it.
#[cfg(feature = "axum")]
pub(crate) async fn verify_bearer_of<H: Headers + ?Sized>(
    verifier: &Verifier,
    headers: &H,
) -> Result<Option<AuthUser>, (RejectionKind, AuthError)> {
    bearer_user(&Verifiers::One(verifier.clone()), headers, None, None).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpop::DpopMode;
    use crate::Provider;

    #[test]
    fn only_a_single_dpop_authorization_is_a_dpop_token() {
        let verifier = Verifier::builder(Provider::oidc("https://as.example.com").unwrap())
            .audience("https://api.example.com")
            .dpop(DpopMode::Allowed)
            .build()
            .unwrap();
        let edge = RequestEdge::new(verifier);
        let token = |headers: &[(&str, &str)]| {
            edge.dpop_token(&EdgeRequest::new("GET", "/", headers))
                .map(str::to_owned)
        };
        assert_eq!(
            token(&[("authorization", "dpop a.b.c")]).as_deref(),
            Some("a.b.c")
        );
        assert_eq!(token(&[("authorization", "Bearer a.b.c")]), None);
        let two = [
            ("authorization", "DPoP a.b.c"),
            ("authorization", "DPoP d.e.f"),
        ];
        assert_eq!(token(&two), None);
    }
}
