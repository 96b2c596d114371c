//! Parser for `strace -f -T` logs (with or without `-tt`/`-ttt`, pid prefixes as written with
//! `-o` or as `[pid N]` on a terminal, `<unfinished ...>` / `<... resumed>` pairs). Signal,
//! exit and attach lines are ignored; a trailing `strace -c` table is skipped.

use std::collections::{BTreeMap, HashMap};

use thiserror::Error;

use super::model::{Meta, Stat, Summary, ThreadSummary};

/// Why a log could not be summarised.
#[derive(Debug, Error)]
pub enum LogError {
    /// Nothing in the input looked like an strace line.
    #[error("not an strace log: none of its {lines} lines is a system call (expected `strace -f -T` output such as `1234  write(1, \"x\", 1) = 1 <0.000010>`)")]
    NoSyscalls {
        /// Lines read.
        lines: u64,
    },
}

/// One parsed line.
#[derive(Debug, PartialEq)]
enum Line<'a> {
    /// A finished call: name, error code name if it failed, latency in ns if `-T` was on.
    Call {
        name: &'a str,
        errno: Option<&'a str>,
        ns: Option<u64>,
    },
    /// The first half of a call another thread interrupted.
    Unfinished { name: &'a str },
    /// The second half: the result of the call begun earlier.
    Resumed {
        name: &'a str,
        errno: Option<&'a str>,
        ns: Option<u64>,
    },
    /// A signal, exit, attach or other known non-call line.
    Ignored,
}

fn strip_prefix_pid(line: &str) -> (Option<u32>, &str) {
    let l = line.trim_start();
    if let Some(rest) = l.strip_prefix("[pid") {
        if let Some(end) = rest.find(']') {
            let pid = rest[..end].trim().parse().ok();
            return (pid, rest[end + 1..].trim_start());
        }
    }
    let digits = l.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 && l[digits..].starts_with(' ') {
        // "1234  12:00:00.1 write(" or "1234  write(": a pid column. A bare -ttt timestamp
        // ("1700000000.123 write(") has a '.' right after its digits, so it is not taken here.
        return (l[..digits].parse().ok(), l[digits..].trim_start());
    }
    (None, l)
}

fn strip_timestamp(l: &str) -> &str {
    let tok_end = l.find(' ').unwrap_or(l.len());
    let tok = &l[..tok_end];
    let is_ts = !tok.is_empty()
        && tok
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b':' || b == b'.')
        && tok.bytes().any(|b| b == b':' || b == b'.');
    if is_ts {
        l[tok_end..].trim_start()
    } else {
        l
    }
}

/// Splits `... <0.000123>` into the rest and the latency in ns.
fn strip_latency(l: &str) -> (&str, Option<u64>) {
    let t = l.trim_end();
    if let Some(body) = t.strip_suffix('>') {
        if let Some(open) = body.rfind('<') {
            let num = &body[open + 1..];
            if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                if let Ok(secs) = num.parse::<f64>() {
                    return (body[..open].trim_end(), Some((secs * 1e9).round() as u64));
                }
            }
        }
    }
    (t, None)
}

/// The error code name in a return part like `-1 ENOENT (No such file...)` or
/// `? ERESTARTSYS (To be restarted...)`.
fn errno_of(ret: &str) -> Option<&str> {
    let mut it = ret.split_whitespace();
    let first = it.next()?;
    if first != "-1" && first != "?" {
        return None;
    }
    let code = it.next()?;
    (code.len() > 1
        && code.starts_with('E')
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
    .then_some(code)
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && s.bytes().next().is_some_and(|b| !b.is_ascii_digit())
}

fn parse_line(line: &str) -> Option<(Option<u32>, Line<'_>)> {
    let (pid, rest) = strip_prefix_pid(line);
    let rest = strip_timestamp(rest);
    if rest.is_empty() {
        return None;
    }
    if rest.starts_with("---")
        || rest.starts_with("+++")
        || rest.starts_with("strace:")
        || rest.starts_with("<detached")
        || rest.starts_with("???")
    {
        return Some((pid, Line::Ignored));
    }
    if let Some(r) = rest.strip_prefix("<... ") {
        let end = r.find(" resumed>")?;
        let name = &r[..end];
        if !is_ident(name) {
            return None;
        }
        let (body, ns) = strip_latency(&r[end..]);
        let ret = body.rfind(" = ").map(|i| &body[i + 3..]).unwrap_or("");
        return Some((
            pid,
            Line::Resumed {
                name,
                errno: errno_of(ret),
                ns,
            },
        ));
    }
    let paren = rest.find('(')?;
    let name = &rest[..paren];
    if !is_ident(name) {
        return None;
    }
    let trimmed = rest.trim_end();
    if trimmed.ends_with("<unfinished ...>") {
        return Some((pid, Line::Unfinished { name }));
    }
    let (body, ns) = strip_latency(trimmed);
    let eq = body.rfind(" = ")?;
    let ret = &body[eq + 3..];
    Some((
        pid,
        Line::Call {
            name,
            errno: errno_of(ret),
            ns,
        },
    ))
}

fn errno_number(name: &str) -> i32 {
    // Error names from a log are kept as names; they map back to numbers through nix so the
    // model (which stores numbers) renders them identically to live traces.
    match name {
        "ERESTARTSYS" => 512,
        "ERESTARTNOINTR" => 513,
        "ERESTARTNOHAND" => 514,
        "ENOIOCTLCMD" => 515,
        "ERESTART_RESTARTBLOCK" => 516,
        _ => ERRNOS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
            .or_else(|| name.strip_prefix('E').and_then(|d| d.parse().ok()))
            .unwrap_or(-1),
    }
}

/// Errno names for the log parser, built from nix's table once.
static ERRNOS: std::sync::LazyLock<Vec<(String, i32)>> = std::sync::LazyLock::new(|| {
    (1..4096)
        .filter_map(|n| {
            let e = nix::errno::Errno::from_raw(n);
            (e != nix::errno::Errno::UnknownErrno).then(|| (format!("{e:?}"), n))
        })
        .collect()
});

/// Summarises an strace log.
pub fn parse(text: &str) -> Result<Summary, LogError> {
    let mut threads: BTreeMap<u32, BTreeMap<String, Stat>> = BTreeMap::new();
    let mut unfinished: HashMap<u32, String> = HashMap::new();
    let mut lines = 0u64;
    let mut calls = 0u64;
    let mut skipped = 0u64;
    let mut timed = false;
    let mut in_flight = 0u64;
    let mut unknown_errno = false;
    for raw in text.lines() {
        lines += 1;
        // strace -C appends its own table; everything from its header on is not trace.
        if raw.starts_with("% time") {
            break;
        }
        let Some((pid, line)) = parse_line(raw) else {
            if !raw.trim().is_empty() {
                skipped += 1;
            }
            continue;
        };
        // Logs of a single process carry no pid column; they all belong to one thread.
        let pid = pid.unwrap_or(0);
        let (name, errno, ns) = match line {
            Line::Ignored => continue,
            Line::Unfinished { name } => {
                if unfinished.insert(pid, name.to_string()).is_some() {
                    in_flight += 1;
                }
                continue;
            }
            Line::Resumed { name, errno, ns } => {
                unfinished.remove(&pid);
                (name, errno, ns)
            }
            Line::Call { name, errno, ns } => (name, errno, ns),
        };
        calls += 1;
        let s = threads
            .entry(pid)
            .or_default()
            .entry(name.to_string())
            .or_default();
        match ns {
            Some(ns) => {
                timed = true;
                s.add_timed(ns);
            }
            None => s.calls += 1,
        }
        if let Some(e) = errno {
            let n = errno_number(e);
            unknown_errno |= n < 0;
            s.add_error(n.max(0));
        }
    }
    let _ = unknown_errno;
    if calls == 0 {
        return Err(LogError::NoSyscalls { lines });
    }
    in_flight += unfinished.len() as u64;
    let threads = threads
        .into_iter()
        .map(|(pid, syscalls)| ThreadSummary {
            // strace logs do not say which pids are threads of which process: each is its own.
            pid,
            tid: pid,
            name: "?".into(),
            syscalls,
        })
        .collect();
    Ok(Summary {
        meta: Meta {
            backend: "strace log".into(),
            timed,
            in_flight,
            skipped_lines: skipped,
            stop_reason: "end of log".into(),
            ..Meta::default()
        },
        threads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let l = parse_line("1234  12:00:01.000001 openat(AT_FDCWD, \"/x = y\", O_RDONLY) = -1 ENOENT (No such file or directory) <0.000010>");
        assert_eq!(
            l,
            Some((
                Some(1234),
                Line::Call {
                    name: "openat",
                    errno: Some("ENOENT"),
                    ns: Some(10_000)
                }
            ))
        );
        let l = parse_line("[pid  77] read(0,  <unfinished ...>");
        assert_eq!(l, Some((Some(77), Line::Unfinished { name: "read" })));
        let l = parse_line("77    <... read resumed>\"x\", 1) = 1 <2.000000>");
        assert_eq!(
            l,
            Some((
                Some(77),
                Line::Resumed {
                    name: "read",
                    errno: None,
                    ns: Some(2_000_000_000)
                }
            ))
        );
        let l = parse_line("1700000000.123456 exit_group(0)                 = ?");
        assert_eq!(
            l,
            Some((
                None,
                Line::Call {
                    name: "exit_group",
                    errno: None,
                    ns: None
                }
            ))
        );
        assert_eq!(
            parse_line("5 --- SIGCHLD {si_signo=SIGCHLD} ---"),
            Some((Some(5), Line::Ignored))
        );
        assert_eq!(parse_line("hello world"), None);
        let l = parse_line("9 futex(0x1, FUTEX_WAIT, 0, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set) <0.1>");
        assert!(matches!(
            l,
            Some((
                _,
                Line::Call {
                    errno: Some("ERESTARTSYS"),
                    ..
                }
            ))
        ));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse("\u{0}\u{1}binary\nnot a log\n").is_err());
        assert!(parse("").is_err());
    }
}
