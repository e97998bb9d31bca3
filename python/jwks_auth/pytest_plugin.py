"""pytest fixtures over ``jwks_auth.testing``: enable with
``pytest_plugins = ["jwks_auth.pytest_plugin"]`` in a ``conftest.py`` (or ``-p
jwks_auth.pytest_plugin``).

- ``mock_provider``: a Better Auth ``MockProvider`` on loopback, stopped after the test;
  parametrize the preset with ``@pytest.mark.parametrize("mock_preset", ["auth0"])``.
- ``verifier``: a ``Verifier`` for it.
"""

from typing import Iterator

import pytest

from . import Verifier
from .testing import MockProvider


@pytest.fixture
def mock_preset() -> str:
    """The preset of ``mock_provider`` (override or parametrize it)."""
    return "better-auth"


@pytest.fixture
def mock_provider(mock_preset: str) -> Iterator[MockProvider]:
    """A mock identity provider serving a real JWK set on loopback."""
    mock = MockProvider(mock_preset)
    try:
        yield mock
    finally:
        mock.close()


@pytest.fixture
def verifier(mock_provider: MockProvider) -> Verifier:
    """A verifier of ``mock_provider``'s tokens."""
    return Verifier(mock_provider.provider())
