//! The report: one audit's findings with what was read, in the order every
//! output presents them (data sources with the worst findings first).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{json, Value};

use crate::exceptions::{self, ExceptionUse};
use crate::findings::{Classification, Finding, Rule, Severity, Status};
use crate::policy::SourceMeta;

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub as_of: NaiveDate,
    /// What was read: files and servers.
    pub inputs: Vec<String>,
    pub policy_files: Vec<String>,
    pub accounts: usize,
    pub groups: usize,
    /// Who the accounts of the findings are, by account name, for outputs
    /// that reviewers sort by person (CSV).
    pub people: BTreeMap<String, Person>,
    /// Every data source audited, in report order.
    pub sources: Vec<SourceMeta>,
    pub findings: Vec<Finding>,
    pub warnings: Vec<String>,
    /// With `--state`: findings of the previous run that are gone.
    pub resolved: Vec<Finding>,
    /// With `--exceptions`: findings moved out of `findings` by a valid
    /// exception.
    pub excepted: Vec<Finding>,
    /// With `--state`: the recorded runs, oldest first, for trend charts.
    pub trend: Vec<TrendPoint>,
    /// With `--state`: this run's place in the history.
    pub history: Option<RunContext>,
    /// With `--exceptions`: what every exception did (`None` without the
    /// flag).
    pub exceptions: Option<Vec<ExceptionUse>>,
    /// The boards of `[organization.boards]` by scope: each is the
    /// controller (personuppgiftsansvarig) of its scope's data.
    pub boards: BTreeMap<String, String>,
    /// For the review page: the remediation plan, whose changes it shows
    /// beside the causes and findings they end.
    pub plan: Option<crate::plan::Plan>,
    /// With access logs: what was read (`None` without them).
    pub logs: Option<crate::evidence::LogSummary>,
    /// The accounts of each `too-many-accounts` finding (by id), from the
    /// evaluation, for the evidence stage; never output.
    pub members: BTreeMap<String, Vec<crate::inventory::AccountId>>,
    /// The policies evaluation made up for data sources that only role
    /// exports name.
    pub implicit: Vec<crate::policy::Policy>,
}

/// Where a run with `--state` stands in the history.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: i64,
    /// The as-of date-time of this run; ages and the IMY window are
    /// measured to it.
    pub as_of: NaiveDateTime,
    /// The run compared with: its id and as-of date-time.
    pub previous_run: Option<(i64, String)>,
}

/// One recorded run in a trend.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TrendPoint {
    pub as_of: String,
    pub findings: usize,
    pub by_severity: BTreeMap<Severity, usize>,
}

/// The account attributes a reviewer recognises a person by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub display_name: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
}

impl Report {
    /// Sorts sources and findings into report order.
    pub fn sort(&mut self) {
        let worst: BTreeMap<&str, Severity> =
            self.findings.iter().fold(BTreeMap::new(), |mut m, f| {
                let e = m.entry(f.data_source.as_str()).or_insert(f.severity);
                *e = (*e).max(f.severity);
                m
            });
        let rank = |id: &str| std::cmp::Reverse(worst.get(id).copied());
        self.sources
            .sort_by(|a, b| rank(&a.id).cmp(&rank(&b.id)).then_with(|| a.id.cmp(&b.id)));
        let order: BTreeMap<&str, usize> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let findings = &self.findings;
        // Each finding's place by its data source, then its key: most
        // comparisons are decided on these, without reading the findings.
        let mut keyed: Vec<(Option<usize>, u16, Option<u64>, usize)> = findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let (head, prefix) = crate::findings::report_key(f);
                (order.get(f.data_source.as_str()).copied(), head, prefix, i)
            })
            .collect();
        keyed.sort_unstable_by(|a, b| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then_with(|| match (a.2, b.2) {
                    (Some(x), Some(y)) if x != y => x.cmp(&y),
                    _ => findings[a.3].report_cmp(&findings[b.3]),
                })
                .then(a.3.cmp(&b.3))
        });
        let sorted: Vec<usize> = keyed.into_iter().map(|k| k.3).collect();
        crate::findings::permute(&mut self.findings, sorted);
    }

    /// The findings on one data source, in report order.
    pub fn findings_of(&self, source: &str) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.data_source == source)
            .collect()
    }

    pub fn source(&self, id: &str) -> Option<&SourceMeta> {
        self.sources.iter().find(|s| s.id == id)
    }

    pub fn count_by_severity(&self) -> BTreeMap<Severity, usize> {
        let mut m = BTreeMap::new();
        for f in &self.findings {
            *m.entry(f.severity).or_insert(0) += 1;
        }
        m
    }

    pub fn count_by_rule(&self) -> BTreeMap<Rule, usize> {
        let mut m = BTreeMap::new();
        for f in &self.findings {
            *m.entry(f.rule).or_insert(0) += 1;
        }
        m
    }

    pub fn count_by_classification(&self) -> BTreeMap<Classification, usize> {
        let mut m = BTreeMap::new();
        for f in &self.findings {
            for c in &f.classification {
                *m.entry(*c).or_insert(0) += 1;
            }
        }
        m
    }

    /// The contract's `summary` object.
    pub fn summary_json(&self) -> Value {
        let mut by_rule = serde_json::Map::new();
        for f in &self.findings {
            let e = by_rule.entry(f.rule.id()).or_insert(json!(0));
            *e = json!(e.as_u64().unwrap_or(0) + 1);
        }
        let by_severity: serde_json::Map<String, Value> = Severity::ALL
            .iter()
            .filter_map(|s| {
                let n = self.count_by_severity().get(s).copied().unwrap_or(0);
                (n > 0).then(|| (s.id().to_string(), json!(n)))
            })
            .collect();
        let by_classification: serde_json::Map<String, Value> = Classification::ALL
            .iter()
            .filter_map(|c| {
                let n = self.count_by_classification().get(c).copied().unwrap_or(0);
                (n > 0).then(|| (c.id().to_string(), json!(n)))
            })
            .collect();
        let mut summary = json!({
            "accounts": self.accounts,
            "groups": self.groups,
            "findings": self.findings.len(),
            "by_rule": by_rule,
            "by_severity": by_severity,
            "by_classification": by_classification,
        });
        if self.history.is_some() {
            summary["new"] = json!(self.count_status(Status::New));
            summary["persisting"] = json!(self.count_status(Status::Persisting));
            summary["resolved"] = json!(self.resolved.len());
        }
        if self.exceptions.is_some() {
            summary["excepted"] = json!(self.excepted.len());
        }
        summary
    }

    /// Findings (not excepted ones) with this status.
    pub fn count_status(&self, status: Status) -> usize {
        self.findings
            .iter()
            .filter(|f| f.status == Some(status))
            .count()
    }

    /// An excepted finding as JSON, with the exception that covers it.
    fn excepted_json(&self, f: &Finding) -> Value {
        let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
        let by = self
            .exceptions
            .as_deref()
            .and_then(|uses| exceptions::exception_for(uses, &f.id));
        if let (Some(obj), Some(u)) = (v.as_object_mut(), by) {
            let e = &u.exception;
            obj.insert(
                "exception".into(),
                json!({
                    "file": e.file.display().to_string(),
                    "line": e.line,
                    "reason": e.reason,
                    "approved_by": e.approved_by,
                    "expires": e.expires.to_string(),
                }),
            );
        }
        v
    }

    /// Writes the contract's JSON document (what [`Report::to_json`]
    /// gives, pretty-printed, with a final newline) to `out`, key by key,
    /// its lists of findings rendered on every core and written in order:
    /// no tree of the findings is built.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        use crate::output::pretty::{document, list, list_of};
        document(out, |doc| {
            doc.entry("schema_version", &1)?;
            doc.entry(
                "tool",
                &json!({"name": "behorig", "version": env!("CARGO_PKG_VERSION")}),
            )?;
            doc.entry("run", &self.run_json())?;
            doc.entry("summary", &self.summary_json())?;
            doc.entry_with("findings", |out, level| list(out, level, &self.findings))?;
            if self.history.is_some() {
                doc.entry_with("resolved", |out, level| list(out, level, &self.resolved))?;
                doc.entry("trend", &self.trend)?;
            }
            if let Some(uses) = &self.exceptions {
                doc.entry_with("excepted", |out, level| {
                    list_of(out, level, &self.excepted, |f| self.excepted_json(f))
                })?;
                doc.entry_with("exceptions", |out, level| {
                    list_of(out, level, uses, ExceptionUse::to_json)
                })?;
            }
            Ok(())
        })
    }

    /// The `run` object of the JSON document.
    fn run_json(&self) -> Value {
        let mut run = json!({
            "as_of": self.as_of.to_string(),
            "sources": self.inputs,
            "policies": self.policy_files,
        });
        if let Some(h) = &self.history {
            run["as_of_time"] = json!(h.as_of.format("%Y-%m-%dT%H:%M:%S").to_string());
            run["state"] = json!({
                "run": h.run_id,
                "previous_run": h.previous_run.as_ref().map(|(id, as_of)| json!({"run": id, "as_of": as_of})),
            });
        }
        if let Some(logs) = &self.logs {
            run["access_logs"] = json!({
                "files": logs.files,
                "rows": logs.rows,
                "since": logs.since.map(|d| d.to_string()),
                "first": logs.first.map(crate::evidence::format_time),
                "last": logs.last.map(crate::evidence::format_time),
            });
        }
        run
    }

    /// The whole report as the contract's JSON document.
    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "schema_version": 1,
            "tool": {"name": "behorig", "version": env!("CARGO_PKG_VERSION")},
            "run": self.run_json(),
            "summary": self.summary_json(),
            "findings": self.findings,
        });
        if self.history.is_some() {
            doc["resolved"] = json!(self.resolved);
            doc["trend"] = json!(self.trend);
        }
        if let Some(uses) = &self.exceptions {
            doc["excepted"] = Value::Array(
                self.excepted
                    .iter()
                    .map(|f| self.excepted_json(f))
                    .collect(),
            );
            doc["exceptions"] = Value::Array(uses.iter().map(ExceptionUse::to_json).collect());
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, account: &str) -> Finding {
        Finding {
            id: id.into(),
            rule: Rule::UnauthorizedAccess,
            data_source: "statdb".into(),
            account: Some(account.into()),
            group: None,
            accounts: Some(3),
            role: Some("Läs".into()),
            scope: Some("VO".into()),
            via: vec!["SG-Statdb \"VO\"".into(), "Alla <anställda>".into()],
            severity: Severity::Critical,
            classification: vec![Classification::Imy, Classification::LexSarah],
            message: format!("{account} når\tVO:s data\n"),
            allow: Some("egen".into()),
            roles: vec!["Skriv".into(), "Admin".into()],
            grant: Some("policies/statdb.toml:9".into()),
            grant_at: None,
            reasons: None,
            status: Some(Status::New),
            first_seen: Some("2026-11-01T00:00:00".into()),
            usage: Some(Some(Box::new(crate::evidence::Usage {
                events: 7,
                records: 3,
                first: Some("2026-10-01T08:00:00".into()),
                last: None,
                accounts_used: Some(2),
            }))),
            used_since_last_run: Some(true),
        }
    }

    proptest::proptest! {
        /// Ordering by the findings' keys first gives the order of
        /// `report_cmp` itself: names that share their first eight bytes,
        /// differ in case or length, or leave ASCII early, and findings
        /// without an account, of every rule and severity, over two
        /// data sources.
        #[test]
        fn keyed_order_is_report_order(
            picks in proptest::collection::vec(
                (0usize..14, 0usize..4, 0usize..3, 0usize..2, proptest::bool::ANY),
                0..60,
            )
        ) {
            let names = [
                "u0000001", "U0000001", "u00000010", "u0000001x", "u000000",
                "ab", "a", "Åsa", "åsa", "Zoran", "abcdefghÖ", "abcdefgh", "abcdefgH\u{0}", "",
            ];
            let rules = [Rule::UnauthorizedAccess, Rule::SodConflict, Rule::TooManyAccounts];
            let mut report = Report::default();
            for source in ["a", "b"] {
                report.sources.push(crate::policy::SourceMeta::unknown(source));
            }
            for (i, &(name, severity, rule, source, none)) in picks.iter().enumerate() {
                let mut f = finding(&format!("{i:016}"), names[name]);
                f.severity = Severity::ALL[severity];
                f.rule = rules[rule];
                f.data_source = ["a", "b"][source].into();
                if none {
                    f.account = None;
                }
                report.findings.push(f);
            }
            let mut expected: Vec<Finding> = report.findings.clone();
            report.sort();
            let order: Vec<&str> = report.sources.iter().map(|s| s.id.as_str()).collect();
            let place = |f: &Finding| order.iter().position(|s| *s == f.data_source);
            expected.sort_by(|a, b| {
                place(a)
                    .cmp(&place(b))
                    .then_with(|| a.report_cmp(b))
                    .then_with(|| a.id.cmp(&b.id))
            });
            let ids = |fs: &[Finding]| fs.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(ids(&report.findings), ids(&expected));
        }
    }

    /// The JSON written finding by finding is, byte for byte, the document
    /// tree pretty-printed, with every optional part of the contract.
    #[test]
    fn streamed_json_is_the_document() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let mut plain = finding("aaaa000000000002", "bo");
        plain.usage = Some(None);
        let report = Report {
            as_of: day,
            inputs: vec!["konton.csv".into()],
            policy_files: vec!["policies/statdb.toml".into()],
            accounts: 2,
            groups: 1,
            findings: vec![finding("aaaa000000000001", "anna"), plain],
            resolved: vec![finding("bbbb000000000001", "cecilia")],
            excepted: vec![finding("cccc000000000001", "david")],
            trend: vec![TrendPoint {
                as_of: "2026-11-01T00:00:00".into(),
                findings: 2,
                by_severity: [(Severity::Critical, 2)].into(),
            }],
            history: Some(RunContext {
                run_id: 2,
                as_of: day.and_hms_opt(0, 0, 0).unwrap_or_default(),
                previous_run: Some((1, "2026-11-01T00:00:00".into())),
            }),
            exceptions: Some(vec![ExceptionUse {
                exception: crate::exceptions::Exception {
                    file: "undantag.toml".into(),
                    line: 3,
                    rule: Some(Rule::UnauthorizedAccess),
                    data_source: None,
                    account: Some("david".into()),
                    group: None,
                    role: None,
                    scope: None,
                    reason: "Migrering".into(),
                    approved_by: "Förvaltningschef".into(),
                    expires: day,
                },
                outcome: crate::exceptions::Outcome::Active,
                days_left: 0,
                expiring_soon: true,
                findings: vec!["cccc000000000001".into()],
            }]),
            logs: Some({
                let mut logs = crate::evidence::LogSummary::from_report(
                    Some(day),
                    day.and_hms_opt(8, 0, 0),
                    None,
                );
                logs.files = vec!["logg.csv".into()];
                logs.rows = 10;
                logs
            }),
            ..Report::default()
        };
        let mut tree = serde_json::to_vec_pretty(&report.to_json()).unwrap_or_default();
        tree.push(b'\n');
        let mut streamed = Vec::new();
        report.write_json(&mut streamed).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&streamed),
            String::from_utf8_lossy(&tree)
        );
        let text = String::from_utf8_lossy(&streamed);
        for part in [
            "\"excepted\"",
            "\"exceptions\"",
            "\"trend\"",
            "\"resolved\"",
            "\"access_logs\"",
            "\"as_of_time\"",
        ] {
            assert!(text.contains(part), "{part} missing");
        }
    }
}
