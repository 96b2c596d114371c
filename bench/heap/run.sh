#!/usr/bin/env bash
# Side-by-side benchmark: `rprof heap` against heaptrack and valgrind massif, on the same two
# workloads in one run:
#   allocs - bench/heap/allocs.c, 4,060,000 malloc/free pairs from a few call sites (gcc -O2)
#   python - CPython running bench/massif/workload.py (a JSON workload; pymalloc on, as shipped)
# For each: wall and CPU time of bare, rprof heap, heaptrack (recording only) and valgrind
# massif, with the slowdown against bare; the target's peak RSS (bare and under rprof heap,
# measured inside the profiled process tree by /usr/bin/time -f %M); rprof's own analysis time
# (from its end-of-run line) and heaptrack_print's time on heaptrack's file. Best of RUNS runs
# (default 1); the machine is shared, so `uptime` is printed beside the figures.
#
# Usage: bench/heap/run.sh [RUNS]     (needs gcc, /usr/bin/time, python3; heaptrack and valgrind
#                                      are skipped with a note when missing)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
runs="${1:-1}"
out="$here/out"
mkdir -p "$out"
(cd "$root" && { cargo build --release --quiet 2>/dev/null || cargo build --release; })
rprof="$root/target/release/rprof"
gcc -O2 -g -o "$out/allocs" "$here/allocs.c"
py=/usr/bin/python3
have() { command -v "$1" >/dev/null 2>&1; }

# best CMD...: "wall cpu" of the fastest of $runs runs (the command's output is discarded).
best() {
    local bw="" bc="" log w c
    log="$(mktemp)"
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %U %S" -o "$log" "$@" >/dev/null 2>"$out/last.err" || true
        read -r w u s < "$log"
        c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        if [ -z "$bw" ] || awk -v a="$w" -v b="$bw" 'BEGIN { exit !(a < b) }'; then bw=$w; bc=$c; fi
    done
    rm -f "$log"
    echo "$bw $bc"
}

# The target's own peak RSS in KiB: /usr/bin/time runs inside the (profiled) process tree.
inner_rss() {
    local f
    f="$(mktemp)"
    "$@" /usr/bin/time -f "%M" -o "$f" "${target[@]}" >/dev/null 2>&1 || true
    cat "$f"
    rm -f "$f"
}

report() {
    local name="$1"
    shift
    target=("$@")
    local bare rp ht vg
    read -r bw bc < <(best "${target[@]}")
    read -r rw rc < <(best "$rprof" heap -- "${target[@]}")
    local analysis
    analysis=$(sed -n 's/.*analysed in \([0-9.]*\) s.*/\1/p' "$out/last.err" | tail -1)
    local events
    events=$(sed -n 's/^rprof: \([0-9,]*\) events.*/\1/p' "$out/last.err" | tail -1)
    local rss_bare rss_rprof
    rss_bare=$(inner_rss env)
    rss_rprof=$(inner_rss "$rprof" heap --)
    echo
    echo "== $name: ${target[*]}  ($events events recorded by rprof heap)"
    printf '%-26s %9s %9s %9s\n' "tool" "wall (s)" "cpu (s)" "slowdown"
    printf '%-26s %9s %9s %9s\n' "bare" "$bw" "$bc" "1.0x"
    ratio() { awk -v a="$1" -v b="$bw" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
    printf '%-26s %9s %9s %9s\n' "rprof heap" "$rw" "$rc" "$(ratio "$rw")"
    if have heaptrack; then
        rm -f "$out"/ht.*
        read -r hw hc < <(best heaptrack -o "$out/ht" "${target[@]}")
        printf '%-26s %9s %9s %9s\n' "heaptrack (record)" "$hw" "$hc" "$(ratio "$hw")"
        local htfile
        htfile=$(ls "$out"/ht.* 2>/dev/null | head -1 || true)
        if [ -n "$htfile" ] && have heaptrack_print; then
            read -r pw pc < <(best heaptrack_print "$htfile")
            printf '%-26s %9s %9s\n' "heaptrack_print (analysis)" "$pw" "$pc"
        fi
    else
        echo "heaptrack: not installed (apt-get install heaptrack)"
    fi
    if have valgrind; then
        read -r vw vc < <(best valgrind --tool=massif --massif-out-file="$out/massif.out" "${target[@]}")
        printf '%-26s %9s %9s %9s\n' "valgrind --tool=massif" "$vw" "$vc" "$(ratio "$vw")"
    else
        echo "valgrind: not installed"
    fi
    echo "rprof heap analysis (symbolize + replay + report): ${analysis} s"
    awk -v b="$rss_bare" -v r="$rss_rprof" 'BEGIN { printf "target peak RSS: bare %.1f MiB, under rprof heap %.1f MiB (%.2fx)\n", b / 1024, r / 1024, (b > 0 ? r / b : 0) }'
}

echo "load: $(uptime)"
report allocs "$out/allocs"
report python "$py" "$root/bench/massif/workload.py"
echo
echo "load: $(uptime)"
