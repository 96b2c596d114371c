//! DWARF unwinding core: turns a sample's registers (IP, SP, BP) and a copy of the user stack
//! (PERF_SAMPLE_REGS_USER + PERF_SAMPLE_STACK_USER) into a list of return addresses, using the
//! `.eh_frame` / `.eh_frame_hdr` / `.debug_frame` CFI of each module mapped in the process.
//!
//! The heavy lifting is done by `framehop`; this module owns what framehop leaves to its caller:
//! reading ELF files, mapping runtime addresses to file addresses for PIE executables and shared
//! objects, sharing parsed unwind sections between processes that map the same file, tracking
//! mmap/munmap, and saying *why* an unwind stopped, so `record` can count truncated stacks
//! honestly instead of emitting frame-pointer guesses through code that has no frame pointers.
//!
//! One [`ProcessUnwinder`] per address space; one [`ModuleCache`] per recording (or the global
//! one behind [`ProcessUnwinder::new`]).
//!
//! Limits worth knowing:
//! - x86_64 only (framehop's `UnwinderX86_64`); only IP, SP and BP are used, which is what
//!   `.eh_frame` CFI on x86_64 needs in practice.
//! - An address in no registered module, in a module without `.eh_frame`/`.debug_frame`, or in
//!   a module with CFI but covered by no FDE stops the unwind ([`StopReason`]): framehop would
//!   apply its frame-pointer rule to each of these, and DWARF mode never guesses. framehop also
//!   falls back to that rule when an FDE exists but its rules cannot be evaluated (a CFA
//!   expression it cannot compute); that case is not detectable from outside framehop and is
//!   left to the outermost-symbol check: `record` judges completeness by the outermost symbol
//!   ([`is_thread_entry`]).
//! - Separate debug files are not consulted for `.debug_frame`: `.eh_frame` is always in the
//!   loaded file and covers everything gcc, clang and rustc emit on Linux.
//! - JIT code (no ELF file) is not unwound through.

use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, Range};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{ExplicitModuleSectionInfo, FrameAddress, Module, Unwinder};
use object::{Object, ObjectSection, ObjectSegment, SegmentFlags};

/// Frames beyond this depth are not unwound: a deeper stack is almost always a loop caused by
/// corrupt stack contents, and the bound keeps the per-sample cost predictable.
pub const MAX_FRAMES: usize = 1024;

/// A read further than this above the stack copy cannot be a real stack slot (8 MiB is the
/// default main-thread stack limit); it is reported as a bad address, not a short copy.
const MAX_STACK_SPAN: u64 = 8 << 20;

/// Page size used to align segment file offsets the way the loader does (`mmap` needs
/// page-aligned offsets, so a PT_LOAD whose `p_offset` is not aligned is mapped from the page
/// below it).
const PAGE: u64 = 4096;

/// Errors from registering a module. Unwinding itself never fails; it reports an
/// [`UnwindOutcome`] instead.
#[derive(Debug, thiserror::Error)]
pub enum UnwindError {
    /// The module's file could not be opened, stat'ed or mapped.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file (or vdso image) is not an ELF object `object` can parse.
    #[error("{name} is not a readable ELF file: {reason}")]
    Parse {
        /// File path or module name.
        name: String,
        /// What the parser said.
        reason: String,
    },
    /// The mapping's file offset lies in no PT_LOAD segment, so runtime addresses cannot be
    /// related to the file's addresses.
    #[error("{name}: file offset {file_offset:#x} is not inside any PT_LOAD segment")]
    OffsetNotLoaded {
        /// File path or module name.
        name: String,
        /// The mapping's file offset.
        file_offset: u64,
    },
    /// `avma_end <= avma_start`.
    #[error("empty or inverted address range {start:#x}..{end:#x}")]
    BadRange {
        /// Start of the mapping.
        start: u64,
        /// End of the mapping.
        end: u64,
    },
}

/// How an unwind ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwindOutcome {
    /// The unwinder found a frame with no caller: CFI marked the return address undefined
    /// (`_start`, `clone3` do this), or the return address / frame pointer was zero.
    /// `record` should still apply [`is_thread_entry`] to the outermost symbol to decide
    /// whether the stack is complete: a zero return address can also come from garbage.
    Complete,
    /// Unwinding stopped before reaching the stack's root; the frames found so far are valid.
    Truncated(StopReason),
}

impl UnwindOutcome {
    /// True for [`UnwindOutcome::Complete`].
    pub fn is_complete(self) -> bool {
        matches!(self, UnwindOutcome::Complete)
    }
}

/// Why an unwind stopped early. Addresses are the lookup addresses (return address - 1 for
/// caller frames) of the frame that could not be unwound, unless stated otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The code address is in no registered module (JIT code, a missed mmap, or a bogus
    /// return address read from a corrupt stack).
    NoModule {
        /// The code address.
        address: u64,
    },
    /// The address is in a module that has no usable unwind information (no `.eh_frame` and no
    /// `.debug_frame`, or a file that could not be read).
    NoUnwindInfo {
        /// The code address.
        address: u64,
    },
    /// The address is in a module with CFI, but no FDE covers it (an object compiled with
    /// `-fno-asynchronous-unwind-tables -fno-unwind-tables`, or assembly without CFI
    /// directives). framehop would fall back to frame pointers here; rprof stops.
    NoFde {
        /// The code address.
        address: u64,
    },
    /// A read went past the end of the stack copy: the copy was too small for this stack.
    StackExhausted {
        /// The stack address that was needed.
        stack_address: u64,
    },
    /// A read below the stack pointer or at an address that is not stack at all: the unwind
    /// rules (or the frame pointer) led somewhere bogus.
    BadStackAddress {
        /// The stack address that was requested.
        stack_address: u64,
    },
    /// framehop refused to continue: the stack pointer went backwards, the frame did not
    /// advance, or arithmetic overflowed. Usually a sign of corrupt unwind info or stack.
    InvalidFrame {
        /// The code address of the frame.
        address: u64,
    },
    /// [`MAX_FRAMES`] frames were produced.
    TooDeep,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::NoModule { address } => write!(f, "no module at {address:#x}"),
            StopReason::NoUnwindInfo { address } => {
                write!(f, "no unwind information for {address:#x}")
            }
            StopReason::NoFde { address } => {
                write!(f, "no FDE covers {address:#x}")
            }
            StopReason::StackExhausted { stack_address } => {
                write!(f, "stack copy exhausted at {stack_address:#x}")
            }
            StopReason::BadStackAddress { stack_address } => {
                write!(f, "bad stack address {stack_address:#x}")
            }
            StopReason::InvalidFrame { address } => write!(f, "invalid frame at {address:#x}"),
            StopReason::TooDeep => write!(f, "more than {MAX_FRAMES} frames"),
        }
    }
}

/// Section bytes shared between every process (and every framehop `Module`) that maps the same
/// file: cloning is a reference-count increment, so registering libc in the 50th process costs
/// no copy.
#[derive(Clone)]
pub struct SectionBytes(Arc<[u8]>);

impl Deref for SectionBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// One PT_LOAD segment: enough to translate a mapping's file offset into a stated address.
#[derive(Debug, Clone, Copy)]
struct LoadSegment {
    vaddr: u64,
    offset: u64,
    filesz: u64,
    executable: bool,
}

/// What an ELF file contributes to unwinding, parsed once per file.
struct ElfUnwindInfo {
    text_svma: Option<Range<u64>>,
    got_svma: Option<Range<u64>>,
    eh_frame: Option<(Range<u64>, SectionBytes)>,
    eh_frame_hdr: Option<(Range<u64>, SectionBytes)>,
    debug_frame: Option<SectionBytes>,
    /// Stated-address ranges covered by an FDE of the section framehop unwinds with
    /// (`.eh_frame` when present, else `.debug_frame`), sorted and merged. framehop applies
    /// its frame-pointer rule to an address no FDE covers; this index lets us stop there
    /// instead.
    cfi_ranges: Arc<[Range<u64>]>,
    loads: Vec<LoadSegment>,
}

impl ElfUnwindInfo {
    fn parse(name: &str, data: &[u8]) -> Result<Self, UnwindError> {
        let file = object::File::parse(data).map_err(|e| UnwindError::Parse {
            name: name.to_string(),
            reason: e.to_string(),
        })?;
        let range = |s: &object::Section<'_, '_>| s.address()..s.address().saturating_add(s.size());
        // Copy only the unwind sections out of the (possibly huge) file; .text is not needed
        // because ELF CFI is exact in prologues and epilogues (framehop only analyses
        // instructions for mach-O).
        let with_data = |section_name: &str| -> Option<(Range<u64>, SectionBytes)> {
            let s = file.section_by_name(section_name)?;
            // A compressed or corrupt section yields None: the module just has less info.
            let bytes = s.uncompressed_data().ok()?;
            if bytes.is_empty() {
                return None;
            }
            Some((range(&s), SectionBytes(Arc::from(&*bytes))))
        };
        let loads = file
            .segments()
            .map(|seg| {
                let (offset, filesz) = seg.file_range();
                let executable = match seg.flags() {
                    SegmentFlags::Elf { p_flags } => p_flags & object::elf::PF_X != 0,
                    _ => false,
                };
                LoadSegment {
                    vaddr: seg.address(),
                    offset,
                    filesz,
                    executable,
                }
            })
            .collect();
        let text_svma = file.section_by_name(".text").map(|s| range(&s));
        let got_svma = file.section_by_name(".got").map(|s| range(&s));
        let eh_frame = with_data(".eh_frame");
        let debug_frame = with_data(".debug_frame").map(|(_, d)| d);
        // Mirror framehop's choice of section (ModuleUnwindData: .eh_frame first).
        let cfi_ranges = match (&eh_frame, &debug_frame) {
            (Some((svma, bytes)), _) => {
                let bases = gimli::BaseAddresses::default()
                    .set_eh_frame(svma.start)
                    .set_text(text_svma.as_ref().map_or(0, |r| r.start))
                    .set_got(got_svma.as_ref().map_or(0, |r| r.start));
                let mut section = gimli::EhFrame::new(bytes, gimli::LittleEndian);
                section.set_address_size(8);
                fde_ranges(&section, &bases)
            }
            (None, Some(bytes)) => {
                let mut section = gimli::DebugFrame::new(bytes, gimli::LittleEndian);
                section.set_address_size(8);
                fde_ranges(&section, &gimli::BaseAddresses::default())
            }
            (None, None) => Vec::new(),
        };
        Ok(ElfUnwindInfo {
            text_svma,
            got_svma,
            eh_frame,
            eh_frame_hdr: with_data(".eh_frame_hdr"),
            debug_frame,
            cfi_ranges: cfi_ranges.into(),
            loads,
        })
    }

    fn has_unwind_info(&self) -> bool {
        self.eh_frame.is_some() || self.debug_frame.is_some()
    }

    /// The stated address (svma) that the byte at `file_offset` is loaded at. Executable
    /// segments win when two segments share the page (lld lays segments out unaligned).
    fn svma_for_file_offset(&self, file_offset: u64) -> Option<u64> {
        let contains = |s: &&LoadSegment| {
            let start = s.offset & !(PAGE - 1);
            let end = s.offset.saturating_add(s.filesz.max(1));
            (start..end).contains(&file_offset)
        };
        let seg = self
            .loads
            .iter()
            .filter(contains)
            .max_by_key(|s| s.executable)?;
        // p_vaddr ≡ p_offset (mod page), so this also holds for the page below p_offset.
        Some(seg.vaddr.wrapping_add(file_offset).wrapping_sub(seg.offset))
    }
}

/// The address ranges of every FDE in `section`, sorted, with touching or overlapping ranges
/// merged. An entry that does not parse ends the walk: the ranges found before it are kept and
/// addresses after it count as uncovered, which stops an unwind rather than letting it guess.
fn fde_ranges<'a, S>(section: &S, bases: &gimli::BaseAddresses) -> Vec<Range<u64>>
where
    S: gimli::UnwindSection<gimli::EndianSlice<'a, gimli::LittleEndian>>,
{
    let mut ranges = Vec::new();
    let mut entries = section.entries(bases);
    // The CIE most FDEs point back to, so it is not re-parsed for every FDE.
    let mut last_cie: Option<gimli::CommonInformationEntry<_>> = None;
    while let Ok(Some(entry)) = entries.next() {
        let gimli::CieOrFde::Fde(partial) = entry else {
            continue;
        };
        let fde = partial.parse(|section, bases, offset| {
            let wanted = <S::Offset as gimli::UnwindOffset<usize>>::into(offset);
            if let Some(cie) = last_cie.as_ref().filter(|c| c.offset() == wanted) {
                return Ok(cie.clone());
            }
            let cie = section.cie_from_offset(bases, offset)?;
            last_cie = Some(cie.clone());
            Ok(cie)
        });
        let Ok(fde) = fde else {
            break;
        };
        let start = fde.initial_address();
        let end = start.saturating_add(fde.len());
        if end > start {
            ranges.push(start..end);
        }
    }
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

fn covers(ranges: &[Range<u64>], svma: u64) -> bool {
    let i = ranges.partition_point(|r| r.start <= svma);
    i.checked_sub(1)
        .and_then(|i| ranges.get(i))
        .is_some_and(|r| svma < r.end)
}

/// Identity of a file on disk: a file replaced by a rebuild gets a new inode or mtime, so it is
/// parsed again, while 50 processes mapping the same libc share one parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

/// Parsed unwind sections, shared by all [`ProcessUnwinder`]s of a recording. Files whose parse
/// failed are remembered too, so a broken library is not re-read for every process. Entries are
/// never evicted: a recording maps a bounded set of files.
#[derive(Clone, Default)]
pub struct ModuleCache {
    inner: Arc<Mutex<HashMap<FileKey, Arc<ElfUnwindInfo>>>>,
}

impl ModuleCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of distinct files parsed so far.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |m| m.len())
    }

    /// True when no file has been parsed.
    #[allow(dead_code)] // the pair of `len` that clippy's len_without_is_empty asks for
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get_or_parse(&self, path: &Path) -> Result<Arc<ElfUnwindInfo>, UnwindError> {
        let io = |source| UnwindError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let key = FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        };
        if let Some(info) = self.inner.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(info);
        }
        // Parse outside the lock: two threads may parse the same file once each, which is
        // cheaper than serialising every parse of a recording.
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and dropped before returning; the sections we keep are
        // copied out. A file truncated by another process during these microseconds could
        // SIGBUS, the same exposure every ELF-reading profiler accepts.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        let info = Arc::new(ElfUnwindInfo::parse(&path.to_string_lossy(), &map)?);
        if let Ok(mut m) = self.inner.lock() {
            m.insert(key, Arc::clone(&info));
        }
        Ok(info)
    }
}

fn global_cache() -> &'static ModuleCache {
    static CACHE: OnceLock<ModuleCache> = OnceLock::new();
    CACHE.get_or_init(ModuleCache::new)
}

/// A mapping we know about, kept beside framehop's list so we can tell "no module" from "module
/// without unwind info" and handle overlapping re-mmaps, which framehop does not.
#[derive(Debug, Clone)]
struct Mapping {
    range: Range<u64>,
    has_unwind_info: bool,
    /// Where stated address 0 of the file lands (the load bias).
    base_avma: u64,
    /// The file's FDE ranges in stated addresses (empty without unwind info).
    cfi_ranges: Arc<[Range<u64>]>,
    /// Whether framehop holds a module for this range (removed from it on unmap).
    in_framehop: bool,
    name: Arc<str>,
}

/// The DWARF unwinder for one address space (one process; threads share it).
///
/// Feed it every executable mapping with [`add_module`](Self::add_module) /
/// [`add_module_bytes`](Self::add_module_bytes), drop mappings with
/// [`remove_modules_in`](Self::remove_modules_in), and call [`unwind`](Self::unwind) per sample.
/// Holds framehop's rule cache, so repeated samples in the same code cost a hash lookup per
/// frame.
pub struct ProcessUnwinder {
    unwinder: UnwinderX86_64<SectionBytes>,
    cache: CacheX86_64,
    /// Sorted by start, non-overlapping.
    mappings: Vec<Mapping>,
    files: ModuleCache,
}

impl Default for ProcessUnwinder {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessUnwinder {
    /// An unwinder with no modules that shares parsed files through the process-global cache.
    pub fn new() -> Self {
        Self::with_cache(global_cache().clone())
    }

    /// An unwinder with no modules that shares parsed files through `files`.
    pub fn with_cache(files: ModuleCache) -> Self {
        ProcessUnwinder {
            unwinder: UnwinderX86_64::new(),
            cache: CacheX86_64::new(),
            mappings: Vec::new(),
            files,
        }
    }

    /// A copy for a forked child: same modules (cheap: section data is shared), fresh rule
    /// cache. Later mmaps in either process only change that process's copy.
    pub fn fork(&self) -> Self {
        ProcessUnwinder {
            unwinder: self.unwinder.clone(),
            cache: CacheX86_64::new(),
            mappings: self.mappings.clone(),
            files: self.files.clone(),
        }
    }

    /// Registers the executable mapping `avma_start..avma_end` of the ELF file at `path`,
    /// mapped from `file_offset` (the `offset` column of /proc/PID/maps, `pgoff` of MMAP2).
    ///
    /// `path` must be readable by this process: for a target in another mount namespace pass
    /// `/proc/PID/root/<path>` or `/proc/PID/map_files/<start>-<end>`. The load bias of PIE
    /// executables and shared objects is computed from the PT_LOAD segment containing
    /// `file_offset`. Any registered mapping overlapping the range is replaced (a new mmap over
    /// old pages replaces them). Parsed sections are shared through the [`ModuleCache`].
    ///
    /// On error the range is still recorded, as a module without unwind information, so
    /// unwinding into it stops with [`StopReason::NoUnwindInfo`] rather than wandering.
    pub fn add_module(
        &mut self,
        path: &Path,
        avma_start: u64,
        avma_end: u64,
        file_offset: u64,
    ) -> Result<(), UnwindError> {
        if avma_end <= avma_start {
            return Err(UnwindError::BadRange {
                start: avma_start,
                end: avma_end,
            });
        }
        let name: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        let result = self
            .files
            .get_or_parse(path)
            .and_then(|info| self.insert(name.clone(), &info, avma_start, avma_end, file_offset));
        if result.is_err() {
            self.insert_placeholder(name, avma_start, avma_end);
        }
        result
    }

    /// Registers a module whose ELF image is given as bytes, for `[vdso]`: read its pages from
    /// the target (`/proc/PID/mem` at the mapping) and pass them with the mapping's range. The
    /// image's offset 0 is assumed to be at `avma_start`, as the kernel maps the vdso.
    pub fn add_module_bytes(
        &mut self,
        name: &str,
        bytes: &[u8],
        avma_start: u64,
        avma_end: u64,
    ) -> Result<(), UnwindError> {
        if avma_end <= avma_start {
            return Err(UnwindError::BadRange {
                start: avma_start,
                end: avma_end,
            });
        }
        let name: Arc<str> = Arc::from(name);
        // Not cached: the vdso is two pages and parses in microseconds.
        let result = ElfUnwindInfo::parse(&name, bytes)
            .and_then(|info| self.insert(name.clone(), &info, avma_start, avma_end, 0));
        if result.is_err() {
            self.insert_placeholder(name, avma_start, avma_end);
        }
        result
    }

    /// Forgets every module overlapping `start..end` (munmap, or exec with `start = 0, end =
    /// u64::MAX`). A module partly covered is dropped whole: the part left is usually a
    /// non-executable remainder, and a wrong module is worse than a missing one.
    pub fn remove_modules_in(&mut self, start: u64, end: u64) {
        let unwinder = &mut self.unwinder;
        self.mappings.retain(|m| {
            let overlaps = m.range.start < end && start < m.range.end;
            if overlaps && m.in_framehop {
                unwinder.remove_module(m.range.start);
            }
            !overlaps
        });
    }

    /// Number of registered mappings (with or without unwind information).
    pub fn module_count(&self) -> usize {
        self.mappings.len()
    }

    /// The name (path) of the module containing `address`, if any.
    pub fn module_name_at(&self, address: u64) -> Option<&str> {
        find_mapping(&self.mappings, address).map(|m| &*m.name)
    }

    fn insert(
        &mut self,
        name: Arc<str>,
        info: &ElfUnwindInfo,
        avma_start: u64,
        avma_end: u64,
        file_offset: u64,
    ) -> Result<(), UnwindError> {
        let svma_start =
            info.svma_for_file_offset(file_offset)
                .ok_or_else(|| UnwindError::OffsetNotLoaded {
                    name: name.to_string(),
                    file_offset,
                })?;
        // base_avma is where svma 0 lands: the load bias (0 for non-PIE executables).
        let base_avma = avma_start.wrapping_sub(svma_start);
        self.remove_modules_in(avma_start, avma_end);
        let has_unwind_info = info.has_unwind_info();
        if has_unwind_info {
            let section_info = ExplicitModuleSectionInfo {
                base_svma: 0,
                text_svma: info.text_svma.clone(),
                got_svma: info.got_svma.clone(),
                eh_frame_svma: info.eh_frame.as_ref().map(|(r, _)| r.clone()),
                eh_frame: info.eh_frame.as_ref().map(|(_, d)| d.clone()),
                eh_frame_hdr_svma: info.eh_frame_hdr.as_ref().map(|(r, _)| r.clone()),
                eh_frame_hdr: info.eh_frame_hdr.as_ref().map(|(_, d)| d.clone()),
                debug_frame: info.debug_frame.clone(),
                text: None,
                stubs_svma: None,
                stub_helper_svma: None,
                unwind_info: None,
                text_segment_svma: None,
                text_segment: None,
            };
            self.unwinder.add_module(Module::new(
                name.to_string(),
                avma_start..avma_end,
                base_avma,
                section_info,
            ));
        }
        self.push_mapping(Mapping {
            range: avma_start..avma_end,
            has_unwind_info,
            base_avma,
            cfi_ranges: Arc::clone(&info.cfi_ranges),
            in_framehop: has_unwind_info,
            name,
        });
        Ok(())
    }

    fn insert_placeholder(&mut self, name: Arc<str>, avma_start: u64, avma_end: u64) {
        self.remove_modules_in(avma_start, avma_end);
        self.push_mapping(Mapping {
            range: avma_start..avma_end,
            has_unwind_info: false,
            base_avma: avma_start,
            cfi_ranges: Arc::from(Vec::new()),
            in_framehop: false,
            name,
        });
    }

    fn push_mapping(&mut self, mapping: Mapping) {
        let at = self
            .mappings
            .partition_point(|m| m.range.start < mapping.range.start);
        self.mappings.insert(at, mapping);
    }

    /// Unwinds one sample and appends its frames to `out`, innermost first.
    ///
    /// `ip`, `sp`, `bp` are the user registers of the sample; `stack` is the user stack copy
    /// starting at `sp` (PERF_SAMPLE_STACK_USER: pass only the `dyn_size` valid bytes). The
    /// first address appended is `ip`; the rest are return addresses exactly as found on the
    /// stack, i.e. the instruction *after* each call. **Callers must look return addresses up
    /// at `address - 1`** (framehop's `FrameAddress::address_for_lookup`) to get the calling
    /// function and line, and must not adjust the first one. `out` is not cleared, so kernel
    /// frames can be pushed first.
    ///
    /// Never fails: the frames found before a problem are kept and the outcome says why
    /// unwinding stopped. Allocation-free once `out` has capacity and the rule cache is warm.
    pub fn unwind(
        &mut self,
        ip: u64,
        sp: u64,
        bp: u64,
        stack: &[u8],
        out: &mut Vec<u64>,
    ) -> UnwindOutcome {
        let stack_end = sp.saturating_add(stack.len() as u64);
        let mut read_stack = |addr: u64| -> Result<u64, ()> {
            let off = usize::try_from(addr.checked_sub(sp).ok_or(())?).map_err(|_| ())?;
            let bytes = stack.get(off..off.checked_add(8).ok_or(())?).ok_or(())?;
            let mut word = [0u8; 8];
            word.copy_from_slice(bytes);
            Ok(u64::from_le_bytes(word))
        };
        let mut regs = UnwindRegsX86_64::new(ip, sp, bp);
        let mut frame = FrameAddress::from_instruction_pointer(ip);
        out.push(ip);
        for _ in 1..MAX_FRAMES {
            let address = frame.address_for_lookup();
            // Without these checks framehop would silently apply its frame-pointer rule (to an
            // address in no module, in a module without CFI, or in a function no FDE covers:
            // `-fno-asynchronous-unwind-tables` objects, hand-written assembly). In code
            // without frame pointers that yields plausible-looking garbage frames, and even
            // where it happens to be right it is a guess: DWARF mode stops here instead.
            match find_mapping(&self.mappings, address) {
                None => return UnwindOutcome::Truncated(StopReason::NoModule { address }),
                Some(m) if !m.has_unwind_info => {
                    return UnwindOutcome::Truncated(StopReason::NoUnwindInfo { address })
                }
                Some(m) if !covers(&m.cfi_ranges, address.wrapping_sub(m.base_avma)) => {
                    return UnwindOutcome::Truncated(StopReason::NoFde { address })
                }
                Some(_) => {}
            }
            match self
                .unwinder
                .unwind_frame(frame, &mut regs, &mut self.cache, &mut read_stack)
            {
                Ok(Some(return_address)) => match FrameAddress::from_return_address(return_address)
                {
                    Some(next) => {
                        out.push(return_address);
                        frame = next;
                    }
                    None => return UnwindOutcome::Complete,
                },
                Ok(None) => return UnwindOutcome::Complete,
                Err(framehop::Error::CouldNotReadStack(stack_address)) => {
                    // Just past the copy: the copy was short. Far past it (more than a whole
                    // default thread stack) or below sp: the rules led somewhere bogus.
                    let beyond = stack_address >= stack_end.saturating_sub(7)
                        && stack_address < stack_end.saturating_add(MAX_STACK_SPAN);
                    let reason = if beyond {
                        StopReason::StackExhausted { stack_address }
                    } else {
                        StopReason::BadStackAddress { stack_address }
                    };
                    return UnwindOutcome::Truncated(reason);
                }
                Err(framehop::Error::ReturnAddressIsNull) => return UnwindOutcome::Complete,
                Err(_) => return UnwindOutcome::Truncated(StopReason::InvalidFrame { address }),
            }
        }
        UnwindOutcome::Truncated(StopReason::TooDeep)
    }
}

fn find_mapping(mappings: &[Mapping], address: u64) -> Option<&Mapping> {
    let i = mappings.partition_point(|m| m.range.start <= address);
    let m = mappings.get(i.checked_sub(1)?)?;
    (address < m.range.end).then_some(m)
}

/// Whether `function_name` (demangled, with or without a Rust `::h<hash>` suffix) is where a
/// thread or process begins: a stack whose outermost frame is one of these is complete, any
/// other outermost frame means the stack is truncated (issue 4's data-quality rule).
pub fn is_thread_entry(function_name: &str) -> bool {
    let name = strip_rust_hash(function_name.trim());
    // glibc exports some of these under internal aliases (`__GI___clone3`, `__clone_internal`
    // calls `__clone3`), and static symbols may be versioned (`clone3@@GLIBC_2.34`).
    let name = name.split('@').next().unwrap_or(name);
    const C_ENTRIES: &[&str] = &[
        "_start",
        "__libc_start_main",
        "__libc_start_main_impl",
        "__libc_start_call_main",
        "clone",
        "__clone",
        "__GI___clone",
        "clone3",
        "__clone3",
        "__GI___clone3",
        "start_thread",
        "thread_start",
        "_dl_start_user",
        "_dl_start",
    ];
    if C_ENTRIES.contains(&name) {
        return true;
    }
    // Rust: the process entry wrappers and the per-thread trampoline, whose module path moved
    // between std versions (sys::unix::thread, sys::pal::unix::thread, sys::thread::unix).
    name.starts_with("std::rt::lang_start")
        || name.starts_with("<std::rt::lang_start")
        || (name.starts_with("std::sys::") && name.ends_with("Thread::new::thread_start"))
}

fn strip_rust_hash(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    /// /proc/self/maps executable file mappings: (start, end, offset, path).
    fn own_exec_mappings() -> Vec<(u64, u64, u64, String)> {
        let maps = std::fs::read_to_string("/proc/self/maps").expect("read maps");
        maps.lines()
            .filter_map(|line| {
                let mut it = line.split_whitespace();
                let range = it.next()?;
                let perms = it.next()?;
                let offset = u64::from_str_radix(it.next()?, 16).ok()?;
                let _dev = it.next()?;
                let _inode = it.next()?;
                let path = it.collect::<Vec<_>>().join(" ");
                let (s, e) = range.split_once('-')?;
                let start = u64::from_str_radix(s, 16).ok()?;
                let end = u64::from_str_radix(e, 16).ok()?;
                perms.contains('x').then_some((start, end, offset, path))
            })
            .collect()
    }

    fn read_own_memory(addr: u64, len: usize) -> Vec<u8> {
        let mem = std::fs::File::open("/proc/self/mem").expect("open /proc/self/mem");
        let mut buf = vec![0u8; len];
        let mut got = 0;
        // The stack mapping ends somewhere below addr + len: keep what was readable.
        while got < len {
            match mem.read_at(&mut buf[got..], addr + got as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        buf.truncate(got);
        buf
    }

    fn own_unwinder() -> ProcessUnwinder {
        let mut u = ProcessUnwinder::with_cache(ModuleCache::new());
        for (start, end, offset, path) in own_exec_mappings() {
            if path == "[vdso]" {
                let bytes = read_own_memory(start, (end - start) as usize);
                u.add_module_bytes(&path, &bytes, start, end)
                    .expect("vdso parses");
            } else if path.starts_with('/') {
                u.add_module(Path::new(&path), start, end, offset)
                    .expect("own module parses");
            }
        }
        u
    }

    /// Registers and the stack as they are inside this function, like a sample would see them.
    #[inline(never)]
    fn snapshot_here() -> (u64, u64, u64, Vec<u8>) {
        let (ip, sp, bp): (u64, u64, u64);
        // SAFETY: reads three registers, touches no memory.
        unsafe {
            std::arch::asm!(
                "lea {ip}, [rip]",
                "mov {sp}, rsp",
                "mov {bp}, rbp",
                ip = out(reg) ip,
                sp = out(reg) sp,
                bp = out(reg) bp,
            );
        }
        (ip, sp, bp, read_own_memory(sp, 64 * 1024))
    }

    #[inline(never)]
    fn nested(depth: u32) -> (u64, u64, u64, Vec<u8>) {
        if depth == 0 {
            snapshot_here()
        } else {
            let r = nested(std::hint::black_box(depth - 1));
            std::hint::black_box(r)
        }
    }

    #[test]
    fn unwinds_own_thread_to_clone3() {
        // On a thread of our own, so the root is libc's clone3 even under --test-threads=1
        // (where libtest runs tests on the main thread).
        let (ip, sp, bp, stack) = std::thread::spawn(|| nested(5))
            .join()
            .expect("snapshot thread");
        let mut u = own_unwinder();
        let mut frames = Vec::new();
        let outcome = u.unwind(ip, sp, bp, &stack, &mut frames);
        assert_eq!(outcome, UnwindOutcome::Complete, "frames: {frames:x?}");
        // snapshot_here + 6 nested + std thread-start frames + start_thread + clone3.
        assert!(frames.len() >= 10, "only {} frames", frames.len());
        let exe = std::env::current_exe().expect("current exe");
        let exe = exe.to_string_lossy();
        let in_exe = frames
            .iter()
            .filter(|&&a| u.module_name_at(a - 1) == Some(&*exe))
            .count();
        assert!(in_exe >= 8, "{in_exe} frames in the test binary");
        // The snapshot was taken on a spawned thread: its outermost frame is libc's clone3.
        let last = *frames.last().expect("frames");
        let lib = u.module_name_at(last - 1).unwrap_or("");
        assert!(lib.contains("libc"), "outermost frame in {lib:?}");
    }

    #[test]
    fn short_stack_copy_reports_exhaustion() {
        let (ip, sp, bp, stack) = nested(3);
        let mut u = own_unwinder();
        let mut frames = Vec::new();
        let outcome = u.unwind(ip, sp, bp, &stack[..64], &mut frames);
        assert!(
            matches!(
                outcome,
                UnwindOutcome::Truncated(StopReason::StackExhausted { .. })
            ),
            "{outcome:?}"
        );
        assert_eq!(frames[0], ip);
    }

    #[test]
    fn unknown_ip_stops_without_guessing() {
        let mut u = ProcessUnwinder::with_cache(ModuleCache::new());
        let mut frames = Vec::new();
        let stack = [0x11u8; 256];
        let outcome = u.unwind(0x1234, 0x7000_0000, 0x7000_0010, &stack, &mut frames);
        assert_eq!(
            outcome,
            UnwindOutcome::Truncated(StopReason::NoModule { address: 0x1234 })
        );
        assert_eq!(frames, vec![0x1234]);
        // Empty stack copy: same, no panic.
        frames.clear();
        let outcome = u.unwind(0x1234, 0x7000_0000, 0, &[], &mut frames);
        assert!(!outcome.is_complete());
    }

    #[test]
    fn broken_module_is_recorded_without_unwind_info() {
        let dir = std::env::temp_dir().join(format!("rprof-dwarf-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let junk = dir.join("junk.so");
        std::fs::write(&junk, b"\x7fELF this is not really an ELF file").expect("write");
        let mut u = ProcessUnwinder::with_cache(ModuleCache::new());
        let err = u.add_module(&junk, 0x10000, 0x20000, 0);
        assert!(matches!(err, Err(UnwindError::Parse { .. })), "{err:?}");
        let missing = u.add_module(&dir.join("missing.so"), 0x30000, 0x40000, 0);
        assert!(
            matches!(missing, Err(UnwindError::Io { .. })),
            "{missing:?}"
        );
        assert_eq!(u.module_count(), 2);
        let mut frames = Vec::new();
        let outcome = u.unwind(0x10010, 0x1000, 0, &[0u8; 64], &mut frames);
        assert_eq!(
            outcome,
            UnwindOutcome::Truncated(StopReason::NoUnwindInfo { address: 0x10010 })
        );
        u.remove_modules_in(0, u64::MAX);
        assert_eq!(u.module_count(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn garbage_bytes_as_module_and_stack_do_not_panic() {
        let mut u = ProcessUnwinder::with_cache(ModuleCache::new());
        // Random-looking bytes: not ELF.
        let junk: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert!(u.add_module_bytes("junk", &junk, 0x1000, 0x2000).is_err());
        assert!(u.add_module_bytes("empty", &[], 0x3000, 0x4000).is_err());
        assert!(matches!(
            u.add_module_bytes("inverted", &junk, 0x5000, 0x5000),
            Err(UnwindError::BadRange { .. })
        ));
        // A real module with a garbage stack: whatever comes out, no panic, bounded.
        let mut own = own_unwinder();
        let mut frames = Vec::new();
        let ip = snapshot_here as *const () as u64;
        let stack: Vec<u8> = junk.iter().cycle().take(32 * 1024).copied().collect();
        let _ = own.unwind(ip, 0x7fff_0000_0000, 0x7fff_0000_0100, &stack, &mut frames);
        assert!(!frames.is_empty() && frames.len() <= MAX_FRAMES);
    }

    #[test]
    fn cache_parses_each_file_once_and_fork_shares_modules() {
        let cache = ModuleCache::new();
        let maps = own_exec_mappings();
        let mut a = ProcessUnwinder::with_cache(cache.clone());
        let mut b = ProcessUnwinder::with_cache(cache.clone());
        let mut files = std::collections::HashSet::new();
        for (start, end, offset, path) in &maps {
            if path.starts_with('/') {
                files.insert(path.clone());
                a.add_module(Path::new(path), *start, *end, *offset)
                    .expect("parse");
                b.add_module(Path::new(path), *start, *end, *offset)
                    .expect("parse");
            }
        }
        assert_eq!(cache.len(), files.len());
        let child = a.fork();
        assert_eq!(child.module_count(), a.module_count());
        // Re-mapping over a range replaces the old module instead of stacking a second one.
        let (start, end, offset, path) = maps
            .iter()
            .find(|m| m.3.starts_with('/'))
            .cloned()
            .expect("a file mapping");
        let before = b.module_count();
        b.add_module(Path::new(&path), start, end, offset)
            .expect("parse");
        assert_eq!(b.module_count(), before);
        b.remove_modules_in(start, start + 1);
        assert_eq!(b.module_count(), before - 1);
        assert!(b.module_name_at(start).is_none());
    }

    #[test]
    fn unwinder_can_move_to_a_worker_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<ProcessUnwinder>();
        assert_send::<ModuleCache>();
        fn assert_sync<T: Sync>() {}
        assert_sync::<ModuleCache>();
    }

    #[test]
    fn fde_coverage_lookup() {
        let ranges = [0x10..0x20, 0x30..0x38];
        for (a, want) in [
            (0x0f, false),
            (0x10, true),
            (0x1f, true),
            (0x20, false),
            (0x2f, false),
            (0x37, true),
            (0x38, false),
        ] {
            assert_eq!(covers(&ranges, a), want, "{a:#x}");
        }
        assert!(!covers(&[], 0x10));
        // The test binary's own .eh_frame covers its functions.
        let exe = std::env::current_exe().expect("current exe");
        let data = std::fs::read(&exe).expect("read own exe");
        let info = ElfUnwindInfo::parse("self", &data).expect("parse own exe");
        assert!(info.cfi_ranges.len() > 100, "{}", info.cfi_ranges.len());
        assert!(info
            .cfi_ranges
            .windows(2)
            .all(|w| w[0].end < w[1].start && w[0].start < w[0].end));
    }

    #[test]
    fn thread_entries() {
        for yes in [
            "_start",
            "__libc_start_main",
            "__libc_start_call_main",
            "clone",
            "clone3",
            "__clone3",
            "start_thread",
            "clone3@@GLIBC_2.34",
            "std::rt::lang_start",
            "std::rt::lang_start::<()>",
            "std::rt::lang_start_internal",
            "std::rt::lang_start::h0123456789abcdef",
            "std::sys::pal::unix::thread::Thread::new::thread_start",
            "std::sys::thread::unix::Thread::new::thread_start::h00112233aabbccdd",
        ] {
            assert!(is_thread_entry(yes), "{yes}");
        }
        for no in [
            "main",
            "qsort",
            "c",
            "",
            "std::thread::spawn",
            "_start_helper",
        ] {
            assert!(!is_thread_entry(no), "{no}");
        }
    }
}
