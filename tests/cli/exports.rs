//! The example organisation's accounts as real tools export them
//! (`fixtures/exports/`, each shape in docs/exports.md): the shapes behorig
//! reads give the same findings as the example's own exports; the shapes
//! written the wrong way stop the audit at their line, with the fix, and
//! write no report.

use crate::common::*;

fn fixture(name: &str) -> String {
    repo()
        .join("fixtures/exports")
        .join(name)
        .display()
        .to_string()
}

fn norrvik(name: &str) -> String {
    repo()
        .join("fixtures/norrvik")
        .join(name)
        .display()
        .to_string()
}

fn policies() -> String {
    repo().join("policies").display().to_string()
}

/// The findings of the example organisation audited from its own exports.
fn baseline() -> Vec<String> {
    let env = Env::new();
    let (code, json, stderr) = audit_json(
        &env,
        &[
            "--policies",
            &policies(),
            "--as-of",
            "2026-11-22",
            "--csv",
            &norrvik("konton.csv"),
            "--csv",
            &norrvik("gruppnastling.csv"),
            "--csv",
            &norrvik("combine-roller.csv"),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let found = keys(&json);
    assert!(found.len() > 200, "the example has hundreds of findings");
    found
}

/// Audits `inputs` (flag, path pairs) with the example's policies.
fn audit_of(inputs: &[(&str, String)]) -> (i32, Vec<String>, String) {
    let env = Env::new();
    let mut args: Vec<String> = vec![
        "--policies".into(),
        policies(),
        "--as-of".into(),
        "2026-11-22".into(),
    ];
    for (flag, path) in inputs {
        args.push((*flag).into());
        args.push(path.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json, stderr) = audit_json(&env, &args);
    (code, keys(&json), stderr)
}

fn with_nesting_and_roles(accounts: &str) -> Vec<(&'static str, String)> {
    vec![
        ("--csv", fixture(accounts)),
        ("--csv", norrvik("gruppnastling.csv")),
        ("--csv", norrvik("combine-roller.csv")),
    ]
}

#[test]
fn every_shape_behorig_reads_gives_the_examples_findings() {
    let expected = baseline();
    let shapes: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("ps7-utf8.csv", with_nesting_and_roles("ps7-utf8.csv")),
        ("ps51-utf8.csv", with_nesting_and_roles("ps51-utf8.csv")),
        (
            "ps51-unicode.csv",
            with_nesting_and_roles("ps51-unicode.csv"),
        ),
        ("csvde-u.csv", with_nesting_and_roles("csvde-u.csv")),
        (
            "excel-csv-utf8.csv",
            with_nesting_and_roles("excel-csv-utf8.csv"),
        ),
        (
            "excel-semikolon.csv",
            with_nesting_and_roles("excel-semikolon.csv"),
        ),
        (
            "ps7-konton.csv + ps7-medlemskap.csv",
            vec![
                ("--csv", fixture("ps7-konton.csv")),
                ("--csv", fixture("ps7-medlemskap.csv")),
                ("--csv", norrvik("gruppnastling.csv")),
                ("--csv", norrvik("combine-roller.csv")),
            ],
        ),
        (
            "ldifde.ldf",
            vec![
                ("--ldif", fixture("ldifde.ldf")),
                ("--csv", norrvik("combine-roller.csv")),
            ],
        ),
        (
            "ldifde-u.ldf",
            vec![
                ("--ldif", fixture("ldifde-u.ldf")),
                ("--csv", norrvik("combine-roller.csv")),
            ],
        ),
    ];
    for (shape, inputs) in shapes {
        let (code, found, stderr) = audit_of(&inputs);
        assert_eq!(code, 1, "{shape}: {stderr}");
        assert_eq!(found, expected, "{shape} gives other findings");
    }
}

/// Runs an audit that must stop: exit 3, the message and the help on
/// stderr, no report.
fn refused(inputs: &[(&str, String)], location: &str, message: &str, help: &str) {
    let env = Env::new();
    let mut cmd = env.cmd();
    cmd.args(["audit", "--policies", &policies()]);
    for (flag, path) in inputs {
        cmd.args([*flag, path.as_str()]);
    }
    let out = cmd
        .args(["--format", "json", "--output", "rapport.json"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    for wanted in [location, message, help] {
        assert!(stderr.contains(wanted), "expected `{wanted}` in: {stderr}");
    }
    assert!(!env.path("rapport.json").exists(), "a report was written");
}

#[test]
fn a_powershell_collection_export_is_refused_with_the_join_fix() {
    refused(
        &with_nesting_and_roles("ps-collection.csv"),
        "ps-collection.csv:3",
        "Microsoft.ActiveDirectory.Management.ADPropertyValueCollection",
        "-join ';'",
    );
}

#[test]
fn an_ascii_export_is_refused_with_the_encoding_fix() {
    // Line 1 is `#TYPE`, 2 the header, 3 karl.magnusson, "Undersk?terska".
    refused(
        &with_nesting_and_roles("ps51-ascii.csv"),
        "ps51-ascii.csv:3",
        "Undersk?terska",
        "-Encoding UTF8",
    );
}

#[test]
fn a_collection_in_a_role_export_is_refused_too() {
    let env = Env::new();
    let roles = env.write(
        "roller.csv",
        "account,data_source,role,scope\nanna,combine,System.Object[],IFO\n",
    );
    refused(
        &[
            ("--csv", norrvik("konton.csv")),
            ("--csv", roles.display().to_string()),
        ],
        "roller.csv:2",
        "System.Object[]",
        "-join",
    );
}
