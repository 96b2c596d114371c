//! Fuzzes the gzip path of the massif reader: the input is gzip-compressed first (so the
//! fuzzer mutates massif text, not deflate streams) and the compressed bytes are loaded as
//! `rprof massif` and the profile loader load them. Corrupt gzip streams are fuzzed too: when
//! the input already starts with the gzip magic it is passed through unchanged.
#![no_main]

extern crate rprof_fuzz;

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use rprof::massif::{self, parse};

fuzz_target!(|data: &[u8]| {
    let gz;
    let bytes = if parse::is_gzip(data) {
        data
    } else {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).expect("writing to a Vec");
        gz = e.finish().expect("writing to a Vec");
        &gz[..]
    };
    let opt = parse::ParseOptions {
        threshold: 1.0,
        full: None,
    };
    let _ = parse::parse_bytes_with(bytes, "fuzz", &opt);
    let _ = parse::parse_reader(bytes, "fuzz", &opt);
    let _ = massif::load_profile(bytes, "fuzz", None);
});
