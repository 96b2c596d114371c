//! Folded stacks (`outer;middle;inner COUNT`, one stack per line) in and out.
//!
//! Two conventions carry what a name alone cannot, both read back as written: an inlined
//! frame ends in `_[i]` (as inferno's and FlameGraph's collapsers write it), and a frame with
//! no symbol is `[unknown] (MODULE)` (just `[unknown]` when the module is unknown too).

use rustc_hash::FxHashMap as HashMap;

use thiserror::Error;

use super::{Frame, FrameId, Pid, Profile, Sample, StackId, Tid};

/// The function name of a frame without a symbol, in every format.
pub const UNKNOWN: &str = "[unknown]";

/// The suffix of an inlined frame in folded text.
pub const INLINED_MARK: &str = "_[i]";

/// A malformed folded line.
#[derive(Debug, Error)]
#[error("line {line}: {msg}")]
pub struct FoldedError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub msg: String,
}

/// Splits `stack COUNT` at the last space; returns the stack text and the count.
pub fn split_line(line: &str) -> Result<(&str, u64), String> {
    let line = line.trim_end();
    let Some(sp) = line.rfind([' ', '\t']) else {
        return Err("no sample count (expected `frame;frame COUNT`)".into());
    };
    let (stack, count) = (line[..sp].trim_end(), &line[sp + 1..]);
    if count.starts_with('-') {
        return Err(format!("negative sample count `{}`", short(count)));
    }
    let n: u64 = count
        .parse()
        .map_err(|_| format!("sample count `{}` is not a whole number", short(count)))?;
    if stack.is_empty() {
        return Err("empty stack before the count".into());
    }
    Ok((stack, n))
}

fn short(s: &str) -> String {
    if s.len() > 40 {
        let mut end = 40;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s.to_string()
    }
}

/// Parses folded text into a profile with one sample per distinct line, weighted by its count,
/// all on one anonymous thread.
pub fn parse(text: &str) -> Result<Profile, FoldedError> {
    let mut p = Profile::new();
    let thread = p.add_thread(Pid(0), Tid(0), "");
    // Cache frame ids by name: most lines repeat the same outer frames.
    let mut frames: HashMap<&str, FrameId> = HashMap::default();
    // Real inputs repeat whole stacks (one line per sample from some tools): resolve each
    // distinct stack text once.
    let mut stacks: HashMap<&str, Option<super::StackId>> = HashMap::default();
    let mut ids: Vec<FrameId> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (stack, count) = split_line(line).map_err(|msg| FoldedError { line: i + 1, msg })?;
        if let Some(st) = stacks.get(stack) {
            p.add_sample(Sample {
                stack: *st,
                thread,
                weight: count,
                count: 1,
                time: None,
            });
            continue;
        }
        ids.clear();
        for name in stack.split(';') {
            let id = match frames.get(name) {
                Some(id) => *id,
                None => {
                    let id = folded_frame(&mut p, name);
                    frames.insert(name, id);
                    id
                }
            };
            ids.push(id);
        }
        let st = p.add_stack_frames(&ids);
        stacks.insert(stack, st);
        p.add_sample(Sample {
            stack: st,
            thread,
            weight: count,
            count: 1,
            time: None,
        });
    }
    Ok(p)
}

/// The frame a folded name stands for: `_[i]` marks it inlined, `[unknown] (MODULE)` is a
/// frame without symbol in MODULE.
fn folded_frame(p: &mut Profile, name: &str) -> FrameId {
    let (name, inlined) = match name.strip_suffix(INLINED_MARK) {
        Some(n) if !n.is_empty() => (n, true),
        _ => (name, false),
    };
    let unknown_in = name
        .strip_prefix(UNKNOWN)
        .and_then(|r| r.strip_prefix(" ("))
        .and_then(|r| r.strip_suffix(')'))
        .filter(|m| !m.is_empty());
    let mut f = match unknown_in {
        Some(m) => {
            let mut f = Frame::named(p.intern(UNKNOWN));
            f.module = Some(p.add_module(m, Vec::new()));
            f
        }
        None => Frame::named(p.intern(name)),
    };
    f.inlined = inlined;
    p.add_frame(f)
}

/// Options for writing folded stacks.
#[derive(Clone, Debug, Default)]
pub struct FoldOptions {
    /// Put the thread (`name-tid`) as the outermost frame.
    pub per_thread: bool,
    /// Keep samples in time order, merging only consecutive equal stacks (flame chart input).
    pub time_order: bool,
    /// Append `_[k]` to kernel frames, as inferno's palettes expect. (Inlined frames always
    /// get `_[i]`: without it they read back as ordinary calls.)
    pub annotate: bool,
}

/// Folds the profile into `(stack text, weight)` lines, sorted by stack text unless time order
/// is asked for.
pub fn fold(p: &Profile, opt: &FoldOptions) -> Vec<(String, u64)> {
    let mut text_of: HashMap<Option<StackId>, String> = HashMap::default();
    let mut label = |p: &Profile, s: &Sample| -> String {
        let base = text_of
            .entry(s.stack)
            .or_insert_with(|| stack_text(p, s.stack, opt.annotate))
            .clone();
        if opt.per_thread {
            let t = p.thread_label(s.thread);
            if base.is_empty() {
                t
            } else {
                format!("{t};{base}")
            }
        } else {
            base
        }
    };
    if opt.time_order {
        let mut order: Vec<&Sample> = p.samples.iter().collect();
        order.sort_by_key(|s| s.time.unwrap_or(0));
        let mut out: Vec<(String, u64)> = Vec::new();
        for s in order {
            let l = label(p, s);
            if l.is_empty() {
                continue;
            }
            match out.last_mut() {
                Some((last, w)) if *last == l => *w += s.weight,
                _ => out.push((l, s.weight)),
            }
        }
        return out;
    }
    // Aggregate by (thread?, stack) ids first: far cheaper than hashing the text per sample.
    let mut agg: HashMap<(Option<StackId>, u32), u64> = HashMap::default();
    for s in &p.samples {
        let t = if opt.per_thread { s.thread.0 } else { 0 };
        *agg.entry((s.stack, t)).or_insert(0) += s.weight;
    }
    let mut merged: HashMap<String, u64> =
        HashMap::with_capacity_and_hasher(agg.len(), Default::default());
    for ((stack, t), w) in agg {
        let s = Sample {
            stack,
            thread: super::ThreadIdx(t),
            weight: w,
            count: 1,
            time: None,
        };
        let l = label(p, &s);
        if l.is_empty() || w == 0 {
            continue;
        }
        *merged.entry(l).or_insert(0) += w;
    }
    let mut out: Vec<(String, u64)> = merged.into_iter().collect();
    out.sort_unstable();
    out
}

/// The `;`-joined text of a stack, outermost first.
pub fn stack_text(p: &Profile, stack: Option<StackId>, annotate: bool) -> String {
    let frames = p.stack_frames_root_first(stack);
    let mut s = String::new();
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        let fr = p.frame(*f);
        // `;` separates frames, so a name containing one would split; newlines would break lines.
        let name = p.str(fr.function);
        if name.contains([';', '\n']) {
            s.push_str(&name.replace([';', '\n'], ":"));
        } else {
            s.push_str(name);
        }
        if name == UNKNOWN {
            let m = p.module_name(*f);
            let short = m.rsplit('/').next().unwrap_or(m);
            if !short.is_empty() {
                s.push_str(" (");
                s.push_str(&short.replace([';', '\n'], ":"));
                s.push(')');
            }
        }
        if fr.inlined {
            s.push_str(INLINED_MARK);
        } else if annotate && fr.kernel {
            s.push_str("_[k]");
        }
    }
    s
}

/// Renders folded lines as text.
pub fn to_text(lines: &[(String, u64)]) -> String {
    let mut out = String::with_capacity(lines.iter().map(|(s, _)| s.len() + 12).sum());
    for (s, w) in lines {
        out.push_str(s);
        out.push(' ');
        out.push_str(&w.to_string());
        out.push('\n');
    }
    out
}

/// Many text lines in one buffer: one allocation instead of one per line, for the hundreds of
/// thousands of lines handed to the flame graph renderer.
#[derive(Clone, Debug, Default)]
pub struct LineBuf {
    buf: String,
    ends: Vec<usize>,
}

impl LineBuf {
    /// An empty buffer with room for `lines` lines of `bytes` bytes in all.
    pub fn with_capacity(lines: usize, bytes: usize) -> Self {
        LineBuf {
            buf: String::with_capacity(bytes),
            ends: Vec::with_capacity(lines),
        }
    }

    /// Appends a line: `parts` written one after the other.
    pub fn push(&mut self, parts: std::fmt::Arguments<'_>) {
        use std::fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = self.buf.write_fmt(parts);
        self.ends.push(self.buf.len());
    }

    /// Appends a line `text COUNT`.
    pub fn push_counted(&mut self, text: &str, count: u64) {
        self.buf.push_str(text);
        self.push(format_args!(" {count}"));
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are no lines.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The lines, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let l = &self.buf[start..end];
            start = end;
            l
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_folds_back() {
        let p = parse("a;b;c 3\na;b 2\n\na;b;c 1\n").expect("parses");
        let lines = fold(&p, &FoldOptions::default());
        assert_eq!(
            lines,
            vec![("a;b".to_string(), 2), ("a;b;c".to_string(), 4)]
        );
    }

    #[test]
    fn inlined_and_unknown_frames_read_back_as_written() {
        let text = "main;[unknown] (libc.so.6);helper_[i] 3\nmain;[unknown] 1\n";
        let p = parse(text).expect("parses");
        let s = p.samples[0].stack;
        let fs = p.stack_frames_root_first(s);
        assert!(p.frame(fs[2]).inlined);
        assert_eq!(p.function_name(fs[2]), "helper");
        assert_eq!(p.function_name(fs[1]), UNKNOWN);
        assert_eq!(p.module_name(fs[1]), "libc.so.6");
        let back = to_text(&fold(&p, &FoldOptions::default()));
        assert_eq!(
            back,
            "main;[unknown] 1\nmain;[unknown] (libc.so.6);helper_[i] 3\n"
        );
    }

    #[test]
    fn rejects_bad_counts() {
        assert!(parse("a;b\n").is_err());
        assert!(parse("a;b -3\n").is_err());
        assert!(parse("a;b 1.5\n").is_err());
        let e = parse("x 1\ny z\n").err().map(|e| e.line);
        assert_eq!(e, Some(2));
    }
}
