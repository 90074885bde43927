//! Findings: what the evaluation stage produces and every output renders.
//! Rule ids, severities and classifications are part of the product contract.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use crate::rules::Rule;

/// Severity, ordered so that `Critical` is the greatest.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub fn from_id(id: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The plural, for counts: "3 kritiska".
    pub fn plural_sv(self) -> &'static str {
        match self {
            Severity::Critical => "kritiska",
            Severity::High => "höga",
            Severity::Medium => "medel",
            Severity::Low => "låga",
        }
    }

    pub fn label_sv(self) -> &'static str {
        match self {
            Severity::Critical => "kritisk",
            Severity::High => "hög",
            Severity::Medium => "medel",
            Severity::Low => "låg",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The threshold of `--fail-on` (and `fail_on` under `[audit]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    At(Severity),
    Never,
}

impl FailOn {
    pub fn from_id(s: &str) -> Option<FailOn> {
        if s == "never" {
            Some(FailOn::Never)
        } else {
            Severity::from_id(s).map(FailOn::At)
        }
    }

    /// Whether a finding of this severity makes the run fail.
    pub fn trips(self, severity: Severity) -> bool {
        match self {
            FailOn::At(level) => severity >= level,
            FailOn::Never => false,
        }
    }
}

/// Which report a draft is: to IMY or under lex Sarah.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DraftKind {
    Imy,
    LexSarah,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    Imy,
    LexSarah,
    Internal,
}

impl Classification {
    pub const ALL: [Classification; 3] = [
        Classification::Imy,
        Classification::LexSarah,
        Classification::Internal,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Classification::Imy => "imy",
            Classification::LexSarah => "lex_sarah",
            Classification::Internal => "internal",
        }
    }

    pub fn label_sv(self) -> &'static str {
        match self {
            Classification::Imy => "IMY",
            Classification::LexSarah => "lex Sarah",
            Classification::Internal => "intern",
        }
    }
}

/// A file and, where known, a line: where a finding's grant is written.
/// The file's name is shared by the findings of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: std::sync::Arc<str>,
    pub line: Option<std::num::NonZeroU32>,
}

/// One finding. Field names and meanings are fixed by the contract's JSON.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Finding {
    pub id: String,
    pub rule: Rule,
    pub data_source: String,
    pub account: Option<String>,
    pub group: Option<String>,
    pub accounts: Option<u64>,
    pub role: Option<String>,
    pub scope: Option<String>,
    pub via: Vec<String>,
    pub severity: Severity,
    pub classification: Vec<Classification>,
    pub message: String,
    /// The allow a `too-many-accounts` finding is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<String>,
    /// The conflicting roles of a `sod-conflict` finding.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Where the access comes from: the grant pattern or role export row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// The file and line of `grant`, as data (SARIF's location). Known
    /// for the findings of a run, not for findings read back from JSON.
    #[serde(skip)]
    pub grant_at: Option<Place>,
    /// Why the finding holds, as evaluation decided it: what `explain`
    /// shows. Known for the findings of a run, not for findings read back
    /// from JSON.
    #[serde(skip)]
    pub reasons: Option<Box<crate::evaluate::Reasons>>,
    /// With `--state`: whether an earlier run found it too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// With `--state`: the as-of date-time of the first run that found it
    /// (`YYYY-MM-DDTHH:MM:SS`); the IMY 72-hour clock starts there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// With access logs: whether the access was used (`"use"`). `None`
    /// when no log was read (no key); `Some(None)` when no log covers the
    /// finding's data source (`null`).
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub usage: Option<Option<crate::evidence::Usage>>,
    /// With `--state` and access logs: the logs show the access used after
    /// the previous recorded run's as-of time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_since_last_run: Option<bool>,
}

/// Whether a finding is new since the previous recorded run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Persisting,
}

impl Finding {
    /// The stable fingerprint of what the finding is about: the same rule on
    /// the same source, account, role, scope and group always gets the same id.
    pub fn fingerprint(
        rule: Rule,
        data_source: &str,
        account: Option<&str>,
        role: Option<&str>,
        scope: Option<&str>,
        group: Option<&str>,
    ) -> String {
        let mut hasher = Sha256::new();
        for part in [
            Some(rule.id()),
            Some(data_source),
            account,
            role,
            scope,
            group,
        ] {
            match part {
                Some(p) => {
                    hasher.update([1u8]);
                    hasher.update(p.to_lowercase().as_bytes());
                }
                None => hasher.update([0u8]),
            }
            hasher.update([0xffu8]);
        }
        let digest = hasher.finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The key that orders findings within a source: worst first, then by
    /// rule and subject.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.severity),
            self.rule,
            self.account.as_deref().map(str::to_lowercase),
            self.group.as_deref().map(str::to_lowercase),
            self.role.as_deref(),
            self.scope.as_deref(),
            self.allow.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_separates_fields() {
        let a = Finding::fingerprint(Rule::SodConflict, "s", Some("ab"), None, None, None);
        let b = Finding::fingerprint(Rule::SodConflict, "s", Some("a"), Some("b"), None, None);
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
    }
}
