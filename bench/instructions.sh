#!/usr/bin/env bash
# Instructions per verify above the floor, counted by callgrind (repeatable on a shared machine,
# unlike timings). For each algorithm, runs `bench_compare --alloc-probe` with N and 2N verifies
# in mode `floor` (the bare aws-lc-rs check, key pre-parsed) and `hot` (Verifier::verify with
# cached keys), all on one token, and prints (I(2N) - I(N)) / N for both, and their difference.
# Usage: bench/instructions.sh [N] [ALG...]   (default N=1000, algorithms EdDSA ES256 RS256)
#        bench/instructions.sh --dpop [N] [ALG...]   verify_dpop (fresh proof each) vs verify
#        of a token of the same length (default algorithms EdDSA ES256; the proof key is of
#        the token's family: Ed25519 or P-256).
set -euo pipefail
cd "$(dirname "$0")/.."
dpop=false; if [ "${1:-}" = --dpop ]; then dpop=true; shift; fi
n=${1:-1000}; shift || true
algs=("$@")
cargo build --release --quiet --example bench_compare --features testing
bin=${CARGO_TARGET_DIR:-target}/release/examples/bench_compare
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
if $dpop; then
  [ ${#algs[@]} -gt 0 ] || algs=(EdDSA ES256)
  export PROBE_PROOFS=$((2 * n + 1))
  probe() { # mode alg n -> total instructions
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" --dpop-probe "$2" "$3" "$1" >/dev/null 2>"$out/log"
    sed -n 's/^summary: //p' "$out/cg"
  }
  printf '%-6s %12s %12s %12s %8s\n' alg bearer dpop extra ratio
  for alg in "${algs[@]}"; do
    b1=$(probe bearer "$alg" "$n"); b2=$(probe bearer "$alg" $((2 * n)))
    d1=$(probe dpop "$alg" "$n"); d2=$(probe dpop "$alg" $((2 * n)))
    bearer=$(( (b2 - b1) / n )); dpop_cost=$(( (d2 - d1) / n ))
    printf '%-6s %12d %12d %12d %8s\n' "$alg" "$bearer" "$dpop_cost" $((dpop_cost - bearer)) \
      "$(awk -v d="$dpop_cost" -v b="$bearer" 'BEGIN { printf "%.3f", d / b }')"
  done
  exit 0
fi
[ ${#algs[@]} -gt 0 ] || algs=(EdDSA ES256 RS256)
count() { # mode alg n -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" --alloc-probe "$2" "$3" "$1" >/dev/null 2>"$out/log"
  sed -n 's/^summary: //p' "$out/cg"
}
printf '%-6s %12s %12s %12s %8s\n' alg floor verify overhead ratio
for alg in "${algs[@]}"; do
  # One token for all four runs (ECDSA signatures are randomized; so is their verify cost).
  PROBE_TOKEN=$("$bin" --print-token "$alg"); export PROBE_TOKEN
  f1=$(count floor "$alg" "$n"); f2=$(count floor "$alg" $((2 * n)))
  v1=$(count hot "$alg" "$n"); v2=$(count hot "$alg" $((2 * n)))
  floor=$(( (f2 - f1) / n )); verify=$(( (v2 - v1) / n ))
  printf '%-6s %12d %12d %12d %8s\n' "$alg" "$floor" "$verify" $((verify - floor)) \
    "$(awk -v v="$verify" -v f="$floor" 'BEGIN { printf "%.3f", v / f }')"
done
