//! Turning a raw sample into a list of code addresses, innermost first.
//!
//! Frame-pointer callchains walked by the kernel (`--call-graph fp`, [`fp`]) and DWARF CFI
//! unwinding of a copied user stack ([`dwarf`], driven during recording by
//! `record::live_unwind`). The DWARF result is spliced into the kernel callchain format, so
//! both produce the same [`UnwoundStack`] and symbolization does not care which ran.

pub mod dwarf;
pub mod fp;

use anyhow::{bail, Result};

/// Default bytes of user stack copied per sample in the DWARF modes: the kernel maximum.
/// Measured (BENCHMARKS.md, "DWARF unwinding in record"): python3 and the C and Rust fixtures
/// unwind completely with 16 KiB, but ripgrep's main thread (large Rust frames in regex
/// compilation) left 2% of its stacks cut at the end of a 16 KiB copy and 0.1% with 64 KiB.
/// rprof never stores the copy, so the cost is ring-buffer bandwidth, which the drain loop
/// keeps up with at 999 Hz on every CPU (no lost samples), and the kernel copies only the
/// live part of the stack.
pub const DEFAULT_STACK_BYTES: u32 = MAX_STACK_BYTES;

/// The kernel's limit for PERF_SAMPLE_STACK_USER: the sample size field is 16 bits and must
/// hold the header and the other fields too, so perf caps the copy just below 64 KiB.
pub const MAX_STACK_BYTES: u32 = 65528;

/// How user stacks are unwound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallGraph {
    /// Frame-pointer chains walked by the kernel.
    Fp,
    /// User call stacks from the CPU's last branch record (Intel LBR call-stack mode): no
    /// frame pointers or stack copies needed, depth limited by the LBR (16 to 32 calls).
    Lbr,
    /// Copy the user stack and unwind with DWARF CFI while recording.
    Dwarf {
        /// Bytes of user stack copied per sample (a multiple of 8, at most
        /// [`MAX_STACK_BYTES`]).
        stack_bytes: u32,
    },
    /// DWARF, falling back per sample to the frame-pointer chain when DWARF stops early and
    /// the frame-pointer chain reaches a thread entry.
    Auto {
        /// Bytes of user stack copied per sample.
        stack_bytes: u32,
    },
}

impl CallGraph {
    /// Parses `fp`, `dwarf[,BYTES]` or `auto[,BYTES]`. BYTES is capped at the kernel maximum
    /// and rounded down to a multiple of 8, as the kernel requires.
    pub fn parse(s: &str) -> Result<Self> {
        let (mode, arg) = match s.split_once(',') {
            Some((m, a)) => (m, Some(a)),
            None => (s, None),
        };
        let stack_bytes = |a: Option<&str>| -> Result<u32> {
            let Some(a) = a else {
                return Ok(DEFAULT_STACK_BYTES);
            };
            let n: u64 = a.trim().parse().map_err(|_| {
                anyhow::anyhow!("--call-graph {mode},{a}: the stack size must be a number of bytes")
            })?;
            let n = n.min(u64::from(MAX_STACK_BYTES)) as u32 & !7;
            if n == 0 {
                bail!("--call-graph {mode},{a}: the stack size must be at least 8 bytes");
            }
            Ok(n)
        };
        match (mode, arg) {
            ("fp", None) => Ok(CallGraph::Fp),
            ("lbr", None) => Ok(CallGraph::Lbr),
            ("auto", a) => Ok(CallGraph::Auto {
                stack_bytes: stack_bytes(a)?,
            }),
            ("dwarf", a) => Ok(CallGraph::Dwarf {
                stack_bytes: stack_bytes(a)?,
            }),
            _ => bail!(
                "unknown --call-graph mode `{s}`; choose fp, dwarf[,STACK_BYTES], auto[,STACK_BYTES] or lbr"
            ),
        }
    }

    /// Bytes of user stack copied per sample; None for frame pointers only.
    pub fn stack_bytes(&self) -> Option<u32> {
        match self {
            CallGraph::Fp | CallGraph::Lbr => None,
            CallGraph::Dwarf { stack_bytes } | CallGraph::Auto { stack_bytes } => {
                Some(*stack_bytes)
            }
        }
    }

    /// The name stored in the profile's metadata.
    pub fn name(&self) -> &'static str {
        match self {
            CallGraph::Fp => "fp",
            CallGraph::Lbr => "lbr",
            CallGraph::Dwarf { .. } => "dwarf",
            CallGraph::Auto { .. } => "auto",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modes_and_clamps_stack_size() {
        assert_eq!(CallGraph::parse("fp").ok(), Some(CallGraph::Fp));
        assert_eq!(
            CallGraph::parse("dwarf").ok(),
            Some(CallGraph::Dwarf { stack_bytes: 65528 })
        );
        assert_eq!(
            CallGraph::parse("dwarf,1000000").ok(),
            Some(CallGraph::Dwarf { stack_bytes: 65528 })
        );
        assert_eq!(
            CallGraph::parse("auto,8191").ok(),
            Some(CallGraph::Auto { stack_bytes: 8184 })
        );
        assert!(CallGraph::parse("dwarf,4").is_err());
        assert!(CallGraph::parse("dwarf,x").is_err());
        assert_eq!(CallGraph::parse("lbr").ok(), Some(CallGraph::Lbr));
        assert!(CallGraph::parse("lbr,8").is_err());
        assert!(CallGraph::parse("branch").is_err());
    }
}

/// One code address of a stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StackAddr {
    /// The address as recorded.
    pub addr: u64,
    /// True when the address is a return address: symbolize `addr - 1` so the lookup lands in
    /// the call instruction, not in whatever follows it.
    pub is_return: bool,
    /// True for kernel code.
    pub kernel: bool,
}

impl StackAddr {
    /// The address to look up in debug info.
    pub fn lookup(&self) -> u64 {
        if self.is_return {
            self.addr.saturating_sub(1)
        } else {
            self.addr
        }
    }
}

/// A sample's stack, innermost frame first, kernel frames before user frames.
pub type UnwoundStack = Vec<StackAddr>;
