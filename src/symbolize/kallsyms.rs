//! Kernel symbols from `/proc/kallsyms`, or from a saved copy of it (perf's build-id cache
//! keeps one per kernel build-id, written when the recording was made).

use std::io::Read;
use std::path::Path;

/// The most bytes read from a kallsyms file: today's kernels write 5-20 MB; a copy in the
/// build-id cache is a plain file that could have been replaced by anything, so the read is
/// bounded.
const MAX_KALLSYMS: u64 = 256 << 20;

/// Sorted kernel text symbols, names packed in one string: the kernel has ~200k symbols and a
/// `String` each would cost several MB more.
#[derive(Debug, Default)]
pub struct Kallsyms {
    /// (address, name start, name length, module index + 1 or 0 for the kernel image)
    syms: Vec<(u64, u32, u16, u16)>,
    names: String,
    modules: Vec<String>,
    /// The address of `_text` (the kernel image's start, what KASLR moves), 0 when absent.
    text: u64,
}

impl Kallsyms {
    /// Loads `/proc/kallsyms`; empty when unreadable or when addresses are hidden
    /// (kptr_restrict shows them all as zero).
    pub fn load() -> Self {
        Self::load_from(Path::new("/proc/kallsyms"))
    }

    /// Loads kallsyms text from `path` (`/proc/kallsyms` or a saved copy); empty when it is
    /// not a regular file or procfs file that reads. Read in one go: the kernel formats
    /// `/proc/kallsyms` on every read, and parsing bytes in place avoids a `String` per line.
    pub fn load_from(path: &Path) -> Self {
        let mut k = Kallsyms::default();
        // Opened without blocking (a FIFO planted under the name would hang a blocking open),
        // then only a regular file is read (procfs files are regular files).
        let Ok(f) = crate::profile::detect::open_nonblocking(&path.to_string_lossy()) else {
            return k;
        };
        if !f.metadata().is_ok_and(|m| m.is_file()) {
            return k;
        }
        // A saved copy (a file with a size) is mapped: reading it copied 5 MB into fresh pages,
        // a tenth of a perf.data read's CPU. `/proc/kallsyms` (size 0, formatted on read)
        // is read.
        let size = f.metadata().map_or(0, |m| m.len());
        let mapped = if size > 0 {
            // SAFETY: a read-only mapping of a regular file opened for reading; a file
            // truncated meanwhile is the risk every mapped reader in rprof accepts.
            unsafe { memmap2::Mmap::map(&f) }.ok()
        } else {
            None
        };
        let mut read = Vec::new();
        let bytes: &[u8] = match &mapped {
            Some(m) => &m[..m.len().min(MAX_KALLSYMS as usize)],
            None => {
                read.reserve(8 << 20);
                if f.take(MAX_KALLSYMS).read_to_end(&mut read).is_err() {
                    return k;
                }
                &read
            }
        };
        k.names.reserve(bytes.len() / 2);
        k.syms.reserve(bytes.len() / 40);
        for line in bytes.split(|&b| b == b'\n') {
            if let Ok(line) = std::str::from_utf8(line) {
                k.add_line(line);
            }
        }
        k.finish();
        k
    }

    /// Parses kallsyms text (tests feed it fixed text).
    #[cfg(test)]
    pub fn parse(text: &str) -> Self {
        let mut k = Kallsyms::default();
        for line in text.lines() {
            k.add_line(line);
        }
        k.finish();
        k
    }

    /// The address of `_text`, where the kernel image starts; None when not listed (or
    /// hidden). The difference between a recording's `_text` and this one is the KASLR shift
    /// of the kernel image between the two boots.
    pub fn text(&self) -> Option<u64> {
        (self.text != 0).then_some(self.text)
    }

    fn add_line(&mut self, line: &str) {
        let mut it = line.split_ascii_whitespace();
        let (Some(a), Some(ty), Some(name)) = (it.next(), it.next(), it.next()) else {
            return;
        };
        if !matches!(ty, "t" | "T" | "w" | "W") {
            return;
        }
        let Ok(addr) = u64::from_str_radix(a, 16) else {
            return;
        };
        if addr == 0 || name.len() > u16::MAX as usize {
            return;
        }
        if name == "_text" && self.text == 0 {
            self.text = addr;
        }
        let module = match it.next() {
            Some(m) => {
                let m = m.trim_start_matches('[').trim_end_matches(']');
                match self.modules.iter().position(|x| x == m) {
                    Some(i) => i + 1,
                    None => {
                        self.modules.push(m.to_string());
                        self.modules.len()
                    }
                }
            }
            None => 0,
        };
        let start = self.names.len() as u32;
        self.names.push_str(name);
        self.syms.push((
            addr,
            start,
            name.len() as u16,
            module.min(u16::MAX as usize) as u16,
        ));
    }

    fn finish(&mut self) {
        self.syms.sort_by_key(|s| s.0);
        self.syms.shrink_to_fit();
        self.names.shrink_to_fit();
    }

    /// The function containing `addr` and its module (`None` for the kernel image).
    pub fn lookup(&self, addr: u64) -> Option<(&str, Option<&str>)> {
        let i = self.syms.partition_point(|s| s.0 <= addr);
        let s = self.syms.get(i.checked_sub(1)?)?;
        let name = self.names.get(s.1 as usize..s.1 as usize + s.2 as usize)?;
        let module = match s.3 {
            0 => None,
            m => self.modules.get(m as usize - 1).map(String::as_str),
        };
        Some((name, module))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_nearest_below() {
        let k = Kallsyms::parse(
            "ffffffff81000000 T _stext\nffffffff81000100 t do_thing\nffffffffc0000000 t ext4_x\t[ext4]\n",
        );
        assert_eq!(k.lookup(0xffffffff81000150), Some(("do_thing", None)));
        assert_eq!(k.lookup(0xffffffffc0000010), Some(("ext4_x", Some("ext4"))));
        assert_eq!(k.lookup(0x10), None);
        assert_eq!(k.text(), None);
    }

    #[test]
    fn loads_a_saved_copy_and_finds_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("kallsyms");
        std::fs::write(
            &p,
            "ffffffff81000000 T _stext\nffffffff81000000 T _text\nffffffff81000100 t do_thing\nffffffffc0000000 t ext4_x\t[ext4]\n",
        )
        .expect("write");
        let k = Kallsyms::load_from(&p);
        assert_eq!(k.text(), Some(0xffffffff81000000));
        assert_eq!(k.lookup(0xffffffff81000150), Some(("do_thing", None)));
        assert_eq!(k.lookup(0xffffffffc0000010), Some(("ext4_x", Some("ext4"))));
        // Not a regular file: nothing read (a FIFO would block).
        assert!(Kallsyms::load_from(dir.path()).syms.is_empty());
    }
}
