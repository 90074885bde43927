//! Scheduled runs: `--state` history, `--exceptions`, `history` and
//! `explain`, run as the real binary over a small organisation written to a
//! temporary folder that each test changes between runs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const POLICY: &str = r#"[source]
id = "statdb"
name = "Statistikdatabas"
activity = "socialtjanst"
data_categories = ["halsa"]
scopes = ["IFO", "VO"]

[[grant]]
group = '^SG-Statdb-(?P<scope>IFO|VO)-Las$'
role = "Las"

[[grant]]
group = '^SG-Statdb-Alla$'
role = "Las"
scope = "*"

[[allow]]
id = "egen-namnd"
role = "Las"
scope = "*"
when.department = "{scope}"
when.title = ["Statistiker", "Verksamhetscontroller"]
"#;

/// cia.lund reaches SG-Statdb-Alla through two nested groups.
const NESTING: &str = "group,member_group\nSG-Analys,SG-Controllers\nSG-Statdb-Alla,SG-Analys\n";

const ANNA: &str = "anna.berg,Anna Berg,IFO,Statistiker,true,SG-Statdb-IFO-Las";
const BO: &str = "bo.ek,Bo Ek,IFO,Ekonom,true,SG-Statdb-IFO-Las";
const CIA: &str = "cia.lund,Cia Lund,IFO,Statistiker,true,SG-Controllers";
const DAN: &str = "dan.ny,Dan Ny,VO,Ekonom,true,SG-Statdb-VO-Las";

struct Org {
    dir: TempDir,
}

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

impl Org {
    fn new(accounts: &[&str]) -> Org {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("policies")).expect("policies dir");
        std::fs::write(dir.path().join("policies/statdb.toml"), POLICY).expect("policy");
        std::fs::write(dir.path().join("nest.csv"), NESTING).expect("nesting");
        let org = Org { dir };
        org.accounts(accounts);
        org
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn accounts(&self, rows: &[&str]) {
        let mut text = String::from("account,name,department,title,enabled,groups\n");
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        std::fs::write(self.path("konton.csv"), text).expect("accounts");
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).expect("write");
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("behorig").expect("binary");
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn inputs() -> Vec<&'static str> {
        vec![
            "--policies",
            "policies",
            "--csv",
            "konton.csv",
            "--csv",
            "nest.csv",
        ]
    }

    fn audit_args(as_of: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec!["audit".into()];
        args.extend(Self::inputs().into_iter().map(String::from));
        args.extend(["--as-of".to_string(), as_of.to_string()]);
        args.extend(["--state".to_string(), "state.db".to_string()]);
        args.extend(["--format".to_string(), "json".to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// `audit --state state.db --format json` as of a date.
    fn audit(&self, as_of: &str, extra: &[&str]) -> Run {
        let out = self
            .cmd()
            .args(Self::audit_args(as_of, extra))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let json = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("no JSON ({e}); stderr: {stderr}"));
        Run {
            code: out.status.code().unwrap_or(-1),
            json,
            stderr,
        }
    }

    /// The audit as a child process, for tests that stop or overlap runs.
    fn spawn_audit(&self, as_of: &str, env: &[(&str, &str)]) -> Child {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("behorig"));
        cmd.current_dir(self.dir.path())
            .args(Self::audit_args(as_of, &[]))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().expect("spawn")
    }

    fn history(&self) -> Vec<Value> {
        let out = self
            .cmd()
            .args(["history", "--state", "state.db", "--format", "json"])
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).expect("history JSON");
        doc["runs"].as_array().cloned().expect("runs")
    }

    fn explain(&self, id: &str) -> (i32, String, String) {
        let out = self
            .cmd()
            .arg("explain")
            .arg(id)
            .args(Self::inputs())
            .args(["--as-of", "2026-03-01"])
            .output()
            .expect("run");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }
}

/// (account, status, first_seen) of every finding in a list, sorted.
fn statuses(list: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| {
            (
                f["account"].as_str().unwrap_or("").to_string(),
                f["status"].as_str().unwrap_or("").to_string(),
                f["first_seen"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn accounts_of(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| f["account"].as_str().unwrap_or("").to_string())
        .collect();
    out.sort();
    out
}

fn t(s: &str) -> (String, String, String) {
    let mut parts = s.split(' ');
    let mut next = || parts.next().unwrap_or("").to_string();
    (next(), next(), next())
}

fn id_of(run: &Run, account: &str) -> String {
    run.json["findings"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["account"] == account))
        .and_then(|f| f["id"].as_str())
        .unwrap_or_else(|| panic!("no finding for {account}"))
        .to_string()
}

#[test]
fn a_sequence_of_runs_tracks_new_persisting_and_resolved_findings() {
    let org = Org::new(&[ANNA, BO, CIA]);

    let r1 = org.audit("2026-03-01", &[]);
    assert_eq!(r1.code, 1, "{}", r1.stderr);
    assert_eq!(
        statuses(&r1.json["findings"]),
        vec![
            t("bo.ek new 2026-03-01T00:00:00"),
            t("cia.lund new 2026-03-01T00:00:00")
        ]
    );
    assert_eq!(r1.json["resolved"], serde_json::json!([]));
    assert_eq!(r1.json["run"]["state"]["previous_run"], Value::Null);

    // bo.ek leaves the group; dan.ny gets access he should not have.
    org.accounts(&[ANNA, CIA, DAN]);
    let r2 = org.audit("2026-03-02", &[]);
    assert_eq!(
        statuses(&r2.json["findings"]),
        vec![
            t("cia.lund persisting 2026-03-01T00:00:00"),
            t("dan.ny new 2026-03-02T00:00:00")
        ]
    );
    assert_eq!(accounts_of(&r2.json["resolved"]), vec!["bo.ek"]);
    assert_eq!(r2.json["resolved"][0]["id"], id_of(&r1, "bo.ek").as_str());
    assert_eq!(
        r2.json["resolved"][0]["first_seen"], "2026-03-01T00:00:00",
        "a resolved finding keeps when it was first seen"
    );
    assert_eq!(r2.json["summary"]["new"], 1);
    assert_eq!(r2.json["summary"]["persisting"], 1);
    assert_eq!(r2.json["summary"]["resolved"], 1);
    assert_eq!(r2.json["run"]["state"]["previous_run"]["run"], 1);

    // bo.ek is back: a finding that returns after it was resolved is new
    // again, with a new first_seen.
    org.accounts(&[ANNA, BO, CIA, DAN]);
    let r3 = org.audit("2026-03-03", &[]);
    assert_eq!(
        statuses(&r3.json["findings"]),
        vec![
            t("bo.ek new 2026-03-03T00:00:00"),
            t("cia.lund persisting 2026-03-01T00:00:00"),
            t("dan.ny persisting 2026-03-02T00:00:00")
        ]
    );
    assert_eq!(r3.json["resolved"], serde_json::json!([]));
    let trend: Vec<u64> = r3.json["trend"]
        .as_array()
        .expect("trend")
        .iter()
        .map(|p| p["findings"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(trend, vec![2, 2, 3]);

    let runs = org.history();
    let counts: Vec<(i64, &str, i64, i64, i64)> = runs
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap_or(0),
                r["as_of"].as_str().unwrap_or(""),
                r["new"].as_i64().unwrap_or(-1),
                r["persisting"].as_i64().unwrap_or(-1),
                r["resolved"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            (3, "2026-03-03T00:00:00", 1, 2, 0),
            (2, "2026-03-02T00:00:00", 1, 1, 1),
            (1, "2026-03-01T00:00:00", 2, 0, 0),
        ]
    );
    let policies = runs[0]["policies"].as_array().expect("policies");
    assert_eq!(policies.len(), 1);
    assert_eq!(
        policies[0]["sha256"].as_str().map(str::len),
        Some(64),
        "policy files are recorded with their hash: {policies:?}"
    );
    assert_eq!(runs[0]["inputs"][0], "konton.csv");

    let table = org
        .cmd()
        .args(["history", "--state", "state.db"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&table.stdout);
    let first_row = text.lines().find(|l| l.contains("2026-03-03 00:00"));
    assert!(
        first_row.is_some_and(|l| l.contains("│  3 ┆")),
        "newest run first:\n{text}"
    );
}

#[test]
fn the_table_marks_new_findings_with_age_and_the_imy_window() {
    let org = Org::new(&[ANNA, BO]);
    org.audit("2026-03-01", &[]);
    org.accounts(&[ANNA, BO, DAN]);
    org.audit("2026-03-02", &[]);
    org.accounts(&[ANNA, BO, DAN, CIA]);
    let out = org
        .cmd()
        .arg("audit")
        .args(Org::inputs())
        .args(["--as-of", "2026-03-05", "--state", "state.db"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    // The `Upptäckt` cell of an account's row, over the lines it wraps onto.
    let row = |account: &str| -> String {
        let lines: Vec<&str> = text.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.contains(account))
            .unwrap_or_else(|| panic!("no row for {account}:\n{text}"));
        let mut cell = Vec::new();
        for (n, line) in lines[i..].iter().enumerate() {
            let columns: Vec<&str> = line.split('┆').collect();
            if columns.len() < 5 || (n > 0 && !columns[1].trim().is_empty()) {
                break;
            }
            let part = columns[4].trim_end_matches('│').trim();
            if !part.is_empty() {
                cell.push(part.to_string());
            }
        }
        cell.join(" ")
    };
    assert_eq!(row("cia.lund"), "NY IMY: 72 h kvar", "{text}");
    assert_eq!(row("bo.ek"), "sedan 4 d IMY: 24 h försenad", "{text}");
    assert_eq!(row("dan.ny"), "sedan 3 d IMY: 72 h har gått", "{text}");
    assert!(
        text.contains(
            "Jämfört med körning 2 (per 2026-03-02 00:00): 1 ny, 2 kvarstår, 0 åtgärdade"
        ),
        "{text}"
    );
}

const EXCEPTIONS: &str = r#"# cia.lund: valid all year
[[exception]]
rule = "unauthorized-access"
data_source = "statdb"
account = "cia.lund"
reason = "Analysuppdrag åt VO under 2026"
approved_by = "Förvaltningschef VO"
expires = 2026-12-31

# dan.ny: valid, but only through 2026-03-12
[[exception]]
account = "DAN.NY"
scope = "VO"
reason = "Introduktion"
approved_by = "Enhetschef"
expires = 2026-03-12

# bo.ek: expired the day before the audit
[[exception]]
account = "bo.ek"
reason = "Tillfälligt"
approved_by = "Enhetschef"
expires = "2026-03-09"

# matches nothing
[[exception]]
account = "ingen.alls"
reason = "Slutat"
approved_by = "Enhetschef"
expires = 2027-01-01
"#;

#[test]
fn exceptions_move_findings_and_are_reported_when_expiring_expired_or_unused() {
    let org = Org::new(&[ANNA, BO, CIA, DAN]);
    org.write("undantag.toml", EXCEPTIONS);
    let r1 = org.audit("2026-03-01", &[]);
    assert_eq!(accounts_of(&r1.json["findings"]).len(), 3);

    let r = org.audit("2026-03-10", &["--exceptions", "undantag.toml"]);
    assert_eq!(accounts_of(&r.json["findings"]), vec!["bo.ek"]);
    assert_eq!(
        statuses(&r.json["excepted"]),
        vec![
            t("cia.lund persisting 2026-03-01T00:00:00"),
            t("dan.ny persisting 2026-03-01T00:00:00")
        ]
    );
    assert_eq!(r.json["summary"]["findings"], 1);
    assert_eq!(r.json["summary"]["excepted"], 2);
    assert_eq!(
        r.json["excepted"][0]["exception"]["approved_by"],
        "Förvaltningschef VO"
    );
    assert_eq!(r.json["excepted"][0]["exception"]["line"], 2);
    // An excepted finding is not resolved.
    assert_eq!(r.json["resolved"], serde_json::json!([]));

    let summary: Vec<(i64, String, bool, i64, Vec<String>)> = r.json["exceptions"]
        .as_array()
        .expect("exceptions")
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap_or(0),
                e["status"].as_str().unwrap_or("").to_string(),
                e["expiring_soon"].as_bool().unwrap_or(false),
                e["days_left"].as_i64().unwrap_or(0),
                e["findings"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().unwrap_or("").to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (2, "active".into(), false, 296, vec![id_of(&r1, "cia.lund")]),
            (11, "active".into(), true, 2, vec![id_of(&r1, "dan.ny")]),
            (19, "expired".into(), false, -1, vec![id_of(&r1, "bo.ek")]),
            (26, "unused".into(), false, 297, vec![]),
        ]
    );
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        vec![
            "warning: undantag.toml:11: the exception (account = \"DAN.NY\", scope = \"VO\") expires on 2026-03-12 (in 2 days): renew it or fix the 1 finding(s) it covers",
            "warning: undantag.toml:19: the exception (account = \"bo.ek\") expired on 2026-03-09: it no longer applies and 1 finding(s) count again",
            "warning: undantag.toml:26: the exception (account = \"ingen.alls\") matched no finding: remove it if the deviation is gone, or check its keys",
        ]
    );

    // The last valid day still applies; the day after, the finding counts.
    let last_day = org.audit("2026-03-12", &["--exceptions", "undantag.toml"]);
    assert!(accounts_of(&last_day.json["excepted"]).contains(&"dan.ny".to_string()));
    let after = org.audit("2026-03-13", &["--exceptions", "undantag.toml"]);
    assert_eq!(
        accounts_of(&after.json["findings"]),
        vec!["bo.ek", "dan.ny"]
    );
    assert_eq!(
        statuses(&after.json["findings"])[1],
        t("dan.ny persisting 2026-03-01T00:00:00"),
        "an exception does not restart the IMY clock"
    );
}

#[test]
fn excepted_findings_do_not_count_for_fail_on() {
    let org = Org::new(&[ANNA, CIA]);
    org.write(
        "undantag.toml",
        "[[exception]]\naccount = \"cia.lund\"\nreason = \"r\"\napproved_by = \"p\"\nexpires = 2026-12-31\n",
    );
    let without = org.audit("2026-03-01", &[]);
    assert_eq!(without.code, 1);
    let with = org.audit("2026-03-02", &["--exceptions", "undantag.toml"]);
    assert_eq!(with.code, 0, "{}", with.stderr);
}

#[test]
fn fail_on_new_only_fails_once_per_finding() {
    let org = Org::new(&[ANNA, BO]);
    assert_eq!(org.audit("2026-03-01", &["--fail-on-new-only"]).code, 1);
    assert_eq!(org.audit("2026-03-02", &["--fail-on-new-only"]).code, 0);
    assert_eq!(
        org.audit("2026-03-03", &[]).code,
        1,
        "without the option persisting findings still fail"
    );
    org.accounts(&[ANNA, BO, CIA]);
    assert_eq!(org.audit("2026-03-04", &["--fail-on-new-only"]).code, 1);

    org.cmd()
        .arg("audit")
        .args(Org::inputs())
        .arg("--fail-on-new-only")
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--fail-on-new-only needs a history",
        ));
}

#[test]
fn the_state_file_is_owner_only() {
    let org = Org::new(&[ANNA]);
    org.audit("2026-03-01", &[]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(org.path("state.db"))
            .expect("state file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// Reads the child's standard error until `marker`; panics after a while.
fn wait_for(child: &mut Child, marker: &str) -> BufReader<std::process::ChildStderr> {
    let stderr = child.stderr.take().expect("stderr");
    let mut reader = BufReader::new(stderr);
    let start = Instant::now();
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read stderr");
        assert!(n > 0, "the run ended before `{marker}`");
        if line.contains(marker) {
            return reader;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no `{marker}`");
    }
}

const PAUSE: &str = "BEHORIG_TEST_PAUSE_BEFORE_COMMIT_MS";
const MARKER: &str = "state: run written, not yet committed";

#[test]
fn a_run_killed_while_writing_leaves_the_history_as_it_was() {
    let org = Org::new(&[ANNA, BO]);
    org.audit("2026-03-01", &[]);
    org.accounts(&[ANNA, BO, CIA]);
    org.audit("2026-03-02", &[]);
    let before = org.history();
    assert_eq!(before.len(), 2);

    // The third run has written its run and findings but not committed.
    org.accounts(&[ANNA, CIA, DAN]);
    let mut child = org.spawn_audit("2026-03-03", &[(PAUSE, "60000")]);
    let _stderr = wait_for(&mut child, MARKER);
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(status.code().is_none(), "the run was killed: {status:?}");

    assert_eq!(org.history(), before, "every earlier run is intact");
    // The next run compares with the last run that completed.
    let next = org.audit("2026-03-04", &[]);
    assert_eq!(next.json["run"]["state"]["previous_run"]["run"], 2);
    assert_eq!(
        statuses(&next.json["findings"]),
        vec![
            t("cia.lund persisting 2026-03-02T00:00:00"),
            t("dan.ny new 2026-03-04T00:00:00")
        ]
    );
    assert_eq!(accounts_of(&next.json["resolved"]), vec!["bo.ek"]);
    assert_eq!(org.history().len(), 3);
}

#[test]
fn runs_killed_at_any_moment_never_leave_a_partial_run() {
    let org = Org::new(&[ANNA, BO, CIA]);
    org.audit("2026-03-01", &[]);
    let mut recorded = 1;
    for (i, delay_ms) in [0u64, 2, 5, 10, 20, 40, 80].into_iter().enumerate() {
        let mut child = org.spawn_audit(&format!("2026-03-{:02}", i + 2), &[]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        let runs = org.history();
        // A run that exited was recorded; one that was killed may have
        // been killed just before or just after its commit.
        if status.code().is_some() {
            assert_eq!(runs.len(), recorded + 1, "after a kill at {delay_ms} ms");
        } else {
            assert!(
                runs.len() == recorded || runs.len() == recorded + 1,
                "after a kill at {delay_ms} ms: {} runs",
                runs.len()
            );
        }
        recorded = runs.len();
        for run in &runs {
            assert_eq!(
                run["new"].as_i64().unwrap_or(0) + run["persisting"].as_i64().unwrap_or(0),
                run["findings"].as_i64().unwrap_or(-1),
                "a recorded run is whole: {run}"
            );
        }
    }
    assert_eq!(
        org.audit("2026-03-20", &[]).json["summary"]["persisting"],
        2
    );
}

#[test]
fn two_runs_at_once_wait_for_each_other() {
    let org = Org::new(&[ANNA, BO]);
    let mut first = org.spawn_audit("2026-03-01", &[(PAUSE, "1500")]);
    let mut first_stderr = wait_for(&mut first, MARKER);

    // The second run starts while the first holds the state file.
    org.accounts(&[ANNA, BO, CIA]);
    let second = org.audit("2026-03-02", &[]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut first_stderr, &mut rest);
    assert_eq!(first.wait().expect("wait").code(), Some(1), "{rest}");

    assert_eq!(second.json["run"]["state"]["previous_run"]["run"], 1);
    assert_eq!(
        statuses(&second.json["findings"]),
        vec![
            t("bo.ek persisting 2026-03-01T00:00:00"),
            t("cia.lund new 2026-03-02T00:00:00")
        ]
    );
    let ids: Vec<i64> = org
        .history()
        .iter()
        .map(|r| r["id"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(ids, vec![2, 1]);
}

#[test]
fn a_run_that_cannot_wait_long_enough_says_why() {
    let org = Org::new(&[ANNA, BO]);
    let mut first = org.spawn_audit("2026-03-01", &[(PAUSE, "60000")]);
    let _stderr = wait_for(&mut first, MARKER);
    org.cmd()
        .args(Org::audit_args("2026-03-02", &[]))
        .env("BEHORIG_STATE_WAIT_MS", "200")
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "state.db: another behorig run is using the state file",
        ));
    let _ = first.kill();
    let _ = first.wait();
    // Neither run was recorded; the file still works.
    assert_eq!(org.history().len(), 0);
    assert_eq!(org.audit("2026-03-03", &[]).code, 1);
    assert_eq!(org.history().len(), 1);
}

#[test]
fn history_of_a_missing_or_foreign_file_is_an_error() {
    let org = Org::new(&[ANNA]);
    org.cmd()
        .args(["history", "--state", "nej.db"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("nej.db: no such state file"));
    assert!(!org.path("nej.db").exists(), "history creates nothing");
    org.write("text.db", "inte en databas\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(org.path("text.db"), std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
    }
    org.cmd()
        .args(["history", "--state", "text.db"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "text.db: not a behorig state file",
        ));
}

#[test]
fn errors_in_the_exceptions_file_are_all_reported_with_positions() {
    let org = Org::new(&[ANNA, BO]);
    org.write(
        "undantag.toml",
        "[[exception]]\nacount = \"bo.ek\"\nrule = \"unauthorised-access\"\napproved_by = \"p\"\nexpires = \"2026-02-30\"\n",
    );
    let out = org
        .cmd()
        .arg("audit")
        .args(Org::inputs())
        .args(["--exceptions", "undantag.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "undantag.toml:2:1: unknown key `acount` in [[exception]]",
        "help: did you mean `account`?",
        "undantag.toml:3:8: unknown rule `unauthorised-access`",
        "help: did you mean `unauthorized-access`?",
        "undantag.toml:1:1: [[exception]] has no `reason`",
        "undantag.toml:5:11: `2026-02-30` is not a date",
        "4 problems in the exceptions file",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    assert!(out.stdout.is_empty(), "no report on a bad exceptions file");
}

#[test]
fn explain_follows_two_levels_of_nesting() {
    let org = Org::new(&[ANNA, CIA]);
    let run = org.audit("2026-03-01", &[]);
    let id = id_of(&run, "cia.lund");
    let (code, text, err) = org.explain(&id[..8]);
    assert_eq!(code, 0, "{err}");
    let expected_path = [
        "  cia.lund",
        "    └─ är medlem i SG-Controllers (konton.csv:3)",
        "       └─ som är medlem i SG-Analys (nest.csv:2)",
        "          └─ som är medlem i SG-Statdb-Alla (nest.csv:3)",
        "             └─ som ger Las på VO: policies/statdb.toml:12 ([[grant]] group = '^SG-Statdb-Alla$')",
    ]
    .join("\n");
    assert!(text.contains(&expected_path), "{text}");
    assert!(text.contains("Konto cia.lund (konton.csv:3)"), "{text}");
    assert!(text.contains("  department    \"IFO\""), "{text}");
    assert!(
        text.contains(
            "FEL  policies/statdb.toml:21: when.department = \"{scope}\" (här \"VO\"): department är \"IFO\""
        ),
        "{text}"
    );
    assert!(
        text.contains("ok   policies/statdb.toml:22: when.title"),
        "{text}"
    );
}

#[test]
fn explain_shows_the_failed_title_condition() {
    let org = Org::new(&[ANNA, BO]);
    let run = org.audit("2026-03-01", &[]);
    let id = id_of(&run, "bo.ek");
    let (code, text, err) = org.explain(&id);
    assert_eq!(code, 0, "{err}");
    assert!(text.starts_with(&format!("Fynd {id}\n")), "{text}");
    assert!(
        text.contains("  bo.ek\n    └─ är medlem i SG-Statdb-IFO-Las (konton.csv:3)\n       └─ som ger Las på IFO: policies/statdb.toml:8"),
        "{text}"
    );
    assert!(
        text.contains("[[allow]] egen-namnd (policies/statdb.toml:17)"),
        "{text}"
    );
    assert!(
        text.contains("ok   policies/statdb.toml:21: when.department = \"{scope}\" (här \"IFO\"): department är \"IFO\""),
        "{text}"
    );
    assert!(
        text.contains("FEL  policies/statdb.toml:22: when.title = [\"Statistiker\", \"Verksamhetscontroller\"]: title är \"Ekonom\""),
        "{text}"
    );
    assert!(
        text.contains("=> täcker inte (1 villkor uppfylls inte)"),
        "{text}"
    );
}

#[test]
fn explain_an_unknown_id_exits_2() {
    let org = Org::new(&[ANNA, BO]);
    let (code, text, err) = org.explain("ffffffff");
    assert_eq!(code, 2);
    assert!(text.is_empty());
    assert!(
        err.contains("error: no finding `ffffffff` in this audit (as of 2026-03-01, 1 findings)"),
        "{err}"
    );
    let (code, _, err) = org.explain("not-an-id");
    assert_eq!(code, 2);
    assert!(err.contains("`not-an-id` is not a finding id"), "{err}");
}

#[test]
fn configured_state_and_exceptions_are_used() {
    let org = Org::new(&[ANNA, BO]);
    org.write(
        "undantag.toml",
        "[[exception]]\naccount = \"bo.ek\"\nreason = \"r\"\napproved_by = \"p\"\nexpires = 2026-12-31\n",
    );
    org.write(
        "behorig.toml",
        "[audit]\npolicies = \"policies\"\ncsv = [\"konton.csv\", \"nest.csv\"]\nstate = \"historik.db\"\nexceptions = \"undantag.toml\"\n",
    );
    let out = org
        .cmd()
        .args(["audit", "--as-of", "2026-03-01", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(accounts_of(&doc["excepted"]), vec!["bo.ek"]);
    assert!(Path::new(&org.path("historik.db")).is_file());
}

#[test]
fn an_unused_exception_with_a_misspelt_source_gets_a_suggestion() {
    let org = Org::new(&[ANNA, BO]);
    org.write(
        "undantag.toml",
        "[[exception]]\ndata_source = \"statbd\"\nreason = \"r\"\napproved_by = \"p\"\nexpires = 2027-01-01\n",
    );
    let run = org.audit("2026-03-01", &["--exceptions", "undantag.toml"]);
    assert_eq!(run.json["exceptions"][0]["status"], "unused");
    assert!(
        run.stderr.contains(
            "undantag.toml:1: the exception (data_source = \"statbd\") matched no finding"
        ) && run
            .stderr
            .contains("(no data source is called `statbd`: did you mean `statdb`?)"),
        "{}",
        run.stderr
    );
}

#[test]
fn csv_output_with_history_says_new_or_persisting() {
    let org = Org::new(&[ANNA, BO]);
    let csv_run = |as_of: &str| {
        let mut args = Org::audit_args(as_of, &[]);
        let at = args.iter().position(|a| a == "json").expect("format");
        args[at] = "csv".into();
        let out = org.cmd().args(args).output().expect("run");
        let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
        let headers = reader.headers().expect("headers").clone();
        let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
        let (status, first, account) = (col("status"), col("first_seen"), col("account"));
        reader
            .records()
            .map(|r| {
                let r = r.expect("row");
                (
                    r[account].to_string(),
                    r[status].to_string(),
                    r[first].to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        csv_run("2026-03-01"),
        vec![t("bo.ek new 2026-03-01T00:00:00")]
    );
    org.accounts(&[ANNA, BO, DAN]);
    let rows = csv_run("2026-03-02");
    assert!(
        rows.contains(&t("bo.ek persisting 2026-03-01T00:00:00")),
        "{rows:?}"
    );
    assert!(
        rows.contains(&t("dan.ny new 2026-03-02T00:00:00")),
        "{rows:?}"
    );
}
