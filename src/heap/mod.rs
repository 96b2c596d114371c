//! `rprof heap`: a native heap profiler. The interposer (the `preload` crate, built by
//! build.rs and carried inside this binary) is written to a private temporary directory and
//! preloaded into the command; it streams every allocation and free with its stack over a
//! socket ([`stream`]); after the run the stacks are symbolized and the events replayed
//! ([`analysis`]) into the summary, the massif model and the stack outputs here.

pub mod analysis;
pub mod stream;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::profile::pprof::{self, Function, Label, Line, Location, PProfile, PSample, ValueType};
use crate::render::thousands;
use analysis::{Analysis, Stacks};

/// The interposer library, compiled by build.rs from preload/src/lib.rs.
pub static PRELOAD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/librprof_preload.so"));

/// The interposer written out for one run, in a fresh 0700 directory removed when dropped.
pub struct PreloadFile {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl PreloadFile {
    /// Writes the library to a new private directory under the temporary directory.
    pub fn create() -> Result<PreloadFile> {
        use std::os::unix::fs::PermissionsExt;
        // tempfile creates the directory with mode 0700 and a random name.
        let dir = tempfile::Builder::new()
            .prefix("rprof-heap-")
            .tempdir()
            .context("cannot create a private directory for the heap interposer")?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .context("cannot make the interposer's directory private")?;
        let path = dir.path().join("librprof_preload.so");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.write_all(PRELOAD)
            .and_then(|_| f.flush())
            .with_context(|| format!("cannot write {}", path.display()))?;
        drop(f);
        // Readable and executable for the target, which may drop privileges after exec.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
        let _ = &dir;
        Ok(PreloadFile { dir, path })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory (kept alive as long as this value).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// What `--folded` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FoldedKind {
    /// Live bytes at the peak.
    Peak,
    /// Bytes still allocated at exit.
    Leaks,
    /// Number of allocations made.
    Allocs,
}

/// One analysed process image: who it is, its stacks (symbolized against its own mappings)
/// and its analysis. A run that forks or execs gives several; each is analysed on its own,
/// since processes have no common clock for a joint peak.
pub struct Proc {
    /// Its pid.
    pub pid: u32,
    /// Its command line.
    pub command: String,
    /// Threads seen.
    pub threads: usize,
    /// How it started: `launched`, `forked from pid N`, `exec'd from NAME (pid N)`.
    pub origin: String,
    /// Its root frame where several processes share one output: `prog (pid N)`.
    pub root: String,
    /// Its symbolized stacks.
    pub stacks: Stacks,
    /// Its analysis.
    pub analysis: Analysis,
}

/// The stacks with their weights as folded lines (`main;f;g WEIGHT`), outermost first, sorted.
pub fn folded(st: &Stacks, a: &Analysis, kind: FoldedKind) -> String {
    let mut by: HashMap<String, u64> = HashMap::new();
    folded_into(&mut by, st, a, kind, None);
    folded_text(by)
}

/// Folded lines of several processes: with one process as [`folded`]; with more, each stack
/// under its process's root frame (`prog (pid N);main;f WEIGHT`), and `peak` is each
/// process's own peak.
pub fn folded_procs(procs: &[Proc], kind: FoldedKind) -> String {
    let mut by: HashMap<String, u64> = HashMap::new();
    let several = procs.len() > 1;
    for p in procs {
        let root = several.then_some(p.root.as_str());
        folded_into(&mut by, &p.stacks, &p.analysis, kind, root);
    }
    folded_text(by)
}

fn folded_into(
    by: &mut HashMap<String, u64>,
    st: &Stacks,
    a: &Analysis,
    kind: FoldedKind,
    root: Option<&str>,
) {
    for (i, s) in a.per_stack.iter().enumerate() {
        let w = match kind {
            FoldedKind::Peak => s.peak_bytes,
            FoldedKind::Leaks => s.leak_bytes,
            FoldedKind::Allocs => s.allocs,
        };
        if w == 0 {
            continue;
        }
        let mut names = stack_names(st, i);
        if names.is_empty() {
            names.push("[unknown]");
        }
        if let Some(r) = root {
            names.insert(0, r);
        }
        *by.entry(names.join(";")).or_insert(0) += w;
    }
}

fn folded_text(by: HashMap<String, u64>) -> String {
    let mut v: Vec<(String, u64)> = by.into_iter().collect();
    v.sort();
    let mut out = String::new();
    for (k, w) in v {
        let _ = writeln!(out, "{k} {w}");
    }
    out
}

/// Function names of stack `i`, outermost first, inlined calls expanded.
fn stack_names(st: &Stacks, i: usize) -> Vec<&str> {
    let mut names = Vec::new();
    for &site in st.stacks[i].iter().rev() {
        for f in &st.sites[site as usize].functions {
            // Separators inside a name would split the frame when read back.
            names.push(f.as_str());
        }
    }
    names
}

/// A pprof heap profile: `alloc_objects`, `alloc_space`, `inuse_objects`, `inuse_space` (Go's
/// names and order; in-use is what was live at exit), gzipped. With several processes each
/// sample carries a `pid` label (`go tool pprof -tagfocus pid=N`, and rprof reads it as the
/// process) and its stack ends in the process's root frame, as the folded output has it.
pub fn pprof_bytes(procs: &[Proc], duration_ns: u64) -> Result<Vec<u8>> {
    let mut strings: Vec<String> = vec![String::new()];
    let mut sidx: HashMap<String, i64> = HashMap::new();
    let mut s = |x: &str| -> i64 {
        if let Some(&i) = sidx.get(x) {
            return i;
        }
        strings.push(x.to_string());
        sidx.insert(x.to_string(), strings.len() as i64 - 1);
        strings.len() as i64 - 1
    };
    let vt = |t: &str, u: &str, s: &mut dyn FnMut(&str) -> i64| ValueType {
        r#type: s(t),
        unit: s(u),
    };
    let sample_type = vec![
        vt("alloc_objects", "count", &mut s),
        vt("alloc_space", "bytes", &mut s),
        vt("inuse_objects", "count", &mut s),
        vt("inuse_space", "bytes", &mut s),
    ];
    let several = procs.len() > 1;
    let pid_key = if several { s("pid") } else { 0 };
    let mut functions: Vec<Function> = Vec::new();
    let mut fidx: HashMap<(String, String), u64> = HashMap::new();
    let mut function_id = |name: &str, file: &str, s: &mut dyn FnMut(&str) -> i64| -> u64 {
        let key = (name.to_string(), file.to_string());
        if let Some(&id) = fidx.get(&key) {
            return id;
        }
        let id = functions.len() as u64 + 1;
        functions.push(Function {
            id,
            name: s(name),
            system_name: s(name),
            filename: s(file),
            start_line: 0,
        });
        fidx.insert(key, id);
        id
    };
    let mut locations: Vec<Location> = Vec::new();
    let mut samples = Vec::new();
    for p in procs {
        let st = &p.stacks;
        // Location ids of this process's sites start after the previous processes' ones.
        let base = locations.len() as u64;
        for site in &st.sites {
            let mut lines = Vec::new();
            for (f, file, line) in &site.lines {
                lines.push(Line {
                    function_id: function_id(f, file, &mut s),
                    line: i64::from(*line),
                    column: 0,
                });
            }
            locations.push(Location {
                id: locations.len() as u64 + 1,
                mapping_id: 0,
                address: site.address,
                line: lines,
                is_folded: false,
            });
        }
        let root = several.then(|| {
            let id = locations.len() as u64 + 1;
            locations.push(Location {
                id,
                mapping_id: 0,
                address: 0,
                line: vec![Line {
                    function_id: function_id(&p.root, "", &mut s),
                    line: 0,
                    column: 0,
                }],
                is_folded: false,
            });
            id
        });
        for (i, ps) in p.analysis.per_stack.iter().enumerate() {
            if ps.allocs == 0 && ps.leak_blocks == 0 {
                continue;
            }
            let mut location_id: Vec<u64> = st.stacks[i]
                .iter()
                .map(|&x| base + u64::from(x) + 1)
                .collect();
            location_id.extend(root);
            samples.push(PSample {
                location_id,
                value: vec![
                    ps.allocs as i64,
                    ps.bytes as i64,
                    ps.leak_blocks as i64,
                    ps.leak_bytes as i64,
                ],
                label: if several {
                    vec![Label {
                        key: pid_key,
                        num: i64::from(p.pid),
                        ..Default::default()
                    }]
                } else {
                    Vec::new()
                },
            });
        }
    }
    let period_type = Some(vt("space", "bytes", &mut s));
    let default_sample_type = s("inuse_space");
    let p = PProfile {
        sample_type,
        sample: samples,
        mapping: Vec::new(),
        location: locations,
        function: functions,
        string_table: strings,
        drop_frames: 0,
        keep_frames: 0,
        time_nanos: 0,
        duration_nanos: duration_ns as i64,
        period_type,
        period: 1,
        comment: Vec::new(),
        default_sample_type,
    };
    pprof::encode_message(&p)
}

/// A site's name with its callers, for the summary: `f (a.c:3) <- g (a.c:9) <- main`.
fn with_callers(st: &Stacks, i: usize, n: usize) -> String {
    let s = &st.stacks[i];
    let mut out = String::new();
    for (k, &site) in s.iter().enumerate().skip(1).take(n) {
        if k > 1 {
            out.push_str(" <- ");
        }
        out.push_str(&st.sites[site as usize].name);
    }
    if s.len() > n + 1 {
        out.push_str(" <- ...");
    }
    out
}

fn site_name(st: &Stacks, i: usize) -> &str {
    st.stacks[i]
        .first()
        .map_or("[unknown]", |&s| st.sites[s as usize].name.as_str())
}

/// Groups per-stack values by allocation site (innermost frame), biggest first: (site name,
/// value, count, index of the stack holding most of it).
fn by_site(
    st: &Stacks,
    a: &Analysis,
    val: impl Fn(&analysis::StackStats) -> (u64, u64),
) -> Vec<(String, u64, u64, usize)> {
    let mut m: HashMap<&str, (u64, u64, usize, u64)> = HashMap::new();
    for (i, ps) in a.per_stack.iter().enumerate() {
        let (v, n) = val(ps);
        if v == 0 && n == 0 {
            continue;
        }
        let e = m.entry(site_name(st, i)).or_insert((0, 0, i, 0));
        e.0 += v;
        e.1 += n;
        if v > e.3 {
            e.2 = i;
            e.3 = v;
        }
    }
    let mut v: Vec<(String, u64, u64, usize)> = m
        .into_iter()
        .map(|(k, (v, n, i, _))| (k.to_string(), v, n, i))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

fn pct(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * part as f64 / total as f64
    }
}

/// The summary printed first: totals, the peak with its allocation sites, leaks at exit, the
/// sites with the most allocations and the most temporary allocations.
pub fn summary(st: &Stacks, a: &Analysis, top: usize) -> String {
    let mut o = String::new();
    let hb = crate::massif::text::human_bytes;
    let _ = writeln!(
        o,
        "Totals: {} allocations ({} B), {} frees, {} temporary ({:.1}%)",
        thousands(a.allocs),
        thousands(a.bytes_allocated),
        thousands(a.frees),
        thousands(a.temporary),
        pct(a.temporary, a.allocs)
    );
    if a.inherited_blocks > 0 {
        let _ = writeln!(
            o,
            "Inherited at the fork: {} B in {} blocks (the parent's live blocks, counted in the heap below, not as allocations)",
            thousands(a.inherited_bytes),
            thousands(a.inherited_blocks)
        );
    }
    let _ = writeln!(
        o,
        "Peak heap: {} B ({}) in {} blocks, after {} B allocated and freed ({:.1}% of the run)",
        thousands(a.peak_bytes),
        hb(a.peak_bytes),
        thousands(a.peak_blocks),
        thousands(a.peak_time),
        pct(a.peak_time, a.end_time)
    );
    let _ = writeln!(
        o,
        "\nAllocation sites at the peak (share of {} B):",
        thousands(a.peak_bytes)
    );
    for (name, b, n, i) in by_site(st, a, |s| (s.peak_bytes, s.peak_blocks))
        .into_iter()
        .filter(|x| x.1 > 0)
        .take(top)
    {
        let _ = writeln!(
            o,
            "  {:6.2}%  {} B in {} blocks  {name}",
            pct(b, a.peak_bytes),
            thousands(b),
            thousands(n)
        );
        let c = with_callers(st, i, 4);
        if !c.is_empty() {
            let _ = writeln!(o, "           called from {c}");
        }
    }
    let _ = writeln!(
        o,
        "\nLeaks: {} B in {} blocks still allocated at exit",
        thousands(a.leak_bytes),
        thousands(a.leak_blocks)
    );
    let mut leaks: Vec<usize> = (0..a.per_stack.len())
        .filter(|&i| a.per_stack[i].leak_blocks > 0)
        .collect();
    leaks.sort_by(|&x, &y| {
        let (p, q) = (&a.per_stack[x], &a.per_stack[y]);
        q.leak_bytes
            .cmp(&p.leak_bytes)
            .then_with(|| site_name(st, x).cmp(site_name(st, y)))
    });
    for &i in leaks.iter().take(top) {
        let p = &a.per_stack[i];
        let _ = writeln!(
            o,
            "  {} B in {} blocks  {}",
            thousands(p.leak_bytes),
            thousands(p.leak_blocks),
            site_name(st, i)
        );
        let c = with_callers(st, i, 4);
        if !c.is_empty() {
            let _ = writeln!(o, "           called from {c}");
        }
    }
    if leaks.len() > top {
        let _ = writeln!(o, "  ... and {} more stacks", leaks.len() - top);
    }
    let _ = writeln!(o, "\nMost allocations:");
    for (name, n, b, _) in by_site(st, a, |s| (s.allocs, s.bytes))
        .into_iter()
        .take(top)
    {
        let _ = writeln!(
            o,
            "  {:>12} allocations  {} B  {name}",
            thousands(n),
            thousands(b)
        );
    }
    let _ = writeln!(
        o,
        "\nMost temporary allocations (freed before the next allocation):"
    );
    for (name, t, n, _) in by_site(st, a, |s| (s.temporary, s.allocs))
        .into_iter()
        .filter(|x| x.1 > 0)
        .take(top)
    {
        let _ = writeln!(
            o,
            "  {:>12} of {} allocations ({:.1}%)  {name}",
            thousands(t),
            thousands(n),
            pct(t, n)
        );
    }
    o
}

/// The summary of a run with several analysed processes: a table of the processes, then one
/// section per process ([`summary`] of its own events), in the order they started.
pub fn summary_procs(procs: &[Proc], top: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Processes: {} with allocations, each analysed on its own (its own peak, leaks and sites, symbolized against its own mappings):",
        procs.len()
    );
    let w_root = procs.iter().map(|p| p.root.len()).max().unwrap_or(0);
    let w_origin = procs.iter().map(|p| p.origin.len()).max().unwrap_or(0);
    for p in procs {
        let a = &p.analysis;
        let _ = writeln!(
            o,
            "  {:w_root$}  {:w_origin$}  {:>12} allocations  peak {} B  leaks {} B",
            p.root,
            p.origin,
            thousands(a.allocs),
            thousands(a.peak_bytes),
            thousands(a.leak_bytes),
        );
    }
    for p in procs {
        let _ = writeln!(
            o,
            "\n=== {}: {} ({} thread{}, {}) ===",
            p.root,
            p.command,
            p.threads,
            if p.threads == 1 { "" } else { "s" },
            p.origin
        );
        o.push_str(&summary(&p.stacks, &p.analysis, top));
    }
    o
}

/// The frame that stands for a process where several share one output: the base name of its
/// program and its pid, `prog (pid 123)` (no `;`, which separates folded frames).
pub fn root_frame(command: &str, pid: u32) -> String {
    let prog = command.split(' ').next().unwrap_or("");
    let base = prog.rsplit('/').next().unwrap_or(prog);
    let base = if base.is_empty() { "process" } else { base };
    format!("{} (pid {pid})", base.replace(';', ":"))
}
