//! perf_event_open sessions: which event, opened per CPU (inherited where threads and forks
//! must be followed), one ring buffer per CPU that the other events of that CPU redirect into
//! (`PERF_EVENT_IOC_SET_OUTPUT`), and the loop that drains those buffers into raw events.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;

use anyhow::anyhow;
use perf_event::{Clock, Counter, SampleFlag, Sampler};

use super::live_unwind::LiveUnwinder;
use super::maps::Mapping;

/// The event a session samples (see [`super::events`] for every name `-e` takes).
pub use super::events::EventSpec as EventKind;

/// How events are opened.
#[derive(Clone, Debug)]
pub struct EventConfig {
    /// The event.
    pub kind: EventKind,
    /// Samples per second.
    pub frequency: u64,
    /// A fixed period (`-c`, or the event's own default such as 1 for tracepoints) instead of
    /// the frequency.
    pub period: Option<u64>,
    /// Take user call stacks from the CPU's last branch record (`--call-graph lbr`).
    pub lbr: bool,
    /// Sample kernel code too.
    pub kernel: bool,
    /// Ring buffer bytes per CPU.
    pub buffer_bytes: usize,
    /// Bytes of user stack (plus BP, SP, IP) copied per sample for DWARF unwinding.
    pub stack_bytes: Option<u32>,
    /// Whether the kernel walks the user frame-pointer chain too (fp and auto modes).
    pub user_callchain: bool,
}

/// Where one event is attached.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// Thread (or process) id; -1 for every process on the CPU.
    pub pid: i32,
    /// CPU number.
    pub cpu: usize,
    /// Follow threads and children created later.
    pub inherit: bool,
    /// Start counting when the thread calls exec (launched commands).
    pub enable_on_exec: bool,
}

/// What every sample carries: ID tells which of several events it belongs to, CPU where it
/// ran (`-C` and `report --sort cpu`). The kernel writes them in the order IP, TID, TIME, ID,
/// CPU, PERIOD, CALLCHAIN (see [`parse_sample_fallback`]).
const SAMPLE_FLAGS: SampleFlag = SampleFlag::IP
    .union(SampleFlag::TID)
    .union(SampleFlag::TIME)
    .union(SampleFlag::ID)
    .union(SampleFlag::CPU)
    .union(SampleFlag::CALLCHAIN)
    .union(SampleFlag::PERIOD);

/// The period every sample of `cfg` stands for when the samples do not carry one: a fixed
/// period above 1 (`-c`). The kernel samples a software event or tracepoint at *every* hit
/// when PERF_SAMPLE_PERIOD is asked for with a fixed period (it reports each hit's count as
/// the period), so perf leaves PERIOD out with -c, and so does rprof; the weight is then the
/// period asked for.
pub fn fixed_period(cfg: &EventConfig) -> Option<u64> {
    cfg.period.filter(|&p| p > 1)
}

pub(crate) fn sample_flags(cfg: &EventConfig) -> SampleFlag {
    if fixed_period(cfg).is_some() {
        SAMPLE_FLAGS.difference(SampleFlag::PERIOD)
    } else {
        SAMPLE_FLAGS
    }
}

/// Opens one event.
pub fn open(cfg: &EventConfig, at: Placement) -> io::Result<Counter> {
    let mut b = cfg.kind.builder();
    if at.pid < 0 {
        b.any_pid();
    } else {
        b.observe_pid(at.pid);
    }
    b.one_cpu(at.cpu);
    match cfg.period {
        Some(p) => b.sample_period(p),
        None => b.sample_frequency(cfg.frequency),
    };
    let flags = sample_flags(cfg);
    b.sample(flags)
        .mmap(true)
        .mmap2(true)
        .comm(true)
        .comm_exec(true)
        .task(true)
        .sample_id_all(true)
        .clockid(Clock::MONOTONIC)
        .inherit(at.inherit)
        .enable_on_exec(at.enable_on_exec)
        // An event that only fires in the kernel (a context switch, a tracepoint) would count
        // nothing with kernel mode excluded: only its kernel frames are left out then.
        .exclude_kernel(!cfg.kernel && !cfg.kind.fires_in_kernel())
        // Kernel frames inside a user sample are wanted only when kernel code is sampled.
        .exclude_callchain_kernel(!cfg.kernel);
    if cfg.lbr {
        use perf_event::SampleBranchFlag;
        // The LBR call stack records user calls only; the kernel part still comes from the
        // kernel's own callchain.
        b.sample(flags | SampleFlag::BRANCH_STACK)
            .branch_sample_type(SampleBranchFlag::USER | SampleBranchFlag::CALL_STACK)
            .exclude_callchain_user(true);
    }
    if let Some(bytes) = cfg.stack_bytes {
        use perf_event_open_sys::bindings::{PERF_REG_X86_BP, PERF_REG_X86_IP, PERF_REG_X86_SP};
        b.sample(flags | SampleFlag::REGS_USER | SampleFlag::STACK_USER)
            .sample_regs_user(
                (1u64 << PERF_REG_X86_BP) | (1u64 << PERF_REG_X86_SP) | (1u64 << PERF_REG_X86_IP),
            )
            .sample_stack_user(bytes)
            // Wake the drain loop at a quarter full (the kernel's default is half): the rest
            // absorbs the drain thread's scheduling delay (see buffers.rs).
            .wakeup_watermark(super::buffers::wakeup_bytes(cfg.buffer_bytes));
    }
    // DWARF mode needs only the kernel part of the callchain; skipping the user frame-pointer
    // walk saves kernel time and ring-buffer bytes. With no kernel part at all the chain is
    // kept, as the kernel may refuse a callchain that excludes both.
    if !cfg.user_callchain && cfg.kernel {
        b.exclude_callchain_user(true);
    }
    b.build()
}

/// Explains an open failure with the fix.
pub fn explain_open_error(e: &io::Error, what: &str, pid: Option<i32>) -> anyhow::Error {
    match e.raw_os_error() {
        Some(libc::ESRCH) => match pid {
            Some(p) if p >= 0 => anyhow!("no such process: {p}"),
            _ => anyhow!("no such process"),
        },
        Some(libc::EACCES) | Some(libc::EPERM) => {
            if let Some(p) = pid.filter(|p| *p > 0) {
                if let Some(owner) = owner_of(p as u32) {
                    // SAFETY: geteuid has no preconditions.
                    let me = unsafe { libc::geteuid() };
                    if me != 0 && owner != me {
                        return anyhow!(
                            "permission denied: process {p} belongs to another user (uid {owner}); profile your own processes, or run as root (or with CAP_PERFMON and CAP_SYS_PTRACE)"
                        );
                    }
                }
            }
            let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into());
            anyhow!(
                "permission denied opening {what} (perf_event_paranoid is {paranoid}).\n  \
                 To allow profiling your own processes run: sudo sysctl kernel.perf_event_paranoid=1\n  \
                 or give rprof CAP_PERFMON: sudo setcap cap_perfmon,cap_sys_ptrace+ep $(command -v rprof)\n  \
                 (-a and kernel frames need perf_event_paranoid <= 0 or CAP_PERFMON; --no-kernel avoids the latter)"
            )
        }
        Some(libc::EMFILE) | Some(libc::ENFILE) => anyhow!(
            "too many open files while opening {what} (one event per thread per CPU): raise the limit with `ulimit -n 65536`"
        ),
        _ => anyhow!("cannot open {what}: {e}"),
    }
}

/// The real uid owning a process.
fn owner_of(pid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Number of CPUs events are opened on (all possible CPUs that are online).
pub fn online_cpus() -> Vec<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|s| !s.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    cpus.extend(a..=b);
                }
            }
            None => {
                if let Ok(a) = part.parse() {
                    cpus.push(a);
                }
            }
        }
    }
    if cpus.is_empty() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        cpus.extend(0..n);
    }
    cpus
}

/// One raw event out of a ring buffer.
#[derive(Clone, Debug)]
pub enum RawEvent {
    /// A sample; `chain` indexes the interned callchains.
    Sample {
        /// Process.
        pid: u32,
        /// Thread.
        tid: u32,
        /// Interned callchain.
        chain: u32,
        /// Interned frame-pointer callchain offered as a fallback (`--call-graph auto`).
        fallback: Option<u32>,
        /// The sample's period: the events it stands for (ns of cpu-clock, faults, cycles),
        /// which becomes its weight.
        period: u64,
        /// The CPU it ran on.
        cpu: u16,
        /// Which of the recorded events (index into the recording's list).
        event: u8,
    },
    /// An executable mapping (boxed, like the name below: every sample is stored as this
    /// enum until the end, so its size is the rare variants' cost paid per sample).
    Mmap {
        /// Process.
        pid: u32,
        /// The mapping.
        map: Box<Mapping>,
    },
    /// A thread name change; `exec` when it came from exec (the address space is new).
    Comm {
        /// Process.
        pid: u32,
        /// Thread.
        tid: u32,
        /// New name.
        name: Box<str>,
        /// From exec.
        exec: bool,
    },
    /// Off-CPU time (`--off-cpu`, `--wall`): a switch away from a thread, weighted by the time
    /// until it ran again (see `record::offcpu`).
    OffCpu {
        /// Process.
        pid: u32,
        /// Thread.
        tid: u32,
        /// Interned callchain at the switch.
        chain: u32,
        /// Frame-pointer fallback chain (`--call-graph auto`).
        fallback: Option<u32>,
        /// Nanoseconds off the CPU: the sample's weight.
        blocked: u64,
        /// The CPU it was switched out on. (No event index: off-CPU time joins the profile
        /// of the first event, the one `--wall` shows it with.)
        cpu: u16,
        /// The state letter (`S`, `D`, `R`, ...) or the folded-short-wait code.
        reason: u8,
    },
    /// A new thread or process.
    Fork {
        /// New process.
        pid: u32,
        /// Parent process.
        ppid: u32,
        /// New thread.
        tid: u32,
        /// Parent thread.
        ptid: u32,
    },
}

/// A raw event with its time (CLOCK_MONOTONIC ns) and arrival order.
#[derive(Clone, Debug)]
pub struct Timed {
    /// Kernel timestamp.
    pub time: u64,
    /// Arrival order, to keep equal timestamps stable.
    pub seq: u64,
    /// The event.
    pub ev: RawEvent,
}

/// Everything drained from the ring buffers.
#[derive(Debug, Default)]
pub struct Collected {
    /// Events in arrival order (sorted by time before use).
    pub events: Vec<Timed>,
    /// Interned callchains.
    pub chains: Vec<Box<[u64]>>,
    chain_index: HashMap<Box<[u64]>, u32>,
    /// Samples seen.
    pub samples: u64,
    /// Samples the kernel dropped.
    pub lost: u64,
    /// Records rprof could not parse (counted, never guessed at).
    pub unparsed: u64,
}

impl Collected {
    /// Moves this interval's samples out (for continuous mode), with the process events so far
    /// (mappings, names, forks: later intervals need them too, so they stay here as well). The
    /// interned callchains go with the samples: what stays behind is bounded by the target's
    /// process activity, not by how long the recording runs. `samples` and `lost` of the part
    /// count this interval only; `self` keeps the running totals.
    pub fn take_interval(&mut self, lost_before: u64, samples_before: u64) -> Collected {
        let mut part = Vec::with_capacity(self.events.len());
        let mut keep = Vec::new();
        for e in self.events.drain(..) {
            if matches!(e.ev, RawEvent::Sample { .. } | RawEvent::OffCpu { .. }) {
                part.push(e);
            } else {
                keep.push(e.clone());
                part.push(e);
            }
        }
        self.events = keep;
        Collected {
            events: part,
            chains: std::mem::take(&mut self.chains),
            chain_index: std::mem::take(&mut self.chain_index),
            samples: self.samples.saturating_sub(samples_before),
            lost: self.lost.saturating_sub(lost_before),
            unparsed: 0,
        }
    }

    /// The id of callchain `c`, adding it when new.
    pub fn intern_chain(&mut self, c: &[u64]) -> u32 {
        if let Some(&i) = self.chain_index.get(c) {
            return i;
        }
        let i = self.chains.len() as u32;
        let b: Box<[u64]> = c.into();
        self.chains.push(b.clone());
        self.chain_index.insert(b, i);
        i
    }

    /// Appends an event at kernel time `time`, in arrival order.
    pub fn push(&mut self, time: u64, ev: RawEvent) {
        let seq = self.events.len() as u64;
        self.events.push(Timed { time, seq, ev });
    }
}

/// The parts of one sample that recording uses.
struct OneSample<'a> {
    pid: u32,
    tid: u32,
    time: u64,
    /// PERF_SAMPLE_PERIOD: how many events this sample stands for.
    period: u64,
    /// PERF_SAMPLE_ID: the event (the parent's id for inherited events).
    id: u64,
    /// PERF_SAMPLE_CPU.
    cpu: u32,
    /// User registers (BP, SP, IP), empty when the sample has none.
    regs: Cow<'a, [u64]>,
    /// Valid bytes of the user stack copy.
    stack: &'a [u8],
    /// The kernel's callchain (or just the IP when there is none).
    callchain: Cow<'a, [u64]>,
}

/// Records a sample: unwound with `live` in the DWARF modes, its callchain as is otherwise.
fn push_sample(
    out: &mut Collected,
    live: Option<&mut LiveUnwinder>,
    smp: &OneSample<'_>,
    event: u8,
) {
    let (chain, fallback) = match live {
        Some(live) => {
            let chains = live.unwind_sample(smp.pid, &smp.regs, smp.stack, &smp.callchain);
            let fallback = chains.fallback.map(|c| out.intern_chain(c));
            (out.intern_chain(chains.primary), fallback)
        }
        None => {
            if smp.callchain.is_empty() {
                return;
            }
            (out.intern_chain(&smp.callchain), None)
        }
    };
    out.push(
        smp.time,
        RawEvent::Sample {
            pid: smp.pid,
            tid: smp.tid,
            chain,
            fallback,
            period: smp.period,
            cpu: u16::try_from(smp.cpu).unwrap_or(u16::MAX),
            event,
        },
    );
}

/// `PERF_CONTEXT_USER`: the marker before the user part of a callchain.
const PERF_CONTEXT_USER: u64 = u64::MAX - 511;

/// The callchain of an LBR sample: the kernel's chain (which excluded the user part) followed
/// by the user stack the LBR call stack holds, as perf builds it: the user IP, then the call
/// site (`from`) of every call still open, innermost first.
fn lbr_callchain(
    kernel_chain: &[u64],
    ip: Option<u64>,
    lbr: &[perf_event::data::BranchEntry],
) -> Vec<u64> {
    let mut out: Vec<u64> = kernel_chain
        .iter()
        .copied()
        .take_while(|&a| a != PERF_CONTEXT_USER)
        .collect();
    out.push(PERF_CONTEXT_USER);
    // A sample taken in the kernel has no user IP; the innermost open call's target stands in.
    let user_ip = ip
        .filter(|&a| a < 0xffff_8000_0000_0000)
        .unwrap_or_else(|| lbr[0].to());
    out.push(user_ip);
    out.extend(lbr.iter().map(|b| b.from()));
    out
}

/// A sample body (header excluded) in the layout [`open`] asks for: IP, TID, TIME, ID, CPU,
/// PERIOD (unless `has_period` is false: a fixed period), CALLCHAIN and, with `regs_and_stack`, REGS_USER (BP, SP, IP: the ABI word, then the
/// registers only when it is not 0) and STACK_USER (size, data, then dyn_size only when size is
/// not 0), in the kernel's field order. `ty` is the record type; anything but a sample gives
/// None, as does a body too short for its own counts.
fn parse_sample_fallback(
    ty: u32,
    bytes: &[u8],
    regs_and_stack: bool,
    has_period: bool,
) -> Option<OneSample<'_>> {
    const PERF_RECORD_SAMPLE: u32 = 9;
    if ty != PERF_RECORD_SAMPLE {
        return None;
    }
    // Words are read one by one: a record that wrapped around the ring buffer was copied into
    // a byte vector with no u64 alignment.
    let word = |at: usize| -> Option<u64> {
        let b = bytes.get(at..at.checked_add(8)?)?;
        Some(u64::from_ne_bytes(b.try_into().ok()?))
    };
    let ip = word(0)?;
    let pid = u32::from_ne_bytes(bytes.get(8..12)?.try_into().ok()?);
    let tid = u32::from_ne_bytes(bytes.get(12..16)?.try_into().ok()?);
    let time = word(16)?;
    let id = word(24)?;
    let cpu = u32::from_ne_bytes(bytes.get(32..36)?.try_into().ok()?);
    let mut at = 40usize;
    let period = if has_period {
        at += 8;
        word(40)?
    } else {
        1
    };
    let nr = usize::try_from(word(at)?).ok()?;
    at += 8;
    let mut callchain = Vec::with_capacity(nr.min(bytes.len() / 8));
    for _ in 0..nr {
        callchain.push(word(at)?);
        at += 8;
    }
    if callchain.is_empty() {
        callchain.push(ip);
    }
    let mut regs = Vec::new();
    let mut stack: &[u8] = &[];
    if regs_and_stack {
        let abi = word(at)?;
        at += 8;
        if abi != 0 {
            for _ in 0..3 {
                regs.push(word(at)?);
                at += 8;
            }
        }
        let size = usize::try_from(word(at)?).ok()?;
        at += 8;
        if size != 0 {
            let data = bytes.get(at..at.checked_add(size)?)?;
            let dyn_size = usize::try_from(word(at + size)?).ok()?;
            stack = &data[..dyn_size.min(size)];
        }
    }
    Some(OneSample {
        pid,
        tid,
        time,
        period,
        id,
        cpu,
        regs: Cow::Owned(regs),
        stack,
        callchain: Cow::Owned(callchain),
    })
}

/// The open events and their per-CPU ring buffers.
pub struct Session {
    samplers: Vec<Sampler>,
    others: Vec<Counter>,
    /// Kernel event id to the index of its event in the recording (several `-e`).
    event_of: HashMap<u64, u8>,
    /// The weight of every sample when they carry no period (see [`fixed_period`]); the same
    /// for every event of a session, as -c applies to all.
    fixed_period: Option<u64>,
}

const PERF_RECORD_MISC_COMM_EXEC: u16 = 1 << 13;

/// The timestamp in the `sample_id_all` trailer: of [`SAMPLE_FLAGS`] the trailer holds TID,
/// TIME, ID and CPU, in that order, so TIME is the third word from the end.
fn trailer_time(bytes: &[u8]) -> u64 {
    if bytes.len() < 24 {
        return 0;
    }
    let t = &bytes[bytes.len() - 24..];
    u64::from_ne_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]])
}

impl Session {
    /// An empty session.
    pub fn new() -> Self {
        Session {
            samplers: Vec::new(),
            others: Vec::new(),
            event_of: HashMap::new(),
            fixed_period: None,
        }
    }

    /// Declares that samples carry no period and each stands for `period` events (`-c`).
    pub fn set_fixed_period(&mut self, period: Option<u64>) {
        self.fixed_period = period;
    }

    /// Adds an event; the first one on each CPU owns that CPU's ring buffer, the others
    /// redirect their output into it.
    pub fn add(
        &mut self,
        counter: Counter,
        cpu: usize,
        cpu_slot: &mut HashMap<usize, usize>,
        buffer_bytes: usize,
    ) -> io::Result<()> {
        self.add_event(counter, cpu, cpu_slot, buffer_bytes, 0)
    }

    /// [`Session::add`] for the `event`-th of several recorded events: its samples carry
    /// that index.
    pub fn add_event(
        &mut self,
        counter: Counter,
        cpu: usize,
        cpu_slot: &mut HashMap<usize, usize>,
        buffer_bytes: usize,
        event: u8,
    ) -> io::Result<()> {
        self.event_of.insert(counter.id(), event);
        if let Some(&i) = cpu_slot.get(&cpu) {
            let target = self.samplers[i].as_raw_fd();
            // SAFETY: both fds are perf events we opened; SET_OUTPUT takes the target fd.
            let r = unsafe { perf_event_open_sys::ioctls::SET_OUTPUT(counter.as_raw_fd(), target) };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
            self.others.push(counter);
        } else {
            let s = counter.sampled(buffer_bytes)?;
            cpu_slot.insert(cpu, self.samplers.len());
            self.samplers.push(s);
        }
        Ok(())
    }

    /// Enables every event (attach mode; launched commands use enable_on_exec).
    pub fn enable_all(&mut self) -> io::Result<()> {
        for s in &mut self.samplers {
            s.enable()?;
        }
        for c in &mut self.others {
            c.enable()?;
        }
        Ok(())
    }

    /// Disables every event before the final drain.
    pub fn disable_all(&mut self) {
        for s in &mut self.samplers {
            let _ = s.disable();
        }
        for c in &mut self.others {
            let _ = c.disable();
        }
    }

    /// Waits up to `timeout_ms` for data in any buffer.
    pub fn wait(&self, timeout_ms: i32) {
        self.wait_also(&[], timeout_ms)
    }

    /// [`Session::wait`], also waking for data in the ring buffers `extra` (the off-CPU
    /// events' own).
    pub fn wait_also(&self, extra: &[std::os::fd::RawFd], timeout_ms: i32) {
        let mut fds: Vec<libc::pollfd> = self
            .samplers
            .iter()
            .map(|s| s.as_raw_fd())
            .chain(extra.iter().copied())
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: a valid array of pollfd. EINTR (a signal) just ends the wait early.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        // A buffer whose owning task exited reports POLLHUP forever; other tasks may still
        // write into it, so keep polling, but never spin.
        if n > 0 && fds.iter().all(|f| f.revents & libc::POLLIN == 0) {
            std::thread::sleep(std::time::Duration::from_millis(
                timeout_ms.clamp(0, 20) as u64
            ));
        }
    }

    /// Moves everything in the ring buffers into `out`, unwinding samples with `live` when
    /// DWARF unwinding is on (it also sees every mapping, fork, exec and exit, in order).
    pub fn drain(&mut self, out: &mut Collected, mut live: Option<&mut LiveUnwinder>) {
        use perf_event::data::Record as R;
        for s in &mut self.samplers {
            while let Some(rec) = s.next_record() {
                let misc = rec.misc();
                let parsed = match rec.parse_record() {
                    Ok(p) => p,
                    Err(_) => {
                        // perf-event-data 0.1 reads a register block even when its ABI word
                        // says there is none (samples of kernel threads and the idle task),
                        // and fails: parse those samples by hand rather than drop them.
                        let bytes = rec.to_contiguous();
                        let has_period = self.fixed_period.is_none();
                        match parse_sample_fallback(rec.ty(), &bytes, live.is_some(), has_period) {
                            Some(mut smp) => {
                                if let Some(p) = self.fixed_period {
                                    smp.period = p;
                                }
                                out.samples += 1;
                                let ev = self.event_of.get(&smp.id).copied().unwrap_or(0);
                                push_sample(out, live.as_deref_mut(), &smp, ev);
                            }
                            None => out.unparsed += 1,
                        }
                        continue;
                    }
                };
                match parsed {
                    R::Sample(smp) => {
                        out.samples += 1;
                        let (Some(pid), Some(tid)) = (smp.pid(), smp.tid()) else {
                            continue;
                        };
                        let regs: &[u64] = smp.regs_user().map_or(&[], |r| &r.regs);
                        let ip_chain;
                        let mut callchain = match (smp.callchain(), smp.ip()) {
                            (Some(c), _) => c,
                            (None, Some(ip)) => {
                                ip_chain = [ip];
                                &ip_chain[..]
                            }
                            (None, None) => &[],
                        };
                        let lbr_chain;
                        if let Some(lbr) = smp.lbr().filter(|b| !b.is_empty()) {
                            lbr_chain = lbr_callchain(callchain, smp.ip(), lbr);
                            callchain = &lbr_chain[..];
                        }
                        let one = OneSample {
                            pid,
                            tid,
                            time: smp.time().unwrap_or(0),
                            // Always requested; a missing one (impossible with our
                            // sample_type) counts as one event rather than none.
                            period: smp.period().or(self.fixed_period).unwrap_or(1),
                            id: smp.id().unwrap_or(0),
                            cpu: smp.cpu().unwrap_or(0),
                            regs: Cow::Borrowed(regs),
                            stack: smp.stack_user().unwrap_or(&[]),
                            callchain: Cow::Borrowed(callchain),
                        };
                        let ev = self.event_of.get(&one.id).copied().unwrap_or(0);
                        push_sample(out, live.as_deref_mut(), &one, ev);
                    }
                    R::Mmap2(m) => {
                        let time = trailer_time(&rec.to_contiguous());
                        if m.prot & libc::PROT_EXEC as u32 == 0 {
                            continue;
                        }
                        let map = Mapping {
                            start: m.addr,
                            end: m.addr + m.len,
                            pgoff: m.pgoff,
                            path: String::from_utf8_lossy(&m.filename).into_owned(),
                            ino: m.ino().unwrap_or(0),
                        };
                        if let Some(live) = live.as_deref_mut() {
                            live.mmap(m.pid, &map);
                        }
                        out.push(
                            time,
                            RawEvent::Mmap {
                                pid: m.pid,
                                map: Box::new(map),
                            },
                        );
                    }
                    R::Mmap(m) => {
                        let time = trailer_time(&rec.to_contiguous());
                        let map = Mapping {
                            start: m.addr,
                            end: m.addr + m.len,
                            pgoff: m.pgoff,
                            path: String::from_utf8_lossy(&m.filename).into_owned(),
                            ino: 0,
                        };
                        out.push(
                            time,
                            RawEvent::Mmap {
                                pid: m.pid,
                                map: Box::new(map),
                            },
                        );
                    }
                    R::Comm(c) => {
                        let time = trailer_time(&rec.to_contiguous());
                        if misc & PERF_RECORD_MISC_COMM_EXEC != 0 {
                            if let Some(live) = live.as_deref_mut() {
                                live.exec(c.pid, time);
                            }
                        }
                        out.push(
                            time,
                            RawEvent::Comm {
                                pid: c.pid,
                                tid: c.tid,
                                name: String::from_utf8_lossy(&c.comm).into(),
                                exec: misc & PERF_RECORD_MISC_COMM_EXEC != 0,
                            },
                        );
                    }
                    R::Fork(f) => {
                        let time = trailer_time(&rec.to_contiguous());
                        if f.pid != f.ppid {
                            if let Some(live) = live.as_deref_mut() {
                                live.fork(f.ppid, f.pid, time);
                            }
                        }
                        out.push(
                            time,
                            RawEvent::Fork {
                                pid: f.pid,
                                ppid: f.ppid,
                                tid: f.tid,
                                ptid: f.ptid,
                            },
                        );
                    }
                    // Only the live unwinder needs exits (to free a finished process's
                    // unwinder); the profile builder keeps address spaces until replaced.
                    R::Exit(x) if x.pid == x.tid => {
                        if let Some(live) = live.as_deref_mut() {
                            live.exit(x.pid);
                        }
                    }
                    R::Lost(l) => out.lost += l.lost,
                    R::LostSamples(l) => out.lost += l.lost,
                    _ => {}
                }
            }
        }
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[u64]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_ne_bytes()).collect()
    }

    /// The period in the test bodies: a frequency-mode cpu-clock period, distinct from every
    /// other word so reading the wrong one shows.
    const PERIOD: u64 = 1_000_250;
    const ID: u64 = 4242;

    /// A sample body as the kernel writes it for our DWARF layout.
    fn body(abi: u64, regs: &[u64], stack: &[u8], dyn_size: u64) -> Vec<u8> {
        let pid_tid = 7u64 | (9u64 << 32); // pid 7, tid 9 in native (little-endian) order
        let mut b = words(&[
            0x1000,
            pid_tid,
            123_456,
            ID,
            3, // cpu 3, reserved 0
            PERIOD,
            2,
            0xffff_ffff_8100_0000,
            0x1000,
        ]);
        b.extend(words(&[abi]));
        b.extend(words(regs));
        b.extend(words(&[stack.len() as u64]));
        b.extend_from_slice(stack);
        if !stack.is_empty() {
            b.extend(words(&[dyn_size]));
        }
        b
    }

    #[test]
    fn a_stored_event_stays_small() {
        // One per sample for the whole recording: 48 bytes, not the 88 an unboxed mapping
        // made every event.
        assert!(
            std::mem::size_of::<Timed>() <= 48,
            "{}",
            std::mem::size_of::<Timed>()
        );
    }

    #[test]
    fn fallback_parses_samples_without_user_registers() {
        // The idle task or a kernel thread: ABI 0, no registers, no stack.
        let b = body(0, &[], &[], 0);
        let s = parse_sample_fallback(9, &b, true, true).expect("parsed");
        assert_eq!((s.pid, s.tid, s.time), (7, 9, 123_456));
        assert_eq!((s.id, s.cpu), (ID, 3));
        // The period becomes the sample's weight.
        assert_eq!(s.period, PERIOD);
        assert_eq!(&*s.callchain, &[0xffff_ffff_8100_0000, 0x1000]);
        assert!(s.regs.is_empty() && s.stack.is_empty());
    }

    #[test]
    fn fallback_parses_registers_and_the_valid_part_of_the_stack() {
        let stack: Vec<u8> = (0..64).collect();
        let b = body(2, &[11, 22, 33], &stack, 40);
        let s = parse_sample_fallback(9, &b, true, true).expect("parsed");
        assert_eq!(&*s.regs, &[11, 22, 33]);
        assert_eq!(s.stack, &stack[..40]);
    }

    #[test]
    fn fallback_parses_samples_without_a_period_word() {
        // -c: no PERIOD word between CPU and the callchain count.
        let mut b = body(0, &[], &[], 0);
        b.drain(40..48);
        let s = parse_sample_fallback(9, &b, true, false).expect("parsed");
        assert_eq!(&*s.callchain, &[0xffff_ffff_8100_0000, 0x1000]);
        assert_eq!((s.id, s.cpu, s.period), (ID, 3, 1));
    }

    #[test]
    fn fallback_rejects_other_records_and_short_bodies() {
        let b = body(0, &[], &[], 0);
        assert!(parse_sample_fallback(1, &b, true, true).is_none());
        for cut in [0, 7, 16, 39, 47, 55, 63, b.len() - 1] {
            assert!(
                parse_sample_fallback(9, &b[..cut], true, true).is_none(),
                "{cut}"
            );
        }
        // A callchain count far beyond the body.
        let mut huge = b.clone();
        huge[48..56].copy_from_slice(&u64::MAX.to_ne_bytes());
        assert!(parse_sample_fallback(9, &huge, true, true).is_none());
    }
}
