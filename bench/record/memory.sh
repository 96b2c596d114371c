#!/usr/bin/env bash
# Memory of a long recording, side by side in one run: one four-thread busy process
# (bench/record/threads4.c) recorded at the same time by this rprof, another rprof build
# (OLD=/path/to/rprof, e.g. the main branch's, optional) and `perf record -g`, all attached with
# -p for SECONDS; every INTERVAL seconds each recorder's RSS (VmRSS, /proc/PID/status) is
# printed. rprof merges identical samples while recording, so its RSS should stay flat after
# the first interval; perf streams to its file and stays flat too (its file grows instead).
#   bench/record/memory.sh                              # the issue's run: 600 s at 999 Hz, each minute
#   SECONDS_TOTAL=120 INTERVAL=20 FREQ=4999 OLD=/tmp/rprof-main bench/record/memory.sh
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
gcc -O1 -g -fno-omit-frame-pointer -o "$TMP/threads4" bench/record/threads4.c -lpthread
"$TMP/threads4" $((TOTAL + 30)) &
W=$!
pids+=("$W")
sleep 0.5
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; -F $FREQ, --call-graph $CG, ${TOTAL} s, RSS every ${INTERVAL} s"
"$RPROF" record -p "$W" -F "$FREQ" --call-graph "$CG" -d "$TOTAL" -o "$TMP/new.data" 2>"$TMP/new.err" &
NEW=$!
pids+=("$NEW")
names=("rprof (this branch)")
rec=("$NEW")
if [[ -n $OLD ]]; then
  "$OLD" record -p "$W" -F "$FREQ" --call-graph "$CG" -d "$TOTAL" -o "$TMP/old.data" 2>"$TMP/old.err" &
  pids+=("$!")
  names+=("rprof (OLD)")
  rec+=("$!")
fi
if command -v perf >/dev/null; then
  perf record -p "$W" -F "$FREQ" -g -o "$TMP/perf.data" -- sleep "$TOTAL" >/dev/null 2>"$TMP/perf.err" &
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
for p in "${rec[@]}"; do wait "$p" || true; done
echo
for f in new old; do
  [[ -f $TMP/$f.err ]] || continue
  echo "$f: $(grep -h ' samples, ' "$TMP/$f.err" | tail -1 | sed 's/^rprof: //')"
  echo "$f: data file $(stat -c %s "$TMP/$f.data" 2>/dev/null || echo 0) bytes"
done
[[ -f $TMP/perf.data ]] && echo "perf: data file $(stat -c %s "$TMP/perf.data") bytes"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
