//! The evidence `explain` shows for one finding: the pieces every rule's
//! explain text is built from (the account, the path to a grant, the
//! allows tried as the matcher decided them), and the dispatch to the
//! finding's rule.

use std::fmt::Write as _;

use crate::evaluate::{
    attribute_value, grant_text, AccessReason, Actual, AllowTried, Part, Reasons, Step,
};
use crate::findings::Finding;
use crate::inventory::{Account, Expiry, Inventory};
use crate::policy::{fill_template, Condition, Policy, Selector, Test};
use crate::report::Report;

/// What a rule's explain text is written from.
pub struct Context<'a> {
    pub policy: &'a Policy,
    pub inventory: &'a Inventory,
    pub report: &'a Report,
    pub finding: &'a Finding,
    /// Why the finding holds, as evaluation recorded it.
    pub reasons: &'a Reasons,
}

/// The evidence for one finding of this run, as text.
pub fn explain(
    policies: &[Policy],
    inventory: &Inventory,
    report: &Report,
    finding: &Finding,
) -> String {
    // Data sources that only role exports name have the policy evaluation
    // made up for them.
    let policy = policies
        .iter()
        .chain(report.implicit.iter())
        .find(|p| p.source.id == finding.data_source);

    let mut out = String::new();
    header(&mut out, finding, policy);
    let Some(policy) = policy else {
        return out;
    };
    let none = Reasons::default();
    let cx = Context {
        policy,
        inventory,
        report,
        finding,
        reasons: finding.reasons.as_deref().unwrap_or(&none),
    };
    (finding.rule.def().explain)(&mut out, &cx);
    out
}

/// The finding's account: its section, then `then` with it; or a line
/// saying the account is not in what was read.
pub fn with_account(out: &mut String, cx: &Context<'_>, then: impl FnOnce(&mut String, &Account)) {
    let Some(account_id) = cx
        .finding
        .account
        .as_deref()
        .and_then(|a| cx.inventory.account(a))
    else {
        let _ = writeln!(out, "\nKontot finns inte i de inlästa källorna.");
        return;
    };
    let account = &cx.inventory.accounts[account_id];
    account_section(out, cx.inventory, account, cx.inventory.dn(account_id));
    then(out, account);
}

/// An account-level rule: the account, why the rule holds (`why`, given
/// the account) and every access it has on the source with its path.
pub fn account_rule(out: &mut String, cx: &Context<'_>, why: impl FnOnce(&Account) -> String) {
    with_account(out, cx, |out, account| {
        let _ = writeln!(out, "\nVarför\n  {}", why(account));
        let _ = writeln!(
            out,
            "\nBehörigheter i {} och vägen till dem",
            cx.policy.source.name
        );
        for access in &cx.reasons.accesses {
            let _ = writeln!(out, "\n  {} på {}:", access.role, access.scope);
            path(out, 4, cx, &account.id, access);
        }
    });
}

/// An unauthorized access: its path, and every allow of the policy tried
/// on it.
pub fn access_tried(out: &mut String, cx: &Context<'_>) {
    with_account(out, cx, |out, account| {
        let role = cx.finding.role.as_deref().unwrap_or_default();
        let scope = cx.finding.scope.as_deref().unwrap_or_default();
        if let Some(access) = cx.reasons.accesses.first() {
            let _ = writeln!(out, "\nVäg till behörigheten {role} på {scope}");
            path(out, 2, cx, &account.id, access);
        }
        allows_section(out, cx.policy, &cx.reasons.allows, role, scope);
    });
}

/// What the account has for an attribute, typed, as explain writes it.
pub fn account_value(cx: &Context<'_>, account: &Account, attribute: &str) -> String {
    actual(
        attribute,
        &attribute_value(account, attribute, cx.inventory.names()),
    )
}

fn header(out: &mut String, f: &Finding, policy: Option<&Policy>) {
    let classes: Vec<&str> = f.classification.iter().map(|c| c.label_sv()).collect();
    let _ = writeln!(out, "Fynd {}", f.id);
    let _ = writeln!(
        out,
        "  Regel:        {} ({})",
        f.rule.id(),
        f.rule.title_sv()
    );
    match policy {
        Some(p) => {
            let _ = writeln!(
                out,
                "  Datakälla:    {} ({}), policy {}",
                p.source.name,
                p.source.id,
                p.file.display()
            );
        }
        None => {
            let _ = writeln!(out, "  Datakälla:    {}", f.data_source);
        }
    }
    let _ = writeln!(
        out,
        "  Allvarlighet: {} · {}",
        f.severity.label_sv(),
        classes.join(", ")
    );
    let _ = writeln!(out, "  {}", f.message);
}

fn account_section(out: &mut String, inventory: &Inventory, account: &Account, dn: Option<&str>) {
    let _ = writeln!(
        out,
        "\nKonto {} ({})",
        account.id,
        inventory.at(account.origin)
    );
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some(dn) = dn {
        rows.push(("dn".into(), dn.to_string()));
    }
    if let Some(name) = &account.display_name {
        rows.push(("display_name".into(), format!("\"{name}\"")));
    }
    for (k, v) in account.attrs.texts(inventory.names()) {
        rows.push((k.to_string(), format!("\"{v}\"")));
    }
    rows.push((
        "enabled".into(),
        match account.enabled {
            Some(true) => "ja".into(),
            Some(false) => "nej".into(),
            None => "(okänt)".into(),
        },
    ));
    match account.expires {
        Some(crate::inventory::Expiry::At(t)) => rows.push(("expires".into(), t.to_string())),
        Some(crate::inventory::Expiry::Never) => rows.push(("expires".into(), "aldrig".into())),
        None => {}
    }
    if let Some(t) = account.last_logon {
        rows.push(("last_logon".into(), t.to_string()));
    }
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<width$}  {v}");
    }
}

/// The chain account → group → … → grant of one access, one step a line,
/// indented by `base` spaces, each membership with where it is written.
pub fn path(out: &mut String, base: usize, cx: &Context<'_>, account: &str, access: &AccessReason) {
    let grant = access
        .grant
        .as_ref()
        .map(|g| grant_text(cx.policy, g, cx.inventory.names()))
        .unwrap_or_default();
    let what = format!("{} på {}", access.role, access.scope);
    let _ = writeln!(out, "{:base$}{account}", "");
    let mut indent = base + 2;
    if access.path.is_empty() {
        let _ = writeln!(out, "{:indent$}└─ tilldelas {what} direkt: {grant}", "");
        return;
    }
    for (i, step) in access.path.iter().enumerate() {
        let member = if i == 0 {
            "är medlem i"
        } else {
            "som är medlem i"
        };
        let _ = writeln!(out, "{:indent$}└─ {member} {}", "", step_text(cx, step));
        indent += 3;
    }
    let _ = writeln!(out, "{:indent$}└─ som ger {what}: {grant}", "");
}

/// A group of a path by its name, with where the membership that leads
/// into it is written when that is known.
pub fn step_text(cx: &Context<'_>, step: &Step) -> String {
    let name = cx
        .inventory
        .groups
        .get(step.group.index())
        .map_or("?", |g| g.name.as_str());
    match &step.from {
        Some(from) => format!("{name} ({from})"),
        None => name.to_string(),
    }
}

/// A `when` condition as it is written in the policy.
fn condition_text(c: &Condition) -> String {
    let value = match &c.test {
        Test::AnyOf(vs) if vs.len() == 1 => format!("\"{}\"", vs[0]),
        Test::AnyOf(vs) => format!(
            "[{}]",
            vs.iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Test::Regex(re) => format!("{{ regex = '{}' }}", re.as_str()),
        Test::Bool(b) => b.to_string(),
        Test::Date(d) => d.to_string(),
    };
    format!("when.{} = {value}", c.attribute)
}

/// What the account has for an attribute, for "title är \"Ekonom\"".
fn actual(attribute: &str, value: &Actual) -> String {
    let v = match value {
        Actual::Missing => return format!("{attribute} saknas på kontot"),
        Actual::Bool(b) => b.to_string(),
        Actual::Expiry(Expiry::Never) => "never".to_string(),
        Actual::Expiry(Expiry::At(t)) | Actual::Time(t) => t.date().to_string(),
        Actual::Text(v) => format!("\"{v}\""),
        Actual::Account(v) => format!("\"{v}\""),
        Actual::Role(v) | Actual::Scope(v) => format!("\"{v}\""),
        Actual::Groups(gs) => gs.join(", "),
    };
    format!("{attribute} är {v}")
}

fn selector_text(key: &str, s: &Selector) -> String {
    match s {
        Selector::Any => format!("{key} = \"*\""),
        Selector::Values(vs) if vs.len() == 1 => format!("{key} = \"{}\"", vs[0]),
        Selector::Values(vs) => format!(
            "{key} = [{}]",
            vs.iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Every allow of the policy tried on one access, as the matcher decided
/// it: whether it applies to the role and scope, and then each of its
/// conditions with the account's value.
fn allows_section(
    out: &mut String,
    policy: &Policy,
    tried: &[AllowTried],
    role: &str,
    scope: &str,
) {
    let file = policy.file.display();
    let _ = writeln!(out, "\nRegler som prövades för {role} på {scope}");
    if tried.is_empty() {
        let _ = writeln!(
            out,
            "  {file} har inga [[allow]]: all behörighet till källan är otillåten"
        );
        return;
    }
    for t in tried {
        let Some(allow) = policy.allows.get(t.allow) else {
            continue;
        };
        let _ = writeln!(out, "\n  [[allow]] {} ({file}:{})", allow.id, allow.line);
        let mut failed = 0;
        let mut conditions = 0;
        for v in &t.parts {
            let mark = if v.holds {
                "ok   "
            } else {
                failed += 1;
                "FEL  "
            };
            match v.part {
                Part::Role => {
                    if !v.holds {
                        let _ = writeln!(
                            out,
                            "    gäller inte rollen: {} (rollen är \"{role}\")",
                            selector_text("role", &allow.role)
                        );
                    }
                }
                Part::Scope => {
                    if !v.holds {
                        let _ = writeln!(
                            out,
                            "    gäller inte omfattningen: {} (omfattningen är \"{scope}\")",
                            selector_text("scope", &allow.scope)
                        );
                    }
                }
                Part::Accounts => {
                    conditions += 1;
                    let _ = writeln!(
                        out,
                        "    {mark}accounts = [{}]: {}",
                        quoted_list(&allow.accounts),
                        if v.holds {
                            "kontot finns i listan"
                        } else {
                            "kontot finns inte i listan"
                        }
                    );
                }
                Part::When(i) => {
                    let Some(c) = allow.when.get(i as usize) else {
                        continue;
                    };
                    conditions += 1;
                    let mut text = condition_text(c);
                    if let Test::AnyOf(vs) = &c.test {
                        if vs.iter().any(|v| v.contains('{')) {
                            let filled: Vec<String> = vs
                                .iter()
                                .map(|v| format!("\"{}\"", fill_template(v, role, scope)))
                                .collect();
                            let _ = write!(text, " (här {})", filled.join(", "));
                        }
                    }
                    let _ = writeln!(
                        out,
                        "    {mark}{file}:{}: {text}: {}",
                        c.line,
                        actual(&c.attribute, &v.actual)
                    );
                }
                Part::MemberOf => {
                    conditions += 1;
                    let groups = match &v.actual {
                        Actual::Groups(gs) if v.holds => format!("medlem i {}", gs.join(", ")),
                        _ => "inte medlem i någon av dem".to_string(),
                    };
                    let _ = writeln!(
                        out,
                        "    {mark}member_of = [{}]: {groups}",
                        quoted_list(&allow.member_of)
                    );
                }
            }
        }
        if matches!(
            t.first_failure().map(|v| v.part),
            Some(Part::Role | Part::Scope)
        ) {
            continue;
        }
        if conditions == 0 {
            let _ = writeln!(out, "    (inga villkor)");
        }
        let _ = writeln!(
            out,
            "    => {}",
            if failed == 0 {
                "täcker behörigheten".to_string()
            } else {
                format!("täcker inte ({failed} villkor uppfylls inte)")
            }
        );
    }
}

fn quoted_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
