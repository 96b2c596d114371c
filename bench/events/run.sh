#!/usr/bin/env bash
# Side-by-side benchmark of rprof and perf on perf's own event habits, in one run:
#   1. `-e sched:sched_switch -g` on a program that sleeps 2000 times (a tracepoint, every hit);
#   2. `-c 1000 -e page-faults -g` on the fault fixture (220,000 faults, a fixed period);
#   3. `-e context-switches,page-faults -g`, two events together;
#   4. listing the events: `rprof list` against `perf list`.
# For the recordings it prints wall time of the profiled run (bare, under perf record + perf
# report, under rprof record + rprof report) and the sample counts of both, with ratios.
# Usage: bench/events/run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
OUT=bench/out/events
mkdir -p "$OUT"
cargo build --release -q
R=$PWD/target/release/rprof
gcc -O1 -g -fno-omit-frame-pointer -o "$OUT/sleeper" fixtures/record/sleeper.c
gcc -O1 -g -fno-omit-frame-pointer -o "$OUT/faults" fixtures/record/faults.c

now() { date +%s.%N; }
# best of RUNS wall seconds of a command
best() {
  local b=""
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
    b=$(python3 -c "a=$t1-$t0; b='$b'; print(a if b=='' else min(a, float(b)))")
  done
  echo "$b"
}
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "load: $(uptime)"
printf '%-38s %10s %10s %10s %8s %8s %8s\n' workload "bare s" "perf s" "rprof s" "rprof/perf" "perf n" "rprof n"
row() {
  local name=$1 ev=$2; shift 2
  local bare perf rp pn rn
  bare=$(best "$@")
  perf=$(best sh -c "perf record -q -g $ev -o $OUT/p.data -- $* && perf report -i $OUT/p.data --stdio >/dev/null")
  rp=$(best sh -c "$R record -g $ev -o $OUT/r.data -- $* && $R report $OUT/r.data >/dev/null")
  pn=$(perf script -i "$OUT/p.data" 2>/dev/null | grep -c ': *[0-9]* [a-z:_-]*:' || true)
  # every event's samples (a view shows one event; perf script prints them all)
  rn=0
  for e in $("$R" report "$OUT/r.data" --format json 2>/dev/null | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["events"]))'); do
    rn=$((rn + $("$R" report "$OUT/r.data" --event "$e" --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["samples"])')))
  done
  printf '%-38s %10.3f %10.3f %10.3f %8s %8s %8s\n' "$name" "$bare" "$perf" "$rp" "$(ratio "$rp" "$perf")" "$pn" "$rn"
}
row "sched:sched_switch, 2000 sleeps" "-e sched:sched_switch" "$OUT/sleeper" 2000
row "-c 1000 page-faults, 220k faults" "-c 1000 -e page-faults" "$OUT/faults"
# Frequency mode: the same -F for both (perf's default is 4000 Hz, rprof's 999), as the
# kernel adapts each event's period to the rate asked for and the sample counts follow it.
row "cs + page-faults -F 999, 2000 sleeps" "-F 999 -e context-switches,page-faults" "$OUT/sleeper" 2000

lp=$(best perf list)
lr=$(best "$R" list)
printf '%-38s %10s %10.3f %10.3f %8s %8s %8s\n' "list every event" - "$lp" "$lr" "$(ratio "$lr" "$lp")" \
  "$(perf list 2>/dev/null | grep -c '\[')" "$("$R" list 2>/dev/null | grep -c '\[')"
