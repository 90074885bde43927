//! Errors that end a command, and the exit code each maps to.

use std::fmt;

use crate::diag::Diagnostic;
use crate::draft::DraftError;
use crate::sources::SourceError;
use crate::state::StateError;

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
    /// The history of runs (`--state`) could not be opened, read or
    /// written (exit 2).
    State(StateError),
    /// Problems in the exceptions file (exit 2).
    Exceptions(Vec<Diagnostic>),
    /// A draft was refused or could not be rendered (exit 2).
    Draft(DraftError),
    /// The findings of an earlier audit (`draft --findings`) could not be
    /// read (exit 2).
    Findings(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Source(_) => 3,
            Error::Usage(_)
            | Error::Config(_)
            | Error::Policy(_)
            | Error::Output(_)
            | Error::State(_)
            | Error::Exceptions(_)
            | Error::Draft(_)
            | Error::Findings(_) => 2,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Output(m) | Error::Findings(m) => f.write_str(m),
            Error::State(e) => write!(f, "{e}"),
            Error::Draft(e) => write!(f, "{e}"),
            Error::Exceptions(ds) => f.write_str(&crate::exceptions::format_diagnostics(ds)),
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

impl From<StateError> for Error {
    fn from(e: StateError) -> Self {
        Error::State(e)
    }
}

impl From<DraftError> for Error {
    fn from(e: DraftError) -> Self {
        Error::Draft(e)
    }
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Self {
        Error::Source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_exceptions_and_draft_errors_are_set_up_mistakes() {
        let state = Error::from(StateError("state.db: is a directory".into()));
        assert_eq!(state.exit_code(), 2);
        assert_eq!(state.to_string(), "state.db: is a directory");
        let draft = Error::from(DraftError::Refused("no IMY finding".into()));
        assert_eq!(draft.exit_code(), 2);
        assert_eq!(draft.to_string(), "no IMY finding");
        let exceptions = Error::Exceptions(vec![Diagnostic {
            file: "undantag.toml".into(),
            line: 1,
            col: 1,
            message: "[[exception]] has no `reason`".into(),
            help: None,
        }]);
        assert_eq!(exceptions.exit_code(), 2);
        assert!(
            exceptions
                .to_string()
                .ends_with("1 problem in the exceptions file"),
            "{exceptions}"
        );
    }
}
