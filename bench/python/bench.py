"""jwks_auth (the wheel) against the Python JWT libraries, on the same tokens.

Run it through ``bench/python/run.sh`` (builds the release wheel, installs the pinned peers,
then runs this file); ``python bench/python/bench.py --help`` lists the knobs.

Every library verifies the same token per algorithm: signature, ``exp``, ``iss`` and ``aud``,
the key chosen by the token's ``kid`` from a JWK set (HS256: a shared secret, no JWK set).
For EdDSA, ES256 and RS256 a ``jwks_auth.testing.MockProvider`` (Better Auth preset) serves
its JWK set on loopback (a second key of the same family is published beside the signing
one, so the ``kid`` lookup has something to choose from) and mints the tokens; HS256 tokens
are made here with ``hmac`` over the same claims.

Sections (each printed as a markdown table; ``--json`` also writes the numbers to
``bench/python/results/``):

1. Correctness gate: every library must accept the good token and refuse a tampered, an
   expired, a wrong-issuer and a wrong-audience one, before anything is timed. A library
   that fails a check is reported and left out of every timing.
2. µs per verify, interleaved rounds: in each round every column runs one batch, in an
   order rotated from round to round; the table gives each column's median over the
   rounds with its spread (half the interquartile range, in % of the median), and ratios
   computed per round (paired: a burst from a neighbour hits both sides of a ratio) then
   the median taken.
3. The bare floor: ``bench_compare`` (the Rust example, aws-lc-rs alone on the same committed
   test keys) when ``FLOOR_BIN`` names it, run in the same session; else the numbers of
   BENCHMARKS.md (cross-run).
4. Throughput with 1 and 2 Python threads (``threading``), verifies/s, and the 2 ÷ 1 ratio,
   next to a control (``hashlib.sha256`` over 64 KB, C code that releases the GIL) whose
   ratio is what the shared machine gives two threads at that moment.
5. FastAPI: per-request cost through the ASGI app in process (no server, no socket) of one
   route without auth, with ``Depends(current_user)``, behind ``AuthMiddleware``, with the
   hand-written PyJWT dependency of the usual FastAPI guides, with a hand-written
   dependency over ``verifier.verify``, and with mock-ups of three fixes to
   ``current_user`` (defined below; the library is not changed).
6. Where the binding costs: accepted vs refused verifies, cache hits, attribute access,
   the pieces of the FastAPI adapter.
7. Instructions per request of the section-5 routes (HS256) under callgrind, each route's
   requests bracketed by ``os.getppid()`` and ``--dump-before=getppid``: load-independent.

Peers: PyJWT (+ cryptography), oxyjwt and pyjwt-rs through their PyJWT-style
``PyJWKClient`` (one real fetch from the mock, then their warm caches); pyjwt-rs is handed
the ``PyJWK`` itself (its prepared Rust key handle) rather than ``.key``, which it re-imports
on every call. joserfc has no JWKS client: the set is fetched once here and imported as a
``KeySet`` (``jwt.decode`` picks the key by ``kid``), the claims checked by a
``JWTClaimsRegistry`` (iss, aud, exp essential).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as _dt
import hashlib
import hmac
import json
import math
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import jwt as pyjwt  # PyJWT
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

import jwks_auth
from jwks_auth import AuthError, AuthUser, Provider, Verifier
from jwks_auth.testing import MockProvider

ALGS = ["EdDSA", "ES256", "RS256", "HS256"]
KEY_FAMILY = {"EdDSA": "ed25519", "ES256": "ec-p256", "RS256": "rsa"}
HS_SECRET = "bench-shared-secret-of-at-least-32-bytes!"
HS_ISSUER = "https://auth.bench.example"
HS_AUDIENCE = "https://api.bench.example"
SUB = "user_bench"
CONTROL = "control: sha256(64 KB)"
CONTROL_DATA = bytes(range(256)) * 256

#: The bare floor (aws-lc-rs alone, µs) and Rust `Verifier::verify` / cache hit, from
#: BENCHMARKS.md "Time per verify" (bench/compare.sh, quiet machine): cross-run numbers.
BENCHMARKS_MD = {
    "EdDSA": (39.74, 39.74, 0.43),
    "ES256": (57.17, 55.70, 0.45),
    "RS256": (16.11, 17.66, 0.56),
    "HS256": (0.31, 1.33, 0.39),
}


def log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def load() -> str:
    try:
        return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # pragma: no cover - not Linux
        return "n/a"


# ---------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_token(claims: Dict[str, Any], secret: str = HS_SECRET) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    sig = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(sig)}"


def tamper(token: str, claim: str, value: Any) -> str:
    """The token with one payload claim changed and the old signature kept."""
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims[claim] = value
    return f"{header}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}.{sig}"


@dataclass
class Case:
    """One algorithm: the good token, the bad ones, and where the keys are."""

    alg: str
    token: str
    bad: Dict[str, str]
    issuer: str
    audience: str
    jwks_url: Optional[str] = None
    jwks: Optional[Dict[str, Any]] = None
    secret: Optional[str] = None
    provider: Optional[Provider] = None
    mock: Optional[MockProvider] = None
    verifier_kwargs: Dict[str, Any] = field(default_factory=dict)
    big_token: Optional[str] = None  # the same claims plus ~3 KB of others (section 6)


def make_case(alg: str) -> Case:
    if alg == "HS256":
        now = int(time.time())
        base = {"sub": SUB, "iss": HS_ISSUER, "aud": HS_AUDIENCE, "iat": now, "exp": now + 3600}
        bad = {
            "tampered": tamper(hs256_token(base), "sub", "someone_else"),
            "expired": hs256_token({**base, "iat": now - 7200, "exp": now - 3600}),
            "wrong issuer": hs256_token({**base, "iss": "https://evil.example"}),
            "wrong audience": hs256_token({**base, "aud": "https://other-api.example"}),
        }
        big = {**base, **{f"claim_{i:03d}": "x" * 24 for i in range(100)}}
        return Case(
            alg, hs256_token(base), bad, HS_ISSUER, HS_AUDIENCE, secret=HS_SECRET,
            provider=Provider.shared_secret(HS_SECRET),
            verifier_kwargs={"issuer": HS_ISSUER, "audience": HS_AUDIENCE},
            big_token=hs256_token(big),
        )
    mock = MockProvider("better-auth", alg)
    mock.add_key(KEY_FAMILY[alg])  # a second published key: the kid picks one of two
    token = mock.token().sub(SUB).sign()
    bad = {
        "tampered": mock.token().sub(SUB).sign_tampered("sub", "someone_else"),
        "expired": mock.token().sub(SUB).expired().sign(),
        "wrong issuer": mock.token().sub(SUB).issuer("https://evil.example").sign(),
        "wrong audience": mock.token().sub(SUB).audience("https://other-api.example").sign(),
    }
    builder = mock.token().sub(SUB)
    for i in range(100):
        builder = builder.claim(f"claim_{i:03d}", "x" * 24)
    with urllib.request.urlopen(mock.jwks_url, timeout=10) as resp:
        jwks = json.load(resp)
    header = pyjwt.get_unverified_header(token)
    assert len(jwks["keys"]) == 2 and header["kid"] in {k["kid"] for k in jwks["keys"]}
    claims = pyjwt.decode(token, options={"verify_signature": False})
    # Better Auth: iss = aud = the origin; the checks below use the token's own values.
    return Case(
        alg, token, bad, claims["iss"], claims["aud"], jwks_url=mock.jwks_url, jwks=jwks,
        provider=mock.provider(), mock=mock, big_token=builder.sign(),
    )


# ---------------------------------------------------------------------------------------
# The libraries: each adapter is verify(token) -> the subject, raising on a refusal
# ---------------------------------------------------------------------------------------


@dataclass
class Lib:
    name: str  # column name
    verify: Callable[[str], Any]  # sync callable, or None for async-only
    averify: Optional[Callable[[str], Any]] = None  # coroutine factory (await columns)
    peer: bool = False  # a peer library (not jwks_auth)
    note: str = ""


def _pyjwt_like(module: Any, case: Case, pass_jwk: bool = False) -> Callable[[str], Any]:
    """PyJWT's API (also oxyjwt's and pyjwt-rs's): PyJWKClient (fetched once from the mock,
    then its warm cache) + decode with algorithms, audience, issuer and a required exp.

    The key passed to decode is ``signing_key.key`` (the guides' form), or with ``pass_jwk``
    the ``PyJWK`` itself: pyjwt-rs keeps a prepared Rust key handle on its ``PyJWK`` and
    re-imports a ``.key`` (a ``cryptography`` object) on every call."""
    alg, iss, aud = case.alg, case.issuer, case.audience
    options = {"require": ["exp", "iss", "aud"]}
    decode = module.decode
    if case.secret is not None:
        secret = case.secret.encode()

        def verify_hs(token: str) -> Any:
            return decode(token, secret, algorithms=[alg], audience=aud, issuer=iss,
                          options=options)["sub"]

        return verify_hs
    client = module.PyJWKClient(case.jwks_url)
    client.get_signing_key_from_jwt(case.token)  # the one fetch: the cache is warm now
    get_key = client.get_signing_key_from_jwt

    def verify(token: str) -> Any:
        key = get_key(token)
        return decode(token, key.key, algorithms=[alg], audience=aud, issuer=iss,
                      options=options)["sub"]

    def verify_jwk(token: str) -> Any:
        return decode(token, get_key(token), algorithms=[alg], audience=aud, issuer=iss,
                      options=options)["sub"]

    return verify_jwk if pass_jwk else verify


def peer_libs(case: Case, failed: Dict[str, str]) -> List[Lib]:
    libs = [Lib("PyJWT", _pyjwt_like(pyjwt, case), peer=True)]
    try:
        import joserfc.jwk
        import joserfc.jwt

        if case.secret is not None:
            key: Any = joserfc.jwk.OctKey.import_key(case.secret.encode())
        else:
            key = joserfc.jwk.KeySet.import_key_set(case.jwks)  # the kid picks the key
        registry = joserfc.jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": case.issuer},
            aud={"essential": True, "value": case.audience},
            exp={"essential": True},
        )
        decode, validate, algs = joserfc.jwt.decode, registry.validate, [case.alg]

        def joserfc_verify(token: str) -> Any:
            claims = decode(token, key, algorithms=algs).claims
            validate(claims)
            return claims["sub"]

        libs.append(Lib("joserfc", joserfc_verify, peer=True))
    except Exception as e:  # noqa: BLE001 - reported
        failed["joserfc"] = f"{type(e).__name__}: {e}"
    try:
        import oxyjwt

        with warnings.catch_warnings():
            # http:// JWKS URL (the loopback mock): oxyjwt warns, and fetches all the same.
            warnings.simplefilter("ignore")
            libs.append(Lib("oxyjwt", _pyjwt_like(oxyjwt, case), peer=True))
    except Exception as e:  # noqa: BLE001
        failed["oxyjwt"] = f"{type(e).__name__}: {e}"
    try:
        import jwt_rs

        libs.append(Lib("pyjwt-rs", _pyjwt_like(jwt_rs, case, pass_jwk=True), peer=True))
    except Exception as e:  # noqa: BLE001
        failed["pyjwt-rs"] = f"{type(e).__name__}: {e}"
    return libs


def ours_libs(case: Case) -> List[Lib]:
    plain = Verifier(case.provider, **case.verifier_kwargs)
    cached = Verifier(case.provider, cache_verified=True, **case.verifier_kwargs)
    plain.verify_sync(case.token)  # fetches the keys once (loopback mock)
    cached.verify_sync(case.token)  # ... and makes the token a cache hit from now on

    def sync(v: Verifier) -> Callable[[str], Any]:
        vs = v.verify_sync
        return lambda token: vs(token).id

    async def plain_await(token: str) -> Any:
        return (await plain.verify(token)).id

    async def cached_await(token: str) -> Any:
        return (await cached.verify(token)).id

    return [
        Lib("verify_sync", sync(plain)),
        Lib("await verify", None, plain_await),
        Lib("cache hit (sync)", sync(cached)),
        Lib("cache hit (await)", None, cached_await),
    ]


# ---------------------------------------------------------------------------------------
# 1. Correctness gate
# ---------------------------------------------------------------------------------------


def gate(lib: Lib, case: Case, loop: asyncio.AbstractEventLoop) -> Optional[str]:
    """None when the library accepts the good token and refuses every bad one, else why."""

    def call(token: str) -> Any:
        if lib.verify is not None:
            return lib.verify(token)
        return loop.run_until_complete(lib.averify(token))

    try:
        got = call(case.token)
    except Exception as e:  # noqa: BLE001
        return f"refused the good token: {type(e).__name__}: {e}"
    if got != SUB:
        return f"good token: subject {got!r}, expected {SUB!r}"
    for what, token in case.bad.items():
        try:
            got = call(token)
        except Exception:  # noqa: BLE001 - any refusal will do
            continue
        return f"accepted the {what} token (subject {got!r})"
    return None


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------


def sync_runner(fn: Callable[[str], Any], token: str) -> Callable[[int], int]:
    def run(n: int) -> int:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn(token)
        return time.perf_counter_ns() - t0

    return run


def async_runner(
    afn: Callable[[str], Any], token: str, loop: asyncio.AbstractEventLoop
) -> Callable[[int], int]:
    async def many(n: int) -> int:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            await afn(token)
        return time.perf_counter_ns() - t0

    return lambda n: loop.run_until_complete(many(n))


def calibrate(run: Callable[[int], int], batch_s: float) -> int:
    """Warms up and returns the batch size that takes about batch_s."""
    n, spent = 1, 0
    while True:
        spent = run(n)
        if spent >= batch_s * 0.25e9 or n >= 1 << 22:
            break
        n *= 2
    run(n)  # once more, warm
    spent = run(n)
    return max(1, int(n * batch_s * 1e9 / max(spent, 1)))


def interleaved(columns: Dict[str, Callable[[int], int]], rounds: int, batch_s: float,
                ) -> Dict[str, List[float]]:
    """µs per call of each column in each round; the columns' order rotates per round."""
    sizes = {name: calibrate(run, batch_s) for name, run in columns.items()}
    names = list(columns)
    out: Dict[str, List[float]] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            out[name].append(columns[name](sizes[name]) / sizes[name] / 1e3)
    return out


def med(xs: List[float]) -> float:
    return statistics.median(xs) if xs else math.nan


def spread(xs: List[float]) -> float:
    """Half the interquartile range, in % of the median."""
    if len(xs) < 4:
        return (max(xs) - min(xs)) / 2 / med(xs) * 100 if xs else math.nan
    q = statistics.quantiles(xs, n=4)
    return (q[2] - q[0]) / 2 / med(xs) * 100


def paired_ratio(num: List[float], den: List[float]) -> float:
    """The median over rounds of num[r] / den[r]."""
    return med([a / b for a, b in zip(num, den)])


def fmt_us(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def fmt_x(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:.2f}×" if x < 10 else f"{x:.0f}×" if x >= 100 else f"{x:.1f}×"


# ---------------------------------------------------------------------------------------
# 4. Threads
# ---------------------------------------------------------------------------------------


def throughput(fn: Callable[[str], Any], token: str, threads: int, seconds: float,
               chunk: int) -> float:
    """Verifies per second of `threads` threads each verifying `token` for `seconds`."""
    counts = [0] * threads
    start: List[float] = []
    barrier = threading.Barrier(threads + 1)

    def work(i: int) -> None:
        barrier.wait()
        deadline = start[0] + seconds
        n = 0
        while True:
            for _ in range(chunk):
                fn(token)
            n += chunk
            if time.perf_counter() >= deadline:
                break
        counts[i] = n

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start.append(time.perf_counter())
    barrier.wait()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start[0])


# ---------------------------------------------------------------------------------------
# 5. FastAPI
# ---------------------------------------------------------------------------------------

# Mock-ups of two fixes to jwks_auth.fastapi (section 5 measures what they buy), built from
# its own pieces; the library is not changed. Module level: FastAPI reads the annotations.
from starlette.requests import HTTPConnection  # noqa: E402

from jwks_auth import Refusal  # noqa: E402
from jwks_auth import fastapi as _jf  # noqa: E402


async def get_verifier_async(request: HTTPConnection) -> Any:
    """``get_verifier`` as an ``async def``: FastAPI calls it inline instead of handing a
    plain ``def`` to its threadpool (a thread round trip per request)."""
    return _jf.get_verifier(request)


async def current_user_async_dep(
    request: HTTPConnection,
    verifier: Any = Depends(get_verifier_async),
    _openapi: None = _jf.Security(_jf._bearer_scheme),
) -> AuthUser:
    """``current_user`` with fix 1 (async ``get_verifier``)."""
    user = await _jf._authenticate(request, verifier, required=True)
    assert user is not None
    return user


def edge_request_from_scope(conn: HTTPConnection) -> Dict[str, Any]:
    """``_edge_request`` without ``conn.url`` (Starlette builds the whole URL string and
    parses it again for ``.path``): the same target, host and scheme, read from the scope."""
    scope = conn.scope
    path = scope["path"]
    if "?" in path or "#" in path or "\\" in path:  # as Starlette's URL escapes them
        path = path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"")
    target = f"{path}?{query.decode('latin-1')}" if query else path
    headers = list(scope.get("headers") or ())
    host = None
    for name, value in headers:
        if name == b"host":
            host = value.decode("latin-1")
            break
    scheme = scope.get("scheme", "http")
    return {
        "method": scope.get("method", "GET"),
        "target": target,
        "headers": headers,
        "scheme": _jf._HTTP_SCHEME.get(scheme, scheme) if host else None,
        "host": host,
    }


class _CurrentUserOne(HTTPBearer):
    """``current_user`` as ONE dependency (fixes 1+2+3): the ``HTTPBearer`` subclass is both
    the OpenAPI declaration and the verify, so FastAPI resolves no sub-dependency (no
    ``Depends(get_verifier)``, no ``Security(_bearer_scheme)``). ``get_verifier`` overrides
    still apply: it looks ``app.dependency_overrides`` up itself."""

    async def __call__(self, request: HTTPConnection) -> AuthUser:  # type: ignore[override]
        # The scope's state dict itself: ``request.state`` wraps it in a new ``State`` per
        # request (~2 µs), for one lookup and one store.
        state = request.scope.setdefault("state", {})
        cached = state.get(_jf.STATE_USER)
        if isinstance(cached, AuthUser):
            return cached
        override = request.app.dependency_overrides.get(_jf.get_verifier)
        verifier = override() if override is not None else _jf.get_verifier(request)
        edge = _jf._edge(request, verifier)
        r = edge_request_from_scope(request)
        outcome = await edge.authenticate(r["method"], r["target"], r["headers"],
                                          scheme=r["scheme"], host=r["host"])
        if isinstance(outcome, Refusal):
            raise _jf.AuthRejection(outcome)
        state[_jf.STATE_USER] = outcome
        return outcome


current_user_one = _CurrentUserOne(scheme_name="HTTPBearer", auto_error=False)


async def current_user_fixed(
    request: HTTPConnection,
    verifier: Any = Depends(get_verifier_async),
    _openapi: None = _jf.Security(_jf._bearer_scheme),
) -> AuthUser:
    """``current_user`` with fix 1 and fix 2 (the edge's request read from the scope)."""
    cached = getattr(request.state, _jf.STATE_USER, None)
    if isinstance(cached, AuthUser):
        return cached
    edge = _jf._edge(request, verifier)
    outcome = await edge.authenticate(**edge_request_from_scope(request), required=True)
    if isinstance(outcome, Refusal):
        raise _jf.AuthRejection(outcome)
    setattr(request.state, _jf.STATE_USER, outcome)
    return outcome


def fastapi_apps(case: Case) -> Dict[str, Any]:
    from jwks_auth.fastapi import AuthMiddleware, configure, current_user

    def verifier() -> Verifier:
        return Verifier(case.provider, **case.verifier_kwargs)

    apps: Dict[str, Any] = {}

    bare = FastAPI()

    @bare.get("/api/me")
    async def me_bare() -> Dict[str, str]:
        return {"id": SUB}

    apps["no auth"] = bare

    noop = FastAPI()

    async def nothing() -> int:
        return 1

    @noop.get("/api/me")
    async def me_noop(_: int = Depends(nothing)) -> Dict[str, str]:
        return {"id": SUB}

    apps["no auth, one no-op dependency"] = noop

    dep = FastAPI()
    configure(dep, verifier())

    @dep.get("/api/me")
    async def me_dep(user: AuthUser = Depends(current_user)) -> Dict[str, str]:
        return {"id": user.id}

    apps["Depends(current_user)"] = dep

    # Mock-ups of the suggested fixes (see current_user_async_dep, current_user_fixed).
    fix1 = FastAPI()
    configure(fix1, verifier())

    @fix1.get("/api/me")
    async def me_fix1(user: AuthUser = Depends(current_user_async_dep)) -> Dict[str, str]:
        return {"id": user.id}

    apps["current_user, fix 1 (async get_verifier)"] = fix1

    fix2 = FastAPI()
    configure(fix2, verifier())

    @fix2.get("/api/me")
    async def me_fix2(user: AuthUser = Depends(current_user_fixed)) -> Dict[str, str]:
        return {"id": user.id}

    apps["current_user, fixes 1+2 (+ target from the scope)"] = fix2

    fix3 = FastAPI()
    configure(fix3, verifier())

    @fix3.get("/api/me")
    async def me_fix3(user: AuthUser = Depends(current_user_one)) -> Dict[str, str]:
        return {"id": user.id}

    apps["current_user, fixes 1+2+3 (+ one dependency)"] = fix3

    mw = FastAPI()
    configure(mw, verifier())
    mw.add_middleware(AuthMiddleware)

    @mw.get("/api/me")
    async def me_mw(request: Request) -> Dict[str, str]:
        return {"id": request.state.user.id}

    apps["AuthMiddleware"] = mw

    # The guides' dependency: HTTPBearer + PyJWKClient + jwt.decode, 401 on any PyJWTError.
    bearer = HTTPBearer()
    if case.secret is None:
        jwks_client = pyjwt.PyJWKClient(case.jwks_url)
    alg, iss, aud, secret = case.alg, case.issuer, case.audience, case.secret

    async def get_current_user(
        credentials: HTTPAuthorizationCredentials = Depends(bearer),
    ) -> Dict[str, Any]:
        token = credentials.credentials
        try:
            key = secret.encode() if secret else jwks_client.get_signing_key_from_jwt(token).key
            return pyjwt.decode(token, key, algorithms=[alg], audience=aud, issuer=iss,
                                options={"require": ["exp", "iss", "aud"]})
        except pyjwt.PyJWTError:
            raise HTTPException(401, "Invalid token", headers={"WWW-Authenticate": "Bearer"})

    hand = FastAPI()

    @hand.get("/api/me")
    async def me_hand(user: Dict[str, Any] = Depends(get_current_user)) -> Dict[str, str]:
        return {"id": user["sub"]}

    apps["PyJWT dependency (guides)"] = hand

    # The same hand-written shape over jwks_auth: what a minimal dependency costs.
    ours = verifier()

    async def get_user_ours(
        credentials: HTTPAuthorizationCredentials = Depends(bearer),
    ) -> AuthUser:
        try:
            return await ours.verify(credentials.credentials)
        except AuthError:
            raise HTTPException(401, "Invalid token", headers={"WWW-Authenticate": "Bearer"})

    mine = FastAPI()

    @mine.get("/api/me")
    async def me_mine(user: AuthUser = Depends(get_user_ours)) -> Dict[str, str]:
        return {"id": user.id}

    apps["hand-written jwks_auth dependency"] = mine
    return apps


def asgi_scope(token: Optional[str]) -> Dict[str, Any]:
    headers = [(b"host", b"api.bench.example"), (b"user-agent", b"bench"),
               (b"accept", b"application/json")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/api/me", "raw_path": b"/api/me", "root_path": "", "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("api.bench.example", 80),
    }


def asgi_runner(app: Any, token: Optional[str], loop: asyncio.AbstractEventLoop,
                ) -> Callable[[int], int]:
    template = asgi_scope(token)
    request = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> Dict[str, Any]:
        return request

    async def send(message: Dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"status {message['status']}")

    async def many(n: int) -> int:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            await app(dict(template), receive, send)
        return time.perf_counter_ns() - t0

    return lambda n: loop.run_until_complete(many(n))


def asgi_status(app: Any, token: Optional[str], loop: asyncio.AbstractEventLoop) -> int:
    status: List[int] = []

    async def receive() -> Dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    loop.run_until_complete(app(asgi_scope(token), receive, send))
    return status[0]


# ---------------------------------------------------------------------------------------
# 3. The floor
# ---------------------------------------------------------------------------------------


def rust_floor(floor_bin: str, seconds: float) -> Optional[Dict[str, Dict[str, float]]]:
    """`bench_compare <outdir>`: floor, Rust verify and cache hit, µs, this session."""
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "BENCH_SECONDS": str(seconds)}
        try:
            done = subprocess.run([floor_bin, out], capture_output=True, text=True, env=env,
                                  timeout=300, check=True)
        except (OSError, subprocess.SubprocessError) as e:
            log(f"floor: {floor_bin} failed: {e}")
            return None
    lines = [line for line in done.stdout.splitlines() if line.lstrip().startswith("{")]
    return json.loads(lines[-1]) if lines else None


# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "11")),
                    help="interleaved rounds per table (env ROUNDS, default 11)")
    ap.add_argument("--batch", type=float, default=float(os.environ.get("BATCH_S", "0.08")),
                    help="seconds per column per round (env BATCH_S, default 0.08)")
    ap.add_argument("--tp-seconds", type=float,
                    default=float(os.environ.get("TP_SECONDS", "0.3")),
                    help="seconds per throughput measurement (env TP_SECONDS, default 0.3)")
    ap.add_argument("--tp-rounds", type=int, default=int(os.environ.get("TP_ROUNDS", "3")))
    ap.add_argument("--algs", default=os.environ.get("ALGS", ",".join(ALGS)))
    ap.add_argument("--fastapi-algs", default=os.environ.get("FASTAPI_ALGS", "EdDSA,HS256"))
    ap.add_argument("--floor-bin", default=os.environ.get("FLOOR_BIN", ""),
                    help="bench_compare binary for a same-session floor (env FLOOR_BIN)")
    ap.add_argument("--json", metavar="FILE", default=os.environ.get("JSON_OUT", ""),
                    help="also write every number to FILE (env JSON_OUT)")
    ap.add_argument("--skip", default=os.environ.get("SKIP", ""),
                    help="sections to skip, e.g. throughput,fastapi,profile,floor,instructions")
    ap.add_argument("--instr-n", type=int, default=int(os.environ.get("INSTR_N", "100")),
                    help="requests per route under callgrind (env INSTR_N, default 100)")
    ap.add_argument("--instr-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.instr_child:
        return instructions_child(args.instr_n)
    # joserfc warns on every EdDSA verify (RFC 9864 deprecates the name); it still verifies.
    warnings.filterwarnings("ignore", message="EdDSA is deprecated")
    skip = set(filter(None, args.skip.split(",")))
    algs = [a for a in args.algs.split(",") if a]
    started = time.time()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    versions = {"python": platform.python_version(), "jwks_auth": jwks_auth.__version__}
    for dist in ("PyJWT", "cryptography", "joserfc", "oxyjwt", "pyjwt-rs", "fastapi",
                 "starlette"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:  # noqa: BLE001
            versions[dist] = "not installed"
    result: Dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions, "load_start": load(), "cpus": os.cpu_count(),
        "settings": vars(args),
    }
    out = print  # the tables go to stdout
    out(f"# Python benchmark: jwks_auth vs peers ({result['date']})\n")
    out(f"Load average at start: {result['load_start']} on {os.cpu_count()} CPUs; "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".\n")

    cases = {alg: make_case(alg) for alg in algs}
    unusable: Dict[str, str] = {}
    libs: Dict[str, List[Lib]] = {}

    # -- 1. gate ---------------------------------------------------------------------------
    gate_rows = []
    gate_failed: Dict[str, Dict[str, str]] = {}
    for alg, case in cases.items():
        cand = peer_libs(case, unusable) + ours_libs(case)
        ok = []
        for lib in cand:
            why = gate(lib, case, loop)
            if why is None:
                ok.append(lib)
            else:
                gate_failed.setdefault(lib.name, {})[alg] = why
                log(f"GATE FAILED {lib.name} {alg}: {why}")
        libs[alg] = ok
        gate_rows.append((alg, [lib.name for lib in cand], {lib.name for lib in ok}))
    names_all = list(dict.fromkeys(n for _, cand, _ in gate_rows for n in cand))
    out("## 1. Correctness gate (before any timing)\n")
    out("Each library must accept the good token and refuse a tampered, an expired, a "
        "wrong-issuer and a wrong-audience one. ✓ = all five right; a ✗ is left out of "
        "the timings.\n")
    out("| alg | " + " | ".join(names_all) + " |")
    out("|---|" + "---|" * len(names_all))
    for alg, cand, ok in gate_rows:
        out(f"| {alg} | " + " | ".join(("✓" if n in ok else "✗") if n in cand else "—"
                                         for n in names_all) + " |")
    for name, per_alg in gate_failed.items():
        for alg, why in per_alg.items():
            out(f"\n* **{name} {alg}: {why}**")
    for name, why in unusable.items():
        out(f"\n* {name} could not be used: {why}")
    out("")
    result["gate"] = {"failed": gate_failed, "unusable": unusable}

    # -- 2. per verify ---------------------------------------------------------------------
    per_verify: Dict[str, Dict[str, List[float]]] = {}
    log(f"per verify: {args.rounds} rounds, load {load()}")
    for alg, case in cases.items():
        cols = {}
        for lib in libs[alg]:
            if lib.verify is not None:
                cols[lib.name] = sync_runner(lib.verify, case.token)
            else:
                cols[lib.name] = async_runner(lib.averify, case.token, loop)
        per_verify[alg] = interleaved(cols, args.rounds, args.batch)
        log(f"  {alg}: " + ", ".join(f"{k} {med(v):.2f}" for k, v in per_verify[alg].items())
            + f" (load {load()})")
    result["per_verify"] = per_verify
    peers_order = ["PyJWT", "joserfc", "oxyjwt", "pyjwt-rs"]
    ours_order = ["verify_sync", "await verify", "cache hit (sync)", "cache hit (await)"]
    out(f"## 2. µs per verify (median of {args.rounds} interleaved rounds, ±spread)\n")
    out(f"Load average after: {load()}. Spread: half the interquartile range of the rounds, "
        "in % of the median. Ratios are per-round (paired) and then the median; "
        "*fastest peer* is the peer with the lowest median for that algorithm.\n")
    cols = peers_order + ours_order
    out("| alg | " + " | ".join(cols) + " | fastest peer |")
    out("|---|" + "---:|" * len(cols) + "---|")
    fastest: Dict[str, str] = {}
    for alg, data in per_verify.items():
        peers = {n: med(data[n]) for n in peers_order if n in data}
        fastest[alg] = min(peers, key=peers.get) if peers else ""
        cells = [f"{fmt_us(med(data[n]))} ±{spread(data[n]):.0f}%" if n in data else "—"
                 for n in cols]
        out(f"| {alg} | " + " | ".join(cells) + f" | {fastest[alg]} |")
    out("\nSpeed-up of jwks_auth (peer time ÷ jwks_auth time, per round):\n")
    out("| alg | vs | " + " | ".join(ours_order) + " |")
    out("|---|---|" + "---:|" * len(ours_order))
    ratios: Dict[str, Dict[str, Dict[str, float]]] = {}
    for alg, data in per_verify.items():
        refs = [r for r in dict.fromkeys(["PyJWT", fastest[alg]]) if r in data]
        for ref in refs:
            label = ref if ref != fastest[alg] else f"fastest peer ({ref})"
            row = {n: paired_ratio(data[ref], data[n]) for n in ours_order if n in data}
            ratios.setdefault(alg, {})[label] = row
            out(f"| {alg} | {label} | " + " | ".join(fmt_x(row.get(n, math.nan))
                                                     for n in ours_order) + " |")
    out("\nPeers against PyJWT (PyJWT time ÷ peer time):\n")
    out("| alg | " + " | ".join(peers_order[1:]) + " |")
    out("|---|" + "---:|" * (len(peers_order) - 1))
    for alg, data in per_verify.items():
        out(f"| {alg} | " + " | ".join(
            fmt_x(paired_ratio(data["PyJWT"], data[n])) if n in data and "PyJWT" in data
            else "—" for n in peers_order[1:]) + " |")
    out("")
    result["ratios"] = ratios

    # -- 3. floor --------------------------------------------------------------------------
    if "floor" not in skip:
        rust = rust_floor(args.floor_bin, 0.3) if args.floor_bin else None
        src = "same session: `bench_compare` (Rust, aws-lc-rs alone on the same committed " \
              "test keys), run between sections" if rust else \
            "**cross-run**: BENCHMARKS.md \"Time per verify\" (quiet machine, " \
            "bench/compare.sh); this run's Python numbers are under its own load"
        out("## 3. The floor: Rust signature check alone vs `verify_sync`\n")
        out(f"Floor source: {src}. Load average now: {load()}. The Rust numbers come from "
            "another process a few seconds away from the Python rounds: on a loaded machine "
            "their difference moves by the load's swings (several µs for EdDSA and ES256); "
            "the cache-hit column, where no signature is checked, is the cleaner measure of "
            "what the binding adds.\n")
        out("| alg | floor (aws-lc-rs) | Rust verify | Rust cache hit | verify_sync | "
            "verify_sync ÷ floor | verify_sync − Rust verify | cache hit (sync) − Rust hit |")
        out("|---|---:|---:|---:|---:|---:|---:|---:|")
        floor_rows = {}
        for alg, data in per_verify.items():
            if rust:
                f, v, h = (rust.get(k, {}).get(alg, math.nan)
                           for k in ("floor", "jwks_auth", "jwks_auth_cached"))
            else:
                f, v, h = BENCHMARKS_MD.get(alg, (math.nan,) * 3)
            vs, hs = med(data.get("verify_sync", [])), med(data.get("cache hit (sync)", []))
            floor_rows[alg] = {"floor": f, "rust_verify": v, "rust_hit": h,
                               "verify_sync": vs, "hit_sync": hs}
            out(f"| {alg} | {fmt_us(f)} | {fmt_us(v)} | {fmt_us(h)} | {fmt_us(vs)} | "
                f"{fmt_x(vs / f)} | {vs - v:+.2f} | {hs - h:+.2f} |")
        out("")
        result["floor"] = {"source": "same-session" if rust else "BENCHMARKS.md",
                           "rows": floor_rows}

    # -- 4. threads ------------------------------------------------------------------------
    if "throughput" not in skip:
        log(f"throughput: load {load()}")
        tp: Dict[str, Dict[str, Dict[int, List[float]]]] = {}
        for alg, case in cases.items():
            tlibs = [lib for lib in libs[alg] if lib.verify is not None]
            # The control: C work that releases the GIL (hashlib over 64 KB, ~50 µs), so
            # its scaling is what the machine gives two threads right now.
            tlibs.append(Lib(CONTROL, lambda _: hashlib.sha256(CONTROL_DATA).digest()))
            tp[alg] = {lib.name: {1: [], 2: []} for lib in tlibs}
            for r in range(args.tp_rounds):
                k = r % len(tlibs)
                for lib in tlibs[k:] + tlibs[:k]:
                    us = med(per_verify[alg].get(lib.name) or [50.0])
                    chunk = max(1, int(500 / us))  # ~0.5 ms between clock reads
                    for threads in ((1, 2) if r % 2 == 0 else (2, 1)):
                        tp[alg][lib.name][threads].append(
                            throughput(lib.verify, case.token, threads, args.tp_seconds, chunk))
            log(f"  {alg}: (load {load()})")
        result["throughput"] = {a: {n: {str(t): v for t, v in d.items()} for n, d in x.items()}
                                for a, x in tp.items()}
        out(f"## 4. Throughput, 1 and 2 threads (verifies/s, median of {args.tp_rounds} "
            "rounds)\n")
        out(f"Load average now: {load()} on {os.cpu_count()} CPUs (a 2-thread run can only "
            "scale to 2× on an idle machine). `threading` threads sharing one verifier / "
            "client; scaling = 2-thread ÷ 1-thread, per round, median.\n")
        names = list(dict.fromkeys(n for x in tp.values() for n in x))
        out("| alg | " + " | ".join(f"{n} 1T / 2T (×)" for n in names) + " |")
        out("|---|" + "---:|" * len(names))
        for alg, x in tp.items():
            cells = []
            for n in names:
                if n not in x:
                    cells.append("—")
                    continue
                one, two = med(x[n][1]), med(x[n][2])
                cells.append(f"{one / 1e3:.1f}k / {two / 1e3:.1f}k "
                             f"({paired_ratio(x[n][2], x[n][1]):.2f}×)")
            out(f"| {alg} | " + " | ".join(cells) + " |")
        out("\nScaling relative to the control's (1.00 = scales as well as GIL-free C code "
            "did at that moment):\n")
        peers_tp = [n for n in names if n != CONTROL]
        out("| alg | " + " | ".join(peers_tp) + " |")
        out("|---|" + "---:|" * len(peers_tp))
        for alg, x in tp.items():
            ctl = [b / a for a, b in zip(x[CONTROL][1], x[CONTROL][2])]
            cells = []
            for n in peers_tp:
                if n not in x:
                    cells.append("—")
                    continue
                sc = [b / a for a, b in zip(x[n][1], x[n][2])]
                cells.append(f"{med([p / c for p, c in zip(sc, ctl)]):.2f}")
            out(f"| {alg} | " + " | ".join(cells) + " |")
        out("")

    # -- 5. FastAPI ------------------------------------------------------------------------
    if "fastapi" not in skip:
        fa_algs = [a for a in args.fastapi_algs.split(",") if a in cases]
        result["fastapi"] = {}
        out(f"## 5. FastAPI request path (µs per request, in-process ASGI, median of "
            f"{args.rounds} interleaved rounds)\n")
        out("One `GET /api/me` driven through the app's ASGI callable (a fresh scope, a "
            "`receive` and a `send` that checks the 200; no server, no socket). *overhead* "
            "= route − route without auth − the bare verify of the same token (per round, "
            "median): what the integration adds above the verify. Every route first answers "
            "200 to the good token and 401 to the four bad ones and to none. *fix 1*: "
            "`get_verifier` as an `async def` (FastAPI runs a plain `def` dependency in its "
            "threadpool: a thread round trip per request); *fix 2*: the edge's request read "
            "from the ASGI scope instead of through Starlette's `conn.url`; *fix 3*: "
            "`current_user` as one `HTTPBearer` subclass dependency (no sub-dependencies). "
            "The fixes are mock-ups in this file (`current_user_async_dep`, "
            "`current_user_fixed`, `current_user_one`), not the library's code.\n")
        for alg in fa_algs:
            case = cases[alg]
            apps = fastapi_apps(case)
            for name, app in apps.items():
                want_ok = asgi_status(app, case.token, loop)
                if name.startswith("no auth"):
                    assert want_ok == 200
                    continue
                refused = {what: asgi_status(app, tok, loop) for what, tok in case.bad.items()}
                refused["no token"] = asgi_status(app, None, loop)
                if want_ok != 200 or any(s not in (401, 403) for s in refused.values()):
                    raise SystemExit(f"FastAPI gate: {name} {alg}: good {want_ok}, "
                                     f"bad {refused}")
            plain = Verifier(case.provider, **case.verifier_kwargs)
            plain.verify_sync(case.token)
            cols = {n: asgi_runner(app, case.token, loop) for n, app in apps.items()}
            cols["bare verify_sync"] = sync_runner(plain.verify_sync, case.token)
            cols["bare PyJWT verify"] = sync_runner(
                next(lib.verify for lib in libs[alg] if lib.name == "PyJWT"), case.token)
            log(f"fastapi {alg}: load {load()}")
            data = interleaved(cols, args.rounds, args.batch)
            result["fastapi"][alg] = data
            base, vs, pj = data["no auth"], data["bare verify_sync"], data["bare PyJWT verify"]
            out(f"**{alg}** (load average {load()}):\n")
            out("| route | µs / request | − no auth | overhead above the verify | "
                "above a no-op dependency + the verify | ÷ PyJWT dependency |")
            out("|---|---:|---:|---:|---:|---:|")
            hand = data["PyJWT dependency (guides)"]
            noop = data["no auth, one no-op dependency"]
            for n, xs in data.items():
                if n.startswith("bare"):
                    out(f"| ({n}) | {fmt_us(med(xs))} ±{spread(xs):.0f}% | | | | |")
                    continue
                verify = pj if n.startswith("PyJWT") else vs
                extra = med([a - b for a, b in zip(xs, base)])
                over = med([a - b - c for a, b, c in zip(xs, base, verify)])
                over_dep = med([a - b - c for a, b, c in zip(xs, noop, verify)])
                if n == "no auth":
                    cells = ["", "", ""]
                elif n.startswith("no auth"):
                    cells = [f"{extra:+.1f}", "", ""]
                elif n == "AuthMiddleware":
                    cells = [f"{extra:+.1f}", f"{over:+.1f}", "(not a dependency)"]
                else:
                    cells = [f"{extra:+.1f}", f"{over:+.1f}", f"{over_dep:+.1f}"]
                out(f"| {n} | {fmt_us(med(xs))} ±{spread(xs):.0f}% | " + " | ".join(cells)
                    + f" | {fmt_x(paired_ratio(hand, xs))} |")
            out("")

    # -- 6. binding profile ----------------------------------------------------------------
    if "profile" not in skip:
        profile(cases, loop, args, result, out)

    # -- 7. instructions -------------------------------------------------------------------
    if "instructions" not in skip and "fastapi" not in skip:
        instructions(args, result, out)

    result["load_end"] = load()
    result["seconds"] = round(time.time() - started, 1)
    out(f"Load average at the end: {result['load_end']}; run took {result['seconds']} s.")
    if args.json:
        path = pathlib.Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1, default=str))
        log(f"wrote {path}")
    for case in cases.values():
        if case.mock is not None:
            case.mock.close()
    loop.close()
    return 0


def binding_columns(case: Case, loop: asyncio.AbstractEventLoop,
                    ) -> Dict[str, Callable[[int], int]]:
    """Section 6's calls, each a runner(n) -> ns (also counted in section 7)."""
    from starlette.requests import HTTPConnection

    from jwks_auth import RequestEdge
    from jwks_auth._errors import _from_rust
    from jwks_auth.fastapi import _edge_request

    plain = Verifier(case.provider, **case.verifier_kwargs)
    cached = Verifier(case.provider, cache_verified=True, **case.verifier_kwargs)
    for v in (plain, cached):
        v.verify_sync(case.token)
        v.verify_sync(case.big_token)
    user = plain.verify_sync(case.token)
    big_user = plain.verify_sync(case.big_token)

    def payload_of(token: str) -> str:
        part = token.split(".")[1]
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()

    small_json, big_json = payload_of(case.token), payload_of(case.big_token)
    n_small, n_big = len(user.claims), len(big_user.claims)

    def refused(token: str) -> Callable[[str], Any]:
        vs = plain.verify_sync

        def f(_: str) -> None:
            try:
                vs(token)
            except AuthError:
                return
            raise AssertionError("accepted")

        return f

    edge = RequestEdge(plain)
    scope = asgi_scope(case.token)
    req = _edge_request(HTTPConnection(dict(scope)))

    def edge_sync(_: str) -> Any:
        return edge.authenticate_sync(req["method"], req["target"], req["headers"],
                                      scheme=req["scheme"], host=req["host"])

    async def edge_await(_: str) -> Any:
        return await edge.authenticate(**req, required=True)

    # The adapter's own work per request, without FastAPI's dependency machinery:
    # current_user's body and AuthMiddleware called directly (no-op inner app).
    from jwks_auth.fastapi import AuthMiddleware, configure, current_user

    fa = FastAPI()
    configure(fa, plain)
    tmpl = asgi_scope(case.token)
    tmpl["app"] = fa
    reached: List[int] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(1)

    mw = AuthMiddleware(inner)

    async def recv() -> Dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def snd(message: Any) -> None:
        raise AssertionError(f"the middleware answered: {message}")

    async def direct_mw(_: str) -> None:
        await mw(dict(tmpl), recv, snd)

    async def direct_cu(_: str) -> Any:
        return await current_user(Request(dict(tmpl)), plain, None)

    async def direct_one(_: str) -> Any:
        return await current_user_one(Request(dict(tmpl)))

    loop.run_until_complete(direct_mw(""))
    assert reached and loop.run_until_complete(direct_cu("")).id == SUB
    assert loop.run_until_complete(direct_one("")).id == SUB

    exc = _from_rust("expired", 401, "the token has expired", None)

    def raise_catch(_: str) -> None:
        try:
            raise exc
        except AuthError:
            pass
        exc.__traceback__ = None  # else each raise lengthens the traceback

    cols: Dict[str, Callable[[int], int]] = {
        "verify_sync, accepted": sync_runner(plain.verify_sync, case.token),
        "verify_sync, cache hit": sync_runner(cached.verify_sync, case.token),
        "await verify, cache hit": async_runner(cached.verify, case.token, loop),
        f"verify_sync, accepted, {len(case.big_token) // 1000} KB token ({n_big} claims)":
            sync_runner(plain.verify_sync, case.big_token),
        f"verify_sync, cache hit, {len(case.big_token) // 1000} KB token":
            sync_runner(cached.verify_sync, case.big_token),
        "refused: expired": sync_runner(refused(case.bad["expired"]), ""),
        "refused: wrong issuer": sync_runner(refused(case.bad["wrong issuer"]), ""),
        "refused: tampered (bad signature)":
            sync_runner(refused(case.bad["tampered"]), ""),
        "refused: malformed (`a.b.c`, no crypto)": sync_runner(refused("a.b.c"), ""),
        "Python: `_from_rust(...)` (builds the exception)": sync_runner(
            lambda _: _from_rust("expired", 401, "the token has expired", None), ""),
        "Python: raise + except of a built exception": sync_runner(raise_catch, ""),
        "`verifier.provider_name` (a trivial PyO3 call)": sync_runner(
            lambda _: plain.provider_name, ""),
        "`user.id`": sync_runner(lambda _: user.id, ""),
        "`user.scopes`": sync_runner(lambda _: user.scopes, ""),
        f"`user.claims` ({n_small} claims)": sync_runner(lambda _: user.claims, ""),
        "`json.loads` of that payload": sync_runner(lambda _: json.loads(small_json), ""),
        f"`user.claims` ({n_big} claims)": sync_runner(lambda _: big_user.claims, ""),
        f"`json.loads` of that {n_big}-claim payload": sync_runner(
            lambda _: json.loads(big_json), ""),
        "Starlette: `HTTPConnection(scope)`": sync_runner(
            lambda _: HTTPConnection(dict(scope)), ""),
        "Starlette: `HTTPConnection(scope).url`": sync_runner(
            lambda _: HTTPConnection(dict(scope)).url, ""),
        "Starlette: `HTTPConnection(scope).headers.get('host')`": sync_runner(
            lambda _: HTTPConnection(dict(scope)).headers.get("host"), ""),
        "fastapi.py: `_edge_request(HTTPConnection(scope))`": sync_runner(
            lambda _: _edge_request(HTTPConnection(dict(scope))), ""),
        "`edge.authenticate_sync(...)` (the request's headers)": sync_runner(edge_sync, ""),
        "`await edge.authenticate(...)`": async_runner(edge_await, "", loop),
        "`await verify` (same verifier, for the rows below)": async_runner(
            plain.verify, case.token, loop),
        "`current_user`'s body, called directly (no FastAPI)": async_runner(
            direct_cu, "", loop),
        "fixes 1+2+3 `current_user_one`'s body, called directly": async_runner(
            direct_one, "", loop),
        "`AuthMiddleware` alone (called directly, no-op inner app)": async_runner(
            direct_mw, "", loop),
    }
    return cols


def profile(cases: Dict[str, Case], loop: asyncio.AbstractEventLoop, args: Any,
            result: Dict[str, Any], out: Callable[..., None]) -> None:
    """Section 6: where the binding's time goes, around one verify."""
    result["profile"] = {}
    for alg in [a for a in ("HS256", "EdDSA") if a in cases]:
        cols = binding_columns(cases[alg], loop)
        log(f"profile {alg}: load {load()}")
        data = interleaved(cols, args.rounds, args.batch)
        result["profile"][alg] = data
        out(f"## 6. Binding costs, {alg} (µs per call, median of {args.rounds} interleaved "
            f"rounds; load average {load()})\n")
        out("| call | µs | − cache hit (sync) | − accepted verify |")
        out("|---|---:|---:|---:|")
        hit, acc = data["verify_sync, cache hit"], data["verify_sync, accepted"]
        for n, xs in data.items():
            out(f"| {n} | {fmt_us(med(xs))} ±{spread(xs):.0f}% | "
                f"{med([a - b for a, b in zip(xs, hit)]):+.2f} | "
                f"{med([a - b for a, b in zip(xs, acc)]):+.2f} |")
        out("")


# ---------------------------------------------------------------------------------------
# 7. Instructions per request (callgrind): what load does not move
# ---------------------------------------------------------------------------------------


def instructions_child(n: int) -> int:
    """Runs under callgrind with ``--dump-before=getppid``: each phase is bracketed by
    ``os.getppid()``, so each measured phase's instructions land in a dump of their own."""
    case = make_case("HS256")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    apps = fastapi_apps(case)
    plain = Verifier(case.provider, **case.verifier_kwargs)
    pyjwt_verify = _pyjwt_like(pyjwt, case)
    phases: Dict[str, Callable[[int], int]] = {
        name: asgi_runner(app, case.token, loop) for name, app in apps.items()}
    phases["(bare verify_sync)"] = sync_runner(plain.verify_sync, case.token)
    phases["(bare PyJWT verify)"] = sync_runner(pyjwt_verify, case.token)
    calls = binding_columns(case, loop)
    n_calls = 10 * n
    for run in list(phases.values()) + list(calls.values()):
        run(20)  # warm: every code path taken and cached before the first dump
    for run in phases.values():
        os.getppid()
        run(n)
        os.getppid()
    for run in calls.values():
        os.getppid()
        run(n_calls)
        os.getppid()
    print(json.dumps({"routes": list(phases), "n_routes": n, "calls": list(calls),
                      "n_calls": n_calls}))
    return 0


def rust_instructions(floor_bin: str, n: int) -> Dict[str, float]:
    """bench_compare --alloc-probe HS256 under callgrind: (I(2n) - I(n)) / n per mode, as
    bench/instructions.sh counts them (floor, hot verify, verified-token cache hit)."""
    import tempfile

    per: Dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("floor", "hot", "cached"):
            totals = []
            for k in (n, 2 * n):
                out_file = f"{tmp}/cg.{mode}.{k}"
                subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                                floor_bin, "--alloc-probe", "HS256", str(k), mode],
                               capture_output=True, check=True, timeout=600)
                text = pathlib.Path(out_file).read_text(errors="replace")
                totals.append(next(int(line.split()[1]) for line in text.splitlines()
                                   if line.startswith(("summary:", "totals:"))))
            per[mode] = (totals[1] - totals[0]) / n
    return per


def instructions(args: Any, result: Dict[str, Any], out: Callable[..., None]) -> None:
    import shutil
    import tempfile

    if shutil.which("valgrind") is None:
        out("## 7. Instructions per request\n\nSkipped: valgrind is not installed.\n")
        return
    n = args.instr_n
    log(f"instructions: callgrind, {n} requests per route (load {load()})")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["valgrind", "--tool=callgrind", "--dump-before=getppid",
               f"--callgrind-out-file={tmp}/cg.out", sys.executable, os.path.abspath(__file__),
               "--instr-child", "--instr-n", str(n)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            out(f"## 7. Instructions per request\n\nFailed: {done.stderr[-400:]}\n")
            return
        phases = json.loads(done.stdout.strip().splitlines()[-1])
        names, calls = phases["routes"], phases["calls"]
        dumps = {}
        for f in pathlib.Path(tmp).glob("cg.out.*"):
            text = f.read_text(errors="replace")
            for line in text.splitlines():
                if line.startswith(("summary:", "totals:")):
                    dumps[int(f.name.rsplit(".", 1)[1])] = int(line.split()[1])
                    break
    # Dump k (k >= 1) holds what ran since dump k-1: 2, 4, ... are the measured phases
    # (1, 3, 5, ... the set-up before the first bracket and the gaps between brackets).
    per = {name: dumps[2 * (i + 1)] / n for i, name in enumerate(names)}
    k0 = len(names)
    per_call = {name: dumps[2 * (k0 + i + 1)] / phases["n_calls"]
                for i, name in enumerate(calls)}
    rust: Dict[str, float] = {}
    if args.floor_bin:
        try:
            rust = rust_instructions(args.floor_bin, 2000)
        except (OSError, subprocess.SubprocessError, StopIteration) as e:
            log(f"instructions: bench_compare under callgrind failed: {e}")
    result["instructions"] = {"routes": per, "calls": per_call, "rust": rust}
    base, noop = per["no auth"], per["no auth, one no-op dependency"]
    vs, pj = per["(bare verify_sync)"], per["(bare PyJWT verify)"]
    out(f"## 7. Instructions per request (callgrind, HS256, {n} requests per route)\n")
    out("The FastAPI routes of section 5 under `valgrind --tool=callgrind` (every thread "
        "counted, so a threadpool hop's instructions are in), each route's requests "
        "bracketed by dumps: repeatable on a loaded machine, unlike the timings.\n")
    # µs per instruction: the no-auth route's fastest round in section 5 (this run) over its
    # instructions; the fastest round is the least loaded one.
    timed = (result.get("fastapi") or {}).get("HS256", {}).get("no auth")
    rate = base / min(timed) if timed else math.nan  # instructions per µs
    result["instructions_per_us"] = rate

    def cell(ir: float) -> str:
        return f"{ir:+,.0f}" + ("" if math.isnan(rate) else f" (≈{ir / rate:+.1f} µs)")

    if not math.isnan(rate):
        out(f"≈ µs: at {rate:,.0f} instructions per µs, the no-auth route's rate in its "
            "fastest round of section 5 (this run): a rough conversion, Python code of the "
            "same kind.\n")
    out("| route | instructions / request | − no auth | above the verify | above a no-op "
        "dependency + the verify |")
    out("|---|---:|---:|---:|---:|")
    for name, ir in per.items():
        verify = pj if name.startswith("PyJWT") else vs
        if name.startswith("(bare") or name == "no auth":
            out(f"| {name} | {ir:,.0f} | | | |")
        elif name.startswith("no auth"):
            out(f"| {name} | {ir:,.0f} | {cell(ir - base)} | | |")
        else:
            dep = "(not a dependency)" if name == "AuthMiddleware" else cell(ir - noop - verify)
            out(f"| {name} | {ir:,.0f} | {cell(ir - base)} | {cell(ir - base - verify)} | "
                f"{dep} |")
    out("")
    out(f"Section 6's calls (HS256), {phases['n_calls']} calls each, instructions per call "
        "(the Python loop and call included)" + (
            "; Rust: `bench_compare --alloc-probe HS256 N floor|hot|cached` under callgrind, "
            "(I(2N) − I(N)) / N with N = 2000, as `bench/instructions.sh` counts; *− Rust* "
            "compares the Python call with the same operation in Rust." if rust else ".")
        + "\n")
    hit = per_call["verify_sync, cache hit"]
    rust_of = {"verify_sync, accepted": rust.get("hot"), "verify_sync, cache hit":
               rust.get("cached"), "await verify, cache hit": rust.get("cached")}
    out("| call | instructions / call | − cache hit (sync) | − Rust (same operation) |")
    out("|---|---:|---:|---:|")
    for name, ir in per_call.items():
        r = rust_of.get(name)
        out(f"| {name} | {ir:,.0f} | {ir - hit:+,.0f} | "
            + (f"{ir - r:+,.0f} (Rust {r:,.0f})" if r else "") + " |")
    if rust:
        out(f"| (Rust: aws-lc-rs HMAC alone, the floor) | {rust['floor']:,.0f} | | |")
    out("")


if __name__ == "__main__":
    sys.exit(main())
