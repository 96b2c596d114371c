//! Live tests of `rprof strace-summary`: a deterministic two-thread fixture traced with both
//! backends, launched and attached, with exact counts; attach + SIGINT leaving the target
//! running untraced; clear errors for missing PIDs and commands.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Whether the raw_syscalls tracepoints can be used: perf_event_open works and tracefs is
/// mounted and readable. As root, rprof mounts a missing tracefs itself, and so does this
/// check (through the same function).
fn tracepoints_check() -> Result<(), String> {
    perf_event_check()?;
    let root = rprof::strace::tracefs::ensure_tracefs().map_err(|e| format!("{e:#}"))?;
    std::fs::read_to_string(root.join("events/raw_syscalls/sys_enter/id"))
        .map(|_| ())
        .map_err(|e| format!("raw_syscalls tracepoints not readable: {e}"))
}

/// Gate for a backend: perf needs the tracepoints; ptrace needs nothing more than the tests
/// already assume.
fn backend_live(backend: &str) -> bool {
    backend != "perf" || live("raw_syscalls tracepoints", tracepoints_check())
}

/// Per-thread iterations of the fixture: writes = 2N, getppid = N, failing open = N/5.
const N: u64 = 3000;

fn fixture_bin(dir: &Path) -> PathBuf {
    compile("strace/mix.c", dir, "mix", &["-O2"])
}

/// syscall name -> (calls, errors) of the first table of a JSON summary.
fn counts(json: &str) -> std::collections::HashMap<String, (u64, u64)> {
    let v: Value = serde_json::from_str(json).expect("valid JSON");
    let rows = v["tables"][0]["syscalls"].as_array().expect("rows").clone();
    rows.into_iter()
        .map(|r| {
            (
                r["syscall"].as_str().unwrap_or("").to_string(),
                (
                    r["calls"].as_u64().unwrap_or(0),
                    r["errors"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

fn assert_mix(json: &str, what: &str) {
    let c = counts(json);
    assert_eq!(c.get("write"), Some(&(2 * N, 0)), "{what}: write\n{json}");
    assert_eq!(c.get("getppid"), Some(&(N, 0)), "{what}: getppid\n{json}");
    assert_eq!(c.get("open"), Some(&(N / 5, N / 5)), "{what}: open\n{json}");
    let v: Value = serde_json::from_str(json).expect("json");
    let open = v["tables"][0]["syscalls"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["syscall"] == "open"))
        .cloned()
        .expect("open row");
    assert_eq!(open["error_codes"]["ENOENT"], N / 5, "{what}: ENOENT count");
    assert_eq!(v["lost_events"], 0, "{what}: lost events");
}

fn launched(backend: &str, extra: &[&str]) {
    if !backend_live(backend) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = fixture_bin(dir.path());
    let mut args = vec!["strace-summary", "--format", "json", "--backend", backend];
    args.extend_from_slice(extra);
    let n = N.to_string();
    args.extend_from_slice(&["--", bin.to_str().expect("utf8 path"), &n]);
    let out = rprof().args(&args).output().expect("run rprof");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rprof failed: {stderr}");
    assert!(
        stderr.contains(&format!("with the {backend}")),
        "backend named: {stderr}"
    );
    assert!(stderr.contains("exited with status 0"), "{stderr}");
    assert_mix(
        &String::from_utf8_lossy(&out.stdout),
        &format!("launch {backend} {extra:?}"),
    );
}

#[test]
fn strace_launch_perf_exact_counts() {
    launched("perf", &[]);
}

#[test]
fn strace_launch_perf_counts_only_exact_counts() {
    launched("perf", &["--counts-only"]);
}

#[test]
fn strace_launch_ptrace_exact_counts() {
    launched("ptrace", &[]);
}

#[test]
fn strace_launch_ptrace_counts_only_exact_counts() {
    launched("ptrace", &["--counts-only"]);
}

#[test]
fn strace_launch_auto_says_backend() {
    if !live("raw_syscalls tracepoints", tracepoints_check()) {
        return;
    }
    let out = rprof()
        .args(["strace-summary", "--", "true"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The in-kernel backend is the default where BPF loads; else the tracepoints, saying why.
    assert!(
        stderr.contains("with the bpf backend")
            || (stderr.contains("the bpf backend is unavailable")
                && stderr.contains("with the perf backend")),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("wall-clock latency"), "{stdout}");
    assert!(stdout.contains("exit_group"), "{stdout}");
}

#[test]
fn strace_launch_reports_exit_status() {
    let out = rprof()
        .args([
            "strace-summary",
            "--backend",
            "ptrace",
            "--",
            "sh",
            "-c",
            "exit 3",
        ])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("exited with status 3"), "{stderr}");
}

/// Starts the fixture in "wait" mode and rprof attached to it; returns both once rprof says
/// it is tracing.
fn attach(
    backend: &str,
    dir: &Path,
    extra: &[&str],
) -> (Child, Child, BufReader<std::process::ChildStderr>) {
    let bin = fixture_bin(dir);
    let target = Command::new(&bin)
        .args([N.to_string().as_str(), "wait"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("start fixture");
    let pid = target.id().to_string();
    let mut args = vec![
        "strace-summary",
        "--format",
        "json",
        "--backend",
        backend,
        "-p",
        &pid,
    ];
    args.extend_from_slice(extra);
    let mut tracer = Command::new(rprof_path())
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rprof");
    let mut err = BufReader::new(tracer.stderr.take().expect("stderr"));
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        line.clear();
        if err.read_line(&mut line).unwrap_or(0) == 0 || Instant::now() > deadline {
            panic!("rprof did not start tracing (last line: {line:?})");
        }
        if line.contains("tracing pid") {
            break;
        }
    }
    (target, tracer, err)
}

fn finish(
    mut tracer: Child,
    mut err: BufReader<std::process::ChildStderr>,
) -> (bool, String, String) {
    let mut out = String::new();
    std::io::Read::read_to_string(tracer.stdout.as_mut().expect("stdout"), &mut out).expect("read");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).expect("read");
    let st = tracer.wait().expect("wait rprof");
    (st.success(), out, rest)
}

fn attached(backend: &str, extra: &[&str]) {
    if !backend_live(backend) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut target, tracer, err) = attach(backend, dir.path(), extra);
    // Both bytes at once: the fixture works, then exits, and rprof stops with it.
    target
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"xy")
        .expect("release fixture");
    let (ok, out, rest) = finish(tracer, err);
    assert!(ok, "rprof failed: {rest}");
    assert!(rest.contains("target exited"), "{rest}");
    assert!(target.wait().expect("wait").success());
    assert_mix(
        &out,
        &format!("attach {backend} {extra:?} (stderr: {rest})"),
    );
}

#[test]
fn strace_attach_perf_exact_counts() {
    attached("perf", &[]);
}

#[test]
fn strace_attach_perf_counts_only_exact_counts() {
    attached("perf", &["--counts-only"]);
}

#[test]
fn strace_attach_ptrace_exact_counts() {
    attached("ptrace", &[]);
}

#[test]
fn strace_attach_ptrace_counts_only_exact_counts() {
    attached("ptrace", &["--counts-only"]);
}

fn tracer_pid(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:").map(|v| v.trim().to_string()))
}

fn sigint_leaves_target_running(backend: &str) {
    if !backend_live(backend) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut target, tracer, err) = attach(backend, dir.path(), &[]);
    let stdin = target.stdin.as_mut().expect("stdin");
    stdin.write_all(b"x").expect("start work");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling the rprof child we started.
    unsafe { libc::kill(tracer.id() as i32, libc::SIGINT) };
    let (ok, out, rest) = finish(tracer, err);
    assert!(ok, "rprof failed after SIGINT: {rest}");
    assert!(rest.contains("stopped by SIGINT"), "{rest}");
    let v: Value = serde_json::from_str(&out).expect("summary printed as JSON");
    assert!(!v["tables"][0]["syscalls"]
        .as_array()
        .expect("rows")
        .is_empty());
    // The target is alive, no longer traced, and finishes normally.
    assert_eq!(tracer_pid(target.id()).as_deref(), Some("0"));
    assert!(
        target.try_wait().expect("try_wait").is_none(),
        "fixture died"
    );
    target
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"y")
        .expect("finish");
    let st = target.wait().expect("wait fixture");
    assert!(st.success(), "fixture exit: {st:?}");
}

#[test]
fn strace_sigint_perf_target_survives() {
    sigint_leaves_target_running("perf");
}

#[test]
fn strace_sigint_ptrace_target_survives() {
    sigint_leaves_target_running("ptrace");
}

#[test]
fn strace_duration_and_per_thread_names() {
    if !live("raw_syscalls tracepoints", tracepoints_check()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut target, tracer, err) = attach("perf", dir.path(), &["-d", "1", "--per-thread"]);
    target
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"x")
        .expect("start");
    let (ok, out, rest) = finish(tracer, err);
    assert!(ok, "{rest}");
    assert!(rest.contains("duration (-d) elapsed"), "{rest}");
    let v: Value = serde_json::from_str(&out).expect("json");
    let tables = v["tables"].as_array().expect("tables");
    assert!(tables.len() >= 3, "main thread and two workers: {out}");
    assert!(tables.iter().all(|t| t["name"] == "mix"), "{out}");
    target
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"y")
        .expect("finish");
    assert!(target.wait().expect("wait").success());
}

#[test]
fn strace_no_such_pid() {
    let out = rprof()
        .args(["strace-summary", "-p", "999999999"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.starts_with("rprof: no such process: 999999999"), "{e}");
}

#[test]
fn strace_no_such_command() {
    for backend in ["perf", "ptrace"] {
        if !backend_live(backend) {
            continue;
        }
        let out = rprof()
            .args([
                "strace-summary",
                "--backend",
                backend,
                "--",
                "/nonexistent/rprof-cmd",
            ])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{backend}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(
            e.contains("rprof: command not found: /nonexistent/rprof-cmd"),
            "{e}"
        );
        assert!(!e.contains("panicked"), "{e}");
    }
}

#[test]
fn strace_nothing_to_trace() {
    let out = rprof().args(["strace-summary"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to trace"));
}

/// Runs rprof as the unprivileged user `nobody` (root only: otherwise skipped).
fn as_nobody(args: &[&str]) -> Option<std::process::Output> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || have("setpriv").is_err() {
        common::skip("needs root and setpriv to drop privileges");
        return None;
    }
    Some(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(rprof_path())
            .args(args)
            .current_dir("/")
            .output()
            .expect("run setpriv"),
    )
}

#[test]
fn strace_unprivileged_perf_says_why_and_auto_falls_back() {
    let Some(out) = as_nobody(&["strace-summary", "--backend", "perf", "--", "/bin/true"]) else {
        return;
    };
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.starts_with("rprof: "), "{e}");
    assert!(
        e.contains("permission denied")
            || e.contains("perf_event_paranoid")
            || e.contains("tracefs is not mounted"),
        "{e}"
    );
    assert!(e.contains("--backend ptrace"), "the fix is suggested: {e}");
    let Some(out) = as_nobody(&["strace-summary", "--format", "json", "--", "/bin/true"]) else {
        return;
    };
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    assert!(e.contains("using the ptrace backend"), "{e}");
    assert!(e.contains("with the ptrace backend"), "{e}");
}

#[test]
fn strace_unprivileged_ptrace_attach_denied() {
    // pid 1 belongs to root: an unprivileged ptrace attach must fail with the fix.
    let Some(out) = as_nobody(&["strace-summary", "--backend", "ptrace", "-p", "1"]) else {
        return;
    };
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("permission denied attaching to 1"), "{e}");
    assert!(e.contains("CAP_SYS_PTRACE"), "{e}");
}

#[test]
fn strace_lost_events_are_reported() {
    if !live("raw_syscalls tracepoints", tracepoints_check()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = fixture_bin(dir.path());
    // A one-page ring cannot hold a busy second of syscalls: the kernel must drop records,
    // and rprof must say so rather than print a plausible, silently short table.
    let out = rprof()
        .env("RPROF_STRACE_RING_PAGES", "1")
        .args([
            "strace-summary",
            "--backend",
            "perf",
            "--format",
            "json",
            "--",
        ])
        .arg(&bin)
        .arg("100000")
        .output()
        .expect("run");
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["lost_events"].as_u64().unwrap_or(0) > 0, "{e}");
    assert!(e.contains("warning: the kernel dropped"), "{e}");
}

#[test]
fn strace_unknown_syscall_number_is_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = fixture_bin(dir.path());
    for backend in ["perf", "ptrace"] {
        if !backend_live(backend) {
            continue;
        }
        let out = rprof()
            .env("MIX_UNKNOWN", "1")
            .args(["strace-summary", "--errors", "--backend", backend, "--"])
            .arg(&bin)
            .arg("10")
            .output()
            .expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let row = text
            .lines()
            .find(|l| l.ends_with(" syscall_999"))
            .unwrap_or_else(|| panic!("{backend}: no syscall_999 row:\n{text}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!((cols[3], cols[4]), ("1", "1"), "{backend}: {row}");
        assert!(text.contains("syscall_999  ENOSYS ×1"), "{backend}: {text}");
    }
}

/// Attaching while the target starts threads: threads created during the attach may carry
/// both an inherited event and one opened on them (perf), or be auto-attached before the scan
/// reaches them (ptrace). Every call must still be counted exactly once.
#[test]
fn strace_attach_during_thread_creation_counts_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = compile("strace/spawner.c", dir.path(), "spawner", &["-O2"]);
    for backend in ["perf", "ptrace"] {
        if !backend_live(backend) {
            continue;
        }
        let mut target = Command::new(&bin).spawn().expect("start spawner");
        std::thread::sleep(Duration::from_millis(30));
        let pid = target.id().to_string();
        let out = rprof()
            .args([
                "strace-summary",
                "--format",
                "json",
                "--backend",
                backend,
                "-p",
                &pid,
            ])
            .output()
            .expect("run rprof");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{backend}: {e}");
        assert!(target.wait().expect("wait").success());
        let c = counts(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(c.get("getppid"), Some(&(100_000, 0)), "{backend}: {e}");
    }
}
