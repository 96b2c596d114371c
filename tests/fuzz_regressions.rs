//! Replays the minimized crash inputs the fuzzer found (fixtures/fuzz/<target>/<name>) on the
//! stable toolchain, through exactly the code the fuzz target ran (fuzz/src/targets.rs is
//! included below), and through the rprof binary where the input reaches it.
//!
//! An input passes when nothing panics, no single allocation exceeds 256 MiB (the fuzz
//! targets' limit: a forged size must not reach the allocator) and the target's own checks
//! hold. A clean error is a pass. Release builds have no overflow checks, so an overflow that
//! panicked under the fuzzer is caught here by the target's invariants (a latency sum below
//! its largest call) rather than by a panic.

#[allow(dead_code)]
#[path = "../fuzz/src/targets.rs"]
mod targets;

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;

use common::*;

/// The largest single allocation an input may cause (as in fuzz/src/lib.rs).
const LIMIT: usize = 256 << 20;

thread_local! {
    /// The largest allocation this thread asked for since the last reset.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// [`System`], remembering the largest request per thread. Huge requests are still passed on
/// (overcommit usually grants them) so the test can report the input instead of aborting.
struct Tracking;

fn note(size: usize) {
    let _ = LARGEST.try_with(|c| c.set(c.get().max(size)));
}

// SAFETY: every call is forwarded to `System` unchanged.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// The kept inputs of `target`, sorted.
fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = fixture("fuzz").join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file());
    v.sort();
    v
}

/// Runs every kept input of `target` through its fuzz target body; returns the failures.
fn replay(target: &str) -> Vec<String> {
    let Some(&(_, run)) = targets::ALL.iter().find(|(n, _)| *n == target) else {
        panic!("no fuzz target named {target}");
    };
    let mut failures = Vec::new();
    for path in inputs(target) {
        let data = std::fs::read(&path).expect("read fuzz input");
        LARGEST.with(|c| c.set(0));
        let r = std::panic::catch_unwind(|| run(&data));
        let name = path.strip_prefix(root()).unwrap_or(&path).display();
        if let Err(e) = r {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{name}: panicked: {msg}"));
        }
        let largest = LARGEST.with(|c| c.get());
        if largest > LIMIT {
            failures.push(format!(
                "{name}: a single allocation of {largest} bytes (limit {LIMIT})"
            ));
        }
    }
    failures
}

fn check(target: &str) {
    let failures = replay(target);
    assert!(
        failures.is_empty(),
        "{} of {} kept {target} inputs fail:\n{}",
        failures.len(),
        inputs(target).len(),
        failures.join("\n")
    );
}

#[test]
fn every_kept_input_has_a_target() {
    let dir = fixture("fuzz");
    for e in std::fs::read_dir(&dir).expect("fixtures/fuzz").flatten() {
        if e.path().is_dir() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                targets::ALL.iter().any(|(n, _)| *n == name),
                "fixtures/fuzz/{name} matches no fuzz target"
            );
        }
    }
}

#[test]
fn data_file_inputs() {
    check("data_file");
}

#[test]
fn data_body_inputs() {
    check("data_body");
}

#[test]
fn folded_inputs() {
    check("folded");
}

#[test]
fn perf_script_inputs() {
    check("perf_script");
}

#[test]
fn perf_data_inputs() {
    check("perf_data");
}

#[test]
fn massif_inputs() {
    check("massif");
}

#[test]
fn massif_gz_inputs() {
    check("massif_gz");
}

#[test]
fn strace_log_inputs() {
    check("strace_log");
}

#[test]
fn load_inputs() {
    check("load");
}

#[test]
fn pprof_inputs() {
    check("pprof");
}

/// The kept inputs of `target` as the files a command reads: data_body inputs wrapped into a
/// data file and massif_gz inputs compressed, as their fuzz targets do, in `tmp`.
fn as_files(target: &str, tmp: &std::path::Path) -> Vec<PathBuf> {
    inputs(target)
        .into_iter()
        .map(|path| {
            let data = std::fs::read(&path).expect("read fuzz input");
            let bytes = match target {
                "data_body" => match data.split_first() {
                    Some((&1, body)) => targets::wrap_data_body(1, body),
                    Some((_, body)) => targets::wrap_data_body(rprof::profile::file::VERSION, body),
                    None => return path,
                },
                "massif_gz" if !rprof::massif::parse::is_gzip(&data) => {
                    use std::io::Write;
                    let mut e =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    e.write_all(&data).expect("gzip into a Vec");
                    e.finish().expect("gzip into a Vec")
                }
                _ => return path,
            };
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let out = tmp.join(format!("{target}-{name}"));
            std::fs::write(&out, bytes).expect("write the wrapped input");
            out
        })
        .collect()
}

/// The inputs that reach a command as a file, run through the binary: no panic (exit 101),
/// no death by a signal, and a failure names the input.
#[test]
fn the_binary_fails_cleanly_on_kept_inputs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut runs = 0;
    for (target, cmd) in [
        ("data_file", &["report"][..]),
        ("data_body", &["report"][..]),
        ("folded", &["report"][..]),
        ("perf_script", &["report"][..]),
        ("perf_data", &["report"][..]),
        ("massif", &["report"][..]),
        ("massif_gz", &["report"][..]),
        ("load", &["report"][..]),
        ("pprof", &["report"][..]),
        ("strace_log", &["strace-summary", "--from-log"][..]),
    ] {
        for path in as_files(target, tmp.path()) {
            runs += 1;
            let out = rprof()
                .args(cmd)
                .arg(&path)
                .timeout(std::time::Duration::from_secs(30))
                .output()
                .expect("run rprof");
            let err = String::from_utf8_lossy(&out.stderr);
            let name = path.strip_prefix(root()).unwrap_or(&path).display();
            if out.status.code() == Some(101) || err.contains("panicked") {
                failures.push(format!("{name}: rprof {cmd:?} panicked: {err}"));
            } else if out.status.code().is_none() {
                failures.push(format!("{name}: rprof {cmd:?} was killed ({})", out.status));
            } else if !out.status.success() && !err.contains(&*path.to_string_lossy()) {
                failures.push(format!("{name}: the error does not name the input: {err}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
