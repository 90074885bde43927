//! CSV exports: directory exports (accounts with attributes and groups),
//! group nesting, and business systems' role exports, recognised by their
//! headers. Reads what Swedish Excel and PowerShell write: comma, semicolon
//! or tab; UTF-8 with or without BOM, UTF-16 with BOM, or Windows-1252.

use std::borrow::Cow;
use std::path::Path;

use crate::inventory::{DirectGrant, Holder, Inventory, Origin};
use crate::sources::values::{set_well_known, WellKnown};
use crate::sources::SourceError;

/// What a column of a header means.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Account,
    Group,
    MemberGroup,
    DataSource,
    Role,
    Scope,
    Dn,
    WellKnown(WellKnown),
    /// Any other attribute, by its lower-case header.
    Other(String),
}

const ALIASES: &[(&[&str], Column)] = &[
    (
        &[
            "account",
            "accountname",
            "samaccountname",
            "uid",
            "username",
            "user",
            "userid",
            "login",
            "loginname",
            "anvandarnamn",
            "anvandare",
            "anvandarid",
            "anvandarkonto",
            "konto",
            "kontonamn",
            "inloggningsnamn",
        ],
        Column::Account,
    ),
    (
        &[
            "group",
            "groups",
            "groupname",
            "memberof",
            "grupp",
            "grupper",
            "gruppnamn",
            "medlemav",
        ],
        Column::Group,
    ),
    (
        &[
            "membergroup",
            "nestedgroup",
            "childgroup",
            "medlemsgrupp",
            "undergrupp",
        ],
        Column::MemberGroup,
    ),
    (
        &[
            "datasource",
            "source",
            "system",
            "datakalla",
            "kalla",
            "verksamhetssystem",
        ],
        Column::DataSource,
    ),
    (
        &[
            "role",
            "rolename",
            "roll",
            "rollnamn",
            "behorighet",
            "behorighetsroll",
        ],
        Column::Role,
    ),
    (
        &[
            "scope",
            "omfattning",
            "omrade",
            "namnd",
            "behorighetsomrade",
        ],
        Column::Scope,
    ),
    (&["dn", "distinguishedname"], Column::Dn),
    (
        &[
            "displayname",
            "name",
            "namn",
            "fullname",
            "fullstandigtnamn",
            "cn",
        ],
        Column::WellKnown(WellKnown::DisplayName),
    ),
    (
        &["department", "avdelning", "forvaltning", "departmentnumber"],
        Column::WellKnown(WellKnown::Department),
    ),
    (
        &[
            "title",
            "titel",
            "befattning",
            "yrkestitel",
            "jobtitle",
            "tjanstetitel",
        ],
        Column::WellKnown(WellKnown::Title),
    ),
    (
        &["employeetype", "anstallningsform", "anstallningstyp"],
        Column::WellKnown(WellKnown::EmployeeType),
    ),
    (
        &[
            "enabled",
            "aktiv",
            "aktiverad",
            "active",
            "aktivt",
            "kontoaktivt",
        ],
        Column::WellKnown(WellKnown::Enabled),
    ),
    (
        &[
            "expires",
            "accountexpires",
            "accountexpirationdate",
            "expirationdate",
            "utgar",
            "utgangsdatum",
            "giltigtill",
            "slutdatum",
        ],
        Column::WellKnown(WellKnown::Expires),
    ),
    (
        &[
            "lastlogon",
            "lastlogondate",
            "lastlogontimestamp",
            "lastlogin",
            "senasteinloggning",
            "senastinloggad",
        ],
        Column::WellKnown(WellKnown::LastLogon),
    ),
];

/// Folds a header to the form aliases are written in: lower case, Swedish
/// letters without diacritics, no spaces, underscores, dashes or dots.
fn fold_header(header: &str) -> String {
    header
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'å' | 'ä' | 'á' | 'à' => Some('a'),
            'ö' | 'ó' => Some('o'),
            'é' | 'è' => Some('e'),
            ' ' | '_' | '-' | '.' | '\u{feff}' => None,
            c => Some(c),
        })
        .collect()
}

/// Headers of the e-mail address, stored as the attribute `mail` (the
/// directory's name for it).
const MAIL_ALIASES: &[&str] = &["mail", "email", "epost", "epostadress", "emailaddress"];

fn classify_header(header: &str) -> Column {
    let folded = fold_header(header);
    if MAIL_ALIASES.contains(&folded.as_str()) {
        return Column::Other("mail".to_string());
    }
    ALIASES
        .iter()
        .find(|(names, _)| names.contains(&folded.as_str()))
        .map(|(_, col)| col.clone())
        .unwrap_or_else(|| Column::Other(header.trim().to_lowercase()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Accounts,
    Nesting,
    Grants,
}

/// Decodes the bytes of an export: BOMs first, then UTF-8, else
/// Windows-1252 (what Swedish Excel writes as "CSV (semikolonavgränsad)").
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return text;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// Picks the delimiter that occurs most often outside quotes in the header.
fn detect_delimiter(header_line: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for b in header_line.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let (best, count) = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (**c, usize::MAX - i))
        .map(|(i, c)| (candidates[i], *c))
        .unwrap_or((b',', 0));
    if count == 0 {
        b','
    } else {
        best
    }
}

/// Finds a quoted field that never ends, which the CSV parser would read to
/// the end of the file: returns the line where its quote opened.
fn unterminated_quote(text: &str, delimiter: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut field_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if field_start && b == b'"' {
            let open_line = line;
            i += 1;
            loop {
                match bytes.get(i) {
                    None => return Some(open_line),
                    Some(b'"') if bytes.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\n') => {
                        line += 1;
                        i += 1;
                    }
                    Some(_) => i += 1,
                }
            }
            field_start = false;
            continue;
        }
        if b == b'\n' {
            line += 1;
            field_start = true;
        } else {
            field_start = b == delimiter || (b == b'\r' && field_start);
        }
        i += 1;
    }
    None
}

/// Splits a cell of several groups (`;` or `|`), taking the CN of a DN.
fn split_groups(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(['|', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.len() > 3 && s[..3].eq_ignore_ascii_case("cn=") {
                let rest = &s[3..];
                let end = rest
                    .char_indices()
                    .find(|&(i, c)| c == ',' && !rest[..i].ends_with('\\'))
                    .map(|(i, _)| i)
                    .unwrap_or(rest.len());
                rest[..end].trim()
            } else {
                s
            }
        })
}

/// Turns the byte offsets the CSV parser reports into line numbers. The
/// parser's own line count lags by one after a CRLF line end, so lines are
/// counted here, from the first byte of the record itself.
struct LineCounter<'t> {
    text: &'t [u8],
    byte: usize,
    line: usize,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            byte: 0,
            line: 1,
        }
    }

    /// The line of the record that starts at or after `byte` (offsets only
    /// grow as the file is read).
    fn line_at(&mut self, byte: usize) -> usize {
        let mut start = byte.min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start < self.byte {
            // Not expected; count from the beginning rather than guess.
            self.byte = 0;
            self.line = 1;
        }
        self.line += self.text[self.byte..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.byte = start;
        self.line
    }
}

/// Reads one CSV export into the inventory.
pub fn read_file(path: &Path, inventory: &mut Inventory) -> Result<(), SourceError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        SourceError::new(&name, format!("cannot read the file: {e}"))
            .with_help("check the path given with --csv")
    })?;
    read_bytes(&name, &bytes, inventory)
}

/// Reads CSV bytes; `name` is used in messages.
pub fn read_bytes(name: &str, bytes: &[u8], inventory: &mut Inventory) -> Result<(), SourceError> {
    let text = decode(bytes);
    let mut body: &str = &text;
    let mut line_offset = 0;
    let mut delimiter = None;
    // PowerShell's `#TYPE` line and Excel's `sep=` line come before the header.
    loop {
        let first = body.lines().next().unwrap_or("");
        let lower = first.trim().to_lowercase();
        if lower.starts_with("#type") {
        } else if let Some(sep) = lower.strip_prefix("sep=") {
            delimiter = sep.bytes().next();
        } else {
            break;
        }
        body = body.get(first.len()..).unwrap_or("");
        body = body
            .strip_prefix("\r\n")
            .or_else(|| body.strip_prefix('\n'))
            .unwrap_or(body);
        line_offset += 1;
    }
    let header_line = body.lines().next().unwrap_or("");
    if header_line.trim().is_empty() {
        return Err(SourceError::new(
            format!("{name}:{}", line_offset + 1),
            "the file has no header line",
        )
        .with_help("a CSV export starts with a header such as `account;department;title;group`"));
    }
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(header_line));
    if let Some(line) = unterminated_quote(body, delimiter) {
        return Err(SourceError::new(
            format!("{name}:{}", line + line_offset),
            "a quoted field is never closed",
        )
        .with_help("a field that starts with `\"` must end with `\"`; double any `\"` inside it"));
    }

    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(body.as_bytes());
    let lines = std::cell::RefCell::new(LineCounter::new(body));
    let csv_error = |e: ::csv::Error| -> SourceError {
        let line = e
            .position()
            .map(|p| lines.borrow_mut().line_at(p.byte() as usize) + line_offset);
        let location = match line {
            Some(l) => format!("{name}:{l}"),
            None => name.to_string(),
        };
        match e.kind() {
            ::csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => SourceError::new(
                location,
                format!("the row has {len} fields, the header has {expected_len}"),
            )
            .with_help("quote fields that contain the delimiter, and check for a missing or extra delimiter"),
            _ => SourceError::new(location, format!("cannot parse the row: {e}")),
        }
    };
    let headers = reader.headers().map_err(csv_error)?.clone();
    let mut columns: Vec<Column> = Vec::with_capacity(headers.len());
    for (i, header) in headers.iter().enumerate() {
        let column = classify_header(header);
        if columns.contains(&column) {
            match column {
                // Exports often carry both `Name` and `DisplayName`: the
                // first is the attribute, the second an ordinary column.
                Column::WellKnown(_) | Column::Dn => {
                    columns.push(Column::Other(header.trim().to_lowercase()));
                    continue;
                }
                Column::Other(_) => {}
                _ => {
                    return Err(SourceError::new(
                        format!("{name}:{}", line_offset + 1),
                        format!(
                            "the header has two `{}` columns (`{}` is the second)",
                            headers
                                .iter()
                                .zip(&columns)
                                .find(|(_, c)| **c == column)
                                .map(|(h, _)| h)
                                .unwrap_or(""),
                            &headers[i]
                        ),
                    )
                    .with_help("keep one column per meaning, or rename the extra one"));
                }
            }
        }
        columns.push(column);
    }
    let find = |wanted: &Column| columns.iter().position(|c| c == wanted);
    let account = find(&Column::Account);
    let group = find(&Column::Group);
    let member_group = find(&Column::MemberGroup);
    let data_source = find(&Column::DataSource);
    let role = find(&Column::Role);
    let scope = find(&Column::Scope);
    let kind = if data_source.is_some() && role.is_some() && (account.is_some() || group.is_some())
    {
        Kind::Grants
    } else if group.is_some() && member_group.is_some() && account.is_none() {
        Kind::Nesting
    } else if account.is_some() {
        Kind::Accounts
    } else {
        let found: Vec<&str> = headers.iter().collect();
        return Err(SourceError::new(
            format!("{name}:{}", line_offset + 1),
            format!("unknown CSV layout: the header is `{}`", found.join(", ")),
        )
        .with_help(
            "expected `account` with attribute columns (and `group`), or `group` + `member_group`, \
             or `account`/`group` + `data_source` + `role` + `scope`",
        ));
    };

    inventory.inputs.push(name.to_string());
    let mut record = ::csv::StringRecord::new();
    let mut rows = 0usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(e)),
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        rows += 1;
        let line = record
            .position()
            .map(|p| lines.borrow_mut().line_at(p.byte() as usize) + line_offset)
            .unwrap_or(0);
        let origin = Origin::new(name, Some(line));
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
        let missing = |column: &str| {
            SourceError::new(
                format!("{name}:{line}"),
                format!("the `{column}` field is empty"),
            )
        };
        match kind {
            Kind::Grants => {
                let holder = if !cell(account).is_empty() {
                    Holder::Account(cell(account).to_string())
                } else if !cell(group).is_empty() {
                    Holder::Group(inventory.intern_group(cell(group)))
                } else {
                    return Err(SourceError::new(
                        format!("{name}:{line}"),
                        "the row names neither an account nor a group",
                    ));
                };
                let source = cell(data_source);
                if source.is_empty() {
                    return Err(missing("data_source"));
                }
                let role_value = cell(role);
                if role_value.is_empty() {
                    return Err(missing("role"));
                }
                let scope_value = cell(scope);
                inventory.grants.push(DirectGrant {
                    holder,
                    data_source: source.to_string(),
                    role: role_value.to_string(),
                    scope: (!scope_value.is_empty()).then(|| scope_value.to_string()),
                    origin,
                });
            }
            Kind::Nesting => {
                let parent = cell(group);
                if parent.is_empty() {
                    return Err(missing("group"));
                }
                let parent = inventory.intern_group(parent);
                for child in split_groups(cell(member_group)) {
                    let child = inventory.intern_group(child);
                    inventory.add_nesting(parent, child);
                }
            }
            Kind::Accounts => {
                let id = cell(account);
                if id.is_empty() {
                    return Err(missing(&headers[account.unwrap_or(0)]));
                }
                let mut groups = Vec::new();
                if let Some(g) = group {
                    for name in split_groups(record.get(g).unwrap_or("")) {
                        groups.push(inventory.intern_group(name));
                    }
                }
                let acc = inventory.account_mut(id, &origin);
                for (i, column) in columns.iter().enumerate() {
                    let value = record.get(i).unwrap_or("");
                    match column {
                        Column::WellKnown(attr) => {
                            set_well_known(acc, *attr, value).map_err(|bad| {
                                SourceError::new(
                                    format!("{name}:{line}"),
                                    format!(
                                        "`{}` is not a valid {} value (column `{}`)",
                                        value.trim(),
                                        bad.attribute,
                                        &headers[i]
                                    ),
                                )
                                .with_help(format!("expected {}", bad.expected))
                            })?;
                        }
                        Column::Dn if !value.trim().is_empty() => {
                            acc.dn = Some(value.trim().to_string());
                        }
                        Column::Other(attr) if !value.trim().is_empty() => {
                            acc.attrs.insert(attr, value.trim());
                        }
                        _ => {}
                    }
                }
                let account_id = inventory.account(id).unwrap_or(0);
                for g in groups {
                    inventory.add_membership(account_id, g);
                }
            }
        }
    }
    if rows == 0 {
        eprintln!("warning: {name}: the export has a header but no rows");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_delimiters() {
        assert_eq!(detect_delimiter("account;department;title"), b';');
        assert_eq!(detect_delimiter("account,department"), b',');
        assert_eq!(detect_delimiter("account\tdepartment"), b'\t');
        assert_eq!(detect_delimiter("\"a;b\",c"), b',');
    }

    #[test]
    fn finds_unterminated_quotes() {
        assert_eq!(unterminated_quote("a,b\n\"x,y\n1,2\n", b','), Some(2));
        assert_eq!(unterminated_quote("a,b\n\"x\ny\",z\n", b','), None);
        assert_eq!(unterminated_quote("a,b\nx\"y,z\n", b','), None);
        assert_eq!(unterminated_quote("a,b\n\"x\"\"\",z\n", b','), None);
    }

    #[test]
    fn splits_group_cells_and_dns() {
        let groups: Vec<&str> =
            split_groups("CN=SG-A,OU=Grupper,DC=x;SG-B | CN=SG\\, C,OU=y").collect();
        assert_eq!(groups, vec!["SG-A", "SG-B", "SG\\, C"]);
    }

    #[test]
    fn headers_in_swedish_and_powershell() {
        assert_eq!(classify_header("Användarnamn"), Column::Account);
        assert_eq!(classify_header("SamAccountName"), Column::Account);
        assert_eq!(classify_header("MemberOf"), Column::Group);
        assert_eq!(classify_header("member_group"), Column::MemberGroup);
        assert_eq!(classify_header("Data source"), Column::DataSource);
        assert_eq!(
            classify_header("Avdelning"),
            Column::WellKnown(WellKnown::Department)
        );
        assert_eq!(classify_header("Mail"), Column::Other("mail".into()));
    }
}
