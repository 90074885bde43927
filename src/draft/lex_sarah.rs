//! The lex Sarah draft's judgements: only sources in social services or LSS
//! get one, and which act the report is made under.

use serde::Serialize;

use crate::policy::SourceMeta;

/// Why a source gets no lex Sarah draft.
pub fn refusal(source: &SourceMeta) -> String {
    if !source.is_social_services() {
        format!(
            "no lex Sarah draft for `{}`: its activity is `{}`, and lex Sarah applies only to social services and LSS (activity `socialtjanst` or `lss`)",
            source.id, source.activity
        )
    } else if !source.holds_personal_data() {
        format!(
            "no lex Sarah draft for `{}`: its policy lists no `data_categories`, so no finding on it exposes data about individuals",
            source.id
        )
    } else {
        format!(
            "no lex Sarah draft for `{}`: the audit found no access outside the need-to-know circle (no finding classified `lex_sarah`)",
            source.id
        )
    }
}

#[derive(Debug, Serialize)]
pub struct LexSarahContext {
    /// Whether the source is LSS activity (the report is then made under
    /// LSS, else under the Social Services Act).
    pub lss: bool,
}

pub fn context(source: &SourceMeta) -> LexSarahContext {
    LexSarahContext {
        lss: source.activity == "lss",
    }
}
