//! Outputs: each format renders a [`Report`] to bytes; writing them to a
//! file (atomically, owner-only) or to standard output happens in one place.

pub mod csv;
pub mod html;
pub mod md;
pub mod sarif;
pub mod table;
pub mod view;

use std::io::Write;
use std::path::Path;

use crate::report::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
    Sarif,
    Html,
    Md,
}

impl Format {
    pub fn from_id(id: &str) -> Option<Format> {
        <Format as clap::ValueEnum>::from_str(id, true).ok()
    }
}

/// How the terminal table looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// The columns the table fills.
    pub width: u16,
    /// Only the findings whose access was used (or not used).
    pub only: Option<table::UseFilter>,
}

/// Renders a report. `color` only affects the table, which is 80 columns
/// wide.
pub fn render(report: &Report, format: Format, color: bool) -> Result<Vec<u8>, String> {
    render_styled(
        report,
        format,
        Style {
            color,
            width: crate::ui::DEFAULT_WIDTH,
            only: None,
        },
    )
}

/// Renders a report; `style` only affects the table.
pub fn render_styled(report: &Report, format: Format, style: Style) -> Result<Vec<u8>, String> {
    match format {
        Format::Table => {
            Ok(table::render_filtered(report, style.color, style.width, style.only).into_bytes())
        }
        Format::Json => {
            let mut out = serde_json::to_vec_pretty(&report.to_json())
                .map_err(|e| format!("cannot render JSON: {e}"))?;
            out.push(b'\n');
            Ok(out)
        }
        Format::Csv => csv::render(report),
        Format::Sarif => sarif::render(report),
        Format::Html => html::render(report),
        Format::Md => md::render(report),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder
/// that is renamed into place: readers see the old file or the whole new
/// one, never a part. The file is created owner-only (0600).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A device or a pipe (`--output /dev/null`, `/dev/stdout`, a FIFO) is
    // written to, never replaced: renaming a file over `/dev/null` as
    // root would turn the device into a file for every other program.
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() && !meta.is_dir() {
            let mut out = std::fs::OpenOptions::new().write(true).open(path)?;
            out.write_all(bytes)?;
            return out.flush();
        }
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".behorig-").suffix(".tmp");
    // Elsewhere the folder's access control list decides who reads it.
    #[cfg(unix)]
    builder.permissions(owner_only());
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Owner read and write only. (`tempfile` creates files this way on Unix;
/// saying it here keeps that a decision of ours.)
#[cfg(unix)]
fn owner_only() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o600)
}
