//! Runs last (cargo runs integration test binaries in name order): reports the live tests
//! this `cargo test` run skipped, in the run's last lines, where they cannot be missed. The
//! skipping tests leave markers through `common::skip`; this reads the ones of its own run
//! (keyed by cargo's pid) and removes them, with any stale ones of runs that did not finish.
//!
//! It writes to `std::io::stderr()` directly: the harness captures only the print macros
//! (`eprintln!`), so this text shows without --nocapture.

mod common;

use std::io::Write;

#[test]
fn zz_report_skipped_live_tests() {
    // SAFETY: getppid has no preconditions.
    let cargo = unsafe { libc::getppid() } as u32;
    let mine = common::skip_file_for(cargo);
    let text = std::fs::read_to_string(&mine).unwrap_or_default();
    let skipped: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    // Markers of this run are consumed; markers of runs whose cargo is gone are stale.
    if let Ok(dir) = std::fs::read_dir(common::skip_dir()) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let alive = name
                .strip_prefix("run-")
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|p| {
                    p != cargo && std::path::Path::new(&format!("/proc/{p}")).exists()
                });
            if !alive {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let mut err = std::io::stderr().lock();
    if skipped.is_empty() {
        let _ = writeln!(err, "\nrprof: no live test was skipped in this run");
    } else {
        let _ = writeln!(
            err,
            "\nrprof: {} live test{} skipped:",
            skipped.len(),
            if skipped.len() == 1 { " was" } else { "s were" }
        );
        for s in &skipped {
            let _ = writeln!(err, "  {s}");
        }
        let _ = writeln!(
            err,
            "rprof: the README's test section says what live tests need; \
             RPROF_REQUIRE_LIVE=1 makes a skip a failure"
        );
    }
    let _ = err.flush();
}
