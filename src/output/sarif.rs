//! `--format sarif`: SARIF 2.1.0 for code-scanning dashboards. One result per
//! finding; the eight rule ids are the driver's rules, described with their
//! help text; the location is the policy line (or role export row) that
//! gives the access, else the data source's policy file.

use serde_json::{json, Value};

use super::view;
use crate::findings::{Finding, Rule, Severity};
use crate::report::Report;

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF level of a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The numeric score code-scanning dashboards sort by (0.0–10.0).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "7.5",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
    }
}

fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// What the rule means and what to do about it, in Swedish.
pub fn help_sv(rule: Rule) -> &'static str {
    rule.help_sv()
}

/// A file path as a relative or absolute URI reference: `/` separators and
/// every byte outside the unreserved set percent-encoded.
pub fn path_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn physical_location(report: &Report, f: &Finding) -> Option<Value> {
    let physical = match f.grant.as_deref().and_then(view::grant_location) {
        Some((file, line)) => json!({
            "artifactLocation": {"uri": path_uri(file)},
            "region": {"startLine": line},
        }),
        None => {
            let file = report
                .source(&f.data_source)
                .and_then(|s| s.policy_file.as_deref())?;
            json!({"artifactLocation": {"uri": path_uri(file)}})
        }
    };
    Some(physical)
}

fn result(report: &Report, f: &Finding) -> Value {
    let rule_index = Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
    let mut logical = vec![json!({
        "name": f.data_source,
        "kind": "module",
    })];
    let subject = view::subject(f);
    if !subject.is_empty() {
        logical.push(json!({
            "name": subject,
            "fullyQualifiedName": format!("{}/{}", f.data_source, subject),
            "kind": "object",
        }));
    }
    let mut location = json!({"logicalLocations": logical});
    if let Some(physical) = physical_location(report, f) {
        location["physicalLocation"] = physical;
    }
    json!({
        "ruleId": f.rule.id(),
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": f.message},
        "locations": [location],
        "partialFingerprints": {"behorigFindingId/v1": f.id},
        "properties": {
            "id": f.id,
            "severity": f.severity.id(),
            "security-severity": security_severity(f.severity),
            "classification": f.classification,
            "data_source": f.data_source,
            "account": f.account,
            "group": f.group,
            "accounts": f.accounts,
            "role": f.role,
            "scope": f.scope,
            "via": f.via,
            "status": f.status,
            "first_seen": f.first_seen,
        },
    })
}

/// `result` with the evidence of use as a property, when the audit read
/// access logs.
fn result_with_use(report: &Report, f: &Finding) -> Value {
    let mut r = result(report, f);
    if let Some(usage) = &f.usage {
        r["properties"]["use"] = json!(usage);
    }
    r
}

fn rules(report: &Report) -> Vec<Value> {
    Rule::ALL
        .iter()
        .map(|r| {
            let default = if r.exposes_data() { "error" } else { "warning" };
            // Dashboards rank rules by this; severity depends on the source,
            // so the worst one in this report counts.
            let worst = report
                .findings
                .iter()
                .filter(|f| f.rule == *r)
                .map(|f| f.severity)
                .max()
                .unwrap_or(if r.exposes_data() {
                    Severity::High
                } else {
                    Severity::Medium
                });
            let tags: Vec<&str> = if r.exposes_data() {
                vec!["security", "access-control", "imy"]
            } else {
                vec!["security", "access-control"]
            };
            json!({
                "id": r.id(),
                "name": pascal_case(r.id()),
                "shortDescription": {"text": r.title_sv()},
                "fullDescription": {"text": help_sv(*r)},
                "help": {
                    "text": help_sv(*r),
                    "markdown": format!("**{}** (`{}`)\n\n{}", r.title_sv(), r.id(), help_sv(*r)),
                },
                "defaultConfiguration": {"level": default},
                "properties": {
                    "tags": tags,
                    "security-severity": security_severity(worst),
                },
            })
        })
        .collect()
}

pub fn render(report: &Report) -> Result<Vec<u8>, String> {
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result_with_use(report, f))
        .collect();
    let artifacts: Vec<Value> = report
        .policy_files
        .iter()
        .map(|p| json!({"location": {"uri": path_uri(p)}, "roles": ["policy"]}))
        .chain(
            report
                .inputs
                .iter()
                .map(|i| json!({"location": {"uri": path_uri(i)}, "roles": ["analysisTarget"]})),
        )
        .collect();
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "behorig",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "language": "sv-SE",
                "rules": rules(report),
            }},
            "invocations": [{"executionSuccessful": true}],
            "language": "sv-SE",
            "artifacts": artifacts,
            "results": results,
            "properties": {
                "as_of": report.as_of.to_string(),
                "accounts": report.accounts,
                "groups": report.groups,
            },
        }],
    });
    let mut out =
        serde_json::to_vec_pretty(&log).map_err(|e| format!("cannot render SARIF: {e}"))?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(
            path_uri("policies/röst brev.toml"),
            "policies/r%C3%B6st%20brev.toml"
        );
        assert_eq!(path_uri("C:\\data\\x.csv"), "C%3A/data/x.csv");
        assert_eq!(path_uri("/srv/a-b_c~d.toml"), "/srv/a-b_c~d.toml");
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(pascal_case("sod-conflict"), "SodConflict");
    }
}
