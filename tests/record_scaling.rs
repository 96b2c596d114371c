//! Live tests of recording that scales (issue 16): memory that follows the distinct stacks and
//! not the duration (identical samples merged while recording), merged samples that still give
//! the same counts, weights and time ranges, and several drain threads (`RPROF_DRAIN_THREADS`)
//! that give the same profile as one, for CPU samples with DWARF stacks and for off-CPU time.
//!
//! fixtures/record/threads.c runs `alpha_work` and `beta_work` on two threads for SECONDS;
//! fixtures/offcpu/wall.c computes 1 s, sleeps 2 s and waits 1 s on a pipe in its main thread.
//! Skips only when perf_event_open (or for off-CPU the sched_switch tracepoint) is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// The tests keep both CPUs busy: one at a time.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn live_ok() -> bool {
    live("perf_event_open", perf_event_check())
}

fn build(dir: &Path, src: &str, name: &str, fp: bool) -> PathBuf {
    let fp_flag = if fp {
        "-fno-omit-frame-pointer"
    } else {
        "-fomit-frame-pointer"
    };
    compile(src, dir, name, &["-O1", "-g", fp_flag, "-pthread"])
}

/// The sample count of the summary line (`rprof: 1,234 samples, ...`).
fn summary_samples(err: &str) -> u64 {
    let line = err
        .lines()
        .find(|l| l.starts_with("rprof: ") && l.contains(" samples, "))
        .unwrap_or_else(|| panic!("no summary line in {err}"));
    line["rprof: ".len()..]
        .split(' ')
        .next()
        .map(|n| n.replace(',', ""))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line}"))
}

/// A `# name: value` header value of `rprof report`: its first word, without commas.
fn header_number(report: &str, name: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.strip_prefix(&format!("# {name}: ")))
        .and_then(|v| v.split(' ').next())
        .map(|v| v.replace(',', ""))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no `# {name}:` in {report}"))
}

fn report(data: &Path, extra: &[&str]) -> String {
    let out = rprof()
        .arg("report")
        .arg(data)
        .args(extra)
        .output()
        .expect("runs rprof report");
    assert!(
        out.status.success(),
        "report {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn vm_rss_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

#[test]
fn memory_stays_flat_while_a_busy_process_is_recorded() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "record/threads.c", "scaling_mem", true);
    let mut target = Command::new(&bin).arg("20").spawn().expect("starts");
    std::thread::sleep(Duration::from_millis(200));
    let data = dir.path().join("mem.data");
    // Frame-pointer stacks at a high rate: many samples per second, few distinct stacks.
    let rec = Command::new(rprof_path())
        .args(["record", "--call-graph", "fp", "-F", "20000", "-d", "13"])
        .args(["-p", &target.id().to_string(), "-o"])
        .arg(&data)
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts rprof");
    let started = Instant::now();
    let rss_at = |secs: u64| {
        while started.elapsed() < Duration::from_secs(secs) {
            std::thread::sleep(Duration::from_millis(50));
        }
        vm_rss_kb(rec.id()).expect("rprof still runs")
    };
    let early = rss_at(4);
    let late = rss_at(12);
    let out = rec.wait_with_output().expect("rprof ends");
    let _ = target.kill();
    let _ = target.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let samples = summary_samples(&err);
    // The samples taken between the two readings, at the recording's average rate.
    let between = samples * 8 / 13;
    // Before merging, each sample kept 46 bytes until the end: 8 s of this rate grew the RSS
    // by `between * 46` bytes. A quarter of that, or 1.5 MiB (a hash table doubling), is the
    // most a flat recording may grow.
    let allowed_kb = (between * 46 / 4 / 1024).max(1536);
    let grown = late.saturating_sub(early);
    assert!(
        between * 46 / 1024 > allowed_kb,
        "too few samples ({samples}) to tell flat from growing memory: {err}"
    );
    assert!(
        grown <= allowed_kb,
        "rprof's RSS grew {grown} KiB from 4 s to 12 s ({early} -> {late} KiB) over ~{between} samples; at most {allowed_kb} KiB allowed\n{err}"
    );
    // Nothing was lost to merging: the profile has every sample.
    let text = report(&data, &[]);
    assert_eq!(header_number(&text, "samples"), samples, "{text}");
}

#[test]
fn merged_samples_keep_counts_weights_and_time_ranges() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "record/threads.c", "scaling_merge", true);
    let data = dir.path().join("merge.data");
    let out = rprof()
        .args(["record", "--call-graph", "fp", "-F", "4999", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .arg("3")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let samples = summary_samples(&err);
    let text = report(&data, &[]);
    // Every merged entry is one row with its count: the profile counts every sample.
    assert_eq!(header_number(&text, "samples"), samples, "{text}");
    assert!(samples > 2000, "{err}");
    // The two threads share the work evenly, as before.
    let lines = folded_per_thread(&data);
    let total: u64 = lines.iter().map(|x| x.2).sum();
    for f in ["alpha_work", "beta_work"] {
        let pct = weight_with(&lines, f) as f64 * 100.0 / total as f64;
        assert!((pct - 50.0).abs() <= 10.0, "{f}: {pct:.1}%");
    }
    // Times survive merging (to a bucket of at most 1/64 of the recording, 50 ms here): the
    // first and the last second each hold about a third of the 3 s of samples.
    let json = |range: &str| -> u64 {
        let out = rprof()
            .arg("report")
            .arg(&data)
            .args(["--time", range, "--format", "json"])
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["samples"]
            .as_u64()
            .unwrap_or_else(|| panic!("no samples in {v}"))
    };
    let first = json("0..1");
    let last = json("2..3.5");
    for (name, n) in [("first", first), ("last", last)] {
        let pct = n as f64 * 100.0 / samples as f64;
        assert!(
            (pct - 33.3).abs() <= 10.0,
            "{name} second: {n} of {samples} samples ({pct:.1}%)"
        );
    }
}

#[test]
fn two_drain_threads_unwind_like_one() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    // No frame pointers: every stack needs the DWARF unwinder of the lane that drains it.
    let bin = build(dir.path(), "record/threads.c", "scaling_lanes", false);
    let mut shares = Vec::new();
    for lanes in ["1", "2"] {
        let data = dir.path().join(format!("lanes{lanes}.data"));
        let out = rprof()
            .env("RPROF_DRAIN_THREADS", lanes)
            .args(["record", "--call-graph", "dwarf", "-F", "2999", "-o"])
            .arg(&data)
            .arg("--")
            .arg(&bin)
            .arg("2")
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let samples = summary_samples(&err);
        assert!(samples > 1000, "{lanes} lanes: {err}");
        let lines = folded_per_thread(&data);
        let total: u64 = lines.iter().map(|x| x.2).sum();
        // Complete stacks: the thread's function under the thread entry.
        let complete: u64 = lines
            .iter()
            .filter(|(_, s, _)| {
                s.iter().any(|f| f == "start_thread" || f == "clone3")
                    && s.iter().any(|f| f == "alpha_work" || f == "beta_work")
            })
            .map(|x| x.2)
            .sum();
        let pct_complete = complete as f64 * 100.0 / total as f64;
        assert!(
            pct_complete >= 90.0,
            "{lanes} lanes: {pct_complete:.1}% complete stacks\n{err}"
        );
        let alpha = weight_with(&lines, "alpha_work") as f64 * 100.0 / total as f64;
        assert!(
            (alpha - 50.0).abs() <= 10.0,
            "{lanes} lanes: alpha {alpha:.1}%"
        );
        shares.push(alpha);
    }
    assert!(
        (shares[0] - shares[1]).abs() <= 12.0,
        "1 lane vs 2: {shares:?}"
    );
}

#[test]
fn two_drain_threads_pair_off_cpu_time() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let tracefs = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .any(|r| Path::new(r).join("events/sched/sched_switch/id").exists());
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !live(
        "sched_switch",
        if tracefs || root {
            Ok(())
        } else {
            Err("the sched:sched_switch tracepoint is not readable".into())
        },
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "offcpu/wall.c", "scaling_wall", true);
    let data = dir.path().join("wall.data");
    let out = rprof()
        .env("RPROF_DRAIN_THREADS", "2")
        .args(["record", "--wall", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let lines: Vec<_> = folded_per_thread(&data)
        .into_iter()
        .filter(|(t, _, _)| t.starts_with("scaling_wall-"))
        .collect();
    let total: u64 = lines.iter().map(|x| x.2).sum();
    let secs = total as f64 / 1e9;
    assert!((3.9..4.6).contains(&secs), "main thread {secs} s\n{err}");
    for (f, want) in [
        ("compute", 25.0),
        ("wait_for_timer", 50.0),
        ("wait_for_data", 25.0),
    ] {
        let got = weight_with(&lines, f) as f64 * 100.0 / total as f64;
        assert!(
            (got - want).abs() <= 3.0,
            "{f}: {got:.1}% of the main thread's wall time, want {want}% ± 3\n{err}"
        );
    }
}
