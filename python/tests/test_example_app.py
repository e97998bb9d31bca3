"""python/examples/fastapi_app.py's app, on the mock provider."""

import importlib.util
import pathlib

from fastapi.testclient import TestClient

from jwks_auth import InMemoryRevocationStore, Verifier

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "fastapi_app.py"


def load_example():
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def revocable(mock_provider, **store_options) -> Verifier:
    store = InMemoryRevocationStore(**store_options)
    return Verifier(mock_provider.provider(), revocation=store)


def test_example_app_serves_the_mock_users(mock_provider):
    app = load_example().build_app(revocable(mock_provider))
    token = mock_provider.token().sub("user_demo").scope("read:notes").sign()
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/me").status_code == 401
        assert client.get("/api/me", headers=auth).json()["id"] == "user_demo"
        assert client.get("/api/notes", headers=auth).status_code == 200
        assert client.get("/api/users/someone", headers=auth).status_code == 403
        assert client.get("/", headers=auth).json() == {"hello": "user_demo"}


def test_example_logout_revokes_the_session_then_the_token_gets_401(mock_provider):
    app = load_example().build_app(revocable(mock_provider))
    session_token = mock_provider.token().sub("user_demo").sid("sess_1").sign()
    other_session = mock_provider.token().sub("user_demo").sid("sess_2").sign()
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {session_token}"}
        assert client.get("/api/me", headers=auth).status_code == 200
        response = client.post("/api/logout", headers=auth)
        assert (response.status_code, response.content) == (204, b"")
        refused = client.get("/api/me", headers=auth)
        assert (refused.status_code, refused.json()) == (401, {"error": "invalid_token"})
        assert client.post("/api/logout", headers=auth).status_code == 401
        # Only that session was signed out.
        other = {"Authorization": f"Bearer {other_session}"}
        assert client.get("/api/me", headers=other).status_code == 200


def test_example_logout_without_a_session_revokes_the_user(mock_provider):
    app = load_example().build_app(revocable(mock_provider))
    first, second = (mock_provider.token().sub("user_demo").sign() for _ in range(2))
    someone_else = mock_provider.token().sub("user_other").sign()
    with TestClient(app) as client:
        assert client.post("/api/logout", headers=bearer(first)).status_code == 204
        assert client.get("/api/me", headers=bearer(second)).status_code == 401
        assert client.get("/api/me", headers=bearer(someone_else)).status_code == 200


def test_example_logout_answers_503_when_the_store_is_full(mock_provider):
    app = load_example().build_app(revocable(mock_provider, capacity=1))
    with TestClient(app) as client:
        first = mock_provider.token().sub("a").sid("sess_a").sign()
        second = mock_provider.token().sub("b").sid("sess_b").sign()
        assert client.post("/api/logout", headers=bearer(first)).status_code == 204
        response = client.post("/api/logout", headers=bearer(second))
        unavailable = (503, {"error": "temporarily_unavailable"})
        assert (response.status_code, response.json()) == unavailable
        assert client.get("/api/me", headers=bearer(second)).status_code == 200


def test_example_logout_is_501_without_revocation(mock_provider):
    app = load_example().build_app(Verifier(mock_provider.provider()))
    with TestClient(app) as client:
        token = mock_provider.token().sign()
        assert client.post("/api/logout", headers=bearer(token)).status_code == 501


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
