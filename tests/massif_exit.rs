//! What the massif summary says about the end of the run. massif takes no snapshot at exit, so
//! only valgrind's xtree report (which `rprof massif -- CMD` asks for) tells what was still
//! allocated at exit: then, and only then, the summary speaks of possible leaks. A file read on
//! its own gets "memory live at the last snapshot", with its time. Golden summaries for both,
//! from fixtures/massif/exit.massif.out and exit.xtree.ms (made together by regenerate.sh), and
//! the live run under the real valgrind.

mod common;

use common::{compile, fixture, golden, have, live, rprof};
use rprof::massif::model::AtExit;
use rprof::massif::parse::{parse_bytes_with, ParseOptions};
use rprof::massif::text::{summary, TextOptions};
use rprof::massif::Massif;

fn load(name: &str) -> Massif {
    let bytes = std::fs::read(fixture("massif").join(name)).expect("fixture");
    parse_bytes_with(&bytes, name, &ParseOptions::default()).expect("parses")
}

fn summary_with(at_exit: Option<AtExit>) -> String {
    let o = TextOptions {
        input_name: "exit.massif.out".into(),
        at_exit,
        ..TextOptions::default()
    };
    summary(&load("exit.massif.out"), &o)
}

#[test]
fn file_alone_names_the_last_snapshot_not_leaks() {
    let out = summary_with(None);
    golden("massif/exit-file-only.summary.txt", &out);
    assert!(!out.contains("possible leaks"), "{out}");
    assert!(out.contains("this is not a leak report"), "{out}");
    assert!(
        out.contains("Memory live at the last snapshot: 99.22 KiB (100,000 B useful + 1,600 B extra) at snapshot "),
        "{out}"
    );
}

#[test]
fn exit_report_gives_possible_leaks_with_exact_sites() {
    let report = AtExit::new(load("exit.xtree.ms"), None).expect("an xtree report");
    assert_eq!(report.bytes(), 100_000);
    assert_eq!(report.blocks(), Some(100));
    let out = summary_with(Some(report));
    golden("massif/exit-exited.summary.txt", &out);
    assert!(
        out.contains("Still allocated at exit (possible leaks): 97.66 KiB (100,000 B useful in 100 block(s)) after 1,"),
        "{out}"
    );
    assert!(
        out.contains("100.00%  100,000 B  leak_some (heap.c:39)"),
        "{out}"
    );
    assert!(!out.contains("last snapshot:"), "{out}");
}

#[test]
fn killed_command_is_not_said_to_leak() {
    let report = AtExit::new(load("exit.xtree.ms"), Some("SIGINT".into())).expect("report");
    let out = summary_with(Some(report));
    golden("massif/exit-killed.summary.txt", &out);
    assert!(!out.contains("possible leaks"), "{out}");
    assert!(
        out.contains("Live when the command was killed by SIGINT"),
        "{out}"
    );
}

#[test]
fn an_ordinary_massif_file_is_not_an_exit_report() {
    assert!(AtExit::new(load("normal.massif.out"), None).is_none());
}

#[test]
fn command_run_by_rprof_reports_what_is_left_at_exit() {
    if !live("valgrind", have("valgrind")) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = compile("massif/heap.c", tmp.path(), "heap", &["-g", "-O0"]);
    let out = rprof()
        .current_dir(tmp.path())
        .args(["massif", "--summary-only", "--"])
        .arg(&bin)
        .arg("8")
        .output()
        .expect("runs");
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{se}");
    // Exact, without --detailed-freq=1: the exit report has the whole tree.
    assert!(
        so.contains("Still allocated at exit (possible leaks): 97.66 KiB (100,000 B useful in 100 block(s))"),
        "{so}"
    );
    assert!(
        so.contains("100.00%  100,000 B  leak_some (heap.c:39)"),
        "{so}"
    );
    // The private report directory is gone.
    let report = se
        .lines()
        .find_map(|l| l.split_once("xtree memory report: ").map(|(_, p)| p.trim()))
        .unwrap_or_else(|| panic!("valgrind named no report: {se}"));
    let dir = std::path::Path::new(report).parent().expect("a directory");
    assert!(!dir.exists(), "{} left behind", dir.display());

    // A user's own xtree options win, and then nothing is said about exit.
    let out = rprof()
        .current_dir(tmp.path())
        .args([
            "massif",
            "--summary-only",
            "--valgrind-arg=--xtree-memory=none",
            "--",
        ])
        .arg(&bin)
        .arg("8")
        .output()
        .expect("runs");
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(so.contains("Memory live at the last snapshot: "), "{so}");
    assert!(!so.contains("possible leaks"), "{so}");
}
