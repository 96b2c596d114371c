//! Fuzzes the massif parser on plain text, then everything `rprof massif` and the loader do
//! with a parsed file: the ms_print text, the SVG chart and the conversion to a profile.
#![no_main]

extern crate rprof_fuzz;

use libfuzzer_sys::fuzz_target;
use rprof::massif::{self, chart, parse, text};

fuzz_target!(|data: &[u8]| {
    // The gzip path has its own target (massif_gz); keep this one on the text parser.
    if parse::is_gzip(data) {
        return;
    }
    let opt = parse::ParseOptions {
        threshold: 1.0,
        full: None,
    };
    if let Ok(m) = parse::parse_bytes_with(data, "fuzz", &opt) {
        let o = text::TextOptions::default();
        let _ = text::summary(&m, &o);
        let _ = text::write_ms_print(&mut std::io::sink(), &m, &o);
        let _ = chart::render(&m, "fuzz", 10);
    }
    let _ = massif::load_profile(data, "fuzz", None);
    let _ = massif::load_profile(data, "fuzz", Some(1));
});
