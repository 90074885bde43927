//! `expired-account`: an account whose validity has ended still has
//! access to a source (with `[checks] expired_accounts`).

use super::{explain, path_text, AccountCx, Check, Def, Remedy, Rule};
use crate::findings::{Finding, Severity};
use crate::policy::{Setting, SettingKind};
use crate::inventory::Expiry;

/// `[checks] expired_accounts`: whether an expired account with access is a finding.
pub static EXPIRED_ACCOUNTS: Setting = Setting {
    key: "expired_accounts",
    kind: SettingKind::Flag(true),
};

pub const DEF: Def = Def {
    id: "expired-account",
    title_sv: "Utgånget konto har behörighet",
    exposes_data: true,
    base_severity: Severity::Low,
    help_sv: "Ett konto vars giltighetstid har gått ut har fortfarande behörighet. \
              Ta bort behörigheten eller förläng kontot om anställningen fortsätter.",
    settings: &[&EXPIRED_ACCOUNTS],
    check: Check::Account(check),
    explain: |out, cx| {
        explain::account_rule(out, cx, |account| {
            format!(
                "{} — granskningen gäller per {}, och [checks] expired_accounts = true i {}",
                explain::account_value(cx, account, "expires"),
                cx.report.as_of,
                cx.policy.file.display()
            )
        })
    },
    remedy: Remedy::CutAllAccess,
};

fn check(cx: &AccountCx<'_>, findings: &mut Vec<Finding>) {
    if !(cx.policy.checks.flag(&EXPIRED_ACCOUNTS) && cx.account.is_expired(cx.as_of)) {
        return;
    }
    let date = match cx.account.expires {
        Some(Expiry::At(t)) => t.date().to_string(),
        _ => String::new(),
    };
    let via = cx.shortest().to_vec();
    let message = format!(
        "Kontot {} gick ut {date} men har fortfarande behörighet till {} via {}",
        cx.account.id,
        cx.policy.source.name,
        path_text(&via)
    );
    findings.push(cx.account_finding(Rule::ExpiredAccount, via, message));
}
