//! One ELF module (executable, shared library or the vdso image): file offsets to its own
//! addresses, DWARF through addr2line (from a separate debug file when one is installed, found by
//! build-id or `.gnu_debuglink`), and the ELF symbol tables as the fallback.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, SymbolKind};

use super::demangle::demangle;

/// One symbolized frame; a lookup returns them outermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymFrame {
    /// Demangled function name.
    pub function: String,
    /// Source file, empty when unknown.
    pub file: String,
    /// Source line, 0 when unknown.
    pub line: u32,
    /// Inlined into the previous (outer) frame.
    pub inlined: bool,
}

/// An ELF module ready for lookups.
pub struct ElfModule {
    /// GNU build-id, empty when absent.
    pub build_id: Vec<u8>,
    /// (file offset, file size, virtual address) of each PT_LOAD segment.
    segments: Vec<(u64, u64, u64)>,
    /// Text symbols, sorted by address: (address, size, name as in the symbol table, see
    /// [`shown_name`]).
    symbols: Vec<(u64, u64, String)>,
    dwarf: Option<super::dwarf::DwarfFile>,
    cache: HashMap<u64, Arc<[SymFrame]>>,
    /// Where DWARF came from (for diagnostics).
    pub debug_file: Option<PathBuf>,
}

/// One `NAME@plt` symbol per PLT entry, named from `.rela.plt` as perf names them: without
/// them a sample in a PLT stub is charged to whatever symbol precedes the PLT (often `_init`,
/// whose size is 0). Lazy-binding `.plt` has a 16-byte header entry first; with IBT the
/// entries are in `.plt.sec`, without a header. Entries of `IRELATIVE` relocations (no symbol)
/// stay unnamed.
fn plt_symbols(obj: &object::File<'_>) -> Vec<(u64, u64, String)> {
    const ENTRY: u64 = 16;
    let mut out = Vec::new();
    if obj.architecture() != object::Architecture::X86_64 {
        return out;
    }
    let (Some(rela), Some(dynsym)) = (obj.section_by_name(".rela.plt"), obj.dynamic_symbol_table())
    else {
        return out;
    };
    let (base, header) = match (obj.section_by_name(".plt.sec"), obj.section_by_name(".plt")) {
        (Some(sec), _) => (sec.address(), 0),
        (None, Some(plt)) => (plt.address(), ENTRY),
        (None, None) => return out,
    };
    let Ok(data) = rela.data() else {
        return out;
    };
    use object::ObjectSymbolTable;
    for (i, e) in data.chunks_exact(24).enumerate() {
        let info = u64::from_le_bytes(e[8..16].try_into().unwrap_or_default());
        let sym = (info >> 32) as usize;
        if sym == 0 {
            continue;
        }
        let Ok(s) = dynsym.symbol_by_index(object::SymbolIndex(sym)) else {
            continue;
        };
        let Ok(name) = s.name() else { continue };
        if name.is_empty() {
            continue;
        }
        let at = base + header + ENTRY * i as u64;
        out.push((at, ENTRY, format!("{}@plt", demangle(name))));
    }
    out
}

fn read_symbols(obj: &object::File<'_>) -> Vec<(u64, u64, String)> {
    // Of several names for one address (glibc's `__GI___clock_gettime`, `__clock_gettime`
    // and `clock_gettime@@GLIBC_2.17`; the vdso's weak `clock_gettime` and global
    // `__vdso_clock_gettime`) keep the one perf shows: sized before unsized, then strong
    // before weak, global before local, fewer leading underscores, then the shorter name
    // (perf 6.1 shows glibc's `__memcpy_avx512_unaligned_erms`, not its `__memmove_…` alias).
    // `rank` orders best first.
    let rank = |size: u64, weak: bool, global: bool, name: &str| {
        let underscores = name.bytes().take_while(|&b| b == b'_').count();
        (size == 0, weak, !global, underscores, name.len())
    };
    let mut ranked: Vec<(u64, u64, String, _)> = plt_symbols(obj)
        .into_iter()
        .map(|(a, sz, n)| {
            let r = rank(sz, false, true, &n);
            (a, sz, n, r)
        })
        .collect();
    for sym in obj.symbols().chain(obj.dynamic_symbols()) {
        if sym.kind() != SymbolKind::Text || sym.address() == 0 {
            continue;
        }
        if let Ok(name) = sym.name() {
            if !name.is_empty() {
                let r = rank(sym.size(), sym.is_weak(), sym.is_global(), name);
                ranked.push((sym.address(), sym.size(), name.to_string(), r));
            }
        }
    }
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.3.cmp(&b.3)));
    ranked.dedup_by_key(|s| s.0);
    // Names stay mangled here and are demangled when a lookup returns one (see
    // [`shown_name`]): a Rust program has tens of thousands of symbols and a profile uses a
    // few hundred; demangling them all was a twentieth of a perf.data flame graph's CPU.
    ranked.into_iter().map(|(a, sz, n, _)| (a, sz, n)).collect()
}

/// A symbol-table name as profiles show it: demangled (the `NAME@plt` names are made from
/// demangled names already).
fn shown_name(raw: &str) -> String {
    if raw.ends_with("@plt") {
        raw.to_string()
    } else {
        demangle(raw)
    }
}

/// The address range of the `.eh_frame` FDE that starts at `addr` and marks the return
/// address undefined (`.cfi_undefined rip`): how a process entry such as crt1's `_start` tells
/// unwinders it is the outermost frame. Ordinary code at a shared library's entry address
/// (GNU ld points it at the start of `.text`, often a cold block) never does.
fn outermost_fde_at(obj: &object::File<'_>, addr: u64) -> Option<(u64, u64)> {
    use gimli::UnwindSection;
    let sec = obj.section_by_name(".eh_frame")?;
    let data = sec.uncompressed_data().ok()?;
    let mut eh = gimli::EhFrame::new(&data, gimli::LittleEndian);
    eh.set_address_size(8);
    let mut bases = gimli::BaseAddresses::default().set_eh_frame(sec.address());
    if let Some(text) = obj.section_by_name(".text") {
        bases = bases.set_text(text.address());
    }
    let mut entries = eh.entries(&bases);
    // Broken CFI ends the search: the entry then stays unnamed, as before.
    while let Ok(Some(e)) = entries.next() {
        if let gimli::CieOrFde::Fde(partial) = e {
            if let Ok(fde) = partial.parse(gimli::EhFrame::cie_from_offset) {
                if fde.initial_address() == addr {
                    let ra = fde.cie().return_address_register();
                    let undefined = |mut it: gimli::CallFrameInstructionIter<_>| {
                        while let Ok(Some(i)) = it.next() {
                            if matches!(i, gimli::CallFrameInstruction::Undefined { register } if register == ra)
                            {
                                return true;
                            }
                        }
                        false
                    };
                    let outermost = undefined(fde.cie().instructions(&eh, &bases))
                        || undefined(fde.instructions(&eh, &bases));
                    return outermost.then(|| (fde.initial_address(), fde.len()));
                }
            }
        }
    }
    None
}

/// A `.gnu_debuglink` section: the debug file's name and the CRC-32 of its content.
struct DebugLink {
    name: String,
    crc: u32,
}

/// Reads `.gnu_debuglink`: a NUL-terminated name, padding to 4 bytes, then the CRC-32 of the
/// debug file. Only a plain file name is accepted: the section comes from the binary, which
/// may belong to anyone, and a name with `/` or `..` would send rprof (as root) to any file.
fn debuglink(obj: &object::File<'_>) -> Option<DebugLink> {
    let sec = obj.section_by_name(".gnu_debuglink")?;
    let data = sec.data().ok()?;
    let end = data.iter().position(|&b| b == 0)?;
    let name = std::str::from_utf8(&data[..end]).ok()?;
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return None;
    }
    let at = (end + 1).next_multiple_of(4);
    let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    let crc = if obj.is_little_endian() {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    };
    Some(DebugLink {
        name: name.to_string(),
        crc,
    })
}

/// Whether `path` is a debug file `link` may name: a regular file whose CRC-32 is the one the
/// link records, and which the binary's owner (`owner`) could read itself. The CRC makes a
/// stale or unrelated file with the right name useless; the readability rule keeps a
/// binary's author from pointing rprof at a file only root may read (through a symbolic link
/// in a directory the author controls, say).
fn debug_file_matches(path: &Path, link: &DebugLink, owner: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(meta) = f.metadata() else {
        return false;
    };
    let readable_by_owner =
        meta.mode() & 0o004 != 0 || (meta.uid() == owner && meta.mode() & 0o400 != 0);
    if !meta.is_file() || !readable_by_owner {
        return false;
    }
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut f, &mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    h.finalize() == link.crc
}

/// Finds a separate debug file: by build-id under /usr/lib/debug/.build-id, then by
/// `.gnu_debuglink` in the documented places only: next to the binary, in its `.debug`
/// directory and under `/usr/lib/debug/DIR` (DIR the binary's directory, as given and with
/// its symbolic links resolved), the first whose CRC matches.
fn find_debug_file(
    path: &Path,
    owner: u32,
    build_id: &[u8],
    link: Option<&DebugLink>,
) -> Option<PathBuf> {
    if build_id.len() >= 2 {
        let hex: String = build_id.iter().map(|b| format!("{b:02x}")).collect();
        let p = PathBuf::from(format!(
            "/usr/lib/debug/.build-id/{}/{}.debug",
            &hex[..2],
            &hex[2..]
        ));
        if p.is_file() {
            return Some(p);
        }
    }
    let link = link?;
    let dir = path.parent()?;
    let real_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut candidates = vec![
        dir.join(&link.name),
        dir.join(".debug").join(&link.name),
        Path::new("/usr/lib/debug")
            .join(real_dir.strip_prefix("/").unwrap_or(&real_dir))
            .join(&link.name),
    ];
    if real_dir != dir {
        candidates.push(real_dir.join(&link.name));
        candidates.push(real_dir.join(".debug").join(&link.name));
    }
    candidates
        .into_iter()
        .find(|c| c.as_path() != path && debug_file_matches(c, link, owner))
}

impl ElfModule {
    /// Opens a module from a file on disk; None when it is not a readable ELF file.
    pub fn open(path: &Path) -> Option<Self> {
        let file = std::fs::File::open(path).ok()?;
        let owner = std::os::unix::fs::MetadataExt::uid(&file.metadata().ok()?);
        // SAFETY: read-only mapping; a file changed underneath gives wrong symbols, not UB we
        // rely on, and rprof only reads it briefly.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        let obj = object::File::parse(&*map).ok()?;
        let mut m = Self::from_object(&obj);
        let link = debuglink(&obj);
        let debug = find_debug_file(path, owner, &m.build_id, link.as_ref());
        let has_dwarf = obj.section_by_name(".debug_info").is_some();
        // Prefer the separate debug file: the installed binary usually has no DWARF then.
        let dwarf_path = match (&debug, has_dwarf) {
            (Some(d), _) => Some(d.clone()),
            (None, true) => Some(path.to_path_buf()),
            (None, false) => None,
        };
        if let Some(dp) = &dwarf_path {
            m.dwarf = super::dwarf::DwarfFile::open(dp);
            if debug.is_some() {
                // The debug file's symtab is usually complete where the stripped binary only
                // has .dynsym.
                if let Ok(f) = std::fs::File::open(dp) {
                    // SAFETY: as above, a read-only mapping read once.
                    if let Ok(dm) = unsafe { memmap2::Mmap::map(&f) } {
                        if let Ok(dobj) = object::File::parse(&*dm) {
                            let mut extra = read_symbols(&dobj);
                            if extra.len() > m.symbols.len() {
                                // The debug file's PLT sections hold no data: keep the
                                // binary's `@plt` names.
                                extra.extend(
                                    m.symbols.iter().filter(|s| s.2.ends_with("@plt")).cloned(),
                                );
                                extra.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
                                extra.dedup_by_key(|s| s.0);
                                m.symbols = extra;
                            }
                        }
                    }
                }
            }
        }
        m.debug_file = debug;
        m.add_entry_symbol(&obj);
        Some(m)
    }

    /// Names the ELF entry point `_start` when no symbol covers it, as in stripped executables
    /// (Debian's dash, most distribution binaries keep only `.dynsym`): otherwise every
    /// complete stack of such a program ends in `prog+0x…` and counts as truncated. Only an
    /// entry whose FDE says it is the outermost frame qualifies (see [`outermost_fde_at`]), and
    /// the FDE's extent bounds the name, so no neighbouring code is misnamed.
    fn add_entry_symbol(&mut self, obj: &object::File<'_>) {
        let entry = obj.entry();
        if entry == 0 || self.raw_symbol(entry).is_some() {
            return;
        }
        if let Some((start, len)) = outermost_fde_at(obj, entry) {
            let at = self.symbols.partition_point(|s| s.0 < start);
            self.symbols.insert(at, (start, len, "_start".to_string()));
        }
    }

    /// A module from bytes in memory (the vdso): symbols only.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let obj = object::File::parse(bytes).ok()?;
        Some(Self::from_object(&obj))
    }

    fn from_object(obj: &object::File<'_>) -> Self {
        let build_id = obj
            .build_id()
            .ok()
            .flatten()
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let segments = obj
            .segments()
            .map(|s| {
                let (off, size) = s.file_range();
                (off, size, s.address())
            })
            .collect();
        ElfModule {
            build_id,
            segments,
            symbols: read_symbols(obj),
            dwarf: None,
            cache: HashMap::new(),
            debug_file: None,
        }
    }

    /// The module's own (link-time) address for a file offset.
    pub fn file_offset_to_addr(&self, off: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|(o, s, _)| off >= *o && off < o + s.max(&1))
            .map(|(o, _, a)| a + (off - o))
    }

    /// The symbol covering `addr` when it has a size (a size-0 symbol's extent is a guess).
    fn sized_symbol(&self, addr: u64) -> Option<String> {
        let i = self.symbols.partition_point(|s| s.0 <= addr);
        let s = self.symbols.get(i.checked_sub(1)?)?;
        (s.1 != 0 && addr < s.0 + s.1).then(|| shown_name(&s.2))
    }

    /// The raw (mangled) name of the symbol covering `addr`.
    fn raw_symbol(&self, addr: u64) -> Option<&str> {
        let i = self.symbols.partition_point(|s| s.0 <= addr);
        let s = self.symbols.get(i.checked_sub(1)?)?;
        // Size 0 (hand-written assembly) is accepted as "up to the next symbol".
        (s.1 == 0 || addr < s.0 + s.1).then_some(s.2.as_str())
    }

    fn symbol(&self, addr: u64) -> Option<String> {
        self.raw_symbol(addr).map(shown_name)
    }

    /// Readies DWARF for looking up these file offsets (and others later, at a cost): only
    /// the units that hold them are read (see [`super::dwarf::DwarfFile::prepare`]). With
    /// `lines` false, lookups name functions (inlined ones too) but read no line tables: the
    /// address's own file and line are left out.
    pub fn prepare(&mut self, offs: &[u64], lines: bool) {
        let addrs: Vec<u64> = offs
            .iter()
            .filter_map(|&o| self.file_offset_to_addr(o))
            .collect();
        if let Some(d) = &mut self.dwarf {
            if !lines {
                d.drop_line_rows();
            }
            d.prepare(&addrs);
        }
    }

    /// Symbolizes the code at file offset `off`; empty when nothing is known. Cached.
    pub fn lookup(&mut self, off: u64) -> Arc<[SymFrame]> {
        if let Some(r) = self.cache.get(&off) {
            return r.clone();
        }
        let r: Arc<[SymFrame]> = self.lookup_uncached(off).into();
        self.cache.insert(off, r.clone());
        r
    }

    fn lookup_uncached(&self, off: u64) -> Vec<SymFrame> {
        let Some(addr) = self.file_offset_to_addr(off) else {
            return Vec::new();
        };
        let mut out: Vec<SymFrame> = Vec::new();
        if let Some(d) = &self.dwarf {
            for f in d.find_frames(addr) {
                out.push(SymFrame {
                    function: f.function.unwrap_or_default(),
                    file: f.file.unwrap_or_default(),
                    line: f.line.unwrap_or(0),
                    inlined: true,
                });
            }
        }
        // addr2line gives innermost first; the profile wants outermost first.
        out.reverse();
        let sym = self.symbol(addr).or_else(|| {
            self.dwarf
                .as_ref()
                .and_then(|d| d.find_symbol(addr))
                .map(|n| demangle(&n))
        });
        if out.is_empty() {
            if let Some(s) = sym {
                out.push(SymFrame {
                    function: s,
                    file: String::new(),
                    line: 0,
                    inlined: false,
                });
            }
            return out;
        }
        // Where code is inlined at the address, perf names the whole chain from DWARF (a GCC
        // clone is then `f`, not `f.isra.0`); otherwise from the symbol table.
        let has_inlined = out.len() > 1;
        if let Some(first) = out.first_mut() {
            first.inlined = false;
            // The function the address is in is named by its symbol where one with a size
            // covers it, as perf names it: DWARF's name can be an asm label (glibc's
            // `__GI___clock_gettime` for `clock_gettime`). Inlined frames keep DWARF's names.
            // A compiler clone (`f.isra.0`, `f.constprop.0`, `f.part.0`, `f.cold`) keeps DWARF's
            // `f`, as perf names it, so one function is not split in two by whether code was
            // inlined at the sampled address.
            let sized = (!has_inlined)
                .then(|| self.sized_symbol(addr))
                .flatten()
                .filter(|s| !is_clone_of(s, &first.function));
            match sized {
                Some(s) => first.function = s,
                None if first.function.is_empty() => {
                    first.function = sym.clone().unwrap_or_default();
                }
                None => {}
            }
        }
        out.retain(|f| !f.function.is_empty());
        out
    }
}

/// True when `sym` is GCC's name for a clone of the function DWARF calls `dwarf`: `dwarf`
/// followed by `.isra.N`, `.constprop.N`, `.part.N`, `.cold` or a chain of them.
fn is_clone_of(sym: &str, dwarf: &str) -> bool {
    let Some(rest) = sym.strip_prefix(dwarf).and_then(|r| r.strip_prefix('.')) else {
        return false;
    };
    let mut parts = rest.split('.').peekable();
    while let Some(p) = parts.next() {
        match p {
            "isra" | "constprop" | "part" | "lto_priv" => {
                if !parts
                    .next()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                {
                    return false;
                }
            }
            "cold" => {
                if parts
                    .peek()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                {
                    parts.next();
                }
            }
            _ => return false,
        }
    }
    !dwarf.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_clones_are_recognised() {
        assert!(is_clone_of("f.isra.0", "f"));
        assert!(is_clone_of("f.constprop.0.isra.0", "f"));
        assert!(is_clone_of("f.part.3", "f"));
        assert!(is_clone_of("f.cold", "f"));
        assert!(is_clone_of("f.constprop.1.cold", "f"));
        assert!(!is_clone_of("f", "f"));
        assert!(!is_clone_of("f.isra", "f"));
        assert!(!is_clone_of("fg.isra.0", "f"));
        assert!(!is_clone_of("__GI___clock_gettime", "clock_gettime"));
        assert!(!is_clone_of("f.isra.0", ""));
    }

    /// The name at an ELF file's entry point, as rprof symbolizes it.
    fn name_at_entry(path: &str) -> Option<String> {
        let bytes = std::fs::read(path).ok()?;
        let entry = object::File::parse(&*bytes).ok()?.entry();
        let m = ElfModule::open(Path::new(path))?;
        m.symbol(entry)
    }

    #[test]
    fn entry_point_named_start_only_where_it_is_the_outermost_frame() {
        // Debian's dash is stripped: `_start` comes from its entry's FDE.
        if Path::new("/usr/bin/dash").exists() {
            assert_eq!(name_at_entry("/usr/bin/dash").as_deref(), Some("_start"));
        }
        // Shared libraries: the entry is ordinary code (libc's __libc_main, or whatever GNU
        // ld put first in .text), never `_start`.
        for lib in [
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/x86_64-linux-gnu/libuchardet.so.0",
            "/usr/lib/x86_64-linux-gnu/libgraphite2.so.3",
        ] {
            if Path::new(lib).exists() {
                assert_ne!(name_at_entry(lib).as_deref(), Some("_start"), "{lib}");
            }
        }
    }
    use std::process::Command;

    /// Compiles fixtures/record/inline.c and checks that an address inside the always-inline
    /// helper resolves to `outer_work` (not inlined) then `mix_helper` (inlined, own line).
    #[test]
    fn inlined_helper_is_marked_inlined() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("inline");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/record/inline.c");
        let Ok(st) = Command::new("gcc")
            .args(["-O1", "-g", "-fno-omit-frame-pointer", "-o"])
            .arg(&bin)
            .arg(&src)
            .status()
        else {
            eprintln!("SKIP: gcc unavailable");
            return;
        };
        assert!(st.success());
        let mut m = ElfModule::open(&bin).expect("ELF");
        assert!(!m.build_id.is_empty());
        let text = std::fs::read_to_string(&src).expect("source");
        let line = text
            .lines()
            .position(|l| l.contains("MIX_HELPER_LINE"))
            .expect("marker") as u32
            + 1;
        let (start, size) = m
            .symbols
            .iter()
            .find(|s| s.2 == "outer_work")
            .map(|s| (s.0, s.1))
            .expect("outer_work symbol");
        // Try every address of outer_work (as a file offset) until one is in the helper.
        let (seg_off, _, seg_addr) = *m
            .segments
            .iter()
            .find(|(_, s, a)| start >= *a && start < a + s)
            .expect("segment");
        let found = (start..start + size).any(|addr| {
            let frames = m.lookup(addr - seg_addr + seg_off);
            frames.len() == 2
                && frames[0].function == "outer_work"
                && !frames[0].inlined
                && frames[1].function == "mix_helper"
                && frames[1].inlined
                && frames[1].line == line
                && frames[1].file.ends_with("inline.c")
        });
        assert!(
            found,
            "no address of outer_work resolved to the inlined mix_helper"
        );
    }
}

#[cfg(test)]
mod debuglink_tests {
    use super::*;
    use std::process::Command;

    fn run(cmd: &str, args: &[&std::ffi::OsStr]) -> bool {
        Command::new(cmd)
            .args(args)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// A binary stripped of its DWARF, with the DWARF in a separate file named by
    /// `.gnu_debuglink` next to it, still resolves to file:line.
    #[test]
    fn separate_debug_file_through_debuglink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("split");
        let dbg = dir.path().join("split.debug");
        // No build-id, so only the debuglink can find the debug file.
        let ok = split_pair(&bin, &dbg)
            && run(
                "objcopy",
                &[
                    format!("--add-gnu-debuglink={}", dbg.display()).as_ref(),
                    bin.as_os_str(),
                ],
            );
        if !ok {
            eprintln!("SKIP: gcc/objcopy/strip unavailable");
            return;
        }
        let mut m = ElfModule::open(&bin).expect("ELF");
        assert!(m.build_id.is_empty());
        assert_eq!(m.debug_file.as_deref(), Some(dbg.as_path()));
        let (start, _) = m
            .symbols
            .iter()
            .find(|s| s.2 == "work_ten")
            .map(|s| (s.0, s.1))
            .expect("work_ten symbol");
        let (seg_off, _, seg_addr) = *m
            .segments
            .iter()
            .find(|(_, s, a)| start >= *a && start < a + s)
            .expect("segment");
        let frames = m.lookup(start + 8 - seg_addr + seg_off);
        let f = frames.last().expect("a frame");
        assert_eq!(f.function, "work_ten");
        assert!(f.file.ends_with("split.c") && f.line > 0, "{f:?}");
    }

    /// Builds fixtures/record/split.c without DWARF or build-id into `bin`, its DWARF into
    /// `dbg`; false when the tools are missing.
    fn split_pair(bin: &Path, dbg: &Path) -> bool {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/record/split.c");
        run(
            "gcc",
            &[
                "-O1".as_ref(),
                "-g".as_ref(),
                "-Wl,--build-id=none".as_ref(),
                "-o".as_ref(),
                bin.as_os_str(),
                src.as_os_str(),
            ],
        ) && run(
            "objcopy",
            &[
                "--only-keep-debug".as_ref(),
                bin.as_os_str(),
                dbg.as_os_str(),
            ],
        ) && run("strip", &["--strip-debug".as_ref(), bin.as_os_str()])
    }

    /// Adds a `.gnu_debuglink` section naming `name` with `crc`, bytes laid out as GNU
    /// objcopy does (objcopy itself keeps only the base name of what it is given).
    fn add_raw_debuglink(bin: &Path, name: &str, crc: u32) -> bool {
        let mut sec = name.as_bytes().to_vec();
        sec.push(0);
        while sec.len() % 4 != 0 {
            sec.push(0);
        }
        sec.extend_from_slice(&crc.to_le_bytes());
        let raw = bin.with_extension("link");
        std::fs::write(&raw, &sec).expect("write section");
        let spec = format!(".gnu_debuglink={}", raw.display());
        run(
            "objcopy",
            &["--add-section".as_ref(), spec.as_ref(), bin.as_os_str()],
        )
    }

    fn crc_of(p: &Path) -> u32 {
        crc32fast::hash(&std::fs::read(p).expect("read"))
    }

    /// A debuglink naming `../secret/split.debug` (with the right CRC) is not followed: only
    /// a plain name is, in the documented places.
    #[test]
    fn debuglink_with_a_path_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("bin")).expect("mkdir");
        std::fs::create_dir(dir.path().join("secret")).expect("mkdir");
        let bin = dir.path().join("bin/split");
        let dbg = dir.path().join("secret/split.debug");
        if !split_pair(&bin, &dbg) {
            eprintln!("SKIP: gcc/objcopy/strip unavailable");
            return;
        }
        assert!(add_raw_debuglink(
            &bin,
            "../secret/split.debug",
            crc_of(&dbg)
        ));
        let m = ElfModule::open(&bin).expect("ELF");
        assert_eq!(m.debug_file, None, "a name with `/` must not be followed");
        assert!(m.dwarf.is_none());
    }

    /// A plain name with the wrong CRC is not used; with the right one it is.
    #[test]
    fn debuglink_crc_must_match() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("split");
        let dbg = dir.path().join("split.debug");
        if !split_pair(&bin, &dbg) {
            eprintln!("SKIP: gcc/objcopy/strip unavailable");
            return;
        }
        let good = bin.with_file_name("good");
        std::fs::copy(&bin, &good).expect("copy");
        assert!(add_raw_debuglink(&bin, "split.debug", crc_of(&dbg) ^ 1));
        assert!(add_raw_debuglink(&good, "split.debug", crc_of(&dbg)));
        assert_eq!(ElfModule::open(&bin).expect("ELF").debug_file, None);
        assert_eq!(
            ElfModule::open(&good).expect("ELF").debug_file.as_deref(),
            Some(dbg.as_path())
        );
    }

    /// A debug file only root may read is not used for a binary someone else owns, even
    /// with the right name and CRC.
    #[test]
    fn debug_file_the_owner_cannot_read_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIP: needs root to give the binary to nobody");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("split");
        let dbg = dir.path().join("split.debug");
        if !split_pair(&bin, &dbg) {
            eprintln!("SKIP: gcc/objcopy/strip unavailable");
            return;
        }
        assert!(add_raw_debuglink(&bin, "split.debug", crc_of(&dbg)));
        std::fs::set_permissions(&dbg, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(
            ElfModule::open(&bin).expect("ELF").debug_file.as_deref(),
            Some(dbg.as_path()),
            "root's own binary may use root's debug file"
        );
        std::os::unix::fs::chown(&bin, Some(65534), Some(65534)).expect("chown");
        assert_eq!(ElfModule::open(&bin).expect("ELF").debug_file, None);
    }
}
