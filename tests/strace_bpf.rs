//! Live tests of strace-summary's in-kernel (bpf) backend, the default where BPF loads: exact
//! counts launched and attached, in timed and counts-only modes, per thread; percentiles from
//! the in-kernel histograms against latencies the traced program measured itself; the header
//! naming the backend; and the fallback to the perf tracepoints, with the reason, when BPF is
//! refused.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

/// Per-thread iterations of the mix fixture: writes = 2N, getppid = N, failing open = N/5.
const N: u64 = 3000;

fn mix(dir: &Path) -> PathBuf {
    compile("strace/mix.c", dir, "mix", &["-O2"])
}

/// (syscall -> row) of every table of a JSON summary, tables in order.
fn tables(json: &str) -> Vec<HashMap<String, Value>> {
    strace_json_tables(json)
}

fn calls_errors(row: Option<&Value>) -> (u64, u64) {
    row.map_or((0, 0), |r| {
        (
            r["calls"].as_u64().unwrap_or(0),
            r["errors"].as_u64().unwrap_or(0),
        )
    })
}

/// The mix fixture's exact counts in one table (`per` = the calls of `threads` workers).
fn assert_mix_table(t: &HashMap<String, Value>, workers: u64, what: &str) {
    assert_eq!(
        calls_errors(t.get("write")),
        (2 * N / 2 * workers, 0),
        "{what}: write"
    );
    assert_eq!(
        calls_errors(t.get("getppid")),
        (N / 2 * workers, 0),
        "{what}: getppid"
    );
    assert_eq!(
        calls_errors(t.get("open")),
        (N / 10 * workers, N / 10 * workers),
        "{what}: open"
    );
    if workers > 0 {
        assert_eq!(
            t["open"]["error_codes"]["ENOENT"],
            N / 10 * workers,
            "{what}: ENOENT"
        );
    }
}

fn run_launched(extra: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = mix(dir.path());
    let mut args = vec!["strace-summary", "--format", "json"];
    args.extend_from_slice(extra);
    let n = N.to_string();
    args.extend_from_slice(&["--", bin.to_str().expect("utf8 path"), &n]);
    let out = rprof().args(&args).output().expect("run rprof");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "rprof failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

fn launched_exact(extra: &[&str]) {
    if !bpf_live() {
        return;
    }
    let (json, stderr) = run_launched(extra);
    assert!(stderr.contains("with the bpf backend"), "{stderr}");
    assert!(stderr.contains("lost events: 0 "), "{stderr}");
    let t = tables(&json);
    assert_mix_table(&t[0], 2, &format!("launch {extra:?}\n{json}"));
    // The exec that started the command is the command's; execvp's attempts before it and
    // the rest of rprof's child are not.
    assert_eq!(calls_errors(t[0].get("execve")), (1, 0), "{json}");
    assert_eq!(calls_errors(t[0].get("exit_group")), (1, 0), "{json}");
    let v: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["lost_events"], 0, "{json}");
}

#[test]
fn strace_bpf_default_launch_exact_counts() {
    launched_exact(&[]);
}

#[test]
fn strace_bpf_explicit_launch_exact_counts() {
    launched_exact(&["--backend", "bpf"]);
}

#[test]
fn strace_bpf_counts_only_exact_counts() {
    launched_exact(&["--counts-only"]);
}

#[test]
fn strace_bpf_counts_only_per_thread_exact_counts() {
    launched_exact(&["--counts-only", "--per-process"]);
}

/// Timed, per thread: each worker's table holds its own calls exactly, with latencies; no
/// call is "in flight" (a new thread's return from clone3 is not an unpaired exit).
#[test]
fn strace_bpf_per_thread_exact_counts_and_times() {
    if !bpf_live() {
        return;
    }
    let (json, stderr) = run_launched(&["--per-thread"]);
    assert!(!stderr.contains("in flight"), "{stderr}");
    let t = tables(&json);
    assert_eq!(t.len(), 3, "main thread and two workers\n{json}");
    assert_mix_table(&t[0], 0, "main thread");
    for w in &t[1..] {
        assert_mix_table(w, 1, &format!("worker\n{json}"));
        let write = &w["write"];
        let (p50, p99, max) = (
            write["p50_us"].as_f64().unwrap_or(-1.0),
            write["p99_us"].as_f64().unwrap_or(-1.0),
            write["max_us"].as_f64().unwrap_or(-1.0),
        );
        assert!(
            0.0 < p50 && p50 <= p99 && p99 <= max,
            "ordered percentiles {p50} {p99} {max}\n{json}"
        );
        assert_eq!(calls_errors(w.get("exit")), (1, 0), "{json}");
    }
}

/// Attached with -p before the work starts: exact counts, and rprof stops when it exits.
#[test]
fn strace_bpf_attach_exact_counts() {
    if !bpf_live() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = mix(dir.path());
    let mut target = Command::new(&bin)
        .args([N.to_string().as_str(), "wait"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("start fixture");
    let (out, rest) = strace_attach_bpf(&mut target, &[], &[], b"xy");
    assert!(rest.contains("target exited"), "{rest}");
    let t = tables(&out);
    assert_mix_table(&t[0], 2, &format!("attach\n{out}\n{rest}"));
}

/// Exact quantile as the histogram defines it: the value of rank ceil(q * n).
fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
    let n = sorted.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// p50, p99 and max of nanosleep from the in-kernel histograms, against the latencies the
/// program measured around each call: within 5% (the buckets are 1/32 wide; the program's
/// own timing adds about a microsecond to calls of 20 us and more).
#[test]
fn strace_bpf_percentiles_match_exact_latencies() {
    if !bpf_live() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = compile("strace/sleeps.c", dir.path(), "sleeps", &["-O2"]);
    let lat_file = dir.path().join("latencies.txt");
    let out = rprof()
        .args(["strace-summary", "--format", "json", "--"])
        .arg(&bin)
        .arg(&lat_file)
        .arg("300")
        .output()
        .expect("run rprof");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json = String::from_utf8_lossy(&out.stdout);
    let mut exact: Vec<u64> = std::fs::read_to_string(&lat_file)
        .expect("latencies written")
        .lines()
        .map(|l| l.trim().parse().expect("ns"))
        .collect();
    exact.sort_unstable();
    assert_eq!(exact.len(), 300);
    let t = tables(&json);
    let row = &t[0]["nanosleep"];
    assert_eq!(row["calls"], 300, "{json}");
    for (key, want) in [
        ("p50_us", exact_quantile(&exact, 0.5)),
        ("p99_us", exact_quantile(&exact, 0.99)),
        ("max_us", *exact.last().expect("values")),
    ] {
        let got = row[key].as_f64().expect("a latency") * 1000.0;
        let err = (got - want as f64).abs() / want as f64;
        assert!(
            err <= 0.05,
            "{key}: histogram {got:.0} ns, exact {want} ns ({:.1}% off)\n{json}",
            err * 100.0
        );
    }
}

/// The text header names the backend and says percentiles come from histograms; JSON's
/// "source" says the same.
#[test]
fn strace_bpf_header_names_backend_and_histograms() {
    if !bpf_live() {
        return;
    }
    let out = rprof()
        .args(["strace-summary", "--", "true"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap_or("");
    assert!(first.contains("source: bpf backend"), "{first}");
    assert!(
        first.contains("percentiles from log-linear histograms"),
        "{first}"
    );
    let out = rprof()
        .args(["strace-summary", "--format", "json", "--", "true"])
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let src = v["source"].as_str().unwrap_or("");
    assert!(
        src.starts_with("bpf backend") && src.contains("histograms"),
        "{src}"
    );
    let out = rprof()
        .args(["strace-summary", "--counts-only", "--", "true"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|l| l.contains("counts only") && l.contains("bpf backend")),
        "{stdout}"
    );
}

/// Root without CAP_BPF and CAP_SYS_ADMIN (dropped from the bounding set): BPF is refused,
/// rprof says why and traces through the perf tracepoints instead, with exact counts.
#[test]
fn strace_bpf_refused_falls_back_to_perf_with_reason() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || have("setpriv").is_err() {
        skip("needs root and setpriv to drop capabilities");
        return;
    }
    if !bpf_live() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = mix(dir.path());
    let out = Command::new("setpriv")
        .args(["--inh-caps=-all", "--bounding-set=-bpf,-sys_admin", "--"])
        .arg(rprof_path())
        .args(["strace-summary", "--format", "json", "--"])
        .arg(&bin)
        .arg(N.to_string())
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("setpriv:") {
        skip(&format!("setpriv cannot drop CAP_BPF here: {stderr}"));
        return;
    }
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the bpf backend is unavailable (")
            && stderr.contains("CAP_BPF")
            && stderr.contains("using the perf tracepoint backend"),
        "the reason and the fallback are said: {stderr}"
    );
    assert!(stderr.contains("with the perf backend"), "{stderr}");
    let json = String::from_utf8_lossy(&out.stdout);
    let t = tables(&json);
    assert_mix_table(&t[0], 2, &format!("fallback\n{json}"));
    // An explicit --backend bpf does not fall back: it fails with the reason.
    let out = Command::new("setpriv")
        .args(["--inh-caps=-all", "--bounding-set=-bpf,-sys_admin", "--"])
        .arg(rprof_path())
        .args(["strace-summary", "--backend", "bpf", "--", "true"])
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("rprof: the bpf backend is unavailable"),
        "{stderr}"
    );
}
