//! Kernel symbols from `/proc/kallsyms`.

/// Sorted kernel text symbols.
#[derive(Debug, Default)]
pub struct Kallsyms {
    syms: Vec<(u64, String, Option<String>)>,
}

impl Kallsyms {
    /// Loads `/proc/kallsyms`; empty when unreadable or when addresses are hidden
    /// (kptr_restrict shows them all as zero).
    pub fn load() -> Self {
        let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
        Self::parse(&text)
    }

    /// Parses kallsyms text.
    pub fn parse(text: &str) -> Self {
        let mut syms = Vec::new();
        for line in text.lines() {
            let mut it = line.split_ascii_whitespace();
            let (Some(a), Some(ty), Some(name)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            if !matches!(ty, "t" | "T" | "w" | "W") {
                continue;
            }
            let Ok(addr) = u64::from_str_radix(a, 16) else {
                continue;
            };
            if addr == 0 {
                continue;
            }
            let module = it
                .next()
                .map(|m| m.trim_start_matches('[').trim_end_matches(']').to_string());
            syms.push((addr, name.to_string(), module));
        }
        syms.sort_by_key(|s| s.0);
        Kallsyms { syms }
    }

    /// The function containing `addr` and its module (`None` for the kernel image).
    pub fn lookup(&self, addr: u64) -> Option<(&str, Option<&str>)> {
        let i = self.syms.partition_point(|s| s.0 <= addr);
        let s = self.syms.get(i.checked_sub(1)?)?;
        Some((s.1.as_str(), s.2.as_deref()))
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
