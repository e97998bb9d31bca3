"""Step-up guards (RFC 9470, Auth0 MFA, Clerk reverification) in FastAPI: the answers a
client acts on. The shared answer table (test_answers.py) runs the same routes through
every adapter; these check the bodies and the rules' edges."""

import time

import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from jwks_auth import AuthUser, StepUp, Verifier
from jwks_auth.fastapi import configure, require_step_up
from jwks_auth.testing import MockProvider

AUTH0_MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"


def app_with(verifier: Verifier, rule: StepUp) -> FastAPI:
    app = FastAPI()
    configure(app, verifier)

    @app.post("/sensitive", response_class=PlainTextResponse)
    async def sensitive(user: AuthUser = Depends(require_step_up(rule))) -> str:
        return user.id

    return app


def post(app: FastAPI, token: str):
    with TestClient(app) as client:
        return client.post("/sensitive", headers={"authorization": f"Bearer {token}"})


def test_auth0_mfa_needs_amr_mfa_and_a_fresh_auth_time():
    with MockProvider("auth0") as mock:
        app = app_with(Verifier(mock.provider()), StepUp.mfa(max_age=600))
        now = int(time.time())
        fresh = mock.token().sub("u1").claim("amr", ["mfa"]).claim("auth_time", now).sign()
        assert post(app, fresh).text == "u1"
        stale = mock.token().claim("amr", ["mfa"]).claim("auth_time", now - 601).sign()
        no_mfa = mock.token().claim("amr", ["pwd"]).claim("auth_time", now).sign()
        for token in (stale, no_mfa):
            response = post(app, token)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == (
                'Bearer realm="api", error="insufficient_user_authentication", '
                f'acr_values="{AUTH0_MFA}", max_age=600'
            )
            assert response.json() == {
                "error": "insufficient_user_authentication",
                "acr_values": AUTH0_MFA,
                "max_age": 600,
            }


def test_clerk_reverification_answers_with_clerks_body():
    with MockProvider("clerk") as mock:
        verifier = Verifier(mock.provider(), authorized_parties=["http://localhost:3000"])
        app = app_with(verifier, StepUp.reverification("strict_mfa"))
        token = lambda fva: (  # noqa: E731
            mock.token().sub("user_2").claim("azp", "http://localhost:3000").claim("fva", fva).sign()
        )
        assert post(app, token([3, 4])).text == "user_2"
        response = post(app, token([3, 40]))
        assert response.status_code == 403
        assert "www-authenticate" not in response.headers
        assert response.json() == {
            "clerk_error": {
                "type": "forbidden",
                "reason": "reverification-error",
                "metadata": {"reverification": "strict_mfa"},
            }
        }
        custom = app_with(
            verifier, StepUp.reverification(factor="first_factor", after_minutes=30)
        )
        response = post(custom, token([45, -1]))
        assert response.json()["clerk_error"]["metadata"]["reverification"] == {
            "level": "first_factor",
            "afterMinutes": 30,
        }


def test_bad_rules_are_refused_when_built():
    with pytest.raises(ValueError):
        StepUp.acr([])
    with pytest.raises(ValueError):
        StepUp.auth_age(-1)
    with pytest.raises(ValueError):
        StepUp.reverification("paranoid")
    with pytest.raises(ValueError):
        StepUp.reverification(factor="second_factor")
    with pytest.raises(ValueError):
        StepUp.reverification(factor="third_factor", after_minutes=5)


def test_a_scope_hierarchy_is_honoured_by_the_scope_guard():
    from jwks_auth.fastapi import require_scopes

    with MockProvider("auth0") as mock:
        verifier = Verifier(
            mock.provider(),
            scope_hierarchy={"files:write": ["files:read"], "admin": ["admin:*"]},
            scopes=["admin:users"],
        )
        app = FastAPI()
        configure(app, verifier)

        @app.get("/files", response_class=PlainTextResponse)
        async def files(user: AuthUser = Depends(require_scopes("files:read"))) -> str:
            return " ".join(user.scopes)

        with TestClient(app) as client:
            get = lambda scope: client.get(  # noqa: E731
                "/files",
                headers={"authorization": f"Bearer {mock.token().scope(scope).sign()}"},
            )
            assert get("files:write").text == "files:write files:read"
            response = get("notes")
            assert response.status_code == 403
            assert response.json() == {"error": "insufficient_scope", "scope": "files:read"}
        admin = verifier.verify_sync(mock.token().scope("admin").sign())
        assert admin.scopes == ["admin", "admin:users"]


def test_a_bad_scope_hierarchy_is_a_config_error():
    from jwks_auth import ConfigError

    with MockProvider("auth0") as mock:
        with pytest.raises(ConfigError, match="cycle"):
            Verifier(mock.provider(), scope_hierarchy={"a": ["b"], "b": ["a"]})
        with pytest.raises(ConfigError, match="matches no declared scope"):
            Verifier(mock.provider(), scope_hierarchy={"admin": ["admin:*"]})


def test_mcp_operations_ask_for_every_scope_of_the_operation():
    from jwks_auth import McpOperations, ProtectedResource
    from jwks_auth.fastapi import AuthMiddleware

    operations = McpOperations(
        every_operation=["mcp:tools"],
        tools={"add_note": ["notes:write"]},
        tool_step_up={"delete_all_notes": StepUp.acr(["urn:example:mfa"])},
    )
    assert operations.required("tools/call", "add_note") == ["mcp:tools", "notes:write"]
    assert operations.required() == ["mcp:tools"]
    with MockProvider("auth0") as mock:
        resource = ProtectedResource(
            "https://mcp.example.test/mcp", authorization_servers=[mock.issuer]
        )
        app = FastAPI()
        configure(app, Verifier(mock.provider()), protected_resource=resource, mcp_operations=operations)
        app.add_middleware(AuthMiddleware, prefix="/mcp")

        @app.post("/mcp", response_class=PlainTextResponse)
        async def mcp() -> str:
            return "ok"

        metadata = resource.metadata_url
        with TestClient(app) as client:

            def call(scope, tool):
                token = mock.token().scope(scope).sign()
                headers = {"authorization": f"Bearer {token}", "mcp-method": "tools/call", "mcp-name": tool}
                return client.post("/mcp", headers=headers)

            assert call("mcp:tools", "whoami").text == "ok"
            refused = call("mcp:tools", "add_note")
            assert refused.status_code == 403
            assert refused.headers["www-authenticate"] == (
                'Bearer realm="api", error="insufficient_scope", '
                f'scope="mcp:tools notes:write", resource_metadata="{metadata}"'
            )
            assert call("mcp:tools notes:write", "add_note").text == "ok"
            step_up = call("mcp:tools", "delete_all_notes")
            assert step_up.status_code == 401
            assert 'error="insufficient_user_authentication"' in step_up.headers["www-authenticate"]
            anonymous = client.post("/mcp", headers={"mcp-method": "tools/call", "mcp-name": "add_note"})
            assert anonymous.status_code == 401
            assert anonymous.headers["www-authenticate"] == (
                f'Bearer realm="api", scope="mcp:tools notes:write", resource_metadata="{metadata}"'
            )
