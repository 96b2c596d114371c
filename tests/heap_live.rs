//! `rprof heap`, live: real programs run under the interposer, with exact counts where the
//! programs are deterministic, and the peer tools (valgrind massif, ms_print, go tool pprof)
//! reading or producing the same numbers.

mod common;

use std::path::Path;
use std::process::Command;

use common::{compile, fixture, have, live, rprof};

/// Runs `rprof heap ARGS -- CMD...` in `dir`; returns (success, stdout, stderr).
fn heap(dir: &Path, args: &[&str], cmd: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut c = rprof();
    c.current_dir(dir)
        .arg("heap")
        .args(args)
        .arg("--")
        .args(cmd);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("runs rprof");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The line after the first line starting with `header`.
fn line_after<'a>(text: &'a str, header: &str) -> &'a str {
    text.lines()
        .skip_while(|l| !l.starts_with(header))
        .nth(1)
        .unwrap_or_else(|| panic!("no line after {header:?} in:\n{text}"))
}

/// Sum of the weights of folded lines containing `frame` as a whole frame.
fn folded_sum(folded: &str, frame: &str) -> u64 {
    folded
        .lines()
        .filter(|l| {
            l.rsplit_once(' ')
                .is_some_and(|(s, _)| s.split(';').any(|f| f == frame))
        })
        .map(|l| {
            l.rsplit_once(' ')
                .and_then(|(_, w)| w.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

/// mem_heap_B of massif's peak snapshot.
fn massif_peak(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).expect("massif output");
    let mut heap = 0;
    for l in text.lines() {
        if let Some(v) = l.strip_prefix("mem_heap_B=") {
            heap = v.parse().expect("number");
        }
        if l == "heap_tree=peak" {
            return heap;
        }
    }
    panic!("no peak snapshot in {}", path.display());
}

#[test]
fn heap_alloc_fixture_peak_and_leaks_exact_and_massif_agrees() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = compile("massif/heap.c", tmp.path(), "heap", &["-g", "-O0"]);
    let bin_s = bin.to_str().expect("utf-8 path");
    let (ok, so, se) = heap(
        tmp.path(),
        &[
            "--massif",
            "h.massif",
            "--pprof",
            "h.pb.gz",
            "--flamegraph",
            "peak.svg",
            "--chart",
            "chart.svg",
        ],
        &[bin_s, "8"],
        &[],
    );
    assert!(ok, "{se}");
    assert!(se.contains("the command exited with status 0"), "{se}");
    assert!(se.contains("stream complete"), "{se}");
    // 8 x 1 MiB + the 64-byte index + small_tables' 4,096: exactly.
    assert!(
        so.contains("Peak heap: 8,392,768 B (8.00 MiB) in 11 blocks"),
        "{so}"
    );
    let top = line_after(&so, "Allocation sites at the peak");
    assert!(
        top.contains("8,388,608 B in 8 blocks  build_index (heap.c:18)"),
        "{top}"
    );
    assert!(
        so.contains("Totals: 111 allocations (8,492,768 B), 11 frees"),
        "{so}"
    );
    // Leaks: exactly leak_some's 100 x 1,000 B, called from main.
    assert!(
        so.contains("Leaks: 100,000 B in 100 blocks still allocated at exit"),
        "{so}"
    );
    let leak = line_after(&so, "Leaks:");
    assert!(
        leak.contains("100,000 B in 100 blocks  leak_some (heap.c:39)"),
        "{leak}"
    );
    assert!(
        line_after(&so, leak).contains("called from main (heap.c:77)"),
        "{so}"
    );
    assert!(
        so.contains("100 allocations  100,000 B  leak_some (heap.c:39)"),
        "{so}"
    );
    // Pictures were written and are SVG.
    for svg in ["peak.svg", "chart.svg"] {
        let text = std::fs::read_to_string(tmp.path().join(svg)).expect("svg written");
        let opt = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(&text, opt)
            .unwrap_or_else(|e| panic!("{svg}: {e}"));
        let names: String = doc
            .descendants()
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(names.contains("build_index"), "{svg} names build_index");
    }

    // massif output: ms_print reads it, rprof massif finds the same peak at build_index.
    let m = tmp.path().join("h.massif");
    assert_eq!(massif_peak(&m), 8_392_768);
    if live("ms_print", have("ms_print")) {
        let o = Command::new("ms_print").arg(&m).output().expect("ms_print");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(text.contains("build_index (heap.c:18)"), "{text}");
    }
    let o = rprof()
        .args(["massif", "--summary-only"])
        .arg(&m)
        .output()
        .expect("rprof massif");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("(8,392,768 B = 8,392,768 B useful"), "{text}");
    assert!(
        line_after(&text, "Top allocation sites at the peak").contains("build_index (heap.c:18)"),
        "{text}"
    );

    // valgrind massif on the same binary reports the same peak, to the byte.
    if live("valgrind", have("valgrind")) {
        let vm = tmp.path().join("valgrind.massif");
        let st = Command::new("valgrind")
            .arg("--tool=massif")
            .arg(format!("--massif-out-file={}", vm.display()))
            .arg(&bin)
            .arg("8")
            .output()
            .expect("valgrind");
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        assert_eq!(massif_peak(&vm), 8_392_768, "massif's peak");
    }

    // pprof: go tool pprof reads the four sample types with the same numbers.
    if live("go", have("go")) {
        let p = tmp.path().join("h.pb.gz");
        for (index, want) in [
            ("inuse_space", "leak_some"),
            ("alloc_space", "build_index"),
            ("alloc_objects", "leak_some"),
        ] {
            let o = Command::new("go")
                .args(["tool", "pprof", "-top", "-nodecount=5"])
                .arg(format!("-sample_index={index}"))
                .arg(&p)
                .output()
                .expect("go tool pprof");
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let first = line_after(&text, "      flat");
            assert!(first.contains(want), "{index}: {text}");
        }
        let o = Command::new("go")
            .args(["tool", "pprof", "-raw", "-sample_index=inuse_objects"])
            .arg(&p)
            .output()
            .expect("go tool pprof");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains(
                "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes"
            ),
            "{text}"
        );
        // leak_some's sample: 100 allocations of 100,000 B, all still in use at exit.
        assert!(
            text.lines().any(|l| {
                let v: Vec<&str> = l.split_whitespace().take(4).collect();
                v == ["100", "100000", "100", "100000:"]
            }),
            "{text}"
        );
    }
}

#[test]
fn heap_two_threads_counts_exact_and_unwinder_agrees_with_libgcc() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = compile("heap/threads.c", tmp.path(), "threads", &["-g", "-O1"]);
    let bin_s = bin.to_str().expect("utf-8 path");
    // RPROF_HEAP_VERIFY=1 unwinds every stack twice and counts differences (none expected).
    let (ok, so, se) = heap(
        tmp.path(),
        &["--folded", "allocs"],
        &[bin_s],
        &[("RPROF_HEAP_VERIFY", "1")],
    );
    assert!(ok, "{se}");
    assert!(!se.contains("verify:"), "{se}");
    assert_eq!(folded_sum(&so, "worker_a"), 3000, "{so}");
    assert_eq!(folded_sum(&so, "worker_b"), 5000, "{so}");
    // Each thread's stack runs out to the thread start.
    assert!(so.contains("start_thread;worker_a 3000"), "{so}");
    let (ok, so, se) = heap(tmp.path(), &[], &[bin_s], &[]);
    assert!(ok, "{se}");
    assert!(so.contains("3 threads"), "{so}");
    assert!(so.contains("3,000 allocations  72,000 B  worker_a"), "{so}");
    assert!(
        so.contains("5,000 allocations  200,000 B  worker_b"),
        "{so}"
    );
}

#[test]
fn heap_cpp_new_delete_demangled() {
    if !live("g++", have("g++")) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = compile("heap/cpp.cc", tmp.path(), "cpp", &["-g", "-O1"]);
    let bin_s = bin.to_str().expect("utf-8 path");
    let (ok, so, se) = heap(tmp.path(), &[], &[bin_s], &[("RPROF_HEAP_VERIFY", "1")]);
    assert!(ok, "{se}");
    assert!(!se.contains("verify:"), "{se}");
    // 50 x 128-byte widgets through operator new, 10 never deleted.
    assert!(
        so.contains("50 allocations  6,400 B  shapes::make_widgets(int) (cpp.cc:15)"),
        "{so}"
    );
    assert!(
        so.contains("1,280 B in 10 blocks  shapes::make_widgets(int) (cpp.cc:15)"),
        "{so}"
    );
    assert!(!so.contains(" _Z"), "mangled names left:\n{so}");
    assert!(
        !so.contains("operator new"),
        "allocator frames are not sites:\n{so}"
    );
}

#[test]
fn heap_rust_release_program_demangled() {
    if !live("rustc", have("rustc")) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = tmp.path().join("rust_alloc");
    let st = Command::new("rustc")
        .args(["-C", "opt-level=3", "-C", "debuginfo=1", "-o"])
        .arg(&bin)
        .arg(fixture("heap/rust_alloc.rs"))
        .status()
        .expect("rustc");
    assert!(st.success());
    let bin_s = bin.to_str().expect("utf-8 path");
    let (ok, peak, se) = heap(tmp.path(), &["--folded", "peak"], &[bin_s], &[]);
    assert!(ok, "{se}");
    // 64 boxed 4 KiB pages at the peak, under build_table.
    assert_eq!(
        folded_sum(&peak, "rust_alloc::build_table"),
        64 * 4096 + 512,
        "{peak}"
    );
    assert!(!peak.contains("_ZN") && !peak.contains("_R"), "{peak}");
    let (ok, leaks, se) = heap(tmp.path(), &["--folded", "leaks"], &[bin_s], &[]);
    assert!(ok, "{se}");
    assert!(folded_sum(&leaks, "rust_alloc::leak_names") > 0, "{leaks}");
    let (ok, so, se) = heap(tmp.path(), &[], &[bin_s], &[]);
    assert!(ok, "{se}");
    assert!(so.contains("in 20 blocks still allocated at exit"), "{so}");
}

#[test]
fn heap_exit_paths_signals_and_fork() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = compile("heap/ends.c", tmp.path(), "ends", &["-g", "-O1"]);
    let bin_s = bin.to_str().expect("utf-8 path");
    // _exit skips atexit and destructors; a crash and a kill skip everything: the 300 leaked
    // blocks are still all there.
    for (mode, how) in [
        ("_exit", "exited with status 3"),
        ("crash", "was killed by SIGSEGV"),
        ("kill", "was killed by SIGTERM"),
    ] {
        let (ok, so, se) = heap(tmp.path(), &[], &[bin_s, mode], &[]);
        assert!(ok, "{mode}: {se}");
        assert!(se.contains(&format!("the command {how}")), "{mode}: {se}");
        assert!(
            so.contains("Leaks: 19,200 B in 300 blocks still allocated at exit"),
            "{mode}: {so}"
        );
        assert!(
            line_after(&so, "Leaks:").contains("leak_before_exit (ends.c:"),
            "{mode}: {so}"
        );
    }
    // A forked child is followed: its own 77 allocations.
    let (ok, so, se) = heap(tmp.path(), &[], &[bin_s, "fork"], &[]);
    assert!(ok, "{se}");
    assert!(
        so.contains("77 allocations  2,464 B  child_work (ends.c:"),
        "{so}"
    );
    // The parent made none: it is listed, the child is the one analysed.
    assert!(
        so.contains("Processes without allocations:\n  ends (pid "),
        "{so}"
    );
    assert!(so.contains(", forked from pid "), "{so}");
    // malloc from a signal handler: the program runs to its end and the report is complete;
    // handler calls that interrupted a recording are counted as not recorded.
    let (ok, so, se) = heap(tmp.path(), &[], &[bin_s, "signal"], &[]);
    assert!(ok, "{se}");
    assert!(
        se.contains("exited with status 0") && se.contains("stream complete"),
        "{se}"
    );
    assert!(so.contains("Most temporary allocations"), "{so}");
    assert!(se.contains("allocations not recorded (reentrant)"), "{se}");
}

#[test]
fn heap_follows_exec() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = compile("massif/heap.c", tmp.path(), "heap", &["-g", "-O0"]);
    let script = format!("exec {} 8", bin.display());
    let (ok, so, se) = heap(tmp.path(), &[], &["sh", "-c", &script], &[]);
    assert!(ok, "{se}");
    assert!(so.contains("Peak heap: 8,392,768 B"), "{so}");
    assert!(so.contains("heap (pid "), "{so}");
    assert!(so.contains("exec'd from sh (pid "), "{so}");
}

#[test]
fn heap_static_program_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = fixture("heap/threads.c");
    let bin = tmp.path().join("static");
    let built = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .arg("-lpthread")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !live(
        "static libc",
        if built {
            Ok(())
        } else {
            Err("gcc -static failed (no libc.a)".into())
        },
    ) {
        return;
    }
    let (ok, _so, se) = heap(tmp.path(), &[], &[bin.to_str().expect("utf-8")], &[]);
    assert!(!ok);
    assert!(se.contains("is statically linked"), "{se}");
    assert!(!se.contains("panicked"), "{se}");
}

#[test]
fn heap_missing_command_and_no_command() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (ok, _, se) = heap(tmp.path(), &[], &["./no-such-program"], &[]);
    assert!(!ok);
    assert!(se.contains("command not found"), "{se}");
    let out = rprof().args(["heap"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}
