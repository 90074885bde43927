//! LDIF files (RFC 2849): directory exports made with `ldapsearch` or
//! `ldifde`, read into directory entries that [`directory`](super::directory)
//! maps to the inventory exactly as it maps entries read over LDAP.
//!
//! The file is streamed: it is read line by line, the lines of one record
//! (up to a blank line) are unfolded into one reused buffer, and that
//! record's entry is mapped before the next record is read. Memory holds
//! the inventory and one record, never the file or all of its entries.
//! [`parse`] runs the same reader over bytes in memory.
//!
//! Folded lines, comments, `version:`, base64 (`::`) values and
//! `changetype: add` are read; URL values (`:<`), other change types and
//! malformed lines are errors that name the file and line. An `ldapsearch`
//! result trailer that reports anything but success, or a ranged attribute
//! that stops short, means the export is incomplete, which is also an
//! error. A file that fails part-way fails the whole read: the entries
//! mapped before the error are left in an inventory that the caller
//! discards.

use std::io::{BufRead, Read};
use std::path::Path;

use std::sync::Arc;

use crate::inventory::InventoryBuilder;
use crate::sources::directory::{self, DirEntry, Mapping};
use crate::sources::SourceError;

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

/// Reads one LDIF export into the inventory, mapping each entry as it is
/// read.
pub fn read_file(
    path: &Path,
    mapping: &Mapping,
    inventory: &mut InventoryBuilder,
) -> Result<(), SourceError> {
    let name = path.display().to_string();
    let mut file = std::fs::File::open(path).map_err(|e| read_error(&name, &e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(SourceError::new(&name, "is a folder, not an LDIF export")
            .with_help("give --ldif the path of an export file"));
    }
    inventory.inputs.push(name.clone());
    let mut start = [0u8; 2];
    let n = read_up_to(&mut file, &mut start).map_err(|e| read_error(&name, &e))?;
    let head = std::io::Cursor::new(start[..n].to_vec()).chain(file);
    match utf16_bom(&start[..n]) {
        // `ldifde -u` writes UTF-16 little-endian with a BOM: transcoded
        // to UTF-8 as it is read. A lone surrogate becomes U+FFFD, which
        // the mapping refuses in any value it keeps.
        Some(encoding) => {
            let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .strip_bom(true)
                .build(head);
            let reader = std::io::BufReader::with_capacity(READ_BUFFER, decoded);
            read(&name, reader, mapping, inventory)
        }
        None => {
            let reader = std::io::BufReader::with_capacity(READ_BUFFER, head);
            read(&name, reader, mapping, inventory)
        }
    }
}

/// The UTF-16 encoding a file's first bytes declare by their BOM.
fn utf16_bom(start: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    match start {
        [0xff, 0xfe, ..] => Some(encoding_rs::UTF_16LE),
        [0xfe, 0xff, ..] => Some(encoding_rs::UTF_16BE),
        _ => None,
    }
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the input.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// How much of the file is read at a time.
const READ_BUFFER: usize = 64 * 1024;

/// The longest line, and the longest value after unfolding, that an LDIF
/// export may have: a photo is a few hundred kilobytes of base64.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// The most text one entry may hold: a group of a million members'
/// DNs is about 60 MiB.
pub const MAX_RECORD_BYTES: usize = 256 * 1024 * 1024;

/// A line, value or entry past its limit, at a line of the file.
#[derive(Debug)]
struct TooLong {
    line: usize,
    what: &'static str,
    limit: usize,
}

impl TooLong {
    fn error(line: usize, what: &'static str, limit: usize) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            TooLong { line, what, limit },
        )
    }
}

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a {} longer than {} MiB", self.what, self.limit >> 20)
    }
}

impl std::error::Error for TooLong {}

fn read_error(name: &str, e: &std::io::Error) -> SourceError {
    SourceError::new(name, format!("cannot read the file: {e}"))
        .with_help("check the path given with --ldif")
}

/// Maps the entries of `reader` to the inventory as they are read.
fn read(
    name: &str,
    reader: impl BufRead,
    mapping: &Mapping,
    inventory: &mut InventoryBuilder,
) -> Result<(), SourceError> {
    let mut builder = directory::Builder::new(mapping);
    let mut entries = Entries::new(name, reader);
    while let Some(entry) = entries.next() {
        if let Err(mapping_error) = builder.add(entry?, inventory) {
            // An error in the file itself, anywhere in it, is reported
            // first, as it was when the whole file was parsed before
            // mapping: it is the likelier cause, e.g. an export cut short
            // ends with a half entry and then its `result:` trailer.
            for later in entries {
                later?;
            }
            return Err(mapping_error);
        }
    }
    builder.finish(inventory)
}

/// Parses LDIF bytes into directory entries; `name` is used in messages.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Vec<DirEntry>, SourceError> {
    match utf16_bom(bytes) {
        Some(encoding) => {
            let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .strip_bom(true)
                .build(bytes);
            Entries::new(name, std::io::BufReader::new(decoded)).collect()
        }
        None => Entries::new(name, bytes).collect(),
    }
}

/// One line after unfolding: its first line number and its text.
struct Logical<'a> {
    line: usize,
    text: &'a [u8],
}

/// Where an unfolded line starts in [`Record::text`]; it ends where the
/// next one starts.
struct Span {
    line: usize,
    start: usize,
}

/// The unfolded lines of one record, one after another in one buffer
/// that is reused from record to record.
#[derive(Default)]
struct Record {
    text: Vec<u8>,
    spans: Vec<Span>,
}

impl Record {
    fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn push(&mut self, line: usize, text: &[u8]) {
        self.spans.push(Span {
            line,
            start: self.text.len(),
        });
        self.text.extend_from_slice(text);
    }

    /// Appends a continuation to the last line.
    fn continue_last(&mut self, text: &[u8]) {
        self.text.extend_from_slice(text);
    }

    /// The length of the last line so far, unfolded.
    fn last_len(&self) -> usize {
        self.spans
            .last()
            .map_or(0, |span| self.text.len() - span.start)
    }

    fn lines(&self) -> impl Iterator<Item = Logical<'_>> {
        self.spans.iter().enumerate().map(|(i, span)| {
            let end = self
                .spans
                .get(i + 1)
                .map_or(self.text.len(), |next| next.start);
            Logical {
                line: span.line,
                text: &self.text[span.start..end],
            }
        })
    }
}

/// Splits a stream into records of unfolded lines. Comments (and their
/// folded continuations) are dropped; blank lines end a record.
struct Records<R> {
    reader: R,
    /// The physical line being read; reused.
    buffer: Vec<u8>,
    /// The number of the last physical line read.
    line: usize,
    in_comment: bool,
}

impl<R: BufRead> Records<R> {
    fn new(reader: R) -> Self {
        Records {
            reader,
            buffer: Vec::new(),
            line: 0,
            in_comment: false,
        }
    }

    /// Reads the next record into `record`; `false` at the end.
    fn next_into(&mut self, record: &mut Record) -> std::io::Result<bool> {
        record.clear();
        loop {
            self.buffer.clear();
            let read = (&mut self.reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buffer)?;
            if read == 0 {
                return Ok(!record.is_empty());
            }
            self.line += 1;
            if self.buffer.len() > MAX_LINE_BYTES {
                return Err(TooLong::error(self.line, "line", MAX_LINE_BYTES));
            }
            if record.last_len() > MAX_LINE_BYTES {
                return Err(TooLong::error(
                    self.line,
                    "value (unfolded)",
                    MAX_LINE_BYTES,
                ));
            }
            if record.text.len() > MAX_RECORD_BYTES {
                return Err(TooLong::error(self.line, "entry", MAX_RECORD_BYTES));
            }
            let mut line = self.buffer.as_slice();
            if self.line == 1 {
                line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
            }
            line = line.strip_suffix(b"\n").unwrap_or(line);
            line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(rest) = line.strip_prefix(b" ") {
                if self.in_comment {
                    continue;
                }
                if record.is_empty() {
                    // A continuation with nothing to continue: kept as its
                    // own line so that parsing reports it.
                    record.push(self.line, line);
                } else {
                    record.continue_last(rest);
                }
                continue;
            }
            self.in_comment = false;
            if line.is_empty() {
                if !record.is_empty() {
                    return Ok(true);
                }
                continue;
            }
            if line.starts_with(b"#") {
                self.in_comment = true;
                continue;
            }
            record.push(self.line, line);
        }
    }
}

/// The entries of an LDIF stream, parsed one record at a time; nothing
/// follows the first error.
struct Entries<'n, R> {
    name: &'n str,
    /// `name`, shared by the entries.
    source: Arc<str>,
    records: Records<R>,
    record: Record,
    /// Records read so far: only the first may be `version:`.
    count: usize,
    done: bool,
}

impl<'n, R: BufRead> Entries<'n, R> {
    fn new(name: &'n str, reader: R) -> Self {
        Entries {
            name,
            source: Arc::from(name),
            records: Records::new(reader),
            record: Record::default(),
            count: 0,
            done: false,
        }
    }

    fn next_entry(&mut self) -> Result<Option<DirEntry>, SourceError> {
        let name = self.name;
        let at = |line: usize, msg: String| SourceError::new(format!("{name}:{line}"), msg);
        loop {
            let more = self.records.next_into(&mut self.record).map_err(|e| {
                match e.get_ref().and_then(|inner| inner.downcast_ref::<TooLong>()) {
                    Some(long) => SourceError::new(
                        format!("{name}:{}", long.line),
                        format!("{long}: this is not an LDIF export, or it is damaged"),
                    )
                    .with_help(
                        "an LDIF line is at most 64 MiB and an entry at most 256 MiB; check that the file is the export itself",
                    ),
                    None => read_error(name, &e),
                }
            })?;
            if !more {
                return Ok(None);
            }
            let first_record = self.count == 0;
            self.count += 1;
            let mut lines = self.record.lines();
            let Some(first) = lines.next() else {
                continue;
            };
            let (desc, value) = attr_value(name, &first)?;
            let entry_lines = if first_record && desc.eq_ignore_ascii_case("version") {
                if value != b"1" {
                    return Err(at(first.line, "only LDIF version 1 is read".into()));
                }
                // `version: 1` alone, or directly followed by the first
                // entry.
                lines
            } else if desc.eq_ignore_ascii_case("ref") {
                // ldapsearch's search references: references to other
                // naming contexts (DomainDnsZones, Configuration...), not
                // entries.
                continue;
            } else if desc.eq_ignore_ascii_case("search") {
                // ldapsearch's result trailer (`ldapsearch -L`).
                for l in lines {
                    let (d, v) = attr_value(name, &l)?;
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
            } else {
                self.record.lines()
            };
            if let Some(entry) = entry(name, &self.source, entry_lines)? {
                return Ok(Some(entry));
            }
        }
    }
}

impl<R: BufRead> Iterator for Entries<'_, R> {
    type Item = Result<DirEntry, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_entry().transpose();
        self.done = !matches!(next, Some(Ok(_)));
        next
    }
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

/// One record's lines: `dn:` first, then attributes. `None` for no lines.
fn entry<'a>(
    name: &str,
    source: &Arc<str>,
    mut lines: impl Iterator<Item = Logical<'a>>,
) -> Result<Option<DirEntry>, SourceError> {
    let Some(first) = lines.next() else {
        return Ok(None);
    };
    let at = |line: usize, msg: String| SourceError::new(format!("{name}:{line}"), msg);
    let (desc, value) = attr_value(name, &first)?;
    if !desc.eq_ignore_ascii_case("dn") {
        return Err(at(
            first.line,
            format!("an entry must start with `dn:`, not `{desc}:`"),
        )
        .with_help("separate entries by one blank line; each starts with its `dn:` line"));
    }
    let dn =
        String::from_utf8(value).map_err(|_| at(first.line, "the DN is not valid UTF-8".into()))?;
    let mut entry = DirEntry::new(dn, source, Some(first.line));
    for l in lines {
        let (desc, value) = attr_value(name, &l)?;
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
                if entry.attrs.len() >= directory::MAX_ATTRIBUTES && entry.values(base).is_empty() {
                    return Err(at(
                        l.line,
                        format!(
                            "the entry has more than {} different attributes",
                            directory::MAX_ATTRIBUTES
                        ),
                    )
                    .with_help("no directory entry has that many: check that the file is an export of a directory"));
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
    use crate::inventory::Inventory;

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
        assert_eq!(entries[0].line.map(|l| l.get()), Some(6));
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
    fn an_entry_of_more_attributes_than_any_directory_has_is_refused() {
        let entry_of = |attributes: usize, values: usize| {
            let mut text = String::from("dn: cn=a,dc=x\n");
            for i in 0..attributes {
                text.push_str(&format!("x-attr-{i}: v\n"));
            }
            for i in 0..values {
                text.push_str(&format!("member: cn=u{i},dc=x\n"));
            }
            text
        };
        // The limit itself, and many values of one attribute, are read.
        let entries = parse(
            "t",
            entry_of(directory::MAX_ATTRIBUTES - 1, 5000).as_bytes(),
        )
        .unwrap();
        assert_eq!(entries[0].attrs.len(), directory::MAX_ATTRIBUTES);
        assert_eq!(entries[0].values("member").len(), 5000);
        // One more is refused at its line: the DN is line 1.
        let err = parse("t", entry_of(directory::MAX_ATTRIBUTES + 1, 0).as_bytes()).unwrap_err();
        assert_eq!(err.location, format!("t:{}", directory::MAX_ATTRIBUTES + 2));
        assert!(err.message.contains("different attributes"), "{err}");
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

    /// An export using every form the reader knows: BOM, CRLF, `version:`
    /// sharing the first record, comments with folded continuations inside
    /// and between records, folded and base64 values, a group whose members
    /// come before and after it, a search reference and a success trailer.
    const EVERY_FORM: &str = "\u{feff}version: 1\r\ndn: uid=anna,ou=p,dc=x\r\nobjectClass: inetOrgPerson\r\n# inside\r\n  a record\r\nuid: an\r\n na\r\ncn:: QW5uYSDDhWJlcmc=\r\ndescription: a long value, fol\r\n ded where a read buffer may end\r\n\r\n# between\r\n records\r\n\r\ndn: cn=G,ou=g,dc=x\r\nobjectClass: groupOfNames\r\ncn: G\r\nmember: uid=anna,ou=p,dc=x\r\nmember: uid=bo,\r\n ou=p,dc=x\r\n\r\ndn:: dWlkPWJvLG91PXAsZGM9eA==\r\nobjectClass: inetOrgPerson\r\nuid: bo\r\n\r\n# search reference\r\nref: ldap://x/DC=DomainDnsZones,DC=x\r\n\r\n# search result\r\nsearch: 2\r\nresult: 0 Success\r\n";

    /// Small read buffers, so that lines and their folds are cut at every
    /// place, and the buffer of a real read.
    const CAPACITIES: [usize; 6] = [1, 2, 3, 7, 64, READ_BUFFER];

    /// What a test compares of an inventory: accounts with their DNs and
    /// groups.
    fn shown(inventory: &Inventory) -> String {
        let accounts: Vec<String> = inventory
            .accounts
            .iter()
            .enumerate()
            .map(|(id, a)| {
                format!(
                    "{a:?} {:?}",
                    inventory.dn(crate::inventory::AccountId::at(id))
                )
            })
            .collect();
        format!("{accounts:#?}\n{:#?}", inventory.groups)
    }

    /// Streams `text` through a read buffer of `capacity` bytes.
    fn read_with(capacity: usize, text: &[u8]) -> Result<Inventory, SourceError> {
        let mut inventory = InventoryBuilder::new();
        let reader = std::io::BufReader::with_capacity(capacity, text);
        read("t", reader, &Mapping::from_config(None), &mut inventory)?;
        let inventory = inventory.finish();
        Ok(inventory)
    }

    #[test]
    fn every_form_reads_as_written() {
        let entries = parse("t", EVERY_FORM.as_bytes()).unwrap();
        let dns: Vec<&str> = entries.iter().map(|e| e.dn.as_str()).collect();
        assert_eq!(
            dns,
            ["uid=anna,ou=p,dc=x", "cn=G,ou=g,dc=x", "uid=bo,ou=p,dc=x"]
        );
        assert_eq!(entries[0].line.map(|l| l.get()), Some(2));
        assert_eq!(values(&entries[0], "uid"), ["anna"]);
        assert_eq!(values(&entries[0], "cn"), ["Anna Åberg"]);
        assert_eq!(
            values(&entries[0], "description"),
            ["a long value, folded where a read buffer may end"]
        );
        assert_eq!(
            values(&entries[1], "member"),
            ["uid=anna,ou=p,dc=x", "uid=bo,ou=p,dc=x"]
        );
        let inventory = read_with(READ_BUFFER, EVERY_FORM.as_bytes()).unwrap();
        let g = inventory.group("G").expect("the group is read");
        let mut members: Vec<&str> = inventory
            .members(g)
            .into_iter()
            .map(|a| &*inventory.accounts[a].id)
            .collect();
        members.sort();
        assert_eq!(members, ["anna", "bo"]);
    }

    /// Where the read buffer ends, inside a line or a fold, changes
    /// nothing: every buffer gives the entries and the inventory of the
    /// bytes read whole.
    #[test]
    fn any_read_buffer_reads_as_the_whole_bytes() {
        let text = EVERY_FORM.as_bytes();
        let whole = parse("t", text).unwrap();
        let mut expected = InventoryBuilder::new();
        directory::add_entries(whole.clone(), &Mapping::from_config(None), &mut expected).unwrap();
        let expected = expected.finish();
        for capacity in CAPACITIES {
            let reader = std::io::BufReader::with_capacity(capacity, text);
            let streamed: Vec<DirEntry> =
                Entries::new("t", reader).collect::<Result<_, _>>().unwrap();
            assert_eq!(
                format!("{streamed:?}"),
                format!("{whole:?}"),
                "buffer of {capacity}"
            );
            let inventory = read_with(capacity, text).unwrap();
            assert_eq!(shown(&inventory), shown(&expected), "buffer of {capacity}");
        }
    }

    /// An error in the last record, after entries already mapped, still
    /// fails the read and names its line, whatever the read buffer.
    #[test]
    fn an_error_in_the_last_record_fails_the_read() {
        let mut good = String::new();
        for i in 0..1000 {
            good.push_str(&format!(
                "dn: uid=u{i},ou=p,dc=x\nobjectClass: inetOrgPerson\nuid: u{i}\ncn: U {i}\n\n"
            ));
        }
        assert!(good.len() > READ_BUFFER, "the good part spans read buffers");
        assert!(read_with(READ_BUFFER, good.as_bytes()).is_ok());
        let before = good.lines().count();
        let cases = [
            ("dn: cn=a\ncn: a\nno colon here\n", 3),
            ("dn: cn=a\njpegPhoto:< file:///x\n", 2),
            ("dn: cn=a\ncn:: !!!\n", 2),
            ("cn: a\n", 1),
            ("dn: cn=a\nchangetype: delete\n", 2),
            ("dn: cn=a\ncontrol: 1.2.840.113556.1.4.805\n", 2),
            ("dn: cn=a\nmember;range=0-1499: cn=b\n", 2),
            ("search: 2\nresult: 4 Size limit exceeded\n", 2),
            ("version: 1\n", 1),
        ];
        for (last, line) in cases {
            let text = format!("{good}{last}");
            for capacity in CAPACITIES {
                let location = read_with(capacity, text.as_bytes())
                    .err()
                    .map(|e| e.location);
                assert_eq!(
                    location,
                    Some(format!("t:{}", before + line)),
                    "{last:?}, buffer of {capacity}"
                );
            }
        }
    }

    /// As when the whole file was parsed before any entry was mapped, an
    /// error in the file's form comes before an entry that cannot be
    /// mapped: a cut-off export ends with a half entry and then the
    /// trailer that says why.
    #[test]
    fn an_error_in_the_file_comes_before_an_unmappable_entry() {
        let half_group = "dn: cn=a,dc=x\nobjectClass: group\n\n";
        let text =
            format!("{half_group}# search result\nsearch: 2\nresult: 4 Size limit exceeded\n");
        let err = read_with(READ_BUFFER, text.as_bytes()).unwrap_err();
        assert_eq!(err.location, "t:6");
        assert!(err.message.contains("incomplete"), "{err}");
        // Alone, the half entry is the error.
        let err = read_with(READ_BUFFER, half_group.as_bytes()).unwrap_err();
        assert_eq!(err.location, "t:1");
        assert!(err.message.contains("has no"), "{err}");
    }

    /// A read that breaks off (a network share gone) fails the read; it is
    /// not the end of the file.
    #[test]
    fn a_read_that_breaks_off_fails() {
        struct BreaksOff<'a>(&'a [u8]);
        impl std::io::Read for BreaksOff<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Err(std::io::Error::other("the share went away"));
                }
                let n = self.0.len().min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut inventory = InventoryBuilder::new();
        let reader = std::io::BufReader::with_capacity(16, BreaksOff(EVERY_FORM.as_bytes()));
        let err = read("t", reader, &Mapping::from_config(None), &mut inventory).unwrap_err();
        assert_eq!(err.location, "t");
        assert!(err.message.contains("the share went away"), "{err}");
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

    #[test]
    fn a_membership_comes_from_the_group_entry() {
        let text = "\
dn: uid=anna,ou=p,dc=x
objectClass: inetOrgPerson
uid: anna

dn: cn=SG-Las,ou=g,dc=x
objectClass: groupOfNames
cn: SG-Las
member: uid=anna,ou=p,dc=x
member: cn=SG-IFO,ou=g,dc=x

dn: cn=SG-IFO,ou=g,dc=x
objectClass: groupOfNames
cn: SG-IFO
member: uid=anna,ou=p,dc=x
member: uid=bo,ou=p,dc=x

dn: uid=bo,ou=p,dc=x
objectClass: inetOrgPerson
uid: bo
";
        let mut inventory = InventoryBuilder::new();
        let entries = parse("katalog.ldif", text.as_bytes()).unwrap();
        directory::add_entries(entries, &Mapping::from_config(None), &mut inventory).unwrap();
        let inventory = inventory.finish();
        let a = |name| inventory.account(name).unwrap();
        let g = |name| inventory.group(name).unwrap();
        let at = |account, group| {
            inventory
                .membership_origin(a(account), g(group))
                .map(|o| inventory.at(o).to_string())
        };
        assert_eq!(at("anna", "SG-Las").as_deref(), Some("katalog.ldif:5"));
        assert_eq!(at("anna", "SG-IFO").as_deref(), Some("katalog.ldif:11"));
        // A member read before its entry is resolved at the end, from
        // the same group entry.
        assert_eq!(at("bo", "SG-IFO").as_deref(), Some("katalog.ldif:11"));
        assert_eq!(at("bo", "SG-Las"), None);
        let nesting = inventory.nesting_origin(g("SG-Las"), g("SG-IFO"));
        assert_eq!(
            nesting.map(|o| inventory.at(o).to_string()).as_deref(),
            Some("katalog.ldif:5")
        );
    }
}
