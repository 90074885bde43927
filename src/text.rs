//! Text helpers shared by the sources and the inventory.

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

#[cfg(test)]
mod tests {
    use super::*;

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
