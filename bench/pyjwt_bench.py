"""PyJWT peer benchmark: microseconds per verify, the way a FastAPI app does it.

Usage: python pyjwt_bench.py <tokens.json>

<tokens.json> is a JSON array of
    {"alg": "ES256", "token": "eyJ...", "jwk": {public JWK}, "secret": "..."}
where "secret" is only there for HS* (its UTF-8 bytes are the HMAC key).
Every token must carry iss "https://bench.example", aud "jwks-auth-bench" and
an exp in the future, and (except HS*) a "kid" header naming its JWK.

Prints ONE JSON object on stdout: {"ES256": us_per_verify, ...} (null, with
the reason on stderr, for an entry that does not verify). Progress goes to
stderr.

What one "verify" is (asymmetric algs), i.e. what a PyJWKClient user pays per
request once the client's cache is warm:

    signing_key = client.get_signing_key_from_jwt(token)  # header parse + kid lookup
    claims = jwt.decode(token, signing_key.key, algorithms=[alg],
                        audience=AUD, issuer=ISS, options={"require": ["exp"]})

HS* tokens are not served from a JWKS in practice, so for those one verify is
just jwt.decode(token, secret_bytes, ...) with the same checks.

Timing: warm up, calibrate a batch size so that 5 batches take about
BENCH_SECONDS (env, default 1.5) in all, run 5 batches, report the median
batch's microseconds per verify.
"""

from __future__ import annotations

import json
import os
import pathlib
import statistics
import sys
import time

import jwt

ISS = "https://bench.example"
AUD = "jwks-auth-bench"
JWKS_URL = "https://bench.example/.well-known/jwks.json"  # never contacted
BATCHES = 5


def warm_client(jwk: dict) -> tuple[jwt.PyJWKClient, list[int]]:
    """A PyJWKClient with default settings whose JWK Set cache is warm, without network.

    How: the instance attribute `fetch_data` shadows the method that does the
    HTTP GET. PyJWKClient.get_jwk_set() calls self.fetch_data() only when its
    JWKSetCache is empty/expired, parses the returned dict into a PyJWKSet and
    puts that into the cache. We call get_signing_keys() once here to do that
    first fetch; from then on every get_signing_key_from_jwt() is served from
    the cache (lifespan 300 s, far longer than a run) -- exactly the warm path
    of a real client. `calls` counts fetches so the caller can assert that the
    timed loop never "fetched" again.
    """
    calls = [0]
    jwks = {"keys": [jwk]}

    def fetch_data():
        calls[0] += 1
        return json.loads(json.dumps(jwks))  # a fresh dict, as json.load would give

    client = jwt.PyJWKClient(JWKS_URL)  # defaults: cache_jwk_set=True, lifespan=300
    client.fetch_data = fetch_data  # type: ignore[method-assign]
    client.get_signing_keys()  # the one and only (fake) fetch: the cache is now warm
    assert calls[0] == 1
    return client, calls


def make_verify(entry: dict):
    alg, token = entry["alg"], entry["token"]
    if alg.startswith("HS"):
        secret = entry["secret"].encode("utf-8")

        def verify():
            return jwt.decode(
                token, secret, algorithms=[alg], audience=AUD, issuer=ISS,
                options={"require": ["exp"]},
            )

        return verify, None

    jwk = dict(entry["jwk"])
    kid = jwt.get_unverified_header(token).get("kid")
    if kid is None:
        raise ValueError("token has no kid header: PyJWKClient cannot select a key")
    jwk.setdefault("kid", kid)
    client, calls = warm_client(jwk)

    def verify():
        signing_key = client.get_signing_key_from_jwt(token)
        return jwt.decode(
            token, signing_key.key, algorithms=[alg], audience=AUD, issuer=ISS,
            options={"require": ["exp"]},
        )

    return verify, calls


def run(fn, n: int) -> int:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return time.perf_counter_ns() - t0


def bench(fn, seconds: float) -> float:
    # Warm up (~5% of the budget), then size a batch so that BATCHES batches
    # take about `seconds` in all.
    n, spent = 1, 0
    while spent < seconds * 0.05 * 1e9:
        spent = run(fn, n)
        if spent < seconds * 0.05 * 1e9:
            n *= 2
    per_op_ns = spent / n
    batch = max(1, int(seconds * 1e9 / BATCHES / per_op_ns))
    samples = [run(fn, batch) / batch / 1e3 for _ in range(BATCHES)]
    return statistics.median(samples)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python pyjwt_bench.py <tokens.json>", file=sys.stderr)
        return 2
    seconds = float(os.environ.get("BENCH_SECONDS", "1.5"))
    entries = json.loads(pathlib.Path(sys.argv[1]).read_text())
    out: dict[str, float | None] = {}
    for entry in entries:
        alg = entry["alg"]
        try:
            verify, calls = make_verify(entry)
            claims = verify()  # must succeed: never time an error path
            if claims.get("iss") != ISS or claims.get("aud") != AUD:
                raise ValueError(f"unexpected claims {claims!r}")
            us = bench(verify, seconds)
            if calls is not None and calls[0] != 1:
                raise RuntimeError(f"JWKS cache went cold: {calls[0]} fetches")
        except Exception as e:  # noqa: BLE001 - reported, not timed
            print(f"pyjwt {alg}: FAILED {type(e).__name__}: {e}", file=sys.stderr)
            out[alg] = None
            continue
        print(f"pyjwt {alg}: {us:.2f} us/verify", file=sys.stderr)
        out[alg] = round(us, 3)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
