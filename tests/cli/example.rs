//! The bundled example organisation: its findings are pinned by a golden
//! file, and `behorig audit` with no arguments audits it.

use crate::common::*;

fn example(args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("behorig")
        .expect("binary")
        .current_dir(repo())
        .env_remove("NO_COLOR")
        .arg("audit")
        .args(["--as-of", "2026-11-22"])
        .args(args)
        .output()
        .expect("run")
}

#[test]
fn example_findings_golden() {
    let out = example(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    crate::outputs::golden("norrvik.json", &String::from_utf8_lossy(&out.stdout));
}

/// Every format that lists findings writes them as it always has: the
/// example's report in each is pinned byte for byte.
#[test]
fn example_outputs_golden() {
    for (args, golden) in [
        (&["--format", "csv"][..], "norrvik.csv"),
        (
            &["--format", "csv", "--csv-style", "excel"][..],
            "norrvik-excel.csv",
        ),
        (&["--format", "sarif"][..], "norrvik.sarif"),
        (&["--format", "md"][..], "norrvik.md"),
    ] {
        let out = example(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        crate::outputs::golden(golden, &String::from_utf8_lossy(&out.stdout));
    }
    // Written to a file, the report is the same bytes as on standard
    // output.
    let dir = tempfile::tempdir().expect("temp dir");
    for (format, golden) in [("json", "norrvik.json"), ("sarif", "norrvik.sarif")] {
        let path = dir.path().join(format!("granskning.{format}"));
        let out = example(&["--format", format, "--output", &path.display().to_string()]);
        assert_eq!(out.status.code(), Some(1));
        crate::outputs::golden(golden, &std::fs::read_to_string(&path).expect("report"));
    }
}

#[test]
fn example_cases_are_found() {
    let out = example(&["--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = json["findings"].as_array().expect("findings");
    // The statistics database: 21 accounts read other boards' data.
    let mut statdb: Vec<&str> = findings
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas" && f["rule"] == "unauthorized-access")
        .filter_map(|f| f["account"].as_str())
        .filter(|a| !a.starts_with("adm-"))
        .collect();
    statdb.sort();
    statdb.dedup();
    assert_eq!(statdb.len(), 21);
    // The voicemail: everyone through the catch-all group.
    let broad = find(&json, "broad-group", "Alla anställda");
    assert_eq!(broad["data_source"], "rostbrevlada");
    assert_eq!(broad["accounts"], 200);
    // Salaries are not social services: IMY, never lex Sarah.
    let salaries: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["data_source"] == "lonesystem")
        .collect();
    assert_eq!(salaries.len(), 1);
    assert_eq!(salaries[0]["classification"], serde_json::json!(["imy"]));
}

#[test]
fn audit_without_arguments_uses_behorig_toml() {
    let out = example(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(text.contains("200 konton"), "{text}");
    assert!(text.contains("== Statistikdatabas (Combine) (statistikdatabas)"));
}

/// `explain` on every finding of the example agrees with the audit: it
/// finds the finding, and for an unauthorized access names a failing
/// condition in every allow of the source and no allow that covers it.
#[test]
fn explain_agrees_with_every_finding() {
    let out = example(&["--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = json["findings"].as_array().expect("findings");
    assert!(findings.len() > 200, "{}", findings.len());
    for f in findings {
        let id = f["id"].as_str().expect("id");
        let out = assert_cmd::Command::cargo_bin("behorig")
            .expect("binary")
            .current_dir(repo())
            .env_remove("NO_COLOR")
            .args(["explain", id, "--as-of", "2026-11-22"])
            .output()
            .expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.starts_with(&format!("Fynd {id}\n")), "{text}");
        assert!(
            text.contains(f["message"].as_str().expect("message")),
            "{text}"
        );
        match f["rule"].as_str().expect("rule") {
            "unauthorized-access" => {
                let tried = text
                    .split("\nRegler som prövades för ")
                    .nth(1)
                    .unwrap_or_else(|| panic!("no allows tried: {text}"));
                let allows: Vec<&str> = tried.split("\n  [[allow]] ").skip(1).collect();
                for allow in &allows {
                    assert!(
                        allow.contains("    FEL  ") || allow.contains("    gäller inte "),
                        "{id}: an allow with no failing condition:\n{allow}"
                    );
                }
                if allows.is_empty() {
                    assert!(tried.contains("har inga [[allow]]"), "{text}");
                }
                assert!(!text.contains("=> täcker behörigheten"), "{text}");
            }
            "too-many-accounts" => {
                let n = f["accounts"].as_u64().expect("accounts");
                assert!(
                    text.contains(&format!("  {n} konton omfattas av regeln:")),
                    "{text}"
                );
            }
            "disabled-account" | "expired-account" | "inactive-account" | "sod-conflict" => {
                assert!(text.contains("\nVarför\n  "), "{text}");
            }
            "broad-group" => assert!(text.contains("är allomfattande"), "{text}"),
            "unknown-account" => assert!(text.contains("finns inte i katalogen"), "{text}"),
            rule => panic!("a rule this test does not know: {rule}"),
        }
    }
}
