//! Remediation: from findings to the changes that end them, proven before
//! they are printed.
//!
//! The planner works on the group graph the evaluator walks: it picks the
//! fewest changes (a nesting edge where one edge ends many findings, a
//! direct membership where it ends one, a role-export row where the access
//! is given there), then applies them to a copy of the inventory and runs
//! the evaluator again. A plan is only returned when that second
//! evaluation shows every finding it claims to fix gone and every access
//! that an allow covered still there.

pub mod render;

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::NaiveDate;
use serde::Serialize;

use crate::evaluate::{self, GrantSource, Reasoning, Walker};
use crate::findings::{Finding, Rule};
use crate::intern::{Sym, Vocab};
use crate::inventory::{AccountId, GroupId, Holder, Inventory};
use crate::policy::Policy;
use crate::rules::Remedy;

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Take a member (account or group) out of a directory group.
    RemoveMember,
    /// Take a role assignment out of a business system's role export.
    RemoveRole,
    /// Disable an account that a role export names but the directory does
    /// not know: its rows leave the export.
    DisableAccount,
    /// Put an account directly into a group that gives exactly an access
    /// it is allowed and would otherwise lose (the individual assignment
    /// that replaces a broad nesting).
    AddMember,
}

impl Action {
    /// Whether the change is to a directory group's members (LDIF and
    /// PowerShell carry it), not to a business system's roles.
    pub fn in_directory(self) -> bool {
        matches!(self, Action::RemoveMember | Action::AddMember)
    }

    pub fn id(self) -> &'static str {
        match self {
            Action::RemoveMember => "remove-member",
            Action::RemoveRole => "remove-role",
            Action::DisableAccount => "disable-account",
            Action::AddMember => "add-member",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    Account,
    Group,
}

/// One access: who reaches which role and scope on which source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
pub struct AccessRef {
    pub account: String,
    pub data_source: String,
    pub role: String,
    pub scope: String,
}

/// The edit a change makes to the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Edit {
    Membership {
        account: AccountId,
        group: GroupId,
    },
    Nesting {
        child: GroupId,
        parent: GroupId,
    },
    /// A role-export row, by where it is written.
    Row(String),
    /// Every row of an unknown account on a source.
    Unknown {
        name: String,
        source: String,
    },
    Add {
        account: AccountId,
        group: GroupId,
    },
}

/// One proposed change.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Change {
    pub action: Action,
    pub group: Option<String>,
    pub member: Option<String>,
    pub member_kind: Option<MemberKind>,
    pub data_source: Option<String>,
    pub account: Option<String>,
    pub role: Option<String>,
    pub scope: Option<String>,
    /// The findings the change ends.
    pub fixes: Vec<String>,
    /// Allowed access the change would take away (empty for every entry
    /// of `changes`; filled under `needs_decision`).
    pub removes_allowed: Vec<AccessRef>,
    /// The accounts whose access changes.
    pub accounts_affected: Vec<String>,
    /// Who approves it: the group's `managedBy`/`owner`.
    pub owner: Option<String>,
    /// The group's and the member's DNs, where the directory gave them.
    pub group_dn: Option<String>,
    pub member_dn: Option<String>,
    /// The directory attribute that lists the group's members.
    #[serde(skip)]
    pub member_attr: Option<&'static str>,
    /// The group's directory class (for a new group: its sibling's).
    #[serde(skip)]
    pub object_class: Option<&'static str>,
    /// Where a role-export row is written.
    pub row: Option<String>,
    /// The group does not exist yet: the policy's grant pattern names it,
    /// and the change creates it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub creates_group: bool,
    /// The change takes the group's last member: a directory that needs
    /// a member in every group (OpenLDAP's `groupOfNames`) has the group
    /// removed instead.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub empties_group: bool,
    #[serde(skip)]
    edit: Edit,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NotFixable {
    pub finding: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct After {
    pub findings: usize,
    pub allowed_access_lost: usize,
}

/// A remediation plan and its proof.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(
    title = "behorig remediation plan",
    extend("$id" = "https://behorig.invalid/schema/plan.schema.json")
)]
pub struct Plan {
    pub schema_version: u32,
    pub changes: Vec<Change>,
    pub needs_decision: Vec<Change>,
    pub not_fixable: Vec<NotFixable>,
    pub after: After,
    /// The findings the plan was made for, for renderers.
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

impl Plan {
    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }
}

/// The plan could not be proven: a bug, reported rather than printed.
#[derive(Debug)]
pub struct Unproven(pub String);

/// What a finding asks of the graph: that a start no longer reaches some
/// accesses.
#[derive(Debug, Clone)]
struct Target {
    finding: usize,
    start: Start,
    policy: usize,
    /// `None`: any access on the source.
    access: Option<(Sym, Sym)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Account(AccountId),
    Group(GroupId),
}

/// The group graph with the plan's edits so far.
#[derive(Clone)]
struct Graph<'a> {
    inv: &'a Inventory,
    walker: &'a Walker<'a>,
    /// Groups the policies' patterns name but the directory lacks; their
    /// ids follow the inventory's groups.
    new_groups: &'a [NewGroup],
    cut_members: HashSet<(AccountId, GroupId)>,
    cut_nesting: HashSet<(GroupId, GroupId)>,
    cut_rows: HashSet<String>,
    added: Vec<(AccountId, GroupId)>,
}

type Key = (usize, Sym, Sym);

impl<'a> Graph<'a> {
    fn with(&self, edit: &Edit) -> Graph<'a> {
        let mut g = Graph {
            inv: self.inv,
            walker: self.walker,
            new_groups: self.new_groups,
            cut_members: self.cut_members.clone(),
            cut_nesting: self.cut_nesting.clone(),
            cut_rows: self.cut_rows.clone(),
            added: self.added.clone(),
        };
        g.apply(edit);
        g
    }

    fn apply(&mut self, edit: &Edit) {
        match edit {
            Edit::Membership { account, group } => {
                self.cut_members.insert((*account, *group));
            }
            Edit::Nesting { child, parent } => {
                self.cut_nesting.insert((*child, *parent));
            }
            Edit::Row(origin) => {
                self.cut_rows.insert(origin.clone());
            }
            Edit::Unknown { .. } => {}
            Edit::Add { account, group } => self.added.push((*account, *group)),
        }
    }

    fn row_cut(&self, source: &GrantSource) -> bool {
        matches!(source, GrantSource::Export { origin } if self.cut_rows.contains(&self.inv.at(*origin).to_string()))
    }

    /// The grants a group holds itself; a group the plan would create
    /// holds what the policies' patterns give its name.
    fn own(&self, group: GroupId) -> Vec<(Key, &GrantSource)> {
        if let Some(new) = self.new_group(group) {
            return new.grants.iter().map(|k| (*k, &new.source)).collect();
        }
        self.walker
            .own_grants(group)
            .filter(|(_, _, _, s)| !self.row_cut(s))
            .map(|(p, r, s, src)| ((p, r, s), src))
            .collect()
    }

    fn new_group(&self, group: GroupId) -> Option<&'a NewGroup> {
        group
            .index()
            .checked_sub(self.inv.groups.len())
            .and_then(|i| self.new_groups.get(i))
    }

    fn account_own(&self, account: AccountId) -> impl Iterator<Item = (Key, &GrantSource)> + '_ {
        self.walker
            .account_grants(account)
            .filter(|(_, _, _, s)| !self.row_cut(s))
            .map(|(p, r, s, src)| ((p, r, s), src))
    }

    fn groups_of(&self, account: AccountId) -> Vec<GroupId> {
        let mut out: Vec<GroupId> = self.inv.accounts[account]
            .groups()
            .filter(|&g| !self.cut_members.contains(&(account, g)))
            .collect();
        out.extend(
            self.added
                .iter()
                .filter(|(a, _)| *a == account)
                .map(|(_, g)| *g),
        );
        out
    }

    fn parents(&self, group: GroupId) -> Vec<GroupId> {
        match self.inv.groups.get(group.index()) {
            Some(g) => g
                .parents
                .iter()
                .copied()
                .filter(|&p| !self.cut_nesting.contains(&(group, p)))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Breadth-first up from a start; calls `visit` on every group reached
    /// with the group it came from.
    fn walk(&self, start: Start, mut visit: impl FnMut(GroupId, Option<GroupId>) -> bool) {
        let mut seen: HashSet<GroupId> = HashSet::new();
        let mut queue: VecDeque<(GroupId, Option<GroupId>)> = VecDeque::new();
        match start {
            Start::Account(a) => {
                for g in self.groups_of(a) {
                    if seen.insert(g) {
                        queue.push_back((g, None));
                    }
                }
            }
            Start::Group(g) => {
                seen.insert(g);
                queue.push_back((g, None));
            }
        }
        while let Some((g, from)) = queue.pop_front() {
            if visit(g, from) {
                return;
            }
            for p in self.parents(g) {
                if seen.insert(p) {
                    queue.push_back((p, Some(g)));
                }
            }
        }
    }

    /// Every access of an account.
    fn reach(&self, account: AccountId) -> HashSet<Key> {
        let mut out: HashSet<Key> = self.account_own(account).map(|(k, _)| k).collect();
        self.walk(Start::Account(account), |g, _| {
            out.extend(self.own(g).into_iter().map(|(k, _)| k));
            false
        });
        out
    }

    fn wants(target: &Target, key: &Key) -> bool {
        key.0 == target.policy && target.access.is_none_or(|(r, s)| (key.1, key.2) == (r, s))
    }

    fn reaches(&self, target: &Target) -> bool {
        self.path(target).is_some()
    }

    /// The edits along a shortest path that gives the target's access, or
    /// `None` when none is left.
    fn path(&self, target: &Target) -> Option<Vec<Edit>> {
        if let Start::Account(a) = target.start {
            for (key, src) in self.account_own(a) {
                if Self::wants(target, &key) {
                    if let GrantSource::Export { origin } = src {
                        return Some(vec![Edit::Row(self.inv.at(*origin).to_string())]);
                    }
                }
            }
        }
        let mut prev: HashMap<GroupId, Option<GroupId>> = HashMap::new();
        let mut found: Option<(GroupId, Option<String>)> = None;
        self.walk(target.start, |g, from| {
            prev.insert(g, from);
            for (key, src) in self.own(g) {
                if Self::wants(target, &key) {
                    let row = match src {
                        GrantSource::Export { origin } => Some(self.inv.at(*origin).to_string()),
                        GrantSource::Policy { .. } => None,
                    };
                    found = Some((g, row));
                    return true;
                }
            }
            false
        });
        let (top, row) = found?;
        let mut chain = vec![top];
        let mut g = top;
        while let Some(Some(p)) = prev.get(&g) {
            g = *p;
            chain.push(g);
        }
        chain.reverse();
        let mut edits = Vec::new();
        if let Start::Account(a) = target.start {
            edits.push(Edit::Membership {
                account: a,
                group: chain[0],
            });
        }
        for pair in chain.windows(2) {
            edits.push(Edit::Nesting {
                child: pair[0],
                parent: pair[1],
            });
        }
        if let Some(row) = row {
            edits.push(Edit::Row(row));
        }
        Some(edits)
    }

    /// The accounts whose access an edit can change.
    fn affected(&self, edit: &Edit) -> Vec<AccountId> {
        let below = |top: GroupId| -> Vec<AccountId> {
            let mut groups: HashSet<GroupId> = HashSet::from([top]);
            let mut queue = VecDeque::from([top]);
            while let Some(g) = queue.pop_front() {
                for &c in &self.inv.groups[g].children {
                    if !self.cut_nesting.contains(&(c, g)) && groups.insert(c) {
                        queue.push_back(c);
                    }
                }
            }
            let added = |a: AccountId| {
                self.added
                    .iter()
                    .any(|(x, g)| *x == a && groups.contains(g))
            };
            self.inv
                .accounts
                .iter()
                .enumerate()
                .map(|(a, account)| (AccountId::at(a), account))
                .filter(|(a, account)| {
                    account
                        .groups()
                        .any(|g| groups.contains(&g) && !self.cut_members.contains(&(*a, g)))
                        || added(*a)
                })
                .map(|(a, _)| a)
                .collect()
        };
        match edit {
            Edit::Membership { account, .. } | Edit::Add { account, .. } => vec![*account],
            Edit::Nesting { child, .. } => below(*child),
            Edit::Row(origin) => {
                let mut out = Vec::new();
                for grant in &self.inv.grants {
                    if self.inv.at(grant.origin).to_string() != *origin {
                        continue;
                    }
                    match &grant.holder {
                        Holder::Account(name) => out.extend(self.inv.account(name)),
                        Holder::Group(g) => out.extend(below(*g)),
                    }
                }
                out
            }
            Edit::Unknown { .. } => Vec::new(),
        }
    }
}

/// A group that a policy's grant pattern names exactly but the inventory
/// does not hold: a plan may create it for individual assignments.
#[derive(Debug)]
struct NewGroup {
    name: String,
    grants: Vec<Key>,
    source: GrantSource,
    /// An existing group of the same pattern, whose place in the
    /// directory the new one takes.
    like: Option<GroupId>,
}

/// The groups to create, their roles and scopes added to `vocab`.
fn new_groups(policies: &[Policy], inventory: &Inventory, vocab: &mut Vocab<'_>) -> Vec<NewGroup> {
    let mut out: Vec<NewGroup> = Vec::new();
    for policy in policies {
        for (rule_index, rule) in policy.grants.iter().enumerate() {
            for name in rule.exact_names() {
                if inventory.group(&name).is_some() || out.iter().any(|n| n.name == name) {
                    continue;
                }
                let mut grants: Vec<Key> = Vec::new();
                for (q, other) in policies.iter().enumerate() {
                    for r in &other.grants {
                        let Some((role, scope)) = r.matches(&name) else {
                            continue;
                        };
                        let role = vocab.intern(role.trim());
                        if scope == "*" && !other.source.scopes.is_empty() {
                            for s in &other.source.scopes {
                                grants.push((q, role, vocab.intern(s.trim())));
                            }
                        } else {
                            grants.push((q, role, vocab.intern(scope.trim())));
                        }
                    }
                }
                let like = (0..inventory.groups.len())
                    .map(GroupId::at)
                    .find(|&g| rule.matches(&inventory.groups[g].name).is_some());
                out.push(NewGroup {
                    name,
                    grants,
                    source: GrantSource::Policy {
                        rule: rule_index as u32,
                    },
                    like,
                });
            }
        }
    }
    out
}

/// What the planner knows about the accesses before any change.
struct Baseline {
    /// Every allowed access, per account.
    allowed: HashMap<AccountId, HashSet<Key>>,
    /// Sources on which an account has an account-level finding
    /// (disabled, expired): no access there is added back.
    barred: HashSet<(AccountId, usize)>,
}

/// A candidate change with what it would do.
struct Scored {
    edit: Edit,
    ends: Vec<usize>,
    repairs: Vec<(AccountId, GroupId)>,
    lost: Vec<(AccountId, Key)>,
    affected: usize,
}

/// Makes the plan for the findings of the given sources (all when
/// `sources` is empty) and proves it.
pub fn plan(
    policies: &[Policy],
    inventory: &Inventory,
    as_of: NaiveDate,
    sources: &[String],
) -> Result<Plan, Unproven> {
    plan_except(policies, inventory, as_of, sources, &[])
}

/// As [`plan`], leaving the findings that valid exceptions accept as they
/// are.
pub fn plan_except(
    policies: &[Policy],
    inventory: &Inventory,
    as_of: NaiveDate,
    sources: &[String],
    exceptions: &[crate::exceptions::Exception],
) -> Result<Plan, Unproven> {
    // The plan reads what is found, not why: no reasons are recorded.
    let before = evaluate::evaluate_with(policies, inventory, as_of, Reasoning::Skip);
    let in_scope = |ds: &str| sources.is_empty() || sources.iter().any(|s| s == ds);
    let refs: Vec<&Policy> = policies.iter().collect();
    // The groups a plan may create give roles and scopes of the walk's.
    let mut vocab = Vocab::new(inventory.names());
    let new_groups = new_groups(policies, inventory, &mut vocab);
    let walker = Walker::with_vocab(inventory, &refs, vocab);
    let policy_of: HashMap<&str, usize> = policies
        .iter()
        .enumerate()
        .map(|(i, p)| (p.source.id.as_str(), i))
        .collect();

    let mut findings: Vec<Finding> = before
        .findings
        .iter()
        .filter(|f| in_scope(&f.data_source))
        .cloned()
        .collect();
    // Accepted findings are left alone, and their access counts as
    // allowed: the plan takes none of it.
    let accepted: HashSet<String> = if exceptions.is_empty() {
        HashSet::new()
    } else {
        let (excepted, _) = crate::exceptions::apply(exceptions, &mut findings, as_of);
        excepted.into_iter().map(|f| f.id).collect()
    };

    // Allowed access: every access no `unauthorized-access` finding names.
    let unauthorized: HashSet<(String, String, String, String)> = before
        .findings
        .iter()
        .filter(|f| f.rule == Rule::UnauthorizedAccess && !accepted.contains(&f.id))
        .map(|f| {
            (
                f.account.clone().unwrap_or_default(),
                f.data_source.clone(),
                f.role.clone().unwrap_or_default(),
                f.scope.clone().unwrap_or_default(),
            )
        })
        .collect();
    let empty = Graph {
        inv: inventory,
        walker: &walker,
        new_groups: &new_groups,
        cut_members: HashSet::new(),
        cut_nesting: HashSet::new(),
        cut_rows: HashSet::new(),
        added: Vec::new(),
    };
    let mut baseline = Baseline {
        allowed: HashMap::new(),
        barred: HashSet::new(),
    };
    for (a, account) in inventory.accounts.iter().enumerate() {
        let a = AccountId::at(a);
        let reach = empty.reach(a);
        let allowed: HashSet<Key> = reach
            .into_iter()
            .filter(|(p, r, s)| {
                !unauthorized.contains(&(
                    account.id.to_string(),
                    policies[*p].source.id.clone(),
                    walker.text(*r).to_string(),
                    walker.text(*s).to_string(),
                ))
            })
            .collect();
        if !allowed.is_empty() {
            baseline.allowed.insert(a, allowed);
        }
    }

    let mut targets: Vec<Target> = Vec::new();
    let mut not_fixable: Vec<NotFixable> = Vec::new();
    let mut direct: Vec<Change> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let policy = policy_of.get(f.data_source.as_str()).copied();
        let account = f.account.as_deref().and_then(|a| inventory.account(a));
        match (&f.rule.def().remedy, policy, account) {
            (Remedy::CutAccess, Some(policy), Some(a)) => {
                let find = |text: &Option<String>| walker.vocab().find(text.as_deref()?);
                match (find(&f.role), find(&f.scope)) {
                    (Some(role), Some(scope)) => targets.push(Target {
                        finding: i,
                        start: Start::Account(a),
                        policy,
                        access: Some((role, scope)),
                    }),
                    // The walk gives no access of this role and scope.
                    _ => not_fixable.push(NotFixable {
                        finding: f.id.clone(),
                        why: "behörigheten finns inte i de inlästa källorna".into(),
                    }),
                }
            }
            (Remedy::CutAccess, None, _) => {
                // A source no policy describes: the role export's rows.
                direct.extend(rows_of(inventory, f, &findings[i].id));
            }
            (Remedy::CutGroup, Some(policy), _) => {
                match f.group.as_deref().and_then(|g| inventory.group(g)) {
                    Some(g) => targets.push(Target {
                        finding: i,
                        start: Start::Group(g),
                        policy,
                        access: None,
                    }),
                    None => not_fixable.push(NotFixable {
                        finding: f.id.clone(),
                        why: "gruppen finns inte i katalogen som lästes".into(),
                    }),
                }
            }
            (Remedy::CutAllAccess, Some(policy), Some(a)) => {
                baseline.barred.insert((a, policy));
                targets.push(Target {
                    finding: i,
                    start: Start::Account(a),
                    policy,
                    access: None,
                });
            }
            (Remedy::DisableAccount, _, _) => {
                let name = f.account.clone().unwrap_or_default();
                direct.push(Change {
                    action: Action::DisableAccount,
                    account: Some(name.clone()),
                    data_source: Some(f.data_source.clone()),
                    fixes: vec![f.id.clone()],
                    accounts_affected: vec![name.clone()],
                    row: f.grant.clone(),
                    edit: Edit::Unknown {
                        name,
                        source: f.data_source.clone(),
                    },
                    ..Change::blank()
                });
            }
            (Remedy::Decision(why), _, _) => not_fixable.push(NotFixable {
                finding: f.id.clone(),
                why: why(f),
            }),
            // The account, the group or the source's policy is not in
            // what was read.
            (Remedy::CutAccess | Remedy::CutGroup | Remedy::CutAllAccess, _, _) => not_fixable
                .push(NotFixable {
                    finding: f.id.clone(),
                    why: "kontot eller gruppen finns inte i det som lästes".into(),
                }),
        }
    }

    let mut graph = empty;
    let mut chosen: Vec<Scored> = Vec::new();
    let mut open: Vec<usize> = (0..targets.len()).collect();
    // Targets no change can end without taking allowed access.
    let mut parked: Vec<usize> = Vec::new();
    loop {
        open.retain(|&t| !parked.contains(&t) && graph.reaches(&targets[t]));
        if open.is_empty() {
            break;
        }
        let candidates = edits_on_paths(&graph, &targets, &open);
        let best = candidates
            .into_iter()
            .map(|e| score(&graph, &baseline, &targets, &open, e))
            .filter(|s| s.lost.is_empty() && !s.ends.is_empty())
            .max_by(|a, b| {
                let ra = a.ends.len() as f64 / (1 + a.repairs.len()) as f64;
                let rb = b.ends.len() as f64 / (1 + b.repairs.len()) as f64;
                ra.total_cmp(&rb)
                    .then(a.ends.len().cmp(&b.ends.len()))
                    .then(b.affected.cmp(&a.affected))
            });
        if let Some(s) = best {
            commit(&mut graph, &s);
            open.retain(|t| !s.ends.contains(t));
            chosen.push(s);
            continue;
        }
        // No single change ends a finding without taking allowed access:
        // cut the first open target's paths one edge at a time, or leave
        // it for a decision.
        let t = open[0];
        match cut_one(&graph, &baseline, &targets, t) {
            Some(steps) => {
                let n = steps.len();
                for (i, mut s) in steps.into_iter().enumerate() {
                    commit(&mut graph, &s);
                    s.ends = if i + 1 == n { vec![t] } else { Vec::new() };
                    chosen.push(s);
                }
            }
            None => parked.push(t),
        }
    }

    // What would end the parked targets, and the allowed access it would
    // take: the change that ends the most of them first.
    let mut undecided: Vec<Scored> = Vec::new();
    let mut scratch = graph.clone();
    while !parked.is_empty() {
        let candidates = edits_on_paths(&scratch, &targets, &parked);
        let best = candidates
            .into_iter()
            .map(|e| score(&scratch, &baseline, &targets, &parked, e))
            .filter(|s| !s.ends.is_empty())
            .max_by(|a, b| {
                a.ends
                    .len()
                    .cmp(&b.ends.len())
                    .then(b.lost.len().cmp(&a.lost.len()))
                    .then(b.affected.cmp(&a.affected))
            });
        let Some(s) = best else {
            for &t in &parked {
                not_fixable.push(NotFixable {
                    finding: findings[targets[t].finding].id.clone(),
                    why: "ingen enskild ändring av grupper eller roller avslutar fyndet".into(),
                });
            }
            break;
        };
        scratch.apply(&s.edit);
        parked.retain(|t| !s.ends.contains(t));
        undecided.push(s);
    }

    let mut changes: Vec<Change> = direct;
    for s in &chosen {
        let fixes: Vec<String> = s
            .ends
            .iter()
            .map(|&t| findings[targets[t].finding].id.clone())
            .collect();
        // The memberships that keep allowed access come first, so that
        // nobody is without it between two lines of a script.
        for &(account, group) in &s.repairs {
            let add = Edit::Add { account, group };
            changes.push(describe(
                inventory,
                policies,
                &add,
                Vec::new(),
                Vec::new(),
                &graph,
            ));
        }
        changes.push(describe(
            inventory,
            policies,
            &s.edit,
            fixes,
            Vec::new(),
            &graph,
        ));
    }
    let mut needs_decision: Vec<Change> = Vec::new();
    for s in undecided {
        let mut lost: Vec<AccessRef> = s
            .lost
            .iter()
            .map(|(a, k)| access_ref(graph.walker, inventory, policies, *a, k))
            .collect();
        lost.sort();
        lost.dedup();
        let fixes = s
            .ends
            .iter()
            .map(|&t| findings[targets[t].finding].id.clone())
            .collect();
        needs_decision.push(describe(inventory, policies, &s.edit, fixes, lost, &graph));
    }

    mark_emptied(inventory, &mut changes);
    let mut plan = Plan {
        schema_version: 1,
        changes,
        needs_decision,
        not_fixable,
        after: After {
            findings: 0,
            allowed_access_lost: 0,
        },
        findings,
    };
    let open: Vec<Finding> = before
        .findings
        .into_iter()
        .filter(|f| !accepted.contains(&f.id))
        .collect();
    prove(
        policies, inventory, as_of, &mut plan, &open, &accepted, &in_scope,
    )?;
    Ok(plan)
}

impl Change {
    fn blank() -> Change {
        Change {
            action: Action::RemoveRole,
            group: None,
            member: None,
            member_kind: None,
            data_source: None,
            account: None,
            role: None,
            scope: None,
            fixes: Vec::new(),
            removes_allowed: Vec::new(),
            accounts_affected: Vec::new(),
            owner: None,
            group_dn: None,
            member_dn: None,
            member_attr: None,
            object_class: None,
            row: None,
            creates_group: false,
            empties_group: false,
            edit: Edit::Row(String::new()),
        }
    }
}

/// Marks, for every group the changes leave without members, the last
/// change that removes one.
fn mark_emptied(inventory: &Inventory, changes: &mut [Change]) {
    let copy = apply(inventory, changes);
    for i in (0..changes.len()).rev() {
        let group = match &changes[i].edit {
            Edit::Membership { group, .. } => *group,
            Edit::Nesting { parent, .. } => *parent,
            _ => continue,
        };
        let later = changes[i + 1..].iter().any(|c| {
            matches!(&c.edit, Edit::Membership { group: g, .. } | Edit::Nesting { parent: g, .. } if *g == group)
        });
        if !later && copy.groups[group].children.is_empty() && copy.members(group).is_empty() {
            changes[i].empties_group = true;
        }
    }
}

/// Escapes a value for use in a DN.
fn escape_rdn(value: &str) -> String {
    let mut s = String::new();
    for (i, c) in value.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
        {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// Applies a chosen change and the memberships that repair it.
fn commit(graph: &mut Graph<'_>, s: &Scored) {
    graph.apply(&s.edit);
    for &(account, group) in &s.repairs {
        graph.apply(&Edit::Add { account, group });
    }
}

/// `remove-role` changes for every role-export row behind a finding on a
/// source no policy describes.
fn rows_of(inventory: &Inventory, f: &Finding, id: &str) -> Vec<Change> {
    let Some(name) = f.account.as_deref() else {
        return Vec::new();
    };
    inventory
        .grants
        .iter()
        .filter(|g| {
            matches!(&g.holder, Holder::Account(n) if n.eq_ignore_ascii_case(name))
                && inventory.text(g.data_source) == f.data_source
                && f.role.as_deref() == Some(inventory.text(g.role))
                && inventory.grant_scope(g) == f.scope.as_deref().unwrap_or("*")
        })
        .map(|g| Change {
            action: Action::RemoveRole,
            account: Some(name.to_string()),
            data_source: Some(f.data_source.clone()),
            role: Some(inventory.text(g.role).to_string()),
            scope: g.scope.map(|s| inventory.text(s).to_string()),
            fixes: vec![id.to_string()],
            accounts_affected: vec![name.to_string()],
            row: Some(inventory.at(g.origin).to_string()),
            edit: Edit::Row(inventory.at(g.origin).to_string()),
            ..Change::blank()
        })
        .collect()
}

/// Every edit on the paths that give the targets `which` their access,
/// each once: the changes worth scoring.
fn edits_on_paths(graph: &Graph<'_>, targets: &[Target], which: &[usize]) -> Vec<Edit> {
    let mut edits: Vec<Edit> = Vec::new();
    for &t in which {
        for e in graph.path(&targets[t]).unwrap_or_default() {
            if !edits.contains(&e) {
                edits.push(e);
            }
        }
    }
    edits
}

/// What one edit would do from the current graph: the open targets it
/// ends, the allowed access it takes away, and the direct memberships
/// that would give that access back.
fn score(
    graph: &Graph<'_>,
    base: &Baseline,
    targets: &[Target],
    open: &[usize],
    edit: Edit,
) -> Scored {
    let next = graph.with(&edit);
    let affected = graph.affected(&edit);
    let ends: Vec<usize> = open
        .iter()
        .copied()
        .filter(|&t| {
            let hit = match targets[t].start {
                Start::Account(a) => affected.contains(&a),
                Start::Group(_) => true,
            };
            hit && !next.reaches(&targets[t])
        })
        .collect();
    let mut lost: Vec<(AccountId, Key)> = Vec::new();
    let mut repairs: Vec<(AccountId, GroupId)> = Vec::new();
    for &a in &affected {
        let Some(allowed) = base.allowed.get(&a) else {
            continue;
        };
        let had = graph.reach(a);
        let now = next.reach(a);
        let mut missing: Vec<Key> = allowed
            .iter()
            .filter(|k| had.contains(k) && !now.contains(k))
            .copied()
            .collect();
        missing.sort();
        for k in missing {
            if repairs
                .iter()
                .any(|&(ra, rg)| ra == a && next.own(rg).iter().any(|(key, _)| *key == k))
            {
                continue;
            }
            match repair(&next, base, a, &k) {
                Some(g) => repairs.push((a, g)),
                None => lost.push((a, k)),
            }
        }
    }
    Scored {
        edit,
        ends,
        repairs,
        lost,
        affected: affected.len(),
    }
}

/// A group that gives an account an access it is allowed, and nothing
/// it is not: a group that holds the grant itself and reaches no other
/// access the account is not allowed.
fn repair(graph: &Graph<'_>, base: &Baseline, account: AccountId, key: &Key) -> Option<GroupId> {
    if base.barred.contains(&(account, key.0)) {
        return None;
    }
    let allowed = base.allowed.get(&account)?;
    (0..graph.inv.groups.len() + graph.new_groups.len())
        .map(GroupId::at)
        .find(|&g| {
            if !graph.own(g).iter().any(|(k, _)| k == key) {
                return false;
            }
            let mut fine = true;
            graph.walk(Start::Group(g), |h, _| {
                if graph.own(h).iter().any(|(k, _)| !allowed.contains(k)) {
                    fine = false;
                    return true;
                }
                false
            });
            fine
        })
}

/// Cuts one target's paths edge by edge, each cut losing no allowed
/// access that cannot be given back; `None` when that cannot be done.
fn cut_one(
    graph: &Graph<'_>,
    base: &Baseline,
    targets: &[Target],
    t: usize,
) -> Option<Vec<Scored>> {
    let mut g = graph.clone();
    let mut steps = Vec::new();
    while let Some(path) = g.path(&targets[t]) {
        let best = path
            .into_iter()
            .map(|e| score(&g, base, targets, &[t], e))
            .filter(|s| s.lost.is_empty())
            .min_by_key(|s| (s.repairs.len(), s.affected))?;
        commit(&mut g, &best);
        steps.push(best);
        if steps.len() > 64 {
            return None;
        }
    }
    Some(steps)
}

fn access_ref(
    walker: &Walker<'_>,
    inventory: &Inventory,
    policies: &[Policy],
    account: AccountId,
    key: &Key,
) -> AccessRef {
    AccessRef {
        account: inventory.accounts[account].id.to_string(),
        data_source: policies[key.0].source.id.clone(),
        role: walker.text(key.1).to_string(),
        scope: walker.text(key.2).to_string(),
    }
}

fn describe(
    inventory: &Inventory,
    policies: &[Policy],
    edit: &Edit,
    fixes: Vec<String>,
    removes_allowed: Vec<AccessRef>,
    graph: &Graph<'_>,
) -> Change {
    let affected: Vec<String> = {
        let mut names: Vec<String> = graph
            .affected(edit)
            .into_iter()
            .map(|a| inventory.accounts[a].id.to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let group_owner = |g: GroupId| inventory.groups[g].owner.clone();
    let source_owner = |g: GroupId| -> Option<String> {
        // A policy's owner for the source the group gives access to.
        graph
            .own(g)
            .first()
            .and_then(|((p, _, _), _)| policies.get(*p))
            .and_then(|p| p.source.owner.clone())
    };
    match edit {
        Edit::Add { account, group } if graph.new_group(*group).is_some() => {
            let a = &inventory.accounts[*account];
            let new = graph.new_group(*group);
            let like = new.and_then(|n| n.like).map(|g| &inventory.groups[g]);
            let name = new.map(|n| n.name.clone()).unwrap_or_default();
            // The new group takes the place of its sibling in the directory.
            let group_dn = like.and_then(|l| l.dn.as_deref()).and_then(|dn| {
                let (first, parent) = dn.split_once(',')?;
                let (attr, _) = first.split_once('=')?;
                Some(format!("{attr}={},{parent}", escape_rdn(&name)))
            });
            Change {
                action: Action::AddMember,
                group: Some(name),
                member: Some(a.id.to_string()),
                member_kind: Some(MemberKind::Account),
                account: Some(a.id.to_string()),
                fixes,
                removes_allowed,
                accounts_affected: vec![a.id.to_string()],
                owner: source_owner(*group),
                group_dn,
                member_dn: inventory.dn(*account).map(str::to_string),
                member_attr: like
                    .and_then(|l| l.member_attr)
                    .filter(|m| *m != "memberUid"),
                object_class: like.and_then(|l| l.object_class),
                creates_group: true,
                edit: edit.clone(),
                ..Change::blank()
            }
        }
        Edit::Membership { account, group } | Edit::Add { account, group } => {
            let a = &inventory.accounts[*account];
            let g = &inventory.groups[*group];
            Change {
                action: if matches!(edit, Edit::Add { .. }) {
                    Action::AddMember
                } else {
                    Action::RemoveMember
                },
                group: Some(g.name.clone()),
                member: Some(a.id.to_string()),
                member_kind: Some(MemberKind::Account),
                account: Some(a.id.to_string()),
                fixes,
                removes_allowed,
                accounts_affected: vec![a.id.to_string()],
                owner: group_owner(*group).or_else(|| source_owner(*group)),
                group_dn: g.dn.clone(),
                member_dn: inventory.dn(*account).map(str::to_string),
                member_attr: g.member_attr,
                object_class: g.object_class,
                edit: edit.clone(),
                ..Change::blank()
            }
        }
        Edit::Nesting { child, parent } => {
            let c = &inventory.groups[*child];
            let p = &inventory.groups[*parent];
            Change {
                action: Action::RemoveMember,
                group: Some(p.name.clone()),
                member: Some(c.name.clone()),
                member_kind: Some(MemberKind::Group),
                fixes,
                removes_allowed,
                accounts_affected: affected,
                owner: group_owner(*parent).or_else(|| source_owner(*parent)),
                group_dn: p.dn.clone(),
                member_dn: c.dn.clone(),
                member_attr: p.member_attr,
                object_class: p.object_class,
                edit: edit.clone(),
                ..Change::blank()
            }
        }
        Edit::Row(origin) => {
            let grant = inventory
                .grants
                .iter()
                .find(|g| inventory.at(g.origin).to_string() == *origin);
            let (account, group, source, role, scope) = match grant {
                Some(g) => (
                    match &g.holder {
                        Holder::Account(n) => Some(n.to_string()),
                        Holder::Group(_) => None,
                    },
                    match &g.holder {
                        Holder::Group(id) => Some(inventory.groups[*id].name.clone()),
                        Holder::Account(_) => None,
                    },
                    Some(inventory.text(g.data_source).to_string()),
                    Some(inventory.text(g.role).to_string()),
                    g.scope.map(|s| inventory.text(s).to_string()),
                ),
                None => (None, None, None, None, None),
            };
            let owner = source.as_deref().and_then(|s| {
                policies
                    .iter()
                    .find(|p| p.source.id == s)
                    .and_then(|p| p.source.owner.clone())
            });
            Change {
                action: Action::RemoveRole,
                account,
                group,
                data_source: source,
                role,
                scope,
                fixes,
                removes_allowed,
                accounts_affected: affected,
                owner,
                row: Some(origin.clone()),
                edit: edit.clone(),
                ..Change::blank()
            }
        }
        Edit::Unknown { name, source } => Change {
            action: Action::DisableAccount,
            account: Some(name.clone()),
            data_source: Some(source.clone()),
            fixes,
            edit: edit.clone(),
            ..Change::blank()
        },
    }
}

/// Applies the changes to a copy of the inventory.
pub fn apply(inventory: &Inventory, changes: &[Change]) -> Inventory {
    let mut copy = inventory.clone();
    for c in changes {
        match &c.edit {
            Edit::Membership { account, group } => {
                copy.accounts[*account].leave_group(*group);
            }
            Edit::Add { account, group } => {
                let group = if c.creates_group {
                    &copy.intern_group(c.group.as_deref().unwrap_or_default())
                } else {
                    group
                };
                copy.accounts[*account].join_group(*group);
            }
            Edit::Nesting { child, parent } => {
                copy.groups[*child].parents.retain(|p| p != parent);
                copy.groups[*parent].children.retain(|c| c != child);
            }
            Edit::Row(origin) => {
                copy.retain_grants(|g, names| g.origin.show(names).to_string() != *origin);
            }
            Edit::Unknown { name, source } => copy.retain_grants(|g, names| {
                !(names.text(g.data_source) == source
                    && matches!(&g.holder, Holder::Account(n) if n.eq_ignore_ascii_case(name)))
            }),
        }
    }
    copy
}

/// One access: account, policy, role, scope (as text: the inventories
/// before and after the changes have walks of their own).
type AccessKey = (AccountId, u32, String, String);

/// Every allowed access: the accesses the evaluator's walk finds that no
/// `unauthorized-access` finding names.
fn allowed_accesses(
    policies: &[Policy],
    inventory: &Inventory,
    findings: &[Finding],
) -> HashSet<AccessKey> {
    let refs: Vec<&Policy> = policies.iter().collect();
    let walker = Walker::new(inventory, &refs);
    let mut state = walker.state();
    let policy_of: HashMap<&str, u32> = policies
        .iter()
        .enumerate()
        .map(|(i, p)| (p.source.id.as_str(), i as u32))
        .collect();
    let unauthorized: HashSet<AccessKey> = findings
        .iter()
        .filter(|f| f.rule == Rule::UnauthorizedAccess)
        .filter_map(|f| {
            Some((
                inventory.account(f.account.as_deref()?)?,
                *policy_of.get(f.data_source.as_str())?,
                f.role.clone()?,
                f.scope.clone()?,
            ))
        })
        .collect();
    let mut out = HashSet::new();
    let mut hits = Vec::new();
    for a in (0..inventory.accounts.len()).map(AccountId::at) {
        walker.walk(a, &mut state);
        walker.hits(a, &state, &mut hits);
        for h in &hits {
            let key = (
                a,
                h.policy,
                walker.text(h.role).to_string(),
                walker.text(h.scope).to_string(),
            );
            if !unauthorized.contains(&key) {
                out.insert(key);
            }
        }
    }
    out
}

/// Findings the plan ends without aiming at them (a conflict of roles
/// that ends when one role goes) are credited to the first change after
/// which they are gone, and leave the lists of what the plan leaves open.
fn credit_side_effects(
    policies: &[Policy],
    inventory: &Inventory,
    as_of: NaiveDate,
    plan: &mut Plan,
    after: &HashSet<&str>,
    in_scope: &dyn Fn(&str) -> bool,
) {
    let claimed: HashSet<String> = plan
        .changes
        .iter()
        .flat_map(|c| c.fixes.iter().cloned())
        .collect();
    let mut pending: Vec<String> = plan
        .findings
        .iter()
        .filter(|f| in_scope(&f.data_source))
        .map(|f| f.id.clone())
        .filter(|id| !after.contains(id.as_str()) && !claimed.contains(id))
        .collect();
    for k in 1..=plan.changes.len() {
        if pending.is_empty() {
            break;
        }
        let copy = apply(inventory, &plan.changes[..k]);
        let now: HashSet<String> = evaluate::evaluate_with(policies, &copy, as_of, Reasoning::Skip)
            .findings
            .into_iter()
            .map(|f| f.id)
            .collect();
        pending.retain(|id| {
            if now.contains(id) {
                return true;
            }
            plan.changes[k - 1].fixes.push(id.clone());
            plan.not_fixable.retain(|n| n.finding != *id);
            for c in &mut plan.needs_decision {
                c.fixes.retain(|f| f != id);
            }
            false
        });
    }
    plan.needs_decision.retain(|c| !c.fixes.is_empty());
}

/// The proof: the changes applied to a copy, evaluated again.
fn prove(
    policies: &[Policy],
    inventory: &Inventory,
    as_of: NaiveDate,
    plan: &mut Plan,
    before: &[Finding],
    accepted: &HashSet<String>,
    in_scope: &dyn Fn(&str) -> bool,
) -> Result<(), Unproven> {
    let copy = apply(inventory, &plan.changes);
    let mut after = evaluate::evaluate_with(policies, &copy, as_of, Reasoning::Skip);
    after.findings.retain(|f| !accepted.contains(&f.id));
    let ids: HashSet<&str> = after.findings.iter().map(|f| f.id.as_str()).collect();
    let old: HashSet<&str> = before.iter().map(|f| f.id.as_str()).collect();
    for c in &plan.changes {
        if let Some(id) = c.fixes.iter().find(|id| ids.contains(id.as_str())) {
            return Err(Unproven(format!(
                "the change `{} {} {}` should end finding {id}, but the audit of the changed inventory still finds it",
                c.action.id(),
                c.group.as_deref().or(c.data_source.as_deref()).unwrap_or_default(),
                c.member.as_deref().or(c.account.as_deref()).unwrap_or_default(),
            )));
        }
    }
    if let Some(new) = after.findings.iter().find(|f| !old.contains(f.id.as_str())) {
        return Err(Unproven(format!(
            "the changed inventory has a finding the audit did not have: {} ({})",
            new.id, new.message
        )));
    }
    let allowed_before = allowed_accesses(policies, inventory, before);
    let allowed_after = allowed_accesses(policies, &copy, &after.findings);
    let mut lost: Vec<&AccessKey> = allowed_before.difference(&allowed_after).collect();
    lost.sort();
    if let Some((a, p, role, scope)) = lost.first() {
        return Err(Unproven(format!(
            "the changes would take away {} allowed access(es), the first {} {role} {scope} on {}",
            lost.len(),
            inventory.accounts[*a].id,
            policies[*p as usize].source.id
        )));
    }
    credit_side_effects(policies, inventory, as_of, plan, &ids, in_scope);
    plan.after = After {
        findings: after
            .findings
            .iter()
            .filter(|f| in_scope(&f.data_source))
            .count(),
        allowed_access_lost: lost.len(),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A director allowed one board reaches three through a broad
    /// nesting; no group gives that board alone.
    fn planted() -> (tempfile::TempDir, Vec<Policy>, Inventory) {
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("policies");
        std::fs::create_dir(&policies).unwrap();
        std::fs::write(
            policies.join("statdb.toml"),
            "[source]\nid = \"statdb\"\nname = \"Statdb\"\nactivity = \"socialtjanst\"\n\
             data_categories = [\"halsa\"]\nscopes = [\"IFO\", \"VO\"]\n\n\
             [[grant]]\ngroup = '^SG-Alla$'\nrole = \"Las\"\nscope = \"*\"\n\n\
             [[allow]]\nid = \"chefen\"\nrole = \"Las\"\nscope = \"IFO\"\naccounts = [\"chef\"]\n",
        )
        .unwrap();
        let csv = dir.path().join("konton.csv");
        std::fs::write(&csv, "account,group\nchef,SG-Ctrl\nek,SG-Ctrl\n").unwrap();
        let nesting = dir.path().join("nesting.csv");
        std::fs::write(&nesting, "group,member_group\nSG-Alla,SG-Ctrl\n").unwrap();
        let policies = crate::policy::load_dir(&policies).unwrap();
        let mut inventory = crate::inventory::InventoryBuilder::new();
        crate::sources::csv::read_file(&csv, &mut inventory).unwrap();
        crate::sources::csv::read_file(&nesting, &mut inventory).unwrap();
        let inventory = inventory.finish();
        (dir, policies, inventory)
    }

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn a_change_that_takes_allowed_access_fails_the_proof() {
        let (_dir, policies, inventory) = planted();
        let mut plan = plan(&policies, &inventory, as_of(), &[]).unwrap();
        assert_eq!(plan.after.allowed_access_lost, 0);
        assert_eq!(plan.needs_decision.len(), 1);
        // Taking the decision without deciding: the proof refuses it.
        let decision = plan.needs_decision.remove(0);
        plan.changes.push(decision);
        let before = evaluate::evaluate(&policies, &inventory, as_of()).findings;
        let err = prove(
            &policies,
            &inventory,
            as_of(),
            &mut plan,
            &before,
            &HashSet::new(),
            &|_| true,
        )
        .unwrap_err();
        assert!(err.0.contains("allowed access"), "{}", err.0);
        assert!(err.0.contains("chef Las IFO on statdb"), "{}", err.0);
    }

    #[test]
    fn a_change_that_claims_a_finding_it_does_not_end_fails_the_proof() {
        let (_dir, policies, inventory) = planted();
        let mut plan = plan(&policies, &inventory, as_of(), &[]).unwrap();
        let before = evaluate::evaluate(&policies, &inventory, as_of()).findings;
        let chefs = before
            .iter()
            .find(|f| f.account.as_deref() == Some("chef"))
            .unwrap()
            .id
            .clone();
        plan.changes[0].fixes.push(chefs.clone());
        let err = prove(
            &policies,
            &inventory,
            as_of(),
            &mut plan,
            &before,
            &HashSet::new(),
            &|_| true,
        )
        .unwrap_err();
        assert!(err.0.contains(&chefs), "{}", err.0);
    }
}
