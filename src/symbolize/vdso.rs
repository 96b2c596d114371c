//! The `[vdso]` image. Every process on one kernel maps the same vdso, so rprof reads its own
//! copy (found through `AT_SYSINFO_EHDR`) instead of the target's memory.

/// Our own vdso bytes, None when there is none.
pub fn own_vdso() -> Option<Vec<u8>> {
    // SAFETY: getauxval has no preconditions.
    let base = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) };
    if base == 0 {
        return None;
    }
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[vdso]"))?;
    let (range, _) = line.split_once(' ')?;
    let (a, b) = range.split_once('-')?;
    let start = u64::from_str_radix(a, 16).ok()?;
    let end = u64::from_str_radix(b, 16).ok()?;
    if start != base || end <= start {
        return None;
    }
    // SAFETY: the range is our own mapped, readable vdso as reported by the kernel.
    let bytes = unsafe { std::slice::from_raw_parts(start as *const u8, (end - start) as usize) };
    Some(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_an_elf_image() {
        if let Some(v) = super::own_vdso() {
            assert_eq!(&v[..4], b"\x7fELF");
        }
    }
}
