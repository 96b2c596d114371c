//! report, flamegraph, diff and convert on committed inputs: golden outputs, exact numbers,
//! SVG content, and every kind of bad input.

mod common;

use common::{fixture, golden, rprof};
use std::collections::HashMap;

fn stdout_of(args: &[&str]) -> String {
    let out = rprof().args(args).output().expect("run rprof");
    assert!(
        out.status.success(),
        "rprof {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

fn path(rel: &str) -> String {
    fixture(rel).to_string_lossy().into_owned()
}

/// Replaces the absolute fixture directory so goldens do not depend on the checkout path.
fn portable(s: &str) -> String {
    s.replace(&path(""), "fixtures/")
}

/// Parses an SVG (inferno writes a DOCTYPE, which roxmltree refuses unless allowed).
fn parse_svg(s: &str) -> roxmltree::Document<'_> {
    let opt = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(s, opt).expect("SVG parses as XML")
}

/// Frame title -> sample count, from an SVG flame graph.
fn svg_frames(svg: &str) -> HashMap<String, u64> {
    let doc = parse_svg(svg);
    let mut m = HashMap::new();
    for n in doc.descendants().filter(|n| n.has_tag_name("title")) {
        let t = n.text().unwrap_or("");
        // "name (1,234 samples, 12.34%)"
        if let Some(i) = t.rfind(" (") {
            let inner = &t[i + 2..];
            let count: String = inner
                .split(' ')
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| c.is_ascii_digit())
                .collect();
            if let Ok(c) = count.parse::<u64>() {
                *m.entry(t[..i].to_string()).or_insert(0) += c;
            }
        }
    }
    m
}

#[test]
fn report_on_folded_matches_golden() {
    let out = stdout_of(&["report", &path("inputs/simple.folded")]);
    golden("report-simple.txt", &portable(&out));
}

#[test]
fn report_percentages_are_exact() {
    let out = stdout_of(&["report", &path("inputs/simple.folded"), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    let get = |n: &str| {
        rows.iter()
            .find(|r| r["name"] == n)
            .unwrap_or_else(|| panic!("row {n}"))
            .clone()
    };
    assert_eq!(v["total_weight"], 100);
    assert_eq!(get("main")["total_pct"], 100.0);
    assert_eq!(get("compute")["total"], 80);
    assert_eq!(get("compute")["self"], 5);
    assert_eq!(get("kernel_a")["self_pct"], 50.0);
    assert_eq!(get("parse")["total_pct"], 15.0);
    assert_eq!(get("read_token")["self_pct"], 10.0);
    // Hottest Total first.
    assert_eq!(rows[0]["name"], "main");
    assert_eq!(rows[1]["name"], "compute");
}

#[test]
fn report_limits_and_sorts() {
    let out = stdout_of(&["report", &path("inputs/simple.folded"), "--limit", "2"]);
    assert!(out.contains("main") && out.contains("compute"));
    assert!(!out.contains("kernel_b"));
    assert!(out.contains("5 more rows"));
    let out = stdout_of(&[
        "report",
        &path("inputs/simple.folded"),
        "--percent-limit",
        "20",
    ]);
    assert!(out.contains("kernel_b") && !out.contains("read_token"));
}

#[test]
fn report_on_perf_script_matches_golden() {
    let out = stdout_of(&["report", &path("inputs/perf-script.txt")]);
    golden("report-perf-script.txt", &portable(&out));
    let out = stdout_of(&[
        "report",
        &path("inputs/perf-script.txt"),
        "--sort",
        "thread",
    ]);
    assert!(out.contains("work-7160") && out.contains("work-7166"));
    let folded = stdout_of(&[
        "report",
        &path("inputs/perf-script.txt"),
        "--format",
        "folded",
    ]);
    golden("perf-script.folded", &folded);
    let total: u64 = folded
        .lines()
        .map(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|c| c.parse::<u64>().ok())
                .expect("count")
        })
        .sum();
    // Each sample weighs its period: 155 samples of 2004008 ns.
    assert_eq!(total, 155 * 2004008, "every perf script sample is folded");
}

#[test]
fn report_tid_filter() {
    let out = stdout_of(&[
        "report",
        &path("inputs/perf-script.txt"),
        "--tid",
        "7166",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["total_weight"], 53 * 2004008);
    let names: Vec<&str> = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"start_thread") && !names.contains(&"main"));
}

#[test]
fn data_file_reports_like_its_source() {
    let a = stdout_of(&[
        "report",
        &path("inputs/perf-script.txt"),
        "--format",
        "folded",
    ]);
    let b = stdout_of(&[
        "report",
        &path("inputs/perf-script.rprof"),
        "--format",
        "folded",
    ]);
    assert_eq!(a, b);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("x.data");
    rprof()
        .args(["convert", &path("inputs/simple.folded"), "-o"])
        .arg(&out)
        .assert()
        .success();
    let c = stdout_of(&["report", out.to_str().expect("path"), "--format", "folded"]);
    let d = stdout_of(&[
        "report",
        &path("inputs/simple.folded"),
        "--format",
        "folded",
    ]);
    assert_eq!(c, d);
}

#[test]
fn stdin_pipeline_report_to_flamegraph() {
    let folded = stdout_of(&[
        "report",
        &path("inputs/perf-script.txt"),
        "--format",
        "folded",
    ]);
    let out = rprof()
        .args(["flamegraph", "-", "-o", "-"])
        .write_stdin(folded)
        .output()
        .expect("run");
    assert!(out.status.success());
    let frames = svg_frames(&String::from_utf8_lossy(&out.stdout));
    // Weighted by period: 2004008 ns per sample.
    assert_eq!(frames.get("all"), Some(&(155 * 2004008)));
    assert_eq!(frames.get("leaf_a"), Some(&(76 * 2004008)));
    assert_eq!(frames.get("leaf_b"), Some(&(79 * 2004008)));
}

#[test]
fn svg_holds_frames_with_counts_and_escaped_names() {
    let out = stdout_of(&["flamegraph", &path("inputs/simple.folded"), "-o", "-"]);
    let f = svg_frames(&out);
    assert_eq!(f.get("main"), Some(&100));
    assert_eq!(f.get("compute"), Some(&80));
    assert_eq!(f.get("kernel_a"), Some(&50));
    assert!(
        out.contains("<script"),
        "interactive search/zoom script present"
    );
    let out = stdout_of(&["flamegraph", &path("inputs/templates.folded"), "-o", "-"]);
    let f = svg_frames(&out);
    assert_eq!(
        f.get("std::vector<int, std::allocator<int> >::push_back(int&&)"),
        Some(&30)
    );
    assert_eq!(f.get("Foo<Bar>::operator<(Foo<Bar> const&)"), Some(&20));
    assert_eq!(f.get("say \"hello\" & 'bye'"), Some(&5));
}

#[test]
fn flamegraph_writes_default_file_and_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    rprof()
        .current_dir(dir.path())
        .args([
            "flamegraph",
            &path("inputs/simple.folded"),
            "--title",
            "My <Title>",
        ])
        .assert()
        .success();
    let svg = std::fs::read_to_string(dir.path().join("flamegraph.svg")).expect("default output");
    assert!(svg.contains("My &lt;Title&gt;"));
    // A flame graph grows up (callees above, smaller y); an icicle graph grows down.
    let y_of = |svg: &str, name: &str| -> f64 {
        let doc = parse_svg(svg);
        let g = doc
            .descendants()
            .find(|n| {
                n.has_tag_name("g")
                    && n.children().any(|c| {
                        c.has_tag_name("title")
                            && c.text()
                                .is_some_and(|t| t.starts_with(&format!("{name} (")))
                    })
            })
            .unwrap_or_else(|| panic!("frame {name}"));
        let rect = g.children().find(|c| c.has_tag_name("rect")).expect("rect");
        rect.attribute("y").and_then(|y| y.parse().ok()).expect("y")
    };
    assert!(y_of(&svg, "kernel_a") < y_of(&svg, "main"));
    let inv = stdout_of(&[
        "flamegraph",
        &path("inputs/simple.folded"),
        "--inverted",
        "-o",
        "-",
    ]);
    assert!(y_of(&inv, "kernel_a") > y_of(&inv, "main"));
    let f = svg_frames(&stdout_of(&[
        "flamegraph",
        &path("inputs/simple.folded"),
        "--reverse",
        "-o",
        "-",
    ]));
    assert_eq!(f.get("kernel_a"), Some(&50));
}

#[test]
fn flamegraph_filters() {
    let folded = |extra: &[&str]| {
        let mut a = vec!["flamegraph", "--folded"];
        let p = path("inputs/simple.folded");
        a.push(&p);
        a.extend_from_slice(extra);
        stdout_of(&a)
    };
    assert_eq!(
        folded(&["--focus", "^kernel_"]),
        "main;compute;kernel_a 50\nmain;compute;kernel_b 25\n"
    );
    assert!(!folded(&["--ignore", "compute"]).contains("compute"));
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("rec.folded");
    std::fs::write(&rec, "main;f;f;f;g 3\nmain;f;h 1\n").expect("write");
    let out = stdout_of(&[
        "flamegraph",
        "--folded",
        "--collapse-recursion",
        rec.to_str().expect("path"),
    ]);
    assert_eq!(out, "main;f;g 3\nmain;f;h 1\n");
}

#[test]
fn flamegraph_per_thread_and_flamechart() {
    let out = stdout_of(&[
        "flamegraph",
        "--folded",
        "--per-thread",
        &path("inputs/perf-script.txt"),
    ]);
    assert!(out
        .lines()
        .all(|l| l.starts_with("work-7160;") || l.starts_with("work-7166;")));
    let f = svg_frames(&stdout_of(&[
        "flamegraph",
        "--flamechart",
        &path("inputs/perf-script.txt"),
        "-o",
        "-",
    ]));
    assert_eq!(f.get("all"), Some(&(155 * 2004008)));
    let out = stdout_of(&[
        "flamegraph",
        "--folded",
        "--tid",
        "7166",
        &path("inputs/perf-script.txt"),
    ]);
    assert!(!out.contains("main") && out.contains("start_thread"));
    rprof()
        .args([
            "flamegraph",
            "--flamechart",
            &path("inputs/simple.folded"),
            "-o",
            "-",
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no timestamps"));
    rprof()
        .args([
            "flamegraph",
            "--colors",
            "plaid",
            &path("inputs/simple.folded"),
            "-o",
            "-",
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("unknown palette 'plaid'"));
}

#[test]
fn diff_table_and_svg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let svg = dir.path().join("d.svg");
    let out = rprof()
        .args([
            "diff",
            &path("inputs/before.folded"),
            &path("inputs/after.folded"),
            "--format",
            "json",
            "--width",
            "after",
            "-o",
        ])
        .arg(&svg)
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["before_total"], 100);
    assert_eq!(v["after_total"], 200);
    let changed = v["changed"].as_array().expect("changed");
    let render = changed
        .iter()
        .find(|c| c["function"] == "render")
        .expect("render");
    assert_eq!(render["self"]["before_pct"], 40.0);
    assert_eq!(render["self"]["after_pct"], 50.0);
    assert_eq!(render["self"]["delta_points"], 10.0);
    assert_eq!(v["only_after"][0]["function"], "fast_escape");
    assert_eq!(v["only_before"][0]["function"], "legacy_escape");
    let s = std::fs::read_to_string(&svg).expect("svg");
    let f = svg_frames(&s);
    // Widths follow AFTER (--width after).
    assert_eq!(f.get("render"), Some(&100));
    assert_eq!(f.get("all"), Some(&200));
    let text = stdout_of(&[
        "diff",
        &path("inputs/before.folded"),
        &path("inputs/after.folded"),
        "-o",
        svg.to_str().expect("path"),
    ]);
    golden("diff-before-after.txt", &portable(&text));
}

#[test]
fn diff_normalization_is_explicit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = dir.path().join("n.svg");
    let r = dir.path().join("r.svg");
    for (out, extra) in [(&n, None), (&r, Some("--no-normalize"))] {
        let mut c = rprof();
        c.args([
            "diff",
            &path("inputs/before.folded"),
            &path("inputs/after.folded"),
            "-o",
        ])
        .arg(out);
        if let Some(e) = extra {
            c.arg(e);
        }
        c.assert().success();
    }
    let ns = std::fs::read_to_string(&n).expect("svg");
    let rs = std::fs::read_to_string(&r).expect("svg");
    // parse: before 40 scaled to 80 vs after 60 -> shrank (normalized); raw 40 -> 60 grew.
    assert!(ns.contains("before scaled to after"));
    assert!(rs.contains("raw samples"));
    let grab = |s: &str| {
        let doc = parse_svg(s);
        doc.descendants()
            .filter(|n| n.has_tag_name("title"))
            .filter_map(|n| n.text().map(str::to_string))
            .find(|t| t.starts_with("parse "))
            .expect("parse frame")
    };
    assert!(
        grab(&ns).contains('-'),
        "normalized: parse shrank: {}",
        grab(&ns)
    );
    assert!(grab(&rs).contains('+'), "raw: parse grew: {}", grab(&rs));
    rprof()
        .args([
            "diff",
            &path("inputs/before.folded"),
            &path("inputs/after.folded"),
            "--negate",
            "-o",
        ])
        .arg(dir.path().join("neg.svg"))
        .assert()
        .success();
}

#[test]
fn convert_and_mixed_format_diff() {
    // The data file converted from perf script text against that text: nothing may change.
    let dir = tempfile::tempdir().expect("tmp");
    let svg = dir.path().join("x.svg");
    let out = stdout_of(&[
        "diff",
        &path("inputs/perf-script.rprof"),
        &path("inputs/perf-script.txt"),
        "--format",
        "json",
        "-o",
        svg.to_str().expect("p"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let changed = v["changed"].as_array().expect("changed");
    let names: Vec<&str> = changed
        .iter()
        .filter_map(|c| c["function"].as_str())
        .collect();
    for f in ["leaf_a", "leaf_b", "main", "start_thread"] {
        assert!(names.contains(&f), "{f} missing: {out}");
    }
    for c in changed {
        for m in ["self", "total"] {
            assert_eq!(c[m]["delta_points"], 0.0, "{c}");
            assert_eq!(c[m]["before"], c[m]["after"], "{c}");
        }
    }
    assert!(v["only_before"].as_array().is_some_and(|a| a.is_empty()));
    assert!(v["only_after"].as_array().is_some_and(|a| a.is_empty()));
}

fn assert_clean_error(args: &[&str], name_in_msg: &str, stdin: Option<Vec<u8>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let svg = dir.path().join("out.svg");
    let mut c = rprof();
    c.args(args);
    if args[0] != "report" {
        c.arg("-o").arg(&svg);
    }
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let out = c.output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit 1 for {args:?}: {err}");
    assert!(err.starts_with("rprof: "), "prefix: {err}");
    assert!(err.contains(name_in_msg), "names {name_in_msg}: {err}");
    assert!(!err.contains("panicked"), "no panic: {err}");
    assert!(!svg.exists(), "no partial output for {args:?}");
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        p.to_string_lossy().into_owned()
    };
    let good = std::fs::read(fixture("inputs/perf-script.rprof")).expect("fixture");
    let empty = w("empty", b"");
    let trunc = w("trunc.data", &good[..good.len() / 2]);
    let mut flipped = good.clone();
    let mid = flipped.len() - 20;
    flipped[mid] ^= 0x10;
    let flipped = w("flipped.data", &flipped);
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let random = w("random.bin", &random);
    let nocount = w("nocount.folded", b"main;a 3\nmain;b\n");
    let negative = w("neg.folded", b"main;a -3\n");
    let mut huge = vec![b'x'; 10 * 1024 * 1024];
    huge.extend_from_slice(b";y\n");
    let huge = w("huge.folded", &huge);
    let missing = dir
        .path()
        .join("missing.data")
        .to_string_lossy()
        .into_owned();
    let dirname = dir.path().to_string_lossy().into_owned();
    let mut newer = good.clone();
    newer[8] = 9;
    let h = crc32(&newer[..36]);
    newer[36..40].copy_from_slice(&h.to_le_bytes());
    let newer = w("newer.data", &newer);

    for (file, what) in [
        (&empty, "is empty"),
        (&trunc, "truncated"),
        (&flipped, "corrupted"),
        (&random, "unrecognised format"),
        (&nocount, "line 2"),
        (&negative, "negative"),
        (&huge, "no sample count"),
        (&missing, "cannot read"),
        (&dirname, "is a directory"),
        (&newer, "newer than this rprof"),
    ] {
        for cmd in ["flamegraph", "report"] {
            let args = [cmd, file.as_str()];
            assert_clean_error(&args, file, None);
            let out = rprof().args(args).output().expect("run");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(what),
                "{cmd} {file}: {what}"
            );
        }
    }
    assert_clean_error(&["diff", &good_path(), &trunc], &trunc, None);
    assert_clean_error(
        &["flamegraph", "-"],
        "<stdin>",
        Some(b"\x00\x01garbage".to_vec()),
    );
}

fn good_path() -> String {
    path("inputs/perf-script.rprof")
}

fn crc32(b: &[u8]) -> u32 {
    let mut c: u32 = !0;
    for &x in b {
        c ^= x as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn closed_stdout_is_not_an_error() {
    let mut child = std::process::Command::new(common::rprof_path())
        .args([
            "report",
            &path("inputs/perf-script.txt"),
            "--format",
            "folded",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// `convert -o -` writes to standard output in each format (it used to create a file named
/// `-`): folded text equal to the input's stacks, and a data file `report` reads back.
#[test]
fn convert_to_standard_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = path("inputs/simple.folded");
    let out = rprof()
        .current_dir(dir.path())
        .args(["convert", &input, "--to", "folded", "-o", "-"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let mut want: Vec<String> = std::fs::read_to_string(&input)
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(!dir.path().join("-").exists());

    let out = rprof()
        .current_dir(dir.path())
        .args(["convert", &input, "--to", "rprof", "-o", "-"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let data = dir.path().join("piped.data");
    std::fs::write(&data, &out.stdout).expect("write");
    let report = stdout_of(&[
        "report",
        data.to_str().expect("utf-8"),
        "--format",
        "folded",
    ]);
    let mut again: Vec<String> = report.lines().map(str::to_string).collect();
    again.sort();
    assert_eq!(again, want);
    assert!(!dir.path().join("-").exists());
}
