// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * Programs that measure the floor under rprof strace-summary's in-kernel backend
 * (bench/strace/floor.sh): what a syscall hook costs before it does anything, and what the
 * work every latency needs (two clock reads) adds. Not part of rprof.
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} sink SEC(".maps");

/* Keeps a value live so that the compiler cannot drop the work that made it. */
static __always_inline void keep(u64 v)
{
	u32 k = v & 1;
	u64 *p = bpf_map_lookup_elem(&sink, &k);
	if (p)
		*p += 1;
}

/* The raw syscall tracepoints with nothing to do: enabling them sends every syscall of every
 * task through the kernel's slow syscall path. */
SEC("raw_tp/sys_enter")
int hook_enter(void *ctx) { return 0; }
SEC("raw_tp/sys_exit")
int hook_exit(void *ctx) { return 0; }

/* The same hooks with one clock read each: the least a latency needs. */
SEC("raw_tp/sys_enter")
int clock_enter(void *ctx) { keep(bpf_ktime_get_ns()); return 0; }
SEC("raw_tp/sys_exit")
int clock_exit(void *ctx) { keep(bpf_ktime_get_ns()); return 0; }

/* BPF trampolines on the syscall dispatcher, which avoid the slow path where the kernel
 * permits them. */
SEC("fentry/x64_sys_call")
int BPF_PROG(tramp_enter) { return 0; }
SEC("fexit/x64_sys_call")
int BPF_PROG(tramp_exit) { return 0; }
