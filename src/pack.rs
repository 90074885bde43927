//! Findings held compactly between evaluation and the report. An audit
//! finds its findings while the inventory is still in memory; held as
//! [`Finding`]s (a struct of 384 bytes and a string for each of a dozen
//! fields) tens of thousands of them beside the inventory made the
//! audit's peak. Evaluation packs each chunk of findings into bytes on the
//! thread that found them, with the texts that repeat within the chunk
//! (data sources, groups, roles, scopes, paths, grants, and a message's
//! text around its account's name) stored once; once the
//! inventory is freed the report unpacks them, chunk by chunk, each
//! chunk's bytes freed as its findings are made.
//!
//! A finding that carries reasons or evidence of use (what `explain` and
//! the access logs add) is kept whole in its chunk, in its place.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::findings::{Classification, Finding, Place, Rule, Severity, Status};

/// Findings packed chunk by chunk, in the order they were packed.
#[derive(Debug, Default)]
pub struct Packed {
    chunks: Vec<Chunk>,
    len: usize,
}

impl Packed {
    /// Adds a chunk's findings after those already held.
    pub fn push(&mut self, chunk: Chunk) {
        if chunk.len > 0 {
            self.len += chunk.len;
            self.chunks.push(chunk);
        }
    }

    /// How many findings are held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes the packed findings take (their records and texts; the
    /// findings kept whole as their structs).
    pub fn size(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| {
                c.bytes.capacity()
                    + c.texts.all.capacity()
                    + c.texts.ends.capacity() * std::mem::size_of::<usize>()
                    + c.whole.len() * std::mem::size_of::<Finding>()
            })
            .sum()
    }

    /// The account of each finding (`None` for a finding on no account),
    /// in order, read without unpacking the findings.
    pub fn accounts(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        self.chunks.iter().flat_map(Chunk::accounts)
    }

    /// The findings, in the order they were packed. Each chunk's memory
    /// is given back as its findings are made. `None` if the bytes are
    /// not what [`Chunk::pack`] wrote (which it always writes: a `None`
    /// here is a defect, reported as such rather than as fewer findings).
    pub fn unpack(self) -> Option<Vec<Finding>> {
        let mut findings = Vec::with_capacity(self.len);
        for chunk in self.chunks {
            chunk.unpack_into(&mut findings)?;
        }
        Some(findings)
    }
}

/// The findings of one chunk as bytes: one record per finding, texts that
/// repeat referred to by their place in `texts`.
#[derive(Debug, Default)]
pub struct Chunk {
    bytes: Vec<u8>,
    texts: Texts,
    files: Vec<Arc<str>>,
    /// The findings kept whole, in order; their records say only so.
    whole: Vec<Finding>,
    len: usize,
}

/// A record's first byte: the finding is in the record, or is the next
/// of the chunk's whole findings.
const PACKED: u8 = 0;
const WHOLE: u8 = 1;

impl Chunk {
    /// Packs `findings`, leaving the list empty (its memory kept, to be
    /// filled again).
    pub fn pack(findings: &mut Vec<Finding>) -> Chunk {
        let mut chunk = Chunk {
            len: findings.len(),
            ..Chunk::default()
        };
        let mut writer = Writer {
            record: Vec::new(),
            texts: &mut chunk.texts,
            files: &mut chunk.files,
            known: FxHashMap::default(),
            known_files: FxHashMap::default(),
        };
        let bytes = &mut chunk.bytes;
        for finding in findings.iter() {
            if keep_whole(finding) {
                bytes.push(WHOLE);
                continue;
            }
            // The account first, then the length of the rest: readers of
            // the accounts skip the rest.
            bytes.push(PACKED);
            put_optional_str(bytes, finding.account.as_deref());
            writer.record.clear();
            writer.finding(finding);
            put_number(bytes, writer.record.len() as u64);
            bytes.extend_from_slice(&writer.record);
        }
        drop(writer);
        chunk.bytes.shrink_to_fit();
        chunk.texts.all.shrink_to_fit();
        chunk.texts.ends.shrink_to_fit();
        for finding in findings.drain(..) {
            if keep_whole(&finding) {
                chunk.whole.push(finding);
            }
        }
        chunk
    }

    fn accounts(&self) -> Accounts<'_> {
        Accounts {
            chunk: self,
            reader: Reader {
                bytes: &self.bytes,
                at: 0,
            },
            whole: 0,
            left: self.len,
        }
    }

    fn unpack_into(self, out: &mut Vec<Finding>) -> Option<()> {
        let mut reader = Reader {
            bytes: &self.bytes,
            at: 0,
        };
        let mut whole = self.whole.into_iter();
        for _ in 0..self.len {
            match reader.byte()? {
                WHOLE => out.push(whole.next()?),
                PACKED => out.push(reader.finding(&self.texts, &self.files)?),
                _ => return None,
            }
        }
        (reader.at == self.bytes.len() && whole.next().is_none()).then_some(())
    }
}

/// Texts one after another in one string, each known by its place.
#[derive(Debug, Default)]
struct Texts {
    all: String,
    /// Where each text ends in `all`.
    ends: Vec<usize>,
}

impl Texts {
    fn push(&mut self, text: &str) {
        self.all.push_str(text);
        self.ends.push(self.all.len());
    }

    fn get(&self, place: usize) -> Option<&str> {
        let end = *self.ends.get(place)?;
        let start = match place {
            0 => 0,
            _ => *self.ends.get(place - 1)?,
        };
        self.all.get(start..end)
    }

    fn len(&self) -> usize {
        self.ends.len()
    }
}

/// What a chunk cannot pack: reasons and evidence of use.
fn keep_whole(finding: &Finding) -> bool {
    finding.reasons.is_some() || finding.usage.is_some()
}

/// Writes a finding's record (all but its account) into `record`.
struct Writer<'a, 'f> {
    record: Vec<u8>,
    texts: &'a mut Texts,
    files: &'a mut Vec<Arc<str>>,
    known: FxHashMap<&'f str, usize>,
    known_files: FxHashMap<&'f str, usize>,
}

impl<'f> Writer<'_, 'f> {
    fn finding(&mut self, f: &'f Finding) {
        let Finding {
            id,
            rule,
            data_source,
            account,
            group,
            accounts,
            role,
            scope,
            via,
            severity,
            classification,
            message,
            allow,
            roles,
            grant,
            grant_at,
            reasons: _,
            status,
            first_seen,
            usage: _,
            used_since_last_run,
        } = f;
        self.str(id);
        self.record.push(*rule as u8);
        self.text(data_source);
        self.optional_text(group.as_deref());
        match accounts {
            None => self.record.push(0),
            Some(n) => {
                self.record.push(1);
                self.number(*n);
            }
        }
        self.optional_text(role.as_deref());
        self.optional_text(scope.as_deref());
        self.number(via.len() as u64);
        for group in via {
            self.text(group);
        }
        self.record.push(*severity as u8);
        self.number(classification.len() as u64);
        for class in classification {
            self.record.push(*class as u8);
        }
        // A message names its account, the rest is mostly the same for the
        // findings of a chunk: the text around the name is shared.
        let around = account
            .as_deref()
            .filter(|a| !a.is_empty())
            .and_then(|a| message.find(a).map(|at| (at, at + a.len())));
        match around {
            Some((start, end)) => {
                self.record.push(1);
                self.text(&message[..start]);
                self.text(&message[end..]);
            }
            None => {
                self.record.push(0);
                self.str(message);
            }
        }
        self.optional_text(allow.as_deref());
        self.number(roles.len() as u64);
        for role in roles {
            self.text(role);
        }
        self.optional_text(grant.as_deref());
        match grant_at {
            None => self.record.push(0),
            Some(place) => {
                self.file(&place.file);
                self.number(place.line.map_or(0, |l| u64::from(l.get())));
            }
        }
        self.record.push(match status {
            None => 0,
            Some(Status::New) => 1,
            Some(Status::Persisting) => 2,
        });
        self.optional_str(first_seen.as_deref());
        self.record.push(match used_since_last_run {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
    }

    fn number(&mut self, n: u64) {
        put_number(&mut self.record, n);
    }

    fn str(&mut self, s: &str) {
        put_number(&mut self.record, s.len() as u64);
        self.record.extend_from_slice(s.as_bytes());
    }

    fn optional_str(&mut self, s: Option<&str>) {
        put_optional_str(&mut self.record, s);
    }

    /// The place of a repeated text in the chunk's texts.
    fn place_of(&mut self, s: &'f str) -> u64 {
        let next = self.texts.len();
        let place = *self.known.entry(s).or_insert(next);
        if place == next {
            self.texts.push(s);
        }
        place as u64
    }

    fn text(&mut self, s: &'f str) {
        let place = self.place_of(s);
        self.number(place);
    }

    /// A repeated text that may be missing: its place plus one, or zero.
    fn optional_text(&mut self, s: Option<&'f str>) {
        match s {
            None => self.record.push(0),
            Some(s) => {
                let place = self.place_of(s);
                self.number(place + 1);
            }
        }
    }

    /// A grant's file: its place among the chunk's files plus one.
    fn file(&mut self, file: &'f Arc<str>) {
        let next = self.files.len();
        let place = *self.known_files.entry(file).or_insert(next);
        if place == next {
            self.files.push(Arc::clone(file));
        }
        self.number(place as u64 + 1);
    }
}

/// An unsigned number in seven-bit groups, lowest first.
fn put_number(bytes: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        bytes.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    bytes.push(n as u8);
}

/// A text that may be missing: its length plus one, or zero.
fn put_optional_str(bytes: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => bytes.push(0),
        Some(s) => {
            put_number(bytes, s.len() as u64 + 1);
            bytes.extend_from_slice(s.as_bytes());
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn number(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn count(&mut self) -> Option<usize> {
        usize::try_from(self.number()?).ok()
    }

    fn bytes_of(&mut self, len: usize) -> Option<&'a str> {
        let end = self.at.checked_add(len)?;
        let s = std::str::from_utf8(self.bytes.get(self.at..end)?).ok()?;
        self.at = end;
        Some(s)
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = self.count()?;
        self.bytes_of(len)
    }

    fn optional_str(&mut self) -> Option<Option<&'a str>> {
        match self.count()? {
            0 => Some(None),
            n => self.bytes_of(n - 1).map(Some),
        }
    }

    fn text<'t>(&mut self, texts: &'t Texts) -> Option<&'t str> {
        texts.get(self.count()?)
    }

    fn optional_text<'t>(&mut self, texts: &'t Texts) -> Option<Option<&'t str>> {
        match self.count()? {
            0 => Some(None),
            n => texts.get(n - 1).map(Some),
        }
    }

    fn texts(&mut self, texts: &Texts) -> Option<Vec<String>> {
        let n = self.count()?;
        let mut list = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            list.push(self.text(texts)?.to_string());
        }
        Some(list)
    }

    /// A packed record after its first byte.
    fn finding(&mut self, texts: &Texts, files: &[Arc<str>]) -> Option<Finding> {
        let account = self.optional_str()?.map(str::to_string);
        let len = self.count()?;
        let end = self.at.checked_add(len)?;
        let id = self.str()?.to_string();
        let rule_byte = self.byte()?;
        let rule = *Rule::ALL.iter().find(|r| **r as u8 == rule_byte)?;
        let data_source = self.text(texts)?.to_string();
        let group = self.optional_text(texts)?.map(str::to_string);
        let accounts = match self.byte()? {
            0 => None,
            1 => Some(self.number()?),
            _ => return None,
        };
        let role = self.optional_text(texts)?.map(str::to_string);
        let scope = self.optional_text(texts)?.map(str::to_string);
        let via = self.texts(texts)?;
        let severity_byte = self.byte()?;
        let severity = *Severity::ALL.iter().find(|s| **s as u8 == severity_byte)?;
        let classes = self.count()?;
        let mut classification = Vec::with_capacity(classes.min(Classification::ALL.len()));
        for _ in 0..classes {
            let b = self.byte()?;
            classification.push(*Classification::ALL.iter().find(|c| **c as u8 == b)?);
        }
        let message = match self.byte()? {
            0 => self.str()?.to_string(),
            1 => {
                let before = self.text(texts)?;
                let after = self.text(texts)?;
                [before, account.as_deref()?, after].concat()
            }
            _ => return None,
        };
        let allow = self.optional_text(texts)?.map(str::to_string);
        let roles = self.texts(texts)?;
        let grant = self.optional_text(texts)?.map(str::to_string);
        let grant_at = match self.count()? {
            0 => None,
            n => Some(Place {
                file: Arc::clone(files.get(n - 1)?),
                line: u32::try_from(self.number()?)
                    .ok()
                    .and_then(std::num::NonZeroU32::new),
            }),
        };
        let status = match self.byte()? {
            0 => None,
            1 => Some(Status::New),
            2 => Some(Status::Persisting),
            _ => return None,
        };
        let first_seen = self.optional_str()?.map(str::to_string);
        let used_since_last_run = match self.byte()? {
            0 => None,
            1 => Some(false),
            2 => Some(true),
            _ => return None,
        };
        if self.at != end {
            return None;
        }
        Some(Finding {
            id,
            rule,
            data_source,
            account,
            group,
            accounts,
            role,
            scope,
            via,
            severity,
            classification,
            message,
            allow,
            roles,
            grant,
            grant_at,
            reasons: None,
            status,
            first_seen,
            usage: None,
            used_since_last_run,
        })
    }
}

/// The accounts of a chunk's findings, read from the start of each
/// record: a packed record is read whole to find the next.
struct Accounts<'a> {
    chunk: &'a Chunk,
    reader: Reader<'a>,
    whole: usize,
    left: usize,
}

impl<'a> Iterator for Accounts<'a> {
    type Item = Option<&'a str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        match self.reader.byte() {
            Some(WHOLE) => {
                let finding = self.chunk.whole.get(self.whole)?;
                self.whole += 1;
                Some(finding.account.as_deref())
            }
            Some(PACKED) => {
                let account = self.reader.optional_str()?;
                let rest = self.reader.count()?;
                self.reader.at = self.reader.at.checked_add(rest)?;
                Some(account)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A finding with every field set or not by `bits`, its texts drawn
    /// from a few (so that chunks share them) and `seed`.
    fn finding(seed: u64, bits: u32) -> Finding {
        let on = |bit: u32| bits & (1 << bit) != 0;
        let pick =
            |n: u64| ["sys01", "Läs", "", "SG-Sys01-IFO-Läs", "\"x\"\n"][(seed % n) as usize];
        Finding {
            id: format!("{seed:016x}"),
            rule: Rule::ALL[(seed % Rule::ALL.len() as u64) as usize],
            data_source: pick(2).into(),
            account: on(0).then(|| format!("u{seed}Å")),
            group: on(1).then(|| pick(5).into()),
            accounts: on(2).then_some(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            role: on(3).then(|| pick(3).into()),
            scope: on(4).then(|| pick(4).into()),
            via: (0..seed % 4).map(|i| pick(5 - i).to_string()).collect(),
            severity: Severity::ALL[(seed % 4) as usize],
            classification: Classification::ALL[..(seed % 4) as usize].to_vec(),
            // Most messages name their account, some more than once, some
            // not at all.
            message: match seed % 3 {
                0 => format!("Kontot u{seed}Å når {}", "å".repeat((seed % 200) as usize)),
                1 => format!("u{seed}Å, u{seed}Å: {}", pick(5)),
                _ => format!("{seed} når {}", "å".repeat((seed % 200) as usize)),
            },
            allow: on(5).then(|| pick(3).into()),
            roles: (0..seed % 3).map(|i| pick(4 - i).to_string()).collect(),
            grant: on(6).then(|| format!("policies/{}.toml:9", pick(2))),
            grant_at: on(7).then(|| Place {
                file: Arc::from(["policies/a.toml", "b"][(seed % 2) as usize]),
                line: std::num::NonZeroU32::new((seed % 3) as u32),
            }),
            reasons: None,
            status: [None, Some(Status::New), Some(Status::Persisting)][(seed % 3) as usize],
            first_seen: on(8).then(|| "2026-11-01T00:00:00".into()),
            usage: on(9).then_some(None),
            used_since_last_run: [None, Some(false), Some(true)][(bits % 3) as usize],
        }
    }

    fn debug(findings: &[Finding]) -> Vec<String> {
        findings.iter().map(|f| format!("{f:?}")).collect()
    }

    proptest! {
        /// Findings come back as they went in, field for field and in
        /// order, over several chunks, those with evidence of use kept
        /// whole among the packed; the accounts read without unpacking
        /// are theirs.
        #[test]
        fn findings_come_back_as_packed(
            chunks in proptest::collection::vec(
                proptest::collection::vec((any::<u64>(), any::<u32>()), 0..40),
                0..5,
            )
        ) {
            let mut expected = Vec::new();
            let mut packed = Packed::default();
            for chunk in &chunks {
                let mut findings: Vec<Finding> =
                    chunk.iter().map(|&(seed, bits)| finding(seed, bits)).collect();
                expected.extend(findings.iter().cloned());
                packed.push(Chunk::pack(&mut findings));
                prop_assert!(findings.is_empty());
            }
            prop_assert_eq!(packed.len(), expected.len());
            let accounts: Vec<Option<&str>> = packed.accounts().collect();
            let wanted: Vec<Option<&str>> = expected.iter().map(|f| f.account.as_deref()).collect();
            prop_assert_eq!(accounts, wanted);
            let unpacked = packed.unpack();
            prop_assert!(unpacked.is_some());
            prop_assert_eq!(debug(&unpacked.unwrap_or_default()), debug(&expected));
        }
    }

    /// Bytes cut short or changed are refused, not read as fewer or other
    /// findings.
    #[test]
    fn damaged_bytes_are_refused() {
        let mut findings: Vec<Finding> = (0..20).map(|i| finding(i * 7919, 0x1ff)).collect();
        let chunk = Chunk::pack(&mut findings);
        let mut short = Packed::default();
        let mut cut = Chunk { ..chunk };
        cut.bytes.pop();
        short.push(cut);
        assert!(short.unpack().is_none());

        let mut findings: Vec<Finding> = (0..3).map(|i| finding(i, 0)).collect();
        let mut chunk = Chunk::pack(&mut findings);
        chunk.bytes[0] = 7;
        let mut odd = Packed::default();
        odd.push(chunk);
        assert!(odd.unpack().is_none());
    }

    /// Repeated texts are stored once per chunk: a chunk of findings on
    /// one data source through one group holds each text once.
    #[test]
    fn repeated_texts_are_stored_once() {
        let mut findings: Vec<Finding> = (0..100).map(|i| finding(i * 60, 0b1_1111_1110)).collect();
        let unique: usize = findings
            .iter()
            .map(|f| {
                f.id.len()
                    + f.message.len()
                    + f.account.as_deref().map_or(0, str::len)
                    + f.first_seen.as_deref().map_or(0, str::len)
            })
            .sum();
        let chunk = Chunk::pack(&mut findings);
        let mut texts: Vec<&str> = (0..chunk.texts.len())
            .filter_map(|i| chunk.texts.get(i))
            .collect();
        assert_eq!(texts.len(), chunk.texts.len());
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), chunk.texts.len());
        assert!(chunk.texts.len() <= 8, "{:?}", chunk.texts);
        // Beyond the texts each finding has alone, a few bytes each (a
        // ten-byte count among them): the grant, path, role and scope,
        // about 80 bytes, are not repeated.
        assert!(
            chunk.bytes.len() < unique + 100 * 48,
            "{} bytes beside {unique}",
            chunk.bytes.len()
        );
    }

    /// A message that names its account shares the text around the name
    /// with the chunk's other findings: a hundred findings of one rule on
    /// one source hold the long message once.
    #[test]
    fn messages_share_the_text_around_the_account() {
        let mut findings: Vec<Finding> = (0..100)
            .map(|i| {
                let mut f = finding(i * 12, 0b1);
                f.account = Some(format!("u{i:07}"));
                f.message = format!(
                    "Kontot u{i:07} loggade senast in 2020-01-01 (2517 dagar sedan, \
                     gränsen är 90) men har behörighet till System 30"
                );
                f
            })
            .collect();
        let expected = debug(&findings);
        let chunk = Chunk::pack(&mut findings);
        assert!(chunk.texts.len() <= 8, "{:?}", chunk.texts);
        // The id, the account and a few bytes each; not the message.
        assert!(chunk.bytes.len() < 100 * 64, "{} bytes", chunk.bytes.len());
        let mut packed = Packed::default();
        packed.push(chunk);
        assert_eq!(debug(&packed.unpack().unwrap_or_default()), expected);
    }
}
