//! Legal references for the drafts: a TOML file of texts, embedded as the
//! default and overridable key by key from a file named in behorig.toml
//! (`[drafts] legal`), so that a change in the law is an edit of data.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag::{self, Diagnostic, TomlReader};

/// The built-in references.
pub const DEFAULT: &str = include_str!("../../data/legal.toml");

/// Section → key → text, as the templates read them (`legal.gdpr.notification`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Legal(pub BTreeMap<String, BTreeMap<String, String>>);

impl Legal {
    /// The built-in references.
    pub fn builtin() -> Result<Legal, Vec<Diagnostic>> {
        let mut legal = Legal::default();
        legal.merge(Path::new("data/legal.toml (built in)"), DEFAULT, None)?;
        Ok(legal)
    }

    /// The built-in references with those of `file` laid over them.
    pub fn load(file: Option<&Path>) -> Result<Legal, Vec<Diagnostic>> {
        let mut legal = Legal::builtin()?;
        if let Some(file) = file {
            let text =
                crate::text::read_bounded(file, crate::text::MAX_SETTINGS_BYTES).map_err(|e| {
                    vec![Diagnostic {
                        file: file.to_path_buf(),
                        line: 0,
                        col: 0,
                        message: format!("cannot read the legal references: {e}"),
                        help: Some("`legal` under [drafts] in behorig.toml names this file".into()),
                    }]
                })?;
            let known = legal.clone();
            legal.merge(file, &text, Some(&known))?;
        }
        Ok(legal)
    }

    /// Reads `text` into `self`. With `known`, only its sections and keys
    /// are accepted.
    fn merge(
        &mut self,
        file: &Path,
        text: &str,
        known: Option<&Legal>,
    ) -> Result<(), Vec<Diagnostic>> {
        let doc = diag::parse_toml(file, text).map_err(|d| vec![d])?;
        let mut r = TomlReader::new(file, text);
        let root = doc.as_table();
        if let Some(known) = known {
            let sections: Vec<&str> = known.0.keys().map(String::as_str).collect();
            r.check_keys(root, &sections, "the legal references");
        }
        for (section, item) in root.iter() {
            let Some(table) = item.as_table_like() else {
                r.error(
                    diag::item_span(root, section),
                    format!("`{section}` must be a table: write `[{section}]`"),
                );
                continue;
            };
            let context = format!("[{section}]");
            let allowed: Option<Vec<&str>> = known.map(|k| {
                k.0.get(section)
                    .map(|keys| keys.keys().map(String::as_str).collect())
                    .unwrap_or_default()
            });
            if let Some(allowed) = &allowed {
                if !allowed.is_empty() {
                    r.check_keys(table, allowed, &context);
                }
            }
            let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
            for key in keys {
                if let Some(value) = r.string(table, &key, &context) {
                    self.0
                        .entry(section.to_string())
                        .or_default()
                        .insert(key, value);
                }
            }
        }
        r.into_result()
    }

    /// One reference, or `None` when the section or key is missing.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.0.get(section)?.get(key).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_references_parse() {
        let legal = Legal::builtin().unwrap();
        assert_eq!(
            legal.get("lex_sarah", "socialtjanst_previous"),
            Some("14 kap. 3–7 §§ socialtjänstlagen (2001:453)")
        );
        assert!(legal.get("gdpr", "notification").is_some());
    }

    #[test]
    fn a_file_overrides_one_key_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("juridik.toml");
        std::fs::write(
            &file,
            "[lex_sarah]\nsocialtjanst = \"27 kap. 1–6 §§ socialtjänstlagen (2025:400)\"\n",
        )
        .unwrap();
        let legal = Legal::load(Some(&file)).unwrap();
        assert_eq!(
            legal.get("lex_sarah", "socialtjanst"),
            Some("27 kap. 1–6 §§ socialtjänstlagen (2025:400)")
        );
        assert!(legal.get("lex_sarah", "lss").is_some());
    }

    #[test]
    fn an_unknown_key_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("juridik.toml");
        std::fs::write(&file, "[gdpr]\nnotifcation = \"x\"\n").unwrap();
        let errors = Legal::load(Some(&file)).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].message.contains("notifcation"), "{}", errors[0]);
    }
}
