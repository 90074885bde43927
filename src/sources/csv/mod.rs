//! CSV exports: directory exports (accounts with attributes and groups),
//! group nesting, and business systems' role exports, recognised by their
//! headers. Reads what Swedish Excel and PowerShell write: comma, semicolon
//! or tab; UTF-8 with or without BOM, UTF-16 with BOM, or Windows-1252.
//!
//! An account export is read on two threads: one parses the rows and types
//! their dates and flags, the other splits their group cells, interns their
//! attribute values and puts them into the inventory in file order.
//!
//! What an export is (its columns' meanings, its kind, its delimiter and
//! preamble) is recognised in `recognise`; this module reads it. The
//! reading itself (encoding, line numbers, bounded rows, unclosed quotes,
//! refused cells) and the header aliases are shared with the other CSV
//! inputs, the access logs ([`access_log`](crate::sources::access_log)):
//! [`read_path`] opens an export and hands its header and rows to a
//! [`RowConsumer`].

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::Path;

use crate::intern::{Attrs, Sym};
use chrono::NaiveDateTime;

use crate::inventory::{
    Account, AccountId, DirectGrant, Expiry, GroupId, Holder, InventoryBuilder, Origin,
};
use crate::sources::cells::{self, CellProblem};
use crate::sources::values::{set_well_known, WellKnown};
use crate::sources::SourceError;
use crate::text::trim;

mod recognise;

pub(crate) use recognise::{classify_header, fold_header, Column};
use recognise::{detect_delimiter, preamble, Kind, Layout, Preamble};

/// Finds a quoted field that never ends, which the CSV parser would read
/// to the end of the file. Fed the file in chunks, it looks only at quote
/// characters: a quote opens a field when it follows a delimiter, a line
/// end or the start of the file, and inside a field `""` is an escaped
/// quote. Reports where the unclosed quote opened.
struct QuoteScanner {
    delimiter: u8,
    /// Bytes fed so far, and the last of them.
    offset: u64,
    last: Option<u8>,
    quoted: bool,
    /// Inside a field the previous byte was a quote that may be the first
    /// of `""`.
    quote_pending: bool,
    open_at: u64,
}

impl QuoteScanner {
    fn new(delimiter: u8) -> Self {
        QuoteScanner {
            delimiter,
            offset: 0,
            last: None,
            quoted: false,
            quote_pending: false,
            open_at: 0,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let mut skip_to = 0;
        if self.quote_pending {
            self.quote_pending = false;
            if chunk.first() == Some(&b'"') {
                skip_to = 1;
            } else if !chunk.is_empty() {
                self.quoted = false;
            } else {
                self.quote_pending = true;
            }
        }
        let mut from = skip_to;
        while let Some(i) = memchr::memchr(b'"', &chunk[from..]).map(|i| from + i) {
            from = i + 1;
            if self.quoted {
                match chunk.get(i + 1) {
                    Some(b'"') => from = i + 2,
                    Some(_) => self.quoted = false,
                    None => self.quote_pending = true,
                }
            } else {
                let prev = if i == 0 {
                    self.last
                } else {
                    Some(chunk[i - 1])
                };
                if matches!(prev, None | Some(b'\n') | Some(b'\r')) || prev == Some(self.delimiter)
                {
                    self.quoted = true;
                    self.open_at = self.offset + i as u64;
                }
            }
        }
        self.offset += chunk.len() as u64;
        if let Some(&b) = chunk.last() {
            self.last = Some(b);
        }
    }

    /// The offset of a quote still open at the end of the file. Its line
    /// is counted only then, from the bytes before it.
    fn finish(&self) -> Option<u64> {
        (self.quoted && !self.quote_pending).then_some(self.open_at)
    }
}

/// The line (1-based) of byte `offset` of `input`.
#[cfg(test)]
fn line_of(input: impl Read, offset: u64) -> std::io::Result<usize> {
    use std::io::{BufRead, BufReader};
    let mut reader = BufReader::with_capacity(1 << 16, input.take(offset));
    let mut lines = 1;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(lines);
        }
        let n = chunk.len();
        lines += memchr::memchr_iter(b'\n', chunk).count();
        reader.consume(n);
    }
}

#[cfg(test)]
fn unterminated_quote(text: &str, delimiter: u8) -> Option<usize> {
    let mut scanner = QuoteScanner::new(delimiter);
    scanner.feed(text.as_bytes());
    let at = scanner.finish()?;
    line_of(text.as_bytes(), at).ok()
}

/// Splits a cell of several groups (`;` or `|`), taking the CN of a DN.
fn split_groups(cell: &str) -> impl Iterator<Item = &str> {
    // One search over the whole cell; the separators are ASCII, so the
    // parts between them are whole text.
    let mut separators = memchr::memchr3_iter(b'|', b';', b'\n', cell.as_bytes());
    let mut start = Some(0);
    std::iter::from_fn(move || loop {
        let from = start?;
        let part = match separators.next() {
            Some(i) => {
                start = Some(i + 1);
                &cell[from..i]
            }
            None => {
                start = None;
                &cell[from..]
            }
        };
        let part = trim(part);
        if !part.is_empty() {
            return Some(common_name(part));
        }
    })
}

/// The CN of a group written as a DN (`CN=Name,OU=...`), else the name.
fn common_name(s: &str) -> &str {
    if s.len() > 3 && s.as_bytes()[..3].eq_ignore_ascii_case(b"cn=") {
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
}

/// A reader that notes where line ends are, so that a record's line number
/// can be told from its byte offset without keeping the file in memory
/// (the CSV parser's own line count lags by one after a CRLF line end),
/// and watches for a quote that is never closed.
struct Tracker<R> {
    inner: R,
    offset: u64,
    marks: LineMarks,
    quotes: QuoteScanner,
    /// The input has ended.
    eof: bool,
    /// Where the record being read starts: a record longer than
    /// [`MAX_ROW_BYTES`] stops the read.
    record_start: u64,
}

#[derive(Default)]
struct LineMarks {
    /// Offsets of `\r` and `\n` bytes not yet passed, with the byte.
    pending: std::collections::VecDeque<(u64, u8)>,
    line: usize,
}

impl LineMarks {
    /// The line of the record that starts at `byte` (offsets only grow):
    /// line ends before it are counted, and so are those it starts with.
    fn line_at(&mut self, mut byte: u64) -> usize {
        while let Some(&(at, b)) = self.pending.front() {
            if at < byte {
                if b == b'\n' {
                    self.line += 1;
                }
                self.pending.pop_front();
            } else if at == byte {
                if b == b'\n' {
                    self.line += 1;
                }
                self.pending.pop_front();
                byte += 1;
            } else {
                break;
            }
        }
        self.line
    }
}

impl<R: Read> Read for Tracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.offset.saturating_sub(self.record_start) > MAX_ROW_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                RowTooLong,
            ));
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.eof = true;
        }
        self.quotes.feed(&buf[..n]);
        for i in memchr::memchr2_iter(b'\n', b'\r', &buf[..n]) {
            self.marks
                .pending
                .push_back((self.offset + i as u64, buf[i]));
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// The error a [`Tracker`] reads when a row runs past [`MAX_ROW_BYTES`].
#[derive(Debug)]
struct RowTooLong;

impl std::fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a row longer than {} MiB", MAX_ROW_BYTES >> 20)
    }
}

impl std::error::Error for RowTooLong {}

const PREFIX: usize = 64 * 1024;

/// The longest row (or header) an export may have, in bytes. A cell of
/// a few thousand group DNs is a few hundred kilobytes; a row beyond this
/// is a file that is not CSV (or has lost its line ends), and reading it
/// whole would only fill memory.
pub const MAX_ROW_BYTES: u64 = 64 * 1024 * 1024;

/// Reads one CSV export into the inventory, streamed: its encoding is
/// decided once, for the whole file, from its start (see [`Decoding`]).
pub fn read_file(path: &Path, inventory: &mut InventoryBuilder) -> Result<(), SourceError> {
    read_path(path, "--csv", InventoryReader { inventory })
}

/// Reads CSV bytes in any supported encoding; `name` is used in messages.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    inventory: &mut InventoryBuilder,
) -> Result<(), SourceError> {
    read_stream(
        name,
        "--csv",
        bytes,
        Some(bytes.len() as u64),
        InventoryReader { inventory },
    )
}

/// What a reader of one kind of CSV input does with an opened file: it
/// gets the header (checked, decoded) and the rows, validated as every
/// export's are, with their line numbers.
pub(crate) trait RowConsumer {
    type Output;
    fn consume<R: Read + Send>(self, opened: Opened<'_, R>) -> Result<Self::Output, SourceError>;
}

/// An opened CSV file after its header.
pub(crate) struct Opened<'n, R> {
    pub records: Records<'n, R>,
    /// The header's fields, as text.
    pub headers: ::csv::StringRecord,
    /// The header's line.
    pub header_line: usize,
    /// About how many rows follow, to reserve room (see [`estimate_rows`]).
    pub estimated_rows: usize,
}

/// Opens the CSV file at `path` (`flag` is the option that named it, for
/// messages) and hands its rows to `consumer`.
pub(crate) fn read_path<C: RowConsumer>(
    path: &Path,
    flag: &str,
    consumer: C,
) -> Result<C::Output, SourceError> {
    let name = path.display().to_string();
    let unreadable = |e: std::io::Error| {
        SourceError::new(&name, format!("cannot read the file: {e}"))
            .with_help(format!("check the path given with {flag}"))
    };
    let file = File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    let size = meta.len();
    if meta.is_dir() {
        return Err(SourceError::new(&name, "is a folder, not a CSV export")
            .with_help(format!("give {flag} the path of an export file")));
    }
    read_stream(&name, flag, file, Some(size), consumer)
}

/// Reads an export from `input`: the first 64 KiB decide the encoding (a
/// BOM, else UTF-8 as long as the rows are, see [`Decoding`]), the header
/// and the delimiter; the rest is parsed as it is read. UTF-16 (with its
/// BOM, as PowerShell's `-Encoding Unicode` writes it) is transcoded to
/// UTF-8 on the way.
pub(crate) fn read_stream<R: Read + Send, C: RowConsumer>(
    name: &str,
    flag: &str,
    mut input: R,
    size: Option<u64>,
    consumer: C,
) -> Result<C::Output, SourceError> {
    let prefix = read_prefix(name, flag, &mut input)?;
    match encoding_rs::Encoding::for_bom(&prefix) {
        Some((enc, _)) if enc != encoding_rs::UTF_8 => {
            let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .strip_bom(true)
                .build(std::io::Cursor::new(prefix).chain(input));
            // Sizes of UTF-16 text are about twice its UTF-8.
            read_utf8(
                name,
                flag,
                decoded,
                size.map(|s| s / 2),
                Decoding::Utf8 {
                    ascii_so_far: false,
                },
                consumer,
            )
        }
        Some((_, bom)) => {
            let rest = std::io::Cursor::new(prefix[bom..].to_vec()).chain(input);
            read_utf8(
                name,
                flag,
                rest,
                size,
                Decoding::Utf8 {
                    ascii_so_far: false,
                },
                consumer,
            )
        }
        None => read_utf8(
            name,
            flag,
            std::io::Cursor::new(prefix).chain(input),
            size,
            Decoding::Utf8 { ascii_so_far: true },
            consumer,
        ),
    }
}

/// The first 64 KiB of an export (less when it is shorter).
fn read_prefix(name: &str, flag: &str, input: &mut impl Read) -> Result<Vec<u8>, SourceError> {
    let mut prefix = Vec::with_capacity(PREFIX);
    input
        .take(PREFIX as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| {
            SourceError::new(name, format!("cannot read the file: {e}"))
                .with_help(format!("check the path given with {flag}"))
        })?;
    Ok(prefix)
}

/// Reads an export whose BOM, if any, is gone, decoded as `decoding`
/// says row by row.
fn read_utf8<R: Read + Send, C: RowConsumer>(
    name: &str,
    flag: &str,
    mut input: R,
    size: Option<u64>,
    decoding: Decoding,
    consumer: C,
) -> Result<C::Output, SourceError> {
    let prefix = read_prefix(name, flag, &mut input)?;
    let pre = preamble(&prefix);
    let delimiter = pre
        .delimiter
        .unwrap_or_else(|| detect_delimiter(&pre.header));
    let body = prefix.get(pre.skip..).unwrap_or_default();
    let rows = estimate_rows(
        body,
        size.unwrap_or(prefix.len() as u64)
            .saturating_sub(pre.skip as u64),
    );
    let rest = std::io::Cursor::new(body.to_vec()).chain(input);
    let (records, headers) = open_records(name, rest, &pre, delimiter, decoding)?;
    consumer.consume(Opened {
        records,
        headers,
        header_line: pre.lines + 1,
        estimated_rows: rows,
    })
}

/// About how many lines a body of `size` bytes has, from its first bytes:
/// enough room for the rows to be read in without growing the inventory
/// again and again. An estimate that falls short costs only time.
fn estimate_rows(head: &[u8], size: u64) -> usize {
    let lines = memchr::memchr_iter(b'\n', head).count() + 1;
    if size <= head.len() as u64 {
        return lines;
    }
    let per_line = head.len() as f64 / lines as f64;
    // An eighth more, for rows shorter than those at the start.
    ((size as f64 / per_line) * 1.125) as usize + 1
}

fn unclosed_quote(name: &str, line: usize) -> SourceError {
    SourceError::new(format!("{name}:{line}"), "a quoted field is never closed")
        .with_help("a field that starts with `\"` must end with `\"`; double any `\"` inside it")
}

/// The interned values of one column, remembered while there are not too
/// many (departments and titles repeat; e-mail addresses do not).
#[derive(Default)]
struct ValueCache(rustc_hash::FxHashMap<Box<str>, Sym>);

impl ValueCache {
    const MAX: usize = 4096;

    fn get(&mut self, value: &str, inventory: &mut InventoryBuilder) -> Sym {
        if let Some(&sym) = self.0.get(value) {
            return sym;
        }
        let sym = inventory.intern(value);
        if self.0.len() < Self::MAX {
            self.0.insert(value.into(), sym);
        }
        sym
    }
}

/// A record's fields as text, checked as UTF-8 once for the whole record.
pub(crate) struct Row<'r> {
    record: &'r ::csv::ByteRecord,
    text: &'r str,
}

impl<'r> Row<'r> {
    fn new(record: &'r ::csv::ByteRecord) -> Option<Self> {
        let text = simdutf8::basic::from_utf8(record.as_slice()).ok()?;
        Some(Row { record, text })
    }

    /// Field `i`, trimmed; empty when there is no such column.
    pub(crate) fn get(&self, i: Option<usize>) -> &'r str {
        &self.text[self.span(i)]
    }

    /// The row's text, every field and its delimiters.
    pub(crate) fn text(&self) -> &'r str {
        self.text
    }

    /// Where field `i`, trimmed, is in the row's text; empty when there is
    /// no such column.
    pub(crate) fn span(&self, i: Option<usize>) -> Range<usize> {
        let Some(range) = i.and_then(|i| self.record.range(i)) else {
            return 0..0;
        };
        let Some(field) = self.text.get(range.clone()) else {
            return 0..0;
        };
        let trimmed = trim(field);
        let start = range.start + (trimmed.as_ptr() as usize - field.as_ptr() as usize);
        start..start + trimmed.len()
    }
}

/// How the rows of a file are decoded. A file whose first 64 KiB are
/// UTF-8 is read as UTF-8 until a row is not; if every row before it was
/// ASCII, on which Windows-1252 and UTF-8 agree, the file is Windows-1252
/// from the start and that row and the rest are decoded as such.
enum Decoding {
    Utf8 { ascii_so_far: bool },
    Windows1252,
}

impl Decoding {
    /// The record as text: itself, or decoded into `spare`. `None` when a
    /// row is not UTF-8 although earlier rows were UTF-8 beyond ASCII.
    fn row<'r>(
        &mut self,
        record: &'r ::csv::ByteRecord,
        spare: &'r mut ::csv::ByteRecord,
    ) -> Option<Row<'r>> {
        if let Decoding::Utf8 { ascii_so_far } = self {
            match simdutf8::basic::from_utf8(record.as_slice()) {
                Ok(text) => {
                    if *ascii_so_far && !text.is_ascii() {
                        *ascii_so_far = false;
                    }
                    return Some(Row { record, text });
                }
                Err(_) if *ascii_so_far => *self = Decoding::Windows1252,
                Err(_) => return None,
            }
        }
        spare.clear();
        for field in record.iter() {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(field);
            spare.push_field(text.as_bytes());
        }
        Row::new(spare)
    }
}

/// The records of an export after its header, with their lines and text.
pub(crate) struct Records<'n, R> {
    name: &'n str,
    reader: ::csv::Reader<Tracker<R>>,
    /// Lines before the header.
    line_offset: usize,
    record: ::csv::ByteRecord,
    spare: ::csv::ByteRecord,
    decoding: Decoding,
    /// Rows that are not empty, read so far.
    rows: usize,
    /// The header's names, for messages.
    headers: Vec<String>,
}

impl<R: Read> Records<'_, R> {
    /// The file's name, as messages give it.
    pub(crate) fn name(&self) -> &str {
        self.name
    }

    fn line_of(&mut self, byte: u64) -> usize {
        self.reader.get_mut().marks.line_at(byte) + self.line_offset
    }

    fn at(&self, line: usize) -> String {
        format!("{}:{line}", self.name)
    }

    /// The error of a quoted field that is never closed, once the parser
    /// has read a record to the end of the input with a quote still open:
    /// that record is the rest of the file, not a row.
    fn unclosed_quote(&mut self) -> Option<SourceError> {
        let tracker = self.reader.get_ref();
        if !tracker.eof || self.reader.position().byte() != tracker.offset {
            return None;
        }
        let at = tracker.quotes.finish()?;
        let line = self.line_of(at);
        Some(unclosed_quote(self.name, line))
    }

    fn csv_error(&mut self, e: ::csv::Error) -> SourceError {
        if let Some(unclosed) = self.unclosed_quote() {
            return unclosed;
        }
        let location = match e.position() {
            Some(p) => {
                let line = self.line_of(p.byte());
                self.at(line)
            }
            None => {
                let start = self.reader.get_ref().record_start;
                let line = self.line_of(start);
                self.at(line)
            }
        };
        match e.kind() {
            ::csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|e| e.is::<RowTooLong>()) => {
                SourceError::new(
                    location,
                    format!("the row is longer than {} MiB: this is not a CSV export, or its line ends are lost", MAX_ROW_BYTES >> 20),
                )
                .with_help("check that the file is the CSV export itself; rows of an export are at most 64 MiB")
            }
            ::csv::ErrorKind::Io(io) => SourceError::new(location, format!("cannot read the file: {io}")),
            ::csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => SourceError::new(
                location,
                format!("the row has {len} fields, the header has {expected_len}"),
            )
            .with_help("quote fields that contain the delimiter, and check for a missing or extra delimiter"),
            ::csv::ErrorKind::Utf8 { .. } => SourceError::new(location, "the row is not valid text"),
            _ => SourceError::new(location, format!("cannot parse the row: {e}")),
        }
    }

    /// The next row that is not empty, with its line; `None` at the end.
    /// Every row is checked: a row the parser cannot read, a quote never
    /// closed, a row too long, mixed encodings and refused cells (see
    /// [`cells`]) are errors at the row's line.
    pub(crate) fn next_row(&mut self) -> Result<Option<(usize, Row<'_>)>, SourceError> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(self.csv_error(e)),
            }
            let end = self.reader.position().byte();
            self.reader.get_mut().record_start = end;
            if let Some(unclosed) = self.unclosed_quote() {
                return Err(unclosed);
            }
            if self.record.iter().all(|f| f.trim_ascii().is_empty()) {
                continue;
            }
            self.rows += 1;
            let byte = self.record.position().map(|p| p.byte());
            let line = match byte {
                Some(byte) => self.line_of(byte),
                None => 0,
            };
            let name = self.name;
            let Some(row) = self.decoding.row(&self.record, &mut self.spare) else {
                return Err(SourceError::new(
                    format!("{name}:{line}"),
                    "the row is not valid UTF-8, but the file is UTF-8 (its BOM or the rows before it say so): \
                     the file mixes two encodings",
                )
                .with_help("save the export again in one encoding, UTF-8 or Excel's \"CSV (semikolonavgränsad)\""));
            };
            let ascii_export = matches!(self.decoding, Decoding::Utf8 { ascii_so_far: true });
            if let Some((field, problem)) = row_problem(&row, ascii_export) {
                let column = self.headers.get(field).map(String::as_str).unwrap_or("?");
                let (message, help) = problem.describe(column);
                return Err(SourceError::new(format!("{name}:{line}"), message).with_help(help));
            }
            return Ok(Some((line, row)));
        }
    }
}

/// The first field of a row, and what is wrong in it, if an export
/// written the wrong way shows in it (see [`cells`]).
fn row_problem(row: &Row<'_>, ascii_export: bool) -> Option<(usize, CellProblem)> {
    let look = cells::worth_a_look(row.text.as_bytes());
    for i in 0..row.record.len() {
        let Some(range) = row.record.range(i) else {
            continue;
        };
        let Some(field) = row.text.get(range) else {
            continue;
        };
        if !look && !cells::may_be_type_name(field.as_bytes()) {
            continue;
        }
        if let Some(problem) = cells::check(field, ascii_export) {
            return Some((i, problem));
        }
    }
    None
}

impl Layout {
    /// One cache of interned values per column.
    fn value_caches(&self) -> Vec<ValueCache> {
        self.columns.iter().map(|_| ValueCache::default()).collect()
    }
}

/// Parses and checks the header; the records that follow it are read
/// as the caller asks for them.
fn open_records<'n, R: Read>(
    name: &'n str,
    input: R,
    pre: &Preamble,
    delimiter: u8,
    decoding: Decoding,
) -> Result<(Records<'n, R>, ::csv::StringRecord), SourceError> {
    let line_offset = pre.lines;
    if pre.header.trim().is_empty() {
        return Err(SourceError::new(
            format!("{name}:{}", line_offset + 1),
            "the file has no header line",
        )
        .with_help("a CSV export starts with a header such as `account;department;title;group`"));
    }
    let tracker = Tracker {
        inner: input,
        offset: 0,
        marks: LineMarks {
            pending: Default::default(),
            line: 1,
        },
        quotes: QuoteScanner::new(delimiter),
        eof: false,
        record_start: 0,
    };
    let reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 16)
        .from_reader(tracker);
    let mut records = Records {
        name,
        reader,
        line_offset,
        record: ::csv::ByteRecord::new(),
        spare: ::csv::ByteRecord::new(),
        decoding,
        rows: 0,
        headers: Vec::new(),
    };
    let raw_headers = match records.reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(records.csv_error(e)),
    };
    let end = records.reader.position().byte();
    records.reader.get_mut().record_start = end;
    if let Some(unclosed) = records.unclosed_quote() {
        return Err(unclosed);
    }
    // The header is decoded as the rows are: it decides a file without a
    // BOM that is not UTF-8 for Windows-1252 as any row would.
    let header_line = line_offset + 1;
    let mut spare = ::csv::ByteRecord::new();
    let headers: ::csv::StringRecord = match records.decoding.row(&raw_headers, &mut spare) {
        Some(row) => (0..row.record.len())
            .map(|i| {
                row.record
                    .range(i)
                    .and_then(|r| row.text.get(r))
                    .unwrap_or("")
            })
            .collect(),
        None => {
            return Err(SourceError::new(
                format!("{name}:{header_line}"),
                "the header is not valid UTF-8, but the file starts with a UTF-8 BOM",
            )
            .with_help("save the export again in one encoding"))
        }
    };
    records.headers = headers.iter().map(|h| h.trim().to_string()).collect();
    if let Some((field, problem)) = headers
        .iter()
        .enumerate()
        .find_map(|(i, h)| cells::check(h, false).map(|p| (i, p)))
    {
        let (message, help) = problem.describe(headers.get(field).unwrap_or(""));
        return Err(SourceError::new(format!("{name}:{header_line}"), message).with_help(help));
    }
    Ok((records, headers))
}

/// Reads an inventory export (accounts, nesting or role grants, told by
/// its header) into the inventory.
struct InventoryReader<'i> {
    inventory: &'i mut InventoryBuilder,
}

impl RowConsumer for InventoryReader<'_> {
    type Output = ();

    fn consume<R: Read + Send>(self, opened: Opened<'_, R>) -> Result<(), SourceError> {
        let Opened {
            records,
            headers,
            header_line,
            estimated_rows,
        } = opened;
        read_inventory(
            records,
            headers,
            header_line,
            estimated_rows,
            self.inventory,
        )
    }
}

/// Tells the layout of an inventory export by its header and reads its
/// rows.
fn read_inventory<R: Read + Send>(
    mut records: Records<'_, R>,
    headers: ::csv::StringRecord,
    header_line: usize,
    lines: usize,
    inventory: &mut InventoryBuilder,
) -> Result<(), SourceError> {
    let name = records.name;
    let (layout, kind) = recognise::recognise(name, headers, header_line, inventory)?;

    inventory.inputs.push(name.to_string());
    let rows = match kind {
        Kind::Accounts => {
            // A membership export (account and group, one row each) names
            // accounts other exports describe: room for one account a row
            // would be many times too much.
            let memberships_only =
                layout.group.is_some() && layout.account.is_some() && layout.columns.len() == 2;
            if memberships_only {
                read_memberships(records, &layout, inventory)?
            } else {
                inventory.reserve_accounts(lines);
                read_accounts(records, &layout, inventory)?
            }
        }
        Kind::Grants => {
            inventory.grants.reserve_exact(lines);
            read_grants(&mut records, &layout, inventory)?;
            records.rows
        }
        Kind::Nesting => {
            read_nesting(&mut records, &layout, inventory)?;
            records.rows
        }
    };
    if rows == 0 {
        inventory
            .warnings
            .push(format!("{name}: the export has a header but no rows"));
    }
    Ok(())
}

fn missing(name: &str, line: usize, column: &str) -> SourceError {
    SourceError::new(
        format!("{name}:{line}"),
        format!("the `{column}` field is empty"),
    )
}

fn control_in_name(name: &str, line: usize, column: &str, c: char) -> SourceError {
    SourceError::new(
        format!("{name}:{line}"),
        format!(
            "the `{column}` name holds the control character U+{:04X}: a name is one line of text",
            c as u32
        ),
    )
    .with_help("export it again, or remove the character from the name")
}

fn read_grants<R: Read>(
    records: &mut Records<'_, R>,
    layout: &Layout,
    inventory: &mut InventoryBuilder,
) -> Result<(), SourceError> {
    let name = records.name;
    let file = inventory.intern(name);
    let mut caches = layout.value_caches();
    let mut intern =
        |column: Option<usize>, value: &str, inventory: &mut InventoryBuilder| match column {
            Some(i) => caches[i].get(value, inventory),
            None => inventory.intern(value),
        };
    while let Some((line, row)) = records.next_row()? {
        for column in [layout.account, layout.group] {
            if let Some(c) = cells::control_in_name(row.get(column)) {
                let header = &layout.headers[column.unwrap_or(0)];
                return Err(control_in_name(name, line, header, c));
            }
        }
        let holder = if !row.get(layout.account).is_empty() {
            Holder::Account(row.get(layout.account).into())
        } else if !row.get(layout.group).is_empty() {
            Holder::Group(inventory.intern_group(row.get(layout.group)))
        } else {
            return Err(SourceError::new(
                format!("{name}:{line}"),
                "the row names neither an account nor a group",
            ));
        };
        let source = row.get(layout.data_source);
        if source.is_empty() {
            return Err(missing(name, line, "data_source"));
        }
        let role = row.get(layout.role);
        if role.is_empty() {
            return Err(missing(name, line, "role"));
        }
        let scope = row.get(layout.scope);
        let data_source = intern(layout.data_source, source, inventory);
        let role = intern(layout.role, role, inventory);
        let scope = (!scope.is_empty()).then(|| intern(layout.scope, scope, inventory));
        inventory.grants.push(DirectGrant {
            holder,
            data_source,
            role,
            scope,
            origin: Origin::at(file, Some(line)),
        });
    }
    Ok(())
}

fn read_nesting<R: Read>(
    records: &mut Records<'_, R>,
    layout: &Layout,
    inventory: &mut InventoryBuilder,
) -> Result<(), SourceError> {
    let name = records.name;
    let file = inventory.intern(name);
    while let Some((line, row)) = records.next_row()? {
        let parent = row.get(layout.group);
        if parent.is_empty() {
            return Err(missing(name, line, "group"));
        }
        let parent = inventory.intern_group(parent);
        for child in split_groups(row.get(layout.member_group)) {
            let child = inventory.intern_group(child);
            inventory.add_nesting(parent, child, Origin::at(file, Some(line)));
        }
    }
    Ok(())
}

/// An account row read and typed, waiting to go into the inventory.
struct ParsedRow {
    line: usize,
    /// Ranges of the batch's `text`.
    id: Range<usize>,
    display_name: Option<Range<usize>>,
    dn: Option<Range<usize>>,
    /// The cell of groups, split on the inventory's side.
    groups: Range<usize>,
    enabled: Option<bool>,
    expires: Option<Expiry>,
    last_logon: Option<NaiveDateTime>,
    /// A range of the batch's `values`.
    values: Range<usize>,
}

/// Account rows, in file order, from the parsing thread to the inventory.
#[derive(Default)]
struct Batch {
    rows: Vec<ParsedRow>,
    /// The rows' text, one row after another: one buffer for the batch
    /// instead of strings of their own.
    text: String,
    /// Attribute values: the column and a range of `text`. They are
    /// interned on the inventory's side, which has the time, as it has
    /// for splitting group cells.
    values: Vec<(usize, Range<usize>)>,
}

/// Rows per batch. The batches on their way (up to four queued, one being
/// filled, one being put in) are a few hundred kilobytes; at 1,024 rows
/// they were a twentieth of the peak memory of a 100,000-account audit.
const BATCH_ROWS: usize = 256;

/// Attribute lists remembered while reading an account export.
const LISTS_KEPT: usize = 4096;

/// Reads an account export on two threads: one parses the rows and types
/// their dates and flags, the other splits group cells, interns attribute
/// values and puts the rows into the inventory, in file order. Returns the
/// number of rows.
fn read_accounts<R: Read + Send>(
    records: Records<'_, R>,
    layout: &Layout,
    inventory: &mut InventoryBuilder,
) -> Result<usize, SourceError> {
    let name = records.name;
    let file = inventory.intern(name);
    let mut typed = Account::new(Box::default(), Origin::at(file, None));
    let parse = move |batch: &mut Batch, line: usize, row: &Row<'_>, id: Range<usize>| {
        parse_account(batch, line, row, id, layout, name, &mut typed)
    };
    let mut groups: Vec<GroupId> = Vec::new();
    let mut caches = layout.value_caches();
    let mut updates: Vec<(Sym, Sym)> = Vec::new();
    // The attribute lists of new accounts, by the values their rows
    // give: rows repeat a few combinations of department and title.
    let mut lists: rustc_hash::FxHashMap<Box<[(Sym, Sym)]>, Attrs> = Default::default();
    let mut last = Last::default();
    on_two_threads(records, layout, BATCH_ROWS, parse, |batch: Batch| {
        let text = batch.text.as_str();
        for row in batch.rows {
            let origin = Origin::at(file, Some(row.line));
            let account_id = last.id(&text[row.id], |name| inventory.account_id(name, &origin));
            let acc = inventory.edit_account(account_id);
            if let Some(name) = row.display_name {
                acc.display_name = Some(text[name].into());
            }
            if row.enabled.is_some() {
                acc.enabled = row.enabled;
            }
            if row.expires.is_some() {
                acc.expires = row.expires;
            }
            if row.last_logon.is_some() {
                acc.last_logon = row.last_logon;
            }
            let first = acc.attrs.is_empty();
            updates.clear();
            for (column, value) in &batch.values[row.values] {
                if let Some(attr) = layout.names[*column] {
                    let value = caches[*column].get(&text[value.clone()], inventory);
                    updates.push((attr, value));
                }
            }
            let updates = updates.as_slice();
            if first {
                let attrs = match lists.get(updates) {
                    Some(attrs) => attrs.clone(),
                    None => {
                        let attrs = inventory.attrs_of(updates);
                        if lists.len() < LISTS_KEPT {
                            lists.insert(updates.into(), attrs.clone());
                        }
                        attrs
                    }
                };
                inventory.edit_account(account_id).attrs = attrs;
            } else {
                inventory.update_attrs(account_id, updates);
            }
            if let Some(dn) = row.dn {
                inventory.set_dn(account_id, text[dn].into());
            }
            groups.clear();
            for name in split_groups(&text[row.groups]) {
                groups.push(inventory.intern_group(name));
            }
            inventory.add_memberships(account_id, &groups, origin);
        }
    })
}

/// What the previous row's name stood for, which the next row often names
/// again: an export with a row per membership lists an account's rows
/// together (or, group by group, a group's), and names a different one of
/// the other on every row.
struct Last<Id> {
    name: String,
    id: Option<Id>,
}

impl<Id> Default for Last<Id> {
    fn default() -> Self {
        Last {
            name: String::new(),
            id: None,
        }
    }
}

impl<Id: Copy> Last<Id> {
    /// The id of `name`: the previous row's, or what `find` makes of it.
    fn id(&mut self, name: &str, find: impl FnOnce(&str) -> Id) -> Id {
        match self.id {
            Some(id) if self.name == name => id,
            _ => {
                let id = find(name);
                self.name.clear();
                self.name.push_str(name);
                self.id = Some(id);
                id
            }
        }
    }
}

/// Rows of a membership export, in file order, from the parsing thread to
/// the inventory.
#[derive(Default)]
struct MembershipBatch {
    /// Each row's line, where its account's name ends in `text` and where
    /// its group cell ends, the cell following the name.
    rows: Vec<(usize, usize, usize)>,
    /// The rows' names and group cells, one after another.
    text: String,
}

/// Rows per batch of a membership export: its rows are short.
const MEMBERSHIP_BATCH_ROWS: usize = 4096;

/// Reads a membership export (an account and a group a row, as
/// `Get-ADGroupMember` loops and csvde write them) on two threads: one
/// parses and checks the rows, the other names their accounts and groups;
/// once the file is read, each account's memberships go into its list at
/// once, each with its row. The rows are those of an account export with
/// nothing but a group cell; they are read on a path of their own because
/// a first audit has hundreds of thousands of them. Returns the number of
/// rows.
fn read_memberships<R: Read + Send>(
    records: Records<'_, R>,
    layout: &Layout,
    inventory: &mut InventoryBuilder,
) -> Result<usize, SourceError> {
    let file = inventory.intern(records.name);
    let parse = |batch: &mut MembershipBatch, line: usize, row: &Row<'_>, id: Range<usize>| {
        batch.text.push_str(&row.text[id]);
        let name_end = batch.text.len();
        batch.text.push_str(row.get(layout.group));
        batch.rows.push((line, name_end, batch.text.len()));
        Ok(())
    };
    // Every membership with its account and its row's line (0 past
    // 2^32 lines, as origins keep them), to go into the accounts' lists
    // account by account once the file is read: an export written group by
    // group (`Get-ADGroupMember` in a loop) names a different account on
    // every row, and each account's list would otherwise be made again for
    // each of its rows.
    let mut memberships: Blocks<(AccountId, u32, GroupId)> = Blocks::default();
    let mut last = Last::default();
    let mut last_group = Last::default();
    // Each row looks up its account, in any order: by names held together.
    inventory.hold_folded_names();
    let read = on_two_threads(
        records,
        layout,
        MEMBERSHIP_BATCH_ROWS,
        parse,
        |batch: MembershipBatch| {
            let mut start = 0;
            for &(line, name_end, cell_end) in &batch.rows {
                let name = &batch.text[start..name_end];
                let cell = &batch.text[name_end..cell_end];
                start = cell_end;
                let id = last.id(name, |name| {
                    inventory.account_id(name, &Origin::at(file, Some(line)))
                });
                let line = u32::try_from(line).unwrap_or(0);
                for group in split_groups(cell) {
                    let group = last_group.id(group, |name| inventory.intern_group(name));
                    memberships.push((id, line, group));
                }
            }
        },
    );
    inventory.drop_folded_names();
    // The rows before a wrong one go into the inventory, as with any
    // export. An account's rows keep their order: by line, and the groups
    // of one cell, which share their line and their origin, in any order.
    let mut memberships = memberships.into_vec();
    memberships.sort_unstable_by_key(|&(account, line, _)| (account, line));
    let mut rows: Vec<(GroupId, Origin)> = Vec::new();
    for run in memberships.chunk_by(|a, b| a.0 == b.0) {
        rows.clear();
        rows.extend(
            run.iter()
                .map(|&(_, line, group)| (group, Origin::at(file, Some(line as usize)))),
        );
        if let Some(&(account, ..)) = run.first() {
            inventory.add_membership_rows(account, &rows);
        }
    }
    read
}

/// Items held in blocks of a fixed size while their number is not known,
/// then moved into one list of exactly that size. A list reserved from an
/// estimate of the rows (an export whose first rows are short) or grown by
/// doubling holds up to twice what it must, and copies itself as it grows.
struct Blocks<T> {
    full: Vec<Vec<T>>,
    last: Vec<T>,
}

impl<T> Default for Blocks<T> {
    fn default() -> Self {
        Blocks {
            full: Vec::new(),
            last: Vec::new(),
        }
    }
}

/// Items per block: 64 Ki, 768 KiB of memberships.
const BLOCK: usize = 1 << 16;

impl<T: Copy> Blocks<T> {
    fn push(&mut self, item: T) {
        if self.last.len() == BLOCK {
            let full = std::mem::replace(&mut self.last, Vec::with_capacity(BLOCK));
            self.full.push(full);
        } else if self.last.capacity() == 0 {
            self.last.reserve_exact(BLOCK);
        }
        self.last.push(item);
    }

    /// The items in order, in a list of their number; each block is given
    /// back as it is moved.
    fn into_vec(self) -> Vec<T> {
        let count = self.full.len() * BLOCK + self.last.len();
        let mut all = Vec::with_capacity(count);
        for block in self.full.into_iter().chain(std::iter::once(self.last)) {
            all.extend_from_slice(&block);
        }
        all
    }
}

/// Rows read and checked on the parsing thread, on their way to the
/// inventory's.
trait Rows: Default + Send {
    /// How many rows the batch holds.
    fn len(&self) -> usize;
    /// An empty batch with room for as much as this one holds.
    fn like(&self) -> Self;
}

impl Rows for MembershipBatch {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn like(&self) -> Self {
        MembershipBatch {
            rows: Vec::with_capacity(self.rows.len()),
            text: String::with_capacity(self.text.len()),
        }
    }
}

/// Reads the rows of an account or membership export on two threads. One
/// reads each row, checks its account's name (there, and not empty) and
/// gives it to `parse` with the name's place, into batches of
/// `per_batch` rows. This thread gives each batch to `put`, in file
/// order. The rows before a wrong one are put, then its error is
/// returned. Returns the number of rows.
fn on_two_threads<R: Read + Send, B: Rows>(
    records: Records<'_, R>,
    layout: &Layout,
    per_batch: usize,
    parse: impl FnMut(&mut B, usize, &Row<'_>, Range<usize>) -> Result<(), SourceError> + Send,
    mut put: impl FnMut(B),
) -> Result<usize, SourceError> {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<B, SourceError>>(4);
    std::thread::scope(|scope| {
        let parser = scope.spawn(move || parse_rows(records, layout, per_batch, parse, sender));
        let mut failed = None;
        for message in receiver.iter() {
            match message {
                Ok(batch) => put(batch),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        drop(receiver);
        let rows = parser
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        match failed {
            Some(e) => Err(e),
            None => Ok(rows),
        }
    })
}

/// The parsing side of [`on_two_threads`]: sends batches, then an error
/// if a row is wrong, and returns the number of rows.
fn parse_rows<R: Read, B: Rows>(
    mut records: Records<'_, R>,
    layout: &Layout,
    per_batch: usize,
    mut parse: impl FnMut(&mut B, usize, &Row<'_>, Range<usize>) -> Result<(), SourceError>,
    sender: std::sync::mpsc::SyncSender<Result<B, SourceError>>,
) -> usize {
    let name = records.name;
    let column = &layout.headers[layout.account.unwrap_or(0)];
    let mut batch = B::default();
    let failed = loop {
        let (line, row) = match records.next_row() {
            Ok(Some(next)) => next,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        let id = row.span(layout.account);
        if id.is_empty() {
            break Some(missing(name, line, column));
        }
        if let Some(c) = cells::control_in_name(&row.text[id.clone()]) {
            break Some(control_in_name(name, line, column, c));
        }
        if let Err(e) = parse(&mut batch, line, &row, id) {
            break Some(e);
        }
        if batch.len() == per_batch {
            let next = batch.like();
            if sender
                .send(Ok(std::mem::replace(&mut batch, next)))
                .is_err()
            {
                return records.rows;
            }
        }
    };
    let _ = sender.send(Ok(batch));
    if let Some(e) = failed {
        let _ = sender.send(Err(e));
    }
    records.rows
}

impl Rows for Batch {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn like(&self) -> Batch {
        Batch {
            rows: Vec::with_capacity(self.rows.len()),
            text: String::with_capacity(self.text.len()),
            values: Vec::with_capacity(self.values.len()),
        }
    }
}

/// The parsing side of [`read_accounts`] for one row: its text, typed
/// dates and flags, and the places of its other cells, into the batch.
fn parse_account(
    batch: &mut Batch,
    line: usize,
    row: &Row<'_>,
    id: Range<usize>,
    layout: &Layout,
    name: &str,
    typed: &mut Account,
) -> Result<(), SourceError> {
    // The row's text is copied once; its fields are ranges of it.
    let base = batch.text.len();
    batch.text.push_str(row.text);
    let at = |span: Range<usize>| base + span.start..base + span.end;
    let values_start = batch.values.len();
    let groups = at(row.span(layout.group));
    let id = at(id);
    let mut display_name = None;
    let mut dn = None;
    typed.enabled = None;
    typed.expires = None;
    typed.last_logon = None;
    for (i, column) in layout.columns.iter().enumerate() {
        match column {
            // Text attributes, kept as interned values (the well-known
            // ones always have a name; other columns only when kept).
            Column::WellKnown(
                WellKnown::Department | WellKnown::Title | WellKnown::EmployeeType,
            )
            | Column::Other(_)
                if layout.names[i].is_some() =>
            {
                let value = row.span(Some(i));
                if !value.is_empty() {
                    batch.values.push((i, at(value)));
                }
            }
            Column::WellKnown(WellKnown::DisplayName) => {
                let value = row.span(Some(i));
                if !value.is_empty() {
                    display_name = Some(at(value));
                }
            }
            Column::WellKnown(attr) => {
                let value = row.get(Some(i));
                if let Err(bad) = set_well_known(typed, *attr, value) {
                    let e = SourceError::new(
                        format!("{name}:{line}"),
                        format!(
                            "`{}` is not a valid {} value (column `{}`)",
                            value.trim(),
                            bad.attribute,
                            &layout.headers[i]
                        ),
                    )
                    .with_help(format!("expected {}", bad.expected));
                    return Err(e);
                }
            }
            Column::Dn => {
                let value = row.span(Some(i));
                if !value.is_empty() {
                    dn = Some(at(value));
                }
            }
            Column::UserAccountControl if layout.enabled_column.is_none() => {
                let value = row.get(Some(i));
                if value.is_empty() {
                    continue;
                }
                match value.parse::<u32>() {
                    Ok(flags) => typed.enabled = Some(flags & 0x2 == 0),
                    Err(_) => {
                        let e = SourceError::new(
                            format!("{name}:{line}"),
                            format!(
                                "`{}` is not a valid userAccountControl value (column `{}`)",
                                crate::text::escape_controls(value),
                                &layout.headers[i]
                            ),
                        )
                        .with_help(
                            "expected the number AD stores, e.g. 512 (enabled) or 514 (disabled)",
                        );
                        return Err(e);
                    }
                }
            }
            _ => {}
        }
    }
    batch.rows.push(ParsedRow {
        line,
        id,
        display_name,
        dn,
        enabled: typed.enabled,
        expires: typed.expires,
        last_logon: typed.last_logon,
        groups,
        values: values_start..batch.values.len(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;

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
    fn quote_scanning_does_not_depend_on_chunk_boundaries() {
        for text in [
            "a,b\n\"x,y\n1,2\n",
            "a,b\n\"x\ny\",z\n",
            "a,b\n\"x\"\"\",z\n\"open\n",
            "a;b\r\n1;\"2\"\"\r\n",
        ] {
            let whole = unterminated_quote(text, b',');
            let mut scanner = QuoteScanner::new(b',');
            for byte in text.as_bytes().chunks(1) {
                scanner.feed(byte);
            }
            let line = scanner
                .finish()
                .map(|at| line_of(text.as_bytes(), at).unwrap());
            assert_eq!(line, whole, "{text:?}");
        }
        assert_eq!(
            unterminated_quote("a,b\n\"x\"\"\",z\n\"open\n", b','),
            Some(3)
        );
        assert_eq!(unterminated_quote("a;b\r\n1;\"2\"\"\r\n", b';'), Some(2));
    }

    #[test]
    fn group_names_that_start_with_multibyte_letters() {
        // Found by fuzzing: a group cell whose third byte is inside a
        // character (here after Windows-1252 decoding).
        let mut inventory = InventoryBuilder::new();
        let bytes = b"group,member_group\nAlla,\xad\xb8\xd2\xb6ersonal\n";
        assert!(read_bytes("x.csv", bytes, &mut inventory).is_ok());
        assert!(inventory.group("\u{ad}¸Ò¶ersonal").is_some());
        let groups: Vec<&str> = split_groups("åäö;cn=ö,ou=x").collect();
        assert_eq!(groups, vec!["åäö", "ö"]);
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

    /// An export of `rows` ASCII rows, then `last` (raw bytes).
    fn export_ending_in(rows: usize, first: &[u8], last: &[u8]) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let mut text = b"account,display_name,department\n".to_vec();
        text.extend_from_slice(first);
        for i in 0..rows {
            text.extend_from_slice(format!("u{i},User {i},IFO\n").as_bytes());
        }
        text.extend_from_slice(last);
        file.write_all(&text).unwrap();
        file
    }

    #[test]
    fn windows_1252_first_seen_after_the_prefix_is_read_as_such() {
        // 5,000 rows put the first byte beyond ASCII past the first 64 KiB.
        let file = export_ending_in(5000, b"", b"bjorn,Bj\xf6rn \xc5berg,VO\n");
        assert!(std::fs::metadata(file.path()).unwrap().len() > PREFIX as u64);
        let mut inventory = InventoryBuilder::new();
        read_file(file.path(), &mut inventory).unwrap();
        assert_eq!(inventory.accounts().len(), 5001);
        let bjorn = &inventory.accounts()[inventory.account("bjorn").unwrap()];
        assert_eq!(bjorn.display_name.as_deref(), Some("Björn Åberg"));
        assert_eq!(bjorn.attr("department", inventory.names()), Some("VO"));
    }

    #[test]
    fn utf8_then_windows_1252_is_refused_at_the_row() {
        let file = export_ending_in(
            5000,
            "anna,Anna Öberg,IFO\n".as_bytes(),
            b"bjorn,Bj\xf6rn,VO\n",
        );
        let mut inventory = InventoryBuilder::new();
        let err = read_file(file.path(), &mut inventory).unwrap_err();
        let shown = err.to_string();
        // Header, Anna, 5,000 rows, then the Windows-1252 row.
        assert!(shown.contains(":5003"), "{shown}");
        assert!(shown.contains("mixes two encodings"), "{shown}");
    }

    proptest::proptest! {
        /// An export with a quote that is never closed is never read as if
        /// it were whole: the read fails, at the quote's line unless a row
        /// before it is wrong.
        #[test]
        fn an_unclosed_quote_never_reads_as_a_whole_export(
            cells in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("a".to_string()),
                    proptest::strategy::Just("\"b\"".to_string()),
                    proptest::strategy::Just("\"c,d\"".to_string()),
                    proptest::strategy::Just("\"e\"\"f\"".to_string()),
                    proptest::strategy::Just("\"g\nh\"".to_string()),
                    proptest::strategy::Just("\"open".to_string()),
                    proptest::strategy::Just("i\"j".to_string()),
                    proptest::strategy::Just(String::new()),
                ],
                3..60,
            ),
            crlf in proptest::prelude::any::<bool>(),
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("account,department,title{end}");
            for (i, row) in cells.chunks(3).enumerate() {
                let fields: Vec<String> = (0..3)
                    .map(|k| row.get(k).cloned().unwrap_or_default())
                    .collect();
                text.push_str(&format!("u{i},{},{}{end}", fields[1], fields[2]));
            }
            let unclosed = unterminated_quote(&text, b',');
            let mut inventory = InventoryBuilder::new();
            let read = read_bytes("k.csv", text.as_bytes(), &mut inventory);
            if let Some(line) = unclosed {
                let err = read.expect_err("an export with an unclosed quote was read");
                let shown = err.to_string();
                if shown.contains("never closed") {
                    proptest::prop_assert!(shown.contains(&format!("k.csv:{line}")), "{shown} (quote on line {line})");
                }
            } else if let Err(e) = read {
                proptest::prop_assert!(!e.to_string().contains("never closed"), "{e}");
            }
        }
    }

    #[test]
    fn a_bad_value_past_the_first_batches_names_its_line() {
        let mut text = String::from("account,enabled,group\n");
        for i in 0..3000 {
            let enabled = if i == 2500 { "kanske" } else { "ja" };
            text.push_str(&format!("u{i},{enabled},G{}\n", i % 7));
        }
        let mut inventory = InventoryBuilder::new();
        let err = read_bytes("konton.csv", text.as_bytes(), &mut inventory).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("konton.csv:2502"), "{shown}");
        assert!(
            shown.contains("`kanske` is not a valid enabled value"),
            "{shown}"
        );
    }

    #[test]
    fn names_dns_and_attributes_of_accounts_across_batches() {
        let mut text = String::from("account;display_name;dn;department;title\n");
        for i in 0..3000 {
            let dept = ["IFO", "VO", "LSS"][i % 3];
            text.push_str(&format!(
                "u{i};Namn {i};CN=u{i},OU=Anv;{dept};Handläggare\n"
            ));
        }
        // u7 again, with a new title and no display name: the title
        // changes, the name and the department stay.
        text.push_str("u7;;;;Enhetschef\n");
        let mut inventory = InventoryBuilder::new();
        read_bytes("k.csv", text.as_bytes(), &mut inventory).unwrap();
        let inventory = inventory.finish();
        assert_eq!(inventory.accounts.len(), 3000);
        for i in [0, 1, 2, 1500, 2999] {
            let a = &inventory.accounts[inventory.account(&format!("u{i}")).unwrap()];
            assert_eq!(
                a.display_name.as_deref(),
                Some(format!("Namn {i}").as_str())
            );
            assert_eq!(
                a.attr("department", inventory.names()),
                Some(["IFO", "VO", "LSS"][i % 3])
            );
            assert_eq!(a.attr("title", inventory.names()), Some("Handläggare"));
            assert_eq!(
                inventory.dn(inventory.account(&format!("u{i}")).unwrap()),
                Some(format!("CN=u{i},OU=Anv").as_str())
            );
        }
        let u7 = &inventory.accounts[inventory.account("u7").unwrap()];
        assert_eq!(u7.display_name.as_deref(), Some("Namn 7"));
        assert_eq!(u7.attr("department", inventory.names()), Some("VO"));
        assert_eq!(u7.attr("title", inventory.names()), Some("Enhetschef"));
        let u4 = &inventory.accounts[inventory.account("u4").unwrap()];
        assert_eq!(u4.attr("title", inventory.names()), Some("Handläggare"));
    }

    #[test]
    fn accounts_in_many_batches_keep_file_order_and_groups() {
        let mut text = String::from("account;group\n");
        for i in 0..5000 {
            text.push_str(&format!("u{i};G{}|Alla\n", i % 3));
        }
        // The same account again, far from its first row: its groups add up.
        text.push_str("U0;G9\n");
        let mut inventory = InventoryBuilder::new();
        read_bytes("k.csv", text.as_bytes(), &mut inventory).unwrap();
        let inventory = inventory.finish();
        assert_eq!(inventory.accounts.len(), 5000);
        assert_eq!(&*inventory.accounts[4999].id, "u4999");
        assert_eq!(
            inventory.at(inventory.accounts[4999].origin).to_string(),
            "k.csv:5001"
        );
        let u0 = &inventory.accounts[inventory.account("u0").unwrap()];
        let names: Vec<&str> = u0
            .groups()
            .map(|g| inventory.groups[g].name.as_str())
            .collect();
        assert_eq!(names, ["Alla", "G0", "G9"]);
        assert_eq!(
            inventory.members(inventory.group("alla").unwrap()).len(),
            5000
        );
    }

    /// Where a membership was read, as the user sees it.
    fn membership_at(inventory: &Inventory, account: &str, group: &str) -> Option<String> {
        let account = inventory.account(account)?;
        let group = inventory.group(group)?;
        inventory
            .membership_origin(account, group)
            .map(|o| inventory.at(o).to_string())
    }

    #[test]
    fn a_membership_in_a_group_cell_comes_from_the_account_row() {
        let mut inventory = InventoryBuilder::new();
        let text = "account,group
anna,SG-A;SG-B
bo,SG-B
";
        read_bytes("konton.csv", text.as_bytes(), &mut inventory).unwrap();
        let inventory = inventory.finish();
        assert_eq!(
            membership_at(&inventory, "anna", "SG-B").as_deref(),
            Some("konton.csv:2")
        );
        assert_eq!(
            membership_at(&inventory, "bo", "SG-B").as_deref(),
            Some("konton.csv:3")
        );
        assert_eq!(membership_at(&inventory, "bo", "SG-A"), None);
    }

    #[test]
    fn a_membership_export_row_is_the_origin_of_its_membership() {
        let mut inventory = InventoryBuilder::new();
        let accounts = "account,department
anna,IFO
bo,VO
";
        read_bytes("konton.csv", accounts.as_bytes(), &mut inventory).unwrap();
        let memberships = "account,group
bo,SG-A
anna,SG-B
anna,SG-A
cecilia,SG-A
";
        read_bytes("medlemskap.csv", memberships.as_bytes(), &mut inventory).unwrap();
        // A cell of a later account export adds a third source.
        let more = "account,group
anna,SG-C
";
        read_bytes("fler.csv", more.as_bytes(), &mut inventory).unwrap();
        let inventory = inventory.finish();
        let at = |account, group| membership_at(&inventory, account, group);
        assert_eq!(at("bo", "SG-A").as_deref(), Some("medlemskap.csv:2"));
        assert_eq!(at("anna", "SG-B").as_deref(), Some("medlemskap.csv:3"));
        assert_eq!(at("anna", "SG-A").as_deref(), Some("medlemskap.csv:4"));
        assert_eq!(at("anna", "SG-C").as_deref(), Some("fler.csv:2"));
        // An account the membership export made is its row's.
        assert_eq!(at("cecilia", "SG-A").as_deref(), Some("medlemskap.csv:5"));
        // The groups are in name order after `finish`; the origins follow.
        let anna = &inventory.accounts[inventory.account("anna").unwrap()];
        let names: Vec<&str> = anna
            .groups()
            .map(|g| inventory.groups[g].name.as_str())
            .collect();
        assert_eq!(names, ["SG-A", "SG-B", "SG-C"]);
    }

    #[test]
    fn a_membership_export_keeps_each_groups_first_row_across_batches() {
        let mut text = String::from("account,group\n");
        // 3,000 accounts with three rows each: batches end inside runs of
        // an account's rows.
        for i in 0..3000 {
            text.push_str(&format!("u{i},SG-A\nu{i},SG-B\nU{i},sg-a\n"));
        }
        // The first account again, far from its first rows.
        text.push_str("u0,SG-C\n");
        let mut inventory = InventoryBuilder::new();
        read_bytes("medlemskap.csv", text.as_bytes(), &mut inventory).unwrap();
        let inventory = inventory.finish();
        assert_eq!(inventory.accounts.len(), 3000);
        let at = |account, group| membership_at(&inventory, account, group);
        // The account was made by its first row; its other rows are marks.
        assert_eq!(at("u0", "SG-A").as_deref(), Some("medlemskap.csv:2"));
        assert_eq!(at("u0", "SG-B").as_deref(), Some("medlemskap.csv:3"));
        assert_eq!(at("u0", "SG-C").as_deref(), Some("medlemskap.csv:9002"));
        assert_eq!(at("u1365", "SG-A").as_deref(), Some("medlemskap.csv:4097"));
        assert_eq!(at("u1365", "SG-B").as_deref(), Some("medlemskap.csv:4098"));
        assert_eq!(at("u2999", "SG-B").as_deref(), Some("medlemskap.csv:9000"));
        let u1365 = &inventory.accounts[inventory.account("u1365").unwrap()];
        assert_eq!(u1365.groups().len(), 2);
    }

    /// Items held in blocks come back in order, none lost at a block's
    /// end, in a list of exactly their number.
    #[test]
    fn blocks_give_back_every_item_in_order() {
        for count in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 5] {
            let mut blocks = Blocks::default();
            for i in 0..count {
                blocks.push(i as u32);
            }
            let all = blocks.into_vec();
            assert_eq!(all.len(), count);
            assert_eq!(all.capacity(), count);
            assert!(all.iter().enumerate().all(|(i, &x)| x == i as u32));
        }
    }

    #[test]
    fn a_membership_export_by_group_keeps_each_rows_line() {
        // `Get-ADGroupMember` group by group: an account's rows are apart.
        let text = "group,account
SG-A,anna
SG-A,bo
SG-B,anna
SG-B,BO
SG-A,anna
SG-C|SG-D,cecilia
";
        let mut inventory = InventoryBuilder::new();
        read_bytes("medlemskap.csv", text.as_bytes(), &mut inventory).unwrap();
        let inventory = inventory.finish();
        let at = |account, group| membership_at(&inventory, account, group);
        assert_eq!(at("anna", "SG-A").as_deref(), Some("medlemskap.csv:2"));
        assert_eq!(at("bo", "SG-A").as_deref(), Some("medlemskap.csv:3"));
        assert_eq!(at("anna", "SG-B").as_deref(), Some("medlemskap.csv:4"));
        assert_eq!(at("bo", "SG-B").as_deref(), Some("medlemskap.csv:5"));
        assert_eq!(at("cecilia", "SG-D").as_deref(), Some("medlemskap.csv:7"));
        let groups = |account| {
            let id = inventory.account(account).unwrap();
            inventory.accounts[id]
                .groups()
                .map(|g| inventory.groups[g].name.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(groups("anna"), ["SG-A", "SG-B"]);
        assert_eq!(groups("bo"), ["SG-A", "SG-B"]);
        assert_eq!(groups("cecilia"), ["SG-C", "SG-D"]);
        assert_eq!(inventory.accounts.len(), 3);
    }

    #[test]
    fn a_wrong_membership_row_fails_at_its_line() {
        for (bad, message) in [
            (",SG-A", "the `account` field is empty"),
            ("u\u{7}x,SG-A", "control character U+0007"),
        ] {
            let mut text = String::from("account,group\n");
            for i in 0..5000 {
                text.push_str(&format!("u{i},SG-A\n"));
            }
            text.push_str(bad);
            text.push_str("\nu9,SG-B\n");
            let mut inventory = InventoryBuilder::new();
            let e = read_bytes("medlemskap.csv", text.as_bytes(), &mut inventory)
                .expect_err("a wrong row is refused");
            let shown = e.to_string();
            assert!(shown.contains("medlemskap.csv:5002"), "{shown}");
            assert!(shown.contains(message), "{shown}");
        }
    }

    #[test]
    fn a_nesting_export_row_is_the_origin_of_its_nesting() {
        let mut inventory = InventoryBuilder::new();
        let text = "group,member_group
SG-Las,SG-IFO;SG-VO
SG-Alla,SG-Las
";
        read_bytes("nastling.csv", text.as_bytes(), &mut inventory).unwrap();
        let inventory = inventory.finish();
        let g = |name| inventory.group(name).unwrap();
        let at = |parent, child| {
            inventory
                .nesting_origin(g(parent), g(child))
                .map(|o| inventory.at(o).to_string())
        };
        assert_eq!(at("SG-Las", "SG-VO").as_deref(), Some("nastling.csv:2"));
        assert_eq!(at("SG-Alla", "SG-Las").as_deref(), Some("nastling.csv:3"));
        assert_eq!(at("SG-Las", "SG-Alla"), None);
    }
}
