//! `perf script` text (with call graphs) into a [`Profile`].
//!
//! Each sample is a header line (`comm pid/tid [cpu] time: [period] event:`), then one line
//! per frame, innermost first (`\tADDR symbol+0xOFF (dso)`), then a blank line.

use rustc_hash::FxHashMap as HashMap;

use thiserror::Error;

use super::{Frame, FrameId, Pid, Profile, Sample, StackId, Tid};

/// A malformed `perf script` input.
#[derive(Debug, Error)]
#[error("line {line}: {msg}")]
pub struct PerfScriptError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

/// True when the line looks like a `perf script` frame line: indentation, then a hex address.
pub fn is_frame_line(line: &str) -> bool {
    let t = line.trim_start();
    if t.len() == line.len() {
        return false;
    }
    let hex = t.split(' ').next().unwrap_or("");
    !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

struct Header<'a> {
    comm: &'a str,
    pid: u32,
    tid: u32,
    time_ns: Option<u64>,
    event: &'a str,
}

/// Parses a sample header. The command name may contain spaces, so find the `pid/tid` (or
/// `tid`) token that is followed by an optional `[cpu]` and a `secs.frac:` timestamp.
fn parse_header(line: &str) -> Option<Header<'_>> {
    let toks: Vec<(usize, &str)> = line
        .split_whitespace()
        .map(|t| (t.as_ptr() as usize - line.as_ptr() as usize, t))
        .collect();
    for i in 1..toks.len() {
        let (off, tok) = toks[i];
        let (pid, tid) = match tok.split_once('/') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()),
            None => match tok.parse::<u32>() {
                Ok(t) => (t, Some(t)),
                Err(_) => continue,
            },
        };
        let Some(tid) = tid else { continue };
        let mut j = i + 1;
        if toks
            .get(j)
            .is_some_and(|(_, t)| t.starts_with('[') && t.ends_with(']'))
        {
            j += 1;
        }
        let time_ns = match toks.get(j) {
            Some((_, t)) if t.ends_with(':') && t[..t.len() - 1].contains('.') => {
                let ts = &t[..t.len() - 1];
                let (s, f) = ts.split_once('.')?;
                let secs: u64 = s.parse().ok()?;
                let mut frac = f.to_string();
                frac.truncate(9);
                while frac.len() < 9 {
                    frac.push('0');
                }
                let ns: u64 = frac.parse().ok()?;
                j += 1;
                Some(secs * 1_000_000_000 + ns)
            }
            _ => None,
        };
        // Skip an optional period, then the event name ends with ':'.
        let mut event = "";
        for (_, t) in toks.iter().skip(j).take(2) {
            if let Some(e) = t.strip_suffix(':') {
                event = e;
                break;
            }
        }
        let comm = line[..off].trim();
        return Some(Header {
            comm,
            pid,
            tid,
            time_ns,
            event,
        });
    }
    None
}

/// Parses a frame line into (address, symbol, dso).
fn parse_frame(line: &str) -> (u64, &str, &str) {
    let t = line.trim();
    let (addr, rest) = t.split_once(' ').unwrap_or((t, ""));
    let addr = u64::from_str_radix(addr, 16).unwrap_or(0);
    let rest = rest.trim();
    let (sym, dso) = match rest.rfind(" (") {
        Some(i) if rest.ends_with(')') => (&rest[..i], &rest[i + 2..rest.len() - 1]),
        _ => (rest, ""),
    };
    // Drop the `+0x1a` offset; it varies per address and would split one function into many.
    let sym = match sym.rfind("+0x") {
        Some(i) if sym[i + 3..].bytes().all(|b| b.is_ascii_hexdigit()) => &sym[..i],
        _ => sym,
    };
    (addr, sym.trim(), dso)
}

/// Parses `perf script` output.
pub fn parse(text: &str) -> Result<Profile, PerfScriptError> {
    let mut p = Profile::new();
    // Keys borrow from the input, so the hot path allocates nothing: frames by (symbol, dso),
    // whole stacks by the text of their frame block (identical blocks are common).
    let mut frame_cache: HashMap<(&str, &str), FrameId> = HashMap::default();
    let mut block_cache: HashMap<&str, Option<StackId>> = HashMap::default();
    let mut frames: Vec<FrameId> = Vec::new();
    let mut first_time: Option<u64> = None;
    let mut last_time: u64 = 0;
    let mut events: HashMap<String, u64> = HashMap::default();
    let base = text.as_ptr() as usize;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if is_frame_line(line) {
            return Err(PerfScriptError {
                line: i + 1,
                msg: "frame line outside a sample".into(),
            });
        }
        let h = parse_header(line).ok_or_else(|| PerfScriptError {
            line: i + 1,
            msg: "not a perf script sample header (expected `comm pid/tid time: event:`)".into(),
        })?;
        let thread = p.add_thread(Pid(h.pid), Tid(h.tid), h.comm);
        if h.pid == h.tid {
            p.add_process(Pid(h.pid), h.comm);
        }
        if !h.event.is_empty() {
            if let Some(n) = events.get_mut(h.event) {
                *n += 1;
            } else {
                events.insert(h.event.to_string(), 1);
            }
        }
        let time = h.time_ns.map(|t| {
            let f = *first_time.get_or_insert(t);
            last_time = last_time.max(t);
            t.saturating_sub(f)
        });
        // The frame block: every following frame line.
        let mut block: Option<(usize, usize)> = None;
        while let Some((_, l)) = lines.peek() {
            if !is_frame_line(l) {
                break;
            }
            let off = l.as_ptr() as usize - base;
            let end = off + l.len();
            block = Some(block.map_or((off, end), |(s, _)| (s, end)));
            lines.next();
        }
        let stack = match block {
            None => None,
            Some((s, e)) => {
                let key = &text[s..e];
                match block_cache.get(key) {
                    Some(st) => *st,
                    None => {
                        frames.clear();
                        for l in key.lines() {
                            frames.push(frame_id(&mut p, &mut frame_cache, l));
                        }
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
            weight: 1,
            time,
        });
    }
    if let Some(f) = first_time {
        p.meta.duration_ns = last_time - f;
    }
    if let Some((e, _)) = events.into_iter().max_by_key(|(_, n)| *n) {
        p.meta.event = e;
    }
    Ok(p)
}

fn frame_id<'a>(
    p: &mut Profile,
    cache: &mut HashMap<(&'a str, &'a str), FrameId>,
    line: &'a str,
) -> FrameId {
    let (_addr, sym, dso) = parse_frame(line);
    if let Some(id) = cache.get(&(sym, dso)) {
        return *id;
    }
    let kernel = dso.contains("kernel.kallsyms") || dso.starts_with("[kernel");
    let module = if dso.is_empty() || dso == "unknown" {
        None
    } else {
        Some(p.add_module(dso, Vec::new()))
    };
    let name = if sym.is_empty() || sym == "[unknown]" {
        let short = dso.rsplit('/').next().unwrap_or(dso);
        p.intern(&format!("[unknown] ({short})"))
    } else {
        p.intern(sym)
    };
    let mut f = Frame::named(name);
    f.module = module;
    f.kernel = kernel;
    let id = p.add_frame(f);
    cache.insert((sym, dso), id);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_with_spaces_in_comm() {
        let h = parse_header("Web Content 1234/1240 [001] 5.250000: 250000 cpu-clock:u: ")
            .expect("header");
        assert_eq!(h.comm, "Web Content");
        assert_eq!((h.pid, h.tid), (1234, 1240));
        assert_eq!(h.time_ns, Some(5_250_000_000));
        assert_eq!(h.event, "cpu-clock:u");
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
        let names: Vec<&str> = p
            .stack_frames_root_first(p.samples[0].stack)
            .into_iter()
            .map(|f| p.function_name(f))
            .collect();
        assert_eq!(names, vec!["main", "hot"]);
        assert_eq!(p.samples[1].time, Some(1_000_000));
        assert!(
            p.frame(p.stack_frames(p.samples[1].stack).next().expect("frame"))
                .kernel
        );
    }
}
