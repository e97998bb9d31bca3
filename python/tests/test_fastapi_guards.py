"""`require_user_token`, `require_claim`, a `MultiVerifier` behind `configure`, and how
revocation refusals are answered, through a FastAPI TestClient."""

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from jwks_auth import AuthUser, InMemoryRevocationStore, MultiVerifier, Verifier
from jwks_auth.fastapi import configure, current_user, require_claim, require_user_token
from jwks_auth.testing import MockProvider

CLERK_M2M = "cl_B7d4PD333AAA"
FORBIDDEN = 'Bearer realm="api", error="insufficient_scope"'


def guarded(verifier) -> FastAPI:
    app = FastAPI()
    configure(app, verifier)

    @app.get("/api/me")
    async def me(user: AuthUser = Depends(current_user)):
        return {"id": user.id}

    @app.get("/api/people")
    async def people(user: AuthUser = Depends(require_user_token())):
        return {"id": user.id}

    @app.get("/api/admin", dependencies=[Depends(require_claim("role", "admin"))])
    async def admin():
        return {}

    @app.get("/api/editors", dependencies=[Depends(require_claim("realm_access.roles", "editor"))])
    async def editors():
        return {}

    @app.get("/api/level-one", dependencies=[Depends(require_claim("level", 1))])
    async def level_one():
        return {}

    return app


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def status(client: TestClient, path: str, token: str) -> int:
    response = client.get(path, headers=bearer(token))
    if response.status_code == 403:
        assert response.headers["www-authenticate"] == FORBIDDEN
        assert response.json() == {"error": "insufficient_scope"}
    return response.status_code


def test_require_user_token_refuses_machine_tokens_with_403():
    with MockProvider("clerk") as mock:
        verifier = Verifier(mock.provider(), token_classes=["session", "m2m"])
        with TestClient(guarded(verifier)) as client:
            session = mock.token().sub("user_1").sign()
            machine = mock.token().sub("mch_1").header("cat", CLERK_M2M).sign()
            assert status(client, "/api/people", session) == 200
            assert status(client, "/api/people", machine) == 403
            assert status(client, "/api/me", machine) == 200  # authenticated all the same


@pytest.fixture
def client(verifier):
    with TestClient(guarded(verifier)) as client:
        yield client


def test_require_claim_compares_the_json_value(client, mock_provider):
    def with_claim(name, value):
        return mock_provider.token().claim(name, value).sign()

    assert status(client, "/api/admin", with_claim("role", "admin")) == 200
    assert status(client, "/api/admin", with_claim("role", "user")) == 403
    assert status(client, "/api/admin", with_claim("role", ["user", "admin"])) == 200
    assert status(client, "/api/admin", with_claim("role", ["user"])) == 403
    assert status(client, "/api/admin", mock_provider.token().sign()) == 403  # no claim
    # JSON equality: `true` is not `1`, `"1"` is not `1`, and `1.0` is not the integer `1`.
    assert status(client, "/api/level-one", with_claim("level", 1)) == 200
    for other in (True, "1", 1.5, 1.0):
        assert status(client, "/api/level-one", with_claim("level", other)) == 403, other


def test_require_claim_follows_a_dotted_path(client, mock_provider):
    def roles(value):
        return mock_provider.token().claim("realm_access", {"roles": value}).sign()

    assert status(client, "/api/editors", roles(["reader", "editor"])) == 200
    assert status(client, "/api/editors", roles(["reader"])) == 403
    flat = mock_provider.token().claim("realm_access.roles", "editor").sign()
    assert status(client, "/api/editors", flat) == 200  # a claim named with the dot wins


def test_require_claim_rejects_a_value_that_is_not_json():
    with pytest.raises(TypeError):
        require_claim("role", object())


def test_configure_takes_a_multi_verifier():
    with MockProvider("better-auth") as web, MockProvider("clerk") as clerk:
        origin = "https://app.example.com"
        clerk_verifier = Verifier(clerk.provider(), authorized_parties=[origin])
        multi = MultiVerifier([Verifier(web.provider()), clerk_verifier])
        with TestClient(guarded(multi)) as client:
            assert client.get("/api/me", headers=bearer(web.token().sub("w").sign())).json() == {
                "id": "w"
            }
            client.cookies.set("__session", clerk.token().sub("c").azp(origin).sign())
            assert client.get("/api/me").json() == {"id": "c"}
            with MockProvider("better-auth") as third:
                response = client.get("/api/me", headers=bearer(third.token().sign()))
                assert response.status_code == 401


def test_a_revoked_token_is_answered_401_invalid_token(mock_provider):
    verifier = Verifier(mock_provider.provider(), revocation=InMemoryRevocationStore())
    token = mock_provider.token().sub("user_1").sign()
    with TestClient(guarded(verifier)) as client:
        assert status(client, "/api/me", token) == 200
        verifier.revocations.revoke_user_sync("user_1")
        response = client.get("/api/me", headers=bearer(token))
        assert (response.status_code, response.json()) == (401, {"error": "invalid_token"})
