"""Opaque tokens from Python: a Verifier with an Introspection endpoint (a loopback stub
here; tests/interop_oidc_provider.rs runs a real oidc-provider) accepts an active token,
caches the answer, refuses an inactive one, and FastAPI takes it through the edge."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from jwks_auth import AuthUser, Introspection, InvalidToken, KeysUnavailable, Verifier
from jwks_auth.fastapi import configure, current_user
from jwks_auth.testing import MockProvider


class Endpoint:
    """An RFC 7662 endpoint on loopback answering from `answers` (token -> JSON)."""

    def __init__(self):
        self.answers = {}
        self.calls = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["content-length"])
                form = dict(
                    pair.split("=", 1) for pair in self.rfile.read(length).decode().split("&")
                )
                endpoint.calls.append((self.headers.get("authorization"), form))
                answer = endpoint.answers.get(form.get("token"), {"active": False})
                body = json.dumps(answer).encode()
                self.send_response(500 if answer == "fail" else 200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/introspect"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def endpoint():
    served = Endpoint()
    yield served
    served.close()


def active(mock):
    return {
        "active": True,
        "iss": mock.issuer,
        "aud": mock.issuer,
        "sub": "user_1",
        "scope": "read",
        "exp": int(time.time()) + 600,
    }


def test_an_active_opaque_token_is_a_user_and_cached(endpoint):
    with MockProvider("better-auth") as mock:
        endpoint.answers["opaque-1"] = active(mock)
        verifier = Verifier(
            mock.provider(),
            introspection=Introspection(endpoint.url, client_id="api", client_secret="s3cret"),
        )
        user = verifier.verify_sync("opaque-1")
        assert (user.id, user.scopes) == ("user_1", ["read"])
        assert verifier.verify_sync("opaque-1").id == "user_1"
        assert len(endpoint.calls) == 1
        authorization, form = endpoint.calls[0]
        assert authorization == "Basic YXBpOnMzY3JldA=="
        assert form == {"token": "opaque-1"}
        with pytest.raises(InvalidToken) as refused:
            verifier.verify_sync("opaque-2")
        assert refused.value.kind == "inactive"
        # A JWT is still verified with the keys, never introspected.
        assert verifier.verify_sync(mock.token().sub("jwt_user").sign()).id == "jwt_user"
        assert len(endpoint.calls) == 2
        assert "s3cret" not in repr(Introspection(endpoint.url, client_id="a", client_secret="s3cret"))


def test_a_failing_endpoint_is_503_and_fastapi_takes_opaque_tokens(endpoint):
    with MockProvider("better-auth") as mock:
        endpoint.answers["broken"] = "fail"
        endpoint.answers["opaque-1"] = active(mock)
        verifier = Verifier(mock.provider(), introspection=Introspection(endpoint.url))
        with pytest.raises(KeysUnavailable):
            verifier.verify_sync("broken")
        app = FastAPI()
        configure(app, verifier)

        @app.get("/me", response_class=PlainTextResponse)
        async def me(user: AuthUser = Depends(current_user)) -> str:
            return user.id

        with TestClient(app) as client:
            assert client.get("/me", headers={"authorization": "Bearer opaque-1"}).text == "user_1"
            inactive = client.get("/me", headers={"authorization": "Bearer opaque-9"})
            assert inactive.status_code == 401
            assert inactive.json() == {"error": "invalid_token"}
            assert client.get("/me", headers={"authorization": "Bearer broken"}).status_code == 503


def test_bad_introspection_settings():
    with pytest.raises(ValueError):
        Introspection("https://as.example/introspect", client_id="only-an-id")
    with pytest.raises(ValueError):
        Introspection("https://as.example/introspect", client_id="a", client_secret="b", auth="tls")


def test_the_testing_kit_serves_introspection_for_opaque_tokens():
    with MockProvider("auth0") as mock:
        verifier = Verifier(
            mock.provider(),
            introspection=Introspection(mock.serve_introspection(), cache_ttl=0),
        )
        token = mock.opaque(mock.token().sub("user_9").scope("read"))
        assert verifier.verify_sync(token).id == "user_9"
        mock.revoke_opaque(token)
        with pytest.raises(InvalidToken) as refused:
            verifier.verify_sync(token)
        assert refused.value.kind == "inactive"
        assert mock.introspection_requests == 2
