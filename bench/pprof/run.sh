#!/usr/bin/env bash
# pprof and continuous-mode benchmarks, side by side in one run:
#  A. reading a large pprof file: `rprof report big.pb.gz` against `go tool pprof -top big.pb.gz`
#     (200k distinct stacks, 1M samples, written by `rprof convert --to pprof`);
#  B. continuous mode: `rprof record --push` on a 4-thread busy program for DURATION seconds at
#     99 Hz and 999 Hz, uploading every 15 s to a loopback receiver (standing in for Pyroscope),
#     against the same workload recorded once into rprof.data: rprof's CPU share, its RSS over
#     time, and the bytes written or uploaded.
# Usage: DURATION=600 RUNS=3 bench/pprof/run.sh   (writes bench/out/pprof.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-600}
RUNS=${RUNS:-3}
OUT=bench/out/pprof
mkdir -p "$OUT"
cargo build --release -q
R=$PWD/target/release/rprof
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 1; }
command -v go >/dev/null || { echo "needs go (apt-get install golang-go)"; exit 1; }
MD=bench/out/pprof.md
: > "$MD"

# A. Reading.
[ -s "$OUT/big.folded" ] || python3 bench/flamegraph/gen.py 200000 1000000 "$OUT/big.folded"
"$R" convert "$OUT/big.folded" --to pprof -o "$OUT/big.pb.gz" 2>/dev/null
SZ=$(du -h "$OUT/big.pb.gz" | cut -f1)
hyperfine -N -w 1 -r "$RUNS" --export-markdown "$OUT/read.md" \
  -n "rprof report big.pb.gz" "$R report $OUT/big.pb.gz" \
  -n "go tool pprof -top big.pb.gz" "go tool pprof -top $OUT/big.pb.gz" >/dev/null
{
  echo "## Reading a large pprof file ($SZ, 200k stacks, 1M samples)"
  echo
  cat "$OUT/read.md"
  echo
} >> "$MD"

# B. Continuous mode against one data file.
gcc -O2 -g -o "$OUT/threads4" bench/record/threads4.c -lpthread
cat > "$OUT/recv.py" <<'PY'
# Loopback receiver standing in for Pyroscope: answers 200 and logs each upload's size.
import http.server, sys
log = open(sys.argv[2], "w")
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers["content-length"]); self.rfile.read(n)
        log.write(f"{n}\n"); log.flush()
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
PORT=4099
python3 "$OUT/recv.py" $PORT "$OUT/uploads.log" & RECV=$!
trap 'kill $RECV 2>/dev/null || true' EXIT
sleep 0.5

# Runs rprof with the given arguments on threads4, sampling its CPU time and RSS every 5 s;
# prints "cpu_share_percent peak_rss_kb rss_kb_at_25/50/75/100%".
watch_run() {
  "$R" record "$@" -- "$OUT/threads4" "$DURATION" >/dev/null 2>"$OUT/stderr.txt" & local P=$!
  local hz; hz=$(getconf CLK_TCK)
  local t0; t0=$(date +%s.%N)
  : > "$OUT/rss.txt"
  local ticks=0
  while kill -0 $P 2>/dev/null; do
    if [ -r /proc/$P/stat ]; then
      local st; st=$(cut -d' ' -f14,15 /proc/$P/stat 2>/dev/null || true)
      [ -n "$st" ] && ticks=$(( ${st% *} + ${st#* } ))
      awk '/VmRSS/{print $2}' /proc/$P/status >> "$OUT/rss.txt" 2>/dev/null || true
    fi
    sleep 5
  done
  wait $P || true
  local t1; t1=$(date +%s.%N)
  python3 - "$ticks" "$hz" "$t0" "$t1" "$OUT/rss.txt" <<'PY'
import sys
ticks, hz, t0, t1 = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rss = [int(l) for l in open(sys.argv[5]) if l.strip()]
q = lambda f: rss[min(len(rss) - 1, int(f * (len(rss) - 1)))] if rss else 0
print(f"{100.0 * ticks / hz / (t1 - t0):.2f} {max(rss) if rss else 0} {q(0.25)}/{q(0.5)}/{q(0.75)}/{q(1.0)}")
PY
}

{
  echo "## Continuous mode: 4 busy threads for ${DURATION} s"
  echo
  echo "| rate | mode | rprof CPU (% of one core) | peak RSS | RSS at 25/50/75/100% of the run (KiB) | output |"
  echo "|---|---|---|---|---|---|"
} >> "$MD"
for HZ in 99 999; do
  : > "$OUT/uploads.log"
  read -r CPU PEAK CURVE < <(watch_run -F $HZ --push http://127.0.0.1:$PORT --interval 15s)
  N=$(wc -l < "$OUT/uploads.log"); TOT=$(awk '{s+=$1} END{print s+0}' "$OUT/uploads.log")
  AVG=$(( N > 0 ? TOT / N : 0 ))
  echo "| $HZ Hz | --push (15 s intervals) | $CPU | $((PEAK / 1024)) MiB | $CURVE | $N uploads, $TOT bytes in all ($AVG per interval) |" >> "$MD"
  read -r CPU PEAK CURVE < <(watch_run -F $HZ -o "$OUT/once.data")
  SIZE=$(stat -c %s "$OUT/once.data")
  echo "| $HZ Hz | one rprof.data | $CPU | $((PEAK / 1024)) MiB | $CURVE | $SIZE bytes |" >> "$MD"
done
echo >> "$MD"
echo "Reproduce: DURATION=$DURATION RUNS=$RUNS bench/pprof/run.sh" >> "$MD"
cat "$MD"
