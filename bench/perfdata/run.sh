#!/usr/bin/env bash
# perf.data read directly, side by side with perf's own pipeline, on the same files in one run:
#
#   rprof flamegraph F -o r.svg    vs  perf script -i F | inferno-collapse-perf | inferno-flamegraph
#   rprof report --sort line F     vs  perf report -i F --sort srcline --stdio
#
# for four recordings made here: python3 (a JSON/regex workload) and a sizeable Rust program
# with debug info, each with frame pointers (`-g`) and with DWARF stack copies (`--call-graph
# dwarf`, perf's default 8 KiB), each SECONDS long at 999 Hz (default 10 s: about 10,000
# samples, a realistic recording; a 1 s one is dominated by start-up costs). The Rust program
# is ripgrep built with debug info (searching /usr/share, /usr/include and the repository),
# which the script builds into bench/.tools with cargo (RG_INSTALL=0 skips that); without it,
# rprof's own release binary (debug line tables, no frame pointers) folding a generated
# 300k-sample profile again and again. Each command runs once (perf report --sort srcline can
# take minutes); wall time, CPU time (user + system) and peak RSS come from /usr/bin/time.
# Prints a table with the ratios (of wall time, and of CPU time, which a loaded machine
# disturbs less) and writes it to bench/out/perfdata/table.md.
#
# Usage: bench/perfdata/run.sh [SECONDS_PER_RECORDING]   (default 10)
# Needs perf, python3, /usr/bin/time; installs inferno's binaries and ripgrep into bench/.tools
# with cargo when missing. PERF_TIMEOUT (default 600 s) bounds each perf command; a run that
# hits it is reported as ">TIMEOUT" and its ratio as a lower bound.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-10}
TMO=${PERF_TIMEOUT:-600}
OUT=bench/out/perfdata
mkdir -p "$OUT"
cargo build --release -q
R=$PWD/target/release/rprof
export PATH="$PWD/bench/.tools/bin:$PATH"
if [ "${INFERNO_INSTALL:-1}" = 1 ] && ! command -v inferno-flamegraph >/dev/null; then
  cargo install -q inferno --root bench/.tools
fi
# Without inferno's binaries (INFERNO_INSTALL=0 and none installed) the peer column is
# `perf script` alone: a lower bound of the pipeline's time, said so in the table.
PIPE="perf script -i FILE 2>/dev/null | inferno-collapse-perf | inferno-flamegraph > OUT"
PEER="perf script \\| inferno"
if ! command -v inferno-flamegraph >/dev/null; then
  PIPE="perf script -i FILE > OUT 2>/dev/null"
  PEER="perf script alone (no inferno: lower bound)"
fi
if [ "${RG_INSTALL:-1}" = 1 ] && ! command -v rg >/dev/null; then
  CARGO_PROFILE_RELEASE_DEBUG=true cargo install -q ripgrep --root bench/.tools
fi
RG=$(command -v rg || true)

cat > "$OUT/work.py" <<'PY'
import json, re, hashlib, sys, time
end = time.time() + float(sys.argv[1])
def churn(n):
    d = {str(i): [i, str(i) * 3] for i in range(n)}
    return len(json.dumps(d))
def regex(n):
    return sum(len(re.findall(r"[a-f]+\d", hashlib.sha256(str(i).encode()).hexdigest())) for i in range(n))
while time.time() < end:
    churn(20000); regex(20000)
PY
if [ -n "$RG" ]; then
  PROG=rg
  cat > "$OUT/prog.sh" <<SH
#!/bin/sh
# ripgrep over a large tree, again and again for the given seconds.
end=\$(( \$(date +%s) + \$1 ))
while [ \$(date +%s) -lt \$end ]; do
  "$RG" -c -i 'e[a-z]+or|fn [a-z_]+\(' /usr/share /usr/include "$PWD/src" >/dev/null 2>&1 || true
done
SH
else
  PROG=rprof
  [ -s "$OUT/gen.folded" ] || python3 bench/flamegraph/gen.py 50000 300000 "$OUT/gen.folded"
  cat > "$OUT/prog.sh" <<SH
#!/bin/sh
# rprof folding a generated profile into an SVG, again and again for the given seconds.
end=\$(( \$(date +%s) + \$1 ))
while [ \$(date +%s) -lt \$end ]; do
  "$R" flamegraph "$PWD/$OUT/gen.folded" -o - >/dev/null 2>&1 || true
done
SH
fi
chmod +x "$OUT/prog.sh"

record() { # record NAME MODE CMD...
  local name=$1 mode=$2; shift 2
  local cg=(-g)
  [ "$mode" = dwarf ] && cg=(--call-graph dwarf)
  perf record -q -F 999 "${cg[@]}" -o "$OUT/$name.data" -- "$@" >/dev/null 2>&1
}
record py-fp fp python3 "$OUT/work.py" "$SECS"
record py-dwarf dwarf python3 "$OUT/work.py" "$SECS"
record $PROG-fp fp "$OUT/prog.sh" "$SECS"
record $PROG-dwarf dwarf "$OUT/prog.sh" "$SECS"

# measure CMD: runs CMD under /usr/bin/time, prints "wall_seconds cpu_seconds peak_kib" (or
# ">TIMEOUT - -").
measure() {
  local log="$OUT/time.log"
  if timeout "$TMO" /usr/bin/time -f '%e %U %S %M' -o "$log" bash -c "$1" >/dev/null 2>"$OUT/stderr.log"; then
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$log"
  else
    echo ">TIMEOUT - -"
  fi
}
ratio() { # ratio PEER OURS
  awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /TIMEOUT/) { printf ">%.0fx", '"$TMO"'/b } else if (a == "-" || b + 0 == 0) { printf "-" } else printf "%.1fx", a/b }'
}
mib() { [ "$1" = - ] && echo - || awk -v k="$1" 'BEGIN { printf "%.0f", k/1024 }'; }

T="$OUT/table.md"
{
  echo "load before: $(uptime | sed 's/.*load average/load average/')"
  echo
  echo "Each cell: wall s / CPU s (user+sys) / peak MiB. Speedups: wall (CPU)."
  echo
  echo "| recording | size | samples | rprof flamegraph | $PEER | speedup | rprof report --sort line | perf report --sort srcline | speedup |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$T"
for name in py-fp py-dwarf $PROG-fp $PROG-dwarf; do
  f="$OUT/$name.data"
  size=$(du -h "$f" | cut -f1)
  samples=$("$R" report --format json "$f" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["samples"])')
  read -r rs rc rm <<<"$(measure "$R flamegraph $f -o $OUT/$name.rprof.svg")"
  pipe=${PIPE//FILE/$f}
  read -r ps pc pm <<<"$(measure "${pipe//OUT/$OUT/$name.peer.out}")"
  read -r ls lc lm <<<"$(measure "$R report --sort line --limit 50 $f > $OUT/$name.rprof.lines")"
  read -r qs qc qm <<<"$(measure "perf report -i $f --sort srcline --stdio > $OUT/$name.perf.lines 2>/dev/null")"
  printf '| %s | %s | %s | %s / %s / %s | %s / %s / %s | %s (%s) | %s / %s / %s | %s / %s / %s | %s (%s) |\n' \
    "$name" "$size" "$samples" \
    "$rs" "$rc" "$(mib "$rm")" "$ps" "$pc" "$(mib "$pm")" "$(ratio "$ps" "$rs")" "$(ratio "$pc" "$rc")" \
    "$ls" "$lc" "$(mib "$lm")" "$qs" "$qc" "$(mib "$qm")" "$(ratio "$qs" "$ls")" "$(ratio "$qc" "$lc")" >>"$T"
done
echo >>"$T"
echo "load after: $(uptime | sed 's/.*load average/load average/')" >>"$T"
cat "$T"
