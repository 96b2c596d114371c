#!/usr/bin/env bash
# DWARF unwinding in `rprof record`, side by side with `perf record --call-graph dwarf`, on the
# same workloads in one run (results: bench/out/unwind-record/results.md; see BENCHMARKS.md,
# "## DWARF unwinding in record"):
#   workloads: the known-split C fixture built without frame pointers (gcc -O2 -g
#              -fomit-frame-pointer, fixed work with -n), Debian's python3 (libpython has no
#              frame pointers) running bench/record/workload.py, and ripgrep (release + debug
#              info, installed into bench/.tools) when RG=1;
#   overhead:  the workload's own elapsed time, measured by /usr/bin/time placed between the
#              profiler and the workload, bare and under each profiler (median of RUNS);
#   size:      the data file (rprof.data vs perf.data);
#   end to end: record + flame graph: `rprof record` + `rprof flamegraph` vs `perf record` +
#              `perf script | inferno-collapse-perf | inferno-flamegraph`, perf both with its
#              default 8 KiB stack copy and with rprof's 64 KiB (dwarf,65528: equal quality);
#   quality:   % of samples whose outermost frame is a thread/process entry (the same rule as
#              rprof's truncated count: _start, __libc_start_*, clone/clone3, start_thread, the
#              Rust runtime's entries), for rprof dwarf/auto/fp and perf dwarf (8 KiB default)
#              and perf -g.
# Usage: bench/unwind/record.sh   (env: RUNS=3, FREQ=999 (4000 is perf record's default),
# CPU_ROUNDS=3000, PY_ROUNDS=15, RG=1 to add ripgrep, ONLY="rg" to run only the listed workloads)
# Every profiler runs at the same FREQ, so both sides collect the same number of samples.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RUNS=${RUNS:-3}
FREQ=${FREQ:-999}
OUT=$ROOT/bench/out/unwind-record/F$FREQ
mkdir -p "$OUT"
CPU_ROUNDS=${CPU_ROUNDS:-3000}
PY_ROUNDS=${PY_ROUNDS:-15}
PY=/usr/bin/python3
TOOLS=$ROOT/bench/.tools

cargo build --release --quiet
R=$ROOT/target/release/rprof
command -v perf >/dev/null || { echo "perf is needed for the comparison" >&2; exit 1; }
export PATH=$TOOLS/bin:$PATH
if ! command -v inferno-flamegraph >/dev/null; then
    echo "installing inferno into $TOOLS (benchmark only)" >&2
    cargo install inferno --root "$TOOLS" --locked --quiet
fi

gcc -O2 -g -fomit-frame-pointer -o "$OUT/split" fixtures/record/split.c
declare -A CMD
CMD[cpu]="$OUT/split -n $CPU_ROUNDS"
CMD[py]="$PY $ROOT/bench/record/workload.py $PY_ROUNDS"
WORKLOADS=${ONLY:-cpu py}
if [ "${RG:-0}" = 1 ]; then
    if [ ! -x "$TOOLS/bin/rg" ]; then
        echo "installing ripgrep (release, debug info, no frame pointers) into $TOOLS" >&2
        CARGO_PROFILE_RELEASE_DEBUG=true cargo install ripgrep --root "$TOOLS" --locked --quiet
    fi
    # A multi-threaded search over the cargo registry sources, repeated to last a few seconds.
    SRC=$(ls -d "$HOME"/.cargo/registry/src/*/ | head -1)
    CMD[rg]="sh -c 'for i in 1 2 3 4 5 6; do $TOOLS/bin/rg -c \"fn [a-z_]+\\(\" $SRC >/dev/null; done'"
    [ -n "${ONLY:-}" ] || WORKLOADS="$WORKLOADS rg"
fi

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
now() { date +%s.%N; }

# % of samples in folded stacks ("a;b;c N") whose outermost frame is a thread or process entry.
# perf script's folded stacks start with the command name, which is skipped.
complete_pct() {
    python3 - "$1" "$2" <<'EOF'
import re, sys
path, skip_comm = sys.argv[1], sys.argv[2] == "1"
C = {"_start", "__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main", "clone",
     "__clone", "__GI___clone", "clone3", "__clone3", "__GI___clone3", "start_thread",
     "thread_start", "_dl_start_user", "_dl_start"}
def entry(name):
    name = re.sub(r"::h[0-9a-f]{16}$", "", name.split("@")[0].strip())
    return (name in C or name.startswith("std::rt::lang_start")
            or name.startswith("<std::rt::lang_start")
            or (name.startswith("std::sys::") and name.endswith("Thread::new::thread_start")))
tot = ok = 0
for line in open(path, errors="replace"):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    if not stack or not n.isdigit():
        continue
    frames = stack.split(";")
    if skip_comm and len(frames) > 1:
        frames = frames[1:]
    # inferno marks kernel frames with _[k]; the outermost frame is the first either way.
    tot += int(n)
    ok += int(n) * entry(frames[0].removesuffix("_[k]"))
print(f"{100.0 * ok / max(tot, 1):.1f}")
EOF
}

{
echo "# DWARF unwinding in record: rprof vs perf"
echo
echo "$(uname -r), $(nproc) CPUs, $(perf --version), RUNS=$RUNS, FREQ=$FREQ Hz, $(date -u +%F)"
echo
} > "$OUT/results.md"

for w in $WORKLOADS; do
    W=${CMD[$w]}
    echo "== $w: $W" >&2
    # Overhead: median elapsed time of the workload itself.
    wl() { # name, profiler prefix...
        local name=$1; shift
        for _ in $(seq "$RUNS"); do
            eval "$* /usr/bin/time -f %e -o $OUT/$w.$name.time $W" >/dev/null 2>"$OUT/$w.$name.err" \
                || { cat "$OUT/$w.$name.err" >&2; exit 1; }
            tail -1 "$OUT/$w.$name.time"
        done | median
    }
    declare -A T=()
    T[bare]=$(wl bare env)
    for m in dwarf auto fp dwarf,16384; do
        T[rprof-$m]=$(wl rprof-$m "$R" record -F $FREQ --call-graph $m -o "$OUT/$w.rprof-$m.data" --)
    done
    T[perf-dwarf]=$(wl perf-dwarf perf record -q -F $FREQ --call-graph dwarf -o "$OUT/$w.perf-dwarf.data" --)
    # perf with rprof's stack copy size: the same raw material per sample, so equal quality.
    T[perf-dwarf64]=$(wl perf-dwarf64 perf record -q -F $FREQ --call-graph dwarf,65528 -o "$OUT/$w.perf-dwarf64.data" --)
    T[perf-g]=$(wl perf-g perf record -q -F $FREQ -g -o "$OUT/$w.perf-g.data" --)

    # End to end, RUNS more runs each (medians): record + flame graph; the part after recording
    # is timed on its own too, since the workload's run time is in both totals.
    secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
    : > "$OUT/$w.e2e.times"
    for _ in $(seq "$RUNS"); do
        t0=$(now)
        eval "$R record -F $FREQ --call-graph dwarf -o $OUT/$w.e2e.rprof.data -- $W" >/dev/null 2>"$OUT/$w.e2e.rprof.err"
        t1=$(now)
        "$R" flamegraph "$OUT/$w.e2e.rprof.data" -o "$OUT/$w.rprof.svg" 2>/dev/null
        t2=$(now)
        eval "perf record -q -F $FREQ --call-graph dwarf -o $OUT/$w.e2e.perf.data -- $W" >/dev/null 2>"$OUT/$w.e2e.perf.err"
        t3=$(now)
        perf script -i "$OUT/$w.e2e.perf.data" 2>/dev/null | inferno-collapse-perf 2>/dev/null \
            | inferno-flamegraph > "$OUT/$w.perf.svg" 2>/dev/null
        t4=$(now)
        eval "perf record -q -F $FREQ --call-graph dwarf,65528 -o $OUT/$w.e2e.perf64.data -- $W" >/dev/null 2>"$OUT/$w.e2e.perf64.err"
        t5=$(now)
        perf script -i "$OUT/$w.e2e.perf64.data" 2>/dev/null | inferno-collapse-perf 2>/dev/null \
            | inferno-flamegraph > "$OUT/$w.perf64.svg" 2>/dev/null
        t6=$(now)
        echo "$(secs "$t0" "$t2") $(secs "$t1" "$t2") $(secs "$t2" "$t4") $(secs "$t3" "$t4") $(secs "$t4" "$t6") $(secs "$t5" "$t6")" >> "$OUT/$w.e2e.times"
    done
    col() { awk -v c="$1" '{print $c}' "$OUT/$w.e2e.times" | median; }
    E_RPROF=$(col 1); P_RPROF=$(col 2); E_PERF=$(col 3); P_PERF=$(col 4); E_PERF64=$(col 5); P_PERF64=$(col 6)

    # Quality and sizes (from the overhead runs' data files).
    declare -A Q=() S=() LOST=()
    for m in dwarf auto fp dwarf,16384; do
        "$R" report --format folded "$OUT/$w.rprof-$m.data" > "$OUT/$w.rprof-$m.folded"
        Q[rprof-$m]=$(complete_pct "$OUT/$w.rprof-$m.folded" 0)
        S[rprof-$m]=$(stat -c %s "$OUT/$w.rprof-$m.data")
        LOST[rprof-$m]=$(grep -o '[0-9,]* lost ([0-9.]*%)' "$OUT/$w.rprof-$m.err" | tail -1 || echo "?")
    done
    for m in dwarf dwarf64 g; do
        perf script -i "$OUT/$w.perf-$m.data" 2>/dev/null | inferno-collapse-perf > "$OUT/$w.perf-$m.folded" 2>/dev/null
        Q[perf-$m]=$(complete_pct "$OUT/$w.perf-$m.folded" 1)
        S[perf-$m]=$(stat -c %s "$OUT/$w.perf-$m.data")
    done
    {
        echo "## $w: \`$W\`"
        echo
        echo "| profiler | workload s (bare ${T[bare]}) | overhead | data bytes | complete stacks | lost |"
        echo "|---|---|---|---|---|---|"
        for m in dwarf auto fp dwarf,16384; do
            echo "| rprof --call-graph $m | ${T[rprof-$m]} | $(ratio "${T[rprof-$m]}" "${T[bare]}")x | ${S[rprof-$m]} | ${Q[rprof-$m]}% | ${LOST[rprof-$m]} |"
        done
        echo "| perf --call-graph dwarf (8 KiB) | ${T[perf-dwarf]} | $(ratio "${T[perf-dwarf]}" "${T[bare]}")x | ${S[perf-dwarf]} | ${Q[perf-dwarf]}% | |"
        echo "| perf --call-graph dwarf,65528 | ${T[perf-dwarf64]} | $(ratio "${T[perf-dwarf64]}" "${T[bare]}")x | ${S[perf-dwarf64]} | ${Q[perf-dwarf64]}% | |"
        echo "| perf -g | ${T[perf-g]} | $(ratio "${T[perf-g]}" "${T[bare]}")x | ${S[perf-g]} | ${Q[perf-g]}% | |"
        echo
        echo "- data size perf dwarf / rprof dwarf: $(ratio "${S[perf-dwarf]}" "${S[rprof-dwarf]}")x"
        echo "- end to end (record + flame graph, median of $RUNS): rprof ${E_RPROF} s, perf + perf script + inferno ${E_PERF} s: $(ratio "$E_PERF" "$E_RPROF")x"
        echo "- after recording (flame graph from the data file): rprof ${P_RPROF} s, perf script + inferno ${P_PERF} s: $(ratio "$P_PERF" "$P_RPROF")x"
        echo "- with perf copying 64 KiB like rprof: data size $(ratio "${S[perf-dwarf64]}" "${S[rprof-dwarf]}")x; end to end perf ${E_PERF64} s: $(ratio "$E_PERF64" "$E_RPROF")x; after recording ${P_PERF64} s: $(ratio "$P_PERF64" "$P_RPROF")x"
        echo "- bound on end to end for any profiler that adds nothing to the bare run: $(ratio "$E_PERF" "${T[bare]}")x (perf 8 KiB), $(ratio "$E_PERF64" "${T[bare]}")x (perf 64 KiB)"
        echo "- rprof dwarf summary: $(grep -h 'unwinding:' "$OUT/$w.e2e.rprof.err" | sed 's/^rprof: //')"
        echo
    } >> "$OUT/results.md"
done
cat "$OUT/results.md"
