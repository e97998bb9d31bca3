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
guard refuses (scope, same user)           403     ``..., error="insufficient_scope"[, scope=..]``  ``{"error":"insufficient_scope"}``
keys unreachable                           503     none, ``Retry-After: 30``                      ``{"error":"temporarily_unavailable"}``
=========================================  ======  =============================================  ==============================

No body or header ever contains the token. Tests can swap the verifier with
``app.dependency_overrides[get_verifier] = lambda: other_verifier``. Where the verifier's
provider names cookies (Clerk's ``__session``), tokens are also read from them, after the
``Authorization`` header, but only when the verifier checks ``azp``
(``Verifier(provider, authorized_parties=["https://app.example.com"])``): a browser sends the
cookie with requests other sites start too.
"""

from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Sequence

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ._errors import AuthError, InvalidRequest, MissingToken
from ._jwks_auth import AuthUser, Verifier

__all__ = [
    "AuthSettings",
    "AuthMiddleware",
    "AuthRejection",
    "configure",
    "current_user",
    "get_verifier",
    "optional_user",
    "require_same_user",
    "require_scopes",
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
    verifier: Verifier,
    *,
    realm: str = "api",
    retry_after: int = 30,
) -> None:
    """Stores ``verifier`` on ``app.state`` and answers ``AuthRejection`` with its own JSON
    body and headers (and a bare ``AuthError`` raised by your code the same way)."""
    setattr(app.state, STATE_VERIFIER, verifier)
    setattr(app.state, STATE_SETTINGS, AuthSettings(realm, retry_after))

    async def on_rejection(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthRejection)
        return JSONResponse(exc.body, status_code=exc.status_code, headers=exc.headers)

    async def on_auth_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)
        rejection = AuthRejection.from_error(exc, _settings(request))
        return await on_rejection(request, rejection)

    app.add_exception_handler(AuthRejection, on_rejection)
    app.add_exception_handler(AuthError, on_auth_error)


def _settings(request: Request) -> AuthSettings:
    return getattr(request.app.state, STATE_SETTINGS, None) or AuthSettings()


def get_verifier(request: Request) -> Verifier:
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


def find_token(request: Request, sources: Sequence[str]) -> Optional[str]:
    """The token of the first of ``sources`` (``"bearer"``, ``"cookie:<name>"``) present in
    ``request``; ``None`` when there is none. A present but unusable ``Authorization`` header
    raises ``InvalidRequest`` (never a reason to read a cookie instead)."""
    for source in sources or ["bearer"]:
        if source == "bearer":
            found = _authorization_token(request.headers.getlist("authorization"))
        elif source.startswith("cookie:"):
            found = _cookie_value(request.headers.getlist("cookie"), source[len("cookie:") :])
        else:
            found = None
        if found is not None:
            return found
    return None


def _rejection_for_request_error(err: AuthError, settings: AuthSettings) -> AuthRejection:
    if isinstance(err, _UnsupportedScheme):
        return AuthRejection(401, "invalid_request", None, settings)
    return AuthRejection(400, "invalid_request", "invalid_request", settings)


async def _authenticate(request: Request, verifier: Verifier, required: bool) -> Optional[AuthUser]:
    cached = getattr(request.state, STATE_USER, None)
    if isinstance(cached, AuthUser):
        return cached  # the middleware verified this request already
    settings = _settings(request)
    try:
        token = find_token(request, verifier.token_sources)
    except AuthError as err:
        raise _rejection_for_request_error(err, settings) from None
    if token is None:
        if required:
            raise AuthRejection.from_error(MissingToken("no bearer token in the request"), settings)
        return None
    try:
        user = await verifier.verify(token)
    except AuthError as err:
        # `from None`: the rejection carries no reference to the token or the error chain.
        raise AuthRejection.from_error(err, settings) from None
    setattr(request.state, STATE_USER, user)
    return user


# Declares the bearer scheme in the OpenAPI document (the "Authorize" button of /docs); it
# never answers by itself (`auto_error=False`): the token is read and judged below.
_bearer_scheme = HTTPBearer(auto_error=False, description="A JWT issued by the provider")


async def current_user(
    request: Request,
    verifier: Verifier = Depends(get_verifier),
    _openapi: Optional[HTTPAuthorizationCredentials] = Security(_bearer_scheme),
) -> AuthUser:
    """The verified user of the request, or a 401/400/503 answer.

    ``user: AuthUser = Depends(current_user)``
    """
    user = await _authenticate(request, verifier, required=True)
    assert user is not None
    return user


async def optional_user(
    request: Request,
    verifier: Verifier = Depends(get_verifier),
    _openapi: Optional[HTTPAuthorizationCredentials] = Security(_bearer_scheme),
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

    async def dependency(request: Request, user: AuthUser = Depends(current_user)) -> AuthUser:
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

    async def dependency(request: Request, user: AuthUser = Depends(current_user)) -> AuthUser:
        value = request.path_params.get(param)
        if value is None:
            raise RuntimeError(f"require_same_user: the route has no path parameter `{param}`")
        if str(value) != user.id:
            raise AuthRejection(403, "insufficient_scope", "insufficient_scope", _settings(request))
        return user

    return dependency


class AuthMiddleware:
    """ASGI middleware guarding every path under ``prefix`` (default ``/api/``) except
    ``public_paths``: requests without a valid token are refused before any route runs;
    the verified user is on ``request.state.user`` (and ``current_user`` reuses it).

    ``app.add_middleware(AuthMiddleware, verifier=verifier)`` (or, after ``configure``,
    without ``verifier``: the app's is used).
    """

    def __init__(
        self,
        app: Any,
        verifier: Optional[Verifier] = None,
        prefix: str = "/api/",
        public_paths: Sequence[str] = (),
        settings: Optional[AuthSettings] = None,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.prefix = prefix
        self.public_paths = frozenset(public_paths)
        self.settings = settings

    def _guarded(self, path: str) -> bool:
        if path in self.public_paths:
            return False
        return path.startswith(self.prefix) or path == self.prefix.rstrip("/")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self._guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        verifier = self.verifier or getattr(request.app.state, STATE_VERIFIER, None)
        settings = self.settings or _settings(request)
        if verifier is None:
            rejection = AuthRejection(500, "server_error", None, settings, challenge=False)
        else:
            try:
                await _authenticate(request, verifier, required=True)
                rejection = None
            except AuthRejection as refused:
                rejection = refused
        if rejection is not None:
            response = JSONResponse(
                rejection.body, status_code=rejection.status_code, headers=rejection.headers
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
