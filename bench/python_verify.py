"""From Python: jwks_auth (the wheel) against PyJWT + PyJWKClient, the seeds' FastAPI stack,
on the same tokens. Microseconds per verify.

    python/ci.sh --release        # builds and installs the release wheel into target/python-venv
    target/python-venv/bin/python bench/python_verify.py [--json]

For each algorithm (EdDSA, ES256, RS256) a jwks_auth MockProvider (Better Auth preset) serves
its JWK set on loopback and mints one token (iss = aud = the mock's origin, 15 min). Columns:

- PyJWT: ``PyJWKClient(jwks_url)`` (a real fetch from the mock, then its warm cache) and
  ``jwt.decode(token, key, algorithms=[alg], audience=..., issuer=..., require exp)`` -- what
  a seed's ``get_current_user`` does per request.
- verify_sync: ``Verifier(provider).verify_sync(token)`` (keys cached after the first call).
- await verify: ``await verifier.verify(token)`` inside a running asyncio loop.
- cache hit: ``Verifier(provider, cache_verified=True).verify_sync(token)`` on a repeated token,
  and ``await`` of the same.

Timing: as bench/pyjwt_bench.py, warm up and size a batch so that 5 batches take about
BENCH_SECONDS (env, default 1.5) in all; the columns are measured in ROUNDS (env, default 5)
interleaved rounds of that, and each reports its best round's median batch, so that a
neighbour's burst on this shared machine hits one round of one column, not a whole column.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time

import jwt

from jwks_auth import Verifier
from jwks_auth.testing import MockProvider

BATCHES = 5
ALGS = ["EdDSA", "ES256", "RS256"]


def run(fn, n: int) -> int:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return time.perf_counter_ns() - t0


def bench(run_n, seconds: float) -> float:
    """`run_n(n)` runs n verifies and returns the nanoseconds spent."""
    n, spent = 1, 0
    while spent < seconds * 0.05 * 1e9:
        spent = run_n(n)
        if spent < seconds * 0.05 * 1e9:
            n *= 2
    batch = max(1, int(seconds * 1e9 / BATCHES / (spent / n)))
    return statistics.median(run_n(batch) / batch / 1e3 for _ in range(BATCHES))


def sync_runner(fn):
    return lambda n: run(fn, n)


def async_runner(verifier: Verifier, token: str):
    """n awaits inside one running loop (the loop's own overhead included)."""
    loop = asyncio.new_event_loop()

    async def many(n: int) -> int:
        verify = verifier.verify
        t0 = time.perf_counter_ns()
        for _ in range(n):
            await verify(token)
        return time.perf_counter_ns() - t0

    return loop, lambda n: loop.run_until_complete(many(n))


def measure(alg: str, seconds: float) -> dict:
    with MockProvider("better-auth", alg) as mock:
        token = mock.token().sub("user_bench").sign()
        issuer = audience = mock.issuer

        client = jwt.PyJWKClient(mock.jwks_url)  # defaults: cache_jwk_set=True, 300 s

        def pyjwt_verify():
            key = client.get_signing_key_from_jwt(token)
            return jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer,
                options={"require": ["exp"]},
            )

        assert pyjwt_verify()["sub"] == "user_bench"
        plain = Verifier(mock.provider())
        cached = Verifier(mock.provider(), cache_verified=True)
        assert plain.verify_sync(token).id == cached.verify_sync(token).id == "user_bench"

        plain_loop, plain_await = async_runner(plain, token)
        cached_loop, cached_await = async_runner(cached, token)
        columns = {
            "pyjwt": sync_runner(pyjwt_verify),
            "verify_sync": sync_runner(lambda: plain.verify_sync(token)),
            "await_verify": plain_await,
            "cached_sync": sync_runner(lambda: cached.verify_sync(token)),
            "cached_await": cached_await,
        }
        rounds = int(os.environ.get("ROUNDS", "5"))
        best: dict = {}
        for _ in range(rounds):
            for name, runner in columns.items():
                us = bench(runner, seconds / rounds)
                best[name] = min(best.get(name, us), us)
        plain_loop.close()
        cached_loop.close()
        row = {"alg": alg, **best}
        # PyJWKClient fetched once (plus one per verifier): the timed loops never fetched.
        row["jwks_requests"] = mock.jwks_requests
        return row


def main() -> int:
    seconds = float(os.environ.get("BENCH_SECONDS", "1.5"))
    rows = []
    for alg in ALGS:
        row = measure(alg, seconds)
        print(f"{alg}: {row}", file=sys.stderr)
        rows.append(row)
    if "--json" in sys.argv[1:]:
        print(json.dumps(rows))
        return 0
    print(
        "| alg | PyJWT + PyJWKClient | verify_sync | await verify | cache hit (sync) "
        "| cache hit (await) | PyJWT/verify_sync | PyJWT/await | PyJWT/cache hit (sync) "
        "| PyJWT/cache hit (await) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p = r["pyjwt"]
        print(
            f"| {r['alg']} | {p:.1f} | {r['verify_sync']:.1f} | {r['await_verify']:.1f} "
            f"| {r['cached_sync']:.2f} | {r['cached_await']:.2f} "
            f"| {p / r['verify_sync']:.1f}x | {p / r['await_verify']:.1f}x "
            f"| {p / r['cached_sync']:.0f}x | {p / r['cached_await']:.0f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
