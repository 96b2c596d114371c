//! Fuzz target `pprof`: the pprof reader (gzipped or raw, every sample type) and writer.
//! The body is `rprof_fuzz::targets::pprof_target` in fuzz/src/targets.rs, shared with the
//! regression tests (tests/fuzz_regressions.rs) that replay the kept crash inputs.
#![no_main]

extern crate rprof_fuzz;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rprof_fuzz::targets::pprof_target(data));
