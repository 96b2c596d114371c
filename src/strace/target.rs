//! Targets and the stop conditions shared by both backends: launching a command held until the
//! tracer is ready, checking PIDs, Ctrl-C/SIGTERM, `-d` and the target's exit.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::signal::{self, SigHandler, Signal};
use nix::unistd::{ForkResult, Pid};

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

/// A deadline from `-d`.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(pub Option<Instant>);

impl Deadline {
    /// From `-d SECONDS`.
    pub fn after(secs: Option<f64>) -> Self {
        Deadline(secs.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0))))
    }
    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }
    /// Milliseconds left, capped at `cap`, for poll timeouts.
    pub fn poll_ms(&self, cap: i32) -> i32 {
        match self.0 {
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
    let dir = format!("/proc/{pid}/task");
    let rd = std::fs::read_dir(&dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow!("no such process: {pid} (check the PID with `ps -p {pid}`)")
        } else {
            anyhow!("cannot read {dir}: {e}")
        }
    })?;
    let mut tids: Vec<u32> = rd
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    if tids.is_empty() {
        bail!("no such process: {pid} (it has no threads left)");
    }
    Ok(tids)
}

/// The comm of a thread, best effort.
pub fn comm_of(pid: u32, tid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
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

/// A launched command, held before `execvp` until [`Launched::release`].
pub struct Launched {
    /// The child's pid.
    pub pid: Pid,
    go: Option<OwnedFd>,
    status: OwnedFd,
    argv0: String,
}

/// Forks a child that waits on a pipe, then execs `argv`. Held so the tracer can attach (perf
/// events with enable_on_exec, or PTRACE_SEIZE) before the program's first instruction.
pub fn launch(argv: &[String]) -> Result<Launched> {
    let Some(argv0) = argv.first() else {
        bail!("no command given after --");
    };
    let cargs: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<std::result::Result<_, _>>()
        .context("command arguments contain a NUL byte")?;
    let (go_r, go_w) = nix::unistd::pipe().context("pipe")?;
    // The status pipe is close-on-exec: EOF means exec worked, 4 bytes are the exec errno.
    let (st_r, st_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    // SAFETY: the child only calls async-signal-safe functions (read, execvp, write, _exit).
    match unsafe { nix::unistd::fork() }.context("fork")? {
        ForkResult::Child => {
            drop(go_w);
            drop(st_r);
            // The parent's stop handlers must not outlive exec; defaults are restored by exec
            // for handled signals anyway, but Ctrl-C before exec should kill the child.
            let mut b = [0u8; 1];
            // SAFETY: reading one byte into a valid buffer.
            let n = unsafe { libc::read(go_r.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
            if n == 1 {
                let mut ptrs: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
                ptrs.push(std::ptr::null());
                // SAFETY: NUL-terminated argv of valid C strings.
                unsafe { libc::execvp(ptrs[0], ptrs.as_ptr()) };
                let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                let bytes = errno.to_ne_bytes();
                // SAFETY: writing 4 bytes from a valid buffer.
                unsafe { libc::write(st_w.as_raw_fd(), bytes.as_ptr().cast(), 4) };
                // SAFETY: terminating the child without running the parent's destructors.
                unsafe { libc::_exit(127) };
            }
            // SAFETY: as above.
            unsafe { libc::_exit(126) };
        }
        ForkResult::Parent { child } => {
            drop(go_r);
            drop(st_w);
            Ok(Launched {
                pid: child,
                go: Some(go_w),
                status: st_r,
                argv0: argv0.clone(),
            })
        }
    }
}

impl Launched {
    /// Lets the child exec, and reports an exec failure as an error (after reaping it).
    pub fn release(&mut self) -> Result<()> {
        if let Some(go) = self.go.take() {
            nix::unistd::write(&go, &[1u8]).context("releasing the command")?;
        }
        let mut buf = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match nix::unistd::read(&self.status, &mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e).context("waiting for the command to start"),
            }
        }
        if got == 4 {
            let errno = i32::from_ne_bytes(buf);
            let _ = nix::sys::wait::waitpid(self.pid, None);
            let e = std::io::Error::from_raw_os_error(errno);
            let hint = if errno == libc::ENOENT {
                " (command not found: check the name and PATH)"
            } else if errno == libc::EACCES {
                " (not executable: check its permissions)"
            } else {
                ""
            };
            bail!("cannot run `{}`: {e}{hint}", self.argv0);
        }
        Ok(())
    }

    /// Kills and reaps a child that was never released (setup failed).
    pub fn abandon(self) {
        let _ = signal::kill(self.pid, Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}

/// A wait status in words, like a shell would say it.
pub fn describe_status(st: nix::sys::wait::WaitStatus) -> Option<(String, u8)> {
    use nix::sys::wait::WaitStatus;
    match st {
        WaitStatus::Exited(_, code) => Some((format!("exited with status {code}"), code as u8)),
        WaitStatus::Signaled(_, sig, core) => Some((
            format!(
                "killed by {sig}{}",
                if core { " (core dumped)" } else { "" }
            ),
            128u8.wrapping_add(sig as u8),
        )),
        _ => None,
    }
}
