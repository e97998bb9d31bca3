"""FastAPI integration: dependencies, guards and a middleware over a ``jwks_auth.Verifier``.

Set up once, the FastAPI way (the verifier lives on ``app.state``, like any shared resource)::

    from fastapi import Depends, FastAPI
    from jwks_auth import AuthUser, Provider, Verifier
    from jwks_auth.fastapi import configure, current_user, require_scopes

    app = FastAPI()
    configure(app, Verifier(Provider.better_auth("https://auth.example.com")))

    @app.get("/api/me")
    async def me(user: AuthUser = Depends(current_user)):
        return {"id": user.id}

    @app.get("/api/admin", dependencies=[Depends(require_scopes("admin"))])
    async def admin(): ...

``configure`` stores the verifier on ``app.state.jwks_auth_verifier`` and installs the
exception handler that answers refusals. Every answer (status, ``WWW-Authenticate``
challenges, ``Retry-After``, ``DPoP-Nonce``, the ``{"error": ...}`` body) is built by the
library's request edge (``jwks_auth.RequestEdge``), the same code as the Rust axum,
actix-web and tonic integrations: 401 ``missing_token`` / ``invalid_token``, 400
``invalid_request``, 403 ``insufficient_scope``, 503 ``temporarily_unavailable``. This module
only adapts Starlette's request and response to it.

No body or header ever contains the token. Tests can swap the verifier with
``app.dependency_overrides[get_verifier] = lambda: other_verifier``. Where the verifier's
provider names cookies (Clerk's ``__session``), tokens are also read from them, after the
``Authorization`` header, but only when the verifier checks ``azp``
(``Verifier(provider, authorized_parties=["https://app.example.com"])``): a browser sends the
cookie with requests other sites start too.

``app.add_middleware(AuthMiddleware)`` guards every route under ``/api/``, HTTP requests and
WebSocket handshakes alike (a refused handshake gets the same answer where the server can
send one, else a close with code 1008); ``websocket_query_param="access_token"`` also
accepts a WebSocket's token from its URL (off by default). ``current_user`` works in
WebSocket routes too.

``metrics_route(app)`` serves jwks-auth's metrics (``jwks_auth.metrics``) on ``/metrics``,
to callers with a valid token unless ``public=True``.
"""

import json
from urllib.parse import unquote_to_bytes
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Sequence, Union

from fastapi import Depends, FastAPI, HTTPException, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.status import WS_1008_POLICY_VIOLATION
from starlette.websockets import WebSocket

try:
    # The router's own rule (Starlette >= 0.35): the path without the `root_path` of a mount
    # or a proxy prefix. Using it, the middleware guards exactly what the routes answer.
    from starlette._utils import get_route_path as _route_path
except ImportError:  # pragma: no cover - a Starlette that moved it: its rule, as of 1.x

    def _route_path(scope: Any) -> str:
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if not root_path or not path.startswith(root_path):
            return path
        if path == root_path:
            return ""
        return path[len(root_path) :] if path[len(root_path)] == "/" else path


from . import metrics as _metrics
from ._errors import AuthError
from ._jwks_auth import (
    AuthUser,
    McpOperations,
    MultiVerifier,
    ProtectedResource,
    Refusal,
    RequestEdge,
    StepUp,
    TenantVerifier,
    Verifier,
)

#: What ``configure`` takes: a verifier, several routed by issuer, or tenants on demand.
AnyVerifier = Union[Verifier, MultiVerifier, TenantVerifier]

__all__ = [
    "AuthSettings",
    "AuthMiddleware",
    "AuthRejection",
    "configure",
    "current_user",
    "get_verifier",
    "metrics_route",
    "optional_user",
    "protected_resource_metadata",
    "require_claim",
    "require_same_user",
    "require_acr",
    "require_auth_age",
    "require_scopes",
    "require_step_up",
    "require_user_token",
]

STATE_VERIFIER = "jwks_auth_verifier"
STATE_SETTINGS = "jwks_auth_settings"
STATE_EDGE = "jwks_auth_edge"
#: Paths served without a token even under ``AuthMiddleware`` (``metrics_route(public=True)``).
STATE_PUBLIC_PATHS = "jwks_auth_public_paths"
#: Where RFC 9728 clients look for a protected resource's metadata first.
WELL_KNOWN_PATH = "/.well-known/oauth-protected-resource"
#: Where the middleware leaves the verified user: ``request.state.user``.
STATE_USER = "user"


class AuthSettings:
    """How requests are judged and refusals answered, beyond the verifier: the challenge
    ``realm``, ``Retry-After`` seconds of 503 answers, the origin clients use (for DPoP
    proofs' ``htu``: ``external_origin``, or ``X-Forwarded-*``/``Forwarded`` from the nearest
    proxy when ``trust_forwarded_headers``) and the RFC 9728 protected resource whose
    metadata URL every challenge carries (a ``ProtectedResource``, or ``resource`` +
    ``authorization_servers``), and for an MCP server what each operation needs
    (``McpOperations``: scopes per tool from the ``Mcp-Method``/``Mcp-Name`` headers, checked
    by ``current_user`` and the middleware)."""

    def __init__(
        self,
        realm: str = "api",
        retry_after: int = 30,
        *,
        external_origin: Optional[str] = None,
        trust_forwarded_headers: bool = False,
        resource: Optional[str] = None,
        authorization_servers: Sequence[str] = (),
        protected_resource: Optional[ProtectedResource] = None,
        mcp_operations: Optional[McpOperations] = None,
    ) -> None:
        self.protected_resource = protected_resource
        self.mcp_operations = mcp_operations
        self.realm = realm
        self.retry_after = max(1, int(retry_after))
        self.external_origin = external_origin
        self.trust_forwarded_headers = trust_forwarded_headers
        self.resource = resource
        self.authorization_servers = list(authorization_servers)

    def edge(self, verifier: AnyVerifier) -> RequestEdge:
        """The library's request edge for ``verifier`` with these settings."""
        return RequestEdge(
            verifier,
            realm=self.realm,
            retry_after=self.retry_after,
            external_origin=self.external_origin,
            trust_forwarded_headers=self.trust_forwarded_headers,
            resource=self.resource,
            authorization_servers=self.authorization_servers,
            protected_resource=self.protected_resource,
            mcp_operations=self.mcp_operations,
        )


class AuthRejection(HTTPException):
    """A refused request: an ``HTTPException`` whose ``detail`` is the JSON body, made from the
    edge's ``Refusal`` (status, headers and body all come from the library).

    With ``configure``'s handler the body is sent as is (``{"error": "invalid_token"}``) with
    every header (two ``WWW-Authenticate`` lines when ``Bearer`` and ``DPoP`` are both
    offered); without it FastAPI sends ``{"detail": {...}}`` with the same status and the
    challenges joined in one header.
    """

    def __init__(self, refusal: Refusal) -> None:
        joined: Dict[str, str] = {}
        for name, value in refusal.headers:
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        body = refusal.body
        super().__init__(status_code=refusal.status, detail=body, headers=joined)
        self.body: Dict[str, Any] = body
        self.refusal = refusal


def configure(
    app: FastAPI,
    verifier: AnyVerifier,
    *,
    realm: str = "api",
    retry_after: int = 30,
    external_origin: Optional[str] = None,
    trust_forwarded_headers: bool = False,
    resource: Optional[str] = None,
    authorization_servers: Sequence[str] = (),
    protected_resource: Optional[ProtectedResource] = None,
    mcp_operations: Optional[McpOperations] = None,
) -> None:
    """Stores ``verifier`` (a ``Verifier`` or a ``MultiVerifier``) on ``app.state`` with the
    settings (see ``AuthSettings``) and answers ``AuthRejection`` with its own JSON body and
    headers (and a bare ``AuthError`` raised by your code the same way)."""
    settings = AuthSettings(
        realm,
        retry_after,
        external_origin=external_origin,
        trust_forwarded_headers=trust_forwarded_headers,
        resource=resource,
        authorization_servers=authorization_servers,
        protected_resource=protected_resource,
        mcp_operations=mcp_operations,
    )
    setattr(app.state, STATE_VERIFIER, verifier)
    setattr(app.state, STATE_SETTINGS, settings)
    setattr(app.state, STATE_EDGE, settings.edge(verifier))

    async def on_rejection(conn: HTTPConnection, exc: Exception) -> Optional[Response]:
        assert isinstance(exc, AuthRejection)
        if isinstance(conn, WebSocket):
            # A WebSocket route's dependency refused the handshake: answered before accept.
            await _send_refusal(exc.refusal, conn.scope, conn.receive, conn.send)
            return None
        return _refusal_response(exc.refusal)

    async def on_auth_error(conn: HTTPConnection, exc: Exception) -> Optional[Response]:
        assert isinstance(exc, AuthError)
        refusal = _edge(conn, _app_verifier(conn)).refusal_for(exc.kind, exc.status)
        return await on_rejection(conn, AuthRejection(refusal))

    app.add_exception_handler(AuthRejection, on_rejection)
    app.add_exception_handler(AuthError, on_auth_error)


def protected_resource_metadata(app: FastAPI, resource: ProtectedResource) -> None:
    """Serves ``resource``'s RFC 9728 metadata document (a cacheable JSON ``GET``) at
    ``/.well-known/oauth-protected-resource`` and at its path-suffixed form
    (``resource.metadata_path``), as MCP clients look for it. Pass the same ``resource`` to
    ``configure(..., protected_resource=resource)`` so challenges point to it and the
    middleware serves these paths without a token."""
    body = resource.metadata()
    headers = {"Cache-Control": f"public, max-age={resource.cache_max_age}"}

    async def document() -> JSONResponse:
        return JSONResponse(body, headers=headers)

    for path in dict.fromkeys([WELL_KNOWN_PATH, resource.metadata_path]):
        app.add_api_route(path, document, methods=["GET"], include_in_schema=False)


def metrics_route(
    app: FastAPI,
    path: str = "/metrics",
    *,
    public: bool = False,
    scopes: Sequence[str] = (),
    include_in_schema: bool = False,
) -> None:
    """Serves jwks-auth's metrics (``jwks_auth.metrics.render()``: the Prometheus text
    format) on ``GET path``.

    By default the route wants what ``current_user`` wants, a valid token of the app's
    verifier (``configure`` first), and, with ``scopes``, every one of them (e.g.
    ``scopes=["metrics:read"]`` for a scraper's client-credentials token); else the usual
    401/403 answers.

    ``public=True`` serves it to anyone, without a token, also under ``AuthMiddleware``
    whatever its ``prefix`` (the path is exempt exactly as if it were in its
    ``public_paths``). Choose it only where nothing outside your network reaches the path
    (a scraper on an internal port, or a proxy that blocks it): the text holds no token,
    claim or user id, but shows your providers, key-set fingerprints and traffic counts.

    For ``prometheus_client`` (one ``/metrics`` with your own metrics) use
    ``jwks_auth.metrics.register()`` instead."""
    if public and scopes:
        raise ValueError("metrics_route: scopes need a token, they do not go with public=True")
    dependencies: List[Any]
    if public:
        dependencies = []
        exempt = set(getattr(app.state, STATE_PUBLIC_PATHS, None) or ())
        setattr(app.state, STATE_PUBLIC_PATHS, frozenset(exempt | {path}))
    elif scopes:
        dependencies = [Depends(require_scopes(*scopes))]
    else:
        dependencies = [Depends(current_user)]

    async def jwks_auth_metrics() -> Response:
        return Response(_metrics.render(), media_type=_metrics.CONTENT_TYPE)

    app.add_api_route(
        path,
        jwks_auth_metrics,
        methods=["GET"],
        dependencies=dependencies,
        include_in_schema=include_in_schema,
    )


def _app_public_paths(scope: Any) -> Iterable[str]:
    """The paths the app serves without a token (``metrics_route(public=True)``)."""
    state = getattr(scope.get("app"), "state", None)
    return getattr(state, STATE_PUBLIC_PATHS, None) or ()


def _settings(conn: HTTPConnection) -> AuthSettings:
    return getattr(conn.app.state, STATE_SETTINGS, None) or AuthSettings()


def _edge(
    conn: HTTPConnection, verifier: AnyVerifier, settings: Optional[AuthSettings] = None
) -> RequestEdge:
    """The app's edge, or one for another verifier (``dependency_overrides``) or settings."""
    edge = getattr(conn.app.state, STATE_EDGE, None)
    if settings is None and isinstance(edge, RequestEdge) and edge.verifier is verifier:
        return edge
    return (settings or _settings(conn)).edge(verifier)


def _refusal_response(refusal: Refusal) -> JSONResponse:
    response = JSONResponse(refusal.body, status_code=refusal.status)
    response.raw_headers.extend(
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in refusal.headers
    )
    return response


# The ASGI extension that lets an app answer a WebSocket handshake with an HTTP response.
_WEBSOCKET_DENIAL = "websocket.http.response"


async def _send_refusal(refusal: Refusal, scope: Any, receive: Any, send: Any) -> None:
    """Answers a refused request; a refused WebSocket handshake before it is accepted, with
    the same HTTP response where the server can send one, else by closing it (1008)."""
    response = _refusal_response(refusal)
    if scope["type"] != "websocket":
        await response(scope, receive, send)
        return
    if (await receive())["type"] != "websocket.connect":
        return  # the client left before the handshake was answered
    if _WEBSOCKET_DENIAL in (scope.get("extensions") or {}):
        start = {"status": response.status_code, "headers": response.raw_headers}
        await send({"type": "websocket.http.response.start", **start})
        await send({"type": "websocket.http.response.body", "body": response.body})
    else:
        reason = refusal.error
        await send({"type": "websocket.close", "code": WS_1008_POLICY_VIOLATION, "reason": reason})


async def get_verifier(request: HTTPConnection) -> AnyVerifier:
    """The app's verifier (``configure``); override it in tests with
    ``app.dependency_overrides[get_verifier]``. A coroutine function: FastAPI runs a plain
    ``def`` dependency in its threadpool, a thread round trip on every request."""
    return _app_verifier(request)


def _app_verifier(request: HTTPConnection) -> AnyVerifier:
    """The verifier ``configure`` stored on the app."""
    verifier = getattr(request.app.state, STATE_VERIFIER, None)
    if verifier is None:
        raise RuntimeError(
            "no jwks_auth verifier on app.state: call jwks_auth.fastapi.configure(app, verifier)"
        )
    return verifier


# A WebSocket handshake is an HTTP GET; its URL for a DPoP proof is the http(s) one.
_HTTP_SCHEME = {"ws": "http", "wss": "https"}


def _edge_request(conn: HTTPConnection, query_param: Optional[str] = None) -> Dict[str, Any]:
    """The request as the edge reads it: method, the target the client sent (with any
    ``root_path``), the raw headers, and the scheme and ``Host`` of the request itself."""
    scope = conn.scope
    # From the scope, as Starlette's `conn.url` has them (without building and re-parsing
    # a URL string per request).
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"")
    target = f"{path}?{query.decode('latin-1')}" if query else path
    headers: List[Any] = list(scope.get("headers") or ())
    if query_param:
        # A browser WebSocket's token in the URL, handed to the edge as the header it stands
        # for (two values are two headers: refused as a malformed request).
        for token in conn.query_params.getlist(query_param):
            headers.append((b"authorization", f"Bearer {token}".encode("latin-1", "replace")))
    host = next((value.decode("latin-1") for name, value in headers if name == b"host"), None)
    scheme = scope.get("scheme", "http")
    return {
        "method": scope.get("method", "GET"),
        "target": target,
        "headers": headers,
        "scheme": _HTTP_SCHEME.get(scheme, scheme) if host else None,
        "host": host,
    }


async def _user_or_refusal(
    conn: HTTPConnection,
    verifier: AnyVerifier,
    required: bool,
    *,
    settings: Optional[AuthSettings] = None,
    query_param: Optional[str] = None,
) -> Union[AuthUser, Refusal, None]:
    """The verified user (also left on ``conn.state``, that is ``scope["state"]``, for
    WebSockets too), ``None`` without a token when not ``required``, else the refusal.

    The refusal is returned, not raised (the edge never raises one either): raised where the
    request is in scope, its traceback would hold frames whose locals hold the token."""
    # `scope["state"]` directly: `conn.state` builds a new `State` wrapper on each access.
    state = conn.scope.setdefault("state", {})
    cached = state.get(STATE_USER)
    if isinstance(cached, AuthUser):
        return cached  # the middleware verified this request already
    edge = _edge(conn, verifier, settings)
    request = _edge_request(conn, query_param)
    outcome = await edge.authenticate(**request, required=required)
    if isinstance(outcome, AuthUser):
        state[STATE_USER] = outcome
    return outcome


async def _authenticate(
    conn: HTTPConnection, verifier: AnyVerifier, required: bool
) -> Optional[AuthUser]:
    outcome = await _user_or_refusal(conn, verifier, required)
    if isinstance(outcome, Refusal):
        raise AuthRejection(outcome)  # from a frame without the token, with no error chained
    return outcome


class _BearerDeclaration(HTTPBearer):
    """Declares the bearer scheme in the OpenAPI document (the "Authorize" button of /docs)
    and reads nothing: the token is read and judged above, and a dependency's value holding
    it would sit in the locals of every refusal's traceback."""

    async def __call__(self) -> None:  # type: ignore[override]
        return None


# The scheme name HTTPBearer would have (its class name): the OpenAPI document is unchanged.
_bearer_scheme = _BearerDeclaration(
    scheme_name="HTTPBearer", description="A JWT issued by the provider"
)


async def current_user(
    request: HTTPConnection,
    verifier: AnyVerifier = Depends(get_verifier),
    _openapi: None = Security(_bearer_scheme),
) -> AuthUser:
    """The verified user of the request (or WebSocket handshake), or a 401/400/503 answer.

    ``user: AuthUser = Depends(current_user)``
    """
    user = await _authenticate(request, verifier, required=True)
    assert user is not None
    return user


async def optional_user(
    request: HTTPConnection,
    verifier: AnyVerifier = Depends(get_verifier),
    _openapi: None = Security(_bearer_scheme),
) -> Optional[AuthUser]:
    """The verified user, or ``None`` when the request carries no token (a bad token is
    still refused with 401: a client that sends one meant to authenticate)."""
    return await _authenticate(request, verifier, required=False)


def require_scopes(*scopes: str) -> Callable[..., Awaitable[AuthUser]]:
    """A dependency: the user must hold every one of ``scopes`` (else 403
    ``insufficient_scope`` naming the scopes). Returns the user."""
    if not scopes:
        raise ValueError("require_scopes needs at least one scope")
    wanted = " ".join(scopes)

    async def dependency(
        request: HTTPConnection, user: AuthUser = Depends(current_user)
    ) -> AuthUser:
        held = set(user.scopes)
        if not all(scope in held for scope in scopes):
            edge = _edge(request, _app_verifier(request))
            raise AuthRejection(edge.insufficient_scope(wanted))
        return user

    return dependency


def require_same_user(param: str = "user_id") -> Callable[..., Awaitable[AuthUser]]:
    """A dependency: the path parameter ``param`` must equal the user's id (else 403).
    Returns the user."""

    async def dependency(
        request: HTTPConnection, user: AuthUser = Depends(current_user)
    ) -> AuthUser:
        value = request.path_params.get(param)
        if value is None:
            raise RuntimeError(f"require_same_user: the route has no path parameter `{param}`")
        if "\ufffd" in str(value) and not _raw_path_is_utf8(request):
            # The client sent bytes that are not UTF-8 (`/users/%FF`): a malformed request,
            # not another user (400 `invalid_request`, as the Rust guards answer).
            edge = _edge(request, _app_verifier(request))
            raise AuthRejection(edge.refusal_for("malformed-request", 400))
        if str(value) != user.id:
            raise _forbidden(request)
        return user

    return dependency


def _raw_path_is_utf8(request: HTTPConnection) -> bool:
    """Whether the path as sent percent-decodes to UTF-8 (Starlette decodes it lossily)."""
    raw_path = request.scope.get("raw_path")
    if not raw_path:
        return True  # a server that does not say: the decoded path is all there is
    try:
        unquote_to_bytes(raw_path.decode("latin-1")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _forbidden(request: HTTPConnection) -> AuthRejection:
    """The refusal of a guard that is not about scopes (403 ``insufficient_scope``)."""
    return AuthRejection(_edge(request, _app_verifier(request)).insufficient_scope())


def require_user_token() -> Callable[..., Awaitable[AuthUser]]:
    """A dependency: the token must be a user's, not a machine's (client credentials,
    Clerk M2M: ``user.kind == "machine"``), else 403. Returns the user."""

    async def dependency(
        request: HTTPConnection, user: AuthUser = Depends(current_user)
    ) -> AuthUser:
        if user.kind != "user":
            raise _forbidden(request)
        return user

    return dependency


def require_step_up(rule: StepUp) -> Callable[..., Awaitable[AuthUser]]:
    """A dependency: the user's authentication must meet ``rule`` (``StepUp.acr``,
    ``StepUp.auth_age``, Auth0's ``StepUp.mfa``, Clerk's ``StepUp.reverification``), else
    401 ``insufficient_user_authentication`` with ``acr_values``/``max_age`` (RFC 9470), or
    Clerk's 403 reverification answer its ``useReverification()`` hook recognises. Returns
    the user."""

    async def dependency(
        request: HTTPConnection, user: AuthUser = Depends(current_user)
    ) -> AuthUser:
        refusal = _edge(request, _app_verifier(request)).step_up(user, rule)
        if refusal is not None:
            raise AuthRejection(refusal)
        return user

    return dependency


def require_acr(*values: str) -> Callable[..., Awaitable[AuthUser]]:
    """A dependency: the token's ``acr`` must be one of ``values`` (a token without one
    never passes), else 401 ``insufficient_user_authentication`` with ``acr_values``."""
    return require_step_up(StepUp.acr(list(values)))


def require_auth_age(max_age: float) -> Callable[..., Awaitable[AuthUser]]:
    """A dependency: the user authenticated (``auth_time``) at most ``max_age`` seconds
    ago (a token without ``auth_time`` never passes), else 401 with ``max_age``."""
    return require_step_up(StepUp.auth_age(max_age))


def _canonical_json(value: Any) -> str:
    # JSON equality, as the Rust guard compares serde_json values: `true` is not `1`, nor
    # `1` the same number as `1.0`, and object key order does not matter.
    return json.dumps(value, sort_keys=True, allow_nan=False)


_ABSENT = object()


def _claim_at(claims: Dict[str, Any], path: str) -> Any:
    """The claim named ``path``, else the one at the dotted ``path`` in nested objects;
    ``_ABSENT`` when there is none (as the Rust ``Claims::get``)."""
    if path in claims:
        return claims[path]
    if "." not in path:
        return _ABSENT
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def require_claim(name: str, value: Any) -> Callable[..., Awaitable[AuthUser]]:
    """A dependency: the claim ``name`` (a name, or a dotted path into nested objects such
    as ``"realm_access.roles"``) must equal ``value`` as JSON, or, when the claim is an
    array, contain it: ``require_claim("role", "admin")``. Else 403. Returns the user."""
    expected = _canonical_json(value)  # a value that is not JSON fails here, not per request

    async def dependency(
        request: HTTPConnection, user: AuthUser = Depends(current_user)
    ) -> AuthUser:
        claim = _claim_at(user.claims, name)
        if isinstance(claim, list):
            holds = any(_canonical_json(item) == expected for item in claim)
        else:
            holds = claim is not _ABSENT and _canonical_json(claim) == expected
        if not holds:
            raise _forbidden(request)
        return user

    return dependency


class AuthMiddleware:
    """ASGI middleware guarding every path under ``prefix`` (default ``/api/``) except
    ``public_paths``, for HTTP requests and WebSocket handshakes alike: without a valid
    token they are refused before any route runs; the verified user is on
    ``request.state.user`` / ``websocket.state.user`` (and ``current_user`` reuses it).

    ``app.add_middleware(AuthMiddleware, verifier=verifier)`` (or, after ``configure``,
    without ``verifier``: the app's is used).

    ``prefix`` and ``public_paths`` are matched on the path the router routes: without the
    ``root_path`` of a mount (``outer.mount("/svc", app)``) or of a proxy prefix
    (``uvicorn --root-path /v1``), so ``/svc/api/me`` is guarded as ``/api/me``. The path of
    ``metrics_route(app, public=True)`` is public too.

    A WebSocket handshake carries its token as a request does: the ``Authorization`` header
    or the provider's cookie. Browsers cannot set headers on a WebSocket; with
    ``websocket_query_param="access_token"`` a handshake may also carry it as
    ``/api/ws?access_token=<token>`` (off by default: URLs end up in access logs; HTTP
    requests never read it). A refused handshake is answered before it is accepted: with
    the HTTP response a request gets (same status, headers and JSON body) where the server
    supports the ASGI ``"websocket.http.response"`` extension (uvicorn, Hypercorn,
    Starlette's TestClient), else by a close with code 1008 (policy violation) and the error
    (``"missing_token"``, ...) as its reason, which the server answers with 403.
    """

    def __init__(
        self,
        app: Any,
        verifier: Optional[AnyVerifier] = None,
        prefix: str = "/api/",
        public_paths: Sequence[str] = (),
        settings: Optional[AuthSettings] = None,
        websocket_query_param: Optional[str] = None,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.prefix = prefix
        self.public_paths = frozenset(public_paths)
        self.settings = settings
        self.websocket_query_param = websocket_query_param

    def _guarded(self, path: str) -> bool:
        if path in self.public_paths:
            return False
        return path.startswith(self.prefix) or path == self.prefix.rstrip("/")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Anything else (lifespan) is not a request.
        if scope["type"] not in ("http", "websocket") or not self._guarded(_route_path(scope)):
            await self.app(scope, receive, send)
            return
        if _route_path(scope) in _app_public_paths(scope):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        verifier = self.verifier or getattr(conn.app.state, STATE_VERIFIER, None)
        if verifier is None:
            response = JSONResponse({"error": "server_error"}, status_code=500)
            await response(scope, receive, send)
            return
        if _edge(conn, verifier, self.settings).is_public(_route_path(scope)):
            # The RFC 9728 metadata paths of a configured protected resource.
            await self.app(scope, receive, send)
            return
        query_param = self.websocket_query_param if scope["type"] == "websocket" else None
        outcome = await _user_or_refusal(
            conn, verifier, True, settings=self.settings, query_param=query_param
        )
        if isinstance(outcome, Refusal):
            await _send_refusal(outcome, scope, receive, send)
            return
        nonce = _edge(conn, verifier, self.settings).dpop_nonce()
        await self.app(scope, receive, _with_nonce(send, nonce) if nonce else send)


def _with_nonce(send: Any, nonce: str) -> Any:
    """``send`` adding ``DPoP-Nonce`` to the response (RFC 9449 §8: every answer may carry the
    next nonce)."""

    async def sending(message: Any) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or ()) + [(b"dpop-nonce", nonce.encode())]
            message = {**message, "headers": headers}
        await send(message)

    return sending
