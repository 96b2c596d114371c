//! One module per subcommand; `run` dispatches the parsed command line.

pub mod convert;
pub mod diff;
pub mod flamegraph;
pub mod generate;
pub mod heap;
pub mod list;
pub mod massif;
pub mod record;
pub mod report;
pub mod strace_summary;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs the chosen subcommand and returns the process exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Record(a) => record::run(a),
        Command::Report(a) => report::run(a),
        Command::Flamegraph(a) => flamegraph::run(a),
        Command::Diff(a) => diff::run(a),
        Command::StraceSummary(a) => strace_summary::run(a),
        Command::Massif(a) => massif::run(a),
        Command::Heap(a) => heap::run(a),
        Command::Convert(a) => convert::run(a),
        Command::List(a) => list::run(a),
        Command::Completions(a) => generate::run_completions(a),
        Command::GenerateAssets(a) => generate::run(a),
    }
}
