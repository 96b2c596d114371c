//! Live tests of the DWARF unwinding core (src/unwind/dwarf.rs) on real processes: fixtures built
//! without frame pointers are stopped with ptrace at arbitrary points (PTRACE_INTERRUPT, like a
//! sampling interrupt), their registers and 32 KiB of stack are copied exactly as
//! PERF_SAMPLE_REGS_USER / PERF_SAMPLE_STACK_USER would deliver them, and the unwound frames are
//! checked against the fixtures' symbol tables.
//!
//! The crate is a binary, so the module is compiled into this test directly.

#[allow(dead_code)]
#[path = "../src/unwind/dwarf.rs"]
mod dwarf;

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dwarf::{is_thread_entry, ModuleCache, ProcessUnwinder, UnwindOutcome};
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use object::{Object, ObjectSegment, ObjectSymbol, SegmentFlags, SymbolKind};

/// Bytes of stack copied per snapshot: twice record's planned default, so a test failure means
/// unwinding is wrong rather than the copy short.
const STACK_BYTES: usize = 32 * 1024;

/// Registers and stack of one stopped thread, as a perf sample would carry them.
#[derive(Clone)]
struct Snapshot {
    ip: u64,
    sp: u64,
    bp: u64,
    stack: Vec<u8>,
}

/// One executable mapping from /proc/PID/maps.
#[derive(Clone, Debug)]
struct Mapping {
    start: u64,
    end: u64,
    offset: u64,
    path: String,
}

/// A fixture process, killed and reaped on drop.
struct Target {
    child: Child,
    pid: Pid,
    /// Threads we seized: after SIGKILL each must be reaped by us (the tracer) with __WALL,
    /// or the thread-group leader stays a zombie and `Child::wait` blocks forever.
    traced: Vec<Pid>,
    /// The fixture's stdout, past its "ready" line.
    lines: BufReader<std::process::ChildStdout>,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        for &tid in self.traced.iter().filter(|&&t| t != self.pid) {
            let _ = waitpid(tid, Some(WaitPidFlag::__WALL));
        }
        let _ = self.child.wait();
    }
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Builds a C fixture the way issue 4 asks: optimised, with debug info, without frame pointers.
fn build_c(dir: &Path, src: &str, name: &str) -> PathBuf {
    common::compile(
        &format!("unwind/{src}"),
        dir,
        name,
        &["-O2", "-g", "-fomit-frame-pointer"],
    )
}

/// Starts `exe` with `args` and waits for its "ready" line, so every library is mapped and main
/// is running.
fn start_with_args(exe: &Path, args: &[&str]) -> Target {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", exe.display()));
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout);
    let mut line = String::new();
    lines.read_line(&mut line).expect("read ready line");
    assert_eq!(line.trim(), "ready", "fixture did not start");
    let pid = Pid::from_raw(child.id() as i32);
    Target {
        child,
        pid,
        traced: Vec::new(),
        lines,
    }
}

impl Target {
    /// Sends a line to the fixture's stdin and waits for its next stdout line.
    fn say(&mut self, line: &str) -> String {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write to fixture");
        stdin.flush().expect("flush");
        let mut reply = String::new();
        self.lines.read_line(&mut reply).expect("read fixture");
        reply.trim().to_string()
    }
}

/// Seizes every thread of the target; Err when ptrace is not permitted here.
fn seize_all(pid: Pid, traced: &mut Vec<Pid>) -> Result<Vec<Pid>, String> {
    let mut tids = Vec::new();
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| e.to_string())?;
    for entry in dir {
        let name = entry.map_err(|e| e.to_string())?.file_name();
        let tid: i32 = name.to_string_lossy().parse().map_err(|_| "bad tid")?;
        tids.push(Pid::from_raw(tid));
    }
    tids.sort();
    for &tid in &tids {
        ptrace::seize(tid, ptrace::Options::empty()).map_err(|e| format!("PTRACE_SEIZE: {e}"))?;
        traced.push(tid);
    }
    Ok(tids)
}

fn read_mem(pid: Pid, addr: u64, len: usize) -> Vec<u8> {
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open /proc/PID/mem");
    let mut buf = vec![0u8; len];
    let mut got = 0;
    // The stack mapping may end before addr + len; keep what is readable, as perf's dyn_size does.
    while got < len {
        match mem.read_at(&mut buf[got..], addr + got as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    buf.truncate(got);
    buf
}

/// Stops `tid`, copies its registers and stack, and lets it run again.
fn snapshot(tid: Pid) -> Snapshot {
    snapshot_sized(tid, STACK_BYTES)
}

/// [`snapshot`] copying `stack_bytes` of stack.
fn snapshot_sized(tid: Pid, stack_bytes: usize) -> Snapshot {
    ptrace::interrupt(tid).expect("PTRACE_INTERRUPT");
    let resume = loop {
        match waitpid(tid, Some(WaitPidFlag::__WALL)).expect("waitpid") {
            WaitStatus::PtraceEvent(..) => break None,
            // A signal arrived first: take the sample there and deliver the signal on resume.
            WaitStatus::Stopped(_, sig) => break Some(sig),
            WaitStatus::Exited(..) | WaitStatus::Signaled(..) => panic!("fixture died"),
            _ => continue,
        }
    };
    let regs = ptrace::getregs(tid).expect("PTRACE_GETREGS");
    let stack = read_mem(tid, regs.rsp, stack_bytes);
    ptrace::cont(tid, resume.filter(|s| *s != Signal::SIGSTOP)).expect("PTRACE_CONT");
    Snapshot {
        ip: regs.rip,
        sp: regs.rsp,
        bp: regs.rbp,
        stack,
    }
}

fn exec_mappings(pid: Pid) -> Vec<Mapping> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("read maps");
    maps.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let (s, e) = it.next()?.split_once('-')?;
            let perms = it.next()?;
            let offset = u64::from_str_radix(it.next()?, 16).ok()?;
            let path = it.nth(2).unwrap_or("").to_string();
            if !perms.contains('x') {
                return None;
            }
            Some(Mapping {
                start: u64::from_str_radix(s, 16).ok()?,
                end: u64::from_str_radix(e, 16).ok()?,
                offset,
                path,
            })
        })
        .collect()
}

/// Registers every executable mapping of `pid`, the way record will at attach time.
fn unwinder_for(pid: Pid, maps: &[Mapping], cache: &ModuleCache) -> ProcessUnwinder {
    let mut u = ProcessUnwinder::with_cache(cache.clone());
    for m in maps {
        if m.path == "[vdso]" {
            let bytes = read_mem(pid, m.start, (m.end - m.start) as usize);
            u.add_module_bytes("[vdso]", &bytes, m.start, m.end)
                .expect("vdso has unwind info");
        } else if m.path.starts_with('/') {
            u.add_module(Path::new(&m.path), m.start, m.end, m.offset)
                .unwrap_or_else(|e| panic!("{}: {e}", m.path));
        }
    }
    u
}

/// A test-side symbolizer, independent of the unwinder: ELF symbol tables (.symtab, else
/// .dynsym) of each mapped file, load bias from the PT_LOAD segment holding the mapping offset.
struct Symbols {
    modules: Vec<SymbolModule>,
}

/// One mapped file: its mapping, load bias and sorted (start, end, name) function symbols.
struct SymbolModule {
    map: Mapping,
    bias: u64,
    syms: Vec<(u64, u64, String)>,
}

impl Symbols {
    fn new(maps: &[Mapping]) -> Self {
        let mut modules = Vec::new();
        for m in maps.iter().filter(|m| m.path.starts_with('/')) {
            let data = std::fs::read(&m.path).expect("read module");
            let file = object::File::parse(&*data).expect("parse module");
            // Executable mappings come from the executable segment; with linkers that pack
            // segments without page alignment the read-only one may cover the same page.
            let seg = file
                .segments()
                .filter(|s| {
                    let (off, size) = s.file_range();
                    off & !4095 <= m.offset && m.offset < off + size
                })
                .max_by_key(|s| {
                    matches!(s.flags(), SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_X != 0)
                })
                .expect("segment for mapping");
            let bias = m.start - (seg.address() + m.offset - seg.file_range().0);
            let mut syms: Vec<(u64, u64, String)> = file
                .symbols()
                .chain(file.dynamic_symbols())
                .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
                .filter_map(|s| {
                    let name = s.name().ok()?;
                    let name = format!("{:#}", rustc_demangle::demangle(name));
                    Some((s.address(), s.address() + s.size(), name))
                })
                .collect();
            syms.sort();
            modules.push(SymbolModule {
                map: m.clone(),
                bias,
                syms,
            });
        }
        Symbols { modules }
    }

    /// Module file name of a lookup address ("[vdso]" and "?" for the rest).
    fn module(&self, lookup: u64) -> String {
        self.modules
            .iter()
            .find(|m| (m.map.start..m.map.end).contains(&lookup))
            .map(|m| {
                Path::new(&m.map.path)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_else(|| "?".to_string())
    }

    /// Function name of a lookup address, or `?@module`.
    fn name(&self, lookup: u64) -> String {
        for SymbolModule { map, bias, syms } in &self.modules {
            if !(map.start..map.end).contains(&lookup) {
                continue;
            }
            let svma = lookup - bias;
            let i = syms.partition_point(|s| s.0 <= svma);
            if let Some((_, end, name)) = i.checked_sub(1).and_then(|i| syms.get(i)) {
                if svma < *end {
                    return name.clone();
                }
            }
        }
        format!("?@{}", self.module(lookup))
    }

    /// Names of unwound frames: the first at ip, the others at return address - 1.
    fn frames(&self, frames: &[u64]) -> Vec<String> {
        frames
            .iter()
            .enumerate()
            .map(|(i, &a)| self.name(if i == 0 { a } else { a - 1 }))
            .collect()
    }
}

/// Everything a live test needs, or None when ptrace is unavailable (skip), panicking under
/// RPROF_REQUIRE_LIVE=1.
struct Session {
    target: Target,
    tids: Vec<Pid>,
    maps: Vec<Mapping>,
    unwinder: ProcessUnwinder,
    symbols: Symbols,
}

fn session(exe: &Path) -> Option<Session> {
    session_with_args(exe, &[])
}

fn session_with_args(exe: &Path, args: &[&str]) -> Option<Session> {
    let mut target = start_with_args(exe, args);
    let tids = match seize_all(target.pid, &mut target.traced) {
        Ok(t) => t,
        Err(why) => {
            common::live("ptrace", Err(why));
            return None;
        }
    };
    let maps = exec_mappings(target.pid);
    let unwinder = unwinder_for(target.pid, &maps, &ModuleCache::new());
    let symbols = Symbols::new(&maps);
    Some(Session {
        target,
        tids,
        maps,
        unwinder,
        symbols,
    })
}

/// One unwound snapshot: frame names, outcome, and whether its ip was in the wanted leaf.
struct Sample {
    names: Vec<String>,
    outcome: UnwindOutcome,
    hit: bool,
}

/// Samples `tid` until `want` snapshots have their ip in a function named `leaf` (or in a
/// module named `leaf` when it starts with '[', `[libm]` meaning libm.so), unwinding and naming every snapshot taken.
/// Returns all (names, outcome) of every snapshot and how many matched.
fn sample_until(s: &mut Session, tid: Pid, leaf: &str, want: usize) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut frames = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while out.iter().filter(|x: &&Sample| x.hit).count() < want {
        assert!(
            Instant::now() < deadline,
            "never stopped inside {leaf}; last stacks: {:?}",
            out[out.len().saturating_sub(3)..]
                .iter()
                .map(|x| &x.names)
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(3));
        let snap = snapshot(tid);
        frames.clear();
        let outcome = s
            .unwinder
            .unwind(snap.ip, snap.sp, snap.bp, &snap.stack, &mut frames);
        let names = s.symbols.frames(&frames);
        let hit = if leaf == "[libm]" {
            s.unwinder
                .module_name_at(snap.ip)
                .is_some_and(|m| m.contains("/libm.so"))
        } else if leaf.starts_with('[') {
            s.unwinder.module_name_at(snap.ip) == Some(leaf)
        } else {
            names[0] == leaf
        };
        out.push(Sample {
            names,
            outcome,
            hit,
        });
    }
    out
}

fn live_tools(tools: &[&str]) -> bool {
    tools.iter().all(|t| common::live(t, common::have(t)))
}

#[test]
fn c_chain_without_frame_pointers_unwinds_to_start() {
    if !live_tools(&["gcc"]) {
        return;
    }
    let dir = tmpdir();
    let exe = build_c(dir.path(), "chain.c", "chain");
    let Some(mut s) = session(&exe) else { return };
    let tid = s.tids[0];
    let samples = sample_until(&mut s, tid, "c", 10);
    for Sample {
        names,
        outcome,
        hit,
    } in &samples
    {
        // Wherever the thread was stopped (c, b, a, main, loop glue), the stack is whole.
        assert_eq!(*outcome, UnwindOutcome::Complete, "{names:?}");
        assert_eq!(
            names.last().map(String::as_str),
            Some("_start"),
            "{names:?}"
        );
        assert!(is_thread_entry(&names[names.len() - 1]));
        assert!(names.iter().any(|n| n == "main"), "{names:?}");
        if *hit {
            assert_eq!(&names[..4], ["c", "b", "a", "main"], "{names:?}");
            // main's callers are libc's start code, then the executable's _start.
            let libc_frames = &names[4..names.len() - 1];
            assert!(!libc_frames.is_empty(), "{names:?}");
        }
    }
    eprintln!("{} snapshots, e.g. {:?}", samples.len(), samples[0].names);

    // Contrast: the frame-pointer chain of the same kind of snapshot does not recover the
    // callers, which shows the fixture really has no frame pointers (and why DWARF is needed).
    let mut fp_complete = 0;
    for _ in 0..10 {
        let snap = loop {
            let snap = snapshot(tid);
            if s.symbols.name(snap.ip) == "c" {
                break snap;
            }
        };
        let fp = s.symbols.frames(&frame_pointer_chain(&snap));
        if fp.len() >= 4 && fp[..4] == ["c", "b", "a", "main"] {
            fp_complete += 1;
        }
    }
    assert!(fp_complete < 10, "frame pointers unexpectedly intact");
}

/// What a kernel frame-pointer callchain would give: follow saved rbp links on the stack copy.
fn frame_pointer_chain(snap: &Snapshot) -> Vec<u64> {
    let read = |addr: u64| -> Option<u64> {
        let off = usize::try_from(addr.checked_sub(snap.sp)?).ok()?;
        let bytes = snap.stack.get(off..off + 8)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    };
    let mut out = vec![snap.ip];
    let mut bp = snap.bp;
    while out.len() < 64 {
        let (Some(next_bp), Some(ret)) = (read(bp), read(bp.wrapping_add(8))) else {
            break;
        };
        if ret == 0 || next_bp <= bp {
            break;
        }
        out.push(ret);
        bp = next_bp;
    }
    out
}

#[test]
fn qsort_comparator_unwinds_through_libc() {
    if !live_tools(&["gcc"]) {
        return;
    }
    let dir = tmpdir();
    let exe = build_c(dir.path(), "qsort_cb.c", "qsort_cb");
    let Some(mut s) = session(&exe) else { return };
    let tid = s.tids[0];
    let samples = sample_until(&mut s, tid, "compare_keys", 10);
    let libc = s
        .maps
        .iter()
        .find(|m| m.path.contains("/libc.so"))
        .map(|m| m.path.clone())
        .expect("libc mapped");
    let libc_name = Path::new(&libc)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    for Sample {
        names,
        outcome,
        hit,
    } in &samples
    {
        assert_eq!(*outcome, UnwindOutcome::Complete, "{names:?}");
        assert_eq!(
            names.last().map(String::as_str),
            Some("_start"),
            "{names:?}"
        );
        if !*hit {
            continue;
        }
        let main_at = names.iter().position(|n| n == "main").expect("main");
        // compare_keys <- libc's sort internals <- qsort (libc) <- main.
        assert!(main_at >= 2, "{names:?}");
        for n in &names[1..main_at] {
            assert!(
                n.ends_with(&format!("@{libc_name}")) || n.contains("qsort") || n.contains("msort"),
                "frame {n} between comparator and main is not in libc: {names:?}"
            );
        }
        let caller_of_main = &names[main_at - 1];
        assert!(
            caller_of_main.contains("qsort"),
            "main's callee is {caller_of_main}, not qsort: {names:?}"
        );
    }
    let hit = samples.iter().find(|x| x.hit).map(|x| &x.names);
    eprintln!("{} snapshots, e.g. {hit:?}", samples.len());
}

#[test]
fn two_threads_both_unwound() {
    if !live_tools(&["gcc"]) {
        return;
    }
    let dir = tmpdir();
    let exe = build_c(dir.path(), "threads.c", "threads");
    let Some(mut s) = session(&exe) else { return };
    assert_eq!(s.tids.len(), 3, "main + two workers");
    let mut seen = Vec::new();
    for tid in s.tids.clone() {
        // Which thread this is, from its own stack: a worker that has not reached its function
        // yet (a loaded machine schedules it late) shows neither worker name, so look again.
        let deadline = Instant::now() + Duration::from_secs(20);
        let names = loop {
            let first = snapshot(tid);
            let mut frames = Vec::new();
            s.unwinder
                .unwind(first.ip, first.sp, first.bp, &first.stack, &mut frames);
            let names = s.symbols.frames(&frames);
            if names
                .iter()
                .any(|n| n == "main" || n == "worker_one" || n == "worker_two")
                || Instant::now() > deadline
            {
                break names;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        if names.iter().any(|n| n == "main") {
            // The main thread waits in pthread_join, inside libc: unwound out of libc to _start.
            assert_eq!(
                names.last().map(String::as_str),
                Some("_start"),
                "{names:?}"
            );
            seen.push("main".to_string());
            continue;
        }
        let (leaf, worker) = if names.iter().any(|n| n == "worker_one") {
            ("spin_one", "worker_one")
        } else {
            ("spin_two", "worker_two")
        };
        for Sample {
            names,
            outcome,
            hit,
        } in sample_until(&mut s, tid, leaf, 5)
        {
            assert_eq!(outcome, UnwindOutcome::Complete, "{names:?}");
            if hit {
                assert_eq!(&names[..2], [leaf, worker], "{names:?}");
                // start_thread and clone3, both in libc, are the thread's root.
                assert!(names.len() >= 4, "{names:?}");
                let root = &names[names.len() - 1];
                assert!(root.contains("libc") || is_thread_entry(root), "{names:?}");
            }
        }
        seen.push(worker.to_string());
    }
    seen.sort();
    assert_eq!(seen, ["main", "worker_one", "worker_two"]);
    drop(s.target);
}

#[test]
fn vdso_frames_unwind_through_the_vdso_eh_frame() {
    if !live_tools(&["gcc"]) {
        return;
    }
    let dir = tmpdir();
    let exe = build_c(dir.path(), "vdso_clock.c", "vdso_clock");
    let Some(mut s) = session(&exe) else { return };
    assert!(s.maps.iter().any(|m| m.path == "[vdso]"), "no vdso mapped");
    let tid = s.tids[0];
    let samples = sample_until(&mut s, tid, "[vdso]", 5);
    for Sample {
        names,
        outcome,
        hit,
    } in &samples
    {
        assert_eq!(*outcome, UnwindOutcome::Complete, "{names:?}");
        assert_eq!(
            names.last().map(String::as_str),
            Some("_start"),
            "{names:?}"
        );
        if *hit {
            assert!(names.iter().any(|n| n == "poll_clock"), "{names:?}");
        }
    }
}

#[test]
fn rust_release_binary_unwinds_to_main() {
    if !live_tools(&["rustc"]) {
        return;
    }
    let dir = tmpdir();
    let exe = dir.path().join("rust_chain");
    let status = Command::new("rustc")
        .args(["-C", "opt-level=2", "-C", "debuginfo=1", "-o"])
        .arg(&exe)
        .arg(common::fixture("unwind/rust_chain.rs"))
        .status()
        .expect("run rustc");
    assert!(status.success(), "rustc failed");
    let Some(mut s) = session(&exe) else { return };
    let tid = s.tids[0];
    let samples = sample_until(&mut s, tid, "rust_chain::leaf", 5);
    for Sample {
        names,
        outcome,
        hit,
    } in &samples
    {
        assert_eq!(*outcome, UnwindOutcome::Complete, "{names:?}");
        assert_eq!(
            names.last().map(String::as_str),
            Some("_start"),
            "{names:?}"
        );
        if *hit {
            assert_eq!(
                &names[..4],
                [
                    "rust_chain::leaf",
                    "rust_chain::middle",
                    "rust_chain::outer",
                    "rust_chain::main"
                ],
                "{names:?}"
            );
            assert!(
                names.iter().any(|n| n.starts_with("std::rt::lang_start")),
                "{names:?}"
            );
            assert!(names.iter().any(|n| n == "main"), "{names:?}");
        }
    }
}

#[test]
fn dlopen_after_attach_is_unwound_once_added() {
    if !live_tools(&["gcc"]) {
        return;
    }
    let dir = tmpdir();
    let exe = build_c(dir.path(), "dlopen_late.c", "dlopen_late");
    let Some(mut s) = session(&exe) else { return };
    assert!(
        !s.maps.iter().any(|m| m.path.contains("libm.so")),
        "libm must not be mapped before dlopen"
    );
    // The tracee must run to dlopen: the seized threads are running (not stopped) here.
    assert_eq!(s.target.say("go"), "loaded");
    // Before libm is registered, a sample inside it stops at once, honestly truncated, instead of
    // guessing callers with frame pointers libm does not keep.
    let tid = s.tids[0];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "never stopped inside libm");
        let snap = snapshot(tid);
        if s.unwinder.module_name_at(snap.ip).is_some() {
            continue;
        }
        let mut frames = Vec::new();
        let outcome = s
            .unwinder
            .unwind(snap.ip, snap.sp, snap.bp, &snap.stack, &mut frames);
        assert_eq!(
            outcome,
            UnwindOutcome::Truncated(dwarf::StopReason::NoModule { address: snap.ip })
        );
        assert_eq!(frames, [snap.ip]);
        break;
    }
    // As record does for MMAP2 records: register only the mappings that appeared.
    let now = exec_mappings(s.target.pid);
    let new: Vec<Mapping> = now
        .iter()
        .filter(|m| {
            !s.maps
                .iter()
                .any(|o| o.start == m.start && o.path == m.path)
        })
        .cloned()
        .collect();
    assert!(new.iter().any(|m| m.path.contains("libm.so")), "{new:?}");
    for m in &new {
        s.unwinder
            .add_module(Path::new(&m.path), m.start, m.end, m.offset)
            .unwrap_or_else(|e| panic!("{}: {e}", m.path));
    }
    s.symbols = Symbols::new(&now);
    s.maps = now;
    let samples = sample_until(&mut s, tid, "[libm]", 5);
    for Sample {
        names,
        outcome,
        hit,
    } in &samples
    {
        assert_eq!(*outcome, UnwindOutcome::Complete, "{names:?}");
        assert_eq!(
            names.last().map(String::as_str),
            Some("_start"),
            "{names:?}"
        );
        if *hit {
            let at = names
                .iter()
                .position(|n| n == "poll_cos")
                .expect("poll_cos");
            assert_eq!(
                names.get(at + 1).map(String::as_str),
                Some("main"),
                "{names:?}"
            );
        }
    }
}

/// Per-sample cost, not a timed test: run by bench/unwind/run.sh. Unwinds real snapshots of the
/// C chain (7 frames) and of the qsort callback (through libc) 100k times each.
#[test]
#[ignore]
fn bench_unwind_ns_per_sample() {
    if !live_tools(&["gcc"]) {
        return;
    }
    let iterations: usize = std::env::var("RPROF_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tmpdir();
    for (src, leaf) in [("chain.c", "c"), ("qsort_cb.c", "compare_keys")] {
        let exe = build_c(dir.path(), src, src.trim_end_matches(".c"));
        let Some(s) = session(&exe) else { return };
        let tid = s.tids[0];
        // Gather a handful of distinct snapshots inside the leaf.
        let mut snaps = Vec::new();
        while snaps.len() < 16 {
            let snap = snapshot(tid);
            if s.symbols.name(snap.ip) == leaf {
                snaps.push(snap);
            }
        }
        // Module registration cost: cold (parse) and warm (shared cache, as for the 2nd process).
        let cache = ModuleCache::new();
        let t = Instant::now();
        let _ = unwinder_for(s.target.pid, &s.maps, &cache);
        let cold = t.elapsed();
        let t = Instant::now();
        let mut u = unwinder_for(s.target.pid, &s.maps, &cache);
        let warm = t.elapsed();
        let mut frames = Vec::with_capacity(256);
        let mut total_frames = 0usize;
        let t = Instant::now();
        for i in 0..iterations {
            let snap = &snaps[i % snaps.len()];
            frames.clear();
            let outcome = u.unwind(snap.ip, snap.sp, snap.bp, &snap.stack, &mut frames);
            assert!(outcome.is_complete());
            total_frames += frames.len();
        }
        let per_sample = t.elapsed().as_nanos() as f64 / iterations as f64;
        let avg_frames = total_frames as f64 / iterations as f64;
        println!(
            "BENCH {src}: {per_sample:.0} ns/sample, {avg_frames:.1} frames/sample, {:.0} ns/frame; \
             modules {} registered in {:.2} ms cold, {:.3} ms warm",
            per_sample / avg_frames,
            u.module_count(),
            cold.as_secs_f64() * 1e3,
            warm.as_secs_f64() * 1e3,
        );
    }
}

/// How much stack copy complete unwinding needs, to choose record's default: real programs
/// (python3 running a recursive workload; the Rust fixture) are stopped 200 times each, 128 KiB
/// of stack copied, and each snapshot unwound with the copy cut to 4..128 KiB. Prints the share
/// of complete stacks per size. Run by bench/unwind/run.sh.
#[test]
#[ignore]
fn bench_stack_copy_size_needed() {
    if !live_tools(&["python3", "rustc"]) {
        return;
    }
    let dir = tmpdir();
    let rust = dir.path().join("rust_chain");
    let status = Command::new("rustc")
        .args(["-C", "opt-level=2", "-C", "debuginfo=1", "-o"])
        .arg(&rust)
        .arg(common::fixture("unwind/rust_chain.rs"))
        .status()
        .expect("run rustc");
    assert!(status.success());
    // Recursion 40 deep through the interpreter, with dict/str/json work at the leaves.
    let py = r#"
import json
def rec(n):
    if n == 0:
        d = {str(i): [i, str(i) * 3] for i in range(200)}
        return len(json.dumps(d))
    return rec(n - 1) + 1
print('ready', flush=True)
while True:
    rec(40)
"#;
    let python = PathBuf::from("/usr/bin/python3");
    let sizes = [4usize, 8, 16, 32, 64, 128];
    for (label, exe, args) in [
        (
            "python3 (recursion 40 deep)",
            python.clone(),
            vec!["-c", py],
        ),
        (
            "rust_chain (release, no frame pointers)",
            rust.clone(),
            vec![],
        ),
    ] {
        let Some(mut s) = session_with_args(&exe, &args) else {
            return;
        };
        let tid = s.tids[0];
        let mut complete = [0usize; 6];
        let mut frames = Vec::new();
        let n = 200;
        let mut depth = 0usize;
        for _ in 0..n {
            std::thread::sleep(Duration::from_millis(2));
            let snap = snapshot_sized(tid, 128 * 1024);
            for (i, kib) in sizes.iter().enumerate() {
                let len = (kib * 1024).min(snap.stack.len());
                frames.clear();
                let outcome =
                    s.unwinder
                        .unwind(snap.ip, snap.sp, snap.bp, &snap.stack[..len], &mut frames);
                if outcome.is_complete() {
                    complete[i] += 1;
                }
            }
            depth += frames.len();
        }
        // The last snapshot's frames, to see where "complete" stacks end.
        let names = s.symbols.frames(&frames);
        let row: Vec<String> = sizes
            .iter()
            .zip(complete)
            .map(|(k, c)| format!("{k} KiB {:.1}%", 100.0 * c as f64 / n as f64))
            .collect();
        println!(
            "STACK {label}: {:.1} frames avg; complete with {}; e.g. {}",
            depth as f64 / n as f64,
            row.join(", "),
            names.join(" <- ")
        );
    }
}
