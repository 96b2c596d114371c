//! Hidden `generate-assets` subcommand: writes shell completions and man pages from the clap
//! definitions, so they can never drift from the real flags; and `rprof completions SHELL`,
//! which prints one completion script for users who install rprof with cargo. Neither the
//! completions nor the man pages mention the hidden maintainer subcommands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

use crate::cli::Cli;

/// Flags of `rprof generate-assets`.
#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Directory under which `completions/` and `man/` are written.
    #[arg(long = "dir", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// Flags of `rprof completions`.
#[derive(Args, Debug, Clone)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: CompletionShell,
}

/// The shells `rprof completions` writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// bash (bash-completion).
    Bash,
    /// zsh.
    Zsh,
    /// fish.
    Fish,
    /// elvish.
    Elvish,
    /// PowerShell.
    Powershell,
}

impl CompletionShell {
    fn shell(self) -> Shell {
        match self {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
            CompletionShell::Elvish => Shell::Elvish,
            CompletionShell::Powershell => Shell::PowerShell,
        }
    }
}

/// The command line users see: the clap definition without its hidden subcommands, which
/// clap_complete would otherwise offer (it completes hidden subcommands for some shells).
pub fn public_command() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new("rprof")
        .bin_name("rprof")
        .subcommand_required(full.is_subcommand_required_set())
        .arg_required_else_help(full.is_arg_required_else_help_set());
    if full.get_version().is_some() {
        cmd = cmd
            .version(env!("CARGO_PKG_VERSION"))
            .propagate_version(true);
    }
    if let Some(a) = full.get_about() {
        cmd = cmd.about(a.clone());
    }
    for a in full.get_arguments() {
        // clap adds --help and --version itself.
        if !matches!(a.get_id().as_str(), "help" | "version") {
            cmd = cmd.arg(a.clone());
        }
    }
    for s in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        cmd = cmd.subcommand(s.clone());
    }
    cmd
}

/// One shell's completion script.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut public_command(), "rprof", &mut buf);
    buf
}

/// Every generated file: relative path and content.
pub fn assets() -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "rprof.bash"),
        (Shell::Zsh, "_rprof"),
        (Shell::Fish, "rprof.fish"),
        (Shell::Elvish, "rprof.elv"),
        (Shell::PowerShell, "_rprof.ps1"),
    ] {
        out.push((format!("completions/{name}"), completion_script(shell)));
    }
    let cmd = Cli::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .context("rendering man page")?;
    out.push(("man/rprof.1".to_string(), buf));
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        let name = format!("rprof-{}", sub.get_name());
        let sub = sub
            .clone()
            .name(Box::leak(name.clone().into_boxed_str()) as &str);
        let mut buf = Vec::new();
        clap_mangen::Man::new(sub)
            .render(&mut buf)
            .context("rendering man page")?;
        out.push((format!("man/{name}.1"), buf));
    }
    Ok(out)
}

/// Writes every asset under `dir`.
pub fn write_all(dir: &Path) -> Result<()> {
    for (rel, content) in assets()? {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create '{}'", parent.display()))?;
        }
        std::fs::write(&path, content)
            .with_context(|| format!("cannot write '{}'", path.display()))?;
    }
    Ok(())
}

/// Runs `rprof completions SHELL`: the script on stdout.
pub fn run_completions(args: CompletionsArgs) -> Result<ExitCode> {
    use std::io::Write;
    let script = completion_script(args.shell.shell());
    let mut out = std::io::stdout().lock();
    match out.write_all(&script).and_then(|_| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // `rprof completions bash | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("writing the completion script"),
    }
}

/// Runs `rprof generate-assets`.
pub fn run(args: GenerateArgs) -> Result<ExitCode> {
    write_all(&args.dir)?;
    eprintln!(
        "rprof: wrote completions/ and man/ under '{}'",
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
