//! `sod-conflict`: an account holds two or more roles of one
//! `[checks] separation_of_duties` set.

use super::{explain, AccountCx, Check, Def, Remedy, Rule};
use crate::findings::{Finding, Severity};
use crate::policy::{Setting, SettingKind};
use crate::intern::Sym;

/// `[checks] separation_of_duties`: sets of roles that one account must not hold together.
pub static SEPARATION_OF_DUTIES: Setting = Setting {
    key: "separation_of_duties",
    kind: SettingKind::RoleSets,
};

pub const DEF: Def = Def {
    id: "sod-conflict",
    title_sv: "Roller som inte får kombineras",
    exposes_data: false,
    base_severity: Severity::Medium,
    help_sv: "Kontot har två roller som enligt policyn inte får kombineras (till exempel \
              administration och läsning). Dela upp rollerna på olika konton.",
    settings: &[&SEPARATION_OF_DUTIES],
    check: Check::Account(check),
    explain: |out, cx| {
        explain::account_rule(out, cx, |_| {
            format!(
                "kontot har rollerna {}, som [checks] separation_of_duties i {} inte tillåter tillsammans",
                cx.finding.roles.join(" och "),
                cx.policy.file.display()
            )
        })
    },
    remedy: Remedy::Decision(|f| {
        format!(
            "vilken av rollerna {} kontot ska behålla är ett beslut för verksamheten",
            f.roles.join(" och ")
        )
    }),
};

fn check(cx: &AccountCx<'_>, findings: &mut Vec<Finding>) {
    let mut conflicting: Vec<String> = Vec::new();
    for set in cx.sod {
        let held = |r: &&Sym| cx.hits.iter().any(|h| h.role == **r);
        if set.iter().filter(held).count() >= 2 {
            for r in set.iter().filter(held) {
                let r = cx.walker.text(*r);
                if !conflicting.iter().any(|c| c == r) {
                    conflicting.push(r.to_string());
                }
            }
        }
    }
    if conflicting.is_empty() {
        return;
    }
    let message = format!(
        "{} har rollerna {} i {}, som inte får kombineras",
        cx.account.id,
        conflicting.join(" och "),
        cx.policy.source.name
    );
    let mut f = cx.account_finding(Rule::SodConflict, cx.shortest().to_vec(), message);
    f.roles = conflicting;
    findings.push(f);
}
