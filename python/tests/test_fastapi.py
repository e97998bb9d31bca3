"""jwks_auth.fastapi against a FastAPI app with TestClient: every status, headers, bodies."""

from contextlib import asynccontextmanager
from typing import Optional

import pytest
from fastapi import Depends, FastAPI, Request, WebSocket
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from guarded_app import guarded_app, without_denial_responses
from jwks_auth import AuthUser, Verifier
from jwks_auth.fastapi import (
    AuthMiddleware,
    configure,
    current_user,
    get_verifier,
    optional_user,
    require_same_user,
    require_scopes,
)
from jwks_auth.testing import MockProvider

BEARER = 'Bearer realm="api"'
INVALID_TOKEN = 'Bearer realm="api", error="invalid_token"'
INVALID_REQUEST = 'Bearer realm="api", error="invalid_request"'


def make_app(verifier: Verifier, **settings) -> FastAPI:
    app = FastAPI()
    configure(app, verifier, **settings)

    @app.get("/health")
    async def health():
        return {"ok": True}

    @app.get("/api/me")
    async def me(user: AuthUser = Depends(current_user)):
        return {"id": user.id, "email": user.email, "scopes": user.scopes, "kind": user.kind}

    @app.get("/api/maybe")
    async def maybe(user: Optional[AuthUser] = Depends(optional_user)):
        return {"id": user.id if user else None}

    @app.get("/api/notes", dependencies=[Depends(require_scopes("read:notes"))])
    async def notes():
        return {"notes": []}

    @app.get("/api/admin")
    async def admin(user: AuthUser = Depends(require_scopes("admin", "write:all"))):
        return {"id": user.id}

    @app.get("/api/users/{user_id}")
    async def profile(user_id: str, user: AuthUser = Depends(require_same_user("user_id"))):
        return {"id": user_id}

    @app.get("/sync")
    def sync_route(user: AuthUser = Depends(current_user)):
        return {"id": user.id}

    return app


@pytest.fixture
def client(verifier):
    with TestClient(make_app(verifier)) as client:
        yield client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_no_token_echo(response, token: str) -> None:
    text = response.text + "".join(f"{k}:{v}" for k, v in response.headers.items())
    for part in token.split("."):
        if len(part) > 8:
            assert part not in text


def test_valid_token_200(client, mock_provider):
    token = mock_provider.token().sub("user_1").email("ada@example.com").sign()
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "id": "user_1",
        "email": "ada@example.com",
        "scopes": [],
        "kind": "user",
    }
    # Sync (threadpool) routes work too.
    assert client.get("/sync", headers=bearer(token)).json() == {"id": "user_1"}


def test_no_token_401_missing_token(client):
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == BEARER
    assert response.json() == {"error": "missing_token"}


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.token().expired().sign(),
        lambda m: m.token().sign_with_wrong_key(),
        lambda m: m.token().issuer("https://evil.example").sign(),
        lambda m: m.token().sign_none(),
        lambda m: "garbage-token",
    ],
)
def test_rejected_token_401_invalid_token(client, mock_provider, make):
    token = make(mock_provider)
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID_TOKEN
    assert response.json() == {"error": "invalid_token"}
    assert_no_token_echo(response, token)


def test_other_scheme_401_invalid_request(client):
    response = client.get("/api/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == BEARER
    assert response.json() == {"error": "invalid_request"}


@pytest.mark.parametrize(
    "headers",
    [
        [("authorization", "")],
        [("authorization", "Bearer")],
        [("authorization", "Bearer a.b.c extra")],
        [("authorization", "Bearer\ta.b.c")],
        [("authorization", "Bearer a.b.c\u00e9".encode("utf-8"))],
        [("authorization", "Bearer a.b.c"), ("authorization", "Bearer d.e.f")],
    ],
)
def test_malformed_authorization_400_invalid_request(client, headers):
    response = client.get("/api/me", headers=headers)
    assert response.status_code == 400
    assert response.headers["www-authenticate"] == INVALID_REQUEST
    assert response.json() == {"error": "invalid_request"}


def test_missing_scope_403_insufficient_scope(client, mock_provider):
    token = mock_provider.token().scope("write:notes").sign()
    response = client.get("/api/notes", headers=bearer(token))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", scope="read:notes"'
    )
    assert response.json() == {"error": "insufficient_scope", "scope": "read:notes"}
    ok = client.get("/api/notes", headers=bearer(mock_provider.token().scope("read:notes").sign()))
    assert ok.status_code == 200


def test_require_scopes_needs_every_scope(client, mock_provider):
    one = mock_provider.token().scope("admin").sign()
    assert client.get("/api/admin", headers=bearer(one)).status_code == 403
    both = mock_provider.token().sub("root").scope("admin write:all").sign()
    response = client.get("/api/admin", headers=bearer(both))
    assert (response.status_code, response.json()) == (200, {"id": "root"})


def test_require_same_user_403_for_another_user(client, mock_provider):
    token = mock_provider.token().sub("alice").sign()
    assert client.get("/api/users/alice", headers=bearer(token)).status_code == 200
    response = client.get("/api/users/bob", headers=bearer(token))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api", error="insufficient_scope"'
    )
    assert response.json() == {"error": "insufficient_scope"}


def test_keys_unavailable_503_with_retry_after(client, mock_provider):
    mock_provider.fail_next(5, 503)
    token = mock_provider.token().sign()
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert "www-authenticate" not in response.headers
    assert response.json() == {"error": "temporarily_unavailable"}
    assert_no_token_echo(response, token)


def test_realm_and_retry_after_are_configurable(mock_provider, verifier):
    with TestClient(make_app(verifier, realm="notes", retry_after=7)) as client:
        assert client.get("/api/me").headers["www-authenticate"] == 'Bearer realm="notes"'
        mock_provider.fail_next(5, 503)
        response = client.get("/api/me", headers=bearer(mock_provider.token().sign()))
        assert (response.status_code, response.headers["retry-after"]) == (503, "7")


def test_optional_user(client, mock_provider):
    assert client.get("/api/maybe").json() == {"id": None}
    token = mock_provider.token().sub("u9").sign()
    assert client.get("/api/maybe", headers=bearer(token)).json() == {"id": "u9"}
    # A bad token is still refused: the client meant to authenticate.
    bad = client.get("/api/maybe", headers=bearer(mock_provider.token().expired().sign()))
    assert bad.status_code == 401


def test_rotation_through_the_app_costs_exactly_one_refetch(client, mock_provider):
    assert client.get("/api/me", headers=bearer(mock_provider.token().sign())).status_code == 200
    assert mock_provider.jwks_requests == 1
    mock_provider.rotate()
    rotated = mock_provider.token().sub("after-rotation").sign()
    for _ in range(5):
        response = client.get("/api/me", headers=bearer(rotated))
        assert response.json()["id"] == "after-rotation"
    assert mock_provider.jwks_requests == 2


def test_clerk_session_cookie():
    with MockProvider("clerk") as mock:
        app_origin = "https://app.example.com"
        app = make_app(Verifier(mock.provider(), authorized_parties=[app_origin]))
        token = mock.token().sub("user_clerk").azp(app_origin).sign()
        with TestClient(app) as client:
            client.cookies.set("__session", token)
            response = client.get("/api/me")
            assert (response.status_code, response.json()["id"]) == (200, "user_clerk")
            # A present but malformed Authorization header is not a reason to use the cookie.
            response = client.get("/api/me", headers={"Authorization": ""})
            assert response.status_code == 400


def test_clerk_session_cookie_is_not_read_without_authorized_parties():
    with MockProvider("clerk") as mock:
        app = make_app(Verifier(mock.provider()))
        token = mock.token().sub("user_clerk").azp("https://app.example.com").sign()
        with TestClient(app) as client:
            client.cookies.set("__session", token)
            assert client.get("/api/me").status_code == 401


def test_cookie_is_ignored_for_bearer_only_presets(client, mock_provider):
    client.cookies.set("__session", mock_provider.token().sign())
    assert client.get("/api/me").status_code == 401


def test_middleware_guards_every_api_route(mock_provider, verifier):
    app = FastAPI()
    configure(app, verifier)
    app.add_middleware(AuthMiddleware, public_paths=["/api/public"])
    calls = []

    @app.get("/api/anything")
    async def anything(request: Request):
        calls.append("anything")
        return {"id": request.state.user.id}

    @app.get("/api/me")
    async def me(user: AuthUser = Depends(current_user)):
        return {"id": user.id}

    @app.get("/api/public")
    async def public():
        return {"public": True}

    @app.get("/")
    async def index():
        return {"index": True}

    with TestClient(app) as client:
        response = client.get("/api/anything")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == BEARER
        assert response.json() == {"error": "missing_token"}
        assert calls == []  # the route never ran
        bad = client.get("/api/anything", headers=bearer("x.y.z"))
        assert (bad.status_code, bad.json()) == (401, {"error": "invalid_token"})
        assert client.get("/api/public").status_code == 200
        assert client.get("/").status_code == 200
        token = mock_provider.token().sub("mw").sign()
        assert client.get("/api/anything", headers=bearer(token)).json() == {"id": "mw"}
        assert client.get("/api/me", headers=bearer(token)).json() == {"id": "mw"}
        assert calls == ["anything"]
        mock_provider.fail_next(5, 503)
    # A fresh verifier: its first fetch fails.
    app2 = FastAPI()
    fresh = Verifier(mock_provider.provider())
    app2.add_middleware(AuthMiddleware, verifier=fresh)

    @app2.get("/api/x")
    async def x():
        return {}

    with TestClient(app2) as client:
        response = client.get("/api/x", headers=bearer(mock_provider.token().sign()))
        assert (response.status_code, response.headers["retry-after"]) == (503, "30")


def test_verifier_can_be_overridden(mock_provider, verifier):
    app = make_app(verifier)
    with MockProvider("better-auth") as other:
        app.dependency_overrides[get_verifier] = lambda: Verifier(other.provider())
        with TestClient(app) as client:
            mine = client.get("/api/me", headers=bearer(mock_provider.token().sign()))
            theirs = client.get("/api/me", headers=bearer(other.token().sign()))
            assert (mine.status_code, theirs.status_code) == (401, 200)


def test_unconfigured_app_fails_loudly(mock_provider):
    app = FastAPI()

    @app.get("/api/me")
    async def me(user: AuthUser = Depends(current_user)):
        return {}

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/me", headers=bearer(mock_provider.token().sign()))
        assert response.status_code == 500


def test_openapi_declares_the_bearer_scheme(client):
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert schema["paths"]["/api/me"]["get"]["security"] == [{"HTTPBearer": []}]


# -- WebSockets ------------------------------------------------------------------------------


def echo_through(client: TestClient, path: str, **kwargs) -> str:
    with client.websocket_connect(path, **kwargs) as websocket:
        websocket.send_text("hi")
        return websocket.receive_text()


def assert_denied(client: TestClient, path: str, status: int, error: str, **kwargs):
    with pytest.raises(WebSocketDenialResponse) as denied:
        with client.websocket_connect(path, **kwargs):
            pass
    response = denied.value
    assert (response.status_code, response.json()) == (status, {"error": error})
    return response


def test_middleware_refuses_websockets_without_a_valid_token(mock_provider, verifier):
    with TestClient(guarded_app(verifier)) as client:
        missing = assert_denied(client, "/api/ws", 401, "missing_token")
        assert missing.headers["www-authenticate"] == BEARER
        forged = mock_provider.token().sign_with_wrong_key()
        bad = assert_denied(client, "/api/ws", 401, "invalid_token", headers=bearer(forged))
        assert bad.headers["www-authenticate"] == INVALID_TOKEN
        assert_no_token_echo(bad, forged)
        expired = mock_provider.token().expired().sign()
        assert_denied(client, "/api/ws", 401, "invalid_token", headers=bearer(expired))
        assert_denied(client, "/api/ws", 400, "invalid_request", headers={"Authorization": ""})
    # A fresh verifier: its first fetch fails.
    mock_provider.fail_next(5, 503)
    with TestClient(guarded_app(Verifier(mock_provider.provider()))) as client:
        token = mock_provider.token().sign()
        unavailable = assert_denied(
            client, "/api/ws", 503, "temporarily_unavailable", headers=bearer(token)
        )
        assert unavailable.headers["retry-after"] == "30"


def test_middleware_accepts_websockets_with_a_valid_token(mock_provider, verifier):
    token = mock_provider.token().sub("ws_user").sign()
    with TestClient(guarded_app(verifier)) as client:
        assert echo_through(client, "/api/ws", headers=bearer(token)) == "ws_user:hi"
        # current_user works in WebSocket routes, reusing the middleware's user.
        with client.websocket_connect("/api/ws-me", headers=bearer(token)) as websocket:
            assert websocket.receive_text() == "ws_user"
        # Public and unguarded paths stay open.
        assert echo_through(client, "/api/public-ws") == "None:hi"
        assert echo_through(client, "/ws") == "None:hi"


def test_websocket_session_cookie():
    origin = "https://app.example.com"
    with MockProvider("clerk") as mock:
        verifier = Verifier(mock.provider(), authorized_parties=[origin])
        with TestClient(guarded_app(verifier)) as client:
            client.cookies.set("__session", mock.token().sub("user_clerk").azp(origin).sign())
            assert echo_through(client, "/api/ws") == "user_clerk:hi"


def test_websocket_query_parameter_is_opt_in(mock_provider, verifier):
    token = mock_provider.token().sub("from_query").sign()
    with TestClient(guarded_app(verifier)) as client:
        assert_denied(client, f"/api/ws?access_token={token}", 401, "missing_token")
    app = guarded_app(verifier, websocket_query_param="access_token")
    with TestClient(app) as client:
        assert echo_through(client, f"/api/ws?access_token={token}") == "from_query:hi"
        assert_denied(client, "/api/ws?access_token=x.y.z", 401, "invalid_token")
        assert_denied(client, "/api/ws", 401, "missing_token")
        several = f"/api/ws?access_token={token}&access_token={token}"
        assert_denied(client, several, 400, "invalid_request")
        # Plain HTTP requests never read it.
        response = client.get(f"/api/ws?access_token={token}")
        assert response.json() == {"error": "missing_token"}


def test_websocket_refusal_closes_with_1008_without_the_denial_extension(mock_provider, verifier):
    app = guarded_app(verifier)
    with TestClient(without_denial_responses(app)) as client:
        for headers in [{}, bearer("x.y.z")]:
            with pytest.raises(WebSocketDisconnect) as closed:
                with client.websocket_connect("/api/ws", headers=headers):
                    pass
            assert closed.value.code == 1008
        assert closed.value.reason == "invalid_token"
        token = mock_provider.token().sub("no_ext").sign()
        assert echo_through(client, "/api/ws", headers=bearer(token)) == "no_ext:hi"


def test_current_user_refuses_websockets_without_the_middleware(mock_provider, verifier):
    app = FastAPI()
    configure(app, verifier)

    @app.websocket("/ws-me")
    async def me(websocket: WebSocket, user: AuthUser = Depends(current_user)):
        await websocket.accept()
        await websocket.send_text(user.id)
        await websocket.close()

    with TestClient(app) as client:
        assert_denied(client, "/ws-me", 401, "missing_token")
        token = mock_provider.token().sub("dep").sign()
        with client.websocket_connect("/ws-me", headers=bearer(token)) as websocket:
            assert websocket.receive_text() == "dep"
    with TestClient(without_denial_responses(app)) as client:
        with pytest.raises(WebSocketDisconnect) as closed:
            with client.websocket_connect("/ws-me"):
                pass
        assert (closed.value.code, closed.value.reason) == (1008, "missing_token")


def test_middleware_lets_lifespan_through(verifier):
    events = []

    @asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)
    app.add_middleware(AuthMiddleware, verifier=verifier, prefix="/")
    with TestClient(app):
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]
