//! The hot-functions report: Total (self plus callees) and Self per key, like
//! `perf report --children --no-call-graph`.

use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::profile::{FrameId, Profile, Sample, StackId};

use super::{pct, secs, thousands};

/// What rows are grouped by; several keys (`--sort module,function`) group by their
/// combination, as `perf report --sort` does. perf's names are accepted too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    /// Function name; unsymbolized frames of one module form one row, `module+?`.
    #[value(alias = "sym", alias = "symbol")]
    Function,
    /// Module (executable or shared library).
    #[value(alias = "dso")]
    Module,
    /// Thread.
    #[value(alias = "tid")]
    Thread,
    /// Source file and line (function name where unknown).
    #[value(alias = "srcline")]
    Line,
    /// Code address: one row per distinct address, unsymbolized ones included.
    Address,
    /// Process (`pid:name`).
    Pid,
    /// Command name of the thread (`comm`).
    Comm,
    /// The CPU the samples ran on (rprof recordings), as `perf report --sort cpu`.
    Cpu,
}

impl SortKey {
    /// Keys of the sample (its thread or process) rather than of a frame on its stack.
    fn per_sample(self) -> bool {
        matches!(
            self,
            SortKey::Thread | SortKey::Pid | SortKey::Comm | SortKey::Cpu
        )
    }

    /// The column title.
    fn title(self) -> &'static str {
        match self {
            SortKey::Function => "Function",
            SortKey::Module => "Module",
            SortKey::Thread => "Thread",
            SortKey::Line => "Source line",
            SortKey::Address => "Address",
            SortKey::Pid => "Pid",
            SortKey::Comm => "Command",
            SortKey::Cpu => "CPU",
        }
    }

    /// The flag's name for the key.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Function => "function",
            SortKey::Module => "module",
            SortKey::Thread => "thread",
            SortKey::Line => "line",
            SortKey::Address => "address",
            SortKey::Pid => "pid",
            SortKey::Comm => "comm",
            SortKey::Cpu => "cpu",
        }
    }
}

/// One row of the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Row {
    /// The key: function, module, thread, file:line or address (several keys: their values
    /// joined by two spaces).
    pub name: String,
    /// The value of each sort key, in the order given.
    pub keys: Vec<String>,
    /// Module of the function (for function, line and address keys), empty when unknown.
    pub module: String,
    /// Weight (in the profile's unit) of samples with the key anywhere on the stack.
    pub total: u64,
    /// Weight of samples with the key in the innermost frame.
    pub self_: u64,
    /// `total` as a percentage of the whole weight.
    pub total_pct: f64,
    /// `self_` as a percentage of the whole weight.
    pub self_pct: f64,
    /// Number of samples with the key anywhere on the stack.
    pub total_samples: u64,
    /// Number of samples with the key in the innermost frame.
    pub self_samples: u64,
    /// For a `module+?` row: the unsymbolized frames (`module+0xOFFSET`) it groups, sorted.
    pub addresses: Vec<String>,
}

/// The computed report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Grouping used (the first key).
    #[serde(skip)]
    pub sort: SortKey,
    /// Every sort key, in order.
    #[serde(skip)]
    pub keys: Vec<SortKey>,
    /// False for `--no-children`: rows are ordered and limited by Self, Total is not shown.
    pub children: bool,
    /// Sum of sample weights.
    pub total_weight: u64,
    /// Number of samples.
    pub samples: u64,
    /// Unit of the weights (`ns`, `page-faults`, `samples`, ...).
    pub unit: String,
    /// Rows, hottest first, after limits.
    pub rows: Vec<Row>,
    /// Rows dropped by the limits.
    pub omitted: usize,
}

impl Report {
    /// The keys as `--sort` takes them: `module,function`.
    pub fn sort_text(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// How [`compute_with`] groups, orders and limits rows.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Sort keys, at least one.
    pub keys: Vec<SortKey>,
    /// At most this many rows.
    pub limit: usize,
    /// Rows below this percentage (of Total, or of Self without children) are left out.
    pub percent_limit: f64,
    /// True for Total (children) and Self; false for Self only (`--no-children`).
    pub children: bool,
}

/// How many samples `s` stands for: a source without periods (folded stacks, unit `samples`)
/// carries its count as the weight; otherwise the row's count (1, or the number of identical
/// samples a recording merged into it).
pub fn sample_count(p: &Profile, s: &Sample) -> u64 {
    if p.unit() == "samples" {
        s.weight
    } else {
        s.count
    }
}

/// Number of samples in `p`, as [`sample_count`] counts them (the loader refuses a file
/// whose counts or weights add up past 2^64).
pub fn count_samples(p: &Profile) -> u64 {
    p.samples
        .iter()
        .fold(0u64, |t, s| t.saturating_add(sample_count(p, s)))
}

/// The group of an unsymbolized frame name (`prog+0x1136`, `[kernel]+0xffff...`): its module
/// part, or None for a named function. Names from symbol tables never end in `+0xHEX`; the
/// builder writes exactly that shape for addresses it could not name.
pub fn unsymbolized_module(name: &str) -> Option<&str> {
    let i = name.rfind("+0x")?;
    let hex = &name[i + 3..];
    (i > 0 && !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| &name[..i])
}

/// Appended to the name of an inlined function's row (its own row: the inlined copies are
/// not the out-of-line function).
pub const INLINED_SUFFIX: &str = " (inlined)";

/// A frame's function name for display, ` (inlined)` appended for an inlined copy.
pub fn function_label(p: &Profile, f: FrameId) -> String {
    let fr = p.frame(f);
    let name = p.str(fr.function);
    if fr.inlined {
        format!("{name}{INLINED_SUFFIX}")
    } else {
        name.to_string()
    }
}

/// The file name of a module path (`libc.so.6` of `/lib/x86_64-linux-gnu/libc.so.6`).
pub fn short_module(p: &Profile, f: FrameId) -> String {
    let module = p.module_name(f);
    module.rsplit('/').next().unwrap_or(module).to_string()
}

/// The row key of a frame, and for a grouped unsymbolized frame its own name.
fn frame_key(p: &Profile, f: FrameId, sort: SortKey) -> ((String, String), Option<String>) {
    let fr = p.frame(f);
    let module_short = short_module(p, f);
    let function = p.str(fr.function);
    // One row per module for its unnamed addresses: a stripped library otherwise fills the
    // table with one-sample rows and hides how much time it takes as a whole.
    let grouped = || match unsymbolized_module(function) {
        Some(m) => (format!("{m}+?"), Some(function.to_string())),
        None => (function_label(p, f), None),
    };
    match sort {
        SortKey::Function => {
            let (name, addr) = grouped();
            ((name, module_short), addr)
        }
        SortKey::Module => (
            (
                if module_short.is_empty() {
                    "[unknown]".to_string()
                } else {
                    module_short
                },
                String::new(),
            ),
            None,
        ),
        SortKey::Line => {
            let file = p.str(fr.file);
            if file.is_empty() || fr.line == 0 {
                let (name, addr) = grouped();
                ((name, module_short), addr)
            } else {
                ((format!("{}:{}", file, fr.line), module_short), None)
            }
        }
        SortKey::Address => {
            let name = if unsymbolized_module(function).is_some() {
                function.to_string()
            } else if let (Some(off), false) = (fr.module_offset, module_short.is_empty()) {
                format!("{function} @ {module_short}+0x{off:x}")
            } else if fr.address != 0 {
                format!("{function} @ 0x{:x}", fr.address)
            } else {
                function.to_string()
            };
            ((name, module_short), None)
        }
        // Per-sample keys are not keys of a frame (see `compute_with`).
        SortKey::Thread | SortKey::Pid | SortKey::Comm | SortKey::Cpu => {
            ((function.to_string(), module_short), None)
        }
    }
}

/// The value of a per-sample key for a sample of thread `t` that ran on `cpu` (when known).
fn sample_key(p: &Profile, t: crate::profile::ThreadIdx, cpu: Option<u32>, k: SortKey) -> String {
    let th = &p.threads[t.0 as usize];
    match k {
        SortKey::Cpu => cpu.map_or_else(|| "unknown CPU".to_string(), |c| format!("cpu {c}")),
        SortKey::Pid => {
            let name = p
                .processes
                .iter()
                .find(|pr| pr.pid == th.pid)
                .map(|pr| p.str(pr.name))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| p.str(th.name));
            if name.is_empty() {
                th.pid.0.to_string()
            } else {
                format!("{}:{name}", th.pid.0)
            }
        }
        SortKey::Comm => {
            let n = p.str(th.name);
            if n.is_empty() {
                "[unknown]".into()
            } else {
                n.to_string()
            }
        }
        _ => p.thread_label(t),
    }
}

/// Per-key sums: weight and samples, total and self.
#[derive(Clone, Copy, Default)]
struct Acc {
    total: u64,
    self_: u64,
    total_n: u64,
    self_n: u64,
}

/// Computes the report over all samples of `p` grouped by one key, Total and Self.
pub fn compute(p: &Profile, sort: SortKey, limit: usize, percent_limit: f64) -> Report {
    compute_with(
        p,
        &ReportOptions {
            keys: vec![sort],
            limit,
            percent_limit,
            children: true,
        },
    )
}

/// A group of frames: the frame keys' values, the module shown beside them, and the
/// unsymbolized addresses it holds.
struct FrameGroup {
    parts: Vec<String>,
    module: String,
}

/// Computes the report over all samples of `p`, weighing each sample by its weight, grouped by
/// the combination of `o.keys`.
pub fn compute_with(p: &Profile, o: &ReportOptions) -> Report {
    let keys: Vec<SortKey> = if o.keys.is_empty() {
        vec![SortKey::Function]
    } else {
        o.keys.clone()
    };
    let skeys: Vec<SortKey> = keys.iter().copied().filter(|k| k.per_sample()).collect();
    let fkeys: Vec<SortKey> = keys.iter().copied().filter(|k| !k.per_sample()).collect();
    // The module is shown (and keeps same-named functions of two modules apart) unless it is a
    // key itself.
    let module_col = !keys.contains(&SortKey::Module)
        && fkeys
            .iter()
            .any(|k| matches!(k, SortKey::Function | SortKey::Line | SortKey::Address));
    let total_weight = p.total_weight();
    // Per-sample keys, interned: thread index -> key index.
    let mut skey_index: HashMap<Vec<String>, u32> = HashMap::default();
    let mut skey_vals: Vec<Vec<String>> = Vec::new();
    let mut thread_skey: HashMap<(u32, Option<u32>), u32> = HashMap::default();
    // Aggregate by (stack, per-sample key) first: far fewer than samples.
    let mut by_stack: HashMap<(Option<StackId>, u32), (u64, u64)> = HashMap::default();
    // The CPU varies per sample, not per thread: it joins the cache key when it is a key.
    let cpus = (skeys.contains(&SortKey::Cpu) && p.sample_cpus.len() == p.samples.len())
        .then_some(&p.sample_cpus);
    for (i, s) in p.samples.iter().enumerate() {
        let cpu = cpus.map(|c| c[i]);
        let sk = *thread_skey.entry((s.thread.0, cpu)).or_insert_with(|| {
            let v: Vec<String> = skeys
                .iter()
                .map(|k| sample_key(p, s.thread, cpu, *k))
                .collect();
            let n = skey_vals.len() as u32;
            *skey_index.entry(v.clone()).or_insert_with(|| {
                skey_vals.push(v);
                n
            })
        });
        let e = by_stack
            .entry((if fkeys.is_empty() { None } else { s.stack }, sk))
            .or_insert((0, 0));
        e.0 += s.weight;
        e.1 += sample_count(p, s);
    }
    let mut groups: Vec<FrameGroup> = Vec::new();
    let mut group_index: HashMap<(Vec<String>, String), u32> = HashMap::default();
    let mut group_addrs: Vec<Vec<String>> = Vec::new();
    let mut frame_group: HashMap<FrameId, u32> = HashMap::default();
    let mut acc: HashMap<(u32, u32), Acc> = HashMap::default();
    let mut seen: Vec<u32> = Vec::new();
    for ((stack, sk), (w, n)) in by_stack {
        if fkeys.is_empty() {
            let a = acc.entry((sk, u32::MAX)).or_default();
            a.total += w;
            a.self_ += w;
            a.total_n += n;
            a.self_n += n;
            continue;
        }
        seen.clear();
        for (depth, f) in p.stack_frames(stack).enumerate() {
            // Distinct frames (addresses, inlined copies) can share a key: map both ways.
            let g = *frame_group.entry(f).or_insert_with(|| {
                let mut parts = Vec::with_capacity(fkeys.len());
                let mut module = String::new();
                let mut addr = None;
                for k in &fkeys {
                    let ((name, m), a) = frame_key(p, f, *k);
                    parts.push(name);
                    if module.is_empty() {
                        module = m;
                    }
                    if addr.is_none() {
                        addr = a;
                    }
                }
                if !module_col {
                    module.clear();
                }
                let id = groups.len() as u32;
                let g = *group_index
                    .entry((parts.clone(), module.clone()))
                    .or_insert_with(|| {
                        groups.push(FrameGroup { parts, module });
                        group_addrs.push(Vec::new());
                        id
                    });
                if let Some(a) = addr {
                    group_addrs[g as usize].push(a);
                }
                g
            });
            let a = acc.entry((sk, g)).or_default();
            if depth == 0 {
                a.self_ += w;
                a.self_n += n;
            }
            // Recursion: count a key once per stack for Total.
            if !seen.contains(&g) {
                seen.push(g);
                a.total += w;
                a.total_n += n;
            }
        }
    }
    let mut rows: Vec<Row> = acc
        .into_iter()
        .filter(|(_, a)| a.total > 0 || a.total_n > 0)
        .map(|((sk, g), a)| {
            let svals = &skey_vals[sk as usize];
            let group = groups.get(g as usize);
            let (mut si, mut fi) = (0, 0);
            let parts: Vec<String> = keys
                .iter()
                .map(|k| {
                    if k.per_sample() {
                        si += 1;
                        svals[si - 1].clone()
                    } else {
                        fi += 1;
                        group.map(|g| g.parts[fi - 1].clone()).unwrap_or_default()
                    }
                })
                .collect();
            let mut addrs = group_addrs.get(g as usize).cloned().unwrap_or_default();
            addrs.sort();
            addrs.dedup();
            Row {
                name: parts.join("  "),
                keys: parts,
                module: group.map(|g| g.module.clone()).unwrap_or_default(),
                total: a.total,
                self_: a.self_,
                total_pct: pct(a.total, total_weight),
                self_pct: pct(a.self_, total_weight),
                total_samples: a.total_n,
                self_samples: a.self_n,
                addresses: addrs,
            }
        })
        .collect();
    if o.children {
        rows.sort_by(|a, b| {
            b.total
                .cmp(&a.total)
                .then(b.self_.cmp(&a.self_))
                .then(b.total_samples.cmp(&a.total_samples))
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.module.cmp(&b.module))
        });
    } else {
        // perf without children: only what ran itself, ordered by it.
        rows.retain(|r| r.self_ > 0 || r.self_samples > 0);
        rows.sort_by(|a, b| {
            b.self_
                .cmp(&a.self_)
                .then(b.self_samples.cmp(&a.self_samples))
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.module.cmp(&b.module))
        });
    }
    let before = rows.len();
    rows.retain(|r| (if o.children { r.total_pct } else { r.self_pct }) >= o.percent_limit);
    rows.truncate(o.limit);
    Report {
        sort: keys[0],
        keys,
        children: o.children,
        total_weight,
        samples: count_samples(p),
        unit: p.unit().to_string(),
        omitted: before - rows.len(),
        rows,
    }
}

/// The total weight in words: `220,000 page-faults`, `155,000,000 ns (0.155 s)`.
pub fn weight_text(w: u64, unit: &str) -> String {
    if unit == "ns" {
        format!("{} ns ({})", thousands(w), secs(w))
    } else {
        format!("{} {unit}", thousands(w))
    }
}

/// The line naming the event shown, its weight unit and, when the source had several events,
/// all of them; None when the source named no event.
pub fn event_line(p: &Profile) -> Option<String> {
    let m = &p.meta;
    if m.event.is_empty() {
        return None;
    }
    let mut line = format!("event: {} (weight: {})", m.event, p.unit());
    if m.events.len() > 1 {
        line.push_str(&format!(
            "; events in the source: {}; shown: {}",
            m.events.join(", "),
            m.event
        ));
    }
    Some(line)
}

/// The header lines describing the source and its data quality.
pub fn header(p: &Profile, source: &str, format: &str) -> Vec<String> {
    let m = &p.meta;
    let mut h = vec![format!("source: {source} ({format})")];
    if !m.target.is_empty() && !m.target.contains(source) {
        h.push(format!("target: {}", m.target));
    }
    if !m.command.is_empty() {
        h.push(format!("command: {}", m.command.join(" ")));
    }
    let n = count_samples(p);
    let w = p.total_weight();
    // Without periods the weight is the sample count, and saying it twice adds nothing; a heap
    // snapshot has no samples at all, only bytes at allocation sites.
    let mut line = match p.unit() {
        "samples" => format!("samples: {}", thousands(n)),
        "bytes" => format!("weight: {}", weight_text(w, "bytes")),
        unit => format!(
            "samples: {}, weight: {}",
            thousands(n),
            weight_text(w, unit)
        ),
    };
    if m.duration_ns > 0 {
        line.push_str(&format!(", duration: {}", secs(m.duration_ns)));
    }
    if m.frequency > 0 {
        line.push_str(&format!(", frequency: {} Hz", m.frequency));
    }
    if !m.call_graph.is_empty() {
        line.push_str(&format!(", call graph: {}", m.call_graph));
    }
    h.push(line);
    if let Some(e) = event_line(p) {
        h.push(e);
    }
    // Only a recording knows its losses; converted text would show made-up zeros.
    if matches!(format, "rprof data" | "perf.data") && (m.frequency > 0 || !m.call_graph.is_empty())
    {
        let total = n + m.lost;
        h.push(format!(
            "lost: {} ({:.2}%), truncated stacks: {} ({:.2}%), unsymbolized frames: {}",
            thousands(m.lost),
            pct(m.lost, total),
            thousands(m.truncated),
            pct(m.truncated, n),
            thousands(m.unsymbolized)
        ));
    }
    let threads = p.threads.len();
    if threads > 1 || p.threads.first().is_some_and(|t| t.tid.0 != 0) {
        h.push(format!("threads: {threads}"));
    }
    for (k, v) in &m.extra {
        h.push(format!("{k}: {v}"));
    }
    h
}

/// The header line naming the filters applied and what they kept; None without filters.
pub fn filter_line(filters: &[String], kept: u64, before: u64) -> Option<String> {
    if filters.is_empty() {
        return None;
    }
    Some(format!(
        "filters: {} (in this order; {} of {} samples kept)",
        filters.join(", "),
        thousands(kept),
        thousands(before)
    ))
}

/// Renders the report as a text table: Total% and Self% are shares of the weight (as
/// `perf report` weighs by period), each followed by its sample count (as `perf report -n`).
/// Without children (`--no-children`) only Self is shown, as perf does without `-g`.
pub fn to_text(r: &Report, header: &[String]) -> String {
    let mut out = String::new();
    for h in header {
        let _ = writeln!(out, "# {h}");
    }
    if r.unit != "samples" && r.unit != "bytes" {
        let _ = writeln!(
            out,
            "# {} of the weight ({}); Samples counts samples",
            if r.children {
                "Total% and Self% are shares"
            } else {
                "Self% is a share"
            },
            r.unit
        );
    }
    out.push('\n');
    let show_module = r
        .keys
        .iter()
        .any(|k| matches!(k, SortKey::Function | SortKey::Line | SortKey::Address))
        && !r.keys.contains(&SortKey::Module);
    // A heap profile's "samples" are allocation sites of one snapshot: its bytes are what a
    // reader wants beside the shares.
    let bytes = r.unit == "bytes";
    let label = if bytes { "Bytes" } else { "Samples" };
    let total_of = |x: &Row| if bytes { x.total } else { x.total_samples };
    let self_of = |x: &Row| if bytes { x.self_ } else { x.self_samples };
    let tw = r
        .rows
        .iter()
        .map(|x| thousands(total_of(x)).len())
        .max()
        .unwrap_or(0)
        .max(7);
    let sw = r
        .rows
        .iter()
        .map(|x| thousands(self_of(x)).len())
        .max()
        .unwrap_or(0)
        .max(7);
    // Every key but the last in a column as wide as its widest value.
    let nk = r.keys.len();
    let widths: Vec<usize> = (0..nk.saturating_sub(1))
        .map(|i| {
            r.rows
                .iter()
                .filter_map(|x| x.keys.get(i))
                .map(|k| k.chars().count())
                .max()
                .unwrap_or(0)
                .max(r.keys[i].title().len())
        })
        .collect();
    let key_cells = |vals: &[&str]| -> String {
        let mut s = String::new();
        for (i, v) in vals.iter().enumerate() {
            if i + 1 < vals.len() {
                let w = widths.get(i).copied().unwrap_or(0);
                let pad = w.saturating_sub(v.chars().count());
                s.push_str(v);
                s.push_str(&" ".repeat(pad + 2));
            } else {
                s.push_str(v);
            }
        }
        s
    };
    let titles: Vec<&str> = r.keys.iter().map(|k| k.title()).collect();
    let key_title = key_cells(&titles);
    let module_title = if show_module { "  [module]" } else { "" };
    if r.children {
        let _ = writeln!(
            out,
            "{:>8} {:>tw$}  {:>8} {:>sw$}  {key_title}{module_title}",
            "Total%", label, "Self%", label,
        );
    } else {
        let _ = writeln!(
            out,
            "{:>8} {:>sw$}  {key_title}{module_title}",
            "Self%", label
        );
    }
    for row in &r.rows {
        let module = if show_module && !row.module.is_empty() {
            format!("  [{}]", row.module)
        } else {
            String::new()
        };
        let vals: Vec<&str> = if row.keys.len() == nk && nk > 1 {
            row.keys.iter().map(|k| k.as_str()).collect()
        } else {
            vec![row.name.as_str()]
        };
        let name = key_cells(&vals);
        if r.children {
            let _ = writeln!(
                out,
                "{:>7.2}% {:>tw$}  {:>7.2}% {:>sw$}  {name}{module}",
                row.total_pct,
                thousands(total_of(row)),
                row.self_pct,
                thousands(self_of(row)),
            );
        } else {
            let _ = writeln!(
                out,
                "{:>7.2}% {:>sw$}  {name}{module}",
                row.self_pct,
                thousands(self_of(row)),
            );
        }
    }
    if r.omitted > 0 {
        let _ = writeln!(
            out,
            "\n({} more rows below the limits; see --limit, --percent-limit)",
            r.omitted
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::folded;

    #[test]
    fn totals_and_self_are_exact() {
        let p = folded::parse("main;a;b 6\nmain;a 2\nmain;c 2\nmain;a;a 0\n").expect("parse");
        let r = compute(&p, SortKey::Function, 25, 0.0);
        let get = |n: &str| r.rows.iter().find(|x| x.name == n).cloned().expect("row");
        assert_eq!((get("main").total, get("main").self_), (10, 0));
        assert_eq!((get("a").total, get("a").self_), (8, 2));
        assert_eq!(get("b").self_pct, 60.0);
        assert_eq!(get("c").total_pct, 20.0);
    }

    /// A profile of page-fault samples: `many` has fewer samples than `few` but each stands
    /// for far more faults, as in frequency mode.
    fn weighted() -> Profile {
        use crate::profile::{Pid, Sample, Tid};
        let mut p = Profile::new();
        p.meta.event = "page-faults".into();
        p.meta.events = vec!["cpu-clock".into(), "page-faults".into()];
        p.meta.unit = "page-faults".into();
        let main = p.add_named_frame("main");
        let many = p.add_named_frame("many");
        let few = p.add_named_frame("few");
        let th = p.add_thread(Pid(1), Tid(1), "prog");
        let s_many = p.add_stack_frames(&[main, many]);
        let s_few = p.add_stack_frames(&[main, few]);
        for (stack, weight, n) in [(s_many, 1000, 9), (s_few, 100, 10)] {
            for _ in 0..n {
                p.add_sample(Sample {
                    stack,
                    thread: th,
                    weight,
                    count: 1,
                    time: None,
                });
            }
        }
        p
    }

    #[test]
    fn rows_weigh_by_period_and_count_samples() {
        let p = weighted();
        let r = compute(&p, SortKey::Function, 25, 0.0);
        let get = |n: &str| r.rows.iter().find(|x| x.name == n).cloned().expect("row");
        // 9 * 1000 of 10_000 faults: 90%, though it has fewer samples than `few`.
        assert_eq!(get("many").self_pct, 90.0);
        assert_eq!(get("few").self_pct, 10.0);
        assert_eq!((get("many").self_samples, get("few").self_samples), (9, 10));
        assert_eq!((get("main").total_samples, get("main").total), (19, 10_000));
        assert_eq!((r.samples, r.total_weight), (19, 10_000));
        assert_eq!(r.rows[1].name, "many", "hottest by weight first");
        let text = to_text(&r, &header(&p, "x.data", "rprof data"));
        assert!(
            text.contains("# event: page-faults (weight: page-faults); events in the source: cpu-clock, page-faults; shown: page-faults"),
            "{text}"
        );
        assert!(
            text.contains("# samples: 19, weight: 10,000 page-faults"),
            "{text}"
        );
        assert!(
            text.contains("  90.00%       9    90.00%       9  many"),
            "{text}"
        );
    }

    #[test]
    fn unsymbolized_frames_of_a_module_form_one_row() {
        let p = folded::parse(
            "main;libx.so+0x10 3\nmain;libx.so+0x2f 2\nmain;[kernel]+0xffff 1\nmain;f+0xz 1\n",
        )
        .expect("parse");
        let r = compute(&p, SortKey::Function, 25, 0.0);
        let names: Vec<&str> = r.rows.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["main", "libx.so+?", "[kernel]+?", "f+0xz"]);
        assert_eq!(r.rows[1].self_, 5);
        assert_eq!(r.rows[1].addresses, ["libx.so+0x10", "libx.so+0x2f"]);
        assert!(r.rows[0].addresses.is_empty());
        // --sort address keeps one row per address.
        let r = compute(&p, SortKey::Address, 25, 0.0);
        let names: Vec<&str> = r.rows.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "main",
                "libx.so+0x10",
                "libx.so+0x2f",
                "[kernel]+0xffff",
                "f+0xz"
            ]
        );
    }

    #[test]
    fn folded_input_reads_as_samples() {
        let p = folded::parse("main;a 3\nmain;b 1\n").expect("parse");
        let r = compute(&p, SortKey::Function, 25, 0.0);
        let text = to_text(&r, &header(&p, "x.folded", "folded stacks"));
        assert!(text.contains("# samples: 4\n"), "{text}");
        assert!(!text.contains("weight"), "{text}");
        assert!(
            text.contains(" 100.00%       4     0.00%       0  main"),
            "{text}"
        );
    }
}
