//! The facts of a draft: what the audit's findings and the configuration
//! say about one data source, gathered into the shape the templates read.
//! Nothing here judges; [`super::imy`] and [`super::lex_sarah`] do.
//!
//! Counts are kept per cause (access no rule allows, by the path that
//! gives it; disabled, expired and unknown accounts apart), so that no
//! number in a draft silently mixes accounts that could log in with those
//! that could not.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::Serialize;

use super::{clock, join_sv, number_sv, DraftError, DraftInput};
use crate::evidence::LogSummary;
use crate::findings::{Finding, Rule};
use crate::policy::{vocabulary, SourceMeta};

/// With `--no-names`, no row or count may describe fewer accounts than
/// this: a group of one or two can point out a person.
pub const MIN_ANONYMOUS: usize = 3;

/// What the audit and the configuration say, in the shape the templates
/// read.
#[derive(Debug, Serialize)]
pub struct Facts {
    pub org: Org,
    pub contact: ContactFacts,
    pub source: SourceFacts,
    /// The audit's date.
    pub as_of: String,
    /// The audit run the draft is written from: date and time when known.
    pub run: String,
    /// When the breach was discovered, and how that is known: `history`
    /// (the first run that found it), `run` (this run's time) or `day`
    /// (the audit's date alone, counted from the start of the day).
    pub discovered: String,
    pub discovered_how: &'static str,
    /// 72 hours after discovery ("24 november 2026 kl. 24.00").
    pub deadline: String,
    /// Whether the 72 hours had run out at the run the draft is written
    /// from, and by how much ("5 dygn och 2 timmar").
    pub deadline_passed: bool,
    pub late_by: String,
    pub no_names: bool,
    /// Distinct accounts named by the findings of the draft.
    pub accounts: usize,
    /// Accounts that could log in and had access no rule allows.
    pub reach: usize,
    /// Those accounts per path of groups, the most common path first.
    pub reach_paths: Vec<CountRow>,
    pub disabled: usize,
    pub expired: usize,
    pub unknown: usize,
    /// Findings the draft covers.
    pub findings: usize,
    /// Access no rule allows, per scope of the source.
    pub scopes: Vec<ScopeFacts>,
    /// The scopes the excess access reaches, in words.
    pub scopes_text: String,
    /// The same by scope id alone: "IFO, VO och GA".
    pub scope_ids_text: String,
    /// Whether the excess access reaches every scope of the source.
    pub all_scopes: bool,
    /// The personuppgiftsansvariga: one board per scope reached, from
    /// `[organization.boards]`, else the policy's `controller`.
    pub controllers: Vec<ControllerFacts>,
    pub controllers_text: String,
    /// Whether some scope reached names no board in the configuration.
    pub controller_missing: bool,
    /// The roles of the excess access, by their labels.
    pub roles_text: String,
    /// Groups nested into other groups on the paths: "SG-Controllers i
    /// SG-Statdb-Alla".
    pub nestings: Vec<String>,
    /// The nestings next to the access group, which removing ends the
    /// access (catch-all groups are listed in `broad_groups` instead).
    pub access_nestings: Vec<String>,
    pub broad_groups: Vec<BroadGroup>,
    /// Whether the access was used. Today the audit shows only that access
    /// was possible; evidence of use from access logs belongs here.
    pub usage: Usage,
    /// Staff behind the accounts by title and form of employment (`None`
    /// when the draft is written from `--findings`, which holds no
    /// attributes).
    pub staff: Option<Vec<CountRow>>,
    /// One row per account and path (empty with `no_names`).
    pub rows: Vec<AccountRow>,
    /// The same without names: accounts per finding, path and access, no
    /// row under [`MIN_ANONYMOUS`].
    pub anonymous_rows: Vec<AnonymousRow>,
    /// Findings on the source that the report does not cover.
    pub other: Vec<Count>,
    /// The form's lists, whole, with the source's entries ticked.
    pub category_ticks: Vec<Tick>,
    pub group_ticks: Vec<Tick>,
    pub categories: Vec<String>,
    pub groups: Vec<String>,
    /// Special categories (art. 9, 10) among the data.
    pub special_categories: bool,
    /// Children or vulnerable people among the data subjects.
    pub vulnerable_subjects: bool,
    /// Those groups, in the form's words.
    pub vulnerable_groups: Vec<String>,
    /// Earlier runs of the audit, for the dated actions of question 30.
    pub history: Vec<HistoryFacts>,
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
    pub name: String,
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
pub struct Tick {
    pub label: String,
    pub ticked: bool,
}

#[derive(Debug, Serialize)]
pub struct Count {
    pub title: String,
    pub count: usize,
}

#[derive(Debug, Serialize)]
pub struct CountRow {
    pub label: String,
    /// "21 konton", or "färre än 3 konton" with `--no-names`.
    pub count: String,
}

#[derive(Debug, Serialize)]
pub struct ScopeFacts {
    pub scope: String,
    pub label: String,
    pub roles: String,
    pub accounts: String,
}

#[derive(Debug, Serialize)]
pub struct ControllerFacts {
    pub board: String,
    /// The scopes of the source whose data the board is responsible for.
    pub scopes: String,
    pub accounts: String,
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
pub struct Usage {
    /// Whether an access log covers the source, so that use is known.
    pub known: bool,
    /// Whether the logs show that the access was used.
    pub shown: bool,
    /// What the draft says about use, in Swedish.
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct AccountRow {
    pub account: String,
    pub access: String,
    /// The boards whose data the account could reach.
    pub boards: String,
    pub path: String,
    pub what: String,
}

#[derive(Debug, Serialize)]
pub struct AnonymousRow {
    pub what: String,
    pub path: String,
    pub access: String,
    pub accounts: String,
}

#[derive(Debug, Serialize)]
pub struct HistoryFacts {
    pub at: String,
    pub text: String,
}

/// How a path of groups is written: "SG-Controllers → SG-Statdb-Alla".
fn path_text(via: &[String]) -> String {
    if via.is_empty() {
        "direkt tilldelad roll".to_string()
    } else {
        via.join(" → ")
    }
}

/// A count of accounts in words; with `hide`, a count under
/// [`MIN_ANONYMOUS`] is not given exactly.
pub fn accounts_text(n: usize, hide: bool) -> String {
    count_text(n, hide, "konto", "konton")
}

/// A count with its noun ("1 inaktiverat konto", "3 inaktiverade konton");
/// with `hide`, a count under [`MIN_ANONYMOUS`] is not given exactly.
pub fn count_text(n: usize, hide: bool, one: &str, many: &str) -> String {
    if hide && n < MIN_ANONYMOUS {
        format!("färre än {MIN_ANONYMOUS} {many}")
    } else if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", number_sv(n as u64))
    }
}

/// Names and order of the scopes of a source, and the words for its roles.
struct Scopes<'a> {
    source: &'a SourceMeta,
    boards: BTreeMap<String, String>,
}

impl Scopes<'_> {
    fn board(&self, scope: &str) -> Option<&str> {
        self.boards.get(scope).map(String::as_str)
    }

    fn label(&self, scope: &str) -> String {
        if scope == "*" {
            return "hela källan".to_string();
        }
        match self.board(scope) {
            Some(board) => format!("{scope} ({board})"),
            None => scope.to_string(),
        }
    }

    fn role(&self, role: &str) -> String {
        self.source.role_label(role).to_string()
    }

    /// Position in the policy's `scopes`; others last.
    fn order(&self, scope: &str) -> usize {
        self.source
            .scopes
            .iter()
            .position(|x| x == scope)
            .unwrap_or(usize::MAX)
    }

    /// The policy's `controller`, by its board's name when it is a key of
    /// `[organization.boards]`.
    fn source_controller(&self) -> Option<String> {
        let c = self.source.controller.as_deref()?;
        Some(self.board(c).unwrap_or(c).to_string())
    }
}

/// The access of one finding: "läsbehörighet på IFO", or the whole access
/// of the account for findings about the account itself.
fn access_text(f: &Finding, scopes: &Scopes<'_>) -> String {
    match (&f.role, &f.scope) {
        (Some(role), Some(scope)) if scope == "*" => {
            if scopes.source.scopes.is_empty() {
                scopes.role(role)
            } else {
                format!("{} på alla områden", scopes.role(role))
            }
        }
        (Some(role), Some(scope)) => format!("{} på {scope}", scopes.role(role)),
        (Some(role), None) => scopes.role(role),
        _ => "den behörighet kontot har i källan".to_string(),
    }
}

/// The access of several findings of one account, roles with their scopes
/// in the source's order: "läsbehörighet på IFO, VO och GA".
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
                let text = access_text(f, scopes);
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
            format!("{} på {}", scopes.role(role), join_sv(&names))
        })
        .collect();
    // A finding about the account itself adds nothing to roles already
    // named.
    if parts.is_empty() {
        parts.extend(whole);
    }
    parts.join("; ")
}

/// The boards whose data the findings reach, in the source's order.
fn boards_of(findings: &[&Finding], scopes: &Scopes<'_>) -> String {
    let mut reached: Vec<String> = Vec::new();
    for f in findings {
        let Some(scope) = &f.scope else { continue };
        for s in scopes.source.expand_scope(scope) {
            if !reached.contains(&s) {
                reached.push(s);
            }
        }
    }
    if reached.is_empty() && scopes.source.scopes.len() == 1 {
        reached = scopes.source.scopes.clone();
    }
    reached.sort_by_key(|s| (scopes.order(s), s.clone()));
    let mut names: Vec<String> = Vec::new();
    for s in &reached {
        let name = match (s.as_str(), scopes.board(s)) {
            ("*", _) => scopes.source_controller().unwrap_or_default(),
            (_, Some(board)) => board.to_string(),
            (other, None) => other.to_string(),
        };
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        "framgår inte av granskningen".to_string()
    } else {
        join_sv(&names)
    }
}

/// Distinct accounts of the findings of one rule.
fn accounts_of<'f>(findings: &[&'f Finding], rule: Rule) -> BTreeSet<&'f str> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .filter_map(|f| f.account.as_deref())
        .collect()
}

/// Access no rule allows per scope, by accounts that could log in: the
/// roles and how many accounts.
fn scope_facts(
    reach: &[&Finding],
    scopes: &Scopes<'_>,
    hide: bool,
) -> (Vec<ScopeFacts>, bool, BTreeMap<String, BTreeSet<String>>) {
    let mut per_scope: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for f in reach {
        let (Some(role), Some(scope), Some(account)) = (&f.role, &f.scope, &f.account) else {
            continue;
        };
        for s in scopes.source.expand_scope(scope) {
            let e = per_scope.entry(s).or_default();
            e.0.insert(scopes.role(role));
            e.1.insert(account.clone());
        }
    }
    let all = per_scope.contains_key("*")
        || (!scopes.source.scopes.is_empty()
            && scopes
                .source
                .scopes
                .iter()
                .all(|s| per_scope.contains_key(s)));
    let accounts: BTreeMap<String, BTreeSet<String>> = per_scope
        .iter()
        .map(|(s, (_, a))| (s.clone(), a.clone()))
        .collect();
    let mut facts: Vec<ScopeFacts> = per_scope
        .into_iter()
        .map(|(scope, (roles, accounts))| ScopeFacts {
            label: scopes.label(&scope),
            roles: join_sv(&roles.into_iter().collect::<Vec<_>>()),
            accounts: accounts_text(accounts.len(), hide),
            scope,
        })
        .collect();
    facts.sort_by_key(|s| (scopes.order(&s.scope), s.scope.clone()));
    (facts, all, accounts)
}

/// The boards responsible for the data the access reaches: per scope from
/// the configuration, else the policy's `controller`.
fn controllers(
    scope_accounts: &BTreeMap<String, BTreeSet<String>>,
    reach: usize,
    scopes: &Scopes<'_>,
    hide: bool,
) -> (Vec<ControllerFacts>, bool) {
    let mut reached: Vec<&String> = scope_accounts.keys().filter(|s| *s != "*").collect();
    if reached.is_empty() && scope_accounts.contains_key("*") {
        reached = scopes.source.scopes.iter().collect();
    }
    if reached.is_empty() {
        // Only disabled, expired or unknown accounts: the whole source.
        reached = scopes.source.scopes.iter().collect();
    }
    reached.sort_by_key(|s| (scopes.order(s), s.to_string()));
    let mut per_board: Vec<(String, Vec<String>, BTreeSet<String>)> = Vec::new();
    let mut missing = false;
    for scope in reached {
        let board = match scopes.board(scope) {
            Some(b) => b.to_string(),
            None => match scopes.source_controller() {
                Some(c) => {
                    missing = true;
                    c
                }
                None => {
                    missing = true;
                    continue;
                }
            },
        };
        let accounts = scope_accounts.get(scope).cloned().unwrap_or_default();
        match per_board.iter_mut().find(|(b, _, _)| *b == board) {
            Some(entry) => {
                entry.1.push(scope.clone());
                entry.2.extend(accounts);
            }
            None => per_board.push((board, vec![scope.clone()], accounts)),
        }
    }
    if per_board.is_empty() {
        if let Some(c) = scopes.source_controller() {
            return (
                vec![ControllerFacts {
                    board: c,
                    scopes: "hela källan".to_string(),
                    accounts: accounts_text(reach, hide),
                }],
                false,
            );
        }
        return (Vec::new(), true);
    }
    let facts = per_board
        .into_iter()
        .map(|(board, scope_ids, accounts)| ControllerFacts {
            board,
            scopes: join_sv(&scope_ids),
            accounts: accounts_text(accounts.len(), hide),
        })
        .collect();
    (facts, missing)
}

/// Rows of (label, count), the largest first; with `hide`, rows under
/// [`MIN_ANONYMOUS`] are merged into one, and left out if that one is
/// still too small.
fn count_rows(counts: BTreeMap<String, usize>, hide: bool, rest: &str) -> Vec<CountRow> {
    let mut rows: Vec<(String, usize)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = Vec::new();
    let mut merged = 0;
    for (label, n) in rows {
        if hide && n < MIN_ANONYMOUS {
            merged += n;
        } else {
            out.push(CountRow {
                label,
                count: accounts_text(n, false),
            });
        }
    }
    if merged > 0 {
        out.push(CountRow {
            label: rest.to_string(),
            count: accounts_text(merged, true),
        });
    }
    out
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

fn broad_groups(findings: &[&Finding], scopes: &Scopes<'_>) -> Vec<BroadGroup> {
    findings
        .iter()
        .filter(|f| f.rule == Rule::BroadGroup)
        .map(|f| BroadGroup {
            group: f.group.clone().unwrap_or_default(),
            accounts: f.accounts.unwrap_or(0),
            role: f
                .role
                .as_deref()
                .map(|r| scopes.role(r))
                .unwrap_or_default(),
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
    hide: bool,
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
            .entry((f.rule, path, f.role.clone(), order, access_text(f, scopes)))
            .or_default()
            .insert(account);
    }
    let rows = per_row
        .into_iter()
        .map(|((_, path), (account, access, what))| AccountRow {
            account: account.to_string(),
            boards: boards_of(&access, scopes),
            access: access_summary(&access, scopes),
            path,
            what: what.into_iter().collect::<Vec<_>>().join("; "),
        })
        .collect();
    let mut anonymous = Vec::new();
    let mut merged: BTreeSet<&str> = BTreeSet::new();
    for ((rule, path, _, _, access), accounts) in per_anon {
        if hide && accounts.len() < MIN_ANONYMOUS {
            merged.extend(accounts);
            continue;
        }
        anonymous.push(AnonymousRow {
            what: rule.title_sv().to_string(),
            path,
            access,
            accounts: accounts_text(accounts.len(), false),
        });
    }
    if merged.len() >= MIN_ANONYMOUS {
        anonymous.push(AnonymousRow {
            what: "Övriga fynd, sammanslagna".to_string(),
            path: "olika vägar".to_string(),
            access: "olika behörigheter".to_string(),
            accounts: accounts_text(merged.len(), false),
        });
    } else if !merged.is_empty() {
        anonymous.push(AnonymousRow {
            what: "Övriga fynd, sammanslagna".to_string(),
            path: "olika vägar".to_string(),
            access: "olika behörigheter".to_string(),
            accounts: accounts_text(merged.len(), true),
        });
    }
    (rows, anonymous)
}

/// The source's findings that the draft does not cover, counted by kind.
fn other_findings(input: &DraftInput<'_>, covered: &[&Finding]) -> Vec<Count> {
    let mut counts: BTreeMap<Rule, usize> = BTreeMap::new();
    for f in input.findings.iter().filter(|f| {
        f.data_source == input.source.id && !covered.iter().any(|g| std::ptr::eq(*g, *f))
    }) {
        *counts.entry(f.rule).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(rule, count)| Count {
            title: rule.title_sv().to_string(),
            count,
        })
        .collect()
}

fn source_facts(scopes: &Scopes<'_>) -> SourceFacts {
    let source = scopes.source;
    SourceFacts {
        name: source.name.clone(),
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

/// The form's whole list with the keys' entries ticked.
fn ticks(terms: &'static [vocabulary::Term], keys: &[String]) -> Vec<Tick> {
    let chosen: BTreeSet<&str> = keys
        .iter()
        .filter_map(|k| vocabulary::lookup(terms, k))
        .map(|t| t.key)
        .collect();
    terms
        .iter()
        .map(|t| Tick {
            label: t.label.to_string(),
            ticked: chosen.contains(t.key),
        })
        .collect()
}

/// Staff behind the accounts, by title and form of employment.
fn staff_rows(input: &DraftInput<'_>, accounts: &BTreeSet<&str>) -> Option<Vec<CountRow>> {
    let staff = input.staff?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for account in accounts {
        let person = staff.get(*account);
        let title = person
            .and_then(|p| p.title.clone())
            .unwrap_or_else(|| "titel saknas i katalogen".to_string());
        let label = match person.and_then(|p| p.employment.as_deref()) {
            Some(e) => format!("{title}, {}", e.to_lowercase()),
            None => format!("{title}, anställningsform saknas i katalogen"),
        };
        *counts.entry(label).or_default() += 1;
    }
    Some(count_rows(
        counts,
        input.no_names,
        "Övriga titlar och anställningsformer, sammanslagna",
    ))
}

impl Facts {
    /// Gathers the facts of `findings`, the findings of the draft's
    /// classification on the input's source.
    pub fn gather(input: &DraftInput<'_>, findings: &[&Finding]) -> Result<Facts, DraftError> {
        let source = input.source;
        let hide = input.no_names;
        let scopes = Scopes {
            source,
            boards: input
                .config
                .map(|c| c.organization.boards.clone())
                .unwrap_or_default(),
        };
        let run_at = match input.run_time {
            Some(t) => clock::local(t),
            None => clock::start_of_day(input.as_of),
        };
        let (discovered, how) = discovery(input, findings)?;
        let deadline = clock::deadline(discovered);
        let deadline_passed = run_at > deadline;

        let disabled = accounts_of(findings, Rule::DisabledAccount);
        let expired = accounts_of(findings, Rule::ExpiredAccount);
        let unknown = accounts_of(findings, Rule::UnknownAccount);
        let reach_findings: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|f| f.rule == Rule::UnauthorizedAccess)
            .filter(|f| {
                f.account.as_deref().is_some_and(|a| {
                    !disabled.contains(a) && !expired.contains(a) && !unknown.contains(a)
                })
            })
            .collect();
        let reach: BTreeSet<&str> = reach_findings
            .iter()
            .filter_map(|f| f.account.as_deref())
            .collect();
        let mut per_path: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for f in &reach_findings {
            if let Some(a) = f.account.as_deref() {
                per_path.entry(path_text(&f.via)).or_default().insert(a);
            }
        }
        let reach_paths = count_rows(
            per_path.into_iter().map(|(p, a)| (p, a.len())).collect(),
            hide,
            "övriga vägar, sammanslagna",
        );
        let (scope_rows, all_scopes, scope_accounts) = scope_facts(&reach_findings, &scopes, hide);
        let (controllers, controller_missing) =
            controllers(&scope_accounts, reach.len(), &scopes, hide);
        let roles: BTreeSet<String> = reach_findings
            .iter()
            .filter_map(|f| f.role.as_deref())
            .map(|r| scopes.role(r))
            .collect();
        let (nestings, access_nestings) = nestings(findings);
        let (rows, anonymous_rows) = appendix_rows(findings, &scopes, hide);
        let all_accounts: BTreeSet<&str> = findings
            .iter()
            .filter_map(|f| f.account.as_deref())
            .collect();
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
            run: if input.run_time.is_some() {
                clock::date_time_sv(run_at)
            } else {
                clock::date_sv(input.as_of)
            },
            discovered: clock::date_time_sv(discovered),
            discovered_how: how,
            deadline: clock::end_time_sv(deadline),
            deadline_passed,
            late_by: if deadline_passed {
                clock::duration_sv(run_at - deadline)
            } else {
                String::new()
            },
            no_names: hide,
            accounts: all_accounts.len(),
            reach: reach.len(),
            reach_paths,
            disabled: disabled.len(),
            expired: expired.len(),
            unknown: unknown.len(),
            findings: findings.len(),
            scopes_text: join_sv(&scope_rows.iter().map(|s| &s.label).collect::<Vec<_>>()),
            scope_ids_text: join_sv(&scope_rows.iter().map(|s| &s.scope).collect::<Vec<_>>()),
            scopes: scope_rows,
            all_scopes,
            controllers_text: join_sv(&controllers.iter().map(|c| &c.board).collect::<Vec<_>>()),
            controllers,
            controller_missing,
            roles_text: join_sv(&roles.into_iter().collect::<Vec<_>>()),
            nestings,
            access_nestings,
            broad_groups: broad_groups(findings, &scopes),
            usage: usage(findings, source, input.logs),
            staff: staff_rows(input, &all_accounts),
            rows: if hide { Vec::new() } else { rows },
            anonymous_rows,
            other: other_findings(input, findings),
            category_ticks: ticks(vocabulary::DATA_CATEGORIES, &source.data_categories),
            group_ticks: ticks(vocabulary::DATA_SUBJECT_GROUPS, &source.data_subject_groups),
            categories: labels(vocabulary::DATA_CATEGORIES, &source.data_categories),
            groups: labels(vocabulary::DATA_SUBJECT_GROUPS, &source.data_subject_groups),
            special_categories: any_special(vocabulary::DATA_CATEGORIES, &source.data_categories),
            vulnerable_subjects: !vulnerable.is_empty(),
            vulnerable_groups: labels(vocabulary::DATA_SUBJECT_GROUPS, &vulnerable),
            history: history(input, discovered, how, run_at),
        })
    }
}

/// The earlier runs since the access was first found, as dated actions: a
/// finding that persists was in every run from its `first_seen` on.
fn history(
    input: &DraftInput<'_>,
    discovered: DateTime<Tz>,
    how: &str,
    run_at: DateTime<Tz>,
) -> Vec<HistoryFacts> {
    if how != "history" {
        return Vec::new();
    }
    let mut runs: Vec<DateTime<Tz>> = input
        .history
        .iter()
        .map(|h| clock::local(h.as_of))
        .filter(|t| *t >= discovered && *t < run_at)
        .collect();
    runs.sort();
    runs.dedup();
    runs.into_iter()
        .map(|t| HistoryFacts {
            at: clock::date_time_sv(t),
            text: if t == discovered {
                "behörighetsgranskning som först fann åtkomsten".to_string()
            } else {
                "ny behörighetsgranskning: åtkomsten fanns kvar".to_string()
            },
        })
        .collect()
}

/// Whether the access was used: the one place a draft answers it. An
/// audit of permissions shows only that access was possible; the access
/// logs, when the audit read them, say whether it was used, and the drafts
/// follow (the lex Sarah kind, the severity's reasons, the log marks).
fn usage(findings: &[&Finding], source: &SourceMeta, logs: Option<&LogSummary>) -> Usage {
    const POSSIBLE: &str = "Granskningen visar att det var möjligt för kontona att nå uppgifterna.";
    match use_evidence(findings, source, logs) {
        Some(evidence) => Usage {
            known: evidence.covered,
            shown: evidence.shown,
            text: format!("{POSSIBLE} {}", evidence.sentence),
        },
        None => Usage {
            known: false,
            shown: false,
            text: format!("{POSSIBLE} Den visar inte om någon har tagit del av dem."),
        },
    }
}

/// The access logs' answer to the forms' question whether anyone took
/// part of the data.
#[derive(Debug, Serialize)]
pub struct UseEvidence {
    /// The logs show that at least one account used the access: the lex
    /// Sarah report then concerns a deficiency that happened, not a risk.
    pub shown: bool,
    /// A log covers the source: the sentence answers the question.
    pub covered: bool,
    /// The sentence for the form.
    pub sentence: String,
}

/// The use of the source by the findings' accounts, each log row and each
/// record counted once: from the audit's own counters when the draft runs
/// the audit, else (findings read back from a report) from the findings'
/// own evidence, one finding per account and scope, a finding about the
/// whole source standing for all of that account's.
fn total_use(
    covered: &[(&str, Option<&str>, &crate::evidence::Usage)],
    source: &SourceMeta,
    logs: Option<&LogSummary>,
) -> crate::evidence::Usage {
    let wanted = covered.iter().map(|(a, scope, _)| (*a, *scope));
    if let Some(total) = logs.and_then(|l| l.union(&source.id, wanted)) {
        return total;
    }
    let whole = |scope: Option<&str>| matches!(scope.map(str::trim), None | Some("*") | Some(""));
    // Per account: the evidence of each scope once.
    let mut per_account: BTreeMap<&str, BTreeMap<Option<&str>, &crate::evidence::Usage>> =
        BTreeMap::new();
    for (account, scope, u) in covered {
        let key = if whole(*scope) { None } else { *scope };
        per_account.entry(account).or_default().insert(key, u);
    }
    let mut total = crate::evidence::Usage {
        events: 0,
        records: 0,
        first: None,
        last: None,
        accounts_used: Some(0),
    };
    let mut used = 0;
    for scopes in per_account.values() {
        let parts: Vec<&crate::evidence::Usage> = match scopes.get(&None) {
            Some(all) => vec![*all],
            None => scopes.values().copied().collect(),
        };
        if parts.iter().any(|u| u.used()) {
            used += 1;
        }
        for u in parts {
            total.events += u.events;
            total.records += u.records;
            total.first = match (total.first.take(), u.first.clone()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            total.last = total.last.take().max(u.last.clone());
        }
    }
    total.accounts_used = Some(used);
    total
}

/// Turns the evidence of use on the findings of accounts into the
/// sentence the drafts give: "Loggarna för perioden … visar att 4 av de
/// 21 kontona har öppnat sammanlagt 37 ärenden …". The period is the
/// logs' (from `--log-since` or the first row to the last row). Counts
/// only: record ids never reach a draft. `None` when the audit read no
/// access logs.
pub fn use_evidence(
    findings: &[&Finding],
    source: &SourceMeta,
    logs: Option<&LogSummary>,
) -> Option<UseEvidence> {
    let source_name = &source.name;
    let logged: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| f.usage.is_some() && f.account.is_some())
        .collect();
    if logged.is_empty() {
        return None;
    }
    let covered: Vec<(&str, Option<&str>, &crate::evidence::Usage)> = logged
        .iter()
        .filter_map(|f| {
            Some((
                f.account.as_deref()?,
                f.scope.as_deref(),
                &**f.usage.as_ref()?.as_ref()?,
            ))
        })
        .collect();
    if covered.is_empty() {
        return Some(UseEvidence {
            shown: false,
            covered: false,
            sentence: format!(
                "Granskningen hade ingen åtkomstlogg för {source_name}: den visar inte om någon har tagit del av uppgifterna."
            ),
        });
    }
    let accounts: BTreeSet<&str> = covered.iter().map(|(a, _, _)| *a).collect();
    let total = total_use(&covered, source, logs);
    let used = total.accounts_used.unwrap_or(0);
    let (events, records) = (total.events, total.records);
    let day = |t: &str| t.get(..10).unwrap_or(t).to_string();
    // The logs' period; without it (a report from before the period was
    // recorded), the span of the counted events.
    let period = logs
        .and_then(LogSummary::window)
        .map(|(from, to)| (from.to_string(), to.to_string()))
        .or_else(|| Some((day(total.first.as_deref()?), day(total.last.as_deref()?))));
    let of_accounts = if accounts.len() == 1 {
        "kontot".to_string()
    } else {
        format!("de {} kontona", number_sv(accounts.len() as u64))
    };
    let logs_of = match &period {
        Some((from, to)) => format!("Loggarna för perioden {from}–{to}"),
        None => format!("Åtkomstloggarna för {source_name}"),
    };
    let sentence = if used > 0 {
        format!(
            "{logs_of} visar att {} av {of_accounts} har öppnat sammanlagt {} {} ({} {}) som de inte är behöriga till.",
            number_sv(used),
            number_sv(records),
            if records == 1 { "ärende" } else { "ärenden" },
            number_sv(events),
            if events == 1 { "händelse" } else { "händelser" },
        )
    } else {
        format!("{logs_of} visar inte att något av {of_accounts} har använt åtkomsten.")
    };
    Some(UseEvidence {
        shown: used > 0,
        covered: true,
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
/// findings when the audit kept a history, else the time of the run, else
/// the start of the audit's day (the earliest moment the audit can have
/// found it, so the deadline is never late).
fn discovery(
    input: &DraftInput<'_>,
    findings: &[&Finding],
) -> Result<(DateTime<Tz>, &'static str), DraftError> {
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
    Ok(match (earliest, input.run_time) {
        (Some(t), _) => (t, "history"),
        (None, Some(t)) => (clock::local(t), "run"),
        (None, None) => (start(input.as_of), "day"),
    })
}

fn start(date: NaiveDate) -> DateTime<Tz> {
    clock::start_of_day(date)
}
