"""A refusal never carries the token: not in its args, str or repr, not in a chained
exception (``__context__`` survives ``raise ... from None``), not in the locals of the
frames of any of their tracebacks (what error trackers and ``logging.exception`` read)."""

import asyncio
import os
from typing import List

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

import jwks_auth
import jwks_auth.fastapi
from jwks_auth import AuthError, AuthUser, Verifier
from jwks_auth.fastapi import (
    AuthMiddleware,
    AuthRejection,
    configure,
    current_user,
    optional_user,
)
from jwks_auth.testing import MockProvider

PACKAGE_DIR = os.path.dirname(jwks_auth.__file__)


def where_readable(
    exc: BaseException, secret: str, package_frames_only: bool = False
) -> List[str]:
    """Where ``secret`` can be read from ``exc``: its chain (``__context__``, ``__cause__``),
    their args, str, repr and traceback frames' locals. This file's frames hold the secret by
    construction and are skipped; ``package_frames_only`` skips the web framework's too (they
    hold the ASGI scope, so the request's headers)."""
    found: List[str] = []
    seen = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        name = type(current).__name__
        texts = {"args": repr(current.args), "str": str(current), "repr": repr(current)}
        for part, text in texts.items():
            if secret in text:
                found.append(f"{name}.{part}")
        tb = current.__traceback__
        while tb is not None:
            frame, tb = tb.tb_frame, tb.tb_next
            filename = frame.f_code.co_filename
            framework = package_frames_only and not filename.startswith(PACKAGE_DIR)
            if filename == __file__ or framework:
                continue
            if secret in repr(frame.f_locals):
                found.append(f"{name}: locals of {frame.f_code.co_name} ({filename})")
        pending += [current.__context__, current.__cause__]
    return found


def signature(token: str) -> str:
    """The part of a token only that token has (its header and claims may repeat)."""
    return token.rsplit(".", 1)[-1]


BAD_TOKENS = [
    lambda mock: mock.token().expired().sign(),
    lambda mock: mock.token().sign_with_wrong_key(),
    lambda mock: mock.token().issuer("https://evil.example").sign(),
]


@pytest.mark.parametrize("make", BAD_TOKENS)
def test_verify_sync_and_verify_errors(mock_provider, verifier, make):
    token = make(mock_provider)

    async def verify() -> AuthUser:
        return await verifier.verify(token)

    attempts = [
        lambda: asyncio.run(verify()),  # a key fetch: through an asyncio future
        lambda: asyncio.run(verify()),  # keys cached: done at once
        lambda: verifier.verify_sync(token),
    ]
    for attempt in attempts:
        with pytest.raises(AuthError) as refused:
            attempt()
        assert where_readable(refused.value, signature(token)) == []


def direct_call(dependency, app: FastAPI, verifier: Verifier, headers) -> BaseException:
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "app": app}
    request = Request({**scope, "headers": headers})
    with pytest.raises(AuthRejection) as refused:
        asyncio.run(dependency(request, verifier, None))
    return refused.value


@pytest.mark.parametrize("dependency", [current_user, optional_user])
def test_current_user_rejections(mock_provider, verifier, dependency):
    app = FastAPI()
    configure(app, verifier)
    token = mock_provider.token().expired().sign()
    cases = [
        (401, [(b"authorization", f"Bearer {token}".encode())]),
        # Malformed: two tokens, and the token outside of the Authorization header.
        (400, [(b"authorization", f"Bearer {token} {token}".encode())]),
        (400, [(b"authorization", b"Bearer a"), (b"authorization", f"Bearer {token}".encode())]),
    ]
    for status, headers in cases:
        refused = direct_call(dependency, app, verifier, headers)
        assert refused.status_code == status
        assert (refused.__context__, refused.__cause__) == (None, None)
        assert where_readable(refused, signature(token)) == []


def test_clerk_cookie_rejection():
    with MockProvider("clerk") as mock:
        verifier = Verifier(mock.provider())
        app = FastAPI()
        configure(app, verifier)
        token = mock.token().expired().sign()
        cookie = [(b"cookie", f"__session={token}".encode())]
        refused = direct_call(current_user, app, verifier, cookie)
        assert refused.status_code == 401
        assert where_readable(refused, signature(token)) == []


def test_rejection_through_the_app(mock_provider, verifier):
    """Through FastAPI's dependency machinery: the refusal its exception handler gets."""
    app = FastAPI()
    configure(app, verifier)
    answer = app.exception_handlers[AuthRejection]
    token = mock_provider.token().sign_with_wrong_key()
    readable = []

    async def inspecting(request, exc):
        # Inspected here: Starlette drops the traceback once the handler returns.
        readable.append((exc.__context__, where_readable(exc, signature(token), True)))
        return await answer(request, exc)

    app.add_exception_handler(AuthRejection, inspecting)

    @app.get("/api/me")
    async def me(user: AuthUser = Depends(current_user)):
        return {"id": user.id}

    with TestClient(app) as client:
        response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert readable == [(None, [])]


def test_middleware_refusal(mock_provider, verifier, monkeypatch):
    """The refusal the middleware answers with: a plain value from the library's edge, not
    an exception (nothing chained, no traceback), that shows no part of the token."""
    send_refusal = jwks_auth.fastapi._send_refusal
    token = mock_provider.token().sign_with_wrong_key()
    readable = []

    async def inspecting(refusal, *args):
        assert not isinstance(refusal, BaseException)
        shown = [repr(refusal), repr(refusal.headers), repr(refusal.body), refusal.message]
        readable.append((None, [text for text in shown if signature(token) in text]))
        await send_refusal(refusal, *args)

    monkeypatch.setattr(jwks_auth.fastapi, "_send_refusal", inspecting)
    app = FastAPI()
    app.add_middleware(AuthMiddleware, verifier=verifier)
    with TestClient(app) as client:
        response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert readable == [(None, [])]
