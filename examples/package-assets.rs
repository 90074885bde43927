//! Writes what the Debian package installs beside the binary: a man page
//! per command (`behorig.1`, `behorig-audit.1`, `behorig-policy-check.1`,
//! ...) and the bash, zsh and fish completions. Run by `scripts/package`:
//! `cargo run --example package-assets -- DIR`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: package-assets DIR");
        std::process::exit(2);
    };
    if let Err(e) = write_all(&dir) {
        eprintln!("error: {}: {e}", dir.display());
        std::process::exit(1);
    }
}

fn write_all(dir: &Path) -> std::io::Result<()> {
    let man = dir.join("man");
    let completions = dir.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;
    let mut cmd = behorig::cli::Cli::command();
    cmd.build();
    write_man(&cmd, &man)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, "behorig", &completions)?;
    }
    Ok(())
}

/// One page for the command and one for each subcommand, named as `man`
/// finds them: `man behorig-audit`, `man behorig-policy-check` (clap names
/// a built subcommand `behorig-audit` for display).
fn write_man(cmd: &clap::Command, dir: &Path) -> std::io::Result<()> {
    let name = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    std::fs::write(dir.join(format!("{name}.1")), out)?;
    for sub in cmd.get_subcommands() {
        if sub.get_name() != "help" {
            write_man(sub, dir)?;
        }
    }
    Ok(())
}
