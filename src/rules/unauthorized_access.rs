//! `unauthorized-access`: an account holds a role on a source that no
//! allow of the source's policy covers (default deny).

use super::{explain, finding, AccountCx, Check, Def, Rule, Subject, Remedy};
use crate::evaluate::grant_text;
use crate::findings::{Finding, Severity};

pub const DEF: Def = Def {
    id: "unauthorized-access",
    title_sv: "Behörighet som ingen regel tillåter",
    exposes_data: true,
    base_severity: Severity::Low,
    help_sv: "Kontot har en behörighet som ingen allow-regel i datakällans policy täcker. \
              Ta bort behörigheten, eller lägg till en allow-regel om behovet är dokumenterat. \
              Klassas som möjlig personuppgiftsincident (IMY) när källan har personuppgifter, \
              och som möjligt missförhållande (lex Sarah) inom socialtjänst och LSS.",
    settings: &[],
    check: Check::Account(check),
    explain: explain::access_tried,
    remedy: Remedy::CutAccess,
};

/// One finding per access no allow covers.
fn check(cx: &AccountCx<'_>, findings: &mut Vec<Finding>) {
    let (policy, account, walker) = (cx.policy, cx.account, cx.walker);
    for &i in cx.uncovered {
        let hit = &cx.hits[i as usize];
        let (role, scope) = (walker.text(hit.role), walker.text(hit.scope));
        let via = walker.via_names(&cx.state.path(hit.group));
        let source = walker.grant_source(cx.account_id, hit);
        let grant = source
            .map(|g| grant_text(policy, g, walker.inventory().names()))
            .unwrap_or_default();
        let grant_at = source.map(|g| walker.grant_place(policy, g));
        let how = if via.is_empty() {
            format!("tilldelning i rollexporten ({grant})")
        } else {
            via.join(" → ")
        };
        let message = format!(
            "{} har rollen {role}{} i {} via {how}, men ingen regel i policyn tillåter det",
            account.id,
            if scope == "*" {
                String::new()
            } else {
                format!(" på {scope}")
            },
            policy.source.name,
        );
        let mut f = finding(
            policy,
            Rule::UnauthorizedAccess,
            Subject {
                account: Some(&account.id),
                role: Some(role.to_string()),
                scope: Some(scope.to_string()),
                ..Subject::default()
            },
            via,
            message,
        );
        f.grant = Some(grant);
        f.grant_at = grant_at;
        if walker.keeps_reasons() {
            f.reasons = Some(Box::new(cx.access_reasons(hit)));
        }
        findings.push(f);
    }
}
