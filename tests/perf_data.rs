//! perf.data read directly (issue 13): live tests run `perf record` on C fixtures and python3
//! and compare rprof's reading of the file with `perf script` of the same file (collapsed by
//! inferno's own collapse-perf code, the peer pipeline), `perf report` and perf's thread list;
//! bad-input tests cover truncated, foreign-endian, unsupported and empty files; the committed
//! small recordings under fixtures/perf_data/ give exact counts without perf installed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::rprof;
use serde_json::Value;

fn perf_ready() -> bool {
    let facility = common::have("perf").and_then(|_| common::perf_event_check());
    common::live("perf", facility)
}

/// Runs `perf record ARGS -o OUT -- CMD` and returns OUT.
fn perf_record(dir: &Path, name: &str, args: &[&str], cmd: &[&Path]) -> PathBuf {
    let out = dir.join(name);
    let st = Command::new("perf")
        .arg("record")
        .arg("-q")
        .args(args)
        .arg("-o")
        .arg(&out)
        .arg("--")
        .args(cmd)
        .output()
        .expect("perf record");
    assert!(
        st.status.success(),
        "perf record {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    out
}

/// `perf script -i DATA` collapsed with inferno's collapse-perf (the library behind
/// `inferno-collapse-perf`), without its leading process-name frame.
fn inferno_folded(data: &Path) -> String {
    let script = Command::new("perf")
        .args(["script", "-i"])
        .arg(data)
        .output()
        .expect("perf script");
    assert!(script.status.success());
    let mut out = Vec::new();
    let mut folder = inferno::collapse::perf::Folder::default();
    inferno::collapse::Collapse::collapse(&mut folder, &script.stdout[..], &mut out)
        .expect("inferno collapse");
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.split_once(';').map(|(_, rest)| rest.to_string()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rprof_folded(data: &Path, extra: &[&str]) -> String {
    let out = rprof()
        .args(["report", "--format", "folded"])
        .args(extra)
        .arg(data)
        .output()
        .expect("rprof");
    assert!(
        out.status.success(),
        "rprof report {}: {}",
        data.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One frame as both sides can name it: inferno names a frame perf could not symbolize
/// `[module]`, rprof `module+0xOFFSET`; perf marks inlined frames ` (inlined)`.
fn norm_frame(f: &str) -> String {
    // rprof's folded text marks inlined frames `_[i]`; perf script (and so inferno) does not.
    let f = f.trim_end_matches(" (inlined)").trim_end_matches("_[i]");
    if let Some((m, off)) = f.rsplit_once("+0x") {
        if !m.is_empty() && off.bytes().all(|b| b.is_ascii_hexdigit()) {
            return format!("[{m}]");
        }
    }
    f.to_string()
}

/// Folded text to shares (percent of the total weight) per normalized stack.
fn shares(folded: &str) -> BTreeMap<String, f64> {
    let mut w: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0u64;
    for l in folded.lines().filter(|l| !l.trim().is_empty()) {
        let (stack, n) = l.rsplit_once(' ').expect("folded line");
        let n: u64 = n.trim().parse().expect("count");
        let key = stack
            .split(';')
            .map(norm_frame)
            .collect::<Vec<_>>()
            .join(";");
        *w.entry(key).or_default() += n;
        total += n;
    }
    assert!(total > 0, "no samples in {folded:?}");
    w.into_iter()
        .map(|(k, v)| (k, v as f64 * 100.0 / total as f64))
        .collect()
}

/// Asserts that every stack has the same share (within 0.1 point) on both sides.
fn assert_same_stacks(ours: &str, theirs: &str) {
    let a = shares(ours);
    let b = shares(theirs);
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut bad = Vec::new();
    for k in keys {
        let (x, y) = (
            a.get(k).copied().unwrap_or(0.0),
            b.get(k).copied().unwrap_or(0.0),
        );
        if (x - y).abs() > 0.1 {
            bad.push(format!("{x:.2}% rprof vs {y:.2}% perf script: {k}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} stacks differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Outermost functions of a complete stack (process and thread entry points).
fn is_entry(f: &str) -> bool {
    let f = f.trim_end_matches(" (inlined)");
    matches!(
        f,
        "_start"
            | "__libc_start_call_main"
            | "__libc_start_main_impl"
            | "__libc_start_main"
            | "start_thread"
            | "clone3"
            | "__clone3"
            | "clone"
            | "__clone"
            | "ret_from_fork"
            | "ret_from_fork_asm"
    )
}

/// Share of the weight whose stack starts at an entry point.
fn complete_share(folded: &str) -> f64 {
    let (mut ok, mut total) = (0u64, 0u64);
    for l in folded.lines().filter(|l| !l.trim().is_empty()) {
        let (stack, n) = l.rsplit_once(' ').expect("folded line");
        let n: u64 = n.trim().parse().expect("count");
        total += n;
        if stack.split(';').next().is_some_and(is_entry) {
            ok += n;
        }
    }
    ok as f64 * 100.0 / total.max(1) as f64
}

/// The `n` functions with the most self weight.
fn top_self(folded: &str, n: usize) -> Vec<String> {
    let mut w: BTreeMap<String, u64> = BTreeMap::new();
    for l in folded.lines().filter(|l| !l.trim().is_empty()) {
        let (stack, c) = l.rsplit_once(' ').expect("folded line");
        let leaf = stack.rsplit(';').next().unwrap_or("");
        *w.entry(norm_frame(leaf)).or_default() += c.trim().parse::<u64>().expect("count");
    }
    let mut v: Vec<(String, u64)> = w.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().take(n).map(|(f, _)| f).collect()
}

/// The DWARF fidelity rule: at least as many complete stacks as perf script, and the same
/// top-15 self functions (each side's top 15 within the other's top 20, for ties at the edge).
fn assert_dwarf_fidelity(data: &Path, what: &str) {
    let ours = rprof_folded(data, &[]);
    let theirs = inferno_folded(data);
    let (a, b) = (complete_share(&ours), complete_share(&theirs));
    assert!(
        a + 0.05 >= b,
        "{what}: {a:.1}% complete stacks in rprof, {b:.1}% in perf script"
    );
    let (ta, tb) = (top_self(&ours, 15), top_self(&theirs, 15));
    let (wa, wb) = (top_self(&ours, 20), top_self(&theirs, 20));
    for f in &ta {
        assert!(
            wb.contains(f),
            "{what}: rprof's top {f} is not in perf's: {ta:?} vs {tb:?}"
        );
    }
    for f in &tb {
        assert!(
            wa.contains(f),
            "{what}: perf's top {f} is not in rprof's: {ta:?} vs {tb:?}"
        );
    }
    eprintln!("{what}: complete stacks {a:.1}% (rprof) vs {b:.1}% (perf script)");
}

fn json_report(data: &Path, extra: &[&str]) -> Value {
    let out = rprof()
        .args(["report", "--format", "json", "--limit", "1000"])
        .args(extra)
        .arg(data)
        .output()
        .expect("rprof");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn live_fp_recording_matches_perf_script_collapse() {
    if !perf_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = common::compile(
        "perf_data/procs.c",
        dir.path(),
        "procs",
        &["-O1", "-g", "-fno-omit-frame-pointer"],
    );
    let data = perf_record(dir.path(), "fp.data", &["-F", "999", "-g"], &[&bin]);
    assert_same_stacks(&rprof_folded(&data, &[]), &inferno_folded(&data));

    // Launched, multi-process, multi-thread: every thread perf script saw, with its name
    // (from COMM records) and pid.
    let script = Command::new("perf")
        .args(["script", "-F", "comm,pid,tid", "-i"])
        .arg(&data)
        .output()
        .expect("perf script");
    let mut want: BTreeSet<(String, u64, u64)> = BTreeSet::new();
    for l in String::from_utf8_lossy(&script.stdout).lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let [comm, ids] = f.as_slice() {
            let (p, t) = ids.split_once('/').expect("pid/tid");
            want.insert((
                comm.to_string(),
                p.parse().expect("pid"),
                t.parse().expect("tid"),
            ));
        }
    }
    let v = json_report(&data, &[]);
    let got: BTreeSet<(String, u64, u64)> = v["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or("").to_string(),
                t["pid"].as_u64().unwrap_or(0),
                t["tid"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(got, want, "threads with their names");
    let names: BTreeSet<&str> = want.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        names,
        ["helper", "kid1", "kid2", "procs"].into_iter().collect()
    );
    let pids: BTreeSet<u64> = want.iter().map(|t| t.1).collect();
    assert_eq!(pids.len(), 3, "three processes");
    // Every function perf names is named the same, with each child's work in its own.
    let f = rprof_folded(&data, &[]);
    for func in ["kid_one_work", "kid_two_work", "helper_work", "parent_work"] {
        assert!(f.contains(&format!(";{func};spin")), "{func} missing:\n{f}");
    }

    // -i is the same input.
    let by_flag = rprof()
        .args(["report", "--format", "folded", "-i"])
        .arg(&data)
        .output()
        .expect("rprof");
    assert_eq!(String::from_utf8_lossy(&by_flag.stdout), f);
}

#[test]
fn live_no_callchain_and_pipe_mode() {
    if !perf_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = common::compile(
        "perf_data/procs.c",
        dir.path(),
        "procs",
        &["-O1", "-g", "-fno-omit-frame-pointer"],
    );
    // Without -g: one function per sample, the sampled IP's, followed by what was inlined
    // at that IP (marked `_[i]`, as in every rprof stack; a sample in ld.so's relocation
    // loop shows `_dl_relocate_object;elf_dynamic_do_Rela_[i];…`).
    let flat = perf_record(dir.path(), "flat.data", &["-F", "999"], &[&bin]);
    let ours = rprof_folded(&flat, &[]);
    assert!(
        ours.lines().all(|l| {
            let stack = l.rsplit_once(' ').map_or(l, |(s, _)| s);
            stack.split(';').skip(1).all(|f| f.ends_with("_[i]"))
        }),
        "one function per stack:\n{ours}"
    );
    assert_same_stacks(&ours, &inferno_folded(&flat));

    // `perf record -o -`: pipe mode, from a file and from stdin, the same stacks as perf
    // script reads from it.
    let piped = Command::new("perf")
        .args(["record", "-q", "-F", "999", "-g", "-o", "-", "--"])
        .arg(&bin)
        .output()
        .expect("perf record -o -");
    assert!(piped.status.success());
    let pipe_file = dir.path().join("pipe.data");
    std::fs::write(&pipe_file, &piped.stdout).expect("write");
    let ours = rprof_folded(&pipe_file, &[]);
    let script = Command::new("perf")
        .args(["script", "-i", "-"])
        .stdin(std::fs::File::open(&pipe_file).expect("open"))
        .output()
        .expect("perf script");
    let mut collapsed = Vec::new();
    inferno::collapse::Collapse::collapse(
        &mut inferno::collapse::perf::Folder::default(),
        &script.stdout[..],
        &mut collapsed,
    )
    .expect("collapse");
    let theirs: String = String::from_utf8_lossy(&collapsed)
        .lines()
        .filter_map(|l| l.split_once(';').map(|(_, r)| format!("{r}\n")))
        .collect();
    assert_same_stacks(&ours, &theirs);
    let from_stdin = rprof()
        .args(["report", "--format", "folded", "-"])
        .write_stdin(piped.stdout.clone())
        .output()
        .expect("rprof");
    assert!(from_stdin.status.success());
    assert_eq!(String::from_utf8_lossy(&from_stdin.stdout), ours);
}

#[test]
fn live_attach_and_system_wide() {
    if !perf_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = common::compile(
        "record/child.c",
        dir.path(),
        "spinner",
        &["-O1", "-g", "-fno-omit-frame-pointer"],
    );
    // Runs far longer than both recordings take even on a loaded machine; killed after.
    let mut child = Command::new(&bin).arg("60").spawn().expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = child.id().to_string();
    // -p: the process existed before; perf synthesizes its MMAP and COMM records.
    let attached = perf_record(
        dir.path(),
        "p.data",
        &["-F", "999", "-g", "-p", &pid],
        &[Path::new("sleep"), Path::new("1")],
    );
    // -a: every process, kernel threads and idle included.
    let wide = perf_record(
        dir.path(),
        "a.data",
        &["-F", "499", "-g", "-a"],
        &[Path::new("sleep"), Path::new("1")],
    );
    let _ = child.kill();
    let _ = child.wait();
    let ours = rprof_folded(&attached, &[]);
    assert_same_stacks(&ours, &inferno_folded(&attached));
    assert!(ours.contains("main;child_only_work"), "{ours}");
    let v = json_report(&wide, &[]);
    let threads = v["threads"].as_array().expect("threads");
    assert!(
        threads.iter().any(
            |t| t["pid"].as_u64().map(|p| p.to_string()) == Some(pid.clone())
                && t["name"] == "spinner"
        ),
        "the spinning process {pid} by its pid and name among {threads:?}"
    );
    // System-wide stacks (including the kernel's) match perf script's, by share; only the
    // spinner's are compared exactly, others come and go with the machine's load.
    let only = |folded: &str| -> String {
        folded
            .lines()
            .filter(|l| l.contains("child_only_work"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    assert_same_stacks(
        &only(&rprof_folded(&wide, &["--tid", &pid])),
        &only(&inferno_folded(&wide)),
    );
}

#[test]
fn live_events_periods_and_header() {
    if !perf_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = common::compile(
        "inputs/perf-script/multi-event.c",
        dir.path(),
        "multi",
        &["-O1", "-g", "-fno-omit-frame-pointer"],
    );
    let data = perf_record(
        dir.path(),
        "multi.data",
        &["-e", "cpu-clock,page-faults", "-g"],
        &[&bin],
    );
    // Each event's total weight is the sum of its periods, as `perf script -F period` lists.
    let script = Command::new("perf")
        .args(["script", "-F", "event,period", "-i"])
        .arg(&data)
        .output()
        .expect("perf script");
    let mut sums: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for l in String::from_utf8_lossy(&script.stdout).lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let [period, event] = f.as_slice() {
            let e = sums
                .entry(event.trim_end_matches(':').to_string())
                .or_default();
            e.0 += period.parse::<u64>().expect("period");
            e.1 += 1;
        }
    }
    for (event, (weight, samples)) in &sums {
        let v = json_report(&data, &["--event", event]);
        assert_eq!(v["total_weight"].as_u64(), Some(*weight), "{event}");
        assert_eq!(v["samples"].as_u64(), Some(*samples), "{event}");
        assert_eq!(v["event"], event.as_str());
        let events: Vec<&str> = v["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(events, ["cpu-clock", "page-faults"]);
        assert_eq!(v["metadata"]["lost"], 0);
    }
    let faults = rprof_folded(&data, &["--event", "page-faults"]);
    assert!(faults.contains("touch"), "{faults}");
    // The text header lists the events and the lost count.
    let out = rprof().arg("report").arg(&data).output().expect("rprof");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("events in the source: cpu-clock, page-faults"),
        "{text}"
    );
    assert!(text.contains("lost: 0 (0.00%)"), "{text}");
    let out = rprof()
        .args(["report", "--event", "cycles"])
        .arg(&data)
        .output()
        .expect("rprof");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no event `cycles`"));
}

#[test]
fn live_dwarf_no_frame_pointer_c_program() {
    if !perf_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = common::compile(
        "unwind/chain.c",
        dir.path(),
        "chain",
        &["-O2", "-g", "-fomit-frame-pointer"],
    );
    let mut child = Command::new(&bin)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id().to_string();
    let data = perf_record(
        dir.path(),
        "dwarf.data",
        &["-F", "999", "--call-graph", "dwarf", "-p", &pid],
        &[Path::new("sleep"), Path::new("1")],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_dwarf_fidelity(&data, "chain.c -fomit-frame-pointer");
    let ours = rprof_folded(&data, &[]);
    let s = shares(&ours);
    let full: f64 = s
        .iter()
        .filter(|(k, _)| k.contains("main;a;b;c"))
        .map(|(_, v)| v)
        .sum();
    assert!(full > 90.0, "main;a;b;c in {full:.1}%:\n{ours}");
    // The frame-pointer walk of the same program finds no callers: the DWARF path ran.
    let v = json_report(&data, &[]);
    assert_eq!(v["metadata"]["call_graph"], "dwarf");
}

#[test]
fn live_dwarf_python() {
    if !perf_ready() {
        return;
    }
    if !common::live("python3", common::have("python3")) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("work.py");
    std::fs::write(
        &script,
        "import json\n\
         def fib(n): return n if n < 2 else fib(n-1) + fib(n-2)\n\
         def work():\n    s = 0\n    for i in range(40000):\n        s += len(json.dumps({'a': [i, str(i)] * 5}))\n    return s + fib(22)\n\
         for _ in range(3): work()\n",
    )
    .expect("script");
    let data = perf_record(
        dir.path(),
        "py.data",
        &["-F", "999", "--call-graph", "dwarf"],
        &[Path::new("python3"), &script],
    );
    assert_dwarf_fidelity(&data, "python3");
}

#[test]
fn live_build_id_mismatch_and_cache() {
    if !perf_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("home");
    let bin = common::compile(
        "perf_data/procs.c",
        dir.path(),
        "procs",
        &["-O1", "-g", "-fno-omit-frame-pointer"],
    );
    let data = dir.path().join("fp.data");
    // perf copies the binaries it saw into $HOME/.debug (its build-id cache).
    let st = Command::new("perf")
        .env("HOME", &home)
        .args(["record", "-q", "-F", "999", "-g", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .output()
        .expect("perf record");
    assert!(st.status.success());
    // Rebuild the binary at the same path: another build-id.
    common::compile(
        "perf_data/procs.c",
        dir.path(),
        "procs",
        &["-O0", "-g", "-fno-omit-frame-pointer", "-DREBUILT=1"],
    );
    let run = |home: &Path| {
        let out = rprof()
            .env("HOME", home)
            .args(["report", "--format", "folded"])
            .arg(&data)
            .output()
            .expect("rprof");
        assert!(out.status.success());
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // With perf's cache: the recorded build is found there and named as before.
    let (folded, err) = run(&home);
    assert!(folded.contains("kid_one_work;spin"), "{folded}\n{err}");
    assert!(!err.contains("not used"), "{err}");
    // Without it: the changed binary is not used, and the summary says which.
    let empty = dir.path().join("empty-home");
    std::fs::create_dir(&empty).expect("home");
    let (folded, err) = run(&empty);
    assert!(
        err.contains("not used") && err.contains("procs (build-id differs"),
        "{err}"
    );
    assert!(!folded.contains("kid_one_work"), "{folded}");
    assert!(
        folded.contains("[procs]") || folded.contains("procs+0x"),
        "{folded}"
    );
}

/// The committed recordings: exact figures from the file alone (no perf needed).
#[test]
fn committed_recordings_read_exactly() {
    let fp = common::fixture("perf_data/fp.data");
    let v = json_report(&fp, &[]);
    let want: Value =
        serde_json::from_str(include_str!("../fixtures/perf_data/fp.expect.json")).expect("expect");
    assert_eq!(v["samples"], want["samples"]);
    assert_eq!(v["total_weight"], want["total_weight"]);
    assert_eq!(v["event"], want["event"]);
    assert_eq!(v["metadata"]["call_graph"], "fp");
    let names: BTreeSet<&str> = v["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["helper", "kid1", "kid2", "procs"].into_iter().collect()
    );
    let pipe = common::fixture("perf_data/pipe.data");
    let v = json_report(&pipe, &[]);
    assert_eq!(v["samples"], want["pipe_samples"]);
    let dwarf = common::fixture("perf_data/dwarf.data");
    let v = json_report(&dwarf, &[]);
    assert_eq!(v["metadata"]["call_graph"], "dwarf");
    assert_eq!(v["samples"], want["dwarf_samples"]);
}

fn expect_error(bytes: &[u8], needle: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("bad.data");
    std::fs::write(&p, bytes).expect("write");
    for cmd in [
        vec!["report"],
        vec!["flamegraph", "-o", "-"],
        vec!["convert", "-o", "/dev/null", "--to", "folded"],
    ] {
        let out = rprof().args(&cmd).arg(&p).output().expect("rprof");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {err}");
        assert!(
            err.contains(needle) && err.contains("bad.data"),
            "{cmd:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn bad_perf_data_gets_clear_errors() {
    let good = std::fs::read(common::fixture("perf_data/fp.data")).expect("fixture");
    // Cut anywhere: a clear error, never a panic.
    expect_error(&good[..good.len() / 2], "truncated");
    expect_error(&good[..60], "truncated perf.data");
    // Written by a perf that was killed: the header's data size is still 0.
    let mut unfinished = good.clone();
    unfinished[48..56].copy_from_slice(&0u64.to_le_bytes());
    expect_error(&unfinished, "did not finish");
    // Big-endian.
    let mut swapped = good.clone();
    swapped[..8].copy_from_slice(b"2ELIFREP");
    expect_error(&swapped, "big-endian perf.data");
    // An unknown header layout.
    let mut odd = good.clone();
    odd[8..16].copy_from_slice(&72u64.to_le_bytes());
    expect_error(&odd, "unsupported perf.data header of 72 bytes");
    // Garbage records inside a well-formed layout.
    let mut garbage = good.clone();
    let data_off = u64::from_le_bytes(good[40..48].try_into().expect("8")) as usize;
    for b in &mut garbage[data_off..data_off + 64] {
        *b = 0xff;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("garbage.data");
    std::fs::write(&p, &garbage).expect("write");
    let out = rprof().arg("report").arg(&p).output().expect("rprof");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    if !out.status.success() {
        assert!(err.contains("garbage.data"), "{err}");
    }
    // A pipe-mode stream cut short reads what it has.
    let pipe = std::fs::read(common::fixture("perf_data/pipe.data")).expect("fixture");
    let out = rprof()
        .args(["report", "-"])
        .write_stdin(pipe[..pipe.len() * 2 / 3].to_vec())
        .output()
        .expect("rprof");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn perf_data_is_detected_from_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Any name: content decides.
    let p = dir.path().join("profile.bin");
    std::fs::copy(common::fixture("perf_data/fp.data"), &p).expect("copy");
    let out = rprof()
        .args(["report", "--format", "json"])
        .arg(&p)
        .output()
        .expect("rprof");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["format"], "perf.data");
    // diff takes two -i inputs.
    let svg = dir.path().join("d.svg");
    let out = rprof()
        .args(["diff", "-o"])
        .arg(&svg)
        .arg("-i")
        .arg(&p)
        .arg("-i")
        .arg(common::fixture("perf_data/pipe.data"))
        .output()
        .expect("rprof");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&svg).expect("svg").contains("<svg"));
}
