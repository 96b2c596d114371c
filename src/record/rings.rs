//! The per-CPU ring buffers of a set of perf events, and the drain threads that empty them.
//!
//! A [`RingSet`] owns one ring buffer per CPU: the first event opened on a CPU maps it, every
//! later one on that CPU redirects its output into it (`PERF_EVENT_IOC_SET_OUTPUT`). The
//! sampling session and the off-CPU switch events each have one (their records have different
//! layouts); a [`Parser`] tells how one set's records are read, and that is all they differ
//! in.
//!
//! A [`Drainer`] empties the sets each round of the recording loop. With one lane it drains
//! every buffer on the calling thread. With several (`-a` on a machine with many CPUs, see
//! [`lanes_for`]) buffer `i` belongs to lane `i % lanes`, and the lanes run on their own
//! threads for the round, each with its own parsers, output and DWARF unwinder: unwinding, the
//! cost of a DWARF sample, then scales with the cores instead of being bound to one. The
//! unwinders share the parsed unwind tables ([`crate::unwind::dwarf::ModuleCache`]); a
//! mapping, fork, exec or exit one lane drains reaches the others' unwinders at the end of the
//! round (a sample in between that needs it makes its unwinder re-read `/proc/PID/maps`, as
//! for a record still in another CPU's buffer with one lane). Each lane's output is then
//! merged into the recording's.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use perf_event::{Counter, Record, Sampler};

use super::live_unwind::LiveUnwinder;
use super::offcpu::{OffCpuStats, Pairing, SwitchParser};
use super::session::{Collected, SampleParser};

/// Ring buffers per drain thread before another thread is worth it.
pub const RINGS_PER_LANE: usize = 8;

/// Environment variable that sets the number of drain threads (1 to the number of ring
/// buffers), for benchmarks and for machines where the default is wrong.
pub const LANES_VAR: &str = "RPROF_DRAIN_THREADS";

/// How one kind of ring buffer's records are read.
pub trait Parser {
    /// Reads one record into `out`, unwinding samples with `live` in the DWARF modes.
    fn parse(&mut self, rec: &Record<'_>, out: &mut Collected, live: Option<&mut LiveUnwinder>);
}

/// The ring buffers of one set of events, one per CPU.
#[derive(Default)]
pub struct RingSet {
    rings: Vec<Sampler>,
    /// Events that write into another event's buffer.
    others: Vec<Counter>,
    /// CPU to its buffer's index in `rings`.
    slots: HashMap<usize, usize>,
}

impl RingSet {
    /// No buffers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an event opened on `cpu`: the first of a CPU maps a buffer of `bytes` (a power of
    /// two), the others redirect their output into it.
    pub fn add(&mut self, counter: Counter, cpu: usize, bytes: usize) -> io::Result<()> {
        if let Some(&i) = self.slots.get(&cpu) {
            let target = self.rings[i].as_raw_fd();
            // SAFETY: both fds are perf events we opened; SET_OUTPUT takes the target fd.
            let r = unsafe { perf_event_open_sys::ioctls::SET_OUTPUT(counter.as_raw_fd(), target) };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
            self.others.push(counter);
        } else {
            let s = counter.sampled(bytes)?;
            self.slots.insert(cpu, self.rings.len());
            self.rings.push(s);
        }
        Ok(())
    }

    /// Number of ring buffers.
    pub fn len(&self) -> usize {
        self.rings.len()
    }

    /// True when no event was added.
    pub fn is_empty(&self) -> bool {
        self.rings.is_empty()
    }

    /// The buffers' fds, for poll.
    pub fn fds(&self) -> Vec<RawFd> {
        self.rings.iter().map(|s| s.as_raw_fd()).collect()
    }

    /// Enables every event (attach modes; launched commands use enable_on_exec).
    pub fn enable_all(&mut self) -> io::Result<()> {
        for s in &mut self.rings {
            s.enable()?;
        }
        for c in &mut self.others {
            c.enable()?;
        }
        Ok(())
    }

    /// Disables every event before the final drain.
    pub fn disable_all(&mut self) {
        for s in &mut self.rings {
            let _ = s.disable();
        }
        for c in &mut self.others {
            let _ = c.disable();
        }
    }

    /// Drains every buffer on this thread.
    pub fn drain(
        &mut self,
        parser: &mut impl Parser,
        out: &mut Collected,
        live: Option<&mut LiveUnwinder>,
    ) {
        drain_rings(self.rings.iter_mut(), parser, out, live);
    }

    /// The buffers split over `lanes`: buffer `i` to lane `i % lanes`.
    fn split(&mut self, lanes: usize) -> Vec<Vec<&mut Sampler>> {
        let mut out: Vec<Vec<&mut Sampler>> = (0..lanes).map(|_| Vec::new()).collect();
        for (i, s) in self.rings.iter_mut().enumerate() {
            out[i % lanes].push(s);
        }
        out
    }
}

fn drain_rings<'a>(
    rings: impl Iterator<Item = &'a mut Sampler>,
    parser: &mut impl Parser,
    out: &mut Collected,
    mut live: Option<&mut LiveUnwinder>,
) {
    for s in rings {
        while let Some(rec) = s.next_record() {
            parser.parse(&rec, out, live.as_deref_mut());
        }
    }
}

/// The number of drain threads for `rings` buffers per set: one per [`RINGS_PER_LANE`]
/// buffers, at most half the cores (the other half runs what is profiled), at least one;
/// [`LANES_VAR`] overrides it.
pub fn lanes_for(rings: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chosen = std::env::var(LANES_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or_else(|| rings.div_ceil(RINGS_PER_LANE).min(cores / 2));
    chosen.clamp(1, rings.max(1))
}

/// One drain thread's state.
struct Lane {
    samples: SampleParser,
    switches: Option<SwitchParser>,
    live: Option<LiveUnwinder>,
    /// This round's output (merged into the recording's after each round).
    out: Collected,
}

/// The drain threads of a recording: see the module documentation.
pub struct Drainer {
    lanes: Vec<Lane>,
    /// With off-CPU events: pairs the lanes' switch events after each round.
    pairing: Option<Pairing>,
}

impl Drainer {
    /// `lanes` drain threads, each with a copy of `samples`, an empty `switches` parser when
    /// off-CPU events are recorded, and an unwinder from `live` in the DWARF modes.
    pub fn new(
        lanes: usize,
        samples: &SampleParser,
        switches: Option<&SwitchParser>,
        mut live: impl FnMut() -> Option<LiveUnwinder>,
    ) -> Self {
        let n = lanes.max(1);
        let lanes = (0..n)
            .map(|_| Lane {
                samples: samples.clone(),
                switches: switches.map(SwitchParser::fresh),
                live: live().map(|mut l| {
                    l.set_journal(n > 1);
                    l
                }),
                out: Collected::default(),
            })
            .collect();
        Drainer {
            lanes,
            pairing: switches.map(Pairing::new),
        }
    }

    /// Number of drain threads.
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// Drains `samples` (the session's buffers) and `switches` (the off-CPU events') into
    /// `out`, then pairs the switch events older than the round's start minus
    /// [`super::offcpu::HORIZON_NS`] into off-CPU samples in `out`.
    pub fn round(
        &mut self,
        samples: &mut RingSet,
        switches: Option<&mut RingSet>,
        out: &mut Collected,
    ) {
        let horizon = crate::process::monotonic_ns().saturating_sub(super::offcpu::HORIZON_NS);
        self.drain_round(samples, switches, out);
        if let Some(pairing) = self.pairing.as_mut() {
            for lane in &mut self.lanes {
                if let Some(p) = lane.switches.as_mut() {
                    pairing.take_from(p);
                }
            }
            pairing.advance(horizon, out);
        }
    }

    fn drain_round(
        &mut self,
        samples: &mut RingSet,
        mut switches: Option<&mut RingSet>,
        out: &mut Collected,
    ) {
        if self.lanes.len() == 1 {
            let lane = &mut self.lanes[0];
            samples.drain(&mut lane.samples, out, lane.live.as_mut());
            if let (Some(set), Some(p)) = (switches.as_deref_mut(), lane.switches.as_mut()) {
                set.drain(p, out, lane.live.as_mut());
            }
            return;
        }
        let n = self.lanes.len();
        let sample_parts = samples.split(n);
        let mut switch_parts = match switches {
            Some(set) => set.split(n),
            None => (0..n).map(|_| Vec::new()).collect(),
        };
        std::thread::scope(|scope| {
            let mut work = self
                .lanes
                .iter_mut()
                .zip(sample_parts)
                .zip(switch_parts.drain(..));
            // Lane 0 runs here; the others on their own threads.
            let first = work.next();
            for ((lane, sp), wp) in work {
                scope.spawn(move || lane.drain(sp, wp));
            }
            if let Some(((lane, sp), wp)) = first {
                lane.drain(sp, wp);
            }
        });
        // What each lane's unwinder learnt about address spaces, to the others.
        let journals: Vec<Vec<_>> = self
            .lanes
            .iter_mut()
            .map(|l| {
                l.live
                    .as_mut()
                    .map(|u| u.take_journal())
                    .unwrap_or_default()
            })
            .collect();
        for (i, ops) in journals.iter().enumerate() {
            if ops.is_empty() {
                continue;
            }
            for (j, lane) in self.lanes.iter_mut().enumerate() {
                if let (true, Some(u)) = (i != j, lane.live.as_mut()) {
                    u.replay(ops);
                }
            }
        }
        for lane in &mut self.lanes {
            out.absorb(std::mem::take(&mut lane.out));
        }
    }

    /// After the last round: pairs every switch event left and closes the waits still open
    /// at `end` (CLOCK_MONOTONIC ns) into `out`; the off-CPU figures, None without off-CPU
    /// events.
    pub fn finish_switches(&mut self, out: &mut Collected, end: u64) -> Option<OffCpuStats> {
        let mut pairing = self.pairing.take()?;
        for lane in &mut self.lanes {
            if let Some(p) = lane.switches.as_mut() {
                pairing.take_from(p);
            }
        }
        Some(pairing.finish(out, end))
    }

    /// The unwinding figures of every lane, summed (None outside the DWARF modes).
    pub fn finish_unwinders(&mut self) -> Option<super::live_unwind::LiveStats> {
        let mut total: Option<super::live_unwind::LiveStats> = None;
        for lane in &mut self.lanes {
            if let Some(u) = lane.live.take() {
                let s = u.finish();
                match total.as_mut() {
                    Some(t) => t.add(&s),
                    None => total = Some(s),
                }
            }
        }
        total
    }
}

impl Lane {
    fn drain(&mut self, samples: Vec<&mut Sampler>, switches: Vec<&mut Sampler>) {
        drain_rings(
            samples.into_iter(),
            &mut self.samples,
            &mut self.out,
            self.live.as_mut(),
        );
        if let Some(p) = self.switches.as_mut() {
            drain_rings(switches.into_iter(), p, &mut self.out, self.live.as_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lane_per_eight_buffers_capped_by_cores() {
        // The variable is not set in the test environment.
        if std::env::var_os(LANES_VAR).is_some() {
            return;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(lanes_for(0), 1);
        assert_eq!(lanes_for(1), 1);
        assert_eq!(lanes_for(8), 1);
        assert_eq!(lanes_for(64), 8.min(cores / 2).max(1));
        assert!(lanes_for(1024) <= (cores / 2).max(1));
    }
}
