//! Drafts of incident reports: a report to IMY (personal-data breach, GDPR
//! art. 33) and a lex Sarah report to IVO, for one data source.
//!
//! Drafts are renderers over the findings of an audit, like the outputs in
//! [`crate::output`]. What the audit and the configuration know is gathered
//! here into [`Facts`]; the kind-specific judgements live in [`imy`] and
//! [`lex_sarah`]; the wording lives in minijinja templates written once per
//! kind and rendered with one set of macros per format (Markdown or
//! self-contained HTML). Every field the tool cannot know is left as
//! `[FYLL I: …]` for a person to complete.

pub mod clock;
pub mod imy;
pub mod input;
pub mod legal;
pub mod lex_sarah;
mod render;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::Serialize;

use crate::cli::{DraftFormat, DraftKind};
use crate::config::Config;
use crate::findings::{Classification, Finding, Rule};
use crate::policy::{vocabulary, SourceMeta};

pub use legal::Legal;

/// The marker of every field a person must fill in.
pub const FILL_MARKER: &str = "FYLL I";

/// Why no draft was written.
#[derive(Debug)]
pub enum DraftError {
    /// The source has no finding of the draft's classification.
    Refused(String),
    /// A template or a value could not be rendered.
    Render(String),
}

impl std::fmt::Display for DraftError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DraftError::Refused(m) | DraftError::Render(m) => f.write_str(m),
        }
    }
}

/// Everything a draft is made from.
pub struct DraftInput<'a> {
    pub config: Option<&'a Config>,
    pub source: &'a SourceMeta,
    /// The audit's findings; those of other sources are ignored.
    pub findings: &'a [Finding],
    pub as_of: NaiveDate,
    pub legal: &'a Legal,
    /// Leave the names of affected accounts out.
    pub no_names: bool,
}

/// Renders a draft, or refuses when the source has no finding of the
/// draft's classification.
pub fn draft(
    kind: DraftKind,
    format: DraftFormat,
    input: &DraftInput<'_>,
) -> Result<String, DraftError> {
    let classification = match kind {
        DraftKind::Imy => Classification::Imy,
        DraftKind::LexSarah => Classification::LexSarah,
    };
    let findings: Vec<&Finding> = input
        .findings
        .iter()
        .filter(|f| f.data_source == input.source.id && f.classification.contains(&classification))
        .collect();
    if findings.is_empty() {
        return Err(DraftError::Refused(match kind {
            DraftKind::Imy => imy::refusal(input.source),
            DraftKind::LexSarah => lex_sarah::refusal(input.source),
        }));
    }
    let facts = Facts::gather(input, &findings)?;
    let specific = match kind {
        DraftKind::Imy => serde_json::to_value(imy::context(&facts, input.source)),
        DraftKind::LexSarah => serde_json::to_value(lex_sarah::context(&facts, input.source)),
    }
    .map_err(|e| DraftError::Render(format!("cannot prepare the draft: {e}")))?;
    render::render(kind, format, &facts, &specific, input.legal)
}

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

/// "IFO, VO och GA".
pub fn join_sv<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} och {}",
            init.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// "38 000": thousands separated by a no-break space.
pub fn number_sv(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
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
fn access_summary(findings: &[&Finding], scope_order: &dyn Fn(&str) -> usize) -> String {
    let mut by_role: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut whole = Vec::new();
    for f in findings {
        match (&f.role, &f.scope) {
            (Some(role), Some(scope)) if scope != "*" => {
                let scopes = by_role.entry(role).or_default();
                if !scopes.contains(&scope.as_str()) {
                    scopes.push(scope);
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
        .map(|(role, mut scopes)| {
            scopes.sort_by_key(|s| (scope_order(s), s.to_string()));
            format!("{role} på {}", join_sv(&scopes))
        })
        .collect();
    parts.extend(whole);
    parts.join("; ")
}

impl Facts {
    fn gather(input: &DraftInput<'_>, findings: &[&Finding]) -> Result<Facts, DraftError> {
        let source = input.source;
        let boards = input
            .config
            .map(|c| c.organization.boards.clone())
            .unwrap_or_default();
        let scope_label = |scope: &str| match boards.get(scope) {
            Some(board) => format!("{scope} ({board})"),
            None => scope.to_string(),
        };

        let (discovered, from_history) = discovery(input.as_of, findings)?;

        let accounts: BTreeSet<&str> = findings
            .iter()
            .filter_map(|f| f.account.as_deref())
            .collect();

        let count_of = |rule: Rule| {
            findings
                .iter()
                .filter(|f| f.rule == rule)
                .filter_map(|f| f.account.as_deref())
                .collect::<BTreeSet<_>>()
                .len()
        };

        // Access per scope: which roles, how many accounts.
        let mut per_scope: BTreeMap<String, (BTreeSet<String>, BTreeSet<&str>)> = BTreeMap::new();
        for f in findings {
            let (Some(role), Some(scope), Some(account)) = (&f.role, &f.scope, &f.account) else {
                continue;
            };
            for s in source.expand_scope(scope) {
                let e = per_scope.entry(s).or_default();
                e.0.insert(role.clone());
                e.1.insert(account);
            }
        }
        let scope_order = |s: &str| {
            source
                .scopes
                .iter()
                .position(|x| x == s)
                .unwrap_or(usize::MAX)
        };
        let mut scopes: Vec<ScopeFacts> = per_scope
            .iter()
            .map(|(scope, (roles, accounts))| ScopeFacts {
                scope: scope.clone(),
                label: if scope == "*" {
                    "hela källan".to_string()
                } else {
                    scope_label(scope)
                },
                roles: join_sv(&roles.iter().collect::<Vec<_>>()),
                accounts: accounts.len(),
            })
            .collect();
        scopes.sort_by_key(|s| (scope_order(&s.scope), s.scope.clone()));
        let scope_words: Vec<String> = scopes.iter().map(|s| s.label.clone()).collect();
        let scope_ids: Vec<String> = scopes.iter().map(|s| s.scope.clone()).collect();
        let all_scopes = per_scope.contains_key("*")
            || (!source.scopes.is_empty()
                && source.scopes.iter().all(|s| per_scope.contains_key(s)));

        // Accounts per path.
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
        let broad_names: BTreeSet<&str> = findings
            .iter()
            .filter(|f| f.rule == Rule::BroadGroup)
            .filter_map(|f| f.group.as_deref())
            .collect();
        let mut nestings: Vec<String> = Vec::new();
        let mut access_nestings: Vec<String> = Vec::new();
        for f in findings.iter().filter(|f| f.rule != Rule::BroadGroup) {
            for pair in f.via.windows(2) {
                let edge = format!("{} i {}", pair[0], pair[1]);
                if !nestings.contains(&edge) {
                    nestings.push(edge);
                }
            }
            if let [.., inner, outer] = f.via.as_slice() {
                let edge = format!("{inner} i {outer}");
                if !broad_names.contains(inner.as_str()) && !access_nestings.contains(&edge) {
                    access_nestings.push(edge);
                }
            }
        }
        nestings.sort();
        access_nestings.sort();

        let broad_groups: Vec<BroadGroup> = findings
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
            .collect();

        // Appendix rows: one per account and path, access joined.
        type RowKey = (String, String);
        type RowValue<'f> = (Vec<&'f Finding>, BTreeSet<&'static str>);
        let mut per_row: BTreeMap<RowKey, RowValue<'_>> = BTreeMap::new();
        type AnonKey = (Rule, String, Option<String>, usize, String);
        let mut per_anon: BTreeMap<AnonKey, BTreeSet<&str>> = BTreeMap::new();
        for f in findings {
            let Some(account) = &f.account else { continue };
            let path = path_text(&f.via);
            let access = access_text(f);
            let e = per_row
                .entry((account.to_lowercase(), path.clone()))
                .or_default();
            e.0.push(f);
            e.1.insert(f.rule.title_sv());
            let order = f.scope.as_deref().map_or(0, scope_order);
            per_anon
                .entry((f.rule, path, f.role.clone(), order, access))
                .or_default()
                .insert(account);
        }
        let display_name: BTreeMap<String, &str> = findings
            .iter()
            .filter_map(|f| f.account.as_deref())
            .map(|a| (a.to_lowercase(), a))
            .collect();
        let rows = if input.no_names {
            Vec::new()
        } else {
            per_row
                .into_iter()
                .map(|((account, path), (access, what))| AccountRow {
                    account: display_name
                        .get(&account)
                        .map(|s| s.to_string())
                        .unwrap_or(account),
                    access: access_summary(&access, &scope_order),
                    path,
                    what: what.into_iter().collect::<Vec<_>>().join("; "),
                })
                .collect()
        };
        let anonymous_rows = per_anon
            .into_iter()
            .map(|((rule, path, _, _, access), accounts)| AnonymousRow {
                what: rule.title_sv().to_string(),
                path,
                access,
                accounts: accounts.len(),
            })
            .collect();

        let mut other: BTreeMap<Rule, usize> = BTreeMap::new();
        let mut other_messages = Vec::new();
        for f in input.findings.iter().filter(|f| {
            f.data_source == source.id && !findings.iter().any(|g| std::ptr::eq(*g, *f))
        }) {
            *other.entry(f.rule).or_default() += 1;
            if !input.no_names {
                other_messages.push(f.message.clone());
            }
        }
        let counts = |m: BTreeMap<Rule, usize>| {
            m.into_iter()
                .map(|(rule, count)| Count {
                    title: rule.title_sv().to_string(),
                    rule: rule.id().to_string(),
                    count,
                })
                .collect::<Vec<_>>()
        };

        let categories = labels(vocabulary::DATA_CATEGORIES, &source.data_categories);
        let groups = labels(vocabulary::DATA_SUBJECT_GROUPS, &source.data_subject_groups);
        let special = |terms, keys: &[String]| {
            keys.iter()
                .filter_map(|k| vocabulary::lookup(terms, k))
                .any(|t| t.special)
        };

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
            source: SourceFacts {
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
                        label: scope_label(s),
                    })
                    .collect(),
            },
            as_of: clock::date_sv(input.as_of),
            discovered: clock::date_time_sv(discovered),
            discovered_from_history: from_history,
            deadline: clock::date_time_sv(clock::deadline(discovered)),
            no_names: input.no_names,
            accounts: accounts.len(),
            findings: findings.len(),
            scopes,
            scopes_text: join_sv(&scope_words),
            scope_ids_text: join_sv(&scope_ids),
            all_scopes,
            paths,
            nestings,
            access_nestings,
            only_unauthorized: findings.iter().all(|f| f.rule == Rule::UnauthorizedAccess),
            broad_groups,
            disabled: count_of(Rule::DisabledAccount),
            expired: count_of(Rule::ExpiredAccount),
            unknown: count_of(Rule::UnknownAccount),
            unauthorized: count_of(Rule::UnauthorizedAccess),
            rows,
            anonymous_rows,
            other: counts(other),
            other_messages,
            categories,
            groups,
            special_categories: special(vocabulary::DATA_CATEGORIES, &source.data_categories),
            vulnerable_subjects: special(
                vocabulary::DATA_SUBJECT_GROUPS,
                &source.data_subject_groups,
            ),
            vulnerable_groups: labels(
                vocabulary::DATA_SUBJECT_GROUPS,
                &source
                    .data_subject_groups
                    .iter()
                    .filter(|k| {
                        vocabulary::lookup(vocabulary::DATA_SUBJECT_GROUPS, k)
                            .is_some_and(|t| t.special)
                    })
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_lists_and_numbers() {
        assert_eq!(join_sv(&["IFO"]), "IFO");
        assert_eq!(join_sv(&["IFO", "VO", "GA"]), "IFO, VO och GA");
        assert_eq!(number_sv(38000), "38\u{a0}000");
        assert_eq!(number_sv(950), "950");
        assert_eq!(number_sv(1_234_567), "1\u{a0}234\u{a0}567");
    }
}
