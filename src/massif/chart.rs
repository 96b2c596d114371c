//! `--chart`: heap size over time as a self-contained SVG.
//!
//! Stacked bands show, at every snapshot, the biggest allocation sites (plus "other sites",
//! allocator overhead and stacks). Only detailed snapshots say who holds the memory. A snapshot
//! between them with exactly the useful heap of a neighbouring detailed one takes its
//! breakdown; otherwise a site is credited only with the bytes it held at both neighbouring
//! detailed snapshots (a conservative reading), and the rest of the heap is a grey "not
//! itemised" band, so the picture does not claim more than the file supports. Values hold
//! until the next snapshot (steps, as in ms_print's graph); a line on top marks the total. Axes
//! carry units; every band has a hover title.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::model::TimeUnit;
use super::model::{sat_sum, sites_of, Massif};
use super::text::human_bytes;

const W: f64 = 1100.0;
const H: f64 = 600.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 330.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#17becf",
];

/// Escapes text for XML content and attributes. Characters XML cannot carry at all (control
/// characters, U+FFFE/U+FFFF, as a program's function names may hold) are spelled out as
/// text, as in flame graphs.
pub fn esc(s: &str) -> String {
    let s = crate::render::flamegraph::xml_safe(s);
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

/// The corners of a step line through `n` snapshots, as (snapshot giving x, snapshot giving
/// y): each value holds until the next snapshot's time, as massif's memory does between
/// snapshots and as ms_print's graph draws it. `rev` walks back (the lower edge of a band).
fn step_path(n: usize, rev: bool) -> Vec<(usize, usize)> {
    let mut v = Vec::with_capacity(2 * n);
    for i in 0..n {
        v.push((i, i));
        if i + 1 < n {
            v.push((i + 1, i));
        }
    }
    if rev {
        v.reverse();
    }
    v
}

/// Renders the chart; `top` is how many sites get their own band.
pub fn render(m: &Massif, name: &str, top: usize) -> String {
    let snaps = &m.snapshots;
    let end_time = snaps.iter().map(|s| s.time).max().unwrap_or(0).max(1) as f64;
    let max_total = snaps.iter().map(|s| s.total()).max().unwrap_or(0).max(1) as f64;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let px = |t: f64| LEFT + t / end_time * pw;
    let py = |b: f64| TOP + ph - b / max_total * ph;

    // Bytes per site at every detailed snapshot; sites ranked by their largest value anywhere.
    let detailed = snaps.iter().filter(|s| s.tree.is_some()).count();
    let mut per_snap: Vec<HashMap<String, u64>> = Vec::with_capacity(snaps.len());
    let mut best: HashMap<String, u64> = HashMap::new();
    for s in snaps {
        let h: HashMap<String, u64> = match &s.tree {
            Some(t) => sites_of(m, t),
            None => HashMap::new(),
        };
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
    let any_undetailed = snaps.iter().any(|s| s.tree.is_none() && s.heap > 0);
    // Series bottom to top: sites, other sites, heap of snapshots without a tree, extra heap,
    // stacks. Every snapshot is a point; a site band is zero where massif did not say.
    let nsites = ranked.len();
    let mut names: Vec<String> = ranked.iter().map(|r| r.0.clone()).collect();
    names.push("other sites".into());
    let undetailed_k = names.len();
    if any_undetailed {
        names.push("useful heap, not itemised (between detailed snapshots)".into());
    }
    let extra_k = names.len();
    names.push("extra heap (allocator overhead)".into());
    if any_stacks {
        names.push("stacks".into());
    }
    // Site bytes (sites, then "other sites") per snapshot. Detailed snapshots are exact. For
    // the others, a site is credited with what it held at both neighbouring detailed snapshots
    // (the smaller of the two), capped by the snapshot's heap; the rest of the heap is grey.
    let exact: Vec<Option<Vec<u64>>> = (0..snaps.len())
        .map(|i| {
            snaps[i].tree.as_ref().map(|_| {
                let mut v: Vec<u64> = ranked
                    .iter()
                    .map(|r| per_snap[i].get(&r.0).copied().unwrap_or(0))
                    .collect();
                let named = sat_sum(v.iter().copied());
                v.push(snaps[i].heap.saturating_sub(named));
                v
            })
        })
        .collect();
    let mut site_vals: Vec<Vec<u64>> = Vec::with_capacity(snaps.len());
    let mut prev: Option<usize> = None;
    for i in 0..snaps.len() {
        if let Some(v) = &exact[i] {
            prev = Some(i);
            site_vals.push(v.clone());
            continue;
        }
        let next = (i + 1..snaps.len()).find(|&j| exact[j].is_some());
        // Same useful heap as a neighbouring detailed snapshot: almost surely the same
        // allocations (massif snapshots when memory changes), so take its breakdown.
        let same = [prev, next]
            .into_iter()
            .flatten()
            .find(|&j| snaps[j].heap == snaps[i].heap);
        if let Some(v) = same.and_then(|j| exact[j].clone()) {
            site_vals.push(v);
            continue;
        }
        let mut v = vec![0u64; nsites + 1];
        if let (Some(p), Some(n)) = (prev, next) {
            if let (Some(pv), Some(nv)) = (&exact[p], &exact[n]) {
                let mut room = snaps[i].heap;
                for k in 0..nsites {
                    let x = pv[k].min(nv[k]).min(room);
                    v[k] = x;
                    room -= x;
                }
            }
        }
        site_vals.push(v);
    }
    let series_vals = |k: usize, i: usize| -> u64 {
        let s = &snaps[i];
        if k <= nsites {
            site_vals[i][k]
        } else if any_undetailed && k == undetailed_k {
            let named = sat_sum(site_vals[i].iter().copied());
            s.heap.saturating_sub(named)
        } else if k == extra_k {
            s.extra
        } else {
            s.stacks
        }
    };

    // Sites cycle through the palette; the fixed series get colours of their own.
    let series_color = |k: usize| -> &'static str {
        if any_undetailed && k == undetailed_k {
            "#d9d9d9"
        } else if k == extra_k {
            "#7f7f7f"
        } else if k > extra_k {
            "#bcbd22"
        } else if k == nsites {
            "#c7e9c0"
        } else {
            COLORS[k % COLORS.len()]
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
            "{name}; peak {} (useful + extra) at snapshot {}; {} snapshots, {} itemised by site (massif --detailed-freq=1 itemises all)",
            human_bytes(p.heap_total()),
            p.num,
            snaps.len(),
            detailed
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

    // Stacked bands through every snapshot.
    if !snaps.is_empty() {
        let mut lower = vec![0u64; snaps.len()];
        for (k, sname) in names.iter().enumerate() {
            let upper: Vec<u64> = (0..snaps.len())
                .map(|i| lower[i].saturating_add(series_vals(k, i)))
                .collect();
            let mut pts = String::new();
            for (x, i) in step_path(snaps.len(), false) {
                let _ = write!(
                    pts,
                    "{:.1},{:.1} ",
                    px(snaps[x].time as f64),
                    py(upper[i] as f64)
                );
            }
            for (x, i) in step_path(snaps.len(), true) {
                let _ = write!(
                    pts,
                    "{:.1},{:.1} ",
                    px(snaps[x].time as f64),
                    py(lower[i] as f64)
                );
            }
            let peak_bytes = (0..snaps.len())
                .map(|i| series_vals(k, i))
                .max()
                .unwrap_or(0);
            let color = series_color(k);
            let _ = writeln!(
                o,
                r#"<polygon class="band" points="{}" fill="{color}" fill-opacity="0.85" stroke="{color}" stroke-width="0.5"><title>{} (up to {})</title></polygon>"#,
                pts.trim_end(),
                esc(sname),
                esc(&human_bytes(peak_bytes))
            );
            lower = upper;
        }
    }
    // Total line at every snapshot, with a marker on detailed ones.
    let mut pts = String::new();
    for (x, i) in step_path(snaps.len(), false) {
        let _ = write!(
            pts,
            "{:.1},{:.1} ",
            px(snaps[x].time as f64),
            py(snaps[i].total() as f64)
        );
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
            series_color(k),
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
