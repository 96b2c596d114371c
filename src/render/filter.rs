//! The one filter stage every view runs through: `report` (every format and view),
//! `flamegraph` and `diff` build a [`Filter`] from the same flags and render what it returns;
//! no renderer filters on its own.
//!
//! The stages run in one fixed order, the order of [`STAGES`]: first the samples are chosen by
//! time, process, thread, command name and module, then by the functions on their stacks
//! (focus, ignore), then the stacks are rewritten (hide, collapse recursion). Each stage sees
//! only what the earlier ones kept, and a stage that keeps nothing (or a regex that matches no
//! function at all) is named in an error, so a typo never reads as an idle program.

use std::borrow::Cow;

use anyhow::{bail, Context, Result};
use clap::Args;
use regex::Regex;
use rustc_hash::FxHashMap as HashMap;

use crate::profile::{FrameId, Profile, Sample, StackId};

/// The stages in the order they run, as documented for users (`--help`, README, man page).
pub const STAGES: &[&str] = &[
    "--time",
    "--pid",
    "--tid",
    "--comm",
    "--module",
    "--focus",
    "--ignore",
    "--hide",
    "--collapse-recursion",
];

/// The filter flags shared by `report`, `flamegraph` and `diff` (`--pid` is separate: on
/// `flamegraph` `-p/--pid` also names a process to record).
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Keep only samples with a function matching REGEX anywhere on the stack (pprof's -focus).
    /// The filters run in this order: time, pid, tid, comm, module, focus, ignore, hide,
    /// collapse-recursion.
    #[arg(long, value_name = "REGEX", help_heading = "Filters")]
    pub focus: Option<String>,
    /// Drop samples with a function matching REGEX anywhere on the stack (pprof's -ignore).
    #[arg(long, value_name = "REGEX", help_heading = "Filters")]
    pub ignore: Option<String>,
    /// Remove frames whose function matches REGEX from the stacks, keeping the samples (their
    /// weight moves to the caller; pprof's -hide). A sample left with no frame is dropped.
    #[arg(long, value_name = "REGEX", help_heading = "Filters")]
    pub hide: Option<String>,
    /// Only samples of these threads (comma-separated tids).
    #[arg(
        long = "tid",
        value_delimiter = ',',
        value_name = "TID",
        help_heading = "Filters"
    )]
    pub tid: Vec<u32>,
    /// Only samples of threads or processes with one of these command names (comma-separated,
    /// exact, as perf's --comms).
    #[arg(
        long = "comm",
        value_delimiter = ',',
        value_name = "NAME",
        help_heading = "Filters"
    )]
    pub comm: Vec<String>,
    /// Only samples whose innermost frame is in a module (executable or library) whose path or
    /// file name matches REGEX (as perf's --dsos).
    #[arg(long = "module", value_name = "REGEX", help_heading = "Filters")]
    pub module: Option<String>,
    /// Merge directly recursive calls of a function into one frame.
    #[arg(long = "collapse-recursion", help_heading = "Filters")]
    pub collapse_recursion: bool,
    /// Only samples taken FROM..TO seconds after the start of the recording (either end may be
    /// left out: `2..`, `..0.5`); needs an input with timestamps (rprof data, perf.data, perf
    /// script).
    #[arg(long = "time", value_name = "FROM..TO", help_heading = "Filters")]
    pub time: Option<String>,
}

/// `--pid` as a filter, for `report` and `diff`.
#[derive(Args, Debug, Clone, Default)]
pub struct PidFilterArgs {
    /// Only samples of these processes (comma-separated pids).
    #[arg(
        long = "pid",
        value_delimiter = ',',
        value_name = "PID",
        help_heading = "Filters"
    )]
    pub pid: Vec<u32>,
}

/// Which samples and frames to keep.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Keep only samples taken in `[from, to)` nanoseconds after the start.
    pub time: Option<(u64, Option<u64>)>,
    /// The `--time` text, for messages and the header.
    pub time_text: String,
    /// Keep only samples of these process ids (empty: all).
    pub pids: Vec<u32>,
    /// Keep only samples of these thread ids (empty: all).
    pub tids: Vec<u32>,
    /// Keep only samples of threads or processes with these names (empty: all).
    pub comms: Vec<String>,
    /// Keep only samples whose innermost frame's module matches.
    pub module: Option<Regex>,
    /// Keep only samples with a frame whose function matches.
    pub focus: Option<Regex>,
    /// Drop samples with a frame whose function matches.
    pub ignore: Option<Regex>,
    /// Remove matching frames from stacks.
    pub hide: Option<Regex>,
    /// Merge directly recursive calls of the same function into one frame.
    pub collapse_recursion: bool,
}

/// The result of [`Filter::apply_counted`]: the filtered profile and what matched nothing.
pub struct Filtered<'a> {
    /// The profile the views render.
    pub profile: Cow<'a, Profile>,
    /// One sentence per filter that matched nothing in the input (`--focus 'x' matches no
    /// sample`), in stage order; empty when every filter matched something.
    pub unmatched: Vec<String>,
}

fn regex(s: Option<&str>, flag: &str) -> Result<Option<Regex>> {
    s.map(|s| Regex::new(s).with_context(|| format!("invalid {flag} regex '{s}'")))
        .transpose()
}

/// Parses `FROM..TO` seconds (either side optional) into nanoseconds.
pub fn parse_time_range(s: &str) -> Result<(u64, Option<u64>)> {
    let (a, b) = s.split_once("..").with_context(|| {
        format!("invalid --time '{s}': expected FROM..TO in seconds (`1.5..3`, `2..`, `..0.5`)")
    })?;
    let secs = |t: &str, what: &str| -> Result<Option<u64>> {
        let t = t.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let v: f64 = t
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .with_context(|| {
                format!("invalid --time '{s}': {what} '{t}' is not a number of seconds >= 0")
            })?;
        Ok(Some((v * 1e9).round() as u64))
    };
    let from = secs(a, "FROM")?.unwrap_or(0);
    let to = secs(b, "TO")?;
    if let Some(to) = to {
        if to <= from {
            bail!("invalid --time '{s}': TO must be after FROM");
        }
    }
    Ok((from, to))
}

impl Filter {
    /// Builds a filter from the older flag set (threads, focus, ignore, recursion).
    pub fn new(
        tids: &[u32],
        focus: Option<&str>,
        ignore: Option<&str>,
        collapse_recursion: bool,
    ) -> Result<Self> {
        Ok(Filter {
            tids: tids.to_vec(),
            focus: regex(focus, "--focus")?,
            ignore: regex(ignore, "--ignore")?,
            collapse_recursion,
            ..Filter::default()
        })
    }

    /// Builds the filter from the shared flags and the pids to keep, reporting bad regexes and
    /// ranges clearly.
    pub fn from_args(a: &FilterArgs, pids: &[u32]) -> Result<Self> {
        let time = a.time.as_deref().map(parse_time_range).transpose()?;
        Ok(Filter {
            time,
            time_text: a.time.clone().unwrap_or_default(),
            pids: pids.to_vec(),
            tids: a.tid.clone(),
            comms: a.comm.clone(),
            module: regex(a.module.as_deref(), "--module")?,
            focus: regex(a.focus.as_deref(), "--focus")?,
            ignore: regex(a.ignore.as_deref(), "--ignore")?,
            hide: regex(a.hide.as_deref(), "--hide")?,
            collapse_recursion: a.collapse_recursion,
        })
    }

    /// True when the filter changes nothing.
    pub fn is_noop(&self) -> bool {
        self.time.is_none()
            && self.pids.is_empty()
            && self.tids.is_empty()
            && self.comms.is_empty()
            && self.module.is_none()
            && self.focus.is_none()
            && self.ignore.is_none()
            && self.hide.is_none()
            && !self.collapse_recursion
    }

    /// The filters in effect, in stage order, as flags (`--focus 'parse'`), for headers,
    /// subtitles and JSON.
    pub fn describe(&self) -> Vec<String> {
        let list = |v: &[u32]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut out = Vec::new();
        if self.time.is_some() {
            out.push(format!("--time {}", self.time_text));
        }
        if !self.pids.is_empty() {
            out.push(format!("--pid {}", list(&self.pids)));
        }
        if !self.tids.is_empty() {
            out.push(format!("--tid {}", list(&self.tids)));
        }
        if !self.comms.is_empty() {
            out.push(format!("--comm {}", self.comms.join(",")));
        }
        for (flag, re) in [
            ("--module", &self.module),
            ("--focus", &self.focus),
            ("--ignore", &self.ignore),
            ("--hide", &self.hide),
        ] {
            if let Some(re) = re {
                out.push(format!("{flag} '{}'", re.as_str()));
            }
        }
        if self.collapse_recursion {
            out.push("--collapse-recursion".into());
        }
        out
    }

    /// The requested tids of which `p` has no sample, in the order given: a filter on them
    /// would print an empty table that looks like an idle thread.
    pub fn unknown_tids(&self, p: &Profile) -> Vec<u32> {
        unknown(
            &self.tids,
            sampled(p, |p, s| p.threads[s.thread.0 as usize].tid.0),
        )
    }

    /// The requested pids of which `p` has no sample, in the order given.
    pub fn unknown_pids(&self, p: &Profile) -> Vec<u32> {
        unknown(
            &self.pids,
            sampled(p, |p, s| p.threads[s.thread.0 as usize].pid.0),
        )
    }

    /// Warns (on stderr) about every `--tid` and `--pid` with no sample in `p`, naming those
    /// that have some; returns true when there was one, so the command can exit non-zero.
    pub fn warn_unknown_tids(&self, p: &Profile, source: &str) -> bool {
        let mut any = false;
        for (what, unknown, present) in [
            (
                "tid",
                self.unknown_tids(p),
                sampled(p, |p, s| p.threads[s.thread.0 as usize].tid.0),
            ),
            (
                "pid",
                self.unknown_pids(p),
                sampled(p, |p, s| p.threads[s.thread.0 as usize].pid.0),
            ),
        ] {
            if unknown.is_empty() {
                continue;
            }
            any = true;
            let mut present = present;
            let more = present.len().saturating_sub(10);
            present.truncate(10);
            let list = |v: &[u32]| {
                v.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            eprintln!(
                "rprof: warning: no sample of {what} {} in {source} ({what}s with samples: {}{})",
                list(&unknown),
                list(&present),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
        any
    }

    /// Applies the filter; borrows the input unchanged when there is nothing to filter, since
    /// copying a large profile costs more than rendering it.
    pub fn apply<'a>(&self, p: &'a Profile) -> Cow<'a, Profile> {
        self.apply_counted(p).profile
    }

    /// The one filter stage for a command with one input: applies the filter, and fails naming
    /// the first filter that matched nothing in `source`. Unknown `--tid`/`--pid` values beside
    /// known ones are warned about; the returned flag says so, for a non-zero exit.
    pub fn run<'a>(&self, p: &'a Profile, source: &str) -> Result<(Cow<'a, Profile>, bool)> {
        self.check_time(p, source)?;
        let unknown_ids = self.warn_unknown_tids(p, source);
        let f = self.apply_counted(p);
        if let Some(first) = f.unmatched.first() {
            bail!("{source}: {first}; nothing to show");
        }
        Ok((f.profile, unknown_ids))
    }

    /// Refuses `--time` on an input without timestamps, naming it.
    pub fn check_time(&self, p: &Profile, source: &str) -> Result<()> {
        if self.time.is_some() && !p.samples.is_empty() && !p.has_timestamps() {
            bail!(
                "--time {}: {source} has no timestamps (folded stacks, pprof and massif carry none; use an rprof data file, perf.data or perf script text)",
                self.time_text
            );
        }
        Ok(())
    }

    /// Applies the stages in order, counting what each keeps, so that a filter that matched
    /// nothing can be named.
    pub fn apply_counted<'a>(&self, p: &'a Profile) -> Filtered<'a> {
        if self.is_noop() {
            return Filtered {
                profile: Cow::Borrowed(p),
                unmatched: Vec::new(),
            };
        }
        // Samples reaching each stage (index into STAGES) and kept by it.
        let mut reached = [0u64; 9];
        let mut kept = [0u64; 9];
        // Whether --ignore / --hide matched any function of the samples reaching them: a regex
        // that matches nothing there is as likely a typo as a --focus that keeps nothing.
        let mut ignore_hit = false;
        let mut hide_hit = false;
        let name_match = |re: &Regex, f: &FrameId| re.is_match(p.function_name(*f));
        let comm_ok = |s: &Sample| {
            let th = &p.threads[s.thread.0 as usize];
            let tname = p.str(th.name);
            self.comms.iter().any(|c| c == tname)
                || p.processes
                    .iter()
                    .find(|pr| pr.pid == th.pid)
                    .is_some_and(|pr| self.comms.iter().any(|c| c == p.str(pr.name)))
        };
        // Stack decisions are per distinct stack: the stage at which it is dropped (None: kept).
        let mut stack_verdict: HashMap<Option<StackId>, Option<usize>> = HashMap::default();
        let stack_stage = |stack: Option<StackId>, ignore_hit: &mut bool| -> Option<usize> {
            let frames: Vec<FrameId> = p.stack_frames(stack).collect();
            if let Some(re) = &self.module {
                let leaf_ok = frames.first().is_some_and(|f| {
                    let m = p.module_name(*f);
                    !m.is_empty()
                        && (re.is_match(m) || re.is_match(m.rsplit('/').next().unwrap_or(m)))
                });
                if !leaf_ok {
                    return Some(4);
                }
            }
            if let Some(re) = &self.focus {
                if !frames.iter().any(|f| name_match(re, f)) {
                    return Some(5);
                }
            }
            if let Some(re) = &self.ignore {
                if frames.iter().any(|f| name_match(re, f)) {
                    *ignore_hit = true;
                    return Some(6);
                }
            }
            None
        };
        let out = p.filtered(
            |s| {
                // Counted as the report counts samples (a folded line of count 5 is 5).
                let c = crate::render::report::sample_count(p, s);
                let mut stage = 0;
                let mut pass = |ok: bool, stage: &mut usize, reached: &mut [u64; 9]| {
                    reached[*stage] += c;
                    if ok {
                        kept[*stage] += c;
                    }
                    *stage += 1;
                    ok
                };
                let th = &p.threads[s.thread.0 as usize];
                let time_ok = match (self.time, s.time) {
                    (None, _) => true,
                    (Some((from, to)), Some(t)) => t >= from && to.is_none_or(|to| t < to),
                    (Some(_), None) => false,
                };
                if !pass(time_ok, &mut stage, &mut reached)
                    || !pass(
                        self.pids.is_empty() || self.pids.contains(&th.pid.0),
                        &mut stage,
                        &mut reached,
                    )
                    || !pass(
                        self.tids.is_empty() || self.tids.contains(&th.tid.0),
                        &mut stage,
                        &mut reached,
                    )
                    || !pass(
                        self.comms.is_empty() || comm_ok(s),
                        &mut stage,
                        &mut reached,
                    )
                {
                    return false;
                }
                let verdict = *stack_verdict
                    .entry(s.stack)
                    .or_insert_with(|| stack_stage(s.stack, &mut ignore_hit));
                // Stages 4..=6 are per stack: every one before the verdict kept the sample.
                let last = verdict.unwrap_or(7);
                for st in 4..last.min(7) {
                    reached[st] += c;
                    kept[st] += c;
                }
                if let Some(st) = verdict {
                    reached[st] += c;
                    return false;
                }
                reached[7] += c;
                true
            },
            |p, frames: Vec<FrameId>| {
                let mut frames = frames;
                if let Some(re) = &self.hide {
                    let before = frames.len();
                    frames.retain(|f| !re.is_match(p.function_name(*f)));
                    if frames.len() != before {
                        hide_hit = true;
                    }
                    if frames.is_empty() {
                        return None;
                    }
                }
                if self.collapse_recursion {
                    let mut out: Vec<FrameId> = Vec::with_capacity(frames.len());
                    for f in frames {
                        if out
                            .last()
                            .is_some_and(|l| p.function_name(*l) == p.function_name(f))
                        {
                            continue;
                        }
                        out.push(f);
                    }
                    return Some(out);
                }
                Some(frames)
            },
        );
        let mut unmatched = Vec::new();
        let described = |i: usize| -> String {
            match i {
                0 => format!("--time {}", self.time_text),
                1 => format!(
                    "--pid {}",
                    self.pids
                        .iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                2 => format!(
                    "--tid {}",
                    self.tids
                        .iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                3 => format!("--comm {}", self.comms.join(",")),
                4 => format!(
                    "--module '{}'",
                    self.module.as_ref().map_or("", |r| r.as_str())
                ),
                _ => format!(
                    "--focus '{}'",
                    self.focus.as_ref().map_or("", |r| r.as_str())
                ),
            }
        };
        let active = [
            self.time.is_some(),
            !self.pids.is_empty(),
            !self.tids.is_empty(),
            !self.comms.is_empty(),
            self.module.is_some(),
            self.focus.is_some(),
        ];
        for (i, on) in active.iter().enumerate() {
            if *on && reached[i] > 0 && kept[i] == 0 {
                // Name what the filter saw: every sample, or what the filters before it left.
                let n = crate::render::thousands(reached[i]);
                let after = if active[..i].iter().any(|a| *a) {
                    format!(" (of the {n} the earlier filters kept)")
                } else {
                    format!(" (of {n} samples)")
                };
                unmatched.push(format!("{} matches no sample{after}", described(i)));
            }
        }
        if let Some(re) = &self.ignore {
            if reached[6] > 0 && !ignore_hit {
                unmatched.push(format!("--ignore '{}' matches no function", re.as_str()));
            }
        }
        if let Some(re) = &self.hide {
            if reached[7] > 0 && !hide_hit {
                unmatched.push(format!("--hide '{}' matches no function", re.as_str()));
            }
        }
        if unmatched.is_empty() && !p.samples.is_empty() && out.samples.is_empty() {
            unmatched.push(format!(
                "the filters ({}) leave no sample",
                self.describe().join(" ")
            ));
        }
        Filtered {
            profile: Cow::Owned(out),
            unmatched,
        }
    }
}

fn unknown(asked: &[u32], present: Vec<u32>) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for t in asked {
        if present.binary_search(t).is_err() && !out.contains(t) {
            out.push(*t);
        }
    }
    out
}

/// The ids (`key` of each sample) that have samples in `p`, sorted, each once.
fn sampled(p: &Profile, key: impl Fn(&Profile, &Sample) -> u32) -> Vec<u32> {
    let set: std::collections::BTreeSet<u32> = p.samples.iter().map(|s| key(p, s)).collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{folded, Pid, Tid};

    #[test]
    fn focus_ignore_and_recursion() {
        let p = folded::parse("main;f;f;f;g 3\nmain;h 2\n").expect("parse");
        let f = Filter::new(&[], Some("^g$"), None, true).expect("filter");
        let q = f.apply(&p);
        let lines = folded::fold(&q, &Default::default());
        assert_eq!(lines, vec![("main;f;g".to_string(), 3)]);
        let f = Filter::new(&[], None, Some("^f$"), false).expect("filter");
        let lines = folded::fold(&f.apply(&p), &Default::default());
        assert_eq!(lines, vec![("main;h".to_string(), 2)]);
    }

    #[test]
    fn unknown_tids_are_named() {
        let mut p = Profile::new();
        let a = p.add_thread(Pid(5), Tid(5), "main");
        p.add_thread(Pid(5), Tid(6), "idle");
        p.add_sample(Sample {
            stack: None,
            thread: a,
            weight: 1,
            count: 1,
            time: None,
        });
        let f = Filter::new(&[5, 6, 7, 7], None, None, false).expect("filter");
        // Tid 6 is known but has no sample: as empty a table as an unknown one.
        assert_eq!(f.unknown_tids(&p), vec![6, 7]);
        assert!(Filter::new(&[5], None, None, false)
            .expect("filter")
            .unknown_tids(&p)
            .is_empty());
    }

    fn args() -> FilterArgs {
        FilterArgs::default()
    }

    #[test]
    fn hide_keeps_the_samples_and_drops_empty_ones() {
        let p = folded::parse("main;lock;work 3\nmain;work 2\nlock 1\n").expect("parse");
        let a = FilterArgs {
            hide: Some("^lock$".into()),
            ..args()
        };
        let f = Filter::from_args(&a, &[]).expect("filter");
        let r = f.apply_counted(&p);
        assert!(r.unmatched.is_empty());
        let lines = folded::fold(&r.profile, &Default::default());
        assert_eq!(lines, vec![("main;work".to_string(), 5)]);
    }

    #[test]
    fn a_filter_matching_nothing_is_named_in_stage_order() {
        let p = folded::parse("main;a 3\nmain;b 2\n").expect("parse");
        let a = FilterArgs {
            focus: Some("^zzz$".into()),
            ignore: Some("^nothing$".into()),
            ..args()
        };
        let f = Filter::from_args(&a, &[]).expect("filter");
        let r = f.apply_counted(&p);
        assert_eq!(
            r.unmatched,
            vec!["--focus '^zzz$' matches no sample (of 5 samples)"]
        );
        let a = FilterArgs {
            ignore: Some("^nothing$".into()),
            ..args()
        };
        let r = Filter::from_args(&a, &[])
            .expect("filter")
            .apply_counted(&p);
        assert_eq!(
            r.unmatched,
            vec!["--ignore '^nothing$' matches no function"]
        );
        assert!(Filter::from_args(&a, &[])
            .expect("filter")
            .run(&p, "x.folded")
            .is_err());
    }

    #[test]
    fn time_ranges_parse_and_select() {
        assert_eq!(
            parse_time_range("1.5..3").expect("r"),
            (1_500_000_000, Some(3_000_000_000))
        );
        assert_eq!(parse_time_range("2..").expect("r"), (2_000_000_000, None));
        assert_eq!(
            parse_time_range("..0.5").expect("r"),
            (0, Some(500_000_000))
        );
        for bad in ["1", "a..2", "3..1", "-1..2", "nan.."] {
            assert!(parse_time_range(bad).is_err(), "{bad}");
        }
        let mut p = Profile::new();
        let th = p.add_thread(Pid(1), Tid(1), "x");
        let f = p.add_named_frame("f");
        let st = p.add_stack_frames(&[f]);
        for t in 0..10u64 {
            p.add_sample(Sample {
                stack: st,
                thread: th,
                weight: 1,
                count: 1,
                time: Some(t * 100_000_000),
            });
        }
        let a = FilterArgs {
            time: Some("0.2..0.5".into()),
            ..args()
        };
        let q = Filter::from_args(&a, &[])
            .expect("filter")
            .apply(&p)
            .into_owned();
        assert_eq!(q.samples.len(), 3);
        let folded_only = folded::parse("f 1\n").expect("parse");
        assert!(Filter::from_args(&a, &[])
            .expect("filter")
            .check_time(&folded_only, "x.folded")
            .is_err());
    }

    #[test]
    fn module_and_comm_select_samples() {
        let mut p = Profile::new();
        let libc = p.add_module("/lib/x86_64-linux-gnu/libc.so.6", vec![]);
        let prog = p.add_module("/usr/bin/prog", vec![]);
        let fr = |p: &mut Profile, name: &str, m| {
            let mut f = crate::profile::Frame::named(p.intern(name));
            f.module = Some(m);
            p.add_frame(f)
        };
        let main = fr(&mut p, "main", prog);
        let memcpy = fr(&mut p, "memcpy", libc);
        let t1 = p.add_thread(Pid(1), Tid(1), "prog");
        let t2 = p.add_thread(Pid(1), Tid(2), "worker");
        let s1 = p.add_stack_frames(&[main, memcpy]);
        let s2 = p.add_stack_frames(&[main]);
        for (stack, thread) in [(s1, t1), (s2, t1), (s2, t2)] {
            p.add_sample(Sample {
                stack,
                thread,
                weight: 1,
                count: 1,
                time: None,
            });
        }
        let keep = |a: FilterArgs| {
            Filter::from_args(&a, &[])
                .expect("f")
                .apply(&p)
                .samples
                .len()
        };
        assert_eq!(
            keep(FilterArgs {
                module: Some("^libc\\.so".into()),
                ..args()
            }),
            1
        );
        assert_eq!(
            keep(FilterArgs {
                comm: vec!["worker".into()],
                ..args()
            }),
            1
        );
        assert_eq!(
            Filter::from_args(&args(), &[1])
                .expect("f")
                .apply(&p)
                .samples
                .len(),
            3
        );
    }
}
