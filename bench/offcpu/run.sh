#!/usr/bin/env bash
# Overhead of off-CPU recording, side by side on the same workloads (one run):
#   pingpong.c  two threads ping-ponging a byte through pipes (~150k context switches/s here)
#   spin.c      two CPU-bound threads that never block
# Tools: rprof record --off-cpu and --wall (frame pointers, and the default auto = DWARF with
# frame-pointer fallback), perf record -e sched:sched_switch -g, the same with -e cpu-clock
# beside it (what --wall records), and bcc's offcputime when it runs here. Each workload
# prints its own elapsed time, so the slowdown is the workload's alone (tool start-up and
# post-processing excluded); "tool s" is the whole command.
#
#   bench/offcpu/run.sh                  # N=200000 round trips, SPIN=400000000 iterations
#   N=50000 SPIN=100000000 bench/offcpu/run.sh
#
# Prints a markdown table. Not a test: numbers depend on the machine and its load.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-200000}
SPIN=${SPIN:-400000000}
cargo build --release --quiet
# The build cargo just made, wherever CARGO_TARGET_DIR puts it.
RPROF=${CARGO_TARGET_DIR:-$PWD/target}/release/rprof
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CFLAGS="-O2 -g -fno-omit-frame-pointer -pthread"
gcc $CFLAGS -o "$TMP/pingpong" bench/offcpu/pingpong.c
gcc $CFLAGS -o "$TMP/spin" bench/offcpu/spin.c
BCC=$(command -v offcputime-bpfcc || command -v /usr/share/bcc/tools/offcputime || true)

now() { date +%s%N; }
elapsed() { sed -n 's/^elapsed \([0-9.]*\).*/\1/p' "$1" | tail -1; }
rate() { sed -n 's/.* rate \([0-9]*\).*/\1/p' "$1" | tail -1; }
size() { if [[ -e $1 ]]; then stat -c %s "$1"; else echo 0; fi; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| workload | tool | workload s | slowdown | tool s | data bytes | notes |"
echo "|---|---|---:|---:|---:|---:|---|"
for W in pingpong spin; do
  if [[ $W == pingpong ]]; then ARG=$N; else ARG=$SPIN; fi
  PROG=("$TMP/$W" "$ARG")
  "${PROG[@]}" >"$TMP/bare.out"
  BARE=$(elapsed "$TMP/bare.out")
  echo "| $W | bare | $BARE | 1.00x | $BARE | - | $(rate "$TMP/bare.out") switches/s |"
  row() {
    local name=$1 data=$2 note=$3
    local t
    t=$(elapsed "$TMP/run.out")
    if [[ -z $t ]]; then
      echo "| $W | $name | failed | | | | $(tail -1 "$TMP/run.err") |"
      return
    fi
    echo "| $W | $name | $t | $(echo "$t / $BARE" | bc -l | xargs printf '%.2fx') | $TOOL_S | $(size "$data") | $note |"
  }
  timed() {
    local s e
    s=$(now)
    "$@" >"$TMP/run.out" 2>"$TMP/run.err" || true
    e=$(now)
    TOOL_S=$(echo "($e - $s) / 1000000000" | bc -l | xargs printf '%.2f')
  }
  for MODE in --off-cpu --wall; do
    for CG in fp auto; do
      rm -f "$TMP/r.data"
      timed "$RPROF" record $MODE --call-graph $CG -o "$TMP/r.data" -- "${PROG[@]}"
      LOST=$(grep -o '[0-9,]* lost switch events' "$TMP/run.err" | head -1 || true)
      row "rprof record $MODE --call-graph $CG" "$TMP/r.data" "${LOST:-?}"
    done
  done
  rm -f "$TMP/perf.data"
  timed perf record -e sched:sched_switch -g -o "$TMP/perf.data" -- "${PROG[@]}"
  PL=$(grep -o 'Captured and wrote .*' "$TMP/run.err" | head -1 || true)
  # perf: "Processed N events and lost M chunks!" (at least one digit: a bare "lost" said nothing).
  LOSTP=$(grep -io 'lost [0-9]\+ chunks\|[0-9]\+ lost' "$TMP/run.err" | head -1 || true)
  row "perf record -e sched:sched_switch -g" "$TMP/perf.data" "${PL:-} ${LOSTP:-}"
  # What --wall records: the switches and a cpu-clock sampler beside them (a software timer
  # that is stopped and restarted at every switch of the thread).
  rm -f "$TMP/perf.data"
  timed perf record -e cpu-clock -e sched:sched_switch -g -o "$TMP/perf.data" -- "${PROG[@]}"
  PL=$(grep -o 'Captured and wrote .*' "$TMP/run.err" | head -1 || true)
  LOSTP=$(grep -io 'lost [0-9]\+ chunks\|[0-9]\+ lost' "$TMP/run.err" | head -1 || true)
  row "perf record -e cpu-clock -e sched:sched_switch -g" "$TMP/perf.data" "${PL:-} ${LOSTP:-}"
  if [[ -n $BCC ]]; then
    # offcputime traces system-wide until interrupted; it is started first and given time to
    # compile its BPF program.
    "$BCC" -f >"$TMP/bcc.out" 2>"$TMP/bcc.err" &
    BPID=$!
    sleep 8
    if kill -0 "$BPID" 2>/dev/null; then
      timed "${PROG[@]}"
      kill -INT "$BPID"; wait "$BPID" || true
      row "bcc offcputime -f (system-wide)" "$TMP/bcc.out" ""
    else
      wait "$BPID" || true
      echo "| $W | bcc offcputime | failed | | | | $(grep -v '^ ' "$TMP/bcc.err" | grep -v Traceback | tail -1) |"
    fi
  else
    echo "| $W | bcc offcputime | not installed | | | | |"
  fi
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
