//! The rprof data file: a self-contained, compressed, columnar encoding of a [`Profile`].
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! 0   8  magic  "RPROFDAT"
//! 8   4  format version (u32)
//! 12  4  flags, 0 (reserved)
//! 16  8  length of the body before compression (u64)
//! 24  8  length of the compressed body (u64)
//! 32  4  CRC-32 of the compressed body
//! 36  4  CRC-32 of bytes 0..36
//! 40  …  body, deflate-compressed
//! ```
//!
//! The body is a sequence of sections, each a set of columns of LEB128 varints, so that ids
//! and small deltas take one or two bytes and compress well. Every id read back is checked
//! against the table it points into; a stack's parent must precede it, which rules out cycles.
//! Both checksums and the exact body length make truncation and bit flips errors, never a
//! silently different profile.

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use thiserror::Error;

use super::{
    Frame, FrameId, Metadata, Module, ModuleId, Pid, Process, Profile, Sample, StackId, StackNode,
    StrId, Thread, ThreadIdx, Tid,
};

/// First eight bytes of every rprof data file.
pub const MAGIC: &[u8; 8] = b"RPROFDAT";
/// The format version this build writes and the newest it reads.
/// Version 2 added the events present and the weight unit to the metadata; version 3 the CPU
/// of each sample and, for several events recorded together, each sample's event; version 4
/// the number of samples each row stands for (a recording merges identical samples), written
/// only when some row stands for more than one. Older files still read (one sample a row).
pub const VERSION: u32 = 4;
const HEADER_LEN: usize = 40;
/// Upper bound on the decompressed body, so a forged length cannot exhaust memory.
const MAX_BODY: u64 = 16 << 30;
/// Deflate's largest expansion (a 258-byte match in at most 2 bits, plus block overhead).
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Why a data file could not be read.
#[derive(Debug, Error)]
pub enum DataFileError {
    /// The file does not start with the rprof magic.
    #[error("not an rprof data file (bad magic)")]
    NotRprof,
    /// Written by a newer rprof.
    #[error("data file format version {0} is newer than this rprof supports (version {VERSION}); upgrade rprof")]
    NewerVersion(u32),
    /// Shorter than its header says.
    #[error("data file is truncated: {0}")]
    Truncated(String),
    /// Checksum mismatch or inconsistent content.
    #[error("data file is corrupted: {0}")]
    Corrupt(String),
    /// An I/O error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Returns true when `bytes` starts with the data file magic.
pub fn is_data_file(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && &bytes[..8] == MAGIC
}

/// Encodes `profile` into the file format.
pub fn encode(profile: &Profile) -> Vec<u8> {
    let mut w = Enc::default();
    encode_body(profile, &mut w);
    wrap_body(VERSION, &w.buf)
}

/// A data file of format `version` around an encoded (uncompressed) `body`: the header with
/// its lengths and checksums, then the compressed body. (The fuzz targets wrap mutated bodies
/// with it, so forged content gets past the checksums.)
pub fn wrap_body(version: u32, body: &[u8]) -> Vec<u8> {
    let mut enc = DeflateEncoder::new(Vec::with_capacity(body.len() / 3), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(body);
    let compressed = enc.finish().unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER_LEN + compressed.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&(compressed.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&compressed).to_le_bytes());
    let hcrc = crc32fast::hash(&out);
    out.extend_from_slice(&hcrc.to_le_bytes());
    out.extend_from_slice(&compressed);
    out
}

/// Writes `profile` to `path` through a temporary file in the same directory renamed into
/// place (see [`crate::output`]), so a crash never leaves half a file under the real name.
pub fn write_file(profile: &Profile, path: &Path) -> std::io::Result<u64> {
    let bytes = encode(profile);
    crate::output::write_atomically(path, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Decodes a data file held in memory.
pub fn decode(bytes: &[u8]) -> Result<Profile, DataFileError> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(DataFileError::NotRprof);
    }
    if bytes.len() < HEADER_LEN {
        return Err(DataFileError::Truncated(format!(
            "{} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    let u32_at =
        |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[o..o + 8]);
        u64::from_le_bytes(b)
    };
    if crc32fast::hash(&bytes[..36]) != u32_at(36) {
        return Err(DataFileError::Corrupt("header checksum mismatch".into()));
    }
    let version = u32_at(8);
    if version > VERSION {
        return Err(DataFileError::NewerVersion(version));
    }
    if version == 0 {
        return Err(DataFileError::Corrupt("format version 0".into()));
    }
    let body_len = u64_at(16);
    let comp_len = u64_at(24);
    let have = (bytes.len() - HEADER_LEN) as u64;
    if have < comp_len {
        return Err(DataFileError::Truncated(format!(
            "expected {comp_len} bytes of data after the header, found {have}"
        )));
    }
    if have > comp_len {
        return Err(DataFileError::Corrupt(format!(
            "{} unexpected bytes after the end of the data",
            have - comp_len
        )));
    }
    let compressed = &bytes[HEADER_LEN..];
    if crc32fast::hash(compressed) != u32_at(32) {
        return Err(DataFileError::Corrupt("data checksum mismatch".into()));
    }
    if body_len > MAX_BODY {
        return Err(DataFileError::Corrupt(format!(
            "implausible body length {body_len}"
        )));
    }
    // Deflate expands at most 1032 to 1: a longer body cannot come out of this data.
    if body_len
        > comp_len
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(64)
    {
        return Err(DataFileError::Corrupt(format!(
            "header says the body is {body_len} bytes, more than {comp_len} compressed bytes can hold"
        )));
    }
    // The header is only a hint until the data decompresses: reserve what the data plausibly
    // gives (our bodies compress about 3 to 5 to 1) and let the vector grow past that.
    let mut body = Vec::with_capacity(body_len.min(comp_len.saturating_mul(8)) as usize);
    DeflateDecoder::new(compressed)
        .take(body_len + 1)
        .read_to_end(&mut body)
        .map_err(|e| DataFileError::Corrupt(format!("decompression failed: {e}")))?;
    if body.len() as u64 != body_len {
        return Err(DataFileError::Corrupt(format!(
            "body is {} bytes, header says {body_len}",
            body.len()
        )));
    }
    let mut d = Dec { buf: &body, pos: 0 };
    let p = decode_body(&mut d, version).map_err(DataFileError::Corrupt)?;
    if d.pos != body.len() {
        return Err(DataFileError::Corrupt("trailing bytes in body".into()));
    }
    Ok(p)
}

#[derive(Default)]
struct Enc {
    buf: Vec<u8>,
}

impl Enc {
    fn u(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
    fn s(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn opt(&mut self, v: Option<u32>) {
        self.u(v.map(|x| x as u64 + 1).unwrap_or(0));
    }
}

struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, String>;

impl Dec<'_> {
    fn u(&mut self) -> R<u64> {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err("unexpected end of body".into());
            };
            self.pos += 1;
            if shift >= 64 || (shift == 63 && b > 1) {
                return Err("varint overflow".into());
            }
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }
    fn u32(&mut self) -> R<u32> {
        let v = self.u()?;
        u32::try_from(v).map_err(|_| format!("value {v} out of range"))
    }
    /// A count of elements that take at least `min_bytes` each: one the bytes left cannot
    /// hold is forged, and refusing it keeps every `Vec::with_capacity(count)` within a small
    /// multiple of the body's real size.
    fn count(&mut self, what: &str, min_bytes: u64) -> R<usize> {
        let n = self.u()?;
        if n.saturating_mul(min_bytes) > (self.buf.len() - self.pos) as u64 {
            return Err(format!("{what} count {n} exceeds the data"));
        }
        Ok(n as usize)
    }
    fn bytes(&mut self) -> R<&[u8]> {
        let n = self.u()? as usize;
        if n > self.buf.len() - self.pos {
            return Err("string runs past the end of the body".into());
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }
    fn s(&mut self) -> R<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "invalid UTF-8 in string".into())
    }
    fn id(&mut self, len: usize, what: &str) -> R<u32> {
        let v = self.u()?;
        if v >= len as u64 {
            return Err(format!("{what} id {v} out of range ({len} entries)"));
        }
        Ok(v as u32)
    }
    fn opt_id(&mut self, len: usize, what: &str) -> R<Option<u32>> {
        let v = self.u()?;
        if v == 0 {
            return Ok(None);
        }
        if v > len as u64 {
            return Err(format!("{what} id {} out of range ({len} entries)", v - 1));
        }
        Ok(Some((v - 1) as u32))
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn encode_meta(m: &Metadata, w: &mut Enc) {
    w.u(m.command.len() as u64);
    for c in &m.command {
        w.s(c);
    }
    w.s(&m.target);
    w.s(&m.event);
    w.u(m.frequency);
    w.u(m.start_unix_ns);
    w.u(m.duration_ns);
    w.u(m.lost);
    w.u(m.truncated);
    w.u(m.unsymbolized);
    w.s(&m.call_graph);
    w.s(&m.host);
    w.u(m.extra.len() as u64);
    for (k, v) in &m.extra {
        w.s(k);
        w.s(v);
    }
    w.u(m.events.len() as u64);
    for e in &m.events {
        w.s(e);
    }
    w.s(&m.unit);
}

fn decode_meta(d: &mut Dec, version: u32) -> R<Metadata> {
    let n = d.count("command", 1)?;
    let mut command = Vec::with_capacity(n);
    for _ in 0..n {
        command.push(d.s()?);
    }
    let target = d.s()?;
    let event = d.s()?;
    let frequency = d.u()?;
    let start_unix_ns = d.u()?;
    let duration_ns = d.u()?;
    let lost = d.u()?;
    let truncated = d.u()?;
    let unsymbolized = d.u()?;
    let call_graph = d.s()?;
    let host = d.s()?;
    let n = d.count("metadata", 2)?;
    let mut extra = Vec::with_capacity(n);
    for _ in 0..n {
        let k = d.s()?;
        let v = d.s()?;
        extra.push((k, v));
    }
    let (events, unit) = if version >= 2 {
        let n = d.count("event", 1)?;
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            events.push(d.s()?);
        }
        (events, d.s()?)
    } else {
        // Version 1 recorded one event and weighed every sample 1.
        (Vec::new(), "samples".to_string())
    };
    Ok(Metadata {
        command,
        target,
        event,
        frequency,
        start_unix_ns,
        duration_ns,
        lost,
        truncated,
        unsymbolized,
        call_graph,
        host,
        extra,
        events,
        unit,
    })
}

fn encode_body(p: &Profile, w: &mut Enc) {
    encode_meta(&p.meta, w);

    // Strings: lengths column, then the bytes, so the bytes compress as one run of text.
    w.u(p.strings.len() as u64);
    for s in p.strings.iter() {
        w.u(s.len() as u64);
    }
    for s in p.strings.iter() {
        w.buf.extend_from_slice(s.as_bytes());
    }

    w.u(p.modules.len() as u64);
    for m in &p.modules {
        w.u(m.path.0 as u64);
        w.bytes(&m.build_id);
    }

    w.u(p.frames.len() as u64);
    for f in &p.frames {
        w.u(f.function.0 as u64);
    }
    for f in &p.frames {
        w.opt(f.module.map(|m| m.0));
    }
    for f in &p.frames {
        w.u(f.file.0 as u64);
    }
    for f in &p.frames {
        w.u(f.line as u64);
    }
    for f in &p.frames {
        let flags =
            f.inlined as u64 | (f.kernel as u64) << 1 | (f.module_offset.is_some() as u64) << 2;
        w.u(flags);
    }
    for f in &p.frames {
        w.u(f.address);
    }
    for f in &p.frames {
        if let Some(o) = f.module_offset {
            w.u(o);
        }
    }

    // Stack nodes: the parent always precedes the child, so store the distance back.
    w.u(p.stack_nodes.len() as u64);
    for (i, n) in p.stack_nodes.iter().enumerate() {
        w.u(n.parent.map(|par| (i as u64) - par.0 as u64).unwrap_or(0));
    }
    for n in &p.stack_nodes {
        w.u(n.frame.0 as u64);
    }

    w.u(p.processes.len() as u64);
    for pr in &p.processes {
        w.u(pr.pid.0 as u64);
        w.u(pr.name.0 as u64);
    }

    w.u(p.threads.len() as u64);
    for t in &p.threads {
        w.u(t.pid.0 as u64);
        w.u(t.tid.0 as u64);
        w.u(t.name.0 as u64);
    }

    w.u(p.samples.len() as u64);
    for s in &p.samples {
        w.opt(s.stack.map(|x| x.0));
    }
    for s in &p.samples {
        w.u(s.thread.0 as u64);
    }
    for s in &p.samples {
        w.u(s.weight);
    }
    // Time: 0 = unknown, else zigzag delta from the previous known time, plus one.
    let mut prev: i64 = 0;
    for s in &p.samples {
        match s.time {
            None => w.u(0),
            Some(t) => {
                let t = t as i64;
                w.u(zigzag(t.wrapping_sub(prev)).wrapping_add(1));
                prev = t;
            }
        }
    }
    // Version 3: optional per-sample columns, each present only when complete; version 4 the
    // counts, only when some row is not one sample.
    let cpus = !p.samples.is_empty() && p.sample_cpus.len() == p.samples.len();
    let events = !p.samples.is_empty() && p.sample_events.len() == p.samples.len();
    let counts = p.samples.iter().any(|s| s.count != 1);
    w.u(u64::from(cpus) | u64::from(events) << 1 | u64::from(counts) << 2);
    if cpus {
        for &c in &p.sample_cpus {
            w.u(u64::from(c));
        }
    }
    if events {
        for &e in &p.sample_events {
            w.u(u64::from(e));
        }
    }
    if counts {
        for s in &p.samples {
            w.u(s.count);
        }
    }
    w.u(0x52_50_52_46); // end marker
}

/// The metadata key of a several-event recording holding each event's truncated stacks and
/// unsymbolized frames (`T/U,T/U,…` in the order of `events`); a one-event view takes its
/// event's pair and drops the key.
pub const EVENT_QUALITY: &str = "event_quality";

/// Keeps the samples of one event of a profile recorded with several (`want`, resolved as
/// perf script's event names are, or the first recorded), and makes it a one-event profile:
/// `meta.event` and `meta.unit` name it. A profile of one event is left alone, apart from
/// checking that `want` names it.
pub fn select_event(p: &mut Profile, want: Option<&str>) -> Result<(), String> {
    if p.sample_events.is_empty() {
        if let Some(w) = want {
            if !p.meta.event.is_empty() {
                super::perf_script::resolve_event(w, std::slice::from_ref(&p.meta.event))?;
            }
        }
        return Ok(());
    }
    let idx = match want {
        Some(w) => {
            let name = super::perf_script::resolve_event(w, &p.meta.events)?;
            p.meta.events.iter().position(|e| e == name).unwrap_or(0)
        }
        None => 0,
    };
    let name = p.meta.events.get(idx).cloned().unwrap_or_default();
    let events = std::mem::take(&mut p.sample_events);
    let has_cpus = p.sample_cpus.len() == p.samples.len();
    let mut i = 0;
    p.samples.retain(|_| {
        let keep = usize::from(events[i]) == idx;
        i += 1;
        keep
    });
    if has_cpus {
        let mut i = 0;
        p.sample_cpus.retain(|_| {
            let keep = usize::from(events[i]) == idx;
            i += 1;
            keep
        });
    }
    if let Some(i) = p.meta.extra.iter().position(|(k, _)| k == EVENT_QUALITY) {
        let (_, v) = p.meta.extra.remove(i);
        let pair = v.split(',').nth(idx).and_then(|q| {
            let (t, u) = q.split_once('/')?;
            Some((t.parse::<u64>().ok()?, u.parse::<u64>().ok()?))
        });
        if let Some((t, u)) = pair {
            p.meta.truncated = t;
            p.meta.unsymbolized = u;
        }
    }
    p.meta.unit = crate::record::events::unit_of(&name).to_string();
    p.meta.event = name;
    Ok(())
}

fn decode_body(d: &mut Dec, version: u32) -> R<Profile> {
    let mut p = Profile::new();
    p.meta = decode_meta(d, version)?;

    let n = d.count("string", 1)?;
    if n == 0 {
        return Err("string table lacks the empty string".into());
    }
    let mut lens = Vec::with_capacity(n);
    for _ in 0..n {
        lens.push(d.u()? as usize);
    }
    let mut strings = super::Interner {
        strings: Vec::with_capacity(n),
        index: Default::default(),
    };
    for l in lens {
        if l > d.buf.len() - d.pos {
            return Err("string runs past the end of the body".into());
        }
        let s = std::str::from_utf8(&d.buf[d.pos..d.pos + l])
            .map_err(|_| "invalid UTF-8 in string table".to_string())?;
        d.pos += l;
        strings.strings.push(s.into());
    }
    if !strings.strings[0].is_empty() {
        return Err("string 0 is not empty".into());
    }
    p.strings = strings;
    let ns = p.strings.len();

    let n = d.count("module", 2)?;
    for _ in 0..n {
        let path = StrId(d.id(ns, "string")?);
        let build_id = d.bytes()?.to_vec();
        p.modules.push(Module { path, build_id });
    }
    let nm = p.modules.len();

    let n = d.count("frame", 6)?;
    let mut frames: Vec<Frame> = Vec::with_capacity(n);
    for _ in 0..n {
        frames.push(Frame::named(StrId(d.id(ns, "string")?)));
    }
    for f in frames.iter_mut() {
        f.module = d.opt_id(nm, "module")?.map(ModuleId);
    }
    for f in frames.iter_mut() {
        f.file = StrId(d.id(ns, "string")?);
    }
    for f in frames.iter_mut() {
        f.line = d.u32()?;
    }
    let mut has_off = Vec::with_capacity(n);
    for f in frames.iter_mut() {
        let flags = d.u()?;
        if flags > 7 {
            return Err(format!("bad frame flags {flags}"));
        }
        f.inlined = flags & 1 != 0;
        f.kernel = flags & 2 != 0;
        has_off.push(flags & 4 != 0);
    }
    for f in frames.iter_mut() {
        f.address = d.u()?;
    }
    for (f, h) in frames.iter_mut().zip(has_off) {
        if h {
            f.module_offset = Some(d.u()?);
        }
    }
    p.frames = frames;
    let nf = p.frames.len();

    let n = d.count("stack", 2)?;
    let mut parents = Vec::with_capacity(n);
    for i in 0..n {
        let back = d.u()?;
        if back == 0 {
            parents.push(None);
        } else if back > i as u64 {
            return Err(format!("stack {i} has a parent outside the table"));
        } else {
            parents.push(Some(StackId((i as u64 - back) as u32)));
        }
    }
    let mut nodes = Vec::with_capacity(n);
    for parent in parents {
        nodes.push(StackNode {
            parent,
            frame: FrameId(d.id(nf, "frame")?),
        });
    }
    p.stack_nodes = nodes;
    let nn = p.stack_nodes.len();

    let n = d.count("process", 2)?;
    for _ in 0..n {
        let pid = Pid(d.u32()?);
        let name = StrId(d.id(ns, "string")?);
        p.processes.push(Process { pid, name });
    }

    let n = d.count("thread", 3)?;
    for _ in 0..n {
        let pid = Pid(d.u32()?);
        let tid = Tid(d.u32()?);
        let name = StrId(d.id(ns, "string")?);
        p.threads.push(Thread { pid, tid, name });
    }
    let nt = p.threads.len();

    let n = d.count("sample", 4)?;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        samples.push(Sample {
            stack: d.opt_id(nn, "stack")?.map(StackId),
            thread: ThreadIdx(0),
            weight: 0,
            count: 1,
            time: None,
        });
    }
    for s in samples.iter_mut() {
        s.thread = ThreadIdx(d.id(nt, "thread")?);
    }
    for s in samples.iter_mut() {
        s.weight = d.u()?;
    }
    let mut prev: i64 = 0;
    for s in samples.iter_mut() {
        let v = d.u()?;
        if v != 0 {
            let t = prev.wrapping_add(unzigzag(v.wrapping_sub(1)));
            s.time = Some(t as u64);
            prev = t;
        }
    }
    if version >= 3 {
        let flags = d.u()?;
        let known = if version >= 4 { 7 } else { 3 };
        if flags > known {
            return Err(format!("unknown sample columns {flags:#x}"));
        }
        if flags & 1 != 0 {
            p.sample_cpus = Vec::with_capacity(samples.len());
            for _ in 0..samples.len() {
                p.sample_cpus.push(d.u32()?);
            }
        }
        if flags & 2 != 0 {
            let ne = p.meta.events.len();
            if ne > usize::from(u16::MAX) {
                return Err("too many events".into());
            }
            p.sample_events = Vec::with_capacity(samples.len());
            for _ in 0..samples.len() {
                p.sample_events.push(d.id(ne, "event")? as u16);
            }
        }
        if flags & 4 != 0 {
            for s in samples.iter_mut() {
                s.count = d.u()?;
                if s.count == 0 {
                    return Err("a sample row stands for 0 samples".into());
                }
            }
        }
    }
    p.samples = samples;
    if d.u()? != 0x52_50_52_46 {
        return Err("end marker missing".into());
    }
    p.invalidate_indexes();
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_profile() -> Profile {
        let mut p = Profile::new();
        p.meta = Metadata {
            command: vec!["./prog".into(), "arg with space".into()],
            target: "command ./prog".into(),
            event: "cpu-clock".into(),
            frequency: 999,
            start_unix_ns: 1_700_000_000_000_000_000,
            duration_ns: 2_500_000_000,
            lost: 3,
            truncated: 7,
            unsymbolized: 2,
            call_graph: "fp".into(),
            host: "box 6.18".into(),
            extra: vec![("exit".into(), "3".into())],
            events: vec!["cpu-clock".into(), "page-faults".into()],
            unit: "ns".into(),
        };
        let m = p.add_module("/usr/lib/libc.so.6", vec![0xde, 0xad, 0xbe, 0xef]);
        let f_main = p.intern("main");
        let file = p.intern("prog.c");
        let main = p.add_frame(Frame {
            function: f_main,
            module: Some(m),
            file,
            line: 42,
            inlined: false,
            kernel: false,
            address: 0x7f00_0000_1234,
            module_offset: Some(0x1234),
        });
        let inl = p.add_frame(Frame {
            function: p.strings.index.get("main").copied().unwrap_or_default(),
            module: Some(m),
            file,
            line: 7,
            inlined: true,
            kernel: false,
            address: 0x7f00_0000_1240,
            module_offset: Some(0x1240),
        });
        let k = p.add_named_frame("do_syscall_64");
        p.frames[k.0 as usize].kernel = true;
        let s1 = p.add_stack_frames(&[main, inl]);
        let s2 = p.add_stack_frames(&[main, inl, k]);
        let t1 = p.add_thread(Pid(10), Tid(10), "prog");
        let t2 = p.add_thread(Pid(10), Tid(11), "worker");
        p.add_process(Pid(10), "prog");
        p.add_sample(Sample {
            stack: s1,
            thread: t1,
            weight: 1,
            count: 1,
            time: Some(100),
        });
        p.add_sample(Sample {
            stack: s2,
            thread: t2,
            weight: 5,
            // A recording's merged row: four samples.
            count: 4,
            time: Some(50),
        });
        p.add_sample(Sample {
            stack: None,
            thread: t2,
            weight: 1,
            count: 1,
            time: None,
        });
        p
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let p = sample_profile();
        let bytes = encode(&p);
        let q = decode(&bytes).expect("decodes");
        assert_eq!(p, q);
        assert_eq!(q.meta.extra, vec![("exit".to_string(), "3".to_string())]);
    }

    #[test]
    fn cpus_and_events_per_sample_round_trip_and_select() {
        let mut p = sample_profile();
        p.sample_cpus = vec![0, 1, 1];
        p.sample_events = vec![0, 1, 0];
        p.meta.extra.push((EVENT_QUALITY.into(), "4/1,3/0".into()));
        let q = decode(&encode(&p)).expect("decodes");
        assert_eq!(p, q);
        // The default view: the first event, its samples and CPUs only, its own quality.
        let mut first = q.clone();
        select_event(&mut first, None).expect("selects");
        assert_eq!(first.samples.len(), 2);
        assert_eq!(first.sample_cpus, [0, 1]);
        assert!(first.sample_events.is_empty());
        assert_eq!(
            (first.meta.event.as_str(), first.meta.unit.as_str()),
            ("cpu-clock", "ns")
        );
        assert_eq!((first.meta.truncated, first.meta.unsymbolized), (4, 1));
        assert!(first.meta.extra.iter().all(|(k, _)| k != EVENT_QUALITY));
        let mut pf = q.clone();
        select_event(&mut pf, Some("page-faults")).expect("selects");
        assert_eq!(pf.samples.len(), 1);
        assert_eq!(pf.samples[0].weight, 5);
        assert_eq!(pf.sample_cpus, [1]);
        assert_eq!(pf.meta.unit, "page-faults");
        assert_eq!(pf.meta.truncated, 3);
        let mut bad = q;
        assert!(select_event(&mut bad, Some("cycles"))
            .unwrap_err()
            .contains("events present: cpu-clock, page-faults"));
    }

    #[test]
    fn counts_round_trip_and_older_versions_read_as_one_sample_a_row() {
        let p = sample_profile();
        let q = decode(&encode(&p)).expect("decodes");
        let counts: Vec<u64> = q.samples.iter().map(|s| s.count).collect();
        assert_eq!(counts, [1, 4, 1]);
        // A profile of single samples has no counts column: its body is a version 3 body,
        // and a version 3 file of it reads the same.
        let mut single = p.clone();
        single.samples[1].count = 1;
        let mut w = Enc::default();
        encode_body(&single, &mut w);
        assert_eq!(decode(&wrap_body(3, &w.buf)).expect("v3 reads"), single);
        // A counts column is not something version 3 had.
        let mut w = Enc::default();
        encode_body(&p, &mut w);
        let e = decode(&wrap_body(3, &w.buf)).expect_err("v3 has no counts");
        assert!(e.to_string().contains("unknown sample columns 0x4"), "{e}");
        // A row of no samples is corrupt.
        let mut zero = p;
        zero.samples[1].count = 0;
        let e = decode(&encode(&zero)).expect_err("count 0").to_string();
        assert!(e.contains("stands for 0 samples"), "{e}");
    }

    #[test]
    fn an_event_index_beyond_the_events_is_corrupt() {
        let mut p = sample_profile();
        p.sample_events = vec![0, 2, 0];
        assert!(decode(&encode(&p)).is_err());
    }

    /// Re-seals a header after a field was changed.
    fn fix_header_crc(b: &mut [u8]) {
        let h = crc32fast::hash(&b[..36]);
        b[36..40].copy_from_slice(&h.to_le_bytes());
    }

    #[test]
    fn forged_body_lengths_are_refused_before_reserving_them() {
        let bytes = encode(&sample_profile());
        let comp = (bytes.len() - HEADER_LEN) as u64;
        // More than deflate can expand to: refused from the header alone.
        let mut b = bytes.clone();
        b[16..24].copy_from_slice(&(16u64 << 30).to_le_bytes());
        fix_header_crc(&mut b);
        let e = decode(&b)
            .expect_err("16 GiB from a few hundred bytes")
            .to_string();
        assert!(e.contains("17179869184") && e.contains("compressed"), "{e}");
        // Plausible for the ratio but false: found out after decompressing what is there.
        let mut b = bytes.clone();
        b[16..24].copy_from_slice(&(comp * 1000).to_le_bytes());
        fix_header_crc(&mut b);
        let e = decode(&b).expect_err("wrong length").to_string();
        assert!(e.contains("header says"), "{e}");
    }

    #[test]
    fn counts_the_remaining_bytes_cannot_hold_are_refused() {
        // An empty metadata prefix then a sample count of 10 with 20 bytes left: each sample
        // takes at least 4 bytes, so at most 5 fit.
        let mut d = Dec {
            buf: &[
                10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            pos: 0,
        };
        assert!(d.count("sample", 4).is_err());
        let mut d = Dec {
            buf: &[
                5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            pos: 0,
        };
        assert_eq!(d.count("sample", 4), Ok(5));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error() {
        let bytes = encode(&sample_profile());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(decode(&b).is_err(), "flip byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn newer_version_is_refused() {
        let mut bytes = encode(&sample_profile());
        bytes[8..12].copy_from_slice(&(VERSION + 1).to_le_bytes());
        let h = crc32fast::hash(&bytes[..36]);
        bytes[36..40].copy_from_slice(&h.to_le_bytes());
        assert!(matches!(
            decode(&bytes),
            Err(DataFileError::NewerVersion(v)) if v == VERSION + 1
        ));
    }
}
