//! Fuzzes the `perf script` text parser (`profile::perf_script::parse`), fed as the loader
//! feeds it: bytes decoded lossily as UTF-8.
#![no_main]

extern crate rprof_fuzz;

use libfuzzer_sys::fuzz_target;
use rprof::profile::{folded, perf_script};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(p) = perf_script::parse(&text) {
        let _ = folded::fold(&p, &folded::FoldOptions::default());
    }
});
