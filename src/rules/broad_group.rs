//! `broad-group`: a catch-all group (one the policy's `[checks]
//! broad_groups` patterns match) gives access to the source, so that all
//! its members reach the data.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{explain, finding, Check, Def, Rule, SourceCx, SourceOut, Subject, Remedy};
use crate::evaluate::{AccessReason, Reasons};
use crate::findings::Severity;
use crate::policy::{Setting, SettingKind};

/// `[checks] broad_groups`: the names of the catch-all groups, as regular expressions.
pub static BROAD_GROUPS: Setting = Setting {
    key: "broad_groups",
    kind: SettingKind::Patterns,
};

pub const DEF: Def = Def {
    id: "broad-group",
    title_sv: "Behörighet via allomfattande grupp",
    exposes_data: true,
    base_severity: Severity::Low,
    help_sv: "Behörigheten ges genom en allomfattande grupp (till exempel Alla anställda eller \
              Domain Users), så att alla dess medlemmar når datakällan. Ta bort den allomfattande \
              gruppen ur behörighetsgruppen och tilldela behörighet per uppgift.",
    settings: &[&BROAD_GROUPS],
    check: Check::Source(check),
    explain: explain_text,
    remedy: Remedy::CutGroup,
};

fn check(cx: &SourceCx<'_>, out: &mut SourceOut) {
    let (policy, walker) = (cx.policy, cx.walker);
    for &group_id in cx.broad {
        let group = &cx.inventory.groups[group_id];
        let Some((via, accesses)) = walker.group_reach(cx.p_index, group_id) else {
            continue;
        };
        let count = walker.accounts_under(group_id) as u64;
        let roles: BTreeSet<&str> = accesses.iter().map(|(r, _)| r.as_str()).collect();
        let scopes: BTreeSet<&str> = accesses.iter().map(|(_, s)| s.as_str()).collect();
        let single = |set: &BTreeSet<&str>| {
            if set.len() == 1 {
                set.iter().next().map(|s| s.to_string())
            } else {
                None
            }
        };
        // The reasons, made only when they are kept.
        let reasons = walker.keeps_reasons().then(|| {
            let path = walker.steps(None, &via);
            Reasons {
                accesses: accesses
                    .iter()
                    .map(|(role, scope)| AccessReason {
                        role: role.clone(),
                        scope: scope.clone(),
                        path: path.clone(),
                        grant: None,
                    })
                    .collect(),
                patterns: policy
                    .checks
                    .patterns(&BROAD_GROUPS)
                    .iter()
                    .filter(|re| re.is_match(&group.name))
                    .map(|re| re.as_str().to_string())
                    .collect(),
                ..Reasons::default()
            }
        });
        let via = walker.via_names(&via);
        let message = format!(
            "Den allomfattande gruppen {} ger {count} konton behörighet ({}) till {} via {}",
            group.name,
            roles.iter().copied().collect::<Vec<_>>().join(", "),
            policy.source.name,
            via.join(" → ")
        );
        let mut f = finding(
            policy,
            Rule::BroadGroup,
            Subject {
                role: single(&roles),
                scope: single(&scopes),
                group: Some(&group.name),
                ..Subject::default()
            },
            via,
            message,
        );
        f.accounts = Some(count);
        f.reasons = reasons.map(Box::new);
        out.findings.push(f);
    }
}

/// The patterns the group matches, how many accounts are under it, and
/// its path to the grants.
fn explain_text(out: &mut String, cx: &explain::Context<'_>) {
    let Some(name) = cx.finding.group.as_deref() else {
        return;
    };
    let reasons = cx.reasons;
    let _ = writeln!(
        out,
        "\nGruppen {name} är allomfattande: den matchar [checks] broad_groups {} i {}",
        reasons
            .patterns
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(", "),
        cx.policy.file.display()
    );
    let _ = writeln!(
        out,
        "  {} konton är medlemmar, direkt eller via grupper i gruppen",
        cx.finding.accounts.unwrap_or(0)
    );
    let Some(first) = reasons.accesses.first() else {
        return;
    };
    let _ = writeln!(out, "\nVäg till behörigheten");
    let mut indent = 4;
    for (i, step) in first.path.iter().enumerate() {
        let step = explain::step_text(cx, step);
        if i == 0 {
            let _ = writeln!(out, "  {step}");
        } else {
            let _ = writeln!(out, "{:indent$}└─ som är medlem i {step}", "");
            indent += 3;
        }
    }
    let accesses: Vec<String> = reasons
        .accesses
        .iter()
        .map(|a| format!("{} på {}", a.role, a.scope))
        .collect();
    let _ = writeln!(out, "{:indent$}└─ som ger {}", "", accesses.join(", "));
}
