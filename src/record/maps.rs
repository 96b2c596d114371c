//! Per-process address spaces: what was mapped before attaching (`/proc/PID/maps`) plus the
//! MMAP2 / COMM(exec) / FORK records seen while recording. Kept separate from the ring-buffer
//! code so a DWARF unwinder (issue 4) can query the same mappings while recording.

use std::collections::HashMap;

/// One executable mapping of a file (or pseudo file such as `[vdso]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// First address of the mapping.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// File offset mapped at `start`.
    pub pgoff: u64,
    /// Path as the kernel reports it; empty for anonymous memory.
    pub path: String,
    /// Inode of the mapped file, 0 when unknown: symbolization checks that the file at
    /// `path` is still this one (not rebuilt or upgraded since it was mapped).
    pub ino: u64,
}

impl Mapping {
    /// True for memory not backed by a file (JIT code lives there).
    pub fn is_anonymous(&self) -> bool {
        self.path.is_empty() || self.path.starts_with("//anon") || self.path.starts_with("[anon")
    }
}

/// Parses the executable mappings out of `/proc/PID/maps` text.
pub fn parse_proc_maps(text: &str) -> Vec<Mapping> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut it = line.split_ascii_whitespace();
        let (Some(range), Some(perms), Some(off), Some(_dev), Some(inode)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        if !perms.contains('x') {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end), Ok(pgoff)) = (
            u64::from_str_radix(a, 16),
            u64::from_str_radix(b, 16),
            u64::from_str_radix(off, 16),
        ) else {
            continue;
        };
        // The path is the rest of the line and may contain spaces.
        let path = it.collect::<Vec<_>>().join(" ");
        out.push(Mapping {
            start,
            end,
            pgoff,
            path,
            ino: inode.parse().unwrap_or(0),
        });
    }
    out
}

/// Reads the executable mappings of `pid`; empty when the process is gone or unreadable.
pub fn read_proc_maps(pid: u32) -> Vec<Mapping> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map(|t| parse_proc_maps(&t))
        .unwrap_or_default();
    if !maps.is_empty() {
        return maps;
    }
    // A main thread that exited before the others (pthread_exit in main) is a zombie with an
    // empty maps file, while its threads still run in the address space: ask one of them.
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return maps;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("maps")).ok())
        .map(|t| parse_proc_maps(&t))
        .find(|m| !m.is_empty())
        .unwrap_or_default()
}

/// The executable mappings of one process, newest mapping winning where they overlap.
#[derive(Clone, Debug, Default)]
pub struct AddressSpace {
    maps: Vec<Mapping>,
}

impl AddressSpace {
    /// Adds a mapping, cutting away whatever it replaces (a later mmap over the same range
    /// replaces the earlier one, as in the kernel).
    pub fn map(&mut self, m: Mapping) {
        let mut kept = Vec::with_capacity(self.maps.len() + 2);
        for old in self.maps.drain(..) {
            if old.end <= m.start || old.start >= m.end {
                kept.push(old);
                continue;
            }
            if old.start < m.start {
                kept.push(Mapping {
                    end: m.start,
                    ..old.clone()
                });
            }
            if old.end > m.end {
                kept.push(Mapping {
                    start: m.end,
                    // pgoff comes from the kernel or a perf.data file: saturate, never overflow.
                    pgoff: old.pgoff.saturating_add(m.end - old.start),
                    ..old.clone()
                });
            }
        }
        kept.push(m);
        kept.sort_by_key(|x| x.start);
        self.maps = kept;
    }

    /// The mapping containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Mapping> {
        let i = self.maps.partition_point(|m| m.start <= addr);
        let m = self.maps.get(i.checked_sub(1)?)?;
        (addr < m.end).then_some(m)
    }
}

/// All processes' address spaces, with a generation counter per process so callers can cache
/// lookups until the mappings change.
#[derive(Debug, Default)]
pub struct AddressSpaces {
    spaces: HashMap<u32, (AddressSpace, u64)>,
}

impl AddressSpaces {
    /// The address space of `pid` and its generation, if known.
    pub fn get(&self, pid: u32) -> Option<(&AddressSpace, u64)> {
        self.spaces.get(&pid).map(|(s, g)| (s, *g))
    }

    /// True when something is known about `pid`.
    pub fn contains(&self, pid: u32) -> bool {
        self.spaces.contains_key(&pid)
    }

    fn entry(&mut self, pid: u32) -> &mut (AddressSpace, u64) {
        let e = self.spaces.entry(pid).or_default();
        e.1 += 1;
        e
    }

    /// Adds a mapping to `pid`.
    pub fn map(&mut self, pid: u32, m: Mapping) {
        self.entry(pid).0.map(m);
    }

    /// Replaces everything known about `pid` with `maps` (attach time).
    pub fn set(&mut self, pid: u32, maps: Vec<Mapping>) {
        let e = self.entry(pid);
        e.0 = AddressSpace::default();
        for m in maps {
            e.0.map(m);
        }
    }

    /// `exec` replaces the whole address space.
    pub fn exec(&mut self, pid: u32) {
        self.entry(pid).0 = AddressSpace::default();
    }

    /// A forked child starts with a copy of its parent's mappings.
    pub fn fork(&mut self, parent: u32, child: u32) {
        let copy = self
            .spaces
            .get(&parent)
            .map(|(s, _)| s.clone())
            .unwrap_or_default();
        self.entry(child).0 = copy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_and_overlaps() {
        let t = "55d0c000-55d0d000 r-xp 00001000 08:01 123 /usr/bin/my prog\n\
                 7ffd000-7ffe000 r--p 00000000 00:00 0 [stack]\n\
                 7fff0000-7fff2000 r-xp 00000000 00:00 0 [vdso]\n";
        let m = parse_proc_maps(t);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].path, "/usr/bin/my prog");
        assert_eq!(m[0].pgoff, 0x1000);
        let mut s = AddressSpace::default();
        for x in m {
            s.map(x);
        }
        assert_eq!(
            s.find(0x55d0c010).map(|m| m.path.as_str()),
            Some("/usr/bin/my prog")
        );
        assert!(s.find(0x55d0d000).is_none());
        s.map(Mapping {
            start: 0x55d0c800,
            end: 0x55d0c900,
            pgoff: 0,
            path: "x".into(),
            ino: 0,
        });
        assert_eq!(s.find(0x55d0c850).map(|m| m.path.as_str()), Some("x"));
        let tail = s.find(0x55d0c950).cloned();
        assert_eq!(tail.map(|m| m.pgoff), Some(0x1900));
    }

    /// A perf.data file can claim any pgoff: splitting such a mapping saturates instead of
    /// overflowing (a panic with overflow checks, as in `cargo test` or the fuzz builds).
    #[test]
    fn forged_pgoff_does_not_overflow() {
        let mut s = AddressSpace::default();
        s.map(Mapping {
            start: 0x1000,
            end: 0x9000,
            pgoff: u64::MAX - 0x10,
            path: "forged".into(),
            ino: 0,
        });
        s.map(Mapping {
            start: 0x2000,
            end: 0x3000,
            pgoff: 0,
            path: "y".into(),
            ino: 0,
        });
        assert_eq!(s.find(0x4000).map(|m| m.pgoff), Some(u64::MAX));
    }
}
