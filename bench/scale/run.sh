#!/usr/bin/env bash
# Scale curves: for each curve and size, one native run (wall time per op, memory per entry)
# and one run under callgrind (instructions per op, the fill uninstrumented), appended to
# bench/scale/results/<curve>.csv as `curve,size,case,metric,value,load1` (load1: the 1-minute
# load average when the row was written). results/run.txt records the date, commit, machine
# and load. Then `python plot.py` (in a venv with requirements.txt) draws plots/<curve>.svg.
#
#   bench/scale/run.sh                      # every curve, every size (about 15 minutes)
#   bench/scale/run.sh keys verified        # some curves
#   SIZES="1000 10000" bench/scale/run.sh verified
#   NO_CALLGRIND=1 bench/scale/run.sh       # wall time and memory only
#   CACHE_SIM=1 bench/scale/run.sh verified # callgrind only, with its simulated cache misses
#                                           # per op (D1mr, DLmr, ...) into results/<curve>-cachesim.csv
#
# Needs valgrind. Builds with --release into $CARGO_TARGET_DIR (default bench/scale/target).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/target}"
(cd "$HERE" && cargo build --release --quiet)
BIN="$CARGO_TARGET_DIR/release/jwks-auth-scale-bench"
RESULTS="$HERE/results"
SUFFIX="${CACHE_SIM:+-cachesim}"
RUN_TXT="$RESULTS/run$SUFFIX.txt"
mkdir -p "$RESULTS"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

sizes_of() {
    case "$1" in
        keys) echo 1 3 10 30 100 ;;
        issuers) echo 1 10 100 1000 10000 ;;
        verified) echo 1000 10000 100000 1000000 ;;
        revocation | dpop) echo 0 1000 10000 100000 1000000 ;;
        *) echo "unknown curve $1" >&2; exit 2 ;;
    esac
}

if [ "$#" = 0 ]; then set -- keys issuers verified revocation dpop; fi
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git -C "$HERE" rev-parse --short HEAD)$(git -C "$HERE" diff --quiet HEAD -- "$HERE/../../src" || echo ' (src modified)')"
    echo "curves: $*"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "tools: $(rustc --version), $(valgrind --version)"
    echo "load at start: $(uptime)"
} >"$RUN_TXT"
started=$SECONDS
for curve in "$@"; do
    csv="$RESULTS/$curve$SUFFIX.csv"
    echo "curve,size,case,metric,value,load1" >"$csv"
    for n in ${SIZES:-$(sizes_of "$curve")}; do
        echo "== $curve $n (load $(cut -d' ' -f1 /proc/loadavg))" >&2
        if [ -n "${CACHE_SIM:-}" ]; then
            : # callgrind only
        elif [ "$curve" = issuers ]; then
            # One process per factory kind (memory freed by one is not counted off the other);
            # callgrind runs the shared-client kind, with the first uses of both.
            "$BIN" issuers "$n" own-client >>"$csv"
            "$BIN" issuers "$n" shared-client >>"$csv"
        else
            "$BIN" "$curve" "$n" >>"$csv"
        fi
        if [ -z "${NO_CALLGRIND:-}" ]; then
            rm -f "$OUT"/cg.out*
            SCALE_CG_OUT="$OUT/cg.out" valgrind --tool=callgrind --instr-atstart=no \
                ${CACHE_SIM:+--cache-sim=yes} --callgrind-out-file="$OUT/cg.out" \
                "$BIN" "$curve" "$n" 2>"$OUT/valgrind.log" |
                grep -E ',(instructions[a-z_]*|D[rw]|[ID][1L]m[rw]),' >>"$csv" ||
                { cat "$OUT/valgrind.log" >&2; exit 1; }
        fi
    done
    echo "$curve: valgrind --tool=callgrind --instr-atstart=no, and natively: $BIN $curve <n>" >>"$RUN_TXT"
done
{
    echo "load at end: $(uptime)"
    echo "duration: $((SECONDS - started)) s"
} >>"$RUN_TXT"
cat "$RUN_TXT" >&2
