"""TenantVerifier from Python: a verifier per trusted issuer built on first use by a Python
factory, untrusted issuers refused without a fetch, and FastAPI over it."""

import asyncio

import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from jwks_auth import AuthUser, ConfigError, InvalidToken, Provider, TenantVerifier, Verifier
from jwks_auth.fastapi import configure, current_user
from jwks_auth.testing import MockProvider


def tenants_of(mock: MockProvider, built: list, **options) -> TenantVerifier:
    """Tenants are the mock's issuer with `/t-<id>` appended; all share the mock's keys."""

    def factory(issuer: str, params: dict) -> Verifier:
        built.append((issuer, params))
        return Verifier(mock.provider(), issuer=issuer, audience="tenant-api")

    return TenantVerifier(factory, trust_templates=[mock.issuer + "/t-{id}"], **options)


def test_the_factory_gets_every_placeholder_of_its_template():
    with MockProvider("better-auth") as mock:
        seen = []

        def factory(issuer: str, params: dict) -> Verifier:
            seen.append(params)
            return Verifier(mock.provider(), issuer=issuer, audience="tenant-api")

        tenants = TenantVerifier(factory, trust_templates=[mock.issuer + "/{region}/{org}"])
        token = mock.token().issuer(f"{mock.issuer}/eu/acme").audience("tenant-api").sign()
        assert tenants.verify_sync(token).id
        assert seen == [{"region": "eu", "org": "acme"}]


def test_each_trusted_tenant_gets_one_verifier_and_untrusted_ones_none():
    with MockProvider("better-auth") as mock:
        built: list = []
        tenants = tenants_of(mock, built)
        for n in range(20):
            for _ in range(2):
                issuer = f"{mock.issuer}/t-{n}"
                token = mock.token().sub(f"u{n}").issuer(issuer).audience("tenant-api").sign()
                assert tenants.verify_sync(token).id == f"u{n}"
        assert len(built) == 20
        assert built[0] == (f"{mock.issuer}/t-0", {"id": "0"})
        assert tenants.live_issuers == 20
        for issuer in (f"{mock.issuer}/t-1/x", f"{mock.issuer}/other", "https://evil.example/t-1"):
            with pytest.raises(InvalidToken) as refused:
                tenants.verify_sync(mock.token().issuer(issuer).sign())
            assert refused.value.kind == "invalid-issuer"
        assert len(built) == 20


def test_a_trust_callback_and_a_failing_factory():
    with MockProvider("better-auth") as mock:
        allowed = {f"{mock.issuer}/acme"}

        def factory(issuer: str, params: dict) -> Verifier:
            if issuer.endswith("acme"):
                return Verifier(mock.provider(), issuer=issuer, audience="tenant-api")
            raise RuntimeError("secret detail")

        tenants = TenantVerifier(factory, trust_if=lambda issuer: issuer in allowed)
        token = mock.token().issuer(f"{mock.issuer}/acme").audience("tenant-api").sign()
        assert tenants.verify_sync(token).id
        allowed.add(f"{mock.issuer}/broken")
        with pytest.raises(ConfigError) as error:
            tenants.verify_sync(mock.token().issuer(f"{mock.issuer}/broken").sign())
        assert "secret detail" not in str(error.value)
        with pytest.raises(ConfigError):
            TenantVerifier(factory)  # no trust rule


def test_fastapi_over_tenants():
    with MockProvider("better-auth") as mock:
        app = FastAPI()
        configure(app, tenants_of(mock, []))

        @app.get("/me", response_class=PlainTextResponse)
        async def me(user: AuthUser = Depends(current_user)) -> str:
            return user.id

        with TestClient(app) as client:
            token = mock.token().sub("u7").issuer(f"{mock.issuer}/t-7").audience("tenant-api").sign()
            assert client.get("/me", headers={"authorization": f"Bearer {token}"}).text == "u7"
            forged = mock.token().issuer("https://evil.example/").sign()
            refused = client.get("/me", headers={"authorization": f"Bearer {forged}"})
            assert refused.status_code == 401
            assert refused.json() == {"error": "invalid_token"}


def test_await_verify_builds_the_tenant_from_the_event_loop():
    with MockProvider("better-auth") as mock:
        tenants = tenants_of(mock, [])
        token = mock.token().sub("u3").issuer(f"{mock.issuer}/t-3").audience("tenant-api").sign()

        async def verify():
            return await tenants.verify(token)

        assert asyncio.run(verify()).id == "u3"
