#!/usr/bin/env bash
# Builds the `jwks_auth` wheel and runs the Python tests (python/tests/, pytest) in a venv.
#
#   python/ci.sh              # debug wheel (what CI runs)
#   python/ci.sh --release    # release wheel, e.g. before bench/python_verify.py
#
# The venv is ${CARGO_TARGET_DIR:-target}/python-venv (pins: python/requirements-dev.txt);
# wheels go to ${CARGO_TARGET_DIR:-target}/wheels. Extra arguments after `--` go to pytest.
# Needs python3 (>= 3.9) with venv; the Better Auth interop test also needs node + npm.
# From a clean target dir: about 7 min on 2 vCPUs under load (venv and pins ~35 s, the
# debug build of the dependencies most of the rest, pytest ~6 s); about 40 s when warm.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
VENV="$TARGET/python-venv"
WHEELS="$TARGET/wheels"

profile=()
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=(--release); shift ;;
    --) shift; pytest_args=("$@"); break ;;
    *) echo "ci.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$TARGET"
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements-dev.txt"

rm -rf "$WHEELS"
# maturin sets PYO3_BUILD_EXTENSION_MODULE (no libpython link) and builds an abi3 wheel.
"$VENV/bin/maturin" build --quiet "${profile[@]}" --manifest-path "$HERE/Cargo.toml" \
  --interpreter "$VENV/bin/python" --out "$WHEELS"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall \
  --no-deps "$WHEELS"/jwks_auth-*.whl

# From a folder outside the source tree, so `import jwks_auth` is the installed wheel.
cd "$TARGET"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$HERE/tests" "${pytest_args[@]}"
