//! What the review outputs (HTML, Markdown, SARIF) say about a finding in
//! words: its subject, the access it is about, its evidence path, and the
//! groups of findings that read better as one line than as many rows.

use std::collections::BTreeMap;

use crate::exceptions::Outcome;
use crate::findings::{Finding, Rule, Severity};
use crate::report::Report;

/// Fewer findings than this through one group are shown row by row only.
pub const AGGREGATE_MIN: usize = 5;

/// `N kritiska, N höga, ...` for the severities present.
pub fn severity_counts(findings: &[&Finding]) -> String {
    Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.severity == *s).count();
            let word = if n == 1 { s.label_sv() } else { s.plural_sv() };
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who the finding is about: the account, the group, or the allow rule.
pub fn subject(f: &Finding) -> String {
    match (&f.account, &f.group) {
        (Some(a), _) => a.clone(),
        (None, Some(g)) => g.clone(),
        (None, None) => f
            .allow
            .as_ref()
            .map(|a| format!("regel {a}"))
            .unwrap_or_default(),
    }
}

/// What kind of subject [`subject`] names, in Swedish (an allow rule
/// already says so in its name).
pub fn subject_kind(f: &Finding) -> &'static str {
    match (&f.account, &f.group) {
        (Some(_), _) => "konto",
        (None, Some(_)) => "grupp",
        _ => "",
    }
}

/// The access in words: "Las på VO", "Admin + Las", "Avlyssna, 200 konton".
pub fn access(f: &Finding) -> String {
    let mut parts = Vec::new();
    match (&f.role, &f.scope) {
        (Some(r), Some(s)) if s != "*" => parts.push(format!("{r} på {s}")),
        (Some(r), _) => parts.push(r.clone()),
        (None, _) if !f.roles.is_empty() => parts.push(f.roles.join(" + ")),
        (None, _) => {}
    }
    if let Some(n) = f.accounts {
        parts.push(format!("{n} konton"));
    }
    parts.join(", ")
}

/// One step of the evidence path, from the subject to the rule.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    /// "Konto", "Grupp", "Tilldelning", "Regel".
    pub kind: &'static str,
    pub text: String,
}

/// The evidence path: account → group → … → grant → rule.
pub fn path(f: &Finding) -> Vec<Step> {
    let mut steps = Vec::new();
    match (&f.account, &f.group) {
        (Some(a), _) => steps.push(Step {
            kind: "Konto",
            text: a.clone(),
        }),
        (None, Some(_)) if f.via.is_empty() => {}
        (None, Some(g)) if f.via.first() != Some(g) => steps.push(Step {
            kind: "Grupp",
            text: g.clone(),
        }),
        _ => {}
    }
    for g in &f.via {
        steps.push(Step {
            kind: "Grupp",
            text: g.clone(),
        });
    }
    if let Some(g) = &f.grant {
        steps.push(Step {
            kind: "Tilldelning",
            text: g.clone(),
        });
    }
    steps.push(Step {
        kind: "Regel",
        text: format!("{} ({})", f.rule.id(), f.rule.title_sv()),
    });
    steps
}

/// Many findings that share a source, role, scope and the group they come
/// through: "Alla anställda ger Avlyssna på Röstbrevlådor till 196 konton".
#[derive(Debug, Clone, serde::Serialize)]
pub struct Aggregate {
    /// Stable within one report: `grupp-1`, `grupp-2`, ...
    pub key: String,
    pub data_source: String,
    pub source_name: String,
    pub group: String,
    pub role: String,
    pub scope: String,
    pub count: usize,
    pub severity: Severity,
    pub severity_label: &'static str,
    /// The sentence a reader sees.
    pub text: String,
    /// The ids of the findings it sums up.
    #[serde(skip)]
    pub findings: Vec<String>,
}

/// The group a finding's access comes through, for aggregation: a catch-all
/// group on the path when there is one (it explains the most), else the
/// group that holds the grant.
fn carrier<'a>(f: &'a Finding, broad: &[&str]) -> Option<&'a str> {
    f.via
        .iter()
        .find(|g| broad.contains(&g.as_str()))
        .or_else(|| f.via.last())
        .map(String::as_str)
}

/// Groups `unauthorized-access` findings by source, role, scope and carrying
/// group; only groups of at least [`AGGREGATE_MIN`] findings are returned,
/// largest first.
pub fn aggregates(report: &Report) -> Vec<Aggregate> {
    let broad: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule == Rule::BroadGroup)
        .filter_map(|f| f.group.as_deref())
        .collect();
    let mut groups: BTreeMap<(usize, &str, &str, &str, &str), Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        if f.rule != Rule::UnauthorizedAccess {
            continue;
        }
        let Some(group) = carrier(f, &broad) else {
            continue;
        };
        let order = report
            .sources
            .iter()
            .position(|s| s.id == f.data_source)
            .unwrap_or(usize::MAX);
        let key = (
            order,
            f.data_source.as_str(),
            group,
            f.role.as_deref().unwrap_or(""),
            f.scope.as_deref().unwrap_or(""),
        );
        groups.entry(key).or_default().push(f);
    }
    let mut out: Vec<Aggregate> = groups
        .into_iter()
        .filter(|(_, fs)| fs.len() >= AGGREGATE_MIN)
        .map(|((_, source, group, role, scope), fs)| {
            let source_name = report
                .source(source)
                .map(|s| s.name.clone())
                .unwrap_or_else(|| source.to_string());
            let on = if scope.is_empty() || scope == "*" {
                String::new()
            } else {
                format!(" ({scope})")
            };
            let severity = fs.iter().map(|f| f.severity).max().unwrap_or(Severity::Low);
            let text = format!(
                "{group} ger {role}{on} på {source_name} till {} konton",
                fs.len()
            );
            Aggregate {
                key: String::new(),
                data_source: source.to_string(),
                source_name,
                group: group.to_string(),
                role: role.to_string(),
                scope: scope.to_string(),
                count: fs.len(),
                severity,
                severity_label: severity.label_sv(),
                text,
                findings: fs.iter().map(|f| f.id.clone()).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.text.cmp(&b.text))
    });
    for (i, a) in out.iter_mut().enumerate() {
        a.key = format!("grupp-{}", i + 1);
    }
    out
}

/// Exceptions to look at (expired, unused, or soon to expire), each as
/// (where it is written, what it covers, what is the matter).
pub fn exception_note_parts(report: &Report) -> Vec<(String, String, String)> {
    let Some(uses) = &report.exceptions else {
        return Vec::new();
    };
    uses.iter()
        .filter_map(|u| {
            let e = &u.exception;
            let what = match u.outcome {
                Outcome::Expired => format!(
                    "gick ut {}: gäller inte längre ({} fynd räknas igen)",
                    e.expires,
                    u.findings.len()
                ),
                Outcome::Unused => "matchade inget fynd: ta bort det eller rätta nycklarna".into(),
                Outcome::Active if u.expiring_soon => {
                    format!("går ut {} ({} dagar kvar)", e.expires, u.days_left)
                }
                Outcome::Active => return None,
            };
            Some((e.location(), e.describe(), what))
        })
        .collect()
}

/// Exceptions to look at, one line each.
pub fn exception_notes(report: &Report) -> Vec<String> {
    exception_note_parts(report)
        .into_iter()
        .map(|(at, covers, what)| format!("{at} {covers}: {what}"))
        .collect()
}
