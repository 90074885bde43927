//! The terminal table: findings grouped by data source (worst first) and
//! within it by rule, readable at 80 columns; colour only when asked for.
//! With a history (`--state`) every finding shows whether it is new, its
//! age, and for IMY findings the time left of the 72-hour window; resolved
//! and excepted findings follow the findings.

use chrono::NaiveDateTime;
use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};

use super::view::{access, severity_counts, subject};
use crate::findings::{Classification, Finding, Severity, Status};
use crate::report::Report;

/// GDPR art. 33: report to IMY within 72 hours of becoming aware.
const IMY_HOURS: i64 = 72;

fn severity_color(s: Severity) -> Color {
    match s {
        Severity::Critical => Color::Red,
        Severity::High => Color::Yellow,
        Severity::Medium => Color::Cyan,
        Severity::Low => Color::Grey,
    }
}

/// Text from exports, with its control characters escaped: a name must
/// not move the cursor or colour the terminal.
fn shown(text: String) -> String {
    match crate::text::escape_controls(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
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

/// Hours as `5 h` below two days, else `3 d`.
fn duration_text(hours: i64) -> String {
    if hours < 48 {
        format!("{hours} h")
    } else {
        format!("{} d", hours / 24)
    }
}

/// `2026-11-21T06:00:00` → `2026-11-21 06:00`.
fn minutes(time: &str) -> String {
    time.replace('T', " ").chars().take(16).collect()
}

/// Hours from a finding's `first_seen` to the run's as-of time.
fn age_hours(first_seen: Option<&str>, now: NaiveDateTime) -> Option<i64> {
    let first = NaiveDateTime::parse_from_str(first_seen?, "%Y-%m-%dT%H:%M:%S").ok()?;
    Some((now - first).num_hours().max(0))
}

/// The `Upptäckt` cell: new or how long ago, and the IMY window.
fn discovered(f: &Finding, now: NaiveDateTime) -> String {
    let age = age_hours(f.first_seen.as_deref(), now).unwrap_or(0);
    let mut text = match f.status {
        Some(Status::New) => "NY".to_string(),
        _ if age == 0 => "sedan < 1 h".to_string(),
        _ => format!("sedan {}", duration_text(age)),
    };
    if f.classification.contains(&Classification::Imy) {
        let left = IMY_HOURS - age;
        match left {
            1.. => text.push_str(&format!("\nIMY: {left} h kvar")),
            0 => text.push_str("\nIMY: 72 h har gått"),
            _ => text.push_str(&format!("\nIMY: {} försenad", duration_text(-left))),
        }
    }
    text
}

fn plain_table(color: bool, width: u16) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// The `Använd` cell: whether the access logs show the access used.
fn use_text(f: &Finding) -> String {
    match &f.usage {
        Some(Some(u)) if u.events > 0 => {
            let mut text = match u.accounts_used {
                Some(n) => format!("JA ({n} konton, {} händ.)", u.events),
                None => format!("JA ({} händ.)", u.events),
            };
            if f.used_since_last_run == Some(true) {
                text.push_str("\nsedan förra körningen");
            }
            text
        }
        Some(Some(_)) => "nej".to_string(),
        Some(None) => "ingen logg".to_string(),
        None => String::new(),
    }
}

/// A group's findings with those whose access was used first (otherwise
/// in report order).
fn used_first<'f>(group: &[&'f Finding]) -> Vec<&'f Finding> {
    let mut sorted = group.to_vec();
    sorted.sort_by_key(|f| crate::evidence::used(f) != Some(true));
    sorted
}

fn short_id(f: &Finding) -> &str {
    &f.id[..8.min(f.id.len())]
}

/// `--only`: the table's rows by what the access logs show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UseFilter {
    /// Findings whose access the logs show used.
    Used,
    /// Findings on logged sources whose access the logs do not show used.
    Unused,
}

impl UseFilter {
    pub fn id(self) -> &'static str {
        match self {
            UseFilter::Used => "used",
            UseFilter::Unused => "unused",
        }
    }

    fn keeps(self, f: &Finding) -> bool {
        match self {
            UseFilter::Used => crate::evidence::used(f) == Some(true),
            UseFilter::Unused => crate::evidence::used(f) == Some(false),
        }
    }
}

/// The table at 80 columns.
pub fn render(report: &Report, color: bool) -> String {
    render_width(report, color, crate::ui::DEFAULT_WIDTH)
}

/// The table filling `width` columns.
pub fn render_width(report: &Report, color: bool, width: u16) -> String {
    render_filtered(report, color, width, None)
}

/// The table filling `width` columns, with only the findings `only` keeps
/// in the sources' sections (the headings and totals count them all).
pub fn render_filtered(
    report: &Report,
    color: bool,
    width: u16,
    only: Option<UseFilter>,
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Behörighetsgranskning per {} · {} konton · {} grupper · {} fynd\n",
        report.as_of,
        report.accounts,
        report.groups,
        report.findings.len()
    ));
    if let Some(h) = &report.history {
        let new = report.count_status(Status::New);
        match &h.previous_run {
            Some((id, as_of)) => out.push_str(&format!(
                "Jämfört med körning {id} (per {}): {new} {}, {} kvarstår, {} åtgärdade\n",
                minutes(as_of),
                if new == 1 { "ny" } else { "nya" },
                report.count_status(Status::Persisting),
                report.resolved.len()
            )),
            None => out.push_str(&format!(
                "Första körningen i historiken: alla {new} fynd är nya\n"
            )),
        }
    }
    if report.exceptions.is_some() {
        out.push_str(&format!(
            "{} fynd undantagna enligt undantagsfilen\n",
            report.excepted.len()
        ));
    }
    if let Some(logs) = &report.logs {
        let used = report
            .findings
            .iter()
            .filter(|f| crate::evidence::used(f) == Some(true))
            .count();
        out.push_str(&format!(
            "Åtkomstloggar: {} rader i {} filer · {used} fynd gäller behörighet som har använts\n",
            logs.rows,
            logs.files.len()
        ));
    }
    if let Some(only) = only {
        let shown = report.findings.iter().filter(|f| only.keeps(f)).count();
        out.push_str(&format!(
            "Visar {shown} av {} fynd: {}\n",
            report.findings.len(),
            match only {
                UseFilter::Used => "bara behörighet som loggarna visar har använts (--only used)",
                UseFilter::Unused =>
                    "bara behörighet som loggarna inte visar har använts (--only unused)",
            }
        ));
    }
    for source in &report.sources {
        let all = report.findings_of(&source.id);
        out.push('\n');
        if all.is_empty() {
            out.push_str(&format!("== {} ({}): inga fynd\n", source.name, source.id));
            continue;
        }
        let findings: Vec<&Finding> = match only {
            Some(only) => all.iter().copied().filter(|f| only.keeps(f)).collect(),
            None => all.clone(),
        };
        if findings.is_empty() {
            out.push_str(&format!(
                "== {} ({}): {} fynd, inget som filtret --only {} visar\n",
                source.name,
                source.id,
                all.len(),
                only.map(UseFilter::id).unwrap_or_default()
            ));
            continue;
        }
        out.push_str(&format!(
            "== {} ({})\n   {} fynd: {}\n",
            source.name,
            source.id,
            all.len(),
            severity_counts(&all)
        ));
        if findings.len() < all.len() {
            out.push_str(&format!(
                "   visas här: {} ({})\n",
                findings.len(),
                severity_counts(&findings)
            ));
        }
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
                .set_width(width);
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
            let mut headings = vec![
                header("Id"),
                header("Konto/grupp"),
                header("Behörighet"),
                header("Via"),
            ];
            if report.history.is_some() {
                headings.push(header("Upptäckt"));
            }
            if report.logs.is_some() {
                headings.push(header("Använd"));
            }
            table.set_header(headings);
            for f in used_first(group) {
                let mut row = vec![
                    Cell::new(short_id(f)),
                    Cell::new(shown(subject(f))),
                    Cell::new(shown(access(f))),
                    Cell::new(shown(via(f))),
                ];
                if let Some(h) = &report.history {
                    let mut cell = Cell::new(discovered(f, h.as_of));
                    if color && f.status == Some(Status::New) {
                        cell = cell.add_attribute(Attribute::Bold);
                    }
                    row.push(cell);
                }
                if report.logs.is_some() {
                    let mut cell = Cell::new(use_text(f));
                    if color && crate::evidence::used(f) == Some(true) {
                        cell = cell.add_attribute(Attribute::Bold);
                    }
                    row.push(cell);
                }
                table.add_row(row);
            }
            out.push_str(&table.to_string());
            out.push('\n');
            start = end;
        }
    }
    resolved_section(report, color, width, &mut out);
    excepted_section(report, color, width, &mut out);
    out.push('\n');
    if report.findings.is_empty() && !report.excepted.is_empty() {
        out.push_str(&format!(
            "Inga fynd utöver de {} undantagna.\n",
            report.excepted.len()
        ));
    } else if report.findings.is_empty() {
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

fn resolved_section(report: &Report, color: bool, width: u16, out: &mut String) {
    if report.history.is_none() || report.resolved.is_empty() {
        return;
    }
    out.push_str(&format!(
        "\n== Åtgärdade sedan förra körningen ({})\n",
        report.resolved.len()
    ));
    let mut table = plain_table(color, width);
    table.set_header(vec![
        "Id",
        "Regel",
        "Konto/grupp",
        "Behörighet",
        "Först sedd",
    ]);
    for f in &report.resolved {
        let what = access(f);
        table.add_row(vec![
            Cell::new(short_id(f)),
            Cell::new(f.rule.id()),
            Cell::new(shown(subject(f))),
            Cell::new(if what.is_empty() {
                f.data_source.clone()
            } else {
                format!("{what} i {}", f.data_source)
            }),
            Cell::new(minutes(f.first_seen.as_deref().unwrap_or(""))),
        ]);
    }
    out.push_str(&table.to_string());
    out.push('\n');
}

fn excepted_section(report: &Report, color: bool, width: u16, out: &mut String) {
    let Some(uses) = &report.exceptions else {
        return;
    };
    if !report.excepted.is_empty() {
        out.push_str(&format!(
            "\n== Undantagna fynd ({})\n",
            report.excepted.len()
        ));
        let mut table = plain_table(color, width);
        table.set_header(vec!["Id", "Källa", "Regel", "Konto/grupp", "Undantag"]);
        for f in &report.excepted {
            let by = crate::exceptions::exception_for(uses, &f.id)
                .map(|u| {
                    format!(
                        "{}\nt.o.m. {}, {}",
                        u.exception.location(),
                        u.exception.expires,
                        u.exception.approved_by
                    )
                })
                .unwrap_or_default();
            table.add_row(vec![
                Cell::new(short_id(f)),
                Cell::new(&f.data_source),
                Cell::new(f.rule.id()),
                Cell::new(shown(subject(f))),
                Cell::new(by),
            ]);
        }
        out.push_str(&table.to_string());
        out.push('\n');
    }
    let notes: Vec<String> = super::view::exception_note_parts(report)
        .into_iter()
        .map(|(at, covers, what)| format!("  {at}  {covers} — {what}\n"))
        .collect();
    if !notes.is_empty() {
        out.push_str("\nUndantag att se över:\n");
        notes.iter().for_each(|n| out.push_str(n));
    }
}
