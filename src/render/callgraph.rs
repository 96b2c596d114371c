//! Callers and callees of chosen functions (`report --callers/--callees REGEX`), like pprof's
//! `-peek` and perf's caller/callee graphs: for each function whose name matches, its own
//! Total and Self, and every edge into it (or out of it) with the weight of the samples that
//! pass through that edge.
//!
//! An edge is counted once per sample however often the sample's stack crosses it (recursion),
//! as Total is; so the callers of a function together can exceed its Total only when the
//! function is reached from two callers in the same stack.

use std::fmt::Write as _;

use regex::Regex;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::profile::{FrameId, Profile, StackId};

use super::report::{function_label, sample_count, short_module, INLINED_SUFFIX};
use super::{pct, thousands};

/// The name shown for "no caller": the function was the outermost frame of the sample.
pub const ROOT: &str = "[root]";

/// One edge: a caller or callee and the weight through it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Edge {
    /// Function name (plain, without the inlined mark), or `[root]`.
    pub name: String,
    /// True when the caller/callee is an inlined copy.
    pub inlined: bool,
    /// Its module's file name, empty when unknown.
    pub module: String,
    /// Weight of the samples passing through the edge.
    pub weight: u64,
    /// `weight` as a percentage of the whole profile.
    pub pct: f64,
    /// `weight` as a percentage of the function's Total.
    pub pct_of_function: f64,
    /// Samples passing through the edge.
    pub samples: u64,
}

/// A matching function with its edges.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Node {
    /// Function name (plain).
    pub name: String,
    /// True for an inlined copy.
    pub inlined: bool,
    /// Module file name, empty when unknown.
    pub module: String,
    /// Weight of samples with the function anywhere on the stack.
    pub total: u64,
    /// `total` as a percentage of the whole.
    pub total_pct: f64,
    /// Samples with the function anywhere on the stack.
    pub total_samples: u64,
    /// Weight of samples with the function innermost.
    #[serde(rename = "self")]
    pub self_: u64,
    /// `self_` as a percentage of the whole.
    pub self_pct: f64,
    /// Samples with the function innermost.
    pub self_samples: u64,
    /// Callers, heaviest first (`[root]` when the function was outermost).
    pub callers: Vec<Edge>,
    /// Callees, heaviest first.
    pub callees: Vec<Edge>,
}

/// The whole view.
#[derive(Clone, Debug, Serialize)]
pub struct CallGraph {
    /// The regex given.
    pub pattern: String,
    /// Sum of all weights.
    pub total_weight: u64,
    /// Unit of the weights.
    pub unit: String,
    /// Matching functions, by Total, heaviest first.
    pub functions: Vec<Node>,
    /// Matching functions left out by `--limit`.
    pub omitted: usize,
}

#[derive(Default, Clone, Copy)]
struct W {
    w: u64,
    n: u64,
}

impl W {
    fn add(&mut self, w: u64, n: u64) {
        self.w += w;
        self.n += n;
    }
}

/// The key of a function: its display label and module (two functions of one name in two
/// modules stay apart, as in the report).
type Key = (String, String);

fn key(p: &Profile, f: FrameId) -> Key {
    (function_label(p, f), short_module(p, f))
}

/// Computes callers and callees of every function whose name matches `re` (at most `limit`
/// of them, heaviest first).
pub fn compute(p: &Profile, re: &Regex, limit: usize) -> CallGraph {
    let total_weight = p.total_weight();
    let mut by_stack: HashMap<Option<StackId>, W> = HashMap::default();
    for s in &p.samples {
        by_stack
            .entry(s.stack)
            .or_default()
            .add(s.weight, sample_count(p, s));
    }
    let mut keys: HashMap<FrameId, Option<Key>> = HashMap::default();
    let mut totals: HashMap<Key, (W, W)> = HashMap::default();
    let mut callers: HashMap<(Key, Key), W> = HashMap::default();
    let mut callees: HashMap<(Key, Key), W> = HashMap::default();
    let root: Key = (ROOT.to_string(), String::new());
    for (stack, w) in by_stack {
        let frames = p.stack_frames_root_first(stack);
        let mut counted: Vec<Key> = Vec::new();
        let mut edges_in: Vec<(Key, Key)> = Vec::new();
        let mut edges_out: Vec<(Key, Key)> = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let k = keys
                .entry(*f)
                .or_insert_with(|| re.is_match(p.function_name(*f)).then(|| key(p, *f)))
                .clone();
            let Some(k) = k else { continue };
            let t = totals.entry(k.clone()).or_default();
            if !counted.contains(&k) {
                counted.push(k.clone());
                t.0.add(w.w, w.n);
            }
            if i + 1 == frames.len() {
                t.1.add(w.w, w.n);
            }
            let caller = if i == 0 {
                root.clone()
            } else {
                key(p, frames[i - 1])
            };
            let e = (k.clone(), caller);
            if !edges_in.contains(&e) {
                edges_in.push(e);
            }
            if let Some(next) = frames.get(i + 1) {
                let e = (k.clone(), key(p, *next));
                if !edges_out.contains(&e) {
                    edges_out.push(e);
                }
            }
        }
        for e in edges_in {
            callers.entry(e).or_default().add(w.w, w.n);
        }
        for e in edges_out {
            callees.entry(e).or_default().add(w.w, w.n);
        }
    }
    let edge_list = |m: &HashMap<(Key, Key), W>, of: &Key, total: u64| -> Vec<Edge> {
        let mut v: Vec<Edge> = m
            .iter()
            .filter(|((f, _), _)| f == of)
            .map(|((_, (label, module)), w)| {
                let inlined = label.ends_with(INLINED_SUFFIX);
                Edge {
                    name: label
                        .strip_suffix(INLINED_SUFFIX)
                        .unwrap_or(label)
                        .to_string(),
                    inlined,
                    module: module.clone(),
                    weight: w.w,
                    pct: pct(w.w, total_weight),
                    pct_of_function: pct(w.w, total),
                    samples: w.n,
                }
            })
            .collect();
        v.sort_by(|a, b| {
            b.weight
                .cmp(&a.weight)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.module.cmp(&b.module))
        });
        v
    };
    let mut functions: Vec<Node> = totals
        .iter()
        .map(|(k, (t, s))| {
            let (label, module) = k;
            Node {
                name: label
                    .strip_suffix(INLINED_SUFFIX)
                    .unwrap_or(label)
                    .to_string(),
                inlined: label.ends_with(INLINED_SUFFIX),
                module: module.clone(),
                total: t.w,
                total_pct: pct(t.w, total_weight),
                total_samples: t.n,
                self_: s.w,
                self_pct: pct(s.w, total_weight),
                self_samples: s.n,
                callers: edge_list(&callers, k, t.w),
                callees: edge_list(&callees, k, t.w),
            }
        })
        .collect();
    functions.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.module.cmp(&b.module))
    });
    let omitted = functions.len().saturating_sub(limit);
    functions.truncate(limit);
    CallGraph {
        pattern: re.as_str().to_string(),
        total_weight,
        unit: p.unit().to_string(),
        functions,
        omitted,
    }
}

fn label(name: &str, inlined: bool, module: &str) -> String {
    let mut s = name.to_string();
    if inlined {
        s.push_str(INLINED_SUFFIX);
    }
    if !module.is_empty() {
        let _ = write!(s, "  [{module}]");
    }
    s
}

/// Renders the view as text: per function a block with its callers above it and its callees
/// below, as `pprof -peek` lays it out. `callers`/`callees` choose the halves shown.
pub fn to_text(g: &CallGraph, header: &[String], callers: bool, callees: bool) -> String {
    let mut out = String::new();
    for h in header {
        let _ = writeln!(out, "# {h}");
    }
    let what = match (callers, callees) {
        (true, true) => "Callers and callees",
        (true, false) => "Callers",
        _ => "Callees",
    };
    let _ = writeln!(
        out,
        "# {what} of the functions matching '{}'. Edge%: share of all the weight that passes \
         through the edge; Of fn%: share of the function's Total; each edge counted once per \
         sample.",
        g.pattern
    );
    if g.functions.is_empty() {
        out.push_str(&crate::render::no_function_shown(&g.pattern, g.omitted));
        return out;
    }
    let rule = "-".repeat(78);
    let samples_col = |n: u64| thousands(n);
    let edges = |out: &mut String, v: &[Edge], arrow: &str| {
        for e in v {
            let _ = writeln!(
                out,
                "{:>7.2}% {:>7.2}% {:>9}    {arrow} {}",
                e.pct,
                e.pct_of_function,
                samples_col(e.samples),
                label(&e.name, e.inlined, &e.module)
            );
        }
    };
    for f in &g.functions {
        let _ = writeln!(out, "\n{rule}");
        let _ = writeln!(
            out,
            "{:>8} {:>8} {:>9}  function  (<- caller, -> callee)",
            "Edge%", "Of fn%", "Samples"
        );
        if callers {
            edges(&mut out, &f.callers, "<-");
        }
        let _ = writeln!(
            out,
            "{:>7.2}% {:>8} {:>9}  {}   (Total; Self {:.2}%, {} samples)",
            f.total_pct,
            "",
            samples_col(f.total_samples),
            label(&f.name, f.inlined, &f.module),
            f.self_pct,
            samples_col(f.self_samples)
        );
        if callees {
            edges(&mut out, &f.callees, "->");
        }
    }
    let _ = writeln!(out, "{rule}");
    if g.omitted > 0 {
        let _ = writeln!(
            out,
            "\n({} more matching functions below the limit; see --limit)",
            g.omitted
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::folded;

    #[test]
    fn two_callers_in_a_two_to_one_ratio() {
        let p = folded::parse("main;a;work 6\nmain;b;work 3\nmain;b 1\n").expect("parse");
        let g = compute(&p, &Regex::new("^work$").expect("re"), 10);
        let f = &g.functions[0];
        assert_eq!((f.total, f.self_), (9, 9));
        let c: Vec<(&str, u64)> = f.callers.iter().map(|e| (&*e.name, e.weight)).collect();
        assert_eq!(c, [("a", 6), ("b", 3)]);
        assert_eq!(f.callers[0].pct, 60.0);
        assert!((f.callers[0].pct_of_function - 200.0 / 3.0).abs() < 1e-9);
        assert!(f.callees.is_empty());
    }

    #[test]
    fn recursion_counts_each_edge_once_per_sample() {
        let p = folded::parse("main;f;f;f;g 4\nmain;f 1\n").expect("parse");
        let g = compute(&p, &Regex::new("^f$").expect("re"), 10);
        let f = &g.functions[0];
        assert_eq!((f.total, f.self_), (5, 1));
        let c: Vec<(&str, u64)> = f.callers.iter().map(|e| (&*e.name, e.weight)).collect();
        assert_eq!(c, [("main", 5), ("f", 4)]);
        let c: Vec<(&str, u64)> = f.callees.iter().map(|e| (&*e.name, e.weight)).collect();
        assert_eq!(c, [("f", 4), ("g", 4)]);
        let g = compute(&p, &Regex::new("^main$").expect("re"), 10);
        assert_eq!(g.functions[0].callers[0].name, ROOT);
    }
}
