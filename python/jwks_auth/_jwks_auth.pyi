"""Type stubs of the extension module (``jwks_auth._jwks_auth``)."""

from datetime import timedelta
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

#: Seconds, or a ``datetime.timedelta``.
Seconds = Union[int, float, timedelta]

__version__: str
HAS_TESTING: bool

def render_metrics() -> str:
    """jwks-auth's metrics, Prometheus text format 0.0.4 (``jwks_auth.metrics.render``)."""

def metric_families() -> List[Tuple[str, str, str]]:
    """``(name, type, help)`` of every metric family (``jwks_auth.metrics.families``)."""

class Provider:
    """Where a verifier gets its keys and which tokens it accepts."""

    @staticmethod
    def better_auth(base_url: str) -> "Provider": ...
    @staticmethod
    def auth0(domain: str, audience: str) -> "Provider": ...
    @staticmethod
    def clerk(frontend_api: str) -> "Provider": ...
    @staticmethod
    def preset(name: str, **params: str) -> "Provider": ...
    @staticmethod
    def oidc(issuer: str) -> "Provider": ...
    @staticmethod
    def shared_secret(secret: Union[str, bytes]) -> "Provider": ...
    @staticmethod
    def static_jwks(json: str) -> "Provider": ...
    @staticmethod
    def public_key_pem(pem: str) -> "Provider": ...
    @staticmethod
    def builtin_names() -> List[str]: ...
    @property
    def name(self) -> str: ...
    @property
    def issuer(self) -> Optional[str]: ...
    @property
    def jwks_url(self) -> Optional[str]: ...

class AuthUser:
    """The user of a verified token."""

    @property
    def id(self) -> str: ...
    @property
    def email(self) -> Optional[str]: ...
    @property
    def email_verified(self) -> Optional[bool]: ...
    @property
    def scopes(self) -> List[str]: ...
    @property
    def client_id(self) -> Optional[str]: ...
    @property
    def kind(self) -> str:
        """``"user"`` or ``"machine"``."""
    @property
    def claims(self) -> Dict[str, Any]:
        """Every claim of the token (a new dict on each access)."""
    @property
    def issuer(self) -> Optional[str]: ...
    @property
    def expires_at(self) -> Optional[int]: ...
    def has_scope(self, scope: str) -> bool: ...

class Verifier:
    """One per process: verifies one provider's tokens, sharing its key cache."""

    def __init__(
        self,
        provider: Provider,
        *,
        audience: Union[str, Sequence[str], None] = None,
        issuer: Optional[str] = None,
        leeway: Optional[float] = None,
        cache_verified: Union[bool, int, None] = None,
        algorithms: Optional[Sequence[str]] = None,
        authorized_parties: Optional[Sequence[str]] = None,
        user_id_claim: Optional[str] = None,
        token_type: Union[str, Sequence[str], None] = None,
        token_classes: Optional[Sequence[str]] = None,
        revocation: Union["InMemoryRevocationStore", "RedisRevocationStore", None] = None,
        revocation_failure: Literal["closed", "open"] = "closed",
        dpop: Literal["off", "allowed", "required"] = "off",
        dpop_nonces: bool = False,
        protected_resource: Optional["ProtectedResource"] = None,
        scope_hierarchy: Optional[Mapping[str, Sequence[str]]] = None,
        scopes: Optional[Sequence[str]] = None,
        introspection: Optional["Introspection"] = None,
    ) -> None:
        """``token_type``: the accepted ``typ`` headers (``"at+jwt"`` for RFC 9068 access
        tokens, ``"any"``, or a list; ``""`` stands for no ``typ``). ``token_classes``: the
        accepted classes of the preset (Clerk: ``"session"``, ``"template"``, ``"m2m"``).
        ``revocation``: a store, which turns revocation on; ``revocation_failure``: what a
        verify does when the store cannot answer (``"closed"``: 503, ``"open"``: accept).
        ``dpop``: DPoP-bound tokens with their proofs (RFC 9449) through ``RequestEdge`` and
        ``jwks_auth.fastapi`` (``"allowed"``: bearer tokens too; ``"required"``: only
        DPoP); ``dpop_nonces``: the server issues nonces proofs must carry.
        ``scope_hierarchy``: scopes that grant others (``{"files:write": ["files:read"],
        "admin": ["admin:*"]}``; ``*`` matches the known scopes: ``scopes``, the relations,
        the protected resource's ``scopes_supported``), honoured by ``user.scopes`` and every
        guard; a cycle or a prefix matching nothing raises ``ConfigError``."""
    def verify(self, token: str) -> Awaitable[AuthUser]:
        """``await verifier.verify(token)``; raises ``AuthError`` subclasses.

        An awaitable, not a coroutine: ``await`` it, or pass it to ``asyncio.gather`` /
        ``asyncio.ensure_future`` (``asyncio.create_task`` wants a coroutine). With the keys
        cached it completes at once; a key fetch runs on the Rust runtime.
        """
    def verify_sync(self, token: str) -> AuthUser:
        """Blocking verify (the GIL is released); raises ``AuthError`` subclasses."""
    def warm_up(self) -> Awaitable[None]: ...
    def warm_up_sync(self) -> None: ...
    def key_stats(self) -> Dict[str, int]: ...
    @property
    def provider_name(self) -> str: ...
    @property
    def issuer(self) -> Optional[str]: ...
    @property
    def token_sources(self) -> List[str]:
        """``"bearer"`` and ``"cookie:<name>"`` entries, in lookup order; a cookie only with
        ``authorized_parties`` set."""
    @property
    def revocations(self) -> Optional["Revocations"]:
        """The handle to revoke tokens through; ``None`` without ``revocation=``."""

class ProtectedResource:
    """RFC 9728 Protected Resource Metadata: the document, where it is served, and the URL
    challenges' ``resource_metadata`` names."""

    def __init__(
        self,
        resource: str,
        *,
        authorization_servers: Sequence[str] = (),
        scopes_supported: Sequence[str] = (),
        resource_name: Optional[str] = None,
        resource_documentation: Optional[str] = None,
        dpop_bound_access_tokens_required: Optional[bool] = None,
        dpop_signing_alg_values_supported: Sequence[str] = (),
    ) -> None: ...
    @property
    def resource(self) -> str: ...
    @property
    def metadata_url(self) -> str: ...
    @property
    def metadata_path(self) -> str: ...
    @property
    def cache_max_age(self) -> int: ...
    def metadata(self) -> Dict[str, Any]: ...

class Refusal:
    """A refused request, ready to send (never contains the token)."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> List[Tuple[str, str]]:
        """Every response header in order (lowercase names): ``www-authenticate`` (one per
        challenge), ``retry-after``, ``dpop-nonce``."""
    @property
    def body(self) -> Dict[str, Any]:
        """The JSON body, e.g. ``{"error": "invalid_token"}``."""
    @property
    def error(self) -> str:
        """The body's ``error`` code."""
    @property
    def kind(self) -> str:
        """The verifier's error kind (``"expired"``, ...), for logs."""
    @property
    def message(self) -> str:
        """The failed check, for logs."""

class RequestEdge:
    """The library's request edge: from a request's method, target and headers to the
    verified user or a ``Refusal``. ``jwks_auth.fastapi`` is an adapter over it."""

    def __init__(
        self,
        verifier: Union[Verifier, "MultiVerifier", "TenantVerifier"],
        *,
        realm: str = "api",
        retry_after: float = 30.0,
        external_origin: Optional[str] = None,
        trust_forwarded_headers: bool = False,
        public_paths: Sequence[str] = (),
        public_prefixes: Sequence[str] = (),
        resource: Optional[str] = None,
        authorization_servers: Sequence[str] = (),
        protected_resource: Optional["ProtectedResource"] = None,
        mcp_operations: Optional["McpOperations"] = None,
    ) -> None: ...
    @property
    def verifier(self) -> Union[Verifier, "MultiVerifier"]: ...
    def authenticate(
        self,
        method: str,
        target: str,
        headers: Sequence[Tuple[Union[bytes, str], Union[bytes, str]]],
        *,
        scheme: Optional[str] = None,
        host: Optional[str] = None,
        required: bool = True,
        guard: bool = False,
    ) -> Awaitable[Union[AuthUser, Refusal, None]]:
        """The user, ``None`` (no credential and not ``required``, or a public path with
        ``guard``), or the ``Refusal`` (returned, never raised)."""
    def authenticate_sync(
        self,
        method: str,
        target: str,
        headers: Sequence[Tuple[Union[bytes, str], Union[bytes, str]]],
        *,
        scheme: Optional[str] = None,
        host: Optional[str] = None,
        required: bool = True,
        guard: bool = False,
    ) -> Union[AuthUser, Refusal, None]: ...
    def is_public(self, path: str) -> bool: ...
    def insufficient_scope(self, scope: Optional[str] = None) -> Refusal: ...
    def refusal_for(self, kind: str, status: int) -> Refusal: ...
    def step_up(self, user: AuthUser, rule: "StepUp") -> Optional[Refusal]:
        """The refusal of a step-up ``rule`` for ``user`` (401
        ``insufficient_user_authentication`` with ``acr_values``/``max_age``, or Clerk's 403
        reverification answer); ``None`` when the user's authentication meets it."""
    def dpop_nonce(self) -> Optional[str]: ...

class McpOperations:
    """What each MCP operation needs beyond a valid token, read from the ``Mcp-Method`` and
    ``Mcp-Name`` headers (MCP 2026-07-28; the body is never read): a refusal is 403
    ``insufficient_scope`` naming every scope the operation needs. Without ``Mcp-Method``
    (older clients) only ``every_operation`` applies."""

    def __init__(
        self,
        *,
        every_operation: Sequence[str] = (),
        methods: Mapping[str, Sequence[str]] = ...,
        tools: Mapping[str, Sequence[str]] = ...,
        resources: Mapping[str, Sequence[str]] = ...,
        prompts: Mapping[str, Sequence[str]] = ...,
        tool_step_up: Optional[Mapping[str, "StepUp"]] = None,
    ) -> None: ...
    def required(self, method: Optional[str] = None, name: Optional[str] = None) -> List[str]: ...

class StepUp:
    """A step-up rule (RFC 9470, Auth0 MFA, Clerk reverification): what a user's
    authentication must be for an operation."""

    @staticmethod
    def acr(values: Sequence[str]) -> "StepUp":
        """The ``acr`` claim must be one of ``values``; a token without one never passes."""
    @staticmethod
    def auth_age(max_age: float) -> "StepUp":
        """``auth_time`` at most ``max_age`` seconds old; a token without one never passes."""
    @staticmethod
    def mfa(max_age: Optional[float] = None) -> "StepUp":
        """Auth0: ``amr`` contains ``mfa`` (and ``auth_time`` fresh when ``max_age``)."""
    @staticmethod
    def reverification(
        level: Optional[str] = None,
        *,
        factor: Optional[str] = None,
        after_minutes: Optional[int] = None,
    ) -> "StepUp":
        """Clerk: ``"strict"``, ``"strict_mfa"``, ``"moderate"``, ``"lax"``, or ``factor``
        with ``after_minutes``; judged on the ``fva`` claim."""

class MultiVerifier:
    """Several verifiers, each token routed to the one of its ``iss``."""

    def __init__(self, verifiers: Sequence[Verifier]) -> None: ...
    def verify(self, token: str) -> Awaitable[AuthUser]:
        """``await multi.verify(token)``; an unknown issuer raises ``InvalidToken``
        (``kind == "invalid-issuer"``)."""
    def verify_sync(self, token: str) -> AuthUser: ...
    def verifier_for(self, issuer: str) -> Optional[Verifier]: ...
    @property
    def issuers(self) -> List[str]: ...
    @property
    def token_sources(self) -> List[str]: ...

class Introspection:
    """Opaque tokens through the authorization server's RFC 7662 introspection endpoint:
    tokens that are not a JWS (every token with ``introspect_all``) are introspected, an
    ``"active": true`` answer passes the same claim rules as a JWT; answers are cached by the
    token's SHA-256 for at most ``cache_ttl`` seconds and never past ``exp``."""

    def __init__(
        self,
        endpoint: str,
        *,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic",
        bearer_credential: Optional[str] = None,
        introspect_all: bool = False,
        cache_ttl: float = 60.0,
        negative_cache_ttl: float = 5.0,
        max_entries: int = 100_000,
        timeout: float = 5.0,
    ) -> None: ...

class TenantVerifier:
    """Tokens from many issuers, one per tenant: ``factory(issuer, params)`` returns the
    ``Verifier`` of a trusted issuer the first time one of its tokens arrives (``params``:
    what the matching template captured, e.g. ``{"tid": "..."}``). Trusted: ``trust_issuers``,
    issuers matching a ``trust_templates`` entry (``{name}`` matches 1-64 letters, digits,
    ``-`` or ``_``), or those ``trust_if(issuer)`` accepts. An untrusted issuer is refused
    (``InvalidToken``, ``kind == "invalid-issuer"``) without a network call."""

    def __init__(
        self,
        factory: Callable[[str, Dict[str, str]], Verifier],
        *,
        trust_issuers: Sequence[str] = (),
        trust_templates: Sequence[str] = (),
        trust_if: Optional[Callable[[str], bool]] = None,
        max_issuers: int = 1000,
    ) -> None: ...
    def verify(self, token: str) -> Awaitable[AuthUser]: ...
    def verify_sync(self, token: str) -> AuthUser: ...
    @property
    def live_issuers(self) -> int: ...
    @property
    def token_sources(self) -> List[str]: ...

class InMemoryRevocationStore:
    """Revocations in this process's memory (bounded; a full store refuses with 503)."""

    def __init__(
        self, capacity: int = 100_000, max_token_lifetime: Optional[Seconds] = None
    ) -> None: ...
    @property
    def capacity(self) -> int: ...
    @property
    def max_token_lifetime(self) -> float: ...

class RedisRevocationStore:
    """Revocations shared through Redis, answered from a synced in-memory copy."""

    @staticmethod
    def connect(
        url: str,
        *,
        prefix: str = "jwks-auth:",
        max_token_lifetime: Optional[Seconds] = None,
        capacity: int = 100_000,
        sync_interval: Optional[Seconds] = None,
        max_staleness: Optional[Seconds] = None,
        response_timeout: Optional[Seconds] = None,
    ) -> Awaitable["RedisRevocationStore"]: ...
    @staticmethod
    def connect_sync(
        url: str,
        *,
        prefix: str = "jwks-auth:",
        max_token_lifetime: Optional[Seconds] = None,
        capacity: int = 100_000,
        sync_interval: Optional[Seconds] = None,
        max_staleness: Optional[Seconds] = None,
        response_timeout: Optional[Seconds] = None,
    ) -> "RedisRevocationStore": ...
    @property
    def is_fresh(self) -> bool: ...
    @property
    def prefix(self) -> str: ...

class Revocations:
    """``verifier.revocations``: revoke before ``exp``; ``at`` is Unix seconds (default now)."""

    def now(self) -> int: ...
    def revoke_token(self, jti: str, exp: int) -> Awaitable[None]: ...
    def revoke_token_sync(self, jti: str, exp: int) -> None: ...
    def revoke_session(self, sid: str, at: Optional[int] = None) -> Awaitable[None]: ...
    def revoke_session_sync(self, sid: str, at: Optional[int] = None) -> None: ...
    def revoke_user(self, user_id: str, at: Optional[int] = None) -> Awaitable[None]: ...
    def revoke_user_sync(self, user_id: str, at: Optional[int] = None) -> None: ...
    def revoke_all(self, at: Optional[int] = None) -> Awaitable[None]: ...
    def revoke_all_sync(self, at: Optional[int] = None) -> None: ...

class TokenBuilder:
    def claim(self, name: str, value: Any) -> "TokenBuilder": ...
    def without_claim(self, name: str) -> "TokenBuilder": ...
    def sub(self, sub: str) -> "TokenBuilder": ...
    def email(self, email: str) -> "TokenBuilder": ...
    def email_verified(self, verified: bool) -> "TokenBuilder": ...
    def scope(self, scope: str) -> "TokenBuilder": ...
    def permissions(self, permissions: Sequence[str]) -> "TokenBuilder": ...
    def azp(self, azp: str) -> "TokenBuilder": ...
    def sid(self, sid: str) -> "TokenBuilder": ...
    def at(self, unix_secs: int) -> "TokenBuilder": ...
    def issuer(self, issuer: str) -> "TokenBuilder": ...
    def audience(self, audience: str) -> "TokenBuilder": ...
    def audiences(self, audiences: Sequence[str]) -> "TokenBuilder": ...
    def expires_in(self, seconds: int) -> "TokenBuilder": ...
    def expired(self) -> "TokenBuilder": ...
    def not_before_in(self, seconds: int) -> "TokenBuilder": ...
    def alg(self, alg: str) -> "TokenBuilder": ...
    def kid(self, kid: str) -> "TokenBuilder": ...
    def no_kid(self) -> "TokenBuilder": ...
    def header(self, name: str, value: Any) -> "TokenBuilder": ...
    def sign(self) -> str: ...
    def dpop_bound(self, key: "DpopKey") -> "TokenBuilder": ...
    def sign_with_wrong_key(self) -> str: ...
    def sign_tampered(self, claim: str, value: Any) -> str: ...
    def sign_none(self) -> str: ...

class DpopKey:
    """A client's DPoP key (a committed test key): ``TokenBuilder.dpop_bound(key)``."""

    def __init__(self, family: str = "ec-p256", index: int = 0) -> None: ...
    @property
    def jkt(self) -> str: ...
    def proof(
        self,
        method: str,
        url: str,
        *,
        token: Optional[str] = None,
        nonce: Optional[str] = None,
        iat: Optional[int] = None,
        jti: Optional[str] = None,
    ) -> str: ...

class MockProvider:
    def __init__(self, preset: str = "better-auth", alg: Optional[str] = None) -> None: ...
    def provider(self) -> Provider: ...
    @property
    def preset(self) -> str: ...
    @property
    def uri(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def jwks_url(self) -> str: ...
    @property
    def params(self) -> List[Tuple[str, str]]: ...
    def token(self) -> TokenBuilder: ...
    def rotate(self) -> str: ...
    def add_key(self, family: str) -> str: ...
    def remove_key(self, kid: str) -> None: ...
    @property
    def kids(self) -> List[str]: ...
    @property
    def current_kid(self) -> str: ...
    def fail_next(self, n: int, status: int = 503) -> None: ...
    def delay(self, seconds: Optional[float] = None) -> None: ...
    @property
    def jwks_requests(self) -> int: ...
    def serve_introspection(self) -> str:
        """Serves ``POST /introspect`` (RFC 7662) for the tokens ``opaque`` mints; its URL."""
    def opaque(self, builder: TokenBuilder) -> str:
        """An opaque token whose introspection answers ``builder``'s claims."""
    def revoke_opaque(self, token: str) -> None: ...
    @property
    def introspection_requests(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> "MockProvider": ...
    def __exit__(self, *args: object) -> None: ...
