//! The `behorig` binary: parse the command line, run, map the result to an
//! exit code.

use clap::Parser;

fn main() {
    let cli = behorig::cli::Cli::parse();
    let code = match behorig::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
