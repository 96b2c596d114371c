//! Finding tracefs (where tracepoint ids and formats live), and mounting it when rprof runs as
//! root and it is missing, as perf's libapi does: a fresh VM or container often has
//! /sys/kernel/tracing as an empty directory. Shared by `strace-summary` and, later,
//! `record -e sched:...`.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Result};

/// Where tracefs is looked for, in order: its own mount point, then the old place under
/// debugfs.
pub const ROOTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// The hint every "no tracefs" error carries.
pub const MOUNT_HINT: &str =
    "mount it with `sudo mount -t tracefs nodev /sys/kernel/tracing` (rprof does this itself when run as root)";

/// Returns the tracefs root (the directory holding `events/`), mounting tracefs at
/// /sys/kernel/tracing first when it is missing and rprof runs as root; says so on stderr.
/// The answer is computed once per run.
pub fn ensure_tracefs() -> Result<PathBuf> {
    static ROOT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ROOT.get_or_init(|| find_or_mount().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!(e))
}

/// Where `events/` is, or why it cannot be seen.
fn find() -> Result<Option<PathBuf>> {
    for root in ROOTS {
        let events = Path::new(root).join("events");
        match std::fs::metadata(&events) {
            Ok(m) if m.is_dir() => return Ok(Some(PathBuf::from(root))),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                return Err(anyhow!(
                    "permission denied reading {}: tracefs is readable by root only here; run \
                     as root, or grant access (`sudo chmod -R go+rX {root}` or mount it with \
                     `mode=755`)",
                    events.display()
                ))
            }
            _ => {}
        }
    }
    Ok(None)
}

fn find_or_mount() -> Result<PathBuf> {
    if let Some(root) = find()? {
        return Ok(root);
    }
    let target = ROOTS[0];
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(anyhow!(
            "tracefs is not mounted (no {target}/events): {MOUNT_HINT}"
        ));
    }
    mount_tracefs(target).map_err(|e| {
        anyhow!(
            "tracefs is not mounted (no {target}/events) and mounting it failed: {e}; {MOUNT_HINT}"
        )
    })?;
    match find()? {
        Some(root) => {
            eprintln!("rprof: tracefs was not mounted; mounted it at {target} (as perf does)");
            Ok(root)
        }
        None => Err(anyhow!(
            "mounted tracefs at {target} but it has no events/ directory (a kernel without \
             tracepoints?)"
        )),
    }
}

/// `mount("nodev", target, "tracefs", 0, "")`.
fn mount_tracefs(target: &str) -> std::io::Result<()> {
    let src = c"nodev";
    let fstype = c"tracefs";
    let data = c"";
    let target = std::ffi::CString::new(target).map_err(std::io::Error::other)?;
    // SAFETY: every pointer is a valid NUL-terminated string that outlives the call.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            data.as_ptr().cast(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
