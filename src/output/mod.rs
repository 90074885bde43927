//! Outputs: the last stage of the pipeline. Each format writes a
//! [`Report`] to a writer, finding by finding where it lists findings (no
//! format builds one tree of all findings in memory); sending that writer
//! to a file (atomically, owner-only), a device or a pipe, or standard
//! output happens in one place.

pub mod csv;
pub mod html;
pub mod md;
pub mod pretty;
pub mod sarif;
pub mod table;
pub mod view;

use std::io::{self, BufWriter, Write};
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

    /// The format's name, as `--format` takes it.
    pub fn id(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Sarif => "sarif",
            Format::Html => "html",
            Format::Md => "md",
        }
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
    let mut out = Vec::new();
    write_styled(
        report,
        format,
        style,
        crate::cli::CsvStyle::Standard,
        &mut out,
    )
    .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Writes a report to `out`; `style` only affects the table, `csv_style`
/// only the CSV. An error is the writer's, or (as [`io::ErrorKind::Other`])
/// a format's that could not render.
pub fn write_styled(
    report: &Report,
    format: Format,
    style: Style,
    csv_style: crate::cli::CsvStyle,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => out.write_all(
            table::render_filtered(report, style.color, style.width, style.only).as_bytes(),
        ),
        Format::Json => report.write_json(out),
        Format::Csv => csv::write(report, csv_style, out),
        Format::Sarif => sarif::write(report, out),
        Format::Html => html::write(report, out),
        Format::Md => md::write(report, out),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder
/// that is renamed into place: readers see the old file or the whole new
/// one, never a part. The file is created owner-only (0600).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |out| out.write_all(bytes))
}

/// What [`write_atomic`] does, with the content written by `write` into a
/// buffered writer as it comes: the whole file is never in memory.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    // A device or a pipe (`--output /dev/null`, `/dev/stdout`, a FIFO) is
    // written to, never replaced: renaming a file over `/dev/null` as
    // root would turn the device into a file for every other program.
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() && !meta.is_dir() {
            let file = std::fs::OpenOptions::new().write(true).open(path)?;
            let mut out = BufWriter::with_capacity(1 << 16, file);
            write(&mut out)?;
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
    let tmp = builder.tempfile_in(dir)?;
    let syncing = tmp.as_file().try_clone()?;
    std::thread::scope(|scope| {
        // What is written goes to the disk while the rest is made, a few
        // megabytes at a time, on a thread of its own: a report of tens of
        // megabytes would otherwise wait for all of it at the end.
        let (written, to_sync) = std::sync::mpsc::channel::<()>();
        let syncer = scope.spawn(move || -> io::Result<()> {
            while to_sync.recv().is_ok() {
                // Requests that came meanwhile are served by this one.
                while to_sync.try_recv().is_ok() {}
                syncing.sync_data()?;
            }
            Ok(())
        });
        let wrote = (|| {
            let file = Syncing {
                file: tmp.as_file(),
                since: 0,
                written: &written,
            };
            let mut out = BufWriter::with_capacity(1 << 16, file);
            write(&mut out)?;
            out.flush()
        })();
        drop(written);
        let synced = syncer
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        // A failed write says why first; a failed sync fails the file too:
        // the system may have dropped what it could not write.
        wrote.and(synced)
    })?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Bytes written to a file before the syncing thread is asked to put them
/// on the disk.
const SYNC_EVERY: u64 = 8 << 20;

/// A file that asks for a sync every [`SYNC_EVERY`] bytes written.
struct Syncing<'a> {
    file: &'a std::fs::File,
    since: u64,
    written: &'a std::sync::mpsc::Sender<()>,
}

impl Write for Syncing<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.since += n as u64;
        if self.since >= SYNC_EVERY {
            self.since = 0;
            // The syncing thread ends only after the last write.
            let _ = self.written.send(());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Owner read and write only. (`tempfile` creates files this way on Unix;
/// saying it here keeps that a decision of ours.)
#[cfg(unix)]
fn owner_only() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report of tens of megabytes, synced to the disk as it is
    /// written, is the whole report once in place; a write that fails
    /// leaves the old file as it was and no temporary file beside it.
    #[test]
    fn large_outputs_are_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rapport.json");
        std::fs::write(&path, "old").expect("old report");
        let line = b"0123456789abcdef0123456789abcdef0123456789abcdef012345678\n";
        let lines = (20 << 20) / line.len();
        write_atomic_with(&path, |out| {
            for _ in 0..lines {
                out.write_all(line)?;
            }
            Ok(())
        })
        .expect("written");
        let written = std::fs::read(&path).expect("report");
        assert_eq!(written.len(), lines * line.len());
        assert!(written.chunks(line.len()).all(|l| l == line));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let failed = write_atomic_with(&path, |out| {
            for _ in 0..lines {
                out.write_all(line)?;
            }
            Err(io::Error::other("the disk is full"))
        });
        assert_eq!(
            failed.map_err(|e| e.to_string()),
            Err("the disk is full".to_string())
        );
        assert_eq!(std::fs::read(&path).expect("report"), written);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["rapport.json"]);
    }

    #[test]
    fn format_ids_are_what_format_takes() {
        for id in ["table", "json", "csv", "sarif", "html", "md"] {
            assert_eq!(Format::from_id(id).map(Format::id), Some(id));
        }
    }
}
