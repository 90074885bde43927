//! Evaluation: (policies, inventory, audit date) → findings. No I/O.
//!
//! Effective access is computed once per account by a breadth-first walk up
//! the group graph, so the path kept for every grant is a shortest one and
//! membership cycles (legal in Active Directory) end the walk instead of
//! looping. Each access is then decided by the one matcher
//! (`CompiledAllow::check` in `compiled.rs`, which `explain` uses too), and
//! the checks of the rules ([`crate::rules`]) run on every account's
//! accesses and on every source.

mod access;
mod compiled;
mod reasons;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;

use crate::findings::Finding;
use crate::intern::{Interner, Vocab};
use crate::inventory::{Account, AccountId, GroupId, Inventory};
use crate::pack::{Chunk, Packed};
use crate::policy::{Checks, Policy, SourceMeta, Test};
pub use crate::rules::{classify, default_severity};
use crate::rules::{AccountCx, Check, Rule, SourceCx, SourceOut};

pub use access::{grant_text, Access, AccessMap, GrantSource, Hit, WalkState, Walker};
use compiled::CompiledPolicy;
pub use compiled::{attribute_value, Actual, CompiledAllow, Part};
pub(crate) use reasons::tried as tried_allows;
pub use reasons::{AccessReason, AllowTried, Reasons, Step, Verdict};

/// What evaluation produced.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    /// Things the user should know that are not findings.
    pub warnings: Vec<String>,
    /// The policies made up for data sources that role exports name but
    /// no policy describes (everything on them is unauthorized).
    pub implicit: Vec<Policy>,
    /// The accounts of each `too-many-accounts` finding (by finding id):
    /// those the allow covers, in account order.
    pub members: BTreeMap<String, Vec<AccountId>>,
}

/// The account attributes every inventory may carry, by their contract
/// names.
pub const WELL_KNOWN_ATTRIBUTES: &[&str] = &[
    "department",
    "title",
    "employee_type",
    "enabled",
    "expires",
    "last_logon",
    "display_name",
    "mail",
];

/// Whether some account of the inventory carries `attribute`.
fn carried(inventory: &Inventory, attribute: &str) -> bool {
    let accounts = &inventory.accounts;
    match attribute {
        "enabled" => accounts.iter().any(|a| a.enabled.is_some()),
        "expires" => accounts.iter().any(|a| a.expires.is_some()),
        "last_logon" => accounts.iter().any(|a| a.last_logon.is_some()),
        "display_name" => accounts.iter().any(|a| a.display_name.is_some()),
        _ => inventory
            .names()
            .find(attribute)
            .is_some_and(|name| accounts.iter().any(|a| a.attrs.get_sym(name).is_some())),
    }
}

/// Warnings for `when.<attribute>` conditions that no account of the
/// inventory can satisfy because none carries the attribute: most often
/// a typo (`when.departmnet`), which would quietly turn the allow off
/// and every access it was meant to cover into findings.
fn unread_conditions(policies: &[Policy], inventory: &Inventory) -> Vec<String> {
    if inventory.accounts.is_empty() {
        return Vec::new();
    }
    // Whether some account carries an attribute, asked once per name.
    let mut checked: HashMap<&str, bool> = WELL_KNOWN_ATTRIBUTES
        .iter()
        .map(|&a| (a, carried(inventory, a)))
        .collect();
    let mut known: BTreeSet<&str> = checked
        .iter()
        .filter(|(_, &present)| present)
        .map(|(&a, _)| a)
        .collect();
    for account in inventory.accounts.iter().take(1000) {
        known.extend(
            account
                .attrs
                .pairs()
                .iter()
                .map(|&(name, _)| inventory.text(name)),
        );
    }
    let mut warnings = Vec::new();
    for policy in policies {
        for allow in &policy.allows {
            for condition in &allow.when {
                let attribute = condition.attribute.as_str();
                let present = *checked
                    .entry(attribute)
                    .or_insert_with(|| carried(inventory, attribute));
                if present {
                    continue;
                }
                let mut w = format!(
                    "{}:{}: no account of the inventory has the attribute `{attribute}`, so the allow `{}` \
                     covers nobody through `when.{attribute}`",
                    policy.file.display(),
                    condition.line,
                    allow.id
                );
                if let Some(s) = crate::diag::suggest(
                    attribute,
                    known.iter().copied().filter(|k| *k != attribute),
                ) {
                    w.push_str(&format!(": did you mean `when.{s}`?"));
                } else {
                    w.push_str(": check the attribute's name against the exports' columns");
                }
                warnings.push(w);
            }
        }
    }
    warnings
}

/// Whether an account satisfies one `when` condition for an access.
pub fn condition_holds(
    account: &Account,
    attribute: &str,
    test: &Test,
    (role, scope): (&str, &str),
    names: &Interner,
) -> bool {
    match test {
        Test::Bool(expected) => match attribute {
            "enabled" => account.enabled == Some(*expected),
            _ => {
                account
                    .attrs
                    .get(attribute, names)
                    .and_then(crate::sources::values::parse_bool)
                    == Some(*expected)
            }
        },
        Test::Date(expected) => {
            let date = match attribute {
                "expires" => match account.expires {
                    Some(crate::inventory::Expiry::At(t)) => Some(t.date()),
                    _ => None,
                },
                "last_logon" => account.last_logon.map(|t| t.date()),
                _ => account
                    .attr(attribute, names)
                    .and_then(crate::sources::values::parse_datetime)
                    .map(|t| t.date()),
            };
            date == Some(*expected)
        }
        // `enabled` and dates are typed: "ja" equals true, "2026-01-01"
        // equals 2026-01-01 00:00.
        Test::AnyOf(templates) if attribute == "enabled" => templates.iter().any(|t| {
            let wanted =
                crate::sources::values::parse_bool(&crate::policy::fill_template(t, role, scope));
            wanted.is_some() && account.enabled == wanted
        }),
        Test::AnyOf(templates) if matches!(attribute, "expires" | "last_logon") => {
            templates.iter().any(|t| {
                let text = crate::policy::fill_template(t, role, scope);
                crate::sources::values::parse_datetime(&text).is_some_and(|wanted| {
                    let date = Test::Date(wanted.date());
                    condition_holds(account, attribute, &date, (role, scope), names)
                })
            })
        }
        Test::AnyOf(templates) => {
            let Some(value) = account.attr(attribute, names) else {
                return false;
            };
            let value = value.trim();
            templates
                .iter()
                .any(|t| crate::policy::fill_template(t, role, scope).trim() == value)
        }
        Test::Regex(re) => account
            .attr(attribute, names)
            .is_some_and(|v| re.is_match(v.trim())),
    }
}

/// Every allow of `policy` tried on (role, scope) for the account whose
/// walk is in `state`, decided by the same matcher as the evaluation (for
/// checks of the matcher; findings carry theirs in [`Reasons`]).
pub fn allows_tried(
    policy: &Policy,
    inventory: &Inventory,
    account_id: AccountId,
    state: &WalkState,
    role: &str,
    scope: &str,
) -> Vec<AllowTried> {
    let mut vocab = Vocab::new(inventory.names());
    let (role, scope) = (vocab.intern(role), vocab.intern(scope));
    let compiled = CompiledPolicy::new(policy, inventory, &vocab);
    let account = &inventory.accounts[account_id];
    let lower_id = account.id.to_lowercase();
    reasons::tried(&compiled.allows, account, &lower_id, role, scope, state)
}

/// The policy evaluation assumes for a data source that role exports name
/// but no policy describes: no allows, no checks, so that everything on it
/// is unauthorized.
pub fn implicit_policy(source: SourceMeta) -> Policy {
    Policy {
        file: "(no policy)".into(),
        source,
        grants: Vec::new(),
        allows: Vec::new(),
        checks: Checks::none(),
        severity: BTreeMap::new(),
    }
}

/// Checks every policy against the inventory as of `as_of`; each finding
/// records its reasons.
pub fn evaluate(policies: &[Policy], inventory: &Inventory, as_of: NaiveDate) -> Evaluation {
    evaluate_with(policies, inventory, as_of, Reasoning::Keep)
}

/// Whether the findings of an evaluation record their reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reasoning {
    /// Each finding records why it holds (what `explain` shows).
    Keep,
    /// No finding records its reasons: the same findings, for outputs that
    /// show none, without the time and memory the reasons take.
    Skip,
}

/// As [`evaluate`], recording the findings' reasons or not.
pub fn evaluate_with(
    policies: &[Policy],
    inventory: &Inventory,
    as_of: NaiveDate,
    reasoning: Reasoning,
) -> Evaluation {
    evaluate_held(policies, inventory, as_of, reasoning, false).0
}

/// As [`evaluate_with`] without reasons, the findings packed (see
/// [`crate::pack`]) instead of in [`Evaluation::findings`]: what an audit
/// holds beside the inventory until the inventory is freed.
pub fn evaluate_packed(
    policies: &[Policy],
    inventory: &Inventory,
    as_of: NaiveDate,
) -> (Evaluation, Packed) {
    evaluate_held(policies, inventory, as_of, Reasoning::Skip, true)
}

/// Evaluates, the findings in [`Evaluation::findings`] or, with `pack`,
/// packed chunk by chunk by the threads that found them.
fn evaluate_held(
    policies: &[Policy],
    inventory: &Inventory,
    as_of: NaiveDate,
    reasoning: Reasoning,
    pack: bool,
) -> (Evaluation, Packed) {
    let mut evaluation = Evaluation::default();
    evaluation
        .warnings
        .extend(unread_conditions(policies, inventory));

    // Role exports may name data sources that no policy describes: default
    // deny makes all their access unauthorized.
    let known: BTreeSet<&str> = policies.iter().map(|p| p.source.id.as_str()).collect();
    let mut implicit: Vec<Policy> = Vec::new();
    let mut unknown_sources: BTreeMap<String, usize> = BTreeMap::new();
    for g in &inventory.grants {
        let source = inventory.text(g.data_source);
        if !known.contains(source) {
            *unknown_sources.entry(source.to_string()).or_default() += 1;
        }
    }
    for (id, rows) in &unknown_sources {
        evaluation.warnings.push(format!(
            "role exports give {rows} role(s) on data source `{id}`, which no policy describes: \
             all of that access is reported as unauthorized (write a policy with [source] id = \"{id}\")"
        ));
        let meta = SourceMeta::unknown(id);
        implicit.push(implicit_policy(meta));
    }
    let all: Vec<&Policy> = policies.iter().chain(implicit.iter()).collect();

    let mut walker = Walker::new(inventory, &all);
    if reasoning == Reasoning::Skip {
        walker = walker.without_reasons();
    }
    // Contacts and computers are not accounts, but one in a group that
    // gives access is a sign of how the group is kept.
    for (what, group) in &inventory.non_accounts {
        for (p, policy) in all.iter().enumerate() {
            if let Some((path, reached)) = walker.group_reach(p, *group) {
                let names: Vec<&str> = path
                    .iter()
                    .map(|&g| inventory.groups[g].name.as_str())
                    .collect();
                let roles: Vec<String> = reached
                    .iter()
                    .map(|(role, scope)| format!("{role}/{scope}"))
                    .collect();
                evaluation.warnings.push(format!(
                    "{what} cannot log on and is not audited as an account, but it is a member of `{}`, \
                     which gives {} on `{}` (via {}): remove it from the group if it does not belong there",
                    inventory.groups[*group].name,
                    roles.join(", "),
                    policy.source.id,
                    names.join(" → ")
                ));
            }
        }
    }
    let compiled: Vec<CompiledPolicy<'_>> = all
        .iter()
        .map(|p| CompiledPolicy::new(p, inventory, walker.vocab()))
        .collect();
    let account_checks: Vec<AccountCheck> = Rule::ALL
        .iter()
        .filter_map(|r| match r.def().check {
            Check::Account(f) => Some(f),
            Check::Source(_) => None,
        })
        .collect();
    let ctx = Context {
        all: &all,
        account_checks: &account_checks,
        compiled: &compiled,
        walker: &walker,
        inventory,
        as_of,
    };
    let mut under_allow: Vec<Vec<usize>> = all.iter().map(|p| vec![0; p.allows.len()]).collect();
    let mut allow_members: Vec<Vec<Vec<AccountId>>> = all
        .iter()
        .map(|p| vec![Vec::new(); p.allows.len()])
        .collect();
    let mut findings: Vec<Finding> = Vec::new();
    let mut packed = Packed::default();
    check_in_order(&ctx, pack, |(mut part, counts, members, chunk)| {
        findings.append(&mut part);
        packed.push(chunk);
        for (total, part) in under_allow.iter_mut().zip(counts) {
            for (t, c) in total.iter_mut().zip(part) {
                *t += c;
            }
        }
        for (total, part) in allow_members.iter_mut().zip(members) {
            for (t, mut m) in total.iter_mut().zip(part) {
                t.append(&mut m);
            }
        }
        // The emptied list goes back to be filled again.
        part
    });

    // Each policy's catch-all groups; the accounts under all of them are
    // counted in one scan.
    // Policies repeat their patterns: each distinct one runs over the
    // group names once.
    let mut by_pattern: rustc_hash::FxHashMap<&str, Vec<GroupId>> = Default::default();
    let broad: Vec<Vec<GroupId>> = all
        .iter()
        .map(|p| {
            let mut groups: Vec<GroupId> = Vec::new();
            for re in p.checks.patterns(&crate::rules::BROAD_GROUPS) {
                let matched = by_pattern.entry(re.as_str()).or_insert_with(|| {
                    (0..inventory.groups.len())
                        .map(GroupId::at)
                        .filter(|&g| re.is_match(&inventory.groups[g].name))
                        .collect()
                });
                groups.extend_from_slice(matched);
            }
            groups.sort_unstable();
            groups.dedup();
            groups
        })
        .collect();
    let mut every: Vec<GroupId> = broad.iter().flatten().copied().collect();
    every.sort_unstable();
    every.dedup();
    walker.count_under(&every);
    let source_checks: Vec<SourceCheck> = Rule::ALL
        .iter()
        .filter_map(|r| match r.def().check {
            Check::Source(f) => Some(f),
            Check::Account(_) => None,
        })
        .collect();
    let mut source_out = SourceOut::default();
    for (p_index, policy) in all.iter().enumerate() {
        let cx = SourceCx {
            policy,
            p_index,
            inventory,
            walker: &walker,
            under_allow: &under_allow[p_index],
            allow_members: &allow_members[p_index],
            broad: &broad[p_index],
        };
        for check in &source_checks {
            check(&cx, &mut source_out);
            // A role export's unknown accounts are thousands of findings:
            // packed as they come, not all held whole first.
            if pack {
                packed.push(Chunk::pack(&mut source_out.findings));
            }
        }
    }
    evaluation.members.extend(source_out.members);

    findings.append(&mut source_out.findings);
    evaluation.findings = findings;
    drop(compiled);
    drop(walker);
    drop(all);
    evaluation.implicit = implicit;
    (evaluation, packed)
}

type AccountCheck = fn(&AccountCx<'_>, &mut Vec<Finding>);
type SourceCheck = fn(&SourceCx<'_>, &mut SourceOut);

/// What every account is checked against.
struct Context<'a> {
    all: &'a [&'a Policy],
    /// The checks of the rules that look at one account at a time.
    account_checks: &'a [AccountCheck],
    compiled: &'a [CompiledPolicy<'a>],
    walker: &'a Walker<'a>,
    inventory: &'a Inventory,
    as_of: NaiveDate,
}

/// Accounts per chunk of the account checks.
const ACCOUNTS_PER_CHUNK: usize = 2048;

/// Checks every account, in chunks spread over the cores, and gives each
/// chunk's results to `take` in account order. Only the chunks on their
/// way are held beside what `take` keeps: the findings are in memory
/// once, not once per thread and again in one list. The list of findings
/// `take` gives back, emptied, is filled again by its thread: a new list
/// for each chunk would grow, copied at each doubling, into memory the
/// system has to give anew.
///
/// With `pack`, each thread packs its chunk's findings (see
/// [`crate::pack`]) and `take` gets them packed, the list empty.
fn check_in_order(ctx: &Context<'_>, pack: bool, mut take: impl FnMut(Checked) -> Vec<Finding>) {
    let n = ctx.inventory.accounts.len();
    // Small inventories are checked on this thread.
    let threads = if n < 20_000 { 1 } else { crate::cores() };
    crate::parallel::each_in_order(
        n,
        ACCOUNTS_PER_CHUNK,
        threads,
        |range, spare: Option<Checked>| {
            let mut checked = check_accounts(ctx, range, spare.map(|s| s.0));
            if pack {
                checked.3 = Chunk::pack(&mut checked.0);
            }
            checked
        },
        |checked| Some((take(checked), Vec::new(), Vec::new(), Chunk::default())),
    );
}

/// The findings of a range of accounts, how many accounts each allow
/// covers, which accounts the allows with `max_accounts` cover, and the
/// findings packed when they are to be.
type Checked = (
    Vec<Finding>,
    Vec<Vec<usize>>,
    Vec<Vec<Vec<AccountId>>>,
    Chunk,
);

/// Checks a range of accounts: their findings (in `spare`, if given), and
/// per policy and allow how many of them the allow covered.
fn check_accounts(
    ctx: &Context<'_>,
    range: std::ops::Range<usize>,
    spare: Option<Vec<Finding>>,
) -> Checked {
    let mut findings = spare.unwrap_or_default();
    findings.clear();
    let mut under_allow: Vec<Vec<usize>> =
        ctx.all.iter().map(|p| vec![0; p.allows.len()]).collect();
    let mut members: Vec<Vec<Vec<AccountId>>> = ctx
        .all
        .iter()
        .map(|p| vec![Vec::new(); p.allows.len()])
        .collect();
    let mut state = ctx.walker.state();
    let mut hits: Vec<Hit> = Vec::new();
    let mut counted: Vec<bool> = Vec::new();
    let mut uncovered: Vec<u32> = Vec::new();
    let names_accounts = ctx.compiled.iter().any(|c| c.names_accounts);
    for account_id in range.map(AccountId::at) {
        let account = &ctx.inventory.accounts[account_id];
        ctx.walker.walk(account_id, &mut state);
        ctx.walker.hits(account_id, &state, &mut hits);
        if hits.is_empty() {
            continue;
        }
        // Only allows that name accounts compare ids.
        let lower_id: Cow<'_, str> = if names_accounts {
            crate::text::lowercase(&account.id)
        } else {
            Cow::Borrowed(&account.id)
        };
        let idle_days = account
            .last_logon
            .map(|last| (ctx.as_of - last.date()).num_days());
        let mut start = 0;
        while start < hits.len() {
            let p = hits[start].policy as usize;
            let end = hits[start..]
                .iter()
                .position(|h| h.policy as usize != p)
                .map_or(hits.len(), |n| start + n);
            check_account(
                &Subject {
                    policy: ctx.all[p],
                    compiled: &ctx.compiled[p],
                    walker: ctx.walker,
                    state: &state,
                    account_id,
                    account,
                    lower_id: &lower_id,
                    idle_days,
                    as_of: ctx.as_of,
                },
                ctx.account_checks,
                &hits[start..end],
                &mut counted,
                &mut uncovered,
                &mut under_allow[p],
                &mut members[p],
                &mut findings,
            );
            start = end;
        }
    }
    (findings, under_allow, members, Chunk::default())
}

/// One account checked against one policy.
struct Subject<'a> {
    policy: &'a Policy,
    compiled: &'a CompiledPolicy<'a>,
    walker: &'a Walker<'a>,
    state: &'a WalkState,
    account_id: AccountId,
    account: &'a Account,
    lower_id: &'a str,
    /// Days since the last logon, when it is known.
    idle_days: Option<i64>,
    as_of: NaiveDate,
}

/// Decides every access of the account on the policy's source with the
/// matcher, counts the accounts under each allow, and runs the account
/// checks of every rule. `counted` and `uncovered` are scratch space,
/// reused from call to call.
#[allow(clippy::too_many_arguments)]
fn check_account(
    s: &Subject<'_>,
    checks: &[AccountCheck],
    hits: &[Hit],
    counted: &mut Vec<bool>,
    uncovered: &mut Vec<u32>,
    under_allow: &mut [usize],
    members: &mut [Vec<AccountId>],
    findings: &mut Vec<Finding>,
) {
    let (policy, account) = (s.policy, s.account);
    counted.clear();
    counted.resize(policy.allows.len(), false);
    uncovered.clear();
    for (h, hit) in hits.iter().enumerate() {
        let mut covered = false;
        for (i, allow) in s.compiled.allows.iter().enumerate() {
            if allow.covers(account, s.lower_id, hit.role, hit.scope, s.state) {
                covered = true;
                counted[i] = true;
            }
        }
        if !covered {
            uncovered.push(h as u32);
        }
    }
    for (i, &c) in counted.iter().enumerate() {
        if c {
            under_allow[i] += 1;
            if policy.allows[i].max_accounts.is_some() {
                members[i].push(s.account_id);
            }
        }
    }
    let cx = AccountCx::new(
        policy,
        s.walker,
        s.state,
        s.account_id,
        account,
        s.lower_id,
        hits,
        uncovered,
        &s.compiled.allows,
        &s.compiled.sod,
        s.idle_days,
        s.as_of,
    );
    for check in checks {
        check(&cx, findings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Inventory, InventoryBuilder};

    fn account() -> (Account, Inventory) {
        let mut inv = InventoryBuilder::new();
        let origin = inv.origin("t", None);
        let a = inv.account_id("anna", &origin);
        inv.edit_account(a).enabled = Some(false);
        inv.set_attr(a, "department", " IFO ");
        let inv = inv.finish();
        (inv.accounts[a].clone(), inv)
    }

    #[test]
    fn enabled_compares_typed() {
        let (a, inv) = account();
        let holds = |test: &Test| condition_holds(&a, "enabled", test, ("r", "s"), inv.names());
        assert!(holds(&Test::Bool(false)));
        assert!(holds(&Test::AnyOf(vec!["false".into()])));
        assert!(!holds(&Test::AnyOf(vec!["ja".into()])));
    }

    #[test]
    fn templates_and_trimming() {
        let (a, inv) = account();
        let holds = |attribute: &str, test: &Test, scope: &str| {
            condition_holds(&a, attribute, test, ("Las", scope), inv.names())
        };
        let t = Test::AnyOf(vec!["{scope}".into()]);
        assert!(holds("department", &t, "IFO"));
        assert!(!holds("department", &t, "VO"));
        // A missing attribute never satisfies a condition.
        assert!(!holds("title", &t, "IFO"));
        let re = Test::Regex(regex::Regex::new("^$").expect("regex"));
        assert!(!holds("title", &re, "IFO"));
    }
}
