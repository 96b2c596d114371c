//! The perf backend: `raw_syscalls:sys_enter` / `sys_exit` tracepoints through
//! `perf_event_open`, one inherited event pair per traced task and CPU, each CPU's events
//! writing into one ring buffer that is read here without any per-record allocation.
//!
//! Timed mode samples every entry and exit (tid, time, raw record) and pairs them per thread in
//! time order: a thread may enter a call on one CPU and leave it on another, so the records of
//! all CPUs are merged by timestamp (CLOCK_MONOTONIC) before pairing, up to a cutoff a little
//! behind "now" so no CPU can still hold an earlier record.
//!
//! Counts-only mode samples only entries, and exits through a kernel-side `ret < 0` filter, so
//! a successful call costs one small record and no pairing is needed.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{fence, AtomicU64, Ordering};

use anyhow::{anyhow, bail, Result};
use perf_event_open_sys as sys;
use sys::bindings as b;

use super::model::{Recorder, ThreadSummary};
use super::target::{self, Deadline, Stopper, Verdict};

/// What the perf backend traces.
pub enum PerfTarget {
    /// A launched child (held before exec; events are enabled by its exec).
    Launch(u32),
    /// Existing processes.
    Attach(Vec<u32>),
}

/// Result of a perf tracing session.
pub struct PerfRun {
    /// Per-thread statistics.
    pub threads: Vec<ThreadSummary>,
    /// Records the kernel dropped.
    pub lost: u64,
    /// Calls in flight at start or stop (not counted).
    pub in_flight: u64,
    /// Why tracing stopped.
    pub stop_reason: String,
}

/// Reads the id of `raw_syscalls:NAME` from tracefs (mounting it first when missing and root).
pub fn tracepoint_id(name: &str) -> Result<u64> {
    let root =
        super::tracefs::ensure_tracefs().map_err(|e| anyhow!("{e:#}; or use --backend ptrace"))?;
    let p = root.join("events/raw_syscalls").join(name).join("id");
    match std::fs::read_to_string(&p) {
        Ok(s) => s
            .trim()
            .parse()
            .map_err(|_| anyhow!("unexpected content in {}: {s:?}", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => bail!(
            "permission denied reading {}: tracefs is readable by root only here; run as \
             root, or grant access (`sudo chmod -R go+rX {}` or mount it with \
             `mode=755`) together with CAP_PERFMON or `sysctl kernel.perf_event_paranoid=-1`; \
             or use --backend ptrace",
            p.display(),
            root.display()
        ),
        Err(e) => bail!(
            "cannot read {} ({e}): a kernel without the raw_syscalls tracepoints? \
             (use --backend ptrace)",
            p.display()
        ),
    }
}

/// The error of a failed perf_event_open, with the fix.
fn open_error(err: std::io::Error, pid: u32) -> anyhow::Error {
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    match err.raw_os_error() {
        Some(libc::ESRCH) => anyhow!("no such process: {pid}"),
        Some(libc::EACCES) | Some(libc::EPERM) => anyhow!(
            "permission denied opening the raw_syscalls tracepoints for pid {pid} \
             (perf_event_paranoid={paranoid}): run as root or grant CAP_PERFMON \
             (`sudo setcap cap_perfmon+ep $(which rprof)`), lower the level with \
             `sudo sysctl kernel.perf_event_paranoid=-1`, make tracefs readable, \
             or use --backend ptrace"
        ),
        Some(libc::ENOENT) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => anyhow!(
            "the kernel refused the raw_syscalls tracepoint event ({err}); use --backend ptrace"
        ),
        Some(libc::EMFILE) => {
            anyhow!("too many open files while opening perf events ({err}): raise `ulimit -n`")
        }
        _ => anyhow!("perf_event_open failed for pid {pid}: {err}"),
    }
}

struct Attrs {
    enter: b::perf_event_attr,
    exit: b::perf_event_attr,
}

fn attr(
    tp: u64,
    sample_type: u64,
    launch: bool,
    sideband: bool,
    wakeup: u32,
) -> b::perf_event_attr {
    let mut a = b::perf_event_attr::default();
    a.type_ = b::PERF_TYPE_TRACEPOINT;
    a.size = std::mem::size_of::<b::perf_event_attr>() as u32;
    a.config = tp;
    a.sample_type = sample_type;
    a.__bindgen_anon_1.sample_period = 1;
    // Wake the reader when a quarter of the buffer is full rather than per record: batching is
    // what keeps the per-call cost low.
    a.set_watermark(1);
    a.__bindgen_anon_2.wakeup_watermark = wakeup;
    a.set_inherit(1);
    a.set_exclude_hv(1);
    if launch {
        a.set_disabled(1);
        a.set_enable_on_exec(1);
    }
    if sideband {
        // Thread names: COMM at exec and prctl, FORK so new threads inherit their parent's.
        a.set_comm(1);
        a.set_comm_exec(1);
        a.set_task(1);
    }
    a.set_use_clockid(1);
    a.clockid = libc::CLOCK_MONOTONIC;
    a
}

/// One CPU's ring buffer and the events writing into it.
struct Ring {
    _fds: Vec<OwnedFd>,
    leader: i32,
    base: *mut u8,
    map_len: usize,
    data_off: usize,
    data_size: usize,
    scratch: Vec<u8>,
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: base/map_len come from a successful mmap that nothing else unmaps.
        unsafe { libc::munmap(self.base.cast(), self.map_len) };
    }
}

impl Ring {
    fn head(&self) -> &AtomicU64 {
        // SAFETY: data_head is a naturally aligned u64 at offset 1024 of the control page.
        unsafe { &*(self.base.add(1024) as *const AtomicU64) }
    }
    fn tail(&self) -> &AtomicU64 {
        // SAFETY: data_tail is a naturally aligned u64 at offset 1032 of the control page.
        unsafe { &*(self.base.add(1032) as *const AtomicU64) }
    }

    /// Calls `f` on every complete record available, then releases the space to the kernel.
    fn drain(&mut self, mut f: impl FnMut(&[u8])) {
        let head = self.head().load(Ordering::Acquire);
        let mut tail = self.tail().load(Ordering::Relaxed);
        let size = self.data_size as u64;
        // SAFETY: the data area spans data_off..data_off+data_size of the mapping.
        let data =
            unsafe { std::slice::from_raw_parts(self.base.add(self.data_off), self.data_size) };
        while tail < head {
            let off = (tail % size) as usize;
            let hdr_len = if off + 8 <= data.len() { 8 } else { 0 };
            let rec_size = if hdr_len == 8 {
                u16::from_ne_bytes([data[off + 6], data[off + 7]]) as usize
            } else {
                let mut h = [0u8; 8];
                for (i, x) in h.iter_mut().enumerate() {
                    *x = data[(off + i) % data.len()];
                }
                u16::from_ne_bytes([h[6], h[7]]) as usize
            };
            if rec_size < 8 || tail + rec_size as u64 > head {
                break;
            }
            if off + rec_size <= data.len() {
                f(&data[off..off + rec_size]);
            } else {
                // A record wrapping the end of the buffer is copied once into scratch space.
                self.scratch.clear();
                let first = data.len() - off;
                self.scratch.extend_from_slice(&data[off..]);
                self.scratch.extend_from_slice(&data[..rec_size - first]);
                f(&self.scratch);
            }
            tail += rec_size as u64;
        }
        fence(Ordering::Release);
        self.tail().store(tail, Ordering::Release);
    }
}

fn open_event(a: &mut b::perf_event_attr, pid: i32, cpu: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: `a` is a fully initialised attr; the fd returned is ours.
    let fd =
        unsafe { sys::perf_event_open(a, pid, cpu, -1, b::PERF_FLAG_FD_CLOEXEC as libc::c_ulong) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn cpus() -> Vec<i32> {
    // Online CPUs: "0-3,5" in /sys; fall back to 0..nproc.
    if let Ok(s) = std::fs::read_to_string("/sys/devices/system/cpu/online") {
        let mut v = Vec::new();
        for part in s.trim().split(',') {
            let mut it = part.split('-');
            let a: Option<i32> = it.next().and_then(|x| x.parse().ok());
            let bnd: Option<i32> = it.next().and_then(|x| x.parse().ok());
            match (a, bnd) {
                (Some(a), Some(z)) => v.extend(a..=z),
                (Some(a), None) => v.push(a),
                _ => {}
            }
        }
        if !v.is_empty() {
            return v;
        }
    }
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    (0..n as i32).collect()
}

/// Per-CPU rings and the bookkeeping to add tasks to them.
struct Session {
    attrs: Attrs,
    cpus: Vec<i32>,
    rings: Vec<Option<Ring>>,
    pages: usize,
    counts_only: bool,
}

impl Session {
    fn new(counts_only: bool, launch: bool) -> Result<Self> {
        let enter_id = tracepoint_id("sys_enter")?;
        let exit_id = tracepoint_id("sys_exit")?;
        let page = 4096usize;
        // 16 MiB per CPU, halved on ENOMEM/EPERM (mlock limit). RPROF_STRACE_RING_PAGES
        // (a power of two) overrides it: tests use a tiny ring to check lost-event reporting.
        let pages = std::env::var("RPROF_STRACE_RING_PAGES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096);
        let wakeup = (pages * page / 4) as u32;
        // TIME in counts mode too: it is what tells a duplicate record (below) from a call.
        let st = (b::PERF_SAMPLE_TID | b::PERF_SAMPLE_TIME | b::PERF_SAMPLE_RAW) as u64;
        let cpus = cpus();
        let n = cpus.len();
        Ok(Session {
            attrs: Attrs {
                enter: attr(enter_id, st, launch, true, wakeup),
                exit: attr(exit_id, st, launch, false, wakeup),
            },
            cpus,
            rings: (0..n).map(|_| None).collect(),
            pages,
            counts_only,
        })
    }

    /// Opens the enter/exit pair for task `pid` (-1 never) on every CPU.
    fn add_task(&mut self, pid: u32) -> Result<()> {
        for i in 0..self.cpus.len() {
            let cpu = self.cpus[i];
            let enter = open_event(&mut self.attrs.enter, pid as i32, cpu)
                .map_err(|e| open_error(e, pid))?;
            let exit = open_event(&mut self.attrs.exit, pid as i32, cpu)
                .map_err(|e| open_error(e, pid))?;
            if self.counts_only {
                // Successful exits carry nothing counts-only needs: the kernel drops them.
                let filter = std::ffi::CString::new("ret < 0").unwrap_or_default();
                // SAFETY: valid fd and NUL-terminated filter string.
                let r =
                    unsafe { sys::ioctls::SET_FILTER(exit.as_raw_fd(), filter.as_ptr() as *mut _) };
                if r < 0 {
                    bail!(
                        "cannot set the `ret < 0` filter on sys_exit: {}",
                        std::io::Error::last_os_error()
                    );
                }
            }
            match &mut self.rings[i] {
                None => {
                    let ring = self.map(enter)?;
                    // SAFETY: both fds are valid perf events on the same CPU.
                    if unsafe { sys::ioctls::SET_OUTPUT(exit.as_raw_fd(), ring.leader) } < 0 {
                        bail!(
                            "PERF_EVENT_IOC_SET_OUTPUT: {}",
                            std::io::Error::last_os_error()
                        );
                    }
                    let mut ring = ring;
                    ring._fds.push(exit);
                    self.rings[i] = Some(ring);
                }
                Some(ring) => {
                    for fd in [enter, exit] {
                        // SAFETY: as above.
                        if unsafe { sys::ioctls::SET_OUTPUT(fd.as_raw_fd(), ring.leader) } < 0 {
                            bail!(
                                "PERF_EVENT_IOC_SET_OUTPUT: {}",
                                std::io::Error::last_os_error()
                            );
                        }
                        ring._fds.push(fd);
                    }
                }
            }
        }
        Ok(())
    }

    fn map(&mut self, fd: OwnedFd) -> Result<Ring> {
        let page = 4096usize;
        loop {
            let len = (self.pages + 1) * page;
            // SAFETY: mapping a perf fd as the kernel documents; checked for MAP_FAILED.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                let e = std::io::Error::last_os_error();
                if self.pages > 16
                    && matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::ENOMEM))
                {
                    self.pages /= 2;
                    continue;
                }
                bail!("cannot map the perf ring buffer ({e}): raise kernel.perf_event_mlock_kb or run as root");
            }
            let leader = fd.as_raw_fd();
            return Ok(Ring {
                _fds: vec![fd],
                leader,
                base: p.cast(),
                map_len: len,
                data_off: page,
                data_size: self.pages * page,
                scratch: Vec::new(),
            });
        }
    }
}

/// One decoded sample, compact so a round of them sorts quickly.
#[derive(Clone, Copy)]
struct Ev {
    t: u64,
    pid: u32,
    tid: u32,
    /// Syscall number; the top bit marks an exit.
    nr: u32,
    ret: i64,
}

const EXIT_BIT: u32 = 1 << 31;

struct Decoder {
    enter_type: u16,
    exit_type: u16,
    lost: u64,
    /// The previous sample of the ring being read, to drop double records.
    last: Option<Ev>,
    duplicates: u64,
    names: HashMap<u32, String>,
}

impl Decoder {
    /// Decodes one record: samples go to `out`, side-band records update names and counts.
    #[inline]
    fn record(&mut self, r: &[u8], out: &mut Vec<Ev>) {
        let ty = u32::from_ne_bytes([r[0], r[1], r[2], r[3]]);
        let u32_at = |o: usize| -> u32 {
            r.get(o..o + 4)
                .map_or(0, |s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
        };
        let u64_at = |o: usize| -> u64 {
            r.get(o..o + 8).map_or(0, |s| {
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                u64::from_ne_bytes(a)
            })
        };
        match ty {
            b::PERF_RECORD_SAMPLE => {
                let pid = u32_at(8);
                let tid = u32_at(12);
                let (t, raw) = (u64_at(16), 24);
                // raw: u32 size, then the tracepoint record: u16 common_type at 0, id at 8,
                // and for sys_exit ret at 16.
                let data = raw + 4;
                let common = r
                    .get(data..data + 2)
                    .map_or(0, |s| u16::from_ne_bytes([s[0], s[1]]));
                let id = u64_at(data + 8) as i64;
                let nr = if (0..EXIT_BIT as i64).contains(&id) {
                    id as u32
                } else {
                    EXIT_BIT - 1
                };
                let (nr, ret) = if common == self.enter_type {
                    (nr, 0)
                } else if common == self.exit_type {
                    (nr | EXIT_BIT, u64_at(data + 16) as i64)
                } else {
                    return;
                };
                // A thread started while we attached can carry both an event inherited from
                // its creator and one we opened on it: the same hit then yields two records,
                // back to back in this ring, nanoseconds apart. A real second entry (or exit)
                // of one thread needs a full call in between, so it is never this close.
                if let Some(last) = self.last {
                    if last.tid == tid && last.nr == nr && t.wrapping_sub(last.t) < 1_000 {
                        self.duplicates += 1;
                        return;
                    }
                }
                let ev = Ev {
                    t,
                    pid,
                    tid,
                    nr,
                    ret,
                };
                self.last = Some(ev);
                out.push(ev);
            }
            b::PERF_RECORD_LOST => self.lost += u64_at(16),
            b::PERF_RECORD_COMM => {
                let tid = u32_at(12);
                let s = &r[16.min(r.len())..];
                let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
                self.names
                    .insert(tid, String::from_utf8_lossy(&s[..end]).into_owned());
            }
            b::PERF_RECORD_FORK => {
                let ptid = u32_at(20);
                let tid = u32_at(16);
                if let Some(n) = self.names.get(&ptid).cloned() {
                    self.names.entry(tid).or_insert(n);
                }
            }
            _ => {}
        }
    }
}

/// How a launched child ended, filled when the loop reaps it.
pub type ExitStatus = Option<nix::sys::wait::WaitStatus>;

/// Opens the events for the target (attach: every thread, rescanning until no new thread
/// appears; launch: the held child) and returns the session.
fn open(target: &PerfTarget, counts_only: bool) -> Result<(Session, HashMap<u32, String>)> {
    // Two events per thread and CPU when attaching: a busy server exhausts the default soft
    // limit of 1024 descriptors, so take the hard limit.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid rlimit pointers.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    let launch = matches!(target, PerfTarget::Launch(_));
    let mut s = Session::new(counts_only, launch)?;
    let mut names = HashMap::new();
    match target {
        PerfTarget::Launch(pid) => s.add_task(*pid)?,
        PerfTarget::Attach(pids) => {
            let mut done: std::collections::HashSet<u32> = Default::default();
            for &pid in pids {
                // Threads started while we open events inherit from an already-traced thread
                // or show up in the next scan; loop until a scan finds nothing new.
                loop {
                    let tids = target::threads_of(pid)?;
                    let new: Vec<u32> = tids.into_iter().filter(|t| !done.contains(t)).collect();
                    if new.is_empty() {
                        break;
                    }
                    for tid in new {
                        match s.add_task(tid) {
                            Ok(()) => {}
                            // A thread that exited between the scan and the open is fine.
                            Err(_)
                                if tid != pid
                                    && crate::process::thread_name(pid, tid).is_none() => {}
                            Err(e) => return Err(e),
                        }
                        if let Some(c) = crate::process::thread_name(pid, tid) {
                            names.insert(tid, c);
                        }
                        done.insert(tid);
                    }
                }
            }
        }
    }
    Ok((s, names))
}

/// Checks that the tracepoints open for this process (for `--backend auto`).
pub fn available() -> Result<()> {
    let mut s = Session::new(true, false)?;
    let me = std::process::id();
    let mut a = s.attrs.enter;
    let fd = open_event(&mut a, me as i32, s.cpus[0]).map_err(|e| open_error(e, me))?;
    s.rings.clear();
    target::keep_until_end(fd);
    Ok(())
}

/// Traces until the target exits, a stop signal arrives or the deadline passes.
/// `release` is called once the events are open (it lets a launched child exec).
pub fn run(
    target: PerfTarget,
    counts_only: bool,
    mut deadline: Deadline,
    release: &mut dyn FnMut() -> Result<()>,
    status: &mut ExitStatus,
) -> Result<PerfRun> {
    let (mut session, names) = open(&target, counts_only)?;
    release()?;
    deadline.start();
    let pidfds: Vec<(u32, OwnedFd)> = match &target {
        PerfTarget::Launch(p) => target::pidfd(*p).map(|f| (*p, f)).into_iter().collect(),
        PerfTarget::Attach(ps) => ps
            .iter()
            .filter_map(|&p| target::pidfd(p).map(|f| (p, f)))
            .collect(),
    };
    let mut dec = Decoder {
        enter_type: session.attrs.enter.config as u16,
        exit_type: session.attrs.exit.config as u16,
        lost: 0,
        last: None,
        duplicates: 0,
        names,
    };
    let mut rec = Recorder::default();
    let mut pending: Vec<Ev> = Vec::new();
    let mut rings: Vec<Ring> = session.rings.drain(..).flatten().collect();
    let mut exited = vec![false; pidfds.len()];
    let launched = match &target {
        PerfTarget::Launch(p) => Some(*p),
        PerfTarget::Attach(_) => None,
    };
    let mut stopper = Stopper::new(launched, deadline);
    // Rings whose leader task exited report POLLHUP forever; they leave the poll set (and are
    // still drained every round) so the loop does not spin.
    let mut hup = vec![false; rings.len()];
    let stop_reason;
    loop {
        let mut pfds: Vec<libc::pollfd> = rings
            .iter()
            .zip(&hup)
            .map(|(r, &h)| libc::pollfd {
                fd: if h { -1 } else { r.leader },
                events: libc::POLLIN,
                revents: 0,
            })
            .chain(pidfds.iter().map(|(_, f)| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }))
            .collect();
        // SAFETY: valid array of pollfds.
        unsafe {
            libc::poll(
                pfds.as_mut_ptr(),
                pfds.len() as libc::nfds_t,
                stopper.poll_ms(100),
            )
        };
        for (h, p) in hup.iter_mut().zip(&pfds) {
            *h |= p.revents & (libc::POLLHUP | libc::POLLERR) != 0;
        }
        let cutoff = crate::process::monotonic_ns().saturating_sub(5_000_000);
        drain(
            &mut rings,
            &mut dec,
            &mut pending,
            &mut rec,
            counts_only,
            Some(cutoff),
        );
        for (i, (_, f)) in pidfds.iter().enumerate() {
            exited[i] |= target::pidfd_exited(f);
        }
        if let Verdict::Stop(r) = stopper.check(!exited.is_empty() && exited.iter().all(|&e| e)) {
            stop_reason = r;
            break;
        }
    }
    // Stopping is closing the events: the target runs on untraced. Whatever they already wrote
    // is read first.
    if let PerfTarget::Launch(p) = target {
        if exited.first().copied().unwrap_or(false) {
            *status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(p as i32), None).ok();
        }
    }
    drain(
        &mut rings,
        &mut dec,
        &mut pending,
        &mut rec,
        counts_only,
        None,
    );
    let fds: Vec<OwnedFd> = rings.iter_mut().flat_map(|r| r._fds.drain(..)).collect();
    drop(rings);
    target::close_parallel(fds);
    let names = dec.names;
    let (threads, in_flight) = rec.finish(counts_only, &|pid, tid| {
        names
            .get(&tid)
            .cloned()
            .or_else(|| crate::process::thread_name(pid, tid))
            .unwrap_or_else(|| "?".into())
    });
    Ok(PerfRun {
        threads,
        lost: dec.lost,
        in_flight,
        stop_reason,
    })
}

/// Reads every ring and feeds the recorder; in timed mode only events older than `cutoff`
/// (None: all) are paired, in timestamp order across CPUs.
fn drain(
    rings: &mut [Ring],
    dec: &mut Decoder,
    pending: &mut Vec<Ev>,
    rec: &mut Recorder,
    counts_only: bool,
    cutoff: Option<u64>,
) {
    for r in rings.iter_mut() {
        dec.last = None;
        r.drain(|rec_bytes| dec.record(rec_bytes, pending));
    }
    if counts_only {
        for e in pending.drain(..) {
            if e.nr & EXIT_BIT != 0 {
                rec.error(e.pid, e.tid, e.nr & !EXIT_BIT, e.ret);
            } else {
                rec.count(e.pid, e.tid, e.nr);
            }
        }
        return;
    }
    // Each CPU's records are already in time order, so this stable sort is a cheap run merge.
    pending.sort_by_key(|e| e.t);
    let n = match cutoff {
        Some(c) => pending.partition_point(|e| e.t < c),
        None => pending.len(),
    };
    for e in &pending[..n] {
        if e.nr & EXIT_BIT != 0 {
            rec.exit(e.pid, e.tid, Some(e.nr & !EXIT_BIT), e.ret, e.t);
        } else {
            rec.enter(e.pid, e.tid, e.nr, e.t);
        }
    }
    pending.drain(..n);
}
