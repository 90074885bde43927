//! Helpers: a temp folder per test, files written into it, and the binary.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(&path, content).expect("write fixture");
        path
    }

    /// `behorig` run in the temp folder (so no behorig.toml of the
    /// repository is picked up).
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("behorig").expect("binary");
        cmd.current_dir(self.dir.path());
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("BEHORIG_CONFIG");
        cmd
    }
}

/// The repository root, for the bundled example.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `audit --format json` and returns (exit code, JSON, stderr).
pub fn audit_json(env: &Env, args: &[&str]) -> (i32, Value, String) {
    let out = env
        .cmd()
        .arg("audit")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON on stdout ({e}); stderr: {stderr}"));
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// Runs `explain ID` with the audit's arguments: (exit code, stdout).
pub fn explain(env: &Env, id: &str, args: &[String]) -> (i32, String) {
    let out = env
        .cmd()
        .arg("explain")
        .arg(id)
        .args(args)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.code().unwrap_or(-1), text)
}

/// A finding reduced to what identifies it, for set comparisons.
pub fn key(f: &Value) -> String {
    let s = |k: &str| f[k].as_str().unwrap_or("-").to_string();
    format!(
        "{} {} {} {} {} {}",
        s("rule"),
        s("data_source"),
        s("account"),
        s("group"),
        s("role"),
        s("scope")
    )
}

pub fn keys(json: &Value) -> Vec<String> {
    let mut keys: Vec<String> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(key)
        .collect();
    keys.sort();
    keys
}

pub fn find<'a>(json: &'a Value, rule: &str, subject: &str) -> &'a Value {
    json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == rule && (f["account"] == subject || f["group"] == subject))
        .unwrap_or_else(|| panic!("no {rule} finding for {subject}"))
}

/// The policies of the small test organisation: a statistics database with
/// boards IFO and VO, and a file share outside social services.
pub const STATDB_POLICY: &str = r#"
[source]
id = "statdb"
name = "Statistikdatabas"
controller = "Socialnämnden"
activity = "socialtjanst"
data_categories = ["halsa", "personnummer"]
data_subject_groups = ["barn"]
scopes = ["IFO", "VO"]

[[grant]]
group = '^SG-Statdb-(?P<scope>IFO|VO)-(?P<role>Las|Admin)$'

[[grant]]
group = '^SG-Statdb-Alla$'
role = "Las"
scope = "*"

[[allow]]
id = "egen"
role = "Las"
scope = "*"
when.department = "{scope}"
when.title = ["Statistiker", "Controller"]
max_accounts = 2

[[allow]]
id = "admin"
role = "Admin"
accounts = ["ADM1"]

[checks]
inactive_days = 90
broad_groups = ['^Alla anst(a|ä)llda$']
separation_of_duties = [["Admin", "Las"]]
"#;

pub const FIL_POLICY: &str = r#"
[source]
id = "fil"
activity = "annan"
data_categories = ["personnummer"]

[[grant]]
group = '^FS-Fil$'
role = "Las"

[[allow]]
when.mail = { regex = '@norrvik\.se$' }

[checks]
disabled_accounts = false
"#;

/// One account of the test organisation.
pub struct Row {
    pub account: &'static str,
    pub department: &'static str,
    pub title: &'static str,
    pub enabled: bool,
    pub expires: &'static str,
    pub last_logon: &'static str,
    pub mail: &'static str,
    pub groups: &'static [&'static str],
}

const fn row(
    account: &'static str,
    department: &'static str,
    title: &'static str,
    groups: &'static [&'static str],
) -> Row {
    Row {
        account,
        department,
        title,
        enabled: true,
        expires: "",
        last_logon: "2026-11-20 08:30",
        mail: "",
        groups,
    }
}

pub fn rows() -> Vec<Row> {
    vec![
        row("anna", "IFO", "Statistiker", &["SG-Statdb-IFO-Las"]),
        row("bo", "VO", "Controller", &["SG-Controllers"]),
        row("cia", "IFO", "Statistiker", &["SG-Statdb-VO-Las"]),
        row("dan", "IFO", "Socialsekreterare", &["Alla anställda"]),
        row("hal", "GA", "Ekonom", &["Alla anställda"]),
        row(
            "adm1",
            "KS",
            "Systemförvaltare",
            &["SG-Statdb-IFO-Admin", "SG-Statdb-IFO-Las"],
        ),
        Row {
            enabled: false,
            mail: "eva@norrvik.se",
            ..row(
                "eva",
                "IFO",
                "Statistiker",
                &["SG-Statdb-IFO-Las", "FS-Fil"],
            )
        },
        Row {
            expires: "2026-01-01",
            ..row("fia", "IFO", "Statistiker", &["SG-Statdb-IFO-Las"])
        },
        Row {
            last_logon: "2026-01-01 12:00",
            ..row("gun", "IFO", "Statistiker", &["SG-Statdb-IFO-Las"])
        },
        row("ivar", "VO", "Controller", &["SG-A"]),
        Row {
            mail: "jon@gmail.com",
            ..row("jon", "IFO", "Statistiker", &["FS-Fil"])
        },
        Row {
            mail: "kim@norrvik.se",
            ..row("kim", "VO", "Undersköterska", &["FS-Fil"])
        },
    ]
}

/// Group nesting as (group, member_group): SG-A and SG-B contain each other.
pub const NESTING: &[(&str, &str)] = &[
    ("SG-Statdb-Alla", "SG-Controllers"),
    ("SG-Statdb-IFO-Las", "Alla anställda"),
    ("SG-B", "SG-A"),
    ("SG-A", "SG-B"),
    ("SG-Statdb-VO-Las", "SG-B"),
];

/// The role export: `ghost` is not in the directory (twice, in two cases).
pub const ROLES: &[(&str, &str, &str, &str)] = &[
    ("ghost", "statdb", "Las", "IFO"),
    ("anna", "statdb", "Las", "IFO"),
    ("GHOST", "statdb", "Admin", "VO"),
];

/// Writes the policies and the organisation as plain comma-separated UTF-8
/// exports; returns the audit arguments.
pub fn write_org(env: &Env) -> Vec<String> {
    env.write("policies/statdb.toml", STATDB_POLICY);
    env.write("policies/fil.toml", FIL_POLICY);
    let mut accounts =
        String::from("account,department,title,enabled,expires,last_logon,mail,group\n");
    for r in rows() {
        accounts.push_str(&format!(
            "{},{},{},{},{},{},{},\"{}\"\n",
            r.account,
            r.department,
            r.title,
            r.enabled,
            r.expires,
            r.last_logon,
            r.mail,
            r.groups.join(";")
        ));
    }
    env.write("accounts.csv", accounts);
    let mut nesting = String::from("group,member_group\n");
    for (g, m) in NESTING {
        nesting.push_str(&format!("{g},{m}\n"));
    }
    env.write("nesting.csv", nesting);
    let mut roles = String::from("account,data_source,role,scope\n");
    for (a, s, r, sc) in ROLES {
        roles.push_str(&format!("{a},{s},{r},{sc}\n"));
    }
    env.write("roles.csv", roles);
    args(&["accounts.csv", "nesting.csv", "roles.csv"])
}

/// `--policies policies --as-of 2026-11-22 --csv F...`
pub fn args(files: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["--policies", "policies", "--as-of", "2026-11-22"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for f in files {
        a.push("--csv".into());
        a.push(f.to_string());
    }
    a
}

pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
