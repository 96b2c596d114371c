//! The in-memory profile model every command works on.
//!
//! Strings, frames and stacks are interned: a frame is stored once and referred to by a
//! [`FrameId`], a call stack is a node in a prefix trie ([`StackId`]) whose parent is the stack
//! without its innermost frame. Samples refer to a stack and a thread by id and carry a weight
//! and, when known, a timestamp. Ids turn back into strings only when rendering.

pub mod detect;
pub mod file;
pub mod folded;
pub mod perf_data;
mod perf_data_records;
pub mod perf_script;
pub mod pprof;
pub mod stack_counts;

use std::hash::Hash;

use rustc_hash::FxHashMap as HashMap;

use serde::Serialize;

/// Index into [`Profile::strings`]. Id 0 is always the empty string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct StrId(pub u32);

/// Index into [`Profile::frames`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FrameId(pub u32);

/// Index into [`Profile::stack_nodes`]; a node is a whole stack from the root to its frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StackId(pub u32);

/// Index into [`Profile::modules`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ModuleId(pub u32);

/// Index into [`Profile::threads`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ThreadIdx(pub u32);

/// A process id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Pid(pub u32);

/// A thread id (the kernel's tid; equal to the pid for a main thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Tid(pub u32);

/// Interned string table. Id 0 is the empty string, used for "unknown".
#[derive(Clone, Debug, Default)]
pub struct Interner {
    strings: Vec<Box<str>>,
    index: HashMap<Box<str>, StrId>,
}

impl Interner {
    /// An interner holding only the empty string.
    pub fn new() -> Self {
        let mut i = Interner {
            strings: Vec::new(),
            index: HashMap::default(),
        };
        i.intern("");
        i
    }

    /// Returns the id of `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> StrId {
        if let Some(id) = self.index.get(s) {
            return *id;
        }
        let id = StrId(self.strings.len() as u32);
        self.strings.push(s.into());
        self.index.insert(s.into(), id);
        id
    }

    /// The string behind `id`; an out-of-range id (impossible for a loaded profile, which is
    /// validated) reads as empty.
    pub fn get(&self, id: StrId) -> &str {
        self.strings.get(id.0 as usize).map(|s| &**s).unwrap_or("")
    }

    /// Number of strings, the empty one included.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Always false: the empty string is interned from the start.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    /// All strings in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.strings.iter().map(|s| &**s)
    }
}

/// A loaded shared object or executable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Module {
    /// Path as mapped in the profiled process (`[vdso]`, `[kernel.kallsyms]` for pseudo modules).
    pub path: StrId,
    /// GNU build-id bytes, empty when unknown.
    pub build_id: Vec<u8>,
}

/// One frame of a call stack, after symbolization.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// Demangled function name; for unresolved frames `module+0xOFFSET`.
    pub function: StrId,
    /// Module the code belongs to, when known.
    pub module: Option<ModuleId>,
    /// Source file, empty when unknown.
    pub file: StrId,
    /// Source line, 0 when unknown.
    pub line: u32,
    /// True for a function inlined into its caller (the caller is the next outer frame).
    pub inlined: bool,
    /// Whether the frame executes in the kernel.
    pub kernel: bool,
    /// Runtime address of the instruction, 0 when unknown (for stacks read from text).
    pub address: u64,
    /// Offset of the address in its module's file, for re-symbolization; `None` when unknown.
    pub module_offset: Option<u64>,
}

impl Frame {
    /// A frame known only by its function name, as read from folded stacks.
    pub fn named(function: StrId) -> Self {
        Frame {
            function,
            module: None,
            file: StrId(0),
            line: 0,
            inlined: false,
            kernel: false,
            address: 0,
            module_offset: None,
        }
    }
}

/// A node of the stack trie: `frame` called from the stack `parent` (None for a root frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StackNode {
    /// The stack of callers, None when `frame` is outermost.
    pub parent: Option<StackId>,
    /// The innermost frame of this stack.
    pub frame: FrameId,
}

/// A thread seen in the recording.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Thread {
    /// The process the thread belongs to.
    pub pid: Pid,
    /// The thread id.
    pub tid: Tid,
    /// The thread's name (`comm`), empty when unknown.
    pub name: StrId,
}

/// A process seen in the recording.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Process {
    /// Its pid.
    pub pid: Pid,
    /// Its name (command or `comm` of the main thread).
    pub name: StrId,
}

/// One sample: a stack seen on a thread, with a weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The stack, None for a sample without frames.
    pub stack: Option<StackId>,
    /// The thread that was running.
    pub thread: ThreadIdx,
    /// Number of events (or bytes, or period) the sample stands for.
    pub weight: u64,
    /// Number of samples this row stands for, at least 1: a recording merges identical
    /// samples of one time bucket into one row (summed weight, the bucket's time), so its
    /// rows follow the distinct stacks, not the duration; a pprof sample carries its
    /// `samples/count`. 1 for every source with one row per sample. Where the unit is
    /// `samples` (no periods: folded stacks) the weight is the count and this stays 1; see
    /// `render::report::sample_count`, which every view counts samples with.
    pub count: u64,
    /// Nanoseconds since the recording started, when known (for a merged row, the time of
    /// its bucket's first sample).
    pub time: Option<u64>,
}

/// What the recording was and how good its data is.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Metadata {
    /// The command line that was profiled, when rprof launched it.
    pub command: Vec<String>,
    /// Human description of the target (`pid 1234`, `command ./prog`, `folded file x`).
    pub target: String,
    /// Event name (`cpu-clock`, `cycles`, …) of the samples this profile holds; empty when
    /// unknown. A profile holds one event: a source with several keeps one (see `events`).
    pub event: String,
    /// Every event the source had, in the source's order (the shown one among them); empty when
    /// the source named none.
    pub events: Vec<String>,
    /// Unit of the sample weights: `ns` (cpu-clock, task-clock, off-CPU time), `bytes`, or the
    /// event's own count (`page-faults`, `cycles`, …); `samples` when the source had no period
    /// and each sample weighs 1. Empty when unknown (treated as `samples`).
    pub unit: String,
    /// Sampling frequency in Hz, 0 when unknown.
    pub frequency: u64,
    /// Wall-clock start, nanoseconds since the Unix epoch, 0 when unknown.
    pub start_unix_ns: u64,
    /// Length of the recording in nanoseconds, 0 when unknown.
    pub duration_ns: u64,
    /// Samples lost by the kernel (ring buffer overflow).
    pub lost: u64,
    /// Samples whose stack did not reach a thread entry point.
    pub truncated: u64,
    /// Frames that could not be symbolized.
    pub unsymbolized: u64,
    /// How stacks were unwound (`fp`, `dwarf`, ...), empty when unknown.
    pub call_graph: String,
    /// The hostname and kernel the recording was made on, when known.
    pub host: String,
    /// Free-form extra facts (`key`, `value`), such as the exit status of the command.
    pub extra: Vec<(String, String)>,
}

/// The whole profile.
#[derive(Clone, Debug)]
pub struct Profile {
    /// String table.
    pub strings: Interner,
    /// Modules, by id.
    pub modules: Vec<Module>,
    /// Frames, by id.
    pub frames: Vec<Frame>,
    /// Stack trie nodes, by id.
    pub stack_nodes: Vec<StackNode>,
    /// Processes.
    pub processes: Vec<Process>,
    /// Threads, by index.
    pub threads: Vec<Thread>,
    /// Samples in recording order.
    pub samples: Vec<Sample>,
    /// The CPU each sample ran on, parallel to `samples` (`rprof record`); empty when the
    /// source does not say.
    pub sample_cpus: Vec<u32>,
    /// With several events recorded together: each sample's event, an index into
    /// `meta.events`, parallel to `samples`. Views never see it: loading keeps one event
    /// ([`file::select_event`]) and empties it. Empty for a profile of one event.
    pub sample_events: Vec<u16>,
    /// Recording facts.
    pub meta: Metadata,
    frame_index: HashMap<Frame, FrameId>,
    stack_index: HashMap<StackNode, StackId>,
    module_index: HashMap<Module, ModuleId>,
    thread_index: HashMap<(Pid, Tid), ThreadIdx>,
    /// False after loading a file: the lookup indexes are built on the first insertion, since
    /// read-only commands (report, flamegraph) never need them and building them costs more
    /// than decoding.
    indexed: bool,
}

impl Default for Profile {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Profile {
    fn eq(&self, o: &Self) -> bool {
        self.strings.strings == o.strings.strings
            && self.modules == o.modules
            && self.frames == o.frames
            && self.stack_nodes == o.stack_nodes
            && self.processes == o.processes
            && self.threads == o.threads
            && self.samples == o.samples
            && self.sample_cpus == o.sample_cpus
            && self.sample_events == o.sample_events
            && self.meta == o.meta
    }
}

impl Profile {
    /// An empty profile.
    pub fn new() -> Self {
        Profile {
            strings: Interner::new(),
            modules: Vec::new(),
            frames: Vec::new(),
            stack_nodes: Vec::new(),
            processes: Vec::new(),
            threads: Vec::new(),
            samples: Vec::new(),
            sample_cpus: Vec::new(),
            sample_events: Vec::new(),
            meta: Metadata::default(),
            frame_index: HashMap::default(),
            stack_index: HashMap::default(),
            module_index: HashMap::default(),
            thread_index: HashMap::default(),
            indexed: true,
        }
    }

    /// Marks the lookup indexes stale; they are rebuilt before the next insertion.
    pub fn invalidate_indexes(&mut self) {
        self.indexed = false;
    }

    fn ensure_indexes(&mut self) {
        if !self.indexed {
            self.rebuild_indexes();
            self.indexed = true;
        }
    }

    /// Interns a string.
    pub fn intern(&mut self, s: &str) -> StrId {
        self.ensure_indexes();
        self.strings.intern(s)
    }

    /// The string behind an id.
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id)
    }

    /// Interns a module.
    pub fn add_module(&mut self, path: &str, build_id: Vec<u8>) -> ModuleId {
        self.ensure_indexes();
        let m = Module {
            path: self.intern(path),
            build_id,
        };
        intern_in(&mut self.modules, &mut self.module_index, m, |i| {
            ModuleId(i as u32)
        })
    }

    /// Interns a frame.
    pub fn add_frame(&mut self, f: Frame) -> FrameId {
        self.ensure_indexes();
        intern_in(&mut self.frames, &mut self.frame_index, f, |i| {
            FrameId(i as u32)
        })
    }

    /// Interns a frame that is only a function name.
    pub fn add_named_frame(&mut self, function: &str) -> FrameId {
        let f = Frame::named(self.intern(function));
        self.add_frame(f)
    }

    /// Interns the stack `parent` + `frame`.
    pub fn add_stack(&mut self, parent: Option<StackId>, frame: FrameId) -> StackId {
        self.ensure_indexes();
        intern_in(
            &mut self.stack_nodes,
            &mut self.stack_index,
            StackNode { parent, frame },
            |i| StackId(i as u32),
        )
    }

    /// Interns a whole stack given outermost frame first; None for an empty stack.
    pub fn add_stack_frames(&mut self, frames_root_first: &[FrameId]) -> Option<StackId> {
        let mut cur = None;
        for f in frames_root_first {
            cur = Some(self.add_stack(cur, *f));
        }
        cur
    }

    /// Returns the thread index for (pid, tid), adding it (with `name`) when new; a non-empty
    /// name replaces an empty one.
    pub fn add_thread(&mut self, pid: Pid, tid: Tid, name: &str) -> ThreadIdx {
        self.ensure_indexes();
        if let Some(&i) = self.thread_index.get(&(pid, tid)) {
            if !name.is_empty() && self.threads[i.0 as usize].name == StrId(0) {
                let n = self.intern(name);
                self.threads[i.0 as usize].name = n;
            }
            return i;
        }
        let name = self.intern(name);
        let idx = ThreadIdx(self.threads.len() as u32);
        self.threads.push(Thread { pid, tid, name });
        self.thread_index.insert((pid, tid), idx);
        idx
    }

    /// Records a process (pid and name) unless already known; a known one gets `name` if it had
    /// none.
    pub fn add_process(&mut self, pid: Pid, name: &str) {
        let n = self.intern(name);
        if let Some(p) = self.processes.iter_mut().find(|p| p.pid == pid) {
            if p.name == StrId(0) {
                p.name = n;
            }
            return;
        }
        self.processes.push(Process { pid, name: n });
    }

    /// Appends a sample.
    pub fn add_sample(&mut self, s: Sample) {
        self.samples.push(s);
    }

    /// Rebuilds the lookup indexes after the tables were filled directly (by the file reader).
    pub fn rebuild_indexes(&mut self) {
        self.strings.index = self
            .strings
            .strings
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), StrId(i as u32)))
            .collect();
        self.frame_index = self
            .frames
            .iter()
            .enumerate()
            .map(|(i, f)| (f.clone(), FrameId(i as u32)))
            .collect();
        self.stack_index = self
            .stack_nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, StackId(i as u32)))
            .collect();
        self.module_index = self
            .modules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.clone(), ModuleId(i as u32)))
            .collect();
        self.thread_index = self
            .threads
            .iter()
            .enumerate()
            .map(|(i, t)| ((t.pid, t.tid), ThreadIdx(i as u32)))
            .collect();
    }

    /// Frames of `stack`, innermost first.
    pub fn stack_frames(&self, stack: Option<StackId>) -> StackIter<'_> {
        StackIter {
            profile: self,
            cur: stack,
        }
    }

    /// Frames of `stack`, outermost first.
    pub fn stack_frames_root_first(&self, stack: Option<StackId>) -> Vec<FrameId> {
        let mut v: Vec<FrameId> = self.stack_frames(stack).collect();
        v.reverse();
        v
    }

    /// The frame behind an id.
    pub fn frame(&self, id: FrameId) -> &Frame {
        &self.frames[id.0 as usize]
    }

    /// The function name of a frame.
    pub fn function_name(&self, id: FrameId) -> &str {
        self.str(self.frame(id).function)
    }

    /// Module path of a frame, empty when unknown.
    pub fn module_name(&self, id: FrameId) -> &str {
        match self.frame(id).module {
            Some(m) => self.str(self.modules[m.0 as usize].path),
            None => "",
        }
    }

    /// The weight unit for display: `meta.unit`, or `samples` when unknown.
    pub fn unit(&self) -> &str {
        if self.meta.unit.is_empty() {
            "samples"
        } else {
            &self.meta.unit
        }
    }

    /// Sum of all sample weights.
    pub fn total_weight(&self) -> u64 {
        self.samples.iter().map(|s| s.weight).sum()
    }

    /// True when every sample has a timestamp (a flame chart can be drawn).
    pub fn has_timestamps(&self) -> bool {
        !self.samples.is_empty() && self.samples.iter().all(|s| s.time.is_some())
    }

    /// A display label for a thread: `name-tid` or `tid`.
    pub fn thread_label(&self, t: ThreadIdx) -> String {
        let th = &self.threads[t.0 as usize];
        let name = self.str(th.name);
        if name.is_empty() {
            format!("[tid {}]", th.tid.0)
        } else {
            format!("{}-{}", name, th.tid.0)
        }
    }

    /// Builds a new profile holding only the samples `keep` accepts, with their stacks mapped
    /// through `map` (which may rewrite the list of frames, outermost first; returning None drops
    /// the sample). Used by filters before rendering.
    pub fn filtered(
        &self,
        mut keep: impl FnMut(&Sample) -> bool,
        mut map: impl FnMut(&Profile, Vec<FrameId>) -> Option<Vec<FrameId>>,
    ) -> Profile {
        let mut out = Profile::new();
        out.meta = self.meta.clone();
        let mut frame_map: HashMap<FrameId, FrameId> = HashMap::default();
        let mut thread_map: HashMap<ThreadIdx, ThreadIdx> = HashMap::default();
        let mut stack_cache: HashMap<Option<StackId>, Option<Option<StackId>>> = HashMap::default();
        for p in &self.processes {
            let name = self.str(p.name).to_string();
            out.add_process(p.pid, &name);
        }
        // The CPUs follow the samples kept, when every sample has one.
        let cpus = (self.sample_cpus.len() == self.samples.len()).then_some(&self.sample_cpus);
        for (i, s) in self.samples.iter().enumerate() {
            if !keep(s) {
                continue;
            }
            let new_stack = if let Some(c) = stack_cache.get(&s.stack) {
                *c
            } else {
                let frames = self.stack_frames_root_first(s.stack);
                let mapped = map(self, frames).map(|fs| {
                    let mut ids = Vec::with_capacity(fs.len());
                    for f in fs {
                        let nf = *frame_map
                            .entry(f)
                            .or_insert_with(|| out.import_frame(self, f));
                        ids.push(nf);
                    }
                    out.add_stack_frames(&ids)
                });
                stack_cache.insert(s.stack, mapped);
                mapped
            };
            let Some(stack) = new_stack else { continue };
            let th = *thread_map.entry(s.thread).or_insert_with(|| {
                let t = &self.threads[s.thread.0 as usize];
                let name = self.str(t.name).to_string();
                out.add_thread(t.pid, t.tid, &name)
            });
            out.samples.push(Sample {
                stack,
                thread: th,
                weight: s.weight,
                count: s.count,
                time: s.time,
            });
            if let Some(c) = cpus {
                out.sample_cpus.push(c[i]);
            }
        }
        out
    }

    /// Copies frame `f` of `src` into this profile.
    pub fn import_frame(&mut self, src: &Profile, f: FrameId) -> FrameId {
        let fr = src.frame(f);
        let module = fr.module.map(|m| {
            let m = &src.modules[m.0 as usize];
            let path = src.str(m.path).to_string();
            self.add_module(&path, m.build_id.clone())
        });
        let function = self.intern(src.str(fr.function));
        let file = self.intern(src.str(fr.file));
        self.add_frame(Frame {
            function,
            module,
            file,
            line: fr.line,
            inlined: fr.inlined,
            kernel: fr.kernel,
            address: fr.address,
            module_offset: fr.module_offset,
        })
    }
}

fn intern_in<T: Clone + Eq + Hash, I: Copy>(
    table: &mut Vec<T>,
    index: &mut HashMap<T, I>,
    item: T,
    make: impl FnOnce(usize) -> I,
) -> I {
    if let Some(id) = index.get(&item) {
        return *id;
    }
    let id = make(table.len());
    table.push(item.clone());
    index.insert(item, id);
    id
}

/// Iterator over a stack's frames, innermost first.
pub struct StackIter<'a> {
    profile: &'a Profile,
    cur: Option<StackId>,
}

impl Iterator for StackIter<'_> {
    type Item = FrameId;
    fn next(&mut self) -> Option<FrameId> {
        let id = self.cur?;
        let node = self.profile.stack_nodes[id.0 as usize];
        self.cur = node.parent;
        Some(node.frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_share_prefixes() {
        let mut p = Profile::new();
        let a = p.add_named_frame("a");
        let b = p.add_named_frame("b");
        let c = p.add_named_frame("c");
        let s1 = p.add_stack_frames(&[a, b]);
        let s2 = p.add_stack_frames(&[a, b, c]);
        assert_eq!(p.stack_nodes.len(), 3);
        assert_eq!(p.stack_frames_root_first(s2), vec![a, b, c]);
        assert_eq!(p.stack_nodes[s2.unwrap().0 as usize].parent, s1);
    }
}
