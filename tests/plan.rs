//! `behorig plan`: on the example organisation the statistics database's
//! plan is the one nesting edge with individual assignments; the plan,
//! applied to the exports by this test (not by behorig) and to a real
//! slapd with `ldapmodify`, ends its findings and keeps every allowed
//! access; where a cut would take allowed access the plan is narrower;
//! the PowerShell script is a dry run unless told otherwise.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use behorig::cli::Inputs;
use common::*;
use serde_json::Value;

fn inputs(csv: Vec<PathBuf>, policies: PathBuf) -> Inputs {
    Inputs {
        config: None,
        policies,
        csv,
        ldif: Vec::new(),
        ldap: None,
        as_of: chrono::NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap(),
        logs: Default::default(),
    }
}

fn json(o: &std::process::Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

fn changes<'v>(plan: &'v Value, key: &str) -> &'v Vec<Value> {
    plan[key].as_array().expect("a list of changes")
}

fn is(change: &Value, action: &str, group: &str, member: &str) -> bool {
    change["action"] == action && change["group"] == group && change["member"] == member
}

/// Applies a plan's directory changes to copies of the example's CSV
/// exports, as a person editing them would: group cells of the account
/// export, rows of the nesting export.
fn apply_to_exports(plan: &Value, dir: &Path) -> Vec<PathBuf> {
    let fixtures = repo().join("fixtures/norrvik");
    let accounts = std::fs::read(fixtures.join("konton.csv")).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&accounts[..]);
    let headers = reader.headers().unwrap().clone();
    let groups_col = headers.len() - 1;
    assert_eq!(&headers[groups_col], "Grupper");
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    writer.write_record(&headers).unwrap();
    let list = changes(plan, "changes");
    for row in reader.records() {
        let row = row.unwrap();
        let account = &row[0];
        let mut groups: Vec<String> = row[groups_col]
            .split(';')
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect();
        for c in list {
            if c["member_kind"] != "account" || c["member"] != account {
                continue;
            }
            let group = c["group"].as_str().unwrap().to_string();
            match c["action"].as_str() {
                Some("remove-member") => groups.retain(|g| *g != group),
                Some("add-member") => groups.push(group),
                other => panic!("unexpected action {other:?}"),
            }
        }
        let mut fields: Vec<String> = row.iter().map(str::to_string).collect();
        fields[groups_col] = groups.join(";");
        writer.write_record(&fields).unwrap();
    }
    let konton = dir.join("konton.csv");
    std::fs::write(&konton, writer.into_inner().unwrap()).unwrap();

    let nesting = std::fs::read_to_string(fixtures.join("gruppnastling.csv")).unwrap();
    let kept: Vec<&str> = nesting
        .lines()
        .filter(|line| {
            !list.iter().any(|c| {
                c["member_kind"] == "group"
                    && *line
                        == format!(
                            "{},{}",
                            c["group"].as_str().unwrap(),
                            c["member"].as_str().unwrap()
                        )
            })
        })
        .collect();
    let nastling = dir.join("gruppnastling.csv");
    std::fs::write(&nastling, kept.join("\n") + "\n").unwrap();
    vec![konton, nastling, repo().join(roles_csv())]
}

fn example_csv() -> Vec<PathBuf> {
    ["konton.csv", "gruppnastling.csv", "combine-roller.csv"]
        .iter()
        .map(|f| repo().join("fixtures/norrvik").join(f))
        .collect()
}

#[test]
fn the_statistics_database_plan_is_one_nesting_edge_and_individual_assignments() {
    let o = behorig(
        &[
            "plan",
            "--as-of",
            AS_OF,
            "--source",
            "statistikdatabas",
            "--format",
            "json",
        ],
        &[],
    );
    let plan = json(&o);
    let list = changes(&plan, "changes");
    // One edge ends the controllers' access to every board's data.
    let edges: Vec<&Value> = list
        .iter()
        .filter(|c| c["member_kind"] == "group")
        .collect();
    assert_eq!(edges.len(), 1, "{edges:#?}");
    assert!(is(
        edges[0],
        "remove-member",
        "SG-Statdb-Alla",
        "SG-Controllers"
    ));
    assert!(edges[0]["fixes"].as_array().unwrap().len() >= 50);
    assert_eq!(edges[0]["removes_allowed"], serde_json::json!([]));
    // Nobody is taken out of SG-Controllers one by one.
    assert!(!list.iter().any(|c| c["group"] == "SG-Controllers"));
    // The controllers who may read their own board's data keep it, by an
    // individual assignment.
    assert!(list
        .iter()
        .any(|c| is(c, "add-member", "SG-Statdb-IFO-Las", "fredrik.holm")));
    assert!(list
        .iter()
        .any(|c| is(c, "add-member", "SG-Statdb-VO-Las", "johan.holmberg")));
    // The administrator who also reads one board.
    assert!(list
        .iter()
        .any(|c| is(c, "remove-member", "SG-Statdb-VO-Las", "adm-statdb2")));
    assert_eq!(plan["after"]["allowed_access_lost"], 0);
    assert_eq!(changes(&plan, "needs_decision").len(), 0);
    assert_eq!(plan["schema_version"], 1);
    for c in list {
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
            assert!(c.get(key).is_some(), "`{key}` missing from {c}");
        }
    }
    // What the plan cannot end is said, with why.
    let open = plan["not_fixable"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{open:#?}");
    assert!(open[0]["why"].as_str().unwrap().contains("beslut"));

    // The proof, made again here: the plan applied to the exports by this
    // test, and audited.
    let dir = tempfile::tempdir().unwrap();
    let changed = apply_to_exports(&plan, dir.path());
    let args: Vec<String> = ["audit", "--as-of", AS_OF, "--format", "json"]
        .iter()
        .map(|s| s.to_string())
        .chain(
            changed
                .iter()
                .flat_map(|p| ["--csv".into(), p.display().to_string()]),
        )
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let after = behorig(&args, &[]);
    let report: Value = serde_json::from_slice(&after.stdout).expect("an audit report");
    let left: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas")
        .collect();
    assert!(
        !left.iter().any(|f| f["rule"] == "unauthorized-access"),
        "{left:#?}"
    );
    let fixed: BTreeSet<&str> = list
        .iter()
        .flat_map(|c| c["fixes"].as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    assert!(left
        .iter()
        .all(|f| !fixed.contains(f["id"].as_str().unwrap())));
    let policies = repo().join("policies");
    assert_eq!(
        allowed(&inputs(example_csv(), policies.clone())),
        allowed(&inputs(changed, policies))
    );
}

/// A policy and exports where cutting the nesting edge would take away a
/// director's allowed access, and no group gives that access alone.
fn planted(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let policies = dir.join("policies");
    std::fs::create_dir(&policies).unwrap();
    write(
        &policies.join("statdb.toml"),
        "[source]\nid = \"statdb\"\nname = \"Statistikdatabas\"\ncontroller = \"Socialnämnden\"\n\
         activity = \"socialtjanst\"\ndata_categories = [\"halsa\"]\ndata_subject_groups = [\"barn\"]\n\
         scopes = [\"IFO\", \"VO\", \"GA\"]\n\n\
         [[grant]]\ngroup = '^SG-Alla$'\nrole = \"Las\"\nscope = \"*\"\n\n\
         [[allow]]\nid = \"chefen\"\nrole = \"Las\"\nscope = \"IFO\"\naccounts = [\"chef\"]\n",
    );
    let konton = dir.join("konton.csv");
    write(
        &konton,
        "account,department,group\nchef,IFO,SG-Ctrl\nek1,KS,SG-Ctrl\nek2,KS,SG-Ctrl\nek3,KS,SG-Ctrl\n",
    );
    let nesting = dir.join("nesting.csv");
    write(&nesting, "group,member_group\nSG-Alla,SG-Ctrl\n");
    (policies, vec![konton, nesting])
}

#[test]
fn where_cutting_the_edge_takes_allowed_access_the_plan_is_narrower() {
    let dir = tempfile::tempdir().unwrap();
    let (policies, csv) = planted(dir.path());
    let mut args = vec![
        "plan".to_string(),
        "--as-of".into(),
        AS_OF.into(),
        "--format".into(),
        "json".into(),
        "--policies".into(),
        policies.display().to_string(),
    ];
    for c in &csv {
        args.push("--csv".into());
        args.push(c.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = json(&behorig(&args, &[]));
    let list = changes(&plan, "changes");
    let mut removed: Vec<&str> = list
        .iter()
        .filter(|c| c["action"] == "remove-member" && c["group"] == "SG-Ctrl")
        .map(|c| c["member"].as_str().unwrap())
        .collect();
    removed.sort();
    assert_eq!(removed, ["ek1", "ek2", "ek3"], "{list:#?}");
    assert!(!list.iter().any(|c| c["member"] == "SG-Ctrl"), "{list:#?}");
    assert!(!list.iter().any(|c| c["member"] == "chef"), "{list:#?}");
    // The director's other boards wait for a decision, which names the
    // allowed access it would take.
    let decisions = changes(&plan, "needs_decision");
    assert_eq!(decisions.len(), 1, "{decisions:#?}");
    assert_eq!(decisions[0]["fixes"].as_array().unwrap().len(), 2);
    assert_eq!(
        decisions[0]["removes_allowed"],
        serde_json::json!([{"account": "chef", "data_source": "statdb", "role": "Las", "scope": "IFO"}])
    );
    assert_eq!(plan["after"]["allowed_access_lost"], 0);
    assert_eq!(plan["after"]["findings"], 2);
}

#[test]
fn the_powershell_script_is_a_dry_run_unless_told_to_apply() {
    let o = behorig(
        &[
            "plan",
            "--as-of",
            AS_OF,
            "--source",
            "statistikdatabas",
            "--format",
            "ps1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let script = String::from_utf8(o.stdout).unwrap();
    let golden = repo().join("tests/golden/plan-statistikdatabas.ps1");
    if std::env::var_os("BEHORIG_UPDATE_GOLDEN").is_some() {
        write(&golden, &script);
    }
    assert_eq!(
        script,
        std::fs::read_to_string(&golden).unwrap(),
        "the script differs from {}",
        golden.display()
    );
    // The comment block listing the findings comes first.
    assert!(script.starts_with("# Fynd som ändringarna avslutar (56):\n"));
    assert!(script.contains("param([switch]$Apply)\n"));
    assert!(script.contains("$WhatIf = -not $Apply\n"));
    for line in script.lines().filter(|l| !l.starts_with('#')) {
        if line.starts_with("Remove-ADGroupMember")
            || line.starts_with("Add-ADGroupMember")
            || line.starts_with("New-ADGroup")
        {
            assert!(line.ends_with(" -WhatIf:$WhatIf"), "{line}");
        }
        if line.starts_with("Remove-ADGroupMember") {
            assert!(line.contains(" -Confirm:$false "), "{line}");
        }
    }
}

#[test]
fn an_unknown_source_is_refused_with_a_suggestion() {
    let o = behorig(&["plan", "--as-of", AS_OF, "--source", "statistikdb"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `statistikdatabas`?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn ldif_needs_the_directorys_dns() {
    let o = behorig(
        &[
            "plan",
            "--as-of",
            AS_OF,
            "--source",
            "statistikdatabas",
            "--format",
            "ldif",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--ldif or --ldap"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn the_plans_ldif_applied_to_slapd_ends_the_findings_and_keeps_allowed_access() {
    let ldif = directory_ldif(&norrvik(), "dc=norrvik,dc=se", Flavor::OpenLdap);
    let slapd = Slapd::start(&ldif, SlapdOptions::default());
    let config = slapd.config("page_size = 40");
    let url = slapd.ldap_url();
    let ldap_inputs = || Inputs {
        config: behorig::cli::load_config(Some(&config)).unwrap(),
        policies: repo().join("policies"),
        csv: vec![repo().join(roles_csv())],
        ldif: Vec::new(),
        ldap: Some(url.clone()),
        as_of: chrono::NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap(),
        logs: Default::default(),
    };
    let before = allowed(&ldap_inputs());
    let roles = roles_csv().display().to_string();
    let config_arg = config.display().to_string();
    let common_args = [
        "--config",
        &config_arg,
        "--as-of",
        AS_OF,
        "--policies",
        "policies",
        "--ldap",
        &url,
        "--csv",
        &roles,
    ];
    let plan_file = slapd.dir.path().join("plan.ldif");
    let plan_path = plan_file.display().to_string();
    let mut args = vec!["plan"];
    args.extend_from_slice(&common_args);
    args.extend_from_slice(&[
        "--source",
        "statistikdatabas",
        "--format",
        "ldif",
        "--output",
        &plan_path,
    ]);
    let o = behorig(&args, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&plan_file).unwrap();
    assert!(text.contains("delete: "), "{text}");
    assert!(
        text.starts_with("# Fynd som ändringarna avslutar"),
        "{text}"
    );

    run(
        std::process::Command::new("ldapmodify")
            .args(["-x", "-H", &url, "-D", "cn=admin,dc=norrvik,dc=se"])
            .args(["-w", "admin-secret", "-f", &plan_path]),
        "ldapmodify",
    );

    let mut args = vec!["audit"];
    args.extend_from_slice(&common_args);
    args.extend_from_slice(&["--format", "json"]);
    let o = behorig(&args, &[]);
    let report: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", stderr(&o)));
    let unauthorized: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas" && f["rule"] == "unauthorized-access")
        .collect();
    assert!(unauthorized.is_empty(), "{unauthorized:#?}");
    assert_eq!(before, allowed(&ldap_inputs()));
}

#[test]
fn each_change_names_the_groups_owner_or_else_the_policys() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    write(
        &policies.join("fil.toml"),
        "[source]\nid = \"fil\"\nname = \"Filserver\"\nowner = \"Förvaltningschef IFO\"\n\
         activity = \"socialtjanst\"\ndata_categories = [\"halsa\"]\n\n\
         [[grant]]\ngroup = '^FS-Las$'\nrole = \"Las\"\n\n\
         [[grant]]\ngroup = '^FS-Skriv$'\nrole = \"Skriv\"\n",
    );
    let ldif = dir.path().join("katalog.ldif");
    write(
        &ldif,
        "dn: uid=anna,ou=p,dc=x\nobjectClass: inetOrgPerson\nuid: anna\ncn: Anna\nsn: A\n\n\
         dn: uid=bo,ou=p,dc=x\nobjectClass: inetOrgPerson\nuid: bo\ncn: Bo\nsn: B\n\n\
         dn: cn=FS-Las,ou=g,dc=x\nobjectClass: groupOfNames\ncn: FS-Las\n\
         owner: uid=chef,ou=p,dc=x\nmember: uid=anna,ou=p,dc=x\n\n\
         dn: cn=FS-Skriv,ou=g,dc=x\nobjectClass: groupOfNames\ncn: FS-Skriv\n\
         member: uid=bo,ou=p,dc=x\nmember: uid=anna,ou=p,dc=x\n",
    );
    let (p, l) = (policies.display().to_string(), ldif.display().to_string());
    let args = ["plan", "--as-of", AS_OF, "--policies", &p, "--ldif", &l];
    let plan = json(&behorig(&[&args[..], &["--format", "json"]].concat(), &[]));
    let list = changes(&plan, "changes");
    let owner_of = |group: &str, member: &str| {
        list.iter()
            .find(|c| is(c, "remove-member", group, member))
            .map(|c| c["owner"].clone())
    };
    assert_eq!(
        owner_of("FS-Las", "anna"),
        Some(Value::from("uid=chef,ou=p,dc=x"))
    );
    assert_eq!(
        owner_of("FS-Skriv", "bo"),
        Some(Value::from("Förvaltningschef IFO"))
    );

    // The LDIF takes members out by their DNs; FS-Las, left empty, goes.
    let o = behorig(&[&args[..], &["--format", "ldif"]].concat(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("dn: cn=FS-Skriv,ou=g,dc=x\nchangetype: modify\ndelete: member\nmember: uid=bo,ou=p,dc=x\n-\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "# Gruppen blir tom och tas bort.\ndn: cn=FS-Las,ou=g,dc=x\nchangetype: delete\n"
        ),
        "{text}"
    );
}

#[test]
fn the_change_ticket_lists_each_change_with_the_findings_it_ends() {
    let o = behorig(
        &[
            "plan",
            "--as-of",
            AS_OF,
            "--source",
            "statistikdatabas",
            "--format",
            "md",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.starts_with("# Åtgärdsplan för behörigheter\n"), "{md}");
    let edge = md
        .lines()
        .find(|l| l.contains("Ta bort gruppen SG-Controllers ur SG-Statdb-Alla"))
        .unwrap_or_else(|| panic!("no edge in {md}"));
    // The edge's row names the findings it ends: 54 ids.
    assert!(edge.matches(", ").count() + 1 >= 54, "{edge}");
    assert!(md.contains("## Åtgärdas inte av planen"), "{md}");
    assert!(md.contains("0 tillåtna behörigheter förlorade"), "{md}");

    let o = behorig(
        &["plan", "--as-of", AS_OF, "--source", "statistikdatabas"],
        &[],
    );
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(
        table.contains("Ta bort gruppen SG-Controllers ur SG-Statdb-Alla"),
        "{table}"
    );
    assert!(table.contains("10 ändringar avslutar 56 fynd"), "{table}");
}

#[test]
fn a_membership_cycle_is_planned_through_without_looping() {
    let dir = tempfile::tempdir().unwrap();
    let (policies, _) = planted(dir.path());
    let konton = dir.path().join("cykel.csv");
    write(
        &konton,
        "account,department,group\nek1,KS,SG-A\nek2,KS,SG-A\n",
    );
    let nesting = dir.path().join("cykel-nesting.csv");
    // SG-A is in SG-B, SG-B in SG-A, and SG-B in SG-Alla.
    write(
        &nesting,
        "group,member_group\nSG-B,SG-A\nSG-A,SG-B\nSG-Alla,SG-B\n",
    );
    let (p, k, n) = (
        policies.display().to_string(),
        konton.display().to_string(),
        nesting.display().to_string(),
    );
    let plan = json(&behorig(
        &[
            "plan",
            "--as-of",
            AS_OF,
            "--policies",
            &p,
            "--csv",
            &k,
            "--csv",
            &n,
            "--format",
            "json",
        ],
        &[],
    ));
    let list = changes(&plan, "changes");
    assert_eq!(list.len(), 1, "{list:#?}");
    assert!(
        is(&list[0], "remove-member", "SG-Alla", "SG-B"),
        "{list:#?}"
    );
    assert_eq!(list[0]["fixes"].as_array().unwrap().len(), 6);
    assert_eq!(plan["after"]["findings"], 0);
}
