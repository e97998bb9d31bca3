"""jwks-auth's metrics: the counters, gauges and histogram of the Rust library (verifications
by outcome, verified-token cache hits and misses, JWKS fetches and their duration, key-set
size and fingerprint, ...), every series labelled with the provider's name.

>>> from jwks_auth import Verifier
>>> from jwks_auth.metrics import render
>>> from jwks_auth.testing import MockProvider
>>> with MockProvider("okta") as mock:
...     verifier = Verifier(mock.provider())
...     user = verifier.verify_sync(mock.token().sign())
>>> 'jwks_auth_verifications_total{provider="okta",outcome="ok"}' in render()
True

Recording is always on: it starts when ``jwks_auth`` is imported (before any verifier is
built, since each verifier registers its series when it is built) and costs an atomic
increment per event. Nothing runs in the background: no thread, no HTTP server; the values
are read when you ask for them.

- ``render()``: the Prometheus text exposition (format 0.0.4, ``CONTENT_TYPE``), for any
  ``/metrics`` handler. ``jwks_auth.fastapi.metrics_route(app)`` serves it.
- ``register()``: for ``prometheus_client`` users (``pip install 'jwks-auth[prometheus]'``),
  adds a collector to ``prometheus_client.REGISTRY`` (or the registry you pass), so
  ``generate_latest()`` and ``make_asgi_app()``, hence ``prometheus-fastapi-instrumentator``
  too, show jwks-auth's metrics next to your own.

Each process has its own values, as prometheus_client's in-process metrics do: with several
worker processes (gunicorn, ``uvicorn --workers``) a scrape shows the worker that answers
it, and prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) does not merge
them (its per-scrape registry holds jwks-auth's collector only if you ``register()`` it
there). Verifiers of the same provider in one process share its
series: counters add up, a gauge holds the last value set.

Labels are the provider (the preset's name, e.g. ``better-auth``), the outcome (``ok`` or
an error kind such as ``expired``), the key set's fingerprint (a hash) and the store
(``revocation``, ``dpop-replay``): never a token, a claim or a user id.
"""

import threading
import weakref
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Tuple

from . import _jwks_auth

if TYPE_CHECKING:  # pragma: no cover - typing only
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry

__all__ = [
    "CONTENT_TYPE",
    "JwksAuthCollector",
    "families",
    "register",
    "render",
    "unregister",
]

#: The ``Content-Type`` of ``render()``'s text.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def render() -> str:
    """jwks-auth's metrics in the Prometheus text exposition format (version 0.0.4), every
    series since the module was imported (a series appears when a verifier of its provider
    is built, or at its first event)."""
    return _jwks_auth.render_metrics()


def families() -> List[Tuple[str, str, str]]:
    """``(name, type, help)`` of every metric family jwks-auth records, whether or not it
    has a series yet: ``("jwks_auth_verifications_total", "counter", "...")``."""
    return list(_jwks_auth.metric_families())


def _prometheus_client() -> Any:
    try:
        import prometheus_client
        import prometheus_client.parser
    except ImportError as err:
        raise ImportError(
            "jwks_auth.metrics.register / JwksAuthCollector need prometheus_client: "
            "pip install 'jwks-auth[prometheus]' (or use jwks_auth.metrics.render(), "
            "which needs nothing)"
        ) from err
    return prometheus_client


class JwksAuthCollector:
    """A ``prometheus_client`` collector of jwks-auth's metrics: each ``collect()`` reads the
    current values (``render()``, parsed). Register it with ``register()``, or yourself:
    ``registry.register(JwksAuthCollector())``.

    Raises ``ImportError`` when ``prometheus_client`` is not installed."""

    def __init__(self) -> None:
        self._prom = _prometheus_client()

    def collect(self) -> Iterable["Metric"]:
        """The metric families with their samples now."""
        return list(self._prom.parser.text_string_to_metric_families(render()))

    def describe(self) -> Iterable["Metric"]:
        """The families without samples: their names let a registry refuse a clash and
        ``restricted_registry`` (``/metrics?name[]=...``) find them, without a scrape."""
        core = self._prom.metrics_core
        kinds = {
            "counter": core.CounterMetricFamily,
            "gauge": core.GaugeMetricFamily,
            "histogram": core.HistogramMetricFamily,
        }
        return [kinds[kind](name, help_text) for name, kind, help_text in families()]


_lock = threading.Lock()
# The registries holding the module's collector (weakly: a dropped registry is forgotten).
_registered: "weakref.WeakKeyDictionary[Any, JwksAuthCollector]" = weakref.WeakKeyDictionary()


def register(registry: Optional["CollectorRegistry"] = None) -> JwksAuthCollector:
    """Adds jwks-auth's collector to ``registry`` (default ``prometheus_client.REGISTRY``) and
    returns it. Calling it again for the same registry does nothing more (returns the same
    collector). Raises ``ImportError`` without ``prometheus_client``, and
    ``ValueError`` if the registry already has a collector of one of jwks-auth's metric names
    (e.g. a ``JwksAuthCollector`` registered by hand)."""
    prom = _prometheus_client()
    target = prom.REGISTRY if registry is None else registry
    with _lock:
        collector = _registered.get(target)
        if collector is None:
            collector = JwksAuthCollector()
            target.register(collector)
            _registered[target] = collector
        return collector


def unregister(registry: Optional["CollectorRegistry"] = None) -> None:
    """Removes the collector ``register()`` added to ``registry`` (default
    ``prometheus_client.REGISTRY``); does nothing if there is none."""
    prom = _prometheus_client()
    target = prom.REGISTRY if registry is None else registry
    with _lock:
        collector = _registered.pop(target, None)
        if collector is not None:
            target.unregister(collector)
