//! `perf script` text into a [`Profile`].
//!
//! Each sample is a header line (`comm pid/tid [cpu] time: [period] event:`), then one line
//! per frame, innermost first (`\tADDR symbol+0xOFF (dso)`), then a blank line. Also read, as
//! perf's users produce them:
//!
//! - a period column (`perf record -c N`, `-e page-faults`, `-F ...,period,...`): the sample
//!   weighs its period, in the event's unit (`ns` for cpu-clock and task-clock); without one
//!   every sample weighs 1 and the unit is `samples`;
//! - several events in one text: one is kept (the first present, or the one asked for), never
//!   a sum of counts in different units;
//! - recordings without call chains: the one frame on the header line after the event;
//! - old perf versions' frame lines without indentation;
//! - frames with no symbol (`7f1e2215d058  (/lib/libc.so.6)`): `[unknown]` in that module;
//! - Java inline chains (`a->b->c`, from perf-map-agent's unfoldall): `a`, then `b` and `c`
//!   inlined into it;
//! - `perf script -F +srcline`: the `file:line` line after a frame belongs to that frame;
//! - `(inlined)` after a frame (`perf script --inline`): the frame is marked inlined.
//!
//! A line that fits none of these is skipped and counted (as inferno does), so one odd line does
//! not cost the whole file; the caller prints the count.

use rustc_hash::FxHashMap as HashMap;

use thiserror::Error;

use super::{Frame, FrameId, Pid, Profile, Sample, StackId, Tid};

/// `perf script` input that cannot be read.
#[derive(Debug, Error)]
pub enum PerfScriptError {
    /// No line of the input is a sample.
    #[error("line {line}: {msg}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// The event asked for is not in the input, or names several.
    #[error("{0}")]
    Event(String),
}

/// A parsed input and what had to be skipped.
#[derive(Debug)]
pub struct Parsed {
    /// The samples of the event shown.
    pub profile: Profile,
    /// Number of malformed lines skipped.
    pub skipped: usize,
    /// 1-based number of the first of them.
    pub first_skipped: usize,
}

impl Parsed {
    /// The warning to print about skipped lines, if any were.
    pub fn warning(&self, name: &str) -> Option<String> {
        (self.skipped > 0).then(|| {
            format!(
                "rprof: warning: {name}: skipped {} malformed line{} of perf script text (first: line {})",
                self.skipped,
                if self.skipped == 1 { "" } else { "s" },
                self.first_skipped
            )
        })
    }
}

/// True when the line looks like a `perf script` frame line: indentation, then a hex address.
pub fn is_frame_line(line: &str) -> bool {
    let t = line.trim_start();
    t.len() != line.len() && hex_first(t)
}

/// True when the first whitespace-separated token of `t` is a hex number.
fn hex_first(t: &str) -> bool {
    let tok = t.split([' ', '\t']).next().unwrap_or("");
    !tok.is_empty() && tok.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A frame line of old perf versions: no indentation, an address and `(dso)` at the end.
fn is_unindented_frame(line: &str) -> bool {
    hex_first(line) && line.trim_end().ends_with(')')
}

/// True when the line is a sample header (with a timestamp or an event name), for format
/// detection of inputs without call chains, where no frame line follows.
pub fn is_header_line(line: &str) -> bool {
    headerish(line)
}

/// A header, tested cheaply first: every header has a `time:` or `event:` token, so a `: ` or a
/// final `:`, which frame and source lines do not.
fn headerish(line: &str) -> bool {
    (line.contains(": ") || line.trim_end().ends_with(':')) && parse_header(line).is_some()
}

struct Header<'a> {
    comm: &'a str,
    pid: u32,
    tid: u32,
    time_ns: Option<u64>,
    period: Option<u64>,
    event: &'a str,
    /// What follows the event: the one frame of a sample without call chain, trace fields, or
    /// nothing.
    rest: &'a str,
}

/// `secs.frac:` as nanoseconds; None when the token is not a timestamp.
fn parse_time(tok: &str) -> Option<u64> {
    let ts = tok.strip_suffix(':')?;
    let (s, f) = ts.split_once('.')?;
    if s.is_empty() || f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = s.parse().ok()?;
    // All ASCII digits, so slicing by bytes cuts no character.
    let frac = &f[..f.len().min(9)];
    let ns: u64 = frac.parse::<u64>().ok()? * 10u64.pow(9 - frac.len() as u32);
    secs.checked_mul(1_000_000_000)?.checked_add(ns)
}

/// Parses a sample header. The command name may contain spaces (and slashes and digits), so
/// find the `pid/tid` (or `tid`) token that is followed by an optional `[cpu]`, then a
/// `secs.frac:` timestamp or an event name.
fn parse_header(line: &str) -> Option<Header<'_>> {
    let base = line.as_ptr() as usize;
    let toks: Vec<(usize, &str)> = line
        .split_whitespace()
        .map(|t| (t.as_ptr() as usize - base, t))
        .collect();
    for i in 1..toks.len() {
        let (off, tok) = toks[i];
        let (pid, tid) = match tok.split_once('/') {
            Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
                (Ok(a), Ok(b)) => (a, b),
                _ => continue,
            },
            None => match tok.parse::<u32>() {
                Ok(t) => (t, t),
                Err(_) => continue,
            },
        };
        let mut j = i + 1;
        if toks
            .get(j)
            .is_some_and(|(_, t)| t.starts_with('[') && t.ends_with(']'))
        {
            j += 1;
        }
        let mut time_ns = None;
        let mut time_slot = false;
        if let Some((_, t)) = toks.get(j) {
            // The time slot: `secs.frac:`. A damaged one is still the time slot, not an event.
            if t.ends_with(':') && t.starts_with(|c: char| c.is_ascii_digit()) && t.contains('.') {
                time_ns = parse_time(t);
                time_slot = true;
                j += 1;
            }
        }
        // An optional period (all digits), then the event name, which ends with ':'.
        let mut period = None;
        if let (Some((_, p)), Some((_, e))) = (toks.get(j), toks.get(j + 1)) {
            if p.bytes().all(|b| b.is_ascii_digit()) && e.ends_with(':') && e.len() > 1 {
                period = p.parse::<u64>().ok();
                j += 1;
            }
        }
        let mut event = "";
        if let Some((_, e)) = toks.get(j) {
            if let Some(name) = e.strip_suffix(':').filter(|n| !n.is_empty()) {
                event = name;
                j += 1;
            }
        }
        if !time_slot && event.is_empty() {
            // A number inside the command name, not the thread id.
            continue;
        }
        let rest = toks.get(j).map_or("", |(o, _)| line[*o..].trim_end());
        return Some(Header {
            comm: line[..off].trim(),
            pid,
            tid,
            time_ns,
            period,
            event,
            rest,
        });
    }
    None
}

/// A frame line split: symbol (offset dropped), dso, and whether perf marked it `(inlined)`.
fn parse_frame(line: &str) -> (&str, &str, bool) {
    let t = line.trim();
    let rest = t.split_once([' ', '\t']).map_or("", |(_, r)| r.trim());
    let (rest, mut inlined) = match rest.strip_suffix("(inlined)") {
        Some(r) if r.is_empty() || r.ends_with([' ', '\t']) => (r.trim_end(), true),
        _ => (rest, false),
    };
    let (sym, dso) = if rest.ends_with(')') {
        match rest.rfind(" (") {
            Some(i) => (&rest[..i], &rest[i + 2..rest.len() - 1]),
            // `ADDR  (dso)`: no symbol at all.
            None if rest.starts_with('(') => ("", &rest[1..rest.len() - 1]),
            None => (rest, ""),
        }
    } else {
        (rest, "")
    };
    // Old perf versions print an inlined frame as `func (inlined)` in place of the dso.
    let dso = if dso == "inlined" {
        inlined = true;
        ""
    } else {
        dso
    };
    // Drop the `+0x1a` offset; it varies per address and would split one function into many.
    let sym = match sym.rfind("+0x") {
        Some(i) if sym[i + 3..].bytes().all(|b| b.is_ascii_hexdigit()) => &sym[..i],
        _ => sym,
    };
    (sym.trim(), dso, inlined)
}

/// A `-F +srcline` line: `file:line`, perhaps followed by `(inlined)`. Returns the file and
/// line when there is one, and the inlined mark.
fn parse_srcline(line: &str) -> (Option<(&str, u32)>, bool) {
    let t = line.trim();
    let (t, inlined) = match t.strip_suffix("(inlined)") {
        Some(r) => (r.trim_end(), true),
        None => (t, false),
    };
    let loc = t.rsplit_once(':').and_then(|(f, l)| {
        let n: u32 = l.parse().ok()?;
        (n > 0 && !f.is_empty() && f != "??").then_some((f, n))
    });
    (loc, inlined)
}

/// The event name without perf's modifiers (`cycles:u` -> `cycles`, `cpu-clock:ppp` ->
/// `cpu-clock`); tracepoints (`sched:sched_switch`) keep their colon.
pub fn event_base(e: &str) -> &str {
    match e.rsplit_once(':') {
        Some((b, m))
            if !b.is_empty()
                && !m.is_empty()
                && m.bytes().all(|c| b"ukhIGHpPSDWe".contains(&c)) =>
        {
            b
        }
        _ => e,
    }
}

/// The unit of an event's periods.
pub fn event_unit(e: &str) -> String {
    match event_base(e) {
        "cpu-clock" | "task-clock" => "ns".to_string(),
        b => b.to_string(),
    }
}

/// Picks the event `want` names among `present`: the same name, or the same event with and
/// without modifiers (`cycles` finds `cycles:u`, `cpu-clock:ppp` finds `cpu-clock`).
pub fn resolve_event<'a>(want: &str, present: &'a [String]) -> Result<&'a str, String> {
    let list = || {
        if present.is_empty() {
            "none named".to_string()
        } else {
            present.join(", ")
        }
    };
    if let Some(e) = present.iter().find(|e| *e == want) {
        return Ok(e);
    }
    let has_mods = event_base(want) != want;
    let found: Vec<&String> = present
        .iter()
        .filter(|e| {
            if has_mods {
                // Asked with modifiers: an event recorded without any is the same one.
                e.as_str() == event_base(want)
            } else {
                event_base(e) == want
            }
        })
        .collect();
    // perf's aliases name the same event: `cs` finds `context-switches` and the reverse,
    // `faults` finds `page-faults` (the data file stores the canonical name, perf script the
    // one typed).
    let found = if found.is_empty() {
        let canon = |e: &str| {
            let b = event_base(e);
            crate::record::events::EventSpec::canonical_name(b).unwrap_or_else(|| b.to_string())
        };
        let want_canon = canon(want);
        present.iter().filter(|e| canon(e) == want_canon).collect()
    } else {
        found
    };
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "no event `{want}` in this input (events present: {})",
            list()
        )),
        _ => Err(format!(
            "event `{want}` is ambiguous here: name one of {}",
            found
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Every event named by a sample header, in order of first appearance.
fn scan_events(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || !(line.contains(": ") || line.trim_end().ends_with(':')) {
            continue;
        }
        if let Some(h) = parse_header(line) {
            if !h.event.is_empty() && !out.iter().any(|e| e == h.event) {
                out.push(h.event.to_string());
            }
        }
    }
    out
}

/// Parses `perf script` output, keeping the first event present.
pub fn parse(text: &str) -> Result<Profile, PerfScriptError> {
    parse_with(text, None).map(|p| p.profile)
}

/// Parses `perf script` output, keeping the samples of `event` (default: the first event
/// present).
pub fn parse_with(text: &str, event: Option<&str>) -> Result<Parsed, PerfScriptError> {
    let mut target: Option<String> = match event {
        Some(want) => {
            let present = scan_events(text);
            Some(
                resolve_event(want, &present)
                    .map_err(PerfScriptError::Event)?
                    .to_string(),
            )
        }
        None => None,
    };
    let mut p = Profile::new();
    // Keys borrow from the input, so the hot path allocates nothing: frames by their parts,
    // whole stacks by the text of their frame block (identical blocks are common).
    let mut frame_cache: HashMap<FrameKey<'_>, FrameId> = HashMap::default();
    let mut block_cache: HashMap<&str, Option<StackId>> = HashMap::default();
    let mut frames: Vec<FrameId> = Vec::new();
    let mut first_time: Option<u64> = None;
    let mut last_time: u64 = 0;
    let mut events: Vec<String> = Vec::new();
    let (mut with_period, mut headers) = (false, 0usize);
    let (mut skipped, mut first_skipped) = (0usize, 0usize);
    let base = text.as_ptr() as usize;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        // perf pads the command name on the left, so a header may be indented too.
        let h = match parse_header(line) {
            Some(h) => h,
            None => {
                skipped += 1;
                if first_skipped == 0 {
                    first_skipped = i + 1;
                }
                continue;
            }
        };
        headers += 1;
        if !h.event.is_empty() && !events.iter().any(|e| e == h.event) {
            events.push(h.event.to_string());
        }
        let keep = h.event == *target.get_or_insert_with(|| h.event.to_string());
        let time = h.time_ns.map(|t| {
            let f = *first_time.get_or_insert(t);
            last_time = last_time.max(t);
            t.saturating_sub(f)
        });
        // The frame block: the frame on the header line (a sample without call chain), or the
        // following frame lines, each perhaps followed by its source line.
        let mut block: Option<(usize, usize)> = None;
        if !h.rest.is_empty() && hex_first(h.rest) {
            let off = h.rest.as_ptr() as usize - base;
            block = Some((off, off + h.rest.len()));
        }
        let mut after_frame = block.is_some();
        while let Some((_, l)) = lines.peek() {
            let l = *l;
            if l.trim().is_empty() {
                break;
            }
            let indented = l.starts_with([' ', '\t']);
            let is_frame = if indented {
                hex_first(l.trim_start())
            } else {
                is_unindented_frame(l)
            } && !headerish(l);
            let is_src = !is_frame && indented && after_frame && !headerish(l);
            if !is_frame && !is_src {
                break;
            }
            // A frame, or the source line of the frame before it.
            after_frame = is_frame || after_frame;
            let off = l.as_ptr() as usize - base;
            let end = off + l.len();
            block = Some(block.map_or((off, end), |(s, _)| (s, end)));
            lines.next();
        }
        if !keep {
            continue;
        }
        if h.period.is_some() {
            with_period = true;
        }
        let thread = p.add_thread(Pid(h.pid), Tid(h.tid), h.comm);
        if h.pid == h.tid {
            p.add_process(Pid(h.pid), h.comm);
        }
        let stack = match block {
            None => None,
            Some((s, e)) => {
                let key = &text[s..e];
                match block_cache.get(key) {
                    Some(st) => *st,
                    None => {
                        frames.clear();
                        block_frames(&mut p, &mut frame_cache, key, &mut frames);
                        frames.reverse();
                        let st = p.add_stack_frames(&frames);
                        block_cache.insert(key, st);
                        st
                    }
                }
            }
        };
        p.add_sample(Sample {
            stack,
            thread,
            weight: h.period.unwrap_or(1),
            count: 1,
            time,
        });
    }
    // Nothing but unreadable lines: the wrong format, not a profile with a few odd lines.
    if headers == 0 && skipped > 0 {
        return Err(PerfScriptError::Line {
            line: first_skipped,
            msg: "not a perf script sample header (expected `comm pid/tid time: event:`)".into(),
        });
    }
    if let Some(f) = first_time {
        p.meta.duration_ns = last_time - f;
    }
    let event = target.unwrap_or_default();
    p.meta.unit = if !with_period {
        "samples".to_string()
    } else if event.is_empty() {
        String::new()
    } else {
        event_unit(&event)
    };
    p.meta.event = event;
    p.meta.events = events;
    Ok(Parsed {
        profile: p,
        skipped,
        first_skipped,
    })
}

/// What makes two frames of the text the same frame: symbol, dso, source line, inlined.
type FrameKey<'a> = (&'a str, &'a str, &'a str, bool);

/// Appends the frames of a frame block (innermost first) to `out`.
fn block_frames<'a>(
    p: &mut Profile,
    cache: &mut HashMap<FrameKey<'a>, FrameId>,
    block: &'a str,
    out: &mut Vec<FrameId>,
) {
    // (symbol, dso, inlined, source line) per frame line, innermost first.
    let mut parsed: Vec<(&str, &str, bool, &str)> = Vec::new();
    let mut lines = block.lines().peekable();
    while let Some(l) = lines.next() {
        if !hex_first(l.trim_start()) {
            // A source line with no frame before it cannot happen in a block; skip it.
            continue;
        }
        let (sym, dso, inlined) = parse_frame(l);
        let mut src = "";
        if let Some(next) = lines.peek() {
            if !hex_first(next.trim_start()) {
                src = next.trim();
                lines.next();
            }
        }
        parsed.push((sym, dso, inlined, src));
    }
    // Older perf prints an inlined frame without its dso: it is the dso of the function it
    // was inlined into, the next outer frame at the same address.
    for i in (0..parsed.len()).rev() {
        if parsed[i].2 && parsed[i].1.is_empty() {
            if let Some(next) = parsed.get(i + 1) {
                parsed[i].1 = next.1;
            }
        }
    }
    for (sym, dso, mut inlined, src) in parsed {
        let (loc, src_inlined) = parse_srcline(src);
        inlined |= src_inlined;
        // Java inline chains: `outer->inlined->innermost`.
        let parts: Vec<&str> = if sym.contains("->") && !sym.contains("operator->") {
            sym.split("->").collect()
        } else {
            vec![sym]
        };
        let parts = if parts.iter().any(|s| s.trim().is_empty()) {
            vec![sym]
        } else {
            parts
        };
        let n = parts.len();
        for (k, part) in parts.into_iter().enumerate().rev() {
            let innermost = k + 1 == n;
            let this_inlined = if k == 0 { inlined } else { true };
            let this_src = if innermost { src } else { "" };
            let key = (part.trim(), dso, this_src, this_inlined);
            let id = match cache.get(&key) {
                Some(id) => *id,
                None => {
                    let id = new_frame(p, key, if innermost { loc } else { None });
                    cache.insert(key, id);
                    id
                }
            };
            out.push(id);
        }
    }
}

fn new_frame(p: &mut Profile, key: FrameKey<'_>, loc: Option<(&str, u32)>) -> FrameId {
    let (sym, dso, _, inlined) = key;
    let kernel = dso.contains("kernel.kallsyms") || dso.starts_with("[kernel");
    let module = if dso.is_empty() || dso == "unknown" || dso == "[unknown]" {
        None
    } else {
        Some(p.add_module(dso, Vec::new()))
    };
    // One spelling for a frame without a symbol, whatever perf printed: the module (when
    // known) says where it is.
    let name = if sym.is_empty() || sym == "[unknown]" {
        super::folded::UNKNOWN
    } else {
        sym
    };
    let mut f = Frame::named(p.intern(name));
    f.module = module;
    f.kernel = kernel;
    f.inlined = inlined;
    if let Some((file, line)) = loc {
        f.file = p.intern(file);
        f.line = line;
    }
    p.add_frame(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &Profile, i: usize) -> Vec<String> {
        p.stack_frames_root_first(p.samples[i].stack)
            .into_iter()
            .map(|f| {
                let fr = p.frame(f);
                let mut s = p.function_name(f).to_string();
                let m = p.module_name(f);
                if !m.is_empty() {
                    s.push_str(&format!(" [{m}]"));
                }
                if fr.inlined {
                    s.push_str(" (inlined)");
                }
                if fr.line > 0 {
                    s.push_str(&format!(" {}:{}", p.str(fr.file), fr.line));
                }
                s
            })
            .collect()
    }

    #[test]
    fn parses_header_with_spaces_in_comm() {
        let h = parse_header("Web Content 1234/1240 [001] 5.250000: 250000 cpu-clock:u: ")
            .expect("header");
        assert_eq!(h.comm, "Web Content");
        assert_eq!((h.pid, h.tid), (1234, 1240));
        assert_eq!(h.time_ns, Some(5_250_000_000));
        assert_eq!(h.period, Some(250000));
        assert_eq!(h.event, "cpu-clock:u");
        let h = parse_header("kworker/0:1 77 [000] 1.5: cycles:").expect("kernel thread");
        assert_eq!((h.comm, h.pid, h.period), ("kworker/0:1", 77, None));
        let h = parse_header("app 2 x 12 3.0: page-faults: ").expect("digits in comm");
        assert_eq!((h.comm, h.tid), ("app 2 x", 12));
    }

    #[test]
    fn multibyte_fraction_is_no_timestamp_and_no_panic() {
        // Fuzz-found: `frac.truncate(9)` cut a multi-byte character.
        for line in [
            "a 1 0.12345678\u{e9}9: x:",
            "a 1 0.\u{65e5}\u{65e5}\u{65e5}\u{65e5}: x:",
            "a 1 99999999999999999999.1: x:",
        ] {
            let h = parse_header(line).expect("header by its event");
            assert_eq!((h.time_ns, h.event), (None, "x"), "{line}");
        }
        assert_eq!(parse_time("1.1234567891234:"), Some(1_123_456_789));
        assert_eq!(parse_time("2.5:"), Some(2_500_000_000));
    }

    #[test]
    fn parses_samples() {
        let text = "prog 10/11 1.000000: 1 cpu-clock:\n\
            \t    401136 hot+0x6 (/tmp/prog)\n\
            \t    401200 main+0x20 (/tmp/prog)\n\
            \n\
            prog 10/11 1.001000: 1 cpu-clock:\n\
            \tffffffff81000000 do_syscall_64+0x10 ([kernel.kallsyms])\n\
            \t    401200 main+0x20 (/tmp/prog)\n";
        let p = parse(text).expect("parses");
        assert_eq!(p.samples.len(), 2);
        assert_eq!(names(&p, 0), ["main [/tmp/prog]", "hot [/tmp/prog]"]);
        assert_eq!(p.samples[1].time, Some(1_000_000));
        assert!(
            p.frame(p.stack_frames(p.samples[1].stack).next().expect("frame"))
                .kernel
        );
        assert_eq!(
            (p.meta.unit.as_str(), p.meta.event.as_str()),
            ("ns", "cpu-clock")
        );
    }

    #[test]
    fn frame_shapes() {
        let text = "j 5 1.0: 3 cycles:u:\n\
            \t7f1e2215d058  (/lib/libc.so.6)\n\
            \t    1000 Lfoo;::a->Lbar;::b->c+0x4 (/tmp/perf-5.map)\n\
            \t    1247 mix_helper (inlined)\n\
            \t    1247 outer_work+0x27 (/tmp/inl)\n\
            \t       0 [unknown] ([unknown])\n";
        let p = parse(text).expect("parses");
        assert_eq!(
            names(&p, 0),
            [
                "[unknown]",
                "outer_work [/tmp/inl]",
                "mix_helper [/tmp/inl] (inlined)",
                "Lfoo;::a [/tmp/perf-5.map]",
                "Lbar;::b [/tmp/perf-5.map] (inlined)",
                "c [/tmp/perf-5.map] (inlined)",
                "[unknown] [/lib/libc.so.6]",
            ]
        );
        assert_eq!(p.samples[0].weight, 3);
        assert_eq!(p.meta.unit, "cycles");
        // Newer perf: the dso, then the mark.
        let p = parse("a 1 1.0: x:\n\t1 f (/a) (inlined)\n\t2 g (/a)\n").expect("parses");
        assert_eq!(names(&p, 0), ["g [/a]", "f [/a] (inlined)"]);
        assert_eq!(p.meta.unit, "samples");
    }

    #[test]
    fn srclines_attach_to_their_frame() {
        let text = "m 1 408.3: 250000 cpu-clock:\n\
            \t 1168 spin+0x1f (/tmp/m)\n\
            \x20 multi.c:5\n\
            \tffffffff8161bebb pte+0x1b ([kernel.kallsyms])\n\
            \x20 [kernel.kallsyms][ffffffff8161bebb]\n\
            \t 2724a __libc_start_call_main+0x7a (/lib/libc.so.6)\n\
            \x20 libc-start.c:74\n";
        let p = parse(text).expect("parses");
        assert_eq!(
            names(&p, 0),
            [
                "__libc_start_call_main [/lib/libc.so.6] libc-start.c:74",
                "pte [[kernel.kallsyms]]",
                "spin [/tmp/m] multi.c:5"
            ]
        );
    }

    #[test]
    fn no_call_chain_and_old_unindented_frames() {
        let text = "           multi 12299   412.379630:     250000 cpu-clock:      7f11e121262a handle_amd+0xa (/lib/ld.so)\n\
            multi 12299 412.38: 250000 cpu-clock: 401136 main (/tmp/a.out)\n\
            swapper 0 [000] 1.000000: 250000 cpu-clock:\n\
            ffffffff8103ce3b native_safe_halt ([kernel.kallsyms])\n\
            ffffffff8101c6a3 default_idle ([kernel.kallsyms])\n\
            \n";
        let p = parse(text).expect("parses");
        assert_eq!(p.samples.len(), 3);
        assert_eq!(names(&p, 0), ["handle_amd [/lib/ld.so]"]);
        assert_eq!(names(&p, 1), ["main [/tmp/a.out]"]);
        assert_eq!(
            names(&p, 2),
            [
                "default_idle [[kernel.kallsyms]]",
                "native_safe_halt [[kernel.kallsyms]]"
            ]
        );
        assert!(is_header_line(
            text.lines().next().unwrap_or("").trim_start()
        ));
    }

    #[test]
    fn events_one_at_a_time() {
        let text = "a 1 1.0: 250000 cpu-clock:ppp:\n\t1 f (/a)\n\n\
            a 1 1.1: 7 page-faults:\n\t2 g (/a)\n\n\
            a 1 1.2: 250000 cpu-clock:ppp:\n\t2 g (/a)\n\n";
        let p = parse(text).expect("parses");
        assert_eq!(p.samples.len(), 2);
        assert_eq!(p.meta.event, "cpu-clock:ppp");
        assert_eq!(p.meta.events, ["cpu-clock:ppp", "page-faults"]);
        assert_eq!(p.total_weight(), 500000);
        let q = parse_with(text, Some("page-faults"))
            .expect("parses")
            .profile;
        assert_eq!((q.samples.len(), q.total_weight()), (1, 7));
        assert_eq!(
            (q.meta.event.as_str(), q.meta.unit.as_str()),
            ("page-faults", "page-faults")
        );
        let c = parse_with(text, Some("cpu-clock"))
            .expect("base name")
            .profile;
        assert_eq!(c.meta.event, "cpu-clock:ppp");
        let e = parse_with(text, Some("cycles"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("no event `cycles` in this input (events present: cpu-clock:ppp, page-faults)")
        );
        let two = vec!["cycles:u".to_string(), "cycles:k".to_string()];
        assert!(resolve_event("cycles", &two).is_err());
        // perf's aliases, both ways.
        let rec = ["context-switches".to_string(), "page-faults".to_string()];
        assert_eq!(resolve_event("cs", &rec), Ok("context-switches"));
        assert_eq!(resolve_event("faults", &rec), Ok("page-faults"));
        assert_eq!(
            resolve_event("context-switches", &["cs:u".to_string()]),
            Ok("cs:u")
        );
        assert!(resolve_event("migrations", &rec).is_err());
        assert_eq!(resolve_event("cycles:k", &two), Ok("cycles:k"));
        assert_eq!(
            resolve_event("cycles:u", &["cycles".to_string()]),
            Ok("cycles")
        );
        assert_eq!(event_base("sched:sched_switch"), "sched:sched_switch");
    }

    /// Any mix of perf script pieces and odd characters parses or fails cleanly, never panics.
    #[test]
    fn never_panics_on_mixed_pieces() {
        let pieces = [
            "prog",
            " ",
            "\t",
            "\n",
            "1234/1235",
            "[001]",
            "5.25",
            ":",
            "0.\u{e9}\u{65e5}",
            "250000",
            "cpu-clock:ppp:",
            "cycles:",
            "401136",
            "ffffffff81000000",
            "main+0x1a",
            "(/tmp/a b)",
            "(",
            ")",
            " (inlined)",
            "a->b",
            "->",
            "multi.c:5",
            "[unknown]",
            "_[i]",
            "\u{1f600}",
            "#",
            "+0x",
            "1.12345678\u{e9}:",
            "",
        ];
        // A fixed xorshift sequence: the same cases on every run.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut text = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for k in 0..(x % 40) {
                let r = x.rotate_left(k as u32 * 5) ^ k;
                text.push_str(pieces[(r % pieces.len() as u64) as usize]);
            }
            let event = ["cycles", "x:u", ""][(x % 3) as usize];
            let _ = parse_with(&text, (!event.is_empty()).then_some(event));
            let _ = is_header_line(&text);
        }
    }

    #[test]
    fn malformed_lines_are_skipped_and_counted() {
        let text = "garbage here\n\
            a 1 1.0: 5 x:\n\t1 f (/a)\n\n\
            \t2 stray (/a)\n\
            a 1 1.1: 5 x:\n\t1 f (/a)\n";
        let r = parse_with(text, None).expect("parses");
        assert_eq!(r.profile.samples.len(), 2);
        assert_eq!((r.skipped, r.first_skipped), (2, 1));
        assert!(r
            .warning("'x'")
            .is_some_and(|w| w.contains("skipped 2 malformed lines")));
        assert!(parse("not perf at all\nnor this\n").is_err());
    }
}
