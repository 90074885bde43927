//! The JSON Schemas in docs/schema/: the checked-in files are the ones the
//! types generate, real reports of the example organisation (plain, with a
//! history of two runs, with exceptions) are valid against the report
//! schema, the example exceptions file against its schema, and each schema
//! rejects a document that breaks it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn checked_in(name: &str) -> Value {
    let path = repo().join("docs/schema").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("schema JSON")
}

fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::validator_for(&checked_in(name)).expect("the schema compiles")
}

fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .take(10)
        .collect()
}

/// `behorig audit --format json` of the example organisation.
fn report(args: &[&str], state: Option<&Path>) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_behorig"));
    cmd.current_dir(repo())
        .env_remove("BEHORIG_CONFIG")
        .args(["audit", "--format", "json", "-q"])
        .args(args);
    if let Some(state) = state {
        cmd.arg("--state").arg(state);
    }
    let out = cmd.output().expect("behorig runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn the_checked_in_schemas_are_the_generated_ones() {
    for (name, schema) in behorig::schema::all() {
        let path = repo().join("docs/schema").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            text == behorig::schema::to_file_text(&schema),
            "{} is not what the types generate: run `cargo run --example json-schemas -- docs/schema`",
            path.display()
        );
    }
}

#[test]
fn real_reports_are_valid() {
    let v = validator("report.schema.json");
    let plain = report(&["--as-of", "2026-11-22"], None);
    assert_eq!(errors(&v, &plain), Vec::<String>::new());

    // A history of two runs (the second has a previous run, a trend, and a
    // resolved finding: its export lacks the role grants), with exceptions.
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.db");
    let _first = report(&["--as-of", "2026-11-21"], Some(&state));
    let second = report(
        &[
            "--as-of",
            "2026-11-22",
            "--exceptions",
            "fixtures/norrvik/undantag.toml",
            "--csv",
            "fixtures/norrvik/konton.csv",
            "--csv",
            "fixtures/norrvik/gruppnastling.csv",
        ],
        Some(&state),
    );
    assert!(second["run"]["state"]["previous_run"].is_object());
    assert!(!second["resolved"].as_array().expect("resolved").is_empty());
    assert!(!second["excepted"].as_array().expect("excepted").is_empty());
    assert_eq!(errors(&v, &second), Vec::<String>::new());

    // The schema catches what breaks the contract.
    let mut extra = plain.clone();
    extra["findings"][0]["owner"] = json!("x");
    assert!(!v.is_valid(&extra), "an unknown field in a finding passed");
    let mut bad_rule = plain.clone();
    bad_rule["findings"][0]["rule"] = json!("too-much-access");
    assert!(!v.is_valid(&bad_rule), "an unknown rule passed");
    let mut missing = plain;
    missing["findings"][0]
        .as_object_mut()
        .expect("finding")
        .remove("account");
    assert!(!v.is_valid(&missing), "a finding without `account` passed");
}

/// A TOML document as JSON (dates as `YYYY-MM-DD` strings).
fn toml_to_json(item: &toml_edit::Item) -> Value {
    match item {
        toml_edit::Item::None => Value::Null,
        toml_edit::Item::Value(v) => value_to_json(v),
        toml_edit::Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), toml_to_json(v)))
                .collect(),
        ),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| toml_to_json(&toml_edit::Item::Table(t.clone())))
                .collect(),
        ),
    }
}

fn value_to_json(v: &toml_edit::Value) -> Value {
    match v {
        toml_edit::Value::String(s) => json!(s.value()),
        toml_edit::Value::Integer(i) => json!(i.value()),
        toml_edit::Value::Float(f) => json!(f.value()),
        toml_edit::Value::Boolean(b) => json!(b.value()),
        toml_edit::Value::Datetime(d) => json!(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        toml_edit::Value::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), value_to_json(v)))
                .collect(),
        ),
    }
}

#[test]
fn the_example_exceptions_file_is_valid_and_mistakes_are_not() {
    let v = validator("exceptions.schema.json");
    let text = std::fs::read_to_string(repo().join("fixtures/norrvik/undantag.toml"))
        .expect("example exceptions");
    let doc: toml_edit::DocumentMut = text.parse().expect("TOML");
    let file = toml_to_json(doc.as_item());
    assert_eq!(errors(&v, &file), Vec::<String>::new());

    let entry = &file["exception"][0];
    for key in ["reason", "approved_by", "expires"] {
        let mut broken = entry.clone();
        broken.as_object_mut().expect("entry").remove(key);
        assert!(
            !v.is_valid(&json!({"exception": [broken]})),
            "no `{key}` passed"
        );
    }
    let mut unknown = entry.clone();
    unknown["approver"] = json!("x");
    assert!(
        !v.is_valid(&json!({"exception": [unknown]})),
        "an unknown key passed"
    );
    let only_reason = json!({"reason": "r", "approved_by": "a", "expires": "2027-01-01"});
    assert!(
        !v.is_valid(&json!({"exception": [only_reason]})),
        "an exception matching everything passed"
    );
}

#[test]
fn the_plan_of_the_example_matches_the_plan_schema() {
    let v = validator("plan.schema.json");
    let out = Command::new(env!("CARGO_BIN_EXE_behorig"))
        .current_dir(repo())
        .env_remove("BEHORIG_CONFIG")
        .args(["plan", "--format", "json", "--as-of", "2026-11-22", "-q"])
        .output()
        .expect("behorig runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        !plan["changes"].as_array().expect("changes").is_empty(),
        "the example's plan has changes"
    );
    assert_eq!(errors(&v, &plan), Vec::<String>::new());
    // The contract's keys are there and checked.
    let change = &plan["changes"][0];
    for key in [
        "action",
        "group",
        "member",
        "member_kind",
        "data_source",
        "account",
        "role",
        "scope",
        "fixes",
        "removes_allowed",
    ] {
        assert!(change.get(key).is_some(), "a change has no `{key}`");
    }
    let mut bad = plan.clone();
    bad["changes"][0]["action"] = json!("delete-group");
    assert!(!v.is_valid(&bad), "an unknown action passed");
    let mut missing = plan;
    missing.as_object_mut().expect("plan").remove("after");
    assert!(!v.is_valid(&missing), "a plan without `after` passed");
}
