//! Turning a raw sample into a list of code addresses, innermost first.
//!
//! Today only frame-pointer callchains walked by the kernel (`--call-graph fp`) exist
//! ([`fp`]). A DWARF unwinder (issue 4) slots in as another [`CallGraph`] variant whose output
//! is the same [`UnwoundStack`], so symbolization and the profile builder do not change.

pub mod dwarf;
pub mod fp;

use anyhow::{bail, Result};

/// How user stacks are unwound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallGraph {
    /// Frame-pointer chains walked by the kernel.
    Fp,
    /// Copy the user stack and unwind with DWARF CFI (not implemented yet).
    Dwarf {
        /// Bytes of user stack copied per sample.
        stack_bytes: u32,
    },
    /// DWARF with a frame-pointer fallback (not implemented yet).
    Auto,
}

impl CallGraph {
    /// Parses `fp`, `dwarf[,BYTES]` or `auto`.
    pub fn parse(s: &str) -> Result<Self> {
        let (mode, arg) = match s.split_once(',') {
            Some((m, a)) => (m, Some(a)),
            None => (s, None),
        };
        match (mode, arg) {
            ("fp", None) => Ok(CallGraph::Fp),
            ("auto", None) => Ok(CallGraph::Auto),
            ("dwarf", a) => {
                let stack_bytes = match a {
                    None => 16 * 1024,
                    Some(a) => a.parse().map_err(|_| {
                        anyhow::anyhow!(
                            "--call-graph dwarf,{a}: the stack size must be a number of bytes"
                        )
                    })?,
                };
                Ok(CallGraph::Dwarf { stack_bytes })
            }
            _ => bail!("unknown --call-graph mode `{s}`; choose fp, dwarf[,STACK_BYTES] or auto"),
        }
    }

    /// Fails for the modes this build cannot record yet, saying what to use instead.
    pub fn ensure_supported(&self) -> Result<()> {
        match self {
            CallGraph::Fp => Ok(()),
            CallGraph::Dwarf { .. } => bail!(
                "--call-graph dwarf is not yet supported; use --call-graph fp (build the program with -fno-omit-frame-pointer for complete stacks)"
            ),
            CallGraph::Auto => bail!(
                "--call-graph auto is not yet supported; use --call-graph fp"
            ),
        }
    }

    /// The name stored in the profile's metadata.
    pub fn name(&self) -> &'static str {
        match self {
            CallGraph::Fp => "fp",
            CallGraph::Dwarf { .. } => "dwarf",
            CallGraph::Auto => "auto",
        }
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
