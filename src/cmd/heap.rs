//! `rprof heap -- CMD [ARGS]`: runs the command with rprof's allocation interposer preloaded,
//! receives every allocation and free with its stack, and prints the analysis: totals, the
//! peak with its allocation sites, leaks at exit, the busiest and the most temporary sites.
//! Optional outputs: massif format, pprof heap profile, folded stacks, flame graph, chart.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::heap::{self, analysis, stream::Stream, FoldedKind, PreloadFile};
use crate::output::write_atomically;
use crate::render::flamegraph::{self as fg, SvgOptions};

/// Flags of `rprof heap`.
#[derive(Args, Debug)]
pub struct HeapArgs {
    /// Also write the heap profile in massif's format (for ms_print, `rprof massif FILE`,
    /// massif-visualizer); time unit B (bytes allocated and freed).
    #[arg(long, value_name = "FILE")]
    pub massif: Option<PathBuf>,
    /// Also write a pprof heap profile (gzipped; alloc_objects, alloc_space, inuse_objects,
    /// inuse_space, where in-use means still allocated at exit).
    #[arg(long, value_name = "FILE")]
    pub pprof: Option<PathBuf>,
    /// Print folded stacks instead of the summary: live bytes at the peak, bytes still
    /// allocated at exit, or the number of allocations.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub folded: Option<FoldedKind>,
    /// Also write a flame graph of the live bytes at the peak.
    #[arg(long, value_name = "FILE.svg")]
    pub flamegraph: Option<PathBuf>,
    /// Also write a chart of the heap over time, stacked by the top allocation sites.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
    /// How many sites each part of the summary lists.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// The path execvp would run, when it can be found.
fn find_program(cmd: &str) -> Option<PathBuf> {
    if cmd.contains('/') {
        return Some(PathBuf::from(cmd));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    path.split(':')
        .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(cmd))
        .find(|p| p.is_file())
}

/// True for an ELF executable without a program interpreter: statically linked, so no dynamic
/// loader will ever read LD_PRELOAD. Scripts and unreadable files are not judged here.
fn is_static_elf(path: &Path) -> bool {
    use std::io::Read;
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut b = Vec::new();
    if f.take(64 * 1024).read_to_end(&mut b).is_err() || b.len() < 64 {
        return false;
    }
    // 64-bit little-endian ELF only (what rprof runs on); others are not judged.
    if &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let mut off = [0u8; 8];
    off.copy_from_slice(&b[32..40]);
    let phoff = u64::from_le_bytes(off) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    if phentsize < 4 {
        return false;
    }
    let mut any = false;
    for i in 0..phnum {
        let o = phoff.saturating_add(i * phentsize);
        let Some(t) = b.get(o..o + 4) else {
            return false;
        };
        any = true;
        if u32::from_le_bytes([t[0], t[1], t[2], t[3]]) == 3 {
            return false; // PT_INTERP
        }
    }
    any
}

/// A SOCK_SEQPACKET pair: (rprof's end, the target's end); both close-on-exec.
fn socket_pair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: valid out-array of two ints.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot create the event socket");
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // A larger buffer lets the target run ahead while rprof decodes (root may force it above
    // the default limit; otherwise the default is kept).
    let size: libc::c_int = 8 << 20;
    for (fd, opt) in [
        (b.as_raw_fd(), libc::SO_SNDBUFFORCE),
        (a.as_raw_fd(), libc::SO_RCVBUFFORCE),
    ] {
        // SAFETY: a valid int option on our socket.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            )
        };
    }
    Ok((a, b))
}

/// Runs `rprof heap`.
pub fn run(args: HeapArgs) -> Result<ExitCode> {
    let Some(first) = args.command.first() else {
        bail!("no command given after --");
    };
    crate::process::resolve_command(first)?;
    if let Some(p) = find_program(first) {
        if is_static_elf(&p) {
            bail!(
                "'{}' is statically linked: rprof heap works by preloading an interposer through the dynamic loader, which a static program does not have (rebuild it dynamically linked, or use `rprof massif -- {first}`)",
                p.display()
            );
        }
    }
    for out in [&args.massif, &args.pprof, &args.flamegraph, &args.chart]
        .into_iter()
        .flatten()
    {
        crate::output::check_writable(out)?;
    }
    let preload = PreloadFile::create()?;
    let (ours, theirs) = socket_pair()?;
    let mut ld = preload.path().to_string_lossy().into_owned();
    if let Ok(old) = std::env::var("LD_PRELOAD") {
        if !old.is_empty() {
            ld.push(':');
            ld.push_str(&old);
        }
    }
    let child_fd = theirs.as_raw_fd();
    let mut c = Command::new(first);
    c.args(&args.command[1..])
        .env("LD_PRELOAD", &ld)
        .env("RPROF_HEAP_FD", child_fd.to_string());
    // The program's own stdout goes to our stderr: stdout carries rprof's report.
    if let Ok(fd) = std::io::stderr().as_fd_clone() {
        c.stdout(Stdio::from(fd));
    }
    let mut die = crate::process::die_with_parent_hook();
    // SAFETY: the hook makes only async-signal-safe calls (fcntl, prctl, getppid, _exit).
    unsafe {
        c.pre_exec(move || {
            // The target's end survives exec (and later execs): the interposer finds it there.
            if libc::fcntl(child_fd, libc::F_SETFD, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            die()
        })
    };
    let started = Instant::now();
    let mut child = c.spawn().with_context(|| format!("cannot run `{first}`"))?;
    drop(theirs);
    // Ctrl-C reaches the command too; rprof stays to report what it saw.
    // SAFETY: plain libc call with a valid signal number and handler constant.
    let old = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let (s, status) = receive(&ours, &mut child);
    // SAFETY: restores the disposition returned above.
    unsafe { libc::signal(libc::SIGINT, old) };
    let duration = started.elapsed();
    let status = status?;
    drop(preload);
    report(&args, s, status, duration)
}

trait AsFdClone {
    fn as_fd_clone(&self) -> std::io::Result<OwnedFd>;
}

impl AsFdClone for std::io::Stderr {
    fn as_fd_clone(&self) -> std::io::Result<OwnedFd> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned()
    }
}

/// Reads datagrams until every holder of the target's end is gone, or the command has ended
/// and nothing came for a while (a daemon it left behind may keep the socket open).
///
/// This thread only receives; a second thread decodes and matches. With one thread doing
/// both, the socket filled whenever decoding fell behind, and the kernel lets a blocked
/// sender go on only once the buffer has drained to a quarter: the target and rprof took turns
/// instead of running side by side.
fn receive(
    sock: &OwnedFd,
    child: &mut std::process::Child,
) -> (Stream, Result<std::process::ExitStatus>) {
    // Bounded: at most this many datagrams (32 KiB each) wait for the decoder.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2048);
    let decoder = std::thread::Builder::new()
        .name("rprof-heap-decode".into())
        .spawn(move || {
            let mut s = Stream::new();
            for d in rx {
                s.push(&d);
            }
            s
        });
    let decoder = match decoder {
        Ok(d) => d,
        Err(e) => {
            return (
                Stream::new(),
                Err(e).context("cannot start the event decoder thread"),
            )
        }
    };
    let (status, sent_all) = receive_into(sock, child, &tx);
    drop(tx);
    match decoder.join() {
        Ok(s) if sent_all => (s, status),
        Ok(s) => (
            s,
            status.and_then(|_| Err(anyhow::anyhow!("the event decoder stopped early"))),
        ),
        Err(_) => (
            Stream::new(),
            Err(anyhow::anyhow!("the event decoder failed")),
        ),
    }
}

/// The receiving half of [`receive`]: every datagram goes to `tx`; false in the second value
/// when the decoder went away before the end.
fn receive_into(
    sock: &OwnedFd,
    child: &mut std::process::Child,
    tx: &std::sync::mpsc::SyncSender<Vec<u8>>,
) -> (Result<std::process::ExitStatus>, bool) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut exited: Option<std::process::ExitStatus> = None;
    let mut last_data = Instant::now();
    loop {
        let mut pfd = libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 100) };
        loop {
            // SAFETY: a valid buffer of buf.len() bytes.
            let n = unsafe {
                libc::recv(
                    sock.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n > 0 {
                if tx.send(buf[..n as usize].to_vec()).is_err() {
                    let st = match exited {
                        Some(e) => Ok(e),
                        None => child.wait().context("waiting for the command"),
                    };
                    return (st, false);
                }
                last_data = Instant::now();
                continue;
            }
            if n == 0 {
                // Every writer is gone.
                let st = match exited {
                    Some(e) => Ok(e),
                    None => child.wait().context("waiting for the command"),
                };
                return (st, true);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if exited.is_none() {
            match child.try_wait() {
                Ok(Some(st)) => exited = Some(st),
                Ok(None) => {}
                Err(e) => return (Err(e).context("waiting for the command"), true),
            }
        }
        if let Some(st) = exited {
            if last_data.elapsed() > Duration::from_millis(500) {
                eprintln!(
                    "rprof: note: the command ended but a process it started still holds the event socket; its later allocations are not in this report"
                );
                return (Ok(st), true);
            }
        }
    }
}

fn report(
    args: &HeapArgs,
    mut s: Stream,
    status: std::process::ExitStatus,
    duration: Duration,
) -> Result<ExitCode> {
    let how = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(sig)) => format!(
            "was killed by {}{}",
            crate::record::target::signal_name(sig),
            if status.core_dumped() {
                " (core dumped)"
            } else {
                ""
            }
        ),
        _ => format!("ended ({status})"),
    };
    if s.images.is_empty() {
        bail!(
            "the command {how} without loading rprof's interposer: is it statically linked, set-user-ID, or does it clear LD_PRELOAD?"
        );
    }
    // Every image that allocated or freed is analysed on its own, symbolized against its own
    // mappings: forked children against the parent's (plus what they loaded), exec'd images
    // against the new program's.
    s.inherit();
    let mut analysed: Vec<usize> = (0..s.images.len())
        .filter(|&i| s.images[i].events.len() > s.images[i].inherited)
        .collect();
    if analysed.is_empty() {
        analysed.push(0);
    }
    let t0 = Instant::now();
    let mut sym = crate::symbolize::Symbolizer::new();
    // The interposer's file is gone by now; its frames are recognised by its path.
    let preload_path = s
        .images
        .iter()
        .flat_map(|im| im.maps.iter())
        .find(|m| m.path.ends_with("/librprof_preload.so") && m.path.contains("rprof-heap-"))
        .map(|m| m.path.clone())
        .unwrap_or_default();
    let roots: Vec<String> = (0..s.images.len())
        .map(|i| {
            let im = &s.images[i];
            let cmd = if i == 0 && im.command.is_empty() {
                args.command.join(" ")
            } else {
                im.command.clone()
            };
            heap::root_frame(&cmd, im.pid)
        })
        .collect();
    let origins: Vec<String> = (0..s.images.len())
        .map(|i| {
            let im = &s.images[i];
            if let Some(p) = im.exec_from {
                format!("exec'd from {}", roots[p])
            } else if let Some(p) = im.forked_from {
                format!("forked from pid {}", s.images[p].pid)
            } else if i == 0 {
                "launched".into()
            } else if let Some(pp) = im.parent_pid {
                // vfork + exec or posix_spawn: no fork handler ran, the image names its parent.
                match (0..i).rev().find(|&j| s.images[j].pid == pp) {
                    Some(j) => format!("started by {}", roots[j]),
                    None => format!("started by pid {pp}"),
                }
            } else {
                "started".into()
            }
        })
        .collect();
    let mut procs: Vec<heap::Proc> = Vec::with_capacity(analysed.len());
    let mut events_total = 0u64;
    let mut unknown_frees = 0u64;
    let mut unsymbolized = 0u64;
    let mut sites = 0usize;
    let mut seen_roots: Vec<String> = Vec::new();
    for &i in &analysed {
        let stacks = analysis::symbolize(&s.images, i, &mut sym, &preload_path);
        let origin = origins[i].clone();
        let mut root = roots[i].clone();
        // An image that exec'd its own program again keeps a root of its own.
        let mut n = 2;
        while seen_roots.contains(&root) {
            root = format!("{} #{n}", roots[i]);
            n += 1;
        }
        seen_roots.push(root.clone());
        let im = &mut s.images[i];
        let cmd = if im.command.is_empty() && i == 0 {
            args.command.join(" ")
        } else {
            im.command.clone()
        };
        let mut events = std::mem::take(&mut im.events);
        events_total += events.len() as u64;
        let matched = im.take_matched();
        let a = analysis::analyze(&mut events, im.inherited, matched, &stacks, &cmd);
        unknown_frees += a.unknown_frees;
        unsymbolized += stacks.unsymbolized;
        sites += stacks.sites.len();
        procs.push(heap::Proc {
            pid: im.pid,
            command: cmd,
            threads: im.threads.len(),
            origin,
            root,
            stacks,
            analysis: a,
        });
    }
    let analysis_time = t0.elapsed();
    let several = procs.len() > 1;

    if let Some(path) = &args.massif {
        // As massif with --trace-children: one file per process, FILE for the first and
        // FILE.PID for the others.
        for (k, p) in procs.iter().enumerate() {
            let out = per_process_path(path, &procs[..k], p, false);
            crate::output::write_atomically_with(&out, &mut |w| {
                crate::massif::write::write(w, &p.analysis.massif)
            })
            .with_context(|| format!("cannot write '{}'", out.display()))?;
            if several {
                eprintln!("rprof: wrote {} ({})", out.display(), p.root);
            } else {
                eprintln!("rprof: wrote {}", out.display());
            }
        }
    }
    if let Some(path) = &args.pprof {
        let bytes = heap::pprof_bytes(&procs, duration.as_nanos() as u64)?;
        write_atomically(path, &bytes)
            .with_context(|| format!("cannot write '{}'", path.display()))?;
        eprintln!("rprof: wrote {}", path.display());
    }
    if let Some(path) = &args.flamegraph {
        let folded = heap::folded_procs(&procs, FoldedKind::Peak);
        let peak_sum: u64 = procs.iter().map(|p| p.analysis.peak_bytes).sum();
        let (title, subtitle) = if several {
            (
                format!("Heap at the peak: {} processes", procs.len()),
                format!(
                    "{} B: each process at its own peak",
                    crate::render::thousands(peak_sum)
                ),
            )
        } else {
            (
                format!("Heap at the peak: {}", procs[0].command),
                format!("{} B live at the peak", crate::render::thousands(peak_sum)),
            )
        };
        let o = SvgOptions {
            title,
            subtitle: Some(subtitle),
            colors: "mem".into(),
            count_name: "bytes".into(),
            ..SvgOptions::default()
        };
        let svg = fg::render(folded.lines(), &o)?;
        write_atomically(path, &svg)
            .with_context(|| format!("cannot write '{}'", path.display()))?;
        eprintln!("rprof: wrote {}", path.display());
    }
    if let Some(path) = &args.chart {
        // One chart per process (each has its own time axis), named as the massif files.
        for (k, p) in procs.iter().enumerate() {
            let out = per_process_path(path, &procs[..k], p, true);
            let title = if several {
                format!("rprof heap: {}", p.root)
            } else {
                "rprof heap".to_string()
            };
            let svg = crate::massif::chart::render(&p.analysis.massif, &title, args.top.max(1));
            write_atomically(&out, svg.as_bytes())
                .with_context(|| format!("cannot write '{}'", out.display()))?;
            if several {
                eprintln!("rprof: wrote {} ({})", out.display(), p.root);
            } else {
                eprintln!("rprof: wrote {}", out.display());
            }
        }
    }

    let mut out = String::new();
    if let Some(kind) = args.folded {
        out = heap::folded_procs(&procs, kind);
    } else {
        let im = &s.images[0];
        let cmd = if im.command.is_empty() {
            args.command.join(" ")
        } else {
            im.command.clone()
        };
        if several {
            out.push_str(&format!("Command: {cmd} (pid {})\n", im.pid));
            out.push_str(&heap::summary_procs(&procs, args.top));
        } else {
            let p = &procs[0];
            // The one process that allocated may be a child: say which it is.
            let origin = if p.origin == "launched" {
                String::new()
            } else {
                format!(", {}", p.origin)
            };
            out.push_str(&format!(
                "Command: {} (pid {}, {} thread{}{origin})\n",
                p.command,
                p.pid,
                p.threads,
                if p.threads == 1 { "" } else { "s" }
            ));
            out.push_str(&heap::summary(&p.stacks, &p.analysis, args.top));
        }
        let others: Vec<usize> = (0..s.images.len())
            .filter(|i| !analysed.contains(i))
            .collect();
        if !others.is_empty() {
            out.push_str("\nProcesses without allocations:\n");
            for i in others {
                out.push_str(&format!(
                    "  {} ({}): {}\n",
                    roots[i], origins[i], s.images[i].command
                ));
            }
        }
    }
    {
        use std::io::Write;
        let stdout = std::io::stdout();
        let mut w = stdout.lock();
        w.write_all(out.as_bytes())?;
        w.flush()?;
    }
    eprintln!("rprof: the command {how}");
    let mismatches: u64 = s.images.iter().map(|im| im.mismatches).sum();
    if mismatches > 0 {
        eprintln!(
            "rprof: verify: {} stacks differed between the fast unwinder and libgcc's",
            crate::render::thousands(mismatches)
        );
    }
    let missed: u64 = s.images.iter().map(|im| im.missed).sum();
    // An image replaced by exec sent its last batch before the exec.
    let cut: Vec<u32> = s
        .images
        .iter()
        .filter(|im| !im.ended && !im.exec_replaced)
        .map(|im| im.pid)
        .collect();
    let complete = if cut.is_empty() {
        "complete".to_string()
    } else {
        let which = if s.images.len() > 1 {
            let pids: Vec<String> = cut.iter().map(|p| p.to_string()).collect();
            format!(" (pid {})", pids.join(", "))
        } else {
            String::new()
        };
        if status.signal().is_some() && cut.contains(&s.images[0].pid) {
            format!("ended by a signal{which} (the thread that got it sent its last batch; other threads may have lost up to 32 KiB of events each, all of them after a SIGKILL)")
        } else {
            format!("cut short{which} (the process ended without running its exit path: up to 32 KiB of events per thread may be missing)")
        }
    };
    let from = if s.images.len() > 1 {
        format!(" from {} process images", s.images.len())
    } else {
        String::new()
    };
    eprintln!(
        "rprof: {} events{from} in {} batches ({} KiB), stream {complete}; {} allocations not recorded (reentrant), {} frees of unknown blocks, {} bad batches, {} of {} addresses unsymbolized; analysed in {:.2} s",
        crate::render::thousands(events_total),
        crate::render::thousands(s.datagrams),
        crate::render::thousands(s.bytes / 1024),
        crate::render::thousands(missed),
        crate::render::thousands(unknown_frees),
        s.bad,
        unsymbolized,
        sites,
        analysis_time.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Where process `p`'s own file goes: `path` for the first process, then `path.PID` (massif's
/// `--trace-children` naming; for an SVG `name.PID.svg`), with `.N` added when an earlier
/// image of the same pid (before an exec) already took that name.
fn per_process_path(path: &Path, earlier: &[heap::Proc], p: &heap::Proc, svg: bool) -> PathBuf {
    if earlier.is_empty() {
        return path.to_path_buf();
    }
    let same_pid = earlier.iter().skip(1).filter(|e| e.pid == p.pid).count();
    let tag = if same_pid == 0 {
        p.pid.to_string()
    } else {
        format!("{}.{}", p.pid, same_pid + 1)
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let new = match (svg, name.rsplit_once('.')) {
        (true, Some((stem, ext))) if !stem.is_empty() => format!("{stem}.{tag}.{ext}"),
        _ => format!("{name}.{tag}"),
    };
    path.with_file_name(new)
}
