//! Parser for `strace -f -T` logs (with or without `-tt`/`-ttt`, pid prefixes as written with
//! `-o` or as `[pid N]` on a terminal, `<unfinished ...>` / `<... resumed>` pairs). Signal,
//! exit and attach lines are ignored; a trailing `strace -c` table is skipped. An attach
//! notice that cut a call's line in two (strace writes both to stderr) is taken out and the
//! halves joined. `clone`/`clone3` calls with `CLONE_THREAD` tell which ids are threads of
//! which process, for `--per-process`.
//!
//! The log is read line by line with a cap on line length, so `/dev/zero` or an endless pipe
//! cannot fill memory, and latencies no call can have are refused instead of overflowing sums.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

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
    /// A line longer than any strace writes: not a log (or an endless stream of bytes).
    #[error("line {line} is longer than {limit} bytes: not an strace log (refused before it fills memory)")]
    LineTooLong {
        /// Its line number.
        line: u64,
        /// The limit, bytes.
        limit: usize,
    },
    /// Reading failed.
    #[error("read error at line {line}: {source}")]
    Read {
        /// The line being read.
        line: u64,
        /// The error.
        source: std::io::Error,
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
                    let ns = if secs.is_finite() && secs <= MAX_LATENCY_S {
                        (secs * 1e9).round() as u64
                    } else {
                        ABSURD_NS
                    };
                    return (body[..open].trim_end(), Some(ns));
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

fn returned_nothing(raw: &str) -> bool {
    raw.trim_end().ends_with("= ?")
}

/// The longest line read: strace lines are short (`-s 32` strings by default), so a longer
/// one means the input is not a log (`/dev/zero`, a binary file) and is refused before it can
/// fill memory.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// A latency above this (over three years) cannot be real: such a value is refused, counted,
/// and its call counted without a time, so it cannot swamp or overflow the sums.
pub const MAX_LATENCY_S: f64 = 1e8;

/// The `ns` a line carries when its latency was refused (never a real value: real ones are
/// at most `MAX_LATENCY_S` seconds).
const ABSURD_NS: u64 = u64::MAX;

/// Where an attach or detach notice that strace printed in the middle of another line (its
/// messages and the trace share stderr when there is no `-o`) starts, if this line ends with
/// one after some text.
fn notice_split(line: &str) -> Option<usize> {
    let at = line.rfind("strace: Process ")?;
    let tail = line[at + "strace: Process ".len()..].trim_end();
    let digits = tail.bytes().take_while(|b| b.is_ascii_digit()).count();
    let word = tail[digits..].trim();
    let known = digits > 0 && matches!(word, "attached" | "detached");
    (known && !line[..at].trim().is_empty()).then_some(at)
}

/// The child id a clone/fork call returned (`= 1235`), if it was the parent's return.
fn returned_pid(body: &str) -> Option<u32> {
    let ret = &body[body.rfind(" = ")? + 3..];
    let n: u32 = ret.split_whitespace().next()?.parse().ok()?;
    (n > 0).then_some(n)
}

fn is_clone(name: &str) -> bool {
    matches!(name, "clone" | "clone3" | "fork" | "vfork")
}

/// Streaming state of the log parser: fed one line at a time, so a log of any length (or an
/// endless pipe) is read in constant memory per thread.
#[derive(Default)]
pub struct LogParser {
    threads: BTreeMap<u32, BTreeMap<String, Stat>>,
    /// Per pid, the call interrupted by `<unfinished ...>` and whether its text carried
    /// CLONE_THREAD (the flags are in the first half, the child's id in the second).
    unfinished: HashMap<u32, (String, bool)>,
    /// Thread id -> the process that created it with CLONE_THREAD.
    thread_parent: HashMap<u32, u32>,
    /// Every id a clone/fork returned: a pid not in here was there from the start.
    children: HashSet<u32>,
    /// Pids seen and not yet gone (`+++ exited`): strace leaves the prefix out when only one
    /// is left, so an unprefixed line is that one's.
    live: HashSet<u32>,
    /// The head of a line cut by an attach notice, waiting for its continuation.
    carry: Option<String>,
    lines: u64,
    calls: u64,
    skipped: u64,
    timed: bool,
    in_flight: u64,
    rejected_latencies: u64,
    /// A trailing `strace -c` table was reached: everything after it is ignored.
    done: bool,
}

impl LogParser {
    /// Feeds one line (without its newline).
    pub fn line(&mut self, raw: &str) {
        if self.done {
            return;
        }
        self.lines += 1;
        let joined;
        let raw = match self.carry.take() {
            Some(mut head) => {
                head.push_str(raw);
                joined = head;
                joined.as_str()
            }
            None => raw,
        };
        if let Some(at) = notice_split(raw) {
            // The rest of this call follows on the next line. A chain of cut lines longer
            // than a line may be is not a log: drop it rather than grow.
            if at <= MAX_LINE_BYTES {
                self.carry = Some(raw[..at].to_string());
            } else {
                self.skipped += 1;
            }
            return;
        }
        // strace -C appends its own table; everything from its header on is not trace.
        if raw.starts_with("% time") {
            self.done = true;
            return;
        }
        let Some((pid, line)) = parse_line(raw) else {
            if !raw.trim().is_empty() {
                self.skipped += 1;
            }
            return;
        };
        let pid = match pid {
            Some(p) => {
                self.live.insert(p);
                p
            }
            // Logs of a single process carry no pid column; with -f on a terminal, the only
            // process left is written without one.
            None if self.live.len() == 1 => self.live.iter().copied().next().unwrap_or(0),
            None => 0,
        };
        let trimmed = raw.trim_end();
        let (name, errno, ns, thread_flag) = match line {
            Line::Ignored => {
                if trimmed.contains("+++ exited with") || trimmed.contains("+++ killed by") {
                    self.live.remove(&pid);
                }
                return;
            }
            Line::Unfinished { name } => {
                let thread = is_clone(name) && raw.contains("CLONE_THREAD");
                if self
                    .unfinished
                    .insert(pid, (name.to_string(), thread))
                    .is_some()
                {
                    self.in_flight += 1;
                }
                return;
            }
            Line::Resumed { name, errno, ns } => {
                let thread = match self.unfinished.remove(&pid) {
                    Some((n, t)) if n == name => t,
                    _ => false,
                };
                (name, errno, ns, thread)
            }
            Line::Call { name, errno, ns } => (
                name,
                errno,
                ns,
                is_clone(name) && raw.contains("CLONE_THREAD"),
            ),
        };
        if is_clone(name) {
            if let Some(child) = returned_pid(strip_latency(trimmed).0) {
                self.children.insert(child);
                self.live.insert(child);
                if thread_flag {
                    self.thread_parent.insert(child, pid);
                }
            }
        }
        // `= ?` without an error code: the call never returned (exit, exit_group, or a thread
        // killed mid-call). strace -c leaves these out, and so does the summary.
        if ns.is_none() && errno.is_none() && returned_nothing(raw) {
            self.in_flight += 1;
            return;
        }
        self.calls += 1;
        let s = self
            .threads
            .entry(pid)
            .or_default()
            .entry(name.to_string())
            .or_default();
        match ns {
            Some(ABSURD_NS) => {
                self.rejected_latencies += 1;
                s.calls += 1;
            }
            Some(ns) => {
                self.timed = true;
                s.add_timed(ns);
            }
            None => s.calls += 1,
        }
        if let Some(e) = errno {
            s.add_error(errno_number(e));
        }
    }

    /// The summary of everything fed.
    pub fn finish(mut self) -> Result<Summary, LogError> {
        if self.carry.take().is_some() {
            self.skipped += 1;
        }
        if self.calls == 0 {
            return Err(LogError::NoSyscalls { lines: self.lines });
        }
        self.in_flight += self.unfinished.len() as u64;
        // Lines written before strace printed any prefix (before the first clone, on a
        // terminal) belong to the one process that was there from the start, when the log
        // names exactly one.
        let roots: Vec<u32> = self
            .threads
            .keys()
            .copied()
            .filter(|&p| p != 0 && !self.children.contains(&p))
            .collect();
        if let ([root], true) = (roots.as_slice(), self.threads.contains_key(&0)) {
            let root = *root;
            if let Some(early) = self.threads.remove(&0) {
                let t = self.threads.entry(root).or_default();
                for (name, st) in early {
                    t.entry(name).or_default().merge(&st);
                }
            }
            for p in self.thread_parent.values_mut() {
                if *p == 0 {
                    *p = root;
                }
            }
        }
        let process_of = |tid: u32| {
            // Follow CLONE_THREAD creators up to the process (a thread may start threads);
            // bounded, as a corrupt log could make a cycle.
            let mut p = tid;
            for _ in 0..64 {
                match self.thread_parent.get(&p) {
                    Some(&q) if q != p => p = q,
                    _ => break,
                }
            }
            p
        };
        let threads = self
            .threads
            .iter()
            .map(|(&tid, syscalls)| ThreadSummary {
                pid: process_of(tid),
                tid,
                name: if tid == 0 {
                    "no pid prefix".into()
                } else {
                    "?".into()
                },
                syscalls: syscalls.clone(),
            })
            .collect();
        Ok(Summary {
            meta: Meta {
                backend: "strace log".into(),
                timed: self.timed,
                in_flight: self.in_flight,
                skipped_lines: self.skipped,
                stop_reason: "end of log".into(),
                rejected_latencies: self.rejected_latencies,
                ..Meta::default()
            },
            threads,
        })
    }
}

/// Summarises an strace log held in memory.
pub fn parse(text: &str) -> Result<Summary, LogError> {
    let mut p = LogParser::default();
    for l in text.lines() {
        p.line(l);
    }
    p.finish()
}

/// Summarises an strace log read line by line, refusing a line over [`MAX_LINE_BYTES`].
pub fn parse_reader(mut r: impl BufRead) -> Result<Summary, LogError> {
    let mut p = LogParser::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = (&mut r)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|source| LogError::Read {
                line: p.lines + 1,
                source,
            })?;
        if n == 0 {
            break;
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        } else if buf.len() > MAX_LINE_BYTES {
            return Err(LogError::LineTooLong {
                line: p.lines + 1,
                limit: MAX_LINE_BYTES,
            });
        }
        p.line(&String::from_utf8_lossy(&buf));
        if p.done {
            break;
        }
    }
    p.finish()
}

/// Opens a log for [`parse_reader`] without hanging on a FIFO: the open itself never waits
/// for a writer (O_NONBLOCK), then rprof waits for one in `poll` (Ctrl-C ends it), saying so
/// after a second, and reads in blocking mode from then on.
pub fn open(path: &Path) -> std::io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if f.metadata()?.file_type().is_fifo() {
        let mut told = false;
        loop {
            let mut p = libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd. A FIFO no writer has opened yet reports nothing (no
            // POLLHUP), so this waits for the first writer.
            let n = unsafe { libc::poll(&mut p, 1, 1000) };
            if n > 0 {
                break;
            }
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            if !told {
                eprintln!(
                    "rprof: {} is a FIFO with no writer yet: waiting for one (Ctrl-C to stop)",
                    path.display()
                );
                told = true;
            }
        }
    }
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    unsafe {
        let fl = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(f.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
    Ok(f)
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
    fn attach_notices_inside_lines() {
        assert_eq!(
            notice_split("[pid 1] getppid(strace: Process 2 attached"),
            Some(16)
        );
        assert_eq!(
            notice_split("x = 1 <0.1>strace: Process 22 detached  "),
            Some(11)
        );
        // A notice on its own line is an ignored line, not a cut one.
        assert_eq!(notice_split("strace: Process 2 attached"), None);
        assert_eq!(
            notice_split("[pid 1] write(1, \"strace: Process \", 16) = 16"),
            None
        );
        let s = parse("1 read(0, strace: Process 2 attached\n\"x\", 1) = 1 <0.5>\n").unwrap();
        assert_eq!(s.threads[0].syscalls["read"].calls, 1);
        assert_eq!(s.meta.skipped_lines, 0);
    }

    #[test]
    fn clone_thread_children_join_their_process() {
        let log =
            "10 clone(child_stack=0x1, flags=CLONE_VM|CLONE_THREAD|CLONE_SIGHAND) = 11 <0.1>\n\
                   11 clone(child_stack=0x1, flags=CLONE_VM|CLONE_THREAD <unfinished ...>\n\
                   11 <... clone resumed>, tls=0x2) = 12 <0.1>\n\
                   10 clone(child_stack=NULL, flags=SIGCHLD) = 13 <0.1>\n\
                   12 getpid() = 10 <0.1>\n13 getpid() = 13 <0.1>\n";
        let s = parse(log).unwrap();
        let pids: Vec<(u32, u32)> = s.threads.iter().map(|t| (t.tid, t.pid)).collect();
        assert_eq!(pids, vec![(10, 10), (11, 10), (12, 10), (13, 13)]);
    }

    #[test]
    fn absurd_latencies_are_refused() {
        let s = parse("1 read(0, \"\", 1) = 0 <18446744073.0>\n1 read(0, \"\", 1) = 0 <1.0>\n")
            .unwrap();
        let r = &s.threads[0].syscalls["read"];
        assert_eq!((r.calls, r.timed, r.total_ns), (2, 1, 1_000_000_000));
        assert_eq!(s.meta.rejected_latencies, 1);
    }

    #[test]
    fn overlong_line_is_refused() {
        let big = vec![b'a'; MAX_LINE_BYTES + 10];
        match parse_reader(&big[..]) {
            Err(LogError::LineTooLong { line: 1, .. }) => {}
            other => panic!("{:?}", other.map(|s| s.meta.skipped_lines)),
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse("\u{0}\u{1}binary\nnot a log\n").is_err());
        assert!(parse("").is_err());
    }
}
