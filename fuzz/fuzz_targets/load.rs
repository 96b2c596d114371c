//! Fuzzes the whole input dispatch: format detection (`profile::detect::detect`) and
//! `load_bytes`, which every command reading a profile goes through, then the report and the
//! folding every loaded profile is put through.
#![no_main]

extern crate rprof_fuzz;

use libfuzzer_sys::fuzz_target;
use rprof::profile::{detect, folded};
use rprof::render::report;

fuzz_target!(|data: &[u8]| {
    let _ = detect::detect(data);
    let Ok(l) = detect::load_bytes("fuzz".to_string(), data, &detect::LoadOptions::default())
    else {
        return;
    };
    let p = &l.profile;
    let _ = report::header(p, &l.name, l.format.name());
    for sort in [report::SortKey::Function, report::SortKey::Thread] {
        let r = report::compute(p, sort, 20, 0.0);
        let _ = report::to_text(&r, &[]);
    }
    let _ = folded::fold(
        p,
        &folded::FoldOptions {
            per_thread: true,
            annotate: true,
            ..Default::default()
        },
    );
});
