//! The published JSON contract: types that describe the documents behorig
//! writes and reads (the audit report, the remediation plan, the
//! exceptions file), from which the JSON Schemas in `docs/schema/` are
//! generated (`cargo run --example json-schemas -- docs/schema`). The
//! finding itself is [`crate::findings::Finding`], the type the report
//! serialises. Tests check real output against the generated schemas, and
//! the checked-in files against the types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::findings::{Classification, Finding, Rule, Severity};
use crate::report::TrendPoint;

/// `behorig audit --format json`.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "behorig audit report", extend("$id" = "https://behorig.invalid/schema/report.schema.json"))]
pub struct ReportDocument {
    /// The version of this contract: 1.
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    pub tool: Tool,
    pub run: Run,
    pub summary: Summary,
    /// The findings, data sources with the worst findings first.
    pub findings: Vec<Finding>,
    /// With `--state`: findings of the previous run that are gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Vec<Finding>>,
    /// With `--state`: the findings of every recorded run, oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<Vec<TrendPoint>>,
    /// With `--exceptions`: findings an exception covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excepted: Option<Vec<ExceptedFinding>>,
    /// With `--exceptions`: what every exception did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<Vec<ExceptionStatus>>,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// "behorig".
    pub name: String,
    pub version: String,
}

/// What the audit read.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// The audit's date, `YYYY-MM-DD`.
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub as_of: String,
    /// The files and servers read (never with a password).
    pub sources: Vec<String>,
    /// The policy files.
    pub policies: Vec<String>,
    /// With `--state`: the as-of date-time, `YYYY-MM-DDTHH:MM:SS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of_time: Option<String>,
    /// With `--state`: this run and the run compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<RunState>,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunState {
    pub run: i64,
    pub previous_run: Option<PreviousRun>,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviousRun {
    pub run: i64,
    pub as_of: String,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub accounts: u64,
    pub groups: u64,
    /// The number of findings (excepted ones not counted).
    pub findings: u64,
    pub by_rule: BTreeMap<Rule, u64>,
    pub by_severity: BTreeMap<Severity, u64>,
    pub by_classification: BTreeMap<Classification, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persisting: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excepted: Option<u64>,
}

/// A finding that an exception covers, with that exception.
#[derive(Serialize, JsonSchema)]
pub struct ExceptedFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub exception: ExceptionRef,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRef {
    pub file: String,
    pub line: u64,
    pub reason: String,
    pub approved_by: String,
    pub expires: String,
}

/// What one exception did in the audit.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionStatus {
    pub file: String,
    pub line: u64,
    pub rule: Option<Rule>,
    pub data_source: Option<String>,
    pub account: Option<String>,
    pub group: Option<String>,
    pub role: Option<String>,
    pub scope: Option<String>,
    pub reason: String,
    pub approved_by: String,
    /// The last day it applies, `YYYY-MM-DD`.
    pub expires: String,
    pub status: ExceptionOutcome,
    pub days_left: i64,
    pub expiring_soon: bool,
    /// Ids of the findings it matched.
    pub findings: Vec<String>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionOutcome {
    Active,
    Unused,
    Expired,
}

/// The exceptions file (`--exceptions`, TOML): documented, time-limited
/// deviations.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "behorig exceptions file", extend("$id" = "https://behorig.invalid/schema/exceptions.schema.json"))]
pub struct ExceptionsFile {
    #[serde(default)]
    pub exception: Vec<ExceptionEntry>,
}

/// One `[[exception]]`: every key given must match; at least one of rule,
/// data_source, account, group, role and scope is required.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [
    {"required": ["rule"]}, {"required": ["data_source"]}, {"required": ["account"]},
    {"required": ["group"]}, {"required": ["role"]}, {"required": ["scope"]}
]))]
pub struct ExceptionEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// Matched without regard to case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Matched without regard to case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[schemars(length(min = 1))]
    pub reason: String,
    #[schemars(length(min = 1))]
    pub approved_by: String,
    /// The last day it applies: a TOML date, `YYYY-MM-DD`.
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub expires: String,
}

/// The schemas by file name, as written to `docs/schema/`.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    use schemars::generate::SchemaSettings;
    // What behorig writes: every field it always writes is required, `null`
    // where it does not apply.
    let written = || SchemaSettings::default().for_serialize().into_generator();
    // What behorig reads: only what the reader needs is required.
    let read = || SchemaSettings::default().for_deserialize().into_generator();
    vec![
        (
            "report.schema.json",
            written()
                .into_root_schema_for::<ReportDocument>()
                .to_value(),
        ),
        (
            "plan.schema.json",
            written()
                .into_root_schema_for::<crate::plan::Plan>()
                .to_value(),
        ),
        (
            "exceptions.schema.json",
            read().into_root_schema_for::<ExceptionsFile>().to_value(),
        ),
    ]
}

/// A schema as the checked-in file holds it: pretty JSON and a newline.
pub fn to_file_text(schema: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}
