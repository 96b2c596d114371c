//! Reads any supported stack source (rprof data file, folded stacks, `perf script` text,
//! massif output) from a path or `-` for stdin, recognising the format from its content.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::{file, folded, perf_script, Profile};

/// The recognised input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// rprof's own data file.
    Data,
    /// `frame;frame COUNT` lines.
    Folded,
    /// `perf script` text.
    PerfScript,
    /// valgrind massif output (plain or gzip-compressed).
    Massif,
}

impl Format {
    /// A short name for headers and errors.
    pub fn name(self) -> &'static str {
        match self {
            Format::Data => "rprof data",
            Format::Folded => "folded stacks",
            Format::PerfScript => "perf script",
            Format::Massif => "massif",
        }
    }
}

/// Options that matter only for some formats.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// For massif input: the snapshot to read (default: the peak).
    pub massif_snapshot: Option<usize>,
    /// For sources with several events: the one to read (default: the first present).
    pub event: Option<String>,
}

/// A loaded input.
#[derive(Debug)]
pub struct Loaded {
    /// What the user named: a path, or `<stdin>`.
    pub name: String,
    /// The format it was recognised as.
    pub format: Format,
    /// Its content.
    pub profile: Profile,
}

/// The bytes of an input: mapped for regular files (no copy, no page-faulting a fresh buffer
/// for hundreds of megabytes of text), read into memory for stdin and pipes.
pub enum InputBytes {
    /// Read into memory.
    Owned(Vec<u8>),
    /// Memory-mapped file.
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for InputBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            InputBytes::Owned(v) => v,
            InputBytes::Mapped(m) => m,
        }
    }
}

/// Reads the raw bytes of `path`, or stdin for `-`.
pub fn read_input(path: &str) -> Result<(String, InputBytes)> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        return Ok(("<stdin>".to_string(), InputBytes::Owned(buf)));
    }
    let p = Path::new(path);
    if p.is_dir() {
        bail!("'{path}' is a directory, not a profile");
    }
    let f = match std::fs::File::open(p) {
        Ok(f) => f,
        // The default input missing usually means nothing was recorded yet: say how to.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && path == "rprof.data" => bail!(
            "cannot read 'rprof.data': {e}; record one with `rprof record -- CMD` (or `-p PID`), or name an input file"
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read '{path}'")),
    };
    let meta = f
        .metadata()
        .with_context(|| format!("cannot read '{path}'"))?;
    if meta.is_file() && meta.len() > 0 {
        // SAFETY: the mapping is read-only; a file truncated by another process while we read
        // it could fault, the same risk every mmap-based reader (perf, inferno) accepts for
        // files it was pointed at.
        if let Ok(m) = unsafe { memmap2::Mmap::map(&f) } {
            return Ok((format!("'{path}'"), InputBytes::Mapped(m)));
        }
    }
    let bytes = std::fs::read(p).with_context(|| format!("cannot read '{path}'"))?;
    Ok((format!("'{path}'"), InputBytes::Owned(bytes)))
}

/// Recognises the format of `bytes`.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if file::is_data_file(bytes) {
        return Some(Format::Data);
    }
    if bytes.starts_with(&[0x1f, 0x8b]) || bytes.starts_with(b"desc:") {
        return Some(Format::Massif);
    }
    // Only look at the start: enough to decide, cheap on large inputs.
    let head = &bytes[..bytes.len().min(64 * 1024)];
    if head.contains(&0) {
        return None;
    }
    let head = match std::str::from_utf8(head) {
        Ok(s) => s,
        // A multi-byte character cut at the 64 KiB boundary is fine; real garbage is not.
        Err(e) if e.valid_up_to() + 4 >= head.len() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return None,
    };
    let mut lines = head
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .take(50)
        .peekable();
    lines.peek()?;
    let lines: Vec<&str> = lines.collect();
    // Frame lines, or (a recording without call chains) a sample header first.
    if lines.iter().any(|l| perf_script::is_frame_line(l)) || perf_script::is_header_line(lines[0])
    {
        return Some(Format::PerfScript);
    }
    let first = lines[0];
    let last_tok = first.trim_end().rsplit([' ', '\t']).next().unwrap_or("");
    if first.contains([' ', '\t'])
        && (last_tok.parse::<i64>().is_ok() || last_tok.parse::<f64>().is_ok())
    {
        return Some(Format::Folded);
    }
    // A single huge line without a count, say: still folded-shaped text, so let the folded
    // parser name the line and the problem.
    if !first.contains(": ") {
        return Some(Format::Folded);
    }
    None
}

/// Loads a profile from a path (or `-`), detecting its format.
pub fn load(path: &str, opts: &LoadOptions) -> Result<Loaded> {
    let t0 = std::time::Instant::now();
    let (name, bytes) = read_input(path)?;
    load_read(name, &bytes, t0.elapsed(), opts)
}

/// [`load_bytes`] of an input [`read_input`] read in `read_time`, printing the phase timings
/// when asked to.
pub fn load_read(
    name: String,
    bytes: &[u8],
    read_time: std::time::Duration,
    opts: &LoadOptions,
) -> Result<Loaded> {
    let t1 = std::time::Instant::now();
    let l = load_bytes(name, bytes, opts)?;
    // RPROF_TIMINGS=1 splits a run into phases for the benchmarks; nothing else prints it.
    if timings() {
        eprintln!(
            "rprof-timing: read {:.1} ms, parse {:.1} ms ({}, {} samples)",
            read_time.as_secs_f64() * 1e3,
            t1.elapsed().as_secs_f64() * 1e3,
            l.format.name(),
            l.profile.samples.len()
        );
    }
    Ok(l)
}

/// True when RPROF_TIMINGS asks for phase timings on stderr.
pub fn timings() -> bool {
    std::env::var_os("RPROF_TIMINGS").is_some()
}

/// Loads a profile from bytes already read; `name` is used in messages.
pub fn load_bytes(name: String, bytes: &[u8], opts: &LoadOptions) -> Result<Loaded> {
    if bytes.is_empty() {
        bail!("{name} is empty");
    }
    let Some(format) = detect(bytes) else {
        bail!("{name}: unrecognised format (expected an rprof data file, folded stacks, `perf script` output or massif output)");
    };
    let profile = match format {
        Format::Data => file::decode(bytes).with_context(|| format!("reading {name}"))?,
        Format::Folded => {
            let text = std::str::from_utf8(bytes)
                .with_context(|| format!("{name}: folded stacks are not valid UTF-8"))?;
            let mut p =
                folded::parse(text).with_context(|| format!("{name}: bad folded stacks"))?;
            p.meta.target = format!("folded stacks {name}");
            p
        }
        Format::PerfScript => {
            let text = String::from_utf8_lossy(bytes);
            let parsed =
                perf_script::parse_with(&text, opts.event.as_deref()).map_err(|e| match e {
                    // Not a fault of the text: the event asked for is not in it.
                    perf_script::PerfScriptError::Event(m) => anyhow::anyhow!("{name}: {m}"),
                    e => anyhow::Error::new(e).context(format!("{name}: bad perf script text")),
                })?;
            if let Some(w) = parsed.warning(&name) {
                eprintln!("{w}");
            }
            let mut p = parsed.profile;
            p.meta.target = format!("perf script {name}");
            p
        }
        Format::Massif => crate::massif::load_profile(bytes, &name, opts.massif_snapshot)
            .with_context(|| format!("reading massif output {name}"))?,
    };
    // A data file holds one event: naming another is a mistake to report, not to ignore.
    if let (Some(want), Format::Data) = (&opts.event, format) {
        let shown = [profile.meta.event.clone()];
        if !shown[0].is_empty() {
            perf_script::resolve_event(want, &shown).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        }
    }
    Ok(Loaded {
        name,
        format,
        profile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        assert_eq!(detect(b"a;b 1\n"), Some(Format::Folded));
        assert_eq!(
            detect(b"prog 1/1 1.0: cpu-clock:\n\t 4011 main (/x)\n"),
            Some(Format::PerfScript)
        );
        assert_eq!(detect(b"desc: (none)\ncmd: x\n"), Some(Format::Massif));
        assert_eq!(detect(&[0u8, 1, 2, 3]), None);
    }
}
