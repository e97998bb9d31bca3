# Sourced by run.sh and instructions.sh (with HERE and PORT set): installs wrk when missing,
# builds the server with --release, and sets BIN, OUT (a scratch directory), URL and the
# cleanup of both on exit (SERVER: the pid of a running server, or "").
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$HERE/target}"
if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
(cd "$HERE" && cargo build --release --quiet)
BIN="$CARGO_TARGET_DIR/release/jwks-auth-http-bench"
OUT="$(mktemp -d)"
URL="http://127.0.0.1:$PORT/me"
SERVER=""
cleanup() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi
    rm -rf "$OUT"
}
trap cleanup EXIT
