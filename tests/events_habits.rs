//! Live tests of the perf habits issue 17's audit found unmet: perf's `:u` event suffix
//! (`-e cpu-clock:u`, `-e cs:u`) records user mode only, as `--no-kernel`, and the modifiers
//! rprof does not implement (`cycles:pp`, `cpu-clock:k`) are refused by name instead of being
//! looked up as a tracepoint; `rprof list hw` (or `cache`, `cycles`) on a machine without
//! hardware events says why the list is empty; the views' `--event` takes perf's aliases
//! (`--event cs` on a recording of `-e cs,page-faults`).
//!
//! Skips only when perf_event_open is unavailable (fails then under RPROF_REQUIRE_LIVE=1).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// The functions of a JSON report that are kernel frames.
fn kernel_rows(v: &Value) -> Vec<String> {
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["module"] == "[kernel.kallsyms]")
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect()
}

fn sleeper(dir: &Path) -> PathBuf {
    compile(
        "record/sleeper.c",
        dir,
        "sleeper",
        &["-O1", "-g", "-fno-omit-frame-pointer"],
    )
}

/// The self weight of `name` in a JSON report, as a share.
fn self_pct(v: &Value, name: &str) -> f64 {
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["name"] == name)
        .and_then(|r| r["self_pct"].as_f64())
        .unwrap_or(0.0)
}

#[test]
fn the_u_suffix_records_user_mode_only_and_other_modifiers_are_named() {
    if !live("perf_event_open", perf_event_check()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = sleeper(dir.path());
    // `-e cs:u`: the switches still count (they happen in the kernel), with the user function
    // that blocked as the leaf, exactly as `-e cs --no-kernel`.
    let data = dir.path().join("csu.data");
    run_ok(
        Command::new(rprof_path())
            .args(["record", "-e", "cs:u", "-o"])
            .arg(&data)
            .arg("--")
            .arg(&bin)
            .arg("100"),
    );
    let v = report_json(&data, &[]);
    assert_eq!(v["event"], "context-switches", "{v}");
    let w = v["total_weight"].as_u64().unwrap_or(0);
    assert!((100..=120).contains(&w), "{w} switches for 100 sleeps");
    assert!(self_pct(&v, "sleep_here") > 95.0, "{v}");
    assert_eq!(
        kernel_rows(&v),
        Vec::<String>::new(),
        "kernel frames in a :u recording"
    );
    assert!(
        v["metadata"]["extra"]
            .as_array()
            .is_some_and(|x| x.contains(&serde_json::json!(["kernel_frames", "no"]))),
        "{}",
        v["metadata"]
    );
    // Without :u the same recording has the kernel's scheduler as the leaf: the suffix is what
    // left the kernel frames out.
    let data_k = dir.path().join("cs.data");
    run_ok(
        Command::new(rprof_path())
            .args(["record", "-e", "cs", "-o"])
            .arg(&data_k)
            .arg("--")
            .arg(&bin)
            .arg("20"),
    );
    assert!(!kernel_rows(&report_json(&data_k, &[])).is_empty());
    // `-e cpu-clock:u` on a busy program: stored as cpu-clock, without kernel frames.
    let busy = compile(
        "record/busy_threads.c",
        dir.path(),
        "busy",
        &["-O1", "-g", "-fno-omit-frame-pointer"],
    );
    let data = dir.path().join("clk.data");
    let out = run_ok(
        Command::new(rprof_path())
            .args(["record", "-e", "cpu-clock:u", "-o"])
            .arg(&data)
            .arg("--")
            .arg(&busy)
            .args(["0.5", "1"]),
    );
    let v = report_json(&data, &[]);
    assert_eq!(v["event"], "cpu-clock");
    assert!(
        v["samples"].as_u64().unwrap_or(0) > 50,
        "{v} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(kernel_rows(&v), Vec::<String>::new(), "{v}");
    // Refused by name, exit 1, before anything runs; never "unknown tracepoint".
    for (ev, says) in [
        ("cycles:pp", "precise sampling"),
        ("cpu-clock:k", "the :k modifier"),
        ("page-faults:H", ":H modifier"),
        ("cpu-clock:zz", "not a modifier"),
    ] {
        let out = run_cmd(
            Command::new(rprof_path())
                .args(["record", "-e", ev, "-o"])
                .arg(dir.path().join("x.data"))
                .args(["--", "true"]),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{ev}: {err}");
        assert!(
            err.contains(says) && !err.contains("tracepoint"),
            "{ev}: {err}"
        );
    }
    // Kernel frames go for every event or none: :u on one of two is refused.
    let out = run_cmd(Command::new(rprof_path()).args([
        "record",
        "-e",
        "cs:u,page-faults",
        "--",
        "true",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("put :u on every event"));
    // A tracepoint keeps its colon.
    if Path::new("/sys/kernel/tracing/events/sched/sched_switch/id").exists() {
        let data = dir.path().join("tp.data");
        run_ok(
            Command::new(rprof_path())
                .args(["record", "--no-kernel", "-e", "sched:sched_switch", "-o"])
                .arg(&data)
                .arg("--")
                .arg(&bin)
                .arg("20"),
        );
        assert_eq!(report_json(&data, &[])["event"], "sched:sched_switch");
    }
}

#[test]
fn list_explains_an_empty_answer() {
    if !live("perf_event_open", perf_event_check()) {
        return;
    }
    let pmu = Path::new("/sys/bus/event_source/devices/cpu").exists();
    for filter in ["hw", "cache", "cycles"] {
        let out = run_ok(Command::new(rprof_path()).args(["list", filter]));
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        if pmu {
            // Where the PMU counts cycles, they are listed (cache events may be absent).
            if filter != "cache" {
                assert!(text.contains("[Hardware event]"), "{filter}: {text}");
            }
        } else {
            assert!(text.trim().is_empty(), "{filter}: {text}");
            assert!(
                err.contains("no hardware performance counters"),
                "list {filter} printed nothing and said nothing: {err}"
            );
        }
    }
    // Software events need no excuse; an unknown filter is named.
    let out = run_ok(Command::new(rprof_path()).args(["list", "sw"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("context-switches OR cs"));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_ok(Command::new(rprof_path()).args(["list", "no-such-event-xyz"]));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches `no-such-event-xyz`"));
}

#[test]
fn views_take_perfs_event_aliases() {
    if !live("perf_event_open", perf_event_check()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = sleeper(dir.path());
    let data = dir.path().join("m.data");
    run_ok(
        Command::new(rprof_path())
            .args(["record", "--no-kernel", "-e", "cs,faults", "-o"])
            .arg(&data)
            .arg("--")
            .arg(&bin)
            .arg("50"),
    );
    let cs = report_json(&data, &["--event", "cs"]);
    assert_eq!(cs["event"], "context-switches");
    let pf = report_json(&data, &["--event", "faults"]);
    assert_eq!(pf["event"], "page-faults");
    assert_eq!(
        report_json(&data, &["--event", "page-faults"])["samples"],
        pf["samples"]
    );
    // flamegraph and convert resolve the same way.
    let svg = dir.path().join("cs.svg");
    run_ok(
        Command::new(rprof_path())
            .args(["flamegraph", "-i"])
            .arg(&data)
            .args(["--event", "cs", "-o"])
            .arg(&svg),
    );
    assert!(std::fs::read_to_string(&svg)
        .expect("svg")
        .contains("sleep_here"));
    let out = run_ok(
        Command::new(rprof_path())
            .arg("convert")
            .arg(&data)
            .args(["--event", "cs", "--to", "folded", "-o"])
            .arg(dir.path().join("cs.folded")),
    );
    assert!(out.status.success());
    let bad = run_cmd(
        Command::new(rprof_path())
            .arg("report")
            .arg(&data)
            .args(["--event", "migrations"]),
    );
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("events present: context-switches, page-faults"));
}

/// `-e` takes a tracepoint glob as perf does: every tracepoint it matches is recorded as its
/// own event (here the exec and exit of the launched command), in name order, and a glob that
/// matches none is an error naming it.
#[test]
fn a_tracepoint_glob_records_every_match() {
    if !live("perf_event_open", perf_event_check()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("glob.data");
    let out = run_ok(
        Command::new(rprof_path())
            .args(["record", "-e", "sched:sched_process_e*", "-o"])
            .arg(&data)
            .args(["--", "/bin/true"]),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sched:sched_process_exec, sched:sched_process_exit"),
        "{err}"
    );
    // The command's exit fires once, on its one thread.
    let v = report_json(&data, &["--event", "sched:sched_process_exit"]);
    assert_eq!(v["metadata"]["event"], "sched:sched_process_exit", "{v}");
    let rows = v["rows"].as_array().expect("rows");
    let total: u64 = rows.iter().filter_map(|r| r["self_samples"].as_u64()).sum();
    assert_eq!(total, 1, "{v}");

    let out = run_cmd(
        Command::new(rprof_path())
            .args(["record", "-e", "sched:no_such_thing_*", "-o"])
            .arg(dir.path().join("none.data"))
            .args(["--", "/bin/true"]),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no tracepoint of this kernel matches `sched:no_such_thing_*`"),
        "{err}"
    );
    assert!(!dir.path().join("none.data").exists());
}

/// `-c 0` is a usage error (exit 2), as a malformed number is, not a runtime failure.
#[test]
fn a_zero_count_is_a_usage_error() {
    let out = run_cmd(Command::new(rprof_path()).args(["record", "-c", "0", "--", "/bin/true"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'--count <COUNT>'"));
}
