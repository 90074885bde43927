//! `--ldif`: the example organisation exported as LDIF, in OpenLDAP's and
//! in Active Directory's form, gives the same findings as its CSV export,
//! and the streamed read of a file the same inventory as the parse of its
//! bytes; broken exports stop the audit with exit 3 and no report, wherever
//! in the file the error is.

mod common;

use std::path::Path;

use behorig::inventory::{AccountId, Inventory, InventoryBuilder};
use behorig::sources::directory::{self, Mapping};
use behorig::sources::ldif;
use common::*;

fn audit_ldif(ldif: &str, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.ldif");
    write(&path, ldif);
    let path = path.to_string_lossy().into_owned();
    let roles = roles_csv().to_string_lossy().into_owned();
    let mut args = vec!["--ldif", &path, "--csv", &roles];
    args.extend_from_slice(extra);
    audit(&args, &[])
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
        assert_stops_without_report(&ldif, &location);
    }
}

/// The audit of `ldif` stops with exit 3, names `location` in the file
/// and writes no report.
fn assert_stops_without_report(ldif: &str, location: &str) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let report_arg = report.to_string_lossy().into_owned();
    let o = audit_ldif(ldif, &["--output", &report_arg]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("export.ldif{location}")), "{err}");
    assert!(!report.exists(), "a report was written for a broken export");
}

/// The file is read as it streams by: an error after megabytes of good
/// entries, whose accounts are already mapped, still stops the audit.
#[test]
fn an_error_at_the_end_of_a_large_export_stops_the_audit() {
    let mut good = directory_ldif(&norrvik(), "dc=norrvik,dc=se", Flavor::OpenLdap);
    for i in 0..20_000 {
        good.push_str(&format!(
            "dn: uid=extra{i},ou=people,dc=norrvik,dc=se\nobjectClass: inetOrgPerson\nuid: extra{i}\ncn: Extra {i}\nsn: Extra\n\n"
        ));
    }
    assert!(good.len() > 2_000_000, "larger than any read buffer");
    let lines = good.lines().count();
    let cases = [
        (
            format!("{good}dn: cn=x\nbroken line\n"),
            format!(":{}", lines + 2),
        ),
        (
            format!("{good}dn: cn=x\nmember;range=0-1499: cn=y\n"),
            format!(":{}", lines + 2),
        ),
        (
            format!("{good}# search result\nsearch: 2\nresult: 4 Size limit exceeded\n"),
            format!(":{}", lines + 3),
        ),
    ];
    for (ldif, location) in cases {
        assert_stops_without_report(&ldif, &location);
    }
}

/// Accounts and groups with their DNs, memberships and origins, to compare
/// two inventories.
fn shown(inventory: &Inventory) -> String {
    let accounts: Vec<String> = inventory
        .accounts
        .iter()
        .enumerate()
        .map(|(id, a)| format!("{a:?} {:?}", inventory.dn(AccountId::at(id))))
        .collect();
    format!("{accounts:#?}\n{:#?}", inventory.groups)
}

/// The export read from a file, one entry at a time.
fn streamed(path: &Path) -> Inventory {
    let mut inventory = InventoryBuilder::new();
    ldif::read_file(path, &Mapping::from_config(None), &mut inventory).expect("read");
    inventory.finish()
}

/// The same file parsed whole, then mapped.
fn parsed_whole(path: &Path) -> Inventory {
    let bytes = std::fs::read(path).expect("read");
    let entries = ldif::parse(&path.display().to_string(), &bytes).expect("parsed");
    let mut inventory = InventoryBuilder::new();
    directory::add_entries(entries, &Mapping::from_config(None), &mut inventory).expect("mapped");
    inventory.finish()
}

#[test]
fn a_streamed_file_gives_the_inventory_of_its_parsed_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let expected_accounts = norrvik().accounts.len();
    for (flavor, base) in [
        (Flavor::OpenLdap, "dc=norrvik,dc=se"),
        (Flavor::ActiveDirectory, "DC=norrvik,DC=se"),
    ] {
        let path = dir.path().join("export.ldif");
        write(&path, &directory_ldif(&norrvik(), base, flavor));
        let inventory = streamed(&path);
        // Written from the example organisation: its accounts, no more.
        assert_eq!(inventory.accounts.len(), expected_accounts);
        assert_eq!(shown(&inventory), shown(&parsed_whole(&path)));
    }
}

/// The export as `ldapsearch` and `ldifde` may write it: a BOM, CRLF,
/// `version: 1`, comments folded onto two lines before each entry, and
/// every line folded every few bytes, so that folds fall on the read
/// buffer's ends.
fn folded_crlf(ldif: &str) -> String {
    let mut out = String::from("\u{feff}version: 1\r\n\r\n");
    for line in ldif.lines() {
        assert!(line.is_ascii(), "values that are not ASCII are base64");
        if line.starts_with("dn:") {
            out.push_str("# an entry,\r\n  with a folded comment\r\n");
        }
        for (i, chunk) in line.as_bytes().chunks(7).enumerate() {
            if i > 0 {
                out.push_str("\r\n ");
            }
            out.push_str(std::str::from_utf8(chunk).expect("ASCII"));
        }
        out.push_str("\r\n");
    }
    out
}

#[test]
fn a_folded_crlf_export_with_comments_gives_the_same_findings_as_csv() {
    let ldif = folded_crlf(&directory_ldif(
        &norrvik(),
        "dc=norrvik,dc=se",
        Flavor::OpenLdap,
    ));
    assert!(ldif.len() > 64 * 1024, "crosses the read buffer");
    let o = audit_ldif(&ldif, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same(&csv_baseline(), &findings_and_summary(&o));
}

#[test]
fn a_folder_given_as_the_export_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut inventory = InventoryBuilder::new();
    let err = ldif::read_file(dir.path(), &Mapping::from_config(None), &mut inventory)
        .expect_err("a folder is not an export");
    assert_eq!(err.location, dir.path().display().to_string());
    assert!(err.message.contains("is a folder"), "{err}");
}

#[test]
fn extra_attributes_are_readable_in_policies() {
    // A policy that allows by an attribute outside the contract's table.
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_dir(
        dir.path(),
        "x.toml",
        &(social_source("x", "X")
            + r#"
[[grant]]
group = '^G$'
role = "Las"
scope = "A"

[[allow]]
id = "kostnadsstalle"
role = "Las"
scope = "A"
when.extensionattribute7 = "4711"
"#),
    );
    let ldif = "dn: CN=a,DC=x\nobjectClass: user\nsAMAccountName: a\nextensionAttribute7: 4711\nuserAccountControl: 512\n\n\
                dn: CN=b,DC=x\nobjectClass: user\nsAMAccountName: b\nextensionAttribute7: 9999\nuserAccountControl: 512\n\n\
                dn: CN=G,DC=x\nobjectClass: group\ncn: G\nmember: CN=a,DC=x\nmember: CN=b,DC=x\n";
    let path = dir.path().join("x.ldif");
    write(&path, ldif);
    let o = audit(
        &[
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

/// `explain` on a finding read from LDIF names, for each membership on the
/// path, the line of the group entry that lists it: the line the test
/// finds in the export it wrote.
#[test]
fn explain_names_the_group_entry_of_each_membership() {
    let ldif = format!(
        "version: 1\n\n{}",
        directory_ldif(&norrvik(), "dc=norrvik,dc=se", Flavor::OpenLdap)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.ldif");
    write(&path, &ldif);
    let path = path.to_string_lossy().into_owned();
    let roles = roles_csv().to_string_lossy().into_owned();
    let inputs = ["--ldif", path.as_str(), "--csv", roles.as_str()];
    let o = audit(&inputs, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let finding = access_through_a_group(&report);
    let group = finding["via"][0].as_str().unwrap();
    // The line of the group's entry in the export.
    let line = ldif
        .lines()
        .position(|l| l.starts_with("dn: ") && l.contains(&format!("cn={group},")))
        .map(|i| i + 1)
        .expect("the group's entry");
    let mut args = vec!["explain", finding["id"].as_str().unwrap(), "--as-of", AS_OF];
    args.extend_from_slice(&inputs);
    let out = behorig(&args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = format!("└─ är medlem i {group} ({path}:{line})");
    assert!(text.contains(&expected), "no `{expected}` in:\n{text}");
}
