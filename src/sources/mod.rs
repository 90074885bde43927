//! Sources: readers that turn exports and directories into records of the
//! [`Inventory`](crate::inventory::Inventory). Each reader fails closed: a
//! source that cannot be read completely is an error, never a partial
//! inventory.

pub mod access_log;
pub mod cells;
pub mod csv;
pub mod directory;
pub mod ldap;
pub mod ldif;
pub mod values;

use std::fmt;

/// A source that could not be read completely (exit code 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// `file:line`, `file`, or the server.
    pub location: String,
    pub message: String,
    pub help: Option<String>,
}

impl SourceError {
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        SourceError {
            location: location.into(),
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Locations and messages quote values from exports: their control
        // characters are shown escaped, never sent to the terminal.
        use crate::text::escape_controls;
        write!(
            f,
            "{}: {}",
            escape_controls(&self.location),
            escape_controls(&self.message)
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {}", escape_controls(help))?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceError {}
