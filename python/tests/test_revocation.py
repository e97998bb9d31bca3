"""Revocation: `Verifier(revocation=...)`, `verifier.revocations`, the in-memory and Redis
stores, the failure policy, and that a Redis URL's password is never shown."""

import asyncio
import time
import traceback
from datetime import timedelta

import pytest

from conftest import REDIS_PASSWORD
from jwks_auth import (
    ConfigError,
    InMemoryRevocationStore,
    InvalidToken,
    RedisRevocationStore,
    RevocationStoreUnavailable,
    Revocations,
    Verifier,
)


def run(start):
    """Awaits `start()` in a fresh event loop (the awaitables need a running loop)."""

    async def main():
        return await start()

    return asyncio.run(main())


def revocable(mock_provider, store=None, **options) -> Verifier:
    store = store or InMemoryRevocationStore()
    return Verifier(mock_provider.provider(), revocation=store, **options)


def assert_revoked(verifier, token: str) -> None:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify_sync(token)
    assert (caught.value.kind, caught.value.status) == ("revoked", 401)


def test_revoke_session_refuses_its_tokens_and_no_other(mock_provider):
    verifier = revocable(mock_provider)
    mine = mock_provider.token().sub("user_1").sid("sess_1").sign()
    other_session = mock_provider.token().sub("user_1").sid("sess_2").sign()
    verifier.verify_sync(mine)

    run(lambda: verifier.revocations.revoke_session("sess_1"))

    assert_revoked(verifier, mine)
    assert verifier.verify_sync(other_session).id == "user_1"


def test_revoke_user_refuses_the_users_tokens_issued_until_then(mock_provider):
    verifier = revocable(mock_provider)
    revocations = verifier.revocations
    now = revocations.now()
    earlier = mock_provider.token().sub("user_1").sid("sess_1").at(now - 200).sign()
    later = mock_provider.token().sub("user_1").at(now).sign()
    someone_else = mock_provider.token().sub("user_2").at(now - 200).sign()

    revocations.revoke_user_sync("user_1", at=now - 100)

    assert_revoked(verifier, earlier)
    assert verifier.verify_sync(later).id == "user_1"
    assert verifier.verify_sync(someone_else).id == "user_2"


def test_revoke_token_refuses_that_jti_only(mock_provider):
    verifier = revocable(mock_provider)
    revoked = mock_provider.token().claim("jti", "jti-1").sign()
    kept = mock_provider.token().claim("jti", "jti-2").sign()
    exp = verifier.verify_sync(revoked).expires_at

    run(lambda: verifier.revocations.revoke_token("jti-1", exp))

    assert_revoked(verifier, revoked)
    verifier.verify_sync(kept)


def test_revoke_all_refuses_every_token_issued_until_the_instant(mock_provider):
    verifier = revocable(mock_provider)
    now = verifier.revocations.now()
    old = [mock_provider.token().sub(user).at(now - 200).sign() for user in ("a", "b")]
    fresh = mock_provider.token().sub("a").at(now).sign()

    verifier.revocations.revoke_all_sync(at=now - 100)

    for token in old:
        assert_revoked(verifier, token)
    assert verifier.verify_sync(fresh).id == "a"


def test_a_full_in_memory_store_refuses_the_next_revocation_with_503(mock_provider):
    verifier = revocable(mock_provider, InMemoryRevocationStore(capacity=1))
    revocations = verifier.revocations
    # Minted before the revocation: `revoke_user` refuses tokens issued at or before its
    # second, and the attempts below may end in the next one.
    first = mock_provider.token().sub("first").sign()
    revocations.revoke_user_sync("first")

    for attempt in (
        lambda: revocations.revoke_user_sync("second"),
        lambda: run(lambda: revocations.revoke_user("second")),
    ):
        with pytest.raises(RevocationStoreUnavailable) as caught:
            attempt()
        assert (caught.value.kind, caught.value.status) == ("revocation-store-unavailable", 503)
    # The revocation that fitted still holds; the refused one was not recorded.
    assert_revoked(verifier, first)
    verifier.verify_sync(mock_provider.token().sub("second").sign())


def test_revocation_is_off_by_default_and_options_are_checked(mock_provider):
    assert Verifier(mock_provider.provider()).revocations is None
    assert isinstance(revocable(mock_provider).revocations, Revocations)
    with pytest.raises(ValueError):
        revocable(mock_provider, revocation_failure="maybe")
    with pytest.raises(TypeError):
        Verifier(mock_provider.provider(), revocation="redis://localhost")
    with pytest.raises(ValueError):
        InMemoryRevocationStore(capacity=0)
    # A leeway beyond how long entries outlive their token would let revoked tokens back in.
    with pytest.raises(ConfigError):
        revocable(mock_provider, leeway=301)


def test_empty_ids_are_refused(mock_provider):
    revocations = revocable(mock_provider).revocations
    with pytest.raises(ConfigError):
        revocations.revoke_session_sync("")


def test_in_memory_store_takes_seconds_or_a_timedelta():
    store = InMemoryRevocationStore(capacity=10, max_token_lifetime=timedelta(hours=1))
    assert (store.capacity, store.max_token_lifetime) == (10, 3600.0)
    assert InMemoryRevocationStore(max_token_lifetime=90).max_token_lifetime == 90.0
    assert InMemoryRevocationStore().max_token_lifetime == 86400.0
    with pytest.raises(ValueError):
        InMemoryRevocationStore(max_token_lifetime=-1)


# -- Redis ------------------------------------------------------------------------------


def poll_until(condition, timeout: float) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    start = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - start
        assert elapsed < timeout, f"not within {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - start


def is_revoked(verifier, token: str) -> bool:
    try:
        verifier.verify_sync(token)
    except InvalidToken as err:
        assert err.kind == "revoked"
        return True
    return False


def test_a_revocation_on_one_instance_is_enforced_on_another_within_a_second(
    mock_provider, redis_server
):
    store_a = RedisRevocationStore.connect_sync(redis_server.url, prefix="test:")
    store_b = run(lambda: RedisRevocationStore.connect(redis_server.url, prefix="test:"))
    instance_a, instance_b = (revocable(mock_provider, store) for store in (store_a, store_b))
    token = mock_provider.token().sub("user_1").sid("sess_1").sign()
    instance_a.verify_sync(token)
    instance_b.verify_sync(token)

    run(lambda: instance_a.revocations.revoke_session("sess_1"))

    assert is_revoked(instance_a, token)
    poll_until(lambda: is_revoked(instance_b, token), timeout=1.0)
    # Only that session.
    instance_b.verify_sync(mock_provider.token().sub("user_1").sid("sess_2").sign())


def test_redis_down_fails_closed_or_open_as_configured(mock_provider, redis_server):
    store = RedisRevocationStore.connect_sync(
        redis_server.url, sync_interval=0.05, max_staleness=0.3, response_timeout=0.1
    )
    assert store.is_fresh
    closed = revocable(mock_provider, store)
    opened = revocable(mock_provider, store, revocation_failure="open")
    token = mock_provider.token().sign()
    closed.verify_sync(token)

    redis_server.kill()

    def refused_unavailable() -> bool:
        try:
            closed.verify_sync(token)
        except RevocationStoreUnavailable as err:
            assert (err.kind, err.status) == ("revocation-store-unavailable", 503)
            return True
        return False

    poll_until(refused_unavailable, timeout=5.0)
    assert not store.is_fresh
    assert opened.verify_sync(token).id == "user_test"
    # Revoking through a store that cannot reach Redis is refused, not silently dropped.
    with pytest.raises(RevocationStoreUnavailable):
        closed.revocations.revoke_user_sync("user_test")


def assert_secret_not_shown(*texts: str) -> None:
    for text in texts:
        assert REDIS_PASSWORD not in text


def test_the_redis_password_never_appears_in_reprs_or_errors(
    mock_provider, redis_server_with_password
):
    url = redis_server_with_password.url
    assert REDIS_PASSWORD in url
    store = RedisRevocationStore.connect_sync(url, prefix="pw:")
    verifier = revocable(mock_provider, store)
    assert_secret_not_shown(repr(store), str(store), repr(verifier), repr(verifier.revocations))

    wrong = url.replace(REDIS_PASSWORD, REDIS_PASSWORD + "-wrong")
    unreachable = f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/"
    not_a_url = f"rediss//:{REDIS_PASSWORD}@"
    for bad in (wrong, unreachable, not_a_url):
        with pytest.raises((RevocationStoreUnavailable, ConfigError)) as caught:
            RedisRevocationStore.connect_sync(bad, response_timeout=0.5)
        err = caught.value
        shown = "".join(traceback.format_exception(type(err), err, err.__traceback__))
        assert_secret_not_shown(str(err), repr(err), repr(err.args), shown)

    with pytest.raises(RevocationStoreUnavailable) as caught:
        run(lambda: RedisRevocationStore.connect(wrong, response_timeout=0.5))
    assert_secret_not_shown(str(caught.value), repr(caught.value))
