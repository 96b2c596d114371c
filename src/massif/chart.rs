//! `--chart`: heap size over time as a self-contained SVG.
//!
//! Stacked bands show the biggest allocation sites (plus "other sites", allocator overhead and
//! stacks) at the detailed snapshots, the only ones where massif says who holds the memory; a
//! line on top shows the total at every snapshot, so the shape between detailed snapshots is
//! never guessed. Axes carry units; every band has a hover title.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::model::TimeUnit;
use super::model::{site_name, Massif};
use super::text::human_bytes;

const W: f64 = 1100.0;
const H: f64 = 600.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 330.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 12] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#8cd17d", "#d4a6c8",
];

/// Escapes text for XML content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// A step of 1, 2 or 5 times a power of `base` giving at most about 8 ticks up to `max`.
fn nice_step(max: f64, base: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mut p = 1.0;
    while max / p > 8.0 * 5.0 && p < f64::MAX / base {
        p *= base;
    }
    for m in [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0] {
        if max / (p * m) <= 8.0 {
            return p * m;
        }
    }
    p * 1000.0
}

fn time_tick(v: f64, unit: TimeUnit) -> String {
    match unit {
        TimeUnit::Bytes => human_bytes(v as u64),
        TimeUnit::Milliseconds => {
            if v >= 1000.0 {
                format!("{:.1} s", v / 1000.0)
            } else {
                format!("{v:.0} ms")
            }
        }
        TimeUnit::Instructions => {
            let (d, s) = if v >= 1e9 {
                (1e9, "G")
            } else if v >= 1e6 {
                (1e6, "M")
            } else if v >= 1e3 {
                (1e3, "k")
            } else {
                (1.0, "")
            };
            let x = v / d;
            if (x - x.round()).abs() < 1e-9 {
                format!("{x:.0}{s}")
            } else {
                format!("{x:.1}{s}")
            }
        }
    }
}

/// Renders the chart; `top` is how many sites get their own band.
pub fn render(m: &Massif, name: &str, top: usize) -> String {
    let snaps = &m.snapshots;
    let end_time = snaps.iter().map(|s| s.time).max().unwrap_or(0).max(1) as f64;
    let max_total = snaps.iter().map(|s| s.total()).max().unwrap_or(0).max(1) as f64;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let px = |t: f64| LEFT + t / end_time * pw;
    let py = |b: f64| TOP + ph - b / max_total * ph;

    // Per detailed snapshot, bytes per site; sites ranked by their largest value anywhere.
    let detailed: Vec<usize> = (0..snaps.len())
        .filter(|&i| snaps[i].tree.is_some())
        .collect();
    let mut per_snap: Vec<HashMap<String, u64>> = Vec::with_capacity(detailed.len());
    let mut best: HashMap<String, u64> = HashMap::new();
    for &i in &detailed {
        let mut h: HashMap<String, u64> = HashMap::new();
        if let Some(t) = &snaps[i].tree {
            for c in t.children(0) {
                let n = &t.nodes[c];
                *h.entry(site_name(m.label(n))).or_insert(0) += n.bytes;
            }
        }
        for (k, v) in &h {
            let e = best.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
        }
        per_snap.push(h);
    }
    let mut ranked: Vec<(String, u64)> = best.into_iter().filter(|x| x.1 > 0).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(top);
    let any_stacks = snaps.iter().any(|s| s.stacks > 0);
    // Series bottom to top: sites, other sites, extra heap, stacks.
    let mut names: Vec<String> = ranked.iter().map(|r| r.0.clone()).collect();
    names.push("other sites".into());
    names.push("extra heap (allocator overhead)".into());
    if any_stacks {
        names.push("stacks".into());
    }
    let series_vals = |k: usize, d: usize| -> u64 {
        let s = &snaps[detailed[d]];
        let nsites = ranked.len();
        if k < nsites {
            per_snap[d].get(&ranked[k].0).copied().unwrap_or(0)
        } else if k == nsites {
            let named: u64 = ranked
                .iter()
                .map(|r| per_snap[d].get(&r.0).copied().unwrap_or(0))
                .sum();
            s.heap.saturating_sub(named)
        } else if k == nsites + 1 {
            s.extra
        } else {
            s.stacks
        }
    };

    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>"#
    );
    let peak = m.peak_index().map(|i| &snaps[i]);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="24" font-size="17" text-anchor="middle">Heap over time: {}</text>"#,
        W / 2.0,
        esc(&m.cmd)
    );
    let sub = match peak {
        Some(p) => format!(
            "{name}; peak {} (useful + extra) at snapshot {}; bands: {} detailed snapshots, line: total at all {} snapshots",
            human_bytes(p.heap + p.extra),
            p.num,
            detailed.len(),
            snaps.len()
        ),
        None => name.to_string(),
    };
    let _ = writeln!(
        o,
        r##"<text x="{}" y="44" text-anchor="middle" fill="#555">{}</text>"##,
        W / 2.0,
        esc(&sub)
    );

    // Grid and y axis (bytes, binary steps).
    let ystep = nice_step(max_total, 1024.0);
    let mut v = 0.0;
    while v <= max_total * 1.0001 {
        let y = py(v);
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            y + 4.0,
            esc(&human_bytes(v as u64))
        );
        v += ystep;
    }
    let xstep = nice_step(end_time, 10.0);
    let mut t = 0.0;
    while t <= end_time * 1.0001 {
        let x = px(t);
        let _ = writeln!(
            o,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 5.0,
            TOP + ph + 18.0,
            esc(&time_tick(t, m.time_unit))
        );
        t += xstep;
    }
    let _ = writeln!(
        o,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#333"/><line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333"/>"##,
        TOP + ph,
        TOP + ph,
        LEFT + pw,
        TOP + ph
    );
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time ({})</text>"#,
        LEFT + pw / 2.0,
        H - 18.0,
        esc(m.time_unit.long())
    );
    let _ = writeln!(
        o,
        r#"<text x="20" y="{:.1}" text-anchor="middle" transform="rotate(-90 20 {:.1})">memory (bytes)</text>"#,
        TOP + ph / 2.0,
        TOP + ph / 2.0
    );

    // Stacked bands over the detailed snapshots.
    if !detailed.is_empty() {
        let mut lower = vec![0u64; detailed.len()];
        for (k, sname) in names.iter().enumerate() {
            let upper: Vec<u64> = (0..detailed.len())
                .map(|d| lower[d] + series_vals(k, d))
                .collect();
            let mut pts = String::new();
            for (d, &i) in detailed.iter().enumerate() {
                let _ = write!(
                    pts,
                    "{:.1},{:.1} ",
                    px(snaps[i].time as f64),
                    py(upper[d] as f64)
                );
            }
            for (d, &i) in detailed.iter().enumerate().rev() {
                let _ = write!(
                    pts,
                    "{:.1},{:.1} ",
                    px(snaps[i].time as f64),
                    py(lower[d] as f64)
                );
            }
            let peak_bytes = (0..detailed.len())
                .map(|d| series_vals(k, d))
                .max()
                .unwrap_or(0);
            let _ = writeln!(
                o,
                r#"<polygon class="band" points="{}" fill="{}" fill-opacity="0.85" stroke="{}" stroke-width="0.5"><title>{} (up to {})</title></polygon>"#,
                pts.trim_end(),
                COLORS[k % COLORS.len()],
                COLORS[k % COLORS.len()],
                esc(sname),
                esc(&human_bytes(peak_bytes))
            );
            lower = upper;
        }
    }
    // Total line at every snapshot, with a marker on detailed ones.
    let mut pts = String::new();
    for s in snaps {
        let _ = write!(pts, "{:.1},{:.1} ", px(s.time as f64), py(s.total() as f64));
    }
    let _ = writeln!(
        o,
        r##"<polyline points="{}" fill="none" stroke="#222" stroke-width="1.5"><title>total (heap + extra + stacks)</title></polyline>"##,
        pts.trim_end()
    );
    if let Some(p) = peak {
        let _ = writeln!(
            o,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#d00"><title>peak: snapshot {}, {}</title></circle>"##,
            px(p.time as f64),
            py(p.total() as f64),
            p.num,
            esc(&human_bytes(p.total()))
        );
    }

    // Legend, top of the stack first as in the picture.
    let lx = W - RIGHT + 20.0;
    let _ = writeln!(
        o,
        r#"<text x="{lx}" y="{}" font-weight="bold">Allocation sites (top {})</text>"#,
        TOP,
        ranked.len()
    );
    let mut ly = TOP + 18.0;
    let _ = writeln!(
        o,
        r##"<line x1="{lx}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#222" stroke-width="1.5"/><text x="{:.1}" y="{:.1}">total, every snapshot</text>"##,
        ly - 4.0,
        lx + 12.0,
        ly - 4.0,
        lx + 18.0,
        ly
    );
    ly += 18.0;
    for (k, sname) in names.iter().enumerate().rev() {
        let mut label = sname.clone();
        if label.chars().count() > 44 {
            label = label.chars().take(43).collect::<String>() + "…";
        }
        let _ = writeln!(
            o,
            r#"<rect x="{lx}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{:.1}">{}<title>{}</title></text>"#,
            ly - 10.0,
            COLORS[k % COLORS.len()],
            lx + 18.0,
            ly,
            esc(&label),
            esc(sname)
        );
        ly += 18.0;
    }
    o.push_str("</svg>\n");
    o
}
