//! Directory entries, from an LDAP server or an LDIF file, mapped to the
//! inventory by the contract's attribute table (Active Directory first,
//! OpenLDAP second) and the `[ldap.attributes]` overrides. Both directory
//! sources end here, so an LDIF export and the directory it came from give
//! the same inventory.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use chrono::DateTime;

use crate::config::LdapConfig;
use crate::intern::Sym;
use crate::inventory::{AccountId, GroupId, InventoryBuilder, Origin};
use crate::sources::cells::{self, CellProblem};
use crate::sources::values::{set_well_known, WellKnown};
use crate::sources::SourceError;

/// More different attributes than any directory entry has. The readers
/// refuse an entry past it: attributes are a list searched in order, and
/// an input made of nothing but new attribute names would cost time
/// growing with the square of its size.
pub const MAX_ATTRIBUTES: usize = 1024;

/// One directory entry: its DN and its attributes by lower-case name
/// (options such as `;binary` removed), values as raw bytes. An entry has
/// a handful of attributes, so they are a list searched in order.
#[derive(Debug, Clone)]
pub struct DirEntry {
    pub dn: String,
    /// Where the entry was read: the LDIF file, or the server (see
    /// [`DirEntry::location`]).
    pub source: Arc<str>,
    /// The entry's first line in an LDIF file.
    pub line: Option<NonZeroU32>,
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl DirEntry {
    /// An entry read from `source` (at `line` of a file).
    pub fn new(dn: String, source: &Arc<str>, line: Option<usize>) -> Self {
        DirEntry {
            dn,
            source: Arc::clone(source),
            line: crate::inventory::line_number(line),
            attrs: Vec::new(),
        }
    }

    fn slot(&self, attr: &str) -> Option<usize> {
        self.attrs.iter().position(|(name, _)| name == attr)
    }

    /// Adds a value; `attr` must be lower case.
    pub fn push(&mut self, attr: &str, value: Vec<u8>) {
        match self.slot(attr) {
            Some(i) => self.attrs[i].1.push(value),
            None => self.attrs.push((attr.to_string(), vec![value])),
        }
    }

    /// Adds values under an attribute name that must be lower case.
    pub fn extend(&mut self, attr: String, mut values: Vec<Vec<u8>>) {
        match self.slot(&attr) {
            Some(i) => self.attrs[i].1.append(&mut values),
            None => self.attrs.push((attr, values)),
        }
    }

    /// Takes an attribute's values out of the entry.
    pub fn remove(&mut self, attr: &str) -> Option<Vec<Vec<u8>>> {
        let i = self.slot(attr)?;
        Some(self.attrs.swap_remove(i).1)
    }

    pub fn values(&self, attr: &str) -> &[Vec<u8>] {
        match self.slot(attr) {
            Some(i) => &self.attrs[i].1,
            None => &[],
        }
    }

    /// The first value as trimmed text, if it is UTF-8 and not empty.
    pub fn text(&self, attr: &str) -> Option<&str> {
        self.values(attr)
            .first()
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Where the entry was read: `file:line`, or the server.
    pub fn place(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.source),
            None => self.source.to_string(),
        }
    }

    /// Where the entry is, for messages: `file:line`, or `server DN`.
    pub fn location(&self) -> String {
        match self.line {
            Some(_) => self.place(),
            None => format!("{} {}", self.source, self.dn),
        }
    }

    /// What the entry's object classes make it, read once.
    fn classes(&self) -> Classes {
        let mut found = Classes::default();
        for value in self.values("objectclass") {
            let Ok(text) = std::str::from_utf8(value) else {
                continue;
            };
            let text = text.trim();
            let is = |list: &[&str]| list.iter().any(|c| text.eq_ignore_ascii_case(c));
            found.foreign |= text.eq_ignore_ascii_case("foreignsecurityprincipal");
            found.group |= is(GROUP_CLASSES);
            found.account |= is(ACCOUNT_CLASSES);
            found.not_account |= is(NOT_ACCOUNT_CLASSES);
            found.posix_group |= text.eq_ignore_ascii_case("posixgroup");
            if let Some(class) = GROUP_CLASS_NAMES
                .iter()
                .find(|c| text.eq_ignore_ascii_case(c))
            {
                found.group_class.get_or_insert(class);
            }
        }
        found
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Classes {
    foreign: bool,
    group: bool,
    account: bool,
    not_account: bool,
    posix_group: bool,
    group_class: Option<&'static str>,
}

/// Which directory attributes give each well-known attribute: the
/// contract's defaults, or the one `[ldap.attributes]` names.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub account: Vec<String>,
    pub display_name: Vec<String>,
    pub department: Vec<String>,
    pub title: Vec<String>,
    pub employee_type: Vec<String>,
    pub enabled: Vec<String>,
    pub expires: Vec<String>,
    pub last_logon: Vec<String>,
    pub group_name: Vec<String>,
    pub member: Vec<String>,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            account: names(&["samaccountname", "uid"]),
            display_name: names(&["displayname", "cn"]),
            department: names(&["department", "departmentnumber", "ou"]),
            title: names(&["title"]),
            employee_type: names(&["employeetype"]),
            enabled: names(&["useraccountcontrol", "pwdaccountlockedtime"]),
            expires: names(&["accountexpires", "shadowexpire"]),
            last_logon: names(&["lastlogontimestamp", "authtimestamp"]),
            group_name: names(&["cn"]),
            member: names(&["member", "uniquemember", "memberuid"]),
        }
    }
}

impl Mapping {
    pub fn from_config(config: Option<&LdapConfig>) -> Mapping {
        let mut m = Mapping::default();
        let Some(config) = config else {
            return m;
        };
        for (key, attr) in &config.attributes {
            let attr = vec![attr.trim().to_ascii_lowercase()];
            match key.as_str() {
                "account" => m.account = attr,
                "display_name" => m.display_name = attr,
                "department" => m.department = attr,
                "title" => m.title = attr,
                "employee_type" => m.employee_type = attr,
                "enabled" => m.enabled = attr,
                "expires" => m.expires = attr,
                "last_logon" => m.last_logon = attr,
                "group_name" => m.group_name = attr,
                "member" => m.member = attr,
                _ => {}
            }
        }
        m
    }

    /// The well-known account attributes and the directory attributes
    /// that give each.
    fn well_known(&self) -> [(WellKnown, &Vec<String>); 7] {
        [
            (WellKnown::DisplayName, &self.display_name),
            (WellKnown::Department, &self.department),
            (WellKnown::Title, &self.title),
            (WellKnown::EmployeeType, &self.employee_type),
            (WellKnown::Enabled, &self.enabled),
            (WellKnown::Expires, &self.expires),
            (WellKnown::LastLogon, &self.last_logon),
        ]
    }

    /// Every attribute an LDAP search has to ask for.
    pub fn search_attributes(&self) -> Vec<String> {
        let mut all: Vec<String> = [
            &self.account,
            &self.display_name,
            &self.department,
            &self.title,
            &self.employee_type,
            &self.enabled,
            &self.expires,
            &self.last_logon,
            &self.group_name,
            &self.member,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        all.extend(names(&[
            "objectclass",
            "objectsid",
            "primarygroupid",
            "managedby",
            "owner",
        ]));
        all.sort();
        all.dedup();
        all
    }
}

const GROUP_CLASSES: &[&str] = &["group", "groupofnames", "groupofuniquenames", "posixgroup"];
/// The group classes as directories spell them.
const GROUP_CLASS_NAMES: &[&str] = &["group", "groupOfNames", "groupOfUniqueNames", "posixGroup"];
const ACCOUNT_CLASSES: &[&str] = &[
    "user",
    "person",
    "organizationalperson",
    "inetorgperson",
    "posixaccount",
];
const NOT_ACCOUNT_CLASSES: &[&str] = &["computer", "contact"];
/// Membership attributes: they become the group graph, not account
/// attributes.
const MEMBERSHIP_ATTRS: &[&str] = &["member", "uniquemember", "memberuid", "memberof"];

/// A DN in the form used to look it up: RDNs trimmed and lower case.
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    normalize_dn_into(dn, &mut out);
    out
}

/// [`normalize_dn`] into a buffer that is cleared first.
pub fn normalize_dn_into(dn: &str, out: &mut String) {
    out.clear();
    // Most DNs are ASCII without spaces or escapes: lower case is all.
    if dn.bytes().all(|b| b.is_ascii() && b != b' ' && b != b'\\') {
        out.push_str(dn.trim_end_matches(','));
        out.make_ascii_lowercase();
        return;
    }
    let mut escaped = false;
    // Spaces are kept only between other characters of a value.
    let mut spaces = 0usize;
    let mut at_start = true;
    for c in dn.chars() {
        if escaped {
            escaped = false;
        } else {
            match c {
                ',' | '=' => {
                    spaces = 0;
                    out.push(c);
                    at_start = true;
                    continue;
                }
                ' ' => {
                    if !at_start {
                        spaces += 1;
                    }
                    continue;
                }
                '\\' => escaped = true,
                _ => {}
            }
        }
        for _ in 0..spaces {
            out.push(' ');
        }
        spaces = 0;
        at_start = false;
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    while out.ends_with(',') {
        out.pop();
    }
}

/// DNs by a 128-bit digest of their normalized form: a SipHash-1-3 sum
/// with a random key, and an FxHash sum. The digest lives in the table
/// itself, so a lookup of one of a million member values costs no second
/// trip to memory for the key's text; with the SipHash key drawn at random
/// for each run, no directory can be written to make two DNs collide.
struct DnDigest(std::hash::RandomState);

impl DnDigest {
    fn new() -> Self {
        DnDigest(std::hash::RandomState::new())
    }

    fn of(&self, normalized: &str) -> u128 {
        use std::hash::BuildHasher;
        (u128::from(self.0.hash_one(normalized)) << 64)
            | u128::from(rustc_hash::FxBuildHasher.hash_one(normalized))
    }
}

/// A binary `objectSid` as `S-1-5-21-...`.
pub fn sid_to_string(bytes: &[u8]) -> Option<String> {
    let revision = *bytes.first()?;
    let count = *bytes.get(1)? as usize;
    let authority = bytes.get(2..8)?;
    if bytes.len() != 8 + 4 * count {
        return None;
    }
    let authority = authority
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let mut s = format!("S-{revision}-{authority}");
    for i in 0..count {
        let sub = bytes.get(8 + 4 * i..12 + 4 * i)?;
        let v = u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]]);
        s.push_str(&format!("-{v}"));
    }
    Some(s)
}

fn sid_of(entry: &DirEntry) -> Option<String> {
    let raw = entry.values("objectsid").first()?;
    // Some exports write the SID as text.
    if raw.starts_with(b"S-") {
        return std::str::from_utf8(raw).ok().map(str::to_string);
    }
    sid_to_string(raw)
}

/// What a DN stands for after the first pass.
#[derive(Debug, Clone, Copy)]
enum Node {
    Account(AccountId),
    Group(GroupId),
    /// An entry that cannot log on (a contact or a computer), by its
    /// number in [`Builder::non_accounts`]: not an account, but a member
    /// worth a warning when its group gives access.
    NonAccount(u32),
    /// Read but not mapped (containers, organisational units).
    Skipped,
}

fn first_text<'e>(entry: &'e DirEntry, attrs: &[String]) -> Option<&'e str> {
    attrs.iter().find_map(|a| entry.text(a))
}

fn bad_value(location: &DirEntry, attr: &str, value: &str, expected: &str) -> SourceError {
    SourceError::new(
        location.location(),
        format!(
            "`{}` is not a valid value of `{attr}`",
            crate::text::escape_controls(value)
        ),
    )
    .with_help(format!("expected {expected}"))
}

/// Sets one well-known attribute from the first of its directory
/// attributes that the entry has, reading each as its directory writes it.
fn set_from(
    account: &mut crate::inventory::Account,
    staged: &mut Vec<(&'static str, String)>,
    entry: &DirEntry,
    attr: WellKnown,
    candidates: &[String],
) -> Result<(), SourceError> {
    for name in candidates {
        // Presence is the value: a locked account.
        if name == "pwdaccountlockedtime" && attr == WellKnown::Enabled {
            if entry.text(name).is_some() {
                set_text(account, staged, attr, "false", name, entry)?;
                return Ok(());
            }
            continue;
        }
        let Some(value) = entry.text(name) else {
            continue;
        };
        let text = match name.as_str() {
            "useraccountcontrol" if attr == WellKnown::Enabled => {
                let flags: i64 = value.parse().map_err(|_| {
                    bad_value(
                        entry,
                        name,
                        value,
                        "a number (the userAccountControl flags)",
                    )
                })?;
                (if flags & 0x2 != 0 { "false" } else { "true" }).to_string()
            }
            "shadowexpire" => {
                let days: i64 = value
                    .parse()
                    .map_err(|_| bad_value(entry, name, value, "days since 1970-01-01"))?;
                if days < 0 {
                    "never".to_string()
                } else {
                    let t = DateTime::from_timestamp(days.saturating_mul(86_400), 0)
                        .ok_or_else(|| bad_value(entry, name, value, "days since 1970-01-01"))?;
                    set_time(account, attr, t.naive_utc());
                    return Ok(());
                }
            }
            "authtimestamp"
            | "pwdaccountlockedtime"
            | "createtimestamp"
            | "modifytimestamp"
            | "pwdchangedtime" => match generalized_time(value) {
                Some(t) if attr == WellKnown::Expires || attr == WellKnown::LastLogon => {
                    set_time(account, attr, t);
                    return Ok(());
                }
                _ => value.to_string(),
            },
            "accountexpires" | "lastlogontimestamp" | "lastlogon" | "pwdlastset" => {
                let ticks: i64 = value
                    .parse()
                    .map_err(|_| bad_value(entry, name, value, "a FILETIME number"))?;
                if ticks == 0 || ticks == i64::MAX {
                    if attr == WellKnown::Expires {
                        "never".to_string()
                    } else {
                        return Ok(());
                    }
                } else {
                    let t = crate::sources::values::from_filetime(ticks)
                        .ok_or_else(|| bad_value(entry, name, value, "a FILETIME number"))?;
                    if attr == WellKnown::Expires || attr == WellKnown::LastLogon {
                        set_time(account, attr, t);
                        return Ok(());
                    }
                    t.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            }
            _ => value.to_string(),
        };
        return set_text(account, staged, attr, &text, name, entry);
    }
    // OpenLDAP: an account without `pwdAccountLockedTime` is enabled,
    // unless the entry is AD's (whose `userAccountControl` is always read).
    if attr == WellKnown::Enabled
        && candidates.iter().any(|c| c == "pwdaccountlockedtime")
        && entry.values("useraccountcontrol").is_empty()
    {
        set_text(account, staged, attr, "true", "pwdaccountlockedtime", entry)?;
    }
    Ok(())
}

/// Sets `expires` or `last_logon` from a time already read: typed, as
/// the CSV reader sets them.
fn set_time(account: &mut crate::inventory::Account, attr: WellKnown, t: chrono::NaiveDateTime) {
    match attr {
        WellKnown::Expires => account.expires = Some(crate::inventory::Expiry::At(t)),
        WellKnown::LastLogon => account.last_logon = Some(t),
        _ => {}
    }
}

/// LDAP generalized time, `20261122134500Z` or `20261122134500.123Z`, to
/// the second.
fn generalized_time(value: &str) -> Option<chrono::NaiveDateTime> {
    let digits = value.trim_end_matches('Z');
    let digits = digits.split(['.', ',']).next().unwrap_or(digits);
    let d = digits.as_bytes();
    if d.len() != 14 || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| {
        d[r].iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
    };
    chrono::NaiveDate::from_ymd_opt(n(0..4) as i32, n(4..6), n(6..8))?.and_hms_opt(
        n(8..10),
        n(10..12),
        n(12..14),
    )
}

/// Sets a well-known attribute from text; text attributes are staged, to
/// be set with the entry's other attributes at once.
fn set_text(
    account: &mut crate::inventory::Account,
    staged: &mut Vec<(&'static str, String)>,
    attr: WellKnown,
    text: &str,
    source_attr: &str,
    location: &DirEntry,
) -> Result<(), SourceError> {
    match attr {
        WellKnown::Department | WellKnown::Title | WellKnown::EmployeeType => {
            let value = text.trim();
            check_text(location, source_attr, value)?;
            if !value.is_empty() {
                staged.push((attr.name(), value.to_string()));
            }
            Ok(())
        }
        _ => set_well_known(account, attr, text)
            .map_err(|bad| bad_value(location, source_attr, text, bad.expected)),
    }
}

/// Refuses a text value that holds a control character or U+FFFD: the
/// export or the directory gives text that is not what was stored.
fn check_text(entry: &DirEntry, attr: &str, value: &str) -> Result<(), SourceError> {
    match cells::check(value, false) {
        Some(problem @ (CellProblem::Control(_) | CellProblem::Replacement)) => {
            let (message, _) = problem.describe(attr);
            Err(SourceError::new(
                entry.location(),
                format!("{message} (entry `{}`)", crate::text::escape_controls(&entry.dn)),
            )
            .with_help("check the entry in the directory; an export must carry its values as they are stored"))
        }
        _ => Ok(()),
    }
}

/// [`check_text`] for a value of an entry already taken apart.
fn check_text_at(
    (source, line): (&Arc<str>, Option<NonZeroU32>),
    dn: &str,
    attr: &str,
    value: &str,
) -> Result<(), SourceError> {
    if cells::check(value, false).is_none() {
        return Ok(());
    }
    let mut entry = DirEntry::new(dn.to_string(), source, None);
    entry.line = line;
    check_text(&entry, attr, value)
}

/// Refuses a name (an account or group id) with a control character.
fn check_name(entry: &DirEntry, attr: &str, name: &str) -> Result<(), SourceError> {
    match cells::control_in_name(name) {
        Some(c) => Err(SourceError::new(
            entry.location(),
            format!(
                "the `{attr}` of `{}` holds the control character U+{:04X}: a name is one line of text",
                crate::text::escape_controls(&entry.dn),
                c as u32
            ),
        )),
        None => check_text(entry, attr, name),
    }
}

/// Maps entries to accounts, groups and memberships.
pub fn add_entries(
    entries: Vec<DirEntry>,
    mapping: &Mapping,
    inventory: &mut InventoryBuilder,
) -> Result<(), SourceError> {
    let mut builder = Builder::new(mapping);
    for entry in entries {
        builder.add(entry, inventory)?;
    }
    builder.finish(inventory)
}

/// A group's membership values, kept until every DN has been seen.
struct PendingGroup {
    group: GroupId,
    dn_key: String,
    origin: Origin,
    /// `memberUid` values (account ids) and DN values.
    uids: Vec<String>,
    dns: Vec<String>,
}

/// Maps entries one at a time, as they arrive, to accounts and groups;
/// [`Builder::finish`] then resolves memberships, which may name entries
/// that come later.
pub struct Builder<'m> {
    mapping: &'m Mapping,
    digest: DnDigest,
    by_dn: rustc_hash::FxHashMap<u128, Node>,
    group_by_sid: HashMap<String, GroupId>,
    foreign: HashMap<String, String>,
    groups: Vec<PendingGroup>,
    /// (account, its SID, its primaryGroupID)
    primaries: Vec<(AccountId, Option<String>, String)>,
    used: Vec<String>,
    /// A reusable buffer for the entry's normalized DN.
    key: String,
    /// DNs of entries that cannot log on, with their kind.
    non_accounts: Vec<(String, &'static str)>,
    /// The last entry's source, interned in the inventory: entries come
    /// from one file or server.
    source: Option<(Arc<str>, Sym)>,
}

/// A membership value as text, trimmed, without copying when it needs no
/// trimming; `None` if it is not UTF-8, `Some("")` if blank.
fn member_text(value: Vec<u8>) -> Option<String> {
    let text = String::from_utf8(value).ok()?;
    if text.trim().len() == text.len() {
        Some(text)
    } else {
        Some(text.trim().to_string())
    }
}

impl<'m> Builder<'m> {
    /// The entry's origin in the inventory.
    fn origin(&mut self, entry: &DirEntry, inventory: &mut InventoryBuilder) -> Origin {
        let source = match &self.source {
            Some((text, sym)) if Arc::ptr_eq(text, &entry.source) => *sym,
            _ => {
                let sym = inventory.intern(&entry.source);
                self.source = Some((Arc::clone(&entry.source), sym));
                sym
            }
        };
        Origin {
            source,
            line: entry.line,
        }
    }

    pub fn new(mapping: &'m Mapping) -> Self {
        let used: Vec<String> = mapping
            .well_known()
            .iter()
            .flat_map(|(_, v)| v.iter())
            .chain(mapping.account.iter())
            .chain(mapping.member.iter())
            .cloned()
            .collect();
        let mut used = used;
        used.sort();
        used.dedup();
        Builder {
            mapping,
            digest: DnDigest::new(),
            by_dn: rustc_hash::FxHashMap::default(),
            group_by_sid: HashMap::new(),
            foreign: HashMap::new(),
            groups: Vec::new(),
            primaries: Vec::new(),
            used,
            key: String::new(),
            non_accounts: Vec::new(),
            source: None,
        }
    }

    /// What each member DN of the group whose DN is in `self.key` stands
    /// for, as far as read: `None` for a DN not seen yet; the group itself
    /// as skipped. A big group's members are looked up on every core.
    fn resolve(&self, values: &[String]) -> Vec<Option<Node>> {
        let own = self.key.as_str();
        let lookup = |chunk: &[String]| -> Vec<Option<Node>> {
            let mut key = String::new();
            chunk
                .iter()
                .map(|value| {
                    normalize_dn_into(value, &mut key);
                    if key == own {
                        Some(Node::Skipped)
                    } else {
                        self.by_dn.get(&self.digest.of(&key)).copied()
                    }
                })
                .collect()
        };
        let threads = crate::cores();
        if threads < 2 || values.len() < 2048 {
            return lookup(values);
        }
        // This thread takes the first chunk itself.
        let chunks: Vec<&[String]> = values.chunks(values.len().div_ceil(threads)).collect();
        let Some((&first, rest)) = chunks.split_first() else {
            return Vec::new();
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = rest
                .iter()
                .map(|&chunk| scope.spawn(move || lookup(chunk)))
                .collect();
            let mut found = lookup(first);
            for (handle, &chunk) in handles.into_iter().zip(rest) {
                found.extend(handle.join().unwrap_or_else(|_| lookup(chunk)));
            }
            found
        })
    }

    pub fn add(
        &mut self,
        mut entry: DirEntry,
        inventory: &mut InventoryBuilder,
    ) -> Result<(), SourceError> {
        let mapping = self.mapping;
        normalize_dn_into(&entry.dn, &mut self.key);
        let classes = entry.classes();
        if classes.foreign {
            let sid = entry
                .text("cn")
                .map(str::to_string)
                .or_else(|| sid_of(&entry))
                .unwrap_or_else(|| entry.dn.clone());
            self.foreign.insert(self.key.clone(), sid);
            return Ok(());
        }
        if classes.group {
            let Some(group_name) = first_text(&entry, &mapping.group_name) else {
                return Err(SourceError::new(
                    entry.location(),
                    format!(
                        "the group `{}` has no `{}`",
                        entry.dn,
                        mapping.group_name.join("` or `")
                    ),
                )
                .with_help("check `group_name` under [ldap.attributes]"));
            };
            check_name(&entry, "cn", group_name)?;
            let origin = self.origin(&entry, inventory);
            let id = inventory.intern_group(group_name);
            inventory.edit_group(id).origin.get_or_insert(origin);
            if let Some(sid) = sid_of(&entry) {
                self.group_by_sid.insert(sid, id);
            }
            // Members already read are resolved now, while the directory
            // is still sending; the rest wait for `finish`.
            let mut uids = Vec::new();
            let mut values = Vec::new();
            let owner = entry
                .text("managedby")
                .or_else(|| entry.text("owner"))
                .map(str::to_string);
            let mut member_attr = None;
            for attr in &mapping.member {
                let Some(raw) = entry.remove(attr) else {
                    continue;
                };
                member_attr.get_or_insert(match attr.as_str() {
                    "uniquemember" => "uniqueMember",
                    "memberuid" => "memberUid",
                    _ => "member",
                });
                let list = if attr == "memberuid" {
                    &mut uids
                } else {
                    &mut values
                };
                list.reserve(raw.len());
                for value in raw {
                    let Some(text) = member_text(value) else {
                        return Err(SourceError::new(
                            entry.location(),
                            format!("a `{attr}` value of `{}` is not UTF-8", entry.dn),
                        ));
                    };
                    if !text.is_empty() {
                        list.push(text);
                    }
                }
            }
            let resolved = self.resolve(&values);
            let mut dns = Vec::new();
            for (text, node) in values.into_iter().zip(resolved) {
                match node {
                    Some(Node::Account(a)) => inventory.add_membership(a, id, origin),
                    Some(Node::Group(g)) => inventory.add_nesting(id, g, origin),
                    Some(Node::NonAccount(n)) => self.note_non_account(n, id, inventory),
                    Some(Node::Skipped) => {}
                    None => dns.push(text),
                }
            }
            let dn_key = self.key.clone();
            self.by_dn.insert(self.digest.of(&dn_key), Node::Group(id));
            let group = inventory.edit_group(id);
            group.dn = Some(entry.dn);
            group.owner = owner;
            group.object_class = classes.group_class;
            if member_attr.is_none() && classes.posix_group {
                member_attr = Some("memberUid");
            }
            group.member_attr = member_attr.or(Some("member"));
            self.groups.push(PendingGroup {
                group: id,
                dn_key,
                origin,
                uids,
                dns,
            });
            return Ok(());
        }
        if classes.not_account {
            let kind = if entry
                .values("objectclass")
                .iter()
                .any(|v| v.eq_ignore_ascii_case(b"computer"))
            {
                "computer"
            } else {
                "contact"
            };
            let n = self.non_accounts.len() as u32;
            self.non_accounts.push((entry.dn, kind));
            self.by_dn
                .insert(self.digest.of(&self.key), Node::NonAccount(n));
            return Ok(());
        }
        if !classes.account {
            self.by_dn.insert(self.digest.of(&self.key), Node::Skipped);
            return Ok(());
        }
        // A user or person entry can hold access whatever its attributes:
        // without a usable account name it is audited under its DN, which
        // is stable, and the run says so.
        let id = match first_text(&entry, &mapping.account) {
            Some(id) if !id.trim().is_empty() => id.to_string(),
            _ => {
                inventory.warnings.push(format!(
                    "{}: the entry `{}` has no `{}`: it is audited under its DN",
                    entry.place(),
                    crate::text::escape_controls(&entry.dn),
                    mapping.account.join("` or `")
                ));
                entry.dn.clone()
            }
        };
        check_name(
            &entry,
            mapping.account.first().map_or("account", String::as_str),
            &id,
        )?;
        let primary = entry
            .text("primarygroupid")
            .map(|rid| (sid_of(&entry), rid.to_string()));
        let kept: Vec<bool> = entry
            .attrs
            .iter()
            .map(|(name, _)| inventory.keeps(name))
            .collect();
        let origin = self.origin(&entry, inventory);
        let account_id = inventory.account_id(&id, &origin);
        // Text attributes are set at once, at the end.
        let mut staged: Vec<(&'static str, String)> = Vec::new();
        let account = inventory.edit_account(account_id);
        for (attr, candidates) in mapping.well_known() {
            set_from(account, &mut staged, &entry, attr, candidates)?;
        }
        let mut updates: Vec<(Sym, Sym)> = staged
            .iter()
            .map(|(name, value)| (inventory.intern(name), inventory.intern(value)))
            .collect();
        let own = inventory.accounts()[account_id].attrs.clone();
        let DirEntry {
            dn,
            attrs,
            source,
            line,
        } = entry;
        // Every other attribute, for `when.<attribute>`.
        for ((attr, values), kept) in attrs.into_iter().zip(kept) {
            if !kept
                || self.used.contains(&attr)
                || MEMBERSHIP_ATTRS.contains(&attr.as_str())
                || inventory
                    .names()
                    .find(&attr)
                    .is_some_and(|n| own.get_sym(n).is_some() || updates.iter().any(|u| u.0 == n))
            {
                continue;
            }
            let mut texts: Vec<String> = Vec::with_capacity(values.len());
            for v in values {
                match String::from_utf8(v) {
                    Ok(t) if t.trim().len() == t.len() && !t.is_empty() => texts.push(t),
                    Ok(t) if !t.trim().is_empty() => texts.push(t.trim().to_string()),
                    _ => {
                        texts.clear();
                        break;
                    }
                }
            }
            for t in &texts {
                check_text_at((&source, line), &dn, &attr, t)?;
            }
            let text = match texts.len() {
                0 => continue,
                1 => texts.pop().unwrap_or_default(),
                _ => texts.join("; "),
            };
            let name = inventory.attr_name(&attr);
            updates.push((name, inventory.intern(text.trim())));
        }
        inventory.update_attrs(account_id, &updates);
        inventory.set_dn(account_id, dn.into_boxed_str());
        if let Some((sid, rid)) = primary {
            self.primaries.push((account_id, sid, rid));
        }
        self.by_dn
            .insert(self.digest.of(&self.key), Node::Account(account_id));
        Ok(())
    }

    /// Notes that the entry that cannot log on numbered `n` is a member
    /// of `group`.
    fn note_non_account(&self, n: u32, group: GroupId, inventory: &mut InventoryBuilder) {
        if let Some((dn, kind)) = self.non_accounts.get(n as usize) {
            inventory
                .non_accounts
                .push((format!("the {kind} `{dn}`"), group));
        }
    }

    /// Resolves memberships now that every entry has been added.
    pub fn finish(self, inventory: &mut InventoryBuilder) -> Result<(), SourceError> {
        let mut key = self.key;
        for pending in self.groups {
            let group = pending.group;
            for uid in pending.uids {
                let account = inventory.account_id(&uid, &pending.origin);
                inventory.add_membership(account, group, pending.origin);
            }
            for value in pending.dns {
                normalize_dn_into(&value, &mut key);
                if key == pending.dn_key {
                    continue;
                }
                match self.by_dn.get(&self.digest.of(&key)).copied() {
                    Some(Node::Account(a)) => inventory.add_membership(a, group, pending.origin),
                    Some(Node::Group(g)) => inventory.add_nesting(group, g, pending.origin),
                    Some(Node::NonAccount(n)) => {
                        if let Some((dn, kind)) = self.non_accounts.get(n as usize) {
                            inventory
                                .non_accounts
                                .push((format!("the {kind} `{dn}`"), group));
                        }
                    }
                    Some(Node::Skipped) => {}
                    None => {
                        // A member the read did not cover: a foreign
                        // security principal shows as its SID, anything
                        // else as its DN, so its access is still reported.
                        let shown = self.foreign.get(key.as_str()).cloned().unwrap_or(value);
                        let account = inventory.account_id(&shown, &pending.origin);
                        inventory.add_membership(account, group, pending.origin);
                    }
                }
            }
        }
        // AD's primary group is in neither `member` nor `memberOf`.
        for (account, sid, rid) in self.primaries {
            let group = sid
                .and_then(|sid| {
                    let (domain, _) = sid.rsplit_once('-')?;
                    self.group_by_sid.get(&format!("{domain}-{rid}")).copied()
                })
                .or_else(|| {
                    let suffix = format!("-{rid}");
                    let mut found = self
                        .group_by_sid
                        .iter()
                        .filter(|(sid, _)| sid.ends_with(&suffix));
                    match (found.next(), found.next()) {
                        (Some((_, g)), None) => Some(*g),
                        _ => None,
                    }
                });
            if let Some(group) = group {
                // Given by the account's own entry.
                let own = inventory.accounts()[account].origin;
                inventory.add_memberships(account, &[group], own);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dn: &str, attrs: &[(&str, &str)]) -> DirEntry {
        let mut e = DirEntry::new(dn.to_string(), &Arc::from("t"), Some(1));
        for (k, v) in attrs {
            e.push(k, v.as_bytes().to_vec());
        }
        e
    }

    #[test]
    fn normalizes_dns() {
        assert_eq!(
            normalize_dn("CN=Anna Berg, OU=Users ,DC=X"),
            "cn=anna berg,ou=users,dc=x"
        );
        assert_eq!(normalize_dn("CN=Berg\\, Anna,DC=x"), "cn=berg\\, anna,dc=x");
    }

    #[test]
    fn sids_as_text() {
        let mut b = vec![1u8, 5, 0, 0, 0, 0, 0, 5];
        for v in [21u32, 1, 2, 3, 1104] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(sid_to_string(&b).unwrap(), "S-1-5-21-1-2-3-1104");
        assert!(sid_to_string(&b[..10]).is_none());
    }

    #[test]
    fn maps_ad_attributes_and_membership() {
        let entries = vec![
            entry(
                "CN=Anna,OU=U,DC=x",
                &[
                    ("objectclass", "user"),
                    ("samaccountname", "anna"),
                    ("useraccountcontrol", "514"),
                    ("accountexpires", "9223372036854775807"),
                    ("lastlogontimestamp", "134398287000000000"),
                    ("mail", "anna@x"),
                ],
            ),
            entry(
                "CN=Bo,OU=U,DC=x",
                &[
                    ("objectclass", "user"),
                    ("samaccountname", "bo"),
                    ("useraccountcontrol", "512"),
                    ("accountexpires", "0"),
                ],
            ),
            entry(
                "CN=PC1,OU=U,DC=x",
                &[("objectclass", "user"), ("objectclass", "computer")],
            ),
            entry(
                "CN=G1,DC=x",
                &[
                    ("objectclass", "group"),
                    ("cn", "G1"),
                    ("member", "cn=anna, ou=u,dc=x"),
                    ("member", "CN=G2,DC=x"),
                    ("member", "CN=PC1,OU=U,DC=x"),
                    (
                        "member",
                        "CN=S-1-5-21-9-9-9-1000,CN=ForeignSecurityPrincipals,DC=x",
                    ),
                ],
            ),
            entry(
                "CN=G2,DC=x",
                &[
                    ("objectclass", "group"),
                    ("cn", "G2"),
                    ("member", "CN=G1,DC=x"),
                ],
            ),
            entry(
                "CN=S-1-5-21-9-9-9-1000,CN=ForeignSecurityPrincipals,DC=x",
                &[
                    ("objectclass", "foreignSecurityPrincipal"),
                    ("cn", "S-1-5-21-9-9-9-1000"),
                ],
            ),
        ];
        let mut inv = InventoryBuilder::new();
        add_entries(entries, &Mapping::default(), &mut inv).unwrap();
        let anna = &inv.accounts()[inv.account("anna").unwrap()];
        assert_eq!(anna.enabled, Some(false));
        assert_eq!(anna.expires, Some(crate::inventory::Expiry::Never));
        assert!(anna.last_logon.is_some());
        assert_eq!(anna.attrs.get("mail", inv.names()), Some("anna@x"));
        let bo = &inv.accounts()[inv.account("bo").unwrap()];
        assert_eq!(bo.enabled, Some(true));
        assert!(inv.account("PC1").is_none());
        let g1 = inv.group("G1").unwrap();
        let g2 = inv.group("G2").unwrap();
        assert_eq!(inv.groups()[g1].children, vec![g2]);
        assert_eq!(inv.groups()[g2].children, vec![g1]);
        let fsp = inv.account("S-1-5-21-9-9-9-1000").unwrap();
        let inv = inv.finish();
        let g1 = inv.group("G1").unwrap();
        assert!(inv.members(g1).contains(&fsp));
        assert_eq!(inv.accounts.len(), 3);
    }

    #[test]
    fn maps_openldap_attributes_and_overrides() {
        let entries = vec![
            entry(
                "uid=c,ou=p,dc=x",
                &[
                    ("objectclass", "inetOrgPerson"),
                    ("uid", "c"),
                    ("cn", "C C"),
                    ("departmentnumber", "IFO"),
                    ("shadowexpire", "20000"),
                    ("pwdaccountlockedtime", "000001010000Z"),
                    ("authtimestamp", "20261122134500Z"),
                    ("extensionattribute1", "x"),
                ],
            ),
            entry(
                "cn=P,dc=x",
                &[
                    ("objectclass", "posixGroup"),
                    ("cn", "P"),
                    ("memberuid", "c"),
                ],
            ),
            entry(
                "uid=d,ou=p,dc=x",
                &[("objectclass", "person"), ("uid", "d")],
            ),
        ];
        let mut inv = InventoryBuilder::new();
        add_entries(entries.clone(), &Mapping::default(), &mut inv).unwrap();
        let c = &inv.accounts()[0];
        assert_eq!(c.display_name.as_deref(), Some("C C"));
        assert_eq!(c.attrs.get("department", inv.names()), Some("IFO"));
        assert_eq!(c.enabled, Some(false));
        assert!(c.is_expired(chrono::NaiveDate::from_ymd_opt(2024, 10, 6).unwrap()));
        let inv = inv.finish();
        assert_eq!(inv.members(GroupId::at(0)), vec![AccountId::at(0)]);
        // No pwdAccountLockedTime: enabled.
        assert_eq!(inv.accounts[1].enabled, Some(true));

        let mut config = LdapConfig::default();
        config
            .attributes
            .insert("department".into(), "extensionAttribute1".into());
        let mut inv = InventoryBuilder::new();
        add_entries(entries, &Mapping::from_config(Some(&config)), &mut inv).unwrap();
        assert_eq!(
            inv.accounts()[0].attrs.get("department", inv.names()),
            Some("x")
        );
    }

    #[test]
    fn bad_values_name_the_entry() {
        let entries = vec![entry(
            "CN=A,DC=x",
            &[
                ("objectclass", "user"),
                ("samaccountname", "a"),
                ("useraccountcontrol", "lots"),
            ],
        )];
        let err =
            add_entries(entries, &Mapping::default(), &mut InventoryBuilder::new()).unwrap_err();
        assert_eq!(err.location, "t:1");
        assert!(
            err.message.contains("userAccountControl")
                || err.message.contains("useraccountcontrol")
        );
    }

    /// A group big enough to be looked up on several threads, with
    /// members read before it, members read after it, its own DN and a DN
    /// nothing in the directory has: each member ends where it belongs.
    #[test]
    fn a_big_group_is_resolved_whole() {
        let n = 20_000;
        let mut entries = Vec::new();
        for i in 0..n / 2 {
            let uid = format!("u{i}");
            entries.push(entry(
                &format!("uid={uid},ou=P,dc=x"),
                &[("objectclass", "inetOrgPerson"), ("uid", &uid)],
            ));
        }
        let mut group = entry(
            "cn=Stor,ou=G,dc=x",
            &[("objectclass", "groupOfNames"), ("cn", "Stor")],
        );
        for i in 0..n {
            // Upper case and spaces after commas: the same DNs, written
            // another way.
            group.push("member", format!("UID=u{i}, OU=P, DC=x").into_bytes());
        }
        group.push("member", b"cn=Stor,ou=G,dc=x".to_vec());
        group.push("member", b"cn=Borta,ou=G,dc=x".to_vec());
        entries.push(group);
        for i in n / 2..n {
            let uid = format!("u{i}");
            entries.push(entry(
                &format!("uid={uid},ou=P,dc=x"),
                &[("objectclass", "inetOrgPerson"), ("uid", &uid)],
            ));
        }
        let mut inv = InventoryBuilder::new();
        add_entries(entries, &Mapping::default(), &mut inv).unwrap();
        let inv = inv.finish();
        let g = inv.group("Stor").unwrap();
        // Every account, and the DN no entry has, shown as itself.
        assert_eq!(inv.members(g).len(), n + 1);
        assert_eq!(inv.accounts.len(), n + 1);
        assert!(inv.account("cn=Borta,ou=G,dc=x").is_some());
        for i in (0..n).step_by(997) {
            let a = inv.account(&format!("u{i}")).unwrap();
            assert_eq!(inv.accounts[a].groups().collect::<Vec<_>>(), [g], "u{i}");
        }
        assert!(inv.groups[g].children.is_empty(), "not a member of itself");
    }

    #[test]
    fn memberships_from_a_server_name_the_entry_that_gives_them() {
        let server: Arc<str> = Arc::from("ldaps://dc.kommun.se");
        let at = |dn: &str, attrs: &[(&str, &str)]| {
            let mut e = entry(dn, attrs);
            e.source = Arc::clone(&server);
            e.line = None;
            e
        };
        let anna = at(
            "CN=Anna,OU=U,DC=x",
            &[
                ("objectclass", "user"),
                ("samaccountname", "anna"),
                ("objectsid", "S-1-5-21-1-2-3-1104"),
                ("primarygroupid", "513"),
            ],
        );
        let users = at(
            "CN=Domain Users,DC=x",
            &[
                ("objectclass", "group"),
                ("cn", "Domain Users"),
                ("objectsid", "S-1-5-21-1-2-3-513"),
            ],
        );
        let las = at(
            "CN=SG-Las,DC=x",
            &[
                ("objectclass", "group"),
                ("cn", "SG-Las"),
                ("member", "CN=Anna,OU=U,DC=x"),
            ],
        );
        let mut inv = InventoryBuilder::new();
        add_entries(vec![anna, users, las], &Mapping::default(), &mut inv).unwrap();
        let inv = inv.finish();
        let a = inv.account("anna").unwrap();
        let location = |group| inv.membership_location(a, inv.group(group).unwrap());
        assert_eq!(
            location("SG-Las").as_deref(),
            Some("ldaps://dc.kommun.se CN=SG-Las,DC=x")
        );
        assert_eq!(
            location("Domain Users").as_deref(),
            Some("ldaps://dc.kommun.se CN=Anna,OU=U,DC=x")
        );
    }

    #[test]
    fn a_contact_in_a_group_names_that_group_after_groups_are_renumbered() {
        // Read first, `SG-Ö` comes last in name order.
        let entries = vec![
            entry("CN=C,DC=x", &[("objectclass", "contact"), ("cn", "C")]),
            entry(
                "CN=SG-Ö,DC=x",
                &[
                    ("objectclass", "group"),
                    ("cn", "SG-Ö"),
                    ("member", "CN=C,DC=x"),
                ],
            ),
            entry("CN=SG-A,DC=x", &[("objectclass", "group"), ("cn", "SG-A")]),
        ];
        let mut inv = InventoryBuilder::new();
        add_entries(entries, &Mapping::default(), &mut inv).unwrap();
        let inv = inv.finish();
        let named: Vec<(&str, &str)> = inv
            .non_accounts
            .iter()
            .map(|(what, g)| (what.as_str(), inv.groups[*g].name.as_str()))
            .collect();
        assert_eq!(named, [("the contact `CN=C,DC=x`", "SG-Ö")]);
    }
}
