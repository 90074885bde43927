//! behorig audits who can reach which data: it reads accounts, groups and
//! role grants from exports and directories, checks them against
//! least-privilege policies written per data source, and reports every
//! account whose access is broader than a policy allows.
//!
//! The pipeline is the architecture:
//! [`sources`] → [`inventory`] → [`evaluate`] → [`findings`] (with
//! [`evidence`] from access logs) → [`report`] → [`output`]. Each stage owns its types and errors; data flows one way.

pub mod cli;
pub mod commands;
pub mod config;
pub mod diag;
pub mod draft;
pub mod error;
pub mod evaluate;
pub mod evidence;
pub mod exceptions;
pub mod findings;
pub mod intern;
pub mod inventory;
pub mod output;
pub mod pack;
pub mod parallel;
pub mod plan;
pub mod policy;
pub mod report;
pub mod rules;
pub mod schema;
pub mod sources;
pub mod state;
#[cfg(feature = "synth")]
pub mod synth;
pub mod text;
pub mod ui;

/// Writes one line to standard error, escaping the control characters of
/// text that came from exports, and never panics: a closed pipe
/// (`behorig audit 2>&1 | head`) ends the message quietly.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = format!($($arg)*);
        let _ = writeln!(std::io::stderr().lock(), "{}", $crate::text::escape_controls(&line));
    }};
}

/// The threads worth starting for work split across cores (at most 8).
/// Read once: the standard library reads the cgroup files on every call.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
}

/// Whether the process ends as soon as its command has: set by the
/// `behorig` binary, never by a program that uses the library.
static ENDS_WITH_COMMAND: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Tells the library that the process ends when its command does, so that
/// [`discard`] can leave large inputs to the operating system.
pub fn ends_with_command() {
    ENDS_WITH_COMMAND.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Gives up a value the command no longer needs. In the binary, whose
/// process ends right after the command, it is not freed piece by piece
/// (a large inventory or report is hundreds of thousands of allocations;
/// the operating system takes the memory back at exit); in a program that
/// uses the library it is dropped as usual. An audit that needs the
/// memory back (to unpack many findings) drops its inventory instead.
pub fn discard<T>(value: T) {
    if ENDS_WITH_COMMAND.load(std::sync::atomic::Ordering::Relaxed) {
        std::mem::forget(value);
    } else {
        drop(value);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    static DROPPED: AtomicBool = AtomicBool::new(false);

    struct Noted;

    impl Drop for Noted {
        fn drop(&mut self) {
            DROPPED.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_program_using_the_library_gets_discarded_values_freed() {
        super::discard(Noted);
        assert!(DROPPED.load(Ordering::SeqCst));
    }
}
