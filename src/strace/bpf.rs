//! The in-kernel backend of `rprof strace-summary`: the eBPF programs of
//! `src/strace/bpf/syscalls.bpf.c` (C with CO-RE, compiled by clang in build.rs and embedded
//! in the binary), loaded and attached with libbpf-rs, read once when tracing stops.
//!
//! Per (process, thread, syscall) the kernel keeps the call count, the latency sum, minimum,
//! maximum and a log-linear latency histogram, and per (process, thread, syscall, errno) the
//! error count: nothing per call crosses a ring buffer, so nothing can be lost, and
//! percentiles come from the histograms (within 1/32 of the exact value, clamped to the exact
//! minimum and maximum). `--counts-only` loads the same object in its cheaper mode, which
//! keeps only counts.
//!
//! Where BPF is unavailable (no CAP_BPF, an old kernel, no BTF), [`Tracer::load`] fails with
//! the reason and the caller falls back to the perf tracepoint backend.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use libbpf_rs::{MapCore, MapFlags, Object, ObjectBuilder};

use super::model::{Recorder, ThreadSummary, SUB_BITS};
use super::target::{self, Deadline, Stopper, Verdict};

/// The compiled programs (build.rs).
static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/syscalls.bpf.o"));

/// Values of the `pids` map (as in the C source).
const TRACED: u32 = 1;
const ARMED: u32 = 2;
/// Indexes of the `misc` counters.
const MISC_UNPAIRED: u32 = 0;
const MISC_DIED_INSIDE: u32 = 1;
const MISC_LOST: u32 = 2;
const MISC_PENDING: u32 = 3;
/// Counts-only totals are indexed by syscall number below this.
const TOTAL_SLOTS: u32 = 1024;
/// Value of a thread's entry in `slots` (C: IDLE): traced, no call in progress.
const SLOT_IDLE: u32 = 1;
/// Size of a `slots` value (C: struct pending: u64 time, u32 number, u32 state).
const SLOT_SIZE: usize = 16;
/// At most this many thread ids get an array slot (16 MiB of kernel memory); threads with
/// larger ids, on machines whose pid_max is larger, use task-local storage instead.
const MAX_SLOTS: u32 = 1 << 20;
/// In-kernel histogram buckets: exponents up to 39 (C: NBUCKETS).
const MAX_EXP: u32 = 39;
const NBUCKETS: usize = ((MAX_EXP - SUB_BITS + 2) << SUB_BITS) as usize;
/// Size of `struct stat`: five u64 and the buckets.
const STAT_SIZE: usize = 40 + 4 * NBUCKETS;

/// What the kernel keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Counts, latency sums, min, max and histograms per thread and syscall.
    Timed,
    /// Counts only; `per_thread` keeps thread ids (for --per-thread/--per-process), otherwise
    /// calls are totals per syscall, which is cheaper.
    CountsOnly {
        /// Keep thread ids.
        per_thread: bool,
    },
}

/// libbpf's messages while loading: kept to explain a failure instead of printed.
static LIBBPF_LOG: Mutex<String> = Mutex::new(String::new());

fn libbpf_print(_level: libbpf_rs::PrintLevel, msg: String) {
    if let Ok(mut log) = LIBBPF_LOG.lock() {
        // Bounded: a verifier log can be long, and only its end explains a rejection.
        if log.len() > 64 * 1024 {
            let cut = log.len() - 32 * 1024;
            let cut = (cut..log.len())
                .find(|&i| log.is_char_boundary(i))
                .unwrap_or(0);
            log.drain(..cut);
        }
        log.push_str(&msg);
    }
}

/// Loaded programs and maps, not yet attached.
pub struct Tracer {
    obj: Object,
    mode: Mode,
    links: Vec<libbpf_rs::Link>,
    /// Processes given with -p, whose present threads get their slots marked at start.
    attached: Vec<u32>,
    /// Size of the `slots` array: thread ids below it have a slot.
    slots: u32,
}

/// How many thread-id slots to allocate: one per possible thread id (pid_max), within
/// MAX_SLOTS. An unreadable pid_max gets the kernel's default of 32768. RPROF_BPF_SLOTS
/// lowers the bound: with 1, every thread takes the task-storage path (tests exercise both).
fn slot_count() -> u32 {
    let bound = std::env::var("RPROF_BPF_SLOTS")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .map_or(MAX_SLOTS, |n| n.clamp(1, MAX_SLOTS));
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(32768)
        .clamp(1, bound)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_ne_bytes)
}

/// Why BPF cannot work here, found before asking the kernel (whose answer is often a bare
/// EPERM or EINVAL).
fn precheck() -> Result<()> {
    if !cfg!(target_arch = "x86_64") {
        bail!("the in-kernel backend is built for x86_64 only");
    }
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        bail!(
            "the kernel has no BTF (/sys/kernel/btf/vmlinux is missing; needs \
             CONFIG_DEBUG_INFO_BTF=y, Linux 5.5 or later)"
        );
    }
    Ok(())
}

/// The reason a load failed, with the fix where one is known.
fn explain(e: &libbpf_rs::Error, log: &str) -> anyhow::Error {
    let tail: Vec<&str> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .rev()
        .take(3)
        .collect();
    let detail = if tail.is_empty() {
        String::new()
    } else {
        format!(
            " [libbpf: {}]",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        )
    };
    let perm = matches!(e.kind(), libbpf_rs::ErrorKind::PermissionDenied)
        || log.contains("Operation not permitted")
        || e.to_string().contains("Operation not permitted");
    if perm {
        // libbpf's own lines add nothing to a refusal (and mention RLIMIT_MEMLOCK, which is
        // not the cause on kernels that account BPF memory to cgroups).
        anyhow!(
            "loading the BPF programs was refused ({e}): needs root, or CAP_BPF with \
             CAP_PERFMON (`sudo setcap cap_bpf,cap_perfmon+ep $(which rprof)`)"
        )
    } else {
        anyhow!("loading the BPF programs failed ({e}){detail}")
    }
}

impl Tracer {
    /// Opens the embedded object, configures `mode` and loads it into the kernel (fails with
    /// the reason where BPF is unavailable).
    pub fn load(mode: Mode) -> Result<Self> {
        precheck()?;
        if let Ok(mut log) = LIBBPF_LOG.lock() {
            log.clear();
        }
        let previous = libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Warn, libbpf_print)));
        let result = Self::open_and_load(mode);
        libbpf_rs::set_print(previous);
        let log = LIBBPF_LOG.lock().map(|l| l.clone()).unwrap_or_default();
        let (obj, slots) = result.map_err(|e| explain(&e, &log))?;
        let t = Tracer {
            obj,
            mode,
            links: Vec::new(),
            attached: Vec::new(),
            slots,
        };
        let stats = t.map("stats")?;
        if stats.value_size() as usize != STAT_SIZE {
            bail!(
                "BPF object mismatch: stat value of {} bytes, expected {STAT_SIZE}",
                stats.value_size()
            );
        }
        let slots = t.map("slots")?;
        if slots.value_size() as usize != SLOT_SIZE {
            bail!(
                "BPF object mismatch: slot value of {} bytes, expected {SLOT_SIZE}",
                slots.value_size()
            );
        }
        Ok(t)
    }

    fn open_and_load(mode: Mode) -> libbpf_rs::Result<(Object, u32)> {
        let mut open = ObjectBuilder::default().open_memory(OBJECT)?;
        let slots = slot_count();
        let (timed, per_thread) = match mode {
            Mode::Timed => (1u32, 1u32),
            Mode::CountsOnly { per_thread } => (0, per_thread as u32),
        };
        let cfg: Vec<u8> = [
            timed,
            per_thread,
            syscalls::Sysno::execve as u32,
            syscalls::Sysno::exit as u32,
            syscalls::Sysno::exit_group as u32,
            syscalls::Sysno::clone as u32,
            syscalls::Sysno::clone3 as u32,
            syscalls::Sysno::fork as u32,
            syscalls::Sysno::vfork as u32,
        ]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
        let mut found = false;
        for mut m in open.maps_mut() {
            if m.name() == "slots" {
                m.set_max_entries(slots)?;
            }
            if m.name().to_string_lossy().ends_with(".rodata.cfg") {
                if let Some(v) = m.initial_value_mut() {
                    if v.len() >= cfg.len() {
                        v[..cfg.len()].copy_from_slice(&cfg);
                        found = true;
                    }
                }
            }
        }
        if !found {
            return Err(libbpf_rs::Error::from(std::io::Error::other(
                "BPF object has no .rodata.cfg section",
            )));
        }
        Ok((open.load()?, slots))
    }

    fn map(&self, name: &str) -> Result<libbpf_rs::Map<'_>> {
        self.obj
            .maps()
            .find(|m| m.name() == std::ffi::OsStr::new(name))
            .ok_or_else(|| anyhow!("BPF object has no map {name}"))
    }

    /// Adds a process to the traced set; `launched`: a held command, traced from its exec.
    pub fn add_pid(&mut self, pid: u32, launched: bool) -> Result<()> {
        let state = if launched { ARMED } else { TRACED };
        if !launched {
            self.attached.push(pid);
        }
        self.map("pids")?
            .update(&pid.to_ne_bytes(), &state.to_ne_bytes(), MapFlags::ANY)
            .context("adding the target to the BPF pid set")
    }

    /// How many tasks entered the traced set: the given processes and every thread and
    /// process they created (the fork program adds each new task's id).
    fn tasks_in_set(&self) -> u64 {
        self.map("pids").map_or(0, |m| m.keys().count() as u64)
    }

    /// Marks the present threads of the attached processes as traced in `slots` (threads
    /// created from now on are marked by the fork program, which must be attached first).
    fn mark_attached_threads(&self) -> Result<()> {
        let slots = self.map("slots")?;
        let mut value = [0u8; SLOT_SIZE];
        value[12..16].copy_from_slice(&SLOT_IDLE.to_ne_bytes());
        for &pid in &self.attached {
            for tid in target::threads_of(pid).unwrap_or_default() {
                if tid >= self.slots {
                    continue; // task storage serves it, from `pids`
                }
                slots
                    .update(&tid.to_ne_bytes(), &value, MapFlags::ANY)
                    .with_context(|| format!("marking thread {tid} as traced"))?;
                // A thread that ended meanwhile leaves no traced slot for the next task that
                // gets its id (its exit may have run before the mark).
                if !std::path::Path::new(&format!("/proc/{pid}/task/{tid}")).exists() {
                    let _ = slots.update(&tid.to_ne_bytes(), &[0u8; SLOT_SIZE], MapFlags::ANY);
                }
            }
        }
        Ok(())
    }

    /// Attaches the programs: tracing starts.
    pub fn start(&mut self) -> Result<()> {
        // Fork first, so no child is missed; then the present threads are marked; exit
        // before entry, so every entry seen has its exit seen (an exit without entry is
        // counted as in flight at the start).
        for name in [
            "sched_process_fork",
            "sched_process_exec",
            "sched_process_exit",
            "",
            "sys_exit",
            "sys_enter",
        ] {
            if name.is_empty() {
                self.mark_attached_threads()?;
                continue;
            }
            let prog = self
                .obj
                .progs_mut()
                .find(|p| p.name() == std::ffi::OsStr::new(name))
                .ok_or_else(|| anyhow!("BPF object has no program {name}"))?;
            let link = prog
                .attach()
                .with_context(|| format!("attaching the BPF program to raw tracepoint {name}"))?;
            self.links.push(link);
        }
        Ok(())
    }

    /// Detaches every program, in parallel: each detach waits for an RCU grace period.
    fn stop(&mut self) {
        let links = std::mem::take(&mut self.links);
        std::thread::scope(|s| {
            for l in links.into_iter().rev() {
                s.spawn(move || drop(l));
            }
        });
    }

    fn misc(&self, which: u32) -> u64 {
        self.map("misc")
            .ok()
            .and_then(|m| m.lookup_percpu(&which.to_ne_bytes(), MapFlags::ANY).ok())
            .flatten()
            .map_or(0, |vals| {
                vals.iter()
                    .fold(0u64, |acc, v| acc.wrapping_add(u64_at(v, 0)))
            })
    }

    /// Detaches the programs and reads the maps into a recorder. Totals (counts-only without
    /// thread ids) are attributed to `owner` (pid, tid). Returns (calls lost because a map was
    /// full, calls in flight at start or stop).
    fn stop_and_read(&mut self, rec: &mut Recorder, owner: (u32, u32)) -> Result<(u64, u64)> {
        self.stop();
        let mut in_flight = self.misc(MISC_UNPAIRED) + self.misc(MISC_DIED_INSIDE);
        let lost = self.misc(MISC_LOST);
        let totals_only = matches!(self.mode, Mode::CountsOnly { per_thread: false });
        if totals_only {
            let totals = self.map("totals")?;
            for nr in 0..TOTAL_SLOTS {
                if let Ok(Some(vals)) = totals.lookup_percpu(&nr.to_ne_bytes(), MapFlags::ANY) {
                    let n: u64 = vals.iter().map(|v| u64_at(v, 0)).sum();
                    if n > 0 {
                        rec.add_counts(owner.0, owner.1, nr, 0, n);
                    }
                }
            }
        }
        if self.mode == Mode::Timed {
            let stats = self.map("stats")?;
            for key in stats.keys() {
                let Ok(Some(v)) = stats.lookup(&key, MapFlags::ANY) else {
                    continue;
                };
                if v.len() < STAT_SIZE {
                    continue;
                }
                let hist: Vec<u32> = (0..NBUCKETS).map(|i| u32_at(&v, 40 + 4 * i)).collect();
                rec.add_measured(
                    u32_at(&key, 0),
                    u32_at(&key, 4),
                    u32_at(&key, 8),
                    u64_at(&v, 0),
                    u64_at(&v, 8),
                    u64_at(&v, 16),
                    u64_at(&v, 24),
                    u64_at(&v, 32),
                    &hist,
                );
            }
            // Threads still inside a call when tracing stopped: entries minus exits, summed
            // over CPUs (a call may enter on one CPU and leave on another).
            in_flight += self.misc(MISC_PENDING);
        }
        let counts = self.map("counts")?;
        let mut found: Vec<(u32, u32, u32, u32, u64)> = Vec::new();
        for key in counts.keys() {
            if let Ok(Some(v)) = counts.lookup(&key, MapFlags::ANY) {
                found.push((
                    u32_at(&key, 0),
                    u32_at(&key, 4),
                    u32_at(&key, 8),
                    u32_at(&key, 12),
                    u64_at(&v, 0),
                ));
            }
        }
        // Counts-only: an exit reading number -1 (orig_ax) is rt_sigreturn's: restoring the
        // interrupted context sets it so. The exit program has no entry to name it from
        // (keeping one per thread would cost a map update per call), but on x86_64
        // rt_sigreturn is the only call that does this, except calls a tracer cancelled,
        // whose entries read -1 too: threads with such entries keep the -1. (Timed mode
        // names every exit from its entry.)
        let minus_one = u32::MAX;
        let cancelled: std::collections::HashSet<u32> = found
            .iter()
            .filter(|k| k.2 == minus_one && k.3 == 0)
            .map(|k| k.1)
            .collect();
        for (tgid, tid, nr, errno, n) in found {
            let nr = if self.mode != Mode::Timed
                && nr == minus_one
                && errno != 0
                && !cancelled.contains(&tid)
            {
                syscalls::Sysno::rt_sigreturn as u32
            } else {
                nr
            };
            if totals_only {
                rec.add_counts(owner.0, owner.1, nr, errno, n);
            } else {
                rec.add_counts(tgid, tid, nr, errno, n);
            }
        }
        Ok((lost, in_flight))
    }
}

/// What a tracing session found.
pub struct BpfRun {
    /// Per-thread statistics (one pseudo-thread holding the totals when not keyed by thread).
    pub threads: Vec<ThreadSummary>,
    /// Calls not counted because a map was full.
    pub lost: u64,
    /// Calls in flight when tracing started or stopped (timed mode), not counted.
    pub in_flight: u64,
    /// Why tracing stopped.
    pub stop_reason: String,
    /// Threads traced (present at the start or created later), when `threads` holds
    /// totals only and so cannot say.
    pub threads_traced: Option<u64>,
}

/// Traces until the target exits, a stop signal arrives or the deadline.
pub fn run(
    mut tracer: Tracer,
    pids: Vec<u32>,
    launched: Option<u32>,
    mut deadline: Deadline,
    release: &mut dyn FnMut() -> Result<()>,
    status: &mut Option<nix::sys::wait::WaitStatus>,
) -> Result<BpfRun> {
    let mut names: HashMap<u32, String> = HashMap::new();
    // Threads already there: a launched command has one; an attached process its current
    // ones (the set holds only its pid, and the ids of tasks created from now on).
    let mut initial_threads = 0u64;
    for &p in &pids {
        let is_launched = launched == Some(p);
        tracer.add_pid(p, is_launched)?;
        initial_threads += if is_launched {
            1
        } else {
            target::threads_of(p).map_or(1, |t| t.len() as u64)
        };
    }
    tracer.start()?;
    release()?;
    deadline.start();
    // Names are read after release: a launched command has exec'd by then (before, it is
    // still a copy of rprof). Threads that exit before the end keep these names.
    for &p in &pids {
        for tid in target::threads_of(p).unwrap_or_default() {
            if let Some(c) = crate::process::thread_name(p, tid) {
                names.insert(tid, c);
            }
        }
    }
    let pidfds: Vec<OwnedFd> = pids.iter().filter_map(|&p| target::pidfd(p)).collect();
    let mut stopper = Stopper::new(launched, deadline);
    let reason = loop {
        let mut pfds: Vec<libc::pollfd> = pidfds
            .iter()
            .map(|f| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: valid pollfd array.
        unsafe {
            libc::poll(
                pfds.as_mut_ptr(),
                pfds.len() as libc::nfds_t,
                stopper.poll_ms(200),
            )
        };
        let exited = !pidfds.is_empty() && pidfds.iter().all(target::pidfd_exited);
        if let Verdict::Stop(r) = stopper.check(exited) {
            break r;
        }
    };
    if let Some(p) = launched {
        if pidfds.first().is_some_and(target::pidfd_exited) {
            *status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(p as i32), None).ok();
        }
    }
    let mut rec = Recorder::default();
    let owner = pids.first().copied().unwrap_or(0);
    let (lost, in_flight) = tracer.stop_and_read(&mut rec, (owner, owner))?;
    let threads_traced = matches!(tracer.mode, Mode::CountsOnly { per_thread: false })
        .then(|| initial_threads + tracer.tasks_in_set().saturating_sub(pids.len() as u64));
    // Every call was counted at its exit (or its entry, for those that never return): the
    // recorder holds no pending entries.
    let (threads, _) = rec.finish(true, &|pid, tid| {
        names
            .get(&tid)
            .cloned()
            .or_else(|| crate::process::thread_name(pid, tid))
            .unwrap_or_else(|| "?".into())
    });
    Ok(BpfRun {
        threads,
        lost,
        in_flight,
        stop_reason: reason,
        threads_traced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_is_embedded_and_parses() {
        // The ELF object build.rs compiled: it opens (no kernel needed) and has the programs
        // and maps the loader looks for.
        let open = ObjectBuilder::default()
            .open_memory(OBJECT)
            .expect("embedded BPF object opens");
        let progs: Vec<String> = open
            .progs()
            .map(|p| p.name().to_string_lossy().into_owned())
            .collect();
        for p in [
            "sys_enter",
            "sys_exit",
            "sched_process_fork",
            "sched_process_exec",
            "sched_process_exit",
        ] {
            assert!(progs.iter().any(|x| x == p), "{p} in {progs:?}");
        }
        let stats = open
            .maps()
            .find(|m| m.name() == "stats")
            .expect("stats map");
        assert_eq!(stats.value_size() as usize, STAT_SIZE);
        let slots = open
            .maps()
            .find(|m| m.name() == "slots")
            .expect("slots map");
        assert_eq!(slots.value_size() as usize, SLOT_SIZE);
        assert!(open
            .maps()
            .any(|m| m.name().to_string_lossy().ends_with(".rodata.cfg")));
    }
}
