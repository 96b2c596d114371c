//! Source listing (`report --list REGEX`, pprof's `-list`, perf annotate at line level): for
//! each function whose name matches, its source lines with the Self and Total weight of each.
//!
//! Lines come from the frames' file:line (DWARF line tables, read when recording; `perf
//! script -F +srcline`; pprof's lines). An inlined function is a frame of its own, so its code
//! is attributed to its own lines in its own file, and the line of the caller that it was
//! inlined at gets the Total. The text is read from the file the debug info names, when it
//! exists on this machine; otherwise the lines and weights are listed without text, with the
//! reason.

use std::fmt::Write as _;
use std::io::Read;

use regex::Regex;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::profile::{Profile, StackId};

use super::report::{function_label, sample_count, short_module, INLINED_SUFFIX};
use super::{pct, thousands};

/// Source files larger than this are not read (a listing needs a few lines of a source file;
/// a path named by a profile could be anything).
const MAX_SOURCE: u64 = 32 << 20;

/// Unweighted lines shown around weighted ones.
const CONTEXT: u32 = 2;

/// One source line.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Line {
    /// Line number.
    pub line: u32,
    /// Weight of samples whose innermost frame is at this line.
    #[serde(rename = "self")]
    pub self_: u64,
    /// Weight of samples with this line anywhere on the stack (in this function).
    pub total: u64,
    /// `self_` as a percentage of the whole profile.
    pub self_pct: f64,
    /// `total` as a percentage of the whole profile.
    pub total_pct: f64,
    /// Samples at this line (innermost).
    pub self_samples: u64,
    /// Samples with this line on the stack.
    pub total_samples: u64,
    /// The source text, when the file could be read.
    pub text: Option<String>,
}

/// One function in one source file.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Function {
    /// Function name (plain; the text view marks an inlined copy ` (inlined)`).
    pub name: String,
    /// True for an inlined copy of the function (as the report's and call graph's JSON say).
    pub inlined: bool,
    /// Module file name, empty when unknown.
    pub module: String,
    /// Source file named by the debug info, empty when the input has none.
    pub file: String,
    /// Weight of samples with the function on the stack.
    pub total: u64,
    /// Weight of samples with the function innermost.
    #[serde(rename = "self")]
    pub self_: u64,
    /// `total` as a percentage of the whole.
    pub total_pct: f64,
    /// `self_` as a percentage of the whole.
    pub self_pct: f64,
    /// Weight of this function's frames without a line number.
    pub unknown_line: u64,
    /// Why the text is missing, when it is.
    pub no_text: Option<String>,
    /// Lines with weight, plus a little context when the text is known, in line order.
    pub lines: Vec<Line>,
}

/// The whole listing.
#[derive(Clone, Debug, Serialize)]
pub struct Listing {
    /// The regex given.
    pub pattern: String,
    /// Unit of the weights.
    pub unit: String,
    /// Sum of all weights.
    pub total_weight: u64,
    /// Matching functions, heaviest first.
    pub functions: Vec<Function>,
    /// Matches left out by `--limit`.
    pub omitted: usize,
}

#[derive(Default, Clone, Copy)]
struct Acc {
    total: u64,
    self_: u64,
    total_n: u64,
    self_n: u64,
}

/// Reads the lines of `path`, or says why not. The path comes from a profile, so it is opened
/// without blocking (a FIFO), and only a regular file of bounded size is read.
/// How far above the first weighted line the signature is looked for, and the longest span
/// shown whole (a longer one is shown as weighted lines with context, gaps elided).
const SIGNATURE_SEARCH: u32 = 200;
const LONGEST_SPAN: u32 = 600;

/// The lines to show for a function named `name` whose weighted lines are `weighted` (sorted):
/// from the nearest line above the first that names it followed by `(` and is no call of it
/// (its signature; the debug info keeps no start line), else from a little above, to a little
/// past the last.
/// None when the span is too long to show whole.
fn function_span(text: &[String], name: &str, weighted: &[u32]) -> Option<(u32, u32)> {
    let (&first, &last) = (weighted.first()?, weighted.last()?);
    // `ns::Type::name<T>(...)` or `name (inlined)` -> `name`
    let base = name.trim_end_matches(" (inlined)");
    let base = base.split('(').next().unwrap_or(base);
    let base = base.split('<').next().unwrap_or(base);
    let short = base.rsplit("::").next().unwrap_or(base).trim();
    // A line that names the function followed by `(`, and is not a call of it: a recursive
    // function's call to itself is the nearest such line above its weighted lines, and would
    // otherwise be taken for its signature. A call is a statement (ends in `;`), a value
    // (after `=`, `return`, an operator, a method call's `.`/`->` or an open argument list)
    // or, on an indented line, has nothing before the name; a definition has its return type
    // or `fn` before the name, or starts at column 0 (`walk(int d)` under its type, K&R).
    let names_it = |line: &str| {
        let code = line.split("//").next().unwrap_or(line);
        let code = code.split("/*").next().unwrap_or(code).trim_end();
        !short.is_empty()
            && !code.ends_with(';')
            && code.match_indices(short).any(|(i, _)| {
                let before = code[..i].chars().next_back();
                let after = code[i + short.len()..].trim_start();
                let prefix = code[..i].trim_end();
                let indented = code.starts_with(char::is_whitespace);
                let a_call = (prefix.is_empty() && indented)
                    || ["return", "&&", "||", "->", "."]
                        .iter()
                        .any(|op| prefix.ends_with(op))
                    || prefix.ends_with(|c: char| "=(,!+-?{".contains(c));
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && (after.starts_with('(') || after.starts_with('<'))
                    && !a_call
            })
    };
    let lowest = first.saturating_sub(SIGNATURE_SEARCH).max(1);
    let signature = (lowest..=first)
        .rev()
        .find(|&l| text.get(l as usize - 1).is_some_and(|t| names_it(t)));
    let from = signature.unwrap_or(first.saturating_sub(CONTEXT).max(1));
    let to = last
        .saturating_add(CONTEXT)
        .min(u32::try_from(text.len()).unwrap_or(u32::MAX))
        .max(last);
    (to - from <= LONGEST_SPAN).then_some((from, to))
}

fn read_source(path: &str) -> Result<Vec<String>, String> {
    let f = crate::profile::detect::open_nonblocking(path).map_err(|e| format!("{path}: {e}"))?;
    let md = f.metadata().map_err(|e| format!("{path}: {e}"))?;
    if !md.is_file() {
        return Err(format!("{path}: not a regular file"));
    }
    if md.len() > MAX_SOURCE {
        return Err(format!(
            "{path}: {} bytes, more than a source file can be ({} MiB)",
            md.len(),
            MAX_SOURCE >> 20
        ));
    }
    let mut bytes = Vec::new();
    f.take(MAX_SOURCE)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{path}: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text
        .lines()
        .map(|l| l.trim_end_matches('\r').replace('\t', "    "))
        .collect())
}

/// Computes the listing of every function whose (plain) name matches `re`.
pub fn compute(p: &Profile, re: &Regex, limit: usize) -> Listing {
    let total_weight = p.total_weight();
    let mut by_stack: HashMap<Option<StackId>, (u64, u64)> = HashMap::default();
    for s in &p.samples {
        let e = by_stack.entry(s.stack).or_insert((0, 0));
        e.0 += s.weight;
        e.1 += sample_count(p, s);
    }
    // (label, module, file) -> function totals, lines.
    type FnKey = (String, String, String);
    let mut funcs: HashMap<FnKey, (Acc, Acc, HashMap<u32, Acc>)> = HashMap::default();
    let mut keyed: HashMap<crate::profile::FrameId, Option<FnKey>> = HashMap::default();
    for (stack, (w, n)) in by_stack {
        let mut seen_fn: Vec<FnKey> = Vec::new();
        let mut seen_line: Vec<(FnKey, u32)> = Vec::new();
        for (depth, f) in p.stack_frames(stack).enumerate() {
            let key = keyed
                .entry(f)
                .or_insert_with(|| {
                    re.is_match(p.function_name(f)).then(|| {
                        (
                            function_label(p, f),
                            short_module(p, f),
                            p.str(p.frame(f).file).to_string(),
                        )
                    })
                })
                .clone();
            let Some(key) = key else { continue };
            let line = p.frame(f).line;
            let e = funcs.entry(key.clone()).or_default();
            if depth == 0 {
                e.0.self_ += w;
                e.0.self_n += n;
            }
            if !seen_fn.contains(&key) {
                seen_fn.push(key.clone());
                e.0.total += w;
                e.0.total_n += n;
            }
            if line == 0 {
                e.1.total += w;
                continue;
            }
            let l = e.2.entry(line).or_default();
            if depth == 0 {
                l.self_ += w;
                l.self_n += n;
            }
            let lk = (key, line);
            if !seen_line.contains(&lk) {
                seen_line.push(lk);
                l.total += w;
                l.total_n += n;
            }
        }
    }
    let mut sources: HashMap<String, Result<Vec<String>, String>> = HashMap::default();
    let mut functions: Vec<Function> = Vec::new();
    for ((name, module, file), (acc, unknown, lines)) in funcs {
        let (text, no_text) = if file.is_empty() {
            (
                None,
                Some("the input has no file:line for it (folded stacks carry none; rprof recordings of binaries with debug info, `perf script -F +srcline` and pprof do)".to_string()),
            )
        } else {
            match sources
                .entry(file.clone())
                .or_insert_with(|| read_source(&file))
            {
                Ok(t) => (Some(t.clone()), None),
                Err(e) => (None, Some(format!("source not read: {e}"))),
            }
        };
        let mut weighted: Vec<u32> = lines.keys().copied().collect();
        weighted.sort_unstable();
        // With text: weighted lines and a little context, gaps elided by the renderer. Without
        // text, only the weighted lines: numbers without text around them say nothing.
        let mut shown: Vec<u32> = Vec::new();
        let span = text
            .as_ref()
            .and_then(|t| function_span(t, &name, &weighted));
        if let Some((from, to)) = span {
            // The whole function as far as the debug info and the text tell: from its
            // signature (when found above the first weighted line) to its last weighted line.
            shown.extend(from..=to);
        } else if text.is_some() {
            for &l in &weighted {
                for x in l.saturating_sub(CONTEXT).max(1)..=l.saturating_add(CONTEXT) {
                    shown.push(x);
                }
            }
            shown.sort_unstable();
            shown.dedup();
        } else {
            shown = weighted;
        }
        let mut no_text = no_text;
        if let Some(t) = &text {
            let beyond = lines.keys().filter(|l| **l as usize > t.len()).count();
            if beyond > 0 {
                no_text = Some(format!(
                    "{file} has {} lines but the profile has weight on {beyond} lines past its end: the file changed since the build",
                    t.len()
                ));
            }
            shown.retain(|l| (*l as usize) <= t.len() || lines.contains_key(l));
        }
        let out_lines = shown
            .into_iter()
            .map(|l| {
                let a = lines.get(&l).copied().unwrap_or_default();
                Line {
                    line: l,
                    self_: a.self_,
                    total: a.total,
                    self_pct: pct(a.self_, total_weight),
                    total_pct: pct(a.total, total_weight),
                    self_samples: a.self_n,
                    total_samples: a.total_n,
                    text: text.as_ref().and_then(|t| t.get(l as usize - 1).cloned()),
                }
            })
            .collect();
        functions.push(Function {
            name: name
                .strip_suffix(INLINED_SUFFIX)
                .unwrap_or(&name)
                .to_string(),
            inlined: name.ends_with(INLINED_SUFFIX),
            module,
            file,
            total: acc.total,
            self_: acc.self_,
            total_pct: pct(acc.total, total_weight),
            self_pct: pct(acc.self_, total_weight),
            unknown_line: unknown.total,
            no_text,
            lines: out_lines,
        });
    }
    functions.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.inlined.cmp(&b.inlined))
            .then_with(|| a.file.cmp(&b.file))
            .then_with(|| a.module.cmp(&b.module))
    });
    let omitted = functions.len().saturating_sub(limit);
    functions.truncate(limit);
    Listing {
        pattern: re.as_str().to_string(),
        unit: p.unit().to_string(),
        total_weight,
        functions,
        omitted,
    }
}

/// Renders the listing as text: a block per function, then one line per source line with its
/// Self% and Total% (blank where zero), the line number and the text.
pub fn to_text(l: &Listing, header: &[String]) -> String {
    let mut out = String::new();
    for h in header {
        let _ = writeln!(out, "# {h}");
    }
    let _ = writeln!(
        out,
        "# Source lines of the functions matching '{}': Self% ran at the line, Total% had it on the stack (calls made from it included); shares of all the weight ({})",
        l.pattern, l.unit
    );
    if l.functions.is_empty() {
        out.push_str(&crate::render::no_function_shown(&l.pattern, l.omitted));
        return out;
    }
    let cell = |v: f64, w: u64| {
        if w == 0 {
            String::new()
        } else {
            format!("{v:.2}%")
        }
    };
    for f in &l.functions {
        let file = if f.file.is_empty() {
            "(no source file)".to_string()
        } else {
            f.file.clone()
        };
        let module = if f.module.is_empty() {
            String::new()
        } else {
            format!("  [{}]", f.module)
        };
        let inlined = if f.inlined { INLINED_SUFFIX } else { "" };
        let _ = writeln!(out, "\nROUTINE {}{inlined} in {file}{module}", f.name);
        let _ = writeln!(
            out,
            "  Total {:.2}% ({} {}), Self {:.2}%",
            f.total_pct,
            thousands(f.total),
            l.unit,
            f.self_pct
        );
        if let Some(why) = &f.no_text {
            let _ = writeln!(out, "  (no source text: {why})");
        }
        if !f.lines.is_empty() {
            let _ = writeln!(out, "{:>8} {:>8} {:>6}  Source", "Self%", "Total%", "Line");
        }
        let mut prev: Option<u32> = None;
        for line in &f.lines {
            if prev.is_some_and(|p| line.line > p + 1) {
                let _ = writeln!(out, "{:>8} {:>8} {:>6}", "", "", "...");
            }
            prev = Some(line.line);
            let _ = writeln!(
                out,
                "{:>8} {:>8} {:>6}  {}",
                cell(line.self_pct, line.self_),
                cell(line.total_pct, line.total),
                line.line,
                line.text.as_deref().unwrap_or("")
            )
            .map(|_| ());
        }
        if f.unknown_line > 0 {
            let _ = writeln!(
                out,
                "  ({} {} of this function without a line number)",
                thousands(f.unknown_line),
                l.unit
            );
        }
    }
    if l.omitted > 0 {
        let _ = writeln!(
            out,
            "\n({} more matching functions below the limit; see --limit)",
            l.omitted
        );
    }
    // Lines end without trailing spaces: listing lines without text would otherwise carry two.
    out.lines()
        .map(|x| x.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Frame, Pid, Sample, Tid};

    /// `main` at line 10 calls `hot` inlined (its code at hot.h:3 and hot.h:4) and `cold` at
    /// line 11.
    fn profile(dir: &std::path::Path) -> Profile {
        let mut p = Profile::new();
        let src = dir.join("prog.c");
        let hdr = dir.join("hot.h");
        std::fs::write(
            &src,
            (1..=20)
                .map(|i| format!("c line {i}\n"))
                .collect::<String>(),
        )
        .expect("write");
        std::fs::write(&hdr, "h1\nh2\nh3 hot\nh4 warm\n").expect("write");
        let fr = |p: &mut Profile, name: &str, file: &std::path::Path, line, inlined| {
            let mut f = Frame::named(p.intern(name));
            f.file = p.intern(file.to_str().expect("utf-8"));
            f.line = line;
            f.inlined = inlined;
            p.add_frame(f)
        };
        let main10 = fr(&mut p, "main", &src, 10, false);
        let main11 = fr(&mut p, "main", &src, 11, false);
        let hot3 = fr(&mut p, "hot", &hdr, 3, true);
        let hot4 = fr(&mut p, "hot", &hdr, 4, true);
        let cold = fr(&mut p, "cold", &src, 2, false);
        let th = p.add_thread(Pid(1), Tid(1), "prog");
        for (frames, n) in [
            (vec![main10, hot3], 6),
            (vec![main10, hot4], 2),
            (vec![main11, cold], 2),
        ] {
            let stack = p.add_stack_frames(&frames);
            for _ in 0..n {
                p.add_sample(Sample {
                    stack,
                    thread: th,
                    weight: 1,
                    count: 1,
                    time: None,
                });
            }
        }
        p
    }

    #[test]
    fn inlined_code_has_its_own_lines() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = profile(dir.path());
        let l = compute(&p, &Regex::new("^hot$").expect("re"), 10);
        let f = &l.functions[0];
        assert_eq!((f.name.as_str(), f.inlined), ("hot", true));
        assert!(to_text(&l, &[]).contains("ROUTINE hot (inlined) in "));
        let w: Vec<(u32, u64)> = f
            .lines
            .iter()
            .filter(|x| x.self_ > 0)
            .map(|x| (x.line, x.self_))
            .collect();
        assert_eq!(w, [(3, 6), (4, 2)]);
        assert_eq!(
            f.lines
                .iter()
                .find(|x| x.line == 3)
                .and_then(|x| x.text.clone())
                .as_deref(),
            Some("h3 hot")
        );
        let l = compute(&p, &Regex::new("^main$").expect("re"), 10);
        let f = &l.functions[0];
        let w: Vec<(u32, u64, u64)> = f
            .lines
            .iter()
            .filter(|x| x.total > 0)
            .map(|x| (x.line, x.self_, x.total))
            .collect();
        // The call site of the inlined code holds its Total, not its Self.
        assert_eq!(w, [(10, 0, 8), (11, 0, 2)]);
        let text = to_text(&l, &[]);
        assert!(text.contains("c line 10"), "{text}");
        assert!(
            text.contains("c line 13\n") && !text.contains("c line 14"),
            "{text}"
        );
    }

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn a_recursive_call_is_not_the_signature() {
        // The nearest line above the weighted ones that names `walk(` is its call to itself.
        let c = lines(&[
            "int other(int);",
            "__attribute__((noinline)) void walk(int depth)",
            "{",
            "    if (depth > 0)",
            "        walk(depth - 1);",
            "    else",
            "        leaf();",
            "}",
        ]);
        assert_eq!(function_span(&c, "walk", &[5, 7]), Some((2, 8)));
        // A Rust method calling itself through self, and a tail call without a semicolon.
        let rust = lines(&[
            "impl T {",
            "    fn walk(&self, d: u32) -> u32 {",
            "        if d == 0 { return 0; }",
            "        self.walk(d - 1) + 1",
            "    }",
            "}",
            "fn down(d: u32) -> u32 {",
            "    if d == 0 { 0 } else {",
            "        down(d - 1)",
            "    }",
            "}",
        ]);
        assert_eq!(function_span(&rust, "T::walk", &[4]), Some((2, 6)));
        assert_eq!(function_span(&rust, "down", &[9]), Some((7, 11)));
        // K&R: the name at column 0 under its type; a value returned from a call is no
        // signature; a C++ member defined out of line is one.
        let kr = lines(&[
            "static unsigned",
            "walk(d)",
            "unsigned d;",
            "{",
            "    unsigned r = d ? walk(d - 1)",
            "                   : 0;",
            "    return r;",
            "}",
            "int Tree::walk(int d) {",
            "    return d ? Tree::walk(d - 1) : 0; // walk(",
            "}",
        ]);
        assert_eq!(function_span(&kr, "walk", &[5]), Some((2, 7)));
        assert_eq!(function_span(&kr, "Tree::walk", &[10]), Some((9, 11)));
    }

    #[test]
    fn missing_source_lists_lines_without_text() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = profile(dir.path());
        std::fs::remove_file(dir.path().join("hot.h")).expect("rm");
        let l = compute(&p, &Regex::new("^hot$").expect("re"), 10);
        let f = &l.functions[0];
        assert!(
            f.no_text
                .as_deref()
                .is_some_and(|w| w.contains("No such file")),
            "{f:?}"
        );
        assert_eq!(f.lines.len(), 2);
        assert!(f.lines.iter().all(|x| x.text.is_none()));
    }
}
