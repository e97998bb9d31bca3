"""jwks-auth for Python: verify identity-provider JWTs (Better Auth, Auth0, Clerk, any OIDC
issuer) with the Rust verifier and its caching JWKS key fetcher.

>>> from jwks_auth import Provider, Verifier
>>> verifier = Verifier(Provider.better_auth("https://auth.example.com"))
>>> # user = await verifier.verify(token)   or   verifier.verify_sync(token)

Revocation (logout before ``exp``): ``Verifier(..., revocation=InMemoryRevocationStore())``
(one process) or ``revocation=await RedisRevocationStore.connect(url)`` (a fleet), then
``await verifier.revocations.revoke_session(sid)``. ``MultiVerifier([a, b])`` routes each
token to the verifier of its issuer.

``jwks_auth.fastapi`` has the FastAPI dependencies, ``jwks_auth.testing`` a mock provider
and token builder for tests, ``jwks_auth.metrics`` the library's metrics (Prometheus text,
a prometheus_client collector).
"""

from ._errors import (
    AuthError,
    ConfigError,
    Forbidden,
    InvalidRequest,
    InvalidToken,
    KeysUnavailable,
    MissingToken,
    RevocationStoreUnavailable,
)
from ._jwks_auth import (
    AuthUser,
    InMemoryRevocationStore,
    Introspection,
    McpOperations,
    MultiVerifier,
    ProtectedResource,
    Provider,
    RedisRevocationStore,
    Refusal,
    RequestEdge,
    Revocations,
    StepUp,
    TenantVerifier,
    Verifier,
    __version__,
)

__all__ = [
    "AuthError",
    "AuthUser",
    "ConfigError",
    "Forbidden",
    "InMemoryRevocationStore",
    "Introspection",
    "InvalidRequest",
    "InvalidToken",
    "KeysUnavailable",
    "McpOperations",
    "MissingToken",
    "MultiVerifier",
    "ProtectedResource",
    "Provider",
    "RedisRevocationStore",
    "Refusal",
    "RequestEdge",
    "RevocationStoreUnavailable",
    "Revocations",
    "StepUp",
    "TenantVerifier",
    "Verifier",
    "__version__",
]
