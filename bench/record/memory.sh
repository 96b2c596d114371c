#!/usr/bin/env bash
# Memory of a long recording, side by side in one run: one four-thread busy process
# (bench/record/threads4.c) recorded at the same time by this rprof, another rprof build
# (OLD=/path/to/rprof, e.g. the main branch's, optional) and `perf record -g`, all attached with
# -p for SECONDS; every INTERVAL seconds each recorder's RSS (VmRSS, /proc/PID/status) is
# printed. rprof merges identical samples while recording, so its RSS should stay flat after
# the first interval; perf streams to its file and stays flat too (its file grows instead).
# After the recording each recorder's peak RSS (VmHWM, read every 0.1 s until it exits: the
# peak while it builds and writes the profile) is printed, with its data file's size and, for
# the rprof builds, the samples and rows of the profile (`sample_rows` of the report's JSON)
# and its distinct (thread, stack) pairs.
# RECORD_ARGS adds flags to both rprof builds (e.g. `--wall`); WORKLOAD=napper records
# bench/record/../../fixtures/offcpu/napper.c (two threads napping 50 us at a time) instead of
# the four busy threads, for off-CPU recordings (perf then records sched:sched_switch -g).
#   bench/record/memory.sh                              # the issue's run: 600 s at 999 Hz, each minute
#   SECONDS_TOTAL=120 INTERVAL=20 FREQ=4999 OLD=/tmp/rprof-main bench/record/memory.sh
#   SECONDS_TOTAL=60 INTERVAL=20 WORKLOAD=napper RECORD_ARGS=--off-cpu OLD=... bench/record/memory.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
TOTAL=${SECONDS_TOTAL:-600}
INTERVAL=${INTERVAL:-60}
FREQ=${FREQ:-999}
CG=${CALL_GRAPH:-auto}
if [[ -z ${RPROF:-} ]]; then
  cargo build --release --quiet
  RPROF=$PWD/target/release/rprof
fi
OLD=${OLD:-}
TMP=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
RARGS=${RECORD_ARGS:-}
PERF_EV=(-F "$FREQ")
if [[ ${WORKLOAD:-threads4} == napper ]]; then
  gcc -O1 -g -fno-omit-frame-pointer -o "$TMP/threads4" fixtures/offcpu/napper.c -lpthread
  PERF_EV=(-e sched:sched_switch -c 1)
else
  gcc -O1 -g -fno-omit-frame-pointer -o "$TMP/threads4" bench/record/threads4.c -lpthread
fi
"$TMP/threads4" $((TOTAL + 30)) &
W=$!
pids+=("$W")
sleep 0.5
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; -F $FREQ, --call-graph $CG $RARGS, ${WORKLOAD:-threads4}, ${TOTAL} s, RSS every ${INTERVAL} s"
# shellcheck disable=SC2086
"$RPROF" record -p "$W" -F "$FREQ" --call-graph "$CG" $RARGS -d "$TOTAL" -o "$TMP/new.data" 2>"$TMP/new.err" &
NEW=$!
pids+=("$NEW")
names=("rprof (this branch)")
rec=("$NEW")
if [[ -n $OLD ]]; then
  # shellcheck disable=SC2086
  "$OLD" record -p "$W" -F "$FREQ" --call-graph "$CG" $RARGS -d "$TOTAL" -o "$TMP/old.data" 2>"$TMP/old.err" &
  pids+=("$!")
  names+=("rprof (OLD)")
  rec+=("$!")
fi
if command -v perf >/dev/null; then
  perf record -p "$W" "${PERF_EV[@]}" -g -o "$TMP/perf.data" -- sleep "$TOTAL" >/dev/null 2>"$TMP/perf.err" &
  pids+=("$!")
  names+=("perf record -g")
  rec+=("$!")
fi
rss() { awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "-"; }
header="| s |"; sep="|---:|"
for n in "${names[@]}"; do header+=" $n RSS MB |"; sep+="---:|"; done
echo "$header"; echo "$sep"
t=0
while (( t + INTERVAL <= TOTAL )); do
  sleep "$INTERVAL"
  t=$((t + INTERVAL))
  row="| $t |"
  for p in "${rec[@]}"; do row+=" $(rss "$p") |"; done
  echo "$row"
done
hwm() { awk '/^VmHWM:/{printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || true; }
declare -A peak
while :; do
  alive=0
  for p in "${rec[@]}"; do
    v=$(hwm "$p")
    if [[ -n $v ]]; then alive=1; peak[$p]=$v; fi
  done
  (( alive )) || break
  sleep 0.1
done
for p in "${rec[@]}"; do wait "$p" || true; done
echo
row="| peak RSS at the end (VmHWM) MB |"
for p in "${rec[@]}"; do row+=" ${peak[$p]:--} |"; done
echo "$row"
for f in new old; do
  [[ -f $TMP/$f.err ]] || continue
  echo "$f: $(grep -h ' samples, ' "$TMP/$f.err" | tail -1 | sed 's/^rprof: //')"
  echo "$f: data file $(stat -c %s "$TMP/$f.data" 2>/dev/null || echo 0) bytes"
  echo "$f: profile rows $("$RPROF" report --format json "$TMP/$f.data" 2>/dev/null | awk -F'[:,]' '/"sample_rows"/{gsub(/ /,"",$2); print $2}')"
  echo "$f: distinct (thread, stack) $("$RPROF" flamegraph --folded --per-thread -o - "$TMP/$f.data" 2>/dev/null | wc -l)"
done
[[ -f $TMP/perf.data ]] && echo "perf: data file $(stat -c %s "$TMP/perf.data") bytes"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
