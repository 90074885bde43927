//! The `behorig` binary: parse the command line, run, map the result to an
//! exit code.

use clap::Parser;

/// Reading a directory allocates and frees millions of small values, many
/// freed on another thread than the one that made them; mimalloc does
/// that faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = behorig::cli::Cli::parse();
    // The process ends with the command: what it read need not be freed.
    behorig::ends_with_command();
    let code = match behorig::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Multi-line messages (help lines) keep their line ends; the
            // values quoted in them have been escaped where they were made.
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr().lock(), "error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
