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
    /// Function name.
    Function,
    /// Module (executable or shared library).
    Module,
    /// Thread.
    Thread,
    /// Source file and line (function name where unknown).
    Line,
}

/// One row of the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Row {
    /// The key: function, module, thread or file:line.
    pub name: String,
    /// Module of the function (for function and line keys), empty when unknown.
    pub module: String,
    /// Weight of samples with the key anywhere on the stack.
    pub total: u64,
    /// Weight of samples with the key in the innermost frame.
    pub self_: u64,
    /// `total` as a percentage of all samples.
    pub total_pct: f64,
    /// `self_` as a percentage of all samples.
    pub self_pct: f64,
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
    /// Rows, hottest first, after limits.
    pub rows: Vec<Row>,
    /// Rows dropped by the limits.
    pub omitted: usize,
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

fn frame_key(p: &Profile, f: FrameId, sort: SortKey) -> (String, String) {
    let fr = p.frame(f);
    let module = p.module_name(f);
    let module_short = module.rsplit('/').next().unwrap_or(module).to_string();
    match sort {
        SortKey::Function => (function_label(p, f), module_short),
        SortKey::Module => (
            if module_short.is_empty() {
                "[unknown]".to_string()
            } else {
                module_short
            },
            String::new(),
        ),
        SortKey::Line => {
            let file = p.str(fr.file);
            if file.is_empty() || fr.line == 0 {
                (function_label(p, f), module_short)
            } else {
                (format!("{}:{}", file, fr.line), module_short)
            }
        }
        // Thread rows are keyed by sample, not frame (see `compute`); the name is a fallback.
        SortKey::Thread => (p.str(fr.function).to_string(), module_short),
    }
}

/// Computes the report over all samples of `p`.
pub fn compute(p: &Profile, sort: SortKey, limit: usize, percent_limit: f64) -> Report {
    let total_weight = p.total_weight();
    let mut acc: HashMap<(String, String), (u64, u64)> = HashMap::default();
    if sort == SortKey::Thread {
        for s in &p.samples {
            let e = acc
                .entry((p.thread_label(s.thread), String::new()))
                .or_insert((0, 0));
            e.0 += s.weight;
            e.1 += s.weight;
        }
    } else {
        // Aggregate by stack id first: there are far fewer distinct stacks than samples.
        let mut by_stack: HashMap<Option<StackId>, u64> = HashMap::default();
        for s in &p.samples {
            *by_stack.entry(s.stack).or_insert(0) += s.weight;
        }
        let mut key_cache: HashMap<FrameId, u32> = HashMap::default();
        let mut key_index: HashMap<(String, String), u32> = HashMap::default();
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut key_w: Vec<(u64, u64)> = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        for (stack, w) in by_stack {
            seen.clear();
            for (depth, f) in p.stack_frames(stack).enumerate() {
                // Distinct frames (addresses, inlined copies) can share a key: map both ways.
                let k = *key_cache.entry(f).or_insert_with(|| {
                    let key = frame_key(p, f, sort);
                    *key_index.entry(key.clone()).or_insert_with(|| {
                        keys.push(key);
                        key_w.push((0, 0));
                        (keys.len() - 1) as u32
                    })
                });
                if depth == 0 {
                    key_w[k as usize].1 += w;
                }
                // Recursion: count a key once per stack for Total.
                if !seen.contains(&k) {
                    seen.push(k);
                    key_w[k as usize].0 += w;
                }
            }
        }
        for (k, (t, s)) in keys.into_iter().zip(key_w) {
            let e = acc.entry(k).or_insert((0, 0));
            e.0 += t;
            e.1 += s;
        }
    }
    let mut rows: Vec<Row> = acc
        .into_iter()
        .filter(|(_, (t, _))| *t > 0)
        .map(|((name, module), (total, self_))| Row {
            name,
            module,
            total,
            self_,
            total_pct: pct(total, total_weight),
            self_pct: pct(self_, total_weight),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then(b.self_.cmp(&a.self_))
            .then_with(|| a.name.cmp(&b.name))
    });
    let before = rows.len();
    rows.retain(|r| r.total_pct >= percent_limit);
    rows.truncate(limit);
    Report {
        sort,
        total_weight,
        samples: p.samples.len() as u64,
        omitted: before - rows.len(),
        rows,
    }
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
    let n = p.samples.len() as u64;
    let w = p.total_weight();
    // Folded lines carry counts, not individual samples: their weight is the sample count.
    let counted = format == "folded stacks";
    let mut line = format!("samples: {}", thousands(if counted { w } else { n }));
    if w != n && !counted {
        line.push_str(&format!(" (weight {})", thousands(w)));
    }
    if m.duration_ns > 0 {
        line.push_str(&format!(", duration: {}", secs(m.duration_ns)));
    }
    if !m.event.is_empty() {
        line.push_str(&format!(", event: {}", m.event));
    }
    if m.frequency > 0 {
        line.push_str(&format!(", frequency: {} Hz", m.frequency));
    }
    if !m.call_graph.is_empty() {
        line.push_str(&format!(", call graph: {}", m.call_graph));
    }
    h.push(line);
    // Only a recording knows its losses; converted text would show made-up zeros.
    if format == "rprof data" && (m.frequency > 0 || !m.call_graph.is_empty()) {
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

/// Renders the report as a text table.
pub fn to_text(r: &Report, header: &[String]) -> String {
    let mut out = String::new();
    for h in header {
        let _ = writeln!(out, "# {h}");
    }
    out.push('\n');
    let key = match r.sort {
        SortKey::Function => "Function",
        SortKey::Module => "Module",
        SortKey::Thread => "Thread",
        SortKey::Line => "Source line",
    };
    let show_module = matches!(r.sort, SortKey::Function | SortKey::Line);
    let tw = r
        .rows
        .iter()
        .map(|x| thousands(x.total).len())
        .max()
        .unwrap_or(0)
        .max(7);
    let sw = r
        .rows
        .iter()
        .map(|x| thousands(x.self_).len())
        .max()
        .unwrap_or(0)
        .max(7);
    let _ = writeln!(
        out,
        "{:>8} {:>tw$}  {:>8} {:>sw$}  {}{}",
        "Total%",
        "Samples",
        "Self%",
        "Samples",
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
            thousands(row.total),
            row.self_pct,
            thousands(row.self_),
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
}
