//! Symbolization after recording, in-process: ELF modules through addr2line and their symbol
//! tables (with separate debug files), the vdso, kernel symbols from `/proc/kallsyms` and JIT
//! code from `/tmp/perf-PID.map`. Each module is opened once and each address resolved once.
//! [`Symbolizer::prefetch`] does the expensive part (reading kallsyms, parsing each module's
//! DWARF, resolving its addresses) on every CPU at once, since it is the whole wait between the
//! target's exit and the data file.

pub mod demangle;
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

/// Caches of every symbol source used by one recording.
#[derive(Default)]
pub struct Symbolizer {
    modules: HashMap<String, Option<ElfModule>>,
    kallsyms: Option<Kallsyms>,
    perf_maps: HashMap<u32, Option<PerfMap>>,
    refused_perf_maps: Vec<perfmap::Refused>,
    /// Bytes read from perf maps so far, against [`perfmap::MAX_PERF_MAPS_TOTAL`].
    perf_map_bytes: u64,
}

impl Symbolizer {
    /// An empty symbolizer; sources load on first use.
    pub fn new() -> Self {
        Self::default()
    }

    fn module(&mut self, path: &str) -> Option<&mut ElfModule> {
        if !self.modules.contains_key(path) {
            self.modules.insert(path.to_string(), open_module(path));
        }
        self.modules.get_mut(path).and_then(Option::as_mut)
    }

    /// Loads kallsyms (when `kernel`) and opens each module of `work`, resolving its listed
    /// file offsets into the module's cache, spread over the CPUs; later lookups of those
    /// offsets are cache hits. The biggest modules go first so one large library does not
    /// start last and leave the other CPUs idle.
    pub fn prefetch(&mut self, mut work: Vec<(String, Vec<u64>)>, kernel: bool) {
        work.retain(|(path, _)| !self.modules.contains_key(path));
        work.sort_by_key(|(_, offs)| std::cmp::Reverse(offs.len()));
        let want_kallsyms = kernel && self.kallsyms.is_none();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus <= 1 || work.len() + usize::from(want_kallsyms) <= 1 {
            // Nothing to overlap: the lazy paths do the same work in order.
            return;
        }
        // kallsyms gets its own thread on top: it is mostly the kernel formatting the file.
        let workers = cpus.min(work.len()).min(8);
        let next = AtomicUsize::new(0);
        let opened: Mutex<Vec<(String, Option<ElfModule>)>> = Mutex::new(Vec::new());
        let mut kallsyms = None;
        std::thread::scope(|s| {
            let k = want_kallsyms.then(|| s.spawn(Kallsyms::load));
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, offs)) = work.get(i) else {
                        break;
                    };
                    let mut m = open_module(path);
                    if let Some(m) = &mut m {
                        for &off in offs {
                            m.lookup(off);
                        }
                    }
                    if let Ok(mut v) = opened.lock() {
                        v.push((path.clone(), m));
                    }
                });
            }
            // A loader that panicked leaves kallsyms to the lazy path.
            kallsyms = k.and_then(|h| h.join().ok());
        });
        if kallsyms.is_some() {
            self.kallsyms = kallsyms;
        }
        for (path, m) in opened.into_inner().unwrap_or_default() {
            self.modules.insert(path, m);
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
        let k = self.kallsyms.get_or_insert_with(Kallsyms::load);
        k.lookup(addr).map(|(f, m)| {
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
