//! How big each CPU's ring buffer is, and when the kernel wakes the drain loop.
//!
//! With DWARF stacks every sample reserves its whole stack copy in the ring buffer (the
//! kernel sizes the record by the requested copy, and only fills the live part), so a buffer
//! holds `buffer / copy` samples whatever the stacks' real depth: 128 samples for 8 MiB and
//! the default 64 KiB copy. At 20 kHz on a busy CPU that is 6 ms of samples, less than a
//! loaded machine's scheduling delay for the drain thread, and samples are lost (measured in
//! BENCHMARKS.md, "Recording throughput"). So the buffer follows the rate: enough for
//! [`SLACK_MS`] of samples at the requested frequency, between [`MIN_BYTES`] and
//! [`MAX_PER_CPU`] per CPU, and never more than [`TOTAL_CAP`] over all CPUs, so that `-a` on a
//! 64-CPU machine does not lock gigabytes. The kernel wakes the drain loop at a quarter full
//! (its default is half), leaving three quarters of the buffer for the drain thread's delay.

/// Milliseconds of samples at full rate a buffer should hold.
pub const SLACK_MS: u64 = 200;
/// Smallest DWARF-mode buffer per CPU.
pub const MIN_BYTES: usize = 8 << 20;
/// Largest buffer per CPU.
pub const MAX_PER_CPU: usize = 64 << 20;
/// Largest total over all CPUs (locked kernel memory).
pub const TOTAL_CAP: usize = 512 << 20;
/// Below this per-CPU size the total cap does not shrink a buffer further (16 samples of the
/// largest copy).
pub const FLOOR_BYTES: usize = 1 << 20;
/// Record bytes besides the stack copy: header, ip, tid, time, period, callchain, registers.
const RECORD_OVERHEAD: u64 = 512;

/// Ring-buffer bytes per CPU for DWARF-mode sampling at `frequency` Hz with `stack_bytes`
/// copies on `ncpus` CPUs (a power of two, as the kernel requires).
pub fn dwarf_buffer_bytes(frequency: u64, stack_bytes: u32, ncpus: usize) -> usize {
    let per_sample = u64::from(stack_bytes) + RECORD_OVERHEAD;
    let want = per_sample
        .saturating_mul(frequency)
        .saturating_mul(SLACK_MS)
        / 1000;
    let want = usize::try_from(want).unwrap_or(usize::MAX);
    let mut bytes = want.clamp(MIN_BYTES, MAX_PER_CPU).next_power_of_two();
    let per_cpu_cap = (TOTAL_CAP / ncpus.max(1)).max(FLOOR_BYTES);
    while bytes > per_cpu_cap && bytes > FLOOR_BYTES {
        bytes /= 2;
    }
    bytes.min(MAX_PER_CPU)
}

/// The wakeup watermark for a buffer of `bytes`: a quarter of it.
pub fn wakeup_bytes(bytes: usize) -> usize {
    (bytes / 4).max(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_rate_within_bounds() {
        // 999 Hz, 64 KiB: 200 ms is 13 MB -> 16 MiB.
        assert_eq!(dwarf_buffer_bytes(999, 65528, 2), 16 << 20);
        // 20 kHz wants 262 MB: capped at 64 MiB per CPU.
        assert_eq!(dwarf_buffer_bytes(20_000, 65528, 2), 64 << 20);
        // Low rates and small copies keep the 8 MiB minimum.
        assert_eq!(dwarf_buffer_bytes(99, 8192, 2), 8 << 20);
        for (f, s, n) in [(1, 8, 1), (100_000, 65528, 7), (4000, 32768, 3)] {
            assert!(dwarf_buffer_bytes(f, s, n).is_power_of_two());
        }
    }

    #[test]
    fn total_is_capped_on_many_cpus() {
        // 64 CPUs at 999 Hz: 16 MiB each would lock 1 GiB; the cap gives 8 MiB (512 MiB).
        let b = dwarf_buffer_bytes(999, 65528, 64);
        assert_eq!(b, 8 << 20);
        assert!(b * 64 <= TOTAL_CAP);
        // 256 CPUs at 20 kHz: 2 MiB each.
        assert_eq!(dwarf_buffer_bytes(20_000, 65528, 256), 2 << 20);
        // Never below the floor, however many CPUs.
        assert_eq!(dwarf_buffer_bytes(999, 65528, 100_000), FLOOR_BYTES);
    }

    #[test]
    fn wakes_at_a_quarter() {
        assert_eq!(wakeup_bytes(16 << 20), 4 << 20);
        assert_eq!(wakeup_bytes(8192), 4096);
    }
}
