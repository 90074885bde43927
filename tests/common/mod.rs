//! Test support for the directory sources: the example organisation as
//! LDIF (OpenLDAP and Active Directory forms, written from its CSV
//! inventory), a test CA, real servers started on loopback in temp dirs,
//! and running the binary.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use behorig::inventory::{AccountId, Expiry, GroupId, Inventory, InventoryBuilder};

pub const AS_OF: &str = "2026-11-22";
pub const SVC_PASSWORD: &str = "Pw-behorig-7e1c2b9f";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_behorig"))
}

/// The example organisation's directory part (accounts, groups, nesting),
/// read from its CSV export; the role export stays CSV.
pub fn norrvik() -> Inventory {
    let mut inv = InventoryBuilder::new();
    for f in ["konton.csv", "gruppnastling.csv"] {
        behorig::sources::csv::read_file(&repo().join("fixtures/norrvik").join(f), &mut inv)
            .expect("the example organisation reads");
    }
    inv.finish()
}

/// Relative to the repository, where the binary runs, as the baseline
/// names it in its messages.
pub fn roles_csv() -> PathBuf {
    PathBuf::from("fixtures/norrvik/combine-roller.csv")
}

/// An LDIF value line, base64 when the value is not a safe string.
pub fn attr(out: &mut String, name: &str, value: &str) {
    let mut line = Vec::new();
    behorig::sources::ldif::write_line(&mut line, name, value).expect("written to memory");
    out.push_str(&String::from_utf8(line).expect("LDIF lines are ASCII"));
}

/// Escapes a value for use in a DN.
fn rdn(value: &str) -> String {
    let mut s = String::new();
    for (i, c) in value.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
        {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

const FILETIME_UNIX: i64 = 116_444_736_000_000_000;

fn filetime(t: chrono::NaiveDateTime) -> i64 {
    t.and_utc().timestamp() * 10_000_000 + FILETIME_UNIX
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    OpenLdap,
    ActiveDirectory,
}

/// The directory of an inventory as LDIF entries under `base` (which must
/// exist): people and groups in their own OUs, created too.
pub fn directory_ldif(inv: &Inventory, base: &str, flavor: Flavor) -> String {
    directory_ldif_parts(inv, base, flavor, true).0
}

/// As [`directory_ldif`]; with `nested` false, groups that are members of
/// groups are left out of the entries and come as a second LDIF of
/// modifications, for servers that check that every member exists (AD)
/// when nesting has cycles.
pub fn directory_ldif_parts(
    inv: &Inventory,
    base: &str,
    flavor: Flavor,
    nested: bool,
) -> (String, String) {
    let ad = flavor == Flavor::ActiveDirectory;
    let (people_ou, groups_ou) = if ad {
        (format!("OU=Personal,{base}"), format!("OU=Grupper,{base}"))
    } else {
        (format!("ou=people,{base}"), format!("ou=groups,{base}"))
    };
    let mut out = String::new();
    for (ou, name) in [(&people_ou, "Personal"), (&groups_ou, "Grupper")] {
        out.push_str(&format!("dn: {ou}\nobjectClass: organizationalUnit\n"));
        if !ad {
            out.push_str(&format!(
                "ou: {}\n",
                if name == "Personal" {
                    "people"
                } else {
                    "groups"
                }
            ));
        }
        out.push('\n');
    }
    let account_dn = |id: AccountId| -> String {
        let a = &inv.accounts[id];
        if ad {
            format!("CN={},{people_ou}", rdn(&a.id))
        } else {
            format!("uid={},{people_ou}", rdn(&a.id))
        }
    };
    let group_dn = |id: GroupId| -> String {
        let prefix = if ad { "CN" } else { "cn" };
        format!("{prefix}={},{groups_ou}", rdn(&inv.groups[id].name))
    };
    for (i, a) in inv.accounts.iter().enumerate() {
        attr(&mut out, "dn", &account_dn(AccountId::at(i)));
        if ad {
            out.push_str("objectClass: user\n");
            attr(&mut out, "sAMAccountName", &a.id);
            if let Some(d) = &a.display_name {
                attr(&mut out, "displayName", d);
            }
        } else {
            out.push_str("objectClass: inetOrgPerson\nobjectClass: shadowAccount\n");
            attr(&mut out, "uid", &a.id);
            let cn = a.display_name.as_deref().unwrap_or(&a.id).to_string();
            attr(&mut out, "cn", &cn);
            attr(&mut out, "sn", cn.split(' ').next_back().unwrap_or(&cn));
        }
        for (key, ad_name, ol_name) in [
            ("department", "department", "departmentNumber"),
            ("title", "title", "title"),
            ("employee_type", "employeeType", "employeeType"),
            ("mail", "mail", "mail"),
        ] {
            if let Some(v) = a.attrs.get(key, inv.names()) {
                attr(&mut out, if ad { ad_name } else { ol_name }, v);
            }
        }
        match (ad, a.enabled) {
            // NORMAL_ACCOUNT | PASSWD_NOTREQD, and ACCOUNTDISABLE.
            (true, Some(false)) => out.push_str("userAccountControl: 546\n"),
            (true, _) => out.push_str("userAccountControl: 544\n"),
            (false, Some(false)) => out.push_str("pwdAccountLockedTime: 20260101000000Z\n"),
            (false, _) => {}
        }
        match a.expires {
            Some(Expiry::At(t)) if ad => {
                out.push_str(&format!("accountExpires: {}\n", filetime(t)));
            }
            Some(Expiry::At(t)) => {
                out.push_str(&format!(
                    "shadowExpire: {}\n",
                    t.and_utc().timestamp().div_euclid(86_400)
                ));
            }
            _ if ad => out.push_str("accountExpires: 9223372036854775807\n"),
            _ => {}
        }
        if let Some(t) = a.last_logon {
            if ad {
                out.push_str(&format!("lastLogonTimestamp: {}\n", filetime(t)));
            } else {
                out.push_str(&format!("authTimestamp: {}\n", t.format("%Y%m%d%H%M%SZ")));
            }
        }
        out.push('\n');
    }
    for (i, g) in inv.groups.iter().enumerate() {
        let members = inv.members(GroupId::at(i));
        attr(&mut out, "dn", &group_dn(GroupId::at(i)));
        attr(&mut out, "cn", &g.name);
        if ad {
            out.push_str("objectClass: group\n");
            attr(&mut out, "sAMAccountName", &g.name);
            for &m in &members {
                attr(&mut out, "member", &account_dn(m));
            }
            if nested {
                for &c in &g.children {
                    attr(&mut out, "member", &group_dn(c));
                }
            }
        } else if g.children.is_empty() && (members.is_empty() || i % 3 == 2) {
            // Groups of accounts only may be posix groups (memberUid).
            out.push_str("objectClass: posixGroup\n");
            out.push_str(&format!("gidNumber: {}\n", 20000 + i));
            for &m in &members {
                attr(&mut out, "memberUid", &inv.accounts[m].id);
            }
        } else if i % 3 == 1 {
            out.push_str("objectClass: groupOfUniqueNames\n");
            for &m in &members {
                attr(&mut out, "uniqueMember", &account_dn(m));
            }
            for &c in &g.children {
                attr(&mut out, "uniqueMember", &group_dn(c));
            }
        } else {
            out.push_str("objectClass: groupOfNames\n");
            for &m in &members {
                attr(&mut out, "member", &account_dn(m));
            }
            for &c in &g.children {
                attr(&mut out, "member", &group_dn(c));
            }
        }
        out.push('\n');
    }
    let mut modify = String::new();
    if !nested {
        for (i, g) in inv.groups.iter().enumerate() {
            if g.children.is_empty() {
                continue;
            }
            attr(&mut modify, "dn", &group_dn(GroupId::at(i)));
            modify.push_str("changetype: modify\nadd: member\n");
            for &c in &g.children {
                attr(&mut modify, "member", &group_dn(c));
            }
            modify.push_str("-\n\n");
        }
    }
    (out, modify)
}

pub type Access = (String, String, String, String);

/// Every access an allow covers, per the evaluator: all accesses the walk
/// finds, less those an `unauthorized-access` finding names.
pub fn allowed(inputs: &behorig::cli::Inputs) -> BTreeSet<Access> {
    let loaded = behorig::commands::load(inputs).expect("the inputs load");
    let inv = &loaded.inventory;
    let refs: Vec<&behorig::policy::Policy> = loaded.policies.iter().collect();
    let evaluation = behorig::evaluate::evaluate(&loaded.policies, inv, inputs.as_of);
    let unauthorized: BTreeSet<Access> = evaluation
        .findings
        .iter()
        .filter(|f| f.rule == behorig::findings::Rule::UnauthorizedAccess)
        .map(|f| {
            (
                f.account.clone().unwrap_or_default(),
                f.data_source.clone(),
                f.role.clone().unwrap_or_default(),
                f.scope.clone().unwrap_or_default(),
            )
        })
        .collect();
    let walker = behorig::evaluate::Walker::new(inv, &refs);
    let mut state = walker.state();
    let mut out = BTreeSet::new();
    for a in (0..inv.accounts.len()).map(AccountId::at) {
        walker.walk(a, &mut state);
        for (p, map) in walker.collect(a, &state) {
            for (role, scope) in map.keys() {
                let access = (
                    inv.accounts[a].id.to_string(),
                    loaded.policies[p].source.id.clone(),
                    role.clone(),
                    scope.clone(),
                );
                if !unauthorized.contains(&access) {
                    out.insert(access);
                }
            }
        }
    }
    out
}

pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write a test file");
}

/// The first unauthorized access of a JSON report that a group gives.
pub fn access_through_a_group(report: &serde_json::Value) -> &serde_json::Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| {
            f["rule"] == "unauthorized-access" && f["via"].as_array().is_some_and(|v| !v.is_empty())
        })
        .expect("an unauthorized access through a group")
}

/// Runs behorig with arguments and extra environment.
pub fn behorig(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.current_dir(repo()).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("behorig runs")
}

/// `behorig audit --as-of AS_OF --format json` with `args` and `env`: the
/// audit every directory test runs, whatever the source.
pub fn audit(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec!["audit", "--as-of", AS_OF, "--format", "json"];
    all.extend_from_slice(args);
    behorig(&all, env)
}

/// The `[source]` table the directory tests' policies start with: a
/// social-services source of children's health data, its one scope `A`.
pub fn social_source(id: &str, name: &str) -> String {
    format!(
        r#"[source]
id = "{id}"
name = "{name}"
controller = "Socialnämnden"
activity = "socialtjanst"
confidentiality = "OSL 26 kap. 1 §"
data_categories = ["halsa"]
data_subject_groups = ["barn"]
scopes = ["A"]
"#
    )
}

/// `dir/policies` holding one policy `file` with `text`; returns the
/// folder.
pub fn policy_dir(dir: &Path, file: &str, text: &str) -> PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).expect("create the policy folder");
    write(&policies.join(file), text);
    policies
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `findings` and `summary` of a JSON report.
pub fn findings_and_summary(o: &Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "the audit printed no JSON ({e}); exit {:?}, stderr:\n{}",
            o.status.code(),
            stderr(o)
        )
    });
    serde_json::json!({"findings": v["findings"], "summary": v["summary"]})
}

/// The example organisation audited from its CSV exports.
pub fn csv_baseline() -> serde_json::Value {
    let o = audit(&[], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    findings_and_summary(&o)
}

/// Asserts two reports agree, showing the first difference.
pub fn assert_same(expected: &serde_json::Value, actual: &serde_json::Value) {
    if expected != actual {
        let e = &expected["findings"];
        let a = &actual["findings"];
        let ids = |v: &serde_json::Value| -> BTreeSet<String> {
            v.as_array()
                .map(|f| f.iter().map(|x| x.to_string()).collect())
                .unwrap_or_default()
        };
        let (ei, ai) = (ids(e), ids(a));
        let missing: Vec<_> = ei.difference(&ai).take(3).collect();
        let extra: Vec<_> = ai.difference(&ei).take(3).collect();
        panic!(
            "the reports differ\nsummary expected {}\nsummary actual   {}\nmissing findings: {missing:#?}\nextra findings: {extra:#?}",
            expected["summary"], actual["summary"]
        );
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub fn wait_for_port(port: u16, child: &mut Child, what: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before it listened on port {port}: {status}");
        }
        assert!(
            start.elapsed() < limit,
            "{what} did not listen on port {port} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn run(cmd: &mut Command, what: &str) -> Output {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} cannot start: {e}"));
    assert!(
        o.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// A CA and a server certificate for `localhost` and 127.0.0.1, made with
/// the openssl command.
pub struct TestCa {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

pub fn make_ca(dir: &Path, name: &str) -> TestCa {
    let p = |f: &str| dir.join(format!("{name}-{f}"));
    run(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", &format!("/CN=behorig test CA {name}"), "-keyout"])
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("ca.pem")),
        "openssl (CA)",
    );
    write(
        &p("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    );
    run(
        Command::new("openssl")
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
            ])
            .arg(p("server.key"))
            .arg("-out")
            .arg(p("server.csr")),
        "openssl (server key)",
    );
    run(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
            .arg(p("server.csr"))
            .arg("-CA")
            .arg(p("ca.pem"))
            .arg("-CAkey")
            .arg(p("ca.key"))
            .arg("-extfile")
            .arg(p("ext.cnf"))
            .arg("-out")
            .arg(p("server.pem")),
        "openssl (server certificate)",
    );
    TestCa {
        ca_cert: p("ca.pem"),
        server_cert: p("server.pem"),
        server_key: p("server.key"),
    }
}

/// An OpenLDAP server on loopback, stopped when dropped.
pub struct Slapd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub tls_port: u16,
    pub ca: TestCa,
    pub base: String,
    pub svc_dn: String,
    child: Child,
}

pub struct SlapdOptions {
    /// The size limit of the bind account (not of the root DN).
    pub size_limit: usize,
    /// The most entries a paged search may return in all.
    pub paged_total: Option<usize>,
}

impl Default for SlapdOptions {
    fn default() -> Self {
        SlapdOptions {
            size_limit: 100,
            paged_total: None,
        }
    }
}

impl Slapd {
    /// Starts slapd with `ldif` (entries under `dc=norrvik,dc=se`) loaded.
    pub fn start(ldif: &str, opts: SlapdOptions) -> Slapd {
        let dir = tempfile::tempdir().expect("a temp dir");
        let d = dir.path();
        let ca = make_ca(d, "slapd");
        let base = "dc=norrvik,dc=se".to_string();
        let svc_dn = format!("cn=svc-behorig,ou=service,{base}");
        std::fs::create_dir_all(d.join("db")).expect("db dir");
        let conf = format!(
            "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload lastbind
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
suffix \"{base}\"
rootdn \"cn=admin,{base}\"
rootpw admin-secret
directory {dir}/db
maxsize 1073741824
limits users size.soft={limit} size.hard={limit} size.prtotal={total}
limits anonymous size.soft={limit} size.hard={limit} size.prtotal={total}
overlay ppolicy
overlay lastbind
access to attrs=userPassword by anonymous auth by * none
access to * by * read
",
            dir = d.display(),
            ca = ca.ca_cert.display(),
            cert = ca.server_cert.display(),
            key = ca.server_key.display(),
            limit = opts.size_limit,
            total = opts
                .paged_total
                .map(|t| t.to_string())
                .unwrap_or_else(|| "unlimited".into()),
        );
        write(&d.join("slapd.conf"), &conf);
        let mut data = format!(
            "dn: {base}\nobjectClass: dcObject\nobjectClass: organization\ndc: norrvik\no: Norrviks kommun\n\n\
             dn: ou=service,{base}\nobjectClass: organizationalUnit\nou: service\n\n\
             dn: {svc_dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: svc-behorig\nuserPassword: {SVC_PASSWORD}\n\n"
        );
        data.push_str(ldif);
        write(&d.join("data.ldif"), &data);
        run(
            Command::new("/usr/sbin/slapadd")
                .arg("-q")
                .arg("-f")
                .arg(d.join("slapd.conf"))
                .arg("-l")
                .arg(d.join("data.ldif")),
            "slapadd",
        );
        let port = free_port();
        let tls_port = free_port();
        let mut child = Command::new("/usr/sbin/slapd")
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .arg("-h")
            .arg(format!(
                "ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"
            ))
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd starts (is the slapd package installed?)");
        wait_for_port(port, &mut child, "slapd", Duration::from_secs(20));
        wait_for_port(tls_port, &mut child, "slapd", Duration::from_secs(20));
        Slapd {
            dir,
            port,
            tls_port,
            ca,
            base,
            svc_dn,
            child,
        }
    }

    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://localhost:{}", self.tls_port)
    }

    /// A behorig.toml for this server; `extra` is appended to `[ldap]`.
    pub fn config(&self, extra: &str) -> PathBuf {
        let path = self.dir.path().join("behorig.toml");
        let pw = self.dir.path().join("ldap.pw");
        write(&pw, &format!("{SVC_PASSWORD}\n"));
        write(
            &path,
            &format!(
                "[audit]\npolicies = \"{policies}\"\n\n[ldap]\nbind_dn = \"{dn}\"\nbase_dn = \"{base}\"\nca_cert = \"{ca}\"\n{pw_line}{extra}\n",
                pw_line = if extra.contains("password_") {
                    String::new()
                } else {
                    format!("password_file = \"{}\"\n", pw.display())
                },
                policies = repo().join("policies").display(),
                dn = self.svc_dn,
                base = self.base,
                ca = self.ca.ca_cert.display(),
            ),
        );
        path
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn write_stdin(child: &mut Child, text: &str) {
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = stdin.write_all(text.as_bytes());
    }
}
