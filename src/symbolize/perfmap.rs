//! JIT symbols from `/tmp/perf-PID.map` (python3.12+ `-X perf`, node `--perf-basic-prof`):
//! lines of `START SIZE name`, hexadecimal.
//!
//! rprof usually runs as root and `/tmp` belongs to everyone, so the file at that name is
//! whatever the profiled program (or anyone else) put there. It is read only when it is what a
//! JIT writes: a regular file (never a FIFO, which would block, a device such as `/dev/zero`, or
//! a symbolic link, which could point at a root-only file), with one link (a hard link to
//! someone else's file has two), owned by the user the target runs as (root's files only for a
//! root target), and at most [`MAX_PERF_MAP`] bytes. The checks are made with `fstat` on the
//! descriptor opened with `O_NOFOLLOW|O_NONBLOCK`, so the file cannot be swapped between the
//! check and the read.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Largest perf map read (256 MiB): long-running node services write tens of megabytes; a
/// larger one is refused rather than read into memory.
pub const MAX_PERF_MAP: u64 = 256 << 20;

/// Largest total read from the perf maps of one recording (1 GiB): a target forking many
/// processes, each with a map at the limit, must not make rprof read without end.
pub const MAX_PERF_MAPS_TOTAL: u64 = 1 << 30;

/// A parsed perf map.
#[derive(Debug, Default)]
pub struct PerfMap {
    /// (start, size, name offset in `names`, name length), sorted by start.
    entries: Vec<(u64, u64, u32, u32)>,
    names: String,
    /// Bytes read from the file.
    read: u64,
}

/// Why a perf map present at the expected path was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The path looked at.
    pub path: String,
    /// Why it was left alone, in words.
    pub reason: String,
}

/// The user a process runs as (its real uid, from `/proc/PID/status`), None once it is gone.
pub fn process_uid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A size for messages, in MiB when it is a whole number of them.
fn mib(n: u64) -> String {
    if n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

fn kind(ft: std::fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

impl PerfMap {
    /// Loads the map of `pid`: Ok(None) when there is none, Err when one is there but was
    /// refused (see the module documentation). The target's uid is read from `/proc` while
    /// the process lives; once it is gone only the owner-independent checks apply.
    /// `budget` is what is left of [`MAX_PERF_MAPS_TOTAL`] for this recording.
    pub fn load(pid: u32, budget: u64) -> Result<Option<Self>, Refused> {
        let path = format!("/tmp/perf-{pid}.map");
        let cap = MAX_PERF_MAP.min(budget);
        Self::load_path(Path::new(&path), process_uid(pid), cap).map_err(|mut r| {
            if cap < MAX_PERF_MAP && r.reason.contains("read at most") {
                r.reason = format!(
                    "{}; the perf maps of one recording are read up to {} MiB in all",
                    r.reason,
                    MAX_PERF_MAPS_TOTAL >> 20
                );
            }
            r
        })
    }

    /// Bytes read from the file it was loaded from.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Loads a perf map at `path` with the checks of [`PerfMap::load`]: `owner` is the uid the
    /// file must belong to when known, `cap` the largest size read.
    pub fn load_path(path: &Path, owner: Option<u32>, cap: u64) -> Result<Option<Self>, Refused> {
        let refuse = |reason: String| Refused {
            path: path.display().to_string(),
            reason,
        };
        // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting for
        // one; O_NOFOLLOW: a symbolic link fails with ELOOP instead of being followed.
        let f = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(refuse("a symbolic link (never followed)".into()))
            }
            Err(e) => return Err(refuse(format!("cannot open: {e}"))),
        };
        let meta = f
            .metadata()
            .map_err(|e| refuse(format!("cannot stat: {e}")))?;
        if !meta.file_type().is_file() {
            return Err(refuse(format!(
                "{}, not a regular file",
                kind(meta.file_type())
            )));
        }
        if meta.nlink() != 1 {
            return Err(refuse(format!(
                "has {} hard links (a JIT's own map has one)",
                meta.nlink()
            )));
        }
        if let Some(uid) = owner {
            if meta.uid() != uid {
                return Err(refuse(format!(
                    "owned by uid {}, but the process runs as uid {uid}",
                    meta.uid()
                )));
            }
        }
        if meta.len() > cap {
            return Err(refuse(format!(
                "{} bytes, more than the {} read at most",
                meta.len(),
                mib(cap)
            )));
        }
        let mut bytes = Vec::new();
        // The file can grow after fstat: the cap holds for what is read, too.
        f.take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| refuse(format!("read error: {e}")))?;
        if bytes.len() as u64 > cap {
            return Err(refuse(format!(
                "grew past the {} read at most while being read",
                mib(cap)
            )));
        }
        let mut m = Self::parse(&String::from_utf8_lossy(&bytes));
        m.read = bytes.len() as u64;
        Ok(Some(m))
    }

    /// Parses perf map text; malformed lines are skipped.
    pub fn parse(text: &str) -> Self {
        let mut entries = Vec::new();
        let mut names = String::new();
        for line in text.lines() {
            let mut it = line.splitn(3, ' ');
            let (Some(a), Some(s), Some(name)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            let a = a.trim_start_matches("0x");
            let s = s.trim_start_matches("0x");
            if let (Ok(a), Ok(s)) = (u64::from_str_radix(a, 16), u64::from_str_radix(s, 16)) {
                let name = name.trim();
                // Names live in one buffer: a map of millions of short lines stays compact.
                let (Ok(off), Ok(len)) = (u32::try_from(names.len()), u32::try_from(name.len()))
                else {
                    break;
                };
                names.push_str(name);
                entries.push((a, s, off, len));
            }
        }
        // Later entries for the same address win (code regions get reused).
        entries.reverse();
        entries.sort_by_key(|e| e.0);
        entries.dedup_by_key(|e| e.0);
        PerfMap {
            entries,
            names,
            read: 0,
        }
    }

    /// The symbol covering `addr`.
    pub fn lookup(&self, addr: u64) -> Option<&str> {
        let i = self.entries.partition_point(|e| e.0 <= addr);
        let e = self.entries.get(i.checked_sub(1)?)?;
        (addr - e.0 < e.1.max(1))
            .then(|| self.names.get(e.2 as usize..(e.2 + e.3) as usize))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let m = PerfMap::parse("7f0000001000 20 py::f:/x.py\n7f0000002000 10 py::g:/x.py\nbad\n");
        assert_eq!(m.lookup(0x7f0000001010), Some("py::f:/x.py"));
        assert_eq!(m.lookup(0x7f0000001030), None);
        assert_eq!(m.lookup(0x7f0000002000), Some("py::g:/x.py"));
        // An entry reaching past the end of the address space does not overflow.
        let m = PerfMap::parse("ffffffffffffff00 ffff top\n");
        assert_eq!(m.lookup(u64::MAX), Some("top"));
    }

    fn own_uid() -> u32 {
        // SAFETY: getuid cannot fail.
        unsafe { libc::getuid() }
    }

    #[test]
    fn refuses_what_a_jit_does_not_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let good = d.join("good.map");
        std::fs::write(&good, "1000 10 jitted\n").expect("write");
        let m = PerfMap::load_path(&good, Some(own_uid()), MAX_PERF_MAP)
            .expect("accepted")
            .expect("present");
        assert_eq!(m.lookup(0x1004), Some("jitted"));
        assert!(PerfMap::load_path(&d.join("none"), None, MAX_PERF_MAP)
            .expect("absent is fine")
            .is_none());

        let reason = |p: &Path, owner: Option<u32>, cap: u64| {
            PerfMap::load_path(p, owner, cap)
                .err()
                .map(|r| r.reason)
                .unwrap_or_default()
        };
        let link = d.join("link.map");
        std::os::unix::fs::symlink(&good, &link).expect("symlink");
        assert!(reason(&link, None, MAX_PERF_MAP).contains("symbolic link"));

        let fifo = d.join("fifo.map");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        // Returns at once (no writer): O_NONBLOCK.
        assert!(reason(&fifo, None, MAX_PERF_MAP).contains("FIFO"));

        let hard = d.join("hard.map");
        std::fs::hard_link(&good, &hard).expect("hard link");
        assert!(reason(&hard, None, MAX_PERF_MAP).contains("2 hard links"));
        std::fs::remove_file(&hard).expect("rm");

        assert!(reason(&good, Some(own_uid() + 1), MAX_PERF_MAP).contains("owned by uid"));
        assert!(reason(&good, None, 4).contains("more than"));
        assert!(reason(d, None, MAX_PERF_MAP).contains("directory"));
    }

    #[test]
    fn recording_budget_bounds_the_total_read() {
        let pid = std::process::id();
        let path = format!("/tmp/perf-{pid}.map");
        let text = "1000 10 jitted\n".repeat(10);
        std::fs::write(&path, &text).expect("write");
        let small = PerfMap::load(pid, 50).map(|_| ()).map_err(|r| r.reason);
        let full = PerfMap::load(pid, MAX_PERF_MAPS_TOTAL);
        let _ = std::fs::remove_file(&path);
        let e = small.expect_err("over the budget");
        assert!(e.contains("up to 1024 MiB in all"), "{e}");
        let m = full.expect("accepted").expect("present");
        assert_eq!(m.bytes_read(), text.len() as u64);
        assert_eq!(m.lookup(0x1000), Some("jitted"));
    }
}
