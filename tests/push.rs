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
