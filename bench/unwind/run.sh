#!/usr/bin/env bash
# Per-sample cost of the DWARF unwinding core (src/unwind/dwarf.rs), side by side with perf's
# own DWARF unwinding of the same kind of samples.
#
# rprof: real register + stack snapshots of the no-frame-pointer fixtures (fixtures/unwind/),
#        taken with ptrace, unwound 100k times each by ProcessUnwinder (release build).
# perf:  `perf record --call-graph dwarf` of the same fixture, then `perf script` (which unwinds
#        every sample with libdw/libunwind, and also symbolizes and prints: an upper bound on its
#        unwinding cost), divided by the number of samples.
#
# Usage: bench/unwind/run.sh [SECONDS_OF_PERF_RECORDING]   (default 5). Needs gcc; perf optional.
# SKIP_RPROF=1 runs only the perf half.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-5}
OUT=bench/out/unwind
mkdir -p "$OUT"

if [ "${SKIP_RPROF:-0}" != 1 ]; then
  echo "== rprof ProcessUnwinder (cargo test --release, ignored bench test)"
  RPROF_BENCH_ITERS=${RPROF_BENCH_ITERS:-100000} \
    cargo test -q --release --test unwind_dwarf -- --ignored --nocapture bench_unwind_ns_per_sample \
    2>&1 | grep '^BENCH' | tee "$OUT/rprof.txt"
  echo "== stack copy size needed for complete stacks (python3, Rust fixture)"
  cargo test -q --release --test unwind_dwarf -- --ignored --nocapture bench_stack_copy_size_needed \
    2>&1 | grep '^STACK' | tee "$OUT/stack-size.txt"
fi

if ! command -v perf >/dev/null; then
  echo "perf not installed: skipping the side-by-side part"
  exit 0
fi
echo "== perf record --call-graph dwarf + perf script, ${SECS}s at 999 Hz"
gcc -O2 -g -fomit-frame-pointer -o "$OUT/chain" fixtures/unwind/chain.c
gcc -O2 -g -fomit-frame-pointer -o "$OUT/qsort_cb" fixtures/unwind/qsort_cb.c
for prog in chain qsort_cb; do
  perf record -q -F 999 --call-graph dwarf,16384 -o "$OUT/$prog.perf.data" \
    -- timeout "$SECS" "$OUT/$prog" >/dev/null 2>&1 || true
  samples=$(perf script -i "$OUT/$prog.perf.data" -F tid 2>/dev/null | wc -l)
  start=$(date +%s%N)
  perf script -i "$OUT/$prog.perf.data" >"$OUT/$prog.perf.txt" 2>/dev/null
  end=$(date +%s%N)
  ns=$(( (end - start) / samples ))
  complete=$(awk 'BEGIN{RS=""} {n++; if ($0 ~ /_start/) c++} END{printf "%.1f", 100*c/n}' "$OUT/$prog.perf.txt")
  echo "PERF $prog: $samples samples, perf script $(( (end - start) / 1000000 )) ms = $ns ns/sample, ${complete}% of stacks reach _start" \
    | tee -a "$OUT/perf.txt"
done
ls -l "$OUT"/*.perf.data | awk '{print "perf.data size:", $5, $9}'
