//! Live tests of `--off-cpu` and `--wall` against programs with known waits.
//!
//! fixtures/offcpu/wall.c: the main thread computes for 1 s of wall time in `compute`, sleeps
//! 2 s in `wait_for_timer` (nanosleep) and blocks about 1 s in `wait_for_data` on a pipe that
//! the `writer` thread fills after a 1 s sleep: 25/50/25 of the main thread's wall time.
//! fixtures/offcpu/futex.c: `holder` keeps a mutex for 1 s, `waiter` blocks on it meanwhile.
//!
//! Skips only when perf_event_open or the sched_switch tracepoint is unavailable (fails then
//! under RPROF_REQUIRE_LIVE=1).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// Whether the sched:sched_switch tracepoint can be found (tracefs mounted, or mountable by
/// rprof as root).
fn tracepoint_check() -> Result<(), String> {
    let mounted = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .any(|r| Path::new(r).join("events/sched/sched_switch/id").exists());
    // SAFETY: geteuid has no preconditions.
    if mounted || unsafe { libc::geteuid() } == 0 {
        Ok(())
    } else {
        Err("the sched:sched_switch tracepoint is not readable (tracefs, root)".into())
    }
}

fn facilities() -> bool {
    live("perf_event_open", perf_event_check()) && live("sched_switch", tracepoint_check())
}

fn build(dir: &Path, src: &str, name: &str) -> PathBuf {
    compile(
        src,
        dir,
        name,
        &["-O1", "-g", "-fno-omit-frame-pointer", "-pthread"],
    )
}

/// Runs rprof with `args`, asserting success; returns stderr.
fn rprof_ok(args: &[&str]) -> String {
    let out = rprof().args(args).output().expect("runs rprof");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "rprof {args:?} failed: {err}");
    err
}

/// Per-thread folded stacks of a data file: (thread label, stack, weight).
fn folded(data: &Path) -> Vec<(String, String, u64)> {
    folded_per_thread(data)
        .into_iter()
        .map(|(thread, frames, w)| (thread, frames.join(";"), w))
        .collect()
}

fn has_frame(stack: &str, f: &str) -> bool {
    stack.split(';').any(|x| x == f)
}

/// Sum of the weights of `thread`'s stacks (label prefix `name-`) holding frame `f` (any
/// frame when None).
fn weight(lines: &[(String, String, u64)], thread: &str, f: Option<&str>) -> u64 {
    lines
        .iter()
        .filter(|(t, s, _)| {
            t.starts_with(&format!("{thread}-")) && f.is_none_or(|f| has_frame(s, f))
        })
        .map(|x| x.2)
        .sum()
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

#[test]
fn wall_clock_shares_of_the_main_thread_are_25_50_25() {
    if !facilities() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "offcpu/wall.c", "ocwall");
    let data = dir.path().join("wall.data");
    let err = rprof_ok(&[
        "record",
        "--wall",
        "-o",
        data.to_str().unwrap(),
        "--",
        bin.to_str().unwrap(),
    ]);
    let lines = folded(&data);
    let total = weight(&lines, "ocwall", None);
    // The main thread lives a little over 4 s: its weights add up to its wall time.
    assert!(
        (3.9..4.6).contains(&secs(total)),
        "main thread total {} s\n{lines:#?}",
        secs(total)
    );
    let share = |f| weight(&lines, "ocwall", Some(f)) as f64 * 100.0 / total as f64;
    for (f, want) in [
        ("compute", 25.0),
        ("wait_for_timer", 50.0),
        ("wait_for_data", 25.0),
    ] {
        let got = share(f);
        assert!(
            (got - want).abs() <= 3.0,
            "{f}: {got:.1}% of the main thread's wall time, want {want}% ± 3\n{lines:#?}"
        );
    }
    // The blocking kernel path is in the stack, under the user frames that blocked, and the
    // leaf tells the state.
    let timer: Vec<&String> = lines
        .iter()
        .filter(|(_, s, _)| has_frame(s, "wait_for_timer"))
        .map(|x| &x.1)
        .collect();
    assert!(
        timer.iter().any(|s| has_frame(s, "do_nanosleep")
            && has_frame(s, "schedule")
            && s.ends_with(";[off-cpu: S]")),
        "{timer:#?}"
    );
    let data_wait: Vec<&String> = lines
        .iter()
        .filter(|(_, s, _)| has_frame(s, "wait_for_data"))
        .map(|x| &x.1)
        .collect();
    assert!(
        data_wait
            .iter()
            .any(|s| s.contains("pipe_read;") && s.ends_with(";[off-cpu: S]")),
        "{data_wait:#?}"
    );
    // On-CPU samples are there too, and in the same unit.
    assert!(lines
        .iter()
        .any(|(_, s, w)| s.ends_with(";compute") && *w > 0));
    // The writer thread slept 1 s before writing.
    let writer = weight(&lines, "writer", Some("late_writer"));
    assert!(
        (0.95..1.2).contains(&secs(writer)),
        "writer {}",
        secs(writer)
    );
    // The summary has per-thread totals and the switch figures.
    assert!(err.contains("lost switch events"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("ocwall-") && l.contains("on-CPU") && l.contains("off-CPU")),
        "{err}"
    );
    // The report header says the mode.
    let out = rprof().arg("report").arg(&data).output().expect("report");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("# event: wall (weight: ns)"), "{text}");
    assert!(text.contains("# mode: wall-clock"), "{text}");
    // Two wall-clock profiles diff like any others.
    let again = dir.path().join("wall2.data");
    rprof_ok(&[
        "record",
        "--wall",
        "-o",
        again.to_str().unwrap(),
        "--",
        bin.to_str().unwrap(),
    ]);
    let diff_svg = dir.path().join("diff.svg");
    let out = rprof()
        .arg("diff")
        .arg(&data)
        .arg(&again)
        .arg("-o")
        .arg(&diff_svg)
        .output()
        .expect("diff");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&diff_svg).expect("diff svg");
    assert!(svg.contains("wait_for_timer"));
}

#[test]
fn off_cpu_alone_has_the_waits_and_no_compute() {
    if !facilities() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "offcpu/wall.c", "ocoff");
    let data = dir.path().join("off.data");
    rprof_ok(&[
        "record",
        "--off-cpu",
        "-o",
        data.to_str().unwrap(),
        "--",
        bin.to_str().unwrap(),
    ]);
    let lines = folded(&data);
    assert!(
        !lines.iter().any(|(_, s, _)| s.contains("compute")),
        "{lines:#?}"
    );
    assert!(lines
        .iter()
        .all(|(_, s, _)| s.rsplit(';').next().unwrap().starts_with("[off-cpu: ")));
    let timer = secs(weight(&lines, "ocoff", Some("wait_for_timer")));
    let data_wait = secs(weight(&lines, "ocoff", Some("wait_for_data")));
    assert!((1.95..2.2).contains(&timer), "timer {timer}\n{lines:#?}");
    assert!(
        (0.95..1.2).contains(&data_wait),
        "data {data_wait}\n{lines:#?}"
    );
}

#[test]
fn min_block_folds_shorter_waits_without_their_stacks() {
    if !facilities() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "offcpu/wall.c", "ocmin");
    let data = dir.path().join("min.data");
    rprof_ok(&[
        "record",
        "--off-cpu",
        "--min-block",
        "1.5s",
        "-o",
        data.to_str().unwrap(),
        "--",
        bin.to_str().unwrap(),
    ]);
    let lines = folded(&data);
    // The 2 s sleep keeps its stack; the 1 s pipe wait is folded, its time kept.
    assert!(secs(weight(&lines, "ocmin", Some("wait_for_timer"))) > 1.9);
    assert_eq!(
        weight(&lines, "ocmin", Some("wait_for_data")),
        0,
        "{lines:#?}"
    );
    let short = secs(weight(&lines, "ocmin", Some("[off-cpu: short waits]")));
    assert!((0.95..1.2).contains(&short), "{short}\n{lines:#?}");
}

#[test]
fn futex_lock_wait_is_in_the_waiting_thread() {
    if !facilities() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "offcpu/futex.c", "ocfutex");
    let data = dir.path().join("futex.data");
    rprof_ok(&[
        "record",
        "--off-cpu",
        "-o",
        data.to_str().unwrap(),
        "--",
        bin.to_str().unwrap(),
    ]);
    let lines = folded(&data);
    let lock_wait: Vec<&(String, String, u64)> = lines
        .iter()
        .filter(|(_, s, _)| has_frame(s, "wait_for_lock") && s.contains("futex_wait"))
        .collect();
    assert!(!lock_wait.is_empty(), "{lines:#?}");
    assert!(lock_wait.iter().all(|(t, _, _)| t.starts_with("waiter-")));
    let waited = secs(lock_wait.iter().map(|x| x.2).sum());
    assert!((0.9..1.3).contains(&waited), "{waited}\n{lines:#?}");
    // The holder slept with the lock held: its wait is a sleep, not the lock.
    assert_eq!(weight(&lines, "holder", Some("wait_for_lock")), 0);
    assert!(secs(weight(&lines, "holder", Some("hold_lock"))) > 0.95);
}

#[test]
fn one_step_flamegraph_draws_waits_in_blue() {
    if !facilities() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "offcpu/wall.c", "ocsvg");
    let svg = dir.path().join("wall.svg");
    rprof_ok(&[
        "flamegraph",
        "--wall",
        "-o",
        svg.to_str().unwrap(),
        "--",
        bin.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&svg).expect("svg");
    let g = |name: &str| {
        text.split("<g")
            .find(|g| g.contains(&format!("<title>{name} (")))
            .unwrap_or_else(|| panic!("no {name} frame"))
            .to_string()
    };
    // wait_for_timer can also be caught on the CPU for a sample (entering its sleep), which
    // draws a second, ordinary frame of that name: one of its frames must be the off-CPU one.
    let any_off_cpu = |name: &str| {
        text.split("<g")
            .filter(|g| g.contains(&format!("<title>{name} (")))
            .any(|g| g.contains("class=\"off-cpu\""))
    };
    assert!(
        any_off_cpu("wait_for_timer"),
        "no off-CPU wait_for_timer frame"
    );
    assert!(g("[off-cpu: S]").contains("class=\"off-cpu\""));
    assert!(!g("compute").contains("off-cpu"));
    assert!(text.contains("wall-clock time"), "subtitle");
}

/// Starts the fixture, waits until it is in `compute`, and gives its pid.
fn start(bin: &Path) -> std::process::Child {
    let child = Command::new(bin).spawn().expect("starts");
    std::thread::sleep(Duration::from_millis(300));
    child
}

#[test]
fn attach_to_a_process_or_one_thread() {
    if !facilities() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "offcpu/wall.c", "ocattach");
    for (flag, writer_expected) in [("-p", true), ("-t", false)] {
        let mut child = start(&bin);
        let pid = child.id().to_string();
        let data = dir.path().join("attach.data");
        rprof_ok(&[
            "record",
            "--off-cpu",
            flag,
            &pid,
            "-o",
            data.to_str().unwrap(),
        ]);
        let _ = child.wait();
        let lines = folded(&data);
        let timer = secs(weight(&lines, "ocattach", Some("wait_for_timer")));
        assert!((1.95..2.2).contains(&timer), "{flag}: {timer}\n{lines:#?}");
        // -p follows the thread created after attaching; -t only the one thread.
        let writer = weight(&lines, "writer", None);
        assert_eq!(writer > 0, writer_expected, "{flag}\n{lines:#?}");
    }
}

#[test]
fn system_wide_sees_the_program_waits() {
    if !facilities() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "offcpu/wall.c", "ocsystem");
    let mut child = start(&bin);
    let data = dir.path().join("system.data");
    rprof_ok(&[
        "record",
        "--off-cpu",
        "-a",
        "-d",
        "4.5",
        "-o",
        data.to_str().unwrap(),
    ]);
    let _ = child.wait();
    let lines = folded(&data);
    let timer = secs(weight(&lines, "ocsystem", Some("wait_for_timer")));
    assert!((1.95..2.2).contains(&timer), "{timer}");
    assert!(secs(weight(&lines, "writer", Some("late_writer"))) > 0.95);
}

#[test]
fn bad_flag_combinations_are_refused() {
    for (args, msg) in [
        (
            &["record", "--off-cpu", "-e", "cpu-clock", "--", "true"][..],
            "-e and -c do not apply",
        ),
        (
            &["record", "--wall", "-e", "page-faults", "--", "true"][..],
            "must be a clock",
        ),
        (
            &["record", "--off-cpu", "--min-block", "5", "--", "true"][..],
            "give a unit",
        ),
        (
            &["record", "--min-block", "1ms", "--", "true"][..],
            "--min-block applies to --off-cpu and --wall",
        ),
    ] {
        let out = rprof().args(args).output().expect("runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    let out = rprof()
        .args(["record", "--off-cpu", "--wall", "--", "true"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn children_of_a_launched_command_are_followed() {
    if !facilities() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("children.data");
    // The shell forks two children that sleep 0.5 s and 0.7 s; the shell waits for each.
    rprof_ok(&[
        "record",
        "--off-cpu",
        "-o",
        data.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "sleep 0.5; sleep 0.7; true",
    ]);
    let lines = folded(&data);
    let mut sleeps: Vec<f64> = lines
        .iter()
        .filter(|(t, s, _)| t.starts_with("sleep-") && s.contains("nanosleep"))
        .map(|(t, _, _)| t.clone())
        .collect::<std::collections::BTreeSet<String>>()
        .into_iter()
        .map(|t| {
            secs(
                lines
                    .iter()
                    .filter(|x| x.0 == t && x.1.contains("nanosleep"))
                    .map(|x| x.2)
                    .sum(),
            )
        })
        .collect();
    sleeps.sort_by(f64::total_cmp);
    assert_eq!(sleeps.len(), 2, "{lines:#?}");
    assert!((0.49..0.65).contains(&sleeps[0]), "{sleeps:?}");
    assert!((0.69..0.85).contains(&sleeps[1]), "{sleeps:?}");
    // The shell itself waited for them.
    assert!(secs(weight(&lines, "sh", None)) > 1.1, "{lines:#?}");
}
