//! Every rule fires where it must and not where it must not.

use crate::common::*;

/// The findings of the test organisation, worked out by hand from the
/// fixture and the contract (rule, source, account, group, role, scope).
const EXPECTED: &[&str] = &[
    "broad-group statdb - Alla anställda Las IFO",
    "disabled-account statdb eva - - -",
    "expired-account statdb fia - - -",
    "inactive-account statdb gun - - -",
    "sod-conflict statdb adm1 - - -",
    "too-many-accounts statdb - - Las *",
    "unauthorized-access fil jon - Las *",
    "unauthorized-access statdb adm1 - Las IFO",
    "unauthorized-access statdb bo - Las IFO",
    "unauthorized-access statdb cia - Las VO",
    "unauthorized-access statdb dan - Las IFO",
    "unauthorized-access statdb hal - Las IFO",
    "unknown-account statdb ghost - - -",
];

#[test]
fn every_rule_fires_exactly_where_it_must() {
    let env = Env::new();
    let args = write_org(&env);
    let (code, json, stderr) = audit_json(&env, &strs(&args));
    assert_eq!(
        code, 1,
        "critical findings fail the default --fail-on high: {stderr}"
    );
    let mut expected: Vec<String> = EXPECTED.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(keys(&json), expected);
    assert_eq!(json["summary"]["findings"], 13);
    assert_eq!(json["summary"]["accounts"], 12);
    assert_eq!(json["summary"]["by_rule"]["unauthorized-access"], 6);
}

#[test]
fn paths_go_through_nested_groups() {
    let env = Env::new();
    let args = write_org(&env);
    let (_, json, _) = audit_json(&env, &strs(&args));
    let bo = find(&json, "unauthorized-access", "bo");
    assert_eq!(
        bo["via"],
        serde_json::json!(["SG-Controllers", "SG-Statdb-Alla"])
    );
    let dan = find(&json, "unauthorized-access", "dan");
    assert_eq!(
        dan["via"],
        serde_json::json!(["Alla anställda", "SG-Statdb-IFO-Las"])
    );
    // A catch-all group nested into an access group: one finding for the
    // group with the number of accounts it lets in.
    let broad = find(&json, "broad-group", "Alla anställda");
    assert_eq!(broad["accounts"], 2);
    assert!(broad["account"].is_null());
    assert_eq!(
        broad["via"],
        serde_json::json!(["Alla anställda", "SG-Statdb-IFO-Las"])
    );
}

#[test]
fn membership_cycles_terminate_and_still_give_access() {
    // ivar reaches SG-Statdb-VO-Las through SG-A → SG-B, which contain each
    // other; his access is allowed, so the only trace is the allow count.
    let env = Env::new();
    let args = write_org(&env);
    let (_, json, _) = audit_json(&env, &strs(&args));
    assert!(!keys(&json).iter().any(|k| k.contains(" ivar ")));
    let too_many = find_rule(&json, "too-many-accounts");
    // anna, bo (VO), eva, fia, gun and ivar are under `egen`.
    assert_eq!(too_many["accounts"], 6);
    assert!(too_many["account"].is_null());
    assert_eq!(too_many["role"], "Las");
}

fn find_rule<'a>(json: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    json["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["rule"] == rule))
        .unwrap_or_else(|| panic!("no {rule} finding"))
}

#[test]
fn scope_template_allows_only_the_own_board() {
    let env = Env::new();
    let args = write_org(&env);
    let (_, json, _) = audit_json(&env, &strs(&args));
    // bo (VO) may read VO but not IFO; cia (IFO) may not read VO.
    let k = keys(&json);
    assert!(k.contains(&"unauthorized-access statdb bo - Las IFO".to_string()));
    assert!(!k.contains(&"unauthorized-access statdb bo - Las VO".to_string()));
    assert!(k.contains(&"unauthorized-access statdb cia - Las VO".to_string()));
    assert!(!k.iter().any(|k| k.contains(" anna ")));
}

#[test]
fn regex_condition_decides_on_the_attribute() {
    let env = Env::new();
    let args = write_org(&env);
    let (_, json, _) = audit_json(&env, &strs(&args));
    let jon = find(&json, "unauthorized-access", "jon");
    assert_eq!(jon["data_source"], "fil");
    // kim matches the regex; eva too (and disabled is off for this source).
    assert!(!keys(&json)
        .iter()
        .any(|k| k.contains(" fil kim ") || k.contains(" fil eva ")));
}

#[test]
fn unknown_account_gets_no_other_finding() {
    let env = Env::new();
    let args = write_org(&env);
    let (_, json, _) = audit_json(&env, &strs(&args));
    let ghost: Vec<String> = keys(&json)
        .into_iter()
        .filter(|k| k.to_lowercase().contains(" ghost "))
        .collect();
    assert_eq!(
        ghost,
        vec!["unknown-account statdb ghost - - -".to_string()]
    );
    let f = find(&json, "unknown-account", "ghost");
    assert_eq!(f["classification"], serde_json::json!(["imy", "lex_sarah"]));
    assert_eq!(f["severity"], "critical");
}

#[test]
fn classification_and_severity_follow_the_source() {
    let env = Env::new();
    let args = write_org(&env);
    let (_, json, _) = audit_json(&env, &strs(&args));
    let jon = find(&json, "unauthorized-access", "jon");
    assert_eq!(jon["classification"], serde_json::json!(["imy"]));
    assert_eq!(jon["severity"], "high");
    for (rule, subject) in [("sod-conflict", "adm1"), ("inactive-account", "gun")] {
        let f = find(&json, rule, subject);
        assert_eq!(
            f["classification"],
            serde_json::json!(["internal"]),
            "{rule}"
        );
        assert_eq!(f["severity"], "medium", "{rule}");
    }
    for (rule, subject) in [
        ("disabled-account", "eva"),
        ("expired-account", "fia"),
        ("unauthorized-access", "cia"),
    ] {
        let f = find(&json, rule, subject);
        assert_eq!(f["classification"], serde_json::json!(["imy", "lex_sarah"]));
        assert_eq!(f["severity"], "critical");
    }
}

#[test]
fn policy_can_override_severity() {
    let env = Env::new();
    let args = write_org(&env);
    let policy = format!("{STATDB_POLICY}\n[severity]\n\"inactive-account\" = \"high\"\n");
    env.write("policies/statdb.toml", policy);
    let (_, json, _) = audit_json(&env, &strs(&args));
    assert_eq!(find(&json, "inactive-account", "gun")["severity"], "high");
}

#[test]
fn finding_ids_are_stable_and_distinct() {
    let env = Env::new();
    let args = write_org(&env);
    let (_, a, _) = audit_json(&env, &strs(&args));
    let (_, b, _) = audit_json(&env, &strs(&args));
    let ids = |j: &serde_json::Value| -> Vec<String> {
        j["findings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| f["id"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(ids(&a), ids(&b));
    let mut unique = ids(&a);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 13);
}

#[test]
fn exit_codes_follow_fail_on() {
    let env = Env::new();
    let args = write_org(&env);
    for (level, code) in [("critical", 1), ("high", 1), ("low", 1), ("never", 0)] {
        let mut a = strs(&args);
        a.extend(["--fail-on", level]);
        let (got, _, _) = audit_json(&env, &a);
        assert_eq!(got, code, "--fail-on {level}");
    }
    // Only medium findings: passes at the default threshold.
    env.write(
        "policies/statdb.toml",
        STATDB_POLICY.replace("data_categories = [\"halsa\", \"personnummer\"]", ""),
    );
    env.write(
        "policies/fil.toml",
        FIL_POLICY.replace("data_categories = [\"personnummer\"]", ""),
    );
    let (got, json, _) = audit_json(&env, &strs(&args));
    assert_eq!(got, 0);
    assert_eq!(json["summary"]["by_severity"].get("critical"), None);
    let mut a = strs(&args);
    a.extend(["--fail-on", "medium"]);
    assert_eq!(audit_json(&env, &a).0, 1);
}

#[test]
fn as_of_moves_expiry_and_inactivity() {
    let env = Env::new();
    let args: Vec<String> = write_org(&env)
        .into_iter()
        .map(|a| {
            if a == "2026-11-22" {
                "2025-12-01".into()
            } else {
                a
            }
        })
        .collect();
    let (_, json, _) = audit_json(&env, &strs(&args));
    let k = keys(&json);
    assert!(!k.iter().any(|k| k.starts_with("expired-account")));
    assert!(!k.iter().any(|k| k.starts_with("inactive-account")));
}

#[test]
fn role_export_for_a_source_without_policy_is_unauthorized() {
    let env = Env::new();
    let mut args = write_org(&env);
    env.write(
        "more-roles.csv",
        "account,data_source,role,scope\nanna,treserva,Admin,\n",
    );
    args.extend(["--csv".into(), "more-roles.csv".into()]);
    let (_, json, stderr) = audit_json(&env, &strs(&args));
    assert!(keys(&json).contains(&"unauthorized-access treserva anna - Admin *".to_string()));
    assert!(stderr.contains("`treserva`"), "{stderr}");
}

/// A data source that only a role export names gets a made-up policy with
/// no allows: its access is unauthorized, and `explain` shows that policy
/// and the export row that gives the role.
#[test]
fn explain_a_finding_on_a_source_no_policy_describes() {
    let env = Env::new();
    let args = write_org(&env);
    let roles = std::fs::read_to_string(env.dir.path().join("roles.csv")).expect("roles");
    let line = roles.lines().count() + 1;
    env.write("roles.csv", format!("{roles}bo,arkiv,Las,IFO\n"));
    let (_, json, stderr) = audit_json(&env, &strs(&args));
    assert!(
        stderr.contains("`arkiv`, which no policy describes"),
        "{stderr}"
    );
    let finding = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["data_source"] == "arkiv")
        .expect("a finding on the source");
    assert_eq!(finding["rule"], "unauthorized-access");
    let (code, text) = explain(&env, finding["id"].as_str().expect("id"), &args);
    assert_eq!(code, 0, "{text}");
    for expected in [
        "  Datakälla:    arkiv (arkiv), policy (no policy)".to_string(),
        format!("└─ tilldelas Las på IFO direkt: roles.csv:{line}"),
        "(no policy) har inga [[allow]]: all behörighet till källan är otillåten".to_string(),
    ] {
        assert!(text.contains(&expected), "no `{expected}` in:\n{text}");
    }
}

/// With memberships as their own export, `explain` names the row of that
/// export for the account's membership and the row of the nesting export
/// for each nesting on the path.
#[test]
fn explain_names_the_membership_export_row() {
    let env = Env::new();
    env.write("policies/statdb.toml", STATDB_POLICY);
    env.write(
        "accounts.csv",
        "account,department,title\nbo,IFO,Ekonom\ncia,VO,Statistiker\n",
    );
    // cia's membership is on line 3, bo's on line 4.
    env.write(
        "members.csv",
        "account,group\ncia,SG-Controllers\ncia,SG-Statdb-VO-Las\nbo,SG-Controllers\n",
    );
    env.write(
        "nesting.csv",
        "group,member_group\nSG-Statdb-Alla,SG-Controllers\n",
    );
    let args = args(&["accounts.csv", "members.csv", "nesting.csv"]);
    let (_, json, stderr) = audit_json(&env, &strs(&args));
    let bo = find(&json, "unauthorized-access", "bo");
    assert_eq!(
        bo["via"],
        serde_json::json!(["SG-Controllers", "SG-Statdb-Alla"]),
        "{stderr}"
    );
    let (code, text) = explain(&env, bo["id"].as_str().expect("id"), &args);
    assert_eq!(code, 0, "{text}");
    let expected = "  bo\n    └─ är medlem i SG-Controllers (members.csv:4)\n       \
                    └─ som är medlem i SG-Statdb-Alla (nesting.csv:2)\n";
    assert!(text.contains(expected), "no `{expected}` in:\n{text}");
}
