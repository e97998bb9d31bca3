# Sourced by run.sh, paired.sh and instructions.sh (with HERE and PORT set): installs wrk
# when missing, builds the server with --release, and sets BIN, OUT (a scratch directory),
# URL and the cleanup of both on exit (SERVER: the pid of a running server, or ""); defines
# wait_for_server and expect_ok.
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

# Waits until a server started with token file $1 wrote it and answers at URL $2: at most
# $3 tries 0.1 s apart (default 100).
wait_for_server() {
    for _ in $(seq 1 "${3:-100}"); do
        if [ -s "$1" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$2" || true)" != 000 ]; then
            return 0
        fi
        sleep 0.1
    done
}

# Exits unless GET $1 with header $2 answers 200; prints the server's log $3 first.
expect_ok() {
    local got
    got="$(curl -s -o /dev/null -w '%{http_code}' -H "$2" "$1")"
    if [ "$got" != 200 ]; then
        echo "$1 answered $got, not 200" >&2
        cat "$3" >&2
        exit 1
    fi
}
