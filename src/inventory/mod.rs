//! The inventory: accounts, groups and role-export grants merged from every
//! source, with interned ids, and the group graph that effective access is
//! computed over. Sources only add to it; evaluation only reads it.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;

use rustc_hash::FxHashMap;

use chrono::{NaiveDate, NaiveDateTime};

use crate::intern::{Attrs, Sym};
use crate::text::trim;

pub type AccountId = usize;
pub type GroupId = usize;

/// Where a record came from, for messages: a file and line, or a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub source: Sym,
    /// Lines count from 1; 32 bits, as every account keeps its origin.
    pub line: Option<NonZeroU32>,
}

impl Origin {
    pub fn new(source: &str, line: Option<usize>) -> Self {
        Origin::at(Sym::new(source), line)
    }

    /// A line of an interned source; lines past 2^32 are not told.
    pub fn at(source: Sym, line: Option<usize>) -> Self {
        Origin {
            source,
            line: line
                .and_then(|l| u32::try_from(l).ok())
                .and_then(NonZeroU32::new),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.source, line),
            None => f.write_str(self.source.as_str()),
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
    /// Groups the account is a direct member of (ids as 32 bits: a
    /// million accounts have millions of memberships).
    pub groups: Box<[u32]>,
    pub origin: Origin,
}

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
            groups: Box::default(),
            origin,
        }
    }

    /// An attribute's text by its lower-case name, including
    /// `display_name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        match name {
            "display_name" => self.display_name.as_deref(),
            _ => self.attrs.get(name),
        }
    }

    pub fn is_expired(&self, as_of: NaiveDate) -> bool {
        matches!(self.expires, Some(Expiry::At(t)) if t.date() <= as_of)
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
    /// Memberships added but not yet in the accounts' lists:
    /// (account, group), in the order they came.
    pending: Vec<(u32, u32)>,
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
    /// The attributes, beyond the well-known ones, that sources keep:
    /// those the policies' conditions read. `None` keeps every attribute.
    pub keep: Option<Vec<String>>,
}

/// The case-insensitive lookup key of a name: borrowed when the name is
/// already trimmed lower-case ASCII, as most account names are.
fn key(name: &str) -> Cow<'_, str> {
    let trimmed = trim(name);
    if trimmed
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(trimmed)
    } else {
        Cow::Owned(trimmed.to_lowercase())
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
    pub fn new() -> Self {
        Self::default()
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
            .map(|&id| id as usize)
    }

    pub fn group(&self, name: &str) -> Option<GroupId> {
        self.group_index.get(key(name).as_ref()).copied()
    }

    /// The account of this name, created empty if it is new.
    pub fn account_mut(&mut self, name: &str, origin: &Origin) -> &mut Account {
        let id = self.account_id(name, origin);
        &mut self.accounts[id]
    }

    /// The DN of an account, if its source gave one.
    pub fn dn(&self, account: AccountId) -> Option<&str> {
        self.dns.get(&(account as u32)).map(|dn| &**dn)
    }

    pub fn set_dn(&mut self, account: AccountId, dn: Box<str>) {
        self.dns.insert(account as u32, dn);
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
        let id = match self.find_account(&k, hash) {
            Some(id) => id,
            None => {
                let id = self.accounts.len();
                self.accounts.push(Account::new(trim(name).into(), *origin));
                let accounts = &self.accounts;
                self.account_index
                    .insert_unique(hash, id as u32, |i| account_hash(accounts, i));
                id
            }
        };
        id
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
        let id = self.groups.len();
        self.groups.push(Group {
            name: trim(name).to_string(),
            dn: None,
            parents: Vec::new(),
            children: Vec::new(),
            owner: None,
            member_attr: None,
            object_class: None,
        });
        self.group_index.insert(k.into_owned(), id);
        id
    }

    /// Makes `account` a direct member of `group`. Memberships are
    /// collected and put in the accounts' lists by
    /// [`Inventory::flush_memberships`] (which [`Inventory::finish`]
    /// calls), account by account: cheaper than growing scattered lists
    /// one membership at a time while reading.
    pub fn add_membership(&mut self, account: AccountId, group: GroupId) {
        self.pending.push((account as u32, group as u32));
    }

    /// Makes `account` a direct member of each of `groups` at once, as a
    /// row of an account export does: no collecting, the account is at
    /// hand. Ids are stored as 32 bits: an inventory of four billion
    /// accounts or groups would not fit in memory.
    pub fn add_memberships(&mut self, account: AccountId, groups: &[GroupId]) {
        self.flush_memberships();
        self.extend_groups(account, groups.iter().map(|&g| g as u32));
    }

    /// Adds groups to an account's list, leaving out those it has.
    fn extend_groups(&mut self, account: AccountId, groups: impl ExactSizeIterator<Item = u32>) {
        let list = &mut self.accounts[account].groups;
        let mut grown = Vec::with_capacity(list.len() + groups.len());
        grown.extend_from_slice(list);
        for g in groups {
            if !grown.contains(&g) {
                grown.push(g);
            }
        }
        if grown.len() != list.len() {
            *list = grown.into_boxed_slice();
        }
    }

    /// Puts the memberships added since the last flush into the accounts'
    /// lists, keeping each account's groups in the order they came and
    /// leaving out repeats.
    pub fn flush_memberships(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        // A counting sort by account.
        let mut start = vec![0usize; self.accounts.len() + 1];
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
        for (a, bounds) in start.windows(2).enumerate() {
            let groups = &by_account[bounds[0]..bounds[1]];
            if !groups.is_empty() {
                self.extend_groups(a, groups.iter().copied());
            }
        }
    }

    /// Makes `child` a member of `parent`.
    pub fn add_nesting(&mut self, parent: GroupId, child: GroupId) {
        if !self.groups[child].parents.contains(&parent) {
            self.groups[child].parents.push(parent);
            self.groups[parent].children.push(child);
        }
    }

    /// Numbers groups in name order and sorts every adjacency list, so that
    /// traversal order, and so the path kept among equally short ones, does
    /// not depend on the order of the input.
    pub fn finish(&mut self) {
        self.flush_memberships();
        let mut order: Vec<GroupId> = (0..self.groups.len()).collect();
        let names: Vec<String> = self
            .groups
            .iter()
            .map(|g| key(&g.name).into_owned())
            .collect();
        order.sort_by(|a, b| names[*a].cmp(&names[*b]).then(a.cmp(b)));
        let mut new_id = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old] = new;
        }
        let mut old_groups: Vec<Option<Group>> = std::mem::take(&mut self.groups)
            .into_iter()
            .map(Some)
            .collect();
        self.groups = order
            .iter()
            .filter_map(|&old| old_groups[old].take())
            .collect();
        for group in &mut self.groups {
            for g in group.parents.iter_mut().chain(group.children.iter_mut()) {
                *g = new_id[*g];
            }
            group.parents.sort_unstable();
            group.children.sort_unstable();
        }
        for account in &mut self.accounts {
            for g in &mut account.groups {
                *g = new_id[*g as usize] as u32;
            }
            account.groups.sort_unstable();
        }
        for id in self.group_index.values_mut() {
            *id = new_id[*id];
        }
        for id in self.group_spellings.values_mut() {
            *id = new_id[*id];
        }
        for grant in &mut self.grants {
            if let Holder::Group(g) = &mut grant.holder {
                *g = new_id[*g];
            }
        }
    }

    /// The accounts that are direct members of a group, in account order:
    /// a scan of every account, as only reports need it.
    pub fn members(&self, group: GroupId) -> Vec<AccountId> {
        let g = group as u32;
        self.accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.groups.contains(&g))
            .map(|(i, _)| i)
            .collect()
    }

    /// Makes room for `n` more accounts.
    pub fn reserve_accounts(&mut self, n: usize) {
        self.accounts.reserve(n);
        let accounts = &self.accounts;
        self.account_index.reserve(n, |i| account_hash(accounts, i));
    }
}
