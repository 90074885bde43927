//! What users see: the table at 80 columns, CSV safe for Excel, report
//! files written owner-only.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

#[test]
fn table_fits_80_columns_without_colour_when_piped() {
    let env = Env::new();
    let args = write_org(&env);
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(!text.contains('\x1b'), "colour codes in piped output");
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    // Grouped by data source, the worst source first.
    let statdb = text
        .find("== Statistikdatabas (statdb)")
        .expect("statdb heading");
    let fil = text.find("== fil (fil)").expect("fil heading");
    assert!(statdb < fil);
    assert!(text.contains("Totalt 13 fynd"));
    assert!(text.contains("SG-Controllers → SG-Statdb-Alla"));
}

#[test]
fn table_golden() {
    let env = Env::new();
    let args = write_org(&env);
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    golden("rules-table.txt", &String::from_utf8_lossy(&out.stdout));
}

#[test]
fn no_colour_with_no_color_set() {
    let env = Env::new();
    let args = write_org(&env);
    let out = env
        .cmd()
        .env("NO_COLOR", "1")
        .arg("audit")
        .args(&args)
        .output()
        .expect("run");
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));
}

#[test]
fn csv_output_neutralises_formulas() {
    let env = Env::new();
    let args = write_org(&env);
    // An account name that Excel would run as a formula.
    env.write(
        "evil.csv",
        "account,data_source,role,scope\n\"=HYPERLINK(\"\"http://x\"\")\",statdb,Las,IFO\n",
    );
    let mut a = args.clone();
    a.extend(["--csv".into(), "evil.csv".into()]);
    let out = env
        .cmd()
        .arg("audit")
        .args(&a)
        .args(["--format", "csv"])
        .output()
        .expect("run");
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(&headers[0], "id");
    assert_eq!(&headers[1], "rule");
    let account = headers
        .iter()
        .position(|h| h == "account")
        .expect("account column");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 14);
    let evil: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| r[account].contains("HYPERLINK"))
        .collect();
    assert_eq!(evil.len(), 1);
    assert_eq!(&evil[0][account], "'=HYPERLINK(\"http://x\")");
    for r in &rows {
        for cell in r.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell: {cell}"
            );
        }
    }
}

#[test]
fn output_file_is_owner_only_and_replaced_whole() {
    let env = Env::new();
    let args = write_org(&env);
    let target = env.write("report.json", "old");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = env
        .cmd()
        .arg("audit")
        .args(&args)
        .args(["--format", "json", "--output", "report.json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let mode = std::fs::metadata(&target)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&target).expect("read")).expect("json");
    assert_eq!(json["summary"]["findings"], 13);
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn json_follows_the_contract_schema() {
    let env = Env::new();
    let args = write_org(&env);
    let (_, json, _) = audit_json(&env, &strs(&args));
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["tool"]["name"], "behorig");
    assert_eq!(json["run"]["as_of"], "2026-11-22");
    assert_eq!(json["run"]["sources"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["run"]["policies"].as_array().map(Vec::len), Some(2));
    for key in [
        "accounts",
        "groups",
        "findings",
        "by_rule",
        "by_severity",
        "by_classification",
    ] {
        assert!(!json["summary"][key].is_null(), "summary.{key}");
    }
    for f in json["findings"].as_array().expect("findings") {
        for key in [
            "id",
            "rule",
            "data_source",
            "account",
            "group",
            "accounts",
            "role",
            "scope",
            "via",
            "severity",
            "classification",
            "message",
        ] {
            assert!(f.get(key).is_some(), "finding without `{key}`: {f}");
        }
        assert!(f["via"].is_array());
        assert!(f["classification"].is_array());
    }
}

/// Compares text with a golden file under tests/golden/; with
/// `BEHORIG_UPDATE_GOLDEN=1` the file is rewritten instead.
pub fn golden(name: &str, actual: &str) {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("BEHORIG_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with BEHORIG_UPDATE_GOLDEN=1)", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(5)
            .map(|(i, (e, a))| format!("line {}:\n  - {e}\n  + {a}", i + 1))
            .collect();
        panic!(
            "{} differs ({} vs {} lines):\n{}",
            path.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}
