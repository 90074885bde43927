//! `disabled-account`: a disabled account still has access to a source
//! (with `[checks] disabled_accounts`).

use super::{explain, path_text, AccountCx, Check, Def, Remedy, Rule};
use crate::findings::{Finding, Severity};
use crate::policy::{Setting, SettingKind};

/// `[checks] disabled_accounts`: whether a disabled account with access is a finding.
pub static DISABLED_ACCOUNTS: Setting = Setting {
    key: "disabled_accounts",
    kind: SettingKind::Flag(true),
};

pub const DEF: Def = Def {
    id: "disabled-account",
    title_sv: "Inaktiverat konto har behörighet",
    exposes_data: true,
    base_severity: Severity::Low,
    help_sv: "Ett inaktiverat konto har fortfarande behörighet till datakällan. \
              Ta bort kontot ur grupperna och rollerna som ger åtkomst.",
    settings: &[&DISABLED_ACCOUNTS],
    check: Check::Account(check),
    explain: |out, cx| {
        explain::account_rule(out, cx, |_| {
            format!(
                "kontot är inaktiverat (enabled = false) och [checks] disabled_accounts = true i {}",
                cx.policy.file.display()
            )
        })
    },
    remedy: Remedy::CutAllAccess,
};

fn check(cx: &AccountCx<'_>, findings: &mut Vec<Finding>) {
    if !(cx.policy.checks.flag(&DISABLED_ACCOUNTS) && cx.account.enabled == Some(false)) {
        return;
    }
    let via = cx.shortest().to_vec();
    let message = format!(
        "Kontot {} är inaktiverat men har fortfarande behörighet till {} via {}",
        cx.account.id,
        cx.policy.source.name,
        path_text(&via)
    );
    findings.push(cx.account_finding(Rule::DisabledAccount, via, message));
}
