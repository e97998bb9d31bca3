#!/usr/bin/env bash
# User-space instructions per HTTP request of the real benchmark server (tokio, hyper, axum
# and auth, not the kernel), counted by callgrind: the server runs under valgrind, wrk loads
# it, the counters are zeroed after a warm-up and dumped after the measured run.
#
#   bench/http/instructions.sh none jwks-auth-cached
#
# Under valgrind aws-lc takes its SHA-256 code without SHA-NI, so a digest counts more
# instructions here than it costs on the hardware. Needs valgrind; installs wrk and builds
# like run.sh.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PORT="${PORT:-18082}"
source "$HERE/setup.sh"
if [ "$#" = 0 ]; then set -- none jwks-auth-cached; fi
for variant in "$@"; do
    rm -f "$OUT/token" "$OUT"/cg.*
    valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$variant" \
        "$BIN" "$variant" "$PORT" "$OUT/token" 2>"$OUT/$variant.log" &
    SERVER=$!
    wait_for_server "$OUT/token" "$URL" 1200 # valgrind starts slowly
    AUTH="authorization: Bearer $(cat "$OUT/token")"
    wrk -t1 -c16 -d3s -H "$AUTH" "$URL" >/dev/null
    callgrind_control -z "$SERVER" >/dev/null 2>&1
    requests="$(wrk -t1 -c16 -d10s -H "$AUTH" "$URL" | awk '/requests in/ {print $1}')"
    callgrind_control -d "$SERVER" >/dev/null 2>&1
    sleep 1
    kill "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
    total="$(callgrind_annotate "$OUT/cg.$variant.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
    sha="$(callgrind_annotate --inclusive=yes "$OUT/cg.$variant.1" 2>/dev/null | awk '/:aws_lc_[0-9_]*SHA256 \[/ {gsub(",", "", $1); print $1; exit}')"
    awk -v v="$variant" -v t="$total" -v r="$requests" -v s="${sha:-0}" \
        'BEGIN {printf "%s: %d requests, %.1fk instructions per request (SHA-256 %.1fk)\n", v, r, t / r / 1000, s / r / 1000}'
done
