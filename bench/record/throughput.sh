#!/usr/bin/env bash
# Sampling throughput with DWARF stacks: `rprof record --call-graph dwarf` and `perf record
# --call-graph dwarf` side by side at rising -F on four busy threads (bench/record/threads4.c),
# SECONDS each. Prints samples taken, lost, samples/s, and the kernel's sample-rate ceiling
# after each run (the kernel lowers kernel.perf_event_max_sample_rate when sampling interrupts
# take too long: "throttling").
#   bench/record/throughput.sh                 # F = 1000 5000 10000 20000, 5 s each
#   FREQS="999 4000" SECONDS_EACH=10 bench/record/throughput.sh
# perf's own default stack copy is 8 KiB, rprof's 64 KiB (STACK=BYTES sets both to BYTES).
# LANES="1 2" runs rprof once per number of drain threads (RPROF_DRAIN_THREADS); the default
# is rprof's own choice (one thread per 8 CPUs, at most half the cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
FREQS=${FREQS:-"1000 5000 10000 20000"}
SECS=${SECONDS_EACH:-5}
STACK=${STACK:-}
LANES=${LANES:-default}
# RPROF=/path/to/rprof compares another build (an older one, say) against perf.
if [[ -z ${RPROF:-} ]]; then
  cargo build --release --quiet
  RPROF=$PWD/target/release/rprof
fi
R=$RPROF
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
gcc -O1 -g -fno-omit-frame-pointer -o "$TMP/threads4" bench/record/threads4.c -lpthread
RATE0=$(cat /proc/sys/kernel/perf_event_max_sample_rate)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; perf_event_max_sample_rate $RATE0"
printf '| -F | tool | samples | lost | lost %% | samples/s | unwind ns/sample | peak RSS MB | data MB | max_sample_rate after |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for F in $FREQS; do
  cg=dwarf; [[ -n $STACK ]] && cg="dwarf,$STACK"
  for lanes in $LANES; do
    label=rprof
    if [[ $lanes == default ]]; then
      env -u RPROF_DRAIN_THREADS /usr/bin/time -f "%M" -o "$TMP/r.rss" "$R" record -F "$F" --call-graph "$cg" -o "$TMP/r.data" -- "$TMP/threads4" "$SECS" >/dev/null 2>"$TMP/r.err" || true
    else
      label="rprof, $lanes drain thread(s)"
      RPROF_DRAIN_THREADS=$lanes /usr/bin/time -f "%M" -o "$TMP/r.rss" "$R" record -F "$F" --call-graph "$cg" -o "$TMP/r.data" -- "$TMP/threads4" "$SECS" >/dev/null 2>"$TMP/r.err" || true
    fi
    line=$(grep -h " samples, " "$TMP/r.err" | tail -1)
    s=$(sed -E 's/.*rprof: ([0-9,]+) samples.*/\1/' <<<"$line" | tr -d ,)
    l=$(sed -E 's/.* ([0-9,]+) lost.*/\1/' <<<"$line" | tr -d ,)
    u=$(grep -ho '([0-9,]* ns/sample)' "$TMP/r.err" | tail -1 | tr -dc '0-9')
    awk -v F="$F" -v label="$label" -v u="${u:-0}" -v s="$s" -v l="$l" -v secs="$SECS" -v rss="$(cat "$TMP/r.rss")" -v sz="$(stat -c %s "$TMP/r.data" 2>/dev/null || echo 0)" -v rate="$(cat /proc/sys/kernel/perf_event_max_sample_rate)" \
      'BEGIN { printf "| %d | %s | %d | %d | %.1f | %.0f | %d | %.0f | %.1f | %d |\n", F, label, s, l, (s+l)?100*l/(s+l):0, s/secs, u, rss/1024, sz/1e6, rate }'
  done
  /usr/bin/time -f "%M" -o "$TMP/p.rss" perf record -F "$F" --call-graph "$cg" -o "$TMP/p.data" -- "$TMP/threads4" "$SECS" >/dev/null 2>"$TMP/p.err" || true
  ps=$(perf report -i "$TMP/p.data" --stats 2>/dev/null | awk '/SAMPLE events:/{print $3; exit}')
  # perf's own total of lost samples (what its "Processed N samples and lost X%" counts):
  # the PERF_RECORD_LOST_SAMPLES records it appends.
  lostn=$(perf report -i "$TMP/p.data" -D 2>/dev/null | awk '/PERF_RECORD_LOST_SAMPLES/{split($0,a,":"); m+=a[length(a)]} END{print m+0}')
  awk -v F="$F" -v s="${ps:-0}" -v l="${lostn:-0}" -v secs="$SECS" -v rss="$(cat "$TMP/p.rss")" -v sz="$(stat -c %s "$TMP/p.data" 2>/dev/null || echo 0)" -v rate="$(cat /proc/sys/kernel/perf_event_max_sample_rate)" \
    'BEGIN { printf "| %d | perf | %d | %d | %.1f | %.0f | - | %.0f | %.1f | %d |\n", F, s, l, (s+l)?100*l/(s+l):0, s/secs, rss/1024, sz/1e6, rate }'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); stack copy: ${STACK:-rprof 65528 B, perf 8192 B (defaults)}"
dmesg 2>/dev/null | grep -i "perf: interrupt took too long" | tail -2 || true
