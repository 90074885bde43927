//! `--format sarif`: SARIF 2.1.0 for code-scanning dashboards. One result per
//! finding; the eight rule ids are the driver's rules, described with their
//! help text; the location is the policy line (or role export row) that
//! gives the access, else the data source's policy file.

use serde_json::{json, Value};

use super::pretty::{document, list_of_one, list_with, value_at, Object};
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

/// A result's physical location as a tree: what [`Physical`] writes.
#[cfg(test)]
fn physical_location(report: &Report, f: &Finding) -> Option<Value> {
    let physical = match &f.grant_at {
        Some(at) => match at.line {
            Some(line) => json!({
                "artifactLocation": {"uri": path_uri(&at.file)},
                "region": {"startLine": line.get()},
            }),
            None => json!({"artifactLocation": {"uri": path_uri(&at.file)}}),
        },
        None => {
            let file = report
                .source(&f.data_source)
                .and_then(|s| s.policy_file.as_deref())?;
            json!({"artifactLocation": {"uri": path_uri(file)}})
        }
    };
    Some(physical)
}

/// A result as a tree: what [`Written`] writes, kept to check it against.
#[cfg(test)]
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
#[cfg(test)]
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
    let mut out = Vec::new();
    write(report, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Writes the SARIF log to `out`, key by key, its results rendered on
/// every core and written in order: no tree of the results is built.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    document(out, |log| {
        log.entry("$schema", &SCHEMA_URI)?;
        log.entry("version", &"2.1.0")?;
        log.entry_with("runs", |out, level| {
            list_of_one(out, level, |out, level| write_run(report, out, level))
        })
    })
}

/// The log's one run, `level` deep.
fn write_run<W: std::io::Write + ?Sized>(
    report: &Report,
    out: &mut W,
    level: usize,
) -> std::io::Result<()> {
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
    let mut run = Object::begin(out, level)?;
    run.entry(
        "tool",
        &json!({"driver": {
            "name": "behorig",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "language": "sv-SE",
            "rules": rules(report),
        }}),
    )?;
    run.entry("invocations", &json!([{"executionSuccessful": true}]))?;
    run.entry("language", &"sv-SE")?;
    run.entry("artifacts", &artifacts)?;
    run.entry_with("results", |out, level| {
        list_with(out, level, &report.findings, |f, buf, level| {
            value_at(buf, level, &Written(report, f))
        })
    })?;
    run.entry(
        "properties",
        &json!({
            "as_of": report.as_of.to_string(),
            "accounts": report.accounts,
            "groups": report.groups,
        }),
    )?;
    run.end()
}

/// One result as [`result_with_use`] makes it, written field by field
/// without building it.
struct Written<'a>(&'a Report, &'a Finding);

/// A map of one entry.
struct One<'a, V>(&'a str, V);

impl<V: serde::Serialize> serde::Serialize for One<'_, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.0, &self.1)?;
        map.end()
    }
}

/// The location of a result: its logical locations, and the physical one
/// when there is one.
struct Location<'a>(&'a Report, &'a Finding);

impl serde::Serialize for Location<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Location(report, f) = *self;
        let subject = view::subject(f);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("logicalLocations", &Logical(&f.data_source, &subject))?;
        match &f.grant_at {
            Some(at) => map.serialize_entry("physicalLocation", &Physical(&at.file, at.line))?,
            None => {
                if let Some(file) = report
                    .source(&f.data_source)
                    .and_then(|s| s.policy_file.as_deref())
                {
                    map.serialize_entry("physicalLocation", &Physical(file, None))?;
                }
            }
        }
        map.end()
    }
}

/// A result's logical locations: its data source, and its subject (an
/// account, a group or an allow rule) when it has one.
struct Logical<'a>(&'a str, &'a str);

impl serde::Serialize for Logical<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let Logical(source, subject) = *self;
        struct Module<'a>(&'a str);
        impl serde::Serialize for Module<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("name", self.0)?;
                map.serialize_entry("kind", "module")?;
                map.end()
            }
        }
        struct Object<'a>(&'a str, &'a str);
        impl serde::Serialize for Object<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let Object(source, subject) = *self;
                let mut map = s.serialize_map(Some(3))?;
                map.serialize_entry("name", subject)?;
                map.serialize_entry("fullyQualifiedName", &format_args!("{source}/{subject}"))?;
                map.serialize_entry("kind", "object")?;
                map.end()
            }
        }
        let mut list = s.serialize_seq(Some(if subject.is_empty() { 1 } else { 2 }))?;
        list.serialize_element(&Module(source))?;
        if !subject.is_empty() {
            list.serialize_element(&Object(source, subject))?;
        }
        list.end()
    }
}

/// A result's physical location: a policy file, and the line of the
/// grant when it is known.
struct Physical<'a>(&'a str, Option<std::num::NonZeroU32>);

impl serde::Serialize for Physical<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Physical(file, line) = *self;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("artifactLocation", &One("uri", path_uri(file)))?;
        if let Some(line) = line {
            map.serialize_entry("region", &One("startLine", line.get()))?;
        }
        map.end()
    }
}

/// The properties of a result.
struct Properties<'a>(&'a Finding);

impl serde::Serialize for Properties<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let f = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &f.id)?;
        map.serialize_entry("severity", f.severity.id())?;
        map.serialize_entry("security-severity", security_severity(f.severity))?;
        map.serialize_entry("classification", &f.classification)?;
        map.serialize_entry("data_source", &f.data_source)?;
        map.serialize_entry("account", &f.account)?;
        map.serialize_entry("group", &f.group)?;
        map.serialize_entry("accounts", &f.accounts)?;
        map.serialize_entry("role", &f.role)?;
        map.serialize_entry("scope", &f.scope)?;
        map.serialize_entry("via", &f.via)?;
        map.serialize_entry("status", &f.status)?;
        map.serialize_entry("first_seen", &f.first_seen)?;
        if let Some(usage) = &f.usage {
            map.serialize_entry("use", usage)?;
        }
        map.end()
    }
}

impl serde::Serialize for Written<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Written(report, f) = *self;
        let rule_index = Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("ruleId", f.rule.id())?;
        map.serialize_entry("ruleIndex", &rule_index)?;
        map.serialize_entry("level", level(f.severity))?;
        map.serialize_entry("message", &One("text", &f.message))?;
        map.serialize_entry("locations", &[Location(report, f)])?;
        map.serialize_entry("partialFingerprints", &One("behorigFindingId/v1", &f.id))?;
        map.serialize_entry("properties", &Properties(f))?;
        map.end()
    }
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

    /// A result written field by field is, byte for byte, the tree.
    #[test]
    fn written_result_is_the_tree() {
        let f = Finding {
            id: "aaaa000000000001".into(),
            rule: Rule::UnauthorizedAccess,
            data_source: "statdb".into(),
            account: Some("anna \"<b>\"".into()),
            group: None,
            accounts: Some(4),
            role: Some("Läs".into()),
            scope: Some("VO".into()),
            via: vec!["SG-A".into(), "SG-B".into()],
            severity: Severity::High,
            classification: vec![
                crate::findings::Classification::Imy,
                crate::findings::Classification::LexSarah,
            ],
            message: "anna har rollen Läs\n".into(),
            allow: None,
            roles: Vec::new(),
            grant: Some("policies/statdb.toml:9 ([[grant]] group = 'x')".into()),
            grant_at: None,
            reasons: None,
            status: Some(crate::findings::Status::New),
            first_seen: Some("2026-11-01T00:00:00".into()),
            usage: Some(Some(Box::new(crate::evidence::Usage {
                events: 7,
                records: 3,
                first: Some("2026-10-01T08:00:00".into()),
                last: None,
                accounts_used: None,
            }))),
            used_since_last_run: None,
        };
        let mut plain = f.clone();
        plain.account = None;
        plain.group = Some("Alla".into());
        plain.grant = None;
        plain.usage = None;
        let mut no_subject = plain.clone();
        no_subject.group = None;
        no_subject.usage = Some(None);
        let place = |line: Option<u32>| crate::findings::Place {
            file: "policies/röst brev.toml".into(),
            line: line.and_then(std::num::NonZeroU32::new),
        };
        let mut at_line = f.clone();
        at_line.grant_at = Some(place(Some(9)));
        let mut in_file = plain.clone();
        in_file.grant_at = Some(place(None));
        let bare = Report::default();
        // A source's policy file is the location of its findings without a
        // grant's place.
        let described = Report {
            sources: vec![crate::policy::SourceMeta {
                id: "statdb".into(),
                name: "Statistikdatabas".into(),
                controller: None,
                activity: "socialtjanst".into(),
                confidentiality: None,
                data_categories: Vec::new(),
                data_subject_groups: Vec::new(),
                estimated_data_subjects: None,
                scopes: Vec::new(),
                owner: None,
                policy_file: Some("policies/statdb.toml".into()),
                role_labels: Default::default(),
            }],
            ..Report::default()
        };
        let mut locations = 0;
        for report in [&bare, &described] {
            for f in [&f, &plain, &no_subject, &at_line, &in_file] {
                let tree = result_with_use(report, f);
                locations += usize::from(tree["locations"][0].get("physicalLocation").is_some());
                let tree = serde_json::to_string_pretty(&tree).unwrap_or_default();
                let written = serde_json::to_string_pretty(&Written(report, f)).unwrap_or_default();
                assert_eq!(written, tree);
            }
        }
        // The grants' places in both reports, the policy file for the
        // other three in the second.
        assert_eq!(locations, 2 + 5);
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(pascal_case("sod-conflict"), "SodConflict");
    }
}
