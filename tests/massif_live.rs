//! `rprof massif -- CMD` under the real valgrind, on a C fixture with a known heap shape:
//! build_index() holds 8 MiB at the peak; leak_some() leaves 100 x 1000 bytes allocated.

mod common;

use common::{compile, have, live, rprof};

/// The byte count in a summary line such as `Peak heap: 8.00 MiB (8,392,856 B = ...`.
fn bytes_after(text: &str, prefix: &str) -> u64 {
    let l = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{text}"));
    let open = l.find('(').expect("paren");
    let num: String = l[open + 1..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    num.parse().expect("number")
}

#[test]
fn massif_live_heap_shape() {
    if !live("valgrind", have("valgrind")) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = compile("massif/heap.c", tmp.path(), "heap", &["-g", "-O0"]);
    let keep = tmp.path().join("kept.massif");
    let out = rprof()
        .current_dir(tmp.path())
        .args(["massif", "--summary-only", "--keep"])
        .arg(&keep)
        .arg("--")
        .arg(&bin)
        .arg("8")
        .output()
        .expect("runs");
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{se}");
    assert!(keep.exists(), "massif output kept");
    assert!(
        se.contains(&format!("massif output kept in {}", keep.display())),
        "{se}"
    );
    // The peak: at least 8 MiB, held by build_index at its malloc line.
    let peak = bytes_after(&so, "Peak heap:");
    assert!(peak >= 8 << 20, "peak {peak} < 8 MiB:\n{so}");
    let top = so
        .lines()
        .skip_while(|l| !l.starts_with("Top allocation sites at the peak"))
        .nth(1)
        .expect("a site line");
    assert!(top.contains("build_index (heap.c:18)"), "{top}");
    assert!(
        top.trim_start().starts_with("99."),
        "build_index share: {top}"
    );
    // The leak: 100 x 1000 bytes still allocated at exit (valgrind's exit report).
    let left = so
        .lines()
        .find(|l| l.starts_with("Still allocated at exit (possible leaks)"))
        .unwrap_or_else(|| panic!("no leak line:\n{so}"));
    assert!(
        left.contains("(100,000 B useful in 100 block(s))"),
        "{left}"
    );

    // With every snapshot detailed (the exit report is exact either way); default output name.
    let out = rprof()
        .current_dir(tmp.path())
        .args([
            "massif",
            "--summary-only",
            "--valgrind-arg=--detailed-freq=1",
            "--",
        ])
        .arg(&bin)
        .arg("8")
        .output()
        .expect("runs");
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{se}");
    let after_leak: Vec<&str> = so
        .lines()
        .skip_while(|l| !l.starts_with("Still allocated at exit"))
        .collect();
    assert!(
        after_leak
            .iter()
            .any(|l| l.contains("100.00%  100,000 B  leak_some (heap.c:39)")),
        "{so}"
    );
    let kept = se
        .lines()
        .find_map(|l| l.strip_prefix("rprof: massif output kept in "))
        .expect("output name printed");
    assert!(kept.starts_with("massif.out."), "{kept}");
    assert!(tmp.path().join(kept).exists());
}

#[test]
fn massif_without_valgrind_gives_install_hint() {
    let empty = tempfile::tempdir().expect("tmp");
    let out = rprof()
        .env("PATH", empty.path())
        .args(["massif", "--", "true"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("valgrind is not installed"), "{e}");
    assert!(e.contains("apt-get install valgrind"), "{e}");
}

#[test]
fn massif_ctrl_c_still_analyses() {
    use std::os::unix::process::CommandExt;
    if !live("valgrind", have("valgrind")) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let keep = tmp.path().join("int.massif");
    // Its own process group, so the SIGINT below reaches rprof and valgrind together, as a
    // terminal's Ctrl-C does.
    let child = std::process::Command::new(common::rprof_path())
        .current_dir(tmp.path())
        .args(["massif", "--summary-only", "--keep"])
        .arg(&keep)
        .args(["--", "sh", "-c", "sleep 30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawns");
    // Long enough for valgrind to start the program, even on a busy machine.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let pgid = child.id() as i32;
    // SAFETY: sends a signal to the process group we just created.
    unsafe { libc::kill(-pgid, libc::SIGINT) };
    let start = std::time::Instant::now();
    let out = child.wait_with_output().expect("waits");
    assert!(start.elapsed().as_secs() < 20, "did not stop on SIGINT");
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{se}");
    assert!(se.contains("the command was interrupted"), "{se}");
    assert!(so.contains("Heap profile of"), "{so}");
    assert!(keep.exists());
}
