//! Access logs: the CSV exports in which journal systems, statistics
//! databases and file servers record who opened what and when. They are
//! read after evaluation, as evidence of whether the access a finding is
//! about was used (see [`crate::evidence`]).
//!
//! A log is read with the same machinery as the inventory's CSV exports
//! (encoding, delimiter, preamble lines, bounded rows, refused cells: see
//! [`crate::sources::csv`]) and fails closed in the same way: a row that
//! cannot be read stops the audit at its line. Its rows are streamed to
//! a visitor in file order, in small batches handed from the parsing
//! thread to a second one, and never kept: logs are the largest input.

use std::io::Read;
use std::ops::Range;
use std::path::Path;

use chrono::NaiveDateTime;

use crate::sources::cells;
use crate::sources::csv::{classify_header, fold_header, Column, Opened, RowConsumer};
use crate::sources::values::parse_datetime;
use crate::sources::SourceError;

/// What a column of an access log means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LogColumn {
    Account,
    DataSource,
    Time,
    Scope,
    Action,
    Record,
}

impl LogColumn {
    fn name(self) -> &'static str {
        match self {
            LogColumn::Account => "account",
            LogColumn::DataSource => "data_source",
            LogColumn::Time => "time",
            LogColumn::Scope => "scope",
            LogColumn::Action => "action",
            LogColumn::Record => "record",
        }
    }
}

/// Headers only access logs have. They are looked up here, never in the
/// inventory's alias table: a column `Post` in an account export is an
/// ordinary attribute.
const LOG_ALIASES: &[(&[&str], LogColumn)] = &[
    (
        &[
            "time",
            "timestamp",
            "datetime",
            "eventtime",
            "date",
            "tid",
            "tidpunkt",
            "tidsstampel",
            "datum",
            "datumtid",
            "loggtid",
            "handelsetid",
        ],
        LogColumn::Time,
    ),
    (
        &[
            "action",
            "event",
            "eventtype",
            "operation",
            "activity",
            "handelse",
            "handelsetyp",
            "atgard",
            "aktivitet",
        ],
        LogColumn::Action,
    ),
    (
        &[
            "record",
            "recordid",
            "object",
            "objectid",
            "arende",
            "arendeid",
            "arendenummer",
            "arendenr",
            "post",
            "postid",
            "journal",
            "journalid",
            "akt",
        ],
        LogColumn::Record,
    ),
];

/// What a header of an access log means: the log's own aliases, then
/// those of account, data source and scope that every export shares.
fn classify(header: &str) -> Option<LogColumn> {
    let folded = fold_header(header);
    if let Some((_, column)) = LOG_ALIASES
        .iter()
        .find(|(names, _)| names.contains(&folded.as_str()))
    {
        return Some(*column);
    }
    match classify_header(header) {
        Column::Account => Some(LogColumn::Account),
        Column::DataSource => Some(LogColumn::DataSource),
        Column::Scope => Some(LogColumn::Scope),
        _ => None,
    }
}

/// One row of an access log, borrowed from the reader for the time of a
/// visit.
#[derive(Debug, Clone, Copy)]
pub struct LogEvent<'r> {
    /// The log file and the row's line, for messages.
    pub file: &'r str,
    pub line: usize,
    pub account: &'r str,
    pub data_source: &'r str,
    /// Empty when the log has no scope column or the row none.
    pub scope: &'r str,
    pub time: NaiveDateTime,
    pub action: &'r str,
    pub record: &'r str,
}

/// Reads the access log at `path`, handing each row to `visit` in file
/// order (on a thread of its own, while this one parses). Returns the
/// number of rows.
pub fn read_file<F: FnMut(&LogEvent<'_>) + Send>(
    path: &Path,
    visit: F,
) -> Result<u64, SourceError> {
    crate::sources::csv::read_path(path, "--access-log", LogReader { visit })
}

/// Reads an access log from bytes in any supported encoding; `name` is
/// used in messages.
pub fn read_bytes<F: FnMut(&LogEvent<'_>) + Send>(
    name: &str,
    bytes: &[u8],
    visit: F,
) -> Result<u64, SourceError> {
    crate::sources::csv::read_stream(
        name,
        "--access-log",
        bytes,
        Some(bytes.len() as u64),
        LogReader { visit },
    )
}

struct LogReader<F> {
    visit: F,
}

impl<F: FnMut(&LogEvent<'_>) + Send> RowConsumer for LogReader<F> {
    type Output = u64;

    fn consume<R: Read + Send>(mut self, opened: Opened<'_, R>) -> Result<u64, SourceError> {
        let Opened {
            mut records,
            headers,
            header_line,
            ..
        } = opened;
        let name = records.name().to_string();
        let mut columns: [Option<usize>; 6] = [None; 6];
        let slot = |c: LogColumn| c as usize;
        for (i, header) in headers.iter().enumerate() {
            let Some(column) = classify(header) else {
                continue;
            };
            if let Some(first) = columns[slot(column)] {
                return Err(SourceError::new(
                    format!("{name}:{header_line}"),
                    format!(
                        "the header has two `{}` columns (`{}` and `{}`)",
                        column.name(),
                        headers.get(first).unwrap_or("").trim(),
                        header.trim()
                    ),
                )
                .with_help("keep one column per meaning, or rename the extra one"));
            }
            columns[slot(column)] = Some(i);
        }
        let missing: Vec<&str> = [LogColumn::Account, LogColumn::DataSource, LogColumn::Time]
            .into_iter()
            .filter(|c| columns[slot(*c)].is_none())
            .map(LogColumn::name)
            .collect();
        if !missing.is_empty() {
            let found: Vec<&str> = headers.iter().map(str::trim).collect();
            return Err(SourceError::new(
                format!("{name}:{header_line}"),
                format!(
                    "not an access log: the header `{}` has no {} column",
                    found.join(", "),
                    missing.join(", ")
                ),
            )
            .with_help(
                "an access log has the columns `account`, `data_source` and `time` \
                 (or Användare, Källa/System, Tidpunkt), and may have `scope`, `action`, `record`",
            ));
        }
        let header_of = |c: LogColumn| {
            columns[slot(c)]
                .and_then(|i| headers.get(i))
                .unwrap_or(c.name())
                .trim()
                .to_string()
        };
        let [account, data_source, time, scope, action, record] = columns;
        let visit = &mut self.visit;
        let file = name.as_str();
        // Two threads: this one parses and checks the rows, the other hands
        // them to the visitor, in file order, in batches.
        std::thread::scope(|threads| {
            let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(4);
            let time_header = header_of(LogColumn::Time);
            // The visitor parses the times: a row whose time is not one
            // stops it, and its error is the read's (rows come in order,
            // so it is before any row the parser stopped at).
            let visitor = threads.spawn(move || -> Result<(), SourceError> {
                for batch in receiver {
                    let text = batch.text.as_str();
                    let field =
                        |r: &Range<u32>| text.get(r.start as usize..r.end as usize).unwrap_or("");
                    for r in &batch.rows {
                        let when = field(&r.fields[5]);
                        let Some(time) = parse_datetime(when) else {
                            return Err(SourceError::new(
                                format!("{file}:{}", r.line),
                                format!(
                                    "`{}` is not a time (column `{time_header}`)",
                                    crate::text::escape_controls(when),
                                ),
                            )
                            .with_help(
                                "expected a date and time such as 2026-11-02 08:07:13 (or RFC 3339)",
                            ));
                        };
                        visit(&LogEvent {
                            file,
                            line: r.line,
                            account: field(&r.fields[0]),
                            data_source: field(&r.fields[1]),
                            scope: field(&r.fields[2]),
                            time,
                            action: field(&r.fields[3]),
                            record: field(&r.fields[4]),
                        });
                    }
                }
                Ok(())
            });
            let mut rows = 0u64;
            let mut batch = Batch::default();
            let parsed = loop {
                let (line, row) = match records.next_row() {
                    Ok(Some(next)) => next,
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                };
                rows += 1;
                let at = || format!("{name}:{line}");
                let who = row.get(account);
                if who.is_empty() {
                    break Err(empty(at(), &header_of(LogColumn::Account)));
                }
                if let Some(c) = cells::control_in_name(who) {
                    break Err(SourceError::new(
                        at(),
                        format!(
                            "the `{}` name holds the control character U+{:04X}: a name is one line of text",
                            header_of(LogColumn::Account),
                            c as u32
                        ),
                    )
                    .with_help("export the log again, or remove the character from the name"));
                }
                let source = row.get(data_source);
                if source.is_empty() {
                    break Err(empty(at(), &header_of(LogColumn::DataSource)));
                }
                let when = row.get(time);
                if when.is_empty() {
                    break Err(empty(at(), &header_of(LogColumn::Time)));
                }
                // The row's text is copied once; its fields are ranges of it.
                let base = batch.text.len();
                batch.text.push_str(row.text());
                let mut fields: [Range<u32>; 6] = Default::default();
                for (slot, span) in fields.iter_mut().zip([
                    row.span(account),
                    row.span(data_source),
                    row.span(scope),
                    row.span(action),
                    row.span(record),
                    row.span(time),
                ]) {
                    *slot = (base + span.start) as u32..(base + span.end) as u32;
                }
                batch.rows.push(BatchRow { line, fields });
                if batch.rows.len() == BATCH_ROWS || batch.text.len() > BATCH_TEXT {
                    let full = std::mem::replace(&mut batch, Batch::with_capacity());
                    if sender.send(full).is_err() {
                        break Ok(());
                    }
                }
            };
            // Sent after an error too: a time before it that is not one
            // is the first problem of the file.
            if !batch.rows.is_empty() {
                let _ = sender.send(batch);
            }
            drop(sender);
            visitor
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))?;
            parsed.map(|()| rows)
        })
    }
}

/// Rows per batch from the parsing thread to the visiting one.
const BATCH_ROWS: usize = 1024;
/// A batch is sent once its text passes this, whatever its rows.
const BATCH_TEXT: usize = 64 << 20;

/// Rows on their way to the visitor: their fields are ranges of one text
/// (a batch stays well under 4 GiB: it is sent once its text passes
/// [`BATCH_TEXT`], and a row is at most 16 MiB).
#[derive(Default)]
struct Batch {
    text: String,
    rows: Vec<BatchRow>,
}

impl Batch {
    fn with_capacity() -> Batch {
        Batch {
            text: String::with_capacity(BATCH_ROWS * 96),
            rows: Vec::with_capacity(BATCH_ROWS),
        }
    }
}

struct BatchRow {
    line: usize,
    /// Account, data source, scope, action, record, time.
    fields: [Range<u32>; 6],
}

fn empty(at: String, column: &str) -> SourceError {
    SourceError::new(at, format!("the `{column}` field is empty"))
        .with_help("every row of an access log names the account, the data source and the time")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line, account, scope, time and record of each row.
    type Seen = (usize, String, String, String, String);

    fn read(text: &[u8]) -> Result<Vec<Seen>, SourceError> {
        let mut rows = Vec::new();
        read_bytes("logg.csv", text, |e| {
            rows.push((
                e.line,
                e.account.to_string(),
                e.scope.to_string(),
                e.time.to_string(),
                e.record.to_string(),
            ))
        })?;
        Ok(rows)
    }

    #[test]
    fn swedish_headers_semicolons_and_windows_1252_are_read() {
        let text = b"Anv\xe4ndare;K\xe4lla;Tidpunkt;Omr\xe5de;H\xe4ndelse;\xc4rende\r\n\
                     anna;statistikdatabas;2026-10-01 08:00:00;IFO;visa;\xc4-17\r\n";
        let rows = read(text).unwrap();
        assert_eq!(
            rows,
            vec![(
                2,
                "anna".into(),
                "IFO".into(),
                "2026-10-01 08:00:00".into(),
                "Ä-17".into()
            )]
        );
    }

    #[test]
    fn the_preamble_lines_count_toward_line_numbers() {
        let text = "#TYPE Logg\nsep=,\naccount,data_source,time\nanna,db,2026-10-01\n\nbo,db,nej\n";
        let e = read(text.as_bytes()).unwrap_err();
        assert_eq!(e.location, "logg.csv:6");
        assert!(e.message.contains("`nej` is not a time"), "{e}");
    }

    #[test]
    fn a_row_without_account_or_source_stops_the_read_at_its_line() {
        let e =
            read(b"account,data_source,time\nanna,db,2026-10-01\n,db,2026-10-02\n").unwrap_err();
        assert_eq!(e.location, "logg.csv:3");
        assert!(e.message.contains("`account` field is empty"), "{e}");
        let e = read(b"account,data_source,time\nanna,,2026-10-01\n").unwrap_err();
        assert_eq!(e.location, "logg.csv:2");
        assert!(e.message.contains("`data_source`"), "{e}");
    }

    #[test]
    fn rows_with_a_field_too_many_or_an_unclosed_quote_stop_the_read() {
        let e = read(b"account,data_source,time\nanna,db,2026-10-01,x\n").unwrap_err();
        assert_eq!(e.location, "logg.csv:2");
        let e = read(b"account,data_source,time\nanna,db,2026-10-01\n\"bo,db,2026-10-01\n")
            .unwrap_err();
        assert_eq!(e.location, "logg.csv:3");
        assert!(e.message.contains("never closed"), "{e}");
    }

    #[test]
    fn the_first_broken_row_is_the_one_reported() {
        let e = read(
            b"account,data_source,time\na,db,2026-10-01\nb,db,igar\nc,db,2026-10-02\nd,db,x,y\n",
        )
        .unwrap_err();
        assert_eq!(e.location, "logg.csv:3", "{e}");
        let e = read(b"account,data_source,time\na,db,2026-10-01\nb,db,2026-10-02,y\nc,db,igar\n")
            .unwrap_err();
        assert_eq!(e.location, "logg.csv:3", "{e}");
        assert!(e.message.contains("fields"), "{e}");
    }

    #[test]
    fn a_file_without_the_required_columns_is_not_a_log() {
        let e = read(b"account,data_source,role\nanna,db,Las\n").unwrap_err();
        assert_eq!(e.location, "logg.csv:1");
        assert!(e.message.contains("no time column"), "{e}");
        let e = read(b"account,anvandare,data_source,time\n").unwrap_err();
        assert!(e.message.contains("two `account` columns"), "{e}");
    }

    #[test]
    fn log_aliases_do_not_change_how_account_exports_are_read() {
        assert_eq!(classify("Post"), Some(LogColumn::Record));
        assert!(matches!(classify_header("Post"), Column::Other(_)));
        assert!(matches!(classify_header("Tidpunkt"), Column::Other(_)));
        assert!(matches!(classify_header("Händelse"), Column::Other(_)));
    }
}
