//! The report: one audit's findings with what was read, in the order every
//! output presents them (data sources with the worst findings first).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::findings::{Classification, Finding, Severity};
use crate::policy::SourceMeta;

#[derive(Debug, Clone)]
pub struct Report {
    pub as_of: NaiveDate,
    /// What was read: files and servers.
    pub inputs: Vec<String>,
    pub policy_files: Vec<String>,
    pub accounts: usize,
    pub groups: usize,
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
}

/// One recorded run in a trend.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrendPoint {
    pub as_of: String,
    pub findings: usize,
    pub by_severity: BTreeMap<Severity, usize>,
}

impl Report {
    /// Sorts sources and findings into report order.
    pub fn sort(&mut self) {
        let worst: BTreeMap<String, Severity> =
            self.findings.iter().fold(BTreeMap::new(), |mut m, f| {
                let e = m.entry(f.data_source.clone()).or_insert(f.severity);
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
        self.findings.sort_by(|a, b| {
            order
                .get(a.data_source.as_str())
                .cmp(&order.get(b.data_source.as_str()))
                .then_with(|| a.sort_key().cmp(&b.sort_key()))
        });
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
        json!({
            "accounts": self.accounts,
            "groups": self.groups,
            "findings": self.findings.len(),
            "by_rule": by_rule,
            "by_severity": by_severity,
            "by_classification": by_classification,
        })
    }

    /// The whole report as the contract's JSON document.
    pub fn to_json(&self) -> Value {
        json!({
            "schema_version": 1,
            "tool": {"name": "behorig", "version": env!("CARGO_PKG_VERSION")},
            "run": {
                "as_of": self.as_of.to_string(),
                "sources": self.inputs,
                "policies": self.policy_files,
            },
            "summary": self.summary_json(),
            "findings": self.findings,
        })
    }
}
