//! Decoding the interposer's stream (the format is described in preload/src/lib.rs) into one
//! [`Image`] per process image: its allocation and free events, its interned stacks and its
//! memory maps. Every datagram is checked: a short or foreign one is counted as bad and
//! skipped, never trusted, since the target is an arbitrary program that could write anything
//! to the socket.

use rustc_hash::FxHashMap;

/// Magic at the start of each datagram ("RPH1").
pub const MAGIC: u32 = 0x3148_5052;
const K_EVENTS: u32 = 1;
const K_MAPS: u32 = 2;
const K_MAPS_END: u32 = 3;
const K_START: u32 = 4;
const K_FORK: u32 = 5;
const K_END: u32 = 6;
const HDR: usize = 16;
/// Stack ids beyond this many per image are refused (a bound on memory).
const MAX_STACKS: usize = 1 << 24;

/// Most events kept per image (the analysis indexes them with u32).
const MAX_EVENTS: usize = u32::MAX as usize - 1;

/// Marks a free in [`Event::stack`].
pub const FREE: u32 = u32::MAX;

/// One allocation or free.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// Order within the image (one counter shared by its threads).
    pub seq: u64,
    /// The block's address.
    pub ptr: u64,
    /// Bytes asked for (0 for a free).
    pub size: u64,
    /// Dense stack index in [`Image::stacks`], or [`FREE`].
    pub stack: u32,
}

/// An executable mapping: addresses `start..end` show file `path` from `offset`.
#[derive(Clone, Debug)]
pub struct Mapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// File offset at `start`.
    pub offset: u64,
    /// The file (or `[vdso]`).
    pub path: String,
}

/// One process image: a process from its start (or fork) to its exec or exit.
#[derive(Debug, Default)]
pub struct Image {
    /// Its pid.
    pub pid: u32,
    /// The image it was forked from, when it is a forked child.
    pub forked_from: Option<usize>,
    /// The parent's event counter at the fork (a forked child's): the parent's events numbered
    /// below it came before the fork.
    pub fork_seq: Option<u64>,
    /// Blocks the image inherited from its parent at the fork, placed at the start of
    /// [`Image::events`] by [`Stream::inherit`]: live from the start, not its allocations.
    pub inherited: usize,
    /// The image of the same pid that exec'd into this one, when it was started by exec.
    pub exec_from: Option<usize>,
    /// The parent's pid as the image saw it at its start (not for forked children, which have
    /// [`Image::forked_from`]).
    pub parent_pid: Option<u32>,
    /// Its command line, read from /proc when it announced itself.
    pub command: String,
    /// Events in arrival order (sorted by `seq` before analysis).
    pub events: Vec<Event>,
    /// Return addresses of each stack, innermost first.
    pub stacks: Vec<Box<[u64]>>,
    /// Stack ids as sent → index in `stacks`.
    pub stack_index: StackIndex,
    /// Index in `stacks` → the id as sent.
    pub stack_ids: Vec<u32>,
    /// Executable mappings, newest maps text last.
    pub maps: Vec<Mapping>,
    /// Thread ids seen.
    pub threads: Vec<u32>,
    /// Allocations the interposer could not record (reentrant calls).
    pub missed: u64,
    /// Stacks where the interposer's fast unwinder and libgcc's disagreed (only counted when
    /// RPROF_HEAP_VERIFY=1 is set for the target).
    pub mismatches: u64,
    /// The image reported its exit (so its stream is complete).
    pub ended: bool,
    /// Ended by exec into a new image.
    pub exec_replaced: bool,
    maps_text: FxHashMap<u32, Vec<u8>>,
    /// Frees matched to their allocations while the target runs, as long as events arrive in
    /// order (one thread): the analysis then has no map to build.
    matcher: Option<Matcher>,
}

/// Stack id as sent → dense index. The interposer numbers stacks from one counter, so ids
/// below [`DENSE_IDS`] are looked up in a vector (one lookup per allocation event: a hash
/// lookup there was a tenth of rprof's time on an allocation-heavy run); others, which only a
/// foreign sender would use, in a map.
#[derive(Debug, Default)]
pub struct StackIndex {
    dense: Vec<u32>,
    sparse: FxHashMap<u32, u32>,
}

/// Ids below this are kept in [`StackIndex`]'s vector (at most 16 MiB of it).
const DENSE_IDS: u32 = 1 << 22;

impl StackIndex {
    /// The dense index of `id`.
    #[inline]
    pub fn get(&self, id: u32) -> Option<u32> {
        if id < DENSE_IDS {
            self.dense
                .get(id as usize)
                .copied()
                .filter(|&i| i != u32::MAX)
        } else {
            self.sparse.get(&id).copied()
        }
    }

    fn insert(&mut self, id: u32, i: u32) {
        if id < DENSE_IDS {
            let at = id as usize;
            if self.dense.len() <= at {
                self.dense.resize(at + 1, u32::MAX);
            }
            self.dense[at] = i;
        } else {
            self.sparse.insert(id, i);
        }
    }
}

/// Hashes a block address for the matcher's map: within a 1 KiB window the address bits
/// themselves pick the bucket, so blocks allocated near each other (malloc hands out
/// neighbouring addresses) sit in neighbouring buckets and a burst of allocations or frees
/// walks memory instead of jumping around a table bigger than the cache (on 4.06M malloc/free
/// pairs the map's share of rprof's time fell by about 40%). The window itself is hashed, so
/// blocks on page or larger alignments (posix_memalign, mmap-served blocks) still spread over
/// the table; the top seven bits, which hashbrown uses as a tag to tell entries of a group
/// apart, come from a multiplicative mix.
#[derive(Clone, Copy, Default)]
pub struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        // Blocks are 16-byte aligned: address / 16 within a 1 KiB window picks one of 64
        // neighbouring buckets; which window, a multiplicative hash of the rest.
        let a = self.0 >> 4;
        let window = (a >> 6).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20;
        let mix = self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        ((a & 63) | (window << 6)) & ((1 << 57) - 1) | (mix & (0x7f << 57))
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

/// Block address → event index: the map that matches every free to its allocation, one
/// insert and one remove per block. Open addressing with linear probing over [`AddrHasher`]'s
/// hash and backward-shift deletion (no tombstones, so a program that allocates and frees
/// millions of blocks never makes it rehash in place): for neighbouring addresses the probes
/// touch neighbouring memory. It replaced a `HashMap`, which was half of rprof's own time on
/// an allocation-heavy run.
#[derive(Debug, Clone)]
pub struct AddrMap {
    /// Keys; 0 marks an empty slot (address 0 is kept in `zero`).
    keys: Vec<u64>,
    vals: Vec<u32>,
    len: usize,
    zero: Option<u32>,
}

impl Default for AddrMap {
    fn default() -> Self {
        AddrMap {
            keys: vec![0; 1024],
            vals: vec![0; 1024],
            len: 0,
            zero: None,
        }
    }
}

impl AddrMap {
    #[inline]
    fn home(&self, k: u64) -> usize {
        use std::hash::Hasher;
        let mut h = AddrHasher::default();
        h.write_u64(k);
        h.finish() as usize & (self.keys.len() - 1)
    }

    /// Sets `k` to `v`; the value it had, if any.
    #[inline]
    pub fn insert(&mut self, k: u64, v: u32) -> Option<u32> {
        if k == 0 {
            return self.zero.replace(v);
        }
        if (self.len + 1) * 2 > self.keys.len() {
            self.grow();
        }
        let mask = self.keys.len() - 1;
        let mut i = self.home(k);
        loop {
            let c = self.keys[i];
            if c == 0 {
                self.keys[i] = k;
                self.vals[i] = v;
                self.len += 1;
                return None;
            }
            if c == k {
                return Some(std::mem::replace(&mut self.vals[i], v));
            }
            i = (i + 1) & mask;
        }
    }

    /// Removes `k`; its value, if it was there.
    #[inline]
    pub fn remove(&mut self, k: u64) -> Option<u32> {
        if k == 0 {
            return self.zero.take();
        }
        let mask = self.keys.len() - 1;
        let mut i = self.home(k);
        loop {
            let c = self.keys[i];
            if c == 0 {
                return None;
            }
            if c == k {
                break;
            }
            i = (i + 1) & mask;
        }
        let v = self.vals[i];
        // Backward shift: later entries of the run move into the hole unless that would put
        // them before their home slot.
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let c = self.keys[j];
            if c == 0 {
                break;
            }
            let home = self.home(c);
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.keys[hole] = c;
                self.vals[hole] = self.vals[j];
                hole = j;
            }
        }
        self.keys[hole] = 0;
        self.len -= 1;
        Some(v)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len + usize::from(self.zero.is_some())
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn grow(&mut self) {
        let n = self.keys.len() * 2;
        let keys = std::mem::replace(&mut self.keys, vec![0; n]);
        let vals = std::mem::replace(&mut self.vals, vec![0; n]);
        let mask = n - 1;
        for (k, v) in keys.into_iter().zip(vals) {
            if k != 0 {
                let mut i = self.home(k);
                while self.keys[i] != 0 {
                    i = (i + 1) & mask;
                }
                self.keys[i] = k;
                self.vals[i] = v;
            }
        }
    }
}

/// Matches frees to allocations as events arrive (see [`Image::take_matched`]).
#[derive(Debug, Default)]
struct Matcher {
    live: AddrMap,
    next_seq: u64,
    implicit: Vec<(usize, usize)>,
}

/// In a matched free's [`Event::size`]: no allocation of that address was seen.
pub const UNMATCHED: u64 = u64::MAX;

impl Image {
    /// When every event arrived in order, the events with each free's `size` already
    /// rewritten to the index of its allocation (or [`UNMATCHED`]), and the allocations that
    /// reused a live address without a free seen (event index, old allocation index).
    pub fn take_matched(&mut self) -> Option<Vec<(usize, usize)>> {
        self.matcher.take().map(|m| m.implicit)
    }

    /// Feeds the matcher the event just pushed; an event out of order ends matching here.
    fn match_last(&mut self) {
        let Some(m) = self.matcher.as_mut() else {
            return;
        };
        let i = self.events.len() - 1;
        let e = &mut self.events[i];
        if e.seq < m.next_seq {
            self.matcher = None;
            return;
        }
        m.next_seq = e.seq + 1;
        if e.stack == FREE {
            e.size = m.live.remove(e.ptr).map_or(UNMATCHED, u64::from);
        } else if let Some(old) = m.live.insert(e.ptr, i as u32) {
            m.implicit.push((i, old as usize));
        }
    }

    /// Dense index of stack id `id`, creating an empty (unknown) stack for an id not defined
    /// yet: its definition may still come in another thread's batch.
    fn stack_slot(&mut self, id: u32) -> Option<u32> {
        if let Some(i) = self.stack_index.get(id) {
            return Some(i);
        }
        if self.stacks.len() >= MAX_STACKS {
            return None;
        }
        let i = self.stacks.len() as u32;
        self.stacks.push(Box::new([]));
        self.stack_ids.push(id);
        self.stack_index.insert(id, i);
        Some(i)
    }
}

/// Everything received, by image.
#[derive(Debug, Default)]
pub struct Stream {
    /// Images in order of appearance.
    pub images: Vec<Image>,
    /// pid → index of its current image.
    current: FxHashMap<u32, usize>,
    /// Datagrams that were not valid (wrong magic, truncated records).
    pub bad: u64,
    /// Datagrams received.
    pub datagrams: u64,
    /// Bytes received.
    pub bytes: u64,
}

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    b.get(o..o + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    let s = b.get(o..o + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Reads a process's command line (bounded), for naming its image.
fn command_of(pid: u32) -> String {
    use std::io::Read;
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(format!("/proc/{pid}/cmdline")) {
        let _ = f.take(4096).read_to_end(&mut buf);
    }
    command_text(&buf)
}

/// A NUL-separated command line as one line of text.
fn command_text(buf: &[u8]) -> String {
    let s: Vec<String> = buf
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    s.join(" ")
}

impl Stream {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    fn image_for(&mut self, pid: u32) -> usize {
        if let Some(&i) = self.current.get(&pid) {
            return i;
        }
        // Events from a pid never announced (its start was lost): an image of its own.
        self.new_image(pid, None)
    }

    fn new_image(&mut self, pid: u32, forked_from: Option<usize>) -> usize {
        let i = self.images.len();
        let mut im = Image {
            pid,
            forked_from,
            command: if forked_from.is_some() {
                String::new()
            } else {
                command_of(pid)
            },
            matcher: Some(Matcher::default()),
            ..Image::default()
        };
        if let Some(p) = forked_from {
            // A forked child runs the parent's code at the same addresses, under the parent's
            // command line (until it execs).
            im.maps = self.images[p].maps.clone();
            im.command = self.images[p].command.clone();
        }
        self.images.push(im);
        self.current.insert(pid, i);
        i
    }

    /// Takes one datagram.
    pub fn push(&mut self, d: &[u8]) {
        self.datagrams += 1;
        self.bytes += d.len() as u64;
        let (Some(magic), Some(kind), Some(pid), Some(tid)) =
            (u32_at(d, 0), u32_at(d, 4), u32_at(d, 8), u32_at(d, 12))
        else {
            self.bad += 1;
            return;
        };
        if magic != MAGIC {
            self.bad += 1;
            return;
        }
        let body = &d[HDR..];
        match kind {
            K_START => {
                let old = self.current.get(&pid).copied();
                if let Some(old) = old {
                    self.images[old].exec_replaced = true;
                }
                let i = self.new_image(pid, None);
                self.images[i].exec_from = old;
                // The parent's pid, then the command line as the image saw it at its start
                // (rprof's own look at /proc may come after another exec, or after the exit).
                if let Some(pp) = u32_at(body, 0) {
                    self.images[i].parent_pid = Some(pp);
                    let cmd = command_text(&body[4..]);
                    if !cmd.is_empty() {
                        self.images[i].command = cmd;
                    }
                }
            }
            K_FORK => {
                let parent = u32_at(body, 0).and_then(|pp| self.current.get(&pp).copied());
                let i = self.new_image(pid, parent);
                self.images[i].fork_seq = u64_at(body, 4);
            }
            K_END => {
                let i = self.image_for(pid);
                self.images[i].ended = true;
            }
            K_MAPS => {
                let i = self.image_for(pid);
                let t = self.images[i].maps_text.entry(tid).or_default();
                // Bounded: a maps text above 64 MiB is not a real one.
                if t.len() + body.len() <= 64 << 20 {
                    t.extend_from_slice(body);
                }
            }
            K_MAPS_END => {
                let i = self.image_for(pid);
                let im = &mut self.images[i];
                if let Some(text) = im.maps_text.remove(&tid) {
                    let new = parse_maps(&text);
                    if !new.is_empty() {
                        im.maps = new;
                    }
                }
            }
            K_EVENTS => {
                let i = self.image_for(pid);
                if !self.decode_events(i, tid, body) {
                    self.bad += 1;
                }
            }
            _ => self.bad += 1,
        }
    }

    /// Decodes a batch; false when it ends in a broken record (what came before is kept).
    fn decode_events(&mut self, i: usize, tid: u32, b: &[u8]) -> bool {
        let im = &mut self.images[i];
        if !im.threads.contains(&tid) {
            im.threads.push(tid);
        }
        let mut o = 0;
        while o < b.len() {
            match b[o] {
                1 => {
                    let (Some(seq), Some(ptr), Some(size), Some(id)) = (
                        u64_at(b, o + 1),
                        u64_at(b, o + 9),
                        u64_at(b, o + 17),
                        u32_at(b, o + 25),
                    ) else {
                        return false;
                    };
                    let Some(stack) = im.stack_slot(id) else {
                        return false;
                    };
                    // The analysis indexes events with u32.
                    if im.events.len() >= MAX_EVENTS {
                        return false;
                    }
                    im.events.push(Event {
                        seq,
                        ptr,
                        size,
                        stack,
                    });
                    im.match_last();
                    o += 29;
                }
                2 => {
                    let (Some(seq), Some(ptr)) = (u64_at(b, o + 1), u64_at(b, o + 9)) else {
                        return false;
                    };
                    if im.events.len() >= MAX_EVENTS {
                        return false;
                    }
                    im.events.push(Event {
                        seq,
                        ptr,
                        size: 0,
                        stack: FREE,
                    });
                    im.match_last();
                    o += 17;
                }
                3 => {
                    let (Some(id), Some(&n)) = (u32_at(b, o + 1), b.get(o + 5)) else {
                        return false;
                    };
                    let n = usize::from(n);
                    let Some(raw) = b.get(o + 6..o + 6 + 8 * n) else {
                        return false;
                    };
                    let ips: Box<[u64]> =
                        raw.chunks_exact(8).filter_map(|c| u64_at(c, 0)).collect();
                    let Some(slot) = im.stack_slot(id) else {
                        return false;
                    };
                    im.stacks[slot as usize] = ips;
                    o += 6 + 8 * n;
                }
                4 => {
                    let Some(m) = u64_at(b, o + 1) else {
                        return false;
                    };
                    im.missed = im.missed.saturating_add(m);
                    o += 9;
                }
                5 => {
                    let Some(m) = u64_at(b, o + 1) else {
                        return false;
                    };
                    im.mismatches = im.mismatches.saturating_add(m);
                    o += 9;
                }
                _ => return false,
            }
        }
        true
    }
}

/// A block a child inherits: (address, size, stack id as sent).
type Gift = (u64, u64, u32);

impl Stream {
    /// Gives every forked child the blocks its parent held at the fork, as allocations with
    /// sequence number 0 at the start of its events ([`Image::inherited`] of them): they are
    /// in the child's heap, as massif counts them, and the child's frees of them are known
    /// frees. Parents come before their children in `images`, so a grandchild also gets what
    /// its parent inherited.
    pub fn inherit(&mut self) {
        for p in 0..self.images.len() {
            let mut kids: Vec<(u64, usize)> = (p + 1..self.images.len())
                .filter(|&c| self.images[c].forked_from == Some(p))
                .filter_map(|c| self.images[c].fork_seq.map(|s| (s, c)))
                .collect();
            if kids.is_empty() {
                continue;
            }
            kids.sort_unstable();
            let parent = &self.images[p];
            let mut order: Vec<u32> = (0..parent.events.len() as u32).collect();
            if !parent.events.windows(2).all(|w| w[0].seq <= w[1].seq) {
                order.sort_by_key(|&i| parent.events[i as usize].seq);
            }
            // Replay up to each fork: address -> (size, stack id as sent).
            let mut live: FxHashMap<u64, (u64, u32)> = FxHashMap::default();
            let mut at = 0usize;
            let mut gifts: Vec<(usize, Vec<Gift>)> = Vec::with_capacity(kids.len());
            for (fork_seq, c) in kids {
                while let Some(&i) = order.get(at) {
                    let e = parent.events[i as usize];
                    if e.seq >= fork_seq {
                        break;
                    }
                    if e.stack == FREE {
                        live.remove(&e.ptr);
                    } else {
                        let id = parent.stack_ids.get(e.stack as usize).copied();
                        live.insert(e.ptr, (e.size, id.unwrap_or(u32::MAX)));
                    }
                    at += 1;
                }
                let mut blocks: Vec<Gift> = live.iter().map(|(&p, &(s, id))| (p, s, id)).collect();
                blocks.sort_unstable();
                gifts.push((c, blocks));
            }
            for (c, blocks) in gifts {
                let child = &mut self.images[c];
                let mut events = Vec::with_capacity(blocks.len() + child.events.len());
                for (ptr, size, id) in blocks {
                    let Some(stack) = child.stack_slot(id) else {
                        continue;
                    };
                    events.push(Event {
                        seq: 0,
                        ptr,
                        size,
                        stack,
                    });
                }
                child.inherited = events.len();
                if child.inherited > 0 {
                    events.append(&mut child.events);
                    child.events = events;
                    // Event indices moved: the analysis matches frees itself.
                    child.matcher = None;
                }
            }
        }
    }
}

/// The executable mappings of a `/proc/PID/maps` text.
pub fn parse_maps(text: &[u8]) -> Vec<Mapping> {
    let text = String::from_utf8_lossy(text);
    let mut v = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(6, ' ');
        let (Some(range), Some(perms), Some(off), Some(_dev), Some(_ino)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let path = f.next().unwrap_or("").trim_start();
        if !perms.contains('x') || path.is_empty() {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end), Ok(offset)) = (
            u64::from_str_radix(a, 16),
            u64::from_str_radix(b, 16),
            u64::from_str_radix(off, 16),
        ) else {
            continue;
        };
        v.push(Mapping {
            start,
            end,
            offset,
            path: path.to_string(),
        });
    }
    v.sort_by_key(|m| m.start);
    v
}

/// The mapping holding `addr`.
pub fn find_mapping(maps: &[Mapping], addr: u64) -> Option<&Mapping> {
    let i = maps.partition_point(|m| m.start <= addr);
    let m = maps.get(i.checked_sub(1)?)?;
    (addr < m.end).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn dgram(kind: u32, pid: u32, tid: u32, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [MAGIC, kind, pid, tid] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn decodes_events_stacks_and_bad_input() {
        let mut s = Stream::new();
        s.push(&dgram(K_START, 10, 10, &[]));
        let mut b = vec![3u8];
        b.extend_from_slice(&7u32.to_le_bytes());
        b.push(2);
        b.extend_from_slice(&0x1000u64.to_le_bytes());
        b.extend_from_slice(&0x2000u64.to_le_bytes());
        b.push(1);
        for x in [0u64, 0xabc, 100] {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b.extend_from_slice(&7u32.to_le_bytes());
        b.push(2);
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&0xabcu64.to_le_bytes());
        s.push(&dgram(K_EVENTS, 10, 10, &b));
        let im = &s.images[0];
        assert_eq!(im.events.len(), 2);
        assert_eq!(im.events[0].size, 100);
        assert_eq!(&*im.stacks[im.events[0].stack as usize], &[0x1000, 0x2000]);
        assert_eq!(im.events[1].stack, FREE);
        // Garbage and a truncated record are counted, not trusted.
        s.push(b"nonsense");
        s.push(&dgram(K_EVENTS, 10, 10, &[1, 2, 3]));
        assert_eq!(s.bad, 2);
        assert_eq!(s.images[0].events.len(), 2);
    }

    fn alloc(seq: u64, ptr: u64, size: u64, id: u32) -> Vec<u8> {
        let mut b = vec![1u8];
        for x in [seq, ptr, size] {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b.extend_from_slice(&id.to_le_bytes());
        b
    }

    fn free(seq: u64, ptr: u64) -> Vec<u8> {
        let mut b = vec![2u8];
        b.extend_from_slice(&seq.to_le_bytes());
        b.extend_from_slice(&ptr.to_le_bytes());
        b
    }

    #[test]
    fn forked_child_inherits_the_blocks_live_at_the_fork() {
        let mut s = Stream::new();
        let mut start = 1u32.to_le_bytes().to_vec();
        start.extend_from_slice(b"./prog\0arg\0");
        s.push(&dgram(K_START, 10, 10, &start));
        // Before the fork (seq < 3): 0xa and 0xb allocated, 0xa freed; after it 0xc.
        let mut b = alloc(0, 0xa, 100, 7);
        b.extend(alloc(1, 0xb, 200, 8));
        b.extend(free(2, 0xa));
        b.extend(alloc(3, 0xc, 300, 7));
        s.push(&dgram(K_EVENTS, 10, 10, &b));
        let mut fork = 10u32.to_le_bytes().to_vec();
        fork.extend_from_slice(&3u64.to_le_bytes());
        s.push(&dgram(K_FORK, 11, 11, &fork));
        s.push(&dgram(K_EVENTS, 11, 11, &free(3, 0xb)));
        s.inherit();
        let child = &s.images[1];
        assert_eq!(child.forked_from, Some(0));
        assert_eq!(child.command, "./prog arg");
        assert_eq!(s.images[0].parent_pid, Some(1));
        assert_eq!(child.inherited, 1);
        let e = child.events[0];
        assert_eq!((e.seq, e.ptr, e.size), (0, 0xb, 200));
        // The inherited stack keeps the parent's id, so it resolves through the parent.
        assert_eq!(child.stack_ids[e.stack as usize], 8);
        assert_eq!(child.events[1].stack, FREE);
    }

    #[test]
    fn addr_hash_spreads_aligned_blocks_and_keeps_neighbours_near() {
        use std::hash::Hasher;
        let h = |x: u64| {
            let mut s = AddrHasher::default();
            s.write_u64(x);
            s.finish()
        };
        // 65,536 page- or MiB-aligned blocks in a 2^20-bucket table: spread over its 16,384
        // windows of 64 buckets, none crowded past two groups of 16.
        for align in [4096u64, 1 << 20] {
            let mut per_window: HashMap<u64, u32> = HashMap::new();
            for i in 0..65_536u64 {
                *per_window
                    .entry((h(0x5555_0000_0000 + i * align) & 0xf_ffff) >> 6)
                    .or_default() += 1;
            }
            let max = per_window.values().copied().max().unwrap_or(0);
            assert!(
                per_window.len() > 15_000 && max <= 32,
                "{align}: {} {max}",
                per_window.len()
            );
        }
        // Neighbouring 32-byte blocks land within a few buckets of each other.
        let a = h(0x5555_0000_1000) & 0xffff;
        let b = h(0x5555_0000_1020) & 0xffff;
        assert!(a.abs_diff(b) <= 16, "{a} {b}");
    }

    #[test]
    fn addr_map_agrees_with_a_hash_map() {
        // Neighbouring, aligned and colliding addresses, address 0, reinserts and removals of
        // absent keys, through several growths: the same answers as std's HashMap.
        let mut m = AddrMap::default();
        let mut r: HashMap<u64, u32> = HashMap::new();
        let mut x = 0x1234_5678u64;
        for i in 0..200_000u32 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let k = match x % 5 {
                0 => 0x5555_0000_0000 + u64::from(i % 5000) * 32,
                1 => 0x7f00_0000_0000 + (x >> 40) % 4096 * 4096,
                2 => (x >> 33) % 64,
                3 => 0x5555_0000_0000 + (x >> 30) % 300_000 * 16,
                _ => x >> 3,
            };
            if x >> 61 < 4 {
                assert_eq!(m.insert(k, i), r.insert(k, i), "insert {k:#x}");
            } else {
                assert_eq!(m.remove(k), r.remove(&k), "remove {k:#x}");
            }
            assert_eq!(m.len(), r.len());
        }
        for (k, v) in r {
            assert_eq!(m.remove(k), Some(v));
        }
        assert!(m.is_empty());
    }

    #[test]
    fn parses_executable_maps() {
        let t = b"55d0a0000000-55d0a0001000 r--p 00000000 08:01 12 /usr/bin/x\n\
55d0a0001000-55d0a0002000 r-xp 00001000 08:01 12 /usr/bin/x\n\
7ffd1000-7ffd2000 r-xp 00000000 00:00 0 [vdso]\n";
        let m = parse_maps(t);
        assert_eq!(m.len(), 2);
        let hit = find_mapping(&m, 0x55d0a0001234).expect("mapped");
        assert_eq!((hit.path.as_str(), hit.offset), ("/usr/bin/x", 0x1000));
        assert!(find_mapping(&m, 0x10).is_none());
    }
}
