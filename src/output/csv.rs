//! `--format csv`: one row per finding, with who the account is (display
//! name, department, title) for reviewers to sort by, and every cell that a
//! spreadsheet would run as a formula made inert. `--csv-style excel`
//! writes semicolons and a UTF-8 BOM, as Excel with Swedish settings
//! expects.

use std::io::Write;

use crate::cli::CsvStyle;
use crate::report::Report;

pub const HEADER: [&str; 15] = [
    "id",
    "rule",
    "severity",
    "classification",
    "data_source",
    "account",
    "group",
    "accounts",
    "role",
    "scope",
    "via",
    "message",
    "display_name",
    "department",
    "title",
];

/// The columns that runs with access logs add: `used` is `yes`, `no`, or
/// empty when no log covers the finding's source (then the counts are
/// empty too). Record ids never appear, only their count.
pub const USE_HEADER: [&str; 6] = [
    "used",
    "use_events",
    "use_records",
    "use_first",
    "use_last",
    "use_accounts_used",
];

fn use_cells(f: &crate::findings::Finding) -> [String; 6] {
    match &f.usage {
        Some(Some(u)) => [
            if u.used() { "yes" } else { "no" }.to_string(),
            u.events.to_string(),
            u.records.to_string(),
            u.first.clone().unwrap_or_default(),
            u.last.clone().unwrap_or_default(),
            u.accounts_used.map(|n| n.to_string()).unwrap_or_default(),
        ],
        _ => Default::default(),
    }
}

/// Prefixes `'` to a cell that starts like a formula (`=`, `+`, `-`, `@`,
/// tab or carriage return), so that Excel shows it as text.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// The standard dialect: commas, UTF-8 without BOM.
pub fn render(report: &Report) -> Result<Vec<u8>, String> {
    render_styled(report, CsvStyle::Standard)
}

pub fn render_styled(report: &Report, style: CsvStyle) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write(report, style, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Findings per chunk a thread renders at a time.
const CHUNK: usize = 256;

/// Writes the CSV to `out`: the header, then the findings' rows rendered
/// on every core, a chunk at a time, and written in order.
pub fn write(
    report: &Report,
    style: CsvStyle,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let (delimiter, start): (u8, &[u8]) = match style {
        CsvStyle::Standard => (b',', b""),
        CsvStyle::Excel => (b';', "\u{feff}".as_bytes()),
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    out.write_all(start)?;
    let builder = {
        let mut b = ::csv::WriterBuilder::new();
        b.delimiter(delimiter);
        b
    };
    // With history, every row also says whether the finding is new and when
    // it was first seen.
    let history = report.history.is_some();
    // With access logs, every row also says whether the access was used.
    let logs = report.logs.is_some();
    let mut header: Vec<&str> = HEADER.to_vec();
    if history {
        header.extend(["status", "first_seen"]);
    }
    if logs {
        header.extend(USE_HEADER);
    }
    {
        let mut writer = builder.from_writer(&mut out);
        writer.write_record(&header).map_err(io_error)?;
        writer.flush()?;
    }
    let findings = &report.findings;
    super::pretty::in_order(findings.len(), CHUNK, &mut out, |range, buf| {
        let mut writer = builder.from_writer(buf);
        for f in &findings[range] {
            write_row(&mut writer, report, f, history, logs)?;
        }
        writer.flush()
    })?;
    out.flush()
}

fn io_error(e: ::csv::Error) -> std::io::Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(e) => e,
        kind => std::io::Error::other(format!("cannot render CSV: {kind:?}")),
    }
}

/// One finding's row.
fn write_row<W: std::io::Write>(
    writer: &mut ::csv::Writer<W>,
    report: &Report,
    f: &crate::findings::Finding,
    history: bool,
    logs: bool,
) -> std::io::Result<()> {
    let classification: Vec<&str> = f.classification.iter().map(|c| c.id()).collect();
    let accounts = f.accounts.map(|n| n.to_string()).unwrap_or_default();
    let person = f.account.as_deref().and_then(|a| report.people.get(a));
    let of_person = |field: fn(&crate::report::Person) -> &Option<String>| {
        person.and_then(|p| field(p).as_deref()).unwrap_or("")
    };
    let via = f.via.join(" > ");
    let classification = classification.join(";");
    let cells = [
        f.id.as_str(),
        f.rule.id(),
        f.severity.id(),
        &classification,
        &f.data_source,
        f.account.as_deref().unwrap_or(""),
        f.group.as_deref().unwrap_or(""),
        &accounts,
        f.role.as_deref().unwrap_or(""),
        f.scope.as_deref().unwrap_or(""),
        &via,
        &f.message,
        of_person(|p| &p.display_name),
        of_person(|p| &p.department),
        of_person(|p| &p.title),
    ];
    for cell in cells {
        writer
            .write_field(neutralise(cell).as_bytes())
            .map_err(io_error)?;
    }
    if history {
        writer
            .write_field(match f.status {
                Some(crate::findings::Status::New) => "new",
                Some(crate::findings::Status::Persisting) => "persisting",
                None => "",
            })
            .map_err(io_error)?;
        writer
            .write_field(neutralise(f.first_seen.as_deref().unwrap_or("")).as_bytes())
            .map_err(io_error)?;
    }
    if logs {
        for cell in use_cells(f) {
            writer.write_field(cell).map_err(io_error)?;
        }
    }
    writer.write_record(None::<&[u8]>).map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("+46 8 123"), "'+46 8 123");
        assert_eq!(neutralise("-1"), "'-1");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("\tx"), "'\tx");
        assert_eq!(neutralise("anna.berg"), "anna.berg");
        assert_eq!(neutralise(""), "");
    }
}
