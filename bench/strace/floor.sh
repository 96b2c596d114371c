#!/usr/bin/env bash
# The floor under any syscall-latency tracer on this machine, beside rprof strace-summary:
# the workload of bench/strace/run.sh (fixtures/strace/mix.c, 2 threads, 3.2 N syscalls) bare,
# under empty raw_syscalls hooks, under the same hooks with one clock read each (the least a
# latency needs), under BPF trampolines on the syscall dispatcher (fentry/fexit x64_sys_call,
# where the kernel permits them), and under rprof's two in-kernel modes.
#
#   bench/strace/floor.sh               # N=500000, 5 rounds, variants interleaved
#   N=100000 ROUNDS=3 bench/strace/floor.sh
#   RPROF_BEFORE=/path/to/older/rprof bench/strace/floor.sh   # adds that build's two modes
#
# Reports wall and CPU seconds (user + system of the workload; for rprof, of rprof and the
# workload), means over the rounds. On a shared, loaded machine the CPU time is the steadier
# figure: wall time then mostly measures waiting for a CPU. Needs root, clang, gcc, libbpf-dev.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-500000}
ROUNDS=${ROUNDS:-5}
cargo build --release --quiet
RPROF=${RPROF:-$PWD/target/release/rprof}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
gcc -O2 -o "$TMP/mix" fixtures/strace/mix.c -lpthread
clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Isrc/strace/bpf -I/usr/include/"$(uname -m)"-linux-gnu \
  -c bench/strace/floor/probe.bpf.c -o "$TMP/probe.bpf.o"
gcc -O2 -o "$TMP/loader" bench/strace/floor/loader.c -lbpf
L="$TMP/loader"
O="$TMP/probe.bpf.o"

VARIANTS=(bare hook clock rprof_counts rprof)
if [[ -n ${RPROF_BEFORE:-} ]]; then
  VARIANTS+=(before_counts before)
fi
if "$L" "$O" tramp_enter,tramp_exit -- true >/dev/null 2>"$TMP/tramp.err"; then
  VARIANTS+=(tramp)
  TRAMP=""
else
  TRAMP=$(tail -1 "$TMP/tramp.err")
fi
declare -A W C
for v in "${VARIANTS[@]}"; do W[$v]=0; C[$v]=0; done
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq "$ROUNDS"); do
  for v in "${VARIANTS[@]}"; do
    case $v in
      bare) r=$("$L" "$O" none -- "$TMP/mix" "$N");;
      hook) r=$("$L" "$O" hook_enter,hook_exit -- "$TMP/mix" "$N");;
      clock) r=$("$L" "$O" clock_enter,clock_exit -- "$TMP/mix" "$N");;
      tramp) r=$("$L" "$O" tramp_enter,tramp_exit -- "$TMP/mix" "$N");;
      rprof) r=$("$L" "$O" none -- "$RPROF" strace-summary -o "$TMP/t.txt" -- "$TMP/mix" "$N" 2>/dev/null);;
      rprof_counts) r=$("$L" "$O" none -- "$RPROF" strace-summary --counts-only -o "$TMP/c.txt" -- "$TMP/mix" "$N" 2>/dev/null);;
      before) r=$("$L" "$O" none -- "$RPROF_BEFORE" strace-summary -o "$TMP/t.txt" -- "$TMP/mix" "$N" 2>/dev/null);;
      before_counts) r=$("$L" "$O" none -- "$RPROF_BEFORE" strace-summary --counts-only -o "$TMP/c.txt" -- "$TMP/mix" "$N" 2>/dev/null);;
    esac
    W[$v]=$(awk -v a="${W[$v]}" -v b="$(cut -d' ' -f2 <<<"$r")" 'BEGIN{print a+b}')
    C[$v]=$(awk -v a="${C[$v]}" -v b="$(cut -d' ' -f4 <<<"$r")" 'BEGIN{print a+b}')
  done
done
CALLS=$(( 2*N + N + N/5 ))
printf '| run | wall s | cpu s | x bare (cpu) | ns per syscall over bare (cpu) |\n|---|---:|---:|---:|---:|\n'
for v in "${VARIANTS[@]}"; do
  case $v in
    bare) label="bare \`mix $N\`";;
    hook) label="empty \`raw_tp/sys_enter\` + \`raw_tp/sys_exit\` programs";;
    clock) label="the same hooks, one \`bpf_ktime_get_ns()\` each";;
    tramp) label="empty \`fentry\` + \`fexit\` on \`x64_sys_call\`";;
    rprof) label="\`rprof strace-summary\` (bpf, latencies)";;
    rprof_counts) label="\`rprof strace-summary --counts-only\`";;
    before) label="\`rprof strace-summary\` (\$RPROF_BEFORE)";;
    before_counts) label="\`rprof strace-summary --counts-only\` (\$RPROF_BEFORE)";;
  esac
  awk -v w="${W[$v]}" -v c="${C[$v]}" -v bc="${C[bare]}" -v r="$ROUNDS" -v n="$CALLS" -v l="$label" \
    'BEGIN { printf "| %s | %.3f | %.3f | %.2f | %.0f |\n", l, w/r, c/r, c/bc, (c-bc)/r/n*1e9 }'
done
echo
echo "N=$N ($CALLS syscalls); means of $ROUNDS rounds, variants interleaved; $(nproc) CPUs; kernel $(uname -r);"
echo "load average before/after: $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n $TRAMP ]]; then
  echo "BPF trampolines (fentry/fexit on x64_sys_call) are refused by this kernel: $TRAMP"
fi
