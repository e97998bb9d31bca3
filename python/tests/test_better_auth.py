"""A real Better Auth server's token through the wheel and the FastAPI dependency."""

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from better_auth_server import BetterAuthServer
from jwks_auth import AuthUser, InvalidToken, Provider, Verifier
from jwks_auth.fastapi import configure, current_user


@pytest.fixture(scope="module")
def server():
    server = BetterAuthServer("EdDSA")
    try:
        yield server
    finally:
        server.close()


def test_real_better_auth_token_verifies(server):
    user_id, session = server.sign_up("alice.py@example.com", "Alice")
    token = server.jwt(session)
    verifier = Verifier(Provider.better_auth(server.url))
    user = verifier.verify_sync(token)
    assert user.id == user_id
    assert user.email == "alice.py@example.com"
    assert user.email_verified is False
    assert user.issuer == server.url

    app = FastAPI()
    configure(app, verifier)

    @app.get("/api/me")
    async def me(user: AuthUser = Depends(current_user)):
        return {"id": user.id}

    with TestClient(app) as client:
        response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert (response.status_code, response.json()) == (200, {"id": user_id})
        # The session token is no JWT: refused with 401.
        response = client.get("/api/me", headers={"Authorization": f"Bearer {session}"})
        assert response.status_code == 401


def test_real_better_auth_token_from_another_origin_is_refused(server):
    _, session = server.sign_up("mallory.py@example.com", "Mallory")
    token = server.jwt(session)
    # Same keys, but the verifier expects another issuer (a port that is not the server's).
    other = Verifier(
        Provider.better_auth(server.url), issuer="http://127.0.0.1:1", audience="http://127.0.0.1:1"
    )
    with pytest.raises(InvalidToken) as caught:
        other.verify_sync(token)
    assert caught.value.kind == "invalid-issuer"
