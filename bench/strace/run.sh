#!/usr/bin/env bash
# Side-by-side overhead of syscall summaries on one syscall-heavy workload (fixtures/strace/mix.c:
# two threads, N writes + N/2 getppid + N/10 failing opens each; N=500000 makes 1.6M syscalls).
#
#   bench/strace/run.sh            # N=500000, 3 repetitions of the fast runs (min is reported)
#   N=50000 REPS=1 bench/strace/run.sh
#   RPROF_BEFORE=/path/to/older/rprof bench/strace/run.sh   # adds that build's bpf rows
#
# Then percentile accuracy: bpf histograms against the perf backend on the same run, and
# against latencies a program measured itself (fixtures/strace/sleeps.c).
# Prints a markdown table: wall time of each run (rprof's includes its start-up and teardown),
# CPU time (user + system of the tool and the workload, from /usr/bin/time), their ratios to
# the bare run, and what each tool counted. On a loaded machine the CPU ratio is the steadier
# one: wall time then also measures waiting for a CPU. Not a test: numbers depend on the machine.
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
# run NAME REPS CMD...: min wall seconds over REPS runs and the CPU seconds of that run;
# stderr of the last run kept.
declare -A T NOTE CPU
TIME=/usr/bin/time
run() {
  local name=$1 reps=$2; shift 2
  local best=""
  for _ in $(seq "$reps"); do
    local s e
    s=$(now)
    if [[ -x $TIME ]]; then
      "$TIME" -f "%U %S" -o "$TMP/$name.cpu1" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || true
    else
      "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || true
    fi
    e=$(now)
    local d=$(( e - s ))
    if [[ -z $best || $d -lt $best ]]; then
      best=$d
      if [[ -s $TMP/$name.cpu1 ]]; then
        CPU[$name]=$(tail -1 "$TMP/$name.cpu1" | awk '{print $1 + $2}')
      fi
    fi
  done
  T[$name]=$best
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
run bare "$REPS" "$MIX" "$N"
run rprof_bpf "$REPS" "$RPROF" strace-summary -o "$TMP/bpf.txt" -- "$MIX" "$N"
NOTE[rprof_bpf]=$(grep -h "calls," "$TMP/rprof_bpf.err" | sed 's/^rprof: //')
run rprof_perf "$REPS" "$RPROF" strace-summary --backend perf -o "$TMP/perf.txt" -- "$MIX" "$N"
NOTE[rprof_perf]=$(grep -h "calls," "$TMP/rprof_perf.err" | sed 's/^rprof: //')
run rprof_counts "$REPS" "$RPROF" strace-summary --counts-only -o "$TMP/counts.txt" -- "$MIX" "$N"
NOTE[rprof_counts]=$(grep -h "calls," "$TMP/rprof_counts.err" | sed 's/^rprof: //')
if [[ -n ${RPROF_BEFORE:-} ]]; then
  run before_bpf "$REPS" "$RPROF_BEFORE" strace-summary -o "$TMP/bbpf.txt" -- "$MIX" "$N"
  NOTE[before_bpf]=$(grep -h "calls," "$TMP/before_bpf.err" | sed 's/^rprof: //')
  run before_counts "$REPS" "$RPROF_BEFORE" strace-summary --counts-only -o "$TMP/bcounts.txt" -- "$MIX" "$N"
  NOTE[before_counts]=$(grep -h "calls," "$TMP/before_counts.err" | sed 's/^rprof: //')
fi
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

# bcc's syscount -L (counts and total latency per syscall, in the kernel) where it runs: it
# compiles its BPF at run time and needs the kernel's headers.
if command -v syscount-bpfcc >/dev/null; then
  SC=syscount-bpfcc
elif command -v syscount >/dev/null; then
  SC=syscount
else
  SC=""
fi
if [[ -n $SC ]]; then
  if timeout 120 "$SC" -L -d 1 >"$TMP/syscount.probe" 2>"$TMP/syscount.err"; then
    # syscount traces a pid: start the workload held on a FIFO, attach, wait until it has
    # compiled and attached, then time the workload alone while traced.
    mkfifo "$TMP/go"
    "$MIX" "$N" wait <"$TMP/go" &
    mp=$!
    exec 9>"$TMP/go"
    "$SC" -L -p "$mp" >"$TMP/syscount.out" 2>>"$TMP/syscount.err" &
    scp=$!
    sleep 5
    s=$(now); printf xy >&9; exec 9>&-; wait "$mp" || true; e=$(now)
    kill -INT "$scp" 2>/dev/null || true; wait "$scp" 2>/dev/null || true
    T[syscount]=$(( e - s ))
    NOTE[syscount]=$(awk '$1=="write"||$1=="getppid"||$1=="open"{printf "%s %s, ", $1, $2}' "$TMP/syscount.out")
  else
    SYSCOUNT_FAIL=$(grep -v '^ *File\|^ *\^\|^ *bpf = \|^Traceback\|^ *\*\*' "$TMP/syscount.err" | head -3 | tr '\n' ' ')
  fi
fi

bare=${T[bare]}
printf '| run | wall s | x bare | cpu s | x bare (cpu) | counted |\n|---|---:|---:|---:|---:|---|\n'
for name in bare perf_stat rprof_bpf rprof_counts before_bpf before_counts rprof_perf rprof_ptrace strace perf_trace syscount; do
  [[ -n ${T[$name]:-} ]] || continue
  label=$name
  case $name in
    bare) label="bare \`mix $N\`";;
    perf_stat) label="\`perf stat -e raw_syscalls:*\` (floor: counting only)";;
    rprof_bpf) label="\`rprof strace-summary\` (default: bpf, latency histograms in the kernel)";;
    rprof_perf) label="\`rprof strace-summary --backend perf\` (tracepoints through ring buffers)";;
    rprof_counts) label="\`rprof strace-summary --counts-only\` (bpf, counts only)";;
    before_bpf) label="\`rprof strace-summary\` (\$RPROF_BEFORE)";;
    before_counts) label="\`rprof strace-summary --counts-only\` (\$RPROF_BEFORE)";;
    syscount) label="bcc \`syscount -L\` (attached; time includes its start-up)";;
    rprof_ptrace) label="\`rprof strace-summary --backend ptrace\`";;
    strace) label="\`strace -c -f\`";;
    perf_trace) label="\`perf trace -s\`";;
  esac
  awk -v t="${T[$name]}" -v b="$bare" -v l="$label" -v n="${NOTE[$name]:-}" \
    -v c="${CPU[$name]:-}" -v bc="${CPU[bare]:-}" \
    'BEGIN {
      cpu = (c == "" || bc == "" || bc == 0) ? "| - | -" : sprintf("| %.3f | %.2f", c, c / bc)
      printf "| %s | %.3f | %.2f %s | %s |\n", l, t/1e9, t/b, cpu, n
    }'
done
echo
echo "N=$N: the workers make write=$(( 2*N )), getppid=$N, open=$(( N/5 )) (all ENOENT), $(( 2*N + N + N/5 )) syscalls in all;"
echo "$(nproc) CPUs; kernel $(uname -r); load average before/after: $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg);"
echo "min of $REPS runs for bare/bpf/perf/counts-only, $SLOW_REPS for the others. Wall times include rprof's start-up and teardown."
if [[ -n ${SYSCOUNT_FAIL:-} ]]; then
  echo "bcc syscount -L did not run: $SYSCOUNT_FAIL"
fi

# Percentile accuracy, part 1: the bpf histograms and the perf backend (exact latencies per
# call, binned by the same histogram in user space) attached at once to the same run.
echo
echo "Percentiles: bpf (in-kernel histograms) and perf (tracepoints) attached to the same run of mix $N"
mkfifo "$TMP/go2"
"$MIX" "$N" wait <"$TMP/go2" &
BPID=$!
exec 8>"$TMP/go2"
"$RPROF" strace-summary --format json -o "$TMP/both_bpf.json" -p "$BPID" 2>"$TMP/both_bpf.err" &
b1=$!
"$RPROF" strace-summary --backend perf --format json -o "$TMP/both_perf.json" -p "$BPID" 2>"$TMP/both_perf.err" &
b2=$!
# Both tracers say "tracing pid" once attached; then the workload is released.
for _ in $(seq 100); do
  grep -q "tracing pid" "$TMP/both_bpf.err" 2>/dev/null && grep -q "tracing pid" "$TMP/both_perf.err" 2>/dev/null && break
  sleep 0.1
done
printf xy >&8; exec 8>&-
wait "$BPID" "$b1" "$b2" || true
python3 - "$TMP/both_bpf.json" "$TMP/both_perf.json" <<'PY'
import json, sys
b, p = (json.load(open(f)) for f in sys.argv[1:3])
rows = lambda v: {r["syscall"]: r for r in v["tables"][0]["syscalls"]}
rb, rp = rows(b), rows(p)
print("| syscall | calls bpf / perf | p50 us bpf / perf | p99 us bpf / perf | max us bpf / perf |")
print("|---|---|---|---|---|")
for s in ("write", "getppid", "open"):
    x, y = rb.get(s, {}), rp.get(s, {})
    f = lambda k: "%s / %s" % (x.get(k), y.get(k))
    print("| %s | %s | %s | %s | %s |" % (s, f("calls"), f("p50_us"), f("p99_us"), f("max_us")))
print("lost: bpf %s, perf %s" % (b["lost_events"], p["lost_events"]))
PY

# Part 2: against exact latencies the program measured itself around each call.
gcc -O2 -o "$TMP/sleeps" fixtures/strace/sleeps.c
"$RPROF" strace-summary --format json -o "$TMP/sleeps.json" -- "$TMP/sleeps" "$TMP/lat.txt" 1000 2>/dev/null
python3 - "$TMP/sleeps.json" "$TMP/lat.txt" <<'PY'
import json, math, sys
v = json.load(open(sys.argv[1]))
r = [x for x in v["tables"][0]["syscalls"] if x["syscall"] == "nanosleep"][0]
lat = sorted(int(l) for l in open(sys.argv[2]))
q = lambda p: lat[min(len(lat), max(1, math.ceil(p * len(lat)))) - 1] / 1000
print()
print("nanosleep x%d (20 us - 2.4 ms asked): bpf histogram vs the program's own timing" % len(lat))
print("| | bpf (us) | exact (us) | error |")
print("|---|---:|---:|---:|")
for k, e in (("p50_us", q(0.5)), ("p99_us", q(0.99)), ("max_us", lat[-1] / 1000)):
    print("| %s | %.1f | %.1f | %+.2f%% |" % (k[:-3], r[k], e, 100 * (r[k] - e) / e))
PY
