//! The hot-functions report: Total (self plus callees) and Self per key, like
//! `perf report --children --no-call-graph`.

use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::profile::{FrameId, Profile, StackId};

use super::{pct, secs, thousands};

/// What rows are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    /// Function name; unsymbolized frames of one module form one row, `module+?`.
    Function,
    /// Module (executable or shared library).
    Module,
    /// Thread.
    Thread,
    /// Source file and line (function name where unknown).
    Line,
    /// Code address: one row per distinct address, unsymbolized ones included.
    Address,
}

/// One row of the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Row {
    /// The key: function, module, thread, file:line or address.
    pub name: String,
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
    /// Grouping used.
    pub sort: SortKey,
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

/// How many samples `s` stands for: a source without periods (folded stacks, unit `samples`)
/// carries its count as the weight; otherwise each sample is one.
fn sample_count(p: &Profile, weight: u64) -> u64 {
    if p.unit() == "samples" {
        weight
    } else {
        1
    }
}

/// Number of samples in `p`, as [`sample_count`] counts them.
pub fn count_samples(p: &Profile) -> u64 {
    if p.unit() == "samples" {
        p.total_weight()
    } else {
        p.samples.len() as u64
    }
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

fn function_label(p: &Profile, f: FrameId) -> String {
    let fr = p.frame(f);
    let name = p.str(fr.function);
    if fr.inlined {
        format!("{name}{INLINED_SUFFIX}")
    } else {
        name.to_string()
    }
}

/// The row key of a frame, and for a grouped unsymbolized frame its own name.
fn frame_key(p: &Profile, f: FrameId, sort: SortKey) -> ((String, String), Option<String>) {
    let fr = p.frame(f);
    let module = p.module_name(f);
    let module_short = module.rsplit('/').next().unwrap_or(module).to_string();
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
        // Thread rows are keyed by sample, not frame (see `compute`); the name is a fallback.
        SortKey::Thread => ((function.to_string(), module_short), None),
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

/// Computes the report over all samples of `p`, weighing each sample by its weight.
pub fn compute(p: &Profile, sort: SortKey, limit: usize, percent_limit: f64) -> Report {
    let total_weight = p.total_weight();
    let mut acc: HashMap<(String, String), Acc> = HashMap::default();
    let mut addresses: HashMap<(String, String), Vec<String>> = HashMap::default();
    if sort == SortKey::Thread {
        for s in &p.samples {
            let e = acc
                .entry((p.thread_label(s.thread), String::new()))
                .or_default();
            let n = sample_count(p, s.weight);
            e.total += s.weight;
            e.self_ += s.weight;
            e.total_n += n;
            e.self_n += n;
        }
    } else {
        // Aggregate by stack id first: there are far fewer distinct stacks than samples.
        let mut by_stack: HashMap<Option<StackId>, (u64, u64)> = HashMap::default();
        for s in &p.samples {
            let e = by_stack.entry(s.stack).or_insert((0, 0));
            e.0 += s.weight;
            e.1 += sample_count(p, s.weight);
        }
        let mut key_cache: HashMap<FrameId, u32> = HashMap::default();
        let mut key_index: HashMap<(String, String), u32> = HashMap::default();
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut key_w: Vec<Acc> = Vec::new();
        let mut key_addrs: Vec<Vec<String>> = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        for (stack, (w, n)) in by_stack {
            seen.clear();
            for (depth, f) in p.stack_frames(stack).enumerate() {
                // Distinct frames (addresses, inlined copies) can share a key: map both ways.
                let k = *key_cache.entry(f).or_insert_with(|| {
                    let (key, addr) = frame_key(p, f, sort);
                    let k = *key_index.entry(key.clone()).or_insert_with(|| {
                        keys.push(key);
                        key_w.push(Acc::default());
                        key_addrs.push(Vec::new());
                        (keys.len() - 1) as u32
                    });
                    if let Some(a) = addr {
                        key_addrs[k as usize].push(a);
                    }
                    k
                });
                let a = &mut key_w[k as usize];
                if depth == 0 {
                    a.self_ += w;
                    a.self_n += n;
                }
                // Recursion: count a key once per stack for Total.
                if !seen.contains(&k) {
                    seen.push(k);
                    a.total += w;
                    a.total_n += n;
                }
            }
        }
        for ((k, a), addrs) in keys.into_iter().zip(key_w).zip(key_addrs) {
            if !addrs.is_empty() {
                addresses.entry(k.clone()).or_default().extend(addrs);
            }
            let e = acc.entry(k).or_default();
            e.total += a.total;
            e.self_ += a.self_;
            e.total_n += a.total_n;
            e.self_n += a.self_n;
        }
    }
    let mut rows: Vec<Row> = acc
        .into_iter()
        .filter(|(_, a)| a.total > 0 || a.total_n > 0)
        .map(|(key, a)| {
            let mut addrs = addresses.remove(&key).unwrap_or_default();
            addrs.sort();
            addrs.dedup();
            let (name, module) = key;
            Row {
                name,
                module,
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
    rows.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then(b.self_.cmp(&a.self_))
            .then(b.total_samples.cmp(&a.total_samples))
            .then_with(|| a.name.cmp(&b.name))
    });
    let before = rows.len();
    rows.retain(|r| r.total_pct >= percent_limit);
    rows.truncate(limit);
    Report {
        sort,
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

/// Renders the report as a text table: Total% and Self% are shares of the weight (as
/// `perf report` weighs by period), each followed by its sample count (as `perf report -n`).
pub fn to_text(r: &Report, header: &[String]) -> String {
    let mut out = String::new();
    for h in header {
        let _ = writeln!(out, "# {h}");
    }
    if r.unit != "samples" && r.unit != "bytes" {
        let _ = writeln!(
            out,
            "# Total% and Self% are shares of the weight ({}); Samples counts samples",
            r.unit
        );
    }
    out.push('\n');
    let key = match r.sort {
        SortKey::Function => "Function",
        SortKey::Module => "Module",
        SortKey::Thread => "Thread",
        SortKey::Line => "Source line",
        SortKey::Address => "Address",
    };
    let show_module = matches!(r.sort, SortKey::Function | SortKey::Line | SortKey::Address);
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
    let _ = writeln!(
        out,
        "{:>8} {:>tw$}  {:>8} {:>sw$}  {}{}",
        "Total%",
        label,
        "Self%",
        label,
        key,
        if show_module { "  [module]" } else { "" },
    );
    for row in &r.rows {
        let module = if show_module && !row.module.is_empty() {
            format!("  [{}]", row.module)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:>7.2}% {:>tw$}  {:>7.2}% {:>sw$}  {}{}",
            row.total_pct,
            thousands(total_of(row)),
            row.self_pct,
            thousands(self_of(row)),
            row.name,
            module
        );
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
