//! DWARF of one ELF file for symbolization, loaded with only the sections addr2line reads.
//!
//! `addr2line::Loader` loads every DWARF section gimli knows, so a distribution's debug file
//! (zlib-compressed, as Debian ships them) has its location lists, macros and type units
//! inflated too, and builds a symbol map of the whole file up front, which rprof only needs
//! when its own symbol table has nothing at an address. Profiling `rprof flamegraph` on a
//! perf.data of python3 showed that loading as a third of the run; here the sections that
//! name functions, inlined calls and lines are the only ones read, and the symbol map is built
//! on first use.

use std::borrow::Cow;
use std::path::Path;
use std::sync::OnceLock;

use object::{Object, ObjectSection};

/// The reader over the file's sections: a slice of the mapping, or of a buffer inflated from
/// a compressed section, both owned by [`DwarfFile`] and alive as long as it is.
type Reader = gimli::EndianSlice<'static, gimli::RunTimeEndian>;

/// One inlined-or-not frame at an address, innermost first as addr2line gives them.
pub struct DwarfFrame {
    /// Demangled function name, None when DWARF has none.
    pub function: Option<String>,
    /// Source file, None when unknown.
    pub file: Option<String>,
    /// Source line, None when unknown.
    pub line: Option<u32>,
}

/// An ELF file's DWARF, ready for lookups.
///
/// Field order matters: fields drop in declaration order, so the context and the symbol map,
/// which borrow the buffers and the mapping, go before them.
pub struct DwarfFile {
    ctx: addr2line::Context<Reader>,
    symbols: OnceLock<object::SymbolMap<object::SymbolMapName<'static>>>,
    /// Sections inflated from compressed ones (boxed slices never move their bytes).
    _inflated: Vec<Box<[u8]>>,
    map: memmap2::Mmap,
}

/// The sections `addr2line::Context` reads (see `Context::from_sections`): location lists,
/// macros, type units and name indexes are never looked at to name code.
fn needed(id: gimli::SectionId) -> bool {
    use gimli::SectionId::*;
    matches!(
        id,
        DebugAbbrev
            | DebugAddr
            | DebugAranges
            | DebugInfo
            | DebugLine
            | DebugLineStr
            | DebugRanges
            | DebugRngLists
            | DebugStr
            | DebugStrOffsets
    )
}

impl DwarfFile {
    /// Maps `path` and prepares its DWARF; None when it is not a readable ELF file or its
    /// DWARF does not parse.
    pub fn open(path: &Path) -> Option<Self> {
        let file = std::fs::File::open(path).ok()?;
        // SAFETY: a read-only mapping; a file changed underneath gives wrong names, the same
        // accepted risk as every mapped reader in rprof.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        // SAFETY: the slice points into `map`, which `DwarfFile` owns and drops last; nothing
        // borrowed from it leaves this type with the invented lifetime (lookups copy names
        // into owned strings).
        let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(map.as_ptr(), map.len()) };
        let obj = object::File::parse(bytes).ok()?;
        let endian = if obj.is_little_endian() {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        let mut inflated: Vec<Box<[u8]>> = Vec::new();
        let dwarf = gimli::Dwarf::load(|id| -> Result<Reader, gimli::Error> {
            let data: &'static [u8] = match obj.section_by_name(id.name()) {
                Some(sec) if needed(id) => match sec.uncompressed_data() {
                    Ok(Cow::Borrowed(b)) => b,
                    Ok(Cow::Owned(v)) => {
                        let b = v.into_boxed_slice();
                        // SAFETY: the boxed bytes stay where they are when the box moves into
                        // `inflated`, which `DwarfFile` owns and drops after the context.
                        let s: &'static [u8] =
                            unsafe { std::slice::from_raw_parts(b.as_ptr(), b.len()) };
                        inflated.push(b);
                        s
                    }
                    // A section that does not inflate is left out, as if absent.
                    Err(_) => &[],
                },
                _ => &[],
            };
            Ok(gimli::EndianSlice::new(data, endian))
        })
        .ok()?;
        let mut dwarf = dwarf;
        dwarf.populate_abbreviations_cache(gimli::AbbreviationsCacheStrategy::Duplicates);
        let ctx = addr2line::Context::from_dwarf(dwarf).ok()?;
        Some(DwarfFile {
            ctx,
            symbols: OnceLock::new(),
            _inflated: inflated,
            map,
        })
    }

    /// The frames at `addr` (the file's own address), innermost first; empty when DWARF
    /// knows nothing there. Split DWARF units (`.dwo`) are not followed.
    pub fn find_frames(&self, addr: u64) -> Vec<DwarfFrame> {
        let mut out = Vec::new();
        let Ok(mut frames) = self.ctx.find_frames(addr).skip_all_loads() else {
            return out;
        };
        while let Ok(Some(f)) = frames.next() {
            let function = f
                .function
                .as_ref()
                .and_then(|n| n.demangle().ok().map(|c| c.into_owned()));
            let (file, line) = match &f.location {
                Some(l) => (l.file.map(str::to_string), l.line),
                None => (None, None),
            };
            out.push(DwarfFrame {
                function,
                file,
                line,
            });
        }
        out
    }

    /// The symbol-table name at `addr` from this file's symbols (of any kind), as
    /// `addr2line::Loader::find_symbol` answers; the map is built on the first call.
    pub fn find_symbol(&self, addr: u64) -> Option<String> {
        let map = self.symbols.get_or_init(|| {
            // SAFETY: as in `open`: the mapping outlives the symbol map, which drops first.
            let bytes: &'static [u8] =
                unsafe { std::slice::from_raw_parts(self.map.as_ptr(), self.map.len()) };
            object::File::parse(bytes)
                .map(|o| o.symbol_map())
                .unwrap_or_else(|_| object::SymbolMap::new(Vec::new()))
        });
        map.containing(addr).map(|s| s.name().to_string())
    }
}
