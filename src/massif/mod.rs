//! valgrind massif output: a streaming parser, the compact model, ms_print-style text, an SVG
//! chart, and conversion of one snapshot's allocation tree into a [`Profile`].

pub mod chart;
pub mod convert;
pub mod model;
pub mod parse;
pub mod text;
pub mod write;

use anyhow::Result;

use crate::profile::Profile;

pub use model::Massif;

/// Parses massif output (plain or gzip) and converts snapshot `snapshot` (default: the peak)
/// into a Profile weighted by bytes, stacks outermost caller first with the allocation sites
/// as leaves.
pub fn load_profile(bytes: &[u8], name: &str, snapshot: Option<usize>) -> Result<Profile> {
    // Only one tree is needed: keep the peak's (or the asked one) whole and reduce the others
    // to their root while parsing, so memory stays small on big files.
    let mut opt = parse::ParseOptions {
        threshold: 100.0,
        full: snapshot.map(|n| n as u64),
    };
    let mut m = parse::parse_bytes_with(bytes, name, &opt)?;
    let idx = convert::choose_snapshot(&m, snapshot)?;
    let trimmed = m.snapshots[idx]
        .tree
        .as_ref()
        .is_some_and(|t| t.nodes.iter().any(|n| n.merged > 0));
    if trimmed {
        // No `peak` mark in the file: the fallback choice was trimmed; read it again whole.
        opt.full = Some(m.snapshots[idx].num);
        m = parse::parse_bytes_with(bytes, name, &opt)?;
    }
    convert::to_profile(&m, idx, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::folded::{fold, FoldOptions};

    fn fixture(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/massif")
            .join(name);
        std::fs::read(p).expect("fixture")
    }

    #[test]
    fn trimming_while_parsing_prints_the_same_text() {
        let bytes = fixture("threshold.massif.out");
        let full = parse::parse_bytes_with(&bytes, "t", &Default::default()).expect("parses");
        for th in [0.0, 0.5, 1.0, 5.0, 50.0] {
            let opt = parse::ParseOptions {
                threshold: th,
                full: None,
            };
            let trimmed = parse::parse_bytes_with(&bytes, "t", &opt).expect("parses");
            let o = text::TextOptions {
                threshold: th,
                ..Default::default()
            };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            text::write_ms_print(&mut a, &full, &o).expect("writes");
            text::write_ms_print(&mut b, &trimmed, &o).expect("writes");
            assert_eq!(
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b),
                "threshold {th}"
            );
            let nodes = |m: &Massif| -> usize {
                m.snapshots
                    .iter()
                    .filter_map(|s| s.tree.as_ref())
                    .map(|t| t.nodes.len())
                    .sum()
            };
            if th >= 1.0 {
                assert!(nodes(&trimmed) < nodes(&full), "threshold {th} trims");
            }
        }
    }

    #[test]
    fn load_profile_without_peak_mark_reads_the_biggest_tree_whole() {
        let bytes = fixture("threshold.massif.out");
        let text = String::from_utf8(bytes.clone()).expect("text");
        let unmarked = text.replace("heap_tree=peak", "heap_tree=detailed");
        let a = load_profile(&bytes, "a", None).expect("loads");
        let b = load_profile(unmarked.as_bytes(), "b", None).expect("loads");
        let fa = fold(&a, &FoldOptions::default());
        let fb = fold(&b, &FoldOptions::default());
        assert_eq!(fa, fb);
        assert!(fa.iter().any(|(s, _)| s.contains("build_index")));
        // An explicit snapshot is read whole too.
        let c = load_profile(&bytes, "c", Some(61)).expect("loads");
        assert!(fold(&c, &FoldOptions::default()).len() > 10);
    }
}
