//! Uploads to Pyroscope and Parca. No such server can be installed here, so each test starts a
//! loopback HTTP receiver that stands in for the server: it implements the documented ingest
//! endpoint (Pyroscope `POST /ingest?name=…&from=…&until=…&format=pprof`, Parca `POST
//! /profiles/writeraw` with base64 `rawProfile`s), keeps what it received, and can refuse
//! requests for a while. Every received profile is checked with `go tool pprof`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use common::*;

/// One request the receiver accepted.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    query: String,
    pprof: Vec<u8>,
    labels: Vec<(String, String)>,
}

/// A loopback HTTP server standing in for Pyroscope or Parca.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    requests: Arc<AtomicUsize>,
}

impl Receiver {
    /// Starts the receiver; the first `refuse` requests get 503.
    fn start(refuse: usize) -> Receiver {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let (g, r) = (got.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut c) = conn else { continue };
                let mut rd = BufReader::new(c.try_clone().unwrap());
                // Several requests may come over one kept-alive connection.
                loop {
                    let mut line = String::new();
                    if rd.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if rd.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                        let hl = h.to_ascii_lowercase();
                        if let Some(v) = hl.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; len];
                    if rd.read_exact(&mut body).is_err() {
                        break;
                    }
                    let n = r.fetch_add(1, Ordering::SeqCst);
                    if n < refuse {
                        let _ = c.write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
                        );
                        continue;
                    }
                    let (path, query) = match target.split_once('?') {
                        Some((p, q)) => (p.to_string(), q.to_string()),
                        None => (target.clone(), String::new()),
                    };
                    let (pprof, labels) = if path == "/profiles/writeraw" {
                        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                        let s = &v["series"][0];
                        let labels = s["labels"]["labels"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|l| {
                                (
                                    l["name"].as_str().unwrap().to_string(),
                                    l["value"].as_str().unwrap().to_string(),
                                )
                            })
                            .collect();
                        let raw = base64::engine::general_purpose::STANDARD
                            .decode(s["samples"][0]["rawProfile"].as_str().unwrap())
                            .unwrap();
                        (raw, labels)
                    } else {
                        (body, Vec::new())
                    };
                    g.lock().unwrap().push(Received {
                        path,
                        query,
                        pprof,
                        labels,
                    });
                    let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                }
            }
        });
        Receiver { url, got, requests }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// A query parameter, percent-decoded.
fn param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| {
            let mut out = Vec::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() + 1 {
                    out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        })
    })
}

/// Total of sample type `idx` in a pprof file, as `go tool pprof -raw` prints the samples.
fn go_raw_total(file: &Path) -> (u64, String) {
    let out = Command::new("go")
        .args(["tool", "pprof", "-raw"])
        .arg(file)
        .output()
        .expect("go tool pprof");
    assert!(
        out.status.success(),
        "go tool pprof -raw failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // Samples section: "     VALUE VALUE: LOC LOC ..." lines after "Samples:" and its header.
    let mut total = 0u64;
    let mut in_samples = false;
    for l in text.lines() {
        if l.starts_with("Samples:") {
            in_samples = true;
            continue;
        }
        if l.starts_with("Locations") {
            break;
        }
        if in_samples {
            if let Some((vals, _)) = l.split_once(':') {
                if let Some(first) = vals.split_whitespace().next() {
                    if let Ok(v) = first.parse::<u64>() {
                        total += v;
                    }
                }
            }
        }
    }
    (total, text)
}

#[test]
fn report_push_uploads_one_profile_to_pyroscope_and_parca() {
    if !live("go (golang-go)", have("go")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for format in ["pyroscope", "parca"] {
        let rx = Receiver::start(0);
        rprof()
            .arg("report")
            .arg(fixture("inputs/perf-script.txt"))
            .args(["--push", &rx.url, "--push-format", format])
            .args(["--app", "work", "--label", "env=test"])
            .assert()
            .success()
            .stderr(predicates::str::contains("uploaded 155 samples"));
        let got = rx.received();
        assert_eq!(got.len(), 1, "{format}");
        let r = &got[0];
        if format == "pyroscope" {
            assert_eq!(r.path, "/ingest");
            assert_eq!(param(&r.query, "name").as_deref(), Some("work{env=test}"));
            assert_eq!(param(&r.query, "format").as_deref(), Some("pprof"));
            assert!(param(&r.query, "from").is_some() && param(&r.query, "until").is_some());
        } else {
            assert_eq!(r.path, "/profiles/writeraw");
            assert!(r.labels.contains(&("__name__".into(), "work".into())));
            assert!(r.labels.contains(&("env".into(), "test".into())));
        }
        let f = dir.path().join(format!("{format}.pb.gz"));
        std::fs::write(&f, &r.pprof).unwrap();
        let (total, raw) = go_raw_total(&f);
        assert_eq!(total, 155, "{raw}");
        assert!(raw.contains("leaf_a") && raw.contains("leaf_b"), "{raw}");
    }
}

#[test]
fn unreachable_server_is_a_clear_error() {
    rprof()
        .arg("report")
        .arg(fixture("inputs/perf-script.txt"))
        .args(["--push", "http://127.0.0.1:9"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "upload to http://127.0.0.1:9 failed",
        ));
    rprof()
        .arg("report")
        .arg(fixture("inputs/perf-script.txt"))
        .args(["--push", "ftp://x", "--label", "env=a"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("http:// or https://"));
}

#[test]
fn refusing_server_gets_the_profile_after_retries() {
    let rx = Receiver::start(2);
    rprof()
        .arg("report")
        .arg(fixture("inputs/perf-script.txt"))
        .args(["--push", &rx.url])
        .assert()
        .success();
    assert_eq!(rx.requests.load(Ordering::SeqCst), 3);
    assert_eq!(rx.received().len(), 1);
}

/// Runs `rprof record --push` on the split fixture; returns (stderr, total samples recorded,
/// intervals uploaded, intervals in all, samples uploaded, intervals dropped).
fn record_push(url: &str, extra: &[&str], secs: &str) -> (String, u64, u64, u64, u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let bin = compile("record/split.c", dir.path(), "split", &["-O2", "-g"]);
    let out = rprof()
        .current_dir(dir.path())
        .args(["record", "--push", url, "--label", "env=ci"])
        .args(extra)
        .arg("--")
        .arg(&bin)
        .arg(secs)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");
    // No data file in continuous mode: the profiles went to the server.
    assert!(!dir.path().join("rprof.data").exists());
    let num = |s: &str| s.replace(',', "").parse::<u64>().unwrap();
    // The data-quality line: "rprof: 1,234 samples, 0 lost …".
    let total = err
        .lines()
        .find_map(|l| {
            let (n, _) = l.strip_prefix("rprof: ")?.split_once(" samples")?;
            n.replace(',', "").parse::<u64>().ok()
        })
        .unwrap_or_else(|| panic!("no summary line:\n{err}"));
    let up = err
        .lines()
        .find(|l| l.starts_with("rprof: uploaded "))
        .unwrap_or_else(|| panic!("no upload summary:\n{err}"));
    // "rprof: uploaded A of B intervals (C samples); R retried uploads; D intervals (E samples) dropped: …"
    let w: Vec<&str> = up.split_whitespace().collect();
    let sent = num(w[2]);
    let all = num(w[4]);
    let samples = num(w[6].trim_start_matches('('));
    let dropped = num(w[11]);
    (err, total, sent, all, samples, dropped)
}

/// Checks every received profile with go tool pprof; returns the summed sample count.
fn check_received(got: &[Received], format: &str) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let mut sum = 0;
    let mut spans = Vec::new();
    for (i, r) in got.iter().enumerate() {
        let f = dir.path().join(format!("{i}.pb.gz"));
        std::fs::write(&f, &r.pprof).unwrap();
        let (n, raw) = go_raw_total(&f);
        sum += n;
        if n > 0 {
            assert!(
                raw.contains("thread_id:[") && raw.contains("pid:["),
                "{raw}"
            );
            assert!(raw.contains("work_sixty"), "{raw}");
        }
        if format == "pyroscope" {
            assert_eq!(param(&r.query, "name").as_deref(), Some("split{env=ci}"));
            let from: u64 = param(&r.query, "from").unwrap().parse().unwrap();
            let until: u64 = param(&r.query, "until").unwrap().parse().unwrap();
            assert!(until > from);
            spans.push((from, until));
        } else {
            assert!(r.labels.contains(&("__name__".into(), "split".into())));
            assert!(r.labels.contains(&("env".into(), "ci".into())));
        }
    }
    // Intervals follow each other: each starts where the previous ended (to the second).
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].0 && w[1].0 <= w[0].1 + 1, "{spans:?}");
    }
    sum
}

#[test]
fn continuous_record_uploads_every_interval_and_loses_nothing() {
    if !live("go (golang-go)", have("go")) || !live("perf_event_open", perf_event_check()) {
        return;
    }
    // Pyroscope answering at once; Parca refusing the first three uploads (retried, none lost).
    for (format, refuse) in [("pyroscope", 0), ("parca", 3)] {
        let rx = Receiver::start(refuse);
        let (err, total, sent, all, samples, dropped) = record_push(
            &rx.url,
            &["--push-format", format, "--interval", "700ms"],
            "2.5",
        );
        assert!(all >= 3, "{err}");
        assert_eq!((sent, dropped), (all, 0), "{err}");
        assert_eq!(samples, total, "{err}");
        let got = rx.received();
        assert_eq!(got.len() as u64, sent, "{err}");
        assert_eq!(check_received(&got, format), total, "{format}: {err}");
        assert_eq!(
            rx.requests.load(Ordering::SeqCst) as u64,
            sent + refuse as u64
        );
    }
}

#[test]
fn continuous_record_counts_what_a_full_queue_drops() {
    if !live("go (golang-go)", have("go")) || !live("perf_event_open", perf_event_check()) {
        return;
    }
    // Refusing long enough that a one-interval queue must drop: every interval is either
    // uploaded or counted as dropped, and what was uploaded is exactly what arrived.
    let rx = Receiver::start(5);
    let (err, _total, sent, all, samples, dropped) = record_push(
        &rx.url,
        &["--interval", "300ms", "--push-queue", "1"],
        "2.5",
    );
    assert!(dropped >= 1, "{err}");
    assert_eq!(sent + dropped, all, "{err}");
    let got = rx.received();
    assert_eq!(got.len() as u64, sent);
    assert_eq!(check_received(&got, "pyroscope"), samples, "{err}");
}
