//! A recording's profile and data file hold one row per merged entry (issue 16): identical
//! samples of one time bucket become one row with their count, summed weight and the bucket's
//! time, so the rows follow the distinct stacks and not the duration, while every sample count,
//! weight and share stays what the samples say. Off-CPU waits are paired as the switch events
//! drain and merged the same way. Files of format version 3 (one row per sample) still read,
//! exactly as the rprof that wrote them read them.
//!
//! fixtures/record/threads.c runs `alpha_work` and `beta_work` on two threads for SECONDS;
//! fixtures/offcpu/napper.c has two threads call `nap` (a 50 us nanosleep) in a loop for
//! SECONDS. fixtures/inputs/v3/*.rprof were written by the rprof before this change (format
//! 3), and fixtures/expected/v3/* are that rprof's reports of them. The live tests skip only
//! when perf_event_open (or for off-CPU the sched_switch tracepoint) is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use common::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// The live tests keep both CPUs busy: one at a time.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn build(dir: &Path, src: &str, name: &str) -> PathBuf {
    compile(
        src,
        dir,
        name,
        &["-O1", "-g", "-fno-omit-frame-pointer", "-pthread"],
    )
}

/// The first number after `prefix` on the first stderr line containing it, commas dropped.
fn number_after(err: &str, prefix: &str) -> u64 {
    let line = err
        .lines()
        .find(|l| l.contains(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in {err}"));
    let rest = &line[line.find(prefix).unwrap_or(0) + prefix.len()..];
    rest.split_whitespace()
        .next()
        .map(|n| n.replace(',', ""))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after `{prefix}` in {line}"))
}

/// The sample count of the recording's summary line (`rprof: 1,234 samples, ...`).
fn summary_samples(err: &str) -> u64 {
    let line = err
        .lines()
        .find(|l| l.starts_with("rprof: ") && l.contains(" samples, "))
        .unwrap_or_else(|| panic!("no summary line in {err}"));
    number_after(line, "rprof: ")
}

fn json(data: &Path, extra: &[&str]) -> serde_json::Value {
    let out = rprof()
        .arg("report")
        .arg(data)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("runs rprof report");
    assert!(
        out.status.success(),
        "report {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The total `go tool pprof -top` states for `sample_index` (`Showing nodes accounting for
/// X, 100% of TOTAL total`), as printed.
fn go_total(file: &Path, sample_index: &str, tmp: &Path) -> String {
    let out = Command::new("go")
        .args(["tool", "pprof", "-top", "-nodecount=1"])
        .arg(format!("-sample_index={sample_index}"))
        .arg(file)
        .env("GOCACHE", tmp.join("gocache"))
        .env("HOME", tmp)
        .output()
        .expect("runs go tool pprof");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "go tool pprof: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.split(" of ").nth(1)?.strip_suffix(" total"))
        .unwrap_or_else(|| panic!("no total in {text}"))
        .to_string()
}

#[test]
fn a_busy_recording_keeps_few_rows_and_every_sample() {
    let _g = serial();
    if !live("perf_event_open", perf_event_check()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = build(dir.path(), "record/threads.c", "rows_busy");
    let data = dir.path().join("busy.data");
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
    assert!(samples > 3000, "too few samples to tell: {err}");
    let v = json(&data, &[]);
    // Every sample is counted, in far fewer rows (the rprof before this change wrote one row
    // per sample).
    assert_eq!(v["samples"].as_u64(), Some(samples), "{err}");
    let rows = v["sample_rows"].as_u64().expect("sample_rows");
    assert!(
        rows * 10 < samples,
        "{rows} rows for {samples} samples: not merged\n{err}"
    );
    // At most 64 time buckets per distinct (thread, stack, CPU), whatever the duration.
    let lines = folded_per_thread(&data);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    assert!(
        rows <= 64 * lines.len() as u64 * cpus,
        "{rows} rows for {} stacks on {cpus} CPUs",
        lines.len()
    );
    // The per-thread sample counts add up to every sample, and the weights to the total.
    let t = json(&data, &["--sort", "thread"]);
    let trows = t["rows"].as_array().expect("rows");
    let n: u64 = trows
        .iter()
        .filter_map(|r| r["self_samples"].as_u64())
        .sum();
    let w: u64 = trows.iter().filter_map(|r| r["self"].as_u64()).sum();
    assert_eq!(n, samples);
    assert_eq!(Some(w), v["total_weight"].as_u64());
    // The two threads share the work evenly, in samples and in weight.
    let total: u64 = lines.iter().map(|x| x.2).sum();
    for f in ["alpha_work", "beta_work"] {
        let pct = weight_with(&lines, f) as f64 * 100.0 / total as f64;
        assert!((pct - 50.0).abs() <= 10.0, "{f}: {pct:.1}%");
    }
    let f = json(&data, &["--sort", "function"]);
    let alpha = f["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["name"] == "alpha_work")
        .and_then(|r| r["self_samples"].as_u64())
        .expect("alpha_work row");
    let pct = alpha as f64 * 100.0 / samples as f64;
    assert!(
        (pct - 50.0).abs() <= 10.0,
        "alpha_work: {pct:.1}% of samples"
    );
    // pprof out: `samples/count` is each row's count, so the reference reader counts every
    // sample, and the weights as they are.
    let pb = dir.path().join("busy.pb.gz");
    let out = rprof()
        .arg("report")
        .arg(&data)
        .args(["--format", "pprof", "-o"])
        .arg(&pb)
        .output()
        .expect("runs");
    assert!(out.status.success());
    if live("go (golang-go)", have("go")) {
        assert_eq!(go_total(&pb, "samples", dir.path()), samples.to_string());
    }
    // pprof in: one row per pprof sample, with its count.
    let back = json(&pb, &[]);
    assert_eq!(back["samples"].as_u64(), Some(samples));
    assert_eq!(back["total_weight"], v["total_weight"]);
    // The data file keeps the counts through a conversion.
    let copy = dir.path().join("copy.rprof");
    let out = rprof()
        .arg("convert")
        .arg(&data)
        .arg("-o")
        .arg(&copy)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let c = json(&copy, &[]);
    assert_eq!(
        (c["samples"].as_u64(), c["sample_rows"].as_u64()),
        (Some(samples), Some(rows))
    );
    let bytes = std::fs::read(&copy).expect("read");
    assert_eq!(&bytes[8..12], &4u32.to_le_bytes(), "format version 4");
}

#[test]
fn off_cpu_waits_are_paired_as_they_drain_and_merged() {
    let _g = serial();
    if !live("perf_event_open", perf_event_check()) {
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
    let bin = build(dir.path(), "offcpu/napper.c", "rows_napper");
    let data = dir.path().join("nap.data");
    let out = rprof()
        .env("RPROF_TIMINGS", "1")
        .args(["record", "--off-cpu", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .arg("3")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let intervals = number_after(&err, "switches away from target threads, ");
    assert!(intervals > 5000, "too few waits to tell: {err}");
    // Pairing as the events drain holds the blocked threads' switch-outs and the events of
    // the last round or so, not every switch (the rprof before this change held them all
    // until the end).
    let held = number_after(&err, "rprof-timing: off-CPU: at most ");
    assert!(
        held * 3 < intervals,
        "{held} switch events held for {intervals} waits\n{err}"
    );
    // Every wait is a sample of the profile, in few rows.
    let v = json(&data, &[]);
    assert_eq!(v["samples"].as_u64(), Some(intervals), "{err}");
    let rows = v["sample_rows"].as_u64().expect("sample_rows");
    assert!(rows * 20 < intervals, "{rows} rows for {intervals} waits");
    // The waits keep their stacks: the two napping threads spend nearly all their off-CPU
    // time in `nap`, each about 3 s of it.
    let lines: Vec<_> = folded_per_thread(&data)
        .into_iter()
        .filter(|(_, s, _)| s.iter().any(|f| f == "napper"))
        .collect();
    let total: u64 = lines.iter().map(|x| x.2).sum();
    let nap = weight_with(&lines, "nap");
    assert!(
        nap as f64 >= 0.9 * total as f64,
        "nap: {nap} of {total} ns\n{err}"
    );
    let secs = total as f64 / 1e9;
    assert!(
        (4.0..6.2).contains(&secs),
        "the napping threads were off the CPU {secs:.2} s\n{err}"
    );
}

/// `rprof report ARGS` of `file` (a relative path, as the goldens name it).
fn report_text(file: &str, args: &[&str]) -> String {
    let out = rprof()
        .arg("report")
        .args(args)
        .arg(file)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn version_3_files_read_as_the_rprof_that_wrote_them_read_them() {
    for name in ["threads", "perf-script"] {
        let file = format!("fixtures/inputs/v3/{name}.rprof");
        let bytes = std::fs::read(fixture(&format!("inputs/v3/{name}.rprof"))).expect("fixture");
        assert_eq!(&bytes[8..12], &3u32.to_le_bytes(), "{file} is version 3");
        golden(&format!("v3/{name}-report.txt"), &report_text(&file, &[]));
        golden(
            &format!("v3/{name}-threads-cpus.txt"),
            &report_text(&file, &["--sort", "thread,cpu"]),
        );
        golden(
            &format!("v3/{name}-time.txt"),
            &report_text(&file, &["--time", "0..0.25"]),
        );
        let out = rprof()
            .args(["flamegraph", "--folded", "--per-thread", "-o", "-"])
            .arg(&file)
            .output()
            .expect("runs");
        assert!(out.status.success());
        golden(
            &format!("v3/{name}.folded"),
            &String::from_utf8_lossy(&out.stdout),
        );
        // One sample a row: as many rows as samples.
        let v = json(Path::new(&file), &[]);
        assert_eq!(v["samples"], v["sample_rows"], "{file}");
    }
}
