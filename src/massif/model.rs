//! The parsed massif profile: header, snapshot table and compact allocation trees.
//!
//! Trees are stored flat, in the file's pre-order, one 24-byte [`Node`] per tree line, with the
//! node's text (`0xADDR: function (file:line)`) interned once per profile. Large massif files
//! repeat the same few thousand call sites in every detailed snapshot, so this keeps memory a
//! small fraction of the file size while still allowing every tree to be printed afterwards.
//! Entries below the print threshold may have been summed into "merged" nodes while parsing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A small multiplicative hasher (the FxHash scheme) for interning node texts: SipHash's
/// flooding resistance buys nothing here and costs a large share of the parse time.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The unit of the `time=` values (`time_unit:` header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// Instructions executed (`i`).
    Instructions,
    /// Milliseconds of run time (`ms`).
    Milliseconds,
    /// Bytes allocated and freed so far (`B`).
    Bytes,
}

impl TimeUnit {
    /// Parses the header value.
    pub fn parse(s: &str) -> Option<TimeUnit> {
        match s {
            "i" => Some(TimeUnit::Instructions),
            "ms" => Some(TimeUnit::Milliseconds),
            "B" => Some(TimeUnit::Bytes),
            _ => None,
        }
    }

    /// The header spelling (`i`, `ms`, `B`).
    pub fn short(self) -> &'static str {
        match self {
            TimeUnit::Instructions => "i",
            TimeUnit::Milliseconds => "ms",
            TimeUnit::Bytes => "B",
        }
    }

    /// Words for people.
    pub fn long(self) -> &'static str {
        match self {
            TimeUnit::Instructions => "instructions executed",
            TimeUnit::Milliseconds => "milliseconds",
            TimeUnit::Bytes => "bytes allocated/freed",
        }
    }
}

/// What kind of tree a snapshot carries (`heap_tree=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TreeKind {
    /// Totals only.
    Empty,
    /// With an allocation tree.
    Detailed,
    /// With an allocation tree, and massif's peak.
    Peak,
}

/// One node of an allocation tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    /// Bytes held by this node and everything below it.
    pub bytes: u64,
    /// Index into [`Massif::labels`] of the text after the byte count.
    pub label: u32,
    /// Number of direct children.
    pub children: u32,
    /// Index just past this node's subtree in [`Tree::nodes`], to skip subtrees in O(1).
    pub end: u32,
    /// 0 for a node read from the file. Otherwise this node stands for that many siblings
    /// (and their subtrees) that were below the print threshold and dropped while parsing;
    /// `bytes` is their sum.
    pub merged: u32,
}

/// Label id of merged nodes (they have no text in the file).
pub const MERGED_LABEL: u32 = u32::MAX;

/// Sum that stops at u64::MAX: byte counts come from the file and may be absurd.
pub fn sat_sum(it: impl IntoIterator<Item = u64>) -> u64 {
    it.into_iter().fold(0, u64::saturating_add)
}

/// Text shown for merged nodes.
pub const MERGED_TEXT: &str = " in several places, all below the print threshold";

/// ms_print's rule for printing a tree entry: the root always; everything when the threshold
/// is 0; otherwise entries holding at least `threshold` percent of the snapshot's total.
pub fn significant(is_top: bool, bytes: u64, total: u64, threshold: f64) -> bool {
    is_top || threshold == 0.0 || (total != 0 && percent(bytes, total) >= threshold)
}

/// `part` as a percentage of `total` with ms_print's arithmetic (100 * part first, then a
/// floating division); 0 when `total` is 0.
pub fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (100u128 * u128::from(part)) as f64 / total as f64
    }
}

/// An allocation tree in pre-order; `nodes[0]` is the root (the allocation functions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    /// The nodes, parents before children, siblings in file order.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Indices of the direct children of node `i`.
    pub fn children(&self, i: usize) -> ChildIter<'_> {
        let end = self.nodes.get(i).map_or(0, |n| n.end as usize);
        ChildIter {
            tree: self,
            next: i + 1,
            end,
        }
    }
}

/// Iterator over the children of one node.
pub struct ChildIter<'a> {
    tree: &'a Tree,
    next: usize,
    end: usize,
}

impl Iterator for ChildIter<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next;
        self.next = self.tree.nodes.get(i).map_or(self.end, |n| n.end as usize);
        Some(i)
    }
}

/// One snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// `snapshot=` number.
    pub num: u64,
    /// `time=` in the profile's time unit.
    pub time: u64,
    /// `mem_heap_B=`: bytes asked for by the program.
    pub heap: u64,
    /// `mem_heap_extra_B=`: allocator overhead and alignment.
    pub extra: u64,
    /// `mem_stacks_B=`: stack bytes (only with `--stacks=yes`).
    pub stacks: u64,
    /// `heap_tree=`.
    pub kind: TreeKind,
    /// The allocation tree of a detailed or peak snapshot.
    pub tree: Option<Tree>,
}

impl Snapshot {
    /// heap + extra: what the program's heap occupies.
    pub fn heap_total(&self) -> u64 {
        self.heap.saturating_add(self.extra)
    }

    /// heap + extra + stacks, the quantity ms_print graphs.
    pub fn total(&self) -> u64 {
        self.heap
            .saturating_add(self.extra)
            .saturating_add(self.stacks)
    }
}

/// A whole massif profile.
#[derive(Clone, Debug)]
pub struct Massif {
    /// The `desc:` lines, each as written after `desc:` (massif's arguments).
    pub desc: Vec<String>,
    /// The `cmd:` line: the profiled command.
    pub cmd: String,
    /// `time_unit:`.
    pub time_unit: TimeUnit,
    /// Snapshots in file order.
    pub snapshots: Vec<Snapshot>,
    /// Interned node texts.
    pub labels: Vec<Box<str>>,
    pub(crate) label_index: FxMap<Box<[u8]>, u32>,
}

impl Massif {
    /// An empty profile, to be filled by the parser.
    pub fn new(cmd: String, desc: Vec<String>, time_unit: TimeUnit) -> Massif {
        Massif {
            desc,
            cmd,
            time_unit,
            snapshots: Vec::new(),
            labels: Vec::new(),
            label_index: FxMap::default(),
        }
    }

    /// Interns a node text given as raw bytes; it is decoded (lossily: a stray byte in a file
    /// name must not make the profile unreadable) only the first time it is seen.
    pub fn intern_bytes(&mut self, b: &[u8]) -> u32 {
        if let Some(&i) = self.label_index.get(b) {
            return i;
        }
        let i = self.labels.len() as u32;
        self.labels
            .push(String::from_utf8_lossy(b).into_owned().into_boxed_str());
        self.label_index.insert(b.into(), i);
        i
    }

    /// The text of a node.
    pub fn label(&self, n: &Node) -> &str {
        if n.merged > 0 {
            return MERGED_TEXT;
        }
        self.labels.get(n.label as usize).map_or("", |s| s)
    }

    /// Index of the peak snapshot: the one massif marked `peak`, else the one with the most
    /// heap (useful + extra). None without snapshots.
    pub fn peak_index(&self) -> Option<usize> {
        if let Some(i) = self.snapshots.iter().position(|s| s.kind == TreeKind::Peak) {
            return Some(i);
        }
        let mut best: Option<usize> = None;
        for (i, s) in self.snapshots.iter().enumerate() {
            let h = s.heap_total();
            let better = match best {
                None => true,
                Some(b) => h > self.snapshots[b].heap_total(),
            };
            if better {
                best = Some(i);
            }
        }
        best
    }

    /// Index of the snapshot numbered `num`.
    pub fn find(&self, num: u64) -> Option<usize> {
        self.snapshots.iter().position(|s| s.num == num)
    }

    /// Numbers of the snapshots that carry a tree, for error messages.
    pub fn detailed_numbers(&self) -> Vec<u64> {
        self.snapshots
            .iter()
            .filter(|s| s.tree.is_some())
            .map(|s| s.num)
            .collect()
    }
}

/// What a tree node's text says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Site<'a> {
    /// The root: `(heap allocation functions) malloc/new/new[], --alloc-fns, etc.` or
    /// `(page allocation syscalls) ...`.
    Root(&'a str),
    /// `in N places, all below massif's threshold (1.00%)`.
    Below {
        /// How many call sites were merged.
        places: u64,
    },
    /// A code location.
    Code {
        /// Code address, 0 when absent.
        address: u64,
        /// Function name (`???` when massif did not know it).
        function: &'a str,
        /// Source file, or the object file for `(in /path)`; empty when unknown.
        file: &'a str,
        /// Source line, 0 when unknown.
        line: u32,
        /// True when `file` is an object file (`(in /lib/libc.so.6)`), not a source file.
        in_object: bool,
    },
}

/// Splits a node text (as stored, with its leading space) into its parts.
pub fn parse_site(text: &str) -> Site<'_> {
    let t = text.trim();
    if t == MERGED_TEXT.trim_start() {
        return Site::Below { places: 0 };
    }
    if t.starts_with('(') {
        return Site::Root(t);
    }
    if let Some(rest) = t.strip_prefix("in ") {
        if let Some((n, tail)) = rest.split_once(' ') {
            if tail.starts_with("place") {
                if let Ok(places) = n.parse() {
                    return Site::Below { places };
                }
            }
        }
    }
    let (address, rest) = match t.split_once(": ") {
        Some((a, r)) if a.starts_with("0x") => (u64::from_str_radix(&a[2..], 16).unwrap_or(0), r),
        _ => (0, t),
    };
    // The location is the last parenthesised group; C++ names carry parentheses of their own,
    // so only a group that looks like `file:line` or `in object` counts.
    if let Some(body) = rest.strip_suffix(')') {
        if let Some(open) = body.rfind(" (") {
            let (function, loc) = (&body[..open], &body[open + 2..]);
            if let Some(obj) = loc.strip_prefix("in ") {
                return Site::Code {
                    address,
                    function,
                    file: obj,
                    line: 0,
                    in_object: true,
                };
            }
            if let Some((file, line)) = loc.rsplit_once(':') {
                if let Ok(line) = line.parse() {
                    return Site::Code {
                        address,
                        function,
                        file,
                        line,
                        in_object: false,
                    };
                }
            }
        }
    }
    Site::Code {
        address,
        function: rest,
        file: "",
        line: 0,
        in_object: false,
    }
}

/// The name of a site without its address, as shown in summaries: `function (file:line)`.
pub fn site_name(text: &str) -> String {
    match parse_site(text) {
        Site::Root(r) => r.to_string(),
        Site::Below { .. } => "[below massif's threshold]".to_string(),
        Site::Code {
            function,
            file,
            line,
            in_object,
            ..
        } => {
            if file.is_empty() {
                function.to_string()
            } else if in_object {
                format!("{function} (in {file})")
            } else {
                format!("{function} ({file}:{line})")
            }
        }
    }
}

/// True for frames inside the allocator or the kernel-call wrappers beneath it. With
/// `--pages-as-heap` massif's tree starts at mmap/brk, so the code that wanted the memory is
/// several allocator frames further out; these frames are looked through when naming sites.
fn allocator_internal(text: &str) -> bool {
    const NAMES: &[&str] = &[
        "mmap",
        "mmap64",
        "__mmap",
        "__mmap64",
        "brk",
        "__brk",
        "sbrk",
        "__sbrk",
        "mremap",
        "__mremap",
        "sysmalloc",
        "sysmalloc_mmap",
        "_int_malloc",
        "_int_realloc",
        "_int_memalign",
        "_mid_memalign",
        "malloc",
        "calloc",
        "realloc",
        "memalign",
        "posix_memalign",
        "aligned_alloc",
        "valloc",
        "pvalloc",
        "__libc_malloc",
        "__libc_calloc",
        "__libc_realloc",
        "__libc_memalign",
        "tcache_init",
        "tcache_init.part",
        "new_heap",
        "alloc_new_heap",
        "grow_heap",
        "__default_morecore",
        "__glibc_morecore",
    ];
    match parse_site(text) {
        Site::Code { function, .. } => {
            // Compiler clones carry suffixes: `sysmalloc_mmap.constprop.0`, `foo.isra.0`.
            let base = function.split('.').next().unwrap_or(function);
            NAMES.contains(&base) || function.starts_with("operator new")
        }
        _ => false,
    }
}

/// Bytes per allocation site of a tree: the root's children, merged by function and location
/// (the same line may appear under several addresses), looking through allocator frames.
pub fn sites_of(m: &Massif, tree: &Tree) -> HashMap<String, u64> {
    let mut by: HashMap<String, u64> = HashMap::new();
    let mut add = |name: String, bytes: u64| {
        if bytes > 0 {
            let e = by.entry(name).or_insert(0);
            *e = e.saturating_add(bytes);
        }
    };
    let mut todo: Vec<usize> = tree.children(0).collect();
    while let Some(i) = todo.pop() {
        let n = &tree.nodes[i];
        let text = m.label(n);
        if n.merged == 0 && n.end as usize > i + 1 && allocator_internal(text) {
            let kids: Vec<usize> = tree.children(i).collect();
            let claimed = sat_sum(kids.iter().map(|&k| tree.nodes[k].bytes));
            // Whatever the children do not account for stays with this frame.
            add(site_name(text), n.bytes.saturating_sub(claimed));
            todo.extend(kids);
        } else {
            add(site_name(text), n.bytes);
        }
    }
    by
}

/// [`sites_of`] as a list, biggest first: `(name, bytes)`.
pub fn top_sites(m: &Massif, tree: &Tree) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = sites_of(m, tree).into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

// JSON: the whole profile, trees nested, written straight from the flat arrays.

struct JsonTree<'a> {
    m: &'a Massif,
    tree: &'a Tree,
    i: usize,
}

impl Serialize for JsonTree<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = &self.tree.nodes[self.i];
        let text = self.m.label(n);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("bytes", &n.bytes)?;
        match parse_site(text) {
            Site::Root(r) => map.serialize_entry("root", r)?,
            Site::Below { places } => map.serialize_entry("below_threshold_places", &places)?,
            Site::Code {
                address,
                function,
                file,
                line,
                in_object,
            } => {
                map.serialize_entry("address", &format!("{address:#x}"))?;
                map.serialize_entry("function", function)?;
                if in_object {
                    map.serialize_entry("object", file)?;
                } else if !file.is_empty() {
                    map.serialize_entry("file", file)?;
                    map.serialize_entry("line", &line)?;
                }
            }
        }
        if n.merged > 0 {
            map.serialize_entry("merged_below_threshold", &n.merged)?;
        }
        if n.end as usize > self.i + 1 {
            map.serialize_entry(
                "children",
                &JsonChildren {
                    m: self.m,
                    tree: self.tree,
                    i: self.i,
                },
            )?;
        }
        map.end()
    }
}

struct JsonChildren<'a> {
    m: &'a Massif,
    tree: &'a Tree,
    i: usize,
}

impl Serialize for JsonChildren<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for c in self.tree.children(self.i) {
            seq.serialize_element(&JsonTree {
                m: self.m,
                tree: self.tree,
                i: c,
            })?;
        }
        seq.end()
    }
}

struct JsonSnapshot<'a> {
    m: &'a Massif,
    s: &'a Snapshot,
}

impl Serialize for JsonSnapshot<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = self.s;
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("snapshot", &s.num)?;
        map.serialize_entry("time", &s.time)?;
        map.serialize_entry("mem_heap_B", &s.heap)?;
        map.serialize_entry("mem_heap_extra_B", &s.extra)?;
        map.serialize_entry("mem_stacks_B", &s.stacks)?;
        map.serialize_entry("heap_tree", &s.kind)?;
        if let Some(t) = &s.tree {
            if !t.nodes.is_empty() {
                map.serialize_entry(
                    "tree",
                    &JsonTree {
                        m: self.m,
                        tree: t,
                        i: 0,
                    },
                )?;
            }
        }
        map.end()
    }
}

impl Serialize for Massif {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("desc", &self.desc.join("\n").trim())?;
        map.serialize_entry("cmd", &self.cmd)?;
        map.serialize_entry("time_unit", self.time_unit.short())?;
        map.serialize_entry(
            "peak_snapshot",
            &self.peak_index().map(|i| self.snapshots[i].num),
        )?;
        let snaps: Vec<JsonSnapshot<'_>> = self
            .snapshots
            .iter()
            .map(|s| JsonSnapshot { m: self, s })
            .collect();
        map.serialize_entry("snapshots", &snaps)?;
        map.end()
    }
}

/// What was still allocated when the program ended, from valgrind's xtree memory report
/// (`--xtree-memory=allocs` with a `.ms` file name), which valgrind writes when the program
/// ends (exit, or a fatal signal). massif's own snapshots are taken only at heap operations and
/// there is none at exit, so this report is the only "at exit" figure there is.
#[derive(Clone, Debug)]
pub struct AtExit {
    /// The report, in massif format: snapshot 0 holds the bytes (`curB`), snapshot 1 the
    /// blocks (`curBk`), both with their allocation trees; times are ms since start.
    pub report: Massif,
    /// How the program ended: None when it exited (with any status), else the signal that
    /// killed it (`SIGINT`): then what is live is not a leak, the program did not finish.
    pub killed_by: Option<String>,
}

impl AtExit {
    /// Wraps a parsed xtree report; None when it is not one (no `curB` snapshot first).
    pub fn new(report: Massif, killed_by: Option<String>) -> Option<AtExit> {
        let first = report.snapshots.first()?;
        let root = first.tree.as_ref()?.nodes.first()?;
        report
            .label(root)
            .trim_start()
            .starts_with("curB ")
            .then_some(AtExit { report, killed_by })
    }

    /// Bytes still allocated (useful heap; the report has no allocator overhead).
    pub fn bytes(&self) -> u64 {
        self.report.snapshots.first().map_or(0, |s| s.heap)
    }

    /// Blocks still allocated, when the report has them.
    pub fn blocks(&self) -> Option<u64> {
        let s = self.report.snapshots.get(1)?;
        let root = s.tree.as_ref()?.nodes.first()?;
        self.report
            .label(root)
            .trim_start()
            .starts_with("curBk ")
            .then_some(s.heap)
    }

    /// The allocation tree of the bytes still allocated.
    pub fn tree(&self) -> Option<&Tree> {
        self.report.snapshots.first()?.tree.as_ref()
    }

    /// When the report was written, ms after the start.
    pub fn elapsed_ms(&self) -> u64 {
        self.report.snapshots.first().map_or(0, |s| s.time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_site_texts() {
        assert_eq!(
            parse_site(" 0x1091C1: build_index (heap.c:18)"),
            Site::Code {
                address: 0x1091c1,
                function: "build_index",
                file: "heap.c",
                line: 18,
                in_object: false
            }
        );
        assert_eq!(
            parse_site(" 0x4C2DB8F: operator new(unsigned long) (in /usr/lib/x.so)"),
            Site::Code {
                address: 0x4c2db8f,
                function: "operator new(unsigned long)",
                file: "/usr/lib/x.so",
                line: 0,
                in_object: true
            }
        );
        assert_eq!(
            parse_site(" in 3 places, all below massif's threshold (1.00%)"),
            Site::Below { places: 3 }
        );
        assert!(matches!(
            parse_site(" (heap allocation functions) malloc/new/new[], --alloc-fns, etc."),
            Site::Root(_)
        ));
        assert_eq!(
            parse_site(" 0x10: f(int) (a.cc:3)"),
            Site::Code {
                address: 0x10,
                function: "f(int)",
                file: "a.cc",
                line: 3,
                in_object: false
            }
        );
        assert_eq!(
            parse_site(" 0x10: ???"),
            Site::Code {
                address: 0x10,
                function: "???",
                file: "",
                line: 0,
                in_object: false
            }
        );
    }
}
