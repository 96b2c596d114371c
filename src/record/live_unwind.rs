//! DWARF unwinding while recording (`--call-graph dwarf` / `auto`): one
//! [`ProcessUnwinder`] per address space, kept current from `/proc/PID/maps` at attach and from
//! the MMAP2 / COMM(exec) / FORK / EXIT records as the drain loop sees them, so each sample's
//! copied stack is unwound the moment it leaves the ring buffer and only the resulting
//! addresses are kept. Stack bytes are never stored: that is what makes rprof's data file and
//! post-processing small next to `perf record --call-graph dwarf`.
//!
//! The unwound user frames are spliced into the kernel's callchain format (kernel part as the
//! kernel walked it, then `PERF_CONTEXT_USER`, then the DWARF frames), so the profile builder
//! treats them exactly like frame-pointer chains.

use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::maps::{self, Mapping};
use crate::unwind::dwarf::{ModuleCache, ProcessUnwinder, StopReason, UnwindOutcome};
use crate::unwind::fp::{is_marker, PERF_CONTEXT_USER};

/// A process whose unwinding ran into an unknown address re-reads its maps at most this often:
/// it catches mappings whose MMAP2 record sits in another CPU's ring buffer not yet drained (or
/// never came, like the vdso of a launched command) without letting a JIT-heavy process turn
/// every sample into a /proc read.
const REFRESH_INTERVAL: Duration = Duration::from_millis(500);

/// An exited process's unwinder is kept this long, because its last samples may still sit in
/// another CPU's ring buffer behind its EXIT record.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Figures about the unwinding work, for the summary and the benchmark.
#[derive(Debug, Default, Clone)]
pub struct LiveStats {
    /// Samples unwound with DWARF.
    pub unwound: u64,
    /// Samples whose DWARF unwind stopped early (before the symbol check).
    pub stopped_early: u64,
    /// Of those, stopped because the stack copy ended (a larger `dwarf,BYTES` helps).
    pub stack_exhausted: u64,
    /// Of those, stopped in code with no module or no unwind information (JIT code, a
    /// stripped or unreadable module, a function no FDE covers).
    pub no_unwind_info: u64,
    /// Samples without user registers (kernel threads, or the kernel could not copy them).
    pub no_user_regs: u64,
    /// Time spent unwinding, ns.
    pub unwind_ns: u64,
    /// Modules registered.
    pub modules: u64,
    /// Distinct files whose unwind sections were parsed (shared by all processes).
    pub files: usize,
    /// Module registrations that failed (unreadable file, no PT_LOAD at the offset, …): the
    /// range stays known without unwind info, so stacks through it count as truncated.
    pub module_errors: u64,
}

impl LiveStats {
    /// Adds another drain thread's figures (the module and file counts are the largest
    /// thread's, not summed).
    pub fn add(&mut self, o: &LiveStats) {
        self.unwound += o.unwound;
        self.stopped_early += o.stopped_early;
        self.stack_exhausted += o.stack_exhausted;
        self.no_unwind_info += o.no_unwind_info;
        self.no_user_regs += o.no_user_regs;
        self.unwind_ns += o.unwind_ns;
        // Every drain thread registers the same modules: the count is of modules, not of
        // registrations.
        self.modules = self.modules.max(o.modules);
        self.files = self.files.max(o.files);
        self.module_errors = self.module_errors.max(o.module_errors);
    }
}

/// An address-space change one drain thread's unwinder saw, for the others (see
/// `record::rings`).
#[derive(Clone, Debug)]
pub enum SideBand {
    /// [`LiveUnwinder::mmap`].
    Mmap(u32, Mapping),
    /// [`LiveUnwinder::fork`].
    Fork(u32, u32, u64),
    /// [`LiveUnwinder::exec`].
    Exec(u32, u64),
    /// [`LiveUnwinder::exit`].
    Exit(u32),
}

struct Proc {
    unwinder: ProcessUnwinder,
    /// `/proc/PID/root` when the process lives in another mount namespace, so its paths are
    /// opened as it sees them.
    root: Option<PathBuf>,
    last_refresh: Option<Instant>,
    /// Bumped on exec and fork so a delayed exit sweep does not drop a reused pid's unwinder.
    generation: u64,
    /// Kernel time of the exec that made this address space, if one did.
    exec_time: Option<u64>,
}

/// The per-recording DWARF unwinding state.
pub struct LiveUnwinder {
    auto: bool,
    /// Unwinding samples read back from a file (perf.data): the recorded processes are gone
    /// or their pids reused, so nothing is read from `/proc`; mappings come only from the
    /// file's records, with paths already resolved to the files to read.
    offline: bool,
    files: ModuleCache,
    procs: HashMap<u32, Proc>,
    exited: VecDeque<(u32, u64, Instant)>,
    next_generation: u64,
    /// The vdso image: the same kernel maps the same vdso into every 64-bit process, so it is
    /// read once.
    vdso: Option<Arc<[u8]>>,
    frames: Vec<u64>,
    chain: Vec<u64>,
    /// With several drain threads: the address-space changes this one saw, to pass on.
    journal: Option<Vec<SideBand>>,
    /// Work figures.
    pub stats: LiveStats,
}

/// The chains one sample produced: `primary` to use, and in auto mode `fallback`, the kernel's
/// frame-pointer chain, offered when DWARF stopped early or the frame-pointer chain is longer.
/// The builder picks the fallback only when the primary is truncated and the fallback is not,
/// since only symbols tell whether a chain reached a thread entry.
pub struct SampleChains<'a> {
    /// The chain to store.
    pub primary: &'a [u64],
    /// The frame-pointer alternative (auto mode).
    pub fallback: Option<&'a [u64]>,
}

impl LiveUnwinder {
    /// A fresh state; `auto` keeps the frame-pointer chain as a fallback.
    pub fn new(auto: bool) -> Self {
        LiveUnwinder {
            auto,
            offline: false,
            files: ModuleCache::new(),
            procs: HashMap::new(),
            exited: VecDeque::new(),
            next_generation: 1,
            vdso: None,
            frames: Vec::with_capacity(256),
            chain: Vec::with_capacity(512),
            journal: None,
            stats: LiveStats::default(),
        }
    }

    /// A fresh state for another drain thread: same mode, sharing the parsed unwind tables.
    pub fn sibling(&self) -> Self {
        LiveUnwinder {
            offline: self.offline,
            files: self.files.clone(),
            vdso: self.vdso.clone(),
            ..Self::new(self.auto)
        }
    }

    /// Keeps (or stops keeping) a journal of the address-space changes seen.
    pub fn set_journal(&mut self, on: bool) {
        self.journal = on.then(Vec::new);
    }

    /// The changes journaled since the last call.
    pub fn take_journal(&mut self) -> Vec<SideBand> {
        match self.journal.as_mut() {
            Some(j) => std::mem::take(j),
            None => Vec::new(),
        }
    }

    /// Applies changes another drain thread saw (not journaled again).
    pub fn replay(&mut self, ops: &[SideBand]) {
        let saved = self.journal.take();
        for op in ops {
            match op {
                SideBand::Mmap(pid, m) => self.mmap(*pid, m),
                SideBand::Fork(ppid, pid, time) => self.fork(*ppid, *pid, *time),
                SideBand::Exec(pid, time) => self.exec(*pid, *time),
                SideBand::Exit(pid) => self.exit(*pid),
            }
        }
        self.journal = saved;
    }

    fn note(&mut self, op: impl FnOnce() -> SideBand) {
        if let Some(j) = self.journal.as_mut() {
            j.push(op());
        }
    }

    /// A state for samples read back from a file: see the `offline` field. Mappings given to
    /// [`mmap`](Self::mmap) must carry the path of the file to read.
    pub fn offline(auto: bool) -> Self {
        LiveUnwinder {
            offline: true,
            ..Self::new(auto)
        }
    }

    /// The figures, with the parsed-file count filled in.
    pub fn finish(mut self) -> LiveStats {
        self.stats.files = self.files.len();
        self.stats
    }

    fn new_proc(&mut self, pid: u32) -> Proc {
        let root = (!self.offline && crate::process::in_other_mount_ns(pid))
            .then(|| PathBuf::from(format!("/proc/{pid}/root")));
        self.next_generation += 1;
        Proc {
            unwinder: ProcessUnwinder::with_cache(self.files.clone()),
            root,
            last_refresh: None,
            generation: self.next_generation,
            exec_time: None,
        }
    }

    /// Registers the mappings of a process found at attach time.
    pub fn attach(&mut self, pid: u32, maps: &[Mapping]) {
        let mut p = self.new_proc(pid);
        for m in maps {
            self.add(pid, &mut p, m);
        }
        self.procs.insert(pid, p);
    }

    /// An MMAP2 record (executable mappings only).
    pub fn mmap(&mut self, pid: u32, m: &Mapping) {
        self.note(|| SideBand::Mmap(pid, m.clone()));
        let mut p = match self.procs.remove(&pid) {
            Some(p) => p,
            None => self.new_proc(pid),
        };
        self.add(pid, &mut p, m);
        self.procs.insert(pid, p);
    }

    /// A new process (FORK record at kernel time `time`): it starts with a copy of its
    /// parent's modules.
    pub fn fork(&mut self, ppid: u32, pid: u32, time: u64) {
        self.note(|| SideBand::Fork(ppid, pid, time));
        // The ring buffers are drained one CPU after the other, so the child's own exec (on
        // its CPU) can arrive before the parent's FORK record (on the parent's): the newer
        // address space stands.
        if self
            .procs
            .get(&pid)
            .and_then(|p| p.exec_time)
            .is_some_and(|t| t > time)
        {
            return;
        }
        self.next_generation += 1;
        let generation = self.next_generation;
        let child = match self.procs.get(&ppid) {
            Some(parent) => Proc {
                unwinder: parent.unwinder.fork(),
                root: parent.root.clone(),
                last_refresh: None,
                generation,
                exec_time: None,
            },
            None => {
                let mut p = self.new_proc(pid);
                let maps = if self.offline {
                    Vec::new()
                } else {
                    maps::read_proc_maps(pid)
                };
                for m in &maps {
                    self.add(pid, &mut p, m);
                }
                p
            }
        };
        self.procs.insert(pid, child);
    }

    /// exec at kernel time `time`: the address space is new; the MMAP2 records of the new
    /// image follow.
    pub fn exec(&mut self, pid: u32, time: u64) {
        self.note(|| SideBand::Exec(pid, time));
        let mut p = self.new_proc(pid);
        p.exec_time = Some(time);
        self.procs.insert(pid, p);
    }

    /// A process's main thread exited.
    pub fn exit(&mut self, pid: u32) {
        self.note(|| SideBand::Exit(pid));
        let now = Instant::now();
        if let Some(p) = self.procs.get(&pid) {
            self.exited.push_back((pid, p.generation, now));
        }
        while let Some(&(old, generation, at)) = self.exited.front() {
            if now.duration_since(at) < EXIT_GRACE {
                break;
            }
            self.exited.pop_front();
            if self
                .procs
                .get(&old)
                .is_some_and(|p| p.generation == generation)
            {
                self.procs.remove(&old);
            }
        }
    }

    fn add(&mut self, pid: u32, p: &mut Proc, m: &Mapping) {
        if m.path == "[vdso]" {
            if self.vdso.is_none() {
                // Offline, the pid is not the recorded process: only our own vdso (the same
                // image when the file was recorded on this kernel) can stand in.
                let pid = if self.offline { 0 } else { pid };
                self.vdso = read_mem(pid, m.start, m.end).map(Arc::from);
            }
            let r = match &self.vdso {
                Some(bytes) if bytes.len() as u64 == m.end - m.start => {
                    p.unwinder.add_module_bytes("[vdso]", bytes, m.start, m.end)
                }
                // A different size: not the image we cached (another ABI); read this one.
                _ if self.offline => {
                    self.stats.module_errors += 1;
                    return;
                }
                _ => match read_mem(pid, m.start, m.end) {
                    Some(bytes) => p
                        .unwinder
                        .add_module_bytes("[vdso]", &bytes, m.start, m.end),
                    None => {
                        self.stats.module_errors += 1;
                        return;
                    }
                },
            };
            self.count(r.is_ok());
            return;
        }
        // Anonymous memory (JIT code), [vsyscall], memfd: no ELF file to read unwind info from;
        // unwinding into them stops as "no module" and the stack counts as truncated.
        if m.is_anonymous() || !m.path.starts_with('/') {
            return;
        }
        let path = match &p.root {
            Some(root) => root.join(m.path.trim_start_matches('/')),
            None => PathBuf::from(&m.path),
        };
        let mut r = p.unwinder.add_module(&path, m.start, m.end, m.pgoff);
        if r.is_err() && !self.offline {
            // Deleted or replaced files (an upgraded library, a rebuilt binary) stay readable
            // through the mapping itself while the process lives.
            let via_map = PathBuf::from(format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end));
            if via_map.exists() {
                r = p.unwinder.add_module(&via_map, m.start, m.end, m.pgoff);
            }
        }
        self.count(r.is_ok());
    }

    fn count(&mut self, ok: bool) {
        if ok {
            self.stats.modules += 1;
        } else {
            self.stats.module_errors += 1;
        }
    }

    /// Re-reads `/proc/PID/maps` and registers mappings the unwinder does not know; true when
    /// something was added.
    fn refresh(&mut self, pid: u32) -> bool {
        if self.offline {
            return false;
        }
        let Some(mut p) = self.procs.remove(&pid) else {
            return false;
        };
        let due = p
            .last_refresh
            .is_none_or(|t| t.elapsed() >= REFRESH_INTERVAL);
        let mut added = false;
        if due {
            p.last_refresh = Some(Instant::now());
            for m in maps::read_proc_maps(pid) {
                if p.unwinder.module_name_at(m.start).is_none() {
                    let before = p.unwinder.module_count();
                    self.add(pid, &mut p, &m);
                    added |= p.unwinder.module_count() != before;
                }
            }
        }
        self.procs.insert(pid, p);
        added
    }

    /// Unwinds one sample. `regs` are the user registers in PERF_REG_X86 bit order (BP, SP,
    /// IP), `stack` the valid bytes of the user stack copy, `callchain` the kernel's chain
    /// (kernel frames, plus in auto mode the frame-pointer user frames).
    pub fn unwind_sample<'a>(
        &'a mut self,
        pid: u32,
        regs: &[u64],
        stack: &[u8],
        callchain: &'a [u64],
    ) -> SampleChains<'a> {
        let [bp, sp, ip] = match regs {
            [bp, sp, ip, ..] => [*bp, *sp, *ip],
            // No user registers: a kernel thread, or a sample the kernel could not attribute to
            // user code. Its kernel chain is all there is.
            _ => {
                self.stats.no_user_regs += 1;
                return SampleChains {
                    primary: callchain,
                    fallback: None,
                };
            }
        };
        if !self.procs.contains_key(&pid) {
            // Not seen at attach nor born during the recording (system-wide mode, or a race
            // with attach): start from its current maps.
            let maps = if self.offline {
                Vec::new()
            } else {
                maps::read_proc_maps(pid)
            };
            self.attach(pid, &maps);
        }
        let started = Instant::now();
        let mut outcome = self.unwind_into_frames(pid, ip, sp, bp, stack);
        if let UnwindOutcome::Truncated(StopReason::NoModule { .. }) = outcome {
            if self.refresh(pid) {
                outcome = self.unwind_into_frames(pid, ip, sp, bp, stack);
            }
        }
        self.stats.unwind_ns += started.elapsed().as_nanos() as u64;
        self.stats.unwound += 1;
        let stopped_early = !outcome.is_complete();
        self.stats.stopped_early += u64::from(stopped_early);
        match outcome {
            UnwindOutcome::Truncated(StopReason::StackExhausted { .. }) => {
                self.stats.stack_exhausted += 1
            }
            UnwindOutcome::Truncated(
                StopReason::NoModule { .. }
                | StopReason::NoUnwindInfo { .. }
                | StopReason::NoFde { .. },
            ) => self.stats.no_unwind_info += 1,
            _ => {}
        }

        // The kernel part of the callchain is everything before the user context marker.
        let user_at = callchain
            .iter()
            .position(|&v| v == PERF_CONTEXT_USER)
            .unwrap_or(callchain.len());
        self.chain.clear();
        self.chain.extend_from_slice(&callchain[..user_at]);
        self.chain.push(PERF_CONTEXT_USER);
        self.chain.extend_from_slice(&self.frames);

        let fallback = if self.auto {
            let fp_user = callchain[user_at..]
                .iter()
                .filter(|&&v| !is_marker(v) && v >= 4096)
                .count();
            (fp_user > 0 && (stopped_early || fp_user > self.frames.len())).then_some(callchain)
        } else {
            None
        };
        SampleChains {
            primary: &self.chain,
            fallback,
        }
    }

    fn unwind_into_frames(
        &mut self,
        pid: u32,
        ip: u64,
        sp: u64,
        bp: u64,
        stack: &[u8],
    ) -> UnwindOutcome {
        self.frames.clear();
        match self.procs.get_mut(&pid) {
            Some(p) => p.unwinder.unwind(ip, sp, bp, stack, &mut self.frames),
            None => {
                self.frames.push(ip);
                UnwindOutcome::Truncated(StopReason::NoModule { address: ip })
            }
        }
    }
}

/// Reads `start..end` of `pid`'s memory (the vdso image), falling back to our own vdso, which
/// is the same image for every 64-bit process of this kernel.
fn read_mem(pid: u32, start: u64, end: u64) -> Option<Vec<u8>> {
    let len = usize::try_from(end.checked_sub(start)?).ok()?;
    // The vdso is a few pages; anything large is not what we think it is.
    if len > (1 << 20) {
        return None;
    }
    let read = |path: &Path, at: u64| -> Option<Vec<u8>> {
        let f = std::fs::File::open(path).ok()?;
        let mut buf = vec![0u8; len];
        f.read_exact_at(&mut buf, at).ok()?;
        Some(buf)
    };
    // pid 0: only our own image is wanted.
    if pid != 0 {
        if let Some(b) = read(Path::new(&format!("/proc/{pid}/mem")), start) {
            return Some(b);
        }
    }
    let own = maps::read_proc_maps(std::process::id())
        .into_iter()
        .find(|m| m.path == "[vdso]" && m.end - m.start == end - start)?;
    read(Path::new("/proc/self/mem"), own.start)
}
