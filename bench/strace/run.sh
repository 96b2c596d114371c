#!/usr/bin/env bash
# Side-by-side overhead of syscall summaries on one syscall-heavy workload (fixtures/strace/mix.c:
# two threads, N writes + N/2 getppid + N/10 failing opens each; N=500000 makes 1.6M syscalls).
#
#   bench/strace/run.sh            # N=500000, 3 repetitions of the fast runs (min is reported)
#   N=50000 REPS=1 bench/strace/run.sh
#
# Prints a markdown table: wall time of each run (rprof's includes its start-up and teardown),
# ratio to the bare run, and what each tool counted. Not a test: numbers depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-500000}
REPS=${REPS:-3}
SLOW_REPS=${SLOW_REPS:-1}
cargo build --release --quiet
RPROF=$PWD/target/release/rprof
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
gcc -O2 -o "$TMP/mix" fixtures/strace/mix.c -lpthread
MIX="$TMP/mix"

now() { date +%s%N; }
# run NAME REPS CMD...: min wall seconds over REPS runs; stderr of the last run kept.
declare -A T NOTE
run() {
  local name=$1 reps=$2; shift 2
  local best=""
  for _ in $(seq "$reps"); do
    local s e
    s=$(now)
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || true
    e=$(now)
    local d=$(( e - s ))
    if [[ -z $best || $d -lt $best ]]; then best=$d; fi
  done
  T[$name]=$best
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
run bare "$REPS" "$MIX" "$N"
run rprof_perf "$REPS" "$RPROF" strace-summary -o "$TMP/perf.txt" -- "$MIX" "$N"
NOTE[rprof_perf]=$(grep -h "calls," "$TMP/rprof_perf.err" | sed 's/^rprof: //')
run rprof_counts "$REPS" "$RPROF" strace-summary --counts-only -o "$TMP/counts.txt" -- "$MIX" "$N"
NOTE[rprof_counts]=$(grep -h "calls," "$TMP/rprof_counts.err" | sed 's/^rprof: //')
if command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
  # The floor for any tracepoint-based tool: merely counting the two tracepoints.
  run perf_stat "$REPS" perf stat -x, -o "$TMP/stat.txt" -e raw_syscalls:sys_enter,raw_syscalls:sys_exit "$MIX" "$N"
  NOTE[perf_stat]=$(awk -F, '/sys_enter/{print $1 " entries (no breakdown by syscall)"}' "$TMP/stat.txt")
fi
run rprof_ptrace "$SLOW_REPS" "$RPROF" strace-summary --backend ptrace -o "$TMP/ptrace.txt" -- "$MIX" "$N"
NOTE[rprof_ptrace]=$(grep -h "calls," "$TMP/rprof_ptrace.err" | sed 's/^rprof: //')
if command -v strace >/dev/null; then
  run strace "$SLOW_REPS" strace -c -f -o "$TMP/strace.txt" "$MIX" "$N"
  NOTE[strace]=$(grep -E " total$" "$TMP/strace.txt" | awk '{print $4 " calls, " $5 " errors"}')
fi
if command -v perf >/dev/null && perf trace -s -o "$TMP/pt.probe" true >/dev/null 2>&1; then
  run perf_trace "$SLOW_REPS" perf trace -s -o "$TMP/perf_trace.txt" "$MIX" "$N"
  # perf trace prints one table per thread: sum them; LOST lines say what it dropped.
  NOTE[perf_trace]=$(awk '$1=="write"{w+=$2} $1=="getppid"{g+=$2} $1=="open"{o+=$2} /LOST/{l=l" "$0} END{print "write " w ", getppid " g ", open " o (l?"; "l:"")}' "$TMP/perf_trace.txt")
fi

bare=${T[bare]}
printf '| run | wall s | x bare | counted |\n|---|---:|---:|---|\n'
for name in bare perf_stat rprof_perf rprof_counts rprof_ptrace strace perf_trace; do
  [[ -n ${T[$name]:-} ]] || continue
  label=$name
  case $name in
    bare) label="bare \`mix $N\`";;
    perf_stat) label="\`perf stat -e raw_syscalls:*\` (floor: counting only)";;
    rprof_perf) label="\`rprof strace-summary\` (perf, times)";;
    rprof_counts) label="\`rprof strace-summary --counts-only\` (perf+bpf)";;
    rprof_ptrace) label="\`rprof strace-summary --backend ptrace\`";;
    strace) label="\`strace -c -f\`";;
    perf_trace) label="\`perf trace -s\`";;
  esac
  awk -v t="${T[$name]}" -v b="$bare" -v l="$label" -v n="${NOTE[$name]:-}" \
    'BEGIN { printf "| %s | %.3f | %.1f | %s |\n", l, t/1e9, t/b, n }'
done
echo
echo "N=$N: the workers make write=$(( 2*N )), getppid=$N, open=$(( N/5 )) (all ENOENT), $(( 2*N + N + N/5 )) syscalls in all;"
echo "$(nproc) CPUs; kernel $(uname -r); load average before/after: $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg);"
echo "min of $REPS runs for bare/perf/counts-only, $SLOW_REPS for the others. Wall times include rprof's start-up and teardown."
