//! Targets and the stop conditions shared by both backends: checking PIDs, Ctrl-C/SIGTERM, `-d`
//! and the target's exit. Launching a command lives in [`crate::process`], shared with record.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{self, SigHandler, Signal};

/// The signal that asked us to stop (0 when none yet). A plain atomic is all a signal handler
/// may touch.
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);
/// How many stop signals arrived: a second one means "stop now".
static STOP_COUNT: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop_signal(sig: libc::c_int) {
    STOP_SIGNAL.store(sig, Ordering::SeqCst);
    STOP_COUNT.fetch_add(1, Ordering::SeqCst);
}

/// How many stop signals arrived so far.
pub fn stop_count() -> i32 {
    STOP_COUNT.load(Ordering::SeqCst)
}

/// Installs SIGINT/SIGTERM handlers that only record the signal. No SA_RESTART, so a blocking
/// `poll`/`waitpid` returns EINTR and the loops notice at once.
pub fn install_stop_handlers() -> Result<()> {
    let act = signal::SigAction::new(
        SigHandler::Handler(on_stop_signal),
        signal::SaFlags::empty(),
        signal::SigSet::empty(),
    );
    for s in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
        unsafe { signal::sigaction(s, &act) }.context("installing signal handler")?;
    }
    Ok(())
}

/// The stop signal received so far, if any.
pub fn stop_signal() -> Option<Signal> {
    match STOP_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Signal::try_from(s).ok(),
    }
}

/// A deadline from `-d`, counted from [`Deadline::start`] (when the events are in place, so
/// a slow attach to thousands of threads does not eat the tracing time).
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    dur: Option<Duration>,
    at: Option<Instant>,
}

impl Deadline {
    /// From `-d SECONDS`.
    pub fn after(secs: Option<f64>) -> Self {
        Deadline {
            // Validated by the command; a value too large for a Duration means no deadline.
            dur: secs.and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok()),
            at: None,
        }
    }
    /// Starts the clock.
    pub fn start(&mut self) {
        self.at = self.dur.and_then(|d| Instant::now().checked_add(d));
    }
    /// Whether it passed (never before `start`).
    pub fn passed(&self) -> bool {
        self.at.is_some_and(|d| Instant::now() >= d)
    }
    /// Milliseconds left, capped at `cap`, for poll timeouts.
    pub fn poll_ms(&self, cap: i32) -> i32 {
        match self.at {
            None => cap,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now()).as_millis();
                (left.min(cap as u128) as i32).max(0)
            }
        }
    }
}

/// Checks that `pid` exists and returns its thread ids.
pub fn threads_of(pid: u32) -> Result<Vec<u32>> {
    let tids = crate::process::threads_of(pid);
    if tids.is_empty() {
        bail!("no such process: {pid} (check the PID with `ps -p {pid}`)");
    }
    Ok(tids)
}

/// A pidfd, readable once the process has exited: lets `poll` wait for the target's exit
/// next to the ring buffers.
pub fn pidfd(pid: u32) -> Option<OwnedFd> {
    // SAFETY: plain syscall with integer arguments; the result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Some(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) })
}

/// Whether a pidfd says its process has exited (without blocking).
pub fn pidfd_exited(fd: &OwnedFd) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents != 0
}

/// Descriptors kept open until the end of tracing (the auto-backend probe): while one event
/// stays on a tracepoint, closing the others does not unregister it.
static KEEP: std::sync::Mutex<Vec<OwnedFd>> = std::sync::Mutex::new(Vec::new());

/// Keeps `fd` open until [`close_parallel`].
pub fn keep_until_end(fd: OwnedFd) {
    if let Ok(mut k) = KEEP.lock() {
        k.push(fd);
    }
}

/// Closes perf/BPF descriptors on parallel threads. The last close of an event on a tracepoint
/// unregisters it and waits for an RCU grace period (~60 ms here); one after another, that
/// was most of rprof's fixed cost.
pub fn close_parallel(mut fds: Vec<OwnedFd>) {
    if let Ok(mut k) = KEEP.lock() {
        fds.append(&mut k);
    }
    // A handful of threads is enough: only the last close per tracepoint waits long.
    let per = fds.len().div_ceil(8).max(1);
    let mut chunks = Vec::new();
    while !fds.is_empty() {
        let rest = fds.split_off(per.min(fds.len()));
        chunks.push(std::mem::replace(&mut fds, rest));
    }
    std::thread::scope(|s| {
        for chunk in chunks {
            s.spawn(move || drop(chunk));
        }
    });
}

/// The stop reason when `-d` ran out (first in the reason when a launched command then exited).
pub const DURATION_ELAPSED: &str = "duration (-d) elapsed";

/// What a tracing loop should do after [`Stopper::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Keep tracing.
    Go,
    /// Stop tracing now, for this reason.
    Stop(String),
}

/// The stop policy every backend shares, the same as `record`'s: an attached target is left
/// at the first stop request (Ctrl-C, SIGTERM, `-d` running out) and runs on untraced; a
/// launched command is asked to end instead (the signal passed on, SIGTERM when `-d` runs
/// out) and traced until it exits, so its last calls are counted. A command that takes more
/// than 2 s to end is named on stderr; a further stop request kills it (SIGKILL), and one
/// more after that stops tracing at once.
pub struct Stopper {
    launched: Option<u32>,
    deadline: Deadline,
    handled: i32,
    /// The first stop request, once there was one.
    reason: Option<String>,
    waiting_since: Option<Instant>,
    killed: bool,
}

impl Stopper {
    /// A policy for the launched command `launched` (None when attached), with `deadline`
    /// already started.
    pub fn new(launched: Option<u32>, deadline: Deadline) -> Self {
        Stopper {
            launched,
            deadline,
            handled: 0,
            reason: None,
            waiting_since: None,
            killed: false,
        }
    }

    fn send(&self, sig: Signal) {
        if let Some(p) = self.launched {
            let _ = signal::kill(nix::unistd::Pid::from_raw(p as i32), sig);
        }
    }

    /// Checks the stop conditions; `exited` says whether every target has exited.
    pub fn check(&mut self, exited: bool) -> Verdict {
        let n = stop_count();
        if n > self.handled {
            self.handled = n;
            let sig = stop_signal();
            let name = sig.map_or_else(|| "a signal".to_string(), |s| s.to_string());
            match (self.launched, self.reason.is_some()) {
                (None, _) => {
                    self.reason.get_or_insert(format!("stopped by {name}"));
                    return Verdict::Stop(self.reason.clone().unwrap_or_default());
                }
                (Some(_), false) => {
                    self.reason = Some(format!("stopped by {name}"));
                    if let Some(s) = sig {
                        self.send(s);
                    }
                    self.waiting_since = Some(Instant::now());
                }
                (Some(_), true) if !self.killed => {
                    self.send(Signal::SIGKILL);
                    self.killed = true;
                }
                (Some(_), true) => {
                    return Verdict::Stop(format!(
                        "{}, then stopped by {name} before the command exited",
                        self.reason.clone().unwrap_or_default()
                    ));
                }
            }
        }
        if self.reason.is_none() && self.deadline.passed() {
            self.reason = Some(DURATION_ELAPSED.into());
            if self.launched.is_none() {
                return Verdict::Stop(self.reason.clone().unwrap_or_default());
            }
            // As `record -d` does: the command is asked to end and traced to its end.
            self.send(Signal::SIGTERM);
            eprintln!(
                "rprof: duration (-d) elapsed: sent SIGTERM to the command, tracing until it exits"
            );
            self.waiting_since = Some(Instant::now());
        }
        if exited {
            return Verdict::Stop(self.exit_reason());
        }
        if let Some(t) = self.waiting_since {
            if t.elapsed() > Duration::from_secs(2) {
                eprintln!("rprof: waiting for the command to exit; Ctrl-C now kills it");
                self.waiting_since = None;
            }
        }
        Verdict::Go
    }

    /// Why tracing ended when the targets exited: "target exited", after the stop request
    /// that asked them to, if any.
    pub fn exit_reason(&self) -> String {
        self.reason
            .clone()
            .map_or_else(|| "target exited".into(), |r| format!("{r}; target exited"))
    }

    /// Milliseconds a loop may wait before the next check, capped at `cap`.
    pub fn poll_ms(&self, cap: i32) -> i32 {
        if self.reason.is_some() {
            // The deadline already fired: only the command's exit or a signal matters now.
            return cap;
        }
        self.deadline.poll_ms(cap)
    }
}
