"""AuthMiddleware on a real uvicorn, deployed the ways apps are: mounted under a prefix
(``outer.mount("/svc", app)``) and behind a proxy prefix (``uvicorn --root-path /v1``).
The middleware must guard the path the router routes, not ``scope["path"]``."""

import httpx
import pytest
from fastapi import FastAPI, Request

from jwks_auth import Verifier
from jwks_auth.fastapi import AuthMiddleware, configure
from live_server import LiveServer


def guarded_app(verifier: Verifier) -> FastAPI:
    app = FastAPI()
    configure(app, verifier)
    app.add_middleware(AuthMiddleware, public_paths=["/api/public"])

    @app.get("/api/secret")
    async def secret(request: Request):
        # Unguarded, this answers 200 with no user (rather than failing on a missing one).
        user = getattr(request.state, "user", None)
        return {"id": user.id if user else None}

    @app.get("/api/public")
    async def public():
        return {"public": True}

    @app.get("/health")
    async def health():
        return {"ok": True}

    return app


@pytest.fixture(params=["mounted", "root_path"])
def deployment(request, verifier):
    """(server, the base URL the inner app's routes live under)."""
    app = guarded_app(verifier)
    if request.param == "mounted":
        outer = FastAPI()
        outer.mount("/svc", app)
        server = LiveServer(outer)
        base = server.url + "/svc"
    else:
        # A proxy strips /v1 and uvicorn is told so: scope["path"] is "/v1/api/...".
        server = LiveServer(app, root_path="/v1")
        base = server.url
    try:
        yield server, base
    finally:
        server.close()


def test_guarded_route_needs_a_token(deployment, mock_provider):
    _, base = deployment
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
    _, base = deployment
    assert httpx.get(base + "/api/public").json() == {"public": True}
    assert httpx.get(base + "/health").json() == {"ok": True}
