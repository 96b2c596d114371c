//! `perf.data` as written by `perf record` (file or pipe mode), read through the
//! `linux-perf-data` crate into the same pipeline `rprof record` uses: MMAP/MMAP2, COMM and
//! FORK records replayed into per-process address spaces, frame-pointer callchains as the
//! kernel wrote them, user stack copies (`--call-graph dwarf`) unwound with the same framehop
//! unwinder `record` runs live, and the profile builder's symbolizer (each distinct address
//! once). Recorded files are used only when their build-id matches the one recorded; else
//! perf's build-id cache and `/usr/lib/debug/.build-id` are tried, and a file found nowhere
//! is named in the summary with its frames left as `module+offset`.

use std::collections::HashMap;
use std::io::Cursor;

use anyhow::{bail, Context, Result};
use linux_perf_data::linux_perf_event_reader::{
    constants::{PERF_REG_X86_BP, PERF_REG_X86_IP, PERF_REG_X86_SP},
    CpuMode, EventRecord, Mmap2FileId, RawEventRecord, RecordType, SampleRecord, SamplingPolicy,
};
use linux_perf_data::{DsoKey, PerfFileReader, PerfFileRecord};

use super::perf_data_records::DirectRecords;
use super::perf_script::{event_base, event_unit, resolve_event};
use super::Profile;
use crate::record::build::{self, BuildStats, Offline};
use crate::record::live_unwind::LiveUnwinder;
use crate::record::maps::Mapping;
use crate::record::session::{Collected, RawEvent};
use crate::symbolize::Symbolizer;

/// perf's magic in a little-endian file; `2ELIFREP` is the same written big-endian.
const MAGIC: &[u8; 8] = b"PERFILE2";
const MAGIC_SWAPPED: &[u8; 8] = b"2ELIFREP";
/// Size of the file-mode header (`struct perf_file_header`).
const FILE_HEADER: u64 = 104;
/// Size of the pipe-mode header (`struct perf_pipe_file_header`).
const PIPE_HEADER: u64 = 16;
const PERF_CONTEXT_KERNEL: u64 = (-128i64) as u64;
const PERF_CONTEXT_USER: u64 = (-512i64) as u64;

/// True when `bytes` start like a perf.data file (either byte order, file or pipe mode).
pub fn is_perf_data(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC) || bytes.starts_with(MAGIC_SWAPPED)
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// Whether the file-mode header of `b` sets feature bit `bit`.
fn feature_bit(b: &[u8], bit: u32) -> bool {
    u64_at(b, 72 + 8 * (bit as usize / 64)).unwrap_or(0) >> (bit % 64) & 1 == 1
}

/// Checks the header's sections against the file's length before the crate reads them: it
/// allocates what a section's size says, so a corrupt or truncated file must fail here with
/// a message saying what is wrong, not as an allocation of terabytes.
fn check_file_layout(b: &[u8]) -> Result<()> {
    let len = b.len() as u64;
    if len < FILE_HEADER {
        bail!("truncated perf.data: {len} bytes, shorter than its {FILE_HEADER}-byte header");
    }
    let section = |at: usize, what: &str| -> Result<(u64, u64)> {
        let (off, size) = (u64_at(b, at).unwrap_or(0), u64_at(b, at + 8).unwrap_or(0));
        match off.checked_add(size) {
            Some(end) if end <= len => Ok((off, size)),
            _ => bail!(
                "truncated or corrupt perf.data: its {what} section (bytes {off}..{}) lies beyond the end of the file ({len} bytes)",
                off.saturating_add(size)
            ),
        }
    };
    let attr_size = u64_at(b, 16).unwrap_or(0);
    let (attrs_off, attrs) = section(24, "attribute")?;
    if attr_size == 0 || attrs == 0 {
        bail!("corrupt perf.data: it describes no events (attribute size {attr_size}, section {attrs} bytes)");
    }
    if attr_size < ATTR_VERSIONS[0] as u64 {
        // The crate reserves a slot per `attr_size` bytes before reading any: a 1-byte size
        // is ~250 bytes of memory per byte of file.
        bail!(
            "corrupt perf.data: its attribute size {attr_size} is below perf's smallest ({})",
            ATTR_VERSIONS[0]
        );
    }
    let (data_off, data_size) = section(40, "data")?;
    if data_size == 0 {
        bail!("perf.data has an empty data section: the `perf record` that wrote it did not finish (it was killed before it could write its header), or recorded nothing");
    }
    let (types_off, types) = section(56, "event types")?;
    // Without event descriptions the crate reads the events' id lists through the (offset,
    // size) after each attribute: in the old event types section, or in simpleperf's
    // attribute section (whose attr_size includes those 16 bytes).
    let has =
        |bit: u32| u64_at(b, 72 + 8 * (bit as usize / 64)).unwrap_or(0) >> (bit % 64) & 1 == 1;
    if !has(EVENT_DESC) {
        if types != 0 {
            check_id_sections(b, types_off, types, attr_size)?;
        } else if has(SIMPLEPERF_META_INFO) {
            check_id_sections(b, attrs_off, attrs, attr_size - 16)?;
        }
    }
    // The feature sections' table follows the data: one (offset, size) per bit set.
    let bits: u32 = (0..4)
        .map(|i| u64_at(b, 72 + 8 * i).unwrap_or(0).count_ones())
        .sum();
    let table = data_off + data_size;
    // The set feature bits in ascending order: the i-th (offset, size) of the table belongs to
    // the i-th set bit.
    let set: Vec<u32> = (0..256u32)
        .filter(|&bit| u64_at(b, 72 + 8 * (bit as usize / 64)).unwrap_or(0) >> (bit % 64) & 1 == 1)
        .collect();
    debug_assert_eq!(set.len() as u32, bits);
    for (i, &bit) in set.iter().enumerate() {
        let at = table + 16 * i as u64;
        if at + 16 > len {
            bail!("truncated perf.data: the table of feature sections at byte {table} runs past the end of the file ({len} bytes)");
        }
        let (off, size) = section(at as usize, "feature")?;
        // `off + size <= len` was checked just above, so these fit in usize.
        let body = &b[off as usize..(off + size) as usize];
        check_feature(bit, body)?;
    }
    Ok(())
}

/// Walks a sequence of (attribute, id section) entries as linux-perf-data reads them (each
/// attribute by its own size, see [`ATTR_VERSIONS`], then to `attr_size`) and checks that each
/// id section lies inside the file: the crate reserves room for `size / 8` ids before reading.
/// Where the crate would itself stop with an error first, so does the walk (without one).
fn check_id_sections(b: &[u8], off: u64, size: u64, attr_size: u64) -> Result<()> {
    let len = b.len() as u64;
    let count = size / (attr_size + 16);
    let mut at = off;
    for _ in 0..count {
        let Some(own) = usize::try_from(at + 4)
            .ok()
            .and_then(|i| b.get(i..i.checked_add(4)?))
            .map(|x| u64::from(u32::from_le_bytes([x[0], x[1], x[2], x[3]])))
        else {
            return Ok(());
        };
        if own < ATTR_VERSIONS[0] as u64 || own > attr_size {
            return Ok(());
        }
        at += attr_read(own) + (attr_size - own);
        let (Some(ids_off), Some(ids_size)) = (
            usize::try_from(at).ok().and_then(|i| u64_at(b, i)),
            usize::try_from(at + 8).ok().and_then(|i| u64_at(b, i)),
        ) else {
            return Ok(());
        };
        if ids_off.checked_add(ids_size).is_none_or(|end| end > len) {
            bail!("corrupt perf.data: an event's id list ({ids_size} bytes at byte {ids_off}) lies beyond the end of the file ({len} bytes)");
        }
        at += 16;
    }
    Ok(())
}

/// How many bytes linux-perf-event-reader consumes for an attribute claiming `own` bytes:
/// whole field groups up to the largest version `own` reaches, all of it from the last on.
fn attr_read(own: u64) -> u64 {
    let last = ATTR_VERSIONS[ATTR_VERSIONS.len() - 1] as u64;
    if own >= last {
        return own;
    }
    ATTR_VERSIONS
        .iter()
        .map(|&v| v as u64)
        .filter(|&v| v <= own)
        .max()
        .unwrap_or(own)
}

/// The pipe-mode counterpart of [`check_file_layout`]: in a `perf record -o -` stream the
/// features come as `PERF_RECORD_HEADER_FEATURE` records before the first event, and the crate
/// parses them (and allocates what they say) when the stream is opened.
fn check_pipe_layout(b: &[u8]) -> Result<()> {
    const HEADER_ATTR: u32 = 64;
    const HEADER_FEATURE: u32 = 80;
    let mut at = PIPE_HEADER as usize;
    while let Some(h) = b.get(at..at + 8) {
        let ty = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let size = usize::from(u16::from_le_bytes([h[6], h[7]]));
        if size < 8 || !matches!(ty, HEADER_ATTR | HEADER_FEATURE) {
            // The first event ends the metadata (a bad size is the reader's error to report).
            break;
        }
        if ty == HEADER_FEATURE {
            let Some(body) = b.get(at + 8..at + size) else {
                break;
            };
            if let Some(id) = u64_at(body, 0) {
                // The crate keeps the low 32 bits of the u64 feature id (`as u32`), so the
                // check must too: 0x..._0000_000b is the command line to it.
                check_feature(id as u32, &body[8..])?;
            }
        }
        at += size;
    }
    Ok(())
}

/// Walks the records in `b[from..to]` (each a u32 type, u16 misc, u16 size header) and checks
/// every `PERF_RECORD_AUXTRACE`: its trace data follows the record, `size` bytes that the
/// crate allocates before reading, so a forged size must fail here against the bytes there are.
fn check_auxtrace(b: &[u8], from: usize, to: usize) -> Result<()> {
    const AUXTRACE: u32 = 71;
    const TRACING_DATA: u32 = 66;
    let to = to.min(b.len());
    let mut at = from;
    while at + 8 <= to {
        let ty = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let size = usize::from(u16::from_le_bytes([b[at + 6], b[at + 7]]));
        if size < 8 {
            // The reader reports a bad record size itself.
            break;
        }
        if ty == TRACING_DATA {
            // Pipe mode's tracing data also trails its record; past it the walk would need
            // its length too, and an AUXTRACE record after it is not checked.
            break;
        }
        let mut next = at + size;
        if ty == AUXTRACE {
            let extra = u64_at(b, at + 8).unwrap_or(0);
            next = usize::try_from(extra)
                .ok()
                .and_then(|e| next.checked_add(e))
                .filter(|&n| n <= to)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "corrupt perf.data: an AUXTRACE record at byte {at} claims {extra} bytes of trace data past the end of its section"
                    )
                })?;
        }
        at = next;
    }
    Ok(())
}

/// perf's feature bits whose sections are one `perf_header_string` (u32 length, bytes).
const STRING_FEATURES: [(u32, &str); 6] = [
    (3, "hostname"),
    (4, "OS release"),
    (5, "perf version"),
    (6, "architecture"),
    (8, "CPU description"),
    (9, "CPU id"),
];
/// `HEADER_CMDLINE`: perf's argument vector, a u32 count of `perf_header_string`s.
const CMDLINE: u32 = 11;
/// `HEADER_EVENT_DESC`: the events' attributes, names and ids.
const EVENT_DESC: u32 = 12;
/// The sizes of `perf_event_attr`'s versions (`PERF_ATTR_SIZE_VER0..=VER7`): an attribute is
/// read field group by field group up to the largest version its size reaches.
const ATTR_VERSIONS: [usize; 8] = [64, 72, 80, 96, 104, 112, 120, 128];
/// simpleperf's feature of meta information (its event names).
const SIMPLEPERF_META_INFO: u32 = 129;

/// Checks the counts and lengths inside the feature sections the crate parses (the event
/// descriptions when the file is opened; the strings when rprof asks for them) against the
/// section's own size: the crate allocates what they say (a forged u32 length is a 4 GiB
/// allocation) before it finds the bytes missing.
fn check_feature(bit: u32, body: &[u8]) -> Result<()> {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            body.get(at..at.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    if let Some((_, what)) = STRING_FEATURES.iter().find(|(b, _)| *b == bit) {
        let n = u32_at(0).unwrap_or(0) as usize;
        if n > body.len().saturating_sub(4) {
            bail!(
                "corrupt perf.data: its {what} string claims {n} bytes in a section of {}",
                body.len()
            );
        }
    } else if bit == CMDLINE {
        let bad = || {
            anyhow::anyhow!(
                "corrupt perf.data: its command line (HEADER_CMDLINE) claims more than its {} bytes",
                body.len()
            )
        };
        let n = u32_at(0).ok_or_else(bad)?;
        let mut at = 4usize;
        for _ in 0..n {
            let len = u32_at(at).ok_or_else(bad)? as usize;
            at = (at + 4)
                .checked_add(len)
                .filter(|&a| a <= body.len())
                .ok_or_else(bad)?;
        }
    } else if bit == EVENT_DESC {
        let bad = || {
            anyhow::anyhow!(
                "corrupt perf.data: its event descriptions (HEADER_EVENT_DESC) claim more than their {} bytes",
                body.len()
            )
        };
        let nr = u32_at(0).ok_or_else(bad)?;
        let attr_size = u32_at(4).ok_or_else(bad)? as usize;
        // The crate reserves room for `nr` events before it reads the first; each takes at
        // least a version-0 attribute and two u32s of the section.
        if nr as usize > body.len() / (ATTR_VERSIONS[0] + 8) {
            return Err(bad());
        }
        let mut at = 8usize;
        for _ in 0..nr {
            // The crate reads each attribute by the size the attribute itself claims, in the
            // steps of perf's attribute versions, then skips up to `attr_size`: the ids count
            // is read where that leaves it, which is not always `attr_size` further on.
            let Some(own) = u32_at(at + 4).map(|s| s as usize) else {
                return Err(bad());
            };
            if !(ATTR_VERSIONS[0]..=attr_size).contains(&own) {
                // Smaller than perf's first version or larger than its slot: the crate
                // refuses it before reading on.
                return Ok(());
            }
            let read = attr_read(own as u64) as usize;
            at = at.checked_add(read + (attr_size - own)).ok_or_else(bad)?;
            let ids = u32_at(at).ok_or_else(bad)? as usize;
            let name = u32_at(at + 4).ok_or_else(bad)? as usize;
            at = (at + 8)
                .checked_add(name)
                .and_then(|a| a.checked_add(ids.checked_mul(8)?))
                .filter(|&a| a <= body.len())
                .ok_or_else(bad)?;
        }
    }
    Ok(())
}

/// True for a regular file (following links). Paths in a perf.data file are whatever its
/// writer put there: a FIFO would block `open`, a device never end, so only regular files
/// are ever opened for symbols or unwind tables.
fn is_regular(path: &str) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// The build-id of the ELF file at `path`, None when it cannot be read or has none.
fn file_build_id(path: &str) -> Option<Vec<u8>> {
    use object::Object;
    // Opened without blocking (a FIFO put there meanwhile), then checked to be a file.
    let f = super::detect::open_nonblocking(path).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    // SAFETY: read-only mapping of a file opened for reading; the same accepted risk as every
    // mmap-based reader if another process truncates it meanwhile.
    let m = unsafe { memmap2::Mmap::map(&f) }.ok()?;
    let obj = object::File::parse(&*m).ok()?;
    obj.build_id().ok().flatten().map(<[u8]>::to_vec)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Where to read a file recorded as `path` with `build_id`: the path itself when its build-id
/// matches, else perf's build-id cache, else the system's debug files; None when no file
/// with that build-id is here.
fn locate_file(path: &str, build_id: &[u8]) -> Option<String> {
    if file_build_id(path).as_deref() == Some(build_id) {
        return Some(path.to_string());
    }
    if build_id.len() < 2 {
        return None;
    }
    let h = hex(build_id);
    let (dir, rest) = h.split_at(2);
    let mut candidates = Vec::new();
    if let Some(home) = std::env::var_os("HOME") {
        let home = home.to_string_lossy().into_owned();
        candidates.push(format!("{home}/.debug/.build-id/{dir}/{rest}/elf"));
        candidates.push(format!("{home}/.debug/.build-id/{dir}/{rest}/debug"));
    }
    candidates.push(format!("/usr/lib/debug/.build-id/{dir}/{rest}.debug"));
    candidates
        .into_iter()
        .find(|c| file_build_id(c).as_deref() == Some(build_id))
}

/// [`locate_file`] for a build-id as perf records it: its table pads build-ids to 20 bytes
/// with zeros, so a shorter one (an MD5 or xxhash build-id) is tried without the padding too.
fn locate_recorded(path: &str, b: &[u8]) -> Option<String> {
    locate_file(path, b).or_else(|| {
        let n = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
        (n != b.len()).then(|| locate_file(path, &b[..n])).flatten()
    })
}

/// The running kernel's build-id, from `/sys/kernel/notes` (the kernel's ELF notes).
fn running_kernel_build_id() -> Option<Vec<u8>> {
    let notes = std::fs::read("/sys/kernel/notes").ok()?;
    let word = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(notes.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let mut at = 0usize;
    while at + 12 <= notes.len() {
        let (namesz, descsz, ty) = (word(at)?, word(at + 4)?, word(at + 8)?);
        let name_at = at + 12;
        let desc_at = name_at.checked_add(namesz.checked_add(3)? & !3)?;
        let next = desc_at.checked_add(descsz.checked_add(3)? & !3)?;
        if ty == 3 && notes.get(name_at..name_at + namesz)? == b"GNU\0" {
            return notes.get(desc_at..desc_at + descsz).map(<[u8]>::to_vec);
        }
        at = next;
    }
    None
}

/// perf's copy of the recorded kernel's kallsyms in its build-id cache
/// (`~/.debug/[kernel.kallsyms]/BUILD-ID/kallsyms`, written by `perf record`), when there is
/// one: the recorded kernel's own symbols, usable on another kernel too, and a plain file read
/// in milliseconds where `/proc/kallsyms` is formatted by the kernel on every read.
fn cached_kallsyms(build_id: &[u8]) -> Option<std::path::PathBuf> {
    if build_id.is_empty() || build_id.iter().all(|&b| b == 0) {
        return None;
    }
    let home = std::env::var_os("HOME")?;
    let p = std::path::Path::new(&home)
        .join(".debug/[kernel.kallsyms]")
        .join(hex(build_id))
        .join("kallsyms");
    std::fs::metadata(&p)
        .is_ok_and(|m| m.is_file())
        .then_some(p)
}

/// What the reader found besides the samples, for the summary.
#[derive(Default)]
struct Facts {
    lost: u64,
    unparsed: u64,
    /// Samples per attribute index.
    samples: HashMap<usize, u64>,
    /// The recorded `_text` address of the kernel, from its MMAP record.
    kernel_text: Option<u64>,
    first_time: Option<u64>,
    last_time: u64,
}

/// Reads a perf.data file (file or pipe mode) into a symbolized profile of one event:
/// `event` (as `--event` names it) or the first event with samples.
pub fn load(bytes: &[u8], name: &str, event: Option<&str>) -> Result<Profile> {
    load_with(bytes, name, event, true)
}

/// [`load`], with `use_files` false reading nothing but `bytes`: no recorded binary, debug
/// file, kallsyms or vdso is opened (frames stay `module+offset`, DWARF stacks stop at their
/// first frame) and no summary is printed. For fuzzing the reader on its own.
pub fn load_with(
    bytes: &[u8],
    name: &str,
    event: Option<&str>,
    use_files: bool,
) -> Result<Profile> {
    load_full(bytes, name, event, use_files, false)
}

/// [`load_with`], with `names_only` true for a view that shows function names only (a flame
/// graph): the DWARF line tables of the recorded files are not read, so an address's own
/// frame carries no source file and line; names and inlined frames are the same.
pub fn load_full(
    bytes: &[u8],
    name: &str,
    event: Option<&str>,
    use_files: bool,
    names_only: bool,
) -> Result<Profile> {
    if bytes.starts_with(MAGIC_SWAPPED) {
        bail!("{name}: a big-endian perf.data (recorded on a big-endian machine): not supported, rprof reads little-endian x86_64 recordings");
    }
    let header_size = u64_at(bytes, 8).with_context(|| {
        format!(
            "{name}: truncated perf.data: {} bytes, no header",
            bytes.len()
        )
    })?;
    let pipe = match header_size {
        FILE_HEADER => false,
        PIPE_HEADER => true,
        n => bail!("{name}: unsupported perf.data header of {n} bytes (rprof reads the {FILE_HEADER}-byte file header and the {PIPE_HEADER}-byte pipe header of perf 3.x to 6.x)"),
    };
    if pipe {
        check_pipe_layout(bytes).with_context(|| name.to_string())?;
        check_auxtrace(bytes, PIPE_HEADER as usize, bytes.len())
            .with_context(|| name.to_string())?;
    } else {
        check_file_layout(bytes).with_context(|| name.to_string())?;
        // check_file_layout made sure the data section lies inside the file.
        let off = u64_at(bytes, 40).unwrap_or(0) as usize;
        let size = u64_at(bytes, 48).unwrap_or(0) as usize;
        check_auxtrace(bytes, off, off.saturating_add(size)).with_context(|| name.to_string())?;
    }
    let attrs_of = |r: &PerfFileReader<Cursor<&[u8]>>| -> Vec<String> {
        r.perf_file
            .event_attributes()
            .iter()
            .enumerate()
            .map(|(i, a)| a.name().map_or_else(|| format!("event{i}"), str::to_string))
            .collect()
    };
    let open = || -> Result<PerfFileReader<Cursor<&[u8]>>> {
        let r = if pipe {
            PerfFileReader::parse_pipe(Cursor::new(bytes))
        } else {
            PerfFileReader::parse_file(Cursor::new(bytes))
        };
        r.map_err(|e| anyhow::anyhow!("{name}: unreadable perf.data: {e}"))
    };
    let reader = open()?;
    if let Ok(Some(arch)) = reader.perf_file.arch() {
        if arch != "x86_64" {
            bail!("{name}: recorded on {arch}: not supported, rprof reads x86_64 recordings");
        }
    }
    let names = attrs_of(&reader);
    // perf adds `dummy` events (for side-band records) that never carry samples.
    let real: Vec<String> = names
        .iter()
        .filter(|n| event_base(n) != "dummy")
        .cloned()
        .collect();
    let chosen = match event {
        Some(want) => {
            let e = resolve_event(want, &real).map_err(|m| anyhow::anyhow!("{name}: {m}"))?;
            names.iter().position(|n| n == e)
        }
        None => names.iter().position(|n| event_base(n) != "dummy"),
    }
    .unwrap_or(0);
    let bad = || format!("{name}: bad perf.data");
    // The build-id table lists the files the samples hit (perf writes it for those): their
    // symbols and the kernel's start loading now, on other threads, while the records are
    // read and the stacks unwound.
    let build_ids = reader.perf_file.build_ids().unwrap_or_default();
    let kernel_build_id = build_ids.get(&DsoKey::Kernel).map(|d| d.build_id.clone());
    let os_release = reader
        .perf_file
        .os_release()
        .ok()
        .flatten()
        .map(str::to_string);
    let cached = if use_files {
        kernel_build_id.as_deref().and_then(cached_kallsyms)
    } else {
        None
    };
    // Kernel symbols: the recorded kernel's own kallsyms from perf's build-id cache, else this
    // machine's only for the kernel the file was recorded on.
    let kernel_symbols = use_files
        && (cached.is_some()
            || match (&kernel_build_id, running_kernel_build_id()) {
                (Some(rec), Some(run)) => *rec == run,
                // No build-id recorded (perf record --no-buildid): the same release will have to do.
                _ => {
                    let here =
                        std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
                    os_release.as_deref() == Some(here.trim())
                }
            });
    let mut sym = Symbolizer::new();
    sym.set_names_only(names_only);
    if let Some(k) = cached {
        sym.set_kallsyms_file(k);
    }
    if use_files {
        let files: Vec<String> = build_ids
            .iter()
            .filter(|(k, _)| matches!(k, DsoKey::User { .. }))
            .filter_map(|(_, d)| {
                let path = String::from_utf8_lossy(&d.path);
                (!d.build_id.iter().all(|&x| x == 0))
                    .then(|| locate_recorded(&path, &d.build_id))
                    .flatten()
            })
            .collect();
        let kernel = kernel_symbols && kernel_build_id.is_some();
        sym.preload(files, kernel);
    }
    let t_records = std::time::Instant::now();
    // A file-mode recording's records are read where they lie (perf_data_records); other
    // files through the crate's iterator.
    let direct = if pipe {
        None
    } else {
        super::perf_data_records::file_records(
            bytes,
            &reader.perf_file,
            feature_bit(bytes, SIMPLEPERF_META_INFO),
        )
        .with_context(bad)?
    };
    let first =
        read_records(reader, bytes, direct.as_ref(), chosen, use_files).with_context(bad)?;
    // Without --event: when the first event had no samples but another had, show that one.
    let (chosen, (mut collected, facts, unwinder, meta)) = match first.1.samples.keys().min() {
        Some(&other) if event.is_none() && first.0.samples == 0 && other != chosen => (
            other,
            read_records(open()?, bytes, direct.as_ref(), other, use_files).with_context(bad)?,
        ),
        _ => (chosen, first),
    };
    collected.lost = facts.lost;
    let shown = names.get(chosen).cloned().unwrap_or_default();

    let offline = Offline {
        files: meta.files.clone(),
        kernel_symbols,
        kernel_text: facts.kernel_text,
        perf_maps: use_files,
    };
    let start = facts.first_time.unwrap_or(0);
    let t_build = std::time::Instant::now();
    let (mut p, stats, sym) = build::build_offline(&collected, start, &offline, sym);
    if use_files {
        // A file is read once per run and its symbols are not needed again: freeing every
        // module's DWARF tables (hundreds of thousands of small allocations) took a twentieth
        // of a perf.data read, for memory the process gives back when it exits moments later.
        // Reading only the input's bytes (the fuzz targets, run many times in one process)
        // opens no file and frees as usual.
        std::mem::forget(sym);
    } else {
        drop(sym);
    }
    // RPROF_TIMINGS=1: where a perf.data read spends its time, for the benchmarks.
    if super::detect::timings() {
        eprintln!(
            "rprof-timing: perf.data records+unwind {:.1} ms, build+symbolize {:.1} ms",
            (t_build - t_records).as_secs_f64() * 1e3,
            t_build.elapsed().as_secs_f64() * 1e3
        );
    }
    fill_meta(
        &mut p, &meta, &facts, &stats, &names, &shown, name, &collected,
    );
    if use_files {
        summarize(
            name,
            &meta,
            &facts,
            &stats,
            &collected,
            unwinder.as_ref(),
            kernel_symbols,
        );
    }
    Ok(p)
}

/// Header facts of the file.
#[derive(Default, Clone)]
struct FileMeta {
    cmdline: Vec<String>,
    hostname: Option<String>,
    os_release: Option<String>,
    kernel_build_id: Option<Vec<u8>>,
    /// Recorded path -> file to open (None: no file with its build-id here).
    files: HashMap<String, Option<String>>,
    /// Paths whose build-id did not match any file here, with why.
    missing: Vec<String>,
    dwarf: bool,
    frequency: u64,
    fixed_period: Option<u64>,
}

/// Reads every record, keeping the samples of attribute `chosen`; returns the events, the
/// facts, the DWARF unwinder when samples carried stacks, and the header facts.
/// `PERF_RECORD_MISC_MMAP_BUILD_ID`: the MMAP2 record carries a build-id (u8 length, padding,
/// 20 bytes) in place of the device and inode numbers.
const MISC_MMAP_BUILD_ID: u16 = 1 << 14;

fn read_records(
    reader: PerfFileReader<Cursor<&[u8]>>,
    bytes: &[u8],
    direct: Option<&DirectRecords>,
    chosen: usize,
    use_files: bool,
) -> Result<(Collected, Facts, Option<LiveUnwinder>, FileMeta)> {
    let PerfFileReader {
        mut perf_file,
        mut record_iter,
    } = reader;
    // Every view sums periods in u64: a file whose periods wrap it is corrupt (checked here,
    // before the builder and the views add them up).
    let mut total_weight = 0u64;
    let mut meta = FileMeta {
        cmdline: perf_file
            .cmdline()
            .ok()
            .flatten()
            .map(|v| v.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        hostname: perf_file.hostname().ok().flatten().map(str::to_string),
        os_release: perf_file.os_release().ok().flatten().map(str::to_string),
        ..FileMeta::default()
    };
    let build_ids = perf_file.build_ids().unwrap_or_default();
    meta.kernel_build_id = build_ids.get(&DsoKey::Kernel).map(|d| d.build_id.clone());
    if let Some(a) = perf_file.event_attributes().get(chosen) {
        let attr = a.attributes();
        match attr.sampling_policy {
            SamplingPolicy::Frequency(f) => meta.frequency = f,
            SamplingPolicy::Period(n) => meta.fixed_period = Some(n.get()),
            SamplingPolicy::NoSampling => {}
        }
        meta.dwarf = attr.sample_regs_user != 0 && attr.sample_stack_user != 0;
    }
    let mut unwinder = meta.dwarf.then(|| LiveUnwinder::offline(false));
    let mut out = Collected::default();
    let mut facts = Facts::default();
    let mut chain: Vec<u64> = Vec::with_capacity(256);
    // Resolves a recorded path once: Some(open path) or None (not to be used).
    let mut resolve =
        |meta: &mut FileMeta, path: &str, mmap_bid: Option<&[u8]>| -> Option<String> {
            if let Some(r) = meta.files.get(path) {
                return r.clone();
            }
            if !use_files {
                meta.files.insert(path.to_string(), None);
                return None;
            }
            let key = DsoKey::detect(path.as_bytes(), CpuMode::User);
            let bid = mmap_bid.map(<[u8]>::to_vec).or_else(|| {
                key.and_then(|k| build_ids.get(&k))
                    .map(|d| d.build_id.clone())
            });
            let r = match bid {
                // perf pads build-ids to 20 bytes with zeros in its table.
                Some(b) if !b.iter().all(|&x| x == 0) => {
                    let found = locate_recorded(path, &b);
                    if found.is_none() {
                        let why = if std::path::Path::new(path).exists() {
                            "build-id differs"
                        } else {
                            "not found"
                        };
                        meta.missing
                            .push(format!("{path} ({why}; recorded build-id {})", hex(&b)));
                    }
                    found
                }
                // No build-id recorded: the file at the path, if it is a file.
                _ => is_regular(path).then(|| path.to_string()),
            };
            meta.files.insert(path.to_string(), r.clone());
            r
        };
    let mut handle = |attr_index: usize, record: RawEventRecord<'_>| -> Result<()> {
        let time = record.timestamp().unwrap_or(0);
        if record.record_type == RecordType::LOST_SAMPLES {
            // struct { u64 lost; struct sample_id; }
            let b = record.data.as_slice();
            facts.lost += u64_at(&b, 0).unwrap_or(0);
            return Ok(());
        }
        // linux-perf-event-reader asserts (a panic in release builds too) that an MMAP2
        // record's build-id is at most 20 bytes: a forged length is refused here instead.
        if record.record_type == RecordType::MMAP2
            && record.misc & MISC_MMAP_BUILD_ID != 0
            && record.data.as_slice().get(32).is_none_or(|&n| n > 20)
        {
            facts.unparsed += 1;
            return Ok(());
        }
        let parsed = match record.parse() {
            Ok(p) => p,
            Err(_) => {
                facts.unparsed += 1;
                return Ok(());
            }
        };
        match parsed {
            EventRecord::Sample(s) => {
                *facts.samples.entry(attr_index).or_default() += 1;
                if attr_index != chosen {
                    return Ok(());
                }
                let t = s.timestamp.unwrap_or(time);
                facts.first_time = Some(facts.first_time.map_or(t, |f| f.min(t)));
                facts.last_time = facts.last_time.max(t);
                let period = s
                    .period
                    .filter(|&p| p > 0)
                    .or(meta.fixed_period)
                    .unwrap_or(1);
                total_weight = total_weight.checked_add(period).ok_or_else(|| {
                    anyhow::anyhow!(
                        "corrupt perf.data: its sample periods add up to more than 2^64"
                    )
                })?;
                let pid = s.pid.unwrap_or(-1) as u32;
                let tid = s.tid.unwrap_or(-1) as u32;
                sample_chain(&s, &mut chain);
                let (id, fallback) = match unwinder.as_mut() {
                    Some(u) => {
                        let regs: Vec<u64> = match &s.user_regs {
                            Some(r) => match (
                                r.get(PERF_REG_X86_BP),
                                r.get(PERF_REG_X86_SP),
                                r.get(PERF_REG_X86_IP),
                            ) {
                                (Some(bp), Some(sp), Some(ip)) => vec![bp, sp, ip],
                                _ => Vec::new(),
                            },
                            None => Vec::new(),
                        };
                        // The stack bytes are unwound where they lie in the file (a record
                        // read from a file is one piece, borrowed); only the dynamic size the
                        // kernel filled counts.
                        let stack = s.user_stack.as_ref().map(|(data, _)| data.as_slice());
                        let dyn_size = s.user_stack.as_ref().map_or(0, |(_, n)| *n);
                        let stack: &[u8] = match &stack {
                            Some(all) => {
                                let n = usize::try_from(dyn_size).unwrap_or(0).min(all.len());
                                &all[..n]
                            }
                            None => &[],
                        };
                        let c = u.unwind_sample(pid, &regs, stack, &chain);
                        (out.intern_chain(c.primary), None)
                    }
                    None => (out.intern_chain(&chain), None),
                };
                out.samples += 1;
                out.push(
                    t,
                    RawEvent::Sample {
                        pid,
                        tid,
                        chain: id,
                        fallback,
                        period,
                        // A file's samples stay one by one, with their exact times.
                        count: 1,
                        // Without PERF_SAMPLE_CPU the CPU is unknown: u16::MAX leaves the
                        // column out of the profile.
                        cpu: s
                            .cpu
                            .and_then(|c| u16::try_from(c).ok())
                            .unwrap_or(u16::MAX),
                        // One event is read at a time (the chosen attribute).
                        event: 0,
                    },
                );
            }
            EventRecord::Mmap(m) => {
                let path = String::from_utf8_lossy(&m.path.as_slice()).into_owned();
                if m.pid == -1 || m.cpu_mode == CpuMode::Kernel {
                    // The kernel's own mapping carries `_text`'s address in pgoff.
                    if path.starts_with("[kernel.kallsyms]") {
                        facts.kernel_text = Some(m.page_offset);
                    }
                    return Ok(());
                }
                if !m.is_executable {
                    return Ok(());
                }
                push_mmap(
                    &mut out,
                    &mut unwinder,
                    &mut meta,
                    &mut resolve,
                    time,
                    m.pid as u32,
                    Mapping {
                        start: m.address,
                        end: m.address.saturating_add(m.length),
                        pgoff: m.page_offset,
                        path,
                        ino: 0,
                    },
                    None,
                );
            }
            EventRecord::Mmap2(m) => {
                if m.protection & libc::PROT_EXEC as u32 == 0 || m.pid == -1 {
                    return Ok(());
                }
                let path = String::from_utf8_lossy(&m.path.as_slice()).into_owned();
                let (ino, bid) = match &m.file_id {
                    Mmap2FileId::InodeAndVersion(i) => (i.inode, None),
                    Mmap2FileId::BuildId(b) => (0, Some(b.clone())),
                };
                push_mmap(
                    &mut out,
                    &mut unwinder,
                    &mut meta,
                    &mut resolve,
                    time,
                    m.pid as u32,
                    Mapping {
                        start: m.address,
                        end: m.address.saturating_add(m.length),
                        pgoff: m.page_offset,
                        path,
                        ino,
                    },
                    bid.as_deref(),
                );
            }
            EventRecord::Comm(c) => {
                if c.is_execve {
                    if let Some(u) = unwinder.as_mut() {
                        u.exec(c.pid as u32, time);
                    }
                }
                out.push(
                    time,
                    RawEvent::Comm {
                        pid: c.pid as u32,
                        tid: c.tid as u32,
                        name: String::from_utf8_lossy(&c.name.as_slice()).into(),
                        exec: c.is_execve,
                    },
                );
            }
            EventRecord::Fork(f) => {
                if f.pid != f.ppid {
                    if let Some(u) = unwinder.as_mut() {
                        u.fork(f.ppid as u32, f.pid as u32, time);
                    }
                }
                out.push(
                    time,
                    RawEvent::Fork {
                        pid: f.pid as u32,
                        ppid: f.ppid as u32,
                        tid: f.tid as u32,
                        ptid: f.ptid as u32,
                    },
                );
            }
            EventRecord::Exit(x) if x.pid == x.tid => {
                if let Some(u) = unwinder.as_mut() {
                    u.exit(x.pid as u32);
                }
            }
            EventRecord::Lost(l) => facts.lost += l.count,
            _ => {}
        }
        Ok(())
    };
    match direct {
        // The records where they lie in the file (see perf_data_records).
        Some(d) => d.for_each(bytes, &mut handle)?,
        None => loop {
            let rec = match record_iter.next_record(&mut perf_file) {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            };
            if let PerfFileRecord::EventRecord { attr_index, record } = rec {
                handle(attr_index, record)?;
            }
        },
    }
    Ok((out, facts, unwinder, meta))
}

/// Records an executable mapping for the builder (recorded path) and the unwinder (the file
/// to read, when there is one).
#[allow(clippy::too_many_arguments)]
fn push_mmap(
    out: &mut Collected,
    unwinder: &mut Option<LiveUnwinder>,
    meta: &mut FileMeta,
    resolve: &mut impl FnMut(&mut FileMeta, &str, Option<&[u8]>) -> Option<String>,
    time: u64,
    pid: u32,
    map: Mapping,
    build_id: Option<&[u8]>,
) {
    let file = map.path.starts_with('/') && !map.is_anonymous();
    if !file && !map.is_anonymous() && map.path != "[vdso]" {
        // `[vsyscall]`, `memfd:…`, a relative path: nothing rprof should open by that name.
        meta.files.insert(map.path.clone(), None);
    }
    if let Some(u) = unwinder.as_mut() {
        if !file {
            u.mmap(pid, &map);
        } else if let Some(open) = resolve(meta, &map.path, build_id) {
            let mut m = map.clone();
            m.path = open;
            u.mmap(pid, &m);
        }
    } else if file {
        resolve(meta, &map.path, build_id);
    }
    out.push(
        time,
        RawEvent::Mmap {
            pid,
            map: Box::new(map),
        },
    );
}

/// The sample's callchain in the kernel's format; a sample without one becomes a chain of
/// its IP in the right context.
fn sample_chain(s: &SampleRecord<'_>, chain: &mut Vec<u64>) {
    chain.clear();
    match &s.callchain {
        Some(c) if !c.is_empty() => {
            for i in 0..c.len() {
                if let Some(v) = c.get(i) {
                    chain.push(v);
                }
            }
        }
        _ => {
            if let Some(ip) = s.ip {
                let kernel = matches!(s.cpu_mode, CpuMode::Kernel | CpuMode::GuestKernel);
                chain.push(if kernel {
                    PERF_CONTEXT_KERNEL
                } else {
                    PERF_CONTEXT_USER
                });
                chain.push(ip);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn fill_meta(
    p: &mut Profile,
    meta: &FileMeta,
    facts: &Facts,
    stats: &BuildStats,
    names: &[String],
    shown: &str,
    name: &str,
    collected: &Collected,
) {
    let m = &mut p.meta;
    m.command = meta.cmdline.clone();
    m.target = format!("perf.data {name}");
    m.event = shown.to_string();
    m.events = names
        .iter()
        .filter(|n| event_base(n) != "dummy")
        .cloned()
        .collect();
    m.unit = if facts.samples.is_empty() {
        "samples".into()
    } else {
        event_unit(shown)
    };
    m.frequency = meta.frequency;
    m.duration_ns = facts
        .last_time
        .saturating_sub(facts.first_time.unwrap_or(facts.last_time));
    m.lost = collected.lost;
    m.truncated = stats.truncated;
    m.unsymbolized = stats.unsymbolized;
    m.call_graph = if meta.dwarf { "dwarf" } else { "fp" }.into();
    if let (Some(h), Some(k)) = (&meta.hostname, &meta.os_release) {
        m.host = format!("{h} (Linux {k})");
    }
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}

/// The data-quality line and notes on stderr, as `rprof record` prints them.
fn summarize(
    name: &str,
    meta: &FileMeta,
    facts: &Facts,
    stats: &BuildStats,
    collected: &Collected,
    unwinder: Option<&LiveUnwinder>,
    kernel_symbols: bool,
) {
    let total = stats.samples + collected.lost;
    eprintln!(
        "rprof: {name}: {} samples, {} lost ({:.2}%), {} truncated stacks ({:.2}%), {} unsymbolized frames ({:.2}%), {} threads in {} processes",
        crate::render::thousands(stats.samples),
        crate::render::thousands(collected.lost),
        pct(collected.lost, total),
        crate::render::thousands(stats.truncated),
        pct(stats.truncated, stats.samples),
        crate::render::thousands(stats.unsymbolized),
        pct(stats.unsymbolized, stats.frames),
        stats.threads,
        stats.processes,
    );
    if !meta.missing.is_empty() {
        let shown: Vec<&str> = meta.missing.iter().take(3).map(String::as_str).collect();
        let more = meta.missing.len().saturating_sub(shown.len());
        eprintln!(
            "rprof: note: not used, no file with the recorded build-id here (also looked in ~/.debug/.build-id and /usr/lib/debug/.build-id): {}{}; frames in it are left as module+offset",
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
    if !kernel_symbols && stats.samples > 0 {
        eprintln!("rprof: note: the recording's kernel is not the running one (build-id or release differs): kernel frames are left unnamed");
    }
    if facts.unparsed > 0 {
        eprintln!(
            "rprof: warning: {} records of {name} could not be parsed and were skipped",
            crate::render::thousands(facts.unparsed)
        );
    }
    if let Some(u) = unwinder {
        let s = &u.stats;
        if s.stopped_early > 0 {
            eprintln!(
                "rprof: dwarf unwinding: {} samples, stopped early: {} ({} at the end of the stack copy, {} in code without unwind info)",
                crate::render::thousands(s.unwound),
                crate::render::thousands(s.stopped_early),
                crate::render::thousands(s.stack_exhausted),
                crate::render::thousands(s.no_unwind_info),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(data: (u64, u64)) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        for v in [FILE_HEADER, 136, 104, 136, data.0, data.1, 0, 0, 0, 0, 0, 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    #[test]
    fn layout_errors_name_the_problem() {
        let mut b = header((240, 1000));
        b.resize(240, 0);
        let e = check_file_layout(&b).expect_err("data beyond the end");
        assert!(e.to_string().contains("data section"), "{e}");
        let mut b = header((240, 0));
        b.resize(400, 0);
        let e = check_file_layout(&b).expect_err("empty data");
        assert!(e.to_string().contains("did not finish"), "{e}");
        let e = check_file_layout(&b[..50]).expect_err("short");
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    #[test]
    fn foreign_endian_and_odd_headers_are_refused() {
        let mut b = MAGIC_SWAPPED.to_vec();
        b.extend_from_slice(&[0u8; 200]);
        let e = load(&b, "'x'", None).expect_err("big-endian");
        assert!(e.to_string().contains("big-endian"), "{e}");
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&77u64.to_le_bytes());
        b.extend_from_slice(&[0u8; 200]);
        let e = load(&b, "'x'", None).expect_err("odd header");
        assert!(e.to_string().contains("header of 77 bytes"), "{e}");
    }
}
