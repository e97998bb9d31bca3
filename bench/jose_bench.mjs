// node `jose` peer benchmark: microseconds per verify.
//
// Usage: node jose_bench.mjs <tokens.json>
//
// Same input as pyjwt_bench.py: a JSON array of
//   {"alg": "ES256", "token": "eyJ...", "jwk": {public JWK}, "secret": "..."}
// ("secret" only for HS*; its UTF-8 bytes are the HMAC key).
// Prints ONE JSON object on stdout: {"ES256": us_per_verify, ...} (null, with
// the reason on stderr, for an entry that does not verify).
//
// One verify (asymmetric algs) is what a jose user with a JWKS pays per request:
//   await jwtVerify(token, JWKS, { issuer, audience, algorithms: [alg], requiredClaims: ['exp'] })
// with JWKS = createLocalJWKSet({ keys: [jwk] }) built once -- the local
// equivalent of a warm createRemoteJWKSet (which delegates to a LocalJWKSet
// after its fetch); the key is imported on first use and cached inside it.
// HS*: jwtVerify(token, new TextEncoder().encode(secret), same options), the
// secret encoded once.
//
// Timing: warm up, calibrate a batch size so that 5 batches take about
// BENCH_SECONDS (env, default 1.5) in all, run 5 batches, report the median
// batch's microseconds per verify.
import { readFileSync } from 'node:fs';
import { jwtVerify, createLocalJWKSet } from 'jose';

const ISS = 'https://bench.example';
const AUD = 'jwks-auth-bench';
const BATCHES = 5;

function makeVerify({ alg, token, jwk, secret }) {
  const options = { issuer: ISS, audience: AUD, algorithms: [alg], requiredClaims: ['exp'] };
  const key = alg.startsWith('HS')
    ? new TextEncoder().encode(secret)
    : createLocalJWKSet({ keys: [jwk] });
  return () => jwtVerify(token, key, options);
}

async function run(fn, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0);
}

async function bench(fn, seconds) {
  // Warm up (~5% of the budget), then size a batch so that BATCHES batches
  // take about `seconds` in all.
  const warmNs = seconds * 0.05 * 1e9;
  let n = 1;
  let spent = 0;
  for (;;) {
    spent = await run(fn, n);
    if (spent >= warmNs) break;
    n *= 2;
  }
  const batch = Math.max(1, Math.floor((seconds * 1e9) / BATCHES / (spent / n)));
  const samples = [];
  for (let b = 0; b < BATCHES; b++) samples.push((await run(fn, batch)) / batch / 1e3);
  samples.sort((x, y) => x - y);
  return samples[Math.floor(BATCHES / 2)];
}

const path = process.argv[2];
if (!path) {
  console.error('usage: node jose_bench.mjs <tokens.json>');
  process.exit(2);
}
const seconds = Number(process.env.BENCH_SECONDS ?? '1.5');
const entries = JSON.parse(readFileSync(path, 'utf8'));
const out = {};
for (const entry of entries) {
  const { alg } = entry;
  try {
    const verify = makeVerify(entry);
    const { payload } = await verify(); // must succeed: never time an error path
    if (payload.iss !== ISS || payload.aud !== AUD) throw new Error(`unexpected claims ${JSON.stringify(payload)}`);
    const us = await bench(verify, seconds);
    console.error(`jose ${alg}: ${us.toFixed(2)} us/verify`);
    out[alg] = Math.round(us * 1000) / 1000;
  } catch (e) {
    console.error(`jose ${alg}: FAILED ${e.name}: ${e.message}`);
    out[alg] = null;
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
