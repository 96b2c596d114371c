//! Uploading pprof profiles to a fleet store: Grafana Pyroscope (`POST /ingest`) and Parca
//! (`POST /profiles/writeraw`).
//!
//! The sampling side hands finished intervals to [`Pusher::send`], which never blocks: an
//! uploader thread owns the network. A server that is down or slow only grows a bounded queue
//! of unsent intervals (the oldest are dropped, and counted, when it is full); failed uploads
//! are retried with exponential backoff. [`Pusher::finish`] gives the queue a last deadline to
//! drain and reports what was sent, retried and dropped.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use base64::Engine;

/// Which engine's ingest API to speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PushFormat {
    /// Grafana Pyroscope: `POST URL/ingest?name=APP{labels}&from=&until=&format=pprof`.
    #[default]
    Pyroscope,
    /// Parca: `POST URL/profiles/writeraw`, JSON with base64 `rawProfile`s.
    Parca,
}

/// Where and how to upload.
#[derive(Clone, Debug)]
pub struct PushConfig {
    /// The server's base URL (`http://pyroscope:4040`).
    pub url: String,
    /// The API.
    pub format: PushFormat,
    /// Application name (Pyroscope's `name`, Parca's `__name__` series label prefix).
    pub app: String,
    /// Extra labels, `key=value`.
    pub labels: Vec<(String, String)>,
    /// Most unsent intervals kept while the server is unreachable.
    pub queue: usize,
    /// Time limit of one upload.
    pub timeout: Duration,
    /// How long unsent intervals are still tried after the recording ended.
    pub final_deadline: Duration,
}

/// One interval's profile, ready to upload.
#[derive(Clone, Debug)]
pub struct Upload {
    /// Gzipped pprof.
    pub pprof: Vec<u8>,
    /// Interval start and end, seconds since the Unix epoch.
    pub from_unix_s: u64,
    /// See `from_unix_s`.
    pub until_unix_s: u64,
    /// Sampling frequency in Hz (0 when not a sampling profile).
    pub sample_rate: u64,
    /// Samples in the interval, for the summary.
    pub samples: u64,
}

/// What the uploader did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushStats {
    /// Intervals uploaded.
    pub sent: u64,
    /// Samples in the uploaded intervals.
    pub sent_samples: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
    /// Intervals dropped because the queue was full or the last deadline passed.
    pub dropped: u64,
    /// Samples in the dropped intervals.
    pub dropped_samples: u64,
    /// The last error seen, if any.
    pub last_error: Option<String>,
}

/// The upload flags shared by `record` (continuous mode) and `report` (one-off upload).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PushArgs {
    /// Upload pprof profiles to this Pyroscope or Parca server (base URL, e.g.
    /// http://localhost:4040).
    #[arg(long, value_name = "URL")]
    pub push: Option<String>,
    /// The server's API.
    #[arg(long = "push-format", value_enum, default_value_t = PushFormat::Pyroscope, requires = "push")]
    pub push_format: PushFormat,
    /// Application name the profiles are stored under (default: the command's or process's
    /// name).
    #[arg(long, value_name = "NAME", requires = "push")]
    pub app: Option<String>,
    /// A label attached to every uploaded profile (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE", requires = "push")]
    pub labels: Vec<String>,
    /// Most unsent intervals kept while the server is unreachable (older ones are dropped and
    /// counted).
    #[arg(
        long = "push-queue",
        default_value_t = 32,
        value_name = "N",
        requires = "push"
    )]
    pub queue: usize,
}

impl PushArgs {
    /// The upload configuration, when `--push` was given.
    pub fn config(&self, default_app: &str) -> Result<Option<PushConfig>> {
        let Some(url) = &self.push else {
            return Ok(None);
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--push {url}: expected an http:// or https:// URL");
        }
        let labels = self
            .labels
            .iter()
            .map(|l| parse_label(l))
            .collect::<Result<Vec<_>>>()?;
        let app = self.app.clone().unwrap_or_else(|| {
            let a: String = default_app
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if a.is_empty() {
                "rprof".into()
            } else {
                a
            }
        });
        Ok(Some(PushConfig {
            url: url.clone(),
            format: self.push_format,
            app,
            labels,
            queue: self.queue,
            timeout: Duration::from_secs(10),
            final_deadline: FINAL_DEADLINE,
        }))
    }
}

/// Parses `key=value` labels; keys as Prometheus allows them (Pyroscope and Parca both check).
pub fn parse_label(s: &str) -> Result<(String, String)> {
    let Some((k, v)) = s.split_once('=') else {
        bail!("label '{s}' is not key=value");
    };
    let ok_key = !k.is_empty()
        && k.chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if !ok_key {
        bail!("label key '{k}' must be letters, digits and '_', not starting with a digit");
    }
    if v.contains(['{', '}', ',', '=']) {
        bail!("label value '{v}' may not contain '{{', '}}', ',' or '='");
    }
    Ok((k.to_string(), v.to_string()))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request (URL, content type, body) for one upload.
pub fn request(cfg: &PushConfig, u: &Upload) -> (String, &'static str, Vec<u8>) {
    let base = cfg.url.trim_end_matches('/');
    match cfg.format {
        PushFormat::Pyroscope => {
            let labels: Vec<String> = cfg.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let name = if labels.is_empty() {
                cfg.app.clone()
            } else {
                format!("{}{{{}}}", cfg.app, labels.join(","))
            };
            let url = format!(
                "{base}/ingest?name={}&from={}&until={}&format=pprof&sampleRate={}&spyName=rprof",
                percent_encode(&name),
                u.from_unix_s,
                u.until_unix_s,
                u.sample_rate
            );
            (url, "application/octet-stream", u.pprof.clone())
        }
        PushFormat::Parca => {
            let mut labels = vec![serde_json::json!({"name": "__name__", "value": cfg.app})];
            for (k, v) in &cfg.labels {
                labels.push(serde_json::json!({"name": k, "value": v}));
            }
            let body = serde_json::json!({
                "series": [{
                    "labels": {"labels": labels},
                    "samples": [{
                        "rawProfile": base64::engine::general_purpose::STANDARD.encode(&u.pprof)
                    }]
                }]
            });
            (
                format!("{base}/profiles/writeraw"),
                "application/json",
                body.to_string().into_bytes(),
            )
        }
    }
}

/// The uploader: a thread and the channel that feeds it.
pub struct Pusher {
    tx: Option<Sender<Upload>>,
    handle: Option<JoinHandle<PushStats>>,
}

impl Pusher {
    /// Starts the uploader thread.
    pub fn start(cfg: PushConfig) -> Self {
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("rprof-push".into())
            .spawn(move || upload_loop(cfg, rx))
            .ok();
        Pusher {
            tx: Some(tx),
            handle,
        }
    }

    /// Queues an interval; never blocks.
    pub fn send(&self, u: Upload) {
        if let Some(tx) = &self.tx {
            // A dead uploader thread only means nothing more is sent; sampling goes on.
            let _ = tx.send(u);
        }
    }

    /// Closes the queue and waits for the uploader to send what it can before its deadline.
    pub fn finish(mut self) -> PushStats {
        self.tx = None;
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

/// How long the uploader keeps trying after the recording ended, by default.
pub const FINAL_DEADLINE: Duration = Duration::from_secs(10);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

fn upload_loop(cfg: PushConfig, rx: Receiver<Upload>) -> PushStats {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(cfg.timeout))
        .user_agent(concat!("rprof/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut stats = PushStats::default();
    let mut queue: VecDeque<Upload> = VecDeque::new();
    let mut closed = false;
    let mut closed_at: Option<Instant> = None;
    let mut backoff = Duration::ZERO;
    let mut next_try = Instant::now();
    let bound = cfg.queue.max(1);
    let enqueue = |queue: &mut VecDeque<Upload>, u: Upload, stats: &mut PushStats| {
        queue.push_back(u);
        while queue.len() > bound {
            if let Some(old) = queue.pop_front() {
                stats.dropped += 1;
                stats.dropped_samples += old.samples;
            }
        }
    };
    loop {
        // Take in everything that arrived; wait only when there is nothing to do now.
        let wait = if queue.is_empty() {
            Duration::from_millis(500)
        } else {
            next_try.saturating_duration_since(Instant::now())
        };
        if !closed {
            match rx.recv_timeout(wait) {
                Ok(u) => enqueue(&mut queue, u, &mut stats),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    closed = true;
                    closed_at = Some(Instant::now());
                }
            }
            while let Ok(u) = rx.try_recv() {
                enqueue(&mut queue, u, &mut stats);
            }
        } else if !queue.is_empty() {
            std::thread::sleep(wait.min(Duration::from_millis(200)));
        }
        if closed {
            let late = closed_at.is_some_and(|t| t.elapsed() > cfg.final_deadline);
            if queue.is_empty() || late {
                for u in queue.drain(..) {
                    stats.dropped += 1;
                    stats.dropped_samples += u.samples;
                }
                return stats;
            }
        }
        if Instant::now() < next_try {
            continue;
        }
        let Some(u) = queue.front() else { continue };
        let (url, ctype, body) = request(&cfg, u);
        match agent
            .post(&url)
            .header("Content-Type", ctype)
            .send(&body[..])
        {
            Ok(_) => {
                stats.sent += 1;
                stats.sent_samples += u.samples;
                queue.pop_front();
                backoff = Duration::ZERO;
                next_try = Instant::now();
            }
            Err(e) => {
                stats.retries += 1;
                stats.last_error = Some(e.to_string());
                backoff = (backoff * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
                next_try = Instant::now() + backoff;
            }
        }
    }
}

/// The `from`/`until` seconds of an interval: consecutive intervals share their boundary, and
/// an interval shorter than a second still spans one.
pub fn interval_secs(start_unix_ns: u64, duration_ns: u64) -> (u64, u64) {
    let from = start_unix_ns / 1_000_000_000;
    let until = (start_unix_ns.saturating_add(duration_ns) + 500_000_000) / 1_000_000_000;
    (from, until.max(from + 1))
}

/// Uploads one profile now (for `report --push`), with a few retries.
pub fn push_once(cfg: &PushConfig, u: Upload) -> Result<()> {
    let p = Pusher::start(cfg.clone());
    p.send(u);
    let st = p.finish();
    if st.sent == 1 {
        Ok(())
    } else {
        bail!(
            "upload to {} failed: {}",
            cfg.url,
            st.last_error.unwrap_or_else(|| "gave up".into())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(format: PushFormat) -> PushConfig {
        PushConfig {
            url: "http://127.0.0.1:4040/".into(),
            format,
            app: "svc.cpu".into(),
            labels: vec![
                ("env".into(), "prod".into()),
                ("region".into(), "eu".into()),
            ],
            queue: 4,
            timeout: Duration::from_secs(1),
            final_deadline: Duration::from_secs(1),
        }
    }

    fn upload() -> Upload {
        Upload {
            pprof: vec![1, 2, 3],
            from_unix_s: 100,
            until_unix_s: 115,
            sample_rate: 99,
            samples: 7,
        }
    }

    #[test]
    fn pyroscope_request_names_app_labels_and_interval() {
        let (url, ct, body) = request(&cfg(PushFormat::Pyroscope), &upload());
        assert_eq!(
            url,
            "http://127.0.0.1:4040/ingest?name=svc.cpu%7Benv%3Dprod%2Cregion%3Deu%7D&from=100&until=115&format=pprof&sampleRate=99&spyName=rprof"
        );
        assert_eq!(ct, "application/octet-stream");
        assert_eq!(body, vec![1, 2, 3]);
    }

    #[test]
    fn parca_request_is_json_with_base64_profile() {
        let (url, ct, body) = request(&cfg(PushFormat::Parca), &upload());
        assert_eq!(url, "http://127.0.0.1:4040/profiles/writeraw");
        assert_eq!(ct, "application/json");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["series"][0]["samples"][0]["rawProfile"], "AQID");
        assert_eq!(v["series"][0]["labels"]["labels"][0]["value"], "svc.cpu");
        assert_eq!(v["series"][0]["labels"]["labels"][1]["name"], "env");
    }

    #[test]
    fn labels_are_checked() {
        assert!(parse_label("env=prod").is_ok());
        assert!(parse_label("1x=y").is_err());
        assert!(parse_label("noequals").is_err());
        assert!(parse_label("k=a,b").is_err());
    }

    #[test]
    fn unreachable_server_drops_only_beyond_the_queue_bound() {
        // Port 9 (discard) on loopback: connection refused at once.
        let mut c = cfg(PushFormat::Pyroscope);
        c.url = "http://127.0.0.1:9".into();
        c.queue = 3;
        let p = Pusher::start(c);
        for _ in 0..5 {
            p.send(upload());
        }
        let t = Instant::now();
        let st = p.finish();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(st.sent, 0);
        assert_eq!(st.dropped, 5, "{st:?}");
        assert!(st.retries >= 1);
    }
}
