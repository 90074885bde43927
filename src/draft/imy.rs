//! The IMY draft's judgements: when a source gets no draft, the suggested
//! severity on the form's scale 1–4 with its reasons, and which of the
//! form's consequences follow from the data the source holds.

use serde::Serialize;

use super::{join_sv, Facts};
use crate::policy::{vocabulary, SourceMeta};

/// From this many accounts, access is broad enough to raise the severity
/// by one step.
pub const MANY_ACCOUNTS: usize = 10;

/// Why a source gets no IMY draft.
pub fn refusal(source: &SourceMeta) -> String {
    if !source.holds_personal_data() {
        format!(
            "no IMY draft for `{}`: its policy lists no `data_categories`, so no finding on it exposes personal data",
            source.id
        )
    } else {
        format!(
            "no IMY draft for `{}`: the audit found no access to its personal data outside the need-to-know circle (no finding classified `imy`)",
            source.id
        )
    }
}

#[derive(Debug, Serialize)]
pub struct Severity {
    pub level: u8,
    /// "4 (Mycket allvarlig)" or "3".
    pub label: String,
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Tick {
    pub label: &'static str,
    pub ticked: bool,
}

#[derive(Debug, Serialize)]
pub struct ImyContext {
    pub severity: Severity,
    /// The form's scale 1–4 with the suggestion ticked.
    pub scale: Vec<Tick>,
    pub consequences: Vec<Tick>,
}

/// The form's consequences, in its order.
const CONSEQUENCES: [&str; 9] = [
    "Den registrerade förlorar kontrollen över de egna personuppgifterna",
    "Begränsning av rättigheter",
    "Diskriminering",
    "Identitetsstöld eller bedrägeri",
    "Ekonomisk förlust",
    "Obehörigt hävande av pseudonymisering",
    "Skadat anseende",
    "Förlust av konfidentialitet för uppgifter som omfattas av tystnadsplikt",
    "Annan ekonomisk eller social nackdel",
];

pub fn context(facts: &Facts, source: &SourceMeta) -> ImyContext {
    let severity = severity(facts, source);
    let scale = ["1", "2", "3", "4 (Mycket allvarlig)"]
        .into_iter()
        .enumerate()
        .map(|(i, label)| Tick {
            label,
            ticked: usize::from(severity.level) == i + 1,
        })
        .collect();
    ImyContext {
        severity,
        scale,
        consequences: consequences(facts, source),
    }
}

/// The consequences that follow from the kind of data: loss of control
/// always; discrimination and damaged reputation with special categories;
/// loss of confidentiality under professional secrecy when the policy
/// names the secrecy; other social disadvantage for vulnerable people
/// (who may stop seeking help).
fn consequences(facts: &Facts, source: &SourceMeta) -> Vec<Tick> {
    CONSEQUENCES
        .iter()
        .enumerate()
        .map(|(i, label)| Tick {
            label,
            ticked: match i {
                0 => true,
                2 => facts.special_categories,
                6 => facts.special_categories || facts.vulnerable_subjects,
                7 => source.confidentiality.is_some(),
                8 => facts.vulnerable_subjects,
                _ => false,
            },
        })
        .collect()
}

/// A suggestion, never a decision: 3 for special categories or vulnerable
/// data subjects, else 2; one step more when many accounts or a catch-all
/// group had the access.
fn severity(facts: &Facts, source: &SourceMeta) -> Severity {
    let mut reasons = Vec::new();
    let special: Vec<&str> = source
        .data_categories
        .iter()
        .filter_map(|k| vocabulary::lookup(vocabulary::DATA_CATEGORIES, k))
        .filter(|t| t.special)
        .map(|t| t.label)
        .collect();
    let vulnerable: Vec<&str> = source
        .data_subject_groups
        .iter()
        .filter_map(|k| vocabulary::lookup(vocabulary::DATA_SUBJECT_GROUPS, k))
        .filter(|t| t.special)
        .map(|t| t.label)
        .collect();
    let mut level: u8 = if special.is_empty() && vulnerable.is_empty() {
        reasons.push(
            "Källan innehåller personuppgifter men inga känsliga personuppgifter eller uppgifter om brott enligt policyn."
                .to_string(),
        );
        2
    } else {
        if !special.is_empty() {
            reasons.push(format!(
                "Källan innehåller känsliga personuppgifter eller uppgifter om lagöverträdelser: {}.",
                join_sv(&special).to_lowercase()
            ));
        }
        if !vulnerable.is_empty() {
            reasons.push(format!(
                "Bland de registrerade finns {}.",
                join_sv(&vulnerable).to_lowercase()
            ));
        }
        3
    };
    if let Some(secrecy) = &source.confidentiality {
        reasons.push(format!("Uppgifterna omfattas av sekretess ({secrecy})."));
    }
    let broad = facts.broad_groups.iter().max_by_key(|g| g.accounts);
    if let Some(group) = broad {
        reasons.push(format!(
            "Åtkomsten gavs via den allomfattande gruppen {}, som omfattar {} konton.",
            group.group, group.accounts
        ));
    }
    if facts.reach >= MANY_ACCOUNTS && broad.is_none() {
        reasons.push(format!(
            "{} aktiva konton hade åtkomst som behörighetspolicyn inte tillåter.",
            facts.reach
        ));
    }
    if facts.reach >= MANY_ACCOUNTS || broad.is_some() {
        level = (level + 1).min(4);
    }
    if facts.scopes.len() > 1 && !source.scopes.is_empty() {
        reasons.push(format!(
            "Åtkomsten omfattar uppgifter från flera verksamhetsområden ({}).",
            facts.scope_ids_text
        ));
    }
    if facts.usage.shown {
        reasons.push(
            "Åtkomstloggarna visar att uppgifter har lästs av konton utan behörighet.".to_string(),
        );
        level = (level + 1).min(4);
    } else if !facts.usage.known {
        reasons.push(
            "Granskningen visar att åtkomst var möjlig, inte att någon har tagit del av uppgifterna. Visar loggarna att uppgifter har lästs utan behov bör bedömningen ses över."
                .to_string(),
        );
    }
    Severity {
        level,
        label: if level == 4 {
            "4 (Mycket allvarlig)".to_string()
        } else {
            level.to_string()
        },
        reasons,
    }
}
