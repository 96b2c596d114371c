//! Counts-only tracing in the kernel: small hand-assembled eBPF programs on the
//! `raw_syscalls:sys_enter`/`sys_exit` tracepoints add one to a per-CPU hash map entry keyed by
//! (process, thread, syscall, error code). Nothing crosses a ring buffer, so nothing can be
//! lost and the per-call cost is a map update. A third program on `sched:sched_process_fork`
//! adds the children of traced processes to the set of traced pids.
//!
//! The programs see every task on the machine and leave at once when the task's process is not
//! in the traced set. When BPF is unavailable, the caller falls back to sampling.
//!
//! A launched command enters the set *armed* ([`ARMED`]): until its exec it is still a copy of
//! rprof (reading the go byte, trying each PATH entry in execvp), and none of that is the
//! command's. A fourth program, on `sched:sched_process_exec`, makes it traced ([`TRACED`]) and
//! counts the exec that succeeded, as `strace -f` shows it.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use anyhow::{anyhow, bail, Result};
use perf_event_open_sys as sys;
use sys::bindings as b;

use super::model::{Recorder, ThreadSummary};
use super::target::{self, Deadline, Stopper, Verdict};

const BPF_MAP_CREATE: i32 = 0;
const BPF_MAP_LOOKUP_ELEM: i32 = 1;
const BPF_MAP_UPDATE_ELEM: i32 = 2;
const BPF_MAP_GET_NEXT_KEY: i32 = 4;
const BPF_PROG_LOAD: i32 = 5;
const MAP_HASH: u32 = 1;
const MAP_PERCPU_HASH: u32 = 5;
const PROG_TRACEPOINT: u32 = 5;
const MAP_PERCPU_ARRAY: u32 = 6;
/// Syscall numbers counted through the array fast path.
const ARRAY_SLOTS: u32 = 1024;

fn bpf(cmd: i32, attr: &mut [u8; 128]) -> std::io::Result<i64> {
    // SAFETY: attr is a zero-padded bpf_attr of the size passed.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), attr.len() as u32) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn put32(a: &mut [u8; 128], off: usize, v: u32) {
    a[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}
fn put64(a: &mut [u8; 128], off: usize, v: u64) {
    a[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

fn map_create(ty: u32, key: u32, val: u32, max: u32) -> Result<OwnedFd> {
    let mut a = [0u8; 128];
    put32(&mut a, 0, ty);
    put32(&mut a, 4, key);
    put32(&mut a, 8, val);
    put32(&mut a, 12, max);
    if ty != MAP_PERCPU_ARRAY {
        // BPF_F_NO_PREALLOC: preallocating 64k per-CPU entries costs ~0.1 s at startup, while
        // inserts (one per new thread and syscall) are rare.
        put32(&mut a, 16, 1);
    }
    let fd = bpf(BPF_MAP_CREATE, &mut a).map_err(|e| anyhow!("bpf map create: {e}"))?;
    // SAFETY: fresh fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn map_update(fd: &OwnedFd, key: &[u8], val: &[u8]) -> Result<()> {
    let mut a = [0u8; 128];
    put32(&mut a, 0, fd.as_raw_fd() as u32);
    put64(&mut a, 8, key.as_ptr() as u64);
    put64(&mut a, 16, val.as_ptr() as u64);
    bpf(BPF_MAP_UPDATE_ELEM, &mut a).map_err(|e| anyhow!("bpf map update: {e}"))?;
    Ok(())
}

/// One eBPF instruction.
#[derive(Clone, Copy)]
#[repr(C)]
struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

fn i(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0xf),
        off,
        imm,
    }
}

// Opcodes used below (see the kernel's Documentation/bpf/standardization/instruction-set.rst).
const MOV64_X: u8 = 0xbf;
const MOV64_K: u8 = 0xb7;
const RSH64_K: u8 = 0x77;
const ADD64_K: u8 = 0x07;
const NEG64: u8 = 0x87;
const STX_W: u8 = 0x63;
const STX_DW: u8 = 0x7b;
const ST_W: u8 = 0x62;
const ST_DW: u8 = 0x7a;
const LDX_DW: u8 = 0x79;
const LDX_W: u8 = 0x61;
const LD_DW_IMM: u8 = 0x18;
const JEQ_K: u8 = 0x15;
const JNE_K: u8 = 0x55;
const JGT_K: u8 = 0x25;
const JSGE_K: u8 = 0x75;
const JSLT_K: u8 = 0xc5;
const JA: u8 = 0x05;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;
const HELPER_LOOKUP: i32 = 1;
const HELPER_UPDATE: i32 = 2;
const HELPER_PID_TGID: i32 = 14;
const HELPER_PROBE_READ_KERNEL: i32 = 113;
/// offsetof(struct pt_regs, orig_ax) on x86_64: the syscall number at exit.
const ORIG_AX_OFFSET: i32 = 15 * 8;
const PROG_RAW_TRACEPOINT: u32 = 17;
const BPF_RAW_TRACEPOINT_OPEN: i32 = 17;

fn ld_map(v: &mut Vec<Insn>, dst: u8, fd: &OwnedFd) {
    v.push(i(LD_DW_IMM, dst, 1, 0, fd.as_raw_fd())); // src=1: BPF_PSEUDO_MAP_FD
    v.push(i(0, 0, 0, 0, 0));
}

/// Value of a pid in the traced set: its calls are counted.
const TRACED: u32 = 1;
/// Value of a launched command's pid before its exec: nothing counted yet.
const ARMED: u32 = 2;

/// Emits: return unless the current process is in `pids` with value `state`; leaves
/// pid_tgid in r7 and the map value's address in r0.
fn emit_pid_check(v: &mut Vec<Insn>, pids: &OwnedFd, out_label: &mut Vec<usize>, state: u32) {
    v.push(i(CALL, 0, 0, 0, HELPER_PID_TGID));
    v.push(i(MOV64_X, 7, 0, 0, 0));
    v.push(i(RSH64_K, 0, 0, 0, 32));
    v.push(i(STX_W, 10, 0, -4, 0));
    ld_map(v, 1, pids);
    v.push(i(MOV64_X, 2, 10, 0, 0));
    v.push(i(ADD64_K, 2, 0, 0, -4));
    v.push(i(CALL, 0, 0, 0, HELPER_LOOKUP));
    out_label.push(v.len());
    v.push(i(JEQ_K, 0, 0, 0, 0)); // patched to jump to "out"
    v.push(i(LDX_W, 1, 0, 0, 0));
    out_label.push(v.len());
    v.push(i(JNE_K, 1, 0, 0, state as i32));
}

/// Emits: key {tgid, tid, nr=*(reg+off), errno=r8 or 0} at fp-24, then counts[key] += 1.
fn emit_count(
    v: &mut Vec<Insn>,
    counts: &OwnedFd,
    errno_in_r8: bool,
    nr_at: (u8, i16),
    out_label: &mut Vec<usize>,
) {
    v.push(i(MOV64_X, 1, 7, 0, 0));
    v.push(i(RSH64_K, 1, 0, 0, 32));
    v.push(i(STX_W, 10, 1, -24, 0));
    v.push(i(STX_W, 10, 7, -20, 0));
    v.push(i(LDX_DW, 1, nr_at.0, nr_at.1, 0));
    v.push(i(STX_W, 10, 1, -16, 0));
    if errno_in_r8 {
        v.push(i(STX_W, 10, 8, -12, 0));
    } else {
        v.push(i(ST_W, 10, 0, -12, 0));
    }
    ld_map(v, 1, counts);
    v.push(i(MOV64_X, 2, 10, 0, 0));
    v.push(i(ADD64_K, 2, 0, 0, -24));
    v.push(i(CALL, 0, 0, 0, HELPER_LOOKUP));
    v.push(i(JEQ_K, 0, 0, 4, 0)); // missing: insert
    v.push(i(LDX_DW, 1, 0, 0, 0));
    v.push(i(ADD64_K, 1, 0, 0, 1));
    v.push(i(STX_DW, 0, 1, 0, 0));
    out_label.push(v.len());
    v.push(i(JA, 0, 0, 0, 0));
    v.push(i(ST_DW, 10, 0, -32, 1));
    ld_map(v, 1, counts);
    v.push(i(MOV64_X, 2, 10, 0, 0));
    v.push(i(ADD64_K, 2, 0, 0, -24));
    v.push(i(MOV64_X, 3, 10, 0, 0));
    v.push(i(ADD64_K, 3, 0, 0, -32));
    v.push(i(MOV64_K, 4, 0, 0, 0));
    v.push(i(CALL, 0, 0, 0, HELPER_UPDATE));
}

fn finish_prog(mut v: Vec<Insn>, outs: Vec<usize>, ret: i32) -> Vec<Insn> {
    let out = v.len();
    for j in outs {
        v[j].off = (out - j - 1) as i16;
    }
    v.push(i(MOV64_K, 0, 0, 0, ret));
    v.push(i(EXIT, 0, 0, 0, 0));
    v
}

fn enter_prog(pids: &OwnedFd, counts: &OwnedFd, calls: Option<&OwnedFd>) -> Vec<Insn> {
    let mut v = vec![i(MOV64_X, 6, 1, 0, 0)];
    let mut outs = Vec::new();
    emit_pid_check(&mut v, pids, &mut outs, TRACED);
    if let Some(calls) = calls {
        // Totals only: a per-CPU array indexed by syscall number (the verifier inlines the
        // lookup); numbers outside it take the hash path below.
        v.push(i(LDX_DW, 1, 6, 8, 0));
        let skip = v.len();
        v.push(i(JGT_K, 1, 0, 0, ARRAY_SLOTS as i32 - 1));
        v.push(i(STX_W, 10, 1, -8, 0));
        ld_map(&mut v, 1, calls);
        v.push(i(MOV64_X, 2, 10, 0, 0));
        v.push(i(ADD64_K, 2, 0, 0, -8));
        v.push(i(CALL, 0, 0, 0, HELPER_LOOKUP));
        outs.push(v.len());
        v.push(i(JEQ_K, 0, 0, 0, 0));
        v.push(i(LDX_DW, 1, 0, 0, 0));
        v.push(i(ADD64_K, 1, 0, 0, 1));
        v.push(i(STX_DW, 0, 1, 0, 0));
        outs.push(v.len());
        v.push(i(JA, 0, 0, 0, 0));
        let here = v.len();
        v[skip].off = (here - skip - 1) as i16;
    }
    emit_count(&mut v, counts, false, (6, 8), &mut outs);
    finish_prog(v, outs, 0)
}

/// Raw `sys_exit(regs, ret)`: the context is {regs, ret}; the number is regs->orig_ax.
fn exit_prog(pids: &OwnedFd, counts: &OwnedFd) -> Vec<Insn> {
    let mut v = vec![i(MOV64_X, 6, 1, 0, 0), i(LDX_DW, 8, 6, 8, 0)];
    let mut outs = Vec::new();
    // Only errors (-4095..-1) are counted at exit; everything else leaves at once.
    outs.push(v.len());
    v.push(i(JSGE_K, 8, 0, 0, 0));
    outs.push(v.len());
    v.push(i(JSLT_K, 8, 0, 0, -4095));
    v.push(i(NEG64, 8, 0, 0, 0));
    emit_pid_check(&mut v, pids, &mut outs, TRACED);
    v.push(i(LDX_DW, 3, 6, 0, 0));
    v.push(i(ADD64_K, 3, 0, 0, ORIG_AX_OFFSET));
    v.push(i(MOV64_X, 1, 10, 0, 0));
    v.push(i(ADD64_K, 1, 0, 0, -40));
    v.push(i(MOV64_K, 2, 0, 0, 8));
    v.push(i(CALL, 0, 0, 0, HELPER_PROBE_READ_KERNEL));
    outs.push(v.len());
    v.push(i(JNE_K, 0, 0, 0, 0));
    emit_count(&mut v, counts, true, (10, -40), &mut outs);
    finish_prog(v, outs, 0)
}

fn fork_prog(pids: &OwnedFd, child_off: i16) -> Vec<Insn> {
    let mut v = vec![i(MOV64_X, 6, 1, 0, 0)];
    let mut outs = Vec::new();
    emit_pid_check(&mut v, pids, &mut outs, TRACED);
    v.push(i(LDX_W, 1, 6, child_off, 0));
    v.push(i(STX_W, 10, 1, -8, 0));
    v.push(i(ST_W, 10, 0, -12, 1));
    ld_map(&mut v, 1, pids);
    v.push(i(MOV64_X, 2, 10, 0, 0));
    v.push(i(ADD64_K, 2, 0, 0, -8));
    v.push(i(MOV64_X, 3, 10, 0, 0));
    v.push(i(ADD64_K, 3, 0, 0, -12));
    v.push(i(MOV64_K, 4, 0, 0, 0));
    v.push(i(CALL, 0, 0, 0, HELPER_UPDATE));
    // 1: a perf tracepoint program returning 0 would suppress the samples of every other
    // perf user of sched_process_fork; our carrier event itself never matches its filter.
    finish_prog(v, outs, 1)
}

/// Raw `sched_process_exec`: an armed launched command becomes traced, and its exec is
/// counted (the entry happened while it was armed, and a successful exec's exit is not an
/// error, so neither syscall program counted it).
fn exec_prog(pids: &OwnedFd, counts: &OwnedFd) -> Vec<Insn> {
    let mut v = vec![i(MOV64_X, 6, 1, 0, 0)];
    let mut outs = Vec::new();
    emit_pid_check(&mut v, pids, &mut outs, ARMED);
    v.push(i(ST_W, 0, 0, 0, TRACED as i32));
    v.push(i(ST_DW, 10, 0, -40, syscalls::Sysno::execve as i32));
    emit_count(&mut v, counts, false, (10, -40), &mut outs);
    finish_prog(v, outs, 0)
}

fn prog_load(ty: u32, insns: &[Insn]) -> Result<OwnedFd> {
    let license = c"Dual MIT/GPL";
    let mut a = [0u8; 128];
    put32(&mut a, 0, ty);
    put32(&mut a, 4, insns.len() as u32);
    put64(&mut a, 8, insns.as_ptr() as u64);
    put64(&mut a, 16, license.as_ptr() as u64);
    // No verifier log on the first try: producing it is what makes loading slow.
    if let Ok(fd) = bpf(BPF_PROG_LOAD, &mut a) {
        // SAFETY: fresh fd from the kernel.
        return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
    }
    let mut log = vec![0u8; 65536];
    put32(&mut a, 24, 1);
    put32(&mut a, 28, log.len() as u32);
    put64(&mut a, 32, log.as_mut_ptr() as u64);
    match bpf(BPF_PROG_LOAD, &mut a) {
        // SAFETY: fresh fd from the kernel.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => {
            let end = log.iter().position(|&c| c == 0).unwrap_or(0);
            let text = String::from_utf8_lossy(&log[..end]);
            let tail: Vec<&str> = text.lines().rev().take(3).collect();
            bail!("bpf program rejected: {e} ({})", tail.join(" | "))
        }
    }
}

fn tp_id(path: &str) -> Result<u64> {
    // Same errors (with their fixes) as the sampling backend.
    super::perf::tracepoint_id("sys_enter")?;
    let root = super::tracefs::ensure_tracefs()?;
    let p = root.join("events").join(path).join("id");
    let s = std::fs::read_to_string(&p).map_err(|e| anyhow!("cannot read {}: {e}", p.display()))?;
    s.trim()
        .parse()
        .map_err(|_| anyhow!("bad tracepoint id in {}", p.display()))
}

fn field_offset(path: &str, field: &str) -> Result<i16> {
    let root = super::tracefs::ensure_tracefs()?;
    let p = root.join("events").join(path).join("format");
    if let Ok(s) = std::fs::read_to_string(&p) {
        for l in s.lines() {
            if l.contains(&format!(" {field};")) {
                if let Some(o) = l.split("offset:").nth(1).and_then(|r| r.split(';').next()) {
                    return o
                        .parse()
                        .map_err(|_| anyhow!("bad offset in {}", p.display()));
                }
            }
        }
    }
    bail!("no field {field} in {}", p.display())
}

/// Attaches a raw tracepoint program: no perf record is built, and no other perf user of the
/// tracepoint is affected.
fn attach_raw(name: &std::ffi::CStr, prog: &OwnedFd) -> Result<OwnedFd> {
    let mut a = [0u8; 128];
    put64(&mut a, 0, name.as_ptr() as u64);
    put32(&mut a, 8, prog.as_raw_fd() as u32);
    let fd = bpf(BPF_RAW_TRACEPOINT_OPEN, &mut a)
        .map_err(|e| anyhow!("attaching to raw tracepoint {name:?}: {e}"))?;
    // SAFETY: fresh fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attaches `prog` to the tracepoint `tp` on every CPU through one perf event whose own
/// samples are filtered out.
fn attach(tp: u64, prog: &OwnedFd) -> Result<OwnedFd> {
    let mut a = b::perf_event_attr::default();
    a.type_ = b::PERF_TYPE_TRACEPOINT;
    a.size = std::mem::size_of::<b::perf_event_attr>() as u32;
    a.config = tp;
    a.__bindgen_anon_1.sample_period = 1;
    a.__bindgen_anon_2.wakeup_events = 1;
    // SAFETY: initialised attr; the fd returned is ours.
    let fd = unsafe {
        sys::perf_event_open(&mut a, -1, 0, -1, b::PERF_FLAG_FD_CLOEXEC as libc::c_ulong)
    };
    if fd < 0 {
        bail!(
            "perf_event_open for bpf: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: fresh fd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: valid fds.
    if unsafe { sys::ioctls::SET_BPF(fd.as_raw_fd(), prog.as_raw_fd() as u32) } < 0 {
        bail!(
            "PERF_EVENT_IOC_SET_BPF: {}",
            std::io::Error::last_os_error()
        );
    }
    let filter = c"child_pid < 0";
    // SAFETY: valid fd and NUL-terminated string.
    if unsafe { sys::ioctls::SET_FILTER(fd.as_raw_fd(), filter.as_ptr() as *mut _) } < 0 {
        bail!(
            "PERF_EVENT_IOC_SET_FILTER: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: valid fd.
    if unsafe { sys::ioctls::ENABLE(fd.as_raw_fd(), 0) } < 0 {
        bail!("PERF_EVENT_IOC_ENABLE: {}", std::io::Error::last_os_error());
    }
    Ok(fd)
}

/// Loaded maps and programs, not yet attached.
pub struct Counter {
    pids: OwnedFd,
    counts: OwnedFd,
    calls: Option<OwnedFd>,
    enter: OwnedFd,
    exit: OwnedFd,
    exec: OwnedFd,
    fork: (u64, OwnedFd),
    links: Vec<OwnedFd>,
}

impl Counter {
    /// Creates the maps and loads the programs (fails cleanly where BPF is unavailable).
    /// `per_thread`: key calls by thread (needed for --per-thread/--per-process); otherwise
    /// calls are counted per syscall only, which is cheaper.
    pub fn load(per_thread: bool) -> Result<Self> {
        if !cfg!(target_arch = "x86_64") {
            bail!("in-kernel counting is implemented for x86_64 only");
        }
        let fork = tp_id("sched/sched_process_fork")?;
        let child_off = field_offset("sched/sched_process_fork", "child_pid")?;
        let pids = map_create(MAP_HASH, 4, 4, 65536)?;
        let counts = map_create(MAP_PERCPU_HASH, 16, 8, 65536)?;
        let calls = if per_thread {
            None
        } else {
            Some(map_create(MAP_PERCPU_ARRAY, 4, 8, ARRAY_SLOTS)?)
        };
        let enter = prog_load(
            PROG_RAW_TRACEPOINT,
            &enter_prog(&pids, &counts, calls.as_ref()),
        )?;
        let exit = prog_load(PROG_RAW_TRACEPOINT, &exit_prog(&pids, &counts))?;
        let exec = prog_load(PROG_RAW_TRACEPOINT, &exec_prog(&pids, &counts))?;
        let fork = (
            fork,
            prog_load(PROG_TRACEPOINT, &fork_prog(&pids, child_off))?,
        );
        Ok(Counter {
            pids,
            counts,
            calls,
            enter,
            exit,
            exec,
            fork,
            links: Vec::new(),
        })
    }

    /// Adds a process to the traced set; `launched`: a held command, counted from its exec.
    pub fn add_pid(&self, pid: u32, launched: bool) -> Result<()> {
        let state = if launched { ARMED } else { TRACED };
        map_update(&self.pids, &pid.to_ne_bytes(), &state.to_ne_bytes())
    }

    /// How many tasks entered the traced set: the given processes and every thread and
    /// process they created (the fork program adds each new task's id).
    fn tasks_in_set(&self) -> u64 {
        let mut key = [0u8; 4];
        let mut next = [0u8; 4];
        let mut first = true;
        let mut n = 0;
        loop {
            let mut a = [0u8; 128];
            put32(&mut a, 0, self.pids.as_raw_fd() as u32);
            put64(&mut a, 8, if first { 0 } else { key.as_ptr() as u64 });
            put64(&mut a, 16, next.as_mut_ptr() as u64);
            if bpf(BPF_MAP_GET_NEXT_KEY, &mut a).is_err() {
                return n;
            }
            first = false;
            key = next;
            n += 1;
        }
    }

    /// Attaches the programs: counting starts.
    pub fn start(&mut self) -> Result<()> {
        // Fork first, so no child is missed between the syscall programs starting and it.
        self.links.push(attach(self.fork.0, &self.fork.1)?);
        self.links
            .push(attach_raw(c"sched_process_exec", &self.exec)?);
        self.links.push(attach_raw(c"sys_enter", &self.enter)?);
        self.links.push(attach_raw(c"sys_exit", &self.exit)?);
        Ok(())
    }

    /// Detaches the programs and reads the counts into a recorder. Array counts (totals
    /// only) are attributed to `owner` (pid, tid).
    fn stop_and_read(&mut self, rec: &mut Recorder, owner: (u32, u32)) -> Result<()> {
        target::close_parallel(std::mem::take(&mut self.links));
        let ncpu = possible_cpus();
        if let Some(calls) = &self.calls {
            let mut vals = vec![0u64; ncpu];
            for nr in 0..ARRAY_SLOTS {
                let key = nr.to_ne_bytes();
                let mut a = [0u8; 128];
                put32(&mut a, 0, calls.as_raw_fd() as u32);
                put64(&mut a, 8, key.as_ptr() as u64);
                put64(&mut a, 16, vals.as_mut_ptr() as u64);
                if bpf(BPF_MAP_LOOKUP_ELEM, &mut a).is_ok() {
                    let n: u64 = vals.iter().sum();
                    if n > 0 {
                        rec.add_counts(owner.0, owner.1, nr, 0, n);
                    }
                }
            }
        }
        let mut key = [0u8; 16];
        let mut next = [0u8; 16];
        let mut vals = vec![0u64; ncpu];
        let mut first = true;
        let mut found: Vec<(u32, u32, u32, u32, u64)> = Vec::new();
        loop {
            let mut a = [0u8; 128];
            put32(&mut a, 0, self.counts.as_raw_fd() as u32);
            put64(&mut a, 8, if first { 0 } else { key.as_ptr() as u64 });
            put64(&mut a, 16, next.as_mut_ptr() as u64);
            if bpf(BPF_MAP_GET_NEXT_KEY, &mut a).is_err() {
                break;
            }
            first = false;
            key = next;
            let mut a = [0u8; 128];
            put32(&mut a, 0, self.counts.as_raw_fd() as u32);
            put64(&mut a, 8, key.as_ptr() as u64);
            put64(&mut a, 16, vals.as_mut_ptr() as u64);
            if bpf(BPF_MAP_LOOKUP_ELEM, &mut a).is_err() {
                continue;
            }
            let n: u64 = vals.iter().sum();
            let f = |o: usize| u32::from_ne_bytes([key[o], key[o + 1], key[o + 2], key[o + 3]]);
            found.push((f(0), f(4), f(8), f(12), n));
        }
        // An exit reading number -1 (orig_ax) is rt_sigreturn's: restoring the interrupted
        // context sets it so. The exit program has no entry to name it from (keeping one per
        // thread would cost a map update per call), but on x86_64 rt_sigreturn is the only
        // call that does this, except calls a tracer cancelled, whose entries read -1 too:
        // threads with such entries keep the -1.
        let minus_one = u32::MAX;
        let cancelled: std::collections::HashSet<u32> = found
            .iter()
            .filter(|k| k.2 == minus_one && k.3 == 0)
            .map(|k| k.1)
            .collect();
        for (tgid, tid, nr, errno, n) in found {
            let nr = if nr == minus_one && errno != 0 && !cancelled.contains(&tid) {
                syscalls::Sysno::rt_sigreturn as u32
            } else {
                nr
            };
            if self.calls.is_some() {
                rec.add_counts(owner.0, owner.1, nr, errno, n);
            } else {
                rec.add_counts(tgid, tid, nr, errno, n);
            }
        }
        Ok(())
    }
}

fn possible_cpus() -> usize {
    // "0-N" ranges: the per-CPU value array has one slot per possible CPU.
    std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .ok()
        .and_then(|s| {
            s.trim()
                .split(',')
                .filter_map(|r| r.split('-').next_back()?.parse::<usize>().ok())
                .max()
        })
        .map_or(1, |m| m + 1)
}

/// What a counting session found.
pub struct BpfRun {
    /// Per-thread counts (one pseudo-thread holding the totals when not keyed by thread).
    pub threads: Vec<ThreadSummary>,
    /// Why counting stopped.
    pub stop_reason: String,
    /// Threads traced (present at the start or created later), when `threads` holds
    /// totals only and so cannot say.
    pub threads_traced: Option<u64>,
}

/// Counts calls and errors until the target exits, a stop signal arrives or the deadline.
pub fn run(
    mut counter: Counter,
    pids: Vec<u32>,
    launched: Option<u32>,
    mut deadline: Deadline,
    release: &mut dyn FnMut() -> Result<()>,
    status: &mut Option<nix::sys::wait::WaitStatus>,
) -> Result<BpfRun> {
    let mut names: HashMap<u32, String> = HashMap::new();
    // Threads already there: a launched command has one; an attached process its current
    // ones (the set holds only its pid, and the ids of tasks created from now on).
    let mut initial_threads = 0u64;
    for &p in &pids {
        let is_launched = launched == Some(p);
        counter.add_pid(p, is_launched)?;
        initial_threads += if is_launched {
            1
        } else {
            target::threads_of(p).map_or(1, |t| t.len() as u64)
        };
    }
    counter.start()?;
    release()?;
    deadline.start();
    // Names are read after release: a launched command has exec'd by then (before, it is
    // still a copy of rprof). Threads that exit before the end keep these names.
    for &p in &pids {
        for tid in target::threads_of(p).unwrap_or_default() {
            if let Some(c) = crate::process::thread_name(p, tid) {
                names.insert(tid, c);
            }
        }
    }
    let pidfds: Vec<OwnedFd> = pids.iter().filter_map(|&p| target::pidfd(p)).collect();
    let mut stopper = Stopper::new(launched, deadline);
    let reason = loop {
        let mut pfds: Vec<libc::pollfd> = pidfds
            .iter()
            .map(|f| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: valid pollfd array.
        unsafe {
            libc::poll(
                pfds.as_mut_ptr(),
                pfds.len() as libc::nfds_t,
                stopper.poll_ms(200),
            )
        };
        let exited = !pidfds.is_empty() && pidfds.iter().all(target::pidfd_exited);
        if let Verdict::Stop(r) = stopper.check(exited) {
            break r;
        }
    };
    if let Some(p) = launched {
        if pidfds.first().is_some_and(target::pidfd_exited) {
            *status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(p as i32), None).ok();
        }
    }
    let mut rec = Recorder::default();
    let owner = pids.first().copied().unwrap_or(0);
    counter.stop_and_read(&mut rec, (owner, owner))?;
    let threads_traced = counter
        .calls
        .is_some()
        .then(|| initial_threads + counter.tasks_in_set().saturating_sub(pids.len() as u64));
    let (threads, _) = rec.finish(true, &|pid, tid| {
        names
            .get(&tid)
            .cloned()
            .or_else(|| crate::process::thread_name(pid, tid))
            .unwrap_or_else(|| "?".into())
    });
    Ok(BpfRun {
        threads,
        stop_reason: reason,
        threads_traced,
    })
}
