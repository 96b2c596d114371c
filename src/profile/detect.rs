//! Reads any supported stack source (rprof data file, folded stacks, `perf script` text,
//! massif output) from a path or `-` for stdin, recognising the format from its content.

use std::io::Read;

use anyhow::{bail, Context, Result};

use super::{file, folded, perf_data, perf_script, pprof, Profile};

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
    /// pprof `profile.proto` (gzip-compressed or raw).
    Pprof,
    /// `perf.data` written by `perf record`.
    PerfData,
}

impl Format {
    /// A short name for headers and errors.
    pub fn name(self) -> &'static str {
        match self {
            Format::Data => "rprof data",
            Format::Folded => "folded stacks",
            Format::PerfScript => "perf script",
            Format::Massif => "massif",
            Format::Pprof => "pprof",
            Format::PerfData => "perf.data",
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
    /// For pprof input: the sample type to read (`alloc_space`, `cpu`, an index; default as
    /// `go tool pprof` chooses).
    pub sample_index: Option<String>,
    /// Read nothing but the input's own bytes: a perf.data's recorded binaries, debug files
    /// and kallsyms are not opened (frames stay `module+offset`). For fuzzing the loader,
    /// where the files an input names are whatever is on the machine.
    pub bytes_only: bool,
    /// The view shows function names only (a flame graph): a perf.data's DWARF line tables
    /// are not read, so its frames may lack source files and lines.
    pub names_only: bool,
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

/// Default largest input read from something that is not a regular file (a pipe, stdin, a
/// FIFO): 4 GiB. Regular files are mapped, not read, and have no limit.
pub const DEFAULT_MAX_STREAM: u64 = 4 << 30;

/// How much of the input [`detect`] looks at; a stream is checked once this much is read.
const PREFIX: usize = 64 * 1024;

/// The largest input read from a pipe, stdin or FIFO: `RPROF_MAX_INPUT` (bytes, or with a
/// K, M or G suffix, powers of 1024) or [`DEFAULT_MAX_STREAM`].
pub fn max_stream() -> Result<u64> {
    let Some(v) = std::env::var_os("RPROF_MAX_INPUT") else {
        return Ok(DEFAULT_MAX_STREAM);
    };
    let v = v.to_string_lossy();
    let t = v.trim();
    let (num, shift) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 10),
        Some((i, 'M' | 'm')) => (&t[..i], 20),
        Some((i, 'G' | 'g')) => (&t[..i], 30),
        _ => (t, 0),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .filter(|&n| n > 0)
        .with_context(|| {
            format!("RPROF_MAX_INPUT={v}: expected a size in bytes, such as 4294967296 or 512M")
        })
}

/// A size for messages: `4 GiB`, `512 MiB`, `1000 bytes`.
fn size_text(n: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n % (1 << shift) == 0 {
            return format!("{} {unit}", n >> shift);
        }
    }
    format!("{n} bytes")
}

/// The error for bytes no reader recognises; binary data is called so.
fn unrecognised(name: &str, bytes: &[u8]) -> anyhow::Error {
    let head = &bytes[..bytes.len().min(PREFIX)];
    let binary = head.contains(&0)
        || std::str::from_utf8(head).is_err_and(|e| e.valid_up_to() + 4 < head.len());
    if binary {
        anyhow::anyhow!("{name}: not a profile: binary data (unrecognised format; expected an rprof data file, perf.data, folded stacks, `perf script` output, pprof or massif output)")
    } else {
        anyhow::anyhow!("{name}: unrecognised format (expected an rprof data file, perf.data, folded stacks, `perf script` output, pprof or massif output)")
    }
}

/// Opens `path` as an input without ever blocking in `open` (a FIFO without a writer would),
/// and refuses what cannot be a profile: directories and devices (`/dev/zero` never ends).
/// A FIFO is returned once a writer has connected; that wait, unlike a blocked `open`, is a
/// `poll` any signal ends. The descriptor returned is blocking again.
pub fn open_input(path: &str) -> Result<std::fs::File> {
    let f = match open_nonblocking(path) {
        Ok(f) => f,
        // The default input missing usually means nothing was recorded yet: say how to.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && path == "rprof.data" => bail!(
            "cannot read 'rprof.data': {e}; record one with `rprof record -- CMD` (or `-p PID`), or name an input file"
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read '{path}'")),
    };
    check_opened(&f, &format!("'{path}'"))?;
    Ok(f)
}

/// Opens `path` for reading with `O_NONBLOCK` (so a FIFO without a writer cannot block the
/// open); [`check_opened`] then vets it and makes it blocking.
pub fn open_nonblocking(path: &str) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// [`open_input`]'s checks for standard input, for readers that stream it themselves: a
/// device such as `/dev/zero` is refused, a FIFO waited for.
pub fn check_stdin() -> Result<()> {
    use std::os::fd::AsFd;
    let f = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .context("cannot read standard input")?;
    check_opened(&f, "standard input")
}

/// Refuses directories and devices other than a terminal, waits for a FIFO's writer, and
/// makes the descriptor blocking.
pub fn check_opened(f: &std::fs::File, name: &str) -> Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileTypeExt;
    let ft = f
        .metadata()
        .with_context(|| format!("cannot read {name}"))?
        .file_type();
    // SAFETY: isatty on a descriptor we own.
    let tty = unsafe { libc::isatty(f.as_raw_fd()) } == 1;
    if ft.is_dir() {
        bail!("{name} is a directory, not a profile");
    }
    if (ft.is_char_device() && !tty) || ft.is_block_device() {
        let what = if ft.is_char_device() {
            "a character device"
        } else {
            "a block device"
        };
        bail!("{name} is {what}, not a profile (rprof reads files, pipes and standard input)");
    }
    if ft.is_fifo() {
        // Opened without waiting; wait here for a writer (poll reports one once it has
        // connected and written or closed), interruptibly.
        let mut pfd = libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, -1) };
            if r >= 0 {
                break;
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e).with_context(|| format!("cannot read {name}"));
            }
        }
    }
    // SAFETY: fcntl flag calls on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
        if fl >= 0 && fl & libc::O_NONBLOCK != 0 {
            libc::fcntl(f.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
    Ok(())
}

/// Reads a stream (pipe, FIFO, stdin, a file whose size the kernel does not give) up to
/// `cap` bytes. The first [`PREFIX`] bytes are checked first, so garbage (binary data, an
/// unknown format) fails at once instead of after gigabytes.
fn read_stream(mut r: impl Read, name: &str, cap: u64) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    (&mut r)
        .take(PREFIX as u64)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {name}"))?;
    if buf.is_empty() {
        return Ok(buf);
    }
    if detect(&buf).is_none() {
        return Err(unrecognised(name, &buf));
    }
    r.take(cap.saturating_sub(buf.len() as u64).saturating_add(1))
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {name}"))?;
    if buf.len() as u64 > cap {
        bail!(
            "{name}: more than {} read from a pipe or standard input, the limit for inputs that are not regular files (set RPROF_MAX_INPUT to raise it, or save the input to a file first)",
            size_text(cap)
        );
    }
    Ok(buf)
}

/// Reads an opened input: a regular file is mapped, anything else read as a stream with
/// the [`max_stream`] limit.
fn read_opened(f: std::fs::File, name: &str) -> Result<InputBytes> {
    let meta = f
        .metadata()
        .with_context(|| format!("cannot read {name}"))?;
    // Stdin redirected from a file may have been partly read by whoever ran rprof: map it
    // only from its start, as a freshly opened file is.
    let at_start = {
        use std::io::Seek;
        (&f).stream_position().is_ok_and(|p| p == 0)
    };
    if meta.is_file() && meta.len() > 0 && at_start {
        // SAFETY: the mapping is read-only; a file truncated by another process while we read
        // it could fault, the same risk every mmap-based reader (perf, inferno) accepts for
        // files it was pointed at.
        if let Ok(m) = unsafe { memmap2::Mmap::map(&f) } {
            return Ok(InputBytes::Mapped(m));
        }
    }
    Ok(InputBytes::Owned(read_stream(f, name, max_stream()?)?))
}

/// Reads the raw bytes of `path`, or stdin for `-`. Regular files are mapped; pipes, FIFOs
/// and stdin are read up to [`max_stream`] bytes after their first 64 KiB were recognised;
/// devices and directories are refused, and opening a FIFO never blocks.
pub fn read_input(path: &str) -> Result<(String, InputBytes)> {
    if path == "-" {
        use std::os::fd::AsFd;
        let name = "<stdin>".to_string();
        // A duplicate of descriptor 0: stdin redirected from a file is mapped like one.
        let f = std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .context("cannot read standard input")?;
        check_opened(&f, "standard input")?;
        let bytes = read_opened(f, &name)?;
        return Ok((name, bytes));
    }
    let f = open_input(path)?;
    let name = format!("'{path}'");
    let bytes = read_opened(f, &name)?;
    Ok((name, bytes))
}

/// Recognises the format of `bytes`.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if file::is_data_file(bytes) {
        return Some(Format::Data);
    }
    if perf_data::is_perf_data(bytes) {
        return Some(Format::PerfData);
    }
    // Both massif and pprof files may be gzipped: pprof is recognised from the decompressed start.
    if pprof::is_pprof(bytes) {
        return Some(Format::Pprof);
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
        return Err(unrecognised(&name, bytes));
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
        Format::Pprof => {
            let mut p = pprof::decode(bytes, opts.sample_index.as_deref())
                .with_context(|| format!("reading pprof profile {name}"))?;
            p.meta.target = format!("pprof {name}");
            p
        }
        Format::Massif => crate::massif::load_profile(bytes, &name, opts.massif_snapshot)
            .with_context(|| format!("reading massif output {name}"))?,
        Format::PerfData => perf_data::load_full(
            bytes,
            &name,
            opts.event.as_deref(),
            !opts.bytes_only,
            opts.names_only,
        )?,
    };
    // A data file of several events shows one (the one asked for, else the first); naming an
    // event it lacks is a mistake to report, not to ignore.
    let mut profile = profile;
    if format == Format::Data {
        file::select_event(&mut profile, opts.event.as_deref())
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    }
    // Every view adds weights in u64 (totals, per-function sums, diffs of subsets): a file
    // whose weights add up past 2^64 would wrap them silently into wrong shares, so it is
    // refused here, once, and no later sum can overflow.
    if profile
        .samples
        .iter()
        .try_fold(0u64, |t, s| t.checked_add(s.weight))
        .is_none()
    {
        bail!(
            "{name}: the sample weights add up to more than 2^64 {}; the file is corrupt",
            profile.unit()
        );
    }
    // The same for the sample counts (a recording's merged rows, pprof's samples/count).
    if profile
        .samples
        .iter()
        .try_fold(0u64, |t, s| t.checked_add(s.count))
        .is_none()
    {
        bail!("{name}: the sample counts add up to more than 2^64; the file is corrupt");
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
    fn streams_are_checked_early_and_capped() {
        let zeros = std::io::repeat(0).take(1 << 30);
        let e = read_stream(zeros, "<stdin>", 4 << 30).expect_err("binary");
        assert!(e.to_string().contains("not a profile: binary data"), "{e}");
        let text = std::io::repeat(b'a').take(1 << 20).chain(&b" 1\n"[..]);
        let e = read_stream(text, "<stdin>", 512 << 10).expect_err("over the cap");
        assert!(e.to_string().contains("more than 512 KiB"), "{e}");
        let ok = read_stream(&b"a;b 1\n"[..], "<stdin>", 6).expect("at the cap");
        assert_eq!(ok, b"a;b 1\n");
        assert!(read_stream(&b""[..], "<stdin>", 6)
            .expect("empty")
            .is_empty());
    }

    #[test]
    fn size_texts() {
        assert_eq!(size_text(4 << 30), "4 GiB");
        assert_eq!(size_text(512 << 20), "512 MiB");
        assert_eq!(size_text(1000), "1000 bytes");
    }

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
