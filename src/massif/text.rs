//! Text output: a short summary that answers "how big, when, who" first, then ms_print's
//! layout (header, ASCII graph, snapshot table, detailed trees) reproduced number for number.
//!
//! The ms_print part follows ms_print 3.19's rules (graph scaling and characters, axis labels,
//! `%05.2f` percentages, thousands separators, threshold merging) so the same file gives the
//! same text, and people who read ms_print output read this without relearning.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::model::{
    percent as pct, sat_sum, significant, top_sites, AtExit, Massif, Snapshot, TimeUnit, Tree,
    TreeKind,
};
use crate::render::thousands;

/// How to print.
#[derive(Clone, Debug)]
pub struct TextOptions {
    /// Tree entries below this percentage of the snapshot total are merged (ms_print's
    /// `--threshold`, default 1.0).
    pub threshold: f64,
    /// Graph width in columns (ms_print's `--x`, default 72).
    pub graph_x: usize,
    /// Graph height in rows (ms_print's `--y`, default 20).
    pub graph_y: usize,
    /// How many allocation sites the summary lists.
    pub top: usize,
    /// Name of the input, as shown in the ms_print header.
    pub input_name: String,
    /// What was still allocated when the program ended, when rprof ran it and valgrind wrote
    /// its xtree report. Only then does the summary speak of possible leaks.
    pub at_exit: Option<AtExit>,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            threshold: 1.0,
            graph_x: 72,
            graph_y: 20,
            top: 10,
            input_name: String::new(),
            at_exit: None,
        }
    }
}

/// `8.00 MiB`, `1.50 KiB`, `12 B`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", UNITS[u])
}

fn time_text(t: u64, unit: TimeUnit) -> String {
    format!("{} {}", thousands(t), unit.short())
}

fn sites_block(out: &mut String, m: &Massif, tree: &Tree, top: usize) {
    let sites = top_sites(m, tree);
    let total: u64 = tree.nodes.first().map_or(0, |n| n.bytes);
    let width = sites
        .iter()
        .take(top)
        .map(|s| thousands(s.1).len())
        .max()
        .unwrap_or(1);
    for (name, bytes) in sites.iter().take(top) {
        let pct = if total == 0 {
            0.0
        } else {
            *bytes as f64 * 100.0 / total as f64
        };
        let _ = writeln!(out, "  {pct:6.2}%  {:>width$} B  {name}", thousands(*bytes));
    }
    if sites.len() > top {
        let rest = sat_sum(sites[top..].iter().map(|s| s.1));
        let _ = writeln!(
            out,
            "  ... and {} more site(s) holding {} B",
            sites.len() - top,
            thousands(rest)
        );
    }
    if sites.is_empty() {
        let why = if total == 0 {
            "the heap is empty"
        } else {
            "massif recorded no call sites for these bytes"
        };
        let _ = writeln!(out, "  (no allocation sites: {why})");
    }
}

/// The summary printed before the ms_print part.
pub fn summary(m: &Massif, o: &TextOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Heap profile of `{}` (time unit: {})",
        m.cmd,
        m.time_unit.long()
    );
    let Some(pi) = m.peak_index() else {
        return out;
    };
    // massif's file ends at its last snapshot, not at the end of the run (it takes none at
    // exit), so times are placed relative to that snapshot and the last one gets no share.
    let end_time = m.snapshots.last().map_or(0, |s| s.time);
    let when = |s: &Snapshot| {
        let at = format!(
            "snapshot {}, time {}",
            s.num,
            time_text(s.time, m.time_unit)
        );
        if s.time >= end_time {
            return at;
        }
        format!(
            "{at} ({:.1}% of the time to the last snapshot)",
            s.time as f64 * 100.0 / end_time as f64
        )
    };
    let p = &m.snapshots[pi];
    let _ = writeln!(
        out,
        "\nPeak heap: {} ({} B = {} B useful + {} B extra) at {}",
        human_bytes(p.heap_total()),
        thousands(p.heap_total()),
        thousands(p.heap),
        thousands(p.extra),
        when(p)
    );
    if m.snapshots.iter().any(|s| s.stacks > 0) {
        let max_st = m.snapshots.iter().map(|s| s.stacks).max().unwrap_or(0);
        let _ = writeln!(
            out,
            "Stacks: {} B at the peak, at most {} B",
            thousands(p.stacks),
            thousands(max_st)
        );
    }
    match &p.tree {
        Some(t) => {
            let _ = writeln!(
                out,
                "\nTop allocation sites at the peak (share of its {} B useful heap):",
                thousands(p.heap)
            );
            sites_block(&mut out, m, t, o.top);
        }
        None => {
            let _ = writeln!(
                out,
                "\n(the peak snapshot has no allocation tree, so no sites can be named)"
            );
        }
    }
    match &o.at_exit {
        Some(x) => at_exit_block(&mut out, x, o.top),
        None => last_snapshot_block(&mut out, m, o.top, &when),
    }
    out.push('\n');
    out
}

/// The end of the run as valgrind's xtree report saw it: still allocated at exit is what the
/// program never freed (a possible leak, or memory a program legitimately keeps until exit).
fn at_exit_block(out: &mut String, x: &AtExit, top: usize) {
    let blocks = x
        .blocks()
        .map(|b| format!(" in {} block(s)", thousands(b)))
        .unwrap_or_default();
    let after = format!("{} ms", thousands(x.elapsed_ms()));
    let bytes = x.bytes();
    match &x.killed_by {
        None if bytes == 0 => {
            let _ = writeln!(out, "\nNothing is still allocated at exit (after {after}).");
            return;
        }
        None => {
            let _ = writeln!(
                out,
                "\nStill allocated at exit (possible leaks): {} ({} B useful{blocks}) after {after}",
                human_bytes(bytes),
                thousands(bytes)
            );
        }
        Some(sig) => {
            let _ = writeln!(
                out,
                "\nLive when the command was killed by {sig} (after {after}; not leaks, the program did not finish): {} ({} B useful{blocks})",
                human_bytes(bytes),
                thousands(bytes)
            );
            if bytes == 0 {
                return;
            }
        }
    }
    match x.tree() {
        Some(t) => sites_block(out, &x.report, t, top),
        None => {
            let _ = writeln!(out, "  (no allocation sites in the exit report)");
        }
    }
}

/// Without an exit report the last snapshot is all there is. massif takes snapshots only at
/// heap operations, never at exit, so it is not the end of the run and says nothing about
/// leaks: it is named for what it is.
fn last_snapshot_block(
    out: &mut String,
    m: &Massif,
    top: usize,
    when: &dyn Fn(&Snapshot) -> String,
) {
    let Some(last) = m.snapshots.last() else {
        return;
    };
    if last.heap_total() == 0 {
        let _ = writeln!(
            out,
            "\nNothing is live at the last snapshot ({}).",
            when(last)
        );
        return;
    }
    let _ = writeln!(
        out,
        "\nMemory live at the last snapshot: {} ({} B useful + {} B extra) at {}",
        human_bytes(last.heap_total()),
        thousands(last.heap),
        thousands(last.extra),
        when(last)
    );
    let _ = writeln!(
        out,
        "(massif takes no snapshot at exit: what was allocated or freed after this one is not in the file, so this is not a leak report; `rprof massif -- CMD` also reports what is still allocated at exit)"
    );
    let ld = m.snapshots.iter().rposition(|s| s.tree.is_some());
    match ld.map(|i| (i, &m.snapshots[i])) {
        Some((i, s)) => {
            if i + 1 != m.snapshots.len() {
                let _ = writeln!(
                    out,
                    "By site at snapshot {} ({} B useful), the last detailed one; run massif with --detailed-freq=1 to detail every snapshot:",
                    s.num,
                    thousands(s.heap)
                );
            }
            if let Some(t) = &s.tree {
                sites_block(out, m, t, top);
            }
        }
        None => {
            let _ = writeln!(out, "(no detailed snapshot to name the sites)");
        }
    }
}

const FANCY: &str =
    "--------------------------------------------------------------------------------\n";

fn max_label_2(v: u64, scaled: f64) -> String {
    if v < 1000 {
        format!("{v:5}")
    } else if scaled < 10.0 {
        format!("{scaled:5.3}")
    } else if scaled < 100.0 {
        format!("{scaled:5.2}")
    } else {
        format!("{scaled:5.1}")
    }
}

/// Axis label for a count in steps of 1024 (`units[0]` is the unscaled unit).
fn binary_label(v: u64, units: &[&'static str]) -> (String, &'static str) {
    let mut scaled = v as f64;
    let mut u = 0;
    while scaled >= 1000.0 && u + 1 < units.len() {
        scaled /= 1024.0;
        u += 1;
    }
    (max_label_2(v, scaled), units[u])
}

fn bytes_label(v: u64) -> (String, &'static str) {
    binary_label(v, &["B", "KB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"])
}

fn time_label(v: u64, unit: TimeUnit) -> (String, &'static str) {
    match unit {
        TimeUnit::Instructions => {
            binary_label(v, &["i", "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"])
        }
        TimeUnit::Bytes => bytes_label(v),
        TimeUnit::Milliseconds => {
            let mut s = v as f64;
            let mut u = "ms";
            if s >= 1000.0 {
                u = "s";
                s /= 1000.0;
            }
            if s >= 3600.0 {
                u = "h";
                s /= 3600.0;
            }
            (max_label_2(v, s), u)
        }
    }
}

/// The ASCII graph of total memory over time, as ms_print draws it.
fn graph(m: &Massif, o: &TextOptions, out: &mut String) {
    let (gx, gy) = (o.graph_x.max(1), o.graph_y.max(1));
    let n = m.snapshots.len();
    let mut g = vec![vec![b' '; gy + 1]; gx + 1];
    g[0][0] = b'+';
    for col in g.iter_mut().skip(1) {
        col[0] = b'-';
    }
    for cell in g[0].iter_mut().skip(1) {
        *cell = b'|';
    }
    g[gx][0] = b'>';
    g[0][gy] = b'^';
    let mut peak_total = m.snapshots.iter().map(Snapshot::total).max().unwrap_or(0);
    // ms_print compares positions with the number of the `peak` snapshot; the last one wins.
    let peak_num = m
        .snapshots
        .iter()
        .rev()
        .find(|s| s.kind == TreeKind::Peak)
        .map(|s| s.num);
    let mut end_time = m.snapshots.last().map_or(0, |s| s.time);
    if peak_total == 0 {
        peak_total = 1;
    }
    if end_time == 0 {
        end_time = 1;
    }
    let k = peak_total as f64 / gy as f64;
    let mut x = 0usize;
    let mut prev_y_max = 0usize;
    let mut prev_char = b':';
    for (i, s) in m.snapshots.iter().enumerate() {
        let prev_x = x;
        let frac = (s.time as f64 / end_time as f64) * gx as f64;
        x = frac as usize + 1;
        if s.time == end_time || x > gx {
            x = gx;
        }
        if prev_y_max > 0 {
            for col in g.iter_mut().take(x).skip(prev_x + 1) {
                col[prev_y_max] = prev_char;
            }
        }
        let ch = if Some(i as u64) == peak_num {
            b'#'
        } else if s.kind != TreeKind::Empty {
            b'@'
        } else {
            b':'
        };
        let mut y_max = 0;
        let total = s.total();
        for (y, cell) in g[x].iter_mut().enumerate().skip(1) {
            if total as f64 >= y as f64 * k {
                // A peak mark is never overwritten, a detailed mark only by the peak.
                let cur = *cell;
                let draw = ch == b'#'
                    || (ch == b'@' && cur != b'#')
                    || (ch == b':' && cur != b'#' && cur != b'@');
                if draw {
                    *cell = ch;
                }
                y_max = y;
            }
        }
        prev_y_max = y_max;
        prev_char = ch;
    }
    let (y_label, y_unit) = bytes_label(peak_total);
    let (x_label, x_unit) = time_label(end_time, m.time_unit);
    let _ = writeln!(out, "    {y_unit:>2}");
    for y in (0..=gy).rev() {
        if y == gy {
            out.push_str(&y_label);
        } else if y == 0 {
            out.push_str("   0 ");
        } else {
            out.push_str("     ");
        }
        for col in &g {
            out.push(col[y] as char);
        }
        if y == 0 {
            out.push_str(x_unit);
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "     0{}{x_label:>5}",
        " ".repeat(gx.saturating_sub(5))
    );
    out.push('\n');
    let _ = writeln!(out, "Number of snapshots: {n}");
    out.push_str(" Detailed snapshots: [");
    let mut first = true;
    for (i, s) in m.snapshots.iter().enumerate() {
        if s.kind != TreeKind::Empty {
            if !first {
                out.push_str(", ");
            }
            first = false;
            let _ = write!(out, "{i}");
            if Some(i as u64) == peak_num {
                out.push_str(" (peak)");
            }
        }
    }
    out.push_str("]\n\n");
}

/// One detailed snapshot's tree, as ms_print prints it: percentages of the snapshot's total
/// (heap + extra + stacks), insignificant children merged into one line per parent.
fn write_tree<W: Write>(w: &mut W, m: &Massif, tree: &Tree, total: u64, th: f64) -> io::Result<()> {
    enum Task {
        Visit {
            node: usize,
            line_prefix: String,
            child_prefix: String,
        },
        After {
            child_prefix: String,
            n_insig: u64,
            insig_bytes: u64,
            leaf: bool,
        },
    }
    if tree.nodes.is_empty() {
        return Ok(());
    }
    let mut todo = vec![Task::Visit {
        node: 0,
        line_prefix: String::new(),
        child_prefix: String::new(),
    }];
    while let Some(t) = todo.pop() {
        match t {
            Task::Visit {
                node,
                line_prefix,
                child_prefix,
            } => {
                let n = &tree.nodes[node];
                if n.merged > 0 || !significant(node == 0, n.bytes, total, th) {
                    continue;
                }
                writeln!(
                    w,
                    "{line_prefix}{:05.2}% ({}B){}",
                    pct(n.bytes, total),
                    thousands(n.bytes),
                    m.label(n)
                )?;
                let kids: Vec<usize> = tree.children(node).collect();
                let (mut n_insig, mut insig_bytes) = (0u64, 0u64);
                for &c in &kids {
                    let k = &tree.nodes[c];
                    if k.merged > 0 {
                        // Dropped while parsing, already summed.
                        n_insig += u64::from(k.merged);
                        insig_bytes = insig_bytes.saturating_add(k.bytes);
                    } else if !significant(false, k.bytes, total, th) {
                        n_insig += 1;
                        insig_bytes = insig_bytes.saturating_add(k.bytes);
                    }
                }
                todo.push(Task::After {
                    child_prefix: child_prefix.clone(),
                    n_insig,
                    insig_bytes,
                    leaf: n.children == 0,
                });
                let last = kids.len();
                for (k, &c) in kids.iter().enumerate().rev() {
                    let mid = if k + 1 == last { "  " } else { "| " };
                    todo.push(Task::Visit {
                        node: c,
                        line_prefix: format!("{child_prefix}->"),
                        child_prefix: format!("{child_prefix}{mid}"),
                    });
                }
            }
            Task::After {
                child_prefix,
                n_insig,
                insig_bytes,
                leaf,
            } => {
                if n_insig > 0 {
                    writeln!(
                        w,
                        "{child_prefix}->{:05.2}% ({}B) in {n_insig}+ places, all below ms_print's threshold ({th:05.2}%)",
                        pct(insig_bytes, total),
                        thousands(insig_bytes),
                    )?;
                    writeln!(w, "{child_prefix}")?;
                }
                if leaf {
                    writeln!(w, "{child_prefix}")?;
                }
            }
        }
    }
    Ok(())
}

/// The arguments ms_print would have been given for the same output.
fn ms_print_args(o: &TextOptions) -> String {
    let mut s = String::new();
    if o.threshold != 1.0 {
        let _ = write!(s, " --threshold={}", o.threshold);
    }
    if o.graph_x != 72 {
        let _ = write!(s, " --x={}", o.graph_x);
    }
    if o.graph_y != 20 {
        let _ = write!(s, " --y={}", o.graph_y);
    }
    let _ = write!(s, " {}", o.input_name);
    s
}

/// Writes ms_print's output for `m`.
pub fn write_ms_print<W: Write>(w: &mut W, m: &Massif, o: &TextOptions) -> io::Result<()> {
    let mut head = String::new();
    head.push_str(FANCY);
    let _ = writeln!(head, "Command:            {}", m.cmd);
    head.push_str("Massif arguments:  ");
    for d in &m.desc {
        head.push_str(d);
        head.push('\n');
    }
    let _ = writeln!(head, "ms_print arguments:{}", ms_print_args(o));
    head.push_str(FANCY);
    head.push_str("\n\n");
    graph(m, o, &mut head);
    w.write_all(head.as_bytes())?;

    let time_col = format!("time({})", m.time_unit.short());
    let mut table_head = String::from(FANCY);
    let _ = writeln!(
        table_head,
        "{:>3} {:>14} {:>16} {:>16} {:>13} {:>12}",
        "n", time_col, "total(B)", "useful-heap(B)", "extra-heap(B)", "stacks(B)"
    );
    table_head.push_str(FANCY);
    w.write_all(table_head.as_bytes())?;
    let n = m.snapshots.len();
    for (i, s) in m.snapshots.iter().enumerate() {
        writeln!(
            w,
            "{:>3} {:>14} {:>16} {:>16} {:>13} {:>12}",
            s.num,
            thousands(s.time),
            thousands(s.total()),
            thousands(s.heap),
            thousands(s.extra),
            thousands(s.stacks)
        )?;
        if let Some(t) = &s.tree {
            write_tree(w, m, t, s.total(), o.threshold)?;
            if i + 1 < n {
                w.write_all(table_head.as_bytes())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_like_ms_print() {
        assert_eq!(bytes_label(999), ("  999".to_string(), "B"));
        assert_eq!(bytes_label(1000).1, "KB");
        assert_eq!(bytes_label(8_392_776), ("8.004".to_string(), "MB"));
        assert_eq!(
            time_label(3_700_000, TimeUnit::Milliseconds),
            ("1.028".to_string(), "h")
        );
        assert_eq!(human_bytes(8 << 20), "8.00 MiB");
    }
}
