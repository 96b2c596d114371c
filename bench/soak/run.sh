#!/usr/bin/env bash
# The long soak: tests/soak.rs with 100 randomized SIGINT interruptions each of `rprof record`
# and `rprof flamegraph`, and 100 attach/detach trials on the self-checking target, then the
# summary lines (complete outputs, clean errors, failures) of each.
#
#   bench/soak/run.sh [N] [SEED]      defaults: 100, a seed from the clock (printed)
#
# Needs root or perf_event_paranoid <= 1, and gcc. Takes about 5 minutes at N=100.
set -uo pipefail
n=${1:-100}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
export RPROF_SOAK_INTERRUPTS=$n RPROF_SOAK_ATTACH=$n RPROF_REQUIRE_LIVE=1
[ $# -ge 2 ] && export RPROF_SOAK_SEED=$2
out="$root/bench/out/soak"
mkdir -p "$out"
start=$(date +%s)
cargo test --release --test soak -- --nocapture --test-threads=1 >"$out/soak.log" 2>&1
rc=$?
echo "bench/soak/run.sh: N=$n, $(($(date +%s) - start)) s, log in bench/out/soak/soak.log"
grep -oE 'soak [A-Za-z]+: .*|^trial .*|^test result.*' "$out/soak.log"
exit $rc
