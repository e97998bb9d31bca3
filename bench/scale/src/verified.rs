//! Curve 3: verified-token cache entries. An HS256 verifier (shared secret: the fill of 10⁶
//! distinct tokens costs an HMAC each, not a signature) with `cache_verified(n)`, filled with
//! `n` distinct tokens, then:
//! * `hit-same`: one cached token again and again (after its second hit, the thread's own
//!   copy answers: `Near` in `src/verified_cache.rs`);
//! * `hit-spread`: 250 cached tokens spread over the fill, in turn (the shared map answers);
//! * `miss`: a token never seen (full verify, then an insert into the full cache).
//!
//! Memory: live bytes after `build()` (the map is sized for `n` up front) and after the fill.
use std::hint::black_box;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwks_auth::{Provider, Verifier};

use crate::alloc;
use crate::common::{now, runtime, spread, AUDIENCE, ISSUER};
use crate::harness::{Harness, Plan};

const HIT: Plan = Plan::new(2_000, 100_000, 1_000, 2_000);
const MISS: Plan = Plan::new(500, 5_000, 50, 300);
const SECRET: &[u8] = b"scale-bench-secret-0123456789abcdef-0123456789ab";

/// Mints HS256 tokens quickly (no JSON library): about 280 characters, as a small IdP
/// access token.
pub struct Minter {
    key: hmac::Key,
    header: String,
    iat: i64,
    /// A `pad` claim of this many characters (0: none), to see memory per entry grow with the
    /// token (`scale verified <n> <pad>`).
    pad: String,
}

impl Minter {
    pub fn new(pad: usize) -> Self {
        Minter {
            key: hmac::Key::new(hmac::HMAC_SHA256, SECRET),
            header: URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            iat: now(),
            pad: if pad == 0 {
                String::new()
            } else {
                format!(r#","pad":"{}""#, "x".repeat(pad))
            },
        }
    }

    pub fn token(&self, tag: char, i: u64) -> String {
        let payload = format!(
            r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"user-{tag}{i:08}","iat":{},"exp":{},"jti":"{tag}{i:016x}","scope":"read:notes write:notes"{}}}"#,
            self.iat,
            self.iat + 24 * 3600,
            self.pad,
        );
        let input = format!("{}.{}", self.header, URL_SAFE_NO_PAD.encode(payload));
        let tag = hmac::sign(&self.key, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }
}

/// Entries the verifier's cache holds, from its `Debug` (no public accessor).
fn entries(verifier: &Verifier) -> u64 {
    let text = format!("{verifier:?}");
    let at = text
        .find("VerifiedCache { entries: ")
        .expect("a verified cache")
        + 25;
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect("entries")
}

pub fn run(n: u64, pad: usize) {
    let mut h = Harness::new("verified", n);
    let rt = runtime();
    let minter = Minter::new(pad);
    let before = alloc::snapshot();
    let verifier = Verifier::builder(Provider::shared_secret(SECRET).expect("secret"))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .cache_verified(n)
        .build()
        .expect("verifier");
    h.memory("built", &before, n);
    rt.block_on(async {
        for i in 0..n {
            let token = minter.token('f', i);
            verifier.verify(&token).await.expect("fill");
        }
    });
    h.memory("filled", &before, n);
    h.row("filled", "entries", entries(&verifier));
    h.row("filled", "token_bytes", minter.token('f', 0).len());

    let one = minter.token('f', n / 2);
    h.case("hit-same", &HIT, |range| {
        rt.block_on(async {
            for _ in range {
                black_box(verifier.verify(black_box(&one)).await.unwrap());
            }
        })
    });
    let picked: Vec<String> = spread(n, 250)
        .into_iter()
        .map(|i| minter.token('f', i))
        .collect();
    rt.block_on(async {
        // Each once or twice: a spread token the fill saw evicted goes back in, hot.
        for _ in 0..2 {
            for token in &picked {
                verifier.verify(token).await.unwrap();
            }
        }
    });
    h.case("hit-spread", &HIT, |range| {
        rt.block_on(async {
            for i in range {
                let token = &picked[i as usize % picked.len()];
                black_box(verifier.verify(black_box(token)).await.unwrap());
            }
        })
    });
    let fresh: Vec<String> = (0..h.ops(&MISS)).map(|i| minter.token('m', i)).collect();
    h.case("miss", &MISS, |range| {
        rt.block_on(async {
            for i in range {
                black_box(
                    verifier
                        .verify(black_box(&fresh[i as usize]))
                        .await
                        .unwrap(),
                );
            }
        })
    });
    h.row("after", "entries", entries(&verifier));
}
