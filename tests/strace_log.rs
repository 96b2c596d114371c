//! `rprof strace-summary --from-log`: golden renderings of committed strace logs, agreement
//! with the real `strace -c` on the same run, and clear errors on bad input.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::Value;

fn run_ok(args: &[&str]) -> String {
    let out = rprof().args(args).output().expect("run rprof");
    assert!(
        out.status.success(),
        "rprof {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn strace_log_golden_text_tt() {
    let log = fixture("strace/mix-tt.log");
    let out = run_ok(&[
        "strace-summary",
        "--from-log",
        log.to_str().expect("path"),
        "--errors",
    ]);
    golden("strace/mix-tt.txt", &out);
}

#[test]
fn strace_log_golden_pid_prefix_sorted_by_calls() {
    let log = fixture("strace/pid-prefix.log");
    let p = log.to_str().expect("path");
    golden(
        "strace/pid-prefix-calls.txt",
        &run_ok(&["strace-summary", "--from-log", p, "-S", "calls", "--errors"]),
    );
    golden(
        "strace/pid-prefix-per-thread.txt",
        &run_ok(&[
            "strace-summary",
            "--from-log",
            p,
            "--per-thread",
            "-S",
            "name",
        ]),
    );
    golden(
        "strace/pid-prefix.json",
        &run_ok(&["strace-summary", "--from-log", p, "--format", "json"]),
    );
}

#[test]
fn strace_log_without_times_is_counts_only() {
    let log = fixture("strace/no-times.log");
    let p = log.to_str().expect("path");
    golden(
        "strace/no-times-per-process.txt",
        &run_ok(&[
            "strace-summary",
            "--from-log",
            p,
            "--per-process",
            "--errors",
        ]),
    );
}

#[test]
fn strace_log_output_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("summary.txt");
    let log = fixture("strace/pid-prefix.log");
    let stdout = run_ok(&[
        "strace-summary",
        "--from-log",
        log.to_str().expect("path"),
        "-o",
        dest.to_str().expect("path"),
    ]);
    assert!(stdout.is_empty());
    let written = std::fs::read_to_string(&dest).expect("summary file");
    assert!(written.contains("openat"), "{written}");
}

/// Parses strace's own -c table: syscall -> (calls, errors).
fn strace_table(text: &str) -> HashMap<String, (u64, u64)> {
    let mut m = HashMap::new();
    let mut in_table = false;
    for l in text.lines() {
        if l.starts_with("% time") {
            in_table = true;
            continue;
        }
        if !in_table || l.starts_with("---") {
            continue;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        let name = f.last().copied().unwrap_or("");
        if name == "total" {
            continue;
        }
        let (calls, errors) = match f.len() {
            6 => (f[3].parse().unwrap_or(0), f[4].parse().unwrap_or(0)),
            5 => (f[3].parse().unwrap_or(0), 0),
            _ => continue,
        };
        m.insert(name.to_string(), (calls, errors));
    }
    m
}

#[test]
fn strace_log_matches_strace_c_on_same_run() {
    if !live("strace", have("strace")) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = compile("strace/mix.c", dir.path(), "mix", &["-O2"]);
    let log = dir.path().join("run.log");
    // -C: the trace and strace's own summary of the very same run, in one file.
    let st = std::process::Command::new("strace")
        .args(["-f", "-T", "-C", "-o"])
        .arg(&log)
        .arg(&bin)
        .arg("500")
        .status()
        .expect("run strace");
    if !st.success() && !live("strace", Err(format!("strace could not trace here: {st}"))) {
        return;
    }
    let text = std::fs::read_to_string(&log).expect("log");
    let expected = strace_table(&text);
    assert!(expected.contains_key("write"), "{text}");
    let out = run_ok(&[
        "strace-summary",
        "--from-log",
        log.to_str().expect("path"),
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out).expect("json");
    let ours: HashMap<String, (u64, u64)> = v["tables"][0]["syscalls"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["syscall"].as_str().unwrap_or("").to_string(),
                (
                    r["calls"].as_u64().unwrap_or(0),
                    r["errors"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect();
    assert_eq!(ours, expected, "rprof vs strace -c");
    assert_eq!(expected.get("open"), Some(&(100, 100)));
}

#[test]
fn strace_log_bad_inputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, &[u8]); 4] = [
        ("empty", b""),
        (
            "garbage",
            b"\x00\x01\x02\xff\xfe binary junk\nthis is not a log\n",
        ),
        ("text", b"hello world\nfoo = bar\n"),
        ("huge", &[b'a'; 1 << 20]),
    ];
    for (name, bytes) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        let out = rprof()
            .args(["strace-summary", "--from-log", p.to_str().expect("path")])
            .output()
            .expect("run");
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {e}");
        assert!(e.starts_with("rprof: "), "{name}: {e}");
        assert!(e.contains("not an strace log"), "{name}: {e}");
        assert!(!e.contains("panicked"), "{name}: {e}");
    }
    let out = rprof()
        .args(["strace-summary", "--from-log", "/nonexistent/log"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/log"));
}
