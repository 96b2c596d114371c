//! `rprof massif` on the committed massif.out fixtures (made with valgrind 3.19): golden text,
//! folded and JSON outputs, agreement with ms_print, gzip and stdin input, snapshot choice,
//! SVGs that parse, and `rprof diff` between two massif files.

mod common;

use std::io::Write;
use std::process::Command;

use common::{fixture, golden, have, live, rprof};

const FIXTURES: &[&str] = &[
    "normal",
    "pages",
    "stacks",
    "time-b",
    "time-ms",
    "threshold",
    "before",
];

fn dir() -> std::path::PathBuf {
    fixture("massif")
}

/// rprof massif in the fixture directory, so names in the output are stable.
fn massif(args: &[&str]) -> String {
    let out = rprof()
        .current_dir(dir())
        .arg("massif")
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "rprof massif {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn ms_print(args: &[&str]) -> String {
    let out = Command::new("ms_print")
        .current_dir(dir())
        .args(args)
        .output()
        .expect("ms_print runs");
    assert!(out.status.success(), "ms_print {args:?} failed");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The ms_print part of our output: from the first dashed line on.
fn ms_part(ours: &str) -> &str {
    let i = ours
        .find("--------------------------------------------------------------------------------")
        .expect("ms_print section present");
    &ours[i..]
}

/// Rows of every snapshot table: (n, time, total, useful, extra, stacks) as numbers.
fn table_rows(text: &str) -> Vec<[u64; 6]> {
    let mut rows = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() != 6 {
            continue;
        }
        let nums: Vec<Option<u64>> = f.iter().map(|x| x.replace(',', "").parse().ok()).collect();
        if nums.iter().all(Option::is_some) {
            let v: Vec<u64> = nums.into_iter().flatten().collect();
            rows.push([v[0], v[1], v[2], v[3], v[4], v[5]]);
        }
    }
    rows
}

#[test]
fn massif_text_golden() {
    for f in FIXTURES {
        let name = format!("{f}.massif.out");
        golden(&format!("massif/{f}.txt"), &massif(&[&name]));
    }
}

#[test]
fn massif_text_options_golden() {
    let out = massif(&[
        "threshold.massif.out",
        "--threshold",
        "0.5",
        "--x",
        "40",
        "--y",
        "10",
        "--top",
        "5",
    ]);
    golden("massif/threshold-0.5-x40-y10.txt", &out);
}

#[test]
fn massif_folded_and_json_golden() {
    for f in FIXTURES {
        let name = format!("{f}.massif.out");
        golden(&format!("massif/{f}.folded"), &massif(&[&name, "--folded"]));
    }
    golden(
        "massif/normal.json",
        &massif(&["normal.massif.out", "--format", "json"]),
    );
    let v: serde_json::Value =
        serde_json::from_str(&massif(&["normal.massif.out", "--format", "json"])).expect("json");
    assert_eq!(v["cmd"], "./heap 8");
    assert_eq!(v["snapshots"].as_array().map(Vec::len), Some(62));
    assert_eq!(v["peak_snapshot"], 11);
    let peak = &v["snapshots"][11];
    assert_eq!(peak["heap_tree"], "peak");
    assert_eq!(peak["tree"]["bytes"], 8_392_768);
    let site = &peak["tree"]["children"][0];
    assert_eq!(site["function"], "build_index");
    assert_eq!(site["file"], "heap.c");
    assert_eq!(site["line"], 18);
    assert_eq!(site["children"][0]["function"], "main");
}

#[test]
fn massif_agrees_with_ms_print() {
    if !live("ms_print", have("ms_print")) {
        return;
    }
    for f in FIXTURES {
        let name = format!("{f}.massif.out");
        let ours = massif(&[&name]);
        let theirs = ms_print(&[&name]);
        let (a, b) = (table_rows(ms_part(&ours)), table_rows(&theirs));
        assert!(!a.is_empty(), "{name}: no table rows parsed");
        assert_eq!(a, b, "{name}: snapshot tables differ");
        // Beyond the numbers, the whole ms_print part is the same text.
        assert_eq!(ms_part(&ours), theirs, "{name}: ms_print text differs");
    }
    for (t, x, y) in [("0", "30", "8"), ("0.5", "100", "30"), ("5", "72", "20")] {
        let ours = massif(&["threshold.massif.out", "--threshold", t, "--x", x, "--y", y]);
        let theirs = ms_print(&[
            &format!("--threshold={t}"),
            &format!("--x={x}"),
            &format!("--y={y}"),
            "threshold.massif.out",
        ]);
        // The argument echo line differs in how the threshold is spelled; the rest may not.
        let strip = |s: &str| {
            s.lines()
                .filter(|l| !l.starts_with("ms_print arguments:"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(ms_part(&ours)), strip(&theirs), "threshold {t}");
    }
}

#[test]
fn massif_gzip_and_stdin() {
    let plain = std::fs::read(dir().join("normal.massif.out")).expect("fixture");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let tmp = tempfile::tempdir().expect("tmp");
    let gz_path = tmp.path().join("normal.massif.out.gz");
    std::fs::write(&gz_path, &gz).expect("write");
    let want = massif(&["normal.massif.out", "--summary-only"]);
    let from_gz = massif(&[gz_path.to_str().expect("path"), "--summary-only"]);
    assert_eq!(want, from_gz);
    let from_stdin = rprof()
        .args(["massif", "-", "--summary-only"])
        .write_stdin(gz)
        .output()
        .expect("runs");
    assert!(from_stdin.status.success());
    assert_eq!(want, String::from_utf8_lossy(&from_stdin.stdout));
    // report/flamegraph/diff route gzip massif input through the same loader.
    let rep = rprof()
        .args(["report", gz_path.to_str().expect("path")])
        .output()
        .expect("runs");
    assert!(rep.status.success());
    assert!(String::from_utf8_lossy(&rep.stdout).contains("build_index"));
}

#[test]
fn massif_summary_names_peak_and_last_snapshot() {
    let out = massif(&["normal.massif.out", "--summary-only"]);
    assert!(
        out.contains(
            "Peak heap: 8.00 MiB (8,392,856 B = 8,392,768 B useful + 88 B extra) at snapshot 11"
        ),
        "{out}"
    );
    assert!(
        out.contains("99.95%  8,388,608 B  build_index (heap.c:18)"),
        "{out}"
    );
    // A file alone says nothing about exit (massif takes no snapshot there): no "leaks".
    assert!(out.contains("Memory live at the last snapshot: 99.22 KiB (100,000 B useful + 1,600 B extra) at snapshot 61, time 8,533,301 i\n"), "{out}");
    assert!(!out.contains("possible leaks"), "{out}");
    assert!(out.contains("leak_some (heap.c:39)"), "{out}");
}

#[test]
fn massif_pages_as_heap_sites_look_through_mmap() {
    // With --pages-as-heap the tree starts at mmap/brk; the sites named are the callers of
    // the allocator, as in a normal heap profile.
    let out = massif(&["pages.massif.out", "--summary-only"]);
    let first = out
        .lines()
        .skip_while(|l| !l.starts_with("Top allocation sites"))
        .nth(1)
        .expect("a site");
    assert!(first.contains("build_index (heap.c:18)"), "{out}");
    assert!(!out.contains("__mmap64"), "{out}");
}

#[test]
fn massif_snapshot_choice() {
    let f = massif(&["normal.massif.out", "--folded", "--snapshot", "52"]);
    assert_eq!(f, "main;leak_some 82000\n");
    let out = rprof()
        .current_dir(dir())
        .args(["massif", "normal.massif.out", "--folded", "--snapshot", "3"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("snapshot 3 has no allocation tree"), "{err}");
    assert!(err.contains("11"), "lists the detailed snapshots: {err}");
    let out = rprof()
        .current_dir(dir())
        .args([
            "massif",
            "normal.massif.out",
            "--folded",
            "--snapshot",
            "999",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
}

fn parse_svg(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).expect("svg written");
    // inferno's SVGs carry the SVG 1.1 DOCTYPE.
    let opt = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, opt).expect("SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn massif_svgs_parse_and_name_sites() {
    let tmp = tempfile::tempdir().expect("tmp");
    let fg = tmp.path().join("fg.svg");
    let chart = tmp.path().join("chart.svg");
    for f in FIXTURES {
        let name = format!("{f}.massif.out");
        massif(&[
            &name,
            "--summary-only",
            "--flamegraph",
            fg.to_str().expect("p"),
            "--chart",
            chart.to_str().expect("p"),
        ]);
        let fg_text = parse_svg(&fg);
        let chart_text = parse_svg(&chart);
        assert!(chart_text.contains("time ("), "{f}: x axis label");
        assert!(chart_text.contains("memory (bytes)"), "{f}: y axis label");
        if *f != "pages" {
            assert!(fg_text.contains("build_index"), "{f}: flame graph site");
            assert!(
                chart_text.contains("build_index (heap.c:18)"),
                "{f}: chart site"
            );
        } else {
            assert!(fg_text.contains("mmap"), "pages: flame graph site");
        }
    }
    // A non-peak snapshot: the leak.
    massif(&[
        "normal.massif.out",
        "--summary-only",
        "--snapshot",
        "52",
        "--flamegraph",
        fg.to_str().expect("p"),
    ]);
    let t = parse_svg(&fg);
    assert!(t.contains("leak_some") && !t.contains("build_index"));
}

#[test]
fn massif_input_to_flamegraph_and_report() {
    let tmp = tempfile::tempdir().expect("tmp");
    let svg = tmp.path().join("fg.svg");
    let out = rprof()
        .current_dir(dir())
        .args(["flamegraph", "normal.massif.out", "-o"])
        .arg(&svg)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(parse_svg(&svg).contains("build_index"));
    let out = rprof()
        .current_dir(dir())
        .args(["report", "normal.massif.out"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("event: heap bytes"), "{text}");
    assert!(
        text.contains("8,388,608") && text.contains("build_index"),
        "{text}"
    );
}

#[test]
fn massif_diff_names_grown_site() {
    let tmp = tempfile::tempdir().expect("tmp");
    let svg = tmp.path().join("diff.svg");
    let out = rprof()
        .current_dir(dir())
        .args([
            "diff",
            "before.massif.out",
            "normal.massif.out",
            "-o",
            svg.to_str().expect("p"),
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text
        .lines()
        .find(|l| l.contains("build_index"))
        .unwrap_or_else(|| panic!("build_index missing from the diff:\n{text}"));
    assert!(
        row.contains("4,194,304") && row.contains("8,388,608"),
        "{row}"
    );
    assert!(parse_svg(&svg).contains("build_index"));
}
