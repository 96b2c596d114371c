//! Fuzzes the strace log parser (`strace::log::parse`, behind `strace-summary --from-log`)
//! fed as the command feeds it, and renders what it accepts as text and JSON.
#![no_main]

extern crate rprof_fuzz;

use libfuzzer_sys::fuzz_target;
use rprof::strace::{log, render};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(s) = log::parse(&text) else {
        return;
    };
    for grouping in [
        render::Grouping::Total,
        render::Grouping::Thread,
        render::Grouping::Process,
    ] {
        let opts = render::RenderOpts {
            sort: render::SortKey::Time,
            grouping,
            errors: true,
        };
        let _ = render::text(&s, &opts);
        let _ = render::json(&s, &opts);
    }
});
