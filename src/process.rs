//! Processes rprof launches or attaches to, shared by `record` and `strace-summary`: launching
//! a command held before `execvp` until the profiler is ready, describing how it ended, and
//! reading threads and names from /proc.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, pipe2, ForkResult, Pid};

/// Finds `cmd` the way execvp will, so a missing command is reported before anything starts.
pub fn resolve_command(cmd: &str) -> Result<()> {
    if cmd.contains('/') {
        if !Path::new(cmd).exists() {
            bail!("command not found: {cmd} (no such file)");
        }
        return Ok(());
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        if Path::new(dir).join(cmd).is_file() {
            return Ok(());
        }
    }
    bail!("command not found: {cmd} (not in PATH)");
}

/// A launched command, held before `execvp` until [`Launched::release`], so events opened
/// with enable_on_exec (or a PTRACE_SEIZE) are in place before its first instruction.
pub struct Launched {
    /// Its pid.
    pub pid: u32,
    argv0: String,
    go: Option<OwnedFd>,
    err: OwnedFd,
    reaped: Option<WaitStatus>,
}

/// Forks the command; the child waits on a pipe, then execs.
pub fn launch(argv: &[String]) -> Result<Launched> {
    let Some(first) = argv.first() else {
        bail!("no command given after --");
    };
    resolve_command(first)?;
    // Everything the child needs is allocated before fork: after it only async-signal-safe
    // calls are allowed.
    let cargs: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .context("the command contains a NUL byte")?;
    let mut ptrs: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let (go_r, go_w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    // Close-on-exec: EOF means the exec worked; four bytes are the exec's errno.
    let (err_r, err_w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the child only calls close, prctl, getppid, read, execvp, write and _exit
    // before exec.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            // Without the parent's ends, a parent that dies before releasing gives the child
            // EOF (and exit) instead of a wait forever.
            drop(go_w);
            drop(err_r);
            // SAFETY: prctl, getppid and _exit are async-signal-safe syscalls.
            unsafe { die_with_parent(parent) };
            let mut b = [0u8; 1];
            // SAFETY: plain syscalls on fds we own, with valid buffers.
            unsafe {
                // The child still runs the parent's signal handlers until exec, and they do
                // not restart syscalls: a Ctrl-C must not turn into a failed launch.
                let mut n = libc::read(go_r.as_raw_fd(), b.as_mut_ptr().cast(), 1);
                while n == -1 && *libc::__errno_location() == libc::EINTR {
                    n = libc::read(go_r.as_raw_fd(), b.as_mut_ptr().cast(), 1);
                }
                if n != 1 {
                    libc::_exit(126);
                }
                libc::execvp(ptrs[0], ptrs.as_ptr());
                let e = *libc::__errno_location();
                let bytes = e.to_ne_bytes();
                libc::write(err_w.as_raw_fd(), bytes.as_ptr().cast(), 4);
                libc::_exit(127);
            }
        }
        ForkResult::Parent { child } => Ok(Launched {
            pid: child.as_raw() as u32,
            argv0: first.clone(),
            go: Some(go_w),
            err: err_r,
            reaped: None,
        }),
    }
}

/// Makes the calling (freshly forked) process receive SIGKILL when the thread that forked it
/// ends, so a command rprof launched does not outlive an rprof killed with SIGKILL (or dying
/// any other way that skips its own shutdown, where the command is asked to end and waited
/// for). SIGKILL rather than SIGTERM: this is the last resort after rprof is gone, when nobody
/// is left to wait for a command that ignores SIGTERM. The setting survives exec, except into
/// a set-user-ID/set-group-ID program or one with file capabilities, where the kernel clears it.
///
/// The signal follows the forking *thread*: callers fork from rprof's main thread, which lives
/// as long as rprof does.
///
/// # Safety
/// Call only in the child between fork and exec (it may `_exit`), with `parent` the pid the
/// parent had before forking.
pub unsafe fn die_with_parent(parent: libc::pid_t) {
    // SAFETY: plain syscalls with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
        // The parent may have died between fork and prctl: then no signal will come, and we
        // were re-parented (to init or a subreaper). Leave now instead of running unsupervised.
        if libc::getppid() != parent {
            libc::_exit(126);
        }
    }
}

/// `Command::pre_exec` hook doing [`die_with_parent`] for a command started with
/// `std::process::Command` (valgrind for `rprof massif`).
pub fn die_with_parent_hook() -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    move || {
        // SAFETY: runs in the child between fork and exec, as die_with_parent requires.
        unsafe { die_with_parent(parent) };
        Ok(())
    }
}

impl Launched {
    /// Lets the child exec; fails (after reaping it) when the exec failed.
    pub fn release(&mut self) -> Result<()> {
        if let Some(go) = self.go.take() {
            // A child that died before its release (killed from outside) has closed the
            // pipe: with SIGPIPE at its default the write would end rprof without a word, so
            // it is ignored for this one write and the child's fate reported instead.
            // SAFETY: swapping a signal disposition and restoring it; no handler runs here.
            let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
            let wrote = nix::unistd::write(&go, &[1u8]);
            // SAFETY: as above.
            unsafe { libc::signal(libc::SIGPIPE, old) };
            if let Err(e) = wrote {
                let how = self
                    .wait_blocking()
                    .and_then(|s| describe_status(&s))
                    .map_or_else(|| e.to_string(), |(text, _)| text);
                bail!("`{}` ended before it could start: {how}", self.argv0);
            }
        }
        let mut buf = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match nix::unistd::read(&self.err, &mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e).context("waiting for the command to start"),
            }
        }
        if got == 4 {
            let errno = i32::from_ne_bytes(buf);
            let _ = self.wait_blocking();
            let e = std::io::Error::from_raw_os_error(errno);
            let hint = match errno {
                libc::ENOENT => " (command not found: check the name and PATH)",
                libc::EACCES => " (not executable: check its permissions)",
                _ => "",
            };
            bail!("cannot run `{}`: {e}{hint}", self.argv0);
        }
        Ok(())
    }

    /// Kills and reaps a child that never got to run its command (setup failed).
    pub fn abort(&mut self) {
        let _ = nix::sys::signal::kill(Pid::from_raw(self.pid as i32), nix::sys::signal::SIGKILL);
        self.go = None;
        let _ = self.wait_blocking();
    }

    /// Sends a signal to the child unless it was reaped.
    pub fn signal(&self, sig: i32) {
        if self.reaped.is_none() {
            // SAFETY: kill with a pid we forked and have not reaped.
            unsafe { libc::kill(self.pid as i32, sig) };
        }
    }

    /// Reaps the child if it has exited; returns its status once it has.
    pub fn poll_exit(&mut self) -> Option<WaitStatus> {
        if self.reaped.is_some() {
            return self.reaped;
        }
        match waitpid(Pid::from_raw(self.pid as i32), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => None,
            Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                self.reaped = Some(s);
                self.reaped
            }
            Ok(_) => None,
            Err(_) => {
                // ECHILD: reaped elsewhere (rprof resets SIGCHLD at start, so this should not
                // happen); gone, with its status unknown: 255 rather than a made-up success.
                self.reaped = Some(WaitStatus::Exited(Pid::from_raw(self.pid as i32), 255));
                self.reaped
            }
        }
    }

    /// Waits for the child to exit.
    pub fn wait_blocking(&mut self) -> Option<WaitStatus> {
        loop {
            if let Some(s) = self.poll_exit() {
                return Some(s);
            }
            match waitpid(Pid::from_raw(self.pid as i32), None) {
                Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    self.reaped = Some(s);
                    return self.reaped;
                }
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return self.poll_exit(),
            }
        }
    }
}

/// Whether `pid` lives in another mount namespace than rprof (a container), where the paths
/// in its maps name other files; false when either namespace cannot be read.
pub fn in_other_mount_ns(pid: u32) -> bool {
    static OURS: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let ours = OURS.get_or_init(|| std::fs::read_link("/proc/self/ns/mnt").ok());
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).ok();
    matches!((ours, theirs), (Some(a), Some(b)) if *a != b)
}

/// How a process ended, in words (`exited with status 3`, `was killed by SIGINT`) and as the
/// exit code a shell would report (3, 130); None for a status that is not an end.
pub fn describe_status(s: &WaitStatus) -> Option<(String, u8)> {
    match s {
        WaitStatus::Exited(_, code) => Some((format!("exited with status {code}"), *code as u8)),
        WaitStatus::Signaled(_, sig, core) => Some((
            format!(
                "was killed by {}{}",
                sig.as_str(),
                if *core { " (core dumped)" } else { "" }
            ),
            128u8.wrapping_add(*sig as u8),
        )),
        _ => None,
    }
}

/// The thread ids of `pid`, sorted; empty when it does not exist.
pub fn threads_of(pid: u32) -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// A thread's name (`comm`), None when it cannot be read.
pub fn thread_name(pid: u32, tid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// CLOCK_MONOTONIC in nanoseconds: the clock perf timestamps use, so user-space times compare
/// with sample times.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid timespec pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
