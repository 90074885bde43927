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
mod facts;
pub mod imy;
pub mod input;
pub mod legal;
pub mod lex_sarah;
mod render;

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};

use crate::cli::{DraftFormat, DraftKind};
use crate::config::Config;
use crate::findings::{Classification, Finding};
use crate::policy::SourceMeta;

pub use facts::{Facts, MIN_ANONYMOUS};
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
    /// When the audit ran (local time), when that is known; without it the
    /// audit's date stands for the run.
    pub run_time: Option<NaiveDateTime>,
    /// Title and form of employment of the directory's accounts, when the
    /// draft is written from a new audit (not from `--findings`).
    pub staff: Option<&'a BTreeMap<String, Staff>>,
    /// Earlier runs from the history of runs (`--state`), oldest first.
    pub history: &'a [HistoryRun],
    /// What the access logs covered, when the audit read them.
    pub logs: Option<&'a crate::evidence::LogSummary>,
}

/// What the directory says about the person behind an account.
#[derive(Debug, Clone, Default)]
pub struct Staff {
    pub title: Option<String>,
    pub employment: Option<String>,
}

/// One recorded audit run, as question 30 lists it.
#[derive(Debug, Clone)]
pub struct HistoryRun {
    /// The run's as-of date and time (local time).
    pub as_of: NaiveDateTime,
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
