// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * rprof strace-summary, in-kernel backend: per (process, thread, syscall) call counts,
 * latency sums, minimum, maximum and a log-linear latency histogram, plus per (process,
 * thread, syscall, errno) error counts, all kept in BPF maps. Nothing per call crosses a ring
 * buffer, so nothing can be lost; user space reads the maps once, when tracing stops
 * (src/strace/bpf.rs).
 *
 * Two modes, chosen before loading through a read-only global (the verifier then removes the
 * other mode's code):
 *   timed       entry stores (time, number) per thread; exit adds the latency to the stats.
 *   counts-only entry adds one call; exit counts errors. No timestamps, the cheapest mode.
 *
 * Which tasks are traced: `pids` holds traced process ids. A launched command enters ARMED
 * (until its exec it is still a copy of rprof and none of its calls are the command's) and
 * becomes TRACED at exec; forks and threads of traced processes are added as they are born.
 *
 * The per-call path is kept to what cannot be avoided, because on a kernel whose returns and
 * indirect calls carry speculation mitigations every helper call costs tens of nanoseconds:
 * a thread's state (traced or not, the call in progress) lives in `slots`, an array indexed by
 * thread id, whose lookup the verifier inlines into a bounds check and an address computation
 * (no call, no hashing). Thread ids at or above its size (set by the loader from pid_max) fall
 * back to task-local storage and the `pids` hash. What remains per call in timed mode is the
 * two clock reads and one hash lookup of the statistics; in counts-only mode one per-CPU
 * increment (or one hash update per thread and syscall when thread ids are kept).
 *
 * Build: clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -c syscalls.bpf.c (see build.rs).
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the loader before load, read-only once loaded. In a section of its own so that the
 * loader finds it at offset 0 of that section's map (src/strace/bpf.rs, Config). */
struct config {
	u32 timed;      /* 1: latencies; 0: counts only */
	u32 per_thread; /* counts-only: keep thread ids (else totals per syscall) */
	u32 nr_execve;
	u32 nr_exit;
	u32 nr_exit_group;
	u32 nr_clone;
	u32 nr_clone3;
	u32 nr_fork;
	u32 nr_vfork;
};
const volatile struct config cfg SEC(".rodata.cfg") = {
	.timed = 1, .per_thread = 1, .nr_execve = 59, .nr_exit = 60, .nr_exit_group = 231,
	.nr_clone = 56, .nr_clone3 = 435, .nr_fork = 57, .nr_vfork = 58,
};

/* Values of `pids`. */
#define TRACED 1
#define ARMED 2

/* Histogram layout, shared with src/strace/model.rs (Hist): values below 2^SUB_BITS ns have
 * a bucket each; above, each power of two 2^e is split into 2^SUB_BITS linear sub-buckets, so
 * a bucket's width is at most 1/32 of its values (percentiles within ~1.6% at the midpoint).
 * Exponents above MAX_EXP (latencies of 2^40 ns, 18 minutes, and more) share the last bucket. */
#define SUB_BITS 5
#define SUB (1u << SUB_BITS)
#define MAX_EXP 39
#define NBUCKETS ((MAX_EXP - SUB_BITS + 2) * SUB)

/* Per thread: whether it is traced, and the call in progress. A zeroed slot is an untraced
 * thread, so the array starts out tracing nothing. */
#define UNTRACED 0
#define IDLE 1
#define PENDING 2
#define EXEC_DONE 3 /* the exit of an exec counted at sched_process_exec: skip it */
struct pending {
	u64 ts;
	u32 nr;
	u32 state;
};

struct stat_key {
	u32 tgid;
	u32 tid;
	u32 nr;
};

struct stat {
	u64 calls;    /* completed calls, plus exit/exit_group and execs counted untimed */
	u64 timed;    /* calls with a latency */
	u64 total_ns;
	u64 min_ns;
	u64 max_ns;
	u32 hist[NBUCKETS];
};

struct count_key {
	u32 tgid;
	u32 tid;
	u32 nr;
	u32 err; /* 0: calls (counts-only mode), else the errno of failed calls */
};

/* Indexes into `misc`. */
#define MISC_UNPAIRED 0   /* exits without their entry: in flight when tracing started */
#define MISC_DIED_INSIDE 1 /* threads that ended inside a call (no exit seen) */
#define MISC_LOST 2       /* a map was full: a call not counted */
#define MISC_PENDING 3    /* entries minus exits: calls in flight now (summed over CPUs) */
#define MISC_N 4

/* Counts-only totals (no thread breakdown) are indexed by syscall number below this. */
#define TOTAL_SLOTS 1024

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, u32);
	__type(value, u32);
} pids SEC(".maps");

/* Per thread id below max_entries (the loader sets it from pid_max, within a memory bound):
 * the thread's state. A traced thread's slot is set by the loader (threads present when
 * tracing starts), sched_process_fork (new threads and processes) and sched_process_exec (a
 * launched command); sched_process_exit clears it, so a reused thread id starts untraced. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32768);
	__type(key, u32);
	__type(value, struct pending);
} slots SEC(".maps");

/* The same state for thread ids beyond `slots`: found from the task itself, and freed by the
 * kernel when the thread ends, so a reused thread id never inherits a stale entry. Such a
 * thread is traced when its process is in `pids`. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct stat_key);
	__type(value, struct stat);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct count_key);
	__type(value, u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TOTAL_SLOTS);
	__type(key, u32);
	__type(value, u64);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MISC_N);
	__type(key, u32);
	__type(value, u64);
} misc SEC(".maps");

/* The value a new `stats` entry starts from: too large for the 512-byte BPF stack. */
static const struct stat zero_stat;

static __always_inline void misc_add(u32 which)
{
	u64 *v = bpf_map_lookup_elem(&misc, &which);
	if (v)
		*v += 1;
}

/* A per-CPU counter that may go below zero on one CPU (a call entered on one CPU and left on
 * another); the sum over CPUs is what counts. */
static __always_inline void misc_sub(u32 which)
{
	u64 *v = bpf_map_lookup_elem(&misc, &which);
	if (v)
		*v -= 1;
}

static __always_inline bool is_traced(u32 tgid)
{
	u32 *st = bpf_map_lookup_elem(&pids, &tgid);
	return st && *st == TRACED;
}

/* The thread's slot, or NULL when its id is beyond the array (then task storage serves). */
static __always_inline struct pending *slot_of(u32 tid)
{
	return bpf_map_lookup_elem(&slots, &tid);
}

/* Whether the current thread is traced: its slot says so, or for thread ids beyond the array,
 * its process's entry in `pids`. */
static __always_inline bool thread_traced(u32 tgid, u32 tid)
{
	struct pending *sl = slot_of(tid);
	if (sl)
		return sl->state != UNTRACED;
	return is_traced(tgid);
}

/* At a call's entry, the state of the current thread: its slot, or task storage, created on
 * demand when its process is traced. NULL for an untraced thread. */
static __always_inline struct pending *entry_state(u32 tgid, u32 tid)
{
	struct pending *p = slot_of(tid);
	if (p)
		return p->state == UNTRACED ? NULL : p;
	struct task_struct *task = bpf_get_current_task_btf();
	p = bpf_task_storage_get(&inflight, task, 0, 0);
	if (p || !is_traced(tgid))
		return p;
	p = bpf_task_storage_get(&inflight, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p) {
		misc_add(MISC_LOST);
		return NULL;
	}
	p->state = IDLE;
	return p;
}

/* Keys include the thread id, and a thread runs one program at a time, so each entry has a
 * single writer: plain (non-atomic) updates are exact. */
static __always_inline struct stat *stat_of(u32 tgid, u32 tid, u32 nr)
{
	struct stat_key k = { .tgid = tgid, .tid = tid, .nr = nr };
	struct stat *s = bpf_map_lookup_elem(&stats, &k);
	if (s)
		return s;
	bpf_map_update_elem(&stats, &k, &zero_stat, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&stats, &k);
	if (!s)
		misc_add(MISC_LOST);
	return s;
}

static __always_inline void count_add(u32 tgid, u32 tid, u32 nr, u32 err)
{
	struct count_key k = { .tgid = tgid, .tid = tid, .nr = nr, .err = err };
	u64 *v = bpf_map_lookup_elem(&counts, &k);
	if (v) {
		*v += 1;
		return;
	}
	u64 one = 1;
	if (bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST))
		misc_add(MISC_LOST);
}

/* floor(log2(v)) for v > 0, without a loop (the BPF instruction set has no clz). */
static __always_inline u32 log2_u64(u64 v)
{
	u32 r = 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

static __always_inline u32 bucket(u64 v)
{
	if (v < SUB)
		return v;
	u32 e = log2_u64(v);
	if (e > MAX_EXP)
		return NBUCKETS - 1;
	u32 m = (v >> (e - SUB_BITS)) & (SUB - 1);
	return (e - SUB_BITS + 1) * SUB + m;
}

static __always_inline void add_latency(struct stat *s, u64 ns)
{
	if (s->timed == 0 || ns < s->min_ns)
		s->min_ns = ns;
	if (ns > s->max_ns)
		s->max_ns = ns;
	s->calls += 1;
	s->timed += 1;
	s->total_ns += ns;
	u32 b = bucket(ns);
	if (b < NBUCKETS) /* always true; the verifier needs the bound */
		s->hist[b] += 1;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32, tid = (u32)pid_tgid;
	u32 nr = (u32)id;

	if (!cfg.timed) {
		if (!thread_traced(tgid, tid))
			return 0;
		if (!cfg.per_thread && nr < TOTAL_SLOTS) {
			/* Totals only: a per-CPU array slot, the cheapest counter there is. */
			u64 *v = bpf_map_lookup_elem(&totals, &nr);
			if (v)
				*v += 1;
			return 0;
		}
		count_add(tgid, tid, nr, 0);
		return 0;
	}

	struct pending *p = entry_state(tgid, tid);
	if (!p)
		return 0;
	if (p->state == PENDING)
		misc_sub(MISC_PENDING); /* the previous call's exit was never seen */
	if (nr == cfg.nr_exit || nr == cfg.nr_exit_group) {
		/* Never returns: a call without a latency, as strace -c counts it. */
		struct stat *s = stat_of(tgid, tid, nr);
		if (s)
			s->calls += 1;
		p->state = IDLE;
		return 0;
	}
	p->nr = nr;
	p->state = PENDING;
	misc_add(MISC_PENDING);
	p->ts = bpf_ktime_get_ns();
	return 0;
}

/* Whether an exit without an entry is a new task's return from the clone or fork that made
 * it (the parent's call is the one counted). */
static __always_inline bool is_child_return(struct pt_regs *regs, long ret)
{
	if (ret != 0)
		return false;
	u32 nr = (u32)BPF_CORE_READ(regs, orig_ax);
	return nr == cfg.nr_clone || nr == cfg.nr_clone3 || nr == cfg.nr_fork ||
	       nr == cfg.nr_vfork;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	if (!cfg.timed) {
		/* Only errors are counted at exit. */
		if (ret >= 0 || ret < -4095)
			return 0;
		u64 pid_tgid = bpf_get_current_pid_tgid();
		u32 tgid = pid_tgid >> 32, tid = (u32)pid_tgid;
		if (!thread_traced(tgid, tid))
			return 0;
		/* The exit's own number; -1 for rt_sigreturn (named in user space). */
		u32 nr = (u32)BPF_CORE_READ(regs, orig_ax);
		count_add(tgid, tid, nr, (u32)-ret);
		return 0;
	}

	/* The clock first, so the latency leaves out this program's own work. */
	u64 now = bpf_ktime_get_ns();
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32, tid = (u32)pid_tgid;
	struct pending *p = slot_of(tid);
	if (p) {
		if (p->state == UNTRACED)
			return 0;
	} else {
		p = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
		if (!p) {
			/* No state yet: a traced thread's first exit, its entry made before
			 * tracing started (or a new task's return from clone). */
			if (is_traced(tgid) && !is_child_return(regs, ret))
				misc_add(MISC_UNPAIRED);
			return 0;
		}
	}
	if (p->state == IDLE) {
		if (!is_child_return(regs, ret))
			misc_add(MISC_UNPAIRED);
		return 0;
	}
	if (p->state != PENDING) {
		p->state = IDLE;
		return 0;
	}
	misc_sub(MISC_PENDING);
	/* The entry's number: rt_sigreturn's exit reads -1 from the restored registers. */
	u32 nr = p->nr;
	u64 ns = now - p->ts;
	p->state = IDLE;
	struct stat *s = stat_of(tgid, tid, nr);
	if (!s)
		return 0;
	add_latency(s, ns);
	if (ret < 0 && ret >= -4095)
		count_add(tgid, tid, nr, (u32)-ret);
	return 0;
}

/* A traced process forked or made a thread: trace the child too. */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!is_traced(tgid))
		return 0;
	u32 child_pid = BPF_CORE_READ(child, pid);
	u32 v = TRACED;
	bpf_map_update_elem(&pids, &child_pid, &v, BPF_ANY);
	struct pending *sl = slot_of(child_pid);
	if (sl) {
		sl->nr = 0;
		sl->state = IDLE;
	}
	return 0;
}

/* A launched command's exec: it becomes the command, traced from here on; the exec is
 * counted (its entry was made while armed). */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *task, pid_t old_pid, void *bprm)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32, tid = (u32)pid_tgid;
	/* A thread other than the leader that execs takes the leader's id (the leader has ended,
	 * and its exit cleared that id's slot): its state moves from the old id to the new, and
	 * the old id's slot must not stay traced for whatever task gets that id next. */
	u32 old = (u32)old_pid;
	if (old != tid) {
		struct pending moved = {};
		struct pending *from = slot_of(old);
		if (from) {
			moved = *from;
			from->state = UNTRACED;
		} else {
			from = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
			if (from)
				moved = *from;
		}
		if (moved.state != UNTRACED) {
			struct pending *to = slot_of(tid);
			if (!to)
				to = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
							  BPF_LOCAL_STORAGE_GET_F_CREATE);
			if (to)
				*to = moved;
		}
	}
	u32 *st = bpf_map_lookup_elem(&pids, &tgid);
	if (!st || *st != ARMED)
		return 0;
	*st = TRACED;
	struct pending *sl = slot_of(tid);
	if (!cfg.timed) {
		if (sl)
			sl->state = IDLE;
		count_add(tgid, tid, cfg.nr_execve, 0);
		return 0;
	}
	struct stat *s = stat_of(tgid, tid, cfg.nr_execve);
	if (s)
		s->calls += 1;
	struct pending *p = sl;
	if (!p)
		p = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
					 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (p)
		p->state = EXEC_DONE;
	return 0;
}

/* A thread ends, possibly inside a call (killed): that call is not counted, and no longer
 * in flight. Its slot is cleared, so the next task given its id starts untraced. (Task
 * storage goes with the thread.) */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct pending *p = slot_of(tid);
	if (p) {
		if (p->state == UNTRACED)
			return 0;
	} else {
		if (!cfg.timed)
			return 0;
		p = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
		if (!p)
			return 0;
	}
	if (p->state == PENDING) {
		misc_sub(MISC_PENDING);
		misc_add(MISC_DIED_INSIDE);
	}
	p->state = UNTRACED;
	return 0;
}
