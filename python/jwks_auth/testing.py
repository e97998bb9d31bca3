"""Test kit: a mock identity provider serving a real JWK set on loopback, and a builder of
real signed tokens (the Rust ``jwks_auth::testing`` kit).

>>> from jwks_auth import Verifier
>>> from jwks_auth.testing import MockProvider
>>> with MockProvider("auth0") as mock:
...     verifier = Verifier(mock.provider())
...     user = verifier.verify_sync(mock.token().sub("user_1").scope("read:notes").sign())
...     (user.id, user.scopes, mock.jwks_requests)
('user_1', ['read:notes'], 1)

Fixtures for pytest: ``pytest_plugins = ["jwks_auth.pytest_plugin"]`` in your
``conftest.py`` gives ``mock_provider`` (a Better Auth mock, fresh per test) and
``verifier`` (a ``Verifier`` on it). Instead of overriding ``current_user`` with a fake,
point the app at the mock: ``configure(app, verifier)`` and send
``Authorization: Bearer <mock_provider.token().sign()>``.
"""

from . import _jwks_auth

if not _jwks_auth.HAS_TESTING:  # pragma: no cover - wheels are built with the feature
    raise ImportError("this jwks_auth build has no testing kit (cargo feature `testing`)")

MockProvider = _jwks_auth.MockProvider
TokenBuilder = _jwks_auth.TokenBuilder
#: A client's DPoP key: ``mock.token().dpop_bound(key)``, ``key.proof("GET", url, token=t)``.
DpopKey = _jwks_auth.DpopKey

#: The audience a mock's tokens carry where the preset configures one (Auth0, Okta, ...).
MOCK_AUDIENCE = "https://api.example.test"

__all__ = ["MOCK_AUDIENCE", "DpopKey", "MockProvider", "TokenBuilder"]
