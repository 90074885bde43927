//! Effective access: which (role, scope) every account reaches on every
//! data source, and the shortest path of groups that gives it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::inventory::{AccountId, GroupId, Holder, Inventory, Origin};
use crate::policy::Policy;

/// What gives an access: a `[[grant]]` of the policy or a role-export row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantSource {
    Policy { rule: usize },
    Export { origin: Origin },
}

#[derive(Debug, Clone)]
struct GrantEntry {
    policy: usize,
    role: String,
    scope: String,
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

const NONE: usize = usize::MAX;

/// Scratch space for walks, reused from account to account.
pub struct WalkState {
    stamp: Vec<u32>,
    generation: u32,
    prev: Vec<usize>,
    order: Vec<GroupId>,
}

impl WalkState {
    /// Whether the last walk reached this group.
    pub fn reached(&self, group: GroupId) -> bool {
        self.stamp[group] == self.generation
    }
}

/// The group graph with every policy's grants attached to its groups.
pub struct Walker<'a> {
    inventory: &'a Inventory,
    policies: &'a [&'a Policy],
    group_grants: Vec<Vec<GrantEntry>>,
    account_grants: HashMap<AccountId, Vec<GrantEntry>>,
}

impl<'a> Walker<'a> {
    pub fn new(inventory: &'a Inventory, policies: &'a [&'a Policy]) -> Self {
        let mut group_grants: Vec<Vec<GrantEntry>> = vec![Vec::new(); inventory.groups.len()];
        for (g, group) in inventory.groups.iter().enumerate() {
            for (p, policy) in policies.iter().enumerate() {
                for (rule_index, rule) in policy.grants.iter().enumerate() {
                    if let Some((role, scope)) = rule.matches(&group.name) {
                        for scope in policy.source.expand_scope(&scope) {
                            group_grants[g].push(GrantEntry {
                                policy: p,
                                role: role.clone(),
                                scope,
                                source: GrantSource::Policy { rule: rule_index },
                            });
                        }
                    }
                }
            }
        }
        let mut account_grants: HashMap<AccountId, Vec<GrantEntry>> = HashMap::new();
        let by_id: HashMap<&str, usize> = policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.source.id.as_str(), i))
            .collect();
        for grant in &inventory.grants {
            let Some(&p) = by_id.get(grant.data_source.as_str()) else {
                continue;
            };
            let scope = grant.scope.as_deref().unwrap_or("*");
            for scope in policies[p].source.expand_scope(scope) {
                let entry = GrantEntry {
                    policy: p,
                    role: grant.role.clone(),
                    scope,
                    source: GrantSource::Export {
                        origin: grant.origin.clone(),
                    },
                };
                match &grant.holder {
                    Holder::Group(g) => group_grants[*g].push(entry),
                    Holder::Account(name) => {
                        // Unknown accounts get only `unknown-account`.
                        if let Some(a) = inventory.account(name) {
                            account_grants.entry(a).or_default().push(entry);
                        }
                    }
                }
            }
        }
        Walker {
            inventory,
            policies,
            group_grants,
            account_grants,
        }
    }

    pub fn state(&self) -> WalkState {
        let n = self.inventory.groups.len();
        WalkState {
            stamp: vec![0; n],
            generation: 0,
            prev: vec![NONE; n],
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
        let mut queue = VecDeque::new();
        for &g in &self.inventory.accounts[account].groups {
            if state.stamp[g] != state.generation {
                state.stamp[g] = state.generation;
                state.prev[g] = NONE;
                state.order.push(g);
                queue.push_back(g);
            }
        }
        while let Some(g) = queue.pop_front() {
            for &parent in &self.inventory.groups[g].parents {
                if state.stamp[parent] != state.generation {
                    state.stamp[parent] = state.generation;
                    state.prev[parent] = g;
                    state.order.push(parent);
                    queue.push_back(parent);
                }
            }
        }
    }

    fn path(state: &WalkState, mut group: GroupId) -> Vec<GroupId> {
        let mut path = vec![group];
        while state.prev[group] != NONE {
            group = state.prev[group];
            path.push(group);
        }
        path.reverse();
        path
    }

    /// The accesses the last walk found, per policy index.
    pub fn collect(&self, account: AccountId, state: &WalkState) -> BTreeMap<usize, AccessMap> {
        let mut out: BTreeMap<usize, AccessMap> = BTreeMap::new();
        for entry in self.account_grants.get(&account).into_iter().flatten() {
            out.entry(entry.policy)
                .or_default()
                .entry((entry.role.clone(), entry.scope.clone()))
                .or_insert_with(|| Access {
                    via: Vec::new(),
                    grant: entry.source.clone(),
                });
        }
        for &g in &state.order {
            for entry in &self.group_grants[g] {
                out.entry(entry.policy)
                    .or_default()
                    .entry((entry.role.clone(), entry.scope.clone()))
                    .or_insert_with(|| Access {
                        via: Self::path(state, g),
                        grant: entry.source.clone(),
                    });
            }
        }
        out
    }

    /// From a group upward: the shortest path to a group with a grant of
    /// this policy, and every (role, scope) reachable; `None` when the group
    /// gives no access to the policy's source.
    pub fn group_reach(&self, policy: usize, start: GroupId) -> Option<GroupReach> {
        let mut prev: HashMap<GroupId, GroupId> = HashMap::new();
        let mut seen: BTreeSet<GroupId> = BTreeSet::new();
        let mut queue = VecDeque::from([start]);
        seen.insert(start);
        let mut first: Option<GroupId> = None;
        let mut reached = BTreeSet::new();
        while let Some(g) = queue.pop_front() {
            for entry in self.group_grants[g].iter().filter(|e| e.policy == policy) {
                first.get_or_insert(g);
                reached.insert((entry.role.clone(), entry.scope.clone()));
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
    /// groups.
    pub fn accounts_under(&self, group: GroupId) -> usize {
        let mut seen_groups: BTreeSet<GroupId> = BTreeSet::from([group]);
        let mut accounts: BTreeSet<AccountId> = BTreeSet::new();
        let mut queue = VecDeque::from([group]);
        while let Some(g) = queue.pop_front() {
            accounts.extend(self.inventory.groups[g].members.iter().copied());
            for &child in &self.inventory.groups[g].children {
                if seen_groups.insert(child) {
                    queue.push_back(child);
                }
            }
        }
        accounts.len()
    }

    pub fn via_names(&self, via: &[GroupId]) -> Vec<String> {
        via.iter()
            .map(|&g| self.inventory.groups[g].name.clone())
            .collect()
    }

    /// Where a grant is written: the policy's `[[grant]]` line or the
    /// role-export row.
    pub fn grant_text(&self, policy: &Policy, source: &GrantSource) -> String {
        match source {
            GrantSource::Policy { rule } => match policy.grants.get(*rule) {
                Some(g) => format!(
                    "{}:{} ([[grant]] group = '{}')",
                    policy.file.display(),
                    g.line,
                    g.pattern.as_str()
                ),
                None => policy.file.display().to_string(),
            },
            GrantSource::Export { origin } => origin.to_string(),
        }
    }

    pub fn policies(&self) -> &[&'a Policy] {
        self.policies
    }
}
