//! Malformed massif input: every case ends with a clear error naming the input and the line,
//! exit status 1, and no panic, both in `rprof massif` and through the shared loader
//! (`rprof report`), which routes anything starting with `desc:` or gzip magic to massif.

mod common;

use common::{fixture, rprof};

fn normal() -> String {
    std::fs::read_to_string(fixture("massif/normal.massif.out")).expect("fixture")
}

/// Runs `rprof <sub> FILE` on `bytes`; returns stderr after checking exit 1 and no panic.
fn fails(sub: &str, bytes: &[u8], extra: &[&str]) -> String {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("bad.massif");
    std::fs::write(&path, bytes).expect("write");
    let out = rprof()
        .arg(sub)
        .arg(&path)
        .args(extra)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "exit status; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(err.starts_with("rprof: "), "{err}");
    assert!(err.contains("bad.massif"), "names the file: {err}");
    err
}

#[test]
fn massif_empty_file() {
    let e = fails("massif", b"", &[]);
    assert!(e.contains("bad.massif:1: empty input"), "{e}");
}

#[test]
fn massif_truncated_file() {
    let text = normal();
    // Cut inside the peak snapshot's tree: after its first tree line.
    let at = text.find("heap_tree=peak\n").expect("peak") + "heap_tree=peak\n".len();
    let nl = text[at..].find('\n').expect("line") + at + 1;
    let cut = &text.as_bytes()[..nl];
    let line = text[..nl].lines().count() + 1;
    let e = fails("massif", cut, &[]);
    assert!(
        e.contains(&format!(
            "bad.massif:{line}: unexpected end of file inside the tree of snapshot 11"
        )),
        "{e}"
    );
    // Cut between the fields of a snapshot.
    let at = text.find("mem_heap_B=").expect("field");
    let e = fails("massif", &text.as_bytes()[..at], &[]);
    assert!(
        e.contains("expected the `mem_heap_B=` line of snapshot 0"),
        "{e}"
    );
    // The same file through the shared loader.
    let e = fails("report", cut, &[]);
    assert!(e.contains("unexpected end of file"), "{e}");
}

#[test]
fn massif_broken_tree_line() {
    let text = normal();
    let bad = text.replacen(
        " n1: 8388608 0x1091C1: build_index",
        " n1: eight 0x1091C1: build_index",
        1,
    );
    assert_ne!(bad, text, "fixture changed; update the test");
    let line = bad[..bad.find("n1: eight").expect("line")].lines().count();
    let e = fails("massif", bad.as_bytes(), &[]);
    assert!(
        e.contains(&format!("bad.massif:{line}: expected a tree line")),
        "{e}"
    );
    let e = fails("flamegraph", bad.as_bytes(), &["-o", "/dev/null"]);
    assert!(e.contains(&format!(":{line}: expected a tree line")), "{e}");
    // A node bigger than its parent: corrupt, and would overflow sums downstream.
    let huge = text.replacen(
        " n1: 8388608 0x1091C1: build_index",
        " n1: 18446744073709551615 0x1091C1: build_index",
        1,
    );
    let e = fails("massif", huge.as_bytes(), &[]);
    assert!(
        e.contains(&format!(
            ":{line}: tree line of snapshot 11 claims more bytes"
        )),
        "{e}"
    );
    fails("report", huge.as_bytes(), &[]);
    // A bad field value and a bad heap_tree kind.
    let e = fails(
        "massif",
        text.replacen("time=0", "time=zero", 1).as_bytes(),
        &[],
    );
    assert!(e.contains(":7: `time=` wants a whole number"), "{e}");
    let e = fails(
        "massif",
        text.replacen("heap_tree=empty", "heap_tree=bushy", 1)
            .as_bytes(),
        &[],
    );
    assert!(
        e.contains(":11: `heap_tree=` must be empty, detailed or peak"),
        "{e}"
    );
}

#[test]
fn massif_random_bytes() {
    // A fixed xorshift sequence: random-looking, the same on every run.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let e = fails("massif", &bytes, &[]);
    assert!(e.contains("bad.massif:1:"), "{e}");
    // Random bytes after a valid header, and a gzip header over garbage.
    let mut v = b"desc: x\ncmd: y\ntime_unit: i\n".to_vec();
    v.extend_from_slice(&bytes);
    let e = fails("massif", &v, &[]);
    assert!(e.contains("bad.massif:4:"), "{e}");
    let mut g = vec![0x1f, 0x8b, 8, 0];
    g.extend_from_slice(&bytes[..1000]);
    fails("massif", &g, &[]);
    fails("report", &g, &[]);
}

#[test]
fn massif_other_bad_input() {
    // Only a header.
    let e = fails("massif", b"desc: (none)\ncmd: ./x\ntime_unit: i\n", &[]);
    assert!(e.contains("no snapshots"), "{e}");
    // Unknown time unit.
    let e = fails("massif", b"desc: (none)\ncmd: ./x\ntime_unit: years\n", &[]);
    assert!(e.contains(":3: unknown time unit"), "{e}");
    // Not massif at all.
    let e = fails("massif", b"hello world\n", &[]);
    assert!(e.contains(":1: not massif output"), "{e}");
    // A huge line is refused, not buffered.
    let mut huge = b"desc: ".to_vec();
    huge.extend(vec![b'a'; 3 << 20]);
    let e = fails("massif", &huge, &[]);
    assert!(e.contains(":1: line longer than"), "{e}");
    // A program given where a massif file is expected: say how to run it.
    let out = rprof()
        .args(["massif", "/bin/true"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rprof massif -- /bin/true"));
    // Missing file and directory.
    let out = rprof()
        .args(["massif", "/nonexistent/massif.out"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open '/nonexistent/massif.out'"));
    // Neither file nor command; both.
    let out = rprof().arg("massif").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to do"));
    let out = rprof()
        .args(["massif", "x", "--", "true"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
}
