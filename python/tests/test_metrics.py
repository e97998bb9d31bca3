"""jwks_auth.metrics: the library's metrics (cargo feature `metrics`) seen from Python through
`render()`, the prometheus_client collector and `jwks_auth.fastapi.metrics_route`.

One recorder serves the whole process (every test, and the other test files' verifiers), so
each test compares values before and after what it does; a series is told apart by its
labels (the provider is the preset's name).
"""

import asyncio
import re
import subprocess
import sys
import textwrap
from typing import Dict, Tuple

import prometheus_client
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from jwks_auth import InMemoryRevocationStore, InvalidToken, RevocationStoreUnavailable, Verifier
from jwks_auth import metrics
from jwks_auth.fastapi import AuthMiddleware, configure, metrics_route
from jwks_auth.metrics import JwksAuthCollector, families, register, render, unregister
from jwks_auth.testing import MockProvider


Series = Tuple[str, Tuple[Tuple[str, str], ...]]


def parse(text: str) -> Dict[Series, float]:
    """Every sample of a Prometheus text exposition: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape() -> Dict[Series, float]:
    return parse(render())


def value(samples: Dict[Series, float], name: str, **labels: str) -> float:
    """The sample `name{labels}` (0 when it has no series yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before, after, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


VERIFICATIONS = "jwks_auth_verifications_total"


@pytest.fixture
def okta():
    # A preset no other test file mocks: its series move only with this file's tests.
    with MockProvider("okta") as mock:
        yield mock


def test_accepted_and_refused_verifications_are_counted_exactly(okta):
    verifier = Verifier(okta.provider())
    before = scrape()

    for _ in range(3):
        verifier.verify_sync(okta.token().sign())

    async def verify_async():
        return await verifier.verify(okta.token().sign())

    asyncio.run(verify_async())
    refusals = [
        (okta.token().expired().sign(), "expired"),
        (okta.token().sign_with_wrong_key(), "invalid-signature"),
        (okta.token().sign_with_wrong_key(), "invalid-signature"),
        ("not.a-token", "malformed"),
    ]
    for token, kind in refusals:
        with pytest.raises(InvalidToken) as caught:
            verifier.verify_sync(token)
        assert caught.value.kind == kind
    after = scrape()

    assert moved(before, after, VERIFICATIONS, provider="okta", outcome="ok") == 4
    assert moved(before, after, VERIFICATIONS, provider="okta", outcome="expired") == 1
    assert moved(before, after, VERIFICATIONS, provider="okta", outcome="invalid-signature") == 2
    assert moved(before, after, VERIFICATIONS, provider="okta", outcome="malformed") == 1
    total = sum(
        after[series] - before.get(series, 0.0)
        for series in after
        if series[0] == VERIFICATIONS and ("provider", "okta") in series[1]
    )
    assert total == 8  # no other outcome moved


def test_verified_cache_hits_and_misses_are_counted(okta):
    cached = Verifier(okta.provider(), cache_verified=True)
    uncached = Verifier(okta.provider())
    first, second = okta.token().sub("a").sign(), okta.token().sub("b").sign()
    before = scrape()

    for token in (first, first, first, second):
        cached.verify_sync(token)
    middle = scrape()
    uncached.verify_sync(first)
    after = scrape()

    assert moved(before, middle, "jwks_auth_verified_cache_misses_total", provider="okta") == 2
    assert moved(before, middle, "jwks_auth_verified_cache_hits_total", provider="okta") == 2
    assert moved(before, middle, VERIFICATIONS, provider="okta", outcome="ok") == 4
    # Without `cache_verified` there is no cache to hit or miss.
    assert moved(middle, after, "jwks_auth_verified_cache_misses_total", provider="okta") == 0
    assert moved(middle, after, "jwks_auth_verified_cache_hits_total", provider="okta") == 0
    assert moved(middle, after, VERIFICATIONS, provider="okta", outcome="ok") == 1


def test_jwks_fetches_their_duration_and_the_key_set_are_recorded(okta):
    fetches = "jwks_auth_jwks_fetches_total"
    duration = "jwks_auth_jwks_fetch_duration_seconds"
    before = scrape()

    verifier = Verifier(okta.provider())
    verifier.warm_up_sync()
    warm = scrape()
    assert moved(before, warm, fetches, provider="okta", outcome="ok") == 1
    assert moved(before, warm, fetches, provider="okta", outcome="error") == 0
    assert moved(before, warm, f"{duration}_count", provider="okta") == 1
    assert moved(before, warm, f"{duration}_bucket", provider="okta", le="+Inf") == 1
    assert moved(before, warm, f"{duration}_sum", provider="okta") > 0
    assert value(warm, "jwks_auth_keys", provider="okta") == len(okta.kids) == 1
    assert value(warm, "jwks_auth_jwks_last_success_timestamp_seconds", provider="okta") > 1.6e9
    info = {
        labels: v
        for (name, labels), v in warm.items()
        if name == "jwks_auth_key_set_info" and ("provider", "okta") in labels
    }
    current = [dict(labels)["fingerprint"] for labels, v in info.items() if v == 1]
    assert len(current) == 1 and re.fullmatch(r"[0-9a-f]{16}", current[0])

    # A token signed by a new key: one unknown-kid refresh, one more fetch, a new set.
    okta.rotate()
    verifier.verify_sync(okta.token().sign())
    rotated = scrape()
    assert moved(warm, rotated, "jwks_auth_unknown_kid_refreshes_total", provider="okta") == 1
    assert moved(warm, rotated, fetches, provider="okta", outcome="ok") == 1
    assert value(rotated, "jwks_auth_keys", provider="okta") == len(okta.kids) == 2
    assert value(rotated, "jwks_auth_key_set_info", provider="okta", fingerprint=current[0]) == 0

    # A provider that fails: the fetch is counted as an error.
    okta.fail_next(1)
    failing = Verifier(okta.provider())
    with pytest.raises(Exception):
        failing.warm_up_sync()
    failed = scrape()
    assert moved(rotated, failed, fetches, provider="okta", outcome="error") == 1
    assert moved(rotated, failed, f"{duration}_count", provider="okta") == 1


def test_series_carry_the_provider_name():
    with MockProvider("kinde") as kinde, MockProvider("stytch") as stytch:
        kinde_verifier = Verifier(kinde.provider())
        stytch_verifier = Verifier(stytch.provider())
        before = scrape()
        kinde_verifier.verify_sync(kinde.token().sign())
        for _ in range(2):
            stytch_verifier.verify_sync(stytch.token().sign())
        after = scrape()

    assert moved(before, after, VERIFICATIONS, provider="kinde", outcome="ok") == 1
    assert moved(before, after, VERIFICATIONS, provider="stytch", outcome="ok") == 2
    for name in ("jwks_auth_keys", "jwks_auth_jwks_fetches_total"):
        providers = {dict(labels).get("provider") for n, labels in after if n == name}
        assert {"kinde", "stytch"} <= providers
    # Every series but the stores' (shared by all verifiers) names its provider.
    for name, labels in after:
        if name.startswith("jwks_auth_") and name != "jwks_auth_store_full_total":
            assert dict(labels).get("provider"), (name, labels)


def test_a_full_revocation_store_is_counted():
    with MockProvider("okta") as mock:
        verifier = Verifier(mock.provider(), revocation=InMemoryRevocationStore(capacity=1))
        verifier.revocations.revoke_user_sync("first")
        before = scrape()
        with pytest.raises(RevocationStoreUnavailable):
            verifier.revocations.revoke_user_sync("second")
        after = scrape()
    assert moved(before, after, "jwks_auth_store_full_total", store="revocation") == 1


def test_render_is_prometheus_text_with_every_family_described(okta):
    Verifier(okta.provider()).verify_sync(okta.token().sign())
    text = render()
    described = {name: (kind, help_text) for name, kind, help_text in families()}
    assert len(described) == 14

    parsed = {family.name: family for family in text_string_to_metric_families(text)}
    assert parsed, text
    for family in parsed.values():
        # prometheus_client names a counter family without its `_total`.
        name = family.name + "_total" if family.type == "counter" else family.name
        assert name in described, name
        assert (family.type, family.documentation) == described[name]
    # What any verifier registers when it is built (the rest appear on their first event).
    for name in (
        VERIFICATIONS,
        "jwks_auth_verified_cache_hits_total",
        "jwks_auth_verified_cache_misses_total",
        "jwks_auth_jwks_fetches_total",
        "jwks_auth_unknown_kid_refreshes_total",
        "jwks_auth_refreshes_suppressed_total",
        "jwks_auth_stale_serves_total",
        "jwks_auth_keys",
        "jwks_auth_jwks_last_success_timestamp_seconds",
        "jwks_auth_key_set_info",
    ):
        assert f"# TYPE {name} {described[name][0]}\n" in text
        assert f'{name}{{provider="okta"' in text
    # The fetch duration is a histogram (buckets), not a summary (quantiles).
    histogram = parsed["jwks_auth_jwks_fetch_duration_seconds"]
    assert histogram.type == "histogram"
    buckets = [s for s in histogram.samples if s.name.endswith("_bucket")]
    assert {s.labels["le"] for s in buckets} >= {"0.005", "1", "10", "+Inf"}
    assert not any("quantile" in s.labels for s in histogram.samples)
    assert metrics.CONTENT_TYPE == prometheus_client.exposition.CONTENT_TYPE_PLAIN_0_0_4


def test_the_prometheus_client_collector_shows_the_same_values(okta):
    Verifier(okta.provider()).verify_sync(okta.token().sign())
    registry = CollectorRegistry()
    collector = register(registry)
    assert register(registry) is collector  # once per registry
    assert isinstance(collector, JwksAuthCollector)

    exposed = parse(generate_latest(registry).decode())
    assert exposed == scrape()
    assert value(exposed, VERIFICATIONS, provider="okta", outcome="ok") >= 1

    # A second collector of the same names is refused (describe() names the families)...
    with pytest.raises(ValueError):
        registry.register(JwksAuthCollector())
    # ... and a restricted scrape (`/metrics?name[]=...`) finds them.
    only_keys = parse(generate_latest(registry.restricted_registry(["jwks_auth_keys"])).decode())
    assert only_keys and {name for name, _ in only_keys} == {"jwks_auth_keys"}

    unregister(registry)
    assert parse(generate_latest(registry).decode()) == {}
    unregister(registry)  # nothing left to remove: no error


def test_register_defaults_to_the_global_registry(okta):
    Verifier(okta.provider()).verify_sync(okta.token().sign())
    assert b"jwks_auth_verifications_total" not in generate_latest()
    register()
    try:
        text = generate_latest().decode()
        assert 'jwks_auth_verifications_total{outcome="ok",provider="okta"}' in text
        assert "python_info" in text  # prometheus_client's own metrics are still there
    finally:
        unregister()
    assert b"jwks_auth_verifications_total" not in generate_latest()


def test_prometheus_client_is_optional(monkeypatch):
    for name in [m for m in sys.modules if m.split(".")[0] == "prometheus_client"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import fails
    for needs_it in (register, JwksAuthCollector, unregister):
        with pytest.raises(ImportError, match=r"jwks-auth\[prometheus\]"):
            needs_it()
    assert isinstance(render(), str)


def make_app(verifier: Verifier, **route_options) -> FastAPI:
    app = FastAPI()
    configure(app, verifier)
    metrics_route(app, **route_options)

    @app.get("/other")
    async def other():
        return {"ok": True}

    return app


def bearer(token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_metrics_route_wants_a_token_by_default(okta):
    with TestClient(make_app(Verifier(okta.provider()))) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert "jwks_auth_" not in refused.text

        before = scrape()
        served = client.get("/metrics", headers=bearer(okta.token().sign()))
        assert served.status_code == 200
        assert served.headers["content-type"] == metrics.CONTENT_TYPE
        # The scrape's own verification is in it.
        exposed = parse(served.text)
        assert moved(before, exposed, VERIFICATIONS, provider="okta", outcome="ok") == 1
        assert "/metrics" not in client.get("/openapi.json").text


def test_the_metrics_route_can_want_scopes(okta):
    app = make_app(Verifier(okta.provider()), path="/internal/metrics", scopes=["metrics:read"])
    with TestClient(app) as client:
        assert client.get("/internal/metrics").status_code == 401
        plain = bearer(okta.token().sign())
        assert client.get("/internal/metrics", headers=plain).status_code == 403
        scraper = bearer(okta.token().claim("scp", ["metrics:read"]).sign())  # Okta: `scp`
        served = client.get("/internal/metrics", headers=scraper)
        assert served.status_code == 200
        assert "jwks_auth_verifications_total" in served.text


def test_a_public_metrics_route_is_served_without_a_token_even_under_the_middleware(okta):
    verifier = Verifier(okta.provider())
    public = make_app(verifier, public=True)
    public.add_middleware(AuthMiddleware, prefix="/")
    guarded = make_app(verifier)
    guarded.add_middleware(AuthMiddleware, prefix="/")
    with TestClient(public) as client:
        served = client.get("/metrics")
        assert served.status_code == 200
        assert parse(served.text)
        assert client.get("/other").status_code == 401  # only that path is public
    with TestClient(guarded) as client:
        assert client.get("/metrics").status_code == 401
    with pytest.raises(ValueError):
        metrics_route(FastAPI(), public=True, scopes=["metrics:read"])


def test_no_token_or_claim_ever_appears_in_the_metrics(okta):
    canary = "canary-user-7f3a9c"
    tokens = [
        okta.token().sub(canary).email(f"{canary}@example.test").sign(),
        okta.token().sub(canary).expired().sign(),
        okta.token().sub(canary).sign_with_wrong_key(),
        okta.token().sub(canary).sign_tampered("sub", "admin"),
        okta.token().sub(canary).kid(f"kid-{canary}").sign(),
        f"{canary}.{canary}.{canary}",
        canary,
    ]
    verifier = Verifier(okta.provider(), cache_verified=True)
    app = make_app(verifier, public=True)
    app.add_middleware(AuthMiddleware, prefix="/")  # every request to /other is verified
    registry = CollectorRegistry()
    register(registry)
    with TestClient(app) as client:
        for token in tokens:
            try:
                verifier.verify_sync(token)
            except InvalidToken:
                pass
            client.get("/other", headers=bearer(token))
        served = client.get("/metrics")
        assert served.status_code == 200
        outputs = [render(), served.text, generate_latest(registry).decode()]
    assert value(parse(outputs[0]), VERIFICATIONS, provider="okta", outcome="ok") >= 2
    for text in outputs:
        assert canary not in text
        for token in tokens:
            for part in token.split("."):
                assert len(part) < 9 or part not in text


def test_importing_in_another_interpreter_leaves_recording_working():
    interpreters = pytest.importorskip("_xxsubinterpreters")  # CPython 3.8 .. 3.12
    del interpreters
    program = textwrap.dedent(
        """
        import _xxsubinterpreters as interpreters
        import jwks_auth
        from jwks_auth import Verifier
        from jwks_auth.metrics import render
        from jwks_auth.testing import MockProvider

        for _ in range(2):
            sub = interpreters.create()
            try:
                interpreters.run_string(sub, "import jwks_auth.metrics; jwks_auth.metrics.render()")
            except Exception as err:  # an interpreter PyO3 refuses: not our failure
                print("subinterpreter:", type(err).__name__)
            interpreters.destroy(sub)
        with MockProvider("okta") as mock:
            Verifier(mock.provider()).verify_sync(mock.token().sign())
        assert 'jwks_auth_verifications_total{provider="okta",outcome="ok"} 1' in render()
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")
