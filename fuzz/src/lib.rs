//! Shared by every fuzz target: an allocator that turns a huge allocation into a crash.
//!
//! Without a sanitizer (the fast way `bench/fuzz.sh` builds) libFuzzer cannot see allocation
//! sizes, and an overcommitted `Vec::with_capacity(16 GiB)` that is never touched costs nothing,
//! so a header that makes a parser reserve memory the input cannot justify would go unnoticed.
//! Inputs here are at most a few hundred KiB: no honest parse needs anything near the limit.
//! Each target links this crate with `extern crate rprof_fuzz;`.
//!
//! The targets' bodies live in [`targets`], which tests/fuzz_regressions.rs includes too, so
//! the regression tests run the kept crash inputs through exactly what the fuzzer ran.

pub mod targets;

use std::alloc::{GlobalAlloc, Layout, System};

/// The largest single allocation a fuzz target may make (256 MiB).
pub const LIMIT: usize = 256 << 20;

/// [`System`], aborting (a crash libFuzzer records, with the input) on an allocation above
/// [`LIMIT`].
pub struct LimitedAlloc;

fn too_big(size: usize) -> ! {
    // No formatting here: this runs inside the allocator, where allocating again is not allowed.
    let msg = b"rprof-fuzz: single allocation above 256 MiB (an input-controlled size reached the allocator)\n";
    // SAFETY: writing a static buffer to stderr.
    unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
    let _ = size;
    std::process::abort()
}

// SAFETY: every call is forwarded to `System` unchanged, or the process aborts.
unsafe impl GlobalAlloc for LimitedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LIMIT {
            too_big(layout.size());
        }
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LIMIT {
            too_big(layout.size());
        }
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > LIMIT {
            too_big(new_size);
        }
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOC: LimitedAlloc = LimitedAlloc;
