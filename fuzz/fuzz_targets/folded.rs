//! Fuzzes the folded-stacks parser (`profile::folded::parse`) and folds what it accepts back
//! into lines, as `flamegraph` and `convert` do.
#![no_main]

extern crate rprof_fuzz;

use libfuzzer_sys::fuzz_target;
use rprof::profile::folded;

fuzz_target!(|data: &[u8]| {
    // The loader refuses non-UTF-8 folded input before parsing, so only text reaches the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = folded::parse(text) {
        let opt = folded::FoldOptions {
            annotate: true,
            ..Default::default()
        };
        let _ = folded::fold(&p, &opt);
    }
});
