//! Renderers of a remediation plan: JSON (the contract's shape), LDIF for
//! `ldapmodify`, a PowerShell script for Active Directory, a table and
//! Markdown for the change ticket.

use std::fmt::Write as _;

use comfy_table::{presets::UTF8_FULL, Table};

use super::{Action, Change, MemberKind, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Table,
    Json,
    Ldif,
    Ps1,
    Md,
}

pub fn render(plan: &Plan, format: PlanFormat) -> Result<Vec<u8>, String> {
    match format {
        PlanFormat::Json => {
            let mut out =
                serde_json::to_vec_pretty(plan).map_err(|e| format!("cannot render JSON: {e}"))?;
            out.push(b'\n');
            Ok(out)
        }
        PlanFormat::Table => Ok(table(plan).into_bytes()),
        PlanFormat::Md => Ok(markdown(plan).into_bytes()),
        PlanFormat::Ldif => ldif(plan),
        PlanFormat::Ps1 => Ok(powershell(plan).into_bytes()),
    }
}

/// One line per finding the plan ends: id, rule, source, who, what.
fn finding_lines(plan: &Plan) -> Vec<String> {
    let mut ids: Vec<&str> = plan
        .changes
        .iter()
        .flat_map(|c| c.fixes.iter().map(String::as_str))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.iter()
        .map(|id| match plan.finding(id) {
            Some(f) => {
                let who = f.account.as_deref().or(f.group.as_deref()).unwrap_or("-");
                let what = [f.role.as_deref(), f.scope.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                one_line(&format!(
                    "{id}  {}  {}  {who}  {what}",
                    f.rule.id(),
                    f.data_source
                ))
                .trim_end()
                .to_string()
            }
            None => id.to_string(),
        })
        .collect()
}

/// Text safe to put on one comment line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A change as a reader sees it, in Swedish.
pub fn what(c: &Change) -> String {
    let member = c.member.as_deref().unwrap_or_default();
    let group = c.group.as_deref().unwrap_or_default();
    match c.action {
        Action::RemoveMember => {
            let kind = match c.member_kind {
                Some(MemberKind::Group) => "gruppen",
                _ => "kontot",
            };
            format!("Ta bort {kind} {member} ur {group}")
        }
        Action::AddMember if c.creates_group => {
            format!("Lägg till kontot {member} direkt i {group} (ny grupp, som policyns mönster namnger)")
        }
        Action::AddMember => format!("Lägg till kontot {member} direkt i {group}"),
        Action::RemoveRole => format!(
            "Ta bort rollen {} {} för {} i {}{}",
            c.role.as_deref().unwrap_or_default(),
            c.scope.as_deref().unwrap_or("*"),
            c.account
                .as_deref()
                .or(c.group.as_deref())
                .unwrap_or_default(),
            c.data_source.as_deref().unwrap_or_default(),
            c.row
                .as_deref()
                .map(|r| format!(" (rollexporten {r})"))
                .unwrap_or_default()
        ),
        Action::DisableAccount => format!(
            "Inaktivera kontot {} i {} (okänt i katalogen)",
            c.account.as_deref().unwrap_or_default(),
            c.data_source.as_deref().unwrap_or_default()
        ),
    }
}

fn counts(plan: &Plan) -> String {
    let fixed: usize = plan.changes.iter().map(|c| c.fixes.len()).sum();
    format!(
        "{} ändringar avslutar {fixed} fynd; {} kräver beslut, {} kan inte åtgärdas av planen. \
         Efter planen: {} fynd, {} tillåtna behörigheter förlorade.",
        plan.changes.len(),
        plan.needs_decision.len(),
        plan.not_fixable.len(),
        plan.after.findings,
        plan.after.allowed_access_lost
    )
}

fn table(plan: &Plan) -> String {
    let mut out = String::new();
    let mut t = Table::new();
    t.load_preset(UTF8_FULL);
    t.set_header(vec![
        "#",
        "Ändring",
        "Avslutar fynd",
        "Berörda konton",
        "Godkänns av",
    ]);
    for (i, c) in plan.changes.iter().enumerate() {
        t.add_row(vec![
            (i + 1).to_string(),
            what(c),
            c.fixes.len().to_string(),
            c.accounts_affected.len().to_string(),
            c.owner.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let _ = writeln!(out, "Åtgärdsplan\n{t}");
    if !plan.needs_decision.is_empty() {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL);
        t.set_header(vec![
            "Förslag som kräver beslut",
            "Avslutar fynd",
            "Tar bort tillåten behörighet",
        ]);
        for c in &plan.needs_decision {
            t.add_row(vec![
                what(c),
                c.fixes.len().to_string(),
                c.removes_allowed
                    .iter()
                    .map(|a| format!("{} {} {} ({})", a.account, a.role, a.scope, a.data_source))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    if !plan.not_fixable.is_empty() {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL);
        t.set_header(vec!["Fynd som planen inte åtgärdar", "Varför"]);
        for n in &plan.not_fixable {
            t.add_row(vec![n.finding.clone(), n.why.clone()]);
        }
        let _ = writeln!(out, "{t}");
    }
    let _ = writeln!(out, "{}", counts(plan));
    out
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Åtgärdsplan för behörigheter\n");
    let _ = writeln!(out, "{}\n", counts(plan));
    let _ = writeln!(
        out,
        "Planen är prövad: ändringarna har tillämpats på en kopia av det som lästes och granskningen har körts igen. \
         Fynden nedan försvinner och ingen behörighet som en regel tillåter går förlorad.\n"
    );
    let _ = writeln!(out, "## Ändringar\n");
    let _ = writeln!(
        out,
        "| # | Ändring | Avslutar fynd | Berörda konton | Godkänns av |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for (i, c) in plan.changes.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            cell(&what(c)),
            cell(&c.fixes.join(", ")),
            cell(&c.accounts_affected.join(", ")),
            cell(c.owner.as_deref().unwrap_or("-"))
        );
    }
    if !plan.needs_decision.is_empty() {
        let _ = writeln!(out, "\n## Kräver beslut\n");
        let _ = writeln!(
            out,
            "Varje förslag här skulle ta bort behörighet som en regel tillåter.\n"
        );
        let _ = writeln!(
            out,
            "| Förslag | Avslutar fynd | Tar bort tillåten behörighet |"
        );
        let _ = writeln!(out, "|---|---|---|");
        for c in &plan.needs_decision {
            let lost: Vec<String> = c
                .removes_allowed
                .iter()
                .map(|a| format!("{} {} {} ({})", a.account, a.role, a.scope, a.data_source))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&what(c)),
                cell(&c.fixes.join(", ")),
                cell(&lost.join("; "))
            );
        }
    }
    if !plan.not_fixable.is_empty() {
        let _ = writeln!(out, "\n## Åtgärdas inte av planen\n");
        let _ = writeln!(out, "| Fynd | Varför |");
        let _ = writeln!(out, "|---|---|");
        for n in &plan.not_fixable {
            let _ = writeln!(out, "| {} | {} |", cell(&n.finding), cell(&n.why));
        }
    }
    let _ = writeln!(out, "\n## Fynd som planen avslutar\n");
    for line in finding_lines(plan) {
        let _ = writeln!(out, "- {}", cell(&line));
    }
    out
}

fn comment_block(out: &mut String, prefix: &str, plan: &Plan) {
    let lines = finding_lines(plan);
    let _ = writeln!(
        out,
        "{prefix} Fynd som ändringarna avslutar ({}):",
        lines.len()
    );
    for line in lines {
        let _ = writeln!(out, "{prefix}   {line}");
    }
}

/// The comment lines, in an LDIF file or a script, that list the changes
/// made outside the directory (in a business system's roles).
fn outside_directory(out: &mut String, plan: &Plan) {
    let outside: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| !c.action.in_directory())
        .collect();
    if !outside.is_empty() {
        let _ = writeln!(out, "# Utanför katalogen, görs i verksamhetssystemet:");
        for c in outside {
            let _ = writeln!(out, "#   {}", one_line(&what(c)));
        }
    }
}

/// LDIF of the directory changes, for `ldapmodify`.
fn ldif(plan: &Plan) -> Result<Vec<u8>, String> {
    let mut out = String::new();
    comment_block(&mut out, "#", plan);
    let _ = writeln!(out, "#");
    let _ = writeln!(
        out,
        "# Åtgärdsplan från behorig: ändrar medlemskap i katalogens grupper."
    );
    let _ = writeln!(out, "# Tillämpas med: ldapmodify -f <den här filen>");
    outside_directory(&mut out, plan);
    out.push('\n');
    let mut bytes = out.into_bytes();
    let mut created: Vec<&str> = Vec::new();
    for c in &plan.changes {
        if !c.action.in_directory() {
            continue;
        }
        let group = c.group.as_deref().unwrap_or_default();
        let Some(group_dn) = c.group_dn.as_deref() else {
            return Err(format!(
                "LDIF needs the DN of group `{group}`, and the inputs gave none (CSV exports carry no DNs): \
                 read the directory with --ldif or --ldap, or use --format ps1"
            ));
        };
        let attr = c.member_attr.unwrap_or("member");
        let value = if attr == "memberUid" && c.member_kind == Some(MemberKind::Account) {
            c.member.clone().unwrap_or_default()
        } else {
            match c.member_dn.as_deref() {
                Some(dn) => dn.to_string(),
                None => {
                    return Err(format!(
                        "LDIF needs the DN of `{}`, member of `{group}`, and the inputs gave none: \
                         read the directory with --ldif or --ldap, or use --format ps1",
                        c.member.as_deref().unwrap_or_default()
                    ))
                }
            }
        };
        let _ = writeln!(bytes_writer(&mut bytes), "# {}", one_line(&what(c)));
        let w = |b: &mut Vec<u8>, n: &str, v: &str| crate::sources::ldif::write_line(b, n, v);
        if c.empties_group && matches!(c.object_class, Some("groupOfNames" | "groupOfUniqueNames"))
        {
            // `groupOfNames` and `groupOfUniqueNames` must keep a member:
            // a group left with none goes.
            bytes.extend_from_slice(b"# Gruppen blir tom och tas bort.\n");
            w(&mut bytes, "dn", group_dn).map_err(|e| e.to_string())?;
            bytes.extend_from_slice(b"changetype: delete\n\n");
            continue;
        }
        w(&mut bytes, "dn", group_dn).map_err(|e| e.to_string())?;
        if c.creates_group && !created.contains(&group) {
            created.push(group);
            let class = match (c.object_class, attr) {
                (Some("group"), _) => "group",
                (_, "uniqueMember") => "groupOfUniqueNames",
                _ => "groupOfNames",
            };
            bytes.extend_from_slice(format!("changetype: add\nobjectClass: {class}\n").as_bytes());
            w(&mut bytes, "cn", group).map_err(|e| e.to_string())?;
            if class == "group" {
                w(&mut bytes, "sAMAccountName", group).map_err(|e| e.to_string())?;
            }
            w(&mut bytes, attr, &value).map_err(|e| e.to_string())?;
            bytes.push(b'\n');
            continue;
        }
        bytes.extend_from_slice(b"changetype: modify\n");
        let op = if c.action == Action::AddMember {
            "add"
        } else {
            "delete"
        };
        bytes.extend_from_slice(format!("{op}: {attr}\n").as_bytes());
        w(&mut bytes, attr, &value).map_err(|e| e.to_string())?;
        bytes.extend_from_slice(b"-\n\n");
    }
    Ok(bytes)
}

fn bytes_writer(bytes: &mut Vec<u8>) -> impl std::fmt::Write + '_ {
    struct W<'b>(&'b mut Vec<u8>);
    impl std::fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    W(bytes)
}

/// A PowerShell single-quoted string: every kind of single quote that
/// PowerShell accepts is doubled.
fn ps_quote(text: &str) -> String {
    let mut s = String::from("'");
    for c in text.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            s.push(c);
        }
        if !c.is_control() {
            s.push(c);
        }
    }
    s.push('\'');
    s
}

/// A PowerShell script for Active Directory; a dry run (`-WhatIf`)
/// unless started with `-Apply`.
fn powershell(plan: &Plan) -> String {
    let mut out = String::new();
    comment_block(&mut out, "#", plan);
    let directory = plan
        .changes
        .iter()
        .filter(|c| c.action.in_directory())
        .count();
    let _ = writeln!(out, "#");
    let _ = writeln!(out, "# Åtgärdsplan från behorig för Active Directory.");
    let _ = writeln!(
        out,
        "# Skriptet gör {directory} ändringar av gruppmedlemskap (Remove-ADGroupMember, Add-ADGroupMember)."
    );
    let _ = writeln!(
        out,
        "# Utan -Apply körs varje rad med -WhatIf: inget ändras, PowerShell visar vad som skulle ske."
    );
    let _ = writeln!(out, "# Kör med -Apply först när ändringarna är godkända.");
    outside_directory(&mut out, plan);
    out.push_str("\nparam([switch]$Apply)\n\n$ErrorActionPreference = 'Stop'\n$WhatIf = -not $Apply\nImport-Module ActiveDirectory\n");
    let mut created: Vec<&str> = Vec::new();
    for c in &plan.changes {
        let cmdlet = match c.action {
            Action::RemoveMember => "Remove-ADGroupMember",
            Action::AddMember => "Add-ADGroupMember",
            _ => continue,
        };
        let identity = c
            .group_dn
            .as_deref()
            .or(c.group.as_deref())
            .unwrap_or_default();
        let member = match c.member_kind {
            Some(MemberKind::Group) => c.member_dn.as_deref().or(c.member.as_deref()),
            _ => c.member.as_deref(),
        }
        .unwrap_or_default();
        let _ = writeln!(out, "\n# {}", one_line(&what(c)));
        if !c.fixes.is_empty() {
            let _ = writeln!(out, "# Avslutar {} fynd", c.fixes.len());
        }
        if let Some(owner) = &c.owner {
            let _ = writeln!(out, "# Godkänns av: {}", one_line(owner));
        }
        if c.creates_group && !created.contains(&identity) {
            created.push(identity);
            let name = c.group.as_deref().unwrap_or_default();
            let path = c
                .group_dn
                .as_deref()
                .and_then(|dn| dn.split_once(','))
                .map(|(_, parent)| format!(" -Path {}", ps_quote(parent)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "New-ADGroup -Name {} -SamAccountName {} -GroupScope Global -GroupCategory Security{path} -WhatIf:$WhatIf",
                ps_quote(name),
                ps_quote(name)
            );
        }
        let confirm = if c.action == Action::RemoveMember {
            " -Confirm:$false"
        } else {
            ""
        };
        let line = format!(
            "{cmdlet} -Identity {} -Members {}{confirm}",
            ps_quote(identity),
            ps_quote(member)
        );
        if c.creates_group {
            // A dry run creates no group, so there is nothing to add to.
            let _ = writeln!(
                out,
                "if ($Apply) {{ {line} }} else {{ Write-Output {} }}",
                ps_quote(&format!("What if: {line}"))
            );
        } else {
            let _ = writeln!(out, "{line} -WhatIf:$WhatIf");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_quote_powershell_knows_is_doubled() {
        assert_eq!(ps_quote("O'Brien"), "'O''Brien'");
        assert_eq!(ps_quote("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(ps_quote("x\ny"), "'xy'");
    }
}
