//! Renders a [`Summary`] as `strace -c`-style text tables or as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

use super::model::{Stat, Summary, ThreadSummary};

/// Sort order of the table rows (`-S`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SortKey {
    /// Total time, largest first.
    Time,
    /// Calls, most first.
    Calls,
    /// Errors, most first.
    Errors,
    /// Syscall name, alphabetical.
    Name,
    /// Mean time per call, largest first.
    Avg,
    /// Largest single call, largest first.
    Max,
}

/// How the tables are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// One table for everything.
    Total,
    /// One table per thread.
    Thread,
    /// One table per process.
    Process,
}

/// Rendering options.
#[derive(Clone, Copy, Debug)]
pub struct RenderOpts {
    /// Row order.
    pub sort: SortKey,
    /// Table grouping.
    pub grouping: Grouping,
    /// List error codes per syscall.
    pub errors: bool,
}

/// One table: a title and its merged rows.
struct Table {
    title: Option<String>,
    rows: BTreeMap<String, Stat>,
    json_id: Value,
}

fn tables(s: &Summary, g: Grouping) -> Vec<Table> {
    match g {
        Grouping::Total => vec![Table {
            title: None,
            rows: Summary::merged(s.threads.iter()),
            json_id: Value::Null,
        }],
        Grouping::Thread => s
            .threads
            .iter()
            .map(|t| Table {
                title: Some(format!(
                    "thread {} ({}) of process {}",
                    t.tid, t.name, t.pid
                )),
                rows: Summary::merged(std::iter::once(t)),
                json_id: json!({"tid": t.tid, "pid": t.pid, "name": t.name}),
            })
            .collect(),
        Grouping::Process => {
            let mut by_pid: BTreeMap<u32, Vec<&ThreadSummary>> = BTreeMap::new();
            for t in &s.threads {
                by_pid.entry(t.pid).or_default().push(t);
            }
            by_pid
                .into_iter()
                .map(|(pid, ts)| {
                    // The process is named after its main thread when that thread made calls.
                    let name = ts
                        .iter()
                        .find(|t| t.tid == pid)
                        .or(ts.first())
                        .map(|t| t.name.clone())
                        .unwrap_or_else(|| "?".into());
                    Table {
                        title: Some(format!(
                            "process {pid} ({name}), {} thread{}",
                            ts.len(),
                            if ts.len() == 1 { "" } else { "s" }
                        )),
                        rows: Summary::merged(ts.into_iter()),
                        json_id: json!({"pid": pid, "name": name}),
                    }
                })
                .collect()
        }
    }
}

fn sorted(rows: &BTreeMap<String, Stat>, key: SortKey) -> Vec<(&String, &Stat)> {
    let mut v: Vec<(&String, &Stat)> = rows.iter().collect();
    // Ties fall back to name order (BTreeMap order, kept by the stable sort) for determinism.
    match key {
        SortKey::Time => v.sort_by(|a, b| b.1.total_ns.cmp(&a.1.total_ns)),
        SortKey::Calls => v.sort_by(|a, b| b.1.calls.cmp(&a.1.calls)),
        SortKey::Errors => v.sort_by(|a, b| b.1.errors.cmp(&a.1.errors)),
        SortKey::Name => {}
        SortKey::Avg => v.sort_by(|a, b| b.1.avg_ns().cmp(&a.1.avg_ns())),
        SortKey::Max => v.sort_by(|a, b| b.1.max_ns.cmp(&a.1.max_ns)),
    }
    v
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

fn opt_us(ns: Option<u64>) -> String {
    ns.map(us).unwrap_or_else(|| "-".into())
}

fn errors_cell(n: u64) -> String {
    // strace leaves the errors cell blank when there are none.
    if n == 0 {
        String::new()
    } else {
        n.to_string()
    }
}

fn text_table(out: &mut String, rows: &BTreeMap<String, Stat>, opts: &RenderOpts, timed: bool) {
    let total = Summary::merged_stats(rows.values());
    if timed {
        let _ = writeln!(
            out,
            "% time     seconds  usecs/call     calls    errors    p50(us)    p99(us)     max(us) syscall"
        );
        let _ = writeln!(
            out,
            "------ ----------- ----------- --------- --------- ---------- ---------- ----------- ----------------"
        );
        for (name, s) in sorted(rows, opts.sort) {
            let pct = if total.total_ns > 0 {
                100.0 * s.total_ns as f64 / total.total_ns as f64
            } else {
                0.0
            };
            let _ = writeln!(
                out,
                "{:>6.2} {:>11.6} {:>11} {:>9} {:>9} {:>10} {:>10} {:>11} {}",
                pct,
                s.total_ns as f64 / 1e9,
                s.avg_ns() / 1000,
                s.calls,
                errors_cell(s.errors),
                opt_us(s.quantile_ns(0.5)),
                opt_us(s.quantile_ns(0.99)),
                if s.timed > 0 {
                    us(s.max_ns)
                } else {
                    "-".into()
                },
                name
            );
        }
        let _ = writeln!(
            out,
            "------ ----------- ----------- --------- --------- ---------- ---------- ----------- ----------------"
        );
        let _ = writeln!(
            out,
            "{:>6.2} {:>11.6} {:>11} {:>9} {:>9} {:>10} {:>10} {:>11} total",
            100.0,
            total.total_ns as f64 / 1e9,
            total.avg_ns() / 1000,
            total.calls,
            errors_cell(total.errors),
            opt_us(total.quantile_ns(0.5)),
            opt_us(total.quantile_ns(0.99)),
            if total.timed > 0 {
                us(total.max_ns)
            } else {
                "-".into()
            },
        );
    } else {
        let _ = writeln!(out, "% calls     calls    errors syscall");
        let _ = writeln!(out, "------- --------- --------- ----------------");
        let key = match opts.sort {
            SortKey::Time | SortKey::Avg | SortKey::Max => SortKey::Calls,
            k => k,
        };
        for (name, s) in sorted(rows, key) {
            let pct = if total.calls > 0 {
                100.0 * s.calls as f64 / total.calls as f64
            } else {
                0.0
            };
            let _ = writeln!(
                out,
                "{:>7.2} {:>9} {:>9} {}",
                pct,
                s.calls,
                errors_cell(s.errors),
                name
            );
        }
        let _ = writeln!(out, "------- --------- --------- ----------------");
        let _ = writeln!(
            out,
            "{:>7.2} {:>9} {:>9} total",
            100.0,
            total.calls,
            errors_cell(total.errors)
        );
    }
    if opts.errors {
        let with_errors: Vec<(&String, &Stat)> = sorted(rows, SortKey::Errors)
            .into_iter()
            .filter(|(_, s)| s.errors > 0)
            .collect();
        let _ = writeln!(out);
        if with_errors.is_empty() {
            let _ = writeln!(out, "errors: none");
        } else {
            let _ = writeln!(out, "errors by syscall:");
            let width = with_errors.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            for (name, s) in with_errors {
                let codes: Vec<String> = s
                    .errnos_named()
                    .into_iter()
                    .map(|(e, n)| format!("{e} ×{n}"))
                    .collect();
                let _ = writeln!(out, "  {name:<width$}  {}", codes.join(", "));
            }
        }
    }
}

/// The text rendering: a header saying what the time is, then the table(s).
pub fn text(s: &Summary, opts: &RenderOpts) -> String {
    let mut out = String::new();
    let m = &s.meta;
    if m.timed {
        let _ = writeln!(
            out,
            "# time = wall-clock latency of each call, entry to exit (like strace -w); source: {}",
            m.backend
        );
    } else {
        let _ = writeln!(out, "# counts only (no latencies); source: {}", m.backend);
    }
    for (i, t) in tables(s, opts.grouping).into_iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out);
        }
        if let Some(title) = &t.title {
            let _ = writeln!(out, "== {title}");
        }
        text_table(&mut out, &t.rows, opts, m.timed);
    }
    if s.threads.is_empty() {
        let _ = writeln!(out, "(no system calls recorded)");
    }
    out
}

fn stat_json(name: &str, s: &Stat, total_ns: u64, timed: bool) -> Value {
    let mut v = json!({
        "syscall": name,
        "calls": s.calls,
        "errors": s.errors,
    });
    if timed {
        let pct = if total_ns > 0 {
            100.0 * s.total_ns as f64 / total_ns as f64
        } else {
            0.0
        };
        v["percent_time"] = json!(pct);
        v["seconds"] = json!(s.total_ns as f64 / 1e9);
        v["usecs_per_call"] = json!(s.avg_ns() as f64 / 1000.0);
        v["p50_us"] = json!(s.quantile_ns(0.5).map(|n| n as f64 / 1000.0));
        v["p99_us"] = json!(s.quantile_ns(0.99).map(|n| n as f64 / 1000.0));
        v["max_us"] = json!((s.timed > 0).then(|| s.max_ns as f64 / 1000.0));
    }
    let mut codes = serde_json::Map::new();
    for (e, n) in s.errnos_named() {
        codes.insert(e, json!(n));
    }
    v["error_codes"] = Value::Object(codes);
    v
}

/// The JSON rendering: metadata, then one object per table with its rows in sort order.
pub fn json(s: &Summary, opts: &RenderOpts) -> String {
    let m = &s.meta;
    let tables: Vec<Value> = tables(s, opts.grouping)
        .into_iter()
        .map(|t| {
            let total = Summary::merged_stats(t.rows.values());
            let rows: Vec<Value> = sorted(&t.rows, opts.sort)
                .into_iter()
                .map(|(n, st)| stat_json(n, st, total.total_ns, m.timed))
                .collect();
            let mut v = json!({
                "syscalls": rows,
                "total": stat_json("total", &total, total.total_ns, m.timed),
            });
            if let Value::Object(id) = t.json_id {
                for (k, x) in id {
                    v[k] = x;
                }
            }
            v
        })
        .collect();
    let doc = json!({
        "source": m.backend,
        "time": if m.timed { "wall-clock latency per call, entry to exit, in the kernel's clock" } else { "not measured (counts only)" },
        "target": m.target,
        "exit_status": m.exit_status,
        "stop_reason": m.stop_reason,
        "duration_s": m.duration_s,
        "lost_events": m.lost_events,
        "in_flight_not_counted": m.in_flight,
        "skipped_lines": m.skipped_lines,
        "grouping": match opts.grouping { Grouping::Total => "total", Grouping::Thread => "thread", Grouping::Process => "process" },
        "tables": tables,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

impl Summary {
    /// The total line of a table.
    pub fn merged_stats<'a>(stats: impl Iterator<Item = &'a Stat>) -> Stat {
        let mut t = Stat::default();
        for s in stats {
            t.merge(s);
        }
        t
    }
}
