//! `rprof list [FILTER]`: the events this machine can record, grouped like `perf list`.
//! Hardware, software and cache events are each probed with perf_event_open, so a VM without
//! a PMU lists no hardware events rather than events that would fail; tracepoints come from
//! tracefs.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::record::events::{self, Category, Listed};

/// Flags of `rprof list`.
#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// Show only these: a group (hw or hardware, sw or software, cache, raw, tracepoint) or a
    /// name filter, a substring or a glob such as `sched:*`.
    #[arg(value_name = "FILTER")]
    pub filter: Option<String>,
}

fn group(filter: &str) -> Option<Category> {
    Some(match filter {
        "hw" | "hardware" => Category::Hardware,
        "sw" | "software" => Category::Software,
        "cache" | "hwcache" => Category::Cache,
        "raw" => Category::Raw,
        "tracepoint" | "tracepoints" => Category::Tracepoint,
        _ => return None,
    })
}

/// The text of `rprof list`: one line per event, names joined with ` OR ` as perf does, the
/// group label in brackets; groups in perf's order.
pub fn render(all: &[Listed], filter: Option<&str>) -> String {
    let shown: Vec<&Listed> = all
        .iter()
        .filter(|l| match filter {
            None => true,
            Some(f) => match group(f) {
                Some(c) => l.category == c,
                None => l.names.iter().any(|n| events::matches_filter(n, f)),
            },
        })
        .collect();
    let mut out = String::new();
    if filter.is_none() {
        out.push_str("\nList of pre-defined events (to be used in -e):\n\n");
    }
    for cat in [
        Category::Hardware,
        Category::Software,
        Category::Cache,
        Category::Raw,
        Category::Tracepoint,
    ] {
        let mut any = false;
        for l in shown.iter().filter(|l| l.category == cat) {
            any = true;
            let names = l.names.join(" OR ");
            out.push_str(&format!("  {names:<50} [{}]\n", cat.label()));
        }
        if any {
            out.push('\n');
        }
    }
    out
}

/// What to say on stderr beside the list, if anything: on a machine without hardware events,
/// why none are listed, whenever the filter could have asked for them (no filter, the hw,
/// cache or raw group, a hardware or cache event's name such as `cycles` or `LLC`), so an
/// empty answer is never left unexplained; and that nothing matched an unknown filter.
fn note(all: &[Listed], filter: Option<&str>, nothing_shown: bool) -> Option<String> {
    let no_hw = !all.iter().any(|l| l.category == Category::Hardware);
    let asks_for_hw = match filter {
        None => true,
        Some(f) => match group(f) {
            Some(c) => matches!(c, Category::Hardware | Category::Cache | Category::Raw),
            // `cycles` or `miss` (part of a name), or `LLC-load-misses` (a name's family).
            None => events::hardware_names().any(|n| {
                events::matches_filter(n, f)
                    || (n.len() >= 3 && f.to_ascii_lowercase().contains(&n.to_ascii_lowercase()))
            }),
        },
    };
    if no_hw && asks_for_hw {
        return Some("no hardware events: this machine exposes no hardware performance counters (no CPU PMU, as in most VMs); the software events and tracepoints work".into());
    }
    match filter {
        Some(f) if nothing_shown => Some(format!(
            "no event this machine supports matches `{f}` (FILTER is hw, sw, cache, raw, tracepoint, a substring or a glob such as 'sched:*')"
        )),
        _ => None,
    }
}

/// Runs `rprof list`.
pub fn run(args: ListArgs) -> Result<ExitCode> {
    let all = events::supported();
    let filter = args.filter.as_deref();
    let text = render(&all, filter);
    if let Some(note) = note(&all, filter, text.trim().is_empty()) {
        eprintln!("rprof: note: {note}");
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("writing the event list"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(names: &[&str], category: Category) -> Listed {
        Listed {
            names: names.iter().map(|s| s.to_string()).collect(),
            category,
        }
    }

    #[test]
    fn groups_in_perfs_order_with_aliases() {
        let all = vec![
            l(&["sched:sched_switch"], Category::Tracepoint),
            l(&["context-switches", "cs"], Category::Software),
            l(&["cycles", "cpu-cycles"], Category::Hardware),
        ];
        let text = render(&all, None);
        let hw = text.find("cycles OR cpu-cycles").unwrap();
        let sw = text.find("context-switches OR cs").unwrap();
        let tp = text.find("sched:sched_switch").unwrap();
        assert!(hw < sw && sw < tp, "{text}");
        assert!(text.contains("[Software event]") && text.contains("[Tracepoint event]"));
        let only = render(&all, Some("sw"));
        assert!(only.contains("context-switches") && !only.contains("sched"));
        let glob = render(&all, Some("sched:*"));
        assert!(glob.contains("sched_switch") && !glob.contains("cycles"));
        // An alias matches too.
        assert!(render(&all, Some("cs")).contains("context-switches OR cs"));
    }

    #[test]
    fn an_empty_answer_is_explained() {
        let vm = vec![
            l(&["cpu-clock"], Category::Software),
            l(&["sched:sched_switch"], Category::Tracepoint),
        ];
        let no_pmu = |f: Option<&str>| {
            let shown = render(&vm, f);
            note(&vm, f, shown.trim().is_empty()).unwrap_or_default()
        };
        // Asking for hardware events where there are none says why nothing is listed.
        for f in [
            None,
            Some("hw"),
            Some("cache"),
            Some("raw"),
            Some("cycles"),
            Some("LLC-load-misses"),
        ] {
            assert!(
                no_pmu(f).contains("no hardware performance counters"),
                "{f:?}"
            );
        }
        // Software and tracepoint questions need no note; an unknown filter is named.
        assert_eq!(no_pmu(Some("sw")), "");
        assert_eq!(no_pmu(Some("sched:*")), "");
        assert!(no_pmu(Some("nosuch")).contains("matches `nosuch`"));
        let pmu = vec![l(&["cycles", "cpu-cycles"], Category::Hardware)];
        assert_eq!(note(&pmu, Some("hw"), false), None);
    }
}
