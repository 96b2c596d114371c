#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds taken from fixtures/ (the corpus is not committed:
# it is rebuilt from the fixtures, so seeds follow the fixtures as they change).
#   fuzz/seed.sh            seed every target (existing corpus entries are kept)
# The rprof data file seeds are written by `rprof convert` from the text fixtures, with the
# release binary (target/release/rprof, or $RPROF); without it only the committed .rprof
# fixtures are used. The minimized crashers under fixtures/fuzz/<target>/ are seeds too, so
# a regression shows at once; FUZZ_SEED_CRASHERS=0 leaves them out (and removes them from an
# existing corpus), to look for new crashes while known ones are still unfixed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus="$root/fuzz/corpus"
fx="$root/fixtures"

seed() { # seed TARGET FILE...
    local t=$1; shift
    mkdir -p "$corpus/$t"
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        # Flatten the fixture's path into a unique name.
        local rel=${f#"$root"/}
        rel=${rel#fuzz/corpus/.generated/}
        cp "$f" "$corpus/$t/${rel//\//_}"
    done
}

shopt -s nullglob
crashers() { # crashers TARGET...: the kept crash inputs of these targets, unless left out
    [ "${FUZZ_SEED_CRASHERS:-1}" = 0 ] && return
    local t
    for t in "$@"; do printf '%s\n' "$fx"/fuzz/$t/*; done
}
if [ "${FUZZ_SEED_CRASHERS:-1}" = 0 ] && [ -d "$corpus" ]; then
    for f in "$fx"/fuzz/*/*; do
        rel=${f#"$root"/}
        rm -f "$corpus"/*/"${rel//\//_}"
    done
fi

folded=("$fx"/inputs/*.folded "$fx"/expected/perf-script.folded)
perf=("$fx"/inputs/perf-script.txt)
massif=("$fx"/massif/*.massif.out)
strace=("$fx"/strace/*.log)
data=("$fx"/inputs/*.rprof "$fx"/inputs/v3/*.rprof)
perfdata=("$fx"/perf_data/*.data)

# Data files converted from every text fixture.
rprof=${RPROF:-$root/target/release/rprof}
gen="$corpus/.generated"
mkdir -p "$gen"
if [ -x "$rprof" ]; then
    for f in "${folded[@]}" "${perf[@]}" "${massif[@]}"; do
        out="$gen/$(basename "$f").rprof"
        "$rprof" convert "$f" -o "$out" >/dev/null 2>&1 || rm -f "$out"
        "$rprof" convert "$f" --to pprof -o "$gen/$(basename "$f").pb.gz" >/dev/null 2>&1 || true
    done
    # A data file whose rows stand for several samples (the counts column of format 4): the
    # perf script fixture through pprof, which merges samples of one stack and thread.
    "$rprof" convert "$gen/perf-script.txt.pb.gz" -o "$gen/perf-script.counts.rprof" >/dev/null 2>&1 || true
    data+=("$gen"/*.rprof)
else
    echo "seed.sh: $rprof not built; data_file seeds only from fixtures/inputs/*.rprof" >&2
fi

seed data_file "${data[@]}" $(crashers data_file)
# data_body takes a version byte and the uncompressed body (see its target): inflate each
# data file's body (raw deflate after the 40-byte header).
mkdir -p "$corpus/data_body"
for f in "${data[@]}"; do
    python3 - "$f" "$corpus/data_body/$(basename "$f").body" <<'PY' || true
import sys, zlib
d = open(sys.argv[1], "rb").read()
v = int.from_bytes(d[8:12], "little")
open(sys.argv[2], "wb").write(bytes([v]) + zlib.decompress(d[40:], -15))
PY
done
seed data_body $(crashers data_body)
seed folded "${folded[@]}" $(crashers folded)
seed perf_script "${perf[@]}" $(crashers perf_script)
seed massif "${massif[@]}" $(crashers massif)
seed massif_gz "${massif[@]}" $(crashers massif_gz)
seed strace_log "${strace[@]}" $(crashers strace_log)
seed pprof "$gen"/*.pb.gz $(crashers pprof)
seed perf_data "${perfdata[@]}" $(crashers perf_data)
seed load "${data[@]}" "${perfdata[@]}" "${folded[@]}" "${perf[@]}" "${massif[@]}" "$gen"/*.pb.gz $(crashers "*")
rm -rf "$gen"

for d in "$corpus"/*/; do
    printf '%-12s %3d seeds\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
