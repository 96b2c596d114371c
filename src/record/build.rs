//! From raw events to a [`Profile`]: replay mappings, forks and execs in time order so every
//! sample is located in the address space its process had at that moment, unwind, symbolize
//! each distinct located stack once, and count the data-quality figures.

use std::collections::HashMap;

// The builder hashes every located address and frame: FxHash, not SipHash (keys are ids and
// addresses from the recording, and a slow hash here is paid per frame).
use rustc_hash::FxHashMap;

use super::maps::{self, AddressSpace, AddressSpaces};
use super::session::{Collected, RawEvent};
use super::Recording;
use crate::profile::{Frame, FrameId, Pid, Profile, Sample, StackId, Tid};
use crate::symbolize::Symbolizer;
use crate::unwind::dwarf::is_thread_entry;
use crate::unwind::{fp, CallGraph, StackAddr};

/// Where a stack address points.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Loc {
    Kernel(StackAddr),
    /// Module path index, file offset of the address, file offset to look up.
    Module(u32, StackAddr, u64, u64),
    Jit(u32, StackAddr),
    Unknown(StackAddr),
}

/// Figures for the end-of-run summary.
#[derive(Debug, Default, Clone)]
pub struct BuildStats {
    /// Samples in the profile.
    pub samples: u64,
    /// Sum of their weights (periods), in the event's unit.
    pub weight: u64,
    /// Samples whose stack does not reach an entry point.
    pub truncated: u64,
    /// Frames (occurrences in samples) left as `module+0xOFFSET`.
    pub unsymbolized: u64,
    /// All frames in samples.
    pub frames: u64,
    /// Distinct threads.
    pub threads: usize,
    /// Distinct processes.
    pub processes: usize,
    /// Files changed on disk since the target mapped them (rebuilt, upgraded, deleted):
    /// their frames are left unsymbolized rather than named from the wrong file.
    pub changed_modules: Vec<String>,
    /// Samples (auto mode) whose frame-pointer chain replaced a DWARF stack that stopped early.
    pub fp_fallbacks: u64,
    /// Per recorded event (as `Recording::events`): samples, their summed weight, truncated
    /// stacks and unsymbolized frames.
    pub per_event: Vec<[u64; 4]>,
}

/// Locates each distinct (process, address-space generation, chain) once: every address
/// resolved to kernel, module + file offset, JIT or unknown.
#[derive(Default)]
struct Locator {
    /// Each distinct mapped file: the path shown, and where rprof opens it.
    modules: Vec<ModuleRef>,
    /// Per mapped path, the modules of that path by inode: looked up by `&str` for every
    /// address, so no path is copied to find a module already known.
    module_index: FxHashMap<String, Vec<(u64, u32)>>,
    located: Vec<Vec<Loc>>,
    located_index: FxHashMap<(u32, u64, u32), u32>,
    /// Per pid: whether it lives in another mount namespace than rprof.
    foreign_ns: FxHashMap<u32, bool>,
    /// Reading a file back (perf.data): the recorded pids mean nothing on this machine now.
    offline: bool,
}

/// What differs when the events come from a file written earlier (perf.data) rather than from
/// a live recording: the processes are gone or their pids reused, so nothing is read from
/// `/proc`, and each recorded file is opened where its recorded build-id was found.
#[derive(Debug, Default, Clone)]
pub struct Offline {
    /// Per recorded path: the file to open for it, or None when no file with the recorded
    /// build-id was found (its frames stay `module+offset` and the summary names it). A path
    /// not listed (no build-id was recorded) is opened as recorded.
    pub files: HashMap<String, Option<String>>,
    /// Whether kernel addresses may be named: from the symbolizer's kernel symbols (a saved
    /// copy of the recorded kernel's, or this machine's `/proc/kallsyms` when the recorded
    /// kernel is the running one).
    pub kernel_symbols: bool,
    /// The recorded kernel's `_text` address (from its MMAP record): its difference to
    /// `_text` in the kernel symbols read is the KASLR shift between the two boots, added to
    /// each recorded kernel address before the lookup.
    pub kernel_text: Option<u64>,
    /// Whether JIT code may be named from `/tmp/perf-PID.map` (perf does the same for its
    /// files; the recorded pid's map is read with the usual ownership checks).
    pub perf_maps: bool,
}

/// A mapped file as the target saw it.
struct ModuleRef {
    /// Path as the kernel reported it (shown in profiles).
    path: String,
    /// Inode at mapping time, 0 when unknown.
    ino: u64,
    /// Path rprof opens: through `/proc/PID/root` for a process in another mount namespace
    /// (a container), where the same path names another file.
    open: String,
    /// Processes that mapped it, with where (up to [`MAX_SEEN`]): any of them still alive can
    /// show the file it mapped, through `/proc/PID/root` or `/proc/PID/map_files/START-END`
    /// (the mapping itself, even when deleted or replaced; root or CAP_SYS_ADMIN).
    seen: Vec<(u32, u64, u64)>,
}

/// Processes remembered per module for finding the file it mapped.
const MAX_SEEN: usize = 8;

/// Whether the file rprof would open for `m` is still the one the target mapped. A file
/// rebuilt or upgraded since (a new inode at the same path, or `path (deleted)`) would give
/// plausible but wrong names, so its frames stay `module+offset`. Unknown inodes, pseudo
/// paths and overlayfs (whose inode numbers differ between the mapping and `stat`) are
/// trusted as before.
fn still_mapped_file(m: &ModuleRef) -> bool {
    const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;
    if m.ino == 0 || !m.open.starts_with('/') {
        return true;
    }
    // memfd, SysV shared memory and devices are not files on disk that could have changed
    // (they simply will not open for symbols).
    if ["/memfd:", "/SYSV", "/dev/"]
        .iter()
        .any(|p| m.path.starts_with(p))
    {
        return true;
    }
    if m.path.ends_with(" (deleted)") {
        return false;
    }
    let Ok(meta) = std::fs::metadata(&m.open) else {
        return false;
    };
    if std::os::unix::fs::MetadataExt::ino(&meta) == m.ino {
        return true;
    }
    let Ok(c) = std::ffi::CString::new(m.open.as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path and a zeroed statfs for the kernel to fill.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::statfs(c.as_ptr(), &mut fs) } == 0;
    ok && fs.f_type as i64 == OVERLAYFS_SUPER_MAGIC
}

impl Locator {
    fn locate(
        &mut self,
        spaces: &AddressSpaces,
        late: &FxHashMap<u32, AddressSpace>,
        pid: u32,
        chain: u32,
        chains: &[Box<[u64]>],
        with_kernel: bool,
    ) -> u32 {
        let gen = spaces.get(pid).map_or(0, |(_, g)| g);
        let key = (pid, gen, chain);
        if let Some(&id) = self.located_index.get(&key) {
            return id;
        }
        let addrs = fp::unwind(&chains[chain as usize], with_kernel);
        let space = spaces.get(pid).map(|(s, _)| s);
        let mut locs: Vec<Loc> = addrs
            .into_iter()
            .map(|a| {
                if a.kernel {
                    return Loc::Kernel(a);
                }
                let found = space
                    .and_then(|s| s.find(a.addr))
                    .or_else(|| late.get(&pid).and_then(|s| s.find(a.addr)));
                match found {
                    None => Loc::Unknown(a),
                    Some(m) if m.is_anonymous() => Loc::Jit(pid, a),
                    Some(m) => {
                        let known = self
                            .module_index
                            .get(m.path.as_str())
                            .and_then(|v| v.iter().find(|e| e.0 == m.ino))
                            .map(|e| e.1);
                        let mi = match known {
                            Some(x) => {
                                let seen = &mut self.modules[x as usize].seen;
                                if seen.len() < MAX_SEEN && seen.iter().all(|s| s.0 != pid) {
                                    seen.push((pid, m.start, m.end));
                                }
                                x
                            }
                            None => {
                                let x = self.modules.len() as u32;
                                let offline = self.offline;
                                let foreign = *self.foreign_ns.entry(pid).or_insert_with(|| {
                                    !offline && crate::process::in_other_mount_ns(pid)
                                });
                                let open = if foreign && m.path.starts_with('/') {
                                    format!("/proc/{pid}/root{}", m.path)
                                } else {
                                    m.path.clone()
                                };
                                self.modules.push(ModuleRef {
                                    path: m.path.clone(),
                                    ino: m.ino,
                                    open,
                                    seen: vec![(pid, m.start, m.end)],
                                });
                                self.module_index
                                    .entry(m.path.clone())
                                    .or_default()
                                    .push((m.ino, x));
                                x
                            }
                        };
                        // A forged perf.data can put pgoff anywhere: past u64 the offset
                        // is nonsense either way, and must not overflow.
                        let off = m.pgoff.saturating_add(a.addr.saturating_sub(m.start));
                        let look = m.pgoff.saturating_add(a.lookup().saturating_sub(m.start));
                        Loc::Module(mi, a, off, look)
                    }
                }
            })
            .collect();
        // A frame-pointer walk that left mapped code is reading garbage (a library without
        // frame pointers left RBP as data): keep the first unknown address, drop the rest, and
        // let it count as truncated.
        if let Some(i) = locs.iter().position(|l| matches!(l, Loc::Unknown(_))) {
            locs.truncate(i + 1);
        }
        let id = self.located.len() as u32;
        self.located.push(locs);
        self.located_index.insert(key, id);
        id
    }
}

/// Outermost functions that mean a stack is complete: a user thread's or process's entry
/// ([`is_thread_entry`], the same rule in every call-graph mode), or for kernel-only stacks a
/// kernel thread's or the idle loop's entry.
fn is_entry_point(name: &str) -> bool {
    let base = name.split('(').next().unwrap_or(name).trim();
    is_thread_entry(base)
        || matches!(
            base,
            // Kernel threads and the idle loop.
            "ret_from_fork"
                | "ret_from_fork_asm"
                | "secondary_startup_64"
                | "secondary_startup_64_no_verify"
                | "common_startup_64"
                | "x86_64_start_kernel"
                | "start_kernel"
                | "rest_init"
        )
}

fn short_module(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A sample before symbolization: pid, tid, time, located stack, located frame-pointer
/// fallback, period (the weight), and for off-CPU time its reason code.
/// (pid, tid, time, located stack, located fallback, summed period, count, cpu, event,
/// off-CPU reason)
type RawSample = (
    u32,
    u32,
    u64,
    u32,
    Option<u32>,
    u64,
    u32,
    u16,
    u8,
    Option<u8>,
);

/// Builds the symbolized profile.
pub fn build(rec: &Recording, call_graph: CallGraph) -> (Profile, BuildStats) {
    // DWARF stacks arrive already unwound, in the callchain format: every mode builds alike.
    let _ = call_graph;
    let (p, stats, _) = build_events(
        &Input {
            collected: &rec.collected,
            initial_maps: &rec.initial_maps,
            final_maps: &rec.final_maps,
            initial_threads: &rec.initial_threads,
            kernel: rec.kernel,
            start_mono_ns: rec.start_mono_ns,
            events: rec.events.len(),
        },
        None,
        Symbolizer::new(),
    );
    (p, stats)
}

/// Builds the symbolized profile of events read back from a file (perf.data): every mapping,
/// name and fork is in `collected`, sample times are relative to `start_ns`. `sym` may come
/// with modules opened (or opening) already and its kernel symbols' source chosen; it is
/// given back, for the caller to drop or not (see `perf_data::load_full`).
pub fn build_offline(
    collected: &Collected,
    start_ns: u64,
    offline: &Offline,
    sym: Symbolizer,
) -> (Profile, BuildStats, Symbolizer) {
    let (p, stats, sym) = build_events(
        &Input {
            collected,
            initial_maps: &[],
            final_maps: &[],
            initial_threads: &[],
            kernel: true,
            start_mono_ns: start_ns,
            // A perf.data file is read one event at a time.
            events: 1,
        },
        Some(offline),
        sym,
    );
    (p, stats, sym)
}

/// The parts of a recording the builder reads.
struct Input<'a> {
    collected: &'a Collected,
    initial_maps: &'a [(u32, Vec<maps::Mapping>)],
    final_maps: &'a [(u32, Vec<maps::Mapping>)],
    initial_threads: &'a [(u32, u32, String)],
    kernel: bool,
    start_mono_ns: u64,
    /// How many events the samples' event indexes refer to.
    events: usize,
}

fn build_events(
    rec: &Input<'_>,
    offline: Option<&Offline>,
    mut sym: Symbolizer,
) -> (Profile, BuildStats, Symbolizer) {
    let mut stats = BuildStats::default();
    let mut spaces = AddressSpaces::default();
    for (pid, m) in rec.initial_maps {
        spaces.set(*pid, m.clone());
    }
    let mut names: FxHashMap<(u32, u32), String> = FxHashMap::default();
    for (pid, tid, name) in rec.initial_threads {
        if !name.is_empty() {
            names.insert((*pid, *tid), name.clone());
        }
    }
    let mut order: Vec<usize> = (0..rec.collected.events.len()).collect();
    order.sort_by_key(|&i| {
        let e = &rec.collected.events[i];
        (e.time, e.seq)
    });

    let mut late: FxHashMap<u32, AddressSpace> = FxHashMap::default();
    for (pid, maps) in rec.final_maps {
        let space = late.entry(*pid).or_default();
        for m in maps {
            space.map(m.clone());
        }
    }
    let mut locator = Locator {
        offline: offline.is_some(),
        ..Locator::default()
    };
    // (pid, tid, time, located stack, located frame-pointer fallback, period, cpu, event,
    // off-CPU reason)
    let mut raw_samples: Vec<RawSample> = Vec::new();
    let with_kernel = rec.kernel;

    for i in order {
        let e = &rec.collected.events[i];
        match &e.ev {
            RawEvent::Mmap { pid, map } => spaces.map(*pid, (**map).clone()),
            RawEvent::Comm {
                pid,
                tid,
                name,
                exec,
            } => {
                if *exec {
                    spaces.exec(*pid);
                }
                names.insert((*pid, *tid), name.to_string());
            }
            RawEvent::Fork {
                pid,
                ppid,
                tid,
                ptid,
            } => {
                if pid != ppid {
                    spaces.fork(*ppid, *pid);
                }
                if let Some(n) = names.get(&(*ppid, *ptid)).cloned() {
                    names.entry((*pid, *tid)).or_insert(n);
                }
            }
            RawEvent::Sample {
                pid,
                tid,
                chain,
                fallback,
                period,
                cpu,
                ..
            }
            | RawEvent::OffCpu {
                pid,
                tid,
                chain,
                fallback,
                blocked: period,
                cpu,
                ..
            } => {
                if !spaces.contains(*pid) && *pid != 0 && offline.is_none() {
                    // Not seen at attach (system-wide, or a process we missed): best effort.
                    spaces.set(*pid, maps::read_proc_maps(*pid));
                }
                let mut locate = |chain: u32| {
                    locator.locate(
                        &spaces,
                        &late,
                        *pid,
                        chain,
                        &rec.collected.chains,
                        with_kernel,
                    )
                };
                let id = locate(*chain);
                let fallback_id = fallback.map(&mut locate);
                let t = e.time.saturating_sub(rec.start_mono_ns);
                // Off-CPU time joins the first event's profile (`--wall` shows both in ns).
                let (event, reason, count) = match e.ev {
                    RawEvent::Sample { event, count, .. } => (event, None, count),
                    RawEvent::OffCpu { reason, count, .. } => (0, Some(reason), count),
                    _ => (0, None, 1),
                };
                raw_samples.push((
                    *pid,
                    *tid,
                    t,
                    id,
                    fallback_id,
                    *period,
                    count,
                    *cpu,
                    event,
                    reason,
                ));
            }
        }
    }

    let Locator {
        mut modules,
        located,
        ..
    } = locator;
    // Checked once per file before symbolizing: a stale file is never opened for names. A
    // changed file is still readable through a process that mapped it while that process
    // lives (`rprof record -p` on a service after a package upgrade), and the first process
    // to map it may be gone while another lives on: each is tried.
    let usable: Vec<bool> = modules
        .iter_mut()
        .map(|m| {
            if let Some(off) = offline {
                return match off.files.get(&m.path) {
                    Some(Some(open)) => {
                        m.open = open.clone();
                        true
                    }
                    Some(None) => false,
                    None => true,
                };
            }
            if still_mapped_file(m) {
                return true;
            }
            let ino = m.ino;
            let same = |p: &str| {
                std::fs::metadata(p).is_ok_and(|md| std::os::unix::fs::MetadataExt::ino(&md) == ino)
            };
            let found = m.seen.iter().find_map(|&(pid, start, end)| {
                let rooted = format!("/proc/{pid}/root{}", m.path);
                let mapped = format!("/proc/{pid}/map_files/{start:x}-{end:x}");
                [rooted, mapped].into_iter().find(|p| same(p))
            });
            match found {
                Some(p) => {
                    m.open = p;
                    true
                }
                None => false,
            }
        })
        .collect();
    stats.changed_modules = modules
        .iter()
        .zip(&usable)
        .filter(|(_, ok)| !**ok)
        .map(|(m, _)| m.path.clone())
        .collect();
    let mut p = Profile::new();
    // Every distinct (module, offset) and whether any kernel address is there, so modules
    // open and resolve in parallel before the frames are built in order below.
    // One job per file opened: two modules (same path, different inodes) can resolve to it.
    let mut per_file: FxHashMap<&str, rustc_hash::FxHashSet<u64>> = FxHashMap::default();
    let mut any_kernel = false;
    for loc in located.iter().flatten() {
        match loc {
            Loc::Module(mi, _, _, look) if usable[*mi as usize] => {
                per_file
                    .entry(modules[*mi as usize].open.as_str())
                    .or_default()
                    .insert(*look);
            }
            Loc::Kernel(_) => any_kernel = offline.is_none_or(|o| o.kernel_symbols),
            _ => {}
        }
    }
    let t_prefetch = std::time::Instant::now();
    sym.prefetch(
        per_file
            .into_iter()
            .map(|(open, offs)| (open.to_string(), offs.into_iter().collect()))
            .collect(),
        any_kernel,
    );
    // The kernel image's KASLR shift between the recording's boot and the symbols read,
    // asked only when kernel frames are to be named (it loads the kernel symbols).
    let kernel_shift = match offline {
        Some(o) if any_kernel => match (o.kernel_text, sym.kernel_text()) {
            (Some(rec), Some(now)) if rec != 0 => now.wrapping_sub(rec) as i64,
            _ => 0,
        },
        _ => 0,
    };
    if crate::profile::detect::timings() {
        eprintln!(
            "rprof-timing: symbolize: modules and kernel symbols loaded in {:.1} ms",
            t_prefetch.elapsed().as_secs_f64() * 1e3
        );
    }
    let bar = crate::progress::bar(located.len() as u64, "symbolizing");
    let mut module_ids: FxHashMap<String, crate::profile::ModuleId> = FxHashMap::default();
    // Per located stack: its stack id, whether it is truncated, and its unsymbolized count.
    let mut stacks: Vec<(Option<StackId>, bool, u64, u64)> = Vec::with_capacity(located.len());
    let mut loc_frames: FxHashMap<Loc, (Vec<FrameId>, bool)> = FxHashMap::default();
    for locs in &located {
        bar.inc(1);
        let mut root_first: Vec<FrameId> = Vec::new();
        let mut unsym = 0u64;
        let mut nframes = 0u64;
        // locs are innermost first; build each address's frames, then reverse the list.
        let mut per_addr: Vec<Vec<FrameId>> = Vec::with_capacity(locs.len());
        for loc in locs {
            let (frames, resolved) = match loc_frames.get(loc) {
                Some(x) => x.clone(),
                None => {
                    let x = frames_for(
                        loc,
                        &modules,
                        &usable,
                        offline,
                        kernel_shift,
                        &mut sym,
                        &mut p,
                        &mut module_ids,
                    );
                    loc_frames.insert(loc.clone(), x.clone());
                    x
                }
            };
            nframes += 1;
            if !resolved {
                unsym += 1;
            }
            per_addr.push(frames);
        }
        for fs in per_addr.into_iter().rev() {
            root_first.extend(fs);
        }
        let truncated = match root_first.first() {
            Some(f) => !is_entry_point(p.function_name(*f)),
            None => true,
        };
        let st = p.add_stack_frames(&root_first);
        stacks.push((st, truncated, unsym, nframes));
    }
    bar.finish_and_clear();

    let mut thread_ids = FxHashMap::default();
    // The `[off-cpu: S]` leaf frames, one per reason.
    let mut leaves: FxHashMap<u8, FrameId> = FxHashMap::default();
    let several = rec.events > 1;
    stats.per_event = vec![[0; 4]; rec.events.max(1)];
    for &(pid, tid, time, id, fallback, period, count, cpu, event, reason) in &raw_samples {
        let th = *thread_ids.entry((pid, tid)).or_insert_with(|| {
            let name = names
                .get(&(pid, tid))
                .cloned()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| {
                    // A file's pids are another boot's (or reused): never ask /proc.
                    if offline.is_some() {
                        return String::new();
                    }
                    crate::process::thread_name(pid, tid).unwrap_or_default()
                });
            let pname = names
                .get(&(pid, pid))
                .cloned()
                .unwrap_or_else(|| name.clone());
            p.add_process(Pid(pid), &pname);
            p.add_thread(Pid(pid), Tid(tid), &name)
        });
        let n = u64::from(count.max(1));
        let mut chosen = stacks[id as usize];
        // auto: the frame-pointer chain wins only where DWARF stopped short and it reached a
        // thread entry; otherwise the DWARF stack stands (a wrong caller is worse than a
        // truncated stack).
        if let Some(fb) = fallback {
            let alt = stacks[fb as usize];
            if chosen.1 && !alt.1 {
                chosen = alt;
                stats.fp_fallbacks += n;
            }
        }
        let (mut st, mut truncated, unsym, nframes) = chosen;
        if let Some(r) = reason {
            // A wait folded by --min-block keeps no stack on purpose: not a truncated one.
            truncated &= !super::offcpu::is_folded(r);
            let leaf = *leaves
                .entry(r)
                .or_insert_with(|| p.add_named_frame(&super::offcpu::leaf_name(r)));
            st = Some(p.add_stack(st, leaf));
        }
        stats.samples += n;
        stats.truncated += u64::from(truncated) * n;
        stats.unsymbolized += unsym * n;
        stats.frames += nframes * n;
        // Saturating: the loader refuses a file whose weights wrap, with a clear error.
        stats.weight = stats.weight.saturating_add(period);
        if let Some(e) = stats.per_event.get_mut(usize::from(event)) {
            e[0] += n;
            e[1] = e[1].saturating_add(period);
            e[2] += u64::from(truncated) * n;
            e[3] += unsym * n;
        }
        // An entry the recorder merged stays one row: its count, its summed period and its
        // bucket's time, so the profile (and the data file) grows with the distinct stacks
        // rather than the recording's length.
        p.add_sample(Sample {
            stack: st,
            thread: th,
            // The period, as `perf report` weighs: in frequency mode the kernel varies it to
            // hold the rate, and for a counting event (page-faults) it is how many events
            // the sample stands for.
            weight: period,
            count: n,
            time: Some(time),
        });
        p.sample_cpus.push(u32::from(cpu));
        if several {
            p.sample_events.push(u16::from(event));
        }
    }
    // A sample whose CPU is unknown (u16::MAX) leaves the whole column out: a CPU report of
    // some samples would pass for all of them.
    if p.sample_cpus.contains(&u32::from(u16::MAX)) {
        p.sample_cpus.clear();
    }
    stats.threads = p.threads.len();
    stats.processes = p.processes.len();
    // A planted map (FIFO, link, someone else's file) is not read: say which and why.
    for r in sym.refused_perf_maps() {
        eprintln!(
            "rprof: warning: JIT symbols not read from {}: {}",
            r.path, r.reason
        );
    }
    (p, stats, sym)
}

/// The profile frames (outermost first) for one located address, and whether it resolved.
#[allow(clippy::too_many_arguments)]
fn frames_for(
    loc: &Loc,
    modules: &[ModuleRef],
    usable: &[bool],
    offline: Option<&Offline>,
    kernel_shift: i64,
    sym: &mut Symbolizer,
    p: &mut Profile,
    module_ids: &mut FxHashMap<String, crate::profile::ModuleId>,
) -> (Vec<FrameId>, bool) {
    // `open`: where to read the ELF file's build-id, None for pseudo modules and stale files.
    let mut module_id = |p: &mut Profile, sym: &mut Symbolizer, path: &str, open: Option<&str>| {
        if let Some(&m) = module_ids.get(path) {
            return m;
        }
        let bid = open.map(|o| sym.build_id(o)).unwrap_or_default();
        let m = p.add_module(path, bid);
        module_ids.insert(path.to_string(), m);
        m
    };
    match loc {
        Loc::Kernel(a) => {
            // A recording of another kernel (or another boot's layout) is not named from this
            // machine's kallsyms unless the file says it is the same kernel.
            let found = match offline {
                None => sym.lookup_kernel(a.lookup()),
                Some(o) if o.kernel_symbols => {
                    sym.lookup_kernel(a.lookup().wrapping_add_signed(kernel_shift))
                }
                Some(_) => None,
            };
            let (name, module, ok) = match found {
                Some((f, m)) => (f, m, true),
                None => (
                    format!("[kernel]+0x{:x}", a.addr),
                    "[kernel.kallsyms]".to_string(),
                    false,
                ),
            };
            let m = module_id(p, sym, &module, None);
            let function = p.intern(&name);
            let f = p.add_frame(Frame {
                function,
                module: Some(m),
                file: crate::profile::StrId(0),
                line: 0,
                inlined: false,
                kernel: true,
                address: a.addr,
                module_offset: None,
            });
            (vec![f], ok)
        }
        Loc::Module(mi, a, off, look) => {
            let mref = &modules[*mi as usize];
            let ok = usable[*mi as usize];
            let path = &mref.path;
            let m = module_id(p, sym, path, ok.then_some(mref.open.as_str()));
            let frames = if ok {
                sym.lookup_module(&mref.open, *look)
            } else {
                Vec::new().into()
            };
            if frames.is_empty() {
                let name = format!("{}+0x{:x}", short_module(path), off);
                let function = p.intern(&name);
                let f = p.add_frame(Frame {
                    function,
                    module: Some(m),
                    file: crate::profile::StrId(0),
                    line: 0,
                    inlined: false,
                    kernel: false,
                    address: a.addr,
                    module_offset: Some(*off),
                });
                return (vec![f], false);
            }
            let ids = frames
                .iter()
                .map(|sf| {
                    let function = p.intern(&sf.function);
                    let file = p.intern(&sf.file);
                    p.add_frame(Frame {
                        function,
                        module: Some(m),
                        file,
                        line: sf.line,
                        inlined: sf.inlined,
                        kernel: false,
                        address: a.addr,
                        module_offset: Some(*off),
                    })
                })
                .collect();
            (ids, true)
        }
        Loc::Jit(pid, a) => {
            let found = match offline {
                Some(o) if !o.perf_maps => None,
                _ => sym.lookup_jit(*pid, a.lookup()),
            };
            let (name, ok) = match found {
                Some(n) => (n, true),
                None => (format!("[anon]+0x{:x}", a.addr), false),
            };
            let m = module_id(p, sym, "[jit]", None);
            let function = p.intern(&name);
            let f = p.add_frame(Frame {
                function,
                module: Some(m),
                file: crate::profile::StrId(0),
                line: 0,
                inlined: false,
                kernel: false,
                address: a.addr,
                module_offset: None,
            });
            (vec![f], ok)
        }
        Loc::Unknown(a) => {
            // In no known mapping: `[unknown]`, the one name every input uses for it (perf's
            // too); the address stays in the frame (`--sort address`, JSON, pprof).
            let function = p.intern("[unknown]");
            let f = p.add_frame(Frame {
                function,
                module: None,
                file: crate::profile::StrId(0),
                line: 0,
                inlined: false,
                kernel: false,
                address: a.addr,
                module_offset: None,
            });
            (vec![f], false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_entry_point;

    #[test]
    fn entry_points() {
        assert!(is_entry_point("__libc_start_call_main"));
        assert!(is_entry_point("clone3"));
        assert!(is_entry_point(
            "std::sys::pal::unix::thread::Thread::new::thread_start"
        ));
        assert!(!is_entry_point("main"));
        assert!(!is_entry_point("work"));
    }
}
