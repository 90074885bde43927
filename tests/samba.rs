//! `--ldap` against a real Active Directory: a Samba AD DC provisioned
//! once for this test binary, on loopback, serving LDAPS with its own CA.
//! The example organisation gives the CSV findings; AD's own attributes
//! (userAccountControl, accountExpires, lastLogonTimestamp, primaryGroupID,
//! foreign security principals) and a group of more than 1500 members are
//! read whole. With the `kerberos` feature, a service account's keytab
//! from the DC's own KDC reads the same directory sealed over port 389.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::*;

const ADMIN_PW: &str = "Adm-Pw-4e7a1c9d!";
const DOMAIN: &str = "DC=norrvik,DC=test";
const BIG_GROUP: usize = 1600;

struct Samba {
    dir: PathBuf,
    ca: PathBuf,
    /// Closing it (when the test binary exits) stops the server.
    _guard: Mutex<ChildStdin>,
}

/// The tests take the one DC in turn: a Kerberos read sealed over port
/// 389 beside other reads of the same DC has lost answers under load.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

fn samba() -> &'static Samba {
    static SAMBA: OnceLock<Samba> = OnceLock::new();
    SAMBA.get_or_init(start_samba)
}

fn start_samba() -> Samba {
    let dir = tempfile::Builder::new()
        .prefix("behorig-samba")
        .tempdir()
        .expect("a temp dir")
        .keep();
    let d = dir.display();
    for sub in ["run", "ncalrpc", "winbindd"] {
        std::fs::create_dir_all(dir.join(sub)).expect("samba dirs");
    }
    run(
        Command::new("samba-tool")
            .args([
                "domain",
                "provision",
                "--realm=NORRVIK.TEST",
                "--domain=NORRVIK",
            ])
            .args(["--server-role=dc", "--dns-backend=NONE", "--host-name=dc1"])
            .arg(format!("--adminpass={ADMIN_PW}"))
            .arg(format!("--targetdir={d}"))
            .args([
                "--option=interfaces=lo",
                "--option=bind interfaces only=yes",
                "--option=server services=ldap kdc",
                "--option=ldb:nosync=true",
            ])
            .arg(format!("--option=pid directory={d}/run"))
            .arg(format!("--option=ncalrpc dir={d}/ncalrpc"))
            .arg(format!("--option=winbindd socket directory={d}/winbindd"))
            .arg(format!("--option=log file={d}/log.%m")),
        "samba-tool domain provision (is the samba package installed?)",
    );
    for port in [88, 389, 636] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "another server already listens on 127.0.0.1:{port}, where the Samba AD DC of these tests must listen: stop it (a packaged slapd or samba-ad-dc?)"
        );
    }
    // The server lives as long as this process holds the pipe.
    let script = format!(
        "samba -i -M single -s '{d}/etc/smb.conf' >'{d}/samba.out' 2>&1 & p=$!; cat >/dev/null; kill $p; wait $p; rm -rf '{d}'"
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .expect("samba starts");
    let stdin = child.stdin.take().expect("a pipe to the server's guard");
    let started = std::time::Instant::now();
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", 636)).is_ok()
            && dir.join("private/tls/ca.pem").exists()
        {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "samba exited: {status}\n{}",
                std::fs::read_to_string(dir.join("samba.out")).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "samba did not listen on 127.0.0.1:636 within a minute:\n{}",
            std::fs::read_to_string(dir.join("samba.out")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let samba = Samba {
        ca: dir.join("private/tls/ca.pem"),
        dir,
        _guard: Mutex::new(stdin),
    };
    load(&samba);
    samba
}

fn ldapadd(samba: &Samba, ldif: &str, name: &str) {
    let path = samba.dir.join(name);
    write(&path, ldif);
    run(
        Command::new("ldapadd")
            .env("LDAPTLS_CACERT", &samba.ca)
            .env("LDAPTLS_REQCERT", "never")
            .args(["-x", "-H", "ldaps://127.0.0.1:636", "-D"])
            .arg(format!("CN=Administrator,CN=Users,{DOMAIN}"))
            .args(["-w", ADMIN_PW, "-f"])
            .arg(&path)
            .stdout(Stdio::null()),
        "ldapadd into samba",
    );
}

const FILETIME_2025_01_01: i64 = 133_801_920_000_000_000;

fn load(samba: &Samba) {
    // The example organisation, in its own OU.
    let norrvik = format!("OU=Norrvik,{DOMAIN}");
    let mut ldif = format!("dn: {norrvik}\nobjectClass: organizationalUnit\n\n");
    let (entries, nesting) =
        directory_ldif_parts(&common::norrvik(), &norrvik, Flavor::ActiveDirectory, false);
    ldif.push_str(&entries);
    ldapadd(samba, &ldif, "norrvik.ldif");
    ldapmodify(samba, &nesting, "norrvik-nesting.ldif");

    // Cases of AD's own attributes, a nesting cycle, a foreign security
    // principal and a group larger than one range of `member`.
    let ou = format!("OU=Fall,{DOMAIN}");
    let mut l = format!("dn: {ou}\nobjectClass: organizationalUnit\n\n");
    let recent = 134_398_287_000_000_000i64; // 2026-11-22
    for (name, uac, expires, logon) in [
        ("fall.ok", 544, 0, recent),
        ("fall.disabled", 546, 0, recent),
        ("fall.expired", 544, FILETIME_2025_01_01, recent),
        (
            "fall.stale",
            544,
            9_223_372_036_854_775_807,
            FILETIME_2025_01_01,
        ),
    ] {
        l.push_str(&format!(
            "dn: CN={name},{ou}\nobjectClass: user\nsAMAccountName: {name}\ndepartment: IFO\nuserAccountControl: {uac}\naccountExpires: {expires}\nlastLogonTimestamp: {logon}\n\n"
        ));
    }
    for i in 0..BIG_GROUP {
        l.push_str(&format!(
            "dn: CN=stor{i},{ou}\nobjectClass: user\nsAMAccountName: stor{i}\nuserAccountControl: 544\nlastLogonTimestamp: {recent}\n\n"
        ));
    }
    l.push_str(&format!(
        "dn: CN=SG-Stor,{ou}\nobjectClass: group\nsAMAccountName: SG-Stor\n"
    ));
    for i in 0..BIG_GROUP {
        l.push_str(&format!("member: CN=stor{i},{ou}\n"));
    }
    l.push('\n');
    l.push_str(&format!(
        "dn: CN=SG-Cykel-B,{ou}\nobjectClass: group\nsAMAccountName: SG-Cykel-B\nmember: CN=fall.ok,{ou}\n\n\
         dn: CN=SG-Cykel-A,{ou}\nobjectClass: group\nsAMAccountName: SG-Cykel-A\nmember: CN=SG-Cykel-B,{ou}\n\n\
         dn: CN=SG-Fall,{ou}\nobjectClass: group\nsAMAccountName: SG-Fall\n\
         member: CN=fall.ok,{ou}\nmember: CN=fall.disabled,{ou}\nmember: CN=fall.expired,{ou}\nmember: CN=fall.stale,{ou}\n\
         member: <SID=S-1-5-21-1-2-3-1000>\n\n"
    ));
    ldapadd(samba, &l, "fall.ldif");
    // Close the cycle: B is a member of A, and A of B.
    let modify = format!(
        "dn: CN=SG-Cykel-B,{ou}\nchangetype: modify\nadd: member\nmember: CN=SG-Cykel-A,{ou}\n\n"
    );
    ldapmodify(samba, &modify, "cycle.ldif");
}

fn ldapmodify(samba: &Samba, ldif: &str, name: &str) {
    let path = samba.dir.join(name);
    write(&path, ldif);
    run(
        Command::new("ldapmodify")
            .env("LDAPTLS_REQCERT", "never")
            .args(["-x", "-H", "ldaps://127.0.0.1:636", "-D"])
            .arg(format!("CN=Administrator,CN=Users,{DOMAIN}"))
            .args(["-w", ADMIN_PW, "-f"])
            .arg(&path)
            .stdout(Stdio::null()),
        "ldapmodify into samba",
    );
}

fn config(samba: &Samba, dir: &Path, base: &str, policies: &Path) -> PathBuf {
    let path = dir.join("behorig.toml");
    write(
        &path,
        &format!(
            "[audit]\npolicies = \"{}\"\n\n[ldap]\nbind_dn = \"CN=Administrator,CN=Users,{DOMAIN}\"\npassword_env = \"BEHORIG_TEST_AD_PW\"\nbase_dn = \"{base}\"\nca_cert = \"{}\"\n# The DC's certificate names DC1.norrvik.test, not 127.0.0.1.\ntls_verify_hostname = false\npage_size = 500\n",
            policies.display(),
            samba.ca.display()
        ),
    );
    path
}

fn audit(config: &Path, extra: &[&str]) -> Output {
    let config = config.to_string_lossy().into_owned();
    let mut args = vec!["--config", &config, "--ldap", "ldaps://127.0.0.1:636"];
    args.extend_from_slice(extra);
    common::audit(&args, &[("BEHORIG_TEST_AD_PW", ADMIN_PW)])
}

#[test]
fn the_example_organisation_in_ad_gives_the_csv_findings() {
    let _serial = one_at_a_time();
    let samba = samba();
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        samba,
        dir.path(),
        &format!("OU=Norrvik,{DOMAIN}"),
        &repo().join("policies"),
    );
    let roles = roles_csv().to_string_lossy().into_owned();
    let o = audit(&config, &["--policies", "policies", "--csv", &roles]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same(&csv_baseline(), &findings_and_summary(&o));
}

/// The policy of the directory's hard cases.
fn ad_policy() -> String {
    social_source("ad", "AD-fall")
        + r#"
[[grant]]
group = '^SG-Stor$'
role = "Las"
scope = "A"

[[grant]]
group = '^SG-Fall$'
role = "Skriv"
scope = "A"

[[grant]]
group = '^SG-Cykel-A$'
role = "Cykel"
scope = "A"

[[grant]]
group = '^Domain Users$'
role = "Alla"
scope = "A"

[[allow]]
id = "stor"
role = "Las"
scope = "*"
max_accounts = 1

[[allow]]
id = "fall"
role = "Skriv"
scope = "*"
when.department = "IFO"

[checks]
disabled_accounts = true
expired_accounts = true
inactive_days = 90
"#
}

#[test]
fn ad_attributes_large_groups_cycles_and_primary_groups() {
    let _serial = one_at_a_time();
    let samba = samba();
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_dir(dir.path(), "ad.toml", &ad_policy());
    let config = config(samba, dir.path(), DOMAIN, &policies);
    let o = audit(&config, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let has = |rule: &str, account: &str| {
        findings
            .iter()
            .any(|f| f["rule"] == rule && f["account"] == account)
    };

    // More than 1500 members, read whole.
    let stor = findings
        .iter()
        .find(|f| f["rule"] == "too-many-accounts")
        .expect("a too-many-accounts finding for SG-Stor");
    assert_eq!(stor["accounts"], BIG_GROUP, "{stor}");

    // AD's own attributes.
    assert!(has("disabled-account", "fall.disabled"));
    assert!(has("expired-account", "fall.expired"));
    assert!(has("inactive-account", "fall.stale"));
    for rule in ["disabled-account", "expired-account", "inactive-account"] {
        assert!(!has(rule, "fall.ok"), "fall.ok has {rule}");
    }

    // A foreign security principal shows as its SID.
    assert!(
        findings.iter().any(|f| f["rule"] == "unauthorized-access"
            && f["account"] == "S-1-5-21-1-2-3-1000"
            && f["role"] == "Skriv"),
        "no finding for the foreign security principal S-1-5-21-1-2-3-1000"
    );

    // The nesting cycle terminates, and gives access through it.
    let cycle = findings
        .iter()
        .find(|f| f["account"] == "fall.ok" && f["role"] == "Cykel")
        .expect("fall.ok reaches Cykel through the cycle");
    assert_eq!(
        cycle["via"],
        serde_json::json!(["SG-Cykel-B", "SG-Cykel-A"])
    );

    // Domain Users is the primary group: in neither member nor memberOf.
    let admin = findings
        .iter()
        .find(|f| f["account"] == "Administrator" && f["role"] == "Alla")
        .expect("Administrator holds Alla through Domain Users");
    assert_eq!(admin["via"], serde_json::json!(["Domain Users"]));
    assert!(findings
        .iter()
        .any(|f| f["account"] == "stor1599" && f["role"] == "Alla"));
}

#[test]
fn a_wrong_password_fails_closed() {
    let _serial = one_at_a_time();
    let samba = samba();
    let dir = tempfile::tempdir().unwrap();
    let config = config(samba, dir.path(), DOMAIN, &repo().join("policies"));
    let report = dir.path().join("report.json");
    let wrong = "Not-the-Adm-Pw-91";
    let o = behorig(
        &[
            "audit",
            "--config",
            &config.to_string_lossy(),
            "--ldap",
            "ldaps://127.0.0.1:636",
            "--output",
            &report.to_string_lossy(),
        ],
        &[("BEHORIG_TEST_AD_PW", wrong)],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("ldaps://127.0.0.1:636"), "{err}");
    assert!(!err.contains(wrong), "{err}");
    assert!(!report.exists());
    let _ = std::io::stderr().flush();
}

const PLAN_POLICY: &str = r#"[source]
id = "plandb"
name = "Plandatabas"
activity = "socialtjanst"
data_categories = ["halsa"]
scopes = ["IFO", "VO"]

[[grant]]
group = '^SG-Plan-(?P<scope>IFO|VO)-Las$'
role = "Las"

[[grant]]
group = '^SG-Plan-Alla$'
role = "Las"
scope = "*"

[[allow]]
id = "egen-namnd"
role = "Las"
scope = "*"
when.department = "{scope}"
"#;

/// A plan made from AD, applied to AD with `ldapmodify`: the nesting goes,
/// the controller keeps their own board's access in a new AD group, the
/// group's `managedBy` approves, and the next audit agrees.
#[test]
fn a_plan_from_ad_applied_to_ad_ends_its_findings_and_keeps_allowed_access() {
    let _serial = one_at_a_time();
    let samba = samba();
    let dir = tempfile::tempdir().unwrap();
    let ou = format!("OU=Plan,{DOMAIN}");
    let mut l = format!("dn: {ou}\nobjectClass: organizationalUnit\n\n");
    for (name, department) in [
        ("plan.ek1", "KS"),
        ("plan.ek2", "KS"),
        ("plan.ctl", "IFO"),
        ("plan.vo", "VO"),
    ] {
        l.push_str(&format!(
            "dn: CN={name},{ou}\nobjectClass: user\nsAMAccountName: {name}\ndepartment: {department}\nuserAccountControl: 544\n\n"
        ));
    }
    l.push_str(&format!(
        "dn: CN=SG-Plan-Ctrl,{ou}\nobjectClass: group\nsAMAccountName: SG-Plan-Ctrl\n\
         member: CN=plan.ek1,{ou}\nmember: CN=plan.ek2,{ou}\nmember: CN=plan.ctl,{ou}\n\n\
         dn: CN=SG-Plan-Alla,{ou}\nobjectClass: group\nsAMAccountName: SG-Plan-Alla\n\
         managedBy: CN=plan.vo,{ou}\nmember: CN=SG-Plan-Ctrl,{ou}\n\n\
         dn: CN=SG-Plan-VO-Las,{ou}\nobjectClass: group\nsAMAccountName: SG-Plan-VO-Las\n\
         member: CN=plan.vo,{ou}\n\n"
    ));
    ldapadd(samba, &l, "plan.ldif");

    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    write(&policies.join("plandb.toml"), PLAN_POLICY);
    let config = config(samba, dir.path(), &ou, &policies);
    let config_arg = config.to_string_lossy().into_owned();
    let pw = [("BEHORIG_TEST_AD_PW", ADMIN_PW)];
    let inputs = || {
        std::env::set_var("BEHORIG_TEST_AD_PW", ADMIN_PW);
        behorig::cli::Inputs {
            config: behorig::cli::load_config(Some(&config)).unwrap(),
            policies: policies.clone(),
            csv: Vec::new(),
            ldif: Vec::new(),
            ldap: Some("ldaps://127.0.0.1:636".into()),
            as_of: chrono::NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap(),
            logs: Default::default(),
        }
    };
    let before = allowed(&inputs());
    let plan_args = |format: &str| -> Output {
        behorig(
            &[
                "plan",
                "--config",
                &config_arg,
                "--as-of",
                AS_OF,
                "--ldap",
                "ldaps://127.0.0.1:636",
                "--format",
                format,
            ],
            &pw,
        )
    };
    let o = plan_args("json");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = plan["changes"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:#?}");
    assert_eq!(list[0]["action"], "add-member");
    assert_eq!(list[0]["group"], "SG-Plan-IFO-Las");
    assert_eq!(list[0]["member"], "plan.ctl");
    assert_eq!(list[0]["creates_group"], true);
    assert_eq!(list[1]["action"], "remove-member");
    assert_eq!(list[1]["group"], "SG-Plan-Alla");
    assert_eq!(list[1]["member"], "SG-Plan-Ctrl");
    assert_eq!(list[1]["fixes"].as_array().unwrap().len(), 5);
    assert_eq!(
        list[1]["owner"].as_str().map(str::to_ascii_lowercase),
        Some(format!("cn=plan.vo,{ou}").to_ascii_lowercase())
    );

    let o = plan_args("ldif");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ldif = String::from_utf8(o.stdout).unwrap();
    assert!(ldif.contains("objectClass: group\n"), "{ldif}");
    ldapmodify(samba, &ldif, "plan-apply.ldif");

    let o = audit(&config, &["--fail-on", "never"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(before, allowed(&inputs()));
}

#[cfg(feature = "kerberos")]
const SVC_PRINCIPAL: &str = "svc-behorig@NORRVIK.TEST";

/// A service account with a keytab exported from the DC, the DC's
/// `ldap/localhost` service principal, and a krb5.conf for the realm
/// on loopback: what `auth = "kerberos"` needs.
#[cfg(feature = "kerberos")]
struct Kerberos {
    keytab: PathBuf,
    krb5_conf: PathBuf,
}

#[cfg(feature = "kerberos")]
fn kerberos(samba: &Samba) -> &'static Kerberos {
    static KERBEROS: OnceLock<Kerberos> = OnceLock::new();
    KERBEROS.get_or_init(|| {
        let smb_conf = samba.dir.join("etc/smb.conf");
        let tool = |args: &[&str], what: &str| {
            run(
                Command::new("samba-tool")
                    .args(args)
                    .arg("-s")
                    .arg(&smb_conf)
                    .stdout(Stdio::null()),
                what,
            );
        };
        tool(
            &["user", "create", "svc-behorig", "Svc-Pw-2b8d4f1a!"],
            "samba-tool user create",
        );
        // The URL names the DC as `localhost`: its service principal
        // under that name, as an administrator registers one.
        tool(&["spn", "add", "ldap/localhost", "DC1$"], "samba-tool spn add");
        let keytab = samba.dir.join("svc-behorig.keytab");
        let keytab_s = keytab.to_string_lossy().into_owned();
        tool(
            &[
                "domain",
                "exportkeytab",
                &keytab_s,
                &format!("--principal={SVC_PRINCIPAL}"),
            ],
            "samba-tool domain exportkeytab",
        );
        let krb5_conf = samba.dir.join("krb5.conf");
        write(
            &krb5_conf,
            "[libdefaults]\n default_realm = NORRVIK.TEST\n dns_lookup_realm = false\n dns_lookup_kdc = false\n rdns = false\n dns_canonicalize_hostname = false\n\n[realms]\n NORRVIK.TEST = {\n  kdc = 127.0.0.1\n }\n\n[domain_realm]\n localhost = NORRVIK.TEST\n",
        );
        Kerberos { keytab, krb5_conf }
    })
}

#[cfg(feature = "kerberos")]
fn kerberos_audit(config: &Path, krb5: &Kerberos, ccache: &str, extra: &[&str]) -> Output {
    let config = config.to_string_lossy().into_owned();
    let mut args = vec![
        "audit",
        "--config",
        &config,
        "--as-of",
        AS_OF,
        "--format",
        "json",
        "--ldap",
        "ldap://localhost:389",
    ];
    args.extend_from_slice(extra);
    behorig(
        &args,
        &[
            ("KRB5_CONFIG", &krb5.krb5_conf.to_string_lossy()),
            ("KRB5CCNAME", ccache),
        ],
    )
}

#[cfg(feature = "kerberos")]
#[test]
fn a_keytab_reads_the_example_organisation_sealed_with_the_csv_findings() {
    let _serial = one_at_a_time();
    let samba = samba();
    let krb5 = kerberos(samba);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("behorig.toml");
    write(
        &config,
        &format!(
            "[ldap]\nauth = \"kerberos\"\nkeytab = \"{}\"\nprincipal = \"{SVC_PRINCIPAL}\"\nbase_dn = \"OU=Norrvik,{DOMAIN}\"\npage_size = 500\n",
            krb5.keytab.display()
        ),
    );
    let roles = roles_csv().to_string_lossy().into_owned();
    // No ticket in any cache: the keytab alone proves who behorig is.
    let empty_cache = format!("FILE:{}", dir.path().join("no-cache").display());
    let o = kerberos_audit(
        &config,
        krb5,
        &empty_cache,
        &["--policies", "policies", "--csv", &roles],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same(&csv_baseline(), &findings_and_summary(&o));
    assert!(
        !dir.path().join("no-cache").exists(),
        "the ticket was written to disk"
    );
}

#[cfg(feature = "kerberos")]
#[test]
fn without_a_ticket_or_keytab_kerberos_says_so() {
    let _serial = one_at_a_time();
    let samba = samba();
    let krb5 = kerberos(samba);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("behorig.toml");
    write(
        &config,
        &format!("[ldap]\nauth = \"kerberos\"\nbase_dn = \"OU=Norrvik,{DOMAIN}\"\n"),
    );
    let report = dir.path().join("report.json");
    let empty_cache = format!("FILE:{}", dir.path().join("no-cache").display());
    let o = kerberos_audit(
        &config,
        krb5,
        &empty_cache,
        &[
            "--policies",
            "policies",
            "--output",
            &report.to_string_lossy(),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("ldap://localhost:389"), "{err}");
    assert!(err.contains("no Kerberos ticket"), "{err}");
    assert!(err.contains("kinit") && err.contains("keytab"), "{err}");
    assert!(!report.exists());
}

#[cfg(feature = "kerberos")]
#[test]
fn an_unreadable_keytab_is_a_set_up_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("behorig.toml");
    let keytab = dir.path().join("missing.keytab");
    write(
        &config,
        &format!(
            "[ldap]\nauth = \"kerberos\"\nkeytab = \"{}\"\nprincipal = \"{SVC_PRINCIPAL}\"\nbase_dn = \"{DOMAIN}\"\n",
            keytab.display()
        ),
    );
    let o = behorig(
        &[
            "audit",
            "--config",
            &config.to_string_lossy(),
            "--policies",
            "policies",
            "--ldap",
            "ldap://localhost:389",
        ],
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("keytab") && err.contains("not readable"),
        "{err}"
    );
}

#[cfg(feature = "kerberos")]
#[test]
fn a_url_that_is_not_the_dcs_service_principal_says_which_spn_is_unknown() {
    let _serial = one_at_a_time();
    let samba = samba();
    let krb5 = kerberos(samba);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("behorig.toml");
    write(
        &config,
        &format!(
            "[ldap]\nauth = \"kerberos\"\nkeytab = \"{}\"\nprincipal = \"{SVC_PRINCIPAL}\"\nbase_dn = \"OU=Norrvik,{DOMAIN}\"\n",
            krb5.keytab.display()
        ),
    );
    let empty_cache = format!("FILE:{}", dir.path().join("no-cache").display());
    // No `ldap/127.0.0.1` is registered: the DC is `localhost` and `dc1`.
    let o = behorig(
        &[
            "audit",
            "--config",
            &config.to_string_lossy(),
            "--policies",
            "policies",
            "--ldap",
            "ldap://127.0.0.1:389",
        ],
        &[
            ("KRB5_CONFIG", &krb5.krb5_conf.to_string_lossy()),
            ("KRB5CCNAME", &empty_cache),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("does not know the service principal `ldap/127.0.0.1`"),
        "{err}"
    );
    assert!(
        err.contains("setspn") && err.contains("samba-tool spn add"),
        "{err}"
    );
}
