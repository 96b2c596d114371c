//! The ptrace backend: `PTRACE_SEIZE` on every thread (and on a held launched child), syscall
//! stops read with `PTRACE_GET_SYSCALL_INFO` (which says entry or exit, so a thread seized in
//! the middle of a call is never mis-paired), clone/fork/vfork followed, and every thread
//! detached when tracing stops so an attached target runs on untraced.

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::model::{Recorder, ThreadSummary};
use super::target::{self, Deadline, Stopper, Verdict};

/// What the ptrace backend traces.
pub enum PtraceTarget {
    /// A launched child, held before exec.
    Launch(u32),
    /// Existing processes.
    Attach(Vec<u32>),
}

/// Result of a ptrace session.
pub struct PtraceRun {
    /// Per-thread statistics.
    pub threads: Vec<ThreadSummary>,
    /// Calls in flight at start or stop (not counted).
    pub in_flight: u64,
    /// Why tracing stopped.
    pub stop_reason: String,
}

#[repr(C)]
#[derive(Default)]
struct SyscallInfo {
    op: u8,
    _pad: [u8; 3],
    arch: u32,
    ip: u64,
    sp: u64,
    /// entry: nr, args[6]; exit: rval (i64), is_error (u8).
    data: [u64; 7],
}

const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
const PTRACE_LISTEN: libc::c_uint = 0x4208;
const OP_ENTRY: u8 = 1;

fn is_stop_signal(s: Signal) -> bool {
    matches!(
        s,
        Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU
    )
}
const OP_EXIT: u8 = 2;

fn syscall_info(tid: Pid) -> Option<SyscallInfo> {
    let mut info = SyscallInfo::default();
    // SAFETY: the kernel writes at most size_of::<SyscallInfo>() bytes into `info`.
    let r = unsafe {
        libc::ptrace(
            PTRACE_GET_SYSCALL_INFO,
            tid.as_raw(),
            std::mem::size_of::<SyscallInfo>(),
            &mut info as *mut SyscallInfo,
        )
    };
    (r >= 0).then_some(info)
}

fn attach_error(e: Errno, pid: u32) -> anyhow::Error {
    match e {
        Errno::ESRCH => anyhow!("no such process: {pid}"),
        Errno::EPERM | Errno::EACCES => {
            let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
                .map(|s| format!("kernel.yama.ptrace_scope={}", s.trim()))
                .unwrap_or_else(|_| "no Yama".into());
            anyhow!(
                "permission denied attaching to {pid} with ptrace ({scope}): run as root or as \
                 its owner with CAP_SYS_PTRACE (`sudo setcap cap_sys_ptrace+ep $(which rprof)`), \
                 or allow it with `sudo sysctl kernel.yama.ptrace_scope=0`; the process may \
                 also be traced already (by a debugger or strace)"
            )
        }
        e => anyhow!("cannot attach to {pid} with ptrace: {e}"),
    }
}

fn tgid_of(tid: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Tgid:").and_then(|v| v.trim().parse().ok()))
        })
        .unwrap_or(tid)
}

extern "C" fn on_alarm(_: libc::c_int) {}

/// A repeating 100 ms SIGALRM: it interrupts a blocking waitpid so stop requests and the
/// deadline are noticed even when every tracee is blocked.
fn start_ticker() -> Result<()> {
    let act = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(on_alarm),
        nix::sys::signal::SaFlags::empty(),
        nix::sys::signal::SigSet::empty(),
    );
    // SAFETY: the handler does nothing.
    unsafe { nix::sys::signal::sigaction(Signal::SIGALRM, &act) }.context("SIGALRM handler")?;
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 100_000,
    };
    let it = libc::itimerval {
        it_interval: tv,
        it_value: tv,
    };
    // SAFETY: valid itimerval.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()) };
    Ok(())
}

fn stop_ticker() {
    let z = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let it = libc::itimerval {
        it_interval: z,
        it_value: z,
    };
    // SAFETY: valid itimerval.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()) };
}

const OPTIONS: Options = Options::PTRACE_O_TRACESYSGOOD
    .union(Options::PTRACE_O_TRACECLONE)
    .union(Options::PTRACE_O_TRACEFORK)
    .union(Options::PTRACE_O_TRACEVFORK)
    .union(Options::PTRACE_O_TRACEEXEC);

/// Traces until the target exits, a stop signal arrives or the deadline passes.
pub fn run(
    target: PtraceTarget,
    counts_only: bool,
    mut deadline: Deadline,
    release: &mut dyn FnMut() -> Result<()>,
    status: &mut Option<WaitStatus>,
) -> Result<PtraceRun> {
    let mut traced: HashSet<Pid> = HashSet::new();
    let mut tgids: HashMap<Pid, u32> = HashMap::new();
    let mut names: HashMap<u32, String> = HashMap::new();
    let launched = match &target {
        PtraceTarget::Launch(p) => Some(Pid::from_raw(*p as i32)),
        PtraceTarget::Attach(_) => None,
    };
    match &target {
        PtraceTarget::Launch(p) => {
            let pid = Pid::from_raw(*p as i32);
            ptrace::seize(pid, OPTIONS | Options::PTRACE_O_EXITKILL)
                .map_err(|e| attach_error(e, *p))?;
            // No interrupt: the held child must run to read the go byte and exec; the exec
            // event stop (TRACEEXEC) is where syscall tracing starts.
            traced.insert(pid);
            tgids.insert(pid, *p);
        }
        PtraceTarget::Attach(pids) => {
            for &p in pids {
                // New threads appear while seizing; those started after a seize are followed by
                // TRACECLONE, the others show up in the next scan.
                loop {
                    let mut new = 0;
                    for tid in target::threads_of(p)? {
                        let t = Pid::from_raw(tid as i32);
                        if traced.contains(&t) {
                            continue;
                        }
                        match ptrace::seize(t, OPTIONS) {
                            Ok(()) => {}
                            Err(Errno::ESRCH) if tid != p => continue,
                            // Started by a thread seized a moment ago: TRACECLONE already
                            // attached it to us.
                            Err(Errno::EPERM) if tid != p => {
                                traced.insert(t);
                                tgids.insert(t, p);
                                continue;
                            }
                            Err(e) => return Err(attach_error(e, tid)),
                        }
                        let _ = ptrace::interrupt(t);
                        traced.insert(t);
                        tgids.insert(t, p);
                        if let Some(c) = crate::process::thread_name(p, tid) {
                            names.insert(tid, c);
                        }
                        new += 1;
                    }
                    if new == 0 {
                        break;
                    }
                }
            }
        }
    }
    release()?;
    deadline.start();
    start_ticker()?;
    let mut rec = Recorder::default();
    let mut detaching = false;
    let mut stopper = Stopper::new(launched.map(|p| p.as_raw() as u32), deadline);
    let mut stop_reason = None;
    let result = loop {
        if !detaching {
            // Tracees still alive are what the loop waits on: their exits end it below.
            let why = match stopper.check(false) {
                Verdict::Stop(r) => Some(r),
                Verdict::Go => None,
            };
            if let Some(w) = why {
                stop_reason = Some(w);
                detaching = true;
                for &t in &traced {
                    let _ = ptrace::interrupt(t);
                }
            }
        }
        if traced.is_empty() {
            break Ok(());
        }
        let st = match waitpid(None, Some(WaitPidFlag::__WALL)) {
            Ok(st) => st,
            Err(Errno::EINTR) => continue,
            Err(Errno::ECHILD) => break Ok(()),
            Err(e) => break Err(anyhow!("waitpid: {e}")),
        };
        let t = crate::process::monotonic_ns();
        match st {
            WaitStatus::PtraceSyscall(pid) => {
                if detaching {
                    let _ = ptrace::detach(pid, None);
                    traced.remove(&pid);
                    continue;
                }
                traced.insert(pid);
                let tid = pid.as_raw() as u32;
                let tgid = *tgids.entry(pid).or_insert_with(|| {
                    let g = tgid_of(tid);
                    // Named at first sight: a thread may be gone by the end.
                    if let Some(c) = crate::process::thread_name(g, tid) {
                        names.insert(tid, c);
                    }
                    g
                });
                if let Some(info) = syscall_info(pid) {
                    match info.op {
                        OP_ENTRY => {
                            let nr = info.data[0] as u32;
                            if counts_only {
                                rec.count_entry(tgid, tid, nr);
                            } else {
                                rec.enter(tgid, tid, nr, t);
                            }
                        }
                        OP_EXIT => {
                            let ret = info.data[0] as i64;
                            if counts_only {
                                // The exit does not carry the number: the entry's is used.
                                rec.exit_error_counts_only(tgid, tid, ret);
                            } else {
                                rec.exit(tgid, tid, None, ret, t);
                            }
                        }
                        _ => {}
                    }
                }
                let _ = ptrace::syscall(pid, None);
            }
            WaitStatus::PtraceEvent(pid, sig, ev) => {
                if detaching {
                    let _ = ptrace::detach(pid, None);
                    traced.remove(&pid);
                    continue;
                }
                if ev == libc::PTRACE_EVENT_STOP && is_stop_signal(sig) {
                    // A group-stop (SIGSTOP, Ctrl-Z...): stay stopped, as without a tracer,
                    // but keep listening for the SIGCONT that ends it.
                    // SAFETY: PTRACE_LISTEN on a tracee in group-stop, no pointers.
                    unsafe { libc::ptrace(PTRACE_LISTEN, pid.as_raw(), 0, 0) };
                    continue;
                }
                if ev == libc::PTRACE_EVENT_EXEC {
                    // exec renames the process; after it the pid is the thread group leader.
                    let p = pid.as_raw() as u32;
                    tgids.insert(pid, p);
                    if let Some(c) = crate::process::thread_name(p, p) {
                        names.insert(p, c);
                    }
                    traced.insert(pid);
                    let _ = ptrace::syscall(pid, None);
                    continue;
                }
                // clone/fork/vfork: the new task is auto-attached and reports its own stop,
                // possibly before this event; both paths add it.
                if let Ok(child) = ptrace::getevent(pid) {
                    let c = Pid::from_raw(child as i32);
                    if child > 0 && !traced.contains(&c) {
                        traced.insert(c);
                    }
                }
                traced.insert(pid);
                let _ = ptrace::syscall(pid, None);
            }
            WaitStatus::Stopped(pid, sig) => {
                let inject = if sig == Signal::SIGSTOP && !traced.contains(&pid) {
                    None
                } else {
                    Some(sig)
                };
                if detaching {
                    let _ = ptrace::detach(pid, inject);
                    traced.remove(&pid);
                    continue;
                }
                traced.insert(pid);
                let _ = ptrace::syscall(pid, inject);
            }
            WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _) => {
                traced.remove(&pid);
                if Some(pid) == launched {
                    *status = Some(st);
                }
            }
            _ => {}
        }
    };
    stop_ticker();
    result?;
    let stop_reason = stop_reason.unwrap_or_else(|| stopper.exit_reason());
    let (threads, in_flight) = rec.finish(counts_only, &|pid, tid| {
        names
            .get(&tid)
            .cloned()
            .or_else(|| crate::process::thread_name(pid, tid))
            .unwrap_or_else(|| "?".into())
    });
    Ok(PtraceRun {
        threads,
        in_flight,
        stop_reason,
    })
}
