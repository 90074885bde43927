//! Inputs that would be misread are refused, never audited as if they
//! were fine: the real binary on files shaped like the wrong exports, the
//! set-up mistakes that exit 2, and what reaches the terminal.

use std::io::Write;
use std::process::Stdio;

use crate::common::*;

/// Runs the test organisation with `extra` arguments and checks a refusal:
/// the exit code, each of `wanted` on stderr, and no report.
fn refused(env: &Env, extra: &[&str], code: i32, wanted: &[&str]) -> String {
    let mut args = write_org(env);
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--format", "json", "--output", "report.json"].map(String::from));
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    for w in wanted {
        assert!(stderr.contains(w), "expected `{w}` in: {stderr}");
    }
    assert!(!env.path("report.json").exists(), "a report was written");
    stderr
}

/// An account export of `rows` plain rows, then `last`, whose line is
/// returned.
fn export_ending_in(env: &Env, name: &str, rows: usize, last: &[u8]) -> usize {
    let mut bytes =
        b"account,department,title,group\nanna,IFO,Socialsekreterare,SG-\xc3\x85ter\n".to_vec();
    for i in 0..rows {
        bytes.extend_from_slice(
            format!("konto{i},VO,Undersk\u{f6}terska,SG-VO-Personal\n").as_bytes(),
        );
    }
    bytes.extend_from_slice(last);
    env.write(name, bytes);
    rows + 3
}

#[test]
fn an_invalid_utf8_row_is_refused_wherever_it_stands() {
    // Inside the first 64 KiB (read as Windows-1252 before), and far
    // beyond it: the same refusal at the row's line.
    for rows in [10, 5000] {
        let env = Env::new();
        let line = export_ending_in(
            &env,
            "extra.csv",
            rows,
            b"bo,IFO,Handl\xe4ggare,SG-IFO-Personal\n",
        );
        refused(
            &env,
            &["--csv", "extra.csv"],
            3,
            &[&format!("extra.csv:{line}"), "mixes two encodings"],
        );
    }
}

#[test]
fn a_nul_or_control_character_in_a_value_stops_the_read() {
    let env = Env::new();
    let line = export_ending_in(
        &env,
        "extra.csv",
        3,
        b"bo,IFO\x00,Handl\xc3\xa4ggare,SG-IFO-Personal\n",
    );
    refused(
        &env,
        &["--csv", "extra.csv"],
        3,
        &[&format!("extra.csv:{line}"), "U+0000", "`department`"],
    );
    let env = Env::new();
    let line = export_ending_in(
        &env,
        "extra.csv",
        3,
        b"b\x1bo,IFO,Handl\xc3\xa4ggare,SG-IFO-Personal\n",
    );
    let stderr = refused(
        &env,
        &["--csv", "extra.csv"],
        3,
        &[&format!("extra.csv:{line}"), "U+001B"],
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "a raw escape reached the terminal"
    );
}

#[test]
fn a_lone_surrogate_in_a_utf16_export_stops_the_read() {
    let env = Env::new();
    let text =
        "account,department,title,group\r\nanna,IFO,Statistiker,SG-IFO-Personal\r\nbo,IFO,Handl";
    let mut bytes = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes.extend_from_slice(&0xd800u16.to_le_bytes());
    for unit in "ggare,SG-IFO-Personal\r\n".encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    env.write("utf16.csv", bytes);
    refused(
        &env,
        &["--csv", "utf16.csv"],
        3,
        &["utf16.csv:3", "U+FFFD", "surrogate"],
    );
}

#[test]
fn a_row_longer_than_the_limit_stops_the_read() {
    let env = Env::new();
    let mut bytes = b"account,department\nanna,".to_vec();
    bytes.resize(bytes.len() + 65 * 1024 * 1024, b'x');
    env.write("huge.csv", bytes);
    refused(
        &env,
        &["--csv", "huge.csv"],
        3,
        &["huge.csv:2", "longer than 64 MiB"],
    );
}

#[test]
fn a_header_of_many_columns_is_read_in_one_pass() {
    // With a check of each column against every earlier one, this header
    // took minutes.
    let env = Env::new();
    let mut header = String::from("namn");
    for i in 0..300_000 {
        header.push_str(&format!(",c{i}"));
    }
    header.push_str(",namn\n");
    env.write("wide.csv", header);
    refused(
        &env,
        &["--csv", "wide.csv"],
        3,
        &["wide.csv:1", "unknown CSV layout"],
    );
}

#[cfg(unix)]
#[test]
fn an_endless_exceptions_file_is_refused_at_its_limit() {
    refused(
        &Env::new(),
        &["--exceptions", "/dev/zero"],
        2,
        &["/dev/zero", "larger than 16 MiB"],
    );
}

#[test]
fn a_nameless_directory_user_is_audited_under_its_dn() {
    let env = Env::new();
    env.write("policies/statdb.toml", STATDB_POLICY);
    env.write(
        "export.ldif",
        "dn: uid=anna,ou=p,dc=x\nobjectClass: inetOrgPerson\nuid: anna\ndepartmentNumber: IFO\ntitle: Statistiker\n\n\
         dn: cn=Okand Person,ou=p,dc=x\nobjectClass: inetOrgPerson\ncn: Okand Person\n\n\
         dn: cn=Extern kontakt,ou=p,dc=x\nobjectClass: contact\ncn: Extern kontakt\n\n\
         dn: cn=SG-Statdb-IFO-Las,ou=g,dc=x\nobjectClass: groupOfNames\ncn: SG-Statdb-IFO-Las\n\
         member: uid=anna,ou=p,dc=x\nmember: cn=Okand Person,ou=p,dc=x\nmember: cn=Extern kontakt,ou=p,dc=x\n",
    );
    let (code, json, stderr) =
        audit_json(&env, &["--policies", "policies", "--ldif", "export.ldif"]);
    assert_eq!(code, 1, "{stderr}");
    let nameless = find(&json, "unauthorized-access", "cn=Okand Person,ou=p,dc=x");
    assert_eq!(nameless["via"][0], "SG-Statdb-IFO-Las");
    assert!(
        stderr.contains("export.ldif:7") && stderr.contains("audited under its DN"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the contact `cn=Extern kontakt,ou=p,dc=x`")
            && stderr.contains("SG-Statdb-IFO-Las"),
        "{stderr}"
    );
}

#[test]
fn a_ldifde_unicode_export_is_read() {
    let env = Env::new();
    env.write("policies/statdb.toml", STATDB_POLICY);
    let text = "\r\ndn: CN=Anna,OU=P,DC=x\r\nchangetype: add\r\nobjectClass: user\r\nsAMAccountName: anna\r\n\
                department: VO\r\ntitle: Undersköterska\r\n\r\ndn: CN=SG-Statdb-IFO-Las,OU=G,DC=x\r\n\
                changetype: add\r\nobjectClass: group\r\ncn: SG-Statdb-IFO-Las\r\nmember: CN=Anna,OU=P,DC=x\r\n";
    let mut bytes = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    env.write("ldifde-u.ldf", bytes);
    let (code, json, stderr) =
        audit_json(&env, &["--policies", "policies", "--ldif", "ldifde-u.ldf"]);
    assert_eq!(code, 1, "{stderr}");
    let anna = find(&json, "unauthorized-access", "anna");
    assert_eq!(anna["scope"], "IFO");
}

#[cfg(unix)]
#[test]
fn a_state_file_others_can_read_is_refused_with_the_chmod() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let state = env.write("state.db", "");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    refused(
        &env,
        &["--state", "state.db"],
        2,
        &["state.db", "chmod 600"],
    );
}

#[test]
fn output_to_a_folder_is_a_set_up_mistake_and_dash_is_standard_output() {
    let env = Env::new();
    std::fs::create_dir(env.path("rapporter")).expect("mkdir");
    let mut args = write_org(&env);
    args.extend(["--output", "rapporter"].map(String::from));
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a folder"));

    let mut args = write_org(&env);
    args.extend(["--format", "json", "--output", "-"].map(String::from));
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert!(!json["findings"].as_array().expect("findings").is_empty());
    assert!(!env.path("-").exists(), "a file named `-` was written");
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let env = Env::new();
    let args = write_org(&env);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("behorig"))
        .current_dir(env.dir.path())
        .arg("audit")
        .args(&args)
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Both ends closed before the report is out, as `2>&1 | head -c 10`
    // leaves them.
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().expect("wait");
    assert_ne!(status.code(), Some(101), "the run panicked");
}

#[test]
fn flags_that_replace_configured_inputs_say_so() {
    let env = Env::new();
    let args = write_org(&env);
    env.write(
        "behorig.toml",
        "[audit]\npolicies = \"policies\"\ncsv = [\"accounts.csv\", \"nesting.csv\"]\n\n\
         [ldap]\nurl = \"ldaps://dc1.norrvik.se\"\nbase_dn = \"DC=norrvik,DC=se\"\n",
    );
    let out = env
        .cmd()
        .args(["audit", "--csv", "roles.csv", "--csv", "accounts.csv"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("replace the inputs of"), "{stderr}");
    assert!(stderr.contains("nesting.csv"), "{stderr}");
    assert!(stderr.contains("ldaps://dc1.norrvik.se"), "{stderr}");
    let read_list = stderr
        .lines()
        .find(|l| l.contains("not read"))
        .unwrap_or_default();
    assert!(
        !read_list.contains("accounts.csv"),
        "accounts.csv was given: {stderr}"
    );
    drop(args);
}

#[test]
fn a_misspelt_condition_is_warned_about_with_its_line_and_the_spelling() {
    let env = Env::new();
    let mut args = write_org(&env);
    let policy = STATDB_POLICY.replace(
        "when.department = \"{scope}\"",
        "when.departmnet = \"{scope}\"",
    );
    env.write("policies/statdb.toml", &policy);
    let line = policy
        .lines()
        .position(|l| l.starts_with("when.departmnet"))
        .expect("line")
        + 1;
    args.extend(["--format", "json"].map(String::from));
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("statdb.toml:{line}"))
            && stderr.contains("did you mean `when.department`"),
        "{stderr}"
    );
    let out = env
        .cmd()
        .args(["policy", "check", "policies"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("statdb.toml:{line}"))
            && stderr.contains("did you mean `when.department`"),
        "{stderr}"
    );
}

#[test]
fn control_characters_in_values_reach_the_table_escaped() {
    let env = Env::new();
    let mut args = write_org(&env);
    let mut roles = std::fs::read_to_string(env.path("roles.csv")).expect("roles");
    roles.push_str("anna,statdb,\"Las\tX\",IFO\n");
    env.write("roles.csv", roles);
    args.extend(["--format", "table"].map(String::from));
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Las\\tX"), "{stdout}");
    assert!(!stdout.contains("Las\tX"), "a raw tab reached the table");
    let _ = std::io::stdout().flush();
}

#[cfg(unix)]
#[test]
fn output_to_a_pipe_writes_into_it_and_leaves_it_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let env = Env::new();
    let mut args = write_org(&env);
    let fifo = env.path("rapport.fifo");
    let c_path = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("path");
    // SAFETY: mkfifo on a NUL-terminated path in the test's own folder.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).expect("read the pipe"))
    };
    args.extend(["--format", "json", "--output"].map(String::from));
    args.push(fifo.display().to_string());
    let out = env.cmd().arg("audit").args(&args).output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = reader.join().expect("reader");
    let json: serde_json::Value =
        serde_json::from_slice(&bytes).expect("the report came through the pipe");
    assert!(!json["findings"].as_array().expect("findings").is_empty());
    let kind = std::fs::symlink_metadata(&fifo)
        .expect("still there")
        .file_type();
    assert!(kind.is_fifo(), "the pipe was replaced by a file");
}
