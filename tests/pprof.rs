//! pprof in and out, checked against the reference reader: `go tool pprof` reads rprof's pprof
//! output with the same functions and shares as `rprof report`, and rprof reads the CPU and heap
//! profiles a real Go program writes through `runtime/pprof` with the values `go tool pprof`
//! prints.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;

/// `go` is needed for the peer; CI installs golang-go.
fn go_ready() -> bool {
    live("go (golang-go)", have("go"))
}

/// Rows of `go tool pprof -top` (flat, flat%, cum, cum% per function), all nodes kept.
fn go_table(file: &Path, extra: &[&str]) -> BTreeMap<String, [f64; 4]> {
    let out = Command::new("go")
        .args(["tool", "pprof", "-top", "-nodecount=100000"])
        .args(["-nodefraction=0", "-edgefraction=0"])
        .args(extra)
        .arg(file)
        .output()
        .expect("run go tool pprof");
    assert!(
        out.status.success(),
        "go tool pprof failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = BTreeMap::new();
    let mut in_table = false;
    for line in text.lines() {
        if line.trim_start().starts_with("flat") {
            in_table = true;
            continue;
        }
        // flat flat% sum% cum cum% name (the name may contain spaces)
        let cols: Vec<&str> = line.split_whitespace().collect();
        if !in_table || cols.len() < 6 {
            continue;
        }
        let num = |s: &str| -> f64 {
            s.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%')
                .parse()
                .unwrap_or_else(|_| panic!("bad number {s:?} in {line:?}"))
        };
        // pprof marks inlined functions " (inline)"; rprof's JSON names are plain.
        let name = cols[5..]
            .join(" ")
            .trim_end_matches(" (inline)")
            .to_string();
        rows.insert(
            name,
            [num(cols[0]), num(cols[1]), num(cols[3]), num(cols[4])],
        );
    }
    assert!(!rows.is_empty(), "no rows in go tool pprof output:\n{text}");
    rows
}

/// go tool pprof's (flat, cum) values per function.
fn go_top(file: &Path, extra: &[&str]) -> BTreeMap<String, (f64, f64)> {
    go_table(file, extra)
        .into_iter()
        .map(|(k, v)| (k, (v[0], v[2])))
        .collect()
}

/// Rows of `rprof report --format json` (self, total per name), all rows.
fn rprof_rows(file: &Path, extra: &[&str]) -> (BTreeMap<String, (f64, f64)>, serde_json::Value) {
    let out = rprof()
        .arg("report")
        .arg(file)
        .args(["--format", "json", "--limit", "100000"])
        .args(extra)
        .output()
        .expect("run rprof report");
    assert!(
        out.status.success(),
        "rprof report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut rows = BTreeMap::new();
    for r in v["rows"].as_array().expect("rows") {
        let name = r["name"].as_str().expect("name").to_string();
        rows.insert(
            name,
            (
                r["self"].as_f64().expect("self"),
                r["total"].as_f64().expect("total"),
            ),
        );
    }
    (rows, v)
}

/// Builds and runs fixtures/go/profiles.go, returning (cpu.pb.gz, heap.pb.gz).
fn go_profiles(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let bin = dir.join("profiles");
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(fixture("go/profiles.go"))
        .env("GO111MODULE", "off")
        .env("GOCACHE", dir.join("gocache"))
        .env("GOPATH", dir.join("gopath"))
        .status()
        .expect("run go build");
    assert!(st.success(), "go build failed");
    let (cpu, heap) = (dir.join("cpu.pb.gz"), dir.join("heap.pb.gz"));
    let st = Command::new(&bin)
        .arg(&cpu)
        .arg(&heap)
        .status()
        .expect("run profiles");
    assert!(st.success());
    (cpu, heap)
}

#[test]
fn go_cpu_and_heap_profiles_read_with_go_tool_pprofs_values() {
    if !go_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cpu, heap) = go_profiles(dir.path());

    // CPU: the default type is cpu/nanoseconds; values are exact nanoseconds.
    let go = go_top(&cpu, &["-unit=ns"]);
    let (ours, v) = rprof_rows(&cpu, &[]);
    assert_eq!(v["metadata"]["event"], "cpu-clock");
    assert_eq!(v["metadata"]["unit"], "ns");
    for f in ["main.hot", "main.cold", "main.spin", "main.main"] {
        assert!(go.contains_key(f), "{f} missing from go tool pprof: {go:?}");
    }
    assert_eq!(
        go, ours,
        "cpu: go tool pprof (flat, cum) vs rprof (self, total)"
    );
    let hot = ours["main.hot"].1;
    let cold = ours["main.cold"].1;
    assert!(hot > cold, "hot {hot} should outweigh cold {cold}");

    // Heap: every sample type, chosen as pprof does by default (inuse_space) and by name.
    for (idx, unit) in [
        (None, "-unit=B"),
        (Some("alloc_space"), "-unit=B"),
        (Some("alloc_objects"), ""),
        (Some("inuse_objects"), ""),
    ] {
        let mut go_args = vec![];
        let si;
        if let Some(i) = idx {
            si = format!("-sample_index={i}");
            go_args.push(si.as_str());
        }
        if !unit.is_empty() {
            go_args.push(unit);
        }
        let go = go_top(&heap, &go_args);
        let mut our_args = vec![];
        if let Some(i) = idx {
            our_args.extend(["--sample-index", i]);
        }
        let (ours, v) = rprof_rows(&heap, &our_args);
        assert_eq!(
            v["metadata"]["event"],
            idx.unwrap_or("inuse_space"),
            "the sample type read"
        );
        assert_eq!(go, ours, "heap {idx:?}: go tool pprof vs rprof");
    }
    // allocBig keeps exactly 64 MiB plus slice headers; allocSmall allocated 1000 x 4 KiB.
    let (alloc, _) = rprof_rows(&heap, &["--sample-index", "alloc_space"]);
    assert!(alloc["main.allocBig"].0 >= (64 << 20) as f64);
    assert!(alloc["main.allocSmall"].0 >= 4_096_000.0);

    // A sample type the profile lacks is an error naming the ones it has.
    rprof()
        .arg("report")
        .arg(&heap)
        .args(["--sample-index", "cpu"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("alloc_space"));
}

/// go tool pprof's flat%/cum% of a file.
fn go_shares(file: &Path) -> BTreeMap<String, (f64, f64)> {
    go_table(file, &[])
        .into_iter()
        .map(|(k, v)| (k, (v[1], v[3])))
        .collect()
}

/// rprof's self%/total% of a file.
fn rprof_shares(file: &Path) -> BTreeMap<String, (f64, f64)> {
    let (_, v) = rprof_rows(file, &[]);
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                (
                    r["self_pct"].as_f64().unwrap(),
                    r["total_pct"].as_f64().unwrap(),
                ),
            )
        })
        .collect()
}

fn assert_shares_agree(go: &BTreeMap<String, (f64, f64)>, ours: &BTreeMap<String, (f64, f64)>) {
    for (name, (s, t)) in ours {
        if *t < 0.5 {
            continue;
        }
        // go tool pprof merges functions by name only; rprof rows are named the same.
        let (gs, gt) = go
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from go tool pprof: {go:?}"));
        assert!((gs - s).abs() <= 0.1, "{name} self: go {gs} rprof {s}");
        assert!((gt - t).abs() <= 0.1, "{name} total: go {gt} rprof {t}");
    }
}

#[test]
fn go_tool_pprof_reads_our_pprof_like_rprof_report() {
    if !go_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // From perf script text (two threads, libc frames) through convert --to pprof.
    let pb = dir.path().join("ps.pb.gz");
    rprof()
        .arg("convert")
        .arg(fixture("inputs/perf-script.txt"))
        .args(["--to", "pprof", "-o"])
        .arg(&pb)
        .assert()
        .success();
    let go = go_shares(&pb);
    let ours = rprof_shares(&fixture("inputs/perf-script.txt"));
    assert!(
        go.contains_key("leaf_a") && go.contains_key("leaf_b"),
        "{go:?}"
    );
    assert_shares_agree(&go, &ours);
    // Reading our own output back gives the same report as the source.
    assert_eq!(rprof_shares(&pb), ours);
}

#[test]
fn recorded_profile_with_inlined_frames_exports_to_pprof() {
    if !go_ready() || !live("perf_event_open", perf_event_check()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = compile("record/inline.c", dir.path(), "inline", &["-O2", "-g"]);
    let data = dir.path().join("inline.data");
    rprof()
        .args(["record", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .arg("0.5")
        .assert()
        .success();
    let pb = dir.path().join("inline.pb.gz");
    rprof()
        .arg("report")
        .arg(&data)
        .args(["--format", "pprof", "-o"])
        .arg(&pb)
        .assert()
        .success();
    assert_shares_agree(&go_shares(&pb), &rprof_shares(&data));
    // The inlined helper is a Line of outer_work's Location: pprof marks it "(inline)".
    let out = Command::new("go")
        .args(["tool", "pprof", "-traces"])
        .arg(&pb)
        .output()
        .unwrap();
    let traces = String::from_utf8_lossy(&out.stdout);
    let helper_line = traces
        .lines()
        .find(|l| l.contains("mix_helper"))
        .unwrap_or_else(|| panic!("mix_helper missing from -traces:\n{traces}"));
    assert!(helper_line.contains("(inline)"), "{helper_line}");
    // Labels: thread id and pid on every sample.
    let out = Command::new("go")
        .args(["tool", "pprof", "-raw"])
        .arg(&pb)
        .output()
        .unwrap();
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(
        raw.contains("thread_id:[") && raw.contains("pid:["),
        "{raw}"
    );
    // Mappings carry the binary's path and build-id.
    assert!(raw.contains("inline"), "{raw}");
}

#[test]
fn bad_pprof_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A gzip stream whose content starts like a profile field but is cut short.
    let raw: &[u8] = &[0x0a, 0x10, 0x08, 0x01];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, raw).unwrap();
    let bad = dir.path().join("bad.pb.gz");
    std::fs::write(&bad, gz.finish().unwrap()).unwrap();
    rprof()
        .arg("report")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("bad.pb.gz"))
        .stderr(predicates::str::contains("pprof"));
}
