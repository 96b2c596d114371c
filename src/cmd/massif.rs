//! `rprof massif`: heap profiles from valgrind's massif.
//!
//! Reads a massif output file (plain, gzip or stdin), or runs `valgrind --tool=massif` on a
//! command and keeps its output, then prints the answer first (peak, top sites, what is left
//! at the end) followed by ms_print's graph, table and trees; optionally a flame graph, a chart,
//! folded stacks or JSON.

use std::io::{BufWriter, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use crate::massif::{self, chart, convert, parse, text, Massif};
use crate::output::write_atomically;
use crate::profile::detect;
use crate::render::flamegraph::{self as fg, SvgOptions};

/// What goes to stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MassifFormat {
    /// Summary, then ms_print's graph, table and trees.
    Text,
    /// The whole parsed profile (every snapshot, trees nested) as JSON.
    Json,
}

/// Flags of `rprof massif`.
#[derive(Args, Debug, Clone)]
pub struct MassifArgs {
    /// A massif output file (massif.out.PID, plain or gzip-compressed), or `-` for stdin.
    pub input: Option<String>,
    /// The command to run under `valgrind --tool=massif`, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
    /// Extra argument for valgrind when running a command (repeatable), e.g.
    /// `--valgrind-arg=--pages-as-heap=yes`.
    #[arg(long = "valgrind-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub valgrind_args: Vec<String>,
    /// Where to keep massif's output when running a command (default: massif.out.PID in the
    /// current directory, as valgrind names it).
    #[arg(long, value_name = "FILE")]
    pub keep: Option<String>,
    /// Merge tree entries below this percentage of the snapshot's total, like ms_print's
    /// --threshold (0 to 100; a trailing % is accepted).
    #[arg(long, default_value_t = 1.0, value_name = "PCT", value_parser = parse_percent)]
    pub threshold: f64,
    /// Width of the ASCII graph in columns (4 to 1000), like ms_print's --x.
    #[arg(long = "x", default_value_t = 72, value_name = "COLUMNS",
          value_parser = clap::value_parser!(u16).range(4..=1000))]
    pub graph_x: u16,
    /// Height of the ASCII graph in rows (4 to 1000), like ms_print's --y.
    #[arg(long = "y", default_value_t = 20, value_name = "ROWS",
          value_parser = clap::value_parser!(u16).range(4..=1000))]
    pub graph_y: u16,
    /// Snapshot for --flamegraph and --folded (default: the peak); it must be a detailed one.
    #[arg(long, value_name = "N")]
    pub snapshot: Option<usize>,
    /// Also write the chosen snapshot's allocation tree as a flame graph weighted by bytes.
    #[arg(long, value_name = "FILE.svg")]
    pub flamegraph: Option<String>,
    /// Also write a chart of heap size over time, stacked by the top allocation sites.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<String>,
    /// Print the chosen snapshot as folded stacks (`main;f;g BYTES`) instead of the text.
    #[arg(long, conflicts_with = "format")]
    pub folded: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = MassifFormat::Text)]
    pub format: MassifFormat,
    /// How many allocation sites the summary and the chart show.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Print only the summary, without ms_print's graph, table and trees.
    #[arg(long)]
    pub summary_only: bool,
}

/// `1.5` or `1.5%`, from 0 to 100.
fn parse_percent(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage"))?;
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is outside 0 to 100"))
    }
}

const INSTALL_HINT: &str = "install it with `apt-get install valgrind` (Debian, Ubuntu) or `dnf install valgrind` (Fedora)";

/// Runs `rprof massif`.
pub fn run(args: MassifArgs) -> Result<ExitCode> {
    // Trees are trimmed to what the output shows while they are read (ms_print's threshold),
    // which keeps memory and time low on large files; JSON wants everything.
    let popt = parse::ParseOptions {
        threshold: if args.format == MassifFormat::Json {
            0.0
        } else {
            args.threshold
        },
        full: args.snapshot.map(|n| n as u64),
    };
    let mut at_exit = None;
    let (m, name) = match (&args.input, args.command.is_empty()) {
        (Some(_), false) => {
            bail!("give either a massif output file or a command after `--`, not both")
        }
        (None, true) => bail!(
            "nothing to do: give a massif output file (`rprof massif massif.out.1234`) or a command (`rprof massif -- ./prog args`)"
        ),
        (Some(path), true) => (read(path, &popt)?, display_name(path)),
        (None, false) => {
            let (path, exit_report) = run_valgrind(&args)?;
            let m = read(&path, &popt)?;
            at_exit = exit_report.and_then(|(report, killed_by)| {
                let p = report.path().to_string_lossy().into_owned();
                let parsed = read(&p, &popt).ok()?;
                massif::model::AtExit::new(parsed, killed_by)
            });
            (m, path)
        }
    };
    output(&args, &m, &name, at_exit)?;
    Ok(ExitCode::SUCCESS)
}

fn display_name(path: &str) -> String {
    if path == "-" {
        "<stdin>".into()
    } else {
        path.into()
    }
}

/// Parses the file (or stdin) as a stream.
fn read(path: &str, opt: &parse::ParseOptions) -> Result<Massif> {
    if path == "-" {
        detect::check_stdin()?;
        let stdin = std::io::stdin();
        return Ok(parse::parse_reader(stdin.lock(), "<stdin>", opt)?);
    }
    if Path::new(path).is_dir() {
        bail!("'{path}' is a directory, not a massif output file");
    }
    // Never blocks in open (a FIFO without a writer) and refuses devices.
    let f = detect::open_nonblocking(path).with_context(|| format!("cannot open '{path}'"))?;
    detect::check_opened(&f, &format!("'{path}'"))?;
    let looks_runnable = f
        .metadata()
        .map(|md| md.is_file() && md.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    match parse::parse_reader(f, path, opt) {
        Ok(m) => Ok(m),
        // `rprof massif ./prog` is an easy slip for `rprof massif -- ./prog`.
        Err(e) if looks_runnable && e.line == 1 => Err(anyhow::Error::new(e).context(format!(
            "'{path}' is not massif output; to profile it, run `rprof massif -- {path}`"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// A private directory for valgrind's exit report, removed when dropped. Created with
/// `mkdir` (which never follows a planted symlink and fails if the name exists) and mode 0700,
/// under a name no other user can predict a moment ahead.
struct ExitReportDir(std::path::PathBuf);

impl ExitReportDir {
    fn create() -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let mut last = None;
        for attempt in 0..16u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir = base.join(format!(
                "rprof-massif-{}-{nanos:09}-{attempt}",
                std::process::id()
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(ExitReportDir(dir)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no name left")))
            .with_context(|| format!("cannot create a private directory in {}", base.display()))
    }

    fn path(&self) -> std::path::PathBuf {
        // `.ms`: valgrind writes the xtree report in massif's format for this suffix.
        self.0.join("exit.ms")
    }
}

impl Drop for ExitReportDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether rprof may add its exit report to valgrind's arguments: not when the user asked for
/// an xtree report of their own, and not with `--heap=no`, where valgrind 3.19 asserts at exit
/// while writing it.
fn exit_report_possible(valgrind_args: &[String]) -> bool {
    !valgrind_args
        .iter()
        .any(|a| a.starts_with("--xtree-memory") || a == "--heap=no")
}

/// valgrind's exit report (in its private directory) and the signal that killed the command
/// (None when it exited).
type ExitReport = (ExitReportDir, Option<String>);

/// Runs the command under massif; returns the path of the output file and, when valgrind
/// wrote one, its report of what was still allocated when the command ended.
///
/// massif itself takes no snapshot at exit (its last one is at the last heap operation that
/// happened to trigger one), so rprof also asks valgrind for an xtree memory report
/// (`--xtree-memory=allocs`), which valgrind writes as the program ends, by exit or by a fatal
/// signal: that is what the summary calls "still allocated at exit".
fn run_valgrind(args: &MassifArgs) -> Result<(String, Option<ExitReport>)> {
    if let Some(k) = &args.keep {
        if Path::new(k).is_dir() {
            bail!("--keep '{k}' is a directory; give a file name");
        }
    }
    // valgrind expands %p to the pid itself; the pid is the child's, since valgrind execs the
    // tool in the same process.
    let out_arg = args.keep.clone().unwrap_or_else(|| "massif.out.%p".into());
    let exit_dir = if exit_report_possible(&args.valgrind_args) {
        match ExitReportDir::create() {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("rprof: warning: {e:#}; the summary cannot say what is left at exit");
                None
            }
        }
    } else {
        None
    };
    // valgrind opens its output with O_TRUNC and follows a symlink planted at that name (as
    // root, in a shared directory, that overwrites any file): it writes into a fresh private
    // directory beside the final name instead, and rprof renames the result into place.
    let final_dir = match Path::new(&out_arg).parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let private = tempfile::Builder::new()
        .prefix(".rprof-massif.")
        .tempdir_in(&final_dir)
        .with_context(|| format!("cannot write massif's output in {}", final_dir.display()))?;
    let base = Path::new(&out_arg)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "massif.out.%p".into());
    let private_arg = private.path().join(&base).to_string_lossy().into_owned();
    let mut c = Command::new("valgrind");
    c.arg("--tool=massif")
        .arg(format!("--massif-out-file={private_arg}"));
    if let Some(d) = &exit_dir {
        c.arg("--xtree-memory=allocs")
            .arg(format!("--xtree-memory-file={}", d.path().display()));
    }
    c.args(&args.valgrind_args).args(&args.command);
    // The program's own stdout goes to our stderr: stdout carries rprof's report.
    if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
        c.stdout(Stdio::from(fd));
    }
    // valgrind (and the program it runs) must not outlive an rprof killed with SIGKILL.
    // SAFETY: the hook only makes async-signal-safe syscalls (prctl, getppid, _exit).
    unsafe { c.pre_exec(crate::process::die_with_parent_hook()) };
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("valgrind is not installed (or not on PATH): {INSTALL_HINT}")
        }
        Err(e) => return Err(e).context("cannot start valgrind"),
    };
    let pid = child.id();
    // Ctrl-C reaches valgrind too: it stops the program and still writes its output, which is
    // then worth analysing. So rprof itself ignores SIGINT until valgrind is done. (Ignoring
    // only after the spawn keeps the program's own SIGINT handling intact.)
    // SAFETY: plain libc call with a valid signal number and handler constant.
    let old = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let status = child.wait();
    // SAFETY: restores the disposition returned above.
    unsafe { libc::signal(libc::SIGINT, old) };
    let status = status.context("waiting for valgrind")?;
    let path = match &args.keep {
        Some(k) => k.clone(),
        None => format!("massif.out.{pid}"),
    };
    let written = private.path().join(base.replace("%p", &pid.to_string()));
    // Only what valgrind wrote counts: a file already at the final name is not its output.
    if !written.exists() {
        bail!(
            "valgrind exited ({status}) without writing {path}; check its messages above (is `{}` a program valgrind can run?)",
            args.command.first().map_or("", |s| s.as_str())
        );
    }
    // The exit report's options name rprof's private directory, gone after this run: the
    // kept file's desc: line shows the options as the user gave them.
    let internal = exit_dir
        .as_ref()
        .map(|d| {
            format!(
                " --xtree-memory=allocs --xtree-memory-file={}",
                d.path().display()
            )
        })
        .unwrap_or_default();
    place_massif_output(
        &written,
        &private_arg,
        &out_arg,
        &internal,
        Path::new(&path),
    )?;
    if !status.success() {
        let how = if status.signal() == Some(libc::SIGINT) {
            "was interrupted".to_string()
        } else {
            format!("exited with {status}")
        };
        eprintln!("rprof: the command {how}; analysing what massif recorded");
    }
    eprintln!("rprof: massif output kept in {path}");
    // valgrind ends the way the program did: killed by the same signal, or exiting with its
    // status.
    let killed_by = status.signal().map(crate::record::target::signal_name);
    let report = exit_dir
        .filter(|d| d.path().is_file())
        .map(|d| (d, killed_by));
    Ok((path, report))
}

/// Moves massif's output from the private directory to `path` (replacing a symlink there
/// rather than following it), with its `desc:` line naming the file as the user gave it, not
/// the private directory. Streamed: massif files can be large.
fn place_massif_output(
    written: &Path,
    private_arg: &str,
    out_arg: &str,
    internal: &str,
    path: &Path,
) -> Result<()> {
    use std::io::{BufRead, BufReader};
    let f = std::fs::File::open(written)
        .with_context(|| format!("cannot read {}", written.display()))?;
    let mut r = BufReader::with_capacity(1 << 16, f);
    let from = format!("--massif-out-file={private_arg}");
    let to = format!("--massif-out-file={out_arg}");
    crate::output::write_atomically_with(path, &mut |w| {
        // The desc: lines come first; the rest is copied as it is.
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            if !line.starts_with(b"desc:") {
                w.write_all(&line)?;
                break;
            }
            match String::from_utf8_lossy(&line) {
                l if l.contains(&from) => {
                    let l = l.replacen(&from, &to, 1);
                    let l = if internal.is_empty() {
                        l
                    } else {
                        l.replacen(internal, "", 1)
                    };
                    w.write_all(l.as_bytes())?
                }
                _ => w.write_all(&line)?,
            }
        }
        std::io::copy(&mut r, w).map(|_| ())
    })
    .with_context(|| format!("cannot write {}", path.display()))
}

fn output(
    args: &MassifArgs,
    m: &Massif,
    name: &str,
    at_exit: Option<massif::model::AtExit>,
) -> Result<()> {
    // Pictures first, so a bad --snapshot fails before anything is printed.
    let chosen = if args.flamegraph.is_some() || args.folded {
        Some(convert::choose_snapshot(m, args.snapshot)?)
    } else {
        None
    };
    if let (Some(path), Some(idx)) = (&args.flamegraph, chosen) {
        let folded = convert::folded(m, idx, name)?;
        let s = &m.snapshots[idx];
        let which = if Some(idx) == m.peak_index() {
            " (peak)"
        } else {
            ""
        };
        let o = SvgOptions {
            title: format!("Heap: {}", m.cmd),
            subtitle: Some(format!(
                "{name}, snapshot {}{which}: {} B useful heap",
                s.num,
                crate::render::thousands(s.heap)
            )),
            colors: "mem".into(),
            count_name: "bytes".into(),
            ..SvgOptions::default()
        };
        let svg = fg::render(folded.lines(), &o)?;
        write_atomically(Path::new(path), &svg)
            .with_context(|| format!("cannot write '{path}'"))?;
        eprintln!("rprof: wrote {path}");
    }
    if let Some(path) = &args.chart {
        let svg = chart::render(m, name, args.top.max(1));
        write_atomically(Path::new(path), svg.as_bytes())
            .with_context(|| format!("cannot write '{path}'"))?;
        eprintln!("rprof: wrote {path}");
    }
    let stdout = std::io::stdout();
    let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
    if let (true, Some(idx)) = (args.folded, chosen) {
        w.write_all(convert::folded(m, idx, name)?.as_bytes())?;
    } else if args.format == MassifFormat::Json {
        serde_json::to_writer(&mut w, m).context("writing JSON")?;
        w.write_all(b"\n")?;
    } else {
        let o = text::TextOptions {
            threshold: args.threshold,
            graph_x: usize::from(args.graph_x),
            graph_y: usize::from(args.graph_y),
            top: args.top,
            input_name: name.to_string(),
            at_exit,
        };
        w.write_all(text::summary(m, &o).as_bytes())?;
        if !args.summary_only {
            text::write_ms_print(&mut w, m, &o)?;
        }
    }
    w.flush()?;
    Ok(())
}
