//! Hostile sizes: each works within bounded time and memory, or fails with
//! a clear message; never a crash or a hang.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use behorig::findings::Rule;
use behorig::inventory::InventoryBuilder;
use behorig::policy::parse_policy;
use chrono::NaiveDate;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).expect("date")
}

#[test]
fn a_csv_field_of_tens_of_megabytes_is_read() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir(dir.path().join("policies")).expect("mkdir");
    std::fs::write(
        dir.path().join("policies/s.toml"),
        "[source]\nid = \"s\"\n[[grant]]\ngroup = '^G$'\nrole = \"Las\"\n",
    )
    .expect("policy");
    let mut csv = String::from("account,note,group\n");
    csv.push_str("anna,\"");
    csv.push_str(&"x\"\"y;".repeat(6 * 1024 * 1024));
    csv.push_str("\",G\nbo,kort,G\n");
    std::fs::write(dir.path().join("a.csv"), csv).expect("csv");
    let out = Command::cargo_bin("behorig")
        .expect("binary")
        .current_dir(dir.path())
        .args([
            "audit",
            "--policies",
            "policies",
            "--csv",
            "a.csv",
            "--format",
            "json",
        ])
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // Both accounts were read; the huge note is an attribute like any other.
    assert_eq!(json["summary"]["accounts"], 2);
    assert_eq!(json["summary"]["findings"], 2);
}

#[test]
fn a_group_with_a_million_members_is_evaluated() {
    let mut inv = InventoryBuilder::new();
    let origin = inv.origin("limits", None);
    let all = inv.intern_group("Alla anställda");
    let access = inv.intern_group("SG-Las");
    inv.add_nesting(access, all, origin);
    let n = 1_000_000;
    inv.reserve_accounts(n);
    for i in 0..n {
        let a = inv.account_id(&format!("u{i}"), &origin);
        inv.set_attr(a, "department", "IFO");
        inv.add_membership(a, all, origin);
    }
    let inv = inv.finish();
    let policy = parse_policy(
        Path::new("p.toml"),
        "[source]\nid = \"s\"\ndata_categories = [\"halsa\"]\n[[grant]]\ngroup = '^SG-Las$'\nrole = \"Las\"\n\
         [[allow]]\nwhen.department = \"IFO\"\nmax_accounts = 10\n[checks]\nbroad_groups = ['^Alla']\n",
    )
    .expect("policy");
    let evaluation = behorig::evaluate::evaluate(&[policy], &inv, as_of());
    let rules: Vec<Rule> = evaluation.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules.len(), 2, "{rules:?}");
    let broad = evaluation
        .findings
        .iter()
        .find(|f| f.rule == Rule::BroadGroup)
        .expect("broad-group");
    assert_eq!(broad.accounts, Some(n as u64));
    let too_many = evaluation
        .findings
        .iter()
        .find(|f| f.rule == Rule::TooManyAccounts)
        .expect("too-many-accounts");
    assert_eq!(too_many.accounts, Some(n as u64));
}

#[test]
fn a_policy_with_thousands_of_allows_is_evaluated() {
    let mut text = String::from(
        "[source]\nid = \"s\"\nscopes = [\"IFO\", \"VO\"]\n[[grant]]\ngroup = '^G-(?P<scope>IFO|VO)$'\nrole = \"Las\"\n",
    );
    for i in 0..5000 {
        text.push_str(&format!(
            "[[allow]]\nid = \"a{i}\"\nscope = \"*\"\nwhen.title = \"Titel {i}\"\nwhen.department = \"{{scope}}\"\n"
        ));
    }
    let policy = parse_policy(Path::new("p.toml"), &text).expect("policy");
    assert_eq!(policy.allows.len(), 5000);
    let mut inv = InventoryBuilder::new();
    let origin = inv.origin("limits", None);
    let groups = [inv.intern_group("G-IFO"), inv.intern_group("G-VO")];
    for i in 0..2000 {
        let a = inv.account_id(&format!("u{i}"), &origin);
        inv.set_attr(a, "department", "IFO");
        inv.set_attr(a, "title", &format!("Titel {}", i * 3));
        inv.add_membership(a, groups[i % 2], origin);
    }
    let inv = inv.finish();
    let evaluation = behorig::evaluate::evaluate(&[policy], &inv, as_of());
    // Accounts in G-VO are never allowed (their department is IFO); those
    // in G-IFO are allowed when some allow names their title (i*3 < 5000).
    let expected = (0..2000).filter(|i| i % 2 == 1 || i * 3 >= 5000).count();
    assert_eq!(evaluation.findings.len(), expected);
}

#[test]
fn a_pathological_pattern_is_refused_with_its_position() {
    let text = format!(
        "[source]\nid = \"s\"\n[[grant]]\ngroup = '{}'\nrole = \"Las\"\n",
        "(a{1000}){1000}"
    );
    let errors = parse_policy(Path::new("p.toml"), &text).expect_err("refused");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().starts_with("p.toml:4:9: bad regex"),
        "{}",
        errors[0]
    );
}

#[test]
fn an_ldif_value_of_tens_of_megabytes_is_read() {
    use behorig::sources::{directory, ldif};
    let big = "x".repeat(30 * 1024 * 1024);
    let mut text = String::from(
        "version: 1\n\ndn: uid=anna,ou=people,dc=ex,dc=se\nobjectClass: inetOrgPerson\nuid: anna\ncn: Anna\nsn: A\ndescription: ",
    );
    // Folded the way ldapsearch writes long values.
    for (i, chunk) in big.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            text.push_str("\n ");
        }
        text.push_str(std::str::from_utf8(chunk).expect("ascii"));
    }
    text.push_str("\n\ndn: uid=bo,ou=people,dc=ex,dc=se\nobjectClass: inetOrgPerson\nuid: bo\ncn: Bo\nsn: B\n");
    let entries = ldif::parse("big.ldif", text.as_bytes()).expect("parsed");
    let mut inv = InventoryBuilder::new();
    directory::add_entries(entries, &directory::Mapping::from_config(None), &mut inv)
        .expect("mapped");
    assert_eq!(inv.accounts().len(), 2);
    let anna = inv.account("anna").expect("anna");
    assert_eq!(
        inv.accounts()[anna]
            .attrs
            .get("description", inv.names())
            .map(str::len),
        Some(big.len())
    );
}
