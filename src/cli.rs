//! Command-line definitions (clap derive). Each subcommand's flags live next to its code in
//! `cmd/`; this file only assembles them, so help, man pages and completions share one source.

use clap::{Parser, Subcommand};

use crate::cmd;

/// rprof: sample call stacks, and turn stacks, syscalls and heap profiles into reports and
/// flame graphs.
#[derive(Parser, Debug)]
#[command(name = "rprof", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Sample call stacks of a process or command into a data file (default rprof.data).
    Record(cmd::record::RecordArgs),
    /// Show the hot functions, self and total, from any stack source.
    Report(cmd::report::ReportArgs),
    /// Render a flame graph (SVG) from any stack source, or record and render in one go.
    Flamegraph(cmd::flamegraph::FlamegraphArgs),
    /// Compare two profiles: differential flame graph and a table of what changed.
    Diff(cmd::diff::DiffArgs),
    /// Summarise system calls like `strace -c`, from perf tracepoints or ptrace.
    StraceSummary(cmd::strace_summary::StraceArgs),
    /// Analyse a heap profile from valgrind's massif, or run massif on a command.
    Massif(cmd::massif::MassifArgs),
    /// Profile a command's heap natively (no valgrind): peak, leaks, busiest and temporary
    /// allocation sites, with stacks; massif, pprof and folded output.
    Heap(cmd::heap::HeapArgs),
    /// Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof
    /// data file, pprof or folded stacks.
    Convert(cmd::convert::ConvertArgs),
    /// List the events this machine can record with `record -e`, grouped like `perf list`.
    List(cmd::list::ListArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(cmd::generate::CompletionsArgs),
    /// Regenerate the shell completions and man pages (for maintainers).
    #[command(hide = true)]
    GenerateAssets(cmd::generate::GenerateArgs),
}
