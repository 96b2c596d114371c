//! `rprof heap` across processes, live: a program that forks a child allocating with its own
//! stack, and a shell script that launches one C program and execs another. Every process is
//! analysed on its own, symbolized against its own program, with exact counts (the fixtures
//! are deterministic), and valgrind massif (which also follows forks) agrees on the child's
//! peak and its heap at exit.

mod common;

use std::path::Path;
use std::process::Command;

use common::{compile, have, live, rprof};

/// Runs `rprof heap ARGS -- CMD...` in `dir`; returns (success, stdout, stderr).
fn heap(dir: &Path, args: &[&str], cmd: &[&str]) -> (bool, String, String) {
    let out = rprof()
        .current_dir(dir)
        .arg("heap")
        .args(args)
        .arg("--")
        .args(cmd)
        .output()
        .expect("runs rprof");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The summary section of the process whose root frame starts with `prog (pid `, when
/// `origin` is part of its heading: from its `=== ` line to the next one.
fn section<'a>(text: &'a str, prog: &str, origin: &str) -> &'a str {
    let head = format!("=== {prog} (pid ");
    let mut at = 0;
    while let Some(i) = text[at..].find(&head) {
        let start = at + i;
        let line_end = text[start..].find('\n').map_or(text.len(), |e| start + e);
        let rest = &text[line_end..];
        let end = rest.find("\n=== ").map_or(text.len(), |e| line_end + e);
        if text[start..line_end].contains(origin) {
            return &text[start..end];
        }
        at = line_end;
    }
    panic!("no section of {prog} ({origin}) in:\n{text}");
}

/// The pid in a section's heading `=== prog (pid N): ...`.
fn pid_of(section: &str) -> u32 {
    let s = section.split("(pid ").nth(1).expect("pid in heading");
    s[..s.find(')').expect(")")].parse().expect("a pid")
}

/// The line after the first line starting with `header` (after trimming).
fn line_after<'a>(text: &'a str, header: &str) -> &'a str {
    text.lines()
        .skip_while(|l| !l.trim_start().starts_with(header.trim_start()))
        .nth(1)
        .unwrap_or_else(|| panic!("no line after {header:?} in:\n{text}"))
}

/// Weight of the folded line that is exactly `stack`.
fn folded_weight(folded: &str, stack: &str) -> Option<u64> {
    folded.lines().find_map(|l| {
        let (s, w) = l.rsplit_once(' ')?;
        (s == stack).then(|| w.parse().ok()).flatten()
    })
}

/// (mem_heap_B of the peak snapshot, mem_heap_B of the last snapshot) of a massif file.
fn massif_peak_and_end(path: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(path).expect("massif output");
    let (mut heap, mut peak) = (0, None);
    for l in text.lines() {
        if let Some(v) = l.strip_prefix("mem_heap_B=") {
            heap = v.parse().expect("number");
        }
        if l == "heap_tree=peak" {
            peak = Some(heap);
        }
    }
    (
        peak.unwrap_or_else(|| panic!("no peak in {}", path.display())),
        heap,
    )
}

/// The parent (12 allocations, 12,100 B leaked) and the forked child (87 allocations, a
/// 262,144 B build on its own stack, 23 x 100 B leaked, plus the parent's 5 x 2,000 B it
/// inherited) of fixtures/heap/family.c, checked in a summary; returns (parent pid, child pid).
fn check_family(so: &str, parent_origin: &str) -> (u32, u32) {
    let parent = section(so, "family", parent_origin);
    assert!(
        parent.contains("Totals: 12 allocations (12,100 B), 0 frees"),
        "{parent}"
    );
    assert!(
        parent.contains("Leaks: 12,100 B in 12 blocks still allocated at exit"),
        "{parent}"
    );
    assert!(
        line_after(parent, "Leaks:").contains("10,000 B in 5 blocks  parent_before (family.c:"),
        "{parent}"
    );
    assert!(
        parent.contains("7 allocations  2,100 B  parent_after (family.c:"),
        "{parent}"
    );
    assert!(!parent.contains("child_"), "{parent}");
    let ppid = pid_of(parent);

    let child = section(so, "family", &format!("forked from pid {ppid}"));
    assert!(
        child.contains("Totals: 87 allocations (264,444 B), 64 frees"),
        "{child}"
    );
    assert!(
        child.contains("Inherited at the fork: 10,000 B in 5 blocks"),
        "{child}"
    );
    assert!(
        child.contains("Peak heap: 272,144 B (265.77 KiB) in 69 blocks"),
        "{child}"
    );
    let top = line_after(child, "Allocation sites at the peak");
    assert!(
        top.contains("262,144 B in 64 blocks  child_build (family.c:"),
        "{top}"
    );
    assert!(
        line_after(child, top).contains("called from child_main (family.c:"),
        "{child}"
    );
    assert!(
        child.contains("Leaks: 12,300 B in 28 blocks still allocated at exit"),
        "{child}"
    );
    assert!(
        child.contains("2,300 B in 23 blocks  child_leak (family.c:"),
        "{child}"
    );
    assert!(
        child.contains("64 allocations  262,144 B  child_build (family.c:"),
        "{child}"
    );
    // The parent's sites are not the child's allocations.
    assert!(
        !child.contains("allocations  10,000 B  parent_before"),
        "{child}"
    );
    (ppid, pid_of(child))
}

#[test]
fn heap_forked_child_analysed_with_its_own_stacks() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = compile("heap/family.c", tmp.path(), "family", &["-g", "-O1"]);
    let bin_s = bin.to_str().expect("utf-8 path");
    let (ok, so, se) = heap(
        tmp.path(),
        &[
            "--massif",
            "f.massif",
            "--chart",
            "chart.svg",
            "--pprof",
            "f.pb.gz",
        ],
        &[bin_s],
    );
    assert!(ok, "{se}");
    assert!(se.contains("stream complete"), "{se}");
    let wrote = se;
    assert!(
        so.contains("Processes: 2 with allocations, each analysed on its own"),
        "{so}"
    );
    let (ppid, cpid) = check_family(&so, "launched");

    // Folded allocation counts: one root frame per process, each with its own stacks.
    let (ok, folded, se) = heap(tmp.path(), &["--folded", "allocs"], &[bin_s]);
    assert!(ok, "{se}");
    let roots: Vec<&str> = folded
        .lines()
        .filter_map(|l| l.split(';').next())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(roots.len(), 2, "{folded}");
    let child_root = roots
        .iter()
        .find(|r| folded.contains(&format!("{r};main;child_main;child_build 64")))
        .unwrap_or_else(|| panic!("child_build under one root: {folded}"));
    let parent_root = roots
        .iter()
        .find(|r| *r != child_root)
        .expect("parent root");
    assert_eq!(
        folded_weight(&folded, &format!("{child_root};main;child_main;child_leak")),
        Some(23),
        "{folded}"
    );
    assert_eq!(
        folded_weight(&folded, &format!("{parent_root};main;parent_before")),
        Some(5),
        "{folded}"
    );
    assert_eq!(
        folded_weight(&folded, &format!("{parent_root};main;parent_after")),
        Some(7),
        "{folded}"
    );
    assert!(
        !folded.contains(&format!("{parent_root};main;child")),
        "{folded}"
    );

    // massif files as massif --trace-children names them: FILE, FILE.PID for the child.
    let pm = tmp.path().join("f.massif");
    let cm = tmp.path().join(format!("f.massif.{cpid}"));
    assert!(
        wrote.contains(&format!("wrote f.massif (family (pid {ppid}))")),
        "{wrote}"
    );
    assert_eq!(massif_peak_and_end(&pm), (12_100, 12_100));
    assert_eq!(massif_peak_and_end(&cm), (272_144, 12_300));
    assert!(tmp.path().join(format!("chart.{cpid}.svg")).is_file());
    if live("ms_print", have("ms_print")) {
        let o = Command::new("ms_print")
            .arg(&cm)
            .output()
            .expect("ms_print");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("child_build (family.c:"), "{text}");
    }
    // valgrind massif follows the fork too: the same peak and end for the child, the same
    // heap for the parent.
    if live("valgrind", have("valgrind")) {
        let o = Command::new("valgrind")
            .current_dir(tmp.path())
            .args(["--tool=massif", "--massif-out-file=v.%p"])
            .arg(&bin)
            .output()
            .expect("valgrind");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut ends: Vec<(u64, u64)> = std::fs::read_dir(tmp.path())
            .expect("dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("v."))
            .map(|e| {
                let text = std::fs::read_to_string(e.path()).expect("massif file");
                let peak = if text.contains("heap_tree=peak") {
                    massif_peak_and_end(&e.path()).0
                } else {
                    0
                };
                let end = text
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("mem_heap_B="))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                (peak, end)
            })
            .collect();
        ends.sort();
        assert_eq!(ends.len(), 2, "one massif file per process");
        assert_eq!(ends[1], (272_144, 12_300), "massif's child");
        assert_eq!(ends[0].1, 12_100, "massif's parent at exit");
    }
    // pprof: one profile, each sample labelled with its pid.
    if live("go", have("go")) {
        let o = Command::new("go")
            .args(["tool", "pprof", "-traces", "-sample_index=alloc_objects"])
            .arg(tmp.path().join("f.pb.gz"))
            .output()
            .expect("go tool pprof");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let trace = text
            .split("-----------+")
            .find(|t| t.contains("child_build"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(trace.contains(&format!("pid:  {cpid}")), "{trace}");
        assert!(trace.contains("        64   child_build"), "{trace}");
    }
}

#[test]
fn heap_shell_script_launches_and_execs_programs() {
    let tmp = tempfile::tempdir().expect("tmp");
    compile("heap/family.c", tmp.path(), "family", &["-g", "-O1"]);
    compile("massif/heap.c", tmp.path(), "heap", &["-g", "-O0"]);
    let script = tmp.path().join("run.sh");
    // The shell forks (or vforks) and execs ./family, which forks a child of its own; then it
    // execs ./heap in its own process.
    std::fs::write(&script, "#!/bin/sh\n./family\nexec ./heap 8\n").expect("script");
    let (ok, so, se) = heap(tmp.path(), &[], &["sh", "run.sh"]);
    assert!(ok, "{se}");
    assert!(se.contains("the command exited with status 0"), "{se}");
    assert!(se.contains("stream complete"), "{se}");
    let sh_pid: u32 = so
        .lines()
        .next()
        .and_then(|l| l.split("(pid ").nth(1))
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("Command line with a pid: {so}"));
    // ./family: started by the shell, symbolized against family's own binary.
    check_family(&so, &format!("started by sh (pid {sh_pid})"));
    // ./heap: the same pid as the shell, after exec, symbolized against heap.
    let h = section(&so, "heap", &format!("exec'd from sh (pid {sh_pid})"));
    assert_eq!(pid_of(h), sh_pid);
    assert!(
        h.contains("Totals: 111 allocations (8,492,768 B), 11 frees"),
        "{h}"
    );
    assert!(
        h.contains("Peak heap: 8,392,768 B (8.00 MiB) in 11 blocks"),
        "{h}"
    );
    assert!(
        line_after(h, "Allocation sites at the peak")
            .contains("8,388,608 B in 8 blocks  build_index (heap.c:18)"),
        "{h}"
    );
    assert!(
        line_after(h, "Leaks:").contains("100,000 B in 100 blocks  leak_some (heap.c:39)"),
        "{h}"
    );
    // The peak flame graph has every process under its own root (build_index's 8 MiB and
    // its 64-byte index).
    let (ok, peak, se) = heap(tmp.path(), &["--folded", "peak"], &["sh", "run.sh"]);
    assert!(ok, "{se}");
    assert!(
        peak.lines()
            .any(|l| l.starts_with("heap (pid ") && l.ends_with(";main;build_index 8388672")),
        "{peak}"
    );
    assert!(
        peak.lines()
            .any(|l| l.starts_with("family (pid ")
                && l.ends_with(";main;child_main;child_build 262144")),
        "{peak}"
    );
}
