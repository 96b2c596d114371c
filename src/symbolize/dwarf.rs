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
/// The addr2line context is built on the first lookup, over every unit, or by
/// [`DwarfFile::prepare`] over only the units that cover the addresses to come: building it
/// parses each unit's abbreviations, line-program header and root entry, which for glibc's
/// 4,000 units cost more than the lookups themselves.
///
/// Field order matters: fields drop in declaration order, so the contexts and the symbol map,
/// which borrow the buffers and the mapping, go before them.
pub struct DwarfFile {
    ctx: OnceLock<Option<addr2line::Context<Reader>>>,
    /// The whole file's context when `ctx` covers only some units and an address outside
    /// `covered` is asked for.
    full: OnceLock<Option<addr2line::Context<Reader>>>,
    /// Sorted addresses a restricted `ctx` was built for; None when `ctx` has every unit.
    covered: Option<Vec<u64>>,
    symbols: OnceLock<object::SymbolMap<object::SymbolMapName<'static>>>,
    /// The sections addr2line reads, by [`gimli::SectionId`] (empty when absent).
    sections: Vec<(gimli::SectionId, Bytes)>,
    endian: gimli::RunTimeEndian,
    /// `.debug_info` with the units no address needs turned into empty ones: a patched copy
    /// of a mapped section (an inflated one is patched where it lies, see `patched_in_place`).
    patched: Option<Box<[u8]>>,
    /// Whether the inflated `.debug_info` in `inflated` had its units patched where it lies;
    /// the whole file's context then reads `original_info`, inflated again when needed.
    patched_in_place: bool,
    original_info: OnceLock<Box<[u8]>>,
    /// Sections inflated from compressed ones (boxed slices never move their bytes).
    inflated: Vec<Box<[u8]>>,
    map: memmap2::Mmap,
}

/// Where a section's bytes are: in the mapping, or in a buffer of [`DwarfFile::inflated`]
/// (by index). Slices of an inflated buffer are made when needed rather than kept, so the
/// buffer can be patched (through `&mut`) before any context borrows it.
#[derive(Clone, Copy)]
enum Bytes {
    Mapped(&'static [u8]),
    Inflated(usize),
}

/// The sections `addr2line::Context` reads (see `Context::from_sections`): location lists,
/// macros, type units and name indexes are never looked at to name code.
const NEEDED: [gimli::SectionId; 10] = [
    gimli::SectionId::DebugAbbrev,
    gimli::SectionId::DebugAddr,
    gimli::SectionId::DebugAranges,
    gimli::SectionId::DebugInfo,
    gimli::SectionId::DebugLine,
    gimli::SectionId::DebugLineStr,
    gimli::SectionId::DebugRanges,
    gimli::SectionId::DebugRngLists,
    gimli::SectionId::DebugStr,
    gimli::SectionId::DebugStrOffsets,
];

impl DwarfFile {
    /// Maps `path` and reads (inflating where compressed) the sections addr2line needs;
    /// None when it is not a readable ELF file.
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
        let mut sections = Vec::new();
        for id in NEEDED {
            let data = match obj.section_by_name(id.name()) {
                Some(sec) => match sec.uncompressed_data() {
                    Ok(Cow::Borrowed(b)) => Bytes::Mapped(b),
                    Ok(Cow::Owned(v)) => {
                        inflated.push(v.into_boxed_slice());
                        Bytes::Inflated(inflated.len() - 1)
                    }
                    // A section that does not inflate is left out, as if absent.
                    Err(_) => Bytes::Mapped(&[]),
                },
                None => Bytes::Mapped(&[]),
            };
            sections.push((id, data));
        }
        Some(DwarfFile {
            ctx: OnceLock::new(),
            full: OnceLock::new(),
            covered: None,
            symbols: OnceLock::new(),
            sections,
            endian,
            patched: None,
            patched_in_place: false,
            original_info: OnceLock::new(),
            inflated,
            map,
        })
    }

    fn section(&self, id: gimli::SectionId) -> &'static [u8] {
        match self.sections.iter().find(|(s, _)| *s == id) {
            Some((_, Bytes::Mapped(b))) => b,
            Some((_, Bytes::Inflated(i))) => {
                let b = &self.inflated[*i];
                // SAFETY: the boxed bytes stay where they are while `DwarfFile` lives (the
                // boxes are never replaced, and patched only by `prepare` before any context
                // exists), and they drop after the contexts that borrow them.
                unsafe { std::slice::from_raw_parts(b.as_ptr(), b.len()) }
            }
            None => &[],
        }
    }

    /// The unpatched `.debug_info`, for the whole file's context.
    fn whole_info(&self) -> &'static [u8] {
        if !self.patched_in_place {
            return self.section(gimli::SectionId::DebugInfo);
        }
        let b = self.original_info.get_or_init(|| {
            // SAFETY: as in `open`: a view of the mapping `DwarfFile` owns.
            let bytes: &'static [u8] =
                unsafe { std::slice::from_raw_parts(self.map.as_ptr(), self.map.len()) };
            object::File::parse(bytes)
                .ok()
                .and_then(|o| {
                    let sec = o.section_by_name(gimli::SectionId::DebugInfo.name())?;
                    sec.uncompressed_data().ok().map(|c| c.into_owned())
                })
                .unwrap_or_default()
                .into_boxed_slice()
        });
        // SAFETY: `original_info` is set once and never changed; it drops after the contexts.
        unsafe { std::slice::from_raw_parts(b.as_ptr(), b.len()) }
    }

    /// A context over the sections, with `info` as `.debug_info`.
    fn context(&self, info: &'static [u8]) -> Option<addr2line::Context<Reader>> {
        let mut dwarf = gimli::Dwarf::load(|id| -> Result<Reader, gimli::Error> {
            let data = if id == gimli::SectionId::DebugInfo {
                info
            } else {
                self.section(id)
            };
            Ok(gimli::EndianSlice::new(data, self.endian))
        })
        .ok()?;
        dwarf.populate_abbreviations_cache(gimli::AbbreviationsCacheStrategy::Duplicates);
        addr2line::Context::from_dwarf(dwarf).ok()
    }

    /// Builds the context over only the units that cover `addrs` (the file's own addresses)
    /// by `.debug_aranges`, and the units it lists no ranges for; the others become empty
    /// units addr2line passes over. Later lookups of these addresses give what the whole
    /// file's context gives (a unit's aranges and its own ranges are written from the same
    /// data by compilers); any other address is answered from the whole file's context,
    /// built then. Nothing is restricted when a unit may refer into another
    /// (`DW_FORM_ref_addr`, as dwz and LTO write): a skipped unit could hold a name a kept
    /// one needs.
    pub fn prepare(&mut self, addrs: &[u64]) {
        if self.ctx.get().is_some() || self.covered.is_some() || addrs.is_empty() {
            return;
        }
        let mut addrs = addrs.to_vec();
        addrs.sort_unstable();
        addrs.dedup();
        let Some(plan) = plan_units(
            self.section(gimli::SectionId::DebugInfo),
            self.section(gimli::SectionId::DebugAbbrev),
            self.section(gimli::SectionId::DebugAranges),
            self.endian,
            &addrs,
        ) else {
            return;
        };
        let info = self
            .sections
            .iter()
            .find(|(s, _)| *s == gimli::SectionId::DebugInfo)
            .map(|(_, b)| *b);
        let view: &'static [u8] = match info {
            // An inflated section is rprof's own buffer: patched where it lies, no copy (for
            // glibc's debug file, copying it was an eighth of a perf.data read).
            Some(Bytes::Inflated(i)) => {
                plan.apply(&mut self.inflated[i]);
                self.patched_in_place = true;
                self.section(gimli::SectionId::DebugInfo)
            }
            _ => {
                let mut copy: Box<[u8]> = self.section(gimli::SectionId::DebugInfo).into();
                plan.apply(&mut copy);
                // SAFETY: the boxed bytes stay put when the box moves into `patched`, which
                // drops after the contexts.
                let view: &'static [u8] =
                    unsafe { std::slice::from_raw_parts(copy.as_ptr(), copy.len()) };
                self.patched = Some(copy);
                view
            }
        };
        let ctx = self.context(view);
        self.covered = Some(addrs);
        let _ = self.ctx.set(ctx);
    }

    /// Makes every line program in `.debug_line` empty (its header, with the file table, kept),
    /// for lookups that need function names only: addr2line runs a unit's whole line program
    /// on its first lookup there, a tenth of the CPU of a flame graph of a Rust program's
    /// perf.data. Lookups then give the same functions and inlined frames, without the
    /// address's own file and line (inlined callers keep their call sites, which the DIEs
    /// hold). Only before the first lookup (later it changes nothing); an inflated section is
    /// patched where it lies, a mapped one in a copy.
    pub fn drop_line_rows(&mut self) {
        use gimli::Endianity;
        if self.ctx.get().is_some() || self.full.get().is_some() || !self.endian.is_little_endian()
        {
            return;
        }
        let Some(slot) = self
            .sections
            .iter()
            .position(|(s, _)| *s == gimli::SectionId::DebugLine)
        else {
            return;
        };
        let idx = match self.sections[slot].1 {
            Bytes::Inflated(i) => i,
            Bytes::Mapped(b) if !b.is_empty() => {
                self.inflated.push(b.into());
                self.sections[slot].1 = Bytes::Inflated(self.inflated.len() - 1);
                self.inflated.len() - 1
            }
            Bytes::Mapped(_) => return,
        };
        empty_line_programs(&mut self.inflated[idx]);
    }

    /// Whether `prepare` restricted the context to some units.
    #[cfg(test)]
    fn is_restricted(&self) -> bool {
        self.patched.is_some() || self.patched_in_place
    }

    /// The context that answers `addr`.
    fn ctx_for(&self, addr: u64) -> Option<&addr2line::Context<Reader>> {
        let whole = || self.context(self.whole_info());
        match &self.covered {
            Some(c) if c.binary_search(&addr).is_err() => self.full.get_or_init(whole).as_ref(),
            _ => self.ctx.get_or_init(whole).as_ref(),
        }
    }

    /// The frames at `addr` (the file's own address), innermost first; empty when DWARF
    /// knows nothing there. Split DWARF units (`.dwo`) are not followed.
    pub fn find_frames(&self, addr: u64) -> Vec<DwarfFrame> {
        let mut out = Vec::new();
        let Some(ctx) = self.ctx_for(addr) else {
            return out;
        };
        let Ok(mut frames) = ctx.find_frames(addr).skip_all_loads() else {
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

/// Reads an unsigned LEB128 at `*at`, advancing it; None past the end.
fn uleb(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = *b.get(*at)?;
        *at += 1;
        if shift < 64 {
            v |= u64::from(byte & 0x7f) << shift;
        }
        shift += 7;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
}

/// Whether any abbreviation in `.debug_abbrev` uses a form that refers into another unit
/// (`DW_FORM_ref_addr`, or dwz's `DW_FORM_GNU_ref_alt`); None when the section does not parse.
fn refers_across_units(abbrev: &[u8]) -> Option<bool> {
    const DW_FORM_REF_ADDR: u64 = 0x10;
    const DW_FORM_IMPLICIT_CONST: u64 = 0x21;
    const DW_FORM_GNU_REF_ALT: u64 = 0x1f20;
    let mut at = 0usize;
    while at < abbrev.len() {
        // One table: entries until a zero code.
        loop {
            let code = uleb(abbrev, &mut at)?;
            if code == 0 {
                break;
            }
            uleb(abbrev, &mut at)?; // tag
            abbrev.get(at)?; // has-children byte
            at += 1;
            loop {
                let name = uleb(abbrev, &mut at)?;
                let form = uleb(abbrev, &mut at)?;
                if name == 0 && form == 0 {
                    break;
                }
                if form == DW_FORM_REF_ADDR || form == DW_FORM_GNU_REF_ALT {
                    return Some(true);
                }
                if form == DW_FORM_IMPLICIT_CONST {
                    // The constant is a signed LEB128; its length is what matters here.
                    uleb(abbrev, &mut at)?;
                }
            }
        }
    }
    Some(false)
}

/// Shortens every line program in `line` (a little-endian `.debug_line`) to its header: its
/// unit length is rewritten to end where the header says the opcodes start, so gimli reads the
/// header (directories and files) and no rows. A program whose header does not parse is left
/// as it is, and the walk stops at the first length it does not understand.
fn empty_line_programs(line: &mut [u8]) {
    let len = line.len();
    let mut at = 0usize;
    while at + 4 <= len {
        let short = u32::from_le_bytes([line[at], line[at + 1], line[at + 2], line[at + 3]]);
        // (size of the length field, unit length, size of offsets)
        let (initial, unit_len, word) = match short {
            0xffff_ffff => match line.get(at + 4..at + 12) {
                Some(b) => (
                    12usize,
                    u64::from_le_bytes(b.try_into().unwrap_or([0xff; 8])),
                    8,
                ),
                None => return,
            },
            n if n >= 0xffff_fff0 => return,
            n => (4usize, u64::from(n), 4usize),
        };
        let Some(end) = usize::try_from(unit_len)
            .ok()
            .and_then(|l| (at + initial).checked_add(l))
            .filter(|&e| e <= len)
        else {
            return;
        };
        let body = at + initial;
        let version = line
            .get(body..body + 2)
            .map_or(0, |v| u16::from_le_bytes([v[0], v[1]]));
        // DWARF 5 puts the address and segment selector sizes before the header length.
        let header_len_at = match version {
            2..=4 => Some(body + 2),
            5 => Some(body + 4),
            _ => None,
        };
        let program = header_len_at.and_then(|h| {
            let b = line.get(h..h + word)?;
            let mut v = [0u8; 8];
            v[..word].copy_from_slice(b);
            let header_len = usize::try_from(u64::from_le_bytes(v)).ok()?;
            (h + word).checked_add(header_len).filter(|&p| p <= end)
        });
        if let Some(program) = program {
            let new_len = (program - body) as u64;
            if word == 8 {
                line[at + 4..at + 12].copy_from_slice(&new_len.to_le_bytes());
            } else {
                line[at..at + 4].copy_from_slice(&(new_len as u32).to_le_bytes());
            }
        }
        at = end;
    }
}

/// The patches that make `.debug_info` skip units: see [`plan_units`].
struct UnitPlan {
    /// The first unit's abbreviation offset, which every skipped unit gets.
    shared_abbrev: u32,
    /// Per skipped unit: where its abbreviation offset is and where its root entry starts.
    units: Vec<(usize, usize)>,
}

impl UnitPlan {
    /// Patches `info` (the section the plan was made from, or a copy of it).
    fn apply(&self, info: &mut [u8]) {
        let len = info.len();
        for &(abbrev_at, root_at) in &self.units {
            if root_at >= len {
                continue;
            }
            if let Some(a) = info.get_mut(abbrev_at..abbrev_at + 4) {
                a.copy_from_slice(&self.shared_abbrev.to_le_bytes());
                info[root_at] = 0;
            }
        }
    }
}

/// How to turn `.debug_info` into one in which every compile unit that `.debug_aranges` lists
/// and whose ranges hold none of `addrs` (sorted) is empty for addr2line: its root entry's
/// abbreviation code becomes 0 (gimli then reports no unit entry and addr2line passes over
/// the unit) and its abbreviation offset that of the first unit, so one table is parsed for
/// all of them. None when nothing would be skipped or the layout is not understood.
fn plan_units(
    info: &[u8],
    abbrev: &[u8],
    aranges: &[u8],
    endian: gimli::RunTimeEndian,
    addrs: &[u64],
) -> Option<UnitPlan> {
    use gimli::Endianity;
    use std::collections::HashSet;
    if info.is_empty() || aranges.is_empty() || !endian.is_little_endian() {
        return None;
    }
    if refers_across_units(abbrev)? {
        return None;
    }
    // Units with ranges in .debug_aranges, and those among them some address falls in.
    let mut listed: HashSet<usize> = HashSet::new();
    let mut hit: HashSet<usize> = HashSet::new();
    let sec = gimli::DebugAranges::new(aranges, endian);
    let mut headers = sec.headers();
    while let Ok(Some(h)) = headers.next() {
        let unit = h.debug_info_offset().0;
        listed.insert(unit);
        let mut entries = h.entries();
        loop {
            match entries.next() {
                Ok(Some(e)) => {
                    let r = e.range();
                    let i = addrs.partition_point(|&a| a < r.begin);
                    if addrs.get(i).is_some_and(|&a| a < r.end) {
                        hit.insert(unit);
                    }
                }
                Ok(None) => break,
                // A set that does not parse: its unit stays whole.
                Err(_) => {
                    hit.insert(unit);
                    break;
                }
            }
        }
    }
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let mut shared_abbrev: Option<u32> = None;
    let mut units = Vec::new();
    let mut at = 0usize;
    while at + 12 <= info.len() {
        let len = u32_at(info, at)? as usize;
        // 64-bit DWARF (and reserved lengths): stop here, the units before stay patched.
        if len >= 0xffff_fff0 {
            break;
        }
        let next = at.checked_add(4)?.checked_add(len)?;
        if next > info.len() {
            return None;
        }
        let version = u16::from_le_bytes([info[at + 4], info[at + 5]]);
        // Where a compile unit's abbreviation offset is and where its root entry starts.
        let layout = match version {
            2..=4 => Some((at + 6, at + 11)),
            5 if info[at + 6] == 1 => Some((at + 8, at + 12)), // DW_UT_compile
            _ => None,
        };
        if let Some((abbrev_at, root_at)) = layout {
            let own = u32_at(info, abbrev_at)?;
            shared_abbrev.get_or_insert(own);
            if listed.contains(&at) && !hit.contains(&at) && root_at < next {
                units.push((abbrev_at, root_at));
            }
        }
        at = next;
    }
    match shared_abbrev {
        Some(shared_abbrev) if !units.is_empty() => Some(UnitPlan {
            shared_abbrev,
            units,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test process's own executable and the files it maps (libc...).
    fn own_files() -> Vec<std::path::PathBuf> {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        let mut v: Vec<std::path::PathBuf> = maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .filter(|p| p.starts_with('/'))
            .map(std::path::PathBuf::from)
            .collect();
        // Separate debug files too (glibc's, when installed): found the way rprof finds them.
        let debug: Vec<std::path::PathBuf> = v
            .iter()
            .filter_map(|p| super::super::elf::ElfModule::open(p)?.debug_file)
            .collect();
        v.extend(debug);
        v.sort();
        v.dedup();
        v
    }

    type Shown = Vec<(Option<String>, Option<String>, Option<u32>)>;

    fn show(fs: Vec<DwarfFrame>) -> Shown {
        fs.into_iter()
            .map(|f| (f.function, f.file, f.line))
            .collect()
    }

    /// Lookups through a context restricted to some addresses' units give exactly what the
    /// whole file's context gives, for those addresses and (through the fallback) others.
    #[test]
    fn restricted_context_answers_as_the_whole_one() {
        let (mut checked, mut patched) = (0, 0);
        for f in own_files() {
            let Some(whole) = DwarfFile::open(&f) else {
                continue;
            };
            if whole.section(gimli::SectionId::DebugInfo).is_empty()
                || whole.section(gimli::SectionId::DebugAranges).is_empty()
            {
                continue;
            }
            // Addresses spread over the code; a third of them prepared for.
            let Some(all) = text_addresses(&f, 4099) else {
                continue;
            };
            let (some, others) = all.split_at(all.len() / 3);
            let mut part = DwarfFile::open(&f).expect("opens twice");
            part.prepare(some);
            let why = refers_across_units(part.section(gimli::SectionId::DebugAbbrev));
            eprintln!(
                "{}: units skipped: {}, cross-unit references: {why:?}",
                f.display(),
                part.is_restricted()
            );
            patched += usize::from(part.is_restricted());
            let mut named = 0;
            for &a in some.iter().chain(others) {
                let (p, w) = (show(part.find_frames(a)), show(whole.find_frames(a)));
                named += usize::from(!w.is_empty());
                assert_eq!(p, w, "{}: 0x{a:x}", f.display());
            }
            assert!(named > 0, "{}: nothing resolved", f.display());
            checked += 1;
        }
        assert!(
            checked > 0,
            "no mapped file with DWARF and aranges to check"
        );
        // glibc's debug files (Debian's libc6-dbg) had units to skip; a Rust binary has none
        // (rustc writes cross-unit references).
        let glibc_debug = own_files().iter().any(|f| f.starts_with("/usr/lib/debug"));
        assert!(patched > 0 || !glibc_debug, "no file had units to skip");
    }

    /// Every `step`th address of file `f`'s `.text`, or None when it has none.
    fn text_addresses(f: &std::path::Path, step: usize) -> Option<Vec<u64>> {
        let data = std::fs::read(f).ok()?;
        let obj = object::File::parse(&*data).ok()?;
        let code = obj.section_by_name(".text")?;
        Some(
            (code.address()..code.address() + code.size())
                .step_by(step)
                .collect(),
        )
    }

    /// Without line tables, every address gets the same frames (inlined ones included) with
    /// the same function names, and no line of its own; with the units restricted too.
    #[test]
    fn line_rows_dropped_keep_every_function_name() {
        let mut checked = 0;
        for f in own_files() {
            let Some(whole) = DwarfFile::open(&f) else {
                continue;
            };
            if whole.section(gimli::SectionId::DebugLine).is_empty() {
                continue;
            }
            let Some(all) = text_addresses(&f, 1031) else {
                continue;
            };
            let mut names_only = DwarfFile::open(&f).expect("opens twice");
            names_only.drop_line_rows();
            names_only.prepare(&all);
            let (mut named, mut lines) = (0, 0);
            for &a in &all {
                let w = whole.find_frames(a);
                let n = names_only.find_frames(a);
                // A frame with a location and no function (code DWARF has lines for but no
                // subprogram) has nothing left without lines: both mean "no DWARF name", and
                // the symbol table names the address either way.
                let fw: Vec<_> = w.iter().filter_map(|x| x.function.clone()).collect();
                let fnn: Vec<_> = n.iter().filter_map(|x| x.function.clone()).collect();
                assert_eq!(fnn, fw, "{}: 0x{a:x}", f.display());
                // The address's own line comes from the line table; inlined callers keep
                // their call sites, which come from the DIEs.
                assert!(
                    n.first().is_none_or(|x| x.line.is_none()),
                    "{}",
                    f.display()
                );
                named += usize::from(!w.is_empty());
                lines += usize::from(w.iter().any(|x| x.line.is_some()));
            }
            assert!(named > 0 && lines > 0, "{}: nothing resolved", f.display());
            checked += 1;
        }
        assert!(checked > 0, "no mapped file with line tables to check");
    }

    #[test]
    fn abbreviation_scan_finds_cross_unit_references() {
        // code 1, tag 0x11, no children, (name 0x03, form 0x08 string), end; end of table.
        let plain = [1u8, 0x11, 0, 0x03, 0x08, 0, 0, 0];
        assert_eq!(refers_across_units(&plain), Some(false));
        // The same with an attribute in DW_FORM_ref_addr.
        let cross = [1u8, 0x11, 0, 0x31, 0x10, 0, 0, 0];
        assert_eq!(refers_across_units(&cross), Some(true));
        // Truncated inside an entry.
        assert_eq!(refers_across_units(&[1u8, 0x11]), None);
    }
}
