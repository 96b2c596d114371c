//! Live tests of what `--off-cpu` says about *why* a thread was off the CPU.
//!
//! fixtures/offcpu/vfork.c: a parent waits for its vfork child (0.5 s), an uninterruptible
//! wait the kernel reports as `D`; the child sleeps (`S`).
//! fixtures/offcpu/preempt.c: two threads compute side by side on one CPU for 1 s, so they
//! are preempted a hundred times or more without ever blocking: `--off-cpu` leaves those runqueue
//! waits out, and says so, instead of counting their switch-ins as waits it could not
//! attribute.
//!
//! Skips only when perf_event_open or the sched_switch tracepoint is unavailable (fails then
//! under RPROF_REQUIRE_LIVE=1).

mod common;

use std::path::{Path, PathBuf};

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

/// Records `bin` with `rprof record --off-cpu`, asserting success; returns the data file and
/// rprof's stderr.
fn record_off_cpu(dir: &Path, bin: &Path) -> (PathBuf, String) {
    let data = dir.join("off.data");
    let out = rprof()
        .args(["record", "--off-cpu", "-o"])
        .arg(&data)
        .arg("--")
        .arg(bin)
        .output()
        .expect("runs rprof");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "rprof record failed: {err}");
    (data, err)
}

/// Per-thread folded stacks: (thread label, stack, weight in ns).
fn folded(data: &Path) -> Vec<(String, String, u64)> {
    folded_per_thread(data)
        .into_iter()
        .map(|(thread, frames, w)| (thread, frames.join(";"), w))
        .collect()
}

/// The figure just before `phrase` in the summary (`1,234 switch-ins ...`).
fn count_before(err: &str, phrase: &str) -> Option<u64> {
    let line = err.lines().find(|l| l.contains(phrase))?;
    let before = &line[..line.find(phrase)?];
    before
        .split_whitespace()
        .next_back()?
        .replace(',', "")
        .parse()
        .ok()
}

#[test]
fn a_vfork_parent_waits_in_d_state_and_its_child_sleeps_in_s() {
    if !facilities() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "offcpu/vfork.c", "ocvfork");
    let (data, err) = record_off_cpu(dir.path(), &bin);
    let lines = folded(&data);
    // The parent: an uninterruptible wait, in the vfork system call, for the child's 0.5 s.
    let d: Vec<&(String, String, u64)> = lines
        .iter()
        .filter(|(_, s, _)| s.ends_with(";[off-cpu: D]"))
        .collect();
    let d_ns: u64 = d.iter().map(|x| x.2).sum();
    assert!(
        (0.45e9..0.75e9).contains(&(d_ns as f64)),
        "D time {d_ns} ns\n{lines:#?}"
    );
    assert!(
        d.iter()
            .all(|(t, s, _)| t.starts_with("ocvfork-") && s.contains("vfork")),
        "{d:#?}"
    );
    // The child: a sleep, in its own thread, with its own stack.
    let s_child: Vec<&(String, String, u64)> = lines
        .iter()
        .filter(|(_, s, _)| s.contains("do_nanosleep") && s.ends_with(";[off-cpu: S]"))
        .collect();
    assert!(
        s_child
            .iter()
            .all(|(t, s, _)| d.iter().all(|x| &x.0 != t) && s.contains("wait_for_child")),
        "{lines:#?}"
    );
    let s_ns: u64 = s_child.iter().map(|x| x.2).sum();
    assert!(
        (0.45e9..0.75e9).contains(&(s_ns as f64)),
        "S time {s_ns} ns"
    );
    // The summary's per-state totals name D.
    assert!(
        err.lines()
            .any(|l| l.contains("ocvfork-") && l.contains("[D 0.")),
        "{err}"
    );
}

#[test]
fn preemptions_are_left_out_of_off_cpu_and_said_so() {
    if !facilities() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "offcpu/preempt.c", "ocpreempt");
    let (data, err) = record_off_cpu(dir.path(), &bin);
    let lines = folded(&data);
    // No runqueue wait in the profile: the spinning functions never block.
    assert!(
        !lines
            .iter()
            .any(|(_, s, _)| s.contains("spin_a") || s.contains("spin_b")),
        "{lines:#?}"
    );
    // The main thread blocked in pthread_join meanwhile (the threads compute for 1 s of wall
    // time, shared CPU or not).
    let joined: u64 = lines
        .iter()
        .filter(|(_, s, _)| s.contains("main;") && s.ends_with(";[off-cpu: S]"))
        .map(|x| x.2)
        .sum();
    assert!(joined as f64 > 0.9e9, "{joined} ns\n{lines:#?}");
    // Two threads sharing a CPU for a second are preempted many times: each preemption
    // is counted as left out, not as a switch-in with no switch-out (the old summary counted
    // every one of them as a wait it could not attribute).
    let left_out = count_before(&err, " waits for a CPU after a preemption left out")
        .unwrap_or_else(|| panic!("no runqueue line in the summary\n{err}"));
    assert!(left_out >= 50, "{left_out} preemptions\n{err}");
    let unexplained = count_before(&err, " switch-ins with no switch-out seen")
        .unwrap_or_else(|| panic!("no switch-in figure in the summary\n{err}"));
    // The new threads' first runs, and a switch-in or two whose record was lost.
    assert!(
        unexplained <= 6,
        "{unexplained} switch-ins unexplained, {left_out} preemptions\n{err}"
    );
}
