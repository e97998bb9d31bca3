"""python/examples/fastapi_app.py's app, on the mock provider."""

import importlib.util
import pathlib

from fastapi.testclient import TestClient

from jwks_auth import Verifier

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "fastapi_app.py"


def load_example():
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_app_serves_the_mock_users(mock_provider):
    app = load_example().build_app(Verifier(mock_provider.provider()))
    token = mock_provider.token().sub("user_demo").scope("read:notes").sign()
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/me").status_code == 401
        assert client.get("/api/me", headers=auth).json()["id"] == "user_demo"
        assert client.get("/api/notes", headers=auth).status_code == 200
        assert client.get("/api/users/someone", headers=auth).status_code == 403
        assert client.get("/", headers=auth).json() == {"hello": "user_demo"}
