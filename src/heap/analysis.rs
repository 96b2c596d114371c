//! From one image's events to the answers: symbolized stacks, the exact peak and the live
//! blocks at that moment, what is left at exit, per-site counts (allocations, bytes,
//! temporary allocations), and the massif model ([`Massif`]) with snapshots over time, so every
//! massif view (ms_print text, chart, flame graph, `rprof massif FILE`) serves the heap profile.
//!
//! Time is massif's `B` unit: bytes allocated plus bytes freed so far. It needs no clock in the
//! target, it is deterministic, and it is what `valgrind --time-unit=B` writes.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use super::stream::{find_mapping, AddrMap, Event, Image, FREE, UNMATCHED};
use crate::massif::model::{significant, Massif, Node, Snapshot, TimeUnit, Tree, TreeKind};
use crate::symbolize::Symbolizer;

/// One code address of a stack, symbolized.
#[derive(Clone, Debug)]
pub struct Site {
    /// massif's node text: ` 0xADDR: function (file:line)` or ` 0xADDR: ??? (in /lib)`.
    pub label: String,
    /// `function (file:line)`, as summaries show it.
    pub name: String,
    /// Function names at this address, outermost first (inlined calls expanded).
    pub functions: Vec<String>,
    /// (function, file, line) innermost first, for pprof.
    pub lines: Vec<(String, String, u32)>,
    /// The address.
    pub address: u64,
}

/// The symbolized stacks of an image.
#[derive(Debug, Default)]
pub struct Stacks {
    /// Unique sites.
    pub sites: Vec<Site>,
    /// Per stack (dense index of the image): site indices, innermost (the allocating function)
    /// first, with the interposer's and the allocator's own frames removed and nothing below
    /// `main`.
    pub stacks: Vec<Vec<u32>>,
    /// Addresses that no module or symbol explained.
    pub unsymbolized: u64,
}

/// Functions that only pass an allocation on: looked through, as massif's `--alloc-fn` list.
fn is_allocator_frame(f: &str) -> bool {
    const EXACT: &[&str] = &[
        "malloc",
        "calloc",
        "realloc",
        "reallocarray",
        "free",
        "memalign",
        "posix_memalign",
        "aligned_alloc",
        "valloc",
        "pvalloc",
        "__rust_alloc",
        "__rust_alloc_zeroed",
        "__rust_realloc",
        "__rdl_alloc",
        "__rdl_alloc_zeroed",
        "__rdl_realloc",
        "__rg_alloc",
        "__rg_alloc_zeroed",
        "__rg_realloc",
    ];
    EXACT.contains(&f)
        || f.starts_with("operator new")
        || f.starts_with("alloc::alloc::")
        || f.starts_with("<alloc::alloc::Global")
        || f.starts_with("std::sys::alloc::")
        || f.starts_with("std::sys::pal::unix::alloc::")
        || f.starts_with("<std::alloc::System as core::alloc::global::GlobalAlloc>")
        || f.starts_with("__rustc::__rust_")
        || f.starts_with("__rustc::__rdl_")
}

fn below_main(f: &str) -> bool {
    matches!(
        f,
        "__libc_start_call_main" | "__libc_start_main" | "__libc_start_main_impl" | "_start"
    )
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Symbolizes every stack of `im` (with the stacks of the image it was forked from for ids
/// it inherited). `preload` is the interposer's path, whose frames are dropped.
pub fn symbolize(images: &[Image], idx: usize, sym: &mut Symbolizer, preload: &str) -> Stacks {
    let im = &images[idx];
    // An id the child never defined was defined by its parent before the fork.
    let resolve = |i: usize| -> &[u64] {
        let own = &im.stacks[i];
        if !own.is_empty() {
            return own;
        }
        let mut from = im.forked_from;
        let id = im.stack_ids.get(i).copied();
        while let (Some(p), Some(id)) = (from, id) {
            let pim = &images[p];
            if let Some(j) = pim.stack_index.get(id) {
                if !pim.stacks[j as usize].is_empty() {
                    return &pim.stacks[j as usize];
                }
            }
            from = pim.forked_from;
        }
        own
    };
    // Prefetch each module's offsets in parallel, as `record` does.
    let mut per_file: HashMap<String, Vec<u64>> = HashMap::new();
    let mut seen: FxHashMap<u64, ()> = FxHashMap::default();
    for i in 0..im.stacks.len() {
        for (k, &a) in resolve(i).iter().enumerate() {
            if seen.insert(a, ()).is_none() {
                if let Some(m) = find_mapping(&im.maps, a) {
                    if m.path != preload {
                        let off = a - m.start + m.offset;
                        per_file.entry(m.path.clone()).or_default().push(if k == 0 {
                            off
                        } else {
                            off.saturating_sub(1)
                        });
                    }
                }
            }
        }
    }
    sym.prefetch(per_file.into_iter().collect(), false);

    let mut out = Stacks::default();
    let mut site_of: FxHashMap<u64, Option<u32>> = FxHashMap::default();
    for i in 0..im.stacks.len() {
        let ips = resolve(i);
        let mut v: Vec<u32> = Vec::with_capacity(ips.len());
        for (k, &a) in ips.iter().enumerate() {
            let s = *site_of.entry(a).or_insert_with(|| {
                let m = find_mapping(&im.maps, a);
                if m.is_some_and(|m| m.path == preload) {
                    return None;
                }
                let (frames, path, off) = match m {
                    Some(m) => {
                        let off = a - m.start + m.offset;
                        let look = if k == 0 { off } else { off.saturating_sub(1) };
                        (sym.lookup_module(&m.path, look), m.path.as_str(), off)
                    }
                    None => (Vec::new().into(), "", a),
                };
                // Named after the innermost function at this address that is not the
                // allocator's own (Rust inlines `alloc::alloc::alloc` into its callers).
                let named = frames
                    .iter()
                    .rev()
                    .find(|f| !is_allocator_frame(&f.function))
                    .or(frames.last());
                let site = match named {
                    Some(f) => {
                        let loc = if f.file.is_empty() {
                            format!("(in {path})")
                        } else {
                            format!("({}:{})", basename(&f.file), f.line)
                        };
                        Site {
                            label: format!(" 0x{a:X}: {} {loc}", f.function),
                            name: format!("{} {loc}", f.function),
                            functions: frames.iter().map(|f| f.function.clone()).collect(),
                            lines: frames
                                .iter()
                                .rev()
                                .map(|f| (f.function.clone(), f.file.clone(), f.line))
                                .collect(),
                            address: a,
                        }
                    }
                    None => {
                        out.unsymbolized += 1;
                        let name = if path.is_empty() {
                            format!("[unknown] 0x{a:x}")
                        } else {
                            format!("??? (in {path})")
                        };
                        Site {
                            label: format!(" 0x{a:X}: {name}"),
                            functions: vec![if path.is_empty() {
                                "[unknown]".into()
                            } else {
                                // The file offset: the same in every run (the address
                                // moves with ASLR), so folded stacks of runs compare.
                                format!("{}+0x{:x}", basename(path), off)
                            }],
                            lines: vec![("[unknown]".into(), String::new(), 0)],
                            name,
                            address: a,
                        }
                    }
                };
                out.sites.push(site);
                Some(out.sites.len() as u32 - 1)
            });
            if let Some(s) = s {
                v.push(s);
            }
        }
        // The allocation functions themselves (libc's, operator new, Rust's allocator shims)
        // are the root of massif's tree, not sites.
        let skip = v
            .iter()
            .take_while(|&&s| {
                let f = &out.sites[s as usize].functions;
                f.first().is_some_and(|n| is_allocator_frame(n))
            })
            .count();
        v.drain(..skip.min(v.len().saturating_sub(1)));
        // Nothing below main, as valgrind shows it.
        if let Some(mpos) = v.iter().position(|&s| {
            out.sites[s as usize]
                .functions
                .first()
                .is_some_and(|f| f == "main")
        }) {
            v.truncate(mpos + 1);
        } else if let Some(bpos) = v.iter().position(|&s| {
            out.sites[s as usize]
                .functions
                .last()
                .is_some_and(|f| below_main(f))
        }) {
            if bpos > 0 {
                v.truncate(bpos);
            }
        }
        out.stacks.push(v);
    }
    out
}

/// Counts of one stack.
#[derive(Clone, Copy, Debug, Default)]
pub struct StackStats {
    /// Allocations made.
    pub allocs: u64,
    /// Bytes allocated.
    pub bytes: u64,
    /// Allocations freed before any other allocation happened (temporary).
    pub temporary: u64,
    /// Bytes live at the peak.
    pub peak_bytes: u64,
    /// Blocks live at the peak.
    pub peak_blocks: u64,
    /// Bytes live at exit.
    pub leak_bytes: u64,
    /// Blocks live at exit.
    pub leak_blocks: u64,
}

/// The analysis of one image.
#[derive(Debug)]
pub struct Analysis {
    /// Allocations.
    pub allocs: u64,
    /// Frees of known blocks.
    pub frees: u64,
    /// Frees of blocks never seen allocated (allocated before profiling started, or missed).
    pub unknown_frees: u64,
    /// Bytes allocated in total.
    pub bytes_allocated: u64,
    /// Temporary allocations.
    pub temporary: u64,
    /// Peak of live bytes.
    pub peak_bytes: u64,
    /// Blocks live at the peak.
    pub peak_blocks: u64,
    /// Time of the peak (bytes allocated + freed before it).
    pub peak_time: u64,
    /// Time at the end.
    pub end_time: u64,
    /// Live bytes and blocks at exit.
    pub leak_bytes: u64,
    /// Live blocks at exit.
    pub leak_blocks: u64,
    /// Bytes a forked child held from its start (its parent's live blocks at the fork).
    pub inherited_bytes: u64,
    /// Blocks a forked child held from its start.
    pub inherited_blocks: u64,
    /// Per stack.
    pub per_stack: Vec<StackStats>,
    /// The massif model: snapshots over time, detailed ones with trees, and the peak.
    pub massif: Massif,
}

/// How many snapshots the massif model gets (massif's own default maximum is 100).
const SNAPSHOTS: u64 = 60;
/// Every this many snapshots one is detailed (massif's default `--detailed-freq`).
const DETAILED_EVERY: usize = 10;
/// massif's default tree depth.
const DEPTH: usize = 30;

/// Matches each free to its allocation: a free's `size` becomes the index of its allocation
/// (or [`UNMATCHED`]). Returns the allocations that reused a live address without a free seen
/// (the free was missed): (event index, index of the old allocation).
pub fn match_frees(events: &mut [Event]) -> Vec<(usize, usize)> {
    let mut live = AddrMap::default();
    let mut implicit = Vec::new();
    for (i, e) in events.iter_mut().enumerate() {
        if e.stack == FREE {
            e.size = live.remove(e.ptr).map_or(UNMATCHED, u64::from);
        } else if let Some(old) = live.insert(e.ptr, i as u32) {
            implicit.push((i, old as usize));
        }
    }
    implicit
}

/// Replays the events of an image and computes everything. `matched` is what
/// [`Image::take_matched`](super::stream::Image::take_matched) gave (events in order, frees
/// matched while the target ran); without it the events are sorted and matched here.
/// The first `inherited` events are blocks a forked child got from its parent (sequence
/// number 0): live from the start, but not allocations of this image (no counts, no time).
pub fn analyze(
    events: &mut [Event],
    inherited: usize,
    matched: Option<Vec<(usize, usize)>>,
    st: &Stacks,
    cmd: &str,
) -> Analysis {
    let implicit = match matched {
        Some(m) => m,
        None => {
            if !events.windows(2).all(|w| w[0].seq <= w[1].seq) {
                events.sort_unstable_by_key(|e| e.seq);
            }
            match_frees(events)
        }
    };
    let n_stacks = st.stacks.len();
    let mut per = vec![StackStats::default(); n_stacks];
    // Pass 1: totals, per-stack counts, and the peak with its position.
    let (mut cur, mut peak_at, mut time, mut peak_time) = (0u64, None, 0u64, 0u64);
    let (mut allocs, mut frees, mut unknown, mut bytes, mut temp) = (0u64, 0, 0, 0u64, 0);
    let mut blocks = 0u64;
    let mut last_alloc: Option<usize> = None;
    let mut imp = implicit.iter().peekable();
    let inherited = inherited.min(events.len());
    for e in &events[..inherited] {
        cur += e.size;
        blocks += 1;
    }
    let mut peak = cur;
    let (inherited_bytes, inherited_blocks) = (cur, blocks);
    for (i, e) in events.iter().enumerate().skip(inherited) {
        if e.stack == FREE {
            if e.size == UNMATCHED {
                unknown += 1;
            } else {
                let j = e.size as usize;
                let a = events[j];
                frees += 1;
                blocks -= 1;
                cur -= a.size;
                time = time.saturating_add(a.size);
                if last_alloc == Some(j) {
                    temp += 1;
                    if let Some(p) = per.get_mut(a.stack as usize) {
                        p.temporary += 1;
                    }
                }
            }
            last_alloc = None;
        } else {
            while let Some(&&(at, old)) = imp.peek() {
                if at != i {
                    break;
                }
                cur -= events[old].size;
                blocks -= 1;
                imp.next();
            }
            allocs += 1;
            blocks += 1;
            bytes = bytes.saturating_add(e.size);
            time = time.saturating_add(e.size);
            if let Some(p) = per.get_mut(e.stack as usize) {
                p.allocs += 1;
                p.bytes = p.bytes.saturating_add(e.size);
            }
            cur += e.size;
            last_alloc = Some(i);
            if cur > peak {
                peak = cur;
                peak_at = Some(i);
                peak_time = time;
            }
        }
    }
    let end_time = time;
    let leak_blocks = blocks;

    // Pass 2: live bytes per stack over time, for the snapshots, the peak and the end.
    let mut m = Massif::new(
        cmd.to_string(),
        vec![" (rprof heap)".to_string()],
        TimeUnit::Bytes,
    );
    let mut live_b = vec![0u64; n_stacks];
    let mut live_n = vec![0u64; n_stacks];
    let (mut cur, mut time, mut blocks) = (0u64, 0u64, 0u64);
    let step = (end_time / SNAPSHOTS).max(1);
    let mut next_snap = step;
    let mut taken = 0usize;
    let mut peak_blocks = 0;
    let mut implicit = implicit.into_iter().peekable();
    for e in &events[..inherited] {
        cur += e.size;
        blocks += 1;
        if let Some(b) = live_b.get_mut(e.stack as usize) {
            *b += e.size;
            live_n[e.stack as usize] += 1;
        }
    }
    // A child that only frees what it inherited peaks at its start.
    let peak_at_start = peak_at.is_none() && cur > 0;
    if peak_at_start {
        for (p, (&b, &n)) in per.iter_mut().zip(live_b.iter().zip(&live_n)) {
            p.peak_bytes = b;
            p.peak_blocks = n;
        }
        peak_blocks = blocks;
    }
    let tree = peak_at_start.then(|| build_tree(&mut m, st, &live_b, cur));
    m.snapshots.push(Snapshot {
        num: 0,
        time: 0,
        heap: cur,
        extra: 0,
        stacks: 0,
        kind: if peak_at_start {
            TreeKind::Peak
        } else {
            TreeKind::Empty
        },
        tree,
    });
    let end_block = |a: &Event, cur: &mut u64, blocks: &mut u64, lb: &mut [u64], ln: &mut [u64]| {
        *cur -= a.size;
        *blocks -= 1;
        if let Some(b) = lb.get_mut(a.stack as usize) {
            *b -= a.size;
            ln[a.stack as usize] -= 1;
        }
    };
    for i in inherited..events.len() {
        let e = events[i];
        if e.stack == FREE {
            if e.size == UNMATCHED {
                continue;
            }
            let a = events[e.size as usize];
            time = time.saturating_add(a.size);
            end_block(&a, &mut cur, &mut blocks, &mut live_b, &mut live_n);
        } else {
            while let Some(&(at, old)) = implicit.peek() {
                if at != i {
                    break;
                }
                let a = events[old];
                end_block(&a, &mut cur, &mut blocks, &mut live_b, &mut live_n);
                implicit.next();
            }
            cur += e.size;
            blocks += 1;
            time = time.saturating_add(e.size);
            if let Some(b) = live_b.get_mut(e.stack as usize) {
                *b += e.size;
                live_n[e.stack as usize] += 1;
            }
        }
        let is_peak = Some(i) == peak_at;
        if is_peak {
            for (p, (&b, &n)) in per.iter_mut().zip(live_b.iter().zip(&live_n)) {
                p.peak_bytes = b;
                p.peak_blocks = n;
            }
            peak_blocks = blocks;
        }
        if is_peak || time >= next_snap {
            taken += 1;
            let detailed = is_peak || taken % DETAILED_EVERY == 0;
            let tree = detailed.then(|| build_tree(&mut m, st, &live_b, cur));
            let num = m.snapshots.len() as u64;
            m.snapshots.push(Snapshot {
                num,
                time,
                heap: cur,
                extra: 0,
                stacks: 0,
                kind: if is_peak {
                    TreeKind::Peak
                } else if detailed {
                    TreeKind::Detailed
                } else {
                    TreeKind::Empty
                },
                tree,
            });
            while next_snap <= time {
                next_snap = next_snap.saturating_add(step);
            }
        }
    }
    // The end, detailed: what is still allocated at exit.
    let tree = build_tree(&mut m, st, &live_b, cur);
    let num = m.snapshots.len() as u64;
    m.snapshots.push(Snapshot {
        num,
        time,
        heap: cur,
        extra: 0,
        stacks: 0,
        kind: TreeKind::Detailed,
        tree: Some(tree),
    });
    for (p, (&b, &n)) in per.iter_mut().zip(live_b.iter().zip(&live_n)) {
        p.leak_bytes = b;
        p.leak_blocks = n;
    }
    Analysis {
        allocs,
        frees,
        unknown_frees: unknown,
        bytes_allocated: bytes,
        temporary: temp,
        peak_bytes: peak,
        peak_blocks,
        peak_time,
        end_time,
        leak_bytes: cur,
        leak_blocks,
        inherited_bytes,
        inherited_blocks,
        per_stack: per,
        massif: m,
    }
}

/// A trie node while building a tree.
#[derive(Default)]
struct TNode {
    bytes: u64,
    children: FxHashMap<u32, usize>,
}

/// massif's allocation tree for the live bytes per stack: the root (the allocation
/// functions), then the allocating functions, then their callers; entries under massif's 1%
/// threshold merged into one `in N places` entry per parent.
fn build_tree(m: &mut Massif, st: &Stacks, live_b: &[u64], total: u64) -> Tree {
    let mut nodes: Vec<TNode> = vec![TNode::default()];
    for (s, &b) in live_b.iter().enumerate() {
        if b == 0 {
            continue;
        }
        nodes[0].bytes += b;
        let mut at = 0usize;
        for &site in st.stacks[s].iter().take(DEPTH) {
            let next = match nodes[at].children.get(&site) {
                Some(&n) => n,
                None => {
                    nodes.push(TNode::default());
                    let n = nodes.len() - 1;
                    nodes[at].children.insert(site, n);
                    n
                }
            };
            nodes[next].bytes += b;
            at = next;
        }
    }
    let root_label =
        m.intern_bytes(b" (heap allocation functions) malloc/new/new[], --alloc-fns, etc.");
    let mut tree = Tree::default();
    emit(m, st, &nodes, 0, root_label, total, &mut tree);
    tree
}

fn emit(
    m: &mut Massif,
    st: &Stacks,
    nodes: &[TNode],
    at: usize,
    label: u32,
    total: u64,
    tree: &mut Tree,
) {
    let me = tree.nodes.len();
    tree.nodes.push(Node {
        bytes: nodes[at].bytes,
        label,
        children: 0,
        end: 0,
        merged: 0,
    });
    let mut kids: Vec<(u64, u32, usize)> = nodes[at]
        .children
        .iter()
        .map(|(&site, &n)| (nodes[n].bytes, site, n))
        .collect();
    // Biggest first; ties by name, so the output does not depend on hashing.
    kids.sort_by(|a, b| {
        b.0.cmp(&a.0).then_with(|| {
            st.sites[a.1 as usize]
                .label
                .cmp(&st.sites[b.1 as usize].label)
        })
    });
    let (big, small): (Vec<_>, Vec<_>) = kids
        .into_iter()
        .partition(|k| significant(false, k.0, total, 1.0));
    let mut count = 0u32;
    for (_, site, n) in big {
        let l = m.intern_bytes(st.sites[site as usize].label.as_bytes());
        emit(m, st, nodes, n, l, total, tree);
        count += 1;
    }
    if !small.is_empty() {
        let bytes: u64 = small.iter().map(|k| k.0).sum();
        let text = format!(
            " in {} place{}, all below massif's threshold (1.00%)",
            small.len(),
            if small.len() == 1 { "" } else { "s" }
        );
        let l = m.intern_bytes(text.as_bytes());
        tree.nodes.push(Node {
            bytes,
            label: l,
            children: 0,
            end: tree.nodes.len() as u32 + 1,
            merged: 0,
        });
        count += 1;
    }
    tree.nodes[me].children = count;
    tree.nodes[me].end = tree.nodes.len() as u32;
}
