//! The `behorig` binary: parse the command line, run, map the result to an
//! exit code.

use clap::Parser;

/// Reading a directory allocates and frees millions of small values, many
/// freed on another thread than the one that made them; mimalloc does
/// that faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its place in `mi_option_e`
/// (mimalloc.h, the same in mimalloc 2 and 3), which the bindings do not
/// name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    // Memory the allocator no longer uses goes back to the system at once,
    // not 10 ms later: reading an export frees its batches and buffers
    // while evaluation fills the findings, and with the delay both were
    // resident together (a 100,000-account audit with 35,000 findings
    // peaked at 83 MB instead of 60 MB, in the same time).
    // SAFETY: `mi_option_set` stores an integer option; no thread but
    // this one runs yet.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
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
