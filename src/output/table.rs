//! The terminal table: findings grouped by data source (worst first) and
//! within it by rule, readable at 80 columns; colour only when asked for.

use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};

use crate::findings::{Classification, Finding, Severity};
use crate::report::Report;

const WIDTH: u16 = 80;

fn severity_color(s: Severity) -> Color {
    match s {
        Severity::Critical => Color::Red,
        Severity::High => Color::Yellow,
        Severity::Medium => Color::Cyan,
        Severity::Low => Color::Grey,
    }
}

fn subject(f: &Finding) -> String {
    match (&f.account, &f.group) {
        (Some(a), _) => a.clone(),
        (None, Some(g)) => g.clone(),
        (None, None) => f
            .allow
            .as_ref()
            .map(|a| format!("regel {a}"))
            .unwrap_or_default(),
    }
}

fn access(f: &Finding) -> String {
    let mut parts = Vec::new();
    match (&f.role, &f.scope) {
        (Some(r), Some(s)) if s != "*" => parts.push(format!("{r} på {s}")),
        (Some(r), _) => parts.push(r.clone()),
        (None, _) if !f.roles.is_empty() => parts.push(f.roles.join(" + ")),
        (None, _) => {}
    }
    if let Some(n) = f.accounts {
        parts.push(format!("{n} konton"));
    }
    parts.join(", ")
}

fn via(f: &Finding) -> String {
    if !f.via.is_empty() {
        f.via.join(" → ")
    } else if f.account.is_some() {
        // A role export gives the role to the account itself.
        "(direkt)".to_string()
    } else {
        String::new()
    }
}

/// `N kritiska, N höga, ...` for the severities present.
pub fn severity_counts(findings: &[&Finding]) -> String {
    Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.severity == *s).count();
            let word = if n == 1 { s.label_sv() } else { s.plural_sv() };
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn paint(text: String, color: Option<Color>, enabled: bool) -> String {
    match color {
        Some(c) if enabled => {
            let code = match c {
                Color::Red => 31,
                Color::Yellow => 33,
                Color::Cyan => 36,
                _ => 90,
            };
            format!("\x1b[{code}m{text}\x1b[0m")
        }
        _ => text,
    }
}

pub fn render(report: &Report, color: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Behörighetsgranskning per {} · {} konton · {} grupper · {} fynd\n",
        report.as_of,
        report.accounts,
        report.groups,
        report.findings.len()
    ));
    for source in &report.sources {
        let findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.data_source == source.id)
            .collect();
        out.push('\n');
        if findings.is_empty() {
            out.push_str(&format!("== {} ({}): inga fynd\n", source.name, source.id));
            continue;
        }
        out.push_str(&format!(
            "== {} ({})\n   {} fynd: {}\n",
            source.name,
            source.id,
            findings.len(),
            severity_counts(&findings)
        ));
        let mut start = 0;
        while start < findings.len() {
            let first = findings[start];
            let end = findings[start..]
                .iter()
                .position(|f| f.rule != first.rule || f.severity != first.severity)
                .map(|n| start + n)
                .unwrap_or(findings.len());
            let group = &findings[start..end];
            let heading = format!(
                "{} · {} · {} ({})",
                first.severity.label_sv(),
                first.rule.id(),
                first.rule.title_sv(),
                group.len()
            );
            out.push('\n');
            out.push_str(&paint(heading, Some(severity_color(first.severity)), color));
            out.push('\n');
            let mut table = Table::new();
            table
                .load_preset(presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(WIDTH);
            if color {
                table.enforce_styling();
            } else {
                table.force_no_tty();
            }
            let header = |s: &str| {
                let c = Cell::new(s);
                if color {
                    c.add_attribute(Attribute::Bold)
                } else {
                    c
                }
            };
            table.set_header(vec![
                header("Id"),
                header("Konto/grupp"),
                header("Behörighet"),
                header("Via"),
            ]);
            for f in group {
                table.add_row(vec![
                    Cell::new(&f.id[..8.min(f.id.len())]),
                    Cell::new(subject(f)),
                    Cell::new(access(f)),
                    Cell::new(via(f)),
                ]);
            }
            out.push_str(&table.to_string());
            out.push('\n');
            start = end;
        }
    }
    out.push('\n');
    if report.findings.is_empty() {
        out.push_str("Inga fynd: all behörighet som lästes täcks av policyerna.\n");
    } else {
        let all: Vec<&Finding> = report.findings.iter().collect();
        let classes = report.count_by_classification();
        let class_text = Classification::ALL
            .iter()
            .filter_map(|c| classes.get(c).map(|n| format!("{} {n}", c.label_sv())))
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "Totalt {} fynd: {}.\nKlassning: {}.\n",
            report.findings.len(),
            severity_counts(&all),
            class_text
        ));
    }
    out
}
