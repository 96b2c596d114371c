//! pprof (`profile.proto`, gzipped or raw) in both directions: [`encode`] writes a [`Profile`]
//! as the protobuf that `go tool pprof`, Pyroscope and Parca read; [`decode`] reads CPU and heap
//! profiles written by Go's `runtime/pprof`, pprof-rs and rprof itself.
//!
//! The messages are derived by hand with `prost` (there is no `protoc` on the build machines);
//! field numbers follow google/pprof's `proto/profile.proto`. Conventions kept on the way out:
//! inlined frames of one address are several `Line`s of one `Location`, innermost first; each
//! distinct (module, load bias) becomes one `Mapping`, so `address - memory_start +
//! file_offset` is the module offset; samples carry `pid`, `thread_id` and `thread_name`
//! labels. On the way in, one sample type is read (`--sample-index`, default as pprof chooses:
//! `default_sample_type` when set, else the last type), and thread labels become threads.

use std::io::{Read, Write};

use anyhow::{anyhow, bail, Context, Result};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use prost::Message;
use rustc_hash::FxHashMap as HashMap;

use super::{Frame, FrameId, Pid, Profile, Sample, StackId, Tid};

/// `perftools.profiles.Profile`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PProfile {
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<PSample>,
    #[prost(message, repeated, tag = "3")]
    pub mapping: Vec<Mapping>,
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
    #[prost(int64, tag = "7")]
    pub drop_frames: i64,
    #[prost(int64, tag = "8")]
    pub keep_frames: i64,
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    pub period: i64,
    #[prost(int64, repeated, tag = "13")]
    pub comment: Vec<i64>,
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
}

/// `ValueType`: a sample value's type and unit, as string-table indexes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueType {
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// `Sample`: location ids leaf first, one value per sample type, labels.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PSample {
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

/// `Label`: a string (`str`) or numeric (`num`) label.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(int64, tag = "1")]
    pub key: i64,
    #[prost(int64, tag = "2")]
    pub str: i64,
    #[prost(int64, tag = "3")]
    pub num: i64,
    #[prost(int64, tag = "4")]
    pub num_unit: i64,
}

/// `Mapping`: a mapped module.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Mapping {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub memory_start: u64,
    #[prost(uint64, tag = "3")]
    pub memory_limit: u64,
    #[prost(uint64, tag = "4")]
    pub file_offset: u64,
    #[prost(int64, tag = "5")]
    pub filename: i64,
    #[prost(int64, tag = "6")]
    pub build_id: i64,
    #[prost(bool, tag = "7")]
    pub has_functions: bool,
    #[prost(bool, tag = "8")]
    pub has_filenames: bool,
    #[prost(bool, tag = "9")]
    pub has_line_numbers: bool,
    #[prost(bool, tag = "10")]
    pub has_inline_frames: bool,
}

/// `Location`: one address with its (possibly inlined) lines, innermost first.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Location {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub mapping_id: u64,
    #[prost(uint64, tag = "3")]
    pub address: u64,
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
    #[prost(bool, tag = "5")]
    pub is_folded: bool,
}

/// `Line`: a function and a line number.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Line {
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    #[prost(int64, tag = "2")]
    pub line: i64,
    #[prost(int64, tag = "3")]
    pub column: i64,
}

/// `Function`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Function {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(int64, tag = "2")]
    pub name: i64,
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    #[prost(int64, tag = "4")]
    pub filename: i64,
    #[prost(int64, tag = "5")]
    pub start_line: i64,
}

/// Largest decompressed pprof accepted: a bound on memory for a hostile or broken gzip stream
/// (real profiles are a few megabytes; Go caps its own reader lower still).
pub const MAX_DECOMPRESSED: u64 = 1 << 30;

/// True when `bytes` look like a pprof profile: gzip whose content starts with a field of
/// `Profile` (massif's gzipped text starts with `desc:`), or raw protobuf that decodes as a
/// profile with the string table pprof requires (entry 0 is ""), so text that merely starts
/// like a protobuf field does not pass.
pub fn is_pprof(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut head = [0u8; 8];
        let mut d = GzDecoder::new(bytes);
        let mut n = 0;
        while n < head.len() {
            match d.read(&mut head[n..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        return n > 0 && !head[..n].starts_with(b"desc:") && starts_with_profile_field(&head[..n]);
    }
    if !starts_with_profile_field(bytes) {
        return false;
    }
    match raw_profile(bytes) {
        Ok(p) => !p.sample_type.is_empty() && p.string_table.first().is_some_and(|s| s.is_empty()),
        // Only the start of a stream may be here (detection looks at a bounded prefix): accept
        // it when its fields are well-formed `Profile` fields up to where it is cut.
        Err(_) => plausible_prefix(bytes),
    }
}

/// True when `b` is a sequence of at least three well-formed top-level `Profile` fields,
/// possibly cut inside the last one.
fn plausible_prefix(b: &[u8]) -> bool {
    fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*i)?;
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let (mut i, mut fields) = (0usize, 0);
    while i < b.len() {
        let Some(tag) = varint(b, &mut i) else {
            return fields >= 3;
        };
        let Ok(tag8) = u8::try_from(tag) else {
            return false;
        };
        if !starts_with_profile_field(&[tag8]) {
            return false;
        }
        let ok = match tag8 & 7 {
            0 => varint(b, &mut i).is_some(),
            _ => match varint(b, &mut i) {
                Some(len) => {
                    i = i.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
                    true
                }
                None => false,
            },
        };
        if !ok {
            return fields >= 3;
        }
        fields += 1;
    }
    fields >= 3
}

/// Whether the first byte is the tag of a `Profile` field with its wire type (writers differ
/// in order: Go starts with `time_nanos` or `period_type`, prost with `sample_type`).
fn starts_with_profile_field(b: &[u8]) -> bool {
    let Some(&tag) = b.first() else { return false };
    let (field, wire) = (tag >> 3, tag & 7);
    match field {
        1..=6 | 11 | 13 => wire == 2,
        7..=10 | 12 | 14 => wire == 0,
        _ => false,
    }
}

fn raw_profile(bytes: &[u8]) -> Result<PProfile> {
    PProfile::decode(bytes).map_err(|e| anyhow!("not a valid pprof protobuf: {e}"))
}

/// Decompresses (when gzipped) and decodes the protobuf.
pub fn parse_message(bytes: &[u8]) -> Result<PProfile> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(bytes)
            .take(MAX_DECOMPRESSED + 1)
            .read_to_end(&mut out)
            .context("gzip stream is corrupt")?;
        if out.len() as u64 > MAX_DECOMPRESSED {
            bail!(
                "decompresses to more than {} MiB, the limit for a pprof profile",
                MAX_DECOMPRESSED >> 20
            );
        }
        raw_profile(&out)
    } else {
        raw_profile(bytes)
    }
}

/// The `type/unit` names of every sample type, in order.
pub fn sample_type_names(p: &PProfile) -> Vec<String> {
    p.sample_type
        .iter()
        .map(|vt| format!("{}/{}", strs(p, vt.r#type), strs(p, vt.unit)))
        .collect()
}

fn strs(p: &PProfile, i: i64) -> &str {
    usize::try_from(i)
        .ok()
        .and_then(|i| p.string_table.get(i))
        .map(String::as_str)
        .unwrap_or("")
}

/// Chooses the sample type: `want` names a type (`alloc_space`) or `type/unit`, or is an index;
/// by default `default_sample_type` when set, else the last (as `go tool pprof` does).
pub fn choose_sample_index(p: &PProfile, want: Option<&str>) -> Result<usize> {
    let names = sample_type_names(p);
    if names.is_empty() {
        bail!("the profile has no sample types");
    }
    match want {
        Some(w) => {
            if let Some(i) = names
                .iter()
                .position(|n| n == w || n.split('/').next() == Some(w))
            {
                return Ok(i);
            }
            if let Ok(i) = w.parse::<usize>() {
                if i < names.len() {
                    return Ok(i);
                }
            }
            bail!(
                "no sample type '{w}' in the profile; it has: {}",
                names
                    .iter()
                    .map(|n| n.split('/').next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        None => {
            if p.default_sample_type != 0 {
                let d = strs(p, p.default_sample_type);
                if let Some(i) = p.sample_type.iter().position(|vt| strs(p, vt.r#type) == d) {
                    return Ok(i);
                }
            }
            Ok(names.len() - 1)
        }
    }
}

/// Reads a pprof profile (gzipped or raw) into the model, keeping the sample type chosen by
/// `sample_index` (see [`choose_sample_index`]).
pub fn decode(bytes: &[u8], sample_index: Option<&str>) -> Result<Profile> {
    let pp = parse_message(bytes)?;
    let idx = choose_sample_index(&pp, sample_index)?;
    to_profile(&pp, idx)
}

/// Converts a decoded message, keeping sample type `idx`.
pub fn to_profile(pp: &PProfile, idx: usize) -> Result<Profile> {
    let mut p = Profile::new();
    let types: Vec<(String, String)> = pp
        .sample_type
        .iter()
        .map(|vt| {
            (
                strs(pp, vt.r#type).to_string(),
                strs(pp, vt.unit).to_string(),
            )
        })
        .collect();
    let (ty, unit) = types
        .get(idx)
        .cloned()
        .ok_or_else(|| anyhow!("sample type {idx} out of range"))?;
    let (event, unit) = model_event_unit(&ty, &unit);
    p.meta.event = event;
    p.meta.unit = unit;
    p.meta.events = types.iter().map(|(t, _)| t.clone()).collect();
    p.meta.duration_ns = u64::try_from(pp.duration_nanos).unwrap_or(0);
    p.meta.start_unix_ns = u64::try_from(pp.time_nanos).unwrap_or(0);
    if pp.period > 0 {
        if let Some(pt) = &pp.period_type {
            if strs(pp, pt.unit) == "nanoseconds" {
                p.meta.frequency = 1_000_000_000 / pp.period as u64;
            }
        }
    }

    let mapping_of: HashMap<u64, &Mapping> = pp.mapping.iter().map(|m| (m.id, m)).collect();
    let function_of: HashMap<u64, &Function> = pp.function.iter().map(|f| (f.id, f)).collect();
    // Each location becomes its frames, outermost first (a Location's lines are innermost first).
    let mut loc_frames: HashMap<u64, Vec<FrameId>> = HashMap::default();
    for loc in &pp.location {
        let mapping = mapping_of.get(&loc.mapping_id).copied();
        let module = mapping.map(|m| {
            let path = strs(pp, m.filename).to_string();
            let build_id = hex_decode(strs(pp, m.build_id));
            p.add_module(&path, build_id)
        });
        let kernel = mapping.is_some_and(|m| strs(pp, m.filename).starts_with("[kernel"));
        let module_offset = mapping.map(|m| {
            loc.address
                .wrapping_sub(m.memory_start)
                .wrapping_add(m.file_offset)
        });
        let mut frames = Vec::with_capacity(loc.line.len().max(1));
        if loc.line.is_empty() {
            let name = match mapping {
                Some(m) => format!(
                    "{}+0x{:x}",
                    basename(strs(pp, m.filename)),
                    module_offset.unwrap_or(loc.address)
                ),
                None => "[unknown]".to_string(),
            };
            let function = p.intern(&name);
            frames.push(p.add_frame(Frame {
                function,
                module,
                file: super::StrId(0),
                line: 0,
                inlined: false,
                kernel,
                address: loc.address,
                module_offset,
            }));
        } else {
            let n = loc.line.len();
            // Outermost line last in the message: it is the real function, the rest inlined.
            for (i, l) in loc.line.iter().enumerate().rev() {
                let f = function_of.get(&l.function_id);
                let name = f.map(|f| strs(pp, f.name)).unwrap_or("");
                let name = if name.is_empty() { "[unknown]" } else { name };
                let file = f.map(|f| strs(pp, f.filename)).unwrap_or("");
                let function = p.intern(name);
                let file = p.intern(file);
                frames.push(p.add_frame(Frame {
                    function,
                    module,
                    file,
                    line: u32::try_from(l.line).unwrap_or(0),
                    inlined: i + 1 < n,
                    kernel,
                    address: loc.address,
                    module_offset,
                }));
            }
        }
        loc_frames.insert(loc.id, frames);
    }

    // With a `samples/count` type (CPU profiles) one pprof sample stands for `count` samples:
    // it becomes one row carrying that count beside its weight, as `go tool pprof` reads it.
    let count_idx = types
        .iter()
        .position(|(t, u)| t == "samples" && u == "count");
    let key_of = |k: i64| strs(pp, k);
    let mut stack_cache: HashMap<Vec<u64>, Option<StackId>> = HashMap::default();
    let mut unknown_locations = 0usize;
    for s in &pp.sample {
        let Some(&v) = s.value.get(idx) else {
            bail!(
                "a sample has {} values, but the profile declares {} sample types",
                s.value.len(),
                pp.sample_type.len()
            );
        };
        if v <= 0 {
            continue;
        }
        let stack = match stack_cache.get(&s.location_id) {
            Some(st) => *st,
            None => {
                let mut frames: Vec<FrameId> = Vec::new();
                for id in s.location_id.iter().rev() {
                    match loc_frames.get(id) {
                        Some(fs) => frames.extend_from_slice(fs),
                        None => unknown_locations += 1,
                    }
                }
                let st = p.add_stack_frames(&frames);
                stack_cache.insert(s.location_id.clone(), st);
                st
            }
        };
        let (mut pid, mut tid, mut tname) = (0u32, 0u32, String::new());
        for l in &s.label {
            let key = key_of(l.key);
            match key {
                "pid" => pid = u32::try_from(l.num).unwrap_or(0),
                "thread_id" | "tid" | "thread id" => tid = u32::try_from(l.num).unwrap_or(0),
                "thread_name" | "thread" | "thread name" => {
                    if l.str != 0 {
                        tname = key_of(l.str).to_string();
                    } else if tid == 0 {
                        tid = u32::try_from(l.num).unwrap_or(0);
                    }
                }
                _ => {}
            }
        }
        if pid == 0 {
            pid = tid;
        }
        if pid != 0 {
            p.add_process(Pid(pid), "");
        }
        let thread = p.add_thread(Pid(pid), Tid(tid), &tname);
        // A row stands for at least one sample (a count of 0 or less beside a positive
        // value still is one).
        let count = count_idx
            .and_then(|ci| s.value.get(ci).copied())
            .map_or(1, |c| c.max(1) as u64);
        p.add_sample(Sample {
            stack,
            thread,
            weight: v as u64,
            count,
            time: None,
        });
    }
    if unknown_locations > 0 {
        bail!("{unknown_locations} sample frames refer to locations the profile does not define");
    }
    Ok(p)
}

/// The model's event and unit for a pprof sample type.
fn model_event_unit(ty: &str, unit: &str) -> (String, String) {
    match (ty, unit) {
        ("cpu", "nanoseconds") => ("cpu-clock".into(), "ns".into()),
        (t, "nanoseconds") => (t.into(), "ns".into()),
        (t, "bytes") => (t.into(), "bytes".into()),
        ("samples", _) => ("samples".into(), "samples".into()),
        (t, _) => (t.into(), t.into()),
    }
}

/// The pprof sample type (type, unit) for the model's event and unit; None when the weights are
/// plain sample counts (then only `samples/count` is written).
fn pprof_value_type(p: &Profile) -> Option<(String, String)> {
    let ev = if p.meta.event.is_empty() {
        "events"
    } else {
        p.meta.event.as_str()
    };
    match p.unit() {
        "samples" => None,
        "ns" if ev == "cpu-clock" || ev == "task-clock" || ev == "cycles" => {
            Some(("cpu".into(), "nanoseconds".into()))
        }
        "ns" => Some((ev.into(), "nanoseconds".into())),
        "bytes" => Some((ev.into(), "bytes".into())),
        _ => Some((ev.into(), "count".into())),
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Vec<u8> {
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Vec::new();
    }
    (0..s.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Builds the pprof string table with interning.
#[derive(Default)]
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Self {
        let mut s = Strings::default();
        s.get("");
        s
    }
    fn get(&mut self, v: &str) -> i64 {
        if let Some(&i) = self.index.get(v) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(v.to_string());
        self.index.insert(v.to_string(), i);
        i
    }
}

/// A location's identity: mapping id, address, and its lines (function id, line), innermost
/// first.
type LocationKey = (u64, u64, Vec<(u64, i64)>);

/// Converts the model into a pprof message.
pub fn to_pprof(p: &Profile) -> PProfile {
    let mut st = Strings::new();
    let value_type = pprof_value_type(p);
    let mut sample_type = vec![ValueType {
        r#type: st.get("samples"),
        unit: st.get("count"),
    }];
    if let Some((t, u)) = &value_type {
        sample_type.push(ValueType {
            r#type: st.get(t),
            unit: st.get(u),
        });
    }
    let period_type = sample_type.last().cloned();
    let period = match value_type.as_ref().map(|(_, u)| u.as_str()) {
        Some("nanoseconds") if p.meta.frequency > 0 => (1_000_000_000 / p.meta.frequency) as i64,
        _ => 1,
    };

    let mut mappings: Vec<Mapping> = Vec::new();
    let mut mapping_index: HashMap<(u32, u64), u64> = HashMap::default();
    let mut functions: Vec<Function> = Vec::new();
    let mut function_index: HashMap<(super::StrId, super::StrId), u64> = HashMap::default();
    let mut locations: Vec<Location> = Vec::new();
    let mut location_index: HashMap<LocationKey, u64> = HashMap::default();
    // Per stack: its location ids, leaf first.
    let mut stack_locs: HashMap<Option<StackId>, Vec<u64>> = HashMap::default();

    let mut mapping_for = |p: &Profile, fr: &Frame, st: &mut Strings| -> u64 {
        let Some(m) = fr.module else { return 0 };
        let bias = match fr.module_offset {
            Some(off) if fr.address != 0 => fr.address.wrapping_sub(off),
            _ => 0,
        };
        let key = (m.0, bias);
        if let Some(&id) = mapping_index.get(&key) {
            if let Some(mp) = mappings.get_mut(id as usize - 1) {
                mp.memory_limit = mp.memory_limit.max(fr.address.saturating_add(1));
            }
            return id;
        }
        let module = &p.modules[m.0 as usize];
        let id = mappings.len() as u64 + 1;
        mappings.push(Mapping {
            id,
            memory_start: bias,
            memory_limit: fr.address.saturating_add(1).max(bias),
            file_offset: 0,
            filename: st.get(p.str(module.path)),
            build_id: st.get(&hex(&module.build_id)),
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            has_inline_frames: true,
        });
        mapping_index.insert(key, id);
        id
    };

    // Where the weights are sample counts (folded stacks: `a;b 5` is five samples), the count
    // is the weight; otherwise each row is as many samples as its count (a recording merges
    // identical samples into one row).
    let counts_are_weights = value_type.is_none();
    let mut samples: Vec<PSample> = Vec::new();
    let mut sample_index: HashMap<(Option<StackId>, u32), usize> = HashMap::default();
    for s in &p.samples {
        let locs = match stack_locs.get(&s.stack) {
            Some(l) => l.clone(),
            None => {
                let frames: Vec<FrameId> = p.stack_frames(s.stack).collect();
                let mut locs = Vec::new();
                let mut i = 0;
                while i < frames.len() {
                    // A run of inlined frames ends at the real function that holds them.
                    let start = i;
                    while i + 1 < frames.len() && p.frame(frames[i]).inlined {
                        i += 1;
                    }
                    let group = &frames[start..=i];
                    i += 1;
                    let outer = p.frame(group[group.len() - 1]);
                    let mapping_id = mapping_for(p, outer, &mut st);
                    let mut lines = Vec::with_capacity(group.len());
                    for f in group {
                        let fr = p.frame(*f);
                        let fid =
                            *function_index
                                .entry((fr.function, fr.file))
                                .or_insert_with(|| {
                                    let id = functions.len() as u64 + 1;
                                    let name = st.get(p.str(fr.function));
                                    functions.push(Function {
                                        id,
                                        name,
                                        system_name: name,
                                        filename: st.get(p.str(fr.file)),
                                        start_line: 0,
                                    });
                                    id
                                });
                        lines.push((fid, i64::from(fr.line)));
                    }
                    let key = (mapping_id, outer.address, lines);
                    let id = match location_index.get(&key) {
                        Some(&id) => id,
                        None => {
                            let id = locations.len() as u64 + 1;
                            locations.push(Location {
                                id,
                                mapping_id,
                                address: outer.address,
                                line: key
                                    .2
                                    .iter()
                                    .map(|&(function_id, line)| Line {
                                        function_id,
                                        line,
                                        column: 0,
                                    })
                                    .collect(),
                                is_folded: false,
                            });
                            location_index.insert(key, id);
                            id
                        }
                    };
                    locs.push(id);
                }
                stack_locs.insert(s.stack, locs.clone());
                locs
            }
        };
        let key = (s.stack, s.thread.0);
        match sample_index.get(&key) {
            Some(&i) => {
                let v = &mut samples[i].value;
                v[0] = v[0].saturating_add(if counts_are_weights {
                    s.weight as i64
                } else {
                    s.count as i64
                });
                if value_type.is_some() {
                    v[1] = v[1].saturating_add(s.weight as i64);
                }
            }
            None => {
                let th = &p.threads[s.thread.0 as usize];
                let mut label = vec![Label {
                    key: st.get("thread_id"),
                    num: i64::from(th.tid.0),
                    ..Default::default()
                }];
                if th.pid.0 != 0 {
                    label.push(Label {
                        key: st.get("pid"),
                        num: i64::from(th.pid.0),
                        ..Default::default()
                    });
                }
                let name = p.str(th.name);
                if !name.is_empty() {
                    label.push(Label {
                        key: st.get("thread_name"),
                        str: st.get(name),
                        ..Default::default()
                    });
                }
                let mut value = vec![if counts_are_weights {
                    s.weight as i64
                } else {
                    s.count as i64
                }];
                if value_type.is_some() {
                    value.push(s.weight as i64);
                }
                sample_index.insert(key, samples.len());
                samples.push(PSample {
                    location_id: locs,
                    value,
                    label,
                });
            }
        }
    }
    let mut comment = Vec::new();
    if !p.meta.target.is_empty() {
        comment.push(st.get(&format!("rprof: {}", p.meta.target)));
    }
    PProfile {
        sample_type,
        sample: samples,
        mapping: mappings,
        location: locations,
        function: functions,
        drop_frames: 0,
        keep_frames: 0,
        time_nanos: p.meta.start_unix_ns as i64,
        duration_nanos: p.meta.duration_ns as i64,
        period_type,
        period,
        comment,
        default_sample_type: 0,
        string_table: st.table,
    }
}

/// Encodes the model as gzipped pprof.
pub fn encode(p: &Profile) -> Result<Vec<u8>> {
    encode_message(&to_pprof(p))
}

/// Encodes a pprof message as gzipped bytes (for sources that build the message themselves,
/// such as `rprof heap` with its four sample types).
pub fn encode_message(msg: &PProfile) -> Result<Vec<u8>> {
    let raw = msg.encode_to_vec();
    let mut gz = GzEncoder::new(Vec::with_capacity(raw.len() / 4), Compression::default());
    gz.write_all(&raw)
        .context("compressing the pprof profile")?;
    gz.finish().context("compressing the pprof profile")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Pid, Tid};

    fn sample_profile() -> Profile {
        let mut p = Profile::new();
        p.meta.event = "cpu-clock".into();
        p.meta.unit = "ns".into();
        p.meta.frequency = 1000;
        let m = p.add_module("/bin/prog", vec![0xab, 0xcd]);
        let mk = |p: &mut Profile, name: &str, inlined: bool, addr: u64| {
            let function = p.intern(name);
            let file = p.intern("prog.c");
            p.add_frame(Frame {
                function,
                module: Some(m),
                file,
                line: 7,
                inlined,
                kernel: false,
                address: addr,
                module_offset: Some(addr - 0x1000),
            })
        };
        let main = mk(&mut p, "main", false, 0x1100);
        let work = mk(&mut p, "work", false, 0x1200);
        let inl = mk(&mut p, "helper", true, 0x1200);
        let s1 = p.add_stack_frames(&[main, work, inl]);
        let s2 = p.add_stack_frames(&[main]);
        let t = p.add_thread(Pid(10), Tid(11), "worker");
        p.add_process(Pid(10), "prog");
        for _ in 0..3 {
            p.add_sample(Sample {
                stack: s1,
                thread: t,
                weight: 1_000_000,
                count: 1,
                time: None,
            });
        }
        p.add_sample(Sample {
            stack: s2,
            thread: t,
            weight: 2_000_000,
            count: 1,
            time: None,
        });
        p
    }

    #[test]
    fn inlined_frames_share_one_location_and_round_trip() {
        let p = sample_profile();
        let msg = to_pprof(&p);
        // main's location and one location holding work + inlined helper.
        assert_eq!(msg.location.len(), 2);
        let inl = msg.location.iter().find(|l| l.line.len() == 2).unwrap();
        let first = &msg.function[inl.line[0].function_id as usize - 1];
        assert_eq!(msg.string_table[first.name as usize], "helper");
        assert_eq!(msg.mapping.len(), 1);
        assert_eq!(msg.mapping[0].memory_start, 0x1000);
        let bytes = encode(&p).unwrap();
        assert!(is_pprof(&bytes));
        let q = decode(&bytes, None).unwrap();
        assert_eq!(q.meta.unit, "ns");
        assert_eq!(q.meta.event, "cpu-clock");
        assert_eq!(q.total_weight(), 5_000_000);
        let stacks: Vec<String> = q
            .samples
            .iter()
            .map(|s| crate::profile::folded::stack_text(&q, s.stack, true))
            .collect();
        assert!(
            stacks.contains(&"main;work;helper_[i]".to_string()),
            "{stacks:?}"
        );
        assert_eq!(q.threads[0].tid, Tid(11));
        assert_eq!(q.str(q.threads[0].name), "worker");
        // One row per pprof sample (stack and thread), carrying its count.
        assert_eq!(q.samples.len(), 2);
        assert_eq!(crate::render::report::count_samples(&q), 4);
        let counts: Vec<u64> = q.samples.iter().map(|s| s.count).collect();
        assert_eq!(counts, [3, 1]);
        let q2 = decode(&bytes, Some("samples")).unwrap();
        assert_eq!(q2.total_weight(), 4);
        assert_eq!(crate::render::report::count_samples(&q2), 4);
        assert!(decode(&bytes, Some("alloc_space")).is_err());
    }

    #[test]
    fn folded_counts_become_sample_counts() {
        let p = crate::profile::folded::parse("main;work 5\nmain 2\n").unwrap();
        let q = decode(&encode(&p).unwrap(), None).unwrap();
        assert_eq!(q.meta.unit, "samples");
        assert_eq!(q.total_weight(), 7);
        assert_eq!(crate::render::report::count_samples(&q), 7);
        assert_eq!(q.samples.len(), 2);
    }

    #[test]
    fn merged_rows_write_their_counts() {
        // A recording's merged row of 3 samples and a single one: `samples/count` says 4, and
        // reading it back gives the same counts.
        let mut p = sample_profile();
        p.samples.truncate(1);
        p.samples[0].count = 3;
        p.samples[0].weight = 3_000_000;
        let s2 = p.samples[0].stack;
        let t = p.samples[0].thread;
        p.add_sample(Sample {
            stack: s2,
            thread: t,
            weight: 500,
            count: 1,
            time: None,
        });
        let msg = to_pprof(&p);
        assert_eq!(msg.sample.len(), 1);
        assert_eq!(msg.sample[0].value, [4, 3_000_500]);
        let q = decode(&encode(&p).unwrap(), None).unwrap();
        assert_eq!(q.samples[0].count, 4);
        assert_eq!(q.total_weight(), 3_000_500);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"\x0a\xff\xff\xff", None).is_err());
        assert!(decode(&[0x1f, 0x8b, 0, 0], None).is_err());
        assert!(!is_pprof(b"a;b 1\n"));
        assert!(!is_pprof(b"\nmain;work 3\nmain 1\n"));
        // A raw profile cut short, as detection sees the start of a stream.
        let raw = to_pprof(&sample_profile()).encode_to_vec();
        assert!(is_pprof(&raw));
        assert!(is_pprof(&raw[..raw.len() - 3]));
    }
}
