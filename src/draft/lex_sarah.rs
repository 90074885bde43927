//! The lex Sarah draft's judgements: only sources in social services or LSS
//! get one, which act the report is made under, and which kind of report
//! the audit suggests.

use serde::Serialize;

use super::Facts;
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
    /// The suggested kind: `serious` (ett allvarligt missförhållande) or
    /// `risk` (en påtaglig risk för ett allvarligt missförhållande).
    pub kind: &'static str,
    /// Why that kind is suggested.
    pub kind_reason: String,
}

/// A suggestion for the person who decides: access that was possible but
/// not shown to be used is a risk; evidence that it was used makes it a
/// missförhållande that has occurred.
pub fn context(facts: &Facts, source: &SourceMeta) -> LexSarahContext {
    let (kind, kind_reason) = if facts.usage.shown {
        (
            "serious",
            "Förvalt eftersom åtkomstloggarna visar att åtkomsten har använts: uppgifter har lästs utan behov, och anmälan avser ett inträffat missförhållande, inte bara en risk.".to_string(),
        )
    } else if facts.usage.known {
        (
            "risk",
            "Förvalt eftersom åtkomstloggarna inte visar att åtkomsten har använts. Bedömer ni bristen i behörighetsstyrningen som allvarlig i sig, oavsett om uppgifter har lästs, avser anmälan i stället ett allvarligt missförhållande.".to_string(),
        )
    } else {
        (
            "risk",
            "Förvalt eftersom granskningen visar att åtkomsten var möjlig men inte att den har använts. Bedömer ni bristen i behörighetsstyrningen som allvarlig i sig, oavsett om uppgifter har lästs, avser anmälan i stället ett allvarligt missförhållande.".to_string(),
        )
    };
    LexSarahContext {
        lss: source.activity == "lss",
        kind,
        kind_reason,
    }
}
