//! More directory faults against real servers: an expired certificate
//! (a TLS server from openssl), a referral that points back at itself
//! (slapd), and a password file others can read. Each fault fails closed:
//! exit 3, the server named, no report.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn audit(config: &Path, url: &str, report: &Path) -> std::process::Output {
    let config = config.to_string_lossy().into_owned();
    let report = report.to_string_lossy().into_owned();
    common::audit(
        &["--config", &config, "--ldap", url, "--output", &report],
        &[],
    )
}

fn assert_fails_closed(o: &std::process::Output, server: &str, report: &Path) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains(server), "the server is not named: {err}");
    assert!(!report.exists(), "a report was written");
    assert!(!err.contains(SVC_PASSWORD), "the password was printed");
    err
}

/// Signs `ca`'s server key again with a validity that ended in 2020.
fn expired_certificate(dir: &Path, ca: &TestCa) -> std::path::PathBuf {
    let db = dir.join("expired-ca");
    std::fs::create_dir_all(&db).expect("ca dir");
    write(&db.join("index.txt"), "");
    write(&db.join("serial"), "1000\n");
    let cnf = db.join("ca.cnf");
    write(
        &cnf,
        &format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {db}/index.txt\nserial = {db}/serial\n\
             new_certs_dir = {db}\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n\
             [p]\ncommonName = supplied\n[ext]\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n",
            db = db.display()
        ),
    );
    let csr = db.join("server.csr");
    run(
        Command::new("openssl")
            .args(["req", "-new", "-subj", "/CN=localhost", "-key"])
            .arg(&ca.server_key)
            .arg("-out")
            .arg(&csr),
        "openssl (request)",
    );
    let ca_key = ca.ca_cert.with_file_name(
        ca.ca_cert
            .file_name()
            .map(|n| n.to_string_lossy().replace("ca.pem", "ca.key"))
            .unwrap_or_default(),
    );
    let out = db.join("expired.pem");
    run(
        Command::new("openssl")
            .args(["ca", "-batch", "-notext", "-config"])
            .arg(&cnf)
            .args(["-extensions", "ext", "-startdate", "20200101000000Z"])
            .args(["-enddate", "20200201000000Z", "-cert"])
            .arg(&ca.ca_cert)
            .arg("-keyfile")
            .arg(&ca_key)
            .arg("-in")
            .arg(&csr)
            .arg("-out")
            .arg(&out),
        "openssl (expired certificate)",
    );
    out
}

#[test]
fn an_expired_certificate_fails_closed() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = make_ca(dir.path(), "t");
    let cert = expired_certificate(dir.path(), &ca);
    let port = free_port();
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&ca.server_key)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server");
    wait_for_port(
        port,
        &mut server,
        "openssl s_server",
        Duration::from_secs(20),
    );
    let config = dir.path().join("behorig.toml");
    write(
        &config,
        &format!(
            "[audit]\npolicies = \"{}\"\n[ldap]\nbind_dn = \"cn=svc\"\nbase_dn = \"dc=x\"\nca_cert = \"{}\"\npassword_env = \"BEHORIG_FAULT_PW\"\ntimeout_s = 5\n",
            repo().join("policies").display(),
            ca.ca_cert.display()
        ),
    );
    let url = format!("ldaps://localhost:{port}");
    let report = dir.path().join("report.json");
    let config_s = config.to_string_lossy().into_owned();
    let report_s = report.to_string_lossy().into_owned();
    let o = behorig(
        &[
            "audit", "--config", &config_s, "--as-of", AS_OF, "--ldap", &url, "--output", &report_s,
        ],
        &[("BEHORIG_FAULT_PW", SVC_PASSWORD)],
    );
    let _ = server.kill();
    let _ = server.wait();
    let err = assert_fails_closed(&o, &url, &report);
    assert!(err.contains("certificate"), "{err}");
}

#[test]
fn a_referral_back_to_itself_fails_closed() {
    let mut ldif = directory_ldif(&norrvik(), "dc=norrvik,dc=se", Flavor::OpenLdap);
    // The referral names the same entry again: following it would loop.
    ldif.push_str(
        "\ndn: ou=loop,dc=norrvik,dc=se\nobjectClass: referral\nobjectClass: extensibleObject\n\
         ou: loop\nref: ldap://localhost/ou=loop,dc=norrvik,dc=se\n",
    );
    let slapd = Slapd::start(&ldif, SlapdOptions::default());
    let config = slapd.config("");
    let text = std::fs::read_to_string(&config).expect("config").replace(
        "base_dn = \"dc=norrvik,dc=se\"",
        "base_dn = \"ou=loop,dc=norrvik,dc=se\"",
    );
    write(&config, &text);
    let report = slapd.dir.path().join("report.json");
    let url = slapd.ldap_url();
    let o = audit(&config, &url, &report);
    let err = assert_fails_closed(&o, &url, &report);
    assert!(
        err.contains("referral to ldap://localhost/ou=loop"),
        "{err}"
    );
}

#[test]
fn a_password_file_others_can_read_draws_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let slapd = Slapd::start(
        &directory_ldif(&norrvik(), "dc=norrvik,dc=se", Flavor::OpenLdap),
        SlapdOptions::default(),
    );
    let config = slapd.config("");
    let pw = slapd.dir.path().join("ldap.pw");
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let report = slapd.dir.path().join("report.json");
    let o = audit(&config, &slapd.ldap_url(), &report);
    let err = stderr(&o);
    assert!(
        err.contains("can be read by others") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains(SVC_PASSWORD));
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let o = audit(&config, &slapd.ldap_url(), &report);
    assert!(!stderr(&o).contains("can be read by others"));
}
