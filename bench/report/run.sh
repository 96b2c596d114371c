#!/usr/bin/env bash
# report's views and filters against go tool pprof's, side by side on the same pprof file in
# one run (200k distinct stacks, 1M samples, written by `rprof convert --to pprof`):
#   call tree      rprof report --tree --percent-limit 1   vs  go tool pprof -tree -nodefraction=0.01
#   callers/callees rprof report --callers R --callees R    vs  go tool pprof -peek R
#   focus + hide   rprof report --focus R --hide S          vs  go tool pprof -top -focus R -hide S
#   source lines   rprof report --list R (a recording)      vs  go tool pprof -list R (same file as pprof)
# Usage: RUNS=5 bench/report/run.sh   (writes bench/out/report.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
OUT=bench/out/report
mkdir -p "$OUT"
cargo build --release -q
R=$PWD/target/release/rprof
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 1; }
command -v go >/dev/null || { echo "needs go (apt-get install golang-go)"; exit 1; }
MD=bench/out/report.md
{ echo "load: $(uptime)"; echo; } > "$MD"

[ -s "$OUT/big.folded" ] || python3 bench/flamegraph/gen.py 200000 1000000 "$OUT/big.folded"
"$R" convert "$OUT/big.folded" --to pprof -o "$OUT/big.pb.gz" 2>/dev/null
P=$OUT/big.pb.gz
RE='^mod3::func_[0-9]*3$'
hyperfine -N -w 1 -r "$RUNS" --export-markdown "$OUT/views.md" \
  -n "rprof --tree" "$R report $P --tree --percent-limit 1" \
  -n "pprof -tree" "go tool pprof -tree -nodefraction=0.01 $P" \
  -n "rprof --callers/--callees" "$R report $P --callers $RE --callees $RE" \
  -n "pprof -peek" "go tool pprof -peek $RE $P" \
  -n "rprof --focus --hide" "$R report $P --focus mod5:: --hide mod7::" \
  -n "pprof -top -focus -hide" "go tool pprof -top -focus mod5:: -hide mod7:: $P" >/dev/null
{
  echo "## Views of a large pprof file (200k stacks, 1M samples)"
  echo
  cat "$OUT/views.md"
  echo
} >> "$MD"

# Source lines: a real recording of a C program built -O2 -g, as rprof data and as pprof.
gcc -O2 -g -o "$OUT/hotline" fixtures/record/hotline.c
"$R" record -o "$OUT/hot.data" -- "$OUT/hotline" 2 2>/dev/null
"$R" report "$OUT/hot.data" --format pprof -o "$OUT/hot.pb.gz" 2>/dev/null
hyperfine -N -w 1 -r "$RUNS" --export-markdown "$OUT/list.md" \
  -n "rprof --list crunch" "$R report $OUT/hot.data --list crunch" \
  -n "pprof -list crunch" "go tool pprof -list crunch $OUT/hot.pb.gz" >/dev/null
{
  echo "## Source listing of a recording (hotline.c, 2 s)"
  echo
  cat "$OUT/list.md"
  echo
} >> "$MD"

# Ratios: each rprof row against the pprof row after it.
python3 - "$OUT/views.md" "$OUT/list.md" >> "$MD" <<'PY'
import re, sys
for path in sys.argv[1:]:
    lines = open(path).read().splitlines()
    scale = 1000.0 if "Mean [s]" in lines[0] else 1.0
    rows = [l for l in lines if l.startswith("| `")]
    means = [(r.split("|")[1].strip(" `"), scale * float(re.split(r"\s+", r.split("|")[2].strip())[0])) for r in rows]
    for (a, ta), (b, tb) in zip(means[0::2], means[1::2]):
        print(f"- {a}: {ta:.1f} ms, {b}: {tb:.1f} ms, rprof {tb / ta:.1f}x faster")
PY
cat "$MD"
