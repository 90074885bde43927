//! How the program speaks to the person at the terminal, decided once when
//! the command line is read: how much it says on standard error (`-q` only
//! errors, `-v` also what was read, from where and how long it took),
//! whether the table is coloured (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`,
//! `TERM=dumb`), and how wide the table is (the terminal's width, 80 when
//! standard output is not a terminal).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal, unless `NO_COLOR` is set
    /// or `TERM=dumb`; `CLICOLOR_FORCE` colours even a pipe.
    #[default]
    Auto,
    /// Colour, even in a pipe or a file.
    Always,
    /// Never colour.
    Never,
}

/// How much goes to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet = 0,
    /// Warnings and the one-line summary.
    Normal = 1,
    /// `-v`: also what was read, from where, and how long it took.
    Verbose = 2,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);
static COLOR: AtomicU8 = AtomicU8::new(ColorChoice::Auto as u8);

/// Sets `--color` for the rest of the run.
pub fn set_color_choice(choice: ColorChoice) {
    COLOR.store(choice as u8, Ordering::Relaxed);
}

/// The `--color` of this run.
pub fn color_choice() -> ColorChoice {
    match COLOR.load(Ordering::Relaxed) {
        x if x == ColorChoice::Always as u8 => ColorChoice::Always,
        x if x == ColorChoice::Never as u8 => ColorChoice::Never,
        _ => ColorChoice::Auto,
    }
}

/// Sets the verbosity for the rest of the run.
pub fn set_verbosity(v: Verbosity) {
    VERBOSITY.store(v as u8, Ordering::Relaxed);
}

pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// One line on standard error; a closed stderr ends it quietly.
fn line(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    // Messages quote names and values from exports: their control
    // characters are shown escaped. A closed pipe ends the line quietly.
    let text = text.to_string();
    let _ = writeln!(
        std::io::stderr().lock(),
        "{}",
        crate::text::escape_controls(&text)
    );
}

/// A warning on standard error, unless `-q`.
pub fn warn(message: impl std::fmt::Display) {
    if verbosity() >= Verbosity::Normal {
        line(format_args!("warning: {message}"));
    }
}

/// A line of information on standard error, unless `-q`.
pub fn info(message: impl std::fmt::Display) {
    if verbosity() >= Verbosity::Normal {
        line(format_args!("{message}"));
    }
}

/// What `-v` adds: what was read, from where, how long it took.
pub fn note(message: impl std::fmt::Display) {
    if verbosity() >= Verbosity::Verbose {
        line(format_args!("behorig: {message}"));
    }
}

/// With `-v`: a step of the run, how long it took since `started`, and
/// (where the system says) the process's memory now and at its peak.
pub fn phase(what: impl std::fmt::Display, started: std::time::Instant) {
    if verbosity() < Verbosity::Verbose {
        return;
    }
    let elapsed = started.elapsed();
    match memory() {
        Some((now, peak)) => note(format_args!(
            "{what} in {elapsed:.0?} (memory {:.1} MB, peak {:.1} MB)",
            now as f64 / 1e6,
            peak as f64 / 1e6
        )),
        None => note(format_args!("{what} in {elapsed:.0?}")),
    }
}

/// The process's resident memory now and at its peak, in bytes, from
/// `/proc/self/status`; `None` where there is no such file.
fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        let n: u64 = line[key.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(n * 1024)
    };
    Some((kb("VmRSS:")?, kb("VmHWM:")?))
}

/// The environment variables the colour decision reads, gathered so that
/// the decision itself is a pure function.
#[derive(Debug, Clone, Default)]
pub struct ColorEnv {
    pub no_color: bool,
    pub clicolor_force: bool,
    pub term_dumb: bool,
}

impl ColorEnv {
    pub fn from_process() -> ColorEnv {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        ColorEnv {
            no_color: set("NO_COLOR"),
            clicolor_force: set("CLICOLOR_FORCE")
                && std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
            term_dumb: std::env::var_os("TERM").is_some_and(|v| v == "dumb"),
        }
    }
}

/// Whether to colour: `always` and `never` decide alone; `auto` colours a
/// terminal, never a file, and follows `NO_COLOR` (no colour),
/// `CLICOLOR_FORCE` (colour even when piped) and `TERM=dumb` (no colour),
/// `NO_COLOR` first.
pub fn use_color(choice: ColorChoice, env: &ColorEnv, terminal: bool, to_file: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if to_file || env.no_color {
                false
            } else if env.clicolor_force {
                true
            } else {
                terminal && !env.term_dumb
            }
        }
    }
}

/// The width the table fills when standard output is not a terminal.
pub const DEFAULT_WIDTH: u16 = 80;

/// The narrowest table drawn, however narrow the terminal.
const MIN_WIDTH: u16 = 40;

/// The width of the terminal on standard output (`COLUMNS` when it is set,
/// as shells do after a resize), or 80 when standard output is not a
/// terminal or the output goes to a file.
pub fn table_width(to_file: bool) -> u16 {
    if to_file || !std::io::stdout().is_terminal() {
        return DEFAULT_WIDTH;
    }
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok());
    let columns = from_env.or_else(|| {
        console::Term::stdout()
            .size_checked()
            .map(|(_rows, columns)| columns)
    });
    columns.unwrap_or(DEFAULT_WIDTH).max(MIN_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(no_color: bool, clicolor_force: bool, term_dumb: bool) -> ColorEnv {
        ColorEnv {
            no_color,
            clicolor_force,
            term_dumb,
        }
    }

    #[test]
    fn auto_colours_a_terminal_only() {
        let plain = env(false, false, false);
        assert!(use_color(ColorChoice::Auto, &plain, true, false));
        assert!(!use_color(ColorChoice::Auto, &plain, false, false));
        assert!(!use_color(ColorChoice::Auto, &plain, true, true));
    }

    #[test]
    fn the_environment_decides_auto() {
        assert!(!use_color(
            ColorChoice::Auto,
            &env(true, false, false),
            true,
            false
        ));
        assert!(!use_color(
            ColorChoice::Auto,
            &env(false, false, true),
            true,
            false
        ));
        assert!(use_color(
            ColorChoice::Auto,
            &env(false, true, false),
            false,
            false
        ));
        assert!(use_color(
            ColorChoice::Auto,
            &env(false, true, true),
            false,
            false
        ));
        // NO_COLOR wins over CLICOLOR_FORCE.
        assert!(!use_color(
            ColorChoice::Auto,
            &env(true, true, false),
            true,
            false
        ));
    }

    #[test]
    fn always_and_never_override_the_environment() {
        assert!(use_color(
            ColorChoice::Always,
            &env(true, false, true),
            false,
            true
        ));
        assert!(!use_color(
            ColorChoice::Never,
            &env(false, true, false),
            true,
            false
        ));
    }
}
