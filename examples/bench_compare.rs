//! Our side of `bench/compare.sh`: writes `<outdir>/tokens.json` (the tokens and public keys
//! the peer benchmarks verify) and prints one JSON line with microseconds per verify:
//! `{"floor": {alg: us}, "jwks_auth": {alg: us}, "jwks_auth_cached": {alg: us}}`.
//!
//! * floor: aws-lc-rs alone, key pre-parsed, signature pre-decoded;
//! * jwks_auth: `Verifier::verify` with the keys in memory;
//! * jwks_auth_cached: the same with `cache_verified(10_000)` (the repeated token is a hit).
//!
//! Timing as the peer scripts: warm up, size a batch so that 5 batches take about
//! `BENCH_SECONDS` (default 1.5) per algorithm and variant, report the median batch.
//!
//! Run: `cargo run --release --example bench_compare -- <outdir>`
//!
//! `--alloc-probe <alg> <n> [hot|cached|floor]` instead verifies one token `n` times after a
//! warm-up (`floor`: the bare signature check) and prints nothing; run it under `valgrind` with two values of `n` and divide the difference
//! in "total heap usage" allocs by the difference in `n` (see BENCHMARKS.md).
//!
//! `--dpop-probe <alg> <n> [bearer|dpop]` verifies one DPoP-bound token `n` times, with
//! `verify_dpop` and a fresh proof each time (`dpop`), or an unbound token of the same
//! length with `verify` (`bearer`). The `PROBE_PROOFS` proofs (default `n`) are signed
//! before the measured loop, so runs with one `PROBE_PROOFS` and two `n` differ only by the
//! verifies (`bench/instructions.sh --dpop`).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[path = "../benches/common/mod.rs"]
mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwks_auth::testing::TestKeys;
use jwks_auth::{Algorithm, Verifier};
use serde_json::{json, Map, Value};
use tokio::runtime::{Builder, Runtime};

use common::{floor_key, token, verifier, ALGORITHMS};

const BATCHES: usize = 5;

/// Median microseconds per call of each `runs[i](n)` (which performs `n` calls). Each run is
/// warmed up (about 5% of `seconds`) and given a batch size so that `BATCHES` batches take
/// about `seconds`; the batches of the different runs are interleaved, so that a load change
/// on this shared machine hits them alike.
fn measure(seconds: f64, runs: &mut [&mut dyn FnMut(u64)]) -> Vec<f64> {
    let warm = Duration::from_secs_f64(seconds * 0.05);
    let batches: Vec<u64> = runs
        .iter_mut()
        .map(|run| {
            let mut n = 1u64;
            let spent = loop {
                let started = Instant::now();
                run(n);
                let spent = started.elapsed();
                if spent >= warm {
                    break spent;
                }
                n *= 2;
            };
            let per_call = spent.as_secs_f64() / n as f64;
            ((seconds / BATCHES as f64) / per_call).max(1.0) as u64
        })
        .collect();
    let mut samples = vec![Vec::with_capacity(BATCHES); runs.len()];
    for _ in 0..BATCHES {
        for (i, run) in runs.iter_mut().enumerate() {
            let started = Instant::now();
            run(batches[i]);
            samples[i].push(started.elapsed().as_secs_f64() * 1e6 / batches[i] as f64);
        }
    }
    samples
        .into_iter()
        .map(|mut batch| {
            batch.sort_by(f64::total_cmp);
            batch[BATCHES / 2]
        })
        .collect()
}

fn verify_loop(rt: &Runtime, verifier: &Verifier, token: &str, n: u64) {
    rt.block_on(async {
        for _ in 0..n {
            black_box(verifier.verify(black_box(token)).await.expect("verifies"));
        }
    });
}

fn round(us: f64) -> Value {
    json!((us * 1000.0).round() / 1000.0)
}

fn compare(outdir: PathBuf) {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.5);
    std::fs::create_dir_all(&outdir).expect("create outdir");
    let keys = TestKeys::new();
    let rt = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut tokens = Vec::new();
    let (mut floor, mut ours, mut cached) = (Map::new(), Map::new(), Map::new());
    for alg in ALGORITHMS {
        let token = token(&keys, alg);
        let mut entry = json!({"alg": alg.as_str(), "token": token});
        if alg.is_symmetric() {
            entry["secret"] = keys.secret().into();
        } else {
            entry["jwk"] = keys.key(alg).public_jwk().expect("public key");
        }
        tokens.push(entry);

        let (message, signature) = token.rsplit_once('.').expect("compact JWS");
        let signature = URL_SAFE_NO_PAD.decode(signature).expect("signature");
        let key = floor_key(&keys, alg);
        assert!(key.verify(message.as_bytes(), &signature), "{alg} floor");
        eprintln!("== {alg}");
        let plain = verifier(&keys, alg, false);
        let with_cache = verifier(&keys, alg, true);
        let measured = measure(
            seconds,
            &mut [
                &mut |n| {
                    for _ in 0..n {
                        black_box(key.verify(black_box(message.as_bytes()), black_box(&signature)));
                    }
                },
                &mut |n| verify_loop(&rt, &plain, &token, n),
                &mut |n| verify_loop(&rt, &with_cache, &token, n),
            ],
        );
        let [floor_us, ours_us, cached_us] = measured[..] else {
            unreachable!("three runs measured")
        };
        eprintln!(
            "   floor {floor_us:.2} us, jwks-auth {ours_us:.2} us, cache hit {cached_us:.3} us"
        );
        floor.insert(alg.as_str().into(), round(floor_us));
        ours.insert(alg.as_str().into(), round(ours_us));
        cached.insert(alg.as_str().into(), round(cached_us));
    }
    let tokens_json = serde_json::to_string_pretty(&tokens).expect("json");
    std::fs::write(outdir.join("tokens.json"), tokens_json + "\n").expect("write tokens.json");
    println!(
        "{}",
        json!({"floor": floor, "jwks_auth": ours, "jwks_auth_cached": cached})
    );
}

fn alloc_probe(args: &[String]) {
    let usage = "--alloc-probe <alg> <n> [hot|cached|floor]";
    let alg: Algorithm = args.first().expect(usage).parse().expect("algorithm");
    let n: u64 = args.get(1).expect(usage).parse().expect("count");
    let mode = args.get(2).map_or("hot", String::as_str);
    let keys = TestKeys::new();
    // The same token for every run of one measurement (`PROBE_TOKEN`): ECDSA signatures are
    // randomized, and their verification cost differs slightly from one signature to another.
    let token = std::env::var("PROBE_TOKEN").unwrap_or_else(|_| token(&keys, alg));
    if mode == "floor" {
        let (message, signature) = token.rsplit_once('.').expect("compact JWS");
        let signature = URL_SAFE_NO_PAD.decode(signature).expect("signature");
        let key = floor_key(&keys, alg);
        for _ in 0..=n {
            assert!(key.verify(black_box(message.as_bytes()), &signature));
        }
        return;
    }
    let cache_verified = mode == "cached";
    let verifier = verifier(&keys, alg, cache_verified);
    let rt = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    verify_loop(&rt, &verifier, &token, 1);
    verify_loop(&rt, &verifier, &token, n);
}

fn dpop_probe(args: &[String]) {
    use jwks_auth::dpop::{DpopMode, DpopRequest};
    use jwks_auth::testing::{DpopProof, TestKey};
    use jwks_auth::{KeyFamily, Provider};

    const URL: &str = "https://api.example.com/notes";
    let usage = "--dpop-probe <alg> <n> [bearer|dpop]";
    let alg: Algorithm = args.first().expect(usage).parse().expect("algorithm");
    let n: usize = args.get(1).expect(usage).parse().expect("count");
    let mode = args.get(2).map_or("dpop", String::as_str);
    let proofs: usize = std::env::var("PROBE_PROOFS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(n)
        .max(n + 1);
    let keys = TestKeys::new();
    let family = if alg == Algorithm::EdDSA {
        KeyFamily::Ed25519
    } else {
        KeyFamily::P256
    };
    let client = TestKey::fixture(family, 1).expect("fixture key");
    let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json()).expect("jwks"))
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .dpop(DpopMode::Allowed)
        .build()
        .expect("verifier");
    let base = || {
        keys.token(alg)
            .issuer(common::ISSUER)
            .audience(common::AUDIENCE)
            .expires_in(24 * 3600)
    };
    let rt = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if mode == "bearer" {
        // Same length as the bound token; `verify` refuses any token with a `cnf`.
        let bearer = base().claim("xnf", json!({ "jkt": client.jkt() })).sign();
        verify_loop(&rt, &verifier, &bearer, n as u64 + 1);
        return;
    }
    let bound = base().dpop_bound(&client).sign();
    let signed: Vec<String> = (0..proofs)
        .map(|_| {
            DpopProof::new(&client)
                .method("GET")
                .url(URL)
                .token(&bound)
                .sign()
        })
        .collect();
    let request = DpopRequest::new("GET", URL);
    rt.block_on(async {
        for proof in &signed[..=n] {
            black_box(
                verifier
                    .verify_dpop(black_box(&bound), &[proof], &request)
                    .await
                    .expect("dpop verifies"),
            );
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--alloc-probe") => alloc_probe(&args[1..]),
        Some("--dpop-probe") => dpop_probe(&args[1..]),
        Some("--print-token") => {
            let alg: Algorithm = args
                .get(1)
                .expect("--print-token <alg>")
                .parse()
                .expect("algorithm");
            println!("{}", token(&TestKeys::new(), alg));
        }
        Some(_) => compare(PathBuf::from(args.last().expect("outdir"))),
        None => {
            eprintln!(
                "usage: bench_compare <outdir> | bench_compare --alloc-probe <alg> <n> [hot|cached|floor]"
            );
            std::process::exit(2);
        }
    }
}
