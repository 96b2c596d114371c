//! The committed completions and man pages must match the clap definitions.

mod common;

use common::{root, rprof};

#[test]
fn completions_and_man_pages_are_current() {
    let dir = tempfile::tempdir().expect("tempdir");
    rprof()
        .args(["generate-assets", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    let mut stale = Vec::new();
    for sub in ["completions", "man"] {
        for e in std::fs::read_dir(dir.path().join(sub)).expect("generated dir") {
            let e = e.expect("entry");
            let rel = format!("{sub}/{}", e.file_name().to_string_lossy());
            let fresh = std::fs::read(e.path()).expect("read generated");
            let committed = std::fs::read(root().join(&rel)).unwrap_or_default();
            if fresh != committed {
                stale.push(rel);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}; refresh them with: cargo run -- generate-assets --dir ."
    );
}

#[test]
fn every_option_is_documented_with_its_default() {
    for sub in [
        "record",
        "report",
        "flamegraph",
        "diff",
        "strace-summary",
        "massif",
        "convert",
        "list",
        "completions",
    ] {
        let out = rprof().args([sub, "--help"]).output().expect("help");
        assert!(out.status.success(), "{sub} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            let t = line.trim_start();
            // An option line with nothing after the flag names means an undocumented flag.
            // (`- name: doc` lines list a flag's possible values, not flags.)
            if t.starts_with('-')
                && !t.starts_with("- ")
                && !t.contains("  ")
                && !line.ends_with(']')
            {
                let next_is_doc = text
                    .lines()
                    .skip_while(|l| *l != line)
                    .nth(1)
                    .is_some_and(|n| n.starts_with("          "));
                assert!(next_is_doc, "{sub}: undocumented option line `{line}`");
            }
        }
    }
    let out = rprof().args(["report", "--help"]).output().expect("help");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[default: 25]") && text.contains("[default: rprof.data]"));
}
