//! The records of a file-mode perf.data read where they lie in the file, in the order
//! linux-perf-data's record iterator gives them.
//!
//! `PerfRecordIter` reads each record through `Read` into a buffer of its own and holds a
//! whole round of them (`PERF_RECORD_FINISHED_ROUND`) to sort it: for a `--call-graph dwarf`
//! recording that is an 8 KiB copy of every sample, fresh pages to fault in and zero, while
//! the file is already in memory (mapped). Here one pass over the data section notes where
//! each record is, orders them the same way (by timestamp, then file offset, released round
//! by round exactly as the crate's sorter releases them, so a mapping is replayed before the
//! samples that need it just as before), and the records are then parsed from the file's
//! bytes by linux-perf-event-reader, as the crate would parse them. The header, attributes
//! and feature sections still come from linux-perf-data.
//!
//! Files this does not cover fall back to the crate's iterator: pipe mode (no data section),
//! compressed records (`perf record -z`), AUX trace data (bytes after the record), and
//! simpleperf files (the crate orders them in synthetic rounds).

use std::collections::HashMap;

use anyhow::{bail, Result};
use linux_perf_data::linux_perf_event_reader::{
    AttrFlags, Endianness, RawData, RawEventRecord, RecordParseInfo, RecordType, SampleFormat,
};
use linux_perf_data::PerfFile;

/// `PERF_RECORD_FINISHED_ROUND`: every record before it is older than every record after the
/// next one.
const FINISHED_ROUND: u32 = 68;
/// Record types whose bytes this reader does not understand on its own: AUXTRACE (trace data
/// follows the record), COMPRESSED and COMPRESSED2 (zstd-compressed records).
const NOT_DIRECT: [u32; 3] = [71, 81, 83];
/// The first user (perf-tool) record type; kernel record types are below it.
const USER_TYPE_START: u32 = 64;

/// One kernel record of the data section: where its body is and what it is.
#[derive(Clone, Copy, Debug)]
pub struct Rec {
    /// Byte offset of the body (after the 8-byte header) in the file.
    at: usize,
    /// Body length.
    len: u32,
    ty: u32,
    misc: u16,
    /// The index of the attribute (event) it belongs to.
    attr: u32,
}

/// The ordering key: timestamp (None first, as records without one sort in the crate), then
/// the file offset, which makes every key distinct.
type Key = (Option<u64>, usize);

/// How a record's event is found, as linux-perf-data decides it from the attributes.
enum Ids {
    /// One event: every record is its.
    One,
    /// Every event puts its id at the same place: read with the first event's layout.
    Same,
    /// Each event has `PERF_SAMPLE_IDENTIFIER`: the id is a sample's first u64, and with
    /// `sample_id_all` (the bool) any other record's last u64.
    Identifier(bool),
}

/// The records of a file-mode perf.data (`bytes`, whose layout `check_file_layout` checked),
/// kernel records only, in the crate's order; Ok(None) when the file needs the crate's
/// iterator (see the module documentation). A record that runs past the data section or
/// claims less than its header is an error, as it is for the crate.
pub fn file_records(
    bytes: &[u8],
    perf_file: &PerfFile,
    simpleperf: bool,
) -> Result<Option<DirectRecords>> {
    if simpleperf || perf_file.endian() != Endianness::LittleEndian {
        return Ok(None);
    }
    let word = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            bytes.get(at..at.checked_add(8)?)?.try_into().ok()?,
        ))
    };
    let (Some(off), Some(size)) = (word(40), word(48)) else {
        return Ok(None);
    };
    let (Ok(start), Ok(size)) = (usize::try_from(off), usize::try_from(size)) else {
        return Ok(None);
    };
    let Some(end) = start.checked_add(size).filter(|&e| e <= bytes.len()) else {
        return Ok(None);
    };
    let attrs = perf_file.event_attributes();
    let parse_infos: Vec<RecordParseInfo> = attrs
        .iter()
        .map(|a| RecordParseInfo::new(&a.attr, Endianness::LittleEndian))
        .collect();
    let Some(first) = parse_infos.first() else {
        return Ok(None);
    };
    let ids = if parse_infos.len() == 1 {
        Ids::One
    } else if parse_infos
        .iter()
        .all(|p| p.id_parse_info == first.id_parse_info)
    {
        Ids::Same
    } else if attrs
        .iter()
        .all(|a| a.attr.sample_format.contains(SampleFormat::IDENTIFIER))
    {
        Ids::Identifier(attrs[0].attr.flags.contains(AttrFlags::SAMPLE_ID_ALL))
    } else {
        // The crate refuses such a file when it is opened; leave it to it.
        return Ok(None);
    };
    let mut by_id: HashMap<u64, u32> = HashMap::new();
    for (i, a) in attrs.iter().enumerate() {
        for &id in &a.event_ids {
            by_id.insert(id, i as u32);
        }
    }
    let u64_in = |body: &[u8], at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            body.get(at..at.checked_add(8)?)?.try_into().ok()?,
        ))
    };
    let mut order = Rounds::default();
    let mut at = start;
    while at < end {
        let Some(h) = bytes.get(at..at + 8).filter(|_| at + 8 <= end) else {
            bail!("truncated perf.data: a record header at byte {at} runs past the end of the data section (byte {end})");
        };
        let ty = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let misc = u16::from_le_bytes([h[4], h[5]]);
        let size = usize::from(u16::from_le_bytes([h[6], h[7]]));
        if size < 8 {
            bail!("corrupt perf.data: the record at byte {at} claims {size} bytes, less than its header");
        }
        let next = at + size;
        if next > end {
            bail!("truncated perf.data: the record at byte {at} ({size} bytes) runs past the end of the data section (byte {end})");
        }
        if ty == FINISHED_ROUND {
            order.finish_round();
            at = next;
            continue;
        }
        if NOT_DIRECT.contains(&ty) {
            return Ok(None);
        }
        if ty >= USER_TYPE_START {
            // perf's own records (build-ids, time conversion, id index…): the reader skips
            // them, and leaving them out changes no other record's place in the order.
            at = next;
            continue;
        }
        let body = &bytes[at + 8..next];
        let rt = RecordType(ty);
        let attr = match ids {
            Ids::One => None,
            Ids::Same => RawEventRecord::new(rt, misc, RawData::Single(body), *first).id(),
            Ids::Identifier(sample_id_all) => {
                if rt == RecordType::SAMPLE {
                    u64_in(body, 0)
                } else if sample_id_all {
                    body.len().checked_sub(8).and_then(|i| u64_in(body, i))
                } else {
                    None
                }
            }
        }
        .and_then(|id| by_id.get(&id).copied())
        .unwrap_or(0);
        let info = parse_infos[attr as usize];
        let ts = RawEventRecord::new(rt, misc, RawData::Single(body), info).timestamp();
        order.insert(
            (ts, at),
            Rec {
                at: at + 8,
                len: (size - 8) as u32,
                ty,
                misc,
                attr,
            },
        );
        at = next;
    }
    order.finish();
    Ok(Some(DirectRecords {
        order: order.out,
        parse_infos,
    }))
}

/// The ordered records of a file, ready to parse from its bytes.
pub struct DirectRecords {
    order: Vec<Rec>,
    parse_infos: Vec<RecordParseInfo>,
}

impl DirectRecords {
    /// Calls `each` with every record's event index and raw record, in order.
    pub fn for_each<'a>(
        &self,
        bytes: &'a [u8],
        mut each: impl FnMut(usize, RawEventRecord<'a>) -> Result<()>,
    ) -> Result<()> {
        for r in &self.order {
            // The walk took every body from inside `bytes`.
            let Some(body) = bytes.get(r.at..r.at + r.len as usize) else {
                continue;
            };
            let info = self.parse_infos[r.attr as usize];
            each(
                r.attr as usize,
                RawEventRecord::new(RecordType(r.ty), r.misc, RawData::Single(body), info),
            )?;
        }
        Ok(())
    }
}

/// Orders records as perf's rounds allow (and as linux-perf-data's sorter does): at the end
/// of a round, the records no later than the previous round's latest are final, sorted;
/// the others wait for the next round, since the next round may still hold older ones.
#[derive(Default)]
struct Rounds {
    out: Vec<Rec>,
    waiting: Vec<(Key, Rec)>,
    /// The latest key of the rounds before the current one, and of the current one.
    prev_max: Key,
    cur_max: Key,
    /// How many waiting records are no later than `prev_max`.
    due: usize,
}

impl Rounds {
    fn insert(&mut self, key: Key, r: Rec) {
        if key <= self.prev_max {
            self.due += 1;
        } else if key > self.cur_max {
            self.cur_max = key;
        }
        self.waiting.push((key, r));
    }

    fn finish_round(&mut self) {
        if self.due > 0 {
            // The `due` smallest keys are exactly those no later than `prev_max`.
            if self.due < self.waiting.len() {
                self.waiting
                    .select_nth_unstable_by_key(self.due - 1, |e| e.0);
            }
            self.waiting[..self.due].sort_unstable_by_key(|e| e.0);
            self.out
                .extend(self.waiting.drain(..self.due).map(|(_, r)| r));
        }
        self.prev_max = self.cur_max;
        self.due = self.waiting.len();
    }

    fn finish(&mut self) {
        self.waiting.sort_unstable_by_key(|e| e.0);
        self.out.extend(self.waiting.drain(..).map(|(_, r)| r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: usize) -> Rec {
        Rec {
            at: i,
            len: 0,
            ty: 9,
            misc: 0,
            attr: 0,
        }
    }

    /// perf's FINISHED_ROUND example (tools/perf/util/ordered-events.c): two CPUs' records
    /// interleaved; each round releases what no later round can precede.
    #[test]
    fn rounds_release_what_later_rounds_cannot_precede() {
        let mut r = Rounds::default();
        let mut n = 0;
        let mut put = |r: &mut Rounds, t: u64| {
            n += 1;
            r.insert((Some(t), n), rec(t as usize));
        };
        let times = |r: &Rounds| r.out.iter().map(|x| x.at).collect::<Vec<_>>();
        for t in [1, 2, 3, 2, 4] {
            put(&mut r, t);
        }
        r.finish_round();
        assert!(r.out.is_empty());
        for t in [3, 5, 6, 7, 4, 5] {
            put(&mut r, t);
        }
        r.finish_round();
        // Equal timestamps are ordered by file offset: the second round's 4 comes after the
        // first round's, so it waits for the next round.
        assert_eq!(times(&r), [1, 2, 2, 3, 3, 4]);
        for t in [6, 8, 9, 7, 10] {
            put(&mut r, t);
        }
        r.finish_round();
        assert_eq!(times(&r)[6..], [4, 5, 5, 6, 6, 7]);
        r.finish();
        assert_eq!(times(&r)[12..], [7, 8, 9, 10]);
    }

    /// Every kernel record of the committed recordings, in the same order and with the same
    /// bytes as linux-perf-data's iterator gives them (the fp recording has three processes
    /// on several CPUs, so its rounds interleave).
    #[test]
    fn same_records_in_the_same_order_as_the_crate() {
        use linux_perf_data::{PerfFileReader, PerfFileRecord};
        for f in ["fp.data", "dwarf.data"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/perf_data")
                .join(f);
            let bytes = std::fs::read(&path).expect("fixture");
            let PerfFileReader {
                mut perf_file,
                mut record_iter,
            } = PerfFileReader::parse_file(std::io::Cursor::new(&bytes[..])).expect("parses");
            let mut theirs = Vec::new();
            while let Some(r) = record_iter.next_record(&mut perf_file).expect("record") {
                if let PerfFileRecord::EventRecord { attr_index, record } = r {
                    theirs.push((
                        attr_index,
                        record.record_type.0,
                        record.misc,
                        record.data.as_slice().into_owned(),
                    ));
                }
            }
            let direct = file_records(&bytes, &perf_file, false)
                .expect("walks")
                .expect("a file-mode recording is read directly");
            let mut ours = Vec::new();
            direct
                .for_each(&bytes, |i, r| {
                    ours.push((i, r.record_type.0, r.misc, r.data.as_slice().into_owned()));
                    Ok(())
                })
                .expect("for_each");
            assert!(theirs.len() > 50, "{f}: {} records", theirs.len());
            assert_eq!(ours.len(), theirs.len(), "{f}");
            for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                assert_eq!(a, b, "{f}: record {k}");
            }
        }
    }

    /// A record older than a round already released stays where the rounds put it (after),
    /// as the crate and perf deliver it, rather than moving before released records.
    #[test]
    fn a_late_record_is_not_moved_back() {
        let mut r = Rounds::default();
        r.insert((Some(10), 1), rec(10));
        r.finish_round();
        r.insert((Some(20), 2), rec(20));
        r.finish_round();
        assert_eq!(r.out.len(), 1);
        r.insert((Some(5), 3), rec(5));
        r.finish();
        let got: Vec<usize> = r.out.iter().map(|x| x.at).collect();
        assert_eq!(got, [10, 5, 20]);
    }
}
