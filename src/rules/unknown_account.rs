//! `unknown-account`: a role export gives a role on the source to an
//! account the directory does not have.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{explain, finding, Check, Def, Rule, SourceCx, SourceOut, Subject, Remedy};
use crate::findings::Severity;
use crate::evaluate::{grant_text, AccessReason, GrantSource, Reasons};
use crate::inventory::{DirectGrant, Holder};

pub const DEF: Def = Def {
    id: "unknown-account",
    title_sv: "Okänt konto i rollexport",
    exposes_data: true,
    base_severity: Severity::Low,
    help_sv: "Verksamhetssystemets rollexport ger behörighet till ett konto som katalogen inte känner \
              till. Ta bort rollen i verksamhetssystemet eller utred vem kontot tillhör.",
    settings: &[],
    check: Check::Source(check),
    explain: explain_text,
    remedy: Remedy::DisableAccount,
};

fn check(cx: &SourceCx<'_>, out: &mut SourceOut) {
    let policy = cx.policy;
    let inventory = cx.inventory;
    // No row names a source the inventory has no symbol for.
    let Some(source) = inventory.names().find(&policy.source.id) else {
        return;
    };
    // Each unknown account once, in the order the exports first name it,
    // with every row that names it.
    let mut order: Vec<(&str, &DirectGrant, Vec<AccessReason>)> = Vec::new();
    let mut place: HashMap<String, usize> = HashMap::new();
    // The rows are the finding's reasons, made only when they are kept.
    let keep = cx.walker.keeps_reasons();
    for grant in &inventory.grants {
        if grant.data_source != source {
            continue;
        }
        let Holder::Account(name) = &grant.holder else {
            continue;
        };
        if inventory.account(name).is_some() {
            continue;
        }
        let row = keep.then(|| AccessReason {
            role: inventory.text(grant.role).to_string(),
            scope: inventory.grant_scope(grant).to_string(),
            path: Vec::new(),
            grant: Some(GrantSource::Export {
                origin: grant.origin,
            }),
        });
        let key = crate::text::lowercase(name.trim());
        match place.get(key.as_ref()) {
            Some(&i) => order[i].2.extend(row),
            None => {
                place.insert(key.into_owned(), order.len());
                order.push((name, grant, row.into_iter().collect()));
            }
        }
    }
    for (name, grant, rows) in order {
        let mut f = finding(
            policy,
            Rule::UnknownAccount,
            Subject {
                account: Some(name),
                ..Subject::default()
            },
            Vec::new(),
            format!(
                "Rollexporten ({}) ger {name} rollen {} i {}, men kontot finns inte i katalogen",
                inventory.at(grant.origin),
                inventory.text(grant.role),
                policy.source.name
            ),
        );
        f.grant = Some(inventory.at(grant.origin).to_string());
        f.grant_at = Some(cx.walker.grant_place(
            policy,
            &GrantSource::Export {
                origin: grant.origin,
            },
        ));
        if keep {
            f.reasons = Some(Box::new(Reasons {
                accesses: rows,
                ..Reasons::default()
            }));
        }
        out.findings.push(f);
    }
}

/// Every row of the role exports that names the account.
fn explain_text(out: &mut String, cx: &explain::Context<'_>) {
    let name = cx.finding.account.as_deref().unwrap_or("");
    let _ = writeln!(
        out,
        "\nKontot {name} finns inte i katalogen, men rollexporten ger det behörighet:"
    );
    for row in &cx.reasons.accesses {
        let at = match &row.grant {
            Some(g) => grant_text(cx.policy, g, cx.inventory.names()),
            None => String::new(),
        };
        let _ = writeln!(out, "  {at}: {} på {}", row.role, row.scope);
    }
}
