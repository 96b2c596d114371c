#!/usr/bin/env bash
# Side-by-side benchmark of rprof flamegraph / report / data-file loading against the
# inferno pipeline (and Brendan Gregg's perl scripts when installed), on the same inputs in
# one run. Writes bench/out/flamegraph.md. Usage: bench/flamegraph/run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
OUT=bench/out/flamegraph
mkdir -p "$OUT"
cargo build --release -q
R=$PWD/target/release/rprof
export PATH="$PWD/bench/.tools/bin:$PATH"
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 1; }
command -v inferno-flamegraph >/dev/null || cargo install -q inferno --root bench/.tools

# 1. Synthetic large input: 200k distinct stacks, 1M samples.
[ -s "$OUT/big.folded" ] || python3 bench/flamegraph/gen.py 200000 1000000 "$OUT/big.folded"
"$R" convert "$OUT/big.folded" -o "$OUT/big.data" 2>/dev/null

# 2. perf script text of a real recording: python3 running a mixed workload.
if [ ! -s "$OUT/perf.txt" ]; then
  cat > "$OUT/work.py" <<'PY'
import json, re, hashlib, threading
def churn(n):
    d = {}
    for i in range(n):
        d[str(i)] = [i, str(i) * 3]
    return len(json.dumps(d))
def regex(n):
    return sum(len(re.findall(r"[a-f]+\d", hashlib.sha256(str(i).encode()).hexdigest())) for i in range(n))
ts = [threading.Thread(target=churn, args=(2000000,)), threading.Thread(target=regex, args=(1500000,))]
[t.start() for t in ts]; [t.join() for t in ts]
PY
  perf record -q -F 4999 -g -o "$OUT/perf.data" python3 "$OUT/work.py" >/dev/null 2>&1
  perf script -i "$OUT/perf.data" > "$OUT/perf.txt" 2>/dev/null
fi
NS=$(grep -c '^\S' "$OUT/perf.txt" || true)
SZ=$(du -h "$OUT/perf.txt" | cut -f1)

PERL=""
if command -v stackcollapse-perf.pl >/dev/null && command -v flamegraph.pl >/dev/null; then
  PERL=1
fi

hyperfine -N -w 1 -r "$RUNS" --export-json "$OUT/script.json" \
  -n "rprof flamegraph (perf script)" "$R flamegraph $OUT/perf.txt -o $OUT/r1.svg" \
  -n "inferno-collapse-perf | inferno-flamegraph" --shell=bash \
  "inferno-collapse-perf $OUT/perf.txt | inferno-flamegraph > $OUT/i1.svg" \
  ${PERL:+-n "stackcollapse-perf.pl | flamegraph.pl" "stackcollapse-perf.pl $OUT/perf.txt | flamegraph.pl > $OUT/p1.svg"} \
  >/dev/null 2>&1 || hyperfine -w 1 -r "$RUNS" --export-json "$OUT/script.json" \
  -n "rprof flamegraph (perf script)" "$R flamegraph $OUT/perf.txt -o $OUT/r1.svg" \
  -n "inferno-collapse-perf | inferno-flamegraph" \
  "inferno-collapse-perf $OUT/perf.txt | inferno-flamegraph > $OUT/i1.svg" >/dev/null

hyperfine -w 1 -r "$RUNS" --export-json "$OUT/folded.json" \
  -n "rprof flamegraph (1M-line folded)" "$R flamegraph $OUT/big.folded -o $OUT/r2.svg" \
  -n "inferno-flamegraph (1M-line folded)" "inferno-flamegraph $OUT/big.folded > $OUT/i2.svg" >/dev/null

hyperfine -w 1 -r "$RUNS" --export-json "$OUT/report.json" \
  -n "rprof report (1M-sample data file)" "$R report $OUT/big.data" \
  -n "rprof report (same stacks as folded text)" "$R report $OUT/big.folded" >/dev/null

# Differential: the first 700k lines against all 1M.
head -n 700000 "$OUT/big.folded" > "$OUT/part.folded"
hyperfine -w 1 -r "$RUNS" --export-json "$OUT/diff.json" \
  -n "rprof diff (folded, 700k vs 1M lines)" "$R diff $OUT/part.folded $OUT/big.folded -o $OUT/rd.svg" \
  -n "inferno-diff-folded | inferno-flamegraph" --shell=bash \
  "inferno-diff-folded $OUT/part.folded $OUT/big.folded | inferno-flamegraph > $OUT/id.svg" >/dev/null

# Loading alone, from rprof's own phase timings (median of RUNS).
load_ms() { for _ in $(seq "$RUNS"); do RPROF_TIMINGS=1 "$R" report "$1" 2>&1 >/dev/null | sed -n 's/.*read \([0-9.]*\) ms, parse \([0-9.]*\) ms.*/\1 \2/p'; done \
  | awk '{print $1+$2}' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
LD=$(load_ms "$OUT/big.data"); LF=$(load_ms "$OUT/big.folded")

python3 - "$OUT" "$NS" "$SZ" "$LD" "$LF" <<'PY'
import json, sys
out, ns, sz, ld, lf = sys.argv[1:]
def res(f):
    return [(r["command"], r["median"]) for r in json.load(open(f"{out}/{f}.json"))["results"]]
lines = []
def table(title, rows):
    base = rows[0][1]
    lines.append(f"| {title} | median | ratio to rprof |")
    lines.append("|---|---:|---:|")
    for n, t in rows:
        name = n.replace("|", "\\|")
        lines.append(f"| {name} | {t*1000:.0f} ms | {t/base:.2f}x |")
    lines.append("")
table(f"perf script text of a real recording ({ns} samples, {sz})", res("script"))
table("synthetic folded: 200k distinct stacks, 1M lines", res("folded"))
table("report on 1M samples", res("report"))
table("differential flame graph", res("diff"))
lines.append(f"Loading alone (read + decode/parse, rprof's RPROF_TIMINGS, median): data file {float(ld):.0f} ms, "
             f"folded text {float(lf):.0f} ms: the data file loads {float(lf)/float(ld):.1f}x faster.")
open(f"{out}.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
