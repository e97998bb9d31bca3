#!/usr/bin/env bash
# Compares jwks-auth's verify cost with two peers (PyJWT, node jose) on the
# same tokens and keys, on this machine.
#
#   bench/compare.sh                                   # real run
#   OURS_CMD="python bench/fake_ours.py" bench/compare.sh  # test with a stand-in
#
# 1. Installs the peers: a venv at ${CARGO_TARGET_DIR:-target}/bench-venv with
#    bench/requirements.txt, and `npm ci` in bench/ (versions pinned there).
# 2. Runs OUR side, ONE command, with <outdir> appended as its last argument:
#      ${OURS_CMD:-cargo run --release --quiet --example bench_compare --} <outdir>
#    It must write <outdir>/tokens.json:
#      [{"alg": "EdDSA", "token": "eyJ...", "jwk": {public JWK with "kid"},
#        "secret": "<HMAC key, UTF-8> (HS* only)"}, ...]
#    (claims iss "https://bench.example", aud "jwks-auth-bench", exp in the
#    future; a "kid" header on asymmetric tokens) and print on stdout one JSON
#    object, on its last line starting with "{":
#      {"floor": {"EdDSA": us, ...}, "jwks_auth": {"EdDSA": us, ...}}
#    (microseconds per verify). The bench venv's bin/ is first on PATH for it.
#    An optional "jwks_auth_cached" object (verified-token cache hits) adds two
#    columns to the table; it does not enter the ratios line.
# 3. Runs bench/pyjwt_bench.py and bench/jose_bench.mjs on that tokens.json
#    (BENCH_SECONDS, default 1.5, of timed work per algorithm and library).
# 4. Prints a table and, as its LAST line,
#      ratios floor_overhead(EdDSA,ES256,RS256)=a,b,c pyjwt_speedup=d,e,f jose_speedup=g,h,i
#    overhead = jwks_auth/floor, speedup = peer/jwks_auth; exits 1 if any of
#    those nine could not be computed (printed as nan).
# Outputs are kept in ${BENCH_OUT:-${CARGO_TARGET_DIR:-target}/bench-compare}.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
VENV="$TARGET/bench-venv"
OUT="${BENCH_OUT:-$TARGET/bench-compare}"
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
mkdir -p "$OUT"

echo "== installing peers" >&2
if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$TARGET"
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
(cd "$HERE" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2

read -r -a OURS <<< "${OURS_CMD:-cargo run --release --quiet --example bench_compare --}"
echo "== ours: ${OURS[*]} $OUT" >&2
rm -f "$OUT/tokens.json"
PATH="$VENV/bin:$PATH" "${OURS[@]}" "$OUT" > "$OUT/ours.out"
[ -s "$OUT/tokens.json" ] || { echo "compare.sh: ours did not write $OUT/tokens.json" >&2; exit 1; }

echo "== PyJWT" >&2
"$VENV/bin/python" "$HERE/pyjwt_bench.py" "$OUT/tokens.json" > "$OUT/pyjwt.json"
echo "== jose" >&2
node "$HERE/jose_bench.mjs" "$OUT/tokens.json" > "$OUT/jose.json"

"$VENV/bin/python" - "$OUT" <<'PY'
import json, math, pathlib, sys

out = pathlib.Path(sys.argv[1])
lines = [l for l in (out / "ours.out").read_text().splitlines() if l.lstrip().startswith("{")]
if not lines:
    sys.exit("compare.sh: ours printed no JSON object on stdout")
ours = json.loads(lines[-1])
floor, mine = ours.get("floor", {}), ours.get("jwks_auth", {})
hit = ours.get("jwks_auth_cached", {})  # optional: verified-token cache hits
pyjwt = json.loads((out / "pyjwt.json").read_text())
jose = json.loads((out / "jose.json").read_text())

def num(d, alg):
    v = d.get(alg)
    return float(v) if isinstance(v, (int, float)) and v > 0 else math.nan

def ratio(a, b):
    return a / b if not (math.isnan(a) or math.isnan(b)) else math.nan

def cell(x, fmt):
    return "n/a" if math.isnan(x) else format(x, fmt)

if ours.get("note"):
    print(f"NOTE: {ours['note']}")
ROWS = ["EdDSA", "ES256", "ES384", "RS256", "PS256", "HS256"]
head = ["alg", "floor", "jwks-auth", "PyJWT", "jose", "ours/floor", "PyJWT/ours", "jose/ours"]
if hit:
    head += ["cache-hit", "PyJWT/hit"]
rows = []
for alg in ROWS:
    f, m, p, j = (num(d, alg) for d in (floor, mine, pyjwt, jose))
    rows.append([alg, cell(f, ".2f"), cell(m, ".2f"), cell(p, ".2f"), cell(j, ".2f"),
                 cell(ratio(m, f), ".2f") + "x", cell(ratio(p, m), ".2f") + "x",
                 cell(ratio(j, m), ".2f") + "x"])
    if hit:
        h = num(hit, alg)
        rows[-1] += [cell(h, ".2f"), cell(ratio(p, h), ".1f") + "x"]
widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
fmt_row = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
print("microseconds per verify (lower is better); ours/floor = overhead, PEER/ours = speedup")
print(fmt_row(head))
print(fmt_row(["-" * w for w in widths]))
for r in rows:
    print(fmt_row(r))

KEY = ["EdDSA", "ES256", "RS256"]
over = [ratio(num(mine, a), num(floor, a)) for a in KEY]
sp_p = [ratio(num(pyjwt, a), num(mine, a)) for a in KEY]
sp_j = [ratio(num(jose, a), num(mine, a)) for a in KEY]
j3 = lambda xs: ",".join(f"{x:.2f}" for x in xs)
print(f"ratios floor_overhead(EdDSA,ES256,RS256)={j3(over)} pyjwt_speedup={j3(sp_p)} jose_speedup={j3(sp_j)}")
sys.exit(1 if any(math.isnan(x) for x in over + sp_p + sp_j) else 0)
PY
