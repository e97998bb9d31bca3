//! `jwks_auth.metrics`' Rust half: the library's metrics (feature `metrics`) recorded into a
//! Prometheus recorder of this extension, and rendered on demand.
//!
//! The recorder is installed when the extension is imported, so before any verifier is
//! built (each verifier registers its handles once, at build time, and then only bumps
//! atomics). It is `metrics-exporter-prometheus`'s recorder alone: no HTTP listener, no push
//! gateway, no upkeep task or thread; `render()` drains the histogram samples itself.
//!
//! The `metrics` facade's global recorder is this extension's own (the crate is linked into
//! this shared library), so another extension's Rust code never shares or replaces it.
//! Installing happens once per process ([`OnceLock`]): a second initialization of the
//! module (another interpreter, a reload) finds it done; if the slot were taken by someone
//! else, [`render`] answers an empty exposition rather than failing.

use std::sync::OnceLock;

use metrics::{KeyName, Recorder, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use pyo3::prelude::*;

/// The metric type of a family, as the Prometheus text format names it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

const FETCH_DURATION: &str = "jwks_auth_jwks_fetch_duration_seconds";

/// Every metric the library records (`src/metrics.rs`, `src/expiring_map.rs`), with the
/// `# HELP` text of the exposition.
const METRICS: [(&str, Kind, &str); 14] = [
    (
        "jwks_auth_verifications_total",
        Kind::Counter,
        "Finished verifications, by provider and outcome (ok, or the error kind: expired, invalid-signature, unknown-key, ...).",
    ),
    (
        "jwks_auth_verified_cache_hits_total",
        Kind::Counter,
        "Verified-token cache hits (cache_verified).",
    ),
    (
        "jwks_auth_verified_cache_misses_total",
        Kind::Counter,
        "Verified-token cache misses (cache_verified).",
    ),
    (
        "jwks_auth_jwks_fetches_total",
        Kind::Counter,
        "JWKS requests, by provider and outcome: ok (new key set installed), not-modified (304, set renewed), error.",
    ),
    (
        FETCH_DURATION,
        Kind::Histogram,
        "Duration of each JWKS refresh in seconds (the request, parsing, and discovery when due).",
    ),
    (
        "jwks_auth_unknown_kid_refreshes_total",
        Kind::Counter,
        "Key refreshes triggered by a token naming an unknown kid.",
    ),
    (
        "jwks_auth_refreshes_suppressed_total",
        Kind::Counter,
        "Key refreshes refused by the cooldown (unknown-kid storm, or right after a failure).",
    ),
    (
        "jwks_auth_stale_serves_total",
        Kind::Counter,
        "Verifications answered from expired keys (refresh failed or in flight).",
    ),
    (
        "jwks_auth_keys",
        Kind::Gauge,
        "Usable keys in the current key set.",
    ),
    (
        "jwks_auth_jwks_last_success_timestamp_seconds",
        Kind::Gauge,
        "Unix time (verifier clock) of the last successful JWKS fetch or 304.",
    ),
    (
        "jwks_auth_key_set_info",
        Kind::Gauge,
        "1 for the current key set, 0 for the one it replaced; fingerprint hashes the kids and key material.",
    ),
    (
        "jwks_auth_store_full_total",
        Kind::Counter,
        "New entries refused by a full in-memory store (store: revocation, dpop-replay).",
    ),
    (
        "jwks_auth_introspections_total",
        Kind::Counter,
        "Calls to the RFC 7662 introspection endpoint, by provider and outcome: active, inactive, error.",
    ),
    (
        "jwks_auth_introspection_cache_hits_total",
        Kind::Counter,
        "Opaque tokens answered from the introspection cache.",
    ),
];

/// Bucket bounds (seconds) of the JWKS fetch duration: rendered as a Prometheus histogram
/// (aggregatable across processes) rather than the exporter's default summary. A fetch
/// times out after 5 s; the last bound covers discovery plus a fetch.
const FETCH_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The handle of the installed recorder; `None` if the global slot was already taken.
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder (first call only; later calls return at once). Never panics.
pub(crate) fn install() {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(FETCH_DURATION.to_owned()), &FETCH_BUCKETS)
            // Unreachable (the bounds are not empty): summaries then, not a failure.
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        for (name, kind, help) in METRICS {
            let (key, text) = (KeyName::from_const_str(name), SharedString::const_str(help));
            match kind {
                Kind::Counter => recorder.describe_counter(key, None, text),
                Kind::Gauge => recorder.describe_gauge(key, None, text),
                Kind::Histogram => recorder.describe_histogram(key, None, text),
            }
        }
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).ok().map(|()| handle)
    });
}

/// jwks-auth's metrics in the Prometheus text exposition format (version 0.0.4).
#[pyfunction]
fn render_metrics(py: Python<'_>) -> String {
    install();
    let handle = HANDLE.get().and_then(Option::as_ref);
    py.detach(|| handle.map(PrometheusHandle::render).unwrap_or_default())
}

/// `(name, type, help)` of every metric family the library records (whether or not it has
/// a series yet).
#[pyfunction]
fn metric_families() -> Vec<(&'static str, &'static str, &'static str)> {
    METRICS
        .iter()
        .map(|(name, kind, help)| (*name, kind.as_str(), *help))
        .collect()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    install();
    m.add_function(wrap_pyfunction!(render_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(metric_families, m)?)?;
    Ok(())
}
