//! The call tree (`report --tree`): every path from the roots, merged by function, with the
//! Total and Self of each node, indented by depth; `--inverted` starts from the innermost
//! frames (what ran) and walks out to the callers, like `perf report -g caller` read upside
//! down. Pruned by `--percent-limit` and `--depth`, and kept within a fixed width so that it
//! reads the same at 200 columns and in a pipe.

use std::fmt::Write as _;

use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::profile::{Profile, StackId};

use super::report::{function_label, sample_count, short_module, INLINED_SUFFIX};
use super::{pct, thousands};

/// Widest line written (names are shortened with `...` to fit).
pub const WIDTH: usize = 200;

/// Indentation stops growing after this many levels; deeper nodes carry their depth in the
/// text instead (`[37] name`), so a 200-deep recursion does not push names off the screen.
const MAX_INDENT_LEVELS: usize = 40;

/// One node of the tree.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TreeNode {
    /// The function's name (plain; the text view marks an inlined copy ` (inlined)`).
    pub name: String,
    /// True for an inlined copy of the function (as the report's and call graph's JSON say).
    pub inlined: bool,
    /// Module file name, empty when unknown.
    pub module: String,
    /// Weight of samples through this path.
    pub total: u64,
    /// `total` as a percentage of the whole.
    pub total_pct: f64,
    /// Weight of samples ending exactly here (top-down: the function ran itself; inverted:
    /// the path reached the outermost frame here).
    #[serde(rename = "self")]
    pub self_: u64,
    /// `self_` as a percentage of the whole.
    pub self_pct: f64,
    /// Samples through this path.
    pub samples: u64,
    /// Children kept by the limits, heaviest first.
    pub children: Vec<TreeNode>,
    /// Children left out by `--percent-limit` or `--depth`.
    pub omitted: usize,
}

/// The whole tree.
#[derive(Clone, Debug, Serialize)]
pub struct Tree {
    /// True for the bottom-up tree.
    pub inverted: bool,
    /// Sum of all weights.
    pub total_weight: u64,
    /// Unit of the weights.
    pub unit: String,
    /// The roots kept, heaviest first.
    pub roots: Vec<TreeNode>,
    /// Roots left out by `--percent-limit`.
    pub omitted: usize,
}

#[derive(Default)]
struct Build {
    /// Index into the key table.
    key: u32,
    children: Vec<usize>,
    total: u64,
    self_: u64,
    n: u64,
}

/// Limits of the tree.
#[derive(Clone, Copy, Debug)]
pub struct TreeOptions {
    /// Bottom-up instead of top-down.
    pub inverted: bool,
    /// Nodes below this share of the whole weight are left out.
    pub percent_limit: f64,
    /// Levels shown (1: the roots only); None for all.
    pub max_depth: Option<usize>,
}

/// Builds the tree of `p`.
pub fn compute(p: &Profile, o: &TreeOptions) -> Tree {
    let total_weight = p.total_weight();
    let mut by_stack: HashMap<Option<StackId>, (u64, u64)> = HashMap::default();
    for s in &p.samples {
        let e = by_stack.entry(s.stack).or_insert((0, 0));
        e.0 += s.weight;
        e.1 += sample_count(p, s);
    }
    // Node 0 is a virtual root above the real ones. Keys (function label, module) are
    // interned once per frame id: building strings per frame of every stack would cost more
    // than the walk itself on large profiles.
    let mut nodes: Vec<Build> = vec![Build::default()];
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut key_index: HashMap<(String, String), u32> = HashMap::default();
    let mut frame_key: HashMap<crate::profile::FrameId, u32> = HashMap::default();
    let mut child: HashMap<(usize, u32), usize> = HashMap::default();
    let mut stacks: Vec<(Option<StackId>, (u64, u64))> = by_stack.into_iter().collect();
    stacks.sort_by_key(|(s, _)| s.map(|x| x.0));
    for (stack, (w, n)) in stacks {
        let mut frames = p.stack_frames_root_first(stack);
        if o.inverted {
            frames.reverse();
        }
        if frames.is_empty() {
            continue;
        }
        let mut cur = 0usize;
        for f in &frames {
            let k = *frame_key.entry(*f).or_insert_with(|| {
                let k = (function_label(p, *f), short_module(p, *f));
                let id = keys.len() as u32;
                *key_index.entry(k.clone()).or_insert_with(|| {
                    keys.push(k);
                    id
                })
            });
            let next = match child.get(&(cur, k)) {
                Some(&i) => i,
                None => {
                    nodes.push(Build {
                        key: k,
                        ..Build::default()
                    });
                    let i = nodes.len() - 1;
                    nodes[cur].children.push(i);
                    child.insert((cur, k), i);
                    i
                }
            };
            cur = next;
            nodes[cur].total += w;
            nodes[cur].n += n;
        }
        nodes[cur].self_ += w;
    }
    fn emit(
        nodes: &[Build],
        keys: &[(String, String)],
        i: usize,
        depth: usize,
        o: &TreeOptions,
        total: u64,
    ) -> (Vec<TreeNode>, usize) {
        let mut kids: Vec<usize> = nodes[i].children.clone();
        kids.sort_by(|a, b| {
            nodes[*b]
                .total
                .cmp(&nodes[*a].total)
                .then_with(|| keys[nodes[*a].key as usize].cmp(&keys[nodes[*b].key as usize]))
        });
        let mut out = Vec::new();
        let mut omitted = 0;
        for k in kids {
            let b = &nodes[k];
            if pct(b.total, total) < o.percent_limit || o.max_depth.is_some_and(|d| depth >= d) {
                omitted += 1;
                continue;
            }
            let (children, om) = emit(nodes, keys, k, depth + 1, o, total);
            let (label, module) = &keys[b.key as usize];
            out.push(TreeNode {
                name: label
                    .strip_suffix(INLINED_SUFFIX)
                    .unwrap_or(label)
                    .to_string(),
                inlined: label.ends_with(INLINED_SUFFIX),
                module: module.clone(),
                total: b.total,
                total_pct: pct(b.total, total),
                self_: b.self_,
                self_pct: pct(b.self_, total),
                samples: b.n,
                children,
                omitted: om,
            });
        }
        (out, omitted)
    }
    let (roots, omitted) = emit(&nodes, &keys, 0, 0, o, total_weight);
    Tree {
        inverted: o.inverted,
        total_weight,
        unit: p.unit().to_string(),
        roots,
        omitted,
    }
}

/// Shortens `s` to at most `max` characters, ending in `...` when cut.
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(3);
    let mut t: String = s.chars().take(keep).collect();
    t.push_str("...");
    t
}

/// Renders the tree as indented text, one node per line, no line wider than [`WIDTH`].
pub fn to_text(t: &Tree, header: &[String]) -> String {
    let mut out = String::new();
    for h in header {
        let _ = writeln!(out, "# {h}");
    }
    let _ = writeln!(
        out,
        "# {}: Total% is the share of the weight through the path, Self% {}; children indented under their {}",
        if t.inverted {
            "Inverted call tree (innermost frames first)"
        } else {
            "Call tree (from the roots)"
        },
        if t.inverted {
            "the share whose outermost frame this is"
        } else {
            "the share that ran in the function itself"
        },
        if t.inverted { "callee" } else { "caller" }
    );
    // The explanation above is one line of at most WIDTH columns too (the longer, inverted
    // one is 182), so that the whole tree reads at 200 columns.
    out.push('\n');
    let _ = writeln!(
        out,
        "{:>8} {:>8} {:>9}  Function",
        "Total%", "Self%", "Samples"
    );
    fn walk(out: &mut String, n: &TreeNode, depth: usize) {
        let levels = depth.min(MAX_INDENT_LEVELS);
        let mut line = format!(
            "{:>7.2}% {:>7.2}% {:>9}  {}",
            n.total_pct,
            n.self_pct,
            thousands(n.samples),
            "  ".repeat(levels)
        );
        if depth > MAX_INDENT_LEVELS {
            let _ = write!(line, "[{depth}] ");
        }
        let mut name = n.name.clone();
        if n.inlined {
            name.push_str(INLINED_SUFFIX);
        }
        if !n.module.is_empty() {
            let _ = write!(name, "  [{}]", n.module);
        }
        let room = WIDTH.saturating_sub(line.chars().count()).max(20);
        line.push_str(&fit(&name, room));
        let _ = writeln!(out, "{line}");
        for c in &n.children {
            walk(out, c, depth + 1);
        }
        if n.omitted > 0 {
            let levels = (depth + 1).min(MAX_INDENT_LEVELS);
            let _ = writeln!(
                out,
                "{:>28}  {}({} more below the limits)",
                "",
                "  ".repeat(levels),
                n.omitted
            );
        }
    }
    for r in &t.roots {
        walk(&mut out, r, 0);
    }
    if t.omitted > 0 {
        let _ = writeln!(
            out,
            "\n({} more roots below the limits; see --percent-limit)",
            t.omitted
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::folded;

    fn opts(inverted: bool) -> TreeOptions {
        TreeOptions {
            inverted,
            percent_limit: 0.0,
            max_depth: None,
        }
    }

    #[test]
    fn top_down_and_inverted() {
        let p = folded::parse("main;a;work 6\nmain;b;work 3\nmain;b 1\n").expect("parse");
        let t = compute(&p, &opts(false));
        let main = &t.roots[0];
        assert_eq!(
            (main.name.as_str(), main.total, main.self_),
            ("main", 10, 0)
        );
        let kids: Vec<(&str, u64, u64)> = main
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.total, c.self_))
            .collect();
        assert_eq!(kids, [("a", 6, 0), ("b", 4, 1)]);
        let t = compute(&p, &opts(true));
        let roots: Vec<(&str, u64)> = t.roots.iter().map(|c| (c.name.as_str(), c.total)).collect();
        assert_eq!(roots, [("work", 9), ("b", 1)]);
        let callers: Vec<(&str, u64)> = t.roots[0]
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.total))
            .collect();
        assert_eq!(callers, [("a", 6), ("b", 3)]);
    }

    #[test]
    fn limits_prune_and_lines_stay_narrow() {
        let long = "x".repeat(500);
        let deep: Vec<String> = (0..60).map(|i| format!("f{i}")).collect();
        let text = format!("main;{} 1\nmain;{long} 1\nmain;tiny 0\n", deep.join(";"));
        let p = folded::parse(&text).expect("parse");
        let t = compute(
            &p,
            &TreeOptions {
                inverted: false,
                percent_limit: 1.0,
                max_depth: Some(3),
            },
        );
        let s = to_text(&t, &[]);
        assert!(s.lines().all(|l| l.chars().count() <= WIDTH), "{s}");
        assert!(s.contains("f1\n") && !s.contains("f2\n"), "{s}");
        let t = compute(&p, &opts(false));
        let s = to_text(&t, &[]);
        assert!(s.lines().all(|l| l.chars().count() <= WIDTH));
        assert!(s.contains("[45] f44"), "{s}");
    }
}
