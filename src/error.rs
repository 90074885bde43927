//! Errors that end a command, and the exit code each maps to.

use std::fmt;

use crate::diag::Diagnostic;
use crate::sources::SourceError;

#[derive(Debug)]
pub enum Error {
    /// A wrong flag or missing input (exit 2).
    Usage(String),
    /// Problems in behorig.toml (exit 2).
    Config(Vec<Diagnostic>),
    /// Problems in policy files (exit 2).
    Policy(Vec<Diagnostic>),
    /// A source that could not be read completely (exit 3).
    Source(SourceError),
    /// The report could not be written (exit 2).
    Output(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Source(_) => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Output(m) => f.write_str(m),
            Error::Config(ds) | Error::Policy(ds) => {
                let what = if matches!(self, Error::Config(_)) {
                    "configuration"
                } else {
                    "policy"
                };
                for (i, d) in ds.iter().enumerate() {
                    if i > 0 {
                        f.write_str("error: ")?;
                    }
                    writeln!(f, "{d}")?;
                }
                write!(
                    f,
                    "{} {what} problem{} found",
                    ds.len(),
                    if ds.len() == 1 { "" } else { "s" }
                )
            }
            Error::Source(e) => write!(
                f,
                "{e}\nthe audit stopped: a source could not be read completely, so no report was written"
            ),
        }
    }
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Self {
        Error::Source(e)
    }
}
