//! JIT symbols from `/tmp/perf-PID.map` (python3.12+ `-X perf`, node `--perf-basic-prof`):
//! lines of `START SIZE name`, hexadecimal.

/// A parsed perf map.
#[derive(Debug, Default)]
pub struct PerfMap {
    entries: Vec<(u64, u64, String)>,
}

impl PerfMap {
    /// Loads the map of `pid`; None when there is none.
    pub fn load(pid: u32) -> Option<Self> {
        let text = std::fs::read_to_string(format!("/tmp/perf-{pid}.map")).ok()?;
        Some(Self::parse(&text))
    }

    /// Parses perf map text; malformed lines are skipped.
    pub fn parse(text: &str) -> Self {
        let mut entries = Vec::new();
        for line in text.lines() {
            let mut it = line.splitn(3, ' ');
            let (Some(a), Some(s), Some(name)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            let a = a.trim_start_matches("0x");
            let s = s.trim_start_matches("0x");
            if let (Ok(a), Ok(s)) = (u64::from_str_radix(a, 16), u64::from_str_radix(s, 16)) {
                entries.push((a, s, name.trim().to_string()));
            }
        }
        // Later entries for the same address win (code regions get reused).
        entries.reverse();
        entries.sort_by_key(|e| e.0);
        entries.dedup_by_key(|e| e.0);
        PerfMap { entries }
    }

    /// The symbol covering `addr`.
    pub fn lookup(&self, addr: u64) -> Option<&str> {
        let i = self.entries.partition_point(|e| e.0 <= addr);
        let e = self.entries.get(i.checked_sub(1)?)?;
        (addr < e.0 + e.1.max(1)).then_some(e.2.as_str())
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
    }
}
