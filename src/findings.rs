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
    pub usage: Option<Option<Box<crate::evidence::Usage>>>,
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
                    hasher.update(crate::text::lowercase(p).as_bytes());
                }
                None => hasher.update([0u8]),
            }
            hasher.update([0xffu8]);
        }
        let digest = hasher.finalize();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = String::with_capacity(16);
        for b in &digest[..8] {
            id.push(char::from(HEX[usize::from(b >> 4)]));
            id.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        id
    }

    /// The order of findings within a source: worst first, then by rule
    /// and subject (account and group compared in lower case).
    pub fn report_cmp(&self, other: &Finding) -> std::cmp::Ordering {
        other
            .severity
            .cmp(&self.severity)
            .then(self.rule.cmp(&other.rule))
            .then_with(|| cmp_folded(self.account.as_deref(), other.account.as_deref()))
            .then_with(|| cmp_folded(self.group.as_deref(), other.group.as_deref()))
            .then_with(|| self.role.cmp(&other.role))
            .then_with(|| self.scope.cmp(&other.scope))
            .then_with(|| self.allow.cmp(&other.allow))
    }
}

/// What puts findings in report order before their texts are read: the
/// severity (worst first) and the rule, as one number, and the first eight
/// bytes of the account's lower-case name, when the name is ASCII that
/// far (shorter names padded with zeros). Findings whose numbers differ,
/// or whose prefixes differ, are in the order of these; the others in that
/// of [`Finding::report_cmp`].
pub(crate) fn report_key(finding: &Finding) -> (u16, Option<u64>) {
    let head = (u16::from(Severity::Critical as u8 - finding.severity as u8) << 8)
        | u16::from(finding.rule as u8);
    let prefix = finding.account.as_deref().and_then(|name| {
        let bytes = &name.as_bytes()[..name.len().min(8)];
        bytes.is_ascii().then(|| {
            let mut prefix = [0u8; 8];
            for (p, b) in prefix.iter_mut().zip(bytes) {
                *p = b.to_ascii_lowercase();
            }
            u64::from_be_bytes(prefix)
        })
    });
    (head, prefix)
}

/// Compares names as their lower-case forms (`str::to_lowercase`) do,
/// without making them while the names are ASCII: the first difference
/// decides, and only a name with other characters before it is copied.
fn cmp_folded(a: Option<&str>, b: Option<&str>) -> std::cmp::Ordering {
    let (Some(a), Some(b)) = (a, b) else {
        return a.cmp(&b);
    };
    for (&x, &y) in a.as_bytes().iter().zip(b.as_bytes()) {
        if !x.is_ascii() || !y.is_ascii() {
            return a.to_lowercase().cmp(&b.to_lowercase());
        }
        let order = x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
        if order.is_ne() {
            return order;
        }
    }
    // One is the other's beginning, in any case: the shorter comes first.
    a.len().cmp(&b.len())
}

/// Puts at each position `i` of `items` the item at `order[i]` (`order`
/// holds every position once), by swaps: each cycle of the permutation is
/// walked once, carrying its first item along.
pub fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    const DONE: usize = usize::MAX;
    for start in 0..order.len() {
        let mut at = start;
        while let Some(&from) = order.get(at) {
            if from == DONE {
                break;
            }
            order[at] = DONE;
            if from == start || from >= items.len() {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod order_tests {
    use super::{cmp_folded, permute};

    #[test]
    fn names_compare_as_their_lower_case_forms() {
        let names = [
            "anna",
            "Anna",
            "ANNA.B",
            "anna.b",
            "Ärla",
            "ärla",
            "Öberg",
            "Zed",
            "zed2",
            "Σοφία",
            "σοφία",
            "Ωμέγα",
            "",
            "a",
            "A",
            "b",
        ];
        for a in names {
            for b in names {
                assert_eq!(
                    cmp_folded(Some(a), Some(b)),
                    a.to_lowercase().cmp(&b.to_lowercase()),
                    "{a} and {b}"
                );
            }
            assert_eq!(cmp_folded(None, Some(a)), std::cmp::Ordering::Less);
            assert_eq!(cmp_folded(Some(a), None), std::cmp::Ordering::Greater);
        }
        assert_eq!(cmp_folded(None, None), std::cmp::Ordering::Equal);
    }

    #[test]
    fn permuting_by_sorted_positions_gives_the_stable_sort() {
        let mut seed = 7u64;
        for n in [0usize, 1, 2, 3, 10, 257, 1000] {
            let items: Vec<(u8, usize)> = (0..n)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    ((seed >> 59) as u8, i)
                })
                .collect();
            let mut expected = items.clone();
            expected.sort_by_key(|&(k, _)| k);
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| items[i].0);
            let mut sorted = items;
            permute(&mut sorted, order);
            assert_eq!(sorted, expected, "{n} items");
        }
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
