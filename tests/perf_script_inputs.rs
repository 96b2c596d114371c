//! `perf script` text as perf's users produce it: period weights, several events, recordings
//! without call chains, old unindented frames, frames without symbol, Java inline chains,
//! `-F +srcline`, `(inlined)` marks, malformed lines; the inlined mark through folded, report
//! and SVG; and a live comparison with `perf report` on the same recording.
//!
//! Inputs are under fixtures/inputs/perf-script/ (multi-event.txt, no-callchain.txt and
//! srcline.txt are real `perf script` output of multi-event.c; see that file), expected
//! folded output under fixtures/expected/perf-script/.

mod common;

use common::{fixture, golden, rprof};
use serde_json::Value;

fn path(name: &str) -> String {
    fixture("inputs/perf-script")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn run_ok(args: &[&str]) -> String {
    let out = rprof().args(args).output().expect("run rprof");
    assert!(
        out.status.success(),
        "rprof {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

fn json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json", "--limit", "1000"]);
    serde_json::from_str(&run_ok(&a)).expect("json")
}

/// The report row named `name` (and, when given, in module `module`).
fn row<'a>(v: &'a Value, name: &str, module: Option<&str>) -> &'a Value {
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["name"] == name && module.is_none_or(|m| r["module"] == m))
        .unwrap_or_else(|| panic!("no row {name} {module:?} in {v}"))
}

fn names(v: &Value) -> Vec<String> {
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn every_shape_folds_as_expected() {
    for (input, extra) in [
        ("no-callchain.txt", None),
        ("unindented.txt", None),
        ("frames.txt", None),
        ("srcline.txt", None),
        ("malformed.txt", None),
        ("period.txt", None),
        ("multi-event.txt", None),
        ("multi-event.txt", Some("cpu-clock")),
    ] {
        let p = path(input);
        let mut args = vec!["report", p.as_str(), "--format", "folded"];
        if let Some(e) = extra {
            args.extend(["--event", e]);
        }
        let name = match extra {
            Some(e) => format!("perf-script/{}.{e}.folded", input.trim_end_matches(".txt")),
            None => format!("perf-script/{}.folded", input.trim_end_matches(".txt")),
        };
        golden(&name, &run_ok(&args));
    }
}

#[test]
fn period_weights_the_samples() {
    // handle_intel is 2 samples of 50 (4%) but 360 faults of 1000 (36%).
    let v = json(&["report", &path("period.txt")]);
    assert_eq!(v["total_weight"], 1000);
    assert_eq!(v["samples"], 50);
    assert_eq!(v["metadata"]["unit"], "page-faults");
    assert_eq!(v["metadata"]["event"], "page-faults");
    let hi = row(&v, "handle_intel", None);
    assert_eq!(hi["self"], 360);
    assert!((hi["self_pct"].as_f64().expect("pct") - 36.0).abs() < 1e-9);
    // The same text without its period column: every sample weighs 1, the unit is samples.
    let text = std::fs::read_to_string(path("period.txt")).expect("fixture");
    let no_period: String = text
        .lines()
        .map(|l| match l.find(": ") {
            Some(i) if !l.starts_with('\t') => {
                let (head, rest) = l.split_at(i + 2);
                format!(
                    "{head}{}\n",
                    rest.trim_start().trim_start_matches(char::is_numeric)
                )
            }
            _ => format!("{l}\n"),
        })
        .collect();
    assert!(!no_period.contains("180 page-faults"));
    let out = rprof()
        .args(["report", "-", "--format", "json"])
        .write_stdin(no_period)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["total_weight"], 50);
    assert_eq!(v["metadata"]["unit"], "samples");
    let hi = row(&v, "handle_intel", None);
    assert_eq!(hi["self"], 2);
    assert!((hi["self_pct"].as_f64().expect("pct") - 4.0).abs() < 1e-9);
}

/// Sum of the periods of `event`'s samples, read straight from the text.
fn period_sum(text: &str, event: &str) -> (u64, usize) {
    let mut sum = 0;
    let mut n = 0;
    for l in text.lines().filter(|l| !l.starts_with('\t')) {
        let toks: Vec<&str> = l.split_whitespace().collect();
        if let Some(i) = toks.iter().position(|t| *t == format!("{event}:")) {
            sum += toks[i - 1].parse::<u64>().expect("period");
            n += 1;
        }
    }
    (sum, n)
}

#[test]
fn several_events_are_never_summed() {
    let input = path("multi-event.txt");
    let text = std::fs::read_to_string(&input).expect("fixture");
    let (pf, pf_n) = period_sum(&text, "page-faults");
    let (cc, cc_n) = period_sum(&text, "cpu-clock");
    assert!(pf_n > 10 && cc_n > 50, "fixture holds both events");

    // Default: the first event present (the exec's first page fault comes first).
    let v = json(&["report", &input]);
    assert_eq!(
        v["metadata"]["events"],
        serde_json::json!(["page-faults", "cpu-clock"])
    );
    assert_eq!(v["metadata"]["event"], "page-faults");
    assert_eq!(v["metadata"]["unit"], "page-faults");
    assert_eq!(v["total_weight"], pf);
    assert_eq!(v["samples"], pf_n);
    assert!(row(&v, "touch", None)["self_pct"].as_f64().expect("pct") > 95.0);

    for name in ["cpu-clock", "cpu-clock:u"] {
        let v = json(&["report", &input, "--event", name]);
        assert_eq!(v["metadata"]["event"], "cpu-clock");
        assert_eq!(v["metadata"]["unit"], "ns");
        assert_eq!(v["total_weight"], cc);
        assert_eq!(v["samples"], cc_n);
        assert!(row(&v, "spin", None)["self_pct"].as_f64().expect("pct") > 40.0);
    }

    let out = rprof()
        .args(["report", &input, "--event", "cycles"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("multi-event.txt")
            && err.contains("no event `cycles`")
            && err.contains("page-faults, cpu-clock"),
        "{err}"
    );

    // The other commands take the same flag.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("cc.data");
    run_ok(&[
        "convert",
        &input,
        "--event",
        "cpu-clock",
        "-o",
        data.to_str().expect("path"),
    ]);
    let v = json(&["report", data.to_str().expect("path")]);
    assert_eq!(
        (v["total_weight"].as_u64(), v["metadata"]["unit"].as_str()),
        (Some(cc), Some("ns"))
    );
    let out = rprof()
        .args([
            "report",
            data.to_str().expect("path"),
            "--event",
            "page-faults",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "a data file holds one event");
    let folded = run_ok(&["flamegraph", &input, "--event", "cpu-clock", "--folded"]);
    let total: u64 = folded
        .lines()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(total, cc);
    let svg = dir.path().join("d.svg");
    let out = run_ok(&[
        "diff",
        &input,
        data.to_str().expect("path"),
        "--event",
        "cpu-clock",
        "--format",
        "json",
        "-o",
        svg.to_str().expect("path"),
    ]);
    let d: Value = serde_json::from_str(&out).expect("json");
    for c in d["changed"].as_array().expect("changed") {
        assert_eq!(c["before_samples"], c["after_samples"], "{c}");
    }
}

#[test]
fn recordings_without_call_chains() {
    let input = path("no-callchain.txt");
    let lines = std::fs::read_to_string(&input)
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    let v = json(&["report", &input]);
    assert_eq!(v["samples"], lines, "one sample per line");
    assert_eq!(v["total_weight"], lines as u64 * 250000);
    assert_eq!(v["metadata"]["unit"], "ns");
    let spin = row(&v, "spin", Some("multi"));
    assert_eq!(spin["self"], spin["total"], "one frame per sample");
}

#[test]
fn old_unindented_frames() {
    let v = json(&["report", &path("unindented.txt")]);
    assert_eq!(v["samples"], 4);
    assert_eq!(v["metadata"]["unit"], "samples");
    assert_eq!(row(&v, "native_safe_halt", None)["self"], 2);
    assert_eq!(row(&v, "main", Some("bash"))["total"], 2);
}

#[test]
fn frames_without_symbol_java_chains_and_inlined_marks() {
    let v = json(&["report", &path("frames.txt")]);
    let all = names(&v);
    assert!(
        all.iter().all(|n| !n.starts_with('(') && !n.contains("->")),
        "{all:?}"
    );
    assert!(v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .all(|r| r["module"] != "inlined"));
    // `7f1e2215d058  (/lib/.../libc-2.15.so)`: unknown, in libc.
    let u = row(&v, "[unknown]", Some("libc-2.15.so"));
    assert_eq!(u["self"], 100000);
    assert_eq!(u["inlined"], false);
    // Both spellings of perf's mark, in the module of the function they were inlined into.
    let m = row(&v, "mix_helper", Some("inl"));
    assert_eq!(
        (m["inlined"].as_bool(), m["self"].as_u64()),
        (Some(true), Some(200000))
    );
    assert_eq!(row(&v, "outer_work", Some("inl"))["inlined"], false);
    // `handle->parse->next`: handle called (not inlined), the others inlined into it.
    assert_eq!(row(&v, "Lcom/acme/Server;::handle", None)["inlined"], false);
    assert_eq!(row(&v, "Lcom/acme/Server;::handle", None)["total"], 200000);
    assert_eq!(row(&v, "Lcom/acme/Parser;::parse", None)["inlined"], true);
    assert_eq!(row(&v, "Lcom/acme/Lexer;::next", None)["inlined"], true);
    // A kernel thread whose name holds a slash and digits.
    let t = run_ok(&["report", &path("frames.txt"), "--sort", "thread"]);
    assert!(t.contains("kworker/0:1-77"), "{t}");
    // The text report says it too.
    let text = run_ok(&["report", &path("frames.txt")]);
    assert!(text.contains("mix_helper (inlined)"), "{text}");
    assert!(!text.contains("outer_work (inlined)"), "{text}");
}

#[test]
fn inlined_mark_survives_folded_and_svg() {
    let folded = run_ok(&["report", &path("frames.txt"), "--format", "folded"]);
    assert!(folded.contains("outer_work;mix_helper_[i] "), "{folded}");
    // Folded with `_[i]` reads back as inlined frames.
    let out = rprof()
        .args(["report", "-", "--format", "json"])
        .write_stdin(folded.clone())
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(row(&v, "mix_helper", None)["inlined"], true);
    assert_eq!(row(&v, "[unknown]", Some("libc-2.15.so"))["self"], 100000);
    let again = rprof()
        .args(["report", "-", "--format", "folded"])
        .write_stdin(folded.clone())
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&again.stdout), folded, "round trip");
    // The SVG, from the perf script text (through the model) and from the folded text (as is).
    for (input, stdin) in [(path("frames.txt"), None), ("-".to_string(), Some(folded))] {
        let mut cmd = rprof();
        cmd.args(["flamegraph", &input, "-o", "-"]);
        if let Some(s) = stdin {
            cmd.write_stdin(s);
        }
        let out = cmd.output().expect("run");
        assert!(out.status.success());
        let svg = String::from_utf8_lossy(&out.stdout);
        let g = svg
            .split("<g")
            .find(|g| g.contains("<title>mix_helper ("))
            .expect("mix_helper frame");
        assert!(g.contains("class=\"inlined\""), "{g}");
        let o = svg
            .split("<g")
            .find(|g| g.contains("<title>outer_work ("))
            .expect("outer_work frame");
        assert!(!o.contains("inlined"), "{o}");
    }
}

#[test]
fn srcline_output_gives_file_and_line() {
    let v = json(&[
        "report",
        &path("srcline.txt"),
        "--sort",
        "line",
        "--event",
        "cpu-clock",
    ]);
    let all = names(&v);
    assert!(all.iter().any(|n| n == "multi.c:5"), "{all:?}");
    assert!(all.iter().any(|n| n == "libc-start.c:74"), "{all:?}");
    // `[kernel.kallsyms][ADDR]` is perf's "no line known": the function name stands.
    assert!(all.iter().all(|n| !n.contains("kallsyms")), "{all:?}");
    let v = json(&["report", &path("srcline.txt"), "--sort", "line"]);
    assert_eq!(row(&v, "multi.c:8", Some("multi"))["self"], 96);
}

#[test]
fn malformed_lines_are_skipped_with_a_warning() {
    let out = rprof()
        .args(["report", &path("malformed.txt"), "--format", "json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("malformed.txt")
            && err.contains("skipped 2 malformed lines")
            && err.contains("line 5"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["samples"], 3);
    assert_eq!(row(&v, "hot", None)["self"], 500000);
}

#[test]
fn multibyte_timestamp_is_no_panic() {
    // Fuzz-found: a fraction cut inside a multi-byte character exited 101 everywhere.
    let text = "a 1 0.12345678\u{e9}9: 5 cpu-clock:\n\t 1 f (/a)\n\na 1 1.\u{65e5}\u{65e5}\u{65e5}: 5 cpu-clock:\n\t 2 g (/a)\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("fuzz.txt");
    std::fs::write(&f, text).expect("write");
    let f = f.to_str().expect("path").to_string();
    let data = dir.path().join("o.data");
    let svg = dir.path().join("o.svg");
    let runs: Vec<Vec<&str>> = vec![
        vec!["report", &f],
        vec!["flamegraph", &f, "-o", svg.to_str().expect("p")],
        vec!["convert", &f, "-o", data.to_str().expect("p")],
        vec!["diff", &f, &f, "-o", svg.to_str().expect("p")],
    ];
    for args in runs {
        let out = rprof().args(&args).output().expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = rprof()
        .args(["report", "-", "--format", "json"])
        .write_stdin(text)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["total_weight"], 10);
}

/// Percentages per event from `perf report --stdio --no-children --sort sym -g none`.
fn perf_report_shares(data: &std::path::Path) -> Vec<(String, String, f64)> {
    let out = std::process::Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "--sort",
            "sym",
            "-g",
            "none",
            "-i",
        ])
        .arg(data)
        .output()
        .expect("perf report");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut event = String::new();
    let mut v = Vec::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# Samples:") {
            event = rest.split('\'').nth(1).unwrap_or_default().to_string();
        } else if let Some((pct, sym)) = l.trim().split_once("%  [") {
            if let (Ok(p), Some(name)) = (pct.parse::<f64>(), sym.split("] ").nth(1)) {
                v.push((event.clone(), name.trim().to_string(), p));
            }
        }
    }
    v
}

#[test]
fn live_perf_two_events_match_perf_report() {
    let facility = common::have("perf").and_then(|_| common::perf_event_check());
    if !common::live("perf", facility) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = common::compile(
        "inputs/perf-script/multi-event.c",
        dir.path(),
        "multi",
        &["-O1", "-g", "-fno-omit-frame-pointer"],
    );
    let data = dir.path().join("perf.data");
    let st = std::process::Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock,page-faults", "-g", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .output()
        .expect("perf record");
    assert!(
        st.status.success(),
        "perf record: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let script = std::process::Command::new("perf")
        .args(["script", "-i"])
        .arg(&data)
        .output()
        .expect("perf script");
    assert!(script.status.success());
    let shares = perf_report_shares(&data);
    for (event, func) in [("page-faults", "touch"), ("cpu-clock", "spin")] {
        let want = shares
            .iter()
            .find(|(e, n, _)| e == event && n == func)
            .unwrap_or_else(|| panic!("perf report has no {func} under {event}: {shares:?}"))
            .2;
        let out = rprof()
            .args(["report", "-", "--format", "json", "--event", event])
            .write_stdin(script.stdout.clone())
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        let got = row(&v, func, None)["self_pct"].as_f64().expect("pct");
        assert!(
            (got - want).abs() < 0.5,
            "{event}: {func} {got:.2}% in rprof, {want:.2}% in perf report"
        );
        assert_eq!(v["metadata"]["events"].as_array().map(|a| a.len()), Some(2));
    }
}
