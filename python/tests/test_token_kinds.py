"""`Verifier(token_type=..., token_classes=...)` and `MultiVerifier`."""

import asyncio

import pytest

from jwks_auth import ConfigError, InvalidToken, MultiVerifier, Provider, Verifier
from jwks_auth.testing import MockProvider

# The Clerk preset's `cat` header values (providers/clerk.toml).
CLERK_SESSION = "cl_B7d4PD111AAA"
CLERK_TEMPLATE = "cl_B7d4PD222AAA"
CLERK_M2M = "cl_B7d4PD333AAA"


def refusal_kind(verifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify_sync(token)
    return caught.value.kind


def access_token(mock_provider, typ: str) -> str:
    """A token with the RFC 9068 claims and header `typ`."""
    claims = mock_provider.token().claim("client_id", "app_1").claim("jti", "jti-1")
    return claims.header("typ", typ).sign()


def test_token_type_at_jwt_refuses_a_token_without_that_typ(mock_provider):
    verifier = Verifier(mock_provider.provider(), token_type="at+jwt")
    assert refusal_kind(verifier, access_token(mock_provider, "JWT")) == "invalid-token-type"
    assert verifier.verify_sync(access_token(mock_provider, "at+jwt")).id == "user_test"
    # Media types compare case-insensitively, `application/` implied.
    verifier.verify_sync(access_token(mock_provider, "application/AT+JWT"))


def test_token_type_lists_and_any(mock_provider):
    jwt_typ = mock_provider.token().sign()  # the builder's header says `typ: JWT`
    no_typ_only = Verifier(mock_provider.provider(), token_type=[""])
    assert refusal_kind(no_typ_only, jwt_typ) == "invalid-token-type"
    Verifier(mock_provider.provider(), token_type=["at+jwt", "JWT"]).verify_sync(jwt_typ)
    Verifier(mock_provider.provider(), token_type="any").verify_sync(jwt_typ)
    with pytest.raises(TypeError):
        Verifier(mock_provider.provider(), token_type=3)
    with pytest.raises(ValueError):
        Verifier(mock_provider.provider(), token_type=[])


def test_token_classes_choose_the_clerk_token_kinds():
    with MockProvider("clerk") as mock:
        session = mock.token().header("cat", CLERK_SESSION).sign()
        template = mock.token().header("cat", CLERK_TEMPLATE).sign()
        m2m = mock.token().sub("mch_1").header("cat", CLERK_M2M).sign()

        default = Verifier(mock.provider())
        assert default.verify_sync(session).kind == "user"
        assert refusal_kind(default, m2m) == "invalid-token-type"

        machines = Verifier(mock.provider(), token_classes=["template", "m2m"])
        assert machines.verify_sync(template).kind == "user"
        assert machines.verify_sync(m2m).kind == "machine"
        assert refusal_kind(machines, session) == "invalid-token-type"

        with pytest.raises(ConfigError):
            Verifier(mock.provider(), token_classes=["no-such-class"])
        with pytest.raises(TypeError):
            Verifier(mock.provider(), token_classes="m2m")  # a str is not a list of names


@pytest.fixture
def two_issuers():
    with MockProvider("better-auth") as web, MockProvider("clerk") as clerk:
        yield web, clerk


def test_multi_verifier_routes_each_issuer_and_refuses_a_third(two_issuers):
    web, clerk = two_issuers
    multi = MultiVerifier([Verifier(web.provider()), Verifier(clerk.provider())])
    assert multi.issuers == [web.issuer, clerk.issuer]

    assert multi.verify_sync(web.token().sub("web_user").sign()).issuer == web.issuer

    async def verify_clerk():
        return await multi.verify(clerk.token().sub("clerk_user").sign())

    user = asyncio.run(verify_clerk())
    assert (user.id, user.issuer) == ("clerk_user", clerk.issuer)

    with MockProvider("better-auth") as third:
        assert refusal_kind(multi, third.token().sign()) == "invalid-issuer"
        assert third.jwks_requests == 0  # refused before any key fetch
    # A token naming a served issuer is still checked by that issuer's keys.
    forged = web.token().issuer(clerk.issuer).sign()
    with pytest.raises(InvalidToken):
        multi.verify_sync(forged)


def test_multi_verifier_needs_fixed_distinct_issuers(two_issuers):
    web, _ = two_issuers
    with pytest.raises(ConfigError):
        MultiVerifier([])
    with pytest.raises(ConfigError):
        MultiVerifier([Verifier(web.provider()), Verifier(web.provider())])
    any_issuer = Verifier(Provider.shared_secret("x" * 32))
    with pytest.raises(ConfigError):
        MultiVerifier([Verifier(web.provider()), any_issuer])


def test_multi_verifier_hands_out_each_issuers_verifier(two_issuers):
    web, clerk = two_issuers
    clerk_verifier = Verifier(clerk.provider(), authorized_parties=["https://app.example.com"])
    multi = MultiVerifier([Verifier(web.provider()), clerk_verifier])
    assert multi.verifier_for(clerk.issuer).provider_name == "clerk"
    assert multi.verifier_for("https://elsewhere.example") is None
    assert multi.token_sources == ["bearer", "cookie:__session"]
    # Without authorized parties Clerk's cookie is not read (its azp would go unchecked).
    assert MultiVerifier([Verifier(clerk.provider())]).token_sources == ["bearer"]
