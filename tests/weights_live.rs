//! Live test of sample weights: a program whose page faults split 200,000 / 20,000 between two
//! functions (fixtures/record/faults.c) is recorded with `rprof record -e page-faults` and with
//! `perf record -e page-faults`; rprof's report, weighted by each sample's period, must give
//! the split `perf report` gives (within 2 points) and the known 90.9 / 9.1. Counting one per
//! sample instead gives about 70 / 30 on this program (touch_few spreads its faults over as
//! much time as touch_many takes, and frequency mode samples by time).
//!
//! Skips only when perf_event_open or perf is unavailable (fails then under
//! RPROF_REQUIRE_LIVE=1).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// `Total%` of a function in rprof's JSON report (0 when absent).
fn share(v: &Value, f: &str) -> f64 {
    v["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == f))
        .and_then(|r| r["self_pct"].as_f64())
        .unwrap_or(0.0)
}

/// Self percentages per symbol from `perf report --stdio --no-children --sort sym` output:
/// lines like `    90.88%  [.] touch_many`.
fn perf_shares(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let pct: f64 = it.next()?.strip_suffix('%')?.parse().ok()?;
            let _kind = it.next()?;
            let sym = it.collect::<Vec<_>>().join(" ");
            Some((sym, pct))
        })
        .collect()
}

#[test]
fn page_fault_split_is_weighted_like_perf_report() {
    if !live("perf_event_open", perf_event_check()) || !live("perf", have("perf")) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = compile(
        "record/faults.c",
        dir.path(),
        "faults",
        &["-O1", "-g", "-fno-omit-frame-pointer"],
    );

    let data = dir.path().join("pf.data");
    let out = run_ok(
        Command::new(rprof_path())
            .args(["record", "-e", "page-faults", "-o"])
            .arg(&data)
            .arg("--")
            .arg(&bin),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    // The end-of-run summary gives the weight of a counting event: about 220,000 faults.
    let faults: u64 = err
        .split(" samples (")
        .nth(1)
        .and_then(|s| s.split(" page-faults)").next())
        .map(|s| s.replace(',', ""))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no fault total in the summary: {err}"));
    assert!((220_000..240_000).contains(&faults), "{faults}: {err}");

    let v: Value = serde_json::from_slice(
        &run_ok(
            Command::new(rprof_path())
                .arg("report")
                .arg(&data)
                .args(["--format", "json", "--limit", "1000"]),
        )
        .stdout,
    )
    .expect("json");
    assert_eq!(v["unit"], "page-faults");
    assert_eq!(v["metadata"]["unit"], "page-faults");
    assert_eq!(v["events"], serde_json::json!(["page-faults"]));
    assert_eq!(v["total_weight"].as_u64(), Some(faults));
    let (many, few) = (share(&v, "touch_many"), share(&v, "touch_few"));

    let pdata = dir.path().join("perf.data");
    run_ok(
        Command::new("perf")
            .args(["record", "-q", "-e", "page-faults", "-o"])
            .arg(&pdata)
            .arg("--")
            .arg(&bin),
    );
    let rep = run_ok(
        Command::new("perf")
            .args(["report", "--stdio", "--no-children", "--sort", "sym", "-i"])
            .arg(&pdata),
    );
    let perf = perf_shares(&String::from_utf8_lossy(&rep.stdout));
    let perf_of = |f: &str| {
        perf.iter()
            .find(|(s, _)| s == f)
            .map(|x| x.1)
            .unwrap_or_else(|| panic!("{f} not in perf report: {perf:?}"))
    };
    let (pmany, pfew) = (perf_of("touch_many"), perf_of("touch_few"));
    eprintln!("rprof {many:.2}/{few:.2}, perf report {pmany:.2}/{pfew:.2}");
    assert!(
        (many - pmany).abs() <= 2.0,
        "touch_many {many} vs perf {pmany}"
    );
    assert!((few - pfew).abs() <= 2.0, "touch_few {few} vs perf {pfew}");
    assert!((many - 90.9).abs() <= 2.0, "touch_many {many}");
    assert!((few - 9.1).abs() <= 2.0, "touch_few {few}");

    // The sample counts are there too, beside the weights.
    let row = |f: &str| {
        v["rows"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == f))
            .cloned()
            .unwrap_or_default()
    };
    let n_many = row("touch_many")["self_samples"].as_u64().unwrap_or(0);
    let n_few = row("touch_few")["self_samples"].as_u64().unwrap_or(0);
    let n = v["samples"].as_u64().unwrap_or(0);
    eprintln!("samples: touch_many {n_many}, touch_few {n_few}, all {n}");
    assert!(n_many > 0 && n_few > 0 && n_many + n_few <= n, "{v}");

    // The text report names the event and its unit.
    let text = run_ok(Command::new(rprof_path()).arg("report").arg(&data)).stdout;
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.contains("# event: page-faults (weight: page-faults)"),
        "{text}"
    );

    // The flame graph's widths are weights, and its tooltips name the unit.
    check_svg(&data, dir.path(), many);
}

/// The SVG of the recording: touch_many's width share matches the report, in page-faults.
fn check_svg(data: &Path, dir: &Path, many: f64) {
    let svg = dir.join("pf.svg");
    run_ok(
        Command::new(rprof_path())
            .arg("flamegraph")
            .arg(data)
            .arg("-o")
            .arg(&svg),
    );
    let s = std::fs::read_to_string(&svg).expect("svg");
    let title = s
        .split("<title>")
        .skip(1)
        .filter_map(|t| t.split("</title>").next())
        .find(|t| t.starts_with("touch_many ("))
        .unwrap_or_else(|| panic!("no touch_many frame in the SVG"));
    assert!(title.contains(" page-faults, "), "{title}");
    let pct: f64 = title
        .rsplit(", ")
        .next()
        .and_then(|p| p.trim_end_matches(')').trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("no percentage in {title}"));
    assert!((pct - many).abs() < 0.1, "{title} vs report {many}");
}
