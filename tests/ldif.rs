//! `--ldif`: the example organisation exported as LDIF, in OpenLDAP's and
//! in Active Directory's form, gives the same findings as its CSV export;
//! broken exports stop the audit with exit 3 and no report.

mod common;

use common::*;

fn audit_ldif(ldif: &str, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.ldif");
    write(&path, ldif);
    let path = path.to_string_lossy().into_owned();
    let roles = roles_csv().to_string_lossy().into_owned();
    let mut args = vec![
        "audit", "--as-of", AS_OF, "--format", "json", "--ldif", &path, "--csv", &roles,
    ];
    args.extend_from_slice(extra);
    behorig(&args, &[])
}

#[test]
fn openldap_export_gives_the_same_findings_as_csv() {
    let ldif = format!(
        "version: 1\n\n{}",
        directory_ldif(&norrvik(), "dc=norrvik,dc=se", Flavor::OpenLdap)
    );
    let o = audit_ldif(&ldif, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same(&csv_baseline(), &findings_and_summary(&o));
}

#[test]
fn active_directory_export_gives_the_same_findings_as_csv() {
    let ldif = directory_ldif(&norrvik(), "DC=norrvik,DC=se", Flavor::ActiveDirectory);
    let o = audit_ldif(&ldif, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same(&csv_baseline(), &findings_and_summary(&o));
}

#[test]
fn a_broken_export_stops_the_audit_without_a_report() {
    let good = directory_ldif(&norrvik(), "dc=norrvik,dc=se", Flavor::OpenLdap);
    let lines = good.lines().count();
    let cases = [
        (
            format!("{good}dn: cn=x\nbroken line\n"),
            format!(":{}", lines + 2),
        ),
        (
            format!("{good}dn: cn=x\njpegPhoto:< file:///etc/passwd\n"),
            format!(":{}", lines + 2),
        ),
        (
            format!("{good}# search result\nsearch: 2\nresult: 4 Size limit exceeded\n"),
            format!(":{}", lines + 3),
        ),
    ];
    for (ldif, location) in cases {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.json");
        let report_arg = report.to_string_lossy().into_owned();
        let o = audit_ldif(&ldif, &["--output", &report_arg]);
        assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("export.ldif{location}")), "{err}");
        assert!(!report.exists(), "a report was written for a broken export");
    }
}

#[test]
fn extra_attributes_are_readable_in_policies() {
    // A policy that allows by an attribute outside the contract's table.
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    write(
        &policies.join("x.toml"),
        r#"[source]
id = "x"
name = "X"
controller = "Socialnämnden"
activity = "socialtjanst"
confidentiality = "OSL 26 kap. 1 §"
data_categories = ["halsa"]
data_subject_groups = ["barn"]
scopes = ["A"]

[[grant]]
group = '^G$'
role = "Las"
scope = "A"

[[allow]]
id = "kostnadsstalle"
role = "Las"
scope = "A"
when.extensionattribute7 = "4711"
"#,
    );
    let ldif = "dn: CN=a,DC=x\nobjectClass: user\nsAMAccountName: a\nextensionAttribute7: 4711\nuserAccountControl: 512\n\n\
                dn: CN=b,DC=x\nobjectClass: user\nsAMAccountName: b\nextensionAttribute7: 9999\nuserAccountControl: 512\n\n\
                dn: CN=G,DC=x\nobjectClass: group\ncn: G\nmember: CN=a,DC=x\nmember: CN=b,DC=x\n";
    let path = dir.path().join("x.ldif");
    write(&path, ldif);
    let o = behorig(
        &[
            "audit",
            "--as-of",
            AS_OF,
            "--format",
            "json",
            "--policies",
            &policies.to_string_lossy(),
            "--ldif",
            &path.to_string_lossy(),
        ],
        &[],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let accounts: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "unauthorized-access")
        .filter_map(|f| f["account"].as_str())
        .collect();
    assert_eq!(accounts, vec!["b"], "{}", stderr(&o));
}
