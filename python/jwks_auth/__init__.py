"""jwks-auth for Python: verify identity-provider JWTs (Better Auth, Auth0, Clerk, any OIDC
issuer) with the Rust verifier and its caching JWKS key fetcher.

>>> from jwks_auth import Provider, Verifier
>>> verifier = Verifier(Provider.better_auth("https://auth.example.com"))
>>> # user = await verifier.verify(token)   or   verifier.verify_sync(token)

``jwks_auth.fastapi`` has the FastAPI dependencies, ``jwks_auth.testing`` a mock provider
and token builder for tests.
"""

from ._errors import (
    AuthError,
    ConfigError,
    Forbidden,
    InvalidRequest,
    InvalidToken,
    KeysUnavailable,
    MissingToken,
)
from ._jwks_auth import AuthUser, Provider, Verifier, __version__

__all__ = [
    "AuthError",
    "AuthUser",
    "ConfigError",
    "Forbidden",
    "InvalidRequest",
    "InvalidToken",
    "KeysUnavailable",
    "MissingToken",
    "Provider",
    "Verifier",
    "__version__",
]
