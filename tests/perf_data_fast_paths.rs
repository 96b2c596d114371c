//! The faster ways rprof reads perf.data (issue 13, speed): a flame graph reads no DWARF line
//! tables, yet names the same functions and inlined frames as the full reading `report` does;
//! file-mode records are read where they lie in the file rather than through the crate's
//! copies, and a record that runs past the data section is a clear error. Live tests record a
//! C program whose hot loop is inlined, with frame pointers and with DWARF stack copies.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::rprof;

fn perf_ready() -> bool {
    let facility = common::have("perf").and_then(|_| common::perf_event_check());
    common::live("perf", facility)
}

/// Runs `perf record -q -F 999 ARGS -o DIR/NAME -- BIN` and returns the file.
fn perf_record(dir: &Path, name: &str, args: &[&str], bin: &Path) -> PathBuf {
    let out = dir.join(name);
    let st = Command::new("perf")
        .args(["record", "-q", "-F", "999"])
        .args(args)
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(bin)
        .output()
        .expect("perf record");
    assert!(
        st.status.success(),
        "perf record {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    out
}

fn run(args: &[&str], data: &Path) -> String {
    let out = rprof().args(args).arg(data).output().expect("rprof");
    assert!(
        out.status.success(),
        "rprof {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The flame graph's stacks (read without line tables) are the report's (read with them),
/// stack for stack and count for count, inlined frames included; the report still has the
/// source lines.
fn assert_names_only_matches_full(data: &Path) {
    let graph = run(&["flamegraph", "--folded", "-o", "-"], data);
    let report = run(&["report", "--format", "folded"], data);
    assert_eq!(graph, report, "flame graph and report stacks differ");
    let hot: u64 = graph
        .lines()
        .filter(|l| l.contains("outer;mix_inlined_[i]"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    let total: u64 = graph
        .lines()
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    // The program spends nearly all its time in the inlined loop: at least 80% of the
    // weight (a loaded machine adds kernel frames on top, which stay in the same stacks).
    assert!(
        total > 0 && hot * 100 >= total * 80,
        "the inlined frame holds {hot} of {total}:\n{graph}"
    );
    let lines = run(&["report", "--sort", "line", "--limit", "20"], data);
    assert!(
        lines.contains("inlined.c:"),
        "no source line of the program in the line report:\n{lines}"
    );
    // The SVG names the inlined frame too.
    let svg = run(&["flamegraph", "-o", "-"], data);
    assert!(svg.contains("mix_inlined"), "no inlined frame in the SVG");
}

#[test]
fn live_flame_graph_without_line_tables_names_inlined_frames() {
    if !perf_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = common::compile(
        "perf_data/inlined.c",
        dir.path(),
        "inlined",
        &["-O2", "-g", "-fno-omit-frame-pointer"],
    );
    let fp = perf_record(dir.path(), "fp.data", &["-g"], &bin);
    assert_names_only_matches_full(&fp);
    let dwarf = perf_record(dir.path(), "dwarf.data", &["--call-graph", "dwarf"], &bin);
    assert_names_only_matches_full(&dwarf);
}

/// The committed recordings read the same through both commands (no perf needed).
#[test]
fn committed_recordings_fold_the_same_in_both_commands() {
    for f in [
        "perf_data/fp.data",
        "perf_data/dwarf.data",
        "perf_data/pipe.data",
    ] {
        let data = common::fixture(f);
        assert_eq!(
            run(&["flamegraph", "--folded", "-o", "-"], &data),
            run(&["report", "--format", "folded"], &data),
            "{f}"
        );
    }
}

/// A record whose size runs past the data section: a clear error naming the byte, not a
/// read of the feature sections that follow as if they were records.
#[test]
fn record_past_the_data_section_is_an_error() {
    let mut b = std::fs::read(common::fixture("perf_data/fp.data")).expect("fixture");
    let word = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8"));
    let (off, size) = (word(&b, 40) as usize, word(&b, 48) as usize);
    // Walk to the last record and make it claim the largest size a header can hold.
    let mut at = off;
    let mut last = off;
    while at + 8 <= off + size {
        last = at;
        let s = u16::from_le_bytes([b[at + 6], b[at + 7]]) as usize;
        assert!(s >= 8, "fixture record size");
        at += s;
    }
    b[last + 6..last + 8].copy_from_slice(&u16::MAX.to_le_bytes());
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("past.data");
    std::fs::write(&p, &b).expect("write");
    let out = rprof().args(["report"]).arg(&p).output().expect("rprof");
    assert!(!out.status.success(), "a corrupt file was accepted");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("runs past the end of the data section") && err.contains("past.data"),
        "{err}"
    );
}
