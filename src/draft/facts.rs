//! The facts of a draft: what the audit's findings and the configuration
//! say about one data source, gathered into the shape the templates read.
//! Nothing here judges; [`super::imy`] and [`super::lex_sarah`] do.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::Serialize;

use super::{clock, join_sv, number_sv, DraftError, DraftInput};
use crate::findings::{Finding, Rule};
use crate::policy::{vocabulary, SourceMeta};

/// What the audit and the configuration say, in the shape the templates
/// read.
#[derive(Debug, Serialize)]
pub struct Facts {
    pub org: Org,
    pub contact: ContactFacts,
    pub source: SourceFacts,
    /// The audit's date.
    pub as_of: String,
    /// When the breach was discovered, and whether that comes from the
    /// history of runs (`first_seen`) or from the audit's date.
    pub discovered: String,
    pub discovered_from_history: bool,
    /// 72 hours after discovery.
    pub deadline: String,
    pub no_names: bool,
    /// Distinct accounts named by the findings of the draft.
    pub accounts: usize,
    pub findings: usize,
    /// Access no rule allows, per scope of the source.
    pub scopes: Vec<ScopeFacts>,
    /// The scopes the excess access reaches, in words.
    pub scopes_text: String,
    /// The same by scope id alone: "IFO, VO och GA".
    pub scope_ids_text: String,
    /// Whether the excess access reaches every scope of the source.
    pub all_scopes: bool,
    /// Accounts per path of groups that gives the access.
    pub paths: Vec<PathFacts>,
    /// Groups nested into other groups on the paths: "SG-Controllers i
    /// SG-Statdb-Alla".
    pub nestings: Vec<String>,
    /// The nestings next to the access group, which removing ends the
    /// access (catch-all groups are listed in `broad_groups` instead).
    pub access_nestings: Vec<String>,
    /// Whether every account of the draft has access that no rule allows,
    /// and no other kind of finding.
    pub only_unauthorized: bool,
    pub broad_groups: Vec<BroadGroup>,
    pub disabled: usize,
    pub expired: usize,
    pub unknown: usize,
    /// Accounts with direct access no rule allows.
    pub unauthorized: usize,
    /// One row per account and path (empty with `no_names`).
    pub rows: Vec<AccountRow>,
    /// The same without names: accounts per finding, path, role and scope.
    pub anonymous_rows: Vec<AnonymousRow>,
    /// Findings on the source that the report does not cover.
    pub other: Vec<Count>,
    /// Their messages (empty with `no_names`: messages name accounts).
    pub other_messages: Vec<String>,
    pub categories: Vec<String>,
    pub groups: Vec<String>,
    /// Special categories (art. 9, 10) among the data.
    pub special_categories: bool,
    /// Children or vulnerable people among the data subjects.
    pub vulnerable_subjects: bool,
    /// Those groups, in the form's words.
    pub vulnerable_groups: Vec<String>,
    /// What the access logs say (`None` when the audit read none).
    pub use_evidence: Option<UseEvidence>,
}

#[derive(Debug, Serialize)]
pub struct Org {
    pub name: Option<String>,
    pub org_number: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ContactFacts {
    pub name: Option<String>,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SourceFacts {
    pub id: String,
    pub name: String,
    pub controller: Option<String>,
    pub activity: String,
    pub activity_label: String,
    pub confidentiality: Option<String>,
    pub estimated_data_subjects: Option<String>,
    pub scopes: Vec<ScopeName>,
}

#[derive(Debug, Serialize)]
pub struct ScopeName {
    pub scope: String,
    /// "IFO (Individ- och familjeomsorgsnämnden)", or the scope alone when
    /// the configuration names no board for it.
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct Count {
    pub title: String,
    pub rule: String,
    pub count: usize,
}

#[derive(Debug, Serialize)]
pub struct ScopeFacts {
    pub scope: String,
    pub label: String,
    pub roles: String,
    pub accounts: usize,
}

#[derive(Debug, Serialize)]
pub struct PathFacts {
    pub path: String,
    pub accounts: usize,
}

#[derive(Debug, Serialize)]
pub struct BroadGroup {
    pub group: String,
    pub accounts: u64,
    pub role: String,
    pub path: String,
    /// The group the catch-all group is a member of on the path.
    pub nested_in: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AccountRow {
    pub account: String,
    pub access: String,
    pub path: String,
    pub what: String,
}

#[derive(Debug, Serialize)]
pub struct AnonymousRow {
    pub what: String,
    pub path: String,
    pub access: String,
    pub accounts: usize,
}

/// How a path of groups is written: "SG-Controllers → SG-Statdb-Alla".
fn path_text(via: &[String]) -> String {
    if via.is_empty() {
        "direkt tilldelad roll".to_string()
    } else {
        via.join(" → ")
    }
}

/// The access of one finding: "Las på IFO", or the whole access of the
/// account for findings about the account itself.
fn access_text(f: &Finding) -> String {
    match (&f.role, &f.scope) {
        (Some(role), Some(scope)) if scope == "*" => format!("{role} (hela källan)"),
        (Some(role), Some(scope)) => format!("{role} på {scope}"),
        (Some(role), None) => role.clone(),
        _ => "all behörighet kontot har i källan".to_string(),
    }
}

/// The access of several findings of one account, roles with their scopes
/// in the source's order: "Las på IFO, VO och GA".
fn access_summary(findings: &[&Finding], scopes: &Scopes<'_>) -> String {
    let mut by_role: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut whole = Vec::new();
    for f in findings {
        match (&f.role, &f.scope) {
            (Some(role), Some(scope)) if scope != "*" => {
                let names = by_role.entry(role).or_default();
                if !names.contains(&scope.as_str()) {
                    names.push(scope);
                }
            }
            _ => {
                let text = access_text(f);
                if !whole.contains(&text) {
                    whole.push(text);
                }
            }
        }
    }
    let mut parts: Vec<String> = by_role
        .into_iter()
        .map(|(role, mut names)| {
            names.sort_by_key(|s| (scopes.order(s), s.to_string()));
            format!("{role} på {}", join_sv(&names))
        })
        .collect();
    parts.extend(whole);
    parts.join("; ")
}

/// Names and order of the scopes of a source: "IFO (Individ- och
/// familjeomsorgsnämnden)" when the configuration names the board.
struct Scopes<'a> {
    source: &'a SourceMeta,
    boards: BTreeMap<String, String>,
}

impl Scopes<'_> {
    fn label(&self, scope: &str) -> String {
        if scope == "*" {
            return "hela källan".to_string();
        }
        match self.boards.get(scope) {
            Some(board) => format!("{scope} ({board})"),
            None => scope.to_string(),
        }
    }

    /// Position in the policy's `scopes`; others last.
    fn order(&self, scope: &str) -> usize {
        self.source
            .scopes
            .iter()
            .position(|x| x == scope)
            .unwrap_or(usize::MAX)
    }
}

/// Distinct accounts of the findings of one rule.
fn accounts_of(findings: &[&Finding], rule: Rule) -> usize {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .filter_map(|f| f.account.as_deref())
        .collect::<BTreeSet<_>>()
        .len()
}

/// Access no rule allows per scope: the roles and how many accounts.
fn scope_facts(findings: &[&Finding], scopes: &Scopes<'_>) -> (Vec<ScopeFacts>, bool) {
    let mut per_scope: BTreeMap<String, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for f in findings {
        let (Some(role), Some(scope), Some(account)) = (&f.role, &f.scope, &f.account) else {
            continue;
        };
        for s in scopes.source.expand_scope(scope) {
            let e = per_scope.entry(s).or_default();
            e.0.insert(role);
            e.1.insert(account);
        }
    }
    let all = per_scope.contains_key("*")
        || (!scopes.source.scopes.is_empty()
            && scopes
                .source
                .scopes
                .iter()
                .all(|s| per_scope.contains_key(s)));
    let mut facts: Vec<ScopeFacts> = per_scope
        .into_iter()
        .map(|(scope, (roles, accounts))| ScopeFacts {
            label: scopes.label(&scope),
            roles: join_sv(&roles.into_iter().collect::<Vec<_>>()),
            accounts: accounts.len(),
            scope,
        })
        .collect();
    facts.sort_by_key(|s| (scopes.order(&s.scope), s.scope.clone()));
    (facts, all)
}

/// Accounts per path of groups, the most common path first.
fn path_facts(findings: &[&Finding]) -> Vec<PathFacts> {
    let mut per_path: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for f in findings {
        if let Some(account) = &f.account {
            per_path
                .entry(path_text(&f.via))
                .or_default()
                .insert(account);
        }
    }
    let mut paths: Vec<PathFacts> = per_path
        .into_iter()
        .map(|(path, a)| PathFacts {
            path,
            accounts: a.len(),
        })
        .collect();
    paths.sort_by(|a, b| b.accounts.cmp(&a.accounts).then(a.path.cmp(&b.path)));
    paths
}

/// Every nesting of a group in another on the paths ("A i B"), and those
/// next to the access group whose removal ends the access. Catch-all
/// groups are left to [`broad_groups`].
fn nestings(findings: &[&Finding]) -> (Vec<String>, Vec<String>) {
    let broad: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.rule == Rule::BroadGroup)
        .filter_map(|f| f.group.as_deref())
        .collect();
    let mut all = BTreeSet::new();
    let mut at_access = BTreeSet::new();
    for f in findings.iter().filter(|f| f.rule != Rule::BroadGroup) {
        for pair in f.via.windows(2) {
            all.insert(format!("{} i {}", pair[0], pair[1]));
        }
        if let [.., inner, outer] = f.via.as_slice() {
            if !broad.contains(inner.as_str()) {
                at_access.insert(format!("{inner} i {outer}"));
            }
        }
    }
    (all.into_iter().collect(), at_access.into_iter().collect())
}

fn broad_groups(findings: &[&Finding]) -> Vec<BroadGroup> {
    findings
        .iter()
        .filter(|f| f.rule == Rule::BroadGroup)
        .map(|f| BroadGroup {
            group: f.group.clone().unwrap_or_default(),
            accounts: f.accounts.unwrap_or(0),
            role: f.role.clone().unwrap_or_default(),
            path: path_text(&f.via),
            nested_in: f
                .group
                .as_ref()
                .and_then(|g| f.via.iter().position(|v| v == g))
                .and_then(|i| f.via.get(i + 1))
                .cloned(),
        })
        .collect()
}

/// The appendix: one row per account and path, and the same without
/// names, counted per finding, path and access.
fn appendix_rows(
    findings: &[&Finding],
    scopes: &Scopes<'_>,
) -> (Vec<AccountRow>, Vec<AnonymousRow>) {
    type RowKey = (String, String);
    type RowValue<'f> = (&'f str, Vec<&'f Finding>, BTreeSet<&'static str>);
    type AnonKey = (Rule, String, Option<String>, usize, String);
    let mut per_row: BTreeMap<RowKey, RowValue<'_>> = BTreeMap::new();
    let mut per_anon: BTreeMap<AnonKey, BTreeSet<&str>> = BTreeMap::new();
    for f in findings {
        let Some(account) = &f.account else { continue };
        let path = path_text(&f.via);
        let e = per_row
            .entry((account.to_lowercase(), path.clone()))
            .or_insert_with(|| (account.as_str(), Vec::new(), BTreeSet::new()));
        e.1.push(f);
        e.2.insert(f.rule.title_sv());
        let order = f.scope.as_deref().map_or(0, |s| scopes.order(s));
        per_anon
            .entry((f.rule, path, f.role.clone(), order, access_text(f)))
            .or_default()
            .insert(account);
    }
    let rows = per_row
        .into_iter()
        .map(|((_, path), (account, access, what))| AccountRow {
            account: account.to_string(),
            access: access_summary(&access, scopes),
            path,
            what: what.into_iter().collect::<Vec<_>>().join("; "),
        })
        .collect();
    let anonymous = per_anon
        .into_iter()
        .map(|((rule, path, _, _, access), accounts)| AnonymousRow {
            what: rule.title_sv().to_string(),
            path,
            access,
            accounts: accounts.len(),
        })
        .collect();
    (rows, anonymous)
}

/// The source's findings that the draft does not cover: counts by rule,
/// and their messages unless names are left out.
fn other_findings(input: &DraftInput<'_>, covered: &[&Finding]) -> (Vec<Count>, Vec<String>) {
    let mut counts: BTreeMap<Rule, usize> = BTreeMap::new();
    let mut messages = Vec::new();
    for f in input.findings.iter().filter(|f| {
        f.data_source == input.source.id && !covered.iter().any(|g| std::ptr::eq(*g, *f))
    }) {
        *counts.entry(f.rule).or_default() += 1;
        if !input.no_names {
            messages.push(f.message.clone());
        }
    }
    let counts = counts
        .into_iter()
        .map(|(rule, count)| Count {
            title: rule.title_sv().to_string(),
            rule: rule.id().to_string(),
            count,
        })
        .collect();
    (counts, messages)
}

fn source_facts(scopes: &Scopes<'_>) -> SourceFacts {
    let source = scopes.source;
    SourceFacts {
        id: source.id.clone(),
        name: source.name.clone(),
        controller: source.controller.clone(),
        activity: source.activity.clone(),
        activity_label: vocabulary::ACTIVITIES
            .iter()
            .find(|(k, _)| *k == source.activity)
            .map(|(_, label)| label.to_string())
            .unwrap_or_else(|| source.activity.clone()),
        confidentiality: source.confidentiality.clone(),
        estimated_data_subjects: source.estimated_data_subjects.map(number_sv),
        scopes: source
            .scopes
            .iter()
            .map(|s| ScopeName {
                scope: s.clone(),
                label: scopes.label(s),
            })
            .collect(),
    }
}

/// Whether any key names a special term (art. 9 and 10 data, children,
/// vulnerable people).
fn any_special(terms: &'static [vocabulary::Term], keys: &[String]) -> bool {
    keys.iter()
        .filter_map(|k| vocabulary::lookup(terms, k))
        .any(|t| t.special)
}

impl Facts {
    /// Gathers the facts of `findings`, the findings of the draft's
    /// classification on the input's source.
    pub fn gather(input: &DraftInput<'_>, findings: &[&Finding]) -> Result<Facts, DraftError> {
        let source = input.source;
        let scopes = Scopes {
            source,
            boards: input
                .config
                .map(|c| c.organization.boards.clone())
                .unwrap_or_default(),
        };
        let (discovered, from_history) = discovery(input.as_of, findings)?;
        let (scope_rows, all_scopes) = scope_facts(findings, &scopes);
        let (nestings, access_nestings) = nestings(findings);
        let (rows, anonymous_rows) = appendix_rows(findings, &scopes);
        let (other, other_messages) = other_findings(input, findings);
        let vulnerable: Vec<String> = source
            .data_subject_groups
            .iter()
            .filter(|k| any_special(vocabulary::DATA_SUBJECT_GROUPS, std::slice::from_ref(k)))
            .cloned()
            .collect();
        let org = input.config.map(|c| &c.organization);
        let contact = input.config.map(|c| &c.contact);
        Ok(Facts {
            org: Org {
                name: org.and_then(|o| o.name.clone()),
                org_number: org.and_then(|o| o.org_number.clone()),
                address: org.and_then(|o| o.address.clone()),
            },
            contact: ContactFacts {
                name: contact.and_then(|c| c.name.clone()),
                role: contact.and_then(|c| c.role.clone()),
                email: contact.and_then(|c| c.email.clone()),
                phone: contact.and_then(|c| c.phone.clone()),
            },
            source: source_facts(&scopes),
            as_of: clock::date_sv(input.as_of),
            discovered: clock::date_time_sv(discovered),
            discovered_from_history: from_history,
            deadline: clock::date_time_sv(clock::deadline(discovered)),
            no_names: input.no_names,
            accounts: findings
                .iter()
                .filter_map(|f| f.account.as_deref())
                .collect::<BTreeSet<_>>()
                .len(),
            findings: findings.len(),
            scopes_text: join_sv(&scope_rows.iter().map(|s| &s.label).collect::<Vec<_>>()),
            scope_ids_text: join_sv(&scope_rows.iter().map(|s| &s.scope).collect::<Vec<_>>()),
            scopes: scope_rows,
            all_scopes,
            paths: path_facts(findings),
            nestings,
            access_nestings,
            only_unauthorized: findings.iter().all(|f| f.rule == Rule::UnauthorizedAccess),
            broad_groups: broad_groups(findings),
            disabled: accounts_of(findings, Rule::DisabledAccount),
            expired: accounts_of(findings, Rule::ExpiredAccount),
            unknown: accounts_of(findings, Rule::UnknownAccount),
            unauthorized: accounts_of(findings, Rule::UnauthorizedAccess),
            rows: if input.no_names { Vec::new() } else { rows },
            anonymous_rows,
            other,
            other_messages,
            categories: labels(vocabulary::DATA_CATEGORIES, &source.data_categories),
            groups: labels(vocabulary::DATA_SUBJECT_GROUPS, &source.data_subject_groups),
            special_categories: any_special(vocabulary::DATA_CATEGORIES, &source.data_categories),
            vulnerable_subjects: !vulnerable.is_empty(),
            vulnerable_groups: labels(vocabulary::DATA_SUBJECT_GROUPS, &vulnerable),
            use_evidence: use_evidence(findings, &source.name),
        })
    }
}

/// The access logs' answer to the forms' question whether anyone took
/// part of the data.
#[derive(Debug, Serialize)]
pub struct UseEvidence {
    /// The logs show that at least one account used the access: the lex
    /// Sarah report then concerns a deficiency that happened, not a risk.
    pub shown: bool,
    /// The sentence for the form.
    pub sentence: String,
}

/// Turns the evidence of use on the findings of accounts into the
/// sentence the drafts give: "Loggarna för perioden … visar att 4 av de
/// 21 kontona har öppnat sammanlagt 37 ärenden …". Counts only: record
/// ids never reach a draft. `None` when the audit read no access logs.
pub fn use_evidence(findings: &[&Finding], source_name: &str) -> Option<UseEvidence> {
    let logged: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| f.usage.is_some() && f.account.is_some())
        .collect();
    if logged.is_empty() {
        return None;
    }
    let covered: Vec<(&str, &crate::evidence::Usage)> = logged
        .iter()
        .filter_map(|f| Some((f.account.as_deref()?, f.usage.as_ref()?.as_ref()?)))
        .collect();
    if covered.is_empty() {
        return Some(UseEvidence {
            shown: false,
            sentence: format!(
                "Granskningen hade ingen åtkomstlogg för {source_name}: den visar inte om någon har tagit del av uppgifterna."
            ),
        });
    }
    let accounts: BTreeSet<&str> = covered.iter().map(|(a, _)| *a).collect();
    let used: BTreeSet<&str> = covered
        .iter()
        .filter(|(_, u)| u.used())
        .map(|(a, _)| *a)
        .collect();
    let events: u64 = covered.iter().map(|(_, u)| u.events).sum();
    let records: u64 = covered.iter().map(|(_, u)| u.records).sum();
    let first = covered.iter().filter_map(|(_, u)| u.first.as_deref()).min();
    let last = covered.iter().filter_map(|(_, u)| u.last.as_deref()).max();
    let day = |t: &str| t.get(..10).unwrap_or(t).to_string();
    let of_accounts = if accounts.len() == 1 {
        "kontot".to_string()
    } else {
        format!("de {} kontona", number_sv(accounts.len() as u64))
    };
    let sentence = match (first, last) {
        (Some(first), Some(last)) if !used.is_empty() => format!(
            "Loggarna för perioden {}–{} visar att {} av {of_accounts} har öppnat sammanlagt {} {} ({} {}) som de inte är behöriga till.",
            day(first),
            day(last),
            number_sv(used.len() as u64),
            number_sv(records),
            if records == 1 { "ärende" } else { "ärenden" },
            number_sv(events),
            if events == 1 { "händelse" } else { "händelser" },
        ),
        _ => format!(
            "Åtkomstloggarna för {source_name} visar inte att något av {of_accounts} har använt åtkomsten."
        ),
    };
    Some(UseEvidence {
        shown: !used.is_empty(),
        sentence,
    })
}

/// The form's words for vocabulary keys, in the form's order.
fn labels(terms: &'static [vocabulary::Term], keys: &[String]) -> Vec<String> {
    let mut known: Vec<(usize, String)> = keys
        .iter()
        .map(|k| match vocabulary::lookup(terms, k) {
            Some(t) => (
                terms
                    .iter()
                    .position(|x| x.key == t.key)
                    .unwrap_or(usize::MAX),
                t.label.to_string(),
            ),
            None => (usize::MAX, k.clone()),
        })
        .collect();
    known.sort();
    known.dedup();
    known.into_iter().map(|(_, label)| label).collect()
}

/// When the breach was discovered: the earliest `first_seen` of the
/// findings when the audit kept a history, else the start of the audit's
/// day (the earliest moment the audit can have found it, so the deadline
/// is never late).
fn discovery(as_of: NaiveDate, findings: &[&Finding]) -> Result<(DateTime<Tz>, bool), DraftError> {
    let mut earliest: Option<DateTime<Tz>> = None;
    for f in findings {
        if let Some(seen) = &f.first_seen {
            let t = clock::parse_first_seen(seen).ok_or_else(|| {
                DraftError::Render(format!(
                    "finding {}: `first_seen` is `{seen}`, not a date-time (expected YYYY-MM-DDTHH:MM:SS)",
                    f.id
                ))
            })?;
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        }
    }
    Ok(match earliest {
        Some(t) => (t, true),
        None => (clock::start_of_day(as_of), false),
    })
}
