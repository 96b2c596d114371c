//! `rprof diff` tells the whole change: self and total weight per function, functions that
//! appear or vanish anywhere on the stacks, before-only stacks visible in the graph, the
//! normalization factor printed, heap diffs in bytes, weights named by their unit, and inputs
//! of different events refused. Golden tables under fixtures/expected/diff/.

mod common;

use std::path::Path;

use common::{fixture, golden, rprof};
use rprof::profile::{Pid, Profile, Sample, Tid};

fn path(rel: &str) -> String {
    fixture(rel).to_string_lossy().into_owned()
}

/// Replaces the absolute fixture directory so goldens do not depend on the checkout path.
fn portable(s: &str) -> String {
    s.replace(&path(""), "fixtures/")
}

/// Runs `rprof diff ARGS -o SVG`; returns (stdout, stderr, SVG text), asserting success.
fn diff(args: &[&str], svg: &Path) -> (String, String, String) {
    let out = rprof()
        .arg("diff")
        .args(args)
        .arg("-o")
        .arg(svg)
        .output()
        .expect("run rprof");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "rprof diff {args:?} failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let svg = std::fs::read_to_string(svg).expect("svg written");
    (stdout, stderr, svg)
}

fn json(args: &[&str], svg: &Path) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (out, _, _) = diff(&a, svg);
    serde_json::from_str(&out).expect("json")
}

/// The rows of one list of the JSON table, by function name.
fn row<'a>(v: &'a serde_json::Value, list: &str, function: &str) -> &'a serde_json::Value {
    v[list]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["function"] == function))
        .unwrap_or_else(|| panic!("{function} missing from {list}: {v:#}"))
}

/// Frame name -> (rect width in percent, fill) of an SVG flame graph.
fn frames(svg: &str) -> Vec<(String, f64, String)> {
    let opt = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(svg, opt).expect("SVG parses as XML");
    let mut out = Vec::new();
    for g in doc.descendants().filter(|n| n.has_tag_name("g")) {
        let title = g
            .children()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text());
        let rect = g.children().find(|n| n.has_tag_name("rect"));
        if let (Some(t), Some(r)) = (title, rect) {
            let name = t.split(" (").next().unwrap_or(t).to_string();
            let width: f64 = r
                .attribute("width")
                .and_then(|w| w.trim_end_matches('%').parse().ok())
                .unwrap_or(0.0);
            out.push((name, width, r.attribute("fill").unwrap_or("").to_string()));
        }
    }
    out
}

fn frame<'a>(f: &'a [(String, f64, String)], name: &str) -> Option<&'a (String, f64, String)> {
    f.iter().find(|x| x.0 == name)
}

/// Blue fill (`rgb(c,c,255)` with c < 255): inferno's colour for "shrank".
fn is_blue(fill: &str) -> bool {
    fill.starts_with("rgb(") && fill.ends_with(",255)") && !fill.starts_with("rgb(255,")
}

#[test]
fn a_new_caller_above_an_unchanged_leaf_is_new() {
    let dir = tempfile::tempdir().expect("tmp");
    let svg = dir.path().join("d.svg");
    let args = [
        &path("inputs/diff/caller-before.folded")[..],
        &path("inputs/diff/caller-after.folded"),
    ];
    let v = json(&args, &svg);
    let fresh = row(&v, "only_after", "fresh");
    assert_eq!(fresh["total"]["before"], 0);
    assert_eq!(fresh["total"]["after"], 100);
    assert_eq!(fresh["self"]["after"], 0, "fresh is never a leaf");
    let work = row(&v, "changed", "work");
    assert_eq!(work["self"]["delta_points"], 0.0);
    assert_eq!(work["total"]["delta_points"], 0.0);
    let main = row(&v, "changed", "main");
    assert_eq!(main["total"]["before"], 120);
    let (text, _, _) = diff(&args, &svg);
    golden("diff/new-caller.txt", &portable(&text));
}

#[test]
fn both_paths_give_the_same_table() {
    // Two folded inputs take the counting path; a data file converted from one of them goes
    // through the model. Every number of the table must agree.
    let dir = tempfile::tempdir().expect("tmp");
    let svg = dir.path().join("d.svg");
    for (b, a) in [
        ("caller-before", "caller-after"),
        ("gone-before", "gone-after"),
        ("norm-before", "norm-after"),
    ] {
        let (bf, af) = (
            path(&format!("inputs/diff/{b}.folded")),
            path(&format!("inputs/diff/{a}.folded")),
        );
        let data = dir.path().join(format!("{b}.data"));
        rprof()
            .args(["convert", &bf, "-o"])
            .arg(&data)
            .assert()
            .success();
        let data = data.to_string_lossy().into_owned();
        for extra in [&[][..], &["--no-normalize"], &["--limit", "2"]] {
            let mut fast = vec![&bf[..], &af];
            fast.extend(extra);
            let mut model = vec![&data[..], &af];
            model.extend(extra);
            let (f, m) = (json(&fast, &svg), json(&model, &svg));
            assert_eq!(
                f, m,
                "{b} vs {a} {extra:?}: folded path and model path differ"
            );
        }
    }
}

#[test]
fn stacks_only_in_before_stay_visible() {
    let dir = tempfile::tempdir().expect("tmp");
    let svg = dir.path().join("d.svg");
    let b = path("inputs/diff/gone-before.folded");
    let a = path("inputs/diff/gone-after.folded");
    // Default width basis: the larger of the two weights.
    let (_, _, s) = diff(&[&b, &a], &svg);
    let f = frames(&s);
    for gone in ["old", "helper"] {
        let (_, w, fill) = frame(&f, gone).unwrap_or_else(|| panic!("{gone} missing: {f:?}"));
        assert!(*w > 0.0, "{gone} has no width");
        if gone == "helper" {
            assert!(is_blue(fill), "{gone} vanished, so it is blue: {fill}");
        }
    }
    let (_, w, fill) = frame(&f, "new").expect("new frame");
    assert!(*w > 0.0);
    assert!(fill.starts_with("rgb(255,"), "new grew: red, {fill}");
    assert!(s.contains("width: larger of before and after"));
    // after: inferno's own basis, what vanished has no width.
    let (_, _, s) = diff(&[&b, &a, "--width", "after"], &svg);
    let f = frame(&frames(&s), "helper").map_or(0.0, |x| x.1);
    assert_eq!(f, 0.0, "--width after draws only what AFTER holds");
    // before: what vanished keeps its width, still coloured as a shrink.
    let (_, _, s) = diff(&[&b, &a, "--width", "before"], &svg);
    let f = frames(&s);
    let (_, w, fill) = frame(&f, "helper").expect("helper frame");
    assert!(*w > 0.0 && is_blue(fill), "{w} {fill}");
    assert_eq!(frame(&f, "new").map_or(0.0, |x| x.1), 0.0);
    let (_, _, fill) = frame(&f, "keep").expect("keep frame");
    assert!(fill.starts_with("rgb(255,"), "keep grew: red, {fill}");
    // --negate still swaps the colours on top of the basis.
    let (_, _, s) = diff(&[&b, &a, "--width", "before", "--negate"], &svg);
    let f = frames(&s);
    let (_, _, fill) = frame(&f, "keep").expect("keep frame");
    assert!(is_blue(fill), "negated: keep grew, blue: {fill}");
    let (_, _, s) = diff(&[&b, &a, "--negate"], &svg);
    let f = frames(&s);
    let (_, _, fill) = frame(&f, "helper").expect("helper frame");
    assert!(
        fill.starts_with("rgb(255,"),
        "negated: helper shrank, red: {fill}"
    );
}

#[test]
fn the_normalization_factor_is_printed() {
    let dir = tempfile::tempdir().expect("tmp");
    let svg = dir.path().join("d.svg");
    let b = path("inputs/diff/norm-before.folded");
    let a = path("inputs/diff/norm-after.folded");
    let (text, err, s) = diff(&[&b, &a], &svg);
    let line = "before scaled to after's total by factor 0.8313 (1,203 vs 1,000 samples)";
    assert!(err.contains(line), "{err}");
    assert!(text.contains(line), "{text}");
    assert!(s.contains("by factor 0.8313"), "the graph says it too");
    golden("diff/normalized.txt", &portable(&text));
    let (raw, err, _) = diff(&[&b, &a, "--no-normalize"], &svg);
    assert!(err.contains("raw samples, not normalized (1,203 vs 1,000 samples)"));
    golden("diff/raw.txt", &portable(&raw));
    // The later of --normalize and --no-normalize wins.
    let (again, _, _) = diff(&[&b, &a, "--no-normalize", "--normalize"], &svg);
    assert_eq!(again, text);
}

#[test]
fn a_massif_diff_speaks_in_bytes() {
    let dir = tempfile::tempdir().expect("tmp");
    let svg = dir.path().join("d.svg");
    let b = path("massif/before.massif.out");
    let a = path("massif/normal.massif.out");
    let (text, err, s) = diff(&[&b, &a], &svg);
    assert!(
        !text.contains("samples") && !text.contains("self time"),
        "{text}"
    );
    assert!(err.contains("raw bytes, not normalized"), "{err}");
    assert!(s.contains(" bytes, "), "frame titles count bytes");
    golden("diff/massif.txt", &portable(&text));
    let (norm, _, _) = diff(&[&b, &a, "--normalize"], &svg);
    assert!(
        norm.contains("by factor 1.9990 (4,198,432 vs 8,392,768 bytes)"),
        "{norm}"
    );
}

/// A profile of two stacks: `main;a` in `na` samples of weight `wa`, `main;b` in one sample
/// of weight `wb`.
fn weighted(event: &str, unit: &str, na: u64, wa: u64, wb: u64) -> Profile {
    let mut p = Profile::new();
    p.meta.event = event.into();
    p.meta.events = vec![event.into()];
    p.meta.unit = unit.into();
    let t = p.add_thread(Pid(1), Tid(1), "prog");
    let main = p.add_named_frame("main");
    let (a, b) = (p.add_named_frame("a"), p.add_named_frame("b"));
    let sa = p.add_stack_frames(&[main, a]);
    let sb = p.add_stack_frames(&[main, b]);
    for _ in 0..na {
        p.add_sample(Sample {
            stack: sa,
            thread: t,
            weight: wa,
            count: 1,
            time: None,
        });
    }
    p.add_sample(Sample {
        stack: sb,
        thread: t,
        weight: wb,
        count: 1,
        time: None,
    });
    p
}

#[test]
fn weights_not_sample_counts_and_their_unit() {
    let dir = tempfile::tempdir().expect("tmp");
    let svg = dir.path().join("d.svg");
    let write = |name: &str, p: &Profile| {
        let f = dir.path().join(name);
        rprof::profile::file::write_file(p, &f).expect("write data file");
        f.to_string_lossy().into_owned()
    };
    // By count a is 3 of 4 samples in both; by weight (ns) b goes from 25% to 75%.
    let b = write(
        "b.data",
        &weighted("cpu-clock", "ns", 3, 1_000_000, 1_000_000),
    );
    let a = write(
        "a.data",
        &weighted("cpu-clock", "ns", 3, 1_000_000, 9_000_000),
    );
    let (text, err, s) = diff(&[&b, &a], &svg);
    assert!(text.contains("4,000,000 ns (cpu-clock)"), "{text}");
    assert!(text.contains("12,000,000 ns (cpu-clock)"), "{text}");
    assert!(err.contains("(4,000,000 vs 12,000,000 ns)"), "{err}");
    assert!(s.contains(" ns, "), "frame titles count ns");
    let v = json(&[&b, &a], &svg);
    assert_eq!(row(&v, "changed", "b")["self"]["after_pct"], 75.0);
    assert_eq!(v["after_unit"], "ns");
    golden(
        "diff/weights.txt",
        &text.replace(&b, "b.data").replace(&a, "a.data"),
    );

    // Different events: refused, both files named, unless --allow-mismatch.
    let pf = write("pf.data", &weighted("page-faults", "page-faults", 2, 10, 5));
    let out = rprof()
        .args(["diff", &b, &pf, "-o"])
        .arg(&svg)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("b.data' holds cpu-clock in ns")
            && err.contains("pf.data' holds page-faults in page-faults"),
        "{err}"
    );
    assert!(err.contains("--allow-mismatch"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let (text, err, _) = diff(&[&b, &pf, "--allow-mismatch"], &svg);
    assert!(
        err.contains("warning: the inputs measure different things"),
        "{err}"
    );
    assert!(
        text.contains("factor 6.2500e-6 (4,000,000 ns vs 25 page-faults)"),
        "{text}"
    );
}
