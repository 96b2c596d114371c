//! The summary model: per-thread, per-syscall statistics (calls, errors, latency histogram,
//! error codes), the hot-path recorder the live backends feed, and the finished summary every
//! renderer works on.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::names;

/// Sub-buckets per power of two in the latency histogram: 32 keeps percentiles within ~3%.
/// The in-kernel histograms (src/strace/bpf/syscalls.bpf.c) use the same layout.
pub const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// A log-linear latency histogram in nanoseconds: fixed memory however long the run, exact
/// below 32 ns, within 1/32 relative above.
#[derive(Clone, Debug)]
pub struct Hist {
    counts: Box<[u32]>,
}

impl Hist {
    fn new() -> Self {
        Hist {
            counts: vec![0u32; BUCKETS].into_boxed_slice(),
        }
    }

    fn index(v: u64) -> usize {
        if v < SUB {
            return v as usize;
        }
        let e = 63 - v.leading_zeros();
        let m = (v >> (e - SUB_BITS)) & (SUB - 1);
        ((e - SUB_BITS + 1) as u64 * SUB + m) as usize
    }

    fn value(idx: usize) -> u64 {
        let idx = idx as u64;
        if idx < SUB {
            return idx;
        }
        let e = idx / SUB + SUB_BITS as u64 - 1;
        let m = idx % SUB;
        let shift = e - SUB_BITS as u64;
        let low = (SUB + m) << shift;
        low + (1u64 << shift) / 2
    }

    #[inline]
    fn add(&mut self, v: u64) {
        let i = Self::index(v);
        self.counts[i] = self.counts[i].wrapping_add(1);
    }

    fn merge(&mut self, o: &Hist) {
        for (a, b) in self.counts.iter_mut().zip(o.counts.iter()) {
            *a = a.wrapping_add(*b);
        }
    }

    /// Adds bucket counts kept in the same layout elsewhere (the in-kernel histograms of
    /// src/strace/bpf/syscalls.bpf.c, which stop at a lower exponent): `counts[i]` goes into
    /// bucket `i`. Counts past this histogram's last bucket go into the last one.
    fn add_counts(&mut self, counts: &[u32]) {
        for (i, &c) in counts.iter().enumerate() {
            let j = i.min(BUCKETS - 1);
            self.counts[j] = self.counts[j].wrapping_add(c);
        }
    }

    /// The value at quantile `q` (0..=1), as the middle of its bucket.
    fn quantile(&self, q: f64) -> Option<u64> {
        let total: u64 = self.counts.iter().map(|&c| c as u64).sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c as u64;
            if seen >= rank {
                return Some(Self::value(i));
            }
        }
        None
    }
}

/// Statistics of one syscall (in one thread, or merged).
#[derive(Clone, Debug, Default)]
pub struct Stat {
    /// Completed calls (and `exit`/`exit_group`, which never return).
    pub calls: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Calls with a measured latency.
    pub timed: u64,
    /// Sum of measured latencies, ns.
    pub total_ns: u64,
    /// Largest measured latency, ns.
    pub max_ns: u64,
    /// Smallest measured latency, ns (valid when `timed > 0`).
    pub min_ns: u64,
    hist: Option<Box<Hist>>,
    /// Error code (positive errno) -> count.
    pub errnos: Vec<(i32, u64)>,
}

impl Stat {
    /// One call with latency `ns`.
    #[inline]
    pub fn add_timed(&mut self, ns: u64) {
        self.calls += 1;
        self.timed += 1;
        // Saturating: a log can claim any latency, and a wrapped sum would print a small,
        // plausible and wrong total.
        self.total_ns = self.total_ns.saturating_add(ns);
        if ns > self.max_ns {
            self.max_ns = ns;
        }
        if self.timed == 1 || ns < self.min_ns {
            self.min_ns = ns;
        }
        self.hist
            .get_or_insert_with(|| Box::new(Hist::new()))
            .add(ns);
    }

    /// Adds statistics measured elsewhere (in the kernel): `calls` calls of which `timed` have
    /// a latency, their sum, minimum and maximum, and a histogram in [`Hist`]'s bucket layout.
    pub fn add_measured(
        &mut self,
        calls: u64,
        timed: u64,
        total_ns: u64,
        min_ns: u64,
        max_ns: u64,
        hist: &[u32],
    ) {
        self.calls += calls;
        if timed > 0 {
            if self.timed == 0 || min_ns < self.min_ns {
                self.min_ns = min_ns;
            }
            self.max_ns = self.max_ns.max(max_ns);
            self.timed += timed;
            self.total_ns = self.total_ns.saturating_add(total_ns);
            self.hist
                .get_or_insert_with(|| Box::new(Hist::new()))
                .add_counts(hist);
        }
    }

    /// One error with code `errno` (positive).
    pub fn add_error(&mut self, errno: i32) {
        self.errors += 1;
        match self.errnos.iter_mut().find(|(e, _)| *e == errno) {
            Some((_, n)) => *n += 1,
            None => self.errnos.push((errno, 1)),
        }
    }

    /// Adds `o` into `self`.
    pub fn merge(&mut self, o: &Stat) {
        self.calls += o.calls;
        self.errors += o.errors;
        self.timed += o.timed;
        self.total_ns = self.total_ns.saturating_add(o.total_ns);
        self.max_ns = self.max_ns.max(o.max_ns);
        if o.timed > 0 {
            self.min_ns = if self.timed == o.timed {
                o.min_ns
            } else {
                self.min_ns.min(o.min_ns)
            };
        }
        if let Some(h) = &o.hist {
            match &mut self.hist {
                Some(mine) => mine.merge(h),
                None => self.hist = Some(h.clone()),
            }
        }
        for &(e, n) in &o.errnos {
            match self.errnos.iter_mut().find(|(x, _)| *x == e) {
                Some((_, m)) => *m += n,
                None => self.errnos.push((e, n)),
            }
        }
    }

    /// Latency quantile in ns; kept within the exact minimum and maximum, so a bucket's
    /// midpoint never reports a value no call had at the edges.
    pub fn quantile_ns(&self, q: f64) -> Option<u64> {
        if q >= 1.0 && self.timed > 0 {
            return Some(self.max_ns);
        }
        self.hist
            .as_ref()
            .and_then(|h| h.quantile(q))
            .map(|v| v.clamp(self.min_ns, self.max_ns))
    }

    /// Mean latency in ns over timed calls.
    pub fn avg_ns(&self) -> u64 {
        self.total_ns.checked_div(self.timed).unwrap_or(0)
    }

    /// Error codes by name, most frequent first.
    pub fn errnos_named(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .errnos
            .iter()
            .map(|&(e, n)| (names::errno_name(e), n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// One thread's syscalls in a finished summary.
#[derive(Clone, Debug)]
pub struct ThreadSummary {
    /// Process id (thread group).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Thread name (comm), `?` when unknown.
    pub name: String,
    /// Syscall name -> statistics.
    pub syscalls: BTreeMap<String, Stat>,
}

/// Facts about the run that the renderers print next to the table.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// perf, ptrace or log.
    pub backend: String,
    /// Whether latencies were measured (false for --counts-only and logs without -T).
    pub timed: bool,
    /// Events the kernel dropped (ring buffer full).
    pub lost_events: u64,
    /// Calls in flight when tracing started or stopped, which are not counted.
    pub in_flight: u64,
    /// What was traced.
    pub target: String,
    /// How a launched command ended.
    pub exit_status: Option<String>,
    /// Why tracing stopped.
    pub stop_reason: String,
    /// Tracing duration in seconds.
    pub duration_s: f64,
    /// Lines of a log that were not syscalls, signals or exits.
    pub skipped_lines: u64,
    /// Threads traced, when the table cannot say (in-kernel totals keep no thread ids).
    pub threads_traced: Option<u64>,
    /// Log latencies too large to be real (see [`crate::strace::log`]), whose calls were
    /// counted without their time.
    pub rejected_latencies: u64,
}

/// A finished summary: what every renderer works on.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Run facts.
    pub meta: Meta,
    /// Per-thread statistics, sorted by pid then tid.
    pub threads: Vec<ThreadSummary>,
}

impl Summary {
    /// Merges the given threads into one syscall table.
    pub fn merged<'a>(threads: impl Iterator<Item = &'a ThreadSummary>) -> BTreeMap<String, Stat> {
        let mut out: BTreeMap<String, Stat> = BTreeMap::new();
        for t in threads {
            for (name, s) in &t.syscalls {
                out.entry(name.clone()).or_default().merge(s);
            }
        }
        out
    }
}

/// A tiny multiplicative hasher for tid keys: the recorder looks one up per event, and SipHash
/// would be a visible share of the per-event budget.
#[derive(Default)]
pub struct TidHasher(u64);

impl Hasher for TidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type TidMap<V> = HashMap<u32, V, BuildHasherDefault<TidHasher>>;

const NO_PENDING: u32 = u32::MAX;
/// The number the perf decoder gives an invalid (negative) syscall id. An exit reports it for
/// calls that rewrite the saved registers (`rt_sigreturn` restores the interrupted context,
/// whose syscall number is -1): such exits are named from their thread's entry.
pub const INVALID_NR: u32 = (1 << 31) - 1;
const EXIT_BIT_MASK: u32 = INVALID_NR;

/// Syscall numbers below this are indexed directly; larger ones (invalid numbers such as -1,
/// or x32 ones) go to a map so a stray number cannot allocate gigabytes.
const DIRECT: u32 = 1024;

struct ThreadRec {
    pid: u32,
    pending_nr: u32,
    pending_t: u64,
    /// The last entry's number in counts-only mode (where entries are not paired), for an
    /// error exit that reports -1.
    last_nr: u32,
    stats: Vec<Stat>,
    big: BTreeMap<u32, Stat>,
}

impl ThreadRec {
    #[inline]
    fn stat(&mut self, nr: u32) -> &mut Stat {
        if nr >= DIRECT {
            return self.big.entry(nr).or_default();
        }
        let i = nr as usize;
        if i >= self.stats.len() {
            self.stats.resize_with(i + 1, Stat::default);
        }
        &mut self.stats[i]
    }
}

/// Collects live events: entries and exits paired per thread, or plain counts. Shared by the
/// perf and ptrace backends so both pair and count the same way.
#[derive(Default)]
pub struct Recorder {
    threads: TidMap<ThreadRec>,
    /// Exits seen without their entry (the call was in flight when tracing started).
    pub unpaired_exits: u64,
}

impl Recorder {
    #[inline]
    fn thread(&mut self, pid: u32, tid: u32) -> &mut ThreadRec {
        self.threads.entry(tid).or_insert_with(|| ThreadRec {
            pid,
            pending_nr: NO_PENDING,
            pending_t: 0,
            last_nr: NO_PENDING,
            stats: Vec::new(),
            big: BTreeMap::new(),
        })
    }

    /// A syscall entry at time `t` (ns). An entry still pending is replaced: its exit was
    /// never seen (lost), so it is not counted.
    #[inline]
    pub fn enter(&mut self, pid: u32, tid: u32, nr: u32, t: u64) {
        let th = self.thread(pid, tid);
        th.pid = pid;
        th.pending_nr = nr;
        th.pending_t = t;
    }

    /// A syscall exit at time `t` with return value `ret`. `nr` is the exit's own number when
    /// the backend has it, else `None` to use the entry's; an exit reporting [`INVALID_NR`]
    /// (`rt_sigreturn`) also takes the entry's.
    #[inline]
    pub fn exit(&mut self, pid: u32, tid: u32, nr: Option<u32>, ret: i64, t: u64) {
        let th = self.thread(pid, tid);
        if th.pending_nr == NO_PENDING {
            self.unpaired_exits += 1;
            return;
        }
        let nr = match nr {
            Some(n) if n != INVALID_NR => n,
            _ => th.pending_nr,
        };
        let ns = t.saturating_sub(th.pending_t);
        th.pending_nr = NO_PENDING;
        let s = th.stat(nr);
        s.add_timed(ns);
        if (-4095..0).contains(&ret) {
            s.add_error(-ret as i32);
        }
    }

    /// A call counted at entry, without latency (counts-only mode).
    #[inline]
    pub fn count(&mut self, pid: u32, tid: u32, nr: u32) {
        let th = self.thread(pid, tid);
        th.last_nr = nr;
        th.stat(nr).calls += 1;
    }

    /// An error counted at exit, without latency (counts-only mode); an exit reporting
    /// [`INVALID_NR`] is named from the thread's last entry.
    #[inline]
    pub fn error(&mut self, pid: u32, tid: u32, nr: u32, ret: i64) {
        if (-4095..0).contains(&ret) {
            let th = self.thread(pid, tid);
            let nr = if nr == INVALID_NR && th.last_nr != NO_PENDING {
                th.last_nr
            } else {
                nr
            };
            th.stat(nr).add_error(-ret as i32);
        }
    }

    /// Adds in-kernel latency statistics of syscall `nr` in thread `tid` (see
    /// [`Stat::add_measured`]).
    #[allow(clippy::too_many_arguments)]
    pub fn add_measured(
        &mut self,
        pid: u32,
        tid: u32,
        nr: u32,
        calls: u64,
        timed: u64,
        total_ns: u64,
        min_ns: u64,
        max_ns: u64,
        hist: &[u32],
    ) {
        self.thread(pid, tid)
            .stat(nr)
            .add_measured(calls, timed, total_ns, min_ns, max_ns, hist);
    }

    /// Adds in-kernel counts: `n` calls of `nr` when `errno` is 0, else `n` errors `errno`.
    pub fn add_counts(&mut self, pid: u32, tid: u32, nr: u32, errno: u32, n: u64) {
        let s = self.thread(pid, tid).stat(nr);
        if errno == 0 {
            s.calls += n;
        } else {
            s.errors += n;
            match s.errnos.iter_mut().find(|(e, _)| *e == errno as i32) {
                Some((_, m)) => *m += n,
                None => s.errnos.push((errno as i32, n)),
            }
        }
    }

    /// A call counted at entry (counts-only mode) whose exit will say whether it failed:
    /// for backends whose exits do not carry the syscall number.
    #[inline]
    pub fn count_entry(&mut self, pid: u32, tid: u32, nr: u32) {
        let th = self.thread(pid, tid);
        th.stat(nr).calls += 1;
        th.pending_nr = nr;
    }

    /// The exit matching [`Recorder::count_entry`]: counts an error, no latency.
    #[inline]
    pub fn exit_error_counts_only(&mut self, pid: u32, tid: u32, ret: i64) {
        let th = self.thread(pid, tid);
        let nr = th.pending_nr;
        th.pending_nr = NO_PENDING;
        if nr != NO_PENDING && (-4095..0).contains(&ret) {
            th.stat(nr).add_error(-ret as i32);
        }
    }

    /// Finishes: pending `exit`/`exit_group` entries become calls (they never return); other
    /// pending entries were in flight at the stop and are only counted in `in_flight`.
    pub fn finish(
        self,
        counted_at_entry: bool,
        names_of: &dyn Fn(u32, u32) -> String,
    ) -> (Vec<ThreadSummary>, u64) {
        let mut in_flight = self.unpaired_exits;
        let mut out = Vec::new();
        for (tid, mut th) in self.threads {
            if th.pending_nr != NO_PENDING {
                if names::never_returns(th.pending_nr) {
                    // In counts-only mode the entry was already counted.
                    if !counted_at_entry {
                        let nr = th.pending_nr;
                        th.stat(nr).calls += 1;
                    }
                } else {
                    in_flight += 1;
                }
            }
            let mut syscalls = BTreeMap::new();
            let big = std::mem::take(&mut th.big);
            let all = th
                .stats
                .into_iter()
                .enumerate()
                .map(|(nr, s)| (nr as u32, s))
                .chain(big);
            for (nr, s) in all {
                if s.calls > 0 || s.errors > 0 {
                    let name = if nr == u32::MAX || nr == EXIT_BIT_MASK {
                        "syscall_-1".to_string()
                    } else {
                        names::syscall_name(nr)
                    };
                    syscalls.entry(name).or_insert_with(Stat::default).merge(&s);
                }
            }
            if syscalls.is_empty() {
                continue;
            }
            out.push(ThreadSummary {
                pid: th.pid,
                tid,
                name: names_of(th.pid, tid),
                syscalls,
            });
        }
        out.sort_by_key(|t| (t.pid, t.tid));
        (out, in_flight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hist_buckets_are_monotonic_and_close() {
        for v in [0u64, 1, 31, 32, 33, 100, 1000, 123_456, 10_000_000_000] {
            let i = Hist::index(v);
            let back = Hist::value(i);
            let err = (back as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(err <= 1.0 / 32.0, "v={v} back={back}");
        }
        let mut last = 0;
        for v in 0..100_000u64 {
            let i = Hist::index(v);
            assert!(i >= last && i < BUCKETS);
            last = i;
        }
    }

    #[test]
    fn quantiles() {
        let mut s = Stat::default();
        for v in 1..=100u64 {
            s.add_timed(v * 1000);
        }
        let p50 = s.quantile_ns(0.5).unwrap_or(0);
        assert!((48_000..=52_000).contains(&p50), "{p50}");
        assert_eq!(
            s.quantile_ns(1.0),
            Some(100_000).map(|v: u64| v.min(s.max_ns))
        );
        assert_eq!(s.max_ns, 100_000);
    }

    #[test]
    fn pairing() {
        let mut r = Recorder::default();
        r.exit(1, 1, Some(0), 0, 5); // in flight at start
        r.enter(1, 1, 1, 10);
        r.exit(1, 1, Some(1), -2, 30);
        r.enter(1, 2, 231, 40); // exit_group
        r.enter(1, 1, 0, 50); // in flight at stop
        let (t, in_flight) = r.finish(false, &|_, _| "x".into());
        assert_eq!(in_flight, 2);
        assert_eq!(t.len(), 2);
        let w = &t[0].syscalls["write"];
        assert_eq!((w.calls, w.errors, w.total_ns), (1, 1, 20));
        assert_eq!(t[1].syscalls["exit_group"].calls, 1);
    }

    #[test]
    fn exit_reporting_minus_one_is_named_from_its_entry() {
        let mut r = Recorder::default();
        r.enter(1, 1, 15, 10); // rt_sigreturn
        r.exit(1, 1, Some(INVALID_NR), -4, 20);
        r.count(1, 2, 15);
        r.error(1, 2, INVALID_NR, -4);
        let (t, _) = r.finish(false, &|_, _| "x".into());
        assert!(t.iter().all(|t| !t.syscalls.contains_key("syscall_-1")));
        let s = &t[0].syscalls["rt_sigreturn"];
        assert_eq!((s.calls, s.errors, s.total_ns), (1, 1, 10));
        let s = &t[1].syscalls["rt_sigreturn"];
        assert_eq!((s.calls, s.errors), (1, 1));
    }
}
