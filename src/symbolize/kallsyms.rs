//! Kernel symbols from `/proc/kallsyms`.

/// Sorted kernel text symbols, names packed in one string: the kernel has ~200k symbols and a
/// `String` each would cost several MB more.
#[derive(Debug, Default)]
pub struct Kallsyms {
    /// (address, name start, name length, module index + 1 or 0 for the kernel image)
    syms: Vec<(u64, u32, u16, u16)>,
    names: String,
    modules: Vec<String>,
}

impl Kallsyms {
    /// Loads `/proc/kallsyms`; empty when unreadable or when addresses are hidden
    /// (kptr_restrict shows them all as zero).
    pub fn load() -> Self {
        use std::io::BufRead;
        let mut k = Kallsyms::default();
        let Ok(f) = std::fs::File::open("/proc/kallsyms") else {
            return k;
        };
        for line in std::io::BufReader::with_capacity(1 << 16, f).lines() {
            let Ok(line) = line else { break };
            k.add_line(&line);
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
    }
}
