//! Recognising an export: what its header's columns mean (the alias table,
//! shared with the access-log reader), which kind of export it is
//! (accounts, group nesting, a role export), its delimiter, and the
//! preamble lines PowerShell and Excel write before the header. Reading
//! its rows is the parent module's.

use crate::intern::Sym;
use crate::inventory::InventoryBuilder;
use crate::sources::values::WellKnown;
use crate::sources::SourceError;

/// What a column of a header means.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Column {
    Account,
    Group,
    MemberGroup,
    DataSource,
    Role,
    Scope,
    Dn,
    /// AD's `userAccountControl` (csvde writes it): enabled when the
    /// ACCOUNTDISABLE bit (0x2) is clear.
    UserAccountControl,
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
    (&["useraccountcontrol"], Column::UserAccountControl),
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
pub(crate) fn fold_header(header: &str) -> String {
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

/// What a header of an inventory export means, by the alias table.
pub(crate) fn classify_header(header: &str) -> Column {
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
pub(super) enum Kind {
    Accounts,
    Nesting,
    Grants,
}

/// Picks the delimiter that occurs most often outside quotes in the header.
pub(super) fn detect_delimiter(header_line: &str) -> u8 {
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

/// Where the header starts: PowerShell's `#TYPE` line and Excel's `sep=`
/// line come before it.
pub(super) struct Preamble {
    /// Bytes before the header (after any BOM).
    pub(super) skip: usize,
    pub(super) lines: usize,
    pub(super) delimiter: Option<u8>,
    pub(super) header: String,
}

pub(super) fn preamble(text: &[u8]) -> Preamble {
    let mut skip = 0;
    let mut lines = 0;
    let mut delimiter = None;
    loop {
        let rest = &text[skip..];
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = String::from_utf8_lossy(&rest[..end]);
        let lower = line.trim().to_lowercase();
        if lower.starts_with("#type") {
        } else if let Some(sep) = lower.strip_prefix("sep=") {
            delimiter = sep.bytes().next();
        } else {
            return Preamble {
                skip,
                lines,
                delimiter,
                header: line.trim_end_matches('\r').to_string(),
            };
        }
        skip += (end + 1).min(rest.len());
        lines += 1;
        if end == rest.len() {
            return Preamble {
                skip,
                lines,
                delimiter,
                header: String::new(),
            };
        }
    }
}

/// What the columns of an export mean.
pub(super) struct Layout {
    pub(super) headers: ::csv::StringRecord,
    pub(super) columns: Vec<Column>,
    /// The attribute name each column sets, interned once; `None` for a
    /// column whose values are not kept as attributes.
    pub(super) names: Vec<Option<Sym>>,
    pub(super) account: Option<usize>,
    pub(super) group: Option<usize>,
    pub(super) member_group: Option<usize>,
    pub(super) data_source: Option<usize>,
    pub(super) role: Option<usize>,
    pub(super) scope: Option<usize>,
    /// An `enabled` column, which wins over `userAccountControl`.
    pub(super) enabled_column: Option<usize>,
}

/// What the header of an export means: its layout and its kind. The
/// names of the attributes `inventory` keeps (those the policies read) are
/// interned in it. Errors name `name` and the header's line.
pub(super) fn recognise(
    name: &str,
    headers: ::csv::StringRecord,
    header_line: usize,
    inventory: &mut InventoryBuilder,
) -> Result<(Layout, Kind), SourceError> {
    let line_offset = header_line - 1;
    // Each meaning once; checked with a map, so that a header of many
    // columns is read in time that grows with its length only.
    let mut columns: Vec<Column> = Vec::with_capacity(headers.len());
    let mut first_of: std::collections::HashMap<Column, usize> = std::collections::HashMap::new();
    for (i, header) in headers.iter().enumerate() {
        let column = classify_header(header);
        if let Some(&first) = first_of.get(&column) {
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
                        format!("{name}:{header_line}"),
                        format!(
                            "the header has two `{}` columns (`{}` is the second)",
                            &headers[first], &headers[i]
                        ),
                    )
                    .with_help("keep one column per meaning, or rename the extra one"));
                }
            }
        } else {
            first_of.insert(column.clone(), i);
        }
        columns.push(column);
    }
    let find = |wanted: &Column| columns.iter().position(|c| c == wanted);
    let (account, group, member_group) = (
        find(&Column::Account),
        find(&Column::Group),
        find(&Column::MemberGroup),
    );
    let (data_source, role, scope) = (
        find(&Column::DataSource),
        find(&Column::Role),
        find(&Column::Scope),
    );
    let names: Vec<Option<Sym>> = columns
        .iter()
        .map(|c| match c {
            Column::Other(attr) if inventory.keeps(attr) => Some(inventory.intern(attr)),
            Column::WellKnown(
                attr @ (WellKnown::Department | WellKnown::Title | WellKnown::EmployeeType),
            ) => Some(inventory.intern(attr.name())),
            _ => None,
        })
        .collect();
    let enabled_column = find(&Column::WellKnown(WellKnown::Enabled));
    let layout = Layout {
        enabled_column,
        headers,
        columns,
        names,
        account,
        group,
        member_group,
        data_source,
        role,
        scope,
    };
    let kind = if layout.data_source.is_some()
        && layout.role.is_some()
        && (layout.account.is_some() || layout.group.is_some())
    {
        Kind::Grants
    } else if layout.group.is_some() && layout.member_group.is_some() && layout.account.is_none() {
        Kind::Nesting
    } else if layout.account.is_some() {
        Kind::Accounts
    } else {
        let found: Vec<&str> = layout.headers.iter().collect();
        return Err(SourceError::new(
            format!("{name}:{}", line_offset + 1),
            format!("unknown CSV layout: the header is `{}`", found.join(", ")),
        )
        .with_help(
            "expected `account` with attribute columns (and `group`), or `group` + `member_group`, \
             or `account`/`group` + `data_source` + `role` + `scope`",
        ));
    };
    Ok((layout, kind))
}
