import shutil
from typing import Iterator

import pytest

from redis_server import RedisServer

# The fixtures users get: `mock_provider` (a Better Auth mock on loopback) and `verifier`.
pytest_plugins = ["jwks_auth.pytest_plugin"]

#: The password of the `redis_server_with_password` fixture's server.
REDIS_PASSWORD = "s3cret-redis-pass"


def _redis_server(password=None) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not on PATH: the Redis revocation tests did not run")
    server = RedisServer(binary, password).start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh `redis-server` on a free loopback port, killed after the test; skips the test
    when `redis-server` is not on PATH."""
    yield from _redis_server()


@pytest.fixture
def redis_server_with_password() -> Iterator[RedisServer]:
    """`redis_server` with `requirepass REDIS_PASSWORD` (its `url` holds the password)."""
    yield from _redis_server(REDIS_PASSWORD)
