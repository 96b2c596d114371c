//! Live tests of `rprof record`: real perf_event_open on small C, C++ and Rust programs
//! compiled by the tests, asserting on what the reports say. They skip only when
//! perf_event_open is unavailable (and fail then under RPROF_REQUIRE_LIVE=1).
//!
//! The tests take a lock so they run one at a time: each keeps a CPU busy for 1-3 s, and on a
//! 2-core VM running them together would stretch every duration.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const CFLAGS: &[&str] = &["-O1", "-g", "-fno-omit-frame-pointer"];

fn live_ok() -> bool {
    live("perf_event_open", perf_event_check())
}

fn build(dir: &Path, name: &str) -> PathBuf {
    let src = if name == "cpp" {
        "record/cpp.cc".to_string()
    } else {
        format!("record/{name}.c")
    };
    compile(&src, dir, name, CFLAGS)
}

/// Runs `rprof record` with `args`, expecting success; returns stderr.
fn record(data: &Path, args: &[&str]) -> String {
    let out = rprof()
        .arg("record")
        .arg("-o")
        .arg(data)
        .args(args)
        .output()
        .expect("run rprof");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "rprof record {args:?} failed: {err}");
    err
}

fn folded(data: &Path) -> String {
    let out = rprof()
        .arg("report")
        .arg(data)
        .args(["--format", "folded"])
        .output()
        .expect("run rprof report");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Total percent of the row named exactly `name` (0 when absent).
fn total_pct(v: &Value, name: &str) -> f64 {
    row(v, name).map_or(0.0, |r| r["total_pct"].as_f64().unwrap_or(0.0))
}

fn row<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"].as_str() == Some(name)))
}

fn extra(v: &Value, key: &str) -> Option<String> {
    v["metadata"]["extra"].as_array()?.iter().find_map(|kv| {
        (kv[0].as_str() == Some(key)).then(|| kv[1].as_str().unwrap_or("").to_string())
    })
}

fn samples(v: &Value) -> u64 {
    v["samples"].as_u64().unwrap_or(0)
}

#[test]
fn record_known_split_within_five_points() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "split");
    let data = dir.path().join("split.data");
    // A fixed amount of work (about 2 s of CPU), so a loaded machine changes the wall time but
    // not the number of samples.
    let err = record(&data, &["--", bin.to_str().unwrap(), "-n", "2000"]);
    assert!(
        err.contains("recording stopped: the target exited"),
        "{err}"
    );
    assert!(err.contains("exited with status 0"), "{err}");
    let v = report_json(&data, &[]);
    // About 2 s of CPU at 999 Hz: expect well over 1000 samples.
    assert!(samples(&v) > 1000, "too few samples: {}", samples(&v));
    // Tolerance: 5 percentage points, as the issue states.
    for (f, want) in [
        ("work_sixty", 60.0),
        ("work_thirty", 30.0),
        ("work_ten", 10.0),
    ] {
        let got = total_pct(&v, f);
        assert!(
            (got - want).abs() <= 5.0,
            "{f}: {got:.1}% (want {want}% ± 5)"
        );
        assert_eq!(row(&v, f).unwrap()["module"], "split");
    }
    let m = &v["metadata"];
    assert_eq!(m["call_graph"], "auto");
    assert_eq!(m["frequency"], 999);
    assert!(["cycles", "cpu-clock"].contains(&m["event"].as_str().unwrap()));
    assert!(m["target"].as_str().unwrap().contains("split"));
    assert!(m["duration_ns"].as_u64().unwrap() >= 1_000_000_000);
    // With Debian's libc6-dbg installed, libc's frames get file:line from the separate debug
    // file found by build-id under /usr/lib/debug/.build-id.
    if Path::new("/usr/share/doc/libc6-dbg").exists() {
        let lines = report_json(&data, &["--sort", "line"]);
        assert!(
            lines["rows"]
                .to_string()
                .contains("libc_start_call_main.h:"),
            "{}",
            lines["rows"]
        );
    }
    // Frame-pointer stacks of this program reach libc's entry: almost nothing is truncated.
    assert!(m["truncated"].as_u64().unwrap() * 20 < samples(&v), "{m}");
}

#[test]
fn record_two_threads_each_attributed_to_its_own_thread() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "threads");
    let data = dir.path().join("t.data");
    record(&data, &["--", bin.to_str().unwrap(), "1.5"]);
    let v = report_json(&data, &[]);
    let threads = v["threads"].as_array().unwrap();
    let pid = threads[0]["pid"].as_u64().unwrap();
    let workers: Vec<u64> = threads
        .iter()
        .filter(|t| t["tid"].as_u64() != Some(pid))
        .map(|t| t["tid"].as_u64().unwrap())
        .collect();
    assert_eq!(workers.len(), 2, "two worker threads expected: {threads:?}");
    let mut owners = Vec::new();
    for tid in workers {
        let t = report_json(&data, &["--tid", &tid.to_string()]);
        let a = total_pct(&t, "alpha_work");
        let b = total_pct(&t, "beta_work");
        // Each worker spends all its time in its own function; allow 2 points of noise.
        if a > 90.0 {
            assert!(b < 2.0, "thread {tid}: alpha {a}, beta {b}");
            owners.push("alpha");
        } else {
            assert!(b > 90.0 && a < 2.0, "thread {tid}: alpha {a}, beta {b}");
            owners.push("beta");
        }
    }
    owners.sort();
    assert_eq!(owners, ["alpha", "beta"]);
    // Thread names are kept for reports.
    let by_thread = rprof()
        .arg("report")
        .arg(&data)
        .args(["--sort", "thread"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&by_thread.stdout).contains("threads-"));
}

/// Starts the attach fixture and waits until it prints "ready".
fn start_ready(bin: &Path, args: &[&str]) -> std::process::Child {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start fixture");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    child
}

#[test]
fn record_attach_pid_follows_new_thread_and_exec_child() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "attach");
    let child_bin = build(dir.path(), "child");
    let data = dir.path().join("a.data");
    // The fixture runs 30 s: a thread at 0.8 s, a fork+exec of `child` at 1.2 s; rprof
    // attaches right after "ready" and leaves after 3 s (plus symbolization) while the program
    // keeps running; the test ends it once checked.
    let mut target = start_ready(&bin, &["30", child_bin.to_str().unwrap()]);
    let pid = target.id();
    let err = record(&data, &["-p", &pid.to_string(), "-d", "3"]);
    assert!(err.contains("the duration (-d) elapsed"), "{err}");
    assert!(
        target.try_wait().unwrap().is_none(),
        "the attached program must keep running after rprof leaves"
    );
    let _ = target.kill();
    let _ = target.wait();

    let v = report_json(&data, &[]);
    let threads = v["threads"].as_array().unwrap();
    let pids: std::collections::HashSet<u64> =
        threads.iter().map(|t| t["pid"].as_u64().unwrap()).collect();
    assert!(pids.contains(&(pid as u64)));
    assert!(
        pids.len() >= 2,
        "the forked child is a process of its own: {threads:?}"
    );
    assert!(
        threads.len() >= 3,
        "main, late thread and child: {threads:?}"
    );
    // The thread created after attaching was sampled (it runs ~2 s of the 3; the threshold is
    // low because on a heavily loaded machine each thread gets an unpredictable CPU share).
    assert!(total_pct(&v, "late_thread_work") > 1.0, "{}", v["rows"]);
    assert_eq!(row(&v, "parent_spin").unwrap()["module"], "attach");
    // The child exec'd another binary: its samples resolve against that binary.
    let c = row(&v, "child_only_work").expect("child_only_work sampled");
    assert_eq!(c["module"], "child");
    assert!(c["total_pct"].as_f64().unwrap() > 1.0);
    let child_thread = threads
        .iter()
        .find(|t| t["pid"].as_u64() != Some(pid as u64))
        .unwrap();
    let ct = report_json(&data, &["--tid", &child_thread["tid"].to_string()]);
    // Relative to the child's own samples: its start-up (ld.so) is the rest.
    assert!(total_pct(&ct, "child_only_work") > 50.0, "{}", ct["rows"]);
}

#[test]
fn record_launch_follows_forked_child() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "attach");
    let data = dir.path().join("f.data");
    // Without a child binary the forked child runs forked_child_work itself.
    record(&data, &["--", bin.to_str().unwrap(), "2.5"]);
    let v = report_json(&data, &[]);
    let threads = v["threads"].as_array().unwrap();
    let main_pid = threads
        .iter()
        .map(|t| t["pid"].as_u64().unwrap())
        .min()
        .unwrap();
    let child = threads
        .iter()
        .find(|t| t["pid"].as_u64() != Some(main_pid) && t["pid"] == t["tid"])
        .unwrap_or_else(|| panic!("no forked child in {threads:?}"));
    let ct = report_json(&data, &["--tid", &child["tid"].to_string()]);
    assert!(total_pct(&ct, "forked_child_work") > 80.0, "{}", ct["rows"]);
    assert_eq!(row(&ct, "forked_child_work").unwrap()["module"], "attach");
    assert!(total_pct(&v, "late_thread_work") > 5.0);
}

#[test]
fn record_sigint_leaves_valid_file_and_reaches_the_command() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "split");
    let data = dir.path().join("int.data");
    let child = Command::new(rprof_path())
        .arg("record")
        .arg("-o")
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .arg("30")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signalling the rprof process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t0 = Instant::now();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "rprof must stop promptly"
    );
    assert!(err.contains("SIGINT received"), "{err}");
    assert!(
        err.contains("killed by SIGINT"),
        "the command gets the signal: {err}"
    );
    let v = report_json(&data, &[]);
    // About 1.5 s were recorded (far fewer samples when the machine is busy).
    assert!(samples(&v) > 20, "{}", samples(&v));
    assert!(total_pct(&v, "work_sixty") > 25.0);
    assert_eq!(extra(&v, "exit_code").as_deref(), Some("130"));
}

#[test]
fn record_sigint_in_attach_mode_leaves_target_running() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "split");
    let data = dir.path().join("p.data");
    let mut target = Command::new(&bin).arg("6").spawn().unwrap();
    let child = Command::new(rprof_path())
        .arg("record")
        .arg("-o")
        .arg(&data)
        .args(["-p", &target.id().to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signalling the rprof process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(target.try_wait().unwrap().is_none(), "target must survive");
    let v = report_json(&data, &[]);
    assert!(samples(&v) > 20);
    assert!(total_pct(&v, "work_thirty") > 5.0);
    let _ = target.kill();
    let _ = target.wait();
}

#[test]
fn record_exit_status_3_is_reported_and_file_valid() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "inline");
    let data = dir.path().join("e.data");
    let err = record(&data, &["--", bin.to_str().unwrap(), "1"]);
    assert!(err.contains("the command exited with status 3"), "{err}");
    let v = report_json(&data, &[]);
    assert_eq!(extra(&v, "exit_code").as_deref(), Some("3"));
    assert!(samples(&v) > 10);
}

#[test]
fn record_inlined_helper_has_its_own_frame_and_line() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "inline");
    // mix_helper is always_inline: the binary has no symbol for it, so any frame named
    // mix_helper can only come from DWARF inline information.
    let nm = Command::new("nm").arg(&bin).output().unwrap();
    assert!(!String::from_utf8_lossy(&nm.stdout).contains("mix_helper"));
    let src = std::fs::read_to_string(fixture("record/inline.c")).unwrap();
    let line = src
        .lines()
        .position(|l| l.contains("MIX_HELPER_LINE"))
        .unwrap()
        + 1;
    let data = dir.path().join("i.data");
    record(&data, &["--", bin.to_str().unwrap(), "1.5"]);
    let f = folded(&data);
    assert!(f.contains("outer_work;mix_helper"), "{f}");
    let v = report_json(&data, &["--sort", "line"]);
    let want = format!("inline.c:{line}");
    let r = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"].as_str().unwrap_or("").ends_with(&want))
        .unwrap_or_else(|| panic!("no row for {want}: {}", v["rows"]));
    assert!(r["self_pct"].as_f64().unwrap() > 10.0, "{r}");
}

#[test]
fn record_cpp_names_are_demangled() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "cpp");
    let data = dir.path().join("c.data");
    record(&data, &["--", bin.to_str().unwrap(), "1"]);
    let v = report_json(&data, &[]);
    let names: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains("geometry::Crusher::crunch")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.contains("geometry::blend<")),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("_Z")), "{names:?}");
}

#[test]
fn record_rust_names_are_demangled() {
    let _g = serial();
    if !live_ok() || !live("rustc", have("rustc")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("rust_fixture");
    let st = Command::new("rustc")
        .args([
            "-O",
            "-C",
            "debuginfo=2",
            "-C",
            "force-frame-pointers=yes",
            "-o",
        ])
        .arg(&bin)
        .arg(fixture("record/rust_fixture.rs"))
        .status()
        .unwrap();
    assert!(st.success());
    let data = dir.path().join("r.data");
    record(&data, &["--", bin.to_str().unwrap(), "3000"]);
    let v = report_json(&data, &[]);
    assert!(
        total_pct(&v, "rust_fixture::engine::spin_hot") > 50.0,
        "{}",
        v["rows"]
    );
    // A mangled name starts with `_ZN` (legacy) or `_R` and an uppercase tag (v0); a plain
    // substring test would also trip on demangled names that merely contain `_R`.
    for row in v["rows"].as_array().expect("rows") {
        let n = row["name"].as_str().unwrap_or("");
        let v0 = n.starts_with("_R") && n[2..].starts_with(|c: char| c.is_ascii_uppercase());
        assert!(!n.starts_with("_ZN") && !v0, "mangled name in report: {n}");
    }
}

#[test]
fn record_single_thread_with_tid() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "attach");
    let data = dir.path().join("tid.data");
    let mut target = start_ready(&bin, &["3"]);
    let tid = target.id();
    // -t samples only the main thread: neither the late thread nor the child appear.
    record(&data, &["-t", &tid.to_string(), "-d", "2"]);
    let _ = target.wait();
    let v = report_json(&data, &[]);
    let threads = v["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 1, "{threads:?}");
    assert_eq!(threads[0]["tid"].as_u64(), Some(tid as u64));
    assert!(total_pct(&v, "parent_spin") > 80.0);
    assert_eq!(total_pct(&v, "late_thread_work"), 0.0);
}

#[test]
fn record_system_wide_sees_a_busy_process() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "split");
    let mut target = Command::new(&bin).arg("3").spawn().unwrap();
    let data = dir.path().join("sys.data");
    std::thread::sleep(Duration::from_millis(200));
    let err = record(&data, &["-a", "-d", "1.5"]);
    let _ = target.wait();
    assert!(err.contains("processes"), "{err}");
    let v = report_json(&data, &[]);
    // split keeps a CPU busy for the whole recording: a clear share of all samples even when
    // other processes compete for the CPUs.
    assert!(total_pct(&v, "work_sixty") > 0.5, "{}", v["rows"]);
    assert_eq!(row(&v, "work_sixty").unwrap()["module"], "split");
    assert_eq!(v["metadata"]["target"], "system-wide (-a)");
}

#[test]
fn record_no_kernel_and_other_events() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "split");
    let data = dir.path().join("nk.data");
    record(
        &data,
        &[
            "--no-kernel",
            "-e",
            "task-clock",
            "-F",
            "499",
            "--",
            bin.to_str().unwrap(),
            "-n",
            "1000",
        ],
    );
    let v = report_json(&data, &["--sort", "module"]);
    assert_eq!(v["metadata"]["event"], "task-clock");
    assert_eq!(v["metadata"]["frequency"], 499);
    assert!(
        !v["rows"].to_string().contains("kernel"),
        "no kernel frames with --no-kernel: {}",
        v["rows"]
    );
    // About 1 s of CPU at 499 Hz (task-clock counts only while the task runs).
    assert!((250..=750).contains(&samples(&v)), "{}", samples(&v));
    let pf = dir.path().join("pf.data");
    record(
        &pf,
        &["-e", "page-faults", "--", bin.to_str().unwrap(), "0.3"],
    );
    let v = report_json(&pf, &[]);
    assert_eq!(v["metadata"]["event"], "page-faults");
    assert!(samples(&v) > 0);
}

#[test]
fn record_keeps_previous_file_as_old() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "split");
    let data = dir.path().join("rprof.data");
    record(&data, &["--", bin.to_str().unwrap(), "0.3"]);
    let first = std::fs::read(&data).unwrap();
    record(&data, &["--", bin.to_str().unwrap(), "0.3"]);
    let old = dir.path().join("rprof.data.old");
    assert_eq!(std::fs::read(&old).unwrap(), first);
    report_json(&data, &[]);
}

#[test]
fn flamegraph_one_step_records_and_renders() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "split");
    let svg = dir.path().join("fg.svg");
    let out = rprof()
        .current_dir(dir.path())
        .arg("flamegraph")
        .arg("-o")
        .arg(&svg)
        .arg("--")
        .arg(&bin)
        .arg("1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("work_sixty") && text.contains("work_ten"));
}

#[test]
fn record_errors_have_clear_messages() {
    // These fail before any event is opened, so they need no perf_event_open.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("x.data");
    let cases: &[(&[&str], &str)] = &[
        (
            &["-p", "999999999", "-d", "1"],
            "no such process: 999999999",
        ),
        (
            &["--", "rprof-no-such-command-xyz"],
            "command not found: rprof-no-such-command-xyz",
        ),
        (
            &["-e", "bogus", "--", "true"],
            "unknown event `bogus`; `rprof list` shows the events",
        ),
        (
            &["--call-graph", "dwarf,x", "--", "true"],
            "must be a number of bytes",
        ),
        (&[], "nothing to record"),
        (
            &["-F", "100000000", "--", "true"],
            "perf_event_max_sample_rate",
        ),
    ];
    for (args, msg) in cases {
        let out = rprof()
            .arg("record")
            .arg("-o")
            .arg(&data)
            .args(*args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = rprof()
        .args(["record", "-o", "/nonexistent-dir/x.data", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write the output"));
    assert!(!data.exists());
}

#[test]
fn record_attach_several_processes_with_existing_threads() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let threads = build(dir.path(), "threads");
    let split = build(dir.path(), "split");
    // Both already run (threads with its two workers) when rprof attaches to the two pids:
    // the events of every existing thread share one ring buffer per CPU.
    let mut a = Command::new(&threads).arg("10").spawn().unwrap();
    let mut b = Command::new(&split).arg("10").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let data = dir.path().join("multi.data");
    let pids = format!("{},{}", a.id(), b.id());
    record(&data, &["-p", &pids, "-d", "1.5"]);
    let v = report_json(&data, &[]);
    assert_eq!(v["metadata"]["target"], format!("pid {pids}"));
    let threads_seen = v["threads"].as_array().unwrap();
    let procs: std::collections::HashSet<u64> = threads_seen
        .iter()
        .map(|t| t["pid"].as_u64().unwrap())
        .collect();
    assert!(procs.contains(&(a.id() as u64)) && procs.contains(&(b.id() as u64)));
    for f in ["alpha_work", "beta_work", "work_sixty"] {
        assert!(total_pct(&v, f) > 5.0, "{f}: {}", v["rows"]);
    }
    for c in [&mut a, &mut b] {
        assert!(c.try_wait().unwrap().is_none(), "targets keep running");
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[test]
fn record_jit_code_is_named_through_perf_map() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path(), "jit");
    let data = dir.path().join("jit.data");
    record(&data, &["--", bin.to_str().unwrap(), "1"]);
    let v = report_json(&data, &[]);
    // The fixture leaves /tmp/perf-PID.map behind for rprof; clean it up.
    for t in v["threads"].as_array().unwrap() {
        let _ = std::fs::remove_file(format!("/tmp/perf-{}.map", t["pid"]));
    }
    let r = row(&v, "jit_spin_loop").unwrap_or_else(|| panic!("{}", v["rows"]));
    assert!(r["self_pct"].as_f64().unwrap() > 80.0, "{r}");
    assert_eq!(r["module"], "[jit]");
}

/// Runs rprof as user `nobody` (root drops privileges with setpriv), from a copy of the
/// binary in a world-readable temporary directory.
fn as_nobody(dir: &Path, args: &[&str]) -> std::process::Output {
    let bin = dir.join("rprof");
    std::fs::copy(rprof_path(), &bin).unwrap();
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn record_permission_errors_explain_the_fix() {
    let _g = serial();
    let paranoid: i32 = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(-1);
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !live_ok() || !root || paranoid < 2 || have("setpriv").is_err() {
        skip("recording as another user needs root, setpriv and perf_event_paranoid >= 2");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let bin = build(dir.path(), "split");
    // System-wide needs privileges: the error names the setting and the fix.
    let out = as_nobody(dir.path(), &["record", "-a", "-d", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("perf_event_paranoid is {paranoid}")),
        "{err}"
    );
    assert!(err.contains("sysctl kernel.perf_event_paranoid=1"), "{err}");
    assert!(err.contains("CAP_PERFMON"), "{err}");
    // Another user's process.
    let out = as_nobody(dir.path(), &["record", "-p", "1", "-d", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("belongs to another user"), "{err}");
    // Its own command: recorded without kernel frames, with a note.
    let out = as_nobody(
        dir.path(),
        &[
            "record",
            "-o",
            "own.data",
            "--",
            bin.to_str().unwrap(),
            "-n",
            "300",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("kernel frames are not permitted"), "{err}");
    let v = report_json(&dir.path().join("own.data"), &[]);
    assert!(total_pct(&v, "work_sixty") > 40.0);
}
