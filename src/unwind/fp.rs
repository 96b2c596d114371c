//! Frame-pointer callchains as the kernel delivers them (`PERF_SAMPLE_CALLCHAIN`).

use super::{StackAddr, UnwoundStack};

/// `PERF_CONTEXT_*` markers are the top 4095 values of the u64 range.
const PERF_CONTEXT_MAX: u64 = u64::MAX - 4094;
const PERF_CONTEXT_KERNEL: u64 = (-128i64) as u64;
/// Starts the user part of a callchain.
pub const PERF_CONTEXT_USER: u64 = (-512i64) as u64;

/// True for a context marker rather than an address.
pub fn is_marker(v: u64) -> bool {
    v >= PERF_CONTEXT_MAX
}

/// Converts a kernel callchain into stack addresses. The first address of each context is
/// where that context was interrupted; all further ones are return addresses. The first user
/// address after kernel frames is the user-mode IP at kernel entry, which for a syscall is the
/// instruction after `syscall`, so it too is treated as a return address.
pub fn unwind(chain: &[u64], with_kernel: bool) -> UnwoundStack {
    let mut out = Vec::with_capacity(chain.len());
    let mut kernel = false;
    let mut first_in_context = true;
    let mut seen_any = false;
    for &v in chain {
        if is_marker(v) {
            match v {
                PERF_CONTEXT_KERNEL => kernel = true,
                PERF_CONTEXT_USER => kernel = false,
                _ => {}
            }
            first_in_context = true;
            continue;
        }
        // Zero and tiny values end broken user chains; they are not code.
        if v < 4096 {
            continue;
        }
        if kernel && !with_kernel {
            continue;
        }
        let is_return = !first_in_context || seen_any;
        out.push(StackAddr {
            addr: v,
            is_return,
            kernel,
        });
        first_in_context = false;
        seen_any = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_contexts() {
        let chain = [
            PERF_CONTEXT_KERNEL,
            0xffff_ffff_8100_0000,
            0xffff_ffff_8100_0100,
            PERF_CONTEXT_USER,
            0x401000,
            0x401100,
            0,
        ];
        let s = unwind(&chain, true);
        assert_eq!(s.len(), 4);
        assert!(s[0].kernel && !s[0].is_return);
        assert!(s[1].kernel && s[1].is_return);
        assert!(!s[2].kernel && s[2].is_return);
        let u = unwind(&chain, false);
        assert_eq!(u.len(), 2);
        assert!(u[1].is_return);
        let user_only = unwind(&[PERF_CONTEXT_USER, 0x401000, 0x401100], true);
        assert!(!user_only[0].is_return && user_only[1].is_return);
    }
}
