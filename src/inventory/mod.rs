//! The inventory: accounts, groups and role-export grants merged from every
//! source, with interned ids, and the group graph that effective access is
//! computed over. Sources fill an [`InventoryBuilder`]; its `finish`
//! gives the [`Inventory`] that evaluation reads, which takes no more
//! memberships.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;

use rustc_hash::FxHashMap;

use chrono::{NaiveDate, NaiveDateTime};

use crate::intern::{AttrLists, Attrs, Interner, Sym};
use crate::text::trim;

/// An account's number in its inventory: 32 bits, as groups' members
/// are many (an inventory of four billion accounts would not fit in
/// memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(u32);

/// A group's number in its inventory (in name order once the inventory is
/// finished): 32 bits, as accounts' lists of groups hold them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(u32);

macro_rules! id {
    ($id:ident, $item:ty) => {
        impl $id {
            /// The id of the item at `index` of the inventory's list.
            pub fn at(index: usize) -> Self {
                $id(u32::try_from(index).unwrap_or(u32::MAX))
            }

            /// The position of the item in the inventory's list.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::ops::Index<$id> for [$item] {
            type Output = $item;
            fn index(&self, id: $id) -> &$item {
                &self[id.index()]
            }
        }

        impl std::ops::IndexMut<$id> for [$item] {
            fn index_mut(&mut self, id: $id) -> &mut $item {
                &mut self[id.index()]
            }
        }

        impl std::ops::Index<$id> for Vec<$item> {
            type Output = $item;
            fn index(&self, id: $id) -> &$item {
                &self[id.index()]
            }
        }

        impl std::ops::IndexMut<$id> for Vec<$item> {
            fn index_mut(&mut self, id: $id) -> &mut $item {
                &mut self[id.index()]
            }
        }
    };
}

id!(AccountId, Account);
id!(GroupId, Group);

impl GroupId {
    /// No group: where a path of groups has none (a grant to the account
    /// itself).
    pub const NONE: GroupId = GroupId(u32::MAX);
}

/// Where a record came from, for messages: a file and line, or a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub source: Sym,
    /// Lines count from 1; 32 bits, as every account keeps its origin.
    pub line: Option<NonZeroU32>,
}

/// A line number as records keep it: 32 bits, lines counting from 1;
/// lines past 2^32 are not told.
pub fn line_number(line: Option<usize>) -> Option<NonZeroU32> {
    line.and_then(|l| u32::try_from(l).ok())
        .and_then(NonZeroU32::new)
}

impl Origin {
    /// A line of an interned source (see [`line_number`]).
    pub fn at(source: Sym, line: Option<usize>) -> Self {
        Origin {
            source,
            line: line_number(line),
        }
    }

    /// The origin as messages tell it (`file:line`, or the server), its
    /// source read through the interner of the inventory it belongs to.
    pub fn show(self, names: &Interner) -> Shown<'_> {
        Shown {
            origin: self,
            names,
        }
    }
}

/// An [`Origin`] with the text of its source, to print.
#[derive(Clone, Copy)]
pub struct Shown<'a> {
    origin: Origin,
    names: &'a Interner,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = self.names.text(self.origin.source);
        match self.origin.line {
            Some(line) => write!(f, "{source}:{line}"),
            None => f.write_str(source),
        }
    }
}

/// When an account expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    At(NaiveDateTime),
}

#[derive(Debug, Clone)]
pub struct Account {
    /// The account's name as its source spells it. The builder's account
    /// index finds accounts by this name: it is not changed once read.
    pub id: Box<str>,
    pub display_name: Option<Box<str>>,
    /// Every string attribute, keyed by its lower-case name; the well-known
    /// ones use their contract names (`department`, `title`,
    /// `employee_type`). The display name and the typed attributes have
    /// fields of their own.
    pub attrs: Attrs,
    pub enabled: Option<bool>,
    pub expires: Option<Expiry>,
    pub last_logon: Option<NaiveDateTime>,
    /// The groups the account is a direct member of (ids as 32 bits: a
    /// million accounts have millions of memberships), then, when `from`
    /// is [`MembershipsFrom::Marked`], one mark per group (see
    /// [`Account::groups`]).
    memberships: Box<[u32]>,
    /// Where the account's memberships came from.
    from: MembershipsFrom,
    /// The source of the lines among the marks: 1 + its place in
    /// [`Inventory::mark_sources`], 0 for none (in room the other fields
    /// leave).
    mark_source: u8,
    pub origin: Origin,
}

/// Where every direct membership of an account came from, when it is the
/// same for all of them (as it is for all but a few accounts), or that
/// each has a mark of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MembershipsFrom {
    /// The account's own record: its row's group cell, its entry's
    /// primary group.
    Own,
    /// The group's directory entry (its `member` or `memberUid` values).
    Entry,
    /// A mark per membership, after the groups: [`OWN`], [`ENTRY`],
    /// [`ELSEWHERE`] or a line of the account's `mark_source`.
    Marked,
}

/// A membership's mark: the account's own record.
const OWN: u32 = 0;
/// A membership's mark: the group's directory entry.
const ENTRY: u32 = u32::MAX;
/// A membership's mark: an origin kept in [`Inventory::elsewhere`] (a
/// second source of rows for the account, or a source without lines).
const ELSEWHERE: u32 = u32::MAX - 1;

impl Account {
    /// An account with nothing known about it but its id and origin.
    pub fn new(id: Box<str>, origin: Origin) -> Self {
        Account {
            id,
            display_name: None,
            attrs: Attrs::new(),
            enabled: None,
            expires: None,
            last_logon: None,
            memberships: Box::default(),
            from: MembershipsFrom::Own,
            mark_source: 0,
            origin,
        }
    }

    /// An attribute's text by its lower-case name, including
    /// `display_name`, read through its inventory's interner.
    pub fn attr<'a>(&'a self, name: &str, names: &'a Interner) -> Option<&'a str> {
        match name {
            "display_name" => self.display_name.as_deref(),
            _ => self.attrs.get(name, names),
        }
    }

    pub fn is_expired(&self, as_of: NaiveDate) -> bool {
        matches!(self.expires, Some(Expiry::At(t)) if t.date() <= as_of)
    }

    /// The groups the account is a direct member of; once the inventory
    /// is finished ([`InventoryBuilder::finish`]), in group order.
    pub fn groups(&self) -> impl ExactSizeIterator<Item = GroupId> + Clone + '_ {
        self.group_numbers().iter().map(|&g| GroupId(g))
    }

    /// Whether the account is a direct member of `group`.
    pub fn in_group(&self, group: GroupId) -> bool {
        self.group_numbers().contains(&group.0)
    }

    fn group_numbers(&self) -> &[u32] {
        &self.memberships[..self.group_count()]
    }

    fn group_count(&self) -> usize {
        match self.from {
            MembershipsFrom::Marked => self.memberships.len() / 2,
            MembershipsFrom::Own | MembershipsFrom::Entry => self.memberships.len(),
        }
    }

    /// The mark of the membership at `index` of the groups.
    fn mark(&self, index: usize) -> u32 {
        match self.from {
            MembershipsFrom::Own => OWN,
            MembershipsFrom::Entry => ENTRY,
            MembershipsFrom::Marked => self.memberships[self.group_count() + index],
        }
    }

    /// The groups with their marks.
    fn marked(&self) -> Vec<(u32, u32)> {
        (0..self.group_count())
            .map(|i| (self.memberships[i], self.mark(i)))
            .collect()
    }

    /// Stores groups with their marks: without marks when they are all
    /// the same [`OWN`] or [`ENTRY`].
    fn set_marked(&mut self, pairs: &[(u32, u32)]) {
        let uniform = match pairs.first() {
            None => Some(MembershipsFrom::Own),
            Some(&(_, first)) if pairs.iter().all(|&(_, m)| m == first) => match first {
                OWN => Some(MembershipsFrom::Own),
                ENTRY => Some(MembershipsFrom::Entry),
                _ => None,
            },
            Some(_) => None,
        };
        let mut data: Vec<u32> = Vec::with_capacity(match uniform {
            Some(_) => pairs.len(),
            None => 2 * pairs.len(),
        });
        data.extend(pairs.iter().map(|&(g, _)| g));
        match uniform {
            Some(from) => self.from = from,
            None => {
                data.extend(pairs.iter().map(|&(_, m)| m));
                self.from = MembershipsFrom::Marked;
            }
        }
        self.memberships = data.into_boxed_slice();
    }

    /// Renumbers the groups (`number` gives a group's new number by its
    /// old) and puts them, with their marks, in order.
    fn renumber_groups(&mut self, number: impl Fn(u32) -> u32) {
        let count = self.group_count();
        for g in &mut self.memberships[..count] {
            *g = number(*g);
        }
        match self.from {
            MembershipsFrom::Own | MembershipsFrom::Entry => self.memberships.sort_unstable(),
            // Insertion sort of both halves in place: accounts have few
            // groups, and sorting a copy would allocate for each account.
            MembershipsFrom::Marked if count <= 64 => {
                let (groups, marks) = self.memberships.split_at_mut(count);
                for i in 1..count {
                    let mut j = i;
                    while j > 0 && groups[j - 1] > groups[j] {
                        groups.swap(j - 1, j);
                        marks.swap(j - 1, j);
                        j -= 1;
                    }
                }
            }
            MembershipsFrom::Marked => {
                let mut pairs = self.marked();
                pairs.sort_unstable();
                self.set_marked(&pairs);
            }
        }
    }

    /// Leaves the account out of `group`: for what-if copies of an
    /// inventory (the remediation plan's).
    pub(crate) fn leave_group(&mut self, group: GroupId) {
        let mut pairs = self.marked();
        pairs.retain(|&(g, _)| g != group.0);
        self.set_marked(&pairs);
    }

    /// Makes the account a member of `group`, keeping the groups in
    /// order: for what-if copies of an inventory (the remediation plan's).
    pub(crate) fn join_group(&mut self, group: GroupId) {
        let mut pairs = self.marked();
        if !pairs.iter().any(|&(g, _)| g == group.0) {
            pairs.push((group.0, OWN));
            pairs.sort_unstable();
        }
        self.set_marked(&pairs);
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub dn: Option<String>,
    /// Groups this group is a direct member of.
    pub parents: Vec<GroupId>,
    /// Groups that are direct members of this group. Accounts that are
    /// members are known from the accounts' own lists
    /// ([`Inventory::members`]).
    pub children: Vec<GroupId>,
    /// Who answers for the group: the directory's `managedBy` (AD) or
    /// `owner` (OpenLDAP), as the directory writes it.
    pub owner: Option<String>,
    /// The directory attribute that lists the group's members (`member`,
    /// `uniqueMember` or `memberUid`), where a directory said.
    pub member_attr: Option<&'static str>,
    /// The directory entry's group class (`group`, `groupOfNames`,
    /// `groupOfUniqueNames` or `posixGroup`), where a directory said.
    pub object_class: Option<&'static str>,
    /// The group's directory entry (the first, if sources have several),
    /// where a directory said: the origin of the memberships and
    /// nestings its member values give.
    pub origin: Option<Origin>,
}

/// Who a role-export row gives a role to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// An account name as the export writes it; it may be unknown to the
    /// directory.
    Account(Box<str>),
    Group(GroupId),
}

/// A role given directly by a business system's role export.
#[derive(Debug, Clone)]
pub struct DirectGrant {
    pub holder: Holder,
    /// Data sources, roles and scopes repeat from row to row: interned.
    pub data_source: Sym,
    pub role: Sym,
    /// `None` or `*` means every scope of the source.
    pub scope: Option<Sym>,
    pub origin: Origin,
}

#[derive(Debug, Default, Clone)]
pub struct Inventory {
    pub accounts: Vec<Account>,
    pub groups: Vec<Group>,
    pub grants: Vec<DirectGrant>,
    /// The text of every [`Sym`] in the inventory: attribute names and
    /// values, roles, scopes, data sources and the sources of origins.
    names: Interner,
    /// Accounts by their case-folded name: only the account's number is
    /// stored, its name is the account's own.
    account_index: hashbrown::HashTable<u32>,
    group_index: FxHashMap<String, GroupId>,
    /// Accounts' DNs, kept beside the accounts: most exports have none.
    dns: FxHashMap<u32, Box<str>>,
    /// Group names as sources spell them, to their ids: most spellings
    /// repeat exactly, and finding them needs no case folding.
    group_spellings: FxHashMap<Box<str>, GroupId>,
    /// Reused for lower-casing names on lookup.
    key_buffer: String,
    /// Origins of memberships no mark tells: (account, group).
    elsewhere: FxHashMap<(u32, u32), Origin>,
    /// The sources of the lines among accounts' marks (membership
    /// exports): a few, told apart by an account's `mark_source`.
    mark_sources: Vec<Sym>,
    /// Origins of nestings: (parent, child).
    nestings: FxHashMap<(u32, u32), Origin>,
    /// Descriptions of what was read (file paths, servers), for reports.
    pub inputs: Vec<String>,
    /// What the sources noticed and the run must say (entries audited
    /// under their DN, contacts in groups, empty exports): they end in the
    /// report's warnings.
    pub warnings: Vec<String>,
    /// Directory entries that cannot log on (contacts, computers), with
    /// the groups they are members of: warned about when such a group
    /// gives access.
    pub non_accounts: Vec<(String, GroupId)>,
}

/// What sources fill, in any order, and [`InventoryBuilder::finish`]
/// turns into the [`Inventory`] evaluation reads: memberships are put in
/// the accounts' lists, and groups numbered in name order, once, at the
/// end, and cannot be added after.
///
/// A finished inventory takes no memberships:
///
/// ```compile_fail
/// use behorig::inventory::{InventoryBuilder, Origin};
/// let mut builder = InventoryBuilder::new();
/// let group = builder.intern_group("SG-Las");
/// let origin = builder.origin("t", None);
/// let account = builder.account_id("anna", &origin);
/// let mut inventory = builder.finish();
/// inventory.add_memberships(account, &[group], origin);
/// ```
///
/// and a builder is not read before it is finished:
///
/// ```compile_fail
/// use behorig::inventory::{Inventory, InventoryBuilder};
/// fn evaluate(_: &Inventory) {}
/// evaluate(&InventoryBuilder::new());
/// ```
#[derive(Debug, Default)]
pub struct InventoryBuilder {
    /// The accounts and groups so far, their memberships not all in the
    /// accounts' lists yet.
    inventory: Inventory,
    /// Memberships added but not yet in the accounts' lists:
    /// (account, group), in the order they came.
    pending: Vec<(u32, u32)>,
    /// Room for the groups being added to one account, with their marks.
    added: Vec<(u32, u32)>,
    /// The accounts' attribute lists, to share equal ones.
    lists: AttrLists,
    pub grants: Vec<DirectGrant>,
    /// Descriptions of what was read (file paths, servers), for reports.
    pub inputs: Vec<String>,
    /// What the sources noticed and the run must say.
    pub warnings: Vec<String>,
    /// Directory entries that cannot log on, with the groups they are
    /// members of.
    pub non_accounts: Vec<(String, GroupId)>,
    /// The attributes, beyond the well-known ones, that sources keep:
    /// those the policies' conditions read. `None` keeps every attribute.
    pub keep: Option<Vec<String>>,
    /// The accounts' case-folded names, for the account index to compare
    /// a name with, while a membership export is read (see
    /// [`InventoryBuilder::hold_folded_names`]); `None` the rest of the
    /// time.
    folded: Option<FoldedNames>,
}

/// Accounts' case-folded names one after another, by account number. A
/// membership export written group by group looks an account up on every
/// row, each far from the last; comparing its name here reads one small
/// list, where the account's own name is behind its record and a pointer,
/// two reads far apart in memory. Held only while such an export is read:
/// the accounts' memberships, put in their lists once it is read, take
/// more memory than anything before, and the names are given back first.
#[derive(Debug, Default)]
struct FoldedNames {
    text: String,
    /// Where each account's name ends in `text`.
    ends: Vec<u32>,
}

impl FoldedNames {
    /// The folded name of account `id`, if it is held: an account's name
    /// is held unless the text would outgrow 32 bits.
    fn get(&self, id: u32) -> Option<&str> {
        let i = id as usize;
        let end = *self.ends.get(i)? as usize;
        let start = match i.checked_sub(1) {
            Some(before) => self.ends[before] as usize,
            None => 0,
        };
        self.text.get(start..end)
    }

    /// Holds the folded name of the next account, when every account
    /// before it is held and there is room.
    fn push(&mut self, id: u32, folded: &str) {
        let Ok(end) = u32::try_from(self.text.len() + folded.len()) else {
            return;
        };
        if self.ends.len() == id as usize {
            self.text.push_str(folded);
            self.ends.push(end);
        }
    }
}

/// The case-insensitive lookup key of a name: borrowed when the name is
/// already trimmed lower-case ASCII, as most account names are.
fn key(name: &str) -> Cow<'_, str> {
    crate::text::lowercase(trim(name))
}

/// Where something was read, as a report tells it: the file and line, or
/// the server and the DN of the entry it was read from.
fn located(origin: Shown<'_>, dn: Option<&str>) -> String {
    match dn {
        Some(dn) => format!("{origin} {dn}"),
        None => origin.to_string(),
    }
}

fn hash_key(key: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(key)
}

fn account_hash(accounts: &[Account], id: &u32) -> u64 {
    hash_key(&key(&accounts[*id as usize].id))
}

impl Inventory {
    /// The interner of the inventory's strings.
    pub fn names(&self) -> &Interner {
        &self.names
    }

    /// The text of one of the inventory's symbols.
    pub fn text(&self, sym: Sym) -> &str {
        self.names.text(sym)
    }

    /// An origin of the inventory, to print.
    pub fn at(&self, origin: Origin) -> Shown<'_> {
        origin.show(&self.names)
    }

    /// The scope a role-export row gives: `*` (every scope of the source)
    /// when it names none.
    pub fn grant_scope(&self, grant: &DirectGrant) -> &str {
        grant.scope.map_or("*", |s| self.text(s))
    }

    /// Gives up the accounts' group memberships and where each was
    /// written, keeping the accounts, their attributes and the groups:
    /// what looking accounts up by name needs once evaluation is done.
    pub fn forget_memberships(&mut self) {
        for account in &mut self.accounts {
            account.memberships = Box::default();
            account.from = MembershipsFrom::Own;
            account.mark_source = 0;
        }
        self.elsewhere = FxHashMap::default();
    }

    /// Keeps the role-export grants for which `keep` holds, given the
    /// inventory's strings.
    pub fn retain_grants(&mut self, mut keep: impl FnMut(&DirectGrant, &Interner) -> bool) {
        let names = &self.names;
        self.grants.retain(|g| keep(g, names));
    }

    pub fn account(&self, name: &str) -> Option<AccountId> {
        let k = key(name);
        self.find_account(&k, hash_key(&k))
    }

    /// The account whose case-folded name is `folded` (of hash `hash`).
    fn find_account(&self, folded: &str, hash: u64) -> Option<AccountId> {
        let accounts = &self.accounts;
        self.account_index
            .find(hash, |&id| key(&accounts[id as usize].id) == folded)
            .map(|&id| AccountId(id))
    }

    pub fn group(&self, name: &str) -> Option<GroupId> {
        self.group_index.get(key(name).as_ref()).copied()
    }

    /// The DN of an account, if its source gave one.
    pub fn dn(&self, account: AccountId) -> Option<&str> {
        self.dns.get(&account.0).map(|dn| &**dn)
    }

    /// The id of the group of this name, created if it is new.
    pub fn intern_group(&mut self, name: &str) -> GroupId {
        if let Some(&id) = self.group_spellings.get(name) {
            return id;
        }
        let id = self.intern_group_folded(name);
        // A directory can spell a name in many ways; a few thousand
        // spellings cover the groups of any organisation.
        if self.group_spellings.len() < 1 << 16 {
            self.group_spellings.insert(name.into(), id);
        }
        id
    }

    fn intern_group_folded(&mut self, name: &str) -> GroupId {
        let trimmed = trim(name);
        let mut buffer = std::mem::take(&mut self.key_buffer);
        buffer.clear();
        if trimmed.is_ascii() {
            buffer.push_str(trimmed);
            buffer.make_ascii_lowercase();
        } else {
            buffer.extend(trimmed.chars().flat_map(char::to_lowercase));
        }
        let found = self.group_index.get(buffer.as_str()).copied();
        self.key_buffer = buffer;
        if let Some(id) = found {
            return id;
        }
        let k = key(name);
        let id = GroupId::at(self.groups.len());
        self.groups.push(Group {
            name: trim(name).to_string(),
            dn: None,
            parents: Vec::new(),
            children: Vec::new(),
            owner: None,
            member_attr: None,
            object_class: None,
            origin: None,
        });
        self.group_index.insert(k.into_owned(), id);
        id
    }

    /// Where the inventory learnt that `account` is a direct member of
    /// `group`: the row of an export (its file and line), the account's
    /// own row or entry, or the group's directory entry (an LDIF file and
    /// line; a server, the entry then being the group's DN). `None` if the
    /// account is not a direct member.
    pub fn membership_origin(&self, account: AccountId, group: GroupId) -> Option<Origin> {
        self.membership(account, group).map(|(origin, _)| origin)
    }

    /// [`Inventory::membership_origin`], with the mark that says which
    /// record it is.
    fn membership(&self, account: AccountId, group: GroupId) -> Option<(Origin, u32)> {
        let acc = self.accounts.get(account.index())?;
        let index = acc.group_numbers().iter().position(|&g| g == group.0)?;
        let mark = acc.mark(index);
        let origin = match mark {
            OWN => acc.origin,
            ENTRY => self.groups.get(group.index())?.origin?,
            ELSEWHERE => *self.elsewhere.get(&(account.0, group.0))?,
            line => Origin {
                source: *self
                    .mark_sources
                    .get(usize::from(acc.mark_source).checked_sub(1)?)?,
                line: NonZeroU32::new(line),
            },
        };
        Some((origin, mark))
    }

    /// Where a direct membership was read, as a report tells it: the
    /// file and line, or, from a server, the server and the DN of the
    /// entry that gives it (the group's, or the account's own for a
    /// primary group).
    pub fn membership_location(&self, account: AccountId, group: GroupId) -> Option<String> {
        let (origin, mark) = self.membership(account, group)?;
        let dn = match (origin.line, mark) {
            (Some(_), _) => None,
            (None, OWN) => self.dn(account),
            (None, ENTRY) => self.groups[group].dn.as_deref(),
            (None, _) => None,
        };
        Some(located(self.at(origin), dn))
    }

    /// Where the inventory learnt that `child` is a member of `parent`:
    /// the row of a nesting export, or the parent's directory entry.
    /// `None` if it is not a direct member.
    pub fn nesting_origin(&self, parent: GroupId, child: GroupId) -> Option<Origin> {
        self.nestings.get(&(parent.0, child.0)).copied()
    }

    /// Where a nesting was read, as a report tells it: the file and line,
    /// or, from a server, the server and the DN of the parent's entry.
    pub fn nesting_location(&self, parent: GroupId, child: GroupId) -> Option<String> {
        let origin = self.nesting_origin(parent, child)?;
        let dn = match origin.line {
            Some(_) => None,
            None => self.groups.get(parent.index())?.dn.as_deref(),
        };
        Some(located(self.at(origin), dn))
    }

    /// The accounts that are direct members of a group, in account order:
    /// a scan of every account, as only reports need it.
    pub fn members(&self, group: GroupId) -> Vec<AccountId> {
        self.accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.in_group(group))
            .map(|(i, _)| AccountId::at(i))
            .collect()
    }
}

/// Whether group `g` is neither among the account's groups nor among
/// those being added to them.
fn new_to(account: &Account, added: &[(u32, u32)], g: u32) -> bool {
    !account.in_group(GroupId(g)) && !added.iter().any(|&(a, _)| a == g)
}

impl InventoryBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder keeping, beyond the well-known attributes, those of
    /// `keep` (`None`: every attribute).
    pub fn keeping(keep: Option<Vec<String>>) -> Self {
        InventoryBuilder {
            keep,
            ..Self::default()
        }
    }

    pub fn account(&self, name: &str) -> Option<AccountId> {
        self.inventory.account(name)
    }

    /// The symbol of `text`, interned in the inventory.
    pub fn intern(&mut self, text: &str) -> Sym {
        self.inventory.names.intern(text)
    }

    /// The interned lower-case form of an attribute name.
    pub fn attr_name(&mut self, name: &str) -> Sym {
        self.inventory.names.attr_name(name)
    }

    /// The origin of a line (or of no line) of the source `name`.
    pub fn origin(&mut self, name: &str, line: Option<usize>) -> Origin {
        Origin::at(self.intern(name), line)
    }

    /// The interner of the inventory's strings so far.
    pub fn names(&self) -> &Interner {
        &self.inventory.names
    }

    /// Sets an attribute (its name in lower case, its value trimmed) on an
    /// account, replacing an earlier value.
    pub fn set_attr(&mut self, account: AccountId, name: &str, value: &str) {
        let pair = (self.attr_name(name), self.intern(value.trim()));
        self.update_attrs(account, &[pair]);
    }

    pub fn group(&self, name: &str) -> Option<GroupId> {
        self.inventory.group(name)
    }

    pub fn dn(&self, account: AccountId) -> Option<&str> {
        self.inventory.dn(account)
    }

    /// The accounts so far, their groups not yet all in.
    pub fn accounts(&self) -> &[Account] {
        &self.inventory.accounts
    }

    /// The groups so far.
    pub fn groups(&self) -> &[Group] {
        &self.inventory.groups
    }

    /// An account's attributes and flags, to set them.
    pub fn edit_account(&mut self, account: AccountId) -> &mut Account {
        &mut self.inventory.accounts[account]
    }

    /// The attribute list of these (name, value) pairs, names lower case,
    /// shared with accounts that have the same.
    pub fn attrs_of(&mut self, pairs: &[(Sym, Sym)]) -> Attrs {
        self.lists.of(pairs)
    }

    /// Sets `updates` on an account's attributes, replacing values of the
    /// same names.
    pub fn update_attrs(&mut self, account: AccountId, updates: &[(Sym, Sym)]) {
        // A membership export's rows carry no attributes.
        if updates.is_empty() {
            return;
        }
        let attrs = &mut self.inventory.accounts[account].attrs;
        *attrs = self.lists.with(attrs, updates);
    }

    /// A group's directory details, to set them.
    pub fn edit_group(&mut self, group: GroupId) -> &mut Group {
        &mut self.inventory.groups[group]
    }

    /// The id of the group of this name, created if it is new.
    pub fn intern_group(&mut self, name: &str) -> GroupId {
        self.inventory.intern_group(name)
    }

    pub fn set_dn(&mut self, account: AccountId, dn: Box<str>) {
        self.inventory.dns.insert(account.0, dn);
    }

    /// Whether sources keep the attribute `name` (lower case) on accounts.
    pub fn keeps(&self, name: &str) -> bool {
        match &self.keep {
            None => true,
            Some(names) => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
        }
    }

    /// The id of the account of this name, created empty if it is new.
    pub fn account_id(&mut self, name: &str, origin: &Origin) -> AccountId {
        let k = key(name);
        let hash = hash_key(&k);
        let accounts = &self.inventory.accounts;
        let folded = self.folded.as_ref();
        // One probe finds the account or the place of a new one: an
        // account export makes a new account on every row.
        let entry = self.inventory.account_index.entry(
            hash,
            |&id| match folded.and_then(|names| names.get(id)) {
                Some(name) => name == k,
                None => key(&accounts[id as usize].id) == k,
            },
            |i| account_hash(accounts, i),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(found) => AccountId(*found.get()),
            hashbrown::hash_table::Entry::Vacant(place) => {
                let id = AccountId::at(self.inventory.accounts.len());
                place.insert(id.0);
                self.inventory
                    .accounts
                    .push(Account::new(trim(name).into(), *origin));
                if let Some(names) = &mut self.folded {
                    names.push(id.0, &k);
                }
                id
            }
        }
    }

    /// Makes `account` a direct member of `group`, as the group's
    /// directory entry at `entry` says (a `member` or `memberUid` value).
    /// Memberships are collected and put in the accounts' lists account by
    /// account, before the next row's memberships or by
    /// [`InventoryBuilder::finish`]: cheaper than growing scattered lists
    /// one membership at a time while reading.
    pub fn add_membership(&mut self, account: AccountId, group: GroupId, entry: Origin) {
        let known = &mut self.inventory.groups[group].origin;
        match known {
            None => *known = Some(entry),
            Some(first) if *first != entry => {
                // A second entry for the group: its memberships keep
                // their own origin.
                return self.add_memberships(account, &[group], entry);
            }
            Some(_) => {}
        }
        self.pending.push((account.0, group.0));
    }

    /// Makes `account` a direct member of each of `groups` at once, as a
    /// row at `at` says (a row of an account or membership export, an
    /// entry's primary group): no collecting, the account is at hand. Ids
    /// are stored as 32 bits: an inventory of four billion accounts or
    /// groups would not fit in memory.
    pub fn add_memberships(&mut self, account: AccountId, groups: &[GroupId], at: Origin) {
        self.add_each(account, groups.iter().map(|&g| (g, at)));
    }

    /// Makes `account` a direct member of the group of each row, as that
    /// row says: what [`InventoryBuilder::add_memberships`] does for each
    /// row in turn, in their order, for the rows of a membership export
    /// that name the account, with the account's list made once instead of
    /// once a row.
    pub fn add_membership_rows(&mut self, account: AccountId, rows: &[(GroupId, Origin)]) {
        self.add_each(account, rows.iter().copied());
    }

    /// Adds groups to an account's list, each with the mark of where it was
    /// read: the account's own record, a line of the account's
    /// `mark_source`, or (another source, or one without lines) an origin
    /// kept in [`Inventory::elsewhere`]. Groups the account has, or that
    /// come again, keep their first mark.
    fn add_each(&mut self, account: AccountId, rows: impl Iterator<Item = (GroupId, Origin)>) {
        self.flush_memberships();
        let mut added = std::mem::take(&mut self.added);
        added.clear();
        let own = self.inventory.accounts[account].origin;
        // The account's source of marked lines, as the groups added so
        // far leave it.
        let mut known = self.inventory.accounts[account].mark_source;
        for (group, at) in rows {
            let g = group.0;
            if !new_to(&self.inventory.accounts[account], &added, g) {
                continue;
            }
            let mark = if at == own {
                OWN
            } else {
                let source = match known {
                    0 => self.mark_source(at.source),
                    known => (self.inventory.mark_sources.get(usize::from(known - 1))
                        == Some(&at.source))
                    .then_some(known),
                };
                match (at.line.map(NonZeroU32::get), source) {
                    (Some(line), Some(source)) if line < ELSEWHERE => {
                        known = source;
                        line
                    }
                    _ => {
                        self.inventory.elsewhere.entry((account.0, g)).or_insert(at);
                        ELSEWHERE
                    }
                }
            };
            added.push((g, mark));
        }
        self.extend_marked(account, &added, known);
        self.added = added;
    }

    /// The number an account keeps for `source` among the sources of
    /// marked lines (see [`Account::mark_source`]); `None` past 255
    /// sources.
    fn mark_source(&mut self, source: Sym) -> Option<u8> {
        let sources = &mut self.inventory.mark_sources;
        let index = match sources.iter().position(|&s| s == source) {
            Some(index) => index,
            None => {
                sources.push(source);
                sources.len() - 1
            }
        };
        u8::try_from(index + 1).ok()
    }

    /// Adds groups the account does not have, with their marks, to its
    /// list; `source`, if not 0, is the account's `mark_source` for the
    /// marks that are lines (its own, if none of them is).
    fn extend_marked(&mut self, account: AccountId, added: &[(u32, u32)], source: u8) {
        let Some(&(_, first)) = added.first() else {
            return;
        };
        let acc = &mut self.inventory.accounts[account];
        if acc.memberships.is_empty() {
            match first {
                OWN => acc.from = MembershipsFrom::Own,
                ENTRY => acc.from = MembershipsFrom::Entry,
                _ => {}
            }
        }
        let uniform = match acc.from {
            MembershipsFrom::Own => added.iter().all(|&(_, m)| m == OWN),
            MembershipsFrom::Entry => added.iter().all(|&(_, m)| m == ENTRY),
            MembershipsFrom::Marked => false,
        };
        let count = acc.group_count();
        if uniform {
            let mut grown = Vec::with_capacity(count + added.len());
            grown.extend_from_slice(&acc.memberships);
            grown.extend(added.iter().map(|&(g, _)| g));
            acc.memberships = grown.into_boxed_slice();
            return;
        }
        let mut data: Vec<u32> = Vec::with_capacity(2 * (count + added.len()));
        data.extend_from_slice(acc.group_numbers());
        data.extend(added.iter().map(|&(g, _)| g));
        data.extend((0..count).map(|i| acc.mark(i)));
        data.extend(added.iter().map(|&(_, m)| m));
        if source != 0 {
            acc.mark_source = source;
        }
        acc.memberships = data.into_boxed_slice();
        acc.from = MembershipsFrom::Marked;
    }

    /// Puts the memberships added since the last flush into the accounts'
    /// lists, keeping each account's groups in the order they came and
    /// leaving out repeats.
    fn flush_memberships(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        // A counting sort by account.
        let mut start = vec![0usize; self.inventory.accounts.len() + 1];
        for &(a, _) in &pending {
            start[a as usize + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut next = start.clone();
        let mut by_account = vec![0u32; pending.len()];
        for &(a, g) in &pending {
            by_account[next[a as usize]] = g;
            next[a as usize] += 1;
        }
        drop(pending);
        let mut added = std::mem::take(&mut self.added);
        for (a, bounds) in start.windows(2).enumerate() {
            let groups = &by_account[bounds[0]..bounds[1]];
            if groups.is_empty() {
                continue;
            }
            let account = AccountId::at(a);
            added.clear();
            for &g in groups {
                if new_to(&self.inventory.accounts[account], &added, g) {
                    added.push((g, ENTRY));
                }
            }
            self.extend_marked(account, &added, 0);
        }
        self.added = added;
    }

    /// Makes `child` a member of `parent`, as the row or entry at `at`
    /// says.
    pub fn add_nesting(&mut self, parent: GroupId, child: GroupId, at: Origin) {
        if !self.inventory.groups[child].parents.contains(&parent) {
            self.inventory.groups[child].parents.push(parent);
            self.inventory.groups[parent].children.push(child);
            self.inventory.nestings.insert((parent.0, child.0), at);
        }
    }

    /// Numbers groups in name order and sorts every adjacency list, so that
    /// traversal order, and so the path kept among equally short ones, does
    /// not depend on the order of the input.
    pub fn finish(mut self) -> Inventory {
        self.flush_memberships();
        let mut order: Vec<usize> = (0..self.inventory.groups.len()).collect();
        let names: Vec<String> = self
            .inventory
            .groups
            .iter()
            .map(|g| key(&g.name).into_owned())
            .collect();
        order.sort_by(|&a, &b| names[a].cmp(&names[b]).then(a.cmp(&b)));
        // The new id of each group, by its old one.
        let mut new_id = vec![GroupId(0); order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old] = GroupId::at(new);
        }
        let renumbered = |g: GroupId| new_id[g.index()];
        let number = |g: u32| new_id[g as usize].0;
        let mut old_groups: Vec<Option<Group>> = std::mem::take(&mut self.inventory.groups)
            .into_iter()
            .map(Some)
            .collect();
        self.inventory.groups = order
            .iter()
            .filter_map(|&old| old_groups[old].take())
            .collect();
        for group in &mut self.inventory.groups {
            for g in group.parents.iter_mut().chain(group.children.iter_mut()) {
                *g = renumbered(*g);
            }
            group.parents.sort_unstable();
            group.children.sort_unstable();
        }
        for account in &mut self.inventory.accounts {
            account.renumber_groups(number);
        }
        let renumber = |map: &mut FxHashMap<(u32, u32), Origin>, both: bool| {
            *map = std::mem::take(map)
                .into_iter()
                .map(|((a, g), origin)| {
                    let a = if both { number(a) } else { a };
                    ((a, number(g)), origin)
                })
                .collect();
        };
        renumber(&mut self.inventory.elsewhere, false);
        renumber(&mut self.inventory.nestings, true);
        for id in self.inventory.group_index.values_mut() {
            *id = renumbered(*id);
        }
        for id in self.inventory.group_spellings.values_mut() {
            *id = renumbered(*id);
        }
        for grant in &mut self.grants {
            if let Holder::Group(g) = &mut grant.holder {
                *g = renumbered(*g);
            }
        }
        let non_accounts = self
            .non_accounts
            .into_iter()
            .map(|(what, g)| (what, renumbered(g)))
            .collect();
        Inventory {
            grants: self.grants,
            inputs: self.inputs,
            warnings: self.warnings,
            non_accounts,
            ..self.inventory
        }
    }

    /// Holds the accounts' case-folded names, and those of accounts made
    /// from now on, for [`InventoryBuilder::account_id`] to compare names
    /// with: for a source that looks up an account on every row, in any
    /// order. [`InventoryBuilder::drop_folded_names`] gives them back.
    pub fn hold_folded_names(&mut self) {
        let mut folded = FoldedNames::default();
        for (id, account) in (0u32..).zip(&self.inventory.accounts) {
            folded.push(id, &key(&account.id));
        }
        self.folded = Some(folded);
    }

    /// Gives back the names [`InventoryBuilder::hold_folded_names`] held:
    /// accounts are then compared by their own names.
    pub fn drop_folded_names(&mut self) {
        self.folded = None;
    }

    /// Makes room for `n` more accounts.
    pub fn reserve_accounts(&mut self, n: usize) {
        self.inventory.accounts.reserve(n);
        let accounts = &self.inventory.accounts;
        self.inventory
            .account_index
            .reserve(n, |i| account_hash(accounts, i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An account with `n` groups, each from its own row of a membership
    /// export, in the reverse of name order.
    fn exported(n: usize) -> Inventory {
        let mut builder = InventoryBuilder::new();
        let konton = builder.origin("konton.csv", Some(2));
        let anna = builder.account_id("anna", &konton);
        let file = builder.intern("medlemskap.csv");
        for i in (0..n).rev() {
            let group = builder.intern_group(&format!("G{i:03}"));
            builder.add_memberships(anna, &[group], Origin::at(file, Some(n - i + 1)));
        }
        builder.finish()
    }

    #[test]
    fn groups_in_name_order_keep_their_rows() {
        for n in [3, 64, 65, 200] {
            let inventory = exported(n);
            let anna = inventory.account("anna").expect("anna");
            let groups: Vec<GroupId> = inventory.accounts[anna].groups().collect();
            assert_eq!(groups.len(), n);
            for (i, &g) in groups.iter().enumerate() {
                assert_eq!(inventory.groups[g].name, format!("G{i:03}"));
                let origin = inventory
                    .membership_origin(anna, g)
                    .map(|o| inventory.at(o).to_string());
                assert_eq!(origin, Some(format!("medlemskap.csv:{}", n - i + 1)), "{n}");
            }
        }
    }

    #[test]
    fn accounts_are_found_by_any_spelling_with_names_held_or_not() {
        let mut builder = InventoryBuilder::new();
        let at = builder.origin("konton.csv", Some(2));
        let anna = builder.account_id("Anna", &at);
        let ake = builder.account_id("ÅKE", &at);
        // No names are held until a source asks for them.
        assert!(builder.folded.is_none());
        builder.hold_folded_names();
        assert_eq!(builder.folded.as_ref().map(|n| n.ends.len()), Some(2));
        assert_eq!(builder.account_id(" anna ", &at), anna);
        assert_eq!(builder.account_id("åke", &at), ake);
        // Made while the names are held, found before and after they go.
        let bo = builder.account_id("Bo", &at);
        assert_ne!(bo, anna);
        assert_eq!(builder.account_id("BO", &at), bo);
        builder.drop_folded_names();
        assert!(builder.folded.is_none());
        assert_eq!(builder.account_id("bo", &at), bo);
        assert_eq!(builder.account_id("Åke", &at), ake);
        // Made after they went, then held again with the rest.
        let cilla = builder.account_id("Cilla", &at);
        assert!(builder.folded.is_none());
        builder.hold_folded_names();
        assert_eq!(builder.account_id("CILLA", &at), cilla);
        assert_eq!(builder.account_id("ANNA", &at), anna);
        let inventory = builder.finish();
        assert_eq!(inventory.accounts.len(), 4);
        assert_eq!(&*inventory.accounts[anna].id, "Anna");
        assert_eq!(inventory.account("åKE"), Some(ake));
    }

    #[test]
    fn folded_names_hold_only_an_unbroken_run_of_accounts() {
        let mut names = FoldedNames::default();
        names.push(0, "anna");
        names.push(2, "cilla");
        names.push(1, "bo");
        assert_eq!(names.get(0), Some("anna"));
        assert_eq!(names.get(1), Some("bo"));
        // Account 2 was not next when it came: it is compared by its own
        // name.
        assert_eq!(names.get(2), None);
    }
}
