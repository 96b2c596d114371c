//! Live tests of how the in-kernel strace-summary backend follows threads: each thread's state
//! lives in an array slot indexed by its thread id, with task-local storage for ids beyond the
//! array. Every test runs both ways (`RPROF_BPF_SLOTS=1` sends every thread to the task-storage
//! path), in timed and counts-only modes: threads that exist before rprof attaches, a thread
//! other than the leader that execs (it takes the leader's id), and exact counts of the
//! syscall-heavy mix fixture.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The two ways thread state is kept: array slots (default), task storage (one slot only).
const WAYS: [(&str, &str); 2] = [("slots", ""), ("task storage", "1")];
/// Timed (default) and counts-only.
const MODES: [&[&str]; 2] = [&[], &["--counts-only"]];

/// Every table of a JSON summary as (syscall -> (calls, errors)), tables in order.
fn tables(json: &str) -> Vec<HashMap<String, (u64, u64)>> {
    strace_json_tables(json)
        .into_iter()
        .map(|t| {
            t.into_iter()
                .map(|(name, r)| {
                    let n = |k: &str| r[k].as_u64().unwrap_or(0);
                    (name, (n("calls"), n("errors")))
                })
                .collect()
        })
        .collect()
}

fn calls(t: &HashMap<String, (u64, u64)>, name: &str) -> u64 {
    t.get(name).map_or(0, |c| c.0)
}

/// Runs rprof on a launched command; (stdout JSON, stderr).
fn launch(slots: &str, extra: &[&str], cmd: &[&str]) -> (String, String) {
    let mut c = Command::new(rprof_path());
    c.args(["strace-summary", "--format", "json"])
        .args(extra)
        .arg("--")
        .args(cmd);
    if !slots.is_empty() {
        c.env("RPROF_BPF_SLOTS", slots);
    }
    let out = c.output().expect("run rprof");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("with the bpf backend"), "{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// A thread that is not the leader execs: it takes over the leader's thread id, and the new
/// program's calls are still traced (500 getppid, exactly), as is the exec itself.
#[test]
fn strace_bpf_exec_from_a_thread_keeps_tracing() {
    if !bpf_live() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = compile("strace/threadstate.c", dir.path(), "threadstate", &["-O2"]);
    let bin = bin.to_str().expect("utf-8 path");
    for (way, slots) in WAYS {
        for mode in MODES {
            let (json, stderr) = launch(slots, mode, &[bin, "exec"]);
            let what = format!("{way} {mode:?}\n{json}\n{stderr}");
            let t = tables(&json);
            assert_eq!(calls(&t[0], "getppid"), 500, "{what}");
            // The launch's exec and the thread's.
            assert_eq!(calls(&t[0], "execve"), 2, "{what}");
            assert!(stderr.contains("command exited with status 0"), "{what}");
        }
    }
}

/// Attached (-p) to a process whose worker threads already exist (waiting at a barrier):
/// every worker's calls are counted exactly, per thread.
#[test]
fn strace_bpf_attach_counts_threads_present_before() {
    if !bpf_live() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = compile("strace/threadstate.c", dir.path(), "threadstate", &["-O2"]);
    for (way, slots) in WAYS {
        for mode in MODES {
            let what = format!("{way} {mode:?}");
            let (json, stderr) = attach_prethreads(&bin, slots, mode);
            let what = format!("{what}\n{json}\n{stderr}");
            let t = tables(&json);
            let workers: Vec<_> = t.iter().filter(|t| calls(t, "getppid") > 0).collect();
            assert_eq!(workers.len(), 3, "{what}");
            for w in workers {
                assert_eq!(calls(w, "getppid"), 1000, "{what}");
            }
        }
    }
}

/// Starts `threadstate prethreads`, waits until its workers exist, attaches rprof
/// --per-thread, then lets the work run; (stdout JSON, stderr).
fn attach_prethreads(bin: &Path, slots: &str, mode: &[&str]) -> (String, String) {
    let mut target = Command::new(bin)
        .arg("prethreads")
        .stdin(Stdio::piped())
        .spawn()
        .expect("start fixture");
    let pid = target.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count()) < 4 {
        assert!(Instant::now() < deadline, "fixture threads did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut args = vec!["--per-thread"];
    args.extend_from_slice(mode);
    let env: &[(&str, &str)] = if slots.is_empty() {
        &[]
    } else {
        &[("RPROF_BPF_SLOTS", slots)]
    };
    strace_attach_bpf(&mut target, &args, env, b"x")
}

/// The mix fixture's exact counts with every thread on the task-storage path (the default
/// path is covered by tests/strace_bpf.rs), timed and counts-only.
#[test]
fn strace_bpf_task_storage_path_exact_counts() {
    if !bpf_live() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = compile("strace/mix.c", dir.path(), "mix", &["-O2"]);
    let n = 3000u64;
    for mode in MODES {
        let (json, stderr) = launch("1", mode, &[bin.to_str().expect("utf-8"), "3000"]);
        let what = format!("{mode:?}\n{json}\n{stderr}");
        let t = tables(&json);
        assert_eq!(t[0].get("write"), Some(&(2 * n, 0)), "{what}");
        assert_eq!(t[0].get("getppid"), Some(&(n, 0)), "{what}");
        assert_eq!(t[0].get("open"), Some(&(n / 5, n / 5)), "{what}");
        assert!(stderr.contains("lost events: 0 "), "{what}");
    }
}
