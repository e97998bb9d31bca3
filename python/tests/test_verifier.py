"""The Python API: providers, verify / verify_sync, AuthUser, and the error kinds."""

import asyncio
import threading
import time

import pytest

from jwks_auth import (
    AuthError,
    AuthUser,
    ConfigError,
    Forbidden,
    InvalidToken,
    KeysUnavailable,
    MissingToken,
    Provider,
    Verifier,
)
from jwks_auth.testing import MOCK_AUDIENCE, MockProvider


def test_verify_sync_returns_the_user(mock_provider, verifier):
    token = (
        mock_provider.token()
        .sub("user_1")
        .email("ada@example.com")
        .email_verified(True)
        .scope("read:notes write:notes")
        .sign()
    )
    user = verifier.verify_sync(token)
    assert isinstance(user, AuthUser)
    assert user.id == "user_1"
    assert user.email == "ada@example.com"
    assert user.email_verified is True
    assert user.scopes == ["read:notes", "write:notes"]
    assert user.has_scope("read:notes") and not user.has_scope("admin")
    assert user.kind == "user"
    assert user.issuer == mock_provider.issuer
    assert user.claims["sub"] == "user_1"
    assert isinstance(user.claims, dict)
    assert user.expires_at == user.claims["exp"]


def test_await_verify_returns_the_user(mock_provider, verifier):
    token = mock_provider.token().sub("user_2").sign()

    async def main():
        first = await verifier.verify(token)  # fetches the keys (runtime round trip)
        second = await verifier.verify(token)  # cached keys: completes at once
        return first, second

    first, second = asyncio.run(main())
    assert (first.id, second.id) == ("user_2", "user_2")
    assert mock_provider.jwks_requests == 1


def test_await_verify_raises_auth_errors(mock_provider, verifier):
    async def main(token):
        return await verifier.verify(token)

    with pytest.raises(InvalidToken) as caught:
        asyncio.run(main(mock_provider.token().expired().sign()))
    assert (caught.value.kind, caught.value.status) == ("expired", 401)


def test_await_verify_does_not_block_the_event_loop(mock_provider, verifier):
    mock_provider.delay(0.4)
    token = mock_provider.token().sign()
    ticks = []

    async def ticker():
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    async def main():
        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        user = await verifier.verify(token)
        task.cancel()
        return user

    user = asyncio.run(main())
    assert user.id == "user_test"
    # The loop kept running during the ~0.4 s JWKS fetch.
    assert len(ticks) >= 5


def test_verify_sync_releases_the_gil(mock_provider, verifier):
    mock_provider.delay(0.4)
    token = mock_provider.token().sign()
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        before = counter[0]
        verifier.verify_sync(token)
        during = counter[0] - before
    finally:
        stop.set()
        thread.join()
    # With the GIL held for 0.4 s the other thread could not have counted this far
    # (it gets a few switch intervals at most).
    assert during > 100_000


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda m: m.token().expired().sign(), "expired"),
        (lambda m: m.token().not_before_in(3600).sign(), "not-yet-valid"),
        (lambda m: m.token().issuer("https://evil.example").sign(), "invalid-issuer"),
        (lambda m: m.token().audience("someone-else").sign(), "invalid-audience"),
        (lambda m: m.token().sign_with_wrong_key(), "invalid-signature"),
        (lambda m: m.token().sign_tampered("sub", "admin"), "invalid-signature"),
        (lambda m: m.token().sign_none(), "unsupported-algorithm"),
        (lambda m: m.token().kid("no-such-kid").sign(), "unknown-key"),
        (lambda m: m.token().without_claim("exp").sign(), "missing-claim"),
        (lambda m: "not.a-token", "malformed"),
    ],
)
def test_rejections_are_invalid_token_with_their_kind(mock_provider, verifier, make, kind):
    token = make(mock_provider)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify_sync(token)
    err = caught.value
    assert isinstance(err, AuthError)
    assert (err.kind, err.status) == (kind, 401)
    # Never the token, nor the expected issuer/audience, in the message.
    for part in token.split("."):
        if len(part) > 8:
            assert part not in str(err) and part not in repr(err)
    assert mock_provider.issuer not in str(err)


def test_missing_claim_names_the_claim(mock_provider, verifier):
    with pytest.raises(InvalidToken) as caught:
        verifier.verify_sync(mock_provider.token().without_claim("exp").sign())
    assert caught.value.claim == "exp"


def test_unreachable_keys_are_keys_unavailable_503(mock_provider, verifier):
    mock_provider.fail_next(5, 503)
    with pytest.raises(KeysUnavailable) as caught:
        verifier.verify_sync(mock_provider.token().sign())
    assert (caught.value.kind, caught.value.status) == ("keys-unavailable", 503)


def test_unreachable_keys_raise_keys_unavailable_from_await(mock_provider, verifier):
    mock_provider.fail_next(5, 500)

    async def main():
        return await verifier.verify(mock_provider.token().sign())

    with pytest.raises(KeysUnavailable):
        asyncio.run(main())


def test_rotation_costs_exactly_one_refetch(mock_provider, verifier):
    verifier.verify_sync(mock_provider.token().sign())
    assert mock_provider.jwks_requests == 1
    new_kid = mock_provider.rotate()
    token = mock_provider.token().sign()
    for _ in range(5):
        verifier.verify_sync(token)
    assert mock_provider.current_kid == new_kid
    assert mock_provider.jwks_requests == 2
    # A token under a kid that never appears is refused without another fetch storm.
    for _ in range(5):
        with pytest.raises(InvalidToken):
            verifier.verify_sync(mock_provider.token().kid("ghost").sign())
    assert mock_provider.jwks_requests <= 3


def test_cache_verified_answers_repeated_tokens(mock_provider):
    verifier = Verifier(mock_provider.provider(), cache_verified=True)
    token = mock_provider.token().sub("cached").sign()
    assert [verifier.verify_sync(token).id for _ in range(3)] == ["cached"] * 3
    # An expired token is still refused (a cache hit re-checks exp).
    with pytest.raises(InvalidToken):
        verifier.verify_sync(mock_provider.token().expired().sign())


def test_verifier_options(mock_provider):
    # leeway: a token expired 30 s ago passes with 60 s of leeway, not with 0.
    token = mock_provider.token().expires_in(-30).sign()
    assert Verifier(mock_provider.provider(), leeway=60).verify_sync(token).id == "user_test"
    with pytest.raises(InvalidToken) as caught:
        Verifier(mock_provider.provider(), leeway=0).verify_sync(token)
    assert caught.value.kind == "expired"
    # algorithms: EdDSA tokens are refused when only RS256 is allowed.
    with pytest.raises(InvalidToken) as caught:
        Verifier(mock_provider.provider(), algorithms=["RS256"]).verify_sync(
            mock_provider.token().sign()
        )
    assert caught.value.kind == "unsupported-algorithm"
    with pytest.raises(ValueError):
        Verifier(mock_provider.provider(), leeway=-1)
    with pytest.raises(ValueError):
        Verifier(mock_provider.provider(), algorithms=["HS1024"])


@pytest.mark.parametrize("mock_preset", ["auth0"])
def test_auth0_mock_and_audience_override(mock_provider):
    token = mock_provider.token().permissions(["read:a", "read:b"]).sign()
    user = Verifier(mock_provider.provider()).verify_sync(token)
    assert user.scopes == ["read:a", "read:b"]
    assert user.claims["aud"] == MOCK_AUDIENCE
    with pytest.raises(InvalidToken) as caught:
        Verifier(mock_provider.provider(), audience="https://other.example").verify_sync(token)
    assert caught.value.kind == "invalid-audience"
    # A list of audiences: any one of them matches.
    multi = Verifier(mock_provider.provider(), audience=["https://x.example", MOCK_AUDIENCE])
    assert multi.verify_sync(token).id == "user_test"


def test_machine_tokens_have_kind_machine():
    with MockProvider("auth0") as mock:
        token = mock.token().sub("svc").claim("client_id", "svc").sign()
        user = Verifier(mock.provider()).verify_sync(token)
        assert (user.kind, user.client_id) == ("machine", "svc")


def test_provider_constructors():
    assert Provider.better_auth("https://auth.example.com").jwks_url == (
        "https://auth.example.com/api/auth/jwks"
    )
    auth0 = Provider.auth0("tenant.eu.auth0.com", "https://api.example.com")
    assert (auth0.name, auth0.issuer) == ("auth0", "https://tenant.eu.auth0.com/")
    clerk = Provider.clerk("clerk.example.com")
    assert clerk.jwks_url == "https://clerk.example.com/.well-known/jwks.json"
    # The session cookie is read only when `azp` is checked against the app's origins.
    assert Verifier(clerk).token_sources == ["bearer"]
    site = Verifier(clerk, authorized_parties=["https://app.example.com"])
    assert site.token_sources == ["bearer", "cookie:__session"]
    keycloak = Provider.preset(
        "keycloak", origin="https://sso.example.com", realm="main", audience="api"
    )
    assert keycloak.issuer == "https://sso.example.com/realms/main"
    assert Provider.oidc("https://issuer.example.com").name
    assert "better-auth" in Provider.builtin_names()


def test_configuration_errors_are_config_error():
    with pytest.raises(ConfigError) as caught:
        Provider.preset("no-such-preset")
    assert (caught.value.kind, caught.value.status) == ("config", 500)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ConfigError):
        Provider.better_auth("not a url")
    with pytest.raises(ConfigError) as short:
        Provider.shared_secret("too-short-secret")
    assert "too-short-secret" not in str(short.value)
    with pytest.raises(TypeError):
        Provider.shared_secret(1234)
    with pytest.raises(TypeError):
        Provider.preset("keycloak", origin=1)


def test_shared_secret_provider_verifies_hs256_tokens():
    secret = "a-better-auth-secret-of-at-least-32-bytes"
    provider = Provider.shared_secret(secret.encode())
    assert Provider.shared_secret(secret).name == provider.name
    # Networkless: a malformed token is refused without any key fetch.
    with pytest.raises(InvalidToken):
        Verifier(provider, audience="x", issuer="y").verify_sync("a.b.c")


def test_exception_hierarchy():
    assert issubclass(InvalidToken, AuthError) and issubclass(MissingToken, InvalidToken)
    assert (Forbidden().status, Forbidden().kind) == (403, "forbidden")
    assert KeysUnavailable().status == 503
    assert AuthError("x", kind="expired", status=401).kind == "expired"


def test_mock_provider_context_manager_closes():
    with MockProvider() as mock:
        uri = mock.uri
        assert uri.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        mock.token()


def test_verify_awaitables_work_with_gather_and_ensure_future(mock_provider, verifier):
    tokens = [mock_provider.token().sub(f"u{i}").sign() for i in range(3)]

    async def main():
        # The first verify fetches (an asyncio future), the others find the keys cached.
        users = await asyncio.gather(*(verifier.verify(t) for t in tokens))
        task = asyncio.ensure_future(verifier.verify(tokens[0]))
        return [u.id for u in users], (await task).id

    assert asyncio.run(main()) == (["u0", "u1", "u2"], "u0")
