//! Hidden `generate-assets` subcommand: writes shell completions and man pages from the clap
//! definitions, so they can never drift from the real flags.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;

/// Flags of `rprof generate-assets`.
#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Directory under which `completions/` and `man/` are written.
    #[arg(long = "dir", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
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
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "rprof", &mut buf);
        out.push((format!("completions/{name}"), buf));
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

/// Runs `rprof generate-assets`.
pub fn run(args: GenerateArgs) -> Result<ExitCode> {
    write_all(&args.dir)?;
    eprintln!(
        "rprof: wrote completions/ and man/ under '{}'",
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
