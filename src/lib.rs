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
pub mod plan;
pub mod policy;
pub mod report;
pub mod rules;
pub mod schema;
pub mod sources;
pub mod state;
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
