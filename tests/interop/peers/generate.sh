#!/usr/bin/env bash
# Regenerates fixtures/interop/tokens.json: JWTs signed by other libraries
# (node `jose`, PyJWT) with the test keys in fixtures/keys, for interop tests.
# Needs node + npm and python3 (with venv). Library versions are pinned in
# package.json/package-lock.json and requirements.txt beside this script.
# The Python venv lives in ${CARGO_TARGET_DIR:-<repo>/target}/interop-venv.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
VENV="$TARGET/interop-venv"
KEYS="$ROOT/fixtures/keys"
OUT="$ROOT/fixtures/interop"

if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$TARGET"
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
(cd "$HERE" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
node "$HERE/gen_jose.mjs" "$KEYS" > "$tmp/jose.json"
"$VENV/bin/python" "$HERE/gen_pyjwt.py" "$KEYS" > "$tmp/pyjwt.json"

mkdir -p "$OUT"
# Stable order: jose then pyjwt, each in the generators' fixed algorithm order.
# Algorithms a library could not do go to skipped.json with the reason.
"$VENV/bin/python" - "$tmp/jose.json" "$tmp/pyjwt.json" "$OUT" <<'PY'
import json, pathlib, sys
*inputs, out = sys.argv[1:]
entries = [e for p in inputs for e in json.loads(pathlib.Path(p).read_text())]
tokens = [{k: e[k] for k in ("lib", "alg", "kid", "token")} for e in entries if "token" in e]
skipped = [{k: e[k] for k in ("lib", "alg", "kid", "skipped")} for e in entries if "token" not in e]
out = pathlib.Path(out)
(out / "tokens.json").write_text(json.dumps(tokens, indent=2) + "\n")
(out / "skipped.json").write_text(json.dumps(skipped, indent=2) + "\n")
print(f"wrote {len(tokens)} tokens to {out / 'tokens.json'}; {len(skipped)} skipped", file=sys.stderr)
for s in skipped:
    print(f"  skipped {s['lib']} {s['alg']}: {s['skipped']}", file=sys.stderr)
PY
# Cross-check: every token must verify in both libraries against the public keys.
"$VENV/bin/python" "$HERE/check_tokens.py" "$OUT/tokens.json" "$KEYS"
node "$HERE/check_tokens.mjs" "$OUT/tokens.json" "$KEYS"
