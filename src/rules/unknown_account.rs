//! `unknown-account`: a role export gives a role on the source to an
//! account the directory does not have.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::{explain, finding, Check, Def, Rule, SourceCx, SourceOut, Subject, Remedy};
use crate::findings::Severity;
use crate::intern::Sym;
use crate::inventory::Holder;

pub const DEF: Def = Def {
    id: "unknown-account",
    title_sv: "Okänt konto i rollexport",
    exposes_data: true,
    base_severity: Severity::Low,
    help_sv: "Verksamhetssystemets rollexport ger behörighet till ett konto som katalogen inte känner \
              till. Ta bort rollen i verksamhetssystemet eller utred vem kontot tillhör.",
    check: Check::Source(check),
    explain: explain_text,
    remedy: Remedy::DisableAccount,
};

fn check(cx: &SourceCx<'_>, out: &mut SourceOut) {
    let policy = cx.policy;
    let inventory = cx.inventory;
    let mut seen: HashSet<String> = HashSet::new();
    let source = Sym::new(&policy.source.id);
    for grant in &inventory.grants {
        if grant.data_source != source {
            continue;
        }
        let Holder::Account(name) = &grant.holder else {
            continue;
        };
        if inventory.account(name).is_some() || !seen.insert(name.to_lowercase()) {
            continue;
        }
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
                grant.origin, grant.role, policy.source.name
            ),
        );
        f.grant = Some(grant.origin.to_string());
        f.grant_at = Some(grant.origin);
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
    for g in &cx.inventory.grants {
        if g.data_source.as_str() != cx.finding.data_source {
            continue;
        }
        if let Holder::Account(a) = &g.holder {
            if a.trim().to_lowercase() == name.to_lowercase() {
                let _ = writeln!(
                    out,
                    "  {}: {} på {}",
                    g.origin,
                    g.role,
                    g.scope.map_or("*", Sym::as_str)
                );
            }
        }
    }
}
