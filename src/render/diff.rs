//! Differential profiles: the folded `stack before after` lines for a differential flame graph
//! and the table of per-function self-time changes.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::profile::folded::{self, FoldOptions, LineBuf};
use crate::profile::stack_counts::StackCounts;
use crate::profile::Profile;

use super::{pct, thousands};

/// One changed function.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Change {
    /// Function name.
    pub function: String,
    /// Self share before, percent.
    pub before_pct: f64,
    /// Self share after, percent.
    pub after_pct: f64,
    /// `after_pct - before_pct`, percentage points.
    pub delta_points: f64,
    /// Self samples before.
    pub before_samples: u64,
    /// Self samples after.
    pub after_samples: u64,
}

/// The comparison.
#[derive(Clone, Debug, Serialize)]
pub struct DiffTable {
    /// Total weight of BEFORE.
    pub before_total: u64,
    /// Total weight of AFTER.
    pub after_total: u64,
    /// Functions in both, biggest absolute change first.
    pub changed: Vec<Change>,
    /// Functions only in AFTER (appeared).
    pub only_after: Vec<Change>,
    /// Functions only in BEFORE (disappeared).
    pub only_before: Vec<Change>,
}

fn self_by_function(p: &Profile) -> HashMap<&str, u64> {
    let mut by_stack: HashMap<_, u64> = HashMap::default();
    for s in &p.samples {
        let w = by_stack.entry(s.stack).or_insert(0);
        *w = w.wrapping_add(s.weight);
    }
    let mut out: HashMap<&str, u64> = HashMap::default();
    for (stack, w) in by_stack {
        if let Some(leaf) = p.stack_frames(stack).next() {
            let c = out.entry(p.function_name(leaf)).or_insert(0);
            *c = c.wrapping_add(w);
        }
    }
    out
}

/// Self weight per leaf function of folded stacks: the text after the last `;`, as the
/// folded parser names the innermost frame.
fn self_by_leaf<'a>(c: &StackCounts<'a>) -> HashMap<&'a str, u64> {
    let mut out: HashMap<&str, u64> = HashMap::default();
    for (stack, w) in &c.stacks {
        let leaf = stack.rsplit(';').next().unwrap_or(stack);
        let e = out.entry(leaf).or_insert(0);
        *e = e.wrapping_add(*w);
    }
    out
}

/// Computes the table of changes in self share per function; `limit` caps each list.
pub fn table(before: &Profile, after: &Profile, limit: usize) -> DiffTable {
    table_of(
        &self_by_function(before),
        &self_by_function(after),
        (before.total_weight(), after.total_weight()),
        limit,
    )
}

/// [`table`] of two folded inputs counted per stack: the same table, without the model.
pub fn table_counted(before: &StackCounts<'_>, after: &StackCounts<'_>, limit: usize) -> DiffTable {
    table_of(
        &self_by_leaf(before),
        &self_by_leaf(after),
        (before.total(), after.total()),
        limit,
    )
}

fn table_of(
    b: &HashMap<&str, u64>,
    a: &HashMap<&str, u64>,
    (bt, at): (u64, u64),
    limit: usize,
) -> DiffTable {
    let names: BTreeSet<&str> = b.keys().chain(a.keys()).copied().collect();
    let mut changed = Vec::new();
    let mut only_after = Vec::new();
    let mut only_before = Vec::new();
    for n in names {
        let (bs, as_) = (
            b.get(n).copied().unwrap_or(0),
            a.get(n).copied().unwrap_or(0),
        );
        let c = Change {
            function: n.to_string(),
            before_pct: pct(bs, bt),
            after_pct: pct(as_, at),
            delta_points: pct(as_, at) - pct(bs, bt),
            before_samples: bs,
            after_samples: as_,
        };
        match (bs > 0, as_ > 0) {
            (true, true) => changed.push(c),
            (false, true) => only_after.push(c),
            (true, false) => only_before.push(c),
            (false, false) => {}
        }
    }
    let by_delta = |x: &Change, y: &Change| {
        y.delta_points
            .abs()
            .total_cmp(&x.delta_points.abs())
            .then_with(|| x.function.cmp(&y.function))
    };
    changed.sort_by(by_delta);
    only_after.sort_by(by_delta);
    only_before.sort_by(by_delta);
    changed.truncate(limit);
    only_after.truncate(limit);
    only_before.truncate(limit);
    DiffTable {
        before_total: bt,
        after_total: at,
        changed,
        only_after,
        only_before,
    }
}

/// Folded differential lines: `stack before after`, with BEFORE scaled to AFTER's total when
/// `normalize` is set. A scaled count that would round to zero is kept at one, so a stack
/// present before never vanishes from the picture.
pub fn diff_lines(before: &Profile, after: &Profile, normalize: bool) -> LineBuf {
    // Folding sorts by text, as the merging walk needs.
    let fb = folded::fold(before, &FoldOptions::default());
    let fa = folded::fold(after, &FoldOptions::default());
    let b: Vec<(&str, u64)> = fb.iter().map(|(s, w)| (s.as_str(), *w)).collect();
    let a: Vec<(&str, u64)> = fa.iter().map(|(s, w)| (s.as_str(), *w)).collect();
    diff_lines_of(&b, &a, normalize)
}

/// [`diff_lines`] of two folded inputs counted per stack, each in text order.
pub fn diff_lines_counted(
    before: &StackCounts<'_>,
    after: &StackCounts<'_>,
    normalize: bool,
) -> LineBuf {
    diff_lines_of(&before.stacks, &after.stacks, normalize)
}

/// The lines of two tables of distinct stacks sorted by text. Stacks of zero weight are left
/// out, as folding a profile leaves them out.
fn diff_lines_of(fb: &[(&str, u64)], fa: &[(&str, u64)], normalize: bool) -> LineBuf {
    let sum = |f: &[(&str, u64)]| f.iter().fold(0u64, |t, (_, w)| t.wrapping_add(*w));
    let (bt, at) = (sum(fb), sum(fa));
    let scale = if normalize && bt > 0 && at > 0 {
        at as f64 / bt as f64
    } else {
        1.0
    };
    let scaled = |w: u64| {
        if scale == 1.0 {
            w
        } else {
            ((w as f64 * scale).round() as u64).max(1)
        }
    };
    let bytes = fb
        .iter()
        .chain(fa)
        .map(|(s, _)| s.len() + 24)
        .sum::<usize>();
    let mut out = LineBuf::with_capacity(fb.len().max(fa.len()), bytes);
    // Both sides are sorted: one merging walk gives the lines in order, no table, no sort.
    let mut b = fb.iter().filter(|x| x.1 != 0).peekable();
    let mut a = fa.iter().filter(|x| x.1 != 0).peekable();
    loop {
        let (s, wb, wa) = match (b.peek(), a.peek()) {
            (Some(&&(sb, wb)), Some(&&(sa, wa))) => match sb.cmp(sa) {
                std::cmp::Ordering::Less => {
                    b.next();
                    (sb, scaled(wb), 0)
                }
                std::cmp::Ordering::Greater => {
                    a.next();
                    (sa, 0, wa)
                }
                std::cmp::Ordering::Equal => {
                    b.next();
                    a.next();
                    (sb, scaled(wb), wa)
                }
            },
            (Some(&&(sb, wb)), None) => {
                b.next();
                (sb, scaled(wb), 0)
            }
            (None, Some(&&(sa, wa))) => {
                a.next();
                (sa, 0, wa)
            }
            (None, None) => break,
        };
        out.push(format_args!("{s} {wb} {wa}"));
    }
    out
}

/// Renders the table as text; `unit` names what the counts are (`samples`, or `bytes` for
/// heap profiles).
pub fn to_text(t: &DiffTable, before_name: &str, after_name: &str, unit: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# before: {before_name}: {} {unit}",
        thousands(t.before_total)
    );
    let _ = writeln!(
        out,
        "# after:  {after_name}: {} {unit}",
        thousands(t.after_total)
    );
    let _ = writeln!(
        out,
        "# self % of each profile's own total; change in percentage points\n"
    );
    let section = |out: &mut String, title: &str, rows: &[Change]| {
        let _ = writeln!(out, "{title}");
        if rows.is_empty() {
            let _ = writeln!(out, "  (none)\n");
            return;
        }
        let _ = writeln!(
            out,
            "{:>9} {:>9} {:>9} {:>10} {:>10}  Function",
            "Before%", "After%", "Change", "Before", "After"
        );
        for c in rows {
            let _ = writeln!(
                out,
                "{:>8.2}% {:>8.2}% {:>+9.2} {:>10} {:>10}  {}",
                c.before_pct,
                c.after_pct,
                c.delta_points,
                thousands(c.before_samples),
                thousands(c.after_samples),
                c.function
            );
        }
        out.push('\n');
    };
    section(&mut out, "Biggest changes in self time:", &t.changed);
    section(&mut out, "Only in after (new):", &t.only_after);
    section(&mut out, "Only in before (gone):", &t.only_before);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_lines() {
        let b = folded::parse("main;a 50\nmain;b 50\n").expect("parse");
        let a = folded::parse("main;a 150\nmain;c 50\n").expect("parse");
        let t = table(&b, &a, 10);
        assert_eq!(t.changed.len(), 1);
        assert_eq!(t.changed[0].function, "a");
        assert!((t.changed[0].delta_points - 25.0).abs() < 1e-9);
        assert_eq!(t.only_after[0].function, "c");
        assert_eq!(t.only_before[0].function, "b");
        let l = diff_lines(&b, &a, true);
        let l: Vec<&str> = l.iter().collect();
        assert_eq!(l, vec!["main;a 100 150", "main;b 100 0", "main;c 0 50"]);
        let l = diff_lines(&b, &a, false);
        assert_eq!(l.iter().next(), Some("main;a 50 150"));
    }
}
