#!/usr/bin/env bash
# Side-by-side benchmark: `rprof massif FILE` vs `ms_print FILE` on one large massif output.
#
# The input is made once (cached in bench/massif/out/) by running a real program, CPython on
# workload.py, under `valgrind --tool=massif --detailed-freq=1 --max-snapshots=1000
# --threshold=0.01`, so every snapshot carries a large allocation tree. Each tool then reads the
# same file RUNS times (default 3) in this one run; wall time and peak memory come from
# `/usr/bin/time -v`, and the best run of each is reported with the ratio. The ms_print part of
# rprof's output is also checked to be identical to ms_print's.
#
# Usage: bench/massif/run.sh [RUNS]        (from anywhere; needs valgrind, ms_print, python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
runs="${1:-3}"
out="$here/out"
mkdir -p "$out"
big="$out/python-json.massif"

for tool in valgrind ms_print /usr/bin/python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

(cd "$root" && { cargo build --release --quiet 2>/dev/null || cargo build --release; })
rprof="$root/target/release/rprof"

if [ ! -s "$big" ]; then
    echo "making $big ..." >&2
    valgrind --tool=massif --detailed-freq=1 --max-snapshots=1000 --threshold=0.01 \
        --massif-out-file="$big" /usr/bin/python3 "$here/workload.py" 2>/dev/null
fi
size_mb=$(awk -v b="$(stat -c %s "$big")" 'BEGIN { printf "%.1f", b / 1048576 }')
lines=$(wc -l < "$big")

# measure CMD...: prints "wall_s cpu_s kilobytes" of the best (fastest wall) of $runs runs.
# CPU time (user + system) is reported too: on a shared machine it varies less than wall time.
measure() {
    local best_s="" best_cpu="" best_kb="" s cpu kb log
    log="$(mktemp)"
    for _ in $(seq "$runs"); do
        /usr/bin/time -v "$@" > /dev/null 2> "$log"
        s=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); t = 0; for (i = 1; i <= n; i++) t = t * 60 + p[i]; print t }' "$log")
        cpu=$(awk -F': ' '/User time|System time/ { t += $2 } END { printf "%.2f", t }' "$log")
        kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log")
        if [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then
            best_s=$s; best_cpu=$cpu; best_kb=$kb
        fi
    done
    rm -f "$log"
    echo "$best_s $best_cpu $best_kb"
}

cd "$out"
read -r r_s r_cpu r_kb < <(measure "$rprof" massif "$(basename "$big")")
read -r m_s m_cpu m_kb < <(measure ms_print "$(basename "$big")")

# Same numbers and text: compare ms_print's output with the ms_print part of rprof's.
"$rprof" massif "$(basename "$big")" | sed -n '/^-----/,$p' > rprof.txt
ms_print "$(basename "$big")" > ms_print.txt
if cmp -s rprof.txt ms_print.txt; then same="identical"; else same="DIFFERENT"; fi

echo "input: $big ($size_mb MiB, $lines lines); best of $runs runs"
printf '%-22s %10s %10s %14s\n' "tool" "wall (s)" "cpu (s)" "peak RSS (MiB)"
printf '%-22s %10s %10s %14s\n' "rprof massif FILE" "$r_s" "$r_cpu" "$(awk -v k="$r_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
printf '%-22s %10s %10s %14s\n' "ms_print FILE" "$m_s" "$m_cpu" "$(awk -v k="$m_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
awk -v r="$r_s" -v m="$m_s" 'BEGIN { if (r > 0) printf "speed-up (wall): %.1fx\n", m / r; else print "speed-up: rprof under timer resolution" }'
awk -v r="$r_cpu" -v m="$m_cpu" 'BEGIN { if (r > 0) printf "speed-up (cpu):  %.1fx\n", m / r }'
echo "ms_print section of rprof's output vs ms_print: $same"
