//! Symbolization after recording, in-process: ELF modules through addr2line and their symbol
//! tables (with separate debug files), the vdso, kernel symbols from `/proc/kallsyms` and JIT
//! code from `/tmp/perf-PID.map`. Each module is opened once and each address resolved once.

pub mod demangle;
pub mod elf;
pub mod kallsyms;
pub mod perfmap;
pub mod vdso;

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use elf::ElfModule;
pub use elf::SymFrame;
use kallsyms::Kallsyms;
use perfmap::PerfMap;

/// Caches of every symbol source used by one recording.
#[derive(Default)]
pub struct Symbolizer {
    modules: HashMap<String, Option<ElfModule>>,
    kallsyms: Option<Kallsyms>,
    perf_maps: HashMap<u32, Option<PerfMap>>,
}

impl Symbolizer {
    /// An empty symbolizer; sources load on first use.
    pub fn new() -> Self {
        Self::default()
    }

    fn module(&mut self, path: &str) -> Option<&mut ElfModule> {
        if !self.modules.contains_key(path) {
            let m = if path == "[vdso]" {
                vdso::own_vdso().and_then(|b| ElfModule::from_bytes(&b))
            } else {
                // A replaced or deleted file shows as "path (deleted)"; try the path anyway.
                let p = path.strip_suffix(" (deleted)").unwrap_or(path);
                ElfModule::open(Path::new(p))
            };
            self.modules.insert(path.to_string(), m);
        }
        self.modules.get_mut(path).and_then(Option::as_mut)
    }

    /// The build-id of a module, empty when unknown.
    pub fn build_id(&mut self, path: &str) -> Vec<u8> {
        self.module(path)
            .map(|m| m.build_id.clone())
            .unwrap_or_default()
    }

    /// Frames (outermost first) for the code at file offset `off` of module `path`; empty when
    /// unknown.
    pub fn lookup_module(&mut self, path: &str, off: u64) -> Rc<[SymFrame]> {
        match self.module(path) {
            Some(m) => m.lookup(off),
            None => Rc::from(Vec::new()),
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
        self.perf_maps
            .entry(pid)
            .or_insert_with(|| PerfMap::load(pid))
            .as_ref()?
            .lookup(addr)
            .map(str::to_string)
    }
}
