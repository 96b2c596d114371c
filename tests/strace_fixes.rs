//! Fixes to `rprof strace-summary` (issue 10 item 7 and 10, issue 18 items 4 and 5):
//! `rt_sigreturn` named and counted as `strace -c` does; in-kernel counting that leaves out
//! rprof's own pre-exec calls and counts every thread; `-d` ending a launched command; tracefs
//! mounted when missing; `--from-log` grouping CLONE_THREAD threads, joining lines cut by
//! attach notices, refusing absurd latencies, and reading endless inputs in bounded memory.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The tracepoints work (rprof mounts tracefs itself as root, and so does this check).
fn tracepoints() -> bool {
    live(
        "raw_syscalls tracepoints",
        perf_event_check().and_then(|()| {
            rprof::strace::tracefs::ensure_tracefs()
                .map(|_| ())
                .map_err(|e| format!("{e:#}"))
        }),
    )
}

/// syscall -> (calls, errors) from `strace -c` output.
fn strace_c(path: &Path) -> HashMap<String, (u64, u64)> {
    let text = std::fs::read_to_string(path).expect("strace -c output");
    let mut m = HashMap::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        // % time, seconds, usecs/call, calls, [errors], syscall
        if f.len() < 5 || f[0].starts_with('%') || f[0].starts_with('-') {
            continue;
        }
        let name = f[f.len() - 1].to_string();
        if name == "total" {
            continue;
        }
        let calls: u64 = f[3].parse().unwrap_or(0);
        let errors: u64 = if f.len() == 6 {
            f[4].parse().unwrap_or(0)
        } else {
            0
        };
        m.insert(name, (calls, errors));
    }
    m
}

/// Runs the program under `strace -f -c` and returns its table.
fn under_strace(dir: &Path, argv: &[&str]) -> Option<HashMap<String, (u64, u64)>> {
    if !live("strace", have("strace")) {
        return None;
    }
    let out = dir.join("strace-c.txt");
    let st = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&out)
        .args(argv)
        .status()
        .expect("run strace");
    if !st.success() && !live("strace", Err(format!("strace could not trace here: {st}"))) {
        return None;
    }
    Some(strace_c(&out))
}

/// syscall -> (calls, errors, error codes) of the first table of a JSON summary.
fn rows(json: &str) -> HashMap<String, (u64, u64, Value)> {
    let v: Value = serde_json::from_str(json).expect("valid JSON");
    v["tables"][0]["syscalls"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["syscall"].as_str().unwrap_or("").to_string(),
                (
                    r["calls"].as_u64().unwrap_or(0),
                    r["errors"].as_u64().unwrap_or(0),
                    r["error_codes"].clone(),
                ),
            )
        })
        .collect()
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = rprof().args(args).output().expect("run rprof");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---- rt_sigreturn -------------------------------------------------------------------------

/// Signals handled after raise() (rt_sigreturn returns 0) and inside sigsuspend
/// (rt_sigreturn restores -EINTR): the counts and errors equal `strace -c`'s, and no
/// `syscall_-1` row appears (the old perf backend's name for every rt_sigreturn).
fn sigreturn_matches_strace(backend: &str, extra: &[&str]) {
    if backend == "perf" && !tracepoints() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = compile("strace/signals.c", dir.path(), "signals", &["-O1"]);
    let bin = bin.to_str().expect("utf8 path");
    let (n, m) = (300u64, 200u64);
    let (ns, ms) = (n.to_string(), m.to_string());
    let Some(truth) = under_strace(dir.path(), &[bin, &ns, &ms]) else {
        return;
    };
    assert_eq!(
        truth.get("rt_sigreturn"),
        Some(&(n + m, m)),
        "strace -c itself"
    );
    let mut args = vec!["strace-summary", "--backend", backend, "--format", "json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", bin, &ns, &ms]);
    let (ok, out, err) = run(&args);
    assert!(ok, "rprof failed: {err}");
    let r = rows(&out);
    assert!(
        !r.contains_key("syscall_-1"),
        "an exit reporting -1 was not named from its entry:\n{out}"
    );
    let (calls, errors, codes) = r.get("rt_sigreturn").cloned().expect("rt_sigreturn row");
    assert_eq!(
        (calls, errors),
        truth["rt_sigreturn"],
        "{backend} {extra:?}: rt_sigreturn against strace -c\n{out}"
    );
    assert_eq!(codes["EINTR"], m, "{backend}: rt_sigreturn EINTR\n{out}");
    let s = r.get("rt_sigsuspend").expect("rt_sigsuspend row");
    assert_eq!(
        (s.0, s.1),
        truth["rt_sigsuspend"],
        "{backend}: rt_sigsuspend"
    );
}

#[test]
fn strace_fix_rt_sigreturn_perf_equals_strace_c() {
    sigreturn_matches_strace("perf", &[]);
}

#[test]
fn strace_fix_rt_sigreturn_counts_only_equals_strace_c() {
    sigreturn_matches_strace("perf", &["--counts-only"]);
}

#[test]
fn strace_fix_rt_sigreturn_counts_only_per_thread_equals_strace_c() {
    sigreturn_matches_strace("perf", &["--counts-only", "--per-thread"]);
}

#[test]
fn strace_fix_rt_sigreturn_ptrace_equals_strace_c() {
    sigreturn_matches_strace("ptrace", &[]);
}

// ---- --counts-only (in-kernel counting) ----------------------------------------------------

/// A bare command name found through a PATH whose first entries lack it: execvp's failed
/// tries (ENOENT) and the child's other pre-exec calls are rprof's, not the command's. The
/// counts equal `strace -f -c`'s (apart from futex, whose count depends on thread timing, and
/// exit/exit_group, which strace -c leaves out), and the quality line counts all 5 threads.
#[test]
fn strace_fix_counts_only_excludes_pre_exec_calls_and_counts_threads() {
    if !tracepoints() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = compile(
        "strace/threads.c",
        dir.path(),
        "rprof-threads-fixture",
        &["-O1"],
    );
    let Some(truth) = under_strace(dir.path(), &[bin.to_str().expect("path")]) else {
        return;
    };
    let path = format!(
        "{}/no-such-dir-1:{}/no-such-dir-2:{}:/usr/bin:/bin",
        dir.path().display(),
        dir.path().display(),
        dir.path().display()
    );
    let out = rprof()
        .env("PATH", &path)
        .args([
            "strace-summary",
            "--counts-only",
            "--format",
            "json",
            "--",
            "rprof-threads-fixture",
        ])
        .output()
        .expect("run rprof");
    let err = String::from_utf8_lossy(&out.stderr);
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "rprof failed: {err}");
    if !err.contains("with the bpf backend") {
        // The BPF counter could not load: the sampling fallback is tested elsewhere.
        skip(&format!("in-kernel counting unavailable: {err}"));
        return;
    }
    assert!(err.contains("in 5 threads"), "thread count: {err}");
    let r = rows(&json);
    let execve = r.get("execve").map(|x| (x.0, x.1));
    assert_eq!(execve, Some((1, 0)), "only the exec that worked\n{json}");
    for (name, &(calls, errors)) in &truth {
        if name == "futex" {
            continue;
        }
        let got = r.get(name).map(|x| (x.0, x.1));
        assert_eq!(
            got,
            Some((calls, errors)),
            "{name} against strace -c\n{json}"
        );
    }
    for (name, x) in &r {
        if !matches!(name.as_str(), "futex" | "exit" | "exit_group") {
            assert!(truth.contains_key(name), "{name} ({x:?}) not in strace -c");
        }
    }
}

// ---- -d with a launched command -------------------------------------------------------------

/// `-d` ends a launched command with SIGTERM (as `record -d` does), traces it to its end,
/// and exits 0: the command's death by the SIGTERM it was sent is what was asked for.
fn duration_ends_command(extra: &[&str]) {
    if (extra.is_empty() || extra.contains(&"perf")) && !tracepoints() {
        return;
    }
    let mut args = vec!["strace-summary", "-d", "0.5"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sleep", "30"]);
    let t0 = Instant::now();
    let (ok, _, err) = run(&args);
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t0.elapsed()
    );
    assert!(ok, "rprof {extra:?} failed: {err}");
    assert!(err.contains("duration (-d) elapsed"), "{err}");
    assert!(err.contains("killed by SIGTERM"), "{err}");
    // The command is gone (reaped), not running on untraced.
    let pid: u32 = err
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .expect("pid in the tracing line");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "sleep {pid} still exists"
    );
}

#[test]
fn strace_fix_duration_ends_launched_command_perf() {
    duration_ends_command(&["--backend", "perf"]);
}

#[test]
fn strace_fix_duration_ends_launched_command_ptrace() {
    duration_ends_command(&["--backend", "ptrace"]);
}

#[test]
fn strace_fix_duration_ends_launched_command_counts_only() {
    duration_ends_command(&["--counts-only"]);
}

/// A command that ignores SIGTERM is not killed behind the user's back: rprof says it waits
/// and that Ctrl-C now kills it; a SIGINT then does.
#[test]
fn strace_fix_duration_then_sigint_kills_a_command_ignoring_sigterm() {
    if !tracepoints() {
        return;
    }
    let mut child = Command::new(rprof_path())
        .args([
            "strace-summary",
            "--backend",
            "perf",
            "-d",
            "0.3",
            "--",
            "sh",
            "-c",
            "trap '' TERM; while :; do sleep 0.1; done",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rprof");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.contains("Ctrl-C now kills it") {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => {
                seen.push_str(&l);
                seen.push('\n');
            }
            Err(_) if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("no waiting message: {seen}");
            }
            Err(_) => {}
        }
    }
    // SAFETY: signalling the rprof child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t0 = Instant::now();
    let st = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("rprof did not end after SIGINT: {seen}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
        seen.push_str(&l);
        seen.push('\n');
    }
    assert!(seen.contains("killed by SIGKILL"), "{seen}");
    // Asked to end by -d, so not a failure of rprof's.
    assert!(st.success(), "{st:?}: {seen}");
}

// ---- tracefs --------------------------------------------------------------------------------

/// In a private mount namespace without tracefs, root rprof mounts it and says so (the
/// machine's own mounts are untouched); as another user the error keeps its hint.
#[test]
fn strace_fix_mounts_missing_tracefs() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !live("root", if root { Ok(()) } else { Err("not root".into()) })
        || !live("unshare", have("unshare"))
        || !live("perf_event_open", perf_event_check())
    {
        return;
    }
    let bin = rprof_path();
    let script = format!(
        "umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null; \
         test -e /sys/kernel/tracing/events && exit 99; exec {} \"$@\"",
        bin.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"])
        .args(["strace-summary", "--backend", "perf", "--", "true"])
        .output()
        .expect("run unshare");
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(99) || err.contains("unshare failed") {
        skip(&format!(
            "cannot unmount tracefs in a private namespace: {err}"
        ));
        return;
    }
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("tracefs was not mounted; mounted it at /sys/kernel/tracing"),
        "{err}"
    );
    if have("setpriv").is_err() {
        return;
    }
    let script = format!(
        "umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null; \
         exec setpriv --reuid=65534 --regid=65534 --clear-groups -- {} \"$@\"",
        bin.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"])
        .args(["strace-summary", "--backend", "perf", "--", "true"])
        .output()
        .expect("run unshare");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("tracefs is not mounted") && err.contains("mount -t tracefs nodev"),
        "{err}"
    );
}

// ---- --from-log -----------------------------------------------------------------------------

/// A terminal-mode `strace -f -T` log: unprefixed lines before the first clone, a clone3 line
/// cut by `strace: Process N attached`, calls cut the same way (one finished on the next line,
/// one followed by `<unfinished ...>`), CLONE_THREAD threads and one forked child process.
#[test]
fn strace_fix_log_clone_thread_grouping_and_split_lines() {
    let log = fixture("strace/threads-split.log");
    let p = log.to_str().expect("path");
    let (ok, out, err) = run(&[
        "strace-summary",
        "--from-log",
        p,
        "--per-process",
        "-S",
        "name",
    ]);
    assert!(ok, "{err}");
    golden("strace/threads-split-per-process.txt", &out);
    // Two processes: 700 with its threads 701 and 702, and the forked 703.
    assert!(out.contains("== process 700 (?), 3 threads"), "{out}");
    assert!(out.contains("== process 703 (?), 1 thread\n"), "{out}");
    assert_eq!(out.matches("== process").count(), 2, "{out}");
    // Nothing dropped: every call line is counted, none skipped.
    assert!(!err.contains("skipped"), "{err}");
    let (ok, json, _) = run(&["strace-summary", "--from-log", p, "--format", "json"]);
    assert!(ok);
    let r = rows(&json);
    assert_eq!(
        r["clone3"].0, 2,
        "both clone3 calls, one cut by an attach notice"
    );
    assert_eq!(r["getppid"].0, 3, "getppid lines cut by attach notices");
    assert_eq!(r["execve"].0, 1);
    let (ok, out, _) = run(&[
        "strace-summary",
        "--from-log",
        p,
        "--per-thread",
        "-S",
        "name",
    ]);
    assert!(ok);
    golden("strace/threads-split-per-thread.txt", &out);
}

/// `<18446744073.0>` is refused with a counted warning, not added (it wrapped the u64 sum in
/// release builds and printed a percentage over 200000).
#[test]
fn strace_fix_log_absurd_latencies_refused() {
    let log = fixture("strace/overflow.log");
    let (ok, json, err) = run(&[
        "strace-summary",
        "--from-log",
        log.to_str().expect("path"),
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("3 latencies over 1e8 s refused"),
        "warning counted: {err}"
    );
    let v: Value = serde_json::from_str(&json).expect("json");
    let read = v["tables"][0]["syscalls"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["syscall"] == "read"))
        .cloned()
        .expect("read row");
    assert_eq!(
        read["calls"], 4,
        "refused latencies still count their calls"
    );
    assert_eq!(read["seconds"], 0.5, "{read}");
    let total = &v["tables"][0]["total"];
    let secs = total["seconds"].as_f64().expect("seconds");
    assert!((secs - 9_000_000.500_01).abs() < 1e-3, "{total}");
    for r in v["tables"][0]["syscalls"].as_array().expect("rows") {
        let pct = r["percent_time"].as_f64().unwrap_or(0.0);
        assert!((0.0..=100.0).contains(&pct), "{r}");
    }
}

/// Runs rprof with an address-space limit and a time limit; returns (exit code, stderr).
fn limited(args: &[&str], mem_bytes: u64, secs: u64) -> (Option<i32>, String) {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(rprof_path());
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    // SAFETY: only setrlimit (async-signal-safe) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: mem_bytes,
                rlim_max: mem_bytes,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn rprof");
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut err)
                .expect("read stderr");
            return (st.code(), err);
        }
        if t0.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rprof {args:?} still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `/dev/zero` as a log: a clear error naming the file and the limit, within 1 GiB of
/// address space and 20 s (it used to read until memory ran out).
#[test]
fn strace_fix_log_dev_zero_bounded() {
    let (code, err) = limited(&["strace-summary", "--from-log", "/dev/zero"], 1 << 30, 20);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("/dev/zero"), "{err}");
    assert!(err.contains("longer than 16777216 bytes"), "{err}");
}

/// A long log of valid lines streams through a pipe on standard input (`--from-log -`).
#[test]
fn strace_fix_log_streams_a_large_pipe() {
    let mut child = Command::new(rprof_path())
        .args([
            "strace-summary",
            "--from-log",
            "/dev/stdin",
            "--format",
            "json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rprof");
    let mut stdin = child.stdin.take().expect("stdin");
    let line = "42    getppid()                   = 1 <0.000001>\n";
    let lines = (64 << 20) / line.len();
    let writer = std::thread::spawn(move || {
        let block = line.repeat(1024);
        for _ in 0..lines / 1024 {
            if stdin.write_all(block.as_bytes()).is_err() {
                break;
            }
        }
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = rows(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(r["getppid"].0, (lines / 1024 * 1024) as u64);
}

/// A FIFO with no writer: rprof does not hang in open; it says it waits, and SIGINT ends it.
/// With a writer, the log is read as usual.
#[test]
fn strace_fix_log_fifo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("log.fifo");
    let c = std::ffi::CString::new(fifo.to_str().expect("path")).expect("cstr");
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let mut child = Command::new(rprof_path())
        .args(["strace-summary", "--from-log"])
        .arg(&fifo)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rprof");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(10));
    if !first
        .as_deref()
        .is_ok_and(|l| l.contains("FIFO with no writer"))
    {
        let _ = child.kill();
        let _ = child.wait();
        panic!("no waiting message: {first:?}");
    }
    // SAFETY: signalling the rprof child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t0 = Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "SIGINT did not end rprof"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // With a writer.
    let child = Command::new(rprof_path())
        .args(["strace-summary", "--from-log"])
        .arg(&fifo)
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rprof");
    std::thread::sleep(Duration::from_millis(200));
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open fifo for writing");
    w.write_all(b"7  write(1, \"x\", 1) = 1 <0.000010>\n7  write(1, \"x\", 1) = 1 <0.000010>\n")
        .expect("write");
    drop(w);
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rows(&String::from_utf8_lossy(&out.stdout))["write"].0, 2);
}
