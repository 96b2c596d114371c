#!/usr/bin/env bash
# Runs every fuzz target under fuzz/ in turn and prints a table of executions, speed and
# crashes; exits non-zero when any target crashed.
#
#   bench/fuzz.sh [SECONDS_PER_TARGET] [RUNS]      defaults: 60 s, 10000000 runs
#
# Each target stops after SECONDS_PER_TARGET or RUNS executions, whichever comes first.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Seeds come from
# fixtures/ (fuzz/seed.sh); the corpus grows in fuzz/corpus/<target>/ across runs, crash inputs
# land in fuzz/artifacts/<target>/ and each run's libFuzzer log in bench/out/fuzz/<target>.log.
# Builds without a sanitizer by default (the parsers are safe Rust; a huge allocation is caught
# by the targets' own allocator, see fuzz/src/lib.rs): FUZZ_SANITIZER=address to use ASan.
# Runs niced (the machine may be shared); FUZZ_TARGETS="a b" to run only some targets.
set -uo pipefail
secs=${1:-60}
runs=${2:-10000000}
san=${FUZZ_SANITIZER:-none}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
unset CARGO_TARGET_DIR # fuzz builds go to fuzz/target, away from the normal build
out="$root/bench/out/fuzz"
mkdir -p "$out"

fuzz/seed.sh >/dev/null || exit 2
echo "building fuzz targets (sanitizer: $san)..." >&2
nice -n 10 cargo +nightly fuzz build -s "$san" >"$out/build.log" 2>&1 || {
    echo "fuzz build failed, see $out/build.log" >&2
    tail -20 "$out/build.log" >&2
    exit 2
}

targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
failed=0
printf '%-12s %12s %9s %8s %7s\n' target executions exec/s crashes seconds
for t in $targets; do
    mkdir -p "fuzz/artifacts/$t"
    before=$(find "fuzz/artifacts/$t" -type f | wc -l)
    start=$(date +%s)
    nice -n 10 cargo +nightly fuzz run -s "$san" "$t" -- \
        -max_total_time="$secs" -runs="$runs" -print_final_stats=1 \
        -rss_limit_mb=2048 -timeout=10 >"$out/$t.log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    after=$(find "fuzz/artifacts/$t" -type f | wc -l)
    crashes=$((after - before))
    # libFuzzer stops at the first crash; a failure with no artifact (a build or setup error)
    # still counts as a failure.
    if [ $rc -ne 0 ] && [ $crashes -eq 0 ]; then crashes="error($rc)"; fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t.log" | tail -1)
    printf '%-12s %12s %9s %8s %7s\n' "$t" "${execs:-?}" "${speed:-?}" "$crashes" "$took"
    if [ "$crashes" != 0 ]; then
        failed=1
        grep -m1 -E "panicked at|rprof-fuzz:|ERROR: libFuzzer|deadly signal" "$out/$t.log" | sed 's/^/    /'
        find "fuzz/artifacts/$t" -type f -newer "$out/build.log" | sed 's/^/    input: /'
    fi
done
exit $failed
