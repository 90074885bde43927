//! `--ldap` against a real OpenLDAP server (slapd, started here on
//! loopback with the example organisation loaded by slapadd): the same
//! findings as the CSV export, paging past the server's size limit,
//! certificate verification, and every fault failing closed.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;

fn norrvik_slapd() -> Slapd {
    let ldif = directory_ldif(&norrvik(), "dc=norrvik,dc=se", Flavor::OpenLdap);
    Slapd::start(&ldif, SlapdOptions::default())
}

fn audit(config: &Path, url: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let config = config.to_string_lossy().into_owned();
    let roles = roles_csv().to_string_lossy().into_owned();
    let mut args = vec![
        "--config",
        &config,
        "--policies",
        "policies",
        "--ldap",
        url,
        "--csv",
        &roles,
    ];
    args.extend_from_slice(extra);
    common::audit(&args, env)
}

/// Asserts an audit failed closed: exit 3, the server named, no report,
/// no password.
fn assert_fails_closed(o: &Output, server: &str, report: &Path, what: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(3), "{what}: {err}");
    assert!(
        err.contains(server),
        "{what}: the server is not named: {err}"
    );
    assert!(!report.exists(), "{what}: a report was written");
    assert!(
        !err.contains(SVC_PASSWORD),
        "{what}: the password was printed"
    );
    assert!(
        o.stdout.is_empty(),
        "{what}: something was printed as a report"
    );
    err
}

/// Asserts an audit was refused before anything was sent: exit 2 (a
/// set-up mistake), the server named, no report.
fn assert_refused_at_set_up(o: &Output, server: &str, report: &Path, what: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{what}: {err}");
    assert!(
        err.contains(server),
        "{what}: the server is not named: {err}"
    );
    assert!(!report.exists(), "{what}: a report was written");
    assert!(o.stdout.is_empty(), "{what}: something was printed");
    err
}

#[test]
fn starttls_with_paging_past_the_size_limit_gives_the_csv_findings() {
    let slapd = norrvik_slapd();
    // 200 accounts and 15 groups, a size limit of 100: only paging reads
    // them all.
    let config = slapd.config("starttls = true\ntls_verify_hostname = false\npage_size = 40");
    let o = audit(&config, &slapd.ldap_url(), &[], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same(&csv_baseline(), &findings_and_summary(&o));

    // `explain` names, for a membership read from the server, the server
    // and the DN of the group entry that lists it.
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let finding = access_through_a_group(&report);
    let group = finding["via"][0].as_str().expect("group");
    let config = config.to_string_lossy().into_owned();
    let roles = roles_csv().to_string_lossy().into_owned();
    let url = slapd.ldap_url();
    let id = finding["id"].as_str().expect("id");
    let args = [
        "explain",
        id,
        "--as-of",
        AS_OF,
        "--config",
        &config,
        "--policies",
        "policies",
        "--ldap",
        &url,
        "--csv",
        &roles,
    ];
    let out = behorig(&args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = format!("└─ är medlem i {group} ({url} cn={group},");
    assert!(text.contains(&expected), "no `{expected}` in:\n{text}");
}

#[test]
fn ldaps_verifies_the_certificate_and_names_the_host() {
    let slapd = norrvik_slapd();
    let config = slapd.config("page_size = 50\npassword_env = \"NORRVIK_LDAP_PW\"");
    let o = audit(
        &config,
        &slapd.ldaps_url(),
        &[],
        &[("NORRVIK_LDAP_PW", SVC_PASSWORD)],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same(&csv_baseline(), &findings_and_summary(&o));
}

#[test]
fn a_wrong_ca_fails_for_ldaps_and_starttls() {
    let slapd = norrvik_slapd();
    let other = make_ca(slapd.dir.path(), "other");
    for (url, extra) in [
        (slapd.ldaps_url(), ""),
        (
            slapd.ldap_url(),
            "starttls = true\ntls_verify_hostname = false",
        ),
    ] {
        let config = slapd.config(&format!("page_size = 50\n{extra}"));
        let text = std::fs::read_to_string(&config).unwrap().replace(
            &slapd.ca.ca_cert.display().to_string(),
            &other.ca_cert.display().to_string(),
        );
        write(&config, &text);
        let report = slapd.dir.path().join("report.json");
        let o = audit(&config, &url, &["--output", &report.to_string_lossy()], &[]);
        let err = assert_fails_closed(&o, &url, &report, "wrong CA");
        assert!(err.contains("certificate"), "{err}");
    }
}

#[test]
fn the_server_limits_unpaged_searches() {
    let slapd = norrvik_slapd();
    let o = std::process::Command::new("ldapsearch")
        .args([
            "-x",
            "-LLL",
            "-H",
            &slapd.ldap_url(),
            "-D",
            &slapd.svc_dn,
            "-w",
            SVC_PASSWORD,
        ])
        .args(["-b", &slapd.base, "(objectClass=*)", "1.1"])
        .output()
        .expect("ldapsearch runs");
    // 4: sizeLimitExceeded. The audits above read everything by paging.
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_size_limit_on_paged_searches_fails_closed() {
    let ldif = directory_ldif(&norrvik(), "dc=norrvik,dc=se", Flavor::OpenLdap);
    let slapd = Slapd::start(
        &ldif,
        SlapdOptions {
            paged_total: Some(150),
            ..SlapdOptions::default()
        },
    );
    let config = slapd.config("page_size = 40");
    let report = slapd.dir.path().join("report.json");
    let o = audit(
        &config,
        &slapd.ldap_url(),
        &["--output", &report.to_string_lossy()],
        &[],
    );
    let err = assert_fails_closed(&o, &slapd.ldap_url(), &report, "size limit");
    assert!(err.contains("size limit"), "{err}");
}

#[test]
fn a_wrong_password_fails_closed_without_printing_it() {
    let slapd = norrvik_slapd();
    let config = slapd.config("password_env = \"NORRVIK_LDAP_PW\"");
    let report = slapd.dir.path().join("report.json");
    let wrong = format!("{SVC_PASSWORD}-wrong");
    let o = audit(
        &config,
        &slapd.ldap_url(),
        &["--output", &report.to_string_lossy()],
        &[("NORRVIK_LDAP_PW", &wrong)],
    );
    let err = assert_fails_closed(&o, &slapd.ldap_url(), &report, "bind failure");
    assert!(err.contains("bind"), "{err}");
    assert!(!err.contains(&wrong), "{err}");
}

#[test]
fn a_refused_connection_fails_closed() {
    let slapd = norrvik_slapd();
    let config = slapd.config("");
    let url = format!("ldap://127.0.0.1:{}", free_port());
    let report = slapd.dir.path().join("report.json");
    let o = audit(&config, &url, &["--output", &report.to_string_lossy()], &[]);
    assert_fails_closed(&o, &url, &report, "connection refused");
}

#[test]
fn a_silent_server_times_out() {
    let slapd = norrvik_slapd();
    let config = slapd.config("timeout_s = 1");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://127.0.0.1:{}", listener.local_addr().unwrap().port());
    // Accepts and never answers.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let report = slapd.dir.path().join("report.json");
    let started = std::time::Instant::now();
    let o = audit(&config, &url, &["--output", &report.to_string_lossy()], &[]);
    assert_fails_closed(&o, &url, &report, "time-out");
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// Forwards to slapd, but cuts the connection after `limit` bytes from
/// the server: a connection lost mid-search.
fn cutting_proxy(target: u16, limit: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                return;
            };
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
            });
            let (mut s_read, mut c_write) = (server, client);
            let mut sent = 0;
            let mut buf = [0u8; 4096];
            while sent < limit {
                match s_read.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let n = n.min(limit - sent);
                        if c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        sent += n;
                    }
                }
            }
            let _ = c_write.shutdown(std::net::Shutdown::Both);
            let _ = s_read.shutdown(std::net::Shutdown::Both);
        }
    });
    port
}

#[test]
fn a_connection_lost_mid_search_fails_closed() {
    let slapd = norrvik_slapd();
    let config = slapd.config("page_size = 40");
    let port = cutting_proxy(slapd.port, 20_000);
    let url = format!("ldap://127.0.0.1:{port}");
    let report = slapd.dir.path().join("report.json");
    let o = audit(&config, &url, &["--output", &report.to_string_lossy()], &[]);
    assert_fails_closed(&o, &url, &report, "connection lost");
}

#[test]
fn plain_ldap_to_a_remote_host_is_refused() {
    let slapd = norrvik_slapd();
    let config = slapd.config("");
    let url = "ldap://dc1.norrvik.example:389";
    let report = slapd.dir.path().join("report.json");
    let o = audit(&config, url, &["--output", &report.to_string_lossy()], &[]);
    let err = assert_refused_at_set_up(&o, url, &report, "plain ldap");
    assert!(err.contains("starttls"), "{err}");
}

#[test]
fn a_bind_dn_without_a_password_is_refused_not_read_anonymously() {
    let slapd = norrvik_slapd();
    let config = slapd.config("");
    let text: String = std::fs::read_to_string(&config)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("password_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    write(&config, &text);
    let report = slapd.dir.path().join("report.json");
    let o = audit(
        &config,
        &slapd.ldap_url(),
        &["--output", &report.to_string_lossy()],
        &[],
    );
    let err = assert_refused_at_set_up(&o, &slapd.ldap_url(), &report, "no password");
    assert!(err.contains("password"), "{err}");
}

#[test]
fn without_a_base_dn_the_servers_naming_context_is_read() {
    let slapd = norrvik_slapd();
    let config = slapd.config("page_size = 40");
    let text: String = std::fs::read_to_string(&config)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("base_dn"))
        .map(|l| format!("{l}\n"))
        .collect();
    write(&config, &text);
    let o = audit(&config, &slapd.ldap_url(), &[], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same(&csv_baseline(), &findings_and_summary(&o));
}
