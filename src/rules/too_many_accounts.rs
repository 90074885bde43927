//! `too-many-accounts`: an allow with `max_accounts` covers more accounts
//! than it permits.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{explain, finding, Check, Def, Rule, SourceCx, SourceOut, Subject, Remedy};
use crate::findings::Severity;

pub const DEF: Def = Def {
    id: "too-many-accounts",
    title_sv: "Fler konton än tillåtet",
    exposes_data: false,
    base_severity: Severity::Medium,
    help_sv: "Fler konton omfattas av en allow-regel än regelns max_accounts tillåter. \
              Se över vilka som behöver behörigheten och minska kretsen, eller höj gränsen \
              med en dokumenterad motivering.",
    settings: &[],
    check: Check::Source(check),
    explain: explain_text,
    remedy: Remedy::Decision(|_| {
        "alla konton under regeln är tillåtna var för sig: vilka som ska lämna är ett beslut för verksamheten".into()
    }),
};

fn check(cx: &SourceCx<'_>, out: &mut SourceOut) {
    let policy = cx.policy;
    for (a_index, allow) in policy.allows.iter().enumerate() {
        let count = cx.under_allow[a_index] as u64;
        let Some(max) = allow.max_accounts else {
            continue;
        };
        if count <= max {
            continue;
        }
        let mut f = finding(
            policy,
            Rule::TooManyAccounts,
            Subject {
                role: Some(allow.role.display()),
                scope: Some(allow.scope.display()),
                extra_key: Some(&allow.id),
                ..Subject::default()
            },
            Vec::new(),
            format!(
                "{count} konton omfattas av regeln `{}` (rad {}) för {}, men högst {max} är tillåtna",
                allow.id, allow.line, policy.source.name
            ),
        );
        f.accounts = Some(count);
        f.allow = Some(allow.id.clone());
        f.grant = Some(format!("{}:{}", policy.file.display(), allow.line));
        f.grant_at = Some(cx.walker.policy_place(policy, Some(allow.line)));
        out.members
            .push((f.id.clone(), cx.allow_members[a_index].clone()));
        out.findings.push(f);
    }
}

/// The accounts the finding counts: those evaluation found the allow to
/// cover.
fn explain_text(out: &mut String, cx: &explain::Context<'_>) {
    let Some(allow) = cx
        .policy
        .allows
        .iter()
        .find(|a| Some(&a.id) == cx.finding.allow.as_ref())
    else {
        return;
    };
    let _ = writeln!(
        out,
        "\n[[allow]] {} ({}:{}) tillåter högst {} konton",
        allow.id,
        cx.policy.file.display(),
        allow.line,
        allow.max_accounts.unwrap_or(0)
    );
    let covered: BTreeSet<&str> = cx
        .report
        .members
        .get(&cx.finding.id)
        .into_iter()
        .flatten()
        .filter_map(|&a| cx.inventory.accounts.get(a.index()))
        .map(|a| &*a.id)
        .collect();
    let _ = writeln!(out, "  {} konton omfattas av regeln:", covered.len());
    for a in covered {
        let _ = writeln!(out, "    {a}");
    }
}
