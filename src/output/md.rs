//! `--format md`: a Markdown summary for an e-mail or a ticket: counts per
//! severity, classification and data source, the common causes, the worst
//! findings per source and the totals. Rendered from a minijinja template
//! whose every value is Markdown-escaped.

use minijinja::{context, Environment, Error, ErrorKind};
use serde::Serialize;

use super::view;
use crate::findings::{Classification, Finding, Severity, Status};
use crate::report::Report;

const TEMPLATE: &str = include_str!("templates/summary.md");

/// The worst findings listed per data source; the rest are counted.
pub const WORST_PER_SOURCE: usize = 5;

/// Escapes the characters that would turn text into Markdown markup or
/// HTML, and folds line breaks, so that a value stays one piece of text
/// (also inside a table cell).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[derive(Serialize)]
struct Line {
    id: String,
    severity: &'static str,
    rule: &'static str,
    subject: String,
    access: String,
}

#[derive(Serialize)]
struct SourceSummary {
    id: String,
    name: String,
    by_severity: Vec<usize>,
    total: usize,
    worst: Vec<Line>,
    more: usize,
}

#[derive(Serialize)]
struct Count {
    label: &'static str,
    n: usize,
}

pub fn render(report: &Report) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write(report, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Writes the summary to `out`.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let text = text(report).map_err(std::io::Error::other)?;
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn text(report: &Report) -> Result<String, String> {
    let aggregates = view::aggregates(report);
    // The findings a common cause sums up.
    let summed_up: std::collections::HashSet<&str> = aggregates
        .iter()
        .flat_map(|a| a.findings.iter().map(String::as_str))
        .collect();
    let sources: Vec<SourceSummary> = report
        .sources
        .iter()
        .map(|s| {
            let fs = report.findings_of(&s.id);
            // A common cause is one line; the findings it sums up are left out.
            let mut worst: Vec<Line> = aggregates
                .iter()
                .filter(|a| a.data_source == s.id)
                .map(|a| Line {
                    id: String::new(),
                    severity: a.severity_label,
                    rule: crate::findings::Rule::UnauthorizedAccess.id(),
                    subject: format!("{} (grupp)", a.group),
                    access: if a.scope.is_empty() || a.scope == "*" {
                        format!("{}, {} konton", a.role, a.count)
                    } else {
                        format!("{} på {}, {} konton", a.role, a.scope, a.count)
                    },
                })
                .collect();
            let summed: usize = aggregates
                .iter()
                .filter(|a| a.data_source == s.id)
                .map(|a| a.count)
                .sum();
            let single: Vec<&&Finding> = fs
                .iter()
                .filter(|f| !summed_up.contains(f.id.as_str()))
                .collect();
            let room = WORST_PER_SOURCE.saturating_sub(worst.len()).max(3);
            worst.extend(single.iter().take(room).map(|f| Line {
                id: f.id.clone(),
                severity: f.severity.label_sv(),
                rule: f.rule.id(),
                subject: view::subject(f),
                access: view::access(f),
            }));
            SourceSummary {
                id: s.id.clone(),
                name: s.name.clone(),
                by_severity: Severity::ALL
                    .iter()
                    .map(|sev| fs.iter().filter(|f| f.severity == *sev).count())
                    .collect(),
                total: fs.len(),
                worst,
                more: fs.len().saturating_sub(summed + room.min(single.len())),
            }
        })
        .collect();
    let by_severity = report.count_by_severity();
    let severities: Vec<Count> = Severity::ALL
        .iter()
        .map(|s| Count {
            label: s.label_sv(),
            n: by_severity.get(s).copied().unwrap_or(0),
        })
        .collect();
    let by_class = report.count_by_classification();
    let class_text = Classification::ALL
        .iter()
        .filter_map(|c| by_class.get(c).map(|n| format!("{} {n}", c.label_sv())))
        .collect::<Vec<_>>()
        .join(", ");

    let mut env = Environment::new();
    env.set_formatter(|out, _state, value| {
        let text = if value.is_none() || value.is_undefined() {
            String::new()
        } else if value.is_safe() {
            value.to_string()
        } else {
            escape(&value.to_string())
        };
        out.write_str(&text)
            .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write Markdown"))
    });
    env.add_template("summary.md", TEMPLATE)
        .map_err(|e| format!("cannot render Markdown: {e}"))?;
    let template = env
        .get_template("summary.md")
        .map_err(|e| format!("cannot render Markdown: {e}"))?;
    let text = template
        .render(context! {
            as_of => report.as_of.to_string(),
            version => env!("CARGO_PKG_VERSION"),
            accounts => report.accounts,
            groups => report.groups,
            total => report.findings.len(),
            severity_text => view::severity_counts(&report.findings.iter().collect::<Vec<_>>()),
            class_text,
            has_status => report.findings.iter().any(|f| f.status.is_some()),
            new_count => report.findings.iter().filter(|f| f.status == Some(Status::New)).count(),
            resolved => report.resolved.len(),
            excepted => report.excepted.len(),
            sources,
            severities,
            aggregates,
            exception_notes => view::exception_notes(report),
        })
        .map_err(|e| format!("cannot render Markdown: {e}"))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<b>x</b> | *y*\nz"),
            "\\<b\\>x\\</b\\> \\| \\*y\\* z"
        );
        assert_eq!(escape("anna.berg"), "anna.berg");
    }
}
