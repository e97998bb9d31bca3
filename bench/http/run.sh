#!/usr/bin/env bash
# What auth costs per HTTP request: the same axum service (`GET /me`, a small JSON body)
# with no auth, jwks-auth's AuthLayer, jwks-auth with the verified-token cache, and
# jwt-authorizer, each loaded with wrk on loopback. Prints a markdown table.
#
#   bench/http/run.sh                          # all four variants, 10 s each
#   VARIANTS="none jwks-auth" DURATION=5s bench/http/run.sh
#   VARIANTS="none extension jwks-auth-cached" ...  # `extension`: a constant user, no auth
#
# Settings (environment): VARIANTS, DURATION (10s), WARMUP (3s), THREADS (2; 1 with PIN=1),
# CONNECTIONS (64), PORT (18080), ROUNDS (1), BENCH_TARGET_DIR (bench/http/target), PIN (off).
# PIN=1 runs the server on CPU 0 alone (so its runtime starts one worker) and wrk on CPU 1:
# the throughput of one server core, without the two processes trading cores and cache
# lines.
# With ROUNDS > 1 the variants run in turn that many times and the table shows each
# variant's best round (the one least disturbed by other load on a shared machine); every
# round's requests/s follow the table, to show the spread, and then each variant's median
# ratio to no auth within a round.
# For a ratio between variants, paired.sh (short alternating bursts, servers kept up) is
# steadier than rounds of this script.
# Installs wrk with apt-get when it is missing (as root). Builds with --release.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VARIANTS="${VARIANTS:-none jwks-auth jwks-auth-cached jwt-authorizer}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-3s}"
THREADS="${THREADS:-$(if [ "${PIN:-}" = 1 ]; then echo 1; else echo 2; fi)}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT="${PORT:-18080}"
ROUNDS="${ROUNDS:-1}"
SERVER_CPU=() CLIENT_CPU=()
if [ "${PIN:-}" = 1 ]; then SERVER_CPU=(taskset -c 0) CLIENT_CPU=(taskset -c 1); fi
source "$HERE/setup.sh"

status_of() { curl -s -o /dev/null -w '%{http_code}' "$@" "$URL"; }

REVERSED="$(echo $VARIANTS | tr ' ' '\n' | tac | tr '\n' ' ')"
for round in $(seq 1 "$ROUNDS"); do
# Every other round in reverse order, so that a drift in machine speed favours no variant.
order="$VARIANTS"
if [ $((round % 2)) = 0 ]; then order="$REVERSED"; fi
for variant in $order; do
    rm -f "$OUT/token"
    "${SERVER_CPU[@]}" "$BIN" "$variant" "$PORT" "$OUT/token" 2>"$OUT/$variant.log" &
    SERVER=$!
    wait_for_server "$OUT/token" "$URL"
    TOKEN="$(cat "$OUT/token")"
    AUTH="authorization: Bearer $TOKEN"
    # Every variant must answer the token with 200; the authenticated ones refuse a request
    # without it.
    expect_ok "$URL" "$AUTH" "$OUT/$variant.log"
    if [ "$variant" != none ] && [ "$variant" != extension ] && [ "$(status_of)" != 401 ]; then
        echo "$variant: GET /me without a token was not refused with 401" >&2
        exit 1
    fi
    "${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "$AUTH" "$URL" >/dev/null
    "${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$AUTH" "$URL" >"$OUT/$variant.$round.wrk"
    kill "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
done
done

echo "| variant | requests/s | vs. no auth | p50 | p99 |"
echo "|---|---:|---:|---:|---:|"
BASE=""
for variant in $VARIANTS; do
    best=0 file=""
    for round in $(seq 1 "$ROUNDS"); do
        rps="$(awk '/^Requests\/sec:/ {print $2}' "$OUT/$variant.$round.wrk")"
        if awk -v a="$rps" -v b="$best" 'BEGIN {exit !(a > b)}'; then
            best="$rps" file="$OUT/$variant.$round.wrk"
        fi
    done
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$file")"
    p50="$(awk '$1 == "50%" {print $2}' "$file")"
    p99="$(awk '$1 == "99%" {print $2}' "$file")"
    errors="$(cat "$OUT/$variant".*.wrk | awk '/Non-2xx or 3xx responses:/ {print "non-2xx"} /Socket errors:/ {print "socket errors"}')"
    if [ "$variant" = none ]; then BASE="$rps"; fi
    ratio="$(if [ -n "$BASE" ]; then awk -v a="$rps" -v b="$BASE" 'BEGIN {printf "%.2f×", a / b}'; else echo "n/a"; fi)"
    if [ -n "$errors" ]; then
        echo "$variant: wrk reported errors ($errors):" >&2
        cat "$OUT/$variant".*.wrk >&2
        exit 1
    fi
    printf '| %s | %.0f | %s | %s | %s |\n' "$variant" "$rps" "$ratio" "$p50" "$p99"
done
if [ "$ROUNDS" -gt 1 ]; then
    echo
    for variant in $VARIANTS; do
        rounds="$(for round in $(seq 1 "$ROUNDS"); do
            awk '/^Requests\/sec:/ {printf "%.0f ", $2}' "$OUT/$variant.$round.wrk"
        done)"
        echo "- $variant, requests/s by round: ${rounds% }"
    done
    # Each round runs the variants back to back, so a ratio within a round shares that
    # round's machine speed: its median is steadier than the ratio of two best rounds.
    if [[ " $VARIANTS " == *" none "* ]]; then
        echo
        for variant in $VARIANTS; do
            [ "$variant" = none ] && continue
            ratios="$(for round in $(seq 1 "$ROUNDS"); do
                a="$(awk '/^Requests\/sec:/ {print $2}' "$OUT/$variant.$round.wrk")"
                b="$(awk '/^Requests\/sec:/ {print $2}' "$OUT/none.$round.wrk")"
                awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f\n", a / b}'
            done | sort -n)"
            median="$(echo "$ratios" | awk '{r[NR] = $1} END {if (NR % 2) print r[(NR + 1) / 2]; else printf "%.2f", (r[NR / 2] + r[NR / 2 + 1]) / 2}')"
            echo "- $variant vs. no auth in the same round: median ${median}× (rounds: $(echo $ratios))"
        done
    fi
fi
