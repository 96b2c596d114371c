//! Reports and flame graphs weigh samples by their period and say so: the event, the unit and
//! the events of the source in the header, sample counts beside the weighted shares, a data
//! file (format 2) that keeps the unit and events; and the small lies of issue 10 item 9: an
//! unknown `--tid`, an icicle graph's title, unsymbolized frames split into one row each.

mod common;

use std::path::Path;

use common::{fixture, golden, rprof};
use rprof::profile::{file, Pid, Profile, Sample, Tid};

fn path(rel: &str) -> String {
    fixture(rel).to_string_lossy().into_owned()
}

fn portable(s: &str) -> String {
    s.replace(&path(""), "fixtures/")
}

/// Runs rprof, returning (success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let out = rprof().args(args).output().expect("run rprof");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> String {
    let (good, out, err) = run(args);
    assert!(good, "rprof {args:?} failed: {err}");
    out
}

/// A page-fault recording as `rprof record -e page-faults` writes it: `many` has 9 samples
/// of 1,000 faults, `few` 10 samples of 100, on thread 42.
fn fault_profile() -> Profile {
    let mut p = Profile::new();
    p.meta.event = "page-faults".into();
    p.meta.events = vec!["cpu-clock".into(), "page-faults".into()];
    p.meta.unit = "page-faults".into();
    p.meta.target = "command ./faults".into();
    let main = p.add_named_frame("main");
    let many = p.add_named_frame("many");
    let few = p.add_named_frame("few");
    let th = p.add_thread(Pid(42), Tid(42), "faults");
    let s_many = p.add_stack_frames(&[main, many]);
    let s_few = p.add_stack_frames(&[main, few]);
    for (stack, weight, n) in [(s_many, 1000, 9), (s_few, 100, 10)] {
        for i in 0..n {
            p.add_sample(Sample {
                stack,
                thread: th,
                weight,
                count: 1,
                time: Some(i * 1000),
            });
        }
    }
    p
}

fn write_faults(dir: &Path) -> String {
    let f = dir.join("faults.data");
    file::write_file(&fault_profile(), &f).expect("write");
    f.to_string_lossy().into_owned()
}

#[test]
fn data_file_keeps_unit_events_and_weights() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = write_faults(dir.path());
    let back = file::decode(&std::fs::read(&f).expect("read")).expect("decode");
    assert_eq!(back, fault_profile());
    assert_eq!(back.unit(), "page-faults");
    assert_eq!(back.meta.events, ["cpu-clock", "page-faults"]);

    let v: serde_json::Value =
        serde_json::from_str(&ok(&["report", &f, "--format", "json"])).expect("json");
    assert_eq!(v["unit"], "page-faults");
    assert_eq!(v["event"], "page-faults");
    assert_eq!(v["events"], serde_json::json!(["cpu-clock", "page-faults"]));
    assert_eq!(
        (v["samples"].as_u64(), v["total_weight"].as_u64()),
        (Some(19), Some(10_000))
    );
    let row = |n: &str| {
        v["rows"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == n))
            .cloned()
            .unwrap_or_else(|| panic!("row {n}"))
    };
    assert_eq!(row("many")["self_pct"], 90.0);
    assert_eq!(row("many")["self"], 9000);
    assert_eq!(row("many")["self_samples"], 9);
    assert_eq!(row("few")["self_pct"], 10.0);
    assert_eq!(row("few")["self_samples"], 10);

    let text = ok(&["report", &f]);
    let text = text.replace(&f, "faults.data");
    golden("report-weighted.txt", &text);
}

#[test]
fn flamegraph_widths_and_tooltips_are_weights() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = write_faults(dir.path());
    let svg = ok(&["flamegraph", &f, "-o", "-"]);
    assert!(
        svg.contains("<title>many (9,000 page-faults, 90.00%)</title>"),
        "{svg}"
    );
    assert!(
        svg.contains("<title>few (1,000 page-faults, 10.00%)</title>"),
        "{svg}"
    );
    assert!(
        svg.contains("19 samples, 10,000 page-faults"),
        "subtitle: {svg}"
    );
}

#[test]
fn unknown_tid_warns_and_fails() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = write_faults(dir.path());
    for cmd in [
        &["report", &f, "--tid", "99"][..],
        &["report", &f, "--tid", "99", "--format", "json"][..],
        &["flamegraph", &f, "--tid", "99", "-o", "-"][..],
    ] {
        let (good, out, err) = run(cmd);
        assert!(!good, "{cmd:?} succeeded");
        assert!(out.is_empty(), "{cmd:?} printed: {out}");
        assert!(
            err.contains("warning: no sample of tid 99 in")
                && err.contains("tids with samples: 42"),
            "{cmd:?}: {err}"
        );
    }
    // A known tid beside an unknown one: the table for the known one, the warning, exit 1.
    let (good, out, err) = run(&["report", &f, "--tid", "42,7"]);
    assert!(!good);
    assert!(out.contains("many"), "{out}");
    assert!(err.contains("no sample of tid 7"), "{err}");
    // All known: success, no warning.
    let (good, _, err) = run(&["report", &f, "--tid", "42"]);
    assert!(good && !err.contains("warning"), "{err}");
}

#[test]
fn icicle_graph_is_titled_so() {
    let input = path("inputs/simple.folded");
    let svg = ok(&["flamegraph", &input, "--inverted", "-o", "-"]);
    assert!(svg.contains(">Icicle Graph<"), "no icicle title");
    assert!(!svg.contains("Flame Graph"));
    let svg = ok(&["flamegraph", &input, "-o", "-"]);
    assert!(svg.contains(">Flame Graph<"));
    let svg = ok(&[
        "flamegraph",
        &input,
        "--inverted",
        "--title",
        "Mine",
        "-o",
        "-",
    ]);
    assert!(svg.contains(">Mine<") && !svg.contains("Icicle"));
}

#[test]
fn unsymbolized_frames_are_one_row_per_module() {
    let input = path("inputs/unsymbolized.folded");
    golden(
        "report-unsymbolized.txt",
        &portable(&ok(&["report", &input])),
    );
    golden(
        "report-unsymbolized-address.txt",
        &portable(&ok(&["report", &input, "--sort", "address"])),
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(&["report", &input, "--format", "json"])).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    let lib = rows
        .iter()
        .find(|r| r["name"] == "libstripped.so+?")
        .expect("grouped row");
    assert_eq!(lib["total"], 60);
    assert_eq!(lib["self"], 60);
    assert_eq!(
        lib["addresses"],
        serde_json::json!([
            "libstripped.so+0x1a20",
            "libstripped.so+0x1b44",
            "libstripped.so+0x1c08",
            "libstripped.so+0x2d10"
        ])
    );
    assert!(!rows.iter().any(|r| r["name"] == "libstripped.so+0x1b44"));
}
