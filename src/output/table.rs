//! The terminal table: findings grouped by data source, worst first,
//! readable at 80 columns; colour only when asked for.

use comfy_table::{presets, Cell, Color, ContentArrangement, Table};

use crate::findings::{Classification, Finding, Severity};
use crate::report::Report;

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
        (Some(r), Some(s)) => parts.push(format!("{r} på {s}")),
        (Some(r), None) => parts.push(r.clone()),
        (None, Some(s)) => parts.push(s.clone()),
        (None, None) if !f.roles.is_empty() => parts.push(f.roles.join(" + ")),
        (None, None) => {}
    }
    if let Some(n) = f.accounts {
        parts.push(format!("{n} konton"));
    }
    parts.join(", ")
}

/// `N kritiska, N höga, ...` for the severities present.
pub fn severity_counts(findings: &[&Finding]) -> String {
    Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.severity == *s).count();
            (n > 0).then(|| format!("{n} {}", s.label_sv()))
        })
        .collect::<Vec<_>>()
        .join(", ")
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
            out.push_str(&format!("{} ({}): inga fynd\n", source.name, source.id));
            continue;
        }
        out.push_str(&format!(
            "{} ({}): {} fynd ({})\n",
            source.name,
            source.id,
            findings.len(),
            severity_counts(&findings)
        ));
        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(80);
        if color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table.set_header(vec!["Id", "Nivå", "Regel", "Konto/grupp", "Behörighet", "Via"]);
        for f in findings {
            let severity = Cell::new(f.severity.label_sv());
            let severity = if color {
                severity.fg(severity_color(f.severity))
            } else {
                severity
            };
            table.add_row(vec![
                Cell::new(&f.id[..8.min(f.id.len())]),
                severity,
                Cell::new(f.rule.id()),
                Cell::new(subject(f)),
                Cell::new(access(f)),
                Cell::new(f.via.join(" → ")),
            ]);
        }
        out.push_str(&table.to_string());
        out.push('\n');
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
            "Totalt {} fynd: {}. Klassning: {}.\n",
            report.findings.len(),
            severity_counts(&all),
            class_text
        ));
    }
    out
}
