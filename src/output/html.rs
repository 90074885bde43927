//! `--format html`: the review page. One self-contained file (inline CSS and
//! JS, inline SVG charts, nothing loaded from anywhere) in Swedish, rendered
//! from a minijinja template with every value HTML-escaped. The page opens
//! on a summary, charts and the common causes; the findings travel as one
//! compact JSON block (every text once, rows as indexes into it) from which
//! the page's script renders table rows on demand (as a cause or filter
//! opens them, or as the reader scrolls), each a `<tr data-finding="<id>">`
//! once shown. All findings filter, search and sort in the browser, and the
//! page prints whole.

use std::collections::{BTreeMap, HashSet};

use rustc_hash::FxHashMap;
use std::rc::Rc;

use minijinja::{context, Environment, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::view::{self, Aggregate, Step};
use crate::exceptions;
use crate::findings::{Classification, Finding, Rule, Severity, Status};
use crate::report::Report;

const TEMPLATE: &str = include_str!("templates/review.html");

/// The most findings for which the page shows the remediation plan's
/// changes (the plan's search grows with the square of the findings).
pub const PLAN_MAX_FINDINGS: usize = 1_000;
const STYLE: &str = include_str!("templates/review.css");
const SCRIPT: &str = include_str!("templates/review.js");

#[derive(Serialize)]
struct Count {
    id: &'static str,
    label: String,
    n: usize,
}

#[derive(Serialize)]
struct Row {
    id: String,
    rule: &'static str,
    rule_title: &'static str,
    severity: &'static str,
    severity_label: &'static str,
    severity_rank: u8,
    classification: String,
    class_labels: Vec<&'static str>,
    source_id: String,
    source_name: String,
    source_rank: usize,
    subject: String,
    subject_kind: &'static str,
    access: String,
    path: Vec<Step>,
    grant: Option<String>,
    message: String,
    status: &'static str,
    status_label: &'static str,
    first_seen: Option<String>,
    /// With a history: how the IMY 72-hour window stands for an `imy`
    /// finding.
    imy_clock: Option<String>,
    aggregate: Option<String>,
    /// With access logs: `used`, `unused` or `nolog`, the events (-1
    /// without a log, to sort by) and the cell's text.
    use_state: &'static str,
    use_events: i64,
    use_text: String,
    /// For an excepted finding: the exception that moved it.
    exception: Option<ExceptionNote>,
    /// The fields an exception matches on, for the page's download.
    account: Option<String>,
    group: Option<String>,
    role: Option<String>,
    scope: Option<String>,
    /// The plan's change that ends the finding.
    change: Option<String>,
}

#[derive(Serialize)]
struct ExceptionNote {
    location: String,
    reason: String,
    approved_by: String,
    expires: String,
}

/// The hours GDPR art. 33 gives for a report to IMY.
const IMY_HOURS: i64 = 72;

fn duration_sv(hours: i64) -> String {
    if hours < 48 {
        format!("{hours} h")
    } else {
        format!("{} dagar", hours / 24)
    }
}

/// "IMY: 40 h kvar", or how late a report is, counted from when the
/// finding was first seen to this run.
fn imy_clock(f: &Finding, now: Option<chrono::NaiveDateTime>) -> Option<String> {
    if !f.classification.contains(&Classification::Imy) {
        return None;
    }
    let first =
        chrono::NaiveDateTime::parse_from_str(f.first_seen.as_deref()?, "%Y-%m-%dT%H:%M:%S")
            .ok()?;
    let age = (now? - first).num_hours().max(0);
    let left = IMY_HOURS - age;
    Some(match left {
        1.. => format!("IMY: {left} h kvar"),
        0 => "IMY: 72 h har gått".to_string(),
        _ => format!("IMY: {} försenad", duration_sv(-left)),
    })
}

/// What a history run says about itself, as in the terminal table.
fn history_text(report: &Report) -> Option<String> {
    let h = report.history.as_ref()?;
    let new = report.count_status(Status::New);
    Some(match &h.previous_run {
        Some((id, as_of)) => format!(
            "Jämfört med körning {id} (per {}): {new} {}, {} kvarstår, {} åtgärdade.",
            datetime_sv(as_of),
            if new == 1 { "ny" } else { "nya" },
            report.count_status(Status::Persisting),
            report.resolved.len()
        ),
        None => format!("Första körningen i historiken: alla {new} fynd är nya."),
    })
}

#[derive(Serialize)]
struct SourceRow {
    id: String,
    name: String,
    controller: Option<String>,
    confidentiality: Option<String>,
    total: usize,
    by_severity: Vec<usize>,
}

/// One stacked bar of a chart: its label, where it sits and its parts.
#[derive(Serialize)]
struct Bar {
    label: String,
    /// The label cut to fit beside the bars.
    short_label: String,
    total: usize,
    /// Position across the chart's axis (y for horizontal bars, x for
    /// vertical ones).
    pos: f64,
    /// Where the total's label goes along the bar.
    end: f64,
    segments: Vec<Segment>,
}

#[derive(Serialize)]
struct Segment {
    severity: &'static str,
    label: &'static str,
    n: usize,
    start: f64,
    len: f64,
    /// Whether the count fits inside the segment.
    labelled: bool,
}

#[derive(Serialize)]
struct Chart {
    width: f64,
    height: f64,
    bars: Vec<Bar>,
    /// The text alternative for screen readers.
    description: String,
}

fn stack(counts: &BTreeMap<Severity, usize>, scale: f64, origin: f64) -> (Vec<Segment>, f64) {
    let mut at = origin;
    let mut segments = Vec::new();
    for s in Severity::ALL {
        let n = counts.get(&s).copied().unwrap_or(0);
        if n == 0 {
            continue;
        }
        let len = n as f64 * scale;
        segments.push(Segment {
            severity: s.id(),
            label: s.label_sv(),
            n,
            start: round(at),
            len: round(len),
            labelled: len >= 22.0,
        });
        at += len;
    }
    (segments, round(at))
}

/// A contract date-time (`YYYY-MM-DDTHH:MM:SS`) as a reader writes it:
/// `YYYY-MM-DD HH:MM`, or the date alone at midnight.
fn datetime_sv(text: &str) -> String {
    match text.split_once('T') {
        Some((date, "00:00:00")) => date.to_string(),
        Some((date, time)) => format!("{date} {}", time.get(..5).unwrap_or(time)),
        None => text.to_string(),
    }
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

const LABEL_WIDTH: f64 = 290.0;
const BAR_AREA: f64 = 560.0;
const ROW_HEIGHT: f64 = 30.0;

/// Findings per data source by severity, as horizontal stacked bars.
/// Each data source's findings by severity (sources without findings
/// left out), counted in one pass over the findings.
fn severities_by_source(report: &Report) -> FxHashMap<&str, BTreeMap<Severity, usize>> {
    let mut by_source: FxHashMap<&str, BTreeMap<Severity, usize>> = FxHashMap::default();
    for f in &report.findings {
        *by_source
            .entry(f.data_source.as_str())
            .or_default()
            .entry(f.severity)
            .or_insert(0) += 1;
    }
    by_source
}

fn source_chart(report: &Report, by_source: &FxHashMap<&str, BTreeMap<Severity, usize>>) -> Chart {
    let rows: Vec<(String, BTreeMap<Severity, usize>, usize)> = report
        .sources
        .iter()
        .map(|s| {
            let m = by_source.get(s.id.as_str()).cloned().unwrap_or_default();
            let total = m.values().sum();
            (s.name.clone(), m, total)
        })
        .collect();
    let max = rows.iter().map(|r| r.2).max().unwrap_or(0).max(1);
    let scale = BAR_AREA / max as f64;
    let bars: Vec<Bar> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (label, counts, total))| {
            let (segments, end) = stack(&counts, scale, LABEL_WIDTH);
            Bar {
                short_label: shorten(&label, 44),
                label,
                total,
                pos: i as f64 * ROW_HEIGHT + 8.0,
                end,
                segments,
            }
        })
        .collect();
    let description = bars
        .iter()
        .map(|b| format!("{}: {} fynd", b.label, b.total))
        .collect::<Vec<_>>()
        .join("; ");
    Chart {
        width: LABEL_WIDTH + BAR_AREA + 50.0,
        height: bars.len() as f64 * ROW_HEIGHT + 12.0,
        bars,
        description: format!("Fynd per datakälla. {description}."),
    }
}

const TREND_HEIGHT: f64 = 200.0;
const TREND_STEP: f64 = 96.0;

/// Findings per recorded run by severity, as vertical stacked bars
/// (segments run upwards from the baseline).
fn trend_chart(report: &Report) -> Option<Chart> {
    if report.trend.is_empty() {
        return None;
    }
    let max = report
        .trend
        .iter()
        .map(|p| p.findings.max(p.by_severity.values().sum()))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = (TREND_HEIGHT - 30.0) / max as f64;
    let bars: Vec<Bar> = report
        .trend
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (segments, end) = stack(&p.by_severity, scale, 0.0);
            let label = datetime_sv(&p.as_of);
            Bar {
                short_label: label.clone(),
                label,
                total: p.findings,
                pos: i as f64 * TREND_STEP + 40.0,
                end,
                segments,
            }
        })
        .collect();
    let description = bars
        .iter()
        .map(|b| format!("{}: {} fynd", b.label, b.total))
        .collect::<Vec<_>>()
        .join("; ");
    Some(Chart {
        width: (bars.len() as f64 * TREND_STEP + 60.0).max(300.0),
        height: TREND_HEIGHT + 40.0,
        bars,
        description: format!("Fynd per körning. {description}."),
    })
}

/// The plan's change that ends each finding, as text, by finding id (the
/// first change that names it).
fn changes_by_finding(report: &Report) -> FxHashMap<&str, Rc<str>> {
    let mut by_id = FxHashMap::default();
    for c in report.plan.iter().flat_map(|p| p.changes.iter()) {
        let text: Rc<str> = crate::plan::render::what(c).into();
        for id in &c.fixes {
            by_id.entry(id.as_str()).or_insert_with(|| text.clone());
        }
    }
    by_id
}

/// Texts, each kept once, by their place in the list.
#[derive(Default)]
struct Strings {
    list: Vec<Rc<str>>,
    index: FxHashMap<Rc<str>, u32>,
}

impl Strings {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(&n) = self.index.get(text) {
            return n;
        }
        let n = self.list.len() as u32;
        let text: Rc<str> = text.into();
        self.list.push(text.clone());
        self.index.insert(text, n);
        n
    }

    /// The index of `text` as JSON, or `-1` for none.
    fn opt(&mut self, text: Option<&str>) -> i64 {
        text.map_or(-1, |t| i64::from(self.id(t)))
    }
}

/// The columns of one finding in the page's data block, in order; text
/// columns hold an index into the block's `s` list (`-1`: none).
pub const DATA_COLUMNS: [&str; 22] = [
    "id",
    "rule",
    "severity",
    "classification",
    "source",
    "subject",
    "subject_kind",
    "access",
    "path",
    "message",
    "status",
    "first_seen",
    "imy_clock",
    "aggregate",
    "use_state",
    "use_events",
    "use_text",
    "account",
    "group",
    "role",
    "scope",
    "change",
];

/// The findings as the page's data block: `{"s": [texts], "f": [rows]}`,
/// each row the [`DATA_COLUMNS`]. `path` is a flat list of (kind, text)
/// index pairs; `message` is the index of the text after the subject when
/// the message starts with it, else `-2 - index` of the whole message.
/// Written for a `<script type="application/json">` element: every `<` is
/// escaped, so no text can end the element.
/// Appends `value` as JSON to `out` with every `<` escaped (`\u003c`), so
/// that no text can end the `<script>` element it is written into. Written
/// as it is serialised: no copy of the JSON is made.
fn push_json(out: &mut String, value: &impl serde::Serialize) {
    struct ScriptSafe<'a>(&'a mut String);
    impl std::io::Write for ScriptSafe<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            // `serde_json` writes whole characters: its pieces end at ASCII
            // punctuation or at the end of a string.
            let text = std::str::from_utf8(buf).map_err(std::io::Error::other)?;
            let mut parts = text.split('<');
            if let Some(first) = parts.next() {
                self.0.push_str(first);
            }
            for part in parts {
                self.0.push_str("\\u003c");
                self.0.push_str(part);
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // Texts, numbers and maps of them serialise without failing.
    let _ = serde_json::to_writer(ScriptSafe(out), value);
}

fn findings_data(
    report: &Report,
    aggregate_of: &FxHashMap<&str, &str>,
    change_of: &FxHashMap<&str, Rc<str>>,
) -> String {
    use std::fmt::Write as _;
    let mut strings = Strings::default();
    // About 200 bytes a finding at tens of thousands of findings.
    let mut out = String::with_capacity(report.findings.len() * 224 + 1024);
    out.push_str("{\"f\":[");
    let as_of = report.history.as_ref().map(|h| h.as_of);
    let mut classification = String::new();
    // Each row's columns are read from its finding as it is written: the
    // page's rows (`row`) would copy a dozen texts the block never shows.
    for (n, f) in report.findings.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        // Ids are hex fingerprints; written as JSON all the same.
        out.push('[');
        push_json(&mut out, &f.id);
        class_ids(f, &mut classification);
        let subject = view::subject(f);
        let _ = write!(
            out,
            ",{},{},{},{},{},{},{},[",
            strings.id(f.rule.id()),
            strings.id(f.severity.id()),
            strings.id(&classification),
            strings.id(&f.data_source),
            strings.id(&subject),
            strings.id(view::subject_kind(f)),
            strings.id(&view::access(f)),
        );
        for (k, step) in view::path(f).iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            let _ = write!(out, "{},{}", strings.id(step.kind), strings.id(&step.text));
        }
        let message = match f.message.strip_prefix(subject.as_str()) {
            Some(rest) if !subject.is_empty() => i64::from(strings.id(rest)),
            _ => -2 - i64::from(strings.id(&f.message)),
        };
        let (status, _) = status_of(f);
        let (use_state, use_events, use_text) = usage_of(f);
        let _ = write!(
            out,
            "],{message},{},{},{},{},{},{},{},{},{},{},{},{}]",
            strings.id(status),
            strings.opt(f.first_seen.as_deref().map(datetime_sv).as_deref()),
            strings.opt(imy_clock(f, as_of).as_deref()),
            strings.opt(aggregate_of.get(f.id.as_str()).copied()),
            strings.id(use_state),
            use_events,
            strings.id(&use_text),
            strings.opt(f.account.as_deref()),
            strings.opt(f.group.as_deref()),
            strings.opt(f.role.as_deref()),
            strings.opt(f.scope.as_deref()),
            strings.opt(change_of.get(f.id.as_str()).map(|c| &**c)),
        );
    }
    out.push_str("],\"s\":");
    // Besides the ids, only the texts can hold a `<`.
    let texts: Vec<&str> = strings.list.iter().map(|t| &**t).collect();
    push_json(&mut out, &texts);
    // What the script shows for the ids of rules, severities, sources and
    // classifications, and the rank each sorts by.
    let names = serde_json::json!({
        "rules": Rule::ALL.iter().map(|r| (r.id(), r.title_sv())).collect::<BTreeMap<_, _>>(),
        "severities": Severity::ALL.iter().map(|s| (s.id(), (s.label_sv(), severity_rank(*s)))).collect::<BTreeMap<_, _>>(),
        "sources": report.sources.iter().enumerate().map(|(i, s)| (s.id.as_str(), (s.name.as_str(), i))).collect::<BTreeMap<_, _>>(),
        "classes": Classification::ALL.iter().map(|c| (c.id(), c.label_sv())).collect::<BTreeMap<_, _>>(),
    });
    out.push_str(",\"names\":");
    push_json(&mut out, &names);
    out.push('}');
    out
}

fn row(
    report: &Report,
    f: &Finding,
    aggregate_of: &FxHashMap<&str, &str>,
    change_of: &FxHashMap<&str, Rc<str>>,
) -> Row {
    let source = report.source(&f.data_source);
    let (status, status_label) = status_of(f);
    let (use_state, use_events, use_text) = usage_of(f);
    let mut classification = String::new();
    class_ids(f, &mut classification);
    Row {
        id: f.id.clone(),
        rule: f.rule.id(),
        rule_title: f.rule.title_sv(),
        severity: f.severity.id(),
        severity_label: f.severity.label_sv(),
        severity_rank: severity_rank(f.severity),
        classification,
        class_labels: f.classification.iter().map(|c| c.label_sv()).collect(),
        source_id: f.data_source.clone(),
        source_name: source
            .map(|s| s.name.clone())
            .unwrap_or_else(|| f.data_source.clone()),
        source_rank: report
            .sources
            .iter()
            .position(|s| s.id == f.data_source)
            .unwrap_or(report.sources.len()),
        subject: view::subject(f),
        subject_kind: view::subject_kind(f),
        access: view::access(f),
        path: view::path(f),
        grant: f.grant.clone(),
        message: f.message.clone(),
        status,
        status_label,
        first_seen: f.first_seen.as_deref().map(datetime_sv),
        imy_clock: imy_clock(f, report.history.as_ref().map(|h| h.as_of)),
        aggregate: aggregate_of.get(f.id.as_str()).map(|k| k.to_string()),
        account: f.account.clone(),
        group: f.group.clone(),
        role: f.role.clone(),
        scope: f.scope.clone(),
        change: change_of.get(f.id.as_str()).map(|c| c.to_string()),
        use_state,
        use_events,
        use_text,
        exception: report
            .exceptions
            .as_deref()
            .and_then(|uses| exceptions::exception_for(uses, &f.id))
            .map(|u| ExceptionNote {
                location: u.exception.location(),
                reason: u.exception.reason.clone(),
                approved_by: u.exception.approved_by.clone(),
                expires: u.exception.expires.to_string(),
            }),
    }
}

/// A finding's status with a history: its id and its Swedish label.
fn status_of(f: &Finding) -> (&'static str, &'static str) {
    match f.status {
        Some(Status::New) => ("new", "Ny"),
        Some(Status::Persisting) => ("persisting", "Kvarstår"),
        None => ("", ""),
    }
}

/// The ids of a finding's classifications, space-separated, into `out`.
fn class_ids(f: &Finding, out: &mut String) {
    out.clear();
    for (i, c) in f.classification.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(c.id());
    }
}

/// With access logs: `used`, `unused` or `nolog`, the events (-1 without
/// a log, to sort by) and the cell's text.
fn usage_of(f: &Finding) -> (&'static str, i64, String) {
    match &f.usage {
        Some(Some(u)) => {
            let events = i64::try_from(u.events).unwrap_or(i64::MAX);
            if u.used() {
                let mut text = format!("Ja: {} händelser, {} poster", u.events, u.records);
                if let Some(n) = u.accounts_used {
                    text.push_str(&format!(", {n} konton"));
                }
                if f.used_since_last_run == Some(true) {
                    text.push_str(" (sedan förra körningen)");
                }
                ("used", events, text)
            } else {
                ("unused", events, "Nej".to_string())
            }
        }
        Some(None) => ("nolog", -1, "Ingen logg".to_string()),
        None => ("", -1, String::new()),
    }
}

/// The rank a severity sorts by: 4 for critical down to 1 for low.
fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 4,
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
    }
}

/// Standard base64, for the script's hash in the content security policy.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn render(report: &Report) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write(report, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Writes the review page to `out` as the template renders it, without
/// holding the whole page.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use std::io::Write;
    let failed = |e: String| std::io::Error::other(e);
    let aggregates: Vec<Aggregate> = view::aggregates(report);
    let aggregate_of: FxHashMap<&str, &str> = aggregates
        .iter()
        .flat_map(|a| a.findings.iter().map(|id| (id.as_str(), a.key.as_str())))
        .collect();
    let by_severity = report.count_by_severity();
    let severities: Vec<Count> = Severity::ALL
        .iter()
        .map(|s| Count {
            id: s.id(),
            label: s.label_sv().to_string(),
            n: by_severity.get(s).copied().unwrap_or(0),
        })
        .collect();
    let by_class = report.count_by_classification();
    let classifications: Vec<Count> = Classification::ALL
        .iter()
        .map(|c| Count {
            id: c.id(),
            label: c.label_sv().to_string(),
            n: by_class.get(c).copied().unwrap_or(0),
        })
        .collect();
    let by_rule = report.count_by_rule();
    let rules: Vec<Count> = Rule::ALL
        .iter()
        .map(|r| Count {
            id: r.id(),
            label: r.title_sv().to_string(),
            n: by_rule.get(r).copied().unwrap_or(0),
        })
        .collect();
    let by_source = severities_by_source(report);
    let sources: Vec<SourceRow> = report
        .sources
        .iter()
        .map(|s| {
            let counts = by_source.get(s.id.as_str());
            let count = |sev: &Severity| counts.and_then(|c| c.get(sev)).copied().unwrap_or(0);
            SourceRow {
                id: s.id.clone(),
                name: s.name.clone(),
                controller: s.controller.clone().or_else(|| {
                    // Each board is the controller of its own scope's data.
                    let boards: Vec<&str> = s
                        .scopes
                        .iter()
                        .filter_map(|scope| report.boards.get(scope).map(String::as_str))
                        .collect();
                    (!boards.is_empty()).then(|| boards.join(", "))
                }),
                confidentiality: s.confidentiality.clone(),
                total: Severity::ALL.iter().map(count).sum(),
                by_severity: Severity::ALL.iter().map(count).collect(),
            }
        })
        .collect();
    let change_of = changes_by_finding(report);
    let data = findings_data(report, &aggregate_of, &change_of);
    let none = FxHashMap::default();
    let no_changes = FxHashMap::default();
    let resolved: Vec<Row> = report
        .resolved
        .iter()
        .map(|f| row(report, f, &none, &no_changes))
        .collect();
    let excepted: Vec<Row> = report
        .excepted
        .iter()
        .map(|f| row(report, f, &none, &no_changes))
        .collect();
    // Each cause's proposed change: the one that ends most of its rows.
    let cause_changes: BTreeMap<String, String> = aggregates
        .iter()
        .filter_map(|a| {
            let plan = report.plan.as_ref()?;
            let rows: HashSet<&str> = a.findings.iter().map(String::as_str).collect();
            let ending = |c: &crate::plan::Change| {
                c.fixes
                    .iter()
                    .filter(|id| rows.contains(id.as_str()))
                    .count()
            };
            let best = plan.changes.iter().max_by_key(|c| ending(c))?;
            (ending(best) > 0).then(|| (a.key.clone(), crate::plan::render::what(best)))
        })
        .collect();
    // The plan's changes for the page's Markdown download, as JSON in an
    // attribute (escaped like any other value).
    let plan_changes: Vec<serde_json::Value> = report
        .plan
        .iter()
        .flat_map(|p| p.changes.iter())
        .map(|c| {
            serde_json::json!({
                "text": crate::plan::render::what(c),
                "fixes": &c.fixes,
                "owner": &c.owner,
            })
        })
        .collect();
    let plan_changes = serde_json::to_string(&plan_changes)
        .map_err(|e| failed(format!("cannot render HTML: {e}")))?;
    let has_status = report.findings.iter().any(|f| f.status.is_some());
    let new_count = report
        .findings
        .iter()
        .filter(|f| f.status == Some(Status::New))
        .count();
    let script_hash = format!("sha256-{}", base64(&Sha256::digest(SCRIPT.as_bytes())));

    let mut env = Environment::new();
    env.add_template("review.html", TEMPLATE)
        .map_err(|e| failed(format!("cannot render HTML: {e}")))?;
    let template = env
        .get_template("review.html")
        .map_err(|e| failed(format!("cannot render HTML: {e}")))?;
    let severity_legend: Vec<(&str, &str)> = Severity::ALL
        .iter()
        .map(|s| (s.id(), s.label_sv()))
        .collect();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    template
        .render_captured_to(
            context! {
                as_of => report.as_of.to_string(),
                version => env!("CARGO_PKG_VERSION"),
                inputs => &report.inputs,
                policy_files => &report.policy_files,
                accounts => report.accounts,
                groups => report.groups,
                total => report.findings.len(),
                severities,
                severity_legend,
                classifications,
                rules,
                sources,
                source_chart => source_chart(report, &by_source),
                trend_chart => trend_chart(report),
                trend => report.trend.iter().map(|p| context! {
                    as_of => datetime_sv(&p.as_of),
                    findings => p.findings,
                    by_severity => &p.by_severity,
                }).collect::<Vec<_>>(),
                aggregates,
                cause_changes,
                plan_changes,
                findings_data => Value::from_safe_string(data),
                resolved,
                excepted,
                warnings => &report.warnings,
                has_status,
                has_use => report.logs.is_some(),
                new_count,
                history_text => history_text(report),
                exception_notes => view::exception_notes(report),
                style => Value::from_safe_string(STYLE.to_string()),
                script => Value::from_safe_string(SCRIPT.to_string()),
                script_hash,
            },
            &mut out,
        )
        .map_err(|e| failed(format!("cannot render HTML: {e}")))?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SourceMeta;
    use crate::report::TrendPoint;

    fn finding(id: &str, rule: Rule, account: &str, severity: Severity) -> Finding {
        Finding {
            id: id.into(),
            rule,
            data_source: "statdb".into(),
            account: Some(account.into()),
            group: None,
            accounts: None,
            role: Some("Las".into()),
            scope: Some("VO".into()),
            via: vec!["SG-Statdb-VO-Las".into()],
            severity,
            classification: vec![Classification::Imy],
            message: format!("{account} har rollen Las"),
            allow: None,
            roles: Vec::new(),
            grant: Some("policies/statdb.toml:9 ([[grant]] group = 'x')".into()),
            grant_at: None,
            reasons: None,
            status: None,
            first_seen: None,
            usage: None,
            used_since_last_run: None,
        }
    }

    fn report() -> Report {
        Report {
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default(),
            inputs: vec!["konton.csv".into()],
            policy_files: vec!["policies/statdb.toml".into()],
            accounts: 2,
            groups: 1,
            sources: vec![SourceMeta {
                id: "statdb".into(),
                name: "Statistikdatabas".into(),
                controller: None,
                activity: "socialtjanst".into(),
                confidentiality: None,
                data_categories: vec!["halsa".into()],
                data_subject_groups: Vec::new(),
                estimated_data_subjects: None,
                scopes: vec!["VO".into()],
                owner: None,
                policy_file: Some("policies/statdb.toml".into()),
                role_labels: Default::default(),
            }],
            findings: vec![
                finding(
                    "aaaa000000000001",
                    Rule::UnauthorizedAccess,
                    "anna",
                    Severity::Critical,
                ),
                finding(
                    "aaaa000000000002",
                    Rule::UnauthorizedAccess,
                    "bo",
                    Severity::Critical,
                ),
            ],
            warnings: Vec::new(),
            ..Report::default()
        }
    }

    /// The page's data block.
    fn data_of(html: &str) -> serde_json::Value {
        let start = html
            .find("<script type=\"application/json\" id=\"fynd-data\">")
            .expect("a data block");
        let rest = &html[start..];
        let body =
            &rest[rest.find('>').expect("tag end") + 1..rest.find("</script>").expect("end")];
        serde_json::from_str(body).expect("the data block is JSON")
    }

    /// The texts of one finding's row in the data block, by column.
    fn row_of(html: &str, id: &str) -> BTreeMap<&'static str, String> {
        let data = data_of(html);
        let texts = data["s"].as_array().expect("texts");
        let text = |v: &serde_json::Value| {
            v.as_i64()
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| texts.get(i))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let row = data["f"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r[0] == id)
            .unwrap_or_else(|| panic!("no row for {id}"));
        DATA_COLUMNS
            .iter()
            .enumerate()
            .map(|(k, column)| (*column, text(&row[k])))
            .collect()
    }

    fn render_text(report: &Report) -> String {
        String::from_utf8(render(report).unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn without_history_there_is_no_trend_and_no_status() {
        let html = render_text(&report());
        assert_eq!(row_of(&html, "aaaa000000000001")["subject"], "anna");
        assert!(!html.contains("Utveckling över körningar"));
        assert!(!html.contains("id=\"f-status\""));
        assert!(!html.contains("Åtgärdade sedan förra körningen"));
    }

    #[test]
    fn history_shows_trend_new_resolved_and_excepted() {
        let mut report = report();
        report.findings[0].status = Some(Status::New);
        report.findings[0].first_seen = Some("2026-11-22T00:00:00".into());
        report.findings[1].status = Some(Status::Persisting);
        report.findings[1].first_seen = Some("2026-11-01T00:00:00".into());
        let mut gone = finding(
            "bbbb000000000001",
            Rule::InactiveAccount,
            "cecilia",
            Severity::Medium,
        );
        gone.first_seen = Some("2026-11-01T00:00:00".into());
        report.resolved.push(gone);
        report.excepted.push(finding(
            "cccc000000000001",
            Rule::SodConflict,
            "david",
            Severity::Medium,
        ));
        report.trend = vec![
            TrendPoint {
                as_of: "2026-11-01T00:00:00".into(),
                findings: 2,
                by_severity: [(Severity::Critical, 1), (Severity::Medium, 1)].into(),
            },
            TrendPoint {
                as_of: "2026-11-22T00:00:00".into(),
                findings: 2,
                by_severity: [(Severity::Critical, 2)].into(),
            },
        ];
        report.history = Some(crate::report::RunContext {
            run_id: 2,
            as_of: report.as_of.and_hms_opt(0, 0, 0).unwrap_or_default(),
            previous_run: Some((1, "2026-11-01T00:00:00".into())),
        });
        report.exceptions = Some(vec![crate::exceptions::ExceptionUse {
            exception: crate::exceptions::Exception {
                file: "undantag.toml".into(),
                line: 3,
                rule: Some(Rule::SodConflict),
                data_source: None,
                account: Some("david".into()),
                group: None,
                role: None,
                scope: None,
                reason: "Dubbelroll under migrering".into(),
                approved_by: "Förvaltningschef".into(),
                expires: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
            },
            outcome: crate::exceptions::Outcome::Active,
            days_left: 39,
            expiring_soon: false,
            findings: vec!["cccc000000000001".into()],
        }]);
        let html = render_text(&report);
        assert!(
            html.contains("Jämfört med körning 1 (per 2026-11-01): 1 ny, 1 kvarstår, 1 åtgärdade.")
        );
        assert_eq!(
            row_of(&html, "aaaa000000000001")["imy_clock"],
            "IMY: 72 h kvar"
        );
        assert_eq!(
            row_of(&html, "aaaa000000000002")["imy_clock"],
            "IMY: 18 dagar försenad"
        );
        let excepted = html
            .split("data-excepted=\"cccc000000000001\"")
            .nth(1)
            .and_then(|s| s.split("</tr>").next())
            .unwrap_or_default();
        assert!(
            excepted.contains("Dubbelroll under migrering"),
            "{excepted}"
        );
        assert!(excepted.contains("t.o.m. 2026-12-31 (undantag.toml:3)"));
        let trend = html
            .split("id=\"trend\"")
            .nth(1)
            .and_then(|s| s.split("</section>").next())
            .unwrap_or_default();
        assert!(trend.contains("2026-11-01"), "{trend}");
        assert!(trend.contains("2026-11-22"));
        assert_eq!(trend.matches("<rect class=\"sev-").count(), 3);
        assert_eq!(row_of(&html, "aaaa000000000001")["status"], "new");
        assert_eq!(row_of(&html, "aaaa000000000002")["status"], "persisting");
        assert!(html.contains("id=\"f-status\""));
        assert!(html.contains("data-resolved=\"bbbb000000000001\""));
        assert!(html.contains("data-excepted=\"cccc000000000001\""));
        // Resolved and excepted findings are not rows of the findings table.
        assert_eq!(data_of(&html)["f"].as_array().map(Vec::len), Some(2));
    }

    /// No text in the data block can end its element, and a message that
    /// starts with its subject is carried as the rest of it.
    #[test]
    fn data_block_keeps_markup_inert_and_texts_once() {
        let mut report = report();
        report.findings[0].account = Some("</script><b>x".into());
        report.findings[0].message = "</script><b>x har rollen Las".into();
        let html = render_text(&report);
        let block = html
            .split("id=\"fynd-data\">")
            .nth(1)
            .and_then(|s| s.split("</script>").next())
            .unwrap_or_default();
        assert!(!block.contains('<'), "{block}");
        let first = row_of(&html, "aaaa000000000001");
        assert_eq!(first["subject"], "</script><b>x");
        assert_eq!(first["message"], " har rollen Las");
        assert_eq!(
            row_of(&html, "aaaa000000000002")["message"],
            " har rollen Las"
        );
        // The shared texts are kept once.
        let data = data_of(&html);
        let texts: Vec<&str> = data["s"]
            .as_array()
            .expect("texts")
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect();
        assert_eq!(
            texts.iter().filter(|t| **t == "SG-Statdb-VO-Las").count(),
            1
        );
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
