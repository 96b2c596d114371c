//! Helpers shared by the integration tests: the binary, live-facility gating, C fixture
//! compilation and golden files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The rprof binary under test.
pub fn rprof() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("rprof").expect("rprof binary")
}

/// Path of the rprof binary, for spawning it with std::process.
pub fn rprof_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("rprof")
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under fixtures/.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// True when `RPROF_REQUIRE_LIVE=1`: a missing facility fails instead of skipping.
pub fn require_live() -> bool {
    std::env::var("RPROF_REQUIRE_LIVE").is_ok_and(|v| v == "1")
}

/// Decides whether a live test runs. When `check` reports the facility missing, the test is
/// skipped with the reason printed, unless RPROF_REQUIRE_LIVE=1, where it fails.
pub fn live(facility: &str, check: Result<(), String>) -> bool {
    match check {
        Ok(()) => true,
        Err(why) => {
            if require_live() {
                panic!("{facility} is required (RPROF_REQUIRE_LIVE=1) but unavailable: {why}");
            }
            skip(&format!("{facility} unavailable: {why}"));
            false
        }
    }
}

/// Directory of the skip markers: each skipped live test leaves one line there, and the
/// last test binary (`zz_live_summary`) reports them at the end of the run, where a reader
/// looks (the harness hides a passing test's output unless --nocapture).
pub fn skip_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rprof-live-skips")
}

/// The marker file of this `cargo test` run: named after cargo's pid (the parent of every
/// test binary it runs), so markers of earlier or concurrent runs are not counted.
pub fn skip_file_for(cargo_pid: u32) -> PathBuf {
    skip_dir().join(format!("run-{cargo_pid}"))
}

/// Records that the current test skipped its live part, and why (also printed, as before).
pub fn skip(why: &str) {
    eprintln!("SKIP: {why}");
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let bin = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| {
            s.rsplit_once('-')
                .map_or(s.clone(), |(name, _hash)| name.to_string())
        })
        .unwrap_or_default();
    let _ = std::fs::create_dir_all(skip_dir());
    // SAFETY: getppid has no preconditions.
    let cargo = unsafe { libc::getppid() } as u32;
    let line = format!("{bin}::{test}: {}\n", why.replace('\n', " "));
    // One append per line: concurrent test binaries cannot interleave within it.
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skip_file_for(cargo))
    {
        let _ = std::io::Write::write_all(&mut f, line.as_bytes());
    }
}

/// Whether perf_event_open works for a software cpu-clock event on this process.
pub fn perf_event_check() -> Result<(), String> {
    #[repr(C)]
    #[derive(Default)]
    struct Attr {
        type_: u32,
        size: u32,
        config: u64,
        sample_period: u64,
        sample_type: u64,
        read_format: u64,
        flags: u64,
        rest: [u64; 12],
    }
    let mut attr = Attr {
        type_: 1, // PERF_TYPE_SOFTWARE
        size: std::mem::size_of::<Attr>() as u32,
        config: 0, // PERF_COUNT_SW_CPU_CLOCK
        sample_period: 1_000_000,
        // disabled | exclude_kernel | exclude_hv
        flags: 1 | (1 << 5) | (1 << 6),
        ..Default::default()
    };
    // SAFETY: a valid attr struct and plain integer arguments.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &mut attr as *mut Attr,
            0,
            -1,
            -1,
            0,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        let paranoid =
            std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid").unwrap_or_default();
        return Err(format!(
            "perf_event_open failed: {e} (perf_event_paranoid={})",
            paranoid.trim()
        ));
    }
    // SAFETY: fd was returned by the kernel above.
    unsafe { libc::close(fd as i32) };
    Ok(())
}

/// Whether a program is on PATH.
pub fn have(prog: &str) -> Result<(), String> {
    match Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {prog}"))
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err(format!("`{prog}` not found on PATH")),
    }
}

/// Compiles a C (or C++ for .cc/.cpp) fixture into `out_dir`, returning the binary path.
pub fn compile(src_rel: &str, out_dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let src = fixture(src_rel);
    let out = out_dir.join(name);
    let cxx = src_rel.ends_with(".cc") || src_rel.ends_with(".cpp");
    let compiler = if cxx { "g++" } else { "gcc" };
    let status = Command::new(compiler)
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .arg("-lpthread")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(status.success(), "{compiler} failed on {}", src.display());
    out
}

/// Compares `actual` with fixtures/expected/`name`; with RPROF_BLESS=1 rewrites it instead.
pub fn golden(name: &str, actual: &str) {
    let path = fixture("expected").join(name);
    if std::env::var("RPROF_BLESS").is_ok_and(|v| v == "1") {
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).expect("create expected dir");
        }
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run with RPROF_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "output differs from {} (rerun with RPROF_BLESS=1 to accept)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}

/// Whether strace-summary's in-kernel (BPF) backend loads here, gated like every live test.
pub fn bpf_live() -> bool {
    let check = rprof::strace::bpf::Tracer::load(rprof::strace::bpf::Mode::Timed)
        .map(|_| ())
        .map_err(|e| format!("{e:#}"));
    live("BPF (in-kernel syscall tracing)", check)
}

/// Attaches `rprof strace-summary ARGS -p PID` (JSON on stdout) to a fixture waiting on its
/// stdin, waits until rprof says it traces with the bpf backend, then writes `release` to the
/// fixture so its work starts under the tracer. Both must exit 0; returns (stdout, the rest of
/// stderr after the "tracing pid" line).
pub fn strace_attach_bpf(
    target: &mut std::process::Child,
    args: &[&str],
    env: &[(&str, &str)],
    release: &[u8],
) -> (String, String) {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut c = Command::new(rprof_path());
    c.args(["strace-summary", "--format", "json"])
        .args(args)
        .args(["-p", &target.id().to_string()])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut tracer = c.spawn().expect("start rprof");
    let mut err = BufReader::new(tracer.stderr.take().expect("stderr"));
    let mut line = String::new();
    loop {
        line.clear();
        if err.read_line(&mut line).unwrap_or(0) == 0 || Instant::now() > deadline {
            panic!("rprof did not start tracing (last line: {line:?})");
        }
        if line.contains("tracing pid") {
            assert!(line.contains("with the bpf backend"), "{line}");
            break;
        }
    }
    target
        .stdin
        .as_mut()
        .expect("fixture stdin")
        .write_all(release)
        .expect("release fixture");
    let mut out = String::new();
    tracer
        .stdout
        .as_mut()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    let mut rest = String::new();
    err.read_to_string(&mut rest).expect("read");
    assert!(tracer.wait().expect("wait").success(), "{rest}");
    assert!(target.wait().expect("wait").success());
    (out, rest)
}

/// (syscall -> row) of every table of a strace-summary JSON output, tables in order.
pub fn strace_json_tables(json: &str) -> Vec<std::collections::HashMap<String, serde_json::Value>> {
    let v: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
    v["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            t["syscalls"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| (r["syscall"].as_str().unwrap_or("").to_string(), r.clone()))
                .collect()
        })
        .collect()
}

/// Runs `cmd` to completion (a failure to start it fails the test).
pub fn run_cmd(cmd: &mut Command) -> std::process::Output {
    cmd.output().expect("runs")
}

/// Runs `cmd` and fails the test, with its stderr, unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = run_cmd(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `rprof report DATA --format json --limit 1000 EXTRA…`, parsed.
pub fn report_json(data: &Path, extra: &[&str]) -> serde_json::Value {
    let out = run_ok(
        Command::new(rprof_path())
            .arg("report")
            .arg(data)
            .args(["--format", "json", "--limit", "1000"])
            .args(extra),
    );
    serde_json::from_slice(&out.stdout).expect("json report")
}

/// rprof with ARGS from the repository root: (succeeded, stdout, stderr).
pub fn run_in_root(args: &[&str]) -> (bool, String, String) {
    let out = rprof()
        .current_dir(root())
        .args(args)
        .output()
        .expect("run rprof");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A recording's per-thread folded stacks (`flamegraph --folded --per-thread`): (thread
/// label, frames root first, weight).
pub fn folded_per_thread(data: &Path) -> Vec<(String, Vec<String>, u64)> {
    let out = run_ok(
        Command::new(rprof_path())
            .args(["flamegraph", "--folded", "--per-thread", "-o", "-"])
            .arg(data),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (stack, w) = l.rsplit_once(' ')?;
            let mut frames = stack.split(';').map(str::to_string);
            let thread = frames.next()?;
            Some((thread, frames.collect(), w.parse().ok()?))
        })
        .collect()
}

/// The weight of the stacks of `lines` (from [`folded_per_thread`]) that hold frame `f`.
pub fn weight_with(lines: &[(String, Vec<String>, u64)], f: &str) -> u64 {
    lines
        .iter()
        .filter(|(_, s, _)| s.iter().any(|x| x == f))
        .map(|x| x.2)
        .sum()
}
