//! Symbolization after recording, in-process: ELF modules through addr2line and their symbol
//! tables (with separate debug files), the vdso, kernel symbols from `/proc/kallsyms` and JIT
//! code from `/tmp/perf-PID.map`. Each module is opened once and each address resolved once.
//! [`Symbolizer::prefetch`] does the expensive part (reading kallsyms, parsing each module's
//! DWARF, resolving its addresses) on every CPU at once, since it is the whole wait between the
//! target's exit and the data file.

pub mod demangle;
pub mod dwarf;
pub mod elf;
pub mod kallsyms;
pub mod perfmap;
pub mod vdso;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use elf::ElfModule;
pub use elf::SymFrame;
use kallsyms::Kallsyms;
use perfmap::PerfMap;

/// Opens one module by its mapping path: `[vdso]` from rprof's own vdso (the kernel maps the
/// same image into every process), anything else from disk.
fn open_module(path: &str) -> Option<ElfModule> {
    if path == "[vdso]" {
        vdso::own_vdso().and_then(|b| ElfModule::from_bytes(&b))
    } else {
        // A replaced or deleted file shows as "path (deleted)"; try the path anyway.
        let p = path.strip_suffix(" (deleted)").unwrap_or(path);
        ElfModule::open(Path::new(p))
    }
}

/// A module to open (unless `module` holds it already) and the file offsets to resolve in it.
struct Job {
    path: String,
    module: Option<Option<ElfModule>>,
    offs: Vec<u64>,
    /// Whether source lines are wanted (see [`Symbolizer::set_names_only`]).
    lines: bool,
}

/// What [`run_jobs`] returns: each job's module (None when it did not open) and the kernel
/// symbols when asked for.
type JobsDone = (Vec<(String, Option<ElfModule>)>, Option<Kallsyms>);

/// Runs `jobs` on up to one thread per CPU (at most 8), and loads the kernel symbols (when
/// `kallsyms` is Some: from that file, or `/proc/kallsyms` for None) on a thread of its own,
/// since that is mostly the kernel formatting the file. On one CPU everything runs here.
fn run_jobs(jobs: Vec<Job>, kallsyms: Option<Option<std::path::PathBuf>>) -> JobsDone {
    let run = |job: Job| -> (String, Option<ElfModule>) {
        let t = std::time::Instant::now();
        let mut m = match job.module {
            Some(m) => m,
            None => open_module(&job.path),
        };
        let opened_in = t.elapsed();
        if let Some(m) = &mut m {
            m.prepare(&job.offs, job.lines);
            for &off in &job.offs {
                m.lookup(off);
            }
        }
        // RPROF_TIMINGS=1: which module costs what, for the benchmarks.
        if crate::profile::detect::timings() {
            eprintln!(
                "rprof-timing: symbolize: {}: opened in {:.1} ms, {} addresses in {:.1} ms",
                job.path,
                opened_in.as_secs_f64() * 1e3,
                job.offs.len(),
                (t.elapsed() - opened_in).as_secs_f64() * 1e3
            );
        }
        (job.path, m)
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus <= 1 || jobs.len() + usize::from(kallsyms.is_some()) <= 1 {
        let k = kallsyms.map(|f| Symbolizer::load_kallsyms(f.as_deref()));
        return (jobs.into_iter().map(run).collect(), k);
    }
    let workers = cpus.min(jobs.len()).min(8);
    let n = jobs.len();
    let queue: Vec<Mutex<Option<Job>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(String, Option<ElfModule>)>> = Mutex::new(Vec::with_capacity(n));
    let mut k = None;
    std::thread::scope(|s| {
        let kh = kallsyms.map(|f| s.spawn(move || Symbolizer::load_kallsyms(f.as_deref())));
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = queue.get(i) else {
                    break;
                };
                let Some(job) = slot.lock().ok().and_then(|mut j| j.take()) else {
                    continue;
                };
                let r = run(job);
                if let Ok(mut v) = done.lock() {
                    v.push(r);
                }
            });
        }
        // A loader that panicked leaves kallsyms to the lazy path.
        k = kh.and_then(|h| h.join().ok());
    });
    (done.into_inner().unwrap_or_default(), k)
}

/// Caches of every symbol source used by one recording.
#[derive(Default)]
pub struct Symbolizer {
    modules: HashMap<String, Option<ElfModule>>,
    kallsyms: Option<Kallsyms>,
    /// Where kernel symbols are read from: `/proc/kallsyms` unless set (a recording's saved
    /// copy, for perf.data).
    kallsyms_file: Option<std::path::PathBuf>,
    perf_maps: HashMap<u32, Option<PerfMap>>,
    refused_perf_maps: Vec<perfmap::Refused>,
    /// Bytes read from perf maps so far, against [`perfmap::MAX_PERF_MAPS_TOTAL`].
    perf_map_bytes: u64,
    /// Modules and kernel symbols being loaded in the background ([`Symbolizer::preload`]).
    pending: Option<std::thread::JoinHandle<JobsDone>>,
    /// Function names only: [`Symbolizer::prefetch`] reads no DWARF line tables.
    names_only: bool,
}

impl Symbolizer {
    /// An empty symbolizer; sources load on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads kernel symbols from `path` (a saved copy of a kallsyms file) instead of
    /// `/proc/kallsyms`.
    pub fn set_kallsyms_file(&mut self, path: std::path::PathBuf) {
        self.adopt_pending();
        self.kallsyms_file = Some(path);
        self.kallsyms = None;
    }

    /// Whether frames need function names only (a flame graph): modules resolved through
    /// [`Symbolizer::prefetch`] then skip their DWARF line tables, and an address's own frame
    /// carries no source file and line. The names and inlined frames are the same.
    pub fn set_names_only(&mut self, on: bool) {
        self.names_only = on;
    }

    fn load_kallsyms(file: Option<&Path>) -> Kallsyms {
        match file {
            Some(p) => Kallsyms::load_from(p),
            None => Kallsyms::load(),
        }
    }

    fn kallsyms(&mut self) -> &Kallsyms {
        self.adopt_pending();
        let file = self.kallsyms_file.as_deref();
        self.kallsyms
            .get_or_insert_with(|| Self::load_kallsyms(file))
    }

    /// The kernel's `_text` address in the kernel symbols in use (None when unknown).
    pub fn kernel_text(&mut self) -> Option<u64> {
        self.kallsyms().text()
    }

    fn module(&mut self, path: &str) -> Option<&mut ElfModule> {
        self.adopt_pending();
        if !self.modules.contains_key(path) {
            self.modules.insert(path.to_string(), open_module(path));
        }
        self.modules.get_mut(path).and_then(Option::as_mut)
    }

    /// Starts opening `paths` (and loading the kernel symbols when `kernel`) on background
    /// threads and returns at once: a perf.data file names the files its samples hit in its
    /// build-id table, so they can be read while its records are parsed and its stacks
    /// unwound. The first call that needs a module or the kernel symbols waits for them.
    pub fn preload(&mut self, paths: Vec<String>, kernel: bool) {
        self.adopt_pending();
        let jobs: Vec<Job> = paths
            .into_iter()
            .filter(|p| !self.modules.contains_key(p))
            .map(|path| Job {
                path,
                module: None,
                offs: Vec::new(),
                lines: true,
            })
            .collect();
        let kallsyms = (kernel && self.kallsyms.is_none()).then(|| self.kallsyms_file.clone());
        if jobs.is_empty() && kallsyms.is_none() {
            return;
        }
        self.pending = Some(std::thread::spawn(move || run_jobs(jobs, kallsyms)));
    }

    /// Takes in what [`Symbolizer::preload`] opened, waiting for it to finish.
    fn adopt_pending(&mut self) {
        let Some(h) = self.pending.take() else {
            return;
        };
        // A loader that panicked leaves its modules to the lazy path.
        if let Ok((modules, kallsyms)) = h.join() {
            for (path, m) in modules {
                self.modules.entry(path).or_insert(m);
            }
            if self.kallsyms.is_none() {
                self.kallsyms = kallsyms;
            }
        }
    }

    /// Loads kallsyms (when `kernel`) and opens each module of `work` not yet open, resolving
    /// its listed file offsets into the module's cache, spread over the CPUs; later lookups
    /// of those offsets are cache hits. The biggest jobs go first so one large library does
    /// not start last and leave the other CPUs idle.
    pub fn prefetch(&mut self, work: Vec<(String, Vec<u64>)>, kernel: bool) {
        self.adopt_pending();
        let mut jobs: Vec<Job> = Vec::new();
        for (path, offs) in work {
            let module = match self.modules.remove(&path) {
                // Opened already (preloaded): its lookups still run in parallel here.
                Some(Some(m)) => Some(Some(m)),
                Some(None) => {
                    self.modules.insert(path, None);
                    continue;
                }
                None => None,
            };
            jobs.push(Job {
                path,
                module,
                offs,
                lines: !self.names_only,
            });
        }
        jobs.sort_by_key(|j| std::cmp::Reverse(j.offs.len()));
        let kallsyms = (kernel && self.kallsyms.is_none()).then(|| self.kallsyms_file.clone());
        let (modules, k) = run_jobs(jobs, kallsyms);
        for (path, m) in modules {
            self.modules.insert(path, m);
        }
        if k.is_some() {
            self.kallsyms = k;
        }
    }

    /// The build-id of a module, empty when unknown.
    pub fn build_id(&mut self, path: &str) -> Vec<u8> {
        self.module(path)
            .map(|m| m.build_id.clone())
            .unwrap_or_default()
    }

    /// Frames (outermost first) for the code at file offset `off` of module `path`; empty when
    /// unknown.
    pub fn lookup_module(&mut self, path: &str, off: u64) -> Arc<[SymFrame]> {
        match self.module(path) {
            Some(m) => m.lookup(off),
            None => Arc::from(Vec::new()),
        }
    }

    /// A kernel address: the function and its module (`[kernel.kallsyms]` or `[ext4]`).
    pub fn lookup_kernel(&mut self, addr: u64) -> Option<(String, String)> {
        self.kallsyms().lookup(addr).map(|(f, m)| {
            (
                f.to_string(),
                match m {
                    Some(m) => format!("[{m}]"),
                    None => "[kernel.kallsyms]".to_string(),
                },
            )
        })
    }

    /// A JIT address of process `pid`, through its perf map.
    pub fn lookup_jit(&mut self, pid: u32, addr: u64) -> Option<String> {
        if !self.perf_maps.contains_key(&pid) {
            let budget = perfmap::MAX_PERF_MAPS_TOTAL.saturating_sub(self.perf_map_bytes);
            let m = PerfMap::load(pid, budget).unwrap_or_else(|r| {
                self.refused_perf_maps.push(r);
                None
            });
            self.perf_map_bytes += m.as_ref().map_or(0, PerfMap::bytes_read);
            self.perf_maps.insert(pid, m);
        }
        self.perf_maps
            .get(&pid)?
            .as_ref()?
            .lookup(addr)
            .map(str::to_string)
    }

    /// The perf maps found but not read (a FIFO, a link, someone else's file, too big), with
    /// the reason: the record summary names them.
    pub fn refused_perf_maps(&self) -> &[perfmap::Refused] {
        &self.refused_perf_maps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Executable mappings of this test process: (path, file offsets spread over the mapping).
    fn own_modules() -> Vec<(String, Vec<u64>)> {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        let mut out: Vec<(String, Vec<u64>)> = Vec::new();
        for line in maps.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 || !f[1].contains('x') || !f[5].starts_with('/') {
                continue;
            }
            let (Some((a, b)), Ok(off)) = (f[0].split_once('-'), u64::from_str_radix(f[2], 16))
            else {
                continue;
            };
            let len =
                u64::from_str_radix(b, 16).unwrap_or(0) - u64::from_str_radix(a, 16).unwrap_or(0);
            let offs = (0..64).map(|i| off + len * i / 64).collect();
            out.push((f[5].to_string(), offs));
        }
        out
    }

    #[test]
    fn prefetch_gives_the_same_frames_as_lazy_lookups() {
        let work = own_modules();
        assert!(
            work.len() >= 2,
            "this test binary maps itself and libc: {work:?}"
        );
        let mut pre = Symbolizer::new();
        pre.prefetch(work.clone(), true);
        if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
            assert_eq!(pre.modules.len(), work.len(), "every module opened ahead");
            assert!(pre.kallsyms.is_some(), "kallsyms loaded ahead");
        }
        let mut lazy = Symbolizer::new();
        let mut resolved = 0;
        for (path, offs) in &work {
            for &off in offs {
                let a = lazy.lookup_module(path, off);
                let b = pre.lookup_module(path, off);
                assert_eq!(a, b, "{path}+0x{off:x}");
                resolved += usize::from(!a.is_empty());
            }
        }
        assert!(resolved > 0, "some offsets resolve to functions");
        // Kernel addresses resolve the same either way (both empty when kallsyms is hidden).
        assert_eq!(
            pre.lookup_kernel(0xffff_ffff_8100_0000),
            lazy.lookup_kernel(0xffff_ffff_8100_0000)
        );
    }
}
