//! What a value read from an export may hold. The readers run every row
//! (CSV) and every value (LDIF) past these checks, so that an export
//! written the wrong way stops the read at its line instead of being
//! audited as if its text were right: a control character or a NUL (a
//! binary or broken file), U+FFFD (a character already lost in a
//! conversion, or a lone UTF-16 surrogate), a .NET type name where
//! PowerShell wrote a collection's type instead of its items, and `?`
//! where an ASCII export lost å, ä and ö.

use crate::text::{escape_controls, is_control};

/// Something in a value that shows the export was written wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellProblem {
    /// A control character other than tab and line ends.
    Control(char),
    /// U+FFFD, the replacement character.
    Replacement,
    /// A .NET type name such as `System.Object[]`.
    DotNetType(String),
    /// `?` standing where a letter was.
    LostLetters(String),
}

/// Whether the bytes of a row need a closer look: any byte below a space,
/// DEL, the lead byte of a C1 control (U+0080–U+009F) or of U+FFFD, or a
/// question mark. Written without early exit so that it compiles to a
/// vector loop: most rows have none of these.
pub fn worth_a_look(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |seen, &b| {
        seen | (b < 0x20) | (b == 0x7f) | (b == 0xc2) | (b == 0xef) | (b == b'?')
    })
}

/// Whether a cell may be a .NET type name: the cheap test before
/// [`dotnet_type`].
pub fn may_be_type_name(field: &[u8]) -> bool {
    field.starts_with(b"System.") || field.starts_with(b"Microsoft.")
}

/// The .NET type name a cell holds, if it is one: what PowerShell's
/// `Export-Csv` writes for a property whose value is a collection
/// (`System.Object[]`, `System.String[]`,
/// `Microsoft.ActiveDirectory.Management.ADPropertyValueCollection`,
/// `System.Collections.Generic.List``1[System.String]`).
pub fn dotnet_type(value: &str) -> Option<&str> {
    let value = value.trim();
    if !may_be_type_name(value.as_bytes()) || value.chars().any(char::is_whitespace) {
        return None;
    }
    let collection = value.ends_with("[]")
        || value.contains("Collection")
        || value.starts_with("System.Collections.")
        || value.contains("`1[")
        || value.contains("`2[");
    collection.then_some(value)
}

/// Whether `value` has a `?` right beside a letter, as ASCII exports write
/// å, ä and ö ("Undersk?terska", "?sa", "Malm?"). Addresses (`://`) and
/// query strings are left alone.
pub fn lost_letters(value: &str) -> bool {
    if !value.contains('?') || value.contains("://") {
        return false;
    }
    let bytes = value.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'?'
            && (i > 0 && bytes[i - 1].is_ascii_alphabetic()
                || bytes.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic()))
    })
}

/// The first problem in one value. `ascii_export` says whether the file
/// has held only ASCII so far, the only case where `?` is taken for a lost
/// letter. Tab and line ends are allowed: a quoted cell may span lines.
pub fn check(value: &str, ascii_export: bool) -> Option<CellProblem> {
    if !worth_a_look(value.as_bytes()) && !may_be_type_name(value.trim_start().as_bytes()) {
        return None;
    }
    for c in value.chars() {
        if c == '\u{fffd}' {
            return Some(CellProblem::Replacement);
        }
        if is_control(c) && !matches!(c, '\t' | '\n' | '\r') {
            return Some(CellProblem::Control(c));
        }
    }
    if let Some(t) = dotnet_type(value) {
        return Some(CellProblem::DotNetType(t.to_string()));
    }
    if ascii_export && lost_letters(value) {
        return Some(CellProblem::LostLetters(value.trim().to_string()));
    }
    None
}

/// Whether a name (an account or group id) holds a control character,
/// line ends and tabs included: a name is one line.
pub fn control_in_name(name: &str) -> Option<char> {
    name.chars().find(|&c| is_control(c))
}

impl CellProblem {
    /// The message and the help for this problem in column `column`.
    pub fn describe(&self, column: &str) -> (String, String) {
        match self {
            CellProblem::Control(c) => (
                format!(
                    "the `{column}` value holds the control character U+{:04X}",
                    *c as u32
                ),
                "a NUL or control character means the file is binary or was damaged: export it again, \
                 or remove the character"
                    .to_string(),
            ),
            CellProblem::Replacement => (
                format!(
                    "the `{column}` value holds U+FFFD (\u{fffd}), the mark of a character lost in a \
                     conversion or of a lone UTF-16 surrogate"
                ),
                "export it again as UTF-8 from the system itself (PowerShell: `Export-Csv -Encoding UTF8`); \
                 a file converted from the wrong encoding has already lost its letters"
                    .to_string(),
            ),
            CellProblem::DotNetType(t) => (
                format!(
                    "the `{column}` cell holds `{}`, a .NET type name, not values: PowerShell wrote the \
                     type of a collection instead of its items",
                    escape_controls(t)
                ),
                "join the property before exporting, e.g. `Get-ADUser -Filter * -Properties MemberOf,Department,Title | \
                 Select-Object SamAccountName,Department,Title,@{n='MemberOf';e={$_.MemberOf -join ';'}} | \
                 Export-Csv konton.csv -Encoding UTF8 -NoTypeInformation`"
                    .to_string(),
            ),
            CellProblem::LostLetters(v) => (
                format!(
                    "the `{column}` value `{}` has `?` where a letter stands: the export was written as ASCII, \
                     which turns å, ä and ö into `?`",
                    escape_controls(v)
                ),
                "export it again with `-Encoding UTF8` (Windows PowerShell 5.1's `Export-Csv` writes ASCII \
                 unless told otherwise)"
                    .to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_told_from_group_names() {
        for t in [
            "Microsoft.ActiveDirectory.Management.ADPropertyValueCollection",
            "System.Object[]",
            "System.String[]",
            "System.Collections.ArrayList",
            "System.Collections.Generic.List`1[System.String]",
        ] {
            assert_eq!(dotnet_type(t), Some(t), "{t}");
        }
        for name in [
            "SG-Statdb-Alla",
            "System",
            "Systemförvaltare",
            "Microsoft 365-licens",
            "System.Admin",
        ] {
            assert_eq!(dotnet_type(name), None, "{name}");
        }
    }

    #[test]
    fn question_marks_beside_letters_are_lost_letters() {
        assert!(lost_letters("Undersk?terska"));
        assert!(lost_letters("?sa"));
        assert!(lost_letters("Malm?"));
        assert!(!lost_letters("1?2 ? 3"));
        assert!(!lost_letters("https://intra.norrvik.se/?id=4"));
        assert!(!lost_letters("IFO"));
        assert!(!lost_letters("? ?"));
    }

    #[test]
    fn checks_find_controls_replacements_and_types() {
        assert_eq!(check("Anna\u{0}", false), Some(CellProblem::Control('\0')));
        assert_eq!(check("rad ett\nrad två", false), None);
        assert_eq!(
            check("Undersk\u{fffd}terska", false),
            Some(CellProblem::Replacement)
        );
        assert_eq!(
            check("a\u{85}b", false),
            Some(CellProblem::Control('\u{85}'))
        );
        assert_eq!(check("Undersk?terska", false), None);
        assert!(matches!(
            check("Undersk?terska", true),
            Some(CellProblem::LostLetters(_))
        ));
        assert!(worth_a_look(b"Undersk?terska"));
        assert!(worth_a_look("a\u{85}".as_bytes()));
        assert!(!worth_a_look("Åsa Öberg;IFO".as_bytes()));
    }
}
