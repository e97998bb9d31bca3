"""The exceptions of ``jwks_auth``: one base class, ``AuthError``, with ``.kind`` and ``.status``.

Messages name the failing check; they never contain the token, a secret or an expected value.
"""

from typing import Optional

__all__ = [
    "AuthError",
    "InvalidToken",
    "MissingToken",
    "Forbidden",
    "KeysUnavailable",
    "RevocationStoreUnavailable",
    "InvalidRequest",
    "ConfigError",
]


class AuthError(Exception):
    """Authentication or authorization failed.

    ``kind`` is the stable kebab-case name of the failed check (``"expired"``,
    ``"invalid-signature"``, ``"keys-unavailable"``, ...: the Rust ``ErrorKind``), ``status``
    the HTTP status to answer with, ``claim`` the claim a ``missing-claim`` or
    ``invalid-claim`` error is about.
    """

    default_kind = "invalid-token"
    default_status = 401

    def __init__(
        self,
        message: str = "authentication failed",
        *,
        kind: Optional[str] = None,
        status: Optional[int] = None,
        claim: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind if kind is not None else self.default_kind
        self.status = status if status is not None else self.default_status
        self.claim = claim

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, kind={self.kind!r}, status={self.status})"


class InvalidToken(AuthError):
    """The token was rejected (401): malformed, bad signature, expired, wrong issuer,
    revoked (``kind == "revoked"``), not active by introspection (``kind == "inactive"``), ..."""


class MissingToken(InvalidToken):
    """No token in the request (401)."""

    default_kind = "missing-token"


class Forbidden(AuthError):
    """Authenticated, but not allowed (403): a scope or same-user guard refused."""

    default_kind = "forbidden"
    default_status = 403


class KeysUnavailable(AuthError):
    """The provider's keys could not be fetched and none are cached (503)."""

    default_kind = "keys-unavailable"
    default_status = 503


class RevocationStoreUnavailable(AuthError):
    """The revocation store could not answer or record a revocation (503): a Redis store
    not synced within its bound, or a store full of entries that can still match a token."""

    default_kind = "revocation-store-unavailable"
    default_status = 503


class InvalidRequest(AuthError):
    """The request's credentials are unusable (400): several or empty ``Authorization``
    headers, more than one token."""

    default_kind = "malformed"
    default_status = 400


class ConfigError(AuthError, ValueError):
    """The provider or verifier is misconfigured (500)."""

    default_kind = "config"
    default_status = 500


def _from_rust(kind: str, status: int, message: str, claim: Optional[str]) -> AuthError:
    """Called by the extension module to build the exception for a Rust ``AuthError``."""
    if kind == "missing-token":
        cls: type = MissingToken
    elif kind == "config":
        cls = ConfigError
    elif kind == "revocation-store-unavailable":
        cls = RevocationStoreUnavailable
    elif status == 403:
        cls = Forbidden
    elif status == 503:
        cls = KeysUnavailable
    elif status == 400:
        cls = InvalidRequest
    else:
        cls = InvalidToken
    return cls(message, kind=kind, status=status, claim=claim)
