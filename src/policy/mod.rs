//! Policies: one TOML file per data source, parsed with spans and validated
//! into [`Policy`] values that the evaluation stage uses without further
//! checks. Every problem in a folder of policies is collected and reported in
//! one pass.

mod parse;
pub mod vocabulary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use regex::Regex;

use crate::diag::Diagnostic;
use crate::findings::{Rule, Severity};

pub use parse::parse_policy;

/// A validated policy for one data source.
#[derive(Debug, Clone)]
pub struct Policy {
    pub file: PathBuf,
    pub source: SourceMeta,
    pub grants: Vec<GrantRule>,
    pub allows: Vec<Allow>,
    pub checks: Checks,
    pub severity: BTreeMap<Rule, Severity>,
}

/// What the policy says about the data source itself.
#[derive(Debug, Clone)]
pub struct SourceMeta {
    pub id: String,
    pub name: String,
    pub controller: Option<String>,
    pub activity: String,
    pub confidentiality: Option<String>,
    pub data_categories: Vec<String>,
    pub data_subject_groups: Vec<String>,
    pub estimated_data_subjects: Option<u64>,
    pub scopes: Vec<String>,
    /// Who approves changes to access on the source (`owner` in
    /// `[source]`), named on remediation plans.
    pub owner: Option<String>,
    /// The policy file that describes the source (none for a source that
    /// only role exports name).
    pub policy_file: Option<String>,
    /// How reports name each role (`[roles.Las] label = "läsbehörighet"`).
    pub role_labels: BTreeMap<String, String>,
}

impl SourceMeta {
    /// A source known by its id alone: one that role exports name and no
    /// policy describes.
    pub fn unknown(id: &str) -> SourceMeta {
        SourceMeta {
            id: id.to_string(),
            name: id.to_string(),
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
        }
    }

    pub fn holds_personal_data(&self) -> bool {
        !self.data_categories.is_empty()
    }

    /// The words reports use for a role: its label, else its id.
    pub fn role_label<'a>(&'a self, role: &'a str) -> &'a str {
        self.role_labels.get(role).map_or(role, String::as_str)
    }

    pub fn is_social_services(&self) -> bool {
        matches!(self.activity.as_str(), "socialtjanst" | "lss")
    }

    /// Special categories of data, or children or vulnerable people among
    /// the data subjects.
    pub fn is_sensitive(&self) -> bool {
        self.data_categories
            .iter()
            .filter_map(|c| vocabulary::lookup(vocabulary::DATA_CATEGORIES, c))
            .any(|t| t.special)
            || self
                .data_subject_groups
                .iter()
                .filter_map(|g| vocabulary::lookup(vocabulary::DATA_SUBJECT_GROUPS, g))
                .any(|t| t.special)
    }

    /// The scopes a `*` stands for; a source without scopes has the single
    /// scope `*`.
    pub fn expand_scope(&self, scope: &str) -> Vec<String> {
        if scope == "*" && !self.scopes.is_empty() {
            self.scopes.clone()
        } else {
            vec![scope.to_string()]
        }
    }
}

/// A `[[grant]]`: groups whose name matches get a role on a scope.
#[derive(Debug, Clone)]
pub struct GrantRule {
    pub pattern: Regex,
    pub role: Option<String>,
    pub scope: Option<String>,
    pub line: usize,
    /// What every name the pattern matches starts with, when that is
    /// known (see [`required_prefix`]).
    prefix: Option<Box<[u8]>>,
}

/// The text that starts every name a pattern matches, when the pattern is
/// anchored at the start (`^SG-Sys01-...`); `None` when the pattern does
/// not say. Most group names fail this check of a few bytes, which is much
/// cheaper than running the regex on them.
fn required_prefix(pattern: &str) -> Option<Box<[u8]>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    use regex_syntax::hir::Look;
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    if !hir.properties().look_set_prefix().contains(Look::Start) {
        return None;
    }
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    // Every match starts with one of the literals, so with what they all
    // start with.
    let (first, rest) = literals.split_first()?;
    let mut common = first.as_bytes();
    for literal in rest {
        let same = common
            .iter()
            .zip(literal.as_bytes())
            .take_while(|(a, b)| a == b)
            .count();
        common = &common[..same];
    }
    (!common.is_empty()).then(|| common.into())
}

impl GrantRule {
    /// The group names the pattern matches when they are few (at most
    /// 64) and spelled out by it (`^SG-Statdb-(IFO|VO|GA)-Las$`); empty
    /// otherwise. A plan may propose creating such a group.
    pub fn exact_names(&self) -> Vec<String> {
        use regex_syntax::hir::literal::Extractor;
        let Ok(hir) = regex_syntax::ParserBuilder::new()
            .build()
            .parse(self.pattern.as_str())
        else {
            return Vec::new();
        };
        let mut extractor = Extractor::new();
        extractor.limit_total(64);
        let seq = extractor.extract(&hir);
        if !seq.is_exact() {
            return Vec::new();
        }
        seq.literals()
            .unwrap_or_default()
            .iter()
            .filter_map(|l| std::str::from_utf8(l.as_bytes()).ok())
            .filter(|name| !name.trim().is_empty() && self.pattern.is_match(name))
            .map(str::to_string)
            .collect()
    }

    pub fn new(pattern: Regex, role: Option<String>, scope: Option<String>, line: usize) -> Self {
        let prefix = required_prefix(pattern.as_str());
        GrantRule {
            pattern,
            role,
            scope,
            line,
            prefix,
        }
    }

    /// The (role, scope) pairs a group of this name gets, before `*` is
    /// expanded; `None` when the pattern does not match.
    pub fn matches(&self, group: &str) -> Option<(String, String)> {
        // Most groups match no pattern: a look at the start of the name,
        // then a plain match, are cheaper than captures.
        if let Some(prefix) = &self.prefix {
            if !group.as_bytes().starts_with(prefix) {
                return None;
            }
        }
        if !self.pattern.is_match(group) {
            return None;
        }
        let caps = self.pattern.captures(group)?;
        let role = match &self.role {
            Some(r) => r.clone(),
            None => caps.name("role")?.as_str().to_string(),
        };
        let scope = match &self.scope {
            Some(s) => s.clone(),
            None => caps
                .name("scope")
                .map(|m| m.as_str().to_string())
                .unwrap_or_else(|| "*".to_string()),
        };
        Some((role, scope))
    }
}

/// `role` or `scope` of an allow: one value, a list, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Any,
    Values(Vec<String>),
}

impl Selector {
    /// How the selector is written in reports: `*`, `Las` or `Las,Admin`.
    pub fn display(&self) -> String {
        match self {
            Selector::Any => "*".to_string(),
            Selector::Values(vs) => vs.join(","),
        }
    }
}

/// An `[[allow]]`: who may hold which access.
#[derive(Debug, Clone)]
pub struct Allow {
    pub id: String,
    pub role: Selector,
    pub scope: Selector,
    pub when: Vec<Condition>,
    pub member_of: Vec<String>,
    pub accounts: Vec<String>,
    pub max_accounts: Option<u64>,
    pub line: usize,
}

/// One `when.<attribute>` condition.
#[derive(Debug, Clone)]
pub struct Condition {
    pub attribute: String,
    pub test: Test,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub enum Test {
    /// Equals one of these templates (`{scope}` and `{role}` filled in).
    AnyOf(Vec<String>),
    Regex(Regex),
    Bool(bool),
    Date(NaiveDate),
}

impl Test {
    pub fn describe(&self) -> String {
        match self {
            Test::AnyOf(vs) if vs.len() == 1 => format!("= \"{}\"", vs[0]),
            Test::AnyOf(vs) => format!(
                "i [{}]",
                vs.iter()
                    .map(|v| format!("\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Test::Regex(r) => format!("~ /{}/", r.as_str()),
            Test::Bool(b) => format!("= {b}"),
            Test::Date(d) => format!("= {d}"),
        }
    }
}

/// Fills `{scope}` and `{role}` into a template.
pub fn fill_template(template: &str, role: &str, scope: &str) -> String {
    if !template.contains('{') {
        return template.to_string();
    }
    template.replace("{scope}", scope).replace("{role}", role)
}

/// A key of `[checks]`: declared by the rule that reads it, as a
/// `static` ([`crate::rules::Def::settings`]); the policy parser reads and
/// checks every declared key by its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    pub kind: SettingKind,
}

/// What a `[checks]` key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// `true` or `false`; the value when the policy does not say.
    Flag(bool),
    /// A whole number of days, at least 1; no value when the policy does
    /// not say.
    Days,
    /// A list of regular expressions.
    Patterns,
    /// A list of role lists, each naming at least two different roles.
    RoleSets,
}

/// The value of a `[checks]` key as the policy writes it.
#[derive(Debug, Clone)]
pub enum CheckValue {
    Flag(bool),
    Days(u32),
    Patterns(Vec<Regex>),
    RoleSets(Vec<Vec<String>>),
}

/// A policy's `[checks]`: the values it gives, by the rules' settings. A
/// key the policy leaves out has its kind's default. Settings are
/// `static`s, told apart by their address: a lookup is a few pointer
/// compares, as the account checks ask for every account.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    values: Vec<(&'static Setting, CheckValue)>,
}

impl Checks {
    /// Checks where every flag is off and nothing is set: the policy of a
    /// data source only role exports name.
    pub fn none() -> Checks {
        let mut checks = Checks::default();
        for rule in Rule::ALL {
            for &s in rule.def().settings {
                if let SettingKind::Flag(_) = s.kind {
                    checks.set(s, CheckValue::Flag(false));
                }
            }
        }
        checks
    }

    pub fn set(&mut self, setting: &'static Setting, value: CheckValue) {
        match self
            .values
            .iter_mut()
            .find(|(s, _)| std::ptr::eq(*s, setting))
        {
            Some(slot) => slot.1 = value,
            None => self.values.push((setting, value)),
        }
    }

    fn get(&self, setting: &Setting) -> Option<&CheckValue> {
        self.values
            .iter()
            .find(|(s, _)| std::ptr::eq(*s, setting))
            .map(|(_, v)| v)
    }

    /// A flag's value, or its default.
    pub fn flag(&self, setting: &Setting) -> bool {
        match (self.get(setting), setting.kind) {
            (Some(CheckValue::Flag(b)), _) => *b,
            (_, SettingKind::Flag(default)) => default,
            _ => false,
        }
    }

    /// A number of days, if the policy gives one.
    pub fn days(&self, setting: &Setting) -> Option<u32> {
        match self.get(setting) {
            Some(CheckValue::Days(n)) => Some(*n),
            _ => None,
        }
    }

    /// A list of patterns; empty when the policy gives none.
    pub fn patterns(&self, setting: &Setting) -> &[Regex] {
        match self.get(setting) {
            Some(CheckValue::Patterns(p)) => p,
            _ => &[],
        }
    }

    /// A list of role lists; empty when the policy gives none.
    pub fn role_sets(&self, setting: &Setting) -> &[Vec<String>] {
        match self.get(setting) {
            Some(CheckValue::RoleSets(r)) => r,
            _ => &[],
        }
    }
}

/// Reads every `*.toml` file of a folder (sorted by name) as a policy. All
/// problems of all files are returned together.
/// The account attributes the policies' conditions read (`when.<name>`),
/// lower case, sorted, each once: what an audit has to keep from its
/// sources beyond the well-known attributes.
pub fn attributes_read(policies: &[Policy]) -> Vec<String> {
    let mut names: Vec<String> = policies
        .iter()
        .flat_map(|p| p.allows.iter())
        .flat_map(|a| a.when.iter())
        .map(|c| c.attribute.to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    names
}

pub fn load_dir(dir: &Path) -> Result<Vec<Policy>, Vec<Diagnostic>> {
    let at_dir = |message: String, help: Option<String>| {
        vec![Diagnostic {
            file: dir.to_path_buf(),
            line: 0,
            col: 0,
            message,
            help,
        }]
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        at_dir(
            format!("cannot read the policy folder: {e}"),
            Some(
                "give the folder with --policies or `policies` under [audit] in behorig.toml"
                    .into(),
            ),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(at_dir(
            "the policy folder has no `.toml` files".into(),
            Some("write one policy file per data source, see README.md".into()),
        ));
    }
    load_files(&files)
}

pub fn load_files(files: &[PathBuf]) -> Result<Vec<Policy>, Vec<Diagnostic>> {
    let mut policies = Vec::new();
    let mut diagnostics = Vec::new();
    // Source ids are compared even in files with other problems, so that a
    // duplicate is reported in the same pass.
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut patterns = parse::Patterns::default();
    for file in files {
        let text = match crate::text::read_bounded(file, crate::text::MAX_SETTINGS_BYTES) {
            Ok(t) => t,
            Err(e) => {
                diagnostics.push(Diagnostic {
                    file: file.clone(),
                    line: 0,
                    col: 0,
                    message: format!("cannot read the policy file: {e}"),
                    help: None,
                });
                continue;
            }
        };
        let result = parse::parse_policy_with(file, &text, &mut patterns);
        if let Some((id, span)) = source_id(file, &text) {
            if let Some(first) = seen.get(&id) {
                let mut r = crate::diag::TomlReader::new(file, &text);
                r.error_help(
                    span,
                    format!(
                        "duplicate source id `{id}`: {} already uses it",
                        first.display()
                    ),
                    Some("each data source has one policy file with its own id"),
                );
                diagnostics.append(&mut r.diagnostics);
            } else {
                seen.insert(id, file.clone());
            }
        }
        match result {
            Ok(p) => policies.push(p),
            Err(mut d) => diagnostics.append(&mut d),
        }
    }
    if diagnostics.is_empty() {
        Ok(policies)
    } else {
        Err(diagnostics)
    }
}

/// `[source] id` and its position, if the file has one.
fn source_id(file: &Path, text: &str) -> Option<(String, Option<std::ops::Range<usize>>)> {
    let doc = crate::diag::parse_toml(file, text).ok()?;
    let source = doc.as_table().get("source")?.as_table_like()?;
    let id = source.get("id")?.as_str()?.to_string();
    Some((id, crate::diag::item_span(source, "id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_of_few_names_spells_them_out() {
        let rule = GrantRule::new(
            Regex::new("^SG-Statdb-(?P<scope>IFO|VO)-(?P<role>Las|Admin)$").unwrap(),
            None,
            None,
            1,
        );
        let mut names = rule.exact_names();
        names.sort();
        assert_eq!(
            names,
            [
                "SG-Statdb-IFO-Admin",
                "SG-Statdb-IFO-Las",
                "SG-Statdb-VO-Admin",
                "SG-Statdb-VO-Las"
            ]
        );
        let open = GrantRule::new(Regex::new("^SG-Statdb-.*$").unwrap(), None, None, 1);
        assert!(open.exact_names().is_empty());
    }

    #[test]
    fn the_prefix_check_agrees_with_the_regex() {
        let patterns = [
            "^SG-Sys01-(?P<scope>IFO|VO)-(?P<role>Las|Skriv)$",
            "(?i)^sg-statdb-(?P<role>las)$",
            "^(SG-)?Stat-(?P<role>Las)$",
            "SG-(?P<role>Las)$",
            "^(?:A|B)x(?P<role>.*)",
            "(?m)^R-(?P<role>.+)$",
            r"^\w+-(?P<role>Las)$",
            "^Ägare-(?P<role>.+)$",
            "^(?P<role>.*)",
            "(?P<role>^SG-A|SG-B)",
        ];
        let names = [
            "SG-Sys01-IFO-Las",
            "SG-Sys01-VO-Skriv",
            "sg-sys01-ifo-las",
            "SG-STATDB-LAS",
            "sg-statdb-las",
            "Sg-StatDb-Las",
            "Stat-Las",
            "SG-Stat-Las",
            "xSG-Las",
            "Ax1",
            "Bxy",
            "Cx",
            "R-Admin",
            "q\nR-Admin",
            "Åäö-Las",
            "Ägare-IFO",
            "ägare-IFO",
            "SG-A",
            "xSG-B",
            "",
        ];
        for pattern in patterns {
            let filtered = GrantRule::new(Regex::new(pattern).unwrap(), None, None, 1);
            let plain = GrantRule {
                prefix: None,
                ..filtered.clone()
            };
            for name in names {
                assert_eq!(
                    filtered.matches(name),
                    plain.matches(name),
                    "{pattern} on {name:?}"
                );
            }
        }
        // The check is there for anchored patterns, and only for them.
        let prefix = |p: &str| required_prefix(p).map(|b| String::from_utf8_lossy(&b).into_owned());
        assert_eq!(
            prefix("^SG-Sys01-(?P<scope>IFO|VO)-(?P<role>Las)$").as_deref(),
            Some("SG-Sys01-")
        );
        assert_eq!(prefix("^(SG-)?Stat-(?P<role>Las)$").as_deref(), Some("S"));
        assert_eq!(prefix("^Ägare-(?P<role>.+)$").as_deref(), Some("Ägare-"));
        assert_eq!(prefix("(?i)^sg-statdb-(?P<role>las)$"), None);
        assert_eq!(prefix("SG-(?P<role>Las)$"), None);
        assert_eq!(prefix("(?m)^R-(?P<role>.+)$"), None);
        assert_eq!(prefix("^(?P<role>.*)"), None);
        assert_eq!(prefix("(?P<role>^SG-A|SG-B)"), None);
    }
}
