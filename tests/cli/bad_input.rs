//! Inputs that cannot be read completely stop the audit: exit 3, the file
//! and line named, and no report written.

use crate::common::*;

/// Runs the test organisation with one extra or replaced file and checks
/// the failure.
fn fails(name: &str, content: &[u8], location: &str, what: &str) {
    let env = Env::new();
    let mut args = write_org(&env);
    env.write(name, content);
    if !args.iter().any(|a| a == name) {
        args.extend(["--csv".into(), name.into()]);
    }
    args.extend([
        "--format".into(),
        "json".into(),
        "--output".into(),
        "report.json".into(),
    ]);
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(location),
        "expected `{location}` in: {stderr}"
    );
    assert!(stderr.contains(what), "expected `{what}` in: {stderr}");
    assert!(!env.path("report.json").exists(), "a report was written");
    assert!(out.stdout.is_empty(), "something was printed as a report");
}

#[test]
fn unknown_layout() {
    fails(
        "export.csv",
        b"namn,telefon\nAnna,123\n",
        "export.csv:1",
        "unknown CSV layout",
    );
}

#[test]
fn ragged_row() {
    fails(
        "accounts.csv",
        b"account,department,group\nanna,IFO,SG-Statdb-IFO-Las\nbo,VO,SG-Controllers,extra\n",
        "accounts.csv:3",
        "the row has 4 fields, the header has 3",
    );
}

#[test]
fn ragged_row_after_a_multiline_field_names_the_right_line() {
    fails(
        "accounts.csv",
        b"account,department,note\nanna,IFO,\"one\ntwo\"\nbo,VO\n",
        "accounts.csv:4",
        "the row has 2 fields",
    );
}

#[test]
fn unterminated_quote() {
    fails(
        "accounts.csv",
        b"account,department,title\nanna,IFO,Statistiker\nbo,VO,\"Controller\ncia,IFO,Statistiker\n",
        "accounts.csv:3",
        "a quoted field is never closed",
    );
}

#[test]
fn unterminated_quote_far_into_a_large_file_names_its_line() {
    // 5,000 rows with quoted titles (about 140 KB) before the unclosed
    // quote, and rows after it.
    let mut text = b"account,department,title\n".to_vec();
    for i in 0..5000 {
        text.extend(format!("u{i:05},IFO,\"Statistiker, heltid\"\n").as_bytes());
    }
    text.extend(b"bo,VO,\"Controller\n");
    for i in 0..100 {
        text.extend(format!("v{i},VO,Controller\n").as_bytes());
    }
    assert!(text.len() > 128 * 1024);
    fails(
        "accounts.csv",
        &text,
        "accounts.csv:5002",
        "a quoted field is never closed",
    );
}

#[test]
fn unterminated_quote_in_the_header() {
    fails(
        "accounts.csv",
        b"account,\"department,title\nanna,IFO,Statistiker\n",
        "accounts.csv:1",
        "a quoted field is never closed",
    );
}

#[test]
fn unterminated_quote_after_a_crlf_multiline_field_names_its_line() {
    fails(
        "accounts.csv",
        b"account;department;note\r\nanna;IFO;\"one\r\ntwo\"\r\nbo;VO;x\r\ncia;IFO;\"open\r\ndan;VO;y\r\n",
        "accounts.csv:5",
        "a quoted field is never closed",
    );
}

#[test]
fn unterminated_quote_in_a_role_export_and_a_nesting_export() {
    fails(
        "roles.csv",
        b"account,data_source,role,scope\nanna,statdb,\"lasare,IFO\nbo,statdb,lasare,VO\n",
        "roles.csv:2",
        "a quoted field is never closed",
    );
    fails(
        "nesting.csv",
        b"group,member_group\nSG-A,SG-B\nSG-C,\"SG-D\n",
        "nesting.csv:3",
        "a quoted field is never closed",
    );
}

#[test]
fn a_wrong_row_before_an_unterminated_quote_is_reported_first() {
    // Rows are checked in file order: the quote on line 3 does not hide
    // the wrong value on line 2.
    fails(
        "accounts.csv",
        b"account,enabled,title\nanna,kanske,Statistiker\nbo,ja,\"Controller\n",
        "accounts.csv:2",
        "`kanske` is not a valid enabled value",
    );
}

#[test]
fn unreadable_file() {
    let env = Env::new();
    let mut args = write_org(&env);
    args.extend([
        "--csv".into(),
        "missing.csv".into(),
        "--output".into(),
        "r.txt".into(),
    ]);
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("missing.csv"), "{stderr}");
    assert!(!env.path("r.txt").exists());
}

#[test]
fn malformed_value() {
    fails(
        "accounts.csv",
        b"account,enabled\nanna,ja\nbo,kanske\n",
        "accounts.csv:3",
        "`kanske` is not a valid enabled value",
    );
    fails(
        "accounts.csv",
        b"account,expires\nanna,2026-13-45\n",
        "accounts.csv:2",
        "not a valid expires value",
    );
}

#[test]
fn role_export_row_without_role() {
    fails(
        "roles.csv",
        b"account,data_source,role,scope\nanna,statdb,,IFO\n",
        "roles.csv:2",
        "the `role` field is empty",
    );
}

#[test]
fn a_failing_audit_keeps_the_previous_report() {
    let env = Env::new();
    let mut args = write_org(&env);
    env.write("report.json", "previous report");
    env.write("bad.csv", "x,y\n1,2\n");
    args.extend([
        "--csv".into(),
        "bad.csv".into(),
        "--output".into(),
        "report.json".into(),
    ]);
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        std::fs::read_to_string(env.path("report.json")).expect("read"),
        "previous report"
    );
}

#[test]
fn an_audit_that_read_nothing_fails() {
    let env = Env::new();
    env.write("policies/statdb.toml", STATDB_POLICY);
    env.write("accounts.csv", "account,department\n");
    let out = env
        .cmd()
        .arg("audit")
        .args(strs(&args(&["accounts.csv"])))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no accounts"), "{stderr}");
}

#[test]
fn no_inputs_is_a_usage_error() {
    let env = Env::new();
    env.write("policies/statdb.toml", STATDB_POLICY);
    let out = env.cmd().arg("audit").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to audit"));
}
