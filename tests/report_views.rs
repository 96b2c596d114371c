//! `rprof report`'s call graph (--callers/--callees), call tree (--tree, --inverted), source
//! listing (--list), sorting (--sort keys, --no-children) and the one filter stage shared with
//! `flamegraph` and `diff`.
//!
//! The inputs under fixtures/inputs/report/ have a known call graph: `work` called from
//! `parse` and `render` 20:10, `walk` recursing into `leaf`, `mix` inlined into `compute`,
//! and a second thread (`cg-worker`) one second later. `callgraph.txt` is `perf script` text
//! with source lines (into cg.c, next to it), `callgraph.rprof` the data file `rprof convert`
//! made of it, `callgraph.folded` the same stacks as folded counts.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

const FOLDED: &str = "fixtures/inputs/report/callgraph.folded";
const DATA: &str = "fixtures/inputs/report/callgraph.rprof";
const TEXT: &str = "fixtures/inputs/report/callgraph.txt";

fn ok(args: &[&str]) -> String {
    let (good, out, err) = run_in_root(args);
    assert!(good, "rprof {args:?} failed: {err}");
    out
}

fn json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    serde_json::from_str(&ok(&a)).expect("JSON")
}

#[test]
fn golden_views_of_folded_and_data_inputs() {
    let views: &[(&str, &[&str])] = &[
        ("callers-work", &["--callers", "^work$"]),
        ("callees-walk", &["--callees", "^walk$"]),
        ("peek-mix", &["--callers", "^mix$", "--callees", "^mix$"]),
        ("tree", &["--tree"]),
        (
            "tree-inverted",
            &["--tree", "--inverted", "--percent-limit", "10"],
        ),
        ("tree-depth", &["--tree", "--depth", "2"]),
        ("list", &["--list", "^(work|mix|render)$"]),
        (
            "sort-module-function",
            &["--sort", "module,function", "--no-children"],
        ),
        ("sort-comm", &["--sort", "comm"]),
        ("filtered", &["--focus", "render", "--hide", "^main$"]),
    ];
    for (input, tag) in [(FOLDED, "folded"), (DATA, "data")] {
        for (name, args) in views {
            let mut a = vec!["report", input];
            a.extend_from_slice(args);
            golden(&format!("report/{tag}-{name}.txt"), &ok(&a));
        }
    }
}

#[test]
fn callers_in_a_two_to_one_ratio_for_every_input() {
    for input in [FOLDED, DATA, TEXT] {
        let v = json(&["report", input, "--callers", "^work$"]);
        assert_eq!(v["view"], "callgraph");
        let f = &v["functions"][0];
        assert_eq!(f["name"], "work", "{input}");
        assert_eq!(f["total_samples"], 30);
        assert_eq!(f["self_samples"], 30);
        let callers: Vec<(String, u64)> = f["callers"]
            .as_array()
            .expect("callers")
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().expect("name").to_string(),
                    e["samples"].as_u64().expect("samples"),
                )
            })
            .collect();
        assert_eq!(
            callers,
            [("parse".to_string(), 20), ("render".to_string(), 10)],
            "{input}"
        );
        // Shares of all the weight (60 samples), and of work's own Total.
        assert!((f["callers"][0]["pct"].as_f64().expect("pct") - 100.0 / 3.0).abs() < 1e-9);
        assert!(
            (f["callers"][1]["pct_of_function"].as_f64().expect("pct") - 100.0 / 3.0).abs() < 1e-9
        );
    }
}

#[test]
fn recursion_and_inlined_callees() {
    for input in [FOLDED, DATA] {
        let v = json(&["report", input, "--callees", "^walk$"]);
        let f = &v["functions"][0];
        // walk is on 9 stacks, counted once per sample however deep it recursed.
        assert_eq!(
            (f["total_samples"].as_u64(), f["self_samples"].as_u64()),
            (Some(9), Some(0))
        );
        let callees: Vec<(&str, u64)> = f["callees"]
            .as_array()
            .expect("callees")
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().expect("n"),
                    e["samples"].as_u64().expect("s"),
                )
            })
            .collect();
        assert_eq!(callees, [("leaf", 9), ("walk", 6)], "{input}");
        let v = json(&["report", input, "--callers", "^mix$"]);
        let f = &v["functions"][0];
        assert_eq!(f["inlined"], true, "{input}");
        assert_eq!(f["callers"][0]["name"], "compute");
        assert_eq!(f["callers"][0]["samples"], 10);
        // --collapse-recursion merges walk;walk;walk;walk into one frame.
        let v = json(&[
            "report",
            input,
            "--callees",
            "^walk$",
            "--collapse-recursion",
        ]);
        let callees = v["functions"][0]["callees"]
            .as_array()
            .expect("callees")
            .clone();
        assert_eq!(callees.len(), 1, "{callees:?}");
        assert_eq!(callees[0]["name"], "leaf");
    }
}

#[test]
fn tree_json_and_width() {
    let v = json(&["report", DATA, "--tree"]);
    assert_eq!(v["view"], "tree");
    let roots = v["roots"].as_array().expect("roots");
    assert_eq!(roots[0]["name"], "main");
    assert_eq!(roots[0]["samples"], 54);
    let kids: Vec<(&str, u64)> = roots[0]["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("n"),
                c["samples"].as_u64().expect("s"),
            )
        })
        .collect();
    assert_eq!(
        kids,
        [("parse", 20), ("render", 15), ("compute", 10), ("walk", 9)]
    );
    // A deep recursion with long C++-like names stays within 200 columns in a pipe.
    let dir = tempfile::tempdir().expect("tmp");
    let long = format!("ns::Type<{}>::method", "std::vector<int>,".repeat(30));
    let deep: Vec<String> = (0..80).map(|_| "rec".to_string()).collect();
    let f = dir.path().join("deep.folded");
    std::fs::write(
        &f,
        format!("main;{};{long} 5\nmain;{long} 1\n", deep.join(";")),
    )
    .expect("write");
    let out = ok(&["report", f.to_str().expect("utf-8"), "--tree"]);
    assert!(out.lines().all(|l| l.chars().count() <= 200), "{out}");
    assert!(out.contains("[81] ns::Type<std::vector"), "{out}");
    assert!(out.contains("..."), "{out}");
}

#[test]
fn listing_without_source_says_why() {
    let out = ok(&["report", FOLDED, "--list", "^work$"]);
    assert!(
        out.contains("no source text: the input has no file:line for it"),
        "{out}"
    );
    // A data file whose source is gone: the lines and weights, and the reason.
    let dir = tempfile::tempdir().expect("tmp");
    let out = rprof()
        .current_dir(dir.path())
        .args([
            "report",
            root().join(DATA).to_str().expect("utf-8"),
            "--list",
            "^work$",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("source not read: fixtures/inputs/report/cg.c: No such file or directory"),
        "{text}"
    );
    assert!(text.contains("  50.00%   50.00%     13\n"), "{text}");
    let v = json(&["report", DATA, "--list", "^work$"]);
    let lines = v["functions"][0]["lines"].as_array().expect("lines");
    // The listing starts at the signature (line 9), found in the source text.
    assert_eq!(lines[0]["line"], 9);
    let hot = lines.iter().find(|l| l["line"] == 13).expect("line 13");
    assert_eq!(hot["self_pct"], 50.0);
}

#[test]
fn a_filter_that_matches_nothing_fails_naming_it() {
    let cases: &[(&[&str], &str)] = &[
        (&["--focus", "nope"], "--focus 'nope' matches no sample"),
        (&["--ignore", "nope"], "--ignore 'nope' matches no function"),
        (&["--hide", "nope"], "--hide 'nope' matches no function"),
        (&["--comm", "nope"], "--comm nope matches no sample"),
        (&["--module", "nope"], "--module 'nope' matches no sample"),
        (&["--time", "5..6"], "--time 5..6 matches no sample"),
        (&["--tid", "999"], "--tid 999 matches no sample"),
        // Order: --focus runs before --ignore, so an --ignore of what --focus left out
        // matches nothing.
        (
            &["--focus", "parse", "--ignore", "render"],
            "--ignore 'render' matches no function",
        ),
    ];
    for (filter, msg) in cases {
        for cmd in [
            vec!["report", DATA],
            vec!["report", DATA, "--format", "json"],
            vec!["report", DATA, "--tree"],
            vec!["flamegraph", DATA, "-o", "-"],
            vec!["diff", DATA, DATA, "-o", "/dev/null"],
        ] {
            let mut a = cmd.clone();
            a.extend_from_slice(filter);
            let (good, out, err) = run_in_root(&a);
            assert!(!good, "{a:?} succeeded");
            assert!(out.is_empty(), "{a:?} printed {out}");
            assert!(err.contains(msg), "{a:?}: {err}");
        }
    }
    // --pid exists on report and diff; on flamegraph `-p` with an INPUT filters.
    for a in [
        vec!["report", DATA, "--pid", "7"],
        vec!["flamegraph", DATA, "-p", "7", "-o", "-"],
        vec!["diff", DATA, DATA, "--pid", "7", "-o", "/dev/null"],
    ] {
        let (good, _, err) = run_in_root(&a);
        assert!(
            !good && err.contains("--pid 7 matches no sample"),
            "{a:?}: {err}"
        );
    }
    let (good, _, err) = run_in_root(&["report", FOLDED, "--time", "0..1"]);
    assert!(!good && err.contains("has no timestamps"), "{err}");
}

#[test]
fn filters_run_in_the_documented_order() {
    // --focus runs before --hide: the samples through parse are kept, then parse is hidden.
    let out = ok(&[
        "report", FOLDED, "--focus", "^parse$", "--hide", "^parse$", "--format", "folded",
    ]);
    assert_eq!(out, "main;work 20\n");
    // --time then --comm: the second thread starts one second in.
    let out = ok(&[
        "flamegraph",
        DATA,
        "--folded",
        "--time",
        "0.9..",
        "--comm",
        "cg-worker",
    ]);
    assert_eq!(out, "start_thread;worker 6000000\n");
    // The header names the filters in that order, and what they kept.
    let out = ok(&[
        "report", DATA, "--hide", "^main$", "--focus", "work", "--time", "0..",
    ]);
    assert!(
        out.contains("# filters: --time 0.., --focus 'work', --hide '^main$' (in this order; 36 of 60 samples kept)"),
        "{out}"
    );
    let v = json(&["report", DATA, "--module", "^cg$", "--tid", "101"]);
    assert_eq!(
        v["filters"],
        serde_json::json!(["--tid 101", "--module '^cg$'"])
    );
    assert_eq!(v["samples"], 6);
}

/// Sum of the counts of folded text.
fn folded_total(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(_, n)| n.parse::<u64>().expect("count"))
        .sum()
}

#[test]
fn report_flamegraph_and_diff_agree_under_the_same_filters() {
    let filters: &[&[&str]] = &[
        &[],
        &["--focus", "work"],
        &["--hide", "^main$", "--ignore", "leaf"],
        &["--comm", "cg", "--time", "0..0.3", "--collapse-recursion"],
        &["--module", "cg", "--tid", "100"],
        &["--ignore", "^start_thread$"],
    ];
    for input in [DATA, TEXT, FOLDED] {
        for f in filters {
            if input == FOLDED
                && f.iter()
                    .any(|x| ["--time", "--module", "--comm", "--tid"].contains(x))
            {
                continue;
            }
            let mut a = vec!["report", input, "--format", "json"];
            a.extend_from_slice(f);
            let v: Value = serde_json::from_str(&ok(&a)).expect("json");
            let report_total = v["total_weight"].as_u64().expect("total");
            let mut a = vec!["report", input, "--format", "folded"];
            a.extend_from_slice(f);
            let report_folded = folded_total(&ok(&a));
            let mut a = vec!["flamegraph", input, "--folded"];
            a.extend_from_slice(f);
            let fg_total = folded_total(&ok(&a));
            let mut a = vec![
                "diff",
                input,
                input,
                "--no-normalize",
                "--format",
                "json",
                "-o",
                "/dev/null",
            ];
            a.extend_from_slice(f);
            let d: Value = serde_json::from_str(&ok(&a)).expect("json");
            let (b, af) = (
                d["before_total"].as_u64().expect("b"),
                d["after_total"].as_u64().expect("a"),
            );
            assert!(report_total > 0, "{input} {f:?}");
            assert_eq!(
                (report_folded, fg_total, b, af),
                (report_total, report_total, report_total, report_total),
                "{input} {f:?}"
            );
        }
    }
}

#[test]
fn views_refuse_formats_they_do_not_have() {
    for a in [
        &["report", DATA, "--tree", "--format", "folded"][..],
        &["report", DATA, "--list", "x", "--format", "pprof"][..],
    ] {
        let (good, _, err) = run_in_root(a);
        assert!(!good && err.contains("shows as text or json"), "{err}");
    }
    let (good, _, err) = run_in_root(&["report", DATA, "--tree", "--list", "work"]);
    assert!(!good && err.contains("choose one view"), "{err}");
    let (good, _, err) = run_in_root(&["report", DATA, "--inverted"]);
    assert!(!good, "{err}");
}

#[test]
fn sort_keys_combine_like_perf() {
    let v = json(&["report", DATA, "--sort", "comm,sym", "--no-children"]);
    assert_eq!(v["sort"], "comm,function");
    assert_eq!(v["children"], false);
    let rows = v["rows"].as_array().expect("rows");
    let first: Vec<&str> = rows[0]["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k.as_str().expect("k"))
        .collect();
    assert_eq!(first, ["cg", "work"]);
    // Without children only what ran itself is listed: main never does.
    assert!(rows.iter().all(|r| r["self"].as_u64() > Some(0)));
    let worker = rows
        .iter()
        .find(|r| r["keys"][1] == "worker")
        .expect("worker row");
    assert_eq!(worker["keys"][0], "cg-worker");
    let v = json(&["report", DATA, "--sort", "pid"]);
    assert_eq!(v["rows"][0]["name"], "100:cg");
}

/// The live half: `--list` on a C program built with -O2 -g shows its hot line with the
/// largest share.
#[test]
fn list_shows_the_hot_line_of_a_real_program() {
    if !live("perf_event_open", perf_event_check()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = compile("record/hotline.c", dir.path(), "hotline", &["-O2", "-g"]);
    let src = std::fs::read_to_string(fixture("record/hotline.c")).expect("src");
    let line_of = |mark: &str| src.lines().position(|l| l.contains(mark)).expect("marker") + 1;
    let (hot, warm) = (line_of("/* HOT_LINE */"), line_of("/* WARM_LINE */"));
    let data = dir.path().join("h.data");
    let st = Command::new(rprof_path())
        .args(["record", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .arg("1.5")
        .status()
        .expect("record");
    assert!(st.success());
    let v = json(&[
        "report",
        data.to_str().expect("utf-8"),
        "--list",
        "^crunch$",
    ]);
    let f = &v["functions"][0];
    assert_eq!(f["file"].as_str(), fixture("record/hotline.c").to_str());
    let lines = f["lines"].as_array().expect("lines");
    let best = lines
        .iter()
        .max_by(|a, b| a["self"].as_u64().cmp(&b["self"].as_u64()))
        .expect("a line");
    assert_eq!(best["line"].as_u64(), Some(hot as u64), "{lines:?}");
    // Nine times the work: about 90% of crunch's samples; 15 points of tolerance for a loaded
    // machine and the compiler's line attribution.
    let share = |l: usize| {
        lines
            .iter()
            .find(|x| x["line"].as_u64() == Some(l as u64))
            .and_then(|x| x["self"].as_u64())
            .unwrap_or(0) as f64
            / f["self"].as_u64().expect("self") as f64
    };
    assert!(
        (share(hot) - 0.9).abs() < 0.15,
        "hot {} {lines:?}",
        share(hot)
    );
    assert!(
        share(warm) > 0.0 && share(warm) < 0.25,
        "warm {}",
        share(warm)
    );
    assert_eq!(
        best["text"].as_str().map(|t| t.contains("HOT_LINE")),
        Some(true)
    );
    // The text view marks the same line with the largest Self%.
    let text = ok(&[
        "report",
        data.to_str().expect("utf-8"),
        "--list",
        "^crunch$",
    ]);
    assert!(text.contains("/* HOT_LINE */"), "{text}");
}

/// Edges of `go tool pprof -peek` for one function: (callers, callees) as name -> ms.
type PeekEdges = (
    std::collections::BTreeMap<String, f64>,
    std::collections::BTreeMap<String, f64>,
);

fn go_peek(file: &std::path::Path, func: &str) -> PeekEdges {
    let out = Command::new("go")
        .args([
            "tool",
            "pprof",
            "-nodefraction=0",
            "-edgefraction=0",
            "-peek",
        ])
        .arg(format!("^{func}$"))
        .arg(file)
        .output()
        .expect("run go tool pprof");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut callers, mut callees) = (Default::default(), Default::default());
    let mut seen_fn = false;
    for line in text.lines() {
        let Some((left, right)) = line.split_once('|') else {
            continue;
        };
        let name = right.trim().replace(" (inline)", "");
        let nums: Vec<&str> = left.split_whitespace().collect();
        if nums.len() > 2 {
            // The function's own line: flat, flat%, sum%, cum, cum%.
            seen_fn = name == func;
            continue;
        }
        let Some(ms) = nums.first().and_then(|v| v.strip_suffix("ms")) else {
            continue;
        };
        let ms: f64 = ms.parse().expect("ms");
        let side: &mut std::collections::BTreeMap<String, f64> =
            if seen_fn { &mut callees } else { &mut callers };
        side.insert(name, ms);
    }
    (callers, callees)
}

#[test]
fn callers_and_callees_agree_with_go_tool_pprof_peek() {
    if !live("go (golang-go)", have("go")) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let pb = dir.path().join("cg.pb.gz");
    ok(&[
        "report",
        DATA,
        "--format",
        "pprof",
        "-o",
        pb.to_str().expect("utf-8"),
    ]);
    for func in ["work", "walk", "compute", "render", "main", "leaf"] {
        let v = json(&[
            "report",
            DATA,
            "--callers",
            &format!("^{func}$"),
            "--callees",
            &format!("^{func}$"),
        ]);
        let f = &v["functions"][0];
        // pprof leaves out a function's edges to itself and the edge from the root.
        let ours = |side: &str| -> std::collections::BTreeMap<String, f64> {
            f[side]
                .as_array()
                .expect("edges")
                .iter()
                .filter(|e| e["name"] != func && e["name"] != "[root]")
                .map(|e| {
                    (
                        e["name"].as_str().expect("name").to_string(),
                        e["weight"].as_u64().expect("w") as f64 / 1e6,
                    )
                })
                .collect()
        };
        let (gc, ge) = go_peek(&pb, func);
        assert_eq!((ours("callers"), ours("callees")), (gc, ge), "{func}");
    }
}
