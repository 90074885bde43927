//! `behorig explain FINDING_ID`: runs the audit, picks one finding by its id
//! (or a unique prefix) and shows its evidence: the account and its
//! attributes, every group on the path to the grant, where the grant is
//! written, and for each allow of the policy the conditions that held and
//! the ones that failed.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::cli::ExplainArgs;
use crate::error::Error;
use crate::evaluate::{
    allows_tried, attribute_value, implicit_policy, Actual, AllowTried, Part, Walker,
};
use crate::findings::{Finding, Rule};
use crate::intern::Sym;
use crate::inventory::{Account, Expiry, Holder, Inventory};
use crate::policy::{fill_template, Condition, Policy, Selector, Test};
use crate::report::Report;

pub fn run(args: ExplainArgs) -> Result<i32, Error> {
    let wanted = args.finding_id.trim().to_lowercase();
    if wanted.is_empty() || !wanted.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!(
            "`{}` is not a finding id\n  help: ids are hexadecimal, as in the first column of `behorig audit` (8 characters are enough)",
            args.finding_id
        )));
    }
    let inputs = args.inputs.resolve()?;
    if args.show_records && inputs.logs.files.is_empty() {
        return Err(Error::Usage(
            "--show-records lists events of the access logs: give --access-log FILE (or `access_logs` under [audit])"
                .into(),
        ));
    }
    let loaded = super::load_all(&inputs)?;
    let mut report = super::report_from(&loaded, inputs.as_of);
    super::attach_evidence(&mut report, &loaded.inventory, &inputs)?;
    let matches: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.id.starts_with(&wanted))
        .collect();
    let finding = match matches.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::Usage(format!(
                "no finding `{wanted}` in this audit (as of {}, {} findings)\n  help: explain needs the same inputs and --as-of as the audit that showed the id; ids are in the first column of `behorig audit`",
                inputs.as_of,
                report.findings.len()
            )))
        }
        many => {
            return Err(Error::Usage(format!(
                "`{wanted}` matches {} findings: {}\n  help: give more characters of the id",
                many.len(),
                many.iter()
                    .map(|f| f.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    let mut text = explain(&loaded.policies, &loaded.inventory, &report, finding);
    usage_section(&mut text, finding);
    if args.show_records {
        let sources: Vec<String> = report.sources.iter().map(|s| s.id.clone()).collect();
        let events = crate::evidence::events_for(
            finding,
            &sources,
            &loaded.inventory,
            &report.members,
            &inputs.logs,
        )?;
        records_section(&mut text, &events);
    }
    super::emit(None, text.as_bytes())?;
    Ok(0)
}

/// What the access logs say about the finding: counts only.
fn usage_section(out: &mut String, finding: &Finding) {
    let Some(usage) = &finding.usage else {
        return;
    };
    let _ = writeln!(out, "\nAnvändning enligt åtkomstloggarna");
    match usage {
        None => {
            let _ = writeln!(out, "  ingen logg täcker {}", finding.data_source);
        }
        Some(u) if u.events == 0 => {
            let _ = writeln!(out, "  inga händelser: behörigheten har inte använts");
        }
        Some(u) => {
            let _ = writeln!(
                out,
                "  {} händelser, {} olika poster, {} – {}",
                u.events,
                u.records,
                u.first.as_deref().unwrap_or("?"),
                u.last.as_deref().unwrap_or("?")
            );
            if let Some(n) = u.accounts_used {
                let _ = writeln!(out, "  {n} av kontona har använt behörigheten");
            }
        }
    }
}

/// The finding's events, records included (`--show-records`).
fn records_section(out: &mut String, events: &[crate::evidence::Event]) {
    let _ = writeln!(out, "\nHändelser ({})", events.len());
    for e in events {
        let _ = writeln!(
            out,
            "  {}  {}  {}  {}  {}",
            crate::evidence::format_time(e.time),
            crate::text::escape_controls(&e.account),
            crate::text::escape_controls(if e.scope.is_empty() { "-" } else { &e.scope }),
            crate::text::escape_controls(if e.action.is_empty() { "-" } else { &e.action }),
            crate::text::escape_controls(&e.record)
        );
    }
}

/// The evidence for one finding, as text.
pub fn explain(
    policies: &[Policy],
    inventory: &Inventory,
    report: &Report,
    finding: &Finding,
) -> String {
    // Data sources that only role exports name get the policy evaluation
    // gave them.
    let implicit: Vec<Policy> = report
        .sources
        .iter()
        .filter(|s| !policies.iter().any(|p| p.source.id == s.id))
        .map(|s| implicit_policy(s.clone()))
        .collect();
    let all: Vec<&Policy> = policies.iter().chain(implicit.iter()).collect();
    let walker = Walker::new(inventory, &all);
    let p_index = all.iter().position(|p| p.source.id == finding.data_source);

    let mut out = String::new();
    header(&mut out, finding, p_index.map(|i| all[i]));
    let Some(p_index) = p_index else {
        return out;
    };
    let policy = all[p_index];
    let account = finding
        .account
        .as_deref()
        .and_then(|a| inventory.account(a));
    match (finding.rule, account) {
        (Rule::UnknownAccount, _) => unknown_account(&mut out, inventory, finding),
        (Rule::BroadGroup, _) => {
            broad_group(&mut out, inventory, &walker, policy, p_index, finding)
        }
        (Rule::TooManyAccounts, _) => too_many(&mut out, inventory, policy, report, finding),
        (_, Some(account_id)) => {
            let account = &inventory.accounts[account_id];
            account_section(&mut out, account, inventory.dn(account_id));
            let mut state = walker.state();
            walker.walk(account_id, &mut state);
            let accesses = walker
                .collect(account_id, &state)
                .remove(&p_index)
                .unwrap_or_default();
            match finding.rule {
                Rule::UnauthorizedAccess => {
                    let role = finding.role.clone().unwrap_or_default();
                    let scope = finding.scope.clone().unwrap_or_default();
                    if let Some(access) = accesses.get(&(role.clone(), scope.clone())) {
                        let _ = writeln!(out, "\nVäg till behörigheten {role} på {scope}");
                        path(
                            &mut out,
                            2,
                            &account.id,
                            &walker.via_names(&access.via),
                            &walker.grant_text(policy, &access.grant),
                            &format!("{role} på {scope}"),
                        );
                    }
                    let tried = allows_tried(policy, inventory, account_id, &state, &role, &scope);
                    allows_section(&mut out, policy, &tried, &role, &scope);
                }
                rule => {
                    account_rule(&mut out, policy, account, rule, finding, report);
                    let _ = writeln!(
                        out,
                        "\nBehörigheter i {} och vägen till dem",
                        policy.source.name
                    );
                    for ((role, scope), access) in &accesses {
                        let _ = writeln!(out, "\n  {role} på {scope}:");
                        path(
                            &mut out,
                            4,
                            &account.id,
                            &walker.via_names(&access.via),
                            &walker.grant_text(policy, &access.grant),
                            &format!("{role} på {scope}"),
                        );
                    }
                }
            }
        }
        (_, None) => {
            let _ = writeln!(out, "\nKontot finns inte i de inlästa källorna.");
        }
    }
    out
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

fn account_section(out: &mut String, account: &Account, dn: Option<&str>) {
    let _ = writeln!(out, "\nKonto {} ({})", account.id, account.origin);
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some(dn) = dn {
        rows.push(("dn".into(), dn.to_string()));
    }
    if let Some(name) = &account.display_name {
        rows.push(("display_name".into(), format!("\"{name}\"")));
    }
    for (k, v) in &account.attrs {
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

/// The chain account → group → … → grant, one step a line, indented by
/// `base` spaces.
fn path(out: &mut String, base: usize, account: &str, via: &[String], grant: &str, access: &str) {
    let _ = writeln!(out, "{:base$}{account}", "");
    let mut indent = base + 2;
    if via.is_empty() {
        let _ = writeln!(out, "{:indent$}└─ tilldelas {access} direkt: {grant}", "");
        return;
    }
    for (i, group) in via.iter().enumerate() {
        let what = if i == 0 {
            "är medlem i"
        } else {
            "som är medlem i"
        };
        let _ = writeln!(out, "{:indent$}└─ {what} {group}", "");
        indent += 3;
    }
    let _ = writeln!(out, "{:indent$}└─ som ger {access}: {grant}", "");
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
    tried: &[AllowTried<'_>],
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
        let allow = t.allow;
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
                Part::When(c) => {
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

/// The check behind an account-level rule.
fn account_rule(
    out: &mut String,
    policy: &Policy,
    account: &Account,
    rule: Rule,
    finding: &Finding,
    report: &Report,
) {
    let _ = writeln!(out, "\nVarför");
    match rule {
        Rule::DisabledAccount => {
            let _ = writeln!(
                out,
                "  kontot är inaktiverat (enabled = false) och [checks] disabled_accounts = true i {}",
                policy.file.display()
            );
        }
        Rule::ExpiredAccount => {
            let _ = writeln!(
                out,
                "  {} — granskningen gäller per {}, och [checks] expired_accounts = true i {}",
                actual("expires", &attribute_value(account, "expires")),
                report.as_of,
                policy.file.display()
            );
        }
        Rule::InactiveAccount => {
            let _ = writeln!(
                out,
                "  {} — gränsen är {} dagar före {} ([checks] inactive_days i {})",
                actual("last_logon", &attribute_value(account, "last_logon")),
                policy.checks.inactive_days.unwrap_or(0),
                report.as_of,
                policy.file.display()
            );
        }
        Rule::SodConflict => {
            let _ = writeln!(
                out,
                "  kontot har rollerna {}, som [checks] separation_of_duties i {} inte tillåter tillsammans",
                finding.roles.join(" och "),
                policy.file.display()
            );
        }
        _ => {}
    }
}

fn unknown_account(out: &mut String, inventory: &Inventory, finding: &Finding) {
    let name = finding.account.as_deref().unwrap_or("");
    let _ = writeln!(
        out,
        "\nKontot {name} finns inte i katalogen, men rollexporten ger det behörighet:"
    );
    for g in &inventory.grants {
        if g.data_source.as_str() != finding.data_source {
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

fn broad_group(
    out: &mut String,
    inventory: &Inventory,
    walker: &Walker<'_>,
    policy: &Policy,
    p_index: usize,
    finding: &Finding,
) {
    let Some(name) = finding.group.as_deref() else {
        return;
    };
    let Some(group) = inventory.group(name) else {
        return;
    };
    let patterns: Vec<&str> = policy
        .checks
        .broad_groups
        .iter()
        .filter(|re| re.is_match(name))
        .map(|re| re.as_str())
        .collect();
    let _ = writeln!(
        out,
        "\nGruppen {name} är allomfattande: den matchar [checks] broad_groups {} i {}",
        patterns
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(", "),
        policy.file.display()
    );
    let _ = writeln!(
        out,
        "  {} konton är medlemmar, direkt eller via grupper i gruppen",
        walker.accounts_under(group)
    );
    if let Some((via, reached)) = walker.group_reach(p_index, group) {
        let names = walker.via_names(&via);
        let _ = writeln!(out, "\nVäg till behörigheten");
        let mut indent = 4;
        for (i, g) in names.iter().enumerate() {
            if i == 0 {
                let _ = writeln!(out, "  {g}");
            } else {
                let _ = writeln!(out, "{:indent$}└─ som är medlem i {g}", "");
                indent += 3;
            }
        }
        let accesses: Vec<String> = reached.iter().map(|(r, s)| format!("{r} på {s}")).collect();
        let _ = writeln!(out, "{:indent$}└─ som ger {}", "", accesses.join(", "));
    }
}

/// The accounts a `too-many-accounts` finding counts: those evaluation
/// found the allow to cover.
fn too_many(
    out: &mut String,
    inventory: &Inventory,
    policy: &Policy,
    report: &Report,
    finding: &Finding,
) {
    let Some(allow) = policy
        .allows
        .iter()
        .find(|a| Some(&a.id) == finding.allow.as_ref())
    else {
        return;
    };
    let _ = writeln!(
        out,
        "\n[[allow]] {} ({}:{}) tillåter högst {} konton",
        allow.id,
        policy.file.display(),
        allow.line,
        allow.max_accounts.unwrap_or(0)
    );
    let covered: BTreeSet<&str> = report
        .members
        .get(&finding.id)
        .into_iter()
        .flatten()
        .filter_map(|&a| inventory.accounts.get(a))
        .map(|a| &*a.id)
        .collect();
    let _ = writeln!(out, "  {} konton omfattas av regeln:", covered.len());
    for a in covered {
        let _ = writeln!(out, "    {a}");
    }
}
