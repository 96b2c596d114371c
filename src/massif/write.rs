//! Writing a [`Massif`] model in valgrind's massif.out format, which `ms_print`, `rprof massif`
//! and massif-visualizer read: the header, then each snapshot with its totals and, for detailed
//! ones, the allocation tree (`nCHILDREN: BYTES text`, indented one space per level).

use std::io::{self, Write};

use super::model::{Massif, TreeKind};

/// Writes `m` to `w`.
pub fn write<W: Write + ?Sized>(w: &mut W, m: &Massif) -> io::Result<()> {
    let desc = if m.desc.is_empty() {
        "(none)".to_string()
    } else {
        m.desc.join(" ").trim().to_string()
    };
    writeln!(w, "desc: {desc}")?;
    writeln!(w, "cmd: {}", m.cmd.replace('\n', " "))?;
    writeln!(w, "time_unit: {}", m.time_unit.short())?;
    for s in &m.snapshots {
        writeln!(w, "#-----------")?;
        writeln!(w, "snapshot={}", s.num)?;
        writeln!(w, "#-----------")?;
        writeln!(w, "time={}", s.time)?;
        writeln!(w, "mem_heap_B={}", s.heap)?;
        writeln!(w, "mem_heap_extra_B={}", s.extra)?;
        writeln!(w, "mem_stacks_B={}", s.stacks)?;
        let kind = match (s.kind, &s.tree) {
            (TreeKind::Peak, Some(_)) => "peak",
            (_, Some(_)) => "detailed",
            _ => "empty",
        };
        writeln!(w, "heap_tree={kind}")?;
        let Some(t) = &s.tree else { continue };
        // Depth of each node from the pre-order layout: a node's subtree ends at `end`.
        let mut open: Vec<u32> = Vec::new();
        for (i, n) in t.nodes.iter().enumerate() {
            while open.last().is_some_and(|&e| e as usize <= i) {
                open.pop();
            }
            let text = m.label(n);
            writeln!(
                w,
                "{:indent$}n{}: {}{}",
                "",
                n.children,
                n.bytes,
                text.replace('\n', " "),
                indent = open.len()
            )?;
            open.push(n.end);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    #[test]
    fn round_trips_a_valgrind_file() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/massif/normal.massif.out");
        let bytes = std::fs::read(p).expect("fixture");
        let opt = parse::ParseOptions {
            threshold: 0.0,
            full: None,
        };
        let m = parse::parse_bytes_with(&bytes, "n", &opt).expect("parses");
        let mut out = Vec::new();
        super::write(&mut out, &m).expect("writes");
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&bytes)
        );
    }
}
