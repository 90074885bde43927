//! The conventions of a Unix command-line program: where the configuration
//! is found, colour and table width on a terminal and off it, `-q` and
//! `-v`, `--help`, `behorig config`, and CSV for Swedish Excel. Terminal
//! runs go through `script`, which gives the program a real pseudo-terminal
//! of a chosen width.

use std::process::Output;

use crate::common::*;

const ESC: &str = "\x1b[";
const AS_OF: &str = "2026-11-22";

/// The example organisation's audit (from the repository's folder, so that
/// its behorig.toml is found), with `args` and `env`.
fn example(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("behorig").expect("binary");
    cmd.current_dir(repo())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("BEHORIG_CONFIG")
        .env_remove("COLUMNS")
        .env("TERM", "xterm")
        .args(["audit", "--as-of", AS_OF])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("behorig runs")
}

/// The same audit on a pseudo-terminal `columns` wide; returns what the
/// terminal showed.
fn on_terminal(columns: u16, env: &str, flags: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin("behorig");
    let line = format!(
        "stty cols {columns} rows 50; {env} '{}' audit --as-of {AS_OF} {flags}",
        bin.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(repo())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("BEHORIG_CONFIG")
        .env_remove("COLUMNS")
        .env("TERM", "xterm")
        .output()
        .expect("script (util-linux) runs");
    // The audit exits 1 (findings); `script -e` passes that on.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The widest line of the tables (the lines drawn with box characters), in
/// characters, with colour codes removed.
fn widest(text: &str) -> usize {
    text.lines()
        .filter(|l| l.contains('│') || l.contains('─'))
        .map(|l| {
            let mut n = 0;
            let mut in_escape = false;
            for c in l.trim_end_matches('\r').chars() {
                match (in_escape, c) {
                    (false, '\x1b') => in_escape = true,
                    (true, c) if c.is_ascii_alphabetic() => in_escape = false,
                    (true, _) => {}
                    (false, _) => n += 1,
                }
            }
            n
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn a_terminal_gets_colour_a_pipe_does_not() {
    assert!(on_terminal(100, "", "").contains(ESC));
    let piped = example(&[], &[]);
    assert!(!String::from_utf8_lossy(&piped.stdout).contains(ESC));
}

#[test]
fn no_color_and_dumb_terminals_get_no_colour() {
    assert!(!on_terminal(100, "NO_COLOR=1", "").contains(ESC));
    assert!(!on_terminal(100, "TERM=dumb", "").contains(ESC));
    assert!(!on_terminal(100, "", "--color never").contains(ESC));
}

#[test]
fn clicolor_force_and_color_always_colour_a_pipe() {
    let forced = example(&[], &[("CLICOLOR_FORCE", "1")]);
    assert!(String::from_utf8_lossy(&forced.stdout).contains(ESC));
    let always = example(&["--color", "always"], &[]);
    assert!(String::from_utf8_lossy(&always.stdout).contains(ESC));
    // NO_COLOR wins over CLICOLOR_FORCE, and CLICOLOR_FORCE=0 forces nothing.
    let both = example(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!String::from_utf8_lossy(&both.stdout).contains(ESC));
    let zero = example(&[], &[("CLICOLOR_FORCE", "0")]);
    assert!(!String::from_utf8_lossy(&zero.stdout).contains(ESC));
}

#[test]
fn the_table_follows_the_terminal_width() {
    let wide = widest(&on_terminal(132, "", ""));
    assert!(
        wide > 80 && wide <= 132,
        "widest line on a 132-column terminal: {wide}"
    );
    let narrow = widest(&on_terminal(60, "", ""));
    assert!(
        narrow <= 60,
        "widest line on a 60-column terminal: {narrow}"
    );
    let piped = example(&[], &[("COLUMNS", "132")]);
    let width = widest(&String::from_utf8_lossy(&piped.stdout));
    assert!(width <= 80 && width > 60, "widest line when piped: {width}");
}

/// Whether a `-v` line says how long its step took: ` in ` and a
/// duration (`12ms`, `3.1s`, `850µs`).
fn has_duration(line: &str) -> bool {
    line.split(" in ").skip(1).any(|rest| {
        let word = rest.split_whitespace().next().unwrap_or("");
        let digits = word.trim_end_matches(|c: char| c.is_alphabetic());
        word.ends_with('s') && !digits.is_empty() && digits.parse::<f64>().is_ok()
    })
}

#[test]
fn quiet_prints_no_warnings_and_verbose_says_what_was_read() {
    let env = Env::new();
    let exceptions = env.write(
        "undantag.toml",
        "[[exception]]\nrule = \"sod-conflict\"\naccount = \"ingen.alls\"\n\
         reason = \"Test\"\napproved_by = \"Test\"\nexpires = 2099-12-31\n",
    );
    let exceptions = exceptions.to_str().expect("utf-8 path");
    let normal = example(&["--exceptions", exceptions, "--format", "json"], &[]);
    let stderr = String::from_utf8_lossy(&normal.stderr);
    assert!(stderr.contains("warning:"), "{stderr}");
    assert!(stderr.contains("findings"), "{stderr}");

    let quiet = example(&["-q", "--exceptions", exceptions, "--format", "json"], &[]);
    assert_eq!(quiet.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");

    let verbose = example(&["-v", "--format", "json"], &[]);
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    for file in ["konton.csv", "gruppnastling.csv", "combine-roller.csv"] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("read fixtures/norrvik/{file}:")))
            .unwrap_or_else(|| panic!("no line about {file} in:\n{stderr}"));
        assert!(has_duration(line), "no duration in `{line}`");
    }
    assert!(stderr.contains("200 accounts, 12 groups"), "{stderr}");
    // Each step after the reading says how long it took, and on Linux how
    // much memory the process holds.
    for step in [
        "evaluated: 281 findings",
        "report ordered",
        "wrote the json report",
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(step))
            .unwrap_or_else(|| panic!("no line about `{step}` in:\n{stderr}"));
        assert!(has_duration(line), "no duration in `{line}`");
        #[cfg(target_os = "linux")]
        assert!(line.contains(" MB, peak "), "no memory in `{line}`");
    }
    assert!(
        stderr.contains("configuration: behorig.toml (from behorig.toml in the working folder)"),
        "{stderr}"
    );
}

/// A configuration in its own folder, naming a policy folder and exports
/// relative to itself.
fn config_elsewhere(env: &Env, name: &str, fail_on: &str) -> std::path::PathBuf {
    for f in ["konton.csv", "gruppnastling.csv", "combine-roller.csv"] {
        let text = std::fs::read(repo().join("fixtures/norrvik").join(f)).expect("fixture");
        env.write(&format!("{name}/data/{f}"), text);
    }
    let policy = std::fs::read(repo().join("policies/statistikdatabas.toml")).expect("policy");
    env.write(&format!("{name}/regler/statistikdatabas.toml"), policy);
    env.write(
        &format!("{name}/behorig.toml"),
        format!(
            "[audit]\npolicies = \"regler\"\nfail_on = \"{fail_on}\"\nstate = \"historik.db\"\n\
             csv = [\"data/konton.csv\", \"data/gruppnastling.csv\", \"data/combine-roller.csv\"]\n"
        ),
    )
}

#[test]
fn the_configuration_is_found_by_flag_then_variable_then_working_folder() {
    let env = Env::new();
    let by_env = config_elsewhere(&env, "a", "never");
    let by_flag = config_elsewhere(&env, "b", "high");
    // The working folder (the temp folder) has a behorig.toml too.
    env.write("behorig.toml", "[audit]\npolicies = \"finns-inte\"\n");

    // $BEHORIG_CONFIG wins over ./behorig.toml, and its paths are relative
    // to its own folder: it audits with fail_on = never, so exit 0.
    let out = env
        .cmd()
        .args(["audit", "--as-of", AS_OF, "--format", "json"])
        .env("BEHORIG_CONFIG", &by_env)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // The example's findings on the one data source of its policy.
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/golden/norrvik.json")).expect("golden"),
    )
    .expect("golden json");
    let expected = golden["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas")
        .count();
    assert!(expected > 0);
    let found = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas")
        .count();
    assert_eq!(found, expected);
    assert!(
        env.path("a/historik.db").is_file(),
        "state not relative to the file"
    );

    // --config wins over $BEHORIG_CONFIG: fail_on = high, so exit 1.
    let out = env
        .cmd()
        .args(["audit", "--as-of", AS_OF, "--format", "json", "--config"])
        .arg(&by_flag)
        .env("BEHORIG_CONFIG", &by_env)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without either, ./behorig.toml: its policy folder does not exist.
    let out = env
        .cmd()
        .args(["audit", "--csv", "x.csv"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("finns-inte"));
}

#[test]
fn a_missing_file_in_behorig_config_is_a_set_up_error() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["audit"])
        .env("BEHORIG_CONFIG", env.path("saknas.toml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("saknas.toml"), "{stderr}");
    assert!(stderr.contains("cannot read the configuration"), "{stderr}");
}

#[test]
fn history_reads_the_state_named_in_the_configuration() {
    let env = Env::new();
    let config = config_elsewhere(&env, "a", "never");
    let audit = env
        .cmd()
        .args(["audit", "--as-of", AS_OF, "-q", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(audit.status.code(), Some(0));
    let out = env
        .cmd()
        .args(["history", "--format", "json"])
        .env("BEHORIG_CONFIG", &config)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["runs"].as_array().map(Vec::len), Some(1), "{json}");

    let none = env.cmd().args(["history"]).output().expect("run");
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("--state"));
}

#[test]
fn config_shows_values_with_their_origin_and_never_a_password() {
    let env = Env::new();
    let secret = "Hemligt-Lösen-4711";
    let config = env.write(
        "behorig.toml",
        "[organization]\nname = \"Norrviks kommun\"\n\n[ldap]\nurl = \"ldaps://dc1.example.se\"\n\
         password_env = \"BEHORIG_TEST_PW\"\npage_size = 500\n\n[audit]\npolicies = \"regler\"\n",
    );
    let out = env
        .cmd()
        .arg("config")
        .env("BEHORIG_TEST_PW", secret)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(secret), "{text}");
    assert!(
        text.contains("found by behorig.toml in the working folder"),
        "{text}"
    );
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key} ")))
            .unwrap_or_else(|| panic!("no `{key}` in:\n{text}"))
            .to_string()
    };
    assert!(line("name").ends_with("# file"));
    assert!(
        line("page_size").starts_with("page_size = 500") && line("page_size").ends_with("# file")
    );
    assert!(
        line("timeout_s").starts_with("timeout_s = 30") && line("timeout_s").ends_with("# default")
    );
    assert!(line("password_env").contains("the variable is set"));
    let policies = config.parent().expect("folder").join("regler");
    assert!(
        line("policies").contains(&policies.display().to_string()),
        "{text}"
    );
    assert!(
        line("fail_on").starts_with("fail_on = \"high\"") && line("fail_on").ends_with("# default")
    );
}

#[test]
fn every_help_shows_defaults_values_and_two_examples() {
    for command in [
        &["--help"][..],
        &["audit", "--help"],
        &["explain", "--help"],
        &["draft", "--help"],
        &["policy", "--help"],
        &["policy", "check", "--help"],
        &["history", "--help"],
        &["config", "--help"],
    ] {
        let out = Env::new().cmd().args(command).output().expect("run");
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        let examples = text
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{command:?}: no examples in:\n{text}"));
        let lines = examples
            .lines()
            .filter(|l| l.starts_with("  behorig "))
            .count();
        assert!(lines >= 2, "{command:?}: {lines} examples in:\n{text}");
        assert!(
            text.contains("[default: auto]")
                && text.contains("- always")
                && text.contains("- never"),
            "{command:?}:\n{text}"
        );
    }
    let audit = Env::new()
        .cmd()
        .args(["audit", "--help"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(text.contains("[default: table]"), "{text}");
    assert!(
        text.contains("[possible values: table, json, csv, sarif, html, md]"),
        "{text}"
    );
    assert!(
        text.contains("[default: standard]") && text.contains("- excel:"),
        "{text}"
    );
}

#[test]
fn excel_csv_has_a_bom_semicolons_and_who_the_account_is() {
    let out = example(&["--format", "csv", "--csv-style", "excel"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.starts_with("\u{feff}".as_bytes()),
        "no UTF-8 BOM"
    );
    let text = std::str::from_utf8(&out.stdout[3..]).expect("UTF-8");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(header.first().map(String::as_str), Some("id"));
    for column in ["display_name", "department", "title"] {
        assert!(
            header.iter().any(|h| h == column),
            "no {column} in {header:?}"
        );
    }
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    let asa = reader
        .records()
        .map(|r| r.expect("row"))
        .find(|r| &r[col("account")] == "asa.jonsson")
        .expect("a finding on asa.jonsson");
    assert_eq!(&asa[col("display_name")], "Åsa Jonsson");
    assert_eq!(&asa[col("department")], "IFO");
    assert_eq!(&asa[col("title")], "Familjebehandlare");

    let standard = example(&["--format", "csv"], &[]);
    assert!(standard.stdout.starts_with(b"id,rule,"));
}

#[test]
fn verbose_never_prints_a_password_in_a_url() {
    let env = Env::new();
    // Port 1 on loopback: nothing listens, so the read fails (exit 3).
    let out = env
        .cmd()
        .args([
            "-v",
            "audit",
            "--ldap",
            "ldap://svc:Hemligt-4711@127.0.0.1:1/",
            "--policies",
        ])
        .arg(repo().join("policies"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Hemligt-4711"), "{stderr}");
}
