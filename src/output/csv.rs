//! `--format csv`: one row per finding, with who the account is (display
//! name, department, title) for reviewers to sort by, and every cell that a
//! spreadsheet would run as a formula made inert. `--csv-style excel`
//! writes semicolons and a UTF-8 BOM, as Excel with Swedish settings
//! expects.

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

/// Writes the CSV to `out`, row by row.
pub fn write(
    report: &Report,
    style: CsvStyle,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let (delimiter, start): (u8, &[u8]) = match style {
        CsvStyle::Standard => (b',', b""),
        CsvStyle::Excel => (b';', "\u{feff}".as_bytes()),
    };
    out.write_all(start)?;
    let mut writer = ::csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(out);
    let err = |e: ::csv::Error| match e.into_kind() {
        ::csv::ErrorKind::Io(e) => e,
        kind => std::io::Error::other(format!("cannot render CSV: {kind:?}")),
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
    writer.write_record(&header).map_err(err)?;
    for f in &report.findings {
        let classification: Vec<&str> = f.classification.iter().map(|c| c.id()).collect();
        let accounts = f.accounts.map(|n| n.to_string()).unwrap_or_default();
        let person = f.account.as_deref().and_then(|a| report.people.get(a));
        let of_person = |field: fn(&crate::report::Person) -> &Option<String>| {
            person.and_then(|p| field(p).as_deref()).unwrap_or("")
        };
        let cells = [
            f.id.as_str(),
            f.rule.id(),
            f.severity.id(),
            &classification.join(";"),
            &f.data_source,
            f.account.as_deref().unwrap_or(""),
            f.group.as_deref().unwrap_or(""),
            &accounts,
            f.role.as_deref().unwrap_or(""),
            f.scope.as_deref().unwrap_or(""),
            &f.via.join(" > "),
            &f.message,
            of_person(|p| &p.display_name),
            of_person(|p| &p.department),
            of_person(|p| &p.title),
        ];
        let mut row: Vec<String> = cells.iter().map(|c| neutralise(c).into_owned()).collect();
        if history {
            row.push(match f.status {
                Some(crate::findings::Status::New) => "new".into(),
                Some(crate::findings::Status::Persisting) => "persisting".into(),
                None => String::new(),
            });
            row.push(neutralise(f.first_seen.as_deref().unwrap_or("")).into_owned());
        }
        if logs {
            row.extend(use_cells(f));
        }
        writer.write_record(&row).map_err(err)?;
    }
    writer.flush()
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
