//! Fuzz target `perf_data`: the perf.data reader (file and pipe mode, every record kind, the
//! DWARF unwinder on copied stacks), reading nothing but the input.
//! The body is `rprof_fuzz::targets::perf_data` in fuzz/src/targets.rs, shared with the regression
//! tests (tests/fuzz_regressions.rs) that replay the kept crash inputs.
#![no_main]

extern crate rprof_fuzz;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rprof_fuzz::targets::perf_data(data));
