//! Parsing one policy file: TOML with spans → validated [`Policy`].

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use chrono::NaiveDate;
use regex::{Regex, RegexBuilder};
use toml_edit::{Item, TableLike, Value};

use super::vocabulary::{self, Term};
use super::{
    Allow, CheckValue, Checks, Condition, GrantRule, Policy, Selector, Setting, SettingKind,
    SourceMeta, Test,
};
use crate::diag::{self, Diagnostic, TomlReader};
use crate::findings::{Rule, Severity};

const TOP_KEYS: &[&str] = &["source", "grant", "allow", "checks", "severity", "roles"];
const ROLE_KEYS: &[&str] = &["label"];
const SOURCE_KEYS: &[&str] = &[
    "id",
    "name",
    "controller",
    "activity",
    "confidentiality",
    "data_categories",
    "data_subject_groups",
    "estimated_data_subjects",
    "scopes",
    "owner",
];
const GRANT_KEYS: &[&str] = &["group", "role", "scope"];
const ALLOW_KEYS: &[&str] = &[
    "id",
    "role",
    "scope",
    "when",
    "member_of",
    "accounts",
    "max_accounts",
];

/// Patterns in policies are compiled with a bounded size so that a hostile
/// policy cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Parses and validates one policy file, returning every problem found.
pub fn parse_policy(file: &Path, text: &str) -> Result<Policy, Vec<Diagnostic>> {
    parse_policy_with(file, text, &mut Patterns::default())
}

/// The patterns compiled by the policies of one load, by their text.
pub type Patterns = rustc_hash::FxHashMap<String, Regex>;

/// [`parse_policy`], sharing the patterns compiled for earlier files.
pub fn parse_policy_with(
    file: &Path,
    text: &str,
    patterns: &mut Patterns,
) -> Result<Policy, Vec<Diagnostic>> {
    let doc = diag::parse_toml(file, text).map_err(|d| vec![d])?;
    let mut r = TomlReader::new(file, text);
    r.patterns = std::mem::take(patterns);
    let result = read_policy(&mut r, &doc);
    *patterns = std::mem::take(&mut r.patterns);
    result
}

fn read_policy(
    r: &mut TomlReader<'_>,
    doc: &toml_edit::ImDocument<String>,
) -> Result<Policy, Vec<Diagnostic>> {
    let root = doc.as_table();
    r.check_keys(root, TOP_KEYS, "the policy");

    let source = match root.get("source") {
        Some(item) => match item.as_table_like() {
            Some(t) => parse_source(r, t, diag::item_span(root, "source")),
            None => {
                r.error(
                    diag::item_span(root, "source"),
                    "`source` must be a table: write `[source]`",
                );
                None
            }
        },
        None => {
            r.error_help(
                Some(0..0),
                "the policy has no [source] table",
                Some("start the file with [source] and id = \"...\""),
            );
            None
        }
    };
    let scopes: Vec<String> = source
        .as_ref()
        .map(|s: &SourceMeta| s.scopes.clone())
        .unwrap_or_default();

    let grants = tables(r, root, "grant")
        .into_iter()
        .filter_map(|(t, span)| parse_grant(r, t, span, &scopes))
        .collect::<Vec<_>>();

    let mut allows = Vec::new();
    let mut allow_ids: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (t, span)) in tables(r, root, "allow").into_iter().enumerate() {
        if let Some(allow) = parse_allow(r, t, span.clone(), i, &scopes) {
            if let Some(first) = allow_ids.get(&allow.id) {
                r.error(
                    diag::item_span(t, "id").or(span),
                    format!(
                        "duplicate allow id `{}` (first used on line {first})",
                        allow.id
                    ),
                );
            } else {
                allow_ids.insert(allow.id.clone(), allow.line);
            }
            allows.push(allow);
        }
    }

    let checks = match root.get("checks") {
        None => Checks::default(),
        Some(item) => match item.as_table_like() {
            Some(t) => parse_checks(r, t),
            None => {
                r.error(
                    diag::item_span(root, "checks"),
                    "`checks` must be a table: write `[checks]`",
                );
                Checks::default()
            }
        },
    };

    let severity = match root.get("severity") {
        None => BTreeMap::new(),
        Some(item) => match item.as_table_like() {
            Some(t) => parse_severity(r, t),
            None => {
                r.error(
                    diag::item_span(root, "severity"),
                    "`severity` must be a table of rule ids: write `[severity]`",
                );
                BTreeMap::new()
            }
        },
    };

    let role_labels = match root.get("roles") {
        None => BTreeMap::new(),
        Some(item) => match item.as_table_like() {
            Some(t) => parse_roles(r, t),
            None => {
                r.error_help(
                    diag::item_span(root, "roles"),
                    "`roles` must be a table of roles",
                    Some("write `[roles.Las]` and `label = \"läsbehörighet\"` under it"),
                );
                BTreeMap::new()
            }
        },
    };

    let diagnostics = std::mem::take(&mut r.diagnostics);
    let file = r.file.clone();
    match source {
        Some(source) if diagnostics.is_empty() => Ok(Policy {
            source: SourceMeta {
                policy_file: Some(file.display().to_string()),
                role_labels,
                ..source
            },
            file,
            grants,
            allows,
            checks,
            severity,
        }),
        _ => Err(diagnostics),
    }
}

/// The tables of an array of tables (`[[grant]]`), with their spans.
fn tables<'d>(
    r: &mut TomlReader<'_>,
    root: &'d dyn TableLike,
    key: &str,
) -> Vec<(&'d dyn TableLike, Option<Range<usize>>)> {
    let Some(item) = root.get(key) else {
        return Vec::new();
    };
    if let Some(array) = item.as_array_of_tables() {
        return array
            .iter()
            .map(|t| (t as &dyn TableLike, t.span()))
            .collect();
    }
    if let Some(array) = item.as_array() {
        let mut out = Vec::new();
        for v in array.iter() {
            match v.as_inline_table() {
                Some(t) => out.push((t as &dyn TableLike, v.span())),
                None => r.error(v.span(), format!("`{key}` must list tables")),
            }
        }
        return out;
    }
    r.error_help(
        diag::item_span(root, key),
        format!("`{key}` must be a list of tables"),
        Some(format!("write `[[{key}]]` (two brackets) for each entry")),
    );
    Vec::new()
}

fn parse_source(
    r: &mut TomlReader<'_>,
    t: &dyn TableLike,
    span: Option<Range<usize>>,
) -> Option<SourceMeta> {
    r.check_keys(t, SOURCE_KEYS, "[source]");
    let ctx = "[source]";
    let id = r.required_string(t, "id", ctx, span);
    if let Some(id) = &id {
        // Letters and digits first, then also `_`, `.` and `-` (ASCII).
        let mut bytes = id.bytes();
        let valid = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
            && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !valid {
            r.error_help(
                diag::item_span(t, "id"),
                format!("source id `{id}` is not a valid id"),
                Some("use letters, digits, `_`, `-` and `.`, e.g. \"statistikdatabas\""),
            );
        }
    }
    let name = r.string(t, "name", ctx);
    let controller = r.string(t, "controller", ctx);
    let activity = r
        .string(t, "activity", ctx)
        .unwrap_or_else(|| "annan".into());
    if !vocabulary::ACTIVITIES.iter().any(|(k, _)| *k == activity) {
        let keys: Vec<&str> = vocabulary::ACTIVITIES.iter().map(|(k, _)| *k).collect();
        r.error_help(
            diag::item_span(t, "activity"),
            format!("unknown activity `{activity}`"),
            Some(match diag::suggest(&activity, keys.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("expected one of: {}", keys.join(", ")),
            }),
        );
    }
    let confidentiality = r.string(t, "confidentiality", ctx);
    let owner = r.string(t, "owner", ctx);
    let data_categories = vocabulary_list(r, t, "data_categories", vocabulary::DATA_CATEGORIES);
    let data_subject_groups =
        vocabulary_list(r, t, "data_subject_groups", vocabulary::DATA_SUBJECT_GROUPS);
    let estimated_data_subjects = r
        .integer(t, "estimated_data_subjects", ctx, 0)
        .map(|n| n as u64);
    let mut scopes = Vec::new();
    for s in r.string_list(t, "scopes", ctx).unwrap_or_default() {
        if s.value.trim().is_empty() || s.value == "*" {
            r.error(s.span, "a scope must be a name, not empty or `*`");
        } else if scopes.contains(&s.value) {
            r.error(s.span, format!("scope `{}` is listed twice", s.value));
        } else {
            scopes.push(s.value);
        }
    }
    let id = id?;
    Some(SourceMeta {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        controller,
        activity,
        confidentiality,
        data_categories,
        data_subject_groups,
        estimated_data_subjects,
        scopes,
        owner,
        policy_file: None,
        role_labels: BTreeMap::new(),
    })
}

/// `[roles.Las]` with `label = "läsbehörighet"`: how reports name a role.
fn parse_roles(r: &mut TomlReader<'_>, t: &dyn TableLike) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for (role, item) in t.iter() {
        let context = format!("[roles.{role}]");
        let Some(table) = item.as_table_like() else {
            r.error_help(
                diag::item_span(t, role),
                format!("role `{role}` must be a table"),
                Some(format!(
                    "write `[roles.{role}]` and `label = \"…\"` under it"
                )),
            );
            continue;
        };
        r.check_keys(table, ROLE_KEYS, &context);
        match r.string(table, "label", &context) {
            Some(label) if label.trim().is_empty() => r.error(
                diag::item_span(table, "label"),
                format!("the label of role `{role}` is empty"),
            ),
            Some(label) => {
                labels.insert(role.to_string(), label.trim().to_string());
            }
            None => {
                if table.get("label").is_none() {
                    r.error_help(
                        diag::item_span(t, role),
                        format!("role `{role}` has no `label`"),
                        Some("add `label = \"…\"`, the words reports use for the role"),
                    );
                }
            }
        }
    }
    labels
}

fn vocabulary_list(
    r: &mut TomlReader<'_>,
    t: &dyn TableLike,
    key: &str,
    terms: &'static [Term],
) -> Vec<String> {
    let mut out = Vec::new();
    for v in r.string_list(t, key, "[source]").unwrap_or_default() {
        match vocabulary::lookup(terms, &v.value) {
            Some(term) => {
                if !out.iter().any(|k| k == term.key) {
                    out.push(term.key.to_string());
                }
            }
            None => {
                let help = diag::suggest(&v.value, terms.iter().map(|t| t.key))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "expected one of: {}",
                            terms.iter().map(|t| t.key).collect::<Vec<_>>().join(", ")
                        )
                    });
                r.error_help(
                    v.span,
                    format!("unknown value `{}` in `{key}`", v.value),
                    Some(help),
                );
            }
        }
    }
    out
}

fn compile_regex(
    r: &mut TomlReader<'_>,
    pattern: &str,
    span: Option<Range<usize>>,
    what: &str,
) -> Option<Regex> {
    // Policies repeat patterns (the same catch-all groups in every file):
    // each is compiled once per load, and the copies share it.
    if let Some(re) = r.patterns.get(pattern) {
        return Some(re.clone());
    }
    match RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(re) => {
            r.patterns.insert(pattern.to_string(), re.clone());
            Some(re)
        }
        Err(e) => {
            let detail = e.to_string();
            let last = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid pattern")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            r.error(span, format!("bad regex in {what} `{pattern}`: {last}"));
            None
        }
    }
}

fn check_scope_value(
    r: &mut TomlReader<'_>,
    scopes: &[String],
    value: &str,
    span: Option<Range<usize>>,
) {
    if value == "*" || scopes.is_empty() || scopes.iter().any(|s| s == value) {
        return;
    }
    let help = diag::suggest(value, scopes.iter().map(String::as_str))
        .map(|s| format!("did you mean `{s}`?"))
        .unwrap_or_else(|| format!("[source] scopes are: {}", scopes.join(", ")));
    r.error_help(
        span,
        format!("scope `{value}` is not one of the source's scopes"),
        Some(help),
    );
}

fn parse_grant(
    r: &mut TomlReader<'_>,
    t: &dyn TableLike,
    span: Option<Range<usize>>,
    scopes: &[String],
) -> Option<GrantRule> {
    r.check_keys(t, GRANT_KEYS, "[[grant]]");
    let line = r.line_of(span.clone());
    let pattern = r.required_string(t, "group", "[[grant]]", span.clone());
    let role = r.string(t, "role", "[[grant]]");
    let scope = r.string(t, "scope", "[[grant]]");
    if let Some(s) = &scope {
        check_scope_value(r, scopes, s, diag::item_span(t, "scope"));
    }
    let pattern = pattern?;
    let regex = compile_regex(r, &pattern, diag::item_span(t, "group"), "`group`")?;
    let names: Vec<&str> = regex.capture_names().flatten().collect();
    if role.is_none() && !names.contains(&"role") {
        r.error_help(
            diag::item_span(t, "group").or(span),
            "this grant gives no role",
            Some("add `role = \"...\"` or a `(?P<role>...)` capture to the pattern"),
        );
        return None;
    }
    Some(GrantRule::new(regex, role, scope, line))
}

fn selector(
    r: &mut TomlReader<'_>,
    t: &dyn TableLike,
    key: &str,
    scopes: Option<&[String]>,
) -> Selector {
    let Some(values) = r.string_list(t, key, "[[allow]]") else {
        return Selector::Any;
    };
    if values.iter().any(|v| v.value == "*") {
        return Selector::Any;
    }
    if let Some(scopes) = scopes {
        for v in &values {
            check_scope_value(r, scopes, &v.value, v.span.clone());
        }
    }
    Selector::Values(values.into_iter().map(|v| v.value).collect())
}

fn parse_allow(
    r: &mut TomlReader<'_>,
    t: &dyn TableLike,
    span: Option<Range<usize>>,
    index: usize,
    scopes: &[String],
) -> Option<Allow> {
    r.check_keys(t, ALLOW_KEYS, "[[allow]]");
    let line = r.line_of(span.clone().or_else(|| first_key_span(t)));
    let id = r
        .string(t, "id", "[[allow]]")
        .unwrap_or_else(|| format!("allow-{}", index + 1));
    let role = selector(r, t, "role", None);
    let scope = selector(r, t, "scope", Some(scopes));
    let mut when = Vec::new();
    if let Some(item) = t.get("when") {
        match item.as_table_like() {
            Some(wt) => {
                let keys: Vec<String> = wt.iter().map(|(k, _)| k.to_string()).collect();
                for key in keys {
                    if let Some(c) = parse_condition(r, wt, &key) {
                        when.push(c);
                    }
                }
            }
            None => r.error_help(
                diag::item_span(t, "when"),
                "`when` must be a table of attribute conditions",
                Some("write `when.department = \"{scope}\"`"),
            ),
        }
    }
    let member_of = r
        .string_list(t, "member_of", "[[allow]]")
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect();
    let accounts = r
        .string_list(t, "accounts", "[[allow]]")
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect();
    let max_accounts = r
        .integer(t, "max_accounts", "[[allow]]", 0)
        .map(|n| n as u64);
    Some(Allow {
        id,
        role,
        scope,
        when,
        member_of,
        accounts,
        max_accounts,
        line,
    })
}

fn first_key_span(t: &dyn TableLike) -> Option<Range<usize>> {
    t.iter()
        .find_map(|(k, _)| t.get_key_value(k).and_then(|(key, _)| key.span()))
}

fn check_template(r: &mut TomlReader<'_>, value: &str, span: Option<Range<usize>>) {
    let mut rest = value;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            r.error_help(
                span,
                format!("unclosed `{{` in `{value}`"),
                Some("templates are `{scope}` and `{role}`"),
            );
            return;
        };
        let name = &after[..end];
        if name != "scope" && name != "role" {
            r.error_help(
                span.clone(),
                format!("unknown template `{{{name}}}` in `{value}`"),
                Some("templates are `{scope}` and `{role}`"),
            );
        }
        rest = &after[end + 1..];
    }
}

fn parse_condition(r: &mut TomlReader<'_>, wt: &dyn TableLike, key: &str) -> Option<Condition> {
    let item = wt.get(key)?;
    let span = diag::item_span(wt, key);
    let line = r.line_of(diag::key_span(wt, key));
    let attribute = key.to_lowercase();
    let test = match item {
        Item::Value(Value::String(s)) => {
            check_template(r, s.value(), span);
            Test::AnyOf(vec![s.value().clone()])
        }
        Item::Value(Value::Boolean(b)) => Test::Bool(*b.value()),
        Item::Value(Value::Integer(n)) => Test::AnyOf(vec![n.value().to_string()]),
        Item::Value(Value::Datetime(d)) => match d.value().date {
            Some(date) => match NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            ) {
                Some(nd) => Test::Date(nd),
                None => {
                    r.error(span, "invalid date");
                    return None;
                }
            },
            None => {
                r.error(span, "a date condition needs a date (YYYY-MM-DD)");
                return None;
            }
        },
        Item::Value(Value::Array(_)) => {
            let values = r.string_list(wt, key, "`when`")?;
            if values.is_empty() {
                r.error(span, format!("`when.{key}` lists no values"));
                return None;
            }
            for v in &values {
                check_template(r, &v.value, v.span.clone());
            }
            Test::AnyOf(values.into_iter().map(|v| v.value).collect())
        }
        _ => match item.as_table_like() {
            Some(inner) => {
                r.check_keys(inner, &["regex"], &format!("`when.{key}`"));
                let pattern = r.required_string(inner, "regex", &format!("`when.{key}`"), span)?;
                let re = compile_regex(
                    r,
                    &pattern,
                    diag::item_span(inner, "regex"),
                    &format!("`when.{key}`"),
                )?;
                Test::Regex(re)
            }
            None => {
                r.error(
                    span,
                    format!(
                        "`when.{key}` must be a string, a list of strings or {{ regex = \"...\" }}"
                    ),
                );
                return None;
            }
        },
    };
    Some(Condition {
        attribute,
        test,
        line,
    })
}

/// Every `[checks]` key some rule declares, read by its kind.
fn parse_checks(r: &mut TomlReader<'_>, t: &dyn TableLike) -> Checks {
    let settings: Vec<&'static Setting> = Rule::ALL
        .iter()
        .flat_map(|rule| rule.def().settings.iter().copied())
        .collect();
    let keys: Vec<&str> = settings.iter().map(|s| s.key).collect();
    r.check_keys(t, &keys, "[checks]");
    let ctx = "[checks]";
    let mut checks = Checks::default();
    for setting in settings {
        let key = setting.key;
        let value = match setting.kind {
            SettingKind::Flag(_) => r.bool(t, key, ctx).map(CheckValue::Flag),
            SettingKind::Days => r
                .integer(t, key, ctx, 1)
                .map(|n| CheckValue::Days(n.min(i64::from(u32::MAX)) as u32)),
            SettingKind::Patterns => r.string_list(t, key, ctx).map(|list| {
                let what = format!("`{key}`");
                CheckValue::Patterns(
                    list.into_iter()
                        .filter_map(|p| compile_regex(r, &p.value, p.span, &what))
                        .collect(),
                )
            }),
            SettingKind::RoleSets => role_sets(r, t, key).map(CheckValue::RoleSets),
        };
        if let Some(value) = value {
            checks.set(setting, value);
        }
    }
    checks
}

/// A list of role lists (`[["Admin", "Las"]]`), each of at least two
/// different roles; `None` when the key is absent.
fn role_sets(r: &mut TomlReader<'_>, t: &dyn TableLike, key: &str) -> Option<Vec<Vec<String>>> {
    let item = t.get(key)?;
    let span = diag::item_span(t, key);
    let help = Some("write a list of role lists: [[\"Admin\", \"Las\"]]");
    let mut sets = Vec::new();
    match item.as_array() {
        Some(array) => {
            for set in array.iter() {
                let roles: Option<Vec<String>> = set.as_array().and_then(|a| {
                    a.iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                });
                match roles {
                    Some(roles) => {
                        let distinct: BTreeSet<&String> = roles.iter().collect();
                        if distinct.len() < 2 {
                            r.error_help(
                                set.span(),
                                "a separation of duties needs at least two different roles",
                                help,
                            );
                        } else {
                            sets.push(roles);
                        }
                    }
                    None => r.error_help(
                        set.span(),
                        format!("`{key}` must list lists of role names"),
                        help,
                    ),
                }
            }
        }
        None => r.error_help(span, format!("`{key}` must be a list of role lists"), help),
    }
    Some(sets)
}

fn parse_severity(r: &mut TomlReader<'_>, t: &dyn TableLike) -> BTreeMap<Rule, Severity> {
    let mut out = BTreeMap::new();
    let keys: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
    for key in keys {
        let Some(rule) = Rule::from_id(&key) else {
            let help = diag::suggest(&key, Rule::ALL.iter().map(|r| r.id()))
                .map(|s| format!("did you mean `{s}`?"));
            r.error_help(
                diag::key_span(t, &key),
                format!("unknown rule `{key}` in [severity]"),
                help,
            );
            continue;
        };
        let Some(value) = r.string(t, &key, "[severity]") else {
            continue;
        };
        match Severity::from_id(&value) {
            Some(s) => {
                out.insert(rule, s);
            }
            None => r.error_help(
                diag::item_span(t, &key),
                format!("unknown severity `{value}`"),
                Some("expected one of: critical, high, medium, low"),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, Vec<Diagnostic>> {
        parse_policy(Path::new("p.toml"), text)
    }

    #[test]
    fn source_ids_are_letters_digits_and_a_few_marks() {
        let text = |id: &str| {
            format!("[source]\nid = \"{id}\"\nactivity = \"socialtjanst\"\ndata_categories = [\"halsa\"]\n")
        };
        let invalid = |id: &str| {
            parse(&text(id)).err().is_some_and(|errors| {
                errors
                    .iter()
                    .any(|d| d.to_string().contains("is not a valid id"))
            })
        };
        for id in ["statistik", "Sys01", "ifo.bistand-2_a", "0"] {
            assert!(!invalid(id), "{id} is valid");
        }
        for id in ["-x", ".x", "_x", "a b", "a/b", "bistånd", "å"] {
            assert!(invalid(id), "{id} is not valid");
        }
    }

    #[test]
    fn collects_every_problem_in_one_pass() {
        let errors = parse(
            r#"[source]
id = "x"
activity = "socialtjänst"
data_categories = ["halsa", "hälsodata"]

[[grant]]
group = '^SG-(?P<scope'
role = "Las"

[[allow]]
scoep = "*"
"#,
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(|d| d.to_string()).collect();
        assert_eq!(errors.len(), 4, "{text:#?}");
        assert!(
            text[0].starts_with("p.toml:3:12: unknown activity"),
            "{text:#?}"
        );
        assert!(text[1].starts_with("p.toml:4:29: unknown value `hälsodata`"));
        assert!(text[2].starts_with("p.toml:7:9: bad regex"));
        assert!(text[3].starts_with("p.toml:11:1: unknown key `scoep`"));
        assert!(text[3].contains("did you mean `scope`?"));
    }

    #[test]
    fn roles_have_labels_that_reports_use() {
        let p = parse(
            r#"[source]
id = "s"

[roles.Las]
label = " läsbehörighet "

[roles."Läs och ändra"]
label = "behörighet att läsa och ändra"
"#,
        )
        .unwrap();
        assert_eq!(p.source.role_label("Las"), "läsbehörighet");
        assert_eq!(
            p.source.role_label("Läs och ändra"),
            "behörighet att läsa och ändra"
        );
        // A role without a label keeps its id.
        assert_eq!(p.source.role_label("Admin"), "Admin");
    }

    #[test]
    fn role_label_problems_are_all_reported_at_their_place() {
        let errors = parse(
            r#"[source]
id = "s"

[roles.Las]
lable = "läsbehörighet"

[roles.Admin]
label = 3

[roles]
Andra = "ändra"
"#,
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(|d| d.to_string()).collect();
        assert_eq!(errors.len(), 4, "{text:#?}");
        assert!(
            text.iter().any(
                |t| t.starts_with("p.toml:5:1: unknown key `lable` in [roles.Las]")
                    && t.contains("did you mean `label`?")
            ),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|t| t.contains("role `Las` has no `label`")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("p.toml:8:") && t.contains("must be a string")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("p.toml:11:") && t.contains("role `Andra` must be a table")),
            "{text:#?}"
        );
    }

    #[test]
    fn grant_captures_fill_role_and_scope() {
        let p = parse(
            r#"[source]
id = "s"
scopes = ["IFO", "VO"]
[[grant]]
group = '^SG-(?P<scope>IFO|VO)-(?P<role>Las|Admin)$'
[[grant]]
group = '^SG-Alla$'
role = "Las"
scope = "*"
"#,
        )
        .unwrap();
        assert_eq!(
            p.grants[0].matches("SG-VO-Admin"),
            Some(("Admin".into(), "VO".into()))
        );
        assert_eq!(p.grants[0].matches("SG-GA-Admin"), None);
        assert_eq!(
            p.grants[1].matches("SG-Alla"),
            Some(("Las".into(), "*".into()))
        );
    }

    #[test]
    fn unknown_template_and_scope_are_errors() {
        let errors = parse(
            r#"[source]
id = "s"
scopes = ["IFO"]
[[allow]]
scope = "IF0"
when.department = "{scop}"
"#,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].message.contains("scope `IF0`"));
        assert!(errors[1].message.contains("unknown template `{scop}`"));
    }
}
