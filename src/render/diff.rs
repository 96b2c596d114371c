//! Differential profiles: the folded lines for a differential flame graph and the table of
//! per-function changes in self and total (inclusive) weight.
//!
//! Two paths feed this module: profiles in the model ([`table`], [`diff_lines`]) and two folded
//! inputs counted per stack without the model ([`table_counted`], [`diff_lines_counted`]).
//! Both reduce to "weight per distinct stack, as frame names" and share everything after
//! that, so they print the same table for the same stacks.

use std::collections::BTreeSet;

use clap::ValueEnum;
use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::profile::folded::{self, FoldOptions, LineBuf};
use crate::profile::stack_counts::StackCounts;
use crate::profile::Profile;

use super::{pct, thousands};

/// Which weight sets a frame's width in the differential flame graph. The colour always shows
/// the change, after minus before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WidthBasis {
    /// BEFORE's weight: what shrank or vanished stays visible, what is new has no width.
    Before,
    /// AFTER's weight (inferno's and difffolded.pl's own choice): what vanished has no width.
    After,
    /// The larger of the two: every stack of either input keeps a width.
    Max,
}

impl WidthBasis {
    /// Words for the graph's subtitle.
    pub fn describe(self) -> &'static str {
        match self {
            WidthBasis::Before => "width: before",
            WidthBasis::After => "width: after",
            WidthBasis::Max => "width: larger of before and after",
        }
    }

    /// True when the lines carry `stack after before` (see [`diff_lines`]), so the renderer
    /// must negate inferno's differentials to keep red for growth.
    pub fn swaps_columns(self) -> bool {
        self == WidthBasis::Before
    }
}

/// How two profiles are compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiffOptions {
    /// Scale BEFORE to AFTER's total before comparing.
    pub normalize: bool,
    /// Width basis of the graph.
    pub width: WidthBasis,
}

/// The factor BEFORE's weights are multiplied by: AFTER's total over BEFORE's when
/// normalizing (and both have weight), else 1.
pub fn scale_factor(before_total: u64, after_total: u64, normalize: bool) -> f64 {
    if normalize && before_total > 0 && after_total > 0 {
        after_total as f64 / before_total as f64
    } else {
        1.0
    }
}

/// One kind of weight (self or total) of one function on both sides.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Measure {
    /// Weight before, unscaled.
    pub before: u64,
    /// Weight after.
    pub after: u64,
    /// Share of BEFORE's total, percent.
    pub before_pct: f64,
    /// Share of AFTER's total, percent.
    pub after_pct: f64,
    /// `after_pct - before_pct`, percentage points.
    pub delta_points: f64,
    /// `after - before × scale`: the change in weight once BEFORE is scaled (raw when not
    /// normalizing).
    pub delta: f64,
}

/// One function, in self and total (inclusive) weight.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Change {
    /// Function name.
    pub function: String,
    /// Weight of samples whose innermost frame is the function.
    #[serde(rename = "self")]
    pub self_: Measure,
    /// Weight of samples with the function anywhere on the stack (counted once per sample,
    /// however often recursion repeats it).
    pub total: Measure,
}

impl Change {
    /// The larger absolute change of self and total: what the lists sort by.
    fn size(&self) -> f64 {
        self.self_.delta.abs().max(self.total.delta.abs())
    }
}

/// The comparison.
#[derive(Clone, Debug, Serialize)]
pub struct DiffTable {
    /// Total weight of BEFORE.
    pub before_total: u64,
    /// Total weight of AFTER.
    pub after_total: u64,
    /// Unit of BEFORE's weights (`samples`, `ns`, `bytes`, …).
    pub before_unit: String,
    /// Unit of AFTER's weights.
    pub after_unit: String,
    /// Event of BEFORE, empty when the input did not say.
    pub before_event: String,
    /// Event of AFTER, empty when the input did not say.
    pub after_event: String,
    /// Whether BEFORE was scaled to AFTER's total.
    pub normalized: bool,
    /// The factor BEFORE's weights were multiplied by (1 when not normalized).
    pub scale: f64,
    /// Functions present (anywhere on a stack) in both, biggest absolute change first.
    pub changed: Vec<Change>,
    /// Functions only in AFTER (appeared).
    pub only_after: Vec<Change>,
    /// Functions only in BEFORE (disappeared).
    pub only_before: Vec<Change>,
    /// The filters applied to both inputs, in the order they ran (empty: none).
    pub filters: Vec<String>,
    /// With filters: the samples each side kept, of how many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept: Option<Kept>,
}

/// Samples kept by the filters on each side, of the samples the side held.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Kept {
    /// Samples of BEFORE the filters kept.
    pub before: u64,
    /// Samples BEFORE held.
    pub before_of: u64,
    /// Samples of AFTER the filters kept.
    pub after: u64,
    /// Samples AFTER held.
    pub after_of: u64,
}

/// What one side knows about itself, for the table.
#[derive(Clone, Debug, Default)]
pub struct SideInfo {
    /// Display unit of the weights.
    pub unit: String,
    /// Event name, empty when unknown.
    pub event: String,
}

impl SideInfo {
    /// The unit and event of a profile.
    pub fn of(p: &Profile) -> Self {
        SideInfo {
            unit: p.unit().to_string(),
            event: p.meta.event.clone(),
        }
    }

    /// Folded stacks: plain counts of an unnamed event.
    pub fn folded() -> Self {
        SideInfo {
            unit: "samples".into(),
            event: String::new(),
        }
    }
}

/// Self and total weight per function name.
#[derive(Default)]
struct Weights<'a> {
    /// name -> (self, total, index of the last stack that added to total).
    by_name: HashMap<&'a str, (u64, u64, usize)>,
}

impl<'a> Weights<'a> {
    /// Adds one distinct stack (`idx` unique per call) given innermost frame first.
    fn add(&mut self, idx: usize, mut leaf_first: impl Iterator<Item = &'a str>, w: u64) {
        let Some(leaf) = leaf_first.next() else {
            return;
        };
        for (i, name) in std::iter::once(leaf).chain(leaf_first).enumerate() {
            let e = self.by_name.entry(name).or_insert((0, 0, usize::MAX));
            if i == 0 {
                e.0 = e.0.wrapping_add(w);
            }
            // A recursive stack names a function more than once; its total counts the
            // sample once, as `rprof report` and `perf report --children` do.
            if e.2 != idx {
                e.1 = e.1.wrapping_add(w);
                e.2 = idx;
            }
        }
    }
}

fn weights_of_profile(p: &Profile) -> Weights<'_> {
    let mut by_stack: HashMap<_, u64> = HashMap::default();
    for s in &p.samples {
        let w = by_stack.entry(s.stack).or_insert(0);
        *w = w.wrapping_add(s.weight);
    }
    let mut out = Weights::default();
    for (i, (stack, w)) in by_stack.into_iter().enumerate() {
        out.add(i, p.stack_frames(stack).map(|f| p.function_name(f)), w);
    }
    out
}

/// Folded stacks name frames by the text between `;`, as the folded parser does.
fn weights_of_counts<'a>(c: &StackCounts<'a>) -> Weights<'a> {
    let mut out = Weights::default();
    for (i, (stack, w)) in c.stacks.iter().enumerate() {
        out.add(i, stack.rsplit(';'), *w);
    }
    out
}

/// Computes the table of changes per function; `limit` caps each list.
pub fn table(before: &Profile, after: &Profile, o: &DiffOptions, limit: usize) -> DiffTable {
    table_of(
        &weights_of_profile(before),
        &weights_of_profile(after),
        (before.total_weight(), after.total_weight()),
        (SideInfo::of(before), SideInfo::of(after)),
        o,
        limit,
    )
}

/// [`table`] of two folded inputs counted per stack: the same table, without the model.
pub fn table_counted(
    before: &StackCounts<'_>,
    after: &StackCounts<'_>,
    o: &DiffOptions,
    limit: usize,
) -> DiffTable {
    table_of(
        &weights_of_counts(before),
        &weights_of_counts(after),
        (before.total(), after.total()),
        (SideInfo::folded(), SideInfo::folded()),
        o,
        limit,
    )
}

fn table_of(
    b: &Weights<'_>,
    a: &Weights<'_>,
    (bt, at): (u64, u64),
    (bi, ai): (SideInfo, SideInfo),
    o: &DiffOptions,
    limit: usize,
) -> DiffTable {
    let scale = scale_factor(bt, at, o.normalize);
    let measure = |bw: u64, aw: u64| Measure {
        before: bw,
        after: aw,
        before_pct: pct(bw, bt),
        after_pct: pct(aw, at),
        delta_points: pct(aw, at) - pct(bw, bt),
        delta: aw as f64 - bw as f64 * scale,
    };
    let names: BTreeSet<&str> = b.by_name.keys().chain(a.by_name.keys()).copied().collect();
    let mut changed = Vec::new();
    let mut only_after = Vec::new();
    let mut only_before = Vec::new();
    for n in names {
        let (bs, btot, _) = b.by_name.get(n).copied().unwrap_or_default();
        let (as_, atot, _) = a.by_name.get(n).copied().unwrap_or_default();
        let c = Change {
            function: n.to_string(),
            self_: measure(bs, as_),
            total: measure(btot, atot),
        };
        // Presence is anywhere on a stack (total), not only as a leaf: a new caller above an
        // unchanged leaf is new.
        match (btot > 0, atot > 0) {
            (true, true) => changed.push(c),
            (false, true) => only_after.push(c),
            (true, false) => only_before.push(c),
            (false, false) => {}
        }
    }
    // Normalized, `delta` is AFTER's total times the change in points, so this orders by
    // points; raw, it orders by weight.
    let by_size = |x: &Change, y: &Change| {
        y.size()
            .total_cmp(&x.size())
            .then_with(|| x.function.cmp(&y.function))
    };
    for v in [&mut changed, &mut only_after, &mut only_before] {
        v.sort_by(by_size);
        v.truncate(limit);
    }
    DiffTable {
        before_total: bt,
        after_total: at,
        before_unit: bi.unit,
        after_unit: ai.unit,
        before_event: bi.event,
        after_event: ai.event,
        normalized: o.normalize && bt > 0 && at > 0,
        scale,
        changed,
        only_after,
        only_before,
        filters: Vec::new(),
        kept: None,
    }
}

/// Folded differential lines for inferno, which reads `stack first second` as "width from
/// `second`, colour by `second - first`". With BEFORE scaled (when `normalize`) to `b` and
/// AFTER `a`, per width basis:
///
/// - `after`: `stack b a`;
/// - `before`: `stack a b`, and the renderer negates the differentials (inferno's
///   `negate_differentials`) so the colour is still `a - b`;
/// - `max`: `stack (m - a + b) m` with `m = max(a, b)`: width `m`, colour `a - b`, and
///   the first column is never negative (`m - a + b >= b`).
///
/// A scaled weight that would round to zero is kept at one, so a stack present before never
/// loses its width to rounding.
pub fn diff_lines(before: &Profile, after: &Profile, o: &DiffOptions) -> LineBuf {
    // Folding sorts by text, as the merging walk needs.
    let fb = folded::fold(before, &FoldOptions::default());
    let fa = folded::fold(after, &FoldOptions::default());
    let b: Vec<(&str, u64)> = fb.iter().map(|(s, w)| (s.as_str(), *w)).collect();
    let a: Vec<(&str, u64)> = fa.iter().map(|(s, w)| (s.as_str(), *w)).collect();
    diff_lines_of(&b, &a, o)
}

/// [`diff_lines`] of two folded inputs counted per stack, each in text order.
pub fn diff_lines_counted(
    before: &StackCounts<'_>,
    after: &StackCounts<'_>,
    o: &DiffOptions,
) -> LineBuf {
    diff_lines_of(&before.stacks, &after.stacks, o)
}

/// The lines of two tables of distinct stacks sorted by text. Stacks of zero weight are left
/// out, as folding a profile leaves them out.
fn diff_lines_of(fb: &[(&str, u64)], fa: &[(&str, u64)], o: &DiffOptions) -> LineBuf {
    let sum = |f: &[(&str, u64)]| f.iter().fold(0u64, |t, (_, w)| t.wrapping_add(*w));
    let scale = scale_factor(sum(fb), sum(fa), o.normalize);
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
    let mut push = |s: &str, wb: u64, wa: u64| match o.width {
        WidthBasis::After => out.push(format_args!("{s} {wb} {wa}")),
        WidthBasis::Before => out.push(format_args!("{s} {wa} {wb}")),
        WidthBasis::Max => {
            let m = wb.max(wa);
            let first = m - wa + wb;
            out.push(format_args!("{s} {first} {m}"))
        }
    };
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
        push(s, wb, wa);
    }
    out
}

/// The totals of both sides and their units, enough to say how they were made comparable.
#[derive(Clone, Debug)]
pub struct Totals<'a> {
    /// Total weight of BEFORE.
    pub before: u64,
    /// Total weight of AFTER.
    pub after: u64,
    /// Unit of BEFORE.
    pub before_unit: &'a str,
    /// Unit of AFTER.
    pub after_unit: &'a str,
}

impl Totals<'_> {
    /// `100 vs 200 samples`, or `100 samples vs 200 ns` when the units differ.
    fn text(&self) -> String {
        let (b, a) = (thousands(self.before), thousands(self.after));
        if self.before_unit == self.after_unit {
            format!("{b} vs {a} {}", self.after_unit)
        } else {
            format!("{b} {} vs {a} {}", self.before_unit, self.after_unit)
        }
    }

    /// Whether normalizing as asked scales anything: both sides need weight.
    pub fn normalized(&self, normalize: bool) -> bool {
        normalize && self.before > 0 && self.after > 0
    }

    /// One line on how the two sides were made comparable: the normalization factor, or that
    /// raw weights are compared. Printed in the table header, on stderr and in the graph.
    pub fn normalization_text(&self, normalize: bool) -> String {
        if self.normalized(normalize) {
            let f = scale_factor(self.before, self.after, true);
            // Four decimals read well for ordinary factors; extreme ones (different units
            // allowed through) need their digits.
            let f = if (0.01..10_000.0).contains(&f) {
                format!("{f:.4}")
            } else {
                format!("{f:.4e}")
            };
            format!(
                "before scaled to after's total by factor {f} ({})",
                self.text()
            )
        } else {
            let unit = if self.before_unit == self.after_unit {
                self.after_unit
            } else {
                "weights"
            };
            format!("raw {unit}, not normalized ({})", self.text())
        }
    }
}

impl DiffTable {
    /// The totals and units of the table.
    pub fn totals(&self) -> Totals<'_> {
        Totals {
            before: self.before_total,
            after: self.after_total,
            before_unit: &self.before_unit,
            after_unit: &self.after_unit,
        }
    }
}

/// What a weight measures, for the table's explanation line.
fn weight_noun(unit: &str) -> String {
    match unit {
        "bytes" => "bytes allocated".into(),
        "ns" => "time (ns)".into(),
        u => u.to_string(),
    }
}

fn signed(v: f64, decimals: usize) -> String {
    if decimals > 0 {
        return format!("{v:+.decimals$}");
    }
    let r = v.round();
    let mag = thousands(r.abs() as u64);
    if r < 0.0 {
        format!("-{mag}")
    } else {
        format!("+{mag}")
    }
}

/// Renders the table as text.
pub fn to_text(t: &DiffTable, before_name: &str, after_name: &str) -> String {
    let mut out = String::new();
    let side = |name: &str, total: u64, unit: &str, event: &str| {
        let ev = if event.is_empty() {
            String::new()
        } else {
            format!(" ({event})")
        };
        format!("{name}: {} {unit}{ev}", thousands(total))
    };
    let _ = writeln!(
        out,
        "# before: {}",
        side(before_name, t.before_total, &t.before_unit, &t.before_event)
    );
    let _ = writeln!(
        out,
        "# after:  {}",
        side(after_name, t.after_total, &t.after_unit, &t.after_event)
    );
    if !t.filters.is_empty() {
        let kept = t.kept.map_or(String::new(), |k| {
            format!(
                "; {} of {} samples kept before, {} of {} after",
                thousands(k.before),
                thousands(k.before_of),
                thousands(k.after),
                thousands(k.after_of)
            )
        });
        let _ = writeln!(
            out,
            "# filters: {} (in this order, on both inputs{kept})",
            t.filters.join(", ")
        );
    }
    let _ = writeln!(out, "# {}", t.totals().normalization_text(t.normalized));
    let noun = if t.before_unit == t.after_unit {
        weight_noun(&t.after_unit)
    } else {
        "weight".into()
    };
    let _ = writeln!(
        out,
        "# self: {noun} in the function itself; total: {noun} in it and everything it calls"
    );
    if t.normalized {
        let _ = writeln!(
            out,
            "# before and after: % of each profile's own total; change: percentage points\n"
        );
    } else {
        let _ = writeln!(
            out,
            "# before and after: {}; change: after - before\n",
            if t.before_unit == t.after_unit {
                t.after_unit.clone()
            } else {
                format!("{} and {}", t.before_unit, t.after_unit)
            }
        );
    }
    // Cells of one row: self before/after/change, total before/after/change.
    let cells = |c: &Change| -> [String; 6] {
        let m = |m: &Measure| -> [String; 3] {
            if t.normalized {
                [
                    format!("{:.2}%", m.before_pct),
                    format!("{:.2}%", m.after_pct),
                    signed(m.delta_points, 2),
                ]
            } else {
                [thousands(m.before), thousands(m.after), signed(m.delta, 0)]
            }
        };
        let [a, b, c2] = m(&c.self_);
        let [d, e, f] = m(&c.total);
        [a, b, c2, d, e, f]
    };
    let all: Vec<[String; 6]> = t
        .changed
        .iter()
        .chain(&t.only_after)
        .chain(&t.only_before)
        .map(cells)
        .collect();
    let w = all
        .iter()
        .flatten()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let group = 3 * w + 2;
    let section = |out: &mut String, title: &str, rows: &[Change]| {
        let _ = writeln!(out, "{title}");
        if rows.is_empty() {
            let _ = writeln!(out, "  (none)\n");
            return;
        }
        let head = format!("{:^group$}   {:^group$}", "self", "total");
        let _ = writeln!(out, "{}", head.trim_end());
        let _ = writeln!(
            out,
            "{:>w$} {:>w$} {:>w$}   {:>w$} {:>w$} {:>w$}  Function",
            "Before", "After", "Change", "Before", "After", "Change"
        );
        for c in rows {
            let r = cells(c);
            let _ = writeln!(
                out,
                "{:>w$} {:>w$} {:>w$}   {:>w$} {:>w$} {:>w$}  {}",
                r[0], r[1], r[2], r[3], r[4], r[5], c.function
            );
        }
        out.push('\n');
    };
    section(&mut out, "Biggest changes (self or total):", &t.changed);
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
        let o = DiffOptions {
            normalize: true,
            width: WidthBasis::After,
        };
        let t = table(&b, &a, &o, 10);
        let names: Vec<&str> = t.changed.iter().map(|c| c.function.as_str()).collect();
        assert_eq!(names, vec!["a", "main"]);
        assert!((t.changed[0].self_.delta_points - 25.0).abs() < 1e-9);
        assert_eq!(t.changed[1].total.before, 100);
        assert_eq!(t.only_after[0].function, "c");
        assert_eq!(t.only_before[0].function, "b");
        let l = diff_lines(&b, &a, &o);
        let l: Vec<&str> = l.iter().collect();
        assert_eq!(l, vec!["main;a 100 150", "main;b 100 0", "main;c 0 50"]);
        let raw = DiffOptions {
            normalize: false,
            ..o
        };
        assert_eq!(
            diff_lines(&b, &a, &raw).iter().next(),
            Some("main;a 50 150")
        );
    }

    #[test]
    fn width_bases() {
        let b = folded::parse("m;a 30\nm;b 10\n").expect("parse");
        let a = folded::parse("m;a 10\nm;c 20\n").expect("parse");
        let lines = |width| {
            let o = DiffOptions {
                normalize: false,
                width,
            };
            diff_lines(&b, &a, &o)
                .iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        // max: width max(b, a), second minus first = a - b, never negative.
        assert_eq!(
            lines(WidthBasis::Max),
            ["m;a 50 30", "m;b 20 10", "m;c 0 20"]
        );
        assert_eq!(
            lines(WidthBasis::After),
            ["m;a 30 10", "m;b 10 0", "m;c 0 20"]
        );
        assert_eq!(
            lines(WidthBasis::Before),
            ["m;a 10 30", "m;b 0 10", "m;c 20 0"]
        );
    }

    #[test]
    fn recursion_counts_once_in_total() {
        let p = folded::parse("m;f;g;f 10\nm;g 5\n").expect("parse");
        let q = folded::parse("m;f 10\n").expect("parse");
        let o = DiffOptions {
            normalize: false,
            width: WidthBasis::Max,
        };
        let t = table(&p, &q, &o, 10);
        let f = t.changed.iter().find(|c| c.function == "f").expect("f");
        assert_eq!((f.self_.before, f.total.before), (10, 10));
        let g = t.only_before.iter().find(|c| c.function == "g").expect("g");
        assert_eq!((g.self_.before, g.total.before), (5, 15));
    }

    /// The model path and the counting path agree on every number, for stacks with
    /// recursion, shared prefixes, repeated lines and names that are prefixes of others.
    #[test]
    fn model_and_counted_paths_agree() {
        use crate::profile::stack_counts::{count, text_order};
        let mut bt = String::new();
        let mut at = String::new();
        for i in 0..400u64 {
            let depth = 1 + i % 5;
            let mut s: Vec<String> = (0..depth).map(|d| format!("f{}", (i + d) % 7)).collect();
            if i % 3 == 0 {
                s.push("f1".into());
            }
            let line = format!("{} {}\n", s.join(";"), 1 + i % 9);
            if i % 4 != 0 {
                bt.push_str(&line);
            }
            if i % 5 != 0 {
                at.push_str(&line.replace("f6", "f6x"));
            }
        }
        let (bp, ap) = (
            folded::parse(&bt).expect("parse"),
            folded::parse(&at).expect("parse"),
        );
        let (bc, ac) = (
            count(&bt, text_order).expect("count"),
            count(&at, text_order).expect("count"),
        );
        for normalize in [true, false] {
            for width in [WidthBasis::Before, WidthBasis::After, WidthBasis::Max] {
                let o = DiffOptions { normalize, width };
                let m = serde_json::to_value(table(&bp, &ap, &o, 5)).expect("json");
                let c = serde_json::to_value(table_counted(&bc, &ac, &o, 5)).expect("json");
                assert_eq!(m, c);
                let ml = diff_lines(&bp, &ap, &o);
                let ml: Vec<&str> = ml.iter().collect();
                let cl = diff_lines_counted(&bc, &ac, &o);
                let cl: Vec<&str> = cl.iter().collect();
                assert_eq!(ml, cl);
            }
        }
    }
}
