//! Live tests of `rprof record --call-graph dwarf|auto|fp` on programs built without frame
//! pointers: the known split, callbacks through libc's qsort, a Rust release binary, two
//! threads, code dlopen'ed after recording started, the vdso, the drain rate at 999 Hz on
//! four busy threads, programs without or with scrambled unwind tables (truncated stacks,
//! counted and explained, never a crash), stripped executables, threads outliving main, a
//! binary replaced while recorded or before attaching, `-t` on a thread calling a library
//! another thread loaded, and a caller whose `.eh_frame` has no entry (never filled in from
//! frame pointers in `dwarf` mode). They skip only when perf_event_open is unavailable (and fail then under
//! RPROF_REQUIRE_LIVE=1).
//!
//! The tests take a lock so they run one at a time: each keeps the CPUs busy for 1-3 s, and on
//! a 2-core VM running them together would stretch every duration and starve the drain loop.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use common::*;
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// What Debian's libc and most release builds look like: no frame pointers.
const NO_FP: &[&str] = &["-O2", "-g", "-fomit-frame-pointer"];

fn live_ok() -> bool {
    live("perf_event_open", perf_event_check())
}

/// Runs `rprof record -o data ARGS`, expecting success; returns stderr.
fn record(data: &Path, args: &[&str]) -> String {
    record_with_stdin(data, args, "")
}

fn record_with_stdin(data: &Path, args: &[&str], stdin: &str) -> String {
    let out = rprof()
        .arg("record")
        .arg("-o")
        .arg(data)
        .args(args)
        .write_stdin(stdin)
        .output()
        .expect("run rprof");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "rprof record {args:?} failed: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn report_json(data: &Path) -> Value {
    let out = rprof()
        .arg("report")
        .arg(data)
        .args(["--format", "json", "--limit", "1000"])
        .output()
        .expect("run rprof report");
    assert!(
        out.status.success(),
        "rprof report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report JSON")
}

fn report_text(data: &Path) -> String {
    let out = rprof()
        .arg("report")
        .arg(data)
        .output()
        .expect("run rprof report");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Folded stacks as (frames root first, count).
fn folded(data: &Path) -> Vec<(Vec<String>, u64)> {
    let out = rprof()
        .arg("report")
        .arg(data)
        .args(["--format", "folded"])
        .output()
        .expect("run rprof report");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (stack, n) = l.rsplit_once(' ')?;
            Some((
                stack.split(';').map(str::to_string).collect(),
                n.parse().ok()?,
            ))
        })
        .collect()
}

fn total_pct(v: &Value, name: &str) -> f64 {
    v["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"].as_str() == Some(name)))
        .map_or(0.0, |r| r["total_pct"].as_f64().unwrap_or(0.0))
}

/// Samples, and the share of them whose stack satisfies `pred`.
fn share(stacks: &[(Vec<String>, u64)], pred: impl Fn(&[String]) -> bool) -> (u64, f64) {
    let total: u64 = stacks.iter().map(|(_, n)| n).sum();
    let hit: u64 = stacks.iter().filter(|(s, _)| pred(s)).map(|(_, n)| n).sum();
    (total, hit as f64 * 100.0 / total.max(1) as f64)
}

/// The percentage printed after `label` in the summary line, e.g. "truncated stacks (12.34%)".
fn summary_pct(err: &str, label: &str) -> f64 {
    let line = err
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no `{label}` in {err}"));
    let after = &line[line.find(label).map_or(0, |i| i + label.len())..];
    after
        .split_once('(')
        .map_or(after, |(_, rest)| rest)
        .split('%')
        .next()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no percentage after `{label}` in {line}"))
}

fn build_no_fp(dir: &Path, src: &str, name: &str) -> PathBuf {
    compile(src, dir, name, NO_FP)
}

#[test]
fn dwarf_known_split_within_five_points_and_reaches_main() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_no_fp(dir.path(), "record/split.c", "split");
    let data = dir.path().join("dwarf.data");
    let err = record(
        &data,
        &["--call-graph", "dwarf", "--", bin.to_str().unwrap(), "2"],
    );
    assert!(err.contains("dwarf unwinding:"), "{err}");
    let v = report_json(&data);
    let m = &v["metadata"];
    assert_eq!(m["call_graph"], "dwarf");
    let n = v["samples"].as_u64().unwrap_or(0);
    assert!(n > 1000, "too few samples: {n}");
    for (f, want) in [
        ("work_sixty", 60.0),
        ("work_thirty", 30.0),
        ("work_ten", 10.0),
    ] {
        let got = total_pct(&v, f);
        assert!(
            (got - want).abs() <= 5.0,
            "{f}: {got:.1}% (want {want}±5)\n{v}"
        );
    }
    let stacks = folded(&data);
    let (total, pct) = share(&stacks, |s| {
        s.iter().any(|f| f == "main") && s.first().is_some_and(|f| f == "_start")
    });
    assert!(total > 1000);
    assert!(
        pct >= 99.0,
        "only {pct:.2}% of stacks reach main from _start"
    );
    assert!(
        m["truncated"].as_u64().unwrap_or(u64::MAX) * 100 <= n,
        "truncated: {m}"
    );
}

#[test]
fn fp_on_a_no_frame_pointer_binary_reports_its_truncation() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_no_fp(dir.path(), "record/split.c", "split");
    let data = dir.path().join("fp.data");
    let err = record(
        &data,
        &["--call-graph", "fp", "--", bin.to_str().unwrap(), "1"],
    );
    let pct = summary_pct(&err, "truncated stacks");
    assert!(pct > 50.0, "fp truncation only {pct}%: {err}");
    assert!(err.contains("--call-graph dwarf or auto"), "no hint: {err}");
    let v = report_json(&data);
    assert_eq!(v["metadata"]["call_graph"], "fp");
    let text = report_text(&data);
    let header = text
        .lines()
        .find(|l| l.contains("truncated stacks:"))
        .unwrap_or_else(|| panic!("no truncation in the report header:\n{text}"));
    let shown = summary_pct(header, "truncated stacks:");
    assert!(shown > 50.0, "{header}");
}

#[test]
fn default_mode_is_auto_and_complete() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_no_fp(dir.path(), "record/split.c", "split");
    let data = dir.path().join("auto.data");
    let err = record(&data, &["--", bin.to_str().unwrap(), "1"]);
    assert!(err.contains("auto unwinding:"), "{err}");
    assert!(summary_pct(&err, "truncated stacks") < 1.0, "{err}");
    let v = report_json(&data);
    assert_eq!(v["metadata"]["call_graph"], "auto");
}

#[test]
fn qsort_comparator_shown_under_libc_qsort() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_no_fp(dir.path(), "unwind/qsort_cb.c", "qsort_cb");
    let data = dir.path().join("q.data");
    record(
        &data,
        &[
            "--call-graph",
            "dwarf",
            "-d",
            "1.5",
            "--",
            bin.to_str().unwrap(),
        ],
    );
    let stacks = folded(&data);
    let cmp: Vec<_> = stacks
        .into_iter()
        .filter(|(s, _)| s.iter().any(|f| f == "compare_keys"))
        .collect();
    // main → qsort (libc, any of its internal names) → … → comparator, from _start.
    let (total, pct) = share(&cmp, |s| {
        let main = s.iter().position(|f| f == "main");
        let qsort = s.iter().position(|f| f.contains("qsort"));
        let cmp = s.iter().position(|f| f == "compare_keys");
        s.first().is_some_and(|f| f == "_start")
            && matches!((main, qsort, cmp), (Some(m), Some(q), Some(c)) if m < q && q < c)
    });
    assert!(total > 300, "too few comparator samples: {total}");
    assert!(
        pct >= 95.0,
        "only {pct:.1}% of comparator stacks go main → qsort → compare_keys"
    );
}

#[test]
fn rust_release_binary_complete_demangled_stacks() {
    let _g = serial();
    if !live_ok() || !live("rustc", have("rustc")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("rust_chain");
    let status = Command::new("rustc")
        .args(["-C", "opt-level=2", "-C", "debuginfo=1", "-o"])
        .arg(&exe)
        .arg(fixture("unwind/rust_chain.rs"))
        .status()
        .expect("run rustc");
    assert!(status.success(), "rustc failed");
    let data = dir.path().join("r.data");
    record(
        &data,
        &[
            "--call-graph",
            "dwarf",
            "-d",
            "1.5",
            "--",
            exe.to_str().unwrap(),
        ],
    );
    let stacks = folded(&data);
    let leaf: Vec<_> = stacks
        .into_iter()
        .filter(|(s, _)| s.iter().any(|f| f == "rust_chain::leaf"))
        .collect();
    let (total, pct) = share(&leaf, |s| {
        let chain = [
            "rust_chain::main",
            "rust_chain::outer",
            "rust_chain::middle",
            "rust_chain::leaf",
        ];
        let at: Vec<_> = chain
            .iter()
            .map(|c| s.iter().position(|f| f == c))
            .collect();
        s.first().is_some_and(|f| f == "_start")
            && at.iter().all(Option::is_some)
            && at.windows(2).all(|w| w[0] < w[1])
    });
    assert!(total > 500, "too few leaf samples: {total}");
    assert!(
        pct >= 99.0,
        "only {pct:.1}% of leaf stacks are complete and demangled"
    );
}

#[test]
fn two_threads_each_under_its_thread_entry() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_no_fp(dir.path(), "unwind/threads.c", "threads");
    let data = dir.path().join("t.data");
    record(
        &data,
        &[
            "--call-graph",
            "dwarf",
            "-d",
            "1.5",
            "--",
            bin.to_str().unwrap(),
        ],
    );
    let stacks = folded(&data);
    for (worker, spin) in [("worker_one", "spin_one"), ("worker_two", "spin_two")] {
        let mine: Vec<_> = stacks
            .iter()
            .filter(|(s, _)| s.iter().any(|f| f == spin))
            .cloned()
            .collect();
        let (total, pct) = share(&mine, |s| {
            s.first().is_some_and(|f| f == "clone3" || f == "clone")
                && s.iter().any(|f| f == "start_thread")
                && s.iter().position(|f| f == worker) < s.iter().position(|f| f == spin)
                && s.iter().any(|f| f == worker)
        });
        assert!(total > 300, "{spin}: too few samples ({total})");
        assert!(
            pct >= 99.0,
            "{spin}: only {pct:.1}% under clone3 → start_thread → {worker}"
        );
    }
}

#[test]
fn dlopen_after_start_and_vdso_are_unwound() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // libm is loaded only once the program reads a line, after recording has started.
    let dl = compile(
        "unwind/dlopen_late.c",
        dir.path(),
        "dlopen_late",
        &["-O2", "-g", "-fomit-frame-pointer", "-ldl"],
    );
    let data = dir.path().join("dl.data");
    record_with_stdin(
        &data,
        &[
            "--call-graph",
            "dwarf",
            "-d",
            "1.5",
            "--",
            dl.to_str().unwrap(),
        ],
        "go\n",
    );
    let stacks = folded(&data);
    let through_libm: Vec<_> = stacks
        .iter()
        .filter(|(s, _)| {
            s.iter().any(|f| f == "poll_cos") && s.last().is_some_and(|f| f != "poll_cos")
        })
        .cloned()
        .collect();
    let (total, pct) = share(&through_libm, |s| {
        s.first().is_some_and(|f| f == "_start") && s.iter().any(|f| f == "main")
    });
    assert!(total > 300, "too few samples inside libm: {total}");
    assert!(
        pct >= 99.0,
        "only {pct:.1}% of stacks inside dlopen'ed libm are complete"
    );

    let vd = build_no_fp(dir.path(), "unwind/vdso_clock.c", "vdso_clock");
    let data = dir.path().join("vd.data");
    record(
        &data,
        &[
            "--call-graph",
            "dwarf",
            "-d",
            "1.5",
            "--",
            vd.to_str().unwrap(),
        ],
    );
    let stacks = folded(&data);
    // Frames symbolized inside the vdso: clock_gettime's vdso body under libc's wrapper.
    let (total, pct) = share(&stacks, |s| {
        s.first().is_some_and(|f| f == "_start") && s.iter().any(|f| f == "main")
    });
    assert!(total > 500);
    assert!(
        pct >= 99.0,
        "only {pct:.1}% of vdso_clock stacks are complete"
    );
    let in_vdso: u64 = stacks
        .iter()
        .filter(|(s, _)| {
            // libc's wrapper, by its DWARF name or (as perf names it) its symbol.
            s.iter()
                .any(|f| f == "__GI___clock_gettime" || f.starts_with("clock_gettime@"))
                && s.last()
                    .is_some_and(|f| f == "clock_gettime" || f.starts_with("__vdso"))
        })
        .map(|(_, n)| n)
        .sum();
    assert!(
        in_vdso * 4 > total,
        "few stacks reach into the vdso: {in_vdso} of {total}"
    );
}

#[test]
fn busy_threads_at_999_hz_lose_under_one_percent() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_no_fp(dir.path(), "record/busy_threads.c", "busy_threads");
    let data = dir.path().join("b.data");
    let err = record(
        &data,
        &[
            "--call-graph",
            "dwarf",
            "-F",
            "999",
            "--",
            bin.to_str().unwrap(),
            "3",
            "4",
        ],
    );
    let lost = summary_pct(&err, "lost");
    assert!(lost < 1.0, "lost {lost}% of samples: {err}");
    assert!(summary_pct(&err, "truncated stacks") < 1.0, "{err}");
    let stacks = folded(&data);
    let (total, pct) = share(&stacks, |s| {
        s.iter().any(|f| f == "worker") || s.iter().any(|f| f == "main")
    });
    // cpu-clock samples only running threads: on a loaded 2-core VM 4 busy threads get far
    // less than 4 x 999 Hz, so only a floor is checked; the point is the lost share.
    assert!(total > 1000, "too few samples: {total}");
    assert!(pct >= 99.0, "{pct}");
}

#[test]
fn bad_stack_sizes_are_usage_errors() {
    for bad in ["dwarf,abc", "dwarf,4", "bogus"] {
        let out = rprof()
            .args(["record", "--call-graph", bad, "--", "true"])
            .output()
            .expect("run rprof");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bad}: {err}");
        assert!(err.contains("--call-graph"), "{bad}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// The number just before `before` on the first summary line holding `line_has`, e.g. the
/// 884 of "884 samples," or of "884 at a frame no unwind rule could step past".
fn count_before(err: &str, line_has: &str, before: &str) -> u64 {
    err.lines()
        .find(|l| l.contains(line_has) && l.contains(before))
        .and_then(|l| l.split(before).next())
        .and_then(|s| s.rsplit([' ', '(']).next())
        .and_then(|n| n.replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("no count before `{before}` in {err}"))
}

/// The number after `after` on the first summary line holding it ("stopped early: 884").
fn count_after(err: &str, after: &str) -> u64 {
    err.lines()
        .find_map(|l| l.split_once(after))
        .and_then(|(_, rest)| rest.split([' ', ';', ')']).next())
        .and_then(|n| n.replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("no count after `{after}` in {err}"))
}

#[test]
fn module_without_unwind_info_gives_counted_truncated_stacks() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // No .eh_frame entries for the program's own functions and no frame pointers: DWARF
    // unwinding cannot leave the leaf function.
    let bin = compile(
        "record/split.c",
        dir.path(),
        "split-nounwind",
        &[
            "-O2",
            "-g",
            "-fomit-frame-pointer",
            "-fno-asynchronous-unwind-tables",
            "-fno-unwind-tables",
        ],
    );
    let data = dir.path().join("nounwind.data");
    let err = record(
        &data,
        &["--call-graph", "dwarf", "--", bin.to_str().unwrap(), "1"],
    );
    let pct = summary_pct(&err, "truncated stacks");
    assert!(pct > 90.0, "stacks should stop at the leaf: {pct}%: {err}");
    // The module has CFI (crt's), just none for these functions: the unwinder stops at the
    // first frame no FDE covers (rather than trying framehop's frame-pointer guess), and the
    // summary says where the unwinds stopped.
    let samples = count_before(&err, "lost", " samples,");
    let early = count_after(&err, "stopped early: ");
    let no_info = count_before(&err, "unwinding:", " in code without unwind info");
    assert!(
        early * 10 >= samples * 9,
        "{early} of {samples} stopped: {err}"
    );
    assert!(
        no_info * 10 >= early * 9,
        "{no_info} of {early} attributed: {err}"
    );
    // The leaves are still named: symbolization does not need unwind information.
    let v = report_json(&data);
    assert!(total_pct(&v, "work_sixty") > 40.0, "{v}");
}

/// Overwrites the file bytes of `sections` of the ELF file at `path` with a repeating
/// pattern: parseable as ELF, nonsense as unwind tables.
fn scramble_sections(path: &Path, sections: &[&str]) {
    use object::{Object, ObjectSection};
    let mut bytes = std::fs::read(path).unwrap();
    let ranges: Vec<(u64, u64)> = {
        let obj = object::File::parse(&*bytes).unwrap();
        sections
            .iter()
            .filter_map(|n| obj.section_by_name(n)?.file_range())
            .collect()
    };
    assert_eq!(
        ranges.len(),
        sections.len(),
        "sections {sections:?} present"
    );
    for (off, len) in ranges {
        for (i, b) in bytes[off as usize..(off + len) as usize]
            .iter_mut()
            .enumerate()
        {
            *b = (i as u8).wrapping_mul(37) ^ 0x5a;
        }
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn corrupt_unwind_tables_give_counted_truncated_stacks_never_a_crash() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_no_fp(dir.path(), "record/split.c", "split-corrupt");
    // The program never reads its own unwind tables (no exceptions, no backtraces), so it runs
    // as before; only the profiler sees the garbage.
    scramble_sections(&bin, &[".eh_frame_hdr", ".eh_frame"]);
    let data = dir.path().join("corrupt.data");
    for mode in ["dwarf", "auto"] {
        let err = record(
            &data,
            &["--call-graph", mode, "--", bin.to_str().unwrap(), "1"],
        );
        assert!(err.contains("exited with status 0"), "{mode}: {err}");
        let pct = summary_pct(&err, "truncated stacks");
        assert!(
            pct > 90.0,
            "{mode}: stacks cannot reach _start: {pct}%: {err}"
        );
        let v = report_json(&data);
        assert!(total_pct(&v, "work_sixty") > 40.0, "{mode}: {v}");
    }
}

#[test]
fn stripped_executable_stacks_reach_its_entry_point() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_no_fp(dir.path(), "record/split.c", "split-stripped");
    // Like most distribution binaries: no .symtab, so `_start` has no symbol; rprof names
    // the ELF entry point from its FDE.
    let st = Command::new("strip").arg(&bin).status().expect("run strip");
    assert!(st.success());
    let data = dir.path().join("stripped.data");
    let err = record(&data, &["--", bin.to_str().unwrap(), "1"]);
    let pct = summary_pct(&err, "truncated stacks");
    assert!(pct < 1.0, "complete stacks counted as truncated: {err}");
    let stacks = folded(&data);
    let (n, at_start) = share(&stacks, |s| s.first().is_some_and(|f| f == "_start"));
    assert!(
        n > 100 && at_start > 99.0,
        "{at_start}% of {n} start at _start: {stacks:?}"
    );
}

#[test]
fn threads_outliving_main_keep_their_stacks() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_no_fp(dir.path(), "record/main_exits_first.c", "main-exits-first");
    let data = dir.path().join("orphan.data");
    let err = record(&data, &["--", bin.to_str().unwrap(), "1"]);
    let stacks = folded(&data);
    // Every sample after main's pthread_exit still unwinds through the worker to its thread
    // entry, in the address space the leader left behind.
    let (n, in_worker) = share(&stacks, |s| s.iter().any(|f| f == "orphan_spin"));
    assert!(n > 300 && in_worker > 90.0, "{in_worker}% of {n}: {err}");
    let (_, complete) = share(&stacks, |s| {
        s.iter().any(|f| f == "orphan_spin")
            && s.first()
                .is_some_and(|f| f.contains("clone") || f == "start_thread")
    });
    assert!(complete > 90.0, "{complete}% complete: {stacks:?}");
}

#[test]
fn binary_replaced_while_recorded_is_not_named_from_the_new_file() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_no_fp(dir.path(), "record/split.c", "split");
    let other = build_no_fp(dir.path(), "record/busy_threads.c", "other");
    let data = dir.path().join("replaced.data");
    let child = Command::new(rprof_path())
        .arg("record")
        .arg("-o")
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .arg("1.5")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start rprof");
    // What a rebuild or a package upgrade does: a new file renamed over the running one.
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::fs::rename(&other, &bin).unwrap();
    let out = child.wait_with_output().expect("rprof record");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("changed on disk"), "{err}");
    let v = report_json(&data);
    // The new file's functions must not appear; the old file's code stays split+0x….
    for name in ["spin", "stage", "worker", "work_sixty"] {
        assert_eq!(
            total_pct(&v, name),
            0.0,
            "{name} named from the wrong file: {v}"
        );
    }
    // Grouped into one `split+?` row by the function report, its addresses kept in JSON.
    let rows = v["rows"].as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["name"] == "split+?"
            && r["addresses"].as_array().is_some_and(|a| a
                .iter()
                .all(|n| n.as_str().is_some_and(|n| n.starts_with("split+0x"))))),
        "{v}"
    );
}

#[test]
fn one_thread_sees_a_library_another_thread_loaded() {
    use std::io::{BufRead, BufReader, Write};
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = compile(
        "record/dlopen_other_thread.c",
        dir.path(),
        "dlopen_other_thread",
        &["-O2", "-g", "-fomit-frame-pointer", "-ldl"],
    );
    let mut target = Command::new(&bin)
        .arg("3")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(target.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let tid = first.trim().strip_prefix("ready ").unwrap().to_string();
    let data = dir.path().join("tid.data");
    let rec = Command::new(rprof_path())
        .args(["record", "-t", &tid, "-d", "1.5", "-o"])
        .arg(&data)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Now the other thread loads libm; only it gets the mmap record.
    target.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    let out = rec.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let _ = target.wait();
    let stacks = folded(&data);
    let (n, in_libm) = share(&stacks, |s| s.iter().any(|f| f == "call_loaded"));
    assert!(
        n > 300 && in_libm > 50.0,
        "{in_libm}% of {n} in call_loaded: {err}"
    );
    // The frames inside libm are named, not [unknown].
    let (_, unknown) = share(&stacks, |s| {
        s.iter().any(|f| f == "call_loaded") && s.iter().any(|f| f.starts_with("[unknown]"))
    });
    assert!(
        unknown < 1.0,
        "{unknown}% of stacks through libm unknown: {stacks:?}"
    );
}

#[test]
fn attached_process_whose_binary_was_replaced_is_named_from_its_own_mapping() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for replace in [false, true] {
        let bin = build_no_fp(dir.path(), "record/split.c", "split");
        let mut target = Command::new(&bin).arg("3").spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        // A package upgrade renames a new file over the old one; a cleanup deletes it.
        if replace {
            let other = build_no_fp(dir.path(), "record/busy_threads.c", "other");
            std::fs::rename(&other, &bin).unwrap();
        } else {
            std::fs::remove_file(&bin).unwrap();
        }
        let data = dir.path().join("attached.data");
        let pid = target.id().to_string();
        let err = record(&data, &["-p", &pid, "-d", "1"]);
        let _ = target.kill();
        let _ = target.wait();
        let v = report_json(&data);
        assert!(
            total_pct(&v, "work_sixty") > 40.0,
            "replace={replace}: not named from the mapping: {err} {v}"
        );
        assert_eq!(total_pct(&v, "spin"), 0.0, "named from the new file: {v}");
    }
}

/// Builds fixtures/unwind/noeh_main.c + noeh_outer.c with frame pointers everywhere, the
/// second object without unwind tables (and without -g, so no .debug_frame either).
fn build_noeh(dir: &Path) -> PathBuf {
    let fp = ["-O2", "-fno-omit-frame-pointer"];
    let obj = dir.join("noeh_outer.o");
    let status = Command::new("gcc")
        .args(fp)
        .args([
            "-fno-asynchronous-unwind-tables",
            "-fno-unwind-tables",
            "-c",
            "-o",
        ])
        .arg(&obj)
        .arg(fixture("unwind/noeh_outer.c"))
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc noeh_outer.c failed");
    let bin = dir.join("noeh");
    let status = Command::new("gcc")
        .args(fp)
        .args(["-g", "-o"])
        .arg(&bin)
        .arg(fixture("unwind/noeh_main.c"))
        .arg(&obj)
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc noeh_main.c failed");
    bin
}

/// The symbol's address from `nm`.
fn symbol_addr(bin: &Path, name: &str) -> u64 {
    let out = Command::new("nm").arg(bin).output().expect("run nm");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            let addr = it.next()?;
            let _kind = it.next()?;
            (it.next()? == name).then(|| u64::from_str_radix(addr, 16).ok())?
        })
        .unwrap_or_else(|| panic!("{name} not in nm {}", bin.display()))
}

/// Every FDE range `readelf --debug-dump=frames` lists (.eh_frame and .debug_frame).
fn fde_ranges(bin: &Path) -> Vec<(u64, u64)> {
    let out = Command::new("readelf")
        .arg("--debug-dump=frames")
        .arg(bin)
        .output()
        .expect("run readelf");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" FDE "))
        .filter_map(|l| {
            let (start, end) = l.split_once("pc=")?.1.trim().split_once("..")?;
            Some((
                u64::from_str_radix(start, 16).ok()?,
                u64::from_str_radix(end.trim(), 16).ok()?,
            ))
        })
        .collect()
}

#[test]
fn dwarf_never_fills_a_caller_without_cfi_from_frame_pointers() {
    let _g = serial();
    if !live_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_noeh(dir.path());
    // The premise: no FDE covers noeh_outer, while its callee has one.
    let fdes = fde_ranges(&bin);
    let covered = |a: u64| fdes.iter().any(|&(s, e)| (s..e).contains(&a));
    assert!(!covered(symbol_addr(&bin, "noeh_outer")), "{fdes:x?}");
    assert!(covered(symbol_addr(&bin, "burn")), "{fdes:x?}");

    let data = dir.path().join("noeh.data");
    let err = record(
        &data,
        &["--call-graph", "dwarf", "--", bin.to_str().unwrap(), "1.5"],
    );
    let stacks = folded(&data);
    // Old behaviour: framehop's frame-pointer rule stepped from noeh_outer to main and the
    // stack counted complete. Now every stack through noeh_outer ends there.
    let (total, through_burn) = share(&stacks, |s| s.iter().any(|f| f == "burn"));
    assert!(
        total > 100 && through_burn > 95.0,
        "{through_burn}% of {total}"
    );
    for (s, n) in &stacks {
        if let Some(i) = s.iter().position(|f| f == "noeh_outer") {
            assert_eq!(
                i, 0,
                "a frame guessed below noeh_outer ({n} samples): {s:?}"
            );
        }
        assert!(
            !s.iter().any(|f| f == "main") || !s.iter().any(|f| f == "burn"),
            "burn under main without noeh_outer's CFI: {s:?}"
        );
    }
    // Folded weights are nanoseconds; the truncated count is in samples.
    let v = report_json(&data);
    let burn_samples = v["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == "burn"))
        .and_then(|r| r["total_samples"].as_u64())
        .unwrap_or(0);
    assert!(burn_samples > 100, "{v}");
    let truncated = v["metadata"]["truncated"].as_u64().unwrap_or(0);
    assert!(
        truncated >= burn_samples,
        "{truncated} truncated < {burn_samples} samples through burn: {err}"
    );
    assert!(summary_pct(&err, "truncated stacks") > 95.0, "{err}");
    let header = report_text(&data);
    let header = header
        .lines()
        .find(|l| l.contains("truncated stacks:"))
        .unwrap_or_else(|| panic!("no truncation in the report header:\n{header}"));
    assert!(summary_pct(header, "truncated stacks:") > 95.0, "{header}");
    // The summary attributes the stops to code without unwind information.
    let early = count_after(&err, "stopped early: ");
    let no_info = count_before(&err, "unwinding:", " in code without unwind info");
    assert!(no_info * 10 >= early * 9, "{no_info} of {early}: {err}");

    // auto, as documented: where DWARF stopped early, the kernel's frame-pointer chain is
    // used if it reaches a thread entry (this program has frame pointers, so it does).
    let data = dir.path().join("noeh-auto.data");
    let err = record(
        &data,
        &["--call-graph", "auto", "--", bin.to_str().unwrap(), "1"],
    );
    assert!(
        err.contains("from frame pointers where DWARF stopped early"),
        "{err}"
    );
    let (_, via_main) = share(&folded(&data), |s| {
        s.iter().any(|f| f == "main") && s.iter().any(|f| f == "noeh_outer")
    });
    assert!(via_main > 90.0, "auto: {via_main}% through main: {err}");
}
