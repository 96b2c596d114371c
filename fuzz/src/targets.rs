//! The bodies of the fuzz targets, one function per target taking the raw input.
//!
//! Shared by the cargo-fuzz binaries (fuzz/fuzz_targets/*.rs) and, through `#[path]`, by
//! tests/fuzz_regressions.rs, which replays every kept crash input on the stable toolchain.
//! So this file uses only what the rprof crate itself depends on (flate2, crc32fast).
//! Each function may return early; a panic is the bug the fuzzer looks for, and so are the
//! `assert!`s here, which state what must hold for any accepted input.

use std::io::Write;

use rprof::massif::{self, chart, parse, text};
use rprof::profile::{detect, file, folded, perf_data, perf_script, pprof, Profile};
use rprof::render::report;
use rprof::strace::{self, render};

/// A target's body.
pub type Target = fn(&[u8]);

/// The targets, by name (the directory names under fuzz/corpus and fixtures/fuzz).
pub const ALL: &[(&str, Target)] = &[
    ("data_file", data_file),
    ("data_body", data_body),
    ("folded", folded),
    ("perf_script", perf_script),
    ("massif", massif),
    ("massif_gz", massif_gz),
    ("strace_log", strace_log),
    ("load", load),
    ("pprof", pprof_target),
    ("perf_data", perf_data),
];

/// Header length of the rprof data file (see the layout in `rprof::profile::file`).
const HEADER_LEN: usize = 40;

/// `data` with the compressed length and both CRC-32s of its header set to match its content,
/// when it is long enough and starts with the data file magic.
pub fn fix_up_data_file(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < HEADER_LEN || !file::is_data_file(data) {
        return None;
    }
    let mut f = data.to_vec();
    let comp_len = (f.len() - HEADER_LEN) as u64;
    f[24..32].copy_from_slice(&comp_len.to_le_bytes());
    let dcrc = crc32fast::hash(&f[HEADER_LEN..]);
    f[32..36].copy_from_slice(&dcrc.to_le_bytes());
    let hcrc = crc32fast::hash(&f[..36]);
    f[36..40].copy_from_slice(&hcrc.to_le_bytes());
    Some(f)
}

/// A data file of format `version` around the uncompressed `body`, with correct lengths and
/// checksums, laid out as rprof writes it.
pub fn wrap_data_body(version: u32, body: &[u8]) -> Vec<u8> {
    file::wrap_body(version, body)
}

/// A profile that decoded must encode and decode again, to the same samples (rows and the
/// samples each stands for).
fn check_round_trip(p: &Profile) {
    let again = file::encode(p);
    match file::decode(&again) {
        Ok(q) => {
            assert_eq!(p.samples.len(), q.samples.len(), "round trip lost samples");
            assert!(
                p.samples
                    .iter()
                    .zip(&q.samples)
                    .all(|(a, b)| a.count == b.count),
                "round trip changed sample counts"
            );
        }
        Err(e) => panic!("a re-encoded data file does not read back: {e}"),
    }
}

/// The rprof data file reader on whole files: header fields and the compressed stream.
///
/// The file carries two CRC-32s and its exact compressed length, which a mutating fuzzer can
/// almost never get right, so each input is decoded twice: as it is (the checks themselves),
/// and with the length and checksums recomputed, so forged header values and the stream reach
/// the code behind the checks.
pub fn data_file(data: &[u8]) {
    let _ = file::decode(data);
    if let Some(fixed) = fix_up_data_file(data) {
        if let Ok(p) = file::decode(&fixed) {
            check_round_trip(&p);
        }
    }
}

/// The data file's body decoder: the input is a version byte (1 for version 1, 3 for version 3,
/// anything else the current one, whose bodies may carry the sample counts column) and the
/// uncompressed body, wrapped into a valid file so that every input reaches the section and
/// column parsing. Seeds: the fixtures' bodies (fuzz/seed.sh).
pub fn data_body(data: &[u8]) {
    let Some((&v, body)) = data.split_first() else {
        return;
    };
    let version = match v {
        1 => 1,
        3 => 3,
        _ => file::VERSION,
    };
    if let Ok(p) = file::decode(&wrap_data_body(version, body)) {
        check_round_trip(&p);
    }
}

/// The folded-stacks parser, and folding what it accepts back into lines.
pub fn folded(data: &[u8]) {
    // The loader refuses non-UTF-8 folded input before parsing: only text reaches the parser.
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
}

/// The `perf script` parser, fed as the loader feeds it (bytes decoded lossily as UTF-8).
pub fn perf_script(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(p) = perf_script::parse(&text) {
        let _ = folded::fold(&p, &folded::FoldOptions::default());
    }
}

/// The perf.data reader without touching any file (see `perf_data::load_with`), then the
/// folded view of what it read. Inputs are given the magic when they lack it, so mutations
/// spend their time in the header and the records rather than failing detection.
pub fn perf_data(data: &[u8]) {
    let owned;
    let bytes = if perf_data::is_perf_data(data) {
        data
    } else {
        owned = [&b"PERFILE2"[..], data].concat();
        &owned
    };
    if let Ok(p) = perf_data::load_with(bytes, "fuzz", None, false) {
        // As in `load`: weights that wrap a u64 must have been refused.
        let total: u128 = p.samples.iter().map(|s| u128::from(s.weight)).sum();
        assert!(
            total <= u128::from(u64::MAX),
            "a loaded perf.data's weights wrap a u64"
        );
        let _ = folded::fold(&p, &folded::FoldOptions::default());
    }
}

/// The massif parser on plain text, then what `rprof massif` and the loader do with a parsed
/// file: the ms_print text, the SVG chart and the conversion to a profile.
pub fn massif(data: &[u8]) {
    // The gzip path has its own target (massif_gz).
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
}

/// The gzip path of the massif reader. The input is gzip-compressed first, so the fuzzer
/// mutates massif text rather than deflate streams; an input that already starts with the
/// gzip magic is passed through unchanged, so corrupt streams are tried too.
pub fn massif_gz(data: &[u8]) {
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
}

/// The strace log parser behind `strace-summary --from-log`, fed as the command feeds it, and
/// the text and JSON rendering of what it accepts.
///
/// Latency sums are checked too: a sum below the largest single call means it wrapped, which
/// release builds (no overflow checks) would print silently.
pub fn strace_log(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(s) = strace::log::parse(&text) else {
        return;
    };
    for t in &s.threads {
        for (name, st) in &t.syscalls {
            assert!(
                st.total_ns >= st.max_ns,
                "{name}: total {} ns below the largest call {} ns (overflow)",
                st.total_ns,
                st.max_ns
            );
        }
    }
    // Two renderings, not all six: each computes histogram quantiles, the slowest part under
    // coverage instrumentation, and the groupings share their code.
    let opts = |grouping| render::RenderOpts {
        sort: render::SortKey::Time,
        grouping,
        errors: true,
    };
    let _ = render::text(&s, &opts(render::Grouping::Thread));
    let _ = render::json(&s, &opts(render::Grouping::Process));
}

/// The whole input dispatch every profile-reading command goes through: format detection and
/// `load_bytes`, then the report and the folding of the loaded profile.
/// The pprof reader (gzipped or raw) with every sample type, then the writer: what it accepted
/// must encode and read back with the same total weight.
pub fn pprof_target(data: &[u8]) {
    let _ = pprof::is_pprof(data);
    let Ok(msg) = pprof::parse_message(data) else {
        return;
    };
    for idx in 0..msg.sample_type.len().min(4) {
        let Ok(p) = pprof::to_profile(&msg, idx) else {
            continue;
        };
        let Ok(bytes) = pprof::encode(&p) else {
            continue;
        };
        let q = pprof::decode(&bytes, None).expect("rprof's own pprof reads back");
        assert_eq!(
            p.samples.iter().fold(0u64, |t, s| t.wrapping_add(s.weight)),
            q.samples.iter().fold(0u64, |t, s| t.wrapping_add(s.weight)),
            "the weights survive a round trip"
        );
    }
}

/// Format detection and the whole loader, then the report and folding every command runs.
pub fn load(data: &[u8]) {
    let _ = detect::detect(data);
    // Only the input's bytes: a perf.data naming libc would otherwise parse libc's debug info
    // on every run (a second each), which is the symbolizer's cost, not the loader's.
    let opts = detect::LoadOptions {
        bytes_only: true,
        ..Default::default()
    };
    let Ok(l) = detect::load_bytes("fuzz".to_string(), data, &opts) else {
        return;
    };
    let p = &l.profile;
    // Every view sums weights in u64: the loader must refuse what would wrap (release builds
    // wrap silently, so this is checked here, not left to overflow checks).
    let total: u128 = p.samples.iter().map(|s| u128::from(s.weight)).sum();
    assert!(
        total <= u128::from(u64::MAX),
        "a loaded profile's weights wrap a u64"
    );
    // The same for the sample counts, each of which stands for at least one sample.
    let counts: u128 = p.samples.iter().map(|s| u128::from(s.count)).sum();
    assert!(
        counts <= u128::from(u64::MAX),
        "a loaded profile's counts wrap a u64"
    );
    assert!(
        p.samples.iter().all(|s| s.count >= 1),
        "a loaded row stands for no sample"
    );
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
}
