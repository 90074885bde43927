//! The same organisation exported the ways Swedish Excel and PowerShell
//! write CSV gives the same audit.

use serde_json::Value;

use crate::common::*;

/// The report without `run.sources`, which names the files.
fn comparable(mut json: Value) -> Value {
    json["run"]["sources"] = Value::Null;
    json
}

fn baseline() -> Value {
    let env = Env::new();
    let args = write_org(&env);
    comparable(audit_json(&env, &strs(&args)).1)
}

/// Writes the accounts in another dialect and audits them with the plain
/// nesting and role files.
fn audit_accounts(accounts: Vec<u8>) -> (i32, Value, String) {
    let env = Env::new();
    let mut args = write_org(&env);
    env.write("accounts.csv", accounts);
    let (code, json, stderr) = audit_json(&env, &strs(&args));
    args.clear();
    (code, comparable(json), stderr)
}

fn windows_1252(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

#[test]
fn semicolon_windows_1252_with_swedish_headers_equals_comma_utf8() {
    let mut text = String::from(
        "Användarnamn;Avdelning;Titel;Aktiv;Utgår;Senaste inloggning;E-post;Grupper;Anteckning\r\n",
    );
    for r in rows() {
        text.push_str(&format!(
            "{};{};{};{};{};{};{};{};\"rad ett\r\nrad två; med \"\"citat\"\"\"\r\n",
            r.account,
            r.department,
            r.title,
            if r.enabled { "Ja" } else { "Nej" },
            r.expires,
            r.last_logon,
            r.mail,
            r.groups.join("|"),
        ));
    }
    let bytes = windows_1252(&text);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the fixture must not be UTF-8"
    );
    let (code, json, stderr) = audit_accounts(bytes);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(json, baseline());
}

#[test]
fn powershell_export_with_type_line_bom_and_dns_equals_comma_utf8() {
    let mut text = String::from(
        "\u{feff}#TYPE Selected.Microsoft.ActiveDirectory.Management.ADUser\r\n\
         \"SamAccountName\",\"Department\",\"Title\",\"Enabled\",\"AccountExpirationDate\",\"LastLogonDate\",\"mail\",\"MemberOf\"\r\n",
    );
    for r in rows() {
        let groups: Vec<String> = r
            .groups
            .iter()
            .map(|g| format!("CN={g},OU=Grupper,DC=norrvik,DC=se"))
            .collect();
        let expires = if r.expires.is_empty() {
            String::new()
        } else {
            format!("{} 00:00:00", r.expires)
        };
        text.push_str(&format!(
            "\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}:00\",\"{}\",\"{}\"\r\n",
            r.account,
            r.department,
            r.title,
            if r.enabled { "True" } else { "False" },
            expires,
            r.last_logon,
            r.mail,
            groups.join(";"),
        ));
    }
    let (code, json, stderr) = audit_accounts(text.into_bytes());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(json, baseline());
}

#[test]
fn tab_separated_one_group_per_row_with_iso_datetimes_equals_comma_utf8() {
    let mut text =
        String::from("uid\tdepartment\ttitle\tenabled\texpires\tlastLogon\tmail\tgroup\n");
    for r in rows() {
        let groups: Vec<&str> = if r.groups.is_empty() {
            vec![""]
        } else {
            r.groups.to_vec()
        };
        for g in groups {
            let expires = if r.expires.is_empty() {
                String::new()
            } else {
                format!("{}T00:00:00", r.expires)
            };
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                r.account,
                r.department,
                r.title,
                if r.enabled { "1" } else { "0" },
                expires,
                r.last_logon.replace(' ', "T"),
                r.mail,
                g
            ));
        }
    }
    let (code, json, stderr) = audit_accounts(text.into_bytes());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(json, baseline());
}

#[test]
fn whole_organisation_as_windows_1252_semicolon_files_equals_utf8_comma() {
    // Every file, not just the accounts, in the other dialect.
    let env = Env::new();
    let _ = write_org(&env);
    let convert = |name: &str| {
        let text = std::fs::read_to_string(env.path(name)).expect("read");
        let mut out = String::new();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let headers = rdr.headers().expect("headers").clone();
        out.push_str(&headers.iter().collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
        for rec in rdr.records() {
            let rec = rec.expect("record");
            let cells: Vec<String> = rec
                .iter()
                .map(|c| {
                    if c.contains(';') {
                        format!("\"{c}\"")
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            out.push_str(&cells.join(";"));
            out.push_str("\r\n");
        }
        env.write(name, windows_1252(&out));
    };
    for f in ["accounts.csv", "nesting.csv", "roles.csv"] {
        convert(f);
    }
    let args = args(&["accounts.csv", "nesting.csv", "roles.csv"]);
    let (_, json, _) = audit_json(&env, &strs(&args));
    assert_eq!(comparable(json), baseline());
}

#[test]
fn file_order_does_not_change_the_report() {
    let env = Env::new();
    let _ = write_org(&env);
    let args = args(&["roles.csv", "nesting.csv", "accounts.csv"]);
    let (_, json, _) = audit_json(&env, &strs(&args));
    assert_eq!(comparable(json), baseline());
}
