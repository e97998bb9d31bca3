//! Verify cost per algorithm, against the bare aws-lc-rs signature check ("floor").
//!
//! Run: `cargo bench -p jwks-auth-benches --bench verify` (about 3 minutes). Groups:
//! * `floor/<alg>`: aws-lc-rs alone, key pre-parsed, signature pre-decoded.
//! * `verify_hot/<alg>`: `Verifier::verify` with the keys in memory (static JWKS / secret).
//! * `verify_cached/<alg>`: the same token again with `cache_verified(10_000)` (a cache hit).
//! * `cold_start/<alg>`: the first verify of a fresh verifier, including the JWKS fetch from a
//!   loopback `MockProvider` (the verifier is built outside the timed part).
//! * `throughput/<alg>/<workers>`: one shared verifier, 8 tasks on a multi-thread runtime with
//!   1 or 2 worker threads; time per verify of the whole run (scaling = t1 / t2).
//! * `dpop/<alg>/bearer` vs `dpop/<alg>/dpop`: `verify` of a token next to `verify_dpop` of
//!   the same token bound to a proof key (`cnf.jkt`; the bearer twin carries an unchecked
//!   claim of the same size), with a fresh proof per iteration (made outside the timed
//!   part): the second signature check, the thumbprint, `htu` and the replay insert.
//!   `cargo bench -p jwks-auth-benches --bench verify -- dpop` runs only this group.
//! * `revocation/<path>/<store>`: the same EdDSA token (with `jti`, `sid`, `iat`) verified
//!   without revocation (`off`), with the in-memory store (`memory`) and with the Redis store
//!   (`redis`, nothing revoked; the bench starts a `redis-server` on loopback, and skips the
//!   case with a message when there is none); `<path>` is `full` (signature checked) or
//!   `cached` (verified-cache hit: the added cost stands out of the signature's noise).
//!   `cargo bench -p jwks-auth-benches --bench verify --features redis -- revocation` runs
//!   only this group.
//!
//! A key lookup on its own is not reachable through the public API; it is part of
//! `verify_hot - floor`.
//!
//! Allocations per verify are counted by `../examples/bench_compare.rs --alloc-probe` under
//! valgrind (see BENCHMARKS.md): a counting `#[global_allocator]` needs `unsafe impl`, and the
//! crate forbids `unsafe_code` in every target.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use jwks_auth::testing::{MockProvider, TestKeys};
use jwks_auth::{Algorithm, Verifier};
use tokio::runtime::Builder;

use common::{current_thread, floor_key, token, verifier, FloorKey, ALGORITHMS};

/// Algorithms for the slower groups (cold start, throughput): one per key family in use.
const FEW: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];
const TASKS: u64 = 8;

struct Case {
    alg: Algorithm,
    token: String,
    floor: FloorKey,
    /// The token's signing input and decoded signature, for the floor.
    message: Vec<u8>,
    signature: Vec<u8>,
}

fn cases(keys: &TestKeys) -> Vec<Case> {
    ALGORITHMS
        .into_iter()
        .map(|alg| {
            let token = token(keys, alg);
            let (message, signature) = token.rsplit_once('.').expect("compact JWS");
            let case = Case {
                alg,
                floor: floor_key(keys, alg),
                message: message.as_bytes().to_vec(),
                signature: URL_SAFE_NO_PAD.decode(signature).expect("signature"),
                token,
            };
            assert!(case.floor.verify(&case.message, &case.signature), "{alg}");
            case
        })
        .collect()
}

fn configure<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    group
}

fn floor(c: &mut Criterion) {
    let keys = TestKeys::new();
    let mut group = configure(c, "floor");
    for case in cases(&keys) {
        group.bench_function(case.alg.as_str(), |b| {
            b.iter(|| {
                case.floor
                    .verify(black_box(&case.message), black_box(&case.signature))
            })
        });
    }
    group.finish();
}

fn verify_hot(c: &mut Criterion) {
    let keys = TestKeys::new();
    let rt = current_thread();
    let mut group = configure(c, "verify_hot");
    for case in cases(&keys) {
        let verifier = verifier(&keys, case.alg, false);
        rt.block_on(verifier.verify(&case.token))
            .expect("token verifies");
        group.bench_function(case.alg.as_str(), |b| {
            b.to_async(&rt)
                .iter(|| async { verifier.verify(black_box(&case.token)).await.unwrap() })
        });
    }
    group.finish();
}

fn verify_cached(c: &mut Criterion) {
    let keys = TestKeys::new();
    let rt = current_thread();
    let mut group = configure(c, "verify_cached");
    for case in cases(&keys) {
        let verifier = verifier(&keys, case.alg, true);
        rt.block_on(verifier.verify(&case.token))
            .expect("token verifies");
        group.bench_function(case.alg.as_str(), |b| {
            b.to_async(&rt)
                .iter(|| async { verifier.verify(black_box(&case.token)).await.unwrap() })
        });
    }
    group.finish();
}

fn cold_start(c: &mut Criterion) {
    let rt = current_thread();
    let mut group = configure(c, "cold_start");
    for alg in FEW {
        let mock = rt.block_on(MockProvider::start("better-auth", alg));
        let token = mock.token().sign();
        group.bench_function(alg.as_str(), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let verifier = Verifier::builder(mock.provider())
                        .build()
                        .expect("verifier");
                    let started = Instant::now();
                    rt.block_on(verifier.verify(&token))
                        .expect("token verifies");
                    spent += started.elapsed();
                }
                spent
            })
        });
    }
    group.finish();
}

fn throughput(c: &mut Criterion) {
    let keys = TestKeys::new();
    let mut group = configure(c, "throughput");
    group.throughput(Throughput::Elements(1));
    for case in cases(&keys)
        .into_iter()
        .filter(|case| FEW.contains(&case.alg))
    {
        let verifier = verifier(&keys, case.alg, false);
        let token: Arc<str> = case.token.into();
        for workers in [1, 2] {
            let rt = Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .expect("runtime");
            group.bench_with_input(
                BenchmarkId::new(case.alg.as_str(), workers),
                &workers,
                |b, _| {
                    b.iter_custom(|iters| {
                        let per_task = iters.div_ceil(TASKS);
                        rt.block_on(async {
                            let started = Instant::now();
                            let tasks: Vec<_> = (0..TASKS)
                                .map(|_| {
                                    let (verifier, token) = (verifier.clone(), token.clone());
                                    tokio::spawn(async move {
                                        for _ in 0..per_task {
                                            verifier.verify(&token).await.unwrap();
                                        }
                                    })
                                })
                                .collect();
                            for task in tasks {
                                task.await.expect("task");
                            }
                            // Normalised to `iters` verifies, as criterion expects.
                            started
                                .elapsed()
                                .mul_f64(iters as f64 / (per_task * TASKS) as f64)
                        })
                    })
                },
            );
        }
    }
    group.finish();
}

fn dpop(c: &mut Criterion) {
    use criterion::BatchSize;
    use jwks_auth::dpop::{DpopMode, DpopRequest};
    use jwks_auth::testing::{DpopProof, TestKey};
    use jwks_auth::{KeyFamily, Provider};

    const URL: &str = "https://api.example.com/notes";
    let keys = TestKeys::new();
    let rt = current_thread();
    let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).expect("jwks"))
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .dpop(DpopMode::Allowed)
        .build()
        .expect("verifier");
    let mut group = configure(c, "dpop");
    for (alg, family) in [
        (Algorithm::ES256, KeyFamily::P256),
        (Algorithm::EdDSA, KeyFamily::Ed25519),
        (Algorithm::RS256, KeyFamily::P256),
    ] {
        let client = TestKey::fixture(family, 1).expect("fixture key");
        let base = || {
            keys.token(alg)
                .issuer(common::ISSUER)
                .audience(common::AUDIENCE)
                .expires_in(24 * 3600)
        };
        let bound = base().dpop_bound(&client).sign();
        let bearer = base()
            .claim("xnf", serde_json::json!({ "jkt": client.jkt() }))
            .sign();
        assert_eq!(bound.len(), bearer.len(), "{alg}");
        let fresh = || {
            DpopProof::new(&client)
                .method("GET")
                .url(URL)
                .token(&bound)
                .sign()
        };
        let request = DpopRequest::new("GET", URL);
        rt.block_on(verifier.verify(&bearer))
            .expect("bearer verifies");
        rt.block_on(verifier.verify_dpop(&bound, &[&fresh()], &request))
            .expect("dpop verifies");
        group.bench_function(format!("{alg}/bearer"), |b| {
            b.to_async(&rt)
                .iter(|| async { verifier.verify(black_box(&bearer)).await.unwrap() })
        });
        group.bench_function(format!("{alg}/dpop"), |b| {
            b.to_async(&rt).iter_batched(
                fresh,
                |proof| {
                    let (verifier, bound) = (&verifier, &bound);
                    async move {
                        verifier
                            .verify_dpop(black_box(bound), &[&proof], &request)
                            .await
                            .unwrap()
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// A `redis-server` for the bench, killed on drop.
#[cfg(feature = "redis")]
struct BenchRedis(std::process::Child, u16);

#[cfg(feature = "redis")]
impl BenchRedis {
    fn start() -> Option<BenchRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let server = BenchRedis(child, port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }
}

#[cfg(feature = "redis")]
impl Drop for BenchRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn revocation(c: &mut Criterion) {
    use jwks_auth::revocation::InMemoryRevocationStore;
    use jwks_auth::Provider;

    let keys = TestKeys::new();
    let rt = current_thread();
    let alg = Algorithm::EdDSA;
    let token = keys
        .token(alg)
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .claim("jti", "a3f9c2d4-7b1e-4c55-9e0a-2f6d8b1c4e77")
        .sid("sess_2bX9kQ7mRtLw")
        .expires_in(24 * 3600)
        .sign();
    let build = |cached: bool,
                 store: Option<
        Box<dyn FnOnce(jwks_auth::VerifierBuilder) -> jwks_auth::VerifierBuilder>,
    >| {
        let mut builder = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).unwrap())
            .issuer(common::ISSUER)
            .audience(common::AUDIENCE);
        if cached {
            builder = builder.cache_verified(10_000);
        }
        if let Some(add) = store {
            builder = add(builder);
        }
        builder.build().expect("verifier")
    };
    // The Redis store syncs on its own runtime thread, as in a service.
    #[cfg(feature = "redis")]
    let redis_rt = Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    #[cfg(feature = "redis")]
    let redis = BenchRedis::start();
    #[cfg(feature = "redis")]
    let redis_store = redis.as_ref().map(|server| {
        redis_rt
            .block_on(
                jwks_auth::revocation::RedisRevocationStore::builder(format!(
                    "redis://127.0.0.1:{}/",
                    server.1
                ))
                .connect(),
            )
            .expect("redis store")
    });
    #[cfg(feature = "redis")]
    if redis_store.is_none() {
        eprintln!("revocation/*/redis skipped: redis-server could not be started");
    }
    #[cfg(not(feature = "redis"))]
    eprintln!("revocation/*/redis skipped: build with `--features redis`");

    let mut group = configure(c, "revocation");
    for (path, cached) in [("full", false), ("cached", true)] {
        let mut cases: Vec<(&str, Verifier)> = vec![
            ("off", build(cached, None)),
            (
                "memory",
                build(
                    cached,
                    Some(Box::new(|b| {
                        b.revocation(InMemoryRevocationStore::default())
                    })),
                ),
            ),
        ];
        #[cfg(feature = "redis")]
        if let Some(store) = &redis_store {
            let store = store.clone();
            cases.push((
                "redis",
                build(cached, Some(Box::new(move |b| b.revocation(store)))),
            ));
        }
        for (name, verifier) in cases {
            rt.block_on(verifier.verify(&token))
                .expect("token verifies");
            group.bench_function(format!("{path}/{name}"), |b| {
                b.to_async(&rt)
                    .iter(|| async { verifier.verify(black_box(&token)).await.unwrap() })
            });
        }
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    revocation(&mut c);
    dpop(&mut c);
    floor(&mut c);
    verify_hot(&mut c);
    verify_cached(&mut c);
    cold_start(&mut c);
    throughput(&mut c);
    c.final_summary();
}
