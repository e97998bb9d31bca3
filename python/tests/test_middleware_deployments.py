"""AuthMiddleware on a real uvicorn, deployed the ways apps are: mounted under a prefix
(``outer.mount("/svc", app)``) and behind a proxy prefix (``uvicorn --root-path /v1``).
The middleware must guard the path the router routes, not ``scope["path"]``, for HTTP
requests and WebSocket handshakes alike (the client here is the `websockets` package)."""

import json

import httpx
import pytest
from fastapi import FastAPI
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from guarded_app import guarded_app, without_denial_responses
from live_server import LiveServer


@pytest.fixture(params=["mounted", "root_path"])
def deployment(request, verifier):
    """(server, the base URL the inner app's routes live under)."""
    app = guarded_app(verifier)
    if request.param == "mounted":
        outer = FastAPI()
        outer.mount("/svc", app)
        server = LiveServer(outer)
        prefix = "/svc"
    else:
        # A proxy strips /v1 and uvicorn is told so: scope["path"] is "/v1/api/...".
        server = LiveServer(app, root_path="/v1")
        prefix = ""
    try:
        yield server, server.url + prefix, server.ws_url + prefix
    finally:
        server.close()


def test_guarded_route_needs_a_token(deployment, mock_provider):
    _, base, _ = deployment
    response = httpx.get(base + "/api/secret")
    assert response.status_code == 401
    assert response.json() == {"error": "missing_token"}
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    bad = httpx.get(base + "/api/secret", headers={"Authorization": "Bearer x.y.z"})
    assert (bad.status_code, bad.json()) == (401, {"error": "invalid_token"})
    token = mock_provider.token().sub("deployed").sign()
    ok = httpx.get(base + "/api/secret", headers={"Authorization": f"Bearer {token}"})
    assert (ok.status_code, ok.json()) == (200, {"id": "deployed"})


def test_public_and_unguarded_paths_stay_open(deployment):
    _, base, _ = deployment
    assert httpx.get(base + "/api/public").json() == {"public": True}
    assert httpx.get(base + "/health").json() == {"ok": True}


def echo_through(url: str, **kwargs) -> str:
    with connect(url, open_timeout=10, **kwargs) as websocket:
        websocket.send("hi")
        return websocket.recv(timeout=10)


def refused_handshake(url: str, **kwargs):
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=10, **kwargs)
    return refused.value.response


def test_guarded_websocket_needs_a_token(deployment, mock_provider):
    _, _, ws_base = deployment
    # uvicorn supports the "websocket.http.response" extension: the HTTP path's answer.
    missing = refused_handshake(ws_base + "/api/ws")
    assert (missing.status_code, json.loads(missing.body)) == (401, {"error": "missing_token"})
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    forged = {"Authorization": "Bearer x.y.z"}
    bad = refused_handshake(ws_base + "/api/ws", additional_headers=forged)
    assert (bad.status_code, json.loads(bad.body)) == (401, {"error": "invalid_token"})
    token = mock_provider.token().sub("ws_deployed").sign()
    auth = {"Authorization": f"Bearer {token}"}
    assert echo_through(ws_base + "/api/ws", additional_headers=auth) == "ws_deployed:hi"


def test_public_and_unguarded_websockets_stay_open(deployment):
    _, _, ws_base = deployment
    assert echo_through(ws_base + "/api/public-ws") == "None:hi"
    assert echo_through(ws_base + "/ws") == "None:hi"


def test_websocket_refusal_without_the_denial_extension(verifier, mock_provider):
    with LiveServer(without_denial_responses(guarded_app(verifier))) as server:
        # Closed (1008) before accept: uvicorn answers the handshake with 403.
        assert refused_handshake(server.ws_url + "/api/ws").status_code == 403
        token = mock_provider.token().sub("no_ext").sign()
        auth = {"Authorization": f"Bearer {token}"}
        assert echo_through(server.ws_url + "/api/ws", additional_headers=auth) == "no_ext:hi"
