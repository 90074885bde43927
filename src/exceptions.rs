//! Exceptions: documented, time-limited acceptances of findings, read from a
//! TOML file of `[[exception]]` tables. They sit between evaluation and the
//! report: a finding that a valid exception matches moves from `findings` to
//! `excepted` and no longer counts for `--fail-on`.
//!
//! Expiry: an exception is valid through its `expires` date (inclusive) and
//! has expired when the audit's as-of date is later. One whose last valid
//! day is at most [`EXPIRING_DAYS`] days after the as-of date is flagged as
//! expiring soon.

use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde_json::{json, Value};
use toml_edit::{Item, TableLike};

use crate::diag::{self, Diagnostic, TomlReader};
use crate::findings::{Finding, Rule};

/// An exception expiring within this many days is flagged.
pub const EXPIRING_DAYS: i64 = 14;

const TOP_KEYS: &[&str] = &["exception"];
const MATCH_KEYS: &[&str] = &["rule", "data_source", "account", "group", "role", "scope"];
const EXCEPTION_KEYS: &[&str] = &[
    "rule",
    "data_source",
    "account",
    "group",
    "role",
    "scope",
    "reason",
    "approved_by",
    "expires",
];

/// One validated `[[exception]]`.
#[derive(Debug, Clone)]
pub struct Exception {
    pub file: PathBuf,
    pub line: usize,
    pub rule: Option<Rule>,
    pub data_source: Option<String>,
    pub account: Option<String>,
    pub group: Option<String>,
    pub role: Option<String>,
    pub scope: Option<String>,
    pub reason: String,
    pub approved_by: String,
    /// The last day the exception applies.
    pub expires: NaiveDate,
}

fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

impl Exception {
    /// Whether every key the exception gives matches the finding. A key
    /// that the finding does not have (an account on a group finding)
    /// never matches.
    pub fn matches(&self, f: &Finding) -> bool {
        let opt = |want: &Option<String>, have: Option<&str>, fold: bool| match want {
            None => true,
            Some(w) => have.is_some_and(|h| {
                if fold {
                    same(w, h)
                } else {
                    w.trim() == h.trim()
                }
            }),
        };
        self.rule.is_none_or(|r| r == f.rule)
            && opt(&self.data_source, Some(&f.data_source), false)
            && opt(&self.account, f.account.as_deref(), true)
            && opt(&self.group, f.group.as_deref(), true)
            && opt(&self.scope, f.scope.as_deref(), false)
            && match &self.role {
                None => true,
                Some(w) => {
                    f.role.as_deref().is_some_and(|r| r == w.trim())
                        || f.roles.iter().any(|r| r == w.trim())
                }
            }
    }

    /// Days from `as_of` to the last valid day: negative once expired.
    pub fn days_left(&self, as_of: NaiveDate) -> i64 {
        (self.expires - as_of).num_days()
    }

    pub fn is_expired(&self, as_of: NaiveDate) -> bool {
        self.days_left(as_of) < 0
    }

    /// `file:line`, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }

    /// What the exception matches, as `key = value` pairs.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = self.rule {
            parts.push(format!("rule = \"{r}\""));
        }
        for (k, v) in [
            ("data_source", &self.data_source),
            ("account", &self.account),
            ("group", &self.group),
            ("role", &self.role),
            ("scope", &self.scope),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k} = \"{v}\""));
            }
        }
        parts.join(", ")
    }
}

/// How one exception fared in an audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Valid, and it matched at least one finding.
    Active,
    /// Valid, but it matched nothing.
    Unused,
    /// Past its `expires` date: it no longer applies.
    Expired,
}

impl Outcome {
    pub fn id(self) -> &'static str {
        match self {
            Outcome::Active => "active",
            Outcome::Unused => "unused",
            Outcome::Expired => "expired",
        }
    }
}

/// One exception with what it did in this audit.
#[derive(Debug, Clone)]
pub struct ExceptionUse {
    pub exception: Exception,
    pub outcome: Outcome,
    pub days_left: i64,
    pub expiring_soon: bool,
    /// Ids of the findings it matched (for an expired one: would have
    /// matched; those findings stay in `findings`).
    pub findings: Vec<String>,
}

impl ExceptionUse {
    pub fn to_json(&self) -> Value {
        let e = &self.exception;
        json!({
            "file": e.file.display().to_string(),
            "line": e.line,
            "rule": e.rule.map(|r| r.id()),
            "data_source": e.data_source,
            "account": e.account,
            "group": e.group,
            "role": e.role,
            "scope": e.scope,
            "reason": e.reason,
            "approved_by": e.approved_by,
            "expires": e.expires.to_string(),
            "status": self.outcome.id(),
            "days_left": self.days_left,
            "expiring_soon": self.expiring_soon,
            "findings": self.findings,
        })
    }

    /// A line for standard error when the exception needs attention.
    pub fn warning(&self) -> Option<String> {
        let e = &self.exception;
        let n = self.findings.len();
        match self.outcome {
            Outcome::Expired => Some(format!(
                "{}: the exception ({}) expired on {}: it no longer applies{}",
                e.location(),
                e.describe(),
                e.expires,
                if n == 0 {
                    String::new()
                } else {
                    format!(" and {n} finding(s) count again")
                }
            )),
            Outcome::Unused => Some(format!(
                "{}: the exception ({}) matched no finding: remove it if the deviation is gone, or check its keys",
                e.location(),
                e.describe()
            )),
            Outcome::Active if self.expiring_soon => Some(format!(
                "{}: the exception ({}) expires on {} ({}): renew it or fix the {} finding(s) it covers",
                e.location(),
                e.describe(),
                e.expires,
                match self.days_left {
                    0 => "today is its last day".to_string(),
                    1 => "in 1 day".to_string(),
                    d => format!("in {d} days"),
                },
                n
            )),
            Outcome::Active => None,
        }
    }
}

/// Moves the findings that a valid exception matches out of `findings`;
/// returns them and what every exception did. The first valid exception in
/// the file that matches a finding is the one it is excepted by; any other
/// valid one that matches it counts as used too.
pub fn apply(
    exceptions: &[Exception],
    findings: &mut Vec<Finding>,
    as_of: NaiveDate,
) -> (Vec<Finding>, Vec<ExceptionUse>) {
    let mut uses: Vec<ExceptionUse> = exceptions
        .iter()
        .map(|e| {
            let days_left = e.days_left(as_of);
            ExceptionUse {
                exception: e.clone(),
                outcome: if days_left < 0 {
                    Outcome::Expired
                } else {
                    Outcome::Unused
                },
                days_left,
                expiring_soon: (0..=EXPIRING_DAYS).contains(&days_left),
                findings: Vec::new(),
            }
        })
        .collect();
    let mut kept = Vec::new();
    let mut excepted = Vec::new();
    for f in findings.drain(..) {
        let mut covered = false;
        for u in uses.iter_mut() {
            if u.exception.matches(&f) {
                u.findings.push(f.id.clone());
                if u.outcome != Outcome::Expired {
                    u.outcome = Outcome::Active;
                    covered = true;
                }
            }
        }
        if covered {
            excepted.push(f);
        } else {
            kept.push(f);
        }
    }
    *findings = kept;
    (excepted, uses)
}

/// The exception that excepts a finding: the first valid one that matches.
pub fn exception_for<'a>(uses: &'a [ExceptionUse], finding_id: &str) -> Option<&'a ExceptionUse> {
    uses.iter()
        .find(|u| u.outcome != Outcome::Expired && u.findings.iter().any(|id| id == finding_id))
}

/// Reads and validates an exceptions file, returning every problem found.
pub fn load(file: &Path) -> Result<Vec<Exception>, Vec<Diagnostic>> {
    let text = crate::text::read_bounded(file, crate::text::MAX_EXCEPTIONS_BYTES).map_err(|e| {
        vec![Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            col: 0,
            message: format!("cannot read the exceptions file: {e}"),
            help: Some("give an existing file with --exceptions or `exceptions` under [audit] in behorig.toml".into()),
        }]
    })?;
    parse(file, &text)
}

pub fn parse(file: &Path, text: &str) -> Result<Vec<Exception>, Vec<Diagnostic>> {
    let doc = diag::parse_toml(file, text).map_err(|d| vec![d])?;
    let mut r = TomlReader::new(file, text);
    let root = doc.as_table();
    r.check_keys(root, TOP_KEYS, "the exceptions file");
    let mut out = Vec::new();
    match root.get("exception") {
        None => {}
        Some(item) => {
            if let Some(array) = item.as_array_of_tables() {
                for t in array.iter() {
                    if let Some(e) = parse_one(&mut r, t, t.span()) {
                        out.push(e);
                    }
                }
            } else {
                r.error_help(
                    diag::item_span(root, "exception"),
                    "`exception` must be a list of tables",
                    Some("write `[[exception]]` (two brackets) for each exception"),
                );
            }
        }
    }
    r.into_result().map(|_| out)
}

fn parse_one(
    r: &mut TomlReader<'_>,
    t: &dyn TableLike,
    span: Option<Range<usize>>,
) -> Option<Exception> {
    let ctx = "[[exception]]";
    r.check_keys(t, EXCEPTION_KEYS, ctx);
    let line = r.line_of(span.clone());
    let rule = match r.string(t, "rule", ctx) {
        None => None,
        Some(id) => match Rule::from_id(id.trim()) {
            Some(rule) => Some(rule),
            None => {
                let ids = Rule::ALL.map(Rule::id);
                let help = diag::suggest(id.trim(), ids)
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("expected one of: {}", ids.join(", ")));
                r.error_help(
                    diag::item_span(t, "rule"),
                    format!("unknown rule `{id}`"),
                    Some(help),
                );
                None
            }
        },
    };
    let text = |r: &mut TomlReader<'_>, key: &str| -> Option<String> {
        let v = r.string(t, key, ctx)?;
        if v.trim().is_empty() {
            r.error(
                diag::item_span(t, key),
                format!("`{key}` in {ctx} is empty"),
            );
            return None;
        }
        Some(v.trim().to_string())
    };
    let data_source = text(r, "data_source");
    let account = text(r, "account");
    let group = text(r, "group");
    let role = text(r, "role");
    let scope = text(r, "scope");
    if !MATCH_KEYS.iter().any(|k| t.get(k).is_some()) {
        r.error_help(
            span.clone(),
            "this exception matches every finding: it names none of rule, data_source, account, group, role, scope",
            Some("add at least one of them, e.g. `account = \"...\"` and `rule = \"...\"`"),
        );
    }
    let required = |r: &mut TomlReader<'_>, key: &str, example: &str| -> Option<String> {
        if t.get(key).is_none() {
            r.error_help(
                span.clone(),
                format!("{ctx} has no `{key}`"),
                Some(format!(
                    "every exception is documented: add `{key} = {example}`"
                )),
            );
            return None;
        }
        text(r, key)
    };
    let reason = required(r, "reason", "\"why the access is accepted\"");
    let approved_by = required(r, "approved_by", "\"who decided it\"");
    let expires = match t.get("expires") {
        None => {
            r.error_help(
                span.clone(),
                format!("{ctx} has no `expires`"),
                Some("every exception is time-limited: add `expires = 2026-12-31` (the last day it applies)"),
            );
            None
        }
        Some(item) => date(r, t, item),
    };
    Some(Exception {
        file: r.file.clone(),
        line,
        rule: match (rule, t.get("rule")) {
            (None, Some(_)) => return None,
            (rule, _) => rule,
        },
        data_source,
        account,
        group,
        role,
        scope,
        reason: reason?,
        approved_by: approved_by?,
        expires: expires?,
    })
}

/// `expires`: a TOML date (`2026-12-31`) or the same as a string.
fn date(r: &mut TomlReader<'_>, t: &dyn TableLike, item: &Item) -> Option<NaiveDate> {
    let span = diag::item_span(t, "expires");
    let help = Some("write the last day the exception applies, e.g. `expires = 2026-12-31`");
    if let Some(d) = item.as_value().and_then(|v| v.as_datetime()) {
        return match (d.date, d.time) {
            (Some(date), None) => {
                let nd = NaiveDate::from_ymd_opt(
                    i32::from(date.year),
                    u32::from(date.month),
                    u32::from(date.day),
                );
                if nd.is_none() {
                    r.error_help(span, format!("`{d}` is not a valid date"), help);
                }
                nd
            }
            _ => {
                r.error_help(
                    span,
                    format!("`expires` must be a date without a time, found `{d}`"),
                    help,
                );
                None
            }
        };
    }
    if let Some(s) = item.as_str() {
        return match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                r.error_help(span, format!("`{s}` is not a date"), help);
                None
            }
        };
    }
    r.error_help(
        span,
        format!(
            "`expires` in [[exception]] must be a date, found {}",
            diag::type_name(item)
        ),
        help,
    );
    None
}

/// Formats diagnostics of the exceptions file the way policy problems are
/// shown: each as `file:line:col: message`, then a count.
pub fn format_diagnostics(ds: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in ds.iter().enumerate() {
        if i > 0 {
            out.push_str("error: ");
        }
        out.push_str(&d.to_string());
        out.push('\n');
    }
    out.push_str(&format!(
        "{} problem{} in the exceptions file",
        ds.len(),
        if ds.len() == 1 { "" } else { "s" }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<Exception>, Vec<Diagnostic>> {
        parse(Path::new("undantag.toml"), text)
    }

    #[test]
    fn reports_every_problem_with_positions() {
        let text = r#"[[exception]]
rule = "sod-conflikt"
acount = "adm-statdb2"
reason = "Migrering"
expires = 2026-12-31

[[exception]]
reason = "x"
approved_by = "y"
expires = "31/12"
"#;
        let Err(ds) = parse_text(text) else {
            panic!("the file has errors");
        };
        let shown: Vec<String> = ds.iter().map(|d| d.to_string()).collect();
        let all = shown.join("\n");
        assert!(
            all.contains("undantag.toml:2:8: unknown rule `sod-conflikt`"),
            "{all}"
        );
        assert!(all.contains("did you mean `sod-conflict`?"), "{all}");
        assert!(
            all.contains("undantag.toml:3:1: unknown key `acount`"),
            "{all}"
        );
        assert!(all.contains("did you mean `account`?"), "{all}");
        assert!(
            all.contains("undantag.toml:1:1: [[exception]] has no `approved_by`"),
            "{all}"
        );
        assert!(
            all.contains("undantag.toml:7:1: this exception matches every finding"),
            "{all}"
        );
        assert!(
            all.contains("undantag.toml:10:11: `31/12` is not a date"),
            "{all}"
        );
        assert_eq!(ds.len(), 5, "{all}");
    }

    #[test]
    fn valid_through_the_expiry_date() {
        let list = parse_text(
            "[[exception]]\naccount = \"a\"\nreason = \"r\"\napproved_by = \"p\"\nexpires = 2026-03-10\n",
        )
        .unwrap_or_default();
        assert_eq!(list.len(), 1);
        let e = &list[0];
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d).unwrap_or_default();
        assert!(!e.is_expired(day(10)));
        assert!(e.is_expired(day(11)));
        assert_eq!(e.days_left(day(1)), 9);
    }
}
