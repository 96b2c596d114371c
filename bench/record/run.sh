#!/usr/bin/env bash
# Side-by-side benchmark of `rprof record` against `perf record`, on the same workloads in one
# run (see BENCHMARKS.md, section "## record"):
#   1. overhead: the workload's own run time (measured by /usr/bin/time placed between the
#      profiler and the workload) bare, under `rprof record -F 999` and `perf record -F 999 -g`;
#   2. end to end: record + flame graph, rprof vs perf record -g + perf script |
#      inferno-collapse-perf | inferno-flamegraph;
#   3. source lines: `rprof report --sort line` vs `perf report --sort srcline`;
#   4. memory: rprof's peak RSS while recording a 4-thread busy process at 999 Hz.
# Usage: bench/record/run.sh   (env: RUNS=3 repetitions, RSS_SECONDS=20, CPU_ROUNDS, PY_ROUNDS)
# Results: bench/out/record/results.md
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/bench/out/record
mkdir -p "$OUT"
RUNS=${RUNS:-3}
RSS_SECONDS=${RSS_SECONDS:-20}
CPU_ROUNDS=${CPU_ROUNDS:-3000}
# A Python interpreter with DWARF (Debian's python3.11-dbg) makes the symbolization side real;
# the plain interpreter is the fallback.
if [ -z "${PY:-}" ]; then
    PY=/usr/bin/python3
    for p in /usr/bin/python3.11d /usr/bin/python3-dbg; do [ -x "$p" ] && { PY=$p; break; }; done
fi
PY_ROUNDS=${PY_ROUNDS:-6}

cargo build --release --quiet
R=$ROOT/target/release/rprof
command -v perf >/dev/null || { echo "perf is needed for the comparison" >&2; exit 1; }
TOOLS=$ROOT/bench/record/.tools
if ! command -v inferno-flamegraph >/dev/null && [ ! -x "$TOOLS/bin/inferno-flamegraph" ]; then
    echo "installing inferno into $TOOLS (benchmark only)" >&2
    cargo install inferno --root "$TOOLS" --locked --quiet
fi
export PATH=$TOOLS/bin:$PATH

gcc -O1 -g -fno-omit-frame-pointer -o "$OUT/split" fixtures/record/split.c
gcc -O1 -g -fno-omit-frame-pointer -o "$OUT/threads4" bench/record/threads4.c -lpthread
CPU=("$OUT/split" -n "$CPU_ROUNDS")
PYW=("$PY" "$ROOT/bench/record/workload.py" "$PY_ROUNDS")

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# Workload seconds (elapsed) under a profiler prefix; prints the median of RUNS.
workload_time() {
    local name=$1; shift
    local -a prefix=()
    while [ "$1" != "::" ]; do prefix+=("$1"); shift; done
    shift
    for _ in $(seq "$RUNS"); do
        "${prefix[@]}" /usr/bin/time -f %e -o "$OUT/$name.time" "$@" >/dev/null 2>"$OUT/$name.err" \
            || { cat "$OUT/$name.err" >&2; exit 1; }
        tail -1 "$OUT/$name.time"
    done | median
}

declare -A T
for w in cpu py; do
    if [ $w = cpu ]; then W=("${CPU[@]}"); else W=("${PYW[@]}"); fi
    T[$w.bare]=$(workload_time $w.bare env :: "${W[@]}")
    T[$w.rprof]=$(workload_time $w.rprof "$R" record -F 999 -o "$OUT/$w.rprof.data" -- :: "${W[@]}")
    T[$w.perf]=$(workload_time $w.perf perf record -q -F 999 -g -o "$OUT/$w.perf.data" -- :: "${W[@]}")
done

# End to end: record + flame graph, wall time, median of RUNS.
e2e() {
    local w=$1 tool=$2; shift 2
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(now)
        if [ "$tool" = rprof ]; then
            "$R" record -F 999 -o "$OUT/e2e.$w.data" -- "$@" >/dev/null 2>&1
            "$R" flamegraph "$OUT/e2e.$w.data" -o "$OUT/e2e.$w.rprof.svg" >/dev/null 2>&1
        else
            perf record -q -F 999 -g -o "$OUT/e2e.$w.perf.data" -- "$@" >/dev/null 2>&1
            perf script -i "$OUT/e2e.$w.perf.data" 2>/dev/null | inferno-collapse-perf \
                | inferno-flamegraph >"$OUT/e2e.$w.perf.svg"
        fi
        t1=$(now)
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
    done | median
}
for w in cpu py; do
    if [ $w = cpu ]; then W=("${CPU[@]}"); else W=("${PYW[@]}"); fi
    T[e2e.$w.rprof]=$(e2e $w rprof "${W[@]}")
    T[e2e.$w.perf]=$(e2e $w perf "${W[@]}")
done

# Source lines on the recordings made above (perf runs addr2line; capped by SRCLINE_TIMEOUT).
lines() {
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>&1 || true
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
for w in cpu py; do
    T[lines.$w.rprof]=$(lines "$R" report --sort line "$OUT/$w.rprof.data")
    T[lines.$w.perf]=$(lines timeout "${SRCLINE_TIMEOUT:-600}" perf report --stdio --sort srcline -i "$OUT/$w.perf.data")
done

# Peak RSS of rprof attached to four busy threads at 999 Hz.
"$OUT/threads4" "$((RSS_SECONDS + 5))" >/dev/null &
TP=$!
sleep 0.3
/usr/bin/time -f %M -o "$OUT/rss.txt" "$R" record -F 999 -p "$TP" -d "$RSS_SECONDS" -o "$OUT/rss.data" 2>"$OUT/rss.err"
kill "$TP" 2>/dev/null || true
wait "$TP" 2>/dev/null || true
RSS_KB=$(tail -1 "$OUT/rss.txt")
RSS_SAMPLES=$(grep -o '^rprof: [0-9,]* samples' "$OUT/rss.err" | grep -o '[0-9,]*' | tr -d ,)
RSS_LOST=$(grep -o '[0-9,]* lost' "$OUT/rss.err" | head -1 | grep -o '^[0-9,]*' | tr -d ,)

size() { stat -c %s "$1"; }
{
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) CPUs, $(uname -r), $(perf version 2>/dev/null), median of $RUNS runs."
    echo "cpu = \`${CPU[*]#$ROOT/}\` (fixtures/record/split.c, gcc -O1 -g -fno-omit-frame-pointer);"
    echo "py = \`$PY bench/record/workload.py $PY_ROUNDS\`."
    echo
    echo "| workload | bare (s) | rprof record -F 999 (s) | perf record -F 999 -g (s) | rprof overhead | perf overhead |"
    echo "|---|---|---|---|---|---|"
    for w in cpu py; do
        echo "| $w | ${T[$w.bare]} | ${T[$w.rprof]} | ${T[$w.perf]} | $(ratio "${T[$w.rprof]}" "${T[$w.bare]}")x | $(ratio "${T[$w.perf]}" "${T[$w.bare]}")x |"
    done
    echo
    echo "| end to end (record + flame graph) | rprof (s) | perf + inferno (s) | perf / rprof | data file rprof / perf (bytes) |"
    echo "|---|---|---|---|---|"
    for w in cpu py; do
        echo "| $w | ${T[e2e.$w.rprof]} | ${T[e2e.$w.perf]} | $(ratio "${T[e2e.$w.perf]}" "${T[e2e.$w.rprof]}")x | $(size "$OUT/e2e.$w.data") / $(size "$OUT/e2e.$w.perf.data") |"
    done
    echo
    echo "| source lines | rprof report --sort line (s) | perf report --sort srcline (s) | perf / rprof |"
    echo "|---|---|---|---|"
    for w in cpu py; do
        echo "| $w | ${T[lines.$w.rprof]} | ${T[lines.$w.perf]} | $(ratio "${T[lines.$w.perf]}" "${T[lines.$w.rprof]}")x |"
    done
    echo
    echo "Peak RSS of \`rprof record -F 999 -p PID -d $RSS_SECONDS\` on 4 busy threads: $((RSS_KB / 1024)) MB ($RSS_SAMPLES samples, $RSS_LOST lost)."
} | tee "$OUT/results.md"
