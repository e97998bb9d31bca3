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
exception handler that answers refusals as the Rust axum integration does:

=========================================  ======  =============================================  ==============================
case                                       status  ``WWW-Authenticate``                           body
=========================================  ======  =============================================  ==============================
no token                                   401     ``Bearer realm="api"``                         ``{"error":"missing_token"}``
scheme other than Bearer                   401     ``Bearer realm="api"``                         ``{"error":"invalid_request"}``
malformed ``Authorization`` (empty, two)   400     ``Bearer realm="api", error="invalid_request"``  ``{"error":"invalid_request"}``
token rejected                             401     ``Bearer realm="api", error="invalid_token"``    ``{"error":"invalid_token"}``
guard refuses (scope, same user, claim)    403     ``..., error="insufficient_scope"[, scope=..]``  ``{"error":"insufficient_scope"}``
keys unreachable                           503     none, ``Retry-After: 30``                      ``{"error":"temporarily_unavailable"}``
=========================================  ======  =============================================  ==============================

No body or header ever contains the token. Tests can swap the verifier with
``app.dependency_overrides[get_verifier] = lambda: other_verifier``. Where the verifier's
provider names cookies (Clerk's ``__session``), tokens are also read from them, after the
``Authorization`` header.

``app.add_middleware(AuthMiddleware)`` guards every route under ``/api/``, HTTP requests and
WebSocket handshakes alike (a refused handshake gets the same answer where the server can
send one, else a close with code 1008); ``websocket_query_param="access_token"`` also
accepts a WebSocket's token from its URL (off by default). ``current_user`` works in
WebSocket routes too.
"""

import json
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


from ._errors import AuthError, InvalidRequest, MissingToken
from ._jwks_auth import AuthUser, MultiVerifier, Verifier

#: What ``configure`` takes: a verifier, or several routed by issuer.
AnyVerifier = Union[Verifier, MultiVerifier]

__all__ = [
    "AuthSettings",
    "AuthMiddleware",
    "AuthRejection",
    "configure",
    "current_user",
    "get_verifier",
    "optional_user",
    "require_claim",
    "require_same_user",
    "require_scopes",
    "require_user_token",
]

STATE_VERIFIER = "jwks_auth_verifier"
STATE_SETTINGS = "jwks_auth_settings"
#: Where the middleware leaves the verified user: ``request.state.user``.
STATE_USER = "user"


class AuthSettings:
    """How refusals are answered: the challenge ``realm`` and ``Retry-After`` seconds."""

    def __init__(self, realm: str = "api", retry_after: int = 30) -> None:
        self.realm = realm
        self.retry_after = max(1, int(retry_after))


class AuthRejection(HTTPException):
    """A refused request: an ``HTTPException`` whose ``detail`` is the JSON body.

    With ``configure``'s handler the body is sent as is (``{"error": "invalid_token"}``);
    without it FastAPI sends ``{"detail": {...}}`` with the same status and headers.
    """

    def __init__(
        self,
        status_code: int,
        error: str,
        challenge_error: Optional[str],
        settings: AuthSettings,
        *,
        scope: Optional[str] = None,
        challenge: bool = True,
    ) -> None:
        headers: Dict[str, str] = {}
        if challenge:
            value = f'Bearer realm="{_quoted(settings.realm)}"'
            if challenge_error:
                value += f', error="{challenge_error}"'
            if scope is not None:
                value += f', scope="{_quoted(scope)}"'
            headers["WWW-Authenticate"] = value
        if status_code == 503:
            headers["Retry-After"] = str(settings.retry_after)
        body: Dict[str, Any] = {"error": error}
        if scope is not None:
            body["scope"] = scope
        super().__init__(status_code=status_code, detail=body, headers=headers)
        self.body = body

    @classmethod
    def from_error(cls, err: AuthError, settings: AuthSettings) -> "AuthRejection":
        """The answer for a failed verification (never mentions the token)."""
        if err.kind == "missing-token":
            return cls(401, "missing_token", None, settings)
        if err.status == 503:
            return cls(503, "temporarily_unavailable", None, settings, challenge=False)
        if err.status == 403:
            return cls(403, "insufficient_scope", "insufficient_scope", settings)
        if err.status == 400:
            return cls(400, "invalid_request", "invalid_request", settings)
        if err.status == 500:
            return cls(500, "server_error", None, settings, challenge=False)
        return cls(401, "invalid_token", "invalid_token", settings)


def _quoted(text: str) -> str:
    """A quoted-string body: visible ASCII only, quotes and backslashes escaped."""
    visible = "".join(c if " " <= c <= "~" else "?" for c in text)
    return visible.replace("\\", "\\\\").replace('"', '\\"')


def configure(
    app: FastAPI,
    verifier: AnyVerifier,
    *,
    realm: str = "api",
    retry_after: int = 30,
) -> None:
    """Stores ``verifier`` (a ``Verifier`` or a ``MultiVerifier``) on ``app.state`` and
    answers ``AuthRejection`` with its own JSON body and headers (and a bare ``AuthError``
    raised by your code the same way)."""
    setattr(app.state, STATE_VERIFIER, verifier)
    setattr(app.state, STATE_SETTINGS, AuthSettings(realm, retry_after))

    async def on_rejection(conn: HTTPConnection, exc: Exception) -> Optional[Response]:
        assert isinstance(exc, AuthRejection)
        if isinstance(conn, WebSocket):
            # A WebSocket route's dependency refused the handshake: answered before accept.
            await _send_refusal(exc, conn.scope, conn.receive, conn.send)
            return None
        return _rejection_response(exc)

    async def on_auth_error(conn: HTTPConnection, exc: Exception) -> Optional[Response]:
        assert isinstance(exc, AuthError)
        rejection = AuthRejection.from_error(exc, _settings(conn))
        return await on_rejection(conn, rejection)

    app.add_exception_handler(AuthRejection, on_rejection)
    app.add_exception_handler(AuthError, on_auth_error)


def _settings(conn: HTTPConnection) -> AuthSettings:
    return getattr(conn.app.state, STATE_SETTINGS, None) or AuthSettings()


def _rejection_response(rejection: AuthRejection) -> JSONResponse:
    status, headers = rejection.status_code, rejection.headers
    return JSONResponse(rejection.body, status_code=status, headers=headers)


# The ASGI extension that lets an app answer a WebSocket handshake with an HTTP response.
_WEBSOCKET_DENIAL = "websocket.http.response"


async def _send_refusal(rejection: AuthRejection, scope: Any, receive: Any, send: Any) -> None:
    """Answers a refused request; a refused WebSocket handshake before it is accepted, with
    the same HTTP response where the server can send one, else by closing it (1008)."""
    response = _rejection_response(rejection)
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
        reason = rejection.body["error"]
        await send({"type": "websocket.close", "code": WS_1008_POLICY_VIOLATION, "reason": reason})


def get_verifier(request: HTTPConnection) -> AnyVerifier:
    """The app's verifier (``configure``); override it in tests with
    ``app.dependency_overrides[get_verifier]``."""
    verifier = getattr(request.app.state, STATE_VERIFIER, None)
    if verifier is None:
        raise RuntimeError(
            "no jwks_auth verifier on app.state: call jwks_auth.fastapi.configure(app, verifier)"
        )
    return verifier


# -- finding the token (the same rules as the Rust integration) ----------------------------


def _visible_ascii(text: str) -> bool:
    return all(c == "\t" or " " <= c <= "~" for c in text)


def _authorization_token(values: List[str]) -> Optional[str]:
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest("several authorization headers")
    text = values[0]
    if not _visible_ascii(text):
        raise InvalidRequest("authorization header is not visible ascii")
    words = text.split()
    if not words:
        raise InvalidRequest("empty authorization header")
    if words[0].lower() != "bearer":
        # 401 with a plain challenge (RFC 6750 §3: no error code for another scheme).
        raise _UnsupportedScheme("authorization scheme is not bearer")
    # As `jwks_auth::bearer_token`: the scheme, one space, exactly one token.
    scheme, _, rest = text.strip().partition(" ")
    token = rest.strip()
    if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
        raise InvalidRequest("expected exactly one bearer token")
    return token


class _UnsupportedScheme(AuthError):
    default_kind = "malformed"


def _cookie_value(headers: Iterable[str], name: str) -> Optional[str]:
    for header in headers:
        if not _visible_ascii(header):
            continue
        for pair in header.split(";"):
            key, sep, value = pair.strip().partition("=")
            if sep and key == name and value:
                return value
    return None


def _query_token(values: List[str]) -> Optional[str]:
    if len(values) > 1:
        raise InvalidRequest("several token query parameters")
    return values[0] if values and values[0] else None


def find_token(request: HTTPConnection, sources: Sequence[str]) -> Optional[str]:
    """The token of the first of ``sources`` (``"bearer"``, ``"cookie:<name>"``,
    ``"query:<name>"``) present in ``request``; ``None`` when there is none. A present but
    unusable ``Authorization`` header raises ``InvalidRequest`` (never a reason to read a
    cookie instead)."""
    for source in sources or ["bearer"]:
        if source == "bearer":
            found = _authorization_token(request.headers.getlist("authorization"))
        elif source.startswith("cookie:"):
            found = _cookie_value(request.headers.getlist("cookie"), source[len("cookie:") :])
        elif source.startswith("query:"):
            found = _query_token(request.query_params.getlist(source[len("query:") :]))
        else:
            found = None
        if found is not None:
            return found
    return None


def _rejection_for_request_error(err: AuthError, settings: AuthSettings) -> AuthRejection:
    if isinstance(err, _UnsupportedScheme):
        return AuthRejection(401, "invalid_request", None, settings)
    return AuthRejection(400, "invalid_request", "invalid_request", settings)


async def _user_or_refusal(
    conn: HTTPConnection,
    verifier: AnyVerifier,
    required: bool,
    *,
    sources: Optional[Sequence[str]] = None,
    settings: Optional[AuthSettings] = None,
) -> Union[AuthUser, AuthRejection, None]:
    """The verified user (also left on ``conn.state``, that is ``scope["state"]``, for
    WebSockets too), ``None`` without a token when not ``required``, else the refusal.

    The refusal is returned, not raised: raised in an ``except`` block it would chain the
    caught error (``__context__``, even with ``from None``), whose traceback holds frames
    with the token, as does this one."""
    cached = getattr(conn.state, STATE_USER, None)
    if isinstance(cached, AuthUser):
        return cached  # the middleware verified this request already
    settings = settings or _settings(conn)
    try:
        token = find_token(conn, verifier.token_sources if sources is None else sources)
    except AuthError as err:
        return _rejection_for_request_error(err, settings)
    if token is None:
        if required:
            missing = MissingToken("no bearer token in the request")
            return AuthRejection.from_error(missing, settings)
        return None
    try:
        user = await verifier.verify(token)
    except AuthError as err:
        return AuthRejection.from_error(err, settings)
    setattr(conn.state, STATE_USER, user)
    return user


async def _authenticate(
    conn: HTTPConnection, verifier: AnyVerifier, required: bool
) -> Optional[AuthUser]:
    outcome = await _user_or_refusal(conn, verifier, required)
    if isinstance(outcome, AuthRejection):
        raise outcome  # from a frame without the token, with no error chained
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
            raise AuthRejection(
                403, "insufficient_scope", "insufficient_scope", _settings(request), scope=wanted
            )
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
        if str(value) != user.id:
            raise _forbidden(request)
        return user

    return dependency


def _forbidden(request: HTTPConnection) -> AuthRejection:
    return AuthRejection(403, "insufficient_scope", "insufficient_scope", _settings(request))


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
    (``uvicorn --root-path /v1``), so ``/svc/api/me`` is guarded as ``/api/me``.

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

    def _token_sources(self, scope: Any, verifier: AnyVerifier) -> List[str]:
        sources = verifier.token_sources
        if scope["type"] == "websocket" and self.websocket_query_param:
            return [*sources, f"query:{self.websocket_query_param}"]
        return sources

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Anything else (lifespan) is not a request.
        if scope["type"] not in ("http", "websocket") or not self._guarded(_route_path(scope)):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        verifier = self.verifier or getattr(conn.app.state, STATE_VERIFIER, None)
        settings = self.settings or _settings(conn)
        if verifier is None:
            rejection = AuthRejection(500, "server_error", None, settings, challenge=False)
        else:
            sources = self._token_sources(scope, verifier)
            outcome = await _user_or_refusal(
                conn, verifier, True, sources=sources, settings=settings
            )
            rejection = outcome if isinstance(outcome, AuthRejection) else None
        if rejection is not None:
            await _send_refusal(rejection, scope, receive, send)
            return
        await self.app(scope, receive, send)
