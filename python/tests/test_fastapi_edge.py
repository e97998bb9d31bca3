"""jwks_auth.fastapi over the library's request edge: DPoP-bound tokens with their proofs
(replay, nonces, the URL behind a proxy prefix), RFC 9728 challenges, and the edge itself."""

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from jwks_auth import AuthUser, ProtectedResource, Refusal, RequestEdge, Verifier
from jwks_auth.fastapi import (
    AuthMiddleware,
    configure,
    current_user,
    protected_resource_metadata,
)
from jwks_auth.testing import DpopKey
from live_server import LiveServer

DPOP_ALGS = 'DPoP algs="ES256 ES384 ES512 EdDSA RS256 PS256"'


def dpop_app(verifier: Verifier, middleware: bool = True, **settings) -> FastAPI:
    app = FastAPI()
    configure(app, verifier, **settings)
    if middleware:
        app.add_middleware(AuthMiddleware)

    @app.get("/api/me")
    async def me(user: AuthUser = Depends(current_user)):
        return {"id": user.id}

    return app


def dpop_headers(token: str, proof: str) -> dict:
    return {"Authorization": f"DPoP {token}", "DPoP": proof}


def challenges(response) -> list:
    return response.headers.get_list("www-authenticate")


@pytest.mark.parametrize("middleware", [True, False])
def test_a_dpop_bound_token_with_its_proof_is_accepted_once(mock_provider, middleware):
    verifier = Verifier(mock_provider.provider(), dpop="allowed")
    key = DpopKey()
    token = mock_provider.token().sub("dpop_user").dpop_bound(key).sign()
    proof = key.proof("GET", "http://testserver/api/me", token=token)
    with TestClient(dpop_app(verifier, middleware)) as client:
        response = client.get("/api/me", headers=dpop_headers(token, proof))
        assert response.status_code == 200, response.text
        assert response.json() == {"id": "dpop_user"}

        replayed = client.get("/api/me", headers=dpop_headers(token, proof))
        assert replayed.status_code == 401
        assert replayed.json() == {"error": "invalid_dpop_proof"}
        assert challenges(replayed) == [
            'Bearer realm="api"',
            f'{DPOP_ALGS}, error="invalid_dpop_proof"',
        ]

        # The bound token sent as Bearer: refused, and the DPoP challenge offered.
        as_bearer = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert as_bearer.status_code == 401
        assert any(value.startswith("DPoP ") for value in challenges(as_bearer))

        # A proof for another URL.
        elsewhere = key.proof("GET", "http://testserver/api/other", token=token)
        refused = client.get("/api/me", headers=dpop_headers(token, elsewhere))
        assert refused.json() == {"error": "invalid_dpop_proof"}
        assert token not in refused.text + str(refused.headers)


def test_dpop_off_by_default_treats_the_scheme_as_another(mock_provider):
    key = DpopKey()
    token = mock_provider.token().dpop_bound(key).sign()
    proof = key.proof("GET", "http://testserver/api/me", token=token)
    with TestClient(dpop_app(Verifier(mock_provider.provider()))) as client:
        response = client.get("/api/me", headers=dpop_headers(token, proof))
    assert response.status_code == 401
    assert challenges(response) == ['Bearer realm="api"']


def test_the_nonce_flow_answers_a_fresh_nonce_and_accepts_it(mock_provider):
    verifier = Verifier(mock_provider.provider(), dpop="required", dpop_nonces=True)
    key = DpopKey("ed25519", 1)
    token = mock_provider.token().dpop_bound(key).sign()
    url = "http://testserver/api/me"
    with TestClient(dpop_app(verifier)) as client:
        proof = key.proof("GET", url, token=token)
        first = client.get("/api/me", headers=dpop_headers(token, proof))
        assert first.status_code == 401
        assert first.json() == {"error": "use_dpop_nonce"}
        nonce = first.headers["dpop-nonce"]
        # DPoP required: no Bearer challenge.
        assert challenges(first) == [f'{DPOP_ALGS}, error="use_dpop_nonce"']
        proof = key.proof("GET", url, token=token, nonce=nonce)
        second = client.get("/api/me", headers=dpop_headers(token, proof))
        assert second.status_code == 200, second.text
        assert second.headers["dpop-nonce"]


def test_the_proof_names_the_url_the_client_used_behind_a_proxy_prefix(mock_provider):
    """uvicorn --root-path /v1 behind a proxy that strips /v1: the client used /v1/api/me."""
    verifier = Verifier(mock_provider.provider(), dpop="allowed")
    key = DpopKey()
    token = mock_provider.token().dpop_bound(key).sign()
    with LiveServer(dpop_app(verifier), root_path="/v1") as server:
        proof = key.proof("GET", f"{server.url}/v1/api/me", token=token)
        response = httpx.get(f"{server.url}/api/me", headers=dpop_headers(token, proof))
        assert response.status_code == 200, response.text
        stripped = key.proof("GET", f"{server.url}/api/me", token=token)
        response = httpx.get(f"{server.url}/api/me", headers=dpop_headers(token, stripped))
        assert response.status_code == 401


def test_an_external_origin_names_the_url(mock_provider):
    verifier = Verifier(mock_provider.provider(), dpop="allowed")
    key = DpopKey()
    token = mock_provider.token().dpop_bound(key).sign()
    app = dpop_app(verifier, external_origin="https://api.example.com")
    proof = key.proof("GET", "https://api.example.com/api/me", token=token)
    with TestClient(app) as client:
        assert client.get("/api/me", headers=dpop_headers(token, proof)).status_code == 200


def test_challenges_carry_the_resource_metadata_url(mock_provider, verifier):
    app = dpop_app(
        verifier,
        resource="https://mcp.example.com/mcp",
        authorization_servers=[mock_provider.issuer],
    )
    metadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    with TestClient(app) as client:
        response = client.get("/api/me")
    assert response.status_code == 401
    assert challenges(response) == [f'Bearer realm="api", resource_metadata="{metadata}"']


def test_the_edge_returns_refusals_and_never_raises_them(mock_provider, verifier):
    edge = RequestEdge(verifier, realm="notes", public_paths=["/health"])
    refused = edge.authenticate_sync("GET", "/notes", [(b"authorization", b"Bearer x.y.z")])
    assert isinstance(refused, Refusal)
    assert (refused.status, refused.error) == (401, "invalid_token")
    assert refused.body == {"error": "invalid_token"}
    assert refused.headers == [("www-authenticate", 'Bearer realm="notes", error="invalid_token"')]
    assert edge.authenticate_sync("GET", "/health", [], guard=True) is None
    assert edge.authenticate_sync("GET", "/notes", [], required=False) is None
    token = mock_provider.token().sub("user_9").sign()
    user = edge.authenticate_sync("GET", "/notes", [("Authorization", f"Bearer {token}")])
    assert user.id == "user_9"
    forbidden = edge.insufficient_scope("a b")
    assert forbidden.status == 403
    assert forbidden.body == {"error": "insufficient_scope", "scope": "a b"}
    assert "user_9" not in repr(edge)
    with pytest.raises(TypeError):
        RequestEdge("not a verifier")


def test_a_protected_resource_serves_its_metadata_and_names_it_in_challenges(mock_provider):
    resource = ProtectedResource(
        "https://mcp.example.com/mcp",
        authorization_servers=[mock_provider.issuer],
        scopes_supported=["notes:read"],
    )
    verifier = Verifier(mock_provider.provider(), protected_resource=resource)
    app = FastAPI()
    configure(app, verifier, protected_resource=resource)
    protected_resource_metadata(app, resource)
    app.add_middleware(AuthMiddleware, prefix="/")

    @app.get("/mcp")
    async def mcp(user: AuthUser = Depends(current_user)):
        return {"id": user.id}

    with TestClient(app) as client:
        for path in ["/.well-known/oauth-protected-resource", resource.metadata_path]:
            document = client.get(path)
            assert document.status_code == 200, path
            assert document.json()["resource"] == "https://mcp.example.com/mcp"
            assert document.json()["authorization_servers"] == [mock_provider.issuer]
            assert document.headers["cache-control"].startswith("public, max-age=")
        refused = client.get("/mcp")
        assert challenges(refused) == [
            f'Bearer realm="api", resource_metadata="{resource.metadata_url}"'
        ]
        # Tokens must name this resource in `aud`.
        ours = mock_provider.token().sub("u1").audience(resource.resource).sign()
        assert client.get("/mcp", headers={"Authorization": f"Bearer {ours}"}).json() == {
            "id": "u1"
        }
        theirs = mock_provider.token().audience("https://other.example.com").sign()
        other = client.get("/mcp", headers={"Authorization": f"Bearer {theirs}"})
        assert other.status_code == 401
