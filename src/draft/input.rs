//! Findings from an earlier `audit --format json`, read back so that a
//! draft can be written without running the audit again.

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

use crate::findings::{Classification, Finding, Rule, Severity, Status};

#[derive(Deserialize)]
struct AuditJson {
    run: RunJson,
    findings: Vec<FindingJson>,
    /// The recorded runs, with `--state`.
    #[serde(default)]
    trend: Vec<TrendJson>,
}

#[derive(Deserialize)]
struct TrendJson {
    as_of: String,
}

#[derive(Deserialize)]
struct RunJson {
    as_of: String,
    /// Written by runs with a history (`--state`).
    as_of_time: Option<String>,
    /// Written by runs that read access logs.
    access_logs: Option<AccessLogsJson>,
}

#[derive(Deserialize)]
struct AccessLogsJson {
    since: Option<String>,
    first: Option<String>,
    last: Option<String>,
}

#[derive(Deserialize)]
struct FindingJson {
    id: String,
    rule: String,
    data_source: String,
    account: Option<String>,
    group: Option<String>,
    accounts: Option<u64>,
    role: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    via: Vec<String>,
    severity: String,
    classification: Vec<String>,
    #[serde(default)]
    message: String,
    allow: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    grant: Option<String>,
    status: Option<Status>,
    first_seen: Option<String>,
    /// Present when the audit read access logs.
    #[serde(default, rename = "use", deserialize_with = "crate::evidence::present")]
    usage: Option<Option<crate::evidence::Usage>>,
}

fn classification(id: &str) -> Option<Classification> {
    Classification::ALL.into_iter().find(|c| c.id() == id)
}

/// An earlier audit as a draft reads it.
pub struct EarlierAudit {
    pub as_of: NaiveDate,
    /// The run's date and time, when the audit kept a history.
    pub as_of_time: Option<NaiveDateTime>,
    pub findings: Vec<Finding>,
    /// The as-of date-times of the recorded runs, when the audit kept a
    /// history.
    pub runs: Vec<NaiveDateTime>,
    /// What the access logs covered, when the audit read them.
    pub logs: Option<crate::evidence::LogSummary>,
}

/// The audit's date and time and its findings. Errors name the file and,
/// where it helps, the finding.
pub fn read_findings(path: &Path) -> Result<EarlierAudit, String> {
    let at = |m: String| format!("{}: {m}", path.display());
    let text = crate::text::read_bounded(path, crate::text::MAX_FINDINGS_BYTES)
        .map_err(|e| at(format!("cannot read the findings: {e}")))?;
    let doc: AuditJson = serde_json::from_str(&text).map_err(|e| {
        at(format!(
            "not the JSON of `behorig audit --format json`: {e}"
        ))
    })?;
    let as_of = NaiveDate::parse_from_str(&doc.run.as_of, "%Y-%m-%d").map_err(|_| {
        at(format!(
            "`run.as_of` is `{}`, not a date (YYYY-MM-DD)",
            doc.run.as_of
        ))
    })?;
    // A date-time the report writes, under its key.
    let date_time = |key: &str, t: &Option<String>| -> Result<Option<NaiveDateTime>, String> {
        t.as_deref()
            .map(|t| {
                NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").map_err(|_| {
                    at(format!(
                        "`{key}` is `{t}`, not a date-time (YYYY-MM-DDTHH:MM:SS)"
                    ))
                })
            })
            .transpose()
    };
    let as_of_time = date_time("run.as_of_time", &doc.run.as_of_time)?;
    let logs = match &doc.run.access_logs {
        None => None,
        Some(l) => {
            let since = l
                .since
                .as_deref()
                .map(|d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                        at(format!(
                            "`run.access_logs.since` is `{d}`, not a date (YYYY-MM-DD)"
                        ))
                    })
                })
                .transpose()?;
            Some(crate::evidence::LogSummary::from_report(
                since,
                date_time("run.access_logs.first", &l.first)?,
                date_time("run.access_logs.last", &l.last)?,
            ))
        }
    };
    let mut runs = Vec::with_capacity(doc.trend.len());
    for point in &doc.trend {
        let t = NaiveDateTime::parse_from_str(&point.as_of, "%Y-%m-%dT%H:%M:%S").map_err(|_| {
            at(format!(
                "`trend` names the run `{}`, not a date-time (YYYY-MM-DDTHH:MM:SS)",
                point.as_of
            ))
        })?;
        runs.push(t);
    }
    let mut findings = Vec::with_capacity(doc.findings.len());
    for f in doc.findings {
        let rule = Rule::from_id(&f.rule)
            .ok_or_else(|| at(format!("finding {}: unknown rule `{}`", f.id, f.rule)))?;
        let severity = Severity::from_id(&f.severity).ok_or_else(|| {
            at(format!(
                "finding {}: unknown severity `{}`",
                f.id, f.severity
            ))
        })?;
        let classification = f
            .classification
            .iter()
            .map(|c| {
                classification(c)
                    .ok_or_else(|| at(format!("finding {}: unknown classification `{c}`", f.id)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        findings.push(Finding {
            id: f.id,
            rule,
            data_source: f.data_source,
            account: f.account,
            group: f.group,
            accounts: f.accounts,
            role: f.role,
            scope: f.scope,
            via: f.via,
            severity,
            classification,
            message: f.message,
            allow: f.allow,
            roles: f.roles,
            grant: f.grant,
            grant_at: None,
            reasons: None,
            status: f.status,
            first_seen: f.first_seen,
            usage: f.usage.map(|u| u.map(Box::new)),
            used_since_last_run: None,
        });
    }
    Ok(EarlierAudit {
        as_of,
        as_of_time,
        findings,
        runs,
        logs,
    })
}
