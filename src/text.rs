//! Text helpers shared by the sources, the inventory and the outputs:
//! trimming values as they are read, and showing text from exports
//! without letting its control characters reach a terminal or a document.

use std::borrow::Cow;

/// Whether `c` is a control character: C0 (including tab and line ends),
/// DEL, or C1.
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// `text` with its control characters written as escapes (`\n`, `\t`,
/// `\u{1b}`): for terminals, error messages and warnings, where a value
/// from an export must not move the cursor, clear the screen or start a
/// new line that looks like the tool's own.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` on one line: line ends and other control characters become
/// spaces, so that a name cannot start a paragraph, a heading or a list
/// item of its own in Markdown or a draft.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if is_control(c) { ' ' } else { c })
            .collect(),
    )
}

/// `str::to_lowercase`, borrowing `text` when it is lower-case ASCII
/// already, as most names are.
pub fn lowercase(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        Cow::Owned(text.to_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// `str::trim`, with a fast path for text that neither starts nor ends in
/// a byte that can belong to white space: most values, in every export.
/// (The vertical tab and the spaces beyond ASCII, U+00A0 and U+3000 say,
/// are white space to `trim` but not to `trim_ascii`.)
pub fn trim(s: &str) -> &str {
    // The first bytes of white-space characters: ASCII, or the lead
    // bytes of U+0085, U+00A0, U+1680, U+2000–U+205F and U+3000.
    let may_start_space = |b: u8| b <= b' ' || matches!(b, 0xc2 | 0xe1 | 0xe2 | 0xe3);
    // Their last bytes.
    let may_end_space =
        |b: u8| b <= b' ' || matches!(b, 0x80..=0x8a | 0x9f | 0xa0 | 0xa8 | 0xa9 | 0xaf);
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&first), Some(&last)) if !may_start_space(first) && !may_end_space(last) => s,
        _ => s.trim(),
    }
}

/// The largest policy file, configuration or legal-text file read.
pub const MAX_SETTINGS_BYTES: u64 = 4 * 1024 * 1024;

/// The largest exceptions file read.
pub const MAX_EXCEPTIONS_BYTES: u64 = 16 * 1024 * 1024;

/// The largest findings file (`draft --findings`) read.
pub const MAX_FINDINGS_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Reads a text file of at most `limit` bytes. A larger file, or one that
/// never ends (`/dev/zero`), is an error after `limit` bytes, not a read
/// that fills memory.
pub fn read_bounded(path: &std::path::Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is a folder, not a file",
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the file is larger than {} MiB, the most this file may be",
                limit >> 20
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the file is not UTF-8 text (byte {} is not): save it as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_folded() {
        assert_eq!(escape_controls("anna"), "anna");
        assert_eq!(
            escape_controls("a\u{1b}[2Jb\nc\u{85}"),
            "a\\u{1b}[2Jb\\nc\\u{85}"
        );
        assert_eq!(one_line("Anna\n# Rubrik\r\n"), "Anna # Rubrik  ");
        assert_eq!(one_line("Åsa Öberg"), "Åsa Öberg");
    }

    #[test]
    fn trims_like_str_trim() {
        for text in [
            " a ",
            "\u{b}a\u{b}",
            "\u{a0}å\u{3000}",
            " \u{a0} ö \t",
            "",
            " ",
            "\u{b}",
            "Administratör",
            "Öberg ",
            "ö\u{2003}",
            "\u{2003}ö",
            "\u{b}ö",
            "ö\u{b}",
        ] {
            assert_eq!(trim(text), text.trim(), "{text:?}");
        }
    }

    #[test]
    fn every_white_space_character_takes_the_slow_path() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let text = format!("{c}x{c}");
            assert_eq!(trim(&text), text.trim(), "U+{:04X}", c as u32);
        }
    }
}
