//! `rprof report`'s views (--callers/--callees, --tree, --list) and the filter stage on every
//! input kind a user has: `perf record -g` files (checked against `perf report`'s own caller
//! graph), rprof recordings, pprof written from them, `perf script` text and massif output;
//! and what the audit of issue 12 fixed: a view regex that matches no function is an error
//! (as `go tool pprof -peek/-list` make it), inlined frames are a JSON field in the tree and
//! the listing as in the table, `diff` names its filters in the table, JSON and graph, and a
//! recursive function's listing starts at its signature rather than at its call to itself.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

const DATA: &str = "fixtures/inputs/report/callgraph.rprof";

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

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// (name, samples) of one side of the first function of a --callers/--callees view.
fn edges(v: &Value, side: &str) -> Vec<(String, u64)> {
    v["functions"][0][side]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_string(),
                e["samples"].as_u64().expect("samples"),
            )
        })
        .collect()
}

/// Whether the tree holds a node `parent` with a child `child`, anywhere.
fn tree_has_edge(nodes: &Value, parent: &str, child: &str) -> bool {
    nodes.as_array().expect("nodes").iter().any(|n| {
        (n["name"] == parent
            && n["children"]
                .as_array()
                .expect("children")
                .iter()
                .any(|c| c["name"] == child))
            || tree_has_edge(&n["children"], parent, child)
    })
}

fn folded_total(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(_, n)| n.parse::<u64>().expect("count"))
        .sum()
}

/// perf's own caller graph of `func` (`perf report --children -S func -g caller`): the share
/// of all samples through each of its callers, as printed (`|--50.89%--main`).
fn perf_callers(data: &Path, func: &str) -> Vec<(String, f64)> {
    let out = Command::new("perf")
        .args(["report", "--stdio", "--children", "-S", func])
        .args(["-g", "caller,0,callee,function,percent", "-i"])
        .arg(data)
        .output()
        .expect("perf report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // The block of the entry: from `---func` to the next blank-free entry line; its first
    // branch level holds the callers.
    let mut callers = Vec::new();
    let mut inside = false;
    let mut column = None;
    for line in text.lines() {
        if line.trim_start().starts_with(&format!("---{func}")) {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if line.trim_start().starts_with(|c: char| c.is_ascii_digit()) || line.starts_with('#') {
            break;
        }
        let Some(at) = line.find("--") else { continue };
        let rest = &line[at + 2..];
        let Some((pct, name)) = rest.split_once("%--") else {
            continue;
        };
        if *column.get_or_insert(at) != at {
            continue;
        }
        callers.push((name.trim().to_string(), pct.parse().expect("percent")));
    }
    callers
}

/// The views and filters on a `perf record -g` file, an rprof recording of the same program,
/// pprof written from it and `perf script` text: callers of `work` 2:1, the recursion and the
/// tree's paths, source lines where the input has them, and the same totals from report,
/// flamegraph and diff under the same filters. perf's own caller graph of `work` gives the
/// same edge shares on its file.
#[test]
fn views_and_filters_on_real_recordings_of_every_kind() {
    if !live("perf", have("perf").and_then(|_| perf_event_check())) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let bin = compile(
        "record/peek.c",
        d,
        "peek",
        &["-O2", "-g", "-fno-omit-frame-pointer"],
    );
    let perf_data = d.join("peek.perf.data");
    let st = Command::new("perf")
        .args(["record", "-q", "-g", "-F", "999", "-o"])
        .arg(&perf_data)
        .arg("--")
        .arg(&bin)
        .arg("1.5")
        .output()
        .expect("perf record");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let rprof_data = d.join("peek.data");
    let st = rprof()
        .args(["record", "-o", s(&rprof_data), "--"])
        .arg(&bin)
        .arg("1.5")
        .output()
        .expect("rprof record");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let pprof = d.join("peek.pb.gz");
    ok(&[
        "report",
        s(&rprof_data),
        "--format",
        "pprof",
        "-o",
        s(&pprof),
    ]);
    let script = d.join("peek.script.txt");
    let out = Command::new("perf")
        .args(["script", "-F", "+srcline", "--full-source-path", "-i"])
        .arg(&perf_data)
        .output()
        .expect("perf script");
    assert!(out.status.success());
    std::fs::write(&script, &out.stdout).expect("write script");

    let src = fixture("record/peek.c");
    // (input, has timestamps, shows inlined frames: perf 6.1's `perf script` prints none here)
    for (input, timestamps, inlined) in [
        (&perf_data, true, true),
        (&rprof_data, true, true),
        (&pprof, false, true),
        (&script, true, false),
    ] {
        let input = s(input);
        // Callers of work: parse and render, 2:1 by the program's work (sampling and a loaded
        // machine move it; 1.4 to 2.8 still tells the two apart).
        let v = json(&["report", input, "--callers", "^work$"]);
        let callers = edges(&v, "callers");
        let names: Vec<&str> = callers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["parse", "render"], "{input}: {callers:?}");
        let ratio = callers[0].1 as f64 / callers[1].1 as f64;
        assert!((1.4..2.8).contains(&ratio), "{input}: parse/render {ratio}");
        // walk recurses into itself and calls leaf; mix is compute's inlined callee.
        let v = json(&["report", input, "--callees", "^walk$"]);
        let callees = edges(&v, "callees");
        assert!(
            callees.iter().any(|(n, _)| n == "walk") && callees.iter().any(|(n, _)| n == "leaf"),
            "{input}: {callees:?}"
        );
        if inlined {
            let v = json(&["report", input, "--callers", "^mix$"]);
            assert_eq!(v["functions"][0]["inlined"], true, "{input}");
            assert_eq!(edges(&v, "callers")[0].0, "compute", "{input}");
        }
        let t = json(&["report", input, "--tree"]);
        assert!(tree_has_edge(&t["roots"], "parse", "work"), "{input}");
        assert!(tree_has_edge(&t["roots"], "walk", "walk"), "{input}");
        let t = json(&["report", input, "--tree", "--inverted"]);
        assert!(tree_has_edge(&t["roots"], "work", "render"), "{input}");
        let v = json(&["report", input, "--list", "^work$"]);
        let f = &v["functions"][0];
        assert_eq!(f["file"].as_str(), src.to_str(), "{input}");
        let hot = f["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .max_by_key(|l| l["self"].as_u64())
            .expect("a line")
            .clone();
        // The loop of work (its two lines); the text read from the source.
        assert!(
            hot["text"]
                .as_str()
                .is_some_and(|t| t.contains("acc = acc * 2654435761u") || t.contains("for")),
            "{input}: {hot}"
        );
        // The same totals from every command under the same filters.
        let mut filters: Vec<Vec<&str>> = vec![
            vec!["--focus", "^render$"],
            vec![
                "--hide",
                "^main$",
                "--ignore",
                "^leaf$",
                "--collapse-recursion",
            ],
        ];
        if timestamps {
            filters.push(vec!["--time", "0.2..1", "--focus", "work"]);
        }
        for f in &filters {
            let mut a = vec!["report", input, "--format", "json"];
            a.extend_from_slice(f);
            let v: Value = serde_json::from_str(&ok(&a)).expect("json");
            let total = v["total_weight"].as_u64().expect("total");
            let mut a = vec!["flamegraph", input, "--folded"];
            a.extend_from_slice(f);
            let fg = folded_total(&ok(&a));
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
            let dv: Value = serde_json::from_str(&ok(&a)).expect("json");
            assert!(total > 0, "{input} {f:?}");
            assert_eq!(
                (fg, dv["before_total"].as_u64(), dv["after_total"].as_u64()),
                (total, Some(total), Some(total)),
                "{input} {f:?}"
            );
        }
    }
    // perf's own caller graph of work on its file gives the same edge shares (of all samples).
    let theirs = perf_callers(&perf_data, "work");
    let v = json(&["report", s(&perf_data), "--callers", "^work$"]);
    let ours: Vec<(String, f64)> = v["functions"][0]["callers"]
        .as_array()
        .expect("callers")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_string(),
                e["pct"].as_f64().expect("pct"),
            )
        })
        .collect();
    assert_eq!(ours.len(), theirs.len(), "ours {ours:?}, perf {theirs:?}");
    for ((a, x), (b, y)) in ours.iter().zip(&theirs) {
        assert_eq!(a, b, "ours {ours:?}, perf {theirs:?}");
        assert!((x - y).abs() < 0.006, "ours {ours:?}, perf {theirs:?}");
    }
}

/// Every line of both trees, explanations included, fits in 200 columns in a pipe (the
/// inverted tree's explanation was 203 wide).
#[test]
fn both_trees_fit_in_200_columns() {
    for args in [
        &["report", DATA, "--tree"][..],
        &["report", DATA, "--tree", "--inverted"][..],
        &["report", DATA, "--tree", "--inverted", "--depth", "2"][..],
    ] {
        let out = ok(args);
        let wide: Vec<&str> = out.lines().filter(|l| l.chars().count() > 200).collect();
        assert!(wide.is_empty(), "{args:?}: {wide:?}");
    }
}

/// massif output (heap trees) serves the same views: the allocation sites' callers, the tree
/// and the lines, weighed in bytes.
#[test]
fn views_of_massif_output() {
    let m = "fixtures/massif/normal.massif.out";
    let v = json(&["report", m, "--callers", "^build_index$"]);
    assert_eq!(v["unit"], "bytes");
    let f = &v["functions"][0];
    assert_eq!(edges(&v, "callers"), [("main".to_string(), 1)]);
    assert_eq!(f["total"], f["callers"][0]["weight"]);
    let t = json(&["report", m, "--tree"]);
    assert!(tree_has_edge(&t["roots"], "main", "build_index"));
    let l = json(&["report", m, "--list", "^main$"]);
    assert!(l["functions"][0]["no_text"]
        .as_str()
        .is_some_and(|w| w.contains("source not read")));
}

/// `--callers`, `--callees` and `--list` with a regex that matches no function of what the
/// filters kept: an error naming the flag and the input, exit 1, nothing on stdout (the old
/// code printed "no function matches" and exited 0). Filter errors count with separators.
#[test]
fn a_view_regex_that_matches_nothing_fails() {
    for view in [
        ["--callers", "nope"],
        ["--callees", "nope"],
        ["--list", "nope"],
    ] {
        for format in ["text", "json"] {
            let (good, out, err) =
                run_in_root(&["report", DATA, view[0], view[1], "--format", format]);
            assert!(!good, "{view:?} {format} succeeded");
            assert!(out.is_empty(), "{view:?}: {out}");
            assert!(
                err.contains(&format!(
                    "'{DATA}': {} 'nope' matches no function (in 60 samples)",
                    view[0]
                )),
                "{view:?}: {err}"
            );
        }
    }
    // Matches left out by --limit are matches: the view says how many, and succeeds.
    for view in ["--callers", "--list"] {
        let out = ok(&["report", DATA, view, "^work$", "--limit", "0"]);
        assert!(
            out.contains("(1 more matching functions below the limit; see --limit)"),
            "{out}"
        );
    }
    // Filters first: render exists, but not in what --comm cg-worker kept.
    let (good, _, err) =
        run_in_root(&["report", DATA, "--comm", "cg-worker", "--list", "^render$"]);
    assert!(
        !good && err.contains("--list '^render$' matches no function (in 6 samples)"),
        "{err}"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("big.folded");
    std::fs::write(&f, "main;a 5000\nmain;b 2500\n").expect("write");
    let (good, _, err) = run_in_root(&["report", s(&f), "--ignore", "^b$", "--focus", "zzz"]);
    assert!(
        !good && err.contains("--focus 'zzz' matches no sample (of 7,500 samples)"),
        "{err}"
    );
}

/// Every JSON view marks an inlined frame with `"inlined": true` beside its plain name, as the
/// table and the call graph do (the tree and the listing carried `"mix (inlined)"`); the text
/// keeps the ` (inlined)` mark.
#[test]
fn inlined_frames_are_a_field_in_every_json_view() {
    let t = json(&["report", DATA, "--tree"]);
    let main = &t["roots"][0];
    let compute = main["children"]
        .as_array()
        .expect("children")
        .iter()
        .find(|c| c["name"] == "compute")
        .expect("compute");
    assert_eq!(compute["inlined"], false);
    assert_eq!(
        (
            &compute["children"][0]["name"],
            &compute["children"][0]["inlined"]
        ),
        (&Value::from("mix"), &Value::from(true))
    );
    let l = json(&["report", DATA, "--list", "^mix$"]);
    assert_eq!(
        (&l["functions"][0]["name"], &l["functions"][0]["inlined"]),
        (&Value::from("mix"), &Value::from(true))
    );
    let text = ok(&["report", DATA, "--tree"]);
    assert!(text.contains("  mix (inlined)  [cg]"), "{text}");
    let text = ok(&["report", DATA, "--list", "^mix$"]);
    assert!(text.contains("ROUTINE mix (inlined) in "), "{text}");
}

/// `diff` names the filters it applied to both inputs, in order, with what each side kept: in
/// the table's header, in the JSON and in the graph's subtitle (before, only on stderr).
#[test]
fn diff_names_its_filters_in_the_table_json_and_graph() {
    let dir = tempfile::tempdir().expect("tmp");
    let svg = dir.path().join("d.svg");
    let args = [
        "diff",
        DATA,
        DATA,
        "--hide",
        "^main$",
        "--focus",
        "work",
        "-o",
        s(&svg),
    ];
    let out = ok(&args);
    assert!(
        out.contains(
            "# filters: --focus 'work', --hide '^main$' (in this order, on both inputs; 36 of 60 samples kept before, 36 of 60 after)\n"
        ),
        "{out}"
    );
    let svg_text = std::fs::read_to_string(&svg).expect("svg");
    assert!(
        svg_text.contains("(filters: --focus &apos;work&apos; --hide &apos;^main$&apos;)"),
        "{svg_text}"
    );
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let v: Value = serde_json::from_str(&ok(&a)).expect("json");
    assert_eq!(
        v["filters"],
        serde_json::json!(["--focus 'work'", "--hide '^main$'"])
    );
    assert_eq!(
        v["kept"],
        serde_json::json!({"before": 36, "before_of": 60, "after": 36, "after_of": 60})
    );
    // Without filters: an empty list, no counts, no header line.
    let v: Value = serde_json::from_str(&ok(&[
        "diff",
        DATA,
        DATA,
        "--format",
        "json",
        "-o",
        s(&svg),
    ]))
    .expect("json");
    assert_eq!(v["filters"], serde_json::json!([]));
    assert!(v.get("kept").is_none());
    assert!(!ok(&["diff", DATA, DATA, "-o", s(&svg)]).contains("# filters"));
}

/// The listing of a recursive function starts at its signature: the nearest line above its
/// weighted lines that names it with `(` is its call to itself, which the old code took for
/// the signature and so cut the function's head off.
#[test]
fn listing_of_a_recursive_function_starts_at_its_signature() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("rec.c");
    std::fs::write(
        &src,
        "int leaf(int);\n\
         __attribute__((noinline)) void walk(int depth)\n\
         {\n\
         \tif (depth > 0)\n\
         \t\twalk(depth - 1);\n\
         \telse\n\
         \t\tleaf(depth);\n\
         }\n\
         int leaf(int d) { return d * 3; }\n\
         int main(void) { walk(2); return 0; }\n",
    )
    .expect("write");
    let c = s(&src);
    let frame = |name: &str, addr: u32, line: u32| {
        format!("\t          {addr:x} {name}+0x4 (/tmp/rec)\n  {c}:{line}\n")
    };
    let mut text = String::new();
    for i in 0..4 {
        text.push_str(&format!(
            "rec 100/100 [000] 1.{i:06}:    1000000 cpu-clock: \n{}{}{}{}{}\n",
            frame("leaf", 0x401000, 9),
            frame("walk", 0x401020, 7),
            frame("walk", 0x401010, 5),
            frame("walk", 0x401010, 5),
            frame("main", 0x401030, 10),
        ));
    }
    let script = dir.path().join("rec.txt");
    std::fs::write(&script, text).expect("write");
    let v = json(&["report", s(&script), "--list", "^walk$"]);
    let lines: Vec<u64> = v["functions"][0]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8, 9], "{v}");
    let text = ok(&["report", s(&script), "--list", "^walk$"]);
    assert!(
        text.contains("     2  __attribute__((noinline)) void walk(int depth)"),
        "{text}"
    );
}
