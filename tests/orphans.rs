//! A command rprof launched must not outlive an rprof killed with SIGKILL (issue 18, item 8):
//! `record`, `strace-summary` (both backends) and `massif` (valgrind) each launch `sleep 30`,
//! rprof is SIGKILLed once the command runs, and the command must be gone within two seconds.
//! On the old code the `sleep` kept running for its 30 s, re-parented to init.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{have, live, perf_event_check, rprof_path};

/// Direct children of `pid`, from /proc/*/stat (the PPid field).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| stat_field(*p, 1).and_then(|v| v.parse().ok()) == Some(pid))
        .collect()
}

/// Field `n` after the comm of /proc/PID/stat (0: state, 1: ppid).
fn stat_field(pid: u32, n: usize) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = s.rsplit_once(')')?;
    rest.split_whitespace().nth(n).map(str::to_string)
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Running: exists and is not a zombie (a re-parented zombie waits for whoever reaps it; its
/// program no longer runs).
fn running(pid: u32) -> bool {
    matches!(stat_field(pid, 0).as_deref(), Some(s) if s != "Z" && s != "X")
}

/// Starts rprof with `args`, waits until its child runs a program other than rprof (the
/// command, or valgrind), SIGKILLs rprof and checks that the child is gone within 2 s.
fn killed_rprof_leaves_no_command(args: &[&str], dir: &Path) {
    let mut rp: Child = Command::new(rprof_path())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rprof");
    let rpid = rp.id();
    let started = Instant::now();
    let child = loop {
        let found = children_of(rpid)
            .into_iter()
            .find(|&c| running(c) && comm(c) != "rprof");
        if let Some(c) = found {
            break c;
        }
        if let Ok(Some(st)) = rp.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = rp.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("rprof {args:?} ended ({st}) before its command ran: {err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "rprof {args:?}: no command started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // Let the command settle into its run (valgrind takes a moment to start the program).
    std::thread::sleep(Duration::from_millis(300));
    assert!(running(child), "{args:?}: the command ended by itself");
    rp.kill().expect("SIGKILL rprof");
    let _ = rp.wait();
    let killed = Instant::now();
    while running(child) && killed.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let still = running(child);
    if still {
        // Do not leave it behind for the next test.
        // SAFETY: kill with a pid we just observed.
        unsafe { libc::kill(child as i32, libc::SIGKILL) };
    }
    assert!(
        !still,
        "rprof {args:?}: `{}` (pid {child}) still running 2 s after rprof was killed",
        comm(child)
    );
}

#[test]
fn record_command_dies_with_rprof() {
    if !live("perf_event_open", perf_event_check()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    killed_rprof_leaves_no_command(&["record", "-o", "x.data", "--", "sleep", "30"], dir.path());
}

#[test]
fn strace_summary_command_dies_with_rprof() {
    let dir = tempfile::tempdir().expect("tmp");
    // The ptrace backend needs only ptrace; the default one needs tracepoints.
    killed_rprof_leaves_no_command(
        &["strace-summary", "--backend", "ptrace", "--", "sleep", "30"],
        dir.path(),
    );
    if !live("perf_event_open", perf_event_check()) {
        return;
    }
    killed_rprof_leaves_no_command(&["strace-summary", "--", "sleep", "30"], dir.path());
}

#[test]
fn massif_valgrind_dies_with_rprof() {
    if !live("valgrind", have("valgrind")) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    killed_rprof_leaves_no_command(&["massif", "--", "sleep", "30"], dir.path());
}
