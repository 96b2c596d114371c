//! One snapshot's allocation tree as a [`Profile`] weighted by bytes, so the shared renderers
//! (flame graphs, folded stacks, `rprof diff`, `rprof report`) serve heap profiles too.
//!
//! massif's tree runs from the allocation functions (root) through the allocation sites (the
//! functions that called malloc) out to `main`; a profile stack runs the other way, outermost
//! caller first. Each node contributes the bytes its children do not account for (normally only
//! the leaves, but a tree cut short by `--depth` leaves bytes on inner nodes too).

use anyhow::{bail, Result};

use super::model::{parse_site, sat_sum, Massif, Site, Tree};
use crate::profile::{Frame, FrameId, Pid, Profile, Sample, Tid};

/// Frame name for massif's merged `in N places, all below massif's threshold` entries; the
/// count is left out so the same frame matches across snapshots and files.
pub const BELOW_THRESHOLD: &str = "[below massif's threshold]";

/// Picks the snapshot to show: `num` when given (it must carry a tree), else the peak (or, when
/// the peak has no tree, the detailed snapshot with the most heap). Returns its index.
pub fn choose_snapshot(m: &Massif, num: Option<usize>) -> Result<usize> {
    let detailed = || {
        let v = m.detailed_numbers();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    if let Some(n) = num {
        let Some(i) = m.find(n as u64) else {
            bail!(
                "there is no snapshot {n} (snapshots 0 to {})",
                m.snapshots.len().saturating_sub(1)
            );
        };
        if m.snapshots[i].tree.is_none() {
            bail!(
                "snapshot {n} has no allocation tree; detailed snapshots: {}",
                detailed()
            );
        }
        return Ok(i);
    }
    if let Some(p) = m.peak_index() {
        if m.snapshots[p].tree.is_some() {
            return Ok(p);
        }
    }
    let best = m
        .snapshots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.tree.is_some())
        .max_by_key(|(i, s)| (s.heap_total(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i);
    match best {
        Some(i) => Ok(i),
        None => bail!("no snapshot has an allocation tree (massif wrote totals only)"),
    }
}

fn frame_for(p: &mut Profile, text: &str) -> FrameId {
    match parse_site(text) {
        Site::Root(r) => p.add_named_frame(&format!("[{r}]")),
        Site::Below { .. } => p.add_named_frame(BELOW_THRESHOLD),
        Site::Code {
            address,
            function,
            file,
            line,
            in_object,
        } => {
            let function = p.intern(function);
            let (file, module) = if in_object {
                (p.intern(""), Some(p.add_module(file, Vec::new())))
            } else {
                (p.intern(file), None)
            };
            p.add_frame(Frame {
                function,
                module,
                file,
                line,
                inlined: false,
                kernel: false,
                address,
                module_offset: None,
            })
        }
    }
}

/// Converts the tree of snapshot index `idx` into a profile.
pub fn to_profile(m: &Massif, idx: usize, name: &str) -> Result<Profile> {
    let s = &m.snapshots[idx];
    let Some(tree) = &s.tree else {
        bail!("snapshot {} has no allocation tree", s.num);
    };
    let mut p = Profile::new();
    let thread = p.add_thread(Pid(0), Tid(0), "");
    p.meta.event = "heap bytes".into();
    p.meta.unit = "bytes".into();
    p.meta.command = vec![m.cmd.clone()];
    let which = if Some(idx) == m.peak_index() {
        " (peak)"
    } else {
        ""
    };
    p.meta.target = format!("massif {name}: {}, snapshot {}{which}", m.cmd, s.num);
    p.meta.extra = vec![
        ("snapshot".into(), s.num.to_string()),
        ("time".into(), format!("{} {}", s.time, m.time_unit.short())),
        ("mem_heap_B".into(), s.heap.to_string()),
        ("mem_heap_extra_B".into(), s.extra.to_string()),
        ("mem_stacks_B".into(), s.stacks.to_string()),
    ];
    for (path, bytes) in leaf_paths(m, tree) {
        let frames: Vec<FrameId> = path.iter().rev().map(|t| frame_for(&mut p, t)).collect();
        let stack = p.add_stack_frames(&frames);
        p.add_sample(Sample {
            stack,
            thread,
            weight: bytes,
            count: 1,
            time: None,
        });
    }
    Ok(p)
}

/// Every root-to-node path (node texts, allocation site first; the root itself only when it
/// holds bytes of its own) with the bytes the node holds beyond its children.
pub fn leaf_paths<'a>(m: &'a Massif, tree: &Tree) -> Vec<(Vec<&'a str>, u64)> {
    let mut out = Vec::new();
    if tree.nodes.is_empty() {
        return out;
    }
    // Explicit stack of (node, depth); `path` holds the texts from the first site down.
    let mut path: Vec<&'a str> = Vec::new();
    let mut todo: Vec<(usize, usize)> = vec![(0, 0)];
    while let Some((i, depth)) = todo.pop() {
        let n = &tree.nodes[i];
        path.truncate(depth.saturating_sub(1));
        if depth > 0 {
            path.push(m.label(n));
        }
        let kids = sat_sum(tree.children(i).map(|c| tree.nodes[c].bytes));
        let own = n.bytes.saturating_sub(kids);
        if own > 0 {
            if depth == 0 {
                out.push((vec![m.label(n)], own));
            } else {
                out.push((path.clone(), own));
            }
        }
        let kids: Vec<usize> = tree.children(i).collect();
        for c in kids.into_iter().rev() {
            todo.push((c, depth + 1));
        }
    }
    out
}

/// The chosen snapshot as folded stacks (`main;build_index 8388608`), sorted.
pub fn folded(m: &Massif, idx: usize, name: &str) -> Result<String> {
    let p = to_profile(m, idx, name)?;
    let lines = crate::profile::folded::fold(&p, &Default::default());
    Ok(crate::profile::folded::to_text(&lines))
}
