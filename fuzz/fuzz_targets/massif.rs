//! Fuzz target `massif`: the massif parser on plain text, with its renderings.
//! The body is `rprof_fuzz::targets::massif` in fuzz/src/targets.rs, shared with the regression
//! tests (tests/fuzz_regressions.rs) that replay the kept crash inputs.
#![no_main]

extern crate rprof_fuzz;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rprof_fuzz::targets::massif(data));
