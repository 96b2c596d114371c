//! rprof runs as root beside programs it does not trust (issue 18, items 2 to 5): what it reads
//! must not hang it, exhaust its memory or copy a file it was not meant to read into a profile.
//!
//! - `/tmp/perf-PID.map` planted by a hostile JIT-like target running as `nobody`: a FIFO, a
//!   symbolic link to `/dev/zero` or to a root-only file, a hard link to a root-owned file, a
//!   root-owned map for a `nobody` process, a sparse 4 GiB file. Each is refused and named.
//! - `/dev/zero` (as a file, as stdin, through a pipe) and a FIFO without a writer as inputs.
//! - A data file whose header claims a 16 GiB body.
//!
//! Memory is bounded with `prlimit --as` so the old behaviour fails the test (allocation
//! failure aborts rprof) instead of taking the machine's memory.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{compile, fixture, have, live, perf_event_check, rprof_path};

/// Address-space limit for rprof in these tests: recording needs a few hundred MiB, the old
/// unbounded reads needed many GiB.
const AS_LIMIT: &str = "--as=1073741824";

fn is_root() -> Result<(), String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        Ok(())
    } else {
        Err("not running as root".into())
    }
}

fn live_ok() -> bool {
    live("perf_event_open", perf_event_check())
        && live("root", is_root())
        && live("gcc", have("gcc"))
        && live("setpriv", have("setpriv"))
        && live("prlimit", have("prlimit"))
}

/// A world-readable temporary directory under /tmp (hard links need the same filesystem as
/// /tmp/perf-PID.map; `nobody` must reach the target binary).
fn world_dir() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("rprof-reads")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    d
}

fn target(dir: &Path) -> PathBuf {
    compile("record/jit_planted.c", dir, "jit_planted", &["-O1"])
}

/// The target run as nobody.
fn as_nobody(bin: &Path) -> Vec<String> {
    vec![
        "setpriv".into(),
        "--reuid=nobody".into(),
        "--regid=nogroup".into(),
        "--clear-groups".into(),
        bin.display().to_string(),
    ]
}

/// Removes /tmp/perf-PID.map when dropped, whatever the test's outcome.
struct MapGuard(Option<u32>);

impl Drop for MapGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = std::fs::remove_file(format!("/tmp/perf-{pid}.map"));
        }
    }
}

/// Waits for `child` up to `limit`; kills it and panics on a timeout.
fn wait_output(mut child: Child, limit: Duration, what: &str) -> Output {
    let t0 = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().expect("output"),
            Ok(None) if t0.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what}: still running after {limit:?} (hung)");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// Starts `rprof record -o DATA -- ARGV` under the memory limit, with stdout piped so the
/// target's pid line can be read; returns the child and the pid.
fn start_record(data: &Path, argv: &[String]) -> (Child, u32) {
    let mut child = Command::new("prlimit")
        .arg(AS_LIMIT)
        .arg(rprof_path())
        .args(["record", "-o"])
        .arg(data)
        .arg("--")
        .args(argv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rprof record");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("pid line");
    let pid = line.trim().parse().unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("target printed no pid: {line:?}")
    });
    (child, pid)
}

/// Records the planted-map target in `mode` (see fixtures/record/jit_planted.c), letting
/// `plant` act once the pid is known; returns rprof's stderr and the report of the data.
fn record_planted(dir: &Path, mode: &str, plant: impl FnOnce(u32)) -> (String, String) {
    let bin = target(dir);
    let data = dir.join("planted.data");
    let mut argv = as_nobody(&bin);
    argv.extend(["1.5".to_string(), mode.to_string()]);
    let (child, pid) = start_record(&data, &argv);
    let _guard = MapGuard(Some(pid));
    plant(pid);
    let out = wait_output(child, Duration::from_secs(90), "rprof record");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "record {mode}: {:?}\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains(&format!("JIT symbols not read from /tmp/perf-{pid}.map")),
        "the refused map is named: {stderr}"
    );
    let rep = Command::new(rprof_path())
        .arg("report")
        .arg(&data)
        .output()
        .expect("report");
    let report = String::from_utf8_lossy(&rep.stdout).into_owned();
    assert!(
        rep.status.success(),
        "the data file is complete: {}",
        String::from_utf8_lossy(&rep.stderr)
    );
    // The JIT loop's samples are there, unnamed (one `[anon]+?` row for its addresses).
    assert!(report.contains("[anon]+"), "{report}");
    (stderr, report)
}

/// A perf map that names every address: if rprof reads it, its marker shows in the report.
fn secret_map(path: &Path, marker: &str, mode: u32) {
    std::fs::write(path, format!("0 ffffffffffffffff {marker}\n")).expect("write secret");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn perf_map_fifo_does_not_hang_the_recording() {
    if !live_ok() {
        return;
    }
    let dir = world_dir();
    let (stderr, _) = record_planted(dir.path(), "fifo", |_| {});
    assert!(stderr.contains("a FIFO, not a regular file"), "{stderr}");
}

#[test]
fn perf_map_symlink_to_dev_zero_is_not_read() {
    if !live_ok() {
        return;
    }
    let dir = world_dir();
    let (stderr, _) = record_planted(dir.path(), "link:/dev/zero", |_| {});
    assert!(stderr.contains("symbolic link"), "{stderr}");
}

#[test]
fn perf_map_sparse_4gib_file_is_not_read() {
    if !live_ok() {
        return;
    }
    let dir = world_dir();
    let (stderr, _) = record_planted(dir.path(), "sparse", |_| {});
    assert!(
        stderr.contains("4294967296 bytes, more than the 256 MiB"),
        "{stderr}"
    );
}

#[test]
fn perf_map_symlink_to_root_only_file_leaks_nothing() {
    if !live_ok() {
        return;
    }
    let dir = world_dir();
    let secret = dir.path().join("root-only.map");
    secret_map(&secret, "ROOT_ONLY_SYMLINKED_SECRET", 0o600);
    let mode = format!("link:{}", secret.display());
    let (stderr, report) = record_planted(dir.path(), &mode, |_| {});
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(!report.contains("ROOT_ONLY_SYMLINKED_SECRET"), "{report}");
    let data = std::fs::read(dir.path().join("planted.data")).expect("data");
    let p = rprof::profile::file::decode(&data).expect("decodes");
    assert!(
        (0..p.strings.len() as u32).all(|i| !p.str(rprof::profile::StrId(i)).contains("SECRET")),
        "no string of the profile comes from the root-only file"
    );
}

#[test]
fn perf_map_hard_link_to_root_file_is_refused() {
    if !live_ok() {
        return;
    }
    let dir = world_dir();
    let secret = dir.path().join("root-owned.map");
    secret_map(&secret, "ROOT_OWNED_HARDLINKED_SECRET", 0o644);
    let (stderr, report) = record_planted(dir.path(), "none", |pid| {
        // Planted as root: with fs.protected_hardlinks, nobody could not link root's file,
        // but an administrator's leftovers or a lax sysctl could.
        std::fs::hard_link(&secret, format!("/tmp/perf-{pid}.map")).expect("hard link");
    });
    assert!(stderr.contains("hard links"), "{stderr}");
    assert!(!report.contains("ROOT_OWNED_HARDLINKED_SECRET"), "{report}");
}

/// While the target lives its user is known: a root-owned map (one link, regular) is refused
/// for a `nobody` process, and the same map owned by `nobody` names the JIT code.
#[test]
fn perf_map_must_belong_to_the_attached_process_user() {
    if !live_ok() {
        return;
    }
    let dir = world_dir();
    let bin = target(dir.path());
    for (owner, named) in [(0u32, false), (65534, true)] {
        let mut t = Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(&bin)
            .args(["30", "none"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("target");
        let mut line = String::new();
        BufReader::new(t.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("pid");
        let pid: u32 = line.trim().parse().expect("pid");
        let _guard = MapGuard(Some(pid));
        // The code is the only executable anonymous mapping: name all of it.
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
        let range = maps
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some("rwxp"))
            .and_then(|l| l.split_whitespace().next())
            .expect("rwx mapping")
            .to_string();
        let (start, end) = range.split_once('-').expect("range");
        let len = u64::from_str_radix(end, 16).unwrap() - u64::from_str_radix(start, 16).unwrap();
        let map = format!("/tmp/perf-{pid}.map");
        std::fs::write(&map, format!("{start} {len:x} jit_spin_loop\n")).expect("map");
        std::os::unix::fs::chown(&map, Some(owner), Some(owner)).expect("chown");
        let data = dir.path().join(format!("attached-{owner}.data"));
        let out = Command::new("prlimit")
            .arg(AS_LIMIT)
            .arg(rprof_path())
            .args(["record", "-d", "1", "-p", &pid.to_string(), "-o"])
            .arg(&data)
            .output()
            .expect("record -p");
        let _ = t.kill();
        let _ = t.wait();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let rep = Command::new(rprof_path())
            .arg("report")
            .arg(&data)
            .output()
            .expect("report");
        let report = String::from_utf8_lossy(&rep.stdout);
        if named {
            assert!(report.contains("jit_spin_loop"), "{report}\n{stderr}");
            assert!(!stderr.contains("JIT symbols not read"), "{stderr}");
        } else {
            assert!(!report.contains("jit_spin_loop"), "{report}");
            assert!(
                stderr.contains("owned by uid 0, but the process runs as uid 65534"),
                "{stderr}"
            );
        }
    }
}

/// Runs `sh -c SCRIPT` (rprof as `$R`) under the memory limit and a time limit.
fn sh_limited(script: &str) -> Output {
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("R", rprof_path())
        .env("AS", AS_LIMIT)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh");
    wait_output(child, Duration::from_secs(30), script)
}

#[test]
fn dev_zero_as_input_is_a_clear_error() {
    if !live("prlimit", have("prlimit")) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.data");
    let out = out.display();
    let cases = [
        ("prlimit $AS $R report /dev/zero", "is a character device"),
        (
            "prlimit $AS $R flamegraph /dev/zero",
            "is a character device",
        ),
        (
            &*format!("prlimit $AS $R convert /dev/zero -o {out}"),
            "is a character device",
        ),
        ("prlimit $AS $R massif /dev/zero", "is a character device"),
        (
            "prlimit $AS $R report - < /dev/zero",
            "standard input is a character device",
        ),
        (
            "prlimit $AS $R massif - < /dev/zero",
            "standard input is a character device",
        ),
        (
            "cat /dev/zero | prlimit $AS $R report -",
            "not a profile: binary data",
        ),
        (
            "cat /dev/zero | prlimit $AS $R flamegraph -",
            "not a profile: binary data",
        ),
        (
            &*format!("cat /dev/zero | prlimit $AS $R convert - -o {out}"),
            "not a profile: binary data",
        ),
        // Endless text that looks like a profile: the stream limit, named.
        (
            "yes 'main;work 1' | RPROF_MAX_INPUT=16M prlimit $AS $R report -",
            "more than 16 MiB read from a pipe or standard input",
        ),
    ];
    for (script, want) in cases {
        let o = sh_limited(script);
        let stderr = String::from_utf8_lossy(&o.stderr);
        // Exit 1: a clean error, not a signal (an allocation failure aborts).
        assert_eq!(
            o.status.code(),
            Some(1),
            "{script}: {:?}\n{stderr}",
            o.status
        );
        assert!(
            stderr.contains(want),
            "{script}: want `{want}` in\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{script}: {stderr}");
    }
}

/// Opening a FIFO with no writer does not block: rprof gets as far as holding it open (it
/// then waits, interruptibly, for a writer), and a later writer is read normally.
#[test]
fn fifo_without_writer_does_not_block_in_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("in.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    for cmd in ["report", "flamegraph", "massif"] {
        let child = Command::new(rprof_path())
            .arg(cmd)
            .arg(&fifo)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let fd_dir = format!("/proc/{}/fd", child.id());
        let holds_fifo = || {
            std::fs::read_dir(&fd_dir)
                .map(|rd| {
                    rd.flatten()
                        .any(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == fifo))
                })
                .unwrap_or(false)
        };
        let t0 = Instant::now();
        while !holds_fifo() && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let opened = holds_fifo();
        // Ctrl-C ends the wait.
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .expect("kill");
        let out = wait_output(child, Duration::from_secs(10), "rprof after SIGINT");
        assert!(opened, "{cmd}: the FIFO was never opened (blocked in open)");
        assert!(!out.status.success(), "{cmd}");
    }
    // A writer that comes later is read.
    let child = Command::new(rprof_path())
        .arg("report")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(300));
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("writer");
    w.write_all(b"main;late_writer 7\n").expect("write");
    drop(w);
    let out = wait_output(child, Duration::from_secs(20), "rprof report FIFO");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("late_writer"));
}

/// A data file whose header claims a 16 GiB body (checksums fixed up) fails cleanly without
/// reserving 16 GiB first.
#[test]
fn data_file_claiming_a_16_gib_body_is_a_clear_error() {
    if !live("prlimit", have("prlimit")) {
        return;
    }
    let mut bytes = std::fs::read(fixture("inputs/perf-script.rprof")).expect("fixture");
    bytes[16..24].copy_from_slice(&(16u64 << 30).to_le_bytes());
    let h = crc32fast::hash(&bytes[..36]);
    bytes[36..40].copy_from_slice(&h.to_le_bytes());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge-body.data");
    std::fs::write(&path, &bytes).expect("write");
    for cmd in ["report", "flamegraph", "convert"] {
        let mut script = format!("prlimit $AS $R {cmd} '{}'", path.display());
        if cmd == "convert" {
            script.push_str(&format!(" -o '{}'", dir.path().join("out.data").display()));
        }
        let o = sh_limited(&script);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{script}: {:?}\n{stderr}",
            o.status
        );
        assert!(stderr.contains("data file is corrupted"), "{stderr}");
        assert!(stderr.contains("17179869184"), "{stderr}");
    }
}

/// Adds a `.gnu_debuglink` section naming `name`, with the CRC-32 of `debug`, laid out as GNU
/// objcopy does (objcopy's own `--add-gnu-debuglink` keeps only a base name).
fn add_debuglink(bin: &Path, name: &str, debug: &Path) {
    let mut sec = name.as_bytes().to_vec();
    sec.push(0);
    while sec.len() % 4 != 0 {
        sec.push(0);
    }
    let crc = crc32fast::hash(&std::fs::read(debug).expect("debug file"));
    sec.extend_from_slice(&crc.to_le_bytes());
    let raw = bin.with_extension("debuglink");
    std::fs::write(&raw, &sec).expect("section");
    let st = Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".gnu_debuglink={}", raw.display()))
        .arg(bin)
        .status()
        .expect("objcopy");
    assert!(st.success());
}

/// Records a binary stripped of its DWARF whose `.gnu_debuglink` names `../secret/...`
/// (CRC right): the debug file outside the documented places is not read, so no file:line
/// appears. The same file under a plain name next to the binary is used (control).
#[test]
fn record_does_not_follow_a_debuglink_with_a_path() {
    if !live_ok() || !live("objcopy", have("objcopy")) {
        return;
    }
    let dir = world_dir();
    let d = dir.path();
    std::fs::create_dir(d.join("bin")).expect("mkdir");
    std::fs::create_dir(d.join("secret")).expect("mkdir");
    let run = |prog: &str, args: &[&std::ffi::OsStr]| {
        let st = Command::new(prog).args(args).status().expect(prog);
        assert!(st.success(), "{prog} {args:?}");
    };
    let bin = compile(
        "record/split.c",
        &d.join("bin"),
        "split",
        &["-O1", "-g", "-Wl,--build-id=none"],
    );
    let secret = d.join("secret/split.debug");
    run(
        "objcopy",
        &[
            "--only-keep-debug".as_ref(),
            bin.as_os_str(),
            secret.as_os_str(),
        ],
    );
    run("strip", &["--strip-debug".as_ref(), bin.as_os_str()]);
    let plain = d.join("bin/plain");
    std::fs::copy(&bin, &plain).expect("copy");
    std::fs::copy(&secret, d.join("bin/plain.debug")).expect("copy");
    add_debuglink(&bin, "../secret/split.debug", &secret);
    add_debuglink(&plain, "plain.debug", &secret);
    for (prog, lines) in [(&bin, false), (&plain, true)] {
        let data = d.join("split.data");
        let out = Command::new(rprof_path())
            .args(["record", "-o"])
            .arg(&data)
            .arg("--")
            .arg(prog)
            .arg("1")
            .output()
            .expect("record");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rep = Command::new(rprof_path())
            .args(["report", "--sort", "line"])
            .arg(&data)
            .output()
            .expect("report");
        let report = String::from_utf8_lossy(&rep.stdout);
        assert!(
            report.contains("work_sixty") || report.contains("split.c"),
            "{report}"
        );
        assert_eq!(
            report.contains("split.c:"),
            lines,
            "{}: source lines {}expected:\n{report}",
            prog.display(),
            if lines { "" } else { "not " }
        );
    }
}
