//! Curve 2: issuers behind one `TenantVerifier` (template `{origin}/tenant-{id}`, as
//! `tests/tenants.rs`), each with its own JWKS path on the key server.
//!
//! For each of two factories — `own-client` (the verifier builds its own HTTP client, the
//! default and what `tests/tenants.rs` does) and `shared-client` (`http_client(shared)`) —
//! `n` issuers are used for the first time one after the other (verifier built, keys
//! fetched: each first use timed), then the memory held per live issuer is reported, and a
//! warm verify is measured: one issuer's token again and again (`warm-one`), and tokens of
//! 256 issuers spread over the `n` in turn (`warm-spread`).
//!
//! One kind per process (`scale issuers <n> <kind>`). Under callgrind, run the
//! `shared-client` kind (a faster fill; a warm verify does not touch the client): it also
//! counts the first use of a few more issuers of each kind.
use std::hint::black_box;
use std::time::Instant;

use jwks_auth::testing::{TestKey, TokenBuilder};
use jwks_auth::{Algorithm, KeyFamily, Provider, TenantIssuer, TenantVerifier, Verifier};
use serde_json::json;

use crate::alloc;
use crate::common::{runtime, spread, TENANT_PRESET};
use crate::harness::{Harness, Plan};
use crate::server::KeyServer;

const WARM: Plan = Plan::new(200, 2_000, 20, 100);
/// First uses under callgrind: each a verifier build, a connection and a fetch.
const FIRST_USE: Plan = Plan::new(0, 0, 1, 3);
/// Room above `n` so the measured first uses evict nothing.
const ROOM: u64 = 1_000;

/// `kind`: `own-client` or `shared-client`, each in a process of its own: a dropped tenant
/// verifier's moka maps free their memory later (epoch-based), during whatever comes next.
pub fn run(n: u64, kind: &str) {
    assert!(["own-client", "shared-client"].contains(&kind), "{kind}");
    let mut h = Harness::new("issuers", n);
    let key = TestKey::fixture(KeyFamily::Ed25519, 0).expect("fixture key");
    let jwks = json!({ "keys": [key.public_jwk().unwrap()] }).to_string();
    let server = KeyServer::start(&jwks);
    let origin = server.origin.clone();
    let rt = runtime();
    let shared = reqwest::Client::builder().build().expect("client");
    let token = |id: &str| {
        TokenBuilder::new(key.clone(), Algorithm::EdDSA)
            .issuer(&format!("{origin}/tenant-{id}"))
            .sub("user-1")
            .expires_in(24 * 3600)
            .sign()
    };
    {
        let prefix = &kind[..1]; // `o` or `s`: the factory picks the client by it
        let tenants = tenants(&origin, &shared, n + ROOM);
        let tokens: Vec<String> = (0..n).map(|i| token(&format!("{prefix}{i}"))).collect();
        let before = alloc::snapshot();
        let mut first_use = Vec::with_capacity(n as usize);
        for token in &tokens {
            let began = Instant::now();
            rt.block_on(tenants.verify(token)).expect("first use");
            first_use.push(began.elapsed().as_nanos() as f64);
        }
        h.memory(kind, &before, n);
        // Sockets (and other descriptors) held open: each HTTP client keeps its idle
        // connection to the key server for a while.
        let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count());
        h.row(kind, "open_fds", fds);
        assert_eq!(tenants.live_issuers(), n, "every issuer live");
        if !h.callgrind() {
            report_first_use(&h, kind, first_use);
        }
        let one = &tokens[(n / 2) as usize];
        h.case(&format!("warm-one-{kind}"), &WARM, |range| {
            rt.block_on(async {
                for _ in range {
                    black_box(tenants.verify(black_box(one)).await.unwrap());
                }
            })
        });
        let picked: Vec<&String> = spread(n, 256)
            .into_iter()
            .map(|i| &tokens[i as usize])
            .collect();
        h.case(&format!("warm-spread-{kind}"), &WARM, |range| {
            rt.block_on(async {
                for i in range {
                    let token = picked[i as usize % picked.len()];
                    black_box(tenants.verify(black_box(token)).await.unwrap());
                }
            })
        });
        if h.callgrind() {
            for kind in ["own-client", "shared-client"] {
                let prefix = &kind[..1];
                let fresh: Vec<String> = (0..h.ops(&FIRST_USE))
                    .map(|i| token(&format!("{prefix}new{i}")))
                    .collect();
                h.case(&format!("first-use-{kind}"), &FIRST_USE, |range| {
                    rt.block_on(async {
                        for i in range {
                            black_box(tenants.verify(&fresh[i as usize]).await.unwrap());
                        }
                    })
                });
            }
        }
        drop(tenants);
    }
    // Last: what it drops is freed later, and would be counted off a fill after it.
    if kind == "shared-client" && !h.callgrind() {
        breakdown(&h, &rt, &origin, &shared, &token("s-breakdown"));
    }
    drop(server);
}

/// What one live issuer holds, piece by piece: a verifier built with the shared client, the
/// same after its first fetch, the HTTP client each `own-client` verifier builds, and an empty
/// moka cache like the negative cache of unknown kids each verifier keeps. Each is made twice
/// and the second one weighed: the first also pays for one-time globals.
fn breakdown(
    h: &Harness,
    rt: &tokio::runtime::Runtime,
    origin: &str,
    shared: &reqwest::Client,
    token: &str,
) {
    let provider = Provider::from_toml_str_with(
        TENANT_PRESET,
        "tenant.toml",
        &[("origin", origin), ("id", "s-breakdown")],
    )
    .expect("provider");
    let build = || {
        Verifier::builder(provider.clone())
            .http_client(shared.clone())
            .build()
            .expect("verifier")
    };
    let first = build();
    rt.block_on(first.verify(token)).expect("verifies");
    let before = alloc::snapshot();
    let verifier = build();
    h.memory("one-verifier-built", &before, 1);
    rt.block_on(verifier.verify(token)).expect("verifies");
    h.memory("one-verifier-fetched", &before, 1);
    drop((first, verifier));
    let client = || reqwest::Client::builder().build().expect("client");
    let first = client();
    let before = alloc::snapshot();
    let second = client();
    h.memory("http-client", &before, 1);
    drop((first, second));
    let cache = || -> moka::sync::Cache<Box<str>, std::time::Duration> {
        moka::sync::Cache::builder()
            .max_capacity(1024)
            .time_to_live(std::time::Duration::from_secs(300))
            .build()
    };
    let first = cache();
    let before = alloc::snapshot();
    let second = cache();
    h.memory("empty-moka-cache", &before, 1);
    drop((first, second));
}

fn tenants(origin: &str, shared: &reqwest::Client, max: u64) -> TenantVerifier {
    let (factory_origin, shared) = (origin.to_owned(), shared.clone());
    TenantVerifier::builder(move |tenant: &TenantIssuer<'_>| {
        let id = tenant.param("id").unwrap_or_default();
        let provider = Provider::from_toml_str_with(
            TENANT_PRESET,
            "tenant.toml",
            &[("origin", &factory_origin), ("id", id)],
        )?;
        let builder = Verifier::builder(provider);
        if id.starts_with('s') {
            builder.http_client(shared.clone()).build()
        } else {
            builder.build()
        }
    })
    .trust_template(&format!("{origin}/tenant-{{id}}"))
    .expect("template")
    .max_issuers(max)
    .build()
    .expect("tenant verifier")
}

/// First-use times: median and 90th percentile over all issuers, and the median of the first
/// and the last tenth (few issuers live, or nearly `n`).
fn report_first_use(h: &Harness, kind: &str, times: Vec<f64>) {
    let median = |slice: &[f64]| {
        let mut sorted = slice.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    let case = format!("first-use-{kind}");
    let tenth = (times.len() / 10).max(1);
    h.row(&case, "ns", format!("{:.0}", median(&times)));
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    h.row(
        &case,
        "ns_p90",
        format!("{:.0}", sorted[sorted.len() * 9 / 10]),
    );
    h.row(
        &case,
        "ns_first_tenth",
        format!("{:.0}", median(&times[..tenth])),
    );
    h.row(
        &case,
        "ns_last_tenth",
        format!("{:.0}", median(&times[times.len() - tenth..])),
    );
}

/// Diagnostic: `k` verifiers (shared client) kept in a Vec; live bytes per verifier after
/// building them, and after each fetched its keys.
pub fn probe(k: u64) {
    let h = Harness::new("probe", k);
    let key = TestKey::fixture(KeyFamily::Ed25519, 0).expect("fixture key");
    let jwks = json!({ "keys": [key.public_jwk().unwrap()] }).to_string();
    let server = KeyServer::start(&jwks);
    let origin = server.origin.clone();
    let rt = runtime();
    let shared = reqwest::Client::builder().build().expect("client");
    let provider = Provider::from_toml_str_with(
        TENANT_PRESET,
        "tenant.toml",
        &[("origin", &origin), ("id", "s0")],
    )
    .expect("provider");
    let token = TokenBuilder::new(key.clone(), Algorithm::EdDSA)
        .issuer(&format!("{origin}/tenant-s0"))
        .expires_in(3600)
        .sign();
    let before = alloc::snapshot();
    let verifiers: Vec<Verifier> = (0..k)
        .map(|_| {
            Verifier::builder(provider.clone())
                .http_client(shared.clone())
                .build()
                .unwrap()
        })
        .collect();
    h.memory("built", &before, k);
    for v in &verifiers {
        rt.block_on(v.verify(&token)).unwrap();
    }
    h.memory("fetched", &before, k);
    let before = alloc::snapshot();
    let caches: Vec<moka::sync::Cache<Box<str>, std::time::Duration>> = (0..k)
        .map(|_| {
            moka::sync::Cache::builder()
                .max_capacity(1024)
                .time_to_live(std::time::Duration::from_secs(300))
                .build()
        })
        .collect();
    h.memory("moka", &before, k);
    drop(caches);
    // Which part of an empty moka cache weighs: capacity, expiry.
    type Negative = moka::sync::Cache<Box<str>, std::time::Duration>;
    type Make = fn(std::time::Duration) -> Negative;
    let ttl = std::time::Duration::from_secs(300);
    let variants: [(&str, Make); 4] = [
        ("moka-cap1024-ttl", |ttl| {
            Negative::builder()
                .max_capacity(1024)
                .time_to_live(ttl)
                .build()
        }),
        ("moka-cap16-ttl", |ttl| {
            Negative::builder()
                .max_capacity(16)
                .time_to_live(ttl)
                .build()
        }),
        ("moka-cap1024", |_| {
            Negative::builder().max_capacity(1024).build()
        }),
        ("moka-unbounded", |_| Negative::builder().build()),
    ];
    for (name, make) in variants {
        let before = alloc::snapshot();
        let caches: Vec<Negative> = (0..k).map(|_| make(ttl)).collect();
        h.memory(name, &before, k);
        drop(caches);
    }
    drop((verifiers, server));
}
