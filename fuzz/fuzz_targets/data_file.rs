//! Fuzzes the rprof data file reader (`profile::file::decode`), and checks that whatever it
//! accepts can be written back and read again: a file rprof wrote must always read back.
#![no_main]

extern crate rprof_fuzz;

use libfuzzer_sys::fuzz_target;
use rprof::profile::file;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = file::decode(data) else {
        return;
    };
    let again = file::encode(&p);
    match file::decode(&again) {
        Ok(q) => assert_eq!(p.samples.len(), q.samples.len(), "round trip lost samples"),
        Err(e) => panic!("re-encoded data file does not read back: {e}"),
    }
});
