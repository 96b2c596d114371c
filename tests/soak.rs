//! Soak and interruption tests (live; skipped without perf_event_open and gcc).
//!
//! - `record` and `flamegraph` launching a busy command are interrupted with SIGINT after a
//!   random 0.1-1.5 s: each run must leave a complete output (a data file that `report` reads
//!   with samples of the command, or an SVG that parses as XML and shows the command's
//!   functions) and no temporary file or running command behind, or fail with a clear error.
//! - `record -p PID -d 0.3` attaches to and detaches from a self-checking target again and
//!   again: the target (fixtures/soak/selfcheck.c) verifies a known checksum on every round and
//!   exits non-zero on a mismatch, so it must still be running afterwards and exit 0 when told.
//!
//! The delays come from a small LCG whose seed is printed: `RPROF_SOAK_SEED=N` replays a run.
//! `RPROF_SOAK_INTERRUPTS` (default 10, per command) and `RPROF_SOAK_ATTACH` (default 5) set
//! the counts; bench/soak/run.sh runs 100 of each. Every trial runs, failures are collected and
//! the summary printed before the test fails, so a long run reports a failure rate.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// The tests keep a CPU busy: run them one at a time even when threads are allowed.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const CFLAGS: &[&str] = &["-O1", "-g", "-fno-omit-frame-pointer"];

fn live_ok() -> bool {
    live("perf_event_open", perf_event_check()) && live("gcc", have("gcc"))
}

/// A 64-bit LCG (Knuth's MMIX constants): enough to spread delays, and replayable.
struct Lcg(u64);

impl Lcg {
    /// Seeded from RPROF_SOAK_SEED, else from the clock; the seed is printed either way.
    fn from_env(what: &str) -> Lcg {
        let seed = std::env::var("RPROF_SOAK_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("soak {what}: seed {seed} (replay with RPROF_SOAK_SEED={seed})");
        Lcg(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A delay uniformly in [lo, hi) milliseconds.
    fn delay_ms(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Pids of running processes whose executable is `exe`.
fn running(exe: &Path) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe))
        .collect()
}

/// Files in `dir` other than the expected ones: temporary files left by an interrupted write.
fn leftovers(dir: &Path, expected: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !expected.contains(&n.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Record,
    Flamegraph,
}

/// What one interrupted run ended as.
enum Outcome {
    /// A complete output with this many samples (record) or frames (flamegraph).
    Complete(u64),
    /// rprof failed cleanly (non-zero exit, a message, no output left).
    CleanError,
}

/// Runs `rprof record|flamegraph -o OUT -- busy`, sends SIGINT to rprof after `delay_ms`, and
/// checks what it left.
fn interrupt_once(kind: Kind, busy: &Path, delay_ms: u64) -> Result<Outcome, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (sub, out_name) = match kind {
        Kind::Record => ("record", "out.data"),
        Kind::Flamegraph => ("flamegraph", "out.svg"),
    };
    let out = dir.path().join(out_name);
    let child = Command::new(rprof_path())
        .arg(sub)
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(busy)
        .arg("30")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start rprof: {e}"))?;
    std::thread::sleep(Duration::from_millis(delay_ms));
    // SAFETY: kill(2) on the pid of our own child, which has not been waited for yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    // rprof passes the signal on and waits for the command; it must end soon after.
    let started = Instant::now();
    let output = child.wait_with_output().map_err(|e| format!("wait: {e}"))?;
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    if started.elapsed() > Duration::from_secs(20) {
        return Err(format!("rprof took {:?} to stop", started.elapsed()));
    }
    if err.contains("panicked") {
        return Err(format!("rprof panicked: {err}"));
    }
    let orphans = running(busy);
    if !orphans.is_empty() {
        for p in &orphans {
            // SAFETY: kill(2) with a pid read from /proc, to clean up after the failure.
            unsafe { libc::kill(*p as libc::pid_t, libc::SIGKILL) };
        }
        return Err(format!(
            "the command still runs after rprof exited: {orphans:?}"
        ));
    }
    let extra = leftovers(dir.path(), &[out_name]);
    if !extra.is_empty() {
        return Err(format!("files left behind: {extra:?}"));
    }
    if !output.status.success() {
        // Interrupted before the recording started: a clear error and no (partial) output.
        if out.exists() {
            return Err(format!(
                "rprof failed ({}) but left {out_name}: {err}",
                output.status
            ));
        }
        if !err.contains("rprof") || err.trim().is_empty() {
            return Err(format!(
                "rprof failed ({}) without a message",
                output.status
            ));
        }
        return Ok(Outcome::CleanError);
    }
    match kind {
        Kind::Record => check_data(&out),
        Kind::Flamegraph => check_svg(&out),
    }
    .map(Outcome::Complete)
    .map_err(|e| format!("{e}\nrprof stderr: {err}"))
}

/// `rprof report` reads the data file, with samples, and the busy loop among its functions.
fn check_data(out: &Path) -> Result<u64, String> {
    let r = Command::new(rprof_path())
        .arg("report")
        .arg(out)
        .args(["--format", "json", "--limit", "1000"])
        .output()
        .map_err(|e| e.to_string())?;
    if !r.status.success() {
        return Err(format!(
            "report cannot read the data file: {}",
            String::from_utf8_lossy(&r.stderr)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).map_err(|e| e.to_string())?;
    let samples = v["samples"].as_u64().unwrap_or(0);
    if samples == 0 {
        return Err("the data file has no samples".into());
    }
    let names: Vec<&str> = v["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["name"].as_str()).collect())
        .unwrap_or_default();
    if !names.contains(&"soak_inner") {
        return Err(format!("soak_inner missing from the report: {names:?}"));
    }
    Ok(samples)
}

/// The SVG is well-formed XML with frames, among them the busy loop.
fn check_svg(out: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(out).map_err(|e| format!("cannot read the SVG: {e}"))?;
    // inferno's SVG starts with a DOCTYPE, which roxmltree refuses unless told.
    let opt = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, opt)
        .map_err(|e| format!("SVG is not XML: {e}"))?;
    if doc.root_element().tag_name().name() != "svg" {
        return Err("the root element is not <svg>".into());
    }
    let titles: Vec<&str> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "title")
        .filter_map(|n| n.text())
        .collect();
    if !titles.iter().any(|t| t.starts_with("soak_inner")) {
        return Err(format!(
            "no soak_inner frame in the SVG ({} frames)",
            titles.len()
        ));
    }
    Ok(titles.len() as u64)
}

fn interruptions(kind: Kind) {
    if !live_ok() {
        return;
    }
    let _g = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let busy = compile("soak/busy.c", tmp.path(), "soak_busy", CFLAGS);
    let n = count("RPROF_SOAK_INTERRUPTS", 10);
    let mut rng = Lcg::from_env(&format!("{kind:?}"));
    let (mut complete, mut clean) = (0, 0);
    let mut sizes = Vec::new();
    let mut failures = Vec::new();
    for i in 0..n {
        let delay = rng.delay_ms(100, 1500);
        match interrupt_once(kind, &busy, delay) {
            Ok(Outcome::Complete(s)) => {
                complete += 1;
                sizes.push(s);
            }
            Ok(Outcome::CleanError) => clean += 1,
            Err(e) => failures.push(format!("trial {i} (SIGINT after {delay} ms): {e}")),
        }
    }
    let what = if kind == Kind::Record {
        "samples"
    } else {
        "frames"
    };
    eprintln!(
        "soak {kind:?}: {n} interruptions: {complete} complete ({what} {}-{}), {clean} clean errors, {} failures",
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn record_survives_random_interruptions() {
    interruptions(Kind::Record);
}

#[test]
fn flamegraph_survives_random_interruptions() {
    interruptions(Kind::Flamegraph);
}

/// One `record -p PID -d 0.3`: it must succeed with samples of the target.
fn attach_once(pid: u32, dir: &Path, i: usize) -> Result<u64, String> {
    let out = dir.join(format!("attach{i}.data"));
    let r = Command::new(rprof_path())
        .arg("record")
        .arg("-o")
        .arg(&out)
        .args(["-p", &pid.to_string(), "-d", "0.3"])
        .output()
        .map_err(|e| e.to_string())?;
    if !r.status.success() {
        return Err(format!(
            "record -p failed: {}",
            String::from_utf8_lossy(&r.stderr)
        ));
    }
    let samples = check_report_has_samples(&out)?;
    let _ = std::fs::remove_file(&out);
    Ok(samples)
}

fn check_report_has_samples(out: &Path) -> Result<u64, String> {
    let r = Command::new(rprof_path())
        .arg("report")
        .arg(out)
        .args(["--format", "json"])
        .output()
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&r.stdout)
        .map_err(|e| format!("report: {e}: {}", String::from_utf8_lossy(&r.stderr)))?;
    match v["samples"].as_u64() {
        Some(n) if n > 0 => Ok(n),
        _ => Err("no samples from the target".into()),
    }
}

#[test]
fn attach_detach_leaves_target_healthy() {
    if !live_ok() {
        return;
    }
    let _g = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let exe = compile("soak/selfcheck.c", tmp.path(), "selfcheck", CFLAGS);
    let n = count("RPROF_SOAK_ATTACH", 5);
    let mut rng = Lcg::from_env("attach");
    let mut target = Command::new(&exe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start selfcheck");
    let mut stdout = BufReader::new(target.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read ready");
    assert_eq!(line.trim(), "ready");
    let pid = target.id();
    let mut failures = Vec::new();
    let mut samples = Vec::new();
    for i in 0..n {
        match attach_once(pid, tmp.path(), i) {
            Ok(s) => samples.push(s),
            Err(e) => failures.push(format!("trial {i}: {e}")),
        }
        if let Ok(Some(st)) = target.try_wait() {
            failures.push(format!("trial {i}: the target died ({st})"));
            break;
        }
        // A random pause between detach and the next attach.
        std::thread::sleep(Duration::from_millis(rng.delay_ms(0, 200)));
    }
    // SAFETY: kill(2) on the pid of our own child.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGUSR1) };
    let out = target.wait_with_output().expect("wait selfcheck");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
    if !out.status.success() {
        failures.push(format!(
            "the target exited {} (stderr: {})",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    } else if !rest.starts_with("ok ") {
        failures.push(format!("the target did not report its rounds: {rest:?}"));
    }
    eprintln!(
        "soak attach: {n} attach/detach trials: {} ok (samples {}-{}), target {} ({}), {} failures",
        samples.len(),
        samples.iter().min().unwrap_or(&0),
        samples.iter().max().unwrap_or(&0),
        out.status,
        rest.trim(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
