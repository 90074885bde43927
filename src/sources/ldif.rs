//! LDIF files (RFC 2849): directory exports made with `ldapsearch` or
//! `ldifde`, read into directory entries that [`directory`](super::directory)
//! maps to the inventory exactly as it maps entries read over LDAP.
//!
//! The reader is a pure function over bytes: folded lines, comments,
//! `version:`, base64 (`::`) values and `changetype: add` are read; URL
//! values (`:<`), other change types and malformed lines are errors that
//! name the file and line. An `ldapsearch` result trailer that reports
//! anything but success, or a ranged attribute that stops short, means the
//! export is incomplete, which is also an error.

use std::path::Path;

use crate::inventory::{Inventory, Origin};
use crate::sources::directory::{self, DirEntry, Mapping};
use crate::sources::SourceError;

/// Reads one LDIF export into the inventory.
/// Writes `name: value` as an LDIF line, base64 (`name:: ...`) when the
/// value is not a safe string (RFC 2849): non-ASCII, a line end or NUL, a
/// leading space, colon or `<`, or a trailing space.
pub fn write_line(out: &mut impl std::io::Write, name: &str, value: &str) -> std::io::Result<()> {
    let safe = value
        .bytes()
        .all(|b| b.is_ascii() && b != 0 && b != b'\n' && b != b'\r')
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ');
    if safe {
        writeln!(out, "{name}: {value}")
    } else {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        writeln!(out, "{name}:: {encoded}")
    }
}

pub fn read_file(
    path: &Path,
    mapping: &Mapping,
    inventory: &mut Inventory,
) -> Result<(), SourceError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        SourceError::new(&name, format!("cannot read the file: {e}"))
            .with_help("check the path given with --ldif")
    })?;
    let entries = parse(&name, &bytes)?;
    inventory.inputs.push(name.clone());
    directory::add_entries(entries, mapping, inventory)
}

/// One physical line after unfolding: its first line number and its text.
struct Logical {
    line: usize,
    text: Vec<u8>,
}

/// Splits bytes into records of unfolded lines. Comments (and their folded
/// continuations) are dropped; blank lines end a record.
fn records(bytes: &[u8]) -> Vec<Vec<Logical>> {
    let mut out: Vec<Vec<Logical>> = Vec::new();
    let mut current: Vec<Logical> = Vec::new();
    let mut in_comment = false;
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let number = i + 1;
        if let Some(rest) = line.strip_prefix(b" ") {
            if in_comment {
                continue;
            }
            if let Some(last) = current.last_mut() {
                last.text.extend_from_slice(rest);
                continue;
            }
            // A continuation with nothing to continue: kept as its own
            // line so that parsing reports it.
            current.push(Logical {
                line: number,
                text: line.to_vec(),
            });
            continue;
        }
        in_comment = false;
        if line.is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with(b"#") {
            in_comment = true;
            continue;
        }
        current.push(Logical {
            line: number,
            text: line.to_vec(),
        });
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// An attribute line split into its description and its decoded value.
fn attr_value<'a>(name: &str, l: &'a Logical) -> Result<(&'a str, Vec<u8>), SourceError> {
    let at = |msg: String| SourceError::new(format!("{name}:{}", l.line), msg);
    let colon = l.text.iter().position(|&b| b == b':').ok_or_else(|| {
        at("the line is not `attribute: value`".into())
            .with_help("every line of an entry is `name: value`, `name:: base64` or a continuation starting with one space")
    })?;
    let desc = std::str::from_utf8(&l.text[..colon])
        .ok()
        .filter(|d| {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b';' || b == b'=' || b == b'.' || b == b'*')
        })
        .ok_or_else(|| {
            at("the line does not start with an attribute name".into())
                .with_help("every line of an entry is `name: value`, `name:: base64` or a continuation starting with one space")
        })?;
    let rest = &l.text[colon + 1..];
    let value = match rest.first() {
        Some(b':') => {
            let encoded = trim_spaces(&rest[1..]);
            decode_base64(encoded).ok_or_else(|| {
                at(format!("the base64 value of `{desc}` is not valid base64"))
                    .with_help("a value after `::` is base64 (RFC 4648)")
            })?
        }
        Some(b'<') => {
            return Err(at(format!(
                "`{desc}` refers to a URL (`:<`), which is not read"
            ))
            .with_help(
                "export the value inline, e.g. `ldapsearch -LLL` or `ldifde` without -t options",
            ));
        }
        _ => trim_spaces(rest).to_vec(),
    };
    Ok((desc, value))
}

fn trim_spaces(mut s: &[u8]) -> &[u8] {
    while let Some(rest) = s.strip_prefix(b" ") {
        s = rest;
    }
    while let Some(rest) = s.strip_suffix(b" ") {
        s = rest;
    }
    s
}

/// Decodes standard base64 (padding optional). `None` on anything else.
pub fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    fn sextet(b: u8) -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let data = match input.iter().position(|&b| b == b'=') {
        Some(p) => {
            if input[p..].iter().any(|&b| b != b'=') || input.len() % 4 != 0 {
                return None;
            }
            &input[..p]
        }
        None => input,
    };
    if data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for &b in chunk {
            acc = (acc << 6) | sextet(b)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]),
            3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
            2 => out.push((acc >> 4) as u8),
            _ => {}
        }
    }
    Some(out)
}

/// Parses LDIF bytes into directory entries; `name` is used in messages.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Vec<DirEntry>, SourceError> {
    let mut entries = Vec::new();
    for (index, record) in records(bytes).into_iter().enumerate() {
        let Some(first) = record.first() else {
            continue;
        };
        let (desc, value) = attr_value(name, first)?;
        let desc = desc.to_ascii_lowercase();
        let at = |line: usize, msg: String| SourceError::new(format!("{name}:{line}"), msg);
        match desc.as_str() {
            "version" if index == 0 && record.len() == 1 => {
                if value != b"1" {
                    return Err(at(first.line, "only LDIF version 1 is read".into()));
                }
                continue;
            }
            "version" if index == 0 => {
                // `version: 1` directly followed by the first entry.
                if value != b"1" {
                    return Err(at(first.line, "only LDIF version 1 is read".into()));
                }
                let entry = entry(name, &record[1..])?;
                entries.extend(entry);
                continue;
            }
            // ldapsearch's search references: references to other naming
            // contexts (DomainDnsZones, Configuration...), not entries.
            "ref" => continue,
            // ldapsearch's result trailer (`ldapsearch -L`).
            "search" => {
                for l in &record[1..] {
                    let (d, v) = attr_value(name, l)?;
                    if d.eq_ignore_ascii_case("result") && !v.starts_with(b"0 ") && v != b"0" {
                        return Err(at(
                            l.line,
                            format!(
                                "the export ended with `result: {}`: it is incomplete",
                                String::from_utf8_lossy(&v)
                            ),
                        )
                        .with_help(
                            "export again with paging, e.g. `ldapsearch -E pr=1000/noprompt`",
                        ));
                    }
                }
                continue;
            }
            _ => {}
        }
        entries.extend(entry(name, &record)?);
    }
    Ok(entries)
}

/// One record: `dn:` first, then attributes. `None` for records that are
/// not entries.
fn entry(name: &str, record: &[Logical]) -> Result<Option<DirEntry>, SourceError> {
    let Some(first) = record.first() else {
        return Ok(None);
    };
    let at = |line: usize, msg: String| SourceError::new(format!("{name}:{line}"), msg);
    let (desc, value) = attr_value(name, first)?;
    if !desc.eq_ignore_ascii_case("dn") {
        return Err(at(
            first.line,
            format!("an entry must start with `dn:`, not `{desc}:`"),
        )
        .with_help("separate entries by one blank line; each starts with its `dn:` line"));
    }
    let dn =
        String::from_utf8(value).map_err(|_| at(first.line, "the DN is not valid UTF-8".into()))?;
    let mut entry = DirEntry::new(
        dn,
        Origin::at(crate::intern::Sym::new(name), Some(first.line)),
    );
    for l in &record[1..] {
        let (desc, value) = attr_value(name, l)?;
        let lower = desc.to_ascii_lowercase();
        match lower.as_str() {
            "changetype" => {
                if value != b"add" {
                    return Err(at(
                        l.line,
                        format!(
                            "`changetype: {}` is a change, not an entry of an export",
                            String::from_utf8_lossy(&value)
                        ),
                    )
                    .with_help(
                        "give an export of the directory's entries (ldapsearch or ldifde -f)",
                    ));
                }
            }
            "control" => {
                return Err(at(
                    l.line,
                    "`control:` belongs to a change, not an export".into(),
                ));
            }
            _ => {
                let mut parts = lower.split(';');
                let base = parts.next().unwrap_or("");
                if let Some(range) = parts.find_map(|p| p.strip_prefix("range=")) {
                    if !range.ends_with('*') {
                        return Err(at(
                            l.line,
                            format!("`{desc}` holds only part of the values (range {range})"),
                        )
                        .with_help("the directory sent a ranged attribute: read it with --ldap, which retrieves every range, or export with ldifde"));
                    }
                }
                entry.push(base, value);
            }
        }
    }
    Ok(Some(entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `write_line` writes, the reader reads back as it was.
    #[test]
    fn written_lines_read_back() {
        let written = [
            "SG-IFO-Las",
            "Alla anställda",
            " leading",
            ":colon",
            "<lt",
            "trailing ",
            "two\nlines",
        ];
        let mut text = b"dn: cn=x,dc=se\n".to_vec();
        for v in written {
            write_line(&mut text, "description", v).unwrap();
        }
        let entries = parse("t", &text).unwrap();
        assert_eq!(
            values(&entries[0], "description"),
            written.map(String::from).to_vec()
        );
    }

    fn values(e: &DirEntry, attr: &str) -> Vec<String> {
        e.values(attr)
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    #[test]
    fn reads_folded_base64_comments_and_version() {
        let text = "version: 1\n\n# a comment\n#  folded comment\n dn: not read\ndn: uid=anna,ou=\n p,dc=x\nobjectClass: inetOrgPerson\ncn:: QW5uYSDDhWJlcmc=\ndescription: lo\n ng\nmember;range=0-*: cn=a\n\ndn:: dWlkPWJvLGRjPXg=\r\nuid: bo\r\n";
        let entries = parse("t.ldif", text.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].dn, "uid=anna,ou=p,dc=x");
        assert_eq!(entries[0].origin.line.map(|l| l.get()), Some(6));
        assert_eq!(values(&entries[0], "cn"), vec!["Anna Åberg"]);
        assert_eq!(values(&entries[0], "description"), vec!["long"]);
        assert_eq!(values(&entries[0], "member"), vec!["cn=a"]);
        assert_eq!(entries[1].dn, "uid=bo,dc=x");
        assert_eq!(values(&entries[1], "uid"), vec!["bo"]);
    }

    #[test]
    fn version_may_share_the_first_record() {
        let entries = parse("t", b"version: 1\ndn: cn=a\ncn: a\n").unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].dn, "cn=a");
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, &str)] = &[
            ("dn: cn=a\ncn: a\nno colon here\n", "t:3"),
            ("dn: cn=a\njpegPhoto:< file:///x\n", "t:2"),
            ("dn: cn=a\ncn:: !!!\n", "t:2"),
            ("cn: a\n", "t:1"),
            ("dn: cn=a\nchangetype: delete\n", "t:2"),
            ("dn: cn=a\nmember;range=0-1499: cn=b\n", "t:2"),
            (
                "dn: cn=a\n\n# search result\nsearch: 2\nresult: 4 Size limit exceeded\n",
                "t:5",
            ),
            ("version: 2\n", "t:1"),
            ("dn:: //79\n", "t:1"),
        ];
        for (text, location) in cases {
            let err = parse("t", text.as_bytes()).expect_err(text);
            assert_eq!(err.location, *location, "{text}: {err}");
        }
    }

    #[test]
    fn ldapsearch_references_and_success_trailer_are_read() {
        let text = "dn: cn=a\ncn: a\n\n# search reference\nref: ldap://x/DC=DomainDnsZones,DC=x\n\n# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 2\n";
        let entries = parse("t", text.as_bytes()).unwrap();
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn ldifde_changetype_add_is_an_entry() {
        let entries = parse("t", b"dn: CN=a,DC=x\nchangetype: add\nsAMAccountName: a\n").unwrap();
        assert_eq!(values(&entries[0], "samaccountname"), vec!["a"]);
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(decode_base64(b"").unwrap(), b"");
        assert_eq!(decode_base64(b"YQ==").unwrap(), b"a");
        assert_eq!(decode_base64(b"YWI=").unwrap(), b"ab");
        assert_eq!(decode_base64(b"YWJj").unwrap(), b"abc");
        assert_eq!(decode_base64(b"YWI").unwrap(), b"ab");
        assert!(decode_base64(b"Y").is_none());
        assert!(decode_base64(b"YQ=a").is_none());
        assert!(decode_base64(b"Y Q==").is_none());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let samples: &[&[u8]] = &[
            b"",
            b"\n\n\n",
            b" \n",
            b"dn",
            b":",
            b"dn::",
            b"dn: \xff\xfe",
            b"\xef\xbb\xbf",
            b"dn: a\n \n \n",
            b"version: 1",
            b"search: 1\nresult",
        ];
        for s in samples {
            let _ = parse("t", s);
        }
    }
}
