//! Diagnostics for configuration files: positions (`file:line:col`),
//! collected problems, and a small reader over span-carrying TOML that lets
//! the policy, exception and configuration parsers report every problem in
//! one pass instead of stopping at the first.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{Item, TableLike};

/// One problem in a file, with its position and an optional suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Maps byte offsets in a text to 1-based line and column numbers.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based (line, column); the column counts characters, not bytes.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let col = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line + 1, col + 1)
    }
}

/// Collects the problems found in one TOML file.
pub struct TomlReader<'a> {
    pub file: PathBuf,
    pub text: &'a str,
    index: LineIndex,
    pub diagnostics: Vec<Diagnostic>,
    /// The patterns compiled so far, by their text: files of one load
    /// repeat them (the same catch-all groups in every policy), and the
    /// copies share one compiled pattern.
    pub patterns: rustc_hash::FxHashMap<String, regex::Regex>,
}

impl<'a> TomlReader<'a> {
    pub fn new(file: &Path, text: &'a str) -> Self {
        TomlReader {
            file: file.to_path_buf(),
            text,
            index: LineIndex::new(text),
            diagnostics: Vec::new(),
            patterns: Default::default(),
        }
    }

    pub fn line_of(&self, span: Option<Range<usize>>) -> usize {
        self.position(span).0
    }

    pub fn position(&self, span: Option<Range<usize>>) -> (usize, usize) {
        match span {
            Some(r) => self.index.position(self.text, r.start),
            None => (1, 1),
        }
    }

    pub fn error(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        self.error_help(span, message, None::<String>);
    }

    pub fn error_help(
        &mut self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        help: Option<impl Into<String>>,
    ) {
        let (line, col) = self.position(span);
        self.diagnostics.push(Diagnostic {
            file: self.file.clone(),
            line,
            col,
            message: message.into(),
            help: help.map(Into::into),
        });
    }

    /// Reports every key of `table` that is not in `allowed`, suggesting the
    /// nearest allowed name.
    pub fn check_keys(&mut self, table: &dyn TableLike, allowed: &[&str], context: &str) {
        let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
        for key in keys {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let span = key_span(table, &key);
            let help = suggest(&key, allowed.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("expected one of: {}", allowed.join(", "))));
            self.error_help(span, format!("unknown key `{key}` in {context}"), help);
        }
    }

    /// A string value; reports a wrong type.
    pub fn string(&mut self, table: &dyn TableLike, key: &str, context: &str) -> Option<String> {
        let item = table.get(key)?;
        match item.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.error(
                    item_span(table, key),
                    format!(
                        "`{key}` in {context} must be a string, found {}",
                        type_name(item)
                    ),
                );
                None
            }
        }
    }

    /// A required string value; reports its absence.
    pub fn required_string(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        context: &str,
        table_span: Option<Range<usize>>,
    ) -> Option<String> {
        if table.get(key).is_none() {
            self.error(table_span, format!("{context} has no `{key}`"));
            return None;
        }
        self.string(table, key, context)
    }

    pub fn bool(&mut self, table: &dyn TableLike, key: &str, context: &str) -> Option<bool> {
        let item = table.get(key)?;
        match item.as_bool() {
            Some(b) => Some(b),
            None => {
                self.error(
                    item_span(table, key),
                    format!(
                        "`{key}` in {context} must be true or false, found {}",
                        type_name(item)
                    ),
                );
                None
            }
        }
    }

    pub fn integer(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        context: &str,
        min: i64,
    ) -> Option<i64> {
        let item = table.get(key)?;
        match item.as_integer() {
            Some(n) if n >= min => Some(n),
            Some(n) => {
                self.error(
                    item_span(table, key),
                    format!("`{key}` in {context} must be at least {min}, found {n}"),
                );
                None
            }
            None => {
                self.error(
                    item_span(table, key),
                    format!(
                        "`{key}` in {context} must be a whole number, found {}",
                        type_name(item)
                    ),
                );
                None
            }
        }
    }

    /// A list of strings; a single string is accepted as a list of one.
    pub fn string_list(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        context: &str,
    ) -> Option<Vec<Spanned<String>>> {
        let item = table.get(key)?;
        let span = item_span(table, key);
        if let Some(s) = item.as_str() {
            return Some(vec![Spanned::new(s.to_string(), span)]);
        }
        let Some(array) = item.as_array() else {
            self.error(
                span,
                format!(
                    "`{key}` in {context} must be a string or a list of strings, found {}",
                    type_name(item)
                ),
            );
            return None;
        };
        let mut out = Vec::new();
        for value in array.iter() {
            match value.as_str() {
                Some(s) => out.push(Spanned::new(s.to_string(), value.span())),
                None => self.error(
                    value.span(),
                    format!(
                        "`{key}` in {context} must list strings, found {}",
                        value.type_name()
                    ),
                ),
            }
        }
        Some(out)
    }

    pub fn into_result(self) -> Result<(), Vec<Diagnostic>> {
        if self.diagnostics.is_empty() {
            Ok(())
        } else {
            Err(self.diagnostics)
        }
    }
}

/// A value with the byte range it came from.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Option<Range<usize>>,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Option<Range<usize>>) -> Self {
        Spanned { value, span }
    }
}

/// The span of a key's value, falling back to the key itself (dotted tables
/// carry no span of their own).
pub fn item_span(table: &dyn TableLike, key: &str) -> Option<Range<usize>> {
    table
        .get_key_value(key)
        .and_then(|(k, item)| item.span().or_else(|| k.span()))
}

pub fn key_span(table: &dyn TableLike, key: &str) -> Option<Range<usize>> {
    table.get_key_value(key).and_then(|(k, item)| {
        k.span()
            .or_else(|| item.span())
            .or_else(|| first_inner_span(item))
    })
}

fn first_inner_span(item: &Item) -> Option<Range<usize>> {
    let table = item.as_table_like()?;
    table
        .iter()
        .find_map(|(k, _)| table.get_key_value(k).and_then(|(key, _)| key.span()))
}

pub fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(v) => match v {
            toml_edit::Value::String(_) => "a string",
            toml_edit::Value::Integer(_) => "a number",
            toml_edit::Value::Float(_) => "a number",
            toml_edit::Value::Boolean(_) => "a boolean",
            toml_edit::Value::Datetime(_) => "a date",
            toml_edit::Value::Array(_) => "a list",
            toml_edit::Value::InlineTable(_) => "a table",
        },
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "a list of tables",
    }
}

/// The closest candidate to `name`, if any is close enough to be a likely
/// typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Parses TOML text, turning a syntax error into a positioned diagnostic.
pub fn parse_toml(file: &Path, text: &str) -> Result<toml_edit::ImDocument<String>, Diagnostic> {
    toml_edit::ImDocument::parse(text.to_string()).map_err(|e| {
        let index = LineIndex::new(text);
        let (line, col) = e
            .span()
            .map(|r| index.position(text, r.start))
            .unwrap_or((1, 1));
        Diagnostic {
            file: file.to_path_buf(),
            line,
            col,
            message: format!("invalid TOML: {}", e.message().trim()),
            help: None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "a = 1\nåäö = 2\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), (1, 1));
        assert_eq!(index.position(text, 6), (2, 1));
        let offset = text.find('=').map(|_| text.rfind('=').unwrap_or(0));
        assert_eq!(index.position(text, offset.unwrap_or(0)), (2, 5));
    }

    #[test]
    fn suggests_near_names_only() {
        assert_eq!(suggest("scoep", ["scope", "role"]), Some("scope"));
        assert_eq!(suggest("zzz", ["scope", "role"]), None);
    }
}
