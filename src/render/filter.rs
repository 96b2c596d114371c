//! Filters applied to a profile before rendering: thread, focus, ignore, recursion.

use std::borrow::Cow;

use anyhow::{Context, Result};
use regex::Regex;

use crate::profile::{FrameId, Profile};

/// Which samples and frames to keep.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Keep only samples of these thread ids (empty: all).
    pub tids: Vec<u32>,
    /// Keep only samples with a frame whose function matches.
    pub focus: Option<Regex>,
    /// Drop samples with a frame whose function matches.
    pub ignore: Option<Regex>,
    /// Merge directly recursive calls of the same function into one frame.
    pub collapse_recursion: bool,
}

impl Filter {
    /// Builds a filter from the command-line strings, reporting bad regexes clearly.
    pub fn new(
        tids: &[u32],
        focus: Option<&str>,
        ignore: Option<&str>,
        collapse_recursion: bool,
    ) -> Result<Self> {
        let re = |s: Option<&str>, flag: &str| -> Result<Option<Regex>> {
            s.map(|s| Regex::new(s).with_context(|| format!("invalid {flag} regex '{s}'")))
                .transpose()
        };
        Ok(Filter {
            tids: tids.to_vec(),
            focus: re(focus, "--focus")?,
            ignore: re(ignore, "--ignore")?,
            collapse_recursion,
        })
    }

    /// True when the filter changes nothing.
    pub fn is_noop(&self) -> bool {
        self.tids.is_empty()
            && self.focus.is_none()
            && self.ignore.is_none()
            && !self.collapse_recursion
    }

    /// The requested tids of which `p` has no sample, in the order given: a filter on them
    /// would print an empty table that looks like an idle thread.
    pub fn unknown_tids(&self, p: &Profile) -> Vec<u32> {
        if self.tids.is_empty() {
            return Vec::new();
        }
        let present = sampled_tids(p);
        let mut out: Vec<u32> = Vec::new();
        for t in &self.tids {
            if present.binary_search(t).is_err() && !out.contains(t) {
                out.push(*t);
            }
        }
        out
    }

    /// Warns (on stderr) about every `--tid` with no sample in `p`, naming the tids that have
    /// some; returns true when there was one, so the command can exit non-zero.
    pub fn warn_unknown_tids(&self, p: &Profile, source: &str) -> bool {
        let unknown = self.unknown_tids(p);
        if unknown.is_empty() {
            return false;
        }
        let mut present = sampled_tids(p);
        let more = present.len().saturating_sub(10);
        present.truncate(10);
        let list = |v: &[u32]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        eprintln!(
            "rprof: warning: no sample of tid {} in {source} (tids with samples: {}{})",
            list(&unknown),
            list(&present),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
        true
    }

    /// Applies the filter; borrows the input unchanged when there is nothing to filter, since
    /// copying a large profile costs more than rendering it.
    pub fn apply<'a>(&self, p: &'a Profile) -> Cow<'a, Profile> {
        if self.is_noop() {
            return Cow::Borrowed(p);
        }
        let tids = &self.tids;
        Cow::Owned(p.filtered(
            |s| tids.is_empty() || tids.contains(&p.threads[s.thread.0 as usize].tid.0),
            |p, frames: Vec<FrameId>| {
                let name = |f: &FrameId| p.function_name(*f);
                if let Some(re) = &self.focus {
                    if !frames.iter().any(|f| re.is_match(name(f))) {
                        return None;
                    }
                }
                if let Some(re) = &self.ignore {
                    if frames.iter().any(|f| re.is_match(name(f))) {
                        return None;
                    }
                }
                if self.collapse_recursion {
                    let mut out: Vec<FrameId> = Vec::with_capacity(frames.len());
                    for f in frames {
                        if out.last().is_some_and(|l| name(l) == name(&f)) {
                            continue;
                        }
                        out.push(f);
                    }
                    return Some(out);
                }
                Some(frames)
            },
        ))
    }
}

/// The tids that have samples in `p`, sorted, each once.
fn sampled_tids(p: &Profile) -> Vec<u32> {
    let set: std::collections::BTreeSet<u32> = p
        .samples
        .iter()
        .map(|s| p.threads[s.thread.0 as usize].tid.0)
        .collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::folded;

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
        use crate::profile::{Pid, Sample, Tid};
        let mut p = Profile::new();
        let a = p.add_thread(Pid(5), Tid(5), "main");
        p.add_thread(Pid(5), Tid(6), "idle");
        p.add_sample(Sample {
            stack: None,
            thread: a,
            weight: 1,
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
}
