#!/usr/bin/env bash
# The cost of auth as a ratio to no auth, measured in short paired bursts: every variant's
# server runs at once (each on its own port, idle while another is loaded), and each round
# loads them in turn for DURATION, alternating the order. A round's ratio compares bursts a
# few seconds apart, so a slow spell of the shared machine that lasts longer than a round
# moves both sides; the median over many rounds comes with a 95% confidence interval (order
# statistics: no assumption about the spread).
#
#   bench/http/paired.sh                                     # none vs. jwks-auth-cached
#   VARIANTS="none extension jwks-auth-cached" ROUNDS=60 DURATION=2s bench/http/paired.sh
#   VARIANTS="none jwks-auth-cached jwks-auth-cached@/tmp/old-bench" bench/http/paired.sh
#
# `variant@binary` runs a variant from another build of the server (an A/B of two commits).
# Settings (environment): VARIANTS, ROUNDS (40), DURATION (2s), WARMUP (2s, once per
# server), THREADS (2), CONNECTIONS (64), PORT (18090: the first server's; the others
# count up), BENCH_TARGET_DIR. The first variant is the baseline of the ratios.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VARIANTS="${VARIANTS:-none jwks-auth-cached}"
ROUNDS="${ROUNDS:-40}"
DURATION="${DURATION:-2s}"
WARMUP="${WARMUP:-2s}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT="${PORT:-18090}"
source "$HERE/setup.sh"

SERVERS=() AUTHS=()
stop_servers() {
    for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
    cleanup
}
trap stop_servers EXIT

read -r -a SPECS <<<"$VARIANTS"
for i in "${!SPECS[@]}"; do
    spec="${SPECS[$i]}"
    variant="${spec%%@*}" bin="$BIN"
    if [[ "$spec" == *@* ]]; then bin="${spec#*@}"; fi
    port=$((PORT + i))
    "$bin" "$variant" "$port" "$OUT/token.$i" 2>"$OUT/server.$i.log" &
    SERVERS+=("$!")
    url="http://127.0.0.1:$port/me"
    wait_for_server "$OUT/token.$i" "$url"
    AUTHS+=("authorization: Bearer $(cat "$OUT/token.$i")")
    expect_ok "$url" "${AUTHS[$i]}" "$OUT/server.$i.log"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "${AUTHS[$i]}" "$url" >/dev/null
done

for round in $(seq 1 "$ROUNDS"); do
    # Every other round in reverse order, so that no variant always runs first.
    if [ $((round % 2)) = 0 ]; then
        ORDER=($(printf '%s\n' "${!SPECS[@]}" | tac))
    else
        ORDER=("${!SPECS[@]}")
    fi
    for i in "${ORDER[@]}"; do
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "${AUTHS[$i]}" \
            "http://127.0.0.1:$((PORT + i))/me" >"$OUT/wrk.$i.$round"
        if grep -q 'Non-2xx\|Socket errors' "$OUT/wrk.$i.$round"; then
            echo "${SPECS[$i]}: wrk reported errors:" >&2
            cat "$OUT/wrk.$i.$round" >&2
            exit 1
        fi
        awk '/^Requests\/sec:/ {print $2}' "$OUT/wrk.$i.$round" >>"$OUT/rps.$i"
    done
done

echo "| variant | median requests/s | median ratio to ${SPECS[0]} | 95% interval | rounds ≥ 0.9× |"
echo "|---|---:|---:|---:|---:|"
for i in "${!SPECS[@]}"; do
    median_rps="$(sort -n "$OUT/rps.$i" | awk '{r[NR] = $1} END {print r[int((NR + 1) / 2)]}')"
    if [ "$i" = 0 ]; then
        printf '| %s | %.0f | 1.00× | | |\n' "${SPECS[$i]}" "$median_rps"
        continue
    fi
    # The median's interval: the k-th smallest and k-th largest ratios, k = n/2 - 0.98 sqrt(n).
    paste "$OUT/rps.$i" "$OUT/rps.0" | awk '{printf "%.4f\n", $1 / $2}' | sort -n | awk '
        {r[NR] = $1; if ($1 >= 0.9) above++}
        END {
            k = int(NR / 2 - 0.98 * sqrt(NR)); if (k < 1) k = 1
            median = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
            printf "%.3f× | %.3f–%.3f× | %d of %d\n", median, r[k], r[NR + 1 - k], above, NR
        }' | { read -r stats; printf '| %s | %.0f | %s |\n' "${SPECS[$i]}" "$median_rps" "$stats"; }
done
