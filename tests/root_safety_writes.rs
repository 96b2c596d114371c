//! Issue 18, items 1, 6 and 7: what rprof writes, run as root beside untrusted programs.
//!
//! - A symlink planted at any name rprof writes (the final name, `FILE.old`, and the
//!   predictable temporary and probe names older versions used, `.NAME.tmp.PID` and
//!   `.rprof-write-test.PID`, planted for the next few hundred pids) never makes rprof modify
//!   the file it points to, for every command that writes a file.
//! - On a full file system `record` keeps the previous recording and `strace-summary -o` leaves
//!   no empty file.
//! - Every SVG is well-formed XML whatever the function names hold.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::{fixture, live, perf_event_check, require_live, rprof, skip};

const VICTIM: &[u8] = b"root-owned content that must survive\n";

/// A file outside the output directory that planted symlinks point to.
struct Victim {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Victim {
    fn new() -> Victim {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("victim");
        fs::write(&path, VICTIM).unwrap();
        Victim { _dir: dir, path }
    }

    fn assert_intact(&self, what: &str) {
        let now = fs::read(&self.path).unwrap();
        let shown: String = String::from_utf8_lossy(&now).chars().take(120).collect();
        assert!(
            now == VICTIM,
            "{what}: the symlink target was modified ({} bytes now: {shown:?}…)",
            now.len()
        );
    }
}

/// The last pid handed out in this pid namespace.
fn last_pid() -> u32 {
    fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
}

/// Plants symlinks to `victim` at every name an rprof about to start could have used for its
/// temporary or probe file when writing `outputs` (the pid is not known in advance: the next
/// 400 are covered), and at each final name and its `.old`. Returns the planted names.
fn plant(outputs: &[&Path], victim: &Path, final_names: bool) -> Vec<PathBuf> {
    let mut planted = Vec::new();
    let next = last_pid() + 1;
    for out in outputs {
        let dir = out.parent().unwrap();
        let name = out.file_name().unwrap().to_string_lossy().into_owned();
        for pid in next..next + 400 {
            for n in [
                format!(".{name}.tmp.{pid}"),
                format!(".rprof-write-test.{pid}"),
            ] {
                let p = dir.join(n);
                if !planted.contains(&p) {
                    symlink(victim, &p).unwrap();
                    planted.push(p);
                }
            }
        }
        if final_names {
            for p in [
                out.to_path_buf(),
                PathBuf::from(format!("{}.old", out.display())),
            ] {
                symlink(victim, &p).unwrap();
                planted.push(p);
            }
        }
    }
    planted
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Checks after a run: the victim is intact, each output is now a regular file (the symlink at
/// the final name was replaced, not followed), the other planted links are untouched, and no
/// temporary file is left behind.
fn check_after(
    what: &str,
    victim: &Victim,
    dir: &Path,
    outputs: &[&Path],
    planted: &[PathBuf],
    extra: &[&str],
) {
    victim.assert_intact(what);
    for out in outputs {
        let m = fs::symlink_metadata(out).unwrap();
        assert!(
            m.file_type().is_file(),
            "{what}: {} is not a regular file",
            out.display()
        );
        assert!(m.len() > 0, "{what}: {} is empty", out.display());
    }
    for p in planted {
        if outputs.contains(&p.as_path()) {
            continue;
        }
        let m = fs::symlink_metadata(p);
        assert!(
            m.is_ok_and(|m| m.file_type().is_symlink()),
            "{what}: planted {} was replaced or removed",
            p.display()
        );
    }
    let mut expected: Vec<String> = planted
        .iter()
        .chain(
            outputs
                .iter()
                .map(|p| p.to_path_buf())
                .collect::<Vec<_>>()
                .iter(),
        )
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .chain(extra.iter().map(|s| s.to_string()))
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(listing(dir), expected, "{what}: unexpected files left");
}

fn run_ok(what: &str, cmd: &mut assert_cmd::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    out
}

#[test]
fn convert_does_not_write_through_planted_symlinks() {
    let victim = Victim::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.data");
    let planted = plant(&[&out], &victim.path, true);
    run_ok(
        "convert",
        rprof()
            .arg("convert")
            .arg(fixture("inputs/before.folded"))
            .arg("-o")
            .arg(&out),
    );
    check_after("convert", &victim, dir.path(), &[&out], &planted, &[]);
    // The file written is a real data file.
    let r = run_ok("report", rprof().arg("report").arg(&out));
    assert!(String::from_utf8_lossy(&r.stdout).contains("parse"));
}

#[test]
fn flamegraph_does_not_write_through_planted_symlinks() {
    let victim = Victim::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fg.svg");
    let planted = plant(&[&out], &victim.path, true);
    run_ok(
        "flamegraph",
        rprof()
            .arg("flamegraph")
            .arg(fixture("inputs/before.folded"))
            .arg("-o")
            .arg(&out),
    );
    check_after("flamegraph", &victim, dir.path(), &[&out], &planted, &[]);
    assert!(fs::read_to_string(&out).unwrap().contains("legacy_escape"));
    // `-o -` still writes to stdout and creates nothing.
    let before = listing(dir.path());
    let r = run_ok(
        "flamegraph -o -",
        rprof()
            .current_dir(dir.path())
            .arg("flamegraph")
            .arg(fixture("inputs/before.folded"))
            .args(["-o", "-"]),
    );
    assert!(String::from_utf8_lossy(&r.stdout).contains("<svg"));
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn diff_does_not_write_through_planted_symlinks() {
    let victim = Victim::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.svg");
    let planted = plant(&[&out], &victim.path, true);
    run_ok(
        "diff",
        rprof()
            .arg("diff")
            .arg(fixture("inputs/before.folded"))
            .arg(fixture("inputs/after.folded"))
            .arg("-o")
            .arg(&out),
    );
    check_after("diff", &victim, dir.path(), &[&out], &planted, &[]);
    assert!(fs::read_to_string(&out).unwrap().contains("<svg"));
}

#[test]
fn massif_svgs_do_not_write_through_planted_symlinks() {
    let victim = Victim::new();
    let dir = tempfile::tempdir().unwrap();
    let fg = dir.path().join("m.svg");
    let chart = dir.path().join("c.svg");
    let planted = plant(&[&fg, &chart], &victim.path, true);
    run_ok(
        "massif",
        rprof()
            .arg("massif")
            .arg(fixture("massif/normal.massif.out"))
            .arg("--flamegraph")
            .arg(&fg)
            .arg("--chart")
            .arg(&chart),
    );
    check_after("massif", &victim, dir.path(), &[&fg, &chart], &planted, &[]);
    assert!(fs::read_to_string(&fg).unwrap().contains("build_index"));
    assert!(fs::read_to_string(&chart).unwrap().contains("build_index"));
}

#[test]
fn strace_summary_does_not_write_through_a_planted_symlink() {
    let victim = Victim::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.txt");
    let planted = plant(&[&out], &victim.path, true);
    run_ok(
        "strace-summary",
        rprof()
            .arg("strace-summary")
            .arg("--from-log")
            .arg(fixture("strace/mix-tt.log"))
            .arg("-o")
            .arg(&out),
    );
    check_after(
        "strace-summary",
        &victim,
        dir.path(),
        &[&out],
        &planted,
        &[],
    );
    assert!(fs::read_to_string(&out).unwrap().contains("calls"));
}

#[test]
fn record_does_not_write_through_planted_symlinks() {
    // A failing record: the old write probe truncated the victim before the command failed.
    let victim = Victim::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rprof.data");
    let planted = plant(&[&out], &victim.path, false);
    let r = rprof()
        .arg("record")
        .arg("-o")
        .arg(&out)
        .args(["--", "rprof-no-such-command-xyz"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    victim.assert_intact("record (failing)");
    let mut expected: Vec<String> = planted
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(listing(dir.path()), expected, "record (failing) left files");

    if !live("perf_event_open", perf_event_check()) {
        return;
    }
    // A successful record, with symlinks at the final name and at FILE.old too: the link at
    // FILE is moved to FILE.old (the previous "file" kept, as always), a new regular FILE is
    // written, and the victim is untouched.
    let victim = Victim::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rprof.data");
    let planted = plant(&[&out], &victim.path, true);
    run_ok(
        "record",
        rprof().arg("record").arg("-o").arg(&out).args([
            "--",
            "sh",
            "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done",
        ]),
    );
    check_after("record", &victim, dir.path(), &[&out], &planted, &[]);
    let old = PathBuf::from(format!("{}.old", out.display()));
    assert_eq!(fs::read_link(&old).unwrap(), victim.path);
    run_ok("report", rprof().arg("report").arg(&out));
}

/// A small tmpfs mounted on a temporary directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (mount's syntax); None (with the reason printed) when this
    /// machine cannot, unless RPROF_REQUIRE_LIVE=1.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let r = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let why = match r {
            Ok(o) if o.status.success() => return Some(Tmpfs { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => e.to_string(),
        };
        if require_live() {
            panic!("mounting a tmpfs is required (RPROF_REQUIRE_LIVE=1) but failed: {why}");
        }
        skip(&format!("cannot mount a tmpfs (needs root): {why}"));
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system to the last byte.
    fn fill(&self) {
        use std::io::Write;
        let mut f = fs::File::create(self.path().join("filler")).unwrap();
        let block = vec![0u8; 4096];
        loop {
            if f.write_all(&block).is_err() {
                break;
            }
        }
        // Whatever partial page is left, take it byte by byte.
        while f.write_all(&[0]).is_ok() {}
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn record_on_a_full_disk_keeps_the_previous_recording() {
    if !live("perf_event_open", perf_event_check()) {
        return;
    }
    let Some(fs_) = Tmpfs::mount("256k") else {
        return;
    };
    let out = fs_.path().join("rprof.data");
    let previous = b"the previous recording".to_vec();
    fs::write(&out, &previous).unwrap();
    fs_.fill();
    let r = rprof()
        .arg("record")
        .arg("-o")
        .arg(&out)
        .args(["--", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains(&out.display().to_string()), "{err}");
    assert_eq!(
        fs::read(&out).unwrap(),
        previous,
        "the previous recording was lost"
    );
    assert_eq!(listing(fs_.path()), ["filler", "rprof.data"]);
}

#[test]
fn strace_summary_on_a_full_disk_leaves_no_empty_file() {
    let Some(fs_) = Tmpfs::mount("64k") else {
        return;
    };
    let out = fs_.path().join("s.txt");
    fs_.fill();
    let r = rprof()
        .arg("strace-summary")
        .arg("--from-log")
        .arg(fixture("strace/mix-tt.log"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains(&out.display().to_string()), "{err}");
    assert!(!out.exists(), "an empty {} was left", out.display());
    assert_eq!(listing(fs_.path()), ["filler"]);
}

/// Names with characters XML cannot carry.
const NASTY: &str = "ma\x01in;wo\u{fffe}rk 5\nma\x01in;\x1bidle\u{ffff} 3\nmain;ok 2\n";

fn parse_svg(what: &str, path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    // inferno's SVGs carry a DOCTYPE (no entity definitions).
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    if let Err(e) = roxmltree::Document::parse_with_options(&text, opts) {
        panic!("{what}: the SVG is not well-formed XML: {e}");
    }
    text
}

#[test]
fn flamegraph_svg_is_well_formed_with_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("nasty.folded");
    fs::write(&input, NASTY).unwrap();
    let out = dir.path().join("fg.svg");
    run_ok(
        "flamegraph",
        rprof()
            .arg("flamegraph")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .args(["--title", "T\x02itle\u{ffff}", "--subtitle", "sub\x07"]),
    );
    let text = parse_svg("flamegraph", &out);
    // The characters are spelled out, so the names still show and stay distinct.
    assert!(text.contains(r"ma\x01in"), "{text}");
    assert!(text.contains(r"wo\u{fffe}rk"), "{text}");
    assert!(text.contains(r"T\x02itle\u{ffff}"), "{text}");
    assert!(text.contains(r"sub\x07"), "{text}");
}

#[test]
fn diff_svg_is_well_formed_with_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.folded");
    let after = dir.path().join("after.folded");
    fs::write(&before, NASTY).unwrap();
    fs::write(&after, "ma\x01in;wo\u{fffe}rk 9\nmain;ok 2\n").unwrap();
    let out = dir.path().join("d.svg");
    run_ok(
        "diff",
        rprof()
            .arg("diff")
            .arg(&before)
            .arg(&after)
            .arg("-o")
            .arg(&out),
    );
    let text = parse_svg("diff", &out);
    assert!(text.contains(r"wo\u{fffe}rk"), "{text}");
}

#[test]
fn massif_svgs_are_well_formed_with_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let src = fs::read_to_string(fixture("massif/normal.massif.out")).unwrap();
    let nasty = src
        .replace("build_index", "bu\x01ild\u{fffe}_index")
        .replace("cmd: ./heap 8", "cmd: ./he\x1bap\u{ffff} 8");
    assert_ne!(nasty, src);
    let input = dir.path().join("massif.out.1");
    fs::write(&input, nasty).unwrap();
    let fg = dir.path().join("m.svg");
    let chart = dir.path().join("c.svg");
    run_ok(
        "massif",
        rprof()
            .arg("massif")
            .arg(&input)
            .arg("--flamegraph")
            .arg(&fg)
            .arg("--chart")
            .arg(&chart),
    );
    let text = parse_svg("massif --flamegraph", &fg);
    assert!(text.contains(r"bu\x01ild\u{fffe}_index"), "{text}");
    let text = parse_svg("massif --chart", &chart);
    assert!(text.contains(r"bu\x01ild\u{fffe}_index"), "{text}");
}

#[test]
fn massif_run_does_not_write_through_planted_symlinks() {
    if !live("valgrind", common::have("valgrind")) {
        return;
    }
    // valgrind itself opens its output with O_TRUNC: a symlink at --keep was followed.
    let victim = Victim::new();
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("kept.massif");
    symlink(&victim.path, &keep).unwrap();
    run_ok(
        "massif --keep",
        rprof()
            .current_dir(dir.path())
            .args(["massif", "--summary-only", "--keep"])
            .arg(&keep)
            .args(["--", "true"]),
    );
    victim.assert_intact("massif --keep");
    assert!(fs::symlink_metadata(&keep).unwrap().file_type().is_file());
    let text = fs::read_to_string(&keep).unwrap();
    // The file names itself as the user named it, not by rprof's private directory.
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!("desc: --massif-out-file={}", keep.display()),
        "{text}"
    );
    assert_eq!(listing(dir.path()), ["kept.massif"]);

    // The default name, massif.out.PID in the current directory, planted for the next pids.
    let victim = Victim::new();
    let dir = tempfile::tempdir().unwrap();
    let next = last_pid() + 1;
    for pid in next..next + 400 {
        symlink(&victim.path, dir.path().join(format!("massif.out.{pid}"))).unwrap();
    }
    let r = run_ok(
        "massif",
        rprof()
            .current_dir(dir.path())
            .args(["massif", "--summary-only", "--", "true"]),
    );
    victim.assert_intact("massif (default name)");
    let err = String::from_utf8_lossy(&r.stderr);
    let kept = err
        .lines()
        .find_map(|l| l.strip_prefix("rprof: massif output kept in "))
        .unwrap_or_else(|| panic!("{err}"));
    let kept = dir.path().join(kept);
    assert!(fs::symlink_metadata(&kept).unwrap().file_type().is_file());
    assert!(fs::read_to_string(&kept)
        .unwrap()
        .starts_with("desc: --massif-out-file=massif.out.%p\n"));
    // Nothing else was created (no private directory left behind).
    assert_eq!(listing(dir.path()).len(), 400);
}

#[test]
fn devices_and_own_descriptors_are_written_in_place() {
    // As root, a rename over /dev/null would replace the device with a regular file, and one
    // over /dev/stdout the symlink. Tried on a private copy of /dev/null (a regression must
    // not damage the machine) and on /proc/self/fd/1 (where a rename cannot happen).
    let r = run_ok(
        "strace-summary -o /proc/self/fd/1",
        rprof()
            .arg("strace-summary")
            .arg("--from-log")
            .arg(fixture("strace/mix-tt.log"))
            .args(["-o", "/proc/self/fd/1"]),
    );
    assert!(String::from_utf8_lossy(&r.stdout).contains("getppid"));

    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    let made = std::process::Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .output();
    if !made.as_ref().is_ok_and(|o| o.status.success()) {
        skip(&format!(
            "cannot make a character device (needs root): {made:?}"
        ));
        return;
    }
    let is_dev = || {
        use std::os::unix::fs::FileTypeExt;
        fs::symlink_metadata(&null)
            .unwrap()
            .file_type()
            .is_char_device()
    };
    for cmd in ["flamegraph", "convert"] {
        run_ok(
            cmd,
            rprof()
                .arg(cmd)
                .arg(fixture("inputs/before.folded"))
                .arg("-o")
                .arg(&null),
        );
        assert!(is_dev(), "{cmd} replaced the device");
    }
    if live("perf_event_open", perf_event_check()) {
        run_ok(
            "record",
            rprof()
                .arg("record")
                .arg("-o")
                .arg(&null)
                .args(["--", "true"]),
        );
        assert!(is_dev(), "record replaced the device");
    }
    assert_eq!(listing(dir.path()), ["null"]);
}
