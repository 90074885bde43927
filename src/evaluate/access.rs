//! Effective access: which (role, scope) every account reaches on every
//! data source, and the shortest path of groups that gives it.
//!
//! Grants are attached to groups once (a policy's patterns are matched
//! once per group, not per account); each account is then walked up the
//! group graph breadth-first, so the first time a grant is reached is by a
//! shortest path, and a membership cycle ends the walk instead of looping.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::findings::Place;
use crate::intern::{Interner, Sym, Vocab};
use crate::inventory::{AccountId, GroupId, Holder, Inventory, Origin};
use crate::policy::Policy;

use super::reasons::{AccessReason, Step};

/// What gives an access: a `[[grant]]` of the policy or a role-export row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantSource {
    /// The index of the `[[grant]]` in its policy.
    Policy {
        rule: u32,
    },
    Export {
        origin: Origin,
    },
}

#[derive(Debug, Clone)]
struct GrantEntry {
    policy: u32,
    role: Sym,
    scope: Sym,
    source: GrantSource,
}

/// One access of an account: the groups from the account's own group up to
/// the group that holds the grant (empty for a grant to the account itself).
#[derive(Debug, Clone)]
pub struct Access {
    pub via: Vec<GroupId>,
    pub grant: GrantSource,
}

/// Accesses of one account on one source, keyed by (role, scope).
pub type AccessMap = BTreeMap<(String, String), Access>;

/// What a group reaches on one source: the shortest path to a group with a
/// grant, and every (role, scope) it gives.
pub type GroupReach = (Vec<GroupId>, BTreeSet<(String, String)>);

/// An access found by a walk, before paths are spelled out.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub policy: u32,
    pub role: Sym,
    pub scope: Sym,
    /// The group holding the grant, or `NONE` for a grant to the account.
    pub group: GroupId,
    /// Groups on the path (0 for a grant to the account).
    pub depth: u32,
    /// Index of the grant entry, for [`Walker::grant_source`].
    entry: u32,
    /// Whether the entry belongs to a group (else to the account).
    from_group: bool,
}

pub const NONE: GroupId = GroupId::NONE;

/// Scratch space for walks, reused from account to account.
pub struct WalkState {
    stamp: Vec<u32>,
    generation: u32,
    prev: Vec<GroupId>,
    depth: Vec<u32>,
    order: Vec<GroupId>,
}

impl WalkState {
    /// Whether the last walk reached this group.
    pub fn reached(&self, group: GroupId) -> bool {
        self.stamp.get(group.index()) == Some(&self.generation)
    }

    /// The groups from the account's own group up to `group`.
    pub fn path(&self, mut group: GroupId) -> Vec<GroupId> {
        if group == NONE {
            return Vec::new();
        }
        let mut path = vec![group];
        while self.prev[group.index()] != NONE {
            group = self.prev[group.index()];
            path.push(group);
        }
        path.reverse();
        path
    }
}

/// The group graph with every policy's grants attached to its groups.
pub struct Walker<'a> {
    inventory: &'a Inventory,
    policies: &'a [&'a Policy],
    group_grants: Vec<Vec<GrantEntry>>,
    /// Role-export grants to accounts, sorted by account, each account's
    /// in the order of the export.
    account_grants: Vec<(AccountId, GrantEntry)>,
    /// One bit per account: whether `account_grants` has entries for it.
    has_grants: Vec<u64>,
    /// [`Walker::accounts_under`] of the groups asked about so far.
    under: std::sync::Mutex<FxHashMap<GroupId, usize>>,
    /// The roles and scopes of the walk: the inventory's, and those only
    /// the policies name.
    vocab: Vocab<'a>,
    /// The policies' files, by policy, and the role exports', by their
    /// symbol: shared by the findings that point there.
    policy_files: Vec<Arc<str>>,
    export_files: FxHashMap<Sym, Arc<str>>,
    /// Whether findings record their reasons (see [`Walker::keeps_reasons`]).
    reasons: bool,
}

impl<'a> Walker<'a> {
    pub fn new(inventory: &'a Inventory, policies: &'a [&'a Policy]) -> Self {
        Walker::with_vocab(inventory, policies, Vocab::new(inventory.names()))
    }

    /// The walker of `policies`, its roles and scopes added to `vocab`
    /// (which must be of this inventory).
    pub fn with_vocab(
        inventory: &'a Inventory,
        policies: &'a [&'a Policy],
        mut vocab: Vocab<'a>,
    ) -> Self {
        let mut group_grants: Vec<Vec<GrantEntry>> = vec![Vec::new(); inventory.groups.len()];
        let expanded: Vec<Vec<Sym>> = policies
            .iter()
            .map(|p| {
                p.source
                    .scopes
                    .iter()
                    .map(|s| vocab.intern(s.trim()))
                    .collect()
            })
            .collect();
        let expand = |vocab: &mut Vocab<'a>, p: usize, scope: &str| -> Vec<Sym> {
            if scope == "*" && !expanded[p].is_empty() {
                expanded[p].clone()
            } else {
                vec![vocab.intern(scope.trim())]
            }
        };
        for (g, group) in inventory.groups.iter().enumerate() {
            for (p, policy) in policies.iter().enumerate() {
                for (rule_index, rule) in policy.grants.iter().enumerate() {
                    if let Some((role, scope)) = rule.matches(&group.name) {
                        let role = vocab.intern(role.trim());
                        for scope in expand(&mut vocab, p, &scope) {
                            group_grants[g].push(GrantEntry {
                                policy: p as u32,
                                role,
                                scope,
                                source: GrantSource::Policy {
                                    rule: rule_index as u32,
                                },
                            });
                        }
                    }
                }
            }
        }
        let mut account_grants: Vec<(AccountId, GrantEntry)> = Vec::new();
        let by_id: FxHashMap<&str, usize> = policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.source.id.as_str(), i))
            .collect();
        let mut export_files: FxHashMap<Sym, Arc<str>> = FxHashMap::default();
        for grant in &inventory.grants {
            let Some(&p) = by_id.get(inventory.text(grant.data_source)) else {
                continue;
            };
            export_files
                .entry(grant.origin.source)
                .or_insert_with(|| Arc::from(inventory.text(grant.origin.source)));
            let role = vocab.intern(inventory.text(grant.role).trim());
            let scope = inventory.grant_scope(grant);
            for scope in expand(&mut vocab, p, scope) {
                let entry = GrantEntry {
                    policy: p as u32,
                    role,
                    scope,
                    source: GrantSource::Export {
                        origin: grant.origin,
                    },
                };
                match &grant.holder {
                    Holder::Group(g) => group_grants[g.index()].push(entry),
                    Holder::Account(name) => {
                        // Unknown accounts get only `unknown-account`.
                        if let Some(a) = inventory.account(name) {
                            account_grants.push((a, entry));
                        }
                    }
                }
            }
        }
        // Stable: an account's entries stay in the order of the export.
        account_grants.sort_by_key(|(a, _)| *a);
        account_grants.shrink_to_fit();
        let mut has_grants = vec![0u64; inventory.accounts.len().div_ceil(64)];
        for (a, _) in &account_grants {
            has_grants[a.index() / 64] |= 1 << (a.index() % 64);
        }
        Walker {
            inventory,
            policies,
            group_grants,
            account_grants,
            has_grants,
            under: Default::default(),
            vocab,
            policy_files: policies
                .iter()
                .map(|p| Arc::from(p.file.display().to_string()))
                .collect(),
            export_files,
            reasons: true,
        }
    }

    /// Whether the findings of the walk record their reasons (on unless
    /// [`Walker::without_reasons`] turned it off).
    pub fn keeps_reasons(&self) -> bool {
        self.reasons
    }

    /// The walker whose findings record no reasons: for a run that shows
    /// none (every output but `explain`), which then neither spends the time
    /// on them nor holds them in memory beside the inventory. What is found
    /// is the same.
    pub fn without_reasons(mut self) -> Self {
        self.reasons = false;
        self
    }

    /// The text of a role or scope of the walk.
    pub fn text(&self, sym: Sym) -> &str {
        self.vocab.text(sym)
    }

    /// The roles and scopes of the walk.
    pub fn vocab(&self) -> &Vocab<'a> {
        &self.vocab
    }

    pub fn inventory(&self) -> &'a Inventory {
        self.inventory
    }

    pub fn state(&self) -> WalkState {
        let n = self.inventory.groups.len();
        WalkState {
            stamp: vec![0; n],
            generation: 0,
            prev: vec![NONE; n],
            depth: vec![0; n],
            order: Vec::new(),
        }
    }

    /// Walks up from an account's groups, recording every group reached
    /// with the group it was first reached from.
    pub fn walk(&self, account: AccountId, state: &mut WalkState) {
        state.generation = state.generation.wrapping_add(1);
        if state.generation == 0 {
            state.stamp.iter_mut().for_each(|s| *s = 0);
            state.generation = 1;
        }
        state.order.clear();
        for g in self.inventory.accounts[account].groups() {
            let i = g.index();
            if state.stamp[i] != state.generation {
                state.stamp[i] = state.generation;
                state.prev[i] = NONE;
                state.depth[i] = 1;
                state.order.push(g);
            }
        }
        // `order` doubles as the queue.
        let mut next = 0;
        while next < state.order.len() {
            let g = state.order[next];
            next += 1;
            for &parent in &self.inventory.groups[g].parents {
                let p = parent.index();
                if state.stamp[p] != state.generation {
                    state.stamp[p] = state.generation;
                    state.prev[p] = g;
                    state.depth[p] = state.depth[g.index()] + 1;
                    state.order.push(parent);
                }
            }
        }
    }

    /// The accesses the last walk found: one per (policy, role, scope), by
    /// a shortest path, sorted by policy.
    pub fn hits(&self, account: AccountId, state: &WalkState, out: &mut Vec<Hit>) {
        out.clear();
        for (i, (_, entry)) in self.account_entries(account).iter().enumerate() {
            out.push(Hit {
                policy: entry.policy,
                role: entry.role,
                scope: entry.scope,
                group: NONE,
                depth: 0,
                entry: i as u32,
                from_group: false,
            });
        }
        for &g in &state.order {
            for (i, entry) in self.group_grants[g.index()].iter().enumerate() {
                out.push(Hit {
                    policy: entry.policy,
                    role: entry.role,
                    scope: entry.scope,
                    group: g,
                    depth: state.depth[g.index()],
                    entry: i as u32,
                    from_group: true,
                });
            }
        }
        // Stable: among equal keys the first found, by a shortest path, stays.
        out.sort_by_key(|h| (h.policy, h.role, h.scope));
        out.dedup_by_key(|h| (h.policy, h.role, h.scope));
    }

    /// The role-export entries of an account.
    fn account_entries(&self, account: AccountId) -> &[(AccountId, GrantEntry)] {
        if self
            .has_grants
            .get(account.index() / 64)
            .is_none_or(|bits| bits & (1 << (account.index() % 64)) == 0)
        {
            return &[];
        }
        let start = self.account_grants.partition_point(|(b, _)| *b < account);
        let end = self.account_grants.partition_point(|(b, _)| *b <= account);
        &self.account_grants[start..end]
    }

    /// Where a hit's grant is written.
    pub fn grant_source(&self, account: AccountId, hit: &Hit) -> Option<&GrantSource> {
        let entry = if hit.from_group {
            self.group_grants
                .get(hit.group.index())?
                .get(hit.entry as usize)
        } else {
            self.account_entries(account)
                .get(hit.entry as usize)
                .map(|(_, e)| e)
        };
        entry.map(|e| &e.source)
    }

    /// The accesses the last walk found, per policy index, spelled out.
    pub fn collect(&self, account: AccountId, state: &WalkState) -> BTreeMap<usize, AccessMap> {
        let mut hits = Vec::new();
        self.hits(account, state, &mut hits);
        let mut out: BTreeMap<usize, AccessMap> = BTreeMap::new();
        for hit in &hits {
            let Some(grant) = self.grant_source(account, hit) else {
                continue;
            };
            out.entry(hit.policy as usize).or_default().insert(
                (
                    self.text(hit.role).to_string(),
                    self.text(hit.scope).to_string(),
                ),
                Access {
                    via: state.path(hit.group),
                    grant: grant.clone(),
                },
            );
        }
        out
    }

    /// From a group upward: the shortest path to a group with a grant of
    /// this policy, and every (role, scope) reachable; `None` when the group
    /// gives no access to the policy's source.
    pub fn group_reach(&self, policy: usize, start: GroupId) -> Option<GroupReach> {
        let mut prev: FxHashMap<GroupId, GroupId> = FxHashMap::default();
        let mut seen: BTreeSet<GroupId> = BTreeSet::new();
        let mut queue = VecDeque::from([start]);
        seen.insert(start);
        let mut first: Option<GroupId> = None;
        let mut reached = BTreeSet::new();
        while let Some(g) = queue.pop_front() {
            for entry in self.group_grants[g.index()]
                .iter()
                .filter(|e| e.policy as usize == policy)
            {
                first.get_or_insert(g);
                reached.insert((
                    self.text(entry.role).to_string(),
                    self.text(entry.scope).to_string(),
                ));
            }
            for &parent in &self.inventory.groups[g].parents {
                if seen.insert(parent) {
                    prev.insert(parent, g);
                    queue.push_back(parent);
                }
            }
        }
        let mut g = first?;
        let mut path = vec![g];
        while let Some(&p) = prev.get(&g) {
            g = p;
            path.push(g);
        }
        path.reverse();
        Some((path, reached))
    }

    /// How many accounts are members of a group, directly or through nested
    /// groups. Counted by [`Walker::count_under`] unless it was before.
    pub fn accounts_under(&self, group: GroupId) -> usize {
        let known = self.under.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&count) = known.get(&group) {
            return count;
        }
        drop(known);
        self.count_under(&[group]);
        let known = self.under.lock().unwrap_or_else(|e| e.into_inner());
        known.get(&group).copied().unwrap_or(0)
    }

    /// Counts the accounts under each of `groups` (directly or through
    /// nested groups) and remembers the counts: one scan of the accounts
    /// for up to 64 groups.
    pub fn count_under(&self, groups: &[GroupId]) {
        let all = &self.inventory.groups;
        for batch in groups.chunks(64) {
            // Bit i of a group's mask: the group is batch[i] or nested in it.
            let mut mask = vec![0u64; all.len()];
            for (bit, &top) in batch.iter().enumerate() {
                let flag = 1u64 << bit;
                mask[top.index()] |= flag;
                let mut queue = VecDeque::from([top]);
                while let Some(g) = queue.pop_front() {
                    for &child in &all[g].children {
                        if mask[child.index()] & flag == 0 {
                            mask[child.index()] |= flag;
                            queue.push_back(child);
                        }
                    }
                }
            }
            let mut counts = [0usize; 64];
            for account in &self.inventory.accounts {
                let mut reached = 0u64;
                for g in account.groups() {
                    reached |= mask[g.index()];
                }
                while reached != 0 {
                    counts[reached.trailing_zeros() as usize] += 1;
                    reached &= reached - 1;
                }
            }
            let mut known = self.under.lock().unwrap_or_else(|e| e.into_inner());
            for (bit, &top) in batch.iter().enumerate() {
                known.insert(top, counts[bit]);
            }
        }
    }

    /// A path of groups with where each membership on it is written: the
    /// account's membership in the first group (`account` is `None` when
    /// the path starts at a group), then each group's nesting in the next.
    pub fn steps(&self, account: Option<AccountId>, via: &[GroupId]) -> Vec<Step> {
        let inventory = self.inventory;
        via.iter()
            .enumerate()
            .map(|(i, &group)| {
                let from = match (i, account) {
                    (0, Some(a)) => inventory.membership_location(a, group),
                    (0, None) => None,
                    _ => inventory.nesting_location(group, via[i - 1]),
                };
                Step { group, from }
            })
            .collect()
    }

    /// A hit of the last walk of `account`, with its path and grant.
    pub fn access_reason(&self, account: AccountId, state: &WalkState, hit: &Hit) -> AccessReason {
        AccessReason {
            role: self.text(hit.role).to_string(),
            scope: self.text(hit.scope).to_string(),
            path: self.steps(Some(account), &state.path(hit.group)),
            grant: self.grant_source(account, hit).cloned(),
        }
    }

    pub fn via_names(&self, via: &[GroupId]) -> Vec<String> {
        via.iter()
            .map(|&g| self.inventory.groups[g].name.clone())
            .collect()
    }

    /// A line of the policy's file, as data; the file's name is shared by
    /// the findings that point into it.
    pub fn policy_place(&self, policy: &Policy, line: Option<usize>) -> Place {
        Place {
            file: self
                .policies
                .iter()
                .position(|p| std::ptr::eq(*p, policy))
                .and_then(|i| self.policy_files.get(i))
                .map_or_else(|| Arc::from(policy.file.display().to_string()), Arc::clone),
            line: crate::inventory::line_number(line),
        }
    }

    /// Where a grant is written, as data: the policy file and the
    /// `[[grant]]` line, or the role-export row.
    pub fn grant_place(&self, policy: &Policy, source: &GrantSource) -> Place {
        match source {
            GrantSource::Policy { rule } => {
                self.policy_place(policy, policy.grants.get(*rule as usize).map(|g| g.line))
            }
            GrantSource::Export { origin } => Place {
                file: self
                    .export_files
                    .get(&origin.source)
                    .map_or_else(|| Arc::from(self.inventory.text(origin.source)), Arc::clone),
                line: origin.line,
            },
        }
    }

    /// The grants a group holds itself (not through its parents): policy
    /// index, role, scope and where each is written.
    pub fn own_grants(
        &self,
        group: GroupId,
    ) -> impl Iterator<Item = (usize, Sym, Sym, &GrantSource)> {
        self.group_grants
            .get(group.index())
            .into_iter()
            .flatten()
            .map(|e| (e.policy as usize, e.role, e.scope, &e.source))
    }

    /// The role-export grants an account holds itself, as
    /// [`Walker::own_grants`].
    pub fn account_grants(
        &self,
        account: AccountId,
    ) -> impl Iterator<Item = (usize, Sym, Sym, &GrantSource)> {
        self.account_entries(account)
            .iter()
            .map(|(_, e)| (e.policy as usize, e.role, e.scope, &e.source))
    }

    pub fn policies(&self) -> &[&'a Policy] {
        self.policies
    }
}

/// Where a grant is written: the policy's `[[grant]]` line or the
/// role-export row (its file read through the inventory's `names`).
pub fn grant_text(policy: &Policy, source: &GrantSource, names: &Interner) -> String {
    match source {
        GrantSource::Policy { rule } => match policy.grants.get(*rule as usize) {
            Some(g) => format!(
                "{}:{} ([[grant]] group = '{}')",
                policy.file.display(),
                g.line,
                g.pattern.as_str()
            ),
            None => policy.file.display().to_string(),
        },
        GrantSource::Export { origin } => origin.show(names).to_string(),
    }
}
