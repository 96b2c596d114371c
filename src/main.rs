//! rprof: one Linux binary for sampling profiles, reports, flame graphs, diffs, syscall
//! summaries and heap profiles. `main` parses, dispatches, prints errors and sets the exit code.

use std::process::ExitCode;

use clap::Parser;

use rprof::{cli, cmd};

fn main() -> ExitCode {
    // A closed stdout (`rprof report | head`) must end quietly, not with a panic from println.
    // An inherited ignored SIGCHLD would make the kernel reap launched commands itself, and
    // their exit status could not be reported.
    // SAFETY: resetting SIGPIPE and SIGCHLD to their default actions before any thread is
    // started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
    }
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("rprof: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
