//! `inactive-account`: an account that has not logged on for longer than
//! the policy's `[checks] inactive_days` still has access.

use super::{explain, AccountCx, Check, Def, Remedy, Rule};
use crate::findings::{Finding, Severity};
use crate::policy::{Setting, SettingKind};

/// `[checks] inactive_days`: days without a logon after which an account with access is a finding.
pub static INACTIVE_DAYS: Setting = Setting {
    key: "inactive_days",
    kind: SettingKind::Days,
};

pub const DEF: Def = Def {
    id: "inactive-account",
    title_sv: "Konto utan inloggning har behörighet",
    exposes_data: false,
    base_severity: Severity::Medium,
    help_sv: "Kontot har inte loggat in på längre tid än policyns inactive_days men har behörighet. \
              Kontrollera om behovet finns kvar och ta annars bort behörigheten.",
    settings: &[&INACTIVE_DAYS],
    check: Check::Account(check),
    explain: |out, cx| {
        explain::account_rule(out, cx, |account| {
            format!(
                "{} — gränsen är {} dagar före {} ([checks] inactive_days i {})",
                explain::account_value(cx, account, "last_logon"),
                cx.policy.checks.days(&INACTIVE_DAYS).unwrap_or(0),
                cx.report.as_of,
                cx.policy.file.display()
            )
        })
    },
    remedy: Remedy::Decision(|_| {
        "kontot har inte loggat in på länge: om det ska inaktiveras eller behålla sin behörighet är ett beslut för chefen".into()
    }),
};

fn check(cx: &AccountCx<'_>, findings: &mut Vec<Finding>) {
    let (Some(days), Some(idle), Some(last)) = (
        cx.policy.checks.days(&INACTIVE_DAYS),
        cx.idle_days,
        cx.account.last_logon,
    ) else {
        return;
    };
    if idle <= i64::from(days) {
        return;
    }
    let message = format!(
        "Kontot {} loggade senast in {} ({idle} dagar sedan, gränsen är {days}) men har behörighet till {}",
        cx.account.id,
        last.date(),
        cx.policy.source.name
    );
    findings.push(cx.account_finding(Rule::InactiveAccount, cx.shortest().to_vec(), message));
}
