//! Access logs as evidence of use: the example organisation's logs, the
//! evidence on its findings (computed here from the log rows themselves),
//! sources without a log, and logs that cannot be read.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::*;

const STATDB_LOG: &str = "fixtures/norrvik/statistikdatabas-logg.csv";
const FILES_LOG: &str = "fixtures/norrvik/filserver-logg.csv";

/// `behorig COMMAND` in the repository on the example organisation's
/// exports, with the access logs `logs`, then `extra`.
fn on_example(command: &[&str], logs: &[&str], extra: &[&str]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("behorig").expect("binary");
    cmd.current_dir(repo())
        .env_remove("NO_COLOR")
        .args(command)
        .args(["--as-of", "2026-11-22", "--policies", "policies"])
        .args(["--csv", "fixtures/norrvik/konton.csv"])
        .args(["--csv", "fixtures/norrvik/gruppnastling.csv"])
        .args(["--csv", "fixtures/norrvik/combine-roller.csv"]);
    for log in logs {
        cmd.args(["--access-log", log]);
    }
    cmd.args(extra).output().expect("run")
}

/// The example audited with both of its access logs (and `extra` flags).
fn example_with_logs(extra: &[&str]) -> std::process::Output {
    on_example(&["audit"], &[STATDB_LOG, FILES_LOG], extra)
}

/// One log row as the fixture has it: account, source, scope, record.
struct LogRow {
    account: String,
    source: String,
    scope: String,
    time: String,
    record: String,
}

/// The rows of a fixture log, read here by splitting its lines (the
/// fixtures quote nothing), by the header names the generator writes.
fn log_rows(path: &str) -> Vec<LogRow> {
    let text = std::fs::read_to_string(repo().join(path)).expect("log fixture");
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let sep = if header.contains(';') { ';' } else { ',' };
    let names: Vec<&str> = header.split(sep).collect();
    let col = |wanted: &[&str]| names.iter().position(|n| wanted.contains(n));
    let (a, s, t, sc, r) = (
        col(&["Användare", "account"]).expect("account column"),
        col(&["System", "data_source"]).expect("source column"),
        col(&["Tidpunkt", "time"]).expect("time column"),
        col(&["Område", "scope"]),
        col(&["Ärende", "record"]).expect("record column"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(sep).collect();
            LogRow {
                account: f[a].to_string(),
                source: f[s].to_string(),
                time: f[t].replace(' ', "T"),
                scope: sc.map(|i| f[i].to_string()).unwrap_or_default(),
                record: f[r].to_string(),
            }
        })
        .collect()
}

fn all_rows() -> Vec<LogRow> {
    let mut rows = log_rows(STATDB_LOG);
    rows.extend(log_rows(FILES_LOG));
    rows
}

/// Whether a row counts for a finding of `scope`: a row with a scope
/// counts only for findings of that scope; a finding without a scope (or
/// `*`) is about the whole source.
fn counts_for(row: &LogRow, scope: Option<&str>) -> bool {
    match scope {
        None | Some("*") => true,
        Some(s) => row.scope.is_empty() || row.scope == s,
    }
}

fn findings(json: &Value) -> &Vec<Value> {
    json["findings"].as_array().expect("findings")
}

#[test]
fn the_used_accounts_are_the_planted_ones_per_scope() {
    let out = example_with_logs(&["--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = all_rows();

    // Every finding with an account on a logged source: its events,
    // records, first and last, from the rows.
    let mut checked = 0;
    for f in findings(&json) {
        let source = f["data_source"].as_str().expect("source");
        let Some(account) = f["account"].as_str() else {
            continue;
        };
        if source != "statistikdatabas" && source != "ifo-filserver" {
            continue;
        }
        let scope = f["scope"].as_str();
        let mine: Vec<&LogRow> = rows
            .iter()
            .filter(|r| r.source == source && r.account == account && counts_for(r, scope))
            .collect();
        let records: BTreeSet<&str> = mine.iter().map(|r| r.record.as_str()).collect();
        let usage = &f["use"];
        assert_eq!(
            usage["events"],
            mine.len(),
            "{account} {scope:?} on {source}"
        );
        assert_eq!(usage["records"], records.len(), "{account} {scope:?}");
        let first = mine.iter().map(|r| r.time.as_str()).min();
        let last = mine.iter().map(|r| r.time.as_str()).max();
        assert_eq!(usage["first"].as_str(), first, "{account} {scope:?}");
        assert_eq!(usage["last"].as_str(), last, "{account} {scope:?}");
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} findings on logged sources");

    // The unauthorized use in the statistics database, per scope: the
    // rows of accounts whose access there no allow covers.
    let unauthorized: BTreeSet<(String, String)> = findings(&json)
        .iter()
        .filter(|f| f["rule"] == "unauthorized-access" && f["data_source"] == "statistikdatabas")
        .map(|f| {
            (
                f["account"].as_str().unwrap_or("").to_string(),
                f["scope"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let planted: BTreeSet<(String, String)> = rows
        .iter()
        .filter(|r| r.source == "statistikdatabas")
        .map(|r| (r.account.clone(), r.scope.clone()))
        .filter(|k| unauthorized.contains(k))
        .collect();
    let used: BTreeSet<(String, String)> = findings(&json)
        .iter()
        .filter(|f| f["rule"] == "unauthorized-access" && f["data_source"] == "statistikdatabas")
        .filter(|f| f["use"]["events"].as_u64().unwrap_or(0) > 0)
        .map(|f| {
            (
                f["account"].as_str().unwrap_or("").to_string(),
                f["scope"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(used, planted);
    // More than one scope, and an account used in one scope and not in
    // another.
    let scopes: BTreeSet<&str> = used.iter().map(|(_, s)| s.as_str()).collect();
    assert!(scopes.len() >= 2, "{scopes:?}");
    let agnes: BTreeMap<&str, u64> = findings(&json)
        .iter()
        .filter(|f| f["account"] == "agnes.wikstrom" && f["rule"] == "unauthorized-access")
        .map(|f| {
            (
                f["scope"].as_str().unwrap_or(""),
                f["use"]["events"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(agnes["IFO"] > 0 && agnes["VO"] == 0, "{agnes:?}");
    // An unused finding on a logged source: zero events, no times.
    let unused = findings(&json)
        .iter()
        .find(|f| f["account"] == "agnes.wikstrom" && f["scope"] == "VO")
        .expect("agnes VO");
    assert_eq!(unused["use"]["records"], 0);
    assert!(unused["use"]["first"].is_null() && unused["use"]["last"].is_null());

    // The finding about many accounts sums over them and says how many
    // used the access.
    let many = findings(&json)
        .iter()
        .find(|f| f["rule"] == "too-many-accounts")
        .expect("too-many-accounts");
    let used_accounts = many["use"]["accounts_used"]
        .as_u64()
        .expect("accounts_used");
    assert!(used_accounts > 0 && used_accounts <= many["accounts"].as_u64().unwrap_or(0));
    assert!(many["use"]["events"].as_u64().unwrap_or(0) >= used_accounts);

    // The log row of an account the directory does not have is counted in
    // a warning, not as evidence.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tf.vikarie7"), "{stderr}");
}

#[test]
fn a_source_without_a_log_has_use_null_and_no_log_means_no_use_key() {
    let out = example_with_logs(&["--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    for f in findings(&json) {
        let source = f["data_source"].as_str().unwrap_or("");
        let logged = source == "statistikdatabas" || source == "ifo-filserver";
        assert_eq!(f.get("use").is_some_and(Value::is_null), !logged, "{f}");
        assert!(f.get("use").is_some(), "{f}");
    }
    assert_eq!(
        json["run"]["access_logs"]["files"].as_array().map(Vec::len),
        Some(2)
    );

    let env = Env::new();
    let (_, plain, _) = audit_json(
        &env,
        &[
            "--policies",
            repo().join("policies").to_str().unwrap_or(""),
            "--csv",
            repo()
                .join("fixtures/norrvik/konton.csv")
                .to_str()
                .unwrap_or(""),
            "--as-of",
            "2026-11-22",
        ],
    );
    assert!(findings(&plain).iter().all(|f| f.get("use").is_none()));
    assert!(plain["run"].get("access_logs").is_none());
}

#[test]
fn log_since_leaves_earlier_rows_out() {
    let out = example_with_logs(&["--format", "json", "--log-since", "2026-11-01"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = all_rows();
    let emma = findings(&json)
        .iter()
        .find(|f| f["account"] == "emma.nystrom" && f["scope"] == "VO")
        .expect("emma VO");
    let expected = rows
        .iter()
        .filter(|r| {
            r.account == "emma.nystrom" && r.scope == "VO" && r.time.as_str() >= "2026-11-01"
        })
        .count();
    let all = rows
        .iter()
        .filter(|r| r.account == "emma.nystrom" && r.scope == "VO")
        .count();
    assert!(
        expected < all,
        "the fixture has rows on both sides of the date"
    );
    assert_eq!(emma["use"]["events"], expected);
}

#[test]
fn a_broken_log_row_stops_the_audit_at_its_line_and_writes_no_report() {
    let env = Env::new();
    let mut argv = write_org(&env);
    env.write(
        "logg.csv",
        "account;data_source;time;scope\nanna;statdb;2026-10-01 08:00;IFO\nbo;statdb;den 3 oktober;IFO\n",
    );
    argv.extend(["--access-log".into(), "logg.csv".into()]);
    argv.extend(["--output".into(), "rapport.json".into()]);
    let out = env
        .cmd()
        .arg("audit")
        .args(&argv)
        .args(["--format", "json"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("logg.csv:3"), "{stderr}");
    assert!(stderr.contains("den 3 oktober"), "{stderr}");
    assert!(!env.path("rapport.json").exists());

    // A row with a field too many, after a preamble line.
    env.write(
        "logg.csv",
        "sep=;\naccount;data_source;time\nanna;statdb;2026-10-01\nbo;statdb;2026-10-02;x\n",
    );
    let out = env.cmd().arg("audit").args(&argv).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("logg.csv:4"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn access_logs_under_audit_in_the_configuration_are_read() {
    let env = Env::new();
    write_org(&env);
    env.write(
        "logg.csv",
        "account,data_source,time,scope,record\nanna,statdb,2026-10-01,IFO,R1\n",
    );
    env.write(
        "behorig.toml",
        "[audit]\npolicies = \"policies\"\n\
         csv = [\"accounts.csv\", \"nesting.csv\", \"roles.csv\"]\n\
         access_logs = [\"logg.csv\"]\n",
    );
    let out = env
        .cmd()
        .args(["audit", "--as-of", "2026-11-22", "--format", "json"])
        .output()
        .expect("run");
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let files = json["run"]["access_logs"]["files"]
        .as_array()
        .expect("files");
    assert_eq!(files.len(), 1);
    assert!(
        files[0].as_str().unwrap_or("").ends_with("logg.csv"),
        "{files:?}"
    );
    assert_eq!(json["run"]["access_logs"]["rows"], 1);
}

/// `behorig` in the repository with the example's inputs and both logs.
fn in_repo(command: &[&str], extra: &[&str]) -> std::process::Output {
    on_example(command, &[STATDB_LOG, FILES_LOG], extra)
}

/// The record ids of the fixture logs found in `text`.
fn records_in(text: &str, records: &BTreeSet<String>) -> Vec<String> {
    records
        .iter()
        .filter(|r| text.contains(r.as_str()))
        .cloned()
        .collect()
}

#[test]
fn record_ids_appear_only_with_show_records() {
    let records: BTreeSet<String> = all_rows().into_iter().map(|r| r.record).collect();
    assert!(records.len() > 50);
    let env = Env::new();
    let state = env.path("state.db");
    let state = state.to_str().unwrap_or("");

    // Every report format, with a history, and the files they leave.
    for format in ["table", "json", "csv", "sarif", "html", "md"] {
        let out = in_repo(&["audit"], &["--format", format, "--state", state]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{format}");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(text.len() > 1000, "{format}: {text}");
        assert_eq!(
            records_in(&text, &records),
            Vec::<String>::new(),
            "{format}"
        );
    }
    let db = std::fs::read(env.path("state.db")).expect("state file");
    let db = String::from_utf8_lossy(&db);
    assert_eq!(
        records_in(&db, &records),
        Vec::<String>::new(),
        "state file"
    );

    // Both drafts, in both formats, on the logged source.
    for kind in ["imy", "lex-sarah"] {
        for format in ["md", "html"] {
            let out = in_repo(
                &["draft", kind],
                &["--source", "statistikdatabas", "--format", format],
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                records_in(&text, &records),
                Vec::<String>::new(),
                "{kind} {format}"
            );
        }
    }

    // explain gives the counts; --show-records the finding's own events.
    let json = in_repo(&["audit"], &["--format", "json"]);
    let json: Value = serde_json::from_slice(&json.stdout).expect("json");
    let emma = findings(&json)
        .iter()
        .find(|f| f["account"] == "emma.nystrom" && f["scope"] == "VO")
        .expect("emma VO");
    let id = emma["id"].as_str().expect("id");
    let out = in_repo(&["explain", id], &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("7 händelser"), "{text}");
    assert_eq!(records_in(&text, &records), Vec::<String>::new());

    let out = in_repo(&["explain", id], &["--show-records"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let expected: BTreeSet<String> = all_rows()
        .into_iter()
        .filter(|r| r.account == "emma.nystrom" && r.scope == "VO")
        .map(|r| r.record)
        .collect();
    let shown: BTreeSet<String> = records_in(&text, &records).into_iter().collect();
    assert_eq!(shown, expected);
}

#[test]
fn table_sarif_and_review_page_show_the_use() {
    let out = in_repo(&["audit"], &[]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("Använd"), "{table}");
    // In the statistics database's unauthorized-access table the used
    // findings come first, marked.
    let section = table
        .split("== Statistikdatabas")
        .nth(1)
        .and_then(|s| s.split("unauthorized-access").nth(1))
        .expect("statistics database section");
    let marks: Vec<bool> = section
        .lines()
        .take_while(|l| !l.starts_with('└'))
        // A row's first line has its id; the lines it wraps onto do not.
        .filter(|l| l.starts_with("│ ") && !l.starts_with("│  ") && !l.starts_with("│ Id "))
        .map(|l| l.contains("JA ("))
        .collect();
    let used = marks.iter().filter(|m| **m).count();
    assert_eq!(used, 5, "{section}");
    assert!(
        marks[..used].iter().all(|m| *m),
        "used rows first: {section}"
    );
    assert!(table.contains("┆ nej "), "{table}");

    let sarif = in_repo(&["audit"], &["--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&sarif.stdout).expect("sarif");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let emma = results
        .iter()
        .find(|r| r["properties"]["account"] == "emma.nystrom" && r["properties"]["scope"] == "VO")
        .expect("emma VO");
    assert_eq!(emma["properties"]["use"]["events"], 7);
    assert!(results
        .iter()
        .any(|r| r["properties"]["data_source"] == "combine" && r["properties"]["use"].is_null()));

    let html = in_repo(&["audit"], &["--format", "html"]);
    let html = String::from_utf8_lossy(&html.stdout);
    assert!(html.contains("id=\"f-anvand\""));
    // The page's rows come from its data block: each finding's use is a
    // text of the block (column 14).
    let block = html
        .split("<script type=\"application/json\" id=\"fynd-data\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .expect("the page's data block");
    let data: Value = serde_json::from_str(block).expect("JSON data block");
    let uses: Vec<&str> = data["f"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|row| data["s"][row[14].as_u64().unwrap_or(u64::MAX) as usize].as_str())
        .collect();
    assert_eq!(uses.iter().filter(|u| **u == "used").count(), 9);
    assert!(uses.contains(&"nolog"));
}

/// The short ids (first 8 characters) of the rows of a rendered table.
fn table_ids(table: &str) -> BTreeSet<String> {
    table
        .lines()
        .filter(|l| l.starts_with("│ ") && !l.starts_with("│  ") && !l.starts_with("│ Id "))
        .filter_map(|l| l.trim_start_matches("│ ").split(' ').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_table_shows_only_used_or_only_unused_findings() {
    let json = in_repo(&["audit"], &["--format", "json"]);
    let json: Value = serde_json::from_slice(&json.stdout).expect("json");
    let short = |f: &Value| f["id"].as_str().unwrap_or("")[..8].to_string();
    let by_use = |events: fn(u64) -> bool| -> BTreeSet<String> {
        findings(&json)
            .iter()
            .filter(|f| f["use"]["events"].as_u64().is_some_and(events))
            .map(short)
            .collect()
    };
    let used = by_use(|n| n > 0);
    let unused = by_use(|n| n == 0);
    assert_eq!(used.len(), 9);
    assert!(unused.len() > 20, "{}", unused.len());

    for (only, expected) in [("used", &used), ("unused", &unused)] {
        let out = in_repo(&["audit"], &["--only", only]);
        assert_eq!(out.status.code(), Some(1), "--only {only}");
        let table = String::from_utf8_lossy(&out.stdout);
        assert_eq!(&table_ids(&table), expected, "--only {only}: {table}");
        // The totals still count every finding.
        let total = findings(&json).len();
        assert!(table.contains(&format!("Totalt {total} fynd")), "{table}");
        assert!(
            table.contains(&format!("Visar {} av {total} fynd", expected.len())),
            "{table}"
        );
    }

    // Without access logs, or with another format, --only is a usage error.
    let out = on_example(&["audit"], &[], &["--only", "used"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--access-log"));
    let out = in_repo(&["audit"], &["--only", "used", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn csv_output_says_whether_the_access_was_used() {
    let json = in_repo(&["audit"], &["--format", "json"]);
    let json: Value = serde_json::from_slice(&json.stdout).expect("json");
    let out = in_repo(&["audit"], &["--format", "csv"]);
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header = reader.headers().expect("header").clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name} in {header:?}"))
    };
    let (id, used, events, records, first) = (
        col("id"),
        col("used"),
        col("use_events"),
        col("use_records"),
        col("use_first"),
    );
    let mut rows = 0;
    for row in reader.records() {
        let row = row.expect("row");
        let f = findings(&json)
            .iter()
            .find(|f| f["id"] == row[id])
            .expect("finding of the row");
        let usage = &f["use"];
        if usage.is_null() {
            assert_eq!((&row[used], &row[events]), ("", ""), "{row:?}");
        } else {
            let n = usage["events"].as_u64().expect("events");
            assert_eq!(&row[used], if n > 0 { "yes" } else { "no" }, "{row:?}");
            assert_eq!(row[events], n.to_string());
            assert_eq!(
                row[records],
                usage["records"].as_u64().expect("records").to_string()
            );
            assert_eq!(&row[first], usage["first"].as_str().unwrap_or(""));
        }
        rows += 1;
    }
    assert_eq!(rows, findings(&json).len());

    // Without access logs the columns are not there.
    let out = on_example(&["audit"], &[], &["--format", "csv"]);
    let header = String::from_utf8_lossy(&out.stdout);
    assert!(
        !header.lines().next().unwrap_or("").contains("used"),
        "{header}"
    );
}

#[test]
fn fail_on_used_fails_only_on_used_access() {
    let env = Env::new();
    // A log in which only an account with no finding did anything.
    let quiet = env.write(
        "tyst.csv",
        "account,data_source,time\nmats.lindberg,ifo-filserver,2026-10-01T10:00:00\n",
    );
    let quiet = quiet.to_str().unwrap_or("");
    let plain = example_quiet(quiet, &[]);
    assert_eq!(plain.status.code(), Some(1));
    let out = example_quiet(quiet, &["--fail-on-used"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The example's logs show critical access used.
    let used = in_repo(&["audit"], &["--fail-on-used", "--format", "json"]);
    assert_eq!(used.status.code(), Some(1));
    // Without a log the flag is a set-up mistake.
    let out = assert_cmd::Command::cargo_bin("behorig")
        .expect("binary")
        .current_dir(repo())
        .args(["audit", "--fail-on-used"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

fn example_quiet(log: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--format", "json"];
    args.extend(extra);
    on_example(&["audit"], &[log], &args)
}

#[test]
fn the_history_tells_use_since_the_last_run() {
    let env = Env::new();
    let state = env.path("state.db");
    let state = state.to_str().unwrap_or("");
    let first = in_repo(&["audit"], &["--format", "json", "--state", state]);
    let first: Value = serde_json::from_slice(&first.stdout).expect("json");
    assert!(findings(&first)
        .iter()
        .all(|f| f.get("used_since_last_run").is_none()));

    // A later run whose logs have one more row, after the first run.
    let later = env.write(
        "senare.csv",
        "account,data_source,time,scope,record\nemma.nystrom,statistikdatabas,2026-11-25T09:00:00,VO,X\n",
    );
    let out = assert_cmd::Command::cargo_bin("behorig")
        .expect("binary")
        .current_dir(repo())
        .args(["audit", "--as-of", "2026-11-26", "--policies", "policies"])
        .args(["--csv", "fixtures/norrvik/konton.csv"])
        .args(["--csv", "fixtures/norrvik/gruppnastling.csv"])
        .args(["--csv", "fixtures/norrvik/combine-roller.csv"])
        .args(["--access-log", STATDB_LOG, "--access-log", FILES_LOG])
        .args(["--access-log", later.to_str().unwrap_or("")])
        .args(["--state", state, "--format", "json"])
        .output()
        .expect("run");
    let second: Value = serde_json::from_slice(&out.stdout).expect("json");
    let since: Vec<(&str, &str)> = findings(&second)
        .iter()
        .filter(|f| f["used_since_last_run"] == true)
        .map(|f| {
            (
                f["account"].as_str().unwrap_or(""),
                f["scope"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(since, vec![("emma.nystrom", "VO")]);
    assert!(findings(&second)
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas")
        .all(|f| f.get("used_since_last_run").is_some()));
}

#[test]
fn drafts_answer_the_forms_question_with_the_logs() {
    let rows = log_rows(STATDB_LOG);
    let json = in_repo(&["audit"], &["--format", "json"]);
    let json: Value = serde_json::from_slice(&json.stdout).expect("json");
    // The lex Sarah findings of the statistics database and, from the log
    // rows, which of their accounts opened records in their scopes.
    let mine: Vec<(&str, &str)> = findings(&json)
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas")
        .filter(|f| {
            f["classification"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == "lex_sarah"))
        })
        .filter_map(|f| Some((f["account"].as_str()?, f["scope"].as_str().unwrap_or("*"))))
        .collect();
    let accounts: BTreeSet<&str> = mine.iter().map(|(a, _)| *a).collect();
    // Each row counts once, however many of an account's findings it
    // counts for; each record once, however many accounts opened it.
    let counted: Vec<&LogRow> = rows
        .iter()
        .filter(|r| {
            mine.iter()
                .any(|(a, scope)| r.account == *a && counts_for(r, Some(scope)))
        })
        .collect();
    let used: BTreeSet<&str> = counted.iter().map(|r| r.account.as_str()).collect();
    let records: BTreeSet<&str> = counted.iter().map(|r| r.record.as_str()).collect();
    // Some account has findings in two scopes with rows in both, so that
    // counting per finding would count differently.
    assert!(
        accounts
            .iter()
            .any(|a| mine.iter().filter(|(m, _)| m == a).count() > 1),
        "{mine:?}"
    );
    // The period is the logs' own: the first to the last row of accounts
    // the directory has, over both logs.
    let known =
        std::fs::read_to_string(repo().join("fixtures/norrvik/konton.csv")).expect("accounts");
    let known: BTreeSet<&str> = known
        .lines()
        .skip(1)
        .filter_map(|l| l.split(';').next())
        .collect();
    let times: BTreeSet<String> = all_rows()
        .into_iter()
        .filter(|r| known.contains(r.account.as_str()))
        .map(|r| r.time[..10].to_string())
        .collect();
    let (from, to) = (times.first().expect("rows"), times.last().expect("rows"));
    let expected = format!(
        "Loggarna för perioden {from}–{to} visar att {} av de {} kontona har öppnat sammanlagt {} ärenden ({} händelser)",
        used.len(),
        accounts.len(),
        records.len(),
        counted.len()
    );
    for kind in ["lex-sarah", "imy"] {
        let out = in_repo(&["draft", kind], &["--source", "statistikdatabas"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&expected), "{kind}: {expected}\n{text}");
    }
    let out = in_repo(&["draft", "lex-sarah"], &["--source", "statistikdatabas"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[x] ett allvarligt missförhållande"),
        "{text}"
    );
    assert!(text.contains("[ ] en påtaglig risk"), "{text}");

    // Logs that do not cover the source: the draft says so and keeps the
    // risk.
    let out = on_example(
        &["draft", "lex-sarah", "--source", "statistikdatabas"],
        &[FILES_LOG],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ingen åtkomstlogg för Statistikdatabas"),
        "{text}"
    );
    assert!(text.contains("[x] en påtaglig risk"), "{text}");
}

#[test]
fn a_draft_counts_each_log_row_once_across_an_accounts_findings() {
    // The statistics database's log without its scope column: every row
    // then counts for all of its account's findings on the source, in
    // whatever scope.
    let env = Env::new();
    let text = std::fs::read_to_string(repo().join(STATDB_LOG)).expect("log");
    let unscoped: String = text
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(';').collect();
            cells.remove(3);
            cells.join(";") + "\n"
        })
        .collect();
    let log = env.path("utan-omrade.csv");
    std::fs::write(&log, &unscoped).expect("write log");
    let log = log.to_str().expect("path");
    let json = example_quiet(log, &[]);
    let json: Value = serde_json::from_slice(&json.stdout).expect("json");
    let mine: BTreeSet<&str> = findings(&json)
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas")
        .filter(|f| {
            f["classification"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == "lex_sarah"))
        })
        .filter_map(|f| f["account"].as_str())
        .collect();
    let rows = log_rows(STATDB_LOG);
    let counted: Vec<&LogRow> = rows
        .iter()
        .filter(|r| mine.contains(r.account.as_str()))
        .collect();
    let used: BTreeSet<&str> = counted.iter().map(|r| r.account.as_str()).collect();
    let records: BTreeSet<&str> = counted.iter().map(|r| r.record.as_str()).collect();
    // Some used account has more than one finding that the rows count for.
    let per_finding: usize = findings(&json)
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas" && f["account"].is_string())
        .filter(|f| {
            f["classification"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == "lex_sarah"))
        })
        .map(|f| f["use"]["events"].as_u64().unwrap_or(0) as usize)
        .sum();
    assert!(
        per_finding > counted.len(),
        "{per_finding} {}",
        counted.len()
    );

    let expected = format!(
        "visar att {} av de {} kontona har öppnat sammanlagt {} ärenden ({} händelser)",
        used.len(),
        mine.len(),
        records.len(),
        counted.len()
    );
    let out = on_example(
        &["draft", "lex-sarah", "--source", "statistikdatabas"],
        &[log],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&expected), "{expected}\n{text}");
}

#[test]
fn accounts_named_with_their_domain_count_for_the_directorys_account() {
    // The statistics database's log as a Windows system writes the user:
    // `NORRVIK\name` on some rows, `name@norrvik.se` on others.
    let env = Env::new();
    let text = std::fs::read_to_string(repo().join(STATDB_LOG)).expect("log");
    let mut lines = text.lines();
    let mut qualified = format!("{}\n", lines.next().expect("header"));
    for (i, line) in lines.enumerate() {
        let (account, rest) = line.split_once(';').expect("row");
        let account = if i % 2 == 0 {
            format!("NORRVIK\\{account}")
        } else {
            format!("{account}@norrvik.se")
        };
        qualified.push_str(&format!("{account};{rest}\n"));
    }
    let log = env.path("domain.csv");
    std::fs::write(&log, &qualified).expect("write log");
    let uses = |out: &std::process::Output| -> BTreeMap<String, Value> {
        let json: Value = serde_json::from_slice(&out.stdout).expect("json");
        findings(&json)
            .iter()
            .map(|f| (f["id"].as_str().unwrap_or("").to_string(), f["use"].clone()))
            .collect()
    };
    let plain = example_quiet(STATDB_LOG, &[]);
    let with_domain = example_quiet(log.to_str().expect("path"), &[]);
    let (plain, with_domain_uses) = (uses(&plain), uses(&with_domain));
    assert!(plain.values().any(|u| u["events"].as_u64() > Some(0)));
    assert_eq!(plain, with_domain_uses);
    let stderr = String::from_utf8_lossy(&with_domain.stderr);
    assert!(stderr.contains("with its domain"), "{stderr}");
    // The account the directory does not have stays unknown with its domain.
    assert!(stderr.contains("tf.vikarie7"), "{stderr}");

    // explain --show-records lists the rows of the account in either form.
    let json: Value = serde_json::from_slice(&with_domain.stdout).expect("json");
    let emma = findings(&json)
        .iter()
        .find(|f| f["account"] == "emma.nystrom" && f["scope"] == "VO")
        .expect("emma VO");
    let out = on_example(
        &[
            "explain",
            emma["id"].as_str().expect("id"),
            "--show-records",
        ],
        &[log.to_str().expect("path")],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let expected: BTreeSet<String> = log_rows(STATDB_LOG)
        .into_iter()
        .filter(|r| r.account == "emma.nystrom" && r.scope == "VO")
        .map(|r| r.record)
        .collect();
    assert!(!expected.is_empty());
    for record in &expected {
        assert!(text.contains(record.as_str()), "{record}: {text}");
    }
}

#[test]
fn a_broad_group_finding_sums_over_the_accounts_under_the_group() {
    let env = Env::new();
    // Every account of the example is under `Alla anställda`, which gives
    // the voicemail's `Avlyssna` role to all.
    let log = env.write(
        "rost.csv",
        "Användare;System;Tidpunkt;Händelse;Post\n\
         karl.magnusson;rostbrevlada;2026-10-02 09:00;lyssna;M-1\n\
         karl.magnusson;rostbrevlada;2026-10-03 09:00;lyssna;M-1\n\
         karl.magnusson;rostbrevlada;2026-10-04 09:00;lyssna;M-2\n\
         maria.bergstrom;rostbrevlada;2026-10-05 10:00;lyssna;M-3\n\
         mats.lindberg;rostbrevlada;2026-11-01 11:00;lyssna;M-4\n\
         nobody.here;rostbrevlada;2026-11-02 11:00;lyssna;M-5\n",
    );
    let out = example_quiet(log.to_str().unwrap_or(""), &[]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let broad = findings(&json)
        .iter()
        .find(|f| f["rule"] == "broad-group")
        .expect("broad-group");
    assert_eq!(
        broad["use"],
        serde_json::json!({
            "events": 5,
            "records": 4,
            "first": "2026-10-02T09:00:00",
            "last": "2026-11-01T11:00:00",
            "accounts_used": 3,
        })
    );
    // Sources without this log: null.
    assert!(findings(&json)
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas")
        .all(|f| f["use"].is_null()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 row(s) name accounts") && stderr.contains("nobody.here"),
        "{stderr}"
    );
}

#[test]
fn fail_on_used_under_audit_in_the_configuration_is_read() {
    let env = Env::new();
    write_org(&env);
    // A log of another system: nothing the findings are about was used.
    env.write(
        "logg.csv",
        "account,data_source,time\nanna,annat-system,2026-10-01\n",
    );
    let config = |extra: &str| {
        format!(
            "[audit]\npolicies = \"policies\"\n\
             csv = [\"accounts.csv\", \"nesting.csv\", \"roles.csv\"]\n\
             access_logs = [\"logg.csv\"]\n{extra}"
        )
    };
    let run = |env: &Env| {
        env.cmd()
            .args(["audit", "--as-of", "2026-11-22", "--format", "json"])
            .output()
            .expect("run")
    };
    env.write("behorig.toml", config(""));
    assert_eq!(run(&env).status.code(), Some(1));
    env.write("behorig.toml", config("fail_on_used = true\n"));
    let out = run(&env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_draft_from_saved_findings_keeps_the_evidence() {
    let env = Env::new();
    let saved = env.path("fynd.json");
    let out = in_repo(
        &["audit"],
        &["--format", "json", "--output", saved.to_str().unwrap_or("")],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = in_repo(&["draft", "lex-sarah"], &["--source", "statistikdatabas"]);
    let out = assert_cmd::Command::cargo_bin("behorig")
        .expect("binary")
        .current_dir(repo())
        .args([
            "draft",
            "lex-sarah",
            "--source",
            "statistikdatabas",
            "--policies",
            "policies",
        ])
        .arg("--findings")
        .arg(&saved)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let sentence = |t: &str| {
        t.lines()
            .find(|l| l.contains("Loggarna för perioden"))
            .map(str::to_string)
    };
    assert!(sentence(&text).is_some(), "{text}");
    assert_eq!(
        sentence(&text),
        sentence(&String::from_utf8_lossy(&fresh.stdout))
    );
}
