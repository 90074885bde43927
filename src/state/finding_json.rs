//! Reading back a finding that the state file stored as the contract's JSON,
//! so that a resolved finding is reported exactly as it was found.

use serde_json::Value;

use crate::findings::{Classification, Finding, Rule, Severity};

fn opt_string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The finding in `text`, or `None` when it is not one.
pub fn parse(text: &str) -> Option<Finding> {
    let v: Value = serde_json::from_str(text).ok()?;
    let classification = strings(&v, "classification")
        .iter()
        .filter_map(|id| Classification::ALL.into_iter().find(|c| c.id() == id))
        .collect();
    Some(Finding {
        id: opt_string(&v, "id")?,
        rule: Rule::from_id(v.get("rule")?.as_str()?)?,
        data_source: opt_string(&v, "data_source")?,
        account: opt_string(&v, "account"),
        group: opt_string(&v, "group"),
        accounts: v.get("accounts").and_then(Value::as_u64),
        role: opt_string(&v, "role"),
        scope: opt_string(&v, "scope"),
        via: strings(&v, "via"),
        severity: Severity::from_id(v.get("severity")?.as_str()?)?,
        classification,
        message: opt_string(&v, "message").unwrap_or_default(),
        allow: opt_string(&v, "allow"),
        roles: strings(&v, "roles"),
        grant: opt_string(&v, "grant"),
        grant_at: None,
        reasons: None,
        status: None,
        first_seen: None,
        usage: None,
        used_since_last_run: None,
    })
}
