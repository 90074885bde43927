//! Evaluation: (policies, inventory, audit date) → findings. No I/O.
//!
//! Effective access is computed once per account by a breadth-first walk up
//! the group graph, so the path kept for every grant is a shortest one and
//! membership cycles (legal in Active Directory) end the walk instead of
//! looping. Every policy is then checked against the accesses found.

mod access;
mod compiled;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;

use crate::findings::{Classification, Finding, Rule, Severity};
use crate::intern::Sym;
use crate::inventory::{Account, Holder, Inventory};
use crate::policy::{Allow, Checks, Policy, SourceMeta, Test};

pub use access::{Access, AccessMap, GrantSource, Hit, WalkState, Walker};
use compiled::CompiledPolicy;
pub use compiled::{attribute_value, Actual, Part};

/// What evaluation produced.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    /// Things the user should know that are not findings.
    pub warnings: Vec<String>,
    /// Policies made up for data sources that role exports name but no
    /// policy describes (everything on them is unauthorized).
    pub implicit_sources: Vec<SourceMeta>,
    /// The accounts of each `too-many-accounts` finding (by finding id):
    /// those the allow covers, in account order.
    pub members: BTreeMap<String, Vec<usize>>,
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
        _ => accounts.iter().any(|a| a.attrs.contains_key(attribute)),
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
        known.extend(account.attrs.iter().map(|(name, _)| name));
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

/// Classification of a rule's finding on a source, per the contract.
pub fn classify(rule: Rule, source: &SourceMeta) -> Vec<Classification> {
    if rule.exposes_data() && source.holds_personal_data() {
        if source.is_social_services() {
            vec![Classification::Imy, Classification::LexSarah]
        } else {
            vec![Classification::Imy]
        }
    } else {
        vec![Classification::Internal]
    }
}

/// Severity of a rule's finding on a source, per the contract, before a
/// policy's own override.
pub fn default_severity(rule: Rule, source: &SourceMeta) -> Severity {
    let imy = rule.exposes_data() && source.holds_personal_data();
    if imy && source.is_sensitive() {
        Severity::Critical
    } else if imy {
        Severity::High
    } else if matches!(
        rule,
        Rule::SodConflict | Rule::TooManyAccounts | Rule::InactiveAccount
    ) {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// Whether an account satisfies one `when` condition for an access.
pub fn condition_holds(
    account: &Account,
    attribute: &str,
    test: &Test,
    role: &str,
    scope: &str,
) -> bool {
    match test {
        Test::Bool(expected) => match attribute {
            "enabled" => account.enabled == Some(*expected),
            _ => {
                account
                    .attrs
                    .get(attribute)
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
                    .attr(attribute)
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
                    condition_holds(account, attribute, &Test::Date(wanted.date()), role, scope)
                })
            })
        }
        Test::AnyOf(templates) => {
            let Some(value) = account.attr(attribute) else {
                return false;
            };
            let value = value.trim();
            templates
                .iter()
                .any(|t| crate::policy::fill_template(t, role, scope).trim() == value)
        }
        Test::Regex(re) => account
            .attr(attribute)
            .is_some_and(|v| re.is_match(v.trim())),
    }
}

/// One part of an allow tried on an access, with whether it holds and
/// what the account has.
#[derive(Debug, Clone)]
pub struct Verdict<'p> {
    pub part: Part<'p>,
    pub holds: bool,
    pub actual: Actual,
}

/// One allow of a policy tried on one access of an account: its parts in
/// the order the matcher tries them. After a role or scope that does not
/// match, nothing else of the allow applies and no more parts are listed.
#[derive(Debug, Clone)]
pub struct AllowTried<'p> {
    pub allow: &'p Allow,
    pub parts: Vec<Verdict<'p>>,
}

impl AllowTried<'_> {
    /// Whether the allow covers the access.
    pub fn covers(&self) -> bool {
        self.parts.iter().all(|v| v.holds)
    }

    /// The first part that fails, if any.
    pub fn first_failure(&self) -> Option<&Verdict<'_>> {
        self.parts.iter().find(|v| !v.holds)
    }
}

/// Every allow of `policy` tried on (role, scope) for the account whose
/// walk is in `state`, decided by the same matcher as the evaluation.
pub fn allows_tried<'p>(
    policy: &'p Policy,
    inventory: &Inventory,
    account_id: usize,
    state: &WalkState,
    role: &str,
    scope: &str,
) -> Vec<AllowTried<'p>> {
    let compiled = CompiledPolicy::new(policy, inventory);
    let account = &inventory.accounts[account_id];
    let lower_id = account.id.to_lowercase();
    let (role, scope) = (Sym::new(role), Sym::new(scope));
    compiled
        .allows
        .iter()
        .map(|allow| {
            let mut parts = Vec::new();
            allow.check(account, &lower_id, role, scope, state, |part, holds| {
                parts.push(Verdict {
                    part,
                    holds,
                    actual: allow.actual(part, account, role, scope, state),
                });
                if !holds && matches!(part, Part::Role | Part::Scope) {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            });
            AllowTried {
                allow: allow.allow(),
                parts,
            }
        })
        .collect()
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
        checks: Checks {
            disabled_accounts: false,
            expired_accounts: false,
            inactive_days: None,
            broad_groups: Vec::new(),
            separation_of_duties: Vec::new(),
        },
        severity: BTreeMap::new(),
    }
}

/// Checks every policy against the inventory as of `as_of`.
pub fn evaluate(policies: &[Policy], inventory: &Inventory, as_of: NaiveDate) -> Evaluation {
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
        if !known.contains(g.data_source.as_str()) {
            *unknown_sources
                .entry(g.data_source.as_str().to_string())
                .or_default() += 1;
        }
    }
    for (id, rows) in &unknown_sources {
        evaluation.warnings.push(format!(
            "role exports give {rows} role(s) on data source `{id}`, which no policy describes: \
             all of that access is reported as unauthorized (write a policy with [source] id = \"{id}\")"
        ));
        let meta = SourceMeta {
            id: id.clone(),
            name: id.clone(),
            controller: None,
            activity: "annan".into(),
            confidentiality: None,
            data_categories: Vec::new(),
            data_subject_groups: Vec::new(),
            estimated_data_subjects: None,
            scopes: Vec::new(),
            owner: None,
            policy_file: None,
            role_labels: Default::default(),
        };
        evaluation.implicit_sources.push(meta.clone());
        implicit.push(implicit_policy(meta));
    }
    let all: Vec<&Policy> = policies.iter().chain(implicit.iter()).collect();

    let walker = Walker::new(inventory, &all);
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
        .map(|p| CompiledPolicy::new(p, inventory))
        .collect();
    // Accounts are independent: split them across the cores.
    let threads = if inventory.accounts.len() < 20_000 {
        1
    } else {
        crate::cores()
    };
    let chunk = inventory.accounts.len().div_ceil(threads).max(1);
    let ctx = Context {
        all: &all,
        compiled: &compiled,
        walker: &walker,
        inventory,
        as_of,
    };
    let parts: Vec<Checked> = if threads == 1 {
        vec![check_accounts(&ctx, 0..inventory.accounts.len())]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let range = (t * chunk).min(inventory.accounts.len())
                        ..((t + 1) * chunk).min(inventory.accounts.len());
                    let ctx = &ctx;
                    scope.spawn(move || check_accounts(ctx, range))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut findings = Vec::new();
    let mut under_allow: Vec<Vec<usize>> = all.iter().map(|p| vec![0; p.allows.len()]).collect();
    let mut allow_members: Vec<Vec<Vec<u32>>> = all
        .iter()
        .map(|p| vec![Vec::new(); p.allows.len()])
        .collect();
    for (mut part, counts, members) in parts {
        findings.append(&mut part);
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
    }

    // Each policy's catch-all groups; the accounts under all of them are
    // counted in one scan.
    // Policies repeat their patterns: each distinct one runs over the
    // group names once.
    let mut by_pattern: rustc_hash::FxHashMap<&str, Vec<usize>> = Default::default();
    let broad: Vec<Vec<usize>> = all
        .iter()
        .map(|p| {
            let mut groups: Vec<usize> = Vec::new();
            for re in &p.checks.broad_groups {
                let matched = by_pattern.entry(re.as_str()).or_insert_with(|| {
                    (0..inventory.groups.len())
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
    let mut every: Vec<usize> = broad.iter().flatten().copied().collect();
    every.sort_unstable();
    every.dedup();
    walker.count_under(&every);
    for (p_index, policy) in all.iter().enumerate() {
        for (a_index, allow) in policy.allows.iter().enumerate() {
            let count = under_allow[p_index][a_index] as u64;
            if let Some(max) = allow.max_accounts {
                if count > max {
                    let role = allow.role.display();
                    let scope = allow.scope.display();
                    let mut f = finding(
                        policy,
                        Rule::TooManyAccounts,
                        None,
                        Some(role.clone()),
                        Some(scope),
                        None,
                        Vec::new(),
                        format!(
                            "{count} konton omfattas av regeln `{}` (rad {}) för {}, men högst {max} är tillåtna",
                            allow.id, allow.line, policy.source.name
                        ),
                        Some(&allow.id),
                    );
                    f.accounts = Some(count);
                    f.allow = Some(allow.id.clone());
                    f.grant = Some(format!("{}:{}", policy.file.display(), allow.line));
                    let members = std::mem::take(&mut allow_members[p_index][a_index]);
                    evaluation.members.insert(
                        f.id.clone(),
                        members.into_iter().map(|a| a as usize).collect(),
                    );
                    findings.push(f);
                }
            }
        }
        broad_groups(
            policy,
            p_index,
            &broad[p_index],
            inventory,
            &walker,
            &mut findings,
        );
        unknown_accounts(policy, inventory, &mut findings);
    }

    evaluation.findings = findings;
    evaluation
}

#[allow(clippy::too_many_arguments)]
fn finding(
    policy: &Policy,
    rule: Rule,
    account: Option<&str>,
    role: Option<String>,
    scope: Option<String>,
    group: Option<&str>,
    via: Vec<String>,
    message: String,
    extra_key: Option<&str>,
) -> Finding {
    let source = &policy.source;
    let fingerprint_account = account.or(extra_key);
    Finding {
        id: Finding::fingerprint(
            rule,
            &source.id,
            fingerprint_account,
            role.as_deref(),
            scope.as_deref(),
            group,
        ),
        rule,
        data_source: source.id.clone(),
        account: account.map(str::to_string),
        group: group.map(str::to_string),
        accounts: None,
        role,
        scope,
        via,
        severity: policy
            .severity
            .get(&rule)
            .copied()
            .unwrap_or_else(|| default_severity(rule, source)),
        classification: classify(rule, source),
        message,
        allow: None,
        roles: Vec::new(),
        grant: None,
        status: None,
        first_seen: None,
        usage: None,
        used_since_last_run: None,
    }
}

fn path_text(via: &[String]) -> String {
    if via.is_empty() {
        "direkt tilldelning".to_string()
    } else {
        via.join(" → ")
    }
}

/// What every account is checked against.
struct Context<'a> {
    all: &'a [&'a Policy],
    compiled: &'a [CompiledPolicy<'a>],
    walker: &'a Walker<'a>,
    inventory: &'a Inventory,
    as_of: NaiveDate,
}

/// Checks a range of accounts: their findings, and per policy and allow
/// how many of them the allow covered.
/// The findings of a range of accounts, how many accounts each allow
/// covers, and which accounts the allows with `max_accounts` cover.
type Checked = (Vec<Finding>, Vec<Vec<usize>>, Vec<Vec<Vec<u32>>>);

fn check_accounts(ctx: &Context<'_>, range: std::ops::Range<usize>) -> Checked {
    let mut findings = Vec::new();
    let mut under_allow: Vec<Vec<usize>> =
        ctx.all.iter().map(|p| vec![0; p.allows.len()]).collect();
    let mut members: Vec<Vec<Vec<u32>>> = ctx
        .all
        .iter()
        .map(|p| vec![Vec::new(); p.allows.len()])
        .collect();
    let mut state = ctx.walker.state();
    let mut hits: Vec<Hit> = Vec::new();
    let mut counted: Vec<bool> = Vec::new();
    let names_accounts = ctx.compiled.iter().any(|c| c.names_accounts);
    for account_id in range {
        let account = &ctx.inventory.accounts[account_id];
        ctx.walker.walk(account_id, &mut state);
        ctx.walker.hits(account_id, &state, &mut hits);
        if hits.is_empty() {
            continue;
        }
        // Only allows that name accounts compare ids.
        let lower_id: Cow<'_, str> = if names_accounts
            && account
                .id
                .bytes()
                .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
        {
            Cow::Owned(account.id.to_lowercase())
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
                &hits[start..end],
                &mut counted,
                &mut under_allow[p],
                &mut members[p],
                &mut findings,
            );
            start = end;
        }
    }
    (findings, under_allow, members)
}

/// One account checked against one policy.
struct Subject<'a> {
    policy: &'a Policy,
    compiled: &'a CompiledPolicy<'a>,
    walker: &'a Walker<'a>,
    state: &'a WalkState,
    account_id: usize,
    account: &'a Account,
    lower_id: &'a str,
    /// Days since the last logon, when it is known.
    idle_days: Option<i64>,
    as_of: NaiveDate,
}

/// `counted` is scratch space, reused from call to call.
fn check_account(
    s: &Subject<'_>,
    hits: &[Hit],
    counted: &mut Vec<bool>,
    under_allow: &mut [usize],
    members: &mut [Vec<u32>],
    findings: &mut Vec<Finding>,
) {
    let (policy, account, walker) = (s.policy, s.account, s.walker);
    let source = &policy.source;
    counted.clear();
    counted.resize(policy.allows.len(), false);
    for hit in hits {
        let mut covered = false;
        for (i, allow) in s.compiled.allows.iter().enumerate() {
            if allow.covers(account, s.lower_id, hit.role, hit.scope, s.state) {
                covered = true;
                counted[i] = true;
            }
        }
        if covered {
            continue;
        }
        let (role, scope) = (hit.role.as_str(), hit.scope.as_str());
        let via = walker.via_names(&s.state.path(hit.group));
        let grant = walker
            .grant_source(s.account_id, hit)
            .map(|g| walker.grant_text(policy, g))
            .unwrap_or_default();
        let how = if via.is_empty() {
            format!("tilldelning i rollexporten ({grant})")
        } else {
            via.join(" → ")
        };
        let mut f = finding(
            policy,
            Rule::UnauthorizedAccess,
            Some(&account.id),
            Some(role.to_string()),
            Some(scope.to_string()),
            None,
            via,
            format!(
                "{} har rollen {role}{} i {} via {how}, men ingen regel i policyn tillåter det",
                account.id,
                if scope == "*" {
                    String::new()
                } else {
                    format!(" på {scope}")
                },
                source.name,
            ),
            None,
        );
        f.grant = Some(grant);
        findings.push(f);
    }
    for (i, &c) in counted.iter().enumerate() {
        if c {
            under_allow[i] += 1;
            if policy.allows[i].max_accounts.is_some() {
                members[i].push(s.account_id as u32);
            }
        }
    }

    let checks = &policy.checks;
    let idle = match (checks.inactive_days, s.idle_days, account.last_logon) {
        (Some(days), Some(idle), Some(last)) => {
            (idle > i64::from(days)).then_some((idle, days, last))
        }
        _ => None,
    };
    let disabled = checks.disabled_accounts && account.enabled == Some(false);
    let expired = checks.expired_accounts && account.is_expired(s.as_of);
    let mut conflicting: Vec<String> = Vec::new();
    for set in &s.compiled.sod {
        let held = |r: &&Sym| hits.iter().any(|h| h.role == **r);
        if set.iter().filter(held).count() >= 2 {
            for r in set.iter().filter(held) {
                let r = r.as_str();
                if !conflicting.iter().any(|c| c == r) {
                    conflicting.push(r.to_string());
                }
            }
        }
    }
    if !disabled && !expired && idle.is_none() && conflicting.is_empty() {
        return;
    }

    // Account-level rules point at the shortest path that gives any access.
    let shortest = hits
        .iter()
        .min_by(|a, b| {
            (a.depth, a.role.as_str(), a.scope.as_str()).cmp(&(
                b.depth,
                b.role.as_str(),
                b.scope.as_str(),
            ))
        })
        .map(|h| walker.via_names(&s.state.path(h.group)))
        .unwrap_or_default();
    if disabled {
        findings.push(finding(
            policy,
            Rule::DisabledAccount,
            Some(&account.id),
            None,
            None,
            None,
            shortest.clone(),
            format!(
                "Kontot {} är inaktiverat men har fortfarande behörighet till {} via {}",
                account.id,
                source.name,
                path_text(&shortest)
            ),
            None,
        ));
    }
    if expired {
        let date = match account.expires {
            Some(crate::inventory::Expiry::At(t)) => t.date().to_string(),
            _ => String::new(),
        };
        findings.push(finding(
            policy,
            Rule::ExpiredAccount,
            Some(&account.id),
            None,
            None,
            None,
            shortest.clone(),
            format!(
                "Kontot {} gick ut {date} men har fortfarande behörighet till {} via {}",
                account.id,
                source.name,
                path_text(&shortest)
            ),
            None,
        ));
    }
    if let Some((idle, days, last)) = idle {
        findings.push(finding(
            policy,
            Rule::InactiveAccount,
            Some(&account.id),
            None,
            None,
            None,
            shortest.clone(),
            format!(
                "Kontot {} loggade senast in {} ({idle} dagar sedan, gränsen är {days}) men har behörighet till {}",
                account.id,
                last.date(),
                source.name
            ),
            None,
        ));
    }
    if !conflicting.is_empty() {
        let mut f = finding(
            policy,
            Rule::SodConflict,
            Some(&account.id),
            None,
            None,
            None,
            shortest,
            format!(
                "{} har rollerna {} i {}, som inte får kombineras",
                account.id,
                conflicting.join(" och "),
                source.name
            ),
            None,
        );
        f.roles = conflicting;
        findings.push(f);
    }
}

/// `broad-group` findings for the policy's catch-all groups (`groups`,
/// the groups its `broad_groups` patterns match).
fn broad_groups(
    policy: &Policy,
    p_index: usize,
    groups: &[usize],
    inventory: &Inventory,
    walker: &Walker<'_>,
    findings: &mut Vec<Finding>,
) {
    for &group_id in groups {
        let group = &inventory.groups[group_id];
        let Some((via, accesses)) = walker.group_reach(p_index, group_id) else {
            continue;
        };
        let count = walker.accounts_under(group_id) as u64;
        let roles: BTreeSet<&str> = accesses.iter().map(|(r, _)| r.as_str()).collect();
        let scopes: BTreeSet<&str> = accesses.iter().map(|(_, s)| s.as_str()).collect();
        let single = |set: &BTreeSet<&str>| {
            if set.len() == 1 {
                set.iter().next().map(|s| s.to_string())
            } else {
                None
            }
        };
        let via = walker.via_names(&via);
        let mut f = finding(
            policy,
            Rule::BroadGroup,
            None,
            single(&roles),
            single(&scopes),
            Some(&group.name),
            via.clone(),
            format!(
                "Den allomfattande gruppen {} ger {count} konton behörighet ({}) till {} via {}",
                group.name,
                roles.iter().copied().collect::<Vec<_>>().join(", "),
                policy.source.name,
                via.join(" → ")
            ),
            None,
        );
        f.accounts = Some(count);
        findings.push(f);
    }
}

fn unknown_accounts(policy: &Policy, inventory: &Inventory, findings: &mut Vec<Finding>) {
    let mut seen: HashMap<String, ()> = HashMap::new();
    let Some(source) = Sym::find(&policy.source.id) else {
        return;
    };
    for grant in &inventory.grants {
        if grant.data_source != source {
            continue;
        }
        let Holder::Account(name) = &grant.holder else {
            continue;
        };
        if inventory.account(name).is_some() || seen.insert(name.to_lowercase(), ()).is_some() {
            continue;
        }
        let mut f = finding(
            policy,
            Rule::UnknownAccount,
            Some(name),
            None,
            None,
            None,
            Vec::new(),
            format!(
                "Rollexporten ({}) ger {name} rollen {} i {}, men kontot finns inte i katalogen",
                grant.origin, grant.role, policy.source.name
            ),
            None,
        );
        f.grant = Some(grant.origin.to_string());
        findings.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Inventory, Origin};

    fn account() -> Account {
        let mut inv = Inventory::new();
        let origin = Origin::new("t", None);
        let a = inv.account_mut("anna", &origin);
        a.enabled = Some(false);
        a.attrs.insert("department", " IFO ");
        a.clone()
    }

    #[test]
    fn enabled_compares_typed() {
        let a = account();
        assert!(condition_holds(&a, "enabled", &Test::Bool(false), "r", "s"));
        assert!(condition_holds(
            &a,
            "enabled",
            &Test::AnyOf(vec!["false".into()]),
            "r",
            "s"
        ));
        assert!(!condition_holds(
            &a,
            "enabled",
            &Test::AnyOf(vec!["ja".into()]),
            "r",
            "s"
        ));
    }

    #[test]
    fn templates_and_trimming() {
        let a = account();
        let t = Test::AnyOf(vec!["{scope}".into()]);
        assert!(condition_holds(&a, "department", &t, "Las", "IFO"));
        assert!(!condition_holds(&a, "department", &t, "Las", "VO"));
        // A missing attribute never satisfies a condition.
        assert!(!condition_holds(&a, "title", &t, "Las", "IFO"));
        let re = Test::Regex(regex::Regex::new("^$").expect("regex"));
        assert!(!condition_holds(&a, "title", &re, "Las", "IFO"));
    }
}
